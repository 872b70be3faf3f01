/* Whole numbers from a request's query string, read and range-checked one
 * way (querynum.h); hqd's API handlers read their ?limit=, ?offset=,
 * ?from= style parameters with it. Finding and decoding the parameter is
 * request.c's hb_http_query. */
#include "hallbus/querynum.h"
#include "hallbus/error.h"

#include <errno.h>
#include <stdlib.h>

/* Room for any uint64_t with some leading zeros; a longer value is refused
 * (it would not fit, or is padding nobody sends). */
#define QUERYNUM_TEXT_MAX 32

int hb_http_query_u64(const hb_http_req_t *req, const char *name, uint64_t lo, uint64_t hi,
                      uint64_t *out)
{
    char buf[QUERYNUM_TEXT_MAX];
    int rc = hb_http_query(req, name, buf, sizeof buf);
    if (rc == HB_ENOTFOUND || (rc == 0 && buf[0] == '\0'))
        return HB_ENOTFOUND;
    /* strtoull alone would take a sign and leading spaces. */
    if (rc != 0 || buf[0] < '0' || buf[0] > '9')
        return HB_EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (*end != '\0' || errno != 0 || v < lo || v > hi)
        return HB_EINVAL;
    *out = v;
    return 0;
}

int hb_http_query_number(hb_http_req_t *req, const char *name, uint64_t lo, uint64_t hi,
                         uint64_t *out)
{
    int rc = hb_http_query_u64(req, name, lo, hi, out);
    if (rc == HB_EINVAL) {
        hb_http_reply_error(req, 400, "bad_parameter",
                            "%s must be a whole number from %llu to %llu", name,
                            (unsigned long long)lo, (unsigned long long)hi);
        return HB_EINVAL;
    }
    return 0;
}
