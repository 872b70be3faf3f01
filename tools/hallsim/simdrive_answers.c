/* hallsim's drive mode, the answers (see simdrive.c for the whole): what
 * the hall's answer to a request does to the entity it was for (a ticket
 * taken, a counter that called, a complaint acknowledged, a score given),
 * and, after a read of GET /v1/hall, how the hall's tickets, counters and
 * complaints replace the bookkeeping entity by entity. An answer the
 * bookkeeping did not foresee is not argued with: it asks for a read. */
#include "simdrive_int.h"

#include "hallbus/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- answers ---- */

void simdrive__answer_ticket(hb_simdrive_t *d, customer_t *c, int status, const json_t *body)
{
    const char *ticket = simdrive__str(body, "ticket");
    if (status == 201 && simdrive__id_ok(ticket)) {
        customer_t *stale = simdrive__customer(d, ticket);
        if (stale) {
            /* A number the hall gives again (a new day in the hall) means
             * that one is gone. */
            simdrive__customer_free(stale);
            d->stats.vanished++;
        }
        snprintf(c->ticket, sizeof c->ticket, "%s", ticket);
        c->state = CUST_WAITING;
        simdrive__arm(d, &c->renege, d->now_ms + c->patience_ms);
        d->stats.issued++;
        simdrive__wake(d, c->service);
        return;
    }
    simdrive__customer_free(c);
    const char *code = simdrive__str(body, "error");
    if (status == 409 && code && strcmp(code, "closed") == 0)
        d->stats.refused_closed++;
    else if (status == 503 && code && strcmp(code, "full") == 0)
        d->stats.refused_full++;
    else
        simdrive__surprise(d);
}

void simdrive__answer_counter(hb_simdrive_t *d, int i, hb_sd_kind_t kind, int status,
                              const json_t *body)
{
    counter_t *k = &d->counters[i];
    customer_t *c = k->ticket[0] ? simdrive__customer(d, k->ticket) : NULL;
    const char *code = simdrive__ok(status) ? NULL : simdrive__str(body, "error");
    if (kind == HB_SD_COUNTER_PAUSE && status == 409 && code && strcmp(code, "last_counter") == 0) {
        /* The engine keeps the last open counter of a service open while
         * people wait for it: a rule, not a fault. The clerk eats later
         * (or, refused LUNCH_TRIES times, not today) and serves meanwhile.
         * Taken as a surprise, the state read would reset the counter and
         * the pause be asked again at once, for ever. */
        k->strikes = 0;
        if (++k->lunch_refused < LUNCH_TRIES) {
            k->lunch = LUNCH_AHEAD;
            simdrive__arm(d, &k->lunch_at, d->now_ms + LUNCH_RETRY_MS);
        } else {
            k->lunch = LUNCH_TAKEN;
        }
        simdrive__counter_idle(d, k);
        return;
    }
    if (!simdrive__ok(status)) {
        if (kind == HB_SD_CALL && status == 404)
            k->strikes = 0; /* nobody waits after all: a belief to correct, not a fault */
        simdrive__counter_refused(d, k);
        return;
    }
    k->strikes = 0;
    switch (kind) {
    case HB_SD_COUNTER_OPEN:
    case HB_SD_COUNTER_RESUME:
        if (kind == HB_SD_COUNTER_RESUME)
            k->lunch = LUNCH_TAKEN;
        simdrive__counter_idle(d, k);
        break;
    case HB_SD_COUNTER_PAUSE:
        k->state = CTR_PAUSED;
        k->lunch = LUNCH_TAKING;
        d->stats.lunch_breaks++;
        simdrive__arm(d, &k->step, d->now_ms + HB_SIM_LUNCH_MS);
        break;
    case HB_SD_COUNTER_CLOSE:
        k->state = CTR_DONE;
        simdrive__disarm(&k->lunch_at);
        simdrive__send_home(d);
        break;
    case HB_SD_CALL: {
        const char *ticket = simdrive__str(body, "ticket");
        if (!simdrive__id_ok(ticket)) {
            simdrive__surprise(d);
            return;
        }
        c = simdrive__customer(d, ticket);
        if (!c || c->state != CUST_WAITING) {
            /* The hall called a ticket we did not know waited: learn what
             * else we missed. */
            simdrive__surprise(d);
            return;
        }
        c->state = CUST_CALLED;
        c->called_ms = d->now_ms;
        c->recalls_done = 0;
        simdrive__disarm(&c->renege);
        snprintf(k->ticket, sizeof k->ticket, "%s", ticket);
        k->state = CTR_CALLING;
        d->stats.called++;
        simdrive__arm(d, &k->step,
                      d->now_ms + (c->recalls_needed > 0 ? HB_SIM_RECALL_MS
                                                         : hb_sim_draw_walk_ms(&c->rng, false)));
        break;
    }
    case HB_SD_RECALL:
    case HB_SD_NO_SHOW: {
        const char *state = simdrive__str(body, "state");
        if (!c) {
            simdrive__surprise(d);
            return;
        }
        if (kind == HB_SD_NO_SHOW || (state && strcmp(state, "no_show") == 0)) {
            d->stats.no_shows++;
            simdrive__customer_free(c);
            simdrive__counter_idle(d, k);
            return;
        }
        c->recalls_done++;
        d->stats.recalled++;
        bool comes = c->recalls_done >= c->recalls_needed;
        simdrive__arm(d, &k->step,
                      d->now_ms + (comes ? hb_sim_draw_walk_ms(&c->rng, true) : HB_SIM_RECALL_MS));
        break;
    }
    case HB_SD_START:
        if (!c) {
            simdrive__surprise(d);
            return;
        }
        c->state = CUST_SERVING;
        c->business = hb_sim_draw_business(&c->rng, c->service);
        c->service_ms = hb_sim_draw_service_ms(&c->rng, c->business);
        k->state = CTR_SERVING;
        d->stats.started++;
        {
            bool transfer = c->transfer_to >= 0 && !c->transferred;
            int64_t took =
                transfer ? (int64_t)((double)c->service_ms * TRANSFER_POINT) : c->service_ms;
            simdrive__arm(d, &k->step, d->now_ms + took);
        }
        break;
    case HB_SD_TRANSFER:
        if (!c) {
            simdrive__surprise(d);
            return;
        }
        c->service = c->transfer_to;
        c->transferred = true;
        c->state = CUST_WAITING;
        /* Sent to another queue, they wait there as patiently as anyone. */
        simdrive__arm(d, &c->renege, d->now_ms + hb_sim_draw_patience_ms(&c->rng));
        d->stats.transferred++;
        simdrive__counter_idle(d, k);
        simdrive__wake(d, c->service);
        break;
    case HB_SD_COMPLETE:
        if (!c) {
            simdrive__surprise(d);
            return;
        }
        d->stats.served++;
        {
            /* A long wait or a service not done disappoints. */
            int64_t waited = c->called_ms - c->arrived_ms;
            bool long_wait = waited > HB_SIM_AGEING_MS;
            int64_t after = 0;
            int score = hb_sim_draw_score(&c->rng, long_wait || c->not_done, &after);
            followup_t *f = score > 0 ? simdrive__followup_new(d, FU_SCORE, c, i) : NULL;
            if (f) {
                f->score = score;
                simdrive__arm(d, &f->timer, d->now_ms + after);
            }
            if (hb_sim_draw_complains(&c->rng, &after)) {
                f = simdrive__followup_new(d, FU_COMPLAINT, c, i);
                if (f) {
                    f->long_wait = long_wait;
                    hb_sim_rng_seed(&f->rng, hb_sim_u64(&c->rng));
                    simdrive__arm(d, &f->timer, d->now_ms + after);
                }
            }
        }
        simdrive__customer_free(c);
        simdrive__counter_idle(d, k);
        break;
    default: break;
    }
}

void simdrive__answer_complaint(hb_simdrive_t *d, int i, hb_sd_kind_t kind, int status)
{
    complaint_t *p = &d->complaints[i];
    if (kind == HB_SD_COMPLAINT_ESCALATE && status == 409) {
        /* Escalated already (the hall escalates by itself when a deadline
         * passes): on to the resolution. */
        p->state = CP_ESCALATED;
        simdrive__arm(d, &p->timer, d->now_ms + hb_sim_draw_resolve_after_escalation_ms(&p->rng));
        return;
    }
    if (kind == HB_SD_COMPLAINT_RESOLVE && status == 404) {
        simdrive__complaint_free(p); /* resolved already */
        return;
    }
    if (!simdrive__ok(status)) {
        simdrive__complaint_refused(d, p);
        return;
    }
    p->strikes = 0;
    if (kind == HB_SD_COMPLAINT_ACK) {
        d->stats.complaints_acked++;
        simdrive__complaint_acked(d, p);
    } else if (kind == HB_SD_COMPLAINT_ESCALATE) {
        d->stats.complaints_escalated++;
        p->state = CP_ESCALATED;
        simdrive__arm(d, &p->timer, d->now_ms + hb_sim_draw_resolve_after_escalation_ms(&p->rng));
    } else {
        d->stats.complaints_resolved++;
        simdrive__complaint_free(p);
    }
}

void simdrive__answer_followup(hb_simdrive_t *d, int i, int status, const json_t *body)
{
    followup_t *f = &d->followups[i];
    if (f->kind == FU_SCORE && status == 201) {
        d->stats.feedback++;
    } else if (f->kind == FU_COMPLAINT && status == 201 &&
               simdrive__id_ok(simdrive__str(body, "id"))) {
        d->stats.complaints_opened++;
        complaint_t *p = simdrive__complaint_new(d, simdrive__str(body, "id"));
        if (p) {
            p->rng = f->rng;
            p->severity_rank = f->complaint.severity_rank;
            p->resolution = f->complaint.resolution;
            simdrive__arm(d, &p->timer, d->now_ms + f->complaint.ack_after_ms);
        } else {
            d->stats.given_up++;
        }
    }
    /* A refused score or complaint is not retried: the customer has gone
     * home (the caller counts the refusal). */
    memset(f, 0, sizeof *f);
    f->kind = FU_FREE;
    simdrive__disarm(&f->timer);
}

/* ------------------------------------------------- the hall's state ---- */

static unsigned s_services_bits(const json_t *arr)
{
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        int s = simdrive__service_index(json_string_value(v));
        if (s >= 0)
            bits |= 1u << s;
    }
    return bits;
}

static int s_ticket_state(const char *name)
{
    if (!name)
        return CUST_FREE;
    if (strcmp(name, "waiting") == 0)
        return CUST_WAITING;
    if (strcmp(name, "called") == 0)
        return CUST_CALLED;
    if (strcmp(name, "serving") == 0)
        return CUST_SERVING;
    return CUST_FREE;
}

/* Takes the hall's tickets over: ours it still has follow its word, ours it
 * no longer has are gone, and its others become ours to play. */
static void s_take_tickets(hb_simdrive_t *d, const json_t *tickets)
{
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++)
        d->customers[i].seen = false;
    size_t n;
    json_t *t;
    json_array_foreach (tickets, n, t) {
        const char *id = simdrive__str(t, "ticket");
        int state = s_ticket_state(simdrive__str(t, "state"));
        if (!simdrive__id_ok(id) || state == CUST_FREE)
            continue;
        customer_t *c = simdrive__customer(d, id);
        if (!c) {
            c = simdrive__customer_new(d,
                                       hb_sim_mix(d->day_seed, simdrive__hash(id), 0x61646f70ULL));
            if (!c) {
                d->stats.turned_away++;
                continue;
            }
            snprintf(c->ticket, sizeof c->ticket, "%s", id);
            c->arrived_ms = d->now_ms;
            d->stats.adopted++;
        }
        c->seen = true;
        c->service = simdrive__service_index(simdrive__str(t, "service"));
        c->state = state;
        json_t *recalls = json_object_get(t, "recalls");
        if (json_is_integer(recalls) && state == CUST_CALLED)
            c->recalls_done = (int)json_integer_value(recalls);
        const char *counter = simdrive__str(t, "counter");
        bool ours = counter && simdrive__counter_index(d, counter) >= 0;
        if (c->service < 0 || (state != CUST_WAITING && !ours)) {
            c->state = CUST_ELSEWHERE;
            simdrive__disarm(&c->renege);
        } else if (state == CUST_WAITING && c->renege.at == NEVER) {
            simdrive__arm(d, &c->renege, d->now_ms + c->patience_ms);
        } else if (state != CUST_WAITING) {
            simdrive__disarm(&c->renege);
        }
    }
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state != CUST_FREE && !c->seen) {
            d->stats.vanished++;
            simdrive__customer_free(c);
        }
    }
}

static void s_take_counter(hb_simdrive_t *d, int i, const json_t *hc)
{
    counter_t *k = &d->counters[i];
    if (k->abandoned)
        return;
    const char *state = hc ? simdrive__str(hc, "state") : "closed";
    const char *ticket = hc ? simdrive__str(hc, "ticket") : NULL;
    customer_t *c = ticket ? simdrive__customer(d, ticket) : NULL;
    if (hc && json_is_array(json_object_get(hc, "services")))
        k->services = s_services_bits(json_object_get(hc, "services"));
    bool same_ticket = ticket && strcmp(k->ticket, ticket) == 0;
    if (!state || strcmp(state, "closed") == 0) {
        if (k->state != CTR_DONE) {
            k->state = CTR_CLOSED;
            k->services = k->plan.services;
            simdrive__arm(d, &k->step, d->now_ms);
        }
        k->ticket[0] = '\0';
    } else if (strcmp(state, "idle") == 0) {
        simdrive__counter_idle(d, k);
    } else if ((strcmp(state, "calling") == 0 || strcmp(state, "serving") == 0) && c &&
               c->state != CUST_ELSEWHERE) {
        bool serving = state[0] == 's';
        int want = serving ? CTR_SERVING : CTR_CALLING;
        bool keep = k->state == want && same_ticket && k->step.at != NEVER;
        snprintf(k->ticket, sizeof k->ticket, "%s", ticket);
        k->state = want;
        if (!keep && serving) {
            if (!c->business) {
                c->business = hb_sim_draw_business(&c->rng, c->service);
                c->service_ms = hb_sim_draw_service_ms(&c->rng, c->business);
            }
            simdrive__arm(d, &k->step, d->now_ms + c->service_ms);
        } else if (!keep) {
            if (!c->called_ms)
                c->called_ms = d->now_ms;
            bool comes = c->recalls_done >= c->recalls_needed;
            simdrive__arm(d, &k->step,
                          d->now_ms + (comes ? hb_sim_draw_walk_ms(&c->rng, c->recalls_done > 0)
                                             : HB_SIM_RECALL_MS));
        }
    } else if (strcmp(state, "paused") == 0) {
        if (k->state != CTR_PAUSED || k->step.at == NEVER) {
            /* A pause we did not see answered: it is the lunch break. */
            k->state = CTR_PAUSED;
            k->lunch = LUNCH_TAKING;
            simdrive__arm(d, &k->step, d->now_ms + HB_SIM_LUNCH_MS);
        }
    } else {
        /* Busy with a ticket we cannot follow, or a state this build does
         * not know: leave the counter to the hall for today. */
        simdrive__counter_abandon(d, k);
    }
}

static void s_take_complaints(hb_simdrive_t *d, const json_t *list)
{
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++)
        d->complaints[i].seen = false;
    size_t n;
    json_t *o;
    json_array_foreach (list, n, o) {
        const char *id = simdrive__str(o, "complaint");
        const char *state = simdrive__str(o, "state");
        if (!simdrive__id_ok(id) || !state)
            continue;
        bool acked = strcmp(state, "acknowledged") == 0;
        complaint_t *p = simdrive__complaint(d, id);
        if (!p) {
            p = simdrive__complaint_new(d, id);
            if (!p) {
                d->stats.given_up++;
                continue;
            }
            hb_sim_rng_seed(&p->rng, hb_sim_mix(d->day_seed, simdrive__hash(id), 0x636f6d70ULL));
            hb_sim_complaint_t drawn;
            hb_sim_draw_complaint(&p->rng, false, &drawn);
            p->severity_rank = simdrive__severity_rank(simdrive__str(o, "severity"));
            p->resolution = drawn.resolution;
            simdrive__arm(d, &p->timer, d->now_ms + drawn.ack_after_ms);
            d->stats.adopted++;
        }
        p->seen = true;
        if (acked && p->state == CP_OPEN) {
            simdrive__complaint_acked(d, p); /* our acknowledgement went through after all */
        } else if (!acked && p->state != CP_OPEN) {
            p->state = CP_OPEN; /* it did not */
            simdrive__arm(d, &p->timer, d->now_ms);
        } else if (p->timer.at == NEVER) {
            simdrive__arm(d, &p->timer, d->now_ms);
        }
    }
    for (int i = 0; i < HB_SD_COMPLAINTS_MAX; i++) {
        complaint_t *p = &d->complaints[i];
        if (p->state != CP_FREE && !p->seen) {
            d->stats.vanished++;
            simdrive__complaint_free(p);
        }
    }
}

void simdrive__answer_read(hb_simdrive_t *d, int status, const json_t *view)
{
    const json_t *tickets = json_object_get(view, "tickets");
    const json_t *counters = json_object_get(view, "counters");
    const json_t *complaints = json_object_get(json_object_get(view, "complaints"), "list");
    if (status != 200 || !json_is_array(tickets) || !json_is_array(counters) ||
        !json_is_array(complaints)) {
        /* Try again later, less and less often. */
        d->read_backoff_ms = d->read_backoff_ms ? d->read_backoff_ms * 2 : READ_BACKOFF_MIN;
        if (d->read_backoff_ms > READ_BACKOFF_MAX)
            d->read_backoff_ms = READ_BACKOFF_MAX;
        simdrive__arm(d, &d->read, d->now_ms + d->read_backoff_ms);
        d->stats.surprises++;
        return;
    }
    d->need_read = false;
    d->read_backoff_ms = 0;
    simdrive__disarm(&d->read);
    d->stats.resyncs++;
    s_take_tickets(d, tickets);
    for (int i = 0; i < d->n_counters; i++) {
        const json_t *hc = NULL;
        size_t n;
        json_t *o;
        json_array_foreach (counters, n, o) {
            const char *id = simdrive__str(o, "counter");
            if (id && strcmp(id, d->counters[i].plan.id) == 0)
                hc = o;
        }
        s_take_counter(d, i, hc);
    }
    /* A ticket the hall has at one of our counters that the counter did
     * not take up (it could not follow it) is not ours to play. */
    for (int i = 0; i < HB_SD_CUSTOMERS_MAX; i++) {
        customer_t *c = &d->customers[i];
        if (c->state != CUST_CALLED && c->state != CUST_SERVING)
            continue;
        bool held = false;
        for (int k = 0; k < d->n_counters && !held; k++)
            held = strcmp(d->counters[k].ticket, c->ticket) == 0;
        if (!held) {
            c->state = CUST_ELSEWHERE;
            simdrive__disarm(&c->renege);
        }
    }
    s_take_complaints(d, complaints);
    simdrive__wake(d, -1);
}
