/* Unit tests of the hall-state reducer over whole streams, and of its
 * snapshot (common/hall/snapshot.c): simulated days (hb_sim) with the
 * reducer's invariants checked after every event and the day's totals
 * compared with the simulator's, snapshots taken anywhere that give the same
 * end state, hostile streams, the bytes path, unknown kinds, clones and
 * every refusal of a snapshot. It prints (does not assert) the apply rate
 * over simulated days. Single events are test_hallstate.c's. */
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/hallstate.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "harness.h"
#include "runner.h"

#define T0 1795424400000LL /* 2026-11-23T09:00:00Z */
#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY_MS (24LL * 3600 * 1000)
#define HBT_FIXTURE NULL, NULL

/* A small deterministic generator for the test's own choices. */
static uint64_t s_rand(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

/* ---------------------------------------------------- simulated days ---- */

static double s_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The state read back from `j` (which it frees), failing with `what` and
 * `n` when it is refused. */
static hb_hall_state_t *s_state_of(json_t *j, const char *what, long n)
{
    hb_hall_state_t *r = NULL;
    char err[256] = "";
    if (hb_hall_state_from_json(j, &r, err, sizeof err) != 0)
        fail_msg("%s %ld refused: %s", what, n, err);
    json_decref(j);
    return r;
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
            hbt_day_t d = hbt_sim_day(seeds[si], halls[hi], T0 + (int64_t)si * DAY_MS);
            hb_hall_state_t *s = hb_hall_state_new();
            for (size_t i = 0; i < d.n; i++) {
                int rc = hb_hall_state_apply(s, d.envs[i]);
                if (rc != 0)
                    fail_msg("seed %llu hall %d event %zu (%s) is an anomaly",
                             (unsigned long long)seeds[si], halls[hi], i,
                             hb_event_type_name(d.envs[i]));
                hbt_state_invariants(s);
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
            hbt_day_free(&d);
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
        hbt_day_t d = hbt_sim_day(7, hall, T0);
        hb_hall_state_t *straight = hb_hall_state_new();
        for (size_t i = 0; i < d.n; i++)
            hb_hall_state_apply(straight, d.envs[i]);
        char *want = hbt_state_text(straight);
        hb_hall_state_destroy(&straight);

        for (int cut = 0; cut < 8; cut++) {
            size_t k = cut == 0 ? 0 : cut == 1 ? d.n : (size_t)(s_rand(&rnd) % d.n);
            hb_hall_state_t *s = hb_hall_state_new();
            for (size_t i = 0; i < k; i++)
                hb_hall_state_apply(s, d.envs[i]);
            /* Through text, as a snapshot is stored. */
            char *snap = hbt_state_text(s);
            json_error_t jerr;
            json_t *j = json_loads(snap, 0, &jerr);
            assert_non_null(j);
            hb_hall_state_t *r = s_state_of(j, "a snapshot after events", (long)k);
            char *again = hbt_state_text(r);
            assert_string_equal(snap, again);
            hb_hall_state_t *c = hb_hall_state_clone(s);
            assert_non_null(c);
            char *cloned = hbt_state_text(c);
            assert_string_equal(snap, cloned);
            for (size_t i = k; i < d.n; i++) {
                hb_hall_state_apply(r, d.envs[i]);
                hb_hall_state_apply(c, d.envs[i]);
                hb_hall_state_apply(s, d.envs[i]);
            }
            char *end_r = hbt_state_text(r), *end_c = hbt_state_text(c), *end_s = hbt_state_text(s);
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
        hbt_day_free(&d);
    }
}

/* Real streams with random damage (flipped bytes, times at the ends of the
 * int64 range): every event is taken or counted, the invariants hold after
 * each, and the end state still snapshots, restores and shows. */
HBT_TEST(test_hostile_streams)
{
    (void)state;
    hbt_day_t d = hbt_sim_day(5, 1, T0);
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
            hbt_state_invariants(s);
        }
        json_t *j = hb_hall_state_to_json(s);
        assert_non_null(j);
        hb_hall_state_t *r = s_state_of(j, "the reducer's own state, round", round);
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
    hbt_day_free(&d);
}

/* from_json of `j` must fail naming `member`. */
static void s_refused(json_t *j, const char *member)
{
    hb_hall_state_t *r = NULL;
    char err[256] = "";
    assert_int_equal(hb_hall_state_from_json(j, &r, err, sizeof err), HB_EINVAL);
    assert_null(r);
    hbt_assert_contains(err, member);
}

HBT_TEST(test_snapshot_refusals)
{
    (void)state;
    hb_hall_state_t *s = hbt_state_sample(T0);
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
    assert_int_equal(hbt_apply_env(s, &env, T0 + 90 * SEC), 0);
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
    Hallbus__Envelope *env =
        hbt_event(T0, "{'type':'ticket_issued','ticket':'A001','service':'A'}");
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
    assert_int_equal(hbt_apply_env(s, &bare, T0), 0);
    bare.body_case = (Hallbus__Envelope__BodyCase)98;
    assert_int_equal(hbt_apply_env(s, &bare, T0), 0);
    bare.body_case = (Hallbus__Envelope__BodyCase)-3;
    assert_int_equal(hbt_apply_env(s, &bare, T0), 0);
    assert_int_equal(s->unknown_events, 4);
    assert_int_equal(s->seq, 5);
    assert_int_equal(s->anomalies, 1);
    hb_hall_state_destroy(&s);
}
