/* The hall engine's commit path and what every action shares (engine.h is
 * the engine's API, engine_private.h says how an action runs). Each action
 * is a row of the action table (actions.c) that the runner here carries
 * out:
 *
 *   1. the action's check of the request, refusing with a reason;
 *   2. a new local day first (its own DayStarted event);
 *   3. what the row needs (a ticket, a counter, a complaint) looked up in
 *      the live state, refused with the same sentence for every action;
 *   4. the action's builder: its own checks, then the event's fields;
 *   5. s_commit: append the event to the outbox (one synced transaction),
 *      then apply it to the live state with the shared reducer; in a group
 *      (engine.h), stage it in the outbox and apply it, the group's commit
 *      storing it later.
 *
 * The state is only ever changed by the reducer from committed events, or
 * from staged ones whose group is rolled back (the state rebuilt from the
 * outbox) when its commit fails, so it cannot disagree with the journal. Snapshots of the state are a cache:
 * written every so often (and at close) as a record of the outbox, with the
 * outbox told to keep every event after the snapshot, so that a restart
 * costs the snapshot plus a few minutes of events. This file does not
 * decide any action: what may happen to a ticket, a counter or a complaint
 * is said in its subject's file. */
#include "engine_private.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/eventrules.h"
#include "hallbus/figures.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_KEY "state"

/* ------------------------------------------------------ shared checks ---- */

bool engine__id_ok(const char *id) { return id && hb_id_chars_ok(id, HB_ID_MAX, "."); }

int engine__refuse(engine_request_t *r, int code, const char *fmt, ...)
{
    if (r->err && r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int engine__refuse_as(engine_request_t *r, int code, const char *name, const char *fmt, ...)
{
    if (r->err && r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    r->e->refusal = name;
    return code;
}

const char *engine_refusal(const engine_t *e) { return e->refusal; }

void engine_refusal_clear(engine_t *e) { e->refusal = NULL; }

bool engine__enum_known(const ProtobufCEnumDescriptor *ed, int v)
{
    return v != 0 && protobuf_c_enum_descriptor_get_value(ed, v) != NULL;
}

bool engine__enum_ok(engine_request_t *r, const char *name, const ProtobufCEnumDescriptor *ed,
                     int v)
{
    if (engine__enum_known(ed, v))
        return true;
    char list[512] = "", value[64];
    size_t used = 0;
    for (unsigned i = 0; i < ed->n_values; i++) {
        if (!engine__enum_known(ed, ed->values[i].value) ||
            !hb_enum_name(ed, ed->values[i].value, value, sizeof value))
            continue;
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", value);
        if (w > 0 && (size_t)w < sizeof list - used)
            used += (size_t)w;
    }
    engine__refuse(r, HB_EINVAL, "%s must be one of %s", name, list);
    return false;
}

int engine__text_ok(engine_request_t *r, const char *name, const char *text)
{
    if (!text || strlen(text) <= HB_TEXT_MAX)
        return 0;
    return engine__refuse(r, HB_EINVAL, "%s is longer than %d bytes", name, HB_TEXT_MAX);
}

int engine__reason_check(engine_request_t *r) { return engine__text_ok(r, "reason", r->args); }

int engine__ticket_not_found(engine_request_t *r, const char *id)
{
    const hb_hs_ticket_t *t = hb_hall_state_ticket_any(r->e->state, id);
    if (t)
        return engine__refuse(r, HB_ECONFLICT, "ticket %s is %s already", t->id,
                              hb_ticket_state_name(t->state));
    return engine__refuse(r, HB_ENOTFOUND, "no ticket '%.64s' in the hall today", id ? id : "");
}

/* ------------------------------------------------------------- commit ---- */

void *engine__envelope(Hallbus__Envelope *env, engine_body_t *body,
                       Hallbus__Envelope__BodyCase kind, int64_t now)
{
    /* The body's type comes from the Envelope's own descriptor (the .proto
     * is the one table of event kinds), as the codec does. */
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(&hallbus__envelope__descriptor, (unsigned)kind);
    assert(fd && fd->type == PROTOBUF_C_TYPE_MESSAGE);
    const ProtobufCMessageDescriptor *md = fd->descriptor;
    assert(md->sizeof_message <= sizeof *body);
    hallbus__envelope__init(env);
    env->at_ms = now;
    protobuf_c_message_init(md, body);
    env->body_case = kind;
    *(ProtobufCMessage **)((char *)env + fd->offset) = (ProtobufCMessage *)body;
    return body;
}

/* The refusal of a store that failed with `rc`, as every action words it:
 * the code the caller answers with. */
static int s_store_refusal(int rc, char *err, size_t errlen)
{
    if (rc == HB_ENOSPC || rc == HB_EMAPFULL) {
        hb_errf(err, errlen,
                "the hall's disk is full: nothing was stored, and nothing can be until space "
                "is freed in the hall's data folder (head office is told); please use another "
                "channel meanwhile");
        return HB_ENOSPC;
    }
    hb_errf(err, errlen, "the outbox could not store the event (%s); nothing was changed",
            hb_strerror(rc));
    return rc;
}

static void s_apply(engine_t *e, Hallbus__Envelope **envs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int arc = hb_hall_state_apply(e->state, envs[i]);
        if (arc != 0)
            hb_log_once("engine-anomaly", HB_LOG_WARN,
                        "engine: event %" PRIu64 " (%s) did not fit the hall's state (%s)",
                        envs[i]->seq, hb_event_type_name(envs[i]), hb_strerror(arc));
    }
}

/* Appends the events (numbered and stored together) and applies them; in a
 * group, stages them and applies them. */
static int s_commit(engine_t *e, Hallbus__Envelope **envs, size_t n, uint64_t *first_seq, char *err,
                    size_t errlen)
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
    if (e->grouping) {
        int rc = outbox_stage(e->outbox, envs, n, &first);
        if (rc == HB_ETOOBIG) {
            /* The stage is full: what it holds is committed now (and
             * answered), and this action starts the next one. A refused
             * commit rebuilt the state this action was decided on, so it
             * is refused with the rest. */
            rc = engine_group_commit(e);
            if (rc != 0)
                return s_store_refusal(rc, err, errlen);
            rc = outbox_stage(e->outbox, envs, n, &first);
        }
        if (rc != 0) {
            hb_errf(err, errlen, "the event could not be staged (%s); nothing was changed",
                    hb_strerror(rc));
            return rc;
        }
        e->staged += n;
        s_apply(e, envs, n);
        if (first_seq)
            *first_seq = first;
        return 0;
    }
    int rc = outbox_append(e->outbox, envs, n, &first);
    if (rc != 0)
        return s_store_refusal(rc, err, errlen);
    s_apply(e, envs, n);
    if (first_seq)
        *first_seq = first;
    if (e->on_append)
        e->on_append(e->arg);
    return 0;
}

/* A new local day starts with its own event, before anything else of it.
 * It is not an action of the tables: every action runs it first. */
static int s_ensure_day(engine_t *e, int64_t now, char *err, size_t errlen)
{
    int32_t day = hb_tz_local_day(e->policy->tz, now);
    char date[11];
    hb_date_format(day, date);
    if (strcmp(date, e->state->today.date) == 0)
        return 0;
    Hallbus__Envelope env, *envp = &env;
    engine_body_t body;
    Hallbus__DayStarted *ds =
        engine__envelope(&env, &body, HALLBUS__ENVELOPE__BODY_DAY_STARTED, now);
    ds->date = date;
    ds->timezone = e->policy->timezone;
    ds->utc_offset_s = hb_tz_offset(e->policy->tz, now / 1000);
    int rc = s_commit(e, &envp, 1, NULL, err, errlen);
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

/* The state the outbox holds: the snapshot, if any, then every event
 * stored after it, into `*out`; the seq of the snapshot that was used in
 * `*snap_seq` (0: none, the state was rebuilt from the events kept). */
static int s_load_state(engine_t *e, hb_hall_state_t **out, uint64_t *snap_seq, char *err,
                        size_t errlen)
{
    restore_ctx_t rc_ctx = {0};
    int rc = outbox_get_record(e->outbox, SNAPSHOT_KEY, s_restore_cb, &rc_ctx);
    uint64_t last = outbox_last_seq(e->outbox), first = outbox_first_seq(e->outbox);
    if (rc == 0 && (rc_ctx.state->seq > last || rc_ctx.state->seq + 1 < first)) {
        hb_warn("engine: the snapshot at %" PRIu64 " does not fit the outbox (%" PRIu64 "..%" PRIu64
                "); rebuilding from the events",
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
    *snap_seq = rc_ctx.state->seq;
    replay_ctx_t rp = {.state = rc_ctx.state, .next = rc_ctx.state->seq + 1};
    if (rp.next < first)
        rp.next = first;
    while (rp.next <= last) {
        uint64_t before = rp.next;
        rc = outbox_read(e->outbox, rp.next, 4096, 4u << 20, s_replay_cb, &rp);
        if (rc != 0 || rp.next == before) {
            hb_errf(err, errlen, "cannot read the outbox at %" PRIu64 ": %s", before,
                    hb_strerror(rc ? rc : HB_EDB));
            hb_hall_state_destroy(&rc_ctx.state);
            return rc ? rc : HB_EDB;
        }
    }
    if (rp.applied)
        hb_info("engine: state at %" PRIu64 " (%" PRIu64 " event(s) applied after the snapshot)",
                rc_ctx.state->seq, rp.applied);
    *out = rc_ctx.state;
    return 0;
}

/* The engine's state as the outbox holds it. snapshot_seq is the stored
 * snapshot's, not the state's: the outbox may prune only what a stored
 * snapshot covers, and the events replayed after it are covered only once
 * a snapshot of the rebuilt state is written (engine_open). Counting them
 * as covered let a hall restarted after a kill -9 prune them and, killed
 * again before its next snapshot, come back without them. */
static int s_rebuild(engine_t *e, char *err, size_t errlen)
{
    return s_load_state(e, &e->state, &e->snapshot_seq, err, errlen);
}

/* ------------------------------------------------------- group commit ---- */

/* A refused group's state is put back as the outbox holds it. Until that
 * works (out of memory, a read failing) the engine is `stale` and refuses
 * every action. */
static int s_rollback(engine_t *e)
{
    char err[256];
    hb_hall_state_t *st = NULL;
    uint64_t snap_seq;
    int rc = s_load_state(e, &st, &snap_seq, err, sizeof err);
    if (rc != 0) {
        e->stale = true;
        hb_log_once("engine-rollback", HB_LOG_ERROR,
                    "engine: the state cannot be rebuilt after a refused group (%s); actions are "
                    "refused until it is",
                    err);
        return rc;
    }
    hb_hall_state_destroy(&e->state);
    e->state = st;
    e->stale = false;
    return 0;
}

void engine_set_group_done(engine_t *e, engine_group_fn done, void *arg)
{
    e->group_done = done;
    e->group_arg = arg;
}

void engine_group_begin(engine_t *e) { e->grouping = true; }
void engine_group_end(engine_t *e) { e->grouping = false; }

size_t engine_group_staged(const engine_t *e, size_t *bytes)
{
    return outbox_staged(e->outbox, bytes);
}

int engine_group_commit(engine_t *e)
{
    /* The engine's own count: with nothing staged the outbox is not asked
     * (engine_close may come after the outbox was closed, as a killed
     * process would leave it). */
    size_t n = e->staged;
    if (n == 0)
        return 0;
    e->staged = 0;
    int rc = outbox_commit_staged(e->outbox, NULL);
    char err[512] = "";
    if (rc != 0) {
        rc = s_store_refusal(rc, err, sizeof err);
        hb_debug("engine: a group of %zu event(s) refused: %s", n, err);
        e->refusal = NULL;
        s_rollback(e);
    } else if (e->on_append) {
        e->on_append(e->arg);
    }
    if (e->group_done)
        e->group_done(e->group_arg, rc, err);
    return rc;
}

/* Before anything done outside a group: the staged events are committed
 * (the journal keeps the order of the decisions), and a state left stale
 * by a refused group is rebuilt. 0, or the refusal with `err`. */
static int s_settle(engine_t *e, char *err, size_t errlen)
{
    if (e->grouping)
        return 0;
    engine_group_commit(e);
    if (e->stale && s_rollback(e) != 0) {
        hb_errf(err, errlen,
                "the hall's state cannot be read back from its outbox now; nothing "
                "was changed");
        return HB_EDB;
    }
    return 0;
}

/* ------------------------------------------------------------ life ---- */

int engine_open(outbox_t *outbox, const engine_config_t *cfg, hb_policy_t *policy,
                engine_appended_fn on_append, void *arg, engine_t **out, char *err, size_t errlen)
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
    /* The events replayed after the stored snapshot are made a snapshot
     * now; until one is written (a full disk) the outbox keeps them. */
    outbox_keep_after(outbox, e->snapshot_seq);
    s_snapshot(e);
    e->snapshot_mono_ms = hb_mono_ms();
    *out = e;
    return 0;
}

void engine_close(engine_t **ep)
{
    engine_t *e = *ep;
    if (!e)
        return;
    char err[256];
    e->grouping = false;
    if (e->state && s_settle(e, err, sizeof err) == 0)
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
    /* What was decided under the old policy is committed under it. */
    char err[256];
    s_settle(e, err, sizeof err);
    hb_policy_free(&e->policy);
    e->policy = p;
}

void engine_tick(engine_t *e)
{
    int64_t now = hb_now_ms();
    char err[256];
    if (s_settle(e, err, sizeof err) != 0)
        return;
    if (s_ensure_day(e, now, err, sizeof err) != 0)
        hb_log_once("engine-day", HB_LOG_ERROR, "engine: cannot start the day: %s", err);
    engine__check_deadlines(e, now);
    engine__check_appointments(e, now);
    if (hb_mono_ms() - e->snapshot_mono_ms >= e->cfg.snapshot_every_ms)
        s_snapshot(e);
}

/* ------------------------------------------------------------ runner ---- */

static void s_copy(char dst[HB_HS_ID], const char *src) { snprintf(dst, HB_HS_ID, "%s", src); }

int engine__find_ticket(engine_request_t *r, const char *id, unsigned states, const char *what)
{
    const hb_hs_ticket_t *t = id ? hb_hall_state_ticket(r->e->state, id) : NULL;
    if (!t)
        return engine__ticket_not_found(r, id);
    if (!(states & ENGINE_ST(t->state)))
        return engine__refuse(r, HB_ECONFLICT, "ticket %s is %s; %s", t->id,
                              hb_ticket_state_name(t->state), what);
    r->ticket = t;
    s_copy(r->ticket_id, t->id);
    s_copy(r->counter_id, t->counter);
    s_copy(r->service, t->service);
    return 0;
}

/* What the row needs, found (or refused) the same way for every action. */
static int s_find(engine_request_t *r)
{
    const engine_action_t *a = r->action;
    const char *key = r->key ? r->key : "";
    const hb_hs_counter_t *c;
    switch (a->needs) {
    case ENGINE_NEEDS_TICKET: return engine__find_ticket(r, r->key, a->states, a->wrong_state);
    case ENGINE_NEEDS_COUNTER:
        c = r->key ? hb_hall_state_counter(r->e->state, r->key) : NULL;
        if (!c || c->state == HB_COUNTER_CLOSED)
            return engine__refuse(r, HB_ECONFLICT, "counter '%.64s' is not open", key);
        if (!(a->states & ENGINE_ST(c->state)))
            return engine__refuse(r, HB_ECONFLICT, "counter %s is %s%s%s; %s", c->id,
                                  hb_counter_state_name(c->state),
                                  c->ticket[0] ? " with ticket " : "", c->ticket, a->wrong_state);
        r->counter = c;
        s_copy(r->counter_id, c->id);
        s_copy(r->ticket_id, c->ticket);
        s_copy(r->staff, c->staff);
        break;
    case ENGINE_NEEDS_COMPLAINT:
        r->complaint = r->key ? hb_hall_state_complaint(r->e->state, r->key) : NULL;
        if (!r->complaint)
            return engine__refuse(r, HB_ENOTFOUND, "no open complaint '%.64s'", key);
        s_copy(r->complaint_id, r->complaint->id);
        break;
    case ENGINE_NEEDS_NOTHING: break;
    }
    return 0;
}

int engine__run_at(engine_t *e, engine_action_id_t id, int64_t now, const char *key, void *args,
                   char *err, size_t errlen)
{
    const engine_action_t *a = &engine__actions[id];
    const engine_steps_t *steps = a->steps;
    engine_request_t r = {
        .e = e, .action = a, .now = now, .key = key, .args = args, .err = err, .errlen = errlen};
    e->refusal = NULL;
    int rc = s_settle(e, err, errlen);
    if (rc == 0 && a->key_id[0] && !engine__id_ok(key))
        rc = engine__refuse(&r, HB_EINVAL,
                            "%s id '%.64s' must be 1 to %d letters, digits, '-', '_' or '.'",
                            a->key_id, key ? key : "", HB_ID_MAX);
    if (rc == 0 && steps->check)
        rc = steps->check(&r);
    if (rc == 0)
        rc = s_ensure_day(e, now, err, errlen);
    if (rc == 0)
        rc = s_find(&r);
    if (rc == 0) {
        engine__envelope(&r.env, &r.body, a->kind, now);
        if (steps->build)
            rc = steps->build(&r);
    }
    if (rc == 0) {
        Hallbus__Envelope *envs[2] = {&r.env, &r.env2};
        rc = s_commit(e, envs, r.two ? 2 : 1, NULL, err, errlen);
    }
    if (rc != 0) {
        hb_debug("engine: %s refused: %s", a->name, err);
        return rc;
    }
    if (steps->answer)
        steps->answer(&r);
    return 0;
}

int engine__run(engine_t *e, engine_action_id_t id, const char *key, void *args, char *err,
                size_t errlen)
{
    return engine__run_at(e, id, hb_now_ms(), key, args, err, errlen);
}

/* ----------------------------------------- events the table does not write ---- */

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
        default: break;
        }
    }
    int rc = s_settle(e, err, errlen);
    if (rc == 0)
        rc = s_ensure_day(e, hb_now_ms(), err, errlen);
    if (rc != 0)
        return rc;
    return s_commit(e, envs, n, first_seq, err, errlen);
}

int engine_record_applied(engine_t *e, bool calendar, uint64_t version, const outbox_record_t *rec,
                          char *err, size_t errlen)
{
    /* The document is stored by a commit of its own (with its record),
     * which staged events must not wait behind, even inside a group. */
    engine_group_commit(e);
    int rc = s_settle(e, err, errlen);
    if (rc != 0)
        return rc;
    int64_t now = hb_now_ms();
    Hallbus__Envelope env, *envp = &env;
    engine_body_t body;
    if (calendar) {
        Hallbus__CalendarApplied *ca =
            engine__envelope(&env, &body, HALLBUS__ENVELOPE__BODY_CALENDAR_APPLIED, now);
        ca->version = version;
    } else {
        Hallbus__PolicyApplied *pa =
            engine__envelope(&env, &body, HALLBUS__ENVELOPE__BODY_POLICY_APPLIED, now);
        pa->version = version;
    }
    /* Not s_commit: the document is stored in the same transaction. */
    rc = outbox_append_with(e->outbox, &envp, 1, rec, 1, NULL);
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
