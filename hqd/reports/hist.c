/* Log-bucket histograms of seconds (see hist.h). A bucket index is the
 * value itself below RU_HIST_SUB; above, the value's octave (its highest
 * set bit) picks a row of RU_HIST_SUB buckets and the next RU_HIST_SUB_BITS
 * bits pick the bucket in it, so every bucket above the exact range is
 * 1/32 of its octave's lower end wide. */
#include "hist.h"

#include "hallbus/error.h"

#include <stdlib.h>
#include <string.h>

uint16_t ru_hist_bucket(uint32_t v)
{
    if (v > RU_HIST_VALUE_MAX)
        v = RU_HIST_VALUE_MAX;
    if (v < RU_HIST_SUB)
        return (uint16_t)v;
    unsigned e = 31u - (unsigned)__builtin_clz(v); /* >= RU_HIST_SUB_BITS */
    unsigned shift = e - RU_HIST_SUB_BITS;
    unsigned sub = (v >> shift) - RU_HIST_SUB; /* 0 .. RU_HIST_SUB - 1 */
    return (uint16_t)(RU_HIST_SUB + shift * RU_HIST_SUB + sub);
}

uint32_t ru_hist_bucket_low(uint16_t b)
{
    if (b < RU_HIST_SUB)
        return b;
    unsigned shift = (unsigned)(b - RU_HIST_SUB) / RU_HIST_SUB;
    unsigned sub = (unsigned)(b - RU_HIST_SUB) % RU_HIST_SUB;
    return (uint32_t)(RU_HIST_SUB + sub) << shift;
}

uint32_t ru_hist_bucket_high(uint16_t b)
{
    if (b < RU_HIST_SUB)
        return b;
    unsigned shift = (unsigned)(b - RU_HIST_SUB) / RU_HIST_SUB;
    return ru_hist_bucket_low(b) + (1u << shift) - 1;
}

uint32_t ru_hist_bucket_value(uint16_t b)
{
    /* The middle, rounded down: a bucket of one value is exact, one of two
     * (120, 121) says the first. */
    uint32_t lo = ru_hist_bucket_low(b), hi = ru_hist_bucket_high(b);
    return lo + (hi - lo) / 2;
}

void ru_hist_free(ru_hist_t *h)
{
    free(h->e);
    memset(h, 0, sizeof *h);
}

void ru_hist_clear(ru_hist_t *h)
{
    h->n = 0;
    h->total = 0;
}

static int s_reserve(ru_hist_t *h, size_t need)
{
    if (need <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 8;
    while (cap < need)
        cap *= 2;
    if (cap > RU_HIST_BUCKETS)
        cap = RU_HIST_BUCKETS;
    ru_hist_entry_t *e = realloc(h->e, cap * sizeof *e);
    if (!e)
        return HB_ENOMEM;
    h->e = e;
    h->cap = (uint16_t)cap;
    return 0;
}

int ru_hist_add(ru_hist_t *h, uint32_t value_s, uint64_t count)
{
    if (count == 0)
        return 0;
    uint16_t b = ru_hist_bucket(value_s);
    /* Values of one cell mostly fall in a few buckets, often the last. */
    size_t lo = 0, hi = h->n;
    if (h->n && h->e[h->n - 1].bucket < b) {
        lo = h->n;
    } else {
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (h->e[mid].bucket < b)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < h->n && h->e[lo].bucket == b) {
            h->e[lo].count += count;
            h->total += count;
            return 0;
        }
    }
    if (s_reserve(h, (size_t)h->n + 1) != 0)
        return HB_ENOMEM;
    memmove(h->e + lo + 1, h->e + lo, (h->n - lo) * sizeof *h->e);
    h->e[lo] = (ru_hist_entry_t){.bucket = b, .count = count};
    h->n++;
    h->total += count;
    return 0;
}

/* Merges sorted entries into `dst` through a scratch array (a union of
 * two sorted lists). */
static int s_merge_entries(ru_hist_t *dst, const ru_hist_entry_t *src, size_t n)
{
    if (n == 0)
        return 0;
    if (dst->n == 0) {
        if (s_reserve(dst, n) != 0)
            return HB_ENOMEM;
        memcpy(dst->e, src, n * sizeof *src);
        dst->n = (uint16_t)n;
        for (size_t i = 0; i < n; i++)
            dst->total += src[i].count;
        return 0;
    }
    ru_hist_entry_t tmp[RU_HIST_BUCKETS];
    size_t i = 0, j = 0, k = 0;
    uint64_t added = 0;
    while (i < dst->n || j < n) {
        if (j == n || (i < dst->n && dst->e[i].bucket < src[j].bucket)) {
            tmp[k++] = dst->e[i++];
        } else if (i == dst->n || src[j].bucket < dst->e[i].bucket) {
            added += src[j].count;
            tmp[k++] = src[j++];
        } else {
            added += src[j].count;
            tmp[k] = dst->e[i++];
            tmp[k++].count += src[j++].count;
        }
    }
    if (s_reserve(dst, k) != 0)
        return HB_ENOMEM;
    memcpy(dst->e, tmp, k * sizeof *tmp);
    dst->n = (uint16_t)k;
    dst->total += added;
    return 0;
}

int ru_hist_merge(ru_hist_t *dst, const ru_hist_t *src)
{
    return s_merge_entries(dst, src->e, src->n);
}

bool ru_hist_percentile(const ru_hist_t *h, double p, uint32_t *out_s)
{
    if (h->total == 0)
        return false;
    double r = p * (double)h->total;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    uint64_t seen = 0;
    for (size_t i = 0; i < h->n; i++) {
        seen += h->e[i].count;
        if (seen >= rank) {
            *out_s = ru_hist_bucket_value(h->e[i].bucket);
            return true;
        }
    }
    *out_s = ru_hist_bucket_value(h->e[h->n - 1].bucket);
    return true;
}

bool ru_hist_equal(const ru_hist_t *a, const ru_hist_t *b)
{
    if (a->n != b->n || a->total != b->total)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->e[i].bucket != b->e[i].bucket || a->e[i].count != b->e[i].count)
            return false;
    return true;
}

size_t ru_varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

bool ru_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    const uint8_t *q = *p;
    for (int shift = 0; shift < 70; shift += 7) {
        if (q >= end)
            return false;
        uint8_t c = *q++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *p = q;
            *out = v;
            return true;
        }
    }
    return false;
}

size_t ru_hist_encode(const ru_hist_t *h, uint8_t *out)
{
    size_t o = ru_varint_put(out, h->n);
    uint16_t prev = 0;
    for (size_t i = 0; i < h->n; i++) {
        o += ru_varint_put(out + o, (uint64_t)(h->e[i].bucket - prev));
        o += ru_varint_put(out + o, h->e[i].count);
        prev = h->e[i].bucket;
    }
    return o;
}

/* Reads an encoding into `tmp` (sorted, no zero counts). */
static int s_decode(const uint8_t **p, const uint8_t *end, ru_hist_entry_t *tmp, size_t *n_out)
{
    uint64_t n;
    if (!ru_varint_get(p, end, &n) || n > RU_HIST_BUCKETS)
        return HB_EPARSE;
    uint64_t bucket = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t step, count;
        if (!ru_varint_get(p, end, &step) || !ru_varint_get(p, end, &count))
            return HB_EPARSE;
        bucket += step;
        /* Strictly increasing after the first, within range, not empty. */
        if ((i > 0 && step == 0) || bucket >= RU_HIST_BUCKETS || count == 0)
            return HB_EPARSE;
        tmp[i] = (ru_hist_entry_t){.bucket = (uint16_t)bucket, .count = count};
    }
    *n_out = (size_t)n;
    return 0;
}

int ru_hist_add_encoded(ru_hist_t *dst, const uint8_t **p, const uint8_t *end)
{
    ru_hist_entry_t tmp[RU_HIST_BUCKETS];
    size_t n = 0;
    int rc = s_decode(p, end, tmp, &n);
    if (rc != 0)
        return rc;
    return s_merge_entries(dst, tmp, n);
}

int ru_hist_skip_encoded(const uint8_t **p, const uint8_t *end)
{
    ru_hist_entry_t tmp[RU_HIST_BUCKETS];
    size_t n;
    return s_decode(p, end, tmp, &n);
}
