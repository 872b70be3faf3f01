/* GET /v1/trends from outside, with real processes: two halls in two
 * cities post events at chosen local times of today (the last quarters
 * before now) and of the same weekday one and two weeks before (posted
 * late, after hqd started: the rollups take them). Then: tickets served
 * per 15-minute slot are exact for the hall, its city, its province and
 * the network; the typical is the mean of the earlier weeks' hour spread
 * over its quarters; waiting is sampled only while hqd watches; a city's
 * operator sees only their city (403 for the other hall and city, their
 * part of the province and the network); every refusal (a bad scope names
 * it, 400; an unknown region or hall, 404; weeks out of range, 400). And
 * after a restart of hqd, today before it is a gap the rollups fill by
 * whole hours. */
#include "harness.h"
#include "world.h"

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

#include <cmocka.h>

#include "runner.h"

#define ORG                                                                                        \
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"全国\",\"level\":\"national\"},"                    \
    "{\"id\":\"P1\",\"name\":\"East\",\"level\":\"province\",\"parent\":\"CN\"},"                  \
    "{\"id\":\"C1\",\"name\":\"One\",\"level\":\"city\",\"parent\":\"P1\"},"                       \
    "{\"id\":\"C2\",\"name\":\"Two\",\"level\":\"city\",\"parent\":\"P1\"}],"                      \
    "\"halls\":[{\"id\":\"T1\",\"city\":\"C1\",\"name\":\"一号厅\"},"                           \
    "{\"id\":\"T2\",\"city\":\"C2\",\"name\":\"二号厅\"}]}"

/* hqd (rollups committed every 100 ms) and two halls enrolled (world.h),
 * started by s_setup with the zone it picks. */
static const hbt_world_spec_t s_world = {"trends", .halls = {"T1", "T2"},
                                         .hq_args = {"--rollup_commit_every", "100ms"}};

typedef struct {
    hbt_world_t *world; /* first: hbt_world_state_new */
    hbt_hq_t *hq;
    hbt_hall_t *t1, *t2;
    char zone[32];
    const hb_tz_t *tz;
    int32_t today;
    int slot;     /* the slot of the test's start, >= 8 (see s_setup) */
    char op1[64]; /* an operator of city C1 */
} world_t;

static char s_policy[512];

static int s_setup(void **state)
{
    world_t *w = hbt_world_state_new(&s_world, sizeof *w);
    w->hq = &w->world->hq;
    w->t1 = &w->world->hall[0];
    w->t2 = &w->world->hall[1];
    /* A zone in which it is two in the morning or later, so that the
     * quarters before now are today's: UTC, or UTC+8 in UTC's small hours. */
    int64_t now = hb_now_ms();
    hb_civil_t c;
    hb_tz_get("UTC", &w->tz, NULL, 0);
    hb_tz_civil(w->tz, now, &c);
    snprintf(w->zone, sizeof w->zone, "%s", c.hour >= 2 ? "UTC" : "Asia/Shanghai");
    assert_int_equal(hb_tz_get(w->zone, &w->tz, NULL, 0), 0);
    hb_tz_civil(w->tz, now, &c);
    w->today = hb_tz_local_day(w->tz, now);
    w->slot = (c.hour * 60 + c.min) / 15;
    assert_true(w->slot >= 8);
    snprintf(s_policy, sizeof s_policy, "{\"timezone\":\"%s\"," HBT_HOURS_ALWAYS_OPEN "}", w->zone);
    hbt_publish(w->hq->http, ORG, s_policy);
    hbt_hq_user(w->hq, "op1", w->op1, "--role", "operator", "--scope", "C1", NULL);
    hbt_world_start_halls(w->world, s_policy);
    *state = w;
    return 0;
}

/* An event at `min` minutes into slot `slot` of local day `day`. */
typedef struct ev {
    int32_t day;
    int slot, min;
    const char *body;
} ev_t;

static void s_post(world_t *w, hbt_hall_t *h, const ev_t *evs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        int64_t at = hb_tz_local_to_utc(w->tz, evs[i].day, evs[i].slot / 4,
                                        (evs[i].slot % 4) * 15 + evs[i].min);
        char ts[HB_RFC3339_MAX], text[1024];
        hb_time_format(at, ts);
        snprintf(text, sizeof text, "{\"at\":\"%s\",%s}", ts, evs[i].body);
        json_t *o = json_loads(text, 0, NULL);
        if (!o)
            fail_msg("bad test event %s", text);
        json_array_append_new(arr, o);
    }
    hbt_hall_post_json(h, arr);
}

#define ISSUE(t)                                                                                   \
    "\"type\":\"ticket_issued\",\"ticket\":\"" t                                                   \
    "\",\"service\":\"A\",\"priority\":\"normal\",\"source\":\"kiosk\""
#define CALL(t)                                                                                    \
    "\"type\":\"ticket_called\",\"ticket\":\"" t "\",\"counter\":\"1\",\"rule\":\"fifo\""
#define START(t)                                                                                   \
    "\"type\":\"service_started\",\"ticket\":\"" t "\",\"counter\":\"1\",\"staff\":\"E1\""
#define DONE(t)                                                                                    \
    "\"type\":\"service_completed\",\"ticket\":\"" t "\",\"counter\":\"1\",\"business_type\":"     \
    "\"x\",\"outcome\":\"done\",\"duration_s\":60"
#define OPEN "\"type\":\"counter_opened\",\"counter\":\"1\",\"staff\":\"E1\",\"services\":[\"A\"]"
#define CLOSE "\"type\":\"counter_closed\",\"counter\":\"1\""

/* One ticket issued, called and served within minutes [m, m+3] of a slot. */
#define SERVE(d, s, m, t)                                                                          \
    {d, s, m, ISSUE(t)}, {d, s, m + 1, CALL(t)}, {d, s, m + 2, START(t)}, { d, s, m + 3, DONE(t) }

/* GET /v1/trends?QUERY as `token` (NULL: the admin's), which must answer
 * `want`; its body (owned). */
static json_t *s_trends_as(world_t *w, const char *token, const char *query, int want)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/trends?%s", query);
    if (!token)
        return hbt_req(w->hq->http, "GET", path, NULL, want);
    return hbt_req_as(w->hq->http, token, "GET", path, NULL, want);
}

static const json_t *s_slot(const json_t *o, int i)
{
    const json_t *s = json_array_get(json_object_get(o, "slots"), (size_t)i);
    assert_non_null(s);
    assert_int_equal(hbt_int(s, "slot"), i);
    return s;
}

static double s_dbl(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

/* Served per slot must be exactly `want` (slots not listed: 0) up to the
 * answer's now, and null after it. */
static void s_expect_served(const json_t *o, const int *slots, const int *served, size_t n)
{
    int now = (int)hbt_int(o, "now_slot");
    for (int i = 0; i < 96; i++) {
        const json_t *s = s_slot(o, i);
        if (i > now) {
            assert_true(json_is_null(json_object_get(s, "served")));
            continue;
        }
        int want = 0;
        for (size_t k = 0; k < n; k++)
            if (slots[k] == i)
                want = served[k];
        const json_t *v = json_object_get(s, "served");
        if (!json_is_integer(v) || json_integer_value(v) != want)
            fail_msg("slot %d: served %s, wanted %d", i,
                     json_is_integer(v) ? "another number" : "not an integer", want);
        assert_string_equal(json_string_value(json_object_get(s, "source")), "mirror");
        assert_false(json_is_true(json_object_get(s, "gap")));
    }
}

/* Polls until the hall's slot holds `want` served (the mirror applies what
 * the store committed a moment later). */
static json_t *s_until_served(world_t *w, const char *query, int slot, int64_t want)
{
    int64_t deadline = hbt_now_ms() + 30000;
    for (;;) {
        json_t *o = s_trends_as(w, NULL, query, 200);
        const json_t *v = json_object_get(s_slot(o, slot), "served");
        if (json_is_integer(v) && json_integer_value(v) == want)
            return o;
        json_decref(o);
        if (hbt_now_ms() > deadline)
            fail_msg("%s: slot %d never reached %lld served", query, slot, (long long)want);
        hbt_sleep_ms(100);
    }
}

static void s_wait_rolled(world_t *w, int32_t day)
{
    char date[11];
    hb_date_format(day, date);
    hbt_wait_rolled_up(w->hq, "CN", date, 30000);
}

HBT_GROUP(s_setup, hbt_world_state_teardown);
#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_trends)
{
    world_t *w = *state;
    int32_t d = w->today;
    int a = w->slot - 2, b = w->slot - 1; /* the two quarters before now's */
    /* Today: T1 serves one ticket at a quarter past midnight, one in
     * quarter a and two in b, and leaves a fifth waiting; T2 serves one in
     * b. */
    const ev_t t1_today[] = {
        {d, 1, 0, OPEN},        SERVE(d, 1, 1, "A100"), SERVE(d, a, 1, "A101"),
        SERVE(d, b, 1, "A102"), SERVE(d, b, 6, "A103"), {d, b, 11, ISSUE("A104")},
    };
    const ev_t t2_today[] = {{d, b, 0, OPEN}, SERVE(d, b, 2, "B101")};
    s_post(w, w->t1, t1_today, sizeof t1_today / sizeof t1_today[0]);
    s_post(w, w->t2, t2_today, sizeof t2_today / sizeof t2_today[0]);
    assert_true(hbt_wait_synced(w->hq, w->t1, 30000));
    assert_true(hbt_wait_synced(w->hq, w->t2, 30000));

    json_t *o = s_until_served(w, "scope=hall:T1", b, 2);
    const int t1_slots[] = {1, a, b}, t1_served[] = {1, 1, 2};
    s_expect_served(o, t1_slots, t1_served, 3);
    assert_string_equal(json_string_value(json_object_get(o, "zone")), w->zone);
    char date[11];
    hb_date_format(d, date);
    assert_string_equal(json_string_value(json_object_get(o, "date")), date);
    assert_int_equal(hbt_int(o, "slot_minutes"), 15);
    char at[HB_RFC3339_MAX];
    hb_time_format(hb_tz_local_to_utc(w->tz, d, a / 4, (a % 4) * 15), at);
    assert_string_equal(json_string_value(json_object_get(s_slot(o, a), "at")), at);
    assert_int_equal(json_array_size(json_object_get(o, "slots")), 96);
    assert_true(json_is_null(json_object_get(o, "typical_waiting")));
    /* hqd did not watch those quarters: no waiting figure for them. */
    assert_true(json_is_null(json_object_get(s_slot(o, a), "waiting")));
    json_decref(o);

    /* The network, the province and each city: slot by slot sums. */
    o = s_until_served(w, "scope=network", b, 3);
    const int net_served[] = {1, 1, 3};
    s_expect_served(o, t1_slots, net_served, 3);
    assert_int_equal(hbt_int(o, "halls"), 2);
    assert_false(json_is_true(json_object_get(o, "filtered")));
    json_decref(o);
    o = s_trends_as(w, NULL, "scope=region:P1", 200);
    s_expect_served(o, t1_slots, net_served, 3);
    json_decref(o);
    o = s_trends_as(w, NULL, "scope=region:C2", 200);
    const int c2_slots[] = {b}, c2_served[] = {1};
    s_expect_served(o, c2_slots, c2_served, 1);
    assert_int_equal(hbt_int(o, "halls"), 1);
    json_decref(o);

    /* Waiting is the mean of the board's samples over the quarter now:
     * A104 waits (a moment ago nobody did), so more than 0 and at most 1. */
    int64_t deadline = hbt_now_ms() + 30000;
    for (;;) {
        o = s_trends_as(w, NULL, "scope=hall:T1", 200);
        const json_t *v = json_object_get(s_slot(o, (int)hbt_int(o, "now_slot")), "waiting");
        if (json_is_number(v) && json_number_value(v) > 0) {
            assert_true(json_number_value(v) <= 1.0);
            json_decref(o);
            break;
        }
        json_decref(o);
        if (hbt_now_ms() > deadline)
            fail_msg("no waiting figure for the quarter now within 30 s");
        hbt_sleep_ms(200);
    }

    /* The same weekday one and two weeks ago, posted now (late): T1 served
     * two and then four tickets in quarter a's hour; three weeks ago it
     * was closed (no ticket: not a typical day). Typical: (2 + 4) / 2 = 3
     * in the hour, 0.75 in each of its quarters. */
    int h = a / 4;
    const ev_t t1_past[] = {
        {d - 14, 4 * h, 0, OPEN},
        SERVE(d - 14, 4 * h, 1, "W201"),
        SERVE(d - 14, 4 * h, 6, "W202"),
        SERVE(d - 14, 4 * h + 1, 1, "W203"),
        SERVE(d - 14, 4 * h + 3, 1, "W204"),
        {d - 14, 4 * h + 3, 10, CLOSE},
        {d - 7, 4 * h, 0, OPEN},
        SERVE(d - 7, 4 * h + 2, 1, "W101"),
        SERVE(d - 7, 4 * h + 2, 6, "W102"),
        {d - 7, 4 * h + 3, 10, CLOSE},
    };
    s_post(w, w->t1, t1_past, sizeof t1_past / sizeof t1_past[0]);
    assert_true(hbt_wait_synced(w->hq, w->t1, 30000));
    s_wait_rolled(w, d - 7);
    s_wait_rolled(w, d - 14);
    o = s_trends_as(w, NULL, "scope=hall:T1&weeks=3", 200);
    assert_int_equal(hbt_int(o, "weeks"), 3);
    assert_int_equal(hbt_int(o, "halls_with_typical"), 1);
    for (int i = 0; i < 96; i++) {
        double want = i / 4 == h ? 0.75 : 0.0;
        if (s_dbl(s_slot(o, i), "typical_served") != want)
            fail_msg("slot %d: typical %g, wanted %g", i, s_dbl(s_slot(o, i), "typical_served"),
                     want);
    }
    /* The late events of earlier days left today's counts as they were. */
    s_expect_served(o, t1_slots, t1_served, 3);
    json_decref(o);
    /* The network's typical is T1's (T2 has no earlier weeks). */
    o = s_trends_as(w, NULL, "scope=network&weeks=3", 200);
    assert_int_equal(hbt_int(o, "halls_with_typical"), 1);
    assert_true(s_dbl(s_slot(o, 4 * h), "typical_served") == 0.75);
    json_decref(o);
    o = s_trends_as(w, NULL, "scope=region:C2&weeks=3", 200);
    assert_int_equal(hbt_int(o, "halls_with_typical"), 0);
    assert_true(json_is_null(json_object_get(s_slot(o, 4 * h), "typical_served")));
    json_decref(o);

    /* A city's operator: their city and hall; their part of the province
     * and of the network; never the other city or its hall. */
    o = s_trends_as(w, w->op1, "scope=hall:T1", 200);
    s_expect_served(o, t1_slots, t1_served, 3);
    json_decref(o);
    o = s_trends_as(w, w->op1, "scope=region:C1", 200);
    s_expect_served(o, t1_slots, t1_served, 3);
    json_decref(o);
    o = s_trends_as(w, w->op1, "scope=region:P1", 200);
    s_expect_served(o, t1_slots, t1_served, 3);
    assert_true(json_is_true(json_object_get(o, "filtered")));
    assert_int_equal(hbt_int(o, "halls"), 1);
    json_decref(o);
    o = s_trends_as(w, w->op1, "scope=network", 200);
    s_expect_served(o, t1_slots, t1_served, 3);
    assert_true(json_is_true(json_object_get(o, "filtered")));
    json_decref(o);
    json_decref(s_trends_as(w, w->op1, "scope=hall:T2", 403));
    json_decref(s_trends_as(w, w->op1, "scope=region:C2", 403));
}

/* Every refusal, and what it names. */
HBT_TEST(test_refusals)
{
    world_t *w = *state;
    static const struct {
        const char *query;
        int status;
        const char *code, *names;
    } cases[] = {
        {"", 400, "bad_parameter", "scope"},
        {"scope=", 400, "bad_parameter", "scope"},
        {"scope=city:C1", 400, "bad_parameter", "scope"},
        {"scope=region:", 400, "bad_parameter", "scope"},
        {"scope=hall:", 400, "bad_parameter", "scope"},
        {"scope=Network", 400, "bad_parameter", "scope"},
        {"scope=region:NOPE", 404, "not_found", "NOPE"},
        {"scope=hall:NOPE", 404, "not_found", "NOPE"},
        {"scope=network&weeks=0", 400, "bad_parameter", "weeks"},
        {"scope=network&weeks=9", 400, "bad_parameter", "weeks"},
        {"scope=network&weeks=x", 400, "bad_parameter", "weeks"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/trends?%s", cases[i].query);
        hbt_refused(w->hq->http, "GET", path, NULL, cases[i].status, cases[i].code, cases[i].names);
    }
    /* Without a token: no trends. */
    json_t *o = NULL;
    assert_int_equal(
        hbt_http_as(w->hq->http, NULL, NULL, "GET", "/v1/trends?scope=network", NULL, &o), 401);
    json_decref(o);
}

/* After a restart, today's events before it were rebuilt into the mirror,
 * not counted: the quarters before the gap's hour come from the rollups
 * (their hour spread over four quarters), the rest of the gap is said. */
HBT_TEST(test_restart_gap)
{
    world_t *w = *state;
    int a = w->slot - 2, b = w->slot - 1;
    /* The events of earlier weeks came last: one more of today, so that
     * the hall's stream ends today, in quarter b. */
    const ev_t more[] = {{w->today, b, 12, ISSUE("A105")}};
    s_post(w, w->t1, more, 1);
    assert_true(hbt_wait_synced(w->hq, w->t1, 30000));
    hbt_hq_stop(w->hq, SIGTERM);
    hbt_hq_start(w->hq);
    assert_true(hbt_wait_synced(w->hq, w->t1, 30000));
    json_t *o = s_trends_as(w, NULL, "scope=hall:T1", 200);
    /* T1's last event was A105's issue, in quarter b. */
    const json_t *sb = s_slot(o, b);
    assert_true(json_is_true(json_object_get(sb, "gap")));
    assert_int_equal(hbt_int(sb, "served"), 0);
    double hour_a = 0;
    for (int i = 0; i < b; i++) {
        const json_t *s = s_slot(o, i);
        assert_true(json_is_null(json_object_get(s, "waiting")));
        if (i / 4 < b / 4) {
            assert_string_equal(json_string_value(json_object_get(s, "source")), "rollups");
            if (i / 4 == a / 4)
                hour_a += s_dbl(s, "served");
        } else {
            assert_true(json_is_true(json_object_get(s, "gap")));
            assert_true(json_is_null(json_object_get(s, "served")));
        }
    }
    /* The ticket served at 00:16 is the rollups' hour 0, a quarter of it
     * in each of its quarters; when quarter a lies in an earlier hour than
     * b, its hour's one ticket is spread likewise. */
    for (int i = 0; i < 4; i++)
        assert_true(s_dbl(s_slot(o, i), "served") == 0.25);
    if (a / 4 < b / 4)
        assert_true(hour_a > 0.99 && hour_a < 1.01);
    json_decref(o);
}
