/* Unit tests of hqd/control/calcheck.c, the coordination check: each rule with a
 * calendar that passes and one that fails; the parent (ancestor) exemption
 * of rules 3 and 4; rule 4 as a warning or, by the halls' policy, an error;
 * rule 6 from today and from a recorded publish date; a calendar with many
 * findings reported at once in a fixed order; the glossary's matching. */
#include "calcheck.h"

#include "hallbus/error.h"
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

#define DAY_MS 86400000LL
#define MAR_01 20878                              /* 2027-03-01 */
#define FEB_01 (MAR_01 - 28)                      /* today in most tests */
#define T_EARLY ((int64_t)(FEB_01 - 30) * DAY_MS) /* when drafts were made */

/* CN -> P1 (C11: H1 H2 H3, C12: H4 H5), P2 (C21: H6 H7). H1 and H6 are
 * flagships. */
static const char *s_org_text =
    HBT_ORG_REGIONS " \"halls\": ["
                    " {\"id\": \"H1\", \"city\": \"C11\", \"tags\": [\"flagship\"]},"
                    " {\"id\": \"H2\", \"city\": \"C11\"}, {\"id\": \"H3\", \"city\": \"C11\"},"
                    " {\"id\": \"H4\", \"city\": \"C12\"}, {\"id\": \"H5\", \"city\": \"C12\"},"
                    " {\"id\": \"H6\", \"city\": \"C21\", \"tags\": [\"flagship\"]}, {\"id\": "
                    "\"H7\", \"city\": \"C21\"}]}";

typedef struct fx {
    org_t *org;
    campaign_calendar_t *cal;
    calcheck_glossary_t *glossary;
    calcheck_limits_t limits[7];
    bool use_limits;
    int32_t today;
    calcheck_report_t *rep;
} fx_t;

static int s_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->org = hbt_org(s_org_text);
    f->cal = campaign_calendar_new();
    f->glossary = calcheck_glossary_new();
    for (int i = 0; i < 7; i++)
        f->limits[i] = CALCHECK_LIMITS_DEFAULT;
    f->today = FEB_01;
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fx_t *f = *state;
    calcheck_report_destroy(&f->rep);
    calcheck_glossary_destroy(&f->glossary);
    campaign_calendar_destroy(&f->cal);
    org_destroy(&f->org);
    free(f);
    return 0;
}

static json_t *s_campaign_doc(const char *id, const char *level, const char *region, int32_t start,
                              int32_t end, const char *extra)
{
    char s[11], e[11], product[80];
    hb_date_format(start, s);
    hb_date_format(end, e);
    snprintf(product, sizeof product, "product-of-%s", id);
    json_t *d = json_pack(
        "{s:s, s:s, s:s, s:s, s:{}, s:s, s:s, s:[s], s:[], s:s, s:[s], s:{s:s}, s:[{s:s, s:s}]}",
        "id", id, "title", id, "level", level, "region", region, "scope", "start", s, "end", e,
        "products", product, "business_types", "segment", "retail", "channels", "kiosk", "texts",
        "kiosk", "Plain words only.", "faq", "question", "Who can join?", "answer",
        "Every customer.");
    assert_non_null(d);
    if (extra) {
        json_t *x = hbt_json(extra);
        json_object_update(d, x);
        json_decref(x);
    }
    return d;
}

/* Adds a campaign and walks it to `state`; a published one is published
 * at `published_ms`. `extra` (JSON, may be NULL) replaces members. */
static void s_put(fx_t *f, const char *id, const char *level, const char *region, int32_t start,
                  int32_t end, const char *extra, campaign_state_t state, int64_t published_ms)
{
    char err[256] = "";
    json_t *d = s_campaign_doc(id, level, region, start, end, extra);
    if (campaign_calendar_add(f->cal, f->org, d, "author", T_EARLY, NULL, err, sizeof err) != 0)
        fail_msg("%s refused: %s", id, err);
    json_decref(d);
    static const campaign_action_t path[] = {CAMPAIGN_SUBMIT, CAMPAIGN_APPROVE, CAMPAIGN_PUBLISH,
                                             CAMPAIGN_WITHDRAW};
    for (int i = 0; i < (int)state; i++) {
        int64_t at = path[i] == CAMPAIGN_PUBLISH ? published_ms : T_EARLY;
        if (campaign_calendar_transition(f->cal, id, path[i], "reviewer", at, NULL, err,
                                         sizeof err) != 0)
            fail_msg("%s: %s", id, err);
    }
}

static const calcheck_report_t *s_check_with(fx_t *f, const campaign_t *candidate)
{
    calcheck_report_destroy(&f->rep);
    calcheck_input_t in = {
        .org = f->org,
        .cal = f->cal,
        .candidate = candidate,
        .limits = f->use_limits ? f->limits : NULL,
        .n_limits = f->use_limits ? 7 : 0,
        .glossary = f->glossary,
        .today = f->today,
    };
    char err[256] = "";
    if (calcheck_run(&in, &f->rep, err, sizeof err) != 0)
        fail_msg("check failed: %s", err);
    return f->rep;
}

static const calcheck_report_t *s_check(fx_t *f) { return s_check_with(f, NULL); }

static size_t s_count(const calcheck_report_t *r, calcheck_rule_t rule)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->findings[i].rule == rule;
    return n;
}

/* The only finding of `rule`. */
static const calcheck_finding_t *s_one(const calcheck_report_t *r, calcheck_rule_t rule)
{
    const calcheck_finding_t *found = NULL;
    for (size_t i = 0; i < r->n; i++) {
        if (r->findings[i].rule != rule)
            continue;
        if (found)
            fail_msg("more than one finding of rule %d", rule);
        found = &r->findings[i];
    }
    if (!found)
        fail_msg("no finding of rule %d", rule);
    return found;
}

static void s_campaigns_are(const calcheck_finding_t *f, const char *a, const char *b,
                            const char *c)
{
    const char *want[3] = {a, b, c};
    size_t n = c ? 3 : b ? 2 : 1;
    assert_int_equal(f->n_campaigns, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(f->campaigns[i], want[i]);
}

static void s_days_are(const calcheck_finding_t *f, int32_t first, int32_t last)
{
    assert_int_equal(f->first_day, first);
    assert_int_equal(f->last_day, last);
}

static void s_dump(const calcheck_report_t *r)
{
    json_t *j = calcheck_report_to_json(r);
    char *text = json_dumps(j, JSON_INDENT(1));
    print_message("%s\n", text);
    free(text);
    json_decref(j);
}

/* --------------------------------------------------------------------- */

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_clean_calendar)
{
    fx_t *f = *state;
    s_put(f, "national", "head_office", "CN", MAR_01, MAR_01 + 30, NULL, CAMPAIGN_PUBLISHED,
          T_EARLY);
    s_put(f, "north", "province", "P1", MAR_01 + 5, MAR_01 + 20, "{\"parent\": \"national\"}",
          CAMPAIGN_APPROVED, 0);
    s_put(f, "harbour", "city", "C11", MAR_01 + 10, MAR_01 + 12, "{\"parent\": \"north\"}",
          CAMPAIGN_SUBMITTED, 0);
    /* Drafts and withdrawn campaigns are not the calendar: these two would
     * break rule 2 and rule 1 if they counted. */
    s_put(f, "draft", "city", "C11", MAR_01 + 10, MAR_01 + 12, "{\"faq\": []}", CAMPAIGN_DRAFT, 0);
    s_put(f, "gone", "city", "C11", MAR_01 + 10, MAR_01 + 12, "{\"faq\": []}", CAMPAIGN_WITHDRAWN,
          T_EARLY);
    const calcheck_report_t *r = s_check(f);
    if (r->n)
        s_dump(r);
    assert_int_equal(r->n, 0);
    assert_int_equal(r->errors, 0);
    assert_int_equal(r->warnings, 0);
    assert_int_equal(r->campaigns_checked, 3);
    json_t *j = calcheck_report_to_json(r);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_array_size(json_object_get(j, "findings")), 0);
    json_decref(j);
    assert_false(calcheck_report_blocks(r, "harbour"));
}

HBT_TEST(test_rule1_faq)
{
    fx_t *f = *state;
    s_put(f, "good", "city", "C11", MAR_01, MAR_01 + 3, NULL, CAMPAIGN_SUBMITTED, 0);
    s_put(f, "none", "city", "C12", MAR_01, MAR_01 + 3, "{\"faq\": []}", CAMPAIGN_SUBMITTED, 0);
    s_put(f, "blank", "city", "C21", MAR_01 + 2, MAR_01 + 9,
          "{\"faq\": [{\"question\": \"Fees?\", \"answer\": \"  \\u3000\\n\"},"
          "          {\"question\": \"Who?\", \"answer\": \"Anyone.\"},"
          "          {\"question\": \"\", \"answer\": \"\"}]}",
          CAMPAIGN_SUBMITTED, 0);
    const calcheck_report_t *r = s_check(f);
    assert_int_equal(s_count(r, CALCHECK_FAQ), 2);
    assert_int_equal(r->n, 2);
    /* Sorted by campaign id: "blank" before "none". */
    const calcheck_finding_t *b = &r->findings[0], *n = &r->findings[1];
    s_campaigns_are(b, "blank", NULL, NULL);
    assert_int_equal(b->severity, CALCHECK_ERROR);
    assert_string_equal(b->message,
                        "blank: faq[0] has no answer, faq[2] has no question or answer");
    assert_int_equal(b->n_halls, 2);
    assert_string_equal(b->sample[0], "H6");
    assert_string_equal(b->sample[1], "H7");
    s_days_are(b, MAR_01 + 2, MAR_01 + 9);
    s_campaigns_are(n, "none", NULL, NULL);
    assert_string_equal(n->message, "none has no FAQ: every campaign answers its customers' "
                                    "questions in plain language");
    assert_true(calcheck_report_blocks(r, "none"));
    assert_true(calcheck_report_blocks(r, "blank"));
    assert_false(calcheck_report_blocks(r, "good"));
}

HBT_TEST(test_rule2_concurrency)
{
    fx_t *f = *state;
    f->use_limits = true;
    for (int i = 0; i < 7; i++)
        f->limits[i].max_concurrent = 2;
    /* On C11 from Mar 8 to Mar 10 three campaigns run at once: the
     * province's, and two city ones that name it as parent (so that rules
     * 3 and 4 stay quiet). */
    s_put(f, "prov", "province", "P1", MAR_01, MAR_01 + 9, NULL, CAMPAIGN_PUBLISHED, T_EARLY);
    s_put(f, "city-a", "city", "C11", MAR_01 + 4, MAR_01 + 14, "{\"parent\": \"prov\"}",
          CAMPAIGN_APPROVED, 0);
    s_put(f, "city-b", "city", "C11", MAR_01 + 7, MAR_01 + 19, "{\"parent\": \"prov\"}",
          CAMPAIGN_SUBMITTED, 0);
    /* On C12 two at once is within the limit. */
    s_put(f, "hill", "city", "C12", MAR_01, MAR_01 + 3, "{\"parent\": \"prov\"}",
          CAMPAIGN_SUBMITTED, 0);
    const calcheck_report_t *r = s_check(f);
    if (r->n != 1)
        s_dump(r);
    const calcheck_finding_t *x = s_one(r, CALCHECK_CONCURRENCY);
    assert_int_equal(r->n, 1);
    s_campaigns_are(x, "city-a", "city-b", "prov");
    assert_int_equal(x->severity, CALCHECK_ERROR);
    assert_int_equal(x->n_halls, 3);
    assert_int_equal(x->n_sample, 3);
    assert_string_equal(x->sample[0], "H1");
    assert_string_equal(x->sample[2], "H3");
    s_days_are(x, MAR_01 + 7, MAR_01 + 9);
    assert_string_equal(x->message, "3 halls would run these 3 campaigns at once on days from "
                                    "2027-03-08 to 2027-03-10; their policy allows 2 at a time");
    assert_true(calcheck_report_blocks(r, "prov"));
    assert_false(calcheck_report_blocks(r, "hill"));

    /* One hall allowed three: two halls left, and the same set. */
    f->limits[0].max_concurrent = 3;
    r = s_check(f);
    x = s_one(r, CALCHECK_CONCURRENCY);
    assert_int_equal(x->n_halls, 2);
    assert_string_equal(x->sample[0], "H2");

    /* A fourth campaign on H2 only, Mar 9: H2 runs a different set that
     * day, reported apart; H3 still runs the three on Mar 8-10. */
    s_put(f, "pilot", "city", "C11", MAR_01 + 8, MAR_01 + 8,
          "{\"parent\": \"prov\", \"scope\": {\"halls\": [\"H2\"]}}", CAMPAIGN_SUBMITTED, 0);
    r = s_check(f);
    assert_int_equal(s_count(r, CALCHECK_CONCURRENCY), 2);
    /* By campaign ids: "city-a, city-b, pilot, prov" sorts first. */
    const calcheck_finding_t *four = &r->findings[0], *three = &r->findings[1];
    s_campaigns_are(three, "city-a", "city-b", "prov");
    assert_int_equal(three->n_halls, 2); /* H2 on the 8th and 10th, H3 on all three days */
    s_days_are(three, MAR_01 + 7, MAR_01 + 9);
    assert_int_equal(four->n_campaigns, 4);
    assert_string_equal(four->campaigns[2], "pilot");
    assert_int_equal(four->n_halls, 1);
    assert_string_equal(four->sample[0], "H2");
    s_days_are(four, MAR_01 + 8, MAR_01 + 8);

    /* With room for three everywhere, only H2's day of four remains; with
     * room for four, nothing. */
    for (int i = 0; i < 7; i++)
        f->limits[i].max_concurrent = 3;
    r = s_check(f);
    x = s_one(r, CALCHECK_CONCURRENCY);
    assert_int_equal(x->n_campaigns, 4);
    assert_string_equal(x->message, "1 halls would run these 4 campaigns at once on days from "
                                    "2027-03-09 to 2027-03-09; their policy allows 3 at a time");
    for (int i = 0; i < 7; i++)
        f->limits[i].max_concurrent = 4;
    r = s_check(f);
    assert_int_equal(r->n, 0);
    /* The defaults (3 at once) apply without limits. */
    f->use_limits = false;
    r = s_check(f);
    assert_int_equal(s_count(r, CALCHECK_CONCURRENCY), 1);
}

HBT_TEST(test_rule3_products)
{
    fx_t *f = *state;
    /* A province and a city campaign, both about savings-plus, in C11 from
     * Mar 5 to Mar 10, unrelated. */
    s_put(f, "prov", "province", "P1", MAR_01, MAR_01 + 9,
          "{\"products\": [\"savings-plus\", \"card\"], \"business_types\": [\"account_opening\"]}",
          CAMPAIGN_PUBLISHED, T_EARLY);
    s_put(f, "city", "city", "C11", MAR_01 + 4, MAR_01 + 19,
          "{\"products\": [\"savings-plus\"], \"business_types\": [\"account_opening\"]}",
          CAMPAIGN_SUBMITTED, 0);
    const calcheck_report_t *r = s_check(f);
    const calcheck_finding_t *x = s_one(r, CALCHECK_PRODUCT);
    s_campaigns_are(x, "city", "prov", NULL);
    assert_int_equal(x->severity, CALCHECK_ERROR);
    assert_int_equal(x->n_halls, 3);
    s_days_are(x, MAR_01 + 4, MAR_01 + 9);
    assert_int_equal(x->n_subjects, 2);
    assert_string_equal(x->subjects[0], "product:savings-plus");
    assert_string_equal(x->subjects[1], "business_type:account_opening");
    assert_string_equal(x->message,
                        "prov and city both promote product savings-plus, business type "
                        "account_opening in 3 halls from 2027-03-05 to 2027-03-10, and neither "
                        "descends from the other: merge them or make one the other's parent");
    /* Rule 4 also sees the city campaign unrelated to its province's. */
    assert_int_equal(s_count(r, CALCHECK_CITY_OVERLAP), 1);
}

HBT_TEST(test_rule3_passes)
{
    fx_t *f = *state;
    /* The same product x everywhere, but: a chain head office -> province
     * -> city (ancestors, not only parents, exempt); another province's
     * campaign (apart in halls); a later one (apart in time); one about
     * another product in the same halls and days. */
    s_put(f, "ho", "head_office", "CN", MAR_01, MAR_01 + 30, "{\"products\": [\"x\"]}",
          CAMPAIGN_PUBLISHED, T_EARLY);
    s_put(f, "north", "province", "P1", MAR_01, MAR_01 + 30,
          "{\"products\": [\"x\"], \"parent\": \"ho\"}", CAMPAIGN_APPROVED, 0);
    s_put(f, "harbour", "city", "C11", MAR_01 + 3, MAR_01 + 5,
          "{\"products\": [\"x\"], \"parent\": \"north\"}", CAMPAIGN_SUBMITTED, 0);
    s_put(f, "south", "province", "P2", MAR_01, MAR_01 + 5,
          "{\"products\": [\"x\"], \"parent\": \"ho\"}", CAMPAIGN_SUBMITTED, 0);
    s_put(f, "later", "city", "C21", MAR_01 + 31, MAR_01 + 40,
          "{\"products\": [\"x\"], \"parent\": \"ho\"}", CAMPAIGN_SUBMITTED, 0);
    s_put(f, "harbour-y", "city", "C11", MAR_01 + 3, MAR_01 + 5,
          "{\"products\": [\"y\"], \"parent\": \"north\"}", CAMPAIGN_SUBMITTED, 0);
    f->use_limits = true;
    for (int i = 0; i < 7; i++)
        f->limits[i].max_concurrent = 10;
    const calcheck_report_t *r = s_check(f);
    if (r->n)
        s_dump(r);
    assert_int_equal(r->n, 0);
    /* An unrelated city campaign about x while "later" runs: one finding,
     * for that pair and those days only. */
    s_put(f, "bay", "city", "C21", MAR_01 + 35, MAR_01 + 44, "{\"products\": [\"x\"]}",
          CAMPAIGN_SUBMITTED, 0);
    r = s_check(f);
    const calcheck_finding_t *x = s_one(r, CALCHECK_PRODUCT);
    assert_int_equal(r->n, 1);
    s_campaigns_are(x, "bay", "later", NULL);
    s_days_are(x, MAR_01 + 35, MAR_01 + 40);
    assert_int_equal(x->n_halls, 2);
    /* Siblings are not exempt: both children of ho, neither of the other. */
    s_put(f, "harbour-x", "city", "C11", MAR_01 + 5, MAR_01 + 6,
          "{\"products\": [\"x\"], \"parent\": \"north\"}", CAMPAIGN_SUBMITTED, 0);
    r = s_check(f);
    assert_int_equal(s_count(r, CALCHECK_PRODUCT), 2);
    s_campaigns_are(&r->findings[1], "harbour", "harbour-x", NULL);
    s_days_are(&r->findings[1], MAR_01 + 5, MAR_01 + 5);
}

HBT_TEST(test_rule4_city_overlap)
{
    fx_t *f = *state;
    s_put(f, "prov", "province", "P1", MAR_01, MAR_01 + 9, NULL, CAMPAIGN_PUBLISHED, T_EARLY);
    s_put(f, "city", "city", "C12", MAR_01 + 8, MAR_01 + 19, NULL, CAMPAIGN_SUBMITTED, 0);
    const calcheck_report_t *r = s_check(f);
    const calcheck_finding_t *x = s_one(r, CALCHECK_CITY_OVERLAP);
    assert_int_equal(r->n, 1);
    assert_int_equal(x->severity, CALCHECK_WARNING);
    assert_int_equal(r->warnings, 1);
    assert_int_equal(r->errors, 0);
    s_campaigns_are(x, "city", "prov", NULL);
    assert_int_equal(x->n_halls, 2);
    s_days_are(x, MAR_01 + 8, MAR_01 + 9);
    assert_string_equal(x->message, "city campaign city runs in C12 from 2027-03-09 to 2027-03-10 "
                                    "while province campaign prov covers 2 of its halls, and city "
                                    "does not name prov as its parent");
    assert_false(calcheck_report_blocks(r, "city")); /* a warning does not block */
    json_t *j = calcheck_report_to_json(r);
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_decref(j);

    /* Where the halls' policy says so, the same overlap is an error. */
    f->use_limits = true;
    f->limits[4].city_overlap_error = true; /* H5, in C12 */
    r = s_check(f);
    x = s_one(r, CALCHECK_CITY_OVERLAP);
    assert_int_equal(x->severity, CALCHECK_ERROR);
    assert_non_null(strstr(x->message, "(an error: the policy of these halls says so)"));
    assert_true(calcheck_report_blocks(r, "city"));
    assert_true(calcheck_report_blocks(r, "prov"));
    /* The policy of a hall outside the city does not count. */
    f->limits[4].city_overlap_error = false;
    f->limits[0].city_overlap_error = true; /* H1, in C11 */
    r = s_check(f);
    assert_int_equal(s_one(r, CALCHECK_CITY_OVERLAP)->severity, CALCHECK_WARNING);
}

HBT_TEST(test_rule4_passes)
{
    fx_t *f = *state;
    f->use_limits = true;
    for (int i = 0; i < 7; i++)
        f->limits[i].city_overlap_error = true;
    /* A head-office campaign for flagships only (H1 in C11, H6 in C21): a
     * city campaign in C12 does not overlap it; one in C11 does unless it
     * descends from it. */
    s_put(f, "flagships", "head_office", "CN", MAR_01, MAR_01 + 30,
          "{\"scope\": {\"tags\": [\"flagship\"]}}", CAMPAIGN_PUBLISHED, T_EARLY);
    s_put(f, "hill", "city", "C12", MAR_01, MAR_01 + 30, NULL, CAMPAIGN_SUBMITTED, 0);
    s_put(f, "north", "province", "P1", MAR_01 + 40, MAR_01 + 50, "{\"parent\": \"flagships\"}",
          CAMPAIGN_SUBMITTED, 0);
    s_put(f, "harbour", "city", "C11", MAR_01 + 45, MAR_01 + 46, "{\"parent\": \"north\"}",
          CAMPAIGN_SUBMITTED, 0);
    s_put(f, "harbour-early", "city", "C11", MAR_01 + 20, MAR_01 + 25,
          "{\"parent\": \"flagships\"}", CAMPAIGN_SUBMITTED, 0);
    const calcheck_report_t *r = s_check(f);
    if (r->n)
        s_dump(r);
    assert_int_equal(r->n, 0);
    /* Drop the parent: H1 is the one hall of C11 the head office reaches. */
    s_put(f, "harbour-late", "city", "C11", MAR_01 + 29, MAR_01 + 35, NULL, CAMPAIGN_SUBMITTED, 0);
    r = s_check(f);
    const calcheck_finding_t *x = s_one(r, CALCHECK_CITY_OVERLAP);
    s_campaigns_are(x, "flagships", "harbour-late", NULL);
    assert_int_equal(x->n_halls, 1);
    assert_string_equal(x->sample[0], "H1");
    s_days_are(x, MAR_01 + 29, MAR_01 + 30);
    assert_int_equal(x->severity, CALCHECK_ERROR);
}

HBT_TEST(test_rule5_glossary)
{
    fx_t *f = *state;
    char err[256] = "";
    assert_int_equal(
        calcheck_glossary_add(f->glossary, "APR", "annual percentage rate", err, sizeof err), 0);
    assert_int_equal(calcheck_glossary_add(f->glossary, "direct debit", NULL, err, sizeof err), 0);
    assert_int_equal(calcheck_glossary_add(f->glossary, "\xe7\x90\x86\xe8\xb4\xa2",
                                           "wealth management", err, sizeof err),
                     0); /* 理财 */
    s_put(
        f, "explained", "city", "C11", MAR_01, MAR_01 + 3,
        "{\"texts\": {\"kiosk\": \"Our APR is the lowest. Pay by Direct\\n  Debit.\"},"
        " \"faq\": [{\"question\": \"What is an apr?\", \"answer\": \"The yearly cost.\"},"
        "          {\"question\": \"How?\", \"answer\": \"Set up a direct debit at a counter.\"}]}",
        CAMPAIGN_SUBMITTED, 0);
    s_put(f, "unexplained", "city", "C12", MAR_01, MAR_01 + 3,
          "{\"channels\": [\"kiosk\", \"signage\"],"
          " \"texts\": {\"kiosk\": \"APR from 3%!\", \"signage\": "
          "\"\\u65b0\\u7406\\u8d22\\u4ea7\\u54c1\"},"
          " \"faq\": [{\"question\": \"Is it safe?\", \"answer\": \"Yes.\"}]}",
          CAMPAIGN_SUBMITTED, 0);
    s_put(f, "april", "city", "C21", MAR_01, MAR_01 + 3,
          "{\"texts\": {\"kiosk\": \"Offers all APRIL long, and debits made direct.\"}}",
          CAMPAIGN_SUBMITTED, 0);
    const calcheck_report_t *r = s_check(f);
    const calcheck_finding_t *x = s_one(r, CALCHECK_GLOSSARY);
    assert_int_equal(r->n, 1);
    s_campaigns_are(x, "unexplained", NULL, NULL);
    assert_int_equal(x->n_subjects, 2);
    assert_string_equal(x->subjects[0], "APR");
    assert_string_equal(x->subjects[1], "\xe7\x90\x86\xe8\xb4\xa2");
    assert_string_equal(x->message,
                        "the texts of unexplained use \"APR\", \"\xe7\x90\x86\xe8\xb4\xa2\", "
                        "which no FAQ entry of it explains (add a question or answer "
                        "that uses the term)");
    assert_int_equal(x->n_halls, 2);
    /* Without a glossary, rule 5 finds nothing. */
    calcheck_glossary_destroy(&f->glossary);
    r = s_check(f);
    assert_int_equal(r->n, 0);
}

/* calcheck_glossary_from_json refuses the document `text` with HB_EINVAL,
 * saying `want` (NULL: whatever it says), and makes no glossary. */
static void s_glossary_refused(const char *text, const char *want)
{
    json_t *j = hbt_json(text);
    calcheck_glossary_t *g = NULL;
    char err[256] = "";
    int rc = calcheck_glossary_from_json(j, &g, err, sizeof err);
    json_decref(j);
    if (rc != HB_EINVAL || (want && strcmp(err, want) != 0) || g)
        fail_msg("%s: got %d \"%s\"%s", text, rc, err, g ? " and a glossary" : "");
}

HBT_TEST(test_glossary)
{
    (void)state;
    calcheck_glossary_t *g = calcheck_glossary_new();
    char err[256] = "";
    assert_int_equal(calcheck_glossary_add(g, "APR", NULL, err, sizeof err), 0);
    assert_int_equal(
        calcheck_glossary_add(g, "  Direct   debit ", "money taken by agreement", err, sizeof err),
        0);
    assert_int_equal(calcheck_glossary_add(g, "e-banking", NULL, err, sizeof err), 0);
    assert_int_equal(calcheck_glossary_add(g, "apr", NULL, err, sizeof err), HB_EEXIST);
    assert_string_equal(err, "term: \"apr\" is in the glossary already (as \"APR\")");
    assert_int_equal(calcheck_glossary_add(g, "direct\tDEBIT", NULL, err, sizeof err), HB_EEXIST);
    assert_int_equal(calcheck_glossary_add(g, "   ", NULL, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "term: blank");
    assert_int_equal(calcheck_glossary_add(g, "", NULL, err, sizeof err), HB_EINVAL);
    assert_int_equal(calcheck_glossary_add(g, "bell\a", NULL, err, sizeof err), HB_EINVAL);
    assert_int_equal(calcheck_glossary_count(g), 3);
    assert_string_equal(calcheck_glossary_term(g, 1), "  Direct   debit ");
    assert_null(calcheck_glossary_term(g, 3));

    size_t found[8];
    assert_int_equal(calcheck_glossary_find(g, "APR", found, 8), 1);
    assert_int_equal(calcheck_glossary_find(g, "(apr)", found, 8), 1);
    assert_int_equal(calcheck_glossary_find(g, "the APR.", found, 8), 1);
    assert_int_equal(calcheck_glossary_find(g, "APRIL", found, 8), 0);
    assert_int_equal(calcheck_glossary_find(g, "CAPR", found, 8), 0);
    assert_int_equal(calcheck_glossary_find(g, "APR2", found, 8), 0);
    assert_int_equal(calcheck_glossary_find(g, "direct debits", found, 8), 0);
    assert_int_equal(calcheck_glossary_find(g, "directdebit", found, 8), 0);
    assert_int_equal(calcheck_glossary_find(g, "a DIRECT\r\n\tDEBIT, or", found, 8), 1);
    assert_int_equal(found[0], 1);
    assert_int_equal(calcheck_glossary_find(g, "use e-banking and APR apr", found, 8), 2);
    assert_int_equal(found[0], 0);
    assert_int_equal(found[1], 2);
    assert_int_equal(calcheck_glossary_find(g, "use e-banking and APR", found, 1), 2);
    assert_int_equal(calcheck_glossary_find(g, "", found, 8), 0);

    json_t *j = calcheck_glossary_to_json(g);
    calcheck_glossary_t *g2 = NULL;
    assert_int_equal(calcheck_glossary_from_json(j, &g2, err, sizeof err), 0);
    hbt_assert_json_same(j, calcheck_glossary_to_json(g2));
    calcheck_glossary_destroy(&g2);
    calcheck_glossary_destroy(&g);
    assert_null(g);

    s_glossary_refused("{\"terms\": [{\"term\": \"APR\"}, {\"term\": \"apr\"}]}",
                       "terms[1].term: \"apr\" is in the glossary already (as \"APR\")");
    s_glossary_refused("{\"terms\": [{\"term\": \"APR\", \"note\": \"x\"}]}",
                       "terms[0]: must be {\"term\": text, \"definition\": text}");
    s_glossary_refused("{\"words\": []}", NULL);
}

HBT_TEST(test_rule6_lead_time)
{
    fx_t *f = *state;
    /* Not yet published: counted from today (Feb 1). Seven days' lead by
     * default: Feb 8 is fine, Feb 5 is not. */
    s_put(f, "in-time", "city", "C11", FEB_01 + 7, FEB_01 + 10, NULL, CAMPAIGN_SUBMITTED, 0);
    s_put(f, "too-soon", "city", "C12", FEB_01 + 4, FEB_01 + 10, NULL, CAMPAIGN_APPROVED, 0);
    s_put(f, "started", "city", "C21", FEB_01 - 2, FEB_01 + 10, NULL, CAMPAIGN_SUBMITTED, 0);
    const calcheck_report_t *r = s_check(f);
    assert_int_equal(s_count(r, CALCHECK_LEAD_TIME), 2);
    assert_int_equal(r->n, 2);
    const calcheck_finding_t *a = &r->findings[0], *b = &r->findings[1];
    s_campaigns_are(a, "started", NULL, NULL);
    assert_string_equal(a->message,
                        "started starts on 2027-01-30, before today (not published yet) "
                        "2027-02-01; 2 halls need 7 days' notice");
    s_campaigns_are(b, "too-soon", NULL, NULL);
    assert_string_equal(b->message, "too-soon starts on 2027-02-05, 4 days after today (not "
                                    "published yet) 2027-02-01; 2 halls need 7 days' notice");
    assert_int_equal(b->n_halls, 2);
    s_days_are(b, FEB_01 + 4, FEB_01 + 10);
    assert_false(calcheck_report_blocks(r, "in-time"));
}

HBT_TEST(test_rule6_published)
{
    fx_t *f = *state;
    /* Published: counted from the recorded publish date, whatever today. */
    s_put(f, "late", "city", "C11", MAR_01 + 2, MAR_01 + 10, NULL, CAMPAIGN_PUBLISHED,
          (int64_t)(MAR_01 - 1) * DAY_MS + 36000000);
    s_put(f, "early", "city", "C12", MAR_01, MAR_01 + 10, NULL, CAMPAIGN_PUBLISHED,
          (int64_t)(MAR_01 - 9) * DAY_MS);
    const calcheck_report_t *r = s_check(f);
    const calcheck_finding_t *x = s_one(r, CALCHECK_LEAD_TIME);
    assert_int_equal(r->n, 1);
    s_campaigns_are(x, "late", NULL, NULL);
    assert_string_equal(x->message, "late starts on 2027-03-03, 3 days after its publish date "
                                    "2027-02-28; 3 halls need 7 days' notice");
    /* Per-hall lead days: only H4 asks for ten, so "early" (nine days) is
     * late for that hall alone. */
    f->use_limits = true;
    f->limits[3].lead_days = 10;
    r = s_check(f);
    assert_int_equal(s_count(r, CALCHECK_LEAD_TIME), 2);
    x = &r->findings[0];
    s_campaigns_are(x, "early", NULL, NULL);
    assert_int_equal(x->n_halls, 1);
    assert_string_equal(x->sample[0], "H4");
    assert_non_null(strstr(x->message, "1 halls need 10 days' notice"));
    /* A published campaign that is over is history: not checked at all. */
    f->today = MAR_01 + 11;
    r = s_check(f);
    assert_int_equal(r->n, 0);
    assert_int_equal(r->campaigns_checked, 0);
}

HBT_TEST(test_scope_no_longer_resolves)
{
    fx_t *f = *state;
    s_put(f, "pilot", "city", "C12", MAR_01, MAR_01 + 3, "{\"scope\": {\"halls\": [\"H4\"]}}",
          CAMPAIGN_APPROVED, 0);
    /* The org changes under it: H4 moves to another city. */
    json_t *h = hbt_json("{\"id\": \"H4\", \"city\": \"C11\"}");
    assert_int_equal(org_put_hall(f->org, h, NULL, 0), 0);
    json_decref(h);
    const calcheck_report_t *r = s_check(f);
    const calcheck_finding_t *x = s_one(r, CALCHECK_SCOPE);
    assert_int_equal(r->n, 1);
    s_campaigns_are(x, "pilot", NULL, NULL);
    assert_string_equal(x->message, "the scope of pilot no longer reaches its halls: "
                                    "scope.halls[0]: hall \"H4\" (city C11) is outside the owner "
                                    "region \"C12\"");
    assert_true(calcheck_report_blocks(r, "pilot"));
}

HBT_TEST(test_candidate)
{
    fx_t *f = *state;
    s_put(f, "prov", "province", "P1", MAR_01, MAR_01 + 9, "{\"products\": [\"x\"]}",
          CAMPAIGN_PUBLISHED, T_EARLY);
    s_put(f, "draft", "city", "C11", MAR_01, MAR_01 + 9,
          "{\"products\": [\"y\"], \"parent\": \"prov\"}", CAMPAIGN_DRAFT, 0);
    const calcheck_report_t *r = s_check(f);
    assert_int_equal(r->n, 0);
    assert_int_equal(r->campaigns_checked, 1);
    /* The draft checked before submitting, as it stands... */
    r = s_check_with(f, campaign_calendar_find(f->cal, "draft"));
    assert_int_equal(r->n, 0);
    assert_int_equal(r->campaigns_checked, 2);
    /* ... and an edit of it not saved yet, which drops the parent and takes
     * the province's product. */
    json_t *d = s_campaign_doc("draft", "city", "C11", MAR_01, MAR_01 + 9,
                               "{\"products\": [\"x\"], \"faq\": []}");
    campaign_t *cand = NULL;
    assert_int_equal(campaign_parse(d, &cand, NULL, 0), 0);
    json_decref(d);
    r = s_check_with(f, cand);
    assert_int_equal(r->campaigns_checked, 2);
    assert_int_equal(s_count(r, CALCHECK_FAQ), 1);
    assert_int_equal(s_count(r, CALCHECK_PRODUCT), 1);
    assert_int_equal(s_count(r, CALCHECK_CITY_OVERLAP), 1);
    campaign_destroy(&cand);
}

HBT_TEST(test_many_findings_at_once)
{
    fx_t *f = *state;
    char err[256] = "";
    assert_int_equal(calcheck_glossary_add(f->glossary, "overdraft", NULL, err, sizeof err), 0);
    f->use_limits = true;
    for (int i = 0; i < 7; i++)
        f->limits[i].max_concurrent = 2;
    f->limits[5].city_overlap_error = true; /* H6 */
    s_put(f, "ho", "head_office", "CN", MAR_01, MAR_01 + 20, "{\"products\": [\"card\"]}",
          CAMPAIGN_PUBLISHED, T_EARLY);
    s_put(f, "south", "province", "P2", MAR_01 + 5, MAR_01 + 15,
          "{\"products\": [\"card\"], \"faq\": []}", CAMPAIGN_APPROVED, 0);
    s_put(f, "bay", "city", "C21", MAR_01 + 10, MAR_01 + 12,
          "{\"texts\": {\"kiosk\": \"No overdraft fees\"}}", CAMPAIGN_SUBMITTED, 0);
    s_put(f, "hurry", "city", "C11", FEB_01 + 3, FEB_01 + 5, "{\"parent\": \"ho\"}",
          CAMPAIGN_SUBMITTED, 0);
    const calcheck_report_t *r = s_check(f);
    /* rule 1: south; 2: ho+south+bay on C21, Mar 11-13; 3: ho/south on card;
     * 4: bay vs ho and bay vs south (errors for H6's policy); 5: bay;
     * 6: hurry. */
    assert_int_equal(r->by_rule[CALCHECK_FAQ], 1);
    assert_int_equal(r->by_rule[CALCHECK_CONCURRENCY], 1);
    assert_int_equal(r->by_rule[CALCHECK_PRODUCT], 1);
    assert_int_equal(r->by_rule[CALCHECK_CITY_OVERLAP], 2);
    assert_int_equal(r->by_rule[CALCHECK_GLOSSARY], 1);
    assert_int_equal(r->by_rule[CALCHECK_LEAD_TIME], 1);
    assert_int_equal(r->n, 7);
    assert_int_equal(r->errors, 7);
    assert_int_equal(r->dropped, 0);
    /* In order of rule, then campaigns. */
    static const struct {
        calcheck_rule_t rule;
        const char *a, *b, *c;
    } want[] = {
        {CALCHECK_FAQ, "south", NULL, NULL},           {CALCHECK_CONCURRENCY, "bay", "ho", "south"},
        {CALCHECK_PRODUCT, "ho", "south", NULL},       {CALCHECK_CITY_OVERLAP, "bay", "ho", NULL},
        {CALCHECK_CITY_OVERLAP, "bay", "south", NULL}, {CALCHECK_GLOSSARY, "bay", NULL, NULL},
        {CALCHECK_LEAD_TIME, "hurry", NULL, NULL},
    };
    for (size_t i = 0; i < r->n; i++) {
        assert_int_equal(r->findings[i].rule, want[i].rule);
        s_campaigns_are(&r->findings[i], want[i].a, want[i].b, want[i].c);
    }
    s_days_are(&r->findings[1], MAR_01 + 10, MAR_01 + 12);
    assert_int_equal(r->findings[1].n_halls, 2);
    assert_int_equal(r->findings[3].severity, CALCHECK_ERROR);

    /* The JSON form, and the same report on a second run. */
    json_t *j = calcheck_report_to_json(r);
    assert_false(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "errors")), 7);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "by_rule"), "city_overlap")), 2);
    json_t *first = json_array_get(json_object_get(j, "findings"), 1);
    json_t *want_json = hbt_json(
        "{\"rule\": 2, \"code\": \"concurrency\", \"severity\": \"error\","
        " \"campaigns\": [\"bay\", \"ho\", \"south\"],"
        " \"halls\": {\"count\": 2, \"sample\": [\"H6\", \"H7\"]},"
        " \"days\": {\"first\": \"2027-03-11\", \"last\": \"2027-03-13\"},"
        " \"subjects\": [],"
        " \"message\": \"2 halls would run these 3 campaigns at once on days from 2027-03-11 to "
        "2027-03-13; their policy allows 2 at a time\"}");
    assert_true(json_equal(first, want_json));
    json_decref(want_json);
    r = s_check(f);
    json_t *j2 = calcheck_report_to_json(r);
    assert_true(json_equal(j, j2));
    json_decref(j);
    json_decref(j2);
    for (size_t i = 0; i < 4; i++) {
        const char *ids[] = {"ho", "south", "bay", "hurry"};
        assert_true(calcheck_report_blocks(r, ids[i]));
    }
    assert_string_equal(calcheck_rule_name(CALCHECK_LEAD_TIME), "lead_time");
}

HBT_TEST(test_findings_cap)
{
    fx_t *f = *state;
    /* More FAQ-less campaigns than a rule keeps: all counted, the cap kept. */
    f->use_limits = true;
    for (int i = 0; i < 7; i++)
        f->limits[i].max_concurrent = 5000;
    for (int i = 0; i < CALCHECK_PER_RULE_MAX + 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%04d", i);
        s_put(f, id, "city", "C11", MAR_01, MAR_01, "{\"faq\": []}", CAMPAIGN_SUBMITTED, 0);
    }
    const calcheck_report_t *r = s_check(f);
    assert_int_equal(r->by_rule[CALCHECK_FAQ], CALCHECK_PER_RULE_MAX + 5);
    assert_int_equal(r->n, CALCHECK_PER_RULE_MAX);
    assert_int_equal(r->dropped, 5);
    assert_int_equal(r->errors, CALCHECK_PER_RULE_MAX + 5);
}

HBT_TEST(test_bad_input)
{
    fx_t *f = *state;
    calcheck_report_t *r = NULL;
    char err[256] = "";
    calcheck_input_t in = {.org = f->org, .cal = f->cal, .limits = f->limits, .n_limits = 6};
    assert_int_equal(calcheck_run(&in, &r, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "limits: 6 entries for 7 halls");
    in.n_limits = 7;
    f->limits[2].lead_days = -1;
    assert_int_equal(calcheck_run(&in, &r, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "limits[2]: max_concurrent 0..20000 and lead_days 0..3660");
    assert_null(r);
    in.org = NULL;
    assert_int_equal(calcheck_run(&in, &r, err, sizeof err), HB_EINVAL);
    /* No calendar at all is an empty one. */
    calcheck_input_t empty = {.org = f->org};
    assert_int_equal(calcheck_run(&empty, &r, err, sizeof err), 0);
    assert_int_equal(r->n, 0);
    calcheck_report_destroy(&r);
    assert_null(r);
    calcheck_report_destroy(&r);
}
