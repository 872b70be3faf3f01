/* hqd's control-plane handlers: the organisation, policy drafts and their
 * published versions, campaigns and their lifecycle, the coordination
 * check, the calendar's export and per-hall slices, the glossary and the
 * rollout of versions to the halls (docs/API.md has every route with an
 * example; api/table.c routes to them, one row per campaign step).
 *
 * Translation only: the rules live in control.c, campaign.c, calcheck.c
 * and downlink.c. This file reads requests strictly (one JSON object, no
 * member twice, no member it does not know in the bodies it defines
 * itself) and turns every HB_E* code into one HTTP status and error code,
 * so a refusal reads the same on every route.
 *
 * Who acts is the signed-in caller (hq_auth_name), never a member of the
 * body or the query: a `by` in either is refused. Routes of scope "any"
 * keep what they show and change to the caller's view (hq_auth_view). */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/json.h"
#include "hallbus/text.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "hallbus/utf8.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLLOUT_LIST_DEFAULT 100
#define ROLLOUT_LIST_MAX 100000
#define CTL_ERR_MAX 1024
#define CTL_ID_MAX 64                 /* region and campaign ids; halls are shorter */
#define CTL_NOTE_MAX 500              /* a publishing note, as a campaign step's */
#define CTL_USER_MAX 64               /* who acts: [A-Za-z0-9_.@-]{1,64}, campaign.h's rule */
#define CTL_CSV_MAX ((size_t)64 << 20) /* an export is refused rather than grown past this */

/* ----------------------------------------------------------- replies ---- */

/* Answers a refusal of the control plane. `bad_code` names what an
 * HB_EINVAL refuses ("bad_document" for a document, "bad_request" for the
 * request around it); `changed_nothing` adds that to the reason of a write
 * refused, since operators ask it first. */
static void s_refuse(hb_http_req_t *req, int rc, const char *bad_code, const char *err,
                     bool changed_nothing)
{
    int status;
    const char *code;
    switch (rc) {
    case HB_EINVAL:
    case HB_ETOOBIG:
    case HB_ERANGE:
    case HB_EPARSE:
        status = 400;
        code = bad_code;
        break;
    case HB_ENOTFOUND:
        status = 404;
        code = "not_found";
        break;
    case HB_EEXIST:
        status = 409;
        code = "exists";
        break;
    case HB_ECONFLICT:
        status = 409;
        code = "wrong_state";
        break;
    case HB_EAUTH: /* four eyes */
        status = 403;
        code = "forbidden";
        hq_auth_note_reason(req, err);
        break;
    case HB_ENOMEM:
        status = 503;
        code = "no_memory";
        break;
    case HB_EDB:
    case HB_EIO:
    case HB_EMAPFULL:
    case HB_ESYS:
        status = 503;
        code = "storage";
        break;
    default:
        status = 500;
        code = "internal";
        break;
    }
    const char *why = err && err[0] ? err : hb_strerror(rc);
    if (changed_nothing && status < 500)
        hb_http_reply_error(req, status, code, "%s; nothing was changed", why);
    else
        hb_http_reply_error(req, status, code, "%s", why);
}

/* A refusal that carries more than a reason (the check's report). Takes
 * `extra`. */
static void s_refuse_with(hb_http_req_t *req, int status, const char *code, const char *reason,
                          const char *key, json_t *extra)
{
    /* A reason cut in the middle of a character still goes into a JSON
     * string. */
    char clean[CTL_ERR_MAX];
    hb_utf8_clean(clean, sizeof clean, reason);
    json_t *body = json_pack("{s:s, s:s}", "error", code, "reason", clean);
    if (body && extra)
        json_object_set_new(body, key, extra);
    else
        json_decref(extra);
    hb_http_reply_json(req, status, body);
}

/* ------------------------------------------------------------ inputs ---- */


static bool s_user_ok(const char *s) { return s && hb_id_chars_ok(s, CTL_USER_MAX, ".@"); }

static const char *s_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Reads the body as one JSON object, strictly (a member twice is refused,
 * as is anything but an object). Returns 0 with a new reference in `*out`,
 * NULL when the body is empty and `optional`; or -1 after answering 400. */
static int s_body(hb_http_req_t *req, bool optional, json_t **out)
{
    *out = NULL;
    size_t i = 0;
    while (i < req->body_len && (req->body[i] == ' ' || req->body[i] == '\t' ||
                                 req->body[i] == '\r' || req->body[i] == '\n'))
        i++;
    if (i == req->body_len) {
        if (optional)
            return 0;
        hb_http_reply_error(req, 400, "bad_request", "the body must be a JSON object; it is empty");
        return -1;
    }
    json_error_t jerr;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        hb_http_reply_error(req, 400, "bad_json",
                            "the body is not valid JSON: %s (line %d, column %d); nothing was "
                            "changed",
                            jerr.text, jerr.line, jerr.column);
        return -1;
    }
    if (!json_is_object(j)) {
        hb_http_reply_error(req, 400, "bad_request",
                            "the body must be a JSON object, not %s; nothing was changed",
                            s_type_name(j));
        json_decref(j);
        return -1;
    }
    *out = j;
    return 0;
}

/* Who acts: the signed-in caller, whose name the guard checked. A `by` in
 * the query is refused (it used to name the actor, and a caller who sends
 * one expects it to count). Returns NULL after answering. */
static const char *s_actor_name(hb_http_req_t *req)
{
    char buf[8];
    if (hb_http_query(req, "by", buf, sizeof buf) != HB_ENOTFOUND) {
        hb_http_reply_error(req, 400, "bad_parameter",
                            "by: who acts is the signed-in caller, never a query parameter; "
                            "remove ?by");
        return NULL;
    }
    const char *by = hq_auth_name(req);
    if (!s_user_ok(by)) {
        hb_http_reply_error(req, 500, "internal", "the caller has no name to act by");
        return NULL;
    }
    return by;
}

/* The body {"note": TEXT} of a step (or none, or {}); `note` stays NULL
 * when absent or not allowed. `*by` is the caller. The strings point into
 * `*body` (may be NULL), which the caller releases. Returns -1 after
 * answering. */
static int s_actor(hb_http_req_t *req, bool allow_note, json_t **body, const char **by,
                   const char **note)
{
    *note = NULL;
    *by = s_actor_name(req);
    if (!*by || s_body(req, true, body) != 0)
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach(*body, key, v)
    {
        if (allow_note && strcmp(key, "note") == 0 && json_is_string(v)) {
            *note = json_string_value(v);
        } else if (strcmp(key, "by") == 0) {
            hb_http_reply_error(req, 400, "bad_request",
                                "by: who acts is the signed-in caller; the body may not name "
                                "them (remove \"by\")");
            goto fail;
        } else if (allow_note && strcmp(key, "note") == 0) {
            hb_http_reply_error(req, 400, "bad_request", "%s must be a string, not %s", key,
                                s_type_name(v));
            goto fail;
        } else {
            hb_http_reply_error(req, 400, "bad_request", "unknown member '%.64s': the body is %s",
                                key, allow_note ? "{\"note\": TEXT} or empty" : "empty or {}");
            goto fail;
        }
    }
    return 0;
fail:
    json_decref(*body);
    *body = NULL;
    return -1;
}

/* A whole document (a campaign) may not carry who acts either. */
static int s_no_by_member(hb_http_req_t *req, const json_t *doc)
{
    if (!json_object_get(doc, "by"))
        return 0;
    hb_http_reply_error(req, 400, "bad_document",
                        "by: who acts is the signed-in caller; the document may not name them "
                        "(remove \"by\"); nothing was changed");
    return -1;
}

/* ?NAME, ?NAME=1|true|0|false: `*out` keeps its default when absent. */
static int s_query_flag(hb_http_req_t *req, const char *name, bool *out)
{
    char buf[8];
    int rc = hb_http_query(req, name, buf, sizeof buf);
    if (rc == HB_ENOTFOUND)
        return 0;
    if (rc == 0 && (buf[0] == '\0' || strcmp(buf, "1") == 0 || strcmp(buf, "true") == 0)) {
        *out = true;
        return 0;
    }
    if (rc == 0 && (strcmp(buf, "0") == 0 || strcmp(buf, "false") == 0)) {
        *out = false;
        return 0;
    }
    hb_http_reply_error(req, 400, "bad_parameter", "%s must be 1, true, 0 or false", name);
    return -1;
}

/* The id the route's parameter `name` holds (of the id characters, at most
 * `max` bytes) into `out`. Returns -1 after answering 400. */
static int s_path_id(hb_http_req_t *req, const char *name, size_t max, const char *what, char *out,
                     size_t outlen)
{
    const char *p = hb_http_param(req, name);
    assert(p); /* the table's pattern names it */
    size_t n = strlen(p);
    if (n > max || n >= outlen || !hb_id_chars_ok(p, max, NULL)) {
        hb_http_reply_error(req, 400, "bad_request", "'%.64s' is not a %s id (1 to %zu of A-Z a-z "
                            "0-9 _ -)", p, what, max);
        return -1;
    }
    memcpy(out, p, n + 1);
    return 0;
}

/* A body's "id" must be the path's, or is filled in from it. */
static int s_match_id(hb_http_req_t *req, json_t *body, const char *id)
{
    json_t *v = json_object_get(body, "id");
    if (!v)
        return json_object_set_new(body, "id", json_string(id)) == 0 ? 0 : -1;
    if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
        return 0;
    if (json_is_string(v))
        hb_http_reply_error(req, 400, "bad_request",
                            "the body's id \"%.64s\" is not the path's \"%s\"; nothing was changed",
                            json_string_value(v), id);
    else
        hb_http_reply_error(req, 400, "bad_request",
                            "id: must be a string (the path's \"%s\"), not %s; nothing was changed",
                            id, s_type_name(v));
    return -1;
}

static json_t *s_date_json(int32_t day)
{
    char d[11];
    hb_date_format(day, d);
    return json_string(d);
}

/* ------------------------------------------------------ organisation ---- */

/* The caller's view for `perm`; NULL after answering 503. */
static const hq_view_t *s_view(hb_http_req_t *req, hb_perm_t perm)
{
    const hq_view_t *v = hq_auth_view(req, perm);
    if (!v)
        hb_http_reply_error(req, 503, "no_memory", "cannot work out your scope now");
    return v;
}

/* GET /v1/org: the organisation as far as the caller sees it: the regions
 * in their scope and the path down to them, and the halls in it. */
void hqd_api_get_org(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const org_t *org = hq_control_org(hq->control);
    const hq_view_t *v = s_view(req, HB_PERM_ORG_READ);
    if (!v)
        return;
    json_t *doc = org_to_json(org);
    if (doc && !v->all) {
        json_t *regions = json_object_get(doc, "regions"), *halls = json_object_get(doc, "halls");
        for (size_t i = json_array_size(regions); i-- > 0;) {
            const org_region_t *r =
                org_region_find(org, json_string_value(json_object_get(json_array_get(regions, i), "id")));
            if (!r || !hq_view_above_at(v, (int32_t)r->index))
                json_array_remove(regions, i);
        }
        for (size_t i = json_array_size(halls); i-- > 0;) {
            const org_hall_t *h =
                org_hall_find(org, json_string_value(json_object_get(json_array_get(halls, i), "id")));
            if (!h || !hq_view_hall_at(v, (int32_t)h->index))
                json_array_remove(halls, i);
        }
    }
    hb_http_reply_json(req, 200, doc);
}

void hqd_api_put_org(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *doc;
    if (s_body(req, false, &doc) != 0)
        return;
    char err[CTL_ERR_MAX] = "";
    uint64_t before = hq_control_org_generation(hq->control);
    int rc = hq_control_set_org(hq->control, doc, err, sizeof err);
    json_decref(doc);
    if (rc == 0)
        hq_auth_note_versions(req, (int64_t)before,
                              (int64_t)hq_control_org_generation(hq->control));
    if (rc != 0) {
        s_refuse(req, rc, "bad_document", err, true);
        return;
    }
    const org_t *org = hq_control_org(hq->control);
    hb_http_reply_json(req, 200, json_pack("{s:I, s:I}", "regions", (json_int_t)org_region_count(org),
                                           "halls", (json_int_t)org_hall_count(org)));
}

void hqd_api_get_org_region(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char id[CTL_ID_MAX + 1];
    if (s_path_id(req, "region", CTL_ID_MAX, "region", id, sizeof id) != 0)
        return;
    const org_t *org = hq_control_org(hq->control);
    const org_region_t *r = org_region_find(org, id);
    if (!r) {
        hb_http_reply_error(req, 404, "not_found", "no region '%s' in the organisation", id);
        return;
    }
    hb_http_reply_json(req, 200, org_region_to_json(org, r));
}

/* PUT /v1/org/regions/{id} and /v1/org/halls/{id}: one item, its id from
 * the path; 201 when it is new. */
static void s_put_item(hb_http_req_t *req, hqd_t *hq, bool hall)
{
    char id[CTL_ID_MAX + 1];
    json_t *doc;
    if (s_path_id(req, hall ? "hall" : "region", hall ? HB_HALL_ID_LEN : ORG_REGION_ID_MAX - 1,
                  hall ? "hall" : "region", id, sizeof id) != 0 ||
        s_body(req, false, &doc) != 0)
        return;
    if (s_match_id(req, doc, id) != 0) {
        json_decref(doc);
        return;
    }
    const org_t *org = hq_control_org(hq->control);
    bool existed = hall ? org_hall_find(org, id) != NULL : org_region_find(org, id) != NULL;
    char err[CTL_ERR_MAX] = "";
    uint64_t before = hq_control_org_generation(hq->control);
    int rc = hall ? hq_control_put_hall(hq->control, doc, err, sizeof err)
                  : hq_control_put_region(hq->control, doc, err, sizeof err);
    if (rc == 0)
        hq_auth_note_versions(req, (int64_t)before,
                              (int64_t)hq_control_org_generation(hq->control));
    json_decref(doc);
    if (rc != 0) {
        s_refuse(req, rc, "bad_document", err, true);
        return;
    }
    org = hq_control_org(hq->control);
    json_t *out = hall ? org_hall_to_json(org, org_hall_find(org, id))
                       : org_region_to_json(org, org_region_find(org, id));
    hb_http_reply_json(req, existed ? 200 : 201, out);
}

void hqd_api_put_org_region(hb_http_req_t *req, void *arg) { s_put_item(req, arg, false); }
void hqd_api_put_org_hall(hb_http_req_t *req, void *arg) { s_put_item(req, arg, true); }

/* The scope documents that make up `hall`'s effective policy in `set`,
 * widest first. */
static json_t *s_policy_layers(const org_t *org, const json_t *set, const char *hall)
{
    const org_region_t *chain[3];
    char names[4][HQ_SCOPE_MAX];
    int n = 0;
    snprintf(names[n++], HQ_SCOPE_MAX, "national");
    if (org_hall_chain(org, hall, chain) == 0) {
        snprintf(names[n++], HQ_SCOPE_MAX, "region/%s", chain[1]->id);
        snprintf(names[n++], HQ_SCOPE_MAX, "region/%s", chain[0]->id);
    }
    snprintf(names[n++], HQ_SCOPE_MAX, "hall/%s", hall);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        if (json_object_get(set, names[i]))
            json_array_append_new(arr, json_string(names[i]));
    return arr;
}

/* GET /v1/org/halls/{id}: where the hall sits, its chain of regions, and
 * which policy and calendar versions it should run and does run. */
void hqd_api_get_org_hall(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char id[HB_HALL_ID_MAX];
    if (s_path_id(req, "hall", HB_HALL_ID_LEN, "hall", id, sizeof id) != 0)
        return;
    const org_t *org = hq_control_org(hq->control);
    const org_hall_t *h = org_hall_find(org, id);
    const org_region_t *chain[3];
    if (!h || org_hall_chain(org, id, chain) != 0) {
        hb_http_reply_error(req, 404, "not_found", "no hall '%s' in the organisation", id);
        return;
    }
    json_t *ch = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(ch, json_pack("{s:s, s:s, s:s}", "id", chain[i]->id, "name",
                                            chain[i]->name ? chain[i]->name : "", "level",
                                            org_level_name(chain[i]->level)));
    json_t *pol = hq_control_policies_json(hq->control);
    json_t *layers = s_policy_layers(org, json_object_get(pol, "published"), id);
    json_decref(pol);
    hb_http_reply_json(
        req, 200,
        json_pack("{s:o, s:o, s:{s:I, s:I, s:o}, s:{s:I, s:I}}", "hall", org_hall_to_json(org, h),
                  "chain", ch, "policy", "version",
                  (json_int_t)hq_control_policy_version(hq->control), "applied",
                  (json_int_t)hq_downlink_applied(hq->downlink, id, false), "scopes", layers,
                  "calendar", "version", (json_int_t)hq_control_calendar_version(hq->control),
                  "applied", (json_int_t)hq_downlink_applied(hq->downlink, id, true)));
}

/* ----------------------------------------------------------- policies ---- */

/* Keeps the documents of `set` ({scope: doc}) that the caller may read. */
static void s_policies_keep(json_t *set, const hq_view_t *v, const org_t *org)
{
    const char *scope;
    json_t *doc;
    void *tmp;
    json_object_foreach_safe(set, tmp, scope, doc)
    {
        if (!hq_view_policy_scope(v, org, scope, true))
            json_object_del(set, scope);
    }
}

void hqd_api_get_policies(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const hq_view_t *v = s_view(req, HB_PERM_POLICY_READ);
    if (!v)
        return;
    json_t *o = hq_control_policies_json(hq->control);
    if (o && !v->all) {
        const org_t *org = hq_control_org(hq->control);
        s_policies_keep(json_object_get(o, "drafts"), v, org);
        s_policies_keep(json_object_get(o, "published"), v, org);
    }
    if (o && hq_control_policy_version(hq->control) == 0)
        json_object_set_new(o, "published_by", json_null()); /* as published_at: not yet */
    hb_http_reply_json(req, 200, o);
}

/* The scope the route's parameters name, into `scope`: "region/ID" for
 * /v1/policies/regions/:region, "hall/ID" for /v1/policies/halls/:hall,
 * "national" for /v1/policies/national, which has none. Returns -1 after
 * answering. */
static int s_policy_scope(hb_http_req_t *req, char *scope, size_t len)
{
    char id[CTL_ID_MAX + 1];
    if (hb_http_param(req, "region")) {
        if (s_path_id(req, "region", ORG_REGION_ID_MAX - 1, "region", id, sizeof id) != 0)
            return -1;
        snprintf(scope, len, "region/%s", id);
    } else if (hb_http_param(req, "hall")) {
        if (s_path_id(req, "hall", HB_HALL_ID_LEN, "hall", id, sizeof id) != 0)
            return -1;
        snprintf(scope, len, "hall/%s", id);
    } else {
        snprintf(scope, len, "national");
    }
    return 0;
}

/* Whether the organisation has the scope's region or hall. */
static bool s_scope_exists(const org_t *org, const char *scope)
{
    if (strncmp(scope, "region/", 7) == 0)
        return org_region_find(org, scope + 7) != NULL;
    if (strncmp(scope, "hall/", 5) == 0)
        return org_hall_find(org, scope + 5) != NULL;
    return true;
}

void hqd_api_get_policy(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char scope[HQ_SCOPE_MAX];
    if (s_policy_scope(req, scope, sizeof scope) != 0)
        return;
    if (!s_scope_exists(hq_control_org(hq->control), scope)) {
        hb_http_reply_error(req, 404, "not_found", "no %s '%s' in the organisation",
                            scope[0] == 'r' ? "region" : "hall", strchr(scope, '/') + 1);
        return;
    }
    json_t *pol = hq_control_policies_json(hq->control);
    json_t *d = json_object_get(json_object_get(pol, "drafts"), scope);
    json_t *p = json_object_get(json_object_get(pol, "published"), scope);
    json_t *out = json_pack("{s:s, s:O, s:O, s:O}", "scope", scope, "draft", d ? d : json_null(),
                            "published", p ? p : json_null(), "version",
                            json_object_get(pol, "version"));
    json_decref(pol);
    hb_http_reply_json(req, 200, out);
}

void hqd_api_put_policy(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char scope[HQ_SCOPE_MAX], err[CTL_ERR_MAX] = "";
    json_t *doc;
    if (s_policy_scope(req, scope, sizeof scope) != 0 || s_body(req, false, &doc) != 0)
        return;
    int rc = hq_control_put_policy(hq->control, scope, doc, err, sizeof err);
    if (rc != 0) {
        json_decref(doc);
        s_refuse(req, rc, "bad_document", err, true);
        return;
    }
    hb_http_reply_json(req, 200, json_pack("{s:s, s:o}", "scope", scope, "draft", doc));
}

void hqd_api_delete_policy(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char scope[HQ_SCOPE_MAX], err[CTL_ERR_MAX] = "";
    if (s_policy_scope(req, scope, sizeof scope) != 0)
        return;
    json_t *pol = hq_control_policies_json(hq->control);
    bool have = json_object_get(json_object_get(pol, "drafts"), scope) != NULL;
    json_decref(pol);
    int rc = have ? hq_control_put_policy(hq->control, scope, NULL, err, sizeof err) : HB_ENOTFOUND;
    if (!have && s_scope_exists(hq_control_org(hq->control), scope))
        snprintf(err, sizeof err, "%s has no draft policy", scope);
    else if (!have)
        snprintf(err, sizeof err, "no %s '%s' in the organisation",
                 scope[0] == 'r' ? "region" : "hall", strchr(scope, '/') + 1);
    if (rc != 0) {
        s_refuse(req, rc, "bad_request", err, true);
        return;
    }
    hb_http_reply_json(req, 200, json_pack("{s:s, s:b}", "scope", scope, "removed", 1));
}

void hqd_api_publish_policies(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *body;
    const char *by, *note;
    if (s_actor(req, true, &body, &by, &note) != 0)
        return;
    /* The note says why (the dashboard asks for one); it is kept in the
     * audit record of the publish, as its reason. */
    if (note && strlen(note) > CTL_NOTE_MAX) {
        hb_http_reply_error(req, 400, "bad_request", "note: %zu bytes, at most %d", strlen(note),
                            CTL_NOTE_MAX);
        json_decref(body);
        return;
    }
    /* Publishing is scoped by what it would publish: every changed draft
     * must be one the caller may edit (a province's editor cannot publish
     * a national draft someone left). */
    const hq_view_t *v = s_view(req, HB_PERM_POLICY_EDIT);
    json_t *changes = v ? hq_control_policy_changes(hq->control) : NULL;
    if (!v || !changes) {
        json_decref(body);
        if (v)
            hb_http_reply_error(req, 503, "no_memory", "cannot list the drafts now");
        return;
    }
    size_t i;
    json_t *sc;
    json_array_foreach(changes, i, sc)
    {
        const char *scope = json_string_value(sc);
        if (!hq_view_policy_scope(v, hq_control_org(hq->control), scope, false)) {
            hq_auth_forbid(req, HB_PERM_POLICY_EDIT,
                           "publishing now would publish the draft of %s, which", scope);
            json_decref(changes);
            json_decref(body);
            return;
        }
    }
    json_decref(changes);
    char err[CTL_ERR_MAX] = "";
    uint64_t version = 0;
    uint64_t before = hq_control_policy_version(hq->control);
    int rc = hq_control_publish_policies(hq->control, by, &version, err, sizeof err);
    if (rc == 0) {
        hq_auth_note_versions(req, (int64_t)before, (int64_t)version);
        if (note && note[0])
            hq_auth_note_reason(req, note);
    }
    json_decref(body);
    if (rc == HB_EINVAL)
        rc = HB_ECONFLICT; /* the request is fine; the drafts do not merge into a policy */
    if (rc != 0) {
        s_refuse(req, rc, "bad_request", err, true);
        return;
    }
    json_t *pol = hq_control_policies_json(hq->control);
    hb_http_reply_json(req, 200,
                       json_pack("{s:I, s:O, s:O}", "version", (json_int_t)version, "published_at",
                                 json_object_get(pol, "published_at"), "published_by",
                                 json_object_get(pol, "published_by")));
    json_decref(pol);
}

/* GET /v1/policies/effective/{hall}[?drafts=1]: the complete policy the
 * hall runs at the published version, or would run with the drafts. A
 * hall that connected without a place in the organisation gets the
 * national one; an id neither placed nor ever seen is not found. */
void hqd_api_get_effective(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char id[HB_HALL_ID_MAX];
    bool drafts = false;
    if (s_path_id(req, "hall", HB_HALL_ID_LEN, "hall", id, sizeof id) != 0 ||
        s_query_flag(req, "drafts", &drafts) != 0)
        return;
    const org_t *org = hq_control_org(hq->control);
    bool placed = org_hall_find(org, id) != NULL;
    if (!placed && !hq_halls_find(hq->halls, id)) {
        hb_http_reply_error(req, 404, "not_found",
                            "no hall '%s' in the organisation, and none has connected", id);
        return;
    }
    json_t *doc = NULL;
    char err[CTL_ERR_MAX] = "";
    int rc = hq_control_effective_policy(hq->control, id, drafts, &doc, err, sizeof err);
    if (rc == HB_EINVAL)
        rc = HB_ECONFLICT; /* the documents stored do not merge: not the request's fault */
    if (rc != 0) {
        s_refuse(req, rc, "bad_request", err, false);
        return;
    }
    json_t *pol = hq_control_policies_json(hq->control);
    json_t *layers = s_policy_layers(org, json_object_get(pol, drafts ? "drafts" : "published"), id);
    json_decref(pol);
    json_t *out = json_pack("{s:s, s:b, s:s, s:o, s:o}", "hall", id, "placed", placed, "from",
                            drafts ? "drafts" : "published", "scopes", layers, "policy", doc);
    if (out)
        json_object_set_new(out, "version",
                            drafts ? json_null()
                                   : json_integer((json_int_t)hq_control_policy_version(hq->control)));
    hb_http_reply_json(req, 200, out);
}

/* ---------------------------------------------------------- campaigns ---- */

/* How many halls a campaign reaches now, or null when its scope no longer
 * resolves (the check's rule 0 says why). `bits` has room for the org. */
static json_t *s_reach(const org_t *org, const campaign_t *k, uint64_t *bits, size_t words)
{
    size_t n = 0;
    char err[256];
    if (!bits || campaign_resolve(k, org, bits, words, &n, err, sizeof err) != 0)
        return json_null();
    return json_integer((json_int_t)n);
}

static uint64_t *s_bits_new(const org_t *org, size_t *words)
{
    *words = org_bitset_words(org);
    return calloc(*words ? *words : 1, sizeof(uint64_t));
}

static int s_by_id(const void *a, const void *b)
{
    const campaign_t *const *x = a, *const *y = b;
    return strcmp((*x)->doc.id, (*y)->doc.id);
}

/* The campaigns sorted by id (a new array the caller frees), or NULL. */
static const campaign_t **s_sorted(const campaign_calendar_t *cal, size_t *n)
{
    *n = campaign_calendar_count(cal);
    const campaign_t **v = calloc(*n ? *n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < *n; i++)
        v[i] = campaign_calendar_at(cal, i);
    qsort(v, *n, sizeof *v, s_by_id);
    return v;
}

/* GET /v1/campaigns[?state=S][&region=R]: one line per campaign, sorted by
 * id; region keeps the campaigns owned by R or by a region under it. */
void hqd_api_list_campaigns(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const org_t *org = hq_control_org(hq->control);
    char buf[CTL_ID_MAX + 2];
    bool by_state = false;
    campaign_state_t state = CAMPAIGN_DRAFT;
    const org_region_t *within = NULL;
    int rc = hb_http_query(req, "state", buf, sizeof buf);
    if (rc == 0 && campaign_state_parse(buf, &state) == 0)
        by_state = true;
    else if (rc != HB_ENOTFOUND) {
        hb_http_reply_error(req, 400, "bad_parameter",
                            "state must be draft, submitted, approved, published or withdrawn");
        return;
    }
    rc = hb_http_query(req, "region", buf, sizeof buf);
    if (rc == 0)
        within = org_region_find(org, buf);
    if ((rc == 0 && !within) || (rc != 0 && rc != HB_ENOTFOUND)) {
        hb_http_reply_error(req, 400, "bad_parameter", "region must name a region of the "
                                                       "organisation");
        return;
    }
    const hq_view_t *view = s_view(req, HB_PERM_CAMPAIGN_READ);
    if (!view)
        return;
    if (within && !hq_view_above_at(view, (int32_t)within->index)) {
        hq_auth_forbid(req, HB_PERM_CAMPAIGN_READ, "region %s", buf);
        return;
    }
    size_t n, words;
    const campaign_t **v = s_sorted(hq_control_calendar(hq->control), &n);
    if (!v) {
        hb_http_reply_error(req, 503, "no_memory", "cannot list the campaigns now");
        return;
    }
    uint64_t *bits = s_bits_new(org, &words);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const campaign_t *k = v[i];
        if (by_state && k->state != state)
            continue;
        const org_region_t *owner = within ? org_region_find(org, k->region) : NULL;
        if (within && (!owner || !org_region_contains(org, within, owner)))
            continue;
        if (!hq_view_region(view, org, k->region))
            continue; /* owned outside the caller's scope */
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:I, s:o}", "id", k->doc.id,
                           "title", k->doc.title, "level", hb_cal_level_name(k->doc.level),
                           "region", k->region, "parent",
                           k->parent[0] ? json_string(k->parent) : json_null(), "state",
                           campaign_state_name(k->state), "start", s_date_json(k->doc.start), "end",
                           s_date_json(k->doc.end), "revision", (json_int_t)k->revision, "halls",
                           s_reach(org, k, bits, words)));
    }
    free(bits);
    free(v);
    hb_http_reply_json(req, 200,
                       json_pack("{s:I, s:I, s:o}", "calendar_version",
                                 (json_int_t)hq_control_calendar_version(hq->control), "total",
                                 (json_int_t)json_array_size(arr), "campaigns", arr));
}

/* A campaign's stored form (document, state, revision, history) and how
 * many halls it reaches. */
static json_t *s_campaign_json(hqd_t *hq, const char *id)
{
    const org_t *org = hq_control_org(hq->control);
    const campaign_t *k = campaign_calendar_find(hq_control_calendar(hq->control), id);
    json_t *o = k ? campaign_to_json(k) : NULL;
    if (o) {
        size_t words;
        uint64_t *bits = s_bits_new(org, &words);
        json_object_set_new(o, "halls", s_reach(org, k, bits, words));
        json_object_set_new(o, "published_at", hb_json_time(k->published_ms));
        free(bits);
    }
    return o;
}

/* Whether the caller may draft a campaign owned by the document's region;
 * -1 after answering 403. A document without a usable region passes, for
 * the control plane to refuse with its own words. */
static int s_draft_scope(hb_http_req_t *req, hqd_t *hq, const json_t *doc)
{
    const char *region = json_string_value(json_object_get(doc, "region"));
    const org_t *org = hq_control_org(hq->control);
    const hq_view_t *v = s_view(req, HB_PERM_CAMPAIGN_DRAFT);
    if (!v)
        return -1;
    if (!region || !org_region_find(org, region) || hq_view_region(v, org, region))
        return 0;
    hq_auth_forbid(req, HB_PERM_CAMPAIGN_DRAFT, "a campaign owned by region %.64s", region);
    return -1;
}

void hqd_api_create_campaign(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char err[CTL_ERR_MAX] = "";
    json_t *doc;
    const char *by = s_actor_name(req);
    if (!by || s_body(req, false, &doc) != 0)
        return;
    if (s_no_by_member(req, doc) != 0 || s_draft_scope(req, hq, doc) != 0) {
        json_decref(doc);
        return;
    }
    int rc = hq_control_campaign_add(hq->control, doc, by, err, sizeof err);
    const char *id = json_string_value(json_object_get(doc, "id"));
    hq_auth_note_object(req, id);
    if (rc == 0)
        hq_auth_note_versions(req, 0, 1);
    json_t *out = rc == 0 ? s_campaign_json(hq, id ? id : "") : NULL;
    json_decref(doc);
    if (rc != 0) {
        s_refuse(req, rc, "bad_document", err, true);
        return;
    }
    hb_http_reply_json(req, 201, out);
}

static const char *const s_steps =
    "submit, return, approve, publish or withdraw";

/* The campaign id the route's "campaign" parameter holds; -1 after
 * answering 400. */
static int s_campaign_id(hb_http_req_t *req, char id[HB_CAL_ID_MAX])
{
    return s_path_id(req, "campaign", HB_CAL_ID_MAX - 1, "campaign", id, HB_CAL_ID_MAX);
}

/* POST /v1/campaigns/{id}/{step} {"by", "note"?}. Approve and publish run
 * the coordination check and answer its report either way; blocked, the
 * answer is 409 check_failed with the report. */
static void s_step_campaign(hb_http_req_t *req, hqd_t *hq, campaign_action_t action)
{
    char id[HB_CAL_ID_MAX];
    if (s_campaign_id(req, id) != 0)
        return;
    json_t *body;
    const char *by, *note;
    if (s_actor(req, true, &body, &by, &note) != 0)
        return;
    json_t *report = NULL;
    char err[CTL_ERR_MAX] = "";
    const campaign_t *k = campaign_calendar_find(hq_control_calendar(hq->control), id);
    int64_t before = k ? (int64_t)k->revision : -1;
    int rc = hq_control_campaign_step(hq->control, id, action, by, note, &report, err, sizeof err);
    json_decref(body);
    k = campaign_calendar_find(hq_control_calendar(hq->control), id);
    if (rc == 0 && k)
        hq_auth_note_versions(req, before, (int64_t)k->revision);
    if (rc == HB_ECONFLICT && report) {
        /* The check ran, so the state allowed the step: the findings refused it. */
        s_refuse_with(req, 409, "check_failed", err, "report", report);
        return;
    }
    if (rc != 0) {
        json_decref(report);
        s_refuse(req, rc, "bad_request", err, true);
        return;
    }
    json_t *out = json_pack("{s:o, s:I}", "campaign", s_campaign_json(hq, id), "calendar_version",
                            (json_int_t)hq_control_calendar_version(hq->control));
    if (out && report)
        json_object_set_new(out, "report", report);
    else
        json_decref(report);
    hb_http_reply_json(req, 200, out);
}

void hqd_api_campaign_submit(hb_http_req_t *req, void *arg)
{
    s_step_campaign(req, arg, CAMPAIGN_SUBMIT);
}

void hqd_api_campaign_return(hb_http_req_t *req, void *arg)
{
    s_step_campaign(req, arg, CAMPAIGN_RETURN);
}

void hqd_api_campaign_approve(hb_http_req_t *req, void *arg)
{
    s_step_campaign(req, arg, CAMPAIGN_APPROVE);
}

void hqd_api_campaign_publish(hb_http_req_t *req, void *arg)
{
    s_step_campaign(req, arg, CAMPAIGN_PUBLISH);
}

void hqd_api_campaign_withdraw(hb_http_req_t *req, void *arg)
{
    s_step_campaign(req, arg, CAMPAIGN_WITHDRAW);
}

/* A step the table has no row for. */
void hqd_api_campaign_unknown(hb_http_req_t *req, void *arg)
{
    char id[HB_CAL_ID_MAX];
    if (s_campaign_id(req, id) != 0)
        return;
    hb_http_reply_error(req, 404, "not_found",
                        "no route for POST %s: the step after the campaign id is %s", req->path,
                        s_steps);
}

void hqd_api_get_campaign(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char id[HB_CAL_ID_MAX];
    if (s_campaign_id(req, id) != 0)
        return;
    json_t *o = s_campaign_json(hq, id);
    if (o)
        hb_http_reply_json(req, 200, o);
    else
        hb_http_reply_error(req, 404, "not_found", "no campaign '%s'", id);
}

/* DELETE /v1/campaigns/{id}: a draft. */
void hqd_api_delete_campaign(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char id[HB_CAL_ID_MAX], err[CTL_ERR_MAX] = "";
    if (s_campaign_id(req, id) != 0)
        return;
    int rc = hq_control_campaign_remove(hq->control, id, err, sizeof err);
    if (rc != 0)
        s_refuse(req, rc, "bad_request", err, true);
    else
        hb_http_reply_json(req, 200, json_pack("{s:s, s:b}", "id", id, "removed", 1));
}

/* PUT /v1/campaigns/{id}?by=USER: edits a draft. */
void hqd_api_put_campaign(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char id[HB_CAL_ID_MAX], err[CTL_ERR_MAX] = "";
    if (s_campaign_id(req, id) != 0)
        return;
    json_t *doc;
    const char *by = s_actor_name(req);
    if (!by || s_body(req, false, &doc) != 0)
        return;
    /* The guard checked the campaign's owner; the new document may not move
     * it out of the caller's scope either. */
    if (s_no_by_member(req, doc) != 0 || s_match_id(req, doc, id) != 0 ||
        s_draft_scope(req, hq, doc) != 0) {
        json_decref(doc);
        return;
    }
    const campaign_t *k = campaign_calendar_find(hq_control_calendar(hq->control), id);
    int64_t before = k ? (int64_t)k->revision : -1;
    int rc = hq_control_campaign_edit(hq->control, doc, by, err, sizeof err);
    json_decref(doc);
    k = campaign_calendar_find(hq_control_calendar(hq->control), id);
    if (rc == 0 && k)
        hq_auth_note_versions(req, before, (int64_t)k->revision);
    if (rc != 0)
        s_refuse(req, rc, "bad_document", err, true);
    else
        hb_http_reply_json(req, 200, s_campaign_json(hq, id));
}

/* ----------------------------------------------------------- calendar ---- */

/* POST /v1/calendar/check: the findings over the calendar as it is, or
 * with the body (a campaign document) checked as if submitted. */
void hqd_api_calendar_check(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *cand, *report = NULL;
    if (s_body(req, true, &cand) != 0)
        return;
    /* A candidate is checked for whoever may read campaigns of its owner. */
    const char *region = json_string_value(json_object_get(cand, "region"));
    const hq_view_t *v = s_view(req, HB_PERM_CAMPAIGN_READ);
    if (!v || (region && org_region_find(hq_control_org(hq->control), region) &&
               !hq_view_region(v, hq_control_org(hq->control), region))) {
        if (v)
            hq_auth_forbid(req, HB_PERM_CAMPAIGN_READ, "a campaign owned by region %.64s",
                           region);
        json_decref(cand);
        return;
    }
    char err[CTL_ERR_MAX] = "";
    int rc = hq_control_check(hq->control, cand, &report, err, sizeof err);
    json_decref(cand);
    if (rc != 0)
        s_refuse(req, rc, "bad_document", err, false);
    else
        hb_http_reply_json(req, 200, report);
}

/* One field, quoted as RFC 4180 asks when it holds a comma, a quote or a
 * line break; `last` ends the line (CRLF, as the RFC has it). A field that
 * a spreadsheet would take for a formula (=, +, -, @ first) gets a leading
 * apostrophe: campaign texts come from many authors, and an export is
 * opened by analysts. */
static void s_csv_field(hb_text_t *c, const char *s, bool last)
{
    bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    if (formula || strpbrk(s, ",\"\r\n")) {
        hb_text_put(c, "\"", 1);
        if (formula)
            hb_text_put(c, "'", 1);
        for (const char *q = s; *q; q++) {
            if (*q == '"')
                hb_text_put(c, "\"\"", 2);
            else
                hb_text_put(c, q, 1);
        }
        hb_text_put(c, "\"", 1);
    } else {
        hb_text_put(c, s, strlen(s));
    }
    hb_text_put(c, last ? "\r\n" : ",", last ? 2 : 1);
}

/* A list of ids as one field, separated by ';'. */
static void s_csv_list(hb_text_t *c, const char (*ids)[HB_CAL_ITEM_ID_MAX], size_t n)
{
    char buf[HB_CAL_ITEMS_MAX * HB_CAL_ITEM_ID_MAX];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? ";" : "", ids[i]);
    s_csv_field(c, buf, false);
}

static void s_export_csv(hb_http_req_t *req, hqd_t *hq, const campaign_t **v, size_t n)
{
    const org_t *org = hq_control_org(hq->control);
    size_t words;
    uint64_t *bits = s_bits_new(org, &words);
    hb_text_t c = HB_TEXT_INIT(CTL_CSV_MAX);
    static const char *const head[] = {"id", "title", "level", "region", "parent", "state",
                                       "start", "end", "products", "business_types", "segment",
                                       "channels", "halls", "revision", "published_at"};
    size_t nh = sizeof head / sizeof head[0];
    for (size_t i = 0; i < nh; i++)
        s_csv_field(&c, head[i], i + 1 == nh);
    for (size_t i = 0; i < n; i++) {
        const campaign_t *k = v[i];
        char d1[11], d2[11], num[32], rev[32], at[HB_RFC3339_MAX] = "", ch[64] = "";
        hb_date_format(k->doc.start, d1);
        hb_date_format(k->doc.end, d2);
        s_csv_field(&c, k->doc.id, false);
        s_csv_field(&c, k->doc.title, false);
        s_csv_field(&c, hb_cal_level_name(k->doc.level), false);
        s_csv_field(&c, k->region, false);
        s_csv_field(&c, k->parent, false);
        s_csv_field(&c, campaign_state_name(k->state), false);
        s_csv_field(&c, d1, false);
        s_csv_field(&c, d2, false);
        s_csv_list(&c, k->doc.products, k->doc.n_products);
        s_csv_list(&c, k->doc.business_types, k->doc.n_business_types);
        s_csv_field(&c, k->doc.segment, false);
        for (int j = 0; j < HB_CAL_CHANNELS; j++)
            if (k->doc.channels & (1u << j))
                snprintf(ch + strlen(ch), sizeof ch - strlen(ch), "%s%s", ch[0] ? ";" : "",
                         hb_cal_channel_name((hb_cal_channel_t)j));
        s_csv_field(&c, ch, false);
        json_t *reach = s_reach(org, k, bits, words);
        if (json_is_integer(reach))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(reach));
        else
            num[0] = '\0';
        json_decref(reach);
        s_csv_field(&c, num, false);
        snprintf(rev, sizeof rev, "%llu", (unsigned long long)k->revision);
        s_csv_field(&c, rev, false);
        if (k->published_ms > 0)
            hb_time_format(k->published_ms, at);
        s_csv_field(&c, at, true);
    }
    free(bits);
    if (c.full) {
        hb_text_free(&c);
        hb_http_reply_error(req, 503, "too_large", "the export would exceed %zu bytes",
                            CTL_CSV_MAX);
        return;
    }
    hb_http_reply_raw(req, 200, "text/csv; charset=utf-8", c.p ? c.p : "", c.len);
    hb_text_free(&c);
}

/* GET /v1/calendar/export[?format=json|csv]: every campaign in the
 * author's form plus its state, sorted by id. */
void hqd_api_calendar_export(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char fmt[8] = "json";
    int rc = hb_http_query(req, "format", fmt, sizeof fmt);
    if ((rc != 0 && rc != HB_ENOTFOUND) || (strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0)) {
        hb_http_reply_error(req, 400, "bad_parameter", "format must be json or csv");
        return;
    }
    const hq_view_t *view = s_view(req, HB_PERM_CAMPAIGN_READ);
    if (!view)
        return;
    size_t n;
    const campaign_t **v = s_sorted(hq_control_calendar(hq->control), &n);
    if (!v) {
        hb_http_reply_error(req, 503, "no_memory", "cannot build the export now");
        return;
    }
    /* Only the campaigns owned in the caller's scope. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (hq_view_region(view, hq_control_org(hq->control), v[i]->region))
            v[kept++] = v[i];
    n = kept;
    if (strcmp(fmt, "csv") == 0) {
        s_export_csv(req, hq, v, n);
        free(v);
        return;
    }
    const org_t *org = hq_control_org(hq->control);
    size_t words;
    uint64_t *bits = s_bits_new(org, &words);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = campaign_document_to_json(v[i]);
        if (!o)
            continue;
        json_object_set_new(o, "state", json_string(campaign_state_name(v[i]->state)));
        json_object_set_new(o, "revision", json_integer((json_int_t)v[i]->revision));
        json_object_set_new(o, "halls", s_reach(org, v[i], bits, words));
        json_object_set_new(o, "published_at", hb_json_time(v[i]->published_ms));
        json_array_append_new(arr, o);
    }
    free(bits);
    free(v);
    hb_http_reply_json(req, 200,
                       json_pack("{s:I, s:o, s:o}", "calendar_version",
                                 (json_int_t)hq_control_calendar_version(hq->control),
                                 "exported_at", hb_json_time(hb_now_ms()), "campaigns", arr));
}

/* GET /v1/calendar/slice/{hall}: the document the hall receives, byte for
 * byte. */
void hqd_api_calendar_slice(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char id[HB_HALL_ID_MAX], err[CTL_ERR_MAX] = "";
    if (s_path_id(req, "hall", HB_HALL_ID_LEN, "hall", id, sizeof id) != 0)
        return;
    const char *data;
    size_t len;
    int rc = hq_control_slice_bytes(hq->control, id, &data, &len, err, sizeof err);
    if (rc != 0)
        s_refuse(req, rc, "bad_request", err, false);
    else
        hb_http_reply_raw(req, 200, "application/json", data, len);
}

/* ----------------------------------------------------------- glossary ---- */

void hqd_api_get_glossary(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hb_http_reply_json(req, 200, calcheck_glossary_to_json(hq_control_glossary(hq->control)));
}

void hqd_api_put_glossary(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *doc;
    if (s_body(req, false, &doc) != 0)
        return;
    char err[CTL_ERR_MAX] = "";
    int rc = hq_control_set_glossary(hq->control, doc, err, sizeof err);
    json_decref(doc);
    if (rc != 0)
        s_refuse(req, rc, "bad_document", err, true);
    else
        hb_http_reply_json(req, 200, calcheck_glossary_to_json(hq_control_glossary(hq->control)));
}

/* ------------------------------------------------------------ rollout ---- */

static bool s_sees_hall(int32_t index, void *view) { return hq_view_hall_at(view, index); }

/* GET /v1/rollout[?halls=N]: per version kind, how many halls run the
 * newest version, are waiting for it online, or are offline; with
 * ?halls=N, up to N hall ids in each group. */
void hqd_api_get_rollout(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char buf[16];
    size_t max = 0;
    int rc = hb_http_query(req, "halls", buf, sizeof buf);
    if (rc == 0) {
        char *end;
        unsigned long v = strtoul(buf, &end, 10);
        if (buf[0] < '0' || buf[0] > '9' || *end || v > ROLLOUT_LIST_MAX) {
            hb_http_reply_error(req, 400, "bad_parameter", "halls must be a number from 0 to %d",
                                ROLLOUT_LIST_MAX);
            return;
        }
        max = buf[0] ? v : ROLLOUT_LIST_DEFAULT;
    } else if (rc != HB_ENOTFOUND) {
        hb_http_reply_error(req, 400, "bad_parameter", "halls must be a number from 0 to %d",
                            ROLLOUT_LIST_MAX);
        return;
    }
    const hq_view_t *v = s_view(req, HB_PERM_POLICY_READ);
    if (!v)
        return;
    hb_http_reply_json(req, 200,
                       hq_downlink_rollout_json(hq->downlink, max > 0, max,
                                                v->all ? NULL : s_sees_hall, (void *)v));
}
