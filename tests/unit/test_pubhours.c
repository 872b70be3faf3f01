/* Unit tests of hqd/control/pubhours.c on a real control store: the public
 * hours of halls in two zones (one changing its clocks within the days
 * shown), a holiday and a closure with a diversion and a notice that needs
 * escaping; the JSON answer against hours written out by hand; the
 * iCalendar feed read back by Debian's python3-icalendar through
 * tests/support/icscheck.py (lines, folds, VTIMEZONE against the system's
 * zone database), event by event against the JSON; the escaping and
 * folding on their own; every refusal. */
#include "control.h"
#include "harness.h"
#include "pubhours.h"

#include "hallbus/error.h"
#include "hallbus/text.h"
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

#define PYTHON "/usr/bin/python3"
#define ICSCHECK HB_SOURCE_DIR "/tests/support/icscheck.py"

typedef struct world {
    char dir[256];
    hq_control_t *c;
} world_t;

static json_t *s_json(const char *text) { return hbt_json_exact(text, JSON_REJECT_DUPLICATES); }

#define NOTICE "Closed for works; back soon, thanks \\o/ 装修暂停营业，请谅解"
#define NOTICE_JSON "Closed for works; back soon, thanks \\\\o/ 装修暂停营业，请谅解"

static const char s_org[] =
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"HQ\",\"level\":\"national\"},"
    "{\"id\":\"P1\",\"name\":\"East\",\"level\":\"province\",\"parent\":\"CN\"},"
    "{\"id\":\"SH\",\"name\":\"Shanghai\",\"level\":\"city\",\"parent\":\"P1\"},"
    "{\"id\":\"P2\",\"name\":\"Abroad\",\"level\":\"province\",\"parent\":\"CN\"},"
    "{\"id\":\"BE\",\"name\":\"Berlin\",\"level\":\"city\",\"parent\":\"P2\"}],"
    "\"halls\":[{\"id\":\"SH1\",\"city\":\"SH\",\"name\":\"人民广场营业厅\","
    "\"address\":\"上海市黄浦区人民大道 1 号\"},"
    "{\"id\":\"SH2\",\"city\":\"SH\",\"name\":\"Pudong, Century Avenue; branch\"},"
    "{\"id\":\"BE1\",\"city\":\"BE\",\"name\":\"Unter den Linden\"}]}";

static int s_setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    hbt_mkdtemp(w->dir, sizeof w->dir, "pubhours");
    char err[512] = "";
    if (hq_control_open(w->dir, &w->c, err, sizeof err) != 0)
        fail_msg("hq_control_open: %s", err);
    json_t *org = s_json(s_org);
    if (hq_control_set_org(w->c, org, err, sizeof err) != 0)
        fail_msg("org: %s", err);
    json_decref(org);
    static const struct {
        const char *scope, *doc;
    } docs[] = {
        {"national",
         "{\"timezone\":\"Asia/"
         "Shanghai\",\"opening_hours\":{\"mon\":[\"09:00-12:00\",\"13:00-17:00\"],"
         "\"tue\":[\"09:00-17:00\"],\"wed\":[\"09:00-17:00\"],\"thu\":[\"09:00-17:00\"],"
         "\"fri\":[\"09:00-17:00\"],\"sat\":[\"10:00-24:00\"],\"sun\":[]}}"},
        {"region/BE", "{\"timezone\":\"Europe/Berlin\"}"},
        {"hall/SH2",
         "{\"special_days\":{\"2026-03-24\":{\"hours\":[],\"note\":\"Staff day, 员工培训\"},"
         "\"2026-03-25\":{\"hours\":[\"10:00-12:00\"],\"note\":\"Short day\"}},"
         "\"closures\":{\"works\":{\"from\":\"2026-03-30\",\"to\":\"2026-04-02\","
         "\"notice\":\"" NOTICE_JSON "\",\"divert_to\":[\"SH1\"]},"
         "\"old\":{\"from\":\"2026-01-05\",\"to\":\"2026-01-06\"}}}"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *d = s_json(docs[i].doc);
        if (hq_control_put_policy(w->c, docs[i].scope, d, err, sizeof err) != 0)
            fail_msg("policy %s: %s", docs[i].scope, err);
        json_decref(d);
    }
    uint64_t v;
    if (hq_control_publish_policies(w->c, "test", &v, err, sizeof err) != 0)
        fail_msg("publish: %s", err);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hq_control_close(&w->c);
    hbt_rmdir(w->dir);
    free(w);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

/* 2026-03-20 12:00 UTC, a Friday: Berlin goes to summer time on the 29th. */
static int64_t s_now(void)
{
    int64_t ms;
    assert_int_equal(hb_time_parse("2026-03-20T12:00:00Z", &ms), 0);
    return ms;
}

/* The element of the array `list` whose string member `key` is `value`. */
static json_t *s_find(json_t *list, const char *key, const char *value)
{
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(list, i), key)), value) == 0)
            return json_array_get(list, i);
    fail_msg("no %s %s", key, value);
    return NULL;
}

static json_t *s_hall(json_t *doc, const char *id)
{
    return s_find(json_object_get(doc, "halls"), "hall", id);
}

static json_t *s_day(json_t *hall, const char *date)
{
    return s_find(json_object_get(hall, "days"), "date", date);
}

static void s_hours_are(json_t *day, const char *want)
{
    char *got = json_dumps(json_object_get(day, "hours"), JSON_COMPACT);
    if (strcmp(got, want) != 0)
        fail_msg("%s: hours %s, want %s", json_string_value(json_object_get(day, "date")), got,
                 want);
    free(got);
}

HBT_TEST(test_json_hours_by_hand)
{
    world_t *w = *state;
    char err[256] = "";
    json_t *doc = NULL;
    hq_pubhours_query_t q = {.now_ms = s_now(), .days = 20};
    assert_int_equal(hq_pubhours_json(w->c, &q, &doc, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "halls")), 3);
    assert_int_equal(json_integer_value(json_object_get(doc, "days")), 20);
    json_t *sh1 = s_hall(doc, "SH1"), *sh2 = s_hall(doc, "SH2"), *be1 = s_hall(doc, "BE1");
    assert_string_equal(json_string_value(json_object_get(sh1, "timezone")), "Asia/Shanghai");
    assert_string_equal(json_string_value(json_object_get(be1, "timezone")), "Europe/Berlin");
    assert_string_equal(json_string_value(json_object_get(sh1, "city")), "SH");
    assert_string_equal(json_string_value(json_object_get(sh1, "name")), "人民广场营业厅");
    assert_int_equal(json_array_size(json_object_get(sh1, "days")), 20);
    /* 2026-03-20 is a Friday, the 21st a Saturday, 22nd a Sunday, 23rd a Monday. */
    s_hours_are(s_day(sh1, "2026-03-20"), "[\"09:00-17:00\"]");
    s_hours_are(s_day(sh1, "2026-03-21"), "[\"10:00-24:00\"]");
    json_t *sun = s_day(sh1, "2026-03-22");
    s_hours_are(sun, "[]");
    assert_string_equal(json_string_value(json_object_get(sun, "closed")), "closed_weekday");
    s_hours_are(s_day(sh1, "2026-03-23"), "[\"09:00-12:00\",\"13:00-17:00\"]");
    assert_true(json_is_null(json_object_get(s_day(sh1, "2026-03-23"), "closed")));
    json_t *staff = s_day(sh2, "2026-03-24");
    s_hours_are(staff, "[]");
    assert_string_equal(json_string_value(json_object_get(staff, "closed")), "holiday");
    assert_string_equal(json_string_value(json_object_get(staff, "note")), "Staff day, 员工培训");
    s_hours_are(s_day(sh2, "2026-03-25"), "[\"10:00-12:00\"]");
    json_t *works = s_day(sh2, "2026-03-31");
    assert_string_equal(json_string_value(json_object_get(works, "closed")), "closure");
    assert_string_equal(json_string_value(json_object_get(works, "note")), NOTICE);
    /* The closure that ended in January is not listed; the coming one is. */
    json_t *cl = json_object_get(sh2, "closures");
    assert_int_equal(json_array_size(cl), 1);
    json_t *c0 = json_array_get(cl, 0);
    assert_string_equal(json_string_value(json_object_get(c0, "id")), "works");
    assert_string_equal(json_string_value(json_object_get(c0, "from")), "2026-03-30");
    assert_string_equal(json_string_value(json_object_get(c0, "to")), "2026-04-02");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c0, "divert_to"), 0)),
                        "SH1");
    assert_int_equal(json_array_size(json_object_get(sh2, "special_days")), 2);
    s_hours_are(s_day(be1, "2026-03-30"), "[\"09:00-12:00\",\"13:00-17:00\"]");
    json_decref(doc);

    /* One hall, one region. */
    q.hall = "BE1";
    assert_int_equal(hq_pubhours_json(w->c, &q, &doc, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "halls")), 1);
    json_decref(doc);
    q.hall = NULL;
    q.region = "P1";
    assert_int_equal(hq_pubhours_json(w->c, &q, &doc, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "halls")), 2);
    json_decref(doc);
}

HBT_TEST(test_refusals)
{
    world_t *w = *state;
    char err[256] = "";
    json_t *doc = NULL;
    char *text = NULL;
    size_t len;
    static const struct {
        const char *hall, *region;
        int32_t days;
        int rc;
        const char *why;
    } rows[] = {
        {NULL, NULL, 0, HB_EINVAL, "days must be 1 to 92"},
        {NULL, NULL, 93, HB_EINVAL, "days must be 1 to 92"},
        {"NOPE", NULL, 7, HB_ENOTFOUND, "no hall NOPE"},
        {NULL, "XX", 7, HB_ENOTFOUND, "no region XX"},
        {"BE1", "P1", 7, HB_ENOTFOUND, "no hall BE1 in that region"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hq_pubhours_query_t q = {.hall = rows[i].hall,
                                 .region = rows[i].region,
                                 .now_ms = s_now(),
                                 .days = rows[i].days};
        err[0] = '\0';
        assert_int_equal(hq_pubhours_json(w->c, &q, &doc, err, sizeof err), rows[i].rc);
        assert_null(doc);
        hbt_assert_contains(err, rows[i].why);
        err[0] = '\0';
        assert_int_equal(hq_pubhours_ics(w->c, &q, &text, &len, err, sizeof err), rows[i].rc);
        assert_null(text);
        hbt_assert_contains(err, rows[i].why);
    }
}

HBT_TEST_IN(test_escape_and_fold, NULL, NULL)
{
    hb_text_t t = HB_TEXT_INIT(1 << 16);
    hq_ics_escape(&t, "a,b;c\\d\ne\r\nf");
    assert_string_equal(t.p, "a\\,b\\;c\\\\d\\ne\\nf");
    hb_text_reset(&t);
    /* 100 three-byte characters after "SUMMARY:": folds at 75 octets at
     * most, each cut before a character. */
    char line[512] = "SUMMARY:";
    for (int i = 0; i < 100; i++)
        strcat(line, "营");
    hq_ics_line(&t, line, strlen(line));
    const char *p = t.p;
    size_t n_lines = 0, total = 0;
    for (;;) {
        const char *crlf = strstr(p, "\r\n");
        assert_non_null(crlf);
        size_t n = (size_t)(crlf - p);
        assert_true(n <= 75);
        if (n_lines > 0) {
            assert_int_equal(p[0], ' ');
            total += n - 1;
        } else {
            total += n;
        }
        /* Each physical line is whole characters: starts at a lead byte. */
        const unsigned char *s = (const unsigned char *)p + (n_lines ? 1 : 0);
        assert_true((*s & 0xC0) != 0x80);
        n_lines++;
        p = crlf + 2;
        if (!*p)
            break;
    }
    assert_int_equal(total, strlen(line));
    assert_true(n_lines >= 5);
    hb_text_free(&t);
}

/* Runs icscheck.py on `text`; its JSON (owned). */
static json_t *s_check(world_t *w, const char *text, size_t len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/hours.ics", w->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    static char out[1 << 20];
    int rc = hbt_run_args(out, sizeof out, PYTHON, ICSCHECK, path, NULL);
    if (rc != 0)
        fail_msg("icscheck.py (needs Debian's python3-icalendar: deploy/install-deps.sh): %d\n%s",
                 rc, out);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    if (!o)
        fail_msg("icscheck.py printed no JSON: %s\n%.2000s", jerr.text, out);
    return o;
}

static json_t *s_event(json_t *events, const char *uid)
{
    for (size_t i = 0; i < json_array_size(events); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(events, i), "uid")), uid) == 0)
            return json_array_get(events, i);
    fail_msg("no event %s", uid);
    return NULL;
}

HBT_TEST(test_ics_read_back)
{
    world_t *w = *state;
    char err[256] = "";
    hq_pubhours_query_t q = {.now_ms = s_now(), .days = 20};
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(hq_pubhours_ics(w->c, &q, &text, &len, err, sizeof err), 0);
    json_t *got = s_check(w, text, len);
    json_t *events = json_object_get(got, "events");
    char *zones = json_dumps(json_object_get(got, "zones"), JSON_COMPACT);
    assert_string_equal(zones, "[\"Asia/Shanghai\",\"Europe/Berlin\"]");
    free(zones);

    /* Every interval of every day of the JSON answer is one event with the
     * same local times in the hall's zone, and nothing else is timed. */
    json_t *doc = NULL;
    assert_int_equal(hq_pubhours_json(w->c, &q, &doc, err, sizeof err), 0);
    size_t timed = 0, want_timed = 0;
    json_t *halls = json_object_get(doc, "halls");
    for (size_t i = 0; i < json_array_size(halls); i++) {
        json_t *h = json_array_get(halls, i);
        const char *id = json_string_value(json_object_get(h, "hall"));
        json_t *days = json_object_get(h, "days");
        for (size_t d = 0; d < json_array_size(days); d++) {
            json_t *day = json_array_get(days, d);
            const char *date = json_string_value(json_object_get(day, "date"));
            json_t *hours = json_object_get(day, "hours");
            for (size_t k = 0; k < json_array_size(hours); k++) {
                const char *iv = json_string_value(json_array_get(hours, k));
                char uid[96], start[24], end[24];
                snprintf(uid, sizeof uid, "%s-%.4s%.2s%.2s-%zu@hallbus", id, date, date + 5,
                         date + 8, k + 1);
                json_t *ev = s_event(events, uid);
                snprintf(start, sizeof start, "%sT%.5s", date, iv);
                assert_string_equal(json_string_value(json_object_get(ev, "start")), start);
                if (strcmp(iv + 6, "24:00") != 0) {
                    snprintf(end, sizeof end, "%sT%.5s", date, iv + 6);
                    assert_string_equal(json_string_value(json_object_get(ev, "end")), end);
                }
                assert_string_equal(json_string_value(json_object_get(ev, "tzid")),
                                    json_string_value(json_object_get(h, "timezone")));
                want_timed++;
            }
        }
    }
    for (size_t i = 0; i < json_array_size(events); i++)
        timed += !json_is_true(json_object_get(json_array_get(events, i), "all_day"));
    assert_int_equal(timed, want_timed);
    json_decref(doc);

    /* Saturday's "24:00" ends at the next midnight. */
    json_t *sat = s_event(events, "SH1-20260321-1@hallbus");
    assert_string_equal(json_string_value(json_object_get(sat, "end")), "2026-03-22T00:00");
    assert_string_equal(json_string_value(json_object_get(sat, "summary")),
                        "人民广场营业厅: 营业 Open");
    assert_string_equal(json_string_value(json_object_get(sat, "location")),
                        "上海市黄浦区人民大道 1 号");
    /* Berlin's Monday after the clocks changed, still 09:00 local. */
    json_t *be = s_event(events, "BE1-20260330-1@hallbus");
    assert_string_equal(json_string_value(json_object_get(be, "start")), "2026-03-30T09:00");
    /* The holiday and the closure as all-day events; the notice's commas,
     * semicolons and backslash come back as written. */
    json_t *hol = s_event(events, "SH2-20260324-holiday@hallbus");
    assert_true(json_is_true(json_object_get(hol, "all_day")));
    assert_string_equal(json_string_value(json_object_get(hol, "description")),
                        "Staff day, 员工培训");
    json_t *cl = s_event(events, "SH2-closure-works@hallbus");
    assert_string_equal(json_string_value(json_object_get(cl, "start")), "2026-03-30T00:00");
    assert_string_equal(json_string_value(json_object_get(cl, "end")), "2026-04-03T00:00");
    assert_string_equal(json_string_value(json_object_get(cl, "summary")),
                        "Pudong, Century Avenue; branch: 暂停营业 Closed");
    assert_string_equal(json_string_value(json_object_get(cl, "description")),
                        NOTICE "\n请前往 / Please go to: SH1");
    json_decref(got);
    free(text);
}
