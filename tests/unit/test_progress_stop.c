/* Unit tests of hb_progress_stop (common/base/progress.c), which HQ's
 * writer, live mirror and rollup threads are ended by: real threads sleep
 * on real condition variables without a timeout, and the call must set the
 * flag, wake every sleeper of every condition it is given and join the
 * worker. A sleeper whose condition it is not given stays asleep (checked,
 * then woken by the test). The watchdog's beats are tested in
 * test_progress.c. */
#include "hallbus/progress.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t work, room; /* the worker's, and one a caller waits on */
    bool stopping;
} world_t;

/* A thread that sleeps on `cond` until the world stops, then says so. */
typedef struct {
    world_t *w;
    pthread_cond_t *cond;
    bool done;
} sleeper_t;

static void *s_sleep(void *arg)
{
    sleeper_t *z = arg;
    pthread_mutex_lock(&z->w->lock);
    while (!z->w->stopping)
        pthread_cond_wait(z->cond, &z->w->lock);
    z->done = true;
    pthread_mutex_unlock(&z->w->lock);
    return NULL;
}

/* Joins `t` within two seconds: false when it is still running. */
static bool s_joined(pthread_t t)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    return pthread_timedjoin_np(t, NULL, &until) == 0;
}

HBT_TEST_IN(test_stop_wakes_the_conditions_given, NULL, NULL)
{
    (void)state;
    /* Each row: how many of {work, room} the stop is given, and whether
     * the caller sleeping on `room` is woken by it. */
    static const struct {
        size_t n;
        bool caller_woken;
    } rows[] = {{1, false}, {2, true}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        world_t w = {.lock = PTHREAD_MUTEX_INITIALIZER,
                     .work = PTHREAD_COND_INITIALIZER,
                     .room = PTHREAD_COND_INITIALIZER};
        sleeper_t wz = {&w, &w.work, false}, cz = {&w, &w.room, false};
        pthread_t worker, caller;
        assert_int_equal(pthread_create(&worker, NULL, s_sleep, &wz), 0);
        assert_int_equal(pthread_create(&caller, NULL, s_sleep, &cz), 0);
        /* Both asleep before the stop (a stop before they sleep would pass
         * without testing the wake-up). */
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
        hb_progress_stop(worker, &w.lock, &w.stopping, (pthread_cond_t *const[]){&w.work, &w.room},
                         rows[r].n);
        pthread_mutex_lock(&w.lock);
        bool worker_done = wz.done, stopping = w.stopping;
        pthread_mutex_unlock(&w.lock);
        if (!stopping || !worker_done)
            fail_msg("row %zu: stopping %d, worker done %d after the stop", r, stopping,
                     worker_done);
        bool woken = s_joined(caller);
        if (woken != rows[r].caller_woken)
            fail_msg("row %zu: the caller on `room` %s", r, woken ? "woke" : "slept on");
        if (!woken) {
            pthread_mutex_lock(&w.lock);
            pthread_cond_broadcast(&w.room);
            pthread_mutex_unlock(&w.lock);
            assert_true(s_joined(caller));
        }
        assert_true(cz.done);
    }
}
