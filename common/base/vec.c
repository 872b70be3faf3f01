/* The growable array with a maximum (see vec.h): room doubles from a small
 * start and stops at the maximum, new room is zeroed. Not for text, which
 * hallbus/text.h writes with its own bound in bytes. */
#include "hallbus/vec.h"
#include "hallbus/error.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VEC_CAP_MIN 16

int hb_vec__reserve(void **raw, size_t *cap, size_t need, size_t elem, size_t max)
{
    assert(max > 0 && "a vector without a maximum");
    if (need > max)
        return HB_ETOOBIG; /* even within room: a maximum may be lowered */
    if (need <= *cap)
        return 0;
    size_t want = *cap ? *cap : VEC_CAP_MIN;
    while (want < need)
        want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
    if (want > max)
        want = max;
    if (want > SIZE_MAX / elem)
        return HB_ENOMEM;
    char *p = realloc(*raw, want * elem);
    if (!p)
        return HB_ENOMEM;
    memset(p + *cap * elem, 0, (want - *cap) * elem);
    *raw = p;
    *cap = want;
    return 0;
}

int hb_array_reserve(void **arr, size_t *cap, size_t need, size_t elem, size_t max)
{
    return hb_vec__reserve(arr, cap, need, elem, max);
}

void *hb_vec__push(void **raw, size_t *n, size_t *cap, size_t elem, size_t max)
{
    if (*n == SIZE_MAX || hb_vec__reserve(raw, cap, *n + 1, elem, max) != 0)
        return NULL;
    char *p = (char *)*raw + *n * elem;
    /* Room past n may hold an element a caller shortened the vector over. */
    memset(p, 0, elem);
    (*n)++;
    return p;
}

int hb_vec__append(void **raw, size_t *n, size_t *cap, size_t elem, size_t max, const void *val)
{
    if (*n >= max)
        return HB_ETOOBIG;
    void *p = hb_vec__push(raw, n, cap, elem, max);
    if (!p)
        return HB_ENOMEM;
    memcpy(p, val, elem);
    return 0;
}

void *hb_vec__at(void **raw, size_t *n, size_t *cap, size_t i, size_t elem, size_t max)
{
    if (i >= *n) {
        if (i == SIZE_MAX || hb_vec__reserve(raw, cap, i + 1, elem, max) != 0)
            return NULL;
        memset((char *)*raw + *n * elem, 0, (i + 1 - *n) * elem);
        *n = i + 1;
    }
    return (char *)*raw + i * elem;
}

void hb_vec__free(void **raw, size_t *n, size_t *cap)
{
    free(*raw);
    *raw = NULL;
    *n = 0;
    *cap = 0;
}
