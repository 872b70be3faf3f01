/* The ticket actions of the hall engine (engine.h): issue, call, recall,
 * no-show, transfer and cancel, as the steps of their own that the action
 * table (actions.c) points to, and what a ticket is told: its position,
 * estimated wait and the diversion advice. Which ticket a counter calls is
 * decided by the queue rules (queue.c); this file only asks them. */
#include "engine_private.h"

#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <string.h>

/* The arguments of the ticket actions besides the key (the ticket, or for
 * a call the counter). */
typedef struct ticket_args {
    const char *service;            /* issue, transfer: as the caller named it */
    const engine_service_t *svc;    /* that service, once checked */
    int priority, source;           /* issue */
    const char *ticket;             /* call: the ticket named, or NULL for the queue's next */
    engine_ticket_answer_t *answer; /* issue, transfer */
    engine_call_answer_t *call;     /* call */
    bool *no_show;                  /* recall */
    const char *code;               /* an appointment's check-in: the booking */
} ticket_args_t;

/* ------------------------------------------------- what a ticket is told ---- */

void engine_advice(const engine_t *e, const char *service, engine_advice_t *out)
{
    const hb_hs_service_t *svc = hb_hall_state_service(e->state, service);
    out->waiting = svc ? svc->waiting : 0;
    out->threshold = e->policy->diversion_threshold;
    out->divert = out->waiting > (uint32_t)out->threshold;
}

int engine_ticket_estimate(const engine_t *e, const char *ticket, uint32_t *position,
                           int64_t *estimated_wait_s)
{
    const hb_hs_ticket_t *t = hb_hall_state_ticket(e->state, ticket);
    if (!t || t->state != HB_TICKET_WAITING)
        return HB_ENOTFOUND;
    *position = queue_position(e->state, t, &e->cfg.rules);
    /* The one formula (figures.h), so that the hall and HQ agree. */
    *estimated_wait_s = hb_fig_ticket_estimate_s(e->state, e->policy, t->service, *position);
    return 0;
}

static void s_fill_ticket_answer(const engine_t *e, const char *ticket, const char *service,
                                 engine_ticket_answer_t *out)
{
    snprintf(out->ticket, sizeof out->ticket, "%s", ticket);
    engine_ticket_estimate(e, ticket, &out->position, &out->estimated_wait_s);
    engine_advice(e, service, &out->advice);
}

void engine_open_info(const engine_t *e, hb_open_info_t *out)
{
    hb_policy_open_at(e->policy, hb_now_ms(), out);
}

/* ------------------------------------------------------------ issue ---- */

static int s_issue_check(engine_request_t *r)
{
    ticket_args_t *a = r->args;
    a->svc = a->service ? engine_service(r->e, a->service) : NULL;
    if (!a->svc)
        return engine__unknown_service(r, a->service);
    if (!engine__enum_known(&hallbus__priority__descriptor, a->priority))
        return engine__refuse(r, HB_EINVAL,
                              "priority %d is not one of normal, vip, elderly, appointment",
                              a->priority);
    hb_open_info_t *closed = &a->answer->closed;
    hb_policy_open_at(r->e->policy, r->now, closed);
    if (closed->state == HB_OPEN_NOW)
        return 0;
    char when[HB_RFC3339_MAX] = "no opening is planned";
    if (closed->next_open_ms)
        hb_time_format(closed->next_open_ms, when);
    return engine__refuse(r, HB_ECLOSED, "the hall is closed (%s)%s%s; next opening: %s",
                          hb_closed_reason_name(closed->state), closed->note ? ": " : "",
                          closed->note ? closed->note : "", when);
}

static int s_issue_build(engine_request_t *r)
{
    const hb_hall_state_t *st = r->e->state;
    const ticket_args_t *a = r->args;
    if (st->n_tickets >= r->e->cfg.max_waiting || st->n_tickets >= HB_HS_TICKETS_MAX)
        return engine__refuse(r, HB_ETOOBIG, "the queue is full (%zu tickets); nothing was issued",
                              st->n_tickets);
    const hb_hs_service_t *svc = hb_hall_state_service(st, a->svc->code);
    uint32_t number = svc && svc->next_number ? svc->next_number : 1;
    /* A ticket still waiting from yesterday may hold today's next number:
     * numbers move on rather than repeat. */
    for (int tries = 0;; tries++) {
        snprintf(r->ticket_id, sizeof r->ticket_id, "%s%03u", a->svc->prefix, number);
        if (!hb_hall_state_ticket(st, r->ticket_id))
            break;
        if (tries > HB_HS_TICKETS_MAX)
            return engine__refuse(r, HB_ETOOBIG, "no free ticket number for service %s",
                                  a->svc->code);
        number++;
    }
    Hallbus__TicketIssued *ti = &r->body.ticket_issued;
    ti->ticket = r->ticket_id;
    ti->service = (char *)a->svc->code;
    ti->priority = a->priority;
    ti->source = a->source > 0 ? a->source : HALLBUS__ISSUE_SOURCE__ISSUE_SOURCE_KIOSK;
    ti->number = number;
    return 0;
}

/* Issue and transfer tell the ticket where it stands in its (new) service. */
static void s_placed_answer(engine_request_t *r)
{
    const ticket_args_t *a = r->args;
    s_fill_ticket_answer(r->e, r->ticket_id, a->svc->code, a->answer);
}

const engine_steps_t engine__issue_steps = {s_issue_check, s_issue_build, s_placed_answer};

/* ------------------------------------------- an appointment's check-in ---- */

/* The booking's own checks first (appointments.c), then the issue's with
 * its service and the appointment priority. */
static int s_checkin_check(engine_request_t *r)
{
    ticket_args_t *a = r->args;
    const hb_hs_appointment_t *b = NULL;
    int rc = engine__appt_checkin_check(r, a->code, &b);
    if (rc != 0)
        return rc;
    a->service = b->service;
    a->priority = HALLBUS__PRIORITY__PRIORITY_APPOINTMENT;
    return s_issue_check(r);
}

/* The ticket, and in the same transaction the booking's check-in. The
 * booking is looked up again: a new day may have begun since the check
 * (it keeps open bookings). */
static int s_checkin_build(engine_request_t *r)
{
    const ticket_args_t *a = r->args;
    const hb_hs_appointment_t *b = hb_hall_state_appointment(r->e->state, a->code);
    if (!b || b->state != HB_APPT_BOOKED)
        return engine__refuse_as(r, HB_ENOTFOUND, "bad_code", "no booking with code %s", a->code);
    int rc = s_issue_build(r);
    if (rc != 0)
        return rc;
    Hallbus__TicketIssued *ti = &r->body.ticket_issued;
    snprintf(r->complaint_id, sizeof r->complaint_id, "%s", b->code);
    snprintf(r->staff, sizeof r->staff, "%s", b->staff);
    ti->appointment = r->complaint_id;
    ti->due_ms = b->start_ms;
    ti->staff = r->staff;
    Hallbus__AppointmentCheckedIn *ci = engine__envelope(
        &r->env2, &r->body2, HALLBUS__ENVELOPE__BODY_APPOINTMENT_CHECKED_IN, r->now);
    ci->code = r->complaint_id;
    ci->ticket = r->ticket_id;
    r->two = true;
    return 0;
}

const engine_steps_t engine__appt_checkin_steps = {s_checkin_check, s_checkin_build,
                                                   s_placed_answer};

int engine_appt_checkin(engine_t *e, const char *code, int source, engine_ticket_answer_t *out,
                        char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ticket_args_t a = {.code = code, .source = source, .answer = out};
    return engine__run(e, ENGINE_APPT_CHECKIN, NULL, &a, err, errlen);
}

/* ------------------------------------------------------------- call ---- */

static int s_nobody_waits(engine_request_t *r)
{
    const hb_hs_counter_t *c = r->counter;
    char list[HB_HS_COUNTER_SERVICES_MAX * (HB_HS_ID + 2)];
    size_t used = 0;
    list[0] = '\0';
    for (size_t k = 0; k < c->n_services; k++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                 c->services[k]);
    return engine__refuse(r, HB_ENOTFOUND, "nobody waits for %s", list);
}

/* The ticket named, in r->ticket, when it waits for a service of the
 * counter. */
static int s_named_ticket(engine_request_t *r, const char *id)
{
    const hb_hs_counter_t *c = r->counter;
    const hb_hs_ticket_t *t = hb_hall_state_ticket(r->e->state, id);
    if (!t)
        return engine__ticket_not_found(r, id);
    if (t->state != HB_TICKET_WAITING)
        return engine__refuse(r, HB_ECONFLICT, "ticket %s is %s, not waiting", t->id,
                              hb_ticket_state_name(t->state));
    bool serves = false;
    for (size_t i = 0; i < c->n_services; i++)
        serves = serves || strcmp(c->services[i], t->service) == 0;
    if (!serves)
        return engine__refuse(r, HB_ECONFLICT, "counter %s does not serve service %s", c->id,
                              t->service);
    r->ticket = t;
    return 0;
}

static int s_call_build(engine_request_t *r)
{
    const engine_t *e = r->e;
    const ticket_args_t *a = r->args;
    const hb_hs_counter_t *c = r->counter;
    /* The table lets every open counter through: a paused or busy one is
     * told what to do first. */
    if (c->state == HB_COUNTER_PAUSED)
        return engine__refuse(r, HB_ECONFLICT, "counter %s is paused; resume it first", c->id);
    if (c->state == HB_COUNTER_CALLING || c->state == HB_COUNTER_SERVING)
        return engine__refuse(r, HB_ECONFLICT, "counter %s is %s ticket %s; finish it first", c->id,
                              c->state == HB_COUNTER_CALLING ? "calling" : "serving", c->ticket);
    const hb_hs_ticket_t *t;
    int rule = HALLBUS__CALL_RULE__CALL_RULE_MANUAL;
    if (a->ticket) {
        int rc = s_named_ticket(r, a->ticket);
        if (rc != 0)
            return rc;
        t = r->ticket;
    } else {
        long i = queue_pick(e->state, c, &e->cfg.rules, r->now, &rule);
        if (i < 0)
            return s_nobody_waits(r);
        t = &e->state->tickets[i];
    }
    snprintf(r->ticket_id, sizeof r->ticket_id, "%s", t->id);
    snprintf(r->service, sizeof r->service, "%s", t->service);
    int64_t wait_ms = r->now - t->issued_ms;
    Hallbus__TicketCalled *tc = &r->body.ticket_called;
    tc->ticket = r->ticket_id;
    tc->counter = r->counter_id;
    tc->rule = rule;
    tc->wait_s = wait_ms > 0 ? (uint32_t)(wait_ms / 1000) : 0;
    return 0;
}

static void s_call_answer(engine_request_t *r)
{
    engine_call_answer_t *out = ((ticket_args_t *)r->args)->call;
    snprintf(out->ticket, sizeof out->ticket, "%s", r->ticket_id);
    snprintf(out->service, sizeof out->service, "%s", r->service);
    out->rule = r->body.ticket_called.rule;
    out->wait_s = r->body.ticket_called.wait_s;
}

const engine_steps_t engine__call_steps = {NULL, s_call_build, s_call_answer};

/* --------------------------------------------------- recall, no-show ---- */

static void s_fill_no_show(engine_request_t *r, Hallbus__TicketNoShow *ns)
{
    ns->ticket = r->ticket_id;
    ns->counter = r->counter_id;
    ns->recall_count = r->ticket->recalls;
}

static int s_recall_build(engine_request_t *r)
{
    uint32_t recalls = r->ticket->recalls + 1;
    if (recalls > r->e->cfg.rules.max_recalls) {
        /* Called and recalled as often as the hall allows: the customer is
         * not coming. */
        s_fill_no_show(
            r, engine__envelope(&r->env, &r->body, HALLBUS__ENVELOPE__BODY_TICKET_NO_SHOW, r->now));
        return 0;
    }
    Hallbus__TicketRecalled *tr = &r->body.ticket_recalled;
    tr->ticket = r->ticket_id;
    tr->counter = r->counter_id;
    tr->recall_count = recalls;
    return 0;
}

static void s_recall_answer(engine_request_t *r)
{
    *((ticket_args_t *)r->args)->no_show =
        r->env.body_case == HALLBUS__ENVELOPE__BODY_TICKET_NO_SHOW;
}

const engine_steps_t engine__recall_steps = {NULL, s_recall_build, s_recall_answer};

static int s_no_show_build(engine_request_t *r)
{
    s_fill_no_show(r, &r->body.ticket_no_show);
    return 0;
}

const engine_steps_t engine__no_show_steps = {NULL, s_no_show_build, NULL};

/* ------------------------------------------------- transfer, cancel ---- */

static int s_transfer_build(engine_request_t *r)
{
    ticket_args_t *a = r->args;
    a->svc = a->service ? engine_service(r->e, a->service) : NULL;
    if (!a->svc)
        return engine__unknown_service(r, a->service);
    int rc = engine__find_ticket(r, r->key,
                                 ENGINE_ST(HB_TICKET_WAITING) | ENGINE_ST(HB_TICKET_CALLED) |
                                     ENGINE_ST(HB_TICKET_SERVING),
                                 "it cannot be transferred");
    if (rc != 0)
        return rc;
    if (strcmp(r->service, a->svc->code) == 0)
        return engine__refuse(r, HB_ECONFLICT, "ticket %s is already in service %s", r->ticket_id,
                              a->svc->code);
    Hallbus__TicketTransferred *tt = &r->body.ticket_transferred;
    tt->ticket = r->ticket_id;
    tt->from_service = r->service;
    tt->to_service = (char *)a->svc->code;
    tt->counter = r->counter_id;
    return 0;
}

const engine_steps_t engine__transfer_steps = {NULL, s_transfer_build, s_placed_answer};

static int s_cancel_build(engine_request_t *r)
{
    r->body.ticket_cancelled.ticket = r->ticket_id;
    r->body.ticket_cancelled.reason = engine__text(r->args);
    return 0;
}

const engine_steps_t engine__cancel_steps = {engine__reason_check, s_cancel_build, NULL};

/* -------------------------------------------------------------- API ---- */

int engine_issue(engine_t *e, const char *service, int priority, int source,
                 engine_ticket_answer_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ticket_args_t a = {.service = service, .priority = priority, .source = source, .answer = out};
    return engine__run(e, ENGINE_ISSUE, NULL, &a, err, errlen);
}

int engine_call(engine_t *e, const char *counter, const char *ticket, engine_call_answer_t *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ticket_args_t a = {.ticket = ticket, .call = out};
    return engine__run(e, ENGINE_CALL, counter, &a, err, errlen);
}

int engine_recall(engine_t *e, const char *ticket, bool *no_show, char *err, size_t errlen)
{
    *no_show = false;
    ticket_args_t a = {.no_show = no_show};
    return engine__run(e, ENGINE_RECALL, ticket, &a, err, errlen);
}

int engine_no_show(engine_t *e, const char *ticket, char *err, size_t errlen)
{
    return engine__run(e, ENGINE_NO_SHOW, ticket, NULL, err, errlen);
}

int engine_transfer(engine_t *e, const char *ticket, const char *service,
                    engine_ticket_answer_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ticket_args_t a = {.service = service, .answer = out};
    return engine__run(e, ENGINE_TRANSFER, ticket, &a, err, errlen);
}

int engine_cancel(engine_t *e, const char *ticket, const char *reason, char *err, size_t errlen)
{
    return engine__run(e, ENGINE_CANCEL, ticket, (void *)reason, err, errlen);
}
