/* Time for hallbus: wall-clock milliseconds since the Unix epoch (UTC), the
 * unit of Envelope.at_ms, and RFC 3339 text for the JSON APIs.
 *
 * The clock is injectable so that tests can move time by hand; the daemons
 * never install one. This is not the place for a hall's local calendar
 * (opening hours, time zones): that belongs to the hall engine. */
#ifndef HALLBUS_TIME_H
#define HALLBUS_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Wall clock in ms since the epoch, from the installed clock. */
int64_t hb_now_ms(void);
/* Monotonic clock in ms, for timeouts and latencies; never injected. */
int64_t hb_mono_ms(void);
/* The same clock in ns, for latencies measured in microseconds. */
int64_t hb_mono_ns(void);
/* Whether `budget_ms` has passed since `t0_ns` (hb_mono_ns): the check of
 * work done on the loop in steps (hqd's board, alert and rollout rounds). */
bool hb_mono_spent(int64_t t0_ns, double budget_ms);
/* The moment `ms` (>= 0) after now on `clock` (CLOCK_MONOTONIC or
 * CLOCK_REALTIME, the system's, never the injected one), as
 * pthread_cond_timedwait takes a deadline: on the clock its condition
 * variable was made with. */
void hb_deadline_after(clockid_t clock, int64_t ms, struct timespec *out);
/* Installs a test clock (NULL restores the system clock). */
void hb_clock_set(int64_t (*now_ms)(void));

/* A retry's wait drawn uniformly from [base, 2*base) with rand(): peers
 * that lost the same server come back spread over that interval rather
 * than in one burst (branchd's uplink and key roll; bench_fleet's halls
 * follow the same policy). */
int64_t hb_jitter_ms(int64_t base);
/* The next wait of a doubling backoff, held at `max`. */
int64_t hb_backoff_double(int64_t wait, int64_t max);

/* Days since 1970-01-01 as a proleptic Gregorian date (month 1..12, day
 * 1..31), for every int32 day. */
void hb_civil_from_days(int32_t days, int *year, int *month, int *day);
/* Formats days since the epoch as "YYYY-MM-DD" (`out` holds 11 bytes); a
 * year outside 0..9999 is held at its end, month and day kept. */
void hb_date_format(int32_t days, char out[11]);

/* Formats ms since epoch as "2026-11-23T09:30:00.123Z". `out` must hold
 * HB_RFC3339_MAX bytes. */
#define HB_RFC3339_MAX 32
void hb_time_format(int64_t ms, char out[HB_RFC3339_MAX]);
/* Parses RFC 3339 ("2026-11-23T09:30:00Z", optional fraction, "Z" or
 * "+hh:mm"/"-hh:mm" offset). Returns 0 or HB_EPARSE. */
int hb_time_parse(const char *text, int64_t *out_ms);

/* Times from the wire may be anything an int64 holds: these saturate
 * instead of overflowing. Inline: the figures take one per waiting ticket
 * of every hall in a board round. */

/* The ms from `from` to `to`; 0 when `to` is not later. */
static inline int64_t hb_ms_elapsed(int64_t from, int64_t to)
{
    int64_t d;
    if (to <= from)
        return 0;
    if (__builtin_sub_overflow(to, from, &d))
        return INT64_MAX;
    return d;
}

/* a + b, held at INT64_MIN or INT64_MAX. */
static inline int64_t hb_ms_add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

#endif
