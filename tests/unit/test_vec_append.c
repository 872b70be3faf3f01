/* Unit tests of hb_vec_append (common/base/vec.c), the push-and-copy that
 * HQ's organisation and calendar check fill their index lists with: each
 * value lands in order, a vector at its maximum refuses with HB_ETOOBIG
 * and stays as it was, and an element wider than a word is copied whole.
 * The rest of the vector is tested in test_idmap.c. */
#include "hallbus/error.h"
#include "hallbus/vec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

HBT_TEST_IN(test_append_rows, NULL, NULL)
{
    (void)state;
    /* Each row: the value appended and what the call answers on a vector
     * of at most three. */
    static const struct {
        uint32_t v;
        int rc;
    } rows[] = {{7, 0}, {0, 0}, {UINT32_MAX, 0}, {9, HB_ETOOBIG}, {10, HB_ETOOBIG}};
    HB_VEC(uint32_t) l = HB_VEC_INIT(3);
    size_t kept = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int rc = hb_vec_append(&l, &rows[r].v);
        if (rc != rows[r].rc)
            fail_msg("row %zu (%u): %d, not %d", r, rows[r].v, rc, rows[r].rc);
        kept += rc == 0;
        if (l.n != kept)
            fail_msg("row %zu: %zu elements, not %zu", r, l.n, kept);
    }
    for (size_t i = 0; i < kept; i++)
        assert_int_equal(l.v[i], rows[i].v);
    hb_vec_free(&l);
}

HBT_TEST_IN(test_append_copies_a_whole_record, NULL, NULL)
{
    (void)state;
    typedef struct {
        uint64_t a;
        char name[24];
        int16_t b;
    } rec_t;
    HB_VEC(rec_t) l = HB_VEC_INIT(8);
    const rec_t one = {UINT64_MAX - 1, "first record", -3};
    const rec_t two = {5, "second", 12};
    assert_int_equal(hb_vec_append(&l, &one), 0);
    assert_int_equal(hb_vec_append(&l, &two), 0);
    assert_int_equal(l.n, 2);
    assert_memory_equal(&l.v[0], &one, sizeof one);
    assert_memory_equal(&l.v[1], &two, sizeof two);
    hb_vec_free(&l);
}
