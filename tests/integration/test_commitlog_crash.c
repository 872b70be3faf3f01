/* Integration test of HQ's commit log (hqd/link/hqlog.h) with a real hqd
 * killed for real: events acknowledged and still in the log (the fold is
 * set an hour apart) are read through the API, survive kill -9 of hqd,
 * are folded once at the restart, and their resend is recognised as a
 * duplicate and not stored twice. The unit tests on LMDB files alone:
 * unit/test_commitlog.c. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"
#include "world.h"

#define HALL "LOGHALL-A"

static const hbt_world_spec_t s_world = {
    .tag = "commitlog", .halls = {HALL}, .hq_args = {"--fold_every", "1h"}};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

static int64_t s_hall_int(hbt_world_t *w, const char *field)
{
    json_t *h = hbt_get(w->hq.http, "/v1/halls/" HALL);
    assert_non_null(h);
    int64_t v = hbt_int(h, field);
    json_decref(h);
    return v;
}

static int64_t s_status_int(hbt_world_t *w, const char *group, const char *field)
{
    json_t *st = hbt_get(w->hq.http, "/v1/status");
    assert_non_null(st);
    int64_t v = hbt_int(json_object_get(st, group), field);
    json_decref(st);
    return v;
}

/* The events the API lists from `from`: their count, each seq checked. */
static size_t s_listed(hbt_world_t *w, int64_t from)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/" HALL "/events?from=%lld&limit=500", (long long)from);
    json_t *o = hbt_get(w->hq.http, path);
    assert_non_null(o);
    json_t *arr = json_object_get(o, "events");
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hbt_int(json_array_get(arr, i), "seq"), from + (int64_t)i);
    json_decref(o);
    return n;
}

HBT_TEST(test_acked_in_the_log_survives_kill_9_and_is_not_doubled)
{
    hbt_world_t *w = *state;
    int64_t at_ms = (int64_t)time(NULL) * 1000;
    hbt_raw_t *raw = hbt_raw_fresh(w->hq.endpoint, w->hall[0].dir);
    assert_int_equal(hbt_raw_send_acked(raw, 1, 50, at_ms), 50);
    hbt_raw_close(&raw);
    /* Acknowledged, held by the log and not folded (the fold is an hour
     * away), and read all the same. */
    assert_int_equal(s_status_int(w, "log", "unfolded_events"), 50);
    assert_int_equal(s_status_int(w, "log", "folds"), 0);
    assert_int_equal(s_hall_int(w, "last_seq"), 50);
    assert_int_equal(s_listed(w, 1), 50);
    assert_int_equal(s_listed(w, 41), 10);

    /* kill -9 between the log's commit and its fold. */
    hbt_hq_stop(&w->hq, SIGKILL);
    hbt_hq_start(&w->hq);
    assert_int_equal(s_hall_int(w, "last_seq"), 50);
    assert_int_equal(s_hall_int(w, "events"), 50);
    assert_int_equal(s_status_int(w, "log", "unfolded_events"), 0);
    assert_int_equal(s_listed(w, 1), 50);
    assert_true(hbt_log_has(w->hq.proc.log, "folded 50 acknowledged event(s)"));

    /* The hall never saw that ack: it resends the same bytes and more. */
    raw = hbt_raw_connect(w->hq.endpoint, w->hall[0].dir);
    assert_int_equal(hbt_raw_hello(raw), 50);
    assert_int_equal(hbt_raw_send_acked(raw, 1, 60, at_ms), 60);
    assert_int_equal(s_hall_int(w, "events"), 60);
    assert_true(s_status_int(w, "ingest", "events_duplicate") >= 50);
    assert_int_equal(s_status_int(w, "log", "unfolded_events"), 10);
    hbt_raw_close(&raw);

    /* Again, with the new events in the log only; then once more with
     * nothing left to fold. */
    hbt_hq_stop(&w->hq, SIGKILL);
    hbt_hq_start(&w->hq);
    assert_int_equal(s_hall_int(w, "last_seq"), 60);
    assert_int_equal(s_hall_int(w, "events"), 60);
    assert_int_equal(s_listed(w, 1), 60);
    hbt_hq_stop(&w->hq, SIGKILL);
    hbt_hq_start(&w->hq);
    assert_int_equal(s_hall_int(w, "events"), 60);
    raw = hbt_raw_connect(w->hq.endpoint, w->hall[0].dir);
    assert_int_equal(hbt_raw_hello(raw), 60);
    hbt_raw_close(&raw);

    /* A clean stop folds what the log holds and leaves it empty. */
    raw = hbt_raw_connect(w->hq.endpoint, w->hall[0].dir);
    assert_int_equal(hbt_raw_hello(raw), 60);
    assert_int_equal(hbt_raw_send_acked(raw, 61, 5, at_ms), 65);
    hbt_raw_close(&raw);
    assert_int_equal(s_status_int(w, "log", "unfolded_events"), 5);
    hbt_hq_stop(&w->hq, SIGTERM);
    hbt_hq_start(&w->hq);
    assert_int_equal(s_hall_int(w, "events"), 65);
    assert_false(hbt_log_has(w->hq.proc.log, "folded 5 acknowledged"));
}
