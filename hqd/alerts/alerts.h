/* The alert rules of head office: which conditions hold now for one hall,
 * computed from the hall's mirrored state (hallstate.h), its effective
 * policy (policy.h), the link's state and the present moment, and the diff
 * that turns one evaluation after another into raises and clears.
 *
 * Everything here is pure: no clock, no storage, no allocation. The same
 * inputs give the same set, in the same order, so a test can walk a hall
 * through a day by passing `now_ms` by hand. Keeping alerts, their ids and
 * their history is alertstore.h's job; docs/ALERTS.md states every rule. */
#ifndef HQD_ALERTS_H
#define HQD_ALERTS_H

#include "hallbus/hallstate.h"
#include "hallbus/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERTS_MAX 64        /* conditions kept per hall and evaluation */
#define ALERT_SUBJECT_MAX 96 /* "SERVICE:PRIORITY", a complaint or device id, and the NUL */
#define ALERT_DETAIL_MAX 192 /* a sentence for people, cut at a UTF-8 boundary */
#define ALERT_KIND_NAME_MAX 32

/* The kinds. Numbers are stored in the alert history: never renumber, only
 * add. A set lists them in the order of alert_key_cmp, whole-hall
 * conditions first (the link's right after hall_offline), so that a hall
 * with more than ALERTS_MAX conditions keeps those. */
typedef enum alert_kind {
    ALERT_HALL_OFFLINE = 1,
    ALERT_HALL_NOT_OPEN = 2,
    ALERT_NO_COUNTER_OPEN = 3,
    ALERT_WAIT_SLA = 4,
    ALERT_DIVERSION = 5,
    ALERT_DEVICE_FAULT = 6,
    ALERT_COMPLAINT_ACK_OVERDUE = 7,
    ALERT_COMPLAINT_RESOLVE_OVERDUE = 8,
    ALERT_HALL_BLOCKED = 9,          /* HQ refuses what the hall sends: its stream stands still */
    ALERT_STREAM_CONFLICT = 10,      /* a resend differed from the bytes HQ stored */
    ALERT_CLOCK_SKEW = 11,           /* the hall's clock is far from HQ's */
    ALERT_EVENT_ANOMALY = 12,        /* events stored with a flag (eventrules.h) */
    ALERT_DISK_NEARLY_FULL = 13,     /* HQ's own: the data's disk (or a map) nearly full */
    ALERT_HALL_DISK_FULL = 14,       /* the hall's disk had no room: it refused events */
    ALERT_OPENING_DEVICE_CHECK = 15, /* opened with a device failed or unchecked */
    ALERT_DOCUMENT_REFUSED = 16,     /* the hall refused a policy or calendar HQ sent it */
    ALERT_CERT_EXPIRING = 17, /* the hall's certificate expires soon and it has not rotated */
} alert_kind_t;
#define ALERT_KIND_FIRST ALERT_HALL_OFFLINE
#define ALERT_KIND_LAST ALERT_CERT_EXPIRING

/* One condition that holds. The key is (kind, subject); `value` and
 * `threshold` are in the kind's unit (alert_kind_unit). */
typedef struct alert {
    int kind; /* alert_kind_t; a stored alert of a newer build may hold another number */
    char subject[ALERT_SUBJECT_MAX]; /* "" for whole-hall kinds */
    char detail[ALERT_DETAIL_MAX];
    int64_t value;
    int64_t threshold;
    /* When the condition began to hold as far as the state tells (an issue
     * time plus the SLA, a deadline), or 0 when it cannot tell. */
    int64_t since_ms;
} alert_t;

/* The conditions of one hall at one moment, sorted by (kind, subject) with
 * no key twice. When more than ALERTS_MAX hold, the first ALERTS_MAX in
 * that order are kept and `dropped` counts the others: the set then says
 * nothing about keys after its last entry (alerts_diff relies on this). */
typedef struct alert_set {
    size_t n;
    size_t dropped;
    alert_t alerts[ALERTS_MAX];
} alert_set_t;

/* Settings that are HQ's, not the hall's policy. */
typedef struct alerts_params {
    /* hall_offline: how long a hall may be unreachable during its opening
     * hours before it is an alert (link drops shorter than this are not). */
    int64_t offline_grace_s;
    /* no_counter_open: how long customers may wait with no counter open
     * (a counter closing and the next opening a minute later is normal). */
    int64_t no_counter_grace_s;
    /* clock_skew: how far a hall's clock may be from HQ's. */
    int64_t clock_skew_s;
    /* event_anomaly: how long the alert stays open after the last flagged
     * event was stored (a flag is a fact about the past: the alert says
     * "recently", and the events keep their flags for good). */
    int64_t anomaly_hold_s;
    /* hall_disk_full: how long the alert stays open after HQ last heard of
     * a refusal, once the hall has room again (the refused customers are
     * news even when the disk was freed before the link came back). */
    int64_t disk_full_hold_s;
    /* cert_expiring: raised this long before a hall's certificate expires
     * (0: never). A hall that rotates gets a new certificate, which clears
     * it. */
    int64_t cert_expiry_warn_s;
} alerts_params_t;

#define ALERTS_OFFLINE_GRACE_S_DEFAULT 120
#define ALERTS_NO_COUNTER_GRACE_S_DEFAULT 60
#define ALERTS_CLOCK_SKEW_S_DEFAULT 120
#define ALERTS_ANOMALY_HOLD_S_DEFAULT 3600
#define ALERTS_DISK_FULL_HOLD_S_DEFAULT 3600
#define ALERTS_CERT_EXPIRY_WARN_S_DEFAULT (14 * 86400)
/* How far back the start of a long opening is looked for (a hall open
 * round the clock): far more than any grace, a bound on the work. */
#define ALERTS_OPENING_BACK_DAYS 8

void alerts_params_default(alerts_params_t *params);

/* The conditions that hold for one hall at `now_ms` (the rules are in
 * docs/ALERTS.md). `s` may be NULL when nothing of the hall is mirrored yet;
 * `p` is the hall's effective policy; `params` may be NULL for the defaults.
 * `online` says whether the hall's link is up, and `link_since_ms` since
 * when it is up or down (0: unknown, e.g. never seen since hqd started).
 * While the hall is offline the state is taken as known up to the moment
 * the link went down, and rules that read it are judged at that moment. */
void alerts_eval(const hb_hall_state_t *s, const hb_policy_t *p, const alerts_params_t *params,
                 bool online, int64_t link_since_ms, int64_t now_ms, alert_set_t *out);

/* alerts_eval with the opening already known: `open` and, when open, when
 * the current opening began (hb_policy_opening_start with
 * ALERTS_OPENING_BACK_DAYS), for a caller that caches them per policy. */
void alerts_eval_opening(const hb_hall_state_t *s, const hb_policy_t *p,
                         const alerts_params_t *params, bool online, int64_t link_since_ms,
                         int64_t now_ms, bool open, int64_t opening_start, alert_set_t *out);

/* The hall's link as HQ's ingest sees it, for the link's rules. These hold
 * whatever the opening hours: a hall whose stream stands still at night
 * loses its events all the same. */
typedef struct alerts_link {
    int blocked_code;     /* the RejectCode that stops the stream; 0: none */
    uint64_t blocked_seq; /* the sequence refused (0: a frame, not an event) */
    int64_t blocked_since_ms;
    const char *blocked_reason; /* HQ's refusal, as the hall was told it */
    uint64_t conflict_seq;      /* 0: none */
    int64_t conflict_since_ms;
    bool skew_known;
    int64_t clock_skew_ms; /* the hall's clock minus HQ's */
    uint64_t anomalies;    /* events stored with a flag, ever */
    uint64_t last_anomaly_seq;
    int64_t last_anomaly_ms;         /* when the last one was stored (HQ's clock) */
    const char *last_anomaly_reason; /* may be "" (then the detail names the sequence only) */
    int64_t disk_full_since_ms;      /* the hall's clock; 0: it has room */
    uint64_t disk_refused;           /* events it refused for lack of room since it started */
    int64_t disk_refused_seen_ms;    /* when HQ last heard that count rise (HQ's clock) */
    /* A document of each kind ([0] policy, [1] calendar) the hall says it
     * refused and has not got past (0: none), its reason, and its refusal
     * code ([a-z_] as the downlink keeps it; NULL or "" from an older hall). */
    uint64_t refused_version[2];
    const char *refused_reason[2];
    const char *refused_code[2];
    uint64_t cert_serial;      /* the hall's current certificate; 0: none, or unsigned */
    int64_t cert_not_after_ms; /* its expiry (HQ's clock) */
} alerts_link_t;

/* Adds the conditions of the hall's link to `out` (after alerts_eval or
 * on an emptied set): hall_blocked, stream_conflict, clock_skew,
 * event_anomaly, hall_disk_full, document_refused and cert_expiring, as
 * docs/ALERTS.md
 * states them. */
void alerts_eval_link(const alerts_link_t *link, const alerts_params_t *params, int64_t now_ms,
                      alert_set_t *out);

/* HQ's own room for data: a file system (or an LMDB map, which cannot grow
 * past its maximum) with `avail` of `total` bytes left. */
typedef struct alerts_room {
    const char *what; /* the subject: "disk", "event_store_map" */
    uint64_t total, avail;
} alerts_room_t;

/* Adds disk_nearly_full for each of `n` rooms with less than
 * `min_free_percent` of it left (docs/ALERTS.md): raised before HQ must
 * refuse events, which it does when the disk or the event store's map is
 * full. */
void alerts_eval_room(const alerts_room_t *rooms, size_t n, int64_t min_free_percent,
                      alert_set_t *out);

/* Key order: kind (whole-hall kinds first, see alert_kind_t), then subject
 * bytewise. */
int alert_key_cmp(const alert_t *a, const alert_t *b);

/* ---- the diff: raise once, clear once */

/* `raise` for a key of `cur` that `prev` does not have, `clear` for a key
 * of `prev` that `cur` does not have, `keep` for a key in both (with the new
 * value and detail), `hold` for a key of `prev` that a truncated `cur` can
 * say nothing about (it stays open as it is). Any may be NULL. A callback
 * returning non-zero stops the diff, which returns that value. */
typedef struct alerts_diff_ops {
    int (*raise)(const alert_t *cur, int64_t now_ms, void *arg);
    int (*clear)(size_t prev_index, const alert_t *prev, int64_t now_ms, void *arg);
    int (*keep)(size_t prev_index, const alert_t *prev, const alert_t *cur, void *arg);
    int (*hold)(size_t prev_index, const alert_t *prev, void *arg);
} alerts_diff_ops_t;

typedef struct alerts_diff_result {
    size_t raised, cleared, kept, held;
    size_t unraised; /* conditions not raised because the hall had ALERTS_MAX open */
} alerts_diff_result_t;

/* Compares the alerts open before (`prev`, `n_prev` entries sorted by key
 * with no key twice: a previous set's `alerts`, or a store's open alerts of
 * the hall) with the set of now, calling the ops in key order. When `cur`
 * dropped conditions, an alert of `prev` whose key sorts after `cur`'s last
 * entry is kept as it is (its condition is unknown, not false), and new
 * keys are raised only while fewer than ALERTS_MAX would be open, so a hall
 * never has more than ALERTS_MAX open alerts and nothing flaps at the bound.
 * `result` may be NULL. Returns 0, or the first non-zero callback value. */
int alerts_diff(const alert_t *prev, size_t n_prev, const alert_set_t *cur, int64_t now_ms,
                const alerts_diff_ops_t *ops, void *arg, alerts_diff_result_t *result);

/* ---- names */

/* "hall_offline", "wait_sla", ...; "unknown" for a number this build does
 * not know. */
const char *alert_kind_name(int kind);
/* The kind of a name, or 0. */
int alert_kind_parse(const char *name);
/* The unit of value and threshold: "s", "customers", "seq", "events", "%"
 * or "version". */
const char *alert_kind_unit(int kind);

/* How urgent an alert is, for whom to tell (hqd/notify/): a kind's own
 * level, which a notifier may raise for what it knows besides (a critical
 * complaint). Ordered: a subscription's minimum compares them. */
typedef enum alert_severity {
    ALERT_SEV_INFO = 1,
    ALERT_SEV_WARNING = 2,
    ALERT_SEV_CRITICAL = 3,
} alert_severity_t;
/* "info", "warning", "critical"; "unknown" outside them. */
const char *alert_severity_name(int sev);
/* The level of a name, or 0. */
int alert_severity_parse(const char *name);

#define ALERT_SUBJECT_PARTS 2
/* An alert as parameters, so that a page or a message words it in its own
 * language rather than quoting `detail`: the subject split at ':' into the
 * named parts (wait_sla's "A:vip" is service "A", priority "vip"; NULL
 * names end the list), the value's and the threshold's names (a NULL
 * threshold: the kind has none worth showing), the kind's severity. */
typedef struct alert_kind_info {
    const char *subject[ALERT_SUBJECT_PARTS];
    const char *value;
    const char *threshold;
    int severity; /* alert_severity_t */
} alert_kind_info_t;
/* The kind's row (static); a kind this build does not know gets "value"
 * and "threshold", warning. */
const alert_kind_info_t *alert_kind_info(int kind);

/* A document_refused alert's parameters (docs/ALERTS.md): the document
 * ("policy", "calendar"), the hall's refusal code ("" when it gave none, as
 * in every alert an older build stored) and its reason, from the detail
 * when that is the rule's sentence and holds more of it than the subject
 * (which the code shortens). `doc` and `code` hold ALERT_SUBJECT_MAX bytes;
 * `*reason` points into `a`. */
void alert_refusal_parts(const alert_t *a, char *doc, char *code, const char **reason);

#endif
