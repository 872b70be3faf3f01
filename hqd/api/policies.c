/* hqd's handlers for the organisation and the policies: the region tree
 * and its halls, policy drafts per scope, publishing them as versions, and
 * the effective policy of any hall with the level that sets each field
 * (docs/API.md has every route with an example; api/table.c routes here).
 *
 * Translation only: the rules live in control/control.c and org.c; the
 * request is read and refused through ctlreq.h. Routes of scope "any" keep
 * what they show and change to the caller's view (hq_auth_view). */
#include "ctlreq.h"

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

void hqd_api_get_org(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const org_t *org = hq_control_org(hq->control);
    const hq_view_t *v = hqd_api_view(req, HB_PERM_ORG_READ);
    if (!v)
        return;
    json_t *doc = org_to_json(org);
    if (doc && !v->all) {
        json_t *regions = json_object_get(doc, "regions"), *halls = json_object_get(doc, "halls");
        for (size_t i = json_array_size(regions); i-- > 0;) {
            const org_region_t *r = org_region_find(
                org, json_string_value(json_object_get(json_array_get(regions, i), "id")));
            if (!r || !hq_view_above_at(v, (int32_t)r->index))
                json_array_remove(regions, i);
        }
        for (size_t i = json_array_size(halls); i-- > 0;) {
            const org_hall_t *h = org_hall_find(
                org, json_string_value(json_object_get(json_array_get(halls, i), "id")));
            if (!h || !hq_view_hall_at(v, (int32_t)h->index))
                json_array_remove(halls, i);
        }
    }
    hb_http_reply_json(req, 200, doc);
}

typedef int (*org_change_fn)(hq_control_t *c, const json_t *doc, char *err, size_t errlen);

/* Changes the organisation with `fn` and `doc` (taken): the audit log
 * notes its generations before and after; false after answering the
 * refusal. For PUT /v1/org and of one region or hall. */
static bool s_org_change(hb_http_req_t *req, hqd_t *hq, org_change_fn fn, json_t *doc)
{
    char err[CTL_ERR_MAX] = "";
    uint64_t before = hq_control_org_generation(hq->control);
    int rc = fn(hq->control, doc, err, sizeof err);
    json_decref(doc);
    if (rc != 0) {
        ctl_refuse(req, rc, "bad_document", err, true);
        return false;
    }
    hq_auth_note_versions(req, (int64_t)before, (int64_t)hq_control_org_generation(hq->control));
    return true;
}

void hqd_api_put_org(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *doc;
    if (ctl_body(req, false, &doc) != 0 || !s_org_change(req, hq, hq_control_set_org, doc))
        return;
    const org_t *org = hq_control_org(hq->control);
    hb_http_reply_json(req, 200,
                       json_pack("{s:I, s:I}", "regions", (json_int_t)org_region_count(org),
                                 "halls", (json_int_t)org_hall_count(org)));
}

void hqd_api_get_org_region(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char id[CTL_ID_MAX + 1];
    if (ctl_path_id(req, "region", CTL_ID_MAX, "region", id, sizeof id) != 0)
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
    if (ctl_path_id(req, hall ? "hall" : "region", hall ? HB_HALL_ID_LEN : ORG_REGION_ID_MAX - 1,
                    hall ? "hall" : "region", id, sizeof id) != 0 ||
        ctl_body(req, false, &doc) != 0)
        return;
    if (ctl_match_id(req, doc, id) != 0) {
        json_decref(doc);
        return;
    }
    const org_t *org = hq_control_org(hq->control);
    bool existed = hall ? org_hall_find(org, id) != NULL : org_region_find(org, id) != NULL;
    if (!s_org_change(req, hq, hall ? hq_control_put_hall : hq_control_put_region, doc))
        return;
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
    if (ctl_path_id(req, "hall", HB_HALL_ID_LEN, "hall", id, sizeof id) != 0)
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
    hb_http_reply_json(req, 200,
                       json_pack("{s:o, s:o, s:{s:I, s:I, s:o}, s:{s:I, s:I}}", "hall",
                                 org_hall_to_json(org, h), "chain", ch, "policy", "version",
                                 (json_int_t)hq_control_policy_version(hq->control), "applied",
                                 (json_int_t)hq_downlink_applied(hq->downlink, id, false), "scopes",
                                 layers, "calendar", "version",
                                 (json_int_t)hq_control_calendar_version(hq->control), "applied",
                                 (json_int_t)hq_downlink_applied(hq->downlink, id, true)));
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
    const hq_view_t *v = hqd_api_view(req, HB_PERM_POLICY_READ);
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
        if (ctl_path_id(req, "region", ORG_REGION_ID_MAX - 1, "region", id, sizeof id) != 0)
            return -1;
        snprintf(scope, len, "region/%s", id);
    } else if (hb_http_param(req, "hall")) {
        if (ctl_path_id(req, "hall", HB_HALL_ID_LEN, "hall", id, sizeof id) != 0)
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
    json_t *out =
        json_pack("{s:s, s:O, s:O, s:O}", "scope", scope, "draft", d ? d : json_null(), "published",
                  p ? p : json_null(), "version", json_object_get(pol, "version"));
    json_decref(pol);
    hb_http_reply_json(req, 200, out);
}

void hqd_api_put_policy(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char scope[HQ_SCOPE_MAX], err[CTL_ERR_MAX] = "";
    json_t *doc;
    if (s_policy_scope(req, scope, sizeof scope) != 0 || ctl_body(req, false, &doc) != 0)
        return;
    int rc = hq_control_put_policy(hq->control, scope, doc, err, sizeof err);
    if (rc != 0) {
        json_decref(doc);
        ctl_refuse(req, rc, "bad_document", err, true);
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
        ctl_refuse(req, rc, "bad_request", err, true);
        return;
    }
    hb_http_reply_json(req, 200, json_pack("{s:s, s:b}", "scope", scope, "removed", 1));
}

void hqd_api_publish_policies(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *body;
    const char *by, *note;
    if (ctl_actor(req, true, &body, &by, &note) != 0)
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
    const hq_view_t *v = hqd_api_view(req, HB_PERM_POLICY_EDIT);
    json_t *changes = v ? hq_control_policy_changes(hq->control) : NULL;
    if (!v || !changes) {
        json_decref(body);
        if (v)
            hb_http_reply_error(req, 503, "no_memory", "cannot list the drafts now");
        return;
    }
    size_t i;
    json_t *sc;
    json_array_foreach (changes, i, sc) {
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
        ctl_refuse(req, rc, "bad_request", err, true);
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
    if (ctl_path_id(req, "hall", HB_HALL_ID_LEN, "hall", id, sizeof id) != 0 ||
        ctl_query_flag(req, "drafts", &drafts) != 0)
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
        ctl_refuse(req, rc, "bad_request", err, false);
        return;
    }
    json_t *pol = hq_control_policies_json(hq->control);
    json_t *layers =
        s_policy_layers(org, json_object_get(pol, drafts ? "drafts" : "published"), id);
    json_decref(pol);
    json_t *out = json_pack("{s:s, s:b, s:s, s:o, s:o}", "hall", id, "placed", placed, "from",
                            drafts ? "drafts" : "published", "scopes", layers, "policy", doc);
    if (out)
        json_object_set_new(out, "version",
                            drafts
                                ? json_null()
                                : json_integer((json_int_t)hq_control_policy_version(hq->control)));
    hb_http_reply_json(req, 200, out);
}

/* ---------------------------------------------------------- campaigns ---- */
