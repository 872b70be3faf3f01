/* HQ's storage of every hall's event stream, on LMDB. Layout:
 *   events: (hall number BE u32, first seq BE u64) -> chunk of consecutive
 *           events, each as [u32 BE length][encoded Envelope as received]
 *   halls:  hall id -> hall record (number, last seq, events, digest, ...)
 *   meta:   "next_hall" -> BE u32
 * A hall's stream is one ordered key range. Chunks (one per received batch,
 * not one record per event) are what lets one synced commit carry hundreds of
 * thousands of events a second; a sequence is found by seeking to the chunk
 * whose first sequence is the largest not above it.
 *
 * Writes happen only on the writer thread (writer.h); reads from any thread
 * between hb_store_read_lock/unlock. */
#ifndef HQD_HQSTORE_H
#define HQD_HQSTORE_H

#include "hallbus/digest.h"
#include "hallbus/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_HALL_ID_MAX 33

/* The durable part of a hall's state. */
typedef struct hq_hall_record {
    char id[HQ_HALL_ID_MAX];
    uint32_t num;
    uint64_t last_seq; /* every event 1..last_seq is stored (or was, before retention) */
    uint64_t events;   /* events stored since enrolment */
    hb_digest_t digest;
    int64_t last_commit_ms; /* wall clock of the last commit with its events */
} hq_hall_record_t;

typedef struct hq_store {
    hb_store_t store;
    MDB_dbi events;
    MDB_dbi halls;
    MDB_dbi meta;
} hq_store_t;

int hq_store_open(hq_store_t *st, const char *dir, size_t map_size, size_t map_max);
void hq_store_close(hq_store_t *st);

/* Loads every hall record; calls `fn` for each (under a read transaction). */
typedef void (*hq_hall_fn)(const hq_hall_record_t *rec, void *arg);
int hq_store_load_halls(hq_store_t *st, hq_hall_fn fn, void *arg, uint32_t *next_num);

/* Calls `fn` for each stored event of hall `num` from `from` on, at most
 * `limit`. `data` is valid only during the call. */
typedef int (*hq_event_fn)(uint64_t seq, const uint8_t *data, size_t len, void *arg);
int hq_store_read_events(hq_store_t *st, uint32_t num, uint64_t from, size_t limit,
                         hq_event_fn fn, void *arg);

/* Record encoding, shared with the writer. */
#define HQ_HALL_RECORD_BYTES (1 + 4 + 8 + 8 + HB_DIGEST_LEN + 8)
void hq_hall_record_encode(const hq_hall_record_t *rec, uint8_t out[HQ_HALL_RECORD_BYTES]);
int hq_hall_record_decode(const char *id, size_t id_len, const uint8_t *data, size_t len,
                          hq_hall_record_t *out);

#endif
