/* The UTF-8 check and the ways text is made safe with it (see utf8.h).
 * Every string of every event passes hb_utf8_valid on both daemons, so the
 * loop takes ASCII a byte at a time without a call. Not for decoding code
 * points: nothing in hallbus needs them. */
#include "hallbus/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t hb_utf8_seq(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0];
    if (c < 0x80)
        return 1;
    /* The second byte's range is narrower after E0 (overlong), ED
     * (surrogates), F0 (overlong) and F4 (past U+10FFFF); C0, C1 and F5..FF
     * start nothing. */
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (len < n || u[1] < lo || u[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (u[i] < 0x80 || u[i] > 0xBF)
            return 0;
    }
    return n;
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
