/* The writer's threads (see writer.h). The writer thread takes, per
 * wake-up, every batch that queued while the previous commit was syncing,
 * checks it against its hall's stream and appends it to the commit log in
 * one synced transaction (hqlog.h): each event written once, whatever the
 * number of halls. The fold thread folds logged commits into the per-hall
 * layout in larger transactions, at most every fold_ms. Both beat
 * (hallbus/progress.h) after every commit and every idle second: a commit
 * stuck in a system call stops systemd's watchdog. */
#include "writer.h"

#include "hqlog.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/progress.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <pthread.h>
#include <stdatomic.h>
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
    hq_write_queue_t queue;
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
    /* The commit log and its fold. */
    hq_log_t *log;
    pthread_t fold_thread;
    bool fold_started;
    atomic_bool fold_stopping;
    int fold_ms;
    uint64_t fold_bytes, log_max_bytes;
    /* Thread-private from here on. */
    HB_VEC(writer_hall_t) halls; /* by hall number */
    HB_VEC(uint32_t) touched;    /* the halls the open transaction writes */
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

static int s_touch(hq_writer_t *w, uint32_t num)
{
    uint32_t *t = hb_vec_push(&w->touched);
    if (!t)
        return HB_ENOMEM;
    *t = num;
    return 0;
}

/* One commit of the log: every batch checked against its hall's stream
 * (the loop dedups before submitting, so a batch that does not follow is a
 * bug there: it is refused rather than stored as a gap or a double),
 * encoded once, and appended in one synced transaction. `logged[i]` says
 * which items the entry holds. Returns an HB_E code (nothing logged). */
static int s_log_commit(hq_writer_t *w, hq_write_item_t **items, size_t n, bool *logged)
{
    for (size_t i = 0; i < w->touched.n; i++) {
        writer_hall_t *h = &w->halls.v[w->touched.v[i]];
        h->touched = h->failed = false;
    }
    w->touched.n = 0;
    size_t bytes = 13, flags = 0;
    for (size_t i = 0; i < n; i++) {
        const hq_write_item_t *it = items[i];
        bytes += hq_log_run_bytes(strnlen(it->hall_id, HB_HALL_ID_MAX - 1), it->flags, it->n_flags,
                                  it->len);
        flags += it->n_flags;
        logged[i] = false;
    }
    int64_t now = hb_now_ms();
    hq_log_entry_t *e = hq_log_entry_new(n, flags, bytes, now);
    if (!e)
        return HB_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        hq_write_item_t *it = items[i];
        writer_hall_t *h = s_hall(w, it->hall_num);
        if (!h) {
            hq_log_entry_free(e);
            return HB_ENOMEM;
        }
        if (!h->touched) {
            h->touched = true;
            h->failed = false;
            h->pending = h->tally;
            if (!h->id[0])
                memcpy(h->id, it->hall_id, HB_HALL_ID_MAX);
            if (s_touch(w, it->hall_num) != 0) {
                hq_log_entry_free(e);
                return HB_ENOMEM;
            }
        }
        if (h->failed)
            continue;
        if (it->first_seq != h->pending.last_seq + 1) {
            hb_error("writer: hall %s batch starts at %llu, expected %llu; not stored", h->id,
                     (unsigned long long)it->first_seq,
                     (unsigned long long)(h->pending.last_seq + 1));
            h->failed = true;
            continue;
        }
        if (hq_tally_step(&h->pending, it->data, it->len, it->count, it->flags, it->n_flags, now) !=
            0) {
            hb_error("writer: hall %s batch at %llu is malformed; not stored", h->id,
                     (unsigned long long)it->first_seq);
            h->failed = true;
            continue;
        }
        hq_log_entry_add(e, it->hall_num, h->id, it->first_seq, it->count, it->flags, it->n_flags,
                         it->data, it->len, &h->pending);
        logged[i] = true;
    }
    int rc = e->n_runs ? hq_log_append(w->log, e) : 0;
    if (rc != 0 || !e->n_runs)
        hq_log_entry_free(e);
    return rc;
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

/* The log's bound: past `log_max_bytes` unfolded, the writer waits for
 * the fold (its queue fills meanwhile and the ingest tells halls to retry
 * later), beating while it waits. */
static void s_wait_for_room(hq_writer_t *w)
{
    if (hq_log_wait_room(w->log, w->log_max_bytes, 0))
        return;
    hq_log_note_full_wait(w->log);
    hb_log_once("writer-log-full", HB_LOG_WARN,
                "writer: the commit log holds %llu MiB not folded into the store yet (the "
                "bound); new batches wait for the fold (hallbus_hq_log_full_waits_total)",
                (unsigned long long)(w->log_max_bytes >> 20));
    while (!hq_log_wait_room(w->log, w->log_max_bytes, 250)) {
        hb_progress_beat();
        if (atomic_load(&w->fold_stopping))
            break;
    }
}

static void s_process(hq_writer_t *w, hq_write_item_t *list)
{
    size_t n = 0, events = 0, bytes = 0;
    for (hq_write_item_t *it = list; it; it = it->next)
        n++;
    hq_write_item_t **items = malloc(n * sizeof *items);
    bool *logged = malloc(n * sizeof *logged);
    if (!items || !logged) {
        hb_error("writer: out of memory for %zu batches", n);
        free(items);
        free(logged);
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
    s_wait_for_room(w);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = s_log_commit(w, items, n, logged);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    hb_histogram_observe(&w->commit_seconds, took / 1e3);
    int64_t committed_ns = (int64_t)t1.tv_sec * 1000000000 + t1.tv_nsec;
    if (rc != 0)
        hb_log_once("writer-commit", HB_LOG_ERROR, "writer: commit of %zu event(s) failed: %s",
                    events, hb_strerror(rc));
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
    /* What was logged goes on to the sink, in key order (per hall, in
     * sequence order); the rest is freed. */
    hq_write_item_t *head = NULL, **tail = &head;
    for (size_t i = 0; i < n; i++) {
        bool stored = rc == 0 && logged[i];
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
    free(logged);
    if (head)
        w->sink(head, w->sink_arg);
}

/* The logged commits one fold takes at most. */
#define HQ_FOLD_ENTRIES_MAX 8192

/* Folds what the log holds (at most HQ_FOLD_ENTRIES_MAX commits): 0, or
 * the fold's HB_E code. */
static int s_fold_some(hq_writer_t *w, hq_log_entry_t **v)
{
    size_t n = hq_log_unfolded(w->log, v, HQ_FOLD_ENTRIES_MAX);
    if (n == 0)
        return 0;
    int64_t t0 = hb_mono_ns();
    int rc = hq_log_fold(w->st, v, n);
    double took = (double)(hb_mono_ns() - t0) / 1e6;
    if (rc != 0) {
        hq_log_fold_failed(w->log);
        return rc;
    }
    uint64_t events = 0;
    for (size_t i = 0; i < n; i++)
        events += v[i]->events;
    hq_log_mark_folded(w->log, v[n - 1]->id, took, events);
    return 0;
}

static void *s_fold_thread(void *arg)
{
    hq_writer_t *w = arg;
    hb_progress_register("fold");
    pthread_setname_np(pthread_self(), "hq-fold");
    hq_log_entry_t **v = malloc(HQ_FOLD_ENTRIES_MAX * sizeof *v);
    int wait_ms = w->fold_ms;
    while (v) {
        uint64_t bytes;
        int64_t age;
        bool stop = atomic_load(&w->fold_stopping);
        size_t n = hq_log_wait_work(w->log, wait_ms > 0 ? wait_ms : 1, &stop, &bytes, &age);
        hb_progress_beat();
        stop = atomic_load(&w->fold_stopping);
        wait_ms = w->fold_ms;
        if (n == 0) {
            if (stop)
                break;
            continue;
        }
        if (!stop && age >= 0 && age < w->fold_ms && bytes < w->fold_bytes) {
            wait_ms = (int)(w->fold_ms - age);
            continue;
        }
        if (s_fold_some(w, v) != 0) {
            if (stop)
                break; /* the log keeps it: the next start folds it */
            wait_ms = 1000;
        }
    }
    free(v);
    hb_progress_unregister();
    return NULL;
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
        while (!w->queue.head && !w->stopping)
            hb_progress_idle_wait(&w->cond, &w->lock);
        hq_write_item_t *list = hq_write_queue_take(&w->queue);
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
    (void)next_num; /* the fold keeps the store's next hall number */
    w->st = st;
    w->log = st->log;
    w->max_queue_bytes = max_queue_bytes;
    w->on_commit = on_commit;
    w->arg = arg;
    w->fold_ms = HQ_FOLD_MS_DEFAULT;
    w->fold_bytes = HQ_FOLD_BYTES_DEFAULT;
    w->log_max_bytes = HQ_LOG_MAX_BYTES_DEFAULT;
    atomic_init(&w->fold_stopping, false);
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

void hq_writer_set_fold(hq_writer_t *w, int fold_ms, uint64_t fold_bytes, uint64_t log_max_bytes)
{
    if (fold_ms > 0)
        w->fold_ms = fold_ms;
    if (fold_bytes > 0)
        w->fold_bytes = fold_bytes;
    if (log_max_bytes > 0)
        w->log_max_bytes = log_max_bytes;
}

/* The fold starts with the first submit, after the settings above. */
static void s_start_fold(hq_writer_t *w)
{
    if (w->fold_started)
        return;
    w->fold_started = true;
    if (pthread_create(&w->fold_thread, NULL, s_fold_thread, w) != 0) {
        w->fold_started = false;
        hb_log_once("writer-fold-thread", HB_LOG_ERROR,
                    "writer: cannot start the fold thread; logged commits are folded at stop");
    }
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

void hq_write_queue_put(hq_write_queue_t *q, hq_write_item_t *items)
{
    if (!items)
        return;
    if (q->tail)
        q->tail->next = items;
    else
        q->head = items;
    for (q->tail = items; q->tail->next; q->tail = q->tail->next)
        ;
}

hq_write_item_t *hq_write_queue_take(hq_write_queue_t *q)
{
    hq_write_item_t *items = q->head;
    q->head = q->tail = NULL;
    return items;
}

int hq_writer_submit(hq_writer_t *w, hq_write_item_t **item)
{
    s_start_fold(w);
    hq_write_item_t *it = *item;
    pthread_mutex_lock(&w->lock);
    if (w->stats.queued_bytes + it->len > w->max_queue_bytes && w->queue.head) {
        pthread_mutex_unlock(&w->lock);
        return HB_EAGAIN;
    }
    it->next = NULL;
    hq_write_queue_put(&w->queue, it);
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
    hq_log_stats_t ls;
    hq_log_get_stats(w->log, &ls);
    out->log_entries = ls.entries;
    out->log_events = ls.events;
    out->log_bytes = ls.bytes;
    out->log_max_bytes = w->log_max_bytes;
    out->folds = ls.folds;
    out->folded_events = ls.folded_events;
    out->fold_failures = ls.fold_failures;
    out->last_fold_ms = ls.last_fold_ms;
    out->max_fold_ms = ls.max_fold_ms;
    out->log_full_waits = ls.full_waits;
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
    /* Then the fold takes what the log holds, so that a clean stop leaves
     * an empty log (what a release without the log reads: hqlog.h). */
    atomic_store(&w->fold_stopping, true);
    hq_log_wake(w->log);
    if (w->fold_started) {
        pthread_join(w->fold_thread, NULL);
    } else {
        hq_log_entry_t **v = malloc(HQ_FOLD_ENTRIES_MAX * sizeof *v);
        while (v && hq_log_get_depth(w->log) > 0 && s_fold_some(w, v) == 0) {
        }
        free(v);
    }
    if (hq_log_get_depth(w->log) == 0 && hq_log_trim(w->log) != 0)
        hb_warn("writer: the commit log could not be trimmed at stop; the next start does it");
    /* Deliver the last commits' results before the handle goes. */
    s_async_cb(&w->async);
    uv_close((uv_handle_t *)&w->async, s_async_closed);
}
