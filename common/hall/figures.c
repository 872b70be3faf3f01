/* The hall figures (figures.h): counters open, busy and paused, waiting
 * per service and priority, the oldest waiting tickets, the estimated
 * waits and the tickets near their SLA, each defined once, here. Nothing
 * here changes a state or reads a clock; callers pass the moment.
 *
 * Cost matters: HQ's board takes the figures of every hall once a second
 * (10,000 halls and more), so hb_hall_figures allocates nothing, fills
 * only the services the hall has, and looks the policy up once per service
 * and priority that someone waits for, never per ticket. */
#include "hallbus/figures.h"

#include "hallbus/codec.h"
#include "hallbus/json.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <string.h>

/* Times the JSON shows: year 0 to 9999, what RFC 3339 can write. */
#define FIG_TIME_MAX 253402300799999LL

/* ------------------------------------------------------- definitions ---- */

bool hb_fig_counter_open(int state)
{
    return state == HB_COUNTER_IDLE || state == HB_COUNTER_CALLING || state == HB_COUNTER_SERVING;
}

bool hb_fig_counter_busy(int state)
{
    return state == HB_COUNTER_CALLING || state == HB_COUNTER_SERVING;
}

bool hb_fig_counter_paused(int state) { return state == HB_COUNTER_PAUSED; }

/* Whether counter `c`'s list names `service` before index `k`. */
static bool s_listed_before(const hb_hs_counter_t *c, size_t k, const char *service)
{
    for (size_t i = 0; i < k; i++)
        if (strcmp(c->services[i], service) == 0)
            return true;
    return false;
}

bool hb_fig_counter_serves(const hb_hs_counter_t *c, const char *service)
{
    return s_listed_before(
        c, c->n_services < HB_HS_COUNTER_SERVICES_MAX ? c->n_services : HB_HS_COUNTER_SERVICES_MAX,
        service);
}

int hb_fig_priority_bucket(int priority)
{
    return priority >= 1 && priority < HB_FIG_PRIORITIES ? priority : 0;
}

int64_t hb_fig_wait_s(int64_t issued_ms, int64_t now_ms)
{
    return hb_ms_elapsed(issued_ms, now_ms) / 1000;
}

/* Near its SLA: waited at least HB_FIG_NEAR_SLA_PERMILLE of `max_wait_s`
 * (policy limits are at most a week, so the product cannot overflow). */
static bool s_near_sla(int64_t issued_ms, int64_t now_ms, int64_t max_wait_s)
{
    return hb_ms_elapsed(issued_ms, now_ms) >= max_wait_s * HB_FIG_NEAR_SLA_PERMILLE;
}

uint32_t hb_fig_waiting(const hb_hall_state_t *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->n_services; i++)
        n += s->services[i].waiting;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

uint32_t hb_fig_estimate_s(uint32_t position, uint32_t mean_service_s, uint32_t counters_open)
{
    uint64_t est = (uint64_t)position * mean_service_s / (counters_open ? counters_open : 1);
    return est > UINT32_MAX ? UINT32_MAX : (uint32_t)est;
}

/* The fallback mean: half the SLA of a normal ticket of the service. */
static uint32_t s_fallback_mean_s(const hb_policy_t *p, const char *service)
{
    if (!p)
        return HB_FIG_DEFAULT_SERVICE_S;
    int64_t sla = hb_policy_max_wait_s(p, service, HALLBUS__PRIORITY__PRIORITY_NORMAL);
    if (sla <= 0)
        return 0;
    return sla / 2 > UINT32_MAX ? UINT32_MAX : (uint32_t)(sla / 2);
}

uint32_t hb_fig_mean_service_s(const hb_hall_state_t *s, const hb_policy_t *p, const char *service,
                               bool *known)
{
    const hb_hs_service_t *svc = hb_hall_state_service(s, service);
    bool k = svc && svc->n_recent > 0;
    if (known)
        *known = k;
    return k ? hb_hall_state_mean_service_s(svc) : s_fallback_mean_s(p, service);
}

uint32_t hb_fig_counters_open_for(const hb_hall_state_t *s, const char *service)
{
    uint32_t n = 0;
    for (size_t i = 0; i < s->n_counters; i++)
        n += hb_fig_counter_open(s->counters[i].state) &&
             hb_fig_counter_serves(&s->counters[i], service);
    return n;
}

uint32_t hb_fig_ticket_estimate_s(const hb_hall_state_t *s, const hb_policy_t *p,
                                  const char *service, uint32_t position)
{
    return hb_fig_estimate_s(position, hb_fig_mean_service_s(s, p, service, NULL),
                             hb_fig_counters_open_for(s, service));
}

bool hb_fig_divert_due(uint32_t waiting, const hb_policy_t *p)
{
    return (int64_t)waiting > p->diversion_threshold;
}

/* ------------------------------------------------------ all at once ---- */

static void s_service_init(hb_fig_service_t *v, const char *code, bool in_state)
{
    memset(v, 0, sizeof *v);
    v->code = code;
    v->in_state = in_state;
}

/* The figures' index of service `code` among the first `n`, or -1; `hint`
 * is tried first (neighbouring tickets are often of one service). */
static long s_find(const hb_hall_figures_t *f, size_t n, const char *code, long hint)
{
    if (hint >= 0 && (size_t)hint < n && strcmp(f->services[hint].code, code) == 0)
        return hint;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f->services[i].code, code) == 0)
            return (long)i;
    return -1;
}

/* The service and priority queue of waiting ticket `t`, or NULL when its
 * service is not among the state's: the reducer's invariant says every live
 * ticket's is; one that is not is left out of the services. `last` is where
 * the previous ticket's service was found. */
static hb_fig_queue_t *s_queue_of(hb_hall_figures_t *f, size_t n_state, const hb_hs_ticket_t *t,
                                  long *last, hb_fig_service_t **v)
{
    long k = s_find(f, n_state, t->service, *last);
    if (k < 0)
        return NULL;
    *last = k;
    *v = &f->services[k];
    return &(*v)->by_priority[hb_fig_priority_bucket(t->priority)];
}

/* Pass over the waiting tickets: counts and oldest per service and bucket. */
static void s_tickets(const hb_hall_state_t *s, hb_hall_figures_t *f, size_t n_state)
{
    long last = -1;
    for (size_t i = 0; i < s->n_tickets; i++) {
        const hb_hs_ticket_t *t = &s->tickets[i];
        if (t->state != HB_TICKET_WAITING)
            continue;
        if (!f->oldest_issued_ms || t->issued_ms < f->oldest_issued_ms)
            f->oldest_issued_ms = t->issued_ms;
        hb_fig_service_t *v;
        hb_fig_queue_t *q = s_queue_of(f, n_state, t, &last, &v);
        if (!q)
            continue;
        q->waiting++;
        if (!q->oldest || t->issued_ms < q->oldest->issued_ms)
            q->oldest = t;
        if (!v->oldest_issued_ms || t->issued_ms < v->oldest_issued_ms)
            v->oldest_issued_ms = t->issued_ms;
    }
}

/* Pass over the counters: each counter once for the hall, once for each
 * service it names; a service only counters name joins the list. */
static void s_counters(const hb_hall_state_t *s, hb_hall_figures_t *f)
{
    for (size_t i = 0; i < s->n_counters; i++) {
        const hb_hs_counter_t *c = &s->counters[i];
        bool open = hb_fig_counter_open(c->state), busy = hb_fig_counter_busy(c->state),
             paused = hb_fig_counter_paused(c->state);
        f->counters_open += open;
        f->counters_busy += busy;
        f->counters_paused += paused;
        size_t n =
            c->n_services < HB_HS_COUNTER_SERVICES_MAX ? c->n_services : HB_HS_COUNTER_SERVICES_MAX;
        for (size_t k = 0; k < n; k++) {
            const char *code = c->services[k];
            if (s_listed_before(c, k, code))
                continue;
            long j = s_find(f, f->n_services, code, -1);
            if (j < 0) {
                if (f->n_services == HB_FIG_SERVICES_MAX) {
                    f->services_dropped++;
                    continue;
                }
                j = (long)f->n_services++;
                s_service_init(&f->services[j], code, false);
            }
            hb_fig_service_t *v = &f->services[j];
            v->counters_open += open;
            v->counters_busy += busy;
            v->counters_paused += paused;
        }
    }
}

/* The limits of the buckets someone waits in, and whether any oldest
 * ticket is near its limit (then, and only then, tickets are counted). */
static bool s_limits(const hb_policy_t *p, hb_hall_figures_t *f, int64_t now_ms)
{
    bool any = false;
    for (size_t i = 0; p && i < f->n_services; i++) {
        hb_fig_service_t *v = &f->services[i];
        for (int b = 0; b < HB_FIG_PRIORITIES; b++) {
            hb_fig_queue_t *q = &v->by_priority[b];
            if (!q->oldest)
                continue;
            q->max_wait_s = hb_policy_max_wait_s(p, v->code, b);
            any |= s_near_sla(q->oldest->issued_ms, now_ms, q->max_wait_s);
        }
    }
    return any;
}

static void s_near(const hb_hall_state_t *s, hb_hall_figures_t *f, size_t n_state, int64_t now_ms)
{
    long last = -1;
    for (size_t i = 0; i < s->n_tickets; i++) {
        const hb_hs_ticket_t *t = &s->tickets[i];
        if (t->state != HB_TICKET_WAITING)
            continue;
        hb_fig_service_t *v;
        hb_fig_queue_t *q = s_queue_of(f, n_state, t, &last, &v);
        if (!q)
            continue;
        if (s_near_sla(t->issued_ms, now_ms, q->max_wait_s)) {
            q->near_sla++;
            v->near_sla++;
            f->near_sla++;
        }
    }
}

void hb_hall_figures(const hb_hall_state_t *s, const hb_policy_t *p, int64_t now_ms,
                     hb_hall_figures_t *out)
{
    /* Only the head: the services are initialised as they are added. */
    memset(out, 0, offsetof(hb_hall_figures_t, services));
    out->now_ms = now_ms;
    size_t n_state = s->n_services < HB_FIG_SERVICES_MAX ? s->n_services : HB_FIG_SERVICES_MAX;
    for (size_t i = 0; i < n_state; i++) {
        s_service_init(&out->services[i], s->services[i].code, true);
        out->services[i].waiting = s->services[i].waiting;
    }
    out->n_services = n_state;
    out->waiting = hb_fig_waiting(s);
    s_tickets(s, out, n_state);
    s_counters(s, out);
    if (s_limits(p, out, now_ms))
        s_near(s, out, n_state, now_ms);
    for (size_t i = 0; i < out->n_services; i++) {
        hb_fig_service_t *v = &out->services[i];
        const hb_hs_service_t *svc = v->in_state ? &s->services[i] : NULL;
        v->mean_known = svc && svc->n_recent > 0;
        v->mean_service_s =
            v->mean_known ? hb_hall_state_mean_service_s(svc) : s_fallback_mean_s(p, v->code);
        uint32_t position = v->waiting == UINT32_MAX ? UINT32_MAX : v->waiting + 1;
        v->estimated_wait_s = hb_fig_estimate_s(position, v->mean_service_s, v->counters_open);
        v->offered = v->counters_open > 0;
        if ((v->offered || v->waiting > 0) && v->estimated_wait_s > out->estimated_wait_s)
            out->estimated_wait_s = v->estimated_wait_s;
    }
}

const hb_fig_service_t *hb_fig_service(const hb_hall_figures_t *f, const char *code)
{
    long k = s_find(f, f->n_services, code, -1);
    return k < 0 ? NULL : &f->services[k];
}

/* ------------------------------------------------------------- JSON ---- */

static json_t *s_time_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char text[HB_RFC3339_MAX];
    hb_time_format(ms > FIG_TIME_MAX ? FIG_TIME_MAX : ms, text);
    return json_string(text);
}

static json_t *s_int(int64_t v) { return json_integer((json_int_t)v); }

json_t *hb_fig_service_json(const hb_fig_service_t *v, int64_t now_ms)
{
    bool bad = false;
    json_t *o = json_object();
    json_t *by = json_object();
    for (int b = 1; b < HB_FIG_PRIORITIES; b++) {
        char name[32];
        if (!hb_enum_name(&hallbus__priority__descriptor, b, name, sizeof name))
            snprintf(name, sizeof name, "%d", b);
        hb_json_set(by, name, s_int(v->by_priority[b].waiting), &bad);
    }
    hb_json_set(by, "other", s_int(v->by_priority[0].waiting), &bad);
    hb_json_set(o, "service", json_string(v->code), &bad);
    hb_json_set(o, "offered", json_boolean(v->offered), &bad);
    hb_json_set(o, "waiting", s_int(v->waiting), &bad);
    hb_json_set(o, "waiting_by_priority", by, &bad);
    hb_json_set(o, "oldest_issued", s_time_or_null(v->oldest_issued_ms), &bad);
    hb_json_set(o, "oldest_wait_s",
                s_int(v->oldest_issued_ms ? hb_fig_wait_s(v->oldest_issued_ms, now_ms) : 0), &bad);
    hb_json_set(o, "counters_open", s_int(v->counters_open), &bad);
    hb_json_set(o, "counters_busy", s_int(v->counters_busy), &bad);
    hb_json_set(o, "counters_paused", s_int(v->counters_paused), &bad);
    hb_json_set(o, "mean_service_s", s_int(v->mean_service_s), &bad);
    hb_json_set(o, "mean_known", json_boolean(v->mean_known), &bad);
    hb_json_set(o, "estimated_wait_s", s_int(v->estimated_wait_s), &bad);
    hb_json_set(o, "near_sla", s_int(v->near_sla), &bad);
    return hb_json_built(o, bad);
}

json_t *hb_hall_figures_json(const hb_hall_figures_t *f)
{
    bool bad = false;
    json_t *o = json_object();
    json_t *services = json_array();
    for (size_t i = 0; i < f->n_services; i++) {
        json_t *v = hb_fig_service_json(&f->services[i], f->now_ms);
        if (!v || json_array_append_new(services, v) != 0)
            bad = true;
    }
    hb_json_set(o, "waiting", s_int(f->waiting), &bad);
    hb_json_set(o, "oldest_issued", s_time_or_null(f->oldest_issued_ms), &bad);
    hb_json_set(o, "longest_wait_s",
                s_int(f->oldest_issued_ms ? hb_fig_wait_s(f->oldest_issued_ms, f->now_ms) : 0),
                &bad);
    hb_json_set(o, "counters_open", s_int(f->counters_open), &bad);
    hb_json_set(o, "counters_busy", s_int(f->counters_busy), &bad);
    hb_json_set(o, "counters_paused", s_int(f->counters_paused), &bad);
    hb_json_set(o, "estimated_wait_s", s_int(f->estimated_wait_s), &bad);
    hb_json_set(o, "near_sla", s_int(f->near_sla), &bad);
    hb_json_set(o, "services", services, &bad);
    return hb_json_built(o, bad);
}
