/* The rollup thread (see rollup.h): a queue of copies of committed
 * batches, the halls that fell behind, the engine, commits at least every
 * commit_ms, and retention's passes in small steps when there is time. */
#include "rollup.h"

#include "strmap.h"

#include "control.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/progress.h"
#include "hallbus/time.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CATCH_PAGE 4096   /* events read from the store per hall and turn */
#define IDLE_WAKE_MS 1000 /* the thread looks at its chores this often when idle */
#define NICE_LOW 10

/* --------------------------------------------------------------- policies ---- */

struct hq_rollup_policies {
    char (*ids)[HB_HALL_ID_MAX];
    const hb_policy_t **by_hall; /* parallel to ids */
    size_t n, cap;
    ru_strmap_t map;
    const hb_policy_t *fallback;
    uint64_t version; /* the published policy version it was built from */
    /* Copies, and the policies they copy (the builder's dedup). */
    hb_policy_t **copies;
    const hb_policy_t **sources;
    size_t n_copies, cap_copies;
};

static const char *s_policy_key(const void *owner, uint32_t i)
{
    return ((const hq_rollup_policies_t *)owner)->ids[i];
}

hq_rollup_policies_t *hq_rollup_policies_new(void)
{
    hq_rollup_policies_t *t = calloc(1, sizeof *t);
    if (t)
        ru_strmap_init(&t->map, s_policy_key);
    return t;
}

static void s_policies_fini(hq_rollup_policies_t *t)
{
    for (size_t i = 0; i < t->n_copies; i++)
        hb_policy_free(&t->copies[i]);
    ru_strmap_free(&t->map);
    free(t->copies);
    free(t->sources);
    free(t->ids);
    free(t->by_hall);
}

void hq_rollup_policies_destroy(hq_rollup_policies_t **tp) { HB_DESTROY(tp, s_policies_fini); }

static hb_policy_t *s_policy_copy(const hb_policy_t *p)
{
    json_t *doc = hb_policy_to_json(p);
    hb_policy_t *copy = NULL;
    char err[256];
    if (doc && hb_policy_new(doc, &copy, err, sizeof err) != 0)
        copy = NULL;
    json_decref(doc);
    return copy;
}

/* One of several arrays kept side by side, all as long as one capacity. */
typedef struct side_array {
    void **p;
    size_t size; /* of an element */
} side_array_t;

/* Room for index `i` in the `n` arrays kept side by side, all `*cap`
 * long: doubled (from `first`) until it fits, the new elements zeroed. 0,
 * or HB_ENOMEM, after which every array still holds `*cap`. */
static int s_room(const side_array_t *arrs, size_t n, size_t *cap, size_t i, size_t first)
{
    if (i < *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    while (c <= i)
        c *= 2;
    for (size_t k = 0; k < n; k++) {
        char *p = realloc(*arrs[k].p, c * arrs[k].size);
        if (!p)
            return HB_ENOMEM;
        memset(p + *cap * arrs[k].size, 0, (c - *cap) * arrs[k].size);
        *arrs[k].p = p;
    }
    *cap = c;
    return 0;
}

/* The copy of `p`, made once. */
static const hb_policy_t *s_copy_of(hq_rollup_policies_t *t, const hb_policy_t *p)
{
    /* Halls share few effective policies; the last one found is the
     * likeliest next (halls of a city come together). */
    for (size_t i = t->n_copies; i-- > 0;)
        if (t->sources[i] == p)
            return t->copies[i];
    const side_array_t arrs[] = {{(void **)&t->copies, sizeof *t->copies},
                                 {(void **)&t->sources, sizeof *t->sources}};
    if (s_room(arrs, 2, &t->cap_copies, t->n_copies, 16) != 0)
        return NULL;
    hb_policy_t *copy = s_policy_copy(p);
    if (!copy)
        return NULL;
    t->copies[t->n_copies] = copy;
    t->sources[t->n_copies++] = p;
    return copy;
}

int hq_rollup_policies_set(hq_rollup_policies_t *t, const char *hall, const hb_policy_t *p)
{
    if (!p || strlen(hall) >= HB_HALL_ID_MAX || ru_strmap_find(&t->map, t, hall) >= 0)
        return 0;
    const hb_policy_t *copy = s_copy_of(t, p);
    if (!copy)
        return HB_ENOMEM;
    const side_array_t arrs[] = {{(void **)&t->ids, sizeof *t->ids},
                                 {(void **)&t->by_hall, sizeof *t->by_hall}};
    if (s_room(arrs, 2, &t->cap, t->n, 1024) != 0)
        return HB_ENOMEM;
    snprintf(t->ids[t->n], HB_HALL_ID_MAX, "%s", hall);
    t->by_hall[t->n] = copy;
    if (ru_strmap_add(&t->map, t, (uint32_t)t->n) != 0)
        return HB_ENOMEM;
    t->n++;
    return 0;
}

int hq_rollup_policies_set_default(hq_rollup_policies_t *t, const hb_policy_t *p)
{
    t->fallback = p ? s_copy_of(t, p) : NULL;
    return p && !t->fallback ? HB_ENOMEM : 0;
}

void hq_rollup_policies_set_version(hq_rollup_policies_t *t, uint64_t version)
{
    t->version = version;
}

const hb_policy_t *hq_rollup_policies_get(const hq_rollup_policies_t *t, const char *hall)
{
    if (!t)
        return NULL;
    int32_t i = hall && hall[0] ? ru_strmap_find(&t->map, t, hall) : -1;
    return i >= 0 ? t->by_hall[i] : t->fallback;
}

hq_rollup_policies_t *hq_rollup_policies_build(hq_control_t *ctl)
{
    hq_rollup_policies_t *t = hq_rollup_policies_new();
    const org_t *org = hq_control_org(ctl);
    /* A hall the organisation does not place runs the national policy. */
    if (t && hq_rollup_policies_set_default(t, hq_control_policy(ctl, "")) != 0)
        hq_rollup_policies_destroy(&t);
    for (size_t i = 0; t && org && i < org_hall_count(org); i++) {
        const org_hall_t *oh = org_hall_at(org, (uint32_t)i);
        if (hq_rollup_policies_set(t, oh->id, hq_control_policy(ctl, oh->id)) != 0)
            hq_rollup_policies_destroy(&t);
    }
    if (t)
        hq_rollup_policies_set_version(t, hq_control_policy_version(ctl));
    return t;
}

/* ------------------------------------------------------------------ thread ---- */

/* Batches folded since the last commit whose lag is still to be recorded;
 * past this many in one commit the rest go unrecorded (the histogram is a
 * sample of the lag, not a count of batches). */
#define ROLLUP_LAG_PENDING 4096

struct hq_rollup {
    hq_rollup_config_t cfg;
    int64_t lag_pending[ROLLUP_LAG_PENDING]; /* committed_ns of folded batches */
    size_t n_lag_pending;
    hq_store_t *events;
    ru_store_t store;
    ru_engine_t *eng;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* work arrived, or stopping */
    pthread_cond_t done; /* the thread finished a turn */
    hq_write_queue_t queue;
    size_t queued_bytes;
    /* Under lock: the highest committed sequence heard of per hall, and
     * the halls whose batches did not fit (read from the store). */
    uint64_t *known;
    /* The sum of `known`, and of each hall's committed sequence (at most
     * its `known`) at the last commit: their difference is the lag, fresh
     * as to what the writer hands over even while the thread is starved
     * and does not commit. Under lock. */
    uint64_t known_sum, rolled_sum;
    bool *listed;
    char (*ids)[HB_HALL_ID_MAX]; /* by hall number, as the writer named them */
    size_t cap_known;
    uint32_t *behind;
    size_t n_behind, cap_behind;
    hq_rollup_policies_t *next_policies;
    bool stopping, busy;
    uint64_t flush_asked;    /* flush calls so far */
    uint64_t flush_done;     /* ... whose commit is done */
    uint64_t pending;        /* events applied and not committed, as of the last turn */
    hq_rollup_stats_t stats; /* under lock */
    /* The thread's own. */
    hq_rollup_policies_t *policies;
    uint64_t policies_gen;        /* moves with each new table */
    char (*tids)[HB_HALL_ID_MAX]; /* hall ids by number */
    struct pcache {
        uint64_t gen;
        const hb_policy_t *p;
    } * pcache; /* by number: the policy found for the hall in table `gen` */
    size_t cap_tids;
    uint32_t *work;
    size_t n_work, cap_work;
    int64_t first_pending_mono;
    int64_t next_pass_mono;
    bool pass_running;
    uint32_t pass_hall, pass_last;
    bool pass_rollups; /* the pass's second half: old rollups */
    hq_retention_stats_t ret;
};

/* The thread's id of hall `num` (from a batch, or the writer's names). */
static bool s_tid_room(hq_rollup_t *r, uint32_t num)
{
    const side_array_t arrs[] = {{(void **)&r->tids, sizeof *r->tids},
                                 {(void **)&r->pcache, sizeof *r->pcache}};
    return s_room(arrs, 2, &r->cap_tids, num, 1024) == 0;
}

static void s_tid_set(hq_rollup_t *r, uint32_t num, const char *id)
{
    if (id && id[0] && s_tid_room(r, num) && strcmp(r->tids[num], id) != 0) {
        snprintf(r->tids[num], HB_HALL_ID_MAX, "%s", id);
        r->pcache[num].gen = 0;
    }
}

/* The fold's policy of a hall: looked up by id once per table. */
static const hb_policy_t *s_policy(void *arg, uint32_t hall)
{
    hq_rollup_t *r = arg;
    if (!s_tid_room(r, hall))
        return hq_rollup_policies_get(r->policies, NULL);
    struct pcache *pc = &r->pcache[hall];
    if (pc->gen != r->policies_gen) {
        pc->p = hq_rollup_policies_get(r->policies, r->tids[hall]);
        pc->gen = r->policies_gen;
    }
    return pc->p;
}

void hq_rollup_config_default(hq_rollup_config_t *cfg)
{
    *cfg = (hq_rollup_config_t){
        .map_size = 64u << 20,
        .map_max = (size_t)1 << 40,
        .max_queue_bytes = 64u << 20,
        .commit_ms = 1000,
        .snapshot_events = 20000,
        .snapshot_ms = 600000,
        .max_cells = 100000,
        .low_priority = true,
        .retention = {.raw_ms = HQ_RETENTION_RAW_DEFAULT_MS,
                      .rollups_ms = HQ_RETENTION_ROLLUPS_DEFAULT_MS,
                      .every_ms = 3600000,
                      .per_txn = 256},
    };
}

/* Under lock: grows `known` to hold `hall`. */
static bool s_known_room(hq_rollup_t *r, uint32_t hall)
{
    const side_array_t arrs[] = {{(void **)&r->known, sizeof *r->known},
                                 {(void **)&r->listed, sizeof *r->listed},
                                 {(void **)&r->ids, sizeof *r->ids}};
    return s_room(arrs, 3, &r->cap_known, hall, 1024) == 0;
}

/* Under lock: the hall is to be read from the store. */
static void s_list_behind(hq_rollup_t *r, uint32_t hall)
{
    if (r->listed[hall])
        return;
    if (r->n_behind == r->cap_behind) {
        size_t cap = r->cap_behind ? r->cap_behind * 2 : 256;
        uint32_t *p = realloc(r->behind, cap * sizeof *p);
        if (!p)
            return;
        r->behind = p;
        r->cap_behind = cap;
    }
    r->behind[r->n_behind++] = hall;
    r->listed[hall] = true;
}

void hq_rollup_offer(hq_rollup_t *r, const hq_write_item_t *items)
{
    hq_write_item_t *head = NULL, **tail = &head;
    size_t bytes = 0, n_items = 0, n_events = 0, dropped = 0;
    pthread_mutex_lock(&r->lock);
    for (const hq_write_item_t *it = items; it; it = it->next) {
        n_items++;
        n_events += it->count;
        uint64_t last = it->first_seq + it->count - 1;
        if (!s_known_room(r, it->hall_num))
            continue;
        if (last > r->known[it->hall_num]) {
            r->known_sum += last - r->known[it->hall_num];
            r->known[it->hall_num] = last;
        }
        if (!r->ids[it->hall_num][0])
            memcpy(r->ids[it->hall_num], it->hall_id, HB_HALL_ID_MAX);
        hq_write_item_t *copy = NULL;
        if (r->queued_bytes + bytes + it->len <= r->cfg.max_queue_bytes) {
            copy = malloc(sizeof *copy + it->len);
            if (copy) {
                memcpy(copy, it, sizeof *copy);
                memcpy(copy->data, it->data, it->len);
                copy->n_flags = 0;
                copy->flags = NULL;
                copy->next = NULL;
                *tail = copy;
                tail = &copy->next;
                bytes += it->len;
            }
        }
        if (!copy) {
            dropped++;
            s_list_behind(r, it->hall_num);
        }
    }
    hq_write_queue_put(&r->queue, head);
    r->queued_bytes += bytes;
    r->stats.offered_items += n_items;
    r->stats.offered_events += n_events;
    r->stats.dropped_items += dropped;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void hq_rollup_set_policies(hq_rollup_t *r, hq_rollup_policies_t **policies)
{
    pthread_mutex_lock(&r->lock);
    hq_rollup_policies_destroy(&r->next_policies);
    r->next_policies = *policies;
    *policies = NULL;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* One batch: any gap before it is read from the store first. */
static void s_apply_item(hq_rollup_t *r, const hq_write_item_t *it)
{
    s_tid_set(r, it->hall_num, it->hall_id);
    uint64_t rolled;
    if (ru_engine_rolled(r->eng, it->hall_num, &rolled) != 0)
        return;
    if (it->first_seq > rolled + 1) {
        size_t applied;
        int rc = ru_engine_catch_up(r->eng, it->hall_num, it->first_seq - 1, SIZE_MAX, &applied);
        if (rc != 0) {
            hb_log_once("rollup-gap", HB_LOG_ERROR,
                        "rollups: hall %s: its events before %llu cannot be read (%s); they are "
                        "read again later",
                        it->hall_id, (unsigned long long)it->first_seq, hb_strerror(rc));
            pthread_mutex_lock(&r->lock);
            s_list_behind(r, it->hall_num);
            pthread_mutex_unlock(&r->lock);
            return;
        }
    }
    hq_chunk_t c;
    const uint8_t *ev;
    uint32_t elen;
    bool skipped;
    if (hq_chunk_open(&c, it->data, it->len) == 0)
        while (hq_chunk_next(&c, &ev, &elen) > 0)
            if (ru_engine_apply(r->eng, it->hall_num, it->first_seq + c.i - 1, ev, elen,
                                &skipped) != 0)
                break;
}

/* Gives the halls that are behind one page each; those still behind stay
 * listed. */
static void s_catch_up(hq_rollup_t *r)
{
    pthread_mutex_lock(&r->lock);
    r->n_work = 0;
    if (r->n_behind == 0) {
        pthread_mutex_unlock(&r->lock);
        return;
    }
    if (r->n_behind > r->cap_work) {
        uint32_t *p = realloc(r->work, r->n_behind * sizeof *p);
        if (p) {
            r->work = p;
            r->cap_work = r->n_behind;
        }
    }
    size_t take = r->n_behind < r->cap_work ? r->n_behind : r->cap_work;
    for (size_t i = 0; i < take; i++) {
        r->work[i] = r->behind[i];
        r->listed[r->behind[i]] = false;
    }
    memmove(r->behind, r->behind + take, (r->n_behind - take) * sizeof *r->behind);
    r->n_behind -= take;
    r->n_work = take;
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < r->n_work && !ru_engine_full(r->eng); i++) {
        uint32_t hall = r->work[i];
        char id[HB_HALL_ID_MAX] = "";
        pthread_mutex_lock(&r->lock);
        uint64_t known = hall < r->cap_known ? r->known[hall] : 0;
        if (hall < r->cap_known)
            memcpy(id, r->ids[hall], sizeof id);
        pthread_mutex_unlock(&r->lock);
        s_tid_set(r, hall, id);
        size_t applied = 0;
        int rc = ru_engine_catch_up(r->eng, hall, known, CATCH_PAGE, &applied);
        uint64_t rolled = 0;
        ru_engine_rolled(r->eng, hall, &rolled);
        if (rc == 0 && applied > 0 && rolled < known) {
            pthread_mutex_lock(&r->lock);
            s_list_behind(r, hall);
            pthread_mutex_unlock(&r->lock);
        } else if (rc != 0 || (applied == 0 && rolled < known)) {
            hb_log_once("rollup-catch-up", HB_LOG_WARN,
                        "rollups: hall number %u: events after %llu cannot be read (%s)", hall,
                        (unsigned long long)rolled, rc ? hb_strerror(rc) : "not stored");
        }
    }
    /* Whatever the engine had no room for this turn waits for the next. */
    for (size_t i = 0; i < r->n_work; i++) {
        uint64_t rolled = 0;
        ru_engine_rolled(r->eng, r->work[i], &rolled);
        pthread_mutex_lock(&r->lock);
        if (r->work[i] < r->cap_known && r->known[r->work[i]] > rolled && ru_engine_full(r->eng))
            s_list_behind(r, r->work[i]);
        pthread_mutex_unlock(&r->lock);
    }
}

static void s_commit(hq_rollup_t *r, bool save_all)
{
    if (ru_engine_commit(r->eng, hb_now_ms(), save_all) != 0)
        return;
    r->first_pending_mono = 0;
    for (size_t i = 0; r->cfg.lag && i < r->n_lag_pending; i++)
        hb_histogram_observe_since(r->cfg.lag, r->lag_pending[i]);
    r->n_lag_pending = 0;
    /* The lag, against what the writer said it committed. */
    uint64_t lag = 0, halls = 0, rolled_sum = 0;
    pthread_mutex_lock(&r->lock);
    for (uint32_t h = 0; h < r->cap_known; h++) {
        uint64_t rolled, state;
        if (!r->known[h])
            continue;
        if (!ru_engine_committed(r->eng, h, &rolled, &state))
            rolled = 0;
        if (r->known[h] > rolled) {
            lag += r->known[h] - rolled;
            halls++;
        }
        rolled_sum += r->known[h] > rolled ? rolled : r->known[h];
    }
    r->stats.lag_events = lag;
    r->rolled_sum = rolled_sum;
    r->stats.halls_behind = halls;
    pthread_mutex_unlock(&r->lock);
}

/* One step of retention's pass: a hall's old raw chunks, then (second
 * half of the pass) its old rollups. */
static void s_retention_step(hq_rollup_t *r)
{
    int64_t mono = hb_mono_ms();
    if (!r->pass_running) {
        if (mono < r->next_pass_mono || (!r->cfg.retention.raw_ms && !r->cfg.retention.rollups_ms))
            return;
        pthread_mutex_lock(&r->lock);
        r->pass_last = (uint32_t)r->cap_known;
        pthread_mutex_unlock(&r->lock);
        r->pass_running = true;
        r->pass_rollups = false;
        r->pass_hall = 0;
        r->ret.running = true;
        r->ret.pass_started_ms = hb_now_ms();
        r->ret.pass_halls = r->pass_last;
    }
    int64_t now = hb_now_ms();
    size_t budget = r->cfg.retention.per_txn;
    while (r->pass_hall < r->pass_last && budget > 0) {
        uint32_t hall = r->pass_hall;
        hq_prune_step_t st = {.done = true};
        int rc = 0;
        if (!r->pass_rollups && r->cfg.retention.raw_ms) {
            uint64_t rolled, state;
            if (ru_engine_rolled(r->eng, hall, &rolled) == 0 &&
                ru_engine_committed(r->eng, hall, &rolled, &state) && state > 0)
                rc = hq_prune_raw(r->events, hall, state, now - r->cfg.retention.raw_ms, budget,
                                  &st);
            r->ret.chunks_deleted += st.chunks;
            r->ret.events_deleted += st.events;
            r->ret.bytes_deleted += st.bytes;
            r->ret.held_back += st.held_back;
        } else if (r->pass_rollups && r->cfg.retention.rollups_ms) {
            int32_t cutoff = (int32_t)((now - r->cfg.retention.rollups_ms) / 86400000);
            rc = hq_prune_rollups(&r->store, hall, cutoff, budget, &st);
            r->ret.cells_deleted += st.chunks;
        }
        if (rc != 0) {
            r->ret.failures++;
            st.done = true;
        }
        budget = st.chunks < budget ? budget - st.chunks : 0;
        if (st.done)
            r->pass_hall++;
        if (st.chunks)
            break; /* one transaction per turn */
    }
    r->ret.pass_hall = r->pass_hall;
    if (r->pass_hall >= r->pass_last) {
        if (!r->pass_rollups) {
            r->pass_rollups = true;
            r->pass_hall = 0;
        } else {
            r->pass_running = false;
            r->ret.running = false;
            r->ret.passes++;
            r->ret.pass_finished_ms = hb_now_ms();
            r->next_pass_mono = hb_mono_ms() + r->cfg.retention.every_ms;
        }
    }
    pthread_mutex_lock(&r->lock);
    r->stats.retention = r->ret;
    pthread_mutex_unlock(&r->lock);
}

static void *s_thread(void *arg)
{
    hq_rollup_t *r = arg;
    pthread_setname_np(pthread_self(), "hq-rollup");
    if (r->cfg.low_priority) {
        /* Linux: a thread's nice value is its own (setpriority on its tid).
         * Not SCHED_IDLE, though it was: an idle-class thread on a machine
         * whose cores are all taken gets almost no CPU, and an unprivileged
         * process may not lift it back out of that class when it stops, so
         * hqd's stop waited more than 15 s behind a starved commit (and
         * systemd would have killed it). Nice 10 still yields to ingest. */
        if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), NICE_LOW) != 0)
            hb_debug("rollups: cannot lower the thread's priority: %s", strerror(errno));
    }
    for (;;) {
        pthread_mutex_lock(&r->lock);
        bool pending = ru_engine_pending(r->eng) > 0;
        if (!r->queue.head && !r->n_behind && !r->stopping && !r->next_policies &&
            r->flush_asked == r->flush_done) {
            int64_t wait_ms = pending ? r->cfg.commit_ms : IDLE_WAKE_MS;
            if (pending && r->first_pending_mono) {
                wait_ms = r->first_pending_mono + r->cfg.commit_ms - hb_mono_ms();
                if (wait_ms < 1)
                    wait_ms = 1;
            }
            struct timespec until;
            hb_deadline_after(CLOCK_REALTIME, wait_ms, &until);
            pthread_cond_timedwait(&r->cond, &r->lock, &until);
        }
        hq_write_item_t *list = hq_write_queue_take(&r->queue);
        size_t bytes = 0;
        if (r->next_policies) {
            hq_rollup_policies_destroy(&r->policies);
            r->policies = r->next_policies;
            r->next_policies = NULL;
            r->policies_gen++;
            r->stats.policy_version = r->policies->version;
        }
        bool stop = r->stopping;
        uint64_t flush = r->flush_asked;
        r->busy = true;
        r->stats.catching_up = r->n_behind > 0;
        pthread_mutex_unlock(&r->lock);

        for (hq_write_item_t *it = list; it;) {
            hq_write_item_t *next = it->next;
            if (ru_engine_full(r->eng))
                s_commit(r, false);
            s_apply_item(r, it);
            if (it->committed_ns && r->n_lag_pending < ROLLUP_LAG_PENDING)
                r->lag_pending[r->n_lag_pending++] = it->committed_ns;
            bytes += it->len;
            free(it);
            it = next;
        }
        s_catch_up(r);
        if (ru_engine_pending(r->eng) && !r->first_pending_mono)
            r->first_pending_mono = hb_mono_ms();
        if (ru_engine_pending(r->eng) && (stop || flush > r->flush_done || ru_engine_full(r->eng) ||
                                          hb_mono_ms() - r->first_pending_mono >= r->cfg.commit_ms))
            s_commit(r, false);
        if (!stop && !list && !ru_engine_pending(r->eng)) {
            /* Quiet: save the states of halls that have been quiet since
             * their last events (so their old raw events may be pruned),
             * then a step of retention. */
            s_commit(r, false);
            s_retention_step(r);
        }

        pthread_mutex_lock(&r->lock);
        r->queued_bytes -= bytes;
        r->busy = false;
        r->pending = ru_engine_pending(r->eng);
        if (!r->queue.head && !r->n_behind && r->pending == 0)
            r->flush_done = flush;
        ru_engine_get_stats(r->eng, &r->stats.engine);
        bool all_done = !r->queue.head && !r->n_behind;
        pthread_cond_broadcast(&r->done);
        pthread_mutex_unlock(&r->lock);
        /* A stop does not wait for halls behind or batches still queued:
         * each hall's rolled-up sequence is stored with its cells, so the
         * next start catches up from the event store exactly where this one
         * stopped. Waiting here would hold hqd's stop for as long as a
         * catch-up takes (minutes for a large store on a busy machine). */
        if (stop) {
            if (!all_done)
                hb_info("rollups: stopping with halls still behind; the next start catches up");
            break;
        }
    }
    s_commit(r, true);
    pthread_mutex_lock(&r->lock);
    ru_engine_get_stats(r->eng, &r->stats.engine);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* What hq_rollup_start made, the object itself aside: freed by the stop
 * once the thread is gone, or by a start that failed before it ran. */
static void s_fini(hq_rollup_t *r)
{
    ru_engine_destroy(&r->eng);
    ru_store_close(&r->store);
    hq_rollup_policies_destroy(&r->policies);
    hq_rollup_policies_destroy(&r->next_policies);
    free(r->known);
    free(r->listed);
    free(r->ids);
    free(r->tids);
    free(r->pcache);
    free(r->behind);
    free(r->work);
    pthread_cond_destroy(&r->cond);
    pthread_cond_destroy(&r->done);
    pthread_mutex_destroy(&r->lock);
}

int hq_rollup_start(hq_store_t *events, const hq_hall_record_t *records, size_t n,
                    const hq_rollup_config_t *cfg, hq_rollup_policies_t **policies,
                    hq_rollup_t **out)
{
    hq_rollup_t *r = calloc(1, sizeof *r);
    if (!r)
        return HB_ENOMEM;
    r->cfg = *cfg;
    r->events = events;
    int rc = ru_store_open(&r->store, cfg->dir, cfg->map_size, cfg->map_max);
    if (rc != 0) {
        free(r);
        return rc;
    }
    ru_engine_config_t ecfg = {.events = events,
                               .store = &r->store,
                               .snapshot_events = cfg->snapshot_events,
                               .snapshot_ms = cfg->snapshot_ms,
                               .max_cells = cfg->max_cells};
    r->eng = ru_engine_new(&ecfg);
    if (!r->eng) {
        ru_store_close(&r->store);
        free(r);
        return HB_ENOMEM;
    }
    ru_engine_set_policy(r->eng, s_policy, r);
    if (policies) {
        r->policies = *policies;
        *policies = NULL;
    }
    r->policies_gen = 1;
    r->stats.policy_version = r->policies ? r->policies->version : 0;
    /* Every hall HQ holds events of: those past their rolled-up sequence
     * are read from the store first. */
    for (size_t i = 0; i < n; i++) {
        uint64_t rolled = 0;
        if (!s_known_room(r, records[i].num) ||
            ru_engine_rolled(r->eng, records[i].num, &rolled) != 0) {
            rc = HB_ENOMEM;
            break;
        }
        r->known_sum += records[i].last_seq - r->known[records[i].num];
        r->known[records[i].num] = records[i].last_seq;
        r->rolled_sum += rolled < records[i].last_seq ? rolled : records[i].last_seq;
        memcpy(r->ids[records[i].num], records[i].id, HB_HALL_ID_MAX);
        s_tid_set(r, records[i].num, records[i].id);
        if (records[i].last_seq > rolled)
            s_list_behind(r, records[i].num);
        if (records[i].last_seq < rolled)
            hb_warn("rollups: hall %s: rolled up to %llu but the event store ends at %llu "
                    "(a store restored from an older copy?); run `hqd rollups rebuild`",
                    records[i].id, (unsigned long long)rolled,
                    (unsigned long long)records[i].last_seq);
    }
    /* The first pass a minute after start (or sooner when passes are
     * more frequent): start-up has enough to do. */
    r->next_pass_mono =
        hb_mono_ms() + (cfg->retention.every_ms < 60000 ? cfg->retention.every_ms : 60000);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    pthread_cond_init(&r->done, NULL);
    if (rc != 0 || pthread_create(&r->thread, NULL, s_thread, r) != 0) {
        s_fini(r);
        free(r);
        return rc ? rc : HB_ESYS;
    }
    if (r->n_behind)
        hb_info("rollups: %zu hall(s) to catch up from the event store", r->n_behind);
    *out = r;
    return 0;
}

bool hq_rollup_flush(hq_rollup_t *r, int64_t timeout_ms)
{
    int64_t deadline = hb_mono_ms() + timeout_ms;
    pthread_mutex_lock(&r->lock);
    uint64_t ticket = ++r->flush_asked;
    pthread_cond_signal(&r->cond);
    /* A turn that started after this call, took the queue and the halls
     * behind, and committed, ends the wait. */
    while (r->flush_done < ticket) {
        if (hb_mono_ms() >= deadline) {
            pthread_mutex_unlock(&r->lock);
            return false;
        }
        struct timespec until;
        hb_deadline_after(CLOCK_REALTIME, 50, &until);
        pthread_cond_timedwait(&r->done, &r->lock, &until);
        pthread_cond_signal(&r->cond);
    }
    pthread_mutex_unlock(&r->lock);
    return true;
}

/* The thread first, then what it left queued, then the rest. */
static void s_stop(hq_rollup_t *r)
{
    int64_t t0 = hb_mono_ms();
    hb_progress_stop(r->thread, &r->lock, &r->stopping, (pthread_cond_t *const[]){&r->cond}, 1);
    int64_t took = hb_mono_ms() - t0;
    if (took > 1000)
        hb_warn("rollups: the thread took %lld ms to stop (a commit under a busy machine)",
                (long long)took);
    hq_write_items_free(hq_write_queue_take(&r->queue));
    s_fini(r);
}

void hq_rollup_stop(hq_rollup_t **rp) { HB_DESTROY(rp, s_stop); }

ru_store_t *hq_rollup_store(hq_rollup_t *r) { return &r->store; }

void hq_rollup_get_stats(hq_rollup_t *r, hq_rollup_stats_t *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->stats;
    out->queued_bytes = r->queued_bytes;
    out->lag_events = r->known_sum - r->rolled_sum;
    pthread_mutex_unlock(&r->lock);
}
