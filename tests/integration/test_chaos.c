/* Nothing lost, nothing doubled, with real processes killed for real:
 * three halls send 20,000 events each while hqd is killed with SIGKILL and
 * restarted twice and one branchd is killed and restarted; a long HQ outage
 * while halls keep accepting events; HQ's map starting tiny and growing under
 * ingest. Afterwards HQ's last_seq, events and stream_digest equal each
 * hall's. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "world.h"

#define HALLS 3
#define EVENTS_PER_HALL 20000
#define CHUNK 500

static void s_enroll_and_start(hbt_world_t *w, int n)
{
    hbt_hq_start(&w->hq);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "H%03d", i + 1);
        hbt_hall_enroll(&w->hq, &w->hall[i], id);
        hbt_hall_start(&w->hall[i]);
    }
    w->n_halls = (size_t)n; /* the world's teardown stops them */
}

static int64_t s_status(hbt_hall_t *h, const char *field)
{
    json_t *st = hbt_get(h->http, "/v1/status");
    int64_t v = st ? hbt_int(st, field) : -1;
    json_decref(st);
    return v;
}

/* hqd and the halls are started by each test. */
static const hbt_world_spec_t s_world = {.tag = "chaos", .hq_stopped = true};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

HBT_TEST(test_kill9_both_sides_nothing_lost_nothing_doubled)
{
    hbt_world_t *w = *state;
    s_enroll_and_start(w, HALLS);
    int chunks = EVENTS_PER_HALL / CHUNK;
    for (int c = 0; c < chunks; c++) {
        if (c == 8) {
            fprintf(stderr, "chaos: kill -9 hqd\n");
            hbt_hq_stop(&w->hq, SIGKILL);
        }
        if (c == 12) {
            fprintf(stderr, "chaos: hqd back\n");
            hbt_hq_start(&w->hq);
        }
        if (c == 20) {
            fprintf(stderr, "chaos: kill -9 branchd H002\n");
            hbt_hall_stop(&w->hall[1], SIGKILL);
            hbt_hall_start(&w->hall[1]);
        }
        if (c == 26) {
            fprintf(stderr, "chaos: kill -9 hqd again\n");
            hbt_hq_stop(&w->hq, SIGKILL);
            hbt_sleep_ms(300);
            hbt_hq_start(&w->hq);
        }
        for (int i = 0; i < HALLS; i++)
            hbt_hall_post(&w->hall[i], CHUNK, c);
    }
    for (int i = 0; i < HALLS; i++) {
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 120000));
        hbt_assert_synced(&w->hq, &w->hall[i]);
        /* Every posted event, plus the days the hall started itself. */
        assert_int_equal(s_status(&w->hall[i], "last_seq"),
                         EVENTS_PER_HALL + hbt_hq_count_type(&w->hq, w->hall[i].id, "day_started"));
    }
    /* And again after a clean restart of everything: the state was durable. */
    hbt_hq_stop(&w->hq, SIGTERM);
    hbt_hq_start(&w->hq);
    for (int i = 0; i < HALLS; i++) {
        hbt_hall_stop(&w->hall[i], SIGKILL);
        hbt_hall_start(&w->hall[i]);
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 30000));
    }
}

HBT_TEST(test_long_outage_backlog_drains)
{
    hbt_world_t *w = *state;
    s_enroll_and_start(w, 2);
    int64_t before[2];
    for (int i = 0; i < 2; i++) {
        hbt_hall_post(&w->hall[i], 1000, 1);
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 20000));
        before[i] = s_status(&w->hall[i], "last_seq");
    }
    hbt_hq_stop(&w->hq, SIGTERM);
    /* The halls keep serving customers: every event is accepted locally. */
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 2; i++)
            hbt_hall_post(&w->hall[i], 1000, 100 + round);
        hbt_sleep_ms(300);
    }
    for (int i = 0; i < 2; i++) {
        json_t *st = hbt_get(w->hall[i].http, "/v1/status");
        assert_non_null(st);
        assert_true(json_is_false(json_object_get(st, "connected")));
        /* 10,000 posted, and a new day's event if midnight passed. */
        int64_t grew = hbt_int(st, "last_seq") - before[i];
        assert_true(grew == 10000 || grew == 10001);
        assert_int_equal(hbt_int(st, "backlog"), grew);
        json_decref(st);
    }
    hbt_hq_start(&w->hq);
    for (int i = 0; i < 2; i++) {
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 60000));
        assert_int_equal(s_status(&w->hall[i], "backlog"), 0);
        assert_int_equal(s_status(&w->hall[i], "last_seq"),
                         11000 + hbt_hq_count_type(&w->hq, w->hall[i].id, "day_started"));
    }
}

HBT_TEST(test_tiny_hq_map_grows_during_ingest)
{
    hbt_world_t *w = *state;
    snprintf(w->hq.extra[0], sizeof w->hq.extra[0], "--map_size");
    snprintf(w->hq.extra[1], sizeof w->hq.extra[1], "64K");
    w->hq.n_extra = 2;
    s_enroll_and_start(w, 2);
    for (int c = 0; c < 10; c++)
        for (int i = 0; i < 2; i++)
            hbt_hall_post(&w->hall[i], 1000, c);
    for (int i = 0; i < 2; i++)
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 60000));
    json_t *st = hbt_get(w->hq.http, "/v1/status");
    assert_non_null(st);
    int64_t grows = hbt_int(json_object_get(st, "store"), "map_grows");
    fprintf(stderr, "HQ map grew %lld time(s)\n", (long long)grows);
    assert_true(grows > 0);
    assert_int_equal(hbt_int(json_object_get(st, "writer"), "failures"), 0);
    json_decref(st);
}
