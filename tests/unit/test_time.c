/* Unit tests of common/base/time.c: RFC 3339 round trips and every refusal. */
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runner.h"

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_format_parse_round_trip)
{
    (void)state;
    char text[HB_RFC3339_MAX];
    int64_t ms = 1795426200123; /* 2026-11-23T09:30:00.123Z */
    hb_time_format(ms, text);
    assert_string_equal(text, "2026-11-23T09:30:00.123Z");
    int64_t back = 0;
    assert_int_equal(hb_time_parse(text, &back), 0);
    assert_int_equal(back, ms);
}

HBT_TEST(test_parse_offsets_and_fractions)
{
    (void)state;
    int64_t a, b;
    assert_int_equal(hb_time_parse("2026-11-23T10:30:00+01:00", &a), 0);
    assert_int_equal(hb_time_parse("2026-11-23T09:30:00Z", &b), 0);
    assert_int_equal(a, b);
    assert_int_equal(hb_time_parse("2026-11-23T09:30:00.5Z", &a), 0);
    assert_int_equal(a, b + 500);
    assert_int_equal(hb_time_parse("2026-11-23T09:30:00.123456789Z", &a), 0);
    assert_int_equal(a, b + 123);
}

HBT_TEST(test_parse_refusals)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026-11-23",
        "2026-11-23T09:30:00",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T09:30:00.Z",
        "2026-11-23T09:30:00Zjunk",
        "1969-12-31T23:59:59Z",
        "2026-11-23T09:30:00+1:00",
        "twenty past nine",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t out;
        assert_int_equal(hb_time_parse(bad[i], &out), HB_EPARSE);
    }
}

static int64_t s_fixed(void) { return 42; }

HBT_TEST(test_injectable_clock)
{
    (void)state;
    hb_clock_set(s_fixed);
    assert_int_equal(hb_now_ms(), 42);
    hb_clock_set(NULL);
    assert_true(hb_now_ms() > 1700000000000);
}

/* The reconnect waits halls draw: within [base, 2*base), not all the same
 * (or 100,000 halls would come back in one burst), and a doubling held at
 * its maximum. */
HBT_TEST(test_jitter_and_backoff)
{
    (void)state;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t w = hb_jitter_ms(500);
        assert_true(w >= 500 && w < 1000);
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
    }
    assert_true(hi - lo > 250);
    assert_int_equal(hb_backoff_double(500, 30000), 1000);
    assert_int_equal(hb_backoff_double(16000, 30000), 30000);
    assert_int_equal(hb_backoff_double(30000, 30000), 30000);
}
