/* The simulator's hall days as the bytes a hall puts on the wire: a pool of
 * whole opening days from the traffic model (tools/hallsim/sim.h), every
 * event kind it makes, turned once into packed envelope bodies, so that a
 * benchmark sends realistic events at hundreds of thousands a second
 * without paying the model's JSON on its own clock. A hall plays one day of
 * the pool after another. Not a second traffic model: every event comes
 * from hb_sim; only the sequence number and the time are set per send. */
#ifndef TOOLS_BENCH_DAYS_H
#define TOOLS_BENCH_DAYS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

typedef struct days days_t;

/* Where one hall is in the pool: the day it plays and its next event. */
typedef struct days_cursor {
    uint32_t day, pos;
} days_cursor_t;

/* Builds `n` days (hall indexes 0..n-1 of the model's `seed`). Each event is
 * checked once: its bytes as sent here must equal hb_envelope_pack's, or the
 * pool is refused. 0, or an error code with `err` filled. */
int days_build(int n, uint64_t seed, days_t **out, char *err, size_t errlen);
void days_free(days_t **d);

/* The cursor a hall `index` starts at (days are spread over the halls). */
days_cursor_t days_start(const days_t *d, int index);
/* The envelope of the cursor's event with `seq` and `at_ms`, malloc'd into
 * `out` (the caller frees out->data), and the cursor moved on (to the next
 * day of the pool after a day's last event). 0 or HB_ENOMEM. */
int days_next(const days_t *d, days_cursor_t *c, uint64_t seq, int64_t at_ms,
              ProtobufCBinaryData *out);

/* What the pool holds: events, their kinds, the mean body size in bytes. */
size_t days_events(const days_t *d);
int days_kinds(const days_t *d);
double days_mean_body(const days_t *d);

#endif
