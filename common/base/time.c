/* Wall and monotonic clocks, days to a date, and RFC 3339 formatting and
 * parsing without depending on the process time zone (timegm, not mktime). */
#include "hallbus/time.h"
#include "hallbus/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t (*s_clock)(void);

void hb_clock_set(int64_t (*now_ms)(void)) { s_clock = now_ms; }

int64_t hb_now_ms(void)
{
    if (s_clock)
        return s_clock();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hb_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hb_deadline_after(clockid_t clock, int64_t ms, struct timespec *out)
{
    clock_gettime(clock, out);
    out->tv_sec += ms / 1000;
    out->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
}

int64_t hb_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool hb_mono_spent(int64_t t0_ns, double budget_ms)
{
    return (double)(hb_mono_ns() - t0_ns) >= budget_ms * 1e6;
}

/* Counted in 400-year eras of 146,097 days from 0000-03-01 (so the leap
 * day ends a year): no loop, no gmtime_r (glibc takes its time-zone lock
 * even for UTC) and no printf, as the board writes an instant per region
 * and per tile in every answer. */
void hb_civil_from_days(int32_t days32, int *year, int *month, int *day)
{
    int64_t days = (int64_t)days32 + 719468; /* 1970-01-01 is day 719,468 from 0000-03-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;                                   /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* March is 0 */
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (*month <= 2));
}

/* `v` (0..10^width-1) in `width` digits, zero-padded, at `p`. */
static char *s_put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void hb_date_format(int32_t days, char out[11])
{
    int y, m, d;
    hb_civil_from_days(days, &y, &m, &d);
    /* Four year digits always: dates past 9999 or before year 0 are not a
     * hall's business, and clamping keeps the text exactly 10 bytes. */
    char *p = s_put_digits(out, y > 9999 ? 9999 : y < 0 ? 0 : y, 4);
    *p++ = '-';
    p = s_put_digits(p, m, 2);
    *p++ = '-';
    p = s_put_digits(p, d, 2);
    *p = '\0';
}

/* Day counts just past years 0000 and 9999: an instant beyond them writes
 * as the year held at its end, as hb_date_format does, without int32 days
 * overflowing for the farthest int64 instants. */
#define TIME_DAY_MIN (-719893) /* -0001-01-01 */
#define TIME_DAY_MAX 2933262   /* 10000-12-31 */

void hb_time_format(int64_t ms, char out[HB_RFC3339_MAX])
{
    /* Floor divisions: an instant before 1970 still has a positive
     * fraction and time of day. */
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    days = days < TIME_DAY_MIN ? TIME_DAY_MIN : days > TIME_DAY_MAX ? TIME_DAY_MAX : days;
    hb_date_format((int32_t)days, out);
    char *p = out + 10;
    *p++ = 'T';
    p = s_put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = s_put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = s_put_digits(p, sod % 60, 2);
    *p++ = '.';
    p = s_put_digits(p, frac, 3);
    *p++ = 'Z';
    *p = '\0';
}

/* Reads exactly `n` digits. */
static int s_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return HB_EPARSE;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int hb_time_parse(const char *text, int64_t *out_ms)
{
    const char *p = text;
    int y, mo, d, h, mi, s, ms = 0;
    if (s_digits(&p, 4, &y) || *p++ != '-' || s_digits(&p, 2, &mo) || *p++ != '-' ||
        s_digits(&p, 2, &d))
        return HB_EPARSE;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return HB_EPARSE;
    p++;
    if (s_digits(&p, 2, &h) || *p++ != ':' || s_digits(&p, 2, &mi) || *p++ != ':' ||
        s_digits(&p, 2, &s))
        return HB_EPARSE;
    if (*p == '.') {
        p++;
        int n = 0, scale = 100;
        while (isdigit((unsigned char)*p)) {
            if (n < 3) {
                ms += (*p - '0') * scale;
                scale /= 10;
            }
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return HB_EPARSE;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (s_digits(&p, 2, &oh) || *p++ != ':' || s_digits(&p, 2, &om) || oh > 23 || om > 59)
            return HB_EPARSE;
        offset_min = sign * (oh * 60 + om);
    } else {
        return HB_EPARSE;
    }
    if (*p != '\0')
        return HB_EPARSE;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 60)
        return HB_EPARSE;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return HB_EPARSE;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s == 60 ? 59 : s};
    time_t t = timegm(&tm);
    *out_ms = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + ms;
    return 0;
}

int64_t hb_jitter_ms(int64_t base)
{
    return base + (int64_t)((double)base * ((double)rand() / ((double)RAND_MAX + 1.0)));
}

int64_t hb_backoff_double(int64_t wait, int64_t max) { return wait > max / 2 ? max : wait * 2; }
