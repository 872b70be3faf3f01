/* The queue rules (see queue.h). Everything here reads the hall's state and
 * decides; nothing changes it. A hall holds at most a few thousand live
 * tickets, so one pass over them per call is cheaper than keeping indexes in
 * step with the reducer. */
#include "queue.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"

#include <string.h>

void queue_rules_default(queue_rules_t *r)
{
    memset(r, 0, sizeof *r);
    r->ratio = 2;
    r->ageing_ms = 20 * 60 * 1000;
    r->max_recalls = 2;
    r->rank[HALLBUS__PRIORITY__PRIORITY_ELDERLY] = 3;
    r->rank[HALLBUS__PRIORITY__PRIORITY_APPOINTMENT] = 2;
    r->rank[HALLBUS__PRIORITY__PRIORITY_VIP] = 1;
}

int queue_parse_order(const char *text, queue_rules_t *r, char *err, size_t errlen)
{
    int rank[5] = {0};
    int seen = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ", ");
        /* The names are the .proto's (codec.h); a normal ticket has no
         * rank to give, so "normal" is not one of them here. */
        char name[32];
        int value = 0;
        if (len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            if (hb_enum_parse(&hallbus__priority__descriptor, name, &value, NULL, 0) != 0 ||
                value == HALLBUS__PRIORITY__PRIORITY_NORMAL)
                value = 0;
        }
        if (!value) {
            hb_errf(err, errlen, "priority_order: '%.*s' is not one of vip, elderly, appointment",
                    (int)(len > 32 ? 32 : len), p);
            return HB_EINVAL;
        }
        if (rank[value]) {
            hb_errf(err, errlen, "priority_order: '%.*s' is named twice", (int)len, p);
            return HB_EINVAL;
        }
        rank[value] = 3 - seen; /* the first named ranks highest */
        seen++;
        p += len;
    }
    if (seen != 3) {
        hb_errf(err, errlen,
                "priority_order must name vip, elderly and appointment once each, "
                "highest first (e.g. \"elderly,appointment,vip\")");
        return HB_EINVAL;
    }
    memcpy(r->rank, rank, sizeof rank);
    r->rank[HALLBUS__PRIORITY__PRIORITY_NORMAL] = 0;
    return 0;
}

static int s_rank(const queue_rules_t *r, int priority)
{
    return priority > 0 && priority < 5 ? r->rank[priority] : 0;
}

/* Earlier issue wins; the array order (issue order) breaks ties. */
static bool s_older(const hb_hs_ticket_t *a, long ia, const hb_hs_ticket_t *b, long ib)
{
    return a->issued_ms < b->issued_ms || (a->issued_ms == b->issued_ms && ia < ib);
}

/* Whether another counter than `self`, open and not paused, serves
 * `service` and is marked for elderly customers (`elderly`) or staffed by
 * `staff` (when not NULL). */
static bool s_other_open(const hb_hall_state_t *s, const hb_hs_counter_t *self, const char *service,
                         bool elderly, const char *staff)
{
    for (size_t i = 0; i < s->n_counters; i++) {
        const hb_hs_counter_t *c = &s->counters[i];
        if (c == self || !hb_fig_counter_open(c->state) || c->state == HB_COUNTER_PAUSED ||
            !hb_fig_counter_serves(c, service))
            continue;
        if (elderly && c->elderly)
            return true;
        if (staff && strcmp(c->staff, staff) == 0)
            return true;
    }
    return false;
}

bool queue_may_call(const hb_hall_state_t *s, const hb_hs_counter_t *counter,
                    const hb_hs_ticket_t *t)
{
    if (!hb_fig_counter_serves(counter, t->service))
        return false;
    /* Elderly and disabled customers go to the counters marked for them
     * while one is open for their service. */
    if (t->priority == HALLBUS__PRIORITY__PRIORITY_ELDERLY && !counter->elderly &&
        s_other_open(s, counter, t->service, true, NULL))
        return false;
    /* A booking that names its account manager waits for them while they
     * work at a counter open for the service. */
    if (t->staff[0] && strcmp(t->staff, counter->staff) != 0 &&
        s_other_open(s, counter, t->service, false, t->staff))
        return false;
    return true;
}

long queue_pick(const hb_hall_state_t *s, const hb_hs_counter_t *counter, const queue_rules_t *r,
                int64_t now_ms, int *rule)
{
    long aged = -1, prio = -1, normal = -1, oldest = -1, due = -1;
    for (size_t i = 0; i < s->n_tickets; i++) {
        const hb_hs_ticket_t *t = &s->tickets[i];
        if (t->state != HB_TICKET_WAITING || !queue_may_call(s, counter, t))
            continue;
        long li = (long)i;
        /* An appointment whose slot has begun: the earliest slot first. */
        if (t->appointment[0] && t->due_ms <= now_ms &&
            (due < 0 || t->due_ms < s->tickets[due].due_ms ||
             (t->due_ms == s->tickets[due].due_ms && s_older(t, li, &s->tickets[due], due))))
            due = li;
        if (oldest < 0 || s_older(t, li, &s->tickets[oldest], oldest))
            oldest = li;
        if (r->ageing_ms > 0 && now_ms - t->issued_ms >= r->ageing_ms &&
            (aged < 0 || s_older(t, li, &s->tickets[aged], aged)))
            aged = li;
        int rank = s_rank(r, t->priority);
        if (rank > 0) {
            int best = prio < 0 ? -1 : s_rank(r, s->tickets[prio].priority);
            if (prio < 0 || rank > best ||
                (rank == best && s_older(t, li, &s->tickets[prio], prio)))
                prio = li;
        } else if (normal < 0 || s_older(t, li, &s->tickets[normal], normal)) {
            normal = li;
        }
    }
    if (oldest < 0)
        return -1;
    if (due >= 0) {
        *rule = HALLBUS__CALL_RULE__CALL_RULE_APPOINTMENT;
        return due;
    }
    /* What the priority and ratio rules choose, and why. */
    long base;
    int base_rule;
    if (prio >= 0 && (normal < 0 || counter->priority_streak < r->ratio)) {
        base = prio;
        base_rule = prio != oldest ? HALLBUS__CALL_RULE__CALL_RULE_PRIORITY : 0;
    } else {
        base = normal;
        base_rule = prio >= 0 ? HALLBUS__CALL_RULE__CALL_RULE_RATIO : 0;
    }
    /* Ageing overrides them; where it picks the same ticket it changed
     * nothing, and the plainer rule explains the order better. */
    if (aged >= 0 && aged != base) {
        *rule = HALLBUS__CALL_RULE__CALL_RULE_AGEING;
        return aged;
    }
    if (!base_rule) /* the ticket that waited longest: first come, first served,
                     * or a transferred ticket that kept its place */
        base_rule = s->tickets[base].transferred ? HALLBUS__CALL_RULE__CALL_RULE_TRANSFER
                                                 : HALLBUS__CALL_RULE__CALL_RULE_FIFO;
    *rule = base_rule;
    return base;
}

uint32_t queue_position(const hb_hall_state_t *s, const hb_hs_ticket_t *t, const queue_rules_t *r)
{
    long ti = (long)(t - s->tickets);
    int rank = s_rank(r, t->priority);
    uint32_t ahead = 0;
    for (size_t i = 0; i < s->n_tickets; i++) {
        const hb_hs_ticket_t *o = &s->tickets[i];
        if (o == t || o->state != HB_TICKET_WAITING || strcmp(o->service, t->service) != 0)
            continue;
        int orank = s_rank(r, o->priority);
        if (orank > rank || (orank == rank && s_older(o, (long)i, t, ti)))
            ahead++;
    }
    return ahead + 1;
}
