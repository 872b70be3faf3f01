/* Histograms of durations in whole seconds (waits, service times) for the
 * rollups' percentiles: log buckets in the manner of HdrHistogram, exact
 * below 32 s and 32 buckets per power of two above, so that the value a
 * percentile reports is within 1/64 (1.6%) of the true one. Two histograms
 * merge by adding their counts, which is what lets an hour's, a day's and
 * a region's figures be summed from the halls' cells.
 *
 * Kept sparse (only buckets that hold something, in bucket order), in
 * memory and in the rollups' records alike; a histogram has at most
 * RU_HIST_BUCKETS entries. Not here: what is measured (fold.h) and where it
 * is stored (cell.h). */
#ifndef HQD_RU_HIST_H
#define HQD_RU_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RU_HIST_SUB_BITS 5
#define RU_HIST_SUB (1u << RU_HIST_SUB_BITS) /* buckets per power of two */
#define RU_HIST_TOP_BITS 24 /* values from 2^24 s (194 days) share the last octave */
#define RU_HIST_BUCKETS (RU_HIST_SUB + (RU_HIST_TOP_BITS - RU_HIST_SUB_BITS) * RU_HIST_SUB)
#define RU_HIST_VALUE_MAX ((1u << RU_HIST_TOP_BITS) - 1) /* larger values count as this */
/* The relative error bound of a reported percentile: half a bucket's width
 * against the smallest value of the bucket. */
#define RU_HIST_REL_ERROR (1.0 / (2.0 * RU_HIST_SUB))
/* Bytes an encoded histogram takes at most (a count of entries, then a
 * bucket step and a count per entry, as varints). */
#define RU_HIST_ENCODED_MAX (10 + RU_HIST_BUCKETS * (3 + 10))

typedef struct ru_hist_entry {
    uint16_t bucket;
    uint64_t count;
} ru_hist_entry_t;

/* A histogram: `n` entries in increasing bucket order, none with a zero
 * count. Zeroed is empty; ru_hist_free releases it. */
typedef struct ru_hist {
    ru_hist_entry_t *e;
    uint16_t n, cap;
    uint64_t total; /* sum of the counts */
} ru_hist_t;

/* The bucket of a value, and the smallest and largest value it holds. */
uint16_t ru_hist_bucket(uint32_t value_s);
uint32_t ru_hist_bucket_low(uint16_t bucket);
uint32_t ru_hist_bucket_high(uint16_t bucket);
/* The value a bucket reports: its middle (rounded down), so that the
 * error is at most half its width (RU_HIST_REL_ERROR of any value in it). */
uint32_t ru_hist_bucket_value(uint16_t bucket);

void ru_hist_free(ru_hist_t *h);
void ru_hist_clear(ru_hist_t *h);
/* Counts `count` values of `value_s` (capped at RU_HIST_VALUE_MAX). 0 or
 * HB_ENOMEM (unchanged). */
int ru_hist_add(ru_hist_t *h, uint32_t value_s, uint64_t count);
/* Adds every count of `src` to `dst`. 0 or HB_ENOMEM (unchanged). */
int ru_hist_merge(ru_hist_t *dst, const ru_hist_t *src);
/* The `p`-th percentile (0 < p <= 1) by nearest rank: the reported value of
 * the bucket holding the ceil(p * total)-th smallest value. false when the
 * histogram is empty. */
bool ru_hist_percentile(const ru_hist_t *h, double p, uint32_t *out_s);
bool ru_hist_equal(const ru_hist_t *a, const ru_hist_t *b);

/* Appends the encoding to `out` (room for RU_HIST_ENCODED_MAX bytes);
 * returns the bytes written. */
size_t ru_hist_encode(const ru_hist_t *h, uint8_t *out);
/* Adds an encoded histogram at `*p` (not past `end`) to `dst`, moving `*p`
 * past it. 0, HB_EPARSE (a damaged encoding: `dst` may hold part of it),
 * HB_ENOMEM. */
int ru_hist_add_encoded(ru_hist_t *dst, const uint8_t **p, const uint8_t *end);
/* Moves `*p` past an encoded histogram without reading it. 0 or HB_EPARSE. */
int ru_hist_skip_encoded(const uint8_t **p, const uint8_t *end);

/* Varints (LEB128) and zigzag for signed values, shared with cell.c and
 * fold.c's encodings. ru_varint_get returns false past `end` or for more
 * than ten bytes. */
size_t ru_varint_put(uint8_t *out, uint64_t v);
bool ru_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out);
/* The sign spread over every bit without shifting a signed value (whose
 * right shift C leaves to the implementation). */
static inline uint64_t ru_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}
static inline int64_t ru_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
