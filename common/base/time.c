/* Wall and monotonic clocks, and RFC 3339 formatting and parsing without
 * depending on the process time zone (timegm, not mktime). */
#include "hallbus/time.h"
#include "hallbus/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
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

void hb_time_format(int64_t ms, char out[HB_RFC3339_MAX])
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* tm fields are bounded by gmtime_r; the year is clamped for the width. */
    int year = tm.tm_year + 1900;
    if (year > 9999)
        year = 9999;
    if (year < 0)
        year = 0;
    snprintf(out, HB_RFC3339_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, frac % 1000);
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
