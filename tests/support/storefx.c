/* The store tests' fixture and writer batches (see storefx.h). */
#include "storefx.h"

#include "hallbus/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

int hbt_storefx_setup(void **state)
{
    const hbt_storefx_spec_t *spec = *state;
    assert_true(spec->size >= sizeof(hbt_storefx_t));
    hbt_storefx_t *fx = hbt_fixture_new(spec->size, spec->tag);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    *state = fx;
    return 0;
}

int hbt_storefx_teardown(void **state)
{
    hbt_storefx_t *fx = *state;
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    hbt_fixture_free(fx);
    return 0;
}

hq_writer_t *hbt_storefx_open(hbt_storefx_t *fx, size_t map, hq_commit_fn on_commit, void *arg)
{
    assert_int_equal(hq_store_open(&fx->st, fx->dir, map, 1 << 30), 0);
    hq_writer_t *w = NULL;
    assert_int_equal(hq_writer_start(&fx->st, &fx->loop, NULL, 0, 1, 64 << 20, on_commit, arg, &w),
                     0);
    return w;
}

void hbt_storefx_on_commit(const hq_commit_t *c, size_t n, void *arg)
{
    hbt_storefx_t *fx = arg;
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i].hall_num < HBT_STOREFX_HALLS);
        fx->last[c[i].hall_num] = c[i];
    }
    fx->commits++;
}

void hbt_storefx_run_until(hbt_storefx_t *fx, int commits)
{
    for (int i = 0; i < 5000 && fx->commits < commits; i++) {
        uv_run(&fx->loop, UV_RUN_NOWAIT);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(fx->commits >= commits);
}

static void s_collect_hall(const hq_hall_record_t *rec, void *arg)
{
    hq_hall_record_t *out = arg;
    assert_true(rec->num < HBT_STOREFX_HALLS);
    out[rec->num] = *rec;
}

uint32_t hbt_storefx_load_halls(hq_store_t *st, hq_hall_record_t recs[HBT_STOREFX_HALLS])
{
    memset(recs, 0, HBT_STOREFX_HALLS * sizeof *recs);
    uint32_t next = 0;
    assert_int_equal(hq_store_load_halls(st, s_collect_hall, recs, &next), 0);
    return next;
}

hq_write_item_t *hbt_write_item(uint32_t hall, const char *id, uint64_t first, uint32_t n,
                                uint8_t *const evs[], const size_t lens[], hb_digest_t *chain)
{
    size_t bytes = 4;
    for (uint32_t i = 0; i < n; i++)
        bytes += 4 + lens[i];
    hq_write_item_t *it = hq_write_item_new(bytes, 0);
    assert_non_null(it);
    it->hall_num = hall;
    snprintf(it->hall_id, sizeof it->hall_id, "%s", id);
    it->first_seq = first;
    it->count = n;
    uint8_t *p = it->data;
    hb_put_be32(p, n);
    p += 4;
    for (uint32_t i = 0; i < n; i++) {
        hb_put_be32(p, (uint32_t)lens[i]);
        memcpy(p + 4, evs[i], lens[i]);
        if (chain)
            hb_digest_step(chain, p + 4, lens[i]);
        p += 4 + lens[i];
    }
    return it;
}

void hbt_storefx_wait_folded(hq_writer_t *w)
{
    for (int i = 0; i < 1000; i++) {
        hq_writer_stats_t ws;
        hq_writer_get_stats(w, &ws);
        if (ws.log_entries == 0)
            return;
        usleep(10 * 1000);
    }
    fail_msg("the writer's commit log was not folded within 10 s");
}

size_t hbt_storefx_chunks(hq_store_t *st, uint32_t hall)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    assert_int_equal(mdb_txn_begin(st->store.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, st->events, &cur), 0);
    uint8_t key[12];
    hb_put_be32(key, hall);
    hb_put_be64(key + 4, 0);
    MDB_val k = {12, key}, v;
    size_t n = 0;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && hb_get_be32(k.mv_data) == hall) {
        n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

size_t hbt_store_event(uint32_t hall, uint64_t seq, uint8_t out[HBT_STORE_EVENT_MAX])
{
    return (size_t)snprintf((char *)out, HBT_STORE_EVENT_MAX, "hall %u event %llu", hall,
                            (unsigned long long)seq);
}

hq_write_item_t *hbt_store_events_item(uint32_t hall, const char *id, uint64_t first, uint32_t n,
                                       hb_digest_t *chain)
{
    uint8_t bytes[64][HBT_STORE_EVENT_MAX], *evs[64];
    size_t lens[64];
    assert_true(n <= 64);
    for (uint32_t i = 0; i < n; i++) {
        lens[i] = hbt_store_event(hall, first + i, bytes[i]);
        evs[i] = bytes[i];
    }
    return hbt_write_item(hall, id, first, n, evs, lens, chain);
}

int hbt_store_read_check(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    hbt_store_read_t *r = arg;
    assert_int_equal(seq, r->next);
    uint8_t want[HBT_STORE_EVENT_MAX];
    size_t wlen = hbt_store_event(r->hall, seq, want);
    assert_int_equal(len, wlen);
    assert_memory_equal(data, want, len);
    r->next++;
    r->n++;
    return 0;
}
