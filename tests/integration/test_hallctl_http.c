/* hallctl's requests as they leave it: the real binary against a stub
 * HTTP server (tests/support/stubs.c) that records each request it gets, for
 * --token, --header (repeated), HALLBUS_TOKEN and HALLBUS_HQ (and which
 * wins), https with --cacert against openssl s_server, the refusals of a
 * bad header, token or CA file before anything is sent, and --version. */
#include "stubs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HALLCTL HB_BIN_DIR "/tools/hallctl"

/* A stub HQ or hall answering every request with `reply`. */
static hbt_stub_t *s_server(const char *reply)
{
    return hbt_stub_start(reply, strlen(reply), 0, 0);
}

#define s_hallctl(out, len, ...) hbt_run_args(out, len, HALLCTL, __VA_ARGS__)

static const char *s_halls_json = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 13\r\nConnection: close\r\n\r\n{\"halls\": []}";

static int s_teardown(void **state)
{
    (void)state;
    unsetenv("HALLBUS_HQ");
    unsetenv("HALLBUS_TOKEN");
    return 0;
}

#define HBT_FIXTURE NULL, s_teardown

/* --token and every --header, as given, on the request. */
HBT_TEST(test_token_and_headers)
{
    (void)state;
    hbt_stub_t *r = s_server(s_halls_json);
    const char *url = hbt_stub_url(r);
    char out[8192], req[8192];
    int rc = s_hallctl(out, sizeof out, "halls", "--hq", url, "--token", "t0k3n-abc", "--header",
                       "X-Request-Id: 42", "--header", "X-Tenant: north hall", "--header",
                       "X-Empty:", NULL);
    if (rc != 0)
        fail_msg("hallctl halls: exit %d: %s", rc, out);
    assert_int_equal(hbt_stub_requests(r, req, sizeof req), 1);
    hbt_assert_contains_all(req, "GET /v1/halls HTTP/1.1\r\n",
                            "\r\nAuthorization: Bearer t0k3n-abc\r\n", "\r\nX-Request-Id: 42\r\n",
                            "\r\nX-Tenant: north hall\r\n", "\r\nX-Empty:\r\n", NULL);
    hbt_assert_contains(out, "\"halls\": []");

    /* Without them, neither goes out. */
    rc = s_hallctl(out, sizeof out, "halls", "--hq", url, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(hbt_stub_requests(r, req, sizeof req), 2);
    assert_null(strcasestr(req, "Authorization:"));
    assert_null(strstr(req, "X-Request-Id"));

    /* A hall's API gets them too. */
    rc = s_hallctl(out, sizeof out, "ticket", "A", "--hall", url, "--token", "hall-token",
                   "--header", "X-Device: kiosk-3", "--json", NULL);
    assert_int_equal(hbt_stub_requests(r, req, sizeof req), 3);
    hbt_assert_contains_all(req, "POST /v1/tickets HTTP/1.1\r\n",
                            "\r\nAuthorization: Bearer hall-token\r\n", "\r\nX-Device: kiosk-3\r\n",
                            NULL);
    hbt_stub_stop(&r);
}

/* HALLBUS_HQ and HALLBUS_TOKEN stand in for --hq and --token; the command
 * line wins over them. */
HBT_TEST(test_environment)
{
    (void)state;
    hbt_stub_t *hq = s_server(s_halls_json), *other = s_server(s_halls_json);
    char out[8192], req[8192];
    setenv("HALLBUS_HQ", hbt_stub_url(hq), 1);
    setenv("HALLBUS_TOKEN", "from-env", 1);
    int rc = s_hallctl(out, sizeof out, "halls", NULL);
    if (rc != 0)
        fail_msg("hallctl halls with HALLBUS_HQ: exit %d: %s", rc, out);
    assert_int_equal(hbt_stub_requests(hq, req, sizeof req), 1);
    hbt_assert_contains(req, "\r\nAuthorization: Bearer from-env\r\n");

    rc = s_hallctl(out, sizeof out, "halls", "--hq", hbt_stub_url(other), "--token", "from-cli",
                   NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(hbt_stub_requests(hq, req, sizeof req), 1); /* not asked again */
    assert_int_equal(hbt_stub_requests(other, req, sizeof req), 1);
    hbt_assert_contains(req, "\r\nAuthorization: Bearer from-cli\r\n");

    /* `hall` with --hall asks the hall, whatever HALLBUS_HQ says. */
    rc = s_hallctl(out, sizeof out, "hall", "--hall", hbt_stub_url(other), "--json", NULL);
    assert_int_equal(hbt_stub_requests(other, req, sizeof req), 2);
    hbt_assert_contains(req, "GET /v1/hall HTTP/1.1\r\n");
    assert_int_equal(hbt_stub_requests(hq, req, sizeof req), 1);
    /* Given both on the command line, it is still one or the other. */
    rc = s_hallctl(out, sizeof out, "hall", "--hall", hbt_stub_url(other), "--hq", hbt_stub_url(hq),
                   NULL);
    assert_int_equal(rc, 2);
    hbt_assert_contains(out, "not both");

    /* Without HALLBUS_HQ, --hq is required again. */
    unsetenv("HALLBUS_HQ");
    rc = s_hallctl(out, sizeof out, "halls", NULL);
    assert_int_equal(rc, 2);
    hbt_assert_contains(out, "--hq is required");
    hbt_stub_stop(&hq);
    hbt_stub_stop(&other);
}

/* Bad headers, tokens and CA files are bad usage: exit 2, nothing sent. */
HBT_TEST(test_refused_before_sending)
{
    (void)state;
    hbt_stub_t *r = s_server(s_halls_json);
    const char *url = hbt_stub_url(r);
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
        int rc = s_hallctl(out, sizeof out, "halls", "--hq", url, bad[i].opt, bad[i].value, NULL);
        if (rc != 2 || !strstr(out, bad[i].says))
            fail_msg("%s '%s': exit %d, wanted 2 and \"%s\": %s", bad[i].opt, bad[i].value, rc,
                     bad[i].says, out);
    }
    /* A token and an Authorization header at once: which is meant? */
    int rc = s_hallctl(out, sizeof out, "halls", "--hq", url, "--token", "t", "--header",
                       "Authorization: Basic eDp5", NULL);
    assert_int_equal(rc, 2);
    hbt_assert_contains(out, "not both");
    /* Commands that talk to no API take none of these. */
    rc = s_hallctl(out, sizeof out, "init-hq", "--hq-keys", "/tmp/x", "--token", "t", NULL);
    assert_int_equal(rc, 2);
    hbt_assert_contains(out, "'--token' does not apply to init-hq");
    assert_int_equal(hbt_stub_requests(r, req, sizeof req), 0);
    hbt_stub_stop(&r);
}

/* https: trusted through --cacert, refused without it. */
HBT_TEST(test_https)
{
    (void)state;
    char dir[128], out[8192];
    hbt_mkdtemp(dir, sizeof dir, "hallctl-tls");
    hbt_tls_t tls;
    hbt_tls_start_or_skip(&tls, dir);
    /* s_server's status page is HTML: the request went through TLS and HQ
     * "answered", just not in JSON. */
    int rc = s_hallctl(out, sizeof out, "halls", "--hq", tls.url, "--cacert", tls.cert, NULL);
    assert_int_equal(rc, 1);
    hbt_assert_contains(out, "answered 200 with a body that is not JSON");
    rc = s_hallctl(out, sizeof out, "halls", "--hq", tls.url, NULL);
    assert_int_equal(rc, 1);
    hbt_assert_contains(out, "certificate");
    hbt_tls_stop(&tls);
    hbt_rmdir(dir);
}

HBT_TEST(test_version)
{
    (void)state;
    char out[1024];
    assert_int_equal(s_hallctl(out, sizeof out, "--version", NULL), 0);
    hbt_assert_contains(out, "hallctl 0.");
    hbt_assert_contains(out, " (revision ");
    assert_int_equal(s_hallctl(out, sizeof out, "halls", "--version", NULL), 0);
    hbt_assert_contains(out, "hallctl 0.");
}
