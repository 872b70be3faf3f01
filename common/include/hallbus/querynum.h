/* Whole numbers from a request's query string (?limit=, ?offset=, ?weeks=
 * ...), read one way and range-checked, for the API handlers (hqd's use
 * it): "+5", " 5", "5x" and an overflow are refused alike everywhere.
 * Text and time parameters are http.h's (hb_http_query_opt,
 * hb_http_query_time). */
#ifndef HALLBUS_QUERYNUM_H
#define HALLBUS_QUERYNUM_H

#include "hallbus/http.h"

#include <stdint.h>

/* Reads the optional query parameter `name` as a whole decimal number
 * (digits only: no sign, space or fraction) from `lo` to `hi`. Returns 0
 * with `*out` set; HB_ENOTFOUND when it is absent or empty ("?limit" and
 * "?limit=" read as not given), `*out` unchanged; HB_EINVAL for anything
 * else (not a number, out of range, too long, a bad encoding), `*out`
 * unchanged and nothing answered: the caller words its own 400. */
int hb_http_query_u64(const hb_http_req_t *req, const char *name, uint64_t lo, uint64_t hi,
                      uint64_t *out);

/* hb_http_query_u64 that answers a bad value itself, 400 bad_parameter
 * "NAME must be a whole number from LO to HI". Returns 0 (given, `*out`
 * set, or absent, `*out` unchanged) or HB_EINVAL after answering. */
int hb_http_query_number(hb_http_req_t *req, const char *name, uint64_t lo, uint64_t hi,
                         uint64_t *out);

#endif
