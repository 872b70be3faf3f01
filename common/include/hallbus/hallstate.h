/* The hall-state reducer: a hall's live state as a pure function of its
 * event stream. branchd keeps its own truth with it and hqd mirrors every
 * hall with the same code, so once a stream is delivered the head office's
 * view of a hall equals the hall's own (DESIGN.md, "One reducer, two sides").
 *
 * Pure means: the state after events 1..n depends on those events only (no
 * clock, no configuration, no policy), and applying them one by one, or
 * restoring a snapshot taken after k and applying k+1..n, gives the same
 * state. Figures that need the present moment (how long the oldest ticket
 * has waited *now*) are computed from a `now_ms` argument, never stored;
 * the figures derived from the state are defined once, in figures.h. The
 * one thing read from outside the events is the system's time-zone rules,
 * for the instant the local day named by day_started began (hb_hs_day_start:
 * what decides whether an event counts in today's figures), the rules the
 * hall engine rolls its day by.
 *
 * The reducer is tolerant: events from a queue system fed through the
 * generic POST /v1/events may not fit (a call of a ticket never issued).
 * Such an event changes what it can, is counted in `anomalies`, and never
 * breaks the state. Every collection is bounded; an event that would go past
 * a bound is an anomaly too.
 *
 * Not here: the rules that decide what happens (call-next, deadlines,
 * opening hours): those are the hall engine's (branchd/engine/engine.c), which
 * records each decision as an event. */
#ifndef HALLBUS_HALLSTATE_H
#define HALLBUS_HALLSTATE_H

#include "hallbus.pb-c.h"
#include "hallbus/codec.h"
#include "hallbus/idmap.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_HS_ID (HB_ID_MAX + 1) /* an identifier and its NUL */
#define HB_HS_SERVICES_MAX 64
#define HB_HS_COUNTERS_MAX 128
#define HB_HS_COUNTER_SERVICES_MAX 16 /* services one counter serves */
#define HB_HS_TICKETS_MAX 4096        /* live tickets: waiting, called, being served */
#define HB_HS_COMPLAINTS_MAX 1024     /* complaints not yet resolved */
#define HB_HS_DEVICES_MAX 128
#define HB_HS_RECENT_MAX 16         /* finished tickets remembered (newest last) */
#define HB_HS_DURATIONS 20          /* recent service times kept per service */
#define HB_HS_DETAIL_MAX 128        /* device detail kept, bytes (longer is cut) */
#define HB_HS_APPOINTMENTS_MAX 4096 /* bookings kept: open ones and today's finished */
#define HB_HS_OPENING_MAX 16        /* devices named by today's opening check */
#define HB_HS_SNAPSHOT_FORMAT 1

typedef enum hb_ticket_state {
    HB_TICKET_WAITING = 1,
    HB_TICKET_CALLED,    /* called to a counter, customer not there yet */
    HB_TICKET_SERVING,   /* service started */
    HB_TICKET_SERVED,    /* finished: only in the recent list */
    HB_TICKET_NO_SHOW,   /* finished */
    HB_TICKET_CANCELLED, /* finished */
} hb_ticket_state_t;

typedef struct hb_hs_ticket {
    char id[HB_HS_ID];
    char service[HB_HS_ID];
    char counter[HB_HS_ID]; /* while called or being served; else "" */
    int priority;           /* Hallbus__Priority */
    int state;              /* hb_ticket_state_t */
    int outcome;            /* Hallbus__Outcome, once served */
    uint32_t number;        /* TicketIssued.number */
    uint32_t recalls;
    uint32_t wait_s;    /* issue to first call; 0 before */
    bool transferred;   /* moved from another service at least once */
    int64_t issued_ms;  /* its place in the queue: kept across transfers */
    int64_t called_ms;  /* last call or recall, 0 before */
    int64_t started_ms; /* service start, 0 before */
    int64_t ended_ms;   /* finished tickets */
    /* An appointment's check-in (TicketIssued.appointment): its code, its
     * slot's start and the staff it names, "" / 0 otherwise. */
    char appointment[HB_HS_ID];
    char staff[HB_HS_ID];
    int64_t due_ms;
    bool rated; /* a satisfaction score named it */
} hb_hs_ticket_t;

typedef struct hb_hs_service {
    char code[HB_HS_ID];
    uint32_t waiting;     /* tickets of this service in HB_TICKET_WAITING now */
    uint32_t next_number; /* the next number to issue today (>= 1) */
    /* Today (since the last day_started). */
    uint32_t issued, called, served, no_shows, cancelled, transferred_in, transferred_out;
    uint64_t wait_s_sum; /* over first calls */
    uint32_t wait_n;
    uint32_t wait_max_s;
    uint64_t service_s_sum; /* over completed services */
    uint32_t service_n;
    /* The last HB_HS_DURATIONS service times, kept across days (for the
     * hall engine's wait estimates); ring, `n_recent` valid from `recent_pos`. */
    uint32_t recent_service_s[HB_HS_DURATIONS];
    uint8_t n_recent, recent_pos;
} hb_hs_service_t;

typedef enum hb_counter_state {
    HB_COUNTER_CLOSED = 0,
    HB_COUNTER_IDLE,    /* open, nobody at it */
    HB_COUNTER_CALLING, /* called a ticket, waiting for the customer */
    HB_COUNTER_SERVING,
    HB_COUNTER_PAUSED,
} hb_counter_state_t;

typedef struct hb_hs_counter {
    char id[HB_HS_ID];
    char staff[HB_HS_ID];
    int state; /* hb_counter_state_t */
    size_t n_services;
    char services[HB_HS_COUNTER_SERVICES_MAX][HB_HS_ID];
    char ticket[HB_HS_ID];  /* the ticket called or being served, or "" */
    int64_t state_since_ms; /* when the current state began */
    /* Today: open time (idle, calling, serving) and busy time (calling,
     * serving) up to state_since_ms; the running segment is added by the
     * queries. Utilisation = busy / open. */
    int64_t open_ms, busy_ms;
    uint32_t served;
    /* Consecutive calls of priority (not normal) tickets at this counter:
     * the interleaving ratio's memory. A normal ticket called resets it. */
    uint32_t priority_streak;
    bool elderly; /* marked for elderly and disabled customers (CounterOpened.elderly) */
    /* The ticket last completed here and when, for the evaluator's score. */
    char last_ticket[HB_HS_ID];
    int64_t last_done_ms;
} hb_hs_counter_t;

typedef enum hb_complaint_state {
    HB_COMPLAINT_OPEN = 1,
    HB_COMPLAINT_ACKNOWLEDGED,
} hb_complaint_state_t;

typedef struct hb_hs_complaint {
    char id[HB_HS_ID];
    char category[HB_HS_ID];
    char ticket[HB_HS_ID];
    char acked_by[HB_HS_ID];
    int channel;                     /* Hallbus__ComplaintChannel */
    int severity;                    /* Hallbus__Severity */
    int state;                       /* hb_complaint_state_t; resolved ones leave the state */
    int escalation;                  /* highest Hallbus__EscalationLevel so far, 0 = none */
    bool ack_missed, resolve_missed; /* an automatic escalation said so */
    int64_t opened_ms, acked_ms, ack_due_ms, resolve_due_ms;
} hb_hs_complaint_t;

typedef struct hb_hs_device {
    char id[HB_HS_ID];
    int kind;  /* Hallbus__DeviceKind */
    int state; /* Hallbus__DeviceState */
    char detail[HB_HS_DETAIL_MAX];
    int64_t since_ms; /* when it entered this state */
} hb_hs_device_t;

typedef enum hb_appointment_state {
    HB_APPT_BOOKED = 1,
    HB_APPT_CHECKED_IN,
    HB_APPT_NO_SHOW,
    HB_APPT_CANCELLED,
} hb_appointment_state_t;

/* A booking (AppointmentBooked): kept while open, and once finished until
 * the next day_started, so that a day's book can be read. */
typedef struct hb_hs_appointment {
    char code[HB_HS_ID];
    char service[HB_HS_ID];
    char staff[HB_HS_ID];
    char ticket[HB_HS_ID]; /* once checked in */
    int64_t start_ms;
    uint32_t slot_s;
    int channel; /* Hallbus__BookingChannel */
    int state;   /* hb_appointment_state_t */
    int64_t booked_ms;
    /* HQ's digest of the caller and their idempotency key, for a booking
     * made through HQ with one ("" otherwise): the same request again
     * finds this booking (AppointmentBooked.request). */
    char request[HB_HS_ID];
} hb_hs_appointment_t;

/* Today's figures for the whole hall. An event whose time falls before
 * `start_ms` (one of an earlier local day, posted or delivered after the day
 * rolled over) changes the live state but not these figures, nor a
 * service's or a counter's figures of today; it counts in past_day_events. */
typedef struct hb_hs_today {
    char date[11]; /* from day_started, "" before the first */
    /* The UTC instant (ms) the hall's local day `date` began: its midnight
     * in the day_started's time zone (hb_hs_day_start); 0 before the first
     * day, when every event counts. */
    int64_t start_ms;
    uint32_t past_day_events; /* events of an earlier day applied today */
    uint32_t issued, called, served, no_shows, cancelled, transferred;
    uint32_t outcomes[4]; /* by Hallbus__Outcome */
    int64_t amount_sum;   /* minor units, all currencies together */
    uint64_t wait_s_sum;
    uint32_t wait_n, wait_max_s;
    uint64_t service_s_sum;
    uint32_t service_n;
    uint32_t complaints_opened, complaints_resolved, complaints_satisfied, escalations;
    uint32_t feedback[5]; /* scores 1..5 */
    /* The manager's opening (HallOpened): when, how late, and the devices
     * that failed the checklist or were not on it (HQ alerts on them until
     * each reports ok or the day ends). */
    int64_t opened_ms;
    int32_t late_s;
    size_t n_opening_devices;
    char opening_devices[HB_HS_OPENING_MAX][HB_HS_ID];
    bool opening_failed[HB_HS_OPENING_MAX]; /* failed (true) or unchecked (false) */
    uint32_t patrols;                       /* patrol_drawn events today */
} hb_hs_today_t;

/* The state. Read its members freely; change it only through the functions
 * below. Arrays are in the order entries first appeared (tickets: in the
 * order issued), which the snapshot keeps. */
typedef struct hb_hall_state {
    uint64_t seq;  /* last event applied, 0 = none */
    int64_t at_ms; /* its time */
    char timezone[64];
    int32_t utc_offset_s;
    uint64_t policy_version, calendar_version;
    uint64_t anomalies;      /* events that did not fit */
    uint64_t unknown_events; /* kinds this build does not know */
    hb_hs_today_t today;
    size_t n_services, n_counters, n_tickets, n_complaints, n_devices, n_recent, n_appointments;
    hb_hs_service_t *services;
    hb_hs_counter_t *counters;
    hb_hs_ticket_t *tickets;       /* live: waiting, called, serving */
    hb_hs_complaint_t *complaints; /* not resolved */
    hb_hs_device_t *devices;
    hb_hs_ticket_t recent[HB_HS_RECENT_MAX]; /* finished, oldest first */
    hb_hs_appointment_t *appointments;       /* by booking order */
    size_t cap_services, cap_counters, cap_tickets, cap_complaints, cap_devices, cap_appointments;
    /* Private: an index of live tickets by id (the kit's id map over
     * `tickets`), kept by apply for halls with many live tickets so that a
     * lookup does not walk them all. Not part of the state: never compared
     * or snapshotted. */
    hb_idmap_t tindex;
    bool tindex_ok;
} hb_hall_state_t;

/* An empty state (no event applied). NULL when out of memory. */
hb_hall_state_t *hb_hall_state_new(void);
void hb_hall_state_destroy(hb_hall_state_t **s);
/* A deep copy, or NULL when out of memory. */
hb_hall_state_t *hb_hall_state_clone(const hb_hall_state_t *s);

/* Applies one event: seq and at_ms always advance to the envelope's, the
 * rest as the event means (hallstate.c documents each kind). Returns 0, or
 * HB_EINVAL when the event did not fit (it is counted in `anomalies` and the
 * state changed only as far as it could), HB_ENOMEM (nothing changed but
 * seq/at_ms and `anomalies`). An event of a kind this build does not know
 * counts in `unknown_events` and returns 0. */
int hb_hall_state_apply(hb_hall_state_t *s, const Hallbus__Envelope *env);
/* The same from an event's stored bytes; bytes that do not decode count as
 * an anomaly (HB_EPARSE) and leave seq as it was. */
int hb_hall_state_apply_bytes(hb_hall_state_t *s, const uint8_t *data, size_t len);

/* The complete state as JSON (new reference): the snapshot format, with
 * "format": HB_HS_SNAPSHOT_FORMAT. Deterministic: equal states give equal
 * text with json_dumps(JSON_SORT_KEYS | JSON_COMPACT). */
json_t *hb_hall_state_to_json(const hb_hall_state_t *s);
/* Restores a snapshot. HB_EINVAL (with `err` naming the member) for a
 * snapshot of another format or one that breaks a bound. */
int hb_hall_state_from_json(const json_t *snap, hb_hall_state_t **out, char *err, size_t errlen);

/* The live view for people and dashboards at `now_ms` (new reference):
 * waiting per service with the oldest ticket's wait, counters with state and
 * utilisation, open and overdue complaints, devices not OK, today's counts
 * and average wait and service times. docs/API.md shows it. */
json_t *hb_hall_state_view(const hb_hall_state_t *s, int64_t now_ms);

/* The UTC instant (ms) at which the local day `date` ("YYYY-MM-DD") began
 * in time zone `zone` (tz.h; its local midnight, or the first instant after
 * it when a clock change skips midnight). A zone that cannot be loaded
 * falls back on `utc_offset_s` (what day_started carries). 0 for an empty
 * or unreadable date. The rule the reducer decides an event's day by. */
int64_t hb_hs_day_start(const char *date, const char *zone, int32_t utc_offset_s);

/* ---- lookups (NULL when absent; pointers valid until the next apply) */
const hb_hs_ticket_t *hb_hall_state_ticket(const hb_hall_state_t *s, const char *id);
/* A live ticket or, failing that, the newest finished one with that id. */
const hb_hs_ticket_t *hb_hall_state_ticket_any(const hb_hall_state_t *s, const char *id);
const hb_hs_service_t *hb_hall_state_service(const hb_hall_state_t *s, const char *code);
const hb_hs_counter_t *hb_hall_state_counter(const hb_hall_state_t *s, const char *id);
const hb_hs_complaint_t *hb_hall_state_complaint(const hb_hall_state_t *s, const char *id);
const hb_hs_device_t *hb_hall_state_device(const hb_hall_state_t *s, const char *id);
const hb_hs_appointment_t *hb_hall_state_appointment(const hb_hall_state_t *s, const char *code);
/* "booked", "checked_in", "no_show", "cancelled"; NULL outside. */
const char *hb_appointment_state_name(int state);
/* A booking as the APIs show it (new reference): {code, service, start,
 * end, staff (or null), channel, state, ticket (or null)}; view.c. */
json_t *hb_appointment_json(const hb_hs_appointment_t *b);

/* ---- figures at a moment (waiting, waits, counters open, estimates:
 * figures.h, their one definition) */
/* Complaints whose acknowledge or resolve deadline has passed at `now_ms`
 * without the complaint being acknowledged or resolved. */
uint32_t hb_hall_state_overdue(const hb_hall_state_t *s, int64_t now_ms);
/* A counter's open and busy ms today, the running segment included. */
void hb_hall_state_counter_times(const hb_hs_counter_t *c, int64_t now_ms, int64_t *open_ms,
                                 int64_t *busy_ms);
/* Mean of a service's recent service times, seconds; 0 when none known. */
uint32_t hb_hall_state_mean_service_s(const hb_hs_service_t *svc);

/* Short names for the enums above ("waiting", "serving", "paused", ...). */
const char *hb_ticket_state_name(int state);
const char *hb_counter_state_name(int state);
const char *hb_complaint_state_name(int state);

#endif
