/* The pattern router of router.h: each route's pattern is compiled once into
 * segments when it is added, and a request is matched by a linear scan over
 * the routes (segment count first, then literals), which is cheap for the
 * sixty-odd routes a daemon has and allocates nothing. A segment trie would
 * only pay off with many hundreds of routes.
 *
 * It also holds the percent-decoding that the server uses on whole paths
 * and query strings (internal.h). Not here: the
 * permission vocabulary (perm.c) or anything about HTTP connections. */
#include "hallbus/router.h"
#include "hallbus/error.h"
#include "hallbus/utf8.h"

#include "internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTER_METHOD_MAX 16
#define ROUTER_STR_(x) #x
#define ROUTER_STR(x) ROUTER_STR_(x)

typedef struct route_seg {
    uint16_t off; /* into text: the literal, or the parameter's name */
    uint16_t len;
    bool param;
} route_seg_t;

typedef struct route_entry {
    hb_route_t route; /* its strings point into the buffers below */
    char method[ROUTER_METHOD_MAX];
    char pattern[HB_ROUTER_PATTERN_MAX];
    /* The pattern's segments without their ':' and with a NUL after each, so
     * that literals compare with memcmp and names are C strings. */
    char text[HB_ROUTER_PATTERN_MAX];
    route_seg_t seg[HB_ROUTER_SEGMENTS_MAX];
    size_t nseg;
    /* Bit (SEGMENTS_MAX - 1 - i) is set when segment i is a literal, so that
     * of two patterns matching one path the larger rank has a literal where
     * the other first has a parameter. */
    uint32_t rank;
} route_entry_t;

struct hb_router {
    route_entry_t routes[HB_ROUTER_ROUTES_MAX];
    size_t n;
};

/* ---------------------------------------------------------------- decoding */

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hb_http__decode(const char *src, size_t len, bool plus_is_space, char *out, size_t outcap,
                    size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (len - i < 3)
                return HB_EPARSE;
            int hi = s_hex(src[i + 1]);
            int lo = s_hex(src[i + 2]);
            if (hi < 0 || lo < 0)
                return HB_EPARSE;
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return HB_EPARSE;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o + 1 >= outcap)
            return HB_ETOOBIG;
        out[o++] = c;
    }
    if (outcap == 0)
        return HB_ETOOBIG;
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return 0;
}

/* ------------------------------------------------------------ registration */

hb_router_t *hb_router_new(void) { return calloc(1, sizeof(hb_router_t)); }

void hb_router_destroy(hb_router_t **r)
{
    if (!r || !*r)
        return;
    free(*r);
    *r = NULL;
}

size_t hb_router_count(const hb_router_t *r) { return r ? r->n : 0; }

const hb_route_t *hb_router_route(const hb_router_t *r, size_t i)
{
    return r && i < r->n ? &r->routes[i].route : NULL;
}

void hb_router_truncate(hb_router_t *r, size_t n)
{
    if (r && n < r->n)
        r->n = n;
}

static bool s_literal_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == '-';
}

static bool s_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int s_refuse(char *why, size_t whylen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Says why in `why` (when given) and returns `rc`. */
static int s_refuse(char *why, size_t whylen, int rc, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Splits `e->pattern` into e->text and e->seg. */
static int s_compile(route_entry_t *e, char *why, size_t whylen)
{
    const char *p = e->pattern;
    size_t o = 0;
    e->nseg = 0;
    e->rank = 0;
    if (p[0] != '/')
        return s_refuse(why, whylen, HB_EINVAL, "pattern '%s' does not start with '/'", p);
    if (p[1] == '\0')
        return 0; /* "/": no segment */
    const char *s = p + 1;
    for (;;) {
        size_t n = strcspn(s, "/");
        if (n == 0)
            return s_refuse(why, whylen, HB_EINVAL,
                            "pattern '%s' has an empty segment (a trailing or double '/')", p);
        if (e->nseg == HB_ROUTER_SEGMENTS_MAX)
            return s_refuse(why, whylen, HB_EINVAL, "pattern '%s' has more than %d segments", p,
                            HB_ROUTER_SEGMENTS_MAX);
        route_seg_t *g = &e->seg[e->nseg];
        g->param = s[0] == ':';
        const char *t = g->param ? s + 1 : s;
        size_t tn = g->param ? n - 1 : n;
        bool ok = tn > 0 && (!g->param || tn <= HB_ROUTER_NAME_MAX);
        for (size_t i = 0; ok && i < tn; i++)
            ok = g->param ? s_name_char(t[i]) : s_literal_char(t[i]);
        if (!g->param && ok && (tn == 1 || tn == 2) && t[0] == '.' && t[tn - 1] == '.')
            ok = false; /* "." and ".." never reach a route: the server refuses them */
        if (!ok)
            return s_refuse(why, whylen, HB_EINVAL, "pattern '%s': %s", p,
                            g->param ? "a parameter is ':' and 1 to 32 of a-z 0-9 _"
                                     : "a literal segment is 1 or more of A-Z a-z 0-9 . _ ~ - "
                                       "(not . or ..)");
        g->off = (uint16_t)o;
        g->len = (uint16_t)tn;
        memcpy(e->text + o, t, tn);
        e->text[o + tn] = '\0';
        o += tn + 1;
        if (g->param) {
            for (size_t k = 0; k < e->nseg; k++)
                if (e->seg[k].param && strcmp(e->text + e->seg[k].off, e->text + g->off) == 0)
                    return s_refuse(why, whylen, HB_EINVAL,
                                    "pattern '%s' names parameter '%s' twice", p, e->text + g->off);
        } else {
            e->rank |= 1u << (HB_ROUTER_SEGMENTS_MAX - 1 - e->nseg);
        }
        e->nseg++;
        if (s[n] == '\0')
            return 0;
        s += n + 1;
    }
}

/* Whether two compiled patterns match the same paths. */
static bool s_same_shape(const route_entry_t *a, const route_entry_t *b)
{
    if (a->nseg != b->nseg || a->rank != b->rank)
        return false;
    for (size_t i = 0; i < a->nseg; i++) {
        const route_seg_t *x = &a->seg[i], *y = &b->seg[i];
        if (!x->param && (x->len != y->len || memcmp(a->text + x->off, b->text + y->off, x->len)))
            return false;
    }
    return true;
}

static int s_check_need(const route_entry_t *e, const hb_route_t *in, char *why, size_t whylen)
{
    const char *p = e->pattern;
    if (!hb_perm_valid(in->perm))
        return s_refuse(why, whylen, HB_EINVAL,
                        "route %s declares no permission (one of perm.h's is required)", p);
    if (!hb_scope_valid(in->scope))
        return s_refuse(why, whylen, HB_EINVAL, "route %s has a scope outside perm.h's table", p);
    if (in->perm == HB_PERM_PUBLIC && in->scope != HB_SCOPE_ALL)
        return s_refuse(why, whylen, HB_EINVAL, "route %s is public: it takes no scope", p);
    if (!hb_scope_needs_param(in->scope)) {
        if (in->scope_param)
            return s_refuse(why, whylen, HB_EINVAL, "route %s: scope '%s' takes no parameter", p,
                            hb_scope_name(in->scope));
        return 0;
    }
    for (size_t i = 0; in->scope_param && i < e->nseg; i++)
        if (e->seg[i].param && strcmp(e->text + e->seg[i].off, in->scope_param) == 0)
            return 0;
    return s_refuse(why, whylen, HB_EINVAL,
                    "route %s: scope '%s' needs scope_param to name one of its parameters", p,
                    hb_scope_name(in->scope));
}

int hb_router_add(hb_router_t *r, const hb_route_t *in, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!r || !in || !in->pattern)
        return s_refuse(why, whylen, HB_EINVAL, "a route needs a router and a pattern");
    if (r->n == HB_ROUTER_ROUTES_MAX)
        return s_refuse(why, whylen, HB_ETOOBIG, "more than %d routes", HB_ROUTER_ROUTES_MAX);
    route_entry_t *e = &r->routes[r->n];
    memset(e, 0, sizeof *e);
    size_t plen = strlen(in->pattern);
    if (plen >= HB_ROUTER_PATTERN_MAX)
        return s_refuse(why, whylen, HB_EINVAL, "a pattern is at most %d bytes",
                        HB_ROUTER_PATTERN_MAX - 1);
    memcpy(e->pattern, in->pattern, plen + 1);
    if (in->method) {
        size_t mlen = strlen(in->method);
        bool ok = mlen > 0 && mlen < ROUTER_METHOD_MAX;
        for (size_t i = 0; ok && i < mlen; i++)
            ok = in->method[i] >= 'A' && in->method[i] <= 'Z';
        if (!ok)
            return s_refuse(why, whylen, HB_EINVAL,
                            "route %s: a method is 1 to %d of A-Z, or NULL for any", e->pattern,
                            ROUTER_METHOD_MAX - 1);
        memcpy(e->method, in->method, mlen + 1);
    }
    int rc = s_compile(e, why, whylen);
    if (rc == 0)
        rc = s_check_need(e, in, why, whylen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < r->n; i++) {
        const route_entry_t *o = &r->routes[i];
        if (s_same_shape(o, e) &&
            (!o->method[0] || !e->method[0] || strcmp(o->method, e->method) == 0))
            return s_refuse(why, whylen, HB_EEXIST, "route %s %s is there already",
                            e->method[0] ? e->method : "(any method)", e->pattern);
    }
    e->route = *in;
    e->route.method = e->method[0] ? e->method : NULL;
    e->route.pattern = e->pattern;
    /* The name as stored, so that the route's strings all belong to it. */
    e->route.scope_param = NULL;
    for (size_t i = 0; in->scope_param && i < e->nseg; i++)
        if (e->seg[i].param && strcmp(e->text + e->seg[i].off, in->scope_param) == 0)
            e->route.scope_param = e->text + e->seg[i].off;
    r->n++;
    return 0;
}

/* ---------------------------------------------------------------- matching */

/* Splits the raw path at '/' and decodes each segment into m->buf. False
 * when the path cannot be a route's (not absolute, too long, badly
 * encoded); m->too_many when it has more segments than any pattern. */
static bool s_split(const char *path, size_t len, hb_router_match_t *m)
{
    m->nseg = 0;
    m->too_many = false;
    if (len == 0 || path[0] != '/' || len > HB_ROUTER_PATH_MAX)
        return false;
    if (len == 1)
        return true;
    /* Decoded segments are no longer than their raw bytes and there is one
     * '/' before each, which leaves room for its NUL: buf always suffices. */
    size_t o = 0, i = 1;
    for (;;) {
        const char *s = path + i;
        const char *slash = memchr(s, '/', len - i);
        size_t n = slash ? (size_t)(slash - s) : len - i;
        if (m->nseg == HB_ROUTER_SEGMENTS_MAX) {
            m->too_many = true;
            return true;
        }
        size_t dlen = 0;
        if (hb_http__decode(s, n, false, m->buf + o, sizeof m->buf - o, &dlen) != 0)
            return false;
        m->seg[m->nseg] = m->buf + o;
        m->seglen[m->nseg] = dlen;
        m->nseg++;
        o += dlen + 1;
        if (!slash)
            return true;
        i += n + 1;
    }
}

/* Whether the first e->nseg segments of the path match e's. */
static bool s_matches(const route_entry_t *e, const hb_router_match_t *m)
{
    for (size_t i = 0; i < e->nseg; i++) {
        const route_seg_t *g = &e->seg[i];
        if (g->param ? m->seglen[i] == 0
                     : m->seglen[i] != g->len || memcmp(m->seg[i], e->text + g->off, g->len) != 0)
            return false;
    }
    return true;
}

static void s_allow_add(hb_router_match_t *m, const char *method)
{
    size_t used = strlen(m->allow), n = strlen(method);
    /* Each method once: GET /x and GET /:y both match "/x". */
    for (const char *p = m->allow; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && memcmp(p, method, n) == 0)
            return;
        p += k;
        while (*p == ',' || *p == ' ')
            p++;
    }
    if (used + n + 3 > sizeof m->allow)
        return; /* cannot happen with real methods; a shorter list is still true */
    snprintf(m->allow + used, sizeof m->allow - used, "%s%s", used ? ", " : "", method);
}

hb_route_result_t hb_router_match(const hb_router_t *r, const char *method, const char *path,
                                  size_t len, hb_router_match_t *m)
{
    assert(r && method && path && m);
    m->result = HB_ROUTE_NOT_FOUND;
    m->route = 0;
    m->nparams = 0;
    m->allow[0] = '\0';
    m->bad_param = m->bad_why = m->hint = NULL;
    if (!s_split(path, len, m) || m->too_many)
        return m->result;
    const route_entry_t *best = NULL;
    bool path_matched = false;
    for (size_t i = 0; i < r->n; i++) {
        const route_entry_t *e = &r->routes[i];
        if (e->nseg != m->nseg || !s_matches(e, m))
            continue;
        path_matched = true;
        if (e->method[0] && strcmp(e->method, method) != 0) {
            s_allow_add(m, e->method);
            continue;
        }
        if (!best || e->rank > best->rank)
            best = e;
    }
    if (!best) {
        if (path_matched) {
            m->result = HB_ROUTE_NO_METHOD;
            return m->result;
        }
        m->allow[0] = '\0';
        /* A path one segment longer than a route's that ends in a literal:
         * the 404 can name what the caller probably meant. */
        const route_entry_t *near = NULL;
        for (size_t i = 0; i < r->n && m->nseg > 1; i++) {
            const route_entry_t *e = &r->routes[i];
            if (e->nseg + 1 == m->nseg && !e->seg[e->nseg - 1].param && s_matches(e, m) &&
                (!near || e->rank > near->rank))
                near = e;
        }
        m->hint = near ? near->pattern : NULL;
        return m->result;
    }
    m->route = (size_t)(best - r->routes);
    for (size_t i = 0; i < best->nseg; i++) {
        if (!best->seg[i].param)
            continue;
        const char *name = best->text + best->seg[i].off;
        m->names[m->nparams] = name;
        m->values[m->nparams] = m->seg[i];
        m->nparams++;
        if (m->seglen[i] > HB_HTTP_PARAM_MAX || !hb_utf8_valid(m->seg[i], m->seglen[i])) {
            m->result = HB_ROUTE_BAD_PARAM;
            m->bad_param = name;
            m->bad_why = m->seglen[i] > HB_HTTP_PARAM_MAX
                             ? "is longer than " ROUTER_STR(HB_HTTP_PARAM_MAX) " bytes"
                             : "is not valid UTF-8";
            return m->result;
        }
    }
    m->result = HB_ROUTE_FOUND;
    return m->result;
}

const char *hb_router_param(const hb_router_match_t *m, const char *name)
{
    if (!m || !name || m->result != HB_ROUTE_FOUND)
        return NULL;
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->names[i], name) == 0)
            return m->values[i];
    return NULL;
}
