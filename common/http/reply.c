/* The answers a handler gives on its exchange: whole bodies (JSON, an error
 * in the one JSON shape, raw bytes, cacheable with an entity tag), answers
 * deferred past the handler's return, streamed answers (server-sent events)
 * and the headers a handler adds. Every answer has a status line, a type
 * and no caching unless it says otherwise, and an exchange is answered once.
 * Not for reading requests (request.c) nor for routing them (http.c). */
#include "hallbus/http.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/utf8.h"

#include "internal.h"

#include <h2o.h>

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_HEADER_NAME_MAX 64    /* a header a handler adds: its name */
#define HTTP_HEADER_VALUE_MAX 4096 /* ... and its value */
#define HTTP_ADDED_HEADERS_MAX 8   /* ... and how many per answer */

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

const char *hb_http__error_code(int status)
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

/* The one JSON shape of an error, with the member "field" when the refusal
 * names the member or parameter at fault (NULL: no such member). */
static void s_send_error(http_exchange_t *ex, int status, const char *code, const char *reason,
                         const char *field, const char *allow)
{
    char clean[HTTP_REASON_MAX];
    snprintf(clean, sizeof clean, "%s", reason);
    /* A reason cut short by its buffer, or quoting a client's bytes, still
     * makes a JSON string. */
    hb_utf8_sanitize(clean);
    json_t *o = json_pack("{s:s, s:s, s:s*}", "error", code, "reason", clean, "field", field);
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

void hb_http__send_error(http_exchange_t *ex, int status, const char *code, const char *reason,
                         const char *allow)
{
    s_send_error(ex, status, code, reason, NULL, allow);
}

/* For an answer given later (deferred or streamed): the request's exchange
 * in *ex and a zeroed record of `size` bytes; NULL when the request was
 * answered already, or after answering 503 with `reason`. */
static void *s_answer_alloc(hb_http_req_t *req, size_t size, const char *reason,
                            http_exchange_t **ex)
{
    *ex = s_exchange(req);
    if (!*ex)
        return NULL;
    void *p = calloc(1, size);
    if (!p)
        hb_http__send_error(*ex, 503, "unavailable", reason, NULL);
    return p;
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
    http_exchange_t *ex;
    hb_http_deferred_t *d = s_answer_alloc(req, sizeof *d, "out of memory", &ex);
    if (!d)
        return NULL;
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
        hb_http__send_error(&d->ex, 503, "unavailable", "the answer was not given", NULL);
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
        hb_http__send_error(ex, 500, "internal", "the handler could not build its answer", NULL);
        return;
    }
    /* 12 significant digits: 0.942 is shown as 0.942, not 0.94199999999999995. */
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
    json_decref(body);
    if (!text) {
        hb_log_once("http.json_dumps", HB_LOG_ERROR, "http: cannot serialise the answer to %s %s",
                    req->method, req->path);
        hb_http__send_error(ex, 500, "internal", "the answer could not be serialised", NULL);
        return;
    }
    s_send(ex, status, "application/json; charset=utf-8", text, strlen(text), NULL);
    free(text);
}

/* hb_http_reply_error and hb_http_reply_field_error: the reason formatted,
 * the code defaulted from the status. */
static void s_reply_errorv(hb_http_req_t *req, int status, const char *code, const char *field,
                           const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void s_reply_errorv(hb_http_req_t *req, int status, const char *code, const char *field,
                           const char *fmt, va_list ap)
{
    http_exchange_t *ex = s_exchange(req);
    if (!ex)
        return;
    char reason[HTTP_REASON_MAX];
    vsnprintf(reason, sizeof reason, fmt, ap);
    s_send_error(ex, status, code ? code : hb_http__error_code(status), reason, field, NULL);
}

void hb_http_reply_error(hb_http_req_t *req, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_reply_errorv(req, status, code, NULL, fmt, ap);
    va_end(ap);
}

void hb_http_reply_field_error(hb_http_req_t *req, int status, const char *code, const char *field,
                               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_reply_errorv(req, status, code, field, fmt, ap);
    va_end(ap);
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
    HTTP_LIST_REMOVE(http->streams, http->nstreams, st);
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
    http_exchange_t *ex;
    hb_http_stream_t *st = s_answer_alloc(hreq, sizeof *st, "out of memory for a stream", &ex);
    if (!st)
        return NULL;
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
    HTTP_LIST_PUSH(ex->http->streams, ex->http->nstreams, st);
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
