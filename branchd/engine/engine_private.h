/* What the hall engine's own files share, and nothing outside branchd/engine
 * may use (engine.h is the engine's API): the engine object, the row of an
 * action table and the runner that carries a row out, and the checks whose
 * refusals several actions word the same way.
 *
 * An action is one row of data plus the little code that is its own:
 *
 *   check   before anything else: the request's values (an id, a text's
 *           length, an enum's range) and the few bounds the action read
 *           before the day in the past;
 *   (the runner) starts a new local day if one began, then finds what the
 *           row `needs` (a live ticket, an open counter, an open complaint)
 *           in the states the row allows, refusing with one sentence per
 *           kind of object;
 *   build   the checks of the action's own against what was found, then the
 *           event's fields (the runner has made the envelope and an empty
 *           body of the row's kind);
 *   (the runner) commits: the event is judged by HQ's rules, stored in the
 *           outbox in one synced transaction, applied to the live state,
 *           and the uplink is woken;
 *   answer  after the commit only: what the caller is told.
 *
 * Any step may refuse; a refusal before the commit writes nothing (but a
 * new day's own event, when the refusal came after the day started). */
#ifndef BRANCHD_ENGINE_PRIVATE_H
#define BRANCHD_ENGINE_PRIVATE_H

#include "engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine {
    outbox_t *outbox;
    engine_config_t cfg;
    hb_policy_t *policy;
    hb_hall_state_t *state;
    engine_appended_fn on_append;
    void *arg;
    uint64_t snapshot_seq;    /* the newest snapshot written */
    int64_t snapshot_mono_ms; /* when */
};

/* A set of ticket or counter states (hb_ticket_state_t, hb_counter_state_t)
 * an action accepts. */
#define ENGINE_ST(x) (1u << (x))

typedef enum engine_needs {
    ENGINE_NEEDS_NOTHING,   /* or the builder finds what it needs itself */
    ENGINE_NEEDS_TICKET,    /* a live ticket named by the key, in `states` */
    ENGINE_NEEDS_COUNTER,   /* an open counter named by the key, in `states` */
    ENGINE_NEEDS_COMPLAINT, /* a complaint not yet resolved, named by the key */
} engine_needs_t;

/* Room for the body of any event the engine writes. */
typedef union engine_body {
    Hallbus__TicketIssued ticket_issued;
    Hallbus__TicketCalled ticket_called;
    Hallbus__TicketRecalled ticket_recalled;
    Hallbus__ServiceStarted service_started;
    Hallbus__ServiceCompleted service_completed;
    Hallbus__TicketNoShow ticket_no_show;
    Hallbus__TicketTransferred ticket_transferred;
    Hallbus__TicketCancelled ticket_cancelled;
    Hallbus__CounterOpened counter_opened;
    Hallbus__CounterPaused counter_paused;
    Hallbus__CounterResumed counter_resumed;
    Hallbus__CounterClosed counter_closed;
    Hallbus__ComplaintOpened complaint_opened;
    Hallbus__ComplaintAcknowledged complaint_acknowledged;
    Hallbus__ComplaintEscalated complaint_escalated;
    Hallbus__ComplaintResolved complaint_resolved;
    Hallbus__SatisfactionScored satisfaction_scored;
    Hallbus__DeviceStatus device_status;
    Hallbus__DayStarted day_started;
    Hallbus__PolicyApplied policy_applied;
    Hallbus__CalendarApplied calendar_applied;
} engine_body_t;

typedef struct engine_action engine_action_t;

/* One request while the runner carries it out. Lives on the runner's stack:
 * nothing here outlives the call. */
typedef struct engine_request {
    engine_t *e;
    const engine_action_t *action;
    int64_t now;     /* the moment of the action: its day and its event's time */
    const char *key; /* the ticket, counter, complaint or device named, or NULL */
    void *args;      /* the action's other arguments: its file's own struct */
    /* What the runner found, by the row's `needs` (NULL otherwise). They
     * point into the live state: read them before the commit only. */
    const hb_hs_ticket_t *ticket;
    const hb_hs_counter_t *counter;
    const hb_hs_complaint_t *complaint;
    /* Copies of what was found, for the event's fields: the reducer changes
     * the arrays the objects above live in while it reads the event. A
     * ticket gives ticket_id, counter_id (its counter or "") and service; a
     * counter gives counter_id, ticket_id (its ticket or "") and staff; a
     * complaint gives complaint_id. Builders may fill them too. */
    char ticket_id[HB_HS_ID], counter_id[HB_HS_ID], service[HB_HS_ID], staff[HB_HS_ID];
    char complaint_id[HB_HS_ID];
    Hallbus__Envelope env; /* its body is `body`, of the row's kind */
    engine_body_t body;
    char *err; /* where a refusal says why (hb_errf) */
    size_t errlen;
} engine_request_t;

/* A step of an action: 0, or a refusal (HB_E*) said in r->err. */
typedef int (*engine_step_fn)(engine_request_t *r);

/* One row of an action table. */
struct engine_action {
    const char *name;                 /* as the API calls it: "recall", "counter pause" */
    Hallbus__Envelope__BodyCase kind; /* the event it writes */
    engine_needs_t needs;
    unsigned states;         /* ENGINE_ST()s accepted, for a ticket or a counter */
    const char *wrong_state; /* the refusal's last words when not in `states` */
    const char *key_id;      /* when set, the key must be an id; the refusal names it so */
    engine_step_fn check;    /* may be NULL */
    engine_step_fn build;    /* may be NULL when the body needs no field */
    void (*answer)(engine_request_t *r); /* may be NULL */
};

/* Carries out `a` now (hb_now_ms), or at `now`. Returns 0 or the first
 * refusal (HB_E*, with `err`). `key` and `args` are only read during the
 * call. */
int engine__run(engine_t *e, const engine_action_t *a, const char *key, void *args, char *err,
                size_t errlen);
int engine__run_at(engine_t *e, const engine_action_t *a, int64_t now, const char *key, void *args,
                   char *err, size_t errlen);

/* Makes `env` an envelope at `now` whose body is `body`, emptied to be a
 * `kind`; returns the body. A builder that decides to write another kind
 * than its row's calls it again (recall past its limit is a no-show). */
void *engine__envelope(Hallbus__Envelope *env, engine_body_t *body,
                       Hallbus__Envelope__BodyCase kind, int64_t now);

/* Finds a live ticket named `id` in one of `states` (else a refusal ending
 * in `what`), with its copies in `r`: what NEEDS_TICKET does, for a builder
 * that must look only after a check of its own. */
int engine__find_ticket(engine_request_t *r, const char *id, unsigned states, const char *what);

/* ---- checks and refusals worded the same wherever they apply */

/* 1 to HB_ID_MAX letters, digits, '-', '_' or '.'. */
bool engine__id_ok(const char *id);
/* NULL or at most HB_TEXT_MAX bytes, else "<name> is longer than ...". */
int engine__text_ok(const char *name, const char *text, char *err, size_t errlen);
/* "unknown service 'X'; this hall serves A, B, C" (HB_EINVAL). */
int engine__unknown_service(const engine_t *e, const char *code, char *err, size_t errlen);
/* No live ticket `id`: HB_ECONFLICT when it finished today, else HB_ENOTFOUND. */
int engine__ticket_not_found(const engine_t *e, const char *id, char *err, size_t errlen);

/* Escalates the complaints whose deadline passed (complaints.c), from the
 * engine's tick. */
void engine__check_deadlines(engine_t *e, int64_t now);

#endif
