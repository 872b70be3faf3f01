/* The ticket actions of the hall engine (engine.h): issue, call, recall,
 * no-show, transfer and cancel, as rows of one table the runner carries out
 * (engine_private.h), and what a ticket is told (its position, estimated
 * wait and the diversion advice). Which ticket a counter calls is decided by
 * the queue rules (queue.c); this file only asks them. */
#include "engine_private.h"

#include "hallbus/error.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <string.h>

#define EV(kind) HALLBUS__ENVELOPE__BODY_##kind

/* The arguments of the ticket actions besides the key (the ticket, or for
 * a call the counter). */
typedef struct ticket_args {
    const char *service;            /* issue, transfer: as the caller named it */
    const engine_service_t *svc;    /* that service, once checked */
    int priority, source;           /* issue */
    const char *ticket;             /* call: the ticket named, or NULL for the queue's next */
    const char *reason;             /* cancel */
    engine_ticket_answer_t *answer; /* issue, transfer */
    engine_call_answer_t *call;     /* call */
    bool *no_show;                  /* recall */
} ticket_args_t;

/* ------------------------------------------------- what a ticket is told ---- */

void engine_advice(const engine_t *e, const char *service, engine_advice_t *out)
{
    const hb_hs_service_t *svc = hb_hall_state_service(e->state, service);
    out->waiting = svc ? svc->waiting : 0;
    out->threshold = e->policy->diversion_threshold;
    out->divert = out->waiting > (uint32_t)out->threshold;
}

static int64_t s_fallback_service_s(const engine_t *e, const char *service)
{
    const engine_service_t *svc = engine_service(e, service);
    /* Before any service time is known: half the service's SLA, a guess
     * that errs on the side of telling customers more. */
    return svc && svc->sla_s > 0 ? svc->sla_s / 2 : 300;
}

int engine_ticket_estimate(const engine_t *e, const char *ticket, uint32_t *position,
                           int64_t *estimated_wait_s)
{
    const hb_hs_ticket_t *t = hb_hall_state_ticket(e->state, ticket);
    if (!t || t->state != HB_TICKET_WAITING)
        return HB_ENOTFOUND;
    *position = queue_position(e->state, t, &e->cfg.rules);
    *estimated_wait_s = queue_estimate_wait_s(e->state, t->service, *position,
                                              s_fallback_service_s(e, t->service));
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
        return engine__unknown_service(r->e, a->service, r->err, r->errlen);
    if (a->priority < HALLBUS__PRIORITY__PRIORITY_NORMAL ||
        a->priority > HALLBUS__PRIORITY__PRIORITY_APPOINTMENT) {
        hb_errf(r->err, r->errlen, "priority %d is not one of normal, vip, elderly, appointment",
                a->priority);
        return HB_EINVAL;
    }
    hb_open_info_t *closed = &a->answer->closed;
    hb_policy_open_at(r->e->policy, r->now, closed);
    if (closed->state != HB_OPEN_NOW) {
        char when[HB_RFC3339_MAX] = "no opening is planned";
        if (closed->next_open_ms)
            hb_time_format(closed->next_open_ms, when);
        hb_errf(r->err, r->errlen, "the hall is closed (%s)%s%s; next opening: %s",
                hb_closed_reason_name(closed->state), closed->note ? ": " : "",
                closed->note ? closed->note : "", when);
        return HB_ECLOSED;
    }
    return 0;
}

static int s_issue_build(engine_request_t *r)
{
    const engine_t *e = r->e;
    const ticket_args_t *a = r->args;
    if (e->state->n_tickets >= e->cfg.max_waiting || e->state->n_tickets >= HB_HS_TICKETS_MAX) {
        hb_errf(r->err, r->errlen, "the queue is full (%zu tickets); nothing was issued",
                e->state->n_tickets);
        return HB_ETOOBIG;
    }
    const hb_hs_service_t *st = hb_hall_state_service(e->state, a->svc->code);
    uint32_t number = st && st->next_number ? st->next_number : 1;
    /* A ticket still waiting from yesterday may hold today's next number:
     * numbers move on rather than repeat. */
    for (int tries = 0;; tries++) {
        snprintf(r->ticket_id, sizeof r->ticket_id, "%s%03u", a->svc->prefix, number);
        if (!hb_hall_state_ticket(e->state, r->ticket_id))
            break;
        if (tries > HB_HS_TICKETS_MAX) {
            hb_errf(r->err, r->errlen, "no free ticket number for service %s", a->svc->code);
            return HB_ETOOBIG;
        }
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

/* ------------------------------------------------------------- call ---- */

static int s_call_build(engine_request_t *r)
{
    const engine_t *e = r->e;
    const ticket_args_t *a = r->args;
    const hb_hs_counter_t *c = r->counter;
    /* A busy or paused counter is told what to do first, in words of its
     * own rather than the table's one sentence for a counter's state. */
    if (c->state == HB_COUNTER_PAUSED) {
        hb_errf(r->err, r->errlen, "counter %s is paused; resume it first", c->id);
        return HB_ECONFLICT;
    }
    if (c->state == HB_COUNTER_CALLING || c->state == HB_COUNTER_SERVING) {
        hb_errf(r->err, r->errlen, "counter %s is %s ticket %s; finish it first", c->id,
                c->state == HB_COUNTER_CALLING ? "calling" : "serving", c->ticket);
        return HB_ECONFLICT;
    }
    const hb_hs_ticket_t *t;
    int rule;
    if (a->ticket) {
        t = hb_hall_state_ticket(e->state, a->ticket);
        if (!t)
            return engine__ticket_not_found(e, a->ticket, r->err, r->errlen);
        if (t->state != HB_TICKET_WAITING) {
            hb_errf(r->err, r->errlen, "ticket %s is %s, not waiting", t->id,
                    hb_ticket_state_name(t->state));
            return HB_ECONFLICT;
        }
        bool serves = false;
        for (size_t i = 0; i < c->n_services; i++)
            serves = serves || strcmp(c->services[i], t->service) == 0;
        if (!serves) {
            hb_errf(r->err, r->errlen, "counter %s does not serve service %s", c->id, t->service);
            return HB_ECONFLICT;
        }
        rule = HALLBUS__CALL_RULE__CALL_RULE_MANUAL;
    } else {
        long i = queue_pick(e->state, c, &e->cfg.rules, r->now, &rule);
        if (i < 0) {
            char list[HB_HS_COUNTER_SERVICES_MAX * (HB_HS_ID + 2)];
            size_t used = 0;
            list[0] = '\0';
            for (size_t k = 0; k < c->n_services; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                         c->services[k]);
            hb_errf(r->err, r->errlen, "nobody waits for %s", list);
            return HB_ENOTFOUND;
        }
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

/* ------------------------------------------ recall, no-show, transfer ---- */

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
        s_fill_no_show(r, engine__envelope(&r->env, &r->body, EV(TICKET_NO_SHOW), r->now));
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
    *((ticket_args_t *)r->args)->no_show = r->env.body_case == EV(TICKET_NO_SHOW);
}

static int s_no_show_build(engine_request_t *r)
{
    s_fill_no_show(r, &r->body.ticket_no_show);
    return 0;
}

/* The service named is checked before the ticket is looked for, so this
 * row finds its ticket itself rather than by `needs`. */
static int s_transfer_build(engine_request_t *r)
{
    ticket_args_t *a = r->args;
    a->svc = a->service ? engine_service(r->e, a->service) : NULL;
    if (!a->svc)
        return engine__unknown_service(r->e, a->service, r->err, r->errlen);
    int rc = engine__find_ticket(r, r->key,
                                 ENGINE_ST(HB_TICKET_WAITING) | ENGINE_ST(HB_TICKET_CALLED) |
                                     ENGINE_ST(HB_TICKET_SERVING),
                                 "it cannot be transferred");
    if (rc != 0)
        return rc;
    if (strcmp(r->service, a->svc->code) == 0) {
        hb_errf(r->err, r->errlen, "ticket %s is already in service %s", r->ticket_id,
                a->svc->code);
        return HB_ECONFLICT;
    }
    Hallbus__TicketTransferred *tt = &r->body.ticket_transferred;
    tt->ticket = r->ticket_id;
    tt->from_service = r->service;
    tt->to_service = (char *)a->svc->code;
    tt->counter = r->counter_id;
    return 0;
}

/* ----------------------------------------------------------- cancel ---- */

static int s_cancel_check(engine_request_t *r)
{
    return engine__text_ok("reason", ((ticket_args_t *)r->args)->reason, r->err, r->errlen);
}

static int s_cancel_build(engine_request_t *r)
{
    const char *reason = ((ticket_args_t *)r->args)->reason;
    r->body.ticket_cancelled.ticket = r->ticket_id;
    r->body.ticket_cancelled.reason = (char *)(reason ? reason : "");
    return 0;
}

/* ------------------------------------------------------------ table ---- */

enum { T_ISSUE, T_CALL, T_RECALL, T_NO_SHOW, T_TRANSFER, T_CANCEL };

static const engine_action_t s_actions[] = {
    [T_ISSUE] = {.name = "issue",
                 .kind = EV(TICKET_ISSUED),
                 .check = s_issue_check,
                 .build = s_issue_build,
                 .answer = s_placed_answer},
    /* Every open state: a busy counter's refusals are the builder's. */
    [T_CALL] = {.name = "call",
                .kind = EV(TICKET_CALLED),
                .needs = ENGINE_NEEDS_COUNTER,
                .states = ENGINE_ST(HB_COUNTER_IDLE) | ENGINE_ST(HB_COUNTER_PAUSED) |
                          ENGINE_ST(HB_COUNTER_CALLING) | ENGINE_ST(HB_COUNTER_SERVING),
                .build = s_call_build,
                .answer = s_call_answer},
    [T_RECALL] = {.name = "recall",
                  .kind = EV(TICKET_RECALLED),
                  .needs = ENGINE_NEEDS_TICKET,
                  .states = ENGINE_ST(HB_TICKET_CALLED),
                  .wrong_state = "only a called ticket can be recalled",
                  .build = s_recall_build,
                  .answer = s_recall_answer},
    [T_NO_SHOW] = {.name = "no-show",
                   .kind = EV(TICKET_NO_SHOW),
                   .needs = ENGINE_NEEDS_TICKET,
                   .states = ENGINE_ST(HB_TICKET_CALLED),
                   .wrong_state = "only a called ticket whose customer did not come is a no-show",
                   .build = s_no_show_build},
    [T_TRANSFER] = {.name = "transfer",
                    .kind = EV(TICKET_TRANSFERRED),
                    .build = s_transfer_build,
                    .answer = s_placed_answer},
    [T_CANCEL] = {.name = "cancel",
                  .kind = EV(TICKET_CANCELLED),
                  .needs = ENGINE_NEEDS_TICKET,
                  .states = ENGINE_ST(HB_TICKET_WAITING) | ENGINE_ST(HB_TICKET_CALLED),
                  .wrong_state = "a ticket being served is completed, not cancelled",
                  .check = s_cancel_check,
                  .build = s_cancel_build},
};

/* -------------------------------------------------------------- API ---- */

int engine_issue(engine_t *e, const char *service, int priority, int source,
                 engine_ticket_answer_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ticket_args_t a = {.service = service, .priority = priority, .source = source, .answer = out};
    return engine__run(e, &s_actions[T_ISSUE], NULL, &a, err, errlen);
}

int engine_call(engine_t *e, const char *counter, const char *ticket, engine_call_answer_t *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ticket_args_t a = {.ticket = ticket, .call = out};
    return engine__run(e, &s_actions[T_CALL], counter, &a, err, errlen);
}

int engine_recall(engine_t *e, const char *ticket, bool *no_show, char *err, size_t errlen)
{
    *no_show = false;
    ticket_args_t a = {.no_show = no_show};
    return engine__run(e, &s_actions[T_RECALL], ticket, &a, err, errlen);
}

int engine_no_show(engine_t *e, const char *ticket, char *err, size_t errlen)
{
    return engine__run(e, &s_actions[T_NO_SHOW], ticket, NULL, err, errlen);
}

int engine_transfer(engine_t *e, const char *ticket, const char *service,
                    engine_ticket_answer_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ticket_args_t a = {.service = service, .answer = out};
    return engine__run(e, &s_actions[T_TRANSFER], ticket, &a, err, errlen);
}

int engine_cancel(engine_t *e, const char *ticket, const char *reason, char *err, size_t errlen)
{
    ticket_args_t a = {.reason = reason};
    return engine__run(e, &s_actions[T_CANCEL], ticket, &a, err, errlen);
}
