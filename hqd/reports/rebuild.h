/* `hqd rollups rebuild`: the rollups counted again from the raw events,
 * with hqd stopped (the data folder is locked for it). For each hall, the
 * day cells from `from` on (every day, without it) are deleted and counted
 * again from the hall's stored events, replayed from its first so that
 * every ticket, counter and complaint is known when its day begins; its
 * month cells from `from`'s month on are then summed from the day cells,
 * so a month begun before `from` stays whole.
 *
 * Days older than the raw events still stored cannot be counted again:
 * for a hall whose first events were pruned, the rebuild starts the day
 * after its first stored event and keeps the rollups before it. */
#ifndef HQD_REBUILD_H
#define HQD_REBUILD_H

#include <stdint.h>
#include <stdio.h>

typedef struct hq_rebuild_result {
    size_t halls;
    uint64_t events;
    uint64_t days; /* (hall, day)s counted again */
    double ms;
} hq_rebuild_result_t;

/* Rebuilds the rollups of the data folder `data` from `from_day` (days
 * since 1970-01-01; INT32_MIN: all), saying what it does on `out` (may be
 * NULL). 0, or HB_EAGAIN (hqd runs on the folder), HB_ENOTFOUND (no event
 * store), HB_EDB, with `err` saying why. */
int hq_rollups_rebuild(const char *data, int32_t from_day, FILE *out, hq_rebuild_result_t *res,
                       char *err, size_t errlen);

#endif
