/* hqd/mirror/trend.h alone, with times chosen by hand: tickets served land
 * in the quarter of their event's local time (zones apart), an event of an
 * earlier local day is left to the rollups and one of a later day starts
 * it; the waiting figure is the time-weighted mean of the samples over the
 * quarter, computed here independently; a rebuilt hall's today before its
 * last rebuilt event is a gap; halls of several zones give no common zone.
 * The typical day from rollup cells written by hand into a real LMDB
 * store (only same weekdays with tickets count; a read budget per answer
 * leaves the rest pending). And the cost at 100,000 halls: the bytes a
 * hall takes, and the time of one answer over all of them, printed. */
#include "trend.h"

#include "harness.h"

#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#define SH "Asia/Shanghai"

static int32_t s_day; /* a Wednesday: 2026-12-02 */
static const hb_tz_t *s_sh, *s_ber;

/* The instant of local hh:mm:ss on day `day` in `tz`. */
static int64_t s_at(const hb_tz_t *tz, int32_t day, int h, int m, int sec)
{
    return hb_tz_local_to_utc(tz, day, h, m) + (int64_t)sec * 1000;
}

static json_t *s_answer(hq_trend_t *t, const uint32_t *nums, size_t n, int64_t now)
{
    hq_trend_query_t q = {.nums = nums, .n = n, .weeks = 4, .now_ms = now};
    json_t *o = hq_trend_json(t, &q);
    assert_non_null(o);
    return o;
}

static const json_t *s_slot(const json_t *o, int i)
{
    return json_array_get(json_object_get(o, "slots"), (size_t)i);
}

static void test_served_by_event_time(void **state)
{
    (void)state;
    hq_trend_t *t = hq_trend_new();
    assert_non_null(t);
    /* 09:00:00 and 09:14:59 are quarter 36; 09:15:00 is 37; 23:59 the last. */
    hq_trend_served(t, 1, SH, s_at(s_sh, s_day, 9, 0, 0), 1);
    hq_trend_served(t, 1, SH, s_at(s_sh, s_day, 9, 14, 59), 2);
    hq_trend_served(t, 1, SH, s_at(s_sh, s_day, 9, 15, 0), 1);
    hq_trend_served(t, 1, SH, s_at(s_sh, s_day, 23, 59, 0), 1);
    /* Yesterday's late event: the rollups', not today's slots. */
    hq_trend_served(t, 1, SH, s_at(s_sh, s_day - 1, 9, 0, 0), 5);
    uint32_t one = 1;
    json_t *o = s_answer(t, &one, 1, s_at(s_sh, s_day, 23, 59, 30));
    assert_string_equal(json_string_value(json_object_get(o, "zone")), SH);
    assert_string_equal(json_string_value(json_object_get(o, "weekday")), "wed");
    assert_int_equal(json_integer_value(json_object_get(o, "now_slot")), 95);
    for (int i = 0; i < 96; i++) {
        int want = i == 36 ? 3 : i == 37 ? 1 : i == 95 ? 1 : 0;
        assert_int_equal(json_integer_value(json_object_get(s_slot(o, i), "served")), want);
    }
    /* The instant each quarter starts: 09:00 in Shanghai is 01:00 UTC. */
    char at[HB_RFC3339_MAX];
    hb_time_format(s_at(s_sh, s_day, 9, 0, 0), at);
    assert_string_equal(json_string_value(json_object_get(s_slot(o, 36), "at")), at);
    json_decref(o);
    /* At 09:20 the quarters after now have no figures yet. */
    o = s_answer(t, &one, 1, s_at(s_sh, s_day, 9, 20, 0));
    assert_true(json_is_null(json_object_get(s_slot(o, 38), "served")));
    assert_int_equal(json_integer_value(json_object_get(s_slot(o, 37), "served")), 1);
    json_decref(o);
    /* The next local day starts at the hall's midnight (16:00 UTC). */
    hq_trend_served(t, 1, SH, s_at(s_sh, s_day + 1, 0, 1, 0), 1);
    o = s_answer(t, &one, 1, s_at(s_sh, s_day + 1, 0, 5, 0));
    assert_int_equal(json_integer_value(json_object_get(s_slot(o, 0), "served")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "now_slot")), 0);
    json_decref(o);
    /* Asked before the hall's day moves on (no event yet): today is empty. */
    o = s_answer(t, &one, 1, s_at(s_sh, s_day + 2, 10, 0, 0));
    assert_int_equal(json_integer_value(json_object_get(s_slot(o, 0), "served")), 0);
    json_decref(o);
    hq_trend_destroy(&t);
    assert_null(t);
}

static void test_waiting_is_time_weighted(void **state)
{
    (void)state;
    hq_trend_t *t = hq_trend_new();
    /* Quarter 40 (10:00-10:15): nobody for 5 minutes, two for 5, four for
     * the rest, sampled at its last second. */
    int64_t q0 = s_at(s_sh, s_day, 10, 0, 0);
    hq_trend_sample(t, 2, SH, q0, 0);
    hq_trend_sample(t, 2, SH, q0 + 300000, 2);
    hq_trend_sample(t, 2, SH, q0 + 600000, 4);
    hq_trend_sample(t, 2, SH, q0 + 899000, 4);
    /* The next quarter starts with what its first sample says. */
    hq_trend_sample(t, 2, SH, q0 + 900000, 3);
    double want = (0.0 * 300 + 2.0 * 300 + 4.0 * 299) / 899;
    uint32_t two = 2;
    json_t *o = s_answer(t, &two, 1, q0 + 900500);
    assert_true(json_is_null(json_object_get(s_slot(o, 39), "waiting")));
    double got = json_real_value(json_object_get(s_slot(o, 40), "waiting"));
    assert_true(got == (double)(int)(want * 10 + 0.5) / 10);
    assert_true(json_real_value(json_object_get(s_slot(o, 41), "waiting")) == 3.0);
    json_decref(o);
    hq_trend_destroy(&t);
}

static void test_gap_after_restart(void **state)
{
    (void)state;
    hq_trend_t *t = hq_trend_new();
    /* Hall 3 was rebuilt up to an event at 10:20 (quarter 41); afterwards
     * the mirror counts one at 10:25 and one at 11:00. Without rollups the
     * gap's quarters have no served figure. */
    hq_trend_rebuilt(t, 3, SH, s_at(s_sh, s_day, 10, 20, 0));
    hq_trend_served(t, 3, SH, s_at(s_sh, s_day, 10, 25, 0), 1);
    hq_trend_served(t, 3, SH, s_at(s_sh, s_day, 11, 0, 0), 1);
    uint32_t three = 3;
    json_t *o = s_answer(t, &three, 1, s_at(s_sh, s_day, 11, 5, 0));
    for (int i = 0; i < 41; i++)
        assert_true(json_is_null(json_object_get(s_slot(o, i), "served")));
    assert_true(json_is_true(json_object_get(s_slot(o, 40), "gap")));
    assert_true(json_is_true(json_object_get(s_slot(o, 41), "gap")));
    assert_int_equal(json_integer_value(json_object_get(s_slot(o, 41), "served")), 1);
    assert_false(json_is_true(json_object_get(s_slot(o, 44), "gap")));
    assert_int_equal(json_integer_value(json_object_get(s_slot(o, 44), "served")), 1);
    json_decref(o);
    /* A rebuild that ended yesterday leaves today whole. */
    hq_trend_rebuilt(t, 4, SH, s_at(s_sh, s_day - 1, 18, 0, 0));
    uint32_t four = 4;
    o = s_answer(t, &four, 1, s_at(s_sh, s_day, 11, 5, 0));
    assert_int_equal(json_integer_value(json_object_get(s_slot(o, 10), "served")), 0);
    assert_false(json_is_true(json_object_get(s_slot(o, 10), "gap")));
    json_decref(o);
    hq_trend_destroy(&t);
}

static void test_zones_apart(void **state)
{
    (void)state;
    hq_trend_t *t = hq_trend_new();
    /* 09:05 local in each: different instants, the same quarter. */
    hq_trend_served(t, 5, SH, s_at(s_sh, s_day, 9, 5, 0), 1);
    hq_trend_served(t, 6, "Europe/Berlin", s_at(s_ber, s_day, 9, 5, 0), 2);
    uint32_t nums[] = {5, 6, 0, 77};
    json_t *o = s_answer(t, nums, 4, s_at(s_ber, s_day, 12, 0, 0));
    assert_true(json_is_null(json_object_get(o, "zone")));
    assert_int_equal(json_array_size(json_object_get(o, "zones")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "halls")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "halls_counted")), 2);
    assert_int_equal(json_integer_value(json_object_get(s_slot(o, 36), "served")), 3);
    assert_true(json_is_null(json_object_get(s_slot(o, 36), "at")));
    json_decref(o);
    hq_trend_destroy(&t);
}

/* Writes the hour cell (hall, day, hour) with `served` and `issued`. */
static void s_cell(MDB_txn *txn, ru_store_t *st, uint32_t hall, int32_t day, int hour,
                   int64_t served, int64_t issued)
{
    ru_key_t k = {.hall = hall,
                  .level = RU_LEVEL_DAY,
                  .period = day,
                  .dim = RU_DIM_HOUR,
                  .hour = (uint8_t)hour};
    ru_cell_t c;
    memset(&c, 0, sizeof c);
    c.m[RU_M_SERVED] = served;
    c.m[RU_M_ISSUED] = issued;
    uint8_t kb[RU_KEY_MAX], vb[RU_CELL_ENCODED_MAX];
    MDB_val key = {ru_key_encode(&k, kb), kb}, val = {ru_cell_encode(&c, vb), vb};
    assert_int_equal(mdb_put(txn, st->cells, &key, &val, 0), 0);
    ru_cell_free(&c);
}

static void test_typical_from_cells(void **state)
{
    (void)state;
    enum { HALLS = 20000 };
    char dir[256];
    hbt_mkdtemp(dir, sizeof dir, "trendcells");
    ru_store_t st;
    assert_int_equal(ru_store_open(&st, dir, 256u << 20, 1u << 30), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(st.store.env, NULL, 0, &txn), 0);
    /* Hall 1: a week ago 2 served at 09:xx and 6 at 10:xx; two weeks ago
     * 4 at 09:xx; three weeks ago closed (cells of nothing issued); four
     * weeks ago 9 at 09:xx, and a slot cell of the same day (another
     * breakdown: not read). Every other hall: 4 at 09:xx a week ago. */
    s_cell(txn, &st, 1, s_day - 7, 9, 2, 3);
    s_cell(txn, &st, 1, s_day - 7, 10, 6, 6);
    s_cell(txn, &st, 1, s_day - 14, 9, 4, 4);
    s_cell(txn, &st, 1, s_day - 21, 9, 0, 0);
    s_cell(txn, &st, 1, s_day - 28, 9, 9, 9);
    for (uint32_t h = 2; h <= HALLS; h++)
        s_cell(txn, &st, h, s_day - 7, 9, 4, 4);
    assert_int_equal(mdb_txn_commit(txn), 0);
    hq_trend_t *t = hq_trend_new();
    uint32_t *nums = malloc(HALLS * sizeof *nums);
    for (uint32_t h = 1; h <= HALLS; h++) {
        nums[h - 1] = h;
        hq_trend_sample(t, h, SH, s_at(s_sh, s_day, 8, 0, 0), 0);
    }
    int64_t now = s_at(s_sh, s_day, 12, 0, 0);
    /* Hall 1 over three weeks: (2 + 4) / 2 at 09:xx, 6 / 2 at 10:xx (the
     * closed day does not count), a quarter of each per slot. */
    hq_trend_query_t q = {.nums = nums, .n = 1, .weeks = 3, .now_ms = now, .rollups = &st};
    json_t *o = hq_trend_json(t, &q);
    assert_int_equal(json_integer_value(json_object_get(o, "halls_with_typical")), 1);
    for (int i = 0; i < 96; i++) {
        double want = i / 4 == 9 ? 0.75 : i / 4 == 10 ? 0.75 : 0.0;
        assert_true(json_real_value(json_object_get(s_slot(o, i), "typical_served")) == want);
    }
    json_decref(o);
    /* Over four weeks the one four weeks ago counts: (2 + 4 + 9) / 3. */
    q.weeks = 4;
    o = hq_trend_json(t, &q);
    assert_true(json_real_value(json_object_get(s_slot(o, 36), "typical_served")) == 1.25);
    assert_true(json_real_value(json_object_get(s_slot(o, 40), "typical_served")) == 0.5);
    json_decref(o);
    /* Every hall: one answer reads at most HQ_TREND_TYPICAL_READS_PER_ANSWER
     * of them (hall 1 is read already); the next reads the rest. */
    q.n = HALLS;
    int64_t a = hb_mono_ns();
    o = hq_trend_json(t, &q);
    double ms = (double)(hb_mono_ns() - a) / 1e6;
    int64_t pending = json_integer_value(json_object_get(o, "halls_typical_pending"));
    assert_int_equal(pending, HALLS - 1 - HQ_TREND_TYPICAL_READS_PER_ANSWER);
    assert_int_equal(json_integer_value(json_object_get(o, "halls_with_typical")), HALLS - pending);
    json_decref(o);
    printf("trend: %d halls' typical days read from the rollups in %.1f ms\n",
           HQ_TREND_TYPICAL_READS_PER_ANSWER, ms);
    o = hq_trend_json(t, &q);
    assert_int_equal(json_integer_value(json_object_get(o, "halls_typical_pending")), 0);
    /* 09:xx: hall 1's 15 / 3 and every other's 4 / 1, a quarter each. */
    double want = (5.0 + 4.0 * (HALLS - 1)) / 4;
    assert_true(json_real_value(json_object_get(s_slot(o, 36), "typical_served")) == want);
    json_decref(o);
    free(nums);
    hq_trend_destroy(&t);
    ru_store_close(&st);
    hbt_rmdir(dir);
}

/* 100,000 halls, each with served and waiting figures: what one answer
 * over all of them costs (printed; bounded loosely so a slow machine
 * passes). */
static void test_hundred_thousand_halls(void **state)
{
    (void)state;
    enum { N = 100000 };
    hq_trend_t *t = hq_trend_new();
    uint32_t *nums = malloc(N * sizeof *nums);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long before_kb = ru.ru_maxrss;
    int64_t t0 = s_at(s_sh, s_day, 10, 0, 0);
    for (uint32_t i = 0; i < N; i++) {
        nums[i] = i + 1;
        hq_trend_served(t, i + 1, SH, t0 + (int64_t)(i % 3600) * 1000, 1);
        hq_trend_sample(t, i + 1, SH, t0 + 1000, i % 5);
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("trend: %d halls take about %ld bytes each (the process's peak grew by %ld KB)\n", N,
           (ru.ru_maxrss - before_kb) * 1024 / N, ru.ru_maxrss - before_kb);
    int64_t a = hb_mono_ns();
    json_t *o = s_answer(t, nums, N, t0 + 3600000);
    double ms = (double)(hb_mono_ns() - a) / 1e6;
    int64_t served = 0;
    for (int i = 40; i < 44; i++)
        served += json_integer_value(json_object_get(s_slot(o, i), "served"));
    assert_int_equal(served, N);
    json_decref(o);
    printf("trend: one answer over %d halls in %.1f ms\n", N, ms);
    assert_true(ms < 5000);
    hq_trend_destroy(&t);
    free(nums);
}

int main(void)
{
    assert_int_equal(hb_tz_get(SH, &s_sh, NULL, 0), 0);
    assert_int_equal(hb_tz_get("Europe/Berlin", &s_ber, NULL, 0), 0);
    s_day = hb_days_from_civil(2026, 12, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_served_by_event_time),
        cmocka_unit_test(test_waiting_is_time_weighted),
        cmocka_unit_test(test_gap_after_restart),
        cmocka_unit_test(test_zones_apart),
        cmocka_unit_test(test_hundred_thousand_halls), /* first: it measures the peak */
        cmocka_unit_test(test_typical_from_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
