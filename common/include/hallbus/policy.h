/* The policy model: how a hall must run (opening hours, holidays, temporary
 * closures, SLA thresholds, complaint deadlines, diversion, campaign limits),
 * as JSON documents and as the effective policy a hall runs on.
 *
 * HQ keeps one document per scope (national, province, city, hall); the
 * effective policy of a hall is the wider documents merged under the
 * narrower ones, member by member (hb_policy_merge), over the built-in
 * defaults, then read strictly (hb_policy_new). docs/POLICY.md describes
 * every member. A document looks like:
 *
 *   {"timezone": "Europe/Berlin",
 *    "opening_hours": {"mon": ["09:00-12:30", "13:30-17:00"], ..., "sun": []},
 *    "special_days": {"2026-12-24": {"hours": ["09:00-12:00"], "note": "Christmas Eve"},
 *                     "2026-12-25": {"hours": [], "note": "Christmas Day"}},
 *    "closures": {"renovation": {"from": "2027-01-10", "to": "2027-01-20",
 *                                "notice": "Closed for works", "divert_to": ["H002"]}},
 *    "divert_to": ["H002"],
 *    "sla": {"max_wait_s": {"*:*": 1200, "A:*": 600, "*:vip": 300, "A:vip": 240},
 *            "complaint_ack_s": {"*": 14400, "critical": 3600},
 *            "complaint_resolve_s": {"*": 57600}},
 *    "diversion": {"threshold": 25, "echannels": ["app", "web", "sms", "phone"]},
 *    "campaigns": {"max_concurrent": 3, "lead_days": 7, "city_overlap": "warning"},
 *    "alerts": {"device_fault_s": 1800, "not_open_grace_s": 300},
 *    "revoked_devices": [{"device": "kiosk-2", "paired_before": "2026-05-04T10:00:00Z"},
 *                        {"token": "3f9c0a1b2c3d4e5f"}]}
 *
 * Times of day are local to the hall's zone; an interval "HH:MM-HH:MM" ends
 * after it starts ("24:00" ends the day); complaint deadlines are seconds of
 * opening time, not of wall-clock time. Not here: who publishes what (hqd),
 * applying a version at the hall (branchd). */
#ifndef HALLBUS_POLICY_H
#define HALLBUS_POLICY_H

#include "hallbus/ids.h" /* HB_HALL_ID_MAX */
#include "hallbus/tz.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_POLICY_INTERVALS 4     /* opening intervals in one day */
#define HB_POLICY_SPECIAL_MAX 400 /* special days (holidays, special hours) */
#define HB_POLICY_CLOSURES_MAX 32
#define HB_POLICY_WAIT_RULES_MAX 256
#define HB_POLICY_DIVERT_MAX 8 /* halls named to divert to */
#define HB_POLICY_ECHANNELS_MAX 8
#define HB_POLICY_NOTE_MAX 512 /* notes and closure notices, bytes */
#define HB_POLICY_ECHANNEL_MAX 16
#define HB_POLICY_SERVICE_MAX (HB_ID_MAX + 1) /* a service code and its NUL */
#define HB_POLICY_SEVERITIES 5                /* index 0 = "*" (any), 1..4 = Severity enum */
#define HB_POLICY_PRIORITIES 5                /* index 0 = "*" (any), 1..4 = Priority enum */
#define HB_POLICY_SEARCH_DAYS 400             /* how far ahead opening times are searched */
#define HB_POLICY_REVOKED_MAX 64              /* device revocations in one document */
#define HB_POLICY_DEVICE_MAX 65               /* a device name and its NUL (codec's HB_ID_MAX) */
#define HB_POLICY_TOKEN_ID_LEN 16             /* a device token's id: 16 lower-case hex digits */

/* Opening intervals of one day, minutes after local midnight, sorted and not
 * overlapping; n == 0 means closed all day. */
typedef struct hb_hours {
    uint8_t n;
    struct {
        uint16_t from, to; /* 0 <= from < to <= 1440 */
    } iv[HB_POLICY_INTERVALS];
} hb_hours_t;

typedef struct hb_special_day {
    int32_t day; /* days since 1970-01-01 */
    hb_hours_t hours;
    char note[HB_POLICY_NOTE_MAX];
} hb_special_day_t;

typedef struct hb_closure {
    char id[HB_POLICY_SERVICE_MAX];
    int32_t from_day, to_day; /* both included */
    char notice[HB_POLICY_NOTE_MAX];
    size_t n_divert;
    char divert_to[HB_POLICY_DIVERT_MAX][HB_HALL_ID_MAX];
} hb_closure_t;

typedef struct hb_wait_rule {
    char service[HB_POLICY_SERVICE_MAX]; /* "*" for any */
    int priority;                        /* 0 for any, else a Priority value */
    int64_t max_wait_s;
} hb_wait_rule_t;

/* A hall device's token that HQ revoked (the policy's revoked_devices): by
 * the device's name, or by the token's id (what `branchd devices list`
 * shows). The hall refuses the token at once and deletes the device. */
typedef struct hb_revocation {
    char device[HB_POLICY_DEVICE_MAX];      /* a device name, or "" */
    char token[HB_POLICY_TOKEN_ID_LEN + 1]; /* a token id, or "" */
    /* With a device: only its pairings made before this instant (ms since
     * the epoch), so that the device paired again afterwards works; 0: the
     * name is revoked whenever it was paired. */
    int64_t paired_before_ms;
} hb_revocation_t;

/* An effective policy: every member resolved. Read-only once built; owned
 * by its creator, freed with hb_policy_free. */
/* A service's appointment slots (the policy's "appointments"): slots of
 * `slot_s` seconds from the start of each opening interval of `hours` (the
 * opening hours when the policy names none), each for `capacity` bookings;
 * a booking not checked in `no_show_after_s` after its start is a no-show. */
#define HB_POLICY_APPT_SERVICES_MAX 32
#define HB_POLICY_NO_SHOW_DEFAULT_S 900
typedef struct hb_appt_rule {
    char service[HB_POLICY_SERVICE_MAX];
    int64_t slot_s;
    int64_t capacity;
    int64_t no_show_after_s;
    bool own_hours;      /* `hours` apply; else the opening hours of the day */
    hb_hours_t hours[7]; /* 0 = Monday */
} hb_appt_rule_t;

typedef struct hb_policy {
    char timezone[HB_TZ_NAME_MAX];
    const hb_tz_t *tz;
    hb_hours_t week[7]; /* 0 = Monday */
    size_t n_special;
    hb_special_day_t *special; /* sorted by day */
    size_t n_closures;
    hb_closure_t *closures; /* sorted by from_day */
    size_t n_divert;
    char divert_to[HB_POLICY_DIVERT_MAX][HB_HALL_ID_MAX];
    size_t n_wait;
    hb_wait_rule_t *wait;
    int64_t complaint_ack_s[HB_POLICY_SEVERITIES]; /* 0 for a severity = use "*" */
    int64_t complaint_resolve_s[HB_POLICY_SEVERITIES];
    int64_t diversion_threshold; /* waiting for one service above this: advise */
    size_t n_echannels;
    char echannels[HB_POLICY_ECHANNELS_MAX][HB_POLICY_ECHANNEL_MAX];
    int max_concurrent_campaigns;
    int lead_days;
    bool city_overlap_error;
    int64_t device_fault_s;
    int64_t not_open_grace_s;
    size_t n_revoked;
    hb_revocation_t *revoked; /* in the document's order */
    size_t n_appt;
    hb_appt_rule_t *appt; /* sorted by service */
} hb_policy_t;

/* The built-in defaults as a complete document (new reference): Monday to
 * Friday 09:00-17:00, UTC, waits of 20 minutes, acknowledge in 4 opening
 * hours, resolve in 16, diversion above 30 waiting, 3 campaigns at once, 7
 * days' lead. */
json_t *hb_policy_defaults(void);

/* Checks one scope document, which may be partial: every member must be
 * known and every value well-formed and in range (a zone that exists, dates
 * that exist, intervals that end after they start and do not overlap,
 * closures whose "to" is not before "from", hall ids that are ids, the
 * limits above). A member set to null is allowed (it removes what a wider
 * scope set). Returns 0, or HB_EINVAL with `err` naming the member by its
 * path ("closures.renovation.to") and what is wrong. */
int hb_policy_check(const json_t *doc, char *err, size_t errlen);

/* `narrower` merged over `wider` (new reference; neither is changed):
 * objects are merged member by member, recursively; a member that is null
 * in `narrower` is removed; arrays and plain values replace. */
json_t *hb_policy_merge(const json_t *wider, const json_t *narrower);

/* Builds the effective policy from `doc` merged over the defaults (so a
 * partial document is fine). Refuses what hb_policy_check refuses. */
int hb_policy_new(const json_t *doc, hb_policy_t **out, char *err, size_t errlen);
void hb_policy_free(hb_policy_t **p);
/* The effective policy as a complete document (new reference); feeding it
 * back to hb_policy_new gives an equal policy. revoked_devices is written
 * only when it names something, so that a hall that predates it reads
 * every document that revokes nothing of its own (such a hall refuses an
 * unknown member; docs/POLICY.md). */
json_t *hb_policy_to_json(const hb_policy_t *p);

/* ---- opening hours */

typedef enum hb_closed_reason {
    HB_OPEN_NOW = 0,
    HB_CLOSED_OUTSIDE_HOURS, /* an opening day, but not now */
    HB_CLOSED_WEEKDAY,       /* the hall does not open on this weekday */
    HB_CLOSED_SPECIAL_DAY,   /* a holiday (special day without hours) */
    HB_CLOSED_CLOSURE,       /* a temporary closure */
} hb_closed_reason_t;

typedef struct hb_open_info {
    hb_closed_reason_t state;
    int64_t closes_ms; /* when open: end of the current interval */
    int64_t
        next_open_ms; /* when closed: the next opening, 0 if none within HB_POLICY_SEARCH_DAYS */
    const char *note; /* the special day's note or the closure's notice, or NULL */
    /* Where to send customers meanwhile: the closure's halls, else the
     * policy's divert_to. Points into the policy. */
    size_t n_divert;
    const char (*divert_to)[HB_HALL_ID_MAX];
} hb_open_info_t;

/* Whether the hall is open at `at_ms`, and when it closes or opens next. */
void hb_policy_open_at(const hb_policy_t *p, int64_t at_ms, hb_open_info_t *out);
/* The short code of a reason: "open", "outside_hours", "closed_weekday",
 * "holiday", "closure". */
const char *hb_closed_reason_name(hb_closed_reason_t r);
/* The instant at which `open_s` seconds of opening time have passed since
 * `from_ms` (time while closed does not count). INT64_MAX when the hall does
 * not open for that long within HB_POLICY_SEARCH_DAYS. */
int64_t hb_policy_add_open_time(const hb_policy_t *p, int64_t from_ms, int64_t open_s);
/* Seconds of opening time between two instants (0 when to <= from). */
int64_t hb_policy_open_seconds(const hb_policy_t *p, int64_t from_ms, int64_t to_ms);
/* Whether the hall is open at `t` and, if so, when the current opening
 * began (`*start`): touching intervals are one opening, as in
 * hb_policy_open_at; the start is looked for at most `back_days` back (a
 * hall open round the clock has opened "back_days ago"). Cheaper than
 * hb_policy_open_at, which looks ahead for the closing time. */
bool hb_policy_opening_start(const hb_policy_t *p, int64_t t, int32_t back_days, int64_t *start);
/* The opening intervals of local day `day` (special day, closure and
 * weekday taken into account). */
void hb_policy_hours_on(const hb_policy_t *p, int32_t day, hb_hours_t *out);
/* The same with why the day has no hours (HB_OPEN_NOW when it has some;
 * HB_CLOSED_WEEKDAY, _SPECIAL_DAY or _CLOSURE otherwise), the special day's
 * note or the closure's notice (`*note`, NULL when none) and the closure
 * that applies (`*closure`, NULL when none); both point into the policy. */
hb_closed_reason_t hb_policy_day(const hb_policy_t *p, int32_t day, hb_hours_t *hours,
                                 const char **note, const hb_closure_t **closure);

/* ---- appointments */

/* The appointment rule of `service`, or NULL when it takes none. */
const hb_appt_rule_t *hb_policy_appt(const hb_policy_t *p, const char *service);
/* The slot intervals of `rule` on local day `day` (its own hours, else the
 * day's opening hours: special days and closures included). */
void hb_policy_appt_hours(const hb_policy_t *p, const hb_appt_rule_t *rule, int32_t day,
                          hb_hours_t *out);

/* ---- thresholds */

/* Longest acceptable wait for `service` and `priority` (a Priority value):
 * the rule for both, else for the service, else for the priority, else the
 * "*:*" rule. */
int64_t hb_policy_max_wait_s(const hb_policy_t *p, const char *service, int priority);
/* Complaint deadlines in opening seconds for a Severity value. */
int64_t hb_policy_ack_s(const hb_policy_t *p, int severity);
int64_t hb_policy_resolve_s(const hb_policy_t *p, int severity);

#endif
