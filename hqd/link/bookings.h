/* HQ's bookings in flight: the app's and the web hall's POST
 * /v1/appointments, each sent to its hall over the link as a
 * BookingRequest under a number of HQ's own, waits here until the hall's
 * BookingAnswer comes back or its deadline passes; either way its `done`
 * is called exactly once. At most HQ_BOOKINGS_MAX wait at a time; an
 * answer that matches nothing waiting (it came late, or from a hall the
 * request was not sent to) is counted and dropped.
 *
 * Loop thread only. Not here: reading or answering the HTTP request
 * (api/booking.c), nor deciding the booking: the hall's engine does, by
 * the same rules as a booking made at the hall. */
#ifndef HQD_BOOKINGS_H
#define HQD_BOOKINGS_H

#include "halls.h"
#include "ingest.h"
#include "hallbus.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

#define HQ_BOOKINGS_MAX 1024

typedef struct hq_bookings hq_bookings_t;

/* What became of one request. `status` 0: the hall did not answer by the
 * deadline (or HQ is stopping); then the rest is NULL. Otherwise the
 * hall's answer, valid during the call. */
typedef struct hq_booking_result {
    int status;
    const char *error;
    const char *body;
    bool replayed;
} hq_booking_result_t;

typedef void (*hq_booking_done_fn)(void *arg, const hq_booking_result_t *res);

typedef struct hq_bookings_stats {
    uint64_t sent, answered, timed_out;
    uint64_t stray; /* answers matching no request waiting */
    uint64_t busy;  /* requests refused: HQ_BOOKINGS_MAX were waiting */
    uint64_t waiting;
} hq_bookings_stats_t;

/* `timeout_ms`: how long a request waits for its hall's answer. */
int hq_bookings_new(hq_ingest_t *ing, int64_t timeout_ms, hq_bookings_t **out);
/* Calls every waiting request's `done` with status 0, then frees. */
void hq_bookings_destroy(hq_bookings_t **b);
int64_t hq_bookings_timeout_ms(const hq_bookings_t *b);

/* Sends `rq` to `hall` (its `request` number and `expires_ms`, the
 * deadline in the hall's clock as far as HQ knows the hall's skew, are
 * set here). 0: `done` is called exactly once, later or even before this
 * call returns (the socket is read after the send, and a hall may answer
 * at once), so the caller has everything `done` needs in place first and
 * touches `arg` no more after a 0. HB_ETOOBIG (HQ_BOOKINGS_MAX waiting),
 * HB_ENOTFOUND (the hall has no connection), HB_EAGAIN (its queue is
 * full): then `done` is never called. */
int hq_bookings_send(hq_bookings_t *b, hq_hall_t *hall, Hallbus__BookingRequest *rq,
                     hq_booking_done_fn done, void *arg);
/* The ingest's answer hook (hq_ingest_set_booking_hook). */
void hq_bookings_on_answer(void *b, hq_hall_t *hall, const Hallbus__BookingAnswer *answer);
/* Ends the requests whose deadline passed (hqd's housekeeping tick). */
void hq_bookings_tick(hq_bookings_t *b);
void hq_bookings_get_stats(const hq_bookings_t *b, hq_bookings_stats_t *out);

#endif
