/* What the files of common/http share and nobody else needs: the server's
 * state (http.c serves requests, conns.c accepts connections within the
 * limits), the exchange a handler answers on (reply.c answers it, request.c
 * reads it) and percent-decoding of paths and query values (router.c, which
 * decodes path segments; results are checked with hallbus/utf8.h), and the
 * request durations by route (reqstats.c).
 * Private to common/http/. */
#ifndef HALLBUS_HTTP_INTERNAL_H
#define HALLBUS_HTTP_INTERNAL_H

#include "hallbus/http.h"
#include "hallbus/idmap.h"
#include "hallbus/metrics.h"
#include "hallbus/router.h"
#include "hallbus/vec.h"

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Percent-decodes src[0..len) into out (NUL-terminated), '+' as a space when
 * `plus_is_space` (query strings). A decoded NUL is an error: every decoded
 * string is handed on as a C string. 0, HB_EPARSE (a bad or NUL escape),
 * HB_ETOOBIG (`out` too small). `outlen` (may be NULL) gets the length. */
int hb_http__decode(const char *src, size_t len, bool plus_is_space, char *out, size_t outcap,
                    size_t *outlen);

#define HTTP_ROUTES_MAX 64
#define HTTP_METHOD_MAX 16 /* "OPTIONS" fits; anything longer is refused */
#define HTTP_PREFIX_MAX 256
#define HTTP_ADDR_TEXT_MAX 64 /* an address group as text, "/64" included */

/* A prefix route (hb_http_route). */
typedef struct http_route {
    char method[HTTP_METHOD_MAX]; /* "" for any method */
    char prefix[HTTP_PREFIX_MAX];
    size_t prefix_len;
    hb_route_t info; /* what hb_http_req_route tells: its strings are the two above */
    hb_http_handler_fn fn;
    void *arg;
} http_route_t;

/* The handler of the router's route of the same index. */
typedef struct http_target {
    hb_http_handler_fn fn;
    void *arg;
} http_target_t;

/* The address group a client is counted under, as 16 bytes: ::ffff:a.b.c.d
 * for an IPv4 address (and for an IPv4-mapped IPv6 one), or the first 8
 * bytes of an IPv6 address followed by zeros for its /64. The two forms
 * never meet: an IPv4 key has ff ff in bytes 10-11, a /64 key zeros there. */
typedef struct http_addr_key {
    uint8_t b[16];
} http_addr_key_t;

/* One address group with connections open. */
typedef struct http_addr_group {
    http_addr_key_t key;
    uint32_t conns; /* > 0 */
} http_addr_group_t;

/* Open connections per address group: the groups in a dense array and the
 * kit's id map over them, keyed by the 16 bytes. The map is seeded at random
 * per server, so that a client cannot pick addresses known to collide, and
 * sized for max_conns groups (there is at most one per open connection), so
 * adding one never needs memory. A group whose last connection closes
 * leaves the array by a swap with the last one. */
typedef struct http_addr_table {
    HB_VEC(http_addr_group_t) groups;
    hb_idmap_t map;
} http_addr_table_t;

/* The server's open connections and its streams are each a doubly linked
 * list (members prev and next) whose first element and count the server
 * keeps: these link an element in at the front and out again. Macros
 * because the two lists hold different types. */
#define HTTP_LIST_PUSH(head, count, e)                                                             \
    do {                                                                                           \
        (e)->prev = NULL;                                                                          \
        (e)->next = (head);                                                                        \
        if ((e)->next)                                                                             \
            (e)->next->prev = (e);                                                                 \
        (head) = (e);                                                                              \
        (count)++;                                                                                 \
    } while (0)
#define HTTP_LIST_REMOVE(head, count, e)                                                           \
    do {                                                                                           \
        if ((e)->prev)                                                                             \
            (e)->prev->next = (e)->next;                                                           \
        else                                                                                       \
            (head) = (e)->next;                                                                    \
        if ((e)->next)                                                                             \
            (e)->next->prev = (e)->prev;                                                           \
        (count)--;                                                                                 \
    } while (0)

/* One accepted connection. The uv_tcp_t is first so that the close callback
 * h2o calls with the handle finds the record; h2o owns handle->data. */
typedef struct http_conn {
    uv_tcp_t tcp;
    hb_http_t *http;
    struct http_conn *prev, *next;
    h2o_socket_t *sock; /* h2o's socket over tcp; NULL once h2o closed it */
    http_addr_key_t addr;
} http_conn_t;

/* Request durations (reqstats.c): one histogram per route and status class
 * (2xx to 5xx), so their number is fixed by the route tables and never by
 * what clients send. Slots: the router's routes by index, then the prefix
 * routes by index, then one for requests no route took (400, 404, 405,
 * 414 before any route). A slot learns its route at its first request.
 * Fixed memory: 193 slots of 4 histograms, about 170 KB per server. */
#define HTTP_REQSTATS_PREFIX_MAX 64 /* prefix routes (http.c's HTTP_ROUTES_MAX) */
#define HTTP_REQSTATS_SLOTS (HB_ROUTER_ROUTES_MAX + HTTP_REQSTATS_PREFIX_MAX + 1)
#define HTTP_REQSTATS_UNMATCHED (HTTP_REQSTATS_SLOTS - 1)
#define HTTP_REQSTATS_CLASSES 4 /* 2xx, 3xx, 4xx, 5xx */

typedef struct http_reqslot {
    const hb_route_t *route; /* NULL until the first request (and for UNMATCHED) */
    hb_histogram_t by_class[HTTP_REQSTATS_CLASSES];
} http_reqslot_t;

typedef struct http_reqstats {
    http_reqslot_t slots[HTTP_REQSTATS_SLOTS];
} http_reqstats_t;

void hb_http__reqstats_init(http_reqstats_t *rs);
/* Records a request that started at `t0_ns` (hb_mono_ns) and was answered
 * with `status`, in `slot` (the route `route` took it; NULL for
 * UNMATCHED). Routes live as long as the server, so the pointer is kept. */
void hb_http__reqstats_record(http_reqstats_t *rs, size_t slot, const hb_route_t *route, int status,
                              int64_t t0_ns);
/* Writes histogram `name` with labels method, route (the pattern or prefix,
 * never the path asked) and code ("2xx" ...), for the series that have
 * requests. */
void hb_http__reqstats_metrics(const http_reqstats_t *rs, const char *name, hb_metrics_t *m);

struct hb_http {
    uv_loop_t *loop;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    SSL_CTX *ssl_ctx; /* hb_http_set_tls; NULL: plain HTTP */
    bool ctx_inited;
    uv_tcp_t listener;
    bool listener_inited; /* uv_tcp_init done: needs uv_close */
    bool listener_closed; /* its close callback ran */
    uv_idle_t reaper;
    bool reaping;
    bool destroying;
    size_t max_body;
    int port;
    http_route_t routes[HTTP_ROUTES_MAX]; /* prefix routes */
    size_t nroutes;
    hb_router_t *router; /* pattern routes */
    http_target_t targets[HB_ROUTER_ROUTES_MAX];
    hb_http_guard_fn guard;
    void *guard_arg;
    hb_http_after_fn after; /* hb_http_set_after */
    void *after_arg;
    http_conn_t *conns;
    size_t nconns;
    struct hb_http_stream *streams;
    size_t nstreams;
    hb_http_limits_t limits;
    http_addr_table_t addrs;
    uint64_t refused_per_address;
    uint64_t refused_max_conns;
    uint64_t closed_by_timeout;
    http_reqstats_t reqstats; /* request durations by route (reqstats.c) */
};

#define HTTP_REASON_MAX 512 /* the "reason" text of an error body */

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

/* reply.c: the code of an error answer's body for a status ("not_found"),
 * and an error answer sent on an exchange (http.c's refusals before any
 * handler runs, and h2o's own errors, take the same JSON shape). */
const char *hb_http__error_code(int status);
void hb_http__send_error(http_exchange_t *ex, int status, const char *code, const char *reason,
                         const char *allow);

/* conns.c: the table of address groups (sized for the limits, seeded at
 * random), freed with the server; the listener's accept callback. */
int hb_http__addrs_init(hb_http_t *http);
void hb_http__addrs_free(hb_http_t *http);
void hb_http__on_connection(uv_stream_t *server, int status);
/* http.c: frees the server once it is destroyed and its last connection
 * is gone (conns.c calls it as each one closes). */
void hb_http__maybe_finish(hb_http_t *http);

#endif
