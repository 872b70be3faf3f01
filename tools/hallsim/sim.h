/* The traffic model behind hallsim: one simulated opening day of one service
 * hall, as the time-ordered stream of events the hall would record, in the
 * hall's JSON event form (proto/hallbus.proto; see codec.h). Customers arrive
 * on a curve with a morning and a lunch peak, take tickets, are called by
 * counters, served, sometimes do not show or leave, sometimes complain;
 * counters rotate for lunch; the kiosk runs out of paper now and then.
 *
 * The model is pure and deterministic: no clock, no I/O, no global state; the
 * same (seed, hall index, opening time) always gives the same stream. Sending
 * the events anywhere, and pacing them against a real clock, is the caller's
 * business (tools/hallsim/hallsim.c). It does not run a hall's real queue rules: the
 * hall engine owns those.
 *
 * The second half of this header is the model's pieces on their own (its
 * random stream, a hall's character, and one draw per decision a customer,
 * a clerk or a duty manager makes), so that hallsim's drive mode
 * (simdrive.h), where a real hall engine decides the queue, makes the same
 * decisions in the same proportions. */
#ifndef HALLBUS_SIM_H
#define HALLBUS_SIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The posted hours of every simulated hall, as seconds after local midnight.
 * Customers arrive from opening to closing; those still waiting at closing
 * are served, then the counters close. */
#define HB_SIM_OPEN_S (9 * 3600)
#define HB_SIM_CLOSE_S (17 * 3600)

#define HB_SIM_COUNTERS_MIN 3
#define HB_SIM_COUNTERS_MAX 6

typedef struct hb_sim_hall hb_sim_hall_t;

/* What a hall is like and what it has done so far today. */
typedef struct hb_sim_stats {
    double size;          /* arrival-rate factor of this hall (1.0 = a typical hall) */
    int counters;         /* counters the hall opens, HB_SIM_COUNTERS_MIN..MAX */
    uint32_t issued;      /* tickets issued */
    uint32_t served;      /* services completed */
    uint32_t no_shows;    /* tickets that ended as no-shows */
    uint32_t cancelled;   /* customers who left before being called */
    uint32_t turned_away; /* arrivals refused because the queue was full */
    uint32_t complaints;  /* complaints opened */
    uint32_t events;      /* events handed out by hb_sim_next */
} hb_sim_stats_t;

/* A hall's day. `hall_index` (0, 1, ...) tells halls of one run apart: the
 * hall's size and number of counters depend on (seed, hall_index) only, so a
 * hall keeps them from one day to the next; the day's customers depend on
 * all three. `open_ms` is the instant, ms since the Unix epoch, at which the
 * hall opens (HB_SIM_OPEN_S local time on the simulated day); every event
 * time is `open_ms` plus simulated time since opening. Returns NULL when out
 * of memory. */
hb_sim_hall_t *hb_sim_hall_new(uint64_t seed, int hall_index, int64_t open_ms);

/* The next event of the day, in time order (events at the same millisecond
 * come in the order they happened). On 0, `*sim_time_ms` is its simulated
 * time (ms since the epoch, >= that of the previous event) and `*event` a
 * new JSON object the caller owns ({"type": ..., "at": RFC 3339 of the
 * simulated time, ...fields}); a caller that posts it to a real hall should
 * replace or drop "at" (a hall refuses times in its future). Returns
 * HB_ECLOSED once the day is over (every customer gone, every counter closed,
 * every complaint resolved), and on every call after that; HB_ENOMEM or
 * HB_ETOOBIG (a model bound was hit) on failure, after which the hall only
 * returns that error. `*event` is NULL whenever the return is not 0. */
int hb_sim_next(hb_sim_hall_t *h, int64_t *sim_time_ms, json_t **event);

/* Fills `out` with the hall's character and its counts so far. */
void hb_sim_hall_stats(const hb_sim_hall_t *h, hb_sim_stats_t *out);

/* Customers per hour expected at `tod_s` seconds after local midnight for a
 * hall of `size` (0 outside the opening hours): the curve the arrivals
 * follow. */
double hb_sim_arrival_rate(double size, int tod_s);

/* Frees the hall and any events it still held; idempotent, sets *h_p NULL. */
void hb_sim_hall_destroy(hb_sim_hall_t **h_p);

/* ---------------------------------------------------- the model's pieces */

#define HB_SIM_SERVICES 3      /* A cash and payments, B accounts, C business */
#define HB_SIM_RECALLS_MAX 2   /* recalls before the model's own no-show */
#define HB_SIM_RECALL_MS 60000 /* between a call and its recall */
#define HB_SIM_LUNCH_MS (30 * 60 * 1000)
#define HB_SIM_AGEING_MS (30 * 60 * 1000) /* a wait this long disappoints */
#define HB_SIM_DEVICES 2

/* Priorities in the model's order (not Hallbus__Priority's numbers). */
enum { HB_SIM_PRIO_NORMAL, HB_SIM_PRIO_ELDERLY, HB_SIM_PRIO_VIP, HB_SIM_PRIO_APPOINTMENT };

/* The random stream: xoshiro256** seeded through splitmix64, the same on
 * every platform. A value type: copy it to fork a stream. */
typedef struct hb_sim_rng {
    uint64_t s[4];
} hb_sim_rng_t;

void hb_sim_rng_seed(hb_sim_rng_t *r, uint64_t seed);
uint64_t hb_sim_u64(hb_sim_rng_t *r);
/* Uniform in [0, 1). */
double hb_sim_u01(hb_sim_rng_t *r);
/* Uniform in [lo, hi). */
int64_t hb_sim_between(hb_sim_rng_t *r, int64_t lo, int64_t hi);
/* One seed from three numbers, for streams that must not depend on each
 * other (a hall's character, its day, one customer). */
uint64_t hb_sim_mix(uint64_t seed, uint64_t a, uint64_t b);

/* What a hall is like, from (seed, hall index) alone: its size, its
 * counters, who staffs them, what they serve and when each takes lunch.
 * Counter 1 serves everything and the others a part, so that every service
 * has at least two counters; lunch goes one counter at a time from 11:30,
 * the all-services counter last, so that every service stays open. */
typedef struct hb_sim_counter_plan {
    char id[12];
    char staff[16];
    unsigned services;       /* bit per service, 1 << 0 = A */
    int64_t lunch_offset_ms; /* lunch starts this long after opening */
} hb_sim_counter_plan_t;

typedef struct hb_sim_character {
    double size; /* arrival-rate factor (1.0 = a typical hall) */
    int n_counters;
    hb_sim_counter_plan_t counters[HB_SIM_COUNTERS_MAX];
} hb_sim_character_t;

void hb_sim_character(uint64_t seed, int hall_index, hb_sim_character_t *out);

/* Names as the hall's API takes them. */
const char *hb_sim_priority_name(int priority);
/* "A", "B", "C" for 0, 1, 2. */
const char *hb_sim_service_code(int service);

/* Arrivals by thinning (Lewis and Shedler): candidates come at the peak
 * rate of a hall of `size`, and each is a customer with probability
 * rate(now) / peak. The gap to the next candidate, in ms (>= 1): */
int64_t hb_sim_draw_arrival_gap_ms(hb_sim_rng_t *r, double size);
/* Whether the candidate at `tod_s` (seconds after local midnight) is a
 * customer. */
bool hb_sim_draw_arrival(hb_sim_rng_t *r, double size, int tod_s);

/* A customer: the service they come for (0 = A), their priority, how the
 * ticket is taken ("app" for appointments, "staff" when the kiosk is out of
 * order and now and then otherwise, else "kiosk"), and how long they wait
 * before giving up. */
int hb_sim_draw_service(hb_sim_rng_t *r);
int hb_sim_draw_priority(hb_sim_rng_t *r);
const char *hb_sim_draw_source(hb_sim_rng_t *r, int priority, bool kiosk_out);
int64_t hb_sim_draw_patience_ms(hb_sim_rng_t *r);

/* When called: the recalls it takes before the customer comes (0 at once,
 * above HB_SIM_RECALLS_MAX never: a no-show), and the walk to the counter
 * after the call that brings them (a shorter one after a recall). */
int hb_sim_draw_recalls_needed(hb_sim_rng_t *r);
int64_t hb_sim_draw_walk_ms(hb_sim_rng_t *r, bool after_recall);

/* At the counter: what the customer's business is (a service's types in
 * their proportions), how long it takes (lognormal around the type's mean,
 * at least 45 s and at most four times the mean), and how it ends. */
enum hb_sim_amount_kind { HB_SIM_AMOUNT_NONE, HB_SIM_AMOUNT_BILL, HB_SIM_AMOUNT_CASH };

typedef struct hb_sim_business {
    int service;
    const char *name;
    double mean_s;
    int weight; /* per cent among the service's types */
    int amount; /* enum hb_sim_amount_kind */
} hb_sim_business_t;

typedef struct hb_sim_result {
    const char *outcome; /* "done", "referred", "rejected_documents" */
    bool done;
    int64_t amount; /* minor units; 0 when none */
} hb_sim_result_t;

const hb_sim_business_t *hb_sim_draw_business(hb_sim_rng_t *r, int service);
int64_t hb_sim_draw_service_ms(hb_sim_rng_t *r, const hb_sim_business_t *b);
void hb_sim_draw_result(hb_sim_rng_t *r, const hb_sim_business_t *b, hb_sim_result_t *out);

/* After the service: the score (1..5, lowered now and then for a
 * `disappointed` customer: a long wait or not done) and how long after it
 * comes, or 0 when the customer gives none; and whether they complain later
 * that day (about one in 150), and when. */
int hb_sim_draw_score(hb_sim_rng_t *r, bool disappointed, int64_t *after_ms);
bool hb_sim_draw_complains(hb_sim_rng_t *r, int64_t *after_ms);

/* A complaint: channel, category (more often the waiting time after a long
 * wait), severity, the customer's words, how it will be resolved, and how
 * soon the duty manager acknowledges it (sooner for high and critical). */
typedef struct hb_sim_complaint {
    const char *channel, *category, *severity, *text, *resolution;
    int severity_rank; /* 0 low .. 3 critical */
    bool anonymous;    /* from the suggestion box: no ticket */
    int64_t ack_after_ms;
} hb_sim_complaint_t;

void hb_sim_draw_complaint(hb_sim_rng_t *r, bool long_wait, hb_sim_complaint_t *out);
/* Once acknowledged: whether the duty manager takes it up (critical ones
 * always, some high ones), and the time to that escalation or else to the
 * resolution. The level and reason of that escalation: */
bool hb_sim_draw_escalation(hb_sim_rng_t *r, int severity_rank, int64_t *next_ms);
const char *hb_sim_escalation_level(int severity_rank);
const char *hb_sim_escalation_reason(int severity_rank);
/* Once escalated: the time to the resolution. */
int64_t hb_sim_draw_resolve_after_escalation_ms(hb_sim_rng_t *r);
/* Whether the customer was satisfied with the resolution. */
bool hb_sim_draw_satisfied(hb_sim_rng_t *r);

/* The hall's self-service devices: the kiosk runs out of paper on about
 * half the days, the cash machine jams on one day in four. */
typedef struct hb_sim_device {
    const char *id, *kind, *fault_state, *fault_detail;
} hb_sim_device_t;

const hb_sim_device_t *hb_sim_device(int index);
/* Whether device `index` fails in a day that lasts `day_ms` from opening;
 * when it does, the fault and the repair in ms after opening. */
bool hb_sim_draw_device_fault(hb_sim_rng_t *r, int index, int64_t day_ms, int64_t *fault_ms,
                              int64_t *fixed_ms);

#endif
