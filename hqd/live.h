/* HQ's live mirror of every hall: the shared reducer (hallstate.h) applied
 * to each hall's events as they are committed, so head office sees each
 * hall as the hall sees itself. A thread of its own does the decoding and
 * reducing, off the loop that talks to halls and off the writer's commits;
 * the writer hands it every committed batch.
 *
 * At start the mirror is rebuilt from what the store holds (each hall's
 * events up to its durable last sequence); batches committed afterwards
 * queue until the rebuild is done. Readers (the HTTP API, on the loop
 * thread) take the read lock around any access to a state. Not here: alert
 * rules and the stream of changes (those read the mirror). */
#ifndef HQD_LIVE_H
#define HQD_LIVE_H

#include "hqstore.h"
#include "writer.h"
#include "hallbus/hallstate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hq_live hq_live_t;

typedef struct hq_live_stats {
    uint64_t events;      /* applied */
    uint64_t skipped;     /* already applied (at or below the state's seq) */
    uint64_t anomalies;   /* events that did not fit a state, over all halls */
    uint64_t queued_bytes;
    bool rebuilding;
    uint64_t rebuilt_events; /* applied by the start-up rebuild */
    double rebuild_ms;
} hq_live_stats_t;

/* Starts the thread, which first rebuilds every hall in `records` from the
 * store. `max_queue_bytes` bounds the batches waiting to be applied: past
 * it, hq_live_submit waits (the writer then slows, and the ingest tells
 * halls to retry). */
int hq_live_start(hq_store_t *st, const hq_hall_record_t *records, size_t n,
                  size_t max_queue_bytes, hq_live_t **out);
/* Takes ownership of a list of committed batches (linked by `next`), in
 * commit order. Thread-safe; called by the writer thread. */
void hq_live_submit(hq_live_t *live, hq_write_item_t *items);
/* Applies what is queued, stops the thread, frees `*live`. */
void hq_live_stop(hq_live_t **live);

/* Around every use of hq_live_state's result. */
void hq_live_read_lock(hq_live_t *live);
void hq_live_read_unlock(hq_live_t *live);
/* The state of hall `num`, or NULL when it has no event yet. Valid only
 * under the read lock. */
const hb_hall_state_t *hq_live_state(hq_live_t *live, uint32_t num);
void hq_live_get_stats(hq_live_t *live, hq_live_stats_t *out);
/* Waits until everything submitted so far is applied (tests, shutdown). */
void hq_live_flush(hq_live_t *live);

#endif
