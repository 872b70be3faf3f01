/* The organisation (see org.h): regions and halls in dense arrays (the
 * kit's vectors), found by id through the kit's id maps, with each city's
 * halls and each region's children kept as index lists so that a scope
 * resolves in time proportional to the halls it reaches, not to the whole
 * registry.
 *
 * Nothing is ever removed from an org_t, which keeps indexes stable; a
 * storage layer that retires a hall rebuilds the org from its document. */
#include "org.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/idmap.h"
#include "hallbus/json.h"
#include "hallbus/names.h"
#include "hallbus/vec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A list of indexes: a region's child regions, a city's halls. */
typedef HB_VEC(uint32_t) idlist_t;

struct org {
    HB_VEC(org_region_t) regions;
    HB_VEC(idlist_t) children;   /* per region: its child regions */
    HB_VEC(idlist_t) city_halls; /* per region: its halls (cities only) */
    HB_VEC(org_hall_t) halls;
    HB_VEC(char *) tags; /* tag names by number */
    hb_idmap_t region_map, hall_map, tag_map;
    int32_t root;
    uint64_t generation;
};

static const void *s_region_key(const void *org, uint32_t i)
{
    return ((const org_t *)org)->regions.v[i].id;
}

static const void *s_hall_key(const void *org, uint32_t i)
{
    return ((const org_t *)org)->halls.v[i].id;
}

static const void *s_tag_key(const void *org, uint32_t i)
{
    return ((const org_t *)org)->tags.v[i];
}

static const char *const s_level_names[] = {"national", "province", "city"};

/* ------------------------------------------------------------ helpers ---- */

/* Inserts keeping the list in increasing order (a hall moved into a city
 * keeps its older, smaller index). */
static int s_list_insert_sorted(idlist_t *l, uint32_t v)
{
    if (hb_vec_reserve(l, l->n + 1) != 0)
        return HB_ENOMEM;
    size_t i = l->n;
    while (i > 0 && l->v[i - 1] > v) {
        l->v[i] = l->v[i - 1];
        i--;
    }
    l->v[i] = v;
    l->n++;
    return 0;
}

static void s_list_remove(idlist_t *l, uint32_t v)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i] == v) {
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
            l->n--;
            return;
        }
    }
}

/* An id ([A-Za-z0-9_-]{1,max}); tags are lower case only. */
static bool s_id_ok(const char *s, size_t max, bool lower_only)
{
    if (!hb_id_chars_ok(s, max, NULL))
        return false;
    for (size_t i = 0; lower_only && s[i]; i++) {
        if (s[i] >= 'A' && s[i] <= 'Z')
            return false;
    }
    return true;
}

/* A string member: `required`, 1..max bytes, no NUL inside. */
static int s_string(const json_t *obj, const char *name, bool required, size_t max,
                    const char *path, const char **out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v) {
        if (!required)
            return 0;
        hb_errf(err, errlen, "%s.%s: missing", path, name);
        return HB_EINVAL;
    }
    if (!json_is_string(v)) {
        hb_errf(err, errlen, "%s.%s: must be a string", path, name);
        return HB_EINVAL;
    }
    size_t n = json_string_length(v);
    if (n == 0 || n > max || strlen(json_string_value(v)) != n) {
        hb_errf(err, errlen, "%s.%s: must be 1..%zu bytes of text", path, name, max);
        return HB_EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

/* An id member of [A-Za-z0-9_-]{1,max}. */
static int s_id_member(const json_t *obj, const char *name, bool required, size_t max,
                       const char *path, const char **out, char *err, size_t errlen)
{
    int rc = s_string(obj, name, required, 1000, path, out, err, errlen);
    if (rc != 0 || !*out)
        return rc;
    if (!s_id_ok(*out, max, false)) {
        hb_errf(err, errlen, "%s.%s: \"%s\" is not an id ([A-Za-z0-9_-]{1,%zu})", path, name, *out,
                max);
        return HB_EINVAL;
    }
    return 0;
}

HB_NAMES_NAMER(org_level_name, org_level_t, s_level_names)
static HB_NAMES_PARSER(s_level_parse, org_level_t, s_level_names)

    /* ---------------------------------------------------------- lifetime ---- */

    org_t *org_new(void)
{
    org_t *org = calloc(1, sizeof *org);
    if (!org)
        return NULL;
    org->regions.max = org->children.max = org->city_halls.max = ORG_REGIONS_MAX;
    org->halls.max = ORG_HALLS_MAX;
    org->tags.max = ORG_TAGS_MAX;
    hb_idmap_init(&org->region_map, ORG_REGIONS_MAX, s_region_key);
    hb_idmap_init(&org->hall_map, ORG_HALLS_MAX, s_hall_key);
    hb_idmap_init(&org->tag_map, ORG_TAGS_MAX, s_tag_key);
    org->root = -1;
    return org;
}

static void s_org_fini(org_t *org)
{
    for (size_t i = 0; i < org->regions.n; i++) {
        free(org->regions.v[i].name);
        hb_vec_free(&org->children.v[i]);
        hb_vec_free(&org->city_halls.v[i]);
    }
    for (size_t i = 0; i < org->halls.n; i++) {
        free(org->halls.v[i].name);
        free(org->halls.v[i].address);
        free(org->halls.v[i].neighbours);
    }
    hb_vec_free(&org->regions);
    hb_vec_free(&org->children);
    hb_vec_free(&org->city_halls);
    hb_vec_free(&org->halls);
    hb_vec_free_owned(&org->tags);
    hb_idmap_free(&org->region_map);
    hb_idmap_free(&org->hall_map);
    hb_idmap_free(&org->tag_map);
}

void org_destroy(org_t **org_p) { HB_DESTROY(org_p, s_org_fini); }

/* ----------------------------------------------------------- regions ---- */

/* A region document read but not yet placed: its parent is still an id. */
typedef struct region_doc {
    const char *id, *name, *parent;
    org_level_t level;
} region_doc_t;

static int s_region_read(const json_t *j, const char *path, region_doc_t *d, char *err,
                         size_t errlen)
{
    static const char *const members[] = {"id", "name", "level", "parent", NULL};
    int rc = hb_json_object_known(j, members, NULL, path, NULL, "{id, name, level, parent}", err,
                                  errlen);
    if (rc == 0)
        rc = s_id_member(j, "id", true, ORG_REGION_ID_MAX - 1, path, &d->id, err, errlen);
    if (rc == 0)
        rc = s_string(j, "name", true, ORG_NAME_MAX, path, &d->name, err, errlen);
    const char *level = NULL;
    if (rc == 0)
        rc = s_string(j, "level", true, 32, path, &level, err, errlen);
    if (rc == 0 && s_level_parse(level, &d->level) != 0) {
        hb_errf(err, errlen, "%s.level: must be one of national, province, city", path);
        rc = HB_EINVAL;
    }
    if (rc == 0)
        rc = s_id_member(j, "parent", false, ORG_REGION_ID_MAX - 1, path, &d->parent, err, errlen);
    if (rc != 0)
        return rc;
    if (d->level == ORG_NATIONAL && d->parent) {
        hb_errf(err, errlen, "%s.parent: the national region has no parent", path);
        return HB_EINVAL;
    }
    if (d->level != ORG_NATIONAL && !d->parent) {
        hb_errf(err, errlen, "%s.parent: missing (a %s sits under %s)", path,
                s_level_names[d->level],
                d->level == ORG_PROVINCE ? "the national region" : "a province");
        return HB_EINVAL;
    }
    return 0;
}

/* Whether `level` may sit under `parent` (NULL for no parent). */
static int s_nesting_ok(const org_t *org, org_level_t level, const org_region_t *parent,
                        const char *path, char *err, size_t errlen)
{
    if (level == ORG_NATIONAL)
        return 0;
    org_level_t want = level == ORG_PROVINCE ? ORG_NATIONAL : ORG_PROVINCE;
    if (parent->level != want) {
        hb_errf(err, errlen, "%s.parent: a %s's parent must be %s, \"%s\" is %s", path,
                s_level_names[level], want == ORG_NATIONAL ? "the national region" : "a province",
                parent->id,
                parent->level == ORG_NATIONAL   ? "the national region"
                : parent->level == ORG_PROVINCE ? "a province"
                                                : "a city");
        return HB_EINVAL;
    }
    return 0;
}

/* Appends a region with no parent link yet. */
static int s_region_append(org_t *org, const region_doc_t *d, uint32_t *index)
{
    /* children and city_halls are parallel to regions and grow with them. */
    size_t n = org->regions.n;
    if (hb_vec_reserve(&org->regions, n + 1) != 0 || hb_vec_reserve(&org->children, n + 1) != 0 ||
        hb_vec_reserve(&org->city_halls, n + 1) != 0)
        return HB_ENOMEM;
    char *name = strdup(d->name);
    if (!name)
        return HB_ENOMEM;
    uint32_t i = (uint32_t)n;
    org_region_t *r = hb_vec_push(&org->regions);
    snprintf(r->id, sizeof r->id, "%s", d->id);
    r->name = name;
    r->level = d->level;
    r->parent = -1;
    r->index = i;
    *(idlist_t *)hb_vec_push(&org->children) = (idlist_t)HB_VEC_INIT(ORG_REGIONS_MAX);
    *(idlist_t *)hb_vec_push(&org->city_halls) = (idlist_t)HB_VEC_INIT(ORG_HALLS_MAX);
    if (hb_idmap_add(&org->region_map, org, i) != 0) {
        org->regions.n--;
        org->children.n--;
        org->city_halls.n--;
        free(name);
        return HB_ENOMEM;
    }
    *index = i;
    return 0;
}

int org_put_region(org_t *org, const json_t *j, char *err, size_t errlen)
{
    region_doc_t d = {0};
    int rc = s_region_read(j, "region", &d, err, errlen);
    if (rc != 0)
        return rc;
    int32_t parent = -1;
    if (d.parent) {
        parent = hb_idmap_find(&org->region_map, org, d.parent);
        if (parent < 0) {
            hb_errf(err, errlen, "region.parent: unknown region \"%s\"", d.parent);
            return HB_EINVAL;
        }
    }
    int32_t have = hb_idmap_find(&org->region_map, org, d.id);
    if (have >= 0) {
        org_region_t *r = &org->regions.v[have];
        if (r->level != d.level || r->parent != parent) {
            hb_errf(err, errlen,
                    "region: \"%s\" exists as a %s%s%s; a region's level and parent do not change "
                    "(rebuild the organisation to move it)",
                    d.id, s_level_names[r->level], r->parent >= 0 ? " under " : "",
                    r->parent >= 0 ? org->regions.v[r->parent].id : "");
            return HB_ECONFLICT;
        }
        char *name = strdup(d.name);
        if (!name)
            return hb_err_nomem(err, errlen);
        free(r->name);
        r->name = name;
        org->generation++;
        return 0;
    }
    if (d.level == ORG_NATIONAL && org->root >= 0) {
        hb_errf(err, errlen, "region.level: there is one national region, \"%s\"",
                org->regions.v[org->root].id);
        return HB_EINVAL;
    }
    if (d.level != ORG_NATIONAL) {
        rc = s_nesting_ok(org, d.level, &org->regions.v[parent], "region", err, errlen);
        if (rc != 0)
            return rc;
    }
    if (org->regions.n >= ORG_REGIONS_MAX) {
        hb_errf(err, errlen, "region: the organisation holds at most %d regions", ORG_REGIONS_MAX);
        return HB_ETOOBIG;
    }
    uint32_t i = 0;
    if (s_region_append(org, &d, &i) != 0)
        return hb_err_nomem(err, errlen);
    org->regions.v[i].parent = parent;
    if (parent >= 0 && hb_vec_append(&org->children.v[parent], &i) != 0)
        return hb_err_nomem(err, errlen);
    if (d.level == ORG_NATIONAL)
        org->root = (int32_t)i;
    org->generation++;
    return 0;
}

/* ------------------------------------------------------------- halls ---- */

static int s_tag_number(org_t *org, const char *name, uint16_t *out)
{
    int32_t t = hb_idmap_find(&org->tag_map, org, name);
    if (t >= 0) {
        *out = (uint16_t)t;
        return 0;
    }
    if (hb_vec_full(&org->tags))
        return HB_ETOOBIG;
    char *copy = strdup(name);
    char **slot = copy ? hb_vec_push(&org->tags) : NULL;
    if (!slot) {
        free(copy);
        return HB_ENOMEM;
    }
    *slot = copy;
    if (hb_idmap_add(&org->tag_map, org, (uint32_t)(org->tags.n - 1)) != 0) {
        org->tags.n--;
        free(copy);
        return HB_ENOMEM;
    }
    *out = (uint16_t)(org->tags.n - 1);
    return 0;
}

/* A hall document checked against the org, ready to store. */
typedef struct hall_doc {
    const char *id, *name, *address;
    uint32_t city;
    size_t n_tags;
    const char *tags[ORG_HALL_TAGS_MAX];
    size_t n_neighbours;
    const char *neighbours[ORG_NEIGHBOURS_MAX];
} hall_doc_t;

static int s_name_list(const json_t *j, const char *name, size_t max_n, size_t max_len,
                       bool lower_only, const char *path, const char **out, size_t *n_out,
                       char *err, size_t errlen)
{
    const json_t *a = json_object_get(j, name);
    *n_out = 0;
    if (!a)
        return 0;
    if (!json_is_array(a)) {
        hb_errf(err, errlen, "%s.%s: must be an array of strings", path, name);
        return HB_EINVAL;
    }
    if (json_array_size(a) > max_n) {
        hb_errf(err, errlen, "%s.%s: %zu entries, at most %zu", path, name, json_array_size(a),
                max_n);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        const char *s = json_string_value(v);
        if (!json_is_string(v) || strlen(s) != json_string_length(v) ||
            !s_id_ok(s, max_len, lower_only)) {
            hb_errf(err, errlen, "%s.%s[%zu]: must match %s{1,%zu}", path, name, i,
                    lower_only ? "[a-z0-9_-]" : "[A-Za-z0-9_-]", max_len);
            return HB_EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(out[k], s) == 0) {
                hb_errf(err, errlen, "%s.%s[%zu]: \"%s\" listed twice", path, name, i, s);
                return HB_EINVAL;
            }
        }
        out[i] = s;
        *n_out = i + 1;
    }
    return 0;
}

static int s_hall_read(const org_t *org, const json_t *j, const char *path, hall_doc_t *d,
                       char *err, size_t errlen)
{
    static const char *const members[] = {"id",   "city",       "name", "address",
                                          "tags", "neighbours", NULL};
    const char *city = NULL;
    int rc = hb_json_object_known(j, members, NULL, path, NULL, "{id, city, tags, neighbours}", err,
                                  errlen);
    if (rc == 0)
        rc = s_id_member(j, "id", true, HB_HALL_ID_LEN, path, &d->id, err, errlen);
    if (rc == 0)
        rc = s_id_member(j, "city", true, ORG_REGION_ID_MAX - 1, path, &city, err, errlen);
    if (rc == 0)
        rc = s_string(j, "name", false, ORG_NAME_MAX, path, &d->name, err, errlen);
    if (rc == 0)
        rc = s_string(j, "address", false, ORG_ADDRESS_MAX, path, &d->address, err, errlen);
    if (rc == 0)
        rc = s_name_list(j, "tags", ORG_HALL_TAGS_MAX, ORG_TAG_MAX - 1, true, path, d->tags,
                         &d->n_tags, err, errlen);
    if (rc == 0)
        rc = s_name_list(j, "neighbours", ORG_NEIGHBOURS_MAX, HB_HALL_ID_LEN, false, path,
                         d->neighbours, &d->n_neighbours, err, errlen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < d->n_neighbours; i++) {
        if (strcmp(d->neighbours[i], d->id) == 0) {
            hb_errf(err, errlen, "%s.neighbours[%zu]: a hall is not its own neighbour", path, i);
            return HB_EINVAL;
        }
    }
    int32_t c = hb_idmap_find(&org->region_map, org, city);
    if (c < 0) {
        hb_errf(err, errlen, "%s.city: unknown region \"%s\"", path, city);
        return HB_EINVAL;
    }
    if (org->regions.v[c].level != ORG_CITY) {
        hb_errf(err, errlen, "%s.city: \"%s\" is a %s region; a hall belongs to a city", path, city,
                s_level_names[org->regions.v[c].level]);
        return HB_EINVAL;
    }
    d->city = (uint32_t)c;
    return 0;
}

/* Stores `d` into hall `h` (new or replaced); on failure `h` is unchanged. */
static int s_hall_store(org_t *org, org_hall_t *h, const hall_doc_t *d)
{
    uint16_t tags[ORG_HALL_TAGS_MAX];
    for (size_t i = 0; i < d->n_tags; i++) {
        int rc = s_tag_number(org, d->tags[i], &tags[i]);
        if (rc != 0)
            return rc;
    }
    char *name = d->name ? strdup(d->name) : NULL;
    char *address = d->address ? strdup(d->address) : NULL;
    char(*nb)[HB_HALL_ID_MAX] = NULL;
    if (d->n_neighbours)
        nb = calloc(d->n_neighbours, sizeof *nb);
    if ((d->name && !name) || (d->address && !address) || (d->n_neighbours && !nb)) {
        free(name);
        free(address);
        free(nb);
        return HB_ENOMEM;
    }
    for (size_t i = 0; i < d->n_neighbours; i++)
        snprintf(nb[i], sizeof nb[i], "%s", d->neighbours[i]);
    free(h->name);
    free(h->address);
    free(h->neighbours);
    h->name = name;
    h->address = address;
    h->neighbours = nb;
    h->n_neighbours = (uint8_t)d->n_neighbours;
    h->n_tags = (uint8_t)d->n_tags;
    memcpy(h->tags, tags, d->n_tags * sizeof tags[0]);
    h->city = d->city;
    return 0;
}

/* Adds or replaces; `fresh_only` refuses an id already there (a document
 * lists each hall once). */
static int s_hall_put(org_t *org, const json_t *j, const char *path, bool fresh_only, char *err,
                      size_t errlen)
{
    hall_doc_t d = {0};
    int rc = s_hall_read(org, j, path, &d, err, errlen);
    if (rc != 0)
        return rc;
    int32_t have = hb_idmap_find(&org->hall_map, org, d.id);
    if (have >= 0) {
        if (fresh_only) {
            hb_errf(err, errlen, "%s.id: \"%s\" given twice", path, d.id);
            return HB_EINVAL;
        }
        org_hall_t *h = &org->halls.v[have];
        uint32_t old_city = h->city;
        if (old_city != d.city &&
            s_list_insert_sorted(&org->city_halls.v[d.city], (uint32_t)have) != 0)
            return hb_err_nomem(err, errlen);
        rc = s_hall_store(org, h, &d);
        if (rc != 0) {
            if (old_city != d.city)
                s_list_remove(&org->city_halls.v[d.city], (uint32_t)have);
            goto fail;
        }
        if (old_city != d.city)
            s_list_remove(&org->city_halls.v[old_city], (uint32_t)have);
        org->generation++;
        return 0;
    }
    if (org->halls.n >= ORG_HALLS_MAX) {
        hb_errf(err, errlen, "%s: the organisation holds at most %d halls", path, ORG_HALLS_MAX);
        return HB_ETOOBIG;
    }
    if (hb_vec_reserve(&org->halls, org->halls.n + 1) != 0)
        return hb_err_nomem(err, errlen);
    uint32_t i = (uint32_t)org->halls.n;
    org_hall_t *h = &org->halls.v[i];
    memset(h, 0, sizeof *h);
    snprintf(h->id, sizeof h->id, "%s", d.id);
    h->index = i;
    rc = s_hall_store(org, h, &d);
    if (rc != 0)
        goto fail;
    if (hb_vec_append(&org->city_halls.v[d.city], &i) != 0) {
        free(h->name);
        free(h->address);
        free(h->neighbours);
        return hb_err_nomem(err, errlen);
    }
    org->halls.n++;
    if (hb_idmap_add(&org->hall_map, org, i) != 0) {
        org->halls.n--;
        org->city_halls.v[d.city].n--;
        free(h->name);
        free(h->address);
        free(h->neighbours);
        return hb_err_nomem(err, errlen);
    }
    org->generation++;
    return 0;
fail:
    if (rc == HB_ETOOBIG)
        hb_errf(err, errlen, "%s.tags: the organisation holds at most %d distinct tags", path,
                ORG_TAGS_MAX);
    else
        hb_err_nomem(err, errlen);
    return rc;
}

int org_put_hall(org_t *org, const json_t *hall, char *err, size_t errlen)
{
    return s_hall_put(org, hall, "hall", false, err, errlen);
}

/* ---------------------------------------------------------- documents ---- */

static int s_regions_load(org_t *org, const json_t *list, char *err, size_t errlen)
{
    size_t n = json_array_size(list);
    if (n > ORG_REGIONS_MAX) {
        hb_errf(err, errlen, "regions: %zu regions, at most %d", n, ORG_REGIONS_MAX);
        return HB_ETOOBIG;
    }
    const char **parents = calloc(n ? n : 1, sizeof *parents);
    uint32_t *stamp = calloc(n ? n : 1, sizeof *stamp);
    int rc = 0;
    if (!parents || !stamp) {
        rc = hb_err_nomem(err, errlen);
        goto out;
    }
    char p[HB_JSON_PATH_MAX];
    /* First every region, so that parents may come in any order. */
    for (size_t i = 0; i < n; i++) {
        region_doc_t d = {0};
        hb_json_pathf(p, sizeof p, "regions[%zu]", i);
        rc = s_region_read(json_array_get(list, i), p, &d, err, errlen);
        if (rc != 0)
            goto out;
        int32_t have = hb_idmap_find(&org->region_map, org, d.id);
        if (have >= 0) {
            hb_errf(err, errlen, "%s.id: \"%s\" already given as regions[%d]", p, d.id, (int)have);
            rc = HB_EINVAL;
            goto out;
        }
        uint32_t idx = 0;
        if (s_region_append(org, &d, &idx) != 0) {
            rc = hb_err_nomem(err, errlen);
            goto out;
        }
        parents[i] = d.parent;
    }
    for (size_t i = 0; i < n; i++) {
        if (!parents[i])
            continue;
        int32_t pi = hb_idmap_find(&org->region_map, org, parents[i]);
        if (pi < 0) {
            hb_errf(err, errlen, "regions[%zu].parent: unknown region \"%s\"", i, parents[i]);
            rc = HB_EINVAL;
            goto out;
        }
        org->regions.v[i].parent = pi;
    }
    /* A cycle is reported as such, before the nesting rule (which a cycle
     * also breaks), because it is the mistake to fix first. */
    for (size_t i = 0; i < n; i++) {
        int32_t r = (int32_t)i;
        while (r >= 0 && stamp[r] != i + 1) {
            stamp[r] = (uint32_t)i + 1;
            r = org->regions.v[r].parent;
        }
        if (r >= 0) {
            hb_errf(err, errlen,
                    "regions[%zu].parent: the parents of \"%s\" run in a cycle through \"%s\"", i,
                    org->regions.v[i].id, org->regions.v[r].id);
            rc = HB_EINVAL;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        org_region_t *r = &org->regions.v[i];
        hb_json_pathf(p, sizeof p, "regions[%zu]", i);
        if (r->level == ORG_NATIONAL) {
            if (org->root >= 0) {
                hb_errf(err, errlen, "%s.level: a second national region (\"%s\" is the root)", p,
                        org->regions.v[org->root].id);
                rc = HB_EINVAL;
                goto out;
            }
            org->root = (int32_t)i;
            continue;
        }
        rc = s_nesting_ok(org, r->level, &org->regions.v[r->parent], p, err, errlen);
        if (rc != 0)
            goto out;
    }
    if (org->root < 0) {
        hb_errf(err, errlen, "regions: no national region (the tree needs exactly one root)");
        rc = HB_EINVAL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t child = (uint32_t)i;
        if (org->regions.v[i].parent >= 0 &&
            hb_vec_append(&org->children.v[org->regions.v[i].parent], &child) != 0) {
            rc = hb_err_nomem(err, errlen);
            goto out;
        }
    }
out:
    free(parents);
    free(stamp);
    return rc;
}

int org_from_json(const json_t *doc, org_t **out, char *err, size_t errlen)
{
    static const char *const members[] = {"regions", "halls", NULL};
    *out = NULL;
    int rc = hb_json_object_known(doc, members, NULL, "organisation", NULL, "{regions, halls}", err,
                                  errlen);
    if (rc != 0)
        return rc;
    const json_t *regions = json_object_get(doc, "regions");
    const json_t *halls = json_object_get(doc, "halls");
    if (!json_is_array(regions)) {
        hb_errf(err, errlen, "regions: %s", regions ? "must be an array" : "missing");
        return HB_EINVAL;
    }
    if (halls && !json_is_array(halls)) {
        hb_errf(err, errlen, "halls: must be an array");
        return HB_EINVAL;
    }
    if (json_array_size(halls) > ORG_HALLS_MAX) {
        hb_errf(err, errlen, "halls: %zu halls, at most %d", json_array_size(halls), ORG_HALLS_MAX);
        return HB_ETOOBIG;
    }
    org_t *org = org_new();
    if (!org)
        return hb_err_nomem(err, errlen);
    rc = s_regions_load(org, regions, err, errlen);
    for (size_t i = 0; rc == 0 && i < json_array_size(halls); i++) {
        char p[HB_JSON_PATH_MAX];
        hb_json_pathf(p, sizeof p, "halls[%zu]", i);
        rc = s_hall_put(org, json_array_get(halls, i), p, true, err, errlen);
    }
    if (rc != 0) {
        org_destroy(&org);
        return rc;
    }
    org->generation = 1;
    *out = org;
    return 0;
}

json_t *org_region_to_json(const org_t *org, const org_region_t *r)
{
    json_t *o = json_object();
    bool bad = false;
    if (!o)
        return NULL;
    hb_json_set(o, "id", json_string(r->id), &bad);
    hb_json_set(o, "name", json_string(r->name), &bad);
    hb_json_set(o, "level", json_string(s_level_names[r->level]), &bad);
    if (r->parent >= 0)
        hb_json_set(o, "parent", json_string(org->regions.v[r->parent].id), &bad);
    return hb_json_built(o, bad);
}

json_t *org_hall_to_json(const org_t *org, const org_hall_t *h)
{
    json_t *o = json_object(), *tags = json_array(), *nb = json_array();
    /* A failed allocation shows as `bad`: hb_json_set takes NULL on either side. */
    bool bad = false;
    hb_json_set(o, "id", json_string(h->id), &bad);
    hb_json_set(o, "city", json_string(org->regions.v[h->city].id), &bad);
    if (h->name)
        hb_json_set(o, "name", json_string(h->name), &bad);
    if (h->address)
        hb_json_set(o, "address", json_string(h->address), &bad);
    for (size_t i = 0; i < h->n_tags; i++)
        hb_json_append(tags, json_string(org->tags.v[h->tags[i]]), &bad);
    for (size_t i = 0; i < h->n_neighbours; i++)
        hb_json_append(nb, json_string(h->neighbours[i]), &bad);
    hb_json_set(o, "tags", tags, &bad);
    hb_json_set(o, "neighbours", nb, &bad);
    return hb_json_built(o, bad);
}

json_t *org_to_json(const org_t *org)
{
    json_t *doc = json_object(), *regions = json_array(), *halls = json_array();
    /* A failed allocation shows as `bad`: hb_json_set takes NULL on either side. */
    bool bad = false;
    for (size_t i = 0; i < org->regions.n && !bad; i++) {
        json_t *r = org_region_to_json(org, &org->regions.v[i]);
        hb_json_append(regions, r, &bad);
    }
    for (size_t i = 0; i < org->halls.n && !bad; i++) {
        json_t *h = org_hall_to_json(org, &org->halls.v[i]);
        hb_json_append(halls, h, &bad);
    }
    hb_json_set(doc, "regions", regions, &bad);
    hb_json_set(doc, "halls", halls, &bad);
    return hb_json_built(doc, bad);
}

/* ----------------------------------------------------------- lookups ---- */

const org_region_t *org_region_find(const org_t *org, const char *id)
{
    int32_t i = hb_idmap_find(&org->region_map, org, id);
    return i >= 0 ? &org->regions.v[i] : NULL;
}

const org_region_t *org_region_at(const org_t *org, uint32_t index)
{
    return index < org->regions.n ? &org->regions.v[index] : NULL;
}

size_t org_region_count(const org_t *org) { return org->regions.n; }

const org_region_t *org_root(const org_t *org)
{
    return org->root >= 0 ? &org->regions.v[org->root] : NULL;
}

const char *org_tag_name(const org_t *org, uint16_t tag)
{
    return tag < org->tags.n ? org->tags.v[tag] : NULL;
}

const org_hall_t *org_hall_find(const org_t *org, const char *id)
{
    int32_t i = hb_idmap_find(&org->hall_map, org, id);
    return i >= 0 ? &org->halls.v[i] : NULL;
}

const org_hall_t *org_hall_at(const org_t *org, uint32_t index)
{
    return index < org->halls.n ? &org->halls.v[index] : NULL;
}

size_t org_hall_count(const org_t *org) { return org->halls.n; }

size_t org_city_halls(const org_t *org, const org_region_t *city, const uint32_t **out)
{
    *out = org->city_halls.v[city->index].v;
    return city->level == ORG_CITY ? org->city_halls.v[city->index].n : 0;
}

bool org_region_contains(const org_t *org, const org_region_t *outer, const org_region_t *inner)
{
    int32_t r = (int32_t)inner->index;
    /* The tree is three levels deep, so this walk is at most three steps. */
    while (r >= 0) {
        if ((uint32_t)r == outer->index)
            return true;
        r = org->regions.v[r].parent;
    }
    return false;
}

int org_hall_chain(const org_t *org, const char *hall_id, const org_region_t *chain[3])
{
    const org_hall_t *h = org_hall_find(org, hall_id);
    return h ? org_hall_chain_at(org, h, chain) : HB_ENOTFOUND;
}

int org_hall_chain_at(const org_t *org, const org_hall_t *h, const org_region_t *chain[3])
{
    chain[0] = &org->regions.v[h->city];
    chain[1] = &org->regions.v[chain[0]->parent];
    chain[2] = &org->regions.v[chain[1]->parent];
    return 0;
}

size_t org_region_children(const org_t *org, const org_region_t *r, const uint32_t **out)
{
    *out = org->children.v[r->index].v;
    return org->children.v[r->index].n;
}

uint64_t org_generation(const org_t *org) { return org->generation; }

/* ----------------------------------------------------------- bitsets ---- */

size_t org_bitset_words(const org_t *org) { return (org->halls.n + 63) / 64; }

size_t org_bitset_count(const uint64_t *bits, size_t words)
{
    size_t n = 0;
    for (size_t i = 0; i < words; i++)
        n += (size_t)__builtin_popcountll(bits[i]);
    return n;
}

/* ------------------------------------------------------------ scopes ---- */

static void s_scope_fini(org_scope_t *s)
{
    free(s->regions);
    free(s->halls);
    free(s->tags);
}

void org_scope_destroy(org_scope_t **s_p) { HB_DESTROY(s_p, s_scope_fini); }

/* One of the scope's three lists: ids of at most `max_len` bytes, at most
 * `max_n` of them, none twice. `dst` is an array of `stride`-byte slots. */
static int s_scope_list(const json_t *j, const char *member, const char *path, size_t max_n,
                        size_t stride, bool lower_only, void **dst, size_t *n_out, char *err,
                        size_t errlen)
{
    const json_t *a = json_object_get(j, member);
    *n_out = 0;
    if (!a)
        return 0;
    if (!json_is_array(a)) {
        hb_errf(err, errlen, "%s.%s: must be an array of ids", path, member);
        return HB_EINVAL;
    }
    size_t n = json_array_size(a);
    if (n > max_n) {
        hb_errf(err, errlen, "%s.%s: %zu entries, at most %zu", path, member, n, max_n);
        return HB_EINVAL;
    }
    if (n == 0)
        return 0;
    char *v = calloc(n, stride);
    if (!v)
        return hb_err_nomem(err, errlen);
    *dst = v;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i);
        const char *s = json_string_value(e);
        if (!json_is_string(e) || strlen(s) != json_string_length(e) ||
            !s_id_ok(s, stride - 1, lower_only)) {
            hb_errf(err, errlen, "%s.%s[%zu]: must match %s{1,%zu}", path, member, i,
                    lower_only ? "[a-z0-9_-]" : "[A-Za-z0-9_-]", stride - 1);
            return HB_EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(v + k * stride, s) == 0) {
                hb_errf(err, errlen, "%s.%s[%zu]: \"%s\" listed twice", path, member, i, s);
                return HB_EINVAL;
            }
        }
        memcpy(v + i * stride, s, strlen(s) + 1);
        *n_out = i + 1;
    }
    return 0;
}

int org_scope_parse(const json_t *j, const char *path, org_scope_t **out, char *err, size_t errlen)
{
    static const char *const members[] = {"regions", "halls", "tags", NULL};
    *out = NULL;
    if (!path)
        path = "scope";
    int rc =
        hb_json_object_known(j, members, NULL, path, NULL, "{regions, halls, tags}", err, errlen);
    if (rc != 0)
        return rc;
    org_scope_t *s = calloc(1, sizeof *s);
    if (!s)
        return hb_err_nomem(err, errlen);
    rc = s_scope_list(j, "regions", path, ORG_SCOPE_REGIONS_MAX, ORG_REGION_ID_MAX, false,
                      (void **)&s->regions, &s->n_regions, err, errlen);
    if (rc == 0)
        rc = s_scope_list(j, "halls", path, ORG_SCOPE_HALLS_MAX, HB_HALL_ID_MAX, false,
                          (void **)&s->halls, &s->n_halls, err, errlen);
    if (rc == 0)
        rc = s_scope_list(j, "tags", path, ORG_SCOPE_TAGS_MAX, ORG_TAG_MAX, true, (void **)&s->tags,
                          &s->n_tags, err, errlen);
    if (rc != 0) {
        org_scope_destroy(&s);
        return rc;
    }
    *out = s;
    return 0;
}

json_t *org_scope_to_json(const org_scope_t *s)
{
    json_t *o = json_object();
    bool bad = false;
    if (!o)
        return NULL;
    hb_json_set(o, "regions",
                hb_json_strings((const char *)s->regions, s->n_regions, ORG_REGION_ID_MAX), &bad);
    hb_json_set(o, "halls", hb_json_strings((const char *)s->halls, s->n_halls, HB_HALL_ID_MAX),
                &bad);
    hb_json_set(o, "tags", hb_json_strings((const char *)s->tags, s->n_tags, ORG_TAG_MAX), &bad);
    return hb_json_built(o, bad);
}

static void *s_memdup(const void *p, size_t n)
{
    if (n == 0)
        return NULL;
    void *d = malloc(n);
    if (d)
        memcpy(d, p, n);
    return d;
}

org_scope_t *org_scope_copy(const org_scope_t *s)
{
    org_scope_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->regions = s_memdup(s->regions, s->n_regions * sizeof *s->regions);
    c->halls = s_memdup(s->halls, s->n_halls * sizeof *s->halls);
    c->tags = s_memdup(s->tags, s->n_tags * sizeof *s->tags);
    c->n_regions = s->n_regions;
    c->n_halls = s->n_halls;
    c->n_tags = s->n_tags;
    if ((s->n_regions && !c->regions) || (s->n_halls && !c->halls) || (s->n_tags && !c->tags))
        org_scope_destroy(&c);
    return c;
}

static void s_set_region_halls(const org_t *org, const org_region_t *r, uint64_t *bits)
{
    if (r->level == ORG_NATIONAL) {
        /* Every hall is under the root: set whole words rather than walk
         * the tree. */
        size_t full = org->halls.n / 64;
        for (size_t w = 0; w < full; w++)
            bits[w] = ~(uint64_t)0;
        for (size_t i = full * 64; i < org->halls.n; i++)
            org_bit_set(bits, (uint32_t)i);
        return;
    }
    if (r->level == ORG_CITY) {
        const idlist_t *l = &org->city_halls.v[r->index];
        for (size_t i = 0; i < l->n; i++)
            org_bit_set(bits, l->v[i]);
        return;
    }
    const idlist_t *cities = &org->children.v[r->index];
    for (size_t c = 0; c < cities->n; c++)
        s_set_region_halls(org, &org->regions.v[cities->v[c]], bits);
}

int org_scope_resolve(const org_t *org, const char *owner_id, const org_scope_t *scope,
                      uint64_t *bits, size_t words, size_t *count, char *err, size_t errlen)
{
    if (count)
        *count = 0;
    if (words < org_bitset_words(org)) {
        hb_errf(err, errlen, "scope: bitset of %zu words, the organisation needs %zu", words,
                org_bitset_words(org));
        return HB_EINVAL;
    }
    memset(bits, 0, words * sizeof *bits);
    const org_region_t *owner = org_region_find(org, owner_id);
    if (!owner) {
        hb_errf(err, errlen, "region: unknown region \"%s\"", owner_id);
        return HB_EINVAL;
    }
    if (scope->n_regions == 0 && scope->n_halls == 0)
        s_set_region_halls(org, owner, bits);
    for (size_t i = 0; i < scope->n_regions; i++) {
        const org_region_t *r = org_region_find(org, scope->regions[i]);
        if (!r) {
            hb_errf(err, errlen, "scope.regions[%zu]: unknown region \"%s\"", i, scope->regions[i]);
            return HB_EINVAL;
        }
        if (!org_region_contains(org, owner, r)) {
            hb_errf(err, errlen,
                    "scope.regions[%zu]: region \"%s\" is outside the owner region \"%s\"", i,
                    r->id, owner->id);
            return HB_EINVAL;
        }
        s_set_region_halls(org, r, bits);
    }
    for (size_t i = 0; i < scope->n_halls; i++) {
        const org_hall_t *h = org_hall_find(org, scope->halls[i]);
        if (!h) {
            hb_errf(err, errlen, "scope.halls[%zu]: unknown hall \"%s\"", i, scope->halls[i]);
            return HB_EINVAL;
        }
        if (!org_region_contains(org, owner, &org->regions.v[h->city])) {
            hb_errf(err, errlen,
                    "scope.halls[%zu]: hall \"%s\" (city %s) is outside the owner region \"%s\"", i,
                    h->id, org->regions.v[h->city].id, owner->id);
            return HB_EINVAL;
        }
        org_bit_set(bits, h->index);
    }
    size_t n = org_bitset_count(bits, words);
    if (n == 0) {
        hb_errf(err, errlen, "scope: reaches no hall (the regions it names hold no hall yet)");
        return HB_EINVAL;
    }
    if (scope->n_tags) {
        /* Tags are compared by number: a tag no hall carries has none, and
         * keeps no hall. */
        uint64_t want[ORG_TAGS_MAX / 64] = {0};
        bool any = false;
        for (size_t i = 0; i < scope->n_tags; i++) {
            int32_t t = hb_idmap_find(&org->tag_map, org, scope->tags[i]);
            if (t >= 0) {
                org_bit_set(want, (uint32_t)t);
                any = true;
            }
        }
        n = 0;
        for (size_t w = 0; w < words; w++) {
            uint64_t word = any ? bits[w] : 0;
            uint64_t keep = 0;
            while (word) {
                int b = __builtin_ctzll(word);
                word &= word - 1;
                const org_hall_t *h = &org->halls.v[w * 64 + (size_t)b];
                for (size_t k = 0; k < h->n_tags; k++) {
                    if (org_bit_test(want, h->tags[k])) {
                        keep |= (uint64_t)1 << b;
                        break;
                    }
                }
            }
            bits[w] = keep;
            n += (size_t)__builtin_popcountll(keep);
        }
        if (n == 0) {
            hb_errf(err, errlen, "scope.tags: no hall of the scope carries any of these tags");
            return HB_EINVAL;
        }
    }
    if (count)
        *count = n;
    return 0;
}
