/* `hqd rollups rebuild` (see rebuild.h): the engine of the rollup thread,
 * run over each hall's stored events with a day filter, then the months
 * summed from the days. */
#include "rebuild.h"

#include "rollup.h"
#include "ruengine.h"

#include "control.h"
#include "hqstore.h"
#include "hallbus/daemon.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "hallbus/vec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DELETES_PER_TXN 50000
#define REPLAY_PAGE 65536

/* Deletes every key of `dbi` from `lo` on that starts with `lo`'s first
 * `prefix_len` bytes, in transactions of DELETES_PER_TXN. */
static int s_delete_from(ru_store_t *st, MDB_dbi dbi, const uint8_t *lo, size_t lo_len,
                         size_t prefix_len, uint64_t *deleted)
{
    for (;;) {
        MDB_txn *txn;
        MDB_cursor *cur;
        if (mdb_txn_begin(st->store.env, NULL, 0, &txn) != 0)
            return HB_EDB;
        if (mdb_cursor_open(txn, dbi, &cur) != 0) {
            mdb_txn_abort(txn);
            return HB_EDB;
        }
        MDB_val k = {lo_len, (void *)lo}, v;
        size_t n = 0;
        int rc = 0, g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (g == 0 && n < DELETES_PER_TXN && k.mv_size >= prefix_len &&
               memcmp(k.mv_data, lo, prefix_len) == 0) {
            rc = mdb_cursor_del(cur, 0);
            if (rc != 0)
                break;
            n++;
            g = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
            if (g == MDB_NOTFOUND)
                g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
        rc = hb_store_txn_end(txn, rc);
        if (rc != 0)
            return HB_EDB;
        *deleted += n;
        if (n < DELETES_PER_TXN)
            return 0;
    }
}

/* Everything of the hall's rollups from `from` on, and its head and saved
 * state. */
static int s_clear(ru_store_t *st, uint32_t hall, int32_t from, uint64_t *deleted)
{
    uint8_t lo[RU_KEY_PREFIX], d8[8], k4[4];
    ru_key_prefix(hall, RU_LEVEL_DAY, from, lo);
    int rc = s_delete_from(st, st->cells, lo, sizeof lo, 5, deleted);
    ru_key_prefix(hall, RU_LEVEL_MONTH, from == INT32_MIN ? INT32_MIN : ru_month_of_day(from), lo);
    if (rc == 0)
        rc = s_delete_from(st, st->cells, lo, sizeof lo, 5, deleted);
    ru_dayidx_key(hall, from, d8);
    if (rc == 0)
        rc = s_delete_from(st, st->days, d8, 8, 4, deleted);
    if (rc == 0)
        rc = s_delete_from(st, st->revised, d8, 8, 4, deleted);
    hb_put_be32(k4, hall);
    if (rc == 0)
        rc = hb_store_del(&st->store, st->folds, k4, 4);
    if (rc == 0)
        rc = hb_store_del(&st->store, st->heads, k4, 4);
    return rc;
}

typedef struct first_ctx {
    uint64_t seq;
    int64_t at;
} first_ctx_t;

static int s_first_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    first_ctx_t *c = arg;
    c->seq = seq;
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    c->at = env ? env->at_ms : 0;
    hb_envelope_free(env);
    return 1;
}

/* The months from `from_month` on, summed from their day cells into month
 * cells (pending in the engine). */
static int s_months(ru_store_t *st, ru_engine_t *eng, uint32_t hall, int32_t from_month)
{
    MDB_txn *txn;
    if (ru_store_read_begin(st, &txn) != 0)
        return HB_EDB;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, st->cells, &cur) != 0) {
        ru_store_read_end(st, txn);
        return HB_EDB;
    }
    uint8_t lo[RU_KEY_PREFIX];
    ru_key_prefix(hall, RU_LEVEL_DAY,
                  from_month == INT32_MIN ? INT32_MIN : ru_month_first_day(from_month), lo);
    MDB_val k = {sizeof lo, lo}, v;
    int rc = 0, g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    ru_cell_t cell = {0};
    while (g == 0 && rc == 0 && k.mv_size > 5 && memcmp(k.mv_data, lo, 5) == 0) {
        ru_key_t key;
        if (ru_key_decode(k.mv_data, k.mv_size, &key) == 0) {
            ru_cell_clear(&cell);
            if (ru_cell_add_encoded(&cell, v.mv_data, v.mv_size) == 0) {
                key.level = RU_LEVEL_MONTH;
                key.period = ru_month_of_day(key.period);
                /* A month's service cells have no hour (fold.c's keys). */
                if (key.dim == RU_DIM_SLOT) {
                    key.dim = RU_DIM_SERVICE;
                    key.hour = 0;
                }
                rc = ru_engine_add_cell(eng, &key, &cell);
            }
        }
        g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    ru_cell_free(&cell);
    mdb_cursor_close(cur);
    ru_store_read_end(st, txn);
    return rc;
}

typedef struct rebuild_ctx {
    ru_engine_t *eng;
    hq_rollup_policies_t *policies;
    const char *hall_id;
} rebuild_ctx_t;

static const hb_policy_t *s_policy(void *arg, uint32_t hall)
{
    (void)hall;
    rebuild_ctx_t *c = arg;
    return hq_rollup_policies_get(c->policies, c->hall_id);
}

static int s_hall(ru_store_t *st, hq_store_t *events, const hq_hall_record_t *rec, int32_t from_day,
                  rebuild_ctx_t *c, FILE *out, hq_rebuild_result_t *res, char *err, size_t errlen)
{
    c->hall_id = rec->id;
    first_ctx_t first = {0};
    if (hq_store_read_events(events, rec->num, 1, 1, s_first_cb, &first) != 0) {
        hb_errf(err, errlen, "hall %s: its events cannot be read", rec->id);
        return HB_EDB;
    }
    /* Days before the first stored event cannot be counted again. */
    int32_t from = from_day;
    if (first.seq > 1) {
        MDB_txn *txn;
        ru_head_t head = {0};
        if (ru_store_read_begin(st, &txn) == 0) {
            ru_store_get_head(txn, st, rec->num, &head);
            ru_store_read_end(st, txn);
        }
        const hb_tz_t *tz = NULL;
        if (!head.tz[0] || hb_tz_get(head.tz, &tz, NULL, 0) != 0) {
            const hb_policy_t *p = hq_rollup_policies_get(c->policies, rec->id);
            tz = p ? p->tz : NULL;
        }
        int32_t kept = tz ? hb_tz_local_day(tz, first.at) + 1 : (int32_t)(first.at / 86400000) + 1;
        if (from < kept) {
            from = kept;
            if (out) {
                char d[11];
                hb_date_format(kept, d);
                fprintf(out, "hall %s: events before %llu were pruned; counting again from %s\n",
                        rec->id, (unsigned long long)first.seq, d);
            }
        }
    }
    uint64_t deleted = 0;
    if (s_clear(st, rec->num, from, &deleted) != 0) {
        hb_errf(err, errlen, "hall %s: its rollups cannot be cleared", rec->id);
        return HB_EDB;
    }
    ru_engine_set_day_filter(c->eng, from, false);
    int rc = ru_engine_begin_hall(c->eng, rec->num, first.seq ? first.seq : 1);
    uint64_t before = 0, rolled = first.seq ? first.seq - 1 : 0;
    ru_engine_stats_t s0;
    ru_engine_get_stats(c->eng, &s0);
    before = s0.store_reads;
    while (rc == 0 && rolled < rec->last_seq) {
        size_t applied = 0;
        rc = ru_engine_catch_up(c->eng, rec->num, rec->last_seq, REPLAY_PAGE, &applied);
        if (rc == 0 && applied == 0) {
            hb_errf(err, errlen, "hall %s: events after %llu are missing from the store", rec->id,
                    (unsigned long long)rolled);
            rc = HB_EDB;
        }
        if (rc == 0 && (ru_engine_full(c->eng) || ru_engine_pending(c->eng) >= 200000))
            rc = ru_engine_commit(c->eng, hb_now_ms(), false);
        if (rc == 0)
            rc = ru_engine_rolled(c->eng, rec->num, &rolled);
    }
    if (rc == 0)
        rc = ru_engine_commit(c->eng, hb_now_ms(), true);
    /* The months, summed from the days now counted. */
    int32_t from_month = from == INT32_MIN ? INT32_MIN : ru_month_of_day(from);
    if (rc == 0)
        rc = s_months(st, c->eng, rec->num, from_month);
    if (rc == 0)
        rc = ru_engine_commit(c->eng, hb_now_ms(), false);
    if (rc != 0) {
        if (!err[0])
            hb_errf(err, errlen, "hall %s: the rollups cannot be written", rec->id);
        return rc;
    }
    ru_engine_stats_t s1;
    ru_engine_get_stats(c->eng, &s1);
    uint64_t replayed = s1.store_reads - before;
    res->events += replayed;
    res->halls++;
    if (out)
        fprintf(out,
                "hall %s: %llu event(s) counted again (to %llu), %llu old record(s) replaced\n",
                rec->id, (unsigned long long)replayed, (unsigned long long)rec->last_seq,
                (unsigned long long)deleted);
    return 0;
}

typedef HB_VEC(hq_hall_record_t) halls_vec_t;

static void s_load(const hq_hall_record_t *rec, void *arg)
{
    hq_hall_record_t *slot = hb_vec_push((halls_vec_t *)arg);
    if (slot)
        *slot = *rec;
}

int hq_rollups_rebuild(const char *data, int32_t from_day, FILE *out, hq_rebuild_result_t *res,
                       char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    int64_t t0 = hb_mono_ms();
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/data.mdb", data);
    if (stat(path, &sb) != 0) {
        hb_errf(err, errlen, "%s holds no event store (data.mdb)", data);
        return HB_ENOTFOUND;
    }
    /* hqd holds the folder's lock while it runs: one writer of the
     * rollups at a time. */
    int lock_fd = -1;
    int rc = hb_daemon_lock_folder(data, &lock_fd, err, errlen);
    if (rc != 0)
        return rc;
    hq_store_t events;
    ru_store_t st;
    hq_control_t *ctl = NULL;
    hq_rollup_policies_t *policies = NULL;
    ru_engine_t *eng = NULL;
    halls_vec_t hc = HB_VEC_INIT(HQ_HALLS_MAX);
    bool events_open = false, st_open = false;
    if (hq_store_open(&events, data, 1u << 30, (size_t)1 << 42) != 0) {
        hb_errf(err, errlen, "cannot open the event store in %s", data);
        rc = HB_EDB;
        goto out;
    }
    events_open = true;
    snprintf(path, sizeof path, "%s/control", data);
    if (hq_control_open(path, &ctl, err, errlen) != 0) {
        rc = HB_EDB;
        goto out;
    }
    policies = hq_rollup_policies_build(ctl);
    snprintf(path, sizeof path, "%s/rollups", data);
    if (ru_store_open(&st, path, 64u << 20, (size_t)1 << 40) != 0) {
        hb_errf(err, errlen, "cannot open the rollups in %s", path);
        rc = HB_EDB;
        goto out;
    }
    st_open = true;
    uint32_t next;
    if (!policies || hq_store_load_halls(&events, s_load, &hc, &next) != 0) {
        hb_errf(err, errlen, "cannot load the halls of %s", data);
        rc = HB_EDB;
        goto out;
    }
    ru_engine_config_t ecfg = {.events = &events,
                               .store = &st,
                               .snapshot_events = UINT64_MAX,
                               .snapshot_ms = INT64_MAX,
                               .max_cells = 200000};
    eng = ru_engine_new(&ecfg);
    if (!eng) {
        rc = HB_ENOMEM;
        goto out;
    }
    rebuild_ctx_t c = {.eng = eng, .policies = policies};
    ru_engine_set_policy(eng, s_policy, &c);
    for (size_t i = 0; i < hc.n && rc == 0; i++)
        rc = s_hall(&st, &events, &hc.v[i], from_day, &c, out, res, err, errlen);
out:
    ru_engine_destroy(&eng);
    hq_rollup_policies_destroy(&policies);
    hq_control_close(&ctl);
    if (st_open)
        ru_store_close(&st);
    if (events_open)
        hq_store_close(&events);
    hb_vec_free(&hc);
    if (lock_fd >= 0)
        close(lock_fd);
    res->ms = (double)(hb_mono_ms() - t0);
    return rc;
}
