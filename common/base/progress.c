/* The threads' beats (see progress.h): one fixed table of slots, each
 * thread's own slot reached through a thread-local pointer, so that a beat
 * is a clock read and a relaxed store, with no lock a stuck thread could
 * hold. A slot is claimed with a compare-and-swap, filled, then published;
 * whoever reads the table sees only published slots. */
#include "hallbus/progress.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

enum { SLOT_FREE = 0, SLOT_CLAIMED, SLOT_LIVE };

typedef struct slot {
    _Atomic int state;
    _Atomic int64_t last_ms;         /* hb_mono_ms() of the last beat */
    char name[HB_PROGRESS_NAME_MAX]; /* written before the slot is published */
} slot_t;

static slot_t s_slots[HB_PROGRESS_THREADS_MAX];
static _Thread_local slot_t *s_mine;

int hb_progress_register(const char *name)
{
    slot_t *slot = s_mine;
    if (!slot) {
        for (size_t i = 0; i < HB_PROGRESS_THREADS_MAX && !slot; i++) {
            int expected = SLOT_FREE;
            if (atomic_compare_exchange_strong(&s_slots[i].state, &expected, SLOT_CLAIMED))
                slot = &s_slots[i];
        }
        if (!slot) {
            hb_log_once("progress-full", HB_LOG_WARN,
                        "progress: %d threads are watched already; thread %s is not",
                        HB_PROGRESS_THREADS_MAX, name);
            return HB_ETOOBIG;
        }
    } else {
        /* A rename: readers skip the slot while its name changes. */
        atomic_store(&slot->state, SLOT_CLAIMED);
    }
    snprintf(slot->name, sizeof slot->name, "%s", name);
    atomic_store_explicit(&slot->last_ms, hb_mono_ms(), memory_order_relaxed);
    atomic_store_explicit(&slot->state, SLOT_LIVE, memory_order_release);
    s_mine = slot;
    return 0;
}

void hb_progress_unregister(void)
{
    slot_t *slot = s_mine;
    if (!slot)
        return;
    s_mine = NULL;
    atomic_store_explicit(&slot->state, SLOT_FREE, memory_order_release);
}

void hb_progress_beat(void)
{
    slot_t *slot = s_mine;
    if (slot)
        atomic_store_explicit(&slot->last_ms, hb_mono_ms(), memory_order_relaxed);
}

size_t hb_progress_quiet(int64_t now_ms, int64_t quiet_ms, hb_progress_quiet_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < HB_PROGRESS_THREADS_MAX; i++) {
        slot_t *slot = &s_slots[i];
        if (atomic_load_explicit(&slot->state, memory_order_acquire) != SLOT_LIVE)
            continue;
        int64_t quiet = now_ms - atomic_load_explicit(&slot->last_ms, memory_order_relaxed);
        if (quiet <= quiet_ms)
            continue;
        if (n < max) {
            memcpy(out[n].name, slot->name, sizeof out[n].name);
            out[n].quiet_ms = quiet;
            /* Unregistered or renamed while read: not a quiet thread. */
            if (atomic_load_explicit(&slot->state, memory_order_acquire) != SLOT_LIVE)
                continue;
        }
        n++;
    }
    return n;
}

size_t hb_progress_registered(void)
{
    size_t n = 0;
    for (size_t i = 0; i < HB_PROGRESS_THREADS_MAX; i++)
        n += atomic_load_explicit(&s_slots[i].state, memory_order_acquire) == SLOT_LIVE;
    return n;
}

int hb_progress_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return HB_ESYS;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? 0 : HB_ESYS;
}

void hb_progress_idle_wait(pthread_cond_t *cond, pthread_mutex_t *lock)
{
    struct timespec until;
    hb_deadline_after(CLOCK_MONOTONIC, HB_PROGRESS_IDLE_MS, &until);
    pthread_cond_timedwait(cond, lock, &until);
    hb_progress_beat();
}

void hb_progress_stop(pthread_t thread, pthread_mutex_t *lock, bool *stopping,
                      pthread_cond_t *const *conds, size_t n)
{
    pthread_mutex_lock(lock);
    *stopping = true;
    for (size_t i = 0; i < n; i++)
        pthread_cond_broadcast(conds[i]);
    pthread_mutex_unlock(lock);
    pthread_join(thread, NULL);
}
