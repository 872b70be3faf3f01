/* Unit tests of HQ's storage on real LMDB files: the writer thread's group
 * commits and the digests it hands back, reading a stream from any sequence
 * across chunk boundaries, map growth from a tiny map, a batch that does not
 * follow on being refused without damage, state surviving a reopen, and the
 * dedup rule (hq_batch_plan). */
#include "halls.h"
#include "hqstore.h"
#include "ingest.h"
#include "writer.h"

#include "hallbus/digest.h"
#include "hallbus/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storefx.h"
#include "runner.h"

typedef hbt_storefx_t fixture_t;

static const hbt_storefx_spec_t s_spec = {"test-hqstore", sizeof(fixture_t)};

/* Stops the writer, lets its last commits be reported, closes the store
 * and opens it again with a map of `map` bytes; the hall records it loads
 * into `recs` (by number), and the next hall number it returns. */
static uint32_t s_stop_and_reopen(fixture_t *f, hq_writer_t **w, size_t map,
                                  hq_hall_record_t recs[16])
{
    hq_writer_stop(w);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    hq_store_close(&f->st);
    assert_int_equal(hq_store_open(&f->st, f->dir, map, 1 << 30), 0);
    return hbt_storefx_load_halls(&f->st, recs);
}

#define HBT_FIXTURE hbt_storefx_setup, hbt_storefx_teardown, &s_spec

HBT_TEST(test_group_commit_digest_and_reads)
{
    fixture_t *f = *state;
    hq_writer_t *w = hbt_storefx_open(f, 1 << 20, hbt_storefx_on_commit, f);
    hb_digest_t d1, d2;
    hb_digest_init(&d1);
    hb_digest_init(&d2);
    /* Interleaved batches of two halls, several chunks each. */
    for (uint64_t k = 0; k < 5; k++) {
        hq_write_item_t *a = hbt_store_events_item(1, "HALL-1", 1 + k * 10, 10, &d1);
        hq_write_item_t *b = hbt_store_events_item(2, "HALL-2", 1 + k * 7, 7, &d2);
        assert_int_equal(hq_writer_submit(w, &a), 0);
        assert_null(a);
        assert_int_equal(hq_writer_submit(w, &b), 0);
    }
    for (int i = 0; i < 2000 && (f->last[1].last_seq < 50 || f->last[2].last_seq < 35); i++)
        hbt_storefx_run_until(f, f->commits + 1);
    assert_int_equal(f->last[1].last_seq, 50);
    assert_int_equal(f->last[1].events, 50);
    assert_true(f->last[1].ok);
    assert_memory_equal(f->last[1].digest.bytes, d1.bytes, HB_DIGEST_LEN);
    assert_int_equal(f->last[2].last_seq, 35);
    assert_memory_equal(f->last[2].digest.bytes, d2.bytes, HB_DIGEST_LEN);

    /* From the middle of a chunk, across chunk boundaries, bounded. */
    /* The reader checks that the seqs come one after the other from the
     * first asked for: 15..34 here. */
    hbt_store_read_t r = {.hall = 1, .next = 15};
    assert_int_equal(hq_store_read_events(&f->st, 1, 15, 20, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 20);
    assert_int_equal(r.next, 35);
    r = (hbt_store_read_t){.hall = 2, .next = 35};
    assert_int_equal(hq_store_read_events(&f->st, 2, 35, 20, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 1);
    r = (hbt_store_read_t){.hall = 2, .next = 36};
    assert_int_equal(hq_store_read_events(&f->st, 2, 36, 20, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 0);
    r = (hbt_store_read_t){.hall = 3, .next = 1}; /* never wrote */
    assert_int_equal(hq_store_read_events(&f->st, 3, 1, 20, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 0);

    /* A batch that does not follow on is refused, the stream untouched. */
    hq_write_item_t *gap = hbt_store_events_item(1, "HALL-1", 60, 5, NULL);
    assert_int_equal(hq_writer_submit(w, &gap), 0);
    int before = f->commits;
    hbt_storefx_run_until(f, before + 1);
    assert_false(f->last[1].ok);
    assert_int_equal(f->last[1].last_seq, 50);

    /* Reopen: the hall records come back as committed. */
    hq_hall_record_t recs[16];
    uint32_t next = s_stop_and_reopen(f, &w, 1 << 20, recs);
    assert_int_equal(recs[1].last_seq, 50);
    assert_memory_equal(recs[1].digest.bytes, d1.bytes, HB_DIGEST_LEN);
    assert_int_equal(recs[2].last_seq, 35);
    assert_string_equal(recs[2].id, "HALL-2");
    assert_int_equal(next, 3);
    hq_store_close(&f->st);
}

HBT_TEST(test_records_survive_reopen_and_tiny_map_grows)
{
    fixture_t *f = *state;
    hq_writer_t *w = hbt_storefx_open(f, 64 << 10, hbt_storefx_on_commit, f);
    hb_digest_t d;
    hb_digest_init(&d);
    for (uint64_t k = 0; k < 400; k++) {
        hq_write_item_t *it = hbt_store_events_item(3, "HALL-3", 1 + k * 50, 50, &d);
        assert_int_equal(hq_writer_submit(w, &it), 0);
    }
    for (int i = 0; i < 5000 && f->last[3].last_seq < 20000; i++)
        hbt_storefx_run_until(f, f->commits + 1);
    assert_int_equal(f->last[3].last_seq, 20000);
    /* Acknowledged is logged (hqlog.h); the tables grow when the fold
     * writes them. */
    hbt_storefx_wait_folded(w);
    assert_true(f->st.store.grow_count > 0);
    hq_hall_record_t recs[16];
    uint32_t next = s_stop_and_reopen(f, &w, 64 << 10, recs);
    assert_string_equal(recs[3].id, "HALL-3");
    assert_int_equal(recs[3].last_seq, 20000);
    assert_int_equal(recs[3].events, 20000);
    assert_memory_equal(recs[3].digest.bytes, d.bytes, HB_DIGEST_LEN);
    assert_int_equal(next, 4);
    hbt_store_read_t r = {.hall = 3, .next = 19990};
    assert_int_equal(hq_store_read_events(&f->st, 3, 19990, 64, hbt_store_read_check, &r), 0);
    assert_int_equal(r.n, 11);
    hq_store_close(&f->st);
}

HBT_TEST_IN(test_batch_plan, NULL, NULL)
{
    (void)state;
    uint64_t skip = 99;
    assert_int_equal(hq_batch_plan(0, 1, 10, &skip), HQ_BATCH_STORE);
    assert_int_equal(skip, 0);
    assert_int_equal(hq_batch_plan(10, 11, 5, &skip), HQ_BATCH_STORE);
    assert_int_equal(skip, 0);
    /* Overlap: the first 4 are resends. */
    assert_int_equal(hq_batch_plan(10, 7, 10, &skip), HQ_BATCH_STORE);
    assert_int_equal(skip, 4);
    /* Entirely old. */
    assert_int_equal(hq_batch_plan(10, 1, 10, &skip), HQ_BATCH_DUPLICATE);
    assert_int_equal(hq_batch_plan(10, 5, 6, &skip), HQ_BATCH_DUPLICATE);
    /* Ahead: a gap would lose events 11..11. */
    assert_int_equal(hq_batch_plan(10, 12, 3, &skip), HQ_BATCH_GAP);
    assert_int_equal(hq_batch_plan(0, 1000000, 1, &skip), HQ_BATCH_GAP);
}

HBT_TEST_IN(test_hall_registry, NULL, NULL)
{
    (void)state;
    hq_halls_t *hs = hq_halls_new();
    assert_non_null(hs);
    char id[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "H%05d", 4999 - i);
        hq_hall_t *h = hq_halls_get(hs, id);
        assert_non_null(h);
        assert_int_equal(h->num, (uint32_t)i + 1);
    }
    assert_int_equal(hq_halls_count(hs), 5000);
    assert_ptr_equal(hq_halls_get(hs, "H00042"), hq_halls_find(hs, "H00042"));
    assert_null(hq_halls_find(hs, "H99999"));
    assert_string_equal(hq_halls_sorted(hs, 0)->id, "H00000");
    assert_string_equal(hq_halls_sorted(hs, 4999)->id, "H04999");
    assert_ptr_equal(hq_halls_by_num(hs, 1), hq_halls_find(hs, "H04999"));
    /* A loaded record keeps its number; new halls continue after it. */
    hq_hall_record_t rec = {.id = "LOADED", .num = 9000, .last_seq = 7};
    assert_non_null(hq_halls_load(hs, &rec));
    assert_int_equal(hq_halls_get(hs, "NEWER")->num, 9001);
    hq_halls_destroy(&hs);
    assert_null(hs);
}

/* The hall record reads both ways across the 0.1.0 release: its reader
 * wants the mark 1 and the first fields (and ignores what follows), and a
 * record of its length reads here with no anomalies. */
HBT_TEST_IN(test_hall_record_across_releases, NULL, NULL)
{
    (void)state;
    hq_hall_record_t rec = {.num = 42,
                            .last_seq = 1000,
                            .events = 999,
                            .last_commit_ms = 1234,
                            .anomalies = 3,
                            .last_anomaly_seq = 77,
                            .last_anomaly_ms = 5678};
    for (int i = 0; i < HB_DIGEST_LEN; i++)
        rec.digest.bytes[i] = (uint8_t)(i * 7 + 1);
    uint8_t buf[HQ_HALL_RECORD_BYTES];
    hq_hall_record_encode(&rec, buf);
    assert_int_equal(buf[0], 1);
    /* 0.1.0's layout: mark, number, last sequence, events, digest, time. */
    assert_int_equal(hb_get_be32(buf + 1), 42);
    assert_int_equal(hb_get_be64(buf + 5), 1000);
    assert_int_equal(hb_get_be64(buf + 13), 999);
    assert_memory_equal(buf + 21, rec.digest.bytes, HB_DIGEST_LEN);
    assert_int_equal(hb_get_be64(buf + 21 + HB_DIGEST_LEN), 1234);
    hq_hall_record_t out;
    assert_int_equal(hq_hall_record_decode("H1", 2, buf, sizeof buf, &out), 0);
    assert_string_equal(out.id, "H1");
    assert_int_equal(out.num, 42);
    assert_int_equal(out.events, 999);
    assert_int_equal(out.anomalies, 3);
    assert_int_equal(out.last_anomaly_seq, 77);
    assert_int_equal(out.last_anomaly_ms, 5678);
    /* As 0.1.0 writes it: the first fields only. */
    assert_int_equal(hq_hall_record_decode("H1", 2, buf, HQ_HALL_RECORD_V1_BYTES, &out), 0);
    assert_int_equal(out.last_seq, 1000);
    assert_memory_equal(out.digest.bytes, rec.digest.bytes, HB_DIGEST_LEN);
    assert_int_equal(out.anomalies, 0);
    assert_int_equal(out.last_anomaly_seq, 0);
    /* Marked 2 by a build between the releases. */
    buf[0] = 2;
    assert_int_equal(hq_hall_record_decode("H1", 2, buf, sizeof buf, &out), 0);
    assert_int_equal(out.anomalies, 3);
    /* Refused: a mark 2 record cut short, a shorter one, another mark. */
    assert_int_equal(hq_hall_record_decode("H1", 2, buf, HQ_HALL_RECORD_V1_BYTES, &out), HB_EPARSE);
    buf[0] = 1;
    assert_int_equal(hq_hall_record_decode("H1", 2, buf, HQ_HALL_RECORD_V1_BYTES - 1, &out),
                     HB_EPARSE);
    buf[0] = 3;
    assert_int_equal(hq_hall_record_decode("H1", 2, buf, sizeof buf, &out), HB_EPARSE);
}
