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
 * bounded: waiting tickets, scheduled actions, open complaints. */
#include "hallbus/sim.h"

#include "hallbus/error.h"
#include "hallbus/time.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAITING_MAX 400      /* tickets waiting at once; more arrivals are turned away */
#define ACTIONS_MAX 2048     /* scheduled actions; see s_schedule for why this is enough */
#define OUT_MAX 64           /* events one action may emit before they are handed out */
#define COMPLAINTS_OPEN_MAX 32
#define TICKET_ID_MAX 8      /* "A" + up to 5 digits + NUL */
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

#define AGEING_MS (30 * MIN)  /* a normal ticket waiting this long goes first */
#define RECALL_MS (60 * SEC)  /* between a call and its recall */
#define RECALLS_MAX 2         /* recalls before a no-show */
#define LUNCH_MS (30 * MIN)
#define LUNCH_FIRST_S (11 * 3600 + 30 * 60)

/* ------------------------------------------------------------ random ---- */

/* xoshiro256**, seeded through splitmix64: small, fast, and the same on
 * every platform, which rand() is not. */
typedef struct rng {
    uint64_t s[4];
} rng_t;

static uint64_t s_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void s_rng_seed(rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = s_splitmix(&seed);
}

static uint64_t s_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t s_rng_u64(rng_t *r)
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

/* Uniform in [0, 1). */
static double s_u01(rng_t *r) { return (double)(s_rng_u64(r) >> 11) * 0x1.0p-53; }

/* Uniform in [lo, hi). */
static int64_t s_between(rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(s_u01(r) * (double)(hi - lo));
}

static double s_exponential(rng_t *r, double mean) { return -mean * log(1.0 - s_u01(r)); }

/* Standard normal (Box-Muller; the second value is thrown away so that the
 * stream of draws does not depend on call history). */
static double s_normal(rng_t *r)
{
    double u = 1.0 - s_u01(r), v = s_u01(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Lognormal with the given mean and log-spread `sigma`. */
static double s_lognormal(rng_t *r, double mean, double sigma)
{
    return mean * exp(sigma * s_normal(r) - sigma * sigma / 2.0);
}

/* Index picked from cumulative weights in per cent (the last entry 100). */
static int s_pick(rng_t *r, const int *cumulative, int n)
{
    double x = s_u01(r) * 100.0;
    for (int i = 0; i < n - 1; i++) {
        if (x < cumulative[i])
            return i;
    }
    return n - 1;
}

/* ------------------------------------------------------------ tables ---- */

enum { PRIO_NORMAL, PRIO_ELDERLY, PRIO_VIP, PRIO_APPOINTMENT, PRIO_COUNT };
static const char *const s_priority_names[PRIO_COUNT] = {"normal", "elderly", "vip",
                                                         "appointment"};
static const int s_priority_cum[PRIO_COUNT] = {85, 93, 97, 100};

enum { SERVICE_COUNT = 3 }; /* A cash & payments, B accounts, C business / complex */
static const int s_service_cum[SERVICE_COUNT] = {50, 80, 100};

enum amount_kind { AMOUNT_NONE, AMOUNT_BILL, AMOUNT_CASH };

typedef struct business {
    int service; /* 0 = A */
    const char *name;
    double mean_s; /* mean service time */
    int weight;    /* per cent among the service's types */
    enum amount_kind amount;
} business_t;

static const business_t s_business[] = {
    {0, "bill_payment", 180, 60, AMOUNT_BILL},
    {0, "cash_withdrawal", 240, 40, AMOUNT_CASH},
    {1, "account_opening", 1200, 30, AMOUNT_NONE},
    {1, "card_loss", 600, 30, AMOUNT_NONE},
    {1, "plan_change", 720, 40, AMOUNT_NONE},
    {2, "loan_enquiry", 1500, 60, AMOUNT_NONE},
    {2, "business_account", 1200, 40, AMOUNT_NONE},
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

enum { DEV_KIOSK, DEV_ATM, DEV_COUNT };
static const struct {
    const char *id, *kind, *fault_state, *fault_detail;
} s_devices[DEV_COUNT] = {
    {"kiosk-1", "kiosk", "paper_out", "ticket printer out of paper"},
    {"atm-1", "self_service", "fault", "cash dispenser jammed"},
};

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
    const business_t *business;
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
    int8_t index;   /* counter or device */
    uint8_t arg;    /* score; device state (1 fault, 0 ok); complaint category; long wait */
    uint8_t arg2;   /* complaint severity; satisfied */
    char ticket[TICKET_ID_MAX];
    char complaint[COMPLAINT_ID_MAX];
} action_t;

typedef struct out_event {
    int64_t at;
    json_t *event;
} out_event_t;

struct hb_sim_hall {
    rng_t rng;
    int64_t open_ms, close_ms, now_ms;
    double size;
    double rate_max_per_ms; /* bound of the arrival rate, for thinning */
    char date[16];          /* "20261123", for complaint ids */
    bool closing;           /* past closing time: no more arrivals */
    int err;                /* sticky failure */

    int n_counters;
    counter_t counters[HB_SIM_COUNTERS_MAX];
    ticket_t waiting[WAITING_MAX]; /* in issue order */
    int n_waiting;
    uint32_t next_number[SERVICE_COUNT];
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
    int64_t gap = (int64_t)s_exponential(&h->rng, 1.0 / h->rate_max_per_ms) + 1;
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
    t->service = s_pick(&h->rng, s_service_cum, SERVICE_COUNT);
    t->priority = s_pick(&h->rng, s_priority_cum, PRIO_COUNT);
    t->issued_ms = h->now_ms;
    snprintf(t->id, sizeof t->id, "%c%03u", 'A' + t->service,
             (unsigned)(++h->next_number[t->service] % 100000));
    /* Appointments are booked in the app; while the kiosk has no paper the
     * reception desk hands tickets out; otherwise mostly the kiosk. */
    const char *source = t->priority == PRIO_APPOINTMENT ? "app"
                         : h->device_fault[DEV_KIOSK] || s_u01(&h->rng) < 0.08 ? "staff"
                                                                             : "kiosk";
    char service[2] = {(char)('A' + t->service), '\0'};
    s_emit(h, "ticket_issued",
           json_pack("{s:s, s:s, s:s, s:s}", "ticket", t->id, "service", service, "priority",
                     s_priority_names[t->priority], "source", source));
    h->stats.issued++;
    /* Some leave when the wait gets too long for them. */
    action_t a = s_action(ACT_RENEGE, h->now_ms + 20 * MIN +
                                          (int64_t)s_exponential(&h->rng, 120.0 * MIN), 0);
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
        if (t->priority == PRIO_NORMAL && oldest_normal < 0)
            oldest_normal = i;
        if (t->priority != PRIO_NORMAL && oldest_priority < 0)
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
    double fate = s_u01(&h->rng);
    c->recalls_needed = fate < 0.03 ? RECALLS_MAX + 1 : fate < 0.08 ? 1 : 0;
    s_emit(h, "ticket_called",
           json_pack("{s:s, s:s, s:s, s:I}", "ticket", c->current.id, "counter", c->id, "rule",
                     rule, "wait_s", (json_int_t)((h->now_ms - c->current.issued_ms) / SEC)));
    int64_t step = c->recalls_needed > 0 ? RECALL_MS : s_between(&h->rng, 15 * SEC, 75 * SEC);
    s_schedule(h, s_action(ACT_CALL_STEP, h->now_ms + step, (int)(c - h->counters)));
}

static const business_t *s_choose_business(hb_sim_hall_t *h, int service)
{
    double x = s_u01(&h->rng) * 100.0;
    const business_t *last = NULL;
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

static void s_start_service(hb_sim_hall_t *h, counter_t *c)
{
    c->state = COUNTER_SERVING;
    c->started_ms = h->now_ms;
    c->business = s_choose_business(h, c->current.service);
    s_emit(h, "service_started",
           json_pack("{s:s, s:s, s:s}", "ticket", c->current.id, "counter", c->id, "staff",
                     c->staff));
    double mean = c->business->mean_s;
    double d = s_lognormal(&h->rng, mean, 0.45);
    if (d < 45)
        d = 45;
    if (d > 4 * mean)
        d = 4 * mean;
    s_schedule(h, s_action(ACT_FINISH, h->now_ms + (int64_t)(d * SEC), (int)(c - h->counters)));
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
           json_pack("{s:s, s:s, s:i}", "ticket", c->current.id, "counter", c->id,
                     "recall_count", c->recalls));
    int64_t step = c->recalls < c->recalls_needed ? RECALL_MS
                                                  : s_between(&h->rng, 10 * SEC, 45 * SEC);
    s_schedule(h, s_action(ACT_CALL_STEP, h->now_ms + step, (int)(c - h->counters)));
}

static json_int_t s_amount(hb_sim_hall_t *h, enum amount_kind kind)
{
    if (kind == AMOUNT_BILL) {
        double v = s_lognormal(&h->rng, 8000, 0.7); /* about 80.00 */
        return (json_int_t)(v < 500 ? 500 : v > 500000 ? 500000 : v);
    }
    if (kind == AMOUNT_CASH) {
        double k = round(s_lognormal(&h->rng, 6, 0.8)); /* in notes of 20.00 */
        return (json_int_t)(k < 1 ? 1 : k > 100 ? 100 : k) * 2000;
    }
    return 0;
}

static void s_finish(hb_sim_hall_t *h, counter_t *c)
{
    double o = s_u01(&h->rng);
    const char *outcome = o < 0.91 ? "done" : o < 0.96 ? "referred" : "rejected_documents";
    bool done = o < 0.91;
    json_int_t amount = done ? s_amount(h, c->business->amount) : 0;
    s_emit(h, "service_completed",
           json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "ticket", c->current.id, "counter", c->id,
                     "business_type", c->business->name, "outcome", outcome, "amount", amount,
                     "duration_s", (json_int_t)((h->now_ms - c->started_ms) / SEC)));
    h->stats.served++;
    int64_t waited = c->started_ms - c->current.issued_ms;
    if (s_u01(&h->rng) < 0.40) {
        static const int cum[] = {4, 10, 22, 52, 100}; /* scores 1..5, skewed high */
        int score = s_pick(&h->rng, cum, 5) + 1;
        if ((waited > AGEING_MS || !done) && score > 1 && s_u01(&h->rng) < 0.5)
            score--;
        action_t a = s_action(ACT_SCORE, h->now_ms + s_between(&h->rng, 5 * SEC, 60 * SEC),
                              (int)(c - h->counters));
        a.arg = (uint8_t)score;
        memcpy(a.ticket, c->current.id, sizeof a.ticket);
        s_schedule(h, a);
    }
    /* About one customer in 150 complains, later that day. */
    if (s_u01(&h->rng) < 1.0 / 150) {
        action_t a = s_action(ACT_COMPLAINT_OPEN, h->now_ms + s_between(&h->rng, 1 * MIN, 40 * MIN),
                              (int)(c - h->counters));
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
    json_t *f = json_pack("{s:s, s:s, s:s}", "device", s_devices[d].id, "kind",
                          s_devices[d].kind, "state", fault ? s_devices[d].fault_state : "ok");
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
        for (int s = 0; s < SERVICE_COUNT && services; s++) {
            char code[2] = {(char)('A' + s), '\0'};
            if (s_serves(c, s) && json_array_append_new(services, json_string(code)) != 0) {
                json_decref(services);
                services = NULL;
            }
        }
        c->state = COUNTER_IDLE;
        s_emit(h, "counter_opened",
               services ? json_pack("{s:s, s:s, s:o}", "counter", c->id, "staff", c->staff,
                                    "services", services)
                        : NULL);
        /* Lunch rotation: one counter at a time from 11:30, the all-services
         * counter last, so that every service stays open. */
        int slot = i == 0 ? h->n_counters - 1 : i - 1;
        int64_t at = h->open_ms + (LUNCH_FIRST_S - HB_SIM_OPEN_S) * SEC + slot * LUNCH_MS;
        s_schedule(h, s_action(ACT_LUNCH_START, at, i));
    }
    /* The kiosk runs out of paper on about half the days, the cash machine
     * jams on one day in four. */
    static const double chance[DEV_COUNT] = {0.5, 0.25};
    static const int64_t repair_min[DEV_COUNT] = {5 * MIN, 20 * MIN};
    static const int64_t repair_max[DEV_COUNT] = {20 * MIN, 90 * MIN};
    for (int d = 0; d < DEV_COUNT; d++) {
        if (s_u01(&h->rng) >= chance[d])
            continue;
        int64_t at = s_between(&h->rng, h->open_ms + 30 * MIN, h->close_ms - 2 * HOUR);
        action_t a = s_action(ACT_DEVICE, at, d);
        a.arg = 1;
        s_schedule(h, a);
        a = s_action(ACT_DEVICE, at + s_between(&h->rng, repair_min[d], repair_max[d]), d);
        s_schedule(h, a);
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
    int channel = s_pick(&h->rng, s_channel_cum, 5);
    int category = a->arg && s_u01(&h->rng) < 0.6
                       ? 0
                       : s_pick(&h->rng, s_category_cum, (int)CATEGORY_COUNT);
    int severity = s_pick(&h->rng, s_severity_cum, 4);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "complaint", next.complaint, "channel",
                          s_channels[channel], "category", s_categories[category].name,
                          "severity", s_severities[severity], "text",
                          s_categories[category].text);
    /* Suggestion-box notes are anonymous. */
    if (f && strcmp(s_channels[channel], "suggestion_box") != 0 &&
        json_object_set_new(f, "ticket", json_string(a->ticket)) != 0) {
        json_decref(f);
        f = NULL;
    }
    s_emit(h, "complaint_opened", f);
    next.arg = (uint8_t)category;
    next.arg2 = (uint8_t)severity;
    int64_t ack = severity >= 2 ? s_between(&h->rng, 3 * MIN, 15 * MIN)
                                : s_between(&h->rng, 10 * MIN, 60 * MIN);
    next.at = h->now_ms + ack;
    s_schedule(h, next);
}

static void s_complaint_step(hb_sim_hall_t *h, const action_t *a)
{
    action_t next = *a;
    if (a->kind == ACT_COMPLAINT_ACK) {
        s_emit(h, "complaint_acknowledged",
               json_pack("{s:s, s:s}", "complaint", a->complaint, "by", "M01"));
        /* The duty manager takes critical ones, and some high ones, up. */
        bool escalate = a->arg2 == 3 || (a->arg2 == 2 && s_u01(&h->rng) < 0.3);
        next.kind = escalate ? ACT_COMPLAINT_ESCALATE : ACT_COMPLAINT_RESOLVE;
        next.at = h->now_ms + (escalate ? s_between(&h->rng, 5 * MIN, 30 * MIN)
                                        : s_between(&h->rng, 20 * MIN, 2 * HOUR));
        s_schedule(h, next);
    } else if (a->kind == ACT_COMPLAINT_ESCALATE) {
        s_emit(h, "complaint_escalated",
               json_pack("{s:s, s:s, s:s, s:b}", "complaint", a->complaint, "level",
                         a->arg2 == 3 ? "region" : "duty_manager", "reason",
                         a->arg2 == 3 ? "critical complaint" : "customer asked for a manager",
                         "automatic", 0));
        next.kind = ACT_COMPLAINT_RESOLVE;
        next.at = h->now_ms + s_between(&h->rng, 30 * MIN, 2 * HOUR);
        s_schedule(h, next);
    } else {
        s_emit(h, "complaint_resolved",
               json_pack("{s:s, s:s, s:b}", "complaint", a->complaint, "resolution",
                         s_categories[a->arg].resolution, "customer_satisfied",
                         s_u01(&h->rng) < 0.75));
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
    case ACT_OPEN:
        s_open(h);
        break;
    case ACT_ARRIVAL: {
        /* Thinning (Lewis and Shedler): candidates come at the peak rate
         * and each is a customer with probability rate(now) / peak. */
        double rate = hb_sim_arrival_rate(h->size, s_tod_s(h)) / (double)HOUR;
        if (s_u01(&h->rng) * h->rate_max_per_ms < rate)
            s_issue(h);
        s_schedule_next_arrival(h);
        break;
    }
    case ACT_CALL_STEP:
        s_call_step(h, c);
        break;
    case ACT_FINISH:
        s_finish(h, c);
        break;
    case ACT_SCORE:
        s_emit(h, "satisfaction_scored",
               json_pack("{s:s, s:s, s:i}", "ticket", a->ticket, "counter", c->id, "score",
                         (int)a->arg));
        break;
    case ACT_RENEGE:
        s_renege(h, a->ticket);
        break;
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
    case ACT_CLOSE:
        h->closing = true;
        break;
    case ACT_DEVICE:
        s_device(h, a->index, a->arg != 0);
        break;
    case ACT_COMPLAINT_OPEN:
        s_complaint_open(h, a);
        break;
    case ACT_COMPLAINT_ACK:
    case ACT_COMPLAINT_ESCALATE:
    case ACT_COMPLAINT_RESOLVE:
        s_complaint_step(h, a);
        break;
    }
    s_settle(h);
}

/* ------------------------------------------------------------ public ---- */

static uint64_t s_mix(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed;
    uint64_t h = s_splitmix(&x);
    x = h ^ a;
    h = s_splitmix(&x);
    x = h ^ b;
    return s_splitmix(&x);
}

hb_sim_hall_t *hb_sim_hall_new(uint64_t seed, int hall_index, int64_t open_ms)
{
    hb_sim_hall_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    /* The hall's character from (seed, index) alone, so it keeps it from one
     * day to the next; the day's draws from all three. */
    rng_t character;
    s_rng_seed(&character, s_mix(seed, (uint64_t)hall_index, 0x68616c6cULL));
    h->size = 0.7 + 0.9 * s_u01(&character);
    h->n_counters = (int)lround(3.6 * h->size);
    if (h->n_counters < HB_SIM_COUNTERS_MIN)
        h->n_counters = HB_SIM_COUNTERS_MIN;
    if (h->n_counters > HB_SIM_COUNTERS_MAX)
        h->n_counters = HB_SIM_COUNTERS_MAX;
    s_rng_seed(&h->rng, s_mix(seed, (uint64_t)hall_index, (uint64_t)open_ms));

    h->open_ms = open_ms;
    h->close_ms = open_ms + (int64_t)(HB_SIM_CLOSE_S - HB_SIM_OPEN_S) * SEC;
    h->now_ms = open_ms;
    double peak = h->size * (RATE_BASE + RATE_MORNING_HEIGHT + RATE_LUNCH_HEIGHT);
    h->rate_max_per_ms = peak / (double)HOUR;
    char at[HB_RFC3339_MAX];
    hb_time_format(open_ms, at);
    snprintf(h->date, sizeof h->date, "%.4s%.2s%.2s", at, at + 5, at + 8);

    /* Counter 1 serves everything and the others a part, so that every
     * service has at least two counters and the long B and C services do not
     * leave the quick A customers waiting. */
    static const unsigned services[] = {0x7, 0x3, 0x6, 0x1, 0x7, 0x6};
    for (int i = 0; i < h->n_counters; i++) {
        counter_t *c = &h->counters[i];
        snprintf(c->id, sizeof c->id, "%d", i + 1);
        snprintf(c->staff, sizeof c->staff, "E%02d", i + 1);
        c->services = services[i];
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
