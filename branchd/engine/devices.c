/* What the hall's devices report to the engine (engine.h): a customer's
 * score from a feedback terminal, and a device's own status (a kiosk out of
 * paper, a display offline). Here are the steps of their own that the
 * action table (actions.c) points to; neither action needs anything found
 * in the hall's state after the day starts, so each is a check and an
 * event. */
#include "engine_private.h"

#include "hallbus/error.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The arguments besides the key (the device; none for a score). */
typedef struct device_args {
    const char *ticket, *counter; /* feedback: either may be NULL or "" */
    uint32_t score;               /* feedback: 1 to 5 */
    int kind, state;              /* status: Hallbus__DeviceKind, Hallbus__DeviceState */
    const char *detail;           /* status: may be NULL */
    const char *const *reasons;   /* feedback: from engine_rating_reasons */
    size_t n_reasons;
    bool last_at_counter;      /* feedback: no ticket means the counter's last */
    char ticket_buf[HB_HS_ID]; /* feedback: the ticket found so */
    char *rated;               /* feedback: where the ticket scored goes, or NULL */
} device_args_t;

const char *const engine_rating_reasons[] = {
    "friendly", "fast", "clear", "professional", "slow", "unfriendly", "unclear", "long_wait", NULL,
};

static bool s_reason_known(const char *r)
{
    for (size_t i = 0; r && engine_rating_reasons[i]; i++)
        if (strcmp(engine_rating_reasons[i], r) == 0)
            return true;
    return false;
}

int engine_rating_due(const engine_t *e, const char *counter, int64_t now_ms, char *ticket,
                      int64_t *completed_ms, bool *rated)
{
    ticket[0] = '\0';
    *completed_ms = 0;
    *rated = false;
    const hb_hs_counter_t *c = hb_hall_state_counter(e->state, counter);
    if (!c)
        return HB_ENOTFOUND;
    if (!c->last_ticket[0] || now_ms - c->last_done_ms > ENGINE_RATING_WINDOW_MS)
        return 0;
    const hb_hs_ticket_t *t = hb_hall_state_ticket_any(e->state, c->last_ticket);
    snprintf(ticket, HB_HS_ID, "%s", c->last_ticket);
    *completed_ms = c->last_done_ms;
    *rated = t && t->rated;
    return 0;
}

/* --------------------------------------------------------- feedback ---- */

static int s_feedback_check(engine_request_t *r)
{
    const device_args_t *a = r->args;
    if (a->score < 1 || a->score > 5)
        return engine__refuse(r, HB_EINVAL, "score must be from 1 to 5, not %u", a->score);
    if ((a->ticket && a->ticket[0] && !engine__id_ok(a->ticket)) ||
        (a->counter && a->counter[0] && !engine__id_ok(a->counter)))
        return engine__refuse(r, HB_EINVAL, "ticket and counter must be ids when given");
    if (a->n_reasons > ENGINE_REASONS_MAX)
        return engine__refuse(r, HB_EINVAL, "reasons may name at most %d reasons",
                              ENGINE_REASONS_MAX);
    for (size_t i = 0; i < a->n_reasons; i++)
        if (!s_reason_known(a->reasons[i]))
            return engine__refuse(r, HB_EINVAL,
                                  "reason '%.64s' is not one of friendly, fast, clear, "
                                  "professional, slow, unfriendly, unclear, long_wait",
                                  a->reasons[i] ? a->reasons[i] : "");
    device_args_t *w = r->args;
    if ((!a->ticket || !a->ticket[0]) && a->last_at_counter) {
        int64_t done;
        bool rated;
        if (engine_rating_due(r->e, a->counter, r->now, w->ticket_buf, &done, &rated) != 0 ||
            !w->ticket_buf[0])
            return engine__refuse_as(r, HB_ECONFLICT, "nothing_to_rate",
                                     "nothing to rate at counter %.64s: no ticket was completed "
                                     "there in the last %d minutes",
                                     a->counter ? a->counter : "?",
                                     ENGINE_RATING_WINDOW_MS / 60000);
        w->ticket = w->ticket_buf;
    }
    /* A score is given after the visit: the ticket may have finished. */
    const hb_hs_ticket_t *t =
        a->ticket && a->ticket[0] ? hb_hall_state_ticket_any(r->e->state, a->ticket) : NULL;
    if (a->ticket && a->ticket[0] && !t)
        return engine__refuse(r, HB_ENOTFOUND, "no ticket '%s' in the hall today", a->ticket);
    if (t && t->rated)
        return engine__refuse_as(r, HB_ECONFLICT, "already_rated",
                                 "ticket %s was rated already; a visit is rated once", t->id);
    return 0;
}

static int s_feedback_build(engine_request_t *r)
{
    const device_args_t *a = r->args;
    Hallbus__SatisfactionScored *ss = &r->body.satisfaction_scored;
    ss->ticket = engine__text(a->ticket);
    ss->counter = engine__text(a->counter);
    ss->score = a->score;
    ss->n_reasons = a->n_reasons;
    ss->reasons = (char **)a->reasons;
    if (a->rated)
        snprintf(a->rated, HB_HS_ID, "%s", ss->ticket);
    return 0;
}

const engine_steps_t engine__feedback_steps = {s_feedback_check, s_feedback_build, NULL};

/* ----------------------------------------------------------- status ---- */

static int s_status_check(engine_request_t *r)
{
    const device_args_t *a = r->args;
    if (!engine__enum_ok(r, "kind", &hallbus__device_kind__descriptor, a->kind) ||
        !engine__enum_ok(r, "state", &hallbus__device_state__descriptor, a->state))
        return HB_EINVAL;
    int rc = engine__text_ok(r, "detail", a->detail);
    const hb_hall_state_t *s = r->e->state;
    if (rc == 0 && !hb_hall_state_device(s, r->key) && s->n_devices >= HB_HS_DEVICES_MAX)
        rc = engine__refuse(r, HB_ETOOBIG, "the hall has %d devices already", HB_HS_DEVICES_MAX);
    return rc;
}

static int s_status_build(engine_request_t *r)
{
    const device_args_t *a = r->args;
    Hallbus__DeviceStatus *ds = &r->body.device_status;
    ds->device = (char *)r->key;
    ds->kind = a->kind;
    ds->state = a->state;
    ds->detail = engine__text(a->detail);
    return 0;
}

const engine_steps_t engine__device_status_steps = {s_status_check, s_status_build, NULL};

/* -------------------------------------------------------------- API ---- */

int engine_feedback(engine_t *e, const char *ticket, const char *counter, uint32_t score, char *err,
                    size_t errlen)
{
    return engine_feedback_ex(e, ticket, counter, score, NULL, 0, false, NULL, err, errlen);
}

int engine_feedback_ex(engine_t *e, const char *ticket, const char *counter, uint32_t score,
                       const char *const *reasons, size_t n_reasons, bool last_at_counter,
                       char *rated, char *err, size_t errlen)
{
    device_args_t a = {.ticket = ticket,
                       .counter = counter,
                       .score = score,
                       .reasons = reasons,
                       .n_reasons = n_reasons,
                       .last_at_counter = last_at_counter,
                       .rated = rated};
    if (rated)
        rated[0] = '\0';
    return engine__run(e, ENGINE_FEEDBACK, NULL, &a, err, errlen);
}

int engine_device_status(engine_t *e, const char *device, int kind, int state, const char *detail,
                         char *err, size_t errlen)
{
    device_args_t a = {.kind = kind, .state = state, .detail = detail};
    return engine__run(e, ENGINE_DEVICE_STATUS, device, &a, err, errlen);
}
