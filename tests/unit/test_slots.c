/* Unit tests of hb_slots_grow (common/base/idmap.c), the slots the rollup
 * engine's cell and day indexes and the calendar check's hall groups probe
 * themselves: every element is found by a linear probe from its hash,
 * however many share a slot, through the first sizing and each doubling,
 * and a doubling past what a size_t counts leaves the slots as they were. The
 * callers' finds are tested with their modules. */
#include "hallbus/error.h"
#include "hallbus/idmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include <stdlib.h>

typedef struct {
    const uint64_t *hash;
} elems_t;

static uint64_t s_hash_at(const void *arg, size_t i) { return ((const elems_t *)arg)->hash[i]; }

/* Each element's index + 1 is in exactly one slot, reached from its hash
 * before an empty slot; no other slot is taken. */
static void s_check(const char *name, const uint32_t *slots, size_t cap, const uint64_t *hash,
                    size_t n)
{
    size_t taken = 0;
    for (size_t j = 0; j < cap; j++)
        taken += slots[j] != 0;
    if (taken != n)
        fail_msg("%s: %zu slots taken for %zu elements", name, taken, n);
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)hash[i] & (cap - 1);
        while (slots[j] && slots[j] != i + 1)
            j = (j + 1) & (cap - 1);
        if (slots[j] != i + 1)
            fail_msg("%s: element %zu not found from its hash", name, i);
    }
}

HBT_TEST_IN(test_grow_rows, NULL, NULL)
{
    (void)state;
    static const uint64_t same[] = {5, 5, 5, 5, 5, 5};
    static const uint64_t wrap[] = {7, 15, 23, 31, 6}; /* all at the last slot of 8 */
    static const uint64_t spread[] = {0, 1, 2, 3, 100, 101, 1u << 20};
    static const struct {
        const char *name;
        const uint64_t *hash;
        size_t n;
        size_t first_cap;
    } rows[] = {
        {"no elements", same, 0, 4},
        {"one hash for all", same, 6, 8},
        {"probes wrap past the end", wrap, 5, 8},
        {"spread hashes", spread, 7, 16},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        elems_t e = {rows[r].hash};
        uint32_t *slots = NULL;
        size_t cap = 0;
        /* The first sizing, then two doublings over the same elements. */
        for (size_t round = 0; round < 3; round++) {
            assert_int_equal(
                hb_slots_grow(&slots, &cap, rows[r].first_cap, rows[r].n, s_hash_at, &e), 0);
            if (cap != rows[r].first_cap << round)
                fail_msg("%s: round %zu gave %zu slots", rows[r].name, round, cap);
            s_check(rows[r].name, slots, cap, rows[r].hash, rows[r].n);
        }
        free(slots);
    }
}

HBT_TEST_IN(test_grow_past_size_t_keeps_the_slots, NULL, NULL)
{
    (void)state;
    static const uint64_t hash[] = {1, 2, 3};
    elems_t e = {hash};
    uint32_t *slots = NULL;
    size_t cap = 0;
    assert_int_equal(hb_slots_grow(&slots, &cap, 8, 3, s_hash_at, &e), 0);
    uint32_t *before = slots;
    /* Slots whose doubling would need more bytes than a size_t counts:
     * refused before calloc is asked (which under ASan would abort, not
     * answer NULL). The least such count, and the greatest. */
    static const size_t huge_caps[] = {SIZE_MAX / 2 / sizeof(uint32_t) + 1,
                                       (size_t)1 << (sizeof(size_t) * 8 - 1)};
    for (size_t k = 0; k < sizeof huge_caps / sizeof huge_caps[0]; k++) {
        size_t huge = huge_caps[k];
        cap = huge;
        assert_int_equal(hb_slots_grow(&slots, &cap, 8, 3, s_hash_at, &e), HB_ENOMEM);
        assert_ptr_equal(slots, before);
        assert_int_equal(cap, huge);
    }
    cap = 8;
    s_check("after a refusal", slots, cap, hash, 3);
    free(slots);
}
