/* The fast text writer (see text.h). printf goes straight into the room
 * left and only retries after growing, so a tile costs one vsnprintf and no
 * copy. Not for reading text back: hb_text_take hands it over. */
#include "hallbus/text.h"
#include "hallbus/time.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_CAP_MIN 4096

void hb_text_init(hb_text_t *t, size_t max)
{
    assert(max > 0);
    *t = (hb_text_t){.max = max};
}

void hb_text_reset(hb_text_t *t)
{
    t->len = 0;
    t->full = false;
    if (t->p)
        t->p[0] = '\0';
}

void hb_text_free(hb_text_t *t)
{
    free(t->p);
    *t = (hb_text_t){.max = t->max};
}

char *hb_text_take(hb_text_t *t, size_t *len)
{
    char *p = t->full ? NULL : t->p;
    *len = p ? t->len : 0;
    if (!p)
        free(t->p);
    *t = (hb_text_t){.max = t->max};
    return p;
}

/* Room for `more` bytes and a NUL; false (and full) past the maximum or
 * without memory. */
static bool s_room(hb_text_t *t, size_t more)
{
    if (t->full)
        return false;
    if (more > t->max - t->len) {
        t->full = true;
        return false;
    }
    size_t need = t->len + more + 1;
    if (need <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : TEXT_CAP_MIN;
    while (cap < need)
        cap *= 2;
    if (cap > t->max + 1)
        cap = t->max + 1;
    char *p = realloc(t->p, cap);
    if (!p) {
        t->full = true;
        return false;
    }
    t->p = p;
    t->cap = cap;
    return true;
}

void hb_text_put(hb_text_t *t, const char *s, size_t n)
{
    if (!s_room(t, n))
        return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

void hb_text_puts(hb_text_t *t, const char *s) { hb_text_put(t, s, strlen(s)); }

void hb_text_u64(hb_text_t *t, uint64_t v)
{
    char digits[20];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    hb_text_put(t, digits + i, sizeof digits - i);
}

void hb_text_putf(hb_text_t *t, const char *fmt, ...)
{
    if (t->full)
        return;
    size_t room = t->cap > t->len ? t->cap - t->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? t->p + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->full = true;
        return;
    }
    if ((size_t)n >= room) {
        if (!s_room(t, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
    }
    t->len += (size_t)n;
}

void hb_text_json_str(hb_text_t *t, const char *s)
{
    if (!s) {
        hb_text_put(t, "null", 4);
        return;
    }
    hb_text_put(t, "\"", 1);
    const char *run = s;
    for (const char *q = s; *q; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        hb_text_put(t, run, (size_t)(q - run));
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            hb_text_put(t, esc, 2);
        } else {
            hb_text_putf(t, "\\u%04x", ch);
        }
        run = q + 1;
    }
    hb_text_put(t, run, strlen(run));
    hb_text_put(t, "\"", 1);
}

void hb_text_json_time(hb_text_t *t, int64_t ms)
{
    if (!ms) {
        hb_text_put(t, "null", 4);
        return;
    }
    /* Digits, '-', ':', '.', 'T' and 'Z': nothing to escape. */
    char text[HB_RFC3339_MAX + 2];
    text[0] = '"';
    hb_time_format(ms, text + 1);
    size_t n = 1 + strlen(text + 1);
    text[n++] = '"';
    hb_text_put(t, text, n);
}
