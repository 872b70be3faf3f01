/* The opening-hours arithmetic of an effective policy (policy.h): which
 * hours a day has after special days and closures, whether a hall is open at
 * a moment and until when, and open time added and counted across days in
 * the hall's time zone. Not for reading or building policies (policy.c). */
#include "hallbus/policy.h"
#include "hallbus/tz.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- opening hours */

static const hb_closure_t *s_closure_on(const hb_policy_t *p, int32_t day)
{
    /* At most HB_POLICY_CLOSURES_MAX, sorted by first day: the earliest
     * that covers the day wins when two overlap. */
    for (size_t i = 0; i < p->n_closures && p->closures[i].from_day <= day; i++)
        if (day <= p->closures[i].to_day)
            return &p->closures[i];
    return NULL;
}

static int s_special_cmp(const void *key, const void *elem)
{
    int32_t day = *(const int32_t *)key, other = ((const hb_special_day_t *)elem)->day;
    return (day > other) - (day < other);
}

/* Special days are sorted by day, one at most per day (policy.c). */
static const hb_special_day_t *s_special_on(const hb_policy_t *p, int32_t day)
{
    return bsearch(&day, p->special, p->n_special, sizeof *p->special, s_special_cmp);
}

/* The hours of `day` and why it is closed all day (HB_OPEN_NOW when it has
 * hours), with the note and closure that apply. */
static hb_closed_reason_t s_day(const hb_policy_t *p, int32_t day, hb_hours_t *hours,
                                const char **note, const hb_closure_t **closure)
{
    *note = NULL;
    *closure = s_closure_on(p, day);
    if (*closure) {
        memset(hours, 0, sizeof *hours);
        *note = (*closure)->notice[0] ? (*closure)->notice : NULL;
        return HB_CLOSED_CLOSURE;
    }
    const hb_special_day_t *s = s_special_on(p, day);
    if (s) {
        *hours = s->hours;
        *note = s->note[0] ? s->note : NULL;
        return s->hours.n ? HB_OPEN_NOW : HB_CLOSED_SPECIAL_DAY;
    }
    *hours = p->week[hb_weekday(day)];
    return hours->n ? HB_OPEN_NOW : HB_CLOSED_WEEKDAY;
}

hb_closed_reason_t hb_policy_day(const hb_policy_t *p, int32_t day, hb_hours_t *hours,
                                 const char **note, const hb_closure_t **closure)
{
    return s_day(p, day, hours, note, closure);
}

void hb_policy_hours_on(const hb_policy_t *p, int32_t day, hb_hours_t *out)
{
    const char *note;
    const hb_closure_t *closure;
    s_day(p, day, out, &note, &closure);
}

/* A walk over the opening intervals that end after an instant, as UTC
 * instants, day after day. Each boundary goes through hb_tz_local_to_utc, so
 * DST days have 23 or 25 hours; an interval a clock change swallows is
 * skipped, and intervals are kept from running backwards across a gap. */
typedef struct s_walk {
    const hb_policy_t *p;
    int32_t day, last_day;
    hb_hours_t hours;
    uint8_t i;
    int64_t last_end;
    int64_t after_ms;
} s_walk_t;

/* The walk over the intervals that end after `after_ms`, up to local day
 * `last_day`. It starts from the day before `after_ms`'s, in case a clock
 * change put part of that day's hours after local midnight. */
static void s_walk_init(s_walk_t *w, const hb_policy_t *p, int64_t after_ms, int32_t last_day)
{
    memset(w, 0, sizeof *w);
    w->p = p;
    w->day = hb_tz_local_day(p->tz, after_ms) - 2;
    w->last_day = last_day;
    w->last_end = INT64_MIN;
    w->after_ms = after_ms;
}

static int64_t s_boundary(const hb_policy_t *p, int32_t day, uint16_t minute)
{
    if (minute >= 1440)
        return hb_tz_local_to_utc(p->tz, day + 1, 0, 0);
    return hb_tz_local_to_utc(p->tz, day, minute / 60, minute % 60);
}

static bool s_walk_next(s_walk_t *w, int64_t *a, int64_t *b)
{
    for (;;) {
        if (w->i >= w->hours.n) {
            if (w->day >= w->last_day)
                return false;
            w->day++;
            hb_policy_hours_on(w->p, w->day, &w->hours);
            w->i = 0;
            continue;
        }
        int64_t from = s_boundary(w->p, w->day, w->hours.iv[w->i].from);
        int64_t to = s_boundary(w->p, w->day, w->hours.iv[w->i].to);
        w->i++;
        if (from < w->last_end)
            from = w->last_end;
        if (to <= from)
            continue;
        w->last_end = to;
        if (to <= w->after_ms)
            continue;
        *a = from;
        *b = to;
        return true;
    }
}

const char *hb_closed_reason_name(hb_closed_reason_t r)
{
    switch (r) {
    case HB_OPEN_NOW: return "open";
    case HB_CLOSED_OUTSIDE_HOURS: return "outside_hours";
    case HB_CLOSED_WEEKDAY: return "closed_weekday";
    case HB_CLOSED_SPECIAL_DAY: return "holiday";
    case HB_CLOSED_CLOSURE: return "closure";
    }
    return "unknown";
}

void hb_policy_open_at(const hb_policy_t *p, int64_t at_ms, hb_open_info_t *out)
{
    memset(out, 0, sizeof *out);
    int32_t day = hb_tz_local_day(p->tz, at_ms);
    hb_hours_t hours;
    const hb_closure_t *closure;
    hb_closed_reason_t reason = s_day(p, day, &hours, &out->note, &closure);
    if (closure && closure->n_divert) {
        out->n_divert = closure->n_divert;
        out->divert_to = closure->divert_to;
    } else {
        out->n_divert = p->n_divert;
        out->divert_to = p->divert_to;
    }
    s_walk_t w;
    s_walk_init(&w, p, at_ms, day + HB_POLICY_SEARCH_DAYS);
    int64_t a, b;
    while (s_walk_next(&w, &a, &b)) {
        if (a > at_ms) {
            out->state = reason == HB_OPEN_NOW ? HB_CLOSED_OUTSIDE_HOURS : reason;
            out->next_open_ms = a;
            return;
        }
        /* Open: the hall closes where the opening time stops, which may be
         * days later for a hall open round the clock (24:00 then 00:00). */
        out->state = HB_OPEN_NOW;
        out->closes_ms = b;
        int64_t na, nb;
        while (s_walk_next(&w, &na, &nb)) {
            if (na != out->closes_ms)
                return;
            out->closes_ms = nb;
        }
        out->closes_ms = INT64_MAX; /* open past the search horizon */
        return;
    }
    out->state = reason == HB_OPEN_NOW ? HB_CLOSED_OUTSIDE_HOURS : reason;
    out->next_open_ms = 0;
}

int64_t hb_policy_add_open_time(const hb_policy_t *p, int64_t from_ms, int64_t open_s)
{
    if (open_s <= 0)
        return from_ms;
    /* More opening time than the horizon has wall-clock time never fits;
     * refusing it here also keeps open_s * 1000 from overflowing. */
    if (open_s > (int64_t)(HB_POLICY_SEARCH_DAYS + 2) * 86400)
        return INT64_MAX;
    int64_t left = open_s * 1000;
    s_walk_t w;
    s_walk_init(&w, p, from_ms, hb_tz_local_day(p->tz, from_ms) + HB_POLICY_SEARCH_DAYS);
    int64_t a, b;
    while (s_walk_next(&w, &a, &b)) {
        int64_t start = a > from_ms ? a : from_ms;
        if (b - start >= left)
            return start + left;
        left -= b - start;
    }
    return INT64_MAX;
}

int64_t hb_policy_open_seconds(const hb_policy_t *p, int64_t from_ms, int64_t to_ms)
{
    if (to_ms <= from_ms)
        return 0;
    /* The walk is one step per local day of the span; hb_tz clamps instants
     * to years 1..9999, which bounds it. */
    s_walk_t w;
    s_walk_init(&w, p, from_ms, hb_tz_local_day(p->tz, to_ms));
    int64_t a, b, sum = 0;
    while (s_walk_next(&w, &a, &b)) {
        if (a >= to_ms)
            break;
        int64_t s = a > from_ms ? a : from_ms, e = b < to_ms ? b : to_ms;
        sum += e - s;
    }
    return sum / 1000;
}

/* ------------------------------------------------ the current opening ---- */

typedef struct open_span {
    int64_t a, b; /* [a, b) on the UTC clock */
} open_span_t;

/* The opening intervals of local day `day` as UTC instants, the way
 * hb_policy_open_at places them (an interval a clock change swallows is
 * empty and left out). */
static size_t s_open_day_spans(const hb_policy_t *p, int32_t day,
                               open_span_t out[HB_POLICY_INTERVALS])
{
    hb_hours_t h;
    hb_policy_hours_on(p, day, &h);
    size_t n = 0;
    for (uint8_t i = 0; i < h.n && i < HB_POLICY_INTERVALS; i++) {
        int64_t a = s_boundary(p, day, h.iv[i].from), b = s_boundary(p, day, h.iv[i].to);
        if (b > a)
            out[n++] = (open_span_t){a, b};
    }
    return n;
}

/* Whether the hall is open at `t`, and if so when the current opening
 * began: intervals that touch (one ends where the next starts, as a day
 * ending at 24:00 and the next starting at 00:00) are one opening, as in
 * hb_policy_open_at. hb_policy_open_at is not used because it looks ahead for
 * the closing time, up to HB_POLICY_SEARCH_DAYS for a hall open round the
 * clock; looking back for the start stops after `back_days`. */
bool hb_policy_opening_start(const hb_policy_t *p, int64_t t, int32_t back_days, int64_t *start)
{
    int32_t today = hb_tz_local_day(p->tz, t);
    open_span_t sp[HB_POLICY_INTERVALS];
    size_t n = 0, at = 0;
    int32_t day;
    bool found = false;
    /* Yesterday too: a clock change can put part of its hours after local
     * midnight. */
    for (day = today; day >= today - 1 && !found; day--) {
        n = s_open_day_spans(p, day, sp);
        for (at = 0; at < n; at++) {
            if (sp[at].a <= t && t < sp[at].b) {
                found = true;
                break;
            }
        }
        if (found)
            break;
    }
    if (!found)
        return false;
    *start = sp[at].a;
    for (;;) {
        open_span_t prev;
        if (at > 0) {
            prev = sp[--at];
        } else {
            n = 0;
            while (n == 0 && day > today - back_days)
                n = s_open_day_spans(p, --day, sp);
            if (n == 0)
                return true;
            at = n - 1;
            prev = sp[at];
        }
        if (prev.b < *start || prev.a >= *start)
            return true;
        *start = prev.a;
    }
}
