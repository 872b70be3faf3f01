/* Time zones for halls: local civil time from UTC and back, from the
 * system's TZif files (/usr/share/zoneinfo, or $TZDIR), with the POSIX TZ
 * rule at the end of each file for instants past its transition table.
 *
 * A hall's opening hours, its local day and its ticket numbering follow its
 * own zone, and HQ handles halls of several zones in one process, so this
 * never touches the process's TZ or localtime(). Zones are immutable once
 * loaded and may be shared between threads. This module knows nothing of
 * opening hours: that is policy.h. */
#ifndef HALLBUS_TZ_H
#define HALLBUS_TZ_H

#include "hallbus/time.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_TZ_NAME_MAX 64

typedef struct hb_tz hb_tz_t;

/* A local date and time. `wday` is 0 for Monday .. 6 for Sunday (ISO). */
typedef struct hb_civil {
    int year, month, day; /* month 1..12, day 1..31 */
    int hour, min, sec;
    int wday;
} hb_civil_t;

/* The zone named `name` ("Europe/Berlin", "UTC", "Asia/Shanghai"), loaded
 * once and kept for the life of the process (a cache shared by all callers,
 * thread-safe). "UTC" and "Etc/UTC" need no file. Returns 0 and the zone in
 * `*out`, or HB_EINVAL (a name with "..", a leading '/', or characters other
 * than [A-Za-z0-9_+-/]; over HB_TZ_NAME_MAX - 1 bytes), HB_ENOTFOUND (no
 * such file), HB_EPARSE (not a TZif file, or its rule unreadable), with `err`
 * naming the zone and the reason. */
int hb_tz_get(const char *name, const hb_tz_t **out, char *err, size_t errlen);
/* The zone's name as given to hb_tz_get. */
const char *hb_tz_name(const hb_tz_t *tz);

/* Local time minus UTC, in seconds, at the UTC instant `utc_s`. */
int32_t hb_tz_offset(const hb_tz_t *tz, int64_t utc_s);
/* The local civil time at `utc_ms` (milliseconds since the epoch). */
void hb_tz_civil(const hb_tz_t *tz, int64_t utc_ms, hb_civil_t *out);
/* The UTC instant (ms) of local time `h`:`m` on the local date `day` (days
 * since 1970-01-01). A local time skipped by a clock change is taken as
 * the same wall-clock distance past the change (02:30 on a spring-forward
 * night is 03:30); a repeated one as its first occurrence. */
int64_t hb_tz_local_to_utc(const hb_tz_t *tz, int32_t day, int h, int m);
/* The local date at `utc_ms`, as days since 1970-01-01. */
int32_t hb_tz_local_day(const hb_tz_t *tz, int64_t utc_ms);

/* Calendar arithmetic without a zone (hb_civil_from_days and
 * hb_date_format: time.h). */
int32_t hb_days_from_civil(int year, int month, int day);
/* 0 = Monday .. 6 = Sunday. */
int hb_weekday(int32_t days);
/* Parses "YYYY-MM-DD" (a real date, year 1970..9999) into days since the
 * epoch; returns 0 or HB_EPARSE. */
int hb_date_parse(const char *text, int32_t *out_days);
/* The same as a JSON string (a new reference; NULL when out of memory). */
json_t *hb_json_date(int32_t days);

#endif
