/* Prometheus text exposition (format 0.0.4) for GET /metrics on both
 * daemons: a growing buffer of "# HELP", "# TYPE" and sample lines. Samples
 * of one metric with different labels are added one after another; HELP
 * and TYPE are written once, before the first. Not a registry: each daemon
 * writes its figures when asked.
 *
 * Also here: histograms that any thread records into (a few atomic adds,
 * no lock, no allocation) and the exposition writes at scrape time, and the
 * process_* figures every Prometheus client exports (CPU, memory, open
 * descriptors, start time). */
#ifndef HALLBUS_METRICS_H
#define HALLBUS_METRICS_H

#include "hallbus/text.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_METRICS_MAX (8u << 20) /* one answer at most; more is cut */
#define HB_METRICS_NAME_MAX 96    /* a metric's name, its _bucket suffix included */

/* The answer is `text` (text.p may be NULL when nothing was added; a full
 * text holds what fitted). */
typedef struct hb_metrics {
    hb_text_t text;
    char last[HB_METRICS_NAME_MAX]; /* the metric whose HELP/TYPE was written last */
} hb_metrics_t;

void hb_metrics_init(hb_metrics_t *m);
/* One sample. `type` is "counter" or "gauge"; `labels` is NULL or the text
 * inside the braces, e.g. "reason=\"malformed\"" (the caller escapes, see
 * hb_metrics_escape). */
void hb_metrics_add(hb_metrics_t *m, const char *name, const char *type, const char *help,
                    const char *labels, double value);
void hb_metrics_free(hb_metrics_t *m);
/* One sample per value of an enumeration, `first` to `last` inclusive:
 * values[i] labelled key="value_name(i)" (escaped; a NULL name is ""), all
 * under one HELP and TYPE: the halls by link state, the alerts by kind. */
void hb_metrics_by_name(hb_metrics_t *m, const char *name, const char *type, const char *help,
                        const char *key, const char *(*value_name)(int), int first, int last,
                        const uint64_t *values);

/* Copies `value` into `out` as a label value may hold it: backslash, double
 * quote and newline escaped. Cut (never mid-escape) when `cap` is too small. */
void hb_metrics_escape(char *out, size_t cap, const char *value);

/* ---- histograms
 *
 * A histogram counts observations into fixed buckets: each bucket's upper
 * bound (Prometheus's "le") is set once, from a hb_buckets_t the histogram
 * points at, so the memory of one histogram is fixed (about 220 bytes) and
 * recording never allocates. hb_histogram_observe is safe from any thread
 * at any time, scrapes included: it costs a search over at most
 * HB_HISTOGRAM_BUCKETS_MAX bounds and two relaxed atomic adds plus one
 * compare-and-swap for the sum (tens of nanoseconds, measured in
 * test_metrics). A scrape reads the counts once and writes the cumulative
 * buckets, _count equal to the +Inf bucket, and _sum; a value recorded
 * during a scrape may be in _sum and not yet in the buckets, or the other
 * way round, never in half of the buckets. */
#define HB_HISTOGRAM_BUCKETS_MAX 24

typedef struct hb_buckets {
    size_t n;                            /* 1 .. HB_HISTOGRAM_BUCKETS_MAX */
    double le[HB_HISTOGRAM_BUCKETS_MAX]; /* finite, strictly ascending; +Inf is implied */
} hb_buckets_t;

/* Durations of work done in one go (a commit, an HTTP request, a round):
 * 100 us to 10 s. */
extern const hb_buckets_t hb_buckets_latency;
/* How far something runs behind (the live mirror, the rollups): 1 ms to
 * 1 h. */
extern const hb_buckets_t hb_buckets_lag;

typedef struct hb_histogram {
    const hb_buckets_t *buckets;
    /* Per bucket, not cumulative; counts[buckets->n] is the +Inf bucket. */
    _Atomic uint64_t counts[HB_HISTOGRAM_BUCKETS_MAX + 1];
    _Atomic uint64_t sum_bits; /* the sum, a double's bits */
} hb_histogram_t;

/* Zeroes `h` and sets its buckets (static data the histogram points at for
 * its whole life). Asserts that they are well formed. Not thread-safe: call
 * before any thread records. */
void hb_histogram_init(hb_histogram_t *h, const hb_buckets_t *buckets);
/* Records one value. NaN is ignored; a negative value counts as 0 (durations
 * and lags cannot be negative, and a clock stepped back must not make _sum
 * decrease, which Prometheus would read as a reset). */
void hb_histogram_observe(hb_histogram_t *h, double value);
/* Records the seconds from `t0_ns` (a hb_mono_ns() reading) to now. */
void hb_histogram_observe_since(hb_histogram_t *h, int64_t t0_ns);
/* Observations so far (the +Inf bucket). */
uint64_t hb_histogram_count(const hb_histogram_t *h);

/* Writes `h` as histogram `name` (which should end in its unit: _seconds,
 * _bytes): name_bucket{labels,le="..."} for every bound and +Inf, name_sum
 * and name_count, with HELP and TYPE once per name as hb_metrics_add does.
 * `labels` as for hb_metrics_add (NULL or "" for none; never "le"). */
void hb_metrics_histogram(hb_metrics_t *m, const char *name, const char *help, const char *labels,
                          const hb_histogram_t *h);

/* ---- the process
 *
 * Writes, named as Prometheus's own clients name them:
 * process_cpu_seconds_total (user and system, all threads),
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds (the soft RLIMIT_NOFILE),
 * process_start_time_seconds (since the Unix epoch), from getrusage,
 * getrlimit, /proc/self/statm, /proc/self/stat and /proc/stat. A figure
 * that cannot be read (no /proc) is left out. Counting open descriptors
 * reads /proc/self/fd, at most HB_METRICS_FDS_COUNT_MAX entries. */
#define HB_METRICS_FDS_COUNT_MAX (1u << 22)
void hb_metrics_process(hb_metrics_t *m);

/* The file system holding the folder `dir` (statvfs): PREFIX
 * "disk_avail_bytes" (free to this process, reserved blocks left out) and
 * PREFIX "disk_size_bytes", so that a rule can see a data folder filling
 * without a node exporter. Nothing is written when statvfs fails. */
void hb_metrics_disk(hb_metrics_t *m, const char *prefix, const char *dir);

#endif
