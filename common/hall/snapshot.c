/* The snapshot of a hall's state (hallstate.h: hb_hall_state_to_json and
 * hb_hall_state_from_json): the reducer's whole state as one JSON object,
 * and back, strictly. Not for people (view.c shows the state) nor for what
 * events do (hallstate.c).
 *
 * One JSON object holding every member of the state under the names of
 * hallstate.h ("format": 1, "seq", "at_ms", "today": {...}, "services":
 * [...], "counters", "tickets", "complaints", "devices", "recent"). Times
 * are ms since the epoch. Enums of the .proto (priority, outcome, channel,
 * severity, escalation, device kind and state) are written as their numbers:
 * the .proto never renumbers, so numbers read back under any later or
 * earlier build, and a value this build has no name for survives. The
 * reducer's own states (ticket, counter and complaint states) are written by
 * their names (hb_ticket_state_name, ...), which stay while their numbers
 * are private to common/hall. A uint64 above INT64_MAX is a decimal string. A
 * service's recent durations are listed oldest first. Reading is strict: a
 * missing or unknown member, a wrong type, a value out of range, an array
 * over its bound, a duplicate id, or a state that breaks the reducer's
 * invariants (a waiting count that does not match the waiting tickets, a
 * ticket of an unknown service, a busy counter without its ticket) is
 * refused with HB_EINVAL and the member named. */
#include "hallbus/hallstate.h"
#include "hallstate_int.h"

#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/json.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ to JSON ---- */

static json_t *s_ticket_json(const hb_hs_ticket_t *t)
{
    bool bad = false;
    json_t *o = json_object();
    hb_json_set_str(o, "id", t->id, &bad);
    hb_json_set_str(o, "service", t->service, &bad);
    hb_json_set_str(o, "counter", t->counter, &bad);
    hb_json_set_int(o, "priority", t->priority, &bad);
    hb_json_set_str(o, "state", hb_ticket_state_name(t->state), &bad);
    hb_json_set_int(o, "outcome", t->outcome, &bad);
    hb_json_set_int(o, "number", t->number, &bad);
    hb_json_set_int(o, "recalls", t->recalls, &bad);
    hb_json_set_int(o, "wait_s", t->wait_s, &bad);
    hb_json_set_bool(o, "transferred", t->transferred, &bad);
    hb_json_set_int(o, "issued_ms", t->issued_ms, &bad);
    hb_json_set_int(o, "called_ms", t->called_ms, &bad);
    hb_json_set_int(o, "started_ms", t->started_ms, &bad);
    hb_json_set_int(o, "ended_ms", t->ended_ms, &bad);
    /* Members issue 13 added are written only when set, so a state without
     * them has the snapshot it had before, and older snapshots read back. */
    if (t->appointment[0])
        hb_json_set_str(o, "appointment", t->appointment, &bad);
    if (t->staff[0])
        hb_json_set_str(o, "staff", t->staff, &bad);
    if (t->due_ms)
        hb_json_set_int(o, "due_ms", t->due_ms, &bad);
    if (t->rated)
        hb_json_set_bool(o, "rated", t->rated, &bad);
    return hb_json_built(o, bad);
}

static json_t *s_service_json(const hb_hs_service_t *v)
{
    bool bad = false;
    json_t *o = json_object();
    hb_json_set_str(o, "code", v->code, &bad);
    hb_json_set_int(o, "waiting", v->waiting, &bad);
    hb_json_set_int(o, "next_number", v->next_number, &bad);
    hb_json_set_int(o, "issued", v->issued, &bad);
    hb_json_set_int(o, "called", v->called, &bad);
    hb_json_set_int(o, "served", v->served, &bad);
    hb_json_set_int(o, "no_shows", v->no_shows, &bad);
    hb_json_set_int(o, "cancelled", v->cancelled, &bad);
    hb_json_set_int(o, "transferred_in", v->transferred_in, &bad);
    hb_json_set_int(o, "transferred_out", v->transferred_out, &bad);
    hb_json_set_u64(o, "wait_s_sum", v->wait_s_sum, &bad);
    hb_json_set_int(o, "wait_n", v->wait_n, &bad);
    hb_json_set_int(o, "wait_max_s", v->wait_max_s, &bad);
    hb_json_set_u64(o, "service_s_sum", v->service_s_sum, &bad);
    hb_json_set_int(o, "service_n", v->service_n, &bad);
    json_t *ring = json_array();
    for (unsigned i = 0; i < v->n_recent && i < HB_HS_DURATIONS; i++)
        hb_json_append(
            ring, json_integer(v->recent_service_s[(v->recent_pos + i) % HB_HS_DURATIONS]), &bad);
    hb_json_set(o, "recent_service_s", ring, &bad);
    return hb_json_built(o, bad);
}

static json_t *s_counter_json(const hb_hs_counter_t *c)
{
    bool bad = false;
    json_t *o = json_object();
    hb_json_set_str(o, "id", c->id, &bad);
    hb_json_set_str(o, "staff", c->staff, &bad);
    hb_json_set_str(o, "state", hb_counter_state_name(c->state), &bad);
    json_t *services = json_array();
    for (size_t i = 0; i < c->n_services && i < HB_HS_COUNTER_SERVICES_MAX; i++)
        hb_json_append(services, json_string(c->services[i]), &bad);
    hb_json_set(o, "services", services, &bad);
    hb_json_set_str(o, "ticket", c->ticket, &bad);
    hb_json_set_int(o, "state_since_ms", c->state_since_ms, &bad);
    hb_json_set_int(o, "open_ms", c->open_ms, &bad);
    hb_json_set_int(o, "busy_ms", c->busy_ms, &bad);
    hb_json_set_int(o, "served", c->served, &bad);
    hb_json_set_int(o, "priority_streak", c->priority_streak, &bad);
    if (c->elderly)
        hb_json_set_bool(o, "elderly", c->elderly, &bad);
    if (c->last_ticket[0]) {
        hb_json_set_str(o, "last_ticket", c->last_ticket, &bad);
        hb_json_set_int(o, "last_done_ms", c->last_done_ms, &bad);
    }
    return hb_json_built(o, bad);
}

static json_t *s_complaint_json(const hb_hs_complaint_t *c)
{
    bool bad = false;
    json_t *o = json_object();
    hb_json_set_str(o, "id", c->id, &bad);
    hb_json_set_str(o, "category", c->category, &bad);
    hb_json_set_str(o, "ticket", c->ticket, &bad);
    hb_json_set_str(o, "acked_by", c->acked_by, &bad);
    hb_json_set_int(o, "channel", c->channel, &bad);
    hb_json_set_int(o, "severity", c->severity, &bad);
    hb_json_set_str(o, "state", hb_complaint_state_name(c->state), &bad);
    hb_json_set_int(o, "escalation", c->escalation, &bad);
    hb_json_set_bool(o, "ack_missed", c->ack_missed, &bad);
    hb_json_set_bool(o, "resolve_missed", c->resolve_missed, &bad);
    hb_json_set_int(o, "opened_ms", c->opened_ms, &bad);
    hb_json_set_int(o, "acked_ms", c->acked_ms, &bad);
    hb_json_set_int(o, "ack_due_ms", c->ack_due_ms, &bad);
    hb_json_set_int(o, "resolve_due_ms", c->resolve_due_ms, &bad);
    return hb_json_built(o, bad);
}

static json_t *s_device_json(const hb_hs_device_t *d)
{
    bool bad = false;
    json_t *o = json_object();
    hb_json_set_str(o, "id", d->id, &bad);
    hb_json_set_int(o, "kind", d->kind, &bad);
    hb_json_set_int(o, "state", d->state, &bad);
    hb_json_set_str(o, "detail", d->detail, &bad);
    hb_json_set_int(o, "since_ms", d->since_ms, &bad);
    return hb_json_built(o, bad);
}

static json_t *s_appointment_json(const hb_hs_appointment_t *a)
{
    bool bad = false;
    json_t *o = json_object();
    hb_json_set_str(o, "code", a->code, &bad);
    hb_json_set_str(o, "service", a->service, &bad);
    hb_json_set_str(o, "staff", a->staff, &bad);
    hb_json_set_str(o, "ticket", a->ticket, &bad);
    hb_json_set_int(o, "start_ms", a->start_ms, &bad);
    hb_json_set_int(o, "slot_s", a->slot_s, &bad);
    hb_json_set_int(o, "channel", a->channel, &bad);
    hb_json_set_str(o, "state", hb_appointment_state_name(a->state), &bad);
    hb_json_set_int(o, "booked_ms", a->booked_ms, &bad);
    /* Only when there is one: a snapshot without it reads in an older build. */
    if (a->request[0])
        hb_json_set_str(o, "request", a->request, &bad);
    return hb_json_built(o, bad);
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
    hb_json_set_str(o, "date", d->date, &bad);
    hb_json_set_int(o, "issued", d->issued, &bad);
    hb_json_set_int(o, "called", d->called, &bad);
    hb_json_set_int(o, "served", d->served, &bad);
    hb_json_set_int(o, "no_shows", d->no_shows, &bad);
    hb_json_set_int(o, "cancelled", d->cancelled, &bad);
    hb_json_set_int(o, "transferred", d->transferred, &bad);
    hb_json_set(o, "outcomes", s_u32_array(d->outcomes, HS_COUNT(d->outcomes), &bad), &bad);
    hb_json_set_int(o, "amount_sum", d->amount_sum, &bad);
    hb_json_set_u64(o, "wait_s_sum", d->wait_s_sum, &bad);
    hb_json_set_int(o, "wait_n", d->wait_n, &bad);
    hb_json_set_int(o, "wait_max_s", d->wait_max_s, &bad);
    hb_json_set_u64(o, "service_s_sum", d->service_s_sum, &bad);
    hb_json_set_int(o, "service_n", d->service_n, &bad);
    hb_json_set_int(o, "complaints_opened", d->complaints_opened, &bad);
    hb_json_set_int(o, "complaints_resolved", d->complaints_resolved, &bad);
    hb_json_set_int(o, "complaints_satisfied", d->complaints_satisfied, &bad);
    hb_json_set_int(o, "escalations", d->escalations, &bad);
    hb_json_set(o, "feedback", s_u32_array(d->feedback, HS_COUNT(d->feedback), &bad), &bad);
    if (d->opened_ms) {
        hb_json_set_int(o, "opened_ms", d->opened_ms, &bad);
        hb_json_set_int(o, "late_s", d->late_s, &bad);
    }
    if (d->n_opening_devices) {
        json_t *a = json_array();
        for (size_t i = 0; i < d->n_opening_devices && i < HB_HS_OPENING_MAX; i++)
            hb_json_append(a,
                           json_pack("{s:s, s:b}", "device", d->opening_devices[i], "failed",
                                     d->opening_failed[i]),
                           &bad);
        hb_json_set(o, "opening_devices", a, &bad);
    }
    if (d->patrols)
        hb_json_set_int(o, "patrols", d->patrols, &bad);
    if (d->start_ms)
        hb_json_set_int(o, "start_ms", d->start_ms, &bad);
    if (d->past_day_events)
        hb_json_set_int(o, "past_day_events", d->past_day_events, &bad);
    return hb_json_built(o, bad);
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
    hb_json_set_int(o, "format", HB_HS_SNAPSHOT_FORMAT, &bad);
    hb_json_set_u64(o, "seq", s->seq, &bad);
    hb_json_set_int(o, "at_ms", s->at_ms, &bad);
    hb_json_set_str(o, "timezone", s->timezone, &bad);
    hb_json_set_int(o, "utc_offset_s", s->utc_offset_s, &bad);
    hb_json_set_u64(o, "policy_version", s->policy_version, &bad);
    hb_json_set_u64(o, "calendar_version", s->calendar_version, &bad);
    hb_json_set_u64(o, "anomalies", s->anomalies, &bad);
    hb_json_set_u64(o, "unknown_events", s->unknown_events, &bad);
    hb_json_set(o, "today", s_today_json(&s->today), &bad);
    hb_json_set(o, "services", HS_LIST(s_service_json, s->services, s->n_services, &bad), &bad);
    hb_json_set(o, "counters", HS_LIST(s_counter_json, s->counters, s->n_counters, &bad), &bad);
    hb_json_set(o, "tickets", HS_LIST(s_ticket_json, s->tickets, s->n_tickets, &bad), &bad);
    hb_json_set(o, "complaints", HS_LIST(s_complaint_json, s->complaints, s->n_complaints, &bad),
                &bad);
    hb_json_set(o, "devices", HS_LIST(s_device_json, s->devices, s->n_devices, &bad), &bad);
    hb_json_set(o, "recent", HS_LIST(s_ticket_json, s->recent, s->n_recent, &bad), &bad);
    if (s->n_appointments)
        hb_json_set(o, "appointments",
                    HS_LIST(s_appointment_json, s->appointments, s->n_appointments, &bad), &bad);
    return hb_json_built(o, bad);
}

/* ---------------------------------------------------------- from JSON ---- */

/* Snapshot refusals name the member by its path: "snapshot member
 * tickets[3].id is missing" (hallbus/json.h's reader). */
#define HS_STR_(x) #x
#define HS_STR(x) HS_STR_(x)
static const hb_jr_style_t s_snap_style = {
    "snapshot member ", " ", "is missing",
    "is not a member of snapshot format " HS_STR(HB_HS_SNAPSHOT_FORMAT)};

/* Whether an optional member (one issue 13 added) is there; marks it read. */
static bool s_has(hb_jr_t *r, const char *key) { return hb_jr_opt(r, key) != NULL; }

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
    t->state = live ? s_rd_state(r, "state", hb_hs__ticket_states, HS_COUNT(hb_hs__ticket_states),
                                 HB_TICKET_WAITING, HB_TICKET_SERVING)
                    : s_rd_state(r, "state", hb_hs__ticket_states, HS_COUNT(hb_hs__ticket_states),
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
    if (s_has(r, "appointment"))
        hb_jr_str(r, "appointment", t->appointment, sizeof t->appointment);
    if (s_has(r, "staff"))
        hb_jr_str(r, "staff", t->staff, sizeof t->staff);
    if (s_has(r, "due_ms"))
        t->due_ms = s_rd_ms(r, "due_ms");
    if (s_has(r, "rated"))
        t->rated = hb_jr_bool(r, "rated");
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
    c->state = s_rd_state(r, "state", hb_hs__counter_states, HS_COUNT(hb_hs__counter_states),
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
    if (s_has(r, "elderly"))
        c->elderly = hb_jr_bool(r, "elderly");
    if (s_has(r, "last_ticket")) {
        hb_jr_str(r, "last_ticket", c->last_ticket, sizeof c->last_ticket);
        c->last_done_ms = s_rd_ms(r, "last_done_ms");
    }
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
    c->state = s_rd_state(r, "state", hb_hs__complaint_states, HS_COUNT(hb_hs__complaint_states),
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

static void s_rd_appointment(hb_jr_t *r, hb_hs_appointment_t *a)
{
    hb_jr_str(r, "code", a->code, sizeof a->code);
    hb_jr_str(r, "service", a->service, sizeof a->service);
    hb_jr_str(r, "staff", a->staff, sizeof a->staff);
    hb_jr_str(r, "ticket", a->ticket, sizeof a->ticket);
    a->start_ms = s_rd_ms(r, "start_ms");
    a->slot_s = s_rd_u32(r, "slot_s");
    a->channel = s_rd_i32(r, "channel");
    a->state = s_rd_state(r, "state", hb_hs__appt_states, HS_COUNT(hb_hs__appt_states),
                          HB_APPT_BOOKED, HB_APPT_CANCELLED);
    a->booked_ms = s_rd_ms(r, "booked_ms");
    if (s_has(r, "request"))
        hb_jr_str(r, "request", a->request, sizeof a->request);
    if (*r->rc == 0 && !a->code[0])
        hb_jr_fail(r, "code", "must not be empty");
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
    if (s_has(r, "opened_ms")) {
        d->opened_ms = s_rd_ms(r, "opened_ms");
        d->late_s = s_rd_i32(r, "late_s");
    }
    const json_t *od =
        s_has(r, "opening_devices") ? hb_jr_array(r, "opening_devices", HB_HS_OPENING_MAX) : NULL;
    for (size_t i = 0; od && *r->rc == 0 && i < json_array_size(od); i++) {
        hb_jr_t e;
        if (!hb_jr_entry(r, "opening_devices", od, i, &e))
            break;
        hb_jr_str(&e, "device", d->opening_devices[i], HB_HS_ID);
        d->opening_failed[i] = hb_jr_bool(&e, "failed");
        hb_jr_end(&e);
        d->n_opening_devices = i + 1;
    }
    if (s_has(r, "patrols"))
        d->patrols = s_rd_u32(r, "patrols");
    /* Snapshots from before the day's start was kept have none: the
     * restore works it out from the date and zone (hb_hall_state_from_json). */
    if (s_has(r, "start_ms"))
        d->start_ms = s_rd_ms(r, "start_ms");
    if (s_has(r, "past_day_events"))
        d->past_day_events = s_rd_u32(r, "past_day_events");
    if (*r->rc == 0 && d->date[0] && !hb_hs__date_ok(d->date))
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

/* An array of the state as s_check walks it: `n` entries of `size` bytes
 * with their id (a string) at `off`. */
typedef struct id_array {
    const char *name, *field; /* "services", "code": the member for errors */
    const void *base;
    size_t n, size, off;
} id_array_t;

static const char *s_id_at(const id_array_t *a, size_t i)
{
    return (const char *)a->base + i * a->size + a->off;
}

/* Whether entry `i` repeats the id of an earlier one (then named in err). */
static bool s_repeats(const id_array_t *a, size_t i, char *err, size_t errlen)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(s_id_at(a, j), s_id_at(a, i)) == 0) {
            hb_errf(err, errlen, "snapshot member %s[%zu].%s repeats '%s'", a->name, i, a->field,
                    s_id_at(a, i));
            return true;
        }
    }
    return false;
}

/* What the reducer always keeps true, so that a restored state behaves as
 * the one it came from: ids unique, every live ticket in a known service,
 * waiting counts that match the waiting tickets, and a calling or serving
 * counter attached to a live ticket that names it back. */
static int s_check(const hb_hall_state_t *s, char *err, size_t errlen)
{
    const id_array_t ids[] = {
        {"services", "code", s->services, s->n_services, sizeof *s->services,
         offsetof(hb_hs_service_t, code)},
        {"counters", "id", s->counters, s->n_counters, sizeof *s->counters,
         offsetof(hb_hs_counter_t, id)},
        {"complaints", "id", s->complaints, s->n_complaints, sizeof *s->complaints,
         offsetof(hb_hs_complaint_t, id)},
        {"devices", "id", s->devices, s->n_devices, sizeof *s->devices,
         offsetof(hb_hs_device_t, id)},
    };
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
        for (size_t i = 0; i < ids[k].n; i++)
            if (s_repeats(&ids[k], i, err, errlen))
                return HB_EINVAL;
    const id_array_t tickets = {"tickets",          "id",
                                s->tickets,         s->n_tickets,
                                sizeof *s->tickets, offsetof(hb_hs_ticket_t, id)};
    for (size_t i = 0; i < s->n_tickets; i++) {
        if (s_repeats(&tickets, i, err, errlen))
            return HB_EINVAL;
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
        if (!hb_fig_counter_busy(c->state))
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
        if (s->today.start_ms == 0)
            s->today.start_ms = hb_hs_day_start(s->today.date, s->timezone, s->utc_offset_s);
    }
    const json_t *services = hb_jr_array(&top, "services", HB_HS_SERVICES_MAX);
    const json_t *counters = hb_jr_array(&top, "counters", HB_HS_COUNTERS_MAX);
    const json_t *tickets = hb_jr_array(&top, "tickets", HB_HS_TICKETS_MAX);
    const json_t *complaints = hb_jr_array(&top, "complaints", HB_HS_COMPLAINTS_MAX);
    const json_t *devices = hb_jr_array(&top, "devices", HB_HS_DEVICES_MAX);
    const json_t *recent = hb_jr_array(&top, "recent", HB_HS_RECENT_MAX);
    const json_t *appts = s_has(&top, "appointments")
                              ? hb_jr_array(&top, "appointments", HB_HS_APPOINTMENTS_MAX)
                              : NULL;
    hb_jr_end(&top);
    if (rc != 0)
        goto out;
    if (HS_ALLOC(s, services, json_array_size(services), HB_HS_SERVICES_MAX) != 0 ||
        HS_ALLOC(s, counters, json_array_size(counters), HB_HS_COUNTERS_MAX) != 0 ||
        HS_ALLOC(s, tickets, json_array_size(tickets), HB_HS_TICKETS_MAX) != 0 ||
        HS_ALLOC(s, complaints, json_array_size(complaints), HB_HS_COMPLAINTS_MAX) != 0 ||
        HS_ALLOC(s, devices, json_array_size(devices), HB_HS_DEVICES_MAX) != 0 ||
        HS_ALLOC(s, appointments, json_array_size(appts), HB_HS_APPOINTMENTS_MAX) != 0) {
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
    HS_READ_LIST(&top, "appointments", appts, s->appointments, s->n_appointments, s_rd_appointment);
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
