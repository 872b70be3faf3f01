/* hallsim's drive mode, its decisions: one simulated day of one hall played
 * by its customers, clerks and duty manager through the hall's own local
 * API, while the hall engine decides what it always decides (ticket
 * numbers, who is called next, whether a step is allowed). Customers arrive
 * on the model's curve and take tickets, some leave before they are
 * called; counters open, call when idle, start once the called customer has
 * walked up (or recall, until the engine says no-show), transfer now and
 * then, complete with a business type, outcome and amount, rotate for lunch
 * and close at the end of the day; customers score the service and
 * sometimes complain, and the duty manager acknowledges, escalates and
 * resolves; the kiosk runs out of paper. Every proportion and duration is
 * the traffic model's (sim.h).
 *
 * The module is pure: no clock, no I/O, no global state. It hands out one
 * HTTP request at a time, due at a simulated time, and takes the hall's
 * answer back; the caller (tools/hallsim/hallsim.c) sends the request, paces
 * simulated time against the real clock and retries a hall that does not
 * answer. Decisions depend on (seed, hall index, opening time) and the
 * answers only: every customer, complaint and device draws from its own
 * stream, so the same answers give the same requests.
 *
 * It trusts the hall over its own bookkeeping: it starts the day by reading
 * GET /v1/hall, and reads it again after a request that got no answer (the
 * hall may or may not have acted on it) and after any answer its
 * bookkeeping did not foresee; what the hall says then (tickets, counters,
 * complaints) replaces what it believed. */
#ifndef HALLBUS_SIMDRIVE_H
#define HALLBUS_SIMDRIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define HB_SD_PATH_MAX 160
#define HB_SD_BODY_MAX 1024
#define HB_SD_CUSTOMERS_MAX 1024 /* live customers followed; later arrivals are turned away */
#define HB_SD_FOLLOWUPS_MAX 256  /* scores and complaints still to come */
#define HB_SD_COMPLAINTS_MAX 128 /* complaints followed until resolved */
/* Past closing by this much the day ends whatever is left (a hall that
 * keeps refusing must not hold the driver for ever). */
#define HB_SD_OVERTIME_MS (4LL * 3600 * 1000)

typedef enum hb_sd_kind {
    HB_SD_READ_HALL, /* GET /v1/hall */
    HB_SD_DEVICE,    /* POST /v1/devices/{id}/status */
    HB_SD_COUNTER_OPEN,
    HB_SD_COUNTER_PAUSE,
    HB_SD_COUNTER_RESUME,
    HB_SD_COUNTER_CLOSE,
    HB_SD_CALL,
    HB_SD_RECALL, /* POST /v1/tickets/{t}/recall */
    HB_SD_NO_SHOW,
    HB_SD_START,
    HB_SD_TRANSFER,
    HB_SD_COMPLETE,
    HB_SD_TICKET, /* POST /v1/tickets */
    HB_SD_CANCEL,
    HB_SD_FEEDBACK,
    HB_SD_COMPLAINT_OPEN,
    HB_SD_COMPLAINT_ACK,
    HB_SD_COMPLAINT_ESCALATE,
    HB_SD_COMPLAINT_RESOLVE,
    HB_SD_KINDS
} hb_sd_kind_t;

typedef struct hb_sd_request {
    hb_sd_kind_t kind;
    const char *method; /* "GET" or "POST" (static) */
    char path[HB_SD_PATH_MAX];
    char body[HB_SD_BODY_MAX]; /* JSON text; "" for none */
    int64_t at_ms;             /* the simulated time it was due */
} hb_sd_request_t;

/* What the day did so far, as the driver saw it. */
typedef struct hb_sd_stats {
    uint32_t arrivals;       /* customers who came */
    uint32_t issued;         /* tickets the hall issued them */
    uint32_t refused_closed; /* turned away: the hall was closed (409) */
    uint32_t refused_full;   /* turned away: its queue was full (503) */
    uint32_t turned_away;    /* turned away by the driver's own bound */
    uint32_t missed;         /* came while the hall did not answer, or their request got none */
    uint32_t cancelled, called, recalled, no_shows, started, transferred, served;
    uint32_t feedback;
    uint32_t complaints_opened, complaints_acked, complaints_escalated, complaints_resolved;
    uint32_t device_reports, lunch_breaks;
    uint32_t resyncs;   /* GET /v1/hall read and taken as the truth */
    uint32_t adopted;   /* tickets and complaints found in the hall that it did not know */
    uint32_t vanished;  /* ones it knew that the hall no longer had */
    uint32_t surprises; /* answers a step did not expect (each also counted by the caller) */
    uint32_t given_up;  /* counters, customers, complaints left after repeated refusals */
    uint32_t requests, answered, unanswered;
} hb_sd_stats_t;

typedef struct hb_simdrive hb_simdrive_t;

/* One hall's day: `hall_index` and `seed` as in hb_sim_hall_new (the hall's
 * counters and size are hb_sim_character's), `open_ms` the simulated
 * instant it opens (HB_SIM_OPEN_S local time of the simulated day). NULL
 * when out of memory. */
hb_simdrive_t *hb_simdrive_new(uint64_t seed, int hall_index, int64_t open_ms);
/* Idempotent; sets *d_p NULL. */
void hb_simdrive_destroy(hb_simdrive_t **d_p);

/* The simulated time at which the next request is due, or INT64_MAX while
 * a request is out or once the day is over. */
int64_t hb_simdrive_due(const hb_simdrive_t *d);

/* The next request due at or before simulated time `sim_now_ms`: 0 with
 * `*req` filled, and the request is then "out" until hb_simdrive_answer or
 * hb_simdrive_no_answer; HB_EAGAIN when nothing is due yet; HB_ECLOSED once
 * the day is over (every customer gone, every counter closed, every
 * complaint resolved, or HB_SD_OVERTIME_MS past closing). Steps that need
 * no request (a lunch slot passing at a busy counter) happen inside. It is
 * a programming error to call it while a request is out. */
int hb_simdrive_next(hb_simdrive_t *d, int64_t sim_now_ms, hb_sd_request_t *req);

/* The hall's answer to the request out: its HTTP status and JSON body
 * (NULL when the body was not JSON). */
void hb_simdrive_answer(hb_simdrive_t *d, int status, const json_t *body);
/* The request out got no answer (connection refused or reset, timeout):
 * the hall may or may not have acted on it, so the next request is a
 * GET /v1/hall, and customers who arrive before the hall answers again
 * count as missed. */
void hb_simdrive_no_answer(hb_simdrive_t *d);

/* Whether the hall is closed for the night as the driver sees it: its
 * doors closed, every counter closed, no customer inside, no request out
 * and its state known. What may still come that day is the back office's
 * (complaints followed until resolved, a device report): hallsim skips the
 * empty simulated time before it (hallsim.c, "The night"). */
bool hb_simdrive_closed(const hb_simdrive_t *d);

void hb_simdrive_stats(const hb_simdrive_t *d, hb_sd_stats_t *out);
/* "ticket", "call", "complaint_ack", ... for summaries. */
const char *hb_simdrive_kind_name(hb_sd_kind_t kind);

#endif
