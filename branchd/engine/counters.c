/* The counter actions of the hall engine (engine.h): a counter opens for
 * some services, pauses, resumes and closes, and at it a called customer's
 * service starts and completes. Here are the steps of their own that the
 * action table (actions.c) points to; calling the next ticket is a ticket
 * action (tickets.c). */
#include "engine_private.h"

#include "hallbus/error.h"
#include "hallbus/eventrules.h"
#include "hallbus/figures.h"

#include <stdio.h>

#include <string.h>

/* The arguments of the counter actions besides the key (the counter). */
typedef struct counter_args {
    const char *staff;           /* open */
    const char *const *services; /* open */
    size_t n_services;           /* open */
    const char *business_type;   /* complete */
    int outcome;                 /* complete */
    int64_t amount;              /* complete */
    const char *currency;        /* complete */
    bool elderly;                /* open: marked for elderly and disabled customers */
    const char *reason;          /* pause */
    bool override;               /* pause: the duty manager's decision */
} counter_args_t;

/* ------------------------------------------------------------- open ---- */

/* Everything is checked before the day starts, the counter's own state
 * included: a counter open already is refused in words of its own. */
static int s_open_check(engine_request_t *r)
{
    const engine_t *e = r->e;
    const counter_args_t *a = r->args;
    if (!engine__id_ok(a->staff))
        return engine__refuse(r, HB_EINVAL,
                              "staff must be a staff id (1 to %d letters, digits, '-', '_', '.')",
                              HB_ID_MAX);
    if (a->n_services == 0 || a->n_services > HB_HS_COUNTER_SERVICES_MAX)
        return engine__refuse(r, HB_EINVAL,
                              "services must name 1 to %d services the counter serves",
                              HB_HS_COUNTER_SERVICES_MAX);
    for (size_t i = 0; i < a->n_services; i++) {
        if (!engine_service(e, a->services[i]))
            return engine__unknown_service(r, a->services[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->services[i], a->services[j]) == 0)
                return engine__refuse(r, HB_EINVAL, "service %s is named twice", a->services[i]);
    }
    const hb_hs_counter_t *c = hb_hall_state_counter(e->state, r->key);
    if (c && c->state != HB_COUNTER_CLOSED)
        return engine__refuse(r, HB_ECONFLICT,
                              "counter %s is open already (staff %s); close it first", c->id,
                              c->staff);
    if (!c && e->state->n_counters >= HB_HS_COUNTERS_MAX)
        return engine__refuse(r, HB_ETOOBIG, "the hall has %d counters already",
                              HB_HS_COUNTERS_MAX);
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
    co->elderly = a->elderly;
    return 0;
}

const engine_steps_t engine__counter_open_steps = {s_open_check, s_open_build, NULL};

/* ------------------------------------------- pause, resume, close ---- */

static int s_pause_check(engine_request_t *r)
{
    const counter_args_t *a = r->args;
    return engine__text_ok(r, "reason", a->reason);
}

/* The manuals' rule for meal rotation: a service people wait for keeps a
 * counter open. The services of `c` that no other open, unpaused counter
 * serves and for which someone waits are listed in `list`. */
static size_t s_last_for(const hb_hall_state_t *s, const hb_hs_counter_t *c, char *list, size_t cap,
                         uint32_t *waiting)
{
    size_t n = 0, used = 0;
    *waiting = 0;
    list[0] = '\0';
    for (size_t k = 0; k < c->n_services; k++) {
        const hb_hs_service_t *svc = hb_hall_state_service(s, c->services[k]);
        if (!svc || svc->waiting == 0)
            continue;
        bool other = false;
        for (size_t i = 0; i < s->n_counters && !other; i++) {
            const hb_hs_counter_t *o = &s->counters[i];
            other = o != c && hb_fig_counter_open(o->state) && o->state != HB_COUNTER_PAUSED &&
                    hb_fig_counter_serves(o, svc->code);
        }
        if (other)
            continue;
        *waiting += svc->waiting;
        int w = snprintf(list + used, cap - used, "%s%s", n ? ", " : "", svc->code);
        if (w > 0 && (size_t)w < cap - used)
            used += (size_t)w;
        n++;
    }
    return n;
}

static int s_pause_build(engine_request_t *r)
{
    const counter_args_t *a = r->args;
    char list[HB_HS_COUNTER_SERVICES_MAX * (HB_HS_ID + 2)];
    uint32_t waiting;
    if (s_last_for(r->e->state, r->counter, list, sizeof list, &waiting) > 0 && !a->override)
        return engine__refuse_as(r, HB_ECONFLICT, "last_counter",
                                 "counter %s is the last open counter for %s (%u waiting): "
                                 "another must open first, or the duty manager overrides",
                                 r->counter_id, list, waiting);
    r->body.counter_paused.counter = r->counter_id;
    r->body.counter_paused.reason = engine__text(a->reason);
    r->body.counter_paused.overridden = a->override && waiting > 0;
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

const engine_steps_t engine__counter_pause_steps = {s_pause_check, s_pause_build, NULL};
const engine_steps_t engine__counter_resume_steps = {NULL, s_resume_build, NULL};
const engine_steps_t engine__counter_close_steps = {NULL, s_close_build, NULL};

/* -------------------------------------------------- start, complete ---- */

static int s_start_build(engine_request_t *r)
{
    Hallbus__ServiceStarted *ss = &r->body.service_started;
    ss->ticket = r->ticket_id;
    ss->counter = r->counter_id;
    ss->staff = r->staff;
    return 0;
}

const engine_steps_t engine__start_steps = {NULL, s_start_build, NULL};

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
    if (!engine__id_ok(a->business_type))
        return engine__refuse(r, HB_EINVAL,
                              "business_type must be a business type id such as \"bill_payment\" "
                              "(1 to %d letters, digits, '-', '_', '.')",
                              HB_ID_MAX);
    if (!engine__enum_ok(r, "outcome", &hallbus__outcome__descriptor, a->outcome))
        return HB_EINVAL;
    if (a->amount < 0 || a->amount > HB_EVENT_AMOUNT_MAX)
        return engine__refuse(r, HB_EINVAL, "amount must be from 0 to %lld minor units, not %lld",
                              (long long)HB_EVENT_AMOUNT_MAX, (long long)a->amount);
    if (!s_currency_ok(a->currency))
        return engine__refuse(r, HB_EINVAL, "currency must be an ISO 4217 code such as \"EUR\"");
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
    sc->currency = engine__text(a->currency);
    /* At least a second: 0 would read as "not measured" to the reducer. */
    sc->duration_s = dur >= 1000 ? (uint32_t)(dur / 1000) : 1;
    return 0;
}

const engine_steps_t engine__complete_steps = {s_complete_check, s_complete_build, NULL};

/* -------------------------------------------------------------- API ---- */

int engine_counter_open(engine_t *e, const char *counter, const char *staff,
                        const char *const *services, size_t n_services, char *err, size_t errlen)
{
    return engine_counter_open_ex(e, counter, staff, services, n_services, false, err, errlen);
}

int engine_counter_open_ex(engine_t *e, const char *counter, const char *staff,
                           const char *const *services, size_t n_services, bool elderly, char *err,
                           size_t errlen)
{
    counter_args_t a = {
        .staff = staff, .services = services, .n_services = n_services, .elderly = elderly};
    return engine__run(e, ENGINE_COUNTER_OPEN, counter, &a, err, errlen);
}

int engine_counter_pause(engine_t *e, const char *counter, const char *reason, char *err,
                         size_t errlen)
{
    return engine_counter_pause_ex(e, counter, reason, false, err, errlen);
}

int engine_counter_pause_ex(engine_t *e, const char *counter, const char *reason, bool override,
                            char *err, size_t errlen)
{
    counter_args_t a = {.reason = reason, .override = override};
    return engine__run(e, ENGINE_COUNTER_PAUSE, counter, &a, err, errlen);
}

int engine_counter_resume(engine_t *e, const char *counter, char *err, size_t errlen)
{
    return engine__run(e, ENGINE_COUNTER_RESUME, counter, NULL, err, errlen);
}

int engine_counter_close(engine_t *e, const char *counter, char *err, size_t errlen)
{
    return engine__run(e, ENGINE_COUNTER_CLOSE, counter, NULL, err, errlen);
}

int engine_start(engine_t *e, const char *counter, char *err, size_t errlen)
{
    return engine__run(e, ENGINE_START, counter, NULL, err, errlen);
}

int engine_complete(engine_t *e, const char *counter, const char *business_type, int outcome,
                    int64_t amount, const char *currency, char *err, size_t errlen)
{
    counter_args_t a = {
        .business_type = business_type, .outcome = outcome, .amount = amount, .currency = currency};
    return engine__run(e, ENGINE_COMPLETE, counter, &a, err, errlen);
}
