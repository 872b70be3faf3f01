/* HQ's live mirror of every hall: the shared reducer (hallstate.h) applied
 * to each hall's events as they are committed, so head office sees each
 * hall as the hall sees itself. A thread of its own does the decoding and
 * reducing, off the loop that talks to halls and off the writer's commits;
 * the writer hands it every committed batch.
 *
 * Snapshots of each hall's state are written now and then to an LMDB
 * environment of the mirror's own; at start each hall is rebuilt from its
 * snapshot plus the stored events after it (never by replaying years), up
 * to its durable last sequence; batches committed afterwards queue until
 * the rebuild is done. Readers (the HTTP API, on the loop
 * thread) take the read lock around any access to a state. Not here: alert
 * rules and the stream of changes (those read the mirror). */
#ifndef HQD_LIVE_H
#define HQD_LIVE_H

#include "hqstore.h"
#include "trend.h"
#include "writer.h"
#include "hallbus/hallstate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hq_live hq_live_t;

typedef struct hq_live_stats {
    uint64_t events;    /* applied */
    uint64_t skipped;   /* already applied (at or below the state's seq) */
    uint64_t anomalies; /* events that did not fit a state, over all halls */
    uint64_t queued_bytes;
    bool rebuilding;
    uint64_t rebuilt_events;         /* applied by the start-up rebuild */
    uint64_t rebuilt_from_snapshots; /* halls whose rebuild started from a snapshot */
    double rebuild_ms;
    uint64_t snapshots_written;
    /* Committed batches the queue had no room for (the writer does not
     * wait): their events are read back from the store. */
    uint64_t dropped_items, dropped_events;
    uint64_t caught_up_events; /* read back from the store and applied */
    uint64_t behind_halls;     /* halls waiting to be caught up now */
    uint64_t lag_events;       /* dropped and not yet read back */
} hq_live_stats_t;

typedef struct hq_live_config {
    const char *snapshot_dir; /* the mirror's own LMDB folder */
    size_t max_queue_bytes;   /* see hq_live_start */
    uint64_t snapshot_events; /* snapshot a hall after this many new events ... */
    int64_t snapshot_ms;      /* ... or this long after its last snapshot, if it changed */
    hq_trend_t *trend;        /* told of tickets served (NULL: nobody); outlives the mirror */
} hq_live_config_t;

/* Starts the thread, which first rebuilds every hall in `records` from its
 * snapshot and the store. `max_queue_bytes` bounds the batches waiting to
 * be applied: past it, hq_live_submit drops a batch (never waits) and the
 * thread reads the hall's events back from the store before applying
 * anything newer of it, so the mirror lags but misses nothing. */
int hq_live_start(hq_store_t *st, const hq_hall_record_t *records, size_t n,
                  const hq_live_config_t *cfg, hq_live_t **out);
/* Takes ownership of a list of committed batches (linked by `next`), in
 * commit order. Never blocks on the mirror. Thread-safe; called by the
 * writer thread after the batches' commit (the store holds them). */
void hq_live_submit(hq_live_t *live, hq_write_item_t *items);
/* Hall numbers whose state changed since the last call (at most `max`;
 * the rest stay for the next call). For the stream of changes. */
size_t hq_live_take_changed(hq_live_t *live, uint32_t *out, size_t max);
/* Applies what is queued, snapshots what changed, stops the thread, frees
 * `*live`. */
void hq_live_stop(hq_live_t **live);

/* Around every use of hq_live_state's result. */
void hq_live_read_lock(hq_live_t *live);
void hq_live_read_unlock(hq_live_t *live);
/* The state of hall `num`, or NULL when it has no event yet. Valid only
 * under the read lock. */
const hb_hall_state_t *hq_live_state(hq_live_t *live, uint32_t num);
void hq_live_get_stats(hq_live_t *live, hq_live_stats_t *out);
/* The mirror's lag: for each committed batch, the seconds from the end of
 * its commit to its events being in the hall's live state (readers see
 * them). For /metrics; read on any thread; lives as long as the mirror. */
const hb_histogram_t *hq_live_lag_histogram(const hq_live_t *live);
/* Waits until everything submitted so far is applied (tests, shutdown). */
void hq_live_flush(hq_live_t *live);

#endif
