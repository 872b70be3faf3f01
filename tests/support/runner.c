/* The main() of every test file written with runner.h: the file's tests,
 * found in the linker set, sorted back into the order of the file and run
 * as one cmocka group. SIGPIPE is ignored for all of them, since tests talk
 * to servers that may close first. Not for anything a test checks. */
#include "runner.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

extern const hbt_test_t *const __start_hbt_tests[] __attribute__((weak));
extern const hbt_test_t *const __stop_hbt_tests[] __attribute__((weak));
extern const hbt_group_t *const __start_hbt_groups[] __attribute__((weak));
extern const hbt_group_t *const __stop_hbt_groups[] __attribute__((weak));
extern const hbt_before_fn *const __start_hbt_befores[] __attribute__((weak));
extern const hbt_before_fn *const __stop_hbt_befores[] __attribute__((weak));

static int s_by_line(const void *a, const void *b)
{
    const hbt_test_t *x = *(const hbt_test_t *const *)a, *y = *(const hbt_test_t *const *)b;
    return (x->line > y->line) - (x->line < y->line);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* Through pointers: the sets are empty (the weak symbols NULL) in a file
     * that has no such entry. */
    const hbt_before_fn *const *b0 = __start_hbt_befores, *const *b1 = __stop_hbt_befores;
    const hbt_test_t *const *t0 = __start_hbt_tests, *const *t1 = __stop_hbt_tests;
    const hbt_group_t *const *g0 = __start_hbt_groups, *const *g1 = __stop_hbt_groups;
    for (const hbt_before_fn *const *b = b0; b && b < b1; b++)
        (**b)();
    size_t n = t0 ? (size_t)(t1 - t0) : 0;
    const hbt_test_t **order = malloc((n ? n : 1) * sizeof *order);
    struct CMUnitTest *tests = calloc(n ? n : 1, sizeof *tests);
    if (!order || !tests) {
        fprintf(stderr, "out of memory listing %zu tests\n", n);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = t0[i];
    qsort(order, n, sizeof *order, s_by_line);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = order[i]->name;
        tests[i].test_func = order[i]->fn;
        tests[i].setup_func = order[i]->setup;
        tests[i].teardown_func = order[i]->teardown;
        tests[i].initial_state = order[i]->initial;
    }
    const hbt_group_t *g = g0 && g0 < g1 ? g0[0] : NULL;
    int failed =
        _cmocka_run_group_tests("tests", tests, n, g ? g->setup : NULL, g ? g->teardown : NULL);
    free(tests);
    free(order);
    return failed;
}
