/* The organisation as head office sees it: the region tree (one national
 * root, provinces under it, cities under provinces) and the hall registry
 * (each hall in a city, with tags and neighbours), plus scope resolution: a
 * campaign's {"regions", "halls", "tags"} turned into the set of halls it
 * reaches, as a bitset over dense hall indexes.
 *
 * Pure and in memory: loading from and saving to storage, and the HTTP API,
 * sit on top of the JSON functions here. Not here: policies (policy.h, which
 * uses org_hall_chain for inheritance), enrolment keys (cert.h, zap.h), the
 * link's per-hall counters (halls.h). An org_t is not thread-safe; readers
 * and the one writer share it under the caller's lock. */
#ifndef HQD_ORG_H
#define HQD_ORG_H

#include "hallbus/ids.h" /* HB_HALL_ID_MAX, hb_id_chars_ok */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORG_REGION_ID_MAX 65 /* [A-Za-z0-9_-]{1,64} and its NUL */
#define ORG_NAME_MAX 200     /* a region's or hall's name, bytes */
#define ORG_ADDRESS_MAX 200  /* a hall's address, bytes */
#define ORG_TAG_MAX 33       /* [a-z0-9_-]{1,32} and its NUL */
#define ORG_HALL_TAGS_MAX 16
#define ORG_NEIGHBOURS_MAX 8
#define ORG_REGIONS_MAX 20000
#define ORG_HALLS_MAX 200000
#define ORG_TAGS_MAX 4096 /* distinct tags over all halls */
#define ORG_SCOPE_REGIONS_MAX 512
#define ORG_SCOPE_HALLS_MAX 2000
#define ORG_SCOPE_TAGS_MAX 16

typedef enum org_level {
    ORG_NATIONAL = 0,
    ORG_PROVINCE = 1,
    ORG_CITY = 2,
} org_level_t;

/* A region. `index` is dense (0 .. org_region_count - 1) and stable for the
 * life of the org_t. */
typedef struct org_region {
    char id[ORG_REGION_ID_MAX];
    char *name;
    org_level_t level;
    int32_t parent; /* index of the parent region, -1 for the national root */
    uint32_t index;
} org_region_t;

/* A hall. `index` is dense (0 .. org_hall_count - 1) and stable for the
 * life of the org_t: bitsets of halls are indexed by it. Tags are kept as
 * numbers in the org's tag dictionary (org_tag_name), since many halls share
 * few tags and scope resolution compares numbers, not strings. */
typedef struct org_hall {
    char id[HB_HALL_ID_MAX];
    char *name;    /* NULL when the registry has none */
    char *address; /* where it is, for people (the neighbour board); NULL when none */
    uint32_t index;
    uint32_t city; /* region index of its city */
    uint8_t n_tags;
    uint16_t tags[ORG_HALL_TAGS_MAX];
    uint8_t n_neighbours;
    char (*neighbours)[HB_HALL_ID_MAX]; /* need not be registered (yet) */
} org_hall_t;

typedef struct org org_t;

/* An empty organisation; NULL when out of memory. */
org_t *org_new(void);
void org_destroy(org_t **org);

/* ---- JSON in and out
 *
 *   {"regions": [{"id": "CN", "name": "Head office", "level": "national"},
 *                {"id": "P01", "name": "North", "level": "province", "parent": "CN"},
 *                {"id": "C001", "name": "Harbour City", "level": "city", "parent": "P01"}],
 *    "halls": [{"id": "H001", "city": "C001", "name": "Main Street",
 *               "address": "1 Main Street, Harbour City",
 *               "tags": ["flagship", "24h-self-service"], "neighbours": ["H002"]}]}
 *
 * "name" and "address" of a hall (1..200 bytes of text each), "tags" and
 * "neighbours" are optional; a region has
 * "parent" exactly when it is not national. */

/* A whole organisation from its document, regions in any order. Refused
 * (HB_EINVAL, `err` naming the member by path, e.g. "regions[4].parent:
 * unknown region \"P9\""): an unknown member, a wrong type, a bad id, an id
 * twice, an unknown parent, a cycle of parents, a province whose parent is
 * not the root or a city whose parent is not a province, no or two national
 * regions, a hall whose city is unknown or not a city, a bad or repeated tag
 * or neighbour, too many of anything (HB_ETOOBIG). */
int org_from_json(const json_t *doc, org_t **out, char *err, size_t errlen);
/* The organisation as a document (new reference; NULL on ENOMEM):
 * org_from_json of it gives an equal org with the same indexes. */
json_t *org_to_json(const org_t *org);

/* Adds one region (its parent must exist already), or renames an existing
 * one given with the same level and parent. Moving a region or changing its
 * level is refused with HB_ECONFLICT: rebuild the org from its document
 * instead, since hall indexes would not move with it. */
int org_put_region(org_t *org, const json_t *region, char *err, size_t errlen);
/* Adds one hall (enrolment places it in a city), or replaces the one with
 * that id (moving it, retagging it); either way its index stays. */
int org_put_hall(org_t *org, const json_t *hall, char *err, size_t errlen);
/* One region or hall as its JSON member of the document (new reference). */
json_t *org_region_to_json(const org_t *org, const org_region_t *r);
json_t *org_hall_to_json(const org_t *org, const org_hall_t *h);

/* ---- lookups (hash by id; pointers valid until the next put) */
const org_region_t *org_region_find(const org_t *org, const char *id);
const org_region_t *org_region_at(const org_t *org, uint32_t index);
size_t org_region_count(const org_t *org);
/* The name of tag number `tag` of a hall, or NULL. */
const char *org_tag_name(const org_t *org, uint16_t tag);
/* The national root, or NULL while there is none. */
const org_region_t *org_root(const org_t *org);
const org_hall_t *org_hall_find(const org_t *org, const char *id);
const org_hall_t *org_hall_at(const org_t *org, uint32_t index);
size_t org_hall_count(const org_t *org);
/* The halls of a city, as hall indexes in increasing order (`*out` points
 * into the org); 0 for a region that is not a city. */
size_t org_city_halls(const org_t *org, const org_region_t *city, const uint32_t **out);
/* Whether `inner` is `outer` or lies under it. */
bool org_region_contains(const org_t *org, const org_region_t *outer, const org_region_t *inner);
/* A hall's chain for policy inheritance: chain[0] its city, chain[1] the
 * province, chain[2] the national root. Returns 0, or HB_ENOTFOUND. */
int org_hall_chain(const org_t *org, const char *hall_id, const org_region_t *chain[3]);
/* The same for a hall already at hand (no lookup by id); always 0. */
int org_hall_chain_at(const org_t *org, const org_hall_t *h, const org_region_t *chain[3]);
/* A region's child regions, as region indexes (`*out` points into the org). */
size_t org_region_children(const org_t *org, const org_region_t *r, const uint32_t **out);
/* Bumped by every successful put: whatever is derived from hall indexes or
 * scopes (a cached bitset, a slice) is stale when this has moved. */
uint64_t org_generation(const org_t *org);

const char *org_level_name(org_level_t level); /* "national", "province", "city" */

/* A filter over halls a list takes (the caller's scope): whether it keeps
 * the hall of index `index` (-1: a hall the organisation does not place).
 * Lists take NULL for every hall. */
typedef bool (*org_hall_pred_fn)(int32_t index, void *arg);
/* The same over regions, by index. */
typedef bool (*org_region_pred_fn)(uint32_t index, void *arg);

/* ---- bitsets of halls: bit i is the hall of index i */

/* The words (uint64_t) a bitset over the org's halls needs. */
size_t org_bitset_words(const org_t *org);
static inline bool org_bit_test(const uint64_t *bits, uint32_t i)
{
    return (bits[i >> 6] >> (i & 63)) & 1u;
}
static inline void org_bit_set(uint64_t *bits, uint32_t i)
{
    bits[i >> 6] |= (uint64_t)1 << (i & 63);
}
size_t org_bitset_count(const uint64_t *bits, size_t words);

/* ---- scopes
 *
 *   {"regions": ["P01"], "halls": ["H900"], "tags": ["flagship", "rural"]}
 *
 * Each member is optional (missing = empty). The base is the halls of the
 * listed regions, transitively, plus the listed halls; with both lists
 * empty, every hall under the owner region. Non-empty tags then keep the
 * halls carrying at least one of them. */
typedef struct org_scope {
    size_t n_regions;
    char (*regions)[ORG_REGION_ID_MAX];
    size_t n_halls;
    char (*halls)[HB_HALL_ID_MAX];
    size_t n_tags;
    char (*tags)[ORG_TAG_MAX];
} org_scope_t;

/* Reads a scope strictly (ids well-formed, none twice, the bounds above);
 * no org is needed. `path` prefixes member paths in `err` ("scope").
 * Returns 0 and a new scope, or HB_EINVAL / HB_ENOMEM. */
int org_scope_parse(const json_t *j, const char *path, org_scope_t **out, char *err, size_t errlen);
/* The scope as JSON (new reference), every member present. */
json_t *org_scope_to_json(const org_scope_t *s);
/* A deep copy; NULL on ENOMEM. */
org_scope_t *org_scope_copy(const org_scope_t *s);
void org_scope_destroy(org_scope_t **s);

/* The halls `scope` reaches for a campaign owned by region `owner`, into
 * `bits` (`words` >= org_bitset_words; cleared first), and how many in
 * `*count` (may be NULL). Refused with HB_EINVAL and `err` ("scope.halls[2]:
 * hall \"H7\" (city C2) is outside the owner region \"C1\""): an unknown
 * owner, region or hall, a region or hall outside the owner, a scope that
 * reaches no hall. */
int org_scope_resolve(const org_t *org, const char *owner, const org_scope_t *scope, uint64_t *bits,
                      size_t words, size_t *count, char *err, size_t errlen);

#endif
