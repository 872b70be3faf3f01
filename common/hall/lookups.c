/* The hall state as an object: made, copied and freed, and read by the
 * daemons (lookups by id, with the index of live tickets the reducer keeps
 * up to date, the names of its states, and the figures of a moment the
 * state answers by itself: overdue complaints, a counter's open and busy
 * time, a service's mean service time). Not what an event does to the
 * state: that is the reducer's (hallstate.c), and the figures derived for
 * people to read are figures.c's. */
#include "hallbus/destroy.h"
#include "hallbus/hallstate.h"
#include "hallstate_int.h"

#include "hallbus/figures.h"
#include "hallbus/idmap.h"
#include "hallbus/names.h"
#include "hallbus/time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *s_str(const char *p) { return p ? p : ""; }

/* ------------------------------------------------------------- names ---- */

const char *const hb_hs__ticket_states[HB_HS__TICKET_STATES] = {
    [HB_TICKET_WAITING] = "waiting", [HB_TICKET_CALLED] = "called",
    [HB_TICKET_SERVING] = "serving", [HB_TICKET_SERVED] = "served",
    [HB_TICKET_NO_SHOW] = "no_show", [HB_TICKET_CANCELLED] = "cancelled",
};
const char *const hb_hs__counter_states[HB_HS__COUNTER_STATES] = {
    [HB_COUNTER_CLOSED] = "closed",   [HB_COUNTER_IDLE] = "idle",
    [HB_COUNTER_CALLING] = "calling", [HB_COUNTER_SERVING] = "serving",
    [HB_COUNTER_PAUSED] = "paused",
};
const char *const hb_hs__complaint_states[HB_HS__COMPLAINT_STATES] = {
    [HB_COMPLAINT_OPEN] = "open",
    [HB_COMPLAINT_ACKNOWLEDGED] = "acknowledged",
};

const char *const hb_hs__appt_states[HB_HS__APPT_STATES] = {
    [HB_APPT_BOOKED] = "booked",
    [HB_APPT_CHECKED_IN] = "checked_in",
    [HB_APPT_NO_SHOW] = "no_show",
    [HB_APPT_CANCELLED] = "cancelled",
};

const char *hb_appointment_state_name(int state)
{
    return hb_name_of(hb_hs__appt_states, HS_COUNT(hb_hs__appt_states), state);
}

const char *hb_ticket_state_name(int state)
{
    return hb_name_of(hb_hs__ticket_states, HS_COUNT(hb_hs__ticket_states), state);
}

const char *hb_counter_state_name(int state)
{
    return hb_name_of(hb_hs__counter_states, HS_COUNT(hb_hs__counter_states), state);
}

const char *hb_complaint_state_name(int state)
{
    return hb_name_of(hb_hs__complaint_states, HS_COUNT(hb_hs__complaint_states), state);
}

/* ----------------------------------------------------------- lookups ---- */

/* The index of the row among the `n` rows at `rows` (`stride` bytes each)
 * whose id, a string `off` bytes into the row, is `id`; `n` when none is.
 * The one walk of every lookup by id below (names.h's hb_row_find walks rows
 * whose name is a pointer instead). */
static size_t s_find(const void *rows, size_t n, size_t stride, size_t off, const char *id)
{
    const char *row = rows;
    for (size_t i = 0; i < n; i++, row += stride)
        if (strcmp(row + off, id) == 0)
            return i;
    return n;
}

/* The index of the row of s->arr whose `member` is `id`, or s->n_arr. */
#define HS_FIND(s, arr, member, id)                                                                \
    s_find((s)->arr, (s)->n_##arr, sizeof(s)->arr[0], offsetof(__typeof__((s)->arr[0]), member),   \
           s_str(id))

static const void *s_ticket_key(const void *s, uint32_t i)
{
    return ((const hb_hall_state_t *)s)->tickets[i].id;
}

/* Rebuilt by apply whenever removals made it stale; lookups from the const
 * API only read it, so readers sharing a state never write. */
void hb_hs__tindex_build(hb_hall_state_t *s)
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
void hb_hs__tindex_added(hb_hall_state_t *s)
{
    if (s->tindex_ok && hb_idmap_add(&s->tindex, s, (uint32_t)(s->n_tickets - 1)) != 0)
        s->tindex_ok = false;
}

long hb_hs__ticket_index(const hb_hall_state_t *s, const char *id)
{
    if (s->tindex_ok)
        return hb_idmap_find_with(&s->tindex, s, id, s_ticket_key);
    size_t i = HS_FIND(s, tickets, id, id);
    return i < s->n_tickets ? (long)i : -1;
}

hb_hs_ticket_t *hb_hs__ticket(hb_hall_state_t *s, const char *id)
{
    long i = hb_hs__ticket_index(s, s_str(id));
    return i < 0 ? NULL : &s->tickets[i];
}

hb_hs_service_t *hb_hs__service(hb_hall_state_t *s, const char *code)
{
    size_t i = HS_FIND(s, services, code, code);
    return i < s->n_services ? &s->services[i] : NULL;
}

hb_hs_counter_t *hb_hs__counter(hb_hall_state_t *s, const char *id)
{
    if (!s_str(id)[0])
        return NULL;
    size_t i = HS_FIND(s, counters, id, id);
    return i < s->n_counters ? &s->counters[i] : NULL;
}

long hb_hs__complaint_index(const hb_hall_state_t *s, const char *id)
{
    size_t i = HS_FIND(s, complaints, id, id);
    return i < s->n_complaints ? (long)i : -1;
}

hb_hs_device_t *hb_hs__device(hb_hall_state_t *s, const char *id)
{
    size_t i = HS_FIND(s, devices, id, id);
    return i < s->n_devices ? &s->devices[i] : NULL;
}

hb_hs_appointment_t *hb_hs__appointment(hb_hall_state_t *s, const char *code)
{
    size_t i = HS_FIND(s, appointments, code, code);
    return i < s->n_appointments ? &s->appointments[i] : NULL;
}

const hb_hs_appointment_t *hb_hall_state_appointment(const hb_hall_state_t *s, const char *code)
{
    return hb_hs__appointment((hb_hall_state_t *)s, code);
}

const hb_hs_ticket_t *hb_hall_state_ticket(const hb_hall_state_t *s, const char *id)
{
    return hb_hs__ticket((hb_hall_state_t *)s, id);
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
    return hb_hs__service((hb_hall_state_t *)s, code);
}

const hb_hs_counter_t *hb_hall_state_counter(const hb_hall_state_t *s, const char *id)
{
    return hb_hs__counter((hb_hall_state_t *)s, id);
}

const hb_hs_complaint_t *hb_hall_state_complaint(const hb_hall_state_t *s, const char *id)
{
    long i = hb_hs__complaint_index(s, id);
    return i < 0 ? NULL : &s->complaints[i];
}

const hb_hs_device_t *hb_hall_state_device(const hb_hall_state_t *s, const char *id)
{
    return hb_hs__device((hb_hall_state_t *)s, id);
}

/* ------------------------------------------------- figures at a moment ---- */

/* Overdue: an automatic escalation said a deadline was missed, or one has
 * passed at `now_ms` without being met. An acknowledgement after its
 * deadline did not meet it. A live complaint is never resolved, so a passed
 * resolve deadline is always missed. */
bool hb_hs__overdue(const hb_hs_complaint_t *c, int64_t now_ms)
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
        n += hb_hs__overdue(&s->complaints[i], now_ms);
    return n;
}

void hb_hall_state_counter_times(const hb_hs_counter_t *c, int64_t now_ms, int64_t *open_ms,
                                 int64_t *busy_ms)
{
    int64_t run = hb_ms_elapsed(c->state_since_ms, now_ms);
    int64_t open = c->open_ms, busy = c->busy_ms;
    if (hb_fig_counter_open(c->state))
        open = hb_ms_add_sat(open, run);
    if (hb_fig_counter_busy(c->state))
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

static void s_fini(hb_hall_state_t *s)
{
    free(s->services);
    free(s->counters);
    free(s->tickets);
    free(s->complaints);
    free(s->devices);
    free(s->appointments);
    hb_idmap_free(&s->tindex);
}

void hb_hall_state_destroy(hb_hall_state_t **s_p) { HB_DESTROY(s_p, s_fini); }

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
    c->appointments = s_dup(s->appointments, s->n_appointments, s->cap_appointments,
                            sizeof *s->appointments, &bad);
    if (bad)
        hb_hall_state_destroy(&c);
    return c;
}
