/* The reports and the archive from outside, with real processes: halls in
 * two time zones post events at chosen local times (around midnight, and
 * across both of Berlin's clock changes in 2026), and each lands in its
 * hall's local day and hour, at HQ, in a region holding both zones; a
 * counter open across midnight and across the repeated hour is cut where
 * the hall's clock says. Then the answers analysts get: CSV with a byte
 * order mark and no field a spreadsheet would run, rankings, which reports
 * are final and which were revised by late events, the archive searched
 * a page at a time, and a ticket's story. And every refusal: an unknown
 * scope (404), a malformed date, period, breakdown or format, a range too
 * long (400, naming the field), and archive searches without a bound. */
#include "world.h"

#include "hallbus/httpc.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define ORG                                                                                        \
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"全国\",\"level\":\"national\"},"                    \
    "{\"id\":\"P1\",\"name\":\"East\",\"level\":\"province\",\"parent\":\"CN\"},"                  \
    "{\"id\":\"C1\",\"name\":\"Twin\",\"level\":\"city\",\"parent\":\"P1\"}],"                     \
    "\"halls\":[{\"id\":\"T1\",\"city\":\"C1\",\"name\":\"上海营业厅\"},"                     \
    "{\"id\":\"T2\",\"city\":\"C1\",\"name\":\"Berlin\"}]}"

static const hbt_world_spec_t s_world = {
    .tag = "repapi", .halls = {"T1", "T2"}, .hq_args = {"--rollup_commit_every", "100ms"}};

/* The organisation and the policies before the halls start, so that they
 * run them. */
static int s_setup(void **state)
{
    hbt_world_setup(state);
    hbt_world_t *w = *state;
    hbt_req_ok(w->hq.http, "PUT", "/v1/org", ORG, 200);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/national", HBT_POLICY_OPEN_IN("Asia/Shanghai"),
               200);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/halls/T2", "{\"timezone\":\"Europe/Berlin\"}", 200);
    hbt_req_ok(w->hq.http, "POST", "/v1/policies/publish", "{}", 200);
    hbt_hall_set_engine(&w->hall[0], HBT_POLICY_OPEN_IN("Asia/Shanghai"), NULL);
    hbt_hall_set_engine(&w->hall[1], HBT_POLICY_OPEN_IN("Europe/Berlin"), NULL);
    hbt_hall_start(&w->hall[0]);
    hbt_hall_start(&w->hall[1]);
    return 0;
}

#define HBT_FIXTURE s_setup, hbt_world_teardown, &s_world

/* Posts events given as (local date, local time, JSON members) in the
 * hall's zone; `at` may also be given in UTC with a trailing 'Z'. */
typedef struct ev {
    const char *at; /* "2026-10-24T23:50:00+08:00" */
    const char *body;
} ev_t;

static void s_post(hbt_hall_t *h, const ev_t *evs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char text[1024];
        snprintf(text, sizeof text, "{\"at\":\"%s\",%s}", evs[i].at, evs[i].body);
        json_error_t jerr;
        json_t *o = json_loads(text, 0, &jerr);
        if (!o)
            fail_msg("bad test event %s: %s", text, jerr.text);
        json_array_append_new(arr, o);
    }
    char *body = json_dumps(arr, JSON_COMPACT);
    hbt_req_ok(h->http, "POST", "/v1/events", body, 200);
    free(body);
    json_decref(arr);
}

static void s_wait_rolled(hbt_world_t *w)
{
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 30000));
    assert_true(hbt_wait_synced(&w->hq, &w->hall[1], 30000));
    hbt_wait_rolled_up(&w->hq, "CN", "2026-10-24", 30000);
}

static json_t *s_kpi(hbt_world_t *w, const char *query)
{
    char path[512];
    snprintf(path, sizeof path, "/v1/reports/kpi?%s", query);
    json_t *o = NULL;
    int status = hbt_http(w->hq.http, "GET", path, NULL, &o);
    if (status != 200) {
        char *dump = o ? json_dumps(o, 0) : NULL;
        fail_msg("GET %s: %d: %.400s", path, status, dump ? dump : "");
    }
    return o;
}

/* The value of `field` in the row whose `key` member is the number `k`. */
static int64_t s_hour_row(const json_t *o, int hour, const char *field)
{
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(o, "rows"), i, r) {
        if (hbt_int(r, "hour") == hour)
            return hbt_int(r, field);
    }
    return 0;
}

static const ev_t s_t1_events[] = {
    /* Shanghai, UTC+8: ten to and ten past midnight are one UTC day apart
     * locally, the same UTC day. */
    {"2026-10-24T23:50:00+08:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"A001\",\"service\":\"A\",\"priority\":\"normal\","
     "\"source\":\"kiosk\""},
    {"2026-10-24T23:00:00+08:00", "\"type\":\"counter_opened\",\"counter\":\"1\",\"staff\":\"E1\","
                                  "\"services\":[\"A\"]"},
    {"2026-10-24T23:52:00+08:00",
     "\"type\":\"ticket_called\",\"ticket\":\"A001\",\"counter\":\"1\",\"rule\":\"fifo\","
     "\"wait_s\":120"},
    {"2026-10-24T23:53:00+08:00",
     "\"type\":\"service_started\",\"ticket\":\"A001\",\"counter\":\"1\",\"staff\":\"E1\""},
    {"2026-10-24T23:58:00+08:00",
     "\"type\":\"service_completed\",\"ticket\":\"A001\",\"counter\":\"1\",\"business_type\":"
     "\"=1+2\",\"outcome\":\"done\",\"duration_s\":300"},
    {"2026-10-24T23:59:00+08:00",
     "\"type\":\"satisfaction_scored\",\"ticket\":\"A001\",\"counter\":\"1\",\"score\":5"},
    {"2026-10-25T00:10:00+08:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"A002\",\"service\":\"A\",\"priority\":\"vip\","
     "\"source\":\"app\""},
    {"2026-10-25T00:20:00+08:00",
     "\"type\":\"complaint_opened\",\"complaint\":\"K1\",\"channel\":\"counter\",\"category\":"
     "\"waiting_time\",\"severity\":\"high\",\"ticket\":\"A001\",\"text\":\"slow\","
     "\"ack_due_ms\":1792859400000,\"resolve_due_ms\":1792863000000"},
    {"2026-10-25T00:30:00+08:00",
     "\"type\":\"complaint_acknowledged\",\"complaint\":\"K1\",\"by\":\"M1\""},
    {"2026-10-25T01:00:00+08:00", "\"type\":\"counter_closed\",\"counter\":\"1\""},
    {"2026-10-25T02:00:00+08:00",
     "\"type\":\"complaint_resolved\",\"complaint\":\"K1\",\"resolution\":\"apology\","
     "\"customer_satisfied\":true"},
};

static const ev_t s_t2_events[] = {
    /* Berlin: 23:59 CEST on the 24th; then the night summer time ends
     * (03:00 CEST becomes 02:00 CET): 02:30 happens twice. */
    {"2026-10-24T23:59:00+02:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"B001\",\"service\":\"B\",\"priority\":\"normal\","
     "\"source\":\"kiosk\""},
    {"2026-10-25T01:30:00+02:00", "\"type\":\"counter_opened\",\"counter\":\"7\",\"staff\":\"E7\","
                                  "\"services\":[\"B\"]"},
    {"2026-10-25T01:30:00+02:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"B002\",\"service\":\"B\",\"priority\":\"normal\","
     "\"source\":\"kiosk\""},
    {"2026-10-25T02:30:00+02:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"B003\",\"service\":\"B\",\"priority\":\"normal\","
     "\"source\":\"kiosk\""},
    {"2026-10-25T02:30:00+01:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"B004\",\"service\":\"B\",\"priority\":\"normal\","
     "\"source\":\"staff\""},
    {"2026-10-25T03:30:00+01:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"B005\",\"service\":\"B\",\"priority\":\"elderly\","
     "\"source\":\"kiosk\""},
    {"2026-10-25T03:30:00+01:00", "\"type\":\"counter_closed\",\"counter\":\"7\""},
    /* And the night it began (02:00 CET became 03:00 CEST). */
    {"2026-03-29T01:30:00+01:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"S001\",\"service\":\"B\",\"priority\":\"normal\","
     "\"source\":\"kiosk\""},
    {"2026-03-29T03:30:00+02:00",
     "\"type\":\"ticket_issued\",\"ticket\":\"S002\",\"service\":\"B\",\"priority\":\"normal\","
     "\"source\":\"kiosk\""},
};

/* The first `n1` events of T1's stream to the first hall and `n2` of T2's
 * to the second, then waits until HQ has them and has rolled them up. */
static void s_post_rolled(hbt_world_t *w, size_t n1, size_t n2)
{
    s_post(&w->hall[0], s_t1_events, n1);
    s_post(&w->hall[1], s_t2_events, n2);
    s_wait_rolled(w);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

HBT_TEST(test_local_days_and_hours)
{
    hbt_world_t *w = *state;
    s_post_rolled(w, N(s_t1_events), N(s_t2_events));

    /* T1: one ticket each side of its midnight (the same UTC day). */
    json_t *o = s_kpi(w, "scope=T1&period=day&date=2026-10-24&by=hour");
    assert_int_equal(hbt_int(o, "issued"), 1);
    assert_int_equal(s_hour_row(o, 23, "issued"), 1);
    /* Counter 1 opened 23:00 and closed 01:00: an hour each day. */
    assert_int_equal(hbt_int(o, "counter_open_s"), 3600);
    assert_int_equal(s_hour_row(o, 23, "counter_open_s"), 3600);
    assert_int_equal(hbt_int(o, "counter_busy_s"), 6 * 60); /* called 23:52, done 23:58 */
    assert_int_equal(hbt_int(o, "served"), 1);
    assert_int_equal(hbt_int(o, "wait_p50_s"), 120);
    json_decref(o);
    o = s_kpi(w, "scope=T1&period=day&date=2026-10-25&by=hour");
    assert_int_equal(hbt_int(o, "issued"), 1);
    assert_int_equal(s_hour_row(o, 0, "issued"), 1);
    assert_int_equal(hbt_int(o, "counter_open_s"), 3600);
    assert_int_equal(s_hour_row(o, 0, "counter_open_s"), 3600);
    /* Acknowledged 00:30, ten minutes late (due 00:20 + 10 min = 00:30:00
     * is in time; the due time was 00:30, given in ms); resolved 02:00,
     * after its 01:30 deadline: overdue once. */
    assert_int_equal(hbt_int(o, "complaints_opened"), 1);
    assert_int_equal(hbt_int(o, "complaints_acknowledged_in_sla"), 1);
    assert_int_equal(hbt_int(o, "complaints_resolved_in_sla"), 0);
    assert_int_equal(hbt_int(o, "complaints_overdue"), 1);
    json_decref(o);

    /* T2: 23:59 on the 24th; the 25th has four tickets, two of them at
     * 02:30 (the hour that happens twice), none at 03:00 on 29 March. */
    o = s_kpi(w, "scope=T2&period=day&date=2026-10-24");
    assert_int_equal(hbt_int(o, "issued"), 1);
    json_decref(o);
    o = s_kpi(w, "scope=T2&period=day&date=2026-10-25&by=hour");
    assert_int_equal(hbt_int(o, "issued"), 4);
    assert_int_equal(s_hour_row(o, 1, "issued"), 1);
    assert_int_equal(s_hour_row(o, 2, "issued"), 2);
    assert_int_equal(s_hour_row(o, 3, "issued"), 1);
    /* Counter 7: 01:30 CEST to 03:30 CET is three hours, two of them in
     * the hour of 2. */
    assert_int_equal(hbt_int(o, "counter_open_s"), 3 * 3600);
    assert_int_equal(s_hour_row(o, 1, "counter_open_s"), 1800);
    assert_int_equal(s_hour_row(o, 2, "counter_open_s"), 7200);
    assert_int_equal(s_hour_row(o, 3, "counter_open_s"), 1800);
    json_decref(o);
    o = s_kpi(w, "scope=T2&period=day&date=2026-03-29&by=hour");
    assert_int_equal(hbt_int(o, "issued"), 2);
    assert_int_equal(s_hour_row(o, 1, "issued"), 1);
    assert_int_equal(s_hour_row(o, 2, "issued"), 0);
    assert_int_equal(s_hour_row(o, 3, "issued"), 1);
    json_decref(o);

    /* The city holding both: each hall's own day. */
    o = s_kpi(w, "scope=C1&period=day&date=2026-10-25&by=hall");
    assert_int_equal(hbt_int(o, "issued"), 5);
    assert_int_equal(hbt_int(o, "halls"), 2);
    assert_int_equal(json_array_size(json_object_get(o, "rows")), 2);
    /* The previous day beside it. */
    assert_int_equal(hbt_int(json_object_get(o, "previous"), "issued"), 2);
    json_decref(o);
    o = s_kpi(w, "scope=CN&period=week&date=2026-10-21");
    assert_string_equal(json_string_value(json_object_get(o, "from")), "2026-10-19");
    assert_string_equal(json_string_value(json_object_get(o, "to")), "2026-10-25");
    assert_int_equal(hbt_int(o, "issued"), 7);
    json_decref(o);
    o = s_kpi(w, "scope=P1&period=month&date=2026-10-31");
    assert_int_equal(hbt_int(o, "issued"), 7);
    assert_int_equal(hbt_int(json_object_get(o, "by_business"), "=1+2"), 1);
    json_decref(o);
    o = s_kpi(w, "scope=C1&period=range&from=2026-03-01&to=2026-10-31");
    assert_int_equal(hbt_int(o, "issued"), 9);
    json_decref(o);

    /* The live view's "against the same weekday": Saturday 31 October
     * against the two Saturdays before; only the 24th had tickets, so the
     * typical is that day's (the 17th, closed, does not count). */
    o = hbt_get(w->hq.http, "/v1/reports/typical?hall=T1&date=2026-10-31&weeks=2");
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "weekday")), "sat");
    assert_int_equal(json_array_size(json_object_get(o, "compared")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "compared"), 0)),
                        "2026-10-24");
    assert_int_equal(json_array_size(json_object_get(o, "hours")), 24);
    json_t *h23 = json_array_get(json_object_get(o, "hours"), 23);
    assert_int_equal(hbt_int(h23, "issued"), 0);
    assert_true(json_real_value(json_object_get(h23, "typical_issued")) == 1.0);
    assert_true(json_real_value(json_object_get(h23, "typical_served")) == 1.0);
    assert_true(json_real_value(json_object_get(o, "typical_issued")) == 1.0);
    assert_true(json_is_null(json_object_get(o, "local_hour"))); /* not T1's today */
    json_decref(o);
    /* The 24th itself: its own figures, nothing to compare with. */
    o = hbt_get(w->hq.http, "/v1/reports/typical?hall=T1&date=2026-10-24");
    assert_non_null(o);
    assert_int_equal(hbt_int(o, "issued"), 1);
    assert_int_equal(hbt_int(json_array_get(json_object_get(o, "hours"), 23), "issued"), 1);
    assert_int_equal(json_array_size(json_object_get(o, "compared")), 0);
    assert_true(json_is_null(json_object_get(o, "typical_issued")));
    json_decref(o);
    /* Without a date: the hall's today so far, in its zone. */
    o = hbt_get(w->hq.http, "/v1/reports/typical?hall=T1");
    assert_non_null(o);
    hb_civil_t c;
    const hb_tz_t *sh;
    assert_int_equal(hb_tz_get("Asia/Shanghai", &sh, NULL, 0), 0);
    hb_tz_civil(sh, hb_now_ms(), &c);
    char today[11];
    snprintf(today, sizeof today, "%04d-%02d-%02d", c.year, c.month, c.day);
    assert_string_equal(json_string_value(json_object_get(o, "date")), today);
    int64_t lh = hbt_int(o, "local_hour");
    assert_true(lh == c.hour || lh == (c.hour + 23) % 24); /* an hour may turn meanwhile */
    json_decref(o);
}

HBT_TEST(test_exports_ranks_and_readiness)
{
    hbt_world_t *w = *state;
    s_post_rolled(w, N(s_t1_events), N(s_t2_events));

    /* CSV: the byte order mark, one header row, the JSON's columns, and
     * the business type that would be a formula made text. */
    hb_httpc_resp_t r;
    assert_int_equal(hbt_http_raw(w->hq.http, "GET",
                                  "/v1/reports/kpi?scope=C1&period=month&date=2026-10-01"
                                  "&by=business&format=csv",
                                  NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_true(r.body_len > 3);
    assert_memory_equal(r.body, "\xEF\xBB\xBF", 3);
    char *csv = strndup(r.body + 3, r.body_len - 3);
    hb_httpc_resp_free(&r);
    hbt_assert_contains_all(csv, "scope,period,from,to,business,issued,",
                            "\r\nC1,month,2026-10-01,2026-10-31,\"'=1+2\",", "wait_p50_s", NULL);
    size_t lines = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, 2); /* the header and the one business type */
    free(csv);

    /* The ranking of the city's halls: T2 issued more in October. */
    json_t *o =
        hbt_get(w->hq.http, "/v1/reports/rank?scope=C1&period=month&date=2026-10-01&metric=issued");
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "better")), "higher");
    json_t *best = json_array_get(json_object_get(o, "halls"), 0);
    assert_string_equal(json_string_value(json_object_get(best, "hall")), "T2");
    assert_int_equal(hbt_int(best, "value"), 5);
    assert_int_equal(hbt_int(best, "rank"), 1);
    json_t *worst = json_array_get(json_object_get(o, "worst"), 0);
    assert_string_equal(json_string_value(json_object_get(worst, "hall")), "T1");
    json_decref(o);
    o = hbt_get(w->hq.http,
                "/v1/reports/rank?scope=C1&period=month&date=2026-10-01&metric=wait_p90_s");
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "better")), "lower");
    /* Only T1 had a call: T2 has no wait to rank. */
    assert_int_equal(json_array_size(json_object_get(o, "halls")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "no_data"), 0)), "T2");
    json_decref(o);

    /* Reports are final at each hall's local midnight: October's days are,
     * and events counted after then revised them. Today's is not final. */
    o = hbt_get(w->hq.http, "/v1/reports/ready?scope=C1&period=day&from=2026-10-24&to=2026-10-25");
    assert_non_null(o);
    json_t *reports = json_object_get(o, "reports");
    assert_int_equal(json_array_size(reports), 2);
    json_t *d25 = json_array_get(reports, 0);
    assert_string_equal(json_string_value(json_object_get(d25, "from")), "2026-10-25");
    assert_true(json_is_true(json_object_get(d25, "final")));
    /* The latest midnight of the two zones: Berlin's, 23:00 UTC. */
    assert_string_equal(json_string_value(json_object_get(d25, "final_at")),
                        "2026-10-25T23:00:00.000Z");
    assert_true(json_is_string(json_object_get(d25, "revised_at")));
    assert_true(hbt_int(d25, "revisions") >= 2);
    json_decref(o);
    /* An event of today: today's report is not final, nor revised. */
    char now[HB_RFC3339_MAX];
    hb_time_format(hb_now_ms() - 60000, now);
    char body[256];
    snprintf(body, sizeof body,
             "[{\"type\":\"ticket_issued\",\"at\":\"%s\",\"ticket\":\"N001\",\"service\":\"A\","
             "\"priority\":\"normal\",\"source\":\"kiosk\"}]",
             now);
    hbt_req_ok(w->hall[0].http, "POST", "/v1/events", body, 200);
    s_wait_rolled(w);
    const hb_tz_t *sh = NULL;
    assert_int_equal(hb_tz_get("Asia/Shanghai", &sh, NULL, 0), 0);
    char today[11], path[256];
    hb_date_format(hb_tz_local_day(sh, hb_now_ms() - 60000), today);
    snprintf(path, sizeof path, "/v1/reports/kpi?scope=T1&period=day&date=%s", today);
    o = hbt_get(w->hq.http, path);
    assert_non_null(o);
    assert_false(json_is_true(json_object_get(o, "final")));
    assert_true(json_is_null(json_object_get(o, "revised_at")));
    assert_true(hbt_int(o, "issued") >= 1);
    json_decref(o);
}

HBT_TEST(test_archive)
{
    hbt_world_t *w = *state;
    s_post_rolled(w, N(s_t1_events), N(s_t2_events));

    /* T1's two days, the ticket's own events. */
    json_t *o =
        hbt_get(w->hq.http, "/v1/archive?hall=T1&from=2026-10-24&to=2026-10-25&ticket=A001");
    assert_non_null(o);
    json_t *evs = json_object_get(o, "events");
    assert_int_equal(json_array_size(evs), 6); /* issued .. scored, and its complaint */
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 0), "type")),
                        "ticket_issued");
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 0), "local_date")),
                        "2026-10-24");
    assert_true(json_is_null(json_object_get(o, "next_cursor")));
    json_decref(o);
    /* By type, a page at a time, and the pages are the whole. */
    size_t seen = 0, pages = 0;
    char cursor[32] = "";
    do {
        char path[256];
        snprintf(path, sizeof path,
                 "/v1/archive?hall=T2&from=2026-10-24&to=2026-10-25&type=ticket_issued&limit=2%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        o = hbt_get(w->hq.http, path);
        assert_non_null(o);
        seen += json_array_size(json_object_get(o, "events"));
        json_t *next = json_object_get(o, "next_cursor");
        snprintf(cursor, sizeof cursor, "%s", json_is_string(next) ? json_string_value(next) : "");
        json_decref(o);
        pages++;
    } while (cursor[0] && pages < 10);
    assert_int_equal(seen, 5);
    assert_true(pages >= 3);
    /* By business type and staff; CSV. */
    o = hbt_get(w->hq.http, "/v1/archive?hall=T1&from=2026-10-24&to=2026-10-24&business=%3D1%2B2");
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "events")), 1);
    json_decref(o);
    o = hbt_get(w->hq.http, "/v1/archive?hall=T1&from=2026-10-24&to=2026-10-25&staff=E1");
    assert_int_equal(json_array_size(json_object_get(o, "events")), 2); /* opened, started */
    json_decref(o);
    hb_httpc_resp_t r;
    assert_int_equal(hbt_http_raw(w->hq.http, "GET",
                                  "/v1/archive?hall=T1&from=2026-10-24&to=2026-10-24&format=csv",
                                  NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body,
                        "\xEF\xBB\xBF"
                        "seq,at,local_date,type,ticket",
                        32);
    char *csv = strndup(r.body, r.body_len);
    hb_httpc_resp_free(&r);
    hbt_assert_contains(csv, ",\"'=1+2\",");
    free(csv);

    /* The ticket's story in one answer. */
    o = hbt_get(w->hq.http, "/v1/archive/tickets/T1/2026-10-24/A001");
    assert_non_null(o);
    json_t *sum = json_object_get(o, "summary");
    assert_string_equal(json_string_value(json_object_get(sum, "service")), "A");
    assert_int_equal(hbt_int(sum, "wait_s"), 120);
    assert_string_equal(json_string_value(json_object_get(sum, "staff")), "E1");
    assert_string_equal(json_string_value(json_object_get(sum, "outcome")), "done");
    assert_int_equal(hbt_int(sum, "duration_s"), 300);
    assert_int_equal(hbt_int(sum, "score"), 5);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "complaints"), 0)),
                        "K1");
    /* The complaint's acknowledgement and resolution (after midnight)
     * belong to the story. */
    size_t i, acked = 0, resolved = 0;
    json_t *ev;
    json_array_foreach (json_object_get(o, "events"), i, ev) {
        const char *type = json_string_value(json_object_get(ev, "type"));
        acked += strcmp(type, "complaint_acknowledged") == 0;
        resolved += strcmp(type, "complaint_resolved") == 0;
    }
    assert_int_equal(acked, 1);
    assert_int_equal(resolved, 1);
    json_decref(o);
    assert_int_equal(
        hbt_http(w->hq.http, "GET", "/v1/archive/tickets/T1/2026-10-24/Z999", NULL, NULL), 404);
}

/* Every refusal names what it refuses. */
HBT_TEST(test_refusals)
{
    hbt_world_t *w = *state;
    s_post_rolled(w, 1, 1);
    static const struct {
        const char *path;
        int status;
        const char *field; /* NULL: a 404 */
    } cases[] = {
        {"/v1/reports/kpi?scope=NOWHERE&period=day&date=2026-10-24", 404, NULL},
        {"/v1/reports/kpi?period=day&date=2026-10-24", 400, "scope"},
        {"/v1/reports/kpi?scope=CN&period=day", 400, "date"},
        {"/v1/reports/kpi?scope=CN&period=day&date=2026-02-30", 400, "date"},
        {"/v1/reports/kpi?scope=CN&period=day&date=yesterday", 400, "date"},
        {"/v1/reports/kpi?scope=CN&period=year&date=2026-10-24", 400, "period"},
        {"/v1/reports/kpi?scope=CN&period=day&date=2026-10-24&by=colour", 400, "by"},
        {"/v1/reports/kpi?scope=CN&period=day&date=2026-10-24&format=xml", 400, "format"},
        {"/v1/reports/kpi?scope=CN&period=day&date=2026-10-24&previous=maybe", 400, "previous"},
        {"/v1/reports/kpi?scope=CN&period=range&from=2024-01-01&to=2026-12-31", 400, "to"},
        {"/v1/reports/kpi?scope=CN&period=range&from=2026-10-24&to=2026-10-01", 400, "to"},
        {"/v1/reports/kpi?scope=CN&period=range&to=2026-10-01", 400, "from"},
        {"/v1/reports/rank?scope=C1&period=day&date=2026-10-24&metric=colour", 400, "metric"},
        {"/v1/reports/rank?scope=T1&period=day&date=2026-10-24&metric=issued", 400, "scope"},
        {"/v1/reports/rank?scope=C9&period=day&date=2026-10-24&metric=issued", 404, NULL},
        {"/v1/reports/rank?scope=C1&period=day&date=2026-10-24", 400, "metric"},
        {"/v1/reports/rank?scope=C1&period=day&date=2026-10-24&metric=issued&limit=0", 400,
         "limit"},
        {"/v1/reports/ready?scope=C1&period=range", 400, "period"},
        {"/v1/reports/ready?scope=C1&from=2020-01-01&to=2026-01-01", 400, "to"},
        {"/v1/reports/ready?period=day", 400, "scope"},
        /* The archive is never scanned whole. */
        {"/v1/archive?from=2026-10-24&to=2026-10-25", 400, "hall"},
        {"/v1/archive?hall=T1&to=2026-10-25", 400, "from"},
        {"/v1/archive?hall=T1&from=2026-10-24", 400, "to"},
        {"/v1/archive?hall=T1&from=2026-01-01&to=2026-10-25", 400, "to"},
        {"/v1/archive?hall=T1&from=2026-10-24&to=2026-10-25&type=lunch", 400, "type"},
        {"/v1/archive?hall=T1&from=2026-10-24&to=2026-10-25&cursor=abc", 400, "cursor"},
        {"/v1/archive?hall=T1&from=2026-10-24&to=2026-10-25&cursor=999999", 400, "cursor"},
        {"/v1/archive?hall=T1&from=2026-10-24&to=2026-10-25&limit=5000", 400, "limit"},
        {"/v1/archive?hall=NOPE&from=2026-10-24&to=2026-10-25", 404, NULL},
        {"/v1/archive/tickets/T1/24-10-2026/A001", 400, "date"},
        {"/v1/archive/tickets/NOPE/2026-10-24/A001", 404, NULL},
        {"/v1/reports/typical?date=2026-10-24", 400, "hall"},
        {"/v1/reports/typical?hall=T1&date=2026-13-01", 400, "date"},
        {"/v1/reports/typical?hall=T1&weeks=0", 400, "weeks"},
        {"/v1/reports/typical?hall=T1&weeks=13", 400, "weeks"},
        {"/v1/reports/typical?hall=C1", 404, NULL}, /* a region, not a hall */
        {"/v1/reports/typical?hall=NOPE", 404, NULL},
    };
    for (size_t i = 0; i < N(cases); i++) {
        json_t *o = NULL;
        int status = hbt_http(w->hq.http, "GET", cases[i].path, NULL, &o);
        if (status != cases[i].status)
            fail_msg("GET %s: %d, wanted %d", cases[i].path, status, cases[i].status);
        if (cases[i].field) {
            const char *field = json_string_value(json_object_get(o, "field"));
            if (!field || strcmp(field, cases[i].field) != 0)
                fail_msg("GET %s: the refusal names '%s', not '%s'", cases[i].path,
                         field ? field : "(none)", cases[i].field);
            const char *reason = json_string_value(json_object_get(o, "reason"));
            assert_non_null(reason);
            hbt_assert_contains(reason, cases[i].field);
        }
        json_decref(o);
    }
}
