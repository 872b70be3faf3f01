/* What the hall engine's own files share, and nothing outside branchd/engine
 * may use (engine.h is the engine's API): the engine object, the action
 * table and the runner that carries out one of its rows, and the checks
 * whose refusals several actions word the same way.
 *
 * An action is a row of data in the table (actions.c) plus the few steps
 * that are its own, kept in the file of its subject (tickets.c, counters.c,
 * complaints.c, devices.c). The runner (engine.c) carries a request out:
 *
 *   check   (the action's) the request's values: an id, a text's length,
 *           an enum's range, and the few bounds the action reads first;
 *   day     a new local day starts first, with its own event;
 *   find    what the row `needs` (a live ticket, an open counter, an open
 *           complaint) in the states the row allows, refused with one
 *           sentence per kind of object for every action;
 *   build   (the action's) its own checks against what was found, then the
 *           event's fields: the runner made the envelope and an empty body
 *           of the row's kind;
 *   commit  the event judged by HQ's rules, stored in the outbox in one
 *           synced transaction, applied to the live state; the uplink woken
 *           (in a group, engine.h: staged and applied; the group's commit
 *           stores it and wakes the uplink);
 *   answer  (the action's) after the commit only: what the caller is told.
 *
 * Any step may refuse; a refusal writes nothing, except that a refusal
 * after the day step leaves the new day's own event written. */
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
    /* The name of the last refusal when an action gave it one of its own
     * ("last_counter", "already_rated"), else NULL: engine_refusal(). */
    const char *refusal;
    uint64_t snapshot_seq;    /* the newest snapshot written */
    int64_t snapshot_mono_ms; /* when */
    /* Group commit (engine.h): actions are staged while `grouping`; `done`
     * hears each staged group's commit. `stale`: a refused group's state
     * could not be rebuilt yet (the next call tries again). */
    bool grouping, stale;
    size_t staged; /* events staged since the last group commit */
    engine_group_fn group_done;
    void *group_arg;
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
    Hallbus__MeetingHeld meeting_held;
    Hallbus__ChecklistDone checklist_done;
    Hallbus__HallOpened hall_opened;
    Hallbus__PatrolDrawn patrol_drawn;
    Hallbus__PatrolScored patrol_scored;
    Hallbus__WorkLogged work_logged;
    Hallbus__CashHandedOver cash_handed_over;
    Hallbus__AppointmentBooked appointment_booked;
    Hallbus__AppointmentCheckedIn appointment_checked_in;
    Hallbus__AppointmentNoShow appointment_no_show;
    Hallbus__AppointmentCancelled appointment_cancelled;
} engine_body_t;

typedef struct engine_action engine_action_t;

/* One request while the runner carries it out. Lives on the runner's stack:
 * nothing here outlives the call. */
typedef struct engine_request {
    engine_t *e;
    const engine_action_t *action;
    int64_t now;     /* the moment of the action: its day and its event's time */
    const char *key; /* the ticket, counter, complaint or device named, or NULL */
    void *args;      /* the action's other arguments: its file's own struct, or
                      * for cancel and pause the reason alone */
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
    /* A second event written in the same transaction, when a builder sets
     * `two` (an appointment's check-in: the ticket and the booking's end). */
    bool two;
    Hallbus__Envelope env2;
    engine_body_t body2;
    char *err; /* where a refusal says why (engine__refuse) */
    size_t errlen;
} engine_request_t;

/* The steps that are an action's own; any may be NULL. check and build
 * return 0 or a refusal (HB_E*, said with engine__refuse). */
typedef struct engine_steps {
    int (*check)(engine_request_t *r);
    int (*build)(engine_request_t *r);
    void (*answer)(engine_request_t *r);
} engine_steps_t;

/* One row of the action table. */
struct engine_action {
    const char *name;                 /* as the API calls it: "recall", "counter pause" */
    Hallbus__Envelope__BodyCase kind; /* the event it writes */
    engine_needs_t needs;
    unsigned states;             /* ENGINE_ST()s accepted, for a ticket or a counter */
    const char *wrong_state;     /* the refusal's last words when not in `states` */
    const char *key_id;          /* not "": the key must be an id; the refusal names it so */
    const engine_steps_t *steps; /* in the file of its subject */
};

typedef enum engine_action_id {
    ENGINE_ISSUE,
    ENGINE_CALL,
    ENGINE_RECALL,
    ENGINE_NO_SHOW,
    ENGINE_TRANSFER,
    ENGINE_CANCEL,
    ENGINE_COUNTER_OPEN,
    ENGINE_COUNTER_PAUSE,
    ENGINE_COUNTER_RESUME,
    ENGINE_COUNTER_CLOSE,
    ENGINE_START,
    ENGINE_COMPLETE,
    ENGINE_COMPLAINT_OPEN,
    ENGINE_COMPLAINT_ACK,
    ENGINE_COMPLAINT_ESCALATE,
    ENGINE_COMPLAINT_OVERDUE, /* a deadline passed: the tick escalates */
    ENGINE_COMPLAINT_RESOLVE,
    ENGINE_FEEDBACK,
    ENGINE_DEVICE_STATUS,
    ENGINE_MEETING, /* the duty manager's day (manager.c) */
    ENGINE_CHECKLIST,
    ENGINE_HALL_OPEN,
    ENGINE_PATROL_DRAW,
    ENGINE_PATROL_SCORE,
    ENGINE_WORK_LOG,
    ENGINE_CASH,
    ENGINE_APPT_BOOK, /* appointments (appointments.c; the check-in is tickets.c's) */
    ENGINE_APPT_CHECKIN,
    ENGINE_APPT_CANCEL,
    ENGINE_APPT_NO_SHOW,
    ENGINE_ACTIONS
} engine_action_id_t;

/* The action table (actions.c), by engine_action_id_t. */
extern const engine_action_t engine__actions[ENGINE_ACTIONS];

/* Each action's own steps, in the file of its subject. */
/* tickets.c */
extern const engine_steps_t engine__issue_steps;
extern const engine_steps_t engine__call_steps;
extern const engine_steps_t engine__recall_steps;
extern const engine_steps_t engine__no_show_steps;
extern const engine_steps_t engine__transfer_steps;
extern const engine_steps_t engine__cancel_steps;
/* counters.c */
extern const engine_steps_t engine__counter_open_steps;
extern const engine_steps_t engine__counter_pause_steps;
extern const engine_steps_t engine__counter_resume_steps;
extern const engine_steps_t engine__counter_close_steps;
extern const engine_steps_t engine__start_steps;
extern const engine_steps_t engine__complete_steps;
/* complaints.c */
extern const engine_steps_t engine__complaint_open_steps;
extern const engine_steps_t engine__complaint_ack_steps;
extern const engine_steps_t engine__complaint_escalate_steps;
extern const engine_steps_t engine__complaint_overdue_steps;
extern const engine_steps_t engine__complaint_resolve_steps;
/* devices.c */
extern const engine_steps_t engine__feedback_steps;
extern const engine_steps_t engine__device_status_steps;
/* appointments.c, and the check-in in tickets.c */
extern const engine_steps_t engine__appt_book_steps;
extern const engine_steps_t engine__appt_checkin_steps;
extern const engine_steps_t engine__appt_cancel_steps;
extern const engine_steps_t engine__appt_no_show_steps;
/* The booking `code` may be checked in at r->now: 0 with `*out` (pointing
 * into the live state: read it before the commit), or the refusal
 * (bad_code, checked_in_already, cancelled, no_show, too_early). */
int engine__appt_checkin_check(engine_request_t *r, const char *code,
                               const hb_hs_appointment_t **out);
/* Marks the bookings past their no-show time (the tick). */
void engine__check_appointments(engine_t *e, int64_t now);
/* manager.c */
extern const engine_steps_t engine__meeting_steps;
extern const engine_steps_t engine__checklist_steps;
extern const engine_steps_t engine__hall_open_steps;
extern const engine_steps_t engine__patrol_draw_steps;
extern const engine_steps_t engine__patrol_score_steps;
extern const engine_steps_t engine__work_log_steps;
extern const engine_steps_t engine__cash_steps;

/* Carries out action `id` now (hb_now_ms), or at `now`. Returns 0 or the
 * first refusal (HB_E*, with `err`). `key` and `args` are only read during
 * the call. */
int engine__run(engine_t *e, engine_action_id_t id, const char *key, void *args, char *err,
                size_t errlen);
int engine__run_at(engine_t *e, engine_action_id_t id, int64_t now, const char *key, void *args,
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

/* As engine__refuse, naming the refusal for the API ("last_counter"):
 * engine_refusal() answers `name` until the next action. */
int engine__refuse_as(engine_request_t *r, int code, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Says why in r->err and returns `code`: `return engine__refuse(r, ...)`. */
int engine__refuse(engine_request_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 to HB_ID_MAX letters, digits, '-', '_' or '.'. */
bool engine__id_ok(const char *id);
/* `v` is one of the enum's values, "unspecified" (0) not counted: the
 * .proto is the one list of them. */
bool engine__enum_known(const ProtobufCEnumDescriptor *ed, int v);
/* The same, else false with the refusal "<name> must be one of <the values>"
 * in r->err (HB_EINVAL is the action's answer). */
bool engine__enum_ok(engine_request_t *r, const char *name, const ProtobufCEnumDescriptor *ed,
                     int v);
/* NULL or at most HB_TEXT_MAX bytes, else "<name> is longer than ...". */
int engine__text_ok(engine_request_t *r, const char *name, const char *text);
/* An optional text for an event's string field: "" when none was given. */
static inline char *engine__text(const char *text) { return (char *)(text ? text : ""); }
/* The check step of an action whose args are a reason (cancel, pause). */
int engine__reason_check(engine_request_t *r);
/* "unknown service 'X'; this hall serves A, B, C" (HB_EINVAL). */
int engine__unknown_service(engine_request_t *r, const char *code);
/* No live ticket `id`: HB_ECONFLICT when it finished today, else HB_ENOTFOUND. */
int engine__ticket_not_found(engine_request_t *r, const char *id);

/* Escalates the complaints whose deadline passed (complaints.c), from the
 * engine's tick. */
void engine__check_deadlines(engine_t *e, int64_t now);

#endif
