/* Tests for the HTTP server (http.c): requests and answers, prefix and
 * pattern routes, the guard, bodies, paths and headers, keep-alive and
 * streams, on a real server in its own thread (tests/support/httpd.c) hit
 * over loopback by the tools' client and by raw sockets. The connection
 * limits and timeouts are test_http_limits.c's.
 *
 * Every test ends by destroying the server and asserting uv_loop_close() == 0,
 * so a leaked handle anywhere in the server fails the test that leaked it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd.h"
#include "runner.h"

#include "hallbus/error.h"
#include "hallbus/http.h"
#include "hallbus/httpc.h"
#include "hallbus/log.h"
#include "hallbus/querynum.h"

#include <h2o.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- answers */

/* A request and what its JSON answer must say: the status (0: any) and up
 * to five string members (a NULL value: the member must be absent). */
typedef struct {
    const char *method, *path, *body;
    int status;
    const char *members[5][2];
} answer_t;

/* Makes each request of `rows` and checks its answer, naming the request
 * on a mismatch. */
static void s_expect_answers(hbt_httpd_t *fx, const answer_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const answer_t *a = &rows[i];
        int status;
        json_t *o = a->status ? hbt_httpd_expect(fx, a->method, a->path, a->body, a->status)
                              : hbt_httpd_call(fx, a->method, a->path, a->body, &status);
        for (size_t k = 0; k < 5 && a->members[k][0]; k++) {
            const char *key = a->members[k][0], *want = a->members[k][1];
            json_t *got = json_object_get(o, key);
            if (want ? !got || strcmp(hbt_httpd_str(o, key), want) != 0 : got != NULL)
                fail_msg("%s %s: %s is \"%s\", wanted \"%s\"", a->method, a->path, key,
                         got ? hbt_httpd_str(o, key) : "(absent)", want ? want : "(absent)");
        }
        json_decref(o);
    }
}

/* Sends `request` raw on a connection of its own and checks the status and
 * that the head has the line `has` (and `also`, when not NULL). */
static void s_expect_head(hbt_httpd_t *fx, const char *request, int status, const char *has,
                          const char *also)
{
    hbt_sock_resp_t r;
    assert_int_equal(hbt_sock_once(fx->port, request, &r), 0);
    assert_int_equal(r.status, status);
    assert_non_null(strcasestr(r.head, has));
    if (also)
        assert_non_null(strcasestr(r.head, also));
}

/* POSTs a body of `size` bytes to /v1/echo, expecting `status`: a JSON
 * array of spaces when `array`, else `size` letters x. */
static json_t *s_post_sized(hbt_httpd_t *fx, size_t size, bool array, int status)
{
    char *body = malloc(size + 1);
    assert_non_null(body);
    memset(body, array ? ' ' : 'x', size);
    if (array) {
        body[0] = '[';
        body[size - 1] = ']';
    }
    body[size] = '\0';
    json_t *o = hbt_httpd_expect(fx, "POST", "/v1/echo", body, status);
    free(body);
    return o;
}

/* Opens the test stream (its counter of closed streams reset first) and
 * reads its head and first events into `buf` (`*n` bytes). */
static int s_stream_open(hbt_httpd_t *fx, char *buf, size_t size, size_t *n)
{
    hbt_httpd_streams_closed = 0;
    return hbt_sock_stream(fx->port, buf, size, n);
}

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- tests */

#define HBT_FIXTURE hbt_httpd_setup, hbt_httpd_teardown

HBT_TEST(test_get_json)
{
    hbt_httpd_t *fx = *state;
    json_t *o = hbt_httpd_expect(fx, "GET", "/v1/echo", NULL, 200);
    assert_string_equal(hbt_httpd_str(o, "method"), "GET");
    assert_string_equal(hbt_httpd_str(o, "path"), "/v1/echo");
    assert_string_equal(hbt_httpd_str(o, "query"), "");
    assert_int_equal(json_integer_value(json_object_get(o, "ra")), HB_ENOTFOUND);
    json_decref(o);
}

HBT_TEST(test_post_json_roundtrip)
{
    hbt_httpd_t *fx = *state;
    const char *body = "{\"hall\":\"H-001\",\"waiting\":[1,2,3],\"name\":\"caf\xc3\xa9\"}";
    json_t *o = hbt_httpd_expect(fx, "POST", "/v1/echo", body, 201);
    json_t *got = json_object_get(o, "got");
    assert_string_equal(hbt_httpd_str(got, "hall"), "H-001");
    assert_string_equal(hbt_httpd_str(got, "name"), "caf\xc3\xa9");
    assert_int_equal(json_array_size(json_object_get(got, "waiting")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "len")), strlen(body));
    json_decref(o);

    /* A body of exactly max_body is accepted. */
    o = s_post_sized(fx, HBT_HTTPD_MAX_BODY, true, 201);
    assert_int_equal(json_integer_value(json_object_get(o, "len")), HBT_HTTPD_MAX_BODY);
    json_decref(o);
}

HBT_TEST(test_query_params)
{
    hbt_httpd_t *fx = *state;
    int status;
    json_t *o = hbt_httpd_expect(fx, "GET", "/v1/echo?a=hello%20world&b=x+y%26z%3D1&c", NULL, 200);
    assert_string_equal(hbt_httpd_str(o, "a"), "hello world");
    assert_string_equal(hbt_httpd_str(o, "b"), "x y&z=1");
    assert_string_equal(hbt_httpd_str(o, "query"), "a=hello%20world&b=x+y%26z%3D1&c");
    json_decref(o);

    /* UTF-8 through percent-encoding; an encoded key matches too. */
    o = hbt_httpd_call(fx, "GET", "/v1/echo?%61=%E2%82%AC", NULL, &status);
    assert_string_equal(hbt_httpd_str(o, "a"), "\xe2\x82\xac");
    json_decref(o);

    /* Bad encoding in a value: the handler sees HB_EPARSE. */
    o = hbt_httpd_expect(fx, "GET", "/v1/echo?a=%zz&b=%4", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(o, "ra")), HB_EPARSE);
    assert_int_equal(json_integer_value(json_object_get(o, "rb")), HB_EPARSE);
    json_decref(o);
}

HBT_TEST_IN(test_query_unit, NULL, NULL)
{
    (void)state;
    hb_http_req_t req = {.query =
                             "a=1&bb=two+words&a=2&empty=&flag&k%20ey=v&nul=%00&long=0123456789"};
    char out[8];
    assert_int_equal(hb_http_query(&req, "a", out, sizeof out), 0);
    assert_string_equal(out, "1"); /* the first one wins */
    assert_int_equal(hb_http_query(&req, "bb", out, sizeof out), HB_ETOOBIG);
    char big[32];
    assert_int_equal(hb_http_query(&req, "bb", big, sizeof big), 0);
    assert_string_equal(big, "two words");
    assert_int_equal(hb_http_query(&req, "empty", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(hb_http_query(&req, "flag", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(hb_http_query(&req, "k ey", out, sizeof out), 0);
    assert_string_equal(out, "v");
    assert_int_equal(hb_http_query(&req, "nul", out, sizeof out), HB_EPARSE);
    assert_int_equal(hb_http_query(&req, "long", out, sizeof out), HB_ETOOBIG);
    assert_int_equal(hb_http_query(&req, "long", big, sizeof big), 0);
    assert_int_equal(hb_http_query(&req, "missing", out, sizeof out), HB_ENOTFOUND);
    assert_int_equal(hb_http_query(&req, "b", out, sizeof out), HB_ENOTFOUND);
    hb_http_req_t none = {.query = ""};
    assert_int_equal(hb_http_query(&none, "a", out, sizeof out), HB_ENOTFOUND);
    assert_int_equal(hb_http_query(&none, "a", out, 0), HB_EINVAL);
}

/* Whole numbers from the query (querynum.h): digits only, within the
 * range; absent or empty is "not given", anything else is refused and
 * leaves the default alone. */
HBT_TEST_IN(test_query_number_unit, NULL, NULL)
{
    (void)state;
    hb_http_req_t req = {.query = "n=42&zero=0&pad=007&empty=&flag&plus=%2B5&space=+5&neg=-1&"
                                  "frac=1.5&tail=5x&big=18446744073709551616&max="
                                  "18446744073709551615&long=0000000000000000000000000000000001&"
                                  "bad=%zz"};
    uint64_t v = 9;
    assert_int_equal(hb_http_query_u64(&req, "n", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(hb_http_query_u64(&req, "zero", 0, 100, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(hb_http_query_u64(&req, "pad", 0, 100, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(hb_http_query_u64(&req, "max", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    v = 9;
    assert_int_equal(hb_http_query_u64(&req, "missing", 0, 100, &v), HB_ENOTFOUND);
    assert_int_equal(hb_http_query_u64(&req, "empty", 0, 100, &v), HB_ENOTFOUND);
    assert_int_equal(hb_http_query_u64(&req, "flag", 0, 100, &v), HB_ENOTFOUND);
    static const char *const refused[] = {"plus", "space", "neg",  "frac",
                                          "tail", "big",   "long", "bad"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_int_equal(hb_http_query_u64(&req, refused[i], 0, UINT64_MAX, &v), HB_EINVAL);
    /* The range, both ends included. */
    assert_int_equal(hb_http_query_u64(&req, "n", 43, 100, &v), HB_EINVAL);
    assert_int_equal(hb_http_query_u64(&req, "n", 0, 41, &v), HB_EINVAL);
    assert_int_equal(hb_http_query_u64(&req, "zero", 1, 100, &v), HB_EINVAL);
    assert_int_equal(hb_http_query_u64(&req, "n", 42, 42, &v), 0);
    assert_int_equal(v, 42);
    v = 9;
    assert_int_equal(hb_http_query_u64(&req, "max", 0, UINT64_MAX - 1, &v), HB_EINVAL);
    assert_int_equal(v, 9);
}

HBT_TEST(test_not_found)
{
    hbt_httpd_t *fx = *state;
    hb_httpc_resp_t resp;
    char err[256];
    assert_int_equal(hb_httpc_request(fx->base, "GET", "/x", NULL, 5000, &resp, err, sizeof err),
                     0);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.body, "{\"error\":\"not_found\",\"reason\":\"no route for GET /x\"}");
    hb_httpc_resp_free(&resp);

    /* Prefixes match on segment boundaries. */
    json_t *o = hbt_httpd_expect(fx, "GET", "/v1/itemsX", NULL, 404);
    json_decref(o);
}

HBT_TEST(test_longest_prefix)
{
    static const answer_t rows[] = {
        {"GET", "/v1/items", NULL, 200, {{"route", "items"}}},
        {"GET",
         "/v1/items/H-7/events",
         NULL,
         0,
         {{"route", "item"}, {"path", "/v1/items/H-7/events"}}},
        /* Percent-decoded before matching and before the handler sees it. */
        {"GET", "/v1/%69tems/H%207", NULL, 200, {{"route", "item"}, {"path", "/v1/items/H 7"}}},
        /* A NULL method takes any. */
        {"DELETE", "/v1/any/thing", NULL, 200, {{"route", "any"}}},
    };
    s_expect_answers(*state, rows, N_ROWS(rows));
}

HBT_TEST(test_method_not_allowed)
{
    hbt_httpd_t *fx = *state;
    static const answer_t rows[] = {
        {"GET", "/v1/submit", NULL, 405, {{"error", "method_not_allowed"}}},
        {"DELETE", "/v1/echo", NULL, 405, {{NULL}}},
    };
    s_expect_answers(fx, rows, N_ROWS(rows));

    /* The Allow header lists what the path takes. */
    s_expect_head(fx, "GET /v1/submit HTTP/1.1\r\nHost: x\r\n\r\n", 405, "\r\nallow: POST, PUT\r\n",
                  NULL);
}

/* Routing by table: the parameters and the route reach the handler. */
HBT_TEST_IN(test_pattern_routes, hbt_httpd_setup_patterns, hbt_httpd_teardown)
{
    static const answer_t rows[] = {
        {"GET",
         "/v1/t/fixed",
         NULL,
         200,
         {{"pattern", "/v1/t/fixed"},
          {"perm", "live.read"},
          {"scope", "any"},
          {"tag", "table"},
          {"id", NULL}}},
        {"GET",
         "/v1/t/H%207%2Fb?x=1",
         NULL,
         200,
         {{"pattern", "/v1/t/:id"}, {"id", "H 7/b"}, {"scope", "hall"}}},
        {"PUT", "/v1/t/H7", "{}", 200, {{"perm", "policy.edit"}}},
        {"POST", "/v1/t/H7/open", NULL, 0, {{"pattern", "/v1/t/:id/open"}, {"action", NULL}}},
        {"POST", "/v1/t/H7/frob", NULL, 0, {{"pattern", "/v1/t/:id/:action"}, {"action", "frob"}}},
        /* A pattern beside a prefix route: the pattern where it matches, the
         * prefix for the rest, as before. */
        {"GET", "/v1/items/H7/special", NULL, 0, {{"pattern", "/v1/items/:id/special"}}},
        {"GET", "/v1/items/H7/events", NULL, 200, {{"route", "item"}}},
    };
    s_expect_answers(*state, rows, N_ROWS(rows));
}

HBT_TEST_IN(test_pattern_refusals, hbt_httpd_setup_patterns, hbt_httpd_teardown)
{
    hbt_httpd_t *fx = *state;
    char long_id[300];
    snprintf(long_id, sizeof long_id, "/v1/t/");
    memset(long_id + 6, 'x', 257);
    long_id[6 + 257] = '\0';
    static const struct {
        const char *method, *path;
        int status;
        const char *code, *reason;
    } cases[] = {
        {"GET", "/v1/t/%FF", 400, "bad_parameter", "the path parameter 'id' is not valid UTF-8"},
        {"GET", "/v1/t/a%C0%AF", 400, "bad_parameter", "'id' is not valid UTF-8"},
        {"GET", NULL, 400, "bad_parameter", "the path parameter 'id' is longer than 256 bytes"},
        {"GET", "/v1/t/x/y/z", 404, "not_found", "no route for GET /v1/t/x/y/z"},
        {"GET", "/v1/t/", 404, "not_found", "no route for GET /v1/t/"},
        {"POST", "/v1/t/x/open/now", 404, "not_found",
         "no route for POST /v1/t/x/open/now (/v1/t/:id/open takes no id)"},
        {"DELETE", "/v1/t/x", 405, "method_not_allowed",
         "DELETE is not allowed on /v1/t/x (allowed: GET, PUT)"},
        {"GET", "/v1/t/x/open", 405, "method_not_allowed", "(allowed: POST)"},
        /* Paths no pattern takes are checked whole, as before. */
        {"GET", "/v1/nothing/%FF", 400, "bad_path", "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status;
        const char *path = cases[i].path ? cases[i].path : long_id;
        json_t *o = hbt_httpd_call(fx, cases[i].method, path, NULL, &status);
        if (status != cases[i].status || strcmp(hbt_httpd_str(o, "error"), cases[i].code) != 0 ||
            !strstr(hbt_httpd_str(o, "reason"), cases[i].reason))
            fail_msg("%s %.40s: %d %s \"%s\"", cases[i].method, path, status,
                     hbt_httpd_str(o, "error"), hbt_httpd_str(o, "reason"));
        json_decref(o);
    }
    /* The Allow header of a pattern's 405. */
    s_expect_head(fx, "DELETE /v1/t/x HTTP/1.1\r\nHost: x\r\n\r\n", 405, "\r\nallow: GET, PUT\r\n",
                  NULL);
}

/* The slot access control fills: the guard sees each route and its
 * parameters before the handler, and its refusal is the answer. */
HBT_TEST_IN(test_guard, hbt_httpd_setup_patterns, hbt_httpd_teardown)
{
    static const answer_t rows[] = {
        {"GET", "/v1/admin", NULL, 403, {{"reason", "/v1/admin needs admin"}}},
        {"GET", "/v1/t/H-other", NULL, 403, {{"reason", "hall 'H-other' is not in scope"}}},
        {"POST",
         "/v1/t/H-other/open",
         NULL,
         403,
         {{"reason", "counter 'H-other' is not in scope"}}},
        {"GET", "/v1/t/H-mine", NULL, 200, {{NULL}}},
        /* A guard that refuses without an answer gets one sent for it. */
        {"GET", "/v1/silent-guard", NULL, 500, {{"error", "internal"}}},
        /* Prefix routes pass the guard too, with what they declared. */
        {"GET", "/v1/echo", NULL, 200, {{NULL}}},
    };
    s_expect_answers(*state, rows, N_ROWS(rows));
}

static void s_nothing(hb_http_req_t *req, void *arg)
{
    hb_http_reply_json(req, 204, json_object());
}

/* A table is taken whole or not at all. */
HBT_TEST_IN(test_routes_all_or_nothing, NULL, NULL)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    hb_http_t *h = hb_http_new(&loop, "127.0.0.1:0", 100);
    assert_non_null(h);
    const hb_http_route_t undeclared[] = {
        {"GET", "/v1/a", HB_PERM_LIVE_READ, HB_SCOPE_ALL, NULL, s_nothing},
        {.method = "GET", .pattern = "/v1/b", .fn = s_nothing},
    };
    assert_int_equal(hb_http_routes(h, undeclared, 2, NULL), HB_EINVAL);
    const hb_http_route_t no_handler[] = {
        {"GET", "/v1/a", HB_PERM_LIVE_READ, HB_SCOPE_ALL, NULL, s_nothing},
        {"GET", "/v1/b", HB_PERM_LIVE_READ, HB_SCOPE_ALL, NULL, NULL},
    };
    assert_int_equal(hb_http_routes(h, no_handler, 2, NULL), HB_EINVAL);
    const hb_http_route_t twice[] = {
        {"GET", "/v1/a", HB_PERM_LIVE_READ, HB_SCOPE_ALL, NULL, s_nothing},
        {"GET", "/v1/c/:x", HB_PERM_LIVE_READ, HB_SCOPE_ALL, NULL, s_nothing},
        {"GET", "/v1/c/:y", HB_PERM_LIVE_READ, HB_SCOPE_ALL, NULL, s_nothing},
    };
    assert_int_equal(hb_http_routes(h, twice, 3, NULL), HB_EEXIST);
    /* None of "/v1/a" stayed behind: it registers now. */
    assert_int_equal(hb_http_routes(h, twice, 2, NULL), 0);
    assert_int_equal(hb_http_routes(h, twice, 1, NULL), HB_EEXIST);
    assert_int_equal(hb_http_routes(h, NULL, 0, NULL), 0);
    assert_int_equal(hb_http_routes(h, NULL, 1, NULL), HB_EINVAL);
    assert_int_equal(hb_http_routes(NULL, twice, 1, NULL), HB_EINVAL);
    hb_http_destroy(&h);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

HBT_TEST(test_headers)
{
    hbt_httpd_t *fx = *state;
    s_expect_head(fx, "GET /v1/echo HTTP/1.1\r\nHost: x\r\n\r\n", 200,
                  "\r\ncontent-type: application/json; charset=utf-8\r\n",
                  "\r\ncache-control: no-store\r\n");

    hb_httpc_resp_t resp;
    char err[256];
    assert_int_equal(
        hb_httpc_request(fx->base, "GET", "/v1/raw", NULL, 5000, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello\n");
    hb_httpc_resp_free(&resp);
}

HBT_TEST(test_too_large)
{
    hbt_httpd_t *fx = *state;
    json_t *o = s_post_sized(fx, HBT_HTTPD_MAX_BODY + 1, false, 413);
    assert_string_equal(hbt_httpd_str(o, "error"), "too_large");
    assert_non_null(strstr(hbt_httpd_str(o, "reason"), "1024"));
    json_decref(o);

    /* Far past the limit: refused from the Content-Length alone, before
     * any of the body is sent. (Sending the 4 MiB as well raced the
     * refusal: the server closes with the body unread, and the reset that
     * brings can take its answer away before the client reads it.) */
    hbt_sock_resp_t big;
    char req[160];
    snprintf(req, sizeof req,
             "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %u\r\n\r\n",
             4u << 20);
    assert_int_equal(hbt_sock_once(fx->port, req, &big), 0);
    assert_int_equal(big.status, 413);
    o = json_loads(big.body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(hbt_httpd_str(o, "error"), "too_large");
    json_decref(o);

    /* Chunked, with no length announced: refused as the chunks arrive. */
    int fd = hbt_sock_connect(fx->port);
    const char *head = "POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    hbt_sock_send(fd, head, strlen(head));
    char chunk[600];
    int cl = snprintf(chunk, sizeof chunk, "200\r\n");
    memset(chunk + cl, 'y', 512);
    memcpy(chunk + cl + 512, "\r\n", 2);
    for (int i = 0; i < 4; i++) {
        if (send(fd, chunk, (size_t)cl + 514, MSG_NOSIGNAL) <= 0)
            break;
    }
    (void)!send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
    char buf[16384];
    size_t n = 0;
    hbt_sock_resp_t r;
    assert_int_equal(hbt_sock_read(fd, buf, &n, &r), 0);
    assert_int_equal(r.status, 413);
    assert_non_null(strcasestr(r.head, "\r\ncontent-type: application/json; charset=utf-8\r\n"));
    o = json_loads(r.body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(hbt_httpd_str(o, "error"), "too_large");
    json_decref(o);
    close(fd);
}

HBT_TEST(test_bad_json_is_handlers_job)
{
    hbt_httpd_t *fx = *state;
    json_t *o = hbt_httpd_expect(fx, "POST", "/v1/echo", "{\"hall\": ", 400);
    assert_string_equal(hbt_httpd_str(o, "error"), "bad_json");
    json_decref(o);
}

HBT_TEST(test_bad_path)
{
    hbt_httpd_t *fx = *state;
    const char *bad[] = {"/v1/echo%zz",        "/v1/echo%4",        "/v1/ech%00o",
                         "/v1/items/%2e%2e/x", "/v1/items/../echo", "/v1/items/%FF",
                         "/v1/items/%C3",      "/x%ED%A0%80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status;
        json_t *o = hbt_httpd_call(fx, "GET", bad[i], NULL, &status);
        if (status != 400)
            fail_msg("%s: status %d", bad[i], status);
        assert_int_equal(status, 400);
        json_decref(o);
    }
}

HBT_TEST(test_handler_mistakes)
{
    hbt_httpd_t *fx = *state;
    json_t *o = hbt_httpd_expect(fx, "GET", "/v1/silent", NULL, 500);
    json_decref(o);
    o = hbt_httpd_expect(fx, "GET", "/v1/null", NULL, 500);
    json_decref(o);
    /* A reason cut mid-character by its bound is still sent, as valid JSON. */
    o = hbt_httpd_expect(fx, "GET", "/v1/long", NULL, 409);
    assert_string_equal(hbt_httpd_str(o, "error"), "conflict");
    const char *reason = hbt_httpd_str(o, "reason");
    assert_true(strlen(reason) > 400);
    assert_int_equal(reason[strlen(reason) - 1], '?');
    assert_null(json_object_get(o, "field")); /* only a refusal that names one has it */
    json_decref(o);
}

/* A refusal naming its field: the error's one shape, then "field"; the
 * reason's byte that is not UTF-8 becomes '?' as in every error. */
HBT_TEST(test_field_error)
{
    hbt_httpd_t *fx = *state;
    hbt_sock_resp_t r;
    assert_int_equal(hbt_sock_once(fx->port, "GET /v1/field HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    assert_int_equal(r.status, 400);
    static const char want[] =
        "{\"error\":\"bad_field\",\"reason\":\"when: must be a date, not '?'\",\"field\":\"when\"}";
    assert_int_equal(r.body_len, sizeof want - 1);
    assert_memory_equal(r.body, want, sizeof want - 1);
}

HBT_TEST(test_keep_alive)
{
    hbt_httpd_t *fx = *state;
    int fd = hbt_sock_connect(fx->port);
    char buf[16384];
    size_t n = 0;
    hbt_sock_resp_t r;
    /* Two requests in one write (pipelined), then many one after another. */
    const char *two = "GET /v1/echo?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                      "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"k\":1}";
    hbt_sock_send(fd, two, strlen(two));
    assert_int_equal(hbt_sock_read(fd, buf, &n, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"a\":\"1\""));
    assert_int_equal(hbt_sock_read(fd, buf, &n, &r), 0);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, "\"k\":1"));
    for (int i = 0; i < 500; i++) {
        char req[256];
        int l = snprintf(req, sizeof req, "GET /v1/echo?a=%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        hbt_sock_send(fd, req, (size_t)l);
        assert_int_equal(hbt_sock_read(fd, buf, &n, &r), 0);
        assert_int_equal(r.status, 200);
        char want[32];
        snprintf(want, sizeof want, "\"a\":\"%d\"", i);
        assert_non_null(strstr(r.body, want));
    }
    /* Errors keep the connection too. */
    const char *nf = "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
    hbt_sock_send(fd, nf, strlen(nf));
    assert_int_equal(hbt_sock_read(fd, buf, &n, &r), 0);
    assert_int_equal(r.status, 404);
    const char *ok = "GET /v1/echo HTTP/1.1\r\nHost: x\r\n\r\n";
    hbt_sock_send(fd, ok, strlen(ok));
    assert_int_equal(hbt_sock_read(fd, buf, &n, &r), 0);
    assert_int_equal(r.status, 200);
    /* The connection stays open and idle while the server is destroyed:
     * hbt_httpd_teardown must still end with uv_loop_close() == 0, and we see EOF. */
    hbt_httpd_teardown(state);
    char c;
    ssize_t got = recv(fd, &c, 1, 0);
    int got_errno = errno;
    close(fd);
    hbt_httpd_setup(state); /* before any assertion: cmocka's hbt_httpd_teardown needs a fixture */
    if (got != 0)
        fail_msg("expected EOF after destroy, got %zd (%s)", got, strerror(got_errno));
}

HBT_TEST(test_stream_client_goes_away)
{
    hbt_httpd_t *fx = *state;
    char buf[8192];
    size_t n;
    /* Headers, chunked, then the three events as they were written. */
    int fd = s_stream_open(fx, buf, sizeof buf, &n);
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strcasestr(buf, "content-type: text/event-stream"));
    assert_non_null(strcasestr(buf, "transfer-encoding: chunked"));
    assert_true(strstr(buf, "data: 0") < strstr(buf, "data: 1"));
    assert_int_equal(hbt_httpd_stream_overflow_rc, HB_ETOOBIG);
    assert_int_equal(__atomic_load_n(&hbt_httpd_streams_closed, __ATOMIC_SEQ_CST), 0);
    /* The client leaves: the next writes find out, and the owner hears of
     * it. */
    close(fd);
    for (int i = 0; i < 200 && __atomic_load_n(&hbt_httpd_streams_closed, __ATOMIC_SEQ_CST) == 0;
         i++) {
        int status;
        json_decref(hbt_httpd_call(fx, "POST", "/v1/poke", "{}", &status));
        usleep(10000);
    }
    hbt_httpd_wait_closed(1);
}

HBT_TEST(test_stream_ends_with_the_server)
{
    hbt_httpd_t *fx = *state;
    char buf[8192];
    size_t n;
    int fd = s_stream_open(fx, buf, sizeof buf, &n);
    /* Destroying the server ends the stream properly (the last chunk), and
     * everything is freed: hbt_httpd_teardown asserts uv_loop_close() == 0. */
    hbt_httpd_teardown(state);
    bool ended = hbt_sock_read_until(fd, buf, sizeof buf, &n, "\r\n0\r\n\r\n");
    close(fd);
    int closed = __atomic_load_n(&hbt_httpd_streams_closed, __ATOMIC_SEQ_CST);
    hbt_httpd_setup(state);
    assert_true(ended);
    assert_int_equal(closed, 1);
}

HBT_TEST(test_many_requests)
{
    hbt_httpd_t *fx = *state;
    for (int i = 0; i < 300; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/echo?a=%d", i);
        json_t *o = hbt_httpd_expect(fx, "GET", path, NULL, 200);
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        assert_string_equal(hbt_httpd_str(o, "a"), want);
        json_decref(o);
    }
}

HBT_TEST(test_destroy_from_handler)
{
    hbt_httpd_t *fx = *state;
    json_t *o = hbt_httpd_expect(fx, "POST", "/v1/quit", "{}", 200);
    json_decref(o);
    /* The listener is gone: the next connection is refused. */
    hb_httpc_resp_t resp;
    char err[256];
    int rc = -1;
    for (int i = 0; i < 50 && rc != HB_EIO; i++) {
        rc = hb_httpc_request(fx->base, "GET", "/v1/echo", NULL, 1000, &resp, err, sizeof err);
        if (rc == 0)
            hb_httpc_resp_free(&resp);
        if (rc != HB_EIO)
            usleep(10000);
    }
    assert_int_equal(rc, HB_EIO);
}

static void s_before_tests(void) { hb_log_init("test_http", HB_LOG_WARN); }
HBT_BEFORE(s_before_tests);
