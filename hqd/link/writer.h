/* HQ's writer: the one thread that writes events to LMDB, so the loop that
 * talks to halls never waits for a disk. Batches queue up while a commit
 * syncs and go into the next transaction together (group commit), which
 * appends them to the commit log (hqlog.h: each event written once); each
 * hall's cumulative ack is sent only after the log's commit holding its
 * events returns. A second thread folds logged commits into the per-hall
 * layout (hqstore.h) at most every fold_ms, in larger transactions.
 *
 * The queue is bounded (events and bytes): when it is full, submit says
 * HB_EAGAIN and the ingest tells the hall to retry later. The writer keeps
 * its own copy of each hall's durable state (last seq, count, digest) and
 * hands the new values back to the loop after each commit. */
#ifndef HQD_WRITER_H
#define HQD_WRITER_H

#include "hqstore.h"
#include "hallbus/metrics.h"

#include <stdint.h>
#include <uv.h>

typedef struct hq_writer hq_writer_t;

/* One batch of consecutive events of one hall. `data` holds the chunk in
 * hqstore's format ([u32 count] then [u32 len][bytes] per event). */
typedef struct hq_write_item {
    struct hq_write_item *next;
    uint32_t hall_num;
    char hall_id[HB_HALL_ID_MAX];
    uint64_t first_seq;
    uint32_t count;
    /* Events of the batch stored with a flag (eventrules.h), in sequence
     * order; they live in the item's own allocation. */
    uint32_t n_flags;
    hq_flag_t *flags;
    /* When the commit that stored the batch returned (hb_mono_ns), set
     * before the sink gets it, for the lag of what reads committed batches
     * (the mirror, the rollups). 0 before. */
    int64_t committed_ns;
    size_t len;
    uint8_t data[]; /* len bytes */
} hq_write_item_t;

/* What one commit changed for one hall, or that it failed (ok false: the
 * events were not stored and must be sent again). */
typedef struct hq_commit {
    uint32_t hall_num;
    bool ok;
    union { /* the hall's tally as the commit left it */
        hq_tally_t tally;
        struct {
            HQ_TALLY_MEMBERS
        };
    };
} hq_commit_t;

typedef void (*hq_commit_fn)(const hq_commit_t *commits, size_t n, void *arg);

typedef struct hq_writer_stats {
    uint64_t commits;
    uint64_t events;
    uint64_t failures;
    uint64_t queued_events;
    uint64_t queued_bytes;
    double last_commit_ms; /* duration of the last commit, sync included */
    double max_commit_ms;
    double total_commit_ms; /* sum over all commits, for the average */
    /* The commit log: what is logged and not folded yet, and the fold. */
    uint64_t log_entries, log_events, log_bytes, log_max_bytes;
    uint64_t folds, folded_events, fold_failures;
    double last_fold_ms, max_fold_ms;
    uint64_t log_full_waits; /* times the writer waited for the fold */
} hq_writer_stats_t;

/* The fold's defaults: a fold at most every 200 ms, sooner when 16 MiB
 * wait; past 256 MiB unfolded the writer waits for the fold. */
#define HQ_FOLD_MS_DEFAULT 200
#define HQ_FOLD_BYTES_DEFAULT ((uint64_t)16 << 20)
#define HQ_LOG_MAX_BYTES_DEFAULT ((uint64_t)256 << 20)

/* Starts the thread. `records`, `n` are the halls' durable state at start.
 * `on_commit` runs on `loop`'s thread. */
int hq_writer_start(hq_store_t *st, uv_loop_t *loop, const hq_hall_record_t *records, size_t n,
                    uint32_t next_num, size_t max_queue_bytes, hq_commit_fn on_commit, void *arg,
                    hq_writer_t **out);
/* Sets the fold's interval, the unfolded bytes that start a fold sooner,
 * and the log's bound (0 keeps a default). Call before the first submit. */
void hq_writer_set_fold(hq_writer_t *w, int fold_ms, uint64_t fold_bytes, uint64_t log_max_bytes);
/* Allocates an item with room for `len` bytes of chunk data and `n_flags`
 * flags (`flags` points at them; 0 leaves it NULL). One free() frees it. */
hq_write_item_t *hq_write_item_new(size_t len, uint32_t n_flags);
/* Frees a list of items linked by `next` (NULL: none), as a sink that
 * stops with batches not taken yet does. */
void hq_write_items_free(hq_write_item_t *items);
/* A first-in first-out list of items, under its owner's lock: the
 * writer's queue, the mirror's and the rollups'. */
typedef struct hq_write_queue {
    hq_write_item_t *head, *tail;
} hq_write_queue_t;
/* Appends the list `items` (linked by `next`, the last's NULL; NULL:
 * nothing) at the queue's end. */
void hq_write_queue_put(hq_write_queue_t *q, hq_write_item_t *items);
/* Takes every item queued, oldest first; NULL when there is none. */
hq_write_item_t *hq_write_queue_take(hq_write_queue_t *q);
/* Queues an item (taking ownership, *item set NULL). HB_EAGAIN when the
 * queue is full (the item stays the caller's). */
int hq_writer_submit(hq_writer_t *w, hq_write_item_t **item);
void hq_writer_get_stats(hq_writer_t *w, hq_writer_stats_t *out);
/* The durations of the writer's commits (sync included, failed ones too),
 * in seconds, for /metrics; lives as long as the writer. */
const hb_histogram_t *hq_writer_commit_histogram(const hq_writer_t *w);
/* Where committed batches go after their commit (the live mirror), in
 * commit order, as one list per commit linked by `next`; `fn` takes
 * ownership and runs on the writer thread. Without a sink they are freed.
 * Set it before the first submit. Batches that were not stored never reach
 * the sink. */
typedef void (*hq_items_fn)(hq_write_item_t *items, void *arg);
void hq_writer_set_sink(hq_writer_t *w, hq_items_fn fn, void *arg);
/* Commits what is queued, folds what the log holds, stops the threads, and
 * frees `*w` after its async handle is closed (run the loop to finish). */
void hq_writer_stop(hq_writer_t **w);

#endif
