/* Unit tests of common/link/store.c's helpers on a real LMDB file:
 * hb_store_read_begin/hb_store_read_end hold and give back the resize lock
 * around a read-only transaction, hb_store_get maps LMDB's answers to
 * hallbus codes, hb_store_del deletes in a transaction of its own, and
 * hb_store_txn_end commits or aborts by the work's result. The
 * stores' own formats are tested with their modules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include "harness.h"

#include "hallbus/error.h"
#include "hallbus/store.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static hbt_tmpdir_t s_tmp = {.tag = "store"};
#define HBT_FIXTURE hbt_tmpdir_setup, hbt_tmpdir_teardown, &s_tmp

/* A store with one database `kv` holding "k1" -> "v1". */
static void s_open(hb_store_t *st, MDB_dbi *dbi)
{
    assert_int_equal(hb_store_open(st, s_tmp.path, 1u << 20, 1u << 22, 2), 0);
    hb_store_db_t db = {"kv", dbi};
    assert_int_equal(hb_store_dbis(st, &db, 1), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
    MDB_val k = {2, "k1"}, v = {2, "v1"};
    assert_int_equal(mdb_put(txn, *dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* The resize lock is held for reading while a read is open: a writer (what
 * hb_store_grow takes) cannot have it then, and can once the read ended. */
HBT_TEST(test_read_begin_end_hold_the_lock)
{
    hb_store_t st;
    MDB_dbi dbi;
    s_open(&st, &dbi);
    MDB_txn *txn = NULL;
    assert_int_equal(hb_store_read_begin(&st, &txn), 0);
    assert_non_null(txn);
    assert_int_equal(pthread_rwlock_trywrlock(&st.resize_lock), EBUSY);
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    hb_store_read_end(&st, txn, cur);
    assert_int_equal(pthread_rwlock_trywrlock(&st.resize_lock), 0);
    pthread_rwlock_unlock(&st.resize_lock);
    /* Without a cursor too. */
    assert_int_equal(hb_store_read_begin(&st, &txn), 0);
    hb_store_read_end(&st, txn, NULL);
    assert_int_equal(pthread_rwlock_trywrlock(&st.resize_lock), 0);
    pthread_rwlock_unlock(&st.resize_lock);
    hb_store_close(&st);
}

/* hb_store_get and hb_store_del, one row after the other on the same
 * database: what each answers, the value a get finds. A delete is in a
 * transaction of its own; deleting a key that is gone or never was is no
 * error. */
HBT_TEST(test_get_and_del)
{
    hb_store_t st;
    MDB_dbi dbi;
    s_open(&st, &dbi);
    enum { GET, DEL };
    static const struct {
        int op;
        const char *key;
        int rc;
        const char *value;
    } rows[] = {
        {GET, "k1", 0, "v1"},            /* there */
        {GET, "k2", HB_ENOTFOUND, NULL}, /* never there */
        {GET, "k", HB_ENOTFOUND, NULL},  /* a prefix is not the key */
        {DEL, "k1", 0, NULL},            /* there */
        {GET, "k1", HB_ENOTFOUND, NULL}, /* gone after the delete */
        {DEL, "k1", 0, NULL},            /* gone already */
        {DEL, "k9", 0, NULL},            /* never there */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *key = rows[i].key;
        int rc;
        if (rows[i].op == DEL) {
            rc = hb_store_del(&st, dbi, key, strlen(key));
        } else {
            MDB_txn *txn;
            MDB_val v;
            assert_int_equal(hb_store_read_begin(&st, &txn), 0);
            rc = hb_store_get(txn, dbi, key, strlen(key), &v);
            /* The value lives in the map only while the transaction does. */
            if (rc == 0 && rows[i].value &&
                (v.mv_size != strlen(rows[i].value) ||
                 memcmp(v.mv_data, rows[i].value, v.mv_size) != 0))
                fail_msg("row %zu (get %s): %.*s, not %s", i, key, (int)v.mv_size,
                         (const char *)v.mv_data, rows[i].value);
            hb_store_read_end(&st, txn, NULL);
        }
        if (rc != rows[i].rc)
            fail_msg("row %zu (%s %s): %d, not %d", i, rows[i].op == DEL ? "del" : "get", key, rc,
                     rows[i].rc);
    }
    /* A handle no database was opened as: LMDB refuses it (EINVAL), and
     * that is a store failure, not a missing key. */
    assert_int_equal(hb_store_del(&st, dbi + 100, "k1", 2), HB_EDB);
    MDB_txn *txn;
    MDB_val v;
    assert_int_equal(hb_store_read_begin(&st, &txn), 0);
    assert_int_equal(hb_store_get(txn, dbi + 100, "k1", 2, &v), HB_EDB);
    hb_store_read_end(&st, txn, NULL);
    hb_store_close(&st);
}

/* hb_store_txn_end: a write whose work went well is committed and stays; one
 * whose work failed is aborted, leaves nothing, and its own code comes back
 * (not the abort's). */
HBT_TEST(test_txn_end_commits_or_aborts)
{
    hb_store_t st;
    MDB_dbi dbi;
    s_open(&st, &dbi);
    static const struct {
        const char *key;
        int work_rc; /* what the transaction's work answered */
        int want_rc; /* what hb_store_txn_end gives back */
        int want_get;
    } rows[] = {
        {"ok", 0, 0, 0},                                   /* committed: there */
        {"bad", MDB_MAP_FULL, MDB_MAP_FULL, HB_ENOTFOUND}, /* aborted: gone */
        {"oops", HB_EINVAL, HB_EINVAL, HB_ENOTFOUND},      /* ours, kept */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        MDB_txn *txn;
        assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
        MDB_val k = {strlen(rows[i].key), (void *)rows[i].key}, v = {1, "x"};
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
        int rc = hb_store_txn_end(txn, rows[i].work_rc);
        if (rc != rows[i].want_rc)
            fail_msg("row %zu (%s): ended with %d, not %d", i, rows[i].key, rc, rows[i].want_rc);
        assert_int_equal(hb_store_read_begin(&st, &txn), 0);
        MDB_val got;
        rc = hb_store_get(txn, dbi, rows[i].key, strlen(rows[i].key), &got);
        hb_store_read_end(&st, txn, NULL);
        if (rc != rows[i].want_get)
            fail_msg("row %zu (%s): read back %d, not %d", i, rows[i].key, rc, rows[i].want_get);
    }
    hb_store_close(&st);
}
