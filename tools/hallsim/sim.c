/* The hallsim traffic model: a discrete-event simulation of one service
 * hall's opening day, handing out the events it produces in time order (see
 * sim.h). Internally a min-heap of scheduled actions (an arrival, a customer
 * reaching a counter, a service ending, a lunch break, a complaint's next
 * step) drives small state machines per counter; each action may emit a few
 * events, queued until hb_sim_next hands them out.
 *
 * It is a model, not a hall engine: the calling rule here is a plausible
 * stand-in (ageing, then priority, then first come first served) so that the
 * stream looks like a day, not the rule a real hall applies. Everything is
 * bounded: waiting tickets, scheduled actions, open complaints.
 *
 * Every random decision is one of the draws in the first half of this file
 * (hb_sim_draw_*), which hallsim's drive mode (simdrive.c) makes too; the
 * day takes them from one stream in a fixed order, so a seed still gives
 * the same day. */
#include "sim.h"

#include "hallbus/error.h"
#include "hallbus/time.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAITING_MAX 400  /* tickets waiting at once; more arrivals are turned away */
#define ACTIONS_MAX 2048 /* scheduled actions; see s_schedule for why this is enough */
#define OUT_MAX 64       /* events one action may emit before they are handed out */
#define COMPLAINTS_OPEN_MAX 32
#define TICKET_ID_MAX 8 /* "A" + up to 5 digits + NUL */
#define COMPLAINT_ID_MAX 32

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

/* The arrival curve, customers per hour for a hall of size 1: a quiet base,
 * a morning peak and a lunch peak (Gaussian bumps: centre, width, height). */
#define RATE_BASE 6.0
#define RATE_MORNING_AT (10 * 3600)
#define RATE_MORNING_SIGMA (40 * 60)
#define RATE_MORNING_HEIGHT 20.0
#define RATE_LUNCH_AT (12 * 3600 + 30 * 60)
#define RATE_LUNCH_SIGMA (35 * 60)
#define RATE_LUNCH_HEIGHT 16.0

#define AGEING_MS HB_SIM_AGEING_MS /* a normal ticket waiting this long goes first */
#define RECALL_MS HB_SIM_RECALL_MS
#define RECALLS_MAX HB_SIM_RECALLS_MAX
#define LUNCH_MS HB_SIM_LUNCH_MS
#define LUNCH_FIRST_S (11 * 3600 + 30 * 60)

/* ------------------------------------------------------------ random ---- */

static uint64_t s_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void hb_sim_rng_seed(hb_sim_rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = s_splitmix(&seed);
}

static uint64_t s_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t hb_sim_u64(hb_sim_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

double hb_sim_u01(hb_sim_rng_t *r) { return (double)(hb_sim_u64(r) >> 11) * 0x1.0p-53; }

int64_t hb_sim_between(hb_sim_rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(hb_sim_u01(r) * (double)(hi - lo));
}

uint64_t hb_sim_mix(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed;
    uint64_t h = s_splitmix(&x);
    x = h ^ a;
    h = s_splitmix(&x);
    x = h ^ b;
    return s_splitmix(&x);
}

static double s_exponential(hb_sim_rng_t *r, double mean)
{
    return -mean * log(1.0 - hb_sim_u01(r));
}

/* Standard normal (Box-Muller; the second value is thrown away so that the
 * stream of draws does not depend on call history). */
static double s_normal(hb_sim_rng_t *r)
{
    double u = 1.0 - hb_sim_u01(r), v = hb_sim_u01(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Lognormal with the given mean and log-spread `sigma`. */
static double s_lognormal(hb_sim_rng_t *r, double mean, double sigma)
{
    return mean * exp(sigma * s_normal(r) - sigma * sigma / 2.0);
}

/* Index picked from cumulative weights in per cent (the last entry 100). */
static int s_pick(hb_sim_rng_t *r, const int *cumulative, int n)
{
    double x = hb_sim_u01(r) * 100.0;
    for (int i = 0; i < n - 1; i++) {
        if (x < cumulative[i])
            return i;
    }
    return n - 1;
}

/* ------------------------------------------------------------ tables ---- */

#define PRIO_COUNT 4
static const char *const s_priority_names[PRIO_COUNT] = {"normal", "elderly", "vip", "appointment"};
static const int s_priority_cum[PRIO_COUNT] = {85, 93, 97, 100};

static const char *const s_service_codes[HB_SIM_SERVICES] = {"A", "B", "C"};
static const int s_service_cum[HB_SIM_SERVICES] = {50, 80, 100};

static const hb_sim_business_t s_business[] = {
    {0, "bill_payment", 180, 60, HB_SIM_AMOUNT_BILL},
    {0, "cash_withdrawal", 240, 40, HB_SIM_AMOUNT_CASH},
    {1, "account_opening", 1200, 30, HB_SIM_AMOUNT_NONE},
    {1, "card_loss", 600, 30, HB_SIM_AMOUNT_NONE},
    {1, "plan_change", 720, 40, HB_SIM_AMOUNT_NONE},
    {2, "loan_enquiry", 1500, 60, HB_SIM_AMOUNT_NONE},
    {2, "business_account", 1200, 40, HB_SIM_AMOUNT_NONE},
};
#define BUSINESS_COUNT (sizeof s_business / sizeof s_business[0])

static const char *const s_channels[] = {"counter", "phone", "email", "suggestion_box", "app"};
static const int s_channel_cum[] = {40, 55, 70, 85, 100};
static const char *const s_severities[] = {"low", "medium", "high", "critical"};
static const int s_severity_cum[] = {45, 80, 95, 100};

typedef struct category {
    const char *name, *text, *resolution;
} category_t;

static const category_t s_categories[] = {
    {"waiting_time", "waited far too long and only one counter was open",
     "apologised; extra counter rota at peak hours reviewed"},
    {"staff_attitude", "the clerk was impatient and did not explain",
     "talked it through with the customer and the clerk"},
    {"fees", "charged a fee that was not announced", "fee explained; refunded as a gesture"},
    {"documents", "sent away twice for a missing document",
     "document list clarified and sent to the customer"},
    {"facilities", "no seats free and the display was unreadable",
     "seating and display settings checked"},
};
static const int s_category_cum[] = {25, 45, 70, 85, 100};
#define CATEGORY_COUNT (sizeof s_categories / sizeof s_categories[0])

static size_t s_category_index(const char *name)
{
    for (size_t i = 0; i < CATEGORY_COUNT; i++) {
        if (strcmp(s_categories[i].name, name) == 0)
            return i;
    }
    return 0;
}

enum { DEV_KIOSK, DEV_ATM, DEV_COUNT };
static const hb_sim_device_t s_devices[DEV_COUNT] = {
    {"kiosk-1", "kiosk", "paper_out", "ticket printer out of paper"},
    {"atm-1", "self_service", "fault", "cash dispenser jammed"},
};

/* ------------------------------------------------- the model's draws ---- */

/* Each draw takes its numbers from the stream in a fixed order, which the
 * day below relies on: the same seed gives the same day. */

const char *hb_sim_priority_name(int priority)
{
    return priority >= 0 && priority < PRIO_COUNT ? s_priority_names[priority] : "normal";
}

const char *hb_sim_service_code(int service)
{
    return service >= 0 && service < HB_SIM_SERVICES ? s_service_codes[service] : "A";
}

static double s_peak_per_ms(double size)
{
    double peak = size * (RATE_BASE + RATE_MORNING_HEIGHT + RATE_LUNCH_HEIGHT);
    return peak / (double)HOUR;
}

int64_t hb_sim_draw_arrival_gap_ms(hb_sim_rng_t *r, double size)
{
    return (int64_t)s_exponential(r, 1.0 / s_peak_per_ms(size)) + 1;
}

bool hb_sim_draw_arrival(hb_sim_rng_t *r, double size, int tod_s)
{
    double rate = hb_sim_arrival_rate(size, tod_s) / (double)HOUR;
    return hb_sim_u01(r) * s_peak_per_ms(size) < rate;
}

int hb_sim_draw_service(hb_sim_rng_t *r) { return s_pick(r, s_service_cum, HB_SIM_SERVICES); }

int hb_sim_draw_priority(hb_sim_rng_t *r) { return s_pick(r, s_priority_cum, PRIO_COUNT); }

const char *hb_sim_draw_source(hb_sim_rng_t *r, int priority, bool kiosk_out)
{
    /* Appointments are booked in the app; while the kiosk has no paper the
     * reception desk hands tickets out; otherwise mostly the kiosk. */
    if (priority == HB_SIM_PRIO_APPOINTMENT)
        return "app";
    return kiosk_out || hb_sim_u01(r) < 0.08 ? "staff" : "kiosk";
}

int64_t hb_sim_draw_patience_ms(hb_sim_rng_t *r)
{
    /* Some leave when the wait gets too long for them. */
    return 20 * MIN + (int64_t)s_exponential(r, 120.0 * MIN);
}

int hb_sim_draw_recalls_needed(hb_sim_rng_t *r)
{
    double fate = hb_sim_u01(r);
    return fate < 0.03 ? HB_SIM_RECALLS_MAX + 1 : fate < 0.08 ? 1 : 0;
}

int64_t hb_sim_draw_walk_ms(hb_sim_rng_t *r, bool after_recall)
{
    return after_recall ? hb_sim_between(r, 10 * SEC, 45 * SEC)
                        : hb_sim_between(r, 15 * SEC, 75 * SEC);
}

const hb_sim_business_t *hb_sim_draw_business(hb_sim_rng_t *r, int service)
{
    double x = hb_sim_u01(r) * 100.0;
    const hb_sim_business_t *last = NULL;
    for (size_t i = 0; i < BUSINESS_COUNT; i++) {
        if (s_business[i].service != service)
            continue;
        last = &s_business[i];
        x -= s_business[i].weight;
        if (x < 0)
            break;
    }
    assert(last);
    return last;
}

int64_t hb_sim_draw_service_ms(hb_sim_rng_t *r, const hb_sim_business_t *b)
{
    double mean = b->mean_s;
    double d = s_lognormal(r, mean, 0.45);
    if (d < 45)
        d = 45;
    if (d > 4 * mean)
        d = 4 * mean;
    return (int64_t)(d * SEC);
}

static int64_t s_amount(hb_sim_rng_t *r, int kind)
{
    if (kind == HB_SIM_AMOUNT_BILL) {
        double v = s_lognormal(r, 8000, 0.7); /* about 80.00 */
        return (int64_t)(v < 500 ? 500 : v > 500000 ? 500000 : v);
    }
    if (kind == HB_SIM_AMOUNT_CASH) {
        double k = round(s_lognormal(r, 6, 0.8)); /* in notes of 20.00 */
        return (int64_t)(k < 1 ? 1 : k > 100 ? 100 : k) * 2000;
    }
    return 0;
}

void hb_sim_draw_result(hb_sim_rng_t *r, const hb_sim_business_t *b, hb_sim_result_t *out)
{
    double o = hb_sim_u01(r);
    out->outcome = o < 0.91 ? "done" : o < 0.96 ? "referred" : "rejected_documents";
    out->done = o < 0.91;
    out->amount = out->done ? s_amount(r, b->amount) : 0;
}

int hb_sim_draw_score(hb_sim_rng_t *r, bool disappointed, int64_t *after_ms)
{
    *after_ms = 0;
    if (hb_sim_u01(r) >= 0.40)
        return 0;
    static const int cum[] = {4, 10, 22, 52, 100}; /* scores 1..5, skewed high */
    int score = s_pick(r, cum, 5) + 1;
    if (disappointed && score > 1 && hb_sim_u01(r) < 0.5)
        score--;
    *after_ms = hb_sim_between(r, 5 * SEC, 60 * SEC);
    return score;
}

bool hb_sim_draw_complains(hb_sim_rng_t *r, int64_t *after_ms)
{
    *after_ms = 0;
    if (hb_sim_u01(r) >= 1.0 / 150)
        return false;
    *after_ms = hb_sim_between(r, 1 * MIN, 40 * MIN);
    return true;
}

void hb_sim_draw_complaint(hb_sim_rng_t *r, bool long_wait, hb_sim_complaint_t *out)
{
    int channel = s_pick(r, s_channel_cum, 5);
    /* After a long wait it is more often about the waiting time. */
    bool about_wait = long_wait && hb_sim_u01(r) < 0.6;
    int category = about_wait ? 0 : s_pick(r, s_category_cum, (int)CATEGORY_COUNT);
    int severity = s_pick(r, s_severity_cum, 4);
    out->channel = s_channels[channel];
    out->category = s_categories[category].name;
    out->text = s_categories[category].text;
    out->resolution = s_categories[category].resolution;
    out->severity = s_severities[severity];
    out->severity_rank = severity;
    /* Suggestion-box notes are anonymous. */
    out->anonymous = strcmp(out->channel, "suggestion_box") == 0;
    out->ack_after_ms = severity >= 2 ? hb_sim_between(r, 3 * MIN, 15 * MIN)
                                      : hb_sim_between(r, 10 * MIN, 60 * MIN);
}

bool hb_sim_draw_escalation(hb_sim_rng_t *r, int severity_rank, int64_t *next_ms)
{
    /* The duty manager takes critical ones, and some high ones, up. */
    bool escalate = severity_rank == 3 || (severity_rank == 2 && hb_sim_u01(r) < 0.3);
    *next_ms =
        escalate ? hb_sim_between(r, 5 * MIN, 30 * MIN) : hb_sim_between(r, 20 * MIN, 2 * HOUR);
    return escalate;
}

const char *hb_sim_escalation_level(int severity_rank)
{
    return severity_rank == 3 ? "region" : "duty_manager";
}

const char *hb_sim_escalation_reason(int severity_rank)
{
    return severity_rank == 3 ? "critical complaint" : "customer asked for a manager";
}

int64_t hb_sim_draw_resolve_after_escalation_ms(hb_sim_rng_t *r)
{
    return hb_sim_between(r, 30 * MIN, 2 * HOUR);
}

bool hb_sim_draw_satisfied(hb_sim_rng_t *r) { return hb_sim_u01(r) < 0.75; }

const hb_sim_device_t *hb_sim_device(int index)
{
    return index >= 0 && index < DEV_COUNT ? &s_devices[index] : NULL;
}

bool hb_sim_draw_device_fault(hb_sim_rng_t *r, int index, int64_t day_ms, int64_t *fault_ms,
                              int64_t *fixed_ms)
{
    static const double chance[DEV_COUNT] = {0.5, 0.25};
    static const int64_t repair_min[DEV_COUNT] = {5 * MIN, 20 * MIN};
    static const int64_t repair_max[DEV_COUNT] = {20 * MIN, 90 * MIN};
    *fault_ms = *fixed_ms = 0;
    if (index < 0 || index >= DEV_COUNT || hb_sim_u01(r) >= chance[index])
        return false;
    *fault_ms = hb_sim_between(r, 30 * MIN, day_ms - 2 * HOUR);
    *fixed_ms = *fault_ms + hb_sim_between(r, repair_min[index], repair_max[index]);
    return true;
}

void hb_sim_character(uint64_t seed, int hall_index, hb_sim_character_t *out)
{
    memset(out, 0, sizeof *out);
    /* From (seed, index) alone, so that a hall keeps it from one day to the
     * next. */
    hb_sim_rng_t character;
    hb_sim_rng_seed(&character, hb_sim_mix(seed, (uint64_t)hall_index, 0x68616c6cULL));
    out->size = 0.7 + 0.9 * hb_sim_u01(&character);
    out->n_counters = (int)lround(3.6 * out->size);
    if (out->n_counters < HB_SIM_COUNTERS_MIN)
        out->n_counters = HB_SIM_COUNTERS_MIN;
    if (out->n_counters > HB_SIM_COUNTERS_MAX)
        out->n_counters = HB_SIM_COUNTERS_MAX;
    static const unsigned services[HB_SIM_COUNTERS_MAX] = {0x7, 0x3, 0x6, 0x1, 0x7, 0x6};
    for (int i = 0; i < out->n_counters; i++) {
        hb_sim_counter_plan_t *c = &out->counters[i];
        snprintf(c->id, sizeof c->id, "%d", i + 1);
        snprintf(c->staff, sizeof c->staff, "E%02d", i + 1);
        c->services = services[i];
        int slot = i == 0 ? out->n_counters - 1 : i - 1;
        c->lunch_offset_ms = (LUNCH_FIRST_S - HB_SIM_OPEN_S) * SEC + slot * HB_SIM_LUNCH_MS;
    }
}

/* ------------------------------------------------------------- state ---- */

typedef struct ticket {
    char id[TICKET_ID_MAX];
    int service;
    int priority;
    int64_t issued_ms;
} ticket_t;

enum counter_state {
    COUNTER_IDLE,    /* open and free */
    COUNTER_CALLING, /* a ticket called, the customer not yet there */
    COUNTER_SERVING,
    COUNTER_PAUSED,
    COUNTER_CLOSED,
};

typedef struct counter {
    char id[12];
    char staff[16];
    unsigned services; /* bit per service, 1 << 0 = A */
    enum counter_state state;
    bool lunch_due; /* the lunch slot came while busy: pause when free */
    ticket_t current;
    int recalls;        /* recalls of the current ticket so far */
    int recalls_needed; /* recalls before the customer comes; > RECALLS_MAX: never */
    int64_t started_ms;
    int64_t lunch_offset_ms;
    const hb_sim_business_t *business;
} counter_t;

enum action_kind {
    ACT_OPEN,
    ACT_ARRIVAL,
    ACT_CALL_STEP, /* the called customer comes, or is recalled, or is a no-show */
    ACT_FINISH,
    ACT_SCORE,
    ACT_RENEGE,
    ACT_LUNCH_START,
    ACT_LUNCH_END,
    ACT_CLOSE,
    ACT_DEVICE,
    ACT_COMPLAINT_OPEN,
    ACT_COMPLAINT_ACK,
    ACT_COMPLAINT_ESCALATE,
    ACT_COMPLAINT_RESOLVE,
};

typedef struct action {
    int64_t at;
    uint32_t order; /* ties at one millisecond run in scheduling order */
    uint8_t kind;
    int8_t index; /* counter or device */
    uint8_t arg;  /* score; device state (1 fault, 0 ok); complaint category; long wait */
    uint8_t arg2; /* complaint severity; satisfied */
    char ticket[TICKET_ID_MAX];
    char complaint[COMPLAINT_ID_MAX];
} action_t;

typedef struct out_event {
    int64_t at;
    json_t *event;
} out_event_t;

struct hb_sim_hall {
    hb_sim_rng_t rng;
    int64_t open_ms, close_ms, now_ms;
    double size;
    char date[16]; /* "20261123", for complaint ids */
    bool closing;  /* past closing time: no more arrivals */
    int err;       /* sticky failure */

    int n_counters;
    counter_t counters[HB_SIM_COUNTERS_MAX];
    ticket_t waiting[WAITING_MAX]; /* in issue order */
    int n_waiting;
    uint32_t next_number[HB_SIM_SERVICES];
    uint32_t complaint_seq;
    int complaints_open;
    bool device_fault[DEV_COUNT];

    action_t actions[ACTIONS_MAX]; /* binary min-heap by (at, order) */
    int n_actions;
    uint32_t order;

    out_event_t out[OUT_MAX]; /* ring of emitted, not yet handed out */
    int out_head, out_n;

    hb_sim_stats_t stats;
};

/* ------------------------------------------------------ action heap ---- */

static bool s_before(const action_t *a, const action_t *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

/* Schedules `a`. The heap holds at most: the next arrival, the close, one
 * step per counter, two lunch steps per counter, two per device, one step
 * per open complaint, pending scores (one per service ending in the last
 * two minutes) and one renege per ticket issued in the last few hours: far
 * below ACTIONS_MAX for any day this model makes. Should it fill anyway the
 * day fails with HB_ETOOBIG rather than quietly losing a step. */
static void s_schedule(hb_sim_hall_t *h, action_t a)
{
    if (h->n_actions == ACTIONS_MAX) {
        if (h->err == 0)
            h->err = HB_ETOOBIG;
        return;
    }
    a.order = h->order++;
    int i = h->n_actions++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!s_before(&a, &h->actions[parent]))
            break;
        h->actions[i] = h->actions[parent];
        i = parent;
    }
    h->actions[i] = a;
}

static action_t s_pop(hb_sim_hall_t *h)
{
    assert(h->n_actions > 0);
    action_t top = h->actions[0];
    action_t last = h->actions[--h->n_actions];
    int i = 0, n = h->n_actions;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && s_before(&h->actions[child + 1], &h->actions[child]))
            child++;
        if (!s_before(&h->actions[child], &last))
            break;
        h->actions[i] = h->actions[child];
        i = child;
    }
    if (n > 0)
        h->actions[i] = last;
    return top;
}

static action_t s_action(enum action_kind kind, int64_t at, int index)
{
    action_t a;
    memset(&a, 0, sizeof a);
    a.kind = (uint8_t)kind;
    a.at = at;
    a.index = (int8_t)index;
    return a;
}

/* ------------------------------------------------------------ events ---- */

/* Queues one event {"type", "at", ...fields} at the current simulated time;
 * takes `fields` (NULL means json_pack ran out of memory). */
static void s_emit(hb_sim_hall_t *h, const char *type, json_t *fields)
{
    if (h->out_n == OUT_MAX) {
        json_decref(fields);
        if (h->err == 0)
            h->err = HB_ETOOBIG;
        return;
    }
    char at[HB_RFC3339_MAX];
    hb_time_format(h->now_ms, at);
    json_t *ev = fields ? json_pack("{s:s, s:s}", "type", type, "at", at) : NULL;
    int rc = ev ? json_object_update(ev, fields) : -1;
    json_decref(fields);
    if (rc != 0) {
        json_decref(ev);
        if (h->err == 0)
            h->err = HB_ENOMEM;
        return;
    }
    h->out[(h->out_head + h->out_n) % OUT_MAX] = (out_event_t){h->now_ms, ev};
    h->out_n++;
}

/* ----------------------------------------------------------- the day ---- */

double hb_sim_arrival_rate(double size, int tod_s)
{
    if (tod_s < HB_SIM_OPEN_S || tod_s >= HB_SIM_CLOSE_S)
        return 0.0;
    double m = (double)(tod_s - RATE_MORNING_AT) / RATE_MORNING_SIGMA;
    double l = (double)(tod_s - RATE_LUNCH_AT) / RATE_LUNCH_SIGMA;
    return size * (RATE_BASE + RATE_MORNING_HEIGHT * exp(-m * m / 2.0) +
                   RATE_LUNCH_HEIGHT * exp(-l * l / 2.0));
}

static int s_tod_s(const hb_sim_hall_t *h)
{
    return HB_SIM_OPEN_S + (int)((h->now_ms - h->open_ms) / SEC);
}

static bool s_serves(const counter_t *c, int service) { return (c->services >> service) & 1u; }

static void s_schedule_next_arrival(hb_sim_hall_t *h)
{
    int64_t gap = hb_sim_draw_arrival_gap_ms(&h->rng, h->size);
    if (h->now_ms + gap < h->close_ms)
        s_schedule(h, s_action(ACT_ARRIVAL, h->now_ms + gap, 0));
}

static void s_issue(hb_sim_hall_t *h)
{
    if (h->n_waiting == WAITING_MAX) {
        h->stats.turned_away++;
        return;
    }
    ticket_t *t = &h->waiting[h->n_waiting++];
    t->service = hb_sim_draw_service(&h->rng);
    t->priority = hb_sim_draw_priority(&h->rng);
    t->issued_ms = h->now_ms;
    snprintf(t->id, sizeof t->id, "%c%03u", 'A' + t->service,
             (unsigned)(++h->next_number[t->service] % 100000));
    const char *source = hb_sim_draw_source(&h->rng, t->priority, h->device_fault[DEV_KIOSK]);
    s_emit(h, "ticket_issued",
           json_pack("{s:s, s:s, s:s, s:s}", "ticket", t->id, "service",
                     hb_sim_service_code(t->service), "priority", hb_sim_priority_name(t->priority),
                     "source", source));
    h->stats.issued++;
    action_t a = s_action(ACT_RENEGE, h->now_ms + hb_sim_draw_patience_ms(&h->rng), 0);
    memcpy(a.ticket, t->id, sizeof a.ticket);
    s_schedule(h, a);
}

/* The ticket this counter calls next, or -1; `rule` says why. Ageing first,
 * then priority tickets, then the oldest: a stand-in for the hall engine's
 * rule, close enough for realistic traffic. */
static int s_choose(const hb_sim_hall_t *h, const counter_t *c, const char **rule)
{
    int oldest_normal = -1, oldest_priority = -1;
    for (int i = 0; i < h->n_waiting; i++) {
        const ticket_t *t = &h->waiting[i];
        if (!s_serves(c, t->service))
            continue;
        if (t->priority == HB_SIM_PRIO_NORMAL && oldest_normal < 0)
            oldest_normal = i;
        if (t->priority != HB_SIM_PRIO_NORMAL && oldest_priority < 0)
            oldest_priority = i;
    }
    if (oldest_normal >= 0 && h->now_ms - h->waiting[oldest_normal].issued_ms >= AGEING_MS &&
        oldest_priority >= 0 && oldest_priority > oldest_normal) {
        *rule = "ageing";
        return oldest_normal;
    }
    if (oldest_priority >= 0) {
        *rule = oldest_normal >= 0 && oldest_normal < oldest_priority ? "priority" : "fifo";
        return oldest_priority;
    }
    *rule = "fifo";
    return oldest_normal;
}

static void s_call(hb_sim_hall_t *h, counter_t *c, int k, const char *rule)
{
    c->current = h->waiting[k];
    memmove(&h->waiting[k], &h->waiting[k + 1],
            (size_t)(h->n_waiting - k - 1) * sizeof h->waiting[0]);
    h->n_waiting--;
    c->state = COUNTER_CALLING;
    c->recalls = 0;
    c->recalls_needed = hb_sim_draw_recalls_needed(&h->rng);
    s_emit(h, "ticket_called",
           json_pack("{s:s, s:s, s:s, s:I}", "ticket", c->current.id, "counter", c->id, "rule",
                     rule, "wait_s", (json_int_t)((h->now_ms - c->current.issued_ms) / SEC)));
    int64_t step = c->recalls_needed > 0 ? RECALL_MS : hb_sim_draw_walk_ms(&h->rng, false);
    s_schedule(h, s_action(ACT_CALL_STEP, h->now_ms + step, (int)(c - h->counters)));
}

static void s_start_service(hb_sim_hall_t *h, counter_t *c)
{
    c->state = COUNTER_SERVING;
    c->started_ms = h->now_ms;
    c->business = hb_sim_draw_business(&h->rng, c->current.service);
    s_emit(
        h, "service_started",
        json_pack("{s:s, s:s, s:s}", "ticket", c->current.id, "counter", c->id, "staff", c->staff));
    int64_t d = hb_sim_draw_service_ms(&h->rng, c->business);
    s_schedule(h, s_action(ACT_FINISH, h->now_ms + d, (int)(c - h->counters)));
}

static void s_call_step(hb_sim_hall_t *h, counter_t *c)
{
    if (c->recalls >= c->recalls_needed) {
        s_start_service(h, c);
        return;
    }
    if (c->recalls == RECALLS_MAX) {
        s_emit(h, "ticket_no_show",
               json_pack("{s:s, s:s, s:i}", "ticket", c->current.id, "counter", c->id,
                         "recall_count", RECALLS_MAX));
        h->stats.no_shows++;
        c->state = COUNTER_IDLE;
        return;
    }
    c->recalls++;
    s_emit(h, "ticket_recalled",
           json_pack("{s:s, s:s, s:i}", "ticket", c->current.id, "counter", c->id, "recall_count",
                     c->recalls));
    int64_t step = c->recalls < c->recalls_needed ? RECALL_MS : hb_sim_draw_walk_ms(&h->rng, true);
    s_schedule(h, s_action(ACT_CALL_STEP, h->now_ms + step, (int)(c - h->counters)));
}

static void s_finish(hb_sim_hall_t *h, counter_t *c)
{
    hb_sim_result_t res;
    hb_sim_draw_result(&h->rng, c->business, &res);
    s_emit(h, "service_completed",
           json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "ticket", c->current.id, "counter", c->id,
                     "business_type", c->business->name, "outcome", res.outcome, "amount",
                     (json_int_t)res.amount, "duration_s",
                     (json_int_t)((h->now_ms - c->started_ms) / SEC)));
    h->stats.served++;
    int64_t waited = c->started_ms - c->current.issued_ms;
    int64_t after = 0;
    int score = hb_sim_draw_score(&h->rng, waited > AGEING_MS || !res.done, &after);
    if (score > 0) {
        action_t a = s_action(ACT_SCORE, h->now_ms + after, (int)(c - h->counters));
        a.arg = (uint8_t)score;
        memcpy(a.ticket, c->current.id, sizeof a.ticket);
        s_schedule(h, a);
    }
    if (hb_sim_draw_complains(&h->rng, &after)) {
        action_t a = s_action(ACT_COMPLAINT_OPEN, h->now_ms + after, (int)(c - h->counters));
        a.arg = waited > AGEING_MS;
        memcpy(a.ticket, c->current.id, sizeof a.ticket);
        s_schedule(h, a);
    }
    c->state = COUNTER_IDLE;
}

static void s_pause(hb_sim_hall_t *h, counter_t *c)
{
    c->state = COUNTER_PAUSED;
    c->lunch_due = false;
    s_emit(h, "counter_paused",
           json_pack("{s:s, s:s}", "counter", c->id, "reason", "lunch rotation"));
    s_schedule(h, s_action(ACT_LUNCH_END, h->now_ms + LUNCH_MS, (int)(c - h->counters)));
}

/* After every action: free counters take their lunch if it is due, call the
 * next ticket they may serve, or close once the doors are shut and nothing
 * is left for them. */
static void s_settle(hb_sim_hall_t *h)
{
    for (int i = 0; i < h->n_counters; i++) {
        counter_t *c = &h->counters[i];
        if (c->state != COUNTER_IDLE)
            continue;
        if (c->lunch_due) {
            s_pause(h, c);
            continue;
        }
        const char *rule = NULL;
        int k = s_choose(h, c, &rule);
        if (k >= 0) {
            s_call(h, c, k, rule);
        } else if (h->closing) {
            c->state = COUNTER_CLOSED;
            s_emit(h, "counter_closed", json_pack("{s:s}", "counter", c->id));
        }
    }
}

static void s_device(hb_sim_hall_t *h, int d, bool fault)
{
    h->device_fault[d] = fault;
    json_t *f = json_pack("{s:s, s:s, s:s}", "device", s_devices[d].id, "kind", s_devices[d].kind,
                          "state", fault ? s_devices[d].fault_state : "ok");
    if (f && fault &&
        json_object_set_new(f, "detail", json_string(s_devices[d].fault_detail)) != 0) {
        json_decref(f);
        f = NULL;
    }
    s_emit(h, "device_status", f);
}

static void s_open(hb_sim_hall_t *h)
{
    for (int d = 0; d < DEV_COUNT; d++)
        s_device(h, d, false);
    for (int i = 0; i < h->n_counters; i++) {
        counter_t *c = &h->counters[i];
        json_t *services = json_array();
        for (int s = 0; s < HB_SIM_SERVICES && services; s++) {
            if (s_serves(c, s) &&
                json_array_append_new(services, json_string(hb_sim_service_code(s))) != 0) {
                json_decref(services);
                services = NULL;
            }
        }
        c->state = COUNTER_IDLE;
        s_emit(h, "counter_opened",
               services ? json_pack("{s:s, s:s, s:o}", "counter", c->id, "staff", c->staff,
                                    "services", services)
                        : NULL);
        s_schedule(h, s_action(ACT_LUNCH_START, h->open_ms + c->lunch_offset_ms, i));
    }
    for (int d = 0; d < DEV_COUNT; d++) {
        int64_t fault = 0, fixed = 0;
        if (!hb_sim_draw_device_fault(&h->rng, d, h->close_ms - h->open_ms, &fault, &fixed))
            continue;
        action_t a = s_action(ACT_DEVICE, h->open_ms + fault, d);
        a.arg = 1;
        s_schedule(h, a);
        s_schedule(h, s_action(ACT_DEVICE, h->open_ms + fixed, d));
    }
    s_schedule(h, s_action(ACT_CLOSE, h->close_ms, 0));
    s_schedule_next_arrival(h);
}

static void s_complaint_open(hb_sim_hall_t *h, const action_t *a)
{
    if (h->complaints_open == COMPLAINTS_OPEN_MAX)
        return;
    h->complaints_open++;
    h->stats.complaints++;
    action_t next = s_action(ACT_COMPLAINT_ACK, 0, 0);
    snprintf(next.complaint, sizeof next.complaint, "C%s-%03u", h->date,
             (unsigned)(++h->complaint_seq % 1000));
    hb_sim_complaint_t cp;
    hb_sim_draw_complaint(&h->rng, a->arg != 0, &cp);
    json_t *f =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "complaint", next.complaint, "channel", cp.channel,
                  "category", cp.category, "severity", cp.severity, "text", cp.text);
    if (f && !cp.anonymous && json_object_set_new(f, "ticket", json_string(a->ticket)) != 0) {
        json_decref(f);
        f = NULL;
    }
    s_emit(h, "complaint_opened", f);
    next.arg = (uint8_t)s_category_index(cp.category);
    next.arg2 = (uint8_t)cp.severity_rank;
    next.at = h->now_ms + cp.ack_after_ms;
    s_schedule(h, next);
}

static void s_complaint_step(hb_sim_hall_t *h, const action_t *a)
{
    action_t next = *a;
    if (a->kind == ACT_COMPLAINT_ACK) {
        s_emit(h, "complaint_acknowledged",
               json_pack("{s:s, s:s}", "complaint", a->complaint, "by", "M01"));
        int64_t after = 0;
        bool escalate = hb_sim_draw_escalation(&h->rng, a->arg2, &after);
        next.kind = escalate ? ACT_COMPLAINT_ESCALATE : ACT_COMPLAINT_RESOLVE;
        next.at = h->now_ms + after;
        s_schedule(h, next);
    } else if (a->kind == ACT_COMPLAINT_ESCALATE) {
        s_emit(h, "complaint_escalated",
               json_pack("{s:s, s:s, s:s, s:b}", "complaint", a->complaint, "level",
                         hb_sim_escalation_level(a->arg2), "reason",
                         hb_sim_escalation_reason(a->arg2), "automatic", 0));
        next.kind = ACT_COMPLAINT_RESOLVE;
        next.at = h->now_ms + hb_sim_draw_resolve_after_escalation_ms(&h->rng);
        s_schedule(h, next);
    } else {
        s_emit(h, "complaint_resolved",
               json_pack("{s:s, s:s, s:b}", "complaint", a->complaint, "resolution",
                         s_categories[a->arg < CATEGORY_COUNT ? a->arg : 0].resolution,
                         "customer_satisfied", hb_sim_draw_satisfied(&h->rng)));
        h->complaints_open--;
    }
}

static void s_renege(hb_sim_hall_t *h, const char *ticket)
{
    for (int i = 0; i < h->n_waiting; i++) {
        if (strcmp(h->waiting[i].id, ticket) != 0)
            continue;
        memmove(&h->waiting[i], &h->waiting[i + 1],
                (size_t)(h->n_waiting - i - 1) * sizeof h->waiting[0]);
        h->n_waiting--;
        h->stats.cancelled++;
        s_emit(h, "ticket_cancelled",
               json_pack("{s:s, s:s}", "ticket", ticket, "reason", "customer left"));
        return;
    }
}

static void s_run(hb_sim_hall_t *h, const action_t *a)
{
    counter_t *c = &h->counters[a->index >= 0 && a->index < h->n_counters ? a->index : 0];
    switch ((enum action_kind)a->kind) {
    case ACT_OPEN: s_open(h); break;
    case ACT_ARRIVAL: {
        if (hb_sim_draw_arrival(&h->rng, h->size, s_tod_s(h)))
            s_issue(h);
        s_schedule_next_arrival(h);
        break;
    }
    case ACT_CALL_STEP: s_call_step(h, c); break;
    case ACT_FINISH: s_finish(h, c); break;
    case ACT_SCORE:
        s_emit(h, "satisfaction_scored",
               json_pack("{s:s, s:s, s:i}", "ticket", a->ticket, "counter", c->id, "score",
                         (int)a->arg));
        break;
    case ACT_RENEGE: s_renege(h, a->ticket); break;
    case ACT_LUNCH_START:
        if (c->state == COUNTER_IDLE)
            s_pause(h, c);
        else if (c->state != COUNTER_CLOSED && c->state != COUNTER_PAUSED)
            c->lunch_due = true;
        break;
    case ACT_LUNCH_END:
        c->state = COUNTER_IDLE;
        s_emit(h, "counter_resumed", json_pack("{s:s}", "counter", c->id));
        break;
    case ACT_CLOSE: h->closing = true; break;
    case ACT_DEVICE: s_device(h, a->index, a->arg != 0); break;
    case ACT_COMPLAINT_OPEN: s_complaint_open(h, a); break;
    case ACT_COMPLAINT_ACK:
    case ACT_COMPLAINT_ESCALATE:
    case ACT_COMPLAINT_RESOLVE: s_complaint_step(h, a); break;
    }
    s_settle(h);
}

/* ------------------------------------------------------------ public ---- */

hb_sim_hall_t *hb_sim_hall_new(uint64_t seed, int hall_index, int64_t open_ms)
{
    hb_sim_hall_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    hb_sim_character_t ch;
    hb_sim_character(seed, hall_index, &ch);
    h->size = ch.size;
    h->n_counters = ch.n_counters;
    hb_sim_rng_seed(&h->rng, hb_sim_mix(seed, (uint64_t)hall_index, (uint64_t)open_ms));

    h->open_ms = open_ms;
    h->close_ms = open_ms + (int64_t)(HB_SIM_CLOSE_S - HB_SIM_OPEN_S) * SEC;
    h->now_ms = open_ms;
    char at[HB_RFC3339_MAX];
    hb_time_format(open_ms, at);
    snprintf(h->date, sizeof h->date, "%.4s%.2s%.2s", at, at + 5, at + 8);
    for (int i = 0; i < h->n_counters; i++) {
        counter_t *c = &h->counters[i];
        snprintf(c->id, sizeof c->id, "%s", ch.counters[i].id);
        snprintf(c->staff, sizeof c->staff, "%s", ch.counters[i].staff);
        c->services = ch.counters[i].services;
        c->lunch_offset_ms = ch.counters[i].lunch_offset_ms;
        c->state = COUNTER_CLOSED;
    }
    h->stats.size = h->size;
    h->stats.counters = h->n_counters;
    s_schedule(h, s_action(ACT_OPEN, open_ms, 0));
    return h;
}

int hb_sim_next(hb_sim_hall_t *h, int64_t *sim_time_ms, json_t **event)
{
    assert(h && sim_time_ms && event);
    *event = NULL;
    while (h->out_n == 0 && h->err == 0 && h->n_actions > 0) {
        action_t a = s_pop(h);
        h->now_ms = a.at;
        s_run(h, &a);
    }
    if (h->err != 0)
        return h->err;
    if (h->out_n == 0)
        return HB_ECLOSED;
    out_event_t *o = &h->out[h->out_head];
    h->out_head = (h->out_head + 1) % OUT_MAX;
    h->out_n--;
    *sim_time_ms = o->at;
    *event = o->event;
    h->stats.events++;
    return 0;
}

void hb_sim_hall_stats(const hb_sim_hall_t *h, hb_sim_stats_t *out)
{
    assert(h && out);
    *out = h->stats;
}

void hb_sim_hall_destroy(hb_sim_hall_t **h_p)
{
    if (!h_p || !*h_p)
        return;
    hb_sim_hall_t *h = *h_p;
    for (int i = 0; i < h->out_n; i++)
        json_decref(h->out[(h->out_head + i) % OUT_MAX].event);
    free(h);
    *h_p = NULL;
}
