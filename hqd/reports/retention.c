/* Pruning (see retention.h). Raw chunks are keyed (hall, first seq), so a
 * hall's oldest are the first keys of its range; a chunk's newest event is
 * its last, whose time is read from its bytes. */
#include "retention.h"

#include "hallbus/error.h"
#include "hallbus/log.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

static bool s_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Envelope.at_ms (field 2, a varint) read from the encoded bytes, without
 * decoding the event: -1 when it is not there or the bytes do not read. */
static int64_t s_at_ms(const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t tag, v;
        if (!s_varint(&p, end, &tag))
            return -1;
        switch (tag & 7) {
        case 0:
            if (!s_varint(&p, end, &v))
                return -1;
            if (tag >> 3 == 2)
                return (int64_t)v;
            break;
        case 1: p += 8; break;
        case 2:
            if (!s_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return -1;
            p += v;
            break;
        case 5: p += 4; break;
        default: return -1;
        }
    }
    return -1;
}

/* The time of a chunk's newest event (hall clocks and late events make
 * the last one not always the newest), or -1 when the chunk does not
 * read. */
static int64_t s_chunk_newest(const uint8_t *p, size_t len, uint32_t *count)
{
    hq_chunk_t c;
    if (hq_chunk_open(&c, p, len) != 0)
        return -1;
    int64_t newest = -1;
    const uint8_t *ev;
    uint32_t elen;
    int more;
    while ((more = hq_chunk_next(&c, &ev, &elen)) > 0) {
        int64_t at = s_at_ms(ev, elen);
        if (at < 0)
            return -1; /* unreadable: kept */
        if (at > newest)
            newest = at;
    }
    if (more < 0)
        return -1;
    *count = c.n;
    return c.n ? newest : -1;
}

/* Whether the hall's oldest chunk is due, in a read transaction: most
 * halls have nothing to prune at most passes, and a read does not take
 * the writer's lock. */
static bool s_first_due(hq_store_t *st, uint32_t hall, uint64_t safe_seq, int64_t cutoff_ms,
                        hq_prune_step_t *out)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    bool due = false;
    if (mdb_txn_begin(st->store.env, NULL, MDB_RDONLY, &txn) != 0)
        return false;
    if (mdb_cursor_open(txn, st->events, &cur) == 0) {
        uint8_t key[12];
        hb_put_be32(key, hall);
        hb_put_be64(key + 4, 0);
        MDB_val k = {12, key}, v;
        if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size == 12 &&
            hb_get_be32(k.mv_data) == hall) {
            uint32_t count = 0;
            int64_t newest = s_chunk_newest(v.mv_data, v.mv_size, &count);
            uint64_t first = hb_get_be64((const uint8_t *)k.mv_data + 4);
            due = newest >= 0 && newest < cutoff_ms;
            if (due && first + count - 1 > safe_seq) {
                out->held_back++;
                due = false;
            }
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return due;
}

int hq_prune_raw(hq_store_t *st, uint32_t hall, uint64_t safe_seq, int64_t cutoff_ms, size_t max,
                 hq_prune_step_t *out)
{
    memset(out, 0, sizeof *out);
    out->done = true;
    hb_store_read_lock(&st->store);
    if (!s_first_due(st, hall, safe_seq, cutoff_ms, out)) {
        hb_store_read_unlock(&st->store);
        return 0;
    }
    MDB_txn *txn;
    if (mdb_txn_begin(st->store.env, NULL, 0, &txn) != 0) {
        hb_store_read_unlock(&st->store);
        return HB_EDB;
    }
    MDB_cursor *cur = NULL, *fcur = NULL;
    int rc = mdb_cursor_open(txn, st->events, &cur);
    if (rc == 0)
        rc = mdb_cursor_open(txn, st->flags, &fcur);
    uint8_t key[12];
    hb_put_be32(key, hall);
    hb_put_be64(key + 4, 0);
    MDB_val k = {12, key}, v;
    int g = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : rc;
    while (rc == 0 && g == 0 && k.mv_size == 12 && hb_get_be32(k.mv_data) == hall) {
        if (out->chunks >= max) {
            out->done = false;
            break;
        }
        uint64_t first = hb_get_be64((const uint8_t *)k.mv_data + 4);
        uint32_t count = 0;
        int64_t newest = s_chunk_newest(v.mv_data, v.mv_size, &count);
        if (newest < 0 || newest >= cutoff_ms)
            break; /* the oldest left is young enough (or unreadable: kept) */
        if (first + count - 1 > safe_seq) {
            out->held_back++;
            break; /* not rolled up (or not in a saved state) yet */
        }
        size_t bytes = v.mv_size;
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        /* Its flags. */
        uint8_t fk[12];
        hb_put_be32(fk, hall);
        hb_put_be64(fk + 4, first);
        MDB_val fkv = {12, fk}, fv;
        int fg = mdb_cursor_get(fcur, &fkv, &fv, MDB_SET_RANGE);
        while (fg == 0 && fkv.mv_size == 12 && hb_get_be32(fkv.mv_data) == hall &&
               hb_get_be64((const uint8_t *)fkv.mv_data + 4) < first + count) {
            rc = mdb_cursor_del(fcur, 0);
            if (rc != 0)
                break;
            fg = mdb_cursor_get(fcur, &fkv, &fv, MDB_GET_CURRENT);
            if (fg == MDB_NOTFOUND || (fg == 0 && fkv.mv_size != 12))
                fg = mdb_cursor_get(fcur, &fkv, &fv, MDB_NEXT);
        }
        out->chunks++;
        out->events += count;
        out->bytes += bytes;
        /* After a delete the cursor sits on the next record. */
        g = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
        if (g == MDB_NOTFOUND)
            g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (fcur)
        mdb_cursor_close(fcur);
    if (cur)
        mdb_cursor_close(cur);
    if (rc == 0 && out->chunks)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    hb_store_read_unlock(&st->store);
    if (rc != 0) {
        memset(out, 0, sizeof *out);
        return HB_EDB;
    }
    return 0;
}

/* Deletes keys of `dbi` from `lo` while they start with `prefix_len` bytes
 * of `lo` and sort before `hi`. */
static int s_delete_range(MDB_txn *txn, MDB_dbi dbi, const uint8_t *lo, size_t lo_len,
                          size_t prefix_len, const uint8_t *hi, size_t hi_len, size_t max,
                          size_t *deleted)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur) != 0)
        return EIO;
    MDB_val k = {lo_len, (void *)lo}, v;
    int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), rc = 0;
    while (g == 0 && *deleted < max && k.mv_size >= prefix_len &&
           memcmp(k.mv_data, lo, prefix_len) == 0) {
        size_t n = k.mv_size < hi_len ? k.mv_size : hi_len;
        int c = memcmp(k.mv_data, hi, n);
        if (c > 0 || (c == 0 && k.mv_size >= hi_len))
            break;
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        (*deleted)++;
        g = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
        if (g == MDB_NOTFOUND)
            g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc;
}

int hq_prune_rollups(ru_store_t *st, uint32_t hall, int32_t cutoff_day, size_t max,
                     hq_prune_step_t *out)
{
    memset(out, 0, sizeof *out);
    hb_store_read_lock(&st->store);
    MDB_txn *txn;
    if (mdb_txn_begin(st->store.env, NULL, 0, &txn) != 0) {
        hb_store_read_unlock(&st->store);
        return HB_EDB;
    }
    size_t deleted = 0;
    uint8_t lo[RU_KEY_PREFIX], hi[RU_KEY_PREFIX];
    /* Day cells before the cutoff, month cells of months ending before it. */
    ru_key_prefix(hall, RU_LEVEL_DAY, INT32_MIN, lo);
    ru_key_prefix(hall, RU_LEVEL_DAY, cutoff_day, hi);
    int rc = s_delete_range(txn, st->cells, lo, sizeof lo, 5, hi, sizeof hi, max, &deleted);
    int32_t cutoff_month = ru_month_of_day(cutoff_day);
    ru_key_prefix(hall, RU_LEVEL_MONTH, INT32_MIN, lo);
    ru_key_prefix(hall, RU_LEVEL_MONTH, cutoff_month, hi);
    if (rc == 0)
        rc = s_delete_range(txn, st->cells, lo, sizeof lo, 5, hi, sizeof hi, max, &deleted);
    uint8_t dlo[8], dhi[8];
    ru_dayidx_key(hall, INT32_MIN, dlo);
    ru_dayidx_key(hall, cutoff_day, dhi);
    if (rc == 0)
        rc = s_delete_range(txn, st->days, dlo, 8, 4, dhi, 8, max, &deleted);
    if (rc == 0)
        rc = s_delete_range(txn, st->revised, dlo, 8, 4, dhi, 8, max, &deleted);
    if (rc == 0 && deleted)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    hb_store_read_unlock(&st->store);
    if (rc != 0)
        return HB_EDB;
    out->chunks = deleted;
    out->done = deleted < max;
    return 0;
}

int hq_disk_space(const char *dir, uint64_t *total, uint64_t *avail)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) != 0)
        return HB_EIO;
    *total = (uint64_t)sv.f_blocks * sv.f_frsize;
    *avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    return 0;
}
