/* The outbox on LMDB. Databases:
 *   events:  seq (big-endian u64) -> encoded Envelope, exactly as sent to HQ
 *   meta:    "last_seq", "acked_seq", "digest"
 *   records: the hall's side state by name (outbox_record_t), written in the
 *            same transactions as the events they go with
 * last_seq and digest change in the same transaction as the events, so the
 * numbering and the digest survive any crash together with the events. */
#include "outbox.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/store.h"
#include "hallbus/time.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

struct outbox {
    hb_store_t store;
    MDB_dbi events;
    MDB_dbi meta;
    MDB_dbi records;
    uint64_t keep_after; /* events after this are never pruned */
    uint64_t last_seq;
    uint64_t acked_seq;
    uint64_t acked_durable; /* acked_seq as last written to disk */
    uint64_t first_seq;
    hb_digest_t digest;
    /* Time of the oldest acknowledged event that was too young to prune at
     * the last flush: no need to look again before the cutoff passes it. */
    int64_t prune_blocked_until;
    hb_histogram_t commit_seconds; /* outbox_append_with's commits */
    outbox_space_t space;
    /* Events staged for the next outbox_commit_staged: numbered after
     * last_seq and encoded, back to back in `stage` (grown up to
     * OUTBOX_STAGE_BYTES), each one's end in `stage_end`. */
    uint8_t *stage;
    size_t stage_cap, stage_used, n_staged;
    size_t stage_end[OUTBOX_STAGE_EVENTS];
};

static int s_meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc != 0 || v.mv_size != 8)
        return HB_EDB;
    *out = hb_get_be64(v.mv_data);
    return 0;
}

static int s_meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t value)
{
    uint8_t buf[8];
    hb_put_be64(buf, value);
    MDB_val k = {strlen(name), (void *)name}, v = {8, buf};
    return mdb_put(txn, dbi, &k, &v, 0);
}

static int s_load(outbox_t *ob)
{
    const hb_store_db_t dbs[] = {
        {"events", &ob->events}, {"meta", &ob->meta}, {"records", &ob->records}};
    MDB_txn *txn;
    if (hb_store_dbis(&ob->store, dbs, 3) != 0 || mdb_txn_begin(ob->store.env, NULL, 0, &txn) != 0)
        return HB_EDB;
    if (s_meta_get_u64(txn, ob->meta, "last_seq", &ob->last_seq) != 0 ||
        s_meta_get_u64(txn, ob->meta, "acked_seq", &ob->acked_seq) != 0)
        goto fail;
    MDB_val k = {6, "digest"}, v;
    int rc = mdb_get(txn, ob->meta, &k, &v);
    if (rc == 0 && v.mv_size == HB_DIGEST_LEN)
        memcpy(ob->digest.bytes, v.mv_data, HB_DIGEST_LEN);
    else if (rc == MDB_NOTFOUND)
        hb_digest_init(&ob->digest);
    else
        goto fail;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, ob->events, &cur) != 0)
        goto fail;
    MDB_val ck, cv;
    if (mdb_cursor_get(cur, &ck, &cv, MDB_FIRST) == 0 && ck.mv_size == 8)
        ob->first_seq = hb_get_be64(ck.mv_data);
    else
        ob->first_seq = ob->last_seq + 1;
    mdb_cursor_close(cur);
    if (mdb_txn_commit(txn) != 0)
        return HB_EDB;
    ob->acked_durable = ob->acked_seq;
    ob->keep_after = UINT64_MAX;
    return 0;
fail:
    mdb_txn_abort(txn);
    return HB_EDB;
}

int outbox_open(const char *dir, size_t map_size, size_t map_max, outbox_t **out)
{
    outbox_t *ob = calloc(1, sizeof *ob);
    if (!ob)
        return HB_ENOMEM;
    hb_histogram_init(&ob->commit_seconds, &hb_buckets_latency);
    int rc = hb_store_open(&ob->store, dir, map_size, map_max, 4);
    if (rc != 0) {
        free(ob);
        return rc;
    }
    rc = s_load(ob);
    if (rc != 0) {
        hb_error("outbox: %s: cannot read its state", dir);
        hb_store_close(&ob->store);
        free(ob);
        return rc;
    }
    hb_info("outbox: %s: last_seq %llu, acked %llu, oldest kept %llu", dir,
            (unsigned long long)ob->last_seq, (unsigned long long)ob->acked_seq,
            (unsigned long long)ob->first_seq);
    *out = ob;
    return 0;
}

void outbox_close(outbox_t **outbox)
{
    if (!*outbox)
        return;
    outbox_t *ob = *outbox;
    hb_store_close(&ob->store);
    free(ob->stage);
    free(ob);
    *outbox = NULL;
}

/* Below this many free bytes on the outbox's file system, an EIO from a
 * commit is a full disk: LMDB reports a short write (the file system took
 * part of the pages, then had no room) as EIO, not ENOSPC. */
#define OUTBOX_FULL_SLACK (8u << 20)

/* Whether the file system holding the outbox has less than
 * OUTBOX_FULL_SLACK free for us (false when that cannot be told). */
static bool s_nearly_no_room(outbox_t *ob)
{
    const char *dir = NULL;
    struct statvfs sv;
    if (mdb_env_get_path(ob->store.env, &dir) != 0 || !dir || statvfs(dir, &sv) != 0)
        return false;
    return (uint64_t)sv.f_bavail * sv.f_frsize < OUTBOX_FULL_SLACK;
}

/* After one attempt returned the LMDB code `rc`: on MDB_MAP_FULL the
 * transaction is gone, so the map grows (with nothing open) and the caller
 * replays the attempt (returns true). Otherwise `*result` becomes 0 or an
 * HB_E* code and the caller stops. */
static bool s_retry_after_growth(outbox_t *ob, int rc, const char *what, int *result)
{
    if (rc == MDB_MAP_FULL) {
        int grc = hb_store_grow(&ob->store);
        if (grc == 0)
            return true;
        *result = grc;
        return false;
    }
    /* The commit's writes found no room: LMDB wrote no meta page, so the
     * last committed state stands whole (copy-on-write), and the next
     * commit reuses the pages of this one. */
    if (rc == ENOSPC || rc == EDQUOT || (rc == EIO && s_nearly_no_room(ob))) {
        *result = HB_ENOSPC;
        return false;
    }
    if (rc != 0)
        hb_error("outbox: %s failed: %s", what, mdb_strerror(rc));
    *result = rc == 0 ? 0 : HB_EDB;
    return false;
}

static int s_put_records(outbox_t *ob, MDB_txn *txn, const outbox_record_t *recs, size_t nrecs)
{
    int rc = 0;
    for (size_t i = 0; i < nrecs && rc == 0; i++) {
        MDB_val k = {strlen(recs[i].key), (void *)recs[i].key};
        if (recs[i].data) {
            MDB_val v = {recs[i].len, (void *)recs[i].data};
            rc = mdb_put(txn, ob->records, &k, &v, 0);
        } else {
            rc = mdb_del(txn, ob->records, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
    }
    return rc;
}

/* One attempt at storing the batch: the envelopes `envs` (numbered and
 * encoded here), or when `envs` is NULL the `n` staged ones (encoded
 * already); MDB_MAP_FULL comes back as is. */
static int s_append_once(outbox_t *ob, Hallbus__Envelope **envs, size_t n,
                         const outbox_record_t *recs, size_t nrecs, hb_digest_t *digest)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(ob->store.env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    rc = s_put_records(ob, txn, recs, nrecs);
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint64_t seq = ob->last_seq + 1 + i;
        /* stage_end holds OUTBOX_STAGE_EVENTS ends: read only for staged
         * events (a plain append may carry more than that). */
        size_t start = 0, len;
        if (envs) {
            envs[i]->seq = seq;
            len = hallbus__envelope__get_packed_size(envs[i]);
        } else {
            start = i ? ob->stage_end[i - 1] : 0;
            len = ob->stage_end[i] - start;
        }
        uint8_t keybuf[8];
        hb_put_be64(keybuf, seq);
        MDB_val k = {8, keybuf}, v = {len, NULL};
        /* MDB_RESERVE lets protobuf-c encode straight into the page. */
        rc = mdb_put(txn, ob->events, &k, &v, MDB_RESERVE | MDB_APPEND);
        if (rc != 0)
            break;
        if (envs)
            hallbus__envelope__pack(envs[i], v.mv_data);
        else
            memcpy(v.mv_data, ob->stage + start, len);
        hb_digest_step(digest, v.mv_data, len);
    }
    if (rc == 0 && n > 0)
        rc = s_meta_put_u64(txn, ob->meta, "last_seq", ob->last_seq + n);
    if (rc == 0 && n > 0) {
        MDB_val k = {6, "digest"}, v = {HB_DIGEST_LEN, digest->bytes};
        rc = mdb_put(txn, ob->meta, &k, &v, 0);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

int outbox_append(outbox_t *ob, Hallbus__Envelope **envs, size_t n, uint64_t *first_seq)
{
    if (n == 0)
        return HB_EINVAL;
    return outbox_append_with(ob, envs, n, NULL, 0, first_seq);
}

/* Stores `n` events (`envs`, or the staged ones when NULL) and the
 * records in one synced transaction, growing the map as it fills; counts a
 * refusal for lack of room. */
static int s_store(outbox_t *ob, Hallbus__Envelope **envs, size_t n, const outbox_record_t *recs,
                   size_t nrecs, uint64_t *first_seq)
{
    hb_digest_t digest;
    int rc;
    int64_t t0 = hb_mono_ns();
    do {
        digest = ob->digest;
        rc = s_append_once(ob, envs, n, recs, nrecs, &digest);
    } while (s_retry_after_growth(ob, rc, "append", &rc));
    hb_histogram_observe_since(&ob->commit_seconds, t0);
    /* The map at map_max is as full as a full disk, and counted the same. */
    if (rc == HB_ENOSPC || rc == HB_EMAPFULL) {
        int64_t now = hb_now_ms();
        if (!ob->space.full_since_ms) {
            ob->space.full_since_ms = now;
            hb_error("outbox: no room for events (%s): new events are refused until there is "
                     "room; %llu event(s) wait for HQ",
                     rc == HB_EMAPFULL ? "the map is at map_max" : "the disk is full",
                     (unsigned long long)(ob->last_seq - ob->acked_seq));
        }
        ob->space.refused_events += n;
        ob->space.last_refused_ms = now;
        return rc;
    }
    if (rc != 0)
        return rc;
    if (ob->space.full_since_ms) {
        hb_info("outbox: there is room again: events are taken (%llu refused since %lld)",
                (unsigned long long)ob->space.refused_events, (long long)ob->space.full_since_ms);
        ob->space.full_since_ms = 0;
    }
    if (n == 0) {
        if (first_seq)
            *first_seq = ob->last_seq + 1;
        return 0;
    }
    if (ob->first_seq > ob->last_seq)
        ob->first_seq = ob->last_seq + 1;
    if (first_seq)
        *first_seq = ob->last_seq + 1;
    ob->last_seq += n;
    ob->digest = digest;
    return 0;
}

int outbox_append_with(outbox_t *ob, Hallbus__Envelope **envs, size_t n,
                       const outbox_record_t *recs, size_t nrecs, uint64_t *first_seq)
{
    if (n == 0 && nrecs == 0)
        return HB_EINVAL;
    /* A commit of its own between staged events and their commit would
     * take their numbers. */
    if (ob->n_staged)
        return HB_ECONFLICT;
    for (size_t i = 0; i < nrecs; i++) {
        size_t klen = recs[i].key ? strlen(recs[i].key) : 0;
        if (klen == 0 || klen > OUTBOX_KEY_MAX)
            return HB_EINVAL;
    }
    return s_store(ob, envs, n, recs, nrecs, first_seq);
}

/* ------------------------------------------------------------ staging ---- */

int outbox_stage(outbox_t *ob, Hallbus__Envelope **envs, size_t n, uint64_t *first_seq)
{
    if (n == 0)
        return HB_EINVAL;
    if (ob->n_staged + n > OUTBOX_STAGE_EVENTS)
        return HB_ETOOBIG;
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += hallbus__envelope__get_packed_size(envs[i]);
    if (need > OUTBOX_STAGE_BYTES - ob->stage_used)
        return HB_ETOOBIG;
    if (ob->stage_used + need > ob->stage_cap) {
        size_t cap = ob->stage_cap ? ob->stage_cap : 16384;
        while (cap < ob->stage_used + need)
            cap *= 2;
        if (cap > OUTBOX_STAGE_BYTES)
            cap = OUTBOX_STAGE_BYTES;
        uint8_t *p = realloc(ob->stage, cap);
        if (!p)
            return HB_ENOMEM;
        ob->stage = p;
        ob->stage_cap = cap;
    }
    uint64_t first = ob->last_seq + 1 + ob->n_staged;
    for (size_t i = 0; i < n; i++) {
        envs[i]->seq = first + i;
        ob->stage_used += hallbus__envelope__pack(envs[i], ob->stage + ob->stage_used);
        ob->stage_end[ob->n_staged++] = ob->stage_used;
    }
    if (first_seq)
        *first_seq = first;
    return 0;
}

int outbox_commit_staged(outbox_t *ob, uint64_t *first_seq)
{
    if (ob->n_staged == 0)
        return HB_EINVAL;
    int rc = s_store(ob, NULL, ob->n_staged, NULL, 0, first_seq);
    outbox_drop_staged(ob);
    return rc;
}

void outbox_drop_staged(outbox_t *ob)
{
    ob->n_staged = 0;
    ob->stage_used = 0;
}

size_t outbox_staged(const outbox_t *ob, size_t *bytes)
{
    if (bytes)
        *bytes = ob->stage_used;
    return ob->n_staged;
}

int outbox_read(outbox_t *ob, uint64_t from, size_t max_events, size_t max_bytes, outbox_read_fn fn,
                void *arg)
{
    if (from < ob->first_seq)
        return HB_ENOTFOUND;
    if (from > ob->last_seq || max_events == 0)
        return 0;
    MDB_txn *txn;
    if (mdb_txn_begin(ob->store.env, NULL, MDB_RDONLY, &txn) != 0)
        return HB_EDB;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, ob->events, &cur) != 0) {
        mdb_txn_abort(txn);
        return HB_EDB;
    }
    uint8_t keybuf[8];
    hb_put_be64(keybuf, from);
    MDB_val k = {8, keybuf}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    size_t count = 0, bytes = 0;
    int result = 0;
    uint64_t expect = from;
    while (rc == 0 && count < max_events && (count == 0 || bytes + v.mv_size <= max_bytes)) {
        uint64_t seq = hb_get_be64(k.mv_data);
        if (seq != expect) {
            hb_error("outbox: gap at %llu (found %llu)", (unsigned long long)expect,
                     (unsigned long long)seq);
            result = HB_EDB;
            break;
        }
        if (fn(seq, v.mv_data, v.mv_size, arg) != 0)
            break;
        count++;
        bytes += v.mv_size;
        expect++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (count == 0 && result == 0 && rc != 0)
        result = HB_EDB; /* from is in range but not stored: corrupted outbox */
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return result;
}

int outbox_ack(outbox_t *ob, uint64_t acked_seq)
{
    if (acked_seq > ob->last_seq)
        return HB_ERANGE;
    if (acked_seq > ob->acked_seq)
        ob->acked_seq = acked_seq;
    return 0;
}

static int s_flush_once(outbox_t *ob, int64_t cutoff_ms, size_t max, size_t *pruned)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(ob->store.env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    rc = s_meta_put_u64(txn, ob->meta, "acked_seq", ob->acked_seq);
    size_t n = 0;
    uint64_t first = ob->first_seq;
    if (rc == 0 && max > 0) {
        MDB_cursor *cur;
        rc = mdb_cursor_open(txn, ob->events, &cur);
        MDB_val k, v;
        int crc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc;
        while (crc == 0 && n < max) {
            uint64_t seq = hb_get_be64(k.mv_data);
            if (seq > ob->acked_seq || seq > ob->keep_after)
                break;
            Hallbus__Envelope *env = hallbus__envelope__unpack(NULL, v.mv_size, v.mv_data);
            int64_t at = env ? env->at_ms : 0;
            if (env)
                hallbus__envelope__free_unpacked(env, NULL);
            if (at >= cutoff_ms) {
                ob->prune_blocked_until = at;
                break;
            }
            rc = mdb_cursor_del(cur, 0);
            if (rc != 0)
                break;
            n++;
            first = seq + 1;
            crc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (rc == 0)
            mdb_cursor_close(cur);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    if (rc == 0) {
        ob->acked_durable = ob->acked_seq;
        if (n > 0)
            ob->first_seq = first;
        if (pruned)
            *pruned = n;
    }
    return rc;
}

int outbox_flush(outbox_t *ob, int64_t cutoff_ms, size_t max, size_t *pruned)
{
    if (pruned)
        *pruned = 0;
    /* Nothing to do: no new ack to persist and nothing acknowledged left. */
    if (ob->acked_durable == ob->acked_seq &&
        (ob->first_seq > ob->acked_seq || cutoff_ms <= ob->prune_blocked_until))
        return 0;
    int rc;
    do {
        rc = s_flush_once(ob, cutoff_ms, max, pruned);
    } while (s_retry_after_growth(ob, rc, "flush", &rc));
    return rc;
}

int outbox_get_record(outbox_t *ob, const char *key, outbox_record_fn fn, void *arg)
{
    size_t klen = key ? strlen(key) : 0;
    if (klen == 0 || klen > OUTBOX_KEY_MAX)
        return HB_EINVAL;
    MDB_txn *txn;
    if (mdb_txn_begin(ob->store.env, NULL, MDB_RDONLY, &txn) != 0)
        return HB_EDB;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, ob->records, &k, &v);
    int result = rc == MDB_NOTFOUND ? HB_ENOTFOUND
                 : rc != 0          ? HB_EDB
                                    : fn(v.mv_data, v.mv_size, arg);
    mdb_txn_abort(txn);
    return result;
}

void outbox_keep_after(outbox_t *ob, uint64_t seq)
{
    ob->keep_after = seq;
    /* What was blocked by the old floor may be free now. */
    ob->prune_blocked_until = 0;
}

int outbox_reader_check(outbox_t *ob) { return hb_store_reader_check(&ob->store); }

void outbox_space(const outbox_t *ob, outbox_space_t *out) { *out = ob->space; }

uint64_t outbox_last_seq(const outbox_t *ob) { return ob->last_seq; }
uint64_t outbox_acked_seq(const outbox_t *ob) { return ob->acked_seq; }
uint64_t outbox_first_seq(const outbox_t *ob) { return ob->first_seq; }
const hb_digest_t *outbox_digest(const outbox_t *ob) { return &ob->digest; }
uint64_t outbox_disk_bytes(outbox_t *ob) { return hb_store_size(&ob->store); }
uint64_t outbox_map_grows(const outbox_t *ob) { return ob->store.grow_count; }
const hb_histogram_t *outbox_commit_histogram(const outbox_t *ob) { return &ob->commit_seconds; }
