/* The alerts of every hall: the open ones in memory, listed and filtered
 * fast for the API and the dashboard, and every alert raised, open or
 * cleared, as history in an LMDB environment of its own (a folder such as
 * data/alerts), so that after any restart, kill -9 included, the open
 * alerts are exactly those of the last commit.
 *
 * hqd evaluates each hall (alerts_eval) and hands the set to
 * alertstore_apply, which diffs it against the hall's open alerts
 * (alerts_diff), gives each new alert the next id, and logs the raises and
 * clears; a batch (alertstore_batch_begin .. _commit) writes the log of
 * many halls in one synced transaction, so a pass over 10,000 halls costs
 * one commit. Layout of the environment:
 *   alerts:  id (BE u64) -> record (alertstore.c describes the bytes)
 *   by_time: (raised_ms biased BE u64, id BE u64) -> ""   history by time
 *   by_hall: (hall BE u32, raised_ms biased, id) -> ""     history of a hall
 *   open:    id (BE u64) -> ""                            alerts not cleared
 *   meta:    "next_id" -> BE u64
 * The history is bounded by age and count (alertstore_prune, a chore for
 * hqd's housekeeping timer); open alerts are never pruned.
 *
 * Threads: apply, the batch calls and prune come from one thread at a time
 * (hqd's evaluator); the queries may come from any thread at any time. Not
 * here: the rules (alerts.h), the HTTP routes and the stream (hqd's API). */
#ifndef HQD_ALERTSTORE_H
#define HQD_ALERTSTORE_H

#include "alerts.h"

#include "hallbus/ids.h" /* HB_HALL_ID_MAX */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERTSTORE_PAGE_MAX 1000           /* history entries in one answer */
#define ALERTSTORE_SCAN_MAX 100000         /* index entries one history call reads */
#define ALERT_CHANGES_MAX (2 * ALERTS_MAX) /* one hall: every open one cleared, as many raised */

typedef struct alertstore alertstore_t;

/* One alert as the history keeps it. */
typedef struct alert_record {
    uint64_t id; /* 1, 2, 3, ... in the order raised, never reused */
    uint32_t hall_num;
    char hall[HB_HALL_ID_MAX];
    /* kind, subject and since as raised; value, threshold and detail the
     * latest known (in memory while open; on disk as raised, then as at
     * the clear, so an open alert read back after a restart shows them as
     * raised until the next apply). */
    alert_t alert;
    int64_t peak; /* the largest value seen while open */
    int64_t raised_ms;
    int64_t cleared_ms; /* 0 while open */
} alert_record_t;

typedef enum alert_change_type {
    ALERT_CHANGE_RAISED = 1,
    ALERT_CHANGE_CLEARED = 2,
} alert_change_type_t;

typedef struct alert_change {
    int type; /* alert_change_type_t */
    alert_record_t rec;
} alert_change_t;

/* The changes of one hall in one apply, in key order. */
typedef struct alert_changes {
    size_t n;
    alert_change_t items[ALERT_CHANGES_MAX];
} alert_changes_t;

typedef struct alertstore_config {
    size_t map_size, map_max; /* LMDB map: first size and the most it may grow to, bytes */
    /* Cleared alerts whose clearing is older than this are pruned; 0 keeps
     * them whatever their age. */
    int64_t retention_ms;
    /* At most this many records are kept; past it the oldest cleared ones
     * go first. Open alerts count but are never pruned. */
    uint64_t retention_count;
    uint32_t halls_max; /* hall numbers 1..halls_max are accepted */
    size_t batch_max;   /* changes one batch holds before apply refuses */
} alertstore_config_t;

#define ALERTSTORE_RETENTION_DAYS_DEFAULT 400
#define ALERTSTORE_RETENTION_COUNT_DEFAULT 5000000
#define ALERTSTORE_HALLS_MAX_DEFAULT 1000000
#define ALERTSTORE_BATCH_MAX_DEFAULT 65536

void alertstore_config_default(alertstore_config_t *cfg);

typedef struct alertstore_stats {
    uint64_t open; /* open alerts of all halls */
    uint64_t open_by_kind[ALERT_KIND_LAST + 1];
    uint64_t halls_alerting; /* halls with at least one open alert */
    uint64_t records;        /* in the history, open ones included (as of the last commit) */
    uint64_t next_id;
    uint64_t raised, cleared; /* committed since open */
    uint64_t commits, commit_failures;
    uint64_t unraised; /* conditions not raised: their hall had ALERTS_MAX open */
    uint64_t dropped;  /* conditions past ALERTS_MAX in the sets applied */
    uint64_t pruned;
    uint64_t map_grows;
    uint64_t bad_records; /* records that did not decode (skipped) */
    double last_commit_ms, max_commit_ms;
} alertstore_stats_t;

/* Opens (creating) the environment in `dir` and loads the open alerts.
 * `cfg` may be NULL for the defaults. HB_EDB / HB_EIO / HB_ENOMEM with
 * `err` saying why. */
int alertstore_open(const char *dir, const alertstore_config_t *cfg, alertstore_t **out, char *err,
                    size_t errlen);
/* Drops a batch that was not committed, closes, frees; idempotent. */
void alertstore_close(alertstore_t **st);

/* ---- raising and clearing */

/* Starts collecting the changes of many applies for one commit. HB_ECONFLICT
 * when a batch is already open. */
int alertstore_batch_begin(alertstore_t *st);
/* Called once per change of a committed batch, in the order applied. */
typedef void (*alertstore_change_fn)(const alert_change_t *change, void *arg);
/* Writes the batch in one transaction (growing the map when it fills) and
 * then, only on success, calls `fn` (may be NULL) for each change. On
 * failure (HB_EDB, HB_EMAPFULL at map_max) nothing of the batch is stored
 * and the open alerts in memory are reloaded from the last commit. No batch
 * is open afterwards either way. An empty batch commits nothing. */
int alertstore_batch_commit(alertstore_t *st, alertstore_change_fn fn, void *arg);
/* Forgets the batch: memory goes back to the last commit. */
int alertstore_batch_abort(alertstore_t *st);

/* Diffs `set` (alerts_eval of hall `hall_num` at `now_ms`) against the
 * hall's open alerts: new keys are raised with the next ids, keys gone are
 * cleared, the others take the new value and detail. Inside a batch the
 * changes are pending until the commit; outside one this call is a batch
 * of its own. `changes` (may be NULL) receives this hall's changes, valid
 * once committed. HB_ERANGE for a hall number outside 1..halls_max,
 * HB_EINVAL for a hall id that is not 1..32 bytes, HB_ETOOBIG when the
 * batch has no room for this hall's changes (commit, begin again, retry:
 * nothing changed), HB_ENOMEM, or a commit's error. */
int alertstore_apply(alertstore_t *st, uint32_t hall_num, const char *hall_id,
                     const alert_set_t *set, int64_t now_ms, alert_changes_t *changes);

/* ---- open alerts */

typedef struct alertstore_filter {
    uint32_t hall_num; /* 0: every hall */
    int kind;          /* 0: every kind */
    /* NULL: every hall; else only halls it says yes to (a region, a tag).
     * Called under the store's read lock: it must not call the store. */
    bool (*hall_pred)(uint32_t hall_num, void *arg);
    void *pred_arg;
} alertstore_filter_t;

typedef int (*alertstore_record_fn)(const alert_record_t *rec, void *arg);
/* Open alerts matching `f` (NULL: all), by hall number then key; `fn`
 * returning non-zero stops the walk and is returned. `fn` runs under the
 * read lock: it must not call the store. */
int alertstore_open_each(alertstore_t *st, const alertstore_filter_t *f, alertstore_record_fn fn,
                         void *arg);
size_t alertstore_open_count(alertstore_t *st, const alertstore_filter_t *f);
/* {"alerts": [at most `limit` records], "count": matching, "truncated":
 * bool} (new reference in `*out`). HB_EINVAL for a limit of 0 or above
 * ALERTSTORE_PAGE_MAX, HB_ENOMEM. */
int alertstore_open_json(alertstore_t *st, const alertstore_filter_t *f, size_t limit,
                         json_t **out);

/* ---- history */

typedef struct alertstore_query {
    uint32_t hall_num; /* 0: every hall */
    int kind;          /* 0: every kind */
    int64_t from_ms;   /* raised at or after; 0: no start */
    int64_t to_ms;     /* raised before; 0: no end */
    uint64_t
        before_id; /* the page after a previous one: alerts listed after this id; 0 = first page */
    size_t limit;  /* 1..ALERTSTORE_PAGE_MAX */
    /* NULL: every hall; else only halls it says yes to (the caller's
     * scope), as alertstore_filter_t's. */
    bool (*hall_pred)(uint32_t hall_num, void *arg);
    void *pred_arg;
} alertstore_query_t;

/* Alerts raised in [from_ms, to_ms), newest first (by raising time, then
 * id), open and cleared ones alike. `*next_before` is the id to pass as
 * `before_id` for the next page, or 0 when there is no more. A call reads
 * at most ALERTSTORE_SCAN_MAX index entries (a rare kind over a long range)
 * and may return fewer than `limit` with a next page. HB_EINVAL with `err`
 * for a bad limit or range, HB_ENOTFOUND when `before_id` is not (or no
 * longer) stored, HB_EDB. */
int alertstore_history(alertstore_t *st, const alertstore_query_t *q, alertstore_record_fn fn,
                       void *arg, uint64_t *next_before, char *err, size_t errlen);
/* {"alerts": [...], "next_before": id or null} (new reference in `*out`). */
int alertstore_history_json(alertstore_t *st, const alertstore_query_t *q, json_t **out, char *err,
                            size_t errlen);
/* One stored alert by id (as last committed). HB_ENOTFOUND, HB_EDB. */
int alertstore_get(alertstore_t *st, uint64_t id, alert_record_t *out);

/* Housekeeping: clears stale reader slots, then deletes at most
 * `max_deletes` cleared alerts, those past the retention age and then the
 * oldest while there are more than retention_count, in one transaction.
 * `deleted` (may be NULL) says how many; call again while it equals
 * `max_deletes`. Not while a batch is open (HB_ECONFLICT). */
int alertstore_prune(alertstore_t *st, int64_t now_ms, size_t max_deletes, size_t *deleted);

void alertstore_get_stats(alertstore_t *st, alertstore_stats_t *out);

/* An alert as parameters (alert_kind_info): {"service": "A", "priority":
 * "vip", "wait_s": 1250, "limit_s": 900} for a wait_sla alert on "A:vip";
 * numbers are numbers (durations in seconds), ids are strings. New
 * reference, or NULL when out of memory. */
json_t *alert_params_json(const alert_t *a);

/* A record as the API shows it: {"id", "hall", "kind", "subject" (null for
 * a whole-hall kind), "detail", "value", "threshold", "unit", "severity"
 * (the kind's), "params" (alert_params_json), "peak",
 * "since" (RFC 3339 or null), "raised", "cleared" (or null), "open"}. New
 * reference, or NULL when out of memory. */
json_t *alert_record_json(const alert_record_t *rec);

#endif
