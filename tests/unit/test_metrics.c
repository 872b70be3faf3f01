/* Unit tests of common/base/metrics.c: the text a histogram writes (bounds
 * inclusive, cumulative, +Inf equal to _count), what it does with NaN and
 * negative values, recording from many threads at once with nothing lost,
 * what one recording costs, label escaping, number texts, and the process
 * and disk figures against what the test measures itself. */
#include "harness.h"

#include "hallbus/metrics.h"
#include "hallbus/time.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static size_t s_count_lines(const char *text, const char *prefix)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, prefix, plen) == 0)
            n++;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return n;
}

static const hb_buckets_t s_small = {3, {0.5, 1, 10}};

static void test_histogram_text(void **state)
{
    (void)state;
    hb_histogram_t h;
    hb_histogram_init(&h, &s_small);
    /* On a bound counts in that bound's bucket (le is "less or equal"). */
    const double values[] = {0.25, 0.5, 0.75, 1, 3, 10, 11, 1e9};
    double sum = 0;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        hb_histogram_observe(&h, values[i]);
        sum += values[i];
    }
    hb_metrics_t m;
    hb_metrics_init(&m);
    hb_metrics_histogram(&m, "x_seconds", "what x took", "a=\"b\"", &h);
    hb_metrics_histogram(&m, "x_seconds", "what x took", "a=\"c\"", &h);
    assert_non_null(m.text.p);
    const char *expect = "# HELP x_seconds what x took\n"
                         "# TYPE x_seconds histogram\n"
                         "x_seconds_bucket{a=\"b\",le=\"0.5\"} 2\n"
                         "x_seconds_bucket{a=\"b\",le=\"1\"} 4\n"
                         "x_seconds_bucket{a=\"b\",le=\"10\"} 6\n"
                         "x_seconds_bucket{a=\"b\",le=\"+Inf\"} 8\n"
                         "x_seconds_sum{a=\"b\"} 1000000026.5\n"
                         "x_seconds_count{a=\"b\"} 8\n";
    assert_memory_equal(m.text.p, expect, strlen(expect));
    /* The second series of the same name: no second HELP or TYPE. */
    assert_int_equal(s_count_lines(m.text.p, "# TYPE x_seconds"), 1);
    assert_true(hbt_sample(m.text.p, "x_seconds_count{a=\"c\"}") == 8);
    assert_true(sum == 1000000026.5);
    assert_int_equal(hb_histogram_count(&h), 8);
    hb_metrics_free(&m);

    /* Without labels. */
    hb_metrics_init(&m);
    hb_metrics_histogram(&m, "y_seconds", "y", NULL, &h);
    assert_non_null(strstr(m.text.p, "y_seconds_bucket{le=\"0.5\"} 2\n"));
    assert_non_null(strstr(m.text.p, "y_seconds_sum 1000000026.5\ny_seconds_count 8\n"));
    hb_metrics_free(&m);
}

static void test_histogram_odd_values(void **state)
{
    (void)state;
    hb_histogram_t h;
    hb_histogram_init(&h, &s_small);
    hb_histogram_observe(&h, NAN);
    assert_int_equal(hb_histogram_count(&h), 0);
    /* A clock stepped back: counted as 0, the sum never goes down. */
    hb_histogram_observe(&h, -5);
    hb_histogram_observe(&h, INFINITY);
    assert_int_equal(hb_histogram_count(&h), 2);
    hb_metrics_t m;
    hb_metrics_init(&m);
    hb_metrics_histogram(&m, "z_seconds", "z", NULL, &h);
    assert_true(hbt_sample(m.text.p, "z_seconds_bucket{le=\"0.5\"}") == 1);
    assert_true(hbt_sample(m.text.p, "z_seconds_bucket{le=\"10\"}") == 1);
    assert_true(hbt_sample(m.text.p, "z_seconds_bucket{le=\"+Inf\"}") == 2);
    assert_non_null(strstr(m.text.p, "z_seconds_sum +Inf\n"));
    hb_metrics_free(&m);
}

/* The bounds of both standard sets, as written: the shortest text, no
 * exponent where people write none. */
static void test_bound_texts(void **state)
{
    (void)state;
    hb_histogram_t lat, lag;
    hb_histogram_init(&lat, &hb_buckets_latency);
    hb_histogram_init(&lag, &hb_buckets_lag);
    hb_metrics_t m;
    hb_metrics_init(&m);
    hb_metrics_histogram(&m, "l_seconds", "l", NULL, &lat);
    hb_metrics_histogram(&m, "g_seconds", "g", NULL, &lag);
    static const char *const want[] = {
        "l_seconds_bucket{le=\"0.0001\"} 0", "l_seconds_bucket{le=\"0.00025\"} 0",
        "l_seconds_bucket{le=\"0.005\"} 0",  "l_seconds_bucket{le=\"2.5\"} 0",
        "l_seconds_bucket{le=\"10\"} 0",     "g_seconds_bucket{le=\"0.001\"} 0",
        "g_seconds_bucket{le=\"3600\"} 0",   "g_seconds_bucket{le=\"900\"} 0",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(m.text.p, want[i]))
            fail_msg("no line \"%s\" in:\n%s", want[i], m.text.p);
    assert_int_equal(s_count_lines(m.text.p, "l_seconds_bucket"), hb_buckets_latency.n + 1);
    assert_int_equal(s_count_lines(m.text.p, "g_seconds_bucket"), hb_buckets_lag.n + 1);
    assert_null(strstr(m.text.p, "e+"));
    hb_metrics_free(&m);

    /* Sample values: integers exact, fractions shortest, the format's words. */
    hb_metrics_init(&m);
    hb_metrics_add(&m, "v", "gauge", "v", "k=\"int\"", 9007199254740991.0);
    hb_metrics_add(&m, "v", "gauge", "v", "k=\"frac\"", 0.1 + 0.2);
    hb_metrics_add(&m, "v", "gauge", "v", "k=\"tenth\"", 0.1);
    hb_metrics_add(&m, "v", "gauge", "v", "k=\"inf\"", -INFINITY);
    hb_metrics_add(&m, "v", "gauge", "v", "k=\"nan\"", NAN);
    assert_non_null(strstr(m.text.p, "v{k=\"int\"} 9007199254740991\n"));
    assert_non_null(strstr(m.text.p, "v{k=\"frac\"} 0.30000000000000004\n"));
    assert_non_null(strstr(m.text.p, "v{k=\"tenth\"} 0.1\n"));
    assert_non_null(strstr(m.text.p, "v{k=\"inf\"} -Inf\n"));
    assert_non_null(strstr(m.text.p, "v{k=\"nan\"} NaN\n"));
    assert_int_equal(s_count_lines(m.text.p, "# HELP v "), 1);
    hb_metrics_free(&m);
}

static void test_escape(void **state)
{
    (void)state;
    char out[32];
    hb_metrics_escape(out, sizeof out, "a\"b\\c\nd/:e");
    assert_string_equal(out, "a\\\"b\\\\c\\nd/:e");
    /* Cut before an escape that does not fit, never in its middle. */
    char small[4];
    hb_metrics_escape(small, sizeof small, "ab\"c");
    assert_string_equal(small, "ab");
    hb_metrics_escape(small, sizeof small, "abcdef");
    assert_string_equal(small, "abc");
}

#define THREADS 4
#define PER_THREAD 1000000

static void *s_recorder(void *arg)
{
    hb_histogram_t *h = arg;
    for (int i = 0; i < PER_THREAD; i++)
        hb_histogram_observe(h, (i % 4) * 0.5); /* 0, 0.5, 1, 1.5: exact in binary */
    return NULL;
}

/* Four threads record at once while the test scrapes: nothing is lost, and
 * every scrape is cumulative with +Inf equal to _count. */
static void test_histogram_threads(void **state)
{
    (void)state;
    hb_histogram_t h;
    hb_histogram_init(&h, &s_small);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, s_recorder, &h), 0);
    for (int scrape = 0; scrape < 50; scrape++) {
        hb_metrics_t m;
        hb_metrics_init(&m);
        hb_metrics_histogram(&m, "t_seconds", "t", NULL, &h);
        double b05 = hbt_sample(m.text.p, "t_seconds_bucket{le=\"0.5\"}");
        double b1 = hbt_sample(m.text.p, "t_seconds_bucket{le=\"1\"}");
        double b10 = hbt_sample(m.text.p, "t_seconds_bucket{le=\"10\"}");
        double inf = hbt_sample(m.text.p, "t_seconds_bucket{le=\"+Inf\"}");
        assert_true(b05 <= b1 && b1 <= b10 && b10 <= inf);
        assert_true(inf == hbt_sample(m.text.p, "t_seconds_count"));
        hb_metrics_free(&m);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(hb_histogram_count(&h), (uint64_t)THREADS * PER_THREAD);
    hb_metrics_t m;
    hb_metrics_init(&m);
    hb_metrics_histogram(&m, "t_seconds", "t", NULL, &h);
    /* Each thread: a quarter of its values each of 0, 0.5, 1, 1.5. */
    double quarter = THREADS * PER_THREAD / 4.0;
    assert_true(hbt_sample(m.text.p, "t_seconds_bucket{le=\"0.5\"}") == 2 * quarter);
    assert_true(hbt_sample(m.text.p, "t_seconds_bucket{le=\"1\"}") == 3 * quarter);
    assert_true(hbt_sample(m.text.p, "t_seconds_bucket{le=\"10\"}") == 4 * quarter);
    assert_true(hbt_sample(m.text.p, "t_seconds_sum") == quarter * (0 + 0.5 + 1 + 1.5));
    hb_metrics_free(&m);
}

/* One recording on the hot path: tens of nanoseconds in a plain build. The
 * bound here is loose (1 us) so that a sanitizer build passes too; the
 * figure is printed. */
static void test_histogram_cost(void **state)
{
    (void)state;
    hb_histogram_t h;
    hb_histogram_init(&h, &hb_buckets_latency);
    const int n = 2000000;
    int64_t t0 = hb_mono_ns();
    for (int i = 0; i < n; i++)
        hb_histogram_observe(&h, (double)(i & 1023) * 1e-5);
    int64_t took = hb_mono_ns() - t0;
    double per = (double)took / n;
    fprintf(stderr, "hb_histogram_observe: %.1f ns per call (one thread)\n", per);
    assert_int_equal(hb_histogram_count(&h), (uint64_t)n);
    assert_true(per < 1000);
}

static void test_process(void **state)
{
    (void)state;
    /* Some CPU time first, so that the counter is above 0. */
    volatile double x = 0;
    for (int i = 0; i < 20000000; i++)
        x += i * 0.5;
    hb_metrics_t m;
    hb_metrics_init(&m);
    hb_metrics_process(&m);
    double cpu = hbt_sample(m.text.p, "process_cpu_seconds_total");
    double rss = hbt_sample(m.text.p, "process_resident_memory_bytes");
    double vsz = hbt_sample(m.text.p, "process_virtual_memory_bytes");
    double fds = hbt_sample(m.text.p, "process_open_fds");
    double max_fds = hbt_sample(m.text.p, "process_max_fds");
    double start = hbt_sample(m.text.p, "process_start_time_seconds");
    hb_metrics_free(&m);
    assert_true(cpu > 0 && cpu < 3600);
    assert_true(rss > 0 && rss <= vsz);
    assert_true(fds >= 3 && fds <= max_fds);
    /* Started at most an hour ago by the wall clock, and not in the future
     * (the tick is 10 ms; a second for rounding and clock steps). */
    double now = (double)time(NULL);
    assert_true(start <= now + 1 && start > now - 3600);

    /* One more descriptor: counted. */
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    hb_metrics_init(&m);
    hb_metrics_process(&m);
    assert_true(hbt_sample(m.text.p, "process_open_fds") == fds + 1);
    hb_metrics_free(&m);
    close(fd);
}

static void test_disk(void **state)
{
    (void)state;
    hb_metrics_t m;
    hb_metrics_init(&m);
    hb_metrics_disk(&m, "p_", "/tmp");
    struct statvfs sv;
    assert_int_equal(statvfs("/tmp", &sv), 0);
    double size = hbt_sample(m.text.p, "p_disk_size_bytes");
    double avail = hbt_sample(m.text.p, "p_disk_avail_bytes");
    assert_true(size == (double)sv.f_blocks * (double)sv.f_frsize);
    assert_true(avail > 0 && avail <= size);
    hb_metrics_free(&m);
    /* A folder that is not there: nothing written. */
    hb_metrics_init(&m);
    hb_metrics_disk(&m, "p_", "/nonexistent/hallbus");
    assert_int_equal(m.text.len, 0);
    hb_metrics_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_text),    cmocka_unit_test(test_histogram_odd_values),
        cmocka_unit_test(test_bound_texts),       cmocka_unit_test(test_escape),
        cmocka_unit_test(test_histogram_threads), cmocka_unit_test(test_histogram_cost),
        cmocka_unit_test(test_process),           cmocka_unit_test(test_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
