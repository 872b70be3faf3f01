/* Latency samples of the benchmarks: a growing array of doubles, sorted
 * once, read by quantile. Shared by bench_ingest, bench_live and
 * bench_kiosk; not a histogram (every sample is kept, so the maximum and
 * the tail are exact). */
#ifndef TOOLS_BENCH_SAMPLES_H
#define TOOLS_BENCH_SAMPLES_H

#include <stddef.h>

typedef struct samples {
    double *v;
    size_t n, cap;
} samples_t;

/* The most samples one set keeps (2 GiB of them): a run that measures more
 * loses the rest. */
#define SAMPLES_MAX ((size_t)1 << 28)

/* Appends `v`; 0, or HB_ENOMEM or HB_ETOOBIG past SAMPLES_MAX (the sample
 * is then lost). */
int samples_add(samples_t *s, double v);
/* Sorts the samples, smallest first. */
void samples_sort(samples_t *s);
/* The p-quantile (0..1) of sorted samples; 0 when there are none. */
double samples_pct(const samples_t *s, double p);
void samples_free(samples_t *s);

#endif
