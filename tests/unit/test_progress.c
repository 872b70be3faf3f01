/* Unit tests of the watchdog rule: common/base/progress.c (threads that
 * register, beat, go quiet, unregister; a full table; a rename; the idle
 * wait on the monotonic clock) and daemon.c's use of it on a real loop with
 * a real NOTIFY_SOCKET: the pets stop while a watched thread is blocked in
 * read(2) on a pipe nobody writes to, and come back once it reads again;
 * READY=1 waits for the daemon's parts, EXTEND_TIMEOUT_USEC= asks for more
 * start time while they make progress and stops when a thread is stuck; a
 * SIGHUP during the start frames no reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stubs.h"
#include "hallbus/daemon.h"
#include "hallbus/error.h"
#include "hallbus/progress.h"
#include "hallbus/time.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static hbt_tmpdir_t s_tmp = {.tag = "watchdog"};

/* ------------------------------------------------------ the table ---- */

/* A thread that registers under its name, says so, and waits to be told
 * to beat, to go, or to end without unregistering. */
typedef struct worker {
    pthread_t thread;
    char name[40];
    int rc;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool registered;
    int order; /* 0 wait, 1 beat, 2 unregister and end, 3 end as is */
} worker_t;

static void *s_worker(void *arg)
{
    worker_t *w = arg;
    int rc = hb_progress_register(w->name);
    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->registered = true;
    pthread_cond_broadcast(&w->cond);
    for (;;) {
        while (w->order == 0)
            pthread_cond_wait(&w->cond, &w->lock);
        int order = w->order;
        w->order = 0;
        pthread_cond_broadcast(&w->cond);
        if (order == 1) {
            hb_progress_beat();
            continue;
        }
        if (order == 2)
            hb_progress_unregister();
        break;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void s_worker_start(worker_t *w, const char *name)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    assert_int_equal(pthread_create(&w->thread, NULL, s_worker, w), 0);
    pthread_mutex_lock(&w->lock);
    while (!w->registered)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

/* Gives an order and waits until it is taken (a beat is done by then). */
static void s_worker_order(worker_t *w, int order)
{
    pthread_mutex_lock(&w->lock);
    w->order = order;
    pthread_cond_broadcast(&w->cond);
    while (w->order != 0)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    if (order >= 2) {
        pthread_join(w->thread, NULL);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
    }
}

static bool s_quiet_has(const hb_progress_quiet_t *q, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(q[i].name, name) == 0)
            return true;
    return false;
}

static void test_table(void **state)
{
    (void)state;
    assert_int_equal(hb_progress_registered(), 0);
    /* Not registered: beats and unregistering do nothing. */
    hb_progress_beat();
    hb_progress_unregister();
    assert_int_equal(hb_progress_registered(), 0);

    worker_t a, b;
    s_worker_start(&a, "alpha");
    s_worker_start(&b, "a-name-longer-than-fifteen");
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_int_equal(hb_progress_registered(), 2);
    hbt_sleep_ms(60);
    hb_progress_quiet_t q[4];
    /* Both quiet for 60 ms: over a 30 ms limit, within a 5 s one. */
    assert_int_equal(hb_progress_quiet(hb_mono_ms(), 5000, q, 4), 0);
    size_t n = hb_progress_quiet(hb_mono_ms(), 30, q, 4);
    assert_int_equal(n, 2);
    assert_true(s_quiet_has(q, n, "alpha"));
    assert_true(s_quiet_has(q, n, "a-name-longer-t")); /* cut to 15 bytes */
    for (size_t i = 0; i < n; i++)
        assert_true(q[i].quiet_ms >= 55);
    /* Counted past `max`, listed up to it. */
    assert_int_equal(hb_progress_quiet(hb_mono_ms(), 30, q, 1), 2);
    assert_int_equal(hb_progress_quiet(hb_mono_ms(), 30, NULL, 0), 2);
    /* alpha beats: only the other one is quiet. */
    s_worker_order(&a, 1);
    n = hb_progress_quiet(hb_mono_ms(), 30, q, 4);
    assert_int_equal(n, 1);
    assert_string_equal(q[0].name, "a-name-longer-t");
    /* One that unregisters is gone. */
    s_worker_order(&b, 2);
    s_worker_order(&a, 2);
    assert_int_equal(hb_progress_registered(), 0);
    assert_int_equal(hb_progress_quiet(hb_mono_ms(), 0, q, 4), 0);

    /* This thread: register, rename, unregister. */
    assert_int_equal(hb_progress_register("main"), 0);
    assert_int_equal(hb_progress_register("main-renamed"), 0);
    assert_int_equal(hb_progress_registered(), 1);
    hbt_sleep_ms(40);
    n = hb_progress_quiet(hb_mono_ms(), 30, q, 4);
    assert_int_equal(n, 1);
    assert_string_equal(q[0].name, "main-renamed");
    hb_progress_unregister();

    /* A full table refuses the next thread, and is whole again after. */
    enum { N = HB_PROGRESS_THREADS_MAX };
    worker_t *many = calloc(N + 1, sizeof *many);
    assert_non_null(many);
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        s_worker_start(&many[i], name);
        assert_int_equal(many[i].rc, 0);
    }
    assert_int_equal(hb_progress_registered(), N);
    s_worker_start(&many[N], "one-too-many");
    assert_int_equal(many[N].rc, HB_ETOOBIG);
    assert_int_equal(hb_progress_registered(), N);
    /* Not registered, so never quiet, whatever it does. */
    hbt_sleep_ms(40);
    n = hb_progress_quiet(hb_mono_ms(), 30, NULL, 0);
    assert_int_equal(n, N);
    for (int i = 0; i <= N; i++)
        s_worker_order(&many[i], 2);
    free(many);
    assert_int_equal(hb_progress_registered(), 0);
    /* A slot freed is taken again. */
    s_worker_start(&a, "again");
    assert_int_equal(a.rc, 0);
    assert_int_equal(hb_progress_registered(), 1);
    s_worker_order(&a, 2);
}

/* A thread that ends without unregistering stays registered and quiet: a
 * vanished thread is a stuck one. In a child process, whose table is its
 * own: no later test here could pet a watchdog with that slot taken. */
static void test_vanished_thread(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        worker_t w;
        s_worker_start(&w, "gone");
        s_worker_order(&w, 3);
        hbt_sleep_ms(40);
        hb_progress_quiet_t q[2];
        size_t n = hb_progress_quiet(hb_mono_ms(), 30, q, 2);
        _exit(hb_progress_registered() == 1 && n == 1 && strcmp(q[0].name, "gone") == 0 ? 0 : 3);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The idle wait: at most HB_PROGRESS_IDLE_MS, then a beat; a signal ends
 * it early. */
typedef struct idle {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t waited_ms;
    bool go;
} idle_t;

static void *s_idle_thread(void *arg)
{
    idle_t *w = arg;
    hb_progress_register("idle");
    pthread_mutex_lock(&w->lock);
    int64_t t0 = hb_mono_ms();
    hb_progress_idle_wait(&w->cond, &w->lock); /* nobody signals */
    w->waited_ms = hb_mono_ms() - t0;
    pthread_mutex_unlock(&w->lock);
    /* Quiet for 300 ms now: the beat came at the end of the wait. */
    hbt_sleep_ms(300);
    pthread_mutex_lock(&w->lock);
    while (!w->go)
        hb_progress_idle_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    hb_progress_unregister();
    return NULL;
}

static void test_idle_wait(void **state)
{
    (void)state;
    idle_t w = {.waited_ms = -1};
    pthread_mutex_init(&w.lock, NULL);
    assert_int_equal(hb_progress_cond_init(&w.cond), 0);
    pthread_t t;
    int64_t t0 = hb_mono_ms();
    assert_int_equal(pthread_create(&t, NULL, s_idle_thread, &w), 0);
    hbt_sleep_ms(HB_PROGRESS_IDLE_MS + 150);
    pthread_mutex_lock(&w.lock);
    int64_t waited = w.waited_ms;
    pthread_mutex_unlock(&w.lock);
    if (waited < HB_PROGRESS_IDLE_MS - 5 || waited > HB_PROGRESS_IDLE_MS + 140)
        fail_msg("the idle wait took %lld ms", (long long)waited);
    /* The beat came at the end of the wait, not at the start. */
    hb_progress_quiet_t q[2];
    int64_t since_wait = hb_mono_ms() - t0 - waited;
    assert_int_equal(hb_progress_quiet(hb_mono_ms(), since_wait + 50, q, 2), 0);
    /* A signal ends a wait at once. */
    pthread_mutex_lock(&w.lock);
    w.go = true;
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
    int64_t t1 = hb_mono_ms();
    pthread_join(t, NULL);
    if (hb_mono_ms() - t1 > 700)
        fail_msg("the signalled wait took %lld ms", (long long)(hb_mono_ms() - t1));
    assert_int_equal(hb_progress_registered(), 0);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
}

/* ----------------------------------------------- the daemon's rule ---- */

typedef struct tcfg {
    char *config;
    char *log_level;
    char *data;
} tcfg_t;

static const hb_config_def_t s_defs[] = {
    HBT_DAEMON_ROWS(tcfg_t, "info"),
};
#define NDEFS (sizeof s_defs / sizeof s_defs[0])

static tcfg_t s_cfg;

/* A watched thread that reads a pipe: it beats after every byte and blocks
 * in read(2) while nobody writes, a real thread stuck in a system call. */
typedef struct reader {
    pthread_t thread;
    int fds[2];
} reader_t;

static void *s_reader(void *arg)
{
    reader_t *r = arg;
    hb_progress_register("reader");
    for (;;) {
        char c;
        ssize_t n = read(r->fds[0], &c, 1);
        if (n != 1 || c == 'q')
            break;
        hb_progress_beat();
    }
    hb_progress_unregister();
    return NULL;
}

static void s_reader_start(reader_t *r)
{
    assert_int_equal(pipe(r->fds), 0);
    assert_int_equal(pthread_create(&r->thread, NULL, s_reader, r), 0);
}

static void s_feed(reader_t *r, char c) { assert_int_equal(write(r->fds[1], &c, 1), 1); }

static void s_reader_stop(reader_t *r)
{
    s_feed(r, 'q');
    pthread_join(r->thread, NULL);
    close(r->fds[0]);
    close(r->fds[1]);
}

/* One run of a test daemon under a pretend systemd; what each tick does is
 * the test's. */
typedef struct run {
    hb_daemon_t *d;
    hbt_notify_t *notify;
    reader_t reader;
    int ticks;
    int64_t t0;
    int pets[4];      /* sampled at the phases' edges */
    bool ready;       /* what `starting` answers */
    char log[300];    /* the daemon's log file */
    char heard[2048]; /* what systemd heard (hbt_notify_stop) */
} run_t;

static run_t s_run;

static void s_run_daemon(const hb_daemon_spec_t *spec, const char *log, const char *usec)
{
    char data[300], notify[200], conf[300];
    snprintf(notify, sizeof notify, "%.80s/notify", s_tmp.path);
    snprintf(conf, sizeof conf, "%s/testd.conf", s_tmp.path);
    hbt_write_file(conf, "log_level = info\n");
    s_run.notify = hbt_notify_start(notify);
    setenv("NOTIFY_SOCKET", notify, 1);
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    if (usec) {
        setenv("WATCHDOG_USEC", usec, 1);
        setenv("WATCHDOG_PID", pid, 1);
    }
    snprintf(data, sizeof data, "%s/d", s_tmp.path);
    int saved = hbt_stderr_to(log);
    memset(&s_cfg, 0, sizeof s_cfg);
    char *argv[] = {"testd", "--config", conf, "--data", data, NULL};
    assert_int_equal(hb_daemon_start(spec, 5, argv, &s_run.d), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    s_run.t0 = hb_mono_ms();
    int rc = hb_daemon_run(s_run.d, &loop);
    hbt_stderr_back(saved);
    assert_int_equal(rc, 0);
    hb_daemon_destroy(&s_run.d);
}

static const char *s_starting(void *arg);

/* Runs the test daemon (10 ms ticks, 150 ms quiet limit) with the one
 * chore `name`, `tick` every 10 ms, and s_starting when `starting`; the
 * watchdog every `usec` when not NULL. Its log goes to s_run.log, what
 * systemd heard to s_run.heard (printed too); returns how many
 * notifications came. */
static int s_run_chore(const char *name, hb_daemon_fn tick, bool starting, const char *usec)
{
    const hb_chore_t chore = {name, 10, tick};
    const hb_daemon_spec_t spec = {
        .name = "testd",
        .defs = s_defs,
        .ndefs = NDEFS,
        .cfg = &s_cfg,
        .tick_ms = 10,
        .chores = &chore,
        .n_chores = 1,
        .starting = starting ? s_starting : NULL,
        .quiet_ms = 150,
        .arg = &s_run,
    };
    memset(&s_run, 0, sizeof s_run);
    s_reader_start(&s_run.reader);
    snprintf(s_run.log, sizeof s_run.log, "%s/log", s_tmp.path);
    s_run_daemon(&spec, s_run.log, usec);
    int total = hbt_notify_stop(&s_run.notify, s_run.heard, sizeof s_run.heard);
    s_reader_stop(&s_run.reader);
    print_message("heard: %s\n", s_run.heard);
    return total;
}

static void s_read_file(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* The stuck reader, tick by tick (10 ms each): fed every tick up to tick
 * 30, starved up to tick 90, fed again up to tick 130, then stopped. */
static void s_stuck_tick(void *arg)
{
    run_t *r = arg;
    r->ticks++;
    if (r->ticks < 30 || (r->ticks >= 90 && r->ticks < 130))
        s_feed(&r->reader, '.');
    if (r->ticks == 10)
        r->pets[0] = hbt_notify_peek(r->notify, NULL, 0);
    if (r->ticks == 30)
        r->pets[1] = hbt_notify_peek(r->notify, NULL, 0);
    /* 300 ms into the starving: the 150 ms quiet limit is long past, and
     * the last pet before it has reached the listener. */
    if (r->ticks == 60)
        r->pets[2] = hbt_notify_peek(r->notify, NULL, 0);
    if (r->ticks == 90)
        r->pets[3] = hbt_notify_peek(r->notify, NULL, 0);
    if (r->ticks == 130)
        raise(SIGTERM);
}

static void test_stuck_thread_stops_the_pets(void **state)
{
    (void)state;
    /* 40 ms: a pet every 20 ms */
    int total = s_run_chore("feed", s_stuck_tick, false, "40000");
    int fed = s_run.pets[1] - s_run.pets[0];
    int starved = s_run.pets[3] - s_run.pets[2];
    int again = total - s_run.pets[3];
    print_message("pets: %d while fed (200 ms), %d while stuck (300 ms), %d fed again\n", fed,
                  starved, again);
    hbt_assert_stall_pets(fed, starved, again, "in 200 ms while every thread made progress",
                          "while the reader was stuck in read(2)", "after the reader came back");
    assert_string_equal(s_run.heard, "READY=1 STOPPING=1 ");
    char text[8192];
    s_read_file(s_run.log, text, sizeof text);
    hbt_assert_contains_all(text, "thread reader (",
                            "made no progress: systemd's watchdog is no longer petted",
                            "every thread makes progress again", NULL);
}

/* A start that takes 2.5 s, its thread making progress all along; a
 * SIGHUP in the middle of it. */
static const char *s_starting(void *arg)
{
    run_t *r = arg;
    return r->ready ? NULL : "warming up";
}

static void s_slow_start_tick(void *arg)
{
    run_t *r = arg;
    r->ticks++;
    int64_t at = hb_mono_ms() - r->t0;
    if (!r->ready)
        s_feed(&r->reader, '.');
    if (r->ticks == 50)
        raise(SIGHUP);
    if (!r->ready && at >= 2500) {
        r->ready = true;
        r->pets[0] = hbt_notify_peek(r->notify, NULL, 0);
    }
    if (at >= 3000)
        raise(SIGTERM);
}

static void test_slow_start_is_extended(void **state)
{
    (void)state;
    s_run_chore("start", s_slow_start_tick, true, NULL);
    /* More time at about 1 s and 2 s, each for 10 s; then READY, once. */
    int extends = hbt_count(s_run.heard, "EXTEND_TIMEOUT_USEC=10000000 ");
    if (extends < 1 || extends > 2)
        fail_msg("%d extensions in a 2.5 s start: %s", extends, s_run.heard);
    const char *ready = strstr(s_run.heard, "READY=1 ");
    assert_non_null(ready);
    assert_int_equal(hbt_count(s_run.heard, "READY=1"), 1);
    assert_null(strstr(ready, "EXTEND"));                               /* none after READY */
    assert_true(strncmp(s_run.heard, "EXTEND_TIMEOUT_USEC=", 20) == 0); /* none before the first */
    assert_string_equal(ready, "READY=1 STOPPING=1 ");
    assert_null(strstr(s_run.heard, "RELOADING")); /* the SIGHUP at 0.5 s framed nothing */
    char text[8192];
    s_read_file(s_run.log, text, sizeof text);
    hbt_assert_contains(text, "still starting (warming up)");
    hbt_assert_contains(text, "ready after 2.");
    hbt_assert_contains(text, "configuration reloaded"); /* the reload itself was done */
}

/* A start whose thread gets stuck at 1.5 s: the extension asked at 1 s is
 * the only one, and READY never comes. */
static void s_stuck_start_tick(void *arg)
{
    run_t *r = arg;
    int64_t at = hb_mono_ms() - r->t0;
    if (at < 1500)
        s_feed(&r->reader, '.');
    if (at >= 3500)
        raise(SIGTERM);
}

static void test_stuck_start_is_not_extended(void **state)
{
    (void)state;
    s_run_chore("start", s_stuck_start_tick, true, NULL);
    assert_string_equal(s_run.heard, "EXTEND_TIMEOUT_USEC=10000000 STOPPING=1 ");
    char text[8192];
    s_read_file(s_run.log, text, sizeof text);
    hbt_assert_contains(text, "made no progress: systemd is no longer asked for more time");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_table, hbt_tmpdir_setup,
                                                 hbt_tmpdir_notify_teardown, &s_tmp),
        cmocka_unit_test_prestate_setup_teardown(test_vanished_thread, hbt_tmpdir_setup,
                                                 hbt_tmpdir_notify_teardown, &s_tmp),
        cmocka_unit_test_prestate_setup_teardown(test_idle_wait, hbt_tmpdir_setup,
                                                 hbt_tmpdir_notify_teardown, &s_tmp),
        cmocka_unit_test_prestate_setup_teardown(test_stuck_thread_stops_the_pets, hbt_tmpdir_setup,
                                                 hbt_tmpdir_notify_teardown, &s_tmp),
        cmocka_unit_test_prestate_setup_teardown(test_slow_start_is_extended, hbt_tmpdir_setup,
                                                 hbt_tmpdir_notify_teardown, &s_tmp),
        cmocka_unit_test_prestate_setup_teardown(test_stuck_start_is_not_extended, hbt_tmpdir_setup,
                                                 hbt_tmpdir_notify_teardown, &s_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
