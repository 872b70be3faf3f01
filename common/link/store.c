/* LMDB environment handling shared by branchd's outbox and hqd's store:
 * open with stale-reader cleanup, map growth on MDB_MAP_FULL. The databases
 * inside and what they hold are the caller's business. */
#include "hallbus/store.h"
#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/log.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int hb_store_open(hb_store_t *store, const char *dir, size_t map_size, size_t map_max,
                  unsigned max_dbs)
{
    memset(store, 0, sizeof *store);
    if (hb_mkdir_p(dir, 0750) != 0) {
        hb_error("store: cannot create %s: %s", dir, strerror(errno));
        return HB_EIO;
    }
    int rc = mdb_env_create(&store->env);
    if (rc != 0)
        return HB_EDB;
    if (map_max < map_size)
        map_max = map_size;
    /* An existing environment may be larger than the configured start size
     * (it grew before); LMDB keeps the larger of the two. */
    rc = mdb_env_set_mapsize(store->env, map_size);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(store->env, max_dbs);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(store->env, 256);
    /* MDB_NOTLS: read transactions are used from more than one thread and
     * are not tied to thread-local reader slots. No MDB_NOSYNC: a commit is
     * durable before it returns, which is what acknowledgements promise. */
    if (rc == 0)
        rc = mdb_env_open(store->env, dir, MDB_NOTLS, 0640);
    if (rc != 0) {
        hb_error("store: cannot open %s: %s", dir, mdb_strerror(rc));
        mdb_env_close(store->env);
        store->env = NULL;
        return HB_EDB;
    }
    MDB_envinfo info;
    mdb_env_info(store->env, &info);
    store->map_size = info.me_mapsize;
    store->map_max = map_max > store->map_size ? map_max : store->map_size;
    pthread_rwlock_init(&store->resize_lock, NULL);
    int dead = 0;
    mdb_reader_check(store->env, &dead);
    store->stale_readers_at_open = dead;
    if (dead > 0)
        hb_warn("store: %s: cleared %d reader slot(s) left by dead processes", dir, dead);
    return 0;
}

int hb_store_dbis(hb_store_t *store, const hb_store_db_t *dbs, size_t n)
{
    MDB_txn *txn;
    if (mdb_txn_begin(store->env, NULL, 0, &txn) != 0)
        return HB_EDB;
    for (size_t i = 0; i < n; i++) {
        if (mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi) != 0) {
            mdb_txn_abort(txn);
            return HB_EDB;
        }
    }
    return mdb_txn_commit(txn) == 0 ? 0 : HB_EDB;
}

void hb_store_close(hb_store_t *store)
{
    if (!store->env)
        return;
    mdb_env_close(store->env);
    store->env = NULL;
    pthread_rwlock_destroy(&store->resize_lock);
}

int hb_store_grow(hb_store_t *store)
{
    if (store->map_size >= store->map_max)
        return HB_EMAPFULL;
    size_t next = store->map_size * 2;
    if (next > store->map_max)
        next = store->map_max;
    pthread_rwlock_wrlock(&store->resize_lock);
    int rc = mdb_env_set_mapsize(store->env, next);
    pthread_rwlock_unlock(&store->resize_lock);
    if (rc != 0) {
        hb_error("store: cannot grow map to %zu bytes: %s", next, mdb_strerror(rc));
        return HB_EDB;
    }
    hb_info("store: map grown from %zu to %zu bytes", store->map_size, next);
    store->map_size = next;
    store->grow_count++;
    return 0;
}

int hb_store_reader_check(hb_store_t *store)
{
    int dead = 0;
    if (mdb_reader_check(store->env, &dead) != 0)
        return HB_EDB;
    if (dead > 0)
        hb_warn("store: cleared %d stale reader slot(s)", dead);
    return dead;
}

uint64_t hb_store_size(hb_store_t *store)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(store->env, &info) != 0 || mdb_env_stat(store->env, &st) != 0)
        return 0;
    return (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}

void hb_store_read_lock(hb_store_t *store) { pthread_rwlock_rdlock(&store->resize_lock); }
void hb_store_read_unlock(hb_store_t *store) { pthread_rwlock_unlock(&store->resize_lock); }

int hb_store_read_begin(hb_store_t *store, MDB_txn **txn)
{
    hb_store_read_lock(store);
    if (mdb_txn_begin(store->env, NULL, MDB_RDONLY, txn) != 0) {
        hb_store_read_unlock(store);
        return HB_EDB;
    }
    return 0;
}

void hb_store_read_end(hb_store_t *store, MDB_txn *txn, MDB_cursor *cur)
{
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    hb_store_read_unlock(store);
}

int hb_store_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *v)
{
    /* LMDB does not write through a key's data; the cast only meets its
     * signature. */
    MDB_val k = {klen, (void *)key};
    int rc = mdb_get(txn, dbi, &k, v);
    return rc == MDB_NOTFOUND ? HB_ENOTFOUND : rc != 0 ? HB_EDB : 0;
}

int hb_store_txn_end(MDB_txn *txn, int rc)
{
    if (rc == 0)
        return mdb_txn_commit(txn);
    mdb_txn_abort(txn);
    return rc;
}

int hb_store_del(hb_store_t *store, MDB_dbi dbi, const void *key, size_t klen)
{
    MDB_txn *txn;
    if (mdb_txn_begin(store->env, NULL, 0, &txn) != 0)
        return HB_EDB;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn, dbi, &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return HB_EDB;
    }
    return mdb_txn_commit(txn) == 0 ? 0 : HB_EDB;
}
