/* bench_live: head office live at national scale. Starts its own hqd,
 * places N simulated halls (10,000 by default) in a region tree of 30
 * provinces and 300 cities, publishes a policy open round the clock,
 * connects every hall over real CURVE and plays each one's opening day from
 * the traffic model (common/sim.h) at --speed times real time, events
 * stamped with the real clock. Meanwhile a second thread asks what the
 * dashboard asks: the region aggregates (GET /v1/regions) as fast as it
 * can, and the network's first load (GET /v1/live/halls with every tile)
 * now and then. Prints latency percentiles and HQ's own figures; asserts
 * nothing. --dashboard serves the page from another folder (the same hqd
 * then measures two versions of the page, alternated); --page-trace prints
 * what one load of the page waited for (docs/OPERATIONS.md). */
#include "benchcli.h"
#include "samples.h"
#include "simlink.h"

#include "hallbus/cert.h"
#include "hallbus/codec.h"
#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/httpc.h"
#include "sim.h"
#include "hallbus/time.h"

#include <jansson.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define BATCH_MAX 64
#define WINDOW 2000

typedef struct hall {
    void *sock;
    char id[16];
    hb_sim_hall_t *sim;
    json_t *pending;    /* the next event, not sent yet */
    int64_t pending_at; /* its simulated time */
    uint64_t next_seq, acked;
    int64_t hello_ms; /* last Hello sent */
    bool welcomed, done;
} hall_t;

static struct {
    int halls, seconds;
    double speed;
    const char *hqd, *dashboard;
    bool page_trace;
    char root[256];
    char http[80];
    hb_httpc_opts_t http_opts; /* to the scratch hqd's API: the token, if any */
} s_opt;

/* The command line, as the settings table reads it (s_opt is set from it). */
typedef struct settings {
    int64_t halls, seconds;
    double speed;
    char *hqd, *token, *dashboard;
    bool page_trace;
} settings_t;

static int s_parse_speed(const char *text, void *field, char *why, size_t whylen)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end || !(v > 0 && v <= 1e6)) {
        snprintf(why, whylen, "give a number above 0 and up to 1000000");
        return HB_EINVAL;
    }
    *(double *)field = v;
    return 0;
}

#define ROW(...) HB_CONF_OPT(settings_t, __VA_ARGS__)

static const hb_config_def_t s_options[] = {
    ROW("halls", HB_CONF_INT, halls, "10000", 1, 100000, "N",
        "simulated halls, each its own CURVE connection"),
    ROW("seconds", HB_CONF_INT, seconds, "30", 1, 86400, "S", "how long the traffic runs"),
    ROW("speed", HB_CONF_CUSTOM, speed, "60", 0, 0, "X",
        "simulated time per real time (60: a day in 8 minutes)", .parse = s_parse_speed),
    ROW("dashboard", HB_CONF_STRING, dashboard, NULL, 0, 0, "DIR",
        "serve the dashboard's files from DIR (default: hqd's own, the source tree's)",
        .optional = true),
    ROW("page-trace", HB_CONF_BOOL, page_trace, "false", 0, 0, NULL,
        "print the requests and marks of the page's last measured load"),
    SIMLINK_ROWS(settings_t),
};
#undef ROW

static const bench_cli_t s_cli =
    BENCH_CLI(s_options, "bench_live",
              "[--halls N] [--seconds S] [--speed X] [--hqd PATH] [--dashboard DIR] [--page-trace]",
              "head office live at national scale: halls on real CURVE, the dashboard's "
              "questions meanwhile");

static int s_http(const char *method, const char *path, const char *body, double *ms, size_t *bytes)
{
    hb_httpc_resp_t r;
    char err[256];
    int64_t t0 = hb_mono_ms();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    hb_httpc_opts_t http = s_opt.http_opts;
    http.timeout_ms = 30000;
    int rc = hb_httpc_call(s_opt.http, method, path, body, &http, &r, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    (void)t0;
    if (ms)
        *ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    if (rc != 0) {
        fprintf(stderr, "bench_live: %s %s: %s\n", method, path, err);
        return -1;
    }
    int status = r.status;
    if (bytes)
        *bytes = r.body_len;
    if (status >= 300)
        fprintf(stderr, "bench_live: %s %s: %d %.300s\n", method, path, status, r.body);
    hb_httpc_resp_free(&r);
    return status;
}

/* ---------------------------------------------------------- the reader */

static void s_browser_load(void);

static volatile int s_stop;
static samples_t s_regions, s_first_load;
static size_t s_first_load_bytes;

static void *s_reader(void *arg)
{
    bool browser = arg != NULL;
    int64_t last_full = 0, last_page = hb_mono_ms();
    while (!s_stop) {
        if (browser && hb_mono_ms() - last_page >= 5000) {
            s_browser_load(); /* blocks this thread: the regions wait meanwhile */
            last_page = hb_mono_ms();
        }
        double ms;
        if (s_http("GET", "/v1/regions", NULL, &ms, NULL) == 200)
            samples_add(&s_regions, ms);
        if (hb_mono_ms() - last_full >= 3000) {
            last_full = hb_mono_ms();
            size_t bytes = 0;
            if (s_http("GET", "/v1/live/halls?limit=100000", NULL, &ms, &bytes) == 200) {
                samples_add(&s_first_load, ms);
                s_first_load_bytes = bytes;
            }
        }
        usleep(20000);
    }
    return NULL;
}

/* --------------------------------------------- the dashboard's first load */

/* With Debian's chromium and chromedriver installed, the dashboard is
 * loaded in headless Chromium (through WebDriver) a few times during the
 * traffic, and the page's own marks say when the snapshot of every tile was
 * in and when the network view was first painted (docs/DASHBOARD.md). */
#define CHROMIUM "/usr/bin/chromium"
#define CHROMEDRIVER "/usr/bin/chromedriver"

static samples_t s_page_data, s_page_render;
static pid_t s_driver;
static char s_wd[64], s_session[128];

static json_t *s_wd_call(const char *method, const char *path, json_t *body)
{
    char full[512];
    snprintf(full, sizeof full, "/session/%s%s", s_session, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    hb_httpc_resp_t r;
    char err[256];
    int rc = hb_httpc_request(s_wd, method, s_session[0] ? full : path, text, 60000, &r, err,
                              sizeof err);
    free(text);
    if (rc != 0)
        return NULL;
    json_t *j = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    hb_httpc_resp_free(&r);
    json_t *v = j ? json_incref(json_object_get(j, "value")) : NULL;
    json_decref(j);
    return v;
}

static bool s_browser_start(void)
{
    if (access(CHROMIUM, X_OK) != 0 || access(CHROMEDRIVER, X_OK) != 0) {
        printf("dashboard: %s or %s missing: the page's first load is not measured "
               "(./deploy/install-deps.sh --browser installs them)\n",
               CHROMIUM, CHROMEDRIVER);
        return false;
    }
    int port = 21000 + getpid() % 500;
    snprintf(s_wd, sizeof s_wd, "http://127.0.0.1:%d", port);
    fflush(NULL); /* else the child's freopen writes the parent's pending lines again */
    s_driver = fork();
    if (s_driver == 0) {
        char portarg[32], log[400];
        snprintf(portarg, sizeof portarg, "--port=%d", port);
        snprintf(log, sizeof log, "%s/chromedriver.log", s_opt.root);
        FILE *f = freopen(log, "a", stdout);
        f = freopen(log, "a", stderr);
        (void)f;
        execl(CHROMEDRIVER, CHROMEDRIVER, portarg, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        json_t *st = s_wd_call("GET", "/status", NULL);
        bool ready = st && json_is_true(json_object_get(st, "ready"));
        json_decref(st);
        if (ready)
            break;
        usleep(50000);
    }
    char udd[400];
    snprintf(udd, sizeof udd, "--user-data-dir=%s/chromium-profile", s_opt.root);
    json_t *caps =
        json_pack("{s:{s:{s:s, s:{s:s, s:[s, s, s, s, s, s, s, s, s, s, s]}}}}", "capabilities",
                  "alwaysMatch", "browserName", "chrome", "goog:chromeOptions", "binary", CHROMIUM,
                  "args", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,1000", udd);
    json_t *v = s_wd_call("POST", "/session", caps);
    const char *sid = json_string_value(json_object_get(v, "sessionId"));
    if (sid)
        snprintf(s_session, sizeof s_session, "%s", sid);
    json_decref(v);
    if (!sid)
        printf("dashboard: chromedriver gave no session (see %s/chromedriver.log)\n", s_opt.root);
    return sid != NULL;
}

/* The dashboard shows nothing before a sign-in: the scratch hqd's admin
 * "bench" (simlink.c) gets a password, and the browser signs in once
 * through the login API on the dashboard's own origin, so that every load
 * after carries the session's cookie. Without it the page stays at its
 * sign-in form and no load is ever measured. */
static bool s_browser_sign_in(void)
{
    char pw[64], cmd[1400];
    snprintf(pw, sizeof pw, "bench-live-%d-%lld", (int)getpid(), (long long)hb_mono_ms());
    snprintf(cmd, sizeof cmd, "'%s' users passwd bench --data '%s/data' >/dev/null 2>&1", s_opt.hqd,
             s_opt.root);
    FILE *p = popen(cmd, "w");
    if (!p || fprintf(p, "%s\n", pw) < 0 || pclose(p) != 0) {
        printf("dashboard: cannot give the bench's admin a password (%s): not measured\n", cmd);
        return false;
    }
    char url[128], script[512];
    snprintf(url, sizeof url, "%s/", s_opt.http);
    json_decref(s_wd_call("POST", "/url", json_pack("{s:s}", "url", url)));
    snprintf(script, sizeof script,
             "var x = new XMLHttpRequest(); x.open('POST', '/v1/login', false);"
             "x.setRequestHeader('Content-Type', 'application/json');"
             "x.send(JSON.stringify({name: 'bench', password: '%s'})); return x.status;",
             pw);
    json_t *st =
        s_wd_call("POST", "/execute/sync", json_pack("{s:s, s:[]}", "script", script, "args"));
    int status = json_is_integer(st) ? (int)json_integer_value(st) : 0;
    json_decref(st);
    if (status != 200)
        printf("dashboard: signing in as bench answered %d: not measured\n", status);
    return status == 200;
}

/* The page's own account of its last measured load (--page-trace): each
 * request and mark, in the order they started, as milliseconds since the
 * navigation began, so that what the first paint waited for can be read. */
static char *s_page_trace;

static const char s_trace_js[] =
    "const n = performance.getEntriesByType('navigation')[0];"
    "const rows = [['page', 0, n ? n.responseEnd : 0]];"
    "for (const r of performance.getEntriesByType('resource'))"
    "  rows.push([r.name.replace(location.origin, ''), r.startTime, r.responseEnd]);"
    "for (const m of performance.getEntriesByType('mark'))"
    "  rows.push(['mark ' + m.name, m.startTime, m.startTime]);"
    "if (n) rows.push(['dom interactive', n.domInteractive, n.domInteractive]);"
    "rows.sort((a, b) => a[1] - b[1]);"
    "return rows.map((r) => r[1].toFixed(1).padStart(8) + ' ' + r[2].toFixed(1).padStart(8) + "
    "'  ' + r[0]).join('\\n');";

static void s_page_trace_keep(void)
{
    json_t *v =
        s_wd_call("POST", "/execute/sync", json_pack("{s:s, s:[]}", "script", s_trace_js, "args"));
    if (json_is_string(v)) {
        free(s_page_trace);
        s_page_trace = strdup(json_string_value(v));
    }
    json_decref(v);
}

static void s_browser_load(void)
{
    char url[128];
    snprintf(url, sizeof url, "%s/", s_opt.http);
    json_decref(s_wd_call("POST", "/url", json_pack("{s:s}", "url", url)));
    int64_t deadline = hb_mono_ms() + 30000;
    while (hb_mono_ms() < deadline) {
        json_t *t = s_wd_call("POST", "/execute/sync",
                              json_pack("{s:s, s:[]}", "script",
                                        "return window.hbDashboard && window.hbDashboard.ready ? "
                                        "window.hbDashboard.timing : null;",
                                        "args"));
        if (json_is_object(t)) {
            samples_add(&s_page_data, json_number_value(json_object_get(t, "dataLoadedMs")));
            samples_add(&s_page_render, json_number_value(json_object_get(t, "firstRenderMs")));
            json_decref(t);
            if (s_opt.page_trace)
                s_page_trace_keep();
            return;
        }
        json_decref(t);
        usleep(20000);
    }
    printf("dashboard: the page did not finish its first render within 30 s\n");
}

static void s_browser_stop(void)
{
    if (s_session[0])
        json_decref(s_wd_call("DELETE", "", NULL));
    if (s_driver > 0) {
        kill(s_driver, SIGTERM);
        waitpid(s_driver, NULL, 0);
    }
}

/* ---------------------------------------------------------- the halls */

static void s_fetch(hall_t *h)
{
    json_decref(h->pending);
    h->pending = NULL;
    if (h->done)
        return;
    if (hb_sim_next(h->sim, &h->pending_at, &h->pending) != 0) {
        h->pending = NULL;
        h->done = true;
    }
}

static void s_drain(hall_t *h, uint64_t *acked)
{
    for (;;) {
        Hallbus__Frame *f = simlink_recv_frame(h->sock);
        if (!f)
            return;
        if (f->kind_case == HALLBUS__FRAME__KIND_WELCOME) {
            h->welcomed = true;
            h->acked = f->welcome->committed_seq;
            h->next_seq = h->acked + 1;
        } else if (f->kind_case == HALLBUS__FRAME__KIND_ACK && f->ack->committed_seq > h->acked) {
            *acked += f->ack->committed_seq - h->acked;
            h->acked = f->ack->committed_seq;
        }
        hb_frame_free(f);
    }
}

/* Sends the hall's events that are due by simulated time `sim_now`. */
static int s_send_due(hall_t *h, int64_t sim_now, int64_t wall)
{
    ProtobufCBinaryData items[BATCH_MAX];
    int n = 0;
    while (n < BATCH_MAX && h->pending && h->pending_at <= sim_now &&
           h->next_seq + (uint64_t)n - 1 - h->acked < WINDOW) {
        json_object_del(h->pending, "at"); /* stamped with the real clock */
        Hallbus__Envelope *env = NULL;
        char err[256];
        if (hb_event_from_json(h->pending, wall, 0, &env, err, sizeof err) == 0) {
            env->seq = h->next_seq + (uint64_t)n;
            if (hb_envelope_pack(env, &items[n].data, &items[n].len) == 0)
                n++;
            hb_envelope_free(env);
        }
        s_fetch(h);
    }
    if (n == 0)
        return 0;
    int rc = simlink_send_batch(h->sock, items, (size_t)n);
    if (rc == 0)
        h->next_seq += (uint64_t)n;
    return rc == 0 ? n : 0;
}

/* ------------------------------------------------------------ workers */

#define HALLS_PER_WORKER 4000

typedef struct worker {
    int lo, hi; /* halls lo..hi-1 */
    pid_t pid;
    int to[2], from[2]; /* pipes: parent -> worker ("go"), worker -> parent (figures) */
    FILE *in;
} worker_t;

/* A worker's life: connect its halls, say how many were welcomed ("W n 0"),
 * wait for "go", play their day for --seconds, say "S sent acked". */
static void s_worker_run(worker_t *wk, const hb_cert_t *hq, const char *endpoint)
{
    int n = wk->hi - wk->lo;
    void *ctx = simlink_worker_ctx(200000);
    hall_t *halls = calloc((size_t)n, sizeof *halls);
    FILE *out = fdopen(wk->from[1], "w");
    int64_t open_ms = hb_now_ms();
    for (int i = 0; i < n; i++) {
        hall_t *h = &halls[i];
        snprintf(h->id, sizeof h->id, "B%05d", wk->lo + i);
        h->sock = simlink_connect(ctx, s_opt.root, hq, endpoint, h->id);
        h->sim = hb_sim_hall_new(20261202, wk->lo + i, open_ms);
        if (!h->sock || !h->sim) {
            fprintf(stderr, "bench_live: cannot set up hall %s (%s)\n", h->id,
                    !h->sim ? "out of memory" : zmq_strerror(zmq_errno()));
            _exit(1);
        }
        h->next_seq = 1;
        s_fetch(h);
    }
    int64_t deadline = hb_mono_ms() + 120000;
    int welcomed = 0;
    uint64_t acked = 0;
    while (welcomed < n && hb_mono_ms() < deadline) {
        welcomed = 0;
        for (int i = 0; i < n; i++) {
            s_drain(&halls[i], &acked);
            if (halls[i].welcomed)
                welcomed++;
            else if (hb_mono_ms() - halls[i].hello_ms >= 2000) {
                /* Every 2 s, not every turn: Hellos queued behind a slow
                 * handshake would all be answered at once. */
                simlink_send_hello(halls[i].sock);
                halls[i].hello_ms = hb_mono_ms();
            }
        }
        usleep(100000);
    }
    fprintf(out, "W %d 0\n", welcomed);
    fflush(out);
    char go[8];
    if (read(wk->to[0], go, sizeof go) <= 0)
        _exit(1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < n; i++)
        simlink_watch(ep, halls[i].sock, (uint32_t)i);
    int64_t t0 = hb_mono_ms(), end = t0 + s_opt.seconds * 1000LL;
    uint64_t sent = 0;
    acked = 0;
    struct epoll_event evs[256];
    while (hb_mono_ms() < end) {
        int64_t now = hb_mono_ms(), wall = hb_now_ms();
        int64_t sim_now = open_ms + (int64_t)((double)(now - t0) * s_opt.speed);
        for (int i = 0; i < n; i++) {
            hall_t *h = &halls[i];
            if (!h->welcomed || !h->pending || h->pending_at > sim_now)
                continue;
            int k = s_send_due(h, sim_now, wall);
            sent += (uint64_t)k;
            if (k)
                s_drain(h, &acked);
        }
        int k = epoll_wait(ep, evs, 256, 5);
        for (int e = 0; e < k; e++)
            s_drain(&halls[evs[e].data.u32], &acked);
    }
    fprintf(out, "S %llu %llu\n", (unsigned long long)sent, (unsigned long long)acked);
    fflush(out);
    close(ep);
    for (int i = 0; i < n; i++) {
        zmq_close(halls[i].sock);
        json_decref(halls[i].pending);
        hb_sim_hall_destroy(&halls[i].sim);
    }
    zmq_ctx_term(ctx);
    free(halls);
    _exit(0);
}

static int s_worker_start(worker_t *wk, const hb_cert_t *hq, const char *endpoint)
{
    if (pipe(wk->to) != 0 || pipe(wk->from) != 0)
        return -1;
    fflush(NULL);
    wk->pid = fork();
    if (wk->pid < 0)
        return -1;
    if (wk->pid == 0) {
        close(wk->to[1]);
        close(wk->from[0]);
        s_worker_run(wk, hq, endpoint);
    }
    close(wk->to[0]);
    close(wk->from[1]);
    wk->in = fdopen(wk->from[0], "r");
    return wk->in ? 0 : -1;
}

static int s_worker_read(worker_t *wk, char tag, uint64_t *a, uint64_t *b)
{
    char line[128];
    unsigned long long x, y;
    char t;
    if (!fgets(line, sizeof line, wk->in) || sscanf(line, "%c %llu %llu", &t, &x, &y) != 3 ||
        t != tag) {
        fprintf(stderr, "bench_live: worker for halls %d..%d gave no figures\n", wk->lo,
                wk->hi - 1);
        return -1;
    }
    *a = x;
    *b = y;
    return 0;
}

static void s_worker_go(worker_t *wk)
{
    if (write(wk->to[1], "go", 2) != 2)
        fprintf(stderr, "bench_live: cannot start worker %d\n", wk->lo);
}

/* ------------------------------------------------------------- set-up */

static int s_place_halls(void)
{
    size_t cap = (size_t)s_opt.halls * 80 + 65536;
    char *doc = malloc(cap);
    size_t used = (size_t)snprintf(doc, cap,
                                   "{\"regions\":[{\"id\":\"CN\",\"name\":\"Head office\","
                                   "\"level\":\"national\"}");
    for (int p = 0; p < 30; p++)
        used +=
            (size_t)snprintf(doc + used, cap - used,
                             ",{\"id\":\"P%02d\",\"name\":\"Province %d\",\"level\":\"province\","
                             "\"parent\":\"CN\"}",
                             p, p);
    for (int c = 0; c < 300; c++)
        used += (size_t)snprintf(doc + used, cap - used,
                                 ",{\"id\":\"C%03d\",\"name\":\"City %d\",\"level\":\"city\","
                                 "\"parent\":\"P%02d\"}",
                                 c, c, c / 10);
    used += (size_t)snprintf(doc + used, cap - used, "],\"halls\":[");
    for (int i = 0; i < s_opt.halls; i++)
        used += (size_t)snprintf(doc + used, cap - used, "%s{\"id\":\"B%05d\",\"city\":\"C%03d\"}",
                                 i ? "," : "", i, i % 300);
    snprintf(doc + used, cap - used, "]}");
    double ms;
    int status = s_http("PUT", "/v1/org", doc, &ms, NULL);
    free(doc);
    printf("bench_live: %d halls placed in 30 provinces and 300 cities (%.0f ms)\n", s_opt.halls,
           ms);
    if (status != 200)
        return -1;
    const char *policy =
        "{\"timezone\":\"UTC\",\"opening_hours\":{\"mon\":[\"00:00-24:00\"],\"tue\":[\"00:00-24:"
        "00\"],"
        "\"wed\":[\"00:00-24:00\"],\"thu\":[\"00:00-24:00\"],\"fri\":[\"00:00-24:00\"],"
        "\"sat\":[\"00:00-24:00\"],\"sun\":[\"00:00-24:00\"]}}";
    if (s_http("PUT", "/v1/policies/national", policy, NULL, NULL) != 200 ||
        s_http("POST", "/v1/policies/publish", "{}", NULL, NULL) != 200)
        return -1;
    return 0;
}

static void s_print_hq(void)
{
    hb_httpc_resp_t r;
    char err[128];
    hb_httpc_opts_t http = s_opt.http_opts;
    http.timeout_ms = 10000;
    if (hb_httpc_call(s_opt.http, "GET", "/v1/status", NULL, &http, &r, err, sizeof err) != 0)
        return;
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    json_t *w = json_object_get(j, "writer"), *l = json_object_get(j, "live"),
           *b = json_object_get(j, "board");
    printf("HQ: %lld halls online; writer %lld events in %lld commits, commit avg %.2f ms, max "
           "%.2f ms\n",
           (long long)json_integer_value(json_object_get(j, "online")),
           (long long)json_integer_value(json_object_get(w, "events")),
           (long long)json_integer_value(json_object_get(w, "commits")),
           json_real_value(json_object_get(w, "avg_commit_ms")),
           json_real_value(json_object_get(w, "max_commit_ms")));
    printf("HQ: mirror applied %lld events (%lld anomalies); board %lld tiles published, last "
           "round %.1f ms\n",
           (long long)json_integer_value(json_object_get(l, "events")),
           (long long)json_integer_value(json_object_get(l, "anomalies")),
           (long long)json_integer_value(json_object_get(b, "tiles_published")),
           json_real_value(json_object_get(b, "last_round_ms")));
    json_t *al = json_object_get(j, "alerts");
    printf("HQ: alerts %lld open in %lld halls (%lld raised, %lld cleared); alert round max %.1f "
           "ms, alert commit max %.1f ms; board round max %.1f ms\n",
           (long long)json_integer_value(json_object_get(al, "open")),
           (long long)json_integer_value(json_object_get(al, "halls_alerting")),
           (long long)json_integer_value(json_object_get(al, "raised")),
           (long long)json_integer_value(json_object_get(al, "cleared")),
           json_real_value(json_object_get(al, "max_round_ms")),
           json_real_value(json_object_get(al, "max_commit_ms")),
           json_real_value(json_object_get(b, "max_round_ms")));
    json_decref(j);
    hb_httpc_resp_free(&r);
}

int main(int argc, char **argv)
{
    static settings_t set;
    int rc = bench_cli_read(&s_cli, &set, argc, argv);
    if (rc >= 0)
        return rc; /* --help, --version, or refused */
    s_opt.halls = (int)set.halls;
    s_opt.seconds = (int)set.seconds;
    s_opt.speed = set.speed;
    s_opt.hqd = set.hqd;
    s_opt.http_opts.token = set.token;
    if (!s_opt.hqd)
        s_opt.hqd = simlink_default_hqd();
    snprintf(s_opt.root, sizeof s_opt.root, "/tmp/hb-bench-live-XXXXXX");
    int zport = 19400 + getpid() % 500, hport = zport + 500;
    s_opt.dashboard = set.dashboard;
    s_opt.page_trace = set.page_trace;
    /* hqd reads the dashboard's folder at start: another folder serves
     * another version of the page to the same hqd. */
    const char *extra[] = {
        "--max_body",    "32M", "--offline_after", "1h", s_opt.dashboard ? "--dashboard" : NULL,
        s_opt.dashboard, NULL};
    hb_cert_t hq;
    pid_t hqd = simlink_hqd_up("bench_live", s_opt.hqd, s_opt.root, zport, hport, extra,
                               &s_opt.http_opts, s_opt.http, sizeof s_opt.http, &hq);
    if (hqd < 0)
        return 1;
    if (s_place_halls() != 0) {
        kill(hqd, SIGKILL);
        return 1;
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", zport);
    /* A ZeroMQ socket takes two descriptors or so, and a common limit is
     * 20,000 a process: the halls are spread over worker processes. */
    int workers = (s_opt.halls + HALLS_PER_WORKER - 1) / HALLS_PER_WORKER;
    worker_t *ws = calloc((size_t)workers, sizeof *ws);
    for (int k = 0; k < workers; k++) {
        ws[k].lo = k * HALLS_PER_WORKER;
        ws[k].hi =
            ws[k].lo + HALLS_PER_WORKER < s_opt.halls ? ws[k].lo + HALLS_PER_WORKER : s_opt.halls;
        if (s_worker_start(&ws[k], &hq, endpoint) != 0)
            return 1;
    }
    int welcomed = 0;
    for (int k = 0; k < workers; k++) {
        uint64_t a = 0, b = 0;
        if (s_worker_read(&ws[k], 'W', &a, &b) == 0)
            welcomed += (int)a;
    }
    printf("bench_live: %d of %d halls connected over CURVE and welcomed (%d worker processes)\n",
           welcomed, s_opt.halls, workers);
    bool browser = s_browser_start() && s_browser_sign_in();
    pthread_t reader;
    pthread_create(&reader, NULL, s_reader, browser ? (void *)1 : NULL);
    int64_t t0 = hb_mono_ms();
    for (int k = 0; k < workers; k++)
        s_worker_go(&ws[k]);
    uint64_t sent = 0, acked = 0;
    for (int k = 0; k < workers; k++) {
        uint64_t a = 0, b = 0;
        if (s_worker_read(&ws[k], 'S', &a, &b) == 0) {
            sent += a;
            acked += b;
        }
        waitpid(ws[k].pid, NULL, 0);
    }
    s_stop = 1;
    pthread_join(reader, NULL);
    double secs = (double)(hb_mono_ms() - t0) / 1000.0;
    samples_sort(&s_regions);
    samples_sort(&s_first_load);
    samples_sort(&s_page_data);
    samples_sort(&s_page_render);
    printf("traffic: %d halls, %.1f s at %.0fx: %llu events sent (%.0f/s), %llu acknowledged\n",
           s_opt.halls, secs, s_opt.speed, (unsigned long long)sent, (double)sent / secs,
           (unsigned long long)acked);
    printf("GET /v1/regions (30 provinces, 300 cities) over %zu requests during the traffic: "
           "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           s_regions.n, samples_pct(&s_regions, 0.50), samples_pct(&s_regions, 0.99),
           samples_pct(&s_regions, 1.0));
    printf("the network's first load (GET /v1/live/halls, every tile, %zu bytes) over %zu loads: "
           "p50 %.1f ms, max %.1f ms\n",
           s_first_load_bytes, s_first_load.n, samples_pct(&s_first_load, 0.50),
           samples_pct(&s_first_load, 1.0));
    if (browser)
        printf("the dashboard's first load in headless Chromium over %zu loads: every tile in at "
               "p50 %.0f ms (max %.0f), the network view painted at p50 %.0f ms (max %.0f)\n",
               s_page_render.n, samples_pct(&s_page_data, 0.5), samples_pct(&s_page_data, 1.0),
               samples_pct(&s_page_render, 0.5), samples_pct(&s_page_render, 1.0));
    if (s_page_trace)
        printf("the page's last measured load (ms since navigation: start, end, what):\n%s\n",
               s_page_trace);
    free(s_page_trace);
    s_browser_stop();
    s_print_hq();
    free(ws);
    simlink_hqd_down("bench_live", hqd, s_opt.root);
    bench_cli_free(&s_cli, &set);
    return 0;
}
