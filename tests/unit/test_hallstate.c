/* Unit tests of common/hall/hallstate.c, the hall-state reducer: what each event
 * kind does and each anomaly it can be, counter open and busy time to the
 * millisecond, the day's reset, the bounds, whole simulated days (hb_sim)
 * with the reducer's invariants checked after every event and the day's
 * totals compared with the simulator's, snapshots taken anywhere that give
 * the same end state, the bytes path, unknown kinds, clones, every refusal
 * of a snapshot, and the live view's members. It prints (does not assert)
 * the apply rate over simulated days. */
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/hallstate.h"
#include "sim.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"

#define T0 1795424400000LL /* 2026-11-23T09:00:00Z */
#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY_MS (24LL * 3600 * 1000)
#define TEXT_MAX 4096

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                           \
    } while (0)

/* ------------------------------------------------------------ helpers ---- */

/* An envelope from JSON written with single quotes (test text reads better
 * that way), stamped with `at`. */
static Hallbus__Envelope *s_env(int64_t at, const char *text)
{
    char buf[TEXT_MAX];
    size_t n = strlen(text);
    assert_true(n < sizeof buf);
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr);
    if (!j)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, buf);
    char ts[HB_RFC3339_MAX];
    hb_time_format(at, ts);
    assert_int_equal(json_object_set_new(j, "at", json_string(ts)), 0);
    Hallbus__Envelope *env = NULL;
    char err[256] = "";
    if (hb_event_from_json(j, at, 0, &env, err, sizeof err) != 0)
        fail_msg("the codec refuses %s: %s", buf, err);
    json_decref(j);
    return env;
}

/* Applies one event as the next of the stream. */
static int s_do(hb_hall_state_t *s, int64_t at, const char *text)
{
    Hallbus__Envelope *env = s_env(at, text);
    env->seq = s->seq + 1;
    int rc = hb_hall_state_apply(s, env);
    assert_int_equal(s->seq, env->seq);
    assert_int_equal(s->at_ms, at);
    hb_envelope_free(env);
    return rc;
}

#define OK(s, at, text) assert_int_equal(s_do((s), (at), (text)), 0)
#define ANOMALY(s, at, text)                                                                       \
    do {                                                                                           \
        uint64_t a_ = (s)->anomalies;                                                              \
        assert_int_equal(s_do((s), (at), (text)), HB_EINVAL);                                      \
        assert_int_equal((s)->anomalies, a_ + 1);                                                  \
    } while (0)

/* Applies a hand-built envelope (what JSON cannot say). */
static int s_do_env(hb_hall_state_t *s, Hallbus__Envelope *env, int64_t at)
{
    env->seq = s->seq + 1;
    env->at_ms = at;
    return hb_hall_state_apply(s, env);
}

static char *s_text(const hb_hall_state_t *s)
{
    json_t *j = hb_hall_state_to_json(s);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(text);
    json_decref(j);
    return text;
}

static const hb_hs_ticket_t *s_t(const hb_hall_state_t *s, const char *id)
{
    const hb_hs_ticket_t *t = hb_hall_state_ticket(s, id);
    if (!t)
        fail_msg("ticket %s is not live", id);
    return t;
}

static const hb_hs_counter_t *s_c(const hb_hall_state_t *s, const char *id)
{
    const hb_hs_counter_t *c = hb_hall_state_counter(s, id);
    if (!c)
        fail_msg("counter %s is unknown", id);
    return c;
}

static const hb_hs_service_t *s_svc(const hb_hall_state_t *s, const char *code)
{
    const hb_hs_service_t *v = hb_hall_state_service(s, code);
    if (!v)
        fail_msg("service %s is unknown", code);
    return v;
}

/* What must hold after every event, whatever the stream. */
static void s_invariants(const hb_hall_state_t *s)
{
    assert_true(s->n_tickets <= HB_HS_TICKETS_MAX && s->n_services <= HB_HS_SERVICES_MAX);
    assert_true(s->n_recent <= HB_HS_RECENT_MAX);
    for (size_t k = 0; k < s->n_services; k++) {
        uint32_t waiting = 0;
        for (size_t i = 0; i < s->n_tickets; i++)
            waiting += s->tickets[i].state == HB_TICKET_WAITING &&
                       strcmp(s->tickets[i].service, s->services[k].code) == 0;
        if (waiting != s->services[k].waiting)
            fail_msg("service %s counts %u waiting, %u tickets wait at seq %llu",
                     s->services[k].code, s->services[k].waiting, waiting,
                     (unsigned long long)s->seq);
    }
    for (size_t i = 0; i < s->n_tickets; i++) {
        const hb_hs_ticket_t *t = &s->tickets[i];
        assert_in_range(t->state, HB_TICKET_WAITING, HB_TICKET_SERVING);
        assert_non_null(hb_hall_state_service(s, t->service));
        if (t->state == HB_TICKET_WAITING)
            assert_string_equal(t->counter, "");
    }
    for (size_t i = 0; i < s->n_recent; i++)
        assert_in_range(s->recent[i].state, HB_TICKET_SERVED, HB_TICKET_CANCELLED);
    for (size_t k = 0; k < s->n_counters; k++) {
        const hb_hs_counter_t *c = &s->counters[k];
        if (c->state != HB_COUNTER_CALLING && c->state != HB_COUNTER_SERVING)
            continue;
        const hb_hs_ticket_t *t = hb_hall_state_ticket(s, c->ticket);
        if (!t || strcmp(t->counter, c->id) != 0)
            fail_msg("counter %s is %s without its ticket at seq %llu", c->id,
                     hb_counter_state_name(c->state), (unsigned long long)s->seq);
        assert_int_equal(t->state,
                         c->state == HB_COUNTER_CALLING ? HB_TICKET_CALLED : HB_TICKET_SERVING);
    }
}

/* One simulated day as envelopes, numbered 1.., opened by a day_started. */
typedef struct day {
    Hallbus__Envelope **envs;
    size_t n;
    hb_sim_stats_t stats;
} day_t;

static day_t s_day(uint64_t seed, int hall, int64_t open_ms)
{
    day_t d = {0};
    size_t cap = 1024;
    d.envs = malloc(cap * sizeof *d.envs);
    assert_non_null(d.envs);
    char date[HB_RFC3339_MAX];
    hb_time_format(open_ms, date);
    date[10] = '\0';
    char text[256];
    snprintf(text, sizeof text,
             "{'type':'day_started','date':'%s','timezone':'UTC','utc_offset_s':0}", date);
    d.envs[d.n++] = s_env(open_ms - 9 * 3600 * SEC, text);
    hb_sim_hall_t *h = hb_sim_hall_new(seed, hall, open_ms);
    assert_non_null(h);
    for (;;) {
        int64_t t = 0;
        json_t *ev = NULL;
        int rc = hb_sim_next(h, &t, &ev);
        if (rc == HB_ECLOSED)
            break;
        assert_int_equal(rc, 0);
        if (d.n == cap) {
            cap *= 2;
            d.envs = realloc(d.envs, cap * sizeof *d.envs);
            assert_non_null(d.envs);
        }
        char err[256] = "";
        Hallbus__Envelope *env = NULL;
        if (hb_event_from_json(ev, t, 0, &env, err, sizeof err) != 0)
            fail_msg("sim event refused: %s", err);
        json_decref(ev);
        d.envs[d.n++] = env;
    }
    hb_sim_hall_stats(h, &d.stats);
    hb_sim_hall_destroy(&h);
    for (size_t i = 0; i < d.n; i++)
        d.envs[i]->seq = i + 1;
    return d;
}

static void s_day_free(day_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        hb_envelope_free(d->envs[i]);
    free(d->envs);
    d->envs = NULL;
    d->n = 0;
}

/* A small deterministic generator for the test's own choices. */
static uint64_t s_rand(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

/* --------------------------------------------------------- ticket life ---- */

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_ticket_life)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    assert_non_null(s);
    OK(s, T0,
       "{'type':'day_started','date':'2026-11-23','timezone':'Europe/Berlin',"
       "'utc_offset_s':3600}");
    assert_string_equal(s->timezone, "Europe/Berlin");
    assert_int_equal(s->utc_offset_s, 3600);
    OK(s, T0, "{'type':'counter_opened','counter':'1','staff':'S01','services':['A','B']}");
    OK(s, T0 + 1 * SEC,
       "{'type':'ticket_issued','ticket':'A001','service':'A',"
       "'priority':'normal','source':'kiosk','number':1}");
    OK(s, T0 + 2 * SEC,
       "{'type':'ticket_issued','ticket':'A002','service':'A','priority':'elderly','number':2}");
    /* A ticket without a priority is a normal one. */
    OK(s, T0 + 3 * SEC, "{'type':'ticket_issued','ticket':'A007','service':'A','number':7}");

    const hb_hs_service_t *a = s_svc(s, "A");
    assert_int_equal(a->waiting, 3);
    assert_int_equal(a->issued, 3);
    assert_int_equal(a->next_number, 8);
    assert_int_equal(s->today.issued, 3);
    assert_int_equal(s->n_tickets, 3);
    assert_string_equal(s->tickets[0].id, "A001");
    assert_string_equal(s->tickets[1].id, "A002");
    assert_int_equal(s_t(s, "A002")->priority, HALLBUS__PRIORITY__PRIORITY_ELDERLY);
    assert_int_equal(s_t(s, "A007")->priority, HALLBUS__PRIORITY__PRIORITY_NORMAL);
    assert_int_equal(s_t(s, "A002")->state, HB_TICKET_WAITING);
    assert_int_equal(s_t(s, "A002")->issued_ms, T0 + 2 * SEC);
    assert_int_equal(s_t(s, "A002")->number, 2);

    /* A call without wait_s: the wait is the time since issue. */
    OK(s, T0 + 62 * SEC,
       "{'type':'ticket_called','ticket':'A002','counter':'1','rule':'priority'}");
    const hb_hs_ticket_t *t = s_t(s, "A002");
    assert_int_equal(t->state, HB_TICKET_CALLED);
    assert_string_equal(t->counter, "1");
    assert_int_equal(t->wait_s, 60);
    assert_int_equal(t->called_ms, T0 + 62 * SEC);
    const hb_hs_counter_t *c = s_c(s, "1");
    assert_int_equal(c->state, HB_COUNTER_CALLING);
    assert_string_equal(c->ticket, "A002");
    assert_int_equal(c->state_since_ms, T0 + 62 * SEC);
    assert_int_equal(c->priority_streak, 1);
    a = s_svc(s, "A");
    assert_int_equal(a->waiting, 2);
    assert_int_equal(a->called, 1);
    assert_int_equal(a->wait_s_sum, 60);
    assert_int_equal(a->wait_n, 1);
    assert_int_equal(a->wait_max_s, 60);
    assert_int_equal(s->today.called, 1);
    assert_int_equal(s->today.wait_s_sum, 60);
    assert_int_equal(s->today.wait_max_s, 60);

    OK(s, T0 + 92 * SEC,
       "{'type':'ticket_recalled','ticket':'A002','counter':'1','recall_count':1}");
    assert_int_equal(s_t(s, "A002")->recalls, 1);
    assert_int_equal(s_t(s, "A002")->called_ms, T0 + 92 * SEC);

    OK(s, T0 + 100 * SEC, "{'type':'service_started','ticket':'A002','counter':'1','staff':'S01'}");
    assert_int_equal(s_t(s, "A002")->state, HB_TICKET_SERVING);
    assert_int_equal(s_t(s, "A002")->started_ms, T0 + 100 * SEC);
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_SERVING);
    assert_string_equal(s_c(s, "1")->ticket, "A002");

    /* Without duration_s, the service time runs from its start. */
    OK(s, T0 + 400 * SEC,
       "{'type':'service_completed','ticket':'A002','counter':'1','business_type':'bill_payment',"
       "'outcome':'done','amount':8000}");
    assert_null(hb_hall_state_ticket(s, "A002"));
    assert_int_equal(s->n_tickets, 2);
    assert_string_equal(s->tickets[0].id, "A001");
    assert_string_equal(s->tickets[1].id, "A007");
    assert_int_equal(s->n_recent, 1);
    const hb_hs_ticket_t *done = hb_hall_state_ticket_any(s, "A002");
    assert_non_null(done);
    assert_ptr_equal(done, &s->recent[0]);
    assert_int_equal(done->state, HB_TICKET_SERVED);
    assert_int_equal(done->outcome, HALLBUS__OUTCOME__OUTCOME_DONE);
    assert_int_equal(done->ended_ms, T0 + 400 * SEC);
    assert_string_equal(done->counter, "");
    a = s_svc(s, "A");
    assert_int_equal(a->served, 1);
    assert_int_equal(a->service_s_sum, 300);
    assert_int_equal(a->service_n, 1);
    assert_int_equal(hb_hall_state_mean_service_s(a), 300);
    assert_int_equal(s->today.served, 1);
    assert_int_equal(s->today.outcomes[HALLBUS__OUTCOME__OUTCOME_DONE], 1);
    assert_int_equal(s->today.amount_sum, 8000);
    assert_int_equal(s->today.service_s_sum, 300);
    c = s_c(s, "1");
    assert_int_equal(c->state, HB_COUNTER_IDLE);
    assert_string_equal(c->ticket, "");
    assert_int_equal(c->served, 1);

    /* The event's wait_s wins over the clock; a normal ticket restarts the
     * priority streak. */
    OK(s, T0 + 500 * SEC,
       "{'type':'ticket_called','ticket':'A001','counter':'1','rule':'fifo','wait_s':450}");
    assert_int_equal(s_t(s, "A001")->wait_s, 450);
    assert_int_equal(s_c(s, "1")->priority_streak, 0);
    assert_int_equal(s_svc(s, "A")->wait_max_s, 450);
    /* duration_s is taken as given, even without a start. */
    OK(s, T0 + 600 * SEC,
       "{'type':'service_completed','ticket':'A001','counter':'1','business_type':'x',"
       "'outcome':'referred','duration_s':120}");
    assert_int_equal(s_svc(s, "A")->service_s_sum, 420);
    assert_int_equal(hb_hall_state_mean_service_s(s_svc(s, "A")), 210);
    assert_int_equal(s->today.outcomes[HALLBUS__OUTCOME__OUTCOME_REFERRED], 1);

    /* A service started without a call (an adapter skipped it): the call
     * is counted first. */
    OK(s, T0 + 700 * SEC, "{'type':'service_started','ticket':'A007','counter':'1','staff':'S01'}");
    t = s_t(s, "A007");
    assert_int_equal(t->state, HB_TICKET_SERVING);
    assert_int_equal(t->wait_s, 697);
    assert_int_equal(s_svc(s, "A")->waiting, 0);
    assert_int_equal(s->today.called, 3);
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_SERVING);
    /* Completion without a duration or counter in the event: the ticket's
     * counter is the one that served. */
    OK(s, T0 + 760 * SEC,
       "{'type':'service_completed','ticket':'A007','business_type':'x',"
       "'outcome':'rejected_documents'}");
    assert_int_equal(s_c(s, "1")->served, 3);
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_IDLE);
    assert_int_equal(s_svc(s, "A")->recent_service_s[2], 60);
    assert_int_equal(s->anomalies, 0);
    s_invariants(s);
    hb_hall_state_destroy(&s);
    assert_null(s);
    hb_hall_state_destroy(&s); /* idempotent */
}

/* The recent lists: finished tickets drop the oldest past the bound, and a
 * service keeps only its last HB_HS_DURATIONS durations. */
HBT_TEST(test_recent_bounds)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    OK(s, T0, "{'type':'counter_opened','counter':'1','services':['A']}");
    char text[256];
    for (int i = 1; i <= 30; i++) {
        snprintf(text, sizeof text, "{'type':'ticket_issued','ticket':'A%03d','service':'A'}", i);
        OK(s, T0 + i * MIN, text);
        snprintf(text, sizeof text, "{'type':'ticket_called','ticket':'A%03d','counter':'1'}", i);
        OK(s, T0 + i * MIN, text);
        snprintf(text, sizeof text,
                 "{'type':'service_completed','ticket':'A%03d','counter':'1','business_type':'x',"
                 "'outcome':'done','duration_s':%d}",
                 i, i);
        OK(s, T0 + i * MIN + 30 * SEC, text);
    }
    assert_int_equal(s->n_recent, HB_HS_RECENT_MAX);
    assert_string_equal(s->recent[0].id, "A015");
    assert_string_equal(s->recent[HB_HS_RECENT_MAX - 1].id, "A030");
    assert_null(hb_hall_state_ticket_any(s, "A001"));
    const hb_hs_service_t *a = s_svc(s, "A");
    assert_int_equal(a->n_recent, HB_HS_DURATIONS);
    /* The last 20 durations are 11..30 s: mean 20.5, rounded. */
    assert_int_equal(hb_hall_state_mean_service_s(a), 21);
    assert_int_equal(a->service_n, 30);
    hb_hall_state_destroy(&s);
}

/* ----------------------------------------------------------- anomalies ---- */

HBT_TEST(test_ticket_anomalies)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    OK(s, T0, "{'type':'counter_opened','counter':'1','services':['A']}");
    OK(s, T0, "{'type':'ticket_issued','ticket':'A001','service':'A'}");
    /* A live ticket's id again: ignored. */
    ANOMALY(s, T0 + SEC, "{'type':'ticket_issued','ticket':'A001','service':'B'}");
    assert_int_equal(s->n_tickets, 1);
    assert_null(hb_hall_state_service(s, "B"));
    ANOMALY(s, T0, "{'type':'ticket_issued','ticket':'','service':'A'}");
    ANOMALY(s, T0, "{'type':'ticket_issued','ticket':'A002','service':''}");
    assert_int_equal(s->n_tickets, 1);
    assert_int_equal(s->today.issued, 1);

    ANOMALY(s, T0, "{'type':'ticket_called','ticket':'Z999','counter':'1'}");
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_IDLE);
    ANOMALY(s, T0, "{'type':'ticket_recalled','ticket':'A001','counter':'1','recall_count':1}");
    assert_int_equal(s_t(s, "A001")->recalls, 0);
    /* An unknown counter: the ticket is called all the same. */
    ANOMALY(s, T0 + 10 * SEC, "{'type':'ticket_called','ticket':'A001','counter':'9'}");
    assert_int_equal(s_t(s, "A001")->state, HB_TICKET_CALLED);
    assert_string_equal(s_t(s, "A001")->counter, "9");
    assert_int_equal(s_svc(s, "A")->waiting, 0);
    assert_int_equal(s->today.called, 1);
    /* ... and starts all the same; started twice is not a start. */
    OK(s, T0 + 20 * SEC, "{'type':'service_started','ticket':'A001','counter':'1'}");
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_SERVING);
    ANOMALY(s, T0 + 30 * SEC, "{'type':'service_started','ticket':'A001','counter':'1'}");
    assert_int_equal(s_t(s, "A001")->started_ms, T0 + 20 * SEC);
    ANOMALY(s, T0, "{'type':'service_started','ticket':'Z999','counter':'1'}");
    ANOMALY(s, T0,
            "{'type':'service_completed','ticket':'Z999','business_type':'x','outcome':'done'}");
    ANOMALY(s, T0, "{'type':'ticket_no_show','ticket':'Z999','counter':'1'}");
    ANOMALY(s, T0, "{'type':'ticket_cancelled','ticket':'Z999'}");
    ANOMALY(s, T0,
            "{'type':'ticket_transferred','ticket':'Z999','from_service':'A','to_service':'B'}");
    ANOMALY(s, T0,
            "{'type':'ticket_transferred','ticket':'A001','from_service':'A','to_service':''}");
    assert_int_equal(s_t(s, "A001")->state, HB_TICKET_SERVING);

    /* An outcome this build does not know: everything else still counts. */
    Hallbus__Envelope *env =
        s_env(T0 + 60 * SEC, "{'type':'service_completed','ticket':'A001',"
                             "'counter':'1','business_type':'x','outcome':'done'}");
    env->service_completed->outcome = (Hallbus__Outcome)9;
    uint64_t before = s->anomalies;
    assert_int_equal(s_do_env(s, env, T0 + 60 * SEC), HB_EINVAL);
    hb_envelope_free(env);
    assert_int_equal(s->anomalies, before + 1);
    assert_int_equal(s->today.served, 1);
    assert_int_equal(s->recent[0].outcome, 9);
    for (int k = 0; k < 4; k++)
        assert_int_equal(s->today.outcomes[k], 0);
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_IDLE);

    /* What JSON cannot carry: an id over the bound, a body that is not
     * there, a service id that is not UTF-8. */
    char long_id[HB_HS_ID + 8];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    env = s_env(T0, "{'type':'ticket_issued','ticket':'A003','service':'A'}");
    free(env->ticket_issued->ticket);
    env->ticket_issued->ticket = strdup(long_id);
    before = s->anomalies;
    assert_int_equal(s_do_env(s, env, T0), HB_EINVAL);
    free(env->ticket_issued->service);
    env->ticket_issued->service = strdup("\xc3\x28");
    free(env->ticket_issued->ticket);
    env->ticket_issued->ticket = strdup("A003");
    assert_int_equal(s_do_env(s, env, T0), HB_EINVAL);
    hb_envelope_free(env);
    Hallbus__Envelope bare = HALLBUS__ENVELOPE__INIT;
    bare.body_case = HALLBUS__ENVELOPE__BODY_TICKET_CALLED;
    assert_int_equal(s_do_env(s, &bare, T0), HB_EINVAL);
    assert_int_equal(s->anomalies, before + 3);
    assert_int_equal(s->n_tickets, 0);
    assert_int_equal(s->n_services, 1);
    s_invariants(s);
    hb_hall_state_destroy(&s);
}

HBT_TEST(test_other_anomalies)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    ANOMALY(s, T0, "{'type':'counter_paused','counter':'1'}");
    ANOMALY(s, T0, "{'type':'counter_resumed','counter':'1'}");
    ANOMALY(s, T0, "{'type':'counter_closed','counter':'1'}");
    ANOMALY(s, T0, "{'type':'counter_opened','counter':''}");
    assert_int_equal(s->n_counters, 0);
    OK(s, T0, "{'type':'counter_opened','counter':'1'}");
    ANOMALY(s, T0, "{'type':'counter_resumed','counter':'1'}"); /* not paused */
    OK(s, T0, "{'type':'counter_closed','counter':'1'}");
    ANOMALY(s, T0, "{'type':'counter_paused','counter':'1'}"); /* closed */
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_CLOSED);

    /* Seventeen services: the first sixteen are kept. */
    char text[1024] = "{'type':'counter_opened','counter':'2','services':[";
    for (int i = 0; i < HB_HS_COUNTER_SERVICES_MAX + 1; i++) {
        char one[16];
        snprintf(one, sizeof one, "%s'S%d'", i ? "," : "", i);
        strncat(text, one, sizeof text - strlen(text) - 1);
    }
    strncat(text, "]}", sizeof text - strlen(text) - 1);
    ANOMALY(s, T0, text);
    assert_int_equal(s_c(s, "2")->n_services, HB_HS_COUNTER_SERVICES_MAX);
    assert_string_equal(s_c(s, "2")->services[15], "S15");
    assert_int_equal(s_c(s, "2")->state, HB_COUNTER_IDLE);

    ANOMALY(s, T0, "{'type':'complaint_acknowledged','complaint':'K1','by':'M01'}");
    ANOMALY(s, T0, "{'type':'complaint_escalated','complaint':'K1','level':'region'}");
    ANOMALY(s, T0, "{'type':'complaint_resolved','complaint':'K1'}");
    ANOMALY(s, T0, "{'type':'complaint_opened','complaint':'','category':'fees'}");
    OK(s, T0, "{'type':'complaint_opened','complaint':'K1','category':'fees'}");
    ANOMALY(s, T0, "{'type':'complaint_opened','complaint':'K1','category':'staff'}");
    assert_int_equal(s->n_complaints, 1);
    assert_string_equal(s->complaints[0].category, "fees");
    assert_int_equal(s->today.complaints_opened, 1);

    ANOMALY(s, T0, "{'type':'satisfaction_scored','ticket':'A1','score':0}");
    ANOMALY(s, T0, "{'type':'satisfaction_scored','ticket':'A1','score':6}");
    ANOMALY(s, T0, "{'type':'device_status','device':'','kind':'kiosk','state':'ok'}");
    assert_int_equal(s->n_devices, 0);
    for (int k = 0; k < 5; k++)
        assert_int_equal(s->today.feedback[k], 0);

    /* The day still starts with a date that is not one. */
    OK(s, T0, "{'type':'ticket_issued','ticket':'A1','service':'A'}");
    ANOMALY(s, T0, "{'type':'day_started','date':'2026-13-01','timezone':'UTC'}");
    assert_string_equal(s->today.date, "");
    assert_int_equal(s->today.issued, 0);
    ANOMALY(s, T0, "{'type':'day_started','date':'2026-02-29','timezone':'UTC'}");
    ANOMALY(s, T0, "{'type':'day_started','date':'23.11.2026','timezone':'UTC'}");
    OK(s, T0, "{'type':'day_started','date':'2028-02-29','timezone':'UTC'}");
    assert_string_equal(s->today.date, "2028-02-29");
    s_invariants(s);
    hb_hall_state_destroy(&s);
}

/* ------------------------------------------------- transfers and ends ---- */

HBT_TEST(test_transfer_no_show_cancel)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    OK(s, T0, "{'type':'counter_opened','counter':'1','services':['A','B']}");
    OK(s, T0, "{'type':'ticket_issued','ticket':'A001','service':'A'}");
    OK(s, T0 + SEC, "{'type':'ticket_issued','ticket':'B001','service':'B'}");
    /* A waiting ticket moves to a service not seen before. */
    OK(s, T0 + 2 * SEC,
       "{'type':'ticket_transferred','ticket':'A001','from_service':'A','to_service':'C'}");
    const hb_hs_ticket_t *t = s_t(s, "A001");
    assert_string_equal(t->service, "C");
    assert_true(t->transferred);
    assert_int_equal(t->issued_ms, T0);
    assert_int_equal(t->state, HB_TICKET_WAITING);
    assert_int_equal(s_svc(s, "A")->waiting, 0);
    assert_int_equal(s_svc(s, "A")->transferred_out, 1);
    assert_int_equal(s_svc(s, "C")->waiting, 1);
    assert_int_equal(s_svc(s, "C")->transferred_in, 1);
    assert_int_equal(s_svc(s, "C")->next_number, 1);
    assert_int_equal(s->today.transferred, 1);
    assert_string_equal(s->services[2].code, "C");

    /* A called ticket moves: its counter is free, recalls start again. */
    OK(s, T0 + 60 * SEC, "{'type':'ticket_called','ticket':'B001','counter':'1'}");
    OK(s, T0 + 90 * SEC,
       "{'type':'ticket_recalled','ticket':'B001','counter':'1','recall_count':1}");
    OK(s, T0 + 100 * SEC,
       "{'type':'ticket_transferred','ticket':'B001','from_service':'B',"
       "'to_service':'A','counter':'1'}");
    t = s_t(s, "B001");
    assert_int_equal(t->state, HB_TICKET_WAITING);
    assert_string_equal(t->counter, "");
    assert_int_equal(t->recalls, 0);
    assert_int_equal(t->wait_s, 59);
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_IDLE);
    assert_string_equal(s_c(s, "1")->ticket, "");
    assert_int_equal(s_svc(s, "A")->waiting, 1);
    assert_int_equal(s_svc(s, "B")->waiting, 0);
    /* Called again in its new service: its wait was counted once. */
    OK(s, T0 + 200 * SEC, "{'type':'ticket_called','ticket':'B001','counter':'1'}");
    assert_int_equal(s->today.called, 1);
    assert_int_equal(s->today.wait_n, 1);
    assert_int_equal(s_t(s, "B001")->wait_s, 59);

    OK(s, T0 + 300 * SEC,
       "{'type':'ticket_no_show','ticket':'B001','counter':'1','recall_count':2}");
    assert_null(hb_hall_state_ticket(s, "B001"));
    assert_int_equal(s->recent[0].state, HB_TICKET_NO_SHOW);
    assert_int_equal(s->recent[0].recalls, 2);
    assert_int_equal(s_svc(s, "A")->no_shows, 1);
    assert_int_equal(s->today.no_shows, 1);
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_IDLE);

    /* A waiting ticket leaves; then a called one. */
    OK(s, T0 + 400 * SEC, "{'type':'ticket_cancelled','ticket':'A001','reason':'left'}");
    assert_int_equal(s_svc(s, "C")->waiting, 0);
    assert_int_equal(s_svc(s, "C")->cancelled, 1);
    assert_int_equal(s->today.cancelled, 1);
    assert_int_equal(s->recent[1].state, HB_TICKET_CANCELLED);
    OK(s, T0 + 410 * SEC, "{'type':'ticket_issued','ticket':'A002','service':'A'}");
    OK(s, T0 + 420 * SEC, "{'type':'ticket_called','ticket':'A002','counter':'1'}");
    OK(s, T0 + 430 * SEC, "{'type':'ticket_cancelled','ticket':'A002'}");
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_IDLE);
    assert_int_equal(s->today.cancelled, 2);
    /* A waiting ticket that does not show. */
    OK(s, T0 + 440 * SEC, "{'type':'ticket_issued','ticket':'A003','service':'A'}");
    OK(s, T0 + 450 * SEC, "{'type':'ticket_no_show','ticket':'A003'}");
    assert_int_equal(s_svc(s, "A")->waiting, 0);
    assert_int_equal(s->anomalies, 0);
    s_invariants(s);
    hb_hall_state_destroy(&s);
}

/* ------------------------------------------------------------ counters ---- */

HBT_TEST(test_counter_states)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    OK(s, T0, "{'type':'counter_opened','counter':'1','staff':'S01','services':['A']}");
    OK(s, T0, "{'type':'counter_opened','counter':'2','staff':'S02','services':['A']}");
    OK(s, T0, "{'type':'ticket_issued','ticket':'A001','service':'A','priority':'vip'}");
    OK(s, T0, "{'type':'ticket_issued','ticket':'A002','service':'A'}");
    OK(s, T0 + SEC, "{'type':'ticket_called','ticket':'A001','counter':'1'}");

    /* Paused with its ticket; resumed, it is calling it again. */
    OK(s, T0 + 2 * SEC, "{'type':'counter_paused','counter':'1','reason':'lunch'}");
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_PAUSED);
    assert_string_equal(s_c(s, "1")->ticket, "A001");
    OK(s, T0 + 3 * SEC, "{'type':'counter_paused','counter':'1'}"); /* already: nothing */
    assert_int_equal(s_c(s, "1")->state_since_ms, T0 + 2 * SEC);
    OK(s, T0 + 4 * SEC, "{'type':'counter_resumed','counter':'1'}");
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_CALLING);

    /* Opened again while calling: staff and services change, state stays. */
    OK(s, T0 + 5 * SEC,
       "{'type':'counter_opened','counter':'1','staff':'S09','services':['A','B']}");
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_CALLING);
    assert_string_equal(s_c(s, "1")->staff, "S09");
    assert_int_equal(s_c(s, "1")->n_services, 2);

    /* The ticket called at another counter frees the first one. */
    OK(s, T0 + 6 * SEC, "{'type':'ticket_called','ticket':'A001','counter':'2'}");
    assert_int_equal(s_c(s, "1")->state, HB_COUNTER_IDLE);
    assert_string_equal(s_c(s, "1")->ticket, "");
    assert_int_equal(s_c(s, "2")->state, HB_COUNTER_CALLING);
    assert_int_equal(s_c(s, "2")->priority_streak, 1);
    assert_int_equal(s->today.called, 1);

    /* A counter calling the next customer while the last one is still
     * attached to it leaves that one alone; its end later does not disturb
     * the counter's new customer. */
    OK(s, T0 + 7 * SEC, "{'type':'ticket_called','ticket':'A002','counter':'2'}");
    assert_string_equal(s_c(s, "2")->ticket, "A002");
    assert_int_equal(s_c(s, "2")->priority_streak, 0);
    assert_int_equal(s_t(s, "A001")->state, HB_TICKET_CALLED);
    OK(s, T0 + 8 * SEC, "{'type':'ticket_no_show','ticket':'A001','counter':'2'}");
    assert_int_equal(s_c(s, "2")->state, HB_COUNTER_CALLING);
    assert_string_equal(s_c(s, "2")->ticket, "A002");

    /* Closed while serving: the customer waits again. */
    OK(s, T0 + 9 * SEC, "{'type':'service_started','ticket':'A002','counter':'2'}");
    OK(s, T0 + 10 * SEC, "{'type':'counter_closed','counter':'2'}");
    assert_int_equal(s_c(s, "2")->state, HB_COUNTER_CLOSED);
    assert_string_equal(s_c(s, "2")->ticket, "");
    assert_int_equal(s_t(s, "A002")->state, HB_TICKET_WAITING);
    assert_string_equal(s_t(s, "A002")->counter, "");
    assert_int_equal(s_svc(s, "A")->waiting, 1);
    OK(s, T0 + 11 * SEC, "{'type':'counter_closed','counter':'2'}"); /* already: nothing */
    OK(s, T0 + 12 * SEC, "{'type':'counter_opened','counter':'2'}");
    assert_int_equal(s_c(s, "2")->state, HB_COUNTER_IDLE);

    /* A paused counter whose ticket ends meanwhile resumes idle. */
    OK(s, T0 + 13 * SEC, "{'type':'ticket_called','ticket':'A002','counter':'2'}");
    OK(s, T0 + 14 * SEC, "{'type':'counter_paused','counter':'2'}");
    OK(s, T0 + 15 * SEC, "{'type':'ticket_cancelled','ticket':'A002'}");
    assert_int_equal(s_c(s, "2")->state, HB_COUNTER_PAUSED);
    assert_string_equal(s_c(s, "2")->ticket, "");
    OK(s, T0 + 16 * SEC, "{'type':'counter_resumed','counter':'2'}");
    assert_int_equal(s_c(s, "2")->state, HB_COUNTER_IDLE);
    assert_int_equal(s->anomalies, 0);
    s_invariants(s);
    hb_hall_state_destroy(&s);
}

static void s_times(const hb_hall_state_t *s, const char *id, int64_t now, int64_t open_ms,
                    int64_t busy_ms)
{
    int64_t o = -1, b = -1;
    hb_hall_state_counter_times(s_c(s, id), now, &o, &b);
    assert_int_equal(o, open_ms);
    assert_int_equal(b, busy_ms);
}

HBT_TEST(test_counter_time)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    OK(s, T0, "{'type':'counter_opened','counter':'2','services':['A']}");
    OK(s, T0, "{'type':'ticket_issued','ticket':'A001','service':'A'}");
    s_times(s, "2", T0 + 5 * SEC, 5000, 0);
    OK(s, T0 + 10 * SEC, "{'type':'ticket_called','ticket':'A001','counter':'2'}");
    s_times(s, "2", T0 + 25 * SEC, 25000, 15000);
    OK(s, T0 + 30 * SEC, "{'type':'service_started','ticket':'A001','counter':'2'}");
    OK(s, T0 + 130 * SEC,
       "{'type':'service_completed','ticket':'A001','counter':'2',"
       "'business_type':'x','outcome':'done'}");
    assert_int_equal(s_c(s, "2")->open_ms, 130000);
    assert_int_equal(s_c(s, "2")->busy_ms, 120000);
    s_times(s, "2", T0 + 150 * SEC, 150000, 120000);
    OK(s, T0 + 200 * SEC, "{'type':'counter_paused','counter':'2'}");
    /* Paused time is neither open nor busy. */
    s_times(s, "2", T0 + 300 * SEC, 200000, 120000);
    OK(s, T0 + 500 * SEC, "{'type':'counter_resumed','counter':'2'}");
    OK(s, T0 + 600 * SEC, "{'type':'counter_closed','counter':'2'}");
    assert_int_equal(s_c(s, "2")->open_ms, 300000);
    assert_int_equal(s_c(s, "2")->busy_ms, 120000);
    s_times(s, "2", T0 + 1000 * SEC, 300000, 120000);
    OK(s, T0 + 700 * SEC, "{'type':'counter_opened','counter':'2'}");
    s_times(s, "2", T0 + 760 * SEC, 360000, 120000);
    /* A moment before the running segment began adds nothing, never less. */
    s_times(s, "2", T0 + 650 * SEC, 300000, 120000);
    /* Clocks moved back: a state change before state_since adds nothing. */
    OK(s, T0 + 690 * SEC, "{'type':'counter_paused','counter':'2'}");
    assert_int_equal(s_c(s, "2")->open_ms, 300000);
    assert_int_equal(s_c(s, "2")->state_since_ms, T0 + 690 * SEC);
    OK(s, T0 + 720 * SEC, "{'type':'counter_resumed','counter':'2'}");
    s_times(s, "2", T0 + 730 * SEC, 310000, 120000);
    hb_hall_state_destroy(&s);
}

/* ------------------------------------------------------- day_started ---- */

HBT_TEST(test_day_started_resets)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    OK(s, T0,
       "{'type':'day_started','date':'2026-11-23','timezone':'Europe/Berlin','utc_offset_s':3600}");
    OK(s, T0, "{'type':'counter_opened','counter':'1','services':['A']}");
    OK(s, T0, "{'type':'ticket_issued','ticket':'A001','service':'A','number':1}");
    OK(s, T0, "{'type':'ticket_issued','ticket':'A002','service':'A','number':2}");
    OK(s, T0 + MIN, "{'type':'ticket_called','ticket':'A001','counter':'1'}");
    OK(s, T0 + 2 * MIN,
       "{'type':'service_completed','ticket':'A001','counter':'1',"
       "'business_type':'x','outcome':'done','amount':5,'duration_s':60}");
    OK(s, T0 + 3 * MIN, "{'type':'satisfaction_scored','ticket':'A001','score':4}");
    OK(s, T0 + 3 * MIN, "{'type':'complaint_opened','complaint':'K1','category':'fees'}");
    OK(s, T0 + 4 * MIN, "{'type':'ticket_called','ticket':'A002','counter':'1'}");
    OK(s, T0 + 5 * MIN, "{'type':'policy_applied','version':7}");
    assert_int_equal(s->today.served, 1);
    assert_int_equal(s->today.feedback[3], 1);

    int64_t midnight = T0 + 15 * 3600 * SEC;
    OK(s, midnight,
       "{'type':'day_started','date':'2026-11-24','timezone':'Europe/Lisbon','utc_offset_s':0}");
    hb_hs_today_t zero;
    memset(&zero, 0, sizeof zero);
    memcpy(zero.date, "2026-11-24", 11);
    assert_memory_equal(&s->today, &zero, sizeof zero);
    assert_string_equal(s->timezone, "Europe/Lisbon");
    assert_int_equal(s->utc_offset_s, 0);
    const hb_hs_service_t *a = s_svc(s, "A");
    assert_int_equal(a->next_number, 1);
    assert_int_equal(a->issued, 0);
    assert_int_equal(a->called, 0);
    assert_int_equal(a->served, 0);
    assert_int_equal(a->wait_n, 0);
    assert_int_equal(a->service_n, 0);
    assert_int_equal(a->service_s_sum, 0);
    assert_int_equal(a->waiting, 0);
    assert_int_equal(a->n_recent, 1); /* recent durations stay */
    assert_int_equal(hb_hall_state_mean_service_s(a), 60);
    const hb_hs_counter_t *c = s_c(s, "1");
    assert_int_equal(c->open_ms, 0);
    assert_int_equal(c->busy_ms, 0);
    assert_int_equal(c->served, 0);
    assert_int_equal(c->state_since_ms, midnight);
    assert_int_equal(c->state, HB_COUNTER_CALLING);
    s_times(s, "1", midnight + 10 * SEC, 10000, 10000);
    /* Live tickets, complaints, versions stay. */
    assert_int_equal(s_t(s, "A002")->state, HB_TICKET_CALLED);
    assert_int_equal(s->n_complaints, 1);
    assert_int_equal(s->policy_version, 7);
    assert_int_equal(s->n_recent, 1);
    s_invariants(s);
    hb_hall_state_destroy(&s);
}

/* ---------------------------------------------- complaints and devices ---- */

HBT_TEST(test_complaints)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    char text[512];
    snprintf(text, sizeof text,
             "{'type':'complaint_opened','complaint':'K1','channel':'phone','category':'fees',"
             "'severity':'high','ticket':'A001','text':'too dear','ack_due_ms':%lld,"
             "'resolve_due_ms':%lld}",
             (long long)(T0 + 10 * MIN), (long long)(T0 + 60 * MIN));
    OK(s, T0, text);
    snprintf(text, sizeof text,
             "{'type':'complaint_opened','complaint':'K2','channel':'email','category':'staff',"
             "'severity':'low','ack_due_ms':%lld}",
             (long long)(T0 + 10 * MIN));
    OK(s, T0 + SEC, text);
    OK(s, T0 + 2 * SEC, "{'type':'complaint_opened','complaint':'K3','category':'other'}");
    const hb_hs_complaint_t *k1 = hb_hall_state_complaint(s, "K1");
    assert_non_null(k1);
    assert_int_equal(k1->state, HB_COMPLAINT_OPEN);
    assert_int_equal(k1->channel, HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_PHONE);
    assert_int_equal(k1->severity, HALLBUS__SEVERITY__SEVERITY_HIGH);
    assert_string_equal(k1->ticket, "A001");
    assert_string_equal(k1->category, "fees");
    assert_int_equal(k1->opened_ms, T0);
    assert_int_equal(k1->ack_due_ms, T0 + 10 * MIN);
    assert_int_equal(k1->resolve_due_ms, T0 + 60 * MIN);
    assert_int_equal(s->today.complaints_opened, 3);

    assert_int_equal(hb_hall_state_overdue(s, T0 + 10 * MIN), 0);
    assert_int_equal(hb_hall_state_overdue(s, T0 + 11 * MIN), 2);
    OK(s, T0 + 5 * MIN, "{'type':'complaint_acknowledged','complaint':'K2','by':'M01'}");
    const hb_hs_complaint_t *k2 = hb_hall_state_complaint(s, "K2");
    assert_int_equal(k2->state, HB_COMPLAINT_ACKNOWLEDGED);
    assert_int_equal(k2->acked_ms, T0 + 5 * MIN);
    assert_string_equal(k2->acked_by, "M01");
    ANOMALY(s, T0 + 6 * MIN, "{'type':'complaint_acknowledged','complaint':'K2','by':'M02'}");
    assert_string_equal(k2->acked_by, "M01");
    assert_int_equal(k2->acked_ms, T0 + 5 * MIN);
    /* K1 acknowledged late is still overdue: it missed its deadline. */
    OK(s, T0 + 12 * MIN, "{'type':'complaint_acknowledged','complaint':'K1','by':'M01'}");
    assert_int_equal(hb_hall_state_overdue(s, T0 + 13 * MIN), 1);
    assert_int_equal(hb_hall_state_overdue(s, T0 + 61 * MIN), 1);

    OK(s, T0 + 20 * MIN,
       "{'type':'complaint_escalated','complaint':'K2','level':'region','reason':'x'}");
    assert_int_equal(k2->escalation, HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_REGION);
    assert_false(k2->resolve_missed);
    OK(s, T0 + 21 * MIN,
       "{'type':'complaint_escalated','complaint':'K2','level':'duty_manager',"
       "'automatic':true,'missed':'resolve'}");
    assert_int_equal(k2->escalation, HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_REGION);
    assert_true(k2->resolve_missed);
    assert_false(k2->ack_missed);
    OK(s, T0 + 22 * MIN,
       "{'type':'complaint_escalated','complaint':'K3','level':'duty_manager',"
       "'automatic':true,'missed':'ack'}");
    assert_true(hb_hall_state_complaint(s, "K3")->ack_missed);
    assert_int_equal(s->today.escalations, 3);
    assert_int_equal(hb_hall_state_overdue(s, T0 + 23 * MIN), 3);

    OK(s, T0 + 30 * MIN,
       "{'type':'complaint_resolved','complaint':'K1','resolution':'refund',"
       "'customer_satisfied':true}");
    OK(s, T0 + 31 * MIN, "{'type':'complaint_resolved','complaint':'K3'}");
    assert_null(hb_hall_state_complaint(s, "K1"));
    assert_int_equal(s->n_complaints, 1);
    assert_string_equal(s->complaints[0].id, "K2");
    assert_int_equal(s->today.complaints_resolved, 2);
    assert_int_equal(s->today.complaints_satisfied, 1);
    ANOMALY(s, T0 + 32 * MIN, "{'type':'complaint_resolved','complaint':'K1'}");

    for (int score = 1; score <= 5; score++) {
        snprintf(text, sizeof text, "{'type':'satisfaction_scored','ticket':'A1','score':%d}",
                 score);
        OK(s, T0 + 40 * MIN, text);
    }
    OK(s, T0 + 40 * MIN, "{'type':'satisfaction_scored','ticket':'A1','score':5}");
    assert_int_equal(s->today.feedback[0], 1);
    assert_int_equal(s->today.feedback[4], 2);
    hb_hall_state_destroy(&s);
}

HBT_TEST(test_devices_and_versions)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    OK(s, T0, "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}");
    OK(s, T0, "{'type':'device_status','device':'atm-1','kind':'self_service','state':'ok'}");
    const hb_hs_device_t *d = hb_hall_state_device(s, "kiosk-1");
    assert_non_null(d);
    assert_int_equal(d->kind, HALLBUS__DEVICE_KIND__DEVICE_KIND_KIOSK);
    assert_int_equal(d->state, HALLBUS__DEVICE_STATE__DEVICE_STATE_OK);
    assert_int_equal(d->since_ms, T0);
    OK(s, T0 + MIN, "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}");
    assert_int_equal(d->since_ms, T0);
    OK(s, T0 + 2 * MIN,
       "{'type':'device_status','device':'kiosk-1','kind':'kiosk',"
       "'state':'paper_out','detail':'roll empty'}");
    assert_int_equal(d->since_ms, T0 + 2 * MIN);
    assert_int_equal(d->state, HALLBUS__DEVICE_STATE__DEVICE_STATE_PAPER_OUT);
    assert_string_equal(d->detail, "roll empty");
    assert_int_equal(s->n_devices, 2);
    assert_string_equal(s->devices[0].id, "kiosk-1");

    /* 126 ASCII bytes and a two-byte character: cut before the character. */
    char text[1024], detail[256];
    memset(detail, 'd', 126);
    memcpy(detail + 126, "\xc3\xa9xyz", 6);
    snprintf(text, sizeof text,
             "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'fault',"
             "'detail':'%s'}",
             detail);
    OK(s, T0 + 3 * MIN, text);
    assert_int_equal(strlen(d->detail), 126);
    /* 125 ASCII bytes and the character: it fits whole. */
    memmove(detail + 125, detail + 126, 6);
    snprintf(text, sizeof text,
             "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'fault',"
             "'detail':'%s'}",
             detail);
    OK(s, T0 + 4 * MIN, text);
    assert_int_equal(strlen(d->detail), 127);
    assert_memory_equal(d->detail + 125, "\xc3\xa9", 2);
    assert_int_equal(d->since_ms, T0 + 3 * MIN);

    /* Bytes that are not UTF-8 are dropped; the state still changes. */
    Hallbus__Envelope *env = s_env(T0 + 5 * MIN, "{'type':'device_status','device':'kiosk-1',"
                                                 "'kind':'kiosk','state':'ok','detail':'x'}");
    free(env->device_status->detail);
    env->device_status->detail = strdup("bad \xff byte");
    assert_int_equal(s_do_env(s, env, T0 + 5 * MIN), HB_EINVAL);
    hb_envelope_free(env);
    assert_string_equal(d->detail, "");
    assert_int_equal(d->state, HALLBUS__DEVICE_STATE__DEVICE_STATE_OK);
    assert_int_equal(s->anomalies, 1);

    OK(s, T0, "{'type':'policy_applied','version':12}");
    OK(s, T0, "{'type':'calendar_applied','version':34}");
    assert_int_equal(s->policy_version, 12);
    assert_int_equal(s->calendar_version, 34);
    hb_hall_state_destroy(&s);
}

/* -------------------------------------------------------------- bounds ---- */

HBT_TEST(test_bounds)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    char text[256];
    for (int i = 0; i < HB_HS_TICKETS_MAX; i++) {
        snprintf(text, sizeof text, "{'type':'ticket_issued','ticket':'T%05d','service':'A'}", i);
        OK(s, T0 + i, text);
    }
    ANOMALY(s, T0 + SEC * 10, "{'type':'ticket_issued','ticket':'X','service':'A'}");
    assert_int_equal(s->n_tickets, HB_HS_TICKETS_MAX);
    assert_int_equal(s->cap_tickets, HB_HS_TICKETS_MAX);
    assert_int_equal(s_svc(s, "A")->waiting, HB_HS_TICKETS_MAX);
    assert_null(hb_hall_state_ticket(s, "X"));
    /* One leaves, one more fits. */
    OK(s, T0 + SEC * 11, "{'type':'ticket_cancelled','ticket':'T00000'}");
    OK(s, T0 + SEC * 12, "{'type':'ticket_issued','ticket':'X','service':'A'}");
    assert_string_equal(s->tickets[HB_HS_TICKETS_MAX - 1].id, "X");
    s_invariants(s);

    /* A full state's snapshot round-trips. */
    char *a = s_text(s);
    json_t *j = hb_hall_state_to_json(s);
    hb_hall_state_t *r = NULL;
    char err[256] = "";
    assert_int_equal(hb_hall_state_from_json(j, &r, err, sizeof err), 0);
    char *b = s_text(r);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(j);
    hb_hall_state_destroy(&r);
    hb_hall_state_destroy(&s);

    s = hb_hall_state_new();
    for (int i = 0; i < HB_HS_SERVICES_MAX; i++) {
        snprintf(text, sizeof text, "{'type':'ticket_issued','ticket':'T%d','service':'S%d'}", i,
                 i);
        OK(s, T0, text);
    }
    ANOMALY(s, T0, "{'type':'ticket_issued','ticket':'X','service':'S-new'}");
    ANOMALY(s, T0,
            "{'type':'ticket_transferred','ticket':'T0','from_service':'S0','to_service':'S-new'}");
    assert_string_equal(s_t(s, "T0")->service, "S0");
    for (int i = 0; i < HB_HS_COUNTERS_MAX; i++) {
        snprintf(text, sizeof text, "{'type':'counter_opened','counter':'C%d'}", i);
        OK(s, T0, text);
    }
    ANOMALY(s, T0, "{'type':'counter_opened','counter':'C-new'}");
    for (int i = 0; i < HB_HS_COMPLAINTS_MAX; i++) {
        snprintf(text, sizeof text, "{'type':'complaint_opened','complaint':'K%d','category':'x'}",
                 i);
        OK(s, T0, text);
    }
    ANOMALY(s, T0, "{'type':'complaint_opened','complaint':'K-new','category':'x'}");
    for (int i = 0; i < HB_HS_DEVICES_MAX; i++) {
        snprintf(text, sizeof text,
                 "{'type':'device_status','device':'D%d','kind':'kiosk','state':'ok'}", i);
        OK(s, T0, text);
    }
    ANOMALY(s, T0, "{'type':'device_status','device':'D-new','kind':'kiosk','state':'ok'}");
    assert_int_equal(s->n_services, HB_HS_SERVICES_MAX);
    assert_int_equal(s->n_counters, HB_HS_COUNTERS_MAX);
    assert_int_equal(s->n_complaints, HB_HS_COMPLAINTS_MAX);
    assert_int_equal(s->n_devices, HB_HS_DEVICES_MAX);
    assert_int_equal(s->anomalies, 5);
    s_invariants(s);
    hb_hall_state_destroy(&s);
}

/* ---------------------------------------------------- simulated days ---- */

static double s_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

HBT_TEST(test_sim_days)
{
    (void)state;
    static const uint64_t seeds[] = {1, 2, 42};
    static const int halls[] = {0, 3, 7};
    size_t events = 0;
    double seconds = 0;
    for (size_t si = 0; si < sizeof seeds / sizeof seeds[0]; si++) {
        for (size_t hi = 0; hi < sizeof halls / sizeof halls[0]; hi++) {
            day_t d = s_day(seeds[si], halls[hi], T0 + (int64_t)si * DAY_MS);
            hb_hall_state_t *s = hb_hall_state_new();
            for (size_t i = 0; i < d.n; i++) {
                int rc = hb_hall_state_apply(s, d.envs[i]);
                if (rc != 0)
                    fail_msg("seed %llu hall %d event %zu (%s) is an anomaly",
                             (unsigned long long)seeds[si], halls[hi], i,
                             hb_event_type_name(d.envs[i]));
                s_invariants(s);
            }
            assert_int_equal(s->seq, d.n);
            assert_int_equal(s->anomalies, 0);
            assert_int_equal(s->unknown_events, 0);
            assert_int_equal(s->today.issued, d.stats.issued);
            assert_int_equal(s->today.served, d.stats.served);
            assert_int_equal(s->today.no_shows, d.stats.no_shows);
            assert_int_equal(s->today.cancelled, d.stats.cancelled);
            assert_int_equal(s->today.complaints_opened, d.stats.complaints);
            assert_int_equal(s->today.complaints_resolved, d.stats.complaints);
            /* The day is over: nobody left, every counter closed. */
            assert_int_equal(s->n_tickets, 0);
            assert_int_equal(s->n_complaints, 0);
            assert_int_equal(hb_fig_waiting(s), 0);
            assert_int_equal((int)s->n_counters, d.stats.counters);
            for (size_t k = 0; k < s->n_counters; k++)
                assert_int_equal(s->counters[k].state, HB_COUNTER_CLOSED);
            assert_true(s->today.issued > 20);
            assert_true(s->today.wait_n == s->today.called);
            json_t *view = hb_hall_state_view(s, s->at_ms);
            assert_non_null(view);
            json_decref(view);

            /* The rate, without the checks. */
            hb_hall_state_t *fast = hb_hall_state_new();
            double t0 = s_mono_s();
            for (int rep = 0; rep < 20; rep++) {
                for (size_t i = 0; i < d.n; i++)
                    hb_hall_state_apply(fast, d.envs[i]);
            }
            seconds += s_mono_s() - t0;
            events += 20 * d.n;
            hb_hall_state_destroy(&fast);
            hb_hall_state_destroy(&s);
            s_day_free(&d);
        }
    }
    printf("hallstate: %zu events applied in %.3f s: %.0f events/s\n", events, seconds,
           seconds > 0 ? (double)events / seconds : 0.0);
}

/* ------------------------------------------------------------ snapshots ---- */

HBT_TEST(test_snapshot_round_trip)
{
    (void)state;
    uint64_t rnd = 12345;
    for (int hall = 0; hall < 3; hall++) {
        day_t d = s_day(7, hall, T0);
        hb_hall_state_t *straight = hb_hall_state_new();
        for (size_t i = 0; i < d.n; i++)
            hb_hall_state_apply(straight, d.envs[i]);
        char *want = s_text(straight);
        hb_hall_state_destroy(&straight);

        for (int cut = 0; cut < 8; cut++) {
            size_t k = cut == 0 ? 0 : cut == 1 ? d.n : (size_t)(s_rand(&rnd) % d.n);
            hb_hall_state_t *s = hb_hall_state_new();
            for (size_t i = 0; i < k; i++)
                hb_hall_state_apply(s, d.envs[i]);
            /* Through text, as a snapshot is stored. */
            char *snap = s_text(s);
            json_error_t jerr;
            json_t *j = json_loads(snap, 0, &jerr);
            assert_non_null(j);
            hb_hall_state_t *r = NULL;
            char err[256] = "";
            if (hb_hall_state_from_json(j, &r, err, sizeof err) != 0)
                fail_msg("snapshot after %zu events refused: %s", k, err);
            json_decref(j);
            char *again = s_text(r);
            assert_string_equal(snap, again);
            hb_hall_state_t *c = hb_hall_state_clone(s);
            assert_non_null(c);
            char *cloned = s_text(c);
            assert_string_equal(snap, cloned);
            for (size_t i = k; i < d.n; i++) {
                hb_hall_state_apply(r, d.envs[i]);
                hb_hall_state_apply(c, d.envs[i]);
                hb_hall_state_apply(s, d.envs[i]);
            }
            char *end_r = s_text(r), *end_c = s_text(c), *end_s = s_text(s);
            assert_string_equal(end_r, want);
            assert_string_equal(end_c, want);
            assert_string_equal(end_s, want);
            free(snap);
            free(again);
            free(cloned);
            free(end_r);
            free(end_c);
            free(end_s);
            hb_hall_state_destroy(&r);
            hb_hall_state_destroy(&c);
            hb_hall_state_destroy(&s);
        }
        free(want);
        s_day_free(&d);
    }
}

/* Real streams with random damage (flipped bytes, times at the ends of the
 * int64 range): every event is taken or counted, the invariants hold after
 * each, and the end state still snapshots, restores and shows. */
HBT_TEST(test_hostile_streams)
{
    (void)state;
    day_t d = s_day(5, 1, T0);
    uint8_t **bytes = calloc(d.n, sizeof *bytes);
    size_t *lens = calloc(d.n, sizeof *lens);
    assert_non_null(bytes);
    assert_non_null(lens);
    for (size_t i = 0; i < d.n; i++)
        assert_int_equal(hb_envelope_pack(d.envs[i], &bytes[i], &lens[i]), 0);
    static const int64_t extremes[] = {INT64_MIN, INT64_MAX, -1, 0, 1};
    uint64_t rnd = 99;
    for (int round = 0; round < 12; round++) {
        hb_hall_state_t *s = hb_hall_state_new();
        for (size_t i = 0; i < d.n; i++) {
            uint64_t dice = s_rand(&rnd) % 16;
            if (dice == 0 && lens[i] > 0) {
                uint8_t copy[HB_EVENT_MAX];
                assert_true(lens[i] <= sizeof copy);
                memcpy(copy, bytes[i], lens[i]);
                for (int k = 0; k < 3; k++)
                    copy[s_rand(&rnd) % lens[i]] ^= (uint8_t)(1u << (s_rand(&rnd) % 8));
                hb_hall_state_apply_bytes(s, copy, lens[i]);
            } else if (dice == 1) {
                int64_t at = d.envs[i]->at_ms;
                d.envs[i]->at_ms = extremes[s_rand(&rnd) % 5];
                hb_hall_state_apply(s, d.envs[i]);
                d.envs[i]->at_ms = at;
            } else {
                hb_hall_state_apply_bytes(s, bytes[i], lens[i]);
            }
            s_invariants(s);
        }
        json_t *j = hb_hall_state_to_json(s);
        assert_non_null(j);
        hb_hall_state_t *r = NULL;
        char err[256] = "";
        if (hb_hall_state_from_json(j, &r, err, sizeof err) != 0)
            fail_msg("round %d: the reducer's own state is refused: %s", round, err);
        json_decref(j);
        for (int64_t k = 0; k < 5; k++) {
            json_t *v = hb_hall_state_view(r, extremes[k]);
            assert_non_null(v);
            json_decref(v);
        }
        for (size_t k = 0; k < r->n_counters; k++) {
            int64_t o = -1, b = -1;
            hb_hall_state_counter_times(&r->counters[k], INT64_MAX, &o, &b);
            assert_true(o >= 0 && b >= 0);
        }
        hb_hall_state_destroy(&r);
        hb_hall_state_destroy(&s);
    }
    for (size_t i = 0; i < d.n; i++)
        free(bytes[i]);
    free(bytes);
    free(lens);
    s_day_free(&d);
}

/* A state with a bit of everything, for the snapshot's refusals and the
 * view. */
static hb_hall_state_t *s_small(void)
{
    hb_hall_state_t *s = hb_hall_state_new();
    OK(s, T0,
       "{'type':'day_started','date':'2026-11-23','timezone':'Europe/Berlin','utc_offset_s':3600}");
    OK(s, T0, "{'type':'counter_opened','counter':'1','staff':'S01','services':['A']}");
    OK(s, T0, "{'type':'counter_opened','counter':'2','staff':'S02','services':['A','B']}");
    OK(s, T0, "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}");
    OK(s, T0, "{'type':'ticket_issued','ticket':'A001','service':'A','number':1}");
    OK(s, T0 + 30 * SEC,
       "{'type':'ticket_issued','ticket':'A002','service':'A','priority':'vip','number':2}");
    OK(s, T0 + 60 * SEC, "{'type':'ticket_called','ticket':'A001','counter':'1'}");
    OK(s, T0 + 60 * SEC, "{'type':'counter_paused','counter':'2'}");
    char text[512];
    snprintf(text, sizeof text,
             "{'type':'complaint_opened','complaint':'K1','channel':'counter','category':'fees',"
             "'severity':'medium','ticket':'A001','ack_due_ms':%lld}",
             (long long)(T0 + 5 * MIN));
    OK(s, T0 + 60 * SEC, text);
    OK(s, T0 + 70 * SEC,
       "{'type':'device_status','device':'kiosk-1','kind':'kiosk',"
       "'state':'paper_out','detail':'empty'}");
    OK(s, T0 + 80 * SEC, "{'type':'satisfaction_scored','ticket':'Z','score':5}");
    OK(s, T0 + 80 * SEC, "{'type':'satisfaction_scored','ticket':'Z','score':4}");
    OK(s, T0 + 80 * SEC, "{'type':'policy_applied','version':3}");
    return s;
}

/* from_json of `j` must fail naming `member`. */
static void s_refused(json_t *j, const char *member)
{
    hb_hall_state_t *r = NULL;
    char err[256] = "";
    assert_int_equal(hb_hall_state_from_json(j, &r, err, sizeof err), HB_EINVAL);
    assert_null(r);
    assert_contains(err, member);
}

HBT_TEST(test_snapshot_refusals)
{
    (void)state;
    hb_hall_state_t *s = s_small();
    json_t *base = hb_hall_state_to_json(s);
    assert_non_null(base);
    assert_int_equal(json_integer_value(json_object_get(base, "format")), 1);

    json_t *j = json_deep_copy(base);
    json_object_set_new(j, "format", json_integer(2));
    s_refused(j, "format");
    json_object_del(j, "format");
    s_refused(j, "format is missing");
    json_decref(j);

    j = json_deep_copy(base);
    json_t *svc = json_array_get(json_object_get(j, "services"), 0);
    json_object_set_new(svc, "waiting", json_integer(-1));
    s_refused(j, "services[0].waiting");
    json_object_set_new(svc, "waiting", json_integer(5)); /* not what waits */
    s_refused(j, "services[0].waiting");
    json_decref(j);

    j = json_deep_copy(base);
    json_t *tickets = json_object_get(j, "tickets");
    json_t *one = json_deep_copy(json_array_get(tickets, 0));
    json_array_clear(tickets);
    for (int i = 0; i <= HB_HS_TICKETS_MAX; i++)
        json_array_append(tickets, one);
    json_decref(one);
    s_refused(j, "tickets has 4097 entries");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_del(json_object_get(j, "today"), "served");
    s_refused(j, "today.served is missing");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(j, "extra", json_true());
    s_refused(j, "extra");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(json_array_get(json_object_get(j, "counters"), 0), "state",
                        json_integer(2));
    s_refused(j, "counters[0].state");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(j, "seq", json_string("12x"));
    s_refused(j, "seq");
    json_object_set_new(j, "seq", json_real(1.0));
    s_refused(j, "seq");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(
        json_array_get(json_object_get(j, "tickets"), 0), "id",
        json_string("0123456789012345678901234567890123456789012345678901234567890123456789"));
    s_refused(j, "tickets[0].id");
    json_decref(j);

    j = json_deep_copy(base);
    tickets = json_object_get(j, "tickets");
    json_array_append(tickets, json_array_get(tickets, 0));
    s_refused(j, "tickets[2].id repeats");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(json_array_get(json_object_get(j, "tickets"), 1), "service",
                        json_string("Q"));
    s_refused(j, "tickets[1].service");
    json_decref(j);

    /* A calling counter must have its ticket. */
    j = json_deep_copy(base);
    json_object_set_new(json_array_get(json_object_get(j, "counters"), 0), "ticket",
                        json_string(""));
    s_refused(j, "counters[0].ticket");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(json_array_get(json_object_get(j, "tickets"), 0), "state",
                        json_string("served")); /* a live ticket cannot be finished */
    s_refused(j, "tickets[0].state");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(json_object_get(j, "today"), "feedback", json_pack("[i,i]", 1, 2));
    s_refused(j, "today.feedback");
    json_decref(j);

    j = json_deep_copy(base);
    json_array_append_new(json_object_get(j, "devices"), json_string("x"));
    s_refused(j, "devices[1] must be an object");
    json_decref(j);

    j = json_array();
    s_refused(j, "object");
    json_decref(j);

    /* The base itself is fine, and so is a uint64 past INT64_MAX. */
    hb_hall_state_t *r = NULL;
    char err[256] = "";
    assert_int_equal(hb_hall_state_from_json(base, &r, err, sizeof err), 0);
    hb_hall_state_destroy(&r);
    Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT;
    Hallbus__PolicyApplied pa = HALLBUS__POLICY_APPLIED__INIT;
    pa.version = UINT64_MAX;
    env.body_case = HALLBUS__ENVELOPE__BODY_POLICY_APPLIED;
    env.policy_applied = &pa;
    assert_int_equal(s_do_env(s, &env, T0 + 90 * SEC), 0);
    j = hb_hall_state_to_json(s);
    assert_string_equal(json_string_value(json_object_get(j, "policy_version")),
                        "18446744073709551615");
    assert_int_equal(hb_hall_state_from_json(j, &r, err, sizeof err), 0);
    assert_true(r->policy_version == UINT64_MAX);
    json_decref(j);
    hb_hall_state_destroy(&r);
    json_decref(base);
    hb_hall_state_destroy(&s);
}

/* ------------------------------------------------- bytes, unknown kinds ---- */

HBT_TEST(test_bytes_and_unknown_kinds)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    Hallbus__Envelope *env = s_env(T0, "{'type':'ticket_issued','ticket':'A001','service':'A'}");
    env->seq = 1;
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(hb_envelope_pack(env, &bytes, &len), 0);
    hb_envelope_free(env);
    assert_int_equal(hb_hall_state_apply_bytes(s, bytes, len), 0);
    free(bytes);
    assert_int_equal(s->seq, 1);
    assert_non_null(hb_hall_state_ticket(s, "A001"));

    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x55};
    assert_int_equal(hb_hall_state_apply_bytes(s, garbage, sizeof garbage), HB_EPARSE);
    assert_int_equal(s->anomalies, 1);
    assert_int_equal(s->seq, 1);

    /* A newer hall's kind (field 99): counted, not an anomaly. */
    static const uint8_t newer[] = {0x08, 0x02, 0x10, 0x01, 0x9a, 0x06, 0x01, 0x00};
    assert_int_equal(hb_hall_state_apply_bytes(s, newer, sizeof newer), 0);
    assert_int_equal(s->seq, 2);
    assert_int_equal(s->at_ms, 1);
    assert_int_equal(s->unknown_events, 1);
    assert_int_equal(s->anomalies, 1);
    Hallbus__Envelope bare = HALLBUS__ENVELOPE__INIT;
    assert_int_equal(s_do_env(s, &bare, T0), 0);
    bare.body_case = (Hallbus__Envelope__BodyCase)98;
    assert_int_equal(s_do_env(s, &bare, T0), 0);
    bare.body_case = (Hallbus__Envelope__BodyCase)-3;
    assert_int_equal(s_do_env(s, &bare, T0), 0);
    assert_int_equal(s->unknown_events, 4);
    assert_int_equal(s->seq, 5);
    assert_int_equal(s->anomalies, 1);
    hb_hall_state_destroy(&s);
}

/* ---------------------------------------------------------------- view ---- */

static const json_t *s_get(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("the view has no member %s", key);
    return v;
}

static int64_t s_int(const json_t *o, const char *key)
{
    const json_t *v = s_get(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *s_string(const json_t *o, const char *key)
{
    const json_t *v = s_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void s_members(const json_t *o, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s_get(o, names[i]);
    assert_int_equal(json_object_size(o), n);
}

HBT_TEST(test_view)
{
    (void)state;
    hb_hall_state_t *s = s_small();
    int64_t now = T0 + 120 * SEC;
    json_t *v = hb_hall_state_view(s, now);
    assert_non_null(v);
    static const char *const top[] = {"seq",
                                      "at",
                                      "date",
                                      "waiting",
                                      "longest_wait_s",
                                      "services",
                                      "counters",
                                      "counters_open",
                                      "counters_busy",
                                      "tickets",
                                      "complaints",
                                      "devices",
                                      "devices_not_ok",
                                      "today",
                                      "policy_version",
                                      "calendar_version",
                                      "anomalies"};
    s_members(v, top, sizeof top / sizeof top[0]);
    assert_int_equal(s_int(v, "seq"), s->seq);
    assert_string_equal(s_string(v, "at"), "2026-11-23T09:01:20.000Z");
    assert_string_equal(s_string(v, "date"), "2026-11-23");
    assert_int_equal(s_int(v, "waiting"), 1);
    assert_int_equal(s_int(v, "longest_wait_s"), 90);
    assert_int_equal(s_int(v, "policy_version"), 3);
    assert_int_equal(s_int(v, "anomalies"), 0);

    const json_t *svc = json_array_get(s_get(v, "services"), 0);
    static const char *const svc_members[] = {
        "service",  "waiting",   "oldest_wait_s", "next_number", "issued",       "served",
        "no_shows", "cancelled", "avg_wait_s",    "max_wait_s",  "avg_service_s"};
    s_members(svc, svc_members, sizeof svc_members / sizeof svc_members[0]);
    assert_string_equal(s_string(svc, "service"), "A");
    assert_int_equal(s_int(svc, "oldest_wait_s"), 90);
    assert_int_equal(s_int(svc, "next_number"), 3);
    assert_int_equal(s_int(svc, "issued"), 2);
    assert_int_equal(s_int(svc, "avg_wait_s"), 60);
    assert_int_equal(s_int(svc, "max_wait_s"), 60);

    const json_t *counters = s_get(v, "counters");
    assert_int_equal(json_array_size(counters), 2);
    const json_t *c1 = json_array_get(counters, 0), *c2 = json_array_get(counters, 1);
    static const char *const counter_members[] = {"counter",     "state", "staff",  "services",
                                                  "ticket",      "since", "open_s", "busy_s",
                                                  "utilisation", "served"};
    s_members(c1, counter_members, sizeof counter_members / sizeof counter_members[0]);
    assert_string_equal(s_string(c1, "state"), "calling");
    assert_string_equal(s_string(c1, "ticket"), "A001");
    assert_string_equal(s_string(c1, "since"), "2026-11-23T09:01:00.000Z");
    assert_int_equal(s_int(c1, "open_s"), 120);
    assert_int_equal(s_int(c1, "busy_s"), 60);
    assert_true(json_real_value(s_get(c1, "utilisation")) == 0.5);
    assert_int_equal(json_array_size(s_get(c1, "services")), 1);
    assert_string_equal(s_string(c2, "state"), "paused");
    assert_true(json_is_null(s_get(c2, "ticket")));
    assert_int_equal(s_int(c2, "open_s"), 60);
    assert_true(json_real_value(s_get(c2, "utilisation")) == 0.0);
    assert_int_equal(s_int(v, "counters_open"), 1);
    assert_int_equal(s_int(v, "counters_busy"), 1);

    const json_t *tickets = s_get(v, "tickets");
    assert_int_equal(json_array_size(tickets), 2);
    const json_t *t1 = json_array_get(tickets, 0), *t2 = json_array_get(tickets, 1);
    static const char *const ticket_members[] = {"ticket", "service", "priority",
                                                 "state",  "counter", "issued",
                                                 "wait_s", "recalls", "transferred"};
    s_members(t1, ticket_members, sizeof ticket_members / sizeof ticket_members[0]);
    assert_string_equal(s_string(t1, "state"), "called");
    assert_string_equal(s_string(t1, "priority"), "normal");
    assert_string_equal(s_string(t1, "counter"), "1");
    assert_string_equal(s_string(t1, "issued"), "2026-11-23T09:00:00.000Z");
    assert_int_equal(s_int(t1, "wait_s"), 60);
    assert_string_equal(s_string(t2, "priority"), "vip");
    assert_true(json_is_null(s_get(t2, "counter")));
    assert_int_equal(s_int(t2, "wait_s"), 90);

    const json_t *complaints = s_get(v, "complaints");
    static const char *const complaints_members[] = {"open", "overdue", "list"};
    s_members(complaints, complaints_members, 3);
    assert_int_equal(s_int(complaints, "open"), 1);
    assert_int_equal(s_int(complaints, "overdue"), 0);
    const json_t *k1 = json_array_get(s_get(complaints, "list"), 0);
    static const char *const complaint_members[] = {
        "complaint", "state",   "severity",    "category",   "channel", "ticket",
        "opened",    "ack_due", "resolve_due", "escalation", "overdue"};
    s_members(k1, complaint_members, sizeof complaint_members / sizeof complaint_members[0]);
    assert_string_equal(s_string(k1, "severity"), "medium");
    assert_string_equal(s_string(k1, "channel"), "counter");
    assert_string_equal(s_string(k1, "ack_due"), "2026-11-23T09:05:00.000Z");
    assert_true(json_is_null(s_get(k1, "resolve_due")));
    assert_true(json_is_null(s_get(k1, "escalation")));
    assert_true(json_is_false(s_get(k1, "overdue")));

    const json_t *dev = json_array_get(s_get(v, "devices"), 0);
    static const char *const device_members[] = {"device", "kind", "state", "detail", "since"};
    s_members(dev, device_members, 5);
    assert_string_equal(s_string(dev, "kind"), "kiosk");
    assert_string_equal(s_string(dev, "state"), "paper_out");
    assert_string_equal(s_string(dev, "since"), "2026-11-23T09:01:10.000Z");
    assert_int_equal(s_int(v, "devices_not_ok"), 1);

    const json_t *today = s_get(v, "today");
    static const char *const today_members[] = {"issued",
                                                "served",
                                                "no_shows",
                                                "cancelled",
                                                "transferred",
                                                "avg_wait_s",
                                                "max_wait_s",
                                                "avg_service_s",
                                                "complaints_opened",
                                                "complaints_resolved",
                                                "escalations",
                                                "satisfaction_avg",
                                                "feedback_count",
                                                "amount_sum",
                                                "outcomes"};
    s_members(today, today_members, sizeof today_members / sizeof today_members[0]);
    assert_int_equal(s_int(today, "issued"), 2);
    assert_true(json_real_value(s_get(today, "satisfaction_avg")) == 4.5);
    assert_int_equal(s_int(today, "feedback_count"), 2);
    static const char *const outcome_members[] = {"done", "referred", "rejected_documents"};
    s_members(s_get(today, "outcomes"), outcome_members, 3);
    json_decref(v);

    /* Later, the complaint is overdue. */
    v = hb_hall_state_view(s, T0 + 6 * MIN);
    complaints = s_get(v, "complaints");
    assert_int_equal(s_int(complaints, "overdue"), 1);
    assert_true(json_is_true(s_get(json_array_get(s_get(complaints, "list"), 0), "overdue")));
    json_decref(v);

    /* An empty state's view. */
    hb_hall_state_t *e = hb_hall_state_new();
    v = hb_hall_state_view(e, now);
    assert_true(json_is_null(s_get(v, "at")));
    assert_true(json_is_null(s_get(v, "date")));
    assert_true(json_is_null(s_get(s_get(v, "today"), "satisfaction_avg")));
    json_decref(v);
    hb_hall_state_destroy(&e);
    hb_hall_state_destroy(&s);
}

HBT_TEST(test_names)
{
    (void)state;
    assert_string_equal(hb_ticket_state_name(HB_TICKET_WAITING), "waiting");
    assert_string_equal(hb_ticket_state_name(HB_TICKET_NO_SHOW), "no_show");
    assert_string_equal(hb_ticket_state_name(0), "unknown");
    assert_string_equal(hb_ticket_state_name(99), "unknown");
    assert_string_equal(hb_counter_state_name(HB_COUNTER_CLOSED), "closed");
    assert_string_equal(hb_counter_state_name(HB_COUNTER_PAUSED), "paused");
    assert_string_equal(hb_counter_state_name(-1), "unknown");
    assert_string_equal(hb_complaint_state_name(HB_COMPLAINT_ACKNOWLEDGED), "acknowledged");
    assert_string_equal(hb_complaint_state_name(0), "unknown");
}
