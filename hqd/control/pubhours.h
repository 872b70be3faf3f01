/* The public opening hours: what the app and the website publish for every
 * hall, built from the same effective policies the halls run on (so online
 * channels show the hours the halls keep), as JSON and as an iCalendar
 * feed (RFC 5545). The days ahead are expanded one by one (weekly hours,
 * special days and closures already resolved, as hb_policy_day resolves
 * them) rather than written as weekly RRULEs, so a calendar needs no
 * exceptions to get a holiday right and each zone's VTIMEZONE needs only
 * the offsets of the days shown.
 *
 * Runs on the loop thread, with the control plane (control.h). Not here:
 * HTTP, caching and ETags (hqd/api/public.c). */
#ifndef HQD_PUBHOURS_H
#define HQD_PUBHOURS_H

#include "control.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_PUBHOURS_DAYS_DEFAULT 28
#define HQ_PUBHOURS_DAYS_MAX 92
#define HQ_PUBHOURS_TEXT_MAX ((size_t)256 << 20) /* an iCalendar answer, at most */

typedef struct hq_pubhours_query {
    const char *hall;   /* NULL: every hall of the organisation */
    const char *region; /* NULL: the whole network; else the halls under it */
    int64_t now_ms;     /* each hall's days start on its own local date at this instant */
    int32_t days;       /* 1..HQ_PUBHOURS_DAYS_MAX */
} hq_pubhours_query_t;

/* {"version": policy version, "days": N, "halls": [{"hall", "name",
 *  "address", "city", "timezone", "weekly": {"mon": ["09:00-17:00"], ...},
 *  "special_days": [{"date", "hours", "note"}] (today on),
 *  "closures": [{"id", "from", "to", "notice", "divert_to"}] (not ended),
 *  "days": [{"date", "hours": [...], "closed": null | "closed_weekday" |
 *            "holiday" | "closure", "note"}]}]}
 * New reference in `*out`. HB_ENOTFOUND (with `err`) for an unknown hall or
 * region, HB_EINVAL for a bad day count, HB_ENOMEM. */
int hq_pubhours_json(hq_control_t *c, const hq_pubhours_query_t *q, json_t **out, char *err,
                     size_t errlen);

/* The same as a VCALENDAR: a VTIMEZONE per zone, a VEVENT per opening
 * interval of each day (DTSTART/DTEND local to the hall's zone), an
 * all-day VEVENT per holiday shown and per closure not ended. Lines end in
 * CRLF and are folded at 75 octets, never inside a UTF-8 character; TEXT
 * values are escaped. `*out` is malloc'd (free it), `*len` its length.
 * Errors as hq_pubhours_json, and HB_ETOOBIG past HQ_PUBHOURS_TEXT_MAX. */
int hq_pubhours_ics(hq_control_t *c, const hq_pubhours_query_t *q, char **out, size_t *len,
                    char *err, size_t errlen);

/* For tests and the writer: `value` escaped as an iCalendar TEXT (backslash,
 * ';', ',' and newlines), and a whole content line folded as RFC 5545 3.1
 * says, appended to `t` with its CRLF. */
struct hb_text;
void hq_ics_escape(struct hb_text *t, const char *value);
void hq_ics_line(struct hb_text *t, const char *line, size_t n);

#endif
