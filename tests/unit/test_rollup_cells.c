/* Unit tests of the rollups' histograms and cells (hqd/reports/hist.c,
 * cell.c): every value lies in its bucket and is reported within 1/64;
 * percentiles against sorted lists of random samples; merging equals
 * adding the samples; encodings round-trip, and every damaged encoding of
 * a histogram, a cell or a key is refused; a metric of a newer build is
 * skipped, not misread. */
#include "cell.h"
#include "hist.h"

#include "hallbus/error.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t s_rng = 0x243f6a8885a308d3ULL;
static uint32_t s_rand(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

static void test_buckets_hold_their_values(void **state)
{
    (void)state;
    uint16_t prev = 0;
    for (uint32_t v = 0; v < (1u << 20); v++) {
        uint16_t b = ru_hist_bucket(v);
        assert_true(b < RU_HIST_BUCKETS);
        assert_true(b == prev || b == prev + 1); /* buckets tile the values */
        prev = b;
        assert_true(ru_hist_bucket_low(b) <= v && v <= ru_hist_bucket_high(b));
        double rep = ru_hist_bucket_value(b);
        if (v < RU_HIST_SUB)
            assert_true(rep == v); /* exact below 32 s */
        else
            assert_true(fabs(rep - v) <= v * RU_HIST_REL_ERROR);
    }
    /* The top is clamped, not wrapped. */
    assert_int_equal(ru_hist_bucket(UINT32_MAX), RU_HIST_BUCKETS - 1);
    assert_int_equal(ru_hist_bucket(RU_HIST_VALUE_MAX), RU_HIST_BUCKETS - 1);
}

static int s_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void test_percentiles_within_the_bound(void **state)
{
    (void)state;
    static const double ps[] = {0.01, 0.25, 0.5, 0.9, 0.99, 1.0};
    for (int round = 0; round < 50; round++) {
        size_t n = 1 + s_rand(3000);
        uint32_t *v = malloc(n * sizeof *v);
        ru_hist_t h = {0};
        for (size_t i = 0; i < n; i++) {
            /* Waits: mostly short, a long tail. */
            v[i] = s_rand(4) ? s_rand(600) : s_rand(20000);
            assert_int_equal(ru_hist_add(&h, v[i], 1), 0);
        }
        assert_int_equal(h.total, n);
        qsort(v, n, sizeof *v, s_cmp);
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            size_t rank = (size_t)ceil(ps[k] * (double)n);
            uint32_t want = v[(rank ? rank : 1) - 1], got;
            assert_true(ru_hist_percentile(&h, ps[k], &got));
            assert_true(fabs((double)got - want) <= want * RU_HIST_REL_ERROR + 1e-9);
        }
        free(v);
        ru_hist_free(&h);
    }
    ru_hist_t empty = {0};
    uint32_t x;
    assert_false(ru_hist_percentile(&empty, 0.5, &x));
}

static void test_merge_is_adding(void **state)
{
    (void)state;
    ru_hist_t a = {0}, b = {0}, both = {0};
    for (int i = 0; i < 2000; i++) {
        uint32_t v = s_rand(100000);
        assert_int_equal(ru_hist_add(i % 3 ? &a : &b, v, 1), 0);
        assert_int_equal(ru_hist_add(&both, v, 1), 0);
    }
    assert_int_equal(ru_hist_merge(&a, &b), 0);
    assert_true(ru_hist_equal(&a, &both));
    /* Through the encoding too. */
    uint8_t buf[RU_HIST_ENCODED_MAX];
    size_t len = ru_hist_encode(&b, buf);
    ru_hist_t c = {0};
    const uint8_t *p = buf;
    assert_int_equal(ru_hist_add_encoded(&c, &p, buf + len), 0);
    assert_ptr_equal(p, buf + len);
    assert_true(ru_hist_equal(&b, &c));
    ru_hist_free(&a);
    ru_hist_free(&b);
    ru_hist_free(&both);
    ru_hist_free(&c);
}

static void test_damaged_histograms_refused(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        uint8_t bytes[8];
        size_t len;
    } bad[] = {
        {"cut before the count", {0}, 0},
        {"more entries than buckets", {0xff, 0x7f}, 2},
        {"cut inside an entry", {2, 3}, 2},
        {"a zero count", {1, 3, 0}, 3},
        {"a bucket twice", {2, 3, 1, 0, 1}, 5},
        {"a bucket past the last", {1, 0xff, 0x7f, 1}, 4},
        {"a varint too long", {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ru_hist_t h = {0};
        const uint8_t *p = bad[i].bytes;
        if (ru_hist_add_encoded(&h, &p, bad[i].bytes + bad[i].len) != HB_EPARSE)
            fail_msg("accepted a histogram with %s", bad[i].why);
        ru_hist_free(&h);
    }
}

static void test_cells_round_trip_and_add(void **state)
{
    (void)state;
    ru_cell_t a = {0}, b = {0}, sum = {0}, back = {0};
    a.m[RU_M_ISSUED] = 7;
    a.m[RU_M_AMOUNT] = -1250; /* a refund: signed */
    b.m[RU_M_ISSUED] = 3;
    b.m[RU_M_SAT_5] = 2;
    ru_hist_add(&a.wait, 30, 2);
    ru_hist_add(&b.wait, 4000, 1);
    ru_hist_add(&b.service, 600, 5);
    assert_int_equal(ru_cell_add(&sum, &a), 0);
    assert_int_equal(ru_cell_add(&sum, &b), 0);
    uint8_t buf[RU_CELL_ENCODED_MAX];
    size_t la = ru_cell_encode(&a, buf);
    assert_int_equal(ru_cell_add_encoded(&back, buf, la), 0);
    size_t lb = ru_cell_encode(&b, buf);
    assert_int_equal(ru_cell_add_encoded(&back, buf, lb), 0);
    assert_true(ru_cell_equal(&back, &sum));
    assert_int_equal(back.m[RU_M_ISSUED], 10);
    assert_int_equal(back.m[RU_M_AMOUNT], -1250);
    int64_t v;
    size_t ls = ru_cell_encode(&sum, buf);
    assert_int_equal(ru_cell_metric(buf, ls, RU_M_SAT_5, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(ru_cell_metric(buf, ls, RU_M_NO_SHOWS, &v), 0);
    assert_int_equal(v, 0);
    /* A metric of a newer build (number 200) is skipped. */
    uint8_t newer[] = {1, 2, RU_M_ISSUED, 2 * 5, 0xc8, 0x01, 2 * 9, 0, 0};
    ru_cell_t n = {0};
    assert_int_equal(ru_cell_add_encoded(&n, newer, sizeof newer), 0);
    assert_int_equal(n.m[RU_M_ISSUED], 5);
    /* Damage: another version, a cut, bytes after the end. */
    buf[0] = 2;
    assert_int_equal(ru_cell_add_encoded(&n, buf, ls), HB_EPARSE);
    buf[0] = 1;
    assert_int_equal(ru_cell_add_encoded(&n, buf, ls - 1), HB_EPARSE);
    uint8_t longer[RU_CELL_ENCODED_MAX + 1];
    memcpy(longer, buf, ls);
    longer[ls] = 0;
    assert_int_equal(ru_cell_add_encoded(&n, longer, ls + 1), HB_EPARSE);
    assert_non_null(ru_metric_name(RU_M_EVENTS));
    assert_null(ru_metric_name(0));
    assert_null(ru_metric_name(RU_M_SLOTS));
    ru_cell_free(&a);
    ru_cell_free(&b);
    ru_cell_free(&sum);
    ru_cell_free(&back);
    ru_cell_free(&n);
}

static void test_keys_round_trip_and_sort(void **state)
{
    (void)state;
    ru_key_t keys[] = {
        {.hall = 7, .level = RU_LEVEL_DAY, .period = 20750, .dim = RU_DIM_HALL},
        {.hall = 7,
         .level = RU_LEVEL_DAY,
         .period = 20750,
         .dim = RU_DIM_SLOT,
         .hour = 23,
         .code = 2,
         .text = "A"},
        {.hall = 7, .level = RU_LEVEL_DAY, .period = 20750, .dim = RU_DIM_HOUR, .hour = 0},
        {.hall = 7,
         .level = RU_LEVEL_MONTH,
         .period = 2026 * 12 + 9,
         .dim = RU_DIM_SERVICE,
         .code = 1,
         .text = "B"},
        {.hall = 7, .level = RU_LEVEL_DAY, .period = 20750, .dim = RU_DIM_STAFF, .text = "工号7"},
        {.hall = 7,
         .level = RU_LEVEL_DAY,
         .period = 20750,
         .dim = RU_DIM_COMPLAINT,
         .code = 3,
         .text = "fees"},
        {.hall = 7, .level = RU_LEVEL_DAY, .period = 20750, .dim = RU_DIM_DEVICE, .code = 1},
        {.hall = 7, .level = RU_LEVEL_DAY, .period = -5, .dim = RU_DIM_HALL},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        uint8_t buf[RU_KEY_MAX];
        size_t len = ru_key_encode(&keys[i], buf);
        ru_key_t back;
        assert_int_equal(ru_key_decode(buf, len, &back), 0);
        assert_memory_equal(&back, &keys[i], offsetof(ru_key_t, text));
        assert_string_equal(back.text, keys[i].text);
    }
    /* A hall's total sorts first in its period; an earlier day before a
     * later one, negative days too. */
    uint8_t a[RU_KEY_MAX], b[RU_KEY_MAX];
    size_t la = ru_key_encode(&keys[7], a), lb = ru_key_encode(&keys[0], b);
    assert_true(memcmp(a, b, la < lb ? la : lb) < 0);
    la = ru_key_encode(&keys[0], a);
    lb = ru_key_encode(&keys[1], b);
    assert_true(memcmp(a, b, la) < 0);
    /* Damage: short, an unknown dimension, text where none belongs. */
    uint8_t k[RU_KEY_MAX];
    size_t lk = ru_key_encode(&keys[0], k);
    ru_key_t out;
    assert_int_equal(ru_key_decode(k, 5, &out), HB_EPARSE);
    k[9] = 99;
    assert_int_equal(ru_key_decode(k, lk, &out), HB_EPARSE);
    k[9] = RU_DIM_HALL;
    k[lk] = 'x';
    assert_int_equal(ru_key_decode(k, lk + 1, &out), HB_EPARSE);
    /* Months. */
    assert_int_equal(ru_month_of_day(20750), 2026 * 12 + 9);
    assert_int_equal(ru_month_days(2026 * 12 + 1), 28);
    assert_int_equal(ru_month_days(2028 * 12 + 1), 29);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_hold_their_values),
        cmocka_unit_test(test_percentiles_within_the_bound),
        cmocka_unit_test(test_merge_is_adding),
        cmocka_unit_test(test_damaged_histograms_refused),
        cmocka_unit_test(test_cells_round_trip_and_add),
        cmocka_unit_test(test_keys_round_trip_and_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
