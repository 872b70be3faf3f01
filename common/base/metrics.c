/* Prometheus text, histograms and the process figures (see metrics.h),
 * written with the kit's text writer. Numbers are printed exactly (counters
 * up to 2^53 as integers) and shortest (s_number_text). */
#include "hallbus/metrics.h"
#include "hallbus/time.h"

#include <assert.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

void hb_metrics_init(hb_metrics_t *m)
{
    memset(m, 0, sizeof *m);
    hb_text_init(&m->text, HB_METRICS_MAX - 1);
}

static void s_family(hb_metrics_t *m, const char *name, const char *type, const char *help)
{
    if (strcmp(m->last, name) != 0) {
        hb_text_putf(&m->text, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
        snprintf(m->last, sizeof m->last, "%s", name);
    }
}

/* The shortest text that reads back as the same double, written without
 * an exponent while the integer part fits (10, not 1e+01; 3600, not
 * 3.6e+03), so that a bound's "le" label is the same text at every scrape
 * and reads as people wrote it ("0.005", not "0.0050000000000000001"). The
 * format's words for infinities and NaN. */
static void s_number_text(char *out, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, "%sInf", v > 0 ? "+" : "-");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* 2^53: exact */
        snprintf(out, cap, "%.0f", v);
        return;
    }
    int prec = 17;
    for (int p = 1; p <= 17; p++) {
        snprintf(out, cap, "%.*g", p, v);
        if (strtod(out, NULL) == v) {
            prec = p;
            break;
        }
    }
    int int_digits = fabs(v) >= 1 ? (int)floor(log10(fabs(v))) + 1 : 0;
    if (int_digits > prec && int_digits <= 17)
        prec = int_digits;
    snprintf(out, cap, "%.*g", prec, v);
}

void hb_metrics_add(hb_metrics_t *m, const char *name, const char *type, const char *help,
                    const char *labels, double value)
{
    s_family(m, name, type, help);
    char text[40];
    s_number_text(text, sizeof text, value);
    if (labels && labels[0])
        hb_text_putf(&m->text, "%s{%s} %s\n", name, labels, text);
    else
        hb_text_putf(&m->text, "%s %s\n", name, text);
}

void hb_metrics_by_name(hb_metrics_t *m, const char *name, const char *type, const char *help,
                        const char *key, const char *(*value_name)(int), int first, int last,
                        const uint64_t *values)
{
    for (int i = first; i <= last; i++) {
        const char *v = value_name(i);
        char value[64], labels[128];
        hb_metrics_escape(value, sizeof value, v ? v : "");
        snprintf(labels, sizeof labels, "%s=\"%s\"", key, value);
        hb_metrics_add(m, name, type, help, labels, (double)values[i]);
    }
}

void hb_metrics_free(hb_metrics_t *m)
{
    hb_text_free(&m->text);
    memset(m, 0, sizeof *m);
}

void hb_metrics_escape(char *out, size_t cap, const char *value)
{
    if (cap == 0)
        return;
    size_t n = 0;
    for (const char *p = value; *p; p++) {
        const char *put = NULL;
        char one[2] = {*p, '\0'};
        if (*p == '\\')
            put = "\\\\";
        else if (*p == '"')
            put = "\\\"";
        else if (*p == '\n')
            put = "\\n";
        else
            put = one;
        size_t k = strlen(put);
        if (n + k >= cap)
            break;
        memcpy(out + n, put, k);
        n += k;
    }
    out[n] = '\0';
}

/* ---------------------------------------------------------------- histograms */

const hb_buckets_t hb_buckets_latency = {16,
                                         {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};

const hb_buckets_t hb_buckets_lag = {18,
                                     {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                      2.5, 5, 10, 30, 60, 300, 900, 3600}};

void hb_histogram_init(hb_histogram_t *h, const hb_buckets_t *buckets)
{
    assert(buckets && buckets->n >= 1 && buckets->n <= HB_HISTOGRAM_BUCKETS_MAX);
    for (size_t i = 0; i < buckets->n; i++) {
        assert(isfinite(buckets->le[i]));
        assert(i == 0 || buckets->le[i] > buckets->le[i - 1]);
    }
    h->buckets = buckets;
    for (size_t i = 0; i <= HB_HISTOGRAM_BUCKETS_MAX; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->sum_bits, 0); /* the bits of +0.0 */
}

void hb_histogram_observe(hb_histogram_t *h, double value)
{
    if (isnan(value))
        return;
    if (value < 0)
        value = 0;
    const hb_buckets_t *b = h->buckets;
    /* The first bound at or above the value (le is "less or equal"); n for
     * the +Inf bucket. A binary search: at most five steps. */
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (value <= b->le[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->counts[lo], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed), next;
    do {
        double sum;
        memcpy(&sum, &old, sizeof sum);
        sum += value;
        memcpy(&next, &sum, sizeof next);
    } while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void hb_histogram_observe_since(hb_histogram_t *h, int64_t t0_ns)
{
    hb_histogram_observe(h, (double)(hb_mono_ns() - t0_ns) / 1e9);
}

uint64_t hb_histogram_count(const hb_histogram_t *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= h->buckets->n; i++)
        n += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    return n;
}

void hb_metrics_histogram(hb_metrics_t *m, const char *name, const char *help, const char *labels,
                          const hb_histogram_t *h)
{
    const hb_buckets_t *b = h->buckets;
    /* One reading of the counts: the buckets, +Inf and _count below all
     * come from it, so they agree whatever other threads record meanwhile. */
    uint64_t counts[HB_HISTOGRAM_BUCKETS_MAX + 1];
    for (size_t i = 0; i <= b->n; i++)
        counts[i] = atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    uint64_t bits = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    double sum;
    memcpy(&sum, &bits, sizeof sum);

    s_family(m, name, "histogram", help);
    const char *sep = labels && labels[0] ? "," : "";
    const char *lab = labels ? labels : "";
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= b->n; i++) {
        cumulative += counts[i];
        char le[32];
        if (i < b->n)
            s_number_text(le, sizeof le, b->le[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        hb_text_putf(&m->text, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, lab, sep, le,
                     (unsigned long long)cumulative);
    }
    char text[40];
    s_number_text(text, sizeof text, sum);
    if (lab[0]) {
        hb_text_putf(&m->text, "%s_sum{%s} %s\n", name, lab, text);
        hb_text_putf(&m->text, "%s_count{%s} %llu\n", name, lab, (unsigned long long)cumulative);
    } else {
        hb_text_putf(&m->text, "%s_sum %s\n", name, text);
        hb_text_putf(&m->text, "%s_count %llu\n", name, (unsigned long long)cumulative);
    }
}

/* ---------------------------------------------------------------- process */

/* Reads a small /proc file whole into `buf`; its length, or -1. */
static ssize_t s_read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* Seconds since the epoch at which this process started: its start in
 * clock ticks after boot (field 22 of /proc/self/stat) plus the boot time
 * (btime in /proc/stat). -1 when either cannot be read. */
static double s_start_time(void)
{
    char stat[1024];
    if (s_read_small("/proc/self/stat", stat, sizeof stat) <= 0)
        return -1;
    /* The command name (field 2) is in parentheses and may hold spaces and
     * parentheses itself: count fields after the last ')'. */
    char *p = strrchr(stat, ')');
    if (!p)
        return -1;
    p++;
    unsigned long long ticks = 0;
    bool found = false;
    for (int field = 3; *p; field++) {
        while (*p == ' ')
            p++;
        if (field == 22) {
            char *end;
            ticks = strtoull(p, &end, 10);
            found = end != p;
            break;
        }
        while (*p && *p != ' ')
            p++;
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (!found || hz <= 0)
        return -1;
    /* /proc/stat grows with the CPUs; btime comes after the per-CPU lines,
     * so read it line by line rather than whole. */
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return -1;
    char line[512];
    double btime = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "btime ", 6) == 0) {
            char *end;
            unsigned long long v = strtoull(line + 6, &end, 10);
            if (end != line + 6)
                btime = (double)v;
            break;
        }
    }
    fclose(f);
    if (btime < 0)
        return -1;
    return btime + (double)ticks / (double)hz;
}

/* Entries of /proc/self/fd, the descriptor reading it excepted; -1 when it
 * cannot be read. */
static long s_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while (n < (long)HB_METRICS_FDS_COUNT_MAX && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n > 0 ? n - 1 : 0;
}

void hb_metrics_process(hb_metrics_t *m)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        hb_metrics_add(m, "process_cpu_seconds_total", "counter",
                       "user and system CPU time spent, all threads, in seconds", NULL, cpu);
    }
    char statm[256];
    unsigned long long vsize_pages = 0, rss_pages = 0;
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0 && s_read_small("/proc/self/statm", statm, sizeof statm) > 0 &&
        sscanf(statm, "%llu %llu", &vsize_pages, &rss_pages) == 2) {
        hb_metrics_add(m, "process_resident_memory_bytes", "gauge", "resident memory size in bytes",
                       NULL, (double)rss_pages * (double)page);
        hb_metrics_add(m, "process_virtual_memory_bytes", "gauge", "virtual memory size in bytes",
                       NULL, (double)vsize_pages * (double)page);
    }
    long fds = s_open_fds();
    if (fds >= 0)
        hb_metrics_add(m, "process_open_fds", "gauge", "open file descriptors", NULL, (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        hb_metrics_add(m, "process_max_fds", "gauge",
                       "the most file descriptors the process may open (soft limit)", NULL,
                       rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
    double start = s_start_time();
    if (start >= 0)
        hb_metrics_add(m, "process_start_time_seconds", "gauge",
                       "start time of the process since the Unix epoch, in seconds", NULL, start);
}

void hb_metrics_disk(hb_metrics_t *m, const char *prefix, const char *dir)
{
    struct statvfs sv;
    if (!dir || statvfs(dir, &sv) != 0)
        return;
    char name[HB_METRICS_NAME_MAX];
    snprintf(name, sizeof name, "%sdisk_avail_bytes", prefix);
    hb_metrics_add(m, name, "gauge",
                   "bytes free to the daemon on the file system of its data folder", NULL,
                   (double)sv.f_bavail * (double)sv.f_frsize);
    snprintf(name, sizeof name, "%sdisk_size_bytes", prefix);
    hb_metrics_add(m, name, "gauge", "size of the file system of the data folder, in bytes", NULL,
                   (double)sv.f_blocks * (double)sv.f_frsize);
}
