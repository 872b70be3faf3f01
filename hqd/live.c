/* The live mirror (see live.h). One thread: rebuild, then apply batches as
 * they come. States are written only by that thread, under the write lock,
 * one batch at a time, so a reader never sees half a batch. */
#include "live.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_REBUILD_PAGE 4096 /* events read per store transaction at start */

struct hq_live {
    hq_store_t *st;
    pthread_t thread;
    pthread_mutex_t lock; /* the queue and stats */
    pthread_cond_t cond;  /* work arrived, or stopping */
    pthread_cond_t room;  /* the queue shrank */
    hq_write_item_t *head, *tail;
    size_t queued_bytes, max_queue_bytes;
    bool busy, stopping;
    hq_live_stats_t stats;
    pthread_rwlock_t rw; /* the states */
    hb_hall_state_t **states; /* by hall number */
    size_t cap;
    hq_hall_record_t *records; /* to rebuild; freed after */
    size_t n_records;
    /* Counted by the thread while it applies; added to `stats` under the
     * mutex after each batch. */
    uint64_t t_events, t_skipped, t_anomalies;
};

static hb_hall_state_t *s_state(hq_live_t *live, uint32_t num)
{
    if (num >= live->cap) {
        size_t cap = live->cap ? live->cap : 1024;
        while (cap <= num)
            cap *= 2;
        hb_hall_state_t **p = realloc(live->states, cap * sizeof *p);
        if (!p)
            return NULL;
        memset(p + live->cap, 0, (cap - live->cap) * sizeof *p);
        live->states = p;
        live->cap = cap;
    }
    if (!live->states[num])
        live->states[num] = hb_hall_state_new();
    return live->states[num];
}

/* Applies one event unless the state holds it already. */
static void s_apply(hq_live_t *live, hb_hall_state_t *s, uint64_t seq, const uint8_t *data,
                    size_t len, uint64_t *applied)
{
    if (seq <= s->seq) {
        live->t_skipped++;
        return;
    }
    uint64_t before = s->anomalies;
    hb_hall_state_apply_bytes(s, data, len);
    if (s->seq < seq)
        s->seq = seq; /* undecodable: its number still passed */
    live->t_anomalies += s->anomalies - before;
    (*applied)++;
}

static void s_apply_item(hq_live_t *live, const hq_write_item_t *it)
{
    hb_hall_state_t *s = s_state(live, it->hall_num);
    if (!s) {
        hb_log_once("live-nomem", HB_LOG_ERROR, "live: out of memory for hall %s", it->hall_id);
        return;
    }
    size_t off = 4;
    uint64_t applied = 0;
    for (uint32_t i = 0; i < it->count && off + 4 <= it->len; i++) {
        uint32_t elen = hb_get_be32(it->data + off);
        off += 4;
        if (off + elen > it->len)
            break;
        s_apply(live, s, it->first_seq + i, it->data + off, elen, &applied);
        off += elen;
    }
    live->t_events += applied;
}

static void s_merge_counts(hq_live_t *live)
{
    live->stats.events += live->t_events;
    live->stats.skipped += live->t_skipped;
    live->stats.anomalies += live->t_anomalies;
    live->t_events = live->t_skipped = live->t_anomalies = 0;
}

typedef struct rebuild_ctx {
    hq_live_t *live;
    hb_hall_state_t *s;
    uint64_t applied, next, until;
} rebuild_ctx_t;

static int s_rebuild_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    rebuild_ctx_t *c = arg;
    if (seq > c->until)
        return 1;
    s_apply(c->live, c->s, seq, data, len, &c->applied);
    c->next = seq + 1;
    return 0;
}

static void s_rebuild(hq_live_t *live)
{
    int64_t t0 = hb_mono_ms();
    uint64_t total = 0;
    for (size_t i = 0; i < live->n_records; i++) {
        const hq_hall_record_t *rec = &live->records[i];
        if (rec->last_seq == 0)
            continue;
        pthread_rwlock_wrlock(&live->rw);
        hb_hall_state_t *s = s_state(live, rec->num);
        pthread_rwlock_unlock(&live->rw);
        if (!s)
            continue;
        rebuild_ctx_t c = {.live = live, .s = s, .next = 1, .until = rec->last_seq};
        while (c.next <= c.until) {
            uint64_t from = c.next;
            /* The write lock per page: readers wait one page at most. */
            pthread_rwlock_wrlock(&live->rw);
            int rc = hq_store_read_events(live->st, rec->num, from, LIVE_REBUILD_PAGE, s_rebuild_cb, &c);
            pthread_rwlock_unlock(&live->rw);
            if (rc != 0 || c.next == from) {
                hb_warn("live: hall %s: cannot read its events from %llu (%s); its mirror "
                        "starts from what was read",
                        rec->id, (unsigned long long)from, hb_strerror(rc ? rc : HB_ENOTFOUND));
                break;
            }
        }
        total += c.applied;
    }
    pthread_mutex_lock(&live->lock);
    live->stats.rebuilt_events = total;
    live->t_events += total;
    s_merge_counts(live);
    live->stats.rebuild_ms = (double)(hb_mono_ms() - t0);
    live->stats.rebuilding = false;
    pthread_cond_broadcast(&live->room);
    pthread_mutex_unlock(&live->lock);
    free(live->records);
    live->records = NULL;
    if (total)
        hb_info("live: %zu hall(s) rebuilt from %llu stored event(s) in %.0f ms", live->n_records,
                (unsigned long long)total, live->stats.rebuild_ms);
}

static void *s_thread(void *arg)
{
    hq_live_t *live = arg;
    s_rebuild(live);
    for (;;) {
        pthread_mutex_lock(&live->lock);
        while (!live->head && !live->stopping)
            pthread_cond_wait(&live->cond, &live->lock);
        hq_write_item_t *list = live->head;
        live->head = live->tail = NULL;
        bool stop = live->stopping;
        live->busy = list != NULL;
        pthread_mutex_unlock(&live->lock);
        if (!list) {
            if (stop)
                break;
            continue;
        }
        size_t bytes = 0;
        pthread_rwlock_wrlock(&live->rw);
        for (hq_write_item_t *it = list; it; it = it->next)
            s_apply_item(live, it);
        pthread_rwlock_unlock(&live->rw);
        while (list) {
            hq_write_item_t *next = list->next;
            bytes += list->len;
            free(list);
            list = next;
        }
        pthread_mutex_lock(&live->lock);
        s_merge_counts(live);
        live->queued_bytes -= bytes;
        live->busy = false;
        pthread_cond_broadcast(&live->room);
        pthread_mutex_unlock(&live->lock);
    }
    return NULL;
}

int hq_live_start(hq_store_t *st, const hq_hall_record_t *records, size_t n,
                  size_t max_queue_bytes, hq_live_t **out)
{
    hq_live_t *live = calloc(1, sizeof *live);
    if (!live)
        return HB_ENOMEM;
    live->st = st;
    live->max_queue_bytes = max_queue_bytes;
    if (n) {
        live->records = malloc(n * sizeof *records);
        if (!live->records) {
            free(live);
            return HB_ENOMEM;
        }
        memcpy(live->records, records, n * sizeof *records);
        live->n_records = n;
    }
    live->stats.rebuilding = true;
    pthread_mutex_init(&live->lock, NULL);
    pthread_cond_init(&live->cond, NULL);
    pthread_cond_init(&live->room, NULL);
    pthread_rwlock_init(&live->rw, NULL);
    if (pthread_create(&live->thread, NULL, s_thread, live) != 0) {
        free(live->records);
        free(live);
        return HB_ESYS;
    }
    *out = live;
    return 0;
}

void hq_live_submit(hq_live_t *live, hq_write_item_t *items)
{
    if (!items)
        return;
    size_t bytes = 0;
    hq_write_item_t *last = items;
    for (hq_write_item_t *it = items; it; it = it->next) {
        bytes += it->len;
        last = it;
    }
    pthread_mutex_lock(&live->lock);
    /* Back-pressure: the writer waits rather than memory growing without
     * bound when the mirror falls behind (it catches up at once). */
    while (live->queued_bytes > 0 && live->queued_bytes + bytes > live->max_queue_bytes &&
           !live->stopping)
        pthread_cond_wait(&live->room, &live->lock);
    if (live->tail)
        live->tail->next = items;
    else
        live->head = items;
    live->tail = last;
    live->queued_bytes += bytes;
    pthread_cond_signal(&live->cond);
    pthread_mutex_unlock(&live->lock);
}

void hq_live_flush(hq_live_t *live)
{
    pthread_mutex_lock(&live->lock);
    while (live->head || live->busy || live->stats.rebuilding)
        pthread_cond_wait(&live->room, &live->lock);
    pthread_mutex_unlock(&live->lock);
}

void hq_live_stop(hq_live_t **livep)
{
    hq_live_t *live = *livep;
    if (!live)
        return;
    *livep = NULL;
    pthread_mutex_lock(&live->lock);
    live->stopping = true;
    pthread_cond_broadcast(&live->cond);
    pthread_cond_broadcast(&live->room);
    pthread_mutex_unlock(&live->lock);
    pthread_join(live->thread, NULL);
    while (live->head) {
        hq_write_item_t *next = live->head->next;
        free(live->head);
        live->head = next;
    }
    for (size_t i = 0; i < live->cap; i++)
        hb_hall_state_destroy(&live->states[i]);
    free(live->states);
    free(live->records);
    pthread_rwlock_destroy(&live->rw);
    pthread_cond_destroy(&live->cond);
    pthread_cond_destroy(&live->room);
    pthread_mutex_destroy(&live->lock);
    free(live);
}

void hq_live_read_lock(hq_live_t *live) { pthread_rwlock_rdlock(&live->rw); }
void hq_live_read_unlock(hq_live_t *live) { pthread_rwlock_unlock(&live->rw); }

const hb_hall_state_t *hq_live_state(hq_live_t *live, uint32_t num)
{
    return num < live->cap ? live->states[num] : NULL;
}

void hq_live_get_stats(hq_live_t *live, hq_live_stats_t *out)
{
    pthread_mutex_lock(&live->lock);
    *out = live->stats;
    out->queued_bytes = live->queued_bytes;
    pthread_mutex_unlock(&live->lock);
}
