/* The hall engine: the hall's own queue and service system. Every action
 * (a ticket taken, a counter calling, a complaint escalated) is decided here
 * against the hall's live state and its policy, written to the outbox as
 * events in one synced LMDB transaction, and only then applied to the live
 * state through the shared reducer (hallstate.h); in a group (below) the
 * events are applied at once and stored by the group's one commit, which
 * nothing outside the engine hears of before it is durable and whose
 * refusal puts the state back. The state is therefore a function of the
 * outbox: after any crash, the last snapshot plus the events
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
#include "hallbus/day.h"
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
                engine_appended_fn on_append, void *arg, engine_t **out, char *err, size_t errlen);
/* Writes a final snapshot and frees `*e`. */
void engine_close(engine_t **e);

/* ---- group commit (issue 17; docs/OPERATIONS.md, "branchd: where a
 * ticket's ... go")
 *
 * Between engine_group_begin and engine_group_end every action is decided
 * as always against the live state and applied to it at once, so that the
 * next action sees it (the next ticket number, a ticket called already),
 * but its events are only staged in the outbox (outbox_stage), not stored.
 * engine_group_commit stores every staged event in one synced transaction
 * and only then tells on_append (the uplink, the pages' stream); `done`
 * hears the outcome: 0, or the refusal every action of the group gets
 * (HB_ENOSPC, HB_EDB; `err` says it as a lone action's refusal would).
 * A refused group leaves no trace: the state is rebuilt from the outbox
 * (the snapshot and the events stored), as it was before the group.
 *
 * Anything done outside a group (an action, the tick, a document applied,
 * events posted, engine_close) commits the staged events first, so the
 * journal holds the decisions in the order they were made. A full stage
 * (outbox.h's bounds) is committed in the middle of a group the same way.
 * Reading the state while events are staged shows them: callers answer
 * nobody from it before the commit. */
typedef void (*engine_group_fn)(void *arg, int rc, const char *err);
void engine_set_group_done(engine_t *e, engine_group_fn done, void *arg);
void engine_group_begin(engine_t *e);
void engine_group_end(engine_t *e);
/* 0 when nothing was staged (`done` is not called then). */
int engine_group_commit(engine_t *e);
/* Events staged now (their bytes in `*bytes`, may be NULL). */
size_t engine_group_staged(const engine_t *e, size_t *bytes);

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
    bool divert; /* waiting for the service above the diversion threshold */
    uint32_t waiting;
    int64_t threshold;
} engine_advice_t;

typedef struct engine_ticket_answer {
    char ticket[HB_HS_ID];
    uint32_t position; /* 1 = next of its service */
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

/* The name of the last action's refusal when it has one of its own (issue
 * 13: "last_counter", "already_rated", "nothing_to_rate"), else NULL: the
 * API answers it as the refusal's `error`. Valid until the next action. */
const char *engine_refusal(const engine_t *e);
/* Forgets it: each request starts without one (api/guard.c), so that a
 * refusal the API makes itself never borrows an earlier action's name. */
void engine_refusal_clear(engine_t *e);

/* Pauses `counter`. The last open (not paused) counter of a service that
 * someone waits for is not paused (HB_ECONFLICT, "last_counter") unless
 * `override` (the duty manager's decision, which the caller checked). */
int engine_counter_pause_ex(engine_t *e, const char *counter, const char *reason, bool override,
                            char *err, size_t errlen);
/* Opens `counter` as engine_counter_open, `elderly` marking it for elderly
 * and disabled customers (queue.h). */
int engine_counter_open_ex(engine_t *e, const char *counter, const char *staff,
                           const char *const *services, size_t n_services, bool elderly, char *err,
                           size_t errlen);

#define ENGINE_REASONS_MAX 8
/* The reasons a score may give, for the evaluator (NULL-terminated). */
extern const char *const engine_rating_reasons[];
/* How long after a completion the evaluator may score it. */
#define ENGINE_RATING_WINDOW_MS (10 * 60 * 1000)
/* A customer's score as engine_feedback, with 0 to ENGINE_REASONS_MAX
 * `reasons` from engine_rating_reasons. With `last_at_counter` and no
 * ticket, the ticket is the one last completed at `counter` within the
 * window ("nothing_to_rate" otherwise). A ticket scored once is refused
 * ("already_rated"). The ticket scored is copied to `rated` (HB_HS_ID). */
int engine_feedback_ex(engine_t *e, const char *ticket, const char *counter, uint32_t score,
                       const char *const *reasons, size_t n_reasons, bool last_at_counter,
                       char *rated, char *err, size_t errlen);
/* The ticket the evaluator of `counter` may score now, in `ticket`
 * (HB_HS_ID; "" when none), with when it was completed and whether it was
 * scored already. HB_ENOTFOUND for an unknown counter. */
int engine_rating_due(const engine_t *e, const char *counter, int64_t now_ms, char *ticket,
                      int64_t *completed_ms, bool *rated);
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
                          const char *ticket, const char *text, char *id, char *err, size_t errlen);
int engine_complaint_ack(engine_t *e, const char *id, const char *by, char *err, size_t errlen);
/* Escalates by hand one level above the current one, or to `level` when
 * not 0 (it must be above the current one). */
int engine_complaint_escalate(engine_t *e, const char *id, int level, const char *reason, char *err,
                              size_t errlen);
int engine_complaint_resolve(engine_t *e, const char *id, const char *resolution, bool satisfied,
                             char *err, size_t errlen);

int engine_feedback(engine_t *e, const char *ticket, const char *counter, uint32_t score, char *err,
                    size_t errlen);
int engine_device_status(engine_t *e, const char *device, int kind, int state, const char *detail,
                         char *err, size_t errlen);

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

/* ---- the duty manager's day (manager.c; docs/API.md "The duty manager's
 * day"). `by` is the manager's device name; lists hold ids. */

#define ENGINE_LIST_MAX 64 /* attendees, checklist items, staff on duty */
#define ENGINE_TOPICS_MAX 32
#define ENGINE_ITEM_MAX (HB_HS_ID + 8) /* "device:" and a device name */
#define ENGINE_MEETING_MAX_S 14400
#define ENGINE_CASH_MAX 1000000000000000LL /* 10^15 minor units */

/* Today's checklist: cleanliness, materials, "device:NAME" for every device
 * the hall knows (`paired` ones, from the access store, and those that
 * reported a status), fire_equipment on Mondays (the hall's local date). */
typedef struct engine_checklist {
    char date[11];
    int weekday; /* 0 Monday .. 6 Sunday */
    size_t n;
    struct {
        char item[ENGINE_ITEM_MAX];
        char device[HB_HS_ID]; /* "" for an item that is not a device */
    } items[ENGINE_LIST_MAX];
} engine_checklist_t;
void engine_checklist_today(const engine_t *e, const char *const *paired, size_t n_paired,
                            int64_t now_ms, engine_checklist_t *out);

typedef struct engine_check {
    const char *item;
    bool ok;
    const char *note; /* may be NULL */
} engine_check_t;

/* `kind` a Hallbus__MeetingKind. */
int engine_meeting(engine_t *e, int kind, uint32_t duration_s, const char *const *attendees,
                   size_t n_attendees, const char *const *topics, size_t n_topics, const char *note,
                   const char *by, char *err, size_t errlen);
/* Every item must be on today's list (engine_checklist_today with the same
 * `paired`), each at most once. */
int engine_checklist(engine_t *e, const engine_check_t *items, size_t n, const char *const *paired,
                     size_t n_paired, const char *by, char *err, size_t errlen);

typedef struct engine_opening {
    int32_t late_s;
    size_t n_failed, n_unchecked;
    char failed[ENGINE_LIST_MAX][HB_HS_ID];
    char unchecked[ENGINE_LIST_MAX][HB_HS_ID];
} engine_opening_t;
/* Opens the hall for the day: the devices that failed today's last
 * checklist or are not on it, and how late against the posted hours.
 * "opened_already" (HB_ECONFLICT) the second time in a day. */
int engine_hall_open(engine_t *e, const char *note, const char *by, const char *const *paired,
                     size_t n_paired, engine_opening_t *out, char *err, size_t errlen);

typedef struct engine_patrol {
    char patrol[HB_HS_ID];
    size_t n_on_duty, n_drawn;
    char on_duty[ENGINE_LIST_MAX][HB_HS_ID];
    char drawn[ENGINE_LIST_MAX][HB_HS_ID];
} engine_patrol_t;
/* Draws who a patrol samples of `on_duty` (n 0: the staff of the counters
 * open or paused now) by hb_patrol_draw_count, uniformly at random.
 * "nobody_on_duty" (HB_ECONFLICT) when the list is empty. */
int engine_patrol_draw(engine_t *e, const char *const *on_duty, size_t n, const char *by,
                       engine_patrol_t *out, char *err, size_t errlen);
/* The scores smile, initiative, compliance, speed, accuracy (1 to 5) of
 * `staff` in today's `patrol`: HB_ENOTFOUND no such patrol today, HB_EINVAL
 * "not_drawn", HB_ECONFLICT "scored_already". */
int engine_patrol_score(engine_t *e, const char *patrol, const char *staff,
                        const uint32_t scores[5], const char *note, const char *by, char *err,
                        size_t errlen);
int engine_work_log(engine_t *e, const char *text, const char *by, char *err, size_t errlen);
int engine_cash_handover(engine_t *e, int64_t amount, const char *currency, const char *from,
                         const char *to, bool checked, const char *note, const char *by, char *err,
                         size_t errlen);

/* The day `date` read from the outbox (day.h) into `*out` (the caller
 * destroys it). HB_ENOTFOUND when the outbox no longer holds that day's
 * start; HB_ENOMEM, HB_EDB. */
int engine_day_read(engine_t *e, const char *date, hb_day_t **out);
/* The sequence of the last event committed. */
uint64_t engine_last_seq(const engine_t *e);

/* ---- appointments (appointments.c; docs/API.md "Appointments"). Slots
 * come from the policy's "appointments"; the hall keeps its own book. */

#define ENGINE_SLOTS_MAX 192        /* slots of one service on one day */
#define ENGINE_CHECKIN_EARLY_S 3600 /* a check-in at most this long before the slot */
typedef struct engine_slot {
    int64_t start_ms, end_ms;
    uint32_t booked; /* bookings not cancelled */
} engine_slot_t;
typedef struct engine_slots {
    int64_t slot_s, capacity, no_show_after_s;
    size_t n;
    engine_slot_t slots[ENGINE_SLOTS_MAX];
} engine_slots_t;
/* The slots of `service` on local day `day` (days since the epoch).
 * HB_EINVAL (with `err`) for an unknown service or one without
 * appointments. */
int engine_appt_slots(const engine_t *e, const char *service, int32_t day, engine_slots_t *out,
                      char *err, size_t errlen);
/* Books the slot of `service` starting at `start_ms` for `staff` (NULL or
 * "" for any; the caller checked it is enrolled) through `channel` (a
 * Hallbus__BookingChannel); its 8-digit code in `code` (HB_HS_ID).
 * `request` (NULL or "" for none) is HQ's digest of a caller's idempotency
 * key: while the book holds a booking made under it, the same booking asked
 * again is answered with that booking's code and `*replayed` set, writing
 * nothing. Refusals: HB_EINVAL (service), HB_ENOTFOUND "unknown_slot",
 * HB_ECONFLICT "slot_full", "slot_past" or "idempotency_key_reused" (the key
 * made a booking of another slot, service or staff), HB_ETOOBIG (the book
 * is full). */
int engine_appt_book(engine_t *e, const char *service, int64_t start_ms, const char *staff,
                     int channel, const char *request, char *code, bool *replayed, char *err,
                     size_t errlen);
/* Checks booking `code` in: issues its appointment ticket (priority
 * appointment, `source` a Hallbus__IssueSource or 0 for the kiosk) and
 * ends the booking, in one transaction. Refusals: HB_ENOTFOUND
 * "bad_code", HB_ECONFLICT "checked_in_already", "cancelled", "no_show"
 * (later than no_show_after_s after the start), "too_early" (more than
 * ENGINE_CHECKIN_EARLY_S before it), and the issue's own (closed, full). */
int engine_appt_checkin(engine_t *e, const char *code, int source, engine_ticket_answer_t *out,
                        char *err, size_t errlen);
/* Cancels a booking not yet checked in; the same refusals but too_early. */
int engine_appt_cancel(engine_t *e, const char *code, const char *reason, char *err, size_t errlen);

/* Parses the "services" setting: entries "CODE:PREFIX:SLA:Name" separated
 * by ';' (SLA as a duration such as "10m"). HB_EINVAL with `err` naming the
 * entry. */
int engine_parse_services(const char *text, engine_config_t *cfg, char *err, size_t errlen);

#endif
