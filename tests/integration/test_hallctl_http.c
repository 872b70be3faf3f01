/* hallctl's requests as they leave it: the real binary against a tiny
 * HTTP server in this test that records each request it gets, for
 * --token, --header (repeated), HALLBUS_TOKEN and HALLBUS_HQ (and which
 * wins), https with --cacert against openssl s_server, the refusals of a
 * bad header, token or CA file before anything is sent, and --version. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HALLCTL HB_BIN_DIR "/tools/hallctl"

#define assert_contains(hay, needle)                                                          \
    do {                                                                                      \
        if (!strstr((hay), (needle)))                                                         \
            fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                     \
    } while (0)

/* A server that answers every request with `reply` and keeps the last
 * request's head, until stopped. */
typedef struct recorder {
    int lfd, port;
    const char *reply;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t lock;
    char request[8192];
    int requests;
    char url[64];
} recorder_t;

static void *s_serve(void *arg)
{
    recorder_t *r = arg;
    while (!r->stop) {
        struct pollfd p = {.fd = r->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) != 1)
            continue;
        int fd = accept(r->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        char head[8192];
        size_t n = 0;
        head[0] = '\0';
        while (n < sizeof head - 1 && !strstr(head, "\r\n\r\n")) {
            struct pollfd q = {.fd = fd, .events = POLLIN};
            if (poll(&q, 1, 5000) != 1)
                break;
            ssize_t got = recv(fd, head + n, sizeof head - 1 - n, 0);
            if (got <= 0)
                break;
            n += (size_t)got;
            head[n] = '\0';
        }
        pthread_mutex_lock(&r->lock);
        memcpy(r->request, head, n + 1);
        r->requests++;
        pthread_mutex_unlock(&r->lock);
        (void)!send(fd, r->reply, strlen(r->reply), MSG_NOSIGNAL);
        close(fd);
    }
    return NULL;
}

static void s_recorder_start(recorder_t *r, const char *reply)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->reply = reply;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(r->lfd, 16), 0);
    socklen_t al = sizeof a;
    getsockname(r->lfd, (struct sockaddr *)&a, &al);
    r->port = ntohs(a.sin_port);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d", r->port);
    assert_int_equal(pthread_create(&r->thread, NULL, s_serve, r), 0);
}

static void s_recorder_stop(recorder_t *r)
{
    r->stop = 1;
    pthread_join(r->thread, NULL);
    close(r->lfd);
    pthread_mutex_destroy(&r->lock);
}

/* The last request's head and how many came. */
static int s_recorded(recorder_t *r, char *out, size_t len)
{
    pthread_mutex_lock(&r->lock);
    snprintf(out, len, "%s", r->request);
    int n = r->requests;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static int s_hallctl(char *out, size_t len, ...)
{
    char *argv[32] = {HALLCTL};
    size_t n = 1;
    va_list ap;
    va_start(ap, len);
    for (const char *a = va_arg(ap, const char *); a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return hbt_run(argv, out, len);
}

static const char *s_halls_json = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 13\r\nConnection: close\r\n\r\n{\"halls\": []}";

static int s_teardown(void **state)
{
    (void)state;
    unsetenv("HALLBUS_HQ");
    unsetenv("HALLBUS_TOKEN");
    return 0;
}

/* --token and every --header, as given, on the request. */
static void test_token_and_headers(void **state)
{
    (void)state;
    recorder_t r;
    s_recorder_start(&r, s_halls_json);
    char out[8192], req[8192];
    int rc = s_hallctl(out, sizeof out, "halls", "--hq", r.url, "--token", "t0k3n-abc",
                       "--header", "X-Request-Id: 42", "--header", "X-Tenant: north hall",
                       "--header", "X-Empty:", NULL);
    if (rc != 0)
        fail_msg("hallctl halls: exit %d: %s", rc, out);
    assert_int_equal(s_recorded(&r, req, sizeof req), 1);
    assert_contains(req, "GET /v1/halls HTTP/1.1\r\n");
    assert_contains(req, "\r\nAuthorization: Bearer t0k3n-abc\r\n");
    assert_contains(req, "\r\nX-Request-Id: 42\r\n");
    assert_contains(req, "\r\nX-Tenant: north hall\r\n");
    assert_contains(req, "\r\nX-Empty:\r\n");
    assert_contains(out, "\"halls\": []");

    /* Without them, neither goes out. */
    rc = s_hallctl(out, sizeof out, "halls", "--hq", r.url, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(s_recorded(&r, req, sizeof req), 2);
    assert_null(strcasestr(req, "Authorization:"));
    assert_null(strstr(req, "X-Request-Id"));

    /* A hall's API gets them too. */
    rc = s_hallctl(out, sizeof out, "ticket", "A", "--hall", r.url, "--token", "hall-token",
                   "--header", "X-Device: kiosk-3", "--json", NULL);
    assert_int_equal(s_recorded(&r, req, sizeof req), 3);
    assert_contains(req, "POST /v1/tickets HTTP/1.1\r\n");
    assert_contains(req, "\r\nAuthorization: Bearer hall-token\r\n");
    assert_contains(req, "\r\nX-Device: kiosk-3\r\n");
    s_recorder_stop(&r);
}

/* HALLBUS_HQ and HALLBUS_TOKEN stand in for --hq and --token; the command
 * line wins over them. */
static void test_environment(void **state)
{
    (void)state;
    recorder_t hq, other;
    s_recorder_start(&hq, s_halls_json);
    s_recorder_start(&other, s_halls_json);
    char out[8192], req[8192];
    setenv("HALLBUS_HQ", hq.url, 1);
    setenv("HALLBUS_TOKEN", "from-env", 1);
    int rc = s_hallctl(out, sizeof out, "halls", NULL);
    if (rc != 0)
        fail_msg("hallctl halls with HALLBUS_HQ: exit %d: %s", rc, out);
    assert_int_equal(s_recorded(&hq, req, sizeof req), 1);
    assert_contains(req, "\r\nAuthorization: Bearer from-env\r\n");

    rc = s_hallctl(out, sizeof out, "halls", "--hq", other.url, "--token", "from-cli", NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(s_recorded(&hq, req, sizeof req), 1); /* not asked again */
    assert_int_equal(s_recorded(&other, req, sizeof req), 1);
    assert_contains(req, "\r\nAuthorization: Bearer from-cli\r\n");

    /* `hall` with --hall asks the hall, whatever HALLBUS_HQ says. */
    rc = s_hallctl(out, sizeof out, "hall", "--hall", other.url, "--json", NULL);
    assert_int_equal(s_recorded(&other, req, sizeof req), 2);
    assert_contains(req, "GET /v1/hall HTTP/1.1\r\n");
    assert_int_equal(s_recorded(&hq, req, sizeof req), 1);
    /* Given both on the command line, it is still one or the other. */
    rc = s_hallctl(out, sizeof out, "hall", "--hall", other.url, "--hq", hq.url, NULL);
    assert_int_equal(rc, 2);
    assert_contains(out, "not both");

    /* Without HALLBUS_HQ, --hq is required again. */
    unsetenv("HALLBUS_HQ");
    rc = s_hallctl(out, sizeof out, "halls", NULL);
    assert_int_equal(rc, 2);
    assert_contains(out, "--hq is required");
    s_recorder_stop(&hq);
    s_recorder_stop(&other);
}

/* Bad headers, tokens and CA files are bad usage: exit 2, nothing sent. */
static void test_refused_before_sending(void **state)
{
    (void)state;
    recorder_t r;
    s_recorder_start(&r, s_halls_json);
    char out[8192], req[8192];
    static const struct {
        const char *opt, *value, *says;
    } bad[] = {
        {"--header", "X-A: 1\r\nX-Smuggled: 2", "--header: the header 'X-A' holds a control"},
        {"--header", "no colon", "--header: 'no colon' is not 'Name: value'"},
        {"--header", "Host: elsewhere", "--header: Host is set by the client"},
        {"--token", "two words", "--token: a token is 1 to"},
        {"--token", "", "--token: a token is 1 to"},
        {"--cacert", "/nonexistent/ca.pem", "--cacert /nonexistent/ca.pem: No such file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = s_hallctl(out, sizeof out, "halls", "--hq", r.url, bad[i].opt, bad[i].value,
                           NULL);
        if (rc != 2 || !strstr(out, bad[i].says))
            fail_msg("%s '%s': exit %d, wanted 2 and \"%s\": %s", bad[i].opt, bad[i].value, rc,
                     bad[i].says, out);
    }
    /* A token and an Authorization header at once: which is meant? */
    int rc = s_hallctl(out, sizeof out, "halls", "--hq", r.url, "--token", "t", "--header",
                       "Authorization: Basic eDp5", NULL);
    assert_int_equal(rc, 2);
    assert_contains(out, "not both");
    /* Commands that talk to no API take none of these. */
    rc = s_hallctl(out, sizeof out, "init-hq", "--hq-keys", "/tmp/x", "--token", "t", NULL);
    assert_int_equal(rc, 2);
    assert_contains(out, "'--token' does not apply to init-hq");
    assert_int_equal(s_recorded(&r, req, sizeof req), 0);
    s_recorder_stop(&r);
}

/* https: trusted through --cacert, refused without it. */
static void test_https(void **state)
{
    (void)state;
    if (access("/usr/bin/openssl", X_OK) != 0) {
        skip();
        return;
    }
    char dir[128], cert[200], key[200], log[200], out[8192];
    hbt_mkdtemp(dir, sizeof dir, "hallctl-tls");
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(log, sizeof log, "%s/s_server.log", dir);
    char *req[] = {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                   "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                   "subjectAltName=IP:127.0.0.1", NULL};
    if (hbt_run(req, out, sizeof out) != 0)
        fail_msg("openssl req: %s", out);
    int port = hbt_free_port();
    char accept_on[32], url[64];
    snprintf(accept_on, sizeof accept_on, "127.0.0.1:%d", port);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
    char *srv[] = {"/usr/bin/openssl", "s_server", "-accept", accept_on, "-cert", cert, "-key",
                   key, "-www", "-quiet", NULL};
    hbt_proc_t p;
    hbt_spawn(&p, log, srv);
    /* Ready once it answers at all (the first tries may find nobody). */
    int rc = -1;
    for (int i = 0; i < 100; i++) {
        rc = s_hallctl(out, sizeof out, "halls", "--hq", url, "--cacert", cert, NULL);
        if (!strstr(out, "connect"))
            break;
        hbt_sleep_ms(50);
    }
    /* s_server's status page is HTML: the request went through TLS and HQ
     * "answered", just not in JSON. */
    assert_int_equal(rc, 1);
    assert_contains(out, "answered 200 with a body that is not JSON");
    rc = s_hallctl(out, sizeof out, "halls", "--hq", url, NULL);
    assert_int_equal(rc, 1);
    assert_contains(out, "certificate");
    hbt_kill(&p, SIGKILL);
    hbt_rmdir(dir);
}

static void test_version(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(s_hallctl(out, sizeof out, "--version", NULL), 0);
    assert_contains(out, "hallctl 0.");
    assert_contains(out, " (revision ");
    assert_int_equal(s_hallctl(out, sizeof out, "halls", "--version", NULL), 0);
    assert_contains(out, "hallctl 0.");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_token_and_headers, s_teardown),
        cmocka_unit_test_teardown(test_environment, s_teardown),
        cmocka_unit_test_teardown(test_refused_before_sending, s_teardown),
        cmocka_unit_test_teardown(test_https, s_teardown),
        cmocka_unit_test_teardown(test_version, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
