/* hqd's watchdog rule and its start, with the real daemon under a pretend
 * systemd (a NOTIFY_SOCKET read here):
 * - a writer stuck for real: this process holds the write lock of hqd's
 *   commit log (an LMDB write transaction on the same files, as an
 *   operator's tool could), so the writer blocks in mdb_txn_begin while a
 *   hall's events wait; the pets stop (hqd names the writer in its log) and
 *   come back once the lock is let go, and the hall's events are stored;
 * - a long rebuild of the live mirror (800,000 stored events and no
 *   snapshot, on a machine whose CPU hqd gets a twentieth of: this process
 *   stops it for 95 ms of every 100, as CPUQuota=5% would hold it): READY=1
 *   only after it, EXTEND_TIMEOUT_USEC= meanwhile, and the rebuilt mirror
 *   holds every event. */
#include "harness.h"
#include "stubs.h"

#include "hqstore.h"
#include "writer.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/store.h"
#include "hallbus/time.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

static hbt_tmpdir_t s_tmp = {.tag = "watchdog"};

/* hqd started under the pretend systemd; the variables are unset again at
 * once, so nothing else this test starts inherits them. */
static hbt_notify_t *s_start_hq(hbt_hq_t *hq, const char *watchdog_usec)
{
    char notify[200];
    snprintf(notify, sizeof notify, "%.80s/notify", s_tmp.path);
    hbt_notify_t *l = hbt_notify_start(notify);
    setenv("NOTIFY_SOCKET", notify, 1);
    if (watchdog_usec)
        setenv("WATCHDOG_USEC", watchdog_usec, 1);
    hbt_hq_start(hq);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    return l;
}

static bool s_wait_heard(hbt_notify_t *l, const char *needle, int ms)
{
    char heard[2048];
    for (int64_t end = hbt_now_ms() + ms; hbt_now_ms() < end; hbt_sleep_ms(20)) {
        hbt_notify_peek(l, heard, sizeof heard);
        if (strstr(heard, needle))
            return true;
    }
    return false;
}

/* --------------------------------------------------- a stuck writer ---- */

static void test_stuck_writer_stops_the_pets(void **state)
{
    (void)state;
    hbt_hq_t hq;
    hbt_hq_init(&hq, s_tmp.path);
    /* 1 s: a pet every 500 ms; a thread quiet for 3 s stops them. */
    hbt_notify_t *l = s_start_hq(&hq, "1000000");
    assert_true(s_wait_heard(l, "READY=1", 10000));
    hbt_hall_t hall;
    hbt_hall_enroll(&hq, &hall, "WD1");
    hbt_hall_start(&hall);
    hbt_hall_post(&hall, 20, 1);
    assert_true(hbt_wait_synced(&hq, &hall, 15000));

    int p0 = hbt_notify_peek(l, NULL, 0);
    hbt_sleep_ms(2000);
    int healthy = hbt_notify_peek(l, NULL, 0) - p0;

    /* The write lock of the environment the writer commits to, held by
     * this process: its commit log's (hqd/link/hqlog.h) since acks wait
     * for the log's commit, not for the per-hall store's. */
    char log_env[400];
    snprintf(log_env, sizeof log_env, "%s/log", hq.data);
    hb_store_t other;
    assert_int_equal(hb_store_open(&other, log_env, 1 << 20, 1ull << 40, 8), 0);
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(other.env, NULL, 0, &txn), 0);
    int64_t held_at = hbt_now_ms();
    uint64_t last = hbt_hall_post(&hall, 20, 2);
    /* The writer takes the batch and blocks; after 3 s of it the pets
     * stop. Counted over 2 s from 4.5 s on (four pets were due in it). */
    char log[400];
    snprintf(log, sizeof log, "%s/hqd.log", hq.root);
    assert_true(hbt_wait_log(log, "thread writer (", 10000));
    int64_t noticed = hbt_now_ms() - held_at;
    while (hbt_now_ms() - held_at < 4500)
        hbt_sleep_ms(50);
    int p1 = hbt_notify_peek(l, NULL, 0);
    hbt_sleep_ms(2000);
    int stuck = hbt_notify_peek(l, NULL, 0) - p1;
    /* Nothing of the new events was stored meanwhile: the writer is the
     * one that waits. */
    json_t *h = hbt_get(hq.http, "/v1/halls/WD1");
    assert_non_null(h);
    int64_t stored = hbt_int(h, "last_seq");
    json_decref(h);

    mdb_txn_abort(txn);
    hb_store_close(&other);
    assert_true(hbt_wait_synced(&hq, &hall, 15000));
    assert_true(hbt_wait_log(log, "every thread makes progress again", 10000));
    int p2 = hbt_notify_peek(l, NULL, 0);
    hbt_sleep_ms(2000);
    int again = hbt_notify_peek(l, NULL, 0) - p2;
    print_message("pets: %d in 2 s before, %d in 2 s with the writer stuck (noticed after %lld "
                  "ms), %d in 2 s after\n",
                  healthy, stuck, (long long)noticed, again);
    hbt_hall_stop(&hall, SIGTERM);
    hbt_hq_stop(&hq, SIGTERM);
    hbt_notify_stop(&l, NULL, 0);
    hbt_assert_stall_pets(healthy, stuck, again, "in 2 s before the writer was stuck",
                          "while the writer was stuck", "in 2 s after the writer came back");
    if (noticed < 2500)
        fail_msg("the writer was called stuck after %lld ms, before its 3 s", (long long)noticed);
    assert_true(stored < (int64_t)last);
    static char text[1 << 20];
    hbt_read_file(log, text, sizeof text);
    hbt_assert_contains(text, "made no progress: systemd's watchdog is no longer petted");
}

/* -------------------------------------------------- a long rebuild ---- */

#define SLOW_EVENTS 800000 /* ~0.3 s of rebuild at full speed on the reference machine */
#define SLOW_BATCH 4000

typedef struct fixture {
    uv_loop_t loop;
    uint64_t stored;
} fixture_t;

static void s_on_commit(const hq_commit_t *c, size_t n, void *arg)
{
    fixture_t *f = arg;
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i].ok);
        f->stored = c[i].last_seq;
    }
}

/* Event `seq` of the long stream: a ticket issued, then cancelled, so the
 * hall's state stays small and every event is work for the reducer. */
static size_t s_event(uint64_t seq, int64_t at_ms, uint8_t *out, size_t cap)
{
    char ticket[32];
    snprintf(ticket, sizeof ticket, "A%llu", (unsigned long long)((seq + 1) / 2));
    Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT;
    env.seq = seq;
    env.at_ms = at_ms;
    Hallbus__TicketIssued issued = HALLBUS__TICKET_ISSUED__INIT;
    Hallbus__TicketCancelled cancelled = HALLBUS__TICKET_CANCELLED__INIT;
    if (seq % 2) {
        issued.ticket = ticket;
        issued.service = "A";
        issued.priority = HALLBUS__PRIORITY__PRIORITY_NORMAL;
        issued.source = HALLBUS__ISSUE_SOURCE__ISSUE_SOURCE_KIOSK;
        env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_ISSUED;
        env.ticket_issued = &issued;
    } else {
        cancelled.ticket = ticket;
        cancelled.reason = "left";
        env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_CANCELLED;
        env.ticket_cancelled = &cancelled;
    }
    size_t len = hallbus__envelope__get_packed_size(&env);
    assert_true(len <= cap);
    return hallbus__envelope__pack(&env, out);
}

/* Writes SLOW_EVENTS events of hall SLOW1 into a store at `dir` through
 * hqd's own writer, as if they had come over the link. */
static void s_write_stream(const char *dir)
{
    hq_store_t st;
    assert_int_equal(hq_store_open(&st, dir, 64 << 20, 1ull << 36), 0);
    fixture_t f = {0};
    uv_loop_init(&f.loop);
    hq_writer_t *w = NULL;
    assert_int_equal(hq_writer_start(&st, &f.loop, NULL, 0, 1, 256 << 20, s_on_commit, &f, &w), 0);
    int64_t at = (int64_t)time(NULL) * 1000 - 3600 * 1000;
    uint8_t ev[256];
    for (uint64_t first = 1; first <= SLOW_EVENTS; first += SLOW_BATCH) {
        hq_write_item_t *it = hq_write_item_new(4 + SLOW_BATCH * (4 + sizeof ev), 0);
        assert_non_null(it);
        it->hall_num = 1;
        snprintf(it->hall_id, sizeof it->hall_id, "SLOW1");
        it->first_seq = first;
        it->count = SLOW_BATCH;
        uint8_t *p = it->data + 4;
        hb_put_be32(it->data, SLOW_BATCH);
        for (uint64_t seq = first; seq < first + SLOW_BATCH; seq++) {
            size_t len = s_event(seq, at, p + 4, sizeof ev);
            hb_put_be32(p, (uint32_t)len);
            p += 4 + len;
        }
        it->len = (size_t)(p - it->data);
        while (hq_writer_submit(w, &it) == HB_EAGAIN) {
            uv_run(&f.loop, UV_RUN_NOWAIT);
            hbt_sleep_ms(5);
        }
        uv_run(&f.loop, UV_RUN_NOWAIT);
    }
    for (int i = 0; i < 6000 && f.stored < SLOW_EVENTS; i++) {
        uv_run(&f.loop, UV_RUN_NOWAIT);
        hbt_sleep_ms(10);
    }
    assert_int_equal(f.stored, SLOW_EVENTS);
    hq_writer_stop(&w);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
    hq_store_close(&st);
}

/* A twentieth of the CPU for a process: stopped 95 ms of every 100 (on a
 * loaded machine the 5 ms it runs stretch, so the share is larger). Under
 * the sanitizers hqd is several times slower already: a tenth there, so
 * that the rebuild is long but READY still comes within the wait. */
#if defined(__SANITIZE_ADDRESS__)
#define THROTTLE_STOP_MS 90
#else
#define THROTTLE_STOP_MS 95
#endif
typedef struct throttle {
    pthread_t thread;
    const hbt_proc_t *proc;
    atomic_bool stop;
} throttle_t;

static void *s_throttle(void *arg)
{
    throttle_t *t = arg;
    while (!atomic_load(&t->stop)) {
        pid_t pid = t->proc->pid;
        if (pid > 0)
            kill(pid, SIGSTOP);
        hbt_sleep_ms(THROTTLE_STOP_MS);
        if (pid > 0)
            kill(pid, SIGCONT);
        hbt_sleep_ms(100 - THROTTLE_STOP_MS);
    }
    return NULL;
}

static void test_long_rebuild_extends_the_start(void **state)
{
    (void)state;
    hbt_hq_t hq;
    hbt_hq_init(&hq, s_tmp.path);
    int64_t t0 = hbt_now_ms();
    s_write_stream(hq.data);
    print_message("%d events stored in %lld ms\n", SLOW_EVENTS, (long long)(hbt_now_ms() - t0));

    throttle_t th = {.proc = &hq.proc};
    atomic_init(&th.stop, false);
    assert_int_equal(pthread_create(&th.thread, NULL, s_throttle, &th), 0);
    hbt_notify_t *l = s_start_hq(&hq, NULL);
    /* The API answers during the rebuild; READY comes after it. */
    bool ready_heard = s_wait_heard(l, "READY=1", 120000);
    atomic_store(&th.stop, true);
    pthread_join(th.thread, NULL);
    kill(hq.proc.pid, SIGCONT);
    assert_true(ready_heard);
    char heard[2048];
    hbt_notify_peek(l, heard, sizeof heard);
    char log[400];
    snprintf(log, sizeof log, "%s/hqd.log", hq.root);
    static char text[1 << 20];
    hbt_read_file(log, text, sizeof text);
    const char *rebuilt = strstr(text, "live: 1 hall(s) rebuilt (0 from a snapshot) with ");
    assert_non_null(rebuilt);
    unsigned long long events = 0;
    double ms = 0;
    assert_int_equal(sscanf(rebuilt,
                            "live: 1 hall(s) rebuilt (0 from a snapshot) with %llu "
                            "event(s) in %lf ms",
                            &events, &ms),
                     2);
    print_message("rebuilt %llu events in %.0f ms; heard: %s\n", events, ms, heard);
    assert_int_equal(events, SLOW_EVENTS);
    /* The test means something only when the start was long. */
    if (ms < 1500)
        fail_msg("the rebuild took %.0f ms: too short to need more time (SLOW_EVENTS)", ms);
    int extends = hbt_count(heard, "EXTEND_TIMEOUT_USEC=10000000 ");
    if (extends < 1)
        fail_msg("no EXTEND_TIMEOUT_USEC during a %.0f ms rebuild: %s", ms, heard);
    /* About one a second after the first second, never more. */
    if (extends > (int)(ms / 1000) + 1)
        fail_msg("%d extensions in a %.0f ms rebuild", extends, ms);
    assert_true(strncmp(heard, "EXTEND_TIMEOUT_USEC=", 20) == 0);
    const char *ready = strstr(heard, "READY=1 ");
    assert_non_null(ready);
    assert_string_equal(ready, "READY=1 "); /* the last, and once */
    hbt_assert_contains(text, "still starting (rebuilding the live mirror)");
    hbt_assert_contains(text, "ready after ");
    /* The mirror holds the whole stream. */
    json_t *h = hbt_get(hq.http, "/v1/halls/SLOW1/snapshot");
    assert_non_null(h);
    assert_int_equal(hbt_int(h, "seq"), SLOW_EVENTS);
    json_decref(h);
    hbt_hq_stop(&hq, SIGTERM);
    hbt_notify_stop(&l, heard, sizeof heard);
    hbt_assert_contains(heard, "READY=1 STOPPING=1 ");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_stuck_writer_stops_the_pets, hbt_tmpdir_setup,
                                                 hbt_tmpdir_notify_teardown, &s_tmp),
        cmocka_unit_test_prestate_setup_teardown(test_long_rebuild_extends_the_start,
                                                 hbt_tmpdir_setup, hbt_tmpdir_notify_teardown,
                                                 &s_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
