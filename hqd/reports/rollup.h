/* HQ's rollups: a thread of their own that folds every hall's committed
 * events into cells (ruengine.h, fold.h) and commits them to the rollups'
 * LMDB environment (rustore.h), never on the path of ingest: the writer
 * hands it copies of the batches it committed, into a queue bounded in
 * bytes; what does not fit is not waited for but read back from the event
 * store later, as is anything committed while hqd was down. Each hall's
 * last rolled-up sequence is written in the transaction that holds its
 * cells, so an event is counted exactly once whatever stops the process.
 *
 * The thread runs at nice 10 (Linux: its own nice value): under a burst
 * that takes every core, rollups fall behind and catch up after, rather
 * than slowing what halls are acknowledged (not SCHED_IDLE, which starved
 * hqd's stop: see rollup.c). Their lag is in the stats. It also does the data's
 * housekeeping (retention.h): pruning raw events past their retention,
 * never one not rolled up yet, and old rollups, in small transactions.
 *
 * Not here: queries (kpi.h), HTTP. */
#ifndef HQD_ROLLUP_H
#define HQD_ROLLUP_H

#include "ruengine.h"
#include "retention.h"
#include "rustore.h"

#include "hqstore.h"
#include "writer.h"
#include "hallbus/metrics.h"
#include "hallbus/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hq_rollup hq_rollup_t;

typedef struct hq_rollup_config {
    const char *dir;          /* the rollups' own LMDB folder */
    size_t map_size, map_max; /* its map: first size, largest */
    size_t max_queue_bytes;   /* copies of committed batches waiting, at most */
    int64_t commit_ms;        /* a commit at least this often while events wait */
    uint64_t snapshot_events; /* a hall's fold state is saved after this many events ... */
    int64_t snapshot_ms;      /* ... or this long */
    size_t max_cells;         /* changed cells held before a commit is due */
    bool low_priority;        /* nice 10 for the thread (see above) */
    /* Where each committed batch's lag is recorded once the fold holding it
     * has committed: seconds from the writer's commit (NULL: nowhere). */
    hb_histogram_t *lag;
    hq_retention_config_t retention;
} hq_rollup_config_t;

void hq_rollup_config_default(hq_rollup_config_t *cfg);

typedef struct hq_rollup_stats {
    ru_engine_stats_t engine;
    uint64_t offered_items, offered_events; /* batches the writer handed over */
    uint64_t dropped_items; /* ... that did not fit the queue (read from the store later) */
    uint64_t queued_bytes;
    uint64_t lag_events; /* events committed at HQ and not rolled up, as of the last commit */
    uint64_t halls_behind;
    bool catching_up;
    uint64_t policy_version; /* of the policy table in use */
    hq_retention_stats_t retention;
} hq_rollup_stats_t;

/* The halls' effective policies for the thread (zones and posted hours),
 * an immutable table by hall id built on the loop thread and handed over
 * whole: every hall the organisation places, and a default for the others
 * (the national policy), so that a hall's first events find its policy
 * whether or not it had connected when the table was built. Each distinct
 * policy is copied once. */
typedef struct hq_rollup_policies hq_rollup_policies_t;
hq_rollup_policies_t *hq_rollup_policies_new(void);
/* Hall `hall` runs `p` (copied; NULL: the default). 0, HB_ENOMEM. */
int hq_rollup_policies_set(hq_rollup_policies_t *t, const char *hall, const hb_policy_t *p);
/* What halls the table does not name run (copied). 0, HB_ENOMEM. */
int hq_rollup_policies_set_default(hq_rollup_policies_t *t, const hb_policy_t *p);
/* The published policy version the table holds, for /v1/status. */
void hq_rollup_policies_set_version(hq_rollup_policies_t *t, uint64_t version);
void hq_rollup_policies_destroy(hq_rollup_policies_t **t);
const hb_policy_t *hq_rollup_policies_get(const hq_rollup_policies_t *t, const char *hall);
/* The table of every hall of `ctl`'s organisation at its published
 * version, the national policy as default (on the control plane's thread).
 * NULL when out of memory. */
struct hq_control;
hq_rollup_policies_t *hq_rollup_policies_build(struct hq_control *ctl);

/* Opens the store in cfg->dir and starts the thread, which first catches
 * up every hall of `records` (their durable state) from the event store.
 * `policies` (taken, may be NULL) is the first table. */
int hq_rollup_start(hq_store_t *events, const hq_hall_record_t *records, size_t n,
                    const hq_rollup_config_t *cfg, hq_rollup_policies_t **policies,
                    hq_rollup_t **out);
/* Copies of committed batches (a list linked by `next`, in commit order),
 * as far as the queue has room; the rest is read from the store later.
 * The list stays the caller's. Thread-safe, never waits for the thread. */
void hq_rollup_offer(hq_rollup_t *r, const hq_write_item_t *items);
/* A new policy table (taken). */
void hq_rollup_set_policies(hq_rollup_t *r, hq_rollup_policies_t **policies);
/* Waits until everything offered or known is rolled up and committed
 * (tests, shutdown); false after `timeout_ms`. */
bool hq_rollup_flush(hq_rollup_t *r, int64_t timeout_ms);
/* Commits what is pending, saves every hall's fold state, stops, frees. */
void hq_rollup_stop(hq_rollup_t **r);

ru_store_t *hq_rollup_store(hq_rollup_t *r);
void hq_rollup_get_stats(hq_rollup_t *r, hq_rollup_stats_t *out);
/* A hall's committed last rolled-up sequence and zone are its head in
 * the store (rustore.h): read them there. */

#endif
