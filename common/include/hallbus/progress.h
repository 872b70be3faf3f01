/* Proof that a daemon's threads are alive, for systemd's watchdog: each
 * thread that must not get stuck (hqd's writer, its live mirror, ZAP, and
 * any thread added later) registers itself in one line at its start and
 * beats while it works and while it waits idle; the daemon's housekeeping
 * tick asks which threads have been quiet too long, and pets the watchdog
 * only when none has (common/base/daemon.c). A writer blocked in a system
 * call then stops the petting, and systemd restarts the daemon.
 *
 * Not a profiler and not a lock checker: a beat says "this thread ran
 * again", nothing about how much it did. The loop thread needs no beat: the
 * tick that checks runs on it, so a stuck loop pets nothing anyway. */
#ifndef HALLBUS_PROGRESS_H
#define HALLBUS_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_PROGRESS_THREADS_MAX 32 /* threads registered at once, at most */
#define HB_PROGRESS_NAME_MAX 16    /* a thread's name, with its '\0' */
/* A registered thread beats at least this often, also while it has nothing
 * to do: it waits with a timeout of at most this long. */
#define HB_PROGRESS_IDLE_MS 1000

/* Registers the calling thread under `name` (cut to 15 bytes) and counts
 * this as its first beat. Returns 0, or HB_ETOOBIG when
 * HB_PROGRESS_THREADS_MAX threads are registered already (logged: that
 * thread is then not watched). A thread registers once; a second call
 * renames it. */
int hb_progress_register(const char *name);
/* The calling thread ends: it is not watched any more. A thread that ends
 * without this stays registered and is seen as stuck, which is what a
 * thread that vanished is. Does nothing for a thread not registered. */
void hb_progress_unregister(void);
/* The calling thread made progress, or woke from an idle wait. A few
 * nanoseconds (a clock read and a store); does nothing for a thread that
 * is not registered, so code shared with tests and tools may call it. */
void hb_progress_beat(void);

/* A condition variable for a watched thread's idle waits: its timed waits
 * run on the monotonic clock, so a wall clock set back by hours cannot
 * turn a one-second wait into hours (and the thread into a stuck one).
 * 0, or HB_ESYS. */
int hb_progress_cond_init(pthread_cond_t *cond);
/* The idle wait of a watched thread: waits on `cond` (made by
 * hb_progress_cond_init, `lock` held) until it is signalled or
 * HB_PROGRESS_IDLE_MS passed, then beats. The caller checks its condition
 * again, as after any condition wait. */
void hb_progress_idle_wait(pthread_cond_t *cond, pthread_mutex_t *lock);
/* Ends a worker thread (watched or not) that waits on conditions under
 * `lock`: sets *stopping under the lock, wakes every waiter of each of the
 * `n` conditions in `conds` (its own, and any its callers wait on, so none
 * sleeps on a thread that is gone), then joins it. */
void hb_progress_stop(pthread_t thread, pthread_mutex_t *lock, bool *stopping,
                      pthread_cond_t *const *conds, size_t n);

/* A thread that has been quiet. */
typedef struct hb_progress_quiet {
    char name[HB_PROGRESS_NAME_MAX];
    int64_t quiet_ms; /* since its last beat */
} hb_progress_quiet_t;

/* The registered threads whose last beat is more than `quiet_ms` before
 * `now_ms` (hb_mono_ms()): how many there are, the first `max` of them in
 * `out` (which may be NULL with max 0). 0: every registered thread has
 * made progress within `quiet_ms`. Any thread may ask. */
size_t hb_progress_quiet(int64_t now_ms, int64_t quiet_ms, hb_progress_quiet_t *out, size_t max);
/* How many threads are registered now (for tests and /v1/status). */
size_t hb_progress_registered(void);

#endif
