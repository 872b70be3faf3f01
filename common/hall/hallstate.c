/* The hall-state reducer (hallstate.h): what each event kind does to a hall's
 * live state, the snapshot that saves and restores that state, and the live
 * view people read. It is not where anything is decided (the hall engine
 * does that and records each decision as an event), and it reads no clock:
 * figures of the present moment take `now_ms` from the caller.
 *
 * What each event does
 * --------------------
 * Every event first sets `seq` and `at_ms` to the envelope's. An event that
 * does not fit is an anomaly: it is counted in `anomalies`, apply returns
 * HB_EINVAL, and the state changes only as far as the event still makes
 * sense (said below where that is more than nothing). An identifier longer
 * than HB_HS_ID - 1 bytes, or not UTF-8, never enters the state: an event
 * that would store one is an anomaly and changes nothing.
 *
 * - day_started: today's hall figures start again from zero with the new
 *   date (a date that is not YYYY-MM-DD is an anomaly, but the day still
 *   starts, with an empty date); the time zone and UTC offset are kept. Every
 *   service's figures of today start from zero and its next ticket number is
 *   1 again, while its waiting count and its recent service times stay. Every
 *   counter's open and busy time and served count start from zero, and its
 *   running segment restarts at the event's time. Live tickets and
 *   complaints stay: a customer waiting at midnight is still waiting.
 * - ticket_issued: a new waiting ticket at the end of the live list, its
 *   place in the queue given by the event time. An empty ticket or service
 *   id, a ticket id already live, or the live list full is an anomaly. An
 *   unknown service is added (the service list full is an anomaly). An
 *   unspecified priority is taken as normal. The service's next number
 *   becomes at least the ticket's number + 1, and the issued counts of the
 *   service and of today go up.
 * - ticket_called: the ticket must be live. If it was waiting it leaves its
 *   service's queue; on its first call ever its wait (the event's wait_s, or
 *   else the time since issue) is counted in the service's and today's wait
 *   figures and their called counts. A ticket still attached to another
 *   counter frees that counter. The ticket becomes called at the event's
 *   counter, and that counter starts calling it; its priority streak grows
 *   by one for a priority ticket and restarts at zero for a normal one. An
 *   unknown counter is an anomaly, but the ticket is called all the same.
 * - ticket_recalled: a live called ticket takes the recall count and the
 *   time of the recall; anything else is an anomaly.
 * - service_started: a live called ticket (or a waiting one, when an
 *   adapter skipped the call: it is called first, its wait counted) is now
 *   being served at the event's counter (or its own when the event names
 *   none), and that counter starts serving it. A ticket already being
 *   served is an anomaly; an unknown counter is one too, but the ticket
 *   still starts.
 * - service_completed: the live ticket (in any live state: a waiting one
 *   leaves its queue, its wait not counted) leaves the live list for the
 *   recent list (state served, with its outcome). Its duration is the event's
 *   duration_s, or else the time since its start; with neither, the
 *   duration is unknown and stays out of the time figures. The served
 *   counts, time sums and the service's recent durations take it; today's
 *   outcome count takes it when the outcome is one this build knows (else
 *   an anomaly after everything else is done); the amount is added to
 *   today's sum. The counter named in the event (or else the ticket's)
 *   counts one more served, and each counter attached to the ticket is
 *   free again.
 * - ticket_no_show and ticket_cancelled: the live ticket leaves for the
 *   recent list as a no-show or cancelled; it leaves its service's queue if
 *   it waited, its counter is free, and the service's and today's count of
 *   no-shows or cancellations go up.
 * - ticket_transferred: the live ticket waits again, in `to_service` (added
 *   when unknown), keeping its issue time and so its place; it is marked
 *   transferred and its recalls start from zero. It leaves the queue of the
 *   service it was in (the ticket's own: the event's from_service is not
 *   trusted over it) or frees its counter. The transfer is counted out of
 *   the old service, into the new one, and today.
 * - counter_opened: an unknown counter is added (the list full is an
 *   anomaly); its staff and services are replaced by the event's (more than
 *   HB_HS_COUNTER_SERVICES_MAX services: the first ones are kept and it is
 *   an anomaly). A closed, paused or idle counter becomes idle; one that has
 *   a ticket called or being served keeps calling or serving it.
 * - counter_paused: a known, not closed counter pauses; a ticket attached to
 *   it stays attached. counter_resumed: a paused counter goes back to
 *   calling or serving the ticket still attached to it, or else to idle; a
 *   counter that is not paused is an anomaly. counter_closed: the counter
 *   closes, and a ticket called to it or being served at it waits again.
 *   Any of these for an unknown counter is an anomaly.
 * - Counter time: at each change of a counter's state at time t, the time
 *   since `state_since_ms` is added to its open time when the old state was
 *   idle, calling or serving, and to its busy time when it was calling or
 *   serving; then `state_since_ms` = t. A time before `state_since_ms`
 *   (clocks moved back) adds nothing. hb_hall_state_counter_times adds the
 *   running segment up to `now_ms`.
 * - A counter is attached to at most one ticket. A counter that calls a new
 *   ticket while another one is still attached to it leaves that other
 *   ticket as it was: only the ticket's own later events finish it. Freeing
 *   a counter "for a ticket" happens only when the counter still points at
 *   that ticket, so one customer's events never disturb the next one's.
 * - complaint_opened: a new open complaint with its channel, category,
 *   severity, ticket and deadlines, opened at the event's time; an empty or
 *   already live id, or the list full, is an anomaly. Today's opened count
 *   goes up.
 * - complaint_acknowledged: a live open complaint is acknowledged by `by` at
 *   the event's time; acknowledging it again is an anomaly and changes
 *   nothing. complaint_escalated: the live complaint's escalation becomes
 *   the higher of its own and the event's level; an automatic escalation
 *   for a missed deadline marks that deadline missed; today's escalations go
 *   up. complaint_resolved: the live complaint leaves the state; today's
 *   resolved count goes up, and its satisfied count when the customer was.
 *   Any of these for a complaint not live is an anomaly.
 * - satisfaction_scored: a score of 1 to 5 counts in today's feedback;
 *   another score is an anomaly.
 * - device_status: the device is added or updated; `since_ms` moves to the
 *   event's time when the device is new or its state changed. Its detail is
 *   cut to HB_HS_DETAIL_MAX - 1 bytes at a UTF-8 character boundary (a
 *   detail that is not UTF-8 is dropped, and that is an anomaly).
 * - policy_applied and calendar_applied: the versions the hall runs.
 * - An event of a kind this build does not know (a newer hall's) counts in
 *   `unknown_events` and is not an anomaly.
 * Arrays keep the order in which entries first appeared, tickets the order
 * of issue; removing an entry keeps the order of the rest.
 *
 * The snapshot (hb_hall_state_to_json / _from_json)
 * -------------------------------------------------
 * One JSON object holding every member of the state under the names of
 * hallstate.h ("format": 1, "seq", "at_ms", "today": {...}, "services":
 * [...], "counters", "tickets", "complaints", "devices", "recent"). Times
 * are ms since the epoch. Enums of the .proto (priority, outcome, channel,
 * severity, escalation, device kind and state) are written as their numbers:
 * the .proto never renumbers, so numbers read back under any later or
 * earlier build, and a value this build has no name for survives. The
 * reducer's own states (ticket, counter and complaint states) are written by
 * their names (hb_ticket_state_name, ...), which stay while their numbers
 * are private to this file. A uint64 above INT64_MAX is a decimal string. A
 * service's recent durations are listed oldest first. Reading is strict: a
 * missing or unknown member, a wrong type, a value out of range, an array
 * over its bound, a duplicate id, or a state that breaks the reducer's
 * invariants (a waiting count that does not match the waiting tickets, a
 * ticket of an unknown service, a busy counter without its ticket) is
 * refused with HB_EINVAL and the member named.
 *
 * The view (hb_hall_state_view at `now`)
 * --------------------------------------
 * Times are RFC 3339 text, null where unset; durations are whole seconds;
 * enum values are their JSON names ("elderly"), or numbers when this build
 * has no name for them.
 *   seq, at (the last event's time), date (today's local date or null),
 *   waiting (tickets waiting in all services), longest_wait_s,
 *   services: [{service, waiting, oldest_wait_s, next_number, issued,
 *     served, no_shows, cancelled, avg_wait_s, max_wait_s, avg_service_s}]
 *     (today's figures; averages 0 when nothing was counted),
 *   counters: [{counter, state ("closed", "idle", "calling", "serving",
 *     "paused"), staff, services: [codes], ticket (or null), since (when the
 *     state began), open_s, busy_s, utilisation (busy / open today, 0..1 to
 *     three decimals, 0 when never open), served}],
 *   counters_open (idle, calling or serving), counters_busy (calling or
 *     serving),
 *   tickets: [{ticket, service, priority, state ("waiting", "called",
 *     "serving"), counter (or null), issued, wait_s (waiting: so far;
 *     otherwise issue to first call), recalls, transferred}] in issue order,
 *   complaints: {open (not resolved), overdue, list: [{complaint, state
 *     ("open", "acknowledged"), severity, category, channel, ticket (or
 *     null), opened, ack_due, resolve_due, escalation (or null when none),
 *     overdue}]}; a complaint is overdue when an automatic escalation said a
 *     deadline was missed, or a deadline has passed at `now` (not
 *     acknowledged by ack_due, or not resolved by resolve_due),
 *   devices: [{device, kind, state, detail, since}], devices_not_ok,
 *   today: {issued, served, no_shows, cancelled, transferred, avg_wait_s,
 *     max_wait_s, avg_service_s, complaints_opened, complaints_resolved,
 *     escalations, satisfaction_avg (two decimals, null without feedback),
 *     feedback_count, amount_sum, outcomes: {done, referred,
 *     rejected_documents}},
 *   policy_version, calendar_version, anomalies. */
#include "hallbus/hallstate.h"

#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/idmap.h"
#include "hallbus/json.h"
#include "hallbus/vec.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arrays start this big on first use and double up to their bound, so a
 * hall in its steady state applies events without allocating. */
#define HS_CAP_MIN 8
/* Times the view formats: year 0 to 9999, what RFC 3339 can show. */
#define HS_TIME_MAX 253402300799999LL
#define HS_WHERE_MAX 48
#define HS_SEEN_MAX 32

#define HS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- names ---- */

static const char *const s_ticket_states[] = {
    [HB_TICKET_WAITING] = "waiting", [HB_TICKET_CALLED] = "called",
    [HB_TICKET_SERVING] = "serving", [HB_TICKET_SERVED] = "served",
    [HB_TICKET_NO_SHOW] = "no_show", [HB_TICKET_CANCELLED] = "cancelled",
};
static const char *const s_counter_states[] = {
    [HB_COUNTER_CLOSED] = "closed",   [HB_COUNTER_IDLE] = "idle",
    [HB_COUNTER_CALLING] = "calling", [HB_COUNTER_SERVING] = "serving",
    [HB_COUNTER_PAUSED] = "paused",
};
static const char *const s_complaint_states[] = {
    [HB_COMPLAINT_OPEN] = "open",
    [HB_COMPLAINT_ACKNOWLEDGED] = "acknowledged",
};

static const char *s_name(const char *const *names, size_t n, int v)
{
    if (v < 0 || (size_t)v >= n || !names[v])
        return "unknown";
    return names[v];
}

const char *hb_ticket_state_name(int state)
{
    return s_name(s_ticket_states, HS_COUNT(s_ticket_states), state);
}

const char *hb_counter_state_name(int state)
{
    return s_name(s_counter_states, HS_COUNT(s_counter_states), state);
}

const char *hb_complaint_state_name(int state)
{
    return s_name(s_complaint_states, HS_COUNT(s_complaint_states), state);
}

/* ----------------------------------------------------------- helpers ---- */

static const char *s_str(const char *p) { return p ? p : ""; }

/* Whether `src` fits a field of `cap` bytes (its NUL included) as UTF-8. */
static bool s_fits(const char *src, size_t cap)
{
    src = s_str(src);
    size_t n = strnlen(src, cap);
    /* Whatever enters the state must go into a snapshot: UTF-8 as jansson
     * judges it. */
    return n < cap && hb_utf8_valid(src, n);
}

/* Copies `src` into a field of `cap` bytes; the caller checked s_fits. */
static void s_copy(char *dst, size_t cap, const char *src)
{
    src = s_str(src);
    size_t n = strnlen(src, cap);
    assert(n < cap);
    memmove(dst, src, n);
    dst[n] = '\0';
}

static uint32_t s_secs(int64_t ms)
{
    int64_t sec = ms / 1000;
    if (sec < 0)
        return 0;
    return sec > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)sec;
}

/* Room for one more entry in the array `name` of state `s`, bounded by
 * `max`; a full array is an event that does not fit (HB_EINVAL), memory is
 * HB_ENOMEM. */
#define HS_ROOM(s, name, max, rc)                                                                  \
    do {                                                                                           \
        void *p_ = (s)->name;                                                                      \
        (rc) =                                                                                     \
            hb_array_reserve(&p_, &(s)->cap_##name, (s)->n_##name + 1, sizeof *(s)->name, (max));  \
        (s)->name = p_;                                                                            \
        if ((rc) == HB_ETOOBIG)                                                                    \
            (rc) = HB_EINVAL;                                                                      \
    } while (0)

static bool s_date_ok(const char *d)
{
    if (strnlen(d, 11) != 10 || d[4] != '-' || d[7] != '-')
        return false;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
            return false;
    }
    int y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    int m = (d[5] - '0') * 10 + (d[6] - '0');
    int day = (d[8] - '0') * 10 + (d[9] - '0');
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || day < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return day <= mdays[m - 1] + (m == 2 && leap);
}

/* ----------------------------------------------------------- lookups ---- */

/* Below this many live tickets a walk is as fast as the index. */
#define HS_TINDEX_MIN 32

static const void *s_ticket_key(const void *s, uint32_t i)
{
    return ((const hb_hall_state_t *)s)->tickets[i].id;
}

/* Rebuilt by apply whenever removals made it stale; lookups from the const
 * API only read it, so readers sharing a state never write. */
static void s_tindex_build(hb_hall_state_t *s)
{
    s->tindex_ok = false;
    if (s->n_tickets < HS_TINDEX_MIN)
        return;
    if (!s->tindex.key_of) /* a new or cloned state: the map is made here */
        hb_idmap_init(&s->tindex, HB_HS_TICKETS_MAX, s_ticket_key);
    /* Room for every ticket the array holds, so that appends until it grows
     * need no memory; without memory, lookups walk the tickets instead. */
    s->tindex_ok =
        hb_idmap_rebuild_with(&s->tindex, s, s->n_tickets, s->cap_tickets, s_ticket_key) == 0;
}

/* After tickets[n_tickets - 1] was appended. */
static void s_tindex_added(hb_hall_state_t *s)
{
    if (s->tindex_ok && hb_idmap_add(&s->tindex, s, (uint32_t)(s->n_tickets - 1)) != 0)
        s->tindex_ok = false;
}

static long s_ticket_index(const hb_hall_state_t *s, const char *id)
{
    if (s->tindex_ok)
        return hb_idmap_find_with(&s->tindex, s, id, s_ticket_key);
    for (size_t i = 0; i < s->n_tickets; i++) {
        if (strcmp(s->tickets[i].id, id) == 0)
            return (long)i;
    }
    return -1;
}

static hb_hs_ticket_t *s_ticket(hb_hall_state_t *s, const char *id)
{
    long i = s_ticket_index(s, s_str(id));
    return i < 0 ? NULL : &s->tickets[i];
}

static hb_hs_service_t *s_service(hb_hall_state_t *s, const char *code)
{
    code = s_str(code);
    for (size_t i = 0; i < s->n_services; i++) {
        if (strcmp(s->services[i].code, code) == 0)
            return &s->services[i];
    }
    return NULL;
}

static hb_hs_counter_t *s_counter(hb_hall_state_t *s, const char *id)
{
    id = s_str(id);
    if (!id[0])
        return NULL;
    for (size_t i = 0; i < s->n_counters; i++) {
        if (strcmp(s->counters[i].id, id) == 0)
            return &s->counters[i];
    }
    return NULL;
}

static long s_complaint_index(const hb_hall_state_t *s, const char *id)
{
    id = s_str(id);
    for (size_t i = 0; i < s->n_complaints; i++) {
        if (strcmp(s->complaints[i].id, id) == 0)
            return (long)i;
    }
    return -1;
}

static hb_hs_device_t *s_device(hb_hall_state_t *s, const char *id)
{
    id = s_str(id);
    for (size_t i = 0; i < s->n_devices; i++) {
        if (strcmp(s->devices[i].id, id) == 0)
            return &s->devices[i];
    }
    return NULL;
}

const hb_hs_ticket_t *hb_hall_state_ticket(const hb_hall_state_t *s, const char *id)
{
    return s_ticket((hb_hall_state_t *)s, id);
}

const hb_hs_ticket_t *hb_hall_state_ticket_any(const hb_hall_state_t *s, const char *id)
{
    const hb_hs_ticket_t *t = hb_hall_state_ticket(s, id);
    for (size_t i = s->n_recent; !t && i > 0; i--) {
        if (strcmp(s->recent[i - 1].id, s_str(id)) == 0)
            t = &s->recent[i - 1];
    }
    return t;
}

const hb_hs_service_t *hb_hall_state_service(const hb_hall_state_t *s, const char *code)
{
    return s_service((hb_hall_state_t *)s, code);
}

const hb_hs_counter_t *hb_hall_state_counter(const hb_hall_state_t *s, const char *id)
{
    return s_counter((hb_hall_state_t *)s, id);
}

const hb_hs_complaint_t *hb_hall_state_complaint(const hb_hall_state_t *s, const char *id)
{
    long i = s_complaint_index(s, id);
    return i < 0 ? NULL : &s->complaints[i];
}

const hb_hs_device_t *hb_hall_state_device(const hb_hall_state_t *s, const char *id)
{
    return s_device((hb_hall_state_t *)s, id);
}

/* ------------------------------------------------- figures at a moment ---- */

/* What open and busy mean is figures.h's; the reducer counts a counter's
 * time by the same definitions. */
static bool s_counter_open(int state) { return hb_fig_counter_open(state); }

static bool s_counter_busy(int state) { return hb_fig_counter_busy(state); }

/* Overdue: an automatic escalation said a deadline was missed, or one has
 * passed at `now_ms` without being met. An acknowledgement after its
 * deadline did not meet it. A live complaint is never resolved, so a passed
 * resolve deadline is always missed. */
static bool s_overdue(const hb_hs_complaint_t *c, int64_t now_ms)
{
    if (c->ack_missed || c->resolve_missed)
        return true;
    if (c->ack_due_ms > 0 && now_ms > c->ack_due_ms) {
        bool acked_in_time = c->state == HB_COMPLAINT_ACKNOWLEDGED && c->acked_ms <= c->ack_due_ms;
        if (!acked_in_time)
            return true;
    }
    return c->resolve_due_ms > 0 && now_ms > c->resolve_due_ms;
}

uint32_t hb_hall_state_overdue(const hb_hall_state_t *s, int64_t now_ms)
{
    uint32_t n = 0;
    for (size_t i = 0; i < s->n_complaints; i++)
        n += s_overdue(&s->complaints[i], now_ms);
    return n;
}

void hb_hall_state_counter_times(const hb_hs_counter_t *c, int64_t now_ms, int64_t *open_ms,
                                 int64_t *busy_ms)
{
    int64_t run = hb_ms_elapsed(c->state_since_ms, now_ms);
    int64_t open = c->open_ms, busy = c->busy_ms;
    if (s_counter_open(c->state))
        open = hb_ms_add_sat(open, run);
    if (s_counter_busy(c->state))
        busy = hb_ms_add_sat(busy, run);
    if (open_ms)
        *open_ms = open < 0 ? 0 : open;
    if (busy_ms)
        *busy_ms = busy < 0 ? 0 : busy;
}

uint32_t hb_hall_state_mean_service_s(const hb_hs_service_t *svc)
{
    if (svc->n_recent == 0)
        return 0;
    uint64_t sum = 0;
    for (unsigned i = 0; i < svc->n_recent && i < HB_HS_DURATIONS; i++)
        sum += svc->recent_service_s[(svc->recent_pos + i) % HB_HS_DURATIONS];
    return (uint32_t)((sum + svc->n_recent / 2) / svc->n_recent);
}

/* ------------------------------------------------------ new and destroy ---- */

hb_hall_state_t *hb_hall_state_new(void) { return calloc(1, sizeof(hb_hall_state_t)); }

void hb_hall_state_destroy(hb_hall_state_t **s_p)
{
    if (!s_p || !*s_p)
        return;
    hb_hall_state_t *s = *s_p;
    free(s->services);
    free(s->counters);
    free(s->tickets);
    free(s->complaints);
    free(s->devices);
    hb_idmap_free(&s->tindex);
    free(s);
    *s_p = NULL;
}

static void *s_dup(const void *src, size_t n, size_t cap, size_t elem, bool *bad)
{
    if (cap == 0)
        return NULL;
    void *p = malloc(cap * elem);
    if (!p) {
        *bad = true;
        return NULL;
    }
    if (n)
        memcpy(p, src, n * elem);
    return p;
}

hb_hall_state_t *hb_hall_state_clone(const hb_hall_state_t *s)
{
    hb_hall_state_t *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *s;
    c->tindex = (hb_idmap_t){0}; /* the copy builds its own at its next apply */
    c->tindex_ok = false;
    bool bad = false;
    c->services = s_dup(s->services, s->n_services, s->cap_services, sizeof *s->services, &bad);
    c->counters = s_dup(s->counters, s->n_counters, s->cap_counters, sizeof *s->counters, &bad);
    c->tickets = s_dup(s->tickets, s->n_tickets, s->cap_tickets, sizeof *s->tickets, &bad);
    c->complaints =
        s_dup(s->complaints, s->n_complaints, s->cap_complaints, sizeof *s->complaints, &bad);
    c->devices = s_dup(s->devices, s->n_devices, s->cap_devices, sizeof *s->devices, &bad);
    if (bad)
        hb_hall_state_destroy(&c);
    return c;
}

/* ------------------------------------------------- counters and tickets ---- */

/* A counter's state changes at `at`: the segment that ends is added to its
 * open and busy time first. */
static void s_counter_set(hb_hs_counter_t *c, int state, int64_t at)
{
    int64_t d = hb_ms_elapsed(c->state_since_ms, at);
    if (s_counter_open(c->state))
        c->open_ms = hb_ms_add_sat(c->open_ms, d);
    if (s_counter_busy(c->state))
        c->busy_ms = hb_ms_add_sat(c->busy_ms, d);
    c->state = state;
    c->state_since_ms = at;
}

/* Frees counter `counter_id` of `ticket_id` when it still points at that
 * ticket: calling or serving becomes idle, a paused counter stays paused. */
static void s_release(hb_hall_state_t *s, const char *counter_id, const char *ticket_id, int64_t at)
{
    hb_hs_counter_t *c = s_counter(s, counter_id);
    if (!c || strcmp(c->ticket, ticket_id) != 0)
        return;
    c->ticket[0] = '\0';
    if (s_counter_busy(c->state))
        s_counter_set(c, HB_COUNTER_IDLE, at);
}

/* The ticket is done with counters: its own and the one an event names. */
static void s_detach(hb_hall_state_t *s, hb_hs_ticket_t *t, const char *event_counter, int64_t at)
{
    event_counter = s_str(event_counter);
    s_release(s, t->counter, t->id, at);
    if (strcmp(event_counter, t->counter) != 0)
        s_release(s, event_counter, t->id, at);
    t->counter[0] = '\0';
}

static void s_unwait(hb_hall_state_t *s, const hb_hs_ticket_t *t)
{
    if (t->state != HB_TICKET_WAITING)
        return;
    hb_hs_service_t *svc = s_service(s, t->service);
    if (svc && svc->waiting > 0)
        svc->waiting--;
}

/* The ticket leaves its queue to be called at `at`; on its first call ever
 * its wait is counted. A ticket that waits again (transferred, or its
 * counter closed) was called before, so its wait is counted once. */
static void s_take(hb_hall_state_t *s, hb_hs_ticket_t *t, uint32_t wait_s, int64_t at)
{
    if (t->state != HB_TICKET_WAITING)
        return;
    s_unwait(s, t);
    if (t->called_ms == 0 && t->started_ms == 0) {
        t->wait_s = wait_s > 0 ? wait_s : s_secs(hb_ms_elapsed(t->issued_ms, at));
        hb_hs_service_t *svc = s_service(s, t->service);
        if (svc) {
            svc->wait_s_sum += t->wait_s;
            svc->wait_n++;
            if (t->wait_s > svc->wait_max_s)
                svc->wait_max_s = t->wait_s;
            svc->called++;
        }
        s->today.wait_s_sum += t->wait_s;
        s->today.wait_n++;
        if (t->wait_s > s->today.wait_max_s)
            s->today.wait_max_s = t->wait_s;
        s->today.called++;
    }
    t->called_ms = at;
}

/* Attaches `t` to counter `counter_id` in the given states (a call or a
 * service start), freeing the counter it was attached to before. HB_EINVAL
 * for an unknown counter, after the ticket changed. */
static int s_attach(hb_hall_state_t *s, hb_hs_ticket_t *t, const char *counter_id, int64_t at,
                    int ticket_state, int counter_state, bool is_call)
{
    char id[HB_HS_ID];
    s_copy(id, sizeof id, counter_id);
    if (t->counter[0] && strcmp(t->counter, id) != 0)
        s_release(s, t->counter, t->id, at);
    s_copy(t->counter, sizeof t->counter, id);
    t->state = ticket_state;
    hb_hs_counter_t *c = s_counter(s, id);
    if (!c)
        return HB_EINVAL;
    s_counter_set(c, counter_state, at);
    s_copy(c->ticket, sizeof c->ticket, t->id);
    if (is_call)
        c->priority_streak =
            t->priority == HALLBUS__PRIORITY__PRIORITY_NORMAL ? 0 : c->priority_streak + 1;
    return 0;
}

/* Moves live ticket `i` to the recent list as finished; the oldest
 * finished one is forgotten when the list is full. */
static void s_finish(hb_hall_state_t *s, size_t i, int state, int64_t at)
{
    hb_hs_ticket_t t = s->tickets[i];
    t.state = state;
    t.ended_ms = at;
    t.counter[0] = '\0';
    if (s->n_recent == HB_HS_RECENT_MAX) {
        memmove(&s->recent[0], &s->recent[1], (HB_HS_RECENT_MAX - 1) * sizeof s->recent[0]);
        s->n_recent--;
    }
    s->recent[s->n_recent++] = t;
    memmove(&s->tickets[i], &s->tickets[i + 1], (s->n_tickets - i - 1) * sizeof s->tickets[0]);
    s->n_tickets--;
    s->tindex_ok = false;
}

/* A paused or reopened counter goes back to what its attached ticket says:
 * calling it, serving it, or idle when nothing is attached any more. */
static void s_counter_back(hb_hall_state_t *s, hb_hs_counter_t *c, int64_t at)
{
    int target = HB_COUNTER_IDLE;
    const hb_hs_ticket_t *t = c->ticket[0] ? s_ticket(s, c->ticket) : NULL;
    if (t && strcmp(t->counter, c->id) == 0 && t->state == HB_TICKET_CALLED)
        target = HB_COUNTER_CALLING;
    else if (t && strcmp(t->counter, c->id) == 0 && t->state == HB_TICKET_SERVING)
        target = HB_COUNTER_SERVING;
    else
        c->ticket[0] = '\0';
    if (c->state != target)
        s_counter_set(c, target, at);
}

static void s_ring_push(hb_hs_service_t *svc, uint32_t v)
{
    if (svc->n_recent < HB_HS_DURATIONS) {
        svc->recent_service_s[(svc->recent_pos + svc->n_recent) % HB_HS_DURATIONS] = v;
        svc->n_recent++;
    } else {
        svc->recent_service_s[svc->recent_pos] = v;
        svc->recent_pos = (uint8_t)((svc->recent_pos + 1) % HB_HS_DURATIONS);
    }
}

/* ---------------------------------------------------------- handlers ---- */
/* Each returns 0, HB_EINVAL (the event did not fit) or HB_ENOMEM. */

static int s_day_started(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__DayStarted *e = env->day_started;
    if (!e)
        return HB_EINVAL;
    int rc = 0;
    memset(&s->today, 0, sizeof s->today);
    if (s_date_ok(s_str(e->date)))
        s_copy(s->today.date, sizeof s->today.date, e->date);
    else
        rc = HB_EINVAL;
    if (s_fits(e->timezone, sizeof s->timezone)) {
        s_copy(s->timezone, sizeof s->timezone, e->timezone);
    } else {
        s->timezone[0] = '\0';
        rc = HB_EINVAL;
    }
    s->utc_offset_s = e->utc_offset_s;
    for (size_t i = 0; i < s->n_services; i++) {
        hb_hs_service_t *svc = &s->services[i];
        svc->next_number = 1;
        svc->issued = svc->called = svc->served = svc->no_shows = svc->cancelled = 0;
        svc->transferred_in = svc->transferred_out = 0;
        svc->wait_s_sum = svc->service_s_sum = 0;
        svc->wait_n = svc->wait_max_s = svc->service_n = 0;
    }
    for (size_t i = 0; i < s->n_counters; i++) {
        hb_hs_counter_t *c = &s->counters[i];
        c->open_ms = c->busy_ms = 0;
        c->served = 0;
        c->state_since_ms = env->at_ms;
    }
    return rc;
}

static int s_ticket_issued(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketIssued *e = env->ticket_issued;
    if (!e || !s_str(e->ticket)[0] || !s_str(e->service)[0] || !s_fits(e->ticket, HB_HS_ID) ||
        !s_fits(e->service, HB_HS_ID) || s_ticket(s, e->ticket))
        return HB_EINVAL;
    int rc = 0;
    hb_hs_service_t *svc = s_service(s, e->service);
    if (!svc) {
        HS_ROOM(s, services, HB_HS_SERVICES_MAX, rc);
        if (rc != 0)
            return rc;
    }
    HS_ROOM(s, tickets, HB_HS_TICKETS_MAX, rc);
    if (rc != 0)
        return rc;
    if (!svc) {
        svc = &s->services[s->n_services++];
        memset(svc, 0, sizeof *svc);
        s_copy(svc->code, sizeof svc->code, e->service);
        svc->next_number = 1;
    }
    hb_hs_ticket_t *t = &s->tickets[s->n_tickets++];
    memset(t, 0, sizeof *t);
    s_copy(t->id, sizeof t->id, e->ticket);
    s_tindex_added(s);
    s_copy(t->service, sizeof t->service, e->service);
    t->priority = e->priority == HALLBUS__PRIORITY__PRIORITY_UNSPECIFIED
                      ? HALLBUS__PRIORITY__PRIORITY_NORMAL
                      : (int)e->priority;
    t->state = HB_TICKET_WAITING;
    t->number = e->number;
    t->issued_ms = env->at_ms;
    if (e->number != UINT32_MAX && e->number + 1 > svc->next_number)
        svc->next_number = e->number + 1;
    svc->waiting++;
    svc->issued++;
    s->today.issued++;
    return 0;
}

static int s_ticket_called(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketCalled *e = env->ticket_called;
    hb_hs_ticket_t *t = e ? s_ticket(s, e->ticket) : NULL;
    if (!t || !s_fits(e->counter, HB_HS_ID))
        return HB_EINVAL;
    s_take(s, t, e->wait_s, env->at_ms);
    t->called_ms = env->at_ms;
    return s_attach(s, t, e->counter, env->at_ms, HB_TICKET_CALLED, HB_COUNTER_CALLING, true);
}

static int s_ticket_recalled(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketRecalled *e = env->ticket_recalled;
    hb_hs_ticket_t *t = e ? s_ticket(s, e->ticket) : NULL;
    if (!t || t->state != HB_TICKET_CALLED)
        return HB_EINVAL;
    t->recalls = e->recall_count;
    t->called_ms = env->at_ms;
    return 0;
}

static int s_service_started(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ServiceStarted *e = env->service_started;
    hb_hs_ticket_t *t = e ? s_ticket(s, e->ticket) : NULL;
    if (!t || !s_fits(e->counter, HB_HS_ID) ||
        (t->state != HB_TICKET_CALLED && t->state != HB_TICKET_WAITING))
        return HB_EINVAL;
    char counter[HB_HS_ID];
    s_copy(counter, sizeof counter, s_str(e->counter)[0] ? e->counter : t->counter);
    bool is_call = t->state == HB_TICKET_WAITING;
    s_take(s, t, 0, env->at_ms);
    t->started_ms = env->at_ms;
    return s_attach(s, t, counter, env->at_ms, HB_TICKET_SERVING, HB_COUNTER_SERVING, is_call);
}

static int s_service_completed(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ServiceCompleted *e = env->service_completed;
    long i = e ? s_ticket_index(s, s_str(e->ticket)) : -1;
    if (i < 0)
        return HB_EINVAL;
    hb_hs_ticket_t *t = &s->tickets[i];
    int64_t at = env->at_ms;
    bool known = e->duration_s > 0 || t->started_ms != 0;
    uint32_t duration = e->duration_s > 0 ? e->duration_s
                        : t->started_ms   ? s_secs(hb_ms_elapsed(t->started_ms, at))
                                          : 0;
    hb_hs_counter_t *c = s_counter(s, e->counter);
    if (!c)
        c = s_counter(s, t->counter);
    if (c)
        c->served++;
    s_unwait(s, t);
    s_detach(s, t, e->counter, at);
    hb_hs_service_t *svc = s_service(s, t->service);
    if (svc) {
        svc->served++;
        if (known) {
            svc->service_s_sum += duration;
            svc->service_n++;
            s_ring_push(svc, duration);
        }
    }
    s->today.served++;
    if (known) {
        s->today.service_s_sum += duration;
        s->today.service_n++;
    }
    s->today.amount_sum = hb_ms_add_sat(s->today.amount_sum, e->amount);
    int rc = 0;
    if ((int)e->outcome >= 0 && (size_t)e->outcome < HS_COUNT(s->today.outcomes))
        s->today.outcomes[e->outcome]++;
    else
        rc = HB_EINVAL;
    t->outcome = (int)e->outcome;
    s_finish(s, (size_t)i, HB_TICKET_SERVED, at);
    return rc;
}

static int s_ticket_no_show(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketNoShow *e = env->ticket_no_show;
    long i = e ? s_ticket_index(s, s_str(e->ticket)) : -1;
    if (i < 0)
        return HB_EINVAL;
    hb_hs_ticket_t *t = &s->tickets[i];
    if (e->recall_count > t->recalls)
        t->recalls = e->recall_count;
    s_unwait(s, t);
    s_detach(s, t, e->counter, env->at_ms);
    hb_hs_service_t *svc = s_service(s, t->service);
    if (svc)
        svc->no_shows++;
    s->today.no_shows++;
    s_finish(s, (size_t)i, HB_TICKET_NO_SHOW, env->at_ms);
    return 0;
}

static int s_ticket_transferred(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketTransferred *e = env->ticket_transferred;
    if (!e || !s_ticket(s, e->ticket) || !s_str(e->to_service)[0] ||
        !s_fits(e->to_service, HB_HS_ID))
        return HB_EINVAL;
    int rc = 0;
    hb_hs_service_t *to = s_service(s, e->to_service);
    if (!to) {
        HS_ROOM(s, services, HB_HS_SERVICES_MAX, rc);
        if (rc != 0)
            return rc;
        to = &s->services[s->n_services++];
        memset(to, 0, sizeof *to);
        s_copy(to->code, sizeof to->code, e->to_service);
        to->next_number = 1;
    }
    hb_hs_ticket_t *t = s_ticket(s, e->ticket);
    hb_hs_service_t *from = s_service(s, t->service);
    if (t->state == HB_TICKET_WAITING)
        s_unwait(s, t);
    else
        s_detach(s, t, e->counter, env->at_ms);
    s_copy(t->service, sizeof t->service, to->code);
    t->state = HB_TICKET_WAITING;
    t->counter[0] = '\0';
    t->transferred = true;
    t->recalls = 0;
    to->waiting++;
    to->transferred_in++;
    if (from)
        from->transferred_out++;
    s->today.transferred++;
    return 0;
}

static int s_ticket_cancelled(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketCancelled *e = env->ticket_cancelled;
    long i = e ? s_ticket_index(s, s_str(e->ticket)) : -1;
    if (i < 0)
        return HB_EINVAL;
    hb_hs_ticket_t *t = &s->tickets[i];
    s_unwait(s, t);
    s_detach(s, t, NULL, env->at_ms);
    hb_hs_service_t *svc = s_service(s, t->service);
    if (svc)
        svc->cancelled++;
    s->today.cancelled++;
    s_finish(s, (size_t)i, HB_TICKET_CANCELLED, env->at_ms);
    return 0;
}

static int s_counter_opened(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__CounterOpened *e = env->counter_opened;
    if (!e || !s_str(e->counter)[0] || !s_fits(e->counter, HB_HS_ID) || !s_fits(e->staff, HB_HS_ID))
        return HB_EINVAL;
    int rc = 0;
    hb_hs_counter_t *c = s_counter(s, e->counter);
    if (!c) {
        HS_ROOM(s, counters, HB_HS_COUNTERS_MAX, rc);
        if (rc != 0)
            return rc;
        c = &s->counters[s->n_counters++];
        memset(c, 0, sizeof *c);
        s_copy(c->id, sizeof c->id, e->counter);
        c->state = HB_COUNTER_CLOSED;
        c->state_since_ms = env->at_ms;
    }
    s_copy(c->staff, sizeof c->staff, e->staff);
    c->n_services = 0;
    for (size_t k = 0; k < e->n_services; k++) {
        if (c->n_services == HB_HS_COUNTER_SERVICES_MAX || !s_str(e->services[k])[0] ||
            !s_fits(e->services[k], HB_HS_ID)) {
            rc = HB_EINVAL;
            continue;
        }
        s_copy(c->services[c->n_services++], HB_HS_ID, e->services[k]);
    }
    s_counter_back(s, c, env->at_ms);
    return rc;
}

static int s_counter_paused(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    hb_hs_counter_t *c = env->counter_paused ? s_counter(s, env->counter_paused->counter) : NULL;
    if (!c || c->state == HB_COUNTER_CLOSED)
        return HB_EINVAL;
    if (c->state != HB_COUNTER_PAUSED)
        s_counter_set(c, HB_COUNTER_PAUSED, env->at_ms);
    return 0;
}

static int s_counter_resumed(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    hb_hs_counter_t *c = env->counter_resumed ? s_counter(s, env->counter_resumed->counter) : NULL;
    if (!c || c->state != HB_COUNTER_PAUSED)
        return HB_EINVAL;
    s_counter_back(s, c, env->at_ms);
    return 0;
}

static int s_counter_closed(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    hb_hs_counter_t *c = env->counter_closed ? s_counter(s, env->counter_closed->counter) : NULL;
    if (!c)
        return HB_EINVAL;
    hb_hs_ticket_t *t = c->ticket[0] ? s_ticket(s, c->ticket) : NULL;
    if (t && strcmp(t->counter, c->id) == 0 &&
        (t->state == HB_TICKET_CALLED || t->state == HB_TICKET_SERVING)) {
        t->state = HB_TICKET_WAITING;
        t->counter[0] = '\0';
        hb_hs_service_t *svc = s_service(s, t->service);
        if (svc)
            svc->waiting++;
    }
    c->ticket[0] = '\0';
    if (c->state != HB_COUNTER_CLOSED)
        s_counter_set(c, HB_COUNTER_CLOSED, env->at_ms);
    return 0;
}

static int s_complaint_opened(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ComplaintOpened *e = env->complaint_opened;
    if (!e || !s_str(e->complaint)[0] || !s_fits(e->complaint, HB_HS_ID) ||
        !s_fits(e->category, HB_HS_ID) || !s_fits(e->ticket, HB_HS_ID) ||
        s_complaint_index(s, e->complaint) >= 0)
        return HB_EINVAL;
    int rc = 0;
    HS_ROOM(s, complaints, HB_HS_COMPLAINTS_MAX, rc);
    if (rc != 0)
        return rc;
    hb_hs_complaint_t *c = &s->complaints[s->n_complaints++];
    memset(c, 0, sizeof *c);
    s_copy(c->id, sizeof c->id, e->complaint);
    s_copy(c->category, sizeof c->category, e->category);
    s_copy(c->ticket, sizeof c->ticket, e->ticket);
    c->channel = (int)e->channel;
    c->severity = (int)e->severity;
    c->state = HB_COMPLAINT_OPEN;
    c->opened_ms = env->at_ms;
    c->ack_due_ms = e->ack_due_ms;
    c->resolve_due_ms = e->resolve_due_ms;
    s->today.complaints_opened++;
    return 0;
}

static int s_complaint_acknowledged(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ComplaintAcknowledged *e = env->complaint_acknowledged;
    long i = e ? s_complaint_index(s, e->complaint) : -1;
    if (i < 0 || !s_fits(e->by, HB_HS_ID))
        return HB_EINVAL;
    hb_hs_complaint_t *c = &s->complaints[i];
    if (c->state == HB_COMPLAINT_ACKNOWLEDGED)
        return HB_EINVAL;
    c->state = HB_COMPLAINT_ACKNOWLEDGED;
    c->acked_ms = env->at_ms;
    s_copy(c->acked_by, sizeof c->acked_by, e->by);
    return 0;
}

static int s_complaint_escalated(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ComplaintEscalated *e = env->complaint_escalated;
    long i = e ? s_complaint_index(s, e->complaint) : -1;
    if (i < 0)
        return HB_EINVAL;
    hb_hs_complaint_t *c = &s->complaints[i];
    if ((int)e->level > c->escalation)
        c->escalation = (int)e->level;
    if (e->automatic && e->missed == HALLBUS__DEADLINE__DEADLINE_ACK)
        c->ack_missed = true;
    if (e->automatic && e->missed == HALLBUS__DEADLINE__DEADLINE_RESOLVE)
        c->resolve_missed = true;
    s->today.escalations++;
    return 0;
}

static int s_complaint_resolved(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ComplaintResolved *e = env->complaint_resolved;
    long i = e ? s_complaint_index(s, e->complaint) : -1;
    if (i < 0)
        return HB_EINVAL;
    memmove(&s->complaints[i], &s->complaints[i + 1],
            (s->n_complaints - (size_t)i - 1) * sizeof s->complaints[0]);
    s->n_complaints--;
    s->today.complaints_resolved++;
    if (e->customer_satisfied)
        s->today.complaints_satisfied++;
    return 0;
}

static int s_satisfaction_scored(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__SatisfactionScored *e = env->satisfaction_scored;
    if (!e || e->score < 1 || e->score > 5)
        return HB_EINVAL;
    s->today.feedback[e->score - 1]++;
    return 0;
}

static int s_device_status(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__DeviceStatus *e = env->device_status;
    if (!e || !s_str(e->device)[0] || !s_fits(e->device, HB_HS_ID))
        return HB_EINVAL;
    int rc = 0;
    hb_hs_device_t *d = s_device(s, e->device);
    if (!d) {
        HS_ROOM(s, devices, HB_HS_DEVICES_MAX, rc);
        if (rc != 0)
            return rc;
        d = &s->devices[s->n_devices++];
        memset(d, 0, sizeof *d);
        s_copy(d->id, sizeof d->id, e->device);
        d->state = (int)e->state;
        d->since_ms = env->at_ms;
    }
    if (d->state != (int)e->state)
        d->since_ms = env->at_ms;
    d->kind = (int)e->kind;
    d->state = (int)e->state;
    /* Cut where a character starts, so the kept part is still UTF-8. */
    const char *detail = s_str(e->detail);
    size_t n = hb_utf8_cut(detail, strnlen(detail, HB_HS_DETAIL_MAX), HB_HS_DETAIL_MAX - 1);
    if (hb_utf8_valid(detail, n)) {
        memcpy(d->detail, detail, n);
        d->detail[n] = '\0';
    } else {
        d->detail[0] = '\0';
        rc = HB_EINVAL;
    }
    return rc;
}

static int s_policy_applied(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    if (!env->policy_applied)
        return HB_EINVAL;
    s->policy_version = env->policy_applied->version;
    return 0;
}

static int s_calendar_applied(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    if (!env->calendar_applied)
        return HB_EINVAL;
    s->calendar_version = env->calendar_applied->version;
    return 0;
}

/* One handler per event kind, by the Envelope.body field number. */
typedef int (*s_handler_fn)(hb_hall_state_t *s, const Hallbus__Envelope *env);
static const s_handler_fn s_handlers[] = {
    [HALLBUS__ENVELOPE__BODY_TICKET_ISSUED] = s_ticket_issued,
    [HALLBUS__ENVELOPE__BODY_TICKET_CALLED] = s_ticket_called,
    [HALLBUS__ENVELOPE__BODY_TICKET_RECALLED] = s_ticket_recalled,
    [HALLBUS__ENVELOPE__BODY_SERVICE_STARTED] = s_service_started,
    [HALLBUS__ENVELOPE__BODY_SERVICE_COMPLETED] = s_service_completed,
    [HALLBUS__ENVELOPE__BODY_TICKET_NO_SHOW] = s_ticket_no_show,
    [HALLBUS__ENVELOPE__BODY_TICKET_TRANSFERRED] = s_ticket_transferred,
    [HALLBUS__ENVELOPE__BODY_TICKET_CANCELLED] = s_ticket_cancelled,
    [HALLBUS__ENVELOPE__BODY_COUNTER_OPENED] = s_counter_opened,
    [HALLBUS__ENVELOPE__BODY_COUNTER_PAUSED] = s_counter_paused,
    [HALLBUS__ENVELOPE__BODY_COUNTER_RESUMED] = s_counter_resumed,
    [HALLBUS__ENVELOPE__BODY_COUNTER_CLOSED] = s_counter_closed,
    [HALLBUS__ENVELOPE__BODY_COMPLAINT_OPENED] = s_complaint_opened,
    [HALLBUS__ENVELOPE__BODY_COMPLAINT_ACKNOWLEDGED] = s_complaint_acknowledged,
    [HALLBUS__ENVELOPE__BODY_COMPLAINT_ESCALATED] = s_complaint_escalated,
    [HALLBUS__ENVELOPE__BODY_COMPLAINT_RESOLVED] = s_complaint_resolved,
    [HALLBUS__ENVELOPE__BODY_SATISFACTION_SCORED] = s_satisfaction_scored,
    [HALLBUS__ENVELOPE__BODY_DEVICE_STATUS] = s_device_status,
    [HALLBUS__ENVELOPE__BODY_DAY_STARTED] = s_day_started,
    [HALLBUS__ENVELOPE__BODY_POLICY_APPLIED] = s_policy_applied,
    [HALLBUS__ENVELOPE__BODY_CALENDAR_APPLIED] = s_calendar_applied,
};

int hb_hall_state_apply(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    assert(s && env);
    if (!s->tindex_ok && s->n_tickets >= HS_TINDEX_MIN)
        s_tindex_build(s);
    s->seq = env->seq;
    s->at_ms = env->at_ms;
    /* A negative case from a hand-built envelope becomes a huge index: unknown. */
    size_t kind = (size_t)env->body_case;
    if (kind >= HS_COUNT(s_handlers) || !s_handlers[kind]) {
        s->unknown_events++;
        return 0;
    }
    int rc = s_handlers[kind](s, env);
    if (rc == 0)
        return 0;
    s->anomalies++;
    return rc == HB_ENOMEM ? HB_ENOMEM : HB_EINVAL;
}

int hb_hall_state_apply_bytes(hb_hall_state_t *s, const uint8_t *data, size_t len)
{
    assert(s);
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    if (!env) {
        s->anomalies++;
        return HB_EPARSE;
    }
    int rc = hb_hall_state_apply(s, env);
    hb_envelope_free(env);
    return rc;
}

/* ------------------------------------------------------------ to JSON ---- */

static void s_put_int(json_t *o, const char *key, int64_t v, bool *bad)
{
    hb_json_set(o, key, json_integer((json_int_t)v), bad);
}

static void s_put_u64(json_t *o, const char *key, uint64_t v, bool *bad)
{
    hb_json_set(o, key, hb_json_u64(v), bad);
}

static void s_put_str(json_t *o, const char *key, const char *v, bool *bad)
{
    hb_json_set(o, key, json_string(v), bad);
}

static void s_put_bool(json_t *o, const char *key, bool v, bool *bad)
{
    hb_json_set(o, key, json_boolean(v), bad);
}

static json_t *s_ticket_json(const hb_hs_ticket_t *t)
{
    bool bad = false;
    json_t *o = json_object();
    s_put_str(o, "id", t->id, &bad);
    s_put_str(o, "service", t->service, &bad);
    s_put_str(o, "counter", t->counter, &bad);
    s_put_int(o, "priority", t->priority, &bad);
    s_put_str(o, "state", hb_ticket_state_name(t->state), &bad);
    s_put_int(o, "outcome", t->outcome, &bad);
    s_put_int(o, "number", t->number, &bad);
    s_put_int(o, "recalls", t->recalls, &bad);
    s_put_int(o, "wait_s", t->wait_s, &bad);
    s_put_bool(o, "transferred", t->transferred, &bad);
    s_put_int(o, "issued_ms", t->issued_ms, &bad);
    s_put_int(o, "called_ms", t->called_ms, &bad);
    s_put_int(o, "started_ms", t->started_ms, &bad);
    s_put_int(o, "ended_ms", t->ended_ms, &bad);
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}

static json_t *s_service_json(const hb_hs_service_t *v)
{
    bool bad = false;
    json_t *o = json_object();
    s_put_str(o, "code", v->code, &bad);
    s_put_int(o, "waiting", v->waiting, &bad);
    s_put_int(o, "next_number", v->next_number, &bad);
    s_put_int(o, "issued", v->issued, &bad);
    s_put_int(o, "called", v->called, &bad);
    s_put_int(o, "served", v->served, &bad);
    s_put_int(o, "no_shows", v->no_shows, &bad);
    s_put_int(o, "cancelled", v->cancelled, &bad);
    s_put_int(o, "transferred_in", v->transferred_in, &bad);
    s_put_int(o, "transferred_out", v->transferred_out, &bad);
    s_put_u64(o, "wait_s_sum", v->wait_s_sum, &bad);
    s_put_int(o, "wait_n", v->wait_n, &bad);
    s_put_int(o, "wait_max_s", v->wait_max_s, &bad);
    s_put_u64(o, "service_s_sum", v->service_s_sum, &bad);
    s_put_int(o, "service_n", v->service_n, &bad);
    json_t *ring = json_array();
    for (unsigned i = 0; i < v->n_recent && i < HB_HS_DURATIONS; i++)
        hb_json_append(
            ring, json_integer(v->recent_service_s[(v->recent_pos + i) % HB_HS_DURATIONS]), &bad);
    hb_json_set(o, "recent_service_s", ring, &bad);
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}

static json_t *s_counter_json(const hb_hs_counter_t *c)
{
    bool bad = false;
    json_t *o = json_object();
    s_put_str(o, "id", c->id, &bad);
    s_put_str(o, "staff", c->staff, &bad);
    s_put_str(o, "state", hb_counter_state_name(c->state), &bad);
    json_t *services = json_array();
    for (size_t i = 0; i < c->n_services && i < HB_HS_COUNTER_SERVICES_MAX; i++)
        hb_json_append(services, json_string(c->services[i]), &bad);
    hb_json_set(o, "services", services, &bad);
    s_put_str(o, "ticket", c->ticket, &bad);
    s_put_int(o, "state_since_ms", c->state_since_ms, &bad);
    s_put_int(o, "open_ms", c->open_ms, &bad);
    s_put_int(o, "busy_ms", c->busy_ms, &bad);
    s_put_int(o, "served", c->served, &bad);
    s_put_int(o, "priority_streak", c->priority_streak, &bad);
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}

static json_t *s_complaint_json(const hb_hs_complaint_t *c)
{
    bool bad = false;
    json_t *o = json_object();
    s_put_str(o, "id", c->id, &bad);
    s_put_str(o, "category", c->category, &bad);
    s_put_str(o, "ticket", c->ticket, &bad);
    s_put_str(o, "acked_by", c->acked_by, &bad);
    s_put_int(o, "channel", c->channel, &bad);
    s_put_int(o, "severity", c->severity, &bad);
    s_put_str(o, "state", hb_complaint_state_name(c->state), &bad);
    s_put_int(o, "escalation", c->escalation, &bad);
    s_put_bool(o, "ack_missed", c->ack_missed, &bad);
    s_put_bool(o, "resolve_missed", c->resolve_missed, &bad);
    s_put_int(o, "opened_ms", c->opened_ms, &bad);
    s_put_int(o, "acked_ms", c->acked_ms, &bad);
    s_put_int(o, "ack_due_ms", c->ack_due_ms, &bad);
    s_put_int(o, "resolve_due_ms", c->resolve_due_ms, &bad);
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}

static json_t *s_device_json(const hb_hs_device_t *d)
{
    bool bad = false;
    json_t *o = json_object();
    s_put_str(o, "id", d->id, &bad);
    s_put_int(o, "kind", d->kind, &bad);
    s_put_int(o, "state", d->state, &bad);
    s_put_str(o, "detail", d->detail, &bad);
    s_put_int(o, "since_ms", d->since_ms, &bad);
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}

static json_t *s_u32_array(const uint32_t *v, size_t n, bool *bad)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        hb_json_append(a, json_integer(v[i]), bad);
    return a;
}

static json_t *s_today_json(const hb_hs_today_t *d)
{
    bool bad = false;
    json_t *o = json_object();
    s_put_str(o, "date", d->date, &bad);
    s_put_int(o, "issued", d->issued, &bad);
    s_put_int(o, "called", d->called, &bad);
    s_put_int(o, "served", d->served, &bad);
    s_put_int(o, "no_shows", d->no_shows, &bad);
    s_put_int(o, "cancelled", d->cancelled, &bad);
    s_put_int(o, "transferred", d->transferred, &bad);
    hb_json_set(o, "outcomes", s_u32_array(d->outcomes, HS_COUNT(d->outcomes), &bad), &bad);
    s_put_int(o, "amount_sum", d->amount_sum, &bad);
    s_put_u64(o, "wait_s_sum", d->wait_s_sum, &bad);
    s_put_int(o, "wait_n", d->wait_n, &bad);
    s_put_int(o, "wait_max_s", d->wait_max_s, &bad);
    s_put_u64(o, "service_s_sum", d->service_s_sum, &bad);
    s_put_int(o, "service_n", d->service_n, &bad);
    s_put_int(o, "complaints_opened", d->complaints_opened, &bad);
    s_put_int(o, "complaints_resolved", d->complaints_resolved, &bad);
    s_put_int(o, "complaints_satisfied", d->complaints_satisfied, &bad);
    s_put_int(o, "escalations", d->escalations, &bad);
    hb_json_set(o, "feedback", s_u32_array(d->feedback, HS_COUNT(d->feedback), &bad), &bad);
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}

/* An array of the `n` entries at `base`, each turned into JSON by `fn`. */
#define HS_LIST(fn, base, n, bad)                                                                  \
    ({                                                                                             \
        json_t *a_ = json_array();                                                                 \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
            hb_json_append(a_, fn(&(base)[i_]), (bad));                                            \
        a_;                                                                                        \
    })

json_t *hb_hall_state_to_json(const hb_hall_state_t *s)
{
    bool bad = false;
    json_t *o = json_object();
    s_put_int(o, "format", HB_HS_SNAPSHOT_FORMAT, &bad);
    s_put_u64(o, "seq", s->seq, &bad);
    s_put_int(o, "at_ms", s->at_ms, &bad);
    s_put_str(o, "timezone", s->timezone, &bad);
    s_put_int(o, "utc_offset_s", s->utc_offset_s, &bad);
    s_put_u64(o, "policy_version", s->policy_version, &bad);
    s_put_u64(o, "calendar_version", s->calendar_version, &bad);
    s_put_u64(o, "anomalies", s->anomalies, &bad);
    s_put_u64(o, "unknown_events", s->unknown_events, &bad);
    hb_json_set(o, "today", s_today_json(&s->today), &bad);
    hb_json_set(o, "services", HS_LIST(s_service_json, s->services, s->n_services, &bad), &bad);
    hb_json_set(o, "counters", HS_LIST(s_counter_json, s->counters, s->n_counters, &bad), &bad);
    hb_json_set(o, "tickets", HS_LIST(s_ticket_json, s->tickets, s->n_tickets, &bad), &bad);
    hb_json_set(o, "complaints", HS_LIST(s_complaint_json, s->complaints, s->n_complaints, &bad),
                &bad);
    hb_json_set(o, "devices", HS_LIST(s_device_json, s->devices, s->n_devices, &bad), &bad);
    hb_json_set(o, "recent", HS_LIST(s_ticket_json, s->recent, s->n_recent, &bad), &bad);
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}

/* ---------------------------------------------------------- from JSON ---- */

/* Snapshot refusals name the member by its path: "snapshot member
 * tickets[3].id is missing" (hallbus/json.h's reader). */
#define HS_STR_(x) #x
#define HS_STR(x) HS_STR_(x)
static const hb_jr_style_t s_snap_style = {
    "snapshot member ", " ", "is missing",
    "is not a member of snapshot format " HS_STR(HB_HS_SNAPSHOT_FORMAT)};

static uint32_t s_rd_u32(hb_jr_t *r, const char *key)
{
    return (uint32_t)hb_jr_int(r, key, 0, UINT32_MAX);
}

static int s_rd_i32(hb_jr_t *r, const char *key)
{
    return (int)hb_jr_int(r, key, INT32_MIN, INT32_MAX);
}

static int64_t s_rd_ms(hb_jr_t *r, const char *key)
{
    return hb_jr_int(r, key, INT64_MIN, INT64_MAX);
}

/* One of the reducer's state names, from `first` to `last`. */
static int s_rd_state(hb_jr_t *r, const char *key, const char *const *names, size_t n, int first,
                      int last)
{
    return hb_jr_name(r, key, names, n, first, last, "must name a state allowed here");
}

static void s_rd_ticket(hb_jr_t *r, hb_hs_ticket_t *t, bool live)
{
    hb_jr_str(r, "id", t->id, sizeof t->id);
    hb_jr_str(r, "service", t->service, sizeof t->service);
    hb_jr_str(r, "counter", t->counter, sizeof t->counter);
    t->priority = s_rd_i32(r, "priority");
    t->state = live ? s_rd_state(r, "state", s_ticket_states, HS_COUNT(s_ticket_states),
                                 HB_TICKET_WAITING, HB_TICKET_SERVING)
                    : s_rd_state(r, "state", s_ticket_states, HS_COUNT(s_ticket_states),
                                 HB_TICKET_SERVED, HB_TICKET_CANCELLED);
    t->outcome = s_rd_i32(r, "outcome");
    t->number = s_rd_u32(r, "number");
    t->recalls = s_rd_u32(r, "recalls");
    t->wait_s = s_rd_u32(r, "wait_s");
    t->transferred = hb_jr_bool(r, "transferred");
    t->issued_ms = s_rd_ms(r, "issued_ms");
    t->called_ms = s_rd_ms(r, "called_ms");
    t->started_ms = s_rd_ms(r, "started_ms");
    t->ended_ms = s_rd_ms(r, "ended_ms");
    if (*r->rc == 0 && !t->id[0])
        hb_jr_fail(r, "id", "must not be empty");
    hb_jr_end(r);
}

static void s_rd_service(hb_jr_t *r, hb_hs_service_t *v)
{
    hb_jr_str(r, "code", v->code, sizeof v->code);
    v->waiting = s_rd_u32(r, "waiting");
    v->next_number = (uint32_t)hb_jr_int(r, "next_number", 1, UINT32_MAX);
    v->issued = s_rd_u32(r, "issued");
    v->called = s_rd_u32(r, "called");
    v->served = s_rd_u32(r, "served");
    v->no_shows = s_rd_u32(r, "no_shows");
    v->cancelled = s_rd_u32(r, "cancelled");
    v->transferred_in = s_rd_u32(r, "transferred_in");
    v->transferred_out = s_rd_u32(r, "transferred_out");
    v->wait_s_sum = hb_jr_u64(r, "wait_s_sum");
    v->wait_n = s_rd_u32(r, "wait_n");
    v->wait_max_s = s_rd_u32(r, "wait_max_s");
    v->service_s_sum = hb_jr_u64(r, "service_s_sum");
    v->service_n = s_rd_u32(r, "service_n");
    const json_t *ring = hb_jr_array(r, "recent_service_s", HB_HS_DURATIONS);
    for (size_t i = 0; ring && i < json_array_size(ring); i++) {
        const json_t *x = json_array_get(ring, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            json_integer_value(x) > (json_int_t)UINT32_MAX) {
            hb_jr_fail(r, "recent_service_s", "[%zu] must be an integer from 0 to %" PRIu32, i,
                       UINT32_MAX);
            break;
        }
        v->recent_service_s[i] = (uint32_t)json_integer_value(x);
        v->n_recent++;
    }
    if (*r->rc == 0 && !v->code[0])
        hb_jr_fail(r, "code", "must not be empty");
    hb_jr_end(r);
}

static void s_rd_counter(hb_jr_t *r, hb_hs_counter_t *c)
{
    hb_jr_str(r, "id", c->id, sizeof c->id);
    hb_jr_str(r, "staff", c->staff, sizeof c->staff);
    c->state = s_rd_state(r, "state", s_counter_states, HS_COUNT(s_counter_states),
                          HB_COUNTER_CLOSED, HB_COUNTER_PAUSED);
    const json_t *services = hb_jr_array(r, "services", HB_HS_COUNTER_SERVICES_MAX);
    for (size_t i = 0; services && i < json_array_size(services); i++) {
        const json_t *x = json_array_get(services, i);
        const char *text = json_string_value(x);
        if (!text || !text[0] || strlen(text) != json_string_length(x) ||
            json_string_length(x) >= HB_HS_ID) {
            hb_jr_fail(r, "services", "[%zu] must be a service code of 1 to %d bytes", i,
                       HB_HS_ID - 1);
            break;
        }
        memcpy(c->services[c->n_services++], text, json_string_length(x) + 1);
    }
    hb_jr_str(r, "ticket", c->ticket, sizeof c->ticket);
    c->state_since_ms = s_rd_ms(r, "state_since_ms");
    c->open_ms = hb_jr_int(r, "open_ms", 0, INT64_MAX);
    c->busy_ms = hb_jr_int(r, "busy_ms", 0, INT64_MAX);
    c->served = s_rd_u32(r, "served");
    c->priority_streak = s_rd_u32(r, "priority_streak");
    if (*r->rc == 0 && !c->id[0])
        hb_jr_fail(r, "id", "must not be empty");
    hb_jr_end(r);
}

static void s_rd_complaint(hb_jr_t *r, hb_hs_complaint_t *c)
{
    hb_jr_str(r, "id", c->id, sizeof c->id);
    hb_jr_str(r, "category", c->category, sizeof c->category);
    hb_jr_str(r, "ticket", c->ticket, sizeof c->ticket);
    hb_jr_str(r, "acked_by", c->acked_by, sizeof c->acked_by);
    c->channel = s_rd_i32(r, "channel");
    c->severity = s_rd_i32(r, "severity");
    c->state = s_rd_state(r, "state", s_complaint_states, HS_COUNT(s_complaint_states),
                          HB_COMPLAINT_OPEN, HB_COMPLAINT_ACKNOWLEDGED);
    c->escalation = s_rd_i32(r, "escalation");
    c->ack_missed = hb_jr_bool(r, "ack_missed");
    c->resolve_missed = hb_jr_bool(r, "resolve_missed");
    c->opened_ms = s_rd_ms(r, "opened_ms");
    c->acked_ms = s_rd_ms(r, "acked_ms");
    c->ack_due_ms = s_rd_ms(r, "ack_due_ms");
    c->resolve_due_ms = s_rd_ms(r, "resolve_due_ms");
    if (*r->rc == 0 && !c->id[0])
        hb_jr_fail(r, "id", "must not be empty");
    hb_jr_end(r);
}

static void s_rd_device(hb_jr_t *r, hb_hs_device_t *d)
{
    hb_jr_str(r, "id", d->id, sizeof d->id);
    d->kind = s_rd_i32(r, "kind");
    d->state = s_rd_i32(r, "state");
    hb_jr_str(r, "detail", d->detail, sizeof d->detail);
    d->since_ms = s_rd_ms(r, "since_ms");
    if (*r->rc == 0 && !d->id[0])
        hb_jr_fail(r, "id", "must not be empty");
    hb_jr_end(r);
}

static void s_rd_today(hb_jr_t *r, hb_hs_today_t *d)
{
    hb_jr_str(r, "date", d->date, sizeof d->date);
    d->issued = s_rd_u32(r, "issued");
    d->called = s_rd_u32(r, "called");
    d->served = s_rd_u32(r, "served");
    d->no_shows = s_rd_u32(r, "no_shows");
    d->cancelled = s_rd_u32(r, "cancelled");
    d->transferred = s_rd_u32(r, "transferred");
    hb_jr_u32s(r, "outcomes", d->outcomes, HS_COUNT(d->outcomes));
    d->amount_sum = s_rd_ms(r, "amount_sum");
    d->wait_s_sum = hb_jr_u64(r, "wait_s_sum");
    d->wait_n = s_rd_u32(r, "wait_n");
    d->wait_max_s = s_rd_u32(r, "wait_max_s");
    d->service_s_sum = hb_jr_u64(r, "service_s_sum");
    d->service_n = s_rd_u32(r, "service_n");
    d->complaints_opened = s_rd_u32(r, "complaints_opened");
    d->complaints_resolved = s_rd_u32(r, "complaints_resolved");
    d->complaints_satisfied = s_rd_u32(r, "complaints_satisfied");
    d->escalations = s_rd_u32(r, "escalations");
    hb_jr_u32s(r, "feedback", d->feedback, HS_COUNT(d->feedback));
    if (*r->rc == 0 && d->date[0] && !s_date_ok(d->date))
        hb_jr_fail(r, "date", "must be YYYY-MM-DD or empty");
    hb_jr_end(r);
}

/* Allocates room for `n` entries (at least HS_CAP_MIN, at most `max`). */
static int s_alloc(void **arr, size_t *cap, size_t n, size_t elem, size_t max)
{
    size_t want = n < HS_CAP_MIN ? HS_CAP_MIN : n;
    if (want > max)
        want = max;
    *arr = calloc(want, elem);
    if (!*arr)
        return HB_ENOMEM;
    *cap = want;
    return 0;
}

#define HS_ALLOC(s, name, n, max)                                                                  \
    ({                                                                                             \
        void *p_ = NULL;                                                                           \
        int rc_ = s_alloc(&p_, &(s)->cap_##name, (n), sizeof *(s)->name, (max));                   \
        (s)->name = p_;                                                                            \
        rc_;                                                                                       \
    })

/* Whether entry `i` of an array repeats the id of an earlier one. */
#define HS_DUP(base, i, field)                                                                     \
    ({                                                                                             \
        bool d_ = false;                                                                           \
        for (size_t j_ = 0; j_ < (i) && !d_; j_++)                                                 \
            d_ = strcmp((base)[j_].field, (base)[i].field) == 0;                                   \
        d_;                                                                                        \
    })

/* What the reducer always keeps true, so that a restored state behaves as
 * the one it came from: ids unique, every live ticket in a known service,
 * waiting counts that match the waiting tickets, and a calling or serving
 * counter attached to a live ticket that names it back. */
static int s_check(const hb_hall_state_t *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n_services; i++) {
        if (HS_DUP(s->services, i, code)) {
            hb_errf(err, errlen, "snapshot member services[%zu].code repeats '%s'", i,
                    s->services[i].code);
            return HB_EINVAL;
        }
    }
    for (size_t i = 0; i < s->n_counters; i++) {
        if (HS_DUP(s->counters, i, id)) {
            hb_errf(err, errlen, "snapshot member counters[%zu].id repeats '%s'", i,
                    s->counters[i].id);
            return HB_EINVAL;
        }
    }
    for (size_t i = 0; i < s->n_complaints; i++) {
        if (HS_DUP(s->complaints, i, id)) {
            hb_errf(err, errlen, "snapshot member complaints[%zu].id repeats '%s'", i,
                    s->complaints[i].id);
            return HB_EINVAL;
        }
    }
    for (size_t i = 0; i < s->n_devices; i++) {
        if (HS_DUP(s->devices, i, id)) {
            hb_errf(err, errlen, "snapshot member devices[%zu].id repeats '%s'", i,
                    s->devices[i].id);
            return HB_EINVAL;
        }
    }
    for (size_t i = 0; i < s->n_tickets; i++) {
        if (HS_DUP(s->tickets, i, id)) {
            hb_errf(err, errlen, "snapshot member tickets[%zu].id repeats '%s'", i,
                    s->tickets[i].id);
            return HB_EINVAL;
        }
        if (!hb_hall_state_service(s, s->tickets[i].service)) {
            hb_errf(err, errlen, "snapshot member tickets[%zu].service '%s' is not in services", i,
                    s->tickets[i].service);
            return HB_EINVAL;
        }
    }
    for (size_t k = 0; k < s->n_services; k++) {
        uint32_t waiting = 0;
        for (size_t i = 0; i < s->n_tickets; i++)
            waiting += s->tickets[i].state == HB_TICKET_WAITING &&
                       strcmp(s->tickets[i].service, s->services[k].code) == 0;
        if (waiting != s->services[k].waiting) {
            hb_errf(err, errlen,
                    "snapshot member services[%zu].waiting is %" PRIu32 " but %" PRIu32
                    " of its tickets wait",
                    k, s->services[k].waiting, waiting);
            return HB_EINVAL;
        }
    }
    for (size_t k = 0; k < s->n_counters; k++) {
        const hb_hs_counter_t *c = &s->counters[k];
        if (!s_counter_busy(c->state))
            continue;
        const hb_hs_ticket_t *t = hb_hall_state_ticket(s, c->ticket);
        if (!t || strcmp(t->counter, c->id) != 0) {
            hb_errf(err, errlen,
                    "snapshot member counters[%zu].ticket must name a live ticket at "
                    "that counter while it is %s",
                    k, hb_counter_state_name(c->state));
            return HB_EINVAL;
        }
    }
    return 0;
}

/* Reads array `key` of the top-level reader into `base` with `fn`. */
#define HS_READ_LIST(top, key, a, base, n, fn, ...)                                                \
    do {                                                                                           \
        for (size_t i_ = 0; (a) && *(top)->rc == 0 && i_ < json_array_size(a); i_++) {             \
            hb_jr_t r_;                                                                            \
            if (hb_jr_entry((top), (key), (a), i_, &r_))                                           \
                fn(&r_, &(base)[i_], ##__VA_ARGS__);                                               \
            (n) = i_ + 1;                                                                          \
        }                                                                                          \
    } while (0)

int hb_hall_state_from_json(const json_t *snap, hb_hall_state_t **out, char *err, size_t errlen)
{
    assert(out);
    *out = NULL;
    if (!json_is_object(snap)) {
        hb_errf(err, errlen, "snapshot must be a JSON object");
        return HB_EINVAL;
    }
    int rc = 0;
    hb_jr_t top = hb_jr_open(snap, "", &s_snap_style, &rc, err, errlen);
    const json_t *format = hb_jr_get(&top, "format");
    if (format &&
        (!json_is_integer(format) || json_integer_value(format) != HB_HS_SNAPSHOT_FORMAT)) {
        hb_jr_fail(&top, "format", "must be %d: this build reads no other snapshot format",
                   HB_HS_SNAPSHOT_FORMAT);
    }
    if (rc != 0)
        return rc;
    hb_hall_state_t *s = hb_hall_state_new();
    if (!s)
        return HB_ENOMEM;
    s->seq = hb_jr_u64(&top, "seq");
    s->at_ms = s_rd_ms(&top, "at_ms");
    hb_jr_str(&top, "timezone", s->timezone, sizeof s->timezone);
    s->utc_offset_s = s_rd_i32(&top, "utc_offset_s");
    s->policy_version = hb_jr_u64(&top, "policy_version");
    s->calendar_version = hb_jr_u64(&top, "calendar_version");
    s->anomalies = hb_jr_u64(&top, "anomalies");
    s->unknown_events = hb_jr_u64(&top, "unknown_events");
    const json_t *today = hb_jr_object(&top, "today");
    if (today) {
        hb_jr_t r = hb_jr_open(today, "today", &s_snap_style, &rc, err, errlen);
        s_rd_today(&r, &s->today);
    }
    const json_t *services = hb_jr_array(&top, "services", HB_HS_SERVICES_MAX);
    const json_t *counters = hb_jr_array(&top, "counters", HB_HS_COUNTERS_MAX);
    const json_t *tickets = hb_jr_array(&top, "tickets", HB_HS_TICKETS_MAX);
    const json_t *complaints = hb_jr_array(&top, "complaints", HB_HS_COMPLAINTS_MAX);
    const json_t *devices = hb_jr_array(&top, "devices", HB_HS_DEVICES_MAX);
    const json_t *recent = hb_jr_array(&top, "recent", HB_HS_RECENT_MAX);
    hb_jr_end(&top);
    if (rc != 0)
        goto out;
    if (HS_ALLOC(s, services, json_array_size(services), HB_HS_SERVICES_MAX) != 0 ||
        HS_ALLOC(s, counters, json_array_size(counters), HB_HS_COUNTERS_MAX) != 0 ||
        HS_ALLOC(s, tickets, json_array_size(tickets), HB_HS_TICKETS_MAX) != 0 ||
        HS_ALLOC(s, complaints, json_array_size(complaints), HB_HS_COMPLAINTS_MAX) != 0 ||
        HS_ALLOC(s, devices, json_array_size(devices), HB_HS_DEVICES_MAX) != 0) {
        rc = HB_ENOMEM;
        hb_errf(err, errlen, "out of memory restoring a snapshot");
        goto out;
    }
    HS_READ_LIST(&top, "services", services, s->services, s->n_services, s_rd_service);
    HS_READ_LIST(&top, "counters", counters, s->counters, s->n_counters, s_rd_counter);
    HS_READ_LIST(&top, "tickets", tickets, s->tickets, s->n_tickets, s_rd_ticket, true);
    HS_READ_LIST(&top, "complaints", complaints, s->complaints, s->n_complaints, s_rd_complaint);
    HS_READ_LIST(&top, "devices", devices, s->devices, s->n_devices, s_rd_device);
    HS_READ_LIST(&top, "recent", recent, s->recent, s->n_recent, s_rd_ticket, false);
    if (rc == 0)
        rc = s_check(s, err, errlen);
out:
    if (rc != 0) {
        hb_hall_state_destroy(&s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ------------------------------------------------------------ the view ---- */

static json_t *s_time_json(int64_t ms)
{
    if (ms < 0 || ms > HS_TIME_MAX)
        ms = ms < 0 ? 0 : HS_TIME_MAX;
    char text[HB_RFC3339_MAX];
    hb_time_format(ms, text);
    return json_string(text);
}

/* A time of the state, null while unset (0). */
static json_t *s_time_or_null(int64_t ms) { return ms ? s_time_json(ms) : json_null(); }

static json_t *s_str_or_null(const char *v) { return v[0] ? json_string(v) : json_null(); }

/* An enum of the .proto by its JSON name, or its number when this build
 * has no name for it. */
static json_t *s_enum_json(const ProtobufCEnumDescriptor *ed, int v)
{
    char name[96];
    if (hb_enum_name(ed, v, name, sizeof name))
        return json_string(name);
    return json_integer(v);
}

static int64_t s_avg(uint64_t sum, uint32_t n) { return n ? (int64_t)((sum + n / 2) / n) : 0; }

static json_t *s_view_services(const hb_hall_state_t *s, const hb_hall_figures_t *f, bool *bad)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_services; i++) {
        const hb_hs_service_t *v = &s->services[i];
        /* The figures list the state's services first, in its order. */
        const hb_fig_service_t *fv = &f->services[i];
        json_t *o = json_object();
        s_put_str(o, "service", v->code, bad);
        s_put_int(o, "waiting", fv->waiting, bad);
        s_put_int(o, "oldest_wait_s",
                  fv->oldest_issued_ms ? hb_fig_wait_s(fv->oldest_issued_ms, f->now_ms) : 0, bad);
        s_put_int(o, "next_number", v->next_number, bad);
        s_put_int(o, "issued", v->issued, bad);
        s_put_int(o, "served", v->served, bad);
        s_put_int(o, "no_shows", v->no_shows, bad);
        s_put_int(o, "cancelled", v->cancelled, bad);
        s_put_int(o, "avg_wait_s", s_avg(v->wait_s_sum, v->wait_n), bad);
        s_put_int(o, "max_wait_s", v->wait_max_s, bad);
        s_put_int(o, "avg_service_s", s_avg(v->service_s_sum, v->service_n), bad);
        hb_json_append(a, o, bad);
    }
    return a;
}

static json_t *s_view_counters(const hb_hall_state_t *s, int64_t now_ms, bool *bad)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_counters; i++) {
        const hb_hs_counter_t *c = &s->counters[i];
        int64_t open_ms, busy_ms;
        hb_hall_state_counter_times(c, now_ms, &open_ms, &busy_ms);
        json_t *o = json_object();
        s_put_str(o, "counter", c->id, bad);
        s_put_str(o, "state", hb_counter_state_name(c->state), bad);
        s_put_str(o, "staff", c->staff, bad);
        json_t *services = json_array();
        for (size_t k = 0; k < c->n_services; k++)
            hb_json_append(services, json_string(c->services[k]), bad);
        hb_json_set(o, "services", services, bad);
        hb_json_set(o, "ticket", s_str_or_null(c->ticket), bad);
        hb_json_set(o, "since", s_time_json(c->state_since_ms), bad);
        s_put_int(o, "open_s", open_ms / 1000, bad);
        s_put_int(o, "busy_s", busy_ms / 1000, bad);
        double u = open_ms > 0 ? (double)busy_ms / (double)open_ms : 0.0;
        hb_json_set(o, "utilisation", json_real(round(u * 1000.0) / 1000.0), bad);
        s_put_int(o, "served", c->served, bad);
        hb_json_append(a, o, bad);
    }
    return a;
}

static json_t *s_view_tickets(const hb_hall_state_t *s, int64_t now_ms, bool *bad)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_tickets; i++) {
        const hb_hs_ticket_t *t = &s->tickets[i];
        int64_t wait_s = t->state == HB_TICKET_WAITING ? hb_ms_elapsed(t->issued_ms, now_ms) / 1000
                                                       : (int64_t)t->wait_s;
        json_t *o = json_object();
        s_put_str(o, "ticket", t->id, bad);
        s_put_str(o, "service", t->service, bad);
        hb_json_set(o, "priority", s_enum_json(&hallbus__priority__descriptor, t->priority), bad);
        s_put_str(o, "state", hb_ticket_state_name(t->state), bad);
        hb_json_set(o, "counter", s_str_or_null(t->counter), bad);
        hb_json_set(o, "issued", s_time_json(t->issued_ms), bad);
        s_put_int(o, "wait_s", wait_s, bad);
        s_put_int(o, "recalls", t->recalls, bad);
        s_put_bool(o, "transferred", t->transferred, bad);
        hb_json_append(a, o, bad);
    }
    return a;
}

static json_t *s_view_complaints(const hb_hall_state_t *s, int64_t now_ms, bool *bad)
{
    json_t *list = json_array();
    for (size_t i = 0; i < s->n_complaints; i++) {
        const hb_hs_complaint_t *c = &s->complaints[i];
        json_t *o = json_object();
        s_put_str(o, "complaint", c->id, bad);
        s_put_str(o, "state", hb_complaint_state_name(c->state), bad);
        hb_json_set(o, "severity", s_enum_json(&hallbus__severity__descriptor, c->severity), bad);
        s_put_str(o, "category", c->category, bad);
        hb_json_set(o, "channel", s_enum_json(&hallbus__complaint_channel__descriptor, c->channel),
                    bad);
        hb_json_set(o, "ticket", s_str_or_null(c->ticket), bad);
        hb_json_set(o, "opened", s_time_json(c->opened_ms), bad);
        hb_json_set(o, "ack_due", s_time_or_null(c->ack_due_ms), bad);
        hb_json_set(o, "resolve_due", s_time_or_null(c->resolve_due_ms), bad);
        hb_json_set(o, "escalation",
                    c->escalation
                        ? s_enum_json(&hallbus__escalation_level__descriptor, c->escalation)
                        : json_null(),
                    bad);
        s_put_bool(o, "overdue", s_overdue(c, now_ms), bad);
        hb_json_append(list, o, bad);
    }
    json_t *o = json_object();
    s_put_int(o, "open", (int64_t)s->n_complaints, bad);
    s_put_int(o, "overdue", hb_hall_state_overdue(s, now_ms), bad);
    hb_json_set(o, "list", list, bad);
    return o;
}

static json_t *s_view_devices(const hb_hall_state_t *s, bool *bad)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_devices; i++) {
        const hb_hs_device_t *d = &s->devices[i];
        json_t *o = json_object();
        s_put_str(o, "device", d->id, bad);
        hb_json_set(o, "kind", s_enum_json(&hallbus__device_kind__descriptor, d->kind), bad);
        hb_json_set(o, "state", s_enum_json(&hallbus__device_state__descriptor, d->state), bad);
        s_put_str(o, "detail", d->detail, bad);
        hb_json_set(o, "since", s_time_json(d->since_ms), bad);
        hb_json_append(a, o, bad);
    }
    return a;
}

static json_t *s_view_today(const hb_hs_today_t *d, bool *bad)
{
    uint64_t score_sum = 0, scores = 0;
    for (unsigned i = 0; i < HS_COUNT(d->feedback); i++) {
        score_sum += (uint64_t)d->feedback[i] * (i + 1);
        scores += d->feedback[i];
    }
    json_t *o = json_object();
    s_put_int(o, "issued", d->issued, bad);
    s_put_int(o, "served", d->served, bad);
    s_put_int(o, "no_shows", d->no_shows, bad);
    s_put_int(o, "cancelled", d->cancelled, bad);
    s_put_int(o, "transferred", d->transferred, bad);
    s_put_int(o, "avg_wait_s", s_avg(d->wait_s_sum, d->wait_n), bad);
    s_put_int(o, "max_wait_s", d->wait_max_s, bad);
    s_put_int(o, "avg_service_s", s_avg(d->service_s_sum, d->service_n), bad);
    s_put_int(o, "complaints_opened", d->complaints_opened, bad);
    s_put_int(o, "complaints_resolved", d->complaints_resolved, bad);
    s_put_int(o, "escalations", d->escalations, bad);
    hb_json_set(o, "satisfaction_avg",
                scores ? json_real(round((double)score_sum / (double)scores * 100.0) / 100.0)
                       : json_null(),
                bad);
    s_put_u64(o, "feedback_count", scores, bad);
    s_put_int(o, "amount_sum", d->amount_sum, bad);
    json_t *outcomes = json_object();
    for (int k = HALLBUS__OUTCOME__OUTCOME_DONE; k <= HALLBUS__OUTCOME__OUTCOME_REJECTED_DOCUMENTS;
         k++) {
        char name[64];
        if (hb_enum_name(&hallbus__outcome__descriptor, k, name, sizeof name))
            s_put_int(outcomes, name, d->outcomes[k], bad);
    }
    hb_json_set(o, "outcomes", outcomes, bad);
    return o;
}

json_t *hb_hall_state_view(const hb_hall_state_t *s, int64_t now_ms)
{
    bool bad = false;
    uint32_t not_ok = 0;
    /* Large (every service of the hall), so not on the stack. */
    hb_hall_figures_t *f = malloc(sizeof *f);
    if (!f)
        return NULL;
    hb_hall_figures(s, NULL, now_ms, f);
    for (size_t i = 0; i < s->n_devices; i++)
        not_ok += s->devices[i].state != HALLBUS__DEVICE_STATE__DEVICE_STATE_OK;
    json_t *o = json_object();
    s_put_u64(o, "seq", s->seq, &bad);
    hb_json_set(o, "at", s->seq ? s_time_json(s->at_ms) : json_null(), &bad);
    hb_json_set(o, "date", s_str_or_null(s->today.date), &bad);
    s_put_int(o, "waiting", f->waiting, &bad);
    s_put_int(o, "longest_wait_s",
              f->oldest_issued_ms ? hb_fig_wait_s(f->oldest_issued_ms, now_ms) : 0, &bad);
    hb_json_set(o, "services", s_view_services(s, f, &bad), &bad);
    hb_json_set(o, "counters", s_view_counters(s, now_ms, &bad), &bad);
    s_put_int(o, "counters_open", f->counters_open, &bad);
    s_put_int(o, "counters_busy", f->counters_busy, &bad);
    hb_json_set(o, "tickets", s_view_tickets(s, now_ms, &bad), &bad);
    hb_json_set(o, "complaints", s_view_complaints(s, now_ms, &bad), &bad);
    hb_json_set(o, "devices", s_view_devices(s, &bad), &bad);
    s_put_int(o, "devices_not_ok", not_ok, &bad);
    hb_json_set(o, "today", s_view_today(&s->today, &bad), &bad);
    s_put_u64(o, "policy_version", s->policy_version, &bad);
    s_put_u64(o, "calendar_version", s->calendar_version, &bad);
    s_put_u64(o, "anomalies", s->anomalies, &bad);
    free(f);
    if (bad)
        json_decref(o);
    return bad ? NULL : o;
}
