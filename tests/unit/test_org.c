/* Unit tests of hqd/control/org.c, the organisation: a region tree and hall
 * registry read from JSON and written back; every refusal of a bad tree or
 * hall with its reason; lookups, chains and stable indexes; adding and
 * replacing regions and halls one at a time; scope resolution with regions,
 * halls and tags, and its refusals (unknown names, outside the owner,
 * reaching no hall). */
#include "org.h"

#include "hallbus/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"

/* CN -> P1 (C11, C12), P2 (C21); halls in C11, C12 and C21; C22 is empty. */
static const char *s_org_text =
    "{\"regions\": ["
    " {\"id\": \"C11\", \"name\": \"Harbour City\", \"level\": \"city\", \"parent\": \"P1\"},"
    " {\"id\": \"CN\", \"name\": \"Head office\", \"level\": \"national\"},"
    " {\"id\": \"P1\", \"name\": \"North\", \"level\": \"province\", \"parent\": \"CN\"},"
    " {\"id\": \"C12\", \"name\": \"Hill Town\", \"level\": \"city\", \"parent\": \"P1\"},"
    " {\"id\": \"P2\", \"name\": \"South\", \"level\": \"province\", \"parent\": \"CN\"},"
    " {\"id\": \"C21\", \"name\": \"Bay\", \"level\": \"city\", \"parent\": \"P2\"},"
    " {\"id\": \"C22\", \"name\": \"Dunes\", \"level\": \"city\", \"parent\": \"P2\"}],"
    " \"halls\": ["
    " {\"id\": \"H1\", \"city\": \"C11\", \"name\": \"Main Street\", \"tags\": [\"flagship\", "
    "\"24h-self-service\"],"
    "  \"neighbours\": [\"H2\"]},"
    " {\"id\": \"H2\", \"city\": \"C11\", \"tags\": [\"rural\"]},"
    " {\"id\": \"H3\", \"city\": \"C12\"},"
    " {\"id\": \"H4\", \"city\": \"C21\", \"tags\": [\"flagship\"]},"
    " {\"id\": \"H5\", \"city\": \"C21\", \"tags\": [\"rural\", \"sme\"]}]}";

/* The fixture with `path` (regions[i] / halls[i]) member `key` set to the
 * JSON `value` (NULL deletes it). */
static json_t *s_doc_with(const char *list, size_t i, const char *key, const char *value)
{
    json_t *doc = hbt_json(s_org_text);
    json_t *e = json_array_get(json_object_get(doc, list), i);
    assert_non_null(e);
    if (value)
        json_object_set_new(e, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(e, key);
    return doc;
}

static void s_refused(json_t *doc, int want_rc, const char *want)
{
    org_t *org = NULL;
    char err[256] = "";
    int rc = org_from_json(doc, &org, err, sizeof err);
    if (rc != want_rc || strcmp(err, want) != 0)
        fail_msg("wanted %d \"%s\", got %d \"%s\"", want_rc, want, rc, err);
    assert_null(org);
    json_decref(doc);
}

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_load_and_lookups)
{
    (void)state;
    org_t *org = hbt_org(s_org_text);
    assert_int_equal(org_region_count(org), 7);
    assert_int_equal(org_hall_count(org), 5);
    assert_string_equal(org_root(org)->id, "CN");

    /* Indexes follow the document, whatever the order of parents. */
    const org_region_t *c11 = org_region_find(org, "C11");
    assert_non_null(c11);
    assert_int_equal(c11->index, 0);
    assert_int_equal(c11->level, ORG_CITY);
    assert_string_equal(c11->name, "Harbour City");
    assert_string_equal(org_region_at(org, (uint32_t)c11->parent)->id, "P1");
    assert_null(org_region_find(org, "P9"));
    assert_null(org_region_at(org, 7));

    const org_hall_t *h1 = org_hall_find(org, "H1");
    assert_non_null(h1);
    assert_int_equal(h1->index, 0);
    assert_string_equal(h1->name, "Main Street");
    assert_int_equal(h1->n_tags, 2);
    assert_string_equal(org_tag_name(org, h1->tags[1]), "24h-self-service");
    assert_int_equal(h1->n_neighbours, 1);
    assert_string_equal(h1->neighbours[0], "H2");
    assert_int_equal(org_hall_find(org, "H5")->index, 4);
    assert_null(org_hall_find(org, "H6"));
    assert_ptr_equal(org_hall_at(org, 3), org_hall_find(org, "H4"));
    assert_null(org_hall_at(org, 5));

    const uint32_t *in_city = NULL;
    assert_int_equal(org_city_halls(org, c11, &in_city), 2);
    assert_int_equal(in_city[0], 0);
    assert_int_equal(in_city[1], 1);
    assert_int_equal(org_city_halls(org, org_region_find(org, "C22"), &in_city), 0);
    assert_int_equal(org_city_halls(org, org_region_find(org, "P1"), &in_city), 0);

    const org_region_t *chain[3];
    assert_int_equal(org_hall_chain(org, "H5", chain), 0);
    assert_string_equal(chain[0]->id, "C21");
    assert_string_equal(chain[1]->id, "P2");
    assert_string_equal(chain[2]->id, "CN");
    assert_int_equal(org_hall_chain(org, "H9", chain), HB_ENOTFOUND);

    assert_true(org_region_contains(org, org_root(org), c11));
    assert_true(org_region_contains(org, org_region_find(org, "P1"), c11));
    assert_true(org_region_contains(org, c11, c11));
    assert_false(org_region_contains(org, org_region_find(org, "P2"), c11));
    assert_false(org_region_contains(org, c11, org_region_find(org, "P1")));
    assert_string_equal(org_level_name(ORG_PROVINCE), "province");

    /* Out and in again: the same document, the same indexes. */
    json_t *out = org_to_json(org);
    org_t *again = NULL;
    assert_int_equal(org_from_json(out, &again, NULL, 0), 0);
    json_t *out2 = org_to_json(again);
    assert_true(json_equal(out, out2));
    assert_int_equal(org_hall_find(again, "H4")->index, 3);
    assert_int_equal(org_region_find(again, "C21")->index, org_region_find(org, "C21")->index);
    json_t *h2 = org_hall_to_json(org, org_hall_find(org, "H2"));
    json_t *want = hbt_json("{\"id\": \"H2\", \"city\": \"C11\", \"tags\": [\"rural\"],"
                            " \"neighbours\": []}");
    assert_true(json_equal(h2, want));
    json_decref(want);
    json_decref(h2);
    json_decref(out);
    json_decref(out2);
    org_destroy(&again);
    org_destroy(&org);
    assert_null(org);
    org_destroy(&org);
}

/* The fixture with one member of regions[i] or halls[i] changed (NULL:
 * deleted), and the refusal it meets. */
static const struct {
    const char *list;
    size_t i;
    const char *key, *value, *want;
} s_changes[] = {
    /* The regions: members, ids, levels, parents; a city straight under the
     * root, a province under a province, a city under a city. */
    {"regions", 2, "colour", "\"red\"", "regions[2].colour: unknown member"},
    {"regions", 2, "id", "\"P 1\"", "regions[2].id: \"P 1\" is not an id ([A-Za-z0-9_-]{1,64})"},
    {"regions", 2, "name", NULL, "regions[2].name: missing"},
    {"regions", 2, "name", "7", "regions[2].name: must be a string"},
    {"regions", 2, "level", "\"state\"",
     "regions[2].level: must be one of national, province, city"},
    {"regions", 3, "id", "\"C11\"", "regions[3].id: \"C11\" already given as regions[0]"},
    {"regions", 0, "parent", "\"P9\"", "regions[0].parent: unknown region \"P9\""},
    {"regions", 1, "parent", "\"P1\"", "regions[1].parent: the national region has no parent"},
    {"regions", 2, "parent", NULL,
     "regions[2].parent: missing (a province sits under the national region)"},
    {"regions", 0, "parent", "\"CN\"",
     "regions[0].parent: a city's parent must be a province, \"CN\" is the national region"},
    {"regions", 4, "parent", "\"P1\"",
     "regions[4].parent: a province's parent must be the national region, \"P1\" is a province"},
    {"regions", 5, "parent", "\"C11\"",
     "regions[5].parent: a city's parent must be a province, \"C11\" is a city"},
    /* The halls: members, ids, cities, tags, neighbours, names. */
    {"halls", 1, "colour", "\"red\"", "halls[1].colour: unknown member"},
    {"halls", 1, "id", "\"H/2\"", "halls[1].id: \"H/2\" is not an id ([A-Za-z0-9_-]{1,32})"},
    {"halls", 1, "id", "\"H123456789012345678901234567890123\"",
     "halls[1].id: \"H123456789012345678901234567890123\" is not an id ([A-Za-z0-9_-]{1,32})"},
    {"halls", 1, "id", "\"H1\"", "halls[1].id: \"H1\" given twice"},
    {"halls", 1, "city", NULL, "halls[1].city: missing"},
    {"halls", 1, "city", "\"C99\"", "halls[1].city: unknown region \"C99\""},
    {"halls", 1, "city", "\"P1\"",
     "halls[1].city: \"P1\" is a province region; a hall belongs to a city"},
    {"halls", 1, "city", "\"CN\"",
     "halls[1].city: \"CN\" is a national region; a hall belongs to a city"},
    {"halls", 1, "tags", "[\"Rural\"]", "halls[1].tags[0]: must match [a-z0-9_-]{1,32}"},
    {"halls", 1, "tags", "[\"a\", \"b\", \"a\"]", "halls[1].tags[2]: \"a\" listed twice"},
    {"halls", 1, "tags", "\"rural\"", "halls[1].tags: must be an array of strings"},
    {"halls", 1, "tags",
     "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\","
     "\"m\",\"n\",\"o\",\"p\",\"q\"]",
     "halls[1].tags: 17 entries, at most 16"},
    {"halls", 1, "neighbours", "[\"H2\"]",
     "halls[1].neighbours[0]: a hall is not its own neighbour"},
    {"halls", 1, "neighbours", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]",
     "halls[1].neighbours: 9 entries, at most 8"},
    {"halls", 1, "name", "\"\"", "halls[1].name: must be 1..200 bytes of text"},
};

/* Every change of s_changes made to list `list`, refused. */
static void s_changes_refused(const char *list)
{
    size_t n = 0;
    for (size_t k = 0; k < sizeof s_changes / sizeof s_changes[0]; k++) {
        if (strcmp(s_changes[k].list, list) != 0)
            continue;
        s_refused(s_doc_with(list, s_changes[k].i, s_changes[k].key, s_changes[k].value), HB_EINVAL,
                  s_changes[k].want);
        n++;
    }
    assert_true(n > 0);
}

HBT_TEST(test_tree_refusals)
{
    (void)state;
    s_refused(hbt_json("[]"), HB_EINVAL, "organisation: must be an object {regions, halls}");
    s_refused(hbt_json("{\"regions\": [], \"owners\": []}"), HB_EINVAL,
              "organisation.owners: unknown member");
    s_refused(hbt_json("{\"halls\": []}"), HB_EINVAL, "regions: missing");
    s_refused(hbt_json("{\"regions\": []}"), HB_EINVAL,
              "regions: no national region (the tree needs exactly one root)");
    s_changes_refused("regions");
    /* Two provinces that are each other's parent, and a region its own. */
    json_t *doc = s_doc_with("regions", 2, "parent", "\"P2\"");
    json_object_set_new(json_array_get(json_object_get(doc, "regions"), 4), "parent",
                        json_string("P1"));
    s_refused(doc, HB_EINVAL,
              "regions[0].parent: the parents of \"C11\" run in a cycle through \"P1\"");
    s_refused(s_doc_with("regions", 4, "parent", "\"P2\""), HB_EINVAL,
              "regions[4].parent: the parents of \"P2\" run in a cycle through \"P2\"");
    /* A second root. */
    doc = hbt_json(s_org_text);
    json_array_append_new(
        json_object_get(doc, "regions"),
        hbt_json("{\"id\": \"CN2\", \"name\": \"Other\", \"level\": \"national\"}"));
    s_refused(doc, HB_EINVAL, "regions[7].level: a second national region (\"CN\" is the root)");
}

HBT_TEST(test_hall_refusals)
{
    (void)state;
    s_changes_refused("halls");
    json_t *doc = hbt_json(s_org_text);
    json_object_set_new(doc, "halls", json_object());
    s_refused(doc, HB_EINVAL, "halls: must be an array");
}

/* A hall's address (for the neighbour board): optional, kept, written
 * back, replaced with the hall, and bounded; plus the lookups by index the
 * board's rounds use (chain and children) agreeing with those by id. */
HBT_TEST(test_address_and_index_lookups)
{
    (void)state;
    json_t *doc = s_doc_with("halls", 1, "address", "\"12 Quay Road, Harbour \u6e2f\"");
    org_t *org = NULL;
    char err[256] = "";
    assert_int_equal(org_from_json(doc, &org, err, sizeof err), 0);
    json_decref(doc);
    const org_hall_t *h2 = org_hall_find(org, "H2");
    assert_string_equal(h2->address, "12 Quay Road, Harbour \xe6\xb8\xaf");
    assert_null(org_hall_find(org, "H1")->address);
    json_t *back = org_to_json(org);
    json_t *again = json_array_get(json_object_get(back, "halls"), 1);
    assert_string_equal(json_string_value(json_object_get(again, "address")),
                        "12 Quay Road, Harbour \xe6\xb8\xaf");
    assert_null(json_object_get(json_array_get(json_object_get(back, "halls"), 0), "address"));
    json_decref(back);
    json_t *j = hbt_json("{\"id\": \"H2\", \"city\": \"C12\", \"address\": \"1 Hill Lane\"}");
    assert_int_equal(org_put_hall(org, j, err, sizeof err), 0);
    json_decref(j);
    assert_string_equal(org_hall_find(org, "H2")->address, "1 Hill Lane");
    j = hbt_json("{\"id\": \"H2\", \"city\": \"C12\"}");
    assert_int_equal(org_put_hall(org, j, err, sizeof err), 0);
    json_decref(j);
    assert_null(org_hall_find(org, "H2")->address);
    /* By index, the same chain as by id; the root's children its provinces. */
    for (size_t i = 0; i < org_hall_count(org); i++) {
        const org_hall_t *h = org_hall_at(org, (uint32_t)i);
        const org_region_t *by_id[3], *by_index[3];
        assert_int_equal(org_hall_chain(org, h->id, by_id), 0);
        assert_int_equal(org_hall_chain_at(org, h, by_index), 0);
        for (int k = 0; k < 3; k++)
            assert_ptr_equal(by_id[k], by_index[k]);
    }
    const uint32_t *children = NULL;
    assert_int_equal(org_region_children(org, org_root(org), &children), 2);
    assert_string_equal(org_region_at(org, children[0])->id, "P1");
    assert_string_equal(org_region_at(org, children[1])->id, "P2");
    assert_int_equal(org_region_children(org, org_region_find(org, "C22"), &children), 0);
    org_destroy(&org);

    char longest[ORG_ADDRESS_MAX + 3];
    memset(longest, 'a', sizeof longest);
    longest[0] = '"';
    longest[ORG_ADDRESS_MAX + 1] = '"';
    longest[ORG_ADDRESS_MAX + 2] = '\0';
    doc = s_doc_with("halls", 1, "address", longest);
    assert_int_equal(org_from_json(doc, &org, err, sizeof err), 0); /* 200 bytes: the bound */
    json_decref(doc);
    org_destroy(&org);
    char too_long[ORG_ADDRESS_MAX + 4];
    memset(too_long, 'a', sizeof too_long);
    too_long[0] = '"';
    too_long[ORG_ADDRESS_MAX + 2] = '"';
    too_long[ORG_ADDRESS_MAX + 3] = '\0';
    s_refused(s_doc_with("halls", 1, "address", too_long), HB_EINVAL,
              "halls[1].address: must be 1..200 bytes of text");
    s_refused(s_doc_with("halls", 1, "address", "\"\""), HB_EINVAL,
              "halls[1].address: must be 1..200 bytes of text");
    s_refused(s_doc_with("halls", 1, "address", "[\"1 Main St\"]"), HB_EINVAL,
              "halls[1].address: must be a string");
}

typedef int (*put_fn)(org_t *org, const json_t *obj, char *err, size_t errlen);

/* `put` (org_put_region, org_put_hall) of the object `text` answers `rc`
 * and, when `want` is given, that reason. */
static void s_put(put_fn put, org_t *org, const char *text, int rc, const char *want)
{
    json_t *j = hbt_json(text);
    char err[256] = "";
    int got = put(org, j, err, sizeof err);
    json_decref(j);
    if (got != rc || (want && strcmp(err, want) != 0))
        fail_msg("%s: wanted %d \"%s\", got %d \"%s\"", text, rc, want ? want : "", got, err);
}

HBT_TEST(test_put)
{
    (void)state;
    org_t *org = org_new();
    char err[256] = "";
    uint64_t gen = org_generation(org);

    /* Parents first, one at a time, as an API would add them. */
    const char *p1 =
        "{\"id\": \"P1\", \"name\": \"North\", \"level\": \"province\", \"parent\": \"CN\"}";
    s_put(org_put_region, org, p1, HB_EINVAL, "region.parent: unknown region \"CN\"");
    json_t *root = hbt_json("{\"id\": \"CN\", \"name\": \"HQ\", \"level\": \"national\"}");
    assert_int_equal(org_put_region(org, root, err, sizeof err), 0);
    s_put(org_put_region, org, p1, 0, NULL);
    assert_true(org_generation(org) > gen);
    s_put(org_put_region, org, "{\"id\": \"CN2\", \"name\": \"HQ2\", \"level\": \"national\"}",
          HB_EINVAL, "region.level: there is one national region, \"CN\"");
    s_put(org_put_region, org,
          "{\"id\": \"C1\", \"name\": \"One\", \"level\": \"city\", \"parent\": \"CN\"}", HB_EINVAL,
          "region.parent: a city's parent must be a province, \"CN\" is the national region");
    s_put(org_put_region, org,
          "{\"id\": \"C1\", \"name\": \"One\", \"level\": \"city\", \"parent\": \"P1\"}", 0, NULL);
    s_put(org_put_region, org,
          "{\"id\": \"P2\", \"name\": \"South\", \"level\": \"province\", \"parent\": \"CN\"}", 0,
          NULL);
    s_put(org_put_region, org,
          "{\"id\": \"C2\", \"name\": \"Two\", \"level\": \"city\", \"parent\": \"P2\"}", 0, NULL);
    /* Renaming is fine; moving is not. */
    s_put(org_put_region, org,
          "{\"id\": \"C1\", \"name\": \"Uno\", \"level\": \"city\", \"parent\": \"P1\"}", 0, NULL);
    assert_string_equal(org_region_find(org, "C1")->name, "Uno");
    json_t *j =
        hbt_json("{\"id\": \"C1\", \"name\": \"Uno\", \"level\": \"city\", \"parent\": \"P2\"}");
    assert_int_equal(org_put_region(org, j, err, sizeof err), HB_ECONFLICT);
    assert_non_null(strstr(err, "\"C1\" exists as a city under P1"));
    json_decref(j);
    assert_int_equal(org_put_region(org, root, err, sizeof err), 0); /* the same root again */
    json_decref(root);

    /* Halls: added, then one moved and retagged, keeping its index. */
    s_put(org_put_hall, org, "{\"id\": \"H1\", \"city\": \"C1\", \"tags\": [\"flagship\"]}", 0,
          NULL);
    s_put(org_put_hall, org, "{\"id\": \"H2\", \"city\": \"C1\"}", 0, NULL);
    s_put(org_put_hall, org, "{\"id\": \"H3\", \"city\": \"C2\"}", 0, NULL);
    s_put(org_put_hall, org, "{\"id\": \"H9\", \"city\": \"P1\"}", HB_EINVAL,
          "hall.city: \"P1\" is a province region; a hall belongs to a city");
    gen = org_generation(org);
    s_put(org_put_hall, org, "{\"id\": \"H1\", \"city\": \"C2\", \"tags\": [\"rural\"]}", 0, NULL);
    assert_true(org_generation(org) > gen);
    const org_hall_t *h1 = org_hall_find(org, "H1");
    assert_int_equal(h1->index, 0);
    assert_string_equal(org_region_at(org, h1->city)->id, "C2");
    assert_string_equal(org_tag_name(org, h1->tags[0]), "rural");
    const uint32_t *in = NULL;
    assert_int_equal(org_city_halls(org, org_region_find(org, "C1"), &in), 1);
    assert_int_equal(in[0], 1);
    assert_int_equal(org_city_halls(org, org_region_find(org, "C2"), &in), 2);
    assert_int_equal(in[0], 0); /* kept in index order */
    assert_int_equal(in[1], 2);
    assert_int_equal(org_hall_count(org), 3);
    org_destroy(&org);
}

HBT_TEST(test_many_halls)
{
    (void)state;
    /* Enough halls and tags to grow every table a few times. */
    org_t *org = hbt_org(s_org_text);
    char err[256] = "";
    for (int i = 0; i < 3000; i++) {
        char text[160];
        snprintf(text, sizeof text, "{\"id\": \"X%d\", \"city\": \"%s\", \"tags\": [\"t%d\"]}", i,
                 i % 2 ? "C12" : "C22", i % 700);
        json_t *j = hbt_json(text);
        assert_int_equal(org_put_hall(org, j, err, sizeof err), 0);
        json_decref(j);
    }
    assert_int_equal(org_hall_count(org), 3005);
    assert_int_equal(org_hall_find(org, "X2999")->index, 3004);
    assert_int_equal(org_bitset_words(org), 47);
    const uint32_t *in = NULL;
    assert_int_equal(org_city_halls(org, org_region_find(org, "C22"), &in), 1500);
    org_destroy(&org);
}

static org_scope_t *s_scope(const char *text)
{
    json_t *j = hbt_json(text);
    org_scope_t *s = NULL;
    char err[256] = "";
    if (org_scope_parse(j, "scope", &s, err, sizeof err) != 0)
        fail_msg("scope %s refused: %s", text, err);
    json_decref(j);
    return s;
}

/* Resolves and returns the halls as "H1,H3,..." in index order. */
static int s_resolve(const org_t *org, const char *owner, const char *scope_text, char *halls,
                     size_t len, char *err, size_t errlen)
{
    org_scope_t *s = s_scope(scope_text);
    uint64_t bits[4] = {~0ULL, ~0ULL, ~0ULL, ~0ULL}; /* cleared by the call */
    size_t count = 99;
    int rc = org_scope_resolve(org, owner, s, bits, 4, &count, err, errlen);
    org_scope_destroy(&s);
    halls[0] = '\0';
    if (rc != 0) {
        assert_int_equal(count, 0);
        return rc;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < org_hall_count(org); i++) {
        if (!org_bit_test(bits, i))
            continue;
        size_t used = strlen(halls);
        snprintf(halls + used, len - used, "%s%s", n ? "," : "", org_hall_at(org, i)->id);
        n++;
    }
    assert_int_equal(count, n);
    assert_int_equal(org_bitset_count(bits, 4), n);
    return 0;
}

/* Resolves `scope` for `owner`: it must reach `halls` ("H1,H3"), or, when
 * `halls` is NULL, be refused with exactly `refused`. */
static void s_expect_scope(const org_t *org, const char *owner, const char *scope,
                           const char *halls, const char *refused)
{
    char got[256], err[256] = "";
    int rc = s_resolve(org, owner, scope, got, sizeof got, err, sizeof err);
    if (halls ? rc != 0 || strcmp(got, halls) != 0 : rc != HB_EINVAL || strcmp(err, refused) != 0)
        fail_msg("%s %s: wanted %s \"%s\", got rc %d %s \"%s\"", owner, scope,
                 halls ? "halls" : "refusal", halls ? halls : refused, rc, halls ? "halls" : "err",
                 halls ? got : err);
}

/* Scopes of campaigns owned by a region: the halls each reaches, or the
 * reason it is refused. */
static const struct {
    const char *owner, *scope, *halls, *refused;
} s_scopes[] = {
    /* Nothing listed: the whole owner region. */
    {"CN", "{}", "H1,H2,H3,H4,H5", NULL},
    {"P1", "{}", "H1,H2,H3", NULL},
    {"C21", "{\"regions\": [], \"halls\": []}", "H4,H5", NULL},
    /* Regions transitively, halls one by one, the union of both. */
    {"CN", "{\"regions\": [\"P2\"]}", "H4,H5", NULL},
    {"CN", "{\"regions\": [\"C12\", \"P2\"]}", "H3,H4,H5", NULL},
    {"P1", "{\"halls\": [\"H2\"]}", "H2", NULL},
    {"CN", "{\"regions\": [\"C21\"], \"halls\": [\"H1\", \"H4\"]}", "H1,H4,H5", NULL},
    {"CN", "{\"regions\": [\"CN\"]}", "H1,H2,H3,H4,H5", NULL},
    /* Tags keep the halls with any of them. */
    {"CN", "{\"tags\": [\"flagship\"]}", "H1,H4", NULL},
    {"CN", "{\"tags\": [\"flagship\", \"sme\"]}", "H1,H4,H5", NULL},
    {"P2", "{\"tags\": [\"rural\"]}", "H5", NULL},
    {"CN", "{\"halls\": [\"H1\", \"H2\", \"H3\"], \"tags\": [\"rural\"]}", "H2", NULL},
    {"CN", "{\"tags\": [\"flagship\", \"no-such-tag\"]}", "H1,H4", NULL},
    /* Names that do not exist. */
    {"P9", "{}", NULL, "region: unknown region \"P9\""},
    {"CN", "{\"regions\": [\"P1\", \"X\"]}", NULL, "scope.regions[1]: unknown region \"X\""},
    {"CN", "{\"halls\": [\"H9\"]}", NULL, "scope.halls[0]: unknown hall \"H9\""},
    /* Outside the owner: a city campaign naming another city's hall, a
     * province campaign naming another province's city. */
    {"C11", "{\"halls\": [\"H1\", \"H3\"]}", NULL,
     "scope.halls[1]: hall \"H3\" (city C12) is outside the owner region \"C11\""},
    {"P1", "{\"regions\": [\"C21\"]}", NULL,
     "scope.regions[0]: region \"C21\" is outside the owner region \"P1\""},
    {"C11", "{\"regions\": [\"P1\"]}", NULL,
     "scope.regions[0]: region \"P1\" is outside the owner region \"C11\""},
    /* Reaching no hall. */
    {"C22", "{}", NULL, "scope: reaches no hall (the regions it names hold no hall yet)"},
    {"P2", "{\"regions\": [\"C22\"]}", NULL,
     "scope: reaches no hall (the regions it names hold no hall yet)"},
    {"P1", "{\"tags\": [\"sme\"]}", NULL,
     "scope.tags: no hall of the scope carries any of these tags"},
    {"CN", "{\"tags\": [\"no-such-tag\"]}", NULL,
     "scope.tags: no hall of the scope carries any of these tags"},
};

HBT_TEST(test_scope_resolution)
{
    (void)state;
    org_t *org = hbt_org(s_org_text);
    for (size_t k = 0; k < sizeof s_scopes / sizeof s_scopes[0]; k++)
        s_expect_scope(org, s_scopes[k].owner, s_scopes[k].scope, s_scopes[k].halls,
                       s_scopes[k].refused);

    /* A bitset too small for the org. */
    org_scope_t *s = s_scope("{}");
    uint64_t bits[1];
    char err[256];
    assert_int_equal(org_scope_resolve(org, "CN", s, bits, 0, NULL, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "scope: bitset of 0 words, the organisation needs 1");
    org_scope_destroy(&s);
    org_destroy(&org);
}

static void s_parse_refused(const char *text, const char *want)
{
    json_t *j = hbt_json(text);
    org_scope_t *s = NULL;
    char err[256] = "";
    int rc = org_scope_parse(j, "scope", &s, err, sizeof err);
    json_decref(j);
    if (rc != HB_EINVAL || strcmp(err, want) != 0)
        fail_msg("%s: wanted \"%s\", got rc %d \"%s\"", text, want, rc, err);
    assert_null(s);
}

HBT_TEST(test_scope_parse)
{
    (void)state;
    org_scope_t *s =
        s_scope("{\"regions\": [\"P1\"], \"halls\": [\"H1\", \"H2\"], \"tags\": [\"rural\"]}");
    assert_int_equal(s->n_regions, 1);
    assert_int_equal(s->n_halls, 2);
    assert_string_equal(s->halls[1], "H2");
    assert_int_equal(s->n_tags, 1);
    json_t *out = org_scope_to_json(s);
    hbt_assert_json_same(json_incref(out),
                         hbt_json("{\"regions\": [\"P1\"], \"halls\": [\"H1\", \"H2\"],"
                                  " \"tags\": [\"rural\"]}"));
    org_scope_t *copy = org_scope_copy(s);
    hbt_assert_json_same(out, org_scope_to_json(copy));
    org_scope_destroy(&copy);
    org_scope_destroy(&s);
    assert_null(s);
    org_scope_destroy(&s);

    s_parse_refused("[]", "scope: must be an object {regions, halls, tags}");
    s_parse_refused("{\"cities\": []}", "scope.cities: unknown member");
    s_parse_refused("{\"regions\": \"P1\"}", "scope.regions: must be an array of ids");
    s_parse_refused("{\"regions\": [\"P1\", \"P1\"]}", "scope.regions[1]: \"P1\" listed twice");
    s_parse_refused("{\"halls\": [\"H 1\"]}", "scope.halls[0]: must match [A-Za-z0-9_-]{1,32}");
    s_parse_refused("{\"halls\": [3]}", "scope.halls[0]: must match [A-Za-z0-9_-]{1,32}");
    s_parse_refused("{\"tags\": [\"Rural\"]}", "scope.tags[0]: must match [a-z0-9_-]{1,32}");
    s_parse_refused("{\"tags\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\","
                    "\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}",
                    "scope.tags: 17 entries, at most 16");
}
