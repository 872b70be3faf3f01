/* What the reducer (hallstate.c), the state's lookups (lookups.c), its
 * snapshot (snapshot.c) and its view (view.c) share and nobody else needs:
 * the names of the reducer's own states, lookups that hand out writable
 * entries, the date rule, and what makes a complaint overdue. Private to
 * common/hall/; the public face is hallbus/hallstate.h. */
#ifndef HALLBUS_HALLSTATE_INT_H
#define HALLBUS_HALLSTATE_INT_H

#include "hallbus/hallstate.h"

#include <stdbool.h>
#include <stdint.h>

/* Arrays start this big on first use and double up to their bound, so a
 * hall in its steady state applies events without allocating. */
#define HS_CAP_MIN 8

#define HS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The names of the reducer's states by number ("waiting", "idle", "open");
 * NULL where a number is none. */
#define HB_HS__TICKET_STATES (HB_TICKET_CANCELLED + 1)
#define HB_HS__COUNTER_STATES (HB_COUNTER_PAUSED + 1)
#define HB_HS__COMPLAINT_STATES (HB_COMPLAINT_ACKNOWLEDGED + 1)
#define HB_HS__APPT_STATES (HB_APPT_CANCELLED + 1)
extern const char *const hb_hs__appt_states[HB_HS__APPT_STATES];
extern const char *const hb_hs__ticket_states[HB_HS__TICKET_STATES];
extern const char *const hb_hs__counter_states[HB_HS__COUNTER_STATES];
extern const char *const hb_hs__complaint_states[HB_HS__COMPLAINT_STATES];

/* lookups.c: the live entry with this id (NULL, or -1 for an index, when
 * there is none; a NULL id is ""), writable for the reducer. Tickets are
 * found through an index of live tickets once there are enough of them:
 * apply rebuilds it after removals (tindex_build) and tells it of each
 * ticket appended (tindex_added). */
#define HS_TINDEX_MIN 32 /* below this many live tickets a walk is as fast as the index */
long hb_hs__ticket_index(const hb_hall_state_t *s, const char *id);
hb_hs_ticket_t *hb_hs__ticket(hb_hall_state_t *s, const char *id);
hb_hs_service_t *hb_hs__service(hb_hall_state_t *s, const char *code);
hb_hs_counter_t *hb_hs__counter(hb_hall_state_t *s, const char *id);
long hb_hs__complaint_index(const hb_hall_state_t *s, const char *id);
hb_hs_device_t *hb_hs__device(hb_hall_state_t *s, const char *id);
hb_hs_appointment_t *hb_hs__appointment(hb_hall_state_t *s, const char *code);
void hb_hs__tindex_build(hb_hall_state_t *s);
void hb_hs__tindex_added(hb_hall_state_t *s);

/* Whether `d` is a real date written YYYY-MM-DD. */
bool hb_hs__date_ok(const char *d);

/* Whether complaint `c` is overdue at `now_ms`: an automatic escalation
 * said a deadline was missed, or a deadline has passed (not acknowledged
 * by ack_due, or not resolved by resolve_due). */
bool hb_hs__overdue(const hb_hs_complaint_t *c, int64_t now_ms);

#endif
