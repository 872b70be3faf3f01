/* The writer thread (see writer.h). One transaction per wake-up takes every
 * batch that queued while the previous commit was syncing; items are sorted
 * by key first, so the B-tree is walked in order instead of at random.
 * The thread beats (hallbus/progress.h) after every commit and every idle
 * second: a commit stuck in a system call stops systemd's watchdog. */
#include "writer.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/progress.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct writer_hall {
    char id[HB_HALL_ID_MAX];
    union { /* as committed */
        hq_tally_t tally;
        struct {
            HQ_TALLY_MEMBERS
        };
    };
    hq_tally_t pending; /* as the open transaction would leave it */
    bool touched, failed;
} writer_hall_t;

struct hq_writer {
    hq_store_t *st;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    hq_write_item_t *head, *tail;
    size_t max_queue_bytes;
    bool stopping;
    hq_writer_stats_t stats;       /* under lock */
    hb_histogram_t commit_seconds; /* recorded by the thread, read by scrapes */
    HB_VEC(hq_commit_t) results;   /* under lock; taken by the loop at each wake-up */
    uv_async_t async;
    hq_commit_fn on_commit;
    void *arg;
    hq_items_fn sink;
    void *sink_arg;
    /* Thread-private from here on. */
    HB_VEC(writer_hall_t) halls; /* by hall number */
    uint32_t next_num;
    HB_VEC(uint32_t) touched; /* the halls the open transaction writes */
};

static writer_hall_t *s_hall(hq_writer_t *w, uint32_t num)
{
    /* A new hall comes zeroed, which is hb_digest_init's digest of an empty
     * stream (test_digest holds it to 32 zero bytes). */
    return hb_vec_at(&w->halls, num);
}

static int s_item_cmp(const void *a, const void *b)
{
    const hq_write_item_t *x = *(hq_write_item_t *const *)a, *y = *(hq_write_item_t *const *)b;
    if (x->hall_num != y->hall_num)
        return x->hall_num < y->hall_num ? -1 : 1;
    if (x->first_seq != y->first_seq)
        return x->first_seq < y->first_seq ? -1 : 1;
    return 0;
}

/* Steps the digest over every event of a chunk. */
static int s_digest_chunk(hb_digest_t *d, const uint8_t *p, size_t len, uint32_t count)
{
    size_t off = 4;
    for (uint32_t i = 0; i < count; i++) {
        if (off + 4 > len)
            return HB_EPARSE;
        uint32_t elen = hb_get_be32(p + off);
        off += 4;
        if (off + elen > len)
            return HB_EPARSE;
        hb_digest_step(d, p + off, elen);
        off += elen;
    }
    return 0;
}

static int s_touch(hq_writer_t *w, uint32_t num)
{
    uint32_t *t = hb_vec_push(&w->touched);
    if (!t)
        return HB_ENOMEM;
    *t = num;
    return 0;
}

/* Consecutive batches of one hall, items[first .. first+n-1] of a commit,
 * stored as one chunk (hqstore.h's format: readers take chunks of any
 * size). The bounds keep a chunk as small as the batches a hall may send
 * at once, so retention and reads still work in modest steps. */
#define HQ_CHUNK_EVENTS_MAX 1024
#define HQ_CHUNK_BYTES_MAX ((size_t)256 << 10)

typedef struct chunk_run {
    uint32_t hall;
    size_t first, n; /* items */
    uint32_t count;  /* events */
    size_t bytes;    /* of the merged chunk */
    uint64_t next;   /* the sequence that would extend it */
} chunk_run_t;

static int s_run_put(hq_writer_t *w, MDB_txn *txn, hq_write_item_t **items, chunk_run_t *run)
{
    const hq_write_item_t *first = items[run->first];
    uint8_t key[12];
    hb_put_be32(key, first->hall_num);
    hb_put_be64(key + 4, first->first_seq);
    MDB_val k = {12, key}, v = {first->len, (void *)first->data};
    int rc;
    if (run->n == 1) {
        rc = mdb_put(txn, w->st->events, &k, &v, 0);
    } else {
        /* Written in place: LMDB reserves the value's room in its page. */
        v.mv_size = run->bytes;
        v.mv_data = NULL;
        rc = mdb_put(txn, w->st->events, &k, &v, MDB_RESERVE);
        if (rc == 0) {
            uint8_t *p = v.mv_data;
            hb_put_be32(p, run->count);
            size_t off = 4;
            for (size_t j = run->first; j < run->first + run->n; j++) {
                memcpy(p + off, items[j]->data + 4, items[j]->len - 4);
                off += items[j]->len - 4;
            }
        }
    }
    run->n = 0;
    return rc;
}

/* One attempt: returns an LMDB code (MDB_MAP_FULL means grow and retry). */
static int s_commit_once(hq_writer_t *w, hq_write_item_t **items, size_t n)
{
    chunk_run_t run = {0};
    for (size_t i = 0; i < w->touched.n; i++) {
        writer_hall_t *h = &w->halls.v[w->touched.v[i]];
        h->touched = h->failed = false;
    }
    w->touched.n = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(w->st->store.env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    uint32_t max_num = 0;
    int64_t now = hb_now_ms();
    for (size_t i = 0; i < n && rc == 0; i++) {
        hq_write_item_t *it = items[i];
        writer_hall_t *h = s_hall(w, it->hall_num);
        if (!h) {
            rc = ENOMEM;
            break;
        }
        if (!h->touched) {
            h->touched = true;
            h->failed = false;
            h->pending = h->tally;
            if (!h->id[0])
                memcpy(h->id, it->hall_id, HB_HALL_ID_MAX);
            if (s_touch(w, it->hall_num) != 0) {
                rc = ENOMEM;
                break;
            }
        }
        if (it->hall_num > max_num)
            max_num = it->hall_num;
        if (h->failed)
            continue;
        if (it->first_seq != h->pending.last_seq + 1) {
            /* The loop dedups before submitting, so this is a bug there:
             * refuse the batch rather than store a gap or a double. */
            hb_error("writer: hall %s batch starts at %llu, expected %llu; not stored", h->id,
                     (unsigned long long)it->first_seq,
                     (unsigned long long)(h->pending.last_seq + 1));
            h->failed = true;
            continue;
        }
        hb_digest_t d = h->pending.digest;
        if (s_digest_chunk(&d, it->data, it->len, it->count) != 0) {
            hb_error("writer: hall %s batch at %llu is malformed; not stored", h->id,
                     (unsigned long long)it->first_seq);
            h->failed = true;
            continue;
        }
        /* Consecutive batches of one hall in this commit become one record
         * (up to a bound): one B-tree insert instead of one per batch. */
        if (run.n && (run.hall != it->hall_num || it->first_seq != run.next ||
                      run.count + it->count > HQ_CHUNK_EVENTS_MAX ||
                      run.bytes + it->len - 4 > HQ_CHUNK_BYTES_MAX))
            rc = s_run_put(w, txn, items, &run);
        if (rc != 0)
            break;
        if (!run.n)
            run = (chunk_run_t){.hall = it->hall_num, .first = i, .bytes = 4};
        run.n++;
        run.count += it->count;
        run.bytes += it->len - 4;
        run.next = it->first_seq + it->count;
        for (uint32_t f = 0; f < it->n_flags && rc == 0; f++) {
            uint8_t fkey[12], fval[HQ_FLAG_BYTES_MAX];
            hb_put_be32(fkey, it->hall_num);
            hb_put_be64(fkey + 4, it->flags[f].seq);
            MDB_val fk = {12, fkey}, fv = {hq_flag_encode(&it->flags[f], now, fval), fval};
            rc = mdb_put(txn, w->st->flags, &fk, &fv, 0);
        }
        if (rc != 0)
            break;
        if (it->n_flags) {
            h->pending.anomalies += it->n_flags;
            h->pending.last_anomaly_seq = it->flags[it->n_flags - 1].seq;
            h->pending.last_anomaly_ms = now;
        }
        h->pending.digest = d;
        h->pending.last_seq += it->count;
        h->pending.events += it->count;
    }
    if (rc == 0 && run.n)
        rc = s_run_put(w, txn, items, &run);
    for (size_t i = 0; i < w->touched.n && rc == 0; i++) {
        writer_hall_t *h = &w->halls.v[w->touched.v[i]];
        if (h->pending.last_seq == h->last_seq)
            continue;
        hq_hall_record_t rec = {.num = w->touched.v[i], .tally = h->pending, .last_commit_ms = now};
        uint8_t buf[HQ_HALL_RECORD_BYTES];
        hq_hall_record_encode(&rec, buf);
        MDB_val k = {strlen(h->id), h->id}, v = {sizeof buf, buf};
        rc = mdb_put(txn, w->st->halls, &k, &v, 0);
    }
    if (rc == 0 && max_num + 1 > w->next_num) {
        w->next_num = max_num + 1;
        uint8_t buf[4];
        hb_put_be32(buf, w->next_num);
        MDB_val k = {9, "next_hall"}, v = {4, buf};
        rc = mdb_put(txn, w->st->meta, &k, &v, 0);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static void s_publish(hq_writer_t *w, bool committed)
{
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->touched.n; i++) {
        writer_hall_t *h = &w->halls.v[w->touched.v[i]];
        if (committed)
            h->tally = h->pending;
        hq_commit_t *r = hb_vec_push(&w->results);
        if (!r) {
            hb_error("writer: out of memory reporting commits");
            break;
        }
        *r = (hq_commit_t){
            .hall_num = w->touched.v[i], .ok = committed && !h->failed, .tally = h->tally};
        h->touched = false;
    }
    w->touched.n = 0;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->async);
}

static void s_process(hq_writer_t *w, hq_write_item_t *list)
{
    size_t n = 0, events = 0, bytes = 0;
    for (hq_write_item_t *it = list; it; it = it->next)
        n++;
    hq_write_item_t **items = malloc(n * sizeof *items);
    if (!items) {
        hb_error("writer: out of memory for %zu batches", n);
        return;
    }
    n = 0;
    for (hq_write_item_t *it = list; it; it = it->next) {
        items[n++] = it;
        /* cppcheck counts the first loop apart from this one: `it` is the
         * loop's condition here, never NULL. */
        /* cppcheck-suppress nullPointer */
        events += it->count;
        /* cppcheck-suppress nullPointer */
        bytes += it->len;
    }
    qsort(items, n, sizeof *items, s_item_cmp);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc;
    for (;;) {
        rc = s_commit_once(w, items, n);
        if (rc != MDB_MAP_FULL)
            break;
        if (hb_store_grow(&w->st->store) != 0)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    hb_histogram_observe(&w->commit_seconds, took / 1e3);
    int64_t committed_ns = (int64_t)t1.tv_sec * 1000000000 + t1.tv_nsec;
    if (rc != 0)
        hb_log_once("writer-commit", HB_LOG_ERROR, "writer: commit of %zu event(s) failed: %s",
                    events, mdb_strerror(rc));
    s_publish(w, rc == 0);
    pthread_mutex_lock(&w->lock);
    w->stats.queued_events -= events;
    w->stats.queued_bytes -= bytes;
    if (rc == 0) {
        w->stats.commits++;
        w->stats.events += events;
    } else {
        w->stats.failures++;
    }
    w->stats.last_commit_ms = took;
    w->stats.total_commit_ms += took;
    if (took > w->stats.max_commit_ms)
        w->stats.max_commit_ms = took;
    pthread_mutex_unlock(&w->lock);
    /* What was stored goes on to the sink, in key order (per hall, in
     * sequence order); the rest is freed. */
    hq_write_item_t *head = NULL, **tail = &head;
    for (size_t i = 0; i < n; i++) {
        bool stored = rc == 0 && !w->halls.v[items[i]->hall_num].failed;
        if (stored && w->sink) {
            items[i]->committed_ns = committed_ns;
            items[i]->next = NULL;
            *tail = items[i];
            tail = &items[i]->next;
        } else {
            free(items[i]);
        }
    }
    free(items);
    if (head)
        w->sink(head, w->sink_arg);
}

void hq_writer_set_sink(hq_writer_t *w, hq_items_fn fn, void *arg)
{
    w->sink = fn;
    w->sink_arg = arg;
}

static void *s_thread(void *arg)
{
    hq_writer_t *w = arg;
    hb_progress_register("writer");
    /* Named, so that top -H, perf and bench_ingest tell its CPU apart. */
    pthread_setname_np(pthread_self(), "hq-writer");
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->stopping)
            hb_progress_idle_wait(&w->cond, &w->lock);
        hq_write_item_t *list = w->head;
        w->head = w->tail = NULL;
        bool stop = w->stopping;
        pthread_mutex_unlock(&w->lock);
        if (list)
            s_process(w, list);
        else if (stop)
            break;
        hb_progress_beat();
    }
    hb_progress_unregister();
    return NULL;
}

static void s_async_cb(uv_async_t *handle)
{
    hq_writer_t *w = handle->data;
    pthread_mutex_lock(&w->lock);
    hq_commit_t *res = w->results.v;
    size_t n = w->results.n;
    w->results.raw_ = NULL; /* taken: the loop frees it */
    w->results.n = w->results.cap = 0;
    pthread_mutex_unlock(&w->lock);
    if (n > 0 && w->on_commit)
        w->on_commit(res, n, w->arg);
    free(res);
}

int hq_writer_start(hq_store_t *st, uv_loop_t *loop, const hq_hall_record_t *records, size_t n,
                    uint32_t next_num, size_t max_queue_bytes, hq_commit_fn on_commit, void *arg,
                    hq_writer_t **out)
{
    hq_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return HB_ENOMEM;
    w->st = st;
    w->max_queue_bytes = max_queue_bytes;
    w->on_commit = on_commit;
    w->arg = arg;
    w->next_num = next_num;
    w->halls.max = HQ_HALLS_MAX + 1;
    w->touched.max = HQ_HALLS_MAX;
    /* Results pile up only while the loop is slow to take them; a few
     * commits' worth of every hall is far more than that. */
    w->results.max = 4 * (size_t)HQ_HALLS_MAX;
    for (size_t i = 0; i < n; i++) {
        writer_hall_t *h = s_hall(w, records[i].num);
        if (!h) {
            hb_vec_free(&w->halls);
            free(w);
            return HB_ENOMEM;
        }
        memcpy(h->id, records[i].id, HB_HALL_ID_MAX);
        h->tally = records[i].tally;
    }
    pthread_mutex_init(&w->lock, NULL);
    hb_histogram_init(&w->commit_seconds, &hb_buckets_latency);
    if (hb_progress_cond_init(&w->cond) != 0) {
        hb_vec_free(&w->halls);
        free(w);
        return HB_ESYS;
    }
    uv_async_init(loop, &w->async, s_async_cb);
    w->async.data = w;
    if (pthread_create(&w->thread, NULL, s_thread, w) != 0) {
        uv_close((uv_handle_t *)&w->async, NULL);
        return HB_ESYS; /* The handle memory leaks; the process is exiting. */
    }
    *out = w;
    return 0;
}

hq_write_item_t *hq_write_item_new(size_t len, uint32_t n_flags)
{
    size_t align = _Alignof(hq_flag_t);
    size_t flags_at = (sizeof(hq_write_item_t) + len + align - 1) / align * align;
    hq_write_item_t *it = malloc(flags_at + (size_t)n_flags * sizeof(hq_flag_t));
    if (it) {
        memset(it, 0, sizeof *it);
        it->len = len;
        it->n_flags = n_flags;
        it->flags = n_flags ? (hq_flag_t *)((char *)it + flags_at) : NULL;
    }
    return it;
}

void hq_write_items_free(hq_write_item_t *items)
{
    while (items) {
        hq_write_item_t *next = items->next;
        free(items);
        items = next;
    }
}

int hq_writer_submit(hq_writer_t *w, hq_write_item_t **item)
{
    hq_write_item_t *it = *item;
    pthread_mutex_lock(&w->lock);
    if (w->stats.queued_bytes + it->len > w->max_queue_bytes && w->head) {
        pthread_mutex_unlock(&w->lock);
        return HB_EAGAIN;
    }
    it->next = NULL;
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->stats.queued_events += it->count;
    w->stats.queued_bytes += it->len;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    *item = NULL;
    return 0;
}

const hb_histogram_t *hq_writer_commit_histogram(const hq_writer_t *w)
{
    return &w->commit_seconds;
}

void hq_writer_get_stats(hq_writer_t *w, hq_writer_stats_t *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}

static void s_async_closed(uv_handle_t *handle)
{
    hq_writer_t *w = handle->data;
    hb_vec_free(&w->results);
    hb_vec_free(&w->halls);
    hb_vec_free(&w->touched);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

void hq_writer_stop(hq_writer_t **wp)
{
    hq_writer_t *w = *wp;
    if (!w)
        return;
    *wp = NULL;
    hb_progress_stop(w->thread, &w->lock, &w->stopping, (pthread_cond_t *const[]){&w->cond}, 1);
    /* Deliver the last commits' results before the handle goes. */
    s_async_cb(&w->async);
    uv_close((uv_handle_t *)&w->async, s_async_closed);
}
