/* A hall's day read back from its events (day.h): the manager's records
 * as the events' own JSON, and the day report's figures. The figures that
 * the live state already defines (issued, served, waits, service times,
 * open and busy time of counters, complaints, scores) are taken from a
 * private hall state fed the same events, so that a figure has one
 * definition (hallstate.c); this file adds what the live state does not
 * keep: the waits' percentile, business types, who staffed each counter,
 * patrol scores, appointments and the opening. Not for live views. */
#include "hallbus/day.h"

#include "hallbus/codec.h"
#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/hallstate.h"
#include "hallbus/tz.h"
#include "hallbus/vec.h"

#include <stdlib.h>
#include <string.h>

#define COUNTER_STAFF_MAX 8

typedef struct day_wait {
    uint16_t service; /* index into the state's services */
    uint32_t wait_s;
} day_wait_t;

struct hb_day {
    char date[11];
    bool seen, over;
    hb_hall_state_t *state;
    uint64_t events;
    int64_t end_ms;          /* when `over`: the next day's first moment */
    json_t *frozen_counters; /* when `over`: the counters at end_ms */
    HB_VEC(day_wait_t) waits;
    /* Records: event JSON. */
    json_t *meetings, *log, *cash, *patrols, *checklist, *opened;
    json_t *types;         /* business type -> {count, amount, outcomes} */
    json_t *counter_staff; /* counter -> [staff] */
    uint32_t booked, checked_in, no_show, cancelled;
    uint64_t dropped;
};

size_t hb_patrol_draw_count(size_t on_duty)
{
    if (on_duty < 5)
        return on_duty;
    if (on_duty <= 20)
        return (on_duty + 1) / 2;
    return (on_duty * 3 + 9) / 10;
}

hb_day_t *hb_day_new(const char *date)
{
    int32_t days;
    if (!date || hb_date_parse(date, &days) != 0)
        return NULL;
    hb_day_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    hb_date_format(days, d->date);
    d->waits.max = HB_DAY_WAITS_MAX;
    d->state = hb_hall_state_new();
    d->meetings = json_array();
    d->log = json_array();
    d->cash = json_array();
    d->patrols = json_array();
    d->types = json_object();
    d->counter_staff = json_object();
    if (!d->state || !d->meetings || !d->log || !d->cash || !d->patrols || !d->types ||
        !d->counter_staff)
        hb_day_destroy(&d);
    return d;
}

static void s_fini(hb_day_t *d)
{
    hb_hall_state_destroy(&d->state);
    hb_vec_free(&d->waits);
    json_decref(d->frozen_counters);
    json_decref(d->meetings);
    json_decref(d->log);
    json_decref(d->cash);
    json_decref(d->patrols);
    json_decref(d->checklist);
    json_decref(d->opened);
    json_decref(d->types);
    json_decref(d->counter_staff);
}

void hb_day_destroy(hb_day_t **dp) { HB_DESTROY(dp, s_fini); }

bool hb_day_seen(const hb_day_t *d) { return d->seen; }
bool hb_day_over(const hb_day_t *d) { return d->over; }

int hb_day_read_event(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    hb_day_reader_t *r = arg;
    r->next = seq + 1;
    r->rc = hb_day_add_bytes(r->day, data, len);
    return r->rc != 0 || hb_day_over(r->day);
}

size_t hb_day_patrols(const hb_day_t *d) { return json_array_size(d->patrols); }
const json_t *hb_day_checklist(const hb_day_t *d) { return d->checklist; }

/* ------------------------------------------------------------- counters ---- */

static json_t *s_counters(const hb_day_t *d, int64_t at_ms)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < d->state->n_counters; i++) {
        const hb_hs_counter_t *c = &d->state->counters[i];
        int64_t open_ms, busy_ms;
        hb_hall_state_counter_times(c, at_ms, &open_ms, &busy_ms);
        if (open_ms <= 0 && c->served == 0)
            continue;
        json_t *staff = json_object_get(d->counter_staff, c->id);
        staff = staff ? json_incref(staff) : json_array();
        json_array_append_new(
            arr, json_pack("{s:s, s:o, s:I, s:I, s:f, s:i}", "counter", c->id, "staff", staff,
                           "open_s", (json_int_t)(open_ms / 1000), "busy_s",
                           (json_int_t)(busy_ms / 1000), "utilisation",
                           open_ms > 0 ? (double)((busy_ms * 1000 + open_ms / 2) / open_ms) / 1000.0
                                       : 0.0,
                           "served", (int)c->served));
    }
    return arr;
}

/* ------------------------------------------------------------- feeding ---- */

static void s_keep(hb_day_t *d, json_t *list, json_t *rec)
{
    if (!rec)
        return;
    if (json_array_size(list) >= HB_DAY_RECORDS_MAX) {
        d->dropped++;
        json_decref(rec);
        return;
    }
    json_array_append_new(list, rec);
}

static json_t *s_patrol(const hb_day_t *d, const char *id)
{
    size_t i;
    json_t *p;
    json_array_foreach (d->patrols, i, p) {
        const char *pid = json_string_value(json_object_get(p, "patrol"));
        if (pid && id && strcmp(pid, id) == 0)
            return p;
    }
    return NULL;
}

static void s_business(hb_day_t *d, const Hallbus__ServiceCompleted *sc)
{
    const char *type = sc->business_type && sc->business_type[0] ? sc->business_type : "other";
    json_t *t = json_object_get(d->types, type);
    if (!t && json_object_size(d->types) >= HB_DAY_TYPES_MAX)
        t = json_object_get(d->types, type = "other");
    if (!t) {
        t = json_pack("{s:s, s:I, s:I, s:{s:i, s:i, s:i}}", "business_type", type, "count",
                      (json_int_t)0, "amount", (json_int_t)0, "outcomes", "done", 0, "referred", 0,
                      "rejected_documents", 0);
        if (!t || json_object_set_new(d->types, type, t) != 0)
            return;
    }
    json_object_set_new(t, "count",
                        json_integer(json_integer_value(json_object_get(t, "count")) + 1));
    json_object_set_new(
        t, "amount",
        json_integer(json_integer_value(json_object_get(t, "amount")) + (json_int_t)sc->amount));
    static const char *const outcomes[] = {NULL, "done", "referred", "rejected_documents"};
    if (sc->outcome > 0 && sc->outcome < 4) {
        json_t *o = json_object_get(t, "outcomes");
        const char *k = outcomes[sc->outcome];
        json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + 1));
    }
}

static void s_counter_staff(hb_day_t *d, const Hallbus__CounterOpened *co)
{
    if (!co->counter || !co->staff || !co->staff[0])
        return;
    json_t *list = json_object_get(d->counter_staff, co->counter);
    if (!list) {
        list = json_array();
        if (!list || json_object_set_new(d->counter_staff, co->counter, list) != 0)
            return;
    }
    size_t i;
    json_t *s;
    json_array_foreach (list, i, s)
        if (strcmp(json_string_value(s), co->staff) == 0)
            return;
    if (json_array_size(list) < COUNTER_STAFF_MAX)
        json_array_append_new(list, json_string(co->staff));
}

/* What a day event adds besides the state's figures. */
static void s_collect(hb_day_t *d, const Hallbus__Envelope *env)
{
    switch (env->body_case) {
    case HALLBUS__ENVELOPE__BODY_MEETING_HELD: s_keep(d, d->meetings, hb_event_to_json(env)); break;
    case HALLBUS__ENVELOPE__BODY_WORK_LOGGED: s_keep(d, d->log, hb_event_to_json(env)); break;
    case HALLBUS__ENVELOPE__BODY_CASH_HANDED_OVER: s_keep(d, d->cash, hb_event_to_json(env)); break;
    case HALLBUS__ENVELOPE__BODY_CHECKLIST_DONE:
        json_decref(d->checklist);
        d->checklist = hb_event_to_json(env);
        break;
    case HALLBUS__ENVELOPE__BODY_HALL_OPENED:
        /* The first opening counts: the engine refuses a second. */
        if (!d->opened)
            d->opened = hb_event_to_json(env);
        break;
    case HALLBUS__ENVELOPE__BODY_PATROL_DRAWN:
        if (json_array_size(d->patrols) >= HB_DAY_PATROLS_MAX) {
            d->dropped++;
        } else {
            json_t *p = hb_event_to_json(env);
            if (p) {
                json_object_set_new(p, "scores", json_array());
                json_array_append_new(d->patrols, p);
            }
        }
        break;
    case HALLBUS__ENVELOPE__BODY_PATROL_SCORED: {
        json_t *p = s_patrol(d, env->patrol_scored->patrol);
        if (p)
            s_keep(d, json_object_get(p, "scores"), hb_event_to_json(env));
        else
            d->dropped++;
        break;
    }
    case HALLBUS__ENVELOPE__BODY_SERVICE_COMPLETED: s_business(d, env->service_completed); break;
    case HALLBUS__ENVELOPE__BODY_COUNTER_OPENED: s_counter_staff(d, env->counter_opened); break;
    case HALLBUS__ENVELOPE__BODY_APPOINTMENT_BOOKED: d->booked++; break;
    case HALLBUS__ENVELOPE__BODY_APPOINTMENT_CHECKED_IN: d->checked_in++; break;
    case HALLBUS__ENVELOPE__BODY_APPOINTMENT_NO_SHOW: d->no_show++; break;
    case HALLBUS__ENVELOPE__BODY_APPOINTMENT_CANCELLED: d->cancelled++; break;
    default: break;
    }
}

int hb_day_add(hb_day_t *d, const Hallbus__Envelope *env)
{
    if (d->over)
        return 0;
    bool starts = env->body_case == HALLBUS__ENVELOPE__BODY_DAY_STARTED;
    if (starts && d->seen) {
        /* The next day: the counters as they stood when it began. */
        d->over = true;
        d->end_ms = env->at_ms;
        d->frozen_counters = s_counters(d, env->at_ms);
        return d->frozen_counters ? 0 : HB_ENOMEM;
    }
    if (starts && env->day_started->date && strcmp(env->day_started->date, d->date) == 0)
        d->seen = true;

    /* A first call adds one wait to its service (hallstate.c's rule): the
     * wait is what the service's sum grew by. */
    const hb_hs_service_t *svc = NULL;
    uint32_t wait_n = 0;
    uint64_t wait_sum = 0;
    if (d->seen && env->body_case == HALLBUS__ENVELOPE__BODY_TICKET_CALLED) {
        const hb_hs_ticket_t *t = hb_hall_state_ticket(d->state, env->ticket_called->ticket);
        svc = t ? hb_hall_state_service(d->state, t->service) : NULL;
        if (svc) {
            wait_n = svc->wait_n;
            wait_sum = svc->wait_s_sum;
        }
    }
    (void)hb_hall_state_apply(d->state, env);
    if (!d->seen)
        return 0;
    d->events++;
    if (svc) {
        /* The services array may have moved: look it up again. */
        svc = hb_hall_state_service(d->state, svc->code);
        if (svc && svc->wait_n == wait_n + 1 && !hb_vec_full(&d->waits)) {
            day_wait_t *w = hb_vec_push(&d->waits);
            if (!w)
                return HB_ENOMEM;
            w->service = (uint16_t)(svc - d->state->services);
            w->wait_s = (uint32_t)(svc->wait_s_sum - wait_sum);
        }
    }
    s_collect(d, env);
    return 0;
}

int hb_day_add_bytes(hb_day_t *d, const uint8_t *data, size_t len)
{
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    if (!env)
        return 0;
    int rc = hb_day_add(d, env);
    hb_envelope_free(env);
    return rc;
}

/* ------------------------------------------------------------- answers ---- */

json_t *hb_day_records(const hb_day_t *d)
{
    return json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:I}", "date", d->date, "meetings",
                     d->meetings, "checklist", d->checklist ? d->checklist : json_null(), "opened",
                     d->opened ? d->opened : json_null(), "patrols", d->patrols, "log", d->log,
                     "cash", d->cash, "dropped", (json_int_t)d->dropped);
}

int hb_day_patrol_check(const hb_day_t *d, const char *patrol, const char *staff)
{
    const json_t *p = s_patrol(d, patrol);
    if (!p)
        return HB_ENOTFOUND;
    bool drawn = false;
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(p, "drawn"), i, v)
        if (staff && strcmp(json_string_value(v), staff) == 0)
            drawn = true;
    if (!drawn)
        return HB_EINVAL;
    json_array_foreach (json_object_get(p, "scores"), i, v) {
        const char *s = json_string_value(json_object_get(v, "staff"));
        if (s && strcmp(s, staff) == 0)
            return HB_ECONFLICT;
    }
    return 0;
}

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The 90th percentile (nearest rank) of a service's waits. */
static uint32_t s_p90(const hb_day_t *d, size_t service)
{
    size_t n = 0;
    for (size_t i = 0; i < d->waits.n; i++)
        n += d->waits.v[i].service == service;
    if (n == 0)
        return 0;
    uint32_t *w = malloc(n * sizeof *w);
    if (!w)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < d->waits.n; i++)
        if (d->waits.v[i].service == service)
            w[k++] = d->waits.v[i].wait_s;
    qsort(w, n, sizeof *w, s_cmp_u32);
    size_t rank = (n * 9 + 9) / 10; /* ceil(0.9 n), 1-based */
    uint32_t v = w[rank - 1];
    free(w);
    return v;
}

static json_t *s_services(const hb_day_t *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < d->state->n_services; i++) {
        const hb_hs_service_t *s = &d->state->services[i];
        if (s->issued == 0 && s->called == 0 && s->served == 0 && s->transferred_in == 0)
            continue;
        json_array_append_new(
            arr, json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:I, s:i, s:i, s:I}", "service", s->code,
                           "issued", (int)s->issued, "served", (int)s->served, "no_shows",
                           (int)s->no_shows, "cancelled", (int)s->cancelled, "transferred_in",
                           (int)s->transferred_in, "wait_avg_s",
                           (json_int_t)(s->wait_n ? s->wait_s_sum / s->wait_n : 0), "wait_max_s",
                           (int)s->wait_max_s, "wait_p90_s", (int)s_p90(d, i), "service_avg_s",
                           (json_int_t)(s->service_n ? s->service_s_sum / s->service_n : 0)));
    }
    return arr;
}

/* Per staff member, the mean of each score over the day's patrols. */
static json_t *s_patrol_scores(const hb_day_t *d)
{
    static const char *const dims[] = {"smile", "initiative", "compliance", "speed", "accuracy"};
    json_t *by = json_object(), *arr = json_array();
    size_t i, j;
    json_t *p, *sc;
    json_array_foreach (d->patrols, i, p)
        json_array_foreach (json_object_get(p, "scores"), j, sc) {
            const char *staff = json_string_value(json_object_get(sc, "staff"));
            if (!staff || !by)
                continue;
            json_t *acc = json_object_get(by, staff);
            if (!acc) {
                acc = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "staff", staff, "n", 0,
                                "smile", 0, "initiative", 0, "compliance", 0, "speed", 0,
                                "accuracy", 0);
                if (!acc || json_object_set_new(by, staff, acc) != 0)
                    continue;
            }
            for (size_t k = 0; k < 5; k++)
                json_object_set_new(acc, dims[k],
                                    json_integer(json_integer_value(json_object_get(acc, dims[k])) +
                                                 json_integer_value(json_object_get(sc, dims[k]))));
            json_object_set_new(acc, "n",
                                json_integer(json_integer_value(json_object_get(acc, "n")) + 1));
        }
    const char *key;
    json_t *acc;
    json_object_foreach (by, key, acc) {
        json_int_t n = json_integer_value(json_object_get(acc, "n"));
        json_t *o = json_pack("{s:s, s:I}", "staff", key, "scored", n);
        json_int_t total = 0;
        for (size_t k = 0; o && k < 5; k++) {
            json_int_t sum = json_integer_value(json_object_get(acc, dims[k]));
            total += sum;
            /* One decimal, as people read a score. */
            json_object_set_new(o, dims[k], json_real((double)((sum * 10 + n / 2) / n) / 10.0));
        }
        if (o)
            json_object_set_new(o, "avg",
                                json_real((double)((total * 10 + n * 5 / 2) / (n * 5)) / 10.0));
        json_array_append_new(arr, o);
    }
    json_decref(by);
    return arr;
}

json_t *hb_day_report(const hb_day_t *d, const char *hall, int64_t now_ms)
{
    const hb_hs_today_t *t = &d->state->today;
    json_t *types = json_array();
    const char *k;
    json_t *v;
    json_object_foreach (d->types, k, v)
        json_array_append(types, v);
    json_t *scores = json_array();
    uint32_t n_scores = 0;
    uint64_t sum = 0;
    for (int i = 0; i < 5; i++) {
        json_array_append_new(scores, json_integer(t->feedback[i]));
        n_scores += t->feedback[i];
        sum += (uint64_t)t->feedback[i] * (uint64_t)(i + 1);
    }
    uint32_t failures = 0;
    size_t i;
    json_array_foreach (json_object_get(d->checklist, "items"), i, v)
        failures += !json_is_true(json_object_get(v, "ok"));
    json_t *counters = d->over ? json_incref(d->frozen_counters) : s_counters(d, now_ms);
    return json_pack(
        "{s:s, s:s, s:I, s:o, s:o, s:o, s:{s:i, s:i, s:i, s:i}, s:{s:i, s:f, s:o}, s:o,"
        " s:{s:i, s:i, s:i, s:i}, s:i, s:O, s:i, s:I}",
        "hall", hall ? hall : "", "date", d->date, "events", (json_int_t)d->events, "services",
        s_services(d), "business_types", types, "counters", counters, "complaints", "opened",
        (int)t->complaints_opened, "resolved", (int)t->complaints_resolved, "satisfied",
        (int)t->complaints_satisfied, "escalations", (int)t->escalations, "satisfaction", "count",
        (int)n_scores, "avg",
        n_scores ? (double)((sum * 10 + n_scores / 2) / n_scores) / 10.0 : 0.0, "scores", scores,
        "patrols", s_patrol_scores(d), "appointments", "booked", (int)d->booked, "checked_in",
        (int)d->checked_in, "no_show", (int)d->no_show, "cancelled", (int)d->cancelled,
        "checklist_failures", (int)failures, "opened",
        d->opened ? json_object_get(d->opened, "at") : json_null(), "late_s",
        d->opened ? (int)json_integer_value(json_object_get(d->opened, "late_s")) : 0, "dropped",
        (json_int_t)d->dropped);
}
