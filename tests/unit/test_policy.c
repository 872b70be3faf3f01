/* Unit tests of common/rules/policy.c: every refusal of the checker (one case a
 * rule, each error naming the member's path), the merge of scope
 * documents, an effective policy from four scopes, the opening-hours
 * arithmetic (states, searches over weekends, holidays and closures, DST
 * days, halls open round the clock), thresholds, the JSON round trip and
 * the limits. */
#include "hallbus/error.h"
#include "hallbus/policy.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"

/* ---- helpers */

static json_t *s_json(const char *text) { return hbt_json_exact(text, JSON_ALLOW_NUL); }

static hb_policy_t *s_policy(const char *text)
{
    json_t *doc = s_json(text);
    hb_policy_t *p = NULL;
    char err[512] = "";
    int rc = hb_policy_new(doc, &p, err, sizeof err);
    json_decref(doc);
    if (rc != 0)
        fail_msg("hb_policy_new: %s", err);
    return p;
}

/* The UTC instant of a local date and time in the policy's zone. */
static int64_t s_at(const hb_policy_t *p, const char *date, int h, int m)
{
    int32_t day;
    assert_int_equal(hb_date_parse(date, &day), 0);
    return hb_tz_local_to_utc(p->tz, day, h, m);
}

/* Refused by the checker and by hb_policy_new, with the path and the
 * reason in the error. */
static void s_refuse_doc(json_t *doc, const char *path, const char *reason)
{
    char err[1024] = "";
    int rc = hb_policy_check(doc, err, sizeof err);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    if (rc != HB_EINVAL)
        fail_msg("accepted (%d): %.200s", rc, text);
    if (!strstr(err, path) || !strstr(err, reason))
        fail_msg("error '%s' does not name '%s' and '%s' for %.200s", err, path, reason, text);
    hb_policy_t *p = NULL;
    char err2[1024] = "";
    assert_int_equal(hb_policy_new(doc, &p, err2, sizeof err2), HB_EINVAL);
    assert_null(p);
    assert_string_equal(err, err2);
    free(text);
}

static void s_refuse(const char *text, const char *path, const char *reason)
{
    json_t *doc = s_json(text);
    s_refuse_doc(doc, path, reason);
    json_decref(doc);
}

static void s_accept(const char *text)
{
    json_t *doc = s_json(text);
    char err[512] = "";
    if (hb_policy_check(doc, err, sizeof err) != 0)
        fail_msg("refused %s: %s", text, err);
    json_decref(doc);
}

/* ---- defaults */

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_defaults)
{
    (void)state;
    json_t *d = hb_policy_defaults();
    assert_non_null(d);
    assert_int_equal(hb_policy_check(d, NULL, 0), 0);
    json_decref(d);
    hb_policy_t *p = NULL;
    assert_int_equal(hb_policy_new(NULL, &p, NULL, 0), 0);
    assert_string_equal(p->timezone, "UTC");
    assert_string_equal(hb_tz_name(p->tz), "UTC");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(p->week[i].n, 1);
        assert_int_equal(p->week[i].iv[0].from, 9 * 60);
        assert_int_equal(p->week[i].iv[0].to, 17 * 60);
    }
    assert_int_equal(p->week[5].n, 0);
    assert_int_equal(p->week[6].n, 0);
    assert_int_equal(p->n_special, 0);
    assert_int_equal(p->n_closures, 0);
    assert_int_equal(p->n_divert, 0);
    assert_int_equal(hb_policy_max_wait_s(p, "A", 1), 1200);
    assert_int_equal(hb_policy_ack_s(p, 4), 4 * 3600);
    assert_int_equal(hb_policy_resolve_s(p, 1), 16 * 3600);
    assert_int_equal(p->diversion_threshold, 30);
    assert_int_equal(p->n_echannels, 4);
    assert_int_equal(p->max_concurrent_campaigns, 3);
    assert_int_equal(p->lead_days, 7);
    assert_false(p->city_overlap_error);
    assert_int_equal(p->device_fault_s, 1800);
    assert_int_equal(p->not_open_grace_s, 300);
    hb_policy_free(&p);
    assert_null(p);
    hb_policy_free(&p); /* idempotent */
    hb_policy_free(NULL);
}

/* ---- the checker: one case a rule */

/* A policy document refused, the member named and a part of the reason. */
typedef struct {
    const char *doc, *path, *reason;
} policy_refusal_t;

HBT_TEST(test_refusals)
{
    (void)state;
    static const policy_refusal_t cases[] = {
        {"[]", "the policy", "object"},
        {"{\"colour\": \"red\"}", "colour", "not a policy member"},
        {"{\"sla\": {\"max_wait\": {}}}", "sla.max_wait", "max_wait_s"},
        {"{\"alerts\": {\"extra\": 1}}", "alerts.extra", "device_fault_s"},
        {"{\"campaigns\": 3}", "campaigns", "object"},
        /* timezone */
        {"{\"timezone\": 5}", "timezone", "zone name"},
        {"{\"timezone\": \"Mars/Olympus\"}", "timezone", "Mars/Olympus"},
        {"{\"timezone\": \"../etc/passwd\"}", "timezone", "'..'"},
        /* opening hours */
        {"{\"opening_hours\": []}", "opening_hours", "object"},
        {"{\"opening_hours\": {\"funday\": []}}", "opening_hours.funday", "mon"},
        {"{\"opening_hours\": {\"mon\": \"09:00-17:00\"}}", "opening_hours.mon", "array"},
        {"{\"opening_hours\": {\"mon\": [\"9:00-17:00\"]}}", "opening_hours.mon[0]", "HH:MM"},
        {"{\"opening_hours\": {\"mon\": [\"17:00-09:00\"]}}", "opening_hours.mon[0]", "ends"},
        {"{\"opening_hours\": {\"mon\": [\"09:00-09:00\"]}}", "opening_hours.mon[0]", "ends"},
        {"{\"opening_hours\": {\"mon\": [\"24:00-24:00\"]}}", "opening_hours.mon[0]", "24:00"},
        {"{\"opening_hours\": {\"mon\": [\"09:00-24:01\"]}}", "opening_hours.mon[0]", "24:00"},
        {"{\"opening_hours\": {\"mon\": [\"09:60-10:00\"]}}", "opening_hours.mon[0]", "HH:MM"},
        {"{\"opening_hours\": {\"mon\": [\"09:00-17:00 \"]}}", "opening_hours.mon[0]", "HH:MM"},
        {"{\"opening_hours\": {\"mon\": [900]}}", "opening_hours.mon[0]", "HH:MM"},
        {"{\"opening_hours\": {\"tue\": [\"13:00-17:00\", \"09:00-12:00\"]}}",
         "opening_hours.tue[1]", "sorted"},
        {"{\"opening_hours\": {\"wed\": [\"09:00-13:00\", \"12:00-17:00\"]}}",
         "opening_hours.wed[1]", "overlap"},
        {"{\"opening_hours\": {\"thu\": [\"01:00-02:00\", \"03:00-04:00\", \"05:00-06:00\", "
         "\"07:00-08:00\", \"09:00-10:00\"]}}",
         "opening_hours.thu", "at most 4"},
        /* special days */
        {"{\"special_days\": []}", "special_days", "object"},
        {"{\"special_days\": {\"2026-02-29\": {}}}", "special_days.2026-02-29", "real date"},
        {"{\"special_days\": {\"2026-1-1\": {}}}", "special_days.2026-1-1", "real date"},
        {"{\"special_days\": {\"2026-12-24\": []}}", "special_days.2026-12-24", "object"},
        {"{\"special_days\": {\"2026-12-24\": {\"colour\": 1}}}", "special_days.2026-12-24.colour",
         "hours, note"},
        {"{\"special_days\": {\"2026-12-24\": {\"hours\": [\"12:00-09:00\"]}}}",
         "special_days.2026-12-24.hours[0]", "HH:MM"},
        {"{\"special_days\": {\"2026-12-24\": {\"note\": 7}}}", "special_days.2026-12-24.note",
         "UTF-8 text"},
        {"{\"special_days\": {\"2026-12-24\": {\"note\": \"a\\u0000b\"}}}",
         "special_days.2026-12-24.note", "UTF-8 text"},
        /* closures */
        {"{\"closures\": {\"bad id\": {}}}", "closures.bad id", "closure id"},
        {"{\"closures\": {\"x\": {\"from\": \"2027-02-30\"}}}", "closures.x.from", "real date"},
        {"{\"closures\": {\"x\": {\"from\": \"2027-01-10\", \"to\": \"2027-01-09\"}}}",
         "closures.x.to", "before closures.x.from"},
        {"{\"closures\": {\"x\": {\"divert_to\": [\"H 1\"]}}}", "closures.x.divert_to[0]",
         "hall ids"},
        {"{\"closures\": {\"x\": {\"divert_to\": \"H1\"}}}", "closures.x.divert_to", "array"},
        {"{\"closures\": {\"x\": {\"notice\": [\"no\"]}}}", "closures.x.notice", "UTF-8"},
        {"{\"closures\": {\"x\": {\"reason\": \"works\"}}}", "closures.x.reason",
         "from, to, notice, divert_to"},
        {"{\"closures\": {\"x\": {\"divert_to\": [\"H1\", \"H2\", \"H3\", \"H4\", \"H5\", \"H6\", "
         "\"H7\", \"H8\", \"H9\"]}}}",
         "closures.x.divert_to", "at most 8"},
        /* divert_to */
        {"{\"divert_to\": \"H002\"}", "divert_to", "array"},
        {"{\"divert_to\": [\"H002\", \"H002\"]}", "divert_to[1]", "twice"},
        {"{\"divert_to\": [\"H0000000000000000000000000000000X\"]}", "divert_to[0]", "{1,32}"},
        {"{\"divert_to\": [\"\"]}", "divert_to[0]", "hall ids"},
        /* sla */
        {"{\"sla\": []}", "sla", "object"},
        {"{\"sla\": {\"max_wait_s\": {\"A\": 600}}}", "sla.max_wait_s.A", "SERVICE:PRIORITY"},
        {"{\"sla\": {\"max_wait_s\": {\"A:gold\": 600}}}", "sla.max_wait_s.A:gold", "vip"},
        {"{\"sla\": {\"max_wait_s\": {\"A B:*\": 600}}}", "sla.max_wait_s.A B:*", "service code"},
        {"{\"sla\": {\"max_wait_s\": {\"*:*:*\": 600}}}", "sla.max_wait_s.*:*:*", "SERVICE"},
        {"{\"sla\": {\"max_wait_s\": {\":vip\": 600}}}", "sla.max_wait_s.:vip", "SERVICE"},
        {"{\"sla\": {\"max_wait_s\": {\"*:*\": 0}}}", "sla.max_wait_s.*:*", "from 1 to 604800"},
        {"{\"sla\": {\"max_wait_s\": {\"*:*\": 604801}}}", "sla.max_wait_s.*:*", "not 604801"},
        {"{\"sla\": {\"max_wait_s\": {\"*:*\": \"600\"}}}", "sla.max_wait_s.*:*", "a string"},
        {"{\"sla\": {\"max_wait_s\": {\"*:*\": 1.5}}}", "sla.max_wait_s.*:*", "fraction"},
        {"{\"sla\": {\"max_wait_s\": {\"*:*\": true}}}", "sla.max_wait_s.*:*", "boolean"},
        {"{\"sla\": {\"complaint_ack_s\": {\"urgent\": 3600}}}", "sla.complaint_ack_s.urgent",
         "critical"},
        {"{\"sla\": {\"complaint_ack_s\": {\"*\": 59}}}", "sla.complaint_ack_s.*",
         "from 60 to 7776000"},
        {"{\"sla\": {\"complaint_ack_s\": {\"high\": 7776001}}}", "sla.complaint_ack_s.high",
         "7776000"},
        {"{\"sla\": {\"complaint_resolve_s\": {\"low\": 59}}}", "sla.complaint_resolve_s.low",
         "from 60"},
        /* diversion */
        {"{\"diversion\": {\"threshold\": 0}}", "diversion.threshold", "from 1 to 100000"},
        {"{\"diversion\": {\"threshold\": 100001}}", "diversion.threshold", "100000"},
        {"{\"diversion\": {\"echannels\": [\"fax\"]}}", "diversion.echannels[0]", "wechat"},
        {"{\"diversion\": {\"echannels\": [\"app\", \"app\"]}}", "diversion.echannels[1]", "twice"},
        {"{\"diversion\": {\"echannels\": [\"app\", \"web\", \"sms\", \"phone\", \"email\", "
         "\"wechat\", \"kiosk\", \"app\", \"web\"]}}",
         "diversion.echannels", "at most 8"},
        {"{\"diversion\": {\"echannels\": \"app\"}}", "diversion.echannels", "array"},
        /* campaigns */
        {"{\"campaigns\": {\"max_concurrent\": 0}}", "campaigns.max_concurrent", "1 to 100"},
        {"{\"campaigns\": {\"max_concurrent\": 101}}", "campaigns.max_concurrent", "1 to 100"},
        {"{\"campaigns\": {\"lead_days\": -1}}", "campaigns.lead_days", "0 to 365"},
        {"{\"campaigns\": {\"lead_days\": 366}}", "campaigns.lead_days", "0 to 365"},
        {"{\"campaigns\": {\"city_overlap\": \"maybe\"}}", "campaigns.city_overlap",
         "warning, error"},
        /* alerts */
        {"{\"alerts\": {\"device_fault_s\": 59}}", "alerts.device_fault_s", "60 to 604800"},
        {"{\"alerts\": {\"device_fault_s\": 604801}}", "alerts.device_fault_s", "604800"},
        {"{\"alerts\": {\"not_open_grace_s\": -1}}", "alerts.not_open_grace_s", "0 to 7200"},
        {"{\"alerts\": {\"not_open_grace_s\": 7201}}", "alerts.not_open_grace_s", "7200"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_refuse(cases[i].doc, cases[i].path, cases[i].reason);
    print_message("[  INFO    ] %zu refusal cases\n", sizeof cases / sizeof cases[0]);

    /* Text that JSON cannot carry as such: invalid UTF-8 put in by hand. */
    json_t *doc = s_json("{\"special_days\": {\"2026-12-24\": {}}}");
    json_object_set_new(json_object_get(json_object_get(doc, "special_days"), "2026-12-24"), "note",
                        json_stringn_nocheck("caf\xc3", 4));
    s_refuse_doc(doc, "special_days.2026-12-24.note", "UTF-8");
    json_object_set_new(json_object_get(json_object_get(doc, "special_days"), "2026-12-24"), "note",
                        json_stringn_nocheck("\xed\xa0\x80", 3)); /* a surrogate */
    s_refuse_doc(doc, "special_days.2026-12-24.note", "UTF-8");
    json_object_set_new(json_object_get(json_object_get(doc, "special_days"), "2026-12-24"), "note",
                        json_stringn_nocheck("\xc0\xaf", 2)); /* overlong */
    s_refuse_doc(doc, "special_days.2026-12-24.note", "UTF-8");
    json_decref(doc);

    /* A closure id longer than 64 bytes. */
    char text[256];
    char id[70];
    memset(id, 'c', 65);
    id[65] = '\0';
    snprintf(text, sizeof text, "{\"closures\": {\"%s\": {}}}", id);
    s_refuse(text, "closures.ccc", "closure id");
    id[64] = '\0';
    snprintf(text, sizeof text, "{\"closures\": {\"%s\": {}}}", id);
    s_accept(text);

    assert_int_equal(hb_policy_check(NULL, NULL, 0), HB_EINVAL);
}

/* A scope may adjust one member of a wider closure, but the effective
 * policy needs both of its dates. */
HBT_TEST(test_closure_dates_required)
{
    (void)state;
    s_accept("{\"closures\": {\"works\": {\"notice\": \"Closed\"}}}");
    json_t *doc = s_json("{\"closures\": {\"works\": {\"from\": \"2027-01-10\"}}}");
    hb_policy_t *p = NULL;
    char err[512] = "";
    assert_int_equal(hb_policy_new(doc, &p, err, sizeof err), HB_EINVAL);
    assert_non_null(strstr(err, "closures.works.to is required"));
    json_decref(doc);
    doc = s_json("{\"closures\": {\"works\": {\"to\": \"2027-01-10\"}}}");
    assert_int_equal(hb_policy_new(doc, &p, err, sizeof err), HB_EINVAL);
    assert_non_null(strstr(err, "closures.works.from is required"));
    json_decref(doc);
}

/* null is allowed for any member; in hb_policy_new it lets the default
 * show through. */
HBT_TEST(test_nulls)
{
    (void)state;
    const char *doc =
        "{\"timezone\": null, \"opening_hours\": {\"mon\": null, \"sat\": [\"10:00-12:00\"]},"
        " \"special_days\": {\"2026-12-24\": null}, \"closures\": {\"x\": null},"
        " \"divert_to\": null, \"sla\": {\"max_wait_s\": {\"*:*\": null, \"A:*\": 300},"
        " \"complaint_ack_s\": null, \"complaint_resolve_s\": {\"*\": null}},"
        " \"diversion\": {\"threshold\": null, \"echannels\": null},"
        " \"campaigns\": null, \"alerts\": {\"device_fault_s\": null}}";
    s_accept(doc);
    hb_policy_t *p = s_policy(doc);
    assert_string_equal(p->timezone, "UTC");
    assert_int_equal(p->week[0].n, 1);
    assert_int_equal(p->week[0].iv[0].from, 540);
    assert_int_equal(p->week[5].n, 1);
    assert_int_equal(p->week[5].iv[0].from, 600);
    assert_int_equal(p->n_special, 0);
    assert_int_equal(p->n_closures, 0);
    assert_int_equal(hb_policy_max_wait_s(p, "A", 1), 300);
    assert_int_equal(hb_policy_max_wait_s(p, "B", 1), 1200); /* "*:*" back to its default */
    assert_int_equal(hb_policy_ack_s(p, 3), 14400);
    assert_int_equal(hb_policy_resolve_s(p, 3), 57600);
    assert_int_equal(p->diversion_threshold, 30);
    assert_int_equal(p->n_echannels, 4);
    assert_int_equal(p->max_concurrent_campaigns, 3);
    assert_int_equal(p->device_fault_s, 1800);
    hb_policy_free(&p);
    /* The document itself is never null. */
    json_t *null = json_null();
    s_refuse_doc(null, "the policy", "object");
    json_decref(null);
}

/* ---- merge */

HBT_TEST(test_merge)
{
    (void)state;
    json_t *wider = s_json("{\"a\": {\"x\": 1, \"y\": [1, 2], \"z\": {\"deep\": 1, \"keep\": 2}},"
                           " \"b\": \"wide\", \"c\": [1, 2, 3], \"gone\": 5, \"obj\": {\"k\": 1}}");
    json_t *narrower = s_json("{\"a\": {\"x\": 2, \"y\": [9], \"z\": {\"deep\": null}},"
                              " \"c\": [], \"gone\": null, \"new\": {\"n\": 1, \"drop\": null},"
                              " \"obj\": 7, \"b\": {\"now\": \"object\"}}");
    char *before_w = json_dumps(wider, JSON_SORT_KEYS);
    char *before_n = json_dumps(narrower, JSON_SORT_KEYS);
    json_t *m = hb_policy_merge(wider, narrower);
    json_t *want = s_json("{\"a\": {\"x\": 2, \"y\": [9], \"z\": {\"keep\": 2}},"
                          " \"b\": {\"now\": \"object\"}, \"c\": [], \"new\": {\"n\": 1},"
                          " \"obj\": 7}");
    if (!json_equal(m, want)) {
        char *got = json_dumps(m, JSON_SORT_KEYS);
        fail_msg("merge gave %s", got);
    }
    /* Neither input changed. */
    char *after_w = json_dumps(wider, JSON_SORT_KEYS);
    char *after_n = json_dumps(narrower, JSON_SORT_KEYS);
    assert_string_equal(before_w, after_w);
    assert_string_equal(before_n, after_n);
    free(before_w);
    free(before_n);
    free(after_w);
    free(after_n);
    json_decref(m);
    json_decref(want);

    /* With nothing on either side. */
    m = hb_policy_merge(wider, NULL);
    assert_true(json_equal(m, wider));
    json_decref(m);
    m = hb_policy_merge(NULL, narrower);
    assert_null(json_object_get(m, "gone"));
    assert_null(json_object_get(json_object_get(m, "new"), "drop"));
    json_decref(m);
    m = hb_policy_merge(NULL, NULL);
    assert_true(json_is_object(m) && json_object_size(m) == 0);
    json_decref(m);
    json_decref(wider);
    json_decref(narrower);
}

/* ---- four scopes into one effective policy */

static hb_policy_t *s_effective(void)
{
    const char *const *scopes = hbt_policy_example;
    json_t *acc = json_object();
    for (size_t i = 0; i < 4; i++) {
        json_t *doc = s_json(scopes[i]);
        char err[512] = "";
        if (hb_policy_check(doc, err, sizeof err) != 0)
            fail_msg("scope %zu: %s", i, err);
        json_t *next = hb_policy_merge(acc, doc);
        json_decref(acc);
        json_decref(doc);
        acc = next;
    }
    return hbt_policy_json(acc);
}

HBT_TEST(test_effective_policy)
{
    (void)state;
    hb_policy_t *p = s_effective();
    assert_string_equal(p->timezone, "Europe/Berlin");
    /* The hall's Monday; the national Tuesday..Friday; the hall's null on
     * Saturday removes the province's hours and the default (closed) applies. */
    assert_int_equal(p->week[0].n, 1);
    assert_int_equal(p->week[0].iv[0].from, 600);
    assert_int_equal(p->week[0].iv[0].to, 1080);
    for (int i = 1; i < 5; i++) {
        assert_int_equal(p->week[i].n, 1);
        assert_int_equal(p->week[i].iv[0].from, 540);
        assert_int_equal(p->week[i].iv[0].to, 1020);
    }
    assert_int_equal(p->week[5].n, 0);
    assert_int_equal(p->week[6].n, 0);
    /* Special days from two scopes, Christmas Eve merged member by member. */
    assert_int_equal(p->n_special, 3);
    assert_int_equal(p->special[0].day, hb_days_from_civil(2026, 10, 3));
    assert_string_equal(p->special[0].note, "German Unity Day");
    assert_int_equal(p->special[0].hours.n, 0);
    assert_int_equal(p->special[1].day, hb_days_from_civil(2026, 12, 24));
    assert_string_equal(p->special[1].note, "Christmas Eve");
    assert_int_equal(p->special[1].hours.n, 1);
    assert_int_equal(p->special[1].hours.iv[0].to, 13 * 60);
    assert_int_equal(p->special[2].day, hb_days_from_civil(2026, 12, 25));
    /* The hall's closure and diversion. */
    assert_int_equal(p->n_closures, 1);
    assert_string_equal(p->closures[0].id, "renovation");
    assert_int_equal(p->closures[0].from_day, hb_days_from_civil(2027, 1, 11));
    assert_int_equal(p->closures[0].to_day, hb_days_from_civil(2027, 1, 15));
    assert_string_equal(p->closures[0].notice, "Closed for works");
    assert_int_equal(p->closures[0].n_divert, 1);
    assert_string_equal(p->closures[0].divert_to[0], "H007");
    assert_int_equal(p->n_divert, 1); /* arrays replace: the hall's list, not the city's */
    assert_string_equal(p->divert_to[0], "H004");
    /* Waits: "*:vip" was removed by the city; the others stack up. */
    assert_int_equal(p->n_wait, 3);
    assert_int_equal(hb_policy_max_wait_s(p, "A", 2), 240);
    assert_int_equal(hb_policy_max_wait_s(p, "A", 1), 600);
    assert_int_equal(hb_policy_max_wait_s(p, "B", 2), 1200);
    assert_int_equal(hb_policy_ack_s(p, 4), 3600);
    assert_int_equal(hb_policy_ack_s(p, 2), 14400);
    assert_int_equal(hb_policy_resolve_s(p, 4), 57600); /* nobody set it: the default */
    assert_int_equal(p->diversion_threshold, 25);
    assert_int_equal(p->n_echannels, 2);
    assert_string_equal(p->echannels[0], "app");
    assert_string_equal(p->echannels[1], "phone");
    assert_int_equal(p->max_concurrent_campaigns, 2);
    assert_int_equal(p->lead_days, 7);
    assert_true(p->city_overlap_error);
    assert_int_equal(p->device_fault_s, 1800);
    assert_int_equal(p->not_open_grace_s, 600);
    hb_policy_free(&p);
}

/* ---- opening hours */

static const char s_berlin_hall[] =
    "{\"timezone\": \"Europe/Berlin\","
    " \"opening_hours\": {\"mon\": [\"09:00-12:30\", \"13:30-17:00\"],"
    "   \"tue\": [\"09:00-12:30\", \"13:30-17:00\"], \"wed\": [\"09:00-12:30\", \"13:30-17:00\"],"
    "   \"thu\": [\"09:00-12:30\", \"13:30-17:00\"], \"fri\": [\"09:00-12:30\", \"13:30-17:00\"],"
    "   \"sat\": [\"10:00-14:00\"], \"sun\": []},"
    " \"special_days\": {\"2026-12-24\": {\"hours\": [\"09:00-12:00\"], \"note\": \"Christmas "
    "Eve\"},"
    "   \"2026-12-25\": {\"hours\": [], \"note\": \"Christmas Day\"}},"
    " \"closures\": {\"renovation\": {\"from\": \"2027-01-11\", \"to\": \"2027-01-15\","
    "   \"notice\": \"Closed for works\", \"divert_to\": [\"H007\"]}},"
    " \"divert_to\": [\"H002\", \"H003\"]}";

HBT_TEST(test_open_at_states)
{
    (void)state;
    hb_policy_t *p = s_policy(s_berlin_hall);
    hb_open_info_t info;

    /* Open on a Tuesday morning, until the lunch break. */
    hb_policy_open_at(p, s_at(p, "2026-12-01", 10, 0), &info);
    assert_int_equal(info.state, HB_OPEN_NOW);
    assert_int_equal(info.closes_ms, s_at(p, "2026-12-01", 12, 30));
    assert_null(info.note);
    assert_int_equal(info.n_divert, 2);
    assert_string_equal(info.divert_to[0], "H002");
    assert_string_equal(info.divert_to[1], "H003");
    /* The first instant of an interval is open; its end is not. */
    hb_policy_open_at(p, s_at(p, "2026-12-01", 9, 0), &info);
    assert_int_equal(info.state, HB_OPEN_NOW);
    hb_policy_open_at(p, s_at(p, "2026-12-01", 12, 30), &info);
    assert_int_equal(info.state, HB_CLOSED_OUTSIDE_HOURS);
    assert_int_equal(info.next_open_ms, s_at(p, "2026-12-01", 13, 30));
    /* Evening: the next morning. Before opening: this morning. */
    hb_policy_open_at(p, s_at(p, "2026-12-01", 17, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_OUTSIDE_HOURS);
    assert_int_equal(info.next_open_ms, s_at(p, "2026-12-02", 9, 0));
    hb_policy_open_at(p, s_at(p, "2026-12-01", 6, 0), &info);
    assert_int_equal(info.next_open_ms, s_at(p, "2026-12-01", 9, 0));
    assert_string_equal(hb_closed_reason_name(info.state), "outside_hours");
    /* Sunday: the weekday is closed; Monday morning next. */
    hb_policy_open_at(p, s_at(p, "2026-12-06", 11, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_WEEKDAY);
    assert_string_equal(hb_closed_reason_name(info.state), "closed_weekday");
    assert_int_equal(info.next_open_ms, s_at(p, "2026-12-07", 9, 0));
    /* Christmas Eve: short hours with a note, open and closed. */
    hb_policy_open_at(p, s_at(p, "2026-12-24", 10, 0), &info);
    assert_int_equal(info.state, HB_OPEN_NOW);
    assert_int_equal(info.closes_ms, s_at(p, "2026-12-24", 12, 0));
    assert_string_equal(info.note, "Christmas Eve");
    hb_policy_open_at(p, s_at(p, "2026-12-24", 13, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_OUTSIDE_HOURS);
    assert_string_equal(info.note, "Christmas Eve");
    assert_int_equal(info.next_open_ms, s_at(p, "2026-12-26", 10, 0)); /* Saturday */
    /* Christmas Day: a holiday. */
    hb_policy_open_at(p, s_at(p, "2026-12-25", 10, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_SPECIAL_DAY);
    assert_string_equal(hb_closed_reason_name(info.state), "holiday");
    assert_string_equal(info.note, "Christmas Day");
    assert_int_equal(info.n_divert, 2);
    assert_int_equal(info.next_open_ms, s_at(p, "2026-12-26", 10, 0));
    /* The closure: its notice, its diversion, the Saturday after it. */
    hb_policy_open_at(p, s_at(p, "2027-01-12", 10, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_CLOSURE);
    assert_string_equal(hb_closed_reason_name(info.state), "closure");
    assert_string_equal(info.note, "Closed for works");
    assert_int_equal(info.n_divert, 1);
    assert_string_equal(info.divert_to[0], "H007");
    assert_int_equal(info.next_open_ms, s_at(p, "2027-01-16", 10, 0));
    /* Its first and last days are included, local dates. */
    hb_policy_open_at(p, s_at(p, "2027-01-11", 0, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_CLOSURE);
    hb_policy_open_at(p, s_at(p, "2027-01-15", 23, 59), &info);
    assert_int_equal(info.state, HB_CLOSED_CLOSURE);
    hb_policy_open_at(p, s_at(p, "2027-01-10", 23, 59), &info);
    assert_int_equal(info.state, HB_CLOSED_WEEKDAY);
    assert_int_equal(info.n_divert, 2);
    assert_string_equal(hb_closed_reason_name((hb_closed_reason_t)99), "unknown");

    /* hours_on: special day over weekday, closure over everything. */
    hb_hours_t h;
    hb_policy_hours_on(p, hb_days_from_civil(2026, 12, 24), &h);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.iv[0].to, 720);
    hb_policy_hours_on(p, hb_days_from_civil(2026, 12, 23), &h);
    assert_int_equal(h.n, 2);
    hb_policy_hours_on(p, hb_days_from_civil(2027, 1, 13), &h);
    assert_int_equal(h.n, 0);
    hb_policy_free(&p);
}

HBT_TEST(test_next_open_search)
{
    (void)state;
    /* Friday evening; the weekend; Monday a holiday; Tuesday and Wednesday
     * a closure: Thursday morning is next. */
    hb_policy_t *p =
        s_policy("{\"timezone\": \"Europe/Berlin\","
                 " \"special_days\": {\"2026-05-11\": {\"note\": \"Local holiday\"}},"
                 " \"closures\": {\"floor\": {\"from\": \"2026-05-12\", \"to\": \"2026-05-13\"}}}");
    hb_open_info_t info;
    hb_policy_open_at(p, s_at(p, "2026-05-08", 18, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_OUTSIDE_HOURS);
    assert_int_equal(info.next_open_ms, s_at(p, "2026-05-14", 9, 0));
    hb_policy_open_at(p, s_at(p, "2026-05-11", 10, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_SPECIAL_DAY);
    assert_string_equal(info.note, "Local holiday");
    hb_policy_open_at(p, s_at(p, "2026-05-12", 10, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_CLOSURE);
    assert_null(info.note); /* a closure without a notice */
    assert_int_equal(info.n_divert, 0);
    hb_policy_free(&p);

    /* A hall that never opens: nothing within the horizon. */
    p = s_policy("{\"opening_hours\": {\"mon\": [], \"tue\": [], \"wed\": [], \"thu\": [],"
                 " \"fri\": []}}");
    hb_policy_open_at(p, s_at(p, "2026-05-08", 10, 0), &info);
    assert_int_equal(info.state, HB_CLOSED_WEEKDAY);
    assert_int_equal(info.next_open_ms, 0);
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-05-08", 10, 0), 60), INT64_MAX);
    assert_int_equal(hb_policy_open_seconds(p, 0, s_at(p, "2027-05-08", 10, 0)), 0);
    hb_policy_free(&p);
}

HBT_TEST(test_add_open_time)
{
    (void)state;
    hb_policy_t *p = s_policy("{\"timezone\": \"Europe/Berlin\","
                              " \"special_days\": {\"2026-12-24\": {\"hours\": []}}}");
    /* The contract's example: Friday 16:30 plus 4 opening hours. */
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-12-04", 16, 30), 4 * 3600),
                     s_at(p, "2026-12-07", 12, 30));
    /* Across a holiday: Wednesday 15:00 plus 8 hours skips Thursday. */
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-12-23", 15, 0), 8 * 3600),
                     s_at(p, "2026-12-25", 15, 0));
    /* From closed time, the clock starts at the next opening. */
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-12-05", 11, 0), 3600),
                     s_at(p, "2026-12-07", 10, 0));
    /* Exactly to the close is the close, not the next morning. */
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-12-07", 9, 0), 8 * 3600),
                     s_at(p, "2026-12-07", 17, 0));
    assert_int_equal(hb_policy_add_open_time(p, 12345, 0), 12345);
    assert_int_equal(hb_policy_add_open_time(p, 12345, -5), 12345);
    assert_int_equal(hb_policy_add_open_time(p, 0, INT64_MAX), INT64_MAX);
    /* More opening time than the 400-day horizon holds. */
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-12-07", 9, 0), 300LL * 8 * 3600),
                     INT64_MAX);
    int64_t far = hb_policy_add_open_time(p, s_at(p, "2026-12-07", 9, 0), 200LL * 8 * 3600);
    assert_true(far != INT64_MAX && far > s_at(p, "2027-08-01", 0, 0));
    hb_policy_free(&p);

    /* A DST night in Berlin, in a hall open round the clock: the night of
     * 29 March 2026 has 23 hours, that of 25 October 25. */
    p = s_policy(
        "{\"timezone\": \"Europe/Berlin\", \"opening_hours\": {"
        "\"mon\": [\"00:00-24:00\"], \"tue\": [\"00:00-24:00\"], \"wed\": [\"00:00-24:00\"],"
        " \"thu\": [\"00:00-24:00\"], \"fri\": [\"00:00-24:00\"], \"sat\": [\"00:00-24:00\"],"
        " \"sun\": [\"00:00-24:00\"]}}");
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-03-28", 12, 0), 24 * 3600),
                     s_at(p, "2026-03-29", 13, 0));
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-10-24", 12, 0), 24 * 3600),
                     s_at(p, "2026-10-25", 11, 0));
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2026-03-29", 0, 0), s_at(p, "2026-03-30", 0, 0)),
        23 * 3600);
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2026-10-25", 0, 0), s_at(p, "2026-10-26", 0, 0)),
        25 * 3600);
    /* Open round the clock: the hall never closes within the horizon. */
    hb_open_info_t info;
    hb_policy_open_at(p, s_at(p, "2026-10-25", 2, 30), &info);
    assert_int_equal(info.state, HB_OPEN_NOW);
    assert_int_equal(info.closes_ms, INT64_MAX);
    hb_policy_free(&p);

    /* A night hall across the spring-forward night: 00:00-04:00 holds
     * three hours that night, so 3.5 hours run into the next night. */
    p = s_policy(
        "{\"timezone\": \"Europe/Berlin\", \"opening_hours\": {"
        "\"mon\": [\"00:00-04:00\"], \"tue\": [\"00:00-04:00\"], \"wed\": [\"00:00-04:00\"],"
        " \"thu\": [\"00:00-04:00\"], \"fri\": [\"00:00-04:00\"], \"sat\": [\"00:00-04:00\"],"
        " \"sun\": [\"00:00-04:00\"]}}");
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-03-29", 0, 0), 3 * 3600 + 1800),
                     s_at(p, "2026-03-30", 0, 30));
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2026-03-29", 0, 0), s_at(p, "2026-03-29", 12, 0)),
        3 * 3600);
    hb_policy_free(&p);

    /* An interval ending inside the skipped hour (02:59, taken as 03:59
     * CEST) and the next starting at 03:00 CEST: the two must not count the
     * hour between twice. */
    p = s_policy("{\"timezone\": \"Europe/Berlin\", \"opening_hours\": {"
                 "\"sun\": [\"00:00-02:59\", \"03:00-24:00\"]}}");
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2026-03-29", 0, 0), s_at(p, "2026-03-30", 0, 0)),
        23 * 3600);
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-03-29", 0, 0), 23 * 3600),
                     s_at(p, "2026-03-30", 0, 0));
    hb_policy_free(&p);

    /* Open 24 hours Monday to Friday: Monday's 24:00 joins Tuesday's 00:00,
     * and the hall closes only at the start of Saturday. */
    p = s_policy("{\"opening_hours\": {\"mon\": [\"00:00-24:00\"], \"tue\": [\"00:00-24:00\"],"
                 " \"wed\": [\"00:00-24:00\"], \"thu\": [\"00:00-24:00\"],"
                 " \"fri\": [\"00:00-12:00\", \"12:00-24:00\"]}}");
    hb_policy_open_at(p, s_at(p, "2026-12-07", 10, 0), &info);
    assert_int_equal(info.state, HB_OPEN_NOW);
    assert_int_equal(info.closes_ms, s_at(p, "2026-12-12", 0, 0));
    assert_int_equal(hb_policy_add_open_time(p, s_at(p, "2026-12-11", 20, 0), 5 * 3600),
                     s_at(p, "2026-12-14", 1, 0));
    hb_policy_free(&p);
}

HBT_TEST(test_open_seconds)
{
    (void)state;
    hb_policy_t *p = s_policy(s_berlin_hall);
    /* Friday 16:00 to Monday 10:00: one Friday hour, four Saturday hours,
     * one Monday hour. */
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2026-12-04", 16, 0), s_at(p, "2026-12-07", 10, 0)),
        6 * 3600);
    /* Inside one interval, across a lunch break, empty and reversed. */
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2026-12-01", 10, 0), s_at(p, "2026-12-01", 10, 15)),
        900);
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2026-12-01", 12, 0), s_at(p, "2026-12-01", 14, 0)),
        3600);
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2026-12-06", 0, 0), s_at(p, "2026-12-06", 23, 0)), 0);
    assert_int_equal(hb_policy_open_seconds(p, 5000, 5000), 0);
    assert_int_equal(hb_policy_open_seconds(p, 5000, 4000), 0);
    /* The whole closure week is worth nothing but its Saturday. */
    assert_int_equal(
        hb_policy_open_seconds(p, s_at(p, "2027-01-11", 0, 0), s_at(p, "2027-01-17", 0, 0)),
        4 * 3600);
    /* add_open_time and open_seconds agree, from many starting points. */
    int64_t start = s_at(p, "2026-12-01", 0, 0);
    for (int i = 0; i < 500; i++) {
        int64_t from = start + (int64_t)i * 7919 * 1000 * 13;
        int64_t need = 60 + (int64_t)(i * 4099) % (30 * 3600);
        int64_t due = hb_policy_add_open_time(p, from, need);
        assert_true(due != INT64_MAX);
        assert_int_equal(hb_policy_open_seconds(p, from, due), need);
    }
    hb_policy_free(&p);
}

/* ---- thresholds */

HBT_TEST(test_thresholds)
{
    (void)state;
    hb_policy_t *p = s_policy(
        "{\"sla\": {\"max_wait_s\": {\"*:*\": 1200, \"A:*\": 600, \"*:vip\": 300, \"A:vip\": 240,"
        " \"B-2:elderly\": 100},"
        " \"complaint_ack_s\": {\"*\": 14400, \"critical\": 3600},"
        " \"complaint_resolve_s\": {\"*\": 57600, \"high\": 28800, \"low\": 86400}}}");
    assert_int_equal(hb_policy_max_wait_s(p, "A", 2), 240);  /* exact */
    assert_int_equal(hb_policy_max_wait_s(p, "A", 1), 600);  /* service */
    assert_int_equal(hb_policy_max_wait_s(p, "B", 2), 300);  /* priority */
    assert_int_equal(hb_policy_max_wait_s(p, "B", 1), 1200); /* "*:*" */
    assert_int_equal(hb_policy_max_wait_s(p, "B-2", 3), 100);
    assert_int_equal(hb_policy_max_wait_s(p, "B-2", 2), 300);
    assert_int_equal(hb_policy_max_wait_s(p, NULL, 2), 300);
    assert_int_equal(hb_policy_max_wait_s(p, "A", 0), 600);
    assert_int_equal(hb_policy_ack_s(p, 4), 3600);
    assert_int_equal(hb_policy_ack_s(p, 1), 14400);
    assert_int_equal(hb_policy_ack_s(p, 0), 14400);
    assert_int_equal(hb_policy_ack_s(p, 99), 14400);
    assert_int_equal(hb_policy_resolve_s(p, 3), 28800);
    assert_int_equal(hb_policy_resolve_s(p, 1), 86400);
    assert_int_equal(hb_policy_resolve_s(p, 2), 57600);
    assert_int_equal(hb_policy_resolve_s(p, -1), 57600);
    hb_policy_free(&p);
}

/* ---- the JSON round trip */

static void s_assert_equal_policies(const hb_policy_t *a, const hb_policy_t *b)
{
    assert_string_equal(a->timezone, b->timezone);
    assert_ptr_equal(a->tz, b->tz);
    assert_memory_equal(a->week, b->week, sizeof a->week);
    assert_int_equal(a->n_special, b->n_special);
    for (size_t i = 0; i < a->n_special; i++) {
        assert_int_equal(a->special[i].day, b->special[i].day);
        assert_memory_equal(&a->special[i].hours, &b->special[i].hours, sizeof(hb_hours_t));
        assert_string_equal(a->special[i].note, b->special[i].note);
    }
    assert_int_equal(a->n_closures, b->n_closures);
    for (size_t i = 0; i < a->n_closures; i++) {
        const hb_closure_t *x = &a->closures[i], *y = &b->closures[i];
        assert_string_equal(x->id, y->id);
        assert_int_equal(x->from_day, y->from_day);
        assert_int_equal(x->to_day, y->to_day);
        assert_string_equal(x->notice, y->notice);
        assert_int_equal(x->n_divert, y->n_divert);
        for (size_t k = 0; k < x->n_divert; k++)
            assert_string_equal(x->divert_to[k], y->divert_to[k]);
    }
    assert_int_equal(a->n_divert, b->n_divert);
    for (size_t k = 0; k < a->n_divert; k++)
        assert_string_equal(a->divert_to[k], b->divert_to[k]);
    assert_int_equal(a->n_wait, b->n_wait);
    for (size_t i = 0; i < a->n_wait; i++) {
        assert_string_equal(a->wait[i].service, b->wait[i].service);
        assert_int_equal(a->wait[i].priority, b->wait[i].priority);
        assert_int_equal(a->wait[i].max_wait_s, b->wait[i].max_wait_s);
    }
    assert_memory_equal(a->complaint_ack_s, b->complaint_ack_s, sizeof a->complaint_ack_s);
    assert_memory_equal(a->complaint_resolve_s, b->complaint_resolve_s,
                        sizeof a->complaint_resolve_s);
    assert_int_equal(a->diversion_threshold, b->diversion_threshold);
    assert_int_equal(a->n_echannels, b->n_echannels);
    for (size_t k = 0; k < a->n_echannels; k++)
        assert_string_equal(a->echannels[k], b->echannels[k]);
    assert_int_equal(a->max_concurrent_campaigns, b->max_concurrent_campaigns);
    assert_int_equal(a->lead_days, b->lead_days);
    assert_int_equal(a->city_overlap_error, b->city_overlap_error);
    assert_int_equal(a->device_fault_s, b->device_fault_s);
    assert_int_equal(a->not_open_grace_s, b->not_open_grace_s);
}

static void s_round_trip(hb_policy_t *p)
{
    json_t *doc = hb_policy_to_json(p);
    assert_non_null(doc);
    char err[512] = "";
    if (hb_policy_check(doc, err, sizeof err) != 0)
        fail_msg("to_json gave a document the checker refuses: %s", err);
    hb_policy_t *q = NULL;
    assert_int_equal(hb_policy_new(doc, &q, err, sizeof err), 0);
    s_assert_equal_policies(p, q);
    json_t *again = hb_policy_to_json(q);
    assert_true(json_equal(doc, again));
    json_decref(again);
    json_decref(doc);
    hb_policy_free(&q);
}

HBT_TEST(test_to_json_round_trip)
{
    (void)state;
    hb_policy_t *p = s_effective();
    s_round_trip(p);
    hb_policy_free(&p);
    p = s_policy(s_berlin_hall);
    s_round_trip(p);
    hb_policy_free(&p);
    p = s_policy("{\"sla\": {\"complaint_ack_s\": {\"low\": 7200, \"high\": 3600},"
                 " \"complaint_resolve_s\": {\"critical\": 600}},"
                 " \"opening_hours\": {\"sun\": [\"00:00-06:00\", \"08:00-12:00\","
                 " \"13:00-18:00\", \"20:00-24:00\"]},"
                 " \"campaigns\": {\"city_overlap\": \"error\", \"lead_days\": 0},"
                 " \"diversion\": {\"echannels\": []}}");
    s_round_trip(p);
    json_t *doc = hb_policy_to_json(p);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(doc, "opening_hours"), "sun"), 3)),
                        "20:00-24:00");
    json_decref(doc);
    hb_policy_free(&p);
    p = s_policy("{}");
    s_round_trip(p);
    hb_policy_free(&p);
}

/* ---- limits */

HBT_TEST(test_limits)
{
    (void)state;
    /* 400 special days are fine, 401 are refused. */
    json_t *doc = json_object(), *special = json_object();
    json_object_set_new(doc, "special_days", special);
    int32_t first = hb_days_from_civil(2027, 1, 1);
    for (int i = 0; i < HB_POLICY_SPECIAL_MAX; i++) {
        char date[11];
        hb_date_format(first + i, date);
        json_object_set_new(special, date, json_pack("{s:[], s:s}", "hours", "note", "Holiday"));
    }
    hb_policy_t *p = NULL;
    char err[512] = "";
    assert_int_equal(hb_policy_new(doc, &p, err, sizeof err), 0);
    assert_int_equal(p->n_special, HB_POLICY_SPECIAL_MAX);
    assert_int_equal(p->special[399].day, first + 399);
    hb_policy_free(&p);
    json_object_set_new(special, "2030-01-01", json_object());
    s_refuse_doc(doc, "special_days", "at most 400");
    json_decref(doc);

    /* Notes of 511 bytes are fine, 512 are refused; the same for notices. */
    char note[HB_POLICY_NOTE_MAX + 1];
    memset(note, 'n', HB_POLICY_NOTE_MAX - 1);
    note[HB_POLICY_NOTE_MAX - 1] = '\0';
    doc = json_pack("{s:{s:{s:s}}, s:{s:{s:s, s:s, s:s}}}", "special_days", "2027-01-01", "note",
                    note, "closures", "works", "from", "2027-02-01", "to", "2027-02-02", "notice",
                    note);
    assert_int_equal(hb_policy_new(doc, &p, err, sizeof err), 0);
    assert_int_equal(strlen(p->special[0].note), HB_POLICY_NOTE_MAX - 1);
    assert_int_equal(strlen(p->closures[0].notice), HB_POLICY_NOTE_MAX - 1);
    hb_policy_free(&p);
    json_decref(doc);
    memset(note, 'n', HB_POLICY_NOTE_MAX);
    note[HB_POLICY_NOTE_MAX] = '\0';
    doc = json_pack("{s:{s:{s:s}}}", "special_days", "2027-01-01", "note", note);
    s_refuse_doc(doc, "special_days.2027-01-01.note", "at most 511 bytes");
    json_decref(doc);
    doc = json_pack("{s:{s:{s:s}}}", "closures", "works", "notice", note);
    s_refuse_doc(doc, "closures.works.notice", "at most 511 bytes");
    json_decref(doc);
    /* Multi-byte text is measured in bytes: 170 three-byte characters fit,
     * 171 do not. */
    char wide[600] = "";
    for (int i = 0; i < 171; i++)
        strcat(wide, "\xe2\x82\xac"); /* EURO SIGN */
    doc = json_pack("{s:{s:{s:s}}}", "special_days", "2027-01-01", "note", wide);
    s_refuse_doc(doc, "special_days.2027-01-01.note", "bytes");
    json_decref(doc);
    wide[170 * 3] = '\0';
    doc = json_pack("{s:{s:{s:s}}}", "special_days", "2027-01-01", "note", wide);
    assert_int_equal(hb_policy_check(doc, NULL, 0), 0);
    json_decref(doc);

    /* 32 closures, 256 wait rules; one more of each is refused. */
    doc = json_object();
    json_t *closures = json_object();
    json_object_set_new(doc, "closures", closures);
    for (int i = 0; i < HB_POLICY_CLOSURES_MAX; i++) {
        char id[16], from[11];
        snprintf(id, sizeof id, "c%d", i);
        hb_date_format(first + 10 * i, from);
        json_object_set_new(closures, id, json_pack("{s:s, s:s}", "from", from, "to", from));
    }
    json_t *waits = json_object();
    json_object_set_new(doc, "sla", json_pack("{s:o}", "max_wait_s", waits));
    for (int i = 0; i < HB_POLICY_WAIT_RULES_MAX; i++) {
        char key[32];
        snprintf(key, sizeof key, "S%d:*", i);
        json_object_set_new(waits, key, json_integer(60 + i));
    }
    assert_int_equal(hb_policy_new(doc, &p, err, sizeof err), 0);
    assert_int_equal(p->n_closures, HB_POLICY_CLOSURES_MAX);
    /* The defaults' "*:*" comes on top of the document's 256 rules. */
    assert_int_equal(p->n_wait, HB_POLICY_WAIT_RULES_MAX + 1);
    assert_int_equal(hb_policy_max_wait_s(p, "S7", 1), 67);
    hb_policy_free(&p);
    json_object_set_new(waits, "extra:*", json_integer(60));
    s_refuse_doc(doc, "sla.max_wait_s", "at most 256");
    json_object_del(waits, "extra:*");
    json_object_set_new(closures, "extra",
                        json_pack("{s:s, s:s}", "from", "2030-01-01", "to", "2030-01-02"));
    s_refuse_doc(doc, "closures", "at most 32");
    json_decref(doc);

    /* Four intervals a day are fine. */
    s_accept("{\"opening_hours\": {\"mon\": [\"01:00-02:00\", \"03:00-04:00\", \"05:00-06:00\","
             " \"07:00-24:00\"]}}");
    /* Touching intervals do not overlap. */
    s_accept("{\"opening_hours\": {\"mon\": [\"09:00-12:00\", \"12:00-17:00\"]}}");
}

/* ---- revoked devices */

HBT_TEST(test_revoked_devices)
{
    static const struct {
        const char *doc, *path, *reason;
    } cases[] = {
        {"{\"revoked_devices\": {}}", "revoked_devices", "must be an array"},
        {"{\"revoked_devices\": [\"K1\"]}", "revoked_devices[0]", "must be {\"device\""},
        {"{\"revoked_devices\": [{}]}", "revoked_devices[0]",
         "a device or a token, one of the two"},
        {"{\"revoked_devices\": [{\"device\": \"K1\", \"token\": \"0123456789abcdef\"}]}",
         "revoked_devices[0]", "one of the two"},
        {"{\"revoked_devices\": [{\"device\": 7}]}", "revoked_devices[0]", "one of the two"},
        {"{\"revoked_devices\": [{\"device\": \"a b\"}]}", "revoked_devices[0].device",
         "a device name"},
        {"{\"revoked_devices\": [{\"device\": \"\"}]}", "revoked_devices[0].device",
         "a device name"},
        {"{\"revoked_devices\": [{\"token\": \"0123456789ABCDEF\"}]}", "revoked_devices[0].token",
         "16 lower-case hex digits"},
        {"{\"revoked_devices\": [{\"token\": \"0123456789abcde\"}]}", "revoked_devices[0].token",
         "16 lower-case hex digits"},
        {"{\"revoked_devices\": [{\"device\": \"K1\", \"paired_before\": \"yesterday\"}]}",
         "revoked_devices[0].paired_before", "RFC 3339"},
        {"{\"revoked_devices\": [{\"device\": \"K1\", \"paired_before\": null}]}",
         "revoked_devices[0].paired_before", "RFC 3339"},
        {"{\"revoked_devices\": [{\"device\": \"K1\", \"paired_before\": "
         "\"1970-01-01T00:00:00Z\"}]}",
         "revoked_devices[0].paired_before", "after 1970"},
        {"{\"revoked_devices\": [{\"token\": \"0123456789abcdef\", \"paired_before\": "
         "\"2026-01-01T00:00:00Z\"}]}",
         "revoked_devices[0].paired_before", "goes with a device, not a token"},
        {"{\"revoked_devices\": [{\"device\": \"K1\", \"colour\": \"red\"}]}",
         "revoked_devices[0].colour", "is not a member"},
        {"{\"revoked_devices\": [{\"device\": \"K1\"}, {\"device\": \"K1\", \"paired_before\": "
         "\"2026-01-01T00:00:00Z\"}]}",
         "revoked_devices[1]", "appears twice"},
        {"{\"revoked_devices\": [{\"token\": \"0123456789abcdef\"}, {\"token\": "
         "\"0123456789abcdef\"}]}",
         "revoked_devices[1]", "appears twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_refuse(cases[i].doc, cases[i].path, cases[i].reason);

    /* What is read, in the document's order; null removes a wider list. */
    hb_policy_t *p = s_policy("{\"revoked_devices\": [{\"device\": \"kiosk-2\", \"paired_before\": "
                              "\"2026-05-04T10:00:00.250Z\"}, {\"token\": \"3f9c0a1b2c3d4e5f\"}, "
                              "{\"device\": \"T.3\"}]}");
    assert_int_equal(p->n_revoked, 3);
    assert_string_equal(p->revoked[0].device, "kiosk-2");
    assert_string_equal(p->revoked[0].token, "");
    int64_t at;
    assert_int_equal(hb_time_parse("2026-05-04T10:00:00.250Z", &at), 0);
    assert_int_equal(p->revoked[0].paired_before_ms, at);
    assert_string_equal(p->revoked[1].device, "");
    assert_string_equal(p->revoked[1].token, "3f9c0a1b2c3d4e5f");
    assert_int_equal(p->revoked[1].paired_before_ms, 0);
    assert_string_equal(p->revoked[2].device, "T.3");
    assert_int_equal(p->revoked[2].paired_before_ms, 0);
    s_round_trip(p);
    json_t *doc = hb_policy_to_json(p);
    json_t *back = hb_policy_merge(doc, NULL);
    hb_policy_t *q = NULL;
    char err[512];
    assert_int_equal(hb_policy_new(back, &q, err, sizeof err), 0);
    assert_int_equal(q->n_revoked, 3);
    assert_memory_equal(q->revoked, p->revoked, 3 * sizeof *p->revoked);
    hb_policy_free(&q);
    json_t *narrower = s_json("{\"revoked_devices\": null}");
    json_t *merged = hb_policy_merge(doc, narrower);
    assert_int_equal(hb_policy_new(merged, &q, err, sizeof err), 0);
    assert_int_equal(q->n_revoked, 0);
    hb_policy_free(&q);
    json_decref(merged);
    json_decref(narrower);
    json_decref(back);
    json_decref(doc);
    hb_policy_free(&p);

    /* Nothing revoked: the member is left out of the written document, so
     * that a hall that predates it reads the document. */
    p = s_policy("{\"revoked_devices\": []}");
    assert_int_equal(p->n_revoked, 0);
    doc = hb_policy_to_json(p);
    assert_null(json_object_get(doc, "revoked_devices"));
    assert_int_equal(json_object_size(doc), 9);
    json_decref(doc);
    hb_policy_free(&p);

    /* 64 entries are fine, 65 are refused. */
    char text[8192];
    size_t used = (size_t)snprintf(text, sizeof text, "{\"revoked_devices\": [");
    for (int i = 0; i < HB_POLICY_REVOKED_MAX; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s{\"device\": \"D%d\"}",
                                 i ? ", " : "", i);
    snprintf(text + used, sizeof text - used, "]}");
    s_accept(text);
    snprintf(text + used, sizeof text - used, ", {\"device\": \"one-more\"}]}");
    s_refuse(text, "revoked_devices", "at most 64");
}
