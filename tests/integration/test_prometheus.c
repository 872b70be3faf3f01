/* /metrics as Prometheus reads it, from a real hqd and a real branchd after
 * real traffic: the ack latency counts each stored batch once (and not a
 * resend), the halls by state follow a hall online, blocked, revoked and
 * offline; both answers parse with the Prometheus client's parser and hold
 * the format's rules (tests/support/promcheck.py: histograms cumulative up
 * to +Inf equal to _count, units in names, no series twice) and pass
 * `promtool check metrics`; the checker refuses expositions that break each
 * rule; the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`); the Grafana dashboard's every expression parses
 * with Prometheus's parser and names only metrics the daemons export; the
 * example scrape configuration passes `promtool check config`.
 *
 * Needs Debian's python3-prometheus-client and python3-yaml, and promtool
 * (deploy/install-deps.sh installs them); fails, never skips, without. */
#include "world.h"

#include "hallbus/codec.h"
#include "hallbus/httpc.h"

#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner.h"

#define PYTHON "/usr/bin/python3"
#define PROMCHECK HB_SOURCE_DIR "/tests/support/promcheck.py"
#define RULES HB_SOURCE_DIR "/deploy/prometheus/hallbus-rules.yml"
#define RULES_TEST HB_SOURCE_DIR "/tests/support/hallbus-rules.test.yml"
#define SCRAPE_CONFIG HB_SOURCE_DIR "/deploy/prometheus/prometheus.yml"
#define DASHBOARD HB_SOURCE_DIR "/deploy/grafana/hallbus.json"
#define OUT_MAX 65536

/* hqd (halls go offline two seconds after they fall silent) and two
 * halls enrolled: A, a branchd the tests start; R, spoken for by the test,
 * frame by frame. */
static const hbt_world_spec_t s_world = {
    .tag = "metrics", .halls = {"MA", "MR"}, .hq_args = {"--offline_after", "2s"}};
enum { A, R };

/* Where the scrapes are written for the checkers, and promtool's path
 * ("" when it is missing). */
static struct {
    char hq_scrape[320], hall_scrape[320];
    char promtool[64];
} s_files;

static int s_setup(void **state)
{
    *state = (void *)&s_world;
    hbt_world_setup(state);
    hbt_world_t *w = *state;
    snprintf(s_files.hq_scrape, sizeof s_files.hq_scrape, "%s/hq.metrics", w->root);
    snprintf(s_files.hall_scrape, sizeof s_files.hall_scrape, "%s/hall.metrics", w->root);
    static const char *const where[] = {"/usr/local/bin/promtool", "/usr/bin/promtool"};
    for (size_t i = 0; i < sizeof where / sizeof where[0] && !s_files.promtool[0]; i++)
        if (access(where[i], X_OK) == 0)
            snprintf(s_files.promtool, sizeof s_files.promtool, "%s", where[i]);
    return 0;
}

/* GET /metrics: the body (malloc'd), after asserting 200 and the type.
 * With the token the harness registered for `base` (HQ's admin: /metrics
 * needs status.read over the whole network). */
static char *s_scrape(const char *base)
{
    hb_httpc_resp_t resp;
    assert_int_equal(hbt_http_raw(base, "GET", "/metrics", NULL, &resp), 0);
    assert_int_equal(resp.status, 200);
    char *body = resp.body;
    resp.body = NULL;
    hb_httpc_resp_free(&resp);
    return body;
}

static double s_metric(const char *base, const char *sample)
{
    char *t = s_scrape(base);
    double v = hbt_sample(t, sample);
    free(t);
    return v;
}

/* Polls until `sample` equals `want`; the last value seen. */
static double s_wait_metric(const char *base, const char *sample, double want, int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms;
    double v;
    for (;;) {
        v = s_metric(base, sample);
        if (v == want || hbt_now_ms() > deadline)
            return v;
        hbt_sleep_ms(50);
    }
}

/* Runs BIN with the arguments after it up to the first NULL; its exit
 * status, its output in `out` (OUT_MAX bytes). */
#define s_run(out, ...) hbt_run_args((out), OUT_MAX, __VA_ARGS__, (const char *)NULL)

static void s_need_tools(void)
{
    char out[256];
    if (hbt_run_args(out, sizeof out, PYTHON, "-c", "import prometheus_client.parser, yaml",
                     (const char *)NULL) != 0)
        fail_msg("%s cannot import prometheus_client and yaml (python3-prometheus-client, "
                 "python3-yaml): run deploy/install-deps.sh. %s",
                 PYTHON, out);
    if (!s_files.promtool[0])
        fail_msg("promtool is missing: run deploy/install-deps.sh");
}

#define ACK_COUNT "hallbus_hq_ack_latency_seconds_count"
#define STATE(s) "hallbus_hq_halls_by_state{state=\"" s "\"}"

HBT_GROUP(s_setup, hbt_world_teardown);
#define HBT_FIXTURE NULL, NULL

/* Acks of a raw hall: each stored batch is timed once, from its arrival to
 * its ack; a resend is acknowledged but not timed. Its link state moves
 * through online, blocked (HQ refuses what it sends), online, revoked
 * (its key removed) and, silent, offline; each hall always in one state. */
HBT_TEST(test_ack_latency_and_link_states)
{
    hbt_world_t *w = *state;
    const char *hq = w->hq.http;
    assert_true(s_metric(hq, ACK_COUNT) == 0);
    assert_true(s_metric(hq, "hallbus_hq_commit_duration_seconds_count") == 0);
    hbt_raw_t *raw = hbt_raw_fresh(w->hq.endpoint, w->hall[R].dir);
    int64_t t0 = hbt_now_us();
    const int64_t at = (int64_t)time(NULL) * 1000; /* the resend below sends the same bytes */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(hbt_raw_send_acked(raw, (uint64_t)(3 * i + 1), 3, at), 3 * i + 3);
    }
    double took = (double)(hbt_now_us() - t0) / 1e6;
    char *t = s_scrape(hq);
    assert_true(hbt_sample(t, ACK_COUNT) == 5);
    /* Each timed ack is part of what the test waited for. */
    double sum = hbt_sample(t, "hallbus_hq_ack_latency_seconds_sum");
    assert_true(sum > 0 && sum <= took);
    assert_true(hbt_sample(t, "hallbus_hq_ack_latency_seconds_bucket{le=\"+Inf\"}") == 5);
    assert_true(hbt_sample(t, STATE("online")) == 1);
    assert_true(hbt_sample(t, "hallbus_hq_halls") == 1);
    free(t);
    /* Every commit is timed, failed ones too. The writer counts a commit
     * just after handing on its acks, so the two may differ for a moment. */
    double commits = 0, timed = -1;
    for (int64_t until = hbt_now_ms() + 3000; commits != timed && hbt_now_ms() < until;) {
        t = s_scrape(hq);
        commits = hbt_sample(t, "hallbus_hq_writer_commits_total") +
                  hbt_sample(t, "hallbus_hq_writer_failures_total");
        timed = hbt_sample(t, "hallbus_hq_commit_duration_seconds_count");
        free(t);
    }
    assert_true(commits >= 5);
    assert_true(timed == commits);
    /* The mirror applies every committed batch once, a little later. */
    assert_true(s_wait_metric(hq, "hallbus_hq_mirror_lag_seconds_count", 5, 5000) == 5);

    /* A resend of what HQ holds (the same bytes, whenever it is sent):
     * acknowledged again, not timed again. */
    assert_int_equal(hbt_raw_send_acked(raw, 1, 3, at), 15);
    t = s_scrape(hq);
    assert_true(hbt_sample(t, ACK_COUNT) == 5);
    assert_true(hbt_sample(t, "hallbus_hq_events_duplicate_total") == 3);
    free(t);
    /* The rollups fold each stored batch once too, and time each once its
     * fold has committed (the resend is not folded again). */
    assert_true(s_wait_metric(hq, "hallbus_hq_rollup_lag_seconds_count", 5, 10000) == 5);

    /* Bytes that are no frame: refused, and the hall's link is blocked. */
    static const uint8_t junk[] = {0xff, 0xfe, 0x01, 0x02, 0x03};
    assert_int_equal(hbt_raw_send_bytes(raw, junk, sizeof junk), 0);
    Hallbus__Frame *rej = hbt_raw_expect(raw, HALLBUS__FRAME__KIND_REJECT, 5000);
    assert_non_null(rej);
    hb_frame_free(rej);
    t = s_scrape(hq);
    assert_true(hbt_sample(t, STATE("blocked")) == 1);
    assert_true(hbt_sample(t, STATE("online")) == 0);
    assert_true(hbt_sample(t, "hallbus_hq_refused_total{reason=\"malformed\"}") == 1);
    free(t);
    /* The next good batch is taken: online again, and timed. */
    assert_int_equal(hbt_raw_send_acked(raw, 16, 2, 0), 17);
    t = s_scrape(hq);
    assert_true(hbt_sample(t, STATE("blocked")) == 0);
    assert_true(hbt_sample(t, STATE("online")) == 1);
    assert_true(hbt_sample(t, ACK_COUNT) == 6);
    free(t);

    /* Its certificate removed at head office: its next message finds the
     * key revoked, and so does the state. */
    char cert[400];
    snprintf(cert, sizeof cert, "%s/halls/%s.key", w->hq.keys, w->hall[R].id);
    struct stat sb;
    if (stat(cert, &sb) != 0)
        fail_msg("no certificate at %s to revoke the hall with", cert);
    assert_int_equal(unlink(cert), 0);
    int64_t deadline = hbt_now_ms() + 5000;
    double revoked = 0;
    while (revoked != 1 && hbt_now_ms() < deadline) {
        hbt_raw_send_batch(raw, 18, 1);
        hbt_sleep_ms(100);
        revoked = s_metric(hq, STATE("revoked"));
    }
    assert_true(revoked == 1);
    hbt_raw_close(&raw);

    /* Hall MA's branchd comes and stays; nothing is heard of MR any more,
     * which stays revoked: HQ knows no more than that. */
    hbt_hall_start(&w->hall[A]);
    assert_true(s_wait_metric(hq, STATE("online"), 1, 10000) == 1);
    t = s_scrape(hq);
    double sum_states = hbt_sample(t, STATE("online")) + hbt_sample(t, STATE("offline")) +
                        hbt_sample(t, STATE("blocked")) + hbt_sample(t, STATE("revoked"));
    assert_true(sum_states == hbt_sample(t, "hallbus_hq_halls"));
    assert_true(hbt_sample(t, "hallbus_hq_halls") == 2);
    free(t);
    /* MA stops: offline two seconds later (offline_after). */
    hbt_hall_stop(&w->hall[A], SIGTERM);
    assert_true(s_wait_metric(hq, STATE("offline"), 1, 6000) == 1);
    assert_true(s_metric(hq, STATE("online")) == 0);
}

/* Traffic on both daemons, then both answers through the checker and
 * promtool's linter. */
HBT_TEST(test_scrapes_parse_and_hold)
{
    hbt_world_t *w = *state;
    s_need_tools();
    hbt_hall_start(&w->hall[A]);
    hbt_hall_post(&w->hall[A], 400, 1);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[A], 20000));
    /* Requests of every class on both: answered, refused, not found. */
    assert_int_equal(hbt_http(w->hq.http, "GET", "/v1/halls/MA", NULL, NULL), 200);
    assert_int_equal(hbt_http(w->hq.http, "GET", "/v1/halls/nobody", NULL, NULL), 404);
    assert_int_equal(hbt_http(w->hq.http, "GET", "/v1/status", NULL, NULL), 200);
    assert_int_equal(hbt_http(w->hall[A].http, "GET", "/v1/status", NULL, NULL), 200);
    assert_int_equal(hbt_http(w->hall[A].http, "POST", "/v1/events", "not json", NULL), 400);

    char *hq = s_scrape(w->hq.http);
    char *hall = s_scrape(w->hall[A].http);
    hbt_write_file(s_files.hq_scrape, hq);
    hbt_write_file(s_files.hall_scrape, hall);
    /* What the traffic must have recorded. */
    assert_true(hbt_sample(hq, "hallbus_hq_http_request_duration_seconds_count{method=\"GET\","
                               "route=\"/v1/halls/:hall\",code=\"2xx\"}") >= 1);
    assert_true(hbt_sample(hq, "hallbus_hq_http_request_duration_seconds_count{method=\"GET\","
                               "route=\"/v1/halls/:hall\",code=\"4xx\"}") >= 1);
    assert_null(strstr(hq, "route=\"/v1/halls/MA\""));
    assert_true(hbt_sample(hq, ACK_COUNT) > 6);
    assert_true(hbt_sample(hall, "hallbus_hall_outbox_commit_duration_seconds_count") >= 1);
    assert_true(hbt_sample(hall, "hallbus_hall_http_request_duration_seconds_count{method=\"GET\","
                                 "route=\"/v1/status\",code=\"2xx\"}") >= 1);
    assert_true(hbt_sample(hall, "hallbus_hall_http_request_duration_seconds_count{method=\"POST\","
                                 "route=\"/v1/events\",code=\"4xx\"}") == 1);
    static const char *const process[] = {
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
        "process_max_fds",           "process_start_time_seconds",
    };
    for (size_t i = 0; i < sizeof process / sizeof process[0]; i++) {
        assert_true(hbt_sample(hq, process[i]) > 0);
        assert_true(hbt_sample(hall, process[i]) > 0);
    }
    assert_true(hbt_sample(hq, "hallbus_hq_disk_avail_bytes") > 0);
    assert_true(hbt_sample(hall, "hallbus_hall_disk_size_bytes") > 0);
    assert_true(hbt_sample(hq, "hallbus_hq_alerts_open{kind=\"hall_offline\"}") >= 0);
    assert_non_null(strstr(hq, "hallbus_build_info{version=\""));
    free(hq);
    free(hall);

    char *out = malloc(OUT_MAX);
    int rc = s_run(out, PYTHON, PROMCHECK, "exposition", s_files.hq_scrape, s_files.hall_scrape,
                   NULL, NULL);
    fprintf(stderr, "%s", out);
    if (rc != 0)
        fail_msg("promcheck exposition: %d\n%s", rc, out);
    const char *files[] = {s_files.hq_scrape, s_files.hall_scrape};
    for (size_t i = 0; i < 2; i++) {
        char cmd[800];
        snprintf(cmd, sizeof cmd, "'%s' check metrics < '%s'", s_files.promtool, files[i]);
        rc = s_run(out, "/bin/sh", "-c", cmd, NULL, NULL, NULL);
        if (rc != 0)
            fail_msg("promtool check metrics %s: %d\n%s", files[i], rc, out);
    }
    free(out);
}

/* One broken exposition per rule, each refused by the checker with the
 * problem named. */
HBT_TEST(test_checker_refuses)
{
    hbt_world_t *w = *state;
    s_need_tools();
#define H(n, t) "# HELP " n " h\n# TYPE " n " " t "\n"
#define HIST(n, b1, b2, inf, sum, count)                                                           \
    H(n, "histogram")                                                                              \
    n "_bucket{le=\"0.1\"} " b1 "\n" n "_bucket{le=\"1\"} " b2 "\n" n "_bucket{le=\"+Inf\"} " inf  \
      "\n" n "_sum " sum "\n" n "_count " count "\n"
    static const struct {
        const char *text, *problem;
    } bad[] = {
        {H("a_total", "counter") "a_total 1\na_total{x=\"y\" 2\n", "does not parse"},
        {H("a_total", "counter") "a_total 1\na_total 2\n", "the same series twice"},
        {H("a", "counter") "a 1\n", "does not end in _total"},
        {H("a_total", "gauge") "a_total 1\n", "ends in _total"},
        {HIST("x_seconds", "3", "2", "4", "1", "4"), "not cumulative"},
        {HIST("x_seconds", "1", "2", "4", "1", "5"), "+Inf bucket 4 but _count 5"},
        {H("x_seconds", "histogram") "x_seconds_bucket{le=\"1\"} 1\nx_seconds_sum 1\n"
                                     "x_seconds_count 1\n",
         "the last bucket is not le=\"+Inf\""},
        {H("x_seconds", "histogram") "x_seconds_bucket{le=\"+Inf\"} 1\nx_seconds_count 1\n",
         "no _sum"},
        {HIST("x", "1", "2", "3", "1", "3"), "does not end in its unit"},
        {H("commit_ms", "gauge") "commit_ms 3\n", "'ms' in a name"},
        {H("x_max_bytes", "gauge") "x_max_bytes 3\n", "'max' in a name"},
        {H("commit_seconds_last", "gauge") "commit_seconds_last 3\n", "'last' in a name"},
        {H("disk_bytes_free", "gauge") "disk_bytes_free 3\n", "the unit 'bytes' must end"},
        {H("b_info", "gauge") "b_info{v=\"1\"} 2\n", "an info gauge at 2"},
        {"b 1\n", "samples without a TYPE"},
        {H("a_total", "counter") "a_total 1\n" H("a_total", "counter"), "TYPE of a_total a second"},
        {HIST("x_seconds", "1", "2", "3", "1",
              "3") "x_seconds_bucket{k=\"v\",le=\"0.5\"} 1\nx_seconds_bucket{k=\"v\",le=\"+Inf\"} "
                   "1\n"
                   "x_seconds_sum{k=\"v\"} 1\nx_seconds_count{k=\"v\"} 1\n",
         "other buckets than the family's"},
    };
#undef HIST
#undef H
    char path[400];
    snprintf(path, sizeof path, "%s/bad.metrics", w->root);
    char *out = malloc(OUT_MAX);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hbt_write_file(path, bad[i].text);
        int rc = s_run(out, PYTHON, PROMCHECK, "exposition", path, NULL, NULL, NULL);
        if (rc != 1 || !strstr(out, bad[i].problem))
            fail_msg("case %zu: exit %d, expected 1 and \"%s\":\n%s\n---\n%s", i, rc,
                     bad[i].problem, bad[i].text, out);
    }
    /* And a good one passes, so the refusals above are the cases' own:
     * "last" and "max" where they are what is counted are no aggregates. */
    hbt_write_file(path, "# HELP a_total h\n# TYPE a_total counter\na_total 1\n"
                         "# HELP outbox_last_seq h\n# TYPE outbox_last_seq gauge\n"
                         "outbox_last_seq 7\n# HELP process_max_fds h\n"
                         "# TYPE process_max_fds gauge\nprocess_max_fds 1024\n");
    assert_int_equal(s_run(out, PYTHON, PROMCHECK, "exposition", path, NULL, NULL, NULL), 0);
    free(out);
}

HBT_TEST(test_rules)
{
    hbt_world_t *w = *state;
    s_need_tools();
    assert_true(access(s_files.hq_scrape, R_OK) == 0); /* test_scrapes_parse_and_hold's */
    char *out = malloc(OUT_MAX);
    int rc = s_run(out, s_files.promtool, "check", "rules", RULES, NULL, NULL);
    if (rc != 0)
        fail_msg("promtool check rules: %d\n%s", rc, out);
    rc = s_run(out, s_files.promtool, "test", "rules", RULES_TEST, NULL, NULL);
    fprintf(stderr, "%s", out);
    if (rc != 0)
        fail_msg("promtool test rules: %d\n%s", rc, out);
    rc =
        s_run(out, PYTHON, PROMCHECK, "rules", RULES, s_files.hq_scrape, s_files.hall_scrape, NULL);
    fprintf(stderr, "%s", out);
    if (rc != 0)
        fail_msg("promcheck rules: %d\n%s", rc, out);
    /* A rule reading a metric nobody exports is caught. */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad-rules.yml", w->root);
    hbt_write_file(bad, "groups:\n  - name: g\n    rules:\n      - alert: HallbusHQDown\n"
                        "        expr: hallbus_hq_commit_seconds_max > 1\n        for: 1m\n"
                        "        labels: {severity: critical}\n"
                        "        annotations: {summary: s, description: d}\n");
    rc = s_run(out, PYTHON, PROMCHECK, "rules", bad, s_files.hq_scrape, NULL, NULL);
    assert_int_equal(rc, 1);
    hbt_assert_contains(out, "hallbus_hq_commit_seconds_max is not in the scrapes");
    hbt_assert_contains(out, "no alert HallbusWriterStalled");
    free(out);
}

HBT_TEST(test_dashboard)
{
    hbt_world_t *w = *state;
    s_need_tools();
    assert_true(access(s_files.hq_scrape, R_OK) == 0);
    char exprs[400];
    snprintf(exprs, sizeof exprs, "%s/dashboard-exprs.yml", w->root);
    char *out = malloc(OUT_MAX);
    int rc = s_run(out, PYTHON, PROMCHECK, "dashboard", DASHBOARD, exprs, s_files.hq_scrape, NULL);
    fprintf(stderr, "%s", out);
    if (rc != 0)
        fail_msg("promcheck dashboard: %d\n%s", rc, out);
    /* Each expression through Prometheus's own parser. */
    rc = s_run(out, s_files.promtool, "check", "rules", exprs, NULL, NULL);
    if (rc != 0)
        fail_msg("promtool check rules on the dashboard's expressions: %d\n%s", rc, out);

    /* A panel naming a metric hqd does not export, and one whose
     * expression does not parse: both caught. */
    char bad[400], bad_exprs[400];
    snprintf(bad, sizeof bad, "%s/bad-dashboard.json", w->root);
    snprintf(bad_exprs, sizeof bad_exprs, "%s/bad-exprs.yml", w->root);
    hbt_write_file(bad,
                   "{\"title\":\"t\",\"uid\":\"u\",\"schemaVersion\":37,\"templating\":"
                   "{\"list\":[{\"name\":\"datasource\",\"type\":\"datasource\"}]},\"panels\":["
                   "{\"id\":1,\"type\":\"timeseries\",\"title\":\"p\",\"gridPos\":{\"h\":8,"
                   "\"w\":12,\"x\":0,\"y\":0},\"targets\":[{\"refId\":\"A\",\"expr\":"
                   "\"hallbus_hq_commit_seconds_avg\"},{\"refId\":\"B\",\"expr\":"
                   "\"sum(rate(hallbus_hq_frames_total[5m])\"}]}]}");
    rc = s_run(out, PYTHON, PROMCHECK, "dashboard", bad, bad_exprs, s_files.hq_scrape, NULL);
    assert_int_equal(rc, 1);
    hbt_assert_contains(out, "hallbus_hq_commit_seconds_avg is not in the scrapes");
    hbt_assert_contains(out, "no panel shows ack latency");
    rc = s_run(out, s_files.promtool, "check", "rules", bad_exprs, NULL, NULL);
    assert_int_not_equal(rc, 0);
    hbt_assert_contains(out, "hallbus_dashboard:panel1_B");
    free(out);
}

HBT_TEST(test_scrape_config)
{
    (void)state;
    s_need_tools();
    char *out = malloc(OUT_MAX);
    int rc = s_run(out, s_files.promtool, "check", "config", SCRAPE_CONFIG, NULL, NULL);
    if (rc != 0)
        fail_msg("promtool check config: %d\n%s", rc, out);
    free(out);
}
