/* Routing by pattern: a table of method + path pattern ("/v1/counters/:id/open")
 * with the permission each route needs, matched against request paths by
 * whole segments, with the parameters decoded. The HTTP server (http.h) owns
 * one; it is apart so that matching can be tested without a socket.
 *
 * Not here: handlers (http.h), who holds a permission (access control), or
 * prefix routes (hb_http_route, which the server tries after the patterns).
 *
 * The rules, in the order they apply:
 * - A pattern is "/" or "/seg/seg...": up to HB_ROUTER_SEGMENTS_MAX segments,
 *   none empty. A segment is a literal of [A-Za-z0-9._~-] or a parameter
 *   ":name" ([a-z0-9_], 1 to 32, once per pattern).
 * - A path is split at its raw '/' before percent-decoding, so "%2F" inside a
 *   segment stays part of that segment's value. A literal matches the
 *   decoded segment byte for byte; a parameter matches any non-empty one.
 *   Nothing is stripped: "/v1/halls/" has an empty last segment and matches
 *   neither "/v1/halls" nor "/v1/halls/:hall" (404).
 * - Of the patterns that match the path and take the method, the most
 *   specific wins: a literal beats a parameter at the first segment where
 *   they differ. So "/v1/counters/:id/open" takes "open", and a row
 *   "/v1/counters/:id/:action" takes every other action (a handler that
 *   answers "no such action").
 * - Patterns match the path but none takes the method: 405, with the methods
 *   those patterns take (the Allow header). HEAD is not GET.
 * - A matched parameter over HB_HTTP_PARAM_MAX bytes once decoded, or not
 *   valid UTF-8, is refused (400) naming the parameter.
 *
 * Matching allocates nothing: a linear scan over at most HB_ROUTER_ROUTES_MAX
 * routes (about 60 per daemon), each compared segment count first, into a
 * match record the caller keeps on its stack. */
#ifndef HALLBUS_ROUTER_H
#define HALLBUS_ROUTER_H

#include "hallbus/perm.h"

#include <stdbool.h>
#include <stddef.h>

#define HB_ROUTER_ROUTES_MAX 128
#define HB_ROUTER_SEGMENTS_MAX 16
#define HB_ROUTER_PATTERN_MAX 256 /* bytes of a pattern with its NUL */
#define HB_ROUTER_NAME_MAX 32     /* bytes of a parameter's name */
#define HB_ROUTER_PATH_MAX 4096   /* raw path bytes; a longer path matches nothing */
#define HB_ROUTER_ALLOW_MAX 128   /* the Allow list, "GET, PUT, DELETE" */
#define HB_HTTP_PARAM_MAX 256     /* bytes of one decoded path parameter */

/* One route as declared: what it matches and what it needs. */
typedef struct hb_route {
    const char *method;      /* "GET", "POST", ...; NULL takes every method */
    const char *pattern;     /* "/v1/halls/:hall/events" */
    hb_perm_t perm;          /* required: HB_PERM_UNSET is refused */
    hb_scope_t scope;        /* where perm must be held (perm.h); HB_SCOPE_ALL by default */
    const char *scope_param; /* the parameter naming the object for a scope that needs one */
} hb_route_t;

typedef struct hb_router hb_router_t;

/* A router with room for HB_ROUTER_ROUTES_MAX routes; NULL when out of
 * memory. */
hb_router_t *hb_router_new(void);
/* Frees it and sets `*r` NULL; idempotent. */
void hb_router_destroy(hb_router_t **r);

/* Adds a route (copied: the strings need not outlive the call). Returns 0,
 * or refuses:
 * - HB_EINVAL: a bad pattern or method; a permission that is not one of
 *   perm.h's (HB_PERM_UNSET: none declared); a scope outside the table; a
 *   scope that needs a parameter without `scope_param` naming one of the
 *   pattern's, or `scope_param` given to a scope that takes none; "public"
 *   with a scope other than HB_SCOPE_ALL;
 * - HB_EEXIST: a route of the same shape (the same segments, parameters'
 *   names aside) takes the same method already, or one of the two takes
 *   every method;
 * - HB_ETOOBIG: HB_ROUTER_ROUTES_MAX routes are there.
 * `why` (may be NULL) says which rule refused. */
int hb_router_add(hb_router_t *r, const hb_route_t *route, char *why, size_t whylen);
/* Routes added so far; route `i` as stored (its strings belong to the
 * router), in the order they were added. */
size_t hb_router_count(const hb_router_t *r);
const hb_route_t *hb_router_route(const hb_router_t *r, size_t i);
/* Forgets the routes added after the first `n` (to undo a partly added
 * table). */
void hb_router_truncate(hb_router_t *r, size_t n);

typedef enum hb_route_result {
    HB_ROUTE_FOUND = 0,
    HB_ROUTE_NOT_FOUND, /* no pattern matches the path: 404 (or a prefix route) */
    HB_ROUTE_NO_METHOD, /* patterns match, none takes the method: 405 + allow */
    HB_ROUTE_BAD_PARAM, /* the route's parameter `bad_param` is `bad_why`: 400 */
} hb_route_result_t;

typedef struct hb_router_match {
    hb_route_result_t result;
    size_t route;   /* FOUND, BAD_PARAM: the route's index */
    size_t nparams; /* FOUND: the route's parameters, in path order */
    const char *names[HB_ROUTER_SEGMENTS_MAX];
    const char *values[HB_ROUTER_SEGMENTS_MAX]; /* decoded, NUL-terminated, in `buf` */
    char allow[HB_ROUTER_ALLOW_MAX];            /* NO_METHOD: "GET, PUT" */
    const char *bad_param;                      /* BAD_PARAM: the parameter's name */
    const char *bad_why;                        /* BAD_PARAM: "is not valid UTF-8", ... */
    /* NOT_FOUND: the pattern of a route whose path this one continues by one
     * segment ("/v1/hall" for "/v1/hall/x"), for a 404 that says so; NULL
     * when there is none. */
    const char *hint;
    /* Private: the path's segments, decoded. */
    size_t nseg;
    bool too_many;
    const char *seg[HB_ROUTER_SEGMENTS_MAX];
    size_t seglen[HB_ROUTER_SEGMENTS_MAX];
    char buf[HB_ROUTER_PATH_MAX + 1];
} hb_router_match_t;

/* Matches `method` and the raw (still percent-encoded) path `path[0..len)`,
 * without its query, into `*m`, and returns m->result. A path that is not
 * validly encoded or over HB_ROUTER_PATH_MAX matches nothing: the server
 * refuses those before it asks. Everything `*m` points to lives in `*m` or
 * in the router. */
hb_route_result_t hb_router_match(const hb_router_t *r, const char *method, const char *path,
                                  size_t len, hb_router_match_t *m);
/* The decoded value of parameter `name` in a FOUND match, or NULL when the
 * route has no such parameter. */
const char *hb_router_param(const hb_router_match_t *m, const char *name);

#endif
