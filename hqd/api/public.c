/* hqd's public routes, which need no login: GET /v1/public/hours, the
 * opening hours and closures of every hall (control/pubhours.c builds
 * them) as JSON or iCalendar, cacheable. The ETag is told from what the
 * answer depends on, before anything is built, so a client asking again
 * with If-None-Match costs a hash: the effective policies (their
 * generation), the organisation, this process's start (generations count
 * from it), the query, and the quarter hour (every zone's midnight falls
 * on one, and the days shown start at each hall's local date). */
#include "api.h"

#include "pubhours.h"

#include "hallbus/error.h"
#include "hallbus/querynum.h"
#include "hallbus/time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUBLIC_MAX_AGE_S 300
#define PUBLIC_SLOT_MS (15 * 60 * 1000)

typedef struct public_format {
    const char *name;
    const char *content_type;
} public_format_t;

static const public_format_t s_formats[] = {
    {"json", "application/json; charset=utf-8"},
    {"ics", "text/calendar; charset=utf-8"},
};

static const public_format_t *s_format(const char *name)
{
    for (size_t i = 0; i < sizeof s_formats / sizeof s_formats[0]; i++)
        if (strcmp(s_formats[i].name, name) == 0)
            return &s_formats[i];
    return NULL;
}

/* An optional query parameter into `out` ("" when absent); false after
 * answering 400 for a bad one. */
static bool s_param(hb_http_req_t *req, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    int rc = hb_http_query(req, name, out, outlen);
    if (rc == 0 || rc == HB_ENOTFOUND)
        return true;
    hb_http_reply_error(req, 400, "bad_request", "bad %s", name);
    return false;
}

void hqd_api_get_public_hours(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char format[16], hall[HB_HALL_ID_MAX + 1], region[ORG_REGION_ID_MAX + 1];
    if (!s_param(req, "format", format, sizeof format) ||
        !s_param(req, "hall", hall, sizeof hall) || !s_param(req, "region", region, sizeof region))
        return;
    const public_format_t *f = s_format(format[0] ? format : "json");
    if (!f) {
        hb_http_reply_error(req, 400, "bad_format", "format must be json or ics, not '%.20s'",
                            format);
        return;
    }
    uint64_t days = HQ_PUBHOURS_DAYS_DEFAULT;
    if (hb_http_query_u64(req, "days", 1, HQ_PUBHOURS_DAYS_MAX, &days) == HB_EINVAL) {
        hb_http_reply_error(req, 400, "bad_request", "days must be 1 to %d", HQ_PUBHOURS_DAYS_MAX);
        return;
    }
    int64_t now = hb_now_ms();
    hq_pubhours_query_t q = {.hall = hall[0] ? hall : NULL,
                             .region = region[0] ? region : NULL,
                             .now_ms = now,
                             .days = (int32_t)days};

    /* The ETag, from what the answer depends on. */
    char key[256];
    int klen = snprintf(key, sizeof key, "%s|%ld|%s|%s|%llu|%llu|%lld|%lld", f->name, (long)days,
                        hall, region, (unsigned long long)hq_control_policy_generation(hq->control),
                        (unsigned long long)hq_control_org_generation(hq->control),
                        (long long)hq->started_ms, (long long)(now / PUBLIC_SLOT_MS));
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)key, (size_t)klen, NULL, 0);
    char etag[64];
    snprintf(etag, sizeof etag, "\"v%llu-%02x%02x%02x%02x%02x%02x%02x%02x\"",
             (unsigned long long)hq_control_policy_version(hq->control), h[0], h[1], h[2], h[3],
             h[4], h[5], h[6], h[7]);
    if (hb_http_etag_match(req, etag)) {
        hb_http_reply_cacheable(req, f->content_type, NULL, 0, etag, PUBLIC_MAX_AGE_S);
        return;
    }

    char err[256] = "";
    char *body = NULL;
    size_t len = 0;
    int rc;
    if (f == &s_formats[1]) {
        rc = hq_pubhours_ics(hq->control, &q, &body, &len, err, sizeof err);
    } else {
        json_t *o = NULL;
        rc = hq_pubhours_json(hq->control, &q, &o, err, sizeof err);
        if (rc == 0) {
            body = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            rc = body ? 0 : HB_ENOMEM;
            len = body ? strlen(body) : 0;
        }
    }
    if (rc == HB_ENOTFOUND)
        hb_http_reply_error(req, 404, "not_found", "%s", err);
    else if (rc == HB_EINVAL)
        hb_http_reply_error(req, 400, "bad_request", "%s", err);
    else if (rc == HB_ETOOBIG)
        hb_http_reply_error(req, 503, "too_large", "%s", err);
    else if (rc != 0)
        hb_http_reply_error(req, 500, "internal", "%s", err[0] ? err : hb_strerror(rc));
    else
        hb_http_reply_cacheable(req, f->content_type, body, len, etag, PUBLIC_MAX_AGE_S);
    free(body);
}
