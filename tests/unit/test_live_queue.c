/* Unit tests of the live mirror's queue on a real LMDB store: when the
 * mirror is held up and its queue has no room, hq_live_submit neither waits
 * nor loses anything: the batches it drops are read back from the event
 * store, and the hall's mirrored state ends equal to one that was fed every
 * batch (every ticket issued, in order, counted once). Not here: the mirror
 * against real halls (integration/test_mirror.c). */
#include "hqstore.h"
#include "live.h"
#include "writer.h"

#include "hallbus/error.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storefx.h"
#include "runner.h"

#define BATCHES 40
#define PER_BATCH 25

typedef struct {
    hbt_storefx_t fx;                 /* first: see storefx.h */
    hq_write_item_t *stored[BATCHES]; /* as the writer's sink hands them on */
    size_t n_stored;
} fixture_t;

/* Runs on the writer thread: keeps each committed batch for the test to
 * hand to the mirror when it chooses. */
static void s_sink(hq_write_item_t *items, void *arg)
{
    fixture_t *f = arg;
    while (items) {
        hq_write_item_t *next = items->next;
        items->next = NULL;
        assert_true(f->n_stored < BATCHES);
        f->stored[f->n_stored++] = items;
        items = next;
    }
}

/* A batch of PER_BATCH TicketIssued events of hall 0 from `first`, each
 * with its own ticket. */
static hq_write_item_t *s_batch(uint64_t first)
{
    uint8_t *ev[PER_BATCH];
    size_t len[PER_BATCH];
    for (int i = 0; i < PER_BATCH; i++)
        len[i] = hbt_envelope_bytes(first + (uint64_t)i, hb_now_ms(), &ev[i]);
    hq_write_item_t *it = hbt_write_item(0, "L00001", first, PER_BATCH, ev, len, NULL);
    for (int i = 0; i < PER_BATCH; i++)
        free(ev[i]);
    return it;
}

static const hbt_storefx_spec_t s_spec = {"test-livequeue", sizeof(fixture_t)};
#define HBT_FIXTURE hbt_storefx_setup, hbt_storefx_teardown, &s_spec

HBT_TEST(test_full_queue_drops_and_reads_back)
{
    fixture_t *f = *state;
    hq_writer_t *w = hbt_storefx_open(&f->fx, 1 << 20, hbt_storefx_on_commit, &f->fx);
    hq_writer_set_sink(w, s_sink, f);
    /* Commit every batch first: the mirror is handed only what is stored. */
    for (uint64_t b = 0; b < BATCHES; b++) {
        hq_write_item_t *it = s_batch(1 + b * PER_BATCH);
        assert_int_equal(hq_writer_submit(w, &it), 0);
    }
    hq_writer_stop(&w);
    uv_run(&f->fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(f->n_stored, BATCHES);

    /* A queue of one byte: the first batch is taken (an empty queue always
     * takes one list), every later one while it waits is dropped. */
    hq_live_config_t cfg = {
        .max_queue_bytes = 1, .snapshot_events = 1000000, .snapshot_ms = 3600000};
    hq_live_t *live;
    assert_int_equal(hq_live_start(&f->fx.st, NULL, 0, &cfg, &live), 0);
    hq_live_flush(live); /* the (empty) rebuild is done */
    /* Hold the mirror: its thread cannot apply while a reader holds the
     * lock, so the first batch stays queued and the rest find no room. And
     * submit never waits for it (this thread holds the lock it would need). */
    hq_live_read_lock(live);
    for (size_t i = 0; i < BATCHES; i++) {
        hq_live_submit(live, f->stored[i]);
        f->stored[i] = NULL;
    }
    hq_live_stats_t ls;
    hq_live_get_stats(live, &ls);
    assert_int_equal(ls.dropped_items, BATCHES - 1);
    assert_int_equal(ls.dropped_events, (BATCHES - 1) * PER_BATCH);
    assert_int_equal(ls.behind_halls, 1);
    assert_int_equal(ls.lag_events, (BATCHES - 1) * PER_BATCH);
    hq_live_read_unlock(live);

    hq_live_flush(live);
    hq_live_get_stats(live, &ls);
    assert_int_equal(ls.events, BATCHES * PER_BATCH);
    assert_int_equal(ls.caught_up_events, (BATCHES - 1) * PER_BATCH);
    assert_int_equal(ls.behind_halls, 0);
    assert_int_equal(ls.lag_events, 0);
    assert_int_equal(ls.anomalies, 0);
    hq_live_read_lock(live);
    const hb_hall_state_t *s = hq_live_state(live, 0);
    assert_non_null(s);
    assert_int_equal(s->seq, BATCHES * PER_BATCH);
    assert_int_equal(s->today.issued, BATCHES * PER_BATCH);
    assert_int_equal(s->n_tickets, BATCHES * PER_BATCH);
    assert_int_equal(s->anomalies, 0);
    hq_live_read_unlock(live);

    hq_live_stop(&live);
    hq_store_close(&f->fx.st);
}
