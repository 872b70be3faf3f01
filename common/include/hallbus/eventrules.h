/* The one definition of what a hall's event may hold, used by both sides of
 * the link: the hall's local API refuses (400, naming the field) every event
 * that this says is not valid, and HQ judges every event a hall committed
 * with the same rules. What the hall's API accepts is exactly what HQ stores
 * without a flag.
 *
 * Three classes, because a committed event must never block a hall's stream:
 * - valid: stored as it is on both sides;
 * - anomaly: it decodes and belongs to the hall, but a field is outside its
 *   domain (a time before 2000 or far ahead of the receiver's clock, a
 *   negative amount, a score of 9, a ticket event without a ticket). The
 *   hall's API refuses it; HQ, when a hall committed one anyway (a clock
 *   that was wrong, an older or newer hall), stores it with a flag, counts
 *   it and raises an event_anomaly alert;
 * - malformed: it breaks the codec's structural limits (codec.h: string
 *   lengths, UTF-8, NUL, repeated counts, nesting): no conforming hall can
 *   write it, both sides refuse it, and HQ's refusal shows as a blocked
 *   link at the hall and a hall_blocked alert at HQ.
 *
 * Event kinds this build does not know are valid: they are stored as they
 * came (the compatibility rules of hallbus.proto). Pure: no clock is read
 * here, the caller passes its own. */
#ifndef HALLBUS_EVENTRULES_H
#define HALLBUS_EVENTRULES_H

#include "hallbus.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* The bounds of any event time: 2000-01-01 and 2200-01-01 (UTC). A clock
 * may be off, but not by centuries; outside these a time is an anomaly. */
#define HB_EVENT_AT_MIN_MS 946684800000LL
#define HB_EVENT_AT_MAX_MS 7258118400000LL
/* The largest amount of a transaction, minor units: 10^15, far above any
 * hall's transaction. */
#define HB_EVENT_AMOUNT_MAX 1000000000000000LL

typedef enum hb_event_class {
    HB_EVENT_VALID = 0,
    HB_EVENT_ANOMALY = 1,
    HB_EVENT_MALFORMED = 2,
} hb_event_class_t;

/* Why an event is an anomaly; stored with HQ's flag, so never renumber. */
typedef enum hb_anomaly {
    HB_ANOMALY_NONE = 0,
    HB_ANOMALY_TIME_BEFORE_2000 = 1, /* "at" before HB_EVENT_AT_MIN_MS */
    HB_ANOMALY_TIME_AHEAD = 2,       /* "at" after the receiver's clock + max_future, or 2200 */
    HB_ANOMALY_OUT_OF_RANGE = 3,     /* a number outside its field's domain */
    HB_ANOMALY_MISSING = 4,          /* a field the event means nothing without is empty */
    HB_ANOMALY_FORMAT = 5,           /* a code or date not in its form ("EUR", "2026-12-06") */
} hb_anomaly_t;

/* The receiver's view of time. `max_future_ms` < 0 leaves "at" unchecked
 * (the hall engine's own events carry the hall's clock, whatever it says:
 * the hall keeps serving customers, and HQ flags the time). */
typedef struct hb_event_clock {
    int64_t now_ms;
    int64_t max_future_ms;
} hb_event_clock_t;

/* Classifies `env`. On anything but HB_EVENT_VALID, `why` names the field
 * and what is wrong ("amount of service_completed is -5; it must be 0 to
 * 1000000000000000") and `*anomaly` (may be NULL) says which rule, or
 * HB_ANOMALY_NONE for a malformed event. */
hb_event_class_t hb_event_classify(const Hallbus__Envelope *env, const hb_event_clock_t *clock,
                                   hb_anomaly_t *anomaly, char *why, size_t whylen);

/* "time_before_2000", "time_ahead", "out_of_range", "missing", "format";
 * "unknown" for a number this build does not know. */
const char *hb_anomaly_name(int anomaly);

#endif
