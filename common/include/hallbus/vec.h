/* The one growable array of hallbus, with a maximum: HB_VEC(T) is a typed
 * array (v[0..n)), its allocated room and the most elements it may ever
 * hold. Growing past the maximum fails with HB_ETOOBIG instead of growing
 * forever (CONVENTIONS.md: every buffer has a limit). New room is zeroed.
 *
 * Two ways to use it: as a list (hb_vec_push appends), or as a table by
 * number (hb_vec_at grows until an index exists: halls by number). Not for
 * text (hallbus/text.h) nor for lookups by key (hallbus/idmap.h, which
 * indexes an HB_VEC's records).
 *
 * The macros take the vector's address and evaluate it more than once:
 * pass a plain lvalue (&w->halls), not an expression with side effects. */
#ifndef HALLBUS_VEC_H
#define HALLBUS_VEC_H

#include <stddef.h>
#include <stdlib.h>

/* `v` and `raw_` are one pointer: raw_ lets the functions below reallocate
 * any vector without knowing T (a union, so no cast between pointer types). */
#define HB_VEC(T)                                                                                  \
    struct {                                                                                       \
        union {                                                                                    \
            T *v;                                                                                  \
            void *raw_;                                                                            \
        };                                                                                         \
        size_t n, cap, max;                                                                        \
    }

/* An empty vector that may hold up to `max_` elements (max_ > 0). */
#define HB_VEC_INIT(max_)                                                                          \
    {                                                                                              \
        .max = (max_)                                                                              \
    }

/* Room for `need` elements in all: 0, HB_ETOOBIG past the maximum,
 * HB_ENOMEM (the vector is unchanged on failure). */
#define hb_vec_reserve(vec, need)                                                                  \
    hb_vec__reserve(&(vec)->raw_, &(vec)->cap, (need), sizeof *(vec)->v, (vec)->max)

/* Appends one zeroed element and returns it; NULL when full or without
 * memory (hb_vec_full tells which). */
#define hb_vec_push(vec)                                                                           \
    hb_vec__push(&(vec)->raw_, &(vec)->n, &(vec)->cap, sizeof *(vec)->v, (vec)->max)

/* Appends a copy of the element `valp` points to: 0, HB_ETOOBIG when the
 * vector holds its maximum, HB_ENOMEM (the vector is unchanged on
 * failure). `*valp` must be of the elements' type and width: another does
 * not compile (the assignment and the array of -1 chars in the sizeofs are
 * never run). */
#define hb_vec_append(vec, valp)                                                                   \
    hb_vec__append(&(vec)->raw_, &(vec)->n, &(vec)->cap, sizeof *(vec)->v, (vec)->max,             \
                   (valp) + 0 * sizeof(*(vec)->v = *(valp)) +                                      \
                       0 * sizeof(char[sizeof *(valp) == sizeof *(vec)->v ? 1 : -1]))

/* Element `i`, growing the vector (zeroed) until it has i + 1 elements;
 * NULL when `i` is past the maximum or without memory. An element that
 * exists is reached without a call: tables by hall number are read per
 * message. */
#define hb_vec_at(vec, i)                                                                          \
    hb_vec__at_inline(&(vec)->raw_, &(vec)->n, &(vec)->cap, (i), sizeof *(vec)->v, (vec)->max)

/* Whether the vector holds its maximum. */
#define hb_vec_full(vec) ((vec)->n >= (vec)->max)

/* Frees the elements (not what they point to); the vector is empty and
 * keeps its maximum. */
#define hb_vec_free(vec) hb_vec__free(&(vec)->raw_, &(vec)->n, &(vec)->cap)

/* For a vector of pointers it owns (a table of halls by number, a list of
 * names): free() on each element, then hb_vec_free. A loop in the macro,
 * not a function, since only the macro knows the elements' pointer type. */
#define hb_vec_free_owned(vec)                                                                     \
    do {                                                                                           \
        for (size_t hb_vec_i_ = 0; hb_vec_i_ < (vec)->n; hb_vec_i_++)                              \
            free((vec)->v[hb_vec_i_]);                                                             \
        hb_vec_free(vec);                                                                          \
    } while (0)

/* The same reservation for an array kept as a pointer and its room outside
 * an HB_VEC, where a public struct's layout is read by others (the
 * reducer's state): room for `need` elements of `elem` bytes, at most
 * `max`. 0, HB_ETOOBIG, HB_ENOMEM (the array is unchanged on failure). */
int hb_array_reserve(void **arr, size_t *cap, size_t need, size_t elem, size_t max);

int hb_vec__reserve(void **raw, size_t *cap, size_t need, size_t elem, size_t max);
void *hb_vec__push(void **raw, size_t *n, size_t *cap, size_t elem, size_t max);
int hb_vec__append(void **raw, size_t *n, size_t *cap, size_t elem, size_t max, const void *val);
void *hb_vec__at(void **raw, size_t *n, size_t *cap, size_t i, size_t elem, size_t max);
void hb_vec__free(void **raw, size_t *n, size_t *cap);

static inline void *hb_vec__at_inline(void **raw, size_t *n, size_t *cap, size_t i, size_t elem,
                                      size_t max)
{
    if (i < *n)
        return (char *)*raw + i * elem;
    return hb_vec__at(raw, n, cap, i, elem, max);
}

#endif
