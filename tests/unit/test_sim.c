/* Unit tests of tools/hallsim/sim.c, the hallsim traffic model: the same seed gives
 * the same day; events come in time order, each one a valid event of a known
 * kind that the hall's own JSON decoder accepts; every ticket goes through a
 * possible life (issued, called, served or no-show or left); the arrival
 * curve has its morning and lunch peaks; priorities, outcomes and no-shows
 * come in plausible proportions over many seeded halls. */
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "sim.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define OPEN_MS 1795424400000LL /* 2026-11-23T09:00:00Z */
#define DAY_MS (24LL * 3600 * 1000)
#define HALLS 20

/* One simulated day: the events and their simulated times. */
typedef struct day {
    json_t *events; /* array */
    int64_t times[20000];
    size_t n;
    hb_sim_stats_t stats;
} day_t;

static day_t *s_day(uint64_t seed, int index, int64_t open_ms)
{
    day_t *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->events = json_array();
    hb_sim_hall_t *h = hb_sim_hall_new(seed, index, open_ms);
    assert_non_null(h);
    for (;;) {
        int64_t t = 0;
        json_t *ev = NULL;
        int rc = hb_sim_next(h, &t, &ev);
        if (rc == HB_ECLOSED) {
            assert_null(ev);
            break;
        }
        assert_int_equal(rc, 0);
        assert_non_null(ev);
        assert_true(d->n < sizeof d->times / sizeof d->times[0]);
        d->times[d->n++] = t;
        json_array_append_new(d->events, ev);
    }
    /* The end of the day stays the end. */
    int64_t t = 0;
    json_t *ev = NULL;
    assert_int_equal(hb_sim_next(h, &t, &ev), HB_ECLOSED);
    assert_null(ev);
    hb_sim_hall_stats(h, &d->stats);
    hb_sim_hall_destroy(&h);
    assert_null(h);
    hb_sim_hall_destroy(&h); /* idempotent */
    return d;
}

static void s_day_free(day_t **d_p)
{
    json_decref((*d_p)->events);
    free(*d_p);
    *d_p = NULL;
}

static const char *s_str(const json_t *ev, const char *key)
{
    const char *v = json_string_value(json_object_get(ev, key));
    return v ? v : "";
}

static int s_tod_s(int64_t t) { return HB_SIM_OPEN_S + (int)((t - OPEN_MS) / 1000); }

/* ------------------------------------------------------------------------ */

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_same_seed_same_day)
{
    (void)state;
    day_t *a = s_day(7, 0, OPEN_MS), *b = s_day(7, 0, OPEN_MS);
    assert_true(a->n > 100);
    assert_int_equal(a->n, b->n);
    assert_true(json_equal(a->events, b->events));
    assert_memory_equal(a->times, b->times, a->n * sizeof a->times[0]);

    /* Another seed, another hall or another day is another stream. */
    day_t *c = s_day(8, 0, OPEN_MS), *d = s_day(7, 1, OPEN_MS), *e = s_day(7, 0, OPEN_MS + DAY_MS);
    assert_false(json_equal(a->events, c->events));
    assert_false(json_equal(a->events, d->events));
    assert_false(json_equal(a->events, e->events));
    /* A hall keeps its size and counters from one day to the next. */
    assert_true(a->stats.size == e->stats.size);
    assert_int_equal(a->stats.counters, e->stats.counters);
    s_day_free(&a);
    s_day_free(&b);
    s_day_free(&c);
    s_day_free(&d);
    s_day_free(&e);
}

HBT_TEST(test_halls_differ)
{
    (void)state;
    double lo = 100, hi = 0;
    int counters_seen[HB_SIM_COUNTERS_MAX + 1] = {0};
    for (int i = 0; i < HALLS; i++) {
        hb_sim_hall_t *h = hb_sim_hall_new(1, i, OPEN_MS);
        assert_non_null(h);
        hb_sim_stats_t st;
        hb_sim_hall_stats(h, &st);
        assert_in_range(st.counters, HB_SIM_COUNTERS_MIN, HB_SIM_COUNTERS_MAX);
        counters_seen[st.counters]++;
        lo = st.size < lo ? st.size : lo;
        hi = st.size > hi ? st.size : hi;
        hb_sim_hall_destroy(&h);
    }
    assert_true(hi - lo > 0.4);
    int kinds = 0;
    for (int c = 0; c <= HB_SIM_COUNTERS_MAX; c++)
        kinds += counters_seen[c] > 0;
    assert_true(kinds >= 3);
}

/* Every event is in time order, stamped with its simulated time, of a kind
 * named in Envelope.body, and accepted by the hall's JSON decoder. */
HBT_TEST(test_events_ordered_known_and_valid)
{
    (void)state;
    const ProtobufCMessageDescriptor *env = &hallbus__envelope__descriptor;
    for (int i = 0; i < 5; i++) {
        day_t *d = s_day(3, i, OPEN_MS);
        int64_t prev = OPEN_MS;
        for (size_t k = 0; k < d->n; k++) {
            json_t *ev = json_array_get(d->events, k);
            assert_true(d->times[k] >= prev);
            prev = d->times[k];
            int64_t at = 0;
            assert_int_equal(hb_time_parse(s_str(ev, "at"), &at), 0);
            assert_int_equal(at, d->times[k]);

            const char *type = s_str(ev, "type");
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field_by_name(env, type);
            if (!f || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
                fail_msg("event %zu has type '%s', not an Envelope body field", k, type);

            Hallbus__Envelope *e = NULL;
            char err[256] = "";
            if (hb_event_from_json(ev, d->times[k], 0, &e, err, sizeof err) != 0) {
                char *text = json_dumps(ev, JSON_COMPACT);
                fail_msg("the hall would refuse %s: %s", text, err);
            }
            assert_string_equal(hb_event_type_name(e), type);
            hb_envelope_free(e);
        }
        /* The day starts at opening and ends in the evening. */
        assert_int_equal(d->times[0], OPEN_MS);
        assert_in_range(s_tod_s(d->times[d->n - 1]), HB_SIM_CLOSE_S, 23 * 3600);
        assert_int_equal(d->stats.events, d->n);
        s_day_free(&d);
    }
}

/* Tickets, counters and complaints each go through a possible life. */
typedef struct ticket_life {
    char id[16];
    int issued, called, recalls, started, completed, no_show, cancelled, scored;
    char counter[8];
} ticket_life_t;

static ticket_life_t *s_find(ticket_life_t *t, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].id, id) == 0)
            return &t[i];
    }
    return NULL;
}

/* A complaint's steps: 1 opened, 2 acknowledged, 3 escalated, 4 resolved. */
typedef struct complaint_life {
    char id[64];
    int step;
} complaint_life_t;

static void s_complaint_step(complaint_life_t *c, size_t *n, size_t max, const json_t *ev, int step)
{
    const char *id = s_str(ev, "complaint");
    complaint_life_t *found = NULL;
    for (size_t i = 0; i < *n && !found; i++)
        found = strcmp(c[i].id, id) == 0 ? &c[i] : NULL;
    if (step == 1) {
        assert_null(found); /* complaint ids are unique in the hall */
        assert_true(*n < max);
        found = &c[(*n)++];
        snprintf(found->id, sizeof found->id, "%s", id);
    } else if (!found) {
        fail_msg("complaint %s: step %d before it was opened", id, step);
    } else if (found->step >= step || (step == 3 && found->step != 2)) {
        fail_msg("complaint %s: step %d after step %d", id, step, found->step);
    }
    found->step = step;
}

HBT_TEST(test_lifecycles)
{
    (void)state;
    static ticket_life_t tickets[4000];
    int complaints_seen = 0;
    for (int hall = 0; hall < HALLS; hall++) {
        day_t *d = s_day(11, hall, OPEN_MS);
        size_t nt = 0;
        int open_counters = 0, opened = 0, closed = 0, paused = 0, complaints_open = 0;
        int complaints = 0;
        char services_served[4] = "";
        memset(tickets, 0, sizeof tickets);
        complaint_life_t cl[64];
        size_t ncl = 0;
        for (size_t k = 0; k < d->n; k++) {
            json_t *ev = json_array_get(d->events, k);
            const char *type = s_str(ev, "type"), *id = s_str(ev, "ticket");
            ticket_life_t *t = id[0] ? s_find(tickets, nt, id) : NULL;
            if (strcmp(type, "ticket_issued") == 0) {
                assert_null(t); /* ticket numbers are not reused in a day */
                assert_true(nt < sizeof tickets / sizeof tickets[0]);
                t = &tickets[nt++];
                snprintf(t->id, sizeof t->id, "%s", id);
                t->issued = 1;
                assert_int_equal(id[0], s_str(ev, "service")[0]);
                assert_true(s_tod_s(d->times[k]) < HB_SIM_CLOSE_S);
                assert_true(open_counters > 0);
            } else if (strcmp(type, "ticket_called") == 0) {
                if (!t)
                    fail_msg("%s called but never issued", id);
                assert_int_equal(t->called + t->cancelled, 0);
                t->called = 1;
                snprintf(t->counter, sizeof t->counter, "%s", s_str(ev, "counter"));
            } else if (strcmp(type, "ticket_recalled") == 0) {
                assert_non_null(t);
                assert_true(t->called && !t->started);
                assert_string_equal(t->counter, s_str(ev, "counter"));
                t->recalls++;
                assert_int_equal(json_integer_value(json_object_get(ev, "recall_count")),
                                 t->recalls);
            } else if (strcmp(type, "ticket_no_show") == 0) {
                assert_non_null(t);
                assert_true(t->called && !t->started && t->recalls == 2);
                t->no_show = 1;
            } else if (strcmp(type, "ticket_cancelled") == 0) {
                assert_non_null(t);
                assert_false(t->called);
                t->cancelled = 1;
            } else if (strcmp(type, "service_started") == 0) {
                assert_non_null(t);
                assert_true(t->called && !t->started && !t->no_show);
                assert_string_equal(t->counter, s_str(ev, "counter"));
                t->started = 1;
            } else if (strcmp(type, "service_completed") == 0) {
                if (!t || !t->started)
                    fail_msg("%s completed without being started", id);
                assert_false(t->completed);
                assert_string_equal(t->counter, s_str(ev, "counter"));
                t->completed = 1;
                if (!strchr(services_served, id[0]) && strlen(services_served) < 3)
                    strncat(services_served, id, 1);
            } else if (strcmp(type, "satisfaction_scored") == 0) {
                assert_non_null(t);
                assert_true(t->completed && !t->scored);
                t->scored = 1;
                assert_in_range(json_integer_value(json_object_get(ev, "score")), 1, 5);
            } else if (strcmp(type, "counter_opened") == 0) {
                open_counters++;
                opened++;
                assert_true(json_array_size(json_object_get(ev, "services")) > 0);
            } else if (strcmp(type, "counter_paused") == 0) {
                paused++;
                open_counters--;
                assert_true(open_counters > 0); /* lunch never leaves the hall unserved */
            } else if (strcmp(type, "counter_resumed") == 0) {
                open_counters++;
            } else if (strcmp(type, "counter_closed") == 0) {
                assert_true(s_tod_s(d->times[k]) >= HB_SIM_CLOSE_S);
                open_counters--;
                closed++;
            } else if (strcmp(type, "complaint_opened") == 0) {
                complaints_open++;
                complaints++;
                s_complaint_step(cl, &ncl, 64, ev, 1);
                /* It concerns a ticket that was served, or none. */
                if (t)
                    assert_true(t->completed);
                else
                    assert_string_equal(id, "");
            } else if (strcmp(type, "complaint_acknowledged") == 0) {
                s_complaint_step(cl, &ncl, 64, ev, 2);
            } else if (strcmp(type, "complaint_escalated") == 0) {
                s_complaint_step(cl, &ncl, 64, ev, 3);
            } else if (strcmp(type, "complaint_resolved") == 0) {
                s_complaint_step(cl, &ncl, 64, ev, 4);
                complaints_open--;
                assert_true(complaints_open >= 0);
            }
        }
        /* Every ticket ended exactly one way; every counter opened, took a
         * lunch break and closed; every complaint was resolved. */
        for (size_t i = 0; i < nt; i++) {
            ticket_life_t *t = &tickets[i];
            if (t->completed + t->no_show + t->cancelled != 1)
                fail_msg("hall %d: ticket %s did not end exactly once", hall, t->id);
        }
        assert_int_equal(opened, d->stats.counters);
        assert_int_equal(closed, opened);
        assert_int_equal(paused, opened);
        assert_int_equal(open_counters, 0);
        assert_int_equal(complaints_open, 0);
        assert_int_equal(complaints, d->stats.complaints);
        for (size_t i = 0; i < ncl; i++)
            assert_int_equal(cl[i].step, 4);
        complaints_seen += complaints;
        assert_int_equal(nt, d->stats.issued);
        assert_int_equal(strlen(services_served), 3);
        s_day_free(&d);
    }
    assert_true(complaints_seen > 0); /* the complaint checks above did run */
}

/* Ticket arrivals per half hour, summed over many halls, peak around 10:00
 * and 12:30 and are lower at opening and in the afternoon. */
HBT_TEST(test_arrival_peaks)
{
    (void)state;
    /* Half-hour windows starting at 09:00, 09:45, 12:15, 15:00. */
    static const int from[] = {9 * 3600, 9 * 3600 + 2700, 12 * 3600 + 900, 15 * 3600};
    int count[4] = {0};
    for (int hall = 0; hall < HALLS; hall++) {
        day_t *d = s_day(21, hall, OPEN_MS);
        for (size_t k = 0; k < d->n; k++) {
            if (strcmp(s_str(json_array_get(d->events, k), "type"), "ticket_issued") != 0)
                continue;
            int tod = s_tod_s(d->times[k]);
            for (int w = 0; w < 4; w++)
                count[w] += tod >= from[w] && tod < from[w] + 1800;
        }
        s_day_free(&d);
    }
    print_message("tickets per half hour at 09:00 %d, 10:00 %d, 12:30 %d, 15:00 %d\n", count[0],
                  count[1], count[2], count[3]);
    assert_true(count[1] > count[0] * 5 / 4);
    assert_true(count[1] > count[3] * 2);
    assert_true(count[2] > count[0]);
    assert_true(count[2] > count[3] * 2);

    /* The curve itself. */
    assert_true(hb_sim_arrival_rate(1.0, HB_SIM_OPEN_S - 1) == 0.0);
    assert_true(hb_sim_arrival_rate(1.0, HB_SIM_CLOSE_S) == 0.0);
    double at9 = hb_sim_arrival_rate(1.0, 9 * 3600), at10 = hb_sim_arrival_rate(1.0, 10 * 3600);
    double at1230 = hb_sim_arrival_rate(1.0, 12 * 3600 + 1800);
    double at15 = hb_sim_arrival_rate(1.0, 15 * 3600);
    assert_true(at10 > at9 && at10 > at15 && at1230 > at9 && at1230 > at15);
    assert_true(hb_sim_arrival_rate(2.0, 10 * 3600) > at10 * 1.99);
}

static double s_share(int part, int whole) { return whole ? (double)part / whole : 0; }

static void s_assert_share(const char *what, int part, int whole, double lo, double hi)
{
    double s = s_share(part, whole);
    print_message("%-20s %5d / %5d = %.3f\n", what, part, whole, s);
    if (s < lo || s > hi)
        fail_msg("%s: %.3f is outside %.3f..%.3f", what, s, lo, hi);
}

HBT_TEST(test_proportions)
{
    (void)state;
    int issued = 0, normal = 0, elderly = 0, vip = 0, appointment = 0;
    int svc[3] = {0}, called = 0, no_show = 0, completed = 0, done = 0, referred = 0;
    int rejected = 0, scored = 0, score_sum = 0, complaints = 0, paid = 0, payments = 0;
    int paper_out = 0;
    for (int hall = 0; hall < HALLS; hall++) {
        day_t *d = s_day(5, hall, OPEN_MS);
        for (size_t k = 0; k < d->n; k++) {
            json_t *ev = json_array_get(d->events, k);
            const char *type = s_str(ev, "type");
            if (strcmp(type, "ticket_issued") == 0) {
                issued++;
                const char *p = s_str(ev, "priority");
                normal += strcmp(p, "normal") == 0;
                elderly += strcmp(p, "elderly") == 0;
                vip += strcmp(p, "vip") == 0;
                appointment += strcmp(p, "appointment") == 0;
                svc[s_str(ev, "service")[0] - 'A']++;
                if (strcmp(p, "appointment") == 0)
                    assert_string_equal(s_str(ev, "source"), "app");
            } else if (strcmp(type, "ticket_called") == 0) {
                called++;
            } else if (strcmp(type, "ticket_no_show") == 0) {
                no_show++;
            } else if (strcmp(type, "service_completed") == 0) {
                completed++;
                const char *o = s_str(ev, "outcome");
                done += strcmp(o, "done") == 0;
                referred += strcmp(o, "referred") == 0;
                rejected += strcmp(o, "rejected_documents") == 0;
                const char *b = s_str(ev, "business_type");
                json_int_t amount = json_integer_value(json_object_get(ev, "amount"));
                assert_true(amount >= 0);
                if ((strcmp(b, "bill_payment") == 0 || strcmp(b, "cash_withdrawal") == 0) &&
                    strcmp(o, "done") == 0) {
                    payments++;
                    paid += amount > 0;
                } else {
                    assert_int_equal(amount, 0);
                }
                json_int_t dur = json_integer_value(json_object_get(ev, "duration_s"));
                assert_in_range(dur, 30, 2 * 3600);
            } else if (strcmp(type, "satisfaction_scored") == 0) {
                scored++;
                score_sum += (int)json_integer_value(json_object_get(ev, "score"));
            } else if (strcmp(type, "complaint_opened") == 0) {
                complaints++;
            } else if (strcmp(type, "device_status") == 0) {
                paper_out += strcmp(s_str(ev, "state"), "paper_out") == 0;
            }
        }
        s_day_free(&d);
    }
    s_assert_share("priority normal", normal, issued, 0.80, 0.90);
    s_assert_share("priority elderly", elderly, issued, 0.05, 0.11);
    s_assert_share("priority vip", vip, issued, 0.02, 0.06);
    s_assert_share("priority appointment", appointment, issued, 0.015, 0.05);
    s_assert_share("service A", svc[0], issued, 0.45, 0.55);
    s_assert_share("service B", svc[1], issued, 0.25, 0.35);
    s_assert_share("service C", svc[2], issued, 0.16, 0.24);
    s_assert_share("no-show", no_show, called, 0.01, 0.06);
    s_assert_share("outcome done", done, completed, 0.86, 0.95);
    s_assert_share("outcome referred", referred, completed, 0.03, 0.08);
    s_assert_share("outcome rejected", rejected, completed, 0.02, 0.07);
    s_assert_share("scored", scored, completed, 0.33, 0.47);
    s_assert_share("complaints", complaints, issued, 1.0 / 500, 1.0 / 50);
    assert_int_equal(paid, payments);
    /* Scores lean high: the mean is around 4. */
    double mean = (double)score_sum / scored;
    print_message("mean score %.2f, paper-outs %d in %d hall days\n", mean, paper_out, HALLS);
    assert_true(mean > 3.6 && mean < 4.5);
    assert_in_range(paper_out, 3, HALLS - 3);
}

/* A hall dropped in the middle of its day frees what it held. */
HBT_TEST(test_destroy_mid_day)
{
    (void)state;
    hb_sim_hall_t *h = hb_sim_hall_new(9, 0, OPEN_MS);
    assert_non_null(h);
    for (int i = 0; i < 3; i++) { /* the opening burst stays partly queued */
        int64_t t;
        json_t *ev;
        assert_int_equal(hb_sim_next(h, &t, &ev), 0);
        json_decref(ev);
    }
    hb_sim_hall_destroy(&h);
    assert_null(h);
    hb_sim_hall_destroy(NULL);
}
