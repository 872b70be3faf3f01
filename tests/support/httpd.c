/* The HTTP server and raw client the tests of common/http share (see
 * httpd.h). Every handler here answers what its route's test expects; the
 * tests say what they check. */
#include "httpd.h"

#include "hallbus/error.h"
#include "hallbus/httpc.h"
#include "hallbus/perm.h"

#include <h2o.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runner.h"

/* ------------------------------------------------------------- handlers */

static void h_echo_get(hb_http_req_t *req, void *arg)
{
    char a[64], b[64];
    int ra = hb_http_query(req, "a", a, sizeof a);
    int rb = hb_http_query(req, "b", b, sizeof b);
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i}", "method", req->method, "path", req->path,
                          "query", req->query, "ra", ra, "rb", rb);
    if (ra == 0)
        json_object_set_new(o, "a", json_string(a));
    if (rb == 0)
        json_object_set_new(o, "b", json_string(b));
    hb_http_reply_json(req, 200, o);
}

static void h_echo_post(hb_http_req_t *req, void *arg)
{
    json_error_t jerr;
    json_t *in = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!in) {
        hb_http_reply_error(req, 400, "bad_json", "body is not valid JSON: %s", jerr.text);
        return;
    }
    hb_http_reply_json(req, 201,
                       json_pack("{s:o, s:I}", "got", in, "len", (json_int_t)req->body_len));
}

void hbt_httpd_tag(hb_http_req_t *req, void *arg)
{
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:s}", "route", (const char *)arg, "path", req->path));
}

static void h_silent(hb_http_req_t *req, void *arg) { (void)req; }

static void h_raw(hb_http_req_t *req, void *arg)
{
    hb_http_reply_raw(req, 200, "text/plain; charset=utf-8", "hello\n", 6);
}

static void h_null_json(hb_http_req_t *req, void *arg) { hb_http_reply_json(req, 200, NULL); }

static void h_long_reason(hb_http_req_t *req, void *arg)
{
    char text[801];
    for (int i = 0; i < 400; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2); /* 400 x e-acute: cut mid-character */
    text[800] = '\0';
    hb_http_reply_error(req, 409, "conflict", "xy%s", text);
}

/* A refusal naming the field at fault, its reason quoting a byte that is
 * not UTF-8 (as a client's text may). */
static void h_field_error(hb_http_req_t *req, void *arg)
{
    hb_http_reply_field_error(req, 400, "bad_field", "when", "when: must be a date, not '%s'",
                              "\xff");
}

static void h_quit(hb_http_req_t *req, void *arg)
{
    hbt_httpd_t *fx = arg;
    hb_http_destroy(&fx->http);
    hb_http_reply_json(req, 200, json_pack("{s:b}", "bye", 1));
}

/* A stream: three events at once, then open until someone closes it. The
 * fourth write past the queue bound is refused. */
volatile int hbt_httpd_streams_closed;
volatile int hbt_httpd_stream_overflow_rc;

static hb_http_stream_t *s_last_stream; /* loop thread only */

static void s_on_stream_closed(hb_http_stream_t *st, void *arg)
{
    (void)arg;
    if (st == s_last_stream)
        s_last_stream = NULL;
    __atomic_add_fetch(&hbt_httpd_streams_closed, 1, __ATOMIC_SEQ_CST);
}

/* Writes a heartbeat to the open stream: a peer that went away is only
 * noticed when something is written to it, as with any TCP connection. */
static void h_poke(hb_http_req_t *req, void *arg)
{
    int rc = s_last_stream ? hb_http_stream_write(s_last_stream, ": ping\n\n", 8) : HB_ENOTFOUND;
    hb_http_reply_json(req, 200, json_pack("{s:i}", "rc", rc));
}

static void h_stream(hb_http_req_t *req, void *arg)
{
    hb_http_stream_t *st =
        hb_http_stream_start(req, 200, "text/event-stream", 64, s_on_stream_closed, NULL);
    assert_non_null(st);
    for (int i = 0; i < 3; i++) {
        char ev[32];
        int n = snprintf(ev, sizeof ev, "data: %d\n\n", i);
        assert_int_equal(hb_http_stream_write(st, ev, (size_t)n), 0);
    }
    char big[64] = {0};
    hbt_httpd_stream_overflow_rc = hb_http_stream_write(st, big, sizeof big);
    s_last_stream = st;
}

/* A pattern route's handler: says which route took the request, what it
 * needs, and the parameters it got. */
static void h_param(hb_http_req_t *req, void *arg)
{
    const hb_route_t *rt = hb_http_req_route(req);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s}", "pattern", rt->pattern, "perm", hb_perm_name(rt->perm),
                  "scope", hb_scope_name(rt->scope), "tag", (const char *)arg);
    static const char *const names[] = {"id", "action", "file"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = hb_http_param(req, names[i]);
        if (v)
            json_object_set_new(o, names[i], json_string(v));
    }
    hb_http_reply_json(req, 200, o);
}

static const hb_http_route_t s_pattern_table[] = {
    {"GET", "/v1/t/:id", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "id", h_param},
    {"GET", "/v1/t/fixed", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, h_param},
    {"PUT", "/v1/t/:id", HB_PERM_POLICY_EDIT, HB_SCOPE_HALL, "id", h_param},
    {"POST", "/v1/t/:id/open", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "id", h_param},
    {"POST", "/v1/t/:id/:action", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "id", h_param},
    /* Beside the prefix route "/v1/items/": patterns are tried first. */
    {"GET", "/v1/items/:id/special", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, h_param},
    {"GET", "/v1/admin", HB_PERM_ADMIN, HB_SCOPE_ALL, NULL, h_param},
    {"GET", "/v1/silent-guard", HB_PERM_ARCHIVE_READ, HB_SCOPE_ALL, NULL, h_param},
};

/* What access control will do in the slot the server leaves for it: refuse
 * by the route's permission, or by the object its scope parameter names.
 * "/v1/silent-guard" refuses without answering, a guard's mistake. */
static bool s_guard(hb_http_req_t *req, const hb_route_t *route, void *arg)
{
    (void)arg;
    if (route->perm == HB_PERM_ADMIN) {
        hb_http_reply_error(req, 403, "forbidden", "%s needs %s", route->pattern,
                            hb_perm_name(route->perm));
        return false;
    }
    if (route->perm == HB_PERM_ARCHIVE_READ)
        return false;
    const char *in = route->scope_param ? hb_http_param(req, route->scope_param) : NULL;
    if (in && strcmp(in, "H-other") == 0) {
        hb_http_reply_error(req, 403, "forbidden", "%s '%s' is not in scope",
                            hb_scope_name(route->scope), in);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------- fixture */

/* h2o keeps per-thread caches of freed memory: socket buffers in the
 * exported thread-local h2o_socket_buffer_prototype, and request-pool chunks
 * in a thread-local inside libh2o's memory.c. When a loop thread exits, both
 * become unreachable and LeakSanitizer reports them. The first we can hand
 * back here; the second is not reachable from outside libh2o, so the
 * sanitizer build is told to ignore leaks allocated through h2o's recycling
 * allocator (named by that frame: libh2o has no frame pointers, so the fast
 * unwinder sees no deeper). A leaked connection or request would still be
 * reported through its own, non-recycled allocation. A daemon runs its loop
 * on the main thread for its whole life, where these caches stay reachable. */
static void s_drain_h2o_thread_caches(void)
{
    h2o_mem_recycle_t *r = &h2o_socket_buffer_prototype.allocator;
    while (r->cnt > 0)
        free(h2o_mem_alloc_recycle(r, 1));
}

#if defined(__SANITIZE_ADDRESS__)
__attribute__((used)) const char *__lsan_default_suppressions(void);
__attribute__((used)) const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\n";
}
#endif

/* The server's counters as JSON, read on the loop's thread as a daemon's
 * /v1/status handler would. */
static void h_stats(hb_http_req_t *req, void *arg)
{
    hbt_httpd_t *fx = arg;
    hb_http_stats_t st;
    hb_http_get_stats(fx->http, &st);
    hb_http_reply_json(req, 200,
                       json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "conns_open",
                                 (json_int_t)st.conns_open, "streams_open",
                                 (json_int_t)st.streams_open, "addresses_open",
                                 (json_int_t)st.addresses_open, "refused_per_address",
                                 (json_int_t)st.refused_per_address, "refused_max_conns",
                                 (json_int_t)st.refused_max_conns, "closed_by_timeout",
                                 (json_int_t)st.closed_by_timeout));
}

static void *s_loop_thread(void *arg)
{
    hbt_httpd_t *fx = arg;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    s_drain_h2o_thread_caches();
    return NULL;
}

static void s_on_stop(uv_async_t *a)
{
    hbt_httpd_t *fx = a->data;
    hb_http_destroy(&fx->http);
    uv_close((uv_handle_t *)a, NULL);
}

hbt_httpd_t *hbt_httpd_new(const char *host_port, size_t max_body)
{
    hbt_httpd_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    fx->http = hb_http_new(&fx->loop, host_port, max_body);
    if (!fx->http) {
        uv_run(&fx->loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&fx->loop), 0);
        free(fx);
        return NULL;
    }
    fx->port = hb_http_port(fx->http);
    assert_true(fx->port > 0);
    snprintf(fx->base, sizeof fx->base, "http://127.0.0.1:%d", fx->port);
    return fx;
}

void hbt_httpd_run(void **state, hbt_httpd_t *fx)
{
    assert_int_equal(uv_async_init(&fx->loop, &fx->stop, s_on_stop), 0);
    fx->stop.data = fx;
    assert_int_equal(pthread_create(&fx->thread, NULL, s_loop_thread, fx), 0);
    *state = fx;
}

/* A server on `host_port` with `limits` (NULL: the defaults), set before its
 * loop runs, as a daemon sets them at start; with `table` (may be NULL) and
 * s_guard registered too. NULL in *state when the address cannot be
 * listened on (no IPv6): the caller skips. */
hb_http_after_fn hbt_httpd_after;

int hbt_httpd_setup_full(void **state, const char *host_port, const hb_http_limits_t *limits,
                         const hb_http_route_t *table, size_t n)
{
    hbt_httpd_t *fx = hbt_httpd_new(host_port, HBT_HTTPD_MAX_BODY);
    if (!fx) {
        /* Loopback IPv4 is always there: only another address may skip. */
        assert_string_not_equal(host_port, "127.0.0.1:0");
        *state = NULL;
        return 0;
    }
    if (limits)
        assert_int_equal(hb_http_set_limits(fx->http, limits), 0);
    assert_int_equal(hb_http_route(fx->http, "GET", "/v1/echo", HB_PERM_PUBLIC, h_echo_get, NULL),
                     0);
    assert_int_equal(hb_http_route(fx->http, "POST", "/v1/echo", HB_PERM_PUBLIC, h_echo_post, NULL),
                     0);
    assert_int_equal(
        hb_http_route(fx->http, "GET", "/v1/items", HB_PERM_PUBLIC, hbt_httpd_tag, "items"), 0);
    assert_int_equal(
        hb_http_route(fx->http, "GET", "/v1/items/", HB_PERM_PUBLIC, hbt_httpd_tag, "item"), 0);
    assert_int_equal(
        hb_http_route(fx->http, "POST", "/v1/submit", HB_PERM_PUBLIC, h_echo_post, NULL), 0);
    assert_int_equal(
        hb_http_route(fx->http, "PUT", "/v1/submit", HB_PERM_PUBLIC, h_echo_post, NULL), 0);
    assert_int_equal(hb_http_route(fx->http, NULL, "/v1/any", HB_PERM_PUBLIC, hbt_httpd_tag, "any"),
                     0);
    assert_int_equal(hb_http_route(fx->http, "GET", "/v1/silent", HB_PERM_PUBLIC, h_silent, NULL),
                     0);
    assert_int_equal(hb_http_route(fx->http, "GET", "/v1/raw", HB_PERM_PUBLIC, h_raw, NULL), 0);
    assert_int_equal(hb_http_route(fx->http, "GET", "/v1/null", HB_PERM_PUBLIC, h_null_json, NULL),
                     0);
    assert_int_equal(hb_http_route(fx->http, "POST", "/v1/quit", HB_PERM_PUBLIC, h_quit, fx), 0);
    assert_int_equal(
        hb_http_route(fx->http, "GET", "/v1/long", HB_PERM_PUBLIC, h_long_reason, NULL), 0);
    assert_int_equal(
        hb_http_route(fx->http, "GET", "/v1/field", HB_PERM_PUBLIC, h_field_error, NULL), 0);
    assert_int_equal(hb_http_route(fx->http, "GET", "/v1/stream", HB_PERM_PUBLIC, h_stream, NULL),
                     0);
    assert_int_equal(hb_http_route(fx->http, "POST", "/v1/poke", HB_PERM_PUBLIC, h_poke, NULL), 0);
    assert_int_equal(hb_http_route(fx->http, "GET", "/v1/stats", HB_PERM_PUBLIC, h_stats, fx), 0);
    /* Registration refusals. */
    assert_int_equal(hb_http_route(fx->http, "GET", "/v1/echo", HB_PERM_PUBLIC, h_echo_get, NULL),
                     HB_EEXIST);
    assert_int_equal(hb_http_route(fx->http, "GET", "no-slash", HB_PERM_PUBLIC, h_echo_get, NULL),
                     HB_EINVAL);
    /* A route must say what it needs. */
    assert_int_equal(
        hb_http_route(fx->http, "GET", "/v1/open", HB_PERM_UNSET, hbt_httpd_tag, "open"),
        HB_EINVAL);
    assert_int_equal(
        hb_http_route(fx->http, "GET", "/v1/open", HB_PERM_COUNT, hbt_httpd_tag, "open"),
        HB_EINVAL);
    if (table) {
        assert_int_equal(hb_http_routes(fx->http, table, n, "table"), 0);
        hb_http_set_guard(fx->http, s_guard, NULL);
        if (hbt_httpd_after)
            hb_http_set_after(fx->http, hbt_httpd_after, NULL);
    }
    hbt_httpd_run(state, fx);
    return 0;
}

int hbt_httpd_setup_limits(void **state, const char *host_port, const hb_http_limits_t *limits)
{
    return hbt_httpd_setup_full(state, host_port, limits, NULL, 0);
}

int hbt_httpd_setup(void **state) { return hbt_httpd_setup_limits(state, "127.0.0.1:0", NULL); }

int hbt_httpd_setup_patterns(void **state)
{
    return hbt_httpd_setup_full(state, "127.0.0.1:0", NULL, s_pattern_table,
                                sizeof s_pattern_table / sizeof s_pattern_table[0]);
}

int hbt_httpd_teardown(void **state)
{
    hbt_httpd_t *fx = *state;
    if (!fx)
        return 0;
    uv_async_send(&fx->stop);
    pthread_join(fx->thread, NULL);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    return 0;
}

/* ---------------------------------------------------------- raw client */

int hbt_sock_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

void hbt_sock_send(int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, data + off, len - off, MSG_NOSIGNAL);
        assert_true(w > 0);
        off += (size_t)w;
    }
}

/* Reads one Content-Length framed answer from a keep-alive connection.
 * `pending`/`npending` carry bytes read past the previous answer. */
int hbt_sock_read(int fd, char *pending, size_t *npending, hbt_sock_resp_t *r)
{
    char *buf = pending;
    size_t n = *npending;
    const size_t cap = 16384;
    char *end;
    for (;;) {
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end)
            break;
        ssize_t got = recv(fd, buf + n, cap - 1 - n, 0);
        if (got <= 0)
            return -1;
        n += (size_t)got;
    }
    size_t hl = (size_t)(end - buf) + 4;
    assert_true(hl < sizeof r->head);
    memcpy(r->head, buf, hl);
    r->head[hl] = '\0';
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    const char *cl = strcasestr(r->head, "\r\ncontent-length:");
    assert_non_null(cl);
    size_t blen = strtoul(cl + 17, NULL, 10);
    assert_true(blen < sizeof r->body);
    while (n < hl + blen) {
        ssize_t got = recv(fd, buf + n, cap - 1 - n, 0);
        if (got <= 0)
            return -1;
        n += (size_t)got;
    }
    memcpy(r->body, buf + hl, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    memmove(buf, buf + hl + blen, n - hl - blen);
    *npending = n - hl - blen;
    return 0;
}

/* ------------------------------------------------------------- helpers */

json_t *hbt_httpd_call(hbt_httpd_t *fx, const char *method, const char *path, const char *body,
                       int *status)
{
    hb_httpc_resp_t resp;
    char err[256];
    int rc = hb_httpc_request(fx->base, method, path, body, 5000, &resp, err, sizeof err);
    if (rc != 0)
        fail_msg("%s %s: %s (%s)", method, path, hb_strerror(rc), err);
    *status = resp.status;
    json_t *o = json_loadb(resp.body, resp.body_len, 0, NULL);
    if (!o)
        fail_msg("%s %s: answer is not JSON: %s", method, path, resp.body);
    hb_httpc_resp_free(&resp);
    return o;
}

json_t *hbt_httpd_expect(hbt_httpd_t *fx, const char *method, const char *path, const char *body,
                         int status)
{
    int got;
    json_t *o = hbt_httpd_call(fx, method, path, body, &got);
    if (got != status)
        fail_msg("%s %.60s: status %d, not %d", method, path, got, status);
    return o;
}

const char *hbt_httpd_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(missing)";
}

/* Reads from `fd` until `needle` has been seen (or EOF/timeout). */
bool hbt_sock_read_until(int fd, char *buf, size_t cap, size_t *n, const char *needle)
{
    for (;;) {
        buf[*n] = '\0';
        if (strstr(buf, needle))
            return true;
        ssize_t got = recv(fd, buf + *n, cap - 1 - *n, 0);
        if (got <= 0)
            return false;
        *n += (size_t)got;
    }
}

int hbt_sock_once(int port, const char *request, hbt_sock_resp_t *r)
{
    int fd = hbt_sock_connect(port);
    hbt_sock_send(fd, request, strlen(request));
    char buf[16384];
    size_t n = 0;
    int rc = hbt_sock_read(fd, buf, &n, r);
    close(fd);
    return rc;
}

int hbt_sock_stream(int port, char *buf, size_t cap, size_t *n)
{
    int fd = hbt_sock_connect(port);
    const char *req = "GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n";
    hbt_sock_send(fd, req, strlen(req));
    *n = 0;
    assert_true(hbt_sock_read_until(fd, buf, cap, n, "data: 2"));
    return fd;
}

void hbt_httpd_wait_closed(int want)
{
    for (int i = 0; i < 500 && __atomic_load_n(&hbt_httpd_streams_closed, __ATOMIC_SEQ_CST) < want;
         i++)
        usleep(10000);
    assert_int_equal(__atomic_load_n(&hbt_httpd_streams_closed, __ATOMIC_SEQ_CST), want);
}
