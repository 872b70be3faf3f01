/* LMDB helpers shared by the outbox (branchd) and HQ's store: opening an
 * environment with stale-reader cleanup, growing the map when it fills, and
 * big-endian keys so that a range of sequence numbers is one ordered range.
 *
 * Growth follows LMDB's rule that mdb_env_set_mapsize() needs no transaction
 * open in the process: callers that read from other threads take the
 * environment's read lock (hb_store_read_lock) around their read
 * transactions; hb_store_grow() takes it exclusively. */
#ifndef HALLBUS_STORE_H
#define HALLBUS_STORE_H

#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* The map's settings as both daemons' tables have them: rows for the
 * fields map_size and map_max of the settings struct `type_s` (config.h's
 * HB_CONF_ROW; the sizes in its units), each daemon with its own defaults
 * and ceilings. */
#define HB_STORE_CONF_ROWS(type_s, size_def, size_hi, max_def, max_hi)                             \
    HB_CONF_ROW(type_s, "map_size", HB_CONF_SIZE, map_size, size_def, 65536, size_hi, false,       \
                "initial LMDB map size (grows when full)"),                                        \
        HB_CONF_ROW(type_s, "map_max", HB_CONF_SIZE, map_max, max_def, 65536, max_hi, false,       \
                    "the LMDB map never grows past this")

/* The fields HB_STORE_CONF_ROWS fills, declared in the settings struct. */
#define HB_STORE_CONF_FIELDS                                                                       \
    uint64_t map_size;                                                                             \
    uint64_t map_max

typedef struct hb_store {
    MDB_env *env;
    size_t map_size; /* current map size in bytes */
    size_t map_max;  /* never grow past this */
    pthread_rwlock_t resize_lock;
    uint64_t grow_count;       /* how many times the map grew */
    int stale_readers_at_open; /* reader slots of dead processes cleared at open */
} hb_store_t;

/* Opens (creating) the directory `dir` as an LMDB environment with up to
 * `max_dbs` named databases and an initial map of `map_size` bytes, clears
 * readers left by dead processes, and logs how many. Default sync: every
 * commit is durable before it returns. */
int hb_store_open(hb_store_t *store, const char *dir, size_t map_size, size_t map_max,
                  unsigned max_dbs);
void hb_store_close(hb_store_t *store);
/* A named database and where its handle goes. */
typedef struct hb_store_db {
    const char *name;
    MDB_dbi *dbi;
} hb_store_db_t;
/* Opens (creating) the `n` databases in one transaction; HB_EDB when one
 * cannot be, and then none is opened. */
int hb_store_dbis(hb_store_t *store, const hb_store_db_t *dbs, size_t n);
/* Doubles the map (up to map_max). Call with no transaction open in this
 * thread; waits for other threads' readers. HB_EMAPFULL at the maximum. */
int hb_store_grow(hb_store_t *store);
/* Clears stale readers; returns how many were cleared (>= 0) or HB_EDB. */
int hb_store_reader_check(hb_store_t *store);
/* Bytes used by the data file. */
uint64_t hb_store_size(hb_store_t *store);

void hb_store_read_lock(hb_store_t *store);
void hb_store_read_unlock(hb_store_t *store);
/* Takes the read lock and begins a read-only transaction in *txn: 0, or
 * HB_EDB with the lock given back. End it with hb_store_read_end. */
int hb_store_read_begin(hb_store_t *store, MDB_txn **txn);
/* Closes `cur` (when not NULL), aborts `txn` and gives the read lock back. */
void hb_store_read_end(hb_store_t *store, MDB_txn *txn, MDB_cursor *cur);
/* Reads `klen` bytes of `key` from `dbi` into *v: 0, HB_ENOTFOUND when the
 * key is absent, HB_EDB when LMDB failed otherwise. */
int hb_store_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *v);
/* Ends a write transaction by how its work went: commits it when `rc` is 0
 * and gives the commit's result (an LMDB code), aborts it otherwise and
 * gives `rc` back. The one way every store here ends a write. */
int hb_store_txn_end(MDB_txn *txn, int rc);
/* Deletes `klen` bytes of `key` from `dbi` in a write transaction of its
 * own: 0 when it is gone (or was never there), HB_EDB otherwise. */
int hb_store_del(hb_store_t *store, MDB_dbi dbi, const void *key, size_t klen);

/* Big-endian encoding for keys. */
static inline void hb_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}
static inline uint64_t hb_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static inline void hb_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t hb_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
