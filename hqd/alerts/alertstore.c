/* The alert store (alertstore.h): open alerts per hall in memory, the log
 * of a batch's raises and clears, and the LMDB history they are written
 * to. The rules themselves are alerts.c's.
 *
 * A record on disk (version 1, big-endian):
 *   u8 version, u8 kind, u32 hall number,
 *   i64 raised_ms, i64 cleared_ms (0 = open), i64 since_ms, i64 value,
 *   i64 threshold, i64 peak,
 *   u8 hall id length + bytes, u8 subject length + bytes,
 *   u16 detail length + bytes.
 * Reading is strict: a record of another version, a length past its field's
 * bound, bytes left over or text that is not UTF-8 does not decode.
 *
 * Memory follows the log: apply changes the open alerts at once (readers
 * see a batch's changes before its commit, for the few milliseconds it
 * lasts), and a commit that fails reloads them from the last commit, so
 * memory never holds what the disk will not have after a restart. */
#include "alertstore.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/store.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"
#include "hallbus/vec.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define REC_VERSION 1
#define REC_FIXED (1 + 1 + 4 + 6 * 8)
#define REC_MAX                                                                                    \
    (REC_FIXED + 1 + HB_HALL_ID_LEN + 1 + (ALERT_SUBJECT_MAX - 1) + 2 + (ALERT_DETAIL_MAX - 1))
#define TIME_KEY 16      /* raised_ms biased, id */
#define HALL_KEY 20      /* hall, raised_ms biased, id */
#define PRUNE_MAX 100000 /* deletes in one prune call */
/* A batch log bigger than this is freed after its commit, so one busy
 * pass does not pin its memory for the life of the process. */
#define LOG_KEEP 4096

typedef struct open_meta {
    uint64_t id;
    int64_t raised_ms;
    int64_t peak;
} open_meta_t;

/* The open alerts of one hall, sorted by key (what alerts_diff reads). */
typedef struct hall_open {
    char id[HB_HALL_ID_MAX];
    HB_VEC(alert_t) alerts;
    HB_VEC(open_meta_t) meta; /* parallel to alerts, as many */
} hall_open_t;

struct alertstore {
    hb_store_t store;
    MDB_dbi alerts, by_time, by_hall, open, meta;
    alertstore_config_t cfg;
    /* Guards everything below that queries read: the halls, the stats. */
    pthread_rwlock_t lock;
    HB_VEC(hall_open_t *) halls; /* by hall number; NULL: never had an alert */
    alertstore_stats_t stats;
    uint64_t next_id; /* the next id to give; ids of a failed batch are not given again */
    /* The writer's own, no lock: the batch. */
    bool in_batch;
    HB_VEC(alert_change_t) log;
    /* One apply's work. */
    hall_open_t *cur;
    uint32_t cur_num;
    alert_t scratch[ALERTS_MAX];
    open_meta_t scratch_meta[ALERTS_MAX];
    size_t n_scratch;
};

void alertstore_config_default(alertstore_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->map_size = (size_t)64 << 20;
    cfg->map_max = (size_t)16 << 30;
    cfg->retention_ms = (int64_t)ALERTSTORE_RETENTION_DAYS_DEFAULT * 86400 * 1000;
    cfg->retention_count = ALERTSTORE_RETENTION_COUNT_DEFAULT;
    cfg->halls_max = ALERTSTORE_HALLS_MAX_DEFAULT;
    cfg->batch_max = ALERTSTORE_BATCH_MAX_DEFAULT;
}

/* ------------------------------------------------------------ bytes ---- */

/* Times are signed: biased so that byte order is time order. */
static void s_put_time(uint8_t *p, int64_t ms) { hb_put_be64(p, (uint64_t)ms ^ (1ULL << 63)); }
static int64_t s_get_time(const uint8_t *p) { return (int64_t)(hb_get_be64(p) ^ (1ULL << 63)); }

static void s_time_key(uint8_t out[TIME_KEY], int64_t raised_ms, uint64_t id)
{
    s_put_time(out, raised_ms);
    hb_put_be64(out + 8, id);
}

static void s_hall_key(uint8_t out[HALL_KEY], uint32_t hall, int64_t raised_ms, uint64_t id)
{
    hb_put_be32(out, hall);
    s_time_key(out + 4, raised_ms, id);
}

static size_t s_encode(const alert_record_t *r, uint8_t out[REC_MAX])
{
    uint8_t *p = out;
    *p++ = REC_VERSION;
    *p++ = (uint8_t)r->alert.kind;
    hb_put_be32(p, r->hall_num);
    p += 4;
    const int64_t v[6] = {r->raised_ms,   r->cleared_ms,      r->alert.since_ms,
                          r->alert.value, r->alert.threshold, r->peak};
    for (size_t i = 0; i < 6; i++, p += 8)
        hb_put_be64(p, (uint64_t)v[i]);
    size_t n = strnlen(r->hall, HB_HALL_ID_LEN);
    *p++ = (uint8_t)n;
    memcpy(p, r->hall, n);
    p += n;
    n = strnlen(r->alert.subject, ALERT_SUBJECT_MAX - 1);
    *p++ = (uint8_t)n;
    memcpy(p, r->alert.subject, n);
    p += n;
    n = strnlen(r->alert.detail, ALERT_DETAIL_MAX - 1);
    *p++ = (uint8_t)(n >> 8);
    *p++ = (uint8_t)n;
    memcpy(p, r->alert.detail, n);
    p += n;
    return (size_t)(p - out);
}

/* Reads one text field of at most `max` bytes into `dst` (NUL-terminated). */
static bool s_text_field(const uint8_t **p, const uint8_t *end, size_t n, size_t max, char *dst)
{
    if (n > max || (size_t)(end - *p) < n || memchr(*p, 0, n) ||
        !hb_utf8_valid((const char *)*p, n))
        return false;
    memcpy(dst, *p, n);
    dst[n] = '\0';
    *p += n;
    return true;
}

static int s_decode(uint64_t id, const uint8_t *data, size_t len, alert_record_t *r)
{
    if (len < REC_FIXED + 4 || len > REC_MAX || data[0] != REC_VERSION || data[1] == 0)
        return HB_EPARSE;
    memset(r, 0, sizeof *r);
    const uint8_t *p = data + 2, *end = data + len;
    r->id = id;
    r->alert.kind = data[1];
    r->hall_num = hb_get_be32(p);
    p += 4;
    int64_t v[6];
    for (size_t i = 0; i < 6; i++, p += 8)
        v[i] = (int64_t)hb_get_be64(p);
    r->raised_ms = v[0];
    r->cleared_ms = v[1];
    r->alert.since_ms = v[2];
    r->alert.value = v[3];
    r->alert.threshold = v[4];
    r->peak = v[5];
    size_t n = *p++;
    if (n == 0 || !s_text_field(&p, end, n, HB_HALL_ID_LEN, r->hall))
        return HB_EPARSE;
    if (p >= end)
        return HB_EPARSE;
    n = *p++;
    if (!s_text_field(&p, end, n, ALERT_SUBJECT_MAX - 1, r->alert.subject))
        return HB_EPARSE;
    if (end - p < 2)
        return HB_EPARSE;
    n = ((size_t)p[0] << 8) | p[1];
    p += 2;
    if (!s_text_field(&p, end, n, ALERT_DETAIL_MAX - 1, r->alert.detail) || p != end)
        return HB_EPARSE;
    return 0;
}

/* ------------------------------------------------------ open alerts ---- */

static void s_count(alertstore_t *st, int kind, int delta)
{
    st->stats.open += (uint64_t)(int64_t)delta;
    if (kind >= 0 && kind <= ALERT_KIND_LAST)
        st->stats.open_by_kind[kind] += (uint64_t)(int64_t)delta;
}

static int s_reserve(hall_open_t *h, size_t n)
{
    if (hb_vec_reserve(&h->alerts, n) != 0 || hb_vec_reserve(&h->meta, n) != 0)
        return HB_ENOMEM;
    return 0;
}

/* The hall's entry, made when `make` (NULL when out of memory). */
static hall_open_t *s_hall(alertstore_t *st, uint32_t num, const char *id, bool make)
{
    if (num < st->halls.n && st->halls.v[num])
        return st->halls.v[num];
    if (!make)
        return NULL;
    hall_open_t **slot = hb_vec_at(&st->halls, num);
    hall_open_t *h = slot ? calloc(1, sizeof *h) : NULL;
    if (!h)
        return NULL;
    snprintf(h->id, sizeof h->id, "%s", id);
    h->alerts.max = h->meta.max = ALERTS_MAX;
    *slot = h;
    return h;
}

static void s_free_halls(alertstore_t *st)
{
    for (size_t i = 0; i < st->halls.n; i++) {
        hall_open_t *h = st->halls.v[i];
        if (!h)
            continue;
        hb_vec_free(&h->alerts);
        hb_vec_free(&h->meta);
        free(h);
    }
    hb_vec_free(&st->halls);
    st->stats.open = 0;
    st->stats.halls_alerting = 0;
    memset(st->stats.open_by_kind, 0, sizeof st->stats.open_by_kind);
}

/* Adds a stored open alert in its place by key; false when the hall
 * already has that key or ALERTS_MAX alerts (a store written by something
 * else than this code). */
static bool s_load_one(alertstore_t *st, const alert_record_t *r)
{
    if (r->hall_num == 0 || r->hall_num > st->cfg.halls_max)
        return false;
    hall_open_t *h = s_hall(st, r->hall_num, r->hall, true);
    if (!h || h->alerts.n == ALERTS_MAX || s_reserve(h, h->alerts.n + 1) != 0)
        return false;
    size_t lo = 0, hi = h->alerts.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (alert_key_cmp(&h->alerts.v[mid], &r->alert) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < h->alerts.n && alert_key_cmp(&h->alerts.v[lo], &r->alert) == 0)
        return false;
    memmove(&h->alerts.v[lo + 1], &h->alerts.v[lo], (h->alerts.n - lo) * sizeof h->alerts.v[0]);
    memmove(&h->meta.v[lo + 1], &h->meta.v[lo], (h->meta.n - lo) * sizeof h->meta.v[0]);
    h->alerts.v[lo] = r->alert;
    h->meta.v[lo] = (open_meta_t){.id = r->id, .raised_ms = r->raised_ms, .peak = r->peak};
    if (h->alerts.n == 0)
        st->stats.halls_alerting++;
    h->alerts.n++;
    h->meta.n++;
    s_count(st, r->alert.kind, 1);
    return true;
}

/* Memory from the disk: the open alerts of the last commit, the next id,
 * the number of records. Call with the write lock held. */
static int s_load_open(alertstore_t *st)
{
    s_free_halls(st);
    MDB_txn *txn;
    if (hb_store_read_begin(&st->store, &txn) != 0)
        return HB_EDB;
    int result = 0;
    uint64_t next = 1;
    MDB_val k = {7, "next_id"}, v;
    if (mdb_get(txn, st->meta, &k, &v) == 0 && v.mv_size == 8)
        next = hb_get_be64(v.mv_data);
    MDB_cursor *cur = NULL;
    /* The newest record's id bounds the next one too, should meta lag. */
    if (mdb_cursor_open(txn, st->alerts, &cur) == 0) {
        if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8 &&
            hb_get_be64(k.mv_data) >= next)
            next = hb_get_be64(k.mv_data) + 1;
        mdb_cursor_close(cur);
    }
    MDB_stat ms;
    if (mdb_stat(txn, st->alerts, &ms) == 0)
        st->stats.records = ms.ms_entries;
    if (mdb_cursor_open(txn, st->open, &cur) != 0) {
        result = HB_EDB;
        goto out;
    }
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        alert_record_t r;
        MDB_val rv;
        uint64_t id = k.mv_size == 8 ? hb_get_be64(k.mv_data) : 0;
        if (id == 0 || mdb_get(txn, st->alerts, &k, &rv) != 0 ||
            s_decode(id, rv.mv_data, rv.mv_size, &r) != 0 || r.cleared_ms != 0) {
            st->stats.bad_records++;
            hb_log_once("alertstore-bad-open", HB_LOG_ERROR,
                        "alertstore: open alert %llu has no readable record; left out",
                        (unsigned long long)id);
        } else if (!s_load_one(st, &r)) {
            st->stats.bad_records++;
            hb_log_once("alertstore-dup-open", HB_LOG_ERROR,
                        "alertstore: open alert %llu repeats a key of hall %u or passes its "
                        "bound; left out",
                        (unsigned long long)id, r.hall_num);
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
out:
    hb_store_read_end(&st->store, txn, NULL);
    if (next > st->next_id)
        st->next_id = next;
    st->stats.next_id = st->next_id;
    return result;
}

/* ---------------------------------------------------- open and close ---- */

int alertstore_open(const char *dir, const alertstore_config_t *cfg, alertstore_t **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    alertstore_t *st = calloc(1, sizeof *st);
    if (!st) {
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    if (cfg)
        st->cfg = *cfg;
    else
        alertstore_config_default(&st->cfg);
    if (st->cfg.map_size == 0 || st->cfg.retention_count == 0 || st->cfg.halls_max == 0 ||
        st->cfg.halls_max > (1u << 24) || st->cfg.batch_max < ALERT_CHANGES_MAX ||
        st->cfg.retention_ms < 0) {
        hb_errf(err, errlen,
                "alert store settings out of range (map size > 0, retention count >= 1, halls "
                "1..16777216, batch >= %d changes, retention age >= 0)",
                ALERT_CHANGES_MAX);
        free(st);
        return HB_EINVAL;
    }
    st->halls.max = (size_t)st->cfg.halls_max + 1;
    st->log.max = st->cfg.batch_max;
    int rc = hb_store_open(&st->store, dir, st->cfg.map_size, st->cfg.map_max, 5);
    if (rc != 0) {
        hb_errf(err, errlen, "cannot open the alert store in %s", dir);
        free(st);
        return rc;
    }
    const hb_store_db_t dbs[] = {{"alerts", &st->alerts},
                                 {"by_time", &st->by_time},
                                 {"by_hall", &st->by_hall},
                                 {"open", &st->open},
                                 {"meta", &st->meta}};
    if (hb_store_dbis(&st->store, dbs, 5) != 0) {
        hb_errf(err, errlen, "cannot open the databases of the alert store in %s", dir);
        hb_store_close(&st->store);
        free(st);
        return HB_EDB;
    }
    pthread_rwlock_init(&st->lock, NULL);
    st->next_id = 1;
    rc = s_load_open(st);
    if (rc != 0) {
        hb_errf(err, errlen, "cannot read the open alerts in %s", dir);
        s_free_halls(st);
        pthread_rwlock_destroy(&st->lock);
        hb_store_close(&st->store);
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

static void s_fini(alertstore_t *st)
{
    s_free_halls(st);
    hb_vec_free(&st->log);
    pthread_rwlock_destroy(&st->lock);
    hb_store_close(&st->store);
}

void alertstore_close(alertstore_t **stp) { HB_DESTROY(stp, s_fini); }

/* ------------------------------------------------------------ batch ---- */

int alertstore_batch_begin(alertstore_t *st)
{
    if (st->in_batch)
        return HB_ECONFLICT;
    st->in_batch = true;
    st->log.n = 0;
    return 0;
}

/* One attempt at writing the log; an LMDB code (MDB_MAP_FULL: grow, retry). */
static int s_write_log(alertstore_t *st, uint64_t *records)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->store.env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < st->log.n && rc == 0; i++) {
        const alert_change_t *c = &st->log.v[i];
        const alert_record_t *r = &c->rec;
        uint8_t id[8], buf[REC_MAX];
        hb_put_be64(id, r->id);
        MDB_val k = {8, id}, v = {s_encode(r, buf), buf}, empty = {0, ""};
        rc = mdb_put(txn, st->alerts, &k, &v, 0);
        if (rc == 0 && c->type == ALERT_CHANGE_RAISED) {
            uint8_t tk[TIME_KEY], hk[HALL_KEY];
            s_time_key(tk, r->raised_ms, r->id);
            s_hall_key(hk, r->hall_num, r->raised_ms, r->id);
            MDB_val tkv = {TIME_KEY, tk}, hkv = {HALL_KEY, hk};
            rc = mdb_put(txn, st->by_time, &tkv, &empty, 0);
            if (rc == 0)
                rc = mdb_put(txn, st->by_hall, &hkv, &empty, 0);
            if (rc == 0)
                rc = mdb_put(txn, st->open, &k, &empty, 0);
        } else if (rc == 0) {
            rc = mdb_del(txn, st->open, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
    }
    if (rc == 0) {
        uint8_t next[8];
        hb_put_be64(next, st->next_id);
        MDB_val k = {7, "next_id"}, v = {8, next};
        rc = mdb_put(txn, st->meta, &k, &v, 0);
    }
    MDB_stat ms;
    if (rc == 0 && mdb_stat(txn, st->alerts, &ms) == 0)
        *records = ms.ms_entries;
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static void s_log_reset(alertstore_t *st)
{
    st->log.n = 0;
    if (st->log.cap > LOG_KEEP)
        hb_vec_free(&st->log);
}

int alertstore_batch_commit(alertstore_t *st, alertstore_change_fn fn, void *arg)
{
    if (!st->in_batch)
        return HB_ECONFLICT;
    st->in_batch = false;
    if (st->log.n == 0)
        return 0;
    int64_t t0 = hb_mono_ms();
    uint64_t records = 0;
    int rc;
    uint64_t grows = 0;
    for (;;) {
        rc = s_write_log(st, &records);
        if (rc != MDB_MAP_FULL)
            break;
        if (hb_store_grow(&st->store) != 0)
            break;
        grows++;
    }
    double took = (double)(hb_mono_ms() - t0);
    pthread_rwlock_wrlock(&st->lock);
    st->stats.map_grows += grows;
    if (rc != 0) {
        st->stats.commit_failures++;
        hb_log_once("alertstore-commit", HB_LOG_ERROR,
                    "alertstore: commit of %zu alert change(s) failed: %s; open alerts reloaded",
                    st->log.n, mdb_strerror(rc));
        /* Memory holds the failed batch: back to what the disk holds. */
        int lrc = s_load_open(st);
        if (lrc != 0)
            hb_error("alertstore: cannot reload the open alerts after a failed commit");
        pthread_rwlock_unlock(&st->lock);
        s_log_reset(st);
        return rc == MDB_MAP_FULL ? HB_EMAPFULL : HB_EDB;
    }
    for (size_t i = 0; i < st->log.n; i++) {
        if (st->log.v[i].type == ALERT_CHANGE_RAISED)
            st->stats.raised++;
        else
            st->stats.cleared++;
    }
    st->stats.commits++;
    st->stats.records = records;
    st->stats.last_commit_ms = took;
    if (took > st->stats.max_commit_ms)
        st->stats.max_commit_ms = took;
    pthread_rwlock_unlock(&st->lock);
    if (fn)
        for (size_t i = 0; i < st->log.n; i++)
            fn(&st->log.v[i], arg);
    s_log_reset(st);
    return 0;
}

int alertstore_batch_abort(alertstore_t *st)
{
    if (!st->in_batch)
        return HB_ECONFLICT;
    st->in_batch = false;
    int rc = 0;
    if (st->log.n > 0) {
        pthread_rwlock_wrlock(&st->lock);
        rc = s_load_open(st);
        pthread_rwlock_unlock(&st->lock);
    }
    s_log_reset(st);
    return rc;
}

/* ------------------------------------------------------------ apply ---- */

static alert_change_t *s_log_add(alertstore_t *st, int type)
{
    /* alertstore_apply reserved the room before the diff. */
    assert(st->log.n < st->log.cap);
    alert_change_t *c = &st->log.v[st->log.n++];
    c->type = type;
    return c;
}

static int s_on_raise(const alert_t *cur, int64_t now_ms, void *arg)
{
    alertstore_t *st = arg;
    hall_open_t *h = st->cur;
    alert_change_t *c = s_log_add(st, ALERT_CHANGE_RAISED);
    alert_record_t *r = &c->rec;
    r->id = st->next_id++;
    r->hall_num = st->cur_num;
    memcpy(r->hall, h->id, sizeof r->hall);
    r->alert = *cur;
    r->peak = cur->value;
    r->raised_ms = now_ms;
    r->cleared_ms = 0;
    st->scratch[st->n_scratch] = *cur;
    st->scratch_meta[st->n_scratch++] =
        (open_meta_t){.id = r->id, .raised_ms = now_ms, .peak = cur->value};
    s_count(st, cur->kind, 1);
    return 0;
}

static int s_on_clear(size_t i, const alert_t *prev, int64_t now_ms, void *arg)
{
    alertstore_t *st = arg;
    hall_open_t *h = st->cur;
    alert_change_t *c = s_log_add(st, ALERT_CHANGE_CLEARED);
    alert_record_t *r = &c->rec;
    r->id = h->meta.v[i].id;
    r->hall_num = st->cur_num;
    memcpy(r->hall, h->id, sizeof r->hall);
    r->alert = *prev;
    r->peak = h->meta.v[i].peak;
    r->raised_ms = h->meta.v[i].raised_ms;
    r->cleared_ms = now_ms;
    s_count(st, prev->kind, -1);
    return 0;
}

static int s_on_keep(size_t i, const alert_t *prev, const alert_t *cur, void *arg)
{
    alertstore_t *st = arg;
    alert_t *a = &st->scratch[st->n_scratch];
    open_meta_t *m = &st->scratch_meta[st->n_scratch++];
    *a = *prev;
    a->value = cur->value;
    a->threshold = cur->threshold;
    memcpy(a->detail, cur->detail, sizeof a->detail);
    *m = st->cur->meta.v[i];
    if (cur->value > m->peak)
        m->peak = cur->value;
    return 0;
}

static int s_on_hold(size_t i, const alert_t *prev, void *arg)
{
    alertstore_t *st = arg;
    st->scratch[st->n_scratch] = *prev;
    st->scratch_meta[st->n_scratch++] = st->cur->meta.v[i];
    return 0;
}

static int s_log_room(alertstore_t *st, size_t more)
{
    return hb_vec_reserve(&st->log, st->log.n + more); /* HB_ETOOBIG past batch_max */
}

int alertstore_apply(alertstore_t *st, uint32_t hall_num, const char *hall_id,
                     const alert_set_t *set, int64_t now_ms, alert_changes_t *changes)
{
    if (changes)
        changes->n = 0;
    if (hall_num == 0 || hall_num > st->cfg.halls_max)
        return HB_ERANGE;
    size_t idlen = hall_id ? strnlen(hall_id, HB_HALL_ID_MAX) : 0;
    if (idlen == 0 || idlen >= HB_HALL_ID_MAX)
        return HB_EINVAL;
    assert(set->n <= ALERTS_MAX);
    bool own_batch = !st->in_batch;
    if (own_batch)
        alertstore_batch_begin(st);
    pthread_rwlock_wrlock(&st->lock);
    hall_open_t *h = s_hall(st, hall_num, hall_id, set->n > 0);
    size_t n_prev = h ? h->alerts.n : 0;
    size_t log_start = st->log.n;
    int rc = 0;
    if (!h) {
        /* Nothing open and nothing holds: the common case, no work. */
        rc = set->n > 0 ? HB_ENOMEM : 0;
        goto out;
    }
    rc = s_log_room(st, n_prev + set->n);
    if (rc == 0) {
        size_t most = n_prev + set->n;
        rc = s_reserve(h, most < ALERTS_MAX ? most : ALERTS_MAX);
    }
    if (rc != 0)
        goto out;
    if (strcmp(h->id, hall_id) != 0)
        snprintf(h->id, sizeof h->id, "%s", hall_id);
    st->cur = h;
    st->cur_num = hall_num;
    st->n_scratch = 0;
    static const alerts_diff_ops_t ops = {
        .raise = s_on_raise, .clear = s_on_clear, .keep = s_on_keep, .hold = s_on_hold};
    alerts_diff_result_t res;
    rc = alerts_diff(h->alerts.v, h->alerts.n, set, now_ms, &ops, st, &res);
    /* The callbacks cannot fail: the room was reserved above. */
    assert(rc == 0);
    assert(st->n_scratch <= h->alerts.cap && st->n_scratch <= h->meta.cap);
    memcpy(h->alerts.v, st->scratch, st->n_scratch * sizeof h->alerts.v[0]);
    memcpy(h->meta.v, st->scratch_meta, st->n_scratch * sizeof h->meta.v[0]);
    if (n_prev == 0 && st->n_scratch > 0)
        st->stats.halls_alerting++;
    else if (n_prev > 0 && st->n_scratch == 0)
        st->stats.halls_alerting--;
    h->alerts.n = h->meta.n = st->n_scratch;
    st->stats.unraised += res.unraised;
    st->stats.dropped += set->dropped;
    st->cur = NULL;
out:
    pthread_rwlock_unlock(&st->lock);
    if (rc != 0) {
        if (own_batch)
            st->in_batch = false;
        return rc;
    }
    if (changes) {
        for (size_t i = log_start; i < st->log.n && changes->n < ALERT_CHANGES_MAX; i++)
            changes->items[changes->n++] = st->log.v[i];
    }
    if (own_batch) {
        rc = alertstore_batch_commit(st, NULL, NULL);
        if (rc != 0 && changes)
            changes->n = 0;
    }
    return rc;
}

/* ------------------------------------------------------ open queries ---- */

static bool s_hall_match(const alertstore_filter_t *f, uint32_t num)
{
    if (!f)
        return true;
    if (f->hall_num && f->hall_num != num)
        return false;
    return !f->hall_pred || f->hall_pred(num, f->pred_arg);
}

static void s_record_of(const hall_open_t *h, uint32_t num, size_t i, alert_record_t *r)
{
    r->id = h->meta.v[i].id;
    r->hall_num = num;
    memcpy(r->hall, h->id, sizeof r->hall);
    r->alert = h->alerts.v[i];
    r->peak = h->meta.v[i].peak;
    r->raised_ms = h->meta.v[i].raised_ms;
    r->cleared_ms = 0;
}

int alertstore_open_each(alertstore_t *st, const alertstore_filter_t *f, alertstore_record_fn fn,
                         void *arg)
{
    int rc = 0;
    pthread_rwlock_rdlock(&st->lock);
    size_t first = 1, last = st->halls.n;
    if (f && f->hall_num) {
        first = f->hall_num;
        last = f->hall_num < st->halls.n ? (size_t)f->hall_num + 1 : first;
    }
    for (size_t num = first; num < last && rc == 0; num++) {
        const hall_open_t *h = st->halls.v[num];
        if (!h || h->alerts.n == 0 || !s_hall_match(f, (uint32_t)num))
            continue;
        for (size_t i = 0; i < h->alerts.n && rc == 0; i++) {
            if (f && f->kind && h->alerts.v[i].kind != f->kind)
                continue;
            alert_record_t r;
            s_record_of(h, (uint32_t)num, i, &r);
            rc = fn(&r, arg);
        }
    }
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

static int s_count_one(const alert_record_t *r, void *arg)
{
    (void)r;
    (*(size_t *)arg)++;
    return 0;
}

size_t alertstore_open_count(alertstore_t *st, const alertstore_filter_t *f)
{
    size_t n = 0;
    if (!f || (!f->hall_num && !f->kind && !f->hall_pred)) {
        pthread_rwlock_rdlock(&st->lock);
        n = (size_t)st->stats.open;
        pthread_rwlock_unlock(&st->lock);
        return n;
    }
    alertstore_open_each(st, f, s_count_one, &n);
    return n;
}

static json_t *s_time_json(int64_t ms)
{
    char t[HB_RFC3339_MAX];
    hb_time_format(ms, t);
    return json_string(t);
}

/* document_refused's parts as alert_refusal_parts reads them, in place of
 * the subject's plain split (its document carries the hall's code). */
static int s_refusal_params(const alert_t *a, json_t *o)
{
    char doc[ALERT_SUBJECT_MAX], code[ALERT_SUBJECT_MAX];
    const char *reason;
    alert_refusal_parts(a, doc, code, &reason);
    int bad = json_object_set_new(o, "document", json_string(doc));
    bad |= json_object_set_new(o, "code", json_string(code));
    bad |= json_object_set_new(o, "reason", json_string(reason));
    return bad;
}

json_t *alert_params_json(const alert_t *a)
{
    const alert_kind_info_t *k = alert_kind_info(a->kind);
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    /* The subject's parts, split at ':' (the last part takes the rest). */
    const char *p = a->subject;
    for (size_t i = 0; i < ALERT_SUBJECT_PARTS && k->subject[i] && *p; i++) {
        bool last = i + 1 == ALERT_SUBJECT_PARTS || !k->subject[i + 1];
        size_t n = last ? strlen(p) : strcspn(p, ":");
        bad |= json_object_set_new(o, k->subject[i], json_stringn(p, n));
        p += n;
        if (*p == ':')
            p++;
    }
    if (a->kind == ALERT_DOCUMENT_REFUSED)
        bad |= s_refusal_params(a, o);
    bad |= json_object_set_new(o, k->value, json_integer(a->value));
    if (k->threshold)
        bad |= json_object_set_new(o, k->threshold, json_integer(a->threshold));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *alert_record_json(const alert_record_t *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    const alert_t *a = &r->alert;
    int bad = 0;
    bad |= json_object_set_new(o, "id", json_integer((json_int_t)r->id));
    bad |= json_object_set_new(o, "hall", json_string(r->hall));
    bad |= json_object_set_new(o, "kind", json_string(alert_kind_name(a->kind)));
    bad |= json_object_set_new(o, "subject", a->subject[0] ? json_string(a->subject) : json_null());
    bad |= json_object_set_new(o, "detail", json_string(a->detail));
    bad |= json_object_set_new(o, "value", json_integer(a->value));
    bad |= json_object_set_new(o, "threshold", json_integer(a->threshold));
    bad |= json_object_set_new(o, "unit", json_string(alert_kind_unit(a->kind)));
    bad |= json_object_set_new(
        o, "severity", json_string(alert_severity_name(alert_kind_info(a->kind)->severity)));
    bad |= json_object_set_new(o, "params", alert_params_json(a));
    bad |= json_object_set_new(o, "peak", json_integer(r->peak));
    bad |= json_object_set_new(o, "since", a->since_ms ? s_time_json(a->since_ms) : json_null());
    bad |= json_object_set_new(o, "raised", s_time_json(r->raised_ms));
    bad |=
        json_object_set_new(o, "cleared", r->cleared_ms ? s_time_json(r->cleared_ms) : json_null());
    bad |= json_object_set_new(o, "open", json_boolean(r->cleared_ms == 0));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

typedef struct json_walk {
    json_t *arr;
    size_t count, limit;
    bool bad;
} json_walk_t;

static int s_json_one(const alert_record_t *r, void *arg)
{
    json_walk_t *w = arg;
    w->count++;
    if (w->count > w->limit)
        return 0;
    json_t *o = alert_record_json(r);
    if (!o || json_array_append_new(w->arr, o) != 0)
        w->bad = true;
    return 0;
}

int alertstore_open_json(alertstore_t *st, const alertstore_filter_t *f, size_t limit, json_t **out)
{
    *out = NULL;
    if (limit == 0 || limit > ALERTSTORE_PAGE_MAX)
        return HB_EINVAL;
    json_walk_t w = {.arr = json_array(), .limit = limit};
    if (!w.arr)
        return HB_ENOMEM;
    alertstore_open_each(st, f, s_json_one, &w);
    json_t *o = json_object();
    if (w.bad || !o || json_object_set_new(o, "alerts", w.arr) != 0 ||
        json_object_set_new(o, "count", json_integer((json_int_t)w.count)) != 0 ||
        json_object_set_new(o, "truncated", json_boolean(w.count > limit)) != 0) {
        if (!o || w.bad)
            json_decref(w.arr);
        json_decref(o);
        return HB_ENOMEM;
    }
    *out = o;
    return 0;
}

/* ---------------------------------------------------------- history ---- */

static int s_get_in(alertstore_t *st, MDB_txn *txn, uint64_t id, alert_record_t *out)
{
    uint8_t key[8];
    hb_put_be64(key, id);
    MDB_val v;
    int rc = hb_store_get(txn, st->alerts, key, sizeof key, &v);
    if (rc != 0)
        return rc;
    return s_decode(id, v.mv_data, v.mv_size, out) == 0 ? 0 : HB_EDB;
}

int alertstore_get(alertstore_t *st, uint64_t id, alert_record_t *out)
{
    MDB_txn *txn;
    if (hb_store_read_begin(&st->store, &txn) != 0)
        return HB_EDB;
    int rc = s_get_in(st, txn, id, out);
    hb_store_read_end(&st->store, txn, NULL);
    return rc;
}

int alertstore_history(alertstore_t *st, const alertstore_query_t *q, alertstore_record_fn fn,
                       void *arg, uint64_t *next_before, char *err, size_t errlen)
{
    *next_before = 0;
    if (q->limit == 0 || q->limit > ALERTSTORE_PAGE_MAX) {
        hb_errf(err, errlen, "limit must be 1 to %d, not %zu", ALERTSTORE_PAGE_MAX, q->limit);
        return HB_EINVAL;
    }
    if (q->to_ms != 0 && q->to_ms <= q->from_ms) {
        hb_errf(err, errlen, "the range ends before it starts");
        return HB_EINVAL;
    }
    if (q->kind < 0 || q->kind > 255) {
        hb_errf(err, errlen, "no such alert kind: %d", q->kind);
        return HB_EINVAL;
    }
    bool by_hall = q->hall_num != 0;
    MDB_dbi dbi = by_hall ? st->by_hall : st->by_time;
    size_t prefix = by_hall ? 4 : 0, klen = prefix + TIME_KEY;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int result = 0;
    if (hb_store_read_begin(&st->store, &txn) != 0)
        return HB_EDB;
    /* The page ends just before the upper key: the cursor's entry, the
     * range's end, or the end of everything. */
    uint8_t upper[HALL_KEY];
    hb_put_be32(upper, q->hall_num);
    memset(upper + prefix, 0xFF, TIME_KEY);
    if (q->to_ms != 0)
        s_time_key(upper + prefix, q->to_ms, 0);
    if (q->before_id != 0) {
        alert_record_t b;
        int rc = s_get_in(st, txn, q->before_id, &b);
        if (rc != 0) {
            hb_errf(err, errlen, "alert %llu is not stored (pruned?); start from the first page",
                    (unsigned long long)q->before_id);
            result = rc == HB_ENOTFOUND ? HB_ENOTFOUND : HB_EDB;
            goto out;
        }
        uint8_t bk[TIME_KEY];
        s_time_key(bk, b.raised_ms, b.id);
        if (memcmp(bk, upper + prefix, TIME_KEY) < 0)
            memcpy(upper + prefix, bk, TIME_KEY);
    }
    if (mdb_cursor_open(txn, dbi, &cur) != 0) {
        result = HB_EDB;
        goto out;
    }
    MDB_val k = {klen, upper}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
    size_t returned = 0, scanned = 0;
    uint64_t last_returned = 0, last_seen = 0;
    while (rc == 0) {
        if (k.mv_size != klen || (by_hall && hb_get_be32(k.mv_data) != q->hall_num))
            break;
        const uint8_t *tk = (const uint8_t *)k.mv_data + prefix;
        int64_t raised = s_get_time(tk);
        uint64_t id = hb_get_be64(tk + 8);
        if (q->from_ms != 0 && raised < q->from_ms)
            break;
        if (scanned == ALERTSTORE_SCAN_MAX) {
            /* Enough reading for one call: the client asks again from the
             * last entry read. */
            *next_before = last_seen;
            break;
        }
        scanned++;
        alert_record_t r;
        /* An entry whose record is gone or unreadable is passed over. */
        if (s_get_in(st, txn, id, &r) != 0) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
            continue;
        }
        if ((q->kind == 0 || r.alert.kind == q->kind) &&
            (!q->hall_pred || q->hall_pred(r.hall_num, q->pred_arg))) {
            if (returned == q->limit) {
                *next_before = last_returned;
                break;
            }
            returned++;
            last_returned = id;
            if (fn(&r, arg) != 0)
                break;
        }
        last_seen = id;
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
out:
    hb_store_read_end(&st->store, txn, cur);
    return result;
}

static int s_history_one(const alert_record_t *r, void *arg)
{
    json_walk_t *w = arg;
    json_t *o = alert_record_json(r);
    if (!o || json_array_append_new(w->arr, o) != 0) {
        w->bad = true;
        return 1;
    }
    return 0;
}

int alertstore_history_json(alertstore_t *st, const alertstore_query_t *q, json_t **out, char *err,
                            size_t errlen)
{
    *out = NULL;
    json_walk_t w = {.arr = json_array()};
    if (!w.arr)
        return HB_ENOMEM;
    uint64_t next = 0;
    int rc = alertstore_history(st, q, s_history_one, &w, &next, err, errlen);
    if (rc == 0 && w.bad)
        rc = HB_ENOMEM;
    if (rc != 0) {
        json_decref(w.arr);
        return rc;
    }
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "alerts", w.arr) != 0 ||
        json_object_set_new(o, "next_before",
                            next ? json_integer((json_int_t)next) : json_null()) != 0) {
        if (!o)
            json_decref(w.arr);
        json_decref(o);
        return HB_ENOMEM;
    }
    *out = o;
    return 0;
}

/* ------------------------------------------------------------ prune ---- */

typedef struct victim {
    uint64_t id;
    uint32_t hall;
    int64_t raised_ms;
    bool known; /* its record decoded: its hall index entry can go too */
} victim_t;

/* One attempt; an LMDB code. */
static int s_prune_once(alertstore_t *st, int64_t now_ms, victim_t *vs, size_t max, size_t *n_out,
                        uint64_t *records)
{
    *n_out = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->store.env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    MDB_stat ms;
    rc = mdb_stat(txn, st->alerts, &ms);
    uint64_t entries = rc == 0 ? ms.ms_entries : 0;
    bool by_age = st->cfg.retention_ms > 0;
    int64_t cutoff = by_age ? now_ms - st->cfg.retention_ms : INT64_MIN;
    MDB_cursor *cur = NULL;
    if (rc == 0)
        rc = mdb_cursor_open(txn, st->by_time, &cur);
    size_t n = 0, scanned = 0;
    MDB_val k, v;
    int crc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc;
    /* Open alerts are skipped, not pruned: bound the skipping too. */
    while (crc == 0 && n < max && scanned < max * 4 + 1024) {
        if (k.mv_size != TIME_KEY)
            break;
        int64_t raised = s_get_time(k.mv_data);
        uint64_t id = hb_get_be64((const uint8_t *)k.mv_data + 8);
        bool over = entries - n > st->cfg.retention_count;
        /* Cleared is never before raised: past the cutoff by raising time,
         * nothing more is old enough. */
        if (!over && (!by_age || raised >= cutoff))
            break;
        scanned++;
        alert_record_t r;
        int grc = s_get_in(st, txn, id, &r);
        if (grc != 0) {
            /* Unreadable, or an index entry whose record is gone: neither
             * is history anyone can read, and skipping them would make
             * every later call read them again. */
            vs[n++] = (victim_t){.id = id, .raised_ms = raised, .known = false};
        } else if (grc == 0 && r.cleared_ms != 0 && (over || (by_age && r.cleared_ms < cutoff))) {
            vs[n++] = (victim_t){.id = id, .hall = r.hall_num, .raised_ms = raised, .known = true};
        }
        crc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (cur)
        mdb_cursor_close(cur);
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t id[8], tk[TIME_KEY], hk[HALL_KEY];
        hb_put_be64(id, vs[i].id);
        s_time_key(tk, vs[i].raised_ms, vs[i].id);
        MDB_val ik = {8, id}, tkv = {TIME_KEY, tk};
        rc = mdb_del(txn, st->alerts, &ik, NULL);
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = mdb_del(txn, st->by_time, &tkv, NULL);
        if ((rc == 0 || rc == MDB_NOTFOUND) && vs[i].known) {
            s_hall_key(hk, vs[i].hall, vs[i].raised_ms, vs[i].id);
            MDB_val hkv = {HALL_KEY, hk};
            rc = mdb_del(txn, st->by_hall, &hkv, NULL);
        }
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    if (rc == 0) {
        *n_out = n;
        *records = entries - n;
    }
    return rc;
}

int alertstore_prune(alertstore_t *st, int64_t now_ms, size_t max_deletes, size_t *deleted)
{
    if (deleted)
        *deleted = 0;
    if (st->in_batch)
        return HB_ECONFLICT;
    if (max_deletes == 0)
        return 0;
    if (max_deletes > PRUNE_MAX)
        max_deletes = PRUNE_MAX;
    /* The other housekeeping LMDB asks for: reader slots of dead readers
     * pin pages the deletes below would free. */
    hb_store_reader_check(&st->store);
    victim_t *vs = malloc(max_deletes * sizeof *vs);
    if (!vs)
        return HB_ENOMEM;
    size_t n = 0;
    uint64_t records = 0, grows = 0;
    int rc;
    for (;;) {
        rc = s_prune_once(st, now_ms, vs, max_deletes, &n, &records);
        if (rc != MDB_MAP_FULL)
            break;
        if (hb_store_grow(&st->store) != 0)
            break;
        grows++;
    }
    free(vs);
    pthread_rwlock_wrlock(&st->lock);
    st->stats.map_grows += grows;
    if (rc == 0) {
        st->stats.pruned += n;
        st->stats.records = records;
    }
    pthread_rwlock_unlock(&st->lock);
    if (rc != 0) {
        hb_log_once("alertstore-prune", HB_LOG_ERROR, "alertstore: pruning failed: %s",
                    mdb_strerror(rc));
        return rc == MDB_MAP_FULL ? HB_EMAPFULL : HB_EDB;
    }
    if (deleted)
        *deleted = n;
    return 0;
}

void alertstore_get_stats(alertstore_t *st, alertstore_stats_t *out)
{
    pthread_rwlock_rdlock(&st->lock);
    *out = st->stats;
    out->next_id = st->next_id;
    pthread_rwlock_unlock(&st->lock);
}
