/* Unit tests of hqd/control/campaign.c: campaign documents read strictly, each
 * refusal with its reason; validation against the organisation and the
 * calendar (owner level, scope, parent); the lifecycle's legal and illegal
 * steps with who and when; edits only in draft; the stored form and the
 * calendar written and read back unchanged; per-hall slices. */
#include "campaign.h"

#include "hallbus/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"

#define T0 1795424400000LL /* 2026-11-23T09:00:00Z */
#define DAY_MS 86400000LL
#define MAR_01_2027 20878

static const char *s_org_text =
    HBT_ORG_REGIONS " \"halls\": ["
                    " {\"id\": \"H1\", \"city\": \"C11\", \"tags\": [\"flagship\"]},"
                    " {\"id\": \"H2\", \"city\": \"C11\"},"
                    " {\"id\": \"H3\", \"city\": \"C12\", \"tags\": [\"rural\"]},"
                    " {\"id\": \"H4\", \"city\": \"C21\"}]}";

/* A valid province campaign of P1 over all its halls. */
static json_t *s_doc(const char *id)
{
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:s, s:s, s:[s], s:[s], s:s, s:[s], s:{s:s},"
                          " s:[{s:s, s:s}]}",
                          "id", id, "title", "Spring savings", "level", "province", "region", "P1",
                          "scope", "start", "2027-03-01", "end", "2027-03-31", "products",
                          "savings-plus", "business_types", "account_opening", "segment", "retail",
                          "channels", "kiosk", "texts", "kiosk", "Ask about Savings Plus", "faq",
                          "question", "Who can join?", "answer", "Anyone over 18.");
    assert_non_null(d);
    return d;
}

/* Sets `key` of `o` to `value` (JSON text), or deletes it when NULL. */
static void s_set_member(json_t *o, const char *key, const char *value)
{
    if (value)
        json_object_set_new(o, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(o, key);
}

static json_t *s_doc_with(const char *id, const char *key, const char *value)
{
    json_t *d = s_doc(id);
    s_set_member(d, key, value);
    return d;
}

/* A draft (campaign_parse) or a stored record (campaign_from_json) that
 * `read` refuses with HB_EINVAL and exactly `want`; `doc` is taken. */
typedef int (*s_reader_fn)(const json_t *doc, campaign_t **out, char *err, size_t errlen);

static void s_refused(s_reader_fn read, json_t *doc, const char *want)
{
    campaign_t *c = NULL;
    char err[256] = "";
    int rc = read(doc, &c, err, sizeof err);
    json_decref(doc);
    if (rc != HB_EINVAL || strcmp(err, want) != 0)
        fail_msg("wanted \"%s\", got rc %d \"%s\"", want, rc, err);
    assert_null(c);
}

static void s_parse_refused(json_t *doc, const char *want) { s_refused(campaign_parse, doc, want); }

/* Adding `doc` (taken) to `cal` is refused with `want_rc` and `want`. */
static void s_add_refused(campaign_calendar_t *cal, const org_t *org, json_t *doc, int want_rc,
                          const char *want)
{
    char err[256] = "";
    const campaign_t *c = (const campaign_t *)1;
    int rc = campaign_calendar_add(cal, org, doc, "alice", T0, &c, err, sizeof err);
    json_decref(doc);
    if (rc != want_rc || strcmp(err, want) != 0)
        fail_msg("wanted %d \"%s\", got %d \"%s\"", want_rc, want, rc, err);
    assert_null(c);
}

static void s_add(campaign_calendar_t *cal, const org_t *org, json_t *doc)
{
    char err[256] = "";
    if (campaign_calendar_add(cal, org, doc, "alice", T0, NULL, err, sizeof err) != 0)
        fail_msg("add refused: %s", err);
    json_decref(doc);
}

static void s_step(campaign_calendar_t *cal, const char *id, campaign_action_t a, const char *who,
                   int64_t at)
{
    char err[256] = "";
    if (campaign_calendar_transition(cal, id, a, who, at, NULL, err, sizeof err) != 0)
        fail_msg("%s of %s refused: %s", campaign_action_name(a), id, err);
}

/* The organisation and an empty calendar, for each test that uses them. */
typedef struct world {
    org_t *org;
    campaign_calendar_t *cal;
} world_t;

static world_t s_world;

static int s_setup(void **state)
{
    s_world.org = hbt_org(s_org_text);
    s_world.cal = campaign_calendar_new();
    *state = &s_world;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    campaign_calendar_destroy(&s_world.cal);
    org_destroy(&s_world.org);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST_IN(test_parse, NULL, NULL)
{
    (void)state;
    json_t *doc = s_doc("spring");
    json_object_set_new(doc, "parent", json_string("national-savings"));
    json_object_set_new(doc, "scope",
                        hbt_json("{\"regions\": [\"C11\"], \"halls\": [],"
                                 " \"tags\": [\"flagship\"]}"));
    campaign_t *c = NULL;
    char err[256] = "";
    assert_int_equal(campaign_parse(doc, &c, err, sizeof err), 0);
    assert_string_equal(c->doc.id, "spring");
    assert_string_equal(c->region, "P1");
    assert_string_equal(c->parent, "national-savings");
    assert_int_equal(c->scope->n_regions, 1);
    assert_int_equal(c->scope->n_tags, 1);
    assert_int_equal(c->state, CAMPAIGN_DRAFT);
    assert_int_equal(c->revision, 1);
    assert_int_equal(c->n_history, 0);
    int32_t day = 0;
    assert_false(campaign_published_day(c, &day));
    /* The author's form comes back as given. */
    json_t *out = campaign_document_to_json(c);
    assert_true(json_equal(out, doc));
    json_decref(out);
    campaign_destroy(&c);
    assert_null(c);
    campaign_destroy(&c);
    json_decref(doc);
}

HBT_TEST_IN(test_parse_refusals, NULL, NULL)
{
    (void)state;
    s_parse_refused(json_array(), "campaign: must be an object");
    s_parse_refused(s_doc_with("a", "state", "\"published\""), "state: unknown member");
    s_parse_refused(s_doc_with("a", "history", "[]"), "history: unknown member");
    s_parse_refused(s_doc_with("a", "owner", "\"P1\""), "owner: unknown member");
    s_parse_refused(s_doc_with("a", "region", NULL), "region: missing (the owning region)");
    s_parse_refused(s_doc_with("a", "region", "[\"P1\"]"),
                    "region: must be a region id ([A-Za-z0-9_-]{1,64})");
    s_parse_refused(s_doc_with("a", "parent", "\"has space\""),
                    "parent: must be a campaign id ([A-Za-z0-9_-]{1,64})");
    s_parse_refused(s_doc_with("a", "scope", NULL),
                    "scope: missing (give {} for every hall of the owner region)");
    s_parse_refused(s_doc_with("a", "scope", "{\"cities\": []}"), "scope.cities: unknown member");
    s_parse_refused(s_doc_with("a", "scope", "{\"halls\": [\"H1\", \"H1\"]}"),
                    "scope.halls[1]: \"H1\" listed twice");
    s_parse_refused(s_doc_with("a", "title", "12"), "title: must be a string");
    s_parse_refused(
        s_doc_with("a", "start", "\"2027-02-29\""),
        "start: \"2027-02-29\" is not a date (YYYY-MM-DD, a real day, year 1970..9999)");
    s_parse_refused(s_doc_with("a", "end", "\"2027-02-28\""),
                    "end: before the start (dates reversed)");
    s_parse_refused(s_doc_with("a", "end", "\"2028-03-01\""),
                    "end: the campaign would run 367 days, at most 366");
    s_parse_refused(s_doc_with("a", "channels", "[\"kiosk\", \"signage\"]"),
                    "texts.signage: missing (every listed channel needs its text)");
    s_parse_refused(s_doc_with("a", "texts", "{\"kiosk\": \"k\", \"signage\": \"s\"}"),
                    "texts.signage: a text for a channel the campaign does not list");
    char *big = malloc(2002);
    assert_non_null(big);
    memset(big, 'x', 2001);
    big[2001] = '\0';
    json_t *d = s_doc("a");
    json_object_set_new(json_object_get(d, "texts"), "kiosk", json_string(big));
    free(big);
    s_parse_refused(d, "texts.kiosk: 2001 bytes, at most 2000");
    d = s_doc_with("a", "products", "[]");
    json_object_set_new(d, "business_types", json_array());
    s_parse_refused(d, "products: a campaign concerns at least one product or business type");
    s_parse_refused(s_doc_with("a", "faq", "{}"), "faq: must be an array of {question, answer}");
}

HBT_TEST_IN(test_validate, NULL, NULL)
{
    (void)state;
    org_t *org = hbt_org(s_org_text);
    campaign_calendar_t *cal = campaign_calendar_new();
    const campaign_t *c = NULL;
    char err[256] = "";

    json_t *doc = s_doc("spring");
    assert_int_equal(campaign_calendar_add(cal, org, doc, "alice", T0, &c, err, sizeof err), 0);
    json_decref(doc);
    assert_non_null(c);
    assert_int_equal(c->state, CAMPAIGN_DRAFT);
    assert_int_equal(c->revision, 1);
    assert_int_equal(c->n_history, 1);
    assert_int_equal(c->history[0].action, CAMPAIGN_CREATE);
    assert_string_equal(c->history[0].by, "alice");
    assert_int_equal(c->history[0].at_ms, T0);
    assert_ptr_equal(campaign_calendar_find(cal, "spring"), c);
    assert_int_equal(campaign_calendar_count(cal), 1);

    s_add_refused(cal, org, s_doc("spring"), HB_EEXIST, "id: a campaign \"spring\" exists already");
    s_add_refused(cal, org, s_doc_with("a", "region", "\"P9\""), HB_EINVAL,
                  "region: unknown region \"P9\"");
    s_add_refused(cal, org, s_doc_with("a", "level", "\"head_office\""), HB_EINVAL,
                  "region: \"P1\" is a province region; a head_office campaign is owned by the "
                  "national region");
    s_add_refused(cal, org, s_doc_with("a", "level", "\"city\""), HB_EINVAL,
                  "region: \"P1\" is a province region; a city campaign is owned by a city");
    json_t *d = s_doc_with("a", "region", "\"C11\"");
    s_add_refused(cal, org, d, HB_EINVAL,
                  "region: \"C11\" is a city region; a province campaign is owned by a province");
    /* A city campaign naming another city's hall, and scopes reaching none. */
    d = s_doc_with("a", "region", "\"C11\"");
    json_object_set_new(d, "level", json_string("city"));
    json_object_set_new(d, "scope", hbt_json("{\"halls\": [\"H1\", \"H3\"]}"));
    s_add_refused(cal, org, d, HB_EINVAL,
                  "scope.halls[1]: hall \"H3\" (city C12) is outside the owner region \"C11\"");
    s_add_refused(
        cal, org,
        s_doc_with("a", "scope", "{\"tags\": [\"rural\", \"sme\"], \"regions\": [\"C11\"]}"),
        HB_EINVAL, "scope.tags: no hall of the scope carries any of these tags");
    s_add_refused(cal, org, s_doc_with("a", "scope", "{\"halls\": [\"H9\"]}"), HB_EINVAL,
                  "scope.halls[0]: unknown hall \"H9\"");
    s_add_refused(cal, org, s_doc_with("a", "scope", "{\"regions\": [\"P2\"]}"), HB_EINVAL,
                  "scope.regions[0]: region \"P2\" is outside the owner region \"P1\"");
    /* Parents: unknown, itself, known. */
    s_add_refused(cal, org, s_doc_with("a", "parent", "\"nope\""), HB_EINVAL,
                  "parent: unknown campaign \"nope\"");
    s_add_refused(cal, org, s_doc_with("a", "parent", "\"a\""), HB_EINVAL,
                  "parent: a campaign is not its own parent");
    s_add(cal, org, s_doc_with("child", "parent", "\"spring\""));
    s_add(cal, org, s_doc_with("grandchild", "parent", "\"child\""));
    assert_true(campaign_calendar_is_ancestor(cal, campaign_calendar_find(cal, "spring"),
                                              campaign_calendar_find(cal, "grandchild")));
    assert_true(campaign_calendar_is_ancestor(cal, campaign_calendar_find(cal, "child"),
                                              campaign_calendar_find(cal, "grandchild")));
    assert_false(campaign_calendar_is_ancestor(cal, campaign_calendar_find(cal, "grandchild"),
                                               campaign_calendar_find(cal, "spring")));
    /* An edit that would close a loop of parents. */
    d = s_doc_with("spring", "parent", "\"grandchild\"");
    assert_int_equal(campaign_calendar_edit(cal, org, d, "alice", T0, err, sizeof err), HB_EINVAL);
    assert_string_equal(err,
                        "parent: \"grandchild\" descends from \"spring\" (a cycle of parents)");
    json_decref(d);
    /* Too long a chain. */
    char parent[16] = "grandchild";
    for (int i = 0; i < CAMPAIGN_PARENT_DEPTH_MAX; i++) {
        char id[16];
        snprintf(id, sizeof id, "deep%d", i);
        d = s_doc_with(id, "parent", NULL);
        json_object_set_new(d, "parent", json_string(parent));
        int rc = campaign_calendar_add(cal, org, d, "alice", T0, NULL, err, sizeof err);
        json_decref(d);
        /* grandchild has two campaigns above it: deep5 has eight. */
        if (i < CAMPAIGN_PARENT_DEPTH_MAX - 2) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, HB_EINVAL);
            assert_string_equal(err, "parent: more than 8 campaigns above this one");
            break;
        }
        snprintf(parent, sizeof parent, "%s", id);
    }
    /* Validation without an org or a calendar skips that part. */
    campaign_t *loose = NULL;
    d = s_doc_with("loose", "parent", "\"anything\"");
    assert_int_equal(campaign_parse(d, &loose, NULL, 0), 0);
    json_decref(d);
    assert_int_equal(campaign_validate(loose, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(campaign_validate(loose, org, NULL, err, sizeof err), 0);
    assert_int_equal(campaign_validate(loose, NULL, cal, err, sizeof err), HB_EINVAL);
    uint64_t bits[1];
    size_t count = 0;
    assert_int_equal(campaign_resolve(loose, org, bits, 1, &count, err, sizeof err), 0);
    assert_int_equal(count, 3);
    campaign_destroy(&loose);

    /* Bad actors are refused before anything else. */
    doc = s_doc("x");
    assert_int_equal(campaign_calendar_add(cal, org, doc, "al ice", T0, NULL, err, sizeof err),
                     HB_EINVAL);
    assert_string_equal(err, "by: a user id is [A-Za-z0-9_.@-]{1,64}");
    assert_int_equal(campaign_calendar_add(cal, org, doc, "alice", -5, NULL, err, sizeof err),
                     HB_EINVAL);
    assert_string_equal(err, "at_ms: must be >= 0 (ms since the epoch)");
    json_decref(doc);

    campaign_calendar_destroy(&cal);
    assert_null(cal);
    campaign_calendar_destroy(&cal);
    org_destroy(&org);
}

/* Action `a` on campaign `id` refused as "campaign ID is WANT", changing
 * nothing. */
static void s_illegal(campaign_calendar_t *cal, const char *id, campaign_action_t a,
                      const char *want)
{
    char err[256] = "";
    const campaign_t *c = campaign_calendar_find(cal, id);
    uint64_t rev = c->revision;
    size_t n = c->n_history;
    campaign_state_t st = c->state;
    int rc = campaign_calendar_transition(cal, id, a, "bob", T0 + DAY_MS, NULL, err, sizeof err);
    char full[256];
    snprintf(full, sizeof full, "campaign %s is %s", id, want);
    if (rc != HB_ECONFLICT || strcmp(err, full) != 0)
        fail_msg("wanted \"%s\", got rc %d \"%s\"", full, rc, err);
    /* Nothing changed. */
    assert_int_equal(c->revision, rev);
    assert_int_equal(c->n_history, n);
    assert_int_equal(c->state, st);
}

HBT_TEST(test_lifecycle)
{
    world_t *w = *state;
    char err[256] = "";
    s_add(w->cal, w->org, s_doc("spring"));
    const campaign_t *c = campaign_calendar_find(w->cal, "spring");
    assert_int_equal(campaign_calendar_version(w->cal), 0);

    s_illegal(w->cal, "spring", CAMPAIGN_APPROVE, "draft: approve needs submitted");
    s_illegal(w->cal, "spring", CAMPAIGN_PUBLISH, "draft: publish needs approved");
    s_illegal(w->cal, "spring", CAMPAIGN_WITHDRAW, "draft: withdraw needs approved or published");
    s_illegal(w->cal, "spring", CAMPAIGN_RETURN, "draft: return needs submitted");

    s_step(w->cal, "spring", CAMPAIGN_SUBMIT, "alice", T0 + 1000);
    assert_int_equal(c->state, CAMPAIGN_SUBMITTED);
    s_illegal(w->cal, "spring", CAMPAIGN_SUBMIT, "submitted: submit needs draft");
    s_illegal(w->cal, "spring", CAMPAIGN_PUBLISH, "submitted: publish needs approved");
    s_illegal(w->cal, "spring", CAMPAIGN_WITHDRAW,
              "submitted: withdraw needs approved or published");
    /* Returned with a reason, then submitted again. */
    assert_int_equal(campaign_calendar_transition(w->cal, "spring", CAMPAIGN_RETURN, "rita",
                                                  T0 + 2000, "the FAQ needs a fee answer", err,
                                                  sizeof err),
                     0);
    assert_int_equal(c->state, CAMPAIGN_DRAFT);
    s_step(w->cal, "spring", CAMPAIGN_SUBMIT, "alice", T0 + 3000);
    s_step(w->cal, "spring", CAMPAIGN_APPROVE, "rita", T0 + 4000);
    s_illegal(w->cal, "spring", CAMPAIGN_APPROVE, "approved: approve needs submitted");
    s_illegal(w->cal, "spring", CAMPAIGN_RETURN, "approved: return needs submitted");
    assert_int_equal(campaign_calendar_version(w->cal), 0);
    s_step(w->cal, "spring", CAMPAIGN_PUBLISH, "hq.ops@bank", T0 + 5 * DAY_MS);
    assert_int_equal(c->state, CAMPAIGN_PUBLISHED);
    assert_int_equal(campaign_calendar_version(w->cal), 1);
    int32_t day = 0;
    assert_true(campaign_published_day(c, &day));
    assert_int_equal(day, (int32_t)((T0 + 5 * DAY_MS) / DAY_MS));
    s_illegal(w->cal, "spring", CAMPAIGN_SUBMIT, "published: submit needs draft");
    s_illegal(w->cal, "spring", CAMPAIGN_PUBLISH, "published: publish needs approved");
    s_step(w->cal, "spring", CAMPAIGN_WITHDRAW, "rita", T0 + 6 * DAY_MS);
    assert_int_equal(c->state, CAMPAIGN_WITHDRAWN);
    assert_int_equal(campaign_calendar_version(w->cal), 2); /* halls must drop it */
    s_illegal(w->cal, "spring", CAMPAIGN_WITHDRAW,
              "withdrawn: withdraw needs approved or published");
    s_illegal(w->cal, "spring", CAMPAIGN_SUBMIT, "withdrawn: submit needs draft");

    /* Who and when, step by step. */
    static const struct {
        campaign_action_t a;
        campaign_state_t from, to;
        const char *by;
        int64_t at;
    } want[] = {
        {CAMPAIGN_CREATE, CAMPAIGN_DRAFT, CAMPAIGN_DRAFT, "alice", T0},
        {CAMPAIGN_SUBMIT, CAMPAIGN_DRAFT, CAMPAIGN_SUBMITTED, "alice", T0 + 1000},
        {CAMPAIGN_RETURN, CAMPAIGN_SUBMITTED, CAMPAIGN_DRAFT, "rita", T0 + 2000},
        {CAMPAIGN_SUBMIT, CAMPAIGN_DRAFT, CAMPAIGN_SUBMITTED, "alice", T0 + 3000},
        {CAMPAIGN_APPROVE, CAMPAIGN_SUBMITTED, CAMPAIGN_APPROVED, "rita", T0 + 4000},
        {CAMPAIGN_PUBLISH, CAMPAIGN_APPROVED, CAMPAIGN_PUBLISHED, "hq.ops@bank", T0 + 5 * DAY_MS},
        {CAMPAIGN_WITHDRAW, CAMPAIGN_PUBLISHED, CAMPAIGN_WITHDRAWN, "rita", T0 + 6 * DAY_MS},
    };
    assert_int_equal(c->n_history, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < c->n_history; i++) {
        assert_int_equal(c->history[i].action, want[i].a);
        assert_int_equal(c->history[i].from, want[i].from);
        assert_int_equal(c->history[i].to, want[i].to);
        assert_string_equal(c->history[i].by, want[i].by);
        assert_int_equal(c->history[i].at_ms, want[i].at);
    }
    assert_string_equal(c->history[2].note, "the FAQ needs a fee answer");
    assert_null(c->history[1].note);
    assert_int_equal(c->revision, 7);

    /* Approved straight to withdrawn is allowed and does not move the
     * version: halls never had it. */
    s_add(w->cal, w->org, s_doc("summer"));
    s_step(w->cal, "summer", CAMPAIGN_SUBMIT, "alice", T0);
    s_step(w->cal, "summer", CAMPAIGN_APPROVE, "rita", T0);
    s_step(w->cal, "summer", CAMPAIGN_WITHDRAW, "rita", T0);
    assert_int_equal(campaign_calendar_version(w->cal), 2);
    assert_int_equal(campaign_calendar_find(w->cal, "summer")->state, CAMPAIGN_WITHDRAWN);

    /* Unknown ids, steps that are not lifecycle steps, bad actors. */
    assert_int_equal(campaign_calendar_transition(w->cal, "nope", CAMPAIGN_SUBMIT, "alice", T0,
                                                  NULL, err, sizeof err),
                     HB_ENOTFOUND);
    assert_string_equal(err, "id: no campaign \"nope\"");
    s_add(w->cal, w->org, s_doc("autumn"));
    assert_int_equal(campaign_calendar_transition(w->cal, "autumn", CAMPAIGN_EDIT, "alice", T0,
                                                  NULL, err, sizeof err),
                     HB_EINVAL);
    assert_string_equal(err, "action: edit is not a lifecycle step");
    assert_int_equal(campaign_calendar_transition(w->cal, "autumn", CAMPAIGN_CREATE, "alice", T0,
                                                  NULL, err, sizeof err),
                     HB_EINVAL);
    assert_int_equal(campaign_calendar_transition(w->cal, "autumn", CAMPAIGN_SUBMIT, "", T0, NULL,
                                                  err, sizeof err),
                     HB_EINVAL);
    assert_string_equal(err, "by: a user id is [A-Za-z0-9_.@-]{1,64}");
    assert_int_equal(campaign_calendar_transition(w->cal, "autumn", CAMPAIGN_SUBMIT, "alice", -1,
                                                  NULL, err, sizeof err),
                     HB_EINVAL);
    char note[CAMPAIGN_NOTE_MAX + 2];
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    assert_int_equal(campaign_calendar_transition(w->cal, "autumn", CAMPAIGN_SUBMIT, "alice", T0,
                                                  note, err, sizeof err),
                     HB_EINVAL);
    assert_string_equal(err, "note: 501 bytes, at most 500");
    assert_int_equal(campaign_calendar_find(w->cal, "autumn")->state, CAMPAIGN_DRAFT);

    /* Names both ways. */
    campaign_state_t st;
    campaign_action_t ac;
    assert_int_equal(campaign_state_parse("approved", &st), 0);
    assert_int_equal(st, CAMPAIGN_APPROVED);
    assert_int_equal(campaign_state_parse("live", &st), HB_EINVAL);
    assert_int_equal(campaign_action_parse("withdraw", &ac), 0);
    assert_int_equal(ac, CAMPAIGN_WITHDRAW);
    assert_string_equal(campaign_state_name(CAMPAIGN_PUBLISHED), "published");
    assert_string_equal(campaign_action_name(CAMPAIGN_RETURN), "return");
}

HBT_TEST(test_publish_approved)
{
    world_t *w = *state;
    char err[256] = "";
    size_t n = 99;
    assert_int_equal(campaign_calendar_publish_approved(w->cal, "ops", T0, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(campaign_calendar_version(w->cal), 0);
    const char *ids[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        s_add(w->cal, w->org, s_doc(ids[i]));
        s_step(w->cal, ids[i], CAMPAIGN_SUBMIT, "alice", T0);
    }
    s_step(w->cal, "a", CAMPAIGN_APPROVE, "rita", T0);
    s_step(w->cal, "c", CAMPAIGN_APPROVE, "rita", T0);
    assert_int_equal(campaign_calendar_publish_approved(w->cal, "ops", T0 + 1, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(campaign_calendar_version(w->cal), 1); /* one version for the batch */
    assert_int_equal(campaign_calendar_find(w->cal, "a")->state, CAMPAIGN_PUBLISHED);
    assert_int_equal(campaign_calendar_find(w->cal, "b")->state, CAMPAIGN_SUBMITTED);
    assert_int_equal(campaign_calendar_find(w->cal, "c")->state, CAMPAIGN_PUBLISHED);
    assert_int_equal(campaign_calendar_find(w->cal, "c")->published_ms, T0 + 1);
}

HBT_TEST(test_edit_and_remove)
{
    world_t *w = *state;
    char err[256] = "";
    s_add(w->cal, w->org, s_doc("spring"));
    const campaign_t *c = campaign_calendar_find(w->cal, "spring");

    json_t *d = s_doc_with("spring", "title", "\"Spring savings, second draft\"");
    assert_int_equal(campaign_calendar_edit(w->cal, w->org, d, "alice", T0 + 10, err, sizeof err),
                     0);
    json_decref(d);
    assert_string_equal(c->doc.title, "Spring savings, second draft");
    assert_int_equal(c->revision, 2);
    assert_int_equal(c->n_history, 2);
    assert_int_equal(c->history[1].action, CAMPAIGN_EDIT);
    /* Saved again by the same author: still one edit step, a new revision. */
    d = s_doc_with("spring", "scope", "{\"regions\": [\"C12\"]}");
    assert_int_equal(campaign_calendar_edit(w->cal, w->org, d, "alice", T0 + 20, err, sizeof err),
                     0);
    json_decref(d);
    assert_int_equal(c->revision, 3);
    assert_int_equal(c->n_history, 2);
    assert_int_equal(c->history[1].at_ms, T0 + 20);
    assert_int_equal(c->scope->n_regions, 1);
    assert_string_equal(c->doc.title, "Spring savings"); /* the whole document is replaced */
    /* Another author's edit is its own step. */
    d = s_doc("spring");
    assert_int_equal(campaign_calendar_edit(w->cal, w->org, d, "bob", T0 + 30, err, sizeof err), 0);
    assert_int_equal(c->n_history, 3);
    /* An edit that fails validation changes nothing. */
    json_t *bad = s_doc_with("spring", "scope", "{\"regions\": [\"P2\"]}");
    assert_int_equal(campaign_calendar_edit(w->cal, w->org, bad, "bob", T0 + 40, err, sizeof err),
                     HB_EINVAL);
    assert_string_equal(err, "scope.regions[0]: region \"P2\" is outside the owner region \"P1\"");
    json_decref(bad);
    assert_int_equal(c->revision, 4);
    assert_int_equal(c->scope->n_regions, 0);

    /* Only drafts are edited. */
    s_step(w->cal, "spring", CAMPAIGN_SUBMIT, "alice", T0 + 50);
    assert_int_equal(campaign_calendar_edit(w->cal, w->org, d, "bob", T0 + 60, err, sizeof err),
                     HB_ECONFLICT);
    assert_string_equal(err, "campaign spring is submitted: only a draft can be edited (return it "
                             "to draft first)");
    s_step(w->cal, "spring", CAMPAIGN_APPROVE, "rita", T0 + 70);
    assert_int_equal(campaign_calendar_edit(w->cal, w->org, d, "bob", T0 + 60, err, sizeof err),
                     HB_ECONFLICT);
    assert_string_equal(err, "campaign spring is approved: only a draft can be edited");
    json_decref(d);
    d = s_doc("nope");
    assert_int_equal(campaign_calendar_edit(w->cal, w->org, d, "bob", T0, err, sizeof err),
                     HB_ENOTFOUND);
    json_decref(d);

    /* Removal: drafts only, and not a parent. */
    s_add(w->cal, w->org, s_doc("draft1"));
    s_add(w->cal, w->org, s_doc_with("draft2", "parent", "\"draft1\""));
    s_add(w->cal, w->org, s_doc("draft3"));
    assert_int_equal(campaign_calendar_remove(w->cal, "spring", err, sizeof err), HB_ECONFLICT);
    assert_string_equal(err,
                        "campaign spring is approved: only a draft can be removed (withdraw it "
                        "instead)");
    assert_int_equal(campaign_calendar_remove(w->cal, "draft1", err, sizeof err), HB_ECONFLICT);
    assert_string_equal(err, "campaign draft1 is the parent of draft2");
    assert_int_equal(campaign_calendar_remove(w->cal, "nope", err, sizeof err), HB_ENOTFOUND);
    assert_int_equal(campaign_calendar_remove(w->cal, "draft2", err, sizeof err), 0);
    assert_null(campaign_calendar_find(w->cal, "draft2"));
    assert_int_equal(campaign_calendar_remove(w->cal, "draft1", err, sizeof err), 0);
    assert_int_equal(campaign_calendar_count(w->cal), 2);
    assert_non_null(campaign_calendar_find(w->cal, "draft3"));
    assert_non_null(campaign_calendar_find(w->cal, "spring"));
    assert_non_null(campaign_calendar_at(w->cal, 1));
    assert_null(campaign_calendar_at(w->cal, 2));
}

static json_t *s_through_text(const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    json_t *back = hbt_json(text);
    free(text);
    return back;
}

/* Reads `rec` back from its text form with `from` into *`out` (NULL
 * before) and checks that `to` writes the same JSON again: for a campaign
 * and for a whole calendar, which share no type a function could take. */
#define ROUND_TRIP(rec, from, to, out)                                                             \
    do {                                                                                           \
        json_t *text_ = s_through_text(rec);                                                       \
        char why_[256] = "";                                                                       \
        if ((from)(text_, (out), why_, sizeof why_) != 0)                                          \
            fail_msg("%s refused what it wrote: %s", #from, why_);                                 \
        json_t *again_ = (to)(*(out));                                                             \
        assert_true(json_equal((rec), again_));                                                    \
        json_decref(again_);                                                                       \
        json_decref(text_);                                                                        \
    } while (0)

HBT_TEST(test_json_round_trip)
{
    world_t *w = *state;
    char err[256] = "";
    json_t *d = s_doc("spring");
    json_object_set_new(d, "faq",
                        hbt_json("[{\"question\": \"Fees?\", \"answer\": \"\"},"
                                 " {\"question\": \"Who?\", \"answer\": \"Anyone.\"}]"));
    json_object_set_new(d, "scope",
                        hbt_json("{\"regions\": [\"C11\"], \"halls\": [\"H3\"], "
                                 "\"tags\": [\"flagship\", \"rural\"]}"));
    s_add(w->cal, w->org, d);
    s_add(w->cal, w->org, s_doc_with("child", "parent", "\"spring\""));
    s_step(w->cal, "spring", CAMPAIGN_SUBMIT, "alice", T0 + 1);
    assert_int_equal(campaign_calendar_transition(w->cal, "spring", CAMPAIGN_RETURN, "rita", T0 + 2,
                                                  "no fee answer \"yet\" \xe2\x80\x94 fix it", err,
                                                  sizeof err),
                     0);
    s_step(w->cal, "spring", CAMPAIGN_SUBMIT, "alice", T0 + 3);
    s_step(w->cal, "spring", CAMPAIGN_APPROVE, "rita", T0 + 4);
    s_step(w->cal, "spring", CAMPAIGN_PUBLISH, "ops", T0 + 5);
    const campaign_t *c = campaign_calendar_find(w->cal, "spring");

    /* One campaign: stored form out, through text, in, out again. */
    json_t *rec = campaign_to_json(c);
    assert_string_equal(json_string_value(json_object_get(rec, "state")), "published");
    assert_int_equal(json_array_size(json_object_get(rec, "history")), 6);
    campaign_t *back = NULL;
    ROUND_TRIP(rec, campaign_from_json, campaign_to_json, &back);
    assert_int_equal(back->state, CAMPAIGN_PUBLISHED);
    assert_int_equal(back->published_ms, T0 + 5);
    assert_int_equal(back->revision, c->revision);
    assert_string_equal(back->history[2].note, c->history[2].note);
    assert_string_equal(back->doc.faq[0].answer, "");
    campaign_destroy(&back);

    /* The author's form parses back into the same document. */
    json_t *doc = campaign_document_to_json(c);
    assert_null(json_object_get(doc, "state"));
    campaign_t *draft = NULL;
    assert_int_equal(campaign_parse(doc, &draft, err, sizeof err), 0);
    json_t *doc2 = campaign_document_to_json(draft);
    assert_true(json_equal(doc, doc2));
    campaign_destroy(&draft);

    /* A parsed draft with no history is a valid stored form too. */
    assert_int_equal(campaign_parse(doc, &draft, err, sizeof err), 0);
    json_t *fresh = campaign_to_json(draft);
    assert_int_equal(campaign_from_json(fresh, &back, err, sizeof err), 0);
    campaign_destroy(&back);
    campaign_destroy(&draft);
    json_decref(fresh);

    /* The whole calendar. */
    json_t *all = campaign_calendar_to_json(w->cal);
    assert_int_equal(json_integer_value(json_object_get(all, "version")), 1);
    campaign_calendar_t *cal2 = NULL;
    ROUND_TRIP(all, campaign_calendar_from_json, campaign_calendar_to_json, &cal2);
    assert_int_equal(campaign_calendar_version(cal2), 1);
    assert_int_equal(campaign_calendar_count(cal2), 2);
    assert_true(campaign_calendar_is_ancestor(cal2, campaign_calendar_find(cal2, "spring"),
                                              campaign_calendar_find(cal2, "child")));

    json_decref(rec);
    json_decref(doc);
    json_decref(doc2);
    json_decref(all);
    campaign_calendar_destroy(&cal2);
}

/* The stored form of a campaign created and submitted, with `key` of
 * history[i] set to `value` (JSON; NULL deletes). */
static json_t *s_record_with(int i, const char *key, const char *value)
{
    json_t *rec = s_doc("r");
    json_object_set_new(rec, "state", json_string("submitted"));
    json_object_set_new(rec, "revision", json_integer(2));
    json_object_set_new(
        rec, "history",
        hbt_json("[{\"action\": \"create\", \"from\": \"draft\", \"to\": \"draft\","
                 "  \"by\": \"alice\", \"at_ms\": 1000},"
                 " {\"action\": \"submit\", \"from\": \"draft\", \"to\": \"submitted\","
                 "  \"by\": \"alice\", \"at_ms\": 2000}]"));
    if (i >= 0)
        s_set_member(json_array_get(json_object_get(rec, "history"), (size_t)i), key, value);
    return rec;
}

static void s_record_refused(json_t *rec, const char *want)
{
    s_refused(campaign_from_json, rec, want);
}

HBT_TEST_IN(test_record_refusals, NULL, NULL)
{
    (void)state;
    campaign_t *c = NULL;
    json_t *rec = s_record_with(-1, NULL, NULL);
    assert_int_equal(campaign_from_json(rec, &c, NULL, 0), 0);
    assert_int_equal(c->state, CAMPAIGN_SUBMITTED);
    campaign_destroy(&c);
    json_object_set_new(rec, "state", json_string("approved"));
    s_record_refused(rec, "state: \"approved\", but the history ends in \"submitted\"");
    rec = s_record_with(-1, NULL, NULL);
    json_object_set_new(rec, "state", json_string("live"));
    s_record_refused(rec, "state: must be one of draft, submitted, approved, published, withdrawn");
    rec = s_record_with(-1, NULL, NULL);
    json_object_del(rec, "revision");
    s_record_refused(rec, "revision: must be an integer >= 1");
    rec = s_record_with(-1, NULL, NULL);
    json_object_set_new(rec, "history", json_array());
    s_record_refused(rec, "history: empty, but the campaign is submitted");
    rec = s_record_with(-1, NULL, NULL);
    json_object_del(rec, "history");
    s_record_refused(rec, "history: missing");
    s_record_refused(s_record_with(0, "action", "\"submit\""),
                     "history[0].action: the history starts with create");
    s_record_refused(s_record_with(1, "action", "\"create\""),
                     "history[1].action: create comes only first");
    s_record_refused(
        s_record_with(1, "action", "\"approve\""),
        "history[1]: approve from draft to submitted is not a step of the lifecycle here");
    s_record_refused(
        s_record_with(1, "to", "\"published\""),
        "history[1]: submit from draft to published is not a step of the lifecycle here");
    s_record_refused(s_record_with(1, "at_ms", "999"),
                     "history[1].at_ms: earlier than the step before");
    s_record_refused(s_record_with(1, "at_ms", "-1"),
                     "history[1].at_ms: must be an integer >= 0 (ms since the epoch)");
    s_record_refused(s_record_with(1, "by", NULL),
                     "history[1].by: a user id is [A-Za-z0-9_.@-]{1,64}");
    s_record_refused(s_record_with(1, "why", "\"x\""), "history[1].why: unknown member");
    s_record_refused(s_record_with(1, "note", "5"),
                     "history[1].note: must be a string of at most 500 bytes");
    s_record_refused(s_record_with(1, "from", "\"nowhere\""),
                     "history[1]: \"from\" and \"to\" must be states (draft, submitted, approved, "
                     "published, withdrawn)");

    /* Calendars: duplicates, unknown parents, an unpublished version. */
    campaign_calendar_t *cal = NULL;
    char err[256] = "";
    json_t *r1 = s_record_with(-1, NULL, NULL);
    json_t *doc = json_pack("{s:i, s:[O, O]}", "version", 1, "campaigns", r1, r1);
    assert_int_equal(campaign_calendar_from_json(doc, &cal, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "campaigns[1].id: \"r\" given twice");
    json_decref(doc);
    json_object_set_new(r1, "parent", json_string("ghost"));
    doc = json_pack("{s:i, s:[O]}", "version", 1, "campaigns", r1);
    assert_int_equal(campaign_calendar_from_json(doc, &cal, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "campaign r: parent: unknown campaign \"ghost\"");
    json_decref(doc);
    json_object_del(r1, "parent");
    json_object_set_new(r1, "title", json_string(""));
    doc = json_pack("{s:i, s:[O]}", "version", 1, "campaigns", r1);
    assert_int_equal(campaign_calendar_from_json(doc, &cal, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "campaigns[0].title: must not be empty");
    json_decref(doc);
    json_decref(r1);
    doc = hbt_json("{\"version\": 0, \"campaigns\": [], \"extra\": 1}");
    assert_int_equal(campaign_calendar_from_json(doc, &cal, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "calendar.extra: unknown member");
    json_decref(doc);
    doc = hbt_json("{\"version\": -1, \"campaigns\": []}");
    assert_int_equal(campaign_calendar_from_json(doc, &cal, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "version: must be an integer >= 0");
    json_decref(doc);
    assert_null(cal);
}

/* Collects what campaign_calendar_slices hands out. */
typedef struct seen {
    size_t halls;
    json_t *by_hall;
} seen_t;

static int s_collect(const org_hall_t *hall, json_t *slice, const char *problem, void *ud)
{
    seen_t *s = ud;
    assert_non_null(slice);
    assert_null(problem);
    s->halls++;
    json_object_set_new(s->by_hall, hall->id, slice);
    return 0;
}

static int s_stop(const org_hall_t *hall, json_t *slice, const char *problem, void *ud)
{
    (void)hall;
    (void)problem;
    (*(int *)ud)++;
    json_decref(slice);
    return 42;
}

HBT_TEST(test_slices)
{
    world_t *w = *state;
    char err[256] = "";
    json_t *out = NULL;
    s_add(w->cal, w->org, s_doc("p1-all")); /* H1, H2, H3 */
    json_t *d = s_doc_with("c11-flagship", "region", "\"C11\"");
    json_object_set_new(d, "level", json_string("city"));
    json_object_set_new(d, "scope", hbt_json("{\"tags\": [\"flagship\"]}"));
    s_add(w->cal, w->org, d); /* H1 */
    d = s_doc_with("old", "start", "\"2027-01-01\"");
    json_object_set_new(d, "end", json_string("2027-01-31"));
    s_add(w->cal, w->org, d); /* H1, H2, H3, but over before March */
    s_add(w->cal, w->org, s_doc("draft-only"));

    assert_int_equal(
        campaign_calendar_slice(w->cal, w->org, "H1", MAR_01_2027, &out, err, sizeof err),
        HB_ENOTFOUND);
    assert_string_equal(err, "calendar: nothing has been published yet");
    const char *pub[] = {"p1-all", "c11-flagship", "old"};
    for (int i = 0; i < 3; i++) {
        s_step(w->cal, pub[i], CAMPAIGN_SUBMIT, "alice", T0);
        s_step(w->cal, pub[i], CAMPAIGN_APPROVE, "rita", T0);
        s_step(w->cal, pub[i], CAMPAIGN_PUBLISH, "ops", T0);
    }
    assert_int_equal(campaign_calendar_version(w->cal), 3);

    assert_int_equal(
        campaign_calendar_slice(w->cal, w->org, "H1", MAR_01_2027, &out, err, sizeof err), 0);
    hb_cal_slice_t *s = NULL;
    assert_int_equal(hb_cal_slice_parse(out, &s, err, sizeof err), 0);
    assert_int_equal(s->version, 3);
    assert_string_equal(s->hall, "H1");
    assert_int_equal(s->n, 2);
    assert_non_null(hb_cal_slice_find(s, "p1-all"));
    assert_non_null(hb_cal_slice_find(s, "c11-flagship"));
    assert_null(hb_cal_slice_find(s, "old"));
    assert_null(hb_cal_slice_find(s, "draft-only"));
    hb_cal_slice_destroy(&s);
    json_decref(out);
    /* From an earlier day the old campaign is still in. */
    assert_int_equal(
        campaign_calendar_slice(w->cal, w->org, "H3", MAR_01_2027 - 40, &out, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(out, "campaigns")), 2);
    json_decref(out);
    /* A hall no campaign reaches still gets its (empty) slice and version. */
    assert_int_equal(
        campaign_calendar_slice(w->cal, w->org, "H4", MAR_01_2027, &out, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(out, "campaigns")), 0);
    json_decref(out);
    assert_int_equal(
        campaign_calendar_slice(w->cal, w->org, "H9", MAR_01_2027, &out, err, sizeof err),
        HB_ENOTFOUND);
    assert_string_equal(err, "hall: unknown hall \"H9\"");

    /* Every hall at once gives the same slices. */
    seen_t seen = {0, json_object()};
    assert_int_equal(
        campaign_calendar_slices(w->cal, w->org, MAR_01_2027, s_collect, &seen, err, sizeof err),
        0);
    assert_int_equal(seen.halls, 4);
    const char *halls[] = {"H1", "H2", "H3", "H4"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(
            campaign_calendar_slice(w->cal, w->org, halls[i], MAR_01_2027, &out, err, sizeof err),
            0);
        assert_true(json_equal(out, json_object_get(seen.by_hall, halls[i])));
        json_decref(out);
    }
    json_decref(seen.by_hall);
    int calls = 0;
    assert_int_equal(
        campaign_calendar_slices(w->cal, w->org, MAR_01_2027, s_stop, &calls, err, sizeof err), 42);
    assert_int_equal(calls, 1);

    /* Withdrawn: gone from the next version's slices. */
    s_step(w->cal, "c11-flagship", CAMPAIGN_WITHDRAW, "rita", T0);
    assert_int_equal(
        campaign_calendar_slice(w->cal, w->org, "H1", MAR_01_2027, &out, err, sizeof err), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 4);
    assert_int_equal(json_array_size(json_object_get(out, "campaigns")), 1);
    json_decref(out);
}

HBT_TEST(test_slice_bound)
{
    world_t *w = *state;
    /* One hall with more published campaigns than a slice holds. */
    char err[256] = "";
    for (int i = 0; i <= HB_CAL_SLICE_MAX; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", i);
        s_add(w->cal, w->org, s_doc(id));
        s_step(w->cal, id, CAMPAIGN_SUBMIT, "alice", T0);
        s_step(w->cal, id, CAMPAIGN_APPROVE, "rita", T0);
    }
    assert_int_equal(campaign_calendar_publish_approved(w->cal, "ops", T0, NULL, err, sizeof err),
                     0);
    json_t *out = NULL;
    assert_int_equal(
        campaign_calendar_slice(w->cal, w->org, "H1", MAR_01_2027, &out, err, sizeof err),
        HB_ETOOBIG);
    assert_string_equal(err, "hall H1: more than 200 published campaigns from this day on");
    assert_null(out);
    /* H4 is in P2: untouched by P1's campaigns, so its slice builds. */
    assert_int_equal(
        campaign_calendar_slice(w->cal, w->org, "H4", MAR_01_2027, &out, err, sizeof err), 0);
    json_decref(out);
}

/* What a review judged is kept with the campaign: the document at the last
 * return or approval, by whom and when; edits after it leave it as it was,
 * the next verdict replaces it, and it survives the stored form. */
HBT_TEST(test_last_reviewed)
{
    (void)state;
    org_t *org = hbt_org(s_org_text);
    campaign_calendar_t *cal = campaign_calendar_new();
    char err[256] = "";
    s_add(cal, org, s_doc("spring"));
    const campaign_t *c = campaign_calendar_find(cal, "spring");
    s_step(cal, "spring", CAMPAIGN_SUBMIT, "alice", T0 + 1);
    assert_null(c->reviewed); /* submitted, not yet reviewed */
    assert_int_equal(campaign_calendar_transition(cal, "spring", CAMPAIGN_RETURN, "rita", T0 + 2,
                                                  "explain the rate", err, sizeof err),
                     0);
    assert_non_null(c->reviewed);
    assert_int_equal(c->reviewed_action, CAMPAIGN_RETURN);
    assert_string_equal(c->reviewed_by, "rita");
    assert_int_equal(c->reviewed_ms, T0 + 2);
    assert_int_equal(c->reviewed_revision, c->revision);
    assert_string_equal(json_string_value(json_object_get(c->reviewed, "title")), "Spring savings");
    /* The author edits and submits again: the kept document does not move. */
    json_t *d = s_doc_with("spring", "title", "\"Spring savings at 3%\"");
    assert_int_equal(campaign_calendar_edit(cal, org, d, "alice", T0 + 3, err, sizeof err), 0);
    json_decref(d);
    s_step(cal, "spring", CAMPAIGN_SUBMIT, "alice", T0 + 4);
    assert_string_equal(json_string_value(json_object_get(c->reviewed, "title")), "Spring savings");
    json_t *rec = campaign_to_json(c);
    json_t *lr = json_object_get(rec, "last_reviewed");
    assert_string_equal(json_string_value(json_object_get(lr, "action")), "return");
    assert_string_equal(json_string_value(json_object_get(lr, "by")), "rita");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(lr, "document"), "title")),
        "Spring savings");
    /* Through the stored form and back: the same record. */
    campaign_t *back = NULL;
    json_t *text = s_through_text(rec);
    assert_int_equal(campaign_from_json(text, &back, err, sizeof err), 0);
    json_t *again = campaign_to_json(back);
    assert_true(json_equal(again, rec));
    json_decref(again);
    json_decref(text);
    campaign_destroy(&back);
    /* A submit, a publish, a withdraw are no verdicts; an approval is. */
    s_step(cal, "spring", CAMPAIGN_APPROVE, "rita", T0 + 5);
    assert_int_equal(c->reviewed_action, CAMPAIGN_APPROVE);
    assert_string_equal(json_string_value(json_object_get(c->reviewed, "title")),
                        "Spring savings at 3%");
    s_step(cal, "spring", CAMPAIGN_PUBLISH, "ops", T0 + 6);
    assert_int_equal(c->reviewed_action, CAMPAIGN_APPROVE);
    assert_int_equal(c->reviewed_ms, T0 + 5);

    /* A stored last_reviewed is read strictly. */
    static const struct {
        const char *value, *want;
    } bad[] = {
        {"[]", "last_reviewed: must be an object {action, by, at_ms, revision, document}"},
        {"{\"action\": \"submit\", \"by\": \"rita\", \"at_ms\": 1, \"revision\": 1, \"document\": "
         "{}}",
         "last_reviewed.action: must be \"return\" or \"approve\""},
        {"{\"action\": \"return\", \"by\": \"r ita\", \"at_ms\": 1, \"revision\": 1, \"document\": "
         "{}}",
         "last_reviewed.by: a user id is [A-Za-z0-9_.@-]{1,64}"},
        {"{\"action\": \"return\", \"by\": \"rita\", \"at_ms\": -1, \"revision\": 1, \"document\": "
         "{}}",
         "last_reviewed: at_ms must be >= 0 and revision 1..2"},
        {"{\"action\": \"return\", \"by\": \"rita\", \"at_ms\": 1, \"revision\": 9, \"document\": "
         "{}}",
         "last_reviewed: at_ms must be >= 0 and revision 1..2"},
        {"{\"action\": \"return\", \"by\": \"rita\", \"at_ms\": 1, \"revision\": 1, \"document\": "
         "3}",
         "last_reviewed.document.campaign: must be an object"},
        {"{\"action\": \"return\", \"by\": \"rita\", \"at_ms\": 1, \"revision\": 1, \"x\": 1, "
         "\"document\": {}}",
         "last_reviewed.x: unknown member"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *r = s_record_with(-1, NULL, NULL);
        s_set_member(r, "last_reviewed", bad[i].value);
        s_record_refused(r, bad[i].want);
    }
    /* Another campaign's document is not this one's review. */
    json_t *r = s_record_with(-1, NULL, NULL);
    json_t *other =
        json_pack("{s:s, s:s, s:I, s:I, s:o}", "action", "return", "by", "rita", "at_ms",
                  (json_int_t)1, "revision", (json_int_t)1, "document", s_doc("elsewhere"));
    json_object_set_new(r, "last_reviewed", other);
    s_record_refused(r, "last_reviewed.document.id: \"elsewhere\", not this campaign's");
    json_decref(rec);
    campaign_calendar_destroy(&cal);
    org_destroy(&org);
}
