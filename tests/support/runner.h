/* The one main() of the test executables: a test file defines its tests
 * with HBT_TEST and nothing else, and tests/support/runner.c runs them in
 * the order of the file as one cmocka group, each in the file's fixture.
 * Not for what a test checks: only how it is listed and run, written once
 * instead of a main() and a list of names in every file.
 *
 *   #define HBT_FIXTURE s_setup, s_teardown   (before the first HBT_TEST;
 *                                              NULL, NULL when there is none;
 *                                              a third: *state for the setup)
 *   HBT_TEST(test_round_trip) { ... }         (state is `void **state`)
 *   HBT_TEST_IN(test_plain, NULL, NULL) { }   (a test in another fixture)
 *   HBT_GROUP(s_start, s_stop);               (cmocka's group setup, teardown)
 *   HBT_BEFORE(s_prepare);                    (runs once before the tests)
 *
 * A test file that keeps its own main() is linked without runner.c. */
#ifndef HB_TEST_RUNNER_H
#define HB_TEST_RUNNER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

typedef struct hbt_test {
    const char *name;
    CMUnitTestFunction fn;
    CMFixtureFunction setup, teardown;
    void *initial; /* what the setup finds in *state (a world's spec) */
    int line;      /* the file's order */
} hbt_test_t;

typedef struct hbt_group {
    CMFixtureFunction setup, teardown;
} hbt_group_t;

typedef void (*hbt_before_fn)(void);

/* Each entry is a pointer in a section of its own (a linker set): the
 * runner finds them between the linker's __start_ and __stop_ symbols. */
#define HBT__SET(set, type, var, ...)                                                              \
    static const type var##_v = __VA_ARGS__;                                                       \
    static const type *const var##_p __attribute__((used, section(set))) = &var##_v

#define HBT_TEST_STATE(name, setup, teardown, initial)                                             \
    static void name(void **state);                                                                \
    HBT__SET("hbt_tests", hbt_test_t, hbt__t_##name,                                               \
             {#name, name, setup, teardown, (void *)(initial), __LINE__});                         \
    static void name(void **state)

#define HBT_TEST_IN(name, setup, teardown) HBT_TEST_STATE(name, setup, teardown, NULL)

/* HBT_FIXTURE is "setup, teardown" or "setup, teardown, initial state". */
#define HBT_TEST(name) HBT__TEST1(name, HBT_FIXTURE)
#define HBT__TEST1(name, ...) HBT__TEST2(name, __VA_ARGS__, NULL, NULL)
#define HBT__TEST2(name, setup, teardown, initial, ...)                                            \
    HBT_TEST_STATE(name, setup, teardown, initial)

#define HBT_GROUP(setup, teardown)                                                                 \
    HBT__SET("hbt_groups", hbt_group_t, hbt__group, {setup, teardown})

#define HBT_BEFORE(fn) HBT__SET("hbt_befores", hbt_before_fn, hbt__before_##fn, fn)

#endif
