/* The one UTF-8 check of hallbus, and the few ways text is made safe with
 * it: cut at a character boundary into a bounded buffer, bad bytes shown as
 * '?', a JSON string of text that may not be UTF-8.
 *
 * "Valid" is strict, as RFC 3629 and jansson have it: no overlong forms, no
 * surrogates, nothing past U+10FFFF, so text that passes here always goes
 * into a JSON answer or a snapshot. Not for what the text means (ids,
 * lengths of fields, NUL inside a field): callers judge that. */
#ifndef HALLBUS_UTF8_H
#define HALLBUS_UTF8_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Length (1 to 4) of the well-formed character that starts `s`, which has
 * `len` bytes left (len >= 1); 0 when none starts there. A NUL byte is a
 * character of one byte. */
size_t hb_utf8_seq(const char *s, size_t len);

/* Whether the `len` bytes at `s` are UTF-8 (NUL bytes included, as ASCII). */
bool hb_utf8_valid(const char *s, size_t len);

/* Whether the NUL-terminated `s` is UTF-8. */
bool hb_utf8_valid_str(const char *s);

/* How many of the `len` bytes at `s` to keep so that at most `max` are kept
 * and the cut falls where a character starts: `len` when it fits, else
 * `max` or less (never inside a character the bytes hold whole). Reads
 * s[max] when len > max. */
size_t hb_utf8_cut(const char *s, size_t len, size_t max);

/* Copies the NUL-terminated `src` into `dst` (`cap` bytes, cap >= 1), cut
 * with hb_utf8_cut when it is longer than cap - 1. Returns the bytes kept.
 * The kept part is as valid as `src` was: nothing is checked here. */
size_t hb_utf8_copy(char *dst, size_t cap, const char *src);

/* Copies `src` into `dst` (`cap` bytes, cap >= 1) with every byte that
 * starts no valid character replaced by '?', keeping only whole characters
 * that fit. The result is always valid UTF-8. Returns the bytes kept. */
size_t hb_utf8_clean(char *dst, size_t cap, const char *src);

/* hb_utf8_clean in place: same length, bad bytes become '?'. */
void hb_utf8_sanitize(char *s);

/* A JSON string of the `len` bytes at `s` (a NULL `s` is ""), each byte that
 * starts no valid character shown as '?', so that text from a peer stays
 * readable rather than dropped. New reference; NULL only without memory. */
json_t *hb_utf8_json(const char *s, size_t len);

/* hb_utf8_json of a NUL-terminated text (NULL is ""). */
json_t *hb_utf8_json_str(const char *s);

#endif
