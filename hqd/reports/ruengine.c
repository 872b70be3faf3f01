/* The rollups' engine (see ruengine.h). Changes are gathered in memory, by
 * cell key, as the folds emit them, and written at a commit: each changed
 * cell is read, added to and written back once per commit however many
 * events changed it, and each touched hall's head (its last rolled-up
 * sequence) is written in the same transaction. */
#include "ruengine.h"

#include "strmap.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/idmap.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOAD_PAGE 4096 /* events read per store transaction when a hall is loaded */

typedef struct ehall {
    bool head_loaded, fold_loaded, dirty, in_dirty_list;
    bool saving; /* its fold state is in the commit being written */
    ru_fold_t *fold;
    uint64_t rolled;            /* applied, pending ones included */
    uint64_t c_rolled, c_state; /* as committed */
    uint64_t since_save;        /* applied since the fold state was saved */
    int64_t saved_mono;
} ehall_t;

typedef struct dcell {
    uint8_t klen;
    uint8_t key[RU_KEY_MAX];
    ru_cell_t cell;
} dcell_t;

typedef struct dday {
    uint64_t id; /* hall << 32 | biased day */
    ru_dayidx_t idx;
} dday_t;

/* An index over an array, open addressing with linear probing at most half
 * full: a slot holds an element's index + 1, 0 when empty. */
typedef struct slots {
    uint32_t *v;
    size_t cap; /* a power of two, or 0 before the first element */
} slots_t;

struct ru_engine {
    ru_engine_config_t cfg;
    ru_policy_fn policy;
    void *policy_arg;
    int32_t from_day;
    bool months, filtered;
    ehall_t *halls;
    size_t cap_halls;
    uint32_t *dirty;
    size_t n_dirty, cap_dirty;
    /* Changed cells: an array and an index over it (slot = index + 1). */
    dcell_t *cells;
    size_t n_cells, cap_cells;
    slots_t cslots;
    /* Changed day-index entries, the same way. */
    dday_t *days;
    size_t n_days, cap_days;
    slots_t dslots;
    uint64_t pending;
    ru_engine_stats_t stats;
    ru_cell_t scratch;
};

ru_engine_t *ru_engine_new(const ru_engine_config_t *cfg)
{
    ru_engine_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->cfg = *cfg;
    if (e->cfg.max_cells < 1024)
        e->cfg.max_cells = 1024;
    e->from_day = INT32_MIN;
    e->months = true;
    return e;
}

static void s_fini(ru_engine_t *e)
{
    for (size_t i = 0; i < e->cap_halls; i++)
        ru_fold_destroy(&e->halls[i].fold);
    for (size_t i = 0; i < e->n_cells; i++)
        ru_cell_free(&e->cells[i].cell);
    ru_cell_free(&e->scratch);
    free(e->halls);
    free(e->dirty);
    free(e->cells);
    free(e->cslots.v);
    free(e->days);
    free(e->dslots.v);
}

void ru_engine_destroy(ru_engine_t **ep) { HB_DESTROY(ep, s_fini); }

void ru_engine_set_policy(ru_engine_t *e, ru_policy_fn fn, void *arg)
{
    e->policy = fn;
    e->policy_arg = arg;
}

void ru_engine_set_day_filter(ru_engine_t *e, int32_t from_day, bool months)
{
    e->from_day = from_day;
    e->months = months;
    e->filtered = from_day != INT32_MIN || !months;
}

static ehall_t *s_hall(ru_engine_t *e, uint32_t num)
{
    if (num >= e->cap_halls) {
        size_t cap = e->cap_halls ? e->cap_halls : 1024;
        while (cap <= num)
            cap *= 2;
        ehall_t *p = realloc(e->halls, cap * sizeof *p);
        if (!p)
            return NULL;
        memset(p + e->cap_halls, 0, (cap - e->cap_halls) * sizeof *p);
        e->halls = p;
        e->cap_halls = cap;
    }
    return &e->halls[num];
}

/* ----------------------------------------------------- changed cells ---- */

static uint64_t s_hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

/* Empties `t`, keeping its slots. */
static void s_slots_clear(slots_t *t)
{
    if (t->v)
        memset(t->v, 0, t->cap * sizeof *t->v);
}

static uint64_t s_cell_hash_at(const void *arg, size_t i)
{
    const ru_engine_t *e = arg;
    return s_hash_bytes(e->cells[i].key, e->cells[i].klen);
}

static ru_cell_t *s_cell(ru_engine_t *e, const uint8_t *key, size_t klen)
{
    if ((e->n_cells + 1) * 2 > e->cslots.cap &&
        hb_slots_grow(&e->cslots.v, &e->cslots.cap, 4096, e->n_cells, s_cell_hash_at, e) != 0)
        return NULL;
    size_t mask = e->cslots.cap - 1, j = (size_t)s_hash_bytes(key, klen) & mask;
    while (e->cslots.v[j]) {
        dcell_t *d = &e->cells[e->cslots.v[j] - 1];
        if (d->klen == klen && memcmp(d->key, key, klen) == 0)
            return &d->cell;
        j = (j + 1) & mask;
    }
    /* The slots hold a cell's index + 1 as 32 bits. */
    if (hb_array_reserve((void **)&e->cells, &e->cap_cells, e->n_cells + 1, sizeof *e->cells,
                         UINT32_MAX - 1) != 0)
        return NULL;
    dcell_t *d = &e->cells[e->n_cells];
    memset(d, 0, sizeof *d);
    d->klen = (uint8_t)klen;
    memcpy(d->key, key, klen);
    e->cslots.v[j] = (uint32_t)++e->n_cells;
    return &d->cell;
}

static void s_emit(void *arg, const ru_key_t *keys, size_t n, const ru_contrib_t *c)
{
    ru_engine_t *e = arg;
    for (size_t i = 0; i < n; i++) {
        const ru_key_t *k = &keys[i];
        if (e->filtered && ((k->level == RU_LEVEL_MONTH && !e->months) ||
                            (k->level == RU_LEVEL_DAY && k->period < e->from_day)))
            continue;
        uint8_t kb[RU_KEY_MAX];
        size_t klen = ru_key_encode(k, kb);
        ru_cell_t *cell = s_cell(e, kb, klen);
        if (!cell) {
            hb_log_once("rollup-nomem", HB_LOG_ERROR, "rollups: out of memory for a cell");
            e->stats.dropped++;
            continue;
        }
        ru_contrib_apply(c, cell);
    }
}

/* -------------------------------------------------------- day index ---- */

static uint64_t s_day_hash(uint64_t id) { return id * 0x9e3779b97f4a7c15ULL >> 20; }

static uint64_t s_day_hash_at(const void *arg, size_t i)
{
    return s_day_hash(((const ru_engine_t *)arg)->days[i].id);
}

static void s_day_note(ru_engine_t *e, uint32_t hall, int32_t day, uint64_t seq)
{
    if (day == INT32_MIN || (e->filtered && day < e->from_day))
        return;
    if ((e->n_days + 1) * 2 > e->dslots.cap &&
        hb_slots_grow(&e->dslots.v, &e->dslots.cap, 1024, e->n_days, s_day_hash_at, e) != 0)
        return;
    uint64_t id = (uint64_t)hall << 32 | ((uint32_t)day ^ 0x80000000u);
    size_t mask = e->dslots.cap - 1, j = (size_t)s_day_hash(id) & mask;
    while (e->dslots.v[j]) {
        dday_t *d = &e->days[e->dslots.v[j] - 1];
        if (d->id == id) {
            if (seq < d->idx.first)
                d->idx.first = seq;
            if (seq > d->idx.last)
                d->idx.last = seq;
            d->idx.events++;
            return;
        }
        j = (j + 1) & mask;
    }
    /* The slots hold a day's index + 1 as 32 bits. */
    if (hb_array_reserve((void **)&e->days, &e->cap_days, e->n_days + 1, sizeof *e->days,
                         UINT32_MAX - 1) != 0)
        return;
    e->days[e->n_days] = (dday_t){.id = id, .idx = {.first = seq, .last = seq, .events = 1}};
    e->dslots.v[j] = (uint32_t)++e->n_days;
}

/* ------------------------------------------------------------ halls ---- */

static int s_load_head(ru_engine_t *e, uint32_t num, ehall_t *h)
{
    if (h->head_loaded)
        return 0;
    MDB_txn *txn;
    if (ru_store_read_begin(e->cfg.store, &txn) != 0)
        return HB_EDB;
    ru_head_t head;
    int rc = ru_store_get_head(txn, e->cfg.store, num, &head);
    ru_store_read_end(e->cfg.store, txn);
    if (rc == HB_ENOTFOUND) {
        memset(&head, 0, sizeof head);
    } else if (rc != 0) {
        hb_error("rollups: hall number %u: its head does not read (%s)", num, hb_strerror(rc));
        return rc;
    }
    h->rolled = h->c_rolled = head.rolled;
    h->c_state = head.state;
    h->head_loaded = true;
    return 0;
}

typedef struct replay_ctx {
    ru_engine_t *e;
    ehall_t *h;
    uint64_t next, until;
} replay_ctx_t;

static int s_replay_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    replay_ctx_t *c = arg;
    if (seq > c->until)
        return 1;
    ru_fold_ctx_t ctx = {.policy = c->e->policy, .policy_arg = c->e->policy_arg};
    int32_t day;
    ru_fold_apply_bytes(c->h->fold, data, len, &ctx, &day);
    c->next = seq + 1;
    c->e->stats.replayed++;
    return 0;
}

/* The saved fold state and the events after it, up to what the cells
 * hold: replayed without counting. */
static int s_load_fold(ru_engine_t *e, uint32_t num, ehall_t *h)
{
    if (h->fold_loaded)
        return 0;
    int rc = s_load_head(e, num, h);
    if (rc != 0)
        return rc;
    uint64_t from = 1;
    if (h->c_state > 0) {
        MDB_txn *txn;
        if (ru_store_read_begin(e->cfg.store, &txn) != 0)
            return HB_EDB;
        uint8_t k[4];
        hb_put_be32(k, num);
        MDB_val key = {4, k}, v;
        int grc = mdb_get(txn, e->cfg.store->folds, &key, &v);
        if (grc == 0 && ru_fold_decode(num, v.mv_data, v.mv_size, &h->fold) == 0)
            from = h->c_state + 1;
        else
            hb_warn("rollups: hall number %u: its saved state does not read; it is replayed "
                    "from its first stored event",
                    num);
        ru_store_read_end(e->cfg.store, txn);
    }
    if (!h->fold)
        h->fold = ru_fold_new(num);
    if (!h->fold)
        return HB_ENOMEM;
    replay_ctx_t c = {.e = e, .h = h, .next = from, .until = h->c_rolled};
    while (c.next <= c.until) {
        uint64_t at = c.next;
        rc = hq_store_read_events(e->cfg.events, num, at, LOAD_PAGE, s_replay_cb, &c);
        if (rc != 0 || c.next == at) {
            hb_warn("rollups: hall number %u: events %llu..%llu cannot be read (%s); its "
                    "state goes on from what was read",
                    num, (unsigned long long)at, (unsigned long long)c.until,
                    rc ? hb_strerror(rc) : "not stored");
            break;
        }
    }
    h->since_save = h->c_rolled - h->c_state;
    h->saved_mono = hb_mono_ms();
    h->fold_loaded = true;
    return 0;
}

int ru_engine_rolled(ru_engine_t *e, uint32_t hall, uint64_t *out)
{
    ehall_t *h = s_hall(e, hall);
    if (!h)
        return HB_ENOMEM;
    int rc = s_load_head(e, hall, h);
    if (rc == 0)
        *out = h->rolled;
    return rc;
}

bool ru_engine_committed(const ru_engine_t *e, uint32_t hall, uint64_t *rolled, uint64_t *state)
{
    if (hall >= e->cap_halls || !e->halls[hall].head_loaded)
        return false;
    *rolled = e->halls[hall].c_rolled;
    *state = e->halls[hall].c_state;
    return true;
}

const char *ru_engine_timezone(ru_engine_t *e, uint32_t hall)
{
    ehall_t *h = hall < e->cap_halls ? &e->halls[hall] : NULL;
    return h && h->fold ? ru_fold_timezone(h->fold) : "";
}

/* Hall `num`'s entry with its fold loaded (s_load_fold). */
static int s_hall_folded(ru_engine_t *e, uint32_t num, ehall_t **out)
{
    ehall_t *h = *out = s_hall(e, num);
    return h ? s_load_fold(e, num, h) : HB_ENOMEM;
}

static void s_mark_dirty(ru_engine_t *e, uint32_t num, ehall_t *h)
{
    h->dirty = true;
    if (h->in_dirty_list)
        return;
    if (hb_array_reserve((void **)&e->dirty, &e->cap_dirty, e->n_dirty + 1, sizeof *e->dirty,
                         SIZE_MAX / sizeof *e->dirty) != 0)
        return;
    e->dirty[e->n_dirty++] = num;
    h->in_dirty_list = true;
}

int ru_engine_apply(ru_engine_t *e, uint32_t hall, uint64_t seq, const uint8_t *data, size_t len,
                    bool *skipped)
{
    *skipped = false;
    ehall_t *h;
    int rc = s_hall_folded(e, hall, &h);
    if (rc != 0)
        return rc;
    if (seq <= h->rolled) {
        *skipped = true;
        return 0;
    }
    if (seq != h->rolled + 1)
        return HB_ESEQ;
    ru_fold_ctx_t ctx = {
        .emit = s_emit, .emit_arg = e, .policy = e->policy, .policy_arg = e->policy_arg};
    int32_t day;
    uint64_t dropped = ru_fold_dropped(h->fold);
    ru_fold_apply_bytes(h->fold, data, len, &ctx, &day);
    e->stats.dropped += ru_fold_dropped(h->fold) - dropped;
    s_day_note(e, hall, day, seq);
    h->rolled = seq;
    h->since_save++;
    e->pending++;
    s_mark_dirty(e, hall, h);
    return 0;
}

typedef struct catch_ctx {
    ru_engine_t *e;
    uint32_t hall;
    uint64_t upto;
    size_t applied;
    int rc;
} catch_ctx_t;

static int s_catch_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    catch_ctx_t *c = arg;
    if (seq > c->upto)
        return 1;
    bool skipped;
    c->rc = ru_engine_apply(c->e, c->hall, seq, data, len, &skipped);
    if (c->rc != 0)
        return 1;
    c->applied += !skipped;
    c->e->stats.store_reads++;
    return 0;
}

int ru_engine_catch_up(ru_engine_t *e, uint32_t hall, uint64_t upto, size_t max, size_t *applied)
{
    *applied = 0;
    ehall_t *h;
    int rc = s_hall_folded(e, hall, &h);
    if (rc != 0)
        return rc;
    if (upto <= h->rolled)
        return 0;
    catch_ctx_t c = {.e = e, .hall = hall, .upto = upto};
    rc = hq_store_read_events(e->cfg.events, hall, h->rolled + 1, max, s_catch_cb, &c);
    *applied = c.applied;
    return rc ? rc : c.rc;
}

int ru_engine_begin_hall(ru_engine_t *e, uint32_t hall, uint64_t first_seq)
{
    ehall_t *h = s_hall(e, hall);
    if (!h)
        return HB_ENOMEM;
    ru_fold_destroy(&h->fold);
    h->fold = ru_fold_new(hall);
    if (!h->fold)
        return HB_ENOMEM;
    h->head_loaded = h->fold_loaded = true;
    h->rolled = h->c_rolled = h->c_state = first_seq ? first_seq - 1 : 0;
    h->since_save = 0;
    h->saved_mono = hb_mono_ms();
    return 0;
}

int ru_engine_add_cell(ru_engine_t *e, const ru_key_t *key, const ru_cell_t *cell)
{
    uint8_t kb[RU_KEY_MAX];
    size_t klen = ru_key_encode(key, kb);
    ru_cell_t *dst = s_cell(e, kb, klen);
    if (!dst)
        return HB_ENOMEM;
    return ru_cell_add(dst, cell);
}

uint64_t ru_engine_pending(const ru_engine_t *e) { return e->pending; }
size_t ru_engine_cells(const ru_engine_t *e) { return e->n_cells; }
bool ru_engine_full(const ru_engine_t *e) { return e->n_cells >= e->cfg.max_cells; }

/* ----------------------------------------------------------- commit ---- */

static int s_put_cell(ru_engine_t *e, MDB_txn *txn, const dcell_t *d)
{
    MDB_val k = {d->klen, (void *)d->key}, v;
    const ru_cell_t *out = &d->cell;
    int rc = mdb_get(txn, e->cfg.store->cells, &k, &v);
    if (rc == 0) {
        ru_cell_clear(&e->scratch);
        if (ru_cell_add_encoded(&e->scratch, v.mv_data, v.mv_size) != 0) {
            hb_log_once("rollup-cell", HB_LOG_ERROR,
                        "rollups: a stored cell does not read; it is replaced by what is "
                        "counted from now on (rebuild the rollups to recount it)");
            ru_cell_clear(&e->scratch);
        }
        if (ru_cell_add(&e->scratch, &d->cell) != 0)
            return ENOMEM;
        out = &e->scratch;
    } else if (rc != MDB_NOTFOUND) {
        return rc;
    }
    uint8_t buf[RU_CELL_ENCODED_MAX];
    MDB_val nv = {ru_cell_encode(out, buf), buf};
    return mdb_put(txn, e->cfg.store->cells, &k, &nv, 0);
}

static int s_put_day(ru_engine_t *e, MDB_txn *txn, const dday_t *d, int64_t now_ms)
{
    uint8_t k[8], buf[32];
    hb_put_be64(k, d->id);
    MDB_val key = {8, k}, v;
    ru_dayidx_t idx = d->idx;
    int rc = mdb_get(txn, e->cfg.store->days, &key, &v);
    ru_dayidx_t old;
    if (rc == 0 && ru_dayidx_decode(v.mv_data, v.mv_size, &old) == 0) {
        if (old.first < idx.first)
            idx.first = old.first;
        if (old.last > idx.last)
            idx.last = old.last;
        idx.events += old.events;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    MDB_val nv = {ru_dayidx_encode(&idx, buf), buf};
    rc = mdb_put(txn, e->cfg.store->days, &key, &nv, 0);
    if (rc != 0 || e->filtered)
        return rc;
    /* Counted after the day ended in the hall's zone: the day's report
     * (final at that midnight) is revised. */
    uint32_t hall = (uint32_t)(d->id >> 32);
    int32_t day = (int32_t)((uint32_t)d->id ^ 0x80000000u);
    ehall_t *h = &e->halls[hall];
    ru_fold_ctx_t ctx = {.policy = e->policy, .policy_arg = e->policy_arg};
    if (!h->fold || day >= ru_fold_local_day(h->fold, now_ms, &ctx, NULL))
        return 0;
    ru_revision_t r = {.at_ms = now_ms, .times = 1};
    rc = mdb_get(txn, e->cfg.store->revised, &key, &v);
    ru_revision_t old_r;
    if (rc == 0 && ru_revision_decode(v.mv_data, v.mv_size, &old_r) == 0)
        r.times += old_r.times;
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    MDB_val rv = {ru_revision_encode(&r, buf), buf};
    e->stats.revisions++;
    return mdb_put(txn, e->cfg.store->revised, &key, &rv, 0);
}

/* A hall's fold state is saved at a commit after `snapshot_events` events,
 * or `snapshot_ms` after its last save when events came since (also when
 * the hall has been quiet since: the event store may prune only what a
 * saved state has passed). */
static bool s_save_due(const ru_engine_t *e, const ehall_t *h, int64_t mono, bool save_all)
{
    if (!h->fold_loaded || h->since_save == 0)
        return false;
    return save_all || h->since_save >= e->cfg.snapshot_events ||
           mono - h->saved_mono >= e->cfg.snapshot_ms;
}

static int s_put_hall(ru_engine_t *e, MDB_txn *txn, uint32_t num, ehall_t *h, bool save,
                      size_t *saved)
{
    uint8_t k[4];
    hb_put_be32(k, num);
    MDB_val key = {4, k};
    ru_head_t head = {.rolled = h->rolled, .state = h->c_state};
    if (save) {
        uint8_t *blob;
        size_t len;
        if (ru_fold_encode(h->fold, &blob, &len) != 0)
            return ENOMEM;
        MDB_val v = {len, blob};
        int rc = mdb_put(txn, e->cfg.store->folds, &key, &v, 0);
        free(blob);
        if (rc != 0)
            return rc;
        head.state = h->rolled;
        (*saved)++;
    }
    if (h->fold)
        snprintf(head.tz, sizeof head.tz, "%s", ru_fold_timezone(h->fold));
    h->saving = save;
    uint8_t buf[RU_HEAD_MAX];
    MDB_val v = {ru_head_encode(&head, buf), buf};
    return mdb_put(txn, e->cfg.store->heads, &key, &v, 0);
}

static int s_commit_once(ru_engine_t *e, int64_t now_ms, bool save_all, size_t *saved)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(e->cfg.store->store.env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    *saved = 0;
    for (size_t i = 0; i < e->cap_halls; i++)
        e->halls[i].saving = false;
    for (size_t i = 0; i < e->n_cells && rc == 0; i++)
        rc = s_put_cell(e, txn, &e->cells[i]);
    for (size_t i = 0; i < e->n_days && rc == 0; i++)
        rc = s_put_day(e, txn, &e->days[i], now_ms);
    int64_t mono = hb_mono_ms();
    for (size_t i = 0; i < e->cap_halls && rc == 0; i++) {
        ehall_t *h = &e->halls[i];
        bool save = s_save_due(e, h, mono, save_all);
        if (h->dirty || save)
            rc = s_put_hall(e, txn, (uint32_t)i, h, save, saved);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

int ru_engine_commit(ru_engine_t *e, int64_t now_ms, bool save_all)
{
    bool any_save = false;
    int64_t mono = hb_mono_ms();
    for (size_t i = 0; i < e->cap_halls && !any_save; i++)
        any_save = s_save_due(e, &e->halls[i], mono, save_all);
    if (e->pending == 0 && e->n_dirty == 0 && e->n_cells == 0 && !any_save)
        return 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc;
    size_t saved = 0;
    for (;;) {
        rc = s_commit_once(e, now_ms, save_all, &saved);
        if (rc != MDB_MAP_FULL)
            break;
        if (hb_store_grow(&e->cfg.store->store) != 0)
            break;
        e->stats.map_grows++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != 0) {
        e->stats.commit_failures++;
        hb_log_once("rollup-commit", HB_LOG_ERROR, "rollups: commit of %llu event(s) failed: %s",
                    (unsigned long long)e->pending, mdb_strerror(rc));
        return HB_EDB;
    }
    mono = hb_mono_ms();
    for (size_t i = 0; i < e->cap_halls; i++) {
        ehall_t *h = &e->halls[i];
        if (!h->head_loaded)
            continue;
        if (h->dirty || h->saving)
            h->c_rolled = h->rolled;
        if (h->saving) {
            h->c_state = h->rolled;
            h->since_save = 0;
            h->saved_mono = mono;
        }
        h->dirty = false;
        h->in_dirty_list = false;
    }
    e->n_dirty = 0;
    e->stats.events += e->pending;
    e->stats.commits++;
    e->stats.cells_written += e->n_cells;
    e->stats.folds_saved += saved;
    double took = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    e->stats.last_commit_ms = took;
    if (took > e->stats.max_commit_ms)
        e->stats.max_commit_ms = took;
    e->pending = 0;
    for (size_t i = 0; i < e->n_cells; i++)
        ru_cell_free(&e->cells[i].cell);
    e->n_cells = 0;
    s_slots_clear(&e->cslots);
    e->n_days = 0;
    s_slots_clear(&e->dslots);
    return 0;
}

void ru_engine_get_stats(const ru_engine_t *e, ru_engine_stats_t *out) { *out = e->stats; }
