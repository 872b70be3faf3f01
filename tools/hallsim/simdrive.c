/* hallsim's drive mode (see simdrive.h): a small discrete-event simulation
 * whose actions are HTTP requests to a real hall. Each entity (an arrival
 * stream, a device, a counter, a customer, a score or complaint still to
 * come, a complaint being handled) carries its own timer; the next request
 * is that of the earliest timer, ties broken by the order in which timers
 * were set, so the schedule never depends on how the entities are stored.
 * An answer moves its entity on and sets its next timer.
 *
 * What this module believes (who waits, which counter calls whom) only
 * steers when to ask; the hall decides. An answer that contradicts the
 * belief (a call that finds nobody, a counter said to be busy) is not
 * argued with: the hall's state is read and taken over, entity by entity.
 * Everything is bounded: customers, follow-ups, complaints, and how often
 * one entity may be refused in a row before it is left alone. */
#include "simdrive.h"

#include "hallbus/error.h"
#include "sim.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define NEVER INT64_MAX

#define ID_MAX 65        /* an id the hall hands out (HB_ID_MAX) and its NUL */
#define STRIKES_MAX 3    /* refusals in a row before an entity is left alone */
#define RECALLS_CAP 10   /* recalls before the driver declares the no-show itself */
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
    CUST_PENDING,   /* asked for a ticket, no answer yet */
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

typedef struct counter {
    hb_sim_counter_plan_t plan;
    unsigned services; /* as the hall says once it has said */
    int state, lunch;
    char ticket[ID_MAX]; /* called or being served */
    sd_timer_t step, lunch_at;
    uint8_t strikes;
    bool abandoned; /* left to the hall for the rest of the day */
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
enum who { W_NONE, W_READ, W_ARRIVAL, W_CLOSING, W_DEVICE, W_STEP, W_LUNCH, W_RENEGE, W_FOLLOWUP,
           W_COMPLAINT };

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

/* ------------------------------------------------------------ helpers ---- */

static void s_arm(hb_simdrive_t *d, sd_timer_t *t, int64_t at)
{
    t->at = at;
    t->order = d->order++;
}

static void s_disarm(sd_timer_t *t)
{
    t->at = NEVER;
    t->order = 0;
}

static bool s_before(const sd_timer_t *a, const sd_timer_t *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

/* An id as the hall hands them out: 1 to 64 of [A-Za-z0-9_.-], so that it
 * can go into a path and a JSON string as it is. */
static bool s_id_ok(const char *id)
{
    if (!id)
        return false;
    size_t n = strlen(id);
    if (n == 0 || n >= ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static uint64_t s_hash(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int s_service_index(const char *code)
{
    for (int i = 0; code && i < HB_SIM_SERVICES; i++) {
        if (strcmp(code, hb_sim_service_code(i)) == 0)
            return i;
    }
    return -1;
}

static int s_severity_rank(const char *name)
{
    static const char *const names[] = {"low", "medium", "high", "critical"};
    for (int i = 0; name && i < 4; i++) {
        if (strcmp(name, names[i]) == 0)
            return i;
    }
    return 1;
}

static const char *s_str(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* Fills the request; `body` (taken) may be NULL for none. */
static void s_request(hb_simdrive_t *d, hb_sd_request_t *req, hb_sd_kind_t kind, int index,
                      json_t *body, const char *fmt, ...)
{
    memset(req, 0, sizeof *req);
    req->kind = kind;
    req->method = kind == HB_SD_READ_HALL ? "GET" : "POST";
    req->at_ms = d->now_ms;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(req->path, sizeof req->path, fmt, ap);
    va_end(ap);
    /* Paths are built from checked ids of at most 64 bytes. */
    assert(n > 0 && (size_t)n < sizeof req->path);
    (void)n;
    if (body) {
        size_t len = json_dumpb(body, req->body, sizeof req->body - 1, JSON_COMPACT);
        /* Bodies are a few fixed members and checked ids: far below the
         * bound, or json_pack ran out of memory (then an empty object). */
        if (len == 0 || len >= sizeof req->body)
            len = (size_t)snprintf(req->body, sizeof req->body, "{}");
        req->body[len] = '\0';
        json_decref(body);
    } else if (req->method[0] == 'P') {
        snprintf(req->body, sizeof req->body, "{}");
    }
    d->out = true;
    d->out_kind = kind;
    d->out_index = index;
    d->stats.requests++;
}

/* The hall said something the bookkeeping did not foresee: read its
 * state before the next step. */
static void s_surprise(hb_simdrive_t *d)
{
    d->stats.surprises++;
    if (!d->need_read) {
        d->need_read = true;
        s_arm(d, &d->read, d->now_ms);
    }
}

/* ---------------------------------------------------------- entities ---- */

static customer_t *s_customer(hb_simdrive_t *d, const char *ticket)
{
    for (int i = 0; ticket && i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state != CUST_FREE && c->state != CUST_PENDING && strcmp(c->ticket, ticket) == 0)
            return c;
    }
    return NULL;
}

static customer_t *s_customer_new(hb_simdrive_t *d, uint64_t seed)
{
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state != CUST_FREE)
            continue;
        memset(c, 0, sizeof *c);
        hb_sim_rng_seed(&c->rng, seed);
        /* Who they are, drawn in one fixed order from their own stream. */
        c->service = hb_sim_draw_service(&c->rng);
        c->priority = hb_sim_draw_priority(&c->rng);
        c->source = hb_sim_draw_source(&c->rng, c->priority, d->kiosk_out);
        c->patience_ms = hb_sim_draw_patience_ms(&c->rng);
        c->recalls_needed = hb_sim_draw_recalls_needed(&c->rng);
        c->transfer_to =
            c->service != TRANSFER_TO && hb_sim_u01(&c->rng) < TRANSFER_SHARE ? TRANSFER_TO : -1;
        c->arrived_ms = d->now_ms;
        s_disarm(&c->renege);
        c->state = CUST_PENDING;
        return c;
    }
    return NULL;
}

static void s_customer_free(customer_t *c)
{
    memset(c, 0, sizeof *c);
    c->state = CUST_FREE;
    s_disarm(&c->renege);
}

static int s_counter_index(const hb_simdrive_t *d, const char *id)
{
    for (int i = 0; id && i < d->n_counters; i++) {
        if (strcmp(d->counters[i].plan.id, id) == 0)
            return i;
    }
    return -1;
}

/* Whether a customer of ours waits for one of `services`. */
static bool s_waiting_for(const hb_simdrive_t *d, unsigned services)
{
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        const customer_t *c = &d->customers[i];
        if (c->state == CUST_WAITING && c->service >= 0 && ((services >> c->service) & 1u))
            return true;
    }
    return false;
}

/* Idle counters that serve `service` (-1: any) look at the queue now. */
static void s_wake(hb_simdrive_t *d, int service)
{
    for (int i = 0; i < d->n_counters; i++) {
        counter_t *k = &d->counters[i];
        bool serves = service < 0 || ((k->services >> service) & 1u);
        if (k->state == CTR_IDLE && serves && k->step.at == NEVER)
            s_arm(d, &k->step, d->now_ms);
    }
}

static void s_counter_idle(hb_simdrive_t *d, counter_t *k)
{
    k->state = CTR_IDLE;
    k->ticket[0] = '\0';
    k->strikes = 0;
    s_arm(d, &k->step, d->now_ms);
}

/* A refusal of a counter's step; after a few in a row the counter is left
 * alone for the day. */
/* Once the doors are closed and none of our counters will serve again,
 * whoever still waits goes home (and their ticket is cancelled). */
static void s_send_home(hb_simdrive_t *d)
{
    if (!d->doors_closed)
        return;
    for (int i = 0; i < d->n_counters; i++) {
        if (d->counters[i].state != CTR_DONE)
            return;
    }
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state == CUST_WAITING && c->renege.at > d->now_ms)
            s_arm(d, &c->renege, d->now_ms);
    }
}

static void s_counter_abandon(hb_simdrive_t *d, counter_t *k)
{
    k->state = CTR_DONE;
    k->abandoned = true;
    k->ticket[0] = '\0';
    s_disarm(&k->step);
    s_disarm(&k->lunch_at);
    d->stats.given_up++;
    s_send_home(d);
}

static void s_counter_refused(hb_simdrive_t *d, counter_t *k)
{
    if (++k->strikes >= STRIKES_MAX) {
        s_counter_abandon(d, k);
        return;
    }
    s_surprise(d);
}

static followup_t *s_followup_new(hb_simdrive_t *d, int kind, const customer_t *c, int counter)
{
    for (int i = 0; i < HB_SD_FOLLOWUPS_MAX; i++) {
        followup_t *f = &d->followups[i];
        if (f->kind != FU_FREE)
            continue;
        memset(f, 0, sizeof *f);
        f->kind = kind;
        snprintf(f->ticket, sizeof f->ticket, "%s", c->ticket);
        f->counter = counter;
        return f;
    }
    return NULL;
}

static complaint_t *s_complaint(hb_simdrive_t *d, const char *id)
{
    for (int i = 0; id && i < HB_SD_COMPLAINTS_MAX; i++) {
        complaint_t *p = &d->complaints[i];
        if (p->state != CP_FREE && strcmp(p->id, id) == 0)
            return p;
    }
    return NULL;
}

static complaint_t *s_complaint_new(hb_simdrive_t *d, const char *id)
{
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++) {
        complaint_t *p = &d->complaints[i];
        if (p->state != CP_FREE)
            continue;
        memset(p, 0, sizeof *p);
        snprintf(p->id, sizeof p->id, "%s", id);
        p->state = CP_OPEN;
        s_disarm(&p->timer);
        return p;
    }
    return NULL;
}

static void s_complaint_free(complaint_t *p)
{
    memset(p, 0, sizeof *p);
    p->state = CP_FREE;
    s_disarm(&p->timer);
}

/* After the acknowledgement: escalate or resolve, when the model says. */
static void s_complaint_acked(hb_simdrive_t *d, complaint_t *p)
{
    int64_t after = 0;
    p->state = CP_ACKED;
    p->escalate = hb_sim_draw_escalation(&p->rng, p->severity_rank, &after);
    s_arm(d, &p->timer, d->now_ms + after);
}

static void s_complaint_refused(hb_simdrive_t *d, complaint_t *p)
{
    if (++p->strikes >= STRIKES_MAX) {
        s_complaint_free(p);
        d->stats.given_up++;
        return;
    }
    s_surprise(d);
}

/* ------------------------------------------------------------- steps ---- */

static json_t *s_services_json(unsigned services)
{
    json_t *a = json_array();
    for (int s = 0; a && s < HB_SIM_SERVICES; s++) {
        if ((services >> s) & 1u)
            json_array_append_new(a, json_string(hb_sim_service_code(s)));
    }
    return a;
}

/* A counter's next step; false when it has none now. */
static bool s_counter_step(hb_simdrive_t *d, int i, hb_sd_request_t *req)
{
    counter_t *k = &d->counters[i];
    const char *id = k->plan.id;
    s_disarm(&k->step);
    switch (k->state) {
    case CTR_CLOSED:
        if (d->doors_closed && !s_waiting_for(d, k->services)) {
            k->state = CTR_DONE; /* not worth opening to close */
            s_send_home(d);
            return false;
        }
        s_request(d, req, HB_SD_COUNTER_OPEN, i,
                  json_pack("{s:s, s:o}", "staff", k->plan.staff, "services",
                            s_services_json(k->plan.services)),
                  "/v1/counters/%s/open", id);
        return true;
    case CTR_IDLE:
        if (k->lunch == LUNCH_DUE) {
            s_request(d, req, HB_SD_COUNTER_PAUSE, i,
                      json_pack("{s:s}", "reason", "lunch rotation"), "/v1/counters/%s/pause", id);
            return true;
        }
        if (s_waiting_for(d, k->services)) {
            s_request(d, req, HB_SD_CALL, i, NULL, "/v1/counters/%s/call", id);
            return true;
        }
        if (d->doors_closed) {
            s_request(d, req, HB_SD_COUNTER_CLOSE, i, NULL, "/v1/counters/%s/close", id);
            return true;
        }
        return false; /* an arrival or a transfer wakes it */
    case CTR_CALLING: {
        customer_t *c = s_customer(d, k->ticket);
        if (!c) {
            s_surprise(d);
            return false;
        }
        if (c->recalls_done >= RECALLS_CAP) {
            s_request(d, req, HB_SD_NO_SHOW, i, NULL, "/v1/tickets/%s/no-show", c->ticket);
        } else if (c->recalls_done < c->recalls_needed) {
            s_request(d, req, HB_SD_RECALL, i, NULL, "/v1/tickets/%s/recall", c->ticket);
        } else {
            s_request(d, req, HB_SD_START, i, NULL, "/v1/counters/%s/start", id);
        }
        return true;
    }
    case CTR_SERVING: {
        customer_t *c = s_customer(d, k->ticket);
        if (!c) {
            s_surprise(d);
            return false;
        }
        if (c->transfer_to >= 0 && !c->transferred) {
            s_request(d, req, HB_SD_TRANSFER, i,
                      json_pack("{s:s}", "service", hb_sim_service_code(c->transfer_to)),
                      "/v1/tickets/%s/transfer", c->ticket);
            return true;
        }
        hb_sim_result_t res;
        hb_sim_draw_result(&c->rng, c->business, &res);
        json_t *body = json_pack("{s:s, s:s}", "business_type", c->business->name, "outcome",
                                 res.outcome);
        if (body && res.amount > 0)
            json_object_set_new(body, "amount", json_integer(res.amount));
        c->not_done = !res.done;
        s_request(d, req, HB_SD_COMPLETE, i, body, "/v1/counters/%s/complete", id);
        return true;
    }
    case CTR_PAUSED:
        s_request(d, req, HB_SD_COUNTER_RESUME, i, NULL, "/v1/counters/%s/resume", id);
        return true;
    default:
        return false;
    }
}

static void s_lunch(hb_simdrive_t *d, counter_t *k)
{
    s_disarm(&k->lunch_at);
    if (d->doors_closed || k->lunch != LUNCH_AHEAD)
        return;
    if (k->state == CTR_IDLE) {
        k->lunch = LUNCH_DUE;
        s_arm(d, &k->step, d->now_ms);
    } else if (k->state == CTR_CALLING || k->state == CTR_SERVING) {
        k->lunch = LUNCH_DUE; /* taken when the current customer is done */
    } else {
        k->lunch = LUNCH_TAKEN; /* closed or paused: the slot passes */
    }
}

static void s_arrival(hb_simdrive_t *d, bool missed)
{
    int64_t at = d->arrival.at;
    if (at >= d->close_ms) {
        s_disarm(&d->arrival);
        return;
    }
    int tod = HB_SIM_OPEN_S + (int)((at - d->open_ms) / SEC);
    bool customer = hb_sim_draw_arrival(&d->arrivals, d->ch.size, tod);
    s_arm(d, &d->arrival, at + hb_sim_draw_arrival_gap_ms(&d->arrivals, d->ch.size));
    if (!customer)
        return;
    d->arrival_no++;
    d->stats.arrivals++;
    if (missed)
        d->stats.missed++;
}

/* An arrival that is a customer asks for a ticket; false when there was
 * no customer or no room for one. */
static bool s_arrival_step(hb_simdrive_t *d, hb_sd_request_t *req)
{
    uint32_t before = d->arrival_no;
    s_arrival(d, false);
    if (d->arrival_no == before)
        return false;
    customer_t *c = s_customer_new(d, hb_sim_mix(d->day_seed, d->arrival_no, 0x63757374ULL));
    if (!c) {
        d->stats.turned_away++;
        return false;
    }
    s_request(d, req, HB_SD_TICKET, (int)(c - d->customers),
              json_pack("{s:s, s:s, s:s}", "service", hb_sim_service_code(c->service), "priority",
                        hb_sim_priority_name(c->priority), "source", c->source),
              "/v1/tickets");
    return true;
}

static bool s_followup_step(hb_simdrive_t *d, int i, hb_sd_request_t *req)
{
    followup_t *f = &d->followups[i];
    s_disarm(&f->timer);
    const char *counter = f->counter >= 0 ? d->counters[f->counter].plan.id : NULL;
    if (f->kind == FU_SCORE) {
        json_t *body = json_pack("{s:i, s:s}", "score", f->score, "ticket", f->ticket);
        if (body && counter)
            json_object_set_new(body, "counter", json_string(counter));
        s_request(d, req, HB_SD_FEEDBACK, i, body, "/v1/feedback");
        return true;
    }
    hb_sim_draw_complaint(&f->rng, f->long_wait, &f->complaint);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "channel", f->complaint.channel, "category",
                             f->complaint.category, "severity", f->complaint.severity, "text",
                             f->complaint.text);
    if (body && !f->complaint.anonymous)
        json_object_set_new(body, "ticket", json_string(f->ticket));
    s_request(d, req, HB_SD_COMPLAINT_OPEN, i, body, "/v1/complaints");
    return true;
}

static bool s_complaint_step(hb_simdrive_t *d, int i, hb_sd_request_t *req)
{
    complaint_t *p = &d->complaints[i];
    s_disarm(&p->timer);
    if (p->state == CP_OPEN) {
        s_request(d, req, HB_SD_COMPLAINT_ACK, i, json_pack("{s:s}", "by", STAFF_MANAGER),
                  "/v1/complaints/%s/ack", p->id);
    } else if (p->state == CP_ACKED && p->escalate) {
        s_request(d, req, HB_SD_COMPLAINT_ESCALATE, i,
                  json_pack("{s:s, s:s}", "level", hb_sim_escalation_level(p->severity_rank),
                            "reason", hb_sim_escalation_reason(p->severity_rank)),
                  "/v1/complaints/%s/escalate", p->id);
    } else {
        s_request(d, req, HB_SD_COMPLAINT_RESOLVE, i,
                  json_pack("{s:s, s:b}", "resolution", p->resolution, "customer_satisfied",
                            hb_sim_draw_satisfied(&p->rng)),
                  "/v1/complaints/%s/resolve", p->id);
    }
    return true;
}

static bool s_device_step(hb_simdrive_t *d, int i, hb_sd_request_t *req)
{
    device_step_t *s = &d->device_steps[i];
    s_disarm(&s->timer);
    const hb_sim_device_t *dev = hb_sim_device(s->device);
    if (s->device == 0)
        d->kiosk_out = s->fault; /* the reception desk hands tickets out meanwhile */
    json_t *body = json_pack("{s:s, s:s}", "kind", dev->kind, "state",
                             s->fault ? dev->fault_state : "ok");
    if (body && s->fault)
        json_object_set_new(body, "detail", json_string(dev->fault_detail));
    s_request(d, req, HB_SD_DEVICE, i, body, "/v1/devices/%s/status", dev->id);
    return true;
}

/* ----------------------------------------------------------- answers ---- */

static bool s_ok(int status) { return status >= 200 && status < 300; }

static void s_answer_ticket(hb_simdrive_t *d, customer_t *c, int status, const json_t *body)
{
    const char *ticket = s_str(body, "ticket");
    if (status == 201 && s_id_ok(ticket)) {
        customer_t *stale = s_customer(d, ticket);
        if (stale) {
            /* A number the hall gives again (a new day in the hall) means
             * that one is gone. */
            s_customer_free(stale);
            d->stats.vanished++;
        }
        snprintf(c->ticket, sizeof c->ticket, "%s", ticket);
        c->state = CUST_WAITING;
        s_arm(d, &c->renege, d->now_ms + c->patience_ms);
        d->stats.issued++;
        s_wake(d, c->service);
        return;
    }
    s_customer_free(c);
    const char *code = s_str(body, "error");
    if (status == 409 && code && strcmp(code, "closed") == 0)
        d->stats.refused_closed++;
    else if (status == 503 && code && strcmp(code, "full") == 0)
        d->stats.refused_full++;
    else
        s_surprise(d);
}

static void s_answer_counter(hb_simdrive_t *d, int i, hb_sd_kind_t kind, int status,
                             const json_t *body)
{
    counter_t *k = &d->counters[i];
    customer_t *c = k->ticket[0] ? s_customer(d, k->ticket) : NULL;
    if (!s_ok(status)) {
        if (kind == HB_SD_CALL && status == 404)
            k->strikes = 0; /* nobody waits after all: a belief to correct, not a fault */
        s_counter_refused(d, k);
        return;
    }
    k->strikes = 0;
    switch (kind) {
    case HB_SD_COUNTER_OPEN:
    case HB_SD_COUNTER_RESUME:
        if (kind == HB_SD_COUNTER_RESUME)
            k->lunch = LUNCH_TAKEN;
        s_counter_idle(d, k);
        break;
    case HB_SD_COUNTER_PAUSE:
        k->state = CTR_PAUSED;
        k->lunch = LUNCH_TAKING;
        d->stats.lunch_breaks++;
        s_arm(d, &k->step, d->now_ms + HB_SIM_LUNCH_MS);
        break;
    case HB_SD_COUNTER_CLOSE:
        k->state = CTR_DONE;
        s_disarm(&k->lunch_at);
        s_send_home(d);
        break;
    case HB_SD_CALL: {
        const char *ticket = s_str(body, "ticket");
        if (!s_id_ok(ticket)) {
            s_surprise(d);
            return;
        }
        c = s_customer(d, ticket);
        if (!c || c->state != CUST_WAITING) {
            /* The hall called a ticket we did not know waited: learn what
             * else we missed. */
            s_surprise(d);
            return;
        }
        c->state = CUST_CALLED;
        c->called_ms = d->now_ms;
        c->recalls_done = 0;
        s_disarm(&c->renege);
        snprintf(k->ticket, sizeof k->ticket, "%s", ticket);
        k->state = CTR_CALLING;
        d->stats.called++;
        s_arm(d, &k->step,
              d->now_ms + (c->recalls_needed > 0 ? HB_SIM_RECALL_MS
                                                 : hb_sim_draw_walk_ms(&c->rng, false)));
        break;
    }
    case HB_SD_RECALL:
    case HB_SD_NO_SHOW: {
        const char *state = s_str(body, "state");
        if (!c) {
            s_surprise(d);
            return;
        }
        if (kind == HB_SD_NO_SHOW || (state && strcmp(state, "no_show") == 0)) {
            d->stats.no_shows++;
            s_customer_free(c);
            s_counter_idle(d, k);
            return;
        }
        c->recalls_done++;
        d->stats.recalled++;
        bool comes = c->recalls_done >= c->recalls_needed;
        s_arm(d, &k->step,
              d->now_ms + (comes ? hb_sim_draw_walk_ms(&c->rng, true) : HB_SIM_RECALL_MS));
        break;
    }
    case HB_SD_START:
        if (!c) {
            s_surprise(d);
            return;
        }
        c->state = CUST_SERVING;
        c->business = hb_sim_draw_business(&c->rng, c->service);
        c->service_ms = hb_sim_draw_service_ms(&c->rng, c->business);
        k->state = CTR_SERVING;
        d->stats.started++;
        {
            bool transfer = c->transfer_to >= 0 && !c->transferred;
            int64_t took = transfer ? (int64_t)((double)c->service_ms * TRANSFER_POINT)
                                    : c->service_ms;
            s_arm(d, &k->step, d->now_ms + took);
        }
        break;
    case HB_SD_TRANSFER:
        if (!c) {
            s_surprise(d);
            return;
        }
        c->service = c->transfer_to;
        c->transferred = true;
        c->state = CUST_WAITING;
        /* Sent to another queue, they wait there as patiently as anyone. */
        s_arm(d, &c->renege, d->now_ms + hb_sim_draw_patience_ms(&c->rng));
        d->stats.transferred++;
        s_counter_idle(d, k);
        s_wake(d, c->service);
        break;
    case HB_SD_COMPLETE:
        if (!c) {
            s_surprise(d);
            return;
        }
        d->stats.served++;
        {
            /* A long wait or a service not done disappoints. */
            int64_t waited = c->called_ms - c->arrived_ms;
            bool long_wait = waited > HB_SIM_AGEING_MS;
            int64_t after = 0;
            int score = hb_sim_draw_score(&c->rng, long_wait || c->not_done, &after);
            followup_t *f = score > 0 ? s_followup_new(d, FU_SCORE, c, i) : NULL;
            if (f) {
                f->score = score;
                s_arm(d, &f->timer, d->now_ms + after);
            }
            if (hb_sim_draw_complains(&c->rng, &after)) {
                f = s_followup_new(d, FU_COMPLAINT, c, i);
                if (f) {
                    f->long_wait = long_wait;
                    hb_sim_rng_seed(&f->rng, hb_sim_u64(&c->rng));
                    s_arm(d, &f->timer, d->now_ms + after);
                }
            }
        }
        s_customer_free(c);
        s_counter_idle(d, k);
        break;
    default:
        break;
    }
}

static void s_answer_complaint(hb_simdrive_t *d, int i, hb_sd_kind_t kind, int status)
{
    complaint_t *p = &d->complaints[i];
    if (kind == HB_SD_COMPLAINT_ESCALATE && status == 409) {
        /* Escalated already (the hall escalates by itself when a deadline
         * passes): on to the resolution. */
        p->state = CP_ESCALATED;
        s_arm(d, &p->timer, d->now_ms + hb_sim_draw_resolve_after_escalation_ms(&p->rng));
        return;
    }
    if (kind == HB_SD_COMPLAINT_RESOLVE && status == 404) {
        s_complaint_free(p); /* resolved already */
        return;
    }
    if (!s_ok(status)) {
        s_complaint_refused(d, p);
        return;
    }
    p->strikes = 0;
    if (kind == HB_SD_COMPLAINT_ACK) {
        d->stats.complaints_acked++;
        s_complaint_acked(d, p);
    } else if (kind == HB_SD_COMPLAINT_ESCALATE) {
        d->stats.complaints_escalated++;
        p->state = CP_ESCALATED;
        s_arm(d, &p->timer, d->now_ms + hb_sim_draw_resolve_after_escalation_ms(&p->rng));
    } else {
        d->stats.complaints_resolved++;
        s_complaint_free(p);
    }
}

static void s_answer_followup(hb_simdrive_t *d, int i, int status, const json_t *body)
{
    followup_t *f = &d->followups[i];
    if (f->kind == FU_SCORE && status == 201) {
        d->stats.feedback++;
    } else if (f->kind == FU_COMPLAINT && status == 201 && s_id_ok(s_str(body, "id"))) {
        d->stats.complaints_opened++;
        complaint_t *p = s_complaint_new(d, s_str(body, "id"));
        if (p) {
            p->rng = f->rng;
            p->severity_rank = f->complaint.severity_rank;
            p->resolution = f->complaint.resolution;
            s_arm(d, &p->timer, d->now_ms + f->complaint.ack_after_ms);
        } else {
            d->stats.given_up++;
        }
    }
    /* A refused score or complaint is not retried: the customer has gone
     * home (the caller counts the refusal). */
    memset(f, 0, sizeof *f);
    f->kind = FU_FREE;
    s_disarm(&f->timer);
}

/* ------------------------------------------------- the hall's state ---- */

static unsigned s_services_bits(const json_t *arr)
{
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        int s = s_service_index(json_string_value(v));
        if (s >= 0)
            bits |= 1u << s;
    }
    return bits;
}

static int s_ticket_state(const char *name)
{
    if (!name)
        return CUST_FREE;
    if (strcmp(name, "waiting") == 0)
        return CUST_WAITING;
    if (strcmp(name, "called") == 0)
        return CUST_CALLED;
    if (strcmp(name, "serving") == 0)
        return CUST_SERVING;
    return CUST_FREE;
}

/* Takes the hall's tickets over: ours it still has follow its word, ours it
 * no longer has are gone, and its others become ours to play. */
static void s_take_tickets(hb_simdrive_t *d, const json_t *tickets)
{
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++)
        d->customers[i].seen = false;
    size_t n;
    json_t *t;
    json_array_foreach(tickets, n, t)
    {
        const char *id = s_str(t, "ticket");
        int state = s_ticket_state(s_str(t, "state"));
        if (!s_id_ok(id) || state == CUST_FREE)
            continue;
        customer_t *c = s_customer(d, id);
        if (!c) {
            c = s_customer_new(d, hb_sim_mix(d->day_seed, s_hash(id), 0x61646f70ULL));
            if (!c) {
                d->stats.turned_away++;
                continue;
            }
            snprintf(c->ticket, sizeof c->ticket, "%s", id);
            c->arrived_ms = d->now_ms;
            d->stats.adopted++;
        }
        c->seen = true;
        c->service = s_service_index(s_str(t, "service"));
        c->state = state;
        json_t *recalls = json_object_get(t, "recalls");
        if (json_is_integer(recalls) && state == CUST_CALLED)
            c->recalls_done = (int)json_integer_value(recalls);
        const char *counter = s_str(t, "counter");
        bool ours = counter && s_counter_index(d, counter) >= 0;
        if (c->service < 0 || (state != CUST_WAITING && !ours)) {
            c->state = CUST_ELSEWHERE;
            s_disarm(&c->renege);
        } else if (state == CUST_WAITING && c->renege.at == NEVER) {
            s_arm(d, &c->renege, d->now_ms + c->patience_ms);
        } else if (state != CUST_WAITING) {
            s_disarm(&c->renege);
        }
    }
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state != CUST_FREE && !c->seen) {
            d->stats.vanished++;
            s_customer_free(c);
        }
    }
}

static void s_take_counter(hb_simdrive_t *d, int i, const json_t *hc)
{
    counter_t *k = &d->counters[i];
    if (k->abandoned)
        return;
    const char *state = hc ? s_str(hc, "state") : "closed";
    const char *ticket = hc ? s_str(hc, "ticket") : NULL;
    customer_t *c = ticket ? s_customer(d, ticket) : NULL;
    if (hc && json_is_array(json_object_get(hc, "services")))
        k->services = s_services_bits(json_object_get(hc, "services"));
    bool same_ticket = ticket && strcmp(k->ticket, ticket) == 0;
    if (!state || strcmp(state, "closed") == 0) {
        if (k->state != CTR_DONE) {
            k->state = CTR_CLOSED;
            k->services = k->plan.services;
            s_arm(d, &k->step, d->now_ms);
        }
        k->ticket[0] = '\0';
    } else if (strcmp(state, "idle") == 0) {
        s_counter_idle(d, k);
    } else if ((strcmp(state, "calling") == 0 || strcmp(state, "serving") == 0) && c &&
               c->state != CUST_ELSEWHERE) {
        bool serving = state[0] == 's';
        int want = serving ? CTR_SERVING : CTR_CALLING;
        bool keep = k->state == want && same_ticket && k->step.at != NEVER;
        snprintf(k->ticket, sizeof k->ticket, "%s", ticket);
        k->state = want;
        if (!keep && serving) {
            if (!c->business) {
                c->business = hb_sim_draw_business(&c->rng, c->service);
                c->service_ms = hb_sim_draw_service_ms(&c->rng, c->business);
            }
            s_arm(d, &k->step, d->now_ms + c->service_ms);
        } else if (!keep) {
            if (!c->called_ms)
                c->called_ms = d->now_ms;
            bool comes = c->recalls_done >= c->recalls_needed;
            s_arm(d, &k->step,
                  d->now_ms + (comes ? hb_sim_draw_walk_ms(&c->rng, c->recalls_done > 0)
                                     : HB_SIM_RECALL_MS));
        }
    } else if (strcmp(state, "paused") == 0) {
        if (k->state != CTR_PAUSED || k->step.at == NEVER) {
            /* A pause we did not see answered: it is the lunch break. */
            k->state = CTR_PAUSED;
            k->lunch = LUNCH_TAKING;
            s_arm(d, &k->step, d->now_ms + HB_SIM_LUNCH_MS);
        }
    } else {
        /* Busy with a ticket we cannot follow, or a state this build does
         * not know: leave the counter to the hall for today. */
        s_counter_abandon(d, k);
    }
}

static void s_take_complaints(hb_simdrive_t *d, const json_t *list)
{
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++)
        d->complaints[i].seen = false;
    size_t n;
    json_t *o;
    json_array_foreach(list, n, o)
    {
        const char *id = s_str(o, "complaint");
        const char *state = s_str(o, "state");
        if (!s_id_ok(id) || !state)
            continue;
        bool acked = strcmp(state, "acknowledged") == 0;
        complaint_t *p = s_complaint(d, id);
        if (!p) {
            p = s_complaint_new(d, id);
            if (!p) {
                d->stats.given_up++;
                continue;
            }
            hb_sim_rng_seed(&p->rng, hb_sim_mix(d->day_seed, s_hash(id), 0x636f6d70ULL));
            hb_sim_complaint_t drawn;
            hb_sim_draw_complaint(&p->rng, false, &drawn);
            p->severity_rank = s_severity_rank(s_str(o, "severity"));
            p->resolution = drawn.resolution;
            s_arm(d, &p->timer, d->now_ms + drawn.ack_after_ms);
            d->stats.adopted++;
        }
        p->seen = true;
        if (acked && p->state == CP_OPEN) {
            s_complaint_acked(d, p); /* our acknowledgement went through after all */
        } else if (!acked && p->state != CP_OPEN) {
            p->state = CP_OPEN; /* it did not */
            s_arm(d, &p->timer, d->now_ms);
        } else if (p->timer.at == NEVER) {
            s_arm(d, &p->timer, d->now_ms);
        }
    }
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++) {
        complaint_t *p = &d->complaints[i];
        if (p->state != CP_FREE && !p->seen) {
            d->stats.vanished++;
            s_complaint_free(p);
        }
    }
}

static void s_answer_read(hb_simdrive_t *d, int status, const json_t *view)
{
    const json_t *tickets = json_object_get(view, "tickets");
    const json_t *counters = json_object_get(view, "counters");
    const json_t *complaints = json_object_get(json_object_get(view, "complaints"), "list");
    if (status != 200 || !json_is_array(tickets) || !json_is_array(counters) ||
        !json_is_array(complaints)) {
        /* Try again later, less and less often. */
        d->read_backoff_ms = d->read_backoff_ms ? d->read_backoff_ms * 2 : READ_BACKOFF_MIN;
        if (d->read_backoff_ms > READ_BACKOFF_MAX)
            d->read_backoff_ms = READ_BACKOFF_MAX;
        s_arm(d, &d->read, d->now_ms + d->read_backoff_ms);
        d->stats.surprises++;
        return;
    }
    d->need_read = false;
    d->read_backoff_ms = 0;
    s_disarm(&d->read);
    d->stats.resyncs++;
    s_take_tickets(d, tickets);
    for (int i = 0; i < d->n_counters; i++) {
        const json_t *hc = NULL;
        size_t n;
        json_t *o;
        json_array_foreach(counters, n, o)
        {
            const char *id = s_str(o, "counter");
            if (id && strcmp(id, d->counters[i].plan.id) == 0)
                hc = o;
        }
        s_take_counter(d, i, hc);
    }
    /* A ticket the hall has at one of our counters that the counter did
     * not take up (it could not follow it) is not ours to play. */
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state != CUST_CALLED && c->state != CUST_SERVING)
            continue;
        bool held = false;
        for (int k = 0; k < d->n_counters && !held; k++)
            held = strcmp(d->counters[k].ticket, c->ticket) == 0;
        if (!held) {
            c->state = CUST_ELSEWHERE;
            s_disarm(&c->renege);
        }
    }
    s_take_complaints(d, complaints);
    s_wake(d, -1);
}

/* ------------------------------------------------------------ public ---- */

const char *hb_simdrive_kind_name(hb_sd_kind_t kind)
{
    static const char *const names[HB_SD_KINDS] = {
        [HB_SD_READ_HALL] = "read_hall",
        [HB_SD_DEVICE] = "device_status",
        [HB_SD_COUNTER_OPEN] = "counter_open",
        [HB_SD_COUNTER_PAUSE] = "counter_pause",
        [HB_SD_COUNTER_RESUME] = "counter_resume",
        [HB_SD_COUNTER_CLOSE] = "counter_close",
        [HB_SD_CALL] = "call",
        [HB_SD_RECALL] = "recall",
        [HB_SD_NO_SHOW] = "no_show",
        [HB_SD_START] = "start",
        [HB_SD_TRANSFER] = "transfer",
        [HB_SD_COMPLETE] = "complete",
        [HB_SD_TICKET] = "ticket",
        [HB_SD_CANCEL] = "cancel",
        [HB_SD_FEEDBACK] = "feedback",
        [HB_SD_COMPLAINT_OPEN] = "complaint_open",
        [HB_SD_COMPLAINT_ACK] = "complaint_ack",
        [HB_SD_COMPLAINT_ESCALATE] = "complaint_escalate",
        [HB_SD_COMPLAINT_RESOLVE] = "complaint_resolve",
    };
    return kind >= 0 && kind < HB_SD_KINDS && names[kind] ? names[kind] : "unknown";
}

hb_simdrive_t *hb_simdrive_new(uint64_t seed, int hall_index, int64_t open_ms)
{
    hb_simdrive_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    /* Another stream than the event mode's day, from the same three. */
    d->day_seed = hb_sim_mix(seed ^ 0x6472697665ULL, (uint64_t)hall_index, (uint64_t)open_ms);
    d->open_ms = d->now_ms = open_ms;
    d->close_ms = open_ms + (int64_t)(HB_SIM_CLOSE_S - HB_SIM_OPEN_S) * SEC;
    hb_sim_character(seed, hall_index, &d->ch);
    hb_sim_rng_seed(&d->arrivals, hb_sim_mix(d->day_seed, 0, 0x61727276ULL));
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++)
        s_customer_free(&d->customers[i]);
    for (int i = 0; i < HB_SD_FOLLOWUPS_MAX; i++)
        s_disarm(&d->followups[i].timer);
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++)
        s_complaint_free(&d->complaints[i]);

    /* First of all, what the hall is doing already. */
    d->need_read = true;
    s_arm(d, &d->read, open_ms);
    d->n_counters = d->ch.n_counters;
    for (int i = 0; i < d->n_counters; i++) {
        counter_t *k = &d->counters[i];
        k->plan = d->ch.counters[i];
        k->services = k->plan.services;
        k->state = CTR_CLOSED;
        k->lunch = LUNCH_AHEAD;
        s_disarm(&k->step); /* the hall's state sets it */
        s_arm(d, &k->lunch_at, open_ms + k->plan.lunch_offset_ms);
    }
    hb_sim_rng_t devices;
    hb_sim_rng_seed(&devices, hb_sim_mix(d->day_seed, 1, 0x64657673ULL));
    for (int i = 0; i < HB_SIM_DEVICES; i++) {
        device_step_t *s = &d->device_steps[d->n_device_steps++];
        s->device = i;
        s_arm(d, &s->timer, open_ms);
    }
    for (int i = 0; i < HB_SIM_DEVICES; i++) {
        int64_t fault = 0, fixed = 0;
        if (!hb_sim_draw_device_fault(&devices, i, d->close_ms - open_ms, &fault, &fixed))
            continue;
        device_step_t *s = &d->device_steps[d->n_device_steps++];
        s->device = i;
        s->fault = true;
        s_arm(d, &s->timer, open_ms + fault);
        s = &d->device_steps[d->n_device_steps++];
        s->device = i;
        s_arm(d, &s->timer, open_ms + fixed);
    }
    s_arm(d, &d->closing, d->close_ms);
    s_arm(d, &d->arrival, open_ms + hb_sim_draw_arrival_gap_ms(&d->arrivals, d->ch.size));
    return d;
}

void hb_simdrive_destroy(hb_simdrive_t **d_p)
{
    if (!d_p || !*d_p)
        return;
    free(*d_p);
    *d_p = NULL;
}

/* The earliest timer, and whose it is. */
static sd_timer_t s_earliest(const hb_simdrive_t *d, int *who, int *index)
{
    sd_timer_t best = {NEVER, UINT32_MAX};
    *who = W_NONE;
    *index = -1;
#define CONSIDER(timer, w, i)                                                                     \
    do {                                                                                          \
        if ((timer).at != NEVER && s_before(&(timer), &best)) {                                   \
            best = (timer);                                                                       \
            *who = (w);                                                                           \
            *index = (i);                                                                         \
        }                                                                                         \
    } while (0)
    if (d->need_read) {
        CONSIDER(d->read, W_READ, 0);
        return best;
    }
    CONSIDER(d->arrival, W_ARRIVAL, 0);
    CONSIDER(d->closing, W_CLOSING, 0);
    for (int i = 0; i < d->n_device_steps; i++)
        CONSIDER(d->device_steps[i].timer, W_DEVICE, i);
    for (int i = 0; i < d->n_counters; i++) {
        CONSIDER(d->counters[i].step, W_STEP, i);
        CONSIDER(d->counters[i].lunch_at, W_LUNCH, i);
    }
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++)
        CONSIDER(d->customers[i].renege, W_RENEGE, i);
    for (int i = 0; i < HB_SD_FOLLOWUPS_MAX; i++)
        CONSIDER(d->followups[i].timer, W_FOLLOWUP, i);
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++)
        CONSIDER(d->complaints[i].timer, W_COMPLAINT, i);
#undef CONSIDER
    return best;
}

static bool s_day_done(const hb_simdrive_t *d)
{
    if (!d->doors_closed || d->need_read || d->arrival.at != NEVER)
        return false;
    for (int i = 0; i < d->n_counters; i++) {
        if (d->counters[i].state != CTR_DONE)
            return false;
    }
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        int st = d->customers[i].state;
        if (st != CUST_FREE && st != CUST_ELSEWHERE)
            return false;
    }
    for (int i = 0; i < HB_SD_FOLLOWUPS_MAX; i++) {
        if (d->followups[i].kind != FU_FREE)
            return false;
    }
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++) {
        if (d->complaints[i].state != CP_FREE)
            return false;
    }
    for (int i = 0; i < d->n_device_steps; i++) {
        if (d->device_steps[i].timer.at != NEVER)
            return false;
    }
    return true;
}

int64_t hb_simdrive_due(const hb_simdrive_t *d)
{
    if (d->out || d->over)
        return NEVER;
    if (s_day_done(d))
        return d->now_ms; /* next() says so */
    int who, index;
    sd_timer_t t = s_earliest(d, &who, &index);
    /* The overtime bound ends the day even with nothing due. */
    int64_t end = d->close_ms + HB_SD_OVERTIME_MS;
    return t.at < end ? t.at : end;
}

int hb_simdrive_next(hb_simdrive_t *d, int64_t sim_now_ms, hb_sd_request_t *req)
{
    assert(d && req);
    assert(!d->out); /* answer the request out first */
    while (!d->over) {
        if (sim_now_ms >= d->close_ms + HB_SD_OVERTIME_MS || s_day_done(d)) {
            d->over = true;
            break;
        }
        /* Customers who come while the hall does not answer find its kiosk
         * dead and go; staff steps wait for the hall. */
        while (d->need_read && d->unreachable && d->arrival.at <= sim_now_ms)
            s_arrival(d, true);
        int who, i;
        sd_timer_t t = s_earliest(d, &who, &i);
        if (t.at == NEVER || t.at > sim_now_ms)
            return HB_EAGAIN;
        if (t.at > d->now_ms)
            d->now_ms = t.at;
        bool asked = false;
        switch (who) {
        case W_READ:
            s_disarm(&d->read);
            s_request(d, req, HB_SD_READ_HALL, 0, NULL, "/v1/hall");
            asked = true;
            break;
        case W_ARRIVAL:
            asked = s_arrival_step(d, req);
            break;
        case W_CLOSING:
            s_disarm(&d->closing);
            d->doors_closed = true;
            s_wake(d, -1);
            s_send_home(d);
            for (int k = 0; k < d->n_counters; k++) {
                if (d->counters[k].state == CTR_CLOSED)
                    s_arm(d, &d->counters[k].step, d->now_ms);
            }
            break;
        case W_DEVICE:
            asked = s_device_step(d, i, req);
            break;
        case W_STEP:
            asked = s_counter_step(d, i, req);
            break;
        case W_LUNCH:
            s_lunch(d, &d->counters[i]);
            break;
        case W_RENEGE: {
            customer_t *c = &d->customers[i];
            s_disarm(&c->renege);
            if (c->state == CUST_WAITING) {
                s_request(d, req, HB_SD_CANCEL, i, json_pack("{s:s}", "reason", "customer left"),
                          "/v1/tickets/%s/cancel", c->ticket);
                asked = true;
            }
            break;
        }
        case W_FOLLOWUP:
            asked = s_followup_step(d, i, req);
            break;
        case W_COMPLAINT:
            asked = s_complaint_step(d, i, req);
            break;
        default:
            break;
        }
        if (asked)
            return 0;
    }
    return HB_ECLOSED;
}

void hb_simdrive_answer(hb_simdrive_t *d, int status, const json_t *body)
{
    assert(d && d->out);
    d->out = false;
    d->unreachable = false;
    d->stats.answered++;
    int i = d->out_index;
    switch (d->out_kind) {
    case HB_SD_READ_HALL:
        s_answer_read(d, status, body);
        break;
    case HB_SD_TICKET:
        s_answer_ticket(d, &d->customers[i], status, body);
        break;
    case HB_SD_CANCEL: {
        customer_t *c = &d->customers[i];
        if (s_ok(status)) {
            d->stats.cancelled++;
            s_customer_free(c);
        } else if (++c->strikes >= STRIKES_MAX) {
            s_customer_free(c);
            d->stats.given_up++;
        } else {
            s_surprise(d);
        }
        break;
    }
    case HB_SD_FEEDBACK:
    case HB_SD_COMPLAINT_OPEN:
        s_answer_followup(d, i, status, body);
        break;
    case HB_SD_COMPLAINT_ACK:
    case HB_SD_COMPLAINT_ESCALATE:
    case HB_SD_COMPLAINT_RESOLVE:
        s_answer_complaint(d, i, d->out_kind, status);
        break;
    case HB_SD_DEVICE:
        if (s_ok(status))
            d->stats.device_reports++;
        break;
    default:
        s_answer_counter(d, i, d->out_kind, status, body);
        break;
    }
}

void hb_simdrive_no_answer(hb_simdrive_t *d)
{
    assert(d && d->out);
    d->out = false;
    d->unreachable = true;
    d->stats.unanswered++;
    if (d->out_kind == HB_SD_TICKET) {
        /* Issued or not, the customer does not know their number; the
         * hall's state will show a ticket that was issued. */
        s_customer_free(&d->customers[d->out_index]);
        d->stats.missed++;
    } else if (d->out_kind == HB_SD_FEEDBACK || d->out_kind == HB_SD_COMPLAINT_OPEN) {
        followup_t *f = &d->followups[d->out_index];
        memset(f, 0, sizeof *f);
        f->kind = FU_FREE;
        s_disarm(&f->timer);
    } else if (d->out_kind == HB_SD_DEVICE && d->out_index >= 0) {
        /* Report it again once the hall answers. */
        s_arm(d, &d->device_steps[d->out_index].timer, d->now_ms);
    } else if (d->out_kind >= HB_SD_COUNTER_OPEN && d->out_kind <= HB_SD_COMPLETE) {
        counter_t *k = &d->counters[d->out_index];
        if (k->step.at == NEVER)
            s_arm(d, &k->step, d->now_ms); /* the hall's state decides what it does next */
    } else if (d->out_kind == HB_SD_CANCEL) {
        customer_t *c = &d->customers[d->out_index];
        if (c->state == CUST_WAITING)
            s_arm(d, &c->renege, d->now_ms);
    } else if (d->out_kind >= HB_SD_COMPLAINT_ACK && d->out_kind <= HB_SD_COMPLAINT_RESOLVE) {
        complaint_t *p = &d->complaints[d->out_index];
        if (p->state != CP_FREE && p->timer.at == NEVER)
            s_arm(d, &p->timer, d->now_ms);
    }
    d->need_read = true;
    s_arm(d, &d->read, d->now_ms);
}

void hb_simdrive_stats(const hb_simdrive_t *d, hb_sd_stats_t *out)
{
    assert(d && out);
    *out = d->stats;
}
