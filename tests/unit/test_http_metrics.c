/* The HTTP server's request durations (common/http/reqstats.c through
 * hb_http_stats_metrics): a real server on a libuv loop in its own thread,
 * asked over loopback, then its /metrics read back. Each route's series is
 * labelled with the pattern or prefix from the table and never with the
 * path asked; each status class counts apart; requests no route took count
 * under route="unmatched"; a slow handler's time is in its buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"
#include "httpd.h"

#include "hallbus/http.h"
#include "hallbus/httpc.h"
#include "hallbus/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void h_thing(hb_http_req_t *req, void *arg)
{
    (void)arg;
    const char *id = hb_http_param(req, "id");
    if (strcmp(id, "missing") == 0)
        hb_http_reply_error(req, 404, "not_found", "no thing %s", id);
    else if (strcmp(id, "broken") == 0)
        hb_http_reply_error(req, 500, "internal", "thing %s is broken", id);
    else
        hb_http_reply_json(req, 200, json_pack("{s:s}", "id", id));
}

static void h_moved(hb_http_req_t *req, void *arg)
{
    (void)arg;
    hb_http_reply_raw(req, 302, "text/plain", "moved\n", 6);
}

static void h_slow(hb_http_req_t *req, void *arg)
{
    (void)arg;
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    hb_http_reply_json(req, 200, json_pack("{s:b}", "slow", 1));
}

static void h_files(hb_http_req_t *req, void *arg)
{
    (void)arg;
    hb_http_reply_raw(req, 200, "text/plain", "file\n", 5);
}

static void h_metrics(hb_http_req_t *req, void *arg)
{
    hbt_httpd_t *fx = arg;
    hb_metrics_t m;
    hb_metrics_init(&m);
    hb_http_stats_metrics(fx->http, "t_", &m);
    hb_http_reply_raw(req, 200, "text/plain; version=0.0.4", m.text.p ? m.text.p : "", m.text.len);
    hb_metrics_free(&m);
}

static const hb_http_route_t s_table[] = {
    {"GET", "/v1/things/:id", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, h_thing},
    {"GET", "/v1/moved", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, h_moved},
    {"GET", "/v1/slow", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, h_slow},
};

static int setup(void **state)
{
    hbt_httpd_t *fx = hbt_httpd_new("127.0.0.1:0", 1024);
    assert_non_null(fx);
    assert_int_equal(hb_http_routes(fx->http, s_table, sizeof s_table / sizeof s_table[0], fx), 0);
    assert_int_equal(hb_http_route(fx->http, NULL, "/files", HB_PERM_PUBLIC, h_files, fx), 0);
    assert_int_equal(hb_http_route(fx->http, "GET", "/metrics", HB_PERM_PUBLIC, h_metrics, fx), 0);
    hbt_httpd_run(state, fx);
    return 0;
}

static int s_get(hbt_httpd_t *fx, const char *method, const char *path)
{
    hb_httpc_resp_t resp;
    char err[256];
    assert_int_equal(hb_httpc_request(fx->base, method, path, NULL, 5000, &resp, err, sizeof err),
                     0);
    int status = resp.status;
    hb_httpc_resp_free(&resp);
    return status;
}

#define SERIES(route, method, code) "{method=\"" method "\",route=\"" route "\",code=\"" code "\"}"

static void test_durations_by_route_and_class(void **state)
{
    hbt_httpd_t *fx = *state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_get(fx, "GET", "/v1/things/42"), 200);
    assert_int_equal(s_get(fx, "GET", "/v1/things/43"), 200);
    assert_int_equal(s_get(fx, "GET", "/v1/things/missing"), 404);
    assert_int_equal(s_get(fx, "GET", "/v1/things/broken"), 500);
    assert_int_equal(s_get(fx, "GET", "/v1/moved"), 302);
    assert_int_equal(s_get(fx, "GET", "/v1/slow"), 200);
    assert_int_equal(s_get(fx, "POST", "/files/a/b.txt"), 200);
    /* Taken by no route: a path nothing matches, a method the pattern does
     * not take, a path that is not a path. */
    assert_int_equal(s_get(fx, "GET", "/nowhere/at/all"), 404);
    assert_int_equal(s_get(fx, "DELETE", "/v1/moved"), 405);
    assert_int_equal(s_get(fx, "GET", "/v1/%zz"), 400);

    hb_httpc_resp_t resp;
    char err[256];
    assert_int_equal(
        hb_httpc_request(fx->base, "GET", "/metrics", NULL, 5000, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 200);
    const char *t = resp.body;
#define COUNT(route, method, code)                                                                 \
    hbt_sample(t, "t_http_request_duration_seconds_count" SERIES(route, method, code))
    assert_true(COUNT("/v1/things/:id", "GET", "2xx") == 4);
    assert_true(COUNT("/v1/things/:id", "GET", "4xx") == 1);
    assert_true(COUNT("/v1/things/:id", "GET", "5xx") == 1);
    assert_true(COUNT("/v1/moved", "GET", "3xx") == 1);
    assert_true(COUNT("/v1/slow", "GET", "2xx") == 1);
    assert_true(COUNT("/files", "any", "2xx") == 1);
    assert_true(COUNT("unmatched", "any", "4xx") == 3);
    /* No series for a class without requests, none for a raw path. */
    assert_true(isnan(COUNT("/v1/moved", "GET", "2xx")));
    assert_null(strstr(t, "/v1/things/42"));
    assert_null(strstr(t, "nowhere"));
    /* The scrape itself is counted once it is answered: not yet here. */
    assert_true(isnan(COUNT("/metrics", "GET", "2xx")));
    /* The slow handler took 30 ms: nothing at or below 25 ms, all by 5 s. */
    assert_true(hbt_sample(t, "t_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/"
                              "slow\",code=\"2xx\",le=\"0.025\"}") == 0);
    assert_true(hbt_sample(t, "t_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/"
                              "slow\",code=\"2xx\",le=\"5\"}") == 1);
    assert_true(hbt_sample(t, "t_http_request_duration_seconds_sum" SERIES("/v1/slow", "GET",
                                                                           "2xx")) >= 0.03);
    /* One HELP and TYPE for the whole family. */
    size_t types = 0;
    for (const char *p = t; (p = strstr(p, "# TYPE t_http_request_duration_seconds ")); p++)
        types++;
    assert_int_equal(types, 1);
    hb_httpc_resp_free(&resp);

    /* The next scrape counts the first one. */
    assert_int_equal(
        hb_httpc_request(fx->base, "GET", "/metrics", NULL, 5000, &resp, err, sizeof err), 0);
    t = resp.body;
    assert_true(COUNT("/metrics", "GET", "2xx") == 1);
    hb_httpc_resp_free(&resp);
#undef COUNT
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_durations_by_route_and_class, setup,
                                        hbt_httpd_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
