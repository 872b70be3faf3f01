/* The HTTP/JSON server both daemons use, on h2o (libuv flavour) running on
 * the daemon's own libuv loop. Each daemon hands it one table of routes
 * (method + path pattern + the permission the route needs + handler; the
 * matching rules are router.h's) and the server parses the path's parameters
 * for the handler. Bodies are read whole up to a limit and refused past it
 * (413). With a certificate and key the listener speaks TLS
 * (hb_http_set_tls).
 *
 * Handlers run on the loop thread and must answer before returning (the
 * daemons' handlers read memory or short LMDB read transactions only). This
 * module knows nothing of hallbus routes: each daemon lists its own. */
#ifndef HALLBUS_HTTP_H
#define HALLBUS_HTTP_H

#include "hallbus/config.h"
#include "hallbus/perm.h"
#include "hallbus/router.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct sockaddr;
struct sockaddr_storage;

typedef struct hb_http hb_http_t;

typedef struct hb_http_req {
    const char *method; /* "GET", "POST", ... NUL-terminated */
    const char *path;   /* path without the query, percent-decoded, NUL-terminated */
    const char *query;  /* raw query string without '?', or "" */
    const char *body;   /* request body, NUL-terminated for convenience */
    size_t body_len;
    /* What the guard (hb_http_set_guard) made of the caller, for the
     * handler: the guard sets it, the server never reads it. NULL when no
     * guard set one. It must live at least until the handler returns. */
    const void *caller;
    void *impl; /* the underlying h2o request; private to http.c */
} hb_http_req_t;

/* A handler answers with hb_http_reply_*() exactly once, before it returns
 * (`req` and everything it points to live only during the call). A handler
 * that does not answer gets a 500 sent for it; a second answer is ignored
 * and logged. */
typedef void (*hb_http_handler_fn)(hb_http_req_t *req, void *arg);

/* Listens on "HOST:PORT", "[V6]:PORT" or ":PORT" (all addresses); PORT 0
 * picks a free one, see hb_http_port(). Returns NULL and logs why on failure.
 * `max_body` bounds request bodies: larger ones get 413 and a JSON error.
 *
 * Before any handler runs, a path that is badly percent-encoded, decodes to
 * NUL, or has "." / ".." segments gets 400; a path over 4 KiB gets 414. Then
 * the route table's patterns are matched (router.h): a path parameter over
 * HB_HTTP_PARAM_MAX bytes or not UTF-8 gets 400 "bad_parameter" naming it; a
 * path that patterns match but not with the request's method gets 405 with
 * an Allow header. A path no pattern matches goes to the prefix routes
 * (hb_http_route), after a check that it is UTF-8 (400 "bad_path"), and
 * gets 404 when none takes it either (naming the route the path continues,
 * if any: "no route for GET /v1/hall/x (/v1/hall takes no id)"). Every error
 * body is {"error": <code>, "reason": <text>}. */
hb_http_t *hb_http_new(uv_loop_t *loop, const char *host_port, size_t max_body);

/* One row of a daemon's route table: the route as router.h reads it, and
 * the handler that answers it. A daemon keeps its table as static data that
 * a test can walk (branchd_routes(), hqd_routes()). */
typedef struct hb_http_route {
    const char *method;      /* "GET", ...; NULL takes every method */
    const char *pattern;     /* "/v1/counters/:counter/open" */
    hb_perm_t perm;          /* the permission it needs (perm.h); required */
    hb_scope_t scope;        /* where (perm.h); HB_SCOPE_ALL when left out */
    const char *scope_param; /* the parameter naming the object, for scopes that take one */
    hb_http_handler_fn fn;
} hb_http_route_t;

/* A table's row stating only what varies, one macro per method: the
 * pattern, the permission and the scope by their names in perm.h without
 * HB_PERM_ and HB_SCOPE_, and the handler. A scope that takes a parameter
 * takes the pattern's parameter named like it ("/v1/halls/:hall" for HALL),
 * as every table here names them. */
/* clang-format off */
#define HB_ROUTE(method, pattern, perm, scope, fn) \
    {method, pattern, HB_PERM_##perm, HB_SCOPE_##scope, HB_ROUTE_PARAM_##scope, fn}
/* clang-format on */
#define HB_GET(pattern, perm, scope, fn) HB_ROUTE("GET", pattern, perm, scope, fn)
#define HB_HEAD(pattern, perm, scope, fn) HB_ROUTE("HEAD", pattern, perm, scope, fn)
#define HB_POST(pattern, perm, scope, fn) HB_ROUTE("POST", pattern, perm, scope, fn)
#define HB_PUT(pattern, perm, scope, fn) HB_ROUTE("PUT", pattern, perm, scope, fn)
#define HB_DELETE(pattern, perm, scope, fn) HB_ROUTE("DELETE", pattern, perm, scope, fn)
#define HB_ROUTE_PARAM_ALL NULL
#define HB_ROUTE_PARAM_ANY NULL
#define HB_ROUTE_PARAM_HALL "hall"
#define HB_ROUTE_PARAM_REGION "region"
#define HB_ROUTE_PARAM_CAMPAIGN "campaign"
#define HB_ROUTE_PARAM_COUNTER "counter"
#define HB_ROUTE_PARAM_DEVICE "device"

/* Registers every row of `table`, each handler called with `arg`, all or
 * none: the first row refused (router.h's hb_router_add rules: a bad
 * pattern, no permission declared, a scope without its parameter, a
 * duplicate; a NULL handler) leaves the server's routes as they were, is
 * logged with its reason, and its code returned: HB_EINVAL, HB_EEXIST or
 * HB_ETOOBIG (over HB_ROUTER_ROUTES_MAX in all). Call on the loop's thread.
 * The table is copied. */
int hb_http_routes(hb_http_t *http, const hb_http_route_t *table, size_t n, void *arg);
/* The router's route a table's row declares, as hb_http_routes registers
 * it: for whatever walks a route table as the server does (the tables'
 * tests). */
hb_route_t hb_http_route_of(const hb_http_route_t *row);

/* Routes requests whose method is `method` (NULL for any) and whose path
 * starts with `prefix` on a segment boundary ("/v1/halls" matches "/v1/halls"
 * and "/v1/halls/x", not "/v1/hallsx"; a prefix ending in '/' matches all
 * below it), for paths no pattern of the table matches. The longest matching
 * prefix wins, then the method picks among the routes with that prefix. HEAD
 * is not mapped to GET. `perm` is required as in a table (scope: all).
 * Returns 0, HB_EINVAL (no permission among them), HB_EEXIST (same method and
 * prefix) or HB_ETOOBIG (over 64 prefix routes). Call on the loop's thread. */
int hb_http_route(hb_http_t *http, const char *method, const char *prefix, hb_perm_t perm,
                  hb_http_handler_fn fn, void *arg);

/* The value of the matched pattern's parameter `name` ("hall" for
 * "/v1/halls/:hall"), percent-decoded: non-empty, at most HB_HTTP_PARAM_MAX
 * bytes, valid UTF-8, without NUL (it may hold '/', from "%2F"). NULL when
 * the route has no such parameter (a prefix route has none). Valid during
 * the handler's call. */
const char *hb_http_param(const hb_http_req_t *req, const char *name);

/* The route that took `req` (its method, pattern, permission and scope), for
 * access control, audit records and logs; valid during the call. */
const hb_route_t *hb_http_req_route(const hb_http_req_t *req);

/* The slot where access control plugs in (issue 12): when set, the guard
 * runs before every handler with the request and its route. It returns true
 * to let the handler run, or false after answering the refusal itself (a
 * guard that refuses without answering gets a 500 sent for it). NULL removes
 * it. Both daemons set one (hqd/auth/guard.c, branchd/access/). */
typedef bool (*hb_http_guard_fn)(hb_http_req_t *req, const hb_route_t *route, void *arg);
void hb_http_set_guard(hb_http_t *http, hb_http_guard_fn fn, void *arg);

/* Runs once per routed request after its answer was given, by the guard or
 * by the handler, with the answer's status (a stream's is the status it
 * started with): where an audit record is written. Not for requests refused
 * before a route took them (400, 404, 405, 413, 414). NULL removes it. */
typedef void (*hb_http_after_fn)(hb_http_req_t *req, const hb_route_t *route, int status,
                                 void *arg);
void hb_http_set_after(hb_http_t *http, hb_http_after_fn fn, void *arg);

/* The request's Host (HTTP/1.1's Host header, "name:port" as the client
 * wrote it) into `out`. 0, HB_ENOTFOUND (none was sent), HB_ETOOBIG. */
int hb_http_host(const hb_http_req_t *req, char *out, size_t outlen);
/* The client's address as text ("192.0.2.7", "2001:db8::1") into `addr`,
 * and the address group it is counted under (hb_http_address_group) into
 * `group`; either may be NULL. 64 bytes always suffice. 0, HB_EINVAL. For
 * logs and audit records; hb_http_peer gives the address itself. */
int hb_http_peer_text(const hb_http_req_t *req, char *addr, size_t addrlen, char *group,
                      size_t grouplen);
/* Adds a header to the answer the request is about to get (Set-Cookie,
 * Retry-After, a page's Content-Security-Policy): call before
 * hb_http_reply_*. The name is a token of at most
 * 64 bytes, the value at most 4 KiB without control characters; both are
 * copied. 0, or HB_EINVAL (then nothing was added). At most 8 per request
 * (HB_ETOOBIG past it). */
int hb_http_add_header(hb_http_req_t *req, const char *name, const char *value);

/* The port actually bound. */
int hb_http_port(const hb_http_t *http);

/* ---- who is calling, and TLS */

/* The client's address (AF_INET or AF_INET6) into `*out`: 0, or
 * HB_ENOTFOUND when the connection cannot tell. Valid during the call. */
int hb_http_peer(const hb_http_req_t *req, struct sockaddr_storage *out);
/* Whether the client is on this machine: 127.0.0.0/8, ::1, or an
 * IPv4-mapped 127.x address. */
bool hb_http_peer_is_loopback(const hb_http_req_t *req);
bool hb_http_addr_is_loopback(const struct sockaddr *sa);
/* Whether "HOST:PORT" (as hb_http_new reads it) listens on loopback only:
 * every address HOST resolves to is a loopback one. False for ":PORT",
 * "*:PORT", 0.0.0.0, ::, a name that does not resolve or also resolves
 * elsewhere. For a daemon's start-up checks (what it may allow without
 * credentials, or without TLS). */
bool hb_http_listen_is_loopback(const char *host_port);

/* Serves HTTPS from now on: every connection accepted after the call starts
 * with a TLS handshake (TLS 1.2 or later) with the PEM certificate chain
 * `cert_file` and its private key `key_file`. Call right after hb_http_new,
 * before the loop runs. 0, or HB_EINVAL (a file unreadable or not PEM, the
 * key not the certificate's; `err` says which and why), HB_EEXIST (set
 * already), HB_ENOMEM. The files are read once, here. */
int hb_http_set_tls(hb_http_t *http, const char *cert_file, const char *key_file, char *err,
                    size_t errlen);
bool hb_http_tls(const hb_http_t *http);

/* ---- connection limits
 *
 * What one client may hold, so that one address cannot lock everyone else
 * out. A connection is counted under its client's address group: an IPv4
 * address (/32; an IPv4-mapped IPv6 address counts as its IPv4 address) or
 * an IPv6 /64 prefix, the block one host or one home is usually given.
 *
 * - max_conns bounds the connections open at once, all clients together;
 *   past it a new connection is closed at once.
 * - max_per_address bounds the connections one address group holds; past it
 *   that group's new connections are closed at once, and nobody else's are.
 *   Behind a reverse proxy every client shares the proxy's address: there,
 *   set it to max_conns.
 * - header_timeout_ms bounds how long the server waits for a request, from
 *   the moment it starts waiting (a new connection, or the end of the
 *   previous answer on a keep-alive one) until the request head and body
 *   have arrived. Bytes trickling in do not extend it; an idle keep-alive
 *   connection is closed when it runs out. Answers being sent, streams
 *   included, are not bounded by it.
 *
 * A refused connection is counted (hb_http_get_stats) and logged once per
 * kind, never once per connection. */
typedef struct hb_http_limits {
    size_t max_conns;          /* 1 .. HB_HTTP_MAX_CONNS_CEILING */
    size_t max_per_address;    /* 1 .. max_conns */
    int64_t header_timeout_ms; /* HB_HTTP_HEADER_TIMEOUT_MS_MIN .. _MAX */
} hb_http_limits_t;

#define HB_HTTP_MAX_CONNS_DEFAULT 4096
#define HB_HTTP_MAX_PER_ADDRESS_DEFAULT 256
#define HB_HTTP_HEADER_TIMEOUT_MS_DEFAULT 10000
/* Bounds on what hb_http_set_limits accepts: past them a value is a mistake
 * (a daemon of ours has no use for more than 65,536 connections, and the
 * table that counts them is sized from max_conns). */
#define HB_HTTP_MAX_CONNS_CEILING 65536
#define HB_HTTP_HEADER_TIMEOUT_MS_MIN 10
#define HB_HTTP_HEADER_TIMEOUT_MS_MAX 600000

/* The limits a server starts with: 4096 connections, 256 per address group,
 * 10 s to receive a request. */
hb_http_limits_t hb_http_limits_default(void);
/* Replaces the server's limits (copied). HB_EINVAL when a value is out of its
 * bounds above or an argument is NULL, HB_ENOMEM when the table counting
 * addresses cannot be resized; the old limits stay then. Connections already
 * open are kept even when a lower cap now counts them over it; a waiting
 * connection keeps its old deadline at most (a shorter header timeout
 * applies fully to waits that start afterwards). Call on the loop's thread,
 * best right after hb_http_new. */
int hb_http_set_limits(hb_http_t *http, const hb_http_limits_t *limits);
/* Copies the limits in force into `out`. */
void hb_http_get_limits(const hb_http_t *http, hb_http_limits_t *out);

/* The listener's settings as both daemons' tables have them: rows for the
 * fields max_body, http_max_conns, http_max_per_address and
 * http_header_timeout_ms of the settings struct `type_s` (config.h's
 * HB_CONF_ROW). `api` names the API in the help ("local API"), `conns` is
 * http_max_conns's default. */
#define HB_HTTP_CONF_ROWS(type_s, api, conns)                                                      \
    HB_CONF_ROW(type_s, "max_body", HB_CONF_SIZE, max_body, "1M", 1024, 64 << 20, false,           \
                "largest request body on the " api),                                               \
        HB_CONF_ROW(type_s, "http_max_conns", HB_CONF_INT, http_max_conns, conns, 16, 65536,       \
                    false,                                                                         \
                    "HTTP connections open at once, at most (past it new ones are closed)"),       \
        HB_CONF_ROW(type_s, "http_max_per_address", HB_CONF_INT, http_max_per_address, "256", 1,   \
                    65536, false,                                                                  \
                    "HTTP connections from one address (IPv6: one /64) at once; behind a reverse " \
                    "proxy set it to http_max_conns",                                              \
                    .at_most = "http_max_conns"),                                                  \
        HB_CONF_ROW(type_s, "http_header_timeout", HB_CONF_DURATION, http_header_timeout_ms,       \
                    "10s", 100, 600000, false,                                                     \
                    "a connection must send a whole request within this, and may idle this long "  \
                    "between requests")

/* The fields HB_HTTP_CONF_ROWS fills, declared in the settings struct:
 *   typedef struct { ...; HB_HTTP_CONF_FIELDS; ... } x_config_t; */
#define HB_HTTP_CONF_FIELDS                                                                        \
    uint64_t max_body;                                                                             \
    int64_t http_max_conns;                                                                        \
    int64_t http_max_per_address;                                                                  \
    int64_t http_header_timeout_ms

/* A server as hb_http_new makes it, on `host_port`, with the limits of the
 * settings `cfg` (a struct with HB_HTTP_CONF_ROWS' fields) set: 0 with *out,
 * HB_EINVAL when the limits are refused, HB_EIO when no server could be
 * made (*out NULL); each said in the log. */
#define HB_HTTP_OPEN(loop, host_port, cfg, out)                                                    \
    hb_http_open((loop), (host_port), (size_t)(cfg)->max_body,                                     \
                 &(hb_http_limits_t){.max_conns = (size_t)(cfg)->http_max_conns,                   \
                                     .max_per_address = (size_t)(cfg)->http_max_per_address,       \
                                     .header_timeout_ms = (cfg)->http_header_timeout_ms},          \
                 (out))
int hb_http_open(uv_loop_t *loop, const char *host_port, size_t max_body,
                 const hb_http_limits_t *limits, hb_http_t **out);

/* Counters since the server started, for /v1/status and /metrics. */
typedef struct hb_http_stats {
    size_t conns_open;            /* connections open now, streams included */
    size_t streams_open;          /* streamed answers open now */
    size_t addresses_open;        /* address groups holding a connection now */
    uint64_t refused_per_address; /* closed at accept: their group held max_per_address */
    uint64_t refused_max_conns;   /* closed at accept: max_conns were open */
    uint64_t closed_by_timeout;   /* closed waiting for a request past header_timeout_ms */
} hb_http_stats_t;

/* Copies the counters into `out` (zeros for a NULL server). Call on the
 * loop's thread. */
void hb_http_get_stats(const hb_http_t *http, hb_http_stats_t *out);

/* Writes the address group that `sa` (AF_INET or AF_INET6) is counted under,
 * as the server names it in its logs: "192.0.2.7" for IPv4 and IPv4-mapped
 * addresses, "2001:db8:1:2::/64" for IPv6. 0, HB_EINVAL (another family),
 * HB_ETOOBIG (`out` too small; 64 bytes always suffice). */
/* The stats as JSON ({"conns_open", ...}, a new reference), and as
 * Prometheus samples named PREFIX "http_..." (e.g. "hallbus_hq_"), for the
 * daemons' /v1/status and /metrics. The samples include the histogram
 * PREFIX "http_request_duration_seconds" of every request the server
 * dispatched, from its arrival to its answer, labelled by the route that
 * took it (method and pattern or prefix as the table has them, "any" for a
 * route of every method; route "unmatched" for requests no route took) and
 * the status class (code "2xx" .. "5xx"). */
json_t *hb_http_stats_json(const hb_http_t *http);
struct hb_metrics;
void hb_http_stats_metrics(const hb_http_t *http, const char *prefix, struct hb_metrics *m);

int hb_http_address_group(const struct sockaddr *sa, char *out, size_t outlen);

/* Stops listening, ends every stream, and closes connections (idle
 * keep-alive ones at once, busy ones after their answer); frees `*http` once its libuv handles are
 * closed, and sets it NULL. Idempotent; may be called from a handler. Run the
 * loop afterwards: uv_loop_close() then returns 0. */
void hb_http_destroy(hb_http_t **http);

/* ---- answers given later
 *
 * A handler whose answer needs work that must not hold the loop (a
 * password hash, tens of milliseconds) defers it: hb_http_defer counts as
 * its answer, the request stays open, and the answer is given later on the
 * loop's thread through hb_http_deferred_req. The after-hook of a deferred
 * request runs when the handler returns, with status 0. */
typedef struct hb_http_deferred hb_http_deferred_t;
/* Defers `req`'s answer. NULL when out of memory (then a 503 was sent). */
hb_http_deferred_t *hb_http_defer(hb_http_req_t *req);
/* The request to answer now (with hb_http_reply_*, hb_http_add_header,
 * hb_http_peer; no path parameters), or NULL when the client went away or
 * the server ended meanwhile. Call on the loop's thread. */
hb_http_req_t *hb_http_deferred_req(hb_http_deferred_t *d);
/* Frees the handle, after the answer was given or when the request is
 * gone (an unanswered live request gets a 503 then); sets *d NULL. */
void hb_http_deferred_free(hb_http_deferred_t **d);

/* Answers with `body` serialised compactly (takes ownership of `body`; NULL
 * answers 500). Every answer carries Cache-Control: no-store. */
void hb_http_reply_json(hb_http_req_t *req, int status, json_t *body);
/* Answers {"error": <short code>, "reason": <formatted text>}; the reason is
 * cut at 511 bytes and bytes that are not UTF-8 become '?'. */
void hb_http_reply_error(hb_http_req_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* hb_http_reply_error's answer with a third member, "field": the request's
 * member or parameter at fault (UTF-8), for a client to point at it. The
 * reason is the route's own wording: it says the field's name itself where
 * the route's contract wants it there. */
void hb_http_reply_field_error(hb_http_req_t *req, int status, const char *code, const char *field,
                               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Answers with a raw body and content type (copied). */
void hb_http_reply_raw(hb_http_req_t *req, int status, const char *content_type, const char *body,
                       size_t len);

/* Answers 200 with a body that clients and proxies may keep and ask again
 * for with If-None-Match: the answer carries ETag `etag` (quoted, as sent:
 * "\"v3-ab12\"") and Cache-Control "public, max-age=`max_age_s`" instead
 * of no-store; a request whose If-None-Match names `etag` (weakly, or "*")
 * gets 304 with no body. A handler that can tell the ETag without building
 * the body asks hb_http_etag_match first and passes NULL, 0 then. */
void hb_http_reply_cacheable(hb_http_req_t *req, const char *content_type, const char *body,
                             size_t len, const char *etag, int max_age_s);
/* Whether the request's If-None-Match names `etag` (weak comparison). */
bool hb_http_etag_match(const hb_http_req_t *req, const char *etag);

/* ---- streamed answers (Server-Sent Events)
 *
 * A handler may answer with a stream instead: the status and headers go at
 * once, then whatever is written, as the client takes it, until either end
 * closes. Bytes written are copied and queued; a client that does not keep
 * up is not waited for: past `max_queued` bytes a write fails with
 * HB_ETOOBIG and the owner should close the stream. */
typedef struct hb_http_stream hb_http_stream_t;
/* Runs once when the stream ends, whichever end closed it (the client
 * went away, hb_http_stream_close, hb_http_destroy); the stream is freed
 * right after, so the owner forgets it here. */
typedef void (*hb_http_stream_closed_fn)(hb_http_stream_t *stream, void *arg);
/* Answers `req` with a stream (counts as its one answer). NULL when out of
 * memory (then a 503 was sent). */
hb_http_stream_t *hb_http_stream_start(hb_http_req_t *req, int status, const char *content_type,
                                       size_t max_queued, hb_http_stream_closed_fn on_closed,
                                       void *arg);
/* Queues bytes; 0, HB_ETOOBIG (queue full: the client is too slow), HB_ECLOSED
 * (closing), HB_ENOMEM. */
int hb_http_stream_write(hb_http_stream_t *s, const char *data, size_t len);
/* Bytes queued and not yet handed to the connection. */
size_t hb_http_stream_queued(const hb_http_stream_t *s);
/* Ends the stream after what is queued; on_closed follows (maybe at once). */
void hb_http_stream_close(hb_http_stream_t *s);
/* Streams open now. */
size_t hb_http_stream_count(const hb_http_t *http);

/* Copies the value of request header `name` (lower case, e.g.
 * "last-event-id") into `out`. 0, HB_ENOTFOUND, HB_ETOOBIG. */
int hb_http_header(const hb_http_req_t *req, const char *name, char *out, size_t outlen);

/* Looks up a query parameter, percent-decoded ('+' is a space) into `out`;
 * the first occurrence wins and "?flag" gives "". Returns 0, HB_ENOTFOUND,
 * HB_ETOOBIG when the value does not fit, HB_EPARSE for a bad encoding or an
 * encoded NUL, HB_EINVAL for bad arguments. */
int hb_http_query(const hb_http_req_t *req, const char *name, char *out, size_t outlen);
/* An optional query parameter into `out` ("" when absent): 0, or HB_EINVAL
 * after answering 400 bad_parameter (a bad encoding, or too long). */
int hb_http_query_opt(hb_http_req_t *req, const char *name, char *out, size_t outlen);
/* An optional RFC 3339 time (`*out` unchanged when absent): 0, or
 * HB_EINVAL after answering 400 bad_parameter. */
int hb_http_query_time(hb_http_req_t *req, const char *name, int64_t *out);

#endif
