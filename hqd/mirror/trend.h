/* Today's trend of every hall, per 15-minute slot of the hall's own local
 * day: the tickets served in the slot (counted by the mirror thread as it
 * applies each event, by the event's own time) and the mean number waiting
 * over the slot (sampled by the board's rounds), against the same
 * weekday's typical from the rollups. For the live views' small charts
 * (GET /v1/trends, docs/API.md).
 *
 * Memory: a hall gets its record at its first event, about 0.5 KB (two
 * arrays of 96 x uint16, the slot being sampled, its zone and a cache of
 * its typical day of 24 x uint16): about 50 MB at 100,000 halls. Halls
 * with no event cost one pointer. The slots reset at the hall's local
 * midnight; nothing here is written to disk.
 *
 * After a restart the mirror has not counted the hall's events of today
 * before it (they were rebuilt, not counted): those slots are a gap, said
 * so in the answer, and filled from the rollups (exact per hour, spread
 * over its four quarters) where whole hours of the gap are rolled up.
 *
 * Thread-safety: hq_trend_served and hq_trend_rebuilt run on the mirror's
 * thread, hq_trend_sample and the reads on the loop; a mutex of the
 * module's own covers the slots. Not here: who may see which halls (the
 * API), the reducer's figures (figures.h: the sampled waiting is the
 * board's). */
#ifndef HQD_TREND_H
#define HQD_TREND_H

#include "rustore.h"

#include "hallbus/tz.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_TREND_SLOTS 96 /* quarters of a local day (a 25-hour day folds its repeated hour) */
#define HQ_TREND_SLOT_MIN 15
#define HQ_TREND_WEEKS_DEFAULT 4
#define HQ_TREND_WEEKS_MAX 8
/* A hall's typical day is read from the rollups again after this long
 * (late events of earlier weeks land in the rollups). */
#define HQ_TREND_TYPICAL_TTL_MS (5 * 60 * 1000)
/* One answer reads at most this many halls' typical days from the rollups
 * (each: one cursor range per week), so that a first answer over 100,000
 * halls does not hold the loop thread for seconds: the others keep the
 * one they have for today, or count in "halls_typical_pending" and are
 * read by the next answers. */
#define HQ_TREND_TYPICAL_READS_PER_ANSWER 10000

typedef struct hq_trend hq_trend_t;

/* NULL when out of memory. */
hq_trend_t *hq_trend_new(void);
void hq_trend_destroy(hq_trend_t **t);

/* ---- the mirror's thread */

/* `n` more tickets served by hall `num` in the event at `at_ms`, the hall's
 * zone named `zone` ("" or unknown: UTC). An event of an earlier local day
 * than the hall's slots is left to the rollups; one of a later day starts
 * the day. */
void hq_trend_served(hq_trend_t *t, uint32_t num, const char *zone, int64_t at_ms, uint32_t n);
/* Hall `num` was rebuilt at start up to its event at `last_at_ms`: what of
 * today lies before it is a gap for the mirror. */
void hq_trend_rebuilt(hq_trend_t *t, uint32_t num, const char *zone, int64_t last_at_ms);

/* ---- the board's rounds (loop thread) */

/* `waiting` customers wait in hall `num` at `now_ms`. The number until the
 * next sample is taken to have held since this one (it changes only with
 * events, and every event makes the board look at the hall again), so a
 * slot's figure is the time-weighted mean of the quarter: the figure that
 * adds up over halls (the mean of a region is the sum of its halls'
 * means, where peaks at different moments would not) and that Little's
 * law ties to the waits. `zone` as for hq_trend_served. */
void hq_trend_sample(hq_trend_t *t, uint32_t num, const char *zone, int64_t now_ms,
                     uint32_t waiting);

/* ---- answers (loop thread) */

typedef struct hq_trend_query {
    const uint32_t *nums; /* the halls of the scope, by number (0: skipped) */
    size_t n;
    int weeks; /* 1 .. HQ_TREND_WEEKS_MAX */
    int64_t now_ms;
    ru_store_t *rollups; /* NULL: no typical, no filling of gaps */
} hq_trend_query_t;

/* The halls' today per slot, summed slot by slot over each hall's own
 * local day, with the typical: {"date", "weekday", "zone", "zones",
 * "slot_minutes", "now_slot", "halls", "halls_counted", "weeks",
 * "halls_with_typical", "halls_typical_pending", "typical_waiting": null, "slots": [96 x {"slot",
 * "start", "at", "served", "waiting", "typical_served", "source", "gap"}]}
 * (docs/API.md says each). New reference, or NULL when out of memory. */
json_t *hq_trend_json(hq_trend_t *t, const hq_trend_query_t *q);

/* The served tickets of hall `num` on local day `day` per local hour
 * (RU_DIM_HOUR cells), and whether it issued any ticket that day. Inside
 * the caller's read transaction. 0, HB_EDB, HB_EPARSE. */
int hq_trend_hours(MDB_txn *txn, const ru_store_t *st, uint32_t num, int32_t day,
                   uint32_t served[24], bool *any);

#endif
