/* The complaint actions of the hall engine (engine.h): a complaint is
 * opened with its deadlines counted in opening time, acknowledged,
 * escalated by hand or (past a deadline, from the tick) automatically, and
 * resolved. Here are the steps of their own that the action table
 * (actions.c) points to; what the deadlines are is the policy's (policy.h). */
#include "engine_private.h"

#include "hallbus/error.h"
#include "hallbus/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The arguments of the complaint actions besides the key (the complaint). */
typedef struct complaint_args {
    int channel, severity;  /* open */
    const char *category;   /* open */
    const char *ticket;     /* open: may be NULL or "" */
    const char *text;       /* open */
    char *id;               /* open: the new complaint's id (HB_HS_ID bytes) */
    const char *by;         /* ack */
    int level;              /* escalate: 0 for one above the current one */
    const char *reason;     /* escalate */
    bool automatic;         /* escalate: a deadline passed */
    int missed;             /* escalate: which one (Hallbus__Deadline) */
    const char *resolution; /* resolve */
    bool satisfied;         /* resolve */
} complaint_args_t;

/* ------------------------------------------------------------- open ---- */

/* A deadline counted in opening time; 0 (none) when the hall does not
 * open for that long within the policy's search window. */
static int64_t s_deadline(const engine_t *e, int64_t from, int64_t open_s)
{
    if (open_s <= 0)
        return 0;
    int64_t due = hb_policy_add_open_time(e->policy, from, open_s);
    return due == INT64_MAX ? 0 : due;
}

static int s_open_check(engine_request_t *r)
{
    const complaint_args_t *a = r->args;
    if (!engine__enum_ok(r, "channel", &hallbus__complaint_channel__descriptor, a->channel) ||
        !engine__enum_ok(r, "severity", &hallbus__severity__descriptor, a->severity))
        return HB_EINVAL;
    if (!engine__id_ok(a->category))
        return engine__refuse(r, HB_EINVAL,
                              "category must be a category id such as \"waiting_time\" "
                              "(1 to %d letters, digits, '-', '_', '.')",
                              HB_ID_MAX);
    if (a->ticket && a->ticket[0] && !engine__id_ok(a->ticket))
        return engine__refuse(r, HB_EINVAL, "ticket '%.64s' is not a ticket id", a->ticket);
    int rc = engine__text_ok(r, "text", a->text);
    if (rc == 0 && r->e->state->n_complaints >= HB_HS_COMPLAINTS_MAX)
        rc = engine__refuse(r, HB_ETOOBIG, "the hall has %d complaints open already",
                            HB_HS_COMPLAINTS_MAX);
    return rc;
}

static int s_open_build(engine_request_t *r)
{
    const engine_t *e = r->e;
    const complaint_args_t *a = r->args;
    char ymd[9] = "";
    const char *d = e->state->today.date;
    if (strlen(d) == 10)
        snprintf(ymd, sizeof ymd, "%.4s%.2s%.2s", d, d + 5, d + 8);
    for (uint32_t n = e->state->today.complaints_opened + 1;; n++) {
        snprintf(r->complaint_id, sizeof r->complaint_id, "K%s-%03u", ymd, n);
        if (!hb_hall_state_complaint(e->state, r->complaint_id))
            break;
    }
    Hallbus__ComplaintOpened *co = &r->body.complaint_opened;
    co->complaint = r->complaint_id;
    co->channel = a->channel;
    co->category = (char *)a->category;
    co->severity = a->severity;
    co->ticket = engine__text(a->ticket);
    co->text = engine__text(a->text);
    co->ack_due_ms = s_deadline(e, r->now, hb_policy_ack_s(e->policy, a->severity));
    co->resolve_due_ms = s_deadline(e, r->now, hb_policy_resolve_s(e->policy, a->severity));
    return 0;
}

static void s_open_answer(engine_request_t *r)
{
    snprintf(((complaint_args_t *)r->args)->id, HB_HS_ID, "%s", r->complaint_id);
}

const engine_steps_t engine__complaint_open_steps = {s_open_check, s_open_build, s_open_answer};

/* -------------------------------------------------------------- ack ---- */

static int s_ack_check(engine_request_t *r)
{
    if (!engine__id_ok(((const complaint_args_t *)r->args)->by))
        return engine__refuse(r, HB_EINVAL, "by must be the staff id acknowledging the complaint");
    return 0;
}

static int s_ack_build(engine_request_t *r)
{
    const hb_hs_complaint_t *c = r->complaint;
    if (c->state != HB_COMPLAINT_OPEN)
        return engine__refuse(r, HB_ECONFLICT, "complaint %s was acknowledged already (by %s)",
                              c->id, c->acked_by);
    r->body.complaint_acknowledged.complaint = r->complaint_id;
    r->body.complaint_acknowledged.by = (char *)((const complaint_args_t *)r->args)->by;
    return 0;
}

const engine_steps_t engine__complaint_ack_steps = {s_ack_check, s_ack_build, NULL};

/* --------------------------------------------------------- escalate ---- */

static int s_escalate_check(engine_request_t *r)
{
    const complaint_args_t *a = r->args;
    int rc = engine__text_ok(r, "reason", a->reason);
    /* 0: one level above the complaint's present one. */
    if (rc == 0 && a->level != 0 &&
        !engine__enum_ok(r, "level", &hallbus__escalation_level__descriptor, a->level))
        rc = HB_EINVAL;
    return rc;
}

static void s_fill_escalation(engine_request_t *r, const char *complaint, int level)
{
    const complaint_args_t *a = r->args;
    Hallbus__ComplaintEscalated *ce = &r->body.complaint_escalated;
    ce->complaint = (char *)complaint;
    ce->level = level;
    ce->reason = engine__text(a->reason);
    ce->automatic = a->automatic;
    ce->missed = a->missed;
}

static int s_escalate_build(engine_request_t *r)
{
    const hb_hs_complaint_t *c = r->complaint;
    int level = ((const complaint_args_t *)r->args)->level;
    if (level == 0)
        level = c->escalation + 1;
    if (level > HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_HEAD_OFFICE || level <= c->escalation)
        return engine__refuse(r, HB_ECONFLICT,
                              "complaint %s is escalated to level %d already; it can only go "
                              "higher (at most head_office)",
                              c->id, c->escalation);
    s_fill_escalation(r, r->complaint_id, level);
    return 0;
}

const engine_steps_t engine__complaint_escalate_steps = {s_escalate_check, s_escalate_build, NULL};

/* A deadline passed: the level is the deadline's, whatever the complaint's
 * is now, and nothing is checked (the tick found the complaint). */
static int s_overdue_build(engine_request_t *r)
{
    s_fill_escalation(r, r->key, ((const complaint_args_t *)r->args)->level);
    return 0;
}

const engine_steps_t engine__complaint_overdue_steps = {NULL, s_overdue_build, NULL};

/* ---------------------------------------------------------- resolve ---- */

static int s_resolve_check(engine_request_t *r)
{
    const char *resolution = ((const complaint_args_t *)r->args)->resolution;
    if (!resolution || !resolution[0] || strlen(resolution) > HB_TEXT_MAX)
        return engine__refuse(r, HB_EINVAL,
                              "resolution must say how the complaint was resolved (1 to %d bytes)",
                              HB_TEXT_MAX);
    return 0;
}

static int s_resolve_build(engine_request_t *r)
{
    const complaint_args_t *a = r->args;
    Hallbus__ComplaintResolved *cr = &r->body.complaint_resolved;
    cr->complaint = r->complaint_id;
    cr->resolution = (char *)a->resolution;
    cr->customer_satisfied = a->satisfied;
    return 0;
}

const engine_steps_t engine__complaint_resolve_steps = {s_resolve_check, s_resolve_build, NULL};

/* -------------------------------------------------------------- API ---- */

int engine_complaint_open(engine_t *e, int channel, const char *category, int severity,
                          const char *ticket, const char *text, char *id, char *err, size_t errlen)
{
    id[0] = '\0';
    complaint_args_t a = {.channel = channel,
                          .category = category,
                          .severity = severity,
                          .ticket = ticket,
                          .text = text,
                          .id = id};
    return engine__run(e, ENGINE_COMPLAINT_OPEN, NULL, &a, err, errlen);
}

int engine_complaint_ack(engine_t *e, const char *id, const char *by, char *err, size_t errlen)
{
    complaint_args_t a = {.by = by};
    return engine__run(e, ENGINE_COMPLAINT_ACK, id, &a, err, errlen);
}

int engine_complaint_escalate(engine_t *e, const char *id, int level, const char *reason, char *err,
                              size_t errlen)
{
    complaint_args_t a = {.level = level, .reason = reason};
    return engine__run(e, ENGINE_COMPLAINT_ESCALATE, id, &a, err, errlen);
}

int engine_complaint_resolve(engine_t *e, const char *id, const char *resolution, bool satisfied,
                             char *err, size_t errlen)
{
    complaint_args_t a = {.resolution = resolution, .satisfied = satisfied};
    return engine__run(e, ENGINE_COMPLAINT_RESOLVE, id, &a, err, errlen);
}

/* Deadlines that passed: one automatic escalation each, once. */
void engine__check_deadlines(engine_t *e, int64_t now)
{
    /* Escalating changes the array: collect first, then act. */
    struct {
        char id[HB_HS_ID];
        int level, missed;
        char reason[128];
    } due[32];
    size_t n = 0;
    for (size_t i = 0; i < e->state->n_complaints && n < sizeof due / sizeof due[0]; i++) {
        const hb_hs_complaint_t *c = &e->state->complaints[i];
        /* Not acknowledged in time goes to the duty manager; not resolved
         * in time, to the region. */
        bool ack = c->state == HB_COMPLAINT_OPEN && c->ack_due_ms && now >= c->ack_due_ms &&
                   !c->ack_missed;
        if (!ack && !(c->resolve_due_ms && now >= c->resolve_due_ms && !c->resolve_missed))
            continue;
        snprintf(due[n].id, sizeof due[n].id, "%s", c->id);
        due[n].level = ack ? HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_DUTY_MANAGER
                           : HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_REGION;
        due[n].missed = ack ? HALLBUS__DEADLINE__DEADLINE_ACK : HALLBUS__DEADLINE__DEADLINE_RESOLVE;
        int64_t within_s = ack ? hb_policy_ack_s(e->policy, c->severity)
                               : hb_policy_resolve_s(e->policy, c->severity);
        snprintf(due[n].reason, sizeof due[n].reason,
                 "not %s within %" PRId64 " min of opening time", ack ? "acknowledged" : "resolved",
                 within_s / 60);
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        char err[256];
        complaint_args_t a = {.level = due[i].level,
                              .reason = due[i].reason,
                              .automatic = true,
                              .missed = due[i].missed};
        int rc = engine__run_at(e, ENGINE_COMPLAINT_OVERDUE, now, due[i].id, &a, err, sizeof err);
        if (rc != 0) {
            hb_log_once("engine-escalate", HB_LOG_ERROR, "engine: %s", err);
            return;
        }
        hb_info("engine: complaint %s escalated automatically: %s", due[i].id, due[i].reason);
    }
}
