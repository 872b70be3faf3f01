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
 * one entity may be refused in a row before it is left alone.
 *
 * This file holds the schedule, the entities and the requests each step
 * makes; simdrive_answers.c what the answers do (simdrive_int.h between). */
#include "simdrive_int.h"

#include "hallbus/error.h"
#include "hallbus/ids.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers ---- */

void simdrive__arm(hb_simdrive_t *d, sd_timer_t *t, int64_t at)
{
    t->at = at;
    t->order = d->order++;
}

void simdrive__disarm(sd_timer_t *t)
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
bool simdrive__id_ok(const char *id) { return id && hb_id_chars_ok(id, ID_MAX - 1, "."); }

uint64_t simdrive__hash(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

int simdrive__service_index(const char *code)
{
    for (int i = 0; code && i < HB_SIM_SERVICES; i++) {
        if (strcmp(code, hb_sim_service_code(i)) == 0)
            return i;
    }
    return -1;
}

int simdrive__severity_rank(const char *name)
{
    static const char *const names[] = {"low", "medium", "high", "critical"};
    for (int i = 0; name && i < 4; i++) {
        if (strcmp(name, names[i]) == 0)
            return i;
    }
    return 1;
}

const char *simdrive__str(const json_t *obj, const char *name)
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
void simdrive__surprise(hb_simdrive_t *d)
{
    d->stats.surprises++;
    if (!d->need_read) {
        d->need_read = true;
        simdrive__arm(d, &d->read, d->now_ms);
    }
}

/* ---------------------------------------------------------- entities ---- */

customer_t *simdrive__customer(hb_simdrive_t *d, const char *ticket)
{
    for (int i = 0; ticket && i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state != CUST_FREE && c->state != CUST_PENDING && strcmp(c->ticket, ticket) == 0)
            return c;
    }
    return NULL;
}

void simdrive__customer_free(customer_t *c)
{
    memset(c, 0, sizeof *c);
    c->state = CUST_FREE;
    simdrive__disarm(&c->renege);
}

customer_t *simdrive__customer_new(hb_simdrive_t *d, uint64_t seed)
{
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state != CUST_FREE)
            continue;
        simdrive__customer_free(c); /* whatever the last one left */
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
        c->state = CUST_PENDING;
        return c;
    }
    return NULL;
}

int simdrive__counter_index(const hb_simdrive_t *d, const char *id)
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
void simdrive__wake(hb_simdrive_t *d, int service)
{
    for (int i = 0; i < d->n_counters; i++) {
        counter_t *k = &d->counters[i];
        bool serves = service < 0 || ((k->services >> service) & 1u);
        if (k->state == CTR_IDLE && serves && k->step.at == NEVER)
            simdrive__arm(d, &k->step, d->now_ms);
    }
}

void simdrive__counter_idle(hb_simdrive_t *d, counter_t *k)
{
    k->state = CTR_IDLE;
    k->ticket[0] = '\0';
    k->strikes = 0;
    simdrive__arm(d, &k->step, d->now_ms);
}

/* A refusal of a counter's step; after a few in a row the counter is left
 * alone for the day. */
/* Once the doors are closed and none of our counters will serve again,
 * whoever still waits goes home (and their ticket is cancelled). */
void simdrive__send_home(hb_simdrive_t *d)
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
            simdrive__arm(d, &c->renege, d->now_ms);
    }
}

void simdrive__counter_abandon(hb_simdrive_t *d, counter_t *k)
{
    k->state = CTR_DONE;
    k->abandoned = true;
    k->ticket[0] = '\0';
    simdrive__disarm(&k->step);
    simdrive__disarm(&k->lunch_at);
    d->stats.given_up++;
    simdrive__send_home(d);
}

void simdrive__counter_refused(hb_simdrive_t *d, counter_t *k)
{
    if (++k->strikes >= STRIKES_MAX) {
        simdrive__counter_abandon(d, k);
        return;
    }
    simdrive__surprise(d);
}

followup_t *simdrive__followup_new(hb_simdrive_t *d, int kind, const customer_t *c, int counter)
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

complaint_t *simdrive__complaint(hb_simdrive_t *d, const char *id)
{
    for (int i = 0; id && i < HB_SD_COMPLAINTS_MAX; i++) {
        complaint_t *p = &d->complaints[i];
        if (p->state != CP_FREE && strcmp(p->id, id) == 0)
            return p;
    }
    return NULL;
}

void simdrive__complaint_free(complaint_t *p)
{
    memset(p, 0, sizeof *p);
    p->state = CP_FREE;
    simdrive__disarm(&p->timer);
}

complaint_t *simdrive__complaint_new(hb_simdrive_t *d, const char *id)
{
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++) {
        complaint_t *p = &d->complaints[i];
        if (p->state != CP_FREE)
            continue;
        simdrive__complaint_free(p); /* whatever the last one left */
        snprintf(p->id, sizeof p->id, "%s", id);
        p->state = CP_OPEN;
        return p;
    }
    return NULL;
}

/* After the acknowledgement: escalate or resolve, when the model says. */
void simdrive__complaint_acked(hb_simdrive_t *d, complaint_t *p)
{
    int64_t after = 0;
    p->state = CP_ACKED;
    p->escalate = hb_sim_draw_escalation(&p->rng, p->severity_rank, &after);
    simdrive__arm(d, &p->timer, d->now_ms + after);
}

void simdrive__complaint_refused(hb_simdrive_t *d, complaint_t *p)
{
    if (++p->strikes >= STRIKES_MAX) {
        simdrive__complaint_free(p);
        d->stats.given_up++;
        return;
    }
    simdrive__surprise(d);
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
    simdrive__disarm(&k->step);
    switch (k->state) {
    case CTR_CLOSED:
        if (d->doors_closed && !s_waiting_for(d, k->services)) {
            k->state = CTR_DONE; /* not worth opening to close */
            simdrive__send_home(d);
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
        customer_t *c = simdrive__customer(d, k->ticket);
        if (!c) {
            simdrive__surprise(d);
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
        customer_t *c = simdrive__customer(d, k->ticket);
        if (!c) {
            simdrive__surprise(d);
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
        json_t *body =
            json_pack("{s:s, s:s}", "business_type", c->business->name, "outcome", res.outcome);
        if (body && res.amount > 0)
            json_object_set_new(body, "amount", json_integer(res.amount));
        c->not_done = !res.done;
        s_request(d, req, HB_SD_COMPLETE, i, body, "/v1/counters/%s/complete", id);
        return true;
    }
    case CTR_PAUSED:
        s_request(d, req, HB_SD_COUNTER_RESUME, i, NULL, "/v1/counters/%s/resume", id);
        return true;
    default: return false;
    }
}

static void s_lunch(hb_simdrive_t *d, counter_t *k)
{
    simdrive__disarm(&k->lunch_at);
    if (d->doors_closed || k->lunch != LUNCH_AHEAD)
        return;
    if (k->state == CTR_IDLE) {
        k->lunch = LUNCH_DUE;
        simdrive__arm(d, &k->step, d->now_ms);
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
        simdrive__disarm(&d->arrival);
        return;
    }
    int tod = HB_SIM_OPEN_S + (int)((at - d->open_ms) / SEC);
    bool customer = hb_sim_draw_arrival(&d->arrivals, d->ch.size, tod);
    simdrive__arm(d, &d->arrival, at + hb_sim_draw_arrival_gap_ms(&d->arrivals, d->ch.size));
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
    customer_t *c =
        simdrive__customer_new(d, hb_sim_mix(d->day_seed, d->arrival_no, 0x63757374ULL));
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
    simdrive__disarm(&f->timer);
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
    simdrive__disarm(&p->timer);
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
    simdrive__disarm(&s->timer);
    const hb_sim_device_t *dev = hb_sim_device(s->device);
    if (s->device == 0)
        d->kiosk_out = s->fault; /* the reception desk hands tickets out meanwhile */
    json_t *body =
        json_pack("{s:s, s:s}", "kind", dev->kind, "state", s->fault ? dev->fault_state : "ok");
    if (body && s->fault)
        json_object_set_new(body, "detail", json_string(dev->fault_detail));
    s_request(d, req, HB_SD_DEVICE, i, body, "/v1/devices/%s/status", dev->id);
    return true;
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
        simdrive__customer_free(&d->customers[i]);
    for (int i = 0; i < HB_SD_FOLLOWUPS_MAX; i++)
        simdrive__disarm(&d->followups[i].timer);
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++)
        simdrive__complaint_free(&d->complaints[i]);

    /* First of all, what the hall is doing already. */
    d->need_read = true;
    simdrive__arm(d, &d->read, open_ms);
    d->n_counters = d->ch.n_counters;
    for (int i = 0; i < d->n_counters; i++) {
        counter_t *k = &d->counters[i];
        k->plan = d->ch.counters[i];
        k->services = k->plan.services;
        k->state = CTR_CLOSED;
        k->lunch = LUNCH_AHEAD;
        simdrive__disarm(&k->step); /* the hall's state sets it */
        simdrive__arm(d, &k->lunch_at, open_ms + k->plan.lunch_offset_ms);
    }
    hb_sim_rng_t devices;
    hb_sim_rng_seed(&devices, hb_sim_mix(d->day_seed, 1, 0x64657673ULL));
    for (int i = 0; i < HB_SIM_DEVICES; i++) {
        device_step_t *s = &d->device_steps[d->n_device_steps++];
        s->device = i;
        simdrive__arm(d, &s->timer, open_ms);
    }
    for (int i = 0; i < HB_SIM_DEVICES; i++) {
        int64_t fault = 0, fixed = 0;
        if (!hb_sim_draw_device_fault(&devices, i, d->close_ms - open_ms, &fault, &fixed))
            continue;
        device_step_t *s = &d->device_steps[d->n_device_steps++];
        s->device = i;
        s->fault = true;
        simdrive__arm(d, &s->timer, open_ms + fault);
        s = &d->device_steps[d->n_device_steps++];
        s->device = i;
        simdrive__arm(d, &s->timer, open_ms + fixed);
    }
    simdrive__arm(d, &d->closing, d->close_ms);
    simdrive__arm(d, &d->arrival, open_ms + hb_sim_draw_arrival_gap_ms(&d->arrivals, d->ch.size));
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
#define CONSIDER(timer, w, i)                                                                      \
    do {                                                                                           \
        if ((timer).at != NEVER && s_before(&(timer), &best)) {                                    \
            best = (timer);                                                                        \
            *who = (w);                                                                            \
            *index = (i);                                                                          \
        }                                                                                          \
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

/* The doors closed, every counter closed, nobody inside, the state known. */
static bool s_hall_empty(const hb_simdrive_t *d)
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
    return true;
}

bool hb_simdrive_closed(const hb_simdrive_t *d) { return !d->out && s_hall_empty(d); }

static bool s_day_done(const hb_simdrive_t *d)
{
    if (!s_hall_empty(d))
        return false;
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
            simdrive__disarm(&d->read);
            s_request(d, req, HB_SD_READ_HALL, 0, NULL, "/v1/hall");
            asked = true;
            break;
        case W_ARRIVAL: asked = s_arrival_step(d, req); break;
        case W_CLOSING:
            simdrive__disarm(&d->closing);
            d->doors_closed = true;
            simdrive__wake(d, -1);
            simdrive__send_home(d);
            for (int k = 0; k < d->n_counters; k++) {
                if (d->counters[k].state == CTR_CLOSED)
                    simdrive__arm(d, &d->counters[k].step, d->now_ms);
            }
            break;
        case W_DEVICE: asked = s_device_step(d, i, req); break;
        case W_STEP: asked = s_counter_step(d, i, req); break;
        case W_LUNCH: s_lunch(d, &d->counters[i]); break;
        case W_RENEGE: {
            customer_t *c = &d->customers[i];
            simdrive__disarm(&c->renege);
            if (c->state == CUST_WAITING) {
                s_request(d, req, HB_SD_CANCEL, i, json_pack("{s:s}", "reason", "customer left"),
                          "/v1/tickets/%s/cancel", c->ticket);
                asked = true;
            }
            break;
        }
        case W_FOLLOWUP: asked = s_followup_step(d, i, req); break;
        case W_COMPLAINT: asked = s_complaint_step(d, i, req); break;
        default: break;
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
    case HB_SD_READ_HALL: simdrive__answer_read(d, status, body); break;
    case HB_SD_TICKET: simdrive__answer_ticket(d, &d->customers[i], status, body); break;
    case HB_SD_CANCEL: {
        customer_t *c = &d->customers[i];
        if (simdrive__ok(status)) {
            d->stats.cancelled++;
            simdrive__customer_free(c);
        } else if (++c->strikes >= STRIKES_MAX) {
            simdrive__customer_free(c);
            d->stats.given_up++;
        } else {
            simdrive__surprise(d);
        }
        break;
    }
    case HB_SD_FEEDBACK:
    case HB_SD_COMPLAINT_OPEN: simdrive__answer_followup(d, i, status, body); break;
    case HB_SD_COMPLAINT_ACK:
    case HB_SD_COMPLAINT_ESCALATE:
    case HB_SD_COMPLAINT_RESOLVE: simdrive__answer_complaint(d, i, d->out_kind, status); break;
    case HB_SD_DEVICE:
        if (simdrive__ok(status))
            d->stats.device_reports++;
        break;
    default: simdrive__answer_counter(d, i, d->out_kind, status, body); break;
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
        simdrive__customer_free(&d->customers[d->out_index]);
        d->stats.missed++;
    } else if (d->out_kind == HB_SD_FEEDBACK || d->out_kind == HB_SD_COMPLAINT_OPEN) {
        followup_t *f = &d->followups[d->out_index];
        memset(f, 0, sizeof *f);
        f->kind = FU_FREE;
        simdrive__disarm(&f->timer);
    } else if (d->out_kind == HB_SD_DEVICE && d->out_index >= 0) {
        /* Report it again once the hall answers. */
        simdrive__arm(d, &d->device_steps[d->out_index].timer, d->now_ms);
    } else if (d->out_kind >= HB_SD_COUNTER_OPEN && d->out_kind <= HB_SD_COMPLETE) {
        counter_t *k = &d->counters[d->out_index];
        if (k->step.at == NEVER)
            simdrive__arm(d, &k->step, d->now_ms); /* the hall's state decides what it does next */
    } else if (d->out_kind == HB_SD_CANCEL) {
        customer_t *c = &d->customers[d->out_index];
        if (c->state == CUST_WAITING)
            simdrive__arm(d, &c->renege, d->now_ms);
    } else if (d->out_kind >= HB_SD_COMPLAINT_ACK && d->out_kind <= HB_SD_COMPLAINT_RESOLVE) {
        complaint_t *p = &d->complaints[d->out_index];
        if (p->state != CP_FREE && p->timer.at == NEVER)
            simdrive__arm(d, &p->timer, d->now_ms);
    }
    d->need_read = true;
    simdrive__arm(d, &d->read, d->now_ms);
}

void hb_simdrive_stats(const hb_simdrive_t *d, hb_sd_stats_t *out)
{
    assert(d && out);
    *out = d->stats;
}
