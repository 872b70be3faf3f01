/* The neighbour board: HQ tells each hall, every few seconds while it
 * changes, how its configured nearby halls (the organisation's
 * "neighbours" of the hall) are doing: online, open, waiting, the hall's
 * estimated wait, its address, and the services it offers now with the
 * estimated wait of a new customer of each (figures.h, the same figures
 * the neighbour itself shows). The hall's diversion advice
 * (branchd/advice.h) then names a nearby open hall that offers the
 * customer's service with a shorter wait for it. Runs on the loop thread,
 * reading the live board; reaches halls by number, not by id. */
#ifndef HQD_NEIGHBOURS_H
#define HQD_NEIGHBOURS_H

#include "board.h"
#include "control.h"
#include "halls.h"
#include "ingest.h"

#include <stdint.h>

typedef struct hq_neighbours hq_neighbours_t;

typedef struct hq_neighbours_config {
    int64_t interval_ms; /* a board is sent at most this often per hall ... */
    int64_t refresh_ms;  /* ... and at least this often, changed or not */
} hq_neighbours_config_t;

int hq_neighbours_new(hq_control_t *ctl, hq_halls_t *halls, hq_ingest_t *ing, hq_board_t *board,
                      const hq_neighbours_config_t *cfg, hq_neighbours_t **out);
void hq_neighbours_destroy(hq_neighbours_t **n);
/* One round: boards for the online halls that have neighbours and are due. */
void hq_neighbours_tick(hq_neighbours_t *n);
uint64_t hq_neighbours_sent(const hq_neighbours_t *n);

#endif
