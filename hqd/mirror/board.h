/* HQ's live board: one tile per hall (what the dashboard colours: online,
 * open, waiting, the oldest waiting ticket, counters, complaints, devices,
 * alerts, and the worst of it), kept from the mirror, the link and the
 * alerts, and aggregated by region (city, province, the root), by the halls
 * the organisation does not place, and over the whole network. Every tile
 * that changes goes out on the change stream (sse.h), and after each round
 * one "regions" event with the aggregates that changed, so the dashboard
 * shows what it is sent and computes none. The figures of a hall's state
 * are figures.h's: the same as the hall's own.
 *
 * A tile carries the oldest waiting ticket's issue time rather than its
 * wait, so it changes when the hall's events do, not every second; whoever
 * shows it computes the wait. Runs on the loop thread. Not here: the alert
 * rules (alerts.h) or how the board is drawn (the dashboard). */
#ifndef HQD_BOARD_H
#define HQD_BOARD_H

#include "control.h"
#include "halls.h"
#include "ingest.h"
#include "live.h"
#include "sse.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum hq_worst {
    HQ_WORST_OK = 0,
    HQ_WORST_CLOSED,  /* outside opening hours, nothing wrong */
    HQ_WORST_WARNING, /* near a threshold */
    HQ_WORST_ALERT,   /* an alert is open */
    HQ_WORST_OFFLINE, /* not connected */
} hq_worst_t;

typedef struct hq_tile {
    bool known; /* the hall ever connected */
    bool online;
    bool open;     /* within its opening hours now */
    uint8_t worst; /* hq_worst_t */
    uint32_t waiting;
    int64_t oldest_issued_ms; /* 0 when nobody waits */
    uint16_t counters_open, counters_busy;
    uint32_t complaints_open, complaints_overdue;
    uint16_t devices_not_ok;
    uint32_t alerts;
    uint32_t issued_today, served_today;
    uint32_t est_wait_s; /* figures.h's hall figure: the slowest service's, for a new customer */
    uint64_t backlog;    /* events the hall holds that HQ does not yet */
    uint64_t seq;        /* the mirror's last event */
    uint64_t policy_version, calendar_version;
} hq_tile_t;

typedef struct hq_board hq_board_t;

int hq_board_new(hq_control_t *ctl, hq_halls_t *halls, hq_ingest_t *ing, hq_live_t *live,
                 hq_sse_t *sse, hq_board_t **out);
void hq_board_destroy(hq_board_t **b);
/* One round (about four times a second): tiles of halls whose state,
 * connection or alerts changed are recomputed and streamed. */
void hq_board_tick(hq_board_t *b);
/* The same round in steps of about `budget_ms` each, so that the loop
 * thread, which also reads the halls' frames and sends their acks, is not
 * held for a whole round (9-15 ms with 1,000 busy halls): true while the
 * round is not finished (call again soon, after the loop has polled);
 * false when it is (the aggregates are streamed then). */
bool hq_board_step(hq_board_t *b, double budget_ms);
/* The rounds sample each hall's number waiting into `trend` (trend.h),
 * which outlives the board. */
void hq_board_set_trend(hq_board_t *b, hq_trend_t *trend);
/* The alerts open for hall number `num` changed (from the alert store). */
void hq_board_set_alerts(hq_board_t *b, uint32_t num, uint32_t open_alerts);

/* GET /v1/live/halls answer, as JSON text (malloc'd, `*len` bytes; the
 * caller frees it): tiles filtered by `sees` (the caller's scope; NULL:
 * every hall), `region` (any level), `tag`, `alerting` and `worst`
 * (NULL/false for no filter), paged. NULL for an unknown region or when
 * out of memory (`*len` 0 then for the first). */
char *hq_board_halls_text(hq_board_t *b, org_hall_pred_fn sees, void *sees_arg, const char *region,
                          const char *tag, bool alerting, const char *worst, size_t offset,
                          size_t limit, size_t *len);
/* Hall number `num`'s tile, or NULL before it connected; valid until the
 * next tick. */
const hq_tile_t *hq_board_tile_at(hq_board_t *b, uint32_t num);
/* GET /v1/live/halls/{id}: the hall's tile taken afresh at `now_ms`, with
 * its figures (figures.h's JSON: per service, and the hall's, at `now_ms`)
 * merged in; new reference, or NULL before the hall connected. */
json_t *hq_board_tile_json(hq_board_t *b, const char *hall, int64_t now_ms);

/* One service a hall offers now (a counter open for it), for the
 * neighbour board. */
typedef struct hq_offer {
    char service[HB_HS_ID];
    uint32_t estimated_wait_s, waiting, counters_open;
} hq_offer_t;
/* The services hall number `num` offers at `now_ms` with their figures, at
 * most `max`, in the figures' order; 0 before any event of it. */
size_t hq_board_offered(hq_board_t *b, uint32_t num, int64_t now_ms, hq_offer_t *out, size_t max);
/* GET /v1/regions answer, as JSON text (malloc'd, `*len` bytes; the
 * caller frees it): the aggregates of every region, the unplaced halls and
 * the whole network (with `region` NULL), or of one region and its
 * children, as of the last round (or of now, when the organisation or the
 * set of halls changed since). With `sees` (the caller's scope), only the
 * regions it keeps, and neither the unplaced halls nor the network's
 * total. NULL for an unknown region or when out of memory. */
char *hq_board_regions_text(hq_board_t *b, org_region_pred_fn sees, void *sees_arg,
                            const char *region, size_t *len);
const char *hq_worst_name(int worst);
/* The HQ_WORST_* value of a name ("ok" .. "offline"), or -1. */
int hq_worst_parse(const char *name);

typedef struct hq_board_stats {
    uint64_t tiles_published;
    uint64_t rounds;
    double last_round_ms;
} hq_board_stats_t;
void hq_board_get_stats(const hq_board_t *b, hq_board_stats_t *out);

#endif
