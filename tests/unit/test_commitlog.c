/* Unit tests of HQ's commit log (hqlog.h) on real LMDB files: an event
 * acknowledged and not folded yet is read back (events and flags) from the
 * log's tail; a store closed between a log commit and its fold (what
 * kill -9 leaves) folds it at the next open, once, and a fold that
 * committed before the log was trimmed is not folded twice; the log's
 * bound makes the writer wait for the fold; a store of a release without
 * the log opens with an empty one. The daemon killed for real:
 * integration/test_commitlog_crash.c. */
#include "hqlog.h"
#include "hqstore.h"
#include "writer.h"

#include "hallbus/digest.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "storefx.h"
#include "runner.h"

/* Hall `hall`'s events first..first+n-1 as one writer item; its event
 * `flag_seq` (0: none) carries a flag. */
static hq_write_item_t *s_item(uint32_t hall, const char *id, uint64_t first, uint32_t n,
                               uint64_t flag_seq, hb_digest_t *chain)
{
    hq_write_item_t *plain = hbt_store_events_item(hall, id, first, n, chain);
    if (!flag_seq)
        return plain;
    hq_write_item_t *it = hq_write_item_new(plain->len, 1);
    assert_non_null(it);
    hq_flag_t *fl = it->flags;
    memcpy(it, plain, sizeof *it + plain->len);
    it->flags = fl;
    it->n_flags = 1;
    fl->seq = flag_seq;
    fl->anomaly = 2;
    snprintf(fl->reason, sizeof fl->reason, "flagged for the test");
    free(plain);
    return it;
}

typedef hbt_storefx_t fixture_t;

static const hbt_storefx_spec_t s_spec = {"test-commitlog", sizeof(fixture_t)};
#define HBT_FIXTURE hbt_storefx_setup, hbt_storefx_teardown, &s_spec

HBT_TEST(test_acked_not_folded_is_read_from_the_log)
{
    fixture_t *f = *state;
    hq_writer_t *w = hbt_storefx_open(f, 1 << 20, hbt_storefx_on_commit, f);
    /* No fold for an hour: what is acknowledged stays in the log. */
    hq_writer_set_fold(w, 3600 * 1000, (uint64_t)1 << 40, 0);
    hb_digest_t d;
    hb_digest_init(&d);
    hq_write_item_t *a = s_item(4, "LOG-4", 1, 20, 7, &d);
    assert_int_equal(hq_writer_submit(w, &a), 0);
    hbt_storefx_run_until(f, 1);
    hq_write_item_t *b = s_item(4, "LOG-4", 21, 10, 0, &d);
    assert_int_equal(hq_writer_submit(w, &b), 0);
    hbt_storefx_run_until(f, 2);
    assert_true(f->last[4].ok);
    assert_int_equal(f->last[4].last_seq, 30);
    assert_memory_equal(f->last[4].digest.bytes, d.bytes, HB_DIGEST_LEN);

    /* Acknowledged, not in the per-hall layout, and read whole. */
    assert_int_equal(hbt_storefx_chunks(&f->st, 4), 0);
    hq_writer_stats_t ws;
    hq_writer_get_stats(w, &ws);
    assert_int_equal(ws.log_events, 30);
    assert_int_equal(ws.log_entries, 2);
    assert_true(ws.log_bytes > 0);
    hbt_store_read_t r = {.hall = 4, .next = 1};
    assert_int_equal(hq_store_read_events(&f->st, 4, 1, 1000, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 30);
    r = (hbt_store_read_t){.hall = 4, .next = 18};
    assert_int_equal(hq_store_read_events(&f->st, 4, 18, 5, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 5);
    hq_flag_t flag;
    int64_t stored = 0;
    assert_int_equal(hq_store_get_flag(&f->st, 4, 7, &flag, &stored), 0);
    assert_string_equal(flag.reason, "flagged for the test");
    assert_true(stored > 0);
    assert_int_equal(hq_store_get_flag(&f->st, 4, 8, &flag, NULL), HB_ENOTFOUND);

    /* A stop folds everything: the same reads, now from the tables, one
     * chunk per logged commit. */
    hq_writer_stop(&w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(hbt_storefx_chunks(&f->st, 4), 2);
    r = (hbt_store_read_t){.hall = 4, .next = 1};
    assert_int_equal(hq_store_read_events(&f->st, 4, 1, 1000, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 30);
    assert_int_equal(hq_store_get_flag(&f->st, 4, 7, &flag, NULL), 0);
    hq_log_stats_t ls;
    hq_log_get_stats(f->st.log, &ls);
    assert_int_equal(ls.entries, 0);
    assert_int_equal(hq_log_folded_mark(&f->st), 2);
    hq_hall_record_t recs[16];
    hbt_storefx_load_halls(&f->st, recs);
    assert_int_equal(recs[4].last_seq, 30);
    assert_int_equal(recs[4].anomalies, 1);
    assert_memory_equal(recs[4].digest.bytes, d.bytes, HB_DIGEST_LEN);
    hq_store_close(&f->st);
}

/* A logged commit of hall 7 (`n` events from `first`), appended to the
 * log directly, as the writer does before its fold. */
static uint64_t s_log_commit(hq_store_t *st, uint64_t first, uint32_t n, hb_digest_t *chain)
{
    hq_write_item_t *it = s_item(7, "LOG-7", first, n, first + 1, chain);
    hq_log_entry_t *e = hq_log_entry_new(
        1, 1, 13 + hq_log_run_bytes(5, it->flags, it->n_flags, it->len), hb_now_ms());
    assert_non_null(e);
    hq_log_entry_add(e, 7, "LOG-7", first, n, it->flags, 1, it->data, it->len, NULL);
    free(it);
    assert_int_equal(hq_log_append(st->log, e), 0);
    return e->id;
}

HBT_TEST(test_a_crash_before_the_fold_is_folded_once_at_open)
{
    fixture_t *f = *state;
    hq_store_t *st = &f->st;
    assert_int_equal(hq_store_open(st, f->dir, 1 << 20, 1 << 30), 0);
    hb_digest_t d;
    hb_digest_init(&d);
    uint64_t id1 = s_log_commit(st, 1, 12, &d);
    uint64_t id2 = s_log_commit(st, 13, 8, &d);
    assert_true(id2 > id1);
    /* Closed with both commits logged and none folded: what kill -9 of
     * hqd leaves between a log commit and its fold. */
    hq_store_close(st);
    assert_int_equal(hq_store_open(st, f->dir, 1 << 20, 1 << 30), 0);
    hq_hall_record_t recs[16];
    uint32_t next = hbt_storefx_load_halls(st, recs);
    assert_string_equal(recs[7].id, "LOG-7");
    assert_int_equal(recs[7].last_seq, 20);
    assert_int_equal(recs[7].events, 20);
    assert_int_equal(recs[7].anomalies, 2);
    assert_memory_equal(recs[7].digest.bytes, d.bytes, HB_DIGEST_LEN);
    assert_int_equal(next, 8);
    assert_int_equal(hq_log_folded_mark(st), id2);
    assert_int_equal(hbt_storefx_chunks(st, 7), 2);
    hbt_store_read_t r = {.hall = 7, .next = 1};
    assert_int_equal(hq_store_read_events(st, 7, 1, 1000, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 20);

    /* A fold that committed, and a crash before the log was trimmed (what
     * kill -9 during a fold's last step leaves): the next open trims the
     * commit and does not fold it again. */
    uint64_t id3 = s_log_commit(st, 21, 5, &d);
    assert_true(id3 > id2);
    hq_log_entry_t *v[4];
    assert_int_equal(hq_log_unfolded(st->log, v, 4), 1);
    assert_int_equal(hq_log_fold(st, v, 1), 0);
    hq_store_close(st);
    assert_int_equal(hq_store_open(st, f->dir, 1 << 20, 1 << 30), 0);
    hbt_storefx_load_halls(st, recs);
    assert_int_equal(recs[7].last_seq, 25);
    assert_int_equal(recs[7].events, 25);
    assert_memory_equal(recs[7].digest.bytes, d.bytes, HB_DIGEST_LEN);
    assert_int_equal(hbt_storefx_chunks(st, 7), 3);
    hq_log_stats_t ls;
    hq_log_get_stats(st->log, &ls);
    assert_int_equal(ls.entries, 0);
    /* Ids keep rising past the folded mark, with the log empty. */
    assert_true(ls.next_id > id3);

    /* A logged commit the store holds already (an older hqd stored the
     * halls' resend meanwhile) is not stored twice. */
    hb_digest_t again;
    hb_digest_init(&again);
    hq_write_item_t *it = s_item(7, "LOG-7", 21, 5, 0, &again);
    hq_log_entry_t *e = hq_log_entry_new(1, 0, 13 + hq_log_run_bytes(5, NULL, 0, it->len), 1);
    hq_log_entry_add(e, 7, "LOG-7", 21, 5, NULL, 0, it->data, it->len, NULL);
    free(it);
    assert_int_equal(hq_log_append(st->log, e), 0);
    hq_store_close(st);
    assert_int_equal(hq_store_open(st, f->dir, 1 << 20, 1 << 30), 0);
    hbt_storefx_load_halls(st, recs);
    assert_int_equal(recs[7].events, 25);
    assert_int_equal(hbt_storefx_chunks(st, 7), 3);
    hq_store_close(st);
}

HBT_TEST(test_the_bound_makes_the_writer_wait_for_the_fold)
{
    fixture_t *f = *state;
    hq_writer_t *w = hbt_storefx_open(f, 1 << 20, hbt_storefx_on_commit, f);
    /* Past one byte unfolded the writer waits; the fold comes after
     * 300 ms. */
    hq_writer_set_fold(w, 300, (uint64_t)1 << 40, 1);
    hb_digest_t d;
    hb_digest_init(&d);
    hq_write_item_t *a = s_item(2, "LOG-2", 1, 10, 0, &d);
    assert_int_equal(hq_writer_submit(w, &a), 0);
    hbt_storefx_run_until(f, 1);
    int64_t t0 = hb_mono_ms();
    hq_write_item_t *b = s_item(2, "LOG-2", 11, 10, 0, &d);
    assert_int_equal(hq_writer_submit(w, &b), 0);
    hbt_storefx_run_until(f, 2);
    assert_true(f->last[2].ok);
    assert_int_equal(f->last[2].last_seq, 20);
    hq_writer_stats_t ws;
    hq_writer_get_stats(w, &ws);
    assert_true(ws.log_full_waits >= 1);
    assert_true(ws.folds >= 1);
    /* It waited for a fold, not for nothing. */
    assert_true(hb_mono_ms() - t0 >= 100);
    hq_writer_stop(&w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    hbt_store_read_t r = {.hall = 2, .next = 1};
    assert_int_equal(hq_store_read_events(&f->st, 2, 1, 1000, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 20);
    hq_store_close(&f->st);
}

HBT_TEST(test_a_store_without_a_log_opens)
{
    fixture_t *f = *state;
    /* The tables as a release without the log leaves them: a hall record
     * and no log/ folder. */
    hb_store_t old;
    MDB_dbi events, halls, meta, flags;
    assert_int_equal(hb_store_open(&old, f->dir, 1 << 20, 1 << 30, 8), 0);
    const hb_store_db_t dbs[] = {
        {"events", &events}, {"halls", &halls}, {"meta", &meta}, {"flags", &flags}};
    assert_int_equal(hb_store_dbis(&old, dbs, 4), 0);
    hq_hall_record_t rec = {.num = 3, .last_seq = 0};
    snprintf(rec.id, sizeof rec.id, "OLD-3");
    uint8_t buf[HQ_HALL_RECORD_BYTES];
    hq_hall_record_encode(&rec, buf);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(old.env, NULL, 0, &txn), 0);
    MDB_val k = {5, "OLD-3"}, v = {sizeof buf, buf};
    assert_int_equal(mdb_put(txn, halls, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    hb_store_close(&old);
    char path[HBT_FIXTURE_DIR + 16];
    snprintf(path, sizeof path, "%s/log", f->dir);
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0);

    hq_writer_t *w = hbt_storefx_open(f, 1 << 20, hbt_storefx_on_commit, f);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(hq_log_folded_mark(&f->st), 0);
    hq_log_stats_t ls;
    hq_log_get_stats(f->st.log, &ls);
    assert_int_equal(ls.entries, 0);
    assert_int_equal(ls.next_id, 1);
    hq_write_item_t *a = s_item(3, "OLD-3", 1, 4, 0, NULL);
    assert_int_equal(hq_writer_submit(w, &a), 0);
    hbt_storefx_run_until(f, 1);
    assert_true(f->last[3].ok);
    hq_writer_stop(&w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    hq_hall_record_t recs[16];
    hbt_storefx_load_halls(&f->st, recs);
    assert_int_equal(recs[3].last_seq, 4);
    hq_store_close(&f->st);
}
