/* The bookings in flight (see bookings.h): a fixed table of waiting
 * requests, searched by number. A table of 1,024 rows searched in full on
 * each answer and each tick costs microseconds, less than one map would
 * cost to keep. Request numbers start from the clock at start, so that a
 * late answer to a request of an HQ that restarted meanwhile matches
 * nothing. */
#include "bookings.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdlib.h>
#include <string.h>

/* The hall's deadline comes this much before HQ's (at most a quarter of the
 * timeout), so that a booking the hall makes at its last moment still has
 * the time to travel back before HQ tells its caller there was no answer. */
#define HQ_BOOKINGS_MARGIN_MS 1000

typedef struct waiting {
    uint64_t request; /* 0: a free row */
    uint32_t hall;    /* the hall's number */
    int64_t deadline; /* monotonic */
    hq_booking_done_fn done;
    void *arg;
} waiting_t;

struct hq_bookings {
    hq_ingest_t *ing;
    int64_t timeout_ms;
    uint64_t next;
    hq_bookings_stats_t stats;
    waiting_t rows[HQ_BOOKINGS_MAX];
};

int hq_bookings_new(hq_ingest_t *ing, int64_t timeout_ms, hq_bookings_t **out)
{
    hq_bookings_t *b = calloc(1, sizeof *b);
    if (!b)
        return HB_ENOMEM;
    b->ing = ing;
    b->timeout_ms = timeout_ms;
    b->next = (uint64_t)hb_now_ms() * 1000;
    *out = b;
    return 0;
}

int64_t hq_bookings_timeout_ms(const hq_bookings_t *b) { return b->timeout_ms; }

/* Frees the row first: `done` may send another request. */
static void s_finish(hq_bookings_t *b, waiting_t *w, const hq_booking_result_t *res)
{
    hq_booking_done_fn done = w->done;
    void *arg = w->arg;
    memset(w, 0, sizeof *w);
    b->stats.waiting--;
    done(arg, res);
}

static void s_fini(hq_bookings_t *b)
{
    hq_booking_result_t none = {0};
    for (size_t i = 0; i < HQ_BOOKINGS_MAX; i++)
        if (b->rows[i].request)
            s_finish(b, &b->rows[i], &none);
}

void hq_bookings_destroy(hq_bookings_t **bp) { HB_DESTROY(bp, s_fini); }

int hq_bookings_send(hq_bookings_t *b, hq_hall_t *hall, Hallbus__BookingRequest *rq,
                     hq_booking_done_fn done, void *arg)
{
    waiting_t *w = NULL;
    for (size_t i = 0; i < HQ_BOOKINGS_MAX && !w; i++)
        if (!b->rows[i].request)
            w = &b->rows[i];
    if (!w) {
        b->stats.busy++;
        return HB_ETOOBIG;
    }
    int64_t margin =
        b->timeout_ms / 4 < HQ_BOOKINGS_MARGIN_MS ? b->timeout_ms / 4 : HQ_BOOKINGS_MARGIN_MS;
    rq->request = ++b->next;
    /* In the hall's clock: HQ's deadline plus the hall's skew (its clock
     * minus HQ's) as last measured. */
    rq->expires_ms =
        hb_now_ms() + b->timeout_ms - margin + (hall->skew_known ? hall->clock_skew_ms : 0);
    /* Waiting before it is sent: the flush below may read the answer
     * already (a replay is answered in microseconds on loopback). */
    w->request = rq->request;
    w->hall = hall->num;
    w->deadline = hb_mono_ms() + b->timeout_ms;
    w->done = done;
    w->arg = arg;
    b->stats.waiting++;
    int rc = hq_ingest_send_booking(b->ing, hall, rq);
    if (rc != 0) {
        memset(w, 0, sizeof *w);
        b->stats.waiting--;
        return rc;
    }
    b->stats.sent++;
    /* ZMQ_FD is edge-triggered: what arrived meanwhile is read now. */
    hq_ingest_flush(b->ing);
    return 0;
}

void hq_bookings_on_answer(void *arg, hq_hall_t *hall, const Hallbus__BookingAnswer *a)
{
    hq_bookings_t *b = arg;
    for (size_t i = 0; i < HQ_BOOKINGS_MAX; i++) {
        waiting_t *w = &b->rows[i];
        if (w->request != a->request || a->request == 0)
            continue;
        if (w->hall != hall->num)
            break; /* another hall's number: not its answer to give */
        b->stats.answered++;
        hq_booking_result_t res = {.status = (int)a->status,
                                   .error = a->error ? a->error : "",
                                   .body = a->body ? a->body : "",
                                   .replayed = a->replayed};
        s_finish(b, w, &res);
        return;
    }
    b->stats.stray++;
    hb_log_once("booking-stray", HB_LOG_INFO,
                "bookings: hall %s answered request %llu, which is not waiting (it came after "
                "the deadline, or was not this hall's)",
                hall->id, (unsigned long long)a->request);
}

void hq_bookings_tick(hq_bookings_t *b)
{
    if (b->stats.waiting == 0)
        return;
    int64_t now = hb_mono_ms();
    hq_booking_result_t none = {0};
    for (size_t i = 0; i < HQ_BOOKINGS_MAX; i++) {
        waiting_t *w = &b->rows[i];
        if (w->request && now >= w->deadline) {
            b->stats.timed_out++;
            s_finish(b, w, &none);
        }
    }
}

void hq_bookings_get_stats(const hq_bookings_t *b, hq_bookings_stats_t *out) { *out = b->stats; }
