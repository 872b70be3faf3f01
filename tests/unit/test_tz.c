/* Unit tests of common/rules/tz.c. glibc is the independent oracle: it reads the
 * same TZif files and POSIX rules with its own code, so every offset, civil
 * field and weekday is compared with localtime_r() over 1990..2100, and
 * every local-to-UTC conversion is checked against what localtime_r() says
 * of the result. The calendar helpers are checked against timegm(), and
 * every refusal of a name or a file is run. */
#include "hallbus/error.h"
#include "hallbus/tz.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#define T1990 631152000LL  /* 1990-01-01T00:00:00Z */
#define T2101 4133980800LL /* 2101-01-01T00:00:00Z */

static long s_checks; /* comparisons made against glibc, for the summary */

/* ---- helpers */

static void s_use_glibc_zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int32_t s_glibc_offset(time_t t)
{
    struct tm tm;
    assert_non_null(localtime_r(&t, &tm));
    return (int32_t)tm.tm_gmtoff;
}

static const hb_tz_t *s_zone(const char *name)
{
    const hb_tz_t *tz = NULL;
    char err[256] = "";
    int rc = hb_tz_get(name, &tz, err, sizeof err);
    if (rc != 0)
        fail_msg("hb_tz_get(%s): %s", name, err);
    assert_non_null(tz);
    return tz;
}

/* Compares one instant's offset, civil fields, weekday and local day. */
static void s_compare_instant(const hb_tz_t *tz, time_t t)
{
    struct tm tm;
    assert_non_null(localtime_r(&t, &tm));
    int32_t off = hb_tz_offset(tz, t);
    if (off != tm.tm_gmtoff)
        fail_msg("%s at %lld: offset %d, glibc %ld", hb_tz_name(tz), (long long)t, off,
                 tm.tm_gmtoff);
    hb_civil_t c;
    hb_tz_civil(tz, (int64_t)t * 1000 + 999, &c);
    if (c.year != tm.tm_year + 1900 || c.month != tm.tm_mon + 1 || c.day != tm.tm_mday ||
        c.hour != tm.tm_hour || c.min != tm.tm_min || c.sec != tm.tm_sec ||
        c.wday != (tm.tm_wday + 6) % 7)
        fail_msg("%s at %lld: %04d-%02d-%02d %02d:%02d:%02d wd%d, glibc %04d-%02d-%02d "
                 "%02d:%02d:%02d wd%d",
                 hb_tz_name(tz), (long long)t, c.year, c.month, c.day, c.hour, c.min, c.sec, c.wday,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (tm.tm_wday + 6) % 7);
    assert_int_equal(hb_tz_local_day(tz, (int64_t)t * 1000),
                     hb_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday));
    s_checks++;
}

/* Where glibc's offset changes between `a` and `b`, finds the exact second
 * and checks both sides of it, so that every transition 1990..2100 is
 * matched to the second. */
static void s_compare_change(const hb_tz_t *tz, time_t a, time_t b)
{
    int32_t oa = s_glibc_offset(a);
    if (oa == s_glibc_offset(b))
        return;
    while (b - a > 1) {
        time_t mid = a + (b - a) / 2;
        if (s_glibc_offset(mid) == oa)
            a = mid;
        else
            b = mid;
    }
    s_compare_instant(tz, a);
    s_compare_instant(tz, b);
}

/* Every `step` seconds over [from, to), and every change to the second. */
static void s_compare_span(const hb_tz_t *tz, const char *glibc_tz, time_t from, time_t to,
                           time_t step)
{
    s_use_glibc_zone(glibc_tz);
    time_t prev = from;
    for (time_t t = from; t < to; t += step) {
        s_compare_instant(tz, t);
        if (t > from)
            s_compare_change(tz, prev, t);
        prev = t;
    }
}

/* Checks hb_tz_local_to_utc at one local time against glibc's view of the
 * result: either the result shows that local time and no earlier instant
 * does (first occurrence), or the local time falls in a gap and the result
 * lies exactly the gap's size past it. */
static void s_check_local(const hb_tz_t *tz, int32_t day, int h, int m)
{
    int64_t ms = hb_tz_local_to_utc(tz, day, h, m);
    assert_int_equal(ms % 1000, 0);
    time_t t = (time_t)(ms / 1000);
    int64_t local = (int64_t)day * 86400 + h * 3600 + m * 60;
    int32_t off = s_glibc_offset(t);
    int64_t shown = (int64_t)t + off;
    if (shown == local) {
        static const int earlier[] = {900, 1800, 2700, 3600, 5400, 7200};
        for (size_t i = 0; i < sizeof earlier / sizeof earlier[0]; i++) {
            if (s_glibc_offset(t - earlier[i]) == off + earlier[i])
                fail_msg("%s day %d %02d:%02d: %lld is not the first occurrence", hb_tz_name(tz),
                         day, h, m, (long long)t);
        }
    } else {
        int64_t gap = shown - local;
        if (gap <= 0 || gap > 7200 || s_glibc_offset(t - gap) != off - gap)
            fail_msg("%s day %d %02d:%02d: %lld shows local %lld, not a gap's far side",
                     hb_tz_name(tz), day, h, m, (long long)t, (long long)shown);
    }
    s_checks++;
}

/* Local-to-UTC over every day 1990..2100 at a few times, and every quarter
 * hour of each day on which the zone changes its offset. */
static void s_check_local_span(const hb_tz_t *tz, const char *glibc_tz)
{
    s_use_glibc_zone(glibc_tz);
    int32_t first = hb_days_from_civil(1990, 1, 1), last = hb_days_from_civil(2100, 12, 31);
    static const int hm[][2] = {{0, 0}, {2, 30}, {3, 15}, {12, 45}, {23, 59}};
    for (int32_t day = first; day <= last; day++) {
        time_t midnight = (time_t)day * 86400;
        bool changes = s_glibc_offset(midnight - 86400) != s_glibc_offset(midnight + 2 * 86400);
        if (changes) {
            for (int q = 0; q < 96; q++)
                s_check_local(tz, day, q / 4, q % 4 * 15);
        } else {
            for (size_t i = 0; i < sizeof hm / sizeof hm[0]; i++)
                s_check_local(tz, day, hm[i][0], hm[i][1]);
        }
    }
}

static void s_oracle_zone(const char *name)
{
    const hb_tz_t *tz = s_zone(name);
    assert_string_equal(hb_tz_name(tz), name);
    /* Every 7 hours (which walks through every hour of the day) for the
     * whole range, then every 20 minutes over five years around now. */
    s_compare_span(tz, name, T1990, T2101, 7 * 3600);
    s_compare_span(tz, name, 1735689600 /* 2025 */, 1893456000 /* 2030 */, 1200);
    s_check_local_span(tz, name);
}

/* ---- the zones, against glibc */

static int s_reset(void **state);
#define HBT_FIXTURE s_reset, s_reset

HBT_TEST(test_oracle_berlin)
{
    (void)state;
    s_oracle_zone("Europe/Berlin");
}
HBT_TEST(test_oracle_new_york)
{
    (void)state;
    s_oracle_zone("America/New_York");
}
HBT_TEST(test_oracle_sydney)
{
    (void)state;
    s_oracle_zone("Australia/Sydney");
}
HBT_TEST(test_oracle_shanghai)
{
    (void)state;
    s_oracle_zone("Asia/Shanghai");
}
HBT_TEST(test_oracle_kolkata)
{
    (void)state;
    s_oracle_zone("Asia/Kolkata");
}
HBT_TEST(test_oracle_st_johns)
{
    (void)state;
    s_oracle_zone("America/St_Johns");
}
HBT_TEST(test_oracle_chatham)
{
    (void)state;
    s_oracle_zone("Pacific/Chatham");
}
HBT_TEST(test_oracle_utc)
{
    (void)state;
    s_oracle_zone("UTC");
    const hb_tz_t *tz = s_zone("Etc/UTC");
    assert_string_equal(hb_tz_name(tz), "Etc/UTC");
    assert_int_equal(hb_tz_offset(tz, 1795426200), 0);
    /* Both are built in: an empty zone folder does not matter to them. */
    setenv("TZDIR", "/nonexistent", 1);
    const hb_tz_t *again = NULL;
    assert_int_equal(hb_tz_get("UTC", &again, NULL, 0), 0);
    assert_int_equal(hb_tz_get("Etc/UTC", &again, NULL, 0), 0);
    unsetenv("TZDIR");
}

/* Known answers, worked out by hand from each zone's rules, so that a
 * shared misreading by both implementations would still show. */
HBT_TEST(test_known_answers)
{
    (void)state;
    const hb_tz_t *berlin = s_zone("Europe/Berlin"), *ny = s_zone("America/New_York");
    const hb_tz_t *syd = s_zone("Australia/Sydney"), *chat = s_zone("Pacific/Chatham");
    const hb_tz_t *stj = s_zone("America/St_Johns");
    int32_t d;
    /* Spring forward: 02:30 does not exist and is taken as 03:30 CEST. */
    assert_int_equal(hb_date_parse("2026-03-29", &d), 0);
    assert_int_equal(hb_tz_local_to_utc(berlin, d, 2, 30), 1774747800000LL);
    assert_int_equal(hb_tz_local_to_utc(berlin, d, 3, 30), 1774747800000LL);
    assert_int_equal(hb_tz_local_to_utc(berlin, d, 1, 59), 1774745940000LL);
    assert_int_equal(hb_tz_local_to_utc(berlin, d, 3, 0), 1774746000000LL);
    assert_int_equal(hb_tz_local_to_utc(berlin, d + 1, 0, 0) - hb_tz_local_to_utc(berlin, d, 0, 0),
                     23 * 3600000LL);
    /* Fall back: 02:30 happens twice; the first (CEST) is taken. */
    assert_int_equal(hb_date_parse("2026-10-25", &d), 0);
    assert_int_equal(hb_tz_local_to_utc(berlin, d, 2, 30), 1792888200000LL);
    assert_int_equal(hb_tz_local_to_utc(berlin, d, 3, 0), 1792893600000LL);
    assert_int_equal(hb_tz_local_to_utc(berlin, d + 1, 0, 0) - hb_tz_local_to_utc(berlin, d, 0, 0),
                     25 * 3600000LL);
    assert_int_equal(hb_date_parse("2026-03-08", &d), 0);
    assert_int_equal(hb_tz_local_to_utc(ny, d, 2, 30), 1772955000000LL);
    assert_int_equal(hb_tz_local_to_utc(stj, d, 2, 30), 1772949600000LL);
    assert_int_equal(hb_date_parse("2026-11-01", &d), 0);
    assert_int_equal(hb_tz_local_to_utc(ny, d, 1, 30), 1793511000000LL);
    assert_int_equal(hb_date_parse("2026-10-04", &d), 0);
    assert_int_equal(hb_tz_local_to_utc(syd, d, 2, 30), 1791045000000LL);
    assert_int_equal(hb_date_parse("2026-04-05", &d), 0);
    assert_int_equal(hb_tz_local_to_utc(syd, d, 2, 30), 1775316600000LL);
    assert_int_equal(hb_date_parse("2026-09-27", &d), 0);
    assert_int_equal(hb_tz_local_to_utc(chat, d, 2, 50), 1790431500000LL);

    /* Past the transition tables: the footer rule alone decides 2100. */
    assert_int_equal(hb_tz_offset(berlin, 4118126400 /* 2100-07-01T12:00Z */), 7200);
    assert_int_equal(hb_tz_offset(berlin, 4103697600 /* 2100-01-15T12:00Z */), 3600);
    assert_int_equal(hb_tz_offset(syd, 4103697600), 11 * 3600);
    assert_int_equal(hb_tz_offset(chat, 4103697600), 13 * 3600 + 45 * 60);
    assert_int_equal(hb_tz_offset(s_zone("Asia/Kolkata"), 4103697600), 5 * 3600 + 30 * 60);
    hb_civil_t c;
    hb_tz_civil(berlin, 4118126400000LL, &c);
    assert_int_equal(c.year, 2100);
    assert_int_equal(c.month, 7);
    assert_int_equal(c.day, 1);
    assert_int_equal(c.hour, 14);
    assert_int_equal(c.wday, 3); /* a Thursday */
    /* Before the epoch, milliseconds round down to the previous second. */
    hb_tz_civil(s_zone("UTC"), -1, &c);
    assert_int_equal(c.year, 1969);
    assert_int_equal(c.hour, 23);
    assert_int_equal(c.sec, 59);
    assert_int_equal(hb_tz_local_day(s_zone("UTC"), -1), -1);
    /* Absurd instants are clamped, never overflow. */
    hb_tz_civil(berlin, INT64_MAX, &c);
    assert_int_equal(c.year, 10000);
    hb_tz_civil(berlin, INT64_MIN, &c);
    assert_true(c.year >= 0 && c.year <= 1);
    (void)hb_tz_local_to_utc(berlin, INT32_MAX, 23, 59);
    (void)hb_tz_local_to_utc(berlin, INT32_MIN, 0, 0);
}

/* ---- files made for the test, in a temporary $TZDIR */

static char s_dir[64];

static void s_tmpdir(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/hb_tz_XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    setenv("TZDIR", s_dir, 1);
}

static void s_write(const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void s_rmtmpdir(void)
{
    if (s_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
        assert_int_equal(system(cmd), 0);
        s_dir[0] = '\0';
    }
    unsetenv("TZDIR");
}

/* Each test starts with the system's zone folder and leaves nothing
 * behind, even when it fails half-way. */
static int s_reset(void **state)
{
    (void)state;
    s_rmtmpdir();
    return 0;
}

static uint8_t *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[65536];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(*len > 0 && *len < sizeof buf);
    return buf;
}

static void s_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A version 3 TZif file with no transitions, one time type of `off` and
 * the footer `rule`: the rule alone decides every instant. With `leap`, it
 * also carries one leap-second record. */
static size_t s_make_zone(uint8_t *out, size_t cap, int32_t off, const char *rule, bool leap)
{
    size_t n = 0;
    for (int block = 0; block < 2; block++) {
        memset(out + n, 0, 44);
        memcpy(out + n, "TZif3", 5);
        s_put32(out + n + 28, leap ? 1 : 0); /* leapcnt */
        s_put32(out + n + 36, 1);            /* typecnt */
        s_put32(out + n + 40, 4);            /* charcnt */
        n += 44;
        s_put32(out + n, (uint32_t)off);
        out[n + 4] = 0;
        out[n + 5] = 0;
        n += 6;
        memcpy(out + n, "XXX", 4);
        n += 4;
        if (leap) {
            size_t rec = block == 0 ? 8 : 12;
            memset(out + n, 0, rec);
            out[n + rec - 1] = 1;
            n += rec;
        }
    }
    size_t rl = strlen(rule);
    assert_true(n + rl + 2 <= cap);
    out[n++] = '\n';
    memcpy(out + n, rule, rl);
    n += rl;
    out[n++] = '\n';
    return n;
}

static void s_expect_refusal(const char *name, int want, const char *reason)
{
    const hb_tz_t *tz = NULL;
    char err[512] = "";
    int rc = hb_tz_get(name, &tz, err, sizeof err);
    if (rc != want)
        fail_msg("hb_tz_get(%s) = %d, want %d (%s)", name, rc, want, err);
    if (!strstr(err, name) || !strstr(err, reason))
        fail_msg("hb_tz_get(%s): '%s' does not name the zone and '%s'", name, err, reason);
}

/* POSIX rules with RFC 8536's extensions (times past 24 hours, negative
 * times, all-year daylight time, Jn and n dates, half-hour offsets), each
 * in a made-up file, against glibc reading the same rule from TZ. */
HBT_TEST(test_footer_rules)
{
    (void)state;
    static const struct {
        const char *rule;
        int32_t off;
    } rules[] = {
        /* glibc picks the rule's year by UTC, so around new year it gets
         * all-year daylight time (RFC 8536 section 3.3.1) wrong; that one is
         * checked by hand below instead. */
        {"IST-2IDT,M3.4.4/26,M10.5.0", 7200},
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", -7200},
        {"<+0330>-3:30<+0430>,J79/24,J263/24", 12600},
        {"AAA3BBB,J60/2,J300/2", -10800},
        {"CCC-1DDD,59,300", 3600},
        {"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", 45900},
        {"XXX-5:30", 19800},
        {"NST3:30NDT,M3.2.0/0:01,M11.1.0/0:01", -12600},
        {"AEST-10AEDT,M10.1.0,M4.1.0/3", 36000},
        {"AAA+3BBB+1,M3.2.0/-30,M11.1.0/50", -10800},
        {"<+14>-14", 50400},
    };
    s_tmpdir();
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        uint8_t file[512];
        size_t len = s_make_zone(file, sizeof file, rules[i].off, rules[i].rule, false);
        char name[32];
        snprintf(name, sizeof name, "Rule%zu", i);
        s_write(name, file, len);
        const hb_tz_t *tz = s_zone(name);
        s_compare_span(tz, rules[i].rule, T1990, T2101, 5 * 3600 + 1);
        if (i < 2)
            s_check_local_span(tz, rules[i].rule);
    }
    /* All-year daylight time: the end meets the next year's start. */
    uint8_t file[512];
    size_t len = s_make_zone(file, sizeof file, -18000, "EST5EDT,0/0,J365/25", false);
    s_write("AllYear", file, len);
    const hb_tz_t *all = s_zone("AllYear");
    for (time_t t = T1990; t < T2101; t += 3600 * 5 + 7)
        assert_int_equal(hb_tz_offset(all, t), -4 * 3600);
    for (int y = 1990; y <= 2100; y++) {
        time_t ny = (time_t)hb_days_from_civil(y, 1, 1) * 86400 + 5 * 3600;
        for (time_t t = ny - 7200; t <= ny + 7200; t += 60)
            assert_int_equal(hb_tz_offset(all, t), -4 * 3600);
    }
    /* A DST rule without dates falls back to the United States' rule. */
    len = s_make_zone(file, sizeof file, -28800, "PST8PDT", false);
    s_write("NoDates", file, len);
    const hb_tz_t *tz = s_zone("NoDates");
    assert_int_equal(hb_tz_offset(tz, 1772964000 /* 2026-03-08T10:00Z */), -7 * 3600);
    assert_int_equal(hb_tz_offset(tz, 1772960400 /* 2026-03-08T09:00Z */), -8 * 3600);
    assert_int_equal(hb_tz_offset(tz, 1793523600 /* 2026-11-01T09:00Z */), -8 * 3600);
    assert_int_equal(hb_tz_offset(tz, 1793520000 /* 2026-11-01T08:00Z */), -7 * 3600);

    static const char *const bad[] = {
        "CET-1CEST,M3.5.0",
        "CET-1CEST,M13.5.0,M10.5.0/3",
        "C-1",
        "CET-25",
        "CET-1CEST,M3.5.0/168,M10.5.0",
        "CET-1CEST,M3.6.0,M10.5.0",
        "CET-1CEST,M3.5.7,M10.5.0",
        "CET-1CEST,J0,J100",
        "CET-1CEST,366,100",
        "CET-1CEST,M3.5.0,M10.5.0x",
        "<AB>-1",
        "CET-1:60",
        "CET",
        "CET-1 CEST",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        len = s_make_zone(file, sizeof file, 3600, bad[i], false);
        char name[32];
        snprintf(name, sizeof name, "BadRule%zu", i);
        s_write(name, file, len);
        s_expect_refusal(name, HB_EPARSE, "rule");
    }
    s_rmtmpdir();
}

HBT_TEST(test_refused_names)
{
    (void)state;
    s_expect_refusal("../etc/passwd", HB_EINVAL, "'..'");
    s_expect_refusal("Europe/../../etc/passwd", HB_EINVAL, "'..'");
    s_expect_refusal("/etc/localtime", HB_EINVAL, "absolute");
    s_expect_refusal("Nope/Nowhere", HB_ENOTFOUND, "no such zone file");
    s_expect_refusal("Europe/Berlin ", HB_EINVAL, "only A-Z");
    s_expect_refusal("Europe\\Berlin", HB_EINVAL, "only A-Z");
    s_expect_refusal("Europe/Berlin\n", HB_EINVAL, "only A-Z");
    s_expect_refusal("Europe", HB_ENOTFOUND, "not a zone file");
    char longname[80];
    memset(longname, 'A', 63);
    longname[63] = '\0';
    s_expect_refusal(longname, HB_ENOTFOUND, "no such zone file");
    longname[63] = 'A';
    longname[64] = '\0';
    const hb_tz_t *tz = NULL;
    char err[256] = "";
    assert_int_equal(hb_tz_get(longname, &tz, err, sizeof err), HB_EINVAL);
    assert_non_null(strstr(err, "1 to 63 bytes"));
    assert_int_equal(hb_tz_get("", &tz, err, sizeof err), HB_EINVAL);
    assert_int_equal(hb_tz_get(NULL, &tz, err, sizeof err), HB_EINVAL);
    /* The err buffer is optional. */
    assert_int_equal(hb_tz_get("Nope/Nowhere", &tz, NULL, 0), HB_ENOTFOUND);
}

HBT_TEST(test_refused_files)
{
    (void)state;
    size_t len;
    const uint8_t *berlin = s_slurp("/usr/share/zoneinfo/Europe/Berlin", &len);
    s_tmpdir();
    static const char text[] =
        "# This is not a zone file: it is text.\nCET-1CEST,M3.5.0,M10.5.0/3\n";
    s_write("NotTzif", text, sizeof text - 1);
    s_expect_refusal("NotTzif", HB_EPARSE, "not a TZif file");
    s_write("Empty", "", 0);
    s_expect_refusal("Empty", HB_EPARSE, "truncated");

    /* The whole file, copied, reads like the real one. */
    s_write("Whole", berlin, len);
    const hb_tz_t *whole = s_zone("Whole");
    s_compare_span(whole, ":/usr/share/zoneinfo/Europe/Berlin", T1990, T2101, 11 * 3600);

    /* Cut at every length: each must be refused as truncated, never read
     * past its end (the ASan build watches that). */
    for (size_t cut = 0; cut < len; cut++) {
        s_write("Cut", berlin, cut);
        s_expect_refusal("Cut", HB_EPARSE, "truncated");
    }
    uint8_t copy[65536];
    memcpy(copy, berlin, len);
    copy[len] = 'x';
    s_write("Trailing", copy, len + 1);
    s_expect_refusal("Trailing", HB_EPARSE, "after its footer");

    /* Damaged fields inside an otherwise complete file. */
    memcpy(copy, berlin, len);
    copy[4] = '9';
    s_write("Version9", copy, len);
    s_expect_refusal("Version9", HB_EPARSE, "version");
    memcpy(copy, berlin, len);
    s_put32(copy + 36, 0); /* no time types */
    s_write("NoTypes", copy, len);
    s_expect_refusal("NoTypes", HB_EPARSE, "counts");
    size_t zlen = s_make_zone(copy, sizeof copy, 0, "UTC0", true);
    s_write("Leap", copy, zlen);
    s_expect_refusal("Leap", HB_EPARSE, "leap seconds");
    zlen = s_make_zone(copy, sizeof copy, 0, "UTC0", false);
    s_write("Plain", copy, zlen);
    assert_int_equal(hb_tz_offset(s_zone("Plain"), 1795426200), 0);

    /* A version 1 file: Berlin's first block alone, version byte 0. Its
     * 32-bit table ends in 2037 and it has no rule. */
    uint32_t v1[6];
    for (int i = 0; i < 6; i++)
        v1[i] = (uint32_t)berlin[20 + 4 * i] << 24 | (uint32_t)berlin[21 + 4 * i] << 16 |
                (uint32_t)berlin[22 + 4 * i] << 8 | berlin[23 + 4 * i];
    size_t v1len = 44 + v1[3] * 5 + v1[4] * 6 + v1[5] + v1[2] * 8 + v1[1] + v1[0];
    if (v1[3] > 0) {
        memcpy(copy, berlin, v1len);
        copy[4] = 0;
        s_write("Version1", copy, v1len);
        const hb_tz_t *old = s_zone("Version1");
        s_compare_span(old, ":/usr/share/zoneinfo/Europe/Berlin", T1990, 2114380800 /* 2037 */,
                       5 * 3600);
    }
    /* The same bytes with a version byte saying 2 lack their second half. */
    copy[4] = '2';
    s_write("HalfV2", copy, v1len);
    s_expect_refusal("HalfV2", HB_EPARSE, "truncated");

    /* Oversized files are refused before they are read. */
    uint8_t *big = calloc(1, 300 * 1024);
    assert_non_null(big);
    memcpy(big, berlin, len);
    s_write("Big", big, 300 * 1024);
    free(big);
    s_expect_refusal("Big", HB_EPARSE, "larger");
    s_rmtmpdir();
}

/* Zones are cached: the same pointer every time, from any thread. */
static void *s_get_many(void *arg)
{
    const hb_tz_t **seen = arg;
    static const char *const names[] = {"Europe/Paris", "Asia/Tokyo", "America/Chicago"};
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 3; i++) {
            const hb_tz_t *tz = NULL;
            if (hb_tz_get(names[i], &tz, NULL, 0) != 0)
                return NULL;
            seen[i] = tz;
        }
    }
    return arg;
}

HBT_TEST(test_cache_threads)
{
    (void)state;
    enum { N = 4 };
    pthread_t th[N];
    const hb_tz_t *seen[N][3];
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, s_get_many, seen[i]), 0);
    for (int i = 0; i < N; i++) {
        void *ret = NULL;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_non_null(ret);
    }
    for (int i = 1; i < N; i++)
        for (int j = 0; j < 3; j++)
            assert_ptr_equal(seen[i][j], seen[0][j]);
    assert_ptr_equal(s_zone("Europe/Berlin"), s_zone("Europe/Berlin"));
}

/* ---- calendar helpers */

HBT_TEST(test_calendar_round_trip)
{
    (void)state;
    int32_t first = hb_days_from_civil(1970, 1, 1), last = hb_days_from_civil(2400, 12, 31);
    assert_int_equal(first, 0);
    int py = 1969, pm = 12, pd = 31;
    for (int32_t d = first; d <= last; d++) {
        int y, m, dd;
        hb_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(hb_days_from_civil(y, m, dd), d);
        /* The next day of the previous date, as a person counts. */
        bool next_in_month = y == py && m == pm && dd == pd + 1;
        bool next_month =
            dd == 1 && ((y == py && m == pm + 1) || (y == py + 1 && m == 1 && pm == 12));
        assert_true(next_in_month || next_month);
        struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = dd};
        time_t t = timegm(&tm);
        assert_int_equal((int64_t)t, (int64_t)d * 86400);
        assert_int_equal(hb_weekday(d), (tm.tm_wday + 6) % 7);
        char text[11];
        hb_date_format(d, text);
        int32_t back = -1;
        assert_int_equal(hb_date_parse(text, &back), 0);
        assert_int_equal(back, d);
        py = y;
        pm = m;
        pd = dd;
    }
    assert_int_equal(py, 2400);
    /* Before the epoch too, and the weekday of known dates. */
    for (int32_t d = -800000; d < 0; d += 37) {
        int y, m, dd;
        hb_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(hb_days_from_civil(y, m, dd), d);
    }
    assert_int_equal(hb_weekday(0), 3);                                /* Thursday */
    assert_int_equal(hb_weekday(hb_days_from_civil(2026, 12, 25)), 4); /* Friday */
    assert_int_equal(hb_weekday(-1), 2);
    /* Months outside 1..12 carry into the year. */
    assert_int_equal(hb_days_from_civil(2026, 13, 1), hb_days_from_civil(2027, 1, 1));
    assert_int_equal(hb_days_from_civil(2026, 0, 1), hb_days_from_civil(2025, 12, 1));
}

HBT_TEST(test_date_parse)
{
    (void)state;
    int32_t d;
    assert_int_equal(hb_date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(hb_date_parse("2024-02-29", &d), 0);
    assert_int_equal(d, hb_days_from_civil(2024, 2, 29));
    assert_int_equal(hb_date_parse("2000-02-29", &d), 0);
    assert_int_equal(hb_date_parse("9999-12-31", &d), 0);
    char text[11];
    hb_date_format(d, text);
    assert_string_equal(text, "9999-12-31");
    static const char *const bad[] = {
        "2026-02-29", "2026-13-01", "2026-1-1",   "2026-01-01x", "2026-01-01 ",    " 2026-01-01",
        "",           "1969-12-31", "2026-00-10", "2026-04-31",  "2026-01-00",     "1900-02-29",
        "+026-01-01", "2026/01/01", "20260101",   "2026-01-1a",  "２０２６-01-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 12345;
        if (hb_date_parse(bad[i], &d) != HB_EPARSE)
            fail_msg("'%s' was accepted", bad[i]);
        assert_int_equal(d, 12345);
    }
    assert_int_equal(hb_date_parse(NULL, &d), HB_EPARSE);
}

static int s_summary(void **state)
{
    (void)state;
    print_message("[  INFO    ] %ld comparisons against glibc\n", s_checks);
    return 0;
}

static void s_before_tests(void) { unsetenv("TZDIR"); }
HBT_BEFORE(s_before_tests);
HBT_GROUP(NULL, s_summary);
