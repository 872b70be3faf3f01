/* The HTTP/JSON server of both daemons: h2o 2.2 (libuv flavour) on the
 * daemon's loop, one catch-all h2o path whose handler dispatches over the
 * daemon's route table (router.c's patterns, then path prefixes), whole
 * bodies up to a limit. What clients may hold (connections in all and per
 * address group, the time to receive a request) is conns.c's.
 *
 * It serves TLS when given a certificate (hb_http_set_tls: OpenSSL through
 * h2o's accept context). It is not a web framework: no HTTP/2, no static
 * files, no streaming of request bodies. Handlers answer synchronously,
 * before they return, or defer their answer (hb_http_defer); the answers
 * are reply.c's and what a handler reads of its request is request.c's. */
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
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(HTTP_ROUTES_MAX <= HTTP_REQSTATS_PREFIX_MAX, "a prefix route without its slot");
#define HTTP_PATH_MAX 4096    /* decoded path, longer is refused with 414 */
#define HTTP_HOSTPORT_MAX 300 /* "[v6 literal]:port" or a host name and port */
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
static const http_route_t *s_prefix_route(http_exchange_t *ex, hb_http_t *http, const char *method,
                                          const char *path, size_t path_len, const char *hint)
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
        hb_http__send_error(ex, 404, "not_found", reason, NULL);
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
        hb_http__send_error(ex, 405, "method_not_allowed", reason, allow);
        return NULL;
    }

    return route;
}

/* Which route took the request, for its duration (s_on_req). */
typedef struct http_took {
    size_t slot; /* reqstats.c's slot */
    const hb_route_t *route;
    int64_t t0_ns; /* when h2o handed the request over */
    bool deferred; /* the handler deferred its answer: timed when it is given */
} http_took_t;

static int s_dispatch(h2o_handler_t *self, h2o_req_t *req, http_took_t *took)
{
    hb_http_t *http = ((http_handler_t *)self)->http;
    http_exchange_t ex = {.req = req, .http = http};
    char reason[HTTP_REASON_MAX];

    if (req->method.len == 0 || req->method.len >= HTTP_METHOD_MAX) {
        hb_http__send_error(&ex, 400, "bad_request", "the request method is missing or too long",
                            NULL);
        return 0;
    }
    char *method = s_pool_strndup(req, req->method.base, req->method.len);

    size_t raw_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *query = "";
    if (req->query_at != SIZE_MAX)
        query = s_pool_strndup(req, req->path.base + req->query_at + 1,
                               req->path.len - req->query_at - 1);
    if (raw_len == 0 || req->path.base[0] != '/') {
        hb_http__send_error(&ex, 400, "bad_request",
                            "the request target must be a path starting with '/'", NULL);
        return 0;
    }
    if (raw_len > HTTP_PATH_MAX) {
        snprintf(reason, sizeof reason, "the path is longer than %d bytes", HTTP_PATH_MAX);
        hb_http__send_error(&ex, 414, "too_long", reason, NULL);
        return 0;
    }
    char *path = h2o_mem_alloc_pool(&req->pool, raw_len + 1);
    size_t path_len = 0;
    if (hb_http__decode(req->path.base, raw_len, false, path, raw_len + 1, &path_len) != 0) {
        hb_http__send_error(&ex, 400, "bad_path",
                            "the path has an invalid percent-encoding (or an encoded NUL)", NULL);
        return 0;
    }
    if (s_has_dot_segment(path)) {
        hb_http__send_error(&ex, 400, "bad_path", "the path must not contain '.' or '..' segments",
                            NULL);
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
        hb_http__send_error(&ex, 413, "too_large", reason, NULL);
        return 0;
    }
    const char *body = req->entity.base ? s_pool_strndup(req, req->entity.base, req->entity.len)
                                        : s_pool_strndup(req, "", 0);

    /* The table's patterns first; on the stack, so that matching allocates
     * nothing. */
    hb_router_match_t match;
    hb_route_result_t rr = hb_router_match(http->router, method, req->path.base, raw_len, &match);
    if (rr == HB_ROUTE_BAD_PARAM) {
        snprintf(reason, sizeof reason, "the path parameter '%s' %s", match.bad_param,
                 match.bad_why);
        hb_http__send_error(&ex, 400, "bad_parameter", reason, NULL);
        return 0;
    }
    if (rr == HB_ROUTE_NO_METHOD) {
        snprintf(reason, sizeof reason, "%s is not allowed on %.*s (allowed: %s)", method, 200,
                 path, match.allow);
        hb_http__send_error(&ex, 405, "method_not_allowed", reason, match.allow);
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
            hb_http__send_error(&ex, 400, "bad_path", "the path is not valid UTF-8 once decoded",
                                NULL);
            return 0;
        }
        const http_route_t *route = s_prefix_route(&ex, http, method, path, path_len, match.hint);
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
            hb_http__send_error(&ex, 500, "internal", "the request was refused without an answer",
                                NULL);
        }
    } else {
        fn(&hreq, arg);
        if (!ex.answered && !ex.deferred) {
            hb_log_once("http.no_reply", HB_LOG_ERROR, "http: the handler for %s %s did not answer",
                        method, path);
            hb_http__send_error(&ex, 500, "internal", "the handler did not answer", NULL);
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
        json_t *o = json_pack("{s:s, s:s}", "error", hb_http__error_code(req->res.status), "reason",
                              reason);
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

hb_route_t hb_http_route_of(const hb_http_route_t *row)
{
    return (hb_route_t){.method = row->method,
                        .pattern = row->pattern,
                        .perm = row->perm,
                        .scope = row->scope,
                        .scope_param = row->scope_param};
}

int hb_http_routes(hb_http_t *http, const hb_http_route_t *table, size_t n, void *arg)
{
    if (!http || (!table && n > 0))
        return HB_EINVAL;
    size_t before = hb_router_count(http->router);
    for (size_t i = 0; i < n; i++) {
        const hb_http_route_t *row = &table[i];
        hb_route_t route = hb_http_route_of(row);
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

int hb_http_port(const hb_http_t *http) { return http ? http->port : 0; }

/* ----------------------------------------------------- listening, TLS ---- */

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
