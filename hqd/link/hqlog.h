/* HQ's commit log: the events of each writer commit appended once, in
 * commit order, to a small LMDB environment of their own (the data folder's
 * `log/`), so that the sync an ack waits for writes each event once instead
 * of one 4 KiB leaf per hall the commit touches. A later transaction folds
 * the logged commits into the per-hall layout (hqstore.h) and the log is
 * trimmed behind it. Not the per-hall layout and not a reader's API:
 * hq_store_read_events reads the log's unfolded tail through this module.
 *
 * Layout of the log environment: one database "log", key the commit's id
 * (BE u64, rising, written with MDB_APPEND), value
 *   [u8 1][i64 BE HQ's clock at the commit][u32 BE batches] then per batch
 *   [u32 BE hall number][u8 id length][id][u64 BE first seq]
 *   [u32 BE flags] each [u64 BE seq][u8 anomaly][u8 reason length][reason]
 *   [u32 BE chunk length][chunk in hqstore's format].
 * The main environment's meta table holds "log_folded" (BE u64): every
 * commit up to that id is in the per-hall layout, written by the fold's own
 * transaction, so a restart folds exactly the commits after it (a crash
 * between a log commit and its fold, or during a fold, loses and doubles
 * nothing).
 *
 * Threads: the writer thread appends (hq_log_append), the fold (writer.c's
 * second thread, or hq_store_open at start) folds; readers of any thread
 * see the unfolded tail (hq_log_read_events). The unfolded commits stay in
 * memory until folded: the writer bounds them (writer.h). */
#ifndef HQD_HQLOG_H
#define HQD_HQLOG_H

#include "hqstore.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One batch of one hall in a logged commit: a view into its entry. */
typedef struct hq_log_run {
    uint32_t hall_num;
    char hall_id[HB_HALL_ID_MAX];
    uint64_t first_seq;
    uint32_t count;
    uint32_t n_flags;
    hq_flag_t *flags;     /* in the entry's allocation */
    const uint8_t *chunk; /* in the entry's buffer: [u32 count] then [u32 len][bytes] */
    size_t len;
    bool has_tally;   /* false after a restart: the fold steps it from the record */
    hq_tally_t tally; /* the hall's tally after this batch */
} hq_log_run_t;

/* One logged commit. Its batches are in (hall, first seq) order. */
typedef struct hq_log_entry {
    struct hq_log_entry *next; /* the unfolded tail, in id order */
    uint64_t id;
    int64_t at_ms;
    int64_t logged_mono_ms; /* hb_mono_ms() when it joined the tail: its age */
    uint64_t events;
    size_t n_runs;
    hq_log_run_t *runs;
    uint8_t *buf; /* the value as logged */
    size_t len, used;
    int refs; /* under the log's lock: the tail's, and each reader's */
} hq_log_entry_t;

typedef struct hq_log hq_log_t;

/* What the log holds unfolded, and what it did. */
typedef struct hq_log_stats {
    uint64_t entries, events, bytes; /* unfolded now */
    uint64_t folded_id, next_id;
    uint64_t folds, folded_events, fold_failures;
    double last_fold_ms, max_fold_ms;
    uint64_t full_waits; /* times the writer waited for the fold (the bound) */
} hq_log_stats_t;

/* Bytes a batch takes in a logged commit's value. */
size_t hq_log_run_bytes(size_t id_len, const hq_flag_t *flags, uint32_t n_flags, size_t chunk_len);
/* A new entry with room for `n_runs` batches, `n_flags` flags in all, and
 * `len` bytes of value (the header's 13 included); NULL without memory. */
hq_log_entry_t *hq_log_entry_new(size_t n_runs, size_t n_flags, size_t len, int64_t at_ms);
/* Encodes one batch at the end of the entry (in (hall, seq) order). */
void hq_log_entry_add(hq_log_entry_t *e, uint32_t hall_num, const char *hall_id, uint64_t first_seq,
                      uint32_t count, const hq_flag_t *flags, uint32_t n_flags,
                      const uint8_t *chunk, size_t len, const hq_tally_t *tally);
void hq_log_entry_free(hq_log_entry_t *e);
/* Decodes a logged value (copied): 0 with *out, HB_EPARSE, HB_ENOMEM. */
int hq_log_entry_decode(uint64_t id, const uint8_t *p, size_t len, hq_log_entry_t **out);

/* Opens (creating) the log in `dir` and reads what it holds: commits up to
 * `folded_id` are trimmed, later ones become the unfolded tail (to fold
 * before anything reads the store). */
int hq_log_open(const char *dir, size_t map_size, size_t map_max, uint64_t folded_id,
                hq_log_t **out);
void hq_log_close(hq_log_t **log);

/* Writer thread: logs `e` as the next commit (its id set here) in one
 * synced transaction that also trims what was folded, and adds it to the
 * tail (the log takes it). 0, or an HB_E code (then `e` is still the
 * caller's and nothing was logged). */
int hq_log_append(hq_log_t *log, hq_log_entry_t *e);
/* Deletes the folded commits from the log in a transaction of its own. */
int hq_log_trim(hq_log_t *log);

/* The unfolded entries, oldest first, at most `max` (the fold's): the
 * entries stay in the tail until hq_log_mark_folded. */
size_t hq_log_unfolded(hq_log_t *log, hq_log_entry_t **out, size_t max);
/* After the fold's commit, which wrote "log_folded" = `upto`: the tail
 * drops the entries up to it. */
void hq_log_mark_folded(hq_log_t *log, uint64_t upto, double took_ms, uint64_t events);
void hq_log_fold_failed(hq_log_t *log);
/* Folds `n` entries (in id order) into the per-hall layout of `st` in one
 * transaction (grown when the map fills) that also writes "log_folded".
 * 0, or an HB_E code (nothing folded). */
int hq_log_fold(hq_store_t *st, hq_log_entry_t *const *entries, size_t n);
/* Steps a hall's tally over one batch (chunk in hqstore's format, its
 * flags, stored at `now_ms`): 0, or HB_EPARSE with `t` unchanged. The
 * writer and the fold after a restart use it. */
int hq_tally_step(hq_tally_t *t, const uint8_t *chunk, size_t len, uint32_t count,
                  const hq_flag_t *flags, uint32_t n_flags, int64_t now_ms);
/* The "log_folded" mark of the main environment (0 when there is none: a
 * store of a release without the log). */
uint64_t hq_log_folded_mark(hq_store_t *st);

/* Waits (on the log's condition, at most `ms`) for the unfolded bytes to be
 * at most `max_bytes`; true when they are. */
bool hq_log_wait_room(hq_log_t *log, uint64_t max_bytes, int ms);
/* Waits (at most `ms`) for a new entry; returns the unfolded entries' count
 * and the age of the oldest in ms on the monotonic clock (0 when none). */
size_t hq_log_wait_work(hq_log_t *log, int ms, bool *stopping, uint64_t *bytes,
                        int64_t *oldest_age_ms);
/* Wakes every waiter (the fold thread, a writer waiting for room). */
void hq_log_wake(hq_log_t *log);
void hq_log_get_stats(hq_log_t *log, hq_log_stats_t *out);
/* The unfolded commits' count. */
uint64_t hq_log_get_depth(hq_log_t *log);
void hq_log_note_full_wait(hq_log_t *log);

/* Calls `fn` for the unfolded events of hall `num` with seq >= `from`, in
 * order, while *count < limit (counting them); the entries are referenced,
 * not locked, during the calls. `refs` is what hq_log_ref_tail took. */
typedef struct hq_log_refs {
    hq_log_entry_t **v;
    size_t n;
} hq_log_refs_t;
/* References the current tail: 0 or HB_ENOMEM. Called before the main
 * read transaction begins: an entry the fold drops after this call is in
 * that transaction's snapshot (the fold drops entries only after its
 * commit), and one dropped before it was folded before the snapshot too.
 * Readers skip what they already read from the main layout. */
int hq_log_ref_tail(hq_log_t *log, hq_log_refs_t *refs);
void hq_log_unref(hq_log_t *log, hq_log_refs_t *refs);
int hq_log_read_events(const hq_log_refs_t *refs, uint32_t num, uint64_t from, size_t limit,
                       size_t *count, hq_event_fn fn, void *arg);
int hq_log_read_flags(const hq_log_refs_t *refs, uint32_t num, uint64_t from, uint64_t to,
                      hq_flag_fn fn, void *arg);

#endif
