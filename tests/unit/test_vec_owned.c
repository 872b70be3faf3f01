/* Unit tests of hb_vec_free_owned (common/include/hallbus/vec.h), the free
 * of a vector of pointers it owns (HQ's halls by number, the trend's halls,
 * the organisation's tags): every element is given back (ASan's leak check
 * is the witness), an empty slot (NULL) is allowed, and the vector is left
 * empty with its maximum, ready to be filled again. */
#include "hallbus/vec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runner.h"

HBT_TEST_IN(test_free_owned_rows, NULL, NULL)
{
    (void)state;
    /* Each row: how many elements, and which of them is an empty slot
     * (-1: none), as a table by number leaves where no hall was given one. */
    static const struct {
        size_t n;
        int empty;
    } rows[] = {{0, -1}, {1, -1}, {5, -1}, {5, 0}, {5, 4}, {64, 17}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        HB_VEC(char *) l = HB_VEC_INIT(64);
        for (size_t i = 0; i < rows[r].n; i++) {
            char **slot = hb_vec_push(&l);
            if (!slot)
                fail_msg("row %zu: no room for element %zu", r, i);
            if ((int)i != rows[r].empty) {
                *slot = malloc(32);
                assert_non_null(*slot);
                snprintf(*slot, 32, "element %zu", i);
            }
        }
        hb_vec_free_owned(&l);
        if (l.n != 0 || l.cap != 0 || l.v != NULL || l.max != 64)
            fail_msg("row %zu: left n %zu cap %zu max %zu", r, l.n, l.cap, l.max);
        /* Usable again, as hb_vec_free leaves it. */
        char **again = hb_vec_push(&l);
        assert_non_null(again);
        assert_null(*again);
        hb_vec_free(&l);
    }
}
