/* HQ's commit log (see hqlog.h): logged commits' encoding, the log
 * environment, the unfolded tail readers see, and the fold of logged
 * commits into the per-hall layout. Not the writer's queue or threads
 * (writer.c). */
#include "hqlog.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/progress.h"
#include "hallbus/time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_VERSION 1
#define LOG_HEADER_BYTES (1 + 8 + 4)
/* The chunks the fold writes: as the writer's were (hqstore.h), so that
 * retention and reads still work in modest steps. */
#define FOLD_CHUNK_EVENTS_MAX 1024
#define FOLD_CHUNK_BYTES_MAX ((size_t)256 << 10)
#define LOG_FOLDED_KEY "log_folded"

struct hq_log {
    hb_store_t store;
    MDB_dbi dbi;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool cond_ok;
    hq_log_entry_t *head, *tail; /* unfolded, under lock */
    uint64_t trimmed_id;         /* the log holds no commit up to it (writer thread) */
    hq_log_stats_t stats;        /* under lock */
};

size_t hq_log_run_bytes(size_t id_len, const hq_flag_t *flags, uint32_t n_flags, size_t chunk_len)
{
    size_t n = 4 + 1 + id_len + 8 + 4 + 4 + chunk_len;
    for (uint32_t i = 0; i < n_flags; i++)
        n += 8 + 1 + 1 + strnlen(flags[i].reason, HQ_FLAG_REASON_MAX - 1);
    return n;
}

hq_log_entry_t *hq_log_entry_new(size_t n_runs, size_t n_flags, size_t len, int64_t at_ms)
{
    hq_log_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->runs = calloc(n_runs ? n_runs : 1, sizeof *e->runs);
    hq_flag_t *flags = calloc(n_flags ? n_flags : 1, sizeof *flags);
    e->buf = malloc(len < LOG_HEADER_BYTES ? LOG_HEADER_BYTES : len);
    if (!e->runs || !flags || !e->buf) {
        free(flags);
        free(e->runs);
        free(e->buf);
        free(e);
        return NULL;
    }
    /* The flags live in one array whose start the first run holds (see
     * hq_log_entry_free); each run points at its own part. */
    e->runs[0].flags = flags;
    e->len = len;
    e->at_ms = at_ms;
    e->buf[0] = LOG_VERSION;
    hb_put_be64(e->buf + 1, (uint64_t)at_ms);
    hb_put_be32(e->buf + 9, 0);
    e->used = LOG_HEADER_BYTES;
    return e;
}

/* Where the next run's flags go: after the previous run's. */
static hq_flag_t *s_next_flags(hq_log_entry_t *e)
{
    if (e->n_runs == 0)
        return e->runs[0].flags;
    const hq_log_run_t *prev = &e->runs[e->n_runs - 1];
    return prev->flags + prev->n_flags;
}

void hq_log_entry_add(hq_log_entry_t *e, uint32_t hall_num, const char *hall_id, uint64_t first_seq,
                      uint32_t count, const hq_flag_t *flags, uint32_t n_flags,
                      const uint8_t *chunk, size_t len, const hq_tally_t *tally)
{
    hq_flag_t *fl = s_next_flags(e);
    hq_log_run_t *r = &e->runs[e->n_runs++];
    size_t id_len = strnlen(hall_id, HB_HALL_ID_MAX - 1);
    uint8_t *p = e->buf + e->used;
    hb_put_be32(p, hall_num);
    p[4] = (uint8_t)id_len;
    memcpy(p + 5, hall_id, id_len);
    p += 5 + id_len;
    hb_put_be64(p, first_seq);
    hb_put_be32(p + 8, n_flags);
    p += 12;
    for (uint32_t i = 0; i < n_flags; i++) {
        size_t rlen = strnlen(flags[i].reason, HQ_FLAG_REASON_MAX - 1);
        hb_put_be64(p, flags[i].seq);
        p[8] = (uint8_t)flags[i].anomaly;
        p[9] = (uint8_t)rlen;
        memcpy(p + 10, flags[i].reason, rlen);
        p += 10 + rlen;
        fl[i] = flags[i];
    }
    hb_put_be32(p, (uint32_t)len);
    memcpy(p + 4, chunk, len);
    *r = (hq_log_run_t){.hall_num = hall_num,
                        .first_seq = first_seq,
                        .count = count,
                        .n_flags = n_flags,
                        .flags = fl,
                        .chunk = p + 4,
                        .len = len,
                        .has_tally = tally != NULL};
    memcpy(r->hall_id, hall_id, id_len);
    r->hall_id[id_len] = '\0';
    if (tally)
        r->tally = *tally;
    p += 4 + len;
    e->used = (size_t)(p - e->buf);
    e->events += count;
    hb_put_be32(e->buf + 9, (uint32_t)e->n_runs);
}

void hq_log_entry_free(hq_log_entry_t *e)
{
    if (!e)
        return;
    if (e->runs)
        free(e->runs[0].flags);
    free(e->runs);
    free(e->buf);
    free(e);
}

/* One pass over a value: counts its runs and flags (out NULL), or fills
 * `out`, whose arrays have room for what the first pass counted. */
static int s_parse(const uint8_t *p, size_t len, size_t *n_runs, size_t *n_flags,
                   hq_log_entry_t *out)
{
    if (len < LOG_HEADER_BYTES || p[0] != LOG_VERSION)
        return HB_EPARSE;
    uint32_t runs = hb_get_be32(p + 9);
    size_t off = LOG_HEADER_BYTES, flags = 0;
    hq_flag_t *fl = out ? out->runs[0].flags : NULL;
    for (uint32_t i = 0; i < runs; i++) {
        if (off + 5 > len)
            return HB_EPARSE;
        uint32_t num = hb_get_be32(p + off);
        size_t id_len = p[off + 4];
        if (id_len == 0 || id_len >= HB_HALL_ID_MAX || off + 5 + id_len + 12 > len)
            return HB_EPARSE;
        const char *id = (const char *)p + off + 5;
        off += 5 + id_len;
        uint64_t first = hb_get_be64(p + off);
        uint32_t nf = hb_get_be32(p + off + 8);
        off += 12;
        hq_flag_t *run_flags = fl ? fl + flags : NULL;
        for (uint32_t f = 0; f < nf; f++) {
            if (off + 10 > len || off + 10 + p[off + 9] > len)
                return HB_EPARSE;
            if (run_flags) {
                hq_flag_t *x = &run_flags[f];
                memset(x, 0, sizeof *x);
                x->seq = hb_get_be64(p + off);
                x->anomaly = p[off + 8];
                memcpy(x->reason, p + off + 10, p[off + 9]);
            }
            off += 10 + p[off + 9];
        }
        flags += nf;
        if (off + 4 > len)
            return HB_EPARSE;
        size_t clen = hb_get_be32(p + off);
        off += 4;
        if (off + clen > len || clen < 4)
            return HB_EPARSE;
        if (out) {
            hq_log_run_t *r = &out->runs[i];
            *r = (hq_log_run_t){.hall_num = num,
                                .first_seq = first,
                                .count = hb_get_be32(p + off),
                                .n_flags = nf,
                                .flags = run_flags,
                                .chunk = out->buf + off,
                                .len = clen};
            memcpy(r->hall_id, id, id_len);
            out->events += r->count;
        }
        off += clen;
    }
    if (off != len)
        return HB_EPARSE;
    *n_runs = runs;
    *n_flags = flags;
    return 0;
}

int hq_log_entry_decode(uint64_t id, const uint8_t *p, size_t len, hq_log_entry_t **out)
{
    size_t n_runs, n_flags;
    int rc = s_parse(p, len, &n_runs, &n_flags, NULL);
    if (rc != 0)
        return rc;
    hq_log_entry_t *e = hq_log_entry_new(n_runs, n_flags, len, (int64_t)hb_get_be64(p + 1));
    if (!e)
        return HB_ENOMEM;
    memcpy(e->buf, p, len);
    e->used = len;
    e->id = id;
    rc = s_parse(e->buf, len, &n_runs, &n_flags, e);
    if (rc != 0) {
        hq_log_entry_free(e);
        return rc;
    }
    e->n_runs = n_runs;
    *out = e;
    return 0;
}

/* Adds an entry to the tail (lock held). */
static void s_push(hq_log_t *log, hq_log_entry_t *e)
{
    e->next = NULL;
    e->refs = 1;
    e->logged_mono_ms = hb_mono_ms();
    if (log->tail)
        log->tail->next = e;
    else
        log->head = e;
    log->tail = e;
    log->stats.entries++;
    log->stats.events += e->events;
    log->stats.bytes += e->used;
}

/* Deletes the commits up to the folded mark from the log (in `txn`). */
static int s_trim(hq_log_t *log, MDB_txn *txn, uint64_t upto)
{
    if (upto <= log->trimmed_id)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, log->dbi, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0 && k.mv_size == 8 && hb_get_be64(k.mv_data) <= upto) {
        /* From the front each time: what follows a deleted record is the
         * first one now. */
        rc = mdb_cursor_del(cur, 0);
        if (rc == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int hq_log_trim(hq_log_t *log)
{
    pthread_mutex_lock(&log->lock);
    uint64_t upto = log->stats.folded_id;
    pthread_mutex_unlock(&log->lock);
    if (upto <= log->trimmed_id)
        return 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(log->store.env, NULL, 0, &txn);
    if (rc == 0)
        rc = s_trim(log, txn, upto);
    rc = hb_store_txn_end(txn, rc);
    if (rc != 0)
        return HB_EDB;
    log->trimmed_id = upto;
    return 0;
}

int hq_log_open(const char *dir, size_t map_size, size_t map_max, uint64_t folded_id,
                hq_log_t **out)
{
    hq_log_t *log = calloc(1, sizeof *log);
    if (!log)
        return HB_ENOMEM;
    pthread_mutex_init(&log->lock, NULL);
    int rc = hb_progress_cond_init(&log->cond);
    if (rc != 0) {
        pthread_mutex_destroy(&log->lock);
        free(log);
        return HB_ESYS;
    }
    log->cond_ok = true;
    rc = hb_store_open(&log->store, dir, map_size, map_max, 2);
    const hb_store_db_t db = {"log", &log->dbi};
    if (rc == 0 && hb_store_dbis(&log->store, &db, 1) != 0)
        rc = HB_EDB;
    if (rc != 0) {
        hq_log_close(&log);
        return rc;
    }
    log->stats.folded_id = folded_id;
    log->trimmed_id = 0;
    uint64_t last = 0;
    MDB_txn *txn;
    if (mdb_txn_begin(log->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        hq_log_close(&log);
        return HB_EDB;
    }
    MDB_cursor *cur = NULL;
    rc = mdb_cursor_open(txn, log->dbi, &cur);
    MDB_val k, v;
    int grc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc;
    while (grc == 0 && rc == 0) {
        if (k.mv_size != 8) {
            rc = HB_EPARSE;
            break;
        }
        uint64_t id = hb_get_be64(k.mv_data);
        last = id;
        if (id > folded_id) {
            hq_log_entry_t *e;
            rc = hq_log_entry_decode(id, v.mv_data, v.mv_size, &e);
            if (rc != 0) {
                hb_error("hqlog: logged commit %llu in %s does not decode: %s",
                         (unsigned long long)id, dir, hb_strerror(rc));
                break;
            }
            s_push(log, e);
        }
        grc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc != 0) {
        hq_log_close(&log);
        return rc == HB_EPARSE ? HB_EPARSE : HB_EDB;
    }
    log->stats.next_id = (last > folded_id ? last : folded_id) + 1;
    if (hq_log_trim(log) != 0) {
        hq_log_close(&log);
        return HB_EDB;
    }
    *out = log;
    return 0;
}

static void s_fini(hq_log_t *log)
{
    while (log->head) {
        hq_log_entry_t *next = log->head->next;
        hq_log_entry_free(log->head);
        log->head = next;
    }
    hb_store_close(&log->store);
    if (log->cond_ok)
        pthread_cond_destroy(&log->cond);
    pthread_mutex_destroy(&log->lock);
}

void hq_log_close(hq_log_t **logp) { HB_DESTROY(logp, s_fini); }

static int s_append_once(hq_log_t *log, hq_log_entry_t *e, uint64_t id, uint64_t trim_upto)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(log->store.env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    rc = s_trim(log, txn, trim_upto);
    uint8_t key[8];
    hb_put_be64(key, id);
    MDB_val k = {8, key}, v = {e->used, e->buf};
    if (rc == 0)
        rc = mdb_put(txn, log->dbi, &k, &v, MDB_APPEND);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

int hq_log_append(hq_log_t *log, hq_log_entry_t *e)
{
    pthread_mutex_lock(&log->lock);
    uint64_t id = log->stats.next_id, upto = log->stats.folded_id;
    pthread_mutex_unlock(&log->lock);
    int rc;
    for (;;) {
        rc = s_append_once(log, e, id, upto);
        if (rc != MDB_MAP_FULL)
            break;
        if (hb_store_grow(&log->store) != 0)
            break;
    }
    if (rc != 0) {
        hb_log_once("hqlog-append", HB_LOG_ERROR, "hqlog: logging a commit failed: %s",
                    mdb_strerror(rc));
        return rc == MDB_MAP_FULL ? HB_EMAPFULL : HB_EDB;
    }
    if (upto > log->trimmed_id)
        log->trimmed_id = upto;
    e->id = id;
    pthread_mutex_lock(&log->lock);
    log->stats.next_id = id + 1;
    s_push(log, e);
    pthread_cond_broadcast(&log->cond);
    pthread_mutex_unlock(&log->lock);
    return 0;
}

size_t hq_log_unfolded(hq_log_t *log, hq_log_entry_t **out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&log->lock);
    for (hq_log_entry_t *e = log->head; e && n < max; e = e->next)
        out[n++] = e;
    pthread_mutex_unlock(&log->lock);
    return n;
}

static void s_unref(hq_log_entry_t *e)
{
    if (--e->refs == 0)
        hq_log_entry_free(e);
}

void hq_log_mark_folded(hq_log_t *log, uint64_t upto, double took_ms, uint64_t events)
{
    pthread_mutex_lock(&log->lock);
    while (log->head && log->head->id <= upto) {
        hq_log_entry_t *e = log->head;
        log->head = e->next;
        if (!log->head)
            log->tail = NULL;
        log->stats.entries--;
        log->stats.events -= e->events;
        log->stats.bytes -= e->used;
        s_unref(e);
    }
    if (upto > log->stats.folded_id)
        log->stats.folded_id = upto;
    log->stats.folds++;
    log->stats.folded_events += events;
    log->stats.last_fold_ms = took_ms;
    if (took_ms > log->stats.max_fold_ms)
        log->stats.max_fold_ms = took_ms;
    pthread_cond_broadcast(&log->cond);
    pthread_mutex_unlock(&log->lock);
}

void hq_log_fold_failed(hq_log_t *log)
{
    pthread_mutex_lock(&log->lock);
    log->stats.fold_failures++;
    pthread_mutex_unlock(&log->lock);
}

/* A deadline `ms` from now on the monotonic clock (the condition's). */
static struct timespec s_deadline(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

bool hq_log_wait_room(hq_log_t *log, uint64_t max_bytes, int ms)
{
    struct timespec until = s_deadline(ms);
    pthread_mutex_lock(&log->lock);
    while (log->stats.bytes > max_bytes &&
           pthread_cond_timedwait(&log->cond, &log->lock, &until) != ETIMEDOUT) {
    }
    bool room = log->stats.bytes <= max_bytes;
    pthread_mutex_unlock(&log->lock);
    return room;
}

size_t hq_log_wait_work(hq_log_t *log, int ms, bool *stopping, uint64_t *bytes,
                        int64_t *oldest_age_ms)
{
    struct timespec until = s_deadline(ms);
    pthread_mutex_lock(&log->lock);
    if (!*stopping)
        pthread_cond_timedwait(&log->cond, &log->lock, &until);
    size_t n = (size_t)log->stats.entries;
    *bytes = log->stats.bytes;
    /* The monotonic clock: a wall clock set back must not hold the fold. */
    *oldest_age_ms = log->head ? hb_mono_ms() - log->head->logged_mono_ms : 0;
    pthread_mutex_unlock(&log->lock);
    return n;
}

void hq_log_wake(hq_log_t *log)
{
    pthread_mutex_lock(&log->lock);
    pthread_cond_broadcast(&log->cond);
    pthread_mutex_unlock(&log->lock);
}

void hq_log_get_stats(hq_log_t *log, hq_log_stats_t *out)
{
    pthread_mutex_lock(&log->lock);
    *out = log->stats;
    pthread_mutex_unlock(&log->lock);
}

uint64_t hq_log_get_depth(hq_log_t *log)
{
    pthread_mutex_lock(&log->lock);
    uint64_t n = log->stats.entries;
    pthread_mutex_unlock(&log->lock);
    return n;
}

void hq_log_note_full_wait(hq_log_t *log)
{
    pthread_mutex_lock(&log->lock);
    log->stats.full_waits++;
    pthread_mutex_unlock(&log->lock);
}

int hq_log_ref_tail(hq_log_t *log, hq_log_refs_t *refs)
{
    refs->v = NULL;
    refs->n = 0;
    pthread_mutex_lock(&log->lock);
    size_t n = (size_t)log->stats.entries;
    if (n) {
        refs->v = malloc(n * sizeof *refs->v);
        if (!refs->v) {
            pthread_mutex_unlock(&log->lock);
            return HB_ENOMEM;
        }
        for (hq_log_entry_t *e = log->head; e; e = e->next) {
            e->refs++;
            refs->v[refs->n++] = e;
        }
    }
    pthread_mutex_unlock(&log->lock);
    return 0;
}

void hq_log_unref(hq_log_t *log, hq_log_refs_t *refs)
{
    if (!refs->n) {
        free(refs->v);
        return;
    }
    pthread_mutex_lock(&log->lock);
    for (size_t i = 0; i < refs->n; i++)
        s_unref(refs->v[i]);
    pthread_mutex_unlock(&log->lock);
    free(refs->v);
    refs->v = NULL;
    refs->n = 0;
}

/* The first run of hall `num` in an entry (runs in hall order), or n_runs. */
static size_t s_first_run(const hq_log_entry_t *e, uint32_t num)
{
    size_t lo = 0, hi = e->n_runs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->runs[mid].hall_num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int hq_log_read_events(const hq_log_refs_t *refs, uint32_t num, uint64_t from, size_t limit,
                       size_t *count, hq_event_fn fn, void *arg)
{
    for (size_t i = 0; i < refs->n; i++) {
        const hq_log_entry_t *e = refs->v[i];
        for (size_t r = s_first_run(e, num); r < e->n_runs && e->runs[r].hall_num == num; r++) {
            const hq_log_run_t *run = &e->runs[r];
            if (run->first_seq + run->count <= from)
                continue;
            int w =
                hq_chunk_walk(run->first_seq, run->chunk, run->len, from, limit, count, fn, arg);
            if (w != 0)
                return w;
        }
    }
    return 0;
}

int hq_log_read_flags(const hq_log_refs_t *refs, uint32_t num, uint64_t from, uint64_t to,
                      hq_flag_fn fn, void *arg)
{
    for (size_t i = 0; i < refs->n; i++) {
        const hq_log_entry_t *e = refs->v[i];
        for (size_t r = s_first_run(e, num); r < e->n_runs && e->runs[r].hall_num == num; r++) {
            const hq_log_run_t *run = &e->runs[r];
            for (uint32_t f = 0; f < run->n_flags; f++) {
                const hq_flag_t *fl = &run->flags[f];
                if (fl->seq < from || fl->seq > to)
                    continue;
                if (fn(fl, e->at_ms, arg) != 0)
                    return 1;
            }
        }
    }
    return 0;
}

uint64_t hq_log_folded_mark(hq_store_t *st)
{
    MDB_txn *txn;
    if (hb_store_read_begin(&st->store, &txn) != 0)
        return 0;
    MDB_val v;
    uint64_t mark = 0;
    if (hb_store_get(txn, st->meta, LOG_FOLDED_KEY, strlen(LOG_FOLDED_KEY), &v) == 0 &&
        v.mv_size == 8)
        mark = hb_get_be64(v.mv_data);
    hb_store_read_end(&st->store, txn, NULL);
    return mark;
}

/* ------------------------------------------------------------------ fold */

typedef struct fold_run {
    const hq_log_run_t *run;
    const hq_log_entry_t *entry;
} fold_run_t;

static int s_fold_cmp(const void *a, const void *b)
{
    const fold_run_t *x = a, *y = b;
    if (x->run->hall_num != y->run->hall_num)
        return x->run->hall_num < y->run->hall_num ? -1 : 1;
    if (x->run->first_seq != y->run->first_seq)
        return x->run->first_seq < y->run->first_seq ? -1 : 1;
    return 0;
}

/* The runs [first, first + n) of one hall, consecutive, as one chunk. */
static int s_put_chunk(hq_store_t *st, MDB_txn *txn, const fold_run_t *runs, size_t n,
                       uint32_t count, size_t bytes)
{
    const hq_log_run_t *r0 = runs[0].run;
    uint8_t key[12];
    hb_put_be32(key, r0->hall_num);
    hb_put_be64(key + 4, r0->first_seq);
    MDB_val k = {12, key}, v = {r0->len, (void *)r0->chunk};
    if (n == 1)
        return mdb_put(txn, st->events, &k, &v, 0);
    v.mv_size = bytes;
    v.mv_data = NULL;
    int rc = mdb_put(txn, st->events, &k, &v, MDB_RESERVE);
    if (rc != 0)
        return rc;
    uint8_t *p = v.mv_data;
    hb_put_be32(p, count);
    size_t off = 4;
    for (size_t j = 0; j < n; j++) {
        memcpy(p + off, runs[j].run->chunk + 4, runs[j].run->len - 4);
        off += runs[j].run->len - 4;
    }
    return 0;
}

int hq_tally_step(hq_tally_t *t, const uint8_t *chunk, size_t len, uint32_t count,
                  const hq_flag_t *flags, uint32_t n_flags, int64_t now_ms)
{
    hb_digest_t d = t->digest;
    hq_chunk_t c;
    if (hq_chunk_open(&c, chunk, len) != 0 || c.n != count)
        return HB_EPARSE;
    const uint8_t *ev;
    uint32_t elen;
    int more;
    while ((more = hq_chunk_next(&c, &ev, &elen)) > 0)
        hb_digest_step(&d, ev, elen);
    if (more < 0)
        return HB_EPARSE;
    t->digest = d;
    t->last_seq += count;
    t->events += count;
    if (n_flags) {
        t->anomalies += n_flags;
        t->last_anomaly_seq = flags[n_flags - 1].seq;
        t->last_anomaly_ms = now_ms;
    }
    return 0;
}

/* A hall's tally as the transaction holds it (a new hall's is zero). */
static int s_record(hq_store_t *st, MDB_txn *txn, const char *id, hq_hall_record_t *rec)
{
    MDB_val v;
    memset(rec, 0, sizeof *rec);
    int rc = hb_store_get(txn, st->halls, id, strlen(id), &v);
    if (rc == HB_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    return hq_hall_record_decode(id, strlen(id), v.mv_data, v.mv_size, rec);
}

/* One hall's runs [a, b) of a fold: chunks, flags, its record. After a
 * restart (runs without a tally) the tally is stepped from the stored
 * record, and what the record already holds is not stored again. */
static int s_fold_hall(hq_store_t *st, MDB_txn *txn, fold_run_t *runs, size_t a, size_t b)
{
    /* Runs logged by this process carry the tally the writer stepped; only
     * a fold after a restart reads the record. */
    hq_hall_record_t rec;
    memset(&rec, 0, sizeof rec);
    int rc = runs[a].run->has_tally ? 0 : s_record(st, txn, runs[a].run->hall_id, &rec);
    if (rc != 0)
        return rc;
    /* The chunk being gathered: runs [run_first, run_first + run_n). */
    size_t run_first = 0, run_n = 0, run_bytes = 4;
    uint32_t run_count = 0;
    uint64_t next = 0;
    int64_t at = 0;
    for (size_t i = a; i < b && rc == 0; i++) {
        const hq_log_run_t *r = runs[i].run;
        const hq_log_entry_t *e = runs[i].entry;
        if (!r->has_tally) {
            int why = 0;
            if (r->first_seq + r->count - 1 <= rec.last_seq)
                why = 1;
            else if (r->first_seq != rec.last_seq + 1)
                why = 2;
            else if (hq_tally_step(&rec.tally, r->chunk, r->len, r->count, r->flags, r->n_flags,
                                   e->at_ms) != 0)
                why = 3;
            if (why) {
                /* 1: an older hqd stored them from the hall's resend after
                 * a crash left them here; 2, 3: the log does not follow the
                 * store, which no hqd writes. */
                hb_log_once(why == 1 ? "hqlog-refold" : "hqlog-badfold",
                            why == 1 ? HB_LOG_WARN : HB_LOG_ERROR,
                            "hqlog: hall %s events %llu..%llu of logged commit %llu %s; not "
                            "folded",
                            r->hall_id, (unsigned long long)r->first_seq,
                            (unsigned long long)(r->first_seq + r->count - 1),
                            (unsigned long long)e->id,
                            why == 1   ? "are stored already"
                            : why == 2 ? "do not follow what the store holds"
                                       : "are damaged");
                continue;
            }
        } else {
            rec.tally = r->tally;
        }
        /* One chunk per hall per logged commit at most, as the writer
         * stored them before the log: retention prunes chunks whole, by
         * their newest event, so a fold must not join a day-old batch to
         * today's. */
        if (run_n && (run_first + run_n != i || runs[run_first].entry != e ||
                      r->first_seq != next || run_count + r->count > FOLD_CHUNK_EVENTS_MAX ||
                      run_bytes + r->len - 4 > FOLD_CHUNK_BYTES_MAX)) {
            rc = s_put_chunk(st, txn, runs + run_first, run_n, run_count, run_bytes);
            run_n = 0;
            if (rc != 0)
                break;
        }
        if (!run_n) {
            run_first = i;
            run_count = 0;
            run_bytes = 4;
        }
        run_n++;
        run_count += r->count;
        run_bytes += r->len - 4;
        next = r->first_seq + r->count;
        for (uint32_t f = 0; f < r->n_flags && rc == 0; f++) {
            uint8_t fkey[12], fval[HQ_FLAG_BYTES_MAX];
            hb_put_be32(fkey, r->hall_num);
            hb_put_be64(fkey + 4, r->flags[f].seq);
            MDB_val fk = {12, fkey}, fv = {hq_flag_encode(&r->flags[f], e->at_ms, fval), fval};
            rc = mdb_put(txn, st->flags, &fk, &fv, 0);
        }
        at = e->at_ms;
    }
    if (rc == 0 && run_n)
        rc = s_put_chunk(st, txn, runs + run_first, run_n, run_count, run_bytes);
    if (rc != 0 || at == 0)
        return rc;
    rec.num = runs[a].run->hall_num;
    rec.last_commit_ms = at;
    uint8_t buf[HQ_HALL_RECORD_BYTES];
    hq_hall_record_encode(&rec, buf);
    const char *id = runs[a].run->hall_id;
    MDB_val k = {strlen(id), (void *)id}, v = {sizeof buf, buf};
    return mdb_put(txn, st->halls, &k, &v, 0);
}

static int s_fold_once(hq_store_t *st, fold_run_t *runs, size_t n, uint64_t upto)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->store.env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    uint32_t max_num = 0;
    for (size_t a = 0; a < n && rc == 0;) {
        size_t b = a + 1;
        while (b < n && runs[b].run->hall_num == runs[a].run->hall_num)
            b++;
        rc = s_fold_hall(st, txn, runs, a, b);
        if (runs[a].run->hall_num > max_num)
            max_num = runs[a].run->hall_num;
        a = b;
    }
    MDB_val v;
    if (rc == 0 && max_num) {
        uint32_t next = 1;
        int g = hb_store_get(txn, st->meta, "next_hall", 9, &v);
        if (g == 0 && v.mv_size == 4)
            next = hb_get_be32(v.mv_data);
        if (max_num + 1 > next) {
            uint8_t buf[4];
            hb_put_be32(buf, max_num + 1);
            MDB_val k = {9, "next_hall"}, nv = {4, buf};
            rc = mdb_put(txn, st->meta, &k, &nv, 0);
        }
    }
    if (rc == 0) {
        uint8_t buf[8];
        hb_put_be64(buf, upto);
        MDB_val k = {strlen(LOG_FOLDED_KEY), LOG_FOLDED_KEY}, mv = {8, buf};
        rc = mdb_put(txn, st->meta, &k, &mv, 0);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

int hq_log_fold(hq_store_t *st, hq_log_entry_t *const *entries, size_t n)
{
    if (n == 0)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += entries[i]->n_runs;
    fold_run_t *runs = malloc((total ? total : 1) * sizeof *runs);
    if (!runs)
        return HB_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < entries[i]->n_runs; r++)
            runs[k++] = (fold_run_t){&entries[i]->runs[r], entries[i]};
    /* By hall, then sequence: the B-tree is walked in order, and one
     * hall's consecutive batches become one chunk. */
    qsort(runs, total, sizeof *runs, s_fold_cmp);
    int rc;
    for (;;) {
        rc = s_fold_once(st, runs, total, entries[n - 1]->id);
        if (rc != MDB_MAP_FULL)
            break;
        if (hb_store_grow(&st->store) != 0)
            break;
    }
    free(runs);
    if (rc != 0) {
        hb_log_once("hqlog-fold", HB_LOG_ERROR,
                    "hqlog: folding %zu logged commit(s) into the store failed: %s; the log "
                    "keeps them and the fold is tried again",
                    n, mdb_strerror(rc));
        return rc == MDB_MAP_FULL ? HB_EMAPFULL : HB_EDB;
    }
    return 0;
}
