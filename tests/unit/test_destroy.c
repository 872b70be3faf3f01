/* Unit tests of HB_DESTROY (common/include/hallbus/destroy.h), the one way
 * hallbus's destructors destroy through the owner's pointer: nothing to do
 * for a NULL pointer or object, the owner's pointer cleared before the
 * finaliser runs, the finaliser run once with the object, and the object
 * freed (ASan's leak check sees the memory go). */
#include "hallbus/destroy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runner.h"

typedef struct thing {
    char *name; /* owned: the finaliser frees it */
    int id;
} thing_t;

/* What the finaliser saw, for the tests to compare. */
static struct {
    int calls;
    int last_id;
    thing_t **owner;      /* the owner's pointer, looked at from inside */
    thing_t *owner_seen;  /* what it held while the finaliser ran */
    thing_t **again_from; /* destroy through this again from inside */
} s_seen;

static void s_thing_destroy(thing_t **tp);

static void s_fini(thing_t *t)
{
    s_seen.calls++;
    s_seen.last_id = t->id;
    if (s_seen.owner)
        s_seen.owner_seen = *s_seen.owner;
    if (s_seen.again_from)
        s_thing_destroy(s_seen.again_from);
    free(t->name);
}

static void s_thing_destroy(thing_t **tp) { HB_DESTROY(tp, s_fini); }

static thing_t *s_thing(int id)
{
    thing_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->id = id;
    t->name = malloc(16);
    assert_non_null(t->name);
    return t;
}

static int s_reset(void **state)
{
    (void)state;
    memset(&s_seen, 0, sizeof s_seen);
    return 0;
}

#define HBT_FIXTURE s_reset, NULL

HBT_TEST(test_nothing_to_do)
{
    (void)state;
    /* Each row: a destroy that must not call the finaliser. */
    thing_t *none = NULL;
    thing_t **rows[] = {NULL, &none};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        s_thing_destroy(rows[r]);
        if (s_seen.calls != 0)
            fail_msg("row %zu: the finaliser ran %d time(s)", r, s_seen.calls);
    }
    assert_null(none);
}

HBT_TEST(test_runs_once_then_clears_and_frees)
{
    (void)state;
    thing_t *t = s_thing(41);
    s_thing_destroy(&t);
    assert_null(t);
    assert_int_equal(s_seen.calls, 1);
    assert_int_equal(s_seen.last_id, 41);
    /* Idempotent: the owner's pointer is NULL now. */
    s_thing_destroy(&t);
    assert_int_equal(s_seen.calls, 1);
}

HBT_TEST(test_owner_cleared_before_the_finaliser)
{
    (void)state;
    thing_t *t = s_thing(7);
    s_seen.owner = &t;
    s_seen.owner_seen = (thing_t *)&s_seen; /* anything but NULL */
    s_thing_destroy(&t);
    assert_int_equal(s_seen.calls, 1);
    assert_null(s_seen.owner_seen);
    assert_null(t);
}

HBT_TEST(test_destroy_from_inside_the_finaliser_is_nothing)
{
    (void)state;
    /* A callback the finaliser sets off that destroys the same object
     * through its owner finds NULL: no second finaliser, no double free. */
    thing_t *t = s_thing(9);
    s_seen.again_from = &t;
    s_thing_destroy(&t);
    assert_int_equal(s_seen.calls, 1);
    assert_null(t);
}
