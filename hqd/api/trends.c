/* GET /v1/trends?scope=network|region:<id>|hall:<id>[&weeks=]: today per
 * 15 minutes (waiting, served) against the same weekday's typical, for the
 * dashboard's network, region and hall views (docs/API.md). This file
 * reads the scope, keeps it to the caller's view (as the live board does:
 * a region above the caller's scope answers for their part of it) and
 * lists the halls by number; mirror/trend.h keeps and sums the figures. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/querynum.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <string.h>

#define TRENDS_SCOPE_MAX (8 + ORG_REGION_ID_MAX + HB_HALL_ID_MAX)

typedef HB_VEC(uint32_t) nums_t;

/* Hall `id`'s number, 0 when it never connected. */
static uint32_t s_num(hqd_t *hq, const char *id)
{
    hq_hall_t *h = hq_halls_find(hq->halls, id);
    return h ? h->num : 0;
}

static int s_push(nums_t *nums, uint32_t num)
{
    uint32_t *p = hb_vec_push(nums);
    if (!p)
        return HB_ENOMEM;
    *p = num;
    return 0;
}

/* The organisation's halls under `within` (NULL: all) that the caller
 * sees; the halls no region places too for the whole network, when the
 * caller sees all of it. `*filtered` when the view left some out. */
static int s_org_halls(hqd_t *hq, const hq_view_t *v, const org_region_t *within, nums_t *nums,
                       bool *filtered)
{
    const org_t *org = hq_control_org(hq->control);
    for (size_t i = 0; i < org_hall_count(org); i++) {
        const org_hall_t *oh = org_hall_at(org, (uint32_t)i);
        if (within && !org_region_contains(org, within, org_region_at(org, oh->city)))
            continue;
        if (!hq_view_hall_at(v, (int32_t)oh->index)) {
            *filtered = true;
            continue;
        }
        if (s_push(nums, s_num(hq, oh->id)) != 0)
            return HB_ENOMEM;
    }
    if (within)
        return 0;
    for (size_t i = 0; i < hq_halls_count(hq->halls); i++) {
        hq_hall_t *h = hq_halls_sorted(hq->halls, i);
        if (!h || org_hall_find(org, h->id))
            continue;
        if (!v->all) {
            *filtered = true;
            continue;
        }
        if (s_push(nums, h->num) != 0)
            return HB_ENOMEM;
    }
    return 0;
}

/* The halls of the scope the request names, or an answer (400, 403, 404)
 * and false. */
static bool s_scope(hb_http_req_t *req, hqd_t *hq, const hq_view_t *v, const char *scope,
                    nums_t *nums, bool *filtered)
{
    static const char usage[] = "scope must be network, region:<id> or hall:<id>";
    const org_t *org = hq_control_org(hq->control);
    int rc = 0;
    if (strcmp(scope, "network") == 0) {
        rc = s_org_halls(hq, v, NULL, nums, filtered);
    } else if (strncmp(scope, "region:", 7) == 0 && scope[7]) {
        const org_region_t *r = org_region_find(org, scope + 7);
        if (!r) {
            hb_http_reply_error(req, 404, "not_found", "no region '%.64s'", scope + 7);
            return false;
        }
        /* A region in the caller's scope, or above it (their part of it). */
        if (!hq_view_above_at(v, (int32_t)r->index) && !hq_view_region_at(v, (int32_t)r->index)) {
            hq_auth_forbid(req, HB_PERM_LIVE_READ, "region %s", r->id);
            return false;
        }
        rc = s_org_halls(hq, v, r, nums, filtered);
    } else if (strncmp(scope, "hall:", 5) == 0 && scope[5]) {
        const char *id = scope + 5;
        const org_hall_t *oh = org_hall_find(org, id);
        uint32_t num = strlen(id) < HB_HALL_ID_MAX ? s_num(hq, id) : 0;
        if (!oh && !num) {
            hb_http_reply_error(req, 404, "not_found", "no hall '%.64s'", id);
            return false;
        }
        if (!hq_view_hall_at(v, oh ? (int32_t)oh->index : -1)) {
            hq_auth_forbid(req, HB_PERM_LIVE_READ, "hall %s", id);
            return false;
        }
        rc = s_push(nums, num);
    } else {
        hb_http_reply_error(req, 400, "bad_parameter", "%s, not '%.64s'", usage, scope);
        return false;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 503, "no_memory", "cannot list the halls of %.64s now", scope);
        return false;
    }
    return true;
}

void hqd_api_get_trends(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char scope[TRENDS_SCOPE_MAX];
    int rc = hb_http_query(req, "scope", scope, sizeof scope);
    if (rc == HB_ENOTFOUND) {
        hb_http_reply_error(req, 400, "bad_parameter",
                            "scope is missing: network, region:<id> or hall:<id>");
        return;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "scope is not a valid value");
        return;
    }
    uint64_t weeks = HQ_TREND_WEEKS_DEFAULT;
    if (hb_http_query_number(req, "weeks", 1, HQ_TREND_WEEKS_MAX, &weeks) != 0)
        return;
    const hq_view_t *v = hqd_api_view(req, HB_PERM_LIVE_READ);
    if (!v)
        return;
    nums_t nums = HB_VEC_INIT(HQ_HALLS_MAX + ORG_HALLS_MAX);
    bool filtered = false;
    if (!s_scope(req, hq, v, scope, &nums, &filtered)) {
        hb_vec_free(&nums);
        return;
    }
    hq_trend_query_t q = {.nums = nums.v,
                          .n = nums.n,
                          .weeks = (int)weeks,
                          .now_ms = hb_now_ms(),
                          .rollups = hq->rollup ? hq_rollup_store(hq->rollup) : NULL};
    json_t *o = hq_trend_json(hq->trend, &q);
    hb_vec_free(&nums);
    if (!o) {
        hb_http_reply_error(req, 503, "no_memory", "cannot build the answer now");
        return;
    }
    json_object_set_new(o, "scope", json_string(scope));
    json_object_set_new(o, "filtered", json_boolean(filtered));
    json_object_set_new(o, "rollups", json_boolean(q.rollups != NULL));
    hb_http_reply_json(req, 200, o);
}
