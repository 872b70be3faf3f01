/* What http.c and router.c share and nobody else needs: percent-decoding
 * and the strict UTF-8 check of paths, query values and reasons (defined in
 * router.c, which decodes path segments), and the request durations by
 * route (reqstats.c). Private to common/http/. */
#ifndef HALLBUS_HTTP_INTERNAL_H
#define HALLBUS_HTTP_INTERNAL_H

#include "hallbus/metrics.h"
#include "hallbus/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Request durations (reqstats.c): one histogram per route and status class
 * (2xx to 5xx), so their number is fixed by the route tables and never by
 * what clients send. Slots: the router's routes by index, then the prefix
 * routes by index, then one for requests no route took (400, 404, 405,
 * 414 before any route). A slot learns its route at its first request.
 * Fixed memory: 193 slots of 4 histograms, about 170 KB per server. */
#define HTTP_REQSTATS_PREFIX_MAX 64 /* prefix routes (http.c's HTTP_ROUTES_MAX) */
#define HTTP_REQSTATS_SLOTS (HB_ROUTER_ROUTES_MAX + HTTP_REQSTATS_PREFIX_MAX + 1)
#define HTTP_REQSTATS_UNMATCHED (HTTP_REQSTATS_SLOTS - 1)
#define HTTP_REQSTATS_CLASSES 4 /* 2xx, 3xx, 4xx, 5xx */

typedef struct http_reqslot {
    const hb_route_t *route; /* NULL until the first request (and for UNMATCHED) */
    hb_histogram_t by_class[HTTP_REQSTATS_CLASSES];
} http_reqslot_t;

typedef struct http_reqstats {
    http_reqslot_t slots[HTTP_REQSTATS_SLOTS];
} http_reqstats_t;

void hb_http__reqstats_init(http_reqstats_t *rs);
/* Records a request that started at `t0_ns` (hb_mono_ns) and was answered
 * with `status`, in `slot` (the route `route` took it; NULL for
 * UNMATCHED). Routes live as long as the server, so the pointer is kept. */
void hb_http__reqstats_record(http_reqstats_t *rs, size_t slot, const hb_route_t *route,
                              int status, int64_t t0_ns);
/* Writes histogram `name` with labels method, route (the pattern or prefix,
 * never the path asked) and code ("2xx" ...), for the series that have
 * requests. */
void hb_http__reqstats_metrics(const http_reqstats_t *rs, const char *name, hb_metrics_t *m);

#endif
