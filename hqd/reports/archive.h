/* The archive: a hall's raw events and transactions looked up by local
 * date and filters (a ticket, a business type, a staff member, a
 * complaint, an event type), a page at a time, and a ticket's whole story
 * (issued, called, recalled, served or transferred, completed, its
 * complaint and its score) in one answer.
 *
 * Every search is bounded: one hall, a range of at most
 * HQ_ARCHIVE_RANGE_DAYS days, found through the rollups' day index (where
 * each local day's events lie in the hall's stream), and at most
 * HQ_ARCHIVE_SCAN_MAX events read per call, after which the caller gets a
 * cursor to go on from. Events past raw retention are gone; the rollups
 * still count them. Runs on the loop thread in short read transactions. */
#ifndef HQD_ARCHIVE_H
#define HQD_ARCHIVE_H

#include "rustore.h"

#include "hqstore.h"
#include "hallbus/tz.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_ARCHIVE_RANGE_DAYS 31
#define HQ_ARCHIVE_SCAN_MAX 200000 /* events read by one call */
#define HQ_ARCHIVE_LIMIT_MAX 1000
#define HQ_ARCHIVE_FOLLOW_DAYS 7 /* a ticket's complaint is followed this long */

typedef struct hq_archive_query {
    uint32_t hall;
    const hb_tz_t *tz;                                 /* the hall's zone, for local dates */
    int32_t from, to;                                  /* local days, both included */
    const char *ticket, *business, *staff, *complaint; /* NULL: any */
    int type;                                          /* Envelope body case; 0: any */
    uint64_t cursor; /* the sequence to go on from; 0: the start */
    size_t limit;    /* 1..HQ_ARCHIVE_LIMIT_MAX */
} hq_archive_query_t;

typedef struct hq_archive_page {
    json_t *events;       /* the matches, as the codec's JSON plus "local_date" */
    uint64_t next;        /* the cursor of the next page; 0: none */
    uint64_t scanned;     /* events read */
    uint64_t first, last; /* the stream's range the days cover (0, 0: none) */
} hq_archive_page_t;

/* An event type's body case from its JSON name ("service_completed"), or
 * 0 for a name that is none. */
int hq_archive_type_parse(const char *name);

/* One page of matches. HB_EINVAL with `err` for a cursor outside the
 * range; HB_EDB. `out->events` is a new reference on success. */
int hq_archive_search(ru_store_t *rs, hq_store_t *events, const hq_archive_query_t *q,
                      hq_archive_page_t *out, char *err, size_t errlen);

/* The story of ticket `ticket` issued (or first seen) on local day `day`:
 * {"hall", "date", "ticket", "summary", "events", "complaints"} (new
 * reference in `*out`). HB_ENOTFOUND when the day has no event of it. */
int hq_archive_ticket(ru_store_t *rs, hq_store_t *events, uint32_t hall, const char *hall_id,
                      const hb_tz_t *tz, int32_t day, const char *ticket, json_t **out, char *err,
                      size_t errlen);

#endif
