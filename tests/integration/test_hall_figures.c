/* One definition of every hall figure, with real processes: a real hqd and
 * real branchds, one hall playing three simulated days through its own API
 * (the simulator's drive mode: customers, clerks, lunch breaks, transfers,
 * no-shows, complaints). Many times a day the traffic stops, the stream is
 * delivered, and every figure of the hall's own view (GET /v1/hall) is
 * compared with HQ's tile of it (GET /v1/live/halls/{id}), both taken at
 * the same `now`: waiting, counters open, busy and paused, the oldest
 * waiting ticket and its wait, tickets near their SLA, and per service the
 * same and its estimated wait. They must be equal, member for member.
 *
 * First the diversion advice end to end: the hall's queues pass the
 * threshold, HQ's neighbour board reaches it, and the advice names the
 * neighbour that is open and offers the service with a shorter wait, and
 * neither the neighbour that is not connected nor one without the service.
 * And the refusal of a `now` that is not a time, on both daemons. Last, a
 * late delivery across midnight: yesterday's last customer posted after the
 * day rolled over counts in neither side's figures of today, and the hall's
 * whole state equals HQ's mirror of it. */
#include "harness.h"

#include "hallbus/error.h"
#include "hallbus/time.h"
#include "simdrive.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"
#include "world.h"

#define DAYS 3
#define CHECK_EVERY 40 /* requests between two comparisons */
#define SEED 20261202

/* Open round the clock; short SLAs (so that "near its SLA" happens at the
 * moments the comparisons pick); diversion from 3 waiting. HQ publishes the
 * same as the national policy, so both sides run one policy. */
#define POLICY                                                                                     \
    HBT_POLICY_OPEN_AND                                                                            \
    "\"sla\":{\"max_wait_s\":{\"*:*\":60,\"A:vip\":20,\"B:*\":120}},"                              \
    "\"diversion\":{\"threshold\":3,\"echannels\":[\"app\"]}}"

static const hbt_world_spec_t s_world = {
    .tag = "figures", .halls = {"F1", "F2"}, .hq_args = {"--neighbour_board_every", "500ms"}};

/* The organisation and policy before the halls start, so that they run it. */
static int s_setup(void **state)
{
    hbt_world_setup(state);
    hbt_world_t *w = *state;
    /* F1 and F2 in one city, F2 and F3 (never connected) F1's neighbours. */
    hbt_publish(
        w->hq.http,
        HBT_REGIONS_HARBOUR
        "],"
        "\"halls\":[{\"id\":\"F1\",\"city\":\"C1\",\"neighbours\":[\"F3\",\"F2\"]},"
        "{\"id\":\"F2\",\"city\":\"C1\",\"name\":\"Harbour West\",\"address\":\"12 Quay Road\"},"
        "{\"id\":\"F3\",\"city\":\"C1\",\"name\":\"Hill\"}]}",
        POLICY);
    hbt_world_start_halls(w, POLICY);
    *state = w;
    return 0;
}

/* ------------------------------------------------------- the figures ---- */

static const char *const s_hall_members[] = {"waiting",          "oldest_issued", "longest_wait_s",
                                             "counters_open",    "counters_busy", "counters_paused",
                                             "estimated_wait_s", "near_sla"};
static const char *const s_service_members[] = {
    "service",       "offered",          "waiting",       "waiting_by_priority", "oldest_issued",
    "oldest_wait_s", "counters_open",    "counters_busy", "counters_paused",     "mean_service_s",
    "mean_known",    "estimated_wait_s", "near_sla"};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The figures of an answer: its hall members and, per service, its
 * service members; a missing member is left out (and then differs). */
static json_t *s_figures_of(const json_t *answer)
{
    json_t *o = json_object();
    for (size_t i = 0; i < N(s_hall_members); i++) {
        json_t *v = json_object_get(answer, s_hall_members[i]);
        if (v)
            json_object_set(o, s_hall_members[i], v);
    }
    json_t *services = json_array();
    size_t k;
    json_t *svc;
    json_array_foreach (json_object_get(answer, "services"), k, svc) {
        json_t *s = json_object();
        for (size_t i = 0; i < N(s_service_members); i++) {
            json_t *v = json_object_get(svc, s_service_members[i]);
            if (v)
                json_object_set(s, s_service_members[i], v);
        }
        json_array_append_new(services, s);
    }
    json_object_set_new(o, "services", services);
    return o;
}

typedef struct tally {
    size_t checks, services, waiting, near, offered, estimates;
} tally_t;

/* GETs `mine_path` of hall F1 and `hq_path` of HQ (both must answer) into
 * `mine` and `theirs` (owned), again until both are at one seq: HQ's
 * mirror applies what its store holds a moment later. After 10 s it
 * returns the last answers as they are. */
static void s_get_both(hbt_world_t *w, const char *mine_path, const char *hq_path, json_t **mine,
                       json_t **theirs)
{
    *mine = *theirs = NULL;
    int64_t deadline = hbt_now_ms() + 10000;
    for (;;) {
        json_decref(*mine);
        json_decref(*theirs);
        *mine = hbt_get(w->hall[0].http, mine_path);
        *theirs = hbt_get(w->hq.http, hq_path);
        assert_non_null(*mine);
        assert_non_null(*theirs);
        if (hbt_int(*theirs, "seq") == hbt_int(*mine, "seq") || hbt_now_ms() > deadline)
            return;
        hbt_sleep_ms(50);
    }
}

/* Stops for the stream: the hall's view and HQ's tile of it at one `now`
 * (`offset_s` after this moment), equal in every figure. */
static void s_compare(hbt_world_t *w, int64_t offset_s, tally_t *t)
{
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 30000));
    char now[HB_RFC3339_MAX], mine_path[96], hq_path[128];
    hb_time_format(hb_now_ms() + offset_s * 1000, now);
    snprintf(mine_path, sizeof mine_path, "/v1/hall?now=%s", now);
    snprintf(hq_path, sizeof hq_path, "/v1/live/halls/F1?now=%s", now);
    json_t *mine, *theirs;
    s_get_both(w, mine_path, hq_path, &mine, &theirs);
    assert_int_equal(hbt_int(theirs, "seq"), hbt_int(mine, "seq"));
    json_t *a = s_figures_of(mine), *b = s_figures_of(theirs);
    if (!json_equal(a, b)) {
        char *x = json_dumps(a, JSON_SORT_KEYS), *y = json_dumps(b, JSON_SORT_KEYS);
        fail_msg("the hall's figures and HQ's differ at now=%s (seq %lld):\nhall: %.4000s\n  hq: "
                 "%.4000s",
                 now, (long long)hbt_int(mine, "seq"), x, y);
    }
    /* Every member is there on both sides (json_equal of two empties
     * would prove nothing). */
    for (size_t i = 0; i < N(s_hall_members); i++)
        assert_non_null(json_object_get(a, s_hall_members[i]));
    size_t k;
    json_t *svc;
    json_array_foreach (json_object_get(a, "services"), k, svc) {
        for (size_t i = 0; i < N(s_service_members); i++)
            assert_non_null(json_object_get(svc, s_service_members[i]));
        t->services++;
        t->offered += json_is_true(json_object_get(svc, "offered"));
        t->estimates += hbt_int(svc, "estimated_wait_s") > 0;
    }
    t->checks++;
    t->waiting += (size_t)hbt_int(a, "waiting");
    t->near += (size_t)hbt_int(a, "near_sla");
    json_decref(a);
    json_decref(b);
    json_decref(mine);
    json_decref(theirs);
}

/* One simulated day of F1, unpaced, stopping every CHECK_EVERY requests. */
static void s_day(hbt_world_t *w, int day, tally_t *t, hb_sd_stats_t *out)
{
    int64_t open_ms = 1796000000000LL + (int64_t)day * 86400000;
    hb_simdrive_t *d = hb_simdrive_new(SEED, 0, open_ms);
    assert_non_null(d);
    size_t sent = 0;
    hb_sd_request_t req;
    while (hbt_simdrive_next(d, &req)) {
        json_t *body = NULL;
        int status =
            hbt_http(w->hall[0].http, req.method, req.path, req.body[0] ? req.body : NULL, &body);
        if (status < 0)
            hb_simdrive_no_answer(d);
        else
            hb_simdrive_answer(d, status, body);
        json_decref(body);
        /* At moments from now to a few minutes on: waits grow past three
         * quarters of the SLAs (45 s, 15 s, 90 s) and beyond. */
        static const int64_t offsets_s[] = {0, 30, 50, 100, 240};
        if (++sent % CHECK_EVERY == 0)
            s_compare(w, offsets_s[sent / CHECK_EVERY % N(offsets_s)], t);
    }
    s_compare(w, 0, t);
    hb_simdrive_stats(d, out);
    hb_simdrive_destroy(&d);
}

/* -------------------------------------------------------- the advice ---- */

static json_t *s_advice_for(const json_t *hall, const char *service)
{
    return hbt_find(json_object_get(hall, "advice"), "service", service);
}

static void s_advice(hbt_world_t *w)
{
    /* F2 serves A only, with nobody waiting; F3 never connects. */
    hbt_req_ok(w->hall[1].http, "POST", "/v1/counters/1/open",
               "{\"staff\":\"E1\",\"services\":[\"A\"]}", 200);
    for (int i = 0; i < 4; i++) {
        hbt_req_ok(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
        hbt_req_ok(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"B\"}", 201);
    }
    /* HQ's board reaches F1 with F2 offering A. */
    json_t *hall = NULL;
    int64_t deadline = hbt_now_ms() + 15000;
    for (;;) {
        json_decref(hall);
        hall = hbt_get(w->hall[0].http, "/v1/hall");
        assert_non_null(hall);
        json_t *a = s_advice_for(hall, "A");
        if ((a && strcmp(json_string_value(json_object_get(a, "nearby_from")), "hq") == 0 &&
             json_array_size(json_object_get(a, "nearby")) > 0) ||
            hbt_now_ms() > deadline)
            break;
        hbt_sleep_ms(100);
    }
    json_t *a = s_advice_for(hall, "A"), *b = s_advice_for(hall, "B");
    assert_non_null(a);
    assert_non_null(b);
    char *dump = json_dumps(a, JSON_COMPACT);
    fprintf(stderr, "advice for A at F1: %s\n", dump);
    free(dump);
    assert_true(json_is_true(json_object_get(a, "divert")));
    assert_int_equal(hbt_int(a, "waiting"), 4);
    assert_string_equal(json_string_value(json_object_get(a, "nearby_from")), "hq");
    json_t *nearby = json_object_get(a, "nearby");
    assert_int_equal(json_array_size(nearby), 1);
    assert_string_equal(json_string_value(json_array_get(nearby, 0)), "F2");
    /* The same service's wait on both sides: F2's A is shorter than F1's. */
    json_t *board = json_object_get(a, "neighbours");
    json_t *f3 = json_array_get(json_object_get(board, "halls"), 0);
    json_t *f2 = json_array_get(json_object_get(board, "halls"), 1);
    assert_string_equal(json_string_value(json_object_get(f3, "hall")), "F3");
    assert_false(json_is_true(json_object_get(f3, "online")));
    assert_false(json_is_true(json_object_get(f3, "shorter")));
    assert_string_equal(json_string_value(json_object_get(f2, "hall")), "F2");
    assert_string_equal(json_string_value(json_object_get(f2, "address")), "12 Quay Road");
    assert_true(json_is_true(json_object_get(f2, "shorter")));
    json_t *offered = json_object_get(f2, "services");
    assert_int_equal(json_array_size(offered), 1);
    json_t *f2a = json_array_get(offered, 0);
    assert_string_equal(json_string_value(json_object_get(f2a, "service")), "A");
    assert_true(hbt_int(f2a, "estimated_wait_s") < hbt_int(a, "estimated_wait_s"));
    /* F2's own figure for A, as F2 shows it, is what the board carried. */
    json_t *f2_hall = hbt_get(w->hall[1].http, "/v1/hall");
    assert_non_null(f2_hall);
    json_t *f2_svc = json_array_get(json_object_get(f2_hall, "services"), 0);
    assert_string_equal(json_string_value(json_object_get(f2_svc, "service")), "A");
    assert_int_equal(hbt_int(f2_svc, "estimated_wait_s"), hbt_int(f2a, "estimated_wait_s"));
    json_decref(f2_hall);
    /* B: due, but no neighbour offers it. */
    assert_true(json_is_true(json_object_get(b, "divert")));
    assert_string_equal(json_string_value(json_object_get(b, "nearby_from")), "hq");
    assert_int_equal(json_array_size(json_object_get(b, "nearby")), 0);
    json_decref(hall);
    hbt_req_ok(w->hall[1].http, "POST", "/v1/counters/1/close", NULL, 200);
}

/* ------------------------------------------ a late delivery across midnight ---- */

/* The hall's snapshot and HQ's mirror of it, once HQ holds the hall's
 * stream: equal as JSON, member for member. */
static void s_snapshots_equal(hbt_world_t *w)
{
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 30000));
    json_t *mine, *theirs;
    s_get_both(w, "/v1/hall/snapshot", "/v1/halls/F1/snapshot", &mine, &theirs);
    json_object_del(mine, "hall"); /* the hall names itself; HQ names the hall */
    json_object_del(theirs, "hall");
    const char *key;
    json_t *v;
    json_object_foreach (mine, key, v) {
        if (json_equal(v, json_object_get(theirs, key)))
            continue;
        char *x = json_dumps(v, JSON_SORT_KEYS),
             *y = json_dumps(json_object_get(theirs, key), JSON_SORT_KEYS);
        fail_msg("the hall's state and HQ's mirror differ in %s:\nhall: %.3000s\n  hq: %.3000s",
                 key, x, y);
    }
    assert_int_equal(json_object_size(mine), json_object_size(theirs));
    json_decref(mine);
    json_decref(theirs);
}

/* What `today` of the hall's view says of `member`, and HQ's tile's
 * `tile_member` must say the same. */
static long long s_today_figure(hbt_world_t *w, const char *member, const char *tile_member)
{
    json_t *v = hbt_get(w->hall[0].http, "/v1/hall");
    assert_non_null(v);
    long long n = hbt_int(json_object_get(v, "today"), member);
    json_decref(v);
    if (tile_member) {
        json_t *tile = hbt_get(w->hq.http, "/v1/live/halls/F1");
        assert_non_null(tile);
        assert_int_equal(hbt_int(tile, tile_member), n);
        json_decref(tile);
    }
    return n;
}

/* A queue system's adapter that was offline overnight posts yesterday's
 * last customer after the hall's day rolled over (the hall runs in UTC):
 * its ticket, call and completion at 23:50 to 23:59:59.999 yesterday count
 * in none of today's figures, a ticket issued exactly at midnight and one
 * served now count; the hall's own figures and HQ's tile of it agree, and
 * so do the whole state and HQ's mirror of it. */
static void s_late_delivery(hbt_world_t *w)
{
    int64_t now = hb_now_ms();
    int64_t midnight = now - now % 86400000;
    char yesterday_2350[HB_RFC3339_MAX], yesterday_2355[HB_RFC3339_MAX],
        yesterday_last[HB_RFC3339_MAX], today_0000[HB_RFC3339_MAX];
    hb_time_format(midnight - 10 * 60000, yesterday_2350);
    hb_time_format(midnight - 5 * 60000, yesterday_2355);
    hb_time_format(midnight - 1, yesterday_last);
    hb_time_format(midnight, today_0000);
    s_snapshots_equal(w);
    long long issued = s_today_figure(w, "issued", "issued_today");
    long long served = s_today_figure(w, "served", "served_today");
    long long late = s_today_figure(w, "past_day_events", NULL);

    char body[1024];
    snprintf(body, sizeof body,
             "[{\"type\":\"counter_opened\",\"counter\":\"L9\",\"services\":[\"A\"]},"
             "{\"type\":\"ticket_issued\",\"ticket\":\"LATE1\",\"service\":\"A\",\"at\":\"%s\"},"
             "{\"type\":\"ticket_called\",\"ticket\":\"LATE1\",\"counter\":\"L9\",\"at\":\"%s\"},"
             "{\"type\":\"service_completed\",\"ticket\":\"LATE1\",\"counter\":\"L9\","
             "\"business_type\":\"x\",\"outcome\":\"done\",\"duration_s\":60,\"at\":\"%s\"},"
             "{\"type\":\"ticket_issued\",\"ticket\":\"MID1\",\"service\":\"A\",\"at\":\"%s\"},"
             "{\"type\":\"ticket_called\",\"ticket\":\"MID1\",\"counter\":\"L9\"},"
             "{\"type\":\"service_completed\",\"ticket\":\"MID1\",\"counter\":\"L9\","
             "\"business_type\":\"x\",\"outcome\":\"done\",\"duration_s\":60}]",
             yesterday_2350, yesterday_2355, yesterday_last, today_0000);
    json_t *r = NULL;
    assert_int_equal(hbt_http(w->hall[0].http, "POST", "/v1/events", body, &r), 200);
    json_decref(r);
    s_snapshots_equal(w);
    /* Yesterday's three count in neither side's today; midnight's issue
     * and today's service do. */
    assert_int_equal(s_today_figure(w, "issued", "issued_today"), issued + 1);
    assert_int_equal(s_today_figure(w, "served", "served_today"), served + 1);
    assert_int_equal(s_today_figure(w, "past_day_events", NULL), late + 3);
    /* Stored and mirrored all the same: HQ holds the late completion. */
    json_t *st = hbt_get(w->hq.http, "/v1/halls/F1/snapshot");
    assert_non_null(st);
    bool seen = false;
    size_t k;
    json_t *t;
    json_array_foreach (json_object_get(st, "recent"), k, t)
        seen |= strcmp(hbt_str(t, "id"), "LATE1") == 0;
    assert_true(seen);
    json_decref(st);
}

#define HBT_FIXTURE s_setup, hbt_world_teardown, &s_world

HBT_TEST(test_figures_equal_on_both_sides)
{
    hbt_world_t *w = *state;
    hbt_wait_policy(&w->hall[0], 1, 20000);
    hbt_wait_policy(&w->hall[1], 1, 20000);
    /* A `now` that is not a time is refused on both sides. */
    assert_int_equal(hbt_http(w->hall[0].http, "GET", "/v1/hall?now=yesterday", NULL, NULL), 400);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 30000));
    assert_int_equal(hbt_http(w->hq.http, "GET", "/v1/live/halls/F1?now=12:00", NULL, NULL), 400);
    s_advice(w);
    tally_t t = {0};
    for (int day = 0; day < DAYS; day++) {
        hb_sd_stats_t st;
        s_day(w, day, &t, &st);
        fprintf(stderr,
                "day %d: %u customers, %u tickets, %u served, %u transferred, %u lunch breaks\n",
                day + 1, st.arrivals, st.issued, st.served, st.transferred, st.lunch_breaks);
        assert_true(st.issued > 50);
        assert_true(st.served > 0);
    }
    fprintf(stderr,
            "%zu comparisons, all equal: %zu service entries (%zu offered, %zu with a wait), "
            "%zu customers waiting, %zu near their SLA\n",
            t.checks, t.services, t.offered, t.estimates, t.waiting, t.near);
    /* The comparisons saw queues, open counters and SLAs close, not only
     * an empty hall. */
    assert_true(t.checks >= 3 * DAYS);
    assert_true(t.waiting > 0);
    assert_true(t.offered > 0);
    assert_true(t.estimates > 0);
    assert_true(t.near > 0);
    s_late_delivery(w);
}
