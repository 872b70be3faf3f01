/* CSV for hqd's exports of the reports, the archive and the audit log
 * (hqd/auth/audit.c) and the campaign calendar (campaigns.c):
 * RFC 4180 fields and CRLF line ends in a text bounded in bytes, so an
 * export is refused rather than grown without end. Every field that comes
 * from people or halls is made safe for spreadsheets: one that a
 * spreadsheet would run as a formula gets a leading apostrophe. A text may
 * start with the UTF-8 byte order mark, which Excel needs to read Chinese
 * names as UTF-8. Not here: what the columns are (the exports' own). */
#ifndef HQD_CSV_H
#define HQD_CSV_H

#include "hallbus/text.h"

#include <stdbool.h>
#include <stddef.h>

/* The text is hallbus/text.h's, bounded and marked full past its maximum:
 * an export checks `full` once at the end and reads `p` and `len`. */
typedef hb_text_t hq_csv_t;

/* An empty text of at most `max` bytes (max > 0), and its release. */
static inline void hq_csv_init(hq_csv_t *c, size_t max) { hb_text_init(c, max); }
static inline void hq_csv_free(hq_csv_t *c) { hb_text_free(c); }
/* The byte order mark (EF BB BF); first, if at all. */
void hq_csv_bom(hq_csv_t *c);
/* One field (any text, a formula guarded and quoted as needed); `last`
 * ends the line. */
void hq_csv_field(hq_csv_t *c, const char *s, bool last);
/* A number the export formatted itself ("-3", "0.25"): written as it is,
 * since a spreadsheet should read it as a number. */
void hq_csv_number(hq_csv_t *c, const char *num, bool last);

#endif
