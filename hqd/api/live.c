/* hqd's live handlers: every hall's tile (filtered and paged), region
 * aggregates, one hall's tile, the change stream and the alerts
 * (docs/API.md; api/table.c routes to them). The board and the stream do
 * the work; this file reads parameters and keeps every list to the
 * caller's scope (hq_auth_view): a city's operator sees that city's halls,
 * regions, alerts and stream. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/querynum.h"
#include "hallbus/time.h"

#include <stdlib.h>
#include <string.h>

#define LIVE_LIMIT_DEFAULT 1000
#define LIVE_LIMIT_MAX 100000

/* Filters for the board and the alert store over the caller's view. */
static bool s_sees_hall(int32_t index, void *view) { return hq_view_hall_at(view, index); }

static bool s_sees_region(uint32_t index, void *view)
{
    return hq_view_region_at(view, (int32_t)index);
}

typedef struct num_pred {
    hqd_t *hq;
    const hq_view_t *view;
} num_pred_t;

static bool s_sees_num(uint32_t num, void *arg)
{
    num_pred_t *p = arg;
    hq_hall_t *h = hq_halls_by_num(p->hq->halls, num);
    if (!h)
        return false;
    return hq_view_hall_at(p->view,
                           hq_control_org_index(p->hq->control, h->id, &h->org_gen, &h->org_index));
}

void hqd_api_get_live_hall(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const char *id = hb_http_param(req, "hall");
    /* ?now= takes the figures at that instant (figures.h), so that they
     * compare with the hall's own GET /v1/hall?now= of the same one. */
    int64_t now = hb_now_ms();
    if (hb_http_query_time(req, "now", &now) != 0)
        return;
    json_t *t = hq_board_tile_json(hq->board, id, now);
    if (!t) {
        hb_http_reply_error(req, 404, "not_found", "no hall '%.64s' on the board", id);
        return;
    }
    hb_http_reply_json(req, 200, t);
}

/* Answers with the board's text (taken), or, without it, 404 when the
 * region asked for does not exist, else 503. */
static void s_reply_text(hb_http_req_t *req, hqd_t *hq, char *text, size_t len, const char *region)
{
    if (!text) {
        if (region && !org_region_find(hq_control_org(hq->control), region))
            hb_http_reply_error(req, 404, "not_found", "no region '%.64s'", region);
        else
            hb_http_reply_error(req, 503, "no_memory", "cannot build the answer now");
        return;
    }
    hb_http_reply_raw(req, 200, "application/json; charset=utf-8", text, len);
    free(text);
}

void hqd_api_get_live_halls(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char region[80], tag[40], worst[16], alerting[8];
    uint64_t offset = 0, limit = LIVE_LIMIT_DEFAULT;
    if (hb_http_query_opt(req, "region", region, sizeof region) != 0 ||
        hb_http_query_opt(req, "tag", tag, sizeof tag) != 0 ||
        hb_http_query_opt(req, "worst", worst, sizeof worst) != 0 ||
        hb_http_query_opt(req, "alerting", alerting, sizeof alerting) != 0 ||
        hb_http_query_number(req, "offset", 0, LIVE_LIMIT_MAX * 10, &offset) != 0 ||
        hb_http_query_number(req, "limit", 0, LIVE_LIMIT_MAX, &limit) != 0)
        return;
    if (worst[0] && hq_worst_parse(worst) < 0) {
        hb_http_reply_error(req, 400, "bad_parameter",
                            "worst must be one of ok, closed, warning, alert, offline");
        return;
    }
    const hq_view_t *v = hqd_api_view(req, HB_PERM_LIVE_READ);
    if (!v)
        return;
    const org_t *org = hq_control_org(hq->control);
    const org_region_t *within = region[0] ? org_region_find(org, region) : NULL;
    /* A region in the caller's scope, or above it (the list is then their
     * part of it); any other is refused, as its tiles would be. */
    if (within && !hq_view_above_at(v, (int32_t)within->index)) {
        hq_auth_forbid(req, HB_PERM_LIVE_READ, "region %s", region);
        return;
    }
    size_t len = 0;
    char *text = hq_board_halls_text(hq->board, v->all ? NULL : s_sees_hall, (void *)v,
                                     region[0] ? region : NULL, tag[0] ? tag : NULL,
                                     alerting[0] && strcmp(alerting, "0") != 0,
                                     worst[0] ? worst : NULL, offset, limit, &len);
    s_reply_text(req, hq, text, len, region[0] ? region : NULL);
}

/* Every region's aggregate, or the one the route's "region" parameter names
 * (GET /v1/regions/:region). */
static void s_reply_regions(hb_http_req_t *req, hqd_t *hq, const char *id)
{
    const hq_view_t *v = hqd_api_view(req, HB_PERM_LIVE_READ);
    if (!v)
        return;
    size_t len = 0;
    char *text =
        hq_board_regions_text(hq->board, v->all ? NULL : s_sees_region, (void *)v, id, &len);
    s_reply_text(req, hq, text, len, id);
}

void hqd_api_get_regions(hb_http_req_t *req, void *arg) { s_reply_regions(req, arg, NULL); }

void hqd_api_get_region(hb_http_req_t *req, void *arg)
{
    s_reply_regions(req, arg, hb_http_param(req, "region"));
}

void hqd_api_get_stream(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_sse_owner_t owner;
    if (!hq_auth_stream_owner(req, &owner)) {
        hb_http_reply_error(req, 503, "no_memory", "cannot open a stream now");
        return;
    }
    hq_sse_serve(hq->sse, req, &owner);
}

/* GET /v1/alerts[?state=open|history][&hall=][&kind=][&from=&to=][&before=][&limit=] */
void hqd_api_get_alerts(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char state[16], hall[40], kind[40];
    uint64_t limit = 100, before = 0;
    int64_t from = 0, to = 0;
    if (hb_http_query_opt(req, "state", state, sizeof state) != 0 ||
        hb_http_query_opt(req, "hall", hall, sizeof hall) != 0 ||
        hb_http_query_opt(req, "kind", kind, sizeof kind) != 0 ||
        hb_http_query_time(req, "from", &from) != 0 || hb_http_query_time(req, "to", &to) != 0 ||
        hb_http_query_number(req, "limit", 0, ALERTSTORE_PAGE_MAX, &limit) != 0 ||
        hb_http_query_number(req, "before", 0, SIZE_MAX, &before) != 0)
        return;
    bool history = strcmp(state, "history") == 0;
    if (state[0] && !history && strcmp(state, "open") != 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "state must be open or history");
        return;
    }
    if (limit == 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "limit must be from 1 to %d",
                            ALERTSTORE_PAGE_MAX);
        return;
    }
    const hq_view_t *v = hqd_api_view(req, HB_PERM_ALERTS_READ);
    if (!v)
        return;
    num_pred_t pred = {.hq = hq, .view = v};
    uint32_t num = 0;
    if (hall[0]) {
        hq_hall_t *h = hq_halls_find(hq->halls, hall);
        if (h && !s_sees_num(h->num, &pred)) {
            hq_auth_forbid(req, HB_PERM_ALERTS_READ, "hall %s", hall);
            return;
        }
        if (!h) {
            hb_http_reply_error(req, 404, "not_found", "no hall '%s' has connected to this HQ",
                                hall);
            return;
        }
        num = h->num;
    }
    int k = kind[0] ? alert_kind_parse(kind) : 0;
    if (kind[0] && k <= 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "kind '%s' is not an alert kind", kind);
        return;
    }
    json_t *out = NULL;
    char err[256];
    int rc;
    if (history) {
        alertstore_query_t q = {.hall_num = num,
                                .kind = k,
                                .from_ms = from,
                                .to_ms = to,
                                .before_id = before,
                                .limit = limit,
                                .hall_pred = v->all ? NULL : s_sees_num,
                                .pred_arg = &pred};
        rc = alertstore_history_json(hq_alerting_store(hq->alerting), &q, &out, err, sizeof err);
    } else {
        alertstore_filter_t f = {
            .hall_num = num, .kind = k, .hall_pred = v->all ? NULL : s_sees_num, .pred_arg = &pred};
        rc = alertstore_open_json(hq_alerting_store(hq->alerting), &f, limit, &out);
        snprintf(err, sizeof err, "%s", hb_strerror(rc));
    }
    if (rc != 0) {
        hb_http_reply_error(req, rc == HB_EINVAL ? 400 : 503,
                            rc == HB_EINVAL ? "bad_parameter" : "storage", "%s", err);
        return;
    }
    json_object_set_new(out, "stream_id", json_integer((json_int_t)hq_sse_last_id(hq->sse)));
    hb_http_reply_json(req, 200, out);
}
