/* Unit tests of hqd/control/control.c on a real LMDB folder: the organisation set
 * whole and item by item, with refusals that change nothing; policy drafts
 * refused by path and by scope; publishing versions; a hall's effective
 * policy from national, province, city and hall documents, field by field
 * (docs/POLICY.md's worked example); everything read back after close and
 * reopen; the campaign lifecycle with the coordination check gating
 * approve and publish; the slice a hall is sent. */
#include "control.h"
#include "harness.h"

#include "hallbus/calendar.h"
#include "hallbus/error.h"
#include "hallbus/policy.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"

typedef struct world {
    char dir[256];
    char store[300];
    hq_control_t *c;
} world_t;

static json_t *s_json(const char *text) { return hbt_json_exact(text, JSON_REJECT_DUPLICATES); }

static void s_open(world_t *w)
{
    char err[512] = "";
    if (hq_control_open(w->store, &w->c, err, sizeof err) != 0)
        fail_msg("hq_control_open: %s", err);
}

static void s_reopen(world_t *w)
{
    hq_control_close(&w->c);
    assert_null(w->c);
    s_open(w);
}

static int s_setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    hbt_mkdtemp(w->dir, sizeof w->dir, "control");
    snprintf(w->store, sizeof w->store, "%s/control", w->dir);
    s_open(w);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hq_control_close(&w->c);
    hq_control_close(&w->c); /* idempotent */
    hbt_rmdir(w->dir);
    free(w);
    return 0;
}

/* Runs a call that takes a JSON document and must succeed. */
#define OK(call)                                                                                   \
    do {                                                                                           \
        char err_[1024] = "";                                                                      \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("%s: %s (%s)", #call, hb_strerror(rc_), err_);                                \
    } while (0)

/* The organisation of the worked example: a Berlin province with two
 * cities, a second province, halls in each. */
static const char s_org_text[] =
    "{\"regions\": ["
    " {\"id\": \"DE\", \"name\": \"Head office\", \"level\": \"national\"},"
    " {\"id\": \"BE\", \"name\": \"Berlin\", \"level\": \"province\", \"parent\": \"DE\"},"
    " {\"id\": \"BY\", \"name\": \"Bavaria\", \"level\": \"province\", \"parent\": \"DE\"},"
    " {\"id\": \"MITTE\", \"name\": \"Mitte\", \"level\": \"city\", \"parent\": \"BE\"},"
    " {\"id\": \"PANKOW\", \"name\": \"Pankow\", \"level\": \"city\", \"parent\": \"BE\"},"
    " {\"id\": \"MUC\", \"name\": \"Munich\", \"level\": \"city\", \"parent\": \"BY\"}],"
    " \"halls\": ["
    " {\"id\": \"H001\", \"city\": \"MITTE\", \"name\": \"Alexanderplatz\", \"tags\": "
    "[\"flagship\"]},"
    " {\"id\": \"H002\", \"city\": \"MITTE\"},"
    " {\"id\": \"H003\", \"city\": \"PANKOW\", \"tags\": [\"rural\"]},"
    " {\"id\": \"H010\", \"city\": \"MUC\"}]}";

static void s_set_org(world_t *w)
{
    json_t *doc = s_json(s_org_text);
    OK(hq_control_set_org(w->c, doc, err_, sizeof err_));
    json_decref(doc);
}

/* Expects `rc` and an `err` holding `want`. */
static void s_refused(int rc, int want_rc, const char *err, const char *want)
{
    if (rc != want_rc)
        fail_msg("expected %s, got %s (%s)", hb_strerror(want_rc), hb_strerror(rc), err);
    if (want && !strstr(err, want))
        fail_msg("reason \"%s\" does not mention \"%s\"", err, want);
}

/* The organisation as text, to compare before and after. */
static char *s_org_text_of(world_t *w)
{
    json_t *j = org_to_json(hq_control_org(w->c));
    char *t = hbt_json_text(j);
    json_decref(j);
    return t;
}

/* ---------------------------------------------------------- organisation */

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_org_set_and_put)
{
    world_t *w = *state;
    assert_int_equal(org_region_count(hq_control_org(w->c)), 0);
    s_set_org(w);
    assert_int_equal(org_region_count(hq_control_org(w->c)), 6);
    assert_int_equal(org_hall_count(hq_control_org(w->c)), 4);
    char *before = s_org_text_of(w);
    char err[1024];

    /* A whole document refused: unknown parent, a hall in a province,
     * an unknown member, a wrong type. Nothing moves. */
    const char *bad[][2] = {
        {"{\"regions\": [{\"id\": \"DE\", \"name\": \"x\", \"level\": \"national\"},"
         " {\"id\": \"P\", \"name\": \"p\", \"level\": \"province\", \"parent\": \"NOPE\"}],"
         " \"halls\": []}",
         "NOPE"},
        {"{\"regions\": [{\"id\": \"DE\", \"name\": \"x\", \"level\": \"national\"},"
         " {\"id\": \"P\", \"name\": \"p\", \"level\": \"province\", \"parent\": \"DE\"}],"
         " \"halls\": [{\"id\": \"H1\", \"city\": \"P\"}]}",
         "halls[0].city"},
        {"{\"regions\": [], \"halls\": [], \"colour\": 1}", "colour"},
        {"{\"regions\": {}, \"halls\": []}", "regions"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *doc = s_json(bad[i][0]);
        err[0] = '\0';
        int rc = hq_control_set_org(w->c, doc, err, sizeof err);
        json_decref(doc);
        assert_int_not_equal(rc, 0);
        if (!strstr(err, bad[i][1]))
            fail_msg("document %zu: reason \"%s\" does not mention %s", i, err, bad[i][1]);
    }

    /* One region and one hall at a time. */
    json_t *r = s_json("{\"id\": \"SPANDAU\", \"name\": \"Spandau\", \"level\": \"city\", "
                       "\"parent\": \"BE\"}");
    OK(hq_control_put_region(w->c, r, err_, sizeof err_));
    json_decref(r);
    json_t *h =
        s_json("{\"id\": \"H020\", \"city\": \"SPANDAU\", \"tags\": [\"24h-self-service\"]}");
    OK(hq_control_put_hall(w->c, h, err_, sizeof err_));
    json_decref(h);
    const org_hall_t *hall = org_hall_find(hq_control_org(w->c), "H020");
    assert_non_null(hall);
    const org_region_t *chain[3];
    assert_int_equal(org_hall_chain(hq_control_org(w->c), "H020", chain), 0);
    assert_string_equal(chain[0]->id, "SPANDAU");
    assert_string_equal(chain[1]->id, "BE");
    free(before);
    before = s_org_text_of(w);

    /* Refused one by one: an unknown parent, moving a region, a hall in an
     * unknown city, a bad tag. */
    const char *bad_items[][3] = {
        {"r", "{\"id\": \"X\", \"name\": \"x\", \"level\": \"city\", \"parent\": \"NOPE\"}",
         "NOPE"},
        {"r", "{\"id\": \"MITTE\", \"name\": \"Mitte\", \"level\": \"city\", \"parent\": \"BY\"}",
         "do not change"},
        {"h", "{\"id\": \"H030\", \"city\": \"ATLANTIS\"}", "ATLANTIS"},
        {"h", "{\"id\": \"H030\", \"city\": \"MITTE\", \"tags\": [\"Bad Tag\"]}", "tags[0]"},
    };
    for (size_t i = 0; i < sizeof bad_items / sizeof bad_items[0]; i++) {
        json_t *doc = s_json(bad_items[i][1]);
        err[0] = '\0';
        int rc = bad_items[i][0][0] == 'r' ? hq_control_put_region(w->c, doc, err, sizeof err)
                                           : hq_control_put_hall(w->c, doc, err, sizeof err);
        json_decref(doc);
        assert_int_not_equal(rc, 0);
        if (!strstr(err, bad_items[i][2]))
            fail_msg("item %zu: reason \"%s\" does not mention %s", i, err, bad_items[i][2]);
    }
    char *after = s_org_text_of(w);
    assert_string_equal(before, after);
    free(after);

    /* A policy of a region holds the region in place: an organisation
     * without it is refused. */
    json_t *pol = s_json("{\"diversion\": {\"threshold\": 10}}");
    OK(hq_control_put_policy(w->c, "region/SPANDAU", pol, err_, sizeof err_));
    json_decref(pol);
    json_t *doc = s_json(s_org_text);
    s_refused(hq_control_set_org(w->c, doc, err, sizeof err), HB_ECONFLICT, err, "region/SPANDAU");
    json_decref(doc);
    after = s_org_text_of(w);
    assert_string_equal(before, after);
    free(after);
    free(before);
}

/* --------------------------------------------------------------- policies */

HBT_TEST(test_policy_refusals)
{
    world_t *w = *state;
    s_set_org(w);
    char err[1024];
    struct {
        const char *scope, *doc;
        int rc;
        const char *want;
    } cases[] = {
        {"national", "{\"sla\": {\"max_wait_s\": {\"A:vip\": 0}}}", HB_EINVAL,
         "sla.max_wait_s.A:vip"},
        {"national", "{\"closures\": {\"x\": {\"from\": \"2027-01-10\", \"to\": \"2027-01-09\"}}}",
         HB_EINVAL, "closures.x.to"},
        {"national", "{\"opening_hours\": {\"mon\": [\"17:00-09:00\"]}}", HB_EINVAL,
         "opening_hours.mon"},
        {"national", "{\"colour\": \"blue\"}", HB_EINVAL, "colour"},
        {"national", "{\"diversion\": {\"threshold\": \"many\"}}", HB_EINVAL,
         "diversion.threshold"},
        {"national", "[]", HB_EINVAL, "object"},
        {"region/NOPE", "{}", HB_ENOTFOUND, "NOPE"},
        {"region/DE", "{}", HB_EINVAL, "national"},
        {"hall/H999", "{}", HB_ENOTFOUND, "H999"},
        {"province/BE", "{}", HB_EINVAL, "scope"},
        {"", "{}", HB_EINVAL, "scope"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *doc = s_json(cases[i].doc);
        err[0] = '\0';
        int rc = hq_control_put_policy(w->c, cases[i].scope, doc, err, sizeof err);
        json_decref(doc);
        if (rc != cases[i].rc || !strstr(err, cases[i].want))
            fail_msg("case %zu (%s): %s \"%s\", expected %s naming %s", i, cases[i].scope,
                     hb_strerror(rc), err, hb_strerror(cases[i].rc), cases[i].want);
    }
    /* Nothing was kept. */
    json_t *all = hq_control_policies_json(w->c);
    assert_int_equal(json_object_size(json_object_get(all, "drafts")), 0);
    assert_int_equal(json_integer_value(json_object_get(all, "version")), 0);
    assert_true(json_is_null(json_object_get(all, "published_at")));
    json_decref(all);

    /* Drafts that each pass but do not merge: a hall changes the notice of
     * a closure no wider scope has. Publishing names the hall, publishes
     * nothing. */
    json_t *doc = s_json("{\"closures\": {\"works\": {\"notice\": \"Closed\"}}}");
    OK(hq_control_put_policy(w->c, "hall/H003", doc, err_, sizeof err_));
    json_decref(doc);
    uint64_t v = 99;
    s_refused(hq_control_publish_policies(w->c, "ops", &v, err, sizeof err), HB_EINVAL, err,
              "H003");
    assert_int_equal(v, 99);
    assert_int_equal(hq_control_policy_version(w->c), 0);
    /* Removing the draft makes it publishable. */
    OK(hq_control_put_policy(w->c, "hall/H003", NULL, err_, sizeof err_));
    OK(hq_control_publish_policies(w->c, "ops", &v, err_, sizeof err_));
    assert_int_equal(v, 1);
}

static void s_put_worked_example(world_t *w)
{
    const char *scopes[][2] = {{"national", hbt_policy_example[0]},
                               {"region/BE", hbt_policy_example[1]},
                               {"region/MITTE", hbt_policy_example[2]},
                               {"hall/H001", hbt_policy_example[3]}};
    for (size_t i = 0; i < 4; i++) {
        json_t *doc = s_json(scopes[i][1]);
        OK(hq_control_put_policy(w->c, scopes[i][0], doc, err_, sizeof err_));
        json_decref(doc);
    }
}

/* The effective policy of `hall`, read back into the policy model. */
static hb_policy_t *s_effective(world_t *w, const char *hall, bool drafts)
{
    json_t *doc = NULL;
    OK(hq_control_effective_policy(w->c, hall, drafts, &doc, err_, sizeof err_));
    hb_policy_t *p = NULL;
    char err[512] = "";
    if (hb_policy_new(doc, &p, err, sizeof err) != 0)
        fail_msg("the effective policy of %s does not read back: %s", hall, err);
    json_decref(doc);
    return p;
}

HBT_TEST(test_effective_worked_example)
{
    world_t *w = *state;
    s_set_org(w);
    s_put_worked_example(w);
    /* Drafts change nothing a hall runs until they are published. */
    hb_policy_t *p = s_effective(w, "H001", false);
    assert_string_equal(p->timezone, "UTC");
    hb_policy_free(&p);
    uint64_t v = 0;
    OK(hq_control_publish_policies(w->c, "ops", &v, err_, sizeof err_));
    assert_int_equal(v, 1);
    assert_int_equal(hq_control_policy_version(w->c), 1);

    p = s_effective(w, "H001", false);
    assert_string_equal(p->timezone, "Europe/Berlin"); /* national */
    assert_int_equal(p->week[0].n, 1);                 /* hall: Monday 10-18 */
    assert_int_equal(p->week[0].iv[0].from, 600);
    assert_int_equal(p->week[0].iv[0].to, 1080);
    for (int i = 1; i < 5; i++) { /* national */
        assert_int_equal(p->week[i].n, 1);
        assert_int_equal(p->week[i].iv[0].from, 540);
        assert_int_equal(p->week[i].iv[0].to, 1020);
    }
    assert_int_equal(p->week[5].n, 0); /* the hall's null removed the province's Saturday */
    assert_int_equal(p->n_special, 3);
    assert_int_equal(p->special[0].day, hb_days_from_civil(2026, 10, 3)); /* province */
    assert_string_equal(p->special[0].note, "German Unity Day");
    assert_int_equal(p->special[1].day, hb_days_from_civil(2026, 12, 24));
    assert_string_equal(p->special[1].note, "Christmas Eve"); /* national note */
    assert_int_equal(p->special[1].hours.iv[0].to, 13 * 60);  /* city hours */
    assert_int_equal(p->n_closures, 1);                       /* hall */
    assert_string_equal(p->closures[0].id, "renovation");
    assert_int_equal(p->closures[0].from_day, hb_days_from_civil(2027, 1, 11));
    assert_string_equal(p->closures[0].divert_to[0], "H007");
    assert_int_equal(p->n_divert, 1); /* arrays replace: the hall's, not the city's */
    assert_string_equal(p->divert_to[0], "H004");
    assert_int_equal(p->n_wait, 3); /* *:* national, A:* province, A:vip hall; *:vip removed */
    assert_int_equal(hb_policy_max_wait_s(p, "A", 2), 240);
    assert_int_equal(hb_policy_max_wait_s(p, "A", 1), 600);
    assert_int_equal(hb_policy_max_wait_s(p, "B", 2), 1200);
    assert_int_equal(hb_policy_ack_s(p, 4), 3600);
    assert_int_equal(hb_policy_resolve_s(p, 4), 57600); /* the default */
    assert_int_equal(p->diversion_threshold, 25);
    assert_int_equal(p->n_echannels, 2);
    assert_string_equal(p->echannels[1], "phone");
    assert_int_equal(p->max_concurrent_campaigns, 2); /* province */
    assert_int_equal(p->lead_days, 7);                /* national */
    assert_true(p->city_overlap_error);               /* province */
    assert_int_equal(p->device_fault_s, 1800);        /* default */
    assert_int_equal(p->not_open_grace_s, 600);       /* city */
    hb_policy_free(&p);

    /* A hall of the same city without a document of its own. */
    p = s_effective(w, "H002", false);
    assert_int_equal(p->week[0].iv[0].from, 540);
    assert_int_equal(p->week[5].n, 1); /* the province's Saturday */
    assert_int_equal(p->n_closures, 0);
    assert_int_equal(p->n_divert, 2);
    assert_string_equal(p->divert_to[0], "H002");
    hb_policy_free(&p);
    /* Another province: national only; a hall nowhere in the tree too. */
    const char *national_only[] = {"H010", "X-UNPLACED"};
    for (int i = 0; i < 2; i++) {
        p = s_effective(w, national_only[i], false);
        assert_int_equal(p->week[5].n, 0);
        assert_int_equal(p->max_concurrent_campaigns, 3);
        assert_false(p->city_overlap_error);
        assert_int_equal(hb_policy_max_wait_s(p, "B", 2), 300);
        hb_policy_free(&p);
    }

    /* What is sent to the hall is exactly the effective document. */
    const char *data;
    size_t len;
    OK(hq_control_policy_bytes(w->c, "H001", &data, &len, err_, sizeof err_));
    json_t *sent = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *eff = NULL;
    OK(hq_control_effective_policy(w->c, "H001", false, &eff, err_, sizeof err_));
    assert_true(json_equal(sent, eff));
    json_decref(sent);
    json_decref(eff);

    /* A new draft shows with drafts, not in what is published, until the
     * next version. */
    json_t *doc = s_json("{\"diversion\": {\"threshold\": 40}}");
    OK(hq_control_put_policy(w->c, "region/MITTE", doc, err_, sizeof err_));
    json_decref(doc);
    p = s_effective(w, "H002", true);
    assert_int_equal(p->diversion_threshold, 40);
    assert_int_equal(p->n_divert, 0); /* the city's draft replaced its whole document */
    hb_policy_free(&p);
    p = s_effective(w, "H002", false);
    assert_int_equal(p->diversion_threshold, 25);
    hb_policy_free(&p);
    OK(hq_control_publish_policies(w->c, "rita", &v, err_, sizeof err_));
    assert_int_equal(v, 2);
    p = s_effective(w, "H002", false);
    assert_int_equal(p->diversion_threshold, 40);
    hb_policy_free(&p);
    json_t *all = hq_control_policies_json(w->c);
    assert_string_equal(json_string_value(json_object_get(all, "published_by")), "rita");
    assert_true(json_is_string(json_object_get(all, "published_at")));
    json_decref(all);
}

/* ------------------------------------------------------------- campaigns */

/* A province campaign of BE over all its halls, starting `lead` days from
 * today, with or without its FAQ. */
static json_t *s_campaign(const char *id, int lead, bool faq, const char *product)
{
    int32_t today = hb_cal_day_of_ms(hb_now_ms());
    char start[11], end[11];
    hb_date_format(today + lead, start);
    hb_date_format(today + lead + 20, end);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:s, s:s, s:[s], s:[], s:s, s:[s], s:{s:s}}",
                          "id", id, "title", "Spring savings", "level", "province", "region", "BE",
                          "scope", "start", start, "end", end, "products", product,
                          "business_types", "segment", "retail", "channels", "kiosk", "texts",
                          "kiosk", "Open a Savings Plus account with a better APR");
    assert_non_null(d);
    if (faq)
        json_object_set_new(d, "faq",
                            json_pack("[{s:s, s:s}]", "question", "What is the APR?", "answer",
                                      "The yearly rate, 3%."));
    return d;
}

static void s_add(world_t *w, json_t *doc, const char *who)
{
    OK(hq_control_campaign_add(w->c, doc, who, err_, sizeof err_));
    json_decref(doc);
}

static void s_step(world_t *w, const char *id, campaign_action_t a, const char *who,
                   const char *note)
{
    OK(hq_control_campaign_step(w->c, id, a, who, note, NULL, err_, sizeof err_));
}

/* The organisation and docs/POLICY.md's worked example, published; the
 * version it got. */
static uint64_t s_publish_example(world_t *w)
{
    s_set_org(w);
    s_put_worked_example(w);
    uint64_t v = 0;
    OK(hq_control_publish_policies(w->c, "ops", &v, err_, sizeof err_));
    return v;
}

/* Halls reached by organisation index, as HQ's rounds reach them: the
 * cached index follows every change of the organisation, and the policy
 * and opening by index are the ones by id. */
HBT_TEST(test_hall_by_index)
{
    world_t *w = *state;
    s_publish_example(w);
    uint64_t gen = 0;
    int32_t idx = 0, none_idx = 0;
    uint64_t none_gen = 0;
    assert_true(hq_control_org_generation(w->c) != 0);
    assert_int_equal(hq_control_org_index(w->c, "H003", &gen, &idx), 2);
    assert_int_equal(gen, hq_control_org_generation(w->c));
    assert_int_equal(hq_control_org_index(w->c, "NOWHERE", &none_gen, &none_idx), -1);
    /* By index, the very policy by id; -1 runs on the national one. */
    assert_ptr_equal(hq_control_policy_at(w->c, idx), hq_control_policy(w->c, "H003"));
    assert_ptr_equal(hq_control_policy_at(w->c, 0), hq_control_policy(w->c, "H001"));
    assert_ptr_equal(hq_control_policy_at(w->c, -1), hq_control_policy(w->c, "NOWHERE"));
    assert_true(hq_control_policy_at(w->c, 0) != hq_control_policy_at(w->c, -1));
    int64_t now = 1796000000000LL;
    hb_open_info_t a, b;
    int64_t sa = 0, sb = 0;
    const hb_policy_t *pa = hq_control_opening_at(w->c, 0, now, 8, &a, &sa);
    const hb_policy_t *pb = hq_control_opening(w->c, "H001", now, 8, &b, &sb);
    assert_ptr_equal(pa, pb);
    assert_int_equal(a.state, b.state);
    assert_int_equal(sa, sb);
    /* The organisation rebuilt in another order: the cache follows. */
    uint64_t before = hq_control_org_generation(w->c);
    json_t *doc = s_json(s_org_text);
    json_t *halls = json_object_get(doc, "halls");
    json_t *first = json_incref(json_array_get(halls, 0));
    json_array_remove(halls, 0);
    json_array_append_new(halls, first);
    OK(hq_control_set_org(w->c, doc, err_, sizeof err_));
    json_decref(doc);
    assert_true(hq_control_org_generation(w->c) > before);
    assert_int_equal(hq_control_org_index(w->c, "H003", &gen, &idx), 1);
    uint64_t gen1 = 0; /* one cache per hall, as the registry keeps them */
    int32_t idx1 = 0;
    assert_int_equal(hq_control_org_index(w->c, "H001", &gen1, &idx1), 3);
    assert_ptr_equal(hq_control_policy_at(w->c, 3), hq_control_policy(w->c, "H001"));
    /* A refused change leaves the cache stale, never wrong. */
    json_t *bad = s_json("{\"id\": \"H002\", \"city\": \"NOWHERE\"}");
    char err[256];
    assert_int_equal(hq_control_put_hall(w->c, bad, err, sizeof err), HB_EINVAL);
    json_decref(bad);
    assert_int_equal(hq_control_org_index(w->c, "H001", &gen1, &idx1), 3);
}

/* Sets the glossary from the JSON `text`: the code. */
static int s_glossary(world_t *w, const char *text, char *err, size_t errlen)
{
    json_t *gl = s_json(text);
    int rc = hq_control_set_glossary(w->c, gl, err, errlen);
    json_decref(gl);
    return rc;
}

/* The calendar slice HQ sends hall `hall`, read back as a hall reads it
 * (destroy it with hb_cal_slice_destroy). */
static hb_cal_slice_t *s_slice(world_t *w, const char *hall)
{
    const char *data = NULL;
    size_t len = 0;
    OK(hq_control_slice_bytes(w->c, hall, &data, &len, err_, sizeof err_));
    json_t *sj = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(sj);
    hb_cal_slice_t *slice = NULL;
    OK(hb_cal_slice_parse(sj, &slice, err_, sizeof err_));
    json_decref(sj);
    return slice;
}

HBT_TEST(test_campaign_gate)
{
    world_t *w = *state;
    s_set_org(w);
    OK(s_glossary(w,
                  "{\"terms\": [{\"term\": \"APR\", \"definition\": \"annual percentage rate\"}]}",
                  err_, sizeof err_));
    char err[1024];

    /* A slice before anything is published: not found. */
    const char *data;
    size_t len;
    s_refused(hq_control_slice_bytes(w->c, "H001", &data, &len, err, sizeof err), HB_ENOTFOUND, err,
              "published");

    /* A campaign without an FAQ cannot be approved; the report says why. */
    s_add(w, s_campaign("no-faq", 30, false, "savings-plus"), "alice");
    json_t *report = NULL;
    /* Approving a draft is refused for its state, before any check. */
    s_refused(hq_control_campaign_step(w->c, "no-faq", CAMPAIGN_APPROVE, "rita", NULL, &report, err,
                                       sizeof err),
              HB_ECONFLICT, err, "draft");
    assert_null(report);
    s_step(w, "no-faq", CAMPAIGN_SUBMIT, "alice", NULL);
    s_refused(hq_control_campaign_step(w->c, "no-faq", CAMPAIGN_APPROVE, "rita", NULL, &report, err,
                                       sizeof err),
              HB_ECONFLICT, err, "coordination check");
    assert_non_null(report);
    assert_false(json_is_true(json_object_get(report, "ok")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(report, "by_rule"), "faq")),
                     1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(report, "by_rule"), "glossary")),
        1); /* APR unexplained too: every finding at once */
    json_decref(report);
    assert_int_equal(campaign_calendar_find(hq_control_calendar(w->c), "no-faq")->state,
                     CAMPAIGN_SUBMITTED);
    /* Returned, edited with an FAQ, submitted again: approved. */
    s_step(w, "no-faq", CAMPAIGN_RETURN, "rita", "add an FAQ that explains APR");
    json_t *fixed = s_campaign("no-faq", 30, true, "savings-plus");
    OK(hq_control_campaign_edit(w->c, fixed, "alice", err_, sizeof err_));
    json_decref(fixed);
    s_step(w, "no-faq", CAMPAIGN_SUBMIT, "alice", NULL);
    OK(hq_control_campaign_step(w->c, "no-faq", CAMPAIGN_APPROVE, "rita", NULL, &report, err_,
                                sizeof err_));
    assert_true(json_is_true(json_object_get(report, "ok")));
    json_decref(report);
    assert_int_equal(hq_control_calendar_version(w->c), 0);

    /* A second campaign on the same product and halls blocks itself and
     * the first at publish: the check runs again then. */
    s_add(w, s_campaign("rival", 35, true, "savings-plus"), "bob");
    s_step(w, "rival", CAMPAIGN_SUBMIT, "bob", NULL);
    s_refused(hq_control_campaign_step(w->c, "no-faq", CAMPAIGN_PUBLISH, "ops", NULL, &report, err,
                                       sizeof err),
              HB_ECONFLICT, err, "cannot be published");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(report, "by_rule"), "product")), 1);
    json_decref(report);
    s_step(w, "rival", CAMPAIGN_RETURN, "rita", "same product as no-faq");
    OK(hq_control_campaign_remove(w->c, "rival", err_, sizeof err_));
    assert_null(campaign_calendar_find(hq_control_calendar(w->c), "rival"));

    /* Published: the calendar moves, and the halls of BE get it. */
    s_step(w, "no-faq", CAMPAIGN_PUBLISH, "ops", NULL);
    assert_int_equal(hq_control_calendar_version(w->c), 1);
    hb_cal_slice_t *slice = s_slice(w, "H003");
    assert_int_equal(slice->version, 1);
    assert_string_equal(slice->hall, "H003");
    assert_int_equal(slice->n, 1);
    assert_string_equal(slice->campaigns[0].id, "no-faq");
    assert_int_equal(slice->campaigns[0].n_faq, 1);
    hb_cal_slice_destroy(&slice);
    /* A hall of another province gets an empty slice of the same version. */
    slice = s_slice(w, "H010");
    assert_int_equal(slice->version, 1);
    assert_int_equal(slice->n, 0);
    hb_cal_slice_destroy(&slice);
    s_refused(hq_control_slice_bytes(w->c, "H999", &data, &len, err, sizeof err), HB_ENOTFOUND, err,
              "H999");

    /* A published campaign is not edited or removed; withdrawn, the calendar
     * moves again and the slice is empty. */
    fixed = s_campaign("no-faq", 30, true, "savings-plus");
    s_refused(hq_control_campaign_edit(w->c, fixed, "alice", err, sizeof err), HB_ECONFLICT, err,
              "draft");
    json_decref(fixed);
    s_refused(hq_control_campaign_remove(w->c, "no-faq", err, sizeof err), HB_ECONFLICT, err, NULL);
    s_step(w, "no-faq", CAMPAIGN_WITHDRAW, "ops", "ended early");
    assert_int_equal(hq_control_calendar_version(w->c), 2);
    slice = s_slice(w, "H003");
    assert_int_equal(slice->version, 2);
    assert_int_equal(slice->n, 0);
    hb_cal_slice_destroy(&slice);

    /* Unknown campaigns, bad users, a second id. */
    s_refused(
        hq_control_campaign_step(w->c, "nope", CAMPAIGN_SUBMIT, "a", NULL, NULL, err, sizeof err),
        HB_ENOTFOUND, err, "nope");
    s_add(w, s_campaign("again", 30, true, "cards"), "alice");
    json_t *dup = s_campaign("again", 30, true, "cards");
    s_refused(hq_control_campaign_add(w->c, dup, "alice", err, sizeof err), HB_EEXIST, err,
              "again");
    json_decref(dup);
    s_refused(hq_control_campaign_step(w->c, "again", CAMPAIGN_SUBMIT, "not a user!", NULL, NULL,
                                       err, sizeof err),
              HB_EINVAL, err, NULL);
}

HBT_TEST(test_check_candidate)
{
    world_t *w = *state;
    s_set_org(w);
    char err[1024];
    /* A candidate is checked as if submitted, and not stored. */
    json_t *cand = s_campaign("idea", 3, false, "savings-plus");
    json_t *report = NULL;
    OK(hq_control_check(w->c, cand, &report, err_, sizeof err_));
    json_decref(cand);
    json_t *by = json_object_get(report, "by_rule");
    assert_int_equal(json_integer_value(json_object_get(by, "faq")), 1);
    assert_int_equal(json_integer_value(json_object_get(by, "lead_time")), 1); /* 3 < 7 days */
    assert_int_equal(json_integer_value(json_object_get(report, "checked")), 1);
    json_decref(report);
    assert_int_equal(campaign_calendar_count(hq_control_calendar(w->c)), 0);
    /* A candidate that is not a campaign is refused with its member. */
    cand = s_campaign("idea", 30, true, "savings-plus");
    json_object_set_new(cand, "end", json_string("2020-01-01"));
    s_refused(hq_control_check(w->c, cand, &report, err, sizeof err), HB_EINVAL, err, "end");
    json_decref(cand);
    cand = s_campaign("idea", 30, true, "savings-plus");
    json_object_set_new(cand, "parent", json_string("ghost"));
    s_refused(hq_control_check(w->c, cand, &report, err, sizeof err), HB_EINVAL, err, "ghost");
    json_decref(cand);
    /* The calendar alone. */
    OK(hq_control_check(w->c, NULL, &report, err_, sizeof err_));
    assert_true(json_is_true(json_object_get(report, "ok")));
    json_decref(report);
}

/* ------------------------------------------------------------ persistence */

HBT_TEST(test_persistence)
{
    world_t *w = *state;
    uint64_t v = s_publish_example(w);
    json_t *doc = s_json("{\"diversion\": {\"threshold\": 12}}");
    OK(hq_control_put_policy(w->c, "hall/H002", doc, err_, sizeof err_)); /* a draft only */
    json_decref(doc);
    OK(s_glossary(w,
                  "{\"terms\": [{\"term\": \"APR\", \"definition\": \"annual percentage "
                  "rate\"}, {\"term\": \"direct debit\"}]}",
                  err_, sizeof err_));
    s_add(w, s_campaign("spring", 30, true, "savings-plus"), "alice");
    s_step(w, "spring", CAMPAIGN_SUBMIT, "alice", NULL);
    s_step(w, "spring", CAMPAIGN_RETURN, "rita", "say who can join");
    s_step(w, "spring", CAMPAIGN_SUBMIT, "alice", NULL);
    s_step(w, "spring", CAMPAIGN_APPROVE, "rita", NULL);
    s_step(w, "spring", CAMPAIGN_PUBLISH, "ops", NULL);
    s_add(w, s_campaign("draft-only", 40, true, "cards"), "bob");

    char *org = s_org_text_of(w);
    json_t *pj = hq_control_policies_json(w->c);
    char *pol = hbt_json_text(pj);
    json_decref(pj);
    json_t *cj = campaign_calendar_to_json(hq_control_calendar(w->c));
    char *cal = hbt_json_text(cj);
    json_decref(cj);
    json_t *gj = calcheck_glossary_to_json(hq_control_glossary(w->c));
    char *glo = hbt_json_text(gj);
    json_decref(gj);
    json_t *eff_before = NULL;
    OK(hq_control_effective_policy(w->c, "H001", false, &eff_before, err_, sizeof err_));

    s_reopen(w);

    char *org2 = s_org_text_of(w);
    pj = hq_control_policies_json(w->c);
    char *pol2 = hbt_json_text(pj);
    json_decref(pj);
    cj = campaign_calendar_to_json(hq_control_calendar(w->c));
    char *cal2 = hbt_json_text(cj);
    json_decref(cj);
    gj = calcheck_glossary_to_json(hq_control_glossary(w->c));
    char *glo2 = hbt_json_text(gj);
    json_decref(gj);
    assert_string_equal(org, org2);
    assert_string_equal(pol, pol2);
    assert_string_equal(cal, cal2);
    assert_string_equal(glo, glo2);
    assert_int_equal(hq_control_policy_version(w->c), 1);
    assert_int_equal(hq_control_calendar_version(w->c), 1);
    const campaign_t *k = campaign_calendar_find(hq_control_calendar(w->c), "spring");
    assert_non_null(k);
    assert_int_equal(k->state, CAMPAIGN_PUBLISHED);
    assert_int_equal(k->n_history, 6);
    assert_string_equal(k->history[2].by, "rita");
    assert_string_equal(k->history[2].note, "say who can join");
    json_t *eff_after = NULL;
    OK(hq_control_effective_policy(w->c, "H001", false, &eff_after, err_, sizeof err_));
    assert_true(json_equal(eff_before, eff_after));
    json_decref(eff_before);
    json_decref(eff_after);
    /* The slice is rebuilt from what was stored. */
    const char *data;
    size_t len;
    OK(hq_control_slice_bytes(w->c, "H001", &data, &len, err_, sizeof err_));
    assert_non_null(strstr(data, "\"spring\""));
    /* And work goes on where it stopped: the next version is 2. */
    OK(hq_control_publish_policies(w->c, "ops", &v, err_, sizeof err_));
    assert_int_equal(v, 2);
    s_reopen(w);
    assert_int_equal(hq_control_policy_version(w->c), 2);
    free(org);
    free(org2);
    free(pol);
    free(pol2);
    free(cal);
    free(cal2);
    free(glo);
    free(glo2);
}

HBT_TEST(test_glossary_refusal)
{
    world_t *w = *state;
    OK(s_glossary(w, "{\"terms\": [{\"term\": \"APR\"}]}", err_, sizeof err_));
    char err[1024] = "";
    assert_int_not_equal(
        s_glossary(w, "{\"terms\": [{\"term\": \"ISA\"}, {\"term\": \"isa\"}]}", err, sizeof err),
        0);
    assert_true(err[0] != '\0');
    assert_int_equal(calcheck_glossary_count(hq_control_glossary(w->c)), 1);
    assert_string_equal(calcheck_glossary_term(hq_control_glossary(w->c), 0), "APR");
    s_reopen(w);
    assert_int_equal(calcheck_glossary_count(hq_control_glossary(w->c)), 1);
}

/* The slice a hall gets carries the glossary terms its campaigns use, and
 * only those, with their explanation and examples; a new glossary is a new
 * calendar version whose slices carry the new words. */
HBT_TEST(test_slice_glossary)
{
    world_t *w = *state;
    s_set_org(w);
    OK(s_glossary(w,
                  "{\"terms\": [{\"term\": \"ISA\", \"definition\": \"a tax-free account\"},"
                  " {\"term\": \"APR\", \"definition\": \"annual percentage rate\","
                  "  \"examples\": [\"3% APR on 10,000: 300 a year\"]},"
                  " {\"term\": \"yearly rate\"}]}",
                  err_, sizeof err_));
    assert_int_equal(hq_control_calendar_version(w->c), 0); /* nothing published: no version */
    s_add(w, s_campaign("apr-week", 30, true, "savings-plus"), "alice");
    s_step(w, "apr-week", CAMPAIGN_SUBMIT, "alice", NULL);
    s_step(w, "apr-week", CAMPAIGN_APPROVE, "rita", NULL);
    s_step(w, "apr-week", CAMPAIGN_PUBLISH, "ops", NULL);
    assert_int_equal(hq_control_calendar_version(w->c), 1);

    /* The text says "APR" and its FAQ "yearly rate": both, in glossary
     * order; ISA is in nothing the hall's campaigns show. */
    hb_cal_slice_t *s = s_slice(w, "H003");
    assert_int_equal(s->n_terms, 2);
    assert_string_equal(s->terms[0].term, "APR");
    assert_string_equal(s->terms[0].definition, "annual percentage rate");
    assert_int_equal(s->terms[0].n_examples, 1);
    assert_string_equal(s->terms[0].examples[0], "3% APR on 10,000: 300 a year");
    assert_int_equal(s->terms[0].n_campaigns, 1);
    assert_string_equal(s->terms[0].campaigns[0], "apr-week");
    assert_string_equal(s->terms[1].term, "yearly rate");
    assert_string_equal(s->terms[1].definition, "");
    hb_cal_slice_destroy(&s);
    /* A hall the campaign does not reach: no terms at all. */
    s = s_slice(w, "H010");
    assert_int_equal(s->n, 0);
    assert_int_equal(s->n_terms, 0);
    hb_cal_slice_destroy(&s);

    /* New words: a new version, and the slice says them. */
    OK(s_glossary(
        w, "{\"terms\": [{\"term\": \"APR\", \"definition\": \"what borrowing costs a year\"}]}",
        err_, sizeof err_));
    assert_int_equal(hq_control_calendar_version(w->c), 2);
    s = s_slice(w, "H003");
    assert_int_equal(s->version, 2);
    assert_int_equal(s->n_terms, 1);
    assert_string_equal(s->terms[0].definition, "what borrowing costs a year");
    assert_int_equal(s->terms[0].n_examples, 0);
    hb_cal_slice_destroy(&s);

    /* Examples are checked; a refused glossary changes nothing, not even
     * the version. */
    static const struct {
        const char *doc, *want;
    } bad[] = {
        {"{\"terms\": [{\"term\": \"APR\", \"examples\": \"one\"}]}",
         "terms[0].examples: must be a list of at most 8 texts"},
        {"{\"terms\": [{\"term\": \"APR\", \"examples\": [\"a\", 3]}]}",
         "terms[0].examples[1]: must be a text"},
        {"{\"terms\": [{\"term\": \"APR\", \"examples\": [\"  \"]}]}",
         "terms[0].examples[0]: must be 1..300 bytes, not blank"},
        {"{\"terms\": [{\"term\": \"APR\", \"examples\": "
         "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}]}",
         "terms[0].examples: must be a list of at most 8 texts"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        s_refused(s_glossary(w, bad[i].doc, err, sizeof err), HB_EINVAL, err, bad[i].want);
    }
    assert_int_equal(hq_control_calendar_version(w->c), 2);
    /* Kept across a restart, examples included. */
    json_t *gl = s_json("{\"terms\": [{\"term\": \"APR\", \"examples\": [\"x\", \"y\"]}]}");
    OK(hq_control_set_glossary(w->c, gl, err_, sizeof err_));
    s_reopen(w);
    json_t *back = calcheck_glossary_to_json(hq_control_glossary(w->c));
    assert_true(json_equal(back, gl));
    json_decref(back);
    json_decref(gl);
}
