/* Identities and their scope views (see ident.h). A view is built in one
 * pass over the regions and one over the halls: a region is in scope when a
 * granted region contains it (a walk up its parents, at most three steps
 * in a national, province, city tree), a hall when its city is or when it
 * is granted itself. */
#include "ident.h"

#include "roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hq_ident_t *hq_ident_new(const hq_person_t *person, hq_cred_kind_t kind,
                         const uint8_t cred[HQ_AUTH_HASH])
{
    hq_ident_t *id = calloc(1, sizeof *id);
    if (!id)
        return NULL;
    id->refs = 1;
    snprintf(id->name, sizeof id->name, "%s", person->name);
    id->kind = kind;
    memcpy(id->cred, cred, HQ_AUTH_HASH);
    id->n_grants = person->n_grants;
    memcpy(id->grants, person->grants, person->n_grants * sizeof person->grants[0]);
    for (size_t i = 0; i < id->n_grants; i++)
        id->perms |= hq_role_perms(id->grants[i].role);
    return id;
}

hq_ident_t *hq_ident_ref(hq_ident_t *id)
{
    if (id)
        id->refs++;
    return id;
}

static void s_view_free(hq_view_t *v)
{
    if (!v)
        return;
    free(v->halls);
    free(v->regions);
    free(v->above);
    free(v);
}

void hq_ident_unref(hq_ident_t **idp)
{
    hq_ident_t *id = *idp;
    if (!id)
        return;
    *idp = NULL;
    if (--id->refs > 0)
        return;
    for (int p = 0; p < HB_PERM_COUNT; p++)
        s_view_free(id->views[p]);
    sodium_memzero(id->csrf, sizeof id->csrf);
    free(id);
}

bool hq_ident_same_grants(const hq_ident_t *a, const hq_ident_t *b)
{
    if (a->n_grants != b->n_grants || strcmp(a->name, b->name) != 0)
        return false;
    for (size_t i = 0; i < a->n_grants; i++) {
        const hq_grant_t *x = &a->grants[i], *y = &b->grants[i];
        if (x->role != y->role || x->kind != y->kind || strcmp(x->id, y->id) != 0)
            return false;
    }
    return true;
}

/* Whether region `r` (an index) is the granted region `g` or lies under it. */
static bool s_under(const org_t *org, const org_region_t *r, const org_region_t *g)
{
    for (int steps = 0; r && steps < 8; steps++) {
        if (r == g)
            return true;
        r = r->parent >= 0 ? org_region_at(org, (uint32_t)r->parent) : NULL;
    }
    return false;
}

/* Marks `r` and every region above it in `above`. */
static void s_mark_up(const org_t *org, const org_region_t *r, uint64_t *above)
{
    for (int steps = 0; r && steps < 8; steps++) {
        org_bit_set(above, r->index);
        r = r->parent >= 0 ? org_region_at(org, (uint32_t)r->parent) : NULL;
    }
}

static int s_view_build(hq_view_t *v, const hq_ident_t *id, hb_perm_t perm, const org_t *org)
{
    size_t nr = org_region_count(org), nh = org_hall_count(org);
    size_t rw = (nr + 63) / 64, hw = org_bitset_words(org);
    free(v->halls);
    free(v->regions);
    free(v->above);
    v->halls = calloc(hw ? hw : 1, sizeof(uint64_t));
    v->regions = calloc(rw ? rw : 1, sizeof(uint64_t));
    v->above = calloc(rw ? rw : 1, sizeof(uint64_t));
    v->hall_words = hw;
    v->region_words = rw;
    v->all = false;
    if (!v->halls || !v->regions || !v->above)
        return -1;
    const org_region_t *granted[HQ_AUTH_GRANTS_MAX];
    size_t ng = 0;
    for (size_t i = 0; i < id->n_grants; i++) {
        const hq_grant_t *g = &id->grants[i];
        if (!((hq_role_perms(g->role) >> perm) & 1))
            continue;
        if (g->kind == HQ_SCOPE_NETWORK) {
            v->all = true;
            return 0;
        }
        if (g->kind == HQ_SCOPE_REGION) {
            const org_region_t *r = org_region_find(org, g->id);
            if (r)
                granted[ng++] = r;
        } else {
            const org_hall_t *h = org_hall_find(org, g->id);
            if (h) {
                org_bit_set(v->halls, h->index);
                s_mark_up(org, org_region_at(org, h->city), v->above);
            }
        }
    }
    for (size_t i = 0; i < nr && ng > 0; i++) {
        const org_region_t *r = org_region_at(org, (uint32_t)i);
        for (size_t k = 0; k < ng; k++) {
            if (s_under(org, r, granted[k])) {
                org_bit_set(v->regions, r->index);
                s_mark_up(org, r, v->above);
                break;
            }
        }
    }
    for (size_t i = 0; i < nh && ng > 0; i++) {
        const org_hall_t *h = org_hall_at(org, (uint32_t)i);
        if (org_bit_test(v->regions, h->city))
            org_bit_set(v->halls, h->index);
    }
    return 0;
}

const hq_view_t *hq_ident_view(hq_ident_t *id, hb_perm_t perm, const org_t *org, uint64_t org_gen)
{
    if (!hb_perm_valid(perm))
        return NULL;
    hq_view_t *v = id->views[perm];
    if (v && v->org_gen == org_gen && org_gen != 0)
        return v;
    if (!v) {
        v = calloc(1, sizeof *v);
        if (!v)
            return NULL;
        id->views[perm] = v;
    }
    if (s_view_build(v, id, perm, org) != 0) {
        s_view_free(v);
        id->views[perm] = NULL;
        return NULL;
    }
    v->org_gen = org_gen;
    return v;
}

bool hq_view_hall(const hq_view_t *v, const org_t *org, const char *hall)
{
    if (v->all)
        return true;
    const org_hall_t *h = hall ? org_hall_find(org, hall) : NULL;
    return h && hq_view_hall_at(v, (int32_t)h->index);
}

bool hq_view_region(const hq_view_t *v, const org_t *org, const char *region)
{
    if (v->all)
        return true;
    const org_region_t *r = region ? org_region_find(org, region) : NULL;
    return r && hq_view_region_at(v, (int32_t)r->index);
}

bool hq_view_policy_scope(const hq_view_t *v, const org_t *org, const char *scope, bool read)
{
    if (v->all)
        return true;
    if (strcmp(scope, "national") == 0)
        return read; /* it applies to every hall; only the network changes it */
    if (strncmp(scope, "hall/", 5) == 0)
        return hq_view_hall(v, org, scope + 5);
    if (strncmp(scope, "region/", 7) == 0) {
        const org_region_t *r = org_region_find(org, scope + 7);
        if (!r)
            return false;
        return read ? hq_view_above_at(v, (int32_t)r->index)
                    : hq_view_region_at(v, (int32_t)r->index);
    }
    return false;
}

void hq_ident_where(const hq_ident_t *id, hb_perm_t perm, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < id->n_grants && used < outlen; i++) {
        const hq_grant_t *g = &id->grants[i];
        if (!((hq_role_perms(g->role) >> perm) & 1))
            continue;
        char scope[HQ_AUTH_SCOPE_TEXT_MAX];
        hq_scope_format(g, scope, sizeof scope);
        int n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", scope);
        used = n < 0 ? outlen : used + (size_t)n;
    }
    if (!out[0])
        snprintf(out, outlen, "nowhere");
}
