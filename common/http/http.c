/* The HTTP/JSON server of both daemons: h2o 2.2 (libuv flavour) on the
 * daemon's loop, one catch-all h2o path whose handler dispatches over the
 * daemon's route table (router.c's patterns, then path prefixes), whole
 * bodies up to a limit. What clients may hold (connections in all and per
 * address group, the time to receive a request) is conns.c's.
 *
 * It serves TLS when given a certificate (hb_http_set_tls: OpenSSL through
 * h2o's accept context). It is not a web framework: no HTTP/2, no static
 * files, no streaming of request bodies. Handlers answer synchronously,
 * before they return, or defer their answer (hb_http_defer). */
#include "hallbus/http.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/metrics.h"
#include "hallbus/utf8.h"
#include "hallbus/time.h"

#include "internal.h"

#include <h2o.h>
#include <h2o/socket/uv-binding.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(HTTP_ROUTES_MAX <= HTTP_REQSTATS_PREFIX_MAX, "a prefix route without its slot");
#define HTTP_PATH_MAX 4096    /* decoded path, longer is refused with 414 */
#define HTTP_HOSTPORT_MAX 300 /* "[v6 literal]:port" or a host name and port */
#define HTTP_REASON_MAX 512    /* the "reason" text of an error body */
#define HTTP_QUERY_KEY_MAX 128 /* a query parameter's name, decoded */
#define HTTP_HEADER_NAME_MAX 64     /* a header a handler adds: its name */
#define HTTP_HEADER_VALUE_MAX 4096  /* ... and its value */
#define HTTP_ADDED_HEADERS_MAX 8    /* ... and how many per answer */
#define HTTP_BACKLOG 256

typedef struct http_handler {
    h2o_handler_t super;
    hb_http_t *http;
} http_handler_t;

typedef struct http_errfilter {
    h2o_filter_t super;
    hb_http_t *http;
} http_errfilter_t;

typedef struct http_errostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
    bool sent;
} http_errostream_t;

/* What hb_http_req_t.impl points at while a handler runs. */
typedef struct http_exchange {
    h2o_req_t *req;
    hb_http_t *http;
    bool answered;
    const hb_router_match_t *match; /* the pattern route's parameters; NULL for a prefix route */
    const hb_route_t *route;        /* the route that took the request, once one did */
    int status;                     /* the answer's, once given */
    unsigned added_headers;         /* by hb_http_add_header */
    bool deferred;                  /* hb_http_defer took it: answered later */
    /* For a deferred answer's timing (reqstats.c), given later. */
    size_t slot;
    int64_t t0_ns;
} http_exchange_t;

/* A request whose answer comes later (hb_http_defer): copies of the
 * exchange and the request, and a marker in the request's pool that tells
 * when h2o disposes of it (the client went away). */
typedef struct http_defer_marker {
    hb_http_deferred_t *d; /* NULL once the handle is freed */
} http_defer_marker_t;

struct hb_http_deferred {
    http_exchange_t ex;
    hb_http_req_t req;
    http_defer_marker_t *marker; /* NULL once h2o disposed of the request */
};

/* A streamed answer. The generator is first: h2o hands it back to proceed
 * and stop. `inflight` is what h2o is sending now (it must stay valid until
 * proceed), `pending` what was written since. */
struct hb_http_stream {
    h2o_generator_t gen;
    h2o_req_t *req;
    hb_http_t *http;
    struct hb_http_stream *prev, *next;
    char *inflight;
    char *pending;
    size_t pending_len, pending_cap, max_queued;
    bool sending, closing;
    hb_http_stream_closed_fn on_closed;
    void *arg;
};

static const char *s_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    }
    return status < 400 ? "OK" : "Error";
}

static const char *s_error_code(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "timeout";
    case 411: return "length_required";
    case 413: return "too_large";
    case 414: return "too_long";
    case 417: return "expectation_failed";
    case 500: return "internal";
    case 503: return "unavailable";
    }
    return "http_error";
}

/* ---------------------------------------------------------------- decoding */

/* True when the decoded path has a "." or ".." segment: such paths are
 * refused rather than resolved, so a route prefix always means what it says. */
static bool s_has_dot_segment(const char *path)
{
    const char *p = path;
    while (*p) {
        if (*p == '/') {
            const char *seg = p + 1;
            size_t n = strcspn(seg, "/");
            if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return true;
            p = seg + n;
        } else {
            p++;
        }
    }
    return false;
}

/* ----------------------------------------------------------------- replies */

/* The status line and the headers every answer has: its type, and no
 * caching (answers are live figures). */
static void s_head(h2o_req_t *req, int status, const char *content_type)
{
    req->res.status = status;
    req->res.reason = s_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
}

static void s_send(http_exchange_t *ex, int status, const char *content_type, const char *body,
                   size_t len, const char *allow)
{
    h2o_req_t *req = ex->req;
    ex->answered = true;
    if (status < 200 || status > 599) {
        /* 1xx cannot end an exchange and anything else is not HTTP. */
        hb_log_once("http.bad_status", HB_LOG_ERROR, "http: a handler answered with status %d",
                    status);
        status = 500;
    }
    ex->status = status;
    s_head(req, status, content_type);
    if (allow)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    if (status == 204 || status == 304)
        len = 0;
    req->res.content_length = len;
    /* h2o_send_inline copies the body into the request's pool; streamed
     * answers take hb_http_stream_start instead. */
    h2o_send_inline(req, body, len);
}

static http_exchange_t *s_exchange(hb_http_req_t *req)
{
    assert(req && req->impl);
    http_exchange_t *ex = req->impl;
    if (ex->answered) {
        /* A programming error in a handler; h2o would crash on a second
         * response, so refuse it here and say so once. */
        hb_log_once("http.double_reply", HB_LOG_ERROR, "http: a handler answered %s %s twice",
                    req->method, req->path);
        assert(!"hb_http_reply_* called twice for one request");
        return NULL;
    }
    return ex;
}

static void s_send_error(http_exchange_t *ex, int status, const char *code, const char *reason,
                         const char *allow)
{
    char clean[HTTP_REASON_MAX];
    snprintf(clean, sizeof clean, "%s", reason);
    /* A reason cut short by its buffer, or quoting a client's bytes, still
     * makes a JSON string. */
    hb_utf8_sanitize(clean);
    json_t *o = json_pack("{s:s, s:s}", "error", code, "reason", clean);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        static const char fallback[] = "{\"error\":\"internal\",\"reason\":\"out of memory\"}";
        s_send(ex, 500, "application/json; charset=utf-8", fallback, sizeof fallback - 1, NULL);
        return;
    }
    s_send(ex, status, "application/json; charset=utf-8", text, strlen(text), allow);
    free(text);
}

/* h2o disposes of a request's pool: the deferred answer has nowhere to go. */
static void s_defer_disposed(void *p)
{
    http_defer_marker_t *m = p;
    if (m->d)
        m->d->marker = NULL;
}

hb_http_deferred_t *hb_http_defer(hb_http_req_t *req)
{
    http_exchange_t *ex = s_exchange(req);
    if (!ex)
        return NULL;
    hb_http_deferred_t *d = calloc(1, sizeof *d);
    if (!d) {
        s_send_error(ex, 503, "unavailable", "out of memory", NULL);
        return NULL;
    }
    d->marker = h2o_mem_alloc_shared(&ex->req->pool, sizeof *d->marker, s_defer_disposed);
    d->marker->d = d;
    ex->deferred = true;
    d->ex = *ex;
    d->ex.match = NULL; /* on the handler's stack: gone when it returns */
    /* The handler's own exchange counts as answered (a second answer is a
     * bug, refused as one); the copy is the one to answer. */
    ex->answered = true;
    d->req = *req;
    d->req.impl = &d->ex;
    d->req.caller = NULL;
    return d;
}

hb_http_req_t *hb_http_deferred_req(hb_http_deferred_t *d)
{
    if (!d || !d->marker || d->ex.answered || d->ex.http->destroying)
        return NULL;
    return &d->req;
}

void hb_http_deferred_free(hb_http_deferred_t **dp)
{
    hb_http_deferred_t *d = *dp;
    if (!d)
        return;
    *dp = NULL;
    if (d->marker && !d->ex.answered)
        s_send_error(&d->ex, 503, "unavailable", "the answer was not given", NULL);
    if (d->marker) {
        /* The request is alive, so is its server: the answer's time. */
        hb_http__reqstats_record(&d->ex.http->reqstats, d->ex.slot, d->ex.route, d->ex.status,
                                 d->ex.t0_ns);
        d->marker->d = NULL;
    }
    free(d);
}

void hb_http_reply_json(hb_http_req_t *req, int status, json_t *body)
{
    http_exchange_t *ex = s_exchange(req);
    if (!ex) {
        json_decref(body);
        return;
    }
    if (!body) {
        s_send_error(ex, 500, "internal", "the handler could not build its answer", NULL);
        return;
    }
    /* 12 significant digits: 0.942 is shown as 0.942, not 0.94199999999999995. */
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
    json_decref(body);
    if (!text) {
        hb_log_once("http.json_dumps", HB_LOG_ERROR, "http: cannot serialise the answer to %s %s",
                    req->method, req->path);
        s_send_error(ex, 500, "internal", "the answer could not be serialised", NULL);
        return;
    }
    s_send(ex, status, "application/json; charset=utf-8", text, strlen(text), NULL);
    free(text);
}

void hb_http_reply_error(hb_http_req_t *req, int status, const char *code, const char *fmt, ...)
{
    http_exchange_t *ex = s_exchange(req);
    if (!ex)
        return;
    char reason[HTTP_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    s_send_error(ex, status, code ? code : s_error_code(status), reason, NULL);
}

void hb_http_reply_raw(hb_http_req_t *req, int status, const char *content_type, const char *body,
                       size_t len)
{
    http_exchange_t *ex = s_exchange(req);
    if (!ex)
        return;
    s_send(ex, status, content_type ? content_type : "application/octet-stream", body ? body : "",
           body ? len : 0, NULL);
}

bool hb_http_etag_match(const hb_http_req_t *req, const char *etag)
{
    char inm[1024];
    if (hb_http_header(req, "if-none-match", inm, sizeof inm) != 0)
        return false;
    /* A list of entity tags, each maybe weak ("W/"): weak comparison, as
     * RFC 9110 13.1.2 asks of If-None-Match. */
    size_t elen = strlen(etag);
    const char *want = etag[0] == 'W' && etag[1] == '/' ? etag + 2 : etag;
    if (want != etag)
        elen -= 2;
    for (char *p = inm; *p;) {
        p += strspn(p, " \t,");
        if (!*p)
            break;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        const char *tag = p;
        if (m >= 2 && tag[0] == 'W' && tag[1] == '/') {
            tag += 2;
            m -= 2;
        }
        if ((m == 1 && tag[0] == '*') || (m == elen && memcmp(tag, want, m) == 0))
            return true;
        p += n;
    }
    return false;
}

void hb_http_reply_cacheable(hb_http_req_t *req, const char *content_type, const char *body,
                             size_t len, const char *etag, int max_age_s)
{
    http_exchange_t *ex = s_exchange(req);
    if (!ex)
        return;
    h2o_req_t *r = ex->req;
    ex->answered = true;
    bool fresh = hb_http_etag_match(req, etag);
    int status = fresh ? 304 : 200;
    char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%d", max_age_s < 0 ? 0 : max_age_s);
    r->res.status = status;
    r->res.reason = s_reason(status);
    h2o_add_header(&r->pool, &r->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    h2o_add_header(&r->pool, &r->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   h2o_strdup(&r->pool, cc, SIZE_MAX).base, strlen(cc));
    h2o_add_header(&r->pool, &r->res.headers, H2O_TOKEN_ETAG, NULL,
                   h2o_strdup(&r->pool, etag, SIZE_MAX).base, strlen(etag));
    if (fresh)
        len = 0;
    r->res.content_length = len;
    h2o_send_inline(r, body ? body : "", body ? len : 0);
}

/* ---------------------------------------------------------------- streams */

static void s_stream_free(hb_http_stream_t *st)
{
    hb_http_t *http = st->http;
    if (st->prev)
        st->prev->next = st->next;
    else
        http->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    http->nstreams--;
    if (st->on_closed)
        st->on_closed(st, st->arg);
    free(st->inflight);
    free(st->pending);
    free(st);
}

/* Hands what is pending to h2o, or ends the stream when closing and
 * nothing is left. Called when h2o is not sending. */
static void s_stream_kick(hb_http_stream_t *st)
{
    if (st->pending_len > 0) {
        free(st->inflight);
        st->inflight = st->pending;
        h2o_iovec_t buf = h2o_iovec_init(st->inflight, st->pending_len);
        st->pending = NULL;
        st->pending_len = st->pending_cap = 0;
        st->sending = true;
        h2o_send(st->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
        return;
    }
    if (st->closing) {
        h2o_req_t *req = st->req;
        st->req = NULL;
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        s_stream_free(st);
    }
}

static void s_stream_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    hb_http_stream_t *st = (hb_http_stream_t *)gen;
    st->sending = false;
    free(st->inflight);
    st->inflight = NULL;
    s_stream_kick(st);
}

/* The client went away: h2o will not take more. */
static void s_stream_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    hb_http_stream_t *st = (hb_http_stream_t *)gen;
    st->req = NULL;
    s_stream_free(st);
}

hb_http_stream_t *hb_http_stream_start(hb_http_req_t *hreq, int status, const char *content_type,
                                       size_t max_queued, hb_http_stream_closed_fn on_closed,
                                       void *arg)
{
    http_exchange_t *ex = s_exchange(hreq);
    if (!ex)
        return NULL;
    hb_http_stream_t *st = calloc(1, sizeof *st);
    if (!st) {
        s_send_error(ex, 503, "unavailable", "out of memory for a stream", NULL);
        return NULL;
    }
    h2o_req_t *req = ex->req;
    ex->answered = true;
    ex->status = status;
    st->gen.proceed = s_stream_proceed;
    st->gen.stop = s_stream_stop;
    st->req = req;
    st->http = ex->http;
    st->max_queued = max_queued;
    st->on_closed = on_closed;
    st->arg = arg;
    st->next = ex->http->streams;
    if (st->next)
        st->next->prev = st;
    ex->http->streams = st;
    ex->http->nstreams++;
    s_head(req, status, content_type);
    h2o_start_response(req, &st->gen);
    /* The headers go now; proceed comes back when they are written. */
    st->sending = true;
    h2o_send(req, NULL, 0, H2O_SEND_STATE_IN_PROGRESS);
    return st;
}

int hb_http_stream_write(hb_http_stream_t *st, const char *data, size_t len)
{
    if (st->closing || !st->req)
        return HB_ECLOSED;
    if (st->pending_len + len > st->max_queued)
        return HB_ETOOBIG;
    if (st->pending_len + len > st->pending_cap) {
        size_t cap = st->pending_cap ? st->pending_cap : 4096;
        while (cap < st->pending_len + len)
            cap *= 2;
        char *p = realloc(st->pending, cap);
        if (!p)
            return HB_ENOMEM;
        st->pending = p;
        st->pending_cap = cap;
    }
    memcpy(st->pending + st->pending_len, data, len);
    st->pending_len += len;
    if (!st->sending)
        s_stream_kick(st);
    return 0;
}

size_t hb_http_stream_queued(const hb_http_stream_t *st) { return st->pending_len; }

void hb_http_stream_close(hb_http_stream_t *st)
{
    if (st->closing)
        return;
    st->closing = true;
    if (!st->sending)
        s_stream_kick(st);
}

size_t hb_http_stream_count(const hb_http_t *http) { return http ? http->nstreams : 0; }

int hb_http_header(const hb_http_req_t *hreq, const char *name, char *out, size_t outlen)
{
    if (!hreq || !hreq->impl || !name || !out || outlen == 0)
        return HB_EINVAL;
    h2o_req_t *req = ((http_exchange_t *)hreq->impl)->req;
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0)
        return HB_ENOTFOUND;
    const h2o_iovec_t *v = &req->headers.entries[i].value;
    if (v->len >= outlen)
        return HB_ETOOBIG;
    memcpy(out, v->base, v->len);
    out[v->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ query */

int hb_http_query(const hb_http_req_t *req, const char *name, char *out, size_t outlen)
{
    if (!req || !name || !out || outlen == 0 || strlen(name) >= HTTP_QUERY_KEY_MAX)
        return HB_EINVAL;
    const char *q = req->query ? req->query : "";
    while (*q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        size_t klen = eq ? (size_t)(eq - q) : n;
        char key[HTTP_QUERY_KEY_MAX];
        /* A key that does not decode or does not fit cannot be `name`. */
        if (klen > 0 && hb_http__decode(q, klen, true, key, sizeof key, NULL) == 0 &&
            strcmp(key, name) == 0) {
            if (!eq) {
                out[0] = '\0';
                return 0;
            }
            int rc = hb_http__decode(eq + 1, n - klen - 1, true, out, outlen, NULL);
            if (rc != 0)
                out[0] = '\0';
            return rc;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return HB_ENOTFOUND;
}

/* ---------------------------------------------------------------- dispatch */

static bool s_prefix_matches(const http_route_t *r, const char *path, size_t path_len)
{
    if (path_len < r->prefix_len || memcmp(path, r->prefix, r->prefix_len) != 0)
        return false;
    /* Match on segment boundaries: "/v1/halls" serves "/v1/halls" and
     * "/v1/halls/..." but not "/v1/hallsX". A prefix ending in '/' matches
     * everything below it. */
    if (r->prefix_len == 0 || r->prefix[r->prefix_len - 1] == '/')
        return true;
    return path_len == r->prefix_len || path[r->prefix_len] == '/';
}

static char *s_pool_strndup(h2o_req_t *req, const char *s, size_t len)
{
    char *p = h2o_mem_alloc_pool(&req->pool, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* The prefix route for a path no pattern matched; NULL after answering 404
 * (naming `hint`, the route the path continues, when there is one) or 405. */
static const http_route_t *s_prefix_route(http_exchange_t *ex, hb_http_t *http,
                                          const char *method, const char *path, size_t path_len,
                                          const char *hint)
{
    char reason[HTTP_REASON_MAX];
    /* Longest matching prefix first; the method then picks among the routes
     * registered with exactly that prefix. */
    const http_route_t *best = NULL;
    for (size_t i = 0; i < http->nroutes; i++) {
        const http_route_t *r = &http->routes[i];
        if (s_prefix_matches(r, path, path_len) && (!best || r->prefix_len > best->prefix_len))
            best = r;
    }
    if (!best) {
        if (hint)
            snprintf(reason, sizeof reason, "no route for %s %.*s (%s takes no id)", method, 200,
                     path, hint);
        else
            snprintf(reason, sizeof reason, "no route for %s %.*s", method, 200, path);
        s_send_error(ex, 404, "not_found", reason, NULL);
        return NULL;
    }
    const http_route_t *route = NULL;
    char allow[HTTP_ROUTES_MAX * 4];
    size_t allow_len = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < http->nroutes && !route; i++) {
        const http_route_t *r = &http->routes[i];
        if (r->prefix_len != best->prefix_len ||
            memcmp(r->prefix, best->prefix, r->prefix_len) != 0)
            continue;
        if (r->method[0] == '\0' || strcmp(r->method, method) == 0) {
            route = r;
        } else {
            int w = snprintf(allow + allow_len, sizeof allow - allow_len, "%s%s",
                             allow_len ? ", " : "", r->method);
            if (w > 0 && (size_t)w < sizeof allow - allow_len)
                allow_len += (size_t)w;
        }
    }
    if (!route) {
        snprintf(reason, sizeof reason, "%s is not allowed on %.*s (allowed: %s)", method, 200,
                 path, allow);
        s_send_error(ex, 405, "method_not_allowed", reason, allow);
        return NULL;
    }

    return route;
}

/* Which route took the request, for its duration (s_on_req). */
typedef struct http_took {
    size_t slot; /* reqstats.c's slot */
    const hb_route_t *route;
    int64_t t0_ns;  /* when h2o handed the request over */
    bool deferred;  /* the handler deferred its answer: timed when it is given */
} http_took_t;

static int s_dispatch(h2o_handler_t *self, h2o_req_t *req, http_took_t *took)
{
    hb_http_t *http = ((http_handler_t *)self)->http;
    http_exchange_t ex = {.req = req, .http = http};
    char reason[HTTP_REASON_MAX];

    if (req->method.len == 0 || req->method.len >= HTTP_METHOD_MAX) {
        s_send_error(&ex, 400, "bad_request", "the request method is missing or too long", NULL);
        return 0;
    }
    char *method = s_pool_strndup(req, req->method.base, req->method.len);

    size_t raw_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *query = "";
    if (req->query_at != SIZE_MAX)
        query = s_pool_strndup(req, req->path.base + req->query_at + 1,
                               req->path.len - req->query_at - 1);
    if (raw_len == 0 || req->path.base[0] != '/') {
        s_send_error(&ex, 400, "bad_request", "the request target must be a path starting with '/'",
                     NULL);
        return 0;
    }
    if (raw_len > HTTP_PATH_MAX) {
        snprintf(reason, sizeof reason, "the path is longer than %d bytes", HTTP_PATH_MAX);
        s_send_error(&ex, 414, "too_long", reason, NULL);
        return 0;
    }
    char *path = h2o_mem_alloc_pool(&req->pool, raw_len + 1);
    size_t path_len = 0;
    if (hb_http__decode(req->path.base, raw_len, false, path, raw_len + 1, &path_len) != 0) {
        s_send_error(&ex, 400, "bad_path",
                     "the path has an invalid percent-encoding (or an encoded NUL)", NULL);
        return 0;
    }
    if (s_has_dot_segment(path)) {
        s_send_error(&ex, 400, "bad_path", "the path must not contain '.' or '..' segments", NULL);
        return 0;
    }

    /* h2o already refuses bodies past max_request_entity_size (= max_body);
     * checking again here keeps the limit ours whatever h2o does. */
    ssize_t cl = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_LENGTH, -1);
    size_t declared = 0;
    if (cl != -1) {
        const h2o_iovec_t *v = &req->headers.entries[cl].value;
        declared = h2o_strtosize(v->base, v->len);
    }
    if (req->entity.len > http->max_body || (declared != SIZE_MAX && declared > http->max_body)) {
        snprintf(reason, sizeof reason, "the request body is larger than %zu bytes",
                 http->max_body);
        req->http1_is_persistent = 0;
        s_send_error(&ex, 413, "too_large", reason, NULL);
        return 0;
    }
    const char *body = req->entity.base ? s_pool_strndup(req, req->entity.base, req->entity.len)
                                        : s_pool_strndup(req, "", 0);

    /* The table's patterns first; on the stack, so that matching allocates
     * nothing. */
    hb_router_match_t match;
    hb_route_result_t rr =
        hb_router_match(http->router, method, req->path.base, raw_len, &match);
    if (rr == HB_ROUTE_BAD_PARAM) {
        snprintf(reason, sizeof reason, "the path parameter '%s' %s", match.bad_param,
                 match.bad_why);
        s_send_error(&ex, 400, "bad_parameter", reason, NULL);
        return 0;
    }
    if (rr == HB_ROUTE_NO_METHOD) {
        snprintf(reason, sizeof reason, "%s is not allowed on %.*s (allowed: %s)", method, 200,
                 path, match.allow);
        s_send_error(&ex, 405, "method_not_allowed", reason, match.allow);
        return 0;
    }
    hb_http_handler_fn fn;
    void *arg;
    if (rr == HB_ROUTE_FOUND) {
        fn = http->targets[match.route].fn;
        arg = http->targets[match.route].arg;
        ex.match = &match;
        ex.route = hb_router_route(http->router, match.route);
        took->slot = match.route;
    } else {
        /* A matched pattern's segments are checked one by one above, to name
         * the parameter at fault; a path for the prefix routes as a whole. */
        if (!hb_utf8_valid_str(path)) {
            s_send_error(&ex, 400, "bad_path", "the path is not valid UTF-8 once decoded", NULL);
            return 0;
        }
        const http_route_t *route = s_prefix_route(&ex, http, method, path, path_len,
                                                   match.hint);
        if (!route)
            return 0;
        fn = route->fn;
        arg = route->arg;
        ex.route = &route->info;
        took->slot = HB_ROUTER_ROUTES_MAX + (size_t)(route - http->routes);
    }
    took->route = ex.route;
    ex.slot = took->slot;
    ex.t0_ns = took->t0_ns;

    hb_http_req_t hreq = {
        .method = method,
        .path = path,
        .query = query,
        .body = body,
        .body_len = req->entity.base ? req->entity.len : 0,
        .impl = &ex,
    };
    if (http->guard && !http->guard(&hreq, ex.route, http->guard_arg)) {
        if (!ex.answered) {
            hb_log_once("http.guard_silent", HB_LOG_ERROR,
                        "http: the guard refused %s %s without answering", method, path);
            s_send_error(&ex, 500, "internal", "the request was refused without an answer",
                         NULL);
        }
    } else {
        fn(&hreq, arg);
        if (!ex.answered && !ex.deferred) {
            hb_log_once("http.no_reply", HB_LOG_ERROR,
                        "http: the handler for %s %s did not answer", method, path);
            s_send_error(&ex, 500, "internal", "the handler did not answer", NULL);
        }
    }
    took->deferred = ex.deferred;
    if (http->after)
        http->after(&hreq, ex.route, ex.status, http->after_arg);
    return 0;
}

/* Every request h2o hands us, timed from here to its answer (handlers
 * answer before they return; a stream counts until its head is sent). */
static int s_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    hb_http_t *http = ((http_handler_t *)self)->http;
    int64_t t0 = hb_mono_ns();
    http_took_t took = {.slot = HTTP_REQSTATS_UNMATCHED, .route = NULL, .t0_ns = t0};
    int rc = s_dispatch(self, req, &took);
    /* A deferred answer is timed when it is given (hb_http_deferred_free). */
    if (!took.deferred)
        hb_http__reqstats_record(&http->reqstats, took.slot, took.route, req->res.status, t0);
    return rc;
}

/* ------------------------------------------------------- h2o's own errors */

/* h2o answers some requests itself before any handler runs, notably 413 when
 * a body passes max_request_entity_size, with a text/plain body on the host's
 * fallback path. This filter, installed only there, turns those answers into
 * the same JSON errors our handlers send. */
static void s_errostream_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                              h2o_send_state_t state)
{
    http_errostream_t *os = (http_errostream_t *)self;
    if (!os->sent) {
        os->sent = true;
        h2o_ostream_send_next(self, req, &os->body, os->body.len ? 1 : 0, state);
    } else {
        h2o_ostream_send_next(self, req, NULL, 0, state);
    }
}

static void s_errfilter_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    hb_http_t *http = ((http_errfilter_t *)self)->http;
    if (req->res.status >= 400) {
        char reason[HTTP_REASON_MAX];
        if (req->res.status == 413)
            snprintf(reason, sizeof reason, "the request body is larger than %zu bytes",
                     http->max_body);
        else
            snprintf(reason, sizeof reason, "%s", req->res.reason ? req->res.reason : "error");
        json_t *o =
            json_pack("{s:s, s:s}", "error", s_error_code(req->res.status), "reason", reason);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (text) {
            bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
            http_errostream_t *os = (http_errostream_t *)h2o_add_ostream(req, sizeof *os, slot);
            os->super.do_send = s_errostream_send;
            os->sent = false;
            os->body = head ? h2o_iovec_init(NULL, 0) : h2o_strdup(&req->pool, text, strlen(text));
            req->res.content_length = strlen(text);
            free(text);
            memset(&req->res.headers, 0, sizeof req->res.headers);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                           H2O_STRLIT("application/json; charset=utf-8"));
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                           H2O_STRLIT("no-store"));
            slot = &os->super.next;
        }
    }
    h2o_setup_next_ostream(req, slot);
}

/* -------------------------------------------------------------- lifecycle */

static void s_on_reaper_closed(uv_handle_t *h)
{
    hb_http_t *http = h->data;
    hb_router_destroy(&http->router);
    if (http->ssl_ctx)
        SSL_CTX_free(http->ssl_ctx);
    hb_http__addrs_free(http);
    free(http);
}

/* Runs once, on the loop iteration after the last connection and the
 * listener are closed (from the idle phase, never from a close callback).
 *
 * h2o 2.2's h2o_context_dispose() closes the timers and the async handle that
 * live in its context and then calls uv_run(loop, UV_RUN_NOWAIT) itself to
 * finish closing them. That nested run is why this is an idle callback: by
 * then nothing of ours can fire (the reaper is stopped first, the listener
 * and connections are gone), and the outer loop is between phases rather
 * than inside its list of closing handles. When dispose returns, h2o's
 * handles are closed, so our memory can go with the reaper's own close. */
static void s_on_reap(uv_idle_t *idle)
{
    hb_http_t *http = idle->data;
    uv_idle_stop(idle);
    if (http->ctx_inited) {
        http->ctx_inited = false;
        h2o_context_dispose(&http->ctx);
    }
    h2o_config_dispose(&http->config);
    uv_close((uv_handle_t *)idle, s_on_reaper_closed);
}

void hb_http__maybe_finish(hb_http_t *http)
{
    if (!http->destroying || http->reaping || http->nconns > 0)
        return;
    if (http->listener_inited && !http->listener_closed)
        return;
    http->reaping = true;
    uv_idle_init(http->loop, &http->reaper);
    http->reaper.data = http;
    uv_idle_start(&http->reaper, s_on_reap);
}

static void s_on_listener_closed(uv_handle_t *h)
{
    hb_http_t *http = h->data;
    http->listener_closed = true;
    hb_http__maybe_finish(http);
}

/* Splits "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT". */
static int s_split_host_port(const char *hp, char *host, size_t hostcap, char *port, size_t portcap)
{
    const char *colon;
    const char *h = hp;
    size_t hlen;
    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (!end || end[1] != ':')
            return HB_EINVAL;
        h = hp + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon || memchr(hp, ':', (size_t)(colon - hp)))
            return HB_EINVAL;
        hlen = (size_t)(colon - hp);
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (hlen >= hostcap || plen == 0 || plen >= portcap || strspn(p, "0123456789") != plen)
        return HB_EINVAL;
    long v = strtol(p, NULL, 10);
    if (v < 0 || v > 65535)
        return HB_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "*") == 0)
        host[0] = '\0';
    memcpy(port, p, plen + 1);
    return 0;
}

/* Creates, binds and listens on a socket with plain system calls so that every
 * failure is reported here, synchronously, before any libuv handle exists. */
static int s_listen_fd(const char *host_port, int *fd_out)
{
    char host[HTTP_HOSTPORT_MAX], port[8];
    if (strlen(host_port) >= HTTP_HOSTPORT_MAX ||
        s_split_host_port(host_port, host, sizeof host, port, sizeof port) != 0) {
        hb_error("http: cannot listen on '%s': expected HOST:PORT, [V6]:PORT or :PORT", host_port);
        return HB_EINVAL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0) {
        hb_error("http: cannot resolve '%s': %s", host_port, gai_strerror(gai));
        return HB_EINVAL;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, HTTP_BACKLOG) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        hb_error("http: cannot listen on '%s': %s", host_port, strerror(err));
        return HB_EIO;
    }
    *fd_out = fd;
    return 0;
}

hb_http_t *hb_http_new(uv_loop_t *loop, const char *host_port, size_t max_body)
{
    if (!loop || !host_port) {
        hb_error("http: hb_http_new needs a loop and HOST:PORT");
        return NULL;
    }
    hb_http_t *http = calloc(1, sizeof *http);
    if (!http) {
        hb_error("http: out of memory");
        return NULL;
    }
    http->loop = loop;
    http->max_body = max_body;
    http->limits = hb_http_limits_default();
    hb_http__reqstats_init(&http->reqstats);
    http->router = hb_router_new();
    if (!http->router || hb_http__addrs_init(http) != 0) {
        hb_error("http: out of memory");
        hb_router_destroy(&http->router);
        hb_http__addrs_free(http);
        free(http);
        return NULL;
    }

    h2o_config_init(&http->config);
    http->config.server_name = h2o_iovec_init(H2O_STRLIT("hallbus"));
    http->config.max_request_entity_size = max_body;
    /* HTTP/1.1 only: no h2c upgrade, so every connection is one we can read
     * as a plain request/response stream (and, later, SSE). */
    http->config.http1.upgrade_to_http2 = 0;
    /* h2o 2.2's HTTP/1 request timeout is armed once each time a connection
     * starts waiting for a request (lib/http1.c, reqread_start) and disarmed
     * when the head and body are in; reading bytes does not rearm it, so a
     * client trickling a head cannot extend it, and an answer being sent
     * (a stream included) is not under it. */
    http->config.http1.req_timeout = (uint64_t)http->limits.header_timeout_ms;
    h2o_hostconf_t *host =
        h2o_config_register_host(&http->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    http_handler_t *handler = (http_handler_t *)h2o_create_handler(pathconf, sizeof *handler);
    handler->super.on_req = s_on_req;
    handler->http = http;
    http_errfilter_t *filter =
        (http_errfilter_t *)h2o_create_filter(&host->fallback_path, sizeof *filter);
    filter->super.on_setup_ostream = s_errfilter_setup;
    filter->http = http;

    int fd = -1;
    if (s_listen_fd(host_port, &fd) != 0) {
        h2o_config_dispose(&http->config);
        hb_router_destroy(&http->router);
        hb_http__addrs_free(http);
        free(http);
        return NULL;
    }

    h2o_context_init(&http->ctx, loop, &http->config);
    http->ctx_inited = true;
    http->accept_ctx.ctx = &http->ctx;
    http->accept_ctx.hosts = http->config.hosts;

    uv_tcp_init(loop, &http->listener);
    http->listener.data = http;
    http->listener_inited = true;
    int rc = uv_tcp_open(&http->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&http->listener, HTTP_BACKLOG, hb_http__on_connection);
    if (rc != 0) {
        hb_error("http: cannot listen on '%s': %s", host_port, uv_strerror(rc));
        if (uv_fileno((uv_handle_t *)&http->listener, &(uv_os_fd_t){0}) != 0)
            close(fd);
        /* The handles are open now: they are freed once the loop runs. */
        hb_http_t *tmp = http;
        hb_http_destroy(&tmp);
        return NULL;
    }
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (uv_tcp_getsockname(&http->listener, (struct sockaddr *)&ss, &sslen) == 0) {
        if (ss.ss_family == AF_INET)
            http->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            http->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    hb_info("http: listening on %s (port %d, bodies up to %zu bytes)", host_port, http->port,
            max_body);
    return http;
}

int hb_http_route(hb_http_t *http, const char *method, const char *prefix, hb_perm_t perm,
                  hb_http_handler_fn fn, void *arg)
{
    if (!http || !prefix || !fn || prefix[0] != '/' || !hb_perm_valid(perm))
        return HB_EINVAL;
    if (http->nroutes >= HTTP_ROUTES_MAX)
        return HB_ETOOBIG;
    size_t plen = strlen(prefix);
    if (plen >= HTTP_PREFIX_MAX ||
        (method && (method[0] == '\0' || strlen(method) >= HTTP_METHOD_MAX)))
        return HB_EINVAL;
    for (size_t i = 0; i < http->nroutes; i++) {
        const http_route_t *r = &http->routes[i];
        if (strcmp(r->prefix, prefix) == 0 && strcmp(r->method, method ? method : "") == 0)
            return HB_EEXIST;
    }
    http_route_t *r = &http->routes[http->nroutes++];
    snprintf(r->method, sizeof r->method, "%s", method ? method : "");
    memcpy(r->prefix, prefix, plen + 1);
    r->prefix_len = plen;
    r->info = (hb_route_t){.method = method ? r->method : NULL,
                           .pattern = r->prefix,
                           .perm = perm,
                           .scope = HB_SCOPE_ALL};
    r->fn = fn;
    r->arg = arg;
    return 0;
}

int hb_http_routes(hb_http_t *http, const hb_http_route_t *table, size_t n, void *arg)
{
    if (!http || (!table && n > 0))
        return HB_EINVAL;
    size_t before = hb_router_count(http->router);
    for (size_t i = 0; i < n; i++) {
        const hb_http_route_t *row = &table[i];
        hb_route_t route = {.method = row->method,
                            .pattern = row->pattern,
                            .perm = row->perm,
                            .scope = row->scope,
                            .scope_param = row->scope_param};
        char why[HTTP_REASON_MAX] = "";
        int rc = row->fn ? hb_router_add(http->router, &route, why, sizeof why) : HB_EINVAL;
        if (rc != 0) {
            hb_error("http: route %zu of the table (%s %s) refused: %s", i,
                     row->method ? row->method : "any method",
                     row->pattern ? row->pattern : "(no pattern)", why[0] ? why : "no handler");
            hb_router_truncate(http->router, before);
            return rc;
        }
        size_t at = hb_router_count(http->router) - 1;
        http->targets[at] = (http_target_t){.fn = row->fn, .arg = arg};
    }
    return 0;
}

const char *hb_http_param(const hb_http_req_t *req, const char *name)
{
    const http_exchange_t *ex = req ? req->impl : NULL;
    return ex && ex->match ? hb_router_param(ex->match, name) : NULL;
}

const hb_route_t *hb_http_req_route(const hb_http_req_t *req)
{
    const http_exchange_t *ex = req ? req->impl : NULL;
    return ex ? ex->route : NULL;
}

void hb_http_set_guard(hb_http_t *http, hb_http_guard_fn fn, void *arg)
{
    assert(http);
    http->guard = fn;
    http->guard_arg = arg;
}

void hb_http_set_after(hb_http_t *http, hb_http_after_fn fn, void *arg)
{
    assert(http);
    http->after = fn;
    http->after_arg = arg;
}

int hb_http_host(const hb_http_req_t *hreq, char *out, size_t outlen)
{
    if (!hreq || !hreq->impl || !out || outlen == 0)
        return HB_EINVAL;
    const h2o_req_t *req = ((const http_exchange_t *)hreq->impl)->req;
    /* h2o keeps the Host header apart from the others, as the request's
     * authority; it fills in the host's own name when none was sent
     * ("default", registered in hb_http_new with port 65535), which reads
     * as no Host at all: a client that sends that name is refused too. */
    const h2o_iovec_t *a = &req->input.authority;
    if (a->len == 0 || h2o_memis(a->base, a->len, H2O_STRLIT("default")) ||
        h2o_memis(a->base, a->len, H2O_STRLIT("default:65535")))
        return HB_ENOTFOUND;
    if (a->len >= outlen)
        return HB_ETOOBIG;
    memcpy(out, a->base, a->len);
    out[a->len] = '\0';
    return 0;
}

int hb_http_peer_text(const hb_http_req_t *hreq, char *addr, size_t addrlen, char *group,
                      size_t grouplen)
{
    struct sockaddr_storage ss;
    if (!hreq || !hreq->impl || hb_http_peer(hreq, &ss) != 0)
        return HB_EINVAL;
    if (addr && addrlen) {
        char text[INET6_ADDRSTRLEN];
        const void *bits = ss.ss_family == AF_INET
                               ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                               : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
            !inet_ntop(ss.ss_family, bits, text, sizeof text))
            return HB_EINVAL;
        snprintf(addr, addrlen, "%s", text);
    }
    if (group && grouplen)
        return hb_http_address_group((const struct sockaddr *)&ss, group, grouplen);
    return 0;
}

int hb_http_add_header(hb_http_req_t *hreq, const char *name, const char *value)
{
    if (!hreq || !hreq->impl || !name || !value)
        return HB_EINVAL;
    http_exchange_t *ex = hreq->impl;
    size_t nlen = strlen(name), vlen = strlen(value);
    if (nlen == 0 || nlen > HTTP_HEADER_NAME_MAX || vlen > HTTP_HEADER_VALUE_MAX || ex->answered)
        return HB_EINVAL;
    for (size_t i = 0; i < nlen; i++)
        if (!(isalnum((unsigned char)name[i]) || strchr("!#$%&'*+-.^_`|~", name[i])))
            return HB_EINVAL;
    for (size_t i = 0; i < vlen; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
            return HB_EINVAL;
    if (ex->added_headers >= HTTP_ADDED_HEADERS_MAX)
        return HB_ETOOBIG;
    h2o_req_t *req = ex->req;
    /* h2o keeps header names as given (lower case on the wire for HTTP/2
     * only); both strings are copied into the request's pool. */
    h2o_iovec_t n = h2o_strdup(&req->pool, name, nlen);
    h2o_iovec_t v = h2o_strdup(&req->pool, value, vlen);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 0, NULL, v.base, v.len);
    ex->added_headers++;
    return 0;
}

int hb_http_port(const hb_http_t *http) { return http ? http->port : 0; }

/* ------------------------------------------------------ callers, TLS ---- */

int hb_http_peer(const hb_http_req_t *req, struct sockaddr_storage *out)
{
    const http_exchange_t *ex = req ? req->impl : NULL;
    memset(out, 0, sizeof *out);
    if (!ex || !ex->req->conn || !ex->req->conn->callbacks->get_peername)
        return HB_ENOTFOUND;
    socklen_t len = ex->req->conn->callbacks->get_peername(ex->req->conn, (struct sockaddr *)out);
    return len > 0 ? 0 : HB_ENOTFOUND;
}

bool hb_http_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        /* ::ffff:127.x.y.z, as a dual-stack socket reports an IPv4 client. */
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool hb_http_peer_is_loopback(const hb_http_req_t *req)
{
    struct sockaddr_storage ss;
    return hb_http_peer(req, &ss) == 0 && hb_http_addr_is_loopback((const struct sockaddr *)&ss);
}

bool hb_http_listen_is_loopback(const char *host_port)
{
    char host[HTTP_HOSTPORT_MAX], port[8];
    if (!host_port || strlen(host_port) >= HTTP_HOSTPORT_MAX ||
        s_split_host_port(host_port, host, sizeof host, port, sizeof port) != 0 || !host[0])
        return false;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return false;
    /* Every address the name gives must be a loopback one: a name that
     * also resolves to a LAN address may be bound there. */
    bool all = res != NULL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        all = all && hb_http_addr_is_loopback(ai->ai_addr);
    freeaddrinfo(res);
    return all;
}

/* OpenSSL's queued errors as one line (the last one is the most precise). */
static void s_ssl_error(char *out, size_t outlen)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0)
        last = e;
    if (last)
        ERR_error_string_n(last, out, outlen);
    else
        snprintf(out, outlen, "unknown error");
}

int hb_http_set_tls(hb_http_t *http, const char *cert_file, const char *key_file, char *err,
                    size_t errlen)
{
    if (!http || !cert_file || !key_file || !cert_file[0] || !key_file[0]) {
        hb_errf(err, errlen, "TLS needs a certificate file and a key file");
        return HB_EINVAL;
    }
    if (http->ssl_ctx) {
        hb_errf(err, errlen, "TLS is set already");
        return HB_EEXIST;
    }
    char why[256];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        s_ssl_error(why, sizeof why);
        hb_errf(err, errlen, "cannot make a TLS context: %s", why);
        return HB_ENOMEM;
    }
    /* TLS 1.2 at least; no compression, no renegotiation: nothing a client
     * of ours needs, and each has had its attacks. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* The key is read apart from its use, so that a file that is no key
     * and a key of another certificate are told apart. */
    int rc = 0;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        s_ssl_error(why, sizeof why);
        hb_errf(err, errlen, "cannot read the certificate %s: %s", cert_file, why);
        rc = HB_EINVAL;
    } else if (!(bio = BIO_new_file(key_file, "r")) ||
               !(pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL))) {
        s_ssl_error(why, sizeof why);
        hb_errf(err, errlen, "cannot read the private key %s: %s", key_file, why);
        rc = HB_EINVAL;
    } else if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        hb_errf(err, errlen, "the key %s does not belong to the certificate %s", key_file,
                cert_file);
        rc = HB_EINVAL;
    }
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    if (rc != 0) {
        SSL_CTX_free(ctx);
        return rc;
    }
    /* h2o runs the handshake on every connection it is handed from now on
     * (h2o_accept), before the first request is read. */
    http->ssl_ctx = ctx;
    http->accept_ctx.ssl_ctx = ctx;
    hb_info("http: TLS on port %d with %s", http->port, cert_file);
    return 0;
}

bool hb_http_tls(const hb_http_t *http) { return http && http->ssl_ctx; }

void hb_http_destroy(hb_http_t **http_p)
{
    if (!http_p || !*http_p)
        return;
    hb_http_t *http = *http_p;
    *http_p = NULL;
    if (http->destroying)
        return;
    http->destroying = true;
    if (http->listener_inited)
        uv_close((uv_handle_t *)&http->listener, s_on_listener_closed);
    /* Streams end first (each may free itself at once): their connections
     * then finish like any other answered request. */
    for (hb_http_stream_t *st = http->streams, *next; st; st = next) {
        next = st->next;
        hb_http_stream_close(st);
    }
    /* HTTP/1 in h2o 2.2 keeps idle keep-alive connections open until their
     * timeout. Shutting the read side makes h2o see end-of-stream and close
     * each connection itself, after any response being written; closing the
     * socket under h2o would leave it with a dangling pointer. */
    for (http_conn_t *c = http->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RD);
    }
    hb_http__maybe_finish(http);
}
