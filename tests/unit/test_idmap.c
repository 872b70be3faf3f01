/* Unit tests of common/base/idmap.c and vec.c, the kit's id map and its
 * growable array: every answer is checked against a linear search over the
 * same records, through additions up to the maximum, removals that shift
 * keys back and swap-removes that renumber, for string keys and for
 * fixed-length byte keys with a seed. Not for the callers' tables: their
 * modules' tests run those. */
#include "hallbus/error.h"
#include "hallbus/idmap.h"
#include "hallbus/vec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

typedef struct rec {
    char id[16];
    uint32_t hits;
} rec_t;

typedef struct owner {
    HB_VEC(rec_t) recs;
    hb_idmap_t map;
} owner_t;

static const void *s_key(const void *owner, uint32_t i)
{
    return ((const owner_t *)owner)->recs.v[i].id;
}

static int32_t s_linear(const owner_t *o, const char *id)
{
    for (size_t i = 0; i < o->recs.n; i++) {
        if (strcmp(o->recs.v[i].id, id) == 0)
            return (int32_t)i;
    }
    return -1;
}

static void s_add(owner_t *o, const char *id)
{
    rec_t *r = hb_vec_push(&o->recs);
    assert_non_null(r);
    snprintf(r->id, sizeof r->id, "%s", id);
    assert_int_equal(hb_idmap_add(&o->map, o, (uint32_t)(o->recs.n - 1)), 0);
}

/* Removes `id` the way the callers do: out of the map, the last record
 * moved into its place and renumbered, the array shortened. */
static void s_swap_remove(owner_t *o, const char *id)
{
    int32_t i = hb_idmap_remove(&o->map, o, id);
    assert_int_equal(i, s_linear(o, id));
    size_t last = o->recs.n - 1;
    if ((size_t)i != last) {
        o->recs.v[i] = o->recs.v[last];
        assert_int_equal(hb_idmap_renumber(&o->map, o, o->recs.v[i].id, (uint32_t)i), 0);
    }
    o->recs.n--;
}

/* An owner of up to `recs_max` records and a map of up to `map_max`. */
static void s_owner_init(owner_t *o, size_t recs_max, size_t map_max)
{
    *o = (owner_t){.recs = HB_VEC_INIT(recs_max)};
    hb_idmap_init(&o->map, map_max, s_key);
}

static void s_owner_free(owner_t *o)
{
    hb_idmap_free(&o->map);
    hb_vec_free(&o->recs);
}

/* Adds (`add`) or removes the ids H00000 to H<upto - 1>, every `step`th. */
static void s_ids(owner_t *o, bool add, int upto, int step)
{
    char id[16];
    for (int k = 0; k < upto; k += step) {
        snprintf(id, sizeof id, "H%05d", k);
        if (add)
            s_add(o, id);
        else
            s_swap_remove(o, id);
    }
}

static void s_check_all(const owner_t *o, int upto)
{
    char id[16];
    for (int k = 0; k < upto; k++) {
        snprintf(id, sizeof id, "H%05d", k);
        assert_int_equal(hb_idmap_find(&o->map, o, id), s_linear(o, id));
    }
    assert_int_equal(o->map.n, o->recs.n);
}

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_strings_against_linear_search)
{
    (void)state;
    owner_t o;
    s_owner_init(&o, 20000, 20000);
    assert_int_equal(hb_idmap_find(&o.map, &o, "none"), -1); /* empty, nothing allocated */
    s_ids(&o, true, 10000, 2);
    s_check_all(&o, 10000);
    assert_true(o.map.cap >= 2 * o.map.n); /* at most half full */
    /* Remove every third: the rest stay reachable (backward shift). */
    s_ids(&o, false, 10000, 6);
    s_check_all(&o, 10000);
    assert_int_equal(hb_idmap_remove(&o.map, &o, "H00000"), -1);
    assert_int_equal(hb_idmap_renumber(&o.map, &o, "H00000", 0), HB_ENOTFOUND);
    /* Add back, with the slots the removals left. */
    s_ids(&o, true, 10000, 6);
    s_check_all(&o, 10000);
    s_owner_free(&o);
}

/* A rebuild holds exactly the records given, as a find by key says. */
HBT_TEST(test_rebuild)
{
    (void)state;
    owner_t o;
    s_owner_init(&o, 5000, 4000);
    s_ids(&o, true, 3000, 1);
    /* Drop the first thousand the way the reducer does (shift down), then
     * rebuild: the indexes moved, the map follows. */
    memmove(o.recs.v, o.recs.v + 1000, 2000 * sizeof *o.recs.v);
    o.recs.n = 2000;
    assert_int_equal(hb_idmap_rebuild(&o.map, &o, o.recs.n, 2500), 0);
    s_check_all(&o, 3000);
    assert_true(o.map.cap >= 5000);
    assert_int_equal(hb_idmap_rebuild_with(&o.map, &o, 10, 0, s_key), 0);
    o.recs.n = 10;
    s_check_all(&o, 3000);
    /* More records than the maximum: refused, and the map is left empty. */
    o.recs.n = 2000;
    hb_idmap_free(&o.map);
    hb_idmap_init(&o.map, 1000, s_key);
    assert_int_equal(hb_idmap_rebuild(&o.map, &o, 2000, 0), HB_ETOOBIG);
    assert_int_equal(hb_idmap_find(&o.map, &o, "H01500"), -1);
    s_owner_free(&o);
}

HBT_TEST(test_maximum_and_reserve)
{
    (void)state;
    owner_t o;
    s_owner_init(&o, 100, 3);
    s_add(&o, "a");
    s_add(&o, "b");
    s_add(&o, "c");
    rec_t *r = hb_vec_push(&o.recs);
    snprintf(r->id, sizeof r->id, "d");
    assert_int_equal(hb_idmap_add(&o.map, &o, 3), HB_ETOOBIG);
    assert_int_equal(hb_idmap_find(&o.map, &o, "d"), -1);
    assert_int_equal(o.map.n, 3);
    /* Reserve grows for what is asked, and shrinks no lower than what is held. */
    assert_int_equal(hb_idmap_reserve(&o.map, &o, 1000), 0);
    assert_int_equal(o.map.cap, 2048);
    assert_int_equal(hb_idmap_reserve(&o.map, &o, 0), 0);
    assert_int_equal(o.map.cap, 16);
    assert_int_equal(hb_idmap_find(&o.map, &o, "b"), 1);
    hb_idmap_clear(&o.map);
    assert_int_equal(hb_idmap_find(&o.map, &o, "b"), -1);
    hb_idmap_free(&o.map);
    hb_idmap_free(&o.map); /* idempotent */
    hb_vec_free(&o.recs);
}

/* Byte keys of one length; records hold them at an offset. */
typedef struct addr {
    uint8_t key[16];
} addr_t;

static const void *s_addr_key(const void *owner, uint32_t i)
{
    return ((const addr_t *)owner)[i].key;
}

HBT_TEST(test_byte_keys_with_seed)
{
    (void)state;
    enum { N = 3000 };
    addr_t *a = calloc(N, sizeof *a);
    assert_non_null(a);
    hb_idmap_t m1, m2;
    hb_idmap_init_bytes(&m1, N, 16, 1, s_addr_key);
    hb_idmap_init_bytes(&m2, N, 16, 0xfeedfacecafebeefULL, s_addr_key);
    for (uint32_t i = 0; i < N; i++) {
        /* Keys that differ in one byte only: NUL bytes are part of them. */
        a[i].key[10] = 0xff;
        a[i].key[12] = (uint8_t)(i >> 8);
        a[i].key[15] = (uint8_t)i;
        assert_int_equal(hb_idmap_add(&m1, a, i), 0);
        assert_int_equal(hb_idmap_add(&m2, a, i), 0);
    }
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(hb_idmap_find(&m1, a, a[i].key), (int32_t)i);
        assert_int_equal(hb_idmap_find(&m2, a, a[i].key), (int32_t)i);
    }
    uint8_t other[16] = {0};
    assert_int_equal(hb_idmap_find(&m1, a, other), -1);
    /* The seed moves keys: the two tables do not lay them out alike. */
    assert_int_equal(m1.cap, m2.cap);
    size_t same = 0;
    for (size_t s = 0; s < m1.cap; s++)
        same += m1.slots[s] != 0 && m1.slots[s] == m2.slots[s];
    assert_true(same < N / 4);
    hb_idmap_free(&m1);
    hb_idmap_free(&m2);
    free(a);
}

HBT_TEST(test_hash_definition)
{
    (void)state;
    /* FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c; byte keys add the final mix
     * h ^= h >> 32, h *= golden, h ^= h >> 29, worked out here by hand. */
    uint64_t h = 0xaf63dc4c8601ec8cULL;
    assert_true(hb_hash_str("a", 0) == h);
    assert_true(hb_hash_str("a", 1) != h);
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    assert_true(hb_hash_bytes("a", 1, 0) == h);
    assert_true(hb_hash_bytes("a", 1, 1) != h);
}

HBT_TEST(test_vec)
{
    (void)state;
    HB_VEC(uint32_t) v = HB_VEC_INIT(40);
    for (uint32_t i = 0; i < 40; i++) {
        uint32_t *p = hb_vec_push(&v);
        assert_non_null(p);
        assert_int_equal(*p, 0);
        *p = i * 3;
    }
    assert_true(hb_vec_full(&v));
    assert_null(hb_vec_push(&v));
    assert_int_equal(v.n, 40);
    assert_int_equal(v.cap, 40); /* room stops at the maximum */
    assert_int_equal(hb_vec_reserve(&v, 41), HB_ETOOBIG);
    for (uint32_t i = 0; i < 40; i++)
        assert_int_equal(v.v[i], i * 3);
    /* Shortened, then pushed: the element comes back zeroed. */
    v.n = 10;
    assert_int_equal(*(uint32_t *)hb_vec_push(&v), 0);
    hb_vec_free(&v);
    assert_null(v.v);
    assert_int_equal(v.max, 40);

    /* A table by number: elements up to the index appear, zeroed. */
    HB_VEC(uint64_t) t = HB_VEC_INIT(1000);
    uint64_t *e = hb_vec_at(&t, 500);
    assert_non_null(e);
    assert_int_equal(t.n, 501);
    *e = 7;
    for (size_t i = 0; i < 500; i++)
        assert_int_equal(t.v[i], 0);
    e = hb_vec_at(&t, 500);
    assert_int_equal(*e, 7);
    assert_null(hb_vec_at(&t, 1000));
    assert_int_equal(t.n, 501);
    hb_vec_free(&t);
}
