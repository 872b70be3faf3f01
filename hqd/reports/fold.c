/* The rollups' fold (see fold.h): one handler per event kind, in a table
 * by the envelope's body, each reading the event and the hall's fold state
 * and emitting contributions to cells. docs/REPORTS.md is the prose of
 * these rules and must change with them.
 *
 * Times: an event counts in the local hour and day of its own `at_ms` in
 * the hall's zone, whenever it arrives. Durations (a counter open, busy or
 * paused; a device in fault) are counted in whole seconds between the
 * whole seconds of their ends, cut at local hour boundaries, so the pieces
 * add up to the whole. A running duration is counted up to the event that
 * ends it, and up to each day_started (which starts it again). The state
 * saved as bytes is foldcodec.c's. */
#include "fold_int.h"

#include "hallbus/codec.h"
#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/eventrules.h"
#include "hallbus/tz.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_str_key(const void *owner, uint32_t i)
{
    return ((const ru_fold_t *)owner)->str[i];
}
static const char *s_ticket_key(const void *owner, uint32_t i)
{
    return ((const ru_fold_t *)owner)->tickets[i].id;
}
static const char *s_complaint_key(const void *owner, uint32_t i)
{
    return ((const ru_fold_t *)owner)->complaints[i].id;
}

ru_fold_t *ru_fold_new(uint32_t hall)
{
    ru_fold_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->hall = hall;
    f->day = INT32_MIN;
    f->opened_day = INT32_MIN;
    ru_strmap_init(&f->str_map, s_str_key);
    ru_strmap_init(&f->ticket_map, s_ticket_key);
    ru_strmap_init(&f->complaint_map, s_complaint_key);
    return f;
}

static void s_fini(ru_fold_t *f)
{
    ru_strmap_free(&f->str_map);
    ru_strmap_free(&f->ticket_map);
    ru_strmap_free(&f->complaint_map);
    free(f->str);
    free(f->tickets);
    free(f->complaints);
    free(f->counters);
    free(f->devices);
}

void ru_fold_destroy(ru_fold_t **fp) { HB_DESTROY(fp, s_fini); }

const char *ru_fold_timezone(const ru_fold_t *f) { return f->tz; }
uint64_t ru_fold_dropped(const ru_fold_t *f) { return f->dropped; }
size_t ru_fold_tickets(const ru_fold_t *f) { return f->n_tickets; }

/* Grows an array of `size`-byte records to hold one more, up to `max`. */
bool ru_fold__room(void **arr, size_t *cap, size_t n, size_t size, size_t max)
{
    if (n < *cap)
        return true;
    if (n >= max)
        return false;
    size_t c = *cap ? *cap * 2 : 8;
    if (c > max)
        c = max;
    void *p = realloc(*arr, c * size);
    if (!p)
        return false;
    *arr = p;
    *cap = c;
    return true;
}

/* ------------------------------------------------------------- strings ---- */

static const char *s_str(const ru_fold_t *f, uint32_t i) { return i == NONE ? "" : f->str[i]; }

uint32_t ru_fold__intern(ru_fold_t *f, const char *s)
{
    if (!s || !s[0])
        return NONE;
    int32_t i = ru_strmap_find(&f->str_map, f, s);
    if (i >= 0)
        return (uint32_t)i;
    if (strlen(s) > HB_ID_MAX || !ru_fold__room((void **)&f->str, &f->cap_str, f->n_str,
                                                sizeof *f->str, RU_FOLD_STRINGS_MAX)) {
        f->dropped++;
        return NONE;
    }
    snprintf(f->str[f->n_str], RU_TEXT_MAX, "%s", s);
    if (ru_strmap_add(&f->str_map, f, (uint32_t)f->n_str) != 0) {
        f->dropped++;
        return NONE;
    }
    return (uint32_t)f->n_str++;
}

/* ----------------------------------------------------------- local time ---- */

static const hb_tz_t *s_utc(void)
{
    static const hb_tz_t *utc;
    if (!utc)
        hb_tz_get("UTC", &utc, NULL, 0);
    return utc;
}

static const hb_tz_t *s_zone(ru_fold_t *f, const ru_fold_ctx_t *ctx)
{
    if (f->tzp)
        return f->tzp;
    const hb_policy_t *p = ctx && ctx->policy ? ctx->policy(ctx->policy_arg, f->hall) : NULL;
    return p && p->tz ? p->tz : s_utc();
}

typedef struct ltime {
    int32_t day;
    int32_t month;
    uint8_t hour;
    int64_t sod;        /* local seconds since midnight */
    int64_t hour_end_s; /* the UTC second the local hour ends */
} ltime_t;

static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void s_local(ru_fold_t *f, const ru_fold_ctx_t *ctx, int64_t t_s, ltime_t *out)
{
    const hb_tz_t *tz = s_zone(f, ctx);
    if (tz != f->win_tz || t_s < f->win_lo_s || t_s >= f->win_hi_s) {
        int32_t off = hb_tz_offset(tz, t_s);
        int64_t local = t_s + off;
        int64_t hour_start_local = s_floor_div(local, 3600) * 3600;
        f->win_tz = tz;
        f->win_off = off;
        f->win_lo_s = hour_start_local - off;
        f->win_hi_s = hour_start_local + 3600 - off;
        /* A change of offset inside the hour (zones with half-hour
         * changes): the window ends at the instant itself. */
        if (hb_tz_offset(tz, f->win_hi_s - 1) != off) {
            f->win_lo_s = t_s;
            f->win_hi_s = t_s + 1;
        }
        f->win_day = (int32_t)s_floor_div(local, 86400);
        f->win_day_start_s = (int64_t)f->win_day * 86400;
    }
    out->day = f->win_day;
    out->month = ru_month_of_day(f->win_day);
    out->sod = t_s + f->win_off - f->win_day_start_s;
    out->hour = (uint8_t)(out->sod / 3600);
    out->hour_end_s = f->win_hi_s;
}

int32_t ru_fold_local_day(ru_fold_t *f, int64_t at_ms, const ru_fold_ctx_t *ctx,
                          const char **tz_name)
{
    ltime_t lt;
    s_local(f, ctx, s_floor_div(at_ms, 1000), &lt);
    if (tz_name)
        *tz_name = hb_tz_name(f->win_tz);
    return lt.day;
}

/* ----------------------------------------------------------------- keys ---- */

typedef struct keyset {
    ru_key_t k[RU_FOLD_KEYS_MAX];
    size_t n;
} keyset_t;

static ru_key_t *s_key(keyset_t *ks, const ru_fold_t *f, int level, int32_t period, int dim)
{
    ru_key_t *k = &ks->k[ks->n++];
    k->hall = f->hall;
    k->level = (uint8_t)level;
    k->period = period;
    k->dim = (uint8_t)dim;
    k->hour = 0;
    k->code = 0;
    k->text[0] = '\0';
    return k;
}

static void s_text(ru_key_t *k, const char *s) { snprintf(k->text, sizeof k->text, "%s", s); }

/* The hall's day and month totals and the hour. */
static void s_keys_hall(keyset_t *ks, const ru_fold_t *f, const ltime_t *lt)
{
    s_key(ks, f, RU_LEVEL_DAY, lt->day, RU_DIM_HALL);
    s_key(ks, f, RU_LEVEL_MONTH, lt->month, RU_DIM_HALL);
    s_key(ks, f, RU_LEVEL_DAY, lt->day, RU_DIM_HOUR)->hour = lt->hour;
    s_key(ks, f, RU_LEVEL_MONTH, lt->month, RU_DIM_HOUR)->hour = lt->hour;
}

/* A ticket's figures: the hall's, and its service and priority's. */
static void s_keys_ticket(keyset_t *ks, const ru_fold_t *f, const ltime_t *lt, const char *svc,
                          int prio)
{
    s_keys_hall(ks, f, lt);
    ru_key_t *k = s_key(ks, f, RU_LEVEL_DAY, lt->day, RU_DIM_SLOT);
    k->hour = lt->hour;
    k->code = (uint8_t)prio;
    s_text(k, svc);
    k = s_key(ks, f, RU_LEVEL_MONTH, lt->month, RU_DIM_SERVICE);
    k->code = (uint8_t)prio;
    s_text(k, svc);
}

/* A pair of keys (day, month) of a named breakdown, when it has a name. */
static void s_keys_named(keyset_t *ks, const ru_fold_t *f, const ltime_t *lt, int dim,
                         const char *name)
{
    if (!name || !name[0])
        return;
    s_text(s_key(ks, f, RU_LEVEL_DAY, lt->day, dim), name);
    s_text(s_key(ks, f, RU_LEVEL_MONTH, lt->month, dim), name);
}

static void s_keys_coded(keyset_t *ks, const ru_fold_t *f, const ltime_t *lt, int dim, int code,
                         const char *name)
{
    ru_key_t *k = s_key(ks, f, RU_LEVEL_DAY, lt->day, dim);
    k->code = (uint8_t)code;
    s_text(k, name ? name : "");
    k = s_key(ks, f, RU_LEVEL_MONTH, lt->month, dim);
    k->code = (uint8_t)code;
    s_text(k, name ? name : "");
}

static void s_put(ru_contrib_t *c, int metric, int64_t v)
{
    if (v == 0 || c->n >= RU_CONTRIB_METRICS)
        return;
    c->id[c->n] = (uint8_t)metric;
    c->v[c->n++] = v;
}

static void s_emit(const ru_fold_ctx_t *ctx, const keyset_t *ks, const ru_contrib_t *c)
{
    if (ctx && ctx->emit && ks->n && (c->n || c->has_wait || c->has_service))
        ctx->emit(ctx->emit_arg, ks->k, ks->n, c);
}

/* ------------------------------------------------------------- records ---- */

fticket_t *ru_fold__ticket(ru_fold_t *f, const char *id)
{
    int32_t i = id && id[0] ? ru_strmap_find(&f->ticket_map, f, id) : -1;
    return i >= 0 ? &f->tickets[i] : NULL;
}

/* Removes record `i` of `n` in `arr` (records of `size` bytes, whose id
 * at `id_off` `map` indexes): the last record takes its place. Tickets and
 * complaints are kept so. */
static void s_swap_remove(ru_fold_t *f, ru_strmap_t *map, void *arr, size_t *n, size_t size,
                          size_t id_off, size_t i)
{
    char *rec = (char *)arr + i * size;
    ru_strmap_remove(map, f, rec + id_off);
    size_t last = *n - 1;
    if (i != last) {
        memcpy(rec, (char *)arr + last * size, size);
        ru_strmap_moved(map, rec + id_off, (uint32_t)last, (uint32_t)i);
    }
    (*n)--;
}

static void s_ticket_remove(ru_fold_t *f, size_t i)
{
    s_swap_remove(f, &f->ticket_map, f->tickets, &f->n_tickets, sizeof *f->tickets,
                  offsetof(fticket_t, id), i);
}

/* Room for one more ticket: when full, the oldest finished one goes, else
 * the oldest (forgetting a ticket costs the attribution of its later
 * events, which then count for no service). */
static bool s_ticket_room(ru_fold_t *f)
{
    if (ru_fold__room((void **)&f->tickets, &f->cap_tickets, f->n_tickets, sizeof *f->tickets,
                      RU_FOLD_TICKETS_MAX))
        return true;
    if (f->n_tickets == 0)
        return false;
    size_t victim = SIZE_MAX, oldest = 0;
    for (size_t i = 0; i < f->n_tickets; i++) {
        if ((f->tickets[i].flags & T_FINISHED) &&
            (victim == SIZE_MAX || f->tickets[i].order < f->tickets[victim].order))
            victim = i;
        if (f->tickets[i].order < f->tickets[oldest].order)
            oldest = i;
    }
    s_ticket_remove(f, victim != SIZE_MAX ? victim : oldest);
    f->dropped++;
    return true;
}

/* The ticket `id`, made (with no service) when it is not known. */
static fticket_t *s_ticket_get(ru_fold_t *f, const char *id, int32_t day)
{
    fticket_t *t = ru_fold__ticket(f, id);
    if (t || !id || !id[0] || strlen(id) > HB_ID_MAX)
        return t;
    if (!s_ticket_room(f))
        return NULL;
    t = &f->tickets[f->n_tickets];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    t->svc = t->staff = NONE;
    t->day = day;
    t->order = f->order++;
    if (ru_strmap_add(&f->ticket_map, f, (uint32_t)f->n_tickets) != 0)
        return NULL;
    f->n_tickets++;
    return t;
}

static fcounter_t *s_counter(ru_fold_t *f, const char *id, bool make)
{
    uint32_t s = ru_fold__intern(f, id);
    if (s == NONE)
        return NULL;
    for (size_t i = 0; i < f->n_counters; i++)
        if (f->counters[i].id == s)
            return &f->counters[i];
    if (!make || !ru_fold__room((void **)&f->counters, &f->cap_counters, f->n_counters,
                                sizeof *f->counters, RU_FOLD_COUNTERS_MAX)) {
        if (make)
            f->dropped++;
        return NULL;
    }
    fcounter_t *c = &f->counters[f->n_counters++];
    *c = (fcounter_t){.id = s, .staff = NONE, .state = C_CLOSED};
    return c;
}

fcomplaint_t *ru_fold__complaint(ru_fold_t *f, const char *id)
{
    int32_t i = id && id[0] ? ru_strmap_find(&f->complaint_map, f, id) : -1;
    return i >= 0 ? &f->complaints[i] : NULL;
}

static void s_complaint_remove(ru_fold_t *f, size_t i)
{
    s_swap_remove(f, &f->complaint_map, f->complaints, &f->n_complaints, sizeof *f->complaints,
                  offsetof(fcomplaint_t, id), i);
}

/* ------------------------------------------------------------ durations ---- */

/* Emits `metric` for the seconds of [a_ms, b_ms), cut at local hours, to
 * the hall's cells and the breakdown (dim, code, name). */
static void s_duration(ru_fold_t *f, const ru_fold_ctx_t *ctx, int64_t a_ms, int64_t b_ms,
                       int metric, int metric2, int dim, int code, const char *name)
{
    int64_t a = s_floor_div(a_ms, 1000), b = s_floor_div(b_ms, 1000);
    if (b <= a || !ctx || !ctx->emit)
        return;
    if (b - a > (int64_t)RU_FOLD_SEGMENT_HOURS * 3600) {
        a = b - (int64_t)RU_FOLD_SEGMENT_HOURS * 3600; /* the newest part counts */
        f->dropped++;
    }
    while (a < b) {
        ltime_t lt;
        s_local(f, ctx, a, &lt);
        int64_t end = lt.hour_end_s < b ? lt.hour_end_s : b;
        if (end <= a)
            end = a + 1;
        keyset_t ks = {.n = 0};
        s_keys_hall(&ks, f, &lt);
        if (dim == RU_DIM_DEVICE)
            s_keys_coded(&ks, f, &lt, dim, code, NULL);
        else
            s_keys_named(&ks, f, &lt, dim, name);
        ru_contrib_t c = {0};
        s_put(&c, metric, end - a);
        if (metric2)
            s_put(&c, metric2, end - a);
        s_emit(ctx, &ks, &c);
        a = end;
    }
}

/* Ends the counter's current state at `t` (counting its seconds) and
 * starts `state`. */
static void s_counter_to(ru_fold_t *f, const ru_fold_ctx_t *ctx, fcounter_t *c, int state,
                         int64_t t)
{
    const char *name = s_str(f, c->id);
    switch (c->state) {
    case C_IDLE:
        s_duration(f, ctx, c->since_ms, t, RU_M_COUNTER_OPEN_S, 0, RU_DIM_COUNTER, 0, name);
        break;
    case C_BUSY:
        s_duration(f, ctx, c->since_ms, t, RU_M_COUNTER_OPEN_S, RU_M_COUNTER_BUSY_S, RU_DIM_COUNTER,
                   0, name);
        break;
    case C_PAUSED:
        s_duration(f, ctx, c->since_ms, t, RU_M_COUNTER_PAUSED_S, 0, RU_DIM_COUNTER, 0, name);
        break;
    default: break;
    }
    c->state = (uint8_t)state;
    c->since_ms = t;
}

static void s_device_fault_end(ru_fold_t *f, const ru_fold_ctx_t *ctx, fdevice_t *d, int64_t t)
{
    s_duration(f, ctx, d->fault_since_ms, t, RU_M_DEVICE_FAULT_S, 0, RU_DIM_DEVICE, d->kind, NULL);
}

/* --------------------------------------------------------------- events ---- */

typedef struct ev {
    ru_fold_t *f;
    const ru_fold_ctx_t *ctx;
    const Hallbus__Envelope *env;
    int64_t t; /* at_ms */
    ltime_t lt;
} ev_t;

/* The keys of the event's ticket `t`: its service and priority when it is
 * known, none ("", 0) otherwise. */
static void s_keys_of_ticket(keyset_t *ks, const ev_t *e, const fticket_t *t)
{
    s_keys_ticket(ks, e->f, &e->lt, t ? s_str(e->f, t->svc) : "", t ? t->prio : 0);
}

/* The contribution of an event that ends ticket `t` (when known). */
static void s_emit_finished(const ev_t *e, const keyset_t *ks, const ru_contrib_t *k, fticket_t *t)
{
    s_emit(e->ctx, ks, k);
    if (t)
        t->flags |= T_FINISHED;
}

static const char *s_s(const char *s) { return s ? s : ""; }

/* The staff member behind a ticket's service: who started it, else who
 * holds the counter. */
static const char *s_staff_of(ru_fold_t *f, const fticket_t *t, const fcounter_t *c)
{
    if (t && t->staff != NONE)
        return s_str(f, t->staff);
    return c ? s_str(f, c->staff) : "";
}

/* The event's counter `id` (made when new), busy from the event on. */
static fcounter_t *s_counter_busy(ev_t *e, const char *id)
{
    fcounter_t *c = s_counter(e->f, id, true);
    if (c && c->state != C_BUSY)
        s_counter_to(e->f, e->ctx, c, C_BUSY, e->t);
    return c;
}

static void s_ticket_issued(ev_t *e)
{
    const Hallbus__TicketIssued *m = e->env->ticket_issued;
    ru_fold_t *f = e->f;
    fticket_t *t = ru_fold__ticket(f, m->ticket);
    if (t) {
        /* The same number again (a new day, or a queue system that reuses
         * numbers): a new ticket. */
        t->flags = 0;
        t->staff = NONE;
        t->day = e->lt.day;
        t->order = f->order++;
    } else {
        t = s_ticket_get(f, m->ticket, e->lt.day);
    }
    if (t) {
        t->svc = ru_fold__intern(f, m->service);
        t->prio = (uint8_t)m->priority;
    }
    ru_contrib_t c = {0};
    static const int by_source[] = {RU_M_ISSUED_UNSPECIFIED, RU_M_ISSUED_KIOSK, RU_M_ISSUED_APP,
                                    RU_M_ISSUED_STAFF};
    s_put(&c, RU_M_ISSUED, 1);
    int src = (int)m->source;
    s_put(&c, src >= 0 && src < 4 ? by_source[src] : RU_M_ISSUED_UNSPECIFIED, 1);
    if (m->priority == HALLBUS__PRIORITY__PRIORITY_APPOINTMENT)
        s_put(&c, RU_M_ISSUED_APPOINTMENT, 1);
    keyset_t ks = {.n = 0};
    s_keys_ticket(&ks, f, &e->lt, s_s(m->service), (int)m->priority);
    s_emit(e->ctx, &ks, &c);
}

static void s_ticket_called(ev_t *e)
{
    const Hallbus__TicketCalled *m = e->env->ticket_called;
    ru_fold_t *f = e->f;
    fticket_t *t = s_ticket_get(f, m->ticket, e->lt.day);
    fcounter_t *c = s_counter_busy(e, m->counter);
    if (t && (t->flags & T_CALLED))
        return; /* a later call (after a transfer): not the wait */
    if (t)
        t->flags |= T_CALLED;
    ru_contrib_t k = {0};
    s_put(&k, RU_M_CALLED, 1);
    s_put(&k, RU_M_WAIT_N, 1);
    s_put(&k, RU_M_WAIT_SUM_S, m->wait_s);
    k.has_wait = true;
    k.wait_s = m->wait_s;
    keyset_t ks = {.n = 0};
    s_keys_of_ticket(&ks, e, t);
    s_keys_named(&ks, f, &e->lt, RU_DIM_STAFF, c ? s_str(f, c->staff) : "");
    s_keys_named(&ks, f, &e->lt, RU_DIM_COUNTER, s_s(m->counter));
    s_emit(e->ctx, &ks, &k);
}

static void s_ticket_recalled(ev_t *e)
{
    const Hallbus__TicketRecalled *m = e->env->ticket_recalled;
    ru_fold_t *f = e->f;
    fticket_t *t = ru_fold__ticket(f, m->ticket);
    s_counter_busy(e, m->counter);
    ru_contrib_t k = {0};
    s_put(&k, RU_M_RECALLED, 1);
    keyset_t ks = {.n = 0};
    s_keys_of_ticket(&ks, e, t);
    s_emit(e->ctx, &ks, &k);
}

static void s_service_started(ev_t *e)
{
    const Hallbus__ServiceStarted *m = e->env->service_started;
    ru_fold_t *f = e->f;
    fticket_t *t = ru_fold__ticket(f, m->ticket);
    fcounter_t *c = s_counter(f, m->counter, true);
    uint32_t staff = ru_fold__intern(f, m->staff);
    if (t && staff != NONE)
        t->staff = staff;
    if (c) {
        if (staff != NONE)
            c->staff = staff;
        if (c->state != C_BUSY)
            s_counter_to(f, e->ctx, c, C_BUSY, e->t);
    }
}

/* A ticket's end at a counter: the counter is free again. */
static void s_counter_free(ev_t *e, fcounter_t *c)
{
    if (c && c->state == C_BUSY)
        s_counter_to(e->f, e->ctx, c, C_IDLE, e->t);
}

/* A ticket served or called in vain at `counter` (`c`, when known): its
 * figures go by `ks` and also by `staff` and the counter, the ticket is
 * finished and the counter free again. */
static void s_end_at_counter(ev_t *e, keyset_t *ks, const ru_contrib_t *k, fticket_t *t,
                             fcounter_t *c, const char *staff, const char *counter)
{
    s_keys_named(ks, e->f, &e->lt, RU_DIM_STAFF, staff);
    s_keys_named(ks, e->f, &e->lt, RU_DIM_COUNTER, s_s(counter));
    s_emit_finished(e, ks, k, t);
    s_counter_free(e, c);
}

static void s_service_completed(ev_t *e)
{
    const Hallbus__ServiceCompleted *m = e->env->service_completed;
    ru_fold_t *f = e->f;
    fticket_t *t = ru_fold__ticket(f, m->ticket);
    fcounter_t *c = s_counter(f, m->counter, false);
    const char *staff = s_staff_of(f, t, c);
    static const int by_outcome[] = {0, RU_M_SERVED_DONE, RU_M_SERVED_REFERRED,
                                     RU_M_SERVED_REJECTED};
    ru_contrib_t k = {0};
    s_put(&k, RU_M_SERVED, 1);
    int o = (int)m->outcome;
    if (o > 0 && o < 4)
        s_put(&k, by_outcome[o], 1);
    s_put(&k, RU_M_SERVICE_N, 1);
    s_put(&k, RU_M_SERVICE_SUM_S, m->duration_s);
    s_put(&k, RU_M_AMOUNT, m->amount);
    k.has_service = true;
    k.service_s = m->duration_s;
    keyset_t ks = {.n = 0};
    s_keys_of_ticket(&ks, e, t);
    s_keys_named(&ks, f, &e->lt, RU_DIM_BUSINESS, s_s(m->business_type));
    s_end_at_counter(e, &ks, &k, t, c, staff, m->counter);
}

static void s_ticket_no_show(ev_t *e)
{
    const Hallbus__TicketNoShow *m = e->env->ticket_no_show;
    ru_fold_t *f = e->f;
    fticket_t *t = ru_fold__ticket(f, m->ticket);
    fcounter_t *c = s_counter(f, m->counter, false);
    ru_contrib_t k = {0};
    s_put(&k, RU_M_NO_SHOWS, 1);
    keyset_t ks = {.n = 0};
    s_keys_of_ticket(&ks, e, t);
    s_end_at_counter(e, &ks, &k, t, c, c ? s_str(f, c->staff) : "", m->counter);
}

static void s_ticket_transferred(ev_t *e)
{
    const Hallbus__TicketTransferred *m = e->env->ticket_transferred;
    ru_fold_t *f = e->f;
    fticket_t *t = s_ticket_get(f, m->ticket, e->lt.day);
    ru_contrib_t k = {0};
    s_put(&k, RU_M_TRANSFERRED, 1);
    keyset_t ks = {.n = 0};
    s_keys_ticket(&ks, f, &e->lt, s_s(m->from_service), t ? t->prio : 0);
    s_emit(e->ctx, &ks, &k);
    if (t)
        t->svc = ru_fold__intern(f, m->to_service);
    s_counter_free(e, m->counter && m->counter[0] ? s_counter(f, m->counter, false) : NULL);
}

static void s_ticket_cancelled(ev_t *e)
{
    const Hallbus__TicketCancelled *m = e->env->ticket_cancelled;
    ru_fold_t *f = e->f;
    fticket_t *t = ru_fold__ticket(f, m->ticket);
    ru_contrib_t k = {0};
    s_put(&k, RU_M_CANCELLED, 1);
    keyset_t ks = {.n = 0};
    s_keys_of_ticket(&ks, e, t);
    s_emit_finished(e, &ks, &k, t);
}

/* The day's first counter opening, against the first posted opening of
 * the day in the hall's policy. */
static void s_punctuality(ev_t *e)
{
    ru_fold_t *f = e->f;
    if (f->opened_day == e->lt.day)
        return;
    f->opened_day = e->lt.day;
    const hb_policy_t *p =
        e->ctx && e->ctx->policy ? e->ctx->policy(e->ctx->policy_arg, f->hall) : NULL;
    if (!p)
        return;
    hb_hours_t h;
    hb_policy_hours_on(p, e->lt.day, &h);
    if (h.n == 0)
        return; /* not a posted opening day */
    int64_t late = e->lt.sod - (int64_t)h.iv[0].from * 60;
    ru_contrib_t k = {0};
    s_put(&k, RU_M_OPENING_DAYS, 1);
    if (late > 0) {
        s_put(&k, RU_M_OPENING_LATE_DAYS, 1);
        s_put(&k, RU_M_OPENING_LATE_S, late);
    }
    keyset_t ks = {.n = 0};
    s_key(&ks, f, RU_LEVEL_DAY, e->lt.day, RU_DIM_HALL);
    s_key(&ks, f, RU_LEVEL_MONTH, e->lt.month, RU_DIM_HALL);
    s_emit(e->ctx, &ks, &k);
}

static void s_counter_opened(ev_t *e)
{
    const Hallbus__CounterOpened *m = e->env->counter_opened;
    fcounter_t *c = s_counter(e->f, m->counter, true);
    if (!c)
        return;
    uint32_t staff = ru_fold__intern(e->f, m->staff);
    if (staff != NONE)
        c->staff = staff;
    s_punctuality(e);
    if (c->state != C_IDLE)
        s_counter_to(e->f, e->ctx, c, C_IDLE, e->t);
}

static void s_counter_paused(ev_t *e)
{
    fcounter_t *c = s_counter(e->f, e->env->counter_paused->counter, true);
    if (c && c->state != C_PAUSED)
        s_counter_to(e->f, e->ctx, c, C_PAUSED, e->t);
}

static void s_counter_resumed(ev_t *e)
{
    fcounter_t *c = s_counter(e->f, e->env->counter_resumed->counter, true);
    if (c && c->state != C_IDLE)
        s_counter_to(e->f, e->ctx, c, C_IDLE, e->t);
}

static void s_counter_closed(ev_t *e)
{
    fcounter_t *c = s_counter(e->f, e->env->counter_closed->counter, false);
    if (c && c->state != C_CLOSED)
        s_counter_to(e->f, e->ctx, c, C_CLOSED, e->t);
}

/* A complaint's figures: the hall's, and its channel and category's. */
static void s_complaint_emit(ev_t *e, const fcomplaint_t *k, const ru_contrib_t *c)
{
    keyset_t ks = {.n = 0};
    s_keys_hall(&ks, e->f, &e->lt);
    s_keys_coded(&ks, e->f, &e->lt, RU_DIM_COMPLAINT, k ? k->channel : 0,
                 k ? s_str(e->f, k->category) : "");
    s_emit(e->ctx, &ks, c);
}

/* A deadline that passed makes the complaint overdue, once. */
static void s_overdue(fcomplaint_t *k, ru_contrib_t *c)
{
    if (k && !(k->flags & K_OVERDUE)) {
        k->flags |= K_OVERDUE;
        s_put(c, RU_M_COMPLAINTS_OVERDUE, 1);
    }
}

/* A step done at t against its deadline (0: none known): in time counts in
 * `in_sla`; late makes the complaint overdue. A complaint not known here
 * (opened before the fold began) counts in time. */
static void s_by_deadline(fcomplaint_t *k, int64_t due_ms, int64_t t, ru_contrib_t *c, int in_sla)
{
    if (!k || !due_ms || t <= due_ms)
        s_put(c, in_sla, 1);
    else
        s_overdue(k, c);
}

static void s_complaint_opened(ev_t *e)
{
    const Hallbus__ComplaintOpened *m = e->env->complaint_opened;
    ru_fold_t *f = e->f;
    fcomplaint_t *k = ru_fold__complaint(f, m->complaint);
    if (!k && m->complaint && m->complaint[0] && strlen(m->complaint) <= HB_ID_MAX) {
        if (!ru_fold__room((void **)&f->complaints, &f->cap_complaints, f->n_complaints,
                           sizeof *f->complaints, RU_FOLD_COMPLAINTS_MAX)) {
            /* The oldest unresolved complaint is forgotten. */
            size_t oldest = 0;
            for (size_t i = 1; i < f->n_complaints; i++)
                if (f->complaints[i].order < f->complaints[oldest].order)
                    oldest = i;
            s_complaint_remove(f, oldest);
            f->dropped++;
        }
        k = &f->complaints[f->n_complaints];
        memset(k, 0, sizeof *k);
        snprintf(k->id, sizeof k->id, "%s", m->complaint);
        if (ru_strmap_add(&f->complaint_map, f, (uint32_t)f->n_complaints) == 0)
            f->n_complaints++;
        else
            k = NULL;
    }
    if (k) {
        k->channel = (uint8_t)m->channel;
        k->category = ru_fold__intern(f, m->category);
        k->ack_due_ms = m->ack_due_ms;
        k->resolve_due_ms = m->resolve_due_ms;
        k->flags = 0;
        k->order = f->order++;
    }
    ru_contrib_t c = {0};
    s_put(&c, RU_M_COMPLAINTS_OPENED, 1);
    fcomplaint_t tmp = {.channel = (uint8_t)m->channel,
                        .category = ru_fold__intern(f, m->category)};
    s_complaint_emit(e, k ? k : &tmp, &c);
}

static void s_complaint_acknowledged(ev_t *e)
{
    fcomplaint_t *k = ru_fold__complaint(e->f, e->env->complaint_acknowledged->complaint);
    if (k && (k->flags & K_ACKED))
        return; /* acknowledged once */
    ru_contrib_t c = {0};
    s_put(&c, RU_M_COMPLAINTS_ACKNOWLEDGED, 1);
    s_by_deadline(k, k ? k->ack_due_ms : 0, e->t, &c, RU_M_COMPLAINTS_ACK_IN_SLA);
    if (k)
        k->flags |= K_ACKED;
    s_complaint_emit(e, k, &c);
}

static void s_complaint_escalated(ev_t *e)
{
    const Hallbus__ComplaintEscalated *m = e->env->complaint_escalated;
    fcomplaint_t *k = ru_fold__complaint(e->f, m->complaint);
    ru_contrib_t c = {0};
    s_put(&c, RU_M_COMPLAINTS_ESCALATED, 1);
    if (m->automatic && m->missed != HALLBUS__DEADLINE__DEADLINE_UNSPECIFIED)
        s_overdue(k, &c);
    s_complaint_emit(e, k, &c);
}

static void s_complaint_resolved(ev_t *e)
{
    const Hallbus__ComplaintResolved *m = e->env->complaint_resolved;
    ru_fold_t *f = e->f;
    fcomplaint_t *k = ru_fold__complaint(f, m->complaint);
    ru_contrib_t c = {0};
    s_put(&c, RU_M_COMPLAINTS_RESOLVED, 1);
    s_by_deadline(k, k ? k->resolve_due_ms : 0, e->t, &c, RU_M_COMPLAINTS_RESOLVED_IN_SLA);
    if (m->customer_satisfied)
        s_put(&c, RU_M_COMPLAINTS_SATISFIED, 1);
    s_complaint_emit(e, k, &c);
    if (k)
        s_complaint_remove(f, (size_t)(k - f->complaints));
}

static void s_satisfaction_scored(ev_t *e)
{
    const Hallbus__SatisfactionScored *m = e->env->satisfaction_scored;
    if (m->score < 1 || m->score > 5)
        return; /* HQ stored it with a flag; it is no score */
    ru_fold_t *f = e->f;
    fticket_t *t = ru_fold__ticket(f, m->ticket);
    fcounter_t *c = s_counter(f, m->counter, false);
    static const int by_score[] = {0, RU_M_SAT_1, RU_M_SAT_2, RU_M_SAT_3, RU_M_SAT_4, RU_M_SAT_5};
    ru_contrib_t k = {0};
    s_put(&k, RU_M_SAT_COUNT, 1);
    s_put(&k, RU_M_SAT_SUM, m->score);
    s_put(&k, by_score[m->score], 1);
    keyset_t ks = {.n = 0};
    s_keys_of_ticket(&ks, e, t);
    s_keys_named(&ks, f, &e->lt, RU_DIM_STAFF, s_staff_of(f, t, c));
    s_keys_named(&ks, f, &e->lt, RU_DIM_COUNTER, s_s(m->counter));
    s_emit(e->ctx, &ks, &k);
}

static void s_device_status(ev_t *e)
{
    const Hallbus__DeviceStatus *m = e->env->device_status;
    ru_fold_t *f = e->f;
    uint32_t id = ru_fold__intern(f, m->device);
    if (id == NONE)
        return;
    fdevice_t *d = NULL;
    for (size_t i = 0; i < f->n_devices; i++)
        if (f->devices[i].id == id)
            d = &f->devices[i];
    if (!d) {
        if (!ru_fold__room((void **)&f->devices, &f->cap_devices, f->n_devices, sizeof *f->devices,
                           RU_FOLD_DEVICES_MAX)) {
            f->dropped++;
            return;
        }
        d = &f->devices[f->n_devices++];
        *d = (fdevice_t){.id = id};
    }
    bool fault = m->state != HALLBUS__DEVICE_STATE__DEVICE_STATE_OK;
    if (d->fault_since_ms && !fault) {
        s_device_fault_end(f, e->ctx, d, e->t);
        d->fault_since_ms = 0;
    } else if (!d->fault_since_ms && fault) {
        d->fault_since_ms = e->t;
    }
    d->kind = (uint8_t)m->kind;
}

static void s_day_started(ev_t *e)
{
    const Hallbus__DayStarted *m = e->env->day_started;
    ru_fold_t *f = e->f;
    if (m->timezone && m->timezone[0] && strcmp(m->timezone, f->tz) != 0) {
        const hb_tz_t *tz;
        if (hb_tz_get(m->timezone, &tz, NULL, 0) == 0) {
            snprintf(f->tz, sizeof f->tz, "%s", m->timezone);
            f->tzp = tz;
        }
    }
    /* Running durations are counted up to here and go on from here. */
    for (size_t i = 0; i < f->n_counters; i++) {
        fcounter_t *c = &f->counters[i];
        if (c->state != C_CLOSED)
            s_counter_to(f, e->ctx, c, c->state, e->t);
    }
    for (size_t i = 0; i < f->n_devices; i++) {
        fdevice_t *d = &f->devices[i];
        if (d->fault_since_ms) {
            s_device_fault_end(f, e->ctx, d, e->t);
            d->fault_since_ms = e->t;
        }
    }
}

typedef void (*ev_fn)(ev_t *e);

static const struct {
    Hallbus__Envelope__BodyCase kind;
    ev_fn fn;
} s_handlers[] = {
    {HALLBUS__ENVELOPE__BODY_TICKET_ISSUED, s_ticket_issued},
    {HALLBUS__ENVELOPE__BODY_TICKET_CALLED, s_ticket_called},
    {HALLBUS__ENVELOPE__BODY_TICKET_RECALLED, s_ticket_recalled},
    {HALLBUS__ENVELOPE__BODY_SERVICE_STARTED, s_service_started},
    {HALLBUS__ENVELOPE__BODY_SERVICE_COMPLETED, s_service_completed},
    {HALLBUS__ENVELOPE__BODY_TICKET_NO_SHOW, s_ticket_no_show},
    {HALLBUS__ENVELOPE__BODY_TICKET_TRANSFERRED, s_ticket_transferred},
    {HALLBUS__ENVELOPE__BODY_TICKET_CANCELLED, s_ticket_cancelled},
    {HALLBUS__ENVELOPE__BODY_COUNTER_OPENED, s_counter_opened},
    {HALLBUS__ENVELOPE__BODY_COUNTER_PAUSED, s_counter_paused},
    {HALLBUS__ENVELOPE__BODY_COUNTER_RESUMED, s_counter_resumed},
    {HALLBUS__ENVELOPE__BODY_COUNTER_CLOSED, s_counter_closed},
    {HALLBUS__ENVELOPE__BODY_COMPLAINT_OPENED, s_complaint_opened},
    {HALLBUS__ENVELOPE__BODY_COMPLAINT_ACKNOWLEDGED, s_complaint_acknowledged},
    {HALLBUS__ENVELOPE__BODY_COMPLAINT_ESCALATED, s_complaint_escalated},
    {HALLBUS__ENVELOPE__BODY_COMPLAINT_RESOLVED, s_complaint_resolved},
    {HALLBUS__ENVELOPE__BODY_SATISFACTION_SCORED, s_satisfaction_scored},
    {HALLBUS__ENVELOPE__BODY_DEVICE_STATUS, s_device_status},
    {HALLBUS__ENVELOPE__BODY_DAY_STARTED, s_day_started},
};

/* A new local day: finished tickets of earlier days are forgotten, and
 * live ones older than yesterday (a queue system that never closes its
 * tickets) too. */
static void s_new_day(ru_fold_t *f, int32_t day)
{
    for (size_t i = f->n_tickets; i-- > 0;) {
        const fticket_t *t = &f->tickets[i];
        if (t->day < day && ((t->flags & T_FINISHED) || t->day < day - 1))
            s_ticket_remove(f, i);
    }
    f->day = day;
}

void ru_fold_apply(ru_fold_t *f, const Hallbus__Envelope *env, const ru_fold_ctx_t *ctx,
                   int32_t *day)
{
    *day = INT32_MIN;
    if (env->at_ms < HB_EVENT_AT_MIN_MS || env->at_ms >= HB_EVENT_AT_MAX_MS)
        return;
    ev_t e = {.f = f, .ctx = ctx, .env = env, .t = env->at_ms};
    s_local(f, ctx, s_floor_div(env->at_ms, 1000), &e.lt);
    *day = e.lt.day;
    if (e.lt.day > f->day)
        s_new_day(f, e.lt.day);
    for (size_t i = 0; i < sizeof s_handlers / sizeof s_handlers[0]; i++) {
        if (s_handlers[i].kind == env->body_case) {
            s_handlers[i].fn(&e);
            break;
        }
    }
    keyset_t ks = {.n = 0};
    s_keys_hall(&ks, f, &e.lt);
    ru_contrib_t c = {0};
    s_put(&c, RU_M_EVENTS, 1);
    s_emit(ctx, &ks, &c);
}

void ru_fold_apply_bytes(ru_fold_t *f, const uint8_t *data, size_t len, const ru_fold_ctx_t *ctx,
                         int32_t *day)
{
    *day = INT32_MIN;
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    if (!env)
        return;
    ru_fold_apply(f, env, ctx, day);
    hb_envelope_free(env);
}

void ru_contrib_apply(const ru_contrib_t *c, ru_cell_t *cell)
{
    for (size_t m = 0; m < c->n; m++)
        cell->m[c->id[m]] += c->v[m];
    if (c->has_wait)
        ru_hist_add(&cell->wait, c->wait_s, 1);
    if (c->has_service)
        ru_hist_add(&cell->service, c->service_s, 1);
}
