/* The public opening hours (see pubhours.h): the halls a query names, each
 * with its effective policy at the published version, walked day by day
 * from its own local date. The iCalendar writer keeps every content line
 * in a small buffer first and folds it on the way out, so no value can
 * break the 75-octet rule or split a character. */
#include "pubhours.h"

#include "hallbus/error.h"
#include "hallbus/text.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "hallbus/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ICS_FOLD 75           /* octets of a content line before a fold (RFC 5545 3.1) */
#define ICS_LINE_MAX 8192     /* one unfolded content line, at most */
#define ICS_ZONES_MAX 64      /* distinct zones described in one feed */
#define ICS_TRANSITIONS_MAX 8 /* offset changes of one zone within the days shown */

static const char *const s_wdays[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ------------------------------------------------------------ the halls */

/* The halls a query names, walked in organisation order. */
typedef int (*hall_fn)(hq_control_t *c, const org_hall_t *h, const hb_policy_t *p, void *arg);

static int s_each_hall(hq_control_t *c, const hq_pubhours_query_t *q, hall_fn fn, void *arg,
                       char *err, size_t errlen)
{
    if (q->days < 1 || q->days > HQ_PUBHOURS_DAYS_MAX) {
        hb_errf(err, errlen, "days must be 1 to %d", HQ_PUBHOURS_DAYS_MAX);
        return HB_EINVAL;
    }
    const org_t *org = hq_control_org(c);
    const org_region_t *region = NULL;
    if (q->region) {
        region = org_region_find(org, q->region);
        if (!region) {
            hb_errf(err, errlen, "no region %.80s", q->region);
            return HB_ENOTFOUND;
        }
    }
    if (q->hall) {
        const org_hall_t *h = org_hall_find(org, q->hall);
        if (!h || (region && !org_region_contains(org, region, org_region_at(org, h->city)))) {
            hb_errf(err, errlen, "no hall %.80s%s", q->hall, region ? " in that region" : "");
            return HB_ENOTFOUND;
        }
        const hb_policy_t *p = hq_control_policy(c, h->id);
        return p ? fn(c, h, p, arg) : HB_ENOMEM;
    }
    size_t n = org_hall_count(org);
    for (size_t i = 0; i < n; i++) {
        const org_hall_t *h = org_hall_at(org, (uint32_t)i);
        if (region && !org_region_contains(org, region, org_region_at(org, h->city)))
            continue;
        const hb_policy_t *p = hq_control_policy_at(c, (int32_t)i);
        if (!p)
            return HB_ENOMEM;
        int rc = fn(c, h, p, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void s_hhmm(uint16_t minute, char out[6])
{
    snprintf(out, 6, "%02u:%02u", (unsigned)(minute / 60) % 100, (unsigned)(minute % 60));
}

static json_t *s_hours_json(const hb_hours_t *h)
{
    json_t *a = json_array();
    for (uint8_t i = 0; a && i < h->n; i++) {
        char from[6], to[6], iv[12];
        s_hhmm(h->iv[i].from, from);
        s_hhmm(h->iv[i].to, to);
        snprintf(iv, sizeof iv, "%s-%s", from, to);
        json_array_append_new(a, json_string(iv));
    }
    return a;
}

/* The reason a whole day is closed, by the names hb_closed_reason_name uses,
 * or null on a day with hours. */
static json_t *s_closed_json(hb_closed_reason_t r)
{
    return r == HB_OPEN_NOW ? json_null() : json_string(hb_closed_reason_name(r));
}

/* ----------------------------------------------------------------- JSON */

typedef struct json_walk {
    const hq_pubhours_query_t *q;
    json_t *halls;
} json_walk_t;

static json_t *s_divert_json(size_t n, const char (*ids)[HB_HALL_ID_MAX])
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(ids[i]));
    return a;
}

static int s_hall_json(hq_control_t *c, const org_hall_t *h, const hb_policy_t *p, void *arg)
{
    json_walk_t *w = arg;
    const org_t *org = hq_control_org(c);
    int32_t today = hb_tz_local_day(p->tz, w->q->now_ms);
    json_t *o = json_object();
    json_t *weekly = json_object(), *special = json_array(), *closures = json_array(),
           *days = json_array();
    if (!o || !weekly || !special || !closures || !days)
        goto nomem;
    for (int d = 0; d < 7; d++)
        json_object_set_new(weekly, s_wdays[d], s_hours_json(&p->week[d]));
    for (size_t i = 0; i < p->n_special; i++) {
        const hb_special_day_t *s = &p->special[i];
        if (s->day < today)
            continue;
        json_array_append_new(special, json_pack("{s:o, s:o, s:s?}", "date", hb_json_date(s->day),
                                                 "hours", s_hours_json(&s->hours), "note",
                                                 s->note[0] ? s->note : NULL));
    }
    for (size_t i = 0; i < p->n_closures; i++) {
        const hb_closure_t *k = &p->closures[i];
        if (k->to_day < today)
            continue;
        json_array_append_new(closures,
                              json_pack("{s:s, s:o, s:o, s:s?, s:o}", "id", k->id, "from",
                                        hb_json_date(k->from_day), "to", hb_json_date(k->to_day),
                                        "notice", k->notice[0] ? k->notice : NULL, "divert_to",
                                        s_divert_json(k->n_divert, k->divert_to)));
    }
    for (int32_t d = today; d < today + w->q->days; d++) {
        hb_hours_t hours;
        const char *note;
        const hb_closure_t *closure;
        hb_closed_reason_t r = hb_policy_day(p, d, &hours, &note, &closure);
        json_array_append_new(days, json_pack("{s:o, s:o, s:o, s:s?}", "date", hb_json_date(d),
                                              "hours", s_hours_json(&hours), "closed",
                                              s_closed_json(r), "note", note));
    }
    const org_region_t *city = org_region_at(org, h->city);
    int bad = json_object_set_new(o, "hall", json_string(h->id));
    bad |= json_object_set_new(o, "name", h->name ? json_string(h->name) : json_null());
    bad |= json_object_set_new(o, "address", h->address ? json_string(h->address) : json_null());
    bad |= json_object_set_new(o, "city", city ? json_string(city->id) : json_null());
    bad |= json_object_set_new(o, "timezone", json_string(p->timezone));
    bad |= json_object_set_new(o, "weekly", weekly);
    bad |= json_object_set_new(o, "special_days", special);
    bad |= json_object_set_new(o, "closures", closures);
    bad |= json_object_set_new(o, "days", days);
    if (bad || json_array_append_new(w->halls, o) != 0)
        return HB_ENOMEM;
    return 0;
nomem:
    json_decref(o);
    json_decref(weekly);
    json_decref(special);
    json_decref(closures);
    json_decref(days);
    return HB_ENOMEM;
}

int hq_pubhours_json(hq_control_t *c, const hq_pubhours_query_t *q, json_t **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    json_walk_t w = {.q = q, .halls = json_array()};
    if (!w.halls)
        return HB_ENOMEM;
    int rc = s_each_hall(c, q, s_hall_json, &w, err, errlen);
    if (rc != 0) {
        json_decref(w.halls);
        return rc;
    }
    *out = json_pack("{s:I, s:i, s:o}", "version", (json_int_t)hq_control_policy_version(c), "days",
                     (int)q->days, "halls", w.halls);
    return *out ? 0 : HB_ENOMEM;
}

/* ------------------------------------------------------------ iCalendar */

void hq_ics_escape(hb_text_t *t, const char *value)
{
    for (const char *s = value; *s; s++) {
        switch (*s) {
        case '\\': hb_text_puts(t, "\\\\"); break;
        case ';': hb_text_puts(t, "\\;"); break;
        case ',': hb_text_puts(t, "\\,"); break;
        case '\n': hb_text_puts(t, "\\n"); break;
        case '\r': break; /* a CRLF in a note is one newline */
        default:
            /* Other control characters are not allowed in TEXT. */
            if ((unsigned char)*s < 0x20 && *s != '\t')
                hb_text_put(t, " ", 1);
            else
                hb_text_put(t, s, 1);
        }
    }
}

void hq_ics_line(hb_text_t *t, const char *line, size_t n)
{
    /* The first line holds 75 octets; each continuation starts with a space
     * and holds 74 more. A cut never falls inside a UTF-8 character. */
    size_t room = ICS_FOLD;
    while (n > room) {
        size_t k = hb_utf8_cut(line, n, room);
        if (k == 0)
            k = room; /* not UTF-8 at all: cut where the octets say */
        hb_text_put(t, line, k);
        hb_text_puts(t, "\r\n ");
        line += k;
        n -= k;
        room = ICS_FOLD - 1;
    }
    hb_text_put(t, line, n);
    hb_text_puts(t, "\r\n");
}

/* One content line built in `l`, then folded into the feed. */
typedef struct ics {
    hb_text_t out;
    hb_text_t l;
    const hq_pubhours_query_t *q;
    char stamp[20]; /* DTSTAMP: the start of today, UTC */
    const hb_tz_t *utc;
    const hb_tz_t *zones[ICS_ZONES_MAX];
    size_t n_zones;
} ics_t;

static void s_emit(ics_t *x)
{
    if (x->l.full) {
        x->out.full = true;
        return;
    }
    hq_ics_line(&x->out, x->l.p ? x->l.p : "", x->l.len);
    hb_text_reset(&x->l);
}

#define ICS(x, ...)                                                                                \
    do {                                                                                           \
        hb_text_putf(&(x)->l, __VA_ARGS__);                                                        \
        s_emit(x);                                                                                 \
    } while (0)

/* "NAME:" and an escaped TEXT value, as one line. */
static void s_text_prop(ics_t *x, const char *name, const char *a, const char *b)
{
    hb_text_puts(&x->l, name);
    hb_text_puts(&x->l, ":");
    hq_ics_escape(&x->l, a);
    if (b)
        hq_ics_escape(&x->l, b);
    s_emit(x);
}

/* Dates here are years 1970..9999 (hb_date_parse's range), so the casts
 * to unsigned and the moduli only tell the compiler the widths. */
static void s_local(const hb_tz_t *tz, int64_t utc_ms, char out[16])
{
    hb_civil_t cv;
    hb_tz_civil(tz, utc_ms, &cv);
    snprintf(out, 16, "%04u%02u%02uT%02u%02u%02u", (unsigned)cv.year % 10000u,
             (unsigned)cv.month % 100u, (unsigned)cv.day % 100u, (unsigned)cv.hour % 100u,
             (unsigned)cv.min % 100u, (unsigned)cv.sec % 100u);
}

static void s_ymd(int32_t day, char out[9])
{
    int y, m, d;
    hb_civil_from_days(day, &y, &m, &d);
    snprintf(out, 9, "%04u%02u%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

static void s_offset(int32_t off_s, char out[8])
{
    int32_t a = off_s < 0 ? -off_s : off_s;
    snprintf(out, 8, "%c%02d%02d", off_s < 0 ? '-' : '+', (int)(a / 3600) % 100,
             (int)(a / 60 % 60));
}

/* The first second at which the offset differs from the one at `lo`, for
 * `lo` < `hi` whose offsets differ. */
static int64_t s_transition(const hb_tz_t *tz, int64_t lo, int64_t hi)
{
    int32_t off = hb_tz_offset(tz, lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (hb_tz_offset(tz, mid) == off)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* A VTIMEZONE for `tz` that is right over [from_s, to_s]: the offset in
 * force at the start, then each change within, found day by day. Offsets
 * above the smallest one seen count as daylight time. */
static void s_vtimezone(ics_t *x, const hb_tz_t *tz, int64_t from_s, int64_t to_s)
{
    int64_t at[ICS_TRANSITIONS_MAX];
    int32_t before[ICS_TRANSITIONS_MAX], after[ICS_TRANSITIONS_MAX];
    size_t n = 0;
    int32_t first = hb_tz_offset(tz, from_s), low = first;
    for (int64_t t = from_s; t < to_s && n < ICS_TRANSITIONS_MAX; t += 86400) {
        int64_t next = t + 86400 < to_s ? t + 86400 : to_s;
        int32_t a = hb_tz_offset(tz, t), b = hb_tz_offset(tz, next);
        if (a != b) {
            at[n] = s_transition(tz, t, next);
            before[n] = a;
            after[n] = b;
            if (b < low)
                low = b;
            n++;
        }
    }
    char off_a[8], off_b[8], when[16];
    ICS(x, "BEGIN:VTIMEZONE");
    s_text_prop(x, "TZID", hb_tz_name(tz), NULL);
    s_offset(first, off_a);
    ICS(x, "BEGIN:%s", first > low ? "DAYLIGHT" : "STANDARD");
    ICS(x, "DTSTART:19700101T000000");
    ICS(x, "TZOFFSETFROM:%s", off_a);
    ICS(x, "TZOFFSETTO:%s", off_a);
    ICS(x, "END:%s", first > low ? "DAYLIGHT" : "STANDARD");
    for (size_t i = 0; i < n; i++) {
        /* An onset is written in the local time of the offset before it. */
        s_local(x->utc, (at[i] + before[i]) * 1000, when);
        s_offset(before[i], off_a);
        s_offset(after[i], off_b);
        const char *kind = after[i] > low ? "DAYLIGHT" : "STANDARD";
        ICS(x, "BEGIN:%s", kind);
        ICS(x, "DTSTART:%s", when);
        ICS(x, "TZOFFSETFROM:%s", off_a);
        ICS(x, "TZOFFSETTO:%s", off_b);
        ICS(x, "END:%s", kind);
    }
    ICS(x, "END:VTIMEZONE");
}

static int s_zone_seen(hq_control_t *c, const org_hall_t *h, const hb_policy_t *p, void *arg)
{
    (void)c;
    (void)h;
    ics_t *x = arg;
    for (size_t i = 0; i < x->n_zones; i++)
        if (x->zones[i] == p->tz)
            return 0;
    if (x->n_zones == ICS_ZONES_MAX)
        return HB_ETOOBIG;
    x->zones[x->n_zones++] = p->tz;
    return 0;
}

static const char *s_name(const org_hall_t *h) { return h->name ? h->name : h->id; }

/* An all-day event from `from` to `to` (days, both included). */
static void s_all_day(ics_t *x, const org_hall_t *h, const char *uid, int32_t from, int32_t to,
                      const char *summary, const char *note, size_t n_divert,
                      const char (*divert)[HB_HALL_ID_MAX])
{
    char a[9], b[9];
    s_ymd(from, a);
    s_ymd(to + 1, b);
    ICS(x, "BEGIN:VEVENT");
    s_text_prop(x, "UID", uid, "@hallbus");
    ICS(x, "DTSTAMP:%s", x->stamp);
    ICS(x, "DTSTART;VALUE=DATE:%s", a);
    ICS(x, "DTEND;VALUE=DATE:%s", b);
    s_text_prop(x, "SUMMARY", s_name(h), summary);
    if (note || n_divert) {
        hb_text_puts(&x->l, "DESCRIPTION:");
        if (note)
            hq_ics_escape(&x->l, note);
        if (n_divert) {
            hq_ics_escape(&x->l, note ? "\n" : "");
            hq_ics_escape(&x->l, "请前往 / Please go to: ");
            for (size_t i = 0; i < n_divert; i++) {
                if (i)
                    hq_ics_escape(&x->l, ", ");
                hq_ics_escape(&x->l, divert[i]);
            }
        }
        s_emit(x);
    }
    if (h->address)
        s_text_prop(x, "LOCATION", h->address, NULL);
    ICS(x, "TRANSP:TRANSPARENT");
    ICS(x, "CATEGORIES:CLOSED");
    ICS(x, "END:VEVENT");
}

static int s_hall_ics(hq_control_t *c, const org_hall_t *h, const hb_policy_t *p, void *arg)
{
    (void)c;
    ics_t *x = arg;
    const char *tzid = hb_tz_name(p->tz);
    int32_t today = hb_tz_local_day(p->tz, x->q->now_ms);
    char uid[HB_HALL_ID_MAX + HB_POLICY_SERVICE_MAX + 16], ymd[9], from[16], to[16];
    for (int32_t d = today; d < today + x->q->days; d++) {
        hb_hours_t hours;
        const char *note;
        const hb_closure_t *closure;
        hb_closed_reason_t r = hb_policy_day(p, d, &hours, &note, &closure);
        s_ymd(d, ymd);
        if (r == HB_CLOSED_SPECIAL_DAY) {
            snprintf(uid, sizeof uid, "%s-%s-holiday", h->id, ymd);
            s_all_day(x, h, uid, d, d, ": 休息 Closed", note, 0, NULL);
            continue;
        }
        for (uint8_t i = 0; i < hours.n; i++) {
            /* Local wall-clock times with the zone's TZID; "24:00" is the
             * next day's midnight. */
            int64_t a = hb_tz_local_to_utc(p->tz, d, hours.iv[i].from / 60, hours.iv[i].from % 60);
            int64_t b = hours.iv[i].to >= 1440 ? hb_tz_local_to_utc(p->tz, d + 1, 0, 0)
                                               : hb_tz_local_to_utc(p->tz, d, hours.iv[i].to / 60,
                                                                    hours.iv[i].to % 60);
            if (b <= a)
                continue; /* an interval a clock change swallowed */
            s_local(p->tz, a, from);
            s_local(p->tz, b, to);
            snprintf(uid, sizeof uid, "%s-%s-%u", h->id, ymd, (unsigned)i + 1);
            ICS(x, "BEGIN:VEVENT");
            s_text_prop(x, "UID", uid, "@hallbus");
            ICS(x, "DTSTAMP:%s", x->stamp);
            hb_text_puts(&x->l, "DTSTART;TZID=");
            hb_text_puts(&x->l, tzid);
            hb_text_putf(&x->l, ":%s", from);
            s_emit(x);
            hb_text_puts(&x->l, "DTEND;TZID=");
            hb_text_puts(&x->l, tzid);
            hb_text_putf(&x->l, ":%s", to);
            s_emit(x);
            s_text_prop(x, "SUMMARY", s_name(h), ": 营业 Open");
            if (note)
                s_text_prop(x, "DESCRIPTION", note, NULL);
            if (h->address)
                s_text_prop(x, "LOCATION", h->address, NULL);
            ICS(x, "TRANSP:TRANSPARENT");
            ICS(x, "CATEGORIES:OPEN");
            ICS(x, "END:VEVENT");
        }
    }
    /* Closures announced, from the window's first day to their end,
     * whenever they start: customers plan ahead. */
    for (size_t i = 0; i < p->n_closures; i++) {
        const hb_closure_t *k = &p->closures[i];
        if (k->to_day < today)
            continue;
        snprintf(uid, sizeof uid, "%s-closure-%s", h->id, k->id);
        s_all_day(x, h, uid, k->from_day, k->to_day, ": 暂停营业 Closed",
                  k->notice[0] ? k->notice : NULL, k->n_divert, k->divert_to);
    }
    return x->out.full ? HB_ETOOBIG : 0;
}

int hq_pubhours_ics(hq_control_t *c, const hq_pubhours_query_t *q, char **out, size_t *len,
                    char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    ics_t x;
    memset(&x, 0, sizeof x);
    hb_text_init(&x.out, HQ_PUBHOURS_TEXT_MAX);
    hb_text_init(&x.l, ICS_LINE_MAX);
    x.q = q;
    int64_t day0 = q->now_ms / 86400000 * 86400000;
    hb_civil_t cv;
    if (err && errlen)
        err[0] = '\0';
    if (hb_tz_get("UTC", &x.utc, err, errlen) != 0)
        return HB_EIO;
    hb_tz_civil(x.utc, day0, &cv);
    snprintf(x.stamp, sizeof x.stamp, "%04u%02u%02uT000000Z", (unsigned)cv.year % 10000u,
             (unsigned)cv.month % 100u, (unsigned)cv.day % 100u);
    /* The zones first: a VTIMEZONE must describe every TZID used. */
    int rc = s_each_hall(c, q, s_zone_seen, &x, err, errlen);
    if (rc == HB_ETOOBIG)
        hb_errf(err, errlen, "more than %d time zones in one feed: ask by region", ICS_ZONES_MAX);
    if (rc != 0)
        goto out;
    ICS(&x, "BEGIN:VCALENDAR");
    ICS(&x, "VERSION:2.0");
    ICS(&x, "PRODID:-//hallbus//public hours v%llu//ZH-EN",
        (unsigned long long)hq_control_policy_version(c));
    ICS(&x, "CALSCALE:GREGORIAN");
    ICS(&x, "METHOD:PUBLISH");
    s_text_prop(&x, "X-WR-CALNAME", "营业时间 Opening hours", NULL);
    /* A day either side of the days shown covers every zone's local dates. */
    int64_t from_s = q->now_ms / 1000 - 2 * 86400;
    int64_t to_s = q->now_ms / 1000 + ((int64_t)q->days + 2) * 86400;
    for (size_t i = 0; i < x.n_zones; i++)
        s_vtimezone(&x, x.zones[i], from_s, to_s);
    rc = s_each_hall(c, q, s_hall_ics, &x, err, errlen);
    if (rc != 0)
        goto out;
    ICS(&x, "END:VCALENDAR");
    if (x.out.full) {
        rc = HB_ETOOBIG;
        goto out;
    }
    *out = hb_text_take(&x.out, len);
    rc = *out ? 0 : HB_ENOMEM;
out:
    if (rc == HB_ETOOBIG && err && !err[0])
        hb_errf(err, errlen, "the feed passes %zu bytes: ask by region or for fewer days",
                (size_t)HQ_PUBHOURS_TEXT_MAX);
    hb_text_free(&x.out);
    hb_text_free(&x.l);
    return rc;
}
