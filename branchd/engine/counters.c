/* The counter actions of the hall engine (engine.h): a counter opens for
 * some services, pauses, resumes and closes, and at it a called customer's
 * service starts and completes. Each is a row of one table the runner
 * carries out (engine_private.h); calling the next ticket is a ticket
 * action (tickets.c). */
#include "engine_private.h"

#include "hallbus/error.h"
#include "hallbus/eventrules.h"

#include <string.h>

#define EV(kind) HALLBUS__ENVELOPE__BODY_##kind

/* The arguments of the counter actions besides the key (the counter). */
typedef struct counter_args {
    const char *staff;           /* open */
    const char *const *services; /* open */
    size_t n_services;           /* open */
    const char *reason;          /* pause */
    const char *business_type;   /* complete */
    int outcome;                 /* complete */
    int64_t amount;              /* complete */
    const char *currency;        /* complete */
} counter_args_t;

/* ------------------------------------------------------------- open ---- */

/* Everything is checked before the day, as it always was: the counter's
 * own state included (a counter open already is not the table's "not
 * open" case, so this row needs nothing). */
static int s_open_check(engine_request_t *r)
{
    const engine_t *e = r->e;
    const counter_args_t *a = r->args;
    if (!engine__id_ok(a->staff)) {
        hb_errf(r->err, r->errlen,
                "staff must be a staff id (1 to %d letters, digits, '-', '_', '.')", HB_ID_MAX);
        return HB_EINVAL;
    }
    if (a->n_services == 0 || a->n_services > HB_HS_COUNTER_SERVICES_MAX) {
        hb_errf(r->err, r->errlen, "services must name 1 to %d services the counter serves",
                HB_HS_COUNTER_SERVICES_MAX);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < a->n_services; i++) {
        if (!engine_service(e, a->services[i]))
            return engine__unknown_service(e, a->services[i], r->err, r->errlen);
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->services[i], a->services[j]) == 0) {
                hb_errf(r->err, r->errlen, "service %s is named twice", a->services[i]);
                return HB_EINVAL;
            }
    }
    const hb_hs_counter_t *c = hb_hall_state_counter(e->state, r->key);
    if (c && c->state != HB_COUNTER_CLOSED) {
        hb_errf(r->err, r->errlen, "counter %s is open already (staff %s); close it first", c->id,
                c->staff);
        return HB_ECONFLICT;
    }
    if (!c && e->state->n_counters >= HB_HS_COUNTERS_MAX) {
        hb_errf(r->err, r->errlen, "the hall has %d counters already", HB_HS_COUNTERS_MAX);
        return HB_ETOOBIG;
    }
    return 0;
}

static int s_open_build(engine_request_t *r)
{
    const counter_args_t *a = r->args;
    Hallbus__CounterOpened *co = &r->body.counter_opened;
    co->counter = (char *)r->key;
    co->staff = (char *)a->staff;
    co->n_services = a->n_services;
    co->services = (char **)a->services;
    return 0;
}

/* ------------------------------------------- pause, resume, close ---- */

static int s_pause_check(engine_request_t *r)
{
    return engine__text_ok("reason", ((const counter_args_t *)r->args)->reason, r->err, r->errlen);
}

static int s_pause_build(engine_request_t *r)
{
    const char *reason = ((const counter_args_t *)r->args)->reason;
    r->body.counter_paused.counter = r->counter_id;
    r->body.counter_paused.reason = (char *)(reason ? reason : "");
    return 0;
}

static int s_resume_build(engine_request_t *r)
{
    r->body.counter_resumed.counter = r->counter_id;
    return 0;
}

static int s_close_build(engine_request_t *r)
{
    r->body.counter_closed.counter = r->counter_id;
    return 0;
}

/* -------------------------------------------------- start, complete ---- */

static int s_start_build(engine_request_t *r)
{
    Hallbus__ServiceStarted *ss = &r->body.service_started;
    ss->ticket = r->ticket_id;
    ss->counter = r->counter_id;
    ss->staff = r->staff;
    return 0;
}

static bool s_currency_ok(const char *cur)
{
    if (!cur || !cur[0])
        return true;
    if (strlen(cur) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (cur[i] < 'A' || cur[i] > 'Z')
            return false;
    return true;
}

static int s_complete_check(engine_request_t *r)
{
    const counter_args_t *a = r->args;
    if (!engine__id_ok(a->business_type)) {
        hb_errf(r->err, r->errlen,
                "business_type must be a business type id such as \"bill_payment\" "
                "(1 to %d letters, digits, '-', '_', '.')",
                HB_ID_MAX);
        return HB_EINVAL;
    }
    if (a->outcome < HALLBUS__OUTCOME__OUTCOME_DONE ||
        a->outcome > HALLBUS__OUTCOME__OUTCOME_REJECTED_DOCUMENTS) {
        hb_errf(r->err, r->errlen, "outcome must be one of done, referred, rejected_documents");
        return HB_EINVAL;
    }
    if (a->amount < 0 || a->amount > HB_EVENT_AMOUNT_MAX) {
        hb_errf(r->err, r->errlen, "amount must be from 0 to %lld minor units, not %lld",
                (long long)HB_EVENT_AMOUNT_MAX, (long long)a->amount);
        return HB_EINVAL;
    }
    if (!s_currency_ok(a->currency)) {
        hb_errf(r->err, r->errlen, "currency must be an ISO 4217 code such as \"EUR\"");
        return HB_EINVAL;
    }
    return 0;
}

static int s_complete_build(engine_request_t *r)
{
    const counter_args_t *a = r->args;
    const hb_hs_ticket_t *t = hb_hall_state_ticket(r->e->state, r->ticket_id);
    int64_t dur = t && t->started_ms ? r->now - t->started_ms : 0;
    Hallbus__ServiceCompleted *sc = &r->body.service_completed;
    sc->ticket = r->ticket_id;
    sc->counter = r->counter_id;
    sc->business_type = (char *)a->business_type;
    sc->outcome = a->outcome;
    sc->amount = a->amount;
    sc->currency = (char *)(a->currency ? a->currency : "");
    /* At least a second: 0 would read as "not measured" to the reducer. */
    sc->duration_s = dur >= 1000 ? (uint32_t)(dur / 1000) : 1;
    return 0;
}

/* ------------------------------------------------------------ table ---- */

enum { C_OPEN, C_PAUSE, C_RESUME, C_CLOSE, C_START, C_COMPLETE };

static const engine_action_t s_actions[] = {
    [C_OPEN] = {.name = "counter open",
                .kind = EV(COUNTER_OPENED),
                .key_id = "counter",
                .check = s_open_check,
                .build = s_open_build},
    [C_PAUSE] = {.name = "counter pause",
                 .kind = EV(COUNTER_PAUSED),
                 .needs = ENGINE_NEEDS_COUNTER,
                 .states = ENGINE_ST(HB_COUNTER_IDLE),
                 .wrong_state = "finish the ticket before pausing",
                 .check = s_pause_check,
                 .build = s_pause_build},
    [C_RESUME] = {.name = "counter resume",
                  .kind = EV(COUNTER_RESUMED),
                  .needs = ENGINE_NEEDS_COUNTER,
                  .states = ENGINE_ST(HB_COUNTER_PAUSED),
                  .wrong_state = "only a paused counter resumes",
                  .build = s_resume_build},
    [C_CLOSE] = {.name = "counter close",
                 .kind = EV(COUNTER_CLOSED),
                 .needs = ENGINE_NEEDS_COUNTER,
                 .states = ENGINE_ST(HB_COUNTER_IDLE) | ENGINE_ST(HB_COUNTER_PAUSED),
                 .wrong_state = "finish the ticket before closing",
                 .build = s_close_build},
    [C_START] = {.name = "start",
                 .kind = EV(SERVICE_STARTED),
                 .needs = ENGINE_NEEDS_COUNTER,
                 .states = ENGINE_ST(HB_COUNTER_CALLING),
                 .wrong_state = "a service starts after a ticket was called",
                 .build = s_start_build},
    [C_COMPLETE] = {.name = "complete",
                    .kind = EV(SERVICE_COMPLETED),
                    .needs = ENGINE_NEEDS_COUNTER,
                    .states = ENGINE_ST(HB_COUNTER_SERVING),
                    .wrong_state = "only a counter serving a customer completes a service",
                    .check = s_complete_check,
                    .build = s_complete_build},
};

/* -------------------------------------------------------------- API ---- */

int engine_counter_open(engine_t *e, const char *counter, const char *staff,
                        const char *const *services, size_t n_services, char *err, size_t errlen)
{
    counter_args_t a = {.staff = staff, .services = services, .n_services = n_services};
    return engine__run(e, &s_actions[C_OPEN], counter, &a, err, errlen);
}

int engine_counter_pause(engine_t *e, const char *counter, const char *reason, char *err,
                         size_t errlen)
{
    counter_args_t a = {.reason = reason};
    return engine__run(e, &s_actions[C_PAUSE], counter, &a, err, errlen);
}

int engine_counter_resume(engine_t *e, const char *counter, char *err, size_t errlen)
{
    return engine__run(e, &s_actions[C_RESUME], counter, NULL, err, errlen);
}

int engine_counter_close(engine_t *e, const char *counter, char *err, size_t errlen)
{
    return engine__run(e, &s_actions[C_CLOSE], counter, NULL, err, errlen);
}

int engine_start(engine_t *e, const char *counter, char *err, size_t errlen)
{
    return engine__run(e, &s_actions[C_START], counter, NULL, err, errlen);
}

int engine_complete(engine_t *e, const char *counter, const char *business_type, int outcome,
                    int64_t amount, const char *currency, char *err, size_t errlen)
{
    counter_args_t a = {
        .business_type = business_type, .outcome = outcome, .amount = amount, .currency = currency};
    return engine__run(e, &s_actions[C_COMPLETE], counter, &a, err, errlen);
}
