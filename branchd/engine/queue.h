/* The queue rules of the hall engine, as pure functions of the hall's state
 * (hallstate.h), the rules and the present moment: which ticket a counter
 * calls next and why, where a ticket stands, and how long it may wait.
 *
 * Call next, for a counter, among the waiting tickets of the services it
 * serves:
 *   1. ageing: a ticket that has waited at least `ageing_ms` goes first (the
 *      longest waiting of those); a normal ticket is never starved;
 *   2. priority: otherwise a priority ticket (highest rank, then issue time)
 *      goes before normal ones, until `ratio` priority tickets were called
 *      in a row at this counter while normal ones waited;
 *   3. ratio: then the oldest normal ticket gets its turn;
 *   4. first come, first served among equals; a transferred ticket keeps its
 *      place by its first issue time, and when that place is what put it
 *      first the rule says "transfer".
 * The rule that chose is returned so that every call event records it.
 *
 * Before all of them (issue 13), appointment: a checked-in appointment
 * ticket whose slot has begun goes first, the earliest slot first. And a
 * counter passes over two kinds of ticket (queue_may_call): an elderly
 * ticket while a counter marked for elderly customers is open (not paused)
 * for its service, and a booking naming its account manager while that
 * staff works at a counter open for its service. */
#ifndef BRANCHD_QUEUE_H
#define BRANCHD_QUEUE_H

#include "hallbus/hallstate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct queue_rules {
    uint32_t ratio;       /* priority tickets in a row before a normal one's turn (>= 1) */
    int64_t ageing_ms;    /* waited this long: goes first */
    uint32_t max_recalls; /* recalls before a no-show */
    /* Rank by Hallbus__Priority (index 1..4): higher goes first; normal is
     * 0 and every other priority ranks above it. */
    int rank[5];
} queue_rules_t;

/* Default rules: ratio 2, ageing 20 minutes, 2 recalls, ranks elderly >
 * appointment > vip > normal. */
void queue_rules_default(queue_rules_t *r);
/* Parses a priority order such as "elderly,vip,appointment" (highest
 * first; every non-normal priority exactly once) into `r->rank`. */
int queue_parse_order(const char *text, queue_rules_t *r, char *err, size_t errlen);

/* Picks the ticket `counter` calls next. Returns the index into
 * s->tickets and sets `*rule` (Hallbus__CallRule), or returns -1 when no
 * ticket of the counter's services waits. */
long queue_pick(const hb_hall_state_t *s, const hb_hs_counter_t *counter, const queue_rules_t *r,
                int64_t now_ms, int *rule);

/* 1 + the number of waiting tickets of the same service that go before
 * `t` by rank and issue time (ageing and ratio not foreseen). The wait a
 * position means is figures.h's (hb_fig_ticket_estimate_s). */
/* Whether `counter` may call waiting ticket `t` at all (its service, the
 * elderly counters, the named account manager). */
bool queue_may_call(const hb_hall_state_t *s, const hb_hs_counter_t *counter,
                    const hb_hs_ticket_t *t);

uint32_t queue_position(const hb_hall_state_t *s, const hb_hs_ticket_t *t, const queue_rules_t *r);

#endif
