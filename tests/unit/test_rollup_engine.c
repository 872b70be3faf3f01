/* Unit tests of the rollups' engine and thread on real LMDB files
 * (hqd/reports/ruengine.c, rollup.c, retention.c): events are counted
 * exactly once whatever stops the process (changes lost before a commit
 * are counted again from the event store, those committed are not), a
 * saved fold state replays to the same figures, batches that do not fit
 * the thread's queue are read back from the store, a restart counts
 * nothing twice; pruning never deletes a chunk not rolled up nor a young
 * one; the disk rule says when it is nearly full. */
#include "retention.h"
#include "rollup.h"
#include "ruengine.h"

#include "alerts.h"
#include "hqstore.h"
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "events.h"
#include "harness.h"

#define HALLS 2
#define CHUNK 37 /* events per stored batch: not a divisor of anything */

/* ------------------------------------------------------------- streams */

typedef struct stream {
    uint8_t **ev;
    size_t *len;
    size_t n;
} stream_t;

/* A simulated day of hall `i` as encoded envelopes 1..n. */
static void s_stream(int i, int64_t open_ms, stream_t *s)
{
    memset(s, 0, sizeof *s);
    hb_sim_hall_t *h = hb_sim_hall_new(5, i, open_ms);
    size_t cap = 0;
    int64_t t;
    for (Hallbus__Envelope *env = hbt_sim_next(h, &t); env; env = hbt_sim_next(h, &t)) {
        env->seq = s->n + 1;
        if (s->n == cap) {
            cap = cap ? cap * 2 : 1024;
            s->ev = realloc(s->ev, cap * sizeof *s->ev);
            s->len = realloc(s->len, cap * sizeof *s->len);
        }
        assert_int_equal(hb_envelope_pack(env, &s->ev[s->n], &s->len[s->n]), 0);
        s->n++;
        hb_envelope_free(env);
    }
    hb_sim_hall_destroy(&h);
}

static void s_stream_free(stream_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->ev[i]);
    free(s->ev);
    free(s->len);
}

/* A batch as the writer hands it on: chunk bytes of events first..first+n-1. */
static hq_write_item_t *s_item(const stream_t *s, uint32_t hall, uint64_t first, uint32_t n)
{
    size_t len = 4;
    for (uint32_t k = 0; k < n; k++)
        len += 4 + s->len[first - 1 + k];
    hq_write_item_t *it = hq_write_item_new(len, 0);
    it->hall_num = hall;
    snprintf(it->hall_id, sizeof it->hall_id, "H%u", hall);
    it->first_seq = first;
    it->count = n;
    hb_put_be32(it->data, n);
    size_t off = 4;
    for (uint32_t k = 0; k < n; k++) {
        size_t l = s->len[first - 1 + k];
        hb_put_be32(it->data + off, (uint32_t)l);
        memcpy(it->data + off + 4, s->ev[first - 1 + k], l);
        off += 4 + l;
    }
    return it;
}

/* Stores the streams as the writer would: chunks of CHUNK, hall records. */
static void s_store(hq_store_t *st, stream_t *streams, hq_hall_record_t *recs)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(st->store.env, NULL, 0, &txn), 0);
    for (uint32_t h = 0; h < HALLS; h++) {
        const stream_t *s = &streams[h];
        for (uint64_t first = 1; first <= s->n; first += CHUNK) {
            uint32_t n = (uint32_t)(s->n - first + 1 < CHUNK ? s->n - first + 1 : CHUNK);
            hq_write_item_t *it = s_item(s, h + 1, first, n);
            uint8_t key[12];
            hb_put_be32(key, h + 1);
            hb_put_be64(key + 4, first);
            MDB_val k = {12, key}, v = {it->len, it->data};
            assert_int_equal(mdb_put(txn, st->events, &k, &v, 0), 0);
            free(it);
        }
        recs[h] = (hq_hall_record_t){.num = h + 1, .last_seq = s->n, .events = s->n};
        snprintf(recs[h].id, sizeof recs[h].id, "H%u", h + 1);
        uint8_t buf[HQ_HALL_RECORD_BYTES];
        hq_hall_record_encode(&recs[h], buf);
        MDB_val k = {strlen(recs[h].id), recs[h].id}, v = {sizeof buf, buf};
        assert_int_equal(mdb_put(txn, st->halls, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* Every cell of a rollups store, as one text (keys and values in hex). */
static char *s_dump(const char *dir)
{
    ru_store_t st;
    assert_int_equal(ru_store_open(&st, dir, 1u << 24, 1u << 30), 0);
    MDB_txn *txn;
    assert_int_equal(ru_store_read_begin(&st, &txn), 0);
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, st.cells, &cur), 0);
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    MDB_val k, v;
    int g = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (g == 0) {
        while (len + 2 * (k.mv_size + v.mv_size) + 4 > cap)
            out = realloc(out, cap *= 2);
        for (size_t i = 0; i < k.mv_size; i++)
            len += (size_t)sprintf(out + len, "%02x", ((uint8_t *)k.mv_data)[i]);
        out[len++] = '=';
        for (size_t i = 0; i < v.mv_size; i++)
            len += (size_t)sprintf(out + len, "%02x", ((uint8_t *)v.mv_data)[i]);
        out[len++] = '\n';
        g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    out[len] = '\0';
    mdb_cursor_close(cur);
    ru_store_read_end(&st, txn);
    ru_store_close(&st);
    return out;
}

typedef struct world {
    char root[256], events_dir[300], ref_dir[300], ru_dir[300];
    stream_t streams[HALLS];
    hq_hall_record_t recs[HALLS];
    hq_store_t st;
    char *reference; /* the cells of one clean pass */
} world_t;

static void s_clean_pass(world_t *w, const char *dir)
{
    ru_store_t rs;
    assert_int_equal(ru_store_open(&rs, dir, 1u << 24, 1u << 30), 0);
    ru_engine_config_t cfg = {.events = &w->st,
                              .store = &rs,
                              .snapshot_events = 1000000,
                              .snapshot_ms = 3600000,
                              .max_cells = 100000};
    ru_engine_t *e = ru_engine_new(&cfg);
    for (uint32_t h = 1; h <= HALLS; h++) {
        size_t applied;
        assert_int_equal(ru_engine_catch_up(e, h, w->recs[h - 1].last_seq, SIZE_MAX, &applied), 0);
        assert_int_equal(applied, w->recs[h - 1].last_seq);
    }
    assert_int_equal(ru_engine_commit(e, hb_now_ms(), true), 0);
    ru_engine_destroy(&e);
    ru_store_close(&rs);
}

static int s_setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    hbt_mkdtemp(w->root, sizeof w->root, "rollup");
    snprintf(w->events_dir, sizeof w->events_dir, "%s/events", w->root);
    snprintf(w->ref_dir, sizeof w->ref_dir, "%s/reference", w->root);
    snprintf(w->ru_dir, sizeof w->ru_dir, "%s/rollups", w->root);
    for (int h = 0; h < HALLS; h++)
        s_stream(h, 1791190800000LL + h * 3600000LL, &w->streams[h]);
    assert_int_equal(hq_store_open(&w->st, w->events_dir, 1u << 26, 1u << 30), 0);
    s_store(&w->st, w->streams, w->recs);
    s_clean_pass(w, w->ref_dir);
    w->reference = s_dump(w->ref_dir);
    assert_true(strlen(w->reference) > 1000);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hq_store_close(&w->st);
    for (int h = 0; h < HALLS; h++)
        s_stream_free(&w->streams[h]);
    free(w->reference);
    hbt_rmdir(w->root);
    free(w);
    return 0;
}

static void test_exactly_once_across_crashes(void **state)
{
    world_t *w = *state;
    /* Fold states saved every 50 events: restarts replay from them. */
    ru_engine_config_t cfg = {
        .events = &w->st, .snapshot_events = 50, .snapshot_ms = 3600000, .max_cells = 100000};
    uint64_t upto[HALLS] = {0};
    for (int crash = 0; crash < 6; crash++) {
        ru_store_t rs;
        assert_int_equal(ru_store_open(&rs, w->ru_dir, 1u << 24, 1u << 30), 0);
        cfg.store = &rs;
        ru_engine_t *e = ru_engine_new(&cfg);
        for (uint32_t h = 1; h <= HALLS; h++) {
            uint64_t rolled;
            assert_int_equal(ru_engine_rolled(e, h, &rolled), 0);
            /* What the last run committed, and nothing of what it lost. */
            assert_int_equal(rolled, upto[h - 1]);
            /* Apply a part, commit; apply more, and "crash" before the
             * next commit. */
            uint64_t last = w->recs[h - 1].last_seq;
            uint64_t a = rolled + (last - rolled) / 3, b = rolled + 2 * (last - rolled) / 3;
            if (crash == 5)
                a = b = last;
            size_t applied;
            assert_int_equal(ru_engine_catch_up(e, h, a, SIZE_MAX, &applied), 0);
            /* A batch the thread would also be handed: already counted. */
            bool skipped;
            if (a > 0)
                assert_int_equal(ru_engine_apply(e, h, a, w->streams[h - 1].ev[a - 1],
                                                 w->streams[h - 1].len[a - 1], &skipped),
                                 0);
            assert_true(a == 0 || skipped);
            /* A gap is refused, not counted. */
            if (a + 2 <= last)
                assert_int_equal(ru_engine_apply(e, h, a + 2, w->streams[h - 1].ev[a + 1],
                                                 w->streams[h - 1].len[a + 1], &skipped),
                                 HB_ESEQ);
            upto[h - 1] = a;
        }
        assert_int_equal(ru_engine_commit(e, hb_now_ms(), false), 0);
        for (uint32_t h = 1; h <= HALLS; h++) {
            size_t applied;
            assert_int_equal(ru_engine_catch_up(e, h,
                                                (w->recs[h - 1].last_seq + upto[h - 1]) / 2 + 1,
                                                SIZE_MAX, &applied),
                             0);
        }
        ru_engine_destroy(&e); /* the pending changes are lost */
        ru_store_close(&rs);
    }
    char *dump = s_dump(w->ru_dir);
    assert_string_equal(dump, w->reference);
    free(dump);
}

static void test_the_thread_reads_back_what_it_could_not_queue(void **state)
{
    world_t *w = *state;
    hq_rollup_config_t cfg;
    hq_rollup_config_default(&cfg);
    cfg.dir = w->ru_dir;
    cfg.max_queue_bytes = 4096; /* most batches do not fit */
    cfg.commit_ms = 20;
    cfg.low_priority = false;
    /* The thread starts with nothing stored for it: the halls are offered
     * as the writer commits them. */
    hq_hall_record_t none[HALLS];
    memcpy(none, w->recs, sizeof none);
    for (int h = 0; h < HALLS; h++)
        none[h].last_seq = 0;
    hq_rollup_t *r = NULL;
    assert_int_equal(hq_rollup_start(&w->st, none, HALLS, &cfg, NULL, &r), 0);
    for (uint32_t h = 1; h <= HALLS; h++) {
        const stream_t *s = &w->streams[h - 1];
        for (uint64_t first = 1; first <= s->n; first += CHUNK) {
            uint32_t n = (uint32_t)(s->n - first + 1 < CHUNK ? s->n - first + 1 : CHUNK);
            hq_write_item_t *it = s_item(s, h, first, n);
            hq_rollup_offer(r, it);
            free(it);
        }
    }
    assert_true(hq_rollup_flush(r, 30000));
    hq_rollup_stats_t st;
    hq_rollup_get_stats(r, &st);
    fprintf(stderr, "offered %llu batches, %llu did not fit the queue; %llu events read back\n",
            (unsigned long long)st.offered_items, (unsigned long long)st.dropped_items,
            (unsigned long long)st.engine.store_reads);
    assert_true(st.dropped_items > 0);
    assert_true(st.engine.store_reads > 0);
    assert_int_equal(st.engine.events, w->recs[0].last_seq + w->recs[1].last_seq);
    assert_int_equal(st.lag_events, 0);
    hq_rollup_stop(&r);
    char *dump = s_dump(w->ru_dir);
    assert_string_equal(dump, w->reference);
    free(dump);
    /* A restart with the halls' records counts nothing again. */
    assert_int_equal(hq_rollup_start(&w->st, w->recs, HALLS, &cfg, NULL, &r), 0);
    assert_true(hq_rollup_flush(r, 30000));
    hq_rollup_get_stats(r, &st);
    assert_int_equal(st.engine.events, 0);
    hq_rollup_stop(&r);
    dump = s_dump(w->ru_dir);
    assert_string_equal(dump, w->reference);
    free(dump);
}

static int s_first_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    *(uint64_t *)arg = seq;
    return 1;
}

static void test_pruning_keeps_what_is_not_rolled_up(void **state)
{
    world_t *w = *state;
    /* The simulated day is 2026-10-05: a cutoff after it makes every chunk
     * old, one before it none. */
    int64_t after = 1791190800000LL + 2 * 86400000LL, before = 1791190800000LL - 86400000LL;
    hq_prune_step_t st;
    assert_int_equal(hq_prune_raw(&w->st, 1, w->recs[0].last_seq, before, 1000, &st), 0);
    assert_int_equal(st.chunks, 0);
    assert_true(st.done);
    /* Rolled up (and saved) to 100: the chunks ending by 100 go, not the
     * one holding 101. */
    assert_int_equal(hq_prune_raw(&w->st, 1, 100, after, 1000, &st), 0);
    assert_int_equal(st.chunks, 100 / CHUNK);
    assert_int_equal(st.events, (100 / CHUNK) * CHUNK);
    assert_int_equal(st.held_back, 1);
    /* At most `max` per transaction. */
    assert_int_equal(hq_prune_raw(&w->st, 1, w->recs[0].last_seq, after, 1, &st), 0);
    assert_int_equal(st.chunks, 1);
    assert_false(st.done);
    /* The stream now starts after what went, and goes on whole. */
    uint64_t first = 0;
    assert_int_equal(hq_store_read_events(&w->st, 1, 1, 1, s_first_cb, &first), 0);
    assert_int_equal(first, (100 / CHUNK + 1) * CHUNK + 1);
    /* Hall 2 is untouched. */
    assert_int_equal(hq_prune_raw(&w->st, 2, 0, after, 1000, &st), 0);
    assert_int_equal(st.chunks, 0);
    assert_int_equal(st.held_back, 1);
}

static void test_disk_rule(void **state)
{
    (void)state;
    alerts_room_t rooms[] = {{"disk", 1000, 95}, {"event_store_map", 1000, 100}, {"x", 0, 0}};
    alert_set_t set = {0};
    alerts_eval_room(rooms, 3, 10, &set);
    assert_int_equal(set.n, 1); /* 9.5% is under 10%; 10% is not; an empty room says nothing */
    assert_int_equal(set.alerts[0].kind, ALERT_DISK_NEARLY_FULL);
    assert_string_equal(set.alerts[0].subject, "disk");
    assert_int_equal(set.alerts[0].value, 9);
    assert_int_equal(set.alerts[0].threshold, 10);
    assert_string_equal(alert_kind_name(ALERT_DISK_NEARLY_FULL), "disk_nearly_full");
    assert_int_equal(alert_kind_parse("disk_nearly_full"), ALERT_DISK_NEARLY_FULL);
    set.n = 0;
    alerts_eval_room(rooms, 3, 0, &set);
    assert_int_equal(set.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exactly_once_across_crashes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_the_thread_reads_back_what_it_could_not_queue, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_pruning_keeps_what_is_not_rolled_up, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_disk_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
