/* The live mirror (see live.h). One thread: rebuild, then apply batches as
 * they come, and snapshot what changed. States are written only by that
 * thread, under the write lock, one hall's batch at a time, so a reader
 * never sees half a batch; the thread reads its own states without the lock.
 * The thread beats (hallbus/progress.h) per page of the rebuild, per batch
 * applied and every idle second, so systemd's watchdog hears of a stuck
 * mirror, and hqd asks for more start time only while the rebuild moves.
 *
 * Snapshots: key hall number (BE u32) -> the reducer's snapshot JSON, in
 * an LMDB environment of the mirror's own (no contention with the event
 * writer). A snapshot is a cache: losing one costs a longer rebuild. A
 * round of snapshots spends at most LIVE_SNAPSHOT_BUDGET_MS and goes on
 * where the last one stopped; a hall that changes fast is snapshotted at
 * most every snapshot_ms / LIVE_SNAPSHOT_FAST_DIV however many events it
 * takes (its whole state is written each time, so a busy hall with
 * thousands of live tickets would otherwise cost the mirror more in
 * snapshots than in events: 32% of hqd's samples in the issue-17 profile).
 *
 * The writer never waits for the mirror: a committed batch that does not
 * fit the queue is dropped here and its hall marked behind; the thread
 * reads what it missed back from the event store (the batch is committed,
 * so the store has it) before it applies anything newer of that hall.
 * Memory stays bounded, and a mirror that falls behind lags, counts it
 * (stats: dropped_*, caught_up_events, behind_halls) and catches up. */
#include "live.h"

#include "hallbus/codec.h"
#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/progress.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE_REBUILD_PAGE 4096       /* events read per store transaction at start */
#define LIVE_SNAPSHOTS_PER_ROUND 512 /* halls snapshotted in one transaction at most */
#define LIVE_IDLE_WAKE_MS 1000       /* the thread looks at snapshots this often when idle */
#define LIVE_SNAPSHOT_BUDGET_MS 50   /* one round of snapshots takes at most this long */
#define LIVE_SNAPSHOT_FAST_DIV 6     /* a busy hall: at most every snapshot_ms / this */

typedef struct live_hall {
    uint64_t snap_seq; /* seq of the newest snapshot written (or loaded) */
    int64_t snap_mono; /* when */
    bool changed;      /* in the changed list for the stream */
} live_hall_t;

struct hq_live {
    hq_store_t *st;
    pthread_t thread;
    pthread_mutex_t lock; /* the queue and stats */
    pthread_cond_t cond;  /* work arrived, or stopping */
    pthread_cond_t room;  /* the queue shrank */
    hq_write_queue_t queue;
    size_t queued_bytes, max_queue_bytes;
    bool busy, stopping;
    hq_live_stats_t stats;
    pthread_rwlock_t rw;              /* the states */
    HB_VEC(hb_hall_state_t *) states; /* by hall number */
    /* By hall number, the thread's (changed: under lock); grown first, so
     * it always has as many halls as `states`. */
    HB_VEC(live_hall_t) meta;
    hq_live_config_t cfg;
    hb_store_t snap;
    MDB_dbi snaps;
    bool snap_ok;
    HB_VEC(uint32_t) changed; /* hall numbers, under lock */
    /* Halls whose batches were dropped, to read back from the store: by
     * hall number the last dropped sequence (0: none), and the list of
     * those halls (each once). Both under lock. */
    HB_VEC(uint64_t) behind_upto;
    HB_VEC(uint32_t) behind;
    size_t snap_cursor;       /* where the next snapshot round starts (thread) */
    HB_VEC(uint32_t) touched; /* halls of the batch being applied (thread) */
    int64_t last_sweep_mono;
    hq_hall_record_t *records; /* to rebuild; freed after */
    size_t n_records;
    /* Counted by the thread while it applies; added to `stats` under the
     * mutex after each batch. */
    uint64_t t_events, t_skipped, t_anomalies, t_caught_up;
    hb_histogram_t lag_seconds; /* recorded by the thread, read by scrapes */
    /* Where the thread decodes each event (codec.h): no malloc and free per
     * piece of every envelope. An envelope is at most HB_EVENT_MAX bytes;
     * one whose pieces need more takes the rest from malloc. */
    hb_unpack_arena_t arena;
    uint8_t arena_buf[32768];
};

static hb_hall_state_t *s_state(hq_live_t *live, uint32_t num)
{
    if (num >= live->states.n) {
        pthread_mutex_lock(&live->lock);
        live_hall_t *m = hb_vec_at(&live->meta, num);
        pthread_mutex_unlock(&live->lock);
        if (!m || !hb_vec_at(&live->states, num))
            return NULL;
    }
    if (!live->states.v[num])
        live->states.v[num] = hb_hall_state_new();
    return live->states.v[num];
}

/* Applies one event of hall `num` unless the state holds it already.
 * With `count`, the tickets it served go to the hall's trend (trend.h) at
 * the event's own time; the start-up rebuild does not count (the trend
 * knows that hall's today before then as a gap). */
static void s_apply(hq_live_t *live, uint32_t num, hb_hall_state_t *s, uint64_t seq,
                    const uint8_t *data, size_t len, bool count, uint64_t *applied)
{
    if (seq <= s->seq) {
        live->t_skipped++;
        return;
    }
    uint64_t before = s->anomalies;
    uint32_t served = s->today.served;
    /* hb_hall_state_apply_bytes, with the envelope in the arena. */
    hb_arena_mark_t at = hb_arena_mark(&live->arena);
    Hallbus__Envelope *env = hb_envelope_unpack_in(&live->arena, data, len);
    if (env)
        hb_hall_state_apply(s, env);
    else
        s->anomalies++;
    hb_arena_release(&live->arena, env ? &env->base : NULL, at);
    if (s->seq < seq)
        s->seq = seq; /* undecodable: its number still passed */
    live->t_anomalies += s->anomalies - before;
    (*applied)++;
    /* A day_started sets today's count back to 0: no tickets served then. */
    if (count && live->cfg.trend && s->today.served > served)
        hq_trend_served(live->cfg.trend, num, s->timezone, s->at_ms, s->today.served - served);
}

static void s_touch(hq_live_t *live, uint32_t num)
{
    if (live->touched.n && live->touched.v[live->touched.n - 1] == num)
        return; /* batches come sorted by hall */
    uint32_t *t = hb_vec_push(&live->touched);
    if (t)
        *t = num;
}

static void s_apply_item(hq_live_t *live, const hq_write_item_t *it)
{
    hb_hall_state_t *s = s_state(live, it->hall_num);
    if (!s) {
        hb_log_once("live-nomem", HB_LOG_ERROR, "live: out of memory for hall %s", it->hall_id);
        return;
    }
    s_touch(live, it->hall_num);
    uint64_t applied = 0;
    hq_chunk_t c;
    const uint8_t *ev;
    uint32_t elen;
    if (hq_chunk_open(&c, it->data, it->len) == 0)
        while (hq_chunk_next(&c, &ev, &elen) > 0)
            s_apply(live, it->hall_num, s, it->first_seq + c.i - 1, ev, elen, true, &applied);
    live->t_events += applied;
}

static void s_merge_counts(hq_live_t *live)
{
    live->stats.events += live->t_events;
    live->stats.skipped += live->t_skipped;
    live->stats.anomalies += live->t_anomalies;
    live->stats.caught_up_events += live->t_caught_up;
    live->t_events = live->t_skipped = live->t_anomalies = live->t_caught_up = 0;
}

/* ----------------------------------------------------------- snapshots ---- */

/* Whether hall `m` is due a snapshot: `snapshot_events` new events (but
 * not more often than snapshot_ms / LIVE_SNAPSHOT_FAST_DIV), or any change
 * `snapshot_ms` after its last one. */
static bool s_snapshot_due(const hq_live_t *live, const live_hall_t *m, uint64_t seq, int64_t now)
{
    int64_t age = now - m->snap_mono;
    if (age >= live->cfg.snapshot_ms)
        return true;
    return seq - m->snap_seq >= live->cfg.snapshot_events &&
           age >= live->cfg.snapshot_ms / LIVE_SNAPSHOT_FAST_DIV;
}

/* Writes the snapshots of halls that are due (or, with `all`, of every hall
 * that moved since its last one), at most LIVE_SNAPSHOTS_PER_ROUND and
 * LIVE_SNAPSHOT_BUDGET_MS, from where the last round stopped. */
static void s_snapshot_round(hq_live_t *live, bool all)
{
    if (!live->snap_ok)
        return;
    int64_t now = hb_mono_ms();
    MDB_txn *txn = NULL;
    size_t written = 0, n = live->states.n;
    size_t start = live->snap_cursor < n ? live->snap_cursor : 0, step = 0;
    for (; step < n; step++) {
        if (!all && (written >= LIVE_SNAPSHOTS_PER_ROUND ||
                     (written > 0 && hb_mono_ms() - now >= LIVE_SNAPSHOT_BUDGET_MS)))
            break;
        size_t num = (start + step) % n;
        const hb_hall_state_t *st = live->states.v[num];
        live_hall_t *m = &live->meta.v[num];
        if (!st || st->seq <= m->snap_seq)
            continue;
        if (!all && !s_snapshot_due(live, m, st->seq, now))
            continue;
        json_t *j = hb_hall_state_to_json(st);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!text)
            break;
        if (!txn && mdb_txn_begin(live->snap.env, NULL, 0, &txn) != 0) {
            free(text);
            txn = NULL;
            break;
        }
        uint8_t key[4];
        hb_put_be32(key, (uint32_t)num);
        MDB_val k = {4, key}, v = {strlen(text), text};
        int rc = mdb_put(txn, live->snaps, &k, &v, 0);
        free(text);
        if (rc == MDB_MAP_FULL) {
            /* Grow with nothing open, then try the rest next round. */
            mdb_txn_abort(txn);
            txn = NULL;
            written = 0;
            hb_store_grow(&live->snap);
            return;
        }
        if (rc != 0)
            break;
        m->snap_seq = st->seq;
        m->snap_mono = now;
        written++;
    }
    live->snap_cursor = n ? (start + step) % n : 0;
    if (!txn)
        return;
    if (mdb_txn_commit(txn) != 0) {
        hb_log_once("live-snapshot", HB_LOG_WARN, "live: cannot write the mirror's snapshots");
        return;
    }
    pthread_mutex_lock(&live->lock);
    live->stats.snapshots_written += written;
    pthread_mutex_unlock(&live->lock);
}

/* A hall's stored snapshot, when it is usable for a stream ending at `last`. */
static hb_hall_state_t *s_snapshot_load(hq_live_t *live, uint32_t num, uint64_t last)
{
    if (!live->snap_ok)
        return NULL;
    MDB_txn *txn;
    if (mdb_txn_begin(live->snap.env, NULL, MDB_RDONLY, &txn) != 0)
        return NULL;
    uint8_t key[4];
    hb_put_be32(key, num);
    MDB_val k = {4, key}, v;
    hb_hall_state_t *s = NULL;
    if (mdb_get(txn, live->snaps, &k, &v) == 0) {
        json_t *j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        char err[256];
        if (!j || hb_hall_state_from_json(j, &s, err, sizeof err) != 0)
            hb_warn("live: hall number %u: its snapshot does not read; rebuilt from its events",
                    num);
        json_decref(j);
        if (s && s->seq > last) {
            /* Newer than the store (a snapshot from before a restore of the
             * event store): not this stream's. */
            hb_hall_state_destroy(&s);
        }
    }
    mdb_txn_abort(txn);
    return s;
}

/* ------------------------------------------------------------- rebuild ---- */

typedef struct rebuild_ctx {
    hq_live_t *live;
    hb_hall_state_t *s;
    uint32_t num;
    bool count; /* catching up counts for the trend; the start-up rebuild does not */
    uint64_t applied, next, until;
} rebuild_ctx_t;

static int s_rebuild_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    rebuild_ctx_t *c = arg;
    if (seq > c->until)
        return 1;
    s_apply(c->live, c->num, c->s, seq, data, len, c->count, &c->applied);
    c->next = seq + 1;
    return 0;
}

/* Reads hall `num`'s events after its state up to `until` back from the
 * store (batches the queue had no room for), taking the write lock per
 * page of LIVE_REBUILD_PAGE events: readers wait for one page at most.
 * Called on the thread without the lock. */
static void s_catch_up(hq_live_t *live, uint32_t num, hb_hall_state_t *s, uint64_t until)
{
    rebuild_ctx_t c = {
        .live = live, .s = s, .num = num, .count = true, .next = s->seq + 1, .until = until};
    while (c.next <= c.until) {
        uint64_t from = c.next;
        pthread_rwlock_wrlock(&live->rw);
        int rc = hq_store_read_events(live->st, num, from, LIVE_REBUILD_PAGE, s_rebuild_cb, &c);
        pthread_rwlock_unlock(&live->rw);
        hb_progress_beat();
        if (rc != 0 || c.next == from) {
            /* Gone from the store (retention) or unreadable: the state
             * goes on from the next batch, as after an undecodable event. */
            hb_log_once("live-catch-up", HB_LOG_WARN,
                        "live: hall number %u: cannot read its events from %llu back (%s); its "
                        "mirror skips them",
                        num, (unsigned long long)from, hb_strerror(rc ? rc : HB_ENOTFOUND));
            if (s->seq < until)
                s->seq = until;
            break;
        }
    }
    live->t_events += c.applied;
    live->t_caught_up += c.applied;
}

static void s_rebuild(hq_live_t *live)
{
    int64_t t0 = hb_mono_ms();
    uint64_t total = 0, from_snap = 0;
    for (size_t i = 0; i < live->n_records; i++) {
        const hq_hall_record_t *rec = &live->records[i];
        if (rec->last_seq == 0)
            continue;
        hb_hall_state_t *snap = s_snapshot_load(live, rec->num, rec->last_seq);
        pthread_rwlock_wrlock(&live->rw);
        hb_hall_state_t *s = s_state(live, rec->num);
        if (s && snap) {
            hb_hall_state_destroy(&live->states.v[rec->num]);
            live->states.v[rec->num] = snap;
            s = snap;
            snap = NULL;
            live->meta.v[rec->num].snap_seq = s->seq;
            live->meta.v[rec->num].snap_mono = hb_mono_ms();
            from_snap++;
        }
        pthread_rwlock_unlock(&live->rw);
        hb_hall_state_destroy(&snap);
        if (!s)
            continue;
        rebuild_ctx_t c = {
            .live = live, .s = s, .num = rec->num, .next = s->seq + 1, .until = rec->last_seq};
        while (c.next <= c.until) {
            uint64_t from = c.next;
            /* The write lock per page: readers wait one page at most. */
            pthread_rwlock_wrlock(&live->rw);
            int rc =
                hq_store_read_events(live->st, rec->num, from, LIVE_REBUILD_PAGE, s_rebuild_cb, &c);
            pthread_rwlock_unlock(&live->rw);
            hb_progress_beat();
            if (rc != 0 || c.next == from) {
                hb_warn("live: hall %s: cannot read its events from %llu (%s); its mirror "
                        "starts from what was read",
                        rec->id, (unsigned long long)from, hb_strerror(rc ? rc : HB_ENOTFOUND));
                break;
            }
        }
        total += c.applied;
        if (live->cfg.trend && s->seq)
            hq_trend_rebuilt(live->cfg.trend, rec->num, s->timezone, s->at_ms);
    }
    pthread_mutex_lock(&live->lock);
    live->stats.rebuilt_events = total;
    live->stats.rebuilt_from_snapshots = from_snap;
    live->t_events += total;
    s_merge_counts(live);
    live->stats.rebuild_ms = (double)(hb_mono_ms() - t0);
    live->stats.rebuilding = false;
    pthread_cond_broadcast(&live->room);
    pthread_mutex_unlock(&live->lock);
    free(live->records);
    live->records = NULL;
    hb_info("live: %zu hall(s) rebuilt (%llu from a snapshot) with %llu event(s) in %.0f ms",
            live->n_records, (unsigned long long)from_snap, (unsigned long long)total,
            live->stats.rebuild_ms);
}

/* -------------------------------------------------------------- thread ---- */

/* The halls of the last batch join the changed list (for the stream). */
static void s_publish_touched(hq_live_t *live)
{
    for (size_t i = 0; i < live->touched.n; i++) {
        uint32_t num = live->touched.v[i];
        if (num >= live->meta.n || live->meta.v[num].changed)
            continue;
        uint32_t *c = hb_vec_push(&live->changed);
        if (!c)
            break;
        *c = num;
        live->meta.v[num].changed = true;
    }
    live->touched.n = 0;
}

/* The halls marked behind (hq_live_submit dropped their batches) catch up
 * to their last dropped sequence, one page at a time under the write lock. */
static void s_catch_up_behind(hq_live_t *live)
{
    for (;;) {
        pthread_mutex_lock(&live->lock);
        if (live->behind.n == 0) {
            pthread_mutex_unlock(&live->lock);
            return;
        }
        uint32_t num = live->behind.v[--live->behind.n];
        uint64_t until = live->behind_upto.v[num];
        live->behind_upto.v[num] = 0;
        live->busy = true; /* for hq_live_flush, until this hall is done */
        pthread_mutex_unlock(&live->lock);
        pthread_rwlock_wrlock(&live->rw);
        hb_hall_state_t *s = s_state(live, num);
        pthread_rwlock_unlock(&live->rw);
        if (s && until > s->seq) {
            s_touch(live, num);
            s_catch_up(live, num, s, until);
        }
        pthread_mutex_lock(&live->lock);
        s_merge_counts(live);
        s_publish_touched(live);
        live->busy = false;
        pthread_cond_broadcast(&live->room);
        pthread_mutex_unlock(&live->lock);
    }
}

/* Applies one committed batch: first what its hall missed before it (its
 * batches dropped while the queue was full), read back from the store. */
static void s_apply_committed(hq_live_t *live, const hq_write_item_t *it)
{
    pthread_rwlock_wrlock(&live->rw);
    hb_hall_state_t *s = s_state(live, it->hall_num);
    pthread_rwlock_unlock(&live->rw);
    if (s && it->first_seq > s->seq + 1)
        s_catch_up(live, it->hall_num, s, it->first_seq - 1);
    pthread_rwlock_wrlock(&live->rw);
    s_apply_item(live, it);
    pthread_rwlock_unlock(&live->rw);
}

static void *s_thread(void *arg)
{
    hq_live_t *live = arg;
    hb_progress_register("mirror");
    /* Named, so that top -H, perf and bench_ingest tell its CPU apart. */
    pthread_setname_np(pthread_self(), "hq-mirror");
    s_rebuild(live);
    for (;;) {
        pthread_mutex_lock(&live->lock);
        /* Wakes at least every HB_PROGRESS_IDLE_MS (LIVE_IDLE_WAKE_MS), to
         * beat and to look at the snapshots. */
        if (!live->queue.head && !live->stopping)
            hb_progress_idle_wait(&live->cond, &live->lock);
        hq_write_item_t *list = hq_write_queue_take(&live->queue);
        bool stop = live->stopping && !list;
        live->busy = list != NULL;
        pthread_mutex_unlock(&live->lock);
        if (stop)
            break;
        size_t bytes = 0;
        /* The write lock per item (one hall's events of one commit), not
         * per list: when the mirror has fallen behind, a list holds
         * thousands, and the loop's board and alert rounds would wait for
         * all of them. */
        for (hq_write_item_t *it = list; it; it = it->next) {
            s_apply_committed(live, it);
            if (it->committed_ns)
                hb_histogram_observe_since(&live->lag_seconds, it->committed_ns);
            hb_progress_beat();
        }
        while (list) {
            hq_write_item_t *next = list->next;
            bytes += list->len;
            free(list);
            list = next;
        }
        pthread_mutex_lock(&live->lock);
        s_merge_counts(live);
        s_publish_touched(live);
        live->queued_bytes -= bytes;
        live->busy = false;
        pthread_cond_broadcast(&live->room);
        pthread_mutex_unlock(&live->lock);
        s_catch_up_behind(live);
        if (hb_mono_ms() - live->last_sweep_mono >= LIVE_IDLE_WAKE_MS) {
            live->last_sweep_mono = hb_mono_ms();
            s_snapshot_round(live, false);
        }
    }
    s_catch_up_behind(live);
    s_snapshot_round(live, true);
    hb_progress_unregister();
    return NULL;
}

int hq_live_start(hq_store_t *st, const hq_hall_record_t *records, size_t n,
                  const hq_live_config_t *cfg, hq_live_t **out)
{
    hq_live_t *live = calloc(1, sizeof *live);
    if (!live)
        return HB_ENOMEM;
    live->st = st;
    live->cfg = *cfg;
    live->arena.buf = live->arena_buf;
    live->arena.cap = sizeof live->arena_buf;
    live->max_queue_bytes = cfg->max_queue_bytes;
    live->states.max = live->meta.max = HQ_HALLS_MAX + 1;
    live->changed.max = live->touched.max = HQ_HALLS_MAX;
    live->behind_upto.max = HQ_HALLS_MAX + 1;
    live->behind.max = HQ_HALLS_MAX + 1;
    if (n) {
        live->records = malloc(n * sizeof *records);
        if (!live->records) {
            free(live);
            return HB_ENOMEM;
        }
        memcpy(live->records, records, n * sizeof *records);
        live->n_records = n;
    }
    if (cfg->snapshot_dir) {
        const hb_store_db_t db = {"snapshots", &live->snaps};
        live->snap_ok =
            hb_store_open(&live->snap, cfg->snapshot_dir, 64u << 20, 1ull << 40, 2) == 0 &&
            hb_store_dbis(&live->snap, &db, 1) == 0;
        if (!live->snap_ok)
            hb_warn("live: no snapshots in %s: a restart replays every stored event",
                    cfg->snapshot_dir);
    }
    live->stats.rebuilding = true;
    hb_histogram_init(&live->lag_seconds, &hb_buckets_lag);
    pthread_mutex_init(&live->lock, NULL);
    if (hb_progress_cond_init(&live->cond) != 0 || hb_progress_cond_init(&live->room) != 0) {
        if (live->snap.env)
            hb_store_close(&live->snap);
        free(live->records);
        free(live);
        return HB_ESYS;
    }
    pthread_rwlock_init(&live->rw, NULL);
    if (pthread_create(&live->thread, NULL, s_thread, live) != 0) {
        if (live->snap.env)
            hb_store_close(&live->snap);
        free(live->records);
        free(live);
        return HB_ESYS;
    }
    *out = live;
    return 0;
}

const hb_histogram_t *hq_live_lag_histogram(const hq_live_t *live) { return &live->lag_seconds; }

size_t hq_live_take_changed(hq_live_t *live, uint32_t *out, size_t max)
{
    pthread_mutex_lock(&live->lock);
    size_t n = live->changed.n < max ? live->changed.n : max;
    for (size_t i = 0; i < n; i++) {
        out[i] = live->changed.v[i];
        live->meta.v[out[i]].changed = false;
    }
    if (n > 0 && n < live->changed.n)
        memmove(live->changed.v, live->changed.v + n, (live->changed.n - n) * sizeof(uint32_t));
    live->changed.n -= n;
    pthread_mutex_unlock(&live->lock);
    return n;
}

/* Under the lock: queues each item that fits, drops the rest and marks
 * their halls behind up to the dropped sequence. */
static void s_queue_or_drop(hq_live_t *live, hq_write_item_t *items)
{
    while (items) {
        hq_write_item_t *it = items;
        items = it->next;
        it->next = NULL;
        uint32_t num = it->hall_num;
        /* A later batch of a hall marked behind may still be queued: the
         * thread reads the gap before it applies it (s_apply_committed). */
        if (live->queued_bytes + it->len <= live->max_queue_bytes) {
            hq_write_queue_put(&live->queue, it);
            live->queued_bytes += it->len;
            continue;
        }
        uint64_t *upto = hb_vec_at(&live->behind_upto, num);
        uint64_t last = it->first_seq + it->count - 1;
        if (upto && *upto == 0) {
            uint32_t *b = hb_vec_push(&live->behind);
            if (!b)
                upto = NULL;
            else
                *b = num;
        }
        if (upto) {
            if (last > *upto)
                *upto = last;
        } else {
            hb_log_once("live-behind-nomem", HB_LOG_ERROR,
                        "live: out of memory marking hall %s behind; its next batch catches "
                        "it up",
                        it->hall_id);
        }
        live->stats.dropped_items++;
        live->stats.dropped_events += it->count;
        free(it);
    }
}

void hq_live_submit(hq_live_t *live, hq_write_item_t *items)
{
    if (!items)
        return;
    size_t bytes = 0;
    for (hq_write_item_t *it = items; it; it = it->next)
        bytes += it->len;
    pthread_mutex_lock(&live->lock);
    if (live->queued_bytes + bytes <= live->max_queue_bytes || live->queued_bytes == 0) {
        hq_write_queue_put(&live->queue, items);
        live->queued_bytes += bytes;
    } else {
        /* No room: the writer does not wait (a mirror that fell behind
         * stalled commits, and so acks, for seconds). What fits is queued;
         * the rest is dropped and read back from the store by the thread. */
        s_queue_or_drop(live, items);
    }
    pthread_cond_signal(&live->cond);
    pthread_mutex_unlock(&live->lock);
}

void hq_live_flush(hq_live_t *live)
{
    pthread_mutex_lock(&live->lock);
    while (live->queue.head || live->busy || live->stats.rebuilding || live->behind.n)
        pthread_cond_wait(&live->room, &live->lock);
    pthread_mutex_unlock(&live->lock);
}

static void s_fini(hq_live_t *live)
{
    hb_progress_stop(live->thread, &live->lock, &live->stopping,
                     (pthread_cond_t *const[]){&live->cond, &live->room}, 2);
    hq_write_items_free(hq_write_queue_take(&live->queue));
    for (size_t i = 0; i < live->states.n; i++)
        hb_hall_state_destroy(&live->states.v[i]);
    hb_vec_free(&live->states);
    hb_vec_free(&live->meta);
    hb_vec_free(&live->changed);
    hb_vec_free(&live->touched);
    hb_vec_free(&live->behind_upto);
    hb_vec_free(&live->behind);
    free(live->records);
    if (live->snap.env)
        hb_store_close(&live->snap);
    pthread_rwlock_destroy(&live->rw);
    pthread_cond_destroy(&live->cond);
    pthread_cond_destroy(&live->room);
    pthread_mutex_destroy(&live->lock);
}

void hq_live_stop(hq_live_t **livep) { HB_DESTROY(livep, s_fini); }

void hq_live_read_lock(hq_live_t *live) { pthread_rwlock_rdlock(&live->rw); }
void hq_live_read_unlock(hq_live_t *live) { pthread_rwlock_unlock(&live->rw); }

const hb_hall_state_t *hq_live_state(hq_live_t *live, uint32_t num)
{
    return num < live->states.n ? live->states.v[num] : NULL;
}

void hq_live_get_stats(hq_live_t *live, hq_live_stats_t *out)
{
    pthread_mutex_lock(&live->lock);
    *out = live->stats;
    out->queued_bytes = live->queued_bytes;
    out->behind_halls = live->behind.n;
    out->lag_events = out->dropped_events > out->caught_up_events
                          ? out->dropped_events - out->caught_up_events
                          : 0;
    pthread_mutex_unlock(&live->lock);
}
