/* The rollups' LMDB environment (a folder of its own, data/rollups, so
 * that its commits never wait behind the event writer's). Layout:
 *   cells:   cell key (cell.h) -> cell value
 *   heads:   hall BE u32 -> [u8 1][varint rolled][varint state][tz text]:
 *            every event 1..rolled of the hall is counted in the cells
 *            (written in the same transaction as the cells it changed, so
 *            an event is counted exactly once), and the fold state saved
 *            is the one after event `state` (state <= rolled)
 *   folds:   hall BE u32 -> the fold state after event `state` (fold.h)
 *   days:    (hall BE u32, local day biased BE u32) -> [varint first seq]
 *            [varint last seq][varint events]: where a local day's events
 *            lie in the hall's stream (for the archive and retention)
 *   revised: (hall BE u32, local day biased BE u32) -> [varint revised at
 *            ms][varint times]: events counted after the day had ended
 *   meta:    small records of housekeeping (retention's progress)
 * Written only by the rollup thread (rollup.h) or `hqd rollups rebuild`;
 * read from any thread between hb_store_read_lock/unlock. */
#ifndef HQD_RU_STORE_H
#define HQD_RU_STORE_H

#include "cell.h"

#include "hallbus/store.h"
#include "hallbus/tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ru_store {
    hb_store_t store;
    MDB_dbi cells, heads, folds, days, revised, meta;
} ru_store_t;

/* Opens (creating) the environment in `dir`. 0, HB_EDB, HB_EIO. */
int ru_store_open(ru_store_t *st, const char *dir, size_t map_size, size_t map_max);
void ru_store_close(ru_store_t *st);

typedef struct ru_head {
    uint64_t rolled, state;
    char tz[HB_TZ_NAME_MAX];
} ru_head_t;

#define RU_HEAD_MAX (1 + 10 + 10 + HB_TZ_NAME_MAX)
size_t ru_head_encode(const ru_head_t *h, uint8_t *out);
int ru_head_decode(const void *data, size_t len, ru_head_t *out);
/* 0 and `*out`, HB_ENOTFOUND (no head: nothing rolled up), HB_EDB/EPARSE. */
int ru_store_get_head(MDB_txn *txn, const ru_store_t *st, uint32_t hall, ru_head_t *out);

typedef struct ru_dayidx {
    uint64_t first, last, events;
} ru_dayidx_t;
void ru_dayidx_key(uint32_t hall, int32_t day, uint8_t out[8]);
int ru_dayidx_decode(const void *data, size_t len, ru_dayidx_t *out);
size_t ru_dayidx_encode(const ru_dayidx_t *d, uint8_t *out); /* 30 bytes at most */

typedef struct ru_revision {
    int64_t at_ms;
    uint64_t times;
} ru_revision_t;
int ru_revision_decode(const void *data, size_t len, ru_revision_t *out);
size_t ru_revision_encode(const ru_revision_t *r, uint8_t *out); /* 20 bytes at most */

/* ---- reads, inside the caller's read transaction */

/* Adds the cell at `key` to `dst`: 0 (also when there is none), HB_EPARSE,
 * HB_ENOMEM, HB_EDB. */
int ru_store_cell_add(MDB_txn *txn, const ru_store_t *st, const ru_key_t *key, ru_cell_t *dst);
/* Calls `fn` for every cell of (hall, level, period), in key order (the
 * hall's total first). `value` is valid during the call; a non-zero
 * return stops and is returned. */
typedef int (*ru_cell_fn)(const ru_key_t *key, const uint8_t *value, size_t len, void *arg);
int ru_store_cells_each(MDB_txn *txn, const ru_store_t *st, uint32_t hall, int level,
                        int32_t period, ru_cell_fn fn, void *arg);
/* The day index of (hall, day): 0, HB_ENOTFOUND, HB_EDB/EPARSE. */
int ru_store_get_day(MDB_txn *txn, const ru_store_t *st, uint32_t hall, int32_t day,
                     ru_dayidx_t *out);
int ru_store_get_revision(MDB_txn *txn, const ru_store_t *st, uint32_t hall, int32_t day,
                          ru_revision_t *out);

/* A read transaction under the environment's read lock, and its end. */
int ru_store_read_begin(ru_store_t *st, MDB_txn **txn);
void ru_store_read_end(ru_store_t *st, MDB_txn *txn);

#endif
