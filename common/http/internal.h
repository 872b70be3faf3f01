/* What http.c and router.c share and nobody else needs: percent-decoding of
 * paths and query values (defined in router.c, which decodes path
 * segments; both check the result with hallbus/utf8.h). Private to
 * common/http/. */
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

#endif
