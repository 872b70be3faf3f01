/* Who a request is: a person's identity as the guard resolved it from a
 * token or a session (their name, the credential, its expiry, and their
 * roles over scopes), and, per permission, where they hold it as a view
 * over the organisation: the halls and regions it covers, as bitsets over
 * the org's dense indexes, so that "is hall N in scope" is one bit test
 * (the change stream asks it for every event a scoped client might get).
 *
 * A view is computed when first asked for and again after the organisation
 * changed (its generation moved). Identities are reference counted: the
 * guard's cache holds one reference, an open stream another. Loop thread
 * only. Not here: how credentials are found (guard.c), what roles grant
 * (roles.h). */
#ifndef HQD_IDENT_H
#define HQD_IDENT_H

#include "authdb.h"
#include "org.h"

#include "hallbus/perm.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum hq_cred_kind {
    HQ_CRED_TOKEN = 1,
    HQ_CRED_SESSION,
} hq_cred_kind_t;

/* Where one permission is held. `all`: the whole network (then the bitsets
 * are not used). Otherwise `halls` has the halls in scope, `regions` the
 * regions in scope (a granted region and everything under it), `above` the
 * regions in scope and every region above one of them or above a hall in
 * scope: what a document that applies to the scope may come from (the
 * region tree's path down to it, a policy layer). */
typedef struct hq_view {
    uint64_t org_gen;
    bool all;
    size_t hall_words, region_words;
    uint64_t *halls, *regions, *above;
} hq_view_t;

typedef struct hq_ident {
    unsigned refs;
    char name[HQ_AUTH_NAME_MAX];
    hq_cred_kind_t kind;
    uint8_t cred[HQ_AUTH_HASH];              /* the credential's hash */
    char token_name[HQ_AUTH_TOKEN_NAME_MAX]; /* a token's name; "" for a session */
    char csrf[HQ_AUTH_CSRF_MAX];             /* a session's */
    int64_t created_ms;
    int64_t expires_ms; /* a token's expiry (0: never); a session's absolute end */
    int64_t last_ms;    /* last request seen (sessions: the idle clock) */
    int64_t written_ms; /* last use as last written to the store */
    bool ended;         /* a session signed out: every holder sees it at once */
    uint64_t perms;     /* every permission held anywhere */
    size_t n_grants;
    hq_grant_t grants[HQ_AUTH_GRANTS_MAX];
    hq_view_t *views[HB_PERM_COUNT];
} hq_ident_t;

/* A new identity (one reference) for `person`, holding a credential of
 * `kind` with hash `cred`; NULL when out of memory. */
hq_ident_t *hq_ident_new(const hq_person_t *person, hq_cred_kind_t kind,
                         const uint8_t cred[HQ_AUTH_HASH]);
hq_ident_t *hq_ident_ref(hq_ident_t *id);
/* Drops a reference (frees on the last); sets *id NULL. */
void hq_ident_unref(hq_ident_t **id);

static inline bool hq_ident_has(const hq_ident_t *id, hb_perm_t perm)
{
    return (id->perms >> perm) & 1;
}
/* Whether the two hold the same roles over the same scopes. */
bool hq_ident_same_grants(const hq_ident_t *a, const hq_ident_t *b);

/* The view of `perm` over `org` (generation `org_gen`), computed now if it
 * is stale. NULL when out of memory; a view with nothing in it when the
 * identity does not hold `perm`. */
const hq_view_t *hq_ident_view(hq_ident_t *id, hb_perm_t perm, const org_t *org, uint64_t org_gen);

/* ---- tests on a view. Ids the organisation does not have are outside
 * every view but the whole network's. */
static inline bool hq_view_hall_at(const hq_view_t *v, int32_t org_index)
{
    return v->all || (org_index >= 0 && (size_t)org_index < v->hall_words * 64 &&
                      org_bit_test(v->halls, (uint32_t)org_index));
}
static inline bool hq_view_region_at(const hq_view_t *v, int32_t index)
{
    return v->all || (index >= 0 && (size_t)index < v->region_words * 64 &&
                      org_bit_test(v->regions, (uint32_t)index));
}
static inline bool hq_view_above_at(const hq_view_t *v, int32_t index)
{
    return v->all || (index >= 0 && (size_t)index < v->region_words * 64 &&
                      org_bit_test(v->above, (uint32_t)index));
}
bool hq_view_hall(const hq_view_t *v, const org_t *org, const char *hall);
bool hq_view_region(const hq_view_t *v, const org_t *org, const char *region);
/* A policy scope ("national", "region/ID", "hall/ID"): to change it, it
 * must lie in the view (national: the whole network); to read it, it may
 * also lie above the view (it applies to halls in it). */
bool hq_view_policy_scope(const hq_view_t *v, const org_t *org, const char *scope, bool read);

/* The grants holding `perm`, as "region/C001, hall/H7" (or "nowhere"), for
 * refusals that say where the caller does hold it. */
void hq_ident_where(const hq_ident_t *id, hb_perm_t perm, char *out, size_t outlen);

#endif
