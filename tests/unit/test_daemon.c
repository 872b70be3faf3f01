/* Unit tests of common/base/daemon.c and sdnotify.c: the exit codes of
 * start-up, the data folder's lock against another process (a forked child
 * that holds it, then is killed with SIGKILL), the watchdog's WATCHDOG_PID
 * rule, and a daemon run on a real loop with real signals: chores at their
 * periods from one timer, SIGHUP reloading (the log keeps its component),
 * SIGTERM stopping, and what systemd is told, read from a NOTIFY_SOCKET
 * made here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include "stubs.h"
#include "hallbus/daemon.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/sdnotify.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct tcfg {
    char *config;
    char *log_level;
    char *data;
    char *id;
    int64_t level; /* reloadable */
    int64_t low, high;
} tcfg_t;

#define ROW(...) HB_CONF_ROW(tcfg_t, __VA_ARGS__)

static const hb_config_def_t s_defs[] = {
    HBT_DAEMON_ROWS(tcfg_t, "warn"),
    ROW("id", HB_CONF_STRING, id, "H7", 0, 0, false, "an id"),
    ROW("level", HB_CONF_INT, level, "1", 0, 100, true, "a reloadable number"),
    ROW("low", HB_CONF_INT, low, "1", 0, 100, false, "at most high", .at_most = "high"),
    ROW("high", HB_CONF_INT, high, "5", 0, 100, false, "at least low"),
};
#define NDEFS (sizeof s_defs / sizeof s_defs[0])

static hbt_tmpdir_t s_tmp = {.tag = "daemon"};

/* ------------------------------------------------------------ watchdog */

#define HBT_FIXTURE hbt_tmpdir_setup, hbt_tmpdir_notify_teardown, &s_tmp

HBT_TEST(test_watchdog_pid)
{
    (void)state;
    char pid[32], other[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    snprintf(other, sizeof other, "%ld", (long)getpid() + 1);
    static const struct {
        const char *usec;
        int pid; /* 0 unset, 1 ours, 2 another's, 3 garbage */
        int64_t want;
    } cases[] = {
        {NULL, 0, 0},       {"30000000", 0, 30000}, {"30000000", 1, 30000},
        {"30000000", 2, 0}, {"30000000", 3, 0},     {"0", 0, 0},
        {"-5", 1, 0},       {"12x", 1, 0},          {"500", 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].usec)
            setenv("WATCHDOG_USEC", cases[i].usec, 1);
        else
            unsetenv("WATCHDOG_USEC");
        const char *p[] = {NULL, pid, other, "not-a-pid"};
        if (p[cases[i].pid])
            setenv("WATCHDOG_PID", p[cases[i].pid], 1);
        else
            unsetenv("WATCHDOG_PID");
        if (hb_sd_watchdog_ms() != cases[i].want)
            fail_msg("case %zu: %lld ms, wanted %lld", i, (long long)hb_sd_watchdog_ms(),
                     (long long)cases[i].want);
    }
}

/* ------------------------------------------------------------ the lock */

/* A child that takes the lock of `dir`, says so on the pipe and waits to
 * be killed. */
static pid_t s_child_holding(const char *dir)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        int fd;
        char err[256];
        char ok = hb_daemon_lock_folder(dir, &fd, err, sizeof err) == 0 ? 'L' : 'X';
        if (write(p[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    assert_int_equal(c, 'L');
    return pid;
}

HBT_TEST(test_lock_folder)
{
    (void)state;
    char dir[300], err[512], path[400], text[64];
    snprintf(dir, sizeof dir, "%s/data/made/here", s_tmp.path);
    pid_t child = s_child_holding(dir); /* the folder did not exist: made */
    int fd = -1;
    assert_int_equal(hb_daemon_lock_folder(dir, &fd, err, sizeof err), HB_EAGAIN);
    assert_int_equal(fd, -1);
    char want[64];
    snprintf(want, sizeof want, "pid %ld", (long)child);
    hbt_assert_contains(err, want);
    hbt_assert_contains(err, dir);
    /* The file holds the holder's pid, for people. */
    snprintf(path, sizeof path, "%s/%s", dir, HB_DAEMON_LOCK_FILE);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_int_equal(strtol(text, NULL, 10), child);

    /* Killed without a word: the file stays, the lock does not. */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(hb_daemon_lock_folder(dir, &fd, err, sizeof err), 0);
    assert_true(fd >= 0);
    f = fopen(path, "r");
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_int_equal(strtol(text, NULL, 10), getpid());
    close(fd);

    /* A path that cannot be a folder. */
    snprintf(path, sizeof path, "%s/file", s_tmp.path);
    hbt_write_file(path, "");
    snprintf(dir, sizeof dir, "%s/file/sub", s_tmp.path);
    assert_int_equal(hb_daemon_lock_folder(dir, &fd, err, sizeof err), HB_EIO);
    hbt_assert_contains(err, "cannot create the data folder");
}

/* ------------------------------------------------------------ start-up */

static tcfg_t s_cfg;

static int s_check_id(const void *cfg, char *err, size_t errlen)
{
    const tcfg_t *c = cfg;
    if (strcmp(c->id, "bad") == 0) {
        hb_errf(err, errlen, "id 'bad' is refused");
        return HB_EINVAL;
    }
    return 0;
}

static const hb_daemon_spec_t s_start_spec = {
    .name = "testd",
    .defs = s_defs,
    .ndefs = NDEFS,
    .cfg = &s_cfg,
    .check = s_check_id,
    .tick_ms = 10,
};

static int s_start(hb_daemon_t **d, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, d);
    int argc = hbt_vargv(argv, 16, "testd", ap);
    va_end(ap);
    memset(&s_cfg, 0, sizeof s_cfg);
    return hb_daemon_start(&s_start_spec, argc, argv, d);
}

HBT_TEST(test_start_exit_codes)
{
    (void)state;
    char data[300];
    snprintf(data, sizeof data, "%s/d", s_tmp.path);
    hb_daemon_t *d = (hb_daemon_t *)1;
    assert_int_equal(s_start(&d, "--help", NULL), 0);
    assert_null(d);
    assert_int_equal(s_start(&d, "--version", NULL), 0);
    assert_null(d);
    assert_int_equal(s_start(&d, "--colour", "red", NULL), 2);
    assert_null(d);
    assert_int_equal(s_start(&d, NULL), 2); /* --data is required */
    assert_null(d);
    assert_int_equal(s_start(&d, "--data", data, "--log_level", "loud", NULL), 2);
    assert_null(d);
    assert_int_equal(s_start(&d, "--data", data, "--id", "bad", NULL), 2);
    assert_null(d);
    assert_int_equal(s_start(&d, "--data", data, "--low", "9", NULL), 2);
    assert_null(d);
    /* Started: the folder is ours until destroyed; a second is refused (by
     * another process: a process never conflicts with its own lock). */
    assert_int_equal(s_start(&d, "--data", data, NULL), 0);
    assert_non_null(d);
    int status = 0;
    pid_t child = fork();
    if (child == 0) {
        hb_daemon_t *d2 = NULL;
        memset(&s_cfg, 0, sizeof s_cfg);
        char *argv[] = {"testd", "--data", data, NULL};
        _exit(hb_daemon_start(&s_start_spec, 3, argv, &d2) == 1 && !d2 ? 0 : 1);
    }
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    hb_daemon_destroy(&d);
    assert_null(d);
    hb_daemon_destroy(&d); /* idempotent */
}

/* ----------------------------------------------------------- a real run */

typedef struct run {
    hb_daemon_t *d;
    int fast, slow, stops, reloads;
    int64_t level_after_reload;
    char conf[300];
} run_t;

static run_t s_run;

static void s_fast(void *arg)
{
    run_t *r = arg;
    r->fast++;
    if (r->fast == 20) {
        /* Reload with a new value of the reloadable setting. */
        FILE *f = fopen(r->conf, "w");
        fprintf(f, "level = 42\nlog_level = info\n");
        fclose(f);
        raise(SIGHUP);
    }
    if (r->fast == 40)
        raise(SIGTERM);
}

static void s_slow(void *arg)
{
    run_t *r = arg;
    r->slow++;
}

static void s_stopped(void *arg)
{
    run_t *r = arg;
    r->stops++;
}

static void s_reloaded(void *arg)
{
    run_t *r = arg;
    r->reloads++;
    r->level_after_reload = s_cfg.level;
}

static const hb_chore_t s_chores[] = {
    {"fast", 10, s_fast},
    {"slow", 30, s_slow},
};

static const hb_daemon_spec_t s_run_spec = {
    .name = "testd",
    .defs = s_defs,
    .ndefs = NDEFS,
    .cfg = &s_cfg,
    .tick_ms = 10,
    .chores = s_chores,
    .n_chores = 2,
    .stop = s_stopped,
    .reloaded = s_reloaded,
    .arg = &s_run,
};

HBT_TEST(test_run)
{
    (void)state;
    /* systemd's side: a datagram socket to read what the daemon says
     * while it runs (the queue is short, and the daemon never waits). */
    char data[300], log[300], notify[200];
    /* s_tmp.path is "/tmp/hb-daemon-XXXXXX": well inside sun_path. */
    snprintf(notify, sizeof notify, "%.80s/notify", s_tmp.path);
    hbt_notify_t *l = hbt_notify_start(notify);
    setenv("NOTIFY_SOCKET", notify, 1);
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("WATCHDOG_USEC", "40000", 1); /* 40 ms: a pet every 20 ms */
    setenv("WATCHDOG_PID", pid, 1);

    memset(&s_run, 0, sizeof s_run);
    snprintf(s_run.conf, sizeof s_run.conf, "%s/testd.conf", s_tmp.path);
    hbt_write_file(s_run.conf, "level = 3\nlog_level = info\n");
    snprintf(data, sizeof data, "%s/d", s_tmp.path);
    /* The log goes to a file for this run, to read its lines after. */
    snprintf(log, sizeof log, "%s/log", s_tmp.path);
    int saved = hbt_stderr_to(log);

    memset(&s_cfg, 0, sizeof s_cfg);
    char *argv[] = {"testd", "--config", s_run.conf, "--data", data, NULL};
    assert_int_equal(hb_daemon_start(&s_run_spec, 5, argv, &s_run.d), 0);
    assert_non_null(s_run.d);
    assert_int_equal(s_cfg.level, 3);
    assert_int_equal(hb_daemon_watchdog_ms(s_run.d), 40);
    hb_daemon_set_component(s_run.d, "testd/H7");
    uv_loop_t loop;
    uv_loop_init(&loop);
    int rc = hb_daemon_run(s_run.d, &loop);
    hb_log(HB_LOG_INFO, "after the run");
    hbt_stderr_back(saved);
    assert_int_equal(rc, 0); /* the loop closed: nothing left open */

    /* One timer: the fast chore on every tick, the slow one every third. */
    assert_int_equal(s_run.fast, 40);
    assert_true(s_run.slow == 13);
    assert_int_equal(s_run.stops, 1);
    assert_int_equal(s_run.reloads, 1);
    assert_int_equal(s_run.level_after_reload, 42);
    assert_true(hb_daemon_stopping(s_run.d));
    hb_daemon_stop(s_run.d); /* a second stop does nothing */
    assert_int_equal(s_run.stops, 1);

    /* What systemd heard, in order. */
    char heard[2048];
    int watchdogs = hbt_notify_stop(&l, heard, sizeof heard);
    assert_string_equal(heard, "READY=1 RELOADING=1 READY=1 STOPPING=1 ");
    /* About 400 ms of running at a pet per 20 ms (the machine may be slow). */
    if (watchdogs < 5)
        fail_msg("only %d watchdog pets", watchdogs);

    /* The log: the component through the reload, which kept it. */
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[1024];
    bool reloaded = false, stopping = false;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "configuration reloaded from")) {
            reloaded = true;
            hbt_assert_contains(line, "testd/H7[");
        }
        if (strstr(line, "stopping")) {
            stopping = true;
            hbt_assert_contains(line, "testd/H7[");
        }
    }
    fclose(f);
    assert_true(reloaded && stopping);
    hb_daemon_destroy(&s_run.d);
}
