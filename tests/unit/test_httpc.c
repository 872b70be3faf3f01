/* Tests of the tools' HTTP client (common/http/httpc.c over libcurl): a
 * canned server on loopback that records the request it gets and answers
 * with raw bytes, for what goes out (method, path as given, headers, token)
 * and how every kind of answer reads (chunked, to the close, interim, too
 * large, not HTTP, cut short, silent); every refusal before a request; and
 * https against a real TLS server (openssl s_server with a certificate made
 * here), trusted through a CA file or refused without one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"
#include "hallbus/error.h"
#include "hallbus/httpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define assert_contains(hay, needle)                                                          \
    do {                                                                                      \
        if (!strstr((hay), (needle)))                                                         \
            fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                     \
    } while (0)

/* A canned server: accepts one connection, reads the request head, writes
 * `reply` (unless NULL: then holds the connection silent), closes. */
typedef struct canned {
    int lfd, port;
    const char *reply;
    size_t reply_len;
    size_t repeat; /* how many times to write `reply` */
    int hold_ms;
    pthread_t thread;
    char request[8192];
} canned_t;

static void *s_canned_thread(void *arg)
{
    canned_t *c = arg;
    /* A request that never comes (it went elsewhere) ends the wait, so the
     * test fails on its assertions instead of hanging. */
    struct pollfd p = {.fd = c->lfd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
        return NULL;
    int fd = accept(c->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t n = 0;
    while (n < sizeof c->request - 1 && !strstr(c->request, "\r\n\r\n")) {
        ssize_t r = recv(fd, c->request + n, sizeof c->request - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        c->request[n] = '\0';
    }
    if (c->reply) {
        for (size_t i = 0; i < (c->repeat ? c->repeat : 1); i++)
            if (send(fd, c->reply, c->reply_len, MSG_NOSIGNAL) < 0)
                break;
    }
    if (c->hold_ms)
        usleep((useconds_t)c->hold_ms * 1000);
    close(fd);
    return NULL;
}

static void s_canned_start(canned_t *c, const char *reply, size_t len)
{
    c->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(c->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(c->lfd, 4), 0);
    socklen_t al = sizeof a;
    getsockname(c->lfd, (struct sockaddr *)&a, &al);
    c->port = ntohs(a.sin_port);
    c->reply = reply;
    c->reply_len = len;
    assert_int_equal(pthread_create(&c->thread, NULL, s_canned_thread, c), 0);
}

static void s_canned_end(canned_t *c)
{
    pthread_join(c->thread, NULL);
    close(c->lfd);
}

static int s_canned_call(canned_t *c, const char *body, int timeout_ms, hb_httpc_resp_t *resp,
                         char *err, size_t errlen)
{
    char base[64];
    snprintf(base, sizeof base, "127.0.0.1:%d", c->port);
    int rc = hb_httpc_request(base, body ? "POST" : "GET", "/p?q=1", body, timeout_ms, resp, err,
                              errlen);
    s_canned_end(c);
    return rc;
}

static const char *s_ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";

/* ------------------------------------------------------- what is sent */

static void test_chunked_and_what_is_sent(void **state)
{
    (void)state;
    canned_t c = {0};
    const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: 1\r\n\r\n";
    s_canned_start(&c, r, strlen(r));
    hb_httpc_resp_t resp;
    char err[256];
    assert_int_equal(s_canned_call(&c, "{\"a\":1}", 2000, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello world!");
    assert_int_equal(resp.body_len, 12);
    hb_httpc_resp_free(&resp);
    assert_contains(c.request, "POST /p?q=1 HTTP/1.1\r\n");
    assert_contains(c.request, "\r\nHost: 127.0.0.1:");
    assert_contains(c.request, "\r\nContent-Type: application/json\r\n");
    assert_contains(c.request, "\r\nContent-Length: 7\r\n");
    assert_contains(c.request, "\r\nConnection: close\r\n");
    assert_contains(c.request, "\r\nAccept: application/json\r\n");
    assert_contains(c.request, "\r\nUser-Agent: hallbus/");
    /* Nobody is asked to say 100 Continue, and no token went out. */
    assert_null(strcasestr(c.request, "\r\nExpect:"));
    assert_null(strcasestr(c.request, "\r\nAuthorization:"));
}

/* Each method as the API uses it: the name on the request line, a body
 * only where one was given (or the method has one), none for HEAD. */
static void test_methods(void **state)
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
        canned_t c = {0};
        const char *r = strcmp(cases[i].method, "HEAD") == 0
                            ? "HTTP/1.1 204 No Content\r\n\r\n"
                            : s_ok;
        s_canned_start(&c, r, strlen(r));
        char base[64], err[256];
        snprintf(base, sizeof base, "http://127.0.0.1:%d", c.port);
        hb_httpc_resp_t resp;
        int rc = hb_httpc_request(base, cases[i].method, "/m", cases[i].body, 2000, &resp, err,
                                  sizeof err);
        s_canned_end(&c);
        if (rc != 0)
            fail_msg("%s: %s", cases[i].method, err);
        if (strncmp(c.request, cases[i].line, strlen(cases[i].line)) != 0)
            fail_msg("%s: sent %.40s", cases[i].method, c.request);
        if (cases[i].length)
            assert_contains(c.request, cases[i].length);
        else
            assert_null(strcasestr(c.request, "Content-Length"));
        hb_httpc_resp_free(&resp);
    }
}

/* A path goes out as it was given: the server judges "..", "%zz" and the
 * like (test_http's bad paths rely on it), the client does not tidy them. */
static void test_path_as_given(void **state)
{
    (void)state;
    canned_t c = {0};
    s_canned_start(&c, s_ok, strlen(s_ok));
    char base[64], err[256];
    snprintf(base, sizeof base, "127.0.0.1:%d", c.port);
    hb_httpc_resp_t resp;
    assert_int_equal(
        hb_httpc_request(base, "GET", "/v1/items/../x%zz/./y", NULL, 2000, &resp, err, sizeof err),
        0);
    s_canned_end(&c);
    hb_httpc_resp_free(&resp);
    assert_contains(c.request, "GET /v1/items/../x%zz/./y HTTP/1.1\r\n");
}

/* The token and the extra headers, as hallctl's --token and --header give
 * them: in the request, as written; an empty value is sent empty. */
static void test_token_and_headers(void **state)
{
    (void)state;
    canned_t c = {0};
    s_canned_start(&c, s_ok, strlen(s_ok));
    char base[64], err[256];
    snprintf(base, sizeof base, "127.0.0.1:%d", c.port);
    const char *headers[] = {"X-Request-Id: 42", "X-Empty:", "X-Tenant:north  hall"};
    hb_httpc_opts_t o = {.timeout_ms = 2000,
                         .token = "s3cr3t.t0ken",
                         .headers = headers,
                         .n_headers = 3};
    hb_httpc_resp_t resp;
    assert_int_equal(hb_httpc_call(base, "GET", "/h", NULL, &o, &resp, err, sizeof err), 0);
    s_canned_end(&c);
    assert_int_equal(resp.status, 200);
    hb_httpc_resp_free(&resp);
    assert_contains(c.request, "\r\nAuthorization: Bearer s3cr3t.t0ken\r\n");
    assert_contains(c.request, "\r\nX-Request-Id: 42\r\n");
    assert_contains(c.request, "\r\nX-Empty:\r\n");
    assert_contains(c.request, "\r\nX-Tenant:north  hall\r\n");
}

/* Headers and tokens that would break or contradict the request are
 * refused before anything is sent. */
static void test_header_refusals(void **state)
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
        assert_contains(err, bad[i].says);
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
    assert_contains(err, "not both");
    hb_httpc_opts_t spaced = {.token = "two words"};
    assert_int_equal(
        hb_httpc_call("127.0.0.1:9", "GET", "/", NULL, &spaced, &resp, err, sizeof err), HB_EINVAL);
    assert_contains(err, "token");
    const char *many[HB_HTTPC_HEADERS_MAX + 1];
    for (size_t i = 0; i <= HB_HTTPC_HEADERS_MAX; i++)
        many[i] = "X-N: 1";
    hb_httpc_opts_t lots = {.headers = many, .n_headers = HB_HTTPC_HEADERS_MAX + 1};
    assert_int_equal(hb_httpc_call("127.0.0.1:9", "GET", "/", NULL, &lots, &resp, err, sizeof err),
                     HB_EINVAL);
}

/* A proxy in the environment is not used: hallctl talks to the address it
 * was given, and the tests' loopback traffic stays on loopback. */
static void test_no_proxy_from_environment(void **state)
{
    (void)state;
    canned_t c = {0};
    s_canned_start(&c, s_ok, strlen(s_ok));
    setenv("http_proxy", "http://127.0.0.1:9", 1);
    setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
    setenv("all_proxy", "http://127.0.0.1:9", 1);
    hb_httpc_resp_t resp;
    char err[256];
    int rc = s_canned_call(&c, NULL, 2000, &resp, err, sizeof err);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    if (rc != 0)
        fail_msg("went through the proxy? %s", err);
    assert_int_equal(resp.status, 200);
    hb_httpc_resp_free(&resp);
    assert_contains(c.request, "GET /p?q=1 HTTP/1.1\r\n");
}

/* --------------------------------------------------- how answers read */

static void test_until_close_and_interim(void **state)
{
    (void)state;
    canned_t c = {0};
    const char *r = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it";
    s_canned_start(&c, r, strlen(r));
    hb_httpc_resp_t resp;
    char err[256];
    assert_int_equal(s_canned_call(&c, NULL, 2000, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "all of it");
    hb_httpc_resp_free(&resp);

    /* 100 Continue first, then the answer. */
    canned_t c2 = {0};
    const char *r2 = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    s_canned_start(&c2, r2, strlen(r2));
    assert_int_equal(s_canned_call(&c2, NULL, 2000, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 204);
    assert_int_equal(resp.body_len, 0);
    assert_string_equal(resp.body, "");
    hb_httpc_resp_free(&resp);
}

static void test_answer_refusals(void **state)
{
    (void)state;
    hb_httpc_resp_t resp;
    char err[256];

    /* Announced larger than the bound: refused from the header. */
    canned_t c = {0};
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\nx";
    s_canned_start(&c, r, strlen(r));
    assert_int_equal(s_canned_call(&c, NULL, 2000, &resp, err, sizeof err), HB_ETOOBIG);
    assert_null(resp.body);

    /* A read-to-close body past 64 MiB. */
    canned_t c1 = {0};
    static char block[1 << 20];
    memset(block, 'z', sizeof block);
    const char *h = "HTTP/1.1 200 OK\r\n\r\n";
    char *big = malloc(sizeof block + strlen(h));
    memcpy(big, h, strlen(h));
    memcpy(big + strlen(h), block, sizeof block);
    s_canned_start(&c1, big, sizeof block + strlen(h));
    c1.repeat = 70;
    assert_int_equal(s_canned_call(&c1, NULL, 5000, &resp, err, sizeof err), HB_ETOOBIG);
    assert_contains(err, "larger");
    free(big);

    /* Not HTTP at all. */
    canned_t c2 = {0};
    const char *g = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
    s_canned_start(&c2, g, strlen(g));
    assert_int_equal(s_canned_call(&c2, NULL, 2000, &resp, err, sizeof err), HB_EPARSE);
    assert_contains(err, "HTTP");

    /* A body shorter than announced. */
    canned_t c3 = {0};
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
    s_canned_start(&c3, t, strlen(t));
    assert_int_equal(s_canned_call(&c3, NULL, 2000, &resp, err, sizeof err), HB_EPARSE);

    /* A chunk size that is not hexadecimal. */
    canned_t c4 = {0};
    const char *bc = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    s_canned_start(&c4, bc, strlen(bc));
    assert_int_equal(s_canned_call(&c4, NULL, 2000, &resp, err, sizeof err), HB_EPARSE);

    /* A server that never answers: a timeout, reported as HB_EIO. */
    canned_t c5 = {.hold_ms = 600};
    s_canned_start(&c5, NULL, 0);
    assert_int_equal(s_canned_call(&c5, NULL, 200, &resp, err, sizeof err), HB_EIO);
    assert_contains(err, "timed out");
}

static void test_refusals_before_a_request(void **state)
{
    (void)state;
    hb_httpc_resp_t resp;
    char err[256];
    /* A port nobody listens on: bind one, note it, close it. */
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", hbt_free_port());
    assert_int_equal(hb_httpc_request(base, "GET", "/", NULL, 2000, &resp, err, sizeof err),
                     HB_EIO);
    assert_contains(err, "connect");
    assert_contains(err, "refused");
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
    assert_int_equal(
        hb_httpc_request("127.0.0.1:80", "GET", "no-slash", NULL, 1000, &resp, err, sizeof err),
        HB_EINVAL);
    assert_int_equal(
        hb_httpc_request("127.0.0.1:80", "GET", "/a b", NULL, 1000, &resp, err, sizeof err),
        HB_EINVAL);
    assert_int_equal(
        hb_httpc_request("127.0.0.1:80", "GET\r\nX: y", "/", NULL, 1000, &resp, err, sizeof err),
        HB_EINVAL);
    assert_int_equal(
        hb_httpc_request("127.0.0.1:80", "GET", "/\r\nX: y", NULL, 1000, &resp, err, sizeof err),
        HB_EINVAL);
    assert_int_equal(hb_httpc_request("127.0.0.1:80", "GET", "/", NULL, 1000, NULL, err, sizeof err),
                     HB_EINVAL);
}

/* ------------------------------------------------------------- https */

typedef struct tls_server {
    char dir[128], cert[200], key[200], base[64];
    hbt_proc_t proc;
} tls_server_t;

/* A self-signed certificate for 127.0.0.1 and openssl s_server with it,
 * answering every request with its status page (-www). NULL when the
 * openssl command is missing (it comes with ca-certificates). */
static bool s_tls_start(tls_server_t *s)
{
    if (access("/usr/bin/openssl", X_OK) != 0)
        return false;
    hbt_mkdtemp(s->dir, sizeof s->dir, "httpc-tls");
    snprintf(s->cert, sizeof s->cert, "%s/cert.pem", s->dir);
    snprintf(s->key, sizeof s->key, "%s/key.pem", s->dir);
    char *req[] = {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", s->key, "-out", s->cert,
                   "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                   "subjectAltName=IP:127.0.0.1", NULL};
    char out[4096];
    if (hbt_run(req, out, sizeof out) != 0)
        fail_msg("openssl req: %s", out);
    int port = hbt_free_port();
    char accept_on[32], log[200];
    snprintf(accept_on, sizeof accept_on, "127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/s_server.log", s->dir);
    char *srv[] = {"/usr/bin/openssl", "s_server", "-accept", accept_on, "-cert", s->cert,
                   "-key", s->key, "-www", "-quiet", NULL};
    hbt_spawn(&s->proc, log, srv);
    snprintf(s->base, sizeof s->base, "https://127.0.0.1:%d", port);
    /* Ready when it accepts a connection. */
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return true;
        hbt_sleep_ms(25);
    }
    fail_msg("openssl s_server did not start; see %s", log);
    return false;
}

static void test_https(void **state)
{
    (void)state;
    tls_server_t s;
    if (!s_tls_start(&s)) {
        skip();
        return;
    }
    hb_httpc_resp_t resp;
    char err[512];
    /* Its certificate is its own: not trusted without the CA file. */
    hb_httpc_opts_t plain = {.timeout_ms = 5000};
    assert_int_equal(hb_httpc_call(s.base, "GET", "/", NULL, &plain, &resp, err, sizeof err),
                     HB_EIO);
    assert_contains(err, "certificate");
    /* With it, the answer comes. */
    hb_httpc_opts_t trusted = {.timeout_ms = 5000, .cacert = s.cert};
    int rc = hb_httpc_call(s.base, "GET", "/", NULL, &trusted, &resp, err, sizeof err);
    if (rc != 0)
        fail_msg("https with --cacert: %s", err);
    assert_int_equal(resp.status, 200);
    assert_true(resp.body_len > 0);
    hb_httpc_resp_free(&resp);
    /* A CA file that is not there is an error, not the system's CAs. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.pem", s.dir);
    hb_httpc_opts_t nofile = {.timeout_ms = 5000, .cacert = missing};
    assert_int_equal(hb_httpc_call(s.base, "GET", "/", NULL, &nofile, &resp, err, sizeof err),
                     HB_EIO);
    hbt_kill(&s.proc, SIGKILL);
    hbt_rmdir(s.dir);
}

/* https to a server that speaks plain HTTP: a TLS failure, named. */
static void test_https_to_plain(void **state)
{
    (void)state;
    canned_t c = {0};
    s_canned_start(&c, s_ok, strlen(s_ok));
    char base[64], err[512];
    snprintf(base, sizeof base, "https://127.0.0.1:%d", c.port);
    hb_httpc_resp_t resp;
    assert_int_equal(hb_httpc_request(base, "GET", "/", NULL, 2000, &resp, err, sizeof err),
                     HB_EIO);
    s_canned_end(&c);
    assert_true(strlen(err) > 0);
    assert_null(resp.body);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_and_what_is_sent),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_path_as_given),
        cmocka_unit_test(test_token_and_headers),
        cmocka_unit_test(test_header_refusals),
        cmocka_unit_test(test_no_proxy_from_environment),
        cmocka_unit_test(test_until_close_and_interim),
        cmocka_unit_test(test_answer_refusals),
        cmocka_unit_test(test_refusals_before_a_request),
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_https_to_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
