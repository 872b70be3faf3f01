/* Tests for what the HTTP server gives access control (http.c): answers
 * given later (hb_http_defer: the loop stays free while a password is
 * checked), the after-hook with each routed request's status (for the
 * audit log), the request's Host and the client's address as text, and
 * headers a handler adds, within bounds. On the tests' real server in its
 * own thread (tests/support/httpd.c) with a table of this file's routes
 * behind its guard, hit by raw sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd.h"
#include "runner.h"

#include "hallbus/error.h"
#include "hallbus/http.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A deferred answer, given by a timer on the loop `ms` after the request. */
typedef struct later {
    uv_timer_t timer;
    hb_http_deferred_t *d;
    bool *gone; /* set when the request was gone by then (may be NULL) */
} later_t;

static bool s_later_gone;
static uv_loop_t *s_loop; /* the running server's loop, for the timers */
static pthread_mutex_t s_after_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_after_seen[1024]; /* "PATTERN=STATUS;" per request the after-hook saw */

static void s_later_closed(uv_handle_t *h) { free(h->data); }

static void s_later_fire(uv_timer_t *t)
{
    later_t *l = t->data;
    hb_http_req_t *req = hb_http_deferred_req(l->d);
    if (l->gone)
        *l->gone = req == NULL;
    if (req) {
        assert_int_equal(hb_http_add_header(req, "X-Later", "yes"), 0);
        hb_http_reply_json(req, 200, json_pack("{s:b}", "later", 1));
    }
    hb_http_deferred_free(&l->d);
    assert_null(l->d);
    uv_close((uv_handle_t *)&l->timer, s_later_closed);
}

static void s_later_start(hb_http_req_t *req, uint64_t ms, bool *gone)
{
    later_t *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->d = hb_http_defer(req);
    assert_non_null(l->d);
    l->gone = gone;
    uv_timer_init(s_loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, s_later_fire, ms, 0);
}

static void h_later(hb_http_req_t *req, void *arg)
{
    (void)arg;
    s_later_start(req, 300, NULL);
}

static void h_later_gone(hb_http_req_t *req, void *arg)
{
    (void)arg;
    s_later_start(req, 300, &s_later_gone);
}

/* Who asks, and what a handler may add to its answer. */
static void h_who(hb_http_req_t *req, void *arg)
{
    (void)arg;
    char host[128] = "", addr[64] = "", group[64] = "";
    int rh = hb_http_host(req, host, sizeof host);
    int rp = hb_http_peer_text(req, addr, sizeof addr, group, sizeof group);
    int bad_name = hb_http_add_header(req, "Bad Name", "x");
    int bad_value = hb_http_add_header(req, "X-Split", "a\r\nSet-Cookie: evil=1");
    int added = 0, full = 0;
    for (int i = 0; i < 9; i++) {
        char name[16];
        snprintf(name, sizeof name, "X-H%d", i);
        int rc = hb_http_add_header(req, name, "v");
        added += rc == 0;
        if (rc == HB_ETOOBIG)
            full++;
    }
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "host", host,
                                 "rh", rh, "addr", addr, "group", group, "rp", rp, "bad_name",
                                 bad_name, "bad_value", bad_value, "added", added, "full", full));
}

static void s_after(hb_http_req_t *req, const hb_route_t *route, int status, void *arg)
{
    (void)req;
    (void)arg;
    pthread_mutex_lock(&s_after_lock);
    size_t n = strlen(s_after_seen);
    snprintf(s_after_seen + n, sizeof s_after_seen - n, "%s=%d;", route->pattern, status);
    pthread_mutex_unlock(&s_after_lock);
}

static const hb_http_route_t s_table[] = {
    {"GET", "/v1/later", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, h_later},
    {"GET", "/v1/later-gone", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, h_later_gone},
    {"GET", "/v1/who", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, h_who},
    {"GET", "/v1/t/:id", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "id", hbt_httpd_tag},
    {"GET", "/v1/admin", HB_PERM_ADMIN, HB_SCOPE_ALL, NULL, hbt_httpd_tag}, /* the guard refuses */
};

static int s_setup(void **state)
{
    hbt_httpd_after = s_after;
    s_after_seen[0] = '\0';
    int rc = hbt_httpd_setup_full(state, "127.0.0.1:0", NULL, s_table,
                                  sizeof s_table / sizeof s_table[0]);
    hbt_httpd_after = NULL;
    s_loop = &((hbt_httpd_t *)*state)->loop;
    return rc;
}

#define HBT_FIXTURE s_setup, hbt_httpd_teardown

/* An answer given later leaves the loop free meanwhile; the after-hook sees
 * every routed request's status (0 for a deferred one, the guard's
 * refusal's); a handler learns the Host and the client's address, and adds
 * headers only within bounds; a deferred request whose client went away is
 * told so, and nothing breaks. */
HBT_TEST(test_deferred_after_who)
{
    hbt_httpd_t *fx = *state;
    char pending[16384], pending2[16384], req[256];
    size_t np = 0, np2 = 0;
    hbt_sock_resp_t r;
    int a = hbt_sock_connect(fx->port), b = hbt_sock_connect(fx->port);
    int n =
        snprintf(req, sizeof req, "GET /v1/later HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", fx->port);
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hbt_sock_send(a, req, (size_t)n);
    usleep(30000);
    n = snprintf(req, sizeof req, "GET /v1/who HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", fx->port);
    hbt_sock_send(b, req, (size_t)n);
    assert_int_equal(hbt_sock_read(b, pending2, &np2, &r), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    char want_host[64];
    snprintf(want_host, sizeof want_host, "127.0.0.1:%d", fx->port);
    assert_string_equal(hbt_httpd_str(o, "host"), want_host);
    assert_string_equal(hbt_httpd_str(o, "addr"), "127.0.0.1");
    assert_string_equal(hbt_httpd_str(o, "group"), "127.0.0.1");
    assert_int_equal(json_integer_value(json_object_get(o, "bad_name")), HB_EINVAL);
    assert_int_equal(json_integer_value(json_object_get(o, "bad_value")), HB_EINVAL);
    assert_int_equal(json_integer_value(json_object_get(o, "added")), 8);
    assert_int_equal(json_integer_value(json_object_get(o, "full")), 1);
    json_decref(o);
    assert_non_null(strstr(r.head, "X-H7: v"));
    assert_null(strstr(r.head, "evil"));
    /* The deferred answer came after, with its header. */
    assert_int_equal(hbt_sock_read(a, pending, &np, &r), 0);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "X-Later: yes"));
    assert_non_null(strstr(r.body, "\"later\":true"));
    double who_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    double later_ms =
        (double)(t2.tv_sec - t0.tv_sec) * 1e3 + (double)(t2.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(who_ms < 250);
    assert_true(later_ms >= 290);
    close(a);
    close(b);
    /* No Host at all (HTTP/1.0). */
    int c = hbt_sock_connect(fx->port);
    const char *bare = "GET /v1/who HTTP/1.0\r\n\r\n";
    hbt_sock_send(c, bare, strlen(bare));
    char all[8192];
    size_t got = 0;
    for (ssize_t k; (k = recv(c, all + got, sizeof all - got - 1, 0)) > 0;)
        got += (size_t)k;
    all[got] = '\0';
    close(c);
    assert_non_null(strstr(all, "\"rh\":-4")); /* HB_ENOTFOUND */
    /* A client that leaves before its deferred answer. */
    int d = hbt_sock_connect(fx->port);
    n = snprintf(req, sizeof req, "GET /v1/later-gone HTTP/1.1\r\nHost: x\r\n\r\n");
    hbt_sock_send(d, req, (size_t)n);
    usleep(50000);
    close(d);
    usleep(400000);
    json_decref(hbt_httpd_expect(fx, "GET", "/v1/t/H-mine", NULL, 200));
    json_decref(hbt_httpd_expect(fx, "GET", "/v1/admin", NULL, 403));
    /* The hook runs on the loop's thread once the answer is out: the
     * client may have it a moment before. */
    char seen[1024] = "";
    for (int i = 0; i < 100 && !strstr(seen, "/v1/admin=403;"); i++) {
        if (i)
            usleep(10000);
        pthread_mutex_lock(&s_after_lock);
        snprintf(seen, sizeof seen, "%s", s_after_seen);
        pthread_mutex_unlock(&s_after_lock);
    }
    assert_non_null(strstr(seen, "/v1/later=0;"));
    assert_non_null(strstr(seen, "/v1/who=200;"));
    assert_non_null(strstr(seen, "/v1/t/:id=200;"));
    assert_non_null(strstr(seen, "/v1/admin=403;"));
    fprintf(stderr, "a deferred answer whose client left: the request was %s by then\n",
            s_later_gone ? "gone" : "still there (the answer went to a closed socket)");
}
