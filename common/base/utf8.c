/* The UTF-8 check and the ways text is made safe with it (see utf8.h).
 * Every string of every event passes hb_utf8_valid on both daemons, so the
 * loop takes ASCII a byte at a time without a call. Not for decoding code
 * points: nothing in hallbus needs them. */
#include "hallbus/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The well-formed sequences of more than one byte, as the Unicode
 * standard's table 3-7 lists them: by lead byte, the length and the range
 * of the second byte (narrower after E0 and F0, which would be overlong, ED,
 * a surrogate, and F4, past U+10FFFF); later bytes are 80..BF. C0, C1 and
 * F5..FF start nothing. */
static const struct utf8_lead {
    unsigned char first, last, len, lo, hi;
} s_leads[] = {
    {0xC2, 0xDF, 2, 0x80, 0xBF}, {0xE0, 0xE0, 3, 0xA0, 0xBF}, {0xE1, 0xEC, 3, 0x80, 0xBF},
    {0xED, 0xED, 3, 0x80, 0x9F}, {0xEE, 0xEF, 3, 0x80, 0xBF}, {0xF0, 0xF0, 4, 0x90, 0xBF},
    {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F},
};

size_t hb_utf8_seq(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80)
        return 1;
    for (size_t k = 0; k < sizeof s_leads / sizeof s_leads[0]; k++) {
        const struct utf8_lead *l = &s_leads[k];
        if (u[0] < l->first || u[0] > l->last)
            continue;
        if (len < l->len || u[1] < l->lo || u[1] > l->hi)
            return 0;
        for (size_t i = 2; i < l->len; i++) {
            if (u[i] < 0x80 || u[i] > 0xBF)
                return 0;
        }
        return l->len;
    }
    return 0;
}

bool hb_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = hb_utf8_seq(s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

bool hb_utf8_valid_str(const char *s) { return hb_utf8_valid(s, strlen(s)); }

size_t hb_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* s[max] is the first byte dropped: while it continues a character,
     * that character would be cut, so it goes too. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0u) == 0x80u)
        n--;
    return n;
}

size_t hb_utf8_copy(char *dst, size_t cap, const char *src)
{
    size_t n = hb_utf8_cut(src, strnlen(src, cap), cap - 1);
    memmove(dst, src, n);
    dst[n] = '\0';
    return n;
}

size_t hb_utf8_clean(char *dst, size_t cap, const char *src)
{
    size_t o = 0, len = strlen(src);
    for (size_t i = 0; i < len && o + 1 < cap;) {
        size_t n = hb_utf8_seq(src + i, len - i);
        if (n == 0) {
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + n >= cap)
            break; /* a whole character or nothing */
        memcpy(dst + o, src + i, n);
        o += n;
        i += n;
    }
    dst[o] = '\0';
    return o;
}

void hb_utf8_sanitize(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = hb_utf8_seq(s + i, len - i);
        if (n == 0) {
            s[i++] = '?';
            continue;
        }
        i += n;
    }
}

json_t *hb_utf8_json(const char *s, size_t len)
{
    if (!s)
        return json_string("");
    if (hb_utf8_valid(s, len))
        return json_stringn(s, len);
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = hb_utf8_seq(s + i, len - i);
        if (n == 0) {
            copy[i++] = '?';
            continue;
        }
        memcpy(copy + i, s + i, n);
        i += n;
    }
    json_t *j = json_stringn(copy, len);
    free(copy);
    return j;
}

json_t *hb_utf8_json_str(const char *s) { return hb_utf8_json(s, s ? strlen(s) : 0); }
