/* The drive mode's insides, shared by its two files and by nobody else:
 * simdrive.c (the schedule, the entities' bookkeeping and the requests
 * each step makes) and simdrive_answers.c (what an answer, or a read of the
 * hall's state, does to that bookkeeping). The public face is simdrive.h;
 * names here are simdrive__ (libuv's uv__ style for what is internal). */
#ifndef HALLBUS_SIMDRIVE_INT_H
#define HALLBUS_SIMDRIVE_INT_H

#include "simdrive.h"

#include "sim.h"

#include <stdbool.h>
#include <stdint.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define NEVER INT64_MAX

#define ID_MAX 65      /* an id the hall hands out (HB_ID_MAX) and its NUL */
#define STRIKES_MAX 3  /* refusals in a row before an entity is left alone */
#define RECALLS_CAP 10 /* recalls before the driver declares the no-show itself */
#define READ_BACKOFF_MIN (10 * SEC)
#define READ_BACKOFF_MAX (10 * MIN)
/* Not in the event model: now and then a B or C customer turns out to need
 * the cash desk too, and the clerk transfers the ticket to A part way
 * through (it keeps its place there by its first issue time). */
#define TRANSFER_SHARE 0.05
#define TRANSFER_POINT 0.4
#define TRANSFER_TO 0
#define STAFF_MANAGER "M01"

typedef struct sd_timer {
    int64_t at; /* simulated ms; NEVER when not set */
    uint32_t order;
} sd_timer_t;

enum customer_state {
    CUST_FREE,
    CUST_PENDING, /* asked for a ticket, no answer yet */
    CUST_WAITING,
    CUST_CALLED,    /* to one of our counters */
    CUST_SERVING,   /* at one of our counters */
    CUST_ELSEWHERE, /* at a counter this driver does not run, or of a service it does not know */
};

typedef struct customer {
    int state;
    char ticket[ID_MAX];
    int service; /* 0 = A */
    int priority;
    const char *source;
    hb_sim_rng_t rng;
    int64_t arrived_ms, called_ms;
    int64_t patience_ms;
    int recalls_needed, recalls_done;
    int transfer_to; /* a service, or -1 */
    bool transferred;
    const hb_sim_business_t *business;
    int64_t service_ms;
    bool not_done; /* the service ended referred or rejected */
    sd_timer_t renege;
    uint8_t strikes;
    bool seen; /* while reading the hall's state */
} customer_t;

enum counter_state { CTR_CLOSED, CTR_IDLE, CTR_CALLING, CTR_SERVING, CTR_PAUSED, CTR_DONE };
enum lunch_state { LUNCH_AHEAD, LUNCH_DUE, LUNCH_TAKING, LUNCH_TAKEN };
#define LUNCH_RETRY_MS (15 * 60 * 1000) /* a lunch the engine refused is tried again after this */
#define LUNCH_TRIES 4                   /* refused this often, the clerk skips lunch that day */

typedef struct counter {
    hb_sim_counter_plan_t plan;
    unsigned services; /* as the hall says once it has said */
    int state, lunch;
    char ticket[ID_MAX]; /* called or being served */
    sd_timer_t step, lunch_at;
    uint8_t strikes;
    uint8_t lunch_refused; /* pauses the engine refused today (last_counter) */
    bool abandoned;        /* left to the hall for the rest of the day */
} counter_t;

enum followup_kind { FU_FREE, FU_SCORE, FU_COMPLAINT };

typedef struct followup {
    int kind;
    char ticket[ID_MAX];
    int counter;
    int score;
    bool long_wait;
    hb_sim_rng_t rng;
    hb_sim_complaint_t complaint; /* drawn when the complaint is made */
    sd_timer_t timer;
} followup_t;

enum complaint_state { CP_FREE, CP_OPEN, CP_ACKED, CP_ESCALATED };

typedef struct complaint {
    int state;
    char id[ID_MAX];
    int severity_rank;
    const char *resolution;
    bool escalate; /* decided at the acknowledgement */
    hb_sim_rng_t rng;
    sd_timer_t timer;
    uint8_t strikes;
    bool seen;
} complaint_t;

typedef struct device_step {
    int device;
    bool fault;
    sd_timer_t timer;
} device_step_t;

#define DEVICE_STEPS_MAX (3 * HB_SIM_DEVICES) /* ok at opening, fault, repaired */

/* What a timer belongs to. */
enum who {
    W_NONE,
    W_READ,
    W_ARRIVAL,
    W_CLOSING,
    W_DEVICE,
    W_STEP,
    W_LUNCH,
    W_RENEGE,
    W_FOLLOWUP,
    W_COMPLAINT
};

struct hb_simdrive {
    uint64_t day_seed;
    int64_t open_ms, close_ms, now_ms;
    uint32_t order;
    hb_sim_character_t ch;

    hb_sim_rng_t arrivals;
    sd_timer_t arrival; /* the next candidate arrival */
    uint32_t arrival_no;
    sd_timer_t closing;
    bool doors_closed;
    bool kiosk_out;

    int n_counters;
    counter_t counters[HB_SIM_COUNTERS_MAX];
    customer_t customers[HB_SD_CUSTOMERS_MAX];
    followup_t followups[HB_SD_FOLLOWUPS_MAX];
    complaint_t complaints[HB_SD_COMPLAINTS_MAX];
    int n_device_steps;
    device_step_t device_steps[DEVICE_STEPS_MAX];

    bool need_read;   /* the hall's state must be read before anything else */
    bool unreachable; /* the last request got no answer */
    sd_timer_t read;
    int64_t read_backoff_ms;

    bool out; /* a request is out */
    hb_sd_kind_t out_kind;
    int out_index; /* the entity it is for */
    bool over;
    hb_sd_stats_t stats;
};

/* ---- timers: an entity's next step, ordered by time, then by when set */
void simdrive__arm(hb_simdrive_t *d, sd_timer_t *t, int64_t at);
void simdrive__disarm(sd_timer_t *t);

/* ---- reading what the hall says */
static inline bool simdrive__ok(int status) { return status >= 200 && status < 300; }
bool simdrive__id_ok(const char *id);
const char *simdrive__str(const json_t *obj, const char *name);
uint64_t simdrive__hash(const char *text);
int simdrive__service_index(const char *code);
int simdrive__severity_rank(const char *name);
/* The hall said what the bookkeeping did not foresee: read its state next. */
void simdrive__surprise(hb_simdrive_t *d);

/* ---- the entities (simdrive.c) */
customer_t *simdrive__customer(hb_simdrive_t *d, const char *ticket);
customer_t *simdrive__customer_new(hb_simdrive_t *d, uint64_t seed);
void simdrive__customer_free(customer_t *c);
int simdrive__counter_index(const hb_simdrive_t *d, const char *id);
void simdrive__wake(hb_simdrive_t *d, int service);
void simdrive__counter_idle(hb_simdrive_t *d, counter_t *k);
void simdrive__send_home(hb_simdrive_t *d);
void simdrive__counter_abandon(hb_simdrive_t *d, counter_t *k);
void simdrive__counter_refused(hb_simdrive_t *d, counter_t *k);
followup_t *simdrive__followup_new(hb_simdrive_t *d, int kind, const customer_t *c, int counter);
complaint_t *simdrive__complaint(hb_simdrive_t *d, const char *id);
complaint_t *simdrive__complaint_new(hb_simdrive_t *d, const char *id);
void simdrive__complaint_free(complaint_t *p);
void simdrive__complaint_acked(hb_simdrive_t *d, complaint_t *p);
void simdrive__complaint_refused(hb_simdrive_t *d, complaint_t *p);

/* ---- the answers (simdrive_answers.c): each moves the entity the request
 * was for on and sets its next timer */
void simdrive__answer_ticket(hb_simdrive_t *d, customer_t *c, int status, const json_t *body);
void simdrive__answer_counter(hb_simdrive_t *d, int i, hb_sd_kind_t kind, int status,
                              const json_t *body);
void simdrive__answer_complaint(hb_simdrive_t *d, int i, hb_sd_kind_t kind, int status);
void simdrive__answer_followup(hb_simdrive_t *d, int i, int status, const json_t *body);
/* GET /v1/hall's answer: what the hall says replaces what was believed. */
void simdrive__answer_read(hb_simdrive_t *d, int status, const json_t *view);

#endif
