/* The hall engine: the hall's own queue and service system. Every action
 * (a ticket taken, a counter calling, a complaint escalated) is decided here
 * against the hall's live state and its policy, written to the outbox as
 * events in one synced LMDB transaction, and only then applied to the live
 * state through the shared reducer (hallstate.h). The state is therefore a
 * function of the outbox: after any crash, the last snapshot plus the events
 * after it give exactly the state the hall had, so a restart loses no
 * waiting ticket and never issues a ticket number twice in a day.
 *
 * The rules that choose the next ticket live in queue.h; opening hours and
 * deadlines come from the effective policy (policy.h). The engine runs on
 * branchd's loop thread and knows nothing of HTTP (api/hall.c) or the
 * network (the outbox's listener tells the uplink). */
#ifndef BRANCHD_ENGINE_H
#define BRANCHD_ENGINE_H

#include "outbox.h"
#include "queue.h"
#include "hallbus/hallstate.h"
#include "hallbus/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENGINE_SERVICE_NAME_MAX 96
#define ENGINE_PREFIX_MAX 8

typedef struct engine_service {
    char code[HB_HS_ID];
    char name[ENGINE_SERVICE_NAME_MAX];
    char prefix[ENGINE_PREFIX_MAX]; /* ticket numbers are prefix + 3 digits or more */
    int64_t sla_s;                  /* default longest wait, until a policy says otherwise */
} engine_service_t;

typedef struct engine_config {
    size_t n_services;
    engine_service_t services[HB_HS_SERVICES_MAX];
    queue_rules_t rules;
    uint32_t max_waiting;      /* live tickets at most; then new ones are refused */
    int64_t snapshot_every_ms; /* write a state snapshot this often when it changed */
} engine_config_t;

typedef struct engine engine_t;

/* Called after every successful append (e.g. to wake the uplink). */
typedef void (*engine_appended_fn)(void *arg);

/* Opens the engine on `outbox`: restores the newest snapshot and applies
 * the events after it. `policy` is the effective policy until
 * engine_set_policy replaces it (the engine takes ownership; NULL is not
 * allowed). Returns 0 or HB_E* (with `err`). */
int engine_open(outbox_t *outbox, const engine_config_t *cfg, hb_policy_t *policy,
                engine_appended_fn on_append, void *arg, engine_t **out, char *err,
                size_t errlen);
/* Writes a final snapshot and frees `*e`. */
void engine_close(engine_t **e);

/* Housekeeping, about once a second: a new local day, complaint deadlines
 * passed (automatic escalations), the periodic snapshot. */
void engine_tick(engine_t *e);

const hb_hall_state_t *engine_state(const engine_t *e);
const hb_policy_t *engine_policy(const engine_t *e);
const engine_config_t *engine_config(const engine_t *e);
const engine_service_t *engine_service(const engine_t *e, const char *code);
/* Replaces the effective policy (taking ownership of `p`). */
void engine_set_policy(engine_t *e, hb_policy_t *p);

/* ---- what the actions answer */

typedef struct engine_advice {
    bool divert;    /* waiting for the service above the diversion threshold */
    uint32_t waiting;
    int64_t threshold;
} engine_advice_t;

typedef struct engine_ticket_answer {
    char ticket[HB_HS_ID];
    uint32_t position;         /* 1 = next of its service */
    int64_t estimated_wait_s;
    engine_advice_t advice;
    hb_open_info_t closed; /* filled when the action was refused as closed */
} engine_ticket_answer_t;

typedef struct engine_call_answer {
    char ticket[HB_HS_ID];
    char service[HB_HS_ID];
    int rule; /* Hallbus__CallRule */
    uint32_t wait_s;
} engine_call_answer_t;

/* Every action returns 0 or a negative HB_E* code with `err` saying why:
 *   HB_EINVAL     a value out of range or unknown (an unknown service)
 *   HB_ENOTFOUND  no such ticket, counter, complaint
 *   HB_ECONFLICT  not allowed in the current state (counter not open, ...)
 *   HB_ECLOSED    the hall is closed (engine_issue fills `closed`)
 *   HB_ETOOBIG    a bound was reached (queue full)
 *   HB_ENOSPC     no room on the disk (or the map at map_max); nothing was changed
 *   HB_EDB, HB_ENOMEM  storage; nothing was changed
 * On any error nothing is written and the state is unchanged. */

int engine_issue(engine_t *e, const char *service, int priority, int source,
                 engine_ticket_answer_t *out, char *err, size_t errlen);
/* Calls the next ticket for `counter` by the queue rules, or the named
 * `ticket` (rule MANUAL) when not NULL. HB_ENOTFOUND when nobody waits. */
int engine_call(engine_t *e, const char *counter, const char *ticket, engine_call_answer_t *out,
                char *err, size_t errlen);
/* Calls a called ticket again; past the configured recalls it becomes a
 * no-show instead (`*no_show` true). */
int engine_recall(engine_t *e, const char *ticket, bool *no_show, char *err, size_t errlen);
int engine_no_show(engine_t *e, const char *ticket, char *err, size_t errlen);
int engine_transfer(engine_t *e, const char *ticket, const char *service,
                    engine_ticket_answer_t *out, char *err, size_t errlen);
int engine_cancel(engine_t *e, const char *ticket, const char *reason, char *err, size_t errlen);

int engine_counter_open(engine_t *e, const char *counter, const char *staff,
                        const char *const *services, size_t n_services, char *err, size_t errlen);
int engine_counter_pause(engine_t *e, const char *counter, const char *reason, char *err,
                         size_t errlen);
int engine_counter_resume(engine_t *e, const char *counter, char *err, size_t errlen);
int engine_counter_close(engine_t *e, const char *counter, char *err, size_t errlen);
/* The customer of the ticket called at `counter` arrived: service starts. */
int engine_start(engine_t *e, const char *counter, char *err, size_t errlen);
/* The service at `counter` ended. `business_type` is required; `outcome` an
 * Outcome value; `amount` in minor units (>= 0); `currency` may be NULL. */
int engine_complete(engine_t *e, const char *counter, const char *business_type, int outcome,
                    int64_t amount, const char *currency, char *err, size_t errlen);

/* Opens a complaint; its id ("K20261202-001") in `id` (HB_HS_ID bytes).
 * `ticket` may be NULL; when given it must be a ticket id, but need not be
 * one the hall still remembers (a complaint about last week's visit). */
int engine_complaint_open(engine_t *e, int channel, const char *category, int severity,
                          const char *ticket, const char *text, char *id, char *err,
                          size_t errlen);
int engine_complaint_ack(engine_t *e, const char *id, const char *by, char *err, size_t errlen);
/* Escalates by hand one level above the current one, or to `level` when
 * not 0 (it must be above the current one). */
int engine_complaint_escalate(engine_t *e, const char *id, int level, const char *reason,
                              char *err, size_t errlen);
int engine_complaint_resolve(engine_t *e, const char *id, const char *resolution, bool satisfied,
                             char *err, size_t errlen);

int engine_feedback(engine_t *e, const char *ticket, const char *counter, uint32_t score,
                    char *err, size_t errlen);
int engine_device_status(engine_t *e, const char *device, int kind, int state,
                         const char *detail, char *err, size_t errlen);

/* Events from another queue system (POST /v1/events), already checked by
 * the codec: stored as they are and applied to the state. Kinds that only
 * branchd itself writes (day_started, policy_applied, calendar_applied) are
 * refused with HB_EINVAL. On success `*first_seq` is the first number. */
int engine_append_external(engine_t *e, Hallbus__Envelope **envs, size_t n, uint64_t *first_seq,
                           char *err, size_t errlen);

/* Records that the hall applied a document HQ pushed: a PolicyApplied (or,
 * with `calendar`, CalendarApplied) event for `version`, written in the same
 * transaction as `rec` (the document itself), so a crash leaves the old
 * document and version or the new ones, never a mix. Replacing the policy
 * the engine runs on is the caller's next step (engine_set_policy). */
int engine_record_applied(engine_t *e, bool calendar, uint64_t version, const outbox_record_t *rec,
                          char *err, size_t errlen);

/* Whether the hall is open now, with the next opening when not. */
void engine_open_info(const engine_t *e, hb_open_info_t *out);
/* The position and estimated wait of a live ticket. */
int engine_ticket_estimate(const engine_t *e, const char *ticket, uint32_t *position,
                           int64_t *estimated_wait_s);
/* Diversion advice for a service now. */
void engine_advice(const engine_t *e, const char *service, engine_advice_t *out);

/* Parses the "services" setting: entries "CODE:PREFIX:SLA:Name" separated
 * by ';' (SLA as a duration such as "10m"). HB_EINVAL with `err` naming the
 * entry. */
int engine_parse_services(const char *text, engine_config_t *cfg, char *err, size_t errlen);

#endif
