/* Time zones from TZif files (RFC 8536, versions 1 to 3) and their POSIX TZ
 * footer rule, plus zone-free calendar arithmetic, as tz.h describes (days to
 * a date, and a date's text, are time.c's: RFC 3339 instants need them).
 *
 * Zones are read once into an immutable table kept in a process-wide cache;
 * after that every lookup is a binary search or a rule evaluation, with no
 * lock, no allocation and no use of the process's TZ. This file does not
 * know leap seconds (the right/ zones are refused) nor opening hours. */
#include "hallbus/tz.h"
#include "hallbus/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_FILE_MAX (256 * 1024) /* tzdata's largest file is under 4 KiB */
#define TZ_TYPES_MAX 256         /* RFC 8536 caps typecnt at 256 */
#define TZ_FOOTER_MAX 256        /* tzdata's longest footer is under 64 bytes */
#define TZ_CACHE_MAX 4096        /* tzdata holds about 600 zones and 1,800 names */
#define TZ_OFFSET_MAX 93599      /* RFC 8536: offsets stay within -25:59:59..25:59:59 */
#define TZ_RULE_TIME_MAX (167 * 3600 + 59 * 60 + 59) /* RFC 8536's extension */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

/* Instants are clamped to years 1..9999 before any calendar work, so that no
 * caller-supplied value can overflow a day count or a year. */
#define TZ_MIN_S (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define TZ_MAX_S 253402300799LL   /* 9999-12-31T23:59:59Z */

/* ---- calendar arithmetic */

static bool s_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int s_month_days(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && s_leap(y) ? 29 : len[m - 1];
}

/* Division rounding towards minus infinity, for instants before the epoch. */
static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Days from 0001-01-01 to January 1st of `y` in the proleptic Gregorian
 * calendar: 365 a year plus one for every leap year before it. */
static int64_t s_days_before_year(int64_t y)
{
    int64_t p = y - 1;
    return 365 * p + s_floor_div(p, 4) - s_floor_div(p, 100) + s_floor_div(p, 400);
}

/* Days from 1970-01-01 to the first day of each month of a common year. */
static const int s_month_start[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static int64_t s_days_from_civil64(int64_t y, int m, int d)
{
    int64_t days = s_days_before_year(y) - s_days_before_year(1970);
    days += s_month_start[m - 1] + (m > 2 && s_leap(y) ? 1 : 0);
    return days + d - 1;
}

int32_t hb_days_from_civil(int year, int month, int day)
{
    /* A month outside 1..12 carries into the year, as timegm() does, so that
     * "month + 1" arithmetic at a caller needs no special case. */
    int64_t y = year + s_floor_div((int64_t)month - 1, 12);
    int m = (int)((int64_t)month - 1 - s_floor_div((int64_t)month - 1, 12) * 12) + 1;
    return (int32_t)s_days_from_civil64(y, m, day);
}

int hb_weekday(int32_t days)
{
    /* 1970-01-01 was a Thursday, ISO day 3 counting Monday as 0. */
    return (int)(((int64_t)days % 7 + 7 + 3) % 7);
}

static int s_two_digits(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

int hb_date_parse(const char *text, int32_t *out_days)
{
    if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return HB_EPARSE;
    int hi = s_two_digits(text), lo = s_two_digits(text + 2);
    int m = s_two_digits(text + 5), d = s_two_digits(text + 8);
    if (hi < 0 || lo < 0 || m < 0 || d < 0)
        return HB_EPARSE;
    int y = hi * 100 + lo;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > s_month_days(y, m))
        return HB_EPARSE;
    *out_days = hb_days_from_civil(y, m, d);
    return 0;
}

json_t *hb_json_date(int32_t days)
{
    char d[11];
    hb_date_format(days, d);
    return json_string(d);
}

/* ---- the POSIX TZ rule of a file's footer */

typedef enum tz_date_form {
    TZ_DATE_JULIAN = 'J', /* Jn: day 1..365, February 29th never counted */
    TZ_DATE_ZERO = 'N',   /* n: day 0..365, February 29th counted */
    TZ_DATE_MONTH = 'M',  /* Mm.w.d: weekday d of week w (5 = last) of month m */
} tz_date_form_t;

typedef struct tz_date {
    tz_date_form_t form;
    int n;        /* TZ_DATE_JULIAN and TZ_DATE_ZERO */
    int m, w, d;  /* TZ_DATE_MONTH; d is 0 for Sunday, as POSIX counts */
    int32_t secs; /* local time of the change, -167h..167h */
} tz_date_t;

typedef struct tz_rule {
    int32_t std_off; /* local minus UTC, seconds */
    int32_t dst_off;
    bool has_dst;
    tz_date_t start, end; /* start in standard time, end in daylight time */
} tz_rule_t;

struct hb_tz {
    char name[HB_TZ_NAME_MAX];
    size_t n_trans;
    int64_t *at;      /* transition instants, strictly ascending */
    uint8_t *type_of; /* the type in force from at[i] on */
    size_t n_types;
    int32_t offs[TZ_TYPES_MAX];
    bool has_rule; /* the footer's rule governs instants from the last transition */
    tz_rule_t rule;
    struct hb_tz *next; /* the cache's list */
};

/* A cursor over the footer text. */
typedef struct tz_text {
    const char *p;
} tz_text_t;

static bool s_digit(char c) { return c >= '0' && c <= '9'; }

/* Reads 1..`max_digits` decimal digits. */
static bool s_number(tz_text_t *t, int max_digits, int *out)
{
    int v = 0, n = 0;
    while (n < max_digits && s_digit(*t->p)) {
        v = v * 10 + (*t->p - '0');
        t->p++;
        n++;
    }
    if (n == 0 || s_digit(*t->p))
        return false;
    *out = v;
    return true;
}

/* A zone abbreviation: three or more letters, or <...> of letters, digits,
 * '+' and '-'. Only its syntax matters here. */
static bool s_abbrev(tz_text_t *t)
{
    size_t n = 0;
    if (*t->p == '<') {
        t->p++;
        while ((*t->p >= 'A' && *t->p <= 'Z') || (*t->p >= 'a' && *t->p <= 'z') || s_digit(*t->p) ||
               *t->p == '+' || *t->p == '-') {
            t->p++;
            n++;
        }
        if (*t->p != '>')
            return false;
        t->p++;
        return n >= 3;
    }
    while ((*t->p >= 'A' && *t->p <= 'Z') || (*t->p >= 'a' && *t->p <= 'z')) {
        t->p++;
        n++;
    }
    return n >= 3;
}

/* [+-]h[h[h]][:mm[:ss]] with the hours at most `max_hours`, as seconds. */
static bool s_hms(tz_text_t *t, int max_hours, int32_t *out)
{
    int sign = 1;
    if (*t->p == '+' || *t->p == '-') {
        sign = *t->p == '-' ? -1 : 1;
        t->p++;
    }
    int h, m = 0, s = 0;
    if (!s_number(t, 3, &h) || h > max_hours)
        return false;
    if (*t->p == ':') {
        t->p++;
        if (!s_number(t, 2, &m) || m > 59)
            return false;
        if (*t->p == ':') {
            t->p++;
            if (!s_number(t, 2, &s) || s > 59)
                return false;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return true;
}

/* One end of the daylight period: Jn, n or Mm.w.d, then an optional /time. */
static bool s_rule_date(tz_text_t *t, tz_date_t *out)
{
    if (*t->p == 'J') {
        t->p++;
        out->form = TZ_DATE_JULIAN;
        if (!s_number(t, 3, &out->n) || out->n < 1 || out->n > 365)
            return false;
    } else if (*t->p == 'M') {
        t->p++;
        out->form = TZ_DATE_MONTH;
        if (!s_number(t, 2, &out->m) || out->m < 1 || out->m > 12 || *t->p != '.')
            return false;
        t->p++;
        if (!s_number(t, 1, &out->w) || out->w < 1 || out->w > 5 || *t->p != '.')
            return false;
        t->p++;
        if (!s_number(t, 1, &out->d) || out->d > 6)
            return false;
    } else {
        out->form = TZ_DATE_ZERO;
        if (!s_number(t, 3, &out->n) || out->n > 365)
            return false;
    }
    out->secs = 2 * 3600; /* POSIX: 02:00 unless given */
    if (*t->p == '/') {
        t->p++;
        if (!s_hms(t, 167, &out->secs))
            return false;
    }
    return true;
}

/* Parses "std offset [dst [offset] [,start[/time],end[/time]]]". POSIX
 * offsets count west of Greenwich, so they are negated into UTC offsets. */
static int s_rule_parse(const char *text, tz_rule_t *r, const char **why)
{
    tz_text_t t = {text};
    int32_t posix;
    memset(r, 0, sizeof *r);
    if (!s_abbrev(&t)) {
        *why = "its rule's standard-time name is malformed";
        return HB_EPARSE;
    }
    if (!s_hms(&t, 24, &posix)) {
        *why = "its rule's standard-time offset is malformed";
        return HB_EPARSE;
    }
    r->std_off = -posix;
    if (*t.p == '\0')
        return 0;
    if (!s_abbrev(&t)) {
        *why = "its rule's daylight-time name is malformed";
        return HB_EPARSE;
    }
    r->has_dst = true;
    r->dst_off = r->std_off + 3600; /* POSIX: one hour ahead unless given */
    if (*t.p != ',' && *t.p != '\0') {
        if (!s_hms(&t, 24, &posix)) {
            *why = "its rule's daylight-time offset is malformed";
            return HB_EPARSE;
        }
        r->dst_off = -posix;
    }
    if (*t.p == '\0') {
        /* POSIX leaves a rule-less DST zone to the implementation; glibc
         * and tzcode fall back to the United States' rule, and so do we. */
        r->start = (tz_date_t){.form = TZ_DATE_MONTH, .m = 3, .w = 2, .d = 0, .secs = 7200};
        r->end = (tz_date_t){.form = TZ_DATE_MONTH, .m = 11, .w = 1, .d = 0, .secs = 7200};
        return 0;
    }
    if (*t.p != ',') {
        *why = "its rule has junk after the daylight-time name";
        return HB_EPARSE;
    }
    t.p++;
    if (!s_rule_date(&t, &r->start) || *t.p != ',') {
        *why = "its rule's daylight-time start is malformed";
        return HB_EPARSE;
    }
    t.p++;
    if (!s_rule_date(&t, &r->end) || *t.p != '\0') {
        *why = "its rule's daylight-time end is malformed";
        return HB_EPARSE;
    }
    return 0;
}

/* The local instant (seconds, as if local time were UTC) at which `d`
 * happens in year `y`. */
static int64_t s_rule_local(const tz_date_t *d, int64_t y)
{
    int64_t jan1 = s_days_from_civil64(y, 1, 1), day;
    switch (d->form) {
    case TZ_DATE_JULIAN: day = jan1 + d->n - 1 + (s_leap(y) && d->n >= 60 ? 1 : 0); break;
    case TZ_DATE_ZERO: day = jan1 + d->n; break;
    default: {
        int64_t first = s_days_from_civil64(y, d->m, 1);
        /* hb_weekday counts from Monday; POSIX's d from Sunday. */
        int wd_first = (hb_weekday((int32_t)first) + 1) % 7;
        day = first + (d->d - wd_first + 7) % 7 + 7 * (d->w - 1);
        while (day >= first + s_month_days(y, d->m))
            day -= 7; /* week 5 means the last such weekday */
        break;
    }
    }
    return day * 86400 + d->secs;
}

typedef struct tz_change {
    int64_t at;
    bool dst; /* in daylight time from `at` on */
} tz_change_t;

/* The rule's offset at `t`, and the instant of its next change after `t`.
 * Changes of the year around `t` and of its neighbours are laid out in
 * order, which covers changes pushed over a new year by RFC 8536's times of
 * up to 167 hours, and southern zones whose daylight time spans new year. */
static int32_t s_rule_offset(const tz_rule_t *r, int64_t t, int64_t *next)
{
    if (!r->has_dst) {
        *next = INT64_MAX;
        return r->std_off;
    }
    int y, mo, d;
    hb_civil_from_days((int32_t)s_floor_div(t + r->std_off, 86400), &y, &mo, &d);
    tz_change_t ch[8] = {{0}};
    size_t n = 0;
    for (int yy = y - 1; yy <= y + 2; yy++) {
        /* An end first, so that when a year's end meets the next start (all
         * year daylight time) the start is the change in force. */
        ch[n++] = (tz_change_t){s_rule_local(&r->end, yy) - r->dst_off, false};
        ch[n++] = (tz_change_t){s_rule_local(&r->start, yy) - r->std_off, true};
    }
    /* Insertion sort, stable, so that ties keep the order above. */
    for (size_t i = 1; i < n; i++) {
        tz_change_t c = ch[i];
        size_t j = i;
        while (j > 0 && ch[j - 1].at > c.at) {
            ch[j] = ch[j - 1];
            j--;
        }
        ch[j] = c;
    }
    bool dst = !ch[0].dst;
    *next = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (ch[i].at <= t) {
            dst = ch[i].dst;
        } else {
            *next = ch[i].at;
            break;
        }
    }
    return dst ? r->dst_off : r->std_off;
}

static int64_t s_clamp_s(int64_t t)
{
    if (t < TZ_MIN_S)
        return TZ_MIN_S;
    if (t > TZ_MAX_S)
        return TZ_MAX_S;
    return t;
}

/* The offset at `t` and the instant the zone next changes (INT64_MAX if
 * never), from the table, then from the rule past the last transition. */
static int32_t s_lookup(const hb_tz_t *tz, int64_t t, int64_t *next)
{
    t = s_clamp_s(t);
    if (tz->n_trans == 0) {
        if (tz->has_rule)
            return s_rule_offset(&tz->rule, t, next);
        *next = INT64_MAX;
        return tz->offs[0];
    }
    if (t < tz->at[0]) {
        /* RFC 8536: before the first transition, time type 0 applies. */
        *next = tz->at[0];
        return tz->offs[0];
    }
    size_t lo = 0, hi = tz->n_trans; /* at[lo] <= t < at[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (lo + 1 < tz->n_trans) {
        *next = tz->at[lo + 1];
        return tz->offs[tz->type_of[lo]];
    }
    if (tz->has_rule)
        return s_rule_offset(&tz->rule, t, next);
    *next = INT64_MAX;
    return tz->offs[tz->type_of[lo]];
}

/* ---- reading a TZif file */

typedef struct tz_counts {
    uint32_t isut, isstd, leap, time, type, chars;
} tz_counts_t;

static uint32_t s_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t s_be64(const uint8_t *p)
{
    uint64_t v = (uint64_t)s_be32(p) << 32 | s_be32(p + 4);
    return (int64_t)v;
}

/* Reads a 44-byte header at `pos`: magic, version, six counts. */
static int s_header(const uint8_t *buf, size_t len, size_t pos, char *version, tz_counts_t *c,
                    const char **why)
{
    const uint8_t *p = buf + pos;
    if (len - pos >= 4 && memcmp(p, "TZif", 4) != 0) {
        *why = "it is not a TZif file (bad magic)";
        return HB_EPARSE;
    }
    if (len - pos < 44) {
        *why = "it is truncated (header)";
        return HB_EPARSE;
    }
    *version = (char)p[4];
    if (*version != '\0' && (*version < '2' || *version > '4')) {
        *why = "its TZif version is not one this reader knows (1 to 4)";
        return HB_EPARSE;
    }
    c->isut = s_be32(p + 20);
    c->isstd = s_be32(p + 24);
    c->leap = s_be32(p + 28);
    c->time = s_be32(p + 32);
    c->type = s_be32(p + 36);
    c->chars = s_be32(p + 40);
    /* Counts beyond these could not fit the bounded file anyway; refusing
     * them here keeps every size computation below far from overflow. */
    if (c->type == 0 || c->type > TZ_TYPES_MAX || c->chars == 0 || c->time > TZ_FILE_MAX ||
        c->chars > TZ_FILE_MAX || c->leap > TZ_FILE_MAX || (c->isstd != 0 && c->isstd != c->type) ||
        (c->isut != 0 && c->isut != c->type)) {
        *why = "its header's counts are inconsistent";
        return HB_EPARSE;
    }
    return 0;
}

static size_t s_block_size(const tz_counts_t *c, size_t time_size)
{
    return (size_t)c->time * (time_size + 1) + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (time_size + 4) + c->isstd + c->isut;
}

/* Reads the data block at `buf` (already known to be complete) into `tz`. */
static int s_block(const uint8_t *p, const tz_counts_t *c, size_t time_size, hb_tz_t *tz,
                   const char **why)
{
    if (c->leap != 0) {
        *why = "it carries leap seconds (a right/ zone), which are not supported";
        return HB_EPARSE;
    }
    tz->n_trans = c->time;
    tz->n_types = c->type;
    if (c->time > 0) {
        tz->at = malloc(sizeof *tz->at * c->time);
        tz->type_of = malloc(c->time);
        if (!tz->at || !tz->type_of) {
            *why = "out of memory";
            return HB_ENOMEM;
        }
    }
    for (uint32_t i = 0; i < c->time; i++) {
        const uint8_t *q = p + (size_t)i * time_size;
        tz->at[i] = time_size == 8 ? s_be64(q) : (int64_t)(int32_t)s_be32(q);
        if (i > 0 && tz->at[i] <= tz->at[i - 1]) {
            *why = "its transition times are not in ascending order";
            return HB_EPARSE;
        }
    }
    p += (size_t)c->time * time_size;
    for (uint32_t i = 0; i < c->time; i++) {
        if (p[i] >= c->type) {
            *why = "a transition names a time type that does not exist";
            return HB_EPARSE;
        }
        tz->type_of[i] = p[i];
    }
    p += c->time;
    for (uint32_t i = 0; i < c->type; i++) {
        int32_t off = (int32_t)s_be32(p);
        if (off < -TZ_OFFSET_MAX || off > TZ_OFFSET_MAX || p[4] > 1 || p[5] >= c->chars) {
            *why = "a time type is out of range (offset, DST flag or name)";
            return HB_EPARSE;
        }
        tz->offs[i] = off;
        p += 6;
    }
    p += c->chars; /* abbreviations: not needed */
    for (uint32_t i = 0; i < c->isstd + c->isut; i++) {
        if (p[i] > 1) {
            *why = "a standard/UT indicator is neither 0 nor 1";
            return HB_EPARSE;
        }
    }
    return 0;
}

/* Parses a whole file: the v1 block, and for version 2 and later the
 * 64-bit block and the footer, which replace it. */
static int s_parse(const uint8_t *buf, size_t len, hb_tz_t *tz, const char **why)
{
    char version;
    tz_counts_t c;
    int rc = s_header(buf, len, 0, &version, &c, why);
    if (rc)
        return rc;
    size_t pos = 44, size = s_block_size(&c, 4);
    if (len - pos < size) {
        *why = "it is truncated (version 1 data)";
        return HB_EPARSE;
    }
    if (version == '\0') {
        rc = s_block(buf + pos, &c, 4, tz, why);
        if (rc)
            return rc;
        if (pos + size != len) {
            *why = "it has bytes after its data";
            return HB_EPARSE;
        }
        return 0;
    }
    pos += size;
    char version2;
    rc = s_header(buf, len, pos, &version2, &c, why);
    if (rc)
        return rc;
    if (version2 != version) {
        *why = "its two headers disagree on the version";
        return HB_EPARSE;
    }
    pos += 44;
    size = s_block_size(&c, 8);
    if (len - pos < size) {
        *why = "it is truncated (64-bit data)";
        return HB_EPARSE;
    }
    rc = s_block(buf + pos, &c, 8, tz, why);
    if (rc)
        return rc;
    pos += size;
    /* The footer: a newline, a POSIX TZ string (possibly empty), a newline. */
    if (pos >= len || buf[pos] != '\n') {
        *why = "it is truncated (footer)";
        return HB_EPARSE;
    }
    pos++;
    const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
    if (!nl) {
        *why = "it is truncated (footer)";
        return HB_EPARSE;
    }
    size_t flen = (size_t)(nl - (buf + pos));
    if (flen >= TZ_FOOTER_MAX || memchr(buf + pos, '\0', flen)) {
        *why = "its footer is too long or holds a NUL byte";
        return HB_EPARSE;
    }
    if ((size_t)(nl - buf) + 1 != len) {
        *why = "it has bytes after its footer";
        return HB_EPARSE;
    }
    if (flen > 0) {
        char footer[TZ_FOOTER_MAX];
        memcpy(footer, buf + pos, flen);
        footer[flen] = '\0';
        rc = s_rule_parse(footer, &tz->rule, why);
        if (rc)
            return rc;
        tz->has_rule = true;
    }
    return 0;
}

/* Reads at most TZ_FILE_MAX bytes of `path` into a new buffer. */
static int s_read_file(const char *path, uint8_t **out, size_t *out_len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "%s",
                 e == ENOENT || e == ENOTDIR ? "no such zone file" : strerror(e));
        return e == ENOENT || e == ENOTDIR ? HB_ENOTFOUND : HB_EIO;
    }
    int rc = 0;
    uint8_t *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        rc = HB_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a zone file (a directory or device)");
        rc = HB_ENOTFOUND;
        goto out;
    }
    if (st.st_size > TZ_FILE_MAX) {
        snprintf(why, whylen, "the file is larger than a TZif file may be here (%d bytes)",
                 TZ_FILE_MAX);
        rc = HB_EPARSE;
        goto out;
    }
    /* One byte more than allowed, to notice a file that grew since fstat. */
    buf = malloc(TZ_FILE_MAX + 1);
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        rc = HB_ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < TZ_FILE_MAX + 1) {
        ssize_t n = read(fd, buf + got, TZ_FILE_MAX + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            rc = HB_EIO;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > TZ_FILE_MAX) {
        snprintf(why, whylen, "the file is larger than a TZif file may be here (%d bytes)",
                 TZ_FILE_MAX);
        rc = HB_EPARSE;
        goto out;
    }
    *out = buf;
    *out_len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

/* ---- the cache */

static pthread_mutex_t s_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static hb_tz_t *s_cache;
static size_t s_cache_n;

/* The zones that need no file: their whole table is one type of offset 0. */
static const hb_tz_t s_utc = {.name = "UTC", .n_types = 1};
static const hb_tz_t s_etc_utc = {.name = "Etc/UTC", .n_types = 1};

static void s_tz_free(hb_tz_t *tz)
{
    if (!tz)
        return;
    free(tz->at);
    free(tz->type_of);
    free(tz);
}

/* Checks the name's form before it comes anywhere near a path. */
static int s_name_check(const char *name, char *err, size_t errlen)
{
    size_t n = strnlen(name, HB_TZ_NAME_MAX);
    if (n == 0 || n >= HB_TZ_NAME_MAX) {
        hb_errf(err, errlen, "time zone '%.63s': a zone name is 1 to %d bytes", name,
                HB_TZ_NAME_MAX - 1);
        return HB_EINVAL;
    }
    if (name[0] == '/') {
        hb_errf(err, errlen,
                "time zone '%s': a zone name is relative to the zone folder, "
                "not an absolute path",
                name);
        return HB_EINVAL;
    }
    if (strstr(name, "..")) {
        hb_errf(err, errlen, "time zone '%s': a zone name may not contain '..'", name);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || s_digit(c) || c == '_' ||
                  c == '+' || c == '-' || c == '/';
        if (!ok) {
            hb_errf(err, errlen, "time zone '%s': a zone name holds only A-Z a-z 0-9 _ + - /",
                    name);
            return HB_EINVAL;
        }
    }
    return 0;
}

static int s_load(const char *name, hb_tz_t **out, char *err, size_t errlen)
{
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = TZ_DEFAULT_DIR;
    char path[PATH_MAX];
    int w = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= sizeof path) {
        hb_errf(err, errlen, "time zone '%s': the zone folder's path is too long", name);
        return HB_EINVAL;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[160];
    int rc = s_read_file(path, &buf, &len, why, sizeof why);
    if (rc) {
        hb_errf(err, errlen, "time zone '%s': %s (%s)", name, why, path);
        return rc;
    }
    hb_tz_t *tz = calloc(1, sizeof *tz);
    if (!tz) {
        free(buf);
        hb_errf(err, errlen, "time zone '%s': out of memory", name);
        return HB_ENOMEM;
    }
    snprintf(tz->name, sizeof tz->name, "%s", name);
    const char *reason = "";
    rc = s_parse(buf, len, tz, &reason);
    free(buf);
    if (rc) {
        hb_errf(err, errlen, "time zone '%s': %s cannot be read: %s", name, path, reason);
        s_tz_free(tz);
        return rc;
    }
    *out = tz;
    return 0;
}

int hb_tz_get(const char *name, const hb_tz_t **out, char *err, size_t errlen)
{
    if (!name) {
        hb_errf(err, errlen, "time zone: no name given");
        return HB_EINVAL;
    }
    int rc = s_name_check(name, err, errlen);
    if (rc)
        return rc;
    if (strcmp(name, "UTC") == 0) {
        *out = &s_utc;
        return 0;
    }
    if (strcmp(name, "Etc/UTC") == 0) {
        *out = &s_etc_utc;
        return 0;
    }
    /* The lock is held while a file is read: loads are rare (once per zone
     * per process) and it keeps two threads from loading the same zone. */
    pthread_mutex_lock(&s_cache_lock);
    for (hb_tz_t *tz = s_cache; tz; tz = tz->next) {
        if (strcmp(tz->name, name) == 0) {
            *out = tz;
            goto out;
        }
    }
    if (s_cache_n >= TZ_CACHE_MAX) {
        hb_errf(err, errlen, "time zone '%s': already %d zones loaded, the most kept", name,
                TZ_CACHE_MAX);
        rc = HB_ETOOBIG;
        goto out;
    }
    hb_tz_t *tz = NULL;
    rc = s_load(name, &tz, err, errlen);
    if (rc)
        goto out;
    tz->next = s_cache;
    s_cache = tz;
    s_cache_n++;
    *out = tz;
out:
    pthread_mutex_unlock(&s_cache_lock);
    return rc;
}

const char *hb_tz_name(const hb_tz_t *tz) { return tz->name; }

/* ---- conversions */

int32_t hb_tz_offset(const hb_tz_t *tz, int64_t utc_s)
{
    int64_t next;
    return s_lookup(tz, utc_s, &next);
}

void hb_tz_civil(const hb_tz_t *tz, int64_t utc_ms, hb_civil_t *out)
{
    int64_t s = s_clamp_s(s_floor_div(utc_ms, 1000));
    int64_t local = s + hb_tz_offset(tz, s);
    int64_t days = s_floor_div(local, 86400);
    int64_t sod = local - days * 86400;
    hb_civil_from_days((int32_t)days, &out->year, &out->month, &out->day);
    out->hour = (int)(sod / 3600);
    out->min = (int)(sod / 60 % 60);
    out->sec = (int)(sod % 60);
    out->wday = hb_weekday((int32_t)days);
}

int32_t hb_tz_local_day(const hb_tz_t *tz, int64_t utc_ms)
{
    int64_t s = s_clamp_s(s_floor_div(utc_ms, 1000));
    return (int32_t)s_floor_div(s + hb_tz_offset(tz, s), 86400);
}

int64_t hb_tz_local_to_utc(const hb_tz_t *tz, int32_t day, int h, int m)
{
    /* Every UTC instant whose local time is `local` lies within the largest
     * offset of it. Walk the stretches of constant offset across that
     * window: the first stretch that contains its own candidate is the
     * first occurrence; a stretch whose candidate lies past its end is
     * followed by a gap, and its candidate is the wall-clock distance past
     * the change that the contract asks for. */
    int64_t local = (int64_t)day * 86400 + (int64_t)h * 3600 + (int64_t)m * 60;
    int64_t t = local - TZ_OFFSET_MAX - 1, end = local + TZ_OFFSET_MAX + 1;
    int64_t gap = 0;
    bool in_gap = false;
    for (int stretch = 0; stretch < 64 && t <= end; stretch++) {
        int64_t next;
        int32_t off = s_lookup(tz, t, &next);
        int64_t cand = local - off;
        if (cand >= t && cand < next)
            return cand * 1000;
        if (cand >= next) {
            gap = cand;
            in_gap = true;
        }
        if (next == INT64_MAX || next <= t)
            break;
        t = next;
    }
    if (in_gap)
        return gap * 1000;
    /* Only reached for instants clamped to the years 1..9999. */
    return (local - hb_tz_offset(tz, local)) * 1000;
}
