/* HQ's storage of every hall's event stream, on LMDB. Layout:
 *   events: (hall number BE u32, first seq BE u64) -> chunk of consecutive
 *           events, each as [u32 BE length][encoded Envelope as received]
 *   halls:  hall id -> hall record (number, last seq, events, digest, ...)
 *   meta:   "next_hall" -> BE u32
 *   flags:  (hall number BE u32, seq BE u64) -> the anomaly an event was
 *           stored with (eventrules.h): [u8 version 1][u8 anomaly]
 *           [i64 BE stored at, HQ's clock][reason text, no NUL]. Written in
 *           the transaction that stores the event.
 * A hall's stream is one ordered key range. Chunks (one per received batch,
 * or one for the consecutive batches of a hall that one commit takes, at
 * most 1,024 events; not one record per event) are what lets one synced
 * commit carry hundreds of thousands of events a second; a sequence is found
 * by seeking to the chunk whose first sequence is the largest not above it.
 * Readers take chunks of any size.
 *
 * The writer logs each commit first (hqlog.h) and folds logged commits into
 * these tables later; writes happen only on the writer's threads (writer.h)
 * and in hq_store_open; reads from any thread between
 * hb_store_read_lock/unlock. */
#ifndef HQD_HQSTORE_H
#define HQD_HQSTORE_H

#include "hallbus/digest.h"
#include "hallbus/ids.h" /* HB_HALL_ID_MAX */
#include "hallbus/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hall numbers run from 1 to HQ_HALLS_MAX (the alert store's default bound):
 * every table by hall number at HQ is bounded by it. */
#define HQ_HALLS_MAX 1000000

/* What HQ holds of a hall's stream as of a commit. The stored record, the
 * writer's copies and each commit's report carry it, named member by member
 * or copied whole (the `tally` of a union with the same members). */
#define HQ_TALLY_MEMBERS                                                                           \
    uint64_t last_seq; /* every event 1..last_seq is stored (or was, before retention) */          \
    uint64_t events;   /* events stored since enrolment */                                         \
    hb_digest_t digest;                                                                            \
    uint64_t anomalies; /* events stored with a flag */                                            \
    uint64_t last_anomaly_seq;                                                                     \
    int64_t last_anomaly_ms; /* HQ's clock when the last flagged event was stored */
typedef struct hq_tally {
    HQ_TALLY_MEMBERS
} hq_tally_t;

/* The durable part of a hall's state. */
typedef struct hq_hall_record {
    char id[HB_HALL_ID_MAX];
    uint32_t num;
    union {
        hq_tally_t tally;
        struct {
            HQ_TALLY_MEMBERS
        };
    };
    int64_t last_commit_ms; /* wall clock of the last commit with its events */
} hq_hall_record_t;

/* An event's flag: why it was stored as an anomaly. */
#define HQ_FLAG_REASON_MAX 160
typedef struct hq_flag {
    uint64_t seq;
    int anomaly; /* hb_anomaly_t */
    char reason[HQ_FLAG_REASON_MAX];
} hq_flag_t;

struct hq_log;

typedef struct hq_store {
    hb_store_t store;
    MDB_dbi events;
    MDB_dbi halls;
    MDB_dbi meta;
    MDB_dbi flags;
    /* The commit log in `dir`/log (hqlog.h): what the writer acknowledged
     * and has not folded into the tables above yet. */
    struct hq_log *log;
} hq_store_t;

/* Opens the store in `dir` and its commit log in `dir`/log (both created
 * when absent: a store of a release without the log opens with an empty
 * one), and folds what the log holds unfolded (left by a crash) before it
 * returns, so that the records and events read next are whole. */
int hq_store_open(hq_store_t *st, const char *dir, size_t map_size, size_t map_max);
void hq_store_close(hq_store_t *st);

/* Loads every hall record; calls `fn` for each (under a read transaction). */
typedef void (*hq_hall_fn)(const hq_hall_record_t *rec, void *arg);
int hq_store_load_halls(hq_store_t *st, hq_hall_fn fn, void *arg, uint32_t *next_num);

/* Calls `fn` for each stored event of hall `num` from `from` on, at most
 * `limit`, in sequence order. `data` is valid only during the call. Every
 * acknowledged event is read: those of the per-hall layout, then those of
 * the commit log not folded yet (hqlog.h). */
typedef int (*hq_event_fn)(uint64_t seq, const uint8_t *data, size_t len, void *arg);
int hq_store_read_events(hq_store_t *st, uint32_t num, uint64_t from, size_t limit, hq_event_fn fn,
                         void *arg);

/* The flag of event `seq` of hall `num`: 0 and `*out` filled, HB_ENOTFOUND
 * when the event was stored without one. `stored_ms` may be NULL. */
int hq_store_get_flag(hq_store_t *st, uint32_t num, uint64_t seq, hq_flag_t *out,
                      int64_t *stored_ms);
/* Calls `fn` for each flag of hall `num` with from <= seq <= to, in order
 * (the log's unfolded tail too, as hq_store_read_events).
 * `flag` is valid only during the call; a non-zero return stops. */
typedef int (*hq_flag_fn)(const hq_flag_t *flag, int64_t stored_ms, void *arg);
int hq_store_read_flags(hq_store_t *st, uint32_t num, uint64_t from, uint64_t to, hq_flag_fn fn,
                        void *arg);
/* Flag encoding, shared with the writer: returns the bytes written to `out`
 * (at most HQ_FLAG_BYTES_MAX). */
#define HQ_FLAG_BYTES_MAX (1 + 1 + 8 + HQ_FLAG_REASON_MAX)
size_t hq_flag_encode(const hq_flag_t *flag, int64_t stored_ms, uint8_t *out);

/* Record encoding, shared with the writer. The anomaly counts follow the
 * fields of release 0.1.0 under the same mark (1), so that its hqd reads
 * this record; a record of 0.1.0's length reads with them 0. */
#define HQ_HALL_RECORD_V1_BYTES (1 + 4 + 8 + 8 + HB_DIGEST_LEN + 8)
#define HQ_HALL_RECORD_BYTES (HQ_HALL_RECORD_V1_BYTES + 8 + 8 + 8)
void hq_hall_record_encode(const hq_hall_record_t *rec, uint8_t out[HQ_HALL_RECORD_BYTES]);
int hq_hall_record_decode(const char *id, size_t id_len, const uint8_t *data, size_t len,
                          hq_hall_record_t *out);

/* Reads one stored chunk ([u32 BE count] then the events, each
 * [u32 BE length][bytes]) event by event, for every reader of the format
 * (this store, retention). hq_chunk_open: 0, or -1 when `len` cannot hold
 * the count. hq_chunk_next: 1 with the next event in *ev, *elen (it is
 * event number c->i - 1 of the chunk), 0 after the last, -1 when a length
 * runs past the chunk. */
typedef struct hq_chunk {
    const uint8_t *p;
    size_t len, off;
    uint32_t n; /* events the chunk says it holds */
    uint32_t i; /* events read so far */
} hq_chunk_t;
int hq_chunk_open(hq_chunk_t *c, const uint8_t *p, size_t len);
int hq_chunk_next(hq_chunk_t *c, const uint8_t **ev, uint32_t *elen);

/* Calls `fn` with the events of the chunk `p`, `len` whose first event is
 * sequence `first`, from sequence `from` on, while `*count` (added to for
 * each) is below `limit`: 1 when `fn` or the limit stopped the walk, 0
 * after the chunk's last event, -1 when the chunk is damaged. The store's
 * per-hall layout and the commit log's tail read events with it. */
int hq_chunk_walk(uint64_t first, const uint8_t *p, size_t len, uint64_t from, size_t limit,
                  size_t *count, hq_event_fn fn, void *arg);

#endif
