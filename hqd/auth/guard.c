/* hqd's guard (see auth.h): the Host check, credentials to an identity
 * through a cache kept true by the store's generation, CSRF for cookie
 * writes, the route's permission and scope; and what handlers and the
 * change stream ask of the identity afterwards. Sign-in is login.c's, the
 * audit log audit.c's. */
#include "auth_int.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_HEADER_MAX 4096 /* Authorization and Cookie headers we read */

/* ------------------------------------------------------------- hosts */

/* Splits "name", "name:port", "[v6]" or "[v6]:port" into a lower-case
 * name and a port (-1 when none is given). 0 or HB_EINVAL. */
static int s_host_split(const char *text, char *name, size_t namelen, int *port)
{
    size_t n = strlen(text);
    const char *colon = NULL;
    size_t nlen;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end)
            return HB_EINVAL;
        nlen = (size_t)(end - text) + 1;
        if (end[1] == ':')
            colon = end + 1;
        else if (end[1] != '\0')
            return HB_EINVAL;
    } else {
        colon = strrchr(text, ':');
        if (colon && memchr(text, ':', (size_t)(colon - text)))
            return HB_EINVAL; /* a bare IPv6 address: it needs brackets */
        nlen = colon ? (size_t)(colon - text) : n;
    }
    if (nlen == 0 || nlen >= namelen)
        return HB_EINVAL;
    for (size_t i = 0; i < nlen; i++)
        name[i] = (char)tolower((unsigned char)text[i]);
    name[nlen] = '\0';
    *port = -1;
    if (colon) {
        const char *p = colon + 1;
        size_t plen = strlen(p);
        if (plen == 0 || plen > 5 || strspn(p, "0123456789") != plen)
            return HB_EINVAL;
        long v = strtol(p, NULL, 10);
        if (v < 1 || v > 65535)
            return HB_EINVAL;
        *port = (int)v;
    }
    return 0;
}

static void s_host_add(hq_auth_t *a, const char *name, int port)
{
    if (a->n_hosts >= sizeof a->hosts / sizeof a->hosts[0])
        return;
    for (size_t i = 0; i < a->n_hosts; i++)
        if (strcasecmp(a->hosts[i].name, name) == 0 && a->hosts[i].port == port)
            return;
    auth_host_t *h = &a->hosts[a->n_hosts++];
    snprintf(h->name, sizeof h->name, "%s", name);
    for (char *p = h->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    h->port = port;
}

static int s_hosts_init(hq_auth_t *a, char *err, size_t errlen)
{
    char name[AUTH_HOST_MAX];
    int port;
    if (a->cfg.n_hosts > HQ_AUTH_HOSTS_MAX) {
        hb_errf(err, errlen, "http_hosts: %zu names, at most %d", a->cfg.n_hosts,
                HQ_AUTH_HOSTS_MAX);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < a->cfg.n_hosts; i++) {
        if (s_host_split(a->cfg.hosts[i], name, sizeof name, &port) != 0) {
            hb_errf(err, errlen,
                    "http_hosts: '%s' is not a host name, a [v6] address or either with :PORT",
                    a->cfg.hosts[i]);
            return HB_EINVAL;
        }
        s_host_add(a, name, port);
    }
    if (a->cfg.n_hosts)
        return 0;
    /* The defaults: the address listened on, when it names one, and the
     * loopback names, each with the port. */
    if (a->cfg.listen && s_host_split(a->cfg.listen, name, sizeof name, &port) == 0 &&
        strcmp(name, "0.0.0.0") != 0 && strcmp(name, "[::]") != 0 && strcmp(name, "*") != 0)
        s_host_add(a, name, a->cfg.port);
    s_host_add(a, "localhost", a->cfg.port);
    s_host_add(a, "127.0.0.1", a->cfg.port);
    s_host_add(a, "[::1]", a->cfg.port);
    return 0;
}

/* Whether the request's Host is one of ours; `host` gets it for the
 * refusal. */
static bool s_host_ok(const hq_auth_t *a, const hb_http_req_t *req, char *host, size_t hostlen)
{
    if (hb_http_host(req, host, hostlen) != 0) {
        snprintf(host, hostlen, "(none)");
        return false;
    }
    char name[AUTH_HOST_MAX];
    int port;
    if (s_host_split(host, name, sizeof name, &port) != 0)
        return false;
    if (port < 0)
        port = a->cfg.tls ? 443 : 80;
    for (size_t i = 0; i < a->n_hosts; i++)
        if (strcmp(a->hosts[i].name, name) == 0 &&
            (a->hosts[i].port < 0 || a->hosts[i].port == port))
            return true;
    return false;
}

/* ------------------------------------------------------------- cache */

static size_t s_slot_home(const uint8_t hash[HQ_AUTH_HASH])
{
    uint64_t v;
    memcpy(&v, hash, sizeof v); /* a cryptographic hash: any 8 bytes are spread */
    return (size_t)v & (AUTH_CACHE_SLOTS - 1);
}

static auth_slot_t *s_slot(hq_auth_t *a, const uint8_t hash[HQ_AUTH_HASH])
{
    size_t i = s_slot_home(hash);
    while (a->cache[i].id && memcmp(a->cache[i].hash, hash, HQ_AUTH_HASH) != 0)
        i = (i + 1) & (AUTH_CACHE_SLOTS - 1);
    return &a->cache[i];
}

/* Writes the last uses that are due (all of them with `all`). */
static void s_touch(hq_auth_t *a, bool all)
{
    enum { BATCH = 256 };
    hq_touch_t t[BATCH];
    size_t n = 0;
    for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
        hq_ident_t *id = a->cache[i].id;
        if (!id || id->last_ms <= id->written_ms)
            continue;
        if (!all && id->written_ms > 0 && id->last_ms - id->written_ms < HQ_AUTH_TOUCH_EVERY_MS)
            continue;
        memcpy(t[n].hash, id->cred, HQ_AUTH_HASH);
        t[n].session = id->kind == HQ_CRED_SESSION;
        t[n].at_ms = id->last_ms;
        id->written_ms = id->last_ms;
        if (++n == BATCH) {
            hq_authdb_touch(a->db, t, n);
            n = 0;
        }
    }
    if (n)
        hq_authdb_touch(a->db, t, n);
}

static void s_cache_flush(hq_auth_t *a)
{
    for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
        if (a->cache[i].id)
            hq_ident_unref(&a->cache[i].id);
    a->cached = 0;
}

void auth_cache_put(hq_auth_t *a, hq_ident_t *id)
{
    if (a->cached + 1 > AUTH_CACHE_SLOTS / 2) {
        /* Full: start again rather than evict one by one; the busy callers
         * come back at one store read each. */
        s_touch(a, true);
        s_cache_flush(a);
    }
    auth_slot_t *s = s_slot(a, id->cred);
    if (s->id) {
        hq_ident_unref(&s->id);
        a->cached--;
    }
    memcpy(s->hash, id->cred, HQ_AUTH_HASH);
    s->id = hq_ident_ref(id);
    a->cached++;
}

void auth_refresh(hq_auth_t *a)
{
    uint64_t gen;
    if (hq_authdb_generation(a->db, &gen) != 0 || gen == a->gen)
        return;
    s_touch(a, true);
    s_cache_flush(a);
    a->gen = gen;
    a->gen_moved = true;
    a->stats.generations++;
}

hq_ident_t *auth_lookup(hq_auth_t *a, hq_cred_kind_t kind, const uint8_t hash[HQ_AUTH_HASH])
{
    auth_slot_t *s = s_slot(a, hash);
    if (s->id && s->id->kind == kind) {
        a->stats.cache_hits++;
        return s->id;
    }
    if (s->id)
        return NULL; /* the same hash as the other kind: not this credential */
    a->stats.cache_misses++;
    hq_person_t person;
    hq_token_t tok = {0};
    hq_session_t ses = {0};
    bool token = kind == HQ_CRED_TOKEN;
    int rc = token ? hq_authdb_token_get(a->db, hash, &tok, &person)
                   : hq_authdb_session_get(a->db, hash, &ses, &person);
    hq_ident_t *id = rc == 0 ? hq_ident_new(&person, kind, hash) : NULL;
    if (id && token) {
        snprintf(id->token_name, sizeof id->token_name, "%s", tok.name);
        id->created_ms = tok.created_ms;
        id->expires_ms = tok.expires_ms;
        id->last_ms = id->written_ms = tok.last_used_ms;
    } else if (id) {
        snprintf(id->csrf, sizeof id->csrf, "%s", ses.csrf);
        id->created_ms = ses.created_ms;
        id->expires_ms = ses.created_ms + a->cfg.session_max_ms;
        id->last_ms = id->written_ms = ses.last_ms;
    }
    sodium_memzero(&ses, sizeof ses);
    if (!id)
        return NULL;
    auth_cache_put(a, id);
    hq_ident_unref(&id); /* the cache's reference remains */
    return s_slot(a, hash)->id;
}

bool auth_expired(const hq_auth_t *a, const hq_ident_t *id, int64_t now_ms, const char **why)
{
    if (id->ended) {
        *why = "the session was signed out; sign in again";
        return true;
    }
    if (id->kind == HQ_CRED_TOKEN) {
        if (id->expires_ms > 0 && now_ms >= id->expires_ms) {
            *why = "the token has expired";
            return true;
        }
        return false;
    }
    if (now_ms >= id->expires_ms) {
        *why = "the session has ended (it lasts at most session_max); sign in again";
        return true;
    }
    if (now_ms - id->last_ms > a->cfg.session_idle_ms) {
        *why = "the session was idle too long (session_idle); sign in again";
        return true;
    }
    return false;
}

/* ------------------------------------------------------ new, destroy */

int hq_auth_new(const hq_auth_config_t *cfg, hq_control_t *ctl, hq_auth_t **out, char *err,
                size_t errlen)
{
    *out = NULL;
    hq_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return HB_ENOMEM;
    a->cfg = *cfg;
    a->ctl = ctl;
    a->cache = calloc(AUTH_CACHE_SLOTS, sizeof *a->cache);
    int rc = a->cache ? s_hosts_init(a, err, errlen) : HB_ENOMEM;
    if (rc == 0)
        rc = hq_authdb_open(cfg->dir, &a->db, err, errlen);
    if (rc == 0)
        rc = hq_authdb_generation(a->db, &a->gen);
    if (rc != 0) {
        hq_authdb_close(&a->db);
        free(a->cache);
        free(a);
        return rc;
    }
    /* The pointers of the settings are not kept: the hosts are parsed. */
    a->cfg.hosts = NULL;
    a->cfg.n_hosts = 0;
    a->cfg.listen = NULL;
    a->cfg.dir = NULL;
    char names[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < a->n_hosts && used < sizeof names; i++) {
        int n = a->hosts[i].port < 0 ? snprintf(names + used, sizeof names - used, "%s%s",
                                                i ? ", " : "", a->hosts[i].name)
                                     : snprintf(names + used, sizeof names - used, "%s%s:%d",
                                                i ? ", " : "", a->hosts[i].name, a->hosts[i].port);
        used = n < 0 ? sizeof names : used + (size_t)n;
    }
    hb_info("auth: answering Host %s", names);
    *out = a;
    return 0;
}

static void s_fini(hq_auth_t *a)
{
    s_touch(a, true);
    auth_audit_flush(a);
    for (size_t i = 0; i < a->queued; i++)
        json_decref(a->queue[i]);
    hq_ident_unref(&a->cur.id);
    s_cache_flush(a);
    free(a->cache);
    hq_authdb_close(&a->db);
}

void hq_auth_destroy(hq_auth_t **ap) { HB_DESTROY(ap, s_fini); }

bool hq_auth_tls(const hq_auth_t *a) { return a->cfg.tls; }

/* ------------------------------------------------------------- guard */

static bool s_is_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static void s_unauthenticated(hq_auth_t *a, hb_http_req_t *req, const char *reason)
{
    a->stats.unauthenticated++;
    hb_http_add_header(req, "WWW-Authenticate", "Bearer realm=\"hallbus\"");
    hb_http_reply_error(req, 401, "unauthenticated", "%s", reason);
}

static void s_forbidden(hq_auth_t *a, hb_http_req_t *req, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_forbidden(hq_auth_t *a, hb_http_req_t *req, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->cur.reason, sizeof a->cur.reason, fmt, ap);
    va_end(ap);
    a->stats.forbidden++;
    hb_http_reply_error(req, 403, "forbidden", "%s", a->cur.reason);
}

bool hq_auth_cookie_value(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t len = strcspn(p, ";");
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            while (vlen > 0 && p[nlen + 1 + vlen - 1] == ' ')
                vlen--;
            if (vlen == 0 || vlen >= outlen)
                return false;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}

/* The request's credential: its kind and the secret's hash. 0, or 1 after
 * answering 401. */
static int s_credential(hq_auth_t *a, hb_http_req_t *req, hq_cred_kind_t *kind,
                        uint8_t hash[HQ_AUTH_HASH])
{
    char buf[AUTH_HEADER_MAX], secret[HQ_AUTH_SECRET_MAX];
    int rc = hb_http_header(req, "authorization", buf, sizeof buf);
    if (rc == 0) {
        if (strncasecmp(buf, "Bearer ", 7) != 0) {
            s_unauthenticated(a, req, "Authorization must be 'Bearer TOKEN'");
            return 1;
        }
        const char *tok = buf + 7;
        while (*tok == ' ')
            tok++;
        if (strncmp(tok, "hqt_", 4) != 0 || strlen(tok) >= sizeof secret) {
            s_unauthenticated(a, req, "the bearer token is not an HQ API token (hqt_...)");
            return 1;
        }
        snprintf(secret, sizeof secret, "%s", tok);
        *kind = HQ_CRED_TOKEN;
    } else if (rc == HB_ETOOBIG) {
        s_unauthenticated(a, req, "the Authorization header is too long");
        return 1;
    } else if (hb_http_header(req, "cookie", buf, sizeof buf) == 0 &&
               hq_auth_cookie_value(buf, HQ_AUTH_COOKIE, secret, sizeof secret)) {
        if (strncmp(secret, "hqs_", 4) != 0) {
            s_unauthenticated(a, req, "the session cookie is not one of this HQ's; sign in");
            return 1;
        }
        *kind = HQ_CRED_SESSION;
    } else {
        s_unauthenticated(a, req,
                          "sign in (POST /v1/login) or send 'Authorization: Bearer TOKEN' "
                          "(tokens: hqd users token)");
        return 1;
    }
    hq_auth_hash(secret, hash);
    sodium_memzero(secret, sizeof secret);
    return 0;
}

/* The route's object for its scope check, and whether the caller holds
 * `perm` over it; 0, or 1 after answering 403. */
static int s_scope(hq_auth_t *a, hb_http_req_t *req, const hb_route_t *route, hq_ident_t *id)
{
    const org_t *org = hq_control_org(a->ctl);
    const hq_view_t *v = hq_ident_view(id, route->perm, org, hq_control_org_generation(a->ctl));
    if (!v) {
        hb_http_reply_error(req, 503, "no_memory", "cannot check the scope now");
        return 1;
    }
    if (route->scope == HB_SCOPE_ANY || v->all)
        return 0;
    char where[256];
    hq_ident_where(id, route->perm, where, sizeof where);
    const char *perm = hb_perm_name(route->perm);
    if (route->scope == HB_SCOPE_ALL) {
        s_forbidden(a, req, "%s %s needs %s over the whole network; you hold it over %s",
                    req->method, route->pattern, perm, where);
        return 1;
    }
    const char *obj = route->scope_param ? hb_http_param(req, route->scope_param) : NULL;
    if (!obj) {
        s_forbidden(a, req, "%s %s: no object to check the scope against", req->method,
                    route->pattern);
        return 1;
    }
    bool ok = false;
    const char *what = "object";
    if (route->scope == HB_SCOPE_HALL) {
        what = "hall";
        ok = hq_view_hall(v, org, obj);
    } else if (route->scope == HB_SCOPE_REGION) {
        what = "region";
        ok = hq_view_region(v, org, obj);
    } else if (route->scope == HB_SCOPE_CAMPAIGN) {
        what = "campaign";
        const campaign_t *k = campaign_calendar_find(hq_control_calendar(a->ctl), obj);
        ok = k && hq_view_region(v, org, k->region);
    }
    if (!ok) {
        s_forbidden(a, req, "%s %.64s is outside your scope for %s: you hold it over %s", what, obj,
                    perm, where);
        return 1;
    }
    return 0;
}

bool hq_auth_guard(hb_http_req_t *req, const hb_route_t *route, void *arg)
{
    hq_auth_t *a = arg;
    if (a->busy) /* a request whose after-hook never came (a bug): let it go */
        hq_ident_unref(&a->cur.id);
    memset(&a->cur, 0, sizeof a->cur);
    a->cur.a = a;
    a->cur.before = a->cur.after = -1;
    a->busy = true;
    req->caller = &a->cur;

    /* GET /v1/health answers whatever Host a load balancer sends; nothing
     * else does (DNS rebinding). */
    bool health = route->perm == HB_PERM_PUBLIC && strcmp(route->pattern, "/v1/health") == 0;
    char host[AUTH_HOST_MAX];
    if (!health && !s_host_ok(a, req, host, sizeof host)) {
        a->stats.wrong_host++;
        hb_http_reply_error(req, 421, "misdirected_request",
                            "Host '%.100s' is not a name this HQ answers to (setting http_hosts)",
                            host);
        return false;
    }
    if (route->perm == HB_PERM_PUBLIC)
        return true;
    auth_refresh(a);
    hq_cred_kind_t kind;
    uint8_t hash[HQ_AUTH_HASH];
    if (s_credential(a, req, &kind, hash) != 0)
        return false;
    hq_ident_t *id = auth_lookup(a, kind, hash);
    if (!id) {
        s_unauthenticated(a, req,
                          kind == HQ_CRED_TOKEN
                              ? "unknown or revoked token"
                              : "no such session (signed out, ended or removed); sign "
                                "in again");
        return false;
    }
    int64_t now = hb_now_ms();
    const char *why;
    if (auth_expired(a, id, now, &why)) {
        s_unauthenticated(a, req, why);
        return false;
    }
    id->last_ms = now;
    a->cur.id = hq_ident_ref(id);
    a->cur.cookie = kind == HQ_CRED_SESSION;
    if (a->cur.cookie && s_is_write(req->method)) {
        /* A cross-site form or text/plain POST carries the cookie but
         * cannot set a header; only the page that signed in knows it. */
        char csrf[HQ_AUTH_CSRF_MAX + 8];
        if (hb_http_header(req, HQ_AUTH_CSRF_HEADER, csrf, sizeof csrf) != 0 ||
            strlen(csrf) != strlen(id->csrf) ||
            sodium_memcmp(csrf, id->csrf, strlen(id->csrf)) != 0) {
            s_forbidden(a, req,
                        "a write made with a session cookie must carry the session's "
                        "X-CSRF-Token header (from POST /v1/login or GET /v1/me)");
            return false;
        }
    }
    if (!hq_ident_has(id, route->perm)) {
        char roles[256];
        hq_roles_granting(route->perm, roles, sizeof roles);
        s_forbidden(a, req, "%s %s needs permission %s (a role of: %s); %s has none of them",
                    req->method, route->pattern, hb_perm_name(route->perm), roles, id->name);
        return false;
    }
    if (s_scope(a, req, route, id) != 0)
        return false;
    a->stats.allowed++;
    return true;
}

hq_ident_t *hq_auth_session_of(hq_auth_t *a, const hb_http_req_t *req)
{
    /* Only the cookie: a browser's navigation to the page carries no
     * Authorization header, and a caller with a token asks GET /v1/me. */
    char buf[AUTH_HEADER_MAX], secret[HQ_AUTH_SECRET_MAX];
    if (hb_http_header(req, "cookie", buf, sizeof buf) != 0 ||
        !hq_auth_cookie_value(buf, HQ_AUTH_COOKIE, secret, sizeof secret) ||
        strncmp(secret, "hqs_", 4) != 0)
        return NULL;
    uint8_t hash[HQ_AUTH_HASH];
    hq_auth_hash(secret, hash);
    sodium_memzero(secret, sizeof secret);
    auth_refresh(a);
    hq_ident_t *id = auth_lookup(a, HQ_CRED_SESSION, hash);
    int64_t now = hb_now_ms();
    const char *why;
    if (!id || auth_expired(a, id, now, &why))
        return NULL;
    /* Loading the page is the person's doing, as the GET /v1/me it saves
     * was: it keeps the session from going idle. */
    id->last_ms = now;
    return hq_ident_ref(id);
}

void hq_auth_after(hb_http_req_t *req, const hb_route_t *route, int status, void *arg)
{
    hq_auth_t *a = arg;
    if (req->caller != &a->cur)
        return;
    auth_audit_request(a, req, route, status);
    hq_ident_unref(&a->cur.id);
    a->busy = false;
    req->caller = NULL;
}

/* --------------------------------------------------------- handlers */

static auth_req_t *s_req(const hb_http_req_t *req)
{
    /* The server hands the slot on as const; what it points to is this
     * module's own per-request state (a->cur), which it may change. */
    return req ? (auth_req_t *)req->caller : NULL;
}

hq_ident_t *hq_auth_identity(const hb_http_req_t *req)
{
    auth_req_t *r = s_req(req);
    return r ? r->id : NULL;
}

const char *hq_auth_name(const hb_http_req_t *req)
{
    hq_ident_t *id = hq_auth_identity(req);
    return id ? id->name : "";
}

const hq_view_t *hq_auth_view(const hb_http_req_t *req, hb_perm_t perm)
{
    auth_req_t *r = s_req(req);
    if (!r || !r->id)
        return NULL;
    return hq_ident_view(r->id, perm, hq_control_org(r->a->ctl),
                         hq_control_org_generation(r->a->ctl));
}

void hq_auth_forbid(hb_http_req_t *req, hb_perm_t perm, const char *fmt, ...)
{
    auth_req_t *r = s_req(req);
    char what[AUTH_REASON_MAX / 2], where[200] = "nowhere";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (r && r->id)
        hq_ident_where(r->id, perm, where, sizeof where);
    if (r) {
        snprintf(r->reason, sizeof r->reason,
                 "%s is outside your scope for %s: you hold it over %s", what, hb_perm_name(perm),
                 where);
        r->a->stats.forbidden++;
    }
    hb_http_reply_error(req, 403, "forbidden",
                        "%s is outside your scope for %s: you hold it over %s", what,
                        hb_perm_name(perm), where);
}

void hq_auth_note_object(hb_http_req_t *req, const char *id)
{
    auth_req_t *r = s_req(req);
    if (r && id)
        snprintf(r->object, sizeof r->object, "%s", id);
}

void hq_auth_note_versions(hb_http_req_t *req, int64_t before, int64_t after)
{
    auth_req_t *r = s_req(req);
    if (!r)
        return;
    r->before = before;
    r->after = after;
    r->versions = true;
}

void hq_auth_note_reason(hb_http_req_t *req, const char *reason)
{
    auth_req_t *r = s_req(req);
    if (r && reason)
        snprintf(r->reason, sizeof r->reason, "%s", reason);
}

/* ----------------------------------------------------------- streams */

typedef struct auth_owner {
    hq_auth_t *a;
    hq_ident_t *id;
} auth_owner_t;

static bool s_owner_sees(void *who, const char *type, const char *hall, const char *region)
{
    (void)region;
    auth_owner_t *o = who;
    hq_control_t *ctl = o->a->ctl;
    const org_t *org = hq_control_org(ctl);
    /* An alert is for whoever reads alerts there; the rest is the board. */
    hb_perm_t perm = strcmp(type, "alert") == 0 ? HB_PERM_ALERTS_READ : HB_PERM_LIVE_READ;
    if (!hq_ident_has(o->id, perm))
        return false;
    const hq_view_t *v = hq_ident_view(o->id, perm, org, hq_control_org_generation(ctl));
    if (!v)
        return false;
    if (v->all)
        return true;
    /* Aggregates over regions and the network ("regions") mix halls of
     * every scope: a scoped stream gets tiles and alerts only. */
    return hall && hall[0] && hq_view_hall(v, org, hall);
}

static void s_owner_release(void *who)
{
    auth_owner_t *o = who;
    hq_ident_unref(&o->id);
    free(o);
}

bool hq_auth_stream_owner(const hb_http_req_t *req, hq_sse_owner_t *out)
{
    auth_req_t *r = s_req(req);
    if (!r || !r->id)
        return false;
    auth_owner_t *o = calloc(1, sizeof *o);
    if (!o)
        return false;
    o->a = r->a;
    o->id = hq_ident_ref(r->id);
    *out = (hq_sse_owner_t){.who = o, .sees = s_owner_sees, .release = s_owner_release};
    return true;
}

/* Whether a stream's owner is no longer who they were when it opened. */
static bool s_owner_stale(void *who, void *arg)
{
    auth_owner_t *o = who;
    hq_auth_t *a = arg;
    hq_ident_t *now = auth_lookup(a, o->id->kind, o->id->cred);
    const char *why;
    return !now || auth_expired(a, now, hb_now_ms(), &why) || !hq_ident_same_grants(now, o->id);
}

static void s_check_streams(hq_auth_t *a, hq_sse_t *sse)
{
    if (!sse)
        return;
    size_t closed = hq_sse_close_owned(sse, s_owner_stale, a);
    if (closed) {
        a->stats.streams_closed += closed;
        hb_info("auth: closed %zu stream(s) whose owner's access ended or changed", closed);
    }
}

void hq_auth_tick(hq_auth_t *a, hq_sse_t *sse)
{
    auth_refresh(a);
    if (a->gen_moved) {
        a->gen_moved = false;
        s_check_streams(a, sse);
    }
    auth_audit_flush(a);
    s_touch(a, false);
}

void hq_auth_prune(hq_auth_t *a, hq_sse_t *sse)
{
    int64_t now = hb_now_ms();
    s_touch(a, true);
    size_t removed = 0;
    hq_authdb_sessions_prune(a->db, now, a->cfg.session_idle_ms, a->cfg.session_max_ms, &removed);
    if (removed)
        hb_info("auth: %zu session(s) ended (idle or too old)", removed);
    s_check_streams(a, sse);
    size_t deleted = 0;
    int64_t before = a->cfg.audit_retention_ms > 0 ? now - a->cfg.audit_retention_ms : 0;
    hq_authdb_audit_prune(a->db, before, a->cfg.audit_max, 10000, &deleted);
    if (deleted)
        hb_info("auth: %zu audit record(s) past audit_retention or audit_max deleted", deleted);
}

void hq_auth_get_stats(const hq_auth_t *a, hq_auth_stats_t *out) { *out = a->stats; }

json_t *hq_auth_stats_json(const hq_auth_t *a)
{
    const hq_auth_stats_t *s = &a->stats;
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "allowed",
        (json_int_t)s->allowed, "unauthenticated", (json_int_t)s->unauthenticated, "forbidden",
        (json_int_t)s->forbidden, "wrong_host", (json_int_t)s->wrong_host, "cache_hits",
        (json_int_t)s->cache_hits, "cache_misses", (json_int_t)s->cache_misses, "generations",
        (json_int_t)s->generations, "logins", (json_int_t)s->logins, "login_failures",
        (json_int_t)s->login_failures, "login_throttled", (json_int_t)s->login_throttled,
        "streams_closed", (json_int_t)s->streams_closed, "audit_records",
        (json_int_t)s->audit_records, "audit_dropped", (json_int_t)s->audit_dropped, "cached",
        (json_int_t)a->cached);
}
