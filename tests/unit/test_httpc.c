/* Tests of the tools' HTTP client (common/http/httpc.c over libcurl): a
 * stub server on loopback (tests/support/stubs.c) that records the request
 * it gets and answers with raw bytes, for what goes out (method, path as given, headers, token)
 * and how every kind of answer reads (chunked, to the close, interim, too
 * large, not HTTP, cut short, silent); every refusal before a request; and
 * https against a real TLS server (openssl s_server with a certificate made
 * here), trusted through a CA file or refused without one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include "stubs.h"
#include "hallbus/error.h"
#include "hallbus/httpc.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One request through a stub that answers `reply` (`len` bytes, `repeat`
 * times, then `hold_ms` before it closes); the stub is stopped after, and
 * the head of the request it got is in `head`. */
typedef struct call {
    const char *reply;
    size_t len, repeat;
    int hold_ms;
    const char *method, *path, *body;
    hb_httpc_opts_t opts;
} call_t;

static int s_call(const call_t *c, hb_httpc_resp_t *resp, char *err, size_t errlen, char *head,
                  size_t headlen)
{
    hbt_stub_t *s = hbt_stub_start(c->reply, c->reply && !c->len ? strlen(c->reply) : c->len,
                                   c->repeat, c->hold_ms);
    char base[64];
    snprintf(base, sizeof base, "127.0.0.1:%d", hbt_stub_port(s));
    const char *method = c->method ? c->method : c->body ? "POST" : "GET";
    int rc = hb_httpc_call(base, method, c->path ? c->path : "/p?q=1", c->body, &c->opts, resp, err,
                           errlen);
    hbt_stub_requests(s, head, headlen);
    hbt_stub_stop(&s);
    return rc;
}

#define CALL(c) s_call(c, &resp, err, sizeof err, head, sizeof head)

static const char *s_ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";

/* ------------------------------------------------------- what is sent */

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_chunked_and_what_is_sent)
{
    (void)state;
    const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: 1\r\n\r\n";
    hb_httpc_resp_t resp;
    char err[256], head[8192];
    assert_int_equal(CALL((&(call_t){.reply = r, .body = "{\"a\":1}"})), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello world!");
    assert_int_equal(resp.body_len, 12);
    hb_httpc_resp_free(&resp);
    hbt_assert_contains_all(head, "POST /p?q=1 HTTP/1.1\r\n",
                            "\r\nHost: 127.0.0.1:", "\r\nContent-Type: application/json\r\n",
                            "\r\nContent-Length: 7\r\n", "\r\nConnection: close\r\n",
                            "\r\nAccept: application/json\r\n", "\r\nUser-Agent: hallbus/", NULL);
    /* Nobody is asked to say 100 Continue, and no token went out. */
    assert_null(strcasestr(head, "\r\nExpect:"));
    assert_null(strcasestr(head, "\r\nAuthorization:"));
}

/* Each method as the API uses it: the name on the request line, a body
 * only where one was given (or the method has one), none for HEAD. */
HBT_TEST(test_methods)
{
    (void)state;
    static const struct {
        const char *method, *body, *line, *length;
    } cases[] = {
        {"GET", NULL, "GET /m HTTP/1.1\r\n", NULL},
        {"DELETE", NULL, "DELETE /m HTTP/1.1\r\n", NULL},
        {"POST", NULL, "POST /m HTTP/1.1\r\n", "Content-Length: 0\r\n"},
        {"PUT", "{\"x\":2}", "PUT /m HTTP/1.1\r\n", "Content-Length: 7\r\n"},
        {"PATCH", NULL, "PATCH /m HTTP/1.1\r\n", "Content-Length: 0\r\n"},
        {"HEAD", NULL, "HEAD /m HTTP/1.1\r\n", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *r =
            strcmp(cases[i].method, "HEAD") == 0 ? "HTTP/1.1 204 No Content\r\n\r\n" : s_ok;
        char err[256], head[8192];
        hb_httpc_resp_t resp;
        call_t c = {.reply = r, .method = cases[i].method, .path = "/m", .body = cases[i].body};
        int rc = CALL(&c);
        if (rc != 0)
            fail_msg("%s: %s", cases[i].method, err);
        if (strncmp(head, cases[i].line, strlen(cases[i].line)) != 0)
            fail_msg("%s: sent %.40s", cases[i].method, head);
        if (cases[i].length)
            hbt_assert_contains(head, cases[i].length);
        else
            assert_null(strcasestr(head, "Content-Length"));
        hb_httpc_resp_free(&resp);
    }
}

/* A path goes out as it was given: the server judges "..", "%zz" and the
 * like (test_http's bad paths rely on it), the client does not tidy them. */
HBT_TEST(test_path_as_given)
{
    (void)state;
    char err[256], head[8192];
    hb_httpc_resp_t resp;
    assert_int_equal(CALL((&(call_t){.reply = s_ok, .path = "/v1/items/../x%zz/./y"})), 0);
    hb_httpc_resp_free(&resp);
    hbt_assert_contains(head, "GET /v1/items/../x%zz/./y HTTP/1.1\r\n");
}

/* The token and the extra headers, as hallctl's --token and --header give
 * them: in the request, as written; an empty value is sent empty. */
HBT_TEST(test_token_and_headers)
{
    (void)state;
    char err[256], head[8192];
    const char *headers[] = {"X-Request-Id: 42", "X-Empty:", "X-Tenant:north  hall"};
    call_t c = {
        .reply = s_ok,
        .path = "/h",
        .opts = {.timeout_ms = 2000, .token = "s3cr3t.t0ken", .headers = headers, .n_headers = 3}};
    hb_httpc_resp_t resp;
    assert_int_equal(CALL(&c), 0);
    assert_int_equal(resp.status, 200);
    hb_httpc_resp_free(&resp);
    hbt_assert_contains_all(head, "\r\nAuthorization: Bearer s3cr3t.t0ken\r\n",
                            "\r\nX-Request-Id: 42\r\n", "\r\nX-Empty:\r\n",
                            "\r\nX-Tenant:north  hall\r\n", NULL);
}

/* Headers and tokens that would break or contradict the request are
 * refused before anything is sent. */
HBT_TEST(test_header_refusals)
{
    (void)state;
    static const struct {
        const char *header, *says;
    } bad[] = {
        {"X-A: 1\r\nX-B: 2", "control character"},
        {"X-A: 1\n", "control character"},
        {"NoColon", "'Name: value'"},
        {": value", "'Name: value'"},
        {"Bad Name: v", "'Name: value'"},
        {"Host: elsewhere", "Host is set by the client"},
        {"content-length: 5", "Content-Length is set by the client"},
        {"Transfer-Encoding: chunked", "Transfer-Encoding is set"},
        {"Connection: keep-alive", "Connection is set"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (hb_httpc_header_check(bad[i].header, err, sizeof err) != HB_EINVAL)
            fail_msg("header '%s' was accepted", bad[i].header);
        hbt_assert_contains(err, bad[i].says);
        /* The same through a call: refused, nothing sent (no server). */
        const char *h[] = {bad[i].header};
        hb_httpc_opts_t o = {.timeout_ms = 500, .headers = h, .n_headers = 1};
        hb_httpc_resp_t resp;
        assert_int_equal(hb_httpc_call("127.0.0.1:9", "GET", "/", NULL, &o, &resp, err, sizeof err),
                         HB_EINVAL);
        assert_null(resp.body);
    }
    char big[HB_HTTPC_HEADER_MAX + 16];
    memset(big, 'v', sizeof big - 1);
    memcpy(big, "X-Big: ", 7);
    big[sizeof big - 1] = '\0';
    assert_int_equal(hb_httpc_header_check(big, err, sizeof err), HB_EINVAL);
    assert_int_equal(hb_httpc_header_check("X-Ok: fine, thanks", err, sizeof err), 0);

    hb_httpc_resp_t resp;
    const char *auth[] = {"Authorization: Basic eDp5"};
    hb_httpc_opts_t both = {.token = "t", .headers = auth, .n_headers = 1};
    assert_int_equal(hb_httpc_call("127.0.0.1:9", "GET", "/", NULL, &both, &resp, err, sizeof err),
                     HB_EINVAL);
    hbt_assert_contains(err, "not both");
    hb_httpc_opts_t spaced = {.token = "two words"};
    assert_int_equal(
        hb_httpc_call("127.0.0.1:9", "GET", "/", NULL, &spaced, &resp, err, sizeof err), HB_EINVAL);
    hbt_assert_contains(err, "token");
    const char *many[HB_HTTPC_HEADERS_MAX + 1];
    for (size_t i = 0; i <= HB_HTTPC_HEADERS_MAX; i++)
        many[i] = "X-N: 1";
    hb_httpc_opts_t lots = {.headers = many, .n_headers = HB_HTTPC_HEADERS_MAX + 1};
    assert_int_equal(hb_httpc_call("127.0.0.1:9", "GET", "/", NULL, &lots, &resp, err, sizeof err),
                     HB_EINVAL);
}

/* A proxy in the environment is not used: hallctl talks to the address it
 * was given, and the tests' loopback traffic stays on loopback. */
HBT_TEST(test_no_proxy_from_environment)
{
    (void)state;
    setenv("http_proxy", "http://127.0.0.1:9", 1);
    setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
    setenv("all_proxy", "http://127.0.0.1:9", 1);
    hb_httpc_resp_t resp;
    char err[256], head[8192];
    int rc = CALL((&(call_t){.reply = s_ok}));
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    if (rc != 0)
        fail_msg("went through the proxy? %s", err);
    assert_int_equal(resp.status, 200);
    hb_httpc_resp_free(&resp);
    hbt_assert_contains(head, "GET /p?q=1 HTTP/1.1\r\n");
}

/* --------------------------------------------------- how answers read */

HBT_TEST(test_until_close_and_interim)
{
    (void)state;
    hb_httpc_resp_t resp;
    char err[256], head[8192];
    const char *r = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it";
    assert_int_equal(CALL((&(call_t){.reply = r})), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "all of it");
    hb_httpc_resp_free(&resp);

    /* 100 Continue first, then the answer. */
    const char *r2 = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    assert_int_equal(CALL((&(call_t){.reply = r2})), 0);
    assert_int_equal(resp.status, 204);
    assert_int_equal(resp.body_len, 0);
    assert_string_equal(resp.body, "");
    hb_httpc_resp_free(&resp);
}

HBT_TEST(test_answer_refusals)
{
    (void)state;
    hb_httpc_resp_t resp;
    char err[256], head[8192];

    /* Announced larger than the bound: refused from the header. */
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\nx";
    assert_int_equal(CALL((&(call_t){.reply = r})), HB_ETOOBIG);
    assert_null(resp.body);

    /* A read-to-close body past 64 MiB. */
    static char block[1 << 20];
    memset(block, 'z', sizeof block);
    const char *h = "HTTP/1.1 200 OK\r\n\r\n";
    char *big = malloc(sizeof block + strlen(h));
    memcpy(big, h, strlen(h));
    memcpy(big + strlen(h), block, sizeof block);
    call_t c1 = {
        .reply = big, .len = sizeof block + strlen(h), .repeat = 70, .opts = {.timeout_ms = 5000}};
    assert_int_equal(CALL(&c1), HB_ETOOBIG);
    hbt_assert_contains(err, "larger");
    free(big);

    /* Not HTTP at all. */
    assert_int_equal(CALL((&(call_t){.reply = "SSH-2.0-OpenSSH_9.2\r\n\r\n"})), HB_EPARSE);
    hbt_assert_contains(err, "HTTP");

    /* A body shorter than announced. */
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
    assert_int_equal(CALL((&(call_t){.reply = t})), HB_EPARSE);

    /* A chunk size that is not hexadecimal. */
    const char *bc = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert_int_equal(CALL((&(call_t){.reply = bc})), HB_EPARSE);

    /* A server that never answers: a timeout, reported as HB_EIO. */
    call_t silent = {.reply = NULL, .hold_ms = 600, .opts = {.timeout_ms = 200}};
    assert_int_equal(CALL(&silent), HB_EIO);
    hbt_assert_contains(err, "timed out");
}

HBT_TEST(test_refusals_before_a_request)
{
    (void)state;
    hb_httpc_resp_t resp;
    char err[256];
    /* A port nobody listens on: bind one, note it, close it. */
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", hbt_free_port());
    assert_int_equal(hb_httpc_request(base, "GET", "/", NULL, 2000, &resp, err, sizeof err),
                     HB_EIO);
    hbt_assert_contains(err, "connect");
    hbt_assert_contains(err, "refused");
    assert_null(resp.body);
    hb_httpc_resp_free(&resp); /* safe after a failure */

    const char *bad[] = {"ftp://127.0.0.1:80",
                         "127.0.0.1:",
                         "127.0.0.1:99999",
                         "127.0.0.1:0",
                         "127.0.0.1:8x",
                         "[::1",
                         "[::1]x",
                         "",
                         "http://",
                         "https://",
                         "127.0.0.1:80/base/path",
                         "user@127.0.0.1:80",
                         "127.0.0.1:80?q",
                         "127.0.0.1:80#f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = hb_httpc_request(bad[i], "GET", "/", NULL, 1000, &resp, err, sizeof err);
        if (rc != HB_EINVAL)
            fail_msg("base '%s': rc %d (%s)", bad[i], rc, err);
        assert_true(strlen(err) > 0);
    }
    /* Methods and paths that cannot go on a request line. */
    static const char *const line[][2] = {
        {"GET", "no-slash"}, {"GET", "/a b"}, {"GET\r\nX: y", "/"}, {"GET", "/\r\nX: y"}};
    for (size_t i = 0; i < sizeof line / sizeof line[0]; i++)
        if (hb_httpc_request("127.0.0.1:80", line[i][0], line[i][1], NULL, 1000, &resp, err,
                             sizeof err) != HB_EINVAL)
            fail_msg("%s %s was not refused", line[i][0], line[i][1]);
    assert_int_equal(
        hb_httpc_request("127.0.0.1:80", "GET", "/", NULL, 1000, NULL, err, sizeof err), HB_EINVAL);
}

/* ------------------------------------------------------------- https */

HBT_TEST(test_https)
{
    (void)state;
    char dir[128];
    hbt_mkdtemp(dir, sizeof dir, "httpc-tls");
    hbt_tls_t tls;
    hbt_tls_start_or_skip(&tls, dir);
    hb_httpc_resp_t resp;
    char err[512];
    /* Its certificate is its own: not trusted without the CA file. */
    hb_httpc_opts_t plain = {.timeout_ms = 5000};
    assert_int_equal(hb_httpc_call(tls.url, "GET", "/", NULL, &plain, &resp, err, sizeof err),
                     HB_EIO);
    hbt_assert_contains(err, "certificate");
    /* With it, the answer comes. */
    hb_httpc_opts_t trusted = {.timeout_ms = 5000, .cacert = tls.cert};
    int rc = hb_httpc_call(tls.url, "GET", "/", NULL, &trusted, &resp, err, sizeof err);
    if (rc != 0)
        fail_msg("https with --cacert: %s", err);
    assert_int_equal(resp.status, 200);
    assert_true(resp.body_len > 0);
    hb_httpc_resp_free(&resp);
    /* A CA file that is not there is an error, not the system's CAs. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.pem", dir);
    hb_httpc_opts_t nofile = {.timeout_ms = 5000, .cacert = missing};
    assert_int_equal(hb_httpc_call(tls.url, "GET", "/", NULL, &nofile, &resp, err, sizeof err),
                     HB_EIO);
    hbt_tls_stop(&tls);
    hbt_rmdir(dir);
}

/* https to a server that speaks plain HTTP: a TLS failure, named. */
HBT_TEST(test_https_to_plain)
{
    (void)state;
    hbt_stub_t *s = hbt_stub_start(s_ok, strlen(s_ok), 0, 0);
    char base[64], err[512];
    snprintf(base, sizeof base, "https://127.0.0.1:%d", hbt_stub_port(s));
    hb_httpc_resp_t resp;
    assert_int_equal(hb_httpc_request(base, "GET", "/", NULL, 2000, &resp, err, sizeof err),
                     HB_EIO);
    hbt_stub_stop(&s);
    assert_true(strlen(err) > 0);
    assert_null(resp.body);
}
