/* HQ's event and hall-record storage (layout in hqstore.h). Reading, and
 * at open the fold of what the commit log holds unfolded; otherwise the
 * writer's threads (writer.c, hqlog.c) are the one place that writes. */
#include "hqstore.h"

#include "hqlog.h"

#include "hallbus/error.h"
#include "hallbus/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The log's map at start, at most (it grows like the store's, from the
 * store's starting size when that is smaller), and the commits one fold at
 * open takes. */
#define HQ_LOG_MAP_START ((size_t)64 << 20)
#define HQ_OPEN_FOLD_ENTRIES 4096

/* Folds what a crash left in the log, oldest first, and trims it. */
static int s_fold_left(hq_store_t *st, const char *dir)
{
    hq_log_entry_t **v = malloc(HQ_OPEN_FOLD_ENTRIES * sizeof *v);
    if (!v)
        return HB_ENOMEM;
    int rc = 0;
    uint64_t total = 0;
    size_t n;
    while (rc == 0 && (n = hq_log_unfolded(st->log, v, HQ_OPEN_FOLD_ENTRIES)) > 0) {
        rc = hq_log_fold(st, v, n);
        if (rc == 0) {
            uint64_t events = 0;
            for (size_t i = 0; i < n; i++)
                events += v[i]->events;
            total += events;
            hq_log_mark_folded(st->log, v[n - 1]->id, 0, events);
        }
    }
    free(v);
    if (rc == 0)
        rc = hq_log_trim(st->log);
    if (rc == 0 && total)
        hb_info("hqstore: %s: folded %llu acknowledged event(s) the commit log held", dir,
                (unsigned long long)total);
    return rc;
}

int hq_store_open(hq_store_t *st, const char *dir, size_t map_size, size_t map_max)
{
    memset(st, 0, sizeof *st);
    int rc = hb_store_open(&st->store, dir, map_size, map_max, 8);
    if (rc != 0)
        return rc;
    const hb_store_db_t dbs[] = {
        {"events", &st->events}, {"halls", &st->halls}, {"meta", &st->meta}, {"flags", &st->flags}};
    if (hb_store_dbis(&st->store, dbs, 4) != 0) {
        hb_error("hqstore: cannot open the databases in %s", dir);
        hb_store_close(&st->store);
        return HB_EDB;
    }
    char log_dir[4096];
    if ((size_t)snprintf(log_dir, sizeof log_dir, "%s/log", dir) >= sizeof log_dir) {
        hb_store_close(&st->store);
        return HB_ETOOBIG;
    }
    rc = hq_log_open(log_dir, map_size < HQ_LOG_MAP_START ? map_size : HQ_LOG_MAP_START, map_max,
                     hq_log_folded_mark(st), &st->log);
    if (rc == 0)
        rc = s_fold_left(st, dir);
    if (rc != 0) {
        hb_error("hqstore: cannot open or fold the commit log in %s: %s", log_dir, hb_strerror(rc));
        hq_store_close(st);
        return rc;
    }
    return 0;
}

void hq_store_close(hq_store_t *st)
{
    hq_log_close(&st->log);
    hb_store_close(&st->store);
}

void hq_hall_record_encode(const hq_hall_record_t *rec, uint8_t out[HQ_HALL_RECORD_BYTES])
{
    uint8_t *p = out;
    /* Still marked 1: the anomaly counts follow the first fields, and
     * release 0.1.0's reader, which wants a 1 and reads only those fields,
     * takes the record whole. HQ can so be rolled back onto its data
     * (docs/UPGRADING.md). */
    *p++ = 1;
    hb_put_be32(p, rec->num);
    p += 4;
    hb_put_be64(p, rec->last_seq);
    p += 8;
    hb_put_be64(p, rec->events);
    p += 8;
    memcpy(p, rec->digest.bytes, HB_DIGEST_LEN);
    p += HB_DIGEST_LEN;
    hb_put_be64(p, (uint64_t)rec->last_commit_ms);
    p += 8;
    hb_put_be64(p, rec->anomalies);
    p += 8;
    hb_put_be64(p, rec->last_anomaly_seq);
    p += 8;
    hb_put_be64(p, (uint64_t)rec->last_anomaly_ms);
}

int hq_hall_record_decode(const char *id, size_t id_len, const uint8_t *data, size_t len,
                          hq_hall_record_t *out)
{
    if (len < 1 || id_len == 0 || id_len >= HB_HALL_ID_MAX)
        return HB_EPARSE;
    /* 2 marked the longer record in builds between the releases. */
    if (!(data[0] == 1 && len >= HQ_HALL_RECORD_V1_BYTES) &&
        !(data[0] == 2 && len >= HQ_HALL_RECORD_BYTES))
        return HB_EPARSE;
    memset(out, 0, sizeof *out);
    memcpy(out->id, id, id_len);
    const uint8_t *p = data + 1;
    out->num = hb_get_be32(p);
    p += 4;
    out->last_seq = hb_get_be64(p);
    p += 8;
    out->events = hb_get_be64(p);
    p += 8;
    memcpy(out->digest.bytes, p, HB_DIGEST_LEN);
    p += HB_DIGEST_LEN;
    out->last_commit_ms = (int64_t)hb_get_be64(p);
    p += 8;
    if (len >= HQ_HALL_RECORD_BYTES) {
        out->anomalies = hb_get_be64(p);
        out->last_anomaly_seq = hb_get_be64(p + 8);
        out->last_anomaly_ms = (int64_t)hb_get_be64(p + 16);
    }
    return 0;
}

size_t hq_flag_encode(const hq_flag_t *flag, int64_t stored_ms, uint8_t *out)
{
    size_t rlen = strnlen(flag->reason, HQ_FLAG_REASON_MAX - 1);
    out[0] = 1;
    out[1] = (uint8_t)flag->anomaly;
    hb_put_be64(out + 2, (uint64_t)stored_ms);
    memcpy(out + 10, flag->reason, rlen);
    return 10 + rlen;
}

static bool s_flag_decode(uint64_t seq, const MDB_val *v, hq_flag_t *out, int64_t *stored_ms)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 10 || p[0] != 1)
        return false;
    memset(out, 0, sizeof *out);
    out->seq = seq;
    out->anomaly = p[1];
    if (stored_ms)
        *stored_ms = (int64_t)hb_get_be64(p + 2);
    size_t rlen = v->mv_size - 10;
    if (rlen > HQ_FLAG_REASON_MAX - 1)
        rlen = HQ_FLAG_REASON_MAX - 1;
    memcpy(out->reason, p + 10, rlen);
    return true;
}

typedef struct one_flag {
    hq_flag_t *out;
    int64_t *stored_ms;
    bool found;
} one_flag_t;

static int s_one_flag(const hq_flag_t *flag, int64_t stored_ms, void *arg)
{
    one_flag_t *o = arg;
    *o->out = *flag;
    if (o->stored_ms)
        *o->stored_ms = stored_ms;
    o->found = true;
    return 1;
}

int hq_store_get_flag(hq_store_t *st, uint32_t num, uint64_t seq, hq_flag_t *out,
                      int64_t *stored_ms)
{
    one_flag_t o = {.out = out, .stored_ms = stored_ms};
    int rc = hq_store_read_flags(st, num, seq, seq, s_one_flag, &o);
    if (rc != 0)
        return rc;
    return o.found ? 0 : HB_ENOTFOUND;
}

/* Wraps a flag reader: notes the last flag's sequence and whether the
 * reader stopped, so that the log's tail goes on after it. */
typedef struct flag_wrap {
    hq_flag_fn fn;
    void *arg;
    uint64_t last;
    bool stopped;
} flag_wrap_t;

static int s_flag_wrap(const hq_flag_t *flag, int64_t stored_ms, void *arg)
{
    flag_wrap_t *w = arg;
    w->last = flag->seq;
    int rc = w->fn(flag, stored_ms, w->arg);
    w->stopped = rc != 0;
    return rc;
}

static int s_read_flags_main(hq_store_t *st, uint32_t num, uint64_t from, uint64_t to,
                             hq_flag_fn fn, void *arg);

int hq_store_read_flags(hq_store_t *st, uint32_t num, uint64_t from, uint64_t to, hq_flag_fn fn,
                        void *arg)
{
    hq_log_refs_t refs = {0};
    if (st->log && hq_log_ref_tail(st->log, &refs) != 0)
        return HB_ENOMEM;
    flag_wrap_t w = {.fn = fn, .arg = arg};
    int rc = s_read_flags_main(st, num, from, to, s_flag_wrap, &w);
    if (rc == 0 && !w.stopped && refs.n) {
        uint64_t after = w.last >= from ? w.last + 1 : from;
        if (after <= to)
            hq_log_read_flags(&refs, num, after, to, fn, arg);
    }
    if (st->log)
        hq_log_unref(st->log, &refs);
    return rc;
}

static int s_read_flags_main(hq_store_t *st, uint32_t num, uint64_t from, uint64_t to,
                             hq_flag_fn fn, void *arg)
{
    uint8_t key[12];
    hb_put_be32(key, num);
    hb_put_be64(key + 4, from);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    if (hb_store_read_begin(&st->store, &txn) != 0)
        return HB_EDB;
    int result = 0;
    if (mdb_cursor_open(txn, st->flags, &cur) != 0) {
        result = HB_EDB;
        goto out;
    }
    MDB_val k = {12, key}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == 12 && hb_get_be32(k.mv_data) == num) {
        uint64_t seq = hb_get_be64((const uint8_t *)k.mv_data + 4);
        if (seq > to)
            break;
        hq_flag_t flag;
        int64_t stored = 0;
        if (s_flag_decode(seq, &v, &flag, &stored) && fn(&flag, stored, arg) != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        result = HB_EDB;
out:
    hb_store_read_end(&st->store, txn, cur);
    return result;
}

int hq_store_load_halls(hq_store_t *st, hq_hall_fn fn, void *arg, uint32_t *next_num)
{
    MDB_txn *txn;
    int result = 0;
    if (hb_store_read_begin(&st->store, &txn) != 0)
        return HB_EDB;
    uint32_t next = 1;
    MDB_val k = {9, "next_hall"}, v;
    if (mdb_get(txn, st->meta, &k, &v) == 0 && v.mv_size == 4)
        next = hb_get_be32(v.mv_data);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, st->halls, &cur) == 0) {
        int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (rc == 0) {
            hq_hall_record_t rec;
            if (hq_hall_record_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &rec) == 0) {
                fn(&rec, arg);
                if (rec.num >= next)
                    next = rec.num + 1;
            } else {
                hb_error("hqstore: a hall record does not decode; skipped");
                result = HB_EPARSE;
            }
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    hb_store_read_end(&st->store, txn, NULL);
    *next_num = next;
    return result;
}

int hq_chunk_open(hq_chunk_t *c, const uint8_t *p, size_t len)
{
    if (len < 4)
        return -1;
    *c = (hq_chunk_t){.p = p, .len = len, .off = 4, .n = hb_get_be32(p)};
    return 0;
}

int hq_chunk_next(hq_chunk_t *c, const uint8_t **ev, uint32_t *elen)
{
    if (c->i == c->n)
        return 0;
    if (c->off + 4 > c->len)
        return -1;
    uint32_t n = hb_get_be32(c->p + c->off);
    c->off += 4;
    if (c->off + n > c->len)
        return -1;
    *ev = c->p + c->off;
    *elen = n;
    c->off += n;
    c->i++;
    return 1;
}

int hq_chunk_walk(uint64_t first, const uint8_t *p, size_t len, uint64_t from, size_t limit,
                  size_t *count, hq_event_fn fn, void *arg)
{
    hq_chunk_t c;
    if (hq_chunk_open(&c, p, len) != 0)
        return -1;
    const uint8_t *ev;
    uint32_t elen;
    int more;
    while ((more = hq_chunk_next(&c, &ev, &elen)) > 0) {
        uint64_t seq = first + c.i - 1;
        if (seq < from)
            continue;
        if (*count >= limit || fn(seq, ev, elen, arg) != 0)
            return 1;
        (*count)++;
    }
    return more;
}

/* Wraps an event reader: notes the last sequence read from the per-hall
 * layout, so that the log's tail goes on after it. */
typedef struct event_wrap {
    hq_event_fn fn;
    void *arg;
    uint64_t last;
} event_wrap_t;

static int s_event_wrap(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    event_wrap_t *w = arg;
    w->last = seq;
    return w->fn(seq, data, len, w->arg);
}

static int s_read_events_main(hq_store_t *st, uint32_t num, uint64_t from, size_t limit,
                              size_t *count, hq_event_fn fn, void *arg, bool *stopped);

int hq_store_read_events(hq_store_t *st, uint32_t num, uint64_t from, size_t limit, hq_event_fn fn,
                         void *arg)
{
    /* The tail is referenced before the snapshot begins (hqlog.h says
     * why that misses nothing). */
    hq_log_refs_t refs = {0};
    if (st->log && hq_log_ref_tail(st->log, &refs) != 0)
        return HB_ENOMEM;
    event_wrap_t w = {.fn = fn, .arg = arg};
    size_t count = 0;
    bool stopped = false;
    int rc = s_read_events_main(st, num, from, limit, &count, s_event_wrap, &w, &stopped);
    if (rc == 0 && !stopped && count < limit && refs.n) {
        uint64_t after = w.last >= from ? w.last + 1 : from;
        if (hq_log_read_events(&refs, num, after, limit, &count, fn, arg) < 0) {
            hb_error("hqstore: a logged chunk of hall %u is damaged", num);
            rc = HB_EDB;
        }
    }
    if (st->log)
        hq_log_unref(st->log, &refs);
    return rc;
}

static int s_read_events_main(hq_store_t *st, uint32_t num, uint64_t from, size_t limit,
                              size_t *countp, hq_event_fn fn, void *arg, bool *stopped)
{
    MDB_txn *txn;
    if (hb_store_read_begin(&st->store, &txn) != 0)
        return HB_EDB;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, st->events, &cur) != 0) {
        hb_store_read_end(&st->store, txn, NULL);
        return HB_EDB;
    }
    uint8_t key[12];
    hb_put_be32(key, num);
    hb_put_be64(key + 4, from);
    MDB_val k = {12, key}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    /* The chunk holding `from` may start before it: step back one. */
    if (rc != 0 || k.mv_size != 12 || memcmp(k.mv_data, key, 12) != 0) {
        MDB_val pk, pv;
        int prc = rc == 0 ? mdb_cursor_get(cur, &pk, &pv, MDB_PREV)
                          : mdb_cursor_get(cur, &pk, &pv, MDB_LAST);
        if (prc == 0 && pk.mv_size == 12 && hb_get_be32(pk.mv_data) == num) {
            k = pk;
            v = pv;
            rc = 0;
        } else {
            k.mv_size = 12;
            k.mv_data = key;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        }
    }
    size_t count = 0;
    int result = 0;
    while (rc == 0 && k.mv_size == 12 && hb_get_be32(k.mv_data) == num && count < limit) {
        int w = hq_chunk_walk(hb_get_be64((const uint8_t *)k.mv_data + 4), v.mv_data, v.mv_size,
                              from, limit, &count, fn, arg);
        if (w < 0) {
            hb_error("hqstore: a stored chunk of hall %u is damaged", num);
            result = HB_EDB;
            break;
        }
        if (w > 0) {
            *stopped = true;
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    hb_store_read_end(&st->store, txn, cur);
    *countp = count;
    return result;
}
