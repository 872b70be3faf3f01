/* The figures derived from a hall's state: the only definition of what
 * "a counter is open", "waiting", "the oldest waiting ticket", "the
 * estimated wait" and "near its SLA" mean. The hall's own API, its engine
 * and diversion advice, HQ's board, alerts and neighbour board all ask
 * here, so the same delivered state gives the same numbers on both sides.
 * Not here: the state itself (hallstate.h, the reducer) or the queue rules
 * that pick the next ticket (branchd/engine/queue.h).
 *
 * Every function is pure: a state, optionally a policy, and `now_ms`.
 *
 * Definitions
 * -----------
 * - A counter is open when idle, calling or serving; busy when calling or
 *   serving; paused when paused; closed otherwise. It serves a service when
 *   the service is in its list (a name listed twice counts once). These
 *   predicates are also what the reducer counts a counter's open and busy
 *   time by.
 * - Waiting, per service: the state's own count (the tickets of the service
 *   in state "waiting"). Per service and priority: those tickets by
 *   priority bucket, one bucket per Priority value 1..4 and bucket 0 for
 *   any other value (a newer build's priority); the buckets add up to the
 *   service's count.
 * - The oldest waiting ticket of a bucket, of a service and of the hall:
 *   the waiting ticket with the earliest issue time (the place in the queue,
 *   kept across transfers); the first in issue order among equals. Its wait
 *   at `now_ms` is whole seconds since its issue (0 when `now_ms` is not
 *   after it).
 * - The estimated wait for a ticket at `position` of a service is
 *       position x mean service time / counters open for the service
 *   (at least one counter, so a service nobody serves right now still gets
 *   a figure), rounded down, in seconds. The mean service time is the mean
 *   of the service's last HB_HS_DURATIONS service times once one is known
 *   (a known mean of 0 stays 0); before that, half the policy's longest
 *   acceptable wait for the service and a normal ticket, and without a
 *   policy HB_FIG_DEFAULT_SERVICE_S.
 * - The estimated wait for a new customer of a service is the estimate at
 *   position waiting + 1 (a normal ticket taken now goes after every ticket
 *   already waiting for the service). A service is offered when at least
 *   one counter open serves it.
 * - The hall's estimated wait is the longest of its services' estimates for
 *   a new customer, over the services that are offered or have someone
 *   waiting; 0 when there are none. It is what a new customer of the
 *   slowest service would wait.
 * - A waiting ticket is near its SLA at `now_ms` when it has waited at
 *   least three quarters (HB_FIG_NEAR_SLA_PERMILLE) of the policy's longest
 *   acceptable wait for its service and priority (the bucket's value; the
 *   "any priority" rules for bucket 0). Without a policy nothing is near.
 * - Diversion is due for a service when more customers wait for it than
 *   the policy's diversion threshold.
 * - The services the figures list: the state's services in the state's
 *   order, then services that only counters name (in the order counters
 *   list them), up to HB_FIG_SERVICES_MAX in all.
 *
 * What `now` means
 * ----------------
 * `now_ms` is the moment the figures are taken at, in ms since the epoch on
 * the reader's clock. Only the waits so far (oldest_wait_s,
 * longest_wait_s) and "near its SLA" depend on it; counts, oldest issue
 * times and estimated waits do not. Two readers of the same delivered
 * state (the hall and HQ) therefore agree on every figure when they take
 * it at the same `now_ms`: GET /v1/hall and GET /v1/live/halls/{id} both
 * take `?now=<RFC 3339>` for that (docs/API.md), which is how a test
 * compares them. */
#ifndef HALLBUS_FIGURES_H
#define HALLBUS_FIGURES_H

#include "hallbus/hallstate.h"
#include "hallbus/policy.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_FIG_SERVICES_MAX HB_HS_SERVICES_MAX
#define HB_FIG_PRIORITIES 5          /* buckets: 0 (any other value), 1..4 by Priority */
#define HB_FIG_NEAR_SLA_PERMILLE 750 /* three quarters of the SLA */
#define HB_FIG_DEFAULT_SERVICE_S 600 /* half the built-in 20-minute SLA */

/* One service and priority bucket. */
typedef struct hb_fig_queue {
    uint32_t waiting;
    const hb_hs_ticket_t *oldest; /* NULL when nobody waits; points into the state */
    int64_t max_wait_s;           /* the policy's limit for it; 0 when nobody waits or no policy */
    uint32_t near_sla;
} hb_fig_queue_t;

typedef struct hb_fig_service {
    const char *code; /* points into the state: valid while the state is unchanged */
    bool in_state;    /* false: only counters name it (then nothing waits for it) */
    uint32_t waiting;
    int64_t oldest_issued_ms; /* 0 when nobody waits */
    hb_fig_queue_t by_priority[HB_FIG_PRIORITIES];
    uint16_t counters_open, counters_busy, counters_paused; /* counters serving it */
    uint32_t mean_service_s;
    bool mean_known;           /* false: the fallback above */
    uint32_t estimated_wait_s; /* for a new customer */
    uint32_t near_sla;
    bool offered; /* counters_open > 0 */
} hb_fig_service_t;

typedef struct hb_hall_figures {
    int64_t now_ms;
    uint32_t waiting;
    int64_t oldest_issued_ms;                               /* 0 when nobody waits */
    uint16_t counters_open, counters_busy, counters_paused; /* each counter once */
    uint32_t estimated_wait_s;
    uint32_t near_sla;
    size_t n_services;
    size_t services_dropped; /* service names counters list that found no room */
    hb_fig_service_t services[HB_FIG_SERVICES_MAX];
} hb_hall_figures_t;

/* ---- the definitions one at a time */
bool hb_fig_counter_open(int counter_state);
bool hb_fig_counter_busy(int counter_state);
bool hb_fig_counter_paused(int counter_state);
bool hb_fig_counter_serves(const hb_hs_counter_t *c, const char *service);
/* A priority's bucket: 1..4 as they are, anything else 0. */
int hb_fig_priority_bucket(int priority);
/* Whole seconds from `issued_ms` to `now_ms`, 0 when not after it. */
int64_t hb_fig_wait_s(int64_t issued_ms, int64_t now_ms);
/* Tickets waiting in all services. */
uint32_t hb_fig_waiting(const hb_hall_state_t *s);
/* The formula: position x mean / counters (at least one), saturated. */
uint32_t hb_fig_estimate_s(uint32_t position, uint32_t mean_service_s, uint32_t counters_open);
/* The mean service time the estimates use for `service` (`*known` may be
 * NULL); `p` may be NULL. */
uint32_t hb_fig_mean_service_s(const hb_hall_state_t *s, const hb_policy_t *p, const char *service,
                               bool *known);
/* Counters open for `service` now. */
uint32_t hb_fig_counters_open_for(const hb_hall_state_t *s, const char *service);
/* The estimated wait of a ticket at `position` of `service`. */
uint32_t hb_fig_ticket_estimate_s(const hb_hall_state_t *s, const hb_policy_t *p,
                                  const char *service, uint32_t position);

/* Whether diversion is due with `waiting` customers of one service. */
bool hb_fig_divert_due(uint32_t waiting, const hb_policy_t *p);

/* ---- all of them at once */

/* Every figure of the hall at `now_ms` into `*out` (`p` may be NULL: no
 * SLA figures, the default mean). No allocation: one pass over the live
 * tickets (a second one only when some ticket is near its SLA), one over
 * the counters, and one policy lookup per service and bucket with someone
 * waiting. `out` refers into `s`: valid while `s` is unchanged. */
void hb_hall_figures(const hb_hall_state_t *s, const hb_policy_t *p, int64_t now_ms,
                     hb_hall_figures_t *out);
/* A service of the figures by code, or NULL. */
const hb_fig_service_t *hb_fig_service(const hb_hall_figures_t *f, const char *code);

/* ---- as JSON (new references; NULL when out of memory), the one shape
 * both daemons answer with:
 *   {service, offered, waiting, waiting_by_priority: {normal, vip, elderly,
 *    appointment, other}, oldest_issued (RFC 3339 or null), oldest_wait_s,
 *    counters_open, counters_busy, counters_paused, mean_service_s,
 *    mean_known, estimated_wait_s, near_sla}
 * and for the hall
 *   {waiting, oldest_issued, longest_wait_s, counters_open, counters_busy,
 *    counters_paused, estimated_wait_s, near_sla, services: [...]} */
json_t *hb_fig_service_json(const hb_fig_service_t *v, int64_t now_ms);
json_t *hb_hall_figures_json(const hb_hall_figures_t *f);

#endif
