/* Unit tests of common/base/time.c: RFC 3339 round trips and every refusal. */
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* The reference: what the C library makes of the same instant (floor
 * division, so an instant before 1970 has a positive fraction). */
static void s_reference(int64_t ms, char out[64])
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

/* Every instant of years 0000 to 9999 formats as the C library's calendar
 * says: the edges (epoch, leap days, century years, the year's first and
 * last millisecond) and 200,000 instants drawn across the range. */
HBT_TEST(test_format_matches_the_calendar)
{
    (void)state;
    const int64_t lo = -62167219200000LL; /* 0000-01-01T00:00:00.000Z */
    const int64_t hi = 253402300799999LL; /* 9999-12-31T23:59:59.999Z */
    const int64_t edges[] = {0,
                             -1,
                             1,
                             999,
                             -1000,
                             -999,
                             -86400000,
                             -86400001,
                             951782400000LL,   /* 2000-02-29 */
                             951868799999LL,   /* its last ms */
                             4107542400000LL,  /* 2100-03-01 */
                             4107456000000LL,  /* 2100-02-28 */
                             -2203891200000LL, /* 1900-03-01 */
                             1795426200123LL,
                             lo,
                             lo + 1,
                             hi,
                             hi - 1};
    char got[HB_RFC3339_MAX], want[64];
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        hb_time_format(edges[i], got);
        s_reference(edges[i], want);
        if (strcmp(got, want) != 0)
            fail_msg("%lld: %s, the calendar says %s", (long long)edges[i], got, want);
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ms = lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
        hb_time_format(ms, got);
        s_reference(ms, want);
        if (strcmp(got, want) != 0)
            fail_msg("%lld: %s, the calendar says %s", (long long)ms, got, want);
    }
    /* Past the four digits the year is held at 9999 and 0000. */
    hb_time_format(hi + 1, got);
    assert_string_equal(got, "9999-01-01T00:00:00.000Z");
    hb_time_format(lo - 1, got);
    assert_string_equal(got, "0000-12-31T23:59:59.999Z");
    hb_time_format(INT64_MAX, got);
    assert_int_equal(strlen(got), 24);
    hb_time_format(INT64_MIN, got);
    assert_int_equal(strlen(got), 24);
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

/* The budget check of the loop's rounds: spent once the time has passed,
 * not before; a budget of 0 is spent at once. */
HBT_TEST(test_mono_spent)
{
    (void)state;
    int64_t t0 = hb_mono_ns();
    assert_false(hb_mono_spent(t0, 60000.0));
    assert_true(hb_mono_spent(t0, 0.0));
    assert_true(hb_mono_spent(t0 - 2000000, 1.0));      /* began 2 ms ago */
    assert_false(hb_mono_spent(t0 - 2000000, 60000.0)); /* of a minute */
    struct timespec ms3 = {0, 3000000};
    nanosleep(&ms3, NULL);
    assert_true(hb_mono_spent(t0, 1.0));
}
