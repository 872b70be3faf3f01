/* What the hall's devices report to the engine (engine.h): a customer's
 * score from a feedback terminal, and a device's own status (a kiosk out of
 * paper, a display offline). Each is a row of one table the runner carries
 * out (engine_private.h); neither needs anything found in the hall's state
 * after the day starts, so each row is its check and its event. */
#include "engine_private.h"

#include "hallbus/error.h"

#include <stdint.h>

#define EV(kind) HALLBUS__ENVELOPE__BODY_##kind

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
    if (a->score < 1 || a->score > 5) {
        hb_errf(r->err, r->errlen, "score must be from 1 to 5, not %u", a->score);
        return HB_EINVAL;
    }
    if ((a->ticket && a->ticket[0] && !engine__id_ok(a->ticket)) ||
        (a->counter && a->counter[0] && !engine__id_ok(a->counter))) {
        hb_errf(r->err, r->errlen, "ticket and counter must be ids when given");
        return HB_EINVAL;
    }
    /* A score is taken after the visit: the ticket may have finished. */
    if (a->ticket && a->ticket[0] && !hb_hall_state_ticket_any(r->e->state, a->ticket)) {
        hb_errf(r->err, r->errlen, "no ticket '%s' in the hall today", a->ticket);
        return HB_ENOTFOUND;
    }
    return 0;
}

static int s_feedback_build(engine_request_t *r)
{
    const device_args_t *a = r->args;
    Hallbus__SatisfactionScored *ss = &r->body.satisfaction_scored;
    ss->ticket = (char *)(a->ticket ? a->ticket : "");
    ss->counter = (char *)(a->counter ? a->counter : "");
    ss->score = a->score;
    return 0;
}

/* ----------------------------------------------------------- status ---- */

static int s_status_check(engine_request_t *r)
{
    const device_args_t *a = r->args;
    if (a->kind < HALLBUS__DEVICE_KIND__DEVICE_KIND_KIOSK ||
        a->kind > HALLBUS__DEVICE_KIND__DEVICE_KIND_COUNTER_TERMINAL) {
        hb_errf(r->err, r->errlen,
                "kind must be one of kiosk, self_service, display, counter_terminal");
        return HB_EINVAL;
    }
    if (a->state < HALLBUS__DEVICE_STATE__DEVICE_STATE_OK ||
        a->state > HALLBUS__DEVICE_STATE__DEVICE_STATE_OFFLINE) {
        hb_errf(r->err, r->errlen, "state must be one of ok, fault, paper_out, offline");
        return HB_EINVAL;
    }
    int rc = engine__text_ok("detail", a->detail, r->err, r->errlen);
    if (rc != 0)
        return rc;
    const hb_hall_state_t *s = r->e->state;
    if (!hb_hall_state_device(s, r->key) && s->n_devices >= HB_HS_DEVICES_MAX) {
        hb_errf(r->err, r->errlen, "the hall has %d devices already", HB_HS_DEVICES_MAX);
        return HB_ETOOBIG;
    }
    return 0;
}

static int s_status_build(engine_request_t *r)
{
    const device_args_t *a = r->args;
    Hallbus__DeviceStatus *ds = &r->body.device_status;
    ds->device = (char *)r->key;
    ds->kind = a->kind;
    ds->state = a->state;
    ds->detail = (char *)(a->detail ? a->detail : "");
    return 0;
}

/* ------------------------------------------------------------ table ---- */

enum { D_FEEDBACK, D_STATUS };

static const engine_action_t s_actions[] = {
    [D_FEEDBACK] = {.name = "feedback",
                    .kind = EV(SATISFACTION_SCORED),
                    .check = s_feedback_check,
                    .build = s_feedback_build},
    [D_STATUS] = {.name = "device status",
                  .kind = EV(DEVICE_STATUS),
                  .key_id = "device",
                  .check = s_status_check,
                  .build = s_status_build},
};

/* -------------------------------------------------------------- API ---- */

int engine_feedback(engine_t *e, const char *ticket, const char *counter, uint32_t score, char *err,
                    size_t errlen)
{
    device_args_t a = {.ticket = ticket, .counter = counter, .score = score};
    return engine__run(e, &s_actions[D_FEEDBACK], NULL, &a, err, errlen);
}

int engine_device_status(engine_t *e, const char *device, int kind, int state, const char *detail,
                         char *err, size_t errlen)
{
    device_args_t a = {.kind = kind, .state = state, .detail = detail};
    return engine__run(e, &s_actions[D_STATUS], device, &a, err, errlen);
}
