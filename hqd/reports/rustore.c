/* The rollups' LMDB layout (see rustore.h): opening, record encodings and
 * the reads that queries make. Writes are the rollup thread's. */
#include "rustore.h"

#include "hist.h"

#include "hallbus/error.h"
#include "hallbus/log.h"

#include <string.h>

int ru_store_open(ru_store_t *st, const char *dir, size_t map_size, size_t map_max)
{
    memset(st, 0, sizeof *st);
    int rc = hb_store_open(&st->store, dir, map_size, map_max, 8);
    if (rc != 0)
        return rc;
    MDB_txn *txn;
    if (mdb_txn_begin(st->store.env, NULL, 0, &txn) != 0)
        goto fail;
    if (mdb_dbi_open(txn, "cells", MDB_CREATE, &st->cells) != 0 ||
        mdb_dbi_open(txn, "heads", MDB_CREATE, &st->heads) != 0 ||
        mdb_dbi_open(txn, "folds", MDB_CREATE, &st->folds) != 0 ||
        mdb_dbi_open(txn, "days", MDB_CREATE, &st->days) != 0 ||
        mdb_dbi_open(txn, "revised", MDB_CREATE, &st->revised) != 0 ||
        mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta) != 0) {
        mdb_txn_abort(txn);
        goto fail;
    }
    if (mdb_txn_commit(txn) != 0)
        goto fail;
    return 0;
fail:
    hb_error("rollups: cannot open the databases in %s", dir);
    hb_store_close(&st->store);
    return HB_EDB;
}

void ru_store_close(ru_store_t *st) { hb_store_close(&st->store); }

size_t ru_head_encode(const ru_head_t *h, uint8_t *out)
{
    size_t o = 0;
    out[o++] = 1;
    o += ru_varint_put(out + o, h->rolled);
    o += ru_varint_put(out + o, h->state);
    size_t n = strnlen(h->tz, HB_TZ_NAME_MAX - 1);
    memcpy(out + o, h->tz, n);
    return o + n;
}

int ru_head_decode(const void *data, size_t len, ru_head_t *out)
{
    const uint8_t *p = data, *end = p + len;
    memset(out, 0, sizeof *out);
    if (len < 1 || *p++ != 1 || !ru_varint_get(&p, end, &out->rolled) ||
        !ru_varint_get(&p, end, &out->state) || out->state > out->rolled ||
        (size_t)(end - p) >= HB_TZ_NAME_MAX)
        return HB_EPARSE;
    memcpy(out->tz, p, (size_t)(end - p));
    return 0;
}

int ru_store_get_head(MDB_txn *txn, const ru_store_t *st, uint32_t hall, ru_head_t *out)
{
    uint8_t k[4];
    hb_put_be32(k, hall);
    MDB_val v;
    int rc = hb_store_get(txn, st->heads, k, sizeof k, &v);
    return rc ? rc : ru_head_decode(v.mv_data, v.mv_size, out);
}

void ru_dayidx_key(uint32_t hall, int32_t day, uint8_t out[8])
{
    hb_put_be32(out, hall);
    hb_put_be32(out + 4, (uint32_t)day ^ 0x80000000u);
}

int ru_dayidx_decode(const void *data, size_t len, ru_dayidx_t *out)
{
    const uint8_t *p = data, *end = p + len;
    if (!ru_varint_get(&p, end, &out->first) || !ru_varint_get(&p, end, &out->last) ||
        !ru_varint_get(&p, end, &out->events) || p != end || out->first > out->last)
        return HB_EPARSE;
    return 0;
}

size_t ru_dayidx_encode(const ru_dayidx_t *d, uint8_t *out)
{
    size_t o = ru_varint_put(out, d->first);
    o += ru_varint_put(out + o, d->last);
    return o + ru_varint_put(out + o, d->events);
}

int ru_revision_decode(const void *data, size_t len, ru_revision_t *out)
{
    const uint8_t *p = data, *end = p + len;
    uint64_t at;
    if (!ru_varint_get(&p, end, &at) || !ru_varint_get(&p, end, &out->times) || p != end)
        return HB_EPARSE;
    out->at_ms = (int64_t)at;
    return 0;
}

size_t ru_revision_encode(const ru_revision_t *r, uint8_t *out)
{
    size_t o = ru_varint_put(out, (uint64_t)r->at_ms);
    return o + ru_varint_put(out + o, r->times);
}

int ru_store_cell_add(MDB_txn *txn, const ru_store_t *st, const ru_key_t *key, ru_cell_t *dst)
{
    uint8_t k[RU_KEY_MAX];
    MDB_val kv = {ru_key_encode(key, k), k}, v;
    int rc = mdb_get(txn, st->cells, &kv, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return HB_EDB;
    return ru_cell_add_encoded(dst, v.mv_data, v.mv_size);
}

int ru_store_cells_each(MDB_txn *txn, const ru_store_t *st, uint32_t hall, int level,
                        int32_t period, ru_cell_fn fn, void *arg)
{
    uint8_t prefix[RU_KEY_PREFIX];
    ru_key_prefix(hall, level, period, prefix);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, st->cells, &cur) != 0)
        return HB_EDB;
    MDB_val k = {sizeof prefix, prefix}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), result = 0;
    while (rc == 0 && k.mv_size > RU_KEY_PREFIX && memcmp(k.mv_data, prefix, RU_KEY_PREFIX) == 0) {
        ru_key_t key;
        if (ru_key_decode(k.mv_data, k.mv_size, &key) == 0) {
            result = fn(&key, v.mv_data, v.mv_size, arg);
            if (result != 0)
                break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (result == 0 && rc != 0 && rc != MDB_NOTFOUND)
        result = HB_EDB;
    mdb_cursor_close(cur);
    return result;
}

static int s_get8(MDB_txn *txn, MDB_dbi dbi, uint32_t hall, int32_t day, MDB_val *v)
{
    uint8_t k[8];
    ru_dayidx_key(hall, day, k);
    return hb_store_get(txn, dbi, k, sizeof k, v);
}

int ru_store_get_day(MDB_txn *txn, const ru_store_t *st, uint32_t hall, int32_t day,
                     ru_dayidx_t *out)
{
    MDB_val v;
    int rc = s_get8(txn, st->days, hall, day, &v);
    return rc ? rc : ru_dayidx_decode(v.mv_data, v.mv_size, out);
}

int ru_store_get_revision(MDB_txn *txn, const ru_store_t *st, uint32_t hall, int32_t day,
                          ru_revision_t *out)
{
    MDB_val v;
    int rc = s_get8(txn, st->revised, hall, day, &v);
    return rc ? rc : ru_revision_decode(v.mv_data, v.mv_size, out);
}

int ru_store_read_begin(ru_store_t *st, MDB_txn **txn)
{
    return hb_store_read_begin(&st->store, txn);
}

void ru_store_read_end(ru_store_t *st, MDB_txn *txn) { hb_store_read_end(&st->store, txn, NULL); }
