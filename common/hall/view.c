/* The live view of a hall's state (hallstate.h: hb_hall_state_view at
 * `now`): what people read of it on the hall's API. Not the snapshot
 * (snapshot.c), and no figure is worked out here: they are figures.c's.
 *
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
 *     rejected_documents}, opened (the manager's opening, or null), late_s,
 *     opening_devices: [{device, failed}] (failed, or not checked, at the
 *     opening), patrols, past_day_events (events of an earlier day applied
 *     today, which count in none of these figures)},
 *   policy_version, calendar_version, anomalies. */
#include "hallbus/hallstate.h"
#include "hallstate_int.h"

#include "hallbus/codec.h"
#include "hallbus/figures.h"
#include "hallbus/json.h"
#include "hallbus/time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Times the view formats: year 0 to 9999, what RFC 3339 can show. */
#define HS_TIME_MAX 253402300799999LL

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
        hb_json_set_str(o, "service", v->code, bad);
        hb_json_set_int(o, "waiting", fv->waiting, bad);
        hb_json_set_int(o, "oldest_wait_s",
                        fv->oldest_issued_ms ? hb_fig_wait_s(fv->oldest_issued_ms, f->now_ms) : 0,
                        bad);
        hb_json_set_int(o, "next_number", v->next_number, bad);
        hb_json_set_int(o, "issued", v->issued, bad);
        hb_json_set_int(o, "served", v->served, bad);
        hb_json_set_int(o, "no_shows", v->no_shows, bad);
        hb_json_set_int(o, "cancelled", v->cancelled, bad);
        hb_json_set_int(o, "avg_wait_s", s_avg(v->wait_s_sum, v->wait_n), bad);
        hb_json_set_int(o, "max_wait_s", v->wait_max_s, bad);
        hb_json_set_int(o, "avg_service_s", s_avg(v->service_s_sum, v->service_n), bad);
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
        hb_json_set_str(o, "counter", c->id, bad);
        hb_json_set_str(o, "state", hb_counter_state_name(c->state), bad);
        hb_json_set_str(o, "staff", c->staff, bad);
        json_t *services = json_array();
        for (size_t k = 0; k < c->n_services; k++)
            hb_json_append(services, json_string(c->services[k]), bad);
        hb_json_set(o, "services", services, bad);
        hb_json_set(o, "ticket", s_str_or_null(c->ticket), bad);
        hb_json_set(o, "since", s_time_json(c->state_since_ms), bad);
        hb_json_set_int(o, "open_s", open_ms / 1000, bad);
        hb_json_set_int(o, "busy_s", busy_ms / 1000, bad);
        double u = open_ms > 0 ? (double)busy_ms / (double)open_ms : 0.0;
        hb_json_set(o, "utilisation", json_real(round(u * 1000.0) / 1000.0), bad);
        hb_json_set_int(o, "served", c->served, bad);
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
        hb_json_set_str(o, "ticket", t->id, bad);
        hb_json_set_str(o, "service", t->service, bad);
        hb_json_set(o, "priority", s_enum_json(&hallbus__priority__descriptor, t->priority), bad);
        hb_json_set_str(o, "state", hb_ticket_state_name(t->state), bad);
        hb_json_set(o, "counter", s_str_or_null(t->counter), bad);
        hb_json_set(o, "issued", s_time_json(t->issued_ms), bad);
        hb_json_set_int(o, "wait_s", wait_s, bad);
        hb_json_set_int(o, "recalls", t->recalls, bad);
        hb_json_set_bool(o, "transferred", t->transferred, bad);
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
        hb_json_set_str(o, "complaint", c->id, bad);
        hb_json_set_str(o, "state", hb_complaint_state_name(c->state), bad);
        hb_json_set(o, "severity", s_enum_json(&hallbus__severity__descriptor, c->severity), bad);
        hb_json_set_str(o, "category", c->category, bad);
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
        hb_json_set_bool(o, "overdue", hb_hs__overdue(c, now_ms), bad);
        hb_json_append(list, o, bad);
    }
    json_t *o = json_object();
    hb_json_set_int(o, "open", (int64_t)s->n_complaints, bad);
    hb_json_set_int(o, "overdue", hb_hall_state_overdue(s, now_ms), bad);
    hb_json_set(o, "list", list, bad);
    return o;
}

static json_t *s_view_devices(const hb_hall_state_t *s, bool *bad)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_devices; i++) {
        const hb_hs_device_t *d = &s->devices[i];
        json_t *o = json_object();
        hb_json_set_str(o, "device", d->id, bad);
        hb_json_set(o, "kind", s_enum_json(&hallbus__device_kind__descriptor, d->kind), bad);
        hb_json_set(o, "state", s_enum_json(&hallbus__device_state__descriptor, d->state), bad);
        hb_json_set_str(o, "detail", d->detail, bad);
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
    hb_json_set_int(o, "issued", d->issued, bad);
    hb_json_set_int(o, "served", d->served, bad);
    hb_json_set_int(o, "no_shows", d->no_shows, bad);
    hb_json_set_int(o, "cancelled", d->cancelled, bad);
    hb_json_set_int(o, "transferred", d->transferred, bad);
    hb_json_set_int(o, "avg_wait_s", s_avg(d->wait_s_sum, d->wait_n), bad);
    hb_json_set_int(o, "max_wait_s", d->wait_max_s, bad);
    hb_json_set_int(o, "avg_service_s", s_avg(d->service_s_sum, d->service_n), bad);
    hb_json_set_int(o, "complaints_opened", d->complaints_opened, bad);
    hb_json_set_int(o, "complaints_resolved", d->complaints_resolved, bad);
    hb_json_set_int(o, "escalations", d->escalations, bad);
    hb_json_set(o, "satisfaction_avg",
                scores ? json_real(round((double)score_sum / (double)scores * 100.0) / 100.0)
                       : json_null(),
                bad);
    hb_json_set_u64(o, "feedback_count", scores, bad);
    hb_json_set_int(o, "amount_sum", d->amount_sum, bad);
    json_t *outcomes = json_object();
    for (int k = HALLBUS__OUTCOME__OUTCOME_DONE; k <= HALLBUS__OUTCOME__OUTCOME_REJECTED_DOCUMENTS;
         k++) {
        char name[64];
        if (hb_enum_name(&hallbus__outcome__descriptor, k, name, sizeof name))
            hb_json_set_int(outcomes, name, d->outcomes[k], bad);
    }
    hb_json_set(o, "outcomes", outcomes, bad);
    hb_json_set(o, "opened", d->opened_ms > 0 ? s_time_json(d->opened_ms) : json_null(), bad);
    hb_json_set_int(o, "late_s", d->late_s, bad);
    json_t *devs = json_array();
    for (size_t i = 0; i < d->n_opening_devices && i < HB_HS_OPENING_MAX; i++)
        if (json_array_append_new(devs, json_pack("{s:s, s:b}", "device", d->opening_devices[i],
                                                  "failed", d->opening_failed[i])) != 0)
            *bad = true;
    hb_json_set(o, "opening_devices", devs, bad);
    hb_json_set_int(o, "patrols", d->patrols, bad);
    hb_json_set_int(o, "past_day_events", d->past_day_events, bad);
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
    hb_json_set_u64(o, "seq", s->seq, &bad);
    hb_json_set(o, "at", s->seq ? s_time_json(s->at_ms) : json_null(), &bad);
    hb_json_set(o, "date", s_str_or_null(s->today.date), &bad);
    hb_json_set_int(o, "waiting", f->waiting, &bad);
    hb_json_set_int(o, "longest_wait_s",
                    f->oldest_issued_ms ? hb_fig_wait_s(f->oldest_issued_ms, now_ms) : 0, &bad);
    hb_json_set(o, "services", s_view_services(s, f, &bad), &bad);
    hb_json_set(o, "counters", s_view_counters(s, now_ms, &bad), &bad);
    hb_json_set_int(o, "counters_open", f->counters_open, &bad);
    hb_json_set_int(o, "counters_busy", f->counters_busy, &bad);
    hb_json_set(o, "tickets", s_view_tickets(s, now_ms, &bad), &bad);
    hb_json_set(o, "complaints", s_view_complaints(s, now_ms, &bad), &bad);
    hb_json_set(o, "devices", s_view_devices(s, &bad), &bad);
    hb_json_set_int(o, "devices_not_ok", not_ok, &bad);
    hb_json_set(o, "today", s_view_today(&s->today, &bad), &bad);
    hb_json_set_u64(o, "policy_version", s->policy_version, &bad);
    hb_json_set_u64(o, "calendar_version", s->calendar_version, &bad);
    hb_json_set_u64(o, "anomalies", s->anomalies, &bad);
    free(f);
    return hb_json_built(o, bad);
}

json_t *hb_appointment_json(const hb_hs_appointment_t *b)
{
    char ch[32];
    if (!hb_enum_name(&hallbus__booking_channel__descriptor, b->channel, ch, sizeof ch))
        snprintf(ch, sizeof ch, "hall");
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:o}", "code", b->code, "service", b->service, "start",
        s_time_json(b->start_ms), "end", s_time_json(b->start_ms + (int64_t)b->slot_s * 1000),
        "staff", b->staff[0] ? json_string(b->staff) : json_null(), "channel", ch, "state",
        hb_appointment_state_name(b->state) ? hb_appointment_state_name(b->state) : "unknown",
        "ticket", b->ticket[0] ? json_string(b->ticket) : json_null());
}
