/* Tests for what the HTTP server (http.c) tells access control and how it
 * serves TLS: the caller's address and whether it is loopback (the peer
 * seen by a guard, over IPv4 and over a dual-stack listener), which listen
 * addresses are loopback only, the slot a guard fills for the handler, and
 * HTTPS with a certificate made here by the openssl command (a real
 * handshake from the tools' client, verified against that certificate; a
 * plain-HTTP request to the TLS port gets no answer). The rest of the
 * server is test_http.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"
#include "httpd.h"

#include "hallbus/error.h"
#include "hallbus/http.h"
#include "hallbus/httpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static char s_dir[256], s_cert[320], s_key[320], s_other_key[320];

/* What the guard puts in the caller slot, for the handler to answer. */
static const char s_who[] = "the guard's caller";

static bool s_guard(hb_http_req_t *req, const hb_route_t *route, void *arg)
{
    (void)route, (void)arg;
    req->caller = s_who;
    return true;
}

/* Answers who called: the slot, the family and whether it is loopback. */
static void h_who(hb_http_req_t *req, void *arg)
{
    (void)arg;
    struct sockaddr_storage ss;
    int rc = hb_http_peer(req, &ss);
    char text[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof text);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof text);
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:i, s:s, s:b}", "caller",
                                 req->caller ? (const char *)req->caller : "", "rc", rc, "address",
                                 text, "loopback", hb_http_peer_is_loopback(req)));
}

static const hb_http_route_t s_table[] = {
    {"GET", "/v1/who", HB_PERM_STATUS_READ, HB_SCOPE_ALL, NULL, h_who},
};

/* A server on `host_port`, with TLS when `tls`; NULL in *state when the
 * address cannot be listened on (no IPv6 here). */
static int s_start(void **state, const char *host_port, bool tls)
{
    hbt_httpd_t *fx = hbt_httpd_new(host_port, 1024);
    if (!fx) {
        *state = NULL;
        return 0;
    }
    char err[512];
    if (tls)
        assert_int_equal(hb_http_set_tls(fx->http, s_cert, s_key, err, sizeof err), 0);
    assert_int_equal(hb_http_tls(fx->http), tls);
    snprintf(fx->base, sizeof fx->base, "%s://127.0.0.1:%d", tls ? "https" : "http",
             hb_http_port(fx->http));
    assert_int_equal(hb_http_routes(fx->http, s_table, 1, NULL), 0);
    hb_http_set_guard(fx->http, s_guard, NULL);
    hbt_httpd_run(state, fx);
    return 0;
}

static int setup_plain(void **state) { return s_start(state, "127.0.0.1:0", false); }
static int setup_tls(void **state) { return s_start(state, "127.0.0.1:0", true); }
static int setup_dual(void **state) { return s_start(state, "[::]:0", false); }

static int s_call(const char *base, const char *cacert, json_t **out, char *err, size_t errlen)
{
    hb_httpc_opts_t o = {.timeout_ms = 5000, .cacert = cacert};
    hb_httpc_resp_t r;
    *out = NULL;
    int rc = hb_httpc_call(base, "GET", "/v1/who", NULL, &o, &r, err, errlen);
    if (rc == 0) {
        *out = json_loadb(r.body, r.body_len, 0, NULL);
        rc = r.status;
    }
    hb_httpc_resp_free(&r);
    return rc;
}

/* GET /v1/who that must answer 200 from a loopback peer (at `address`
 * when not NULL): the answer, for the caller to free. */
static json_t *s_who_ok(const char *base, const char *cacert, const char *address)
{
    json_t *o;
    char err[512] = "";
    int rc = s_call(base, cacert, &o, err, sizeof err);
    if (rc != 200)
        fail_msg("GET %s/v1/who: %d (%s)", base, rc, err);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "loopback")));
    if (address)
        assert_string_equal(json_string_value(json_object_get(o, "address")), address);
    return o;
}

/* ------------------------------------------------------------- the tests */

static void test_listen_loopback(void **state)
{
    (void)state;
    const struct {
        const char *hp;
        bool loopback;
    } cases[] = {
        {"127.0.0.1:8100", true},
        {"127.3.2.1:1", true},
        {"[::1]:8100", true},
        {"localhost:8100", true},
        {"0.0.0.0:8100", false},
        {":8100", false},
        {"*:8100", false},
        {"[::]:8100", false},
        {"192.0.2.7:8100", false},
        {"[2001:db8::1]:80", false},
        {"nonsense", false},
        {"127.0.0.1", false},
        {"no-such-host.invalid:80", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (hb_http_listen_is_loopback(cases[i].hp) != cases[i].loopback)
            fail_msg("%s: should %sbe loopback", cases[i].hp, cases[i].loopback ? "" : "not ");
    assert_false(hb_http_listen_is_loopback(NULL));

    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.9", &mapped.sin6_addr), 1);
    assert_true(hb_http_addr_is_loopback((struct sockaddr *)&mapped));
    assert_int_equal(inet_pton(AF_INET6, "::ffff:10.0.0.9", &mapped.sin6_addr), 1);
    assert_false(hb_http_addr_is_loopback((struct sockaddr *)&mapped));
    struct sockaddr_in lan = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, "10.1.2.3", &lan.sin_addr), 1);
    assert_false(hb_http_addr_is_loopback((struct sockaddr *)&lan));
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_false(hb_http_addr_is_loopback(&other));
}

/* The guard's slot reaches the handler; the peer is the loopback client. */
static void test_peer_and_caller(void **state)
{
    hbt_httpd_t *fx = *state;
    json_t *o = s_who_ok(fx->base, NULL, "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(o, "caller")), s_who);
    assert_int_equal(hbt_int(o, "rc"), 0);
    json_decref(o);
}

/* On a dual-stack listener an IPv4 client is ::ffff:127.0.0.1: loopback. */
static void test_peer_dual_stack(void **state)
{
    hbt_httpd_t *fx = *state;
    if (!fx)
        skip();
    json_decref(s_who_ok(fx->base, NULL, "::ffff:127.0.0.1"));
}

static void test_https(void **state)
{
    hbt_httpd_t *fx = *state;
    json_t *o = s_who_ok(fx->base, s_cert, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "caller")), s_who);
    json_decref(o);
    char err[512];
    /* The system's CAs do not know this certificate: the client refuses. */
    assert_int_equal(s_call(fx->base, NULL, &o, err, sizeof err), HB_EIO);
    assert_null(o);
    /* Plain HTTP to the TLS port: no HTTP answer comes back. */
    char plain[64];
    snprintf(plain, sizeof plain, "http://%s", fx->base + strlen("https://"));
    int rc = s_call(plain, NULL, &o, err, sizeof err);
    assert_true(rc < 0);
    assert_null(o);
    /* And it still serves the next good one. */
    json_decref(s_who_ok(fx->base, s_cert, NULL));
}

static void test_tls_refusals(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    hb_http_t *http = hb_http_new(&loop, "127.0.0.1:0", 1024);
    assert_non_null(http);
    char err[512], missing[400];
    snprintf(missing, sizeof missing, "%s/none.pem", s_dir);
    const struct {
        const char *cert, *key;
        int rc;
        const char *says;
    } cases[] = {
        {missing, s_key, HB_EINVAL, "cannot read the certificate"},
        {s_key, s_key, HB_EINVAL, "cannot read the certificate"}, /* a key is no certificate */
        {s_cert, missing, HB_EINVAL, "cannot read the private key"},
        {s_cert, s_other_key, HB_EINVAL, "does not belong to the certificate"},
        {"", s_key, HB_EINVAL, "needs a certificate file and a key file"},
        {s_cert, NULL, HB_EINVAL, "needs a certificate file and a key file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rc = hb_http_set_tls(http, cases[i].cert, cases[i].key, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].says))
            fail_msg("case %zu: %d '%s'", i, rc, err);
        assert_false(hb_http_tls(http));
    }
    assert_int_equal(hb_http_set_tls(http, s_cert, s_key, err, sizeof err), 0);
    assert_true(hb_http_tls(http));
    assert_int_equal(hb_http_set_tls(http, s_cert, s_key, err, sizeof err), HB_EEXIST);
    hb_http_destroy(&http);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_false(hb_http_tls(NULL));
}

/* A self-signed certificate for 127.0.0.1 and its key, and a key of
 * another pair, made once for the whole group. */
static int s_group_setup(void **state)
{
    (void)state;
    hbt_mkdtemp(s_dir, sizeof s_dir, "http-tls");
    snprintf(s_cert, sizeof s_cert, "%s/cert.pem", s_dir);
    snprintf(s_key, sizeof s_key, "%s/key.pem", s_dir);
    snprintf(s_other_key, sizeof s_other_key, "%s/other.pem", s_dir);
    char out[4096];
    int rc = hbt_run_args(out, sizeof out, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                          "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                          s_key, "-out", s_cert, NULL);
    if (rc != 0) {
        fprintf(stderr, "openssl req failed (%d): %s\n", rc, out);
        return -1;
    }
    rc = hbt_run_args(out, sizeof out, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-out", s_other_key, NULL);
    if (rc != 0) {
        fprintf(stderr, "openssl genpkey failed (%d): %s\n", rc, out);
        return -1;
    }
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    hbt_rmdir(s_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_loopback),
        cmocka_unit_test_setup_teardown(test_peer_and_caller, setup_plain, hbt_httpd_teardown),
        cmocka_unit_test_setup_teardown(test_peer_dual_stack, setup_dual, hbt_httpd_teardown),
        cmocka_unit_test_setup_teardown(test_https, setup_tls, hbt_httpd_teardown),
        cmocka_unit_test(test_tls_refusals),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
