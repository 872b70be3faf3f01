/* A real HTTP server for the tests of common/http: hb_http on a libuv loop
 * in its own thread, with the routes the tests ask (echo, tags, streams,
 * patterns behind a guard, its own counters), and a raw-socket client for
 * what a well-behaved client would not send. cmocka fixtures: the server is
 * in *state. Not for the daemons' routes (test_route_tables.c). */
#ifndef HB_TEST_HTTPD_H
#define HB_TEST_HTTPD_H

#include "hallbus/http.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define HBT_HTTPD_MAX_BODY 1024

typedef struct hbt_httpd {
    uv_loop_t loop;
    hb_http_t *http;
    uv_async_t stop;
    pthread_t thread;
    int port;
    char base[64];
} hbt_httpd_t;

typedef struct hbt_sock_resp {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
} hbt_sock_resp_t;

/* Streams the server opened and closed (GET /v1/stream), and what its
 * write past the queue bound returned. */
extern volatile int hbt_httpd_streams_closed;
extern volatile int hbt_httpd_stream_overflow_rc;

/* The pieces of every server fixture, for a test with routes of its own:
 * hbt_httpd_new makes a server on `host_port` (its loop initialised, not yet
 * running; `base` is http://127.0.0.1:port), or NULL when the address cannot
 * be listened on (no IPv6 here); hbt_httpd_run runs its loop on a thread of
 * its own once the caller has set its routes, and puts it in *state;
 * hbt_httpd_teardown ends it. When that thread ends, h2o's per-thread caches
 * are handed back, and the sanitizer build told about what cannot be (in
 * httpd.c, once for every test linking it). */
hbt_httpd_t *hbt_httpd_new(const char *host_port, size_t max_body);
void hbt_httpd_run(void **state, hbt_httpd_t *fx);

/* A server on `host_port` with `limits` (NULL: the defaults) set before its
 * loop runs, as a daemon sets them at start; with `table` (may be NULL) and
 * a guard registered too. NULL in *state when the address cannot be
 * listened on (no IPv6): the test skips. */
int hbt_httpd_setup_full(void **state, const char *host_port, const hb_http_limits_t *limits,
                         const hb_http_route_t *table, size_t n);
/* When set, hbt_httpd_setup_full with a table installs it as the server's
 * after-hook (hb_http_set_after) before the loop runs. */
extern hb_http_after_fn hbt_httpd_after;
int hbt_httpd_setup_limits(void **state, const char *host_port, const hb_http_limits_t *limits);
int hbt_httpd_setup(void **state);          /* 127.0.0.1, default limits */
int hbt_httpd_setup_patterns(void **state); /* and the pattern table behind the guard */
/* Stops the server and asserts its loop closes (a leaked handle fails). */
int hbt_httpd_teardown(void **state);

/* One request by the tools' client; its JSON answer (owned) and status. */
json_t *hbt_httpd_call(hbt_httpd_t *fx, const char *method, const char *path, const char *body,
                       int *status);
/* hbt_httpd_call that fails, naming the request, unless the status is
 * `status`. */
json_t *hbt_httpd_expect(hbt_httpd_t *fx, const char *method, const char *path, const char *body,
                         int status);
/* A handler answering {"route": arg, "path": the request's path}. */
void hbt_httpd_tag(hb_http_req_t *req, void *arg);
/* A member string, or "(missing)". */
const char *hbt_httpd_str(json_t *o, const char *key);
/* Waits (up to 5 s) until `want` streams were closed, and asserts it. */
void hbt_httpd_wait_closed(int want);

/* A raw client: connect to 127.0.0.1, send all, read one Content-Length
 * framed answer (`pending` carries bytes read past it, 16 KiB), or read
 * until `needle` (false on EOF or timeout). */
int hbt_sock_connect(int port);
void hbt_sock_send(int fd, const char *data, size_t len);
int hbt_sock_read(int fd, char *pending, size_t *npending, hbt_sock_resp_t *r);
bool hbt_sock_read_until(int fd, char *buf, size_t cap, size_t *n, const char *needle);
/* One request on its own connection: connect, send `request` whole, read
 * the answer into `r`, close; hbt_sock_read's return. */
int hbt_sock_once(int port, const char *request, hbt_sock_resp_t *r);
/* A connection reading GET /v1/stream, asserted to have its head and the
 * three first events ("data: 2") in `buf` (`cap` bytes, `*n` read); the
 * socket, for the caller to close. */
int hbt_sock_stream(int port, char *buf, size_t cap, size_t *n);

#endif
