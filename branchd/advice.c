/* Diversion advice and the neighbour board it reads (see advice.h). The
 * board comes from HQ over an authenticated link, but is checked all the
 * same: whatever is kept here ends up in JSON answers, so every string is
 * bounded and valid UTF-8. */
#include "advice.h"

#include "hallbus/ids.h"
#include "hallbus/utf8.h"

#include <stdio.h>
#include <string.h>

/* Copies `src` into `dst` (`cap` bytes) when it fits and is UTF-8 (what
 * jansson takes as a string); else leaves `dst` empty and returns false. */
static bool s_copy_text(char *dst, size_t cap, const char *src)
{
    dst[0] = '\0';
    if (!src)
        return true;
    size_t n = strnlen(src, cap);
    if (n >= cap || !hb_utf8_valid(src, n))
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

static void s_take_services(advice_neighbour_t *dst, const Hallbus__Neighbour *src)
{
    dst->n_services = 0;
    for (size_t i = 0; i < src->n_services && dst->n_services < ADVICE_SERVICES_MAX; i++) {
        const Hallbus__NeighbourService *v = src->services[i];
        advice_service_t *o = &dst->services[dst->n_services];
        if (!v->service || !v->service[0] ||
            !s_copy_text(o->service, sizeof o->service, v->service))
            continue;
        o->estimated_wait_s = v->estimated_wait_s;
        o->waiting = v->waiting;
        o->counters_open = v->counters_open;
        dst->n_services++;
    }
}

void advice_board_take(advice_board_t *b, const Hallbus__NeighbourBoard *nb, int64_t mono_now)
{
    b->n = 0;
    for (size_t i = 0; i < nb->n_neighbours && b->n < ADVICE_NEIGHBOURS_MAX; i++) {
        const Hallbus__Neighbour *src = nb->neighbours[i];
        if (!src->hall || !hb_hall_id_valid(src->hall))
            continue; /* not from a conforming HQ: left out */
        advice_neighbour_t *dst = &b->halls[b->n++];
        snprintf(dst->hall, sizeof dst->hall, "%s", src->hall);
        s_copy_text(dst->name, sizeof dst->name, src->name);
        s_copy_text(dst->address, sizeof dst->address, src->address);
        dst->online = src->online;
        dst->open = src->open;
        dst->waiting = src->waiting;
        dst->estimated_wait_s = src->estimated_wait_s;
        s_take_services(dst, src);
    }
    b->at_ms = nb->at_ms;
    b->received_mono = mono_now;
}

bool advice_board_current(const advice_board_t *b, bool connected, int64_t mono_now)
{
    return b->received_mono && connected && mono_now - b->received_mono <= ADVICE_STALE_MS;
}

const advice_service_t *advice_neighbour_service(const advice_neighbour_t *n, const char *service)
{
    for (size_t i = 0; i < n->n_services; i++)
        if (strcmp(n->services[i].service, service) == 0)
            return &n->services[i];
    return NULL;
}

bool advice_neighbour_better(const advice_neighbour_t *n, const char *service, uint32_t own_wait_s)
{
    if (!n->online || !n->open)
        return false;
    const advice_service_t *v = advice_neighbour_service(n, service);
    return v && v->estimated_wait_s < own_wait_s;
}

/* The wait at the i-th nearby neighbour of `out`, for keeping them in
 * order: shortest first, the board's order among equals. */
static uint32_t s_wait_of(const advice_board_t *b, const char *hall, const char *service)
{
    for (size_t i = 0; i < b->n; i++) {
        if (strcmp(b->halls[i].hall, hall) == 0) {
            const advice_service_t *v = advice_neighbour_service(&b->halls[i], service);
            return v ? v->estimated_wait_s : UINT32_MAX;
        }
    }
    return UINT32_MAX;
}

void advice_decide(const hb_hall_state_t *s, const hb_hall_figures_t *own, const hb_policy_t *p,
                   const char *service, const advice_board_t *board, bool board_current,
                   advice_t *out)
{
    memset(out, 0, sizeof *out);
    const hb_fig_service_t *v = hb_fig_service(own, service);
    out->waiting = v ? v->waiting : 0;
    /* A service the figures do not list has nobody waiting and no counter:
     * a new customer would be first, at the fallback mean. */
    out->estimated_wait_s = v ? v->estimated_wait_s : hb_fig_ticket_estimate_s(s, p, service, 1);
    out->threshold = p->diversion_threshold;
    out->divert = hb_fig_divert_due(out->waiting, p);
    out->from_board = board && board_current;
    if (out->from_board) {
        for (size_t i = 0; i < board->n && out->n_nearby < ADVICE_NEARBY_MAX; i++) {
            const advice_neighbour_t *n = &board->halls[i];
            if (!advice_neighbour_better(n, service, out->estimated_wait_s))
                continue;
            uint32_t w = advice_neighbour_service(n, service)->estimated_wait_s;
            size_t k = out->n_nearby++;
            while (k > 0 && s_wait_of(board, out->nearby[k - 1], service) > w) {
                out->nearby[k] = out->nearby[k - 1];
                k--;
            }
            out->nearby[k] = n->hall;
        }
    } else {
        for (size_t i = 0; i < p->n_divert && out->n_nearby < ADVICE_NEARBY_MAX; i++)
            out->nearby[out->n_nearby++] = p->divert_to[i];
    }
}
