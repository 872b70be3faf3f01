/* What the hall's devices report to the engine (engine.h): a customer's
 * score from a feedback terminal, and a device's own status (a kiosk out of
 * paper, a display offline). Here are the steps of their own that the
 * action table (actions.c) points to; neither action needs anything found
 * in the hall's state after the day starts, so each is a check and an
 * event. */
#include "engine_private.h"

#include "hallbus/error.h"

#include <stdint.h>

/* The arguments besides the key (the device; none for a score). */
typedef struct device_args {
    const char *ticket, *counter; /* feedback: either may be NULL or "" */
    uint32_t score;               /* feedback: 1 to 5 */
    int kind, state;              /* status: Hallbus__DeviceKind, Hallbus__DeviceState */
    const char *detail;           /* status: may be NULL */
} device_args_t;

/* --------------------------------------------------------- feedback ---- */

static int s_feedback_check(engine_request_t *r)
{
    const device_args_t *a = r->args;
    if (a->score < 1 || a->score > 5)
        return engine__refuse(r, HB_EINVAL, "score must be from 1 to 5, not %u", a->score);
    if ((a->ticket && a->ticket[0] && !engine__id_ok(a->ticket)) ||
        (a->counter && a->counter[0] && !engine__id_ok(a->counter)))
        return engine__refuse(r, HB_EINVAL, "ticket and counter must be ids when given");
    /* A score is given after the visit: the ticket may have finished. */
    if (a->ticket && a->ticket[0] && !hb_hall_state_ticket_any(r->e->state, a->ticket))
        return engine__refuse(r, HB_ENOTFOUND, "no ticket '%s' in the hall today", a->ticket);
    return 0;
}

static int s_feedback_build(engine_request_t *r)
{
    const device_args_t *a = r->args;
    Hallbus__SatisfactionScored *ss = &r->body.satisfaction_scored;
    ss->ticket = engine__text(a->ticket);
    ss->counter = engine__text(a->counter);
    ss->score = a->score;
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
    device_args_t a = {.ticket = ticket, .counter = counter, .score = score};
    return engine__run(e, ENGINE_FEEDBACK, NULL, &a, err, errlen);
}

int engine_device_status(engine_t *e, const char *device, int kind, int state, const char *detail,
                         char *err, size_t errlen)
{
    device_args_t a = {.kind = kind, .state = state, .detail = detail};
    return engine__run(e, ENGINE_DEVICE_STATUS, device, &a, err, errlen);
}
