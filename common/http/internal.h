/* What http.c and router.c share and nobody else needs: percent-decoding
 * and the strict UTF-8 check of paths, query values and reasons (defined in
 * router.c, which decodes path segments). Private to common/http/. */
#ifndef HALLBUS_HTTP_INTERNAL_H
#define HALLBUS_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Percent-decodes src[0..len) into out (NUL-terminated), '+' as a space when
 * `plus_is_space` (query strings). A decoded NUL is an error: every decoded
 * string is handed on as a C string. 0, HB_EPARSE (a bad or NUL escape),
 * HB_ETOOBIG (`out` too small). `outlen` (may be NULL) gets the length. */
int hb_http__decode(const char *src, size_t len, bool plus_is_space, char *out, size_t outcap,
                    size_t *outlen);
/* Length of the valid UTF-8 sequence at `s` (strict: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0 when the byte there starts none. */
size_t hb_http__utf8_seq(const unsigned char *s);
/* Whether the NUL-terminated `s` is valid UTF-8. */
bool hb_http__utf8_valid(const char *s);

#endif
