/* The traffic model behind hallsim: one simulated opening day of one service
 * hall, as the time-ordered stream of events the hall would record, in the
 * hall's JSON event form (proto/hallbus.proto; see codec.h). Customers arrive
 * on a curve with a morning and a lunch peak, take tickets, are called by
 * counters, served, sometimes do not show or leave, sometimes complain;
 * counters rotate for lunch; the kiosk runs out of paper now and then.
 *
 * The model is pure and deterministic: no clock, no I/O, no global state; the
 * same (seed, hall index, opening time) always gives the same stream. Sending
 * the events anywhere, and pacing them against a real clock, is the caller's
 * business (tools/hallsim.c). It does not run a hall's real queue rules: the
 * hall engine owns those. */
#ifndef HALLBUS_SIM_H
#define HALLBUS_SIM_H

#include <jansson.h>
#include <stdint.h>

/* The posted hours of every simulated hall, as seconds after local midnight.
 * Customers arrive from opening to closing; those still waiting at closing
 * are served, then the counters close. */
#define HB_SIM_OPEN_S (9 * 3600)
#define HB_SIM_CLOSE_S (17 * 3600)

#define HB_SIM_COUNTERS_MIN 3
#define HB_SIM_COUNTERS_MAX 6

typedef struct hb_sim_hall hb_sim_hall_t;

/* What a hall is like and what it has done so far today. */
typedef struct hb_sim_stats {
    double size;           /* arrival-rate factor of this hall (1.0 = a typical hall) */
    int counters;          /* counters the hall opens, HB_SIM_COUNTERS_MIN..MAX */
    uint32_t issued;       /* tickets issued */
    uint32_t served;       /* services completed */
    uint32_t no_shows;     /* tickets that ended as no-shows */
    uint32_t cancelled;    /* customers who left before being called */
    uint32_t turned_away;  /* arrivals refused because the queue was full */
    uint32_t complaints;   /* complaints opened */
    uint32_t events;       /* events handed out by hb_sim_next */
} hb_sim_stats_t;

/* A hall's day. `hall_index` (0, 1, ...) tells halls of one run apart: the
 * hall's size and number of counters depend on (seed, hall_index) only, so a
 * hall keeps them from one day to the next; the day's customers depend on
 * all three. `open_ms` is the instant, ms since the Unix epoch, at which the
 * hall opens (HB_SIM_OPEN_S local time on the simulated day); every event
 * time is `open_ms` plus simulated time since opening. Returns NULL when out
 * of memory. */
hb_sim_hall_t *hb_sim_hall_new(uint64_t seed, int hall_index, int64_t open_ms);

/* The next event of the day, in time order (events at the same millisecond
 * come in the order they happened). On 0, `*sim_time_ms` is its simulated
 * time (ms since the epoch, >= that of the previous event) and `*event` a
 * new JSON object the caller owns ({"type": ..., "at": RFC 3339 of the
 * simulated time, ...fields}); a caller that posts it to a real hall should
 * replace or drop "at" (a hall refuses times in its future). Returns
 * HB_ECLOSED once the day is over (every customer gone, every counter closed,
 * every complaint resolved), and on every call after that; HB_ENOMEM or
 * HB_ETOOBIG (a model bound was hit) on failure, after which the hall only
 * returns that error. `*event` is NULL whenever the return is not 0. */
int hb_sim_next(hb_sim_hall_t *h, int64_t *sim_time_ms, json_t **event);

/* Fills `out` with the hall's character and its counts so far. */
void hb_sim_hall_stats(const hb_sim_hall_t *h, hb_sim_stats_t *out);

/* Customers per hour expected at `tod_s` seconds after local midnight for a
 * hall of `size` (0 outside the opening hours): the curve the arrivals
 * follow. */
double hb_sim_arrival_rate(double size, int tod_s);

/* Frees the hall and any events it still held; idempotent, sets *h_p NULL. */
void hb_sim_hall_destroy(hb_sim_hall_t **h_p);

#endif
