/* The rollups' fold: one hall's events, in sequence order, turned into
 * contributions to cells (cell.h) of the hall's local day and month. What
 * each event counts for, and where, is defined here and in
 * docs/REPORTS.md, and nowhere else.
 *
 * A contribution needs a little memory across events (which ticket was
 * already called, which service a ticket belongs to after a transfer, who
 * served it, since when a counter is busy or a device faulty, a
 * complaint's deadlines): that is the fold's state, one per hall, a pure
 * function of the events applied (and of the two outside facts below), so
 * that replaying a stream from a saved state gives the same state and the
 * same contributions. The state is bounded (tickets, complaints, counters,
 * devices, ids) and saved as bytes (ru_fold_encode) by the rollup thread.
 *
 * Outside facts, both from the hall's effective policy: its time zone
 * until the stream names one (day_started does), and its posted opening
 * hours, against which the day's first counter opening is measured. Not
 * here: storage, threads, queries. */
#ifndef HQD_RU_FOLD_H
#define HQD_RU_FOLD_H

#include "cell.h"

#include "hallbus.pb-c.h"
#include "hallbus/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RU_FOLD_TICKETS_MAX 4096    /* remembered per hall: live ones, and today's finished */
#define RU_FOLD_COMPLAINTS_MAX 1024 /* not yet resolved */
#define RU_FOLD_COUNTERS_MAX 256
#define RU_FOLD_DEVICES_MAX 256
#define RU_FOLD_STRINGS_MAX 8192 /* interned ids: services, staff, counters, devices, categories */
#define RU_FOLD_SEGMENT_HOURS (400 * 24) /* a longer counter or fault segment is cut */
#define RU_FOLD_KEYS_MAX 12              /* cells one contribution goes to */
#define RU_CONTRIB_METRICS 12

/* What one event adds to each of a set of cells. */
typedef struct ru_contrib {
    uint8_t n;
    uint8_t id[RU_CONTRIB_METRICS]; /* ru_metric_t */
    int64_t v[RU_CONTRIB_METRICS];
    bool has_wait, has_service;
    uint32_t wait_s, service_s;
} ru_contrib_t;

/* Receives every contribution: `c` is added to each of the `n` cells. */
typedef void (*ru_emit_fn)(void *arg, const ru_key_t *keys, size_t n, const ru_contrib_t *c);

/* Adds what `c` says to one of its cells: the measures, and the wait and
 * service times to the histograms. The engine and the fold's tests keep
 * cells the same way. */
void ru_contrib_apply(const ru_contrib_t *c, ru_cell_t *cell);
/* The hall's effective policy (its zone and hours), or NULL for none (UTC,
 * and no punctuality). The pointer need only live during the call. */
typedef const hb_policy_t *(*ru_policy_fn)(void *arg, uint32_t hall);

typedef struct ru_fold_ctx {
    ru_emit_fn emit; /* NULL: replay the state only (what was already counted) */
    void *emit_arg;
    ru_policy_fn policy;
    void *policy_arg;
} ru_fold_ctx_t;

typedef struct ru_fold ru_fold_t;

/* A new, empty state for hall number `hall`. NULL when out of memory. */
ru_fold_t *ru_fold_new(uint32_t hall);
void ru_fold_destroy(ru_fold_t **f);

/* Applies one event. `*day` gets the event's local day (INT32_MIN for an
 * event outside HB_EVENT_AT_MIN_MS..HB_EVENT_AT_MAX_MS, which counts for
 * nothing). Never fails: what does not fit the bounds is left out and
 * counted in ru_fold_dropped. */
void ru_fold_apply(ru_fold_t *f, const Hallbus__Envelope *env, const ru_fold_ctx_t *ctx,
                   int32_t *day);
/* The same from stored bytes; bytes that do not decode count for nothing. */
void ru_fold_apply_bytes(ru_fold_t *f, const uint8_t *data, size_t len, const ru_fold_ctx_t *ctx,
                         int32_t *day);

/* The local day of `at_ms` in the hall's zone as the fold knows it (the
 * stream's, else the policy's, else UTC); `*tz_name` (may be NULL) gets
 * the zone's name. */
int32_t ru_fold_local_day(ru_fold_t *f, int64_t at_ms, const ru_fold_ctx_t *ctx,
                          const char **tz_name);
/* The zone named by the stream's last day_started, or "". */
const char *ru_fold_timezone(const ru_fold_t *f);
/* Things the bounds made the fold leave out or forget, ever. */
uint64_t ru_fold_dropped(const ru_fold_t *f);
size_t ru_fold_tickets(const ru_fold_t *f);

/* The state as bytes (malloc'd into `*out`); 0 or HB_ENOMEM. */
int ru_fold_encode(const ru_fold_t *f, uint8_t **out, size_t *len);
/* A state from ru_fold_encode's bytes. 0, HB_EPARSE, HB_ENOMEM. */
int ru_fold_decode(uint32_t hall, const uint8_t *data, size_t len, ru_fold_t **out);

#endif
