/* The data's life at HQ: raw events are kept `retention_raw`, rollups
 * `retention_rollups`, and pruned in small transactions by the rollup
 * thread, off the path of ingest. A raw event is deleted only when it is
 * older than its retention AND its hall's rolled-up, saved state is past
 * it (so a restart never needs it); a chunk (one stored batch) goes whole,
 * judged by its newest event. Also: how full the disk is, for /v1/status,
 * /metrics and the disk_nearly_full alert.
 *
 * Each step is bounded (chunks or records per transaction) and returns
 * whether the hall is done, so the caller interleaves them with its work. */
#ifndef HQD_RETENTION_H
#define HQD_RETENTION_H

#include "rustore.h"

#include "hqstore.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hq_retention_config {
    int64_t raw_ms;     /* raw events kept this long (0: for ever) */
    int64_t rollups_ms; /* rollups kept this long (0: for ever) */
    int64_t every_ms;   /* a pass over every hall starts this often */
    size_t per_txn;     /* chunks or records deleted per transaction, at most */
} hq_retention_config_t;

#define HQ_RETENTION_RAW_DEFAULT_MS (400LL * 86400000)
#define HQ_RETENTION_ROLLUPS_DEFAULT_MS (3653LL * 86400000) /* ten years */

typedef struct hq_retention_stats {
    bool running;
    int64_t pass_started_ms, pass_finished_ms; /* wall clock; 0: never */
    uint64_t passes;
    uint32_t pass_hall, pass_halls;                         /* progress of the running pass */
    uint64_t chunks_deleted, events_deleted, bytes_deleted; /* raw, ever */
    uint64_t cells_deleted;                                 /* rollups (cells, day records), ever */
    uint64_t held_back;                                     /* old chunks kept: not rolled up yet */
    uint64_t failures;
} hq_retention_stats_t;

typedef struct hq_prune_step {
    size_t chunks, events, bytes, held_back;
    bool done; /* nothing more to delete in this hall now */
} hq_prune_step_t;

/* Deletes at most `max` of hall `hall`'s oldest chunks whose newest event
 * is before `cutoff_ms` and whose last sequence is at most `safe_seq`,
 * with their flags, in one transaction (under the store's read lock, so a
 * growing map waits for it). 0, or HB_EDB (nothing deleted). */
int hq_prune_raw(hq_store_t *st, uint32_t hall, uint64_t safe_seq, int64_t cutoff_ms, size_t max,
                 hq_prune_step_t *out);
/* Deletes at most `max` of hall `hall`'s cells, day records and revisions
 * of days before `cutoff_day` (months wholly before it). 0 or HB_EDB. */
int hq_prune_rollups(ru_store_t *st, uint32_t hall, int32_t cutoff_day, size_t max,
                     hq_prune_step_t *out);

/* The file system of `dir`: bytes in all, bytes free to an unprivileged
 * writer. 0 or HB_EIO. */
int hq_disk_space(const char *dir, uint64_t *total, uint64_t *avail);

#endif
