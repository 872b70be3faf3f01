/* The identifiers of hallbus and their sizes, defined once: a hall's id
 * (the name on its certificate, in the organisation, in every store and
 * document that names a hall) and the ids events carry (tickets, services,
 * counters, staff, complaints, devices).
 *
 * A buffer that holds an id is *_MAX bytes: the longest id and its NUL.
 * Not for the ids of documents at HQ (regions, campaigns, users), whose
 * sizes belong to their modules; those check their characters with
 * hb_id_chars_ok all the same. */
#ifndef HALLBUS_IDS_H
#define HALLBUS_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define HB_HALL_ID_LEN 32                   /* the longest hall id: [A-Za-z0-9_-]{1,32} */
#define HB_HALL_ID_MAX (HB_HALL_ID_LEN + 1) /* a hall id and its NUL */

#define HB_ID_MAX 64 /* the longest event id: ticket, service, counter, staff, complaint, device */

/* Whether `s` is 1 to `max` characters of [A-Za-z0-9_-] or of `extra`
 * (NULL for none): the character rule of every id in hallbus. */
bool hb_id_chars_ok(const char *s, size_t max, const char *extra);

/* Whether `id` is a hall id: [A-Za-z0-9_-]{1,32}. */
bool hb_hall_id_valid(const char *id);

#endif
