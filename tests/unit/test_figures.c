/* Unit tests of the hall figures (common/hall/figures.c) on states built by
 * the real reducer from events. A table of halls whose answers were worked
 * out by hand from figures.h's definitions (no counter serving a service,
 * paused counters, a known mean of zero, priorities and the SLA bounds, a
 * service only a counter names, busy counters), the JSON both daemons
 * answer with, and simulated days checked at random moments against a
 * plain re-statement of the definitions written here, not in figures.c. */
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/hallstate.h"
#include "hallbus/policy.h"
#include "hallbus/time.h"
#include "sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"

#define T0 1796000000000LL /* a fixed instant */
#define SEC 1000LL
#define ANY_PRIORITY 9 /* a priority number no build names yet */

/* ------------------------------------------------------------ helpers ---- */

/* Applies one event given as JSON with single quotes, `at_s` seconds
 * after T0; `priority` overrides a ticket_issued's priority when not 0 (to
 * reach numbers the JSON names cannot). */
static void s_apply(hb_hall_state_t *s, int64_t at_s, const char *text, int priority)
{
    Hallbus__Envelope *env = hbt_event(T0 + at_s * SEC, text);
    if (priority) {
        assert_int_equal(env->body_case, HALLBUS__ENVELOPE__BODY_TICKET_ISSUED);
        env->ticket_issued->priority = (Hallbus__Priority)priority;
    }
    assert_int_equal(hbt_apply_env(s, env, T0 + at_s * SEC), 0);
    hb_envelope_free(env);
}

/* ------------------------------------------------------------- table ---- */

typedef struct event {
    int64_t at_s;
    const char *json;
    int priority; /* 0: as the JSON says */
} event_t;

/* The figures a hall and each of its services both have, as expected
 * (S_ASSERT_FIGURES compares them). */
typedef struct want_figures {
    uint32_t waiting;
    int64_t oldest_ms; /* AT(s) of the oldest issue; 0: none */
    uint16_t open, busy, paused;
    uint32_t estimate_s, near_sla;
} want_figures_t;

#define AT(s) (T0 + (s)*SEC)

typedef struct want_service {
    const char *code;
    bool in_state, offered;
    want_figures_t fig;
    uint32_t by_priority[HB_FIG_PRIORITIES]; /* bucket 0 = other */
    uint32_t mean_s;
    bool mean_known;
} want_service_t;

typedef struct scenario {
    const char *name;
    const char *policy; /* NULL: none */
    event_t events[24];
    int64_t now_s;
    want_figures_t hall;
    size_t n_services;
    want_service_t services[4];
} scenario_t;

/* `got`, an hb_hall_figures_t or an hb_fig_service_t (the members have the
 * same names), against `want`, a want_figures_t. */
#define S_ASSERT_FIGURES(got, want)                                                                \
    do {                                                                                           \
        assert_int_equal((got)->waiting, (want)->waiting);                                         \
        assert_int_equal((got)->oldest_issued_ms, (want)->oldest_ms);                              \
        assert_int_equal((got)->counters_open, (want)->open);                                      \
        assert_int_equal((got)->counters_busy, (want)->busy);                                      \
        assert_int_equal((got)->counters_paused, (want)->paused);                                  \
        assert_int_equal((got)->estimated_wait_s, (want)->estimate_s);                             \
        assert_int_equal((got)->near_sla, (want)->near_sla);                                       \
    } while (0)

#define ISSUE(at, t, svc, prio)                                                                    \
    {                                                                                              \
        at,                                                                                        \
            "{'type':'ticket_issued','ticket':'" t "','service':'" svc "','priority':'" prio       \
            "','source':'kiosk'}",                                                                 \
            0                                                                                      \
    }
#define OPEN(at, c, svcs)                                                                          \
    {                                                                                              \
        at, "{'type':'counter_opened','counter':'" c "','staff':'E" c "','services':" svcs "}", 0  \
    }
/* Ticket `t` at counter `c`: called, its service started, completed (with
 * `more` members, "" for none). */
#define CALL(at, t, c)                                                                             \
    {                                                                                              \
        at, "{'type':'ticket_called','ticket':'" t "','counter':'" c "'}", 0                       \
    }
#define START(at, t, c)                                                                            \
    {                                                                                              \
        at, "{'type':'service_started','ticket':'" t "','counter':'" c "'}", 0                     \
    }
#define DONE(at, t, c, more)                                                                       \
    {                                                                                              \
        at,                                                                                        \
            "{'type':'service_completed','ticket':'" t "','counter':'" c                           \
            "','business_type':'x','outcome':'done'" more "}",                                     \
            0                                                                                      \
    }

static const scenario_t s_table[] = {
    {
        /* Nobody serves A: one counter is assumed; without a policy the
         * mean is HB_FIG_DEFAULT_SERVICE_S (600): (2 + 1) x 600 / 1. */
        .name = "no counter serves the service",
        .events = {ISSUE(0, "A001", "A", "normal"), ISSUE(10, "A002", "A", "normal")},
        .now_s = 100,
        .hall = {.waiting = 2, .oldest_ms = AT(0), .estimate_s = 1800},
        .n_services = 1,
        .services = {{"A", true, false, {2, AT(0), 0, 0, 0, 1800, 0}, {0, 2, 0, 0, 0}, 600, false}},
    },
    {
        /* Counter 2 pauses: A has two open (1, 3) and one paused; B one
         * open (3). Means from the SLA: A:* 600 -> 300, B by *:* 1200 ->
         * 600. A: 3 x 300 / 2 = 450; B: 2 x 600 / 1 = 1200; the hall the
         * slower, 1200. Nobody near 3/4 of an SLA at 50 s. */
        .name = "paused counters are not open",
        .policy = "{'sla':{'max_wait_s':{'A:*':600}}}",
        .events = {OPEN(0, "1", "['A']"),
                   OPEN(0, "2", "['A']"),
                   OPEN(0, "3", "['A','B']"),
                   {1, "{'type':'counter_paused','counter':'2','reason':'lunch'}", 0},
                   ISSUE(2, "A001", "A", "normal"),
                   ISSUE(5, "A002", "A", "vip"),
                   ISSUE(6, "B001", "B", "normal")},
        .now_s = 50,
        .hall = {.waiting = 3, .oldest_ms = AT(2), .open = 2, .paused = 1, .estimate_s = 1200},
        .n_services = 2,
        .services = {{"A", true, true, {2, AT(2), 2, 0, 1, 450, 0}, {0, 1, 1, 0, 0}, 300, false},
                     {"B", true, true, {1, AT(6), 1, 0, 0, 1200, 0}, {0, 1, 0, 0, 0}, 600, false}},
    },
    {
        /* A service that took 0 s: a known mean of 0, so 0 to wait. */
        .name = "a known mean of zero",
        .events = {OPEN(0, "1", "['A']"), ISSUE(0, "A001", "A", "normal"), CALL(1, "A001", "1"),
                   START(1, "A001", "1"), DONE(1, "A001", "1", ""), ISSUE(2, "A002", "A", "normal"),
                   ISSUE(3, "A003", "A", "elderly")},
        .now_s = 20,
        .hall = {.waiting = 2, .oldest_ms = AT(2), .open = 1, .estimate_s = 0},
        .n_services = 1,
        .services = {{"A", true, true, {2, AT(2), 1, 0, 0, 0, 0}, {0, 1, 0, 1, 0}, 0, true}},
    },
    {
        /* Limits: normal, elderly and the unnamed priority by *:* 400 (near
         * from 300 s), vip by A:vip 100 (near from 75 s). At 330 s: A001
         * (330), A002 (310), A004 (270) and A003 (exactly 300) are near;
         * A005 (130) and A006 (80) are not. Mean: half of A's normal SLA,
         * 200; 7 x 200 / 1 = 1400. */
        .name = "priorities and the SLA",
        .policy = "{'sla':{'max_wait_s':{'*:*':400,'A:vip':100}}}",
        .events = {OPEN(0, "1", "['A']"),
                   ISSUE(0, "A001", "A", "normal"),
                   ISSUE(20, "A002", "A", "vip"),
                   ISSUE(30, "A003", "A", "elderly"),
                   ISSUE(60, "A004", "A", "vip"),
                   ISSUE(200, "A005", "A", "normal"),
                   {250, "{'type':'ticket_issued','ticket':'A006','service':'A','source':'kiosk'}",
                    ANY_PRIORITY}},
        .now_s = 330,
        .hall = {.waiting = 6, .oldest_ms = AT(0), .open = 1, .estimate_s = 1400, .near_sla = 4},
        .n_services = 1,
        .services = {{"A", true, true, {6, AT(0), 1, 0, 0, 1400, 4}, {1, 2, 2, 1, 0}, 200, false}},
    },
    {
        /* X is named by counters only (after the state's A); counter 1
         * lists A twice and counts once. A: 2 x 600 / 1; X: 1 x 600 / 2. */
        .name = "a service only counters name",
        .events = {ISSUE(0, "A001", "A", "appointment"), OPEN(1, "1", "['A','A','X']"),
                   OPEN(1, "2", "['X']")},
        .now_s = 61,
        .hall = {.waiting = 1, .oldest_ms = AT(0), .open = 2, .estimate_s = 1200},
        .n_services = 2,
        .services = {{"A", true, true, {1, AT(0), 1, 0, 0, 1200, 0}, {0, 0, 0, 0, 1}, 600, false},
                     {"X", false, true, {0, 0, 2, 0, 0, 300, 0}, {0}, 600, false}},
    },
    {
        /* Both counters busy (calling), a 240 s service known: A004 waits
         * alone, 2 x 240 / 2 = 240. */
        .name = "busy counters and a known mean",
        .events = {OPEN(0, "1", "['A']"), OPEN(0, "2", "['A']"), ISSUE(0, "A001", "A", "normal"),
                   ISSUE(1, "A002", "A", "normal"), ISSUE(2, "A003", "A", "normal"),
                   ISSUE(3, "A004", "A", "normal"), CALL(10, "A001", "1"), CALL(10, "A002", "2"),
                   START(20, "A002", "2"), DONE(260, "A002", "2", ",'duration_s':240"),
                   CALL(270, "A003", "2")},
        .now_s = 300,
        .hall = {.waiting = 1, .oldest_ms = AT(3), .open = 2, .busy = 2, .estimate_s = 240},
        .n_services = 1,
        .services = {{"A", true, true, {1, AT(3), 2, 2, 0, 240, 0}, {0, 1, 0, 0, 0}, 240, true}},
    },
    {
        .name = "an empty hall",
        .now_s = 0,
        .hall = {0},
    },
};

/* A scenario played: the hall state after its events, its policy (NULL
 * when it names none) and the figures at its moment. */
typedef struct run {
    hb_hall_state_t *s;
    hb_policy_t *p;
    hb_hall_figures_t *f;
} run_t;

static run_t s_run(const scenario_t *sc)
{
    run_t r = {hb_hall_state_new(), hbt_policy(sc->policy), malloc(sizeof *r.f)};
    assert_non_null(r.s);
    assert_non_null(r.f);
    for (size_t i = 0; sc->events[i].json; i++)
        s_apply(r.s, sc->events[i].at_s, sc->events[i].json, sc->events[i].priority);
    hb_hall_figures(r.s, r.p, T0 + sc->now_s * SEC, r.f);
    return r;
}

static void s_run_free(run_t *r)
{
    free(r->f);
    hb_policy_free(&r->p);
    hb_hall_state_destroy(&r->s);
}

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_table)
{
    (void)state;
    for (size_t k = 0; k < sizeof s_table / sizeof s_table[0]; k++) {
        const scenario_t *sc = &s_table[k];
        run_t r = s_run(sc);
        const hb_hall_figures_t *f = r.f;
        fprintf(stderr, "%s\n", sc->name);
        S_ASSERT_FIGURES(f, &sc->hall);
        assert_int_equal(f->n_services, sc->n_services);
        for (size_t i = 0; i < sc->n_services; i++) {
            const want_service_t *w = &sc->services[i];
            const hb_fig_service_t *v = &f->services[i];
            assert_string_equal(v->code, w->code);
            assert_ptr_equal(hb_fig_service(f, w->code), v);
            assert_int_equal(v->in_state, w->in_state);
            assert_int_equal(v->offered, w->offered);
            S_ASSERT_FIGURES(v, &w->fig);
            for (int b = 0; b < HB_FIG_PRIORITIES; b++)
                assert_int_equal(v->by_priority[b].waiting, w->by_priority[b]);
            assert_int_equal(v->mean_service_s, w->mean_s);
            assert_int_equal(v->mean_known, w->mean_known);
            /* One ticket at a position, the engine's way, agrees with the
             * new-customer figure. */
            assert_int_equal(hb_fig_ticket_estimate_s(r.s, r.p, w->code, w->fig.waiting + 1),
                             w->fig.estimate_s);
        }
        assert_null(hb_fig_service(f, "NOPE"));
        s_run_free(&r);
    }
}

/* The buckets of the SLA scenario one by one: their oldest tickets and
 * limits (what the wait_sla alert reads) and their counts near the SLA. */
HBT_TEST(test_buckets)
{
    (void)state;
    run_t r = s_run(&s_table[3]); /* at 330 s */
    hb_hall_figures_t *f = r.f;
    static const struct {
        int bucket;
        const char *oldest;
        int64_t limit_s;
        uint32_t near;
    } want[] = {
        {0, "A006", 400, 0},
        {HALLBUS__PRIORITY__PRIORITY_NORMAL, "A001", 400, 1},
        {HALLBUS__PRIORITY__PRIORITY_VIP, "A002", 100, 2},
        {HALLBUS__PRIORITY__PRIORITY_ELDERLY, "A003", 400, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const hb_fig_queue_t *q = &f->services[0].by_priority[want[i].bucket];
        assert_non_null(q->oldest);
        assert_string_equal(q->oldest->id, want[i].oldest);
        assert_int_equal(q->max_wait_s, want[i].limit_s);
        assert_int_equal(q->near_sla, want[i].near);
    }
    assert_int_equal(f->services[0].by_priority[0].oldest->priority, ANY_PRIORITY);
    assert_null(f->services[0].by_priority[HALLBUS__PRIORITY__PRIORITY_APPOINTMENT].oldest);
    /* A millisecond before A003's 300 s it is not near yet. */
    hb_hall_figures(r.s, r.p, T0 + 300 * SEC + 30 * SEC - 1, f);
    assert_int_equal(f->services[0].by_priority[HALLBUS__PRIORITY__PRIORITY_ELDERLY].near_sla, 0);
    /* Without a policy nothing is near and no limit is looked up. */
    hb_hall_figures(r.s, NULL, T0 + 100000 * SEC, f);
    assert_int_equal(f->near_sla, 0);
    assert_int_equal(f->services[0].by_priority[1].max_wait_s, 0);
    s_run_free(&r);
}

HBT_TEST(test_definitions)
{
    (void)state;
    static const struct {
        int state;
        bool open, busy, paused;
    } counters[] = {
        {HB_COUNTER_CLOSED, false, false, false}, {HB_COUNTER_IDLE, true, false, false},
        {HB_COUNTER_CALLING, true, true, false},  {HB_COUNTER_SERVING, true, true, false},
        {HB_COUNTER_PAUSED, false, false, true},  {99, false, false, false},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        assert_int_equal(hb_fig_counter_open(counters[i].state), counters[i].open);
        assert_int_equal(hb_fig_counter_busy(counters[i].state), counters[i].busy);
        assert_int_equal(hb_fig_counter_paused(counters[i].state), counters[i].paused);
    }
    static const struct {
        int priority, bucket;
    } buckets[] = {{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 0}, {-1, 0}, {1000, 0}};
    for (size_t i = 0; i < sizeof buckets / sizeof buckets[0]; i++)
        assert_int_equal(hb_fig_priority_bucket(buckets[i].priority), buckets[i].bucket);
    static const struct {
        int64_t issued, now, wait_s;
    } waits[] = {{0, 0, 0},
                 {1000, 999, 0},
                 {1000, 2999, 1},
                 {INT64_MIN, 0, INT64_MAX / 1000},
                 {0, INT64_MAX, INT64_MAX / 1000}};
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++)
        assert_int_equal(hb_fig_wait_s(waits[i].issued, waits[i].now), waits[i].wait_s);
    static const struct {
        uint32_t position, mean, counters, want;
    } est[] = {{1, 300, 0, 300},
               {3, 240, 2, 360},
               {3, 100, 3, 100},
               {5, 7, 2, 17},
               {0, 300, 1, 0},
               {7, 0, 1, 0},
               {UINT32_MAX, UINT32_MAX, 1, UINT32_MAX}};
    for (size_t i = 0; i < sizeof est / sizeof est[0]; i++)
        assert_int_equal(hb_fig_estimate_s(est[i].position, est[i].mean, est[i].counters),
                         est[i].want);
    hb_policy_t *p = hbt_policy("{'diversion':{'threshold':3}}");
    assert_false(hb_fig_divert_due(3, p));
    assert_true(hb_fig_divert_due(4, p));
    hb_policy_free(&p);
}

/* The JSON both daemons answer with: its members and their values. */
HBT_TEST(test_json)
{
    (void)state;
    run_t r = s_run(&s_table[1]); /* at 50 s */
    hb_hall_figures_t *f = r.f;
    json_t *o = hb_hall_figures_json(f);
    assert_non_null(o);
    static const char *const top[] = {"waiting",          "oldest_issued", "longest_wait_s",
                                      "counters_open",    "counters_busy", "counters_paused",
                                      "estimated_wait_s", "near_sla",      "services"};
    assert_int_equal(json_object_size(o), sizeof top / sizeof top[0]);
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        assert_non_null(json_object_get(o, top[i]));
    assert_int_equal(json_integer_value(json_object_get(o, "longest_wait_s")), 48);
    char when[HB_RFC3339_MAX];
    hb_time_format(T0 + 2 * SEC, when);
    assert_string_equal(json_string_value(json_object_get(o, "oldest_issued")), when);
    json_t *a = json_array_get(json_object_get(o, "services"), 0);
    static const char *const members[] = {
        "service",         "offered",        "waiting",       "waiting_by_priority",
        "oldest_issued",   "oldest_wait_s",  "counters_open", "counters_busy",
        "counters_paused", "mean_service_s", "mean_known",    "estimated_wait_s",
        "near_sla"};
    assert_int_equal(json_object_size(a), sizeof members / sizeof members[0]);
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        assert_non_null(json_object_get(a, members[i]));
    assert_string_equal(json_string_value(json_object_get(a, "service")), "A");
    assert_int_equal(json_integer_value(json_object_get(a, "estimated_wait_s")), 450);
    assert_int_equal(json_integer_value(json_object_get(a, "oldest_wait_s")), 48);
    assert_int_equal(json_integer_value(json_object_get(a, "counters_paused")), 1);
    json_t *by = json_object_get(a, "waiting_by_priority");
    assert_int_equal(json_integer_value(json_object_get(by, "normal")), 1);
    assert_int_equal(json_integer_value(json_object_get(by, "vip")), 1);
    assert_int_equal(json_integer_value(json_object_get(by, "other")), 0);
    json_decref(o);
    /* Nobody waits: no oldest, no wait. */
    hb_hall_state_t *e = hb_hall_state_new();
    hb_hall_figures(e, NULL, T0, f);
    o = hb_hall_figures_json(f);
    assert_true(json_is_null(json_object_get(o, "oldest_issued")));
    assert_int_equal(json_integer_value(json_object_get(o, "longest_wait_s")), 0);
    assert_int_equal(json_array_size(json_object_get(o, "services")), 0);
    json_decref(o);
    hb_hall_state_destroy(&e);
    s_run_free(&r);
}

/* ------------------------------------------- against the definitions ---- */

/* figures.h's definitions said again plainly, one figure at a time, for
 * one service (`code`). */
typedef struct plain {
    want_figures_t fig;
    uint32_t by_priority[HB_FIG_PRIORITIES];
} plain_t;

static bool s_plain_serves(const hb_hs_counter_t *c, const char *code)
{
    for (size_t k = 0; k < c->n_services; k++)
        if (strcmp(c->services[k], code) == 0)
            return true;
    return false;
}

static void s_plain(const hb_hall_state_t *s, const hb_policy_t *p, const char *code, int64_t now,
                    plain_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->n_tickets; i++) {
        const hb_hs_ticket_t *t = &s->tickets[i];
        if (t->state != HB_TICKET_WAITING || strcmp(t->service, code) != 0)
            continue;
        out->fig.waiting++;
        int b = t->priority >= 1 && t->priority <= 4 ? t->priority : 0;
        out->by_priority[b]++;
        if (!out->fig.oldest_ms || t->issued_ms < out->fig.oldest_ms)
            out->fig.oldest_ms = t->issued_ms;
        int64_t limit = hb_policy_max_wait_s(p, code, b);
        if ((now - t->issued_ms) * 4 >= limit * 3000) /* three quarters, in ms */
            out->fig.near_sla++;
    }
    for (size_t i = 0; i < s->n_counters; i++) {
        const hb_hs_counter_t *c = &s->counters[i];
        if (!s_plain_serves(c, code))
            continue;
        int st = c->state;
        out->fig.open +=
            st == HB_COUNTER_IDLE || st == HB_COUNTER_CALLING || st == HB_COUNTER_SERVING;
        out->fig.busy += st == HB_COUNTER_CALLING || st == HB_COUNTER_SERVING;
        out->fig.paused += st == HB_COUNTER_PAUSED;
    }
    const hb_hs_service_t *svc = hb_hall_state_service(s, code);
    uint64_t mean;
    if (svc && svc->n_recent) {
        uint64_t sum = 0;
        for (unsigned k = 0; k < svc->n_recent; k++)
            sum += svc->recent_service_s[(svc->recent_pos + k) % HB_HS_DURATIONS];
        mean = (sum + svc->n_recent / 2) / svc->n_recent;
    } else {
        mean = (uint64_t)hb_policy_max_wait_s(p, code, HALLBUS__PRIORITY__PRIORITY_NORMAL) / 2;
    }
    out->fig.estimate_s =
        (uint32_t)((out->fig.waiting + 1) * mean / (out->fig.open ? out->fig.open : 1));
}

static void s_check_plain(const hb_hall_state_t *s, const hb_policy_t *p, int64_t now,
                          hb_hall_figures_t *f)
{
    hb_hall_figures(s, p, now, f);
    uint32_t waiting = 0, near = 0, hall_estimate = 0;
    for (size_t i = 0; i < f->n_services; i++) {
        const hb_fig_service_t *v = &f->services[i];
        plain_t w;
        s_plain(s, p, v->code, now, &w);
        S_ASSERT_FIGURES(v, &w.fig);
        for (int b = 0; b < HB_FIG_PRIORITIES; b++)
            assert_int_equal(v->by_priority[b].waiting, w.by_priority[b]);
        assert_int_equal(v->offered, w.fig.open > 0);
        waiting += w.fig.waiting;
        near += w.fig.near_sla;
        if ((w.fig.open > 0 || w.fig.waiting > 0) && w.fig.estimate_s > hall_estimate)
            hall_estimate = w.fig.estimate_s;
    }
    assert_int_equal(f->waiting, waiting);
    assert_int_equal(f->near_sla, near);
    assert_int_equal(f->estimated_wait_s, hall_estimate);
    /* Every service of the state is listed, and every one a counter names. */
    assert_true(f->n_services >= s->n_services);
    for (size_t i = 0; i < s->n_counters; i++)
        for (size_t k = 0; k < s->counters[i].n_services; k++)
            assert_non_null(hb_fig_service(f, s->counters[i].services[k]));
    uint32_t open = 0;
    for (size_t i = 0; i < s->n_counters; i++)
        open += s->counters[i].state == HB_COUNTER_IDLE ||
                s->counters[i].state == HB_COUNTER_CALLING ||
                s->counters[i].state == HB_COUNTER_SERVING;
    assert_int_equal(f->counters_open, open);
}

/* Simulated days (the traffic model's customers, counters, lunch breaks,
 * transfers), the figures checked after every few events at a moment a
 * little later, against the plain definitions. */
HBT_TEST(test_simulated_days)
{
    (void)state;
    hb_policy_t *p = hbt_policy("{'sla':{'max_wait_s':{'*:*':900,'A:vip':300,'B:*':1500,"
                                "'*:elderly':600}}}");
    hb_hall_figures_t *f = malloc(sizeof *f);
    uint64_t rnd = 20261202;
    size_t checks = 0;
    for (int day = 0; day < 3; day++) {
        hb_hall_state_t *s = hb_hall_state_new();
        int64_t open_ms = T0 + (int64_t)day * 86400 * SEC;
        hb_sim_hall_t *h = hb_sim_hall_new(7, day, open_ms);
        assert_non_null(h);
        int64_t t = 0;
        Hallbus__Envelope *env;
        for (uint64_t seq = 1; (env = hbt_sim_next(h, &t)); seq++) {
            env->seq = seq;
            env->at_ms = t;
            hb_hall_state_apply(s, env);
            hb_envelope_free(env);
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            if ((rnd >> 33) % 7 == 0) {
                s_check_plain(s, p, t + (int64_t)((rnd >> 40) % 1800) * SEC, f);
                checks++;
            }
        }
        hb_sim_hall_destroy(&h);
        hb_hall_state_destroy(&s);
    }
    fprintf(stderr, "figures equal the plain definitions at %zu moments of 3 simulated days\n",
            checks);
    assert_true(checks > 100);
    free(f);
    hb_policy_free(&p);
}
