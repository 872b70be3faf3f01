/* The alert rules (alerts.h): one function per kind, listed in a table,
 * each reading the mirrored state and the policy at one moment and putting
 * what holds into a bounded, sorted set; and the diff between two sets.
 * docs/ALERTS.md is the rules' prose and must change with them.
 *
 * Not here: ids, times of raising and clearing, persistence (alertstore.c),
 * and deciding when to evaluate (hqd's loop). */
#include "alerts.h"

#include "hallbus/figures.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "hallbus/utf8.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ kinds ---- */

/* In the order a set lists them (alert_key_cmp): the rank is the row. The
 * rest of each row says how an alert of the kind reads as parameters
 * (alert_kind_info_t): what its subject holds, what its value and
 * threshold measure, and how urgent it is before anything else is known. */
static const struct {
    int kind;
    const char *name;
    const char *unit;
    alert_kind_info_t info;
} s_kinds[] = {
    {ALERT_HALL_OFFLINE, "hall_offline", "s", {{NULL}, "offline_s", "grace_s", ALERT_SEV_CRITICAL}},
    {ALERT_HALL_BLOCKED, "hall_blocked", "s", {{NULL}, "blocked_s", NULL, ALERT_SEV_CRITICAL}},
    {ALERT_STREAM_CONFLICT, "stream_conflict", "seq", {{NULL}, "seq", NULL, ALERT_SEV_CRITICAL}},
    {ALERT_CLOCK_SKEW, "clock_skew", "s", {{NULL}, "skew_s", "limit_s", ALERT_SEV_WARNING}},
    {ALERT_EVENT_ANOMALY, "event_anomaly", "events", {{NULL}, "events", NULL, ALERT_SEV_WARNING}},
    {ALERT_HALL_NOT_OPEN,
     "hall_not_open",
     "s",
     {{NULL}, "since_opening_s", "grace_s", ALERT_SEV_CRITICAL}},
    {ALERT_NO_COUNTER_OPEN,
     "no_counter_open",
     "s",
     {{NULL}, "for_s", "grace_s", ALERT_SEV_CRITICAL}},
    {ALERT_WAIT_SLA,
     "wait_sla",
     "s",
     {{"service", "priority"}, "wait_s", "limit_s", ALERT_SEV_WARNING}},
    {ALERT_DIVERSION,
     "diversion",
     "customers",
     {{"service"}, "waiting", "threshold", ALERT_SEV_INFO}},
    {ALERT_DEVICE_FAULT, "device_fault", "s", {{"device"}, "for_s", "limit_s", ALERT_SEV_WARNING}},
    /* Beside device_fault, which it precedes in a day: a device the
     * opening found failed or did not check. */
    {ALERT_OPENING_DEVICE_CHECK,
     "opening_device_check",
     "s",
     {{"device"}, "open_s", NULL, ALERT_SEV_WARNING}},
    {ALERT_COMPLAINT_ACK_OVERDUE,
     "complaint_ack_overdue",
     "s",
     {{"complaint"}, "overdue_s", "allowance_s", ALERT_SEV_WARNING}},
    {ALERT_COMPLAINT_RESOLVE_OVERDUE,
     "complaint_resolve_overdue",
     "s",
     {{"complaint"}, "overdue_s", "allowance_s", ALERT_SEV_WARNING}},
    /* Added last, so that no kind above changes its rank. */
    {ALERT_DISK_NEARLY_FULL,
     "disk_nearly_full",
     "%",
     {{"resource"}, "free_percent", "min_free_percent", ALERT_SEV_CRITICAL}},
    {ALERT_HALL_DISK_FULL,
     "hall_disk_full",
     "events",
     {{NULL}, "refused_events", NULL, ALERT_SEV_CRITICAL}},
    /* The subject is the document's kind (with the hall's refusal code
     * after a '/', when it gave one) and the hall's reason, so that the
     * page words the alert by its code, or with the reason in it. */
    {ALERT_DOCUMENT_REFUSED,
     "document_refused",
     "version",
     {{"document", "reason"}, "version", NULL, ALERT_SEV_WARNING}},
    {ALERT_CERT_EXPIRING,
     "cert_expiring",
     "s",
     {{NULL}, "expires_in_s", "warn_s", ALERT_SEV_WARNING}},
};

#define KINDS_N (sizeof s_kinds / sizeof s_kinds[0])

const char *alert_kind_name(int kind)
{
    for (size_t i = 0; i < KINDS_N; i++)
        if (s_kinds[i].kind == kind)
            return s_kinds[i].name;
    return "unknown";
}

int alert_kind_parse(const char *name)
{
    for (size_t i = 0; name && i < KINDS_N; i++)
        if (strcmp(s_kinds[i].name, name) == 0)
            return s_kinds[i].kind;
    return 0;
}

const char *alert_kind_unit(int kind)
{
    for (size_t i = 0; i < KINDS_N; i++)
        if (s_kinds[i].kind == kind)
            return s_kinds[i].unit;
    return "s";
}

const alert_kind_info_t *alert_kind_info(int kind)
{
    static const alert_kind_info_t unknown = {{NULL}, "value", "threshold", ALERT_SEV_WARNING};
    for (size_t i = 0; i < KINDS_N; i++)
        if (s_kinds[i].kind == kind)
            return &s_kinds[i].info;
    return &unknown;
}

static const char *const s_severities[] = {NULL, "info", "warning", "critical"};

const char *alert_severity_name(int sev)
{
    return sev >= ALERT_SEV_INFO && sev <= ALERT_SEV_CRITICAL ? s_severities[sev] : "unknown";
}

int alert_severity_parse(const char *name)
{
    for (int i = ALERT_SEV_INFO; name && i <= ALERT_SEV_CRITICAL; i++)
        if (strcmp(s_severities[i], name) == 0)
            return i;
    return 0;
}

/* A kind's place in a set; kinds of a newer build go after every known one. */
static int s_rank(int kind)
{
    for (size_t i = 0; i < KINDS_N; i++)
        if (s_kinds[i].kind == kind)
            return (int)i;
    return (int)KINDS_N + (kind > 0 ? kind : 0);
}

void alerts_params_default(alerts_params_t *params)
{
    params->offline_grace_s = ALERTS_OFFLINE_GRACE_S_DEFAULT;
    params->no_counter_grace_s = ALERTS_NO_COUNTER_GRACE_S_DEFAULT;
    params->clock_skew_s = ALERTS_CLOCK_SKEW_S_DEFAULT;
    params->disk_full_hold_s = ALERTS_DISK_FULL_HOLD_S_DEFAULT;
    params->anomaly_hold_s = ALERTS_ANOMALY_HOLD_S_DEFAULT;
    params->cert_expiry_warn_s = ALERTS_CERT_EXPIRY_WARN_S_DEFAULT;
}

/* ------------------------------------------------------- arithmetic ---- */

static int64_t s_max(int64_t a, int64_t b) { return a > b ? a : b; }

/* Seconds of a policy member as ms; members are bounded (at most a week),
 * a hand-built negative one counts as zero. */
static int64_t s_ms(int64_t s) { return s > 0 ? s * 1000 : 0; }

/* --------------------------------------------------------- the set ---- */

int alert_key_cmp(const alert_t *a, const alert_t *b)
{
    if (a->kind != b->kind) {
        int ra = s_rank(a->kind), rb = s_rank(b->kind);
        if (ra != rb)
            return ra < rb ? -1 : 1;
        return a->kind < b->kind ? -1 : 1;
    }
    return strcmp(a->subject, b->subject);
}

/* Puts `a` in its place by key. A full set keeps the ALERTS_MAX smallest
 * keys, which is what lets a truncated set vouch for every key up to its
 * last entry. */
static void s_set_put(alert_set_t *set, const alert_t *a)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (alert_key_cmp(&set->alerts[mid], a) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Every rule yields a key once (a service and priority, a complaint, a
     * device are each one entry of the state). */
    assert(lo == set->n || alert_key_cmp(&set->alerts[lo], a) != 0);
    if (lo == ALERTS_MAX) {
        set->dropped++;
        return;
    }
    size_t keep = set->n < ALERTS_MAX ? set->n : ALERTS_MAX - 1;
    if (set->n == ALERTS_MAX)
        set->dropped++;
    memmove(&set->alerts[lo + 1], &set->alerts[lo], (keep - lo) * sizeof set->alerts[0]);
    set->alerts[lo] = *a;
    set->n = keep + 1;
}

/* Formats into a bounded field, cutting where a UTF-8 character starts so
 * that the text stays valid for JSON (ids and device details are UTF-8). */
static void s_text(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_text(char *dst, size_t cap, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (w < 0)
        tmp[0] = '\0';
    hb_utf8_copy(dst, cap, tmp);
}

/* Whole structs are cleared so that equal inputs give equal bytes, not
 * only equal strings. */
static void s_alert(alert_t *a, int kind, int64_t value, int64_t threshold, int64_t since_ms)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->value = value;
    a->threshold = threshold;
    a->since_ms = since_ms;
}

/* ---------------------------------------------------- opening hours ---- */

/* When the current opening began: hb_policy_opening_start (policy.c). */
static bool s_opening(const hb_policy_t *p, int64_t t, int64_t *start)
{
    return hb_policy_opening_start(p, t, ALERTS_OPENING_BACK_DAYS, start);
}

/* ------------------------------------------------------------ rules ---- */

typedef struct ctx {
    const hb_hall_state_t *s;   /* NULL: nothing mirrored */
    const hb_hall_figures_t *f; /* the state's figures (figures.h) when `s` */
    const hb_policy_t *p;
    const alerts_params_t *params;
    bool online;
    int64_t link_since;
    int64_t now;
    /* The moment the state describes: now while online, else the moment
     * the link went down (the hall may have moved on since, unseen). */
    int64_t t;
    bool open;             /* at now */
    int64_t opening_start; /* when open */
    /* Rules gated by opening hours may read the state: the hall is open
     * now and the state was current at some moment of this opening. */
    bool gated;
    alert_set_t *out;
} ctx_t;

static void s_hall_offline(ctx_t *c)
{
    if (c->online || !c->open)
        return;
    /* Offline time counts from the opening at the earliest: a hall that
     * boots a minute after opening is not an alert, one that stays away is. */
    int64_t from = s_max(c->link_since, c->opening_start);
    int64_t since = hb_ms_add_sat(from, s_ms(c->params->offline_grace_s));
    if (c->now < since)
        return;
    alert_t a;
    s_alert(&a, ALERT_HALL_OFFLINE, hb_ms_elapsed(from, c->now) / 1000, c->params->offline_grace_s,
            since);
    char when[HB_RFC3339_MAX];
    if (c->link_since > 0) {
        hb_time_format(c->link_since, when);
        s_text(a.detail, sizeof a.detail,
               "no link since %s: offline for %" PRId64 " s of opening time (grace %" PRId64 " s)",
               when, a.value, a.threshold);
    } else {
        s_text(a.detail, sizeof a.detail,
               "not connected since head office started: offline for %" PRId64
               " s of opening time (grace %" PRId64 " s)",
               a.value, a.threshold);
    }
    s_set_put(c->out, &a);
}

/* Whether a counter has opened since the opening began, read from what
 * the state keeps of counters (docs/ALERTS.md, "hall_not_open"). */
static bool s_counter_opened_since(const hb_hall_state_t *s, int64_t start)
{
    for (size_t i = 0; i < s->n_counters; i++) {
        const hb_hs_counter_t *k = &s->counters[i];
        if (hb_fig_counter_open(k->state))
            return true;
        /* Paused or closed at or after the start, having been open today:
         * it was open right up to that change, so during this opening. */
        if (k->state_since_ms >= start && k->open_ms > 0)
            return true;
    }
    return false;
}

static void s_hall_not_open(ctx_t *c)
{
    if (!c->gated)
        return;
    int64_t grace_s = c->p->not_open_grace_s;
    int64_t since = hb_ms_add_sat(c->opening_start, s_ms(grace_s));
    if (c->t < since || s_counter_opened_since(c->s, c->opening_start))
        return;
    alert_t a;
    s_alert(&a, ALERT_HALL_NOT_OPEN, hb_ms_elapsed(c->opening_start, c->t) / 1000, grace_s, since);
    char when[HB_RFC3339_MAX];
    hb_time_format(c->opening_start, when);
    s_text(a.detail, sizeof a.detail,
           "open since %s by its hours, but no counter has opened for %" PRId64 " s (grace %" PRId64
           " s)",
           when, a.value, a.threshold);
    s_set_put(c->out, &a);
}

static void s_no_counter_open(ctx_t *c)
{
    if (!c->gated)
        return;
    const hb_hall_state_t *s = c->s;
    const hb_hall_figures_t *f = c->f;
    uint32_t waiting = f->waiting;
    if (waiting == 0 || f->counters_open > 0)
        return;
    /* Since when nobody has been open while someone waited: the latest of
     * the opening's start, the oldest waiting ticket's issue, and the last
     * change of any counter (all are not open now, so each has been so
     * since its own change). */
    int64_t from = c->opening_start;
    for (size_t i = 0; i < s->n_counters; i++)
        from = s_max(from, s->counters[i].state_since_ms);
    if (f->oldest_issued_ms)
        from = s_max(from, f->oldest_issued_ms);
    int64_t grace_s = c->params->no_counter_grace_s;
    int64_t since = hb_ms_add_sat(from, s_ms(grace_s));
    if (c->t < since)
        return;
    alert_t a;
    s_alert(&a, ALERT_NO_COUNTER_OPEN, hb_ms_elapsed(from, c->t) / 1000, grace_s, since);
    s_text(a.detail, sizeof a.detail,
           "%" PRIu32 " customer%s waiting and no counter open for %" PRId64 " s (grace %" PRId64
           " s)",
           waiting, waiting == 1 ? "" : "s", a.value, a.threshold);
    s_set_put(c->out, &a);
}

static void s_priority_name(int priority, char *out, size_t cap)
{
    if (!hb_enum_name(&hallbus__priority__descriptor, priority, out, cap))
        snprintf(out, cap, "%d", priority);
}

/* The oldest waiting ticket of each service and priority (figures.h's
 * buckets, with the policy's limit for each) against its SLA. */
static void s_wait_sla(ctx_t *c)
{
    if (!c->gated)
        return;
    const hb_hall_figures_t *f = c->f;
    for (size_t i = 0; i < f->n_services; i++) {
        const hb_fig_service_t *v = &f->services[i];
        for (int b = 0; b < HB_FIG_PRIORITIES; b++) {
            const hb_fig_queue_t *q = &v->by_priority[b];
            const hb_hs_ticket_t *t = q->oldest;
            if (!t)
                continue;
            int64_t limit_s = q->max_wait_s;
            int64_t since = hb_ms_add_sat(t->issued_ms, s_ms(limit_s));
            if (c->t < since)
                continue;
            alert_t a;
            s_alert(&a, ALERT_WAIT_SLA, hb_ms_elapsed(t->issued_ms, c->t) / 1000, limit_s, since);
            /* The ticket's own priority names the bucket (bucket 0 holds
             * values this build has no name for). */
            char prio[32];
            s_priority_name(t->priority, prio, sizeof prio);
            s_text(a.subject, sizeof a.subject, "%s:%s", v->code, prio);
            s_text(a.detail, sizeof a.detail,
                   "ticket %s (%s) has waited %" PRId64 " s for service %s; the limit is %" PRId64
                   " s",
                   t->id, prio, a.value, v->code, a.threshold);
            s_set_put(c->out, &a);
        }
    }
}

static void s_diversion(ctx_t *c)
{
    if (!c->gated)
        return;
    int64_t threshold = c->p->diversion_threshold;
    for (size_t i = 0; i < c->f->n_services; i++) {
        const hb_fig_service_t *v = &c->f->services[i];
        if (!hb_fig_divert_due(v->waiting, c->p))
            continue;
        alert_t a;
        s_alert(&a, ALERT_DIVERSION, v->waiting, threshold, 0);
        s_text(a.subject, sizeof a.subject, "%s", v->code);
        s_text(a.detail, sizeof a.detail,
               "%" PRIu32 " customers wait for service %s; diversion is advised above %" PRId64,
               v->waiting, v->code, threshold);
        s_set_put(c->out, &a);
    }
}

static void s_device_fault(ctx_t *c)
{
    if (!c->gated)
        return;
    int64_t limit_s = c->p->device_fault_s;
    for (size_t i = 0; i < c->s->n_devices; i++) {
        const hb_hs_device_t *d = &c->s->devices[i];
        if (d->state == HALLBUS__DEVICE_STATE__DEVICE_STATE_OK)
            continue;
        int64_t since = hb_ms_add_sat(d->since_ms, s_ms(limit_s));
        if (c->t < since)
            continue;
        alert_t a;
        s_alert(&a, ALERT_DEVICE_FAULT, hb_ms_elapsed(d->since_ms, c->t) / 1000, limit_s, since);
        char kind[32], state[32];
        if (!hb_enum_name(&hallbus__device_kind__descriptor, d->kind, kind, sizeof kind))
            snprintf(kind, sizeof kind, "device");
        if (!hb_enum_name(&hallbus__device_state__descriptor, d->state, state, sizeof state))
            snprintf(state, sizeof state, "state %d", d->state);
        s_text(a.subject, sizeof a.subject, "%s", d->id);
        s_text(a.detail, sizeof a.detail, "%s %s is %s for %" PRId64 " s (limit %" PRId64 " s)%s%s",
               kind, d->id, state, a.value, a.threshold, d->detail[0] ? ": " : "", d->detail);
        s_set_put(c->out, &a);
    }
}

/* Not gated: the manager opened the hall, so it is open by their word; the
 * list is today's (the reducer empties it at day_started). A device that
 * reported ok after the opening was seen to and clears it. */
static void s_opening_device_check(ctx_t *c)
{
    if (!c->s || c->s->today.opened_ms == 0)
        return;
    const hb_hs_today_t *td = &c->s->today;
    for (size_t i = 0; i < td->n_opening_devices && i < HB_HS_OPENING_MAX; i++) {
        const hb_hs_device_t *d = hb_hall_state_device(c->s, td->opening_devices[i]);
        if (d && d->state == HALLBUS__DEVICE_STATE__DEVICE_STATE_OK && d->since_ms > td->opened_ms)
            continue;
        alert_t a;
        s_alert(&a, ALERT_OPENING_DEVICE_CHECK, hb_ms_elapsed(td->opened_ms, c->t) / 1000, 0,
                td->opened_ms);
        s_text(a.subject, sizeof a.subject, "%s", td->opening_devices[i]);
        s_text(a.detail, sizeof a.detail,
               "the hall opened with device %s %s in the pre-opening checklist; open for %" PRId64
               " s without its report of ok",
               td->opening_devices[i], td->opening_failed[i] ? "failed" : "not checked", a.value);
        s_set_put(c->out, &a);
    }
}

/* Complaint deadlines already count opening time only (the hall computed
 * them with its policy), so these rules are not gated by opening hours.
 * The hall's own automatic escalation for a missed deadline counts too: it
 * is the hall's clock that decided, and HQ's may lag a little behind.
 * Both deadlines (acknowledge, resolve) read alike; `what` names the one
 * missed in the sentence. */
static void s_complaint_overdue(ctx_t *c, const hb_hs_complaint_t *k, int kind, int64_t due_ms,
                                bool missed, int64_t threshold, const char *what)
{
    bool due = due_ms > 0 && c->t >= due_ms;
    if (!due && !missed)
        return;
    alert_t a;
    s_alert(&a, kind, due_ms > 0 ? hb_ms_elapsed(due_ms, c->t) / 1000 : 0, threshold, due_ms);
    char when[HB_RFC3339_MAX];
    hb_time_format(due_ms, when);
    s_text(a.subject, sizeof a.subject, "%s", k->id);
    s_text(a.detail, sizeof a.detail, "complaint %s (%s) not %s; it was due %s, %" PRId64 " s ago",
           k->id, k->category[0] ? k->category : "no category", what,
           due_ms > 0 ? when : "(unknown)", a.value);
    s_set_put(c->out, &a);
}

static void s_complaint_ack(ctx_t *c)
{
    for (size_t i = 0; c->s && i < c->s->n_complaints; i++) {
        const hb_hs_complaint_t *k = &c->s->complaints[i];
        if (k->state == HB_COMPLAINT_OPEN)
            s_complaint_overdue(c, k, ALERT_COMPLAINT_ACK_OVERDUE, k->ack_due_ms, k->ack_missed,
                                hb_policy_ack_s(c->p, k->severity), "acknowledged");
    }
}

static void s_complaint_resolve(ctx_t *c)
{
    for (size_t i = 0; c->s && i < c->s->n_complaints; i++) {
        const hb_hs_complaint_t *k = &c->s->complaints[i];
        s_complaint_overdue(c, k, ALERT_COMPLAINT_RESOLVE_OVERDUE, k->resolve_due_ms,
                            k->resolve_missed, hb_policy_resolve_s(c->p, k->severity), "resolved");
    }
}

/* One row per kind; the order does not matter (the set sorts), but reads
 * as the kinds do. */
static void (*const s_rules[])(ctx_t *c) = {
    s_hall_offline,  s_hall_not_open,     s_no_counter_open,
    s_wait_sla,      s_diversion,         s_device_fault,
    s_complaint_ack, s_complaint_resolve, s_opening_device_check,
};

void alerts_eval(const hb_hall_state_t *s, const hb_policy_t *p, const alerts_params_t *params,
                 bool online, int64_t link_since_ms, int64_t now_ms, alert_set_t *out)
{
    int64_t start = 0;
    bool open = s_opening(p, now_ms, &start);
    alerts_eval_opening(s, p, params, online, link_since_ms, now_ms, open, start, out);
}

void alerts_eval_opening(const hb_hall_state_t *s, const hb_policy_t *p,
                         const alerts_params_t *params, bool online, int64_t link_since_ms,
                         int64_t now_ms, bool open, int64_t opening_start, alert_set_t *out)
{
    assert(p && p->tz && out);
    alerts_params_t defaults;
    if (!params) {
        alerts_params_default(&defaults);
        params = &defaults;
    }
    out->n = 0;
    out->dropped = 0;
    ctx_t c = {.s = s,
               .p = p,
               .params = params,
               .online = online,
               .link_since = link_since_ms,
               .now = now_ms,
               .t = now_ms,
               .out = out};
    if (!online) {
        /* Unknown since when: the last event is the latest moment known. */
        int64_t known = link_since_ms > 0 ? link_since_ms : (s ? s->at_ms : 0);
        c.t = known < now_ms ? known : now_ms;
    }
    c.open = open;
    c.opening_start = opening_start;
    c.gated = s && c.open && (online || c.opening_start <= c.t);
    /* The figures at the moment the state describes; only what does not
     * depend on that moment (counts, oldest tickets, limits) is read. */
    hb_hall_figures_t f;
    if (s) {
        hb_hall_figures(s, p, c.t, &f);
        c.f = &f;
    }
    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules[0]; i++)
        s_rules[i](&c);
}

/* ------------------------------------------------------- the link ---- */

static void s_hall_blocked(const alerts_link_t *l, const alerts_params_t *pr, int64_t now,
                           alert_set_t *out)
{
    (void)pr;
    if (!l->blocked_code)
        return;
    alert_t a;
    s_alert(&a, ALERT_HALL_BLOCKED, hb_ms_elapsed(l->blocked_since_ms, now) / 1000, 0,
            l->blocked_since_ms);
    if (l->blocked_seq)
        s_text(a.detail, sizeof a.detail,
               "HQ refuses event %" PRIu64 ", so the hall's stream stands there: %s",
               l->blocked_seq, l->blocked_reason ? l->blocked_reason : "");
    else
        s_text(a.detail, sizeof a.detail, "HQ refuses what the hall sends: %s",
               l->blocked_reason ? l->blocked_reason : "");
    s_set_put(out, &a);
}

static void s_stream_conflict(const alerts_link_t *l, const alerts_params_t *pr, int64_t now,
                              alert_set_t *out)
{
    (void)pr;
    (void)now;
    if (!l->conflict_seq)
        return;
    alert_t a;
    s_alert(&a, ALERT_STREAM_CONFLICT, (int64_t)l->conflict_seq, 0, l->conflict_since_ms);
    s_text(a.detail, sizeof a.detail,
           "the hall resent event %" PRIu64 " with other bytes than HQ stored: its outbox and "
           "HQ's copy disagree (a restored or copied data folder?)",
           l->conflict_seq);
    s_set_put(out, &a);
}

static void s_clock_skew(const alerts_link_t *l, const alerts_params_t *pr, int64_t now,
                         alert_set_t *out)
{
    (void)now;
    if (!l->skew_known)
        return;
    int64_t off_s = l->clock_skew_ms / 1000;
    int64_t mag = off_s < 0 ? (off_s == INT64_MIN ? INT64_MAX : -off_s) : off_s;
    if (mag <= pr->clock_skew_s)
        return;
    alert_t a;
    s_alert(&a, ALERT_CLOCK_SKEW, mag, pr->clock_skew_s, 0);
    s_text(a.detail, sizeof a.detail,
           "the hall's clock is %" PRId64 " s %s head office's (limit %" PRId64
           " s): its events carry wrong times",
           mag, off_s < 0 ? "behind" : "ahead of", pr->clock_skew_s);
    s_set_put(out, &a);
}

static void s_event_anomaly(const alerts_link_t *l, const alerts_params_t *pr, int64_t now,
                            alert_set_t *out)
{
    if (l->anomalies == 0 || l->last_anomaly_ms <= 0)
        return;
    if (hb_ms_elapsed(l->last_anomaly_ms, now) > s_ms(pr->anomaly_hold_s))
        return;
    alert_t a;
    s_alert(&a, ALERT_EVENT_ANOMALY, (int64_t)(l->anomalies > INT64_MAX ? INT64_MAX : l->anomalies),
            0, l->last_anomaly_ms);
    const char *why = l->last_anomaly_reason ? l->last_anomaly_reason : "";
    s_text(a.detail, sizeof a.detail,
           "%" PRIu64 " event%s stored with a flag; the last, %" PRIu64 "%s%s", l->anomalies,
           l->anomalies == 1 ? "" : "s", l->last_anomaly_seq, why[0] ? ": " : "", why);
    s_set_put(out, &a);
}

static void s_hall_disk_full(const alerts_link_t *l, const alerts_params_t *pr, int64_t now,
                             alert_set_t *out)
{
    bool full = l->disk_full_since_ms > 0;
    if (!full && (l->disk_refused == 0 || l->disk_refused_seen_ms <= 0 ||
                  hb_ms_elapsed(l->disk_refused_seen_ms, now) > s_ms(pr->disk_full_hold_s)))
        return;
    alert_t a;
    int64_t refused = l->disk_refused > INT64_MAX ? INT64_MAX : (int64_t)l->disk_refused;
    s_alert(&a, ALERT_HALL_DISK_FULL, refused, 0,
            full ? l->disk_full_since_ms : l->disk_refused_seen_ms);
    if (full)
        s_text(a.detail, sizeof a.detail,
               "the hall's disk is full: it refuses new tickets and events (%" PRId64
               " refused so far) until space is freed in its data folder",
               refused);
    else
        s_text(a.detail, sizeof a.detail,
               "the hall's disk was full and refused %" PRId64
               " event(s) (tickets not issued); it has room again",
               refused);
    s_set_put(out, &a);
}

/* document_refused's detail: the document, the version, then the reason
 * (alert_refusal_parts reads it back). */
#define REFUSED_LEAD "the hall refused %s version %" PRId64 ": "

/* One alert per kind of document the hall refuses: it runs the version
 * before, and every hall that refuses the same document is one more alert
 * for the people who published it. */
static void s_document_refused(const alerts_link_t *l, const alerts_params_t *pr, int64_t now,
                               alert_set_t *out)
{
    (void)pr;
    (void)now;
    static const char *const names[2] = {"policy", "calendar"};
    for (int k = 0; k < 2; k++) {
        if (!l->refused_version[k])
            continue;
        const char *why = l->refused_reason[k] ? l->refused_reason[k] : "";
        const char *code = l->refused_code[k] ? l->refused_code[k] : "";
        alert_t a;
        int64_t v = l->refused_version[k] > INT64_MAX ? INT64_MAX : (int64_t)l->refused_version[k];
        s_alert(&a, ALERT_DOCUMENT_REFUSED, v, 0, 0);
        /* "policy/unknown_timezone:REASON"; without a code "policy:REASON",
         * as every alert of an older build (alert_params_json splits both). */
        s_text(a.subject, sizeof a.subject, "%s%s%s:%s", names[k], *code ? "/" : "", code, why);
        s_text(a.detail, sizeof a.detail, REFUSED_LEAD "%s", names[k], v, why);
        s_set_put(out, &a);
    }
}

void alert_refusal_parts(const alert_t *a, char *doc, char *code, const char **reason)
{
    const char *s = a->subject;
    size_t head = strcspn(s, ":");
    size_t n = strcspn(s, "/");
    if (n > head)
        n = head;
    memcpy(doc, s, n);
    doc[n] = '\0';
    size_t c = n < head ? head - n - 1 : 0;
    memcpy(code, s + head - c, c);
    code[c] = '\0';
    *reason = s + head + (s[head] == ':');
    char lead[ALERT_SUBJECT_MAX + 64];
    int w = snprintf(lead, sizeof lead, REFUSED_LEAD, doc, a->value);
    if (w > 0 && (size_t)w < sizeof lead && strncmp(a->detail, lead, (size_t)w) == 0 &&
        strlen(a->detail + w) > strlen(*reason))
        *reason = a->detail + w;
}

/* A hall rotates its key before its certificate expires (rotate_before,
 * a month by default), so a certificate this close to its end means the
 * rotation has not happened: the hall is offline, refused, or too old to
 * rotate by itself. Held once expired too (value 0): the hall is cut off
 * until it is enrolled again. */
static void s_cert_expiring(const alerts_link_t *l, const alerts_params_t *pr, int64_t now,
                            alert_set_t *out)
{
    if (!pr || pr->cert_expiry_warn_s <= 0 || l->cert_serial == 0 || l->cert_not_after_ms <= 0)
        return;
    int64_t left_ms = l->cert_not_after_ms - now;
    if (left_ms > s_ms(pr->cert_expiry_warn_s))
        return;
    alert_t a;
    int64_t left_s = left_ms > 0 ? left_ms / 1000 : 0;
    s_alert(&a, ALERT_CERT_EXPIRING, left_s, pr->cert_expiry_warn_s,
            l->cert_not_after_ms - s_ms(pr->cert_expiry_warn_s));
    char when[HB_RFC3339_MAX];
    hb_time_format(l->cert_not_after_ms, when);
    if (left_ms > 0)
        s_text(a.detail, sizeof a.detail,
               "the hall's certificate (serial %" PRIu64 ") expires at %s and it has not "
               "rotated its key",
               l->cert_serial, when);
    else
        s_text(a.detail, sizeof a.detail,
               "the hall's certificate (serial %" PRIu64 ") expired at %s: it is cut off until "
               "enrolled again",
               l->cert_serial, when);
    s_set_put(out, &a);
}

void alerts_eval_link(const alerts_link_t *link, const alerts_params_t *params, int64_t now_ms,
                      alert_set_t *out)
{
    assert(link && out);
    alerts_params_t defaults;
    if (!params) {
        alerts_params_default(&defaults);
        params = &defaults;
    }
    s_hall_blocked(link, params, now_ms, out);
    s_stream_conflict(link, params, now_ms, out);
    s_clock_skew(link, params, now_ms, out);
    s_event_anomaly(link, params, now_ms, out);
    s_hall_disk_full(link, params, now_ms, out);
    s_document_refused(link, params, now_ms, out);
    s_cert_expiring(link, params, now_ms, out);
}

void alerts_eval_room(const alerts_room_t *rooms, size_t n, int64_t min_free_percent,
                      alert_set_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const alerts_room_t *r = &rooms[i];
        if (r->total == 0 || r->avail > r->total)
            continue;
        /* Whole per cents, rounded down: 9.9% free is 9. */
        int64_t free_pct = (int64_t)((double)r->avail * 100.0 / (double)r->total);
        if ((double)r->avail * 100.0 >= (double)min_free_percent * (double)r->total)
            continue;
        alert_t a;
        s_alert(&a, ALERT_DISK_NEARLY_FULL, free_pct, min_free_percent, 0);
        s_text(a.subject, sizeof a.subject, "%s", r->what);
        s_text(a.detail, sizeof a.detail,
               "%s: %" PRId64 "%% left (%.1f of %.1f GiB); HQ refuses events when it is full",
               r->what, free_pct, (double)r->avail / 1073741824.0, (double)r->total / 1073741824.0);
        s_set_put(out, &a);
    }
}

/* ------------------------------------------------------------- diff ---- */

int alerts_diff(const alert_t *prev, size_t n_prev, const alert_set_t *cur, int64_t now_ms,
                const alerts_diff_ops_t *ops, void *arg, alerts_diff_result_t *result)
{
    alerts_diff_result_t r = {0};
    for (size_t i = 1; i < n_prev; i++)
        assert(alert_key_cmp(&prev[i - 1], &prev[i]) < 0);
    /* A truncated set knows nothing past its last entry. */
    const alert_t *last = cur->dropped > 0 && cur->n > 0 ? &cur->alerts[cur->n - 1] : NULL;
    /* First count what stays open, so that raising never goes past the
     * bound whatever order keys come in. */
    size_t stay = 0;
    for (size_t i = 0, j = 0; i < n_prev;) {
        int c = j < cur->n ? alert_key_cmp(&prev[i], &cur->alerts[j]) : -1;
        if (c > 0) {
            j++;
            continue;
        }
        if (c == 0 || (last && alert_key_cmp(&prev[i], last) > 0))
            stay++;
        if (c == 0)
            j++;
        i++;
    }
    size_t room = stay < ALERTS_MAX ? ALERTS_MAX - stay : 0;
    int rc = 0;
    size_t i = 0, j = 0;
    while (rc == 0 && (i < n_prev || j < cur->n)) {
        int c = i == n_prev ? 1 : j == cur->n ? -1 : alert_key_cmp(&prev[i], &cur->alerts[j]);
        if (c > 0) {
            if (room > 0) {
                rc = ops->raise ? ops->raise(&cur->alerts[j], now_ms, arg) : 0;
                room--;
                r.raised++;
            } else {
                r.unraised++;
            }
            j++;
        } else if (c < 0) {
            if (last && alert_key_cmp(&prev[i], last) > 0) {
                rc = ops->hold ? ops->hold(i, &prev[i], arg) : 0;
                r.held++;
            } else {
                rc = ops->clear ? ops->clear(i, &prev[i], now_ms, arg) : 0;
                r.cleared++;
            }
            i++;
        } else {
            rc = ops->keep ? ops->keep(i, &prev[i], &cur->alerts[j], arg) : 0;
            r.kept++;
            i++;
            j++;
        }
    }
    if (result)
        *result = r;
    return rc;
}
