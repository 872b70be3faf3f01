/* A hall's day read back from its events: the duty manager's records
 * (meetings, the checklist, the opening, patrols with their scores, the
 * work log, cash handovers) and the day report (volume by service and
 * business type, waits, utilisation per counter, complaints, satisfaction,
 * patrol scores, appointments). One definition for both sides: branchd
 * reads its outbox into it, hqd the hall's stored stream, and both answer
 * the same JSON (docs/API.md, "The duty manager's day").
 *
 * Not a live view (hallstate.h is) and not the reports' rollups
 * (hqd/reports): a day is read from its events on demand. Feed every event
 * the stream still holds, oldest first, from before the day if there are
 * any (a counter opened yesterday evening is still open); the day is the
 * events from its own day_started up to the next day_started. */
#ifndef HALLBUS_DAY_H
#define HALLBUS_DAY_H

#include "hallbus.pb-c.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of what one day keeps: records past them are counted in the
 * answer's "dropped" and not kept. */
#define HB_DAY_RECORDS_MAX 1024 /* meetings, log entries, cash handovers, each */
#define HB_DAY_PATROLS_MAX 64
#define HB_DAY_WAITS_MAX 65536 /* first-call waits kept for the percentiles */
#define HB_DAY_TYPES_MAX 64    /* business types; more are counted as "other" */

typedef struct hb_day hb_day_t;

/* A reader of local date `date` ("YYYY-MM-DD"); NULL when out of memory or
 * the date is not one. */
hb_day_t *hb_day_new(const char *date);
void hb_day_destroy(hb_day_t **d);

/* Feeds the next event of the stream. Returns 0, or HB_ENOMEM. Events
 * after the day are ignored (hb_day_over tells when to stop reading). */
int hb_day_add(hb_day_t *d, const Hallbus__Envelope *env);
/* The same from its stored bytes (an undecodable event is skipped). */
int hb_day_add_bytes(hb_day_t *d, const uint8_t *data, size_t len);
/* Whether the day's day_started was among the events fed. */
bool hb_day_seen(const hb_day_t *d);
/* Whether the next day began: nothing more of this day will come. */
bool hb_day_over(const hb_day_t *d);

/* A day fed from a stored stream read in batches (the outbox's, HQ's event
 * store), whose per-event callbacks take (seq, bytes, len, arg): pass
 * hb_day_read_event with a reader. Each event is fed, `next` becomes the
 * sequence after it, and the batch stops (a nonzero return) on an error,
 * kept in `rc`, or once the day is over. The reading loop, and what to do
 * when a batch brings nothing, stay the caller's. */
typedef struct hb_day_reader {
    hb_day_t *day;
    uint64_t next;
    int rc;
} hb_day_reader_t;
int hb_day_read_event(uint64_t seq, const uint8_t *data, size_t len, void *arg);

/* The manager's records (new reference): {"date", "meetings", "checklist",
 * "opened", "patrols" (each with its "scores"), "log", "cash",
 * "dropped"}. Each record is its event's JSON (codec.h). */
json_t *hb_day_records(const hb_day_t *d);
/* The day report (new reference) for hall `hall`; a day not over is
 * reported as of `now_ms` (a counter open now counts up to now). */
json_t *hb_day_report(const hb_day_t *d, const char *hall, int64_t now_ms);

/* Whether `staff` may be scored in patrol `patrol` of the day: 0; or
 * HB_ENOTFOUND (no such patrol), HB_EINVAL (not drawn in it), HB_ECONFLICT
 * (scored in it already). */
int hb_day_patrol_check(const hb_day_t *d, const char *patrol, const char *staff);
/* How many patrols the day has had (the next is numbered one more). */
size_t hb_day_patrols(const hb_day_t *d);
/* The day's last checklist (its event's JSON, borrowed: valid while `d`
 * lives), or NULL. */
const json_t *hb_day_checklist(const hb_day_t *d);

/* How many the manuals' patrol rule samples of `on_duty` staff: fewer than
 * 5, all; 5 to 20, half; over 20, 30 %; rounded up (7: 4, 25: 8). */
size_t hb_patrol_draw_count(size_t on_duty);

#endif
