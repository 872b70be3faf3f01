/* The rollups' engine: every hall's fold state, the cells' changes since
 * the last commit, and the commit that writes them to the rollups'
 * environment together with each hall's last rolled-up sequence, so that
 * an event is counted exactly once whatever stops the process. Used by
 * the rollup thread (rollup.h) and by `hqd rollups rebuild` (rebuild.c);
 * one thread at a time.
 *
 * A hall's events must be applied in sequence order with no gap: the
 * engine refuses anything else (the caller reads the gap from the event
 * store first, ru_engine_catch_up). A hall is loaded at its first use:
 * its head, its saved fold state, and the events after that state up to
 * its last rolled-up one replayed without counting (they are counted
 * already). Saving a fold state costs its bytes, so it happens every
 * `snapshot_events` events or `snapshot_ms`, at a commit. */
#ifndef HQD_RU_ENGINE_H
#define HQD_RU_ENGINE_H

#include "fold.h"
#include "rustore.h"

#include "hqstore.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ru_engine ru_engine_t;

typedef struct ru_engine_config {
    hq_store_t *events;       /* read for gaps and for loading halls */
    ru_store_t *store;        /* written by commits */
    uint64_t snapshot_events; /* a hall's fold state is saved after this many events ... */
    int64_t snapshot_ms;      /* ... or this long after the last save (monotonic) */
    size_t max_cells;         /* changed cells held before a commit is due */
} ru_engine_config_t;

typedef struct ru_engine_stats {
    uint64_t events; /* applied and committed */
    uint64_t commits, commit_failures, map_grows;
    uint64_t cells_written, folds_saved;
    uint64_t replayed;    /* replayed without counting when halls were loaded */
    uint64_t store_reads; /* events read from the event store (gaps, catching up) */
    uint64_t revisions;   /* (hall, day)s counted again after the day had ended */
    uint64_t dropped;     /* what folds' bounds left out (fold.h) */
    double last_commit_ms, max_commit_ms;
} ru_engine_stats_t;

ru_engine_t *ru_engine_new(const ru_engine_config_t *cfg);
void ru_engine_destroy(ru_engine_t **e);
void ru_engine_set_policy(ru_engine_t *e, ru_policy_fn fn, void *arg);
/* Only day cells of days >= `from_day` (and no month cell) are counted:
 * the rebuild's setting. INT32_MIN counts everything. */
void ru_engine_set_day_filter(ru_engine_t *e, int32_t from_day, bool months);

/* The last rolled-up sequence of `hall` (pending ones included), loading
 * its head on first use. */
int ru_engine_rolled(ru_engine_t *e, uint32_t hall, uint64_t *out);
/* Committed figures of a hall: last rolled-up and saved-state sequences
 * (the event store may drop events up to `state` only). */
bool ru_engine_committed(const ru_engine_t *e, uint32_t hall, uint64_t *rolled, uint64_t *state);
/* The hall's zone as its fold knows it, "" before any day_started. */
const char *ru_engine_timezone(ru_engine_t *e, uint32_t hall);

/* Applies event `seq` (bytes as stored) of `hall`: HB_ESEQ unless it is
 * the next after the hall's rolled-up sequence (then nothing changes);
 * 0 and `*skipped` set when it was rolled up already. */
int ru_engine_apply(ru_engine_t *e, uint32_t hall, uint64_t seq, const uint8_t *data, size_t len,
                    bool *skipped);
/* Reads the hall's events after its rolled-up sequence up to `upto`, at
 * most `max` of them, from the event store and applies them. `*applied`
 * gets how many. 0, or the store's error. */
int ru_engine_catch_up(ru_engine_t *e, uint32_t hall, uint64_t upto, size_t max, size_t *applied);

/* Starts hall `hall` afresh (the rebuild): no saved state, nothing rolled
 * up before `first_seq`, the first event it will be given. */
int ru_engine_begin_hall(ru_engine_t *e, uint32_t hall, uint64_t first_seq);
/* Adds a whole cell to the pending changes at `key` (whatever the day
 * filter): the rebuild's months, summed from their days. */
int ru_engine_add_cell(ru_engine_t *e, const ru_key_t *key, const ru_cell_t *cell);

/* Events applied since the last commit, and changed cells held. */
uint64_t ru_engine_pending(const ru_engine_t *e);
size_t ru_engine_cells(const ru_engine_t *e);
bool ru_engine_full(const ru_engine_t *e);
/* Writes the pending changes in one transaction (growing the map when it
 * fills); `save_all` saves every loaded hall's fold state too. `now_ms`
 * decides which days are over (a change to one is a revision). On
 * failure nothing is written and the changes stay pending. */
int ru_engine_commit(ru_engine_t *e, int64_t now_ms, bool save_all);

void ru_engine_get_stats(const ru_engine_t *e, ru_engine_stats_t *out);

#endif
