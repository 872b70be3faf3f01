/* The hall engine (see engine.h). Each action follows one pattern:
 *
 *   1. a new local day first (its own DayStarted event);
 *   2. check the request against the live state and the policy, refusing
 *      with a reason and changing nothing;
 *   3. build the event(s) the decision means, on the stack;
 *   4. s_commit: append them to the outbox (one synced transaction), then
 *      apply them to the live state with the shared reducer.
 *
 * The state is only ever changed by the reducer from committed events, so
 * it cannot disagree with the journal. Snapshots of the state are a cache:
 * written every so often (and at close) as a record of the outbox, with the
 * outbox told to keep every event after the snapshot, so that a restart
 * costs the snapshot plus a few minutes of events. */
#include "engine.h"

#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/eventrules.h"
#include "hallbus/figures.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_KEY "state"
#define EVENTS_PER_ACTION_MAX 4

struct engine {
    outbox_t *outbox;
    engine_config_t cfg;
    hb_policy_t *policy;
    hb_hall_state_t *state;
    engine_appended_fn on_append;
    void *arg;
    uint64_t snapshot_seq;     /* the newest snapshot written */
    int64_t snapshot_mono_ms;  /* when */
};

/* ------------------------------------------------------------ helpers ---- */

static bool s_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > HB_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.')
            return false;
    }
    return true;
}

static bool s_text_ok(const char *text, size_t max)
{
    return !text || strlen(text) <= max;
}

const engine_service_t *engine_service(const engine_t *e, const char *code)
{
    for (size_t i = 0; i < e->cfg.n_services; i++)
        if (strcmp(e->cfg.services[i].code, code) == 0)
            return &e->cfg.services[i];
    return NULL;
}

static void s_service_list(const engine_t *e, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < e->cfg.n_services && used + 1 < outlen; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", e->cfg.services[i].code);
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
}

static int s_unknown_service(const engine_t *e, const char *code, char *err, size_t errlen)
{
    char list[512];
    s_service_list(e, list, sizeof list);
    hb_errf(err, errlen, "unknown service '%.64s'; this hall serves %s", code ? code : "", list);
    return HB_EINVAL;
}

static hb_hs_ticket_t *s_live_ticket(engine_t *e, const char *id)
{
    return (hb_hs_ticket_t *)hb_hall_state_ticket(e->state, id);
}

static int s_ticket_not_found(const engine_t *e, const char *id, char *err, size_t errlen)
{
    const hb_hs_ticket_t *t = hb_hall_state_ticket_any(e->state, id);
    if (t) {
        hb_errf(err, errlen, "ticket %s is %s already", t->id, hb_ticket_state_name(t->state));
        return HB_ECONFLICT;
    }
    hb_errf(err, errlen, "no ticket '%.64s' in the hall today", id ? id : "");
    return HB_ENOTFOUND;
}

static const hb_hs_counter_t *s_counter(const engine_t *e, const char *id)
{
    return hb_hall_state_counter(e->state, id);
}

/* ------------------------------------------------------------- commit ---- */

/* Appends the events (numbered and stored together) and applies them. */
static int s_commit(engine_t *e, Hallbus__Envelope **envs, size_t n, uint64_t *first_seq,
                    char *err, size_t errlen)
{
    /* The rules HQ judges every event by (eventrules.h): what HQ would
     * refuse or flag never enters the outbox. The time is the hall's own
     * clock and is not judged here: a hall whose clock is wrong keeps
     * serving, and HQ flags the time. */
    const hb_event_clock_t own_clock = {.now_ms = 0, .max_future_ms = -1};
    for (size_t i = 0; i < n; i++) {
        char why[256];
        if (hb_event_classify(envs[i], &own_clock, NULL, why, sizeof why) != HB_EVENT_VALID) {
            if (n == 1)
                hb_errf(err, errlen, "%s; nothing was stored", why);
            else
                hb_errf(err, errlen, "event %zu: %s; nothing was stored", i, why);
            return HB_EINVAL;
        }
    }
    uint64_t first = 0;
    int rc = outbox_append(e->outbox, envs, n, &first);
    if (rc != 0) {
        hb_errf(err, errlen, "the outbox could not store the event (%s); nothing was changed",
                hb_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        int arc = hb_hall_state_apply(e->state, envs[i]);
        if (arc != 0)
            hb_log_once("engine-anomaly", HB_LOG_WARN,
                        "engine: event %" PRIu64 " (%s) did not fit the hall's state (%s)",
                        envs[i]->seq, hb_event_type_name(envs[i]), hb_strerror(arc));
    }
    if (first_seq)
        *first_seq = first;
    if (e->on_append)
        e->on_append(e->arg);
    return 0;
}

static int s_commit1(engine_t *e, Hallbus__Envelope *env, char *err, size_t errlen)
{
    return s_commit(e, &env, 1, NULL, err, errlen);
}

static void s_env_init(Hallbus__Envelope *env, int64_t now)
{
    hallbus__envelope__init(env);
    env->at_ms = now;
}

/* A new local day starts with its own event, before anything else of it. */
static int s_ensure_day(engine_t *e, int64_t now, char *err, size_t errlen)
{
    int32_t day = hb_tz_local_day(e->policy->tz, now);
    char date[11];
    hb_date_format(day, date);
    if (strcmp(date, e->state->today.date) == 0)
        return 0;
    Hallbus__DayStarted ds = HALLBUS__DAY_STARTED__INIT;
    ds.date = date;
    ds.timezone = e->policy->timezone;
    ds.utc_offset_s = hb_tz_offset(e->policy->tz, now / 1000);
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_DAY_STARTED;
    env.day_started = &ds;
    int rc = s_commit1(e, &env, err, errlen);
    if (rc == 0)
        hb_info("engine: a new day, %s (%s)", date, e->policy->timezone);
    return rc;
}

/* ----------------------------------------------------------- snapshot ---- */

static int s_snapshot(engine_t *e)
{
    if (e->state->seq == e->snapshot_seq)
        return 0;
    json_t *snap = hb_hall_state_to_json(e->state);
    char *text = snap ? json_dumps(snap, JSON_COMPACT) : NULL;
    json_decref(snap);
    if (!text)
        return HB_ENOMEM;
    outbox_record_t rec = {SNAPSHOT_KEY, text, strlen(text)};
    int rc = outbox_append_with(e->outbox, NULL, 0, &rec, 1, NULL);
    free(text);
    if (rc != 0) {
        hb_log_once("engine-snapshot", HB_LOG_WARN, "engine: cannot write the state snapshot: %s",
                    hb_strerror(rc));
        return rc;
    }
    e->snapshot_seq = e->state->seq;
    e->snapshot_mono_ms = hb_mono_ms();
    outbox_keep_after(e->outbox, e->snapshot_seq);
    return 0;
}

typedef struct restore_ctx {
    hb_hall_state_t *state;
    char err[256];
} restore_ctx_t;

static int s_restore_cb(const void *data, size_t len, void *arg)
{
    restore_ctx_t *c = arg;
    json_error_t jerr;
    json_t *snap = json_loadb(data, len, 0, &jerr);
    if (!snap) {
        hb_errf(c->err, sizeof c->err, "the snapshot is not JSON: %s", jerr.text);
        return HB_EPARSE;
    }
    int rc = hb_hall_state_from_json(snap, &c->state, c->err, sizeof c->err);
    json_decref(snap);
    return rc;
}

typedef struct replay_ctx {
    hb_hall_state_t *state;
    uint64_t applied, next;
} replay_ctx_t;

static int s_replay_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    replay_ctx_t *c = arg;
    hb_hall_state_apply_bytes(c->state, data, len);
    c->applied++;
    c->next = seq + 1;
    return 0;
}

/* The snapshot, if any, then every event after it. */
static int s_rebuild(engine_t *e, char *err, size_t errlen)
{
    restore_ctx_t rc_ctx = {0};
    int rc = outbox_get_record(e->outbox, SNAPSHOT_KEY, s_restore_cb, &rc_ctx);
    uint64_t last = outbox_last_seq(e->outbox), first = outbox_first_seq(e->outbox);
    if (rc == 0 && (rc_ctx.state->seq > last || rc_ctx.state->seq + 1 < first)) {
        hb_warn("engine: the snapshot at %" PRIu64 " does not fit the outbox (%" PRIu64
                "..%" PRIu64 "); rebuilding from the events",
                rc_ctx.state->seq, first, last);
        hb_hall_state_destroy(&rc_ctx.state);
        rc = HB_ENOTFOUND;
    } else if (rc != 0 && rc != HB_ENOTFOUND) {
        hb_warn("engine: the snapshot cannot be used (%s); rebuilding from the events",
                rc_ctx.err[0] ? rc_ctx.err : hb_strerror(rc));
        hb_hall_state_destroy(&rc_ctx.state);
        rc = HB_ENOTFOUND;
    }
    if (rc == HB_ENOTFOUND) {
        rc_ctx.state = hb_hall_state_new();
        if (!rc_ctx.state) {
            hb_errf(err, errlen, "out of memory");
            return HB_ENOMEM;
        }
        if (first > 1)
            hb_warn("engine: no snapshot and the outbox starts at %" PRIu64
                    "; the state is rebuilt from what is kept",
                    first);
    }
    e->state = rc_ctx.state;
    replay_ctx_t rp = {.state = e->state, .next = e->state->seq + 1};
    if (rp.next < first)
        rp.next = first;
    while (rp.next <= last) {
        uint64_t before = rp.next;
        rc = outbox_read(e->outbox, rp.next, 4096, 4u << 20, s_replay_cb, &rp);
        if (rc != 0 || rp.next == before) {
            hb_errf(err, errlen, "cannot read the outbox at %" PRIu64 ": %s", before,
                    hb_strerror(rc ? rc : HB_EDB));
            return rc ? rc : HB_EDB;
        }
    }
    e->snapshot_seq = e->state->seq;
    if (rp.applied)
        hb_info("engine: state at %" PRIu64 " (%" PRIu64 " event(s) applied after the snapshot)",
                e->state->seq, rp.applied);
    return 0;
}

/* ------------------------------------------------------------ life ---- */

int engine_open(outbox_t *outbox, const engine_config_t *cfg, hb_policy_t *policy,
                engine_appended_fn on_append, void *arg, engine_t **out, char *err,
                size_t errlen)
{
    if (!policy || !cfg->n_services) {
        hb_errf(err, errlen, "the engine needs a policy and at least one service");
        hb_policy_free(&policy);
        return HB_EINVAL;
    }
    engine_t *e = calloc(1, sizeof *e);
    if (!e) {
        hb_policy_free(&policy);
        return HB_ENOMEM;
    }
    e->outbox = outbox;
    e->cfg = *cfg;
    e->policy = policy;
    e->on_append = on_append;
    e->arg = arg;
    int rc = s_rebuild(e, err, errlen);
    if (rc != 0) {
        engine_close(&e);
        return rc;
    }
    outbox_keep_after(outbox, e->snapshot_seq);
    e->snapshot_mono_ms = hb_mono_ms();
    *out = e;
    return 0;
}

void engine_close(engine_t **ep)
{
    engine_t *e = *ep;
    if (!e)
        return;
    if (e->state)
        s_snapshot(e);
    hb_hall_state_destroy(&e->state);
    hb_policy_free(&e->policy);
    free(e);
    *ep = NULL;
}

const hb_hall_state_t *engine_state(const engine_t *e) { return e->state; }
const hb_policy_t *engine_policy(const engine_t *e) { return e->policy; }
const engine_config_t *engine_config(const engine_t *e) { return &e->cfg; }

void engine_set_policy(engine_t *e, hb_policy_t *p)
{
    hb_policy_free(&e->policy);
    e->policy = p;
}

/* ----------------------------------------------------------- tickets ---- */

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

int engine_issue(engine_t *e, const char *service, int priority, int source,
                 engine_ticket_answer_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const engine_service_t *svc = service ? engine_service(e, service) : NULL;
    if (!svc)
        return s_unknown_service(e, service, err, errlen);
    if (priority < HALLBUS__PRIORITY__PRIORITY_NORMAL || priority > HALLBUS__PRIORITY__PRIORITY_APPOINTMENT) {
        hb_errf(err, errlen, "priority %d is not one of normal, vip, elderly, appointment", priority);
        return HB_EINVAL;
    }
    int64_t now = hb_now_ms();
    hb_policy_open_at(e->policy, now, &out->closed);
    if (out->closed.state != HB_OPEN_NOW) {
        char when[HB_RFC3339_MAX] = "no opening is planned";
        if (out->closed.next_open_ms)
            hb_time_format(out->closed.next_open_ms, when);
        hb_errf(err, errlen, "the hall is closed (%s)%s%s; next opening: %s",
                hb_closed_reason_name(out->closed.state), out->closed.note ? ": " : "",
                out->closed.note ? out->closed.note : "", when);
        return HB_ECLOSED;
    }
    int rc = s_ensure_day(e, now, err, errlen);
    if (rc != 0)
        return rc;
    if (e->state->n_tickets >= e->cfg.max_waiting || e->state->n_tickets >= HB_HS_TICKETS_MAX) {
        hb_errf(err, errlen, "the queue is full (%zu tickets); nothing was issued",
                e->state->n_tickets);
        return HB_ETOOBIG;
    }
    const hb_hs_service_t *st = hb_hall_state_service(e->state, svc->code);
    uint32_t number = st && st->next_number ? st->next_number : 1;
    char ticket[HB_HS_ID];
    /* A ticket still waiting from yesterday may hold today's next number:
     * numbers move on rather than repeat. */
    for (int tries = 0;; tries++) {
        snprintf(ticket, sizeof ticket, "%s%03u", svc->prefix, number);
        if (!hb_hall_state_ticket(e->state, ticket))
            break;
        if (tries > HB_HS_TICKETS_MAX) {
            hb_errf(err, errlen, "no free ticket number for service %s", svc->code);
            return HB_ETOOBIG;
        }
        number++;
    }
    Hallbus__TicketIssued ti = HALLBUS__TICKET_ISSUED__INIT;
    ti.ticket = ticket;
    ti.service = (char *)svc->code;
    ti.priority = priority;
    ti.source = source > 0 ? source : HALLBUS__ISSUE_SOURCE__ISSUE_SOURCE_KIOSK;
    ti.number = number;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_ISSUED;
    env.ticket_issued = &ti;
    rc = s_commit1(e, &env, err, errlen);
    if (rc != 0)
        return rc;
    s_fill_ticket_answer(e, ticket, svc->code, out);
    return 0;
}

static int s_counter_ready(const engine_t *e, const char *counter, const hb_hs_counter_t **out,
                           char *err, size_t errlen)
{
    const hb_hs_counter_t *c = counter ? s_counter(e, counter) : NULL;
    if (!c || c->state == HB_COUNTER_CLOSED) {
        hb_errf(err, errlen, "counter '%.64s' is not open", counter ? counter : "");
        return HB_ECONFLICT;
    }
    if (c->state == HB_COUNTER_PAUSED) {
        hb_errf(err, errlen, "counter %s is paused; resume it first", c->id);
        return HB_ECONFLICT;
    }
    if (c->state == HB_COUNTER_CALLING || c->state == HB_COUNTER_SERVING) {
        hb_errf(err, errlen, "counter %s is %s ticket %s; finish it first", c->id,
                c->state == HB_COUNTER_CALLING ? "calling" : "serving", c->ticket);
        return HB_ECONFLICT;
    }
    *out = c;
    return 0;
}

int engine_call(engine_t *e, const char *counter, const char *ticket, engine_call_answer_t *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    if (rc != 0)
        return rc;
    const hb_hs_counter_t *c;
    rc = s_counter_ready(e, counter, &c, err, errlen);
    if (rc != 0)
        return rc;
    const hb_hs_ticket_t *t;
    int rule;
    if (ticket) {
        t = s_live_ticket(e, ticket);
        if (!t)
            return s_ticket_not_found(e, ticket, err, errlen);
        if (t->state != HB_TICKET_WAITING) {
            hb_errf(err, errlen, "ticket %s is %s, not waiting", t->id, hb_ticket_state_name(t->state));
            return HB_ECONFLICT;
        }
        bool serves = false;
        for (size_t i = 0; i < c->n_services; i++)
            serves = serves || strcmp(c->services[i], t->service) == 0;
        if (!serves) {
            hb_errf(err, errlen, "counter %s does not serve service %s", c->id, t->service);
            return HB_ECONFLICT;
        }
        rule = HALLBUS__CALL_RULE__CALL_RULE_MANUAL;
    } else {
        long i = queue_pick(e->state, c, &e->cfg.rules, now, &rule);
        if (i < 0) {
            char list[HB_HS_COUNTER_SERVICES_MAX * (HB_HS_ID + 2)];
            size_t used = 0;
            list[0] = '\0';
            for (size_t k = 0; k < c->n_services; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                         c->services[k]);
            hb_errf(err, errlen, "nobody waits for %s", list);
            return HB_ENOTFOUND;
        }
        t = &e->state->tickets[i];
    }
    char id[HB_HS_ID], service[HB_HS_ID], counter_id[HB_HS_ID];
    snprintf(id, sizeof id, "%s", t->id);
    snprintf(service, sizeof service, "%s", t->service);
    snprintf(counter_id, sizeof counter_id, "%s", c->id);
    int64_t wait_ms = now - t->issued_ms;
    Hallbus__TicketCalled tc = HALLBUS__TICKET_CALLED__INIT;
    tc.ticket = id;
    tc.counter = counter_id;
    tc.rule = rule;
    tc.wait_s = wait_ms > 0 ? (uint32_t)(wait_ms / 1000) : 0;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_CALLED;
    env.ticket_called = &tc;
    rc = s_commit1(e, &env, err, errlen);
    if (rc != 0)
        return rc;
    snprintf(out->ticket, sizeof out->ticket, "%s", id);
    snprintf(out->service, sizeof out->service, "%s", service);
    out->rule = rule;
    out->wait_s = tc.wait_s;
    return 0;
}

/* A live ticket in one of the states allowed, else a refusal. */
static int s_ticket_in(engine_t *e, const char *ticket, unsigned states_mask,
                       const char *what, hb_hs_ticket_t **out, char *err, size_t errlen)
{
    hb_hs_ticket_t *t = ticket ? s_live_ticket(e, ticket) : NULL;
    if (!t)
        return s_ticket_not_found(e, ticket, err, errlen);
    if (!(states_mask & (1u << t->state))) {
        hb_errf(err, errlen, "ticket %s is %s; %s", t->id, hb_ticket_state_name(t->state), what);
        return HB_ECONFLICT;
    }
    *out = t;
    return 0;
}

#define ST(x) (1u << (x))

int engine_recall(engine_t *e, const char *ticket, bool *no_show, char *err, size_t errlen)
{
    *no_show = false;
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    hb_hs_ticket_t *t;
    if (rc == 0)
        rc = s_ticket_in(e, ticket, ST(HB_TICKET_CALLED), "only a called ticket can be recalled",
                         &t, err, errlen);
    if (rc != 0)
        return rc;
    char id[HB_HS_ID], counter[HB_HS_ID];
    snprintf(id, sizeof id, "%s", t->id);
    snprintf(counter, sizeof counter, "%s", t->counter);
    uint32_t recalls = t->recalls + 1;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    Hallbus__TicketRecalled tr = HALLBUS__TICKET_RECALLED__INIT;
    Hallbus__TicketNoShow ns = HALLBUS__TICKET_NO_SHOW__INIT;
    if (recalls > e->cfg.rules.max_recalls) {
        /* Called and recalled as often as the hall allows: the customer is
         * not coming. */
        ns.ticket = id;
        ns.counter = counter;
        ns.recall_count = t->recalls;
        env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_NO_SHOW;
        env.ticket_no_show = &ns;
        *no_show = true;
    } else {
        tr.ticket = id;
        tr.counter = counter;
        tr.recall_count = recalls;
        env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_RECALLED;
        env.ticket_recalled = &tr;
    }
    return s_commit1(e, &env, err, errlen);
}

int engine_no_show(engine_t *e, const char *ticket, char *err, size_t errlen)
{
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    hb_hs_ticket_t *t;
    if (rc == 0)
        rc = s_ticket_in(e, ticket, ST(HB_TICKET_CALLED),
                         "only a called ticket whose customer did not come is a no-show", &t, err,
                         errlen);
    if (rc != 0)
        return rc;
    char id[HB_HS_ID], counter[HB_HS_ID];
    snprintf(id, sizeof id, "%s", t->id);
    snprintf(counter, sizeof counter, "%s", t->counter);
    Hallbus__TicketNoShow ns = HALLBUS__TICKET_NO_SHOW__INIT;
    ns.ticket = id;
    ns.counter = counter;
    ns.recall_count = t->recalls;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_NO_SHOW;
    env.ticket_no_show = &ns;
    return s_commit1(e, &env, err, errlen);
}

int engine_transfer(engine_t *e, const char *ticket, const char *service,
                    engine_ticket_answer_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    if (rc != 0)
        return rc;
    const engine_service_t *svc = service ? engine_service(e, service) : NULL;
    if (!svc)
        return s_unknown_service(e, service, err, errlen);
    hb_hs_ticket_t *t;
    rc = s_ticket_in(e, ticket, ST(HB_TICKET_WAITING) | ST(HB_TICKET_CALLED) | ST(HB_TICKET_SERVING),
                     "it cannot be transferred", &t, err, errlen);
    if (rc != 0)
        return rc;
    if (strcmp(t->service, svc->code) == 0) {
        hb_errf(err, errlen, "ticket %s is already in service %s", t->id, svc->code);
        return HB_ECONFLICT;
    }
    char id[HB_HS_ID], from[HB_HS_ID], counter[HB_HS_ID];
    snprintf(id, sizeof id, "%s", t->id);
    snprintf(from, sizeof from, "%s", t->service);
    snprintf(counter, sizeof counter, "%s", t->counter);
    Hallbus__TicketTransferred tt = HALLBUS__TICKET_TRANSFERRED__INIT;
    tt.ticket = id;
    tt.from_service = from;
    tt.to_service = (char *)svc->code;
    tt.counter = counter;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_TRANSFERRED;
    env.ticket_transferred = &tt;
    rc = s_commit1(e, &env, err, errlen);
    if (rc == 0)
        s_fill_ticket_answer(e, id, svc->code, out);
    return rc;
}

int engine_cancel(engine_t *e, const char *ticket, const char *reason, char *err, size_t errlen)
{
    if (!s_text_ok(reason, HB_TEXT_MAX)) {
        hb_errf(err, errlen, "reason is longer than %d bytes", HB_TEXT_MAX);
        return HB_EINVAL;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    hb_hs_ticket_t *t;
    if (rc == 0)
        rc = s_ticket_in(e, ticket, ST(HB_TICKET_WAITING) | ST(HB_TICKET_CALLED),
                         "a ticket being served is completed, not cancelled", &t, err, errlen);
    if (rc != 0)
        return rc;
    char id[HB_HS_ID];
    snprintf(id, sizeof id, "%s", t->id);
    Hallbus__TicketCancelled tc = HALLBUS__TICKET_CANCELLED__INIT;
    tc.ticket = id;
    tc.reason = (char *)(reason ? reason : "");
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_CANCELLED;
    env.ticket_cancelled = &tc;
    return s_commit1(e, &env, err, errlen);
}

/* ---------------------------------------------------------- counters ---- */

int engine_counter_open(engine_t *e, const char *counter, const char *staff,
                        const char *const *services, size_t n_services, char *err, size_t errlen)
{
    if (!s_id_ok(counter)) {
        hb_errf(err, errlen, "counter id '%.64s' must be 1 to %d letters, digits, '-', '_' or '.'",
                counter ? counter : "", HB_ID_MAX);
        return HB_EINVAL;
    }
    if (!s_id_ok(staff)) {
        hb_errf(err, errlen, "staff must be a staff id (1 to %d letters, digits, '-', '_', '.')",
                HB_ID_MAX);
        return HB_EINVAL;
    }
    if (n_services == 0 || n_services > HB_HS_COUNTER_SERVICES_MAX) {
        hb_errf(err, errlen, "services must name 1 to %d services the counter serves",
                HB_HS_COUNTER_SERVICES_MAX);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < n_services; i++) {
        if (!engine_service(e, services[i]))
            return s_unknown_service(e, services[i], err, errlen);
        for (size_t j = 0; j < i; j++)
            if (strcmp(services[i], services[j]) == 0) {
                hb_errf(err, errlen, "service %s is named twice", services[i]);
                return HB_EINVAL;
            }
    }
    const hb_hs_counter_t *c = s_counter(e, counter);
    if (c && c->state != HB_COUNTER_CLOSED) {
        hb_errf(err, errlen, "counter %s is open already (staff %s); close it first", c->id,
                c->staff);
        return HB_ECONFLICT;
    }
    if (!c && e->state->n_counters >= HB_HS_COUNTERS_MAX) {
        hb_errf(err, errlen, "the hall has %d counters already", HB_HS_COUNTERS_MAX);
        return HB_ETOOBIG;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    if (rc != 0)
        return rc;
    Hallbus__CounterOpened co = HALLBUS__COUNTER_OPENED__INIT;
    co.counter = (char *)counter;
    co.staff = (char *)staff;
    co.n_services = n_services;
    co.services = (char **)services;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_COUNTER_OPENED;
    env.counter_opened = &co;
    return s_commit1(e, &env, err, errlen);
}

/* The counter must be open and in one of `states_mask`. */
static int s_counter_in(engine_t *e, const char *counter, unsigned states_mask, const char *what,
                        const hb_hs_counter_t **out, char *err, size_t errlen)
{
    const hb_hs_counter_t *c = counter ? s_counter(e, counter) : NULL;
    if (!c || c->state == HB_COUNTER_CLOSED) {
        hb_errf(err, errlen, "counter '%.64s' is not open", counter ? counter : "");
        return HB_ECONFLICT;
    }
    if (!(states_mask & (1u << c->state))) {
        hb_errf(err, errlen, "counter %s is %s%s%s; %s", c->id, hb_counter_state_name(c->state),
                c->ticket[0] ? " with ticket " : "", c->ticket, what);
        return HB_ECONFLICT;
    }
    *out = c;
    return 0;
}

static int s_counter_event(engine_t *e, const char *counter, unsigned states_mask,
                           const char *what, Hallbus__Envelope *env, char *err, size_t errlen)
{
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    const hb_hs_counter_t *c;
    if (rc == 0)
        rc = s_counter_in(e, counter, states_mask, what, &c, err, errlen);
    if (rc != 0)
        return rc;
    env->at_ms = now;
    return s_commit1(e, env, err, errlen);
}

int engine_counter_pause(engine_t *e, const char *counter, const char *reason, char *err,
                         size_t errlen)
{
    if (!s_text_ok(reason, HB_TEXT_MAX)) {
        hb_errf(err, errlen, "reason is longer than %d bytes", HB_TEXT_MAX);
        return HB_EINVAL;
    }
    Hallbus__CounterPaused cp = HALLBUS__COUNTER_PAUSED__INIT;
    cp.counter = (char *)counter;
    cp.reason = (char *)(reason ? reason : "");
    Hallbus__Envelope env;
    s_env_init(&env, 0);
    env.body_case = HALLBUS__ENVELOPE__BODY_COUNTER_PAUSED;
    env.counter_paused = &cp;
    return s_counter_event(e, counter, ST(HB_COUNTER_IDLE), "finish the ticket before pausing",
                           &env, err, errlen);
}

int engine_counter_resume(engine_t *e, const char *counter, char *err, size_t errlen)
{
    Hallbus__CounterResumed cr = HALLBUS__COUNTER_RESUMED__INIT;
    cr.counter = (char *)counter;
    Hallbus__Envelope env;
    s_env_init(&env, 0);
    env.body_case = HALLBUS__ENVELOPE__BODY_COUNTER_RESUMED;
    env.counter_resumed = &cr;
    return s_counter_event(e, counter, ST(HB_COUNTER_PAUSED), "only a paused counter resumes",
                           &env, err, errlen);
}

int engine_counter_close(engine_t *e, const char *counter, char *err, size_t errlen)
{
    Hallbus__CounterClosed cc = HALLBUS__COUNTER_CLOSED__INIT;
    cc.counter = (char *)counter;
    Hallbus__Envelope env;
    s_env_init(&env, 0);
    env.body_case = HALLBUS__ENVELOPE__BODY_COUNTER_CLOSED;
    env.counter_closed = &cc;
    return s_counter_event(e, counter, ST(HB_COUNTER_IDLE) | ST(HB_COUNTER_PAUSED),
                           "finish the ticket before closing", &env, err, errlen);
}

int engine_start(engine_t *e, const char *counter, char *err, size_t errlen)
{
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    const hb_hs_counter_t *c;
    if (rc == 0)
        rc = s_counter_in(e, counter, ST(HB_COUNTER_CALLING),
                          "a service starts after a ticket was called", &c, err, errlen);
    if (rc != 0)
        return rc;
    char id[HB_HS_ID], counter_id[HB_HS_ID], staff[HB_HS_ID];
    snprintf(id, sizeof id, "%s", c->ticket);
    snprintf(counter_id, sizeof counter_id, "%s", c->id);
    snprintf(staff, sizeof staff, "%s", c->staff);
    Hallbus__ServiceStarted ss = HALLBUS__SERVICE_STARTED__INIT;
    ss.ticket = id;
    ss.counter = counter_id;
    ss.staff = staff;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_SERVICE_STARTED;
    env.service_started = &ss;
    return s_commit1(e, &env, err, errlen);
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


int engine_complete(engine_t *e, const char *counter, const char *business_type, int outcome,
                    int64_t amount, const char *currency, char *err, size_t errlen)
{
    if (!s_id_ok(business_type)) {
        hb_errf(err, errlen, "business_type must be a business type id such as \"bill_payment\" "
                             "(1 to %d letters, digits, '-', '_', '.')",
                HB_ID_MAX);
        return HB_EINVAL;
    }
    if (outcome < HALLBUS__OUTCOME__OUTCOME_DONE ||
        outcome > HALLBUS__OUTCOME__OUTCOME_REJECTED_DOCUMENTS) {
        hb_errf(err, errlen, "outcome must be one of done, referred, rejected_documents");
        return HB_EINVAL;
    }
    if (amount < 0 || amount > HB_EVENT_AMOUNT_MAX) {
        hb_errf(err, errlen, "amount must be from 0 to %lld minor units, not %lld",
                (long long)HB_EVENT_AMOUNT_MAX, (long long)amount);
        return HB_EINVAL;
    }
    if (!s_currency_ok(currency)) {
        hb_errf(err, errlen, "currency must be an ISO 4217 code such as \"EUR\"");
        return HB_EINVAL;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    const hb_hs_counter_t *c;
    if (rc == 0)
        rc = s_counter_in(e, counter, ST(HB_COUNTER_SERVING),
                          "only a counter serving a customer completes a service", &c, err,
                          errlen);
    if (rc != 0)
        return rc;
    const hb_hs_ticket_t *t = hb_hall_state_ticket(e->state, c->ticket);
    int64_t dur = t && t->started_ms ? now - t->started_ms : 0;
    char id[HB_HS_ID], counter_id[HB_HS_ID];
    snprintf(id, sizeof id, "%s", c->ticket);
    snprintf(counter_id, sizeof counter_id, "%s", c->id);
    Hallbus__ServiceCompleted sc = HALLBUS__SERVICE_COMPLETED__INIT;
    sc.ticket = id;
    sc.counter = counter_id;
    sc.business_type = (char *)business_type;
    sc.outcome = outcome;
    sc.amount = amount;
    sc.currency = (char *)(currency ? currency : "");
    /* At least a second: 0 would read as "not measured" to the reducer. */
    sc.duration_s = dur >= 1000 ? (uint32_t)(dur / 1000) : 1;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_SERVICE_COMPLETED;
    env.service_completed = &sc;
    return s_commit1(e, &env, err, errlen);
}

/* -------------------------------------------------------- complaints ---- */

/* A deadline counted in opening time; 0 (none) when the hall does not
 * open for that long within the policy's search window. */
static int64_t s_deadline(const engine_t *e, int64_t from, int64_t open_s)
{
    if (open_s <= 0)
        return 0;
    int64_t due = hb_policy_add_open_time(e->policy, from, open_s);
    return due == INT64_MAX ? 0 : due;
}

int engine_complaint_open(engine_t *e, int channel, const char *category, int severity,
                          const char *ticket, const char *text, char *id, char *err,
                          size_t errlen)
{
    id[0] = '\0';
    if (channel < HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_COUNTER ||
        channel > HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_APP) {
        hb_errf(err, errlen, "channel must be one of counter, phone, email, suggestion_box, app");
        return HB_EINVAL;
    }
    if (severity < HALLBUS__SEVERITY__SEVERITY_LOW || severity > HALLBUS__SEVERITY__SEVERITY_CRITICAL) {
        hb_errf(err, errlen, "severity must be one of low, medium, high, critical");
        return HB_EINVAL;
    }
    if (!s_id_ok(category)) {
        hb_errf(err, errlen, "category must be a category id such as \"waiting_time\" "
                             "(1 to %d letters, digits, '-', '_', '.')",
                HB_ID_MAX);
        return HB_EINVAL;
    }
    if (ticket && ticket[0] && !s_id_ok(ticket)) {
        hb_errf(err, errlen, "ticket '%.64s' is not a ticket id", ticket);
        return HB_EINVAL;
    }
    if (!s_text_ok(text, HB_TEXT_MAX)) {
        hb_errf(err, errlen, "text is longer than %d bytes", HB_TEXT_MAX);
        return HB_EINVAL;
    }
    if (e->state->n_complaints >= HB_HS_COMPLAINTS_MAX) {
        hb_errf(err, errlen, "the hall has %d complaints open already", HB_HS_COMPLAINTS_MAX);
        return HB_ETOOBIG;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    if (rc != 0)
        return rc;
    char ymd[9] = "";
    const char *d = e->state->today.date;
    if (strlen(d) == 10)
        snprintf(ymd, sizeof ymd, "%.4s%.2s%.2s", d, d + 5, d + 8);
    char cid[HB_HS_ID];
    for (uint32_t n = e->state->today.complaints_opened + 1;; n++) {
        snprintf(cid, sizeof cid, "K%s-%03u", ymd, n);
        if (!hb_hall_state_complaint(e->state, cid))
            break;
    }
    Hallbus__ComplaintOpened co = HALLBUS__COMPLAINT_OPENED__INIT;
    co.complaint = cid;
    co.channel = channel;
    co.category = (char *)category;
    co.severity = severity;
    co.ticket = (char *)(ticket ? ticket : "");
    co.text = (char *)(text ? text : "");
    co.ack_due_ms = s_deadline(e, now, hb_policy_ack_s(e->policy, severity));
    co.resolve_due_ms = s_deadline(e, now, hb_policy_resolve_s(e->policy, severity));
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_COMPLAINT_OPENED;
    env.complaint_opened = &co;
    rc = s_commit1(e, &env, err, errlen);
    if (rc == 0)
        snprintf(id, HB_HS_ID, "%s", cid);
    return rc;
}

static int s_complaint(engine_t *e, const char *id, const hb_hs_complaint_t **out, char *err,
                       size_t errlen)
{
    const hb_hs_complaint_t *c = id ? hb_hall_state_complaint(e->state, id) : NULL;
    if (!c) {
        hb_errf(err, errlen, "no open complaint '%.64s'", id ? id : "");
        return HB_ENOTFOUND;
    }
    *out = c;
    return 0;
}

int engine_complaint_ack(engine_t *e, const char *id, const char *by, char *err, size_t errlen)
{
    if (!s_id_ok(by)) {
        hb_errf(err, errlen, "by must be the staff id acknowledging the complaint");
        return HB_EINVAL;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    const hb_hs_complaint_t *c;
    if (rc == 0)
        rc = s_complaint(e, id, &c, err, errlen);
    if (rc != 0)
        return rc;
    if (c->state != HB_COMPLAINT_OPEN) {
        hb_errf(err, errlen, "complaint %s was acknowledged already (by %s)", c->id, c->acked_by);
        return HB_ECONFLICT;
    }
    Hallbus__ComplaintAcknowledged ca = HALLBUS__COMPLAINT_ACKNOWLEDGED__INIT;
    ca.complaint = (char *)id;
    ca.by = (char *)by;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_COMPLAINT_ACKNOWLEDGED;
    env.complaint_acknowledged = &ca;
    return s_commit1(e, &env, err, errlen);
}

static int s_escalate(engine_t *e, const char *id, int level, const char *reason, bool automatic,
                      int missed, int64_t now, char *err, size_t errlen)
{
    Hallbus__ComplaintEscalated ce = HALLBUS__COMPLAINT_ESCALATED__INIT;
    ce.complaint = (char *)id;
    ce.level = level;
    ce.reason = (char *)(reason ? reason : "");
    ce.automatic = automatic;
    ce.missed = missed;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_COMPLAINT_ESCALATED;
    env.complaint_escalated = &ce;
    return s_commit1(e, &env, err, errlen);
}

int engine_complaint_escalate(engine_t *e, const char *id, int level, const char *reason,
                              char *err, size_t errlen)
{
    if (!s_text_ok(reason, HB_TEXT_MAX)) {
        hb_errf(err, errlen, "reason is longer than %d bytes", HB_TEXT_MAX);
        return HB_EINVAL;
    }
    if (level < 0 || level > HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_HEAD_OFFICE) {
        hb_errf(err, errlen, "level must be one of duty_manager, region, head_office");
        return HB_EINVAL;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    const hb_hs_complaint_t *c;
    if (rc == 0)
        rc = s_complaint(e, id, &c, err, errlen);
    if (rc != 0)
        return rc;
    if (level == 0)
        level = c->escalation + 1;
    if (level > HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_HEAD_OFFICE || level <= c->escalation) {
        hb_errf(err, errlen, "complaint %s is escalated to level %d already; it can only go higher "
                             "(at most head_office)",
                c->id, c->escalation);
        return HB_ECONFLICT;
    }
    return s_escalate(e, id, level, reason, false, 0, now, err, errlen);
}

int engine_complaint_resolve(engine_t *e, const char *id, const char *resolution, bool satisfied,
                             char *err, size_t errlen)
{
    if (!resolution || !resolution[0] || !s_text_ok(resolution, HB_TEXT_MAX)) {
        hb_errf(err, errlen, "resolution must say how the complaint was resolved (1 to %d bytes)",
                HB_TEXT_MAX);
        return HB_EINVAL;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    const hb_hs_complaint_t *c;
    if (rc == 0)
        rc = s_complaint(e, id, &c, err, errlen);
    if (rc != 0)
        return rc;
    Hallbus__ComplaintResolved cr = HALLBUS__COMPLAINT_RESOLVED__INIT;
    cr.complaint = (char *)id;
    cr.resolution = (char *)resolution;
    cr.customer_satisfied = satisfied;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_COMPLAINT_RESOLVED;
    env.complaint_resolved = &cr;
    return s_commit1(e, &env, err, errlen);
}

/* Deadlines that passed: one automatic escalation each, once. */
static void s_check_deadlines(engine_t *e, int64_t now)
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
        if (c->state == HB_COMPLAINT_OPEN && c->ack_due_ms && now >= c->ack_due_ms &&
            !c->ack_missed) {
            snprintf(due[n].id, sizeof due[n].id, "%s", c->id);
            due[n].level = HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_DUTY_MANAGER;
            due[n].missed = HALLBUS__DEADLINE__DEADLINE_ACK;
            snprintf(due[n].reason, sizeof due[n].reason,
                     "not acknowledged within %" PRId64 " min of opening time",
                     hb_policy_ack_s(e->policy, c->severity) / 60);
            n++;
        } else if (c->resolve_due_ms && now >= c->resolve_due_ms && !c->resolve_missed) {
            snprintf(due[n].id, sizeof due[n].id, "%s", c->id);
            due[n].level = HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_REGION;
            due[n].missed = HALLBUS__DEADLINE__DEADLINE_RESOLVE;
            snprintf(due[n].reason, sizeof due[n].reason,
                     "not resolved within %" PRId64 " min of opening time",
                     hb_policy_resolve_s(e->policy, c->severity) / 60);
            n++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char err[256];
        if (s_escalate(e, due[i].id, due[i].level, due[i].reason, true, due[i].missed, now, err,
                       sizeof err) != 0) {
            hb_log_once("engine-escalate", HB_LOG_ERROR, "engine: %s", err);
            return;
        }
        hb_info("engine: complaint %s escalated automatically: %s", due[i].id, due[i].reason);
    }
}

void engine_tick(engine_t *e)
{
    int64_t now = hb_now_ms();
    char err[256];
    if (s_ensure_day(e, now, err, sizeof err) != 0)
        hb_log_once("engine-day", HB_LOG_ERROR, "engine: cannot start the day: %s", err);
    s_check_deadlines(e, now);
    if (hb_mono_ms() - e->snapshot_mono_ms >= e->cfg.snapshot_every_ms)
        s_snapshot(e);
}

/* -------------------------------------------------- feedback, devices ---- */

int engine_feedback(engine_t *e, const char *ticket, const char *counter, uint32_t score,
                    char *err, size_t errlen)
{
    if (score < 1 || score > 5) {
        hb_errf(err, errlen, "score must be from 1 to 5, not %u", score);
        return HB_EINVAL;
    }
    if ((ticket && ticket[0] && !s_id_ok(ticket)) || (counter && counter[0] && !s_id_ok(counter))) {
        hb_errf(err, errlen, "ticket and counter must be ids when given");
        return HB_EINVAL;
    }
    if (ticket && ticket[0] && !hb_hall_state_ticket_any(e->state, ticket)) {
        hb_errf(err, errlen, "no ticket '%s' in the hall today", ticket);
        return HB_ENOTFOUND;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    if (rc != 0)
        return rc;
    Hallbus__SatisfactionScored ss = HALLBUS__SATISFACTION_SCORED__INIT;
    ss.ticket = (char *)(ticket ? ticket : "");
    ss.counter = (char *)(counter ? counter : "");
    ss.score = score;
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_SATISFACTION_SCORED;
    env.satisfaction_scored = &ss;
    return s_commit1(e, &env, err, errlen);
}

int engine_device_status(engine_t *e, const char *device, int kind, int state,
                         const char *detail, char *err, size_t errlen)
{
    if (!s_id_ok(device)) {
        hb_errf(err, errlen, "device id '%.64s' must be 1 to %d letters, digits, '-', '_' or '.'",
                device ? device : "", HB_ID_MAX);
        return HB_EINVAL;
    }
    if (kind < HALLBUS__DEVICE_KIND__DEVICE_KIND_KIOSK ||
        kind > HALLBUS__DEVICE_KIND__DEVICE_KIND_COUNTER_TERMINAL) {
        hb_errf(err, errlen, "kind must be one of kiosk, self_service, display, counter_terminal");
        return HB_EINVAL;
    }
    if (state < HALLBUS__DEVICE_STATE__DEVICE_STATE_OK ||
        state > HALLBUS__DEVICE_STATE__DEVICE_STATE_OFFLINE) {
        hb_errf(err, errlen, "state must be one of ok, fault, paper_out, offline");
        return HB_EINVAL;
    }
    if (!s_text_ok(detail, HB_TEXT_MAX)) {
        hb_errf(err, errlen, "detail is longer than %d bytes", HB_TEXT_MAX);
        return HB_EINVAL;
    }
    const hb_hs_device_t *d = hb_hall_state_device(e->state, device);
    if (!d && e->state->n_devices >= HB_HS_DEVICES_MAX) {
        hb_errf(err, errlen, "the hall has %d devices already", HB_HS_DEVICES_MAX);
        return HB_ETOOBIG;
    }
    int64_t now = hb_now_ms();
    int rc = s_ensure_day(e, now, err, errlen);
    if (rc != 0)
        return rc;
    Hallbus__DeviceStatus ds = HALLBUS__DEVICE_STATUS__INIT;
    ds.device = (char *)device;
    ds.kind = kind;
    ds.state = state;
    ds.detail = (char *)(detail ? detail : "");
    Hallbus__Envelope env;
    s_env_init(&env, now);
    env.body_case = HALLBUS__ENVELOPE__BODY_DEVICE_STATUS;
    env.device_status = &ds;
    return s_commit1(e, &env, err, errlen);
}

int engine_append_external(engine_t *e, Hallbus__Envelope **envs, size_t n, uint64_t *first_seq,
                           char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        switch (envs[i]->body_case) {
        case HALLBUS__ENVELOPE__BODY_DAY_STARTED:
        case HALLBUS__ENVELOPE__BODY_POLICY_APPLIED:
        case HALLBUS__ENVELOPE__BODY_CALENDAR_APPLIED:
            hb_errf(err, errlen, "event %zu: %s is written by branchd itself, not posted", i,
                    hb_event_type_name(envs[i]));
            return HB_EINVAL;
        default:
            break;
        }
    }
    int rc = s_ensure_day(e, hb_now_ms(), err, errlen);
    if (rc != 0)
        return rc;
    return s_commit(e, envs, n, first_seq, err, errlen);
}

int engine_record_applied(engine_t *e, bool calendar, uint64_t version, const outbox_record_t *rec,
                          char *err, size_t errlen)
{
    int64_t now = hb_now_ms();
    Hallbus__PolicyApplied pa = HALLBUS__POLICY_APPLIED__INIT;
    Hallbus__CalendarApplied ca = HALLBUS__CALENDAR_APPLIED__INIT;
    Hallbus__Envelope env, *envp = &env;
    s_env_init(&env, now);
    if (calendar) {
        ca.version = version;
        env.body_case = HALLBUS__ENVELOPE__BODY_CALENDAR_APPLIED;
        env.calendar_applied = &ca;
    } else {
        pa.version = version;
        env.body_case = HALLBUS__ENVELOPE__BODY_POLICY_APPLIED;
        env.policy_applied = &pa;
    }
    int rc = outbox_append_with(e->outbox, &envp, 1, rec, 1, NULL);
    if (rc != 0) {
        hb_errf(err, errlen, "the outbox could not store version %" PRIu64 " (%s)", version,
                hb_strerror(rc));
        return rc;
    }
    hb_hall_state_apply(e->state, &env);
    if (e->on_append)
        e->on_append(e->arg);
    return 0;
}

/* ------------------------------------------------------------ config ---- */

int engine_parse_services(const char *text, engine_config_t *cfg, char *err, size_t errlen)
{
    cfg->n_services = 0;
    const char *p = text ? text : "";
    for (int entry = 1; *p; entry++) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char buf[256];
        if (len >= sizeof buf) {
            hb_errf(err, errlen, "services entry %d is longer than %zu bytes", entry, sizeof buf - 1);
            return HB_EINVAL;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = end ? end + 1 : p + len;
        char *s = buf;
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            continue;
        char *fields[4] = {0};
        int nf = 0;
        fields[nf++] = s;
        for (char *q = s; *q && nf < 4; q++)
            if (*q == ':') {
                *q = '\0';
                fields[nf++] = q + 1;
            }
        if (nf != 4) {
            hb_errf(err, errlen, "services entry %d ('%.40s') must be CODE:PREFIX:SLA:Name, "
                                 "e.g. A:A:10m:Cash and deposits",
                    entry, s);
            return HB_EINVAL;
        }
        for (int i = 0; i < 3; i++) { /* trim */
            char *f = fields[i];
            while (*f == ' ')
                f++;
            char *z = f + strlen(f);
            while (z > f && z[-1] == ' ')
                *--z = '\0';
            fields[i] = f;
        }
        while (*fields[3] == ' ')
            fields[3]++;
        if (cfg->n_services >= HB_HS_SERVICES_MAX) {
            hb_errf(err, errlen, "at most %d services", HB_HS_SERVICES_MAX);
            return HB_EINVAL;
        }
        engine_service_t *svc = &cfg->services[cfg->n_services];
        if (!s_id_ok(fields[0])) {
            hb_errf(err, errlen, "services entry %d: code '%.64s' must be 1 to %d letters, digits, "
                                 "'-', '_' or '.'",
                    entry, fields[0], HB_ID_MAX);
            return HB_EINVAL;
        }
        size_t plen = strlen(fields[1]);
        bool prefix_ok = plen >= 1 && plen < ENGINE_PREFIX_MAX;
        for (size_t i = 0; i < plen; i++)
            prefix_ok = prefix_ok && isalnum((unsigned char)fields[1][i]);
        if (!prefix_ok) {
            hb_errf(err, errlen, "services entry %d: prefix '%.16s' must be 1 to %d letters or "
                                 "digits",
                    entry, fields[1], ENGINE_PREFIX_MAX - 1);
            return HB_EINVAL;
        }
        int64_t sla_ms = 0;
        if (hb_duration_parse(fields[2], &sla_ms) != 0 || sla_ms < 60000 || sla_ms > 86400000) {
            hb_errf(err, errlen, "services entry %d: SLA '%.16s' must be a duration from 1m to 24h "
                                 "(e.g. 10m)",
                    entry, fields[2]);
            return HB_EINVAL;
        }
        size_t nlen = strlen(fields[3]);
        while (nlen > 0 && (fields[3][nlen - 1] == ' ' || fields[3][nlen - 1] == '\n'))
            fields[3][--nlen] = '\0';
        if (nlen == 0 || nlen >= ENGINE_SERVICE_NAME_MAX) {
            hb_errf(err, errlen, "services entry %d: the name must be 1 to %d bytes", entry,
                    ENGINE_SERVICE_NAME_MAX - 1);
            return HB_EINVAL;
        }
        for (size_t i = 0; i < cfg->n_services; i++) {
            if (strcmp(cfg->services[i].code, fields[0]) == 0) {
                hb_errf(err, errlen, "services entry %d: code %s is given twice", entry, fields[0]);
                return HB_EINVAL;
            }
            if (strcmp(cfg->services[i].prefix, fields[1]) == 0) {
                hb_errf(err, errlen, "services entry %d: prefix %s is used by service %s already",
                        entry, fields[1], cfg->services[i].code);
                return HB_EINVAL;
            }
        }
        snprintf(svc->code, sizeof svc->code, "%s", fields[0]);
        snprintf(svc->prefix, sizeof svc->prefix, "%s", fields[1]);
        snprintf(svc->name, sizeof svc->name, "%s", fields[3]);
        svc->sla_s = sla_ms / 1000;
        cfg->n_services++;
    }
    if (cfg->n_services == 0) {
        hb_errf(err, errlen, "services must name at least one service (CODE:PREFIX:SLA:Name)");
        return HB_EINVAL;
    }
    return 0;
}
