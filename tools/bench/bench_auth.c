/* bench_auth: what access control costs each request at HQ. It builds
 * hqd's real parts in this process: a control plane with a national
 * organisation (1 national region, 10 provinces, 100 cities, 10,000 halls
 * by default), an auth store with a network operator and a city operator
 * and their tokens, the HTTP server on loopback with hqd's guard, and a
 * client thread that sends N requests per case over one keep-alive
 * connection. The guard is timed around each call, on the server's loop
 * (clock_gettime), so the figures are the guard's own: Host check, the
 * store's generation (one LMDB read), the bearer token's hash and the
 * identity cache, the permission and the scope, not HTTP.
 *
 * Cases: a network operator on a route over the whole network; a city
 * operator on a hall in their city (the scope check through their view), on
 * a hall elsewhere (refused, 403), and nobody (401). Prints, per case, the
 * mean, median and 99th percentile in nanoseconds after a warm-up, and the
 * first request's (a cache miss: the token read from the store).
 *
 * It prints figures only; there is no pass or fail. Usage:
 *   bench_auth [--requests N] [--halls N] [--json] */
#include "auth.h"
#include "benchcli.h"
#include "control.h"
#include "org.h"

#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/http.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define CASES 4
#define WARMUP 200
#define PROVINCES 10
#define CITIES_PER_PROVINCE 10

typedef struct settings {
    int64_t requests, halls;
    bool json;
} settings_t;

#define ROW(...) HB_CONF_OPT(settings_t, __VA_ARGS__)
static const hb_config_def_t s_options[] = {
    ROW("requests", HB_CONF_INT, requests, "20000", WARMUP + 1, 10000000, "N", "requests per case"),
    ROW("halls", HB_CONF_INT, halls, "10000", 100, ORG_HALLS_MAX, "N", "halls in the organisation"),
    ROW("json", HB_CONF_BOOL, json, "false", 0, 0, NULL, "print the figures as JSON"),
};
#undef ROW

static const bench_cli_t s_cli =
    BENCH_CLI(s_options, "bench_auth", "[--requests N] [--halls N] [--json]",
              "the cost of HQ's guard per request, timed on the server's loop");

static const char *const s_case_names[CASES] = {
    "network operator, GET /v1/status (whole network)",
    "city operator, GET /v1/halls/:hall in their city",
    "city operator, GET /v1/halls/:hall elsewhere (403)",
    "no credentials (401)",
};

/* Written by the loop thread, read by main after the client thread ended. */
static int64_t *s_samples[CASES];
static size_t s_n[CASES];
static _Atomic int s_case;
static size_t s_cap;
static hq_auth_t *s_auth;
static uv_async_t s_done;
static hb_http_t *s_http;

static int64_t s_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool s_timed_guard(hb_http_req_t *req, const hb_route_t *route, void *arg)
{
    int64_t t0 = s_ns();
    bool ok = hq_auth_guard(req, route, arg);
    int64_t dt = s_ns() - t0;
    int c = atomic_load(&s_case);
    if (c >= 0 && c < CASES && s_n[c] < s_cap)
        s_samples[c][s_n[c]++] = dt;
    return ok;
}

static void s_answer(hb_http_req_t *req, void *arg)
{
    (void)arg;
    hb_http_reply_raw(req, 200, "application/json", "{}", 2);
}

static const hb_http_route_t s_routes[] = {
    {"GET", "/v1/status", HB_PERM_STATUS_READ, HB_SCOPE_ALL, NULL, s_answer},
    {"GET", "/v1/halls/:hall", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall", s_answer},
};

/* ------------------------------------------------------------- client */

typedef struct client {
    int port;
    int64_t requests;
    char net[HQ_AUTH_SECRET_MAX], city[HQ_AUTH_SECRET_MAX];
    char far_hall[16];
    int failed;
} client_t;

/* One request on the kept connection; its status, or -1. */
static int s_request(int fd, const char *req, size_t len)
{
    if (send(fd, req, len, 0) != (ssize_t)len)
        return -1;
    char buf[4096];
    size_t used = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + used, sizeof buf - used - 1, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(buf, "content-length:");
        size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
        if (used >= (size_t)(end - buf) + 4 + body)
            return atoi(buf + 9);
    }
}

static void *s_client(void *arg)
{
    client_t *c = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        c->failed = 1;
        uv_async_send(&s_done);
        return NULL;
    }
    const char *paths[CASES] = {"/v1/status", "/v1/halls/H00001", NULL, "/v1/status"};
    char far[64];
    snprintf(far, sizeof far, "/v1/halls/%s", c->far_hall);
    paths[2] = far;
    const char *tokens[CASES] = {c->net, c->city, c->city, NULL};
    const int want[CASES] = {200, 200, 403, 401};
    for (int k = 0; k < CASES && !c->failed; k++) {
        atomic_store(&s_case, k);
        char req[512];
        int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%s\r\n",
                           paths[k], c->port, tokens[k] ? "Authorization: Bearer " : "",
                           tokens[k] ? tokens[k] : "", tokens[k] ? "\r\n" : "");
        for (int64_t i = 0; i < c->requests; i++) {
            int st = s_request(fd, req, (size_t)len);
            if (st != want[k]) {
                fprintf(stderr, "bench_auth: %s answered %d, not %d\n", s_case_names[k], st,
                        want[k]);
                c->failed = 1;
                break;
            }
        }
    }
    atomic_store(&s_case, -1);
    close(fd);
    uv_async_send(&s_done);
    return NULL;
}

static void s_on_done(uv_async_t *h)
{
    uv_close((uv_handle_t *)h, NULL);
    hb_http_destroy(&s_http);
}

/* -------------------------------------------------------------- setup */

static json_t *s_org_doc(int halls)
{
    json_t *regions = json_array(), *hs = json_array();
    json_array_append_new(
        regions, json_pack("{s:s, s:s, s:s}", "id", "CN", "name", "National", "level", "national"));
    char id[16], parent[16];
    for (int p = 1; p <= PROVINCES; p++) {
        snprintf(id, sizeof id, "P%02d", p);
        json_array_append_new(regions, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", id,
                                                 "level", "province", "parent", "CN"));
        for (int c = 1; c <= CITIES_PER_PROVINCE; c++) {
            snprintf(parent, sizeof parent, "P%02d", p);
            snprintf(id, sizeof id, "C%04d", (p - 1) * CITIES_PER_PROVINCE + c);
            json_array_append_new(regions, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", id,
                                                     "level", "city", "parent", parent));
        }
    }
    int cities = PROVINCES * CITIES_PER_PROVINCE;
    for (int h = 1; h <= halls; h++) {
        snprintf(id, sizeof id, "H%05d", h);
        snprintf(parent, sizeof parent, "C%04d", (h - 1) % cities + 1);
        json_array_append_new(hs, json_pack("{s:s, s:s}", "id", id, "city", parent));
    }
    return json_pack("{s:o, s:o}", "regions", regions, "halls", hs);
}

static int s_percentile(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    settings_t set = {0};
    int rc = bench_cli_read(&s_cli, &set, argc, argv);
    if (rc >= 0)
        return rc;
    hb_log_init("bench_auth", HB_LOG_WARN);
    char root[] = "/tmp/hb-bench-auth-XXXXXX", dir[256], err[512];
    if (!mkdtemp(root))
        return 1;
    /* The organisation, as hqd stores it. */
    hq_control_t *ctl = NULL;
    snprintf(dir, sizeof dir, "%s/control", root);
    json_t *org = s_org_doc((int)set.halls);
    if (hq_control_open(dir, &ctl, err, sizeof err) != 0 ||
        hq_control_set_org(ctl, org, err, sizeof err) != 0) {
        fprintf(stderr, "bench_auth: the organisation: %s\n", err);
        return 1;
    }
    json_decref(org);
    /* Two people and their tokens, as `hqd users add` makes them. */
    snprintf(dir, sizeof dir, "%s/auth", root);
    hq_authdb_t *db = NULL;
    client_t cl = {.requests = set.requests};
    snprintf(cl.far_hall, sizeof cl.far_hall, "H%05d", (int)set.halls);
    hq_person_t net = {.n_grants = 1, .grants = {{.role = HQ_ROLE_OPERATOR}}};
    hq_person_t city = {
        .n_grants = 1,
        .grants = {{.role = HQ_ROLE_OPERATOR, .kind = HQ_SCOPE_REGION, .id = "C0001"}}};
    snprintf(net.name, sizeof net.name, "net-operator");
    snprintf(city.name, sizeof city.name, "city-operator");
    if (hq_authdb_open(dir, &db, err, sizeof err) != 0 ||
        hq_authdb_person_add(db, &net, err, sizeof err) != 0 ||
        hq_authdb_person_add(db, &city, err, sizeof err) != 0 ||
        hq_authdb_token_add(db, "net-operator", "bench", 0, cl.net, err, sizeof err) != 0 ||
        hq_authdb_token_add(db, "city-operator", "bench", 0, cl.city, err, sizeof err) != 0) {
        fprintf(stderr, "bench_auth: the auth store: %s\n", err);
        return 1;
    }
    hq_authdb_close(&db);
    s_cap = (size_t)set.requests;
    for (int k = 0; k < CASES; k++)
        s_samples[k] = calloc(s_cap, sizeof(int64_t));
    atomic_store(&s_case, -1);

    uv_loop_t *loop = uv_default_loop();
    s_http = hb_http_new(loop, "127.0.0.1:0", 1 << 20);
    if (!s_http || hb_http_routes(s_http, s_routes, 2, NULL) != 0)
        return 1;
    cl.port = hb_http_port(s_http);
    hq_auth_config_t acfg = {.loop = loop,
                             .dir = dir,
                             .listen = "127.0.0.1:0",
                             .port = cl.port,
                             .session_idle_ms = 1800000,
                             .session_max_ms = 43200000,
                             .login_per_second = 10,
                             .audit_retention_ms = 86400000,
                             .audit_max = 1000000};
    if (hq_auth_new(&acfg, ctl, &s_auth, err, sizeof err) != 0) {
        fprintf(stderr, "bench_auth: %s\n", err);
        return 1;
    }
    hb_http_set_guard(s_http, s_timed_guard, s_auth);
    hb_http_set_after(s_http, hq_auth_after, s_auth);
    uv_async_init(loop, &s_done, s_on_done);
    pthread_t th;
    pthread_create(&th, NULL, s_client, &cl);
    uv_run(loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    uv_loop_close(loop);
    hq_auth_destroy(&s_auth);
    hq_control_close(&ctl);
    if (cl.failed)
        return 1;

    json_t *out = json_array();
    if (!set.json)
        printf("bench_auth: the guard's cost per request, %lld requests per case, %lld halls\n",
               (long long)set.requests, (long long)set.halls);
    for (int k = 0; k < CASES; k++) {
        int64_t first = s_n[k] ? s_samples[k][0] : 0;
        size_t n = s_n[k] > WARMUP ? s_n[k] - WARMUP : 0;
        int64_t *v = s_samples[k] + WARMUP;
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += (double)v[i];
        qsort(v, n, sizeof *v, s_percentile);
        double mean = n ? sum / (double)n : 0;
        int64_t p50 = n ? v[n / 2] : 0, p99 = n ? v[(n * 99) / 100] : 0;
        if (set.json)
            json_array_append_new(out,
                                  json_pack("{s:s, s:f, s:I, s:I, s:I}", "case", s_case_names[k],
                                            "mean_ns", mean, "p50_ns", (json_int_t)p50, "p99_ns",
                                            (json_int_t)p99, "first_ns", (json_int_t)first));
        else
            printf("  %-52s mean %6.0f ns  p50 %6lld ns  p99 %6lld ns  (first: %lld ns)\n",
                   s_case_names[k], mean, (long long)p50, (long long)p99, (long long)first);
        free(s_samples[k]);
    }
    if (set.json) {
        char *text = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", text ? text : "[]");
        free(text);
    }
    json_decref(out);
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_auth: could not remove %s\n", root);
    return 0;
}
