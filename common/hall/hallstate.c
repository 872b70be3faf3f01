/* The hall-state reducer (hallstate.h): what each event kind does to a hall's
 * live state. The snapshot that saves and restores that state is
 * snapshot.c's, the live view people read view.c's, and making, copying,
 * freeing and looking into a state lookups.c's. It is not where
 * anything is decided (the hall engine does that and records each decision
 * as an event), and it reads no clock: figures of the present moment take
 * `now_ms` from the caller.
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
 *   starts, with an empty date); the time zone and UTC offset are kept, and
 *   the day's start (`today.start_ms`) is that date's local midnight in that
 *   zone (hb_hs_day_start). Every
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
 * - Issue 13: ticket_issued keeps an appointment's code, due time and named
 *   staff; counter_opened the counter's elderly mark; service_completed the
 *   counter's last ticket (for the evaluator); satisfaction_scored marks its
 *   ticket rated; hall_opened today's opening and the devices it names;
 *   patrol_drawn counts today's patrols; appointment_booked adds a booking
 *   and checked_in, no_show, cancelled end an open one (else an anomaly);
 *   day_started keeps only the open bookings. The manager's other records
 *   change nothing here (day.h keeps them).
 * - An event of a kind this build does not know (a newer hall's) counts in
 *   `unknown_events` and is not an anomaly.
 * - Events of an earlier day: an event whose time is before today's start
 *   (an adapter's or a device's event of yesterday, posted after the hall's
 *   day rolled over; the hall's local day, as the engine rolls it) changes
 *   the live state as above but counts in none of today's figures: not the
 *   hall's (`today`), not a service's issued, called, served, no-show,
 *   cancelled, transferred counts and time sums, not a counter's served
 *   count, and a counter change it makes starts its running segment at
 *   today's start, so that no time of yesterday enters today's open and busy
 *   times. A late hall_opened or patrol_drawn changes nothing. What the state
 *   keeps across days still takes it (a service's recent service times, the
 *   ticket's own times and wait, the counter's last ticket), and it counts in
 *   `today.past_day_events`. An event exactly at midnight is of the new day.
 *   Both sides read the day from the same events (the date and zone of
 *   day_started, the event's own time), so the hall and HQ agree.
 * Arrays keep the order in which entries first appeared, tickets the order
 * of issue; removing an entry keeps the order of the rest. */
#include "hallbus/hallstate.h"
#include "hallstate_int.h"

#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/vec.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "hallbus/utf8.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int64_t hb_hs_day_start(const char *date, const char *zone, int32_t utc_offset_s)
{
    int32_t day;
    if (!date || !date[0] || hb_date_parse(date, &day) != 0)
        return 0;
    const hb_tz_t *tz = NULL;
    char err[128];
    if (zone && zone[0] && hb_tz_get(zone, &tz, err, sizeof err) == 0)
        return hb_tz_local_to_utc(tz, day, 0, 0);
    return ((int64_t)day * 86400 - utc_offset_s) * 1000;
}

/* Whether an event at `at` counts in today's figures: it is not of an
 * earlier local day than the state's. */
static bool s_today(const hb_hall_state_t *s, int64_t at)
{
    return s->today.start_ms == 0 || at >= s->today.start_ms;
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

bool hb_hs__date_ok(const char *d)
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

/* ------------------------------------------------- counters and tickets ---- */

/* What open and busy mean is figures.h's; the reducer counts a counter's
 * time by the same definitions. */
static bool s_counter_open(int state) { return hb_fig_counter_open(state); }

static bool s_counter_busy(int state) { return hb_fig_counter_busy(state); }

/* A counter's state changes at `at`: the segment that ends is added to its
 * open and busy time first. A change of an earlier day takes effect when
 * the counter's running segment began, or at today's start if that is
 * later, so that no time of yesterday enters today's figures. */
static void s_counter_set(const hb_hall_state_t *s, hb_hs_counter_t *c, int state, int64_t at)
{
    if (!s_today(s, at))
        at = c->state_since_ms > s->today.start_ms ? c->state_since_ms : s->today.start_ms;
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
    hb_hs_counter_t *c = hb_hs__counter(s, counter_id);
    if (!c || strcmp(c->ticket, ticket_id) != 0)
        return;
    c->ticket[0] = '\0';
    if (s_counter_busy(c->state))
        s_counter_set(s, c, HB_COUNTER_IDLE, at);
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
    hb_hs_service_t *svc = hb_hs__service(s, t->service);
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
        if (!s_today(s, at)) {
            t->called_ms = at;
            return;
        }
        hb_hs_service_t *svc = hb_hs__service(s, t->service);
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
    hb_hs_counter_t *c = hb_hs__counter(s, id);
    if (!c)
        return HB_EINVAL;
    s_counter_set(s, c, counter_state, at);
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

/* Live ticket `i` ends unserved (state HB_TICKET_NO_SHOW or
 * HB_TICKET_CANCELLED): out of its queue or off its counter, counted in
 * today's figures of its service and the hall, and finished. */
static void s_end_unserved(hb_hall_state_t *s, size_t i, const char *counter, int state, int64_t at)
{
    hb_hs_ticket_t *t = &s->tickets[i];
    s_unwait(s, t);
    s_detach(s, t, counter, at);
    if (s_today(s, at)) {
        hb_hs_service_t *svc = hb_hs__service(s, t->service);
        if (state == HB_TICKET_NO_SHOW) {
            if (svc)
                svc->no_shows++;
            s->today.no_shows++;
        } else {
            if (svc)
                svc->cancelled++;
            s->today.cancelled++;
        }
    }
    s_finish(s, i, state, at);
}

/* A service first named by a ticket, numbering from 1; the caller made
 * room for it (HS_ROOM). */
static hb_hs_service_t *s_service_add(hb_hall_state_t *s, const char *code)
{
    hb_hs_service_t *svc = &s->services[s->n_services++];
    memset(svc, 0, sizeof *svc);
    s_copy(svc->code, sizeof svc->code, code);
    svc->next_number = 1;
    return svc;
}

/* A paused or reopened counter goes back to what its attached ticket says:
 * calling it, serving it, or idle when nothing is attached any more. */
static void s_counter_back(hb_hall_state_t *s, hb_hs_counter_t *c, int64_t at)
{
    int target = HB_COUNTER_IDLE;
    const hb_hs_ticket_t *t = c->ticket[0] ? hb_hs__ticket(s, c->ticket) : NULL;
    if (t && strcmp(t->counter, c->id) == 0 && t->state == HB_TICKET_CALLED)
        target = HB_COUNTER_CALLING;
    else if (t && strcmp(t->counter, c->id) == 0 && t->state == HB_TICKET_SERVING)
        target = HB_COUNTER_SERVING;
    else
        c->ticket[0] = '\0';
    if (c->state != target)
        s_counter_set(s, c, target, at);
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
    if (hb_hs__date_ok(s_str(e->date)))
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
    s->today.start_ms = hb_hs_day_start(s->today.date, s->timezone, s->utc_offset_s);
    for (size_t i = 0; i < s->n_services; i++) {
        hb_hs_service_t *svc = &s->services[i];
        svc->next_number = 1;
        svc->issued = svc->called = svc->served = svc->no_shows = svc->cancelled = 0;
        svc->transferred_in = svc->transferred_out = 0;
        svc->wait_s_sum = svc->service_s_sum = 0;
        svc->wait_n = svc->wait_max_s = svc->service_n = 0;
    }
    /* A new day's book starts with the bookings still open. */
    size_t kept = 0;
    for (size_t i = 0; i < s->n_appointments; i++) {
        if (s->appointments[i].state == HB_APPT_BOOKED)
            s->appointments[kept++] = s->appointments[i];
    }
    s->n_appointments = kept;
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
        !s_fits(e->service, HB_HS_ID) || hb_hs__ticket(s, e->ticket))
        return HB_EINVAL;
    int rc = 0;
    hb_hs_service_t *svc = hb_hs__service(s, e->service);
    if (!svc) {
        HS_ROOM(s, services, HB_HS_SERVICES_MAX, rc);
        if (rc != 0)
            return rc;
    }
    HS_ROOM(s, tickets, HB_HS_TICKETS_MAX, rc);
    if (rc != 0)
        return rc;
    if (!svc)
        svc = s_service_add(s, e->service);
    hb_hs_ticket_t *t = &s->tickets[s->n_tickets++];
    memset(t, 0, sizeof *t);
    s_copy(t->id, sizeof t->id, e->ticket);
    hb_hs__tindex_added(s);
    s_copy(t->service, sizeof t->service, e->service);
    t->priority = e->priority == HALLBUS__PRIORITY__PRIORITY_UNSPECIFIED
                      ? HALLBUS__PRIORITY__PRIORITY_NORMAL
                      : (int)e->priority;
    t->state = HB_TICKET_WAITING;
    t->number = e->number;
    t->issued_ms = env->at_ms;
    if (s_fits(e->appointment, HB_HS_ID) && s_fits(e->staff, HB_HS_ID)) {
        s_copy(t->appointment, sizeof t->appointment, s_str(e->appointment));
        s_copy(t->staff, sizeof t->staff, s_str(e->staff));
        t->due_ms = e->due_ms;
    } else {
        rc = HB_EINVAL;
    }
    if (e->number != UINT32_MAX && e->number + 1 > svc->next_number)
        svc->next_number = e->number + 1;
    svc->waiting++;
    if (s_today(s, env->at_ms)) {
        svc->issued++;
        s->today.issued++;
    }
    return rc;
}

static int s_ticket_called(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketCalled *e = env->ticket_called;
    hb_hs_ticket_t *t = e ? hb_hs__ticket(s, e->ticket) : NULL;
    if (!t || !s_fits(e->counter, HB_HS_ID))
        return HB_EINVAL;
    s_take(s, t, e->wait_s, env->at_ms);
    t->called_ms = env->at_ms;
    return s_attach(s, t, e->counter, env->at_ms, HB_TICKET_CALLED, HB_COUNTER_CALLING, true);
}

static int s_ticket_recalled(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketRecalled *e = env->ticket_recalled;
    hb_hs_ticket_t *t = e ? hb_hs__ticket(s, e->ticket) : NULL;
    if (!t || t->state != HB_TICKET_CALLED)
        return HB_EINVAL;
    t->recalls = e->recall_count;
    t->called_ms = env->at_ms;
    return 0;
}

static int s_service_started(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ServiceStarted *e = env->service_started;
    hb_hs_ticket_t *t = e ? hb_hs__ticket(s, e->ticket) : NULL;
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
    long i = e ? hb_hs__ticket_index(s, s_str(e->ticket)) : -1;
    if (i < 0)
        return HB_EINVAL;
    hb_hs_ticket_t *t = &s->tickets[i];
    int64_t at = env->at_ms;
    bool known = e->duration_s > 0 || t->started_ms != 0;
    uint32_t duration = e->duration_s > 0 ? e->duration_s
                        : t->started_ms   ? s_secs(hb_ms_elapsed(t->started_ms, at))
                                          : 0;
    bool today = s_today(s, at);
    hb_hs_counter_t *c = hb_hs__counter(s, e->counter);
    if (!c)
        c = hb_hs__counter(s, t->counter);
    if (c) {
        c->served += today;
        s_copy(c->last_ticket, sizeof c->last_ticket, t->id);
        c->last_done_ms = at;
    }
    s_unwait(s, t);
    s_detach(s, t, e->counter, at);
    hb_hs_service_t *svc = hb_hs__service(s, t->service);
    /* The recent service times are kept across days: they take it always. */
    if (svc && known)
        s_ring_push(svc, duration);
    if (svc && today) {
        svc->served++;
        if (known) {
            svc->service_s_sum += duration;
            svc->service_n++;
        }
    }
    if (today) {
        s->today.served++;
        if (known) {
            s->today.service_s_sum += duration;
            s->today.service_n++;
        }
        s->today.amount_sum = hb_ms_add_sat(s->today.amount_sum, e->amount);
    }
    int rc = 0;
    if ((int)e->outcome >= 0 && (size_t)e->outcome < HS_COUNT(s->today.outcomes))
        s->today.outcomes[e->outcome] += today;
    else
        rc = HB_EINVAL;
    t->outcome = (int)e->outcome;
    s_finish(s, (size_t)i, HB_TICKET_SERVED, at);
    return rc;
}

static int s_ticket_no_show(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketNoShow *e = env->ticket_no_show;
    long i = e ? hb_hs__ticket_index(s, s_str(e->ticket)) : -1;
    if (i < 0)
        return HB_EINVAL;
    hb_hs_ticket_t *t = &s->tickets[i];
    if (e->recall_count > t->recalls)
        t->recalls = e->recall_count;
    s_end_unserved(s, (size_t)i, e->counter, HB_TICKET_NO_SHOW, env->at_ms);
    return 0;
}

static int s_ticket_transferred(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketTransferred *e = env->ticket_transferred;
    if (!e || !hb_hs__ticket(s, e->ticket) || !s_str(e->to_service)[0] ||
        !s_fits(e->to_service, HB_HS_ID))
        return HB_EINVAL;
    int rc = 0;
    hb_hs_service_t *to = hb_hs__service(s, e->to_service);
    if (!to) {
        HS_ROOM(s, services, HB_HS_SERVICES_MAX, rc);
        if (rc != 0)
            return rc;
        to = s_service_add(s, e->to_service);
    }
    hb_hs_ticket_t *t = hb_hs__ticket(s, e->ticket);
    hb_hs_service_t *from = hb_hs__service(s, t->service);
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
    if (s_today(s, env->at_ms)) {
        to->transferred_in++;
        if (from)
            from->transferred_out++;
        s->today.transferred++;
    }
    return 0;
}

static int s_ticket_cancelled(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__TicketCancelled *e = env->ticket_cancelled;
    long i = e ? hb_hs__ticket_index(s, s_str(e->ticket)) : -1;
    if (i < 0)
        return HB_EINVAL;
    s_end_unserved(s, (size_t)i, NULL, HB_TICKET_CANCELLED, env->at_ms);
    return 0;
}

static int s_counter_opened(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__CounterOpened *e = env->counter_opened;
    if (!e || !s_str(e->counter)[0] || !s_fits(e->counter, HB_HS_ID) || !s_fits(e->staff, HB_HS_ID))
        return HB_EINVAL;
    int rc = 0;
    hb_hs_counter_t *c = hb_hs__counter(s, e->counter);
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
    c->elderly = e->elderly;
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
    hb_hs_counter_t *c =
        env->counter_paused ? hb_hs__counter(s, env->counter_paused->counter) : NULL;
    if (!c || c->state == HB_COUNTER_CLOSED)
        return HB_EINVAL;
    if (c->state != HB_COUNTER_PAUSED)
        s_counter_set(s, c, HB_COUNTER_PAUSED, env->at_ms);
    return 0;
}

static int s_counter_resumed(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    hb_hs_counter_t *c =
        env->counter_resumed ? hb_hs__counter(s, env->counter_resumed->counter) : NULL;
    if (!c || c->state != HB_COUNTER_PAUSED)
        return HB_EINVAL;
    s_counter_back(s, c, env->at_ms);
    return 0;
}

static int s_counter_closed(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    hb_hs_counter_t *c =
        env->counter_closed ? hb_hs__counter(s, env->counter_closed->counter) : NULL;
    if (!c)
        return HB_EINVAL;
    hb_hs_ticket_t *t = c->ticket[0] ? hb_hs__ticket(s, c->ticket) : NULL;
    if (t && strcmp(t->counter, c->id) == 0 &&
        (t->state == HB_TICKET_CALLED || t->state == HB_TICKET_SERVING)) {
        t->state = HB_TICKET_WAITING;
        t->counter[0] = '\0';
        hb_hs_service_t *svc = hb_hs__service(s, t->service);
        if (svc)
            svc->waiting++;
    }
    c->ticket[0] = '\0';
    if (c->state != HB_COUNTER_CLOSED)
        s_counter_set(s, c, HB_COUNTER_CLOSED, env->at_ms);
    return 0;
}

static int s_complaint_opened(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ComplaintOpened *e = env->complaint_opened;
    if (!e || !s_str(e->complaint)[0] || !s_fits(e->complaint, HB_HS_ID) ||
        !s_fits(e->category, HB_HS_ID) || !s_fits(e->ticket, HB_HS_ID) ||
        hb_hs__complaint_index(s, e->complaint) >= 0)
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
    s->today.complaints_opened += s_today(s, env->at_ms);
    return 0;
}

static int s_complaint_acknowledged(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ComplaintAcknowledged *e = env->complaint_acknowledged;
    long i = e ? hb_hs__complaint_index(s, e->complaint) : -1;
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
    long i = e ? hb_hs__complaint_index(s, e->complaint) : -1;
    if (i < 0)
        return HB_EINVAL;
    hb_hs_complaint_t *c = &s->complaints[i];
    if ((int)e->level > c->escalation)
        c->escalation = (int)e->level;
    if (e->automatic && e->missed == HALLBUS__DEADLINE__DEADLINE_ACK)
        c->ack_missed = true;
    if (e->automatic && e->missed == HALLBUS__DEADLINE__DEADLINE_RESOLVE)
        c->resolve_missed = true;
    s->today.escalations += s_today(s, env->at_ms);
    return 0;
}

static int s_complaint_resolved(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__ComplaintResolved *e = env->complaint_resolved;
    long i = e ? hb_hs__complaint_index(s, e->complaint) : -1;
    if (i < 0)
        return HB_EINVAL;
    memmove(&s->complaints[i], &s->complaints[i + 1],
            (s->n_complaints - (size_t)i - 1) * sizeof s->complaints[0]);
    s->n_complaints--;
    if (s_today(s, env->at_ms)) {
        s->today.complaints_resolved++;
        if (e->customer_satisfied)
            s->today.complaints_satisfied++;
    }
    return 0;
}

static int s_satisfaction_scored(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__SatisfactionScored *e = env->satisfaction_scored;
    if (!e || e->score < 1 || e->score > 5)
        return HB_EINVAL;
    s->today.feedback[e->score - 1] += s_today(s, env->at_ms);
    /* The score names its ticket: live, or among the recent finished. */
    hb_hs_ticket_t *t = hb_hs__ticket(s, e->ticket);
    for (size_t i = s->n_recent; !t && i > 0 && s_str(e->ticket)[0]; i--) {
        if (strcmp(s->recent[i - 1].id, e->ticket) == 0)
            t = &s->recent[i - 1];
    }
    if (t)
        t->rated = true;
    return 0;
}

static int s_device_status(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__DeviceStatus *e = env->device_status;
    if (!e || !s_str(e->device)[0] || !s_fits(e->device, HB_HS_ID))
        return HB_EINVAL;
    int rc = 0;
    hb_hs_device_t *d = hb_hs__device(s, e->device);
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
/* The duty manager's day (meetings, checklists, patrol scores, the work
 * log, the cash handover) is the day records' (day.h), not the live
 * state's: these change nothing here but are known kinds. */
static int s_manager_record(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    (void)s;
    (void)env;
    return 0;
}

static int s_patrol_drawn(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    s->today.patrols += s_today(s, env->at_ms);
    return 0;
}

/* hall_opened: today's opening and the devices it named, failed first. */
static int s_hall_opened(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__HallOpened *e = env->hall_opened;
    if (!e)
        return HB_EINVAL;
    if (!s_today(s, env->at_ms))
        return 0; /* yesterday's opening is not today's */
    int rc = 0;
    s->today.opened_ms = env->at_ms;
    s->today.late_s = e->late_s;
    s->today.n_opening_devices = 0;
    for (int pass = 0; pass < 2; pass++) {
        char **names = pass == 0 ? e->failed : e->unchecked;
        size_t n = pass == 0 ? e->n_failed : e->n_unchecked;
        for (size_t k = 0; k < n; k++) {
            size_t at = s->today.n_opening_devices;
            if (at == HB_HS_OPENING_MAX || !s_str(names[k])[0] || !s_fits(names[k], HB_HS_ID)) {
                rc = HB_EINVAL;
                continue;
            }
            s_copy(s->today.opening_devices[at], HB_HS_ID, names[k]);
            s->today.opening_failed[at] = pass == 0;
            s->today.n_opening_devices++;
        }
    }
    return rc;
}

static int s_appointment_booked(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__AppointmentBooked *e = env->appointment_booked;
    if (!e || !s_str(e->code)[0] || !s_fits(e->code, HB_HS_ID) || !s_str(e->service)[0] ||
        !s_fits(e->service, HB_HS_ID) || !s_fits(e->staff, HB_HS_ID) ||
        !s_fits(e->request, HB_HS_ID) || hb_hs__appointment(s, e->code))
        return HB_EINVAL;
    int rc = 0;
    HS_ROOM(s, appointments, HB_HS_APPOINTMENTS_MAX, rc);
    if (rc != 0)
        return rc;
    hb_hs_appointment_t *a = &s->appointments[s->n_appointments++];
    memset(a, 0, sizeof *a);
    s_copy(a->code, sizeof a->code, e->code);
    s_copy(a->service, sizeof a->service, e->service);
    s_copy(a->staff, sizeof a->staff, s_str(e->staff));
    s_copy(a->request, sizeof a->request, s_str(e->request));
    a->start_ms = e->start_ms;
    a->slot_s = e->slot_s;
    a->channel = (int)e->channel;
    a->state = HB_APPT_BOOKED;
    a->booked_ms = env->at_ms;
    return 0;
}

/* Check-in, no-show and cancel end an open booking. */
static int s_appointment_end(hb_hall_state_t *s, const char *code, int state, const char *ticket)
{
    hb_hs_appointment_t *a = hb_hs__appointment(s, code);
    if (!a || a->state != HB_APPT_BOOKED || !s_fits(ticket, HB_HS_ID))
        return HB_EINVAL;
    a->state = state;
    s_copy(a->ticket, sizeof a->ticket, s_str(ticket));
    return 0;
}

static int s_appointment_checked_in(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__AppointmentCheckedIn *e = env->appointment_checked_in;
    return e ? s_appointment_end(s, e->code, HB_APPT_CHECKED_IN, e->ticket) : HB_EINVAL;
}

static int s_appointment_no_show(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__AppointmentNoShow *e = env->appointment_no_show;
    return e ? s_appointment_end(s, e->code, HB_APPT_NO_SHOW, "") : HB_EINVAL;
}

static int s_appointment_cancelled(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    const Hallbus__AppointmentCancelled *e = env->appointment_cancelled;
    return e ? s_appointment_end(s, e->code, HB_APPT_CANCELLED, "") : HB_EINVAL;
}

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
    [HALLBUS__ENVELOPE__BODY_MEETING_HELD] = s_manager_record,
    [HALLBUS__ENVELOPE__BODY_CHECKLIST_DONE] = s_manager_record,
    [HALLBUS__ENVELOPE__BODY_HALL_OPENED] = s_hall_opened,
    [HALLBUS__ENVELOPE__BODY_PATROL_DRAWN] = s_patrol_drawn,
    [HALLBUS__ENVELOPE__BODY_PATROL_SCORED] = s_manager_record,
    [HALLBUS__ENVELOPE__BODY_WORK_LOGGED] = s_manager_record,
    [HALLBUS__ENVELOPE__BODY_CASH_HANDED_OVER] = s_manager_record,
    [HALLBUS__ENVELOPE__BODY_APPOINTMENT_BOOKED] = s_appointment_booked,
    [HALLBUS__ENVELOPE__BODY_APPOINTMENT_CHECKED_IN] = s_appointment_checked_in,
    [HALLBUS__ENVELOPE__BODY_APPOINTMENT_NO_SHOW] = s_appointment_no_show,
    [HALLBUS__ENVELOPE__BODY_APPOINTMENT_CANCELLED] = s_appointment_cancelled,
};

int hb_hall_state_apply(hb_hall_state_t *s, const Hallbus__Envelope *env)
{
    assert(s && env);
    if (!s->tindex_ok && s->n_tickets >= HS_TINDEX_MIN)
        hb_hs__tindex_build(s);
    s->seq = env->seq;
    s->at_ms = env->at_ms;
    /* A negative case from a hand-built envelope becomes a huge index: unknown. */
    size_t kind = (size_t)env->body_case;
    if (kind >= HS_COUNT(s_handlers) || !s_handlers[kind]) {
        s->unknown_events++;
        return 0;
    }
    if (kind != HALLBUS__ENVELOPE__BODY_DAY_STARTED && !s_today(s, env->at_ms))
        s->today.past_day_events++;
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
