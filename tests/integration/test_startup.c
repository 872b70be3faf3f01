/* How the daemons start, with real processes: one data folder, one daemon
 * (a second hqd or branchd on it is refused at once, naming the folder and
 * the pid that holds it; after kill -9 the next start is not blocked by the
 * file left behind); --version on every program, and the same version and
 * revision in both daemons' /v1/status and /metrics; settings that contradict
 * each other; a policy file that cannot be used, named with the reason;
 * the hall id kept in branchd's log through SIGHUP; and what systemd hears
 * (READY, WATCHDOG only when WATCHDOG_PID allows, STOPPING). */
#include "stubs.h"

#include "hallbus/httpc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HQD HB_BIN_DIR "/hqd/hqd"
#define BRANCHD HB_BIN_DIR "/branchd/branchd"
#define HALLCTL HB_BIN_DIR "/tools/hallctl"
#define HALLSIM HB_BIN_DIR "/tools/hallsim"

static hbt_tmpdir_t s_tmp = {.tag = "startup"};

/* ------------------------------------------------------ one folder, one */

#define HBT_FIXTURE hbt_tmpdir_setup, hbt_tmpdir_teardown, &s_tmp

/* A running hqd in the test's folder and hall `id` enrolled with it, not
 * started yet. */
static void s_hq_and_hall(hbt_hq_t *hq, hbt_hall_t *hall, const char *id)
{
    hbt_hq_init(hq, s_tmp.path);
    hbt_hq_start(hq);
    hbt_hall_enroll(hq, hall, id);
}

HBT_TEST(test_data_folder_lock)
{
    (void)state;
    hbt_hq_t hq;
    hbt_hq_init(&hq, s_tmp.path);
    hbt_hq_start(&hq);
    char out[8192], want[64];

    /* A second hqd on the same folder (other ports): refused at once. */
    char http2[32], listen2[64];
    snprintf(http2, sizeof http2, "127.0.0.1:%d", hbt_free_port());
    snprintf(listen2, sizeof listen2, "tcp://127.0.0.1:%d", hbt_free_port());
    char *second[] = {HQD,        "--data", hq.data,  "--keys", hq.keys,
                      "--listen", listen2,  "--http", http2,    NULL};
    int64_t t0 = hbt_now_ms();
    int rc = hbt_run(second, out, sizeof out);
    assert_int_equal(rc, 1);
    assert_true(hbt_now_ms() - t0 < 5000);
    hbt_assert_contains(out, hq.data);
    snprintf(want, sizeof want, "pid %d", (int)hq.proc.pid);
    hbt_assert_contains(out, want);
    assert_null(strstr(out, "ready"));
    /* The first is unaffected. */
    json_t *st = hbt_get(hq.http, "/v1/status");
    assert_non_null(st);
    json_decref(st);

    /* The same for branchd. */
    hbt_hall_t hall;
    hbt_hall_enroll(&hq, &hall, "LOCK1");
    hbt_hall_start(&hall);
    char http3[32];
    snprintf(http3, sizeof http3, "127.0.0.1:%d", hbt_free_port());
    char *branch2[] = {BRANCHD,     "--id",   hall.id,  "--data", hall.data, "--hq",
                       hq.endpoint, "--keys", hall.dir, "--http", http3,     NULL};
    rc = hbt_run(branch2, out, sizeof out);
    assert_int_equal(rc, 1);
    hbt_assert_contains(out, hall.data);
    snprintf(want, sizeof want, "pid %d", (int)hall.proc.pid);
    hbt_assert_contains(out, want);
    /* Nor may an hqd take a hall's folder. */
    char *hq_on_hall[] = {HQD,        "--data", hall.data, "--keys", hq.keys,
                          "--listen", listen2,  "--http",  http2,    NULL};
    assert_int_equal(hbt_run(hq_on_hall, out, sizeof out), 1);
    hbt_assert_contains(out, want);
    st = hbt_get(hall.http, "/v1/status");
    assert_non_null(st);
    json_decref(st);

    /* kill -9 leaves the lock file; the lock goes with the process, and the
     * next start comes up on the same folders. */
    hbt_hall_stop(&hall, SIGKILL);
    hbt_hq_stop(&hq, SIGKILL);
    char lock[512];
    snprintf(lock, sizeof lock, "%s/hallbus.lock", hq.data);
    assert_int_equal(access(lock, F_OK), 0);
    snprintf(lock, sizeof lock, "%s/hallbus.lock", hall.data);
    assert_int_equal(access(lock, F_OK), 0);
    hbt_hq_start(&hq);
    hbt_hall_start(&hall);
    hbt_hall_stop(&hall, SIGTERM);
    hbt_hq_stop(&hq, SIGTERM);
}

/* ----------------------------------------------------------- versions */

HBT_TEST(test_version)
{
    (void)state;
    char out[1024], line[256];
    const char *bins[][2] = {
        {HQD, "hqd "}, {BRANCHD, "branchd "}, {HALLCTL, "hallctl "}, {HALLSIM, "hallsim "}};
    char revision[256] = "";
    for (size_t i = 0; i < 4; i++) {
        char *argv[] = {(char *)bins[i][0], "--version", NULL};
        int rc = hbt_run(argv, out, sizeof out);
        if (rc != 0)
            fail_msg("%s --version: exit %d: %s", bins[i][0], rc, out);
        assert_true(strncmp(out, bins[i][1], strlen(bins[i][1])) == 0);
        const char *r = strstr(out, "(revision ");
        assert_non_null(r);
        snprintf(line, sizeof line, "%s", r + strlen("(revision "));
        line[strcspn(line, ")")] = '\0';
        assert_true(strlen(line) > 0);
        if (!revision[0])
            snprintf(revision, sizeof revision, "%s", line);
        assert_string_equal(line, revision); /* one build, one revision */
    }
    /* The daemons say it over HTTP too, the same. */
    hbt_hq_t hq;
    hbt_hall_t hall;
    s_hq_and_hall(&hq, &hall, "VER1");
    hbt_hall_start(&hall);
    const char *bases[] = {hq.http, hall.http};
    char version[64] = "";
    for (size_t i = 0; i < 2; i++) {
        json_t *st = hbt_get(bases[i], "/v1/status");
        assert_non_null(st);
        const char *v = json_string_value(json_object_get(st, "version"));
        const char *r = json_string_value(json_object_get(st, "revision"));
        assert_non_null(v);
        assert_non_null(r);
        assert_string_equal(r, revision);
        if (!version[0])
            snprintf(version, sizeof version, "%s", v);
        assert_string_equal(v, version);
        json_decref(st);
        /* /metrics is text: read it raw. */
        hb_httpc_resp_t resp;
        assert_int_equal(hbt_http_raw(bases[i], "GET", "/metrics", NULL, &resp), 0);
        assert_int_equal(resp.status, 200);
        const char *metrics = resp.body;
        char want[256];
        snprintf(want, sizeof want, "\nhallbus_build_info{version=\"%s\",revision=\"%s\"} 1\n",
                 version, revision);
        hbt_assert_contains(metrics, want);
        hbt_assert_contains(metrics, "# TYPE hallbus_build_info gauge\n");
        hb_httpc_resp_free(&resp);
    }
    /* hqd --version needs no settings at all (it used to ask for a value). */
    char *bare[] = {HQD, "--version", "--data", NULL};
    assert_int_equal(hbt_run(bare, out, sizeof out), 0);
    hbt_hall_stop(&hall, SIGTERM);
    hbt_hq_stop(&hq, SIGTERM);
}

/* ------------------------------------------------------ refused settings */

HBT_TEST(test_contradicting_settings)
{
    (void)state;
    char out[8192], data[300], keys[300];
    snprintf(data, sizeof data, "%s/data", s_tmp.path);
    snprintf(keys, sizeof keys, "%s/keys", s_tmp.path);
    char *reconnect[] = {BRANCHD,
                         "--id",
                         "H1",
                         "--data",
                         data,
                         "--hq",
                         "tcp://127.0.0.1:9",
                         "--keys",
                         keys,
                         "--reconnect_min",
                         "40s",
                         "--reconnect_max",
                         "30s",
                         NULL};
    assert_int_equal(hbt_run(reconnect, out, sizeof out), 2);
    hbt_assert_contains(out, "reconnect_min (40s) may not be greater than reconnect_max (30s)");
    /* From a config file as well. */
    char conf[400];
    snprintf(conf, sizeof conf, "%s/branchd.conf", s_tmp.path);
    FILE *f = fopen(conf, "w");
    fprintf(f, "id = H1\ndata = %s\nhq = tcp://127.0.0.1:9\nkeys = %s\nreconnect_min = 1m\n", data,
            keys);
    fclose(f);
    char *from_file[] = {BRANCHD, "--config", conf, "--reconnect_max", "59s", NULL};
    assert_int_equal(hbt_run(from_file, out, sizeof out), 2);
    hbt_assert_contains(out, "reconnect_min (1m) may not be greater than reconnect_max (59s)");
    /* Nothing was made: refused before the data folder. */
    assert_int_not_equal(access(data, F_OK), 0);
    char *per_address[] = {
        HQD,   "--data", data, "--keys", keys, "--http_max_conns", "100", "--http_max_per_address",
        "200", NULL};
    assert_int_equal(hbt_run(per_address, out, sizeof out), 2);
    hbt_assert_contains(out,
                        "http_max_per_address (200) may not be greater than http_max_conns (100)");
}

/* Runs `argv`, which must be refused (exit 2) with `want` in its words. */
static void s_refused(char *const argv[], const char *want)
{
    char out[8192];
    assert_int_equal(hbt_run(argv, out, sizeof out), 2);
    hbt_assert_contains(out, want);
}

/* The heartbeat's settings (sized for 100,000 halls, docs/OPERATIONS.md):
 * a hall's heartbeat longer than its link_timeout would have the hall
 * give up on a link HQ answers, and HQ's longer than its offline_after
 * would call every idle hall offline; both are refused, naming the pair,
 * as is an out-of-range value and a count of ZeroMQ I/O threads. */
HBT_TEST(test_heartbeat_settings)
{
    (void)state;
    char data[300], keys[300];
    snprintf(data, sizeof data, "%s/hbdata", s_tmp.path);
    snprintf(keys, sizeof keys, "%s/hbkeys", s_tmp.path);
    char *hall_args[] = {BRANCHD,  "--id", "H1", "--data", data, "--hq", "tcp://127.0.0.1:9",
                         "--keys", keys,   NULL, NULL,     NULL, NULL,   NULL};
    /* Against the default link_timeout (45 s). */
    hall_args[9] = "--heartbeat";
    hall_args[10] = "1m";
    s_refused(hall_args, "heartbeat (1m) may not be greater than link_timeout (45s)");
    /* Against one given. */
    hall_args[10] = "10s";
    hall_args[11] = "--link_timeout";
    hall_args[12] = "5s";
    s_refused(hall_args, "heartbeat (10s) may not be greater than link_timeout (5s)");
    hall_args[10] = "50ms"; /* below its range */
    hall_args[11] = NULL;
    s_refused(hall_args, "50ms");
    char *hq_args[] = {HQD, "--data", data, "--keys", keys, "--heartbeat", "1m", NULL, NULL, NULL};
    s_refused(hq_args, "heartbeat (1m) may not be greater than offline_after (40s)");
    hq_args[6] = "20s";
    hq_args[7] = "--offline_after";
    hq_args[8] = "10s";
    s_refused(hq_args, "heartbeat (20s) may not be greater than offline_after (10s)");
    char *io[] = {HQD, "--data", data, "--keys", keys, "--io_threads", "0", NULL};
    s_refused(io, "io_threads");
    /* Nothing was made: refused before the data folder. */
    assert_int_not_equal(access(data, F_OK), 0);
}

/* A policy file that cannot be used: which file, and why. */
HBT_TEST(test_bad_policy_file)
{
    (void)state;
    hbt_hq_t hq;
    hbt_hall_t hall;
    s_hq_and_hall(&hq, &hall, "POL1");
    hbt_hq_stop(&hq, SIGTERM);
    char missing[400], broken[400], refused[400];
    snprintf(missing, sizeof missing, "%s/none.json", hall.dir);
    snprintf(broken, sizeof broken, "%s/broken.json", hall.dir);
    snprintf(refused, sizeof refused, "%s/refused.json", hall.dir);
    hbt_write_file(broken, "{\n  \"timezone\": \"UTC\",\n  \"opening_hours\": [\n}\n");
    hbt_write_file(refused, "{\"timezone\": \"Mars/Olympus\"}\n");
    const struct {
        const char *file;
        const char *says[2];
    } cases[] = {
        {missing, {"cannot read it", "No such file"}},
        {broken, {"not a JSON document", "(line 4, column"}},
        {refused, {"refused:", "Mars/Olympus"}},
    };
    for (size_t i = 0; i < 3; i++) {
        char out[8192];
        char *argv[] = {BRANCHD,
                        "--id",
                        hall.id,
                        "--data",
                        hall.data,
                        "--hq",
                        hq.endpoint,
                        "--keys",
                        hall.dir,
                        "--http",
                        hall.http_addr,
                        "--policy_file",
                        (char *)cases[i].file,
                        NULL};
        int rc = hbt_run(argv, out, sizeof out);
        if (rc != 1)
            fail_msg("%s: exit %d: %s", cases[i].file, rc, out);
        char named[450];
        snprintf(named, sizeof named, "policy_file %s: ", cases[i].file);
        hbt_assert_contains(out, named);
        hbt_assert_contains(out, cases[i].says[0]);
        hbt_assert_contains(out, cases[i].says[1]);
        assert_null(strstr(out, "line -1"));
    }
}

/* ----------------------------------------------------------- reloading */

HBT_TEST(test_sighup_keeps_hall_id)
{
    (void)state;
    hbt_hq_t hq;
    hbt_hall_t hall;
    s_hq_and_hall(&hq, &hall, "HUP7");
    char conf[400];
    snprintf(conf, sizeof conf, "%s/branchd.conf", hall.dir);
    hbt_hall_arg(&hall, "--config", "%s", conf);
    hbt_hall_start(&hall);
    /* retention is reloadable: append it to the file, then SIGHUP. */
    FILE *f = fopen(conf, "a");
    fprintf(f, "retention = 2d\nlog_level = info\n");
    fclose(f);
    kill(hall.proc.pid, SIGHUP);
    char log[400];
    snprintf(log, sizeof log, "%s/branchd.log", hall.dir);
    assert_true(hbt_wait_log(log, "configuration reloaded from", 10000));
    hbt_hall_stop(&hall, SIGTERM);
    static char text[1 << 20];
    hbt_read_file(log, text, sizeof text);
    const char *reloaded = strstr(text, "configuration reloaded from");
    const char *line = reloaded;
    while (line > text && line[-1] != '\n')
        line--;
    char first[512];
    snprintf(first, sizeof first, "%.*s", (int)(reloaded - line), line);
    hbt_assert_contains(first, "branchd/HUP7[");
    /* And after it, to the last line. */
    const char *stopped = strstr(reloaded, "stopped");
    assert_non_null(stopped);
    line = stopped;
    while (line > text && line[-1] != '\n')
        line--;
    snprintf(first, sizeof first, "%.*s", (int)(stopped - line), line);
    hbt_assert_contains(first, "branchd/HUP7[");
    hbt_hq_stop(&hq, SIGTERM);
}

/* -------------------------------------------------------------- systemd */

/* hqd under a pretend systemd: READY once up, WATCHDOG every half
 * interval only when WATCHDOG_PID does not name another process, STOPPING
 * on SIGTERM. */
HBT_TEST(test_systemd)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        char notify[200];
        snprintf(notify, sizeof notify, "%.80s/notify%d", s_tmp.path, round);
        hbt_notify_t *l = hbt_notify_start(notify);
        setenv("NOTIFY_SOCKET", notify, 1);
        setenv("WATCHDOG_USEC", "400000", 1); /* 400 ms: a pet every 200 ms */
        /* Round 0: no WATCHDOG_PID, so the watchdog is hqd's. Round 1: it
         * names this test process, so it is not. */
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", (long)getpid());
        if (round == 1)
            setenv("WATCHDOG_PID", pid, 1);
        hbt_hq_t hq;
        char root[300];
        snprintf(root, sizeof root, "%s/r%d", s_tmp.path, round);
        assert_int_equal(mkdir(root, 0755) == 0 || errno == EEXIST, 1);
        hbt_hq_init(&hq, root);
        hbt_hq_start(&hq);
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        hbt_sleep_ms(1500);
        hbt_hq_stop(&hq, SIGTERM);
        char heard[2048];
        int watchdogs = hbt_notify_stop(&l, heard, sizeof heard);
        assert_string_equal(heard, "READY=1 STOPPING=1 ");
        if (round == 0 && watchdogs < 4)
            fail_msg("hqd petted the watchdog %d times in 1.5 s (every 200 ms wanted)", watchdogs);
        if (round == 1 && watchdogs != 0)
            fail_msg("hqd petted a watchdog that is not its own (%d times)", watchdogs);
    }
}
