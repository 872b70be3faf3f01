/* hqd's handlers for campaigns and what follows from them: the list by
 * state and scope, drafts and their lifecycle (submit, return, approve
 * under four eyes, publish, withdraw), the coordination check, the
 * calendar's CSV export and per-hall slices, the glossary, and the rollout
 * of versions to the halls (docs/API.md has every route with an example;
 * api/table.c routes here, one row per campaign step).
 *
 * Translation only: the rules live in control/campaign.c, calcheck.c and
 * link/downlink.c; the request is read and refused through ctlreq.h. */
#include "csv.h"
#include "ctlreq.h"

#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/json.h"
#include "hallbus/querynum.h"
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
        hb_http_reply_error(req, 400, "bad_parameter",
                            "region must name a region of the "
                            "organisation");
        return;
    }
    const hq_view_t *view = hqd_api_view(req, HB_PERM_CAMPAIGN_READ);
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
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:I, s:o}", "id", k->doc.id,
                      "title", k->doc.title, "level", hb_cal_level_name(k->doc.level), "region",
                      k->region, "parent", k->parent[0] ? json_string(k->parent) : json_null(),
                      "state", campaign_state_name(k->state), "start", hb_json_date(k->doc.start),
                      "end", hb_json_date(k->doc.end), "revision", (json_int_t)k->revision, "halls",
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
    const hq_view_t *v = hqd_api_view(req, HB_PERM_CAMPAIGN_DRAFT);
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
    const char *by = ctl_actor_name(req);
    if (!by || ctl_body(req, false, &doc) != 0)
        return;
    if (ctl_no_by_member(req, doc) != 0 || s_draft_scope(req, hq, doc) != 0) {
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
        ctl_refuse(req, rc, "bad_document", err, true);
        return;
    }
    hb_http_reply_json(req, 201, out);
}

static const char *const s_steps = "submit, return, approve, publish or withdraw";

/* The campaign id the route's "campaign" parameter holds; -1 after
 * answering 400. */
static int s_campaign_id(hb_http_req_t *req, char id[HB_CAL_ID_MAX])
{
    return ctl_path_id(req, "campaign", HB_CAL_ID_MAX - 1, "campaign", id, HB_CAL_ID_MAX);
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
    if (ctl_actor(req, true, &body, &by, &note) != 0)
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
        ctl_refuse_with(req, 409, "check_failed", err, "report", report);
        return;
    }
    if (rc != 0) {
        json_decref(report);
        ctl_refuse(req, rc, "bad_request", err, true);
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
        ctl_refuse(req, rc, "bad_request", err, true);
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
    const char *by = ctl_actor_name(req);
    if (!by || ctl_body(req, false, &doc) != 0)
        return;
    /* The guard checked the campaign's owner; the new document may not move
     * it out of the caller's scope either. */
    if (ctl_no_by_member(req, doc) != 0 || ctl_match_id(req, doc, id) != 0 ||
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
        ctl_refuse(req, rc, "bad_document", err, true);
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
    if (ctl_body(req, true, &cand) != 0)
        return;
    /* A candidate is checked for whoever may read campaigns of its owner. */
    const char *region = json_string_value(json_object_get(cand, "region"));
    const hq_view_t *v = hqd_api_view(req, HB_PERM_CAMPAIGN_READ);
    if (!v || (region && org_region_find(hq_control_org(hq->control), region) &&
               !hq_view_region(v, hq_control_org(hq->control), region))) {
        if (v)
            hq_auth_forbid(req, HB_PERM_CAMPAIGN_READ, "a campaign owned by region %.64s", region);
        json_decref(cand);
        return;
    }
    char err[CTL_ERR_MAX] = "";
    int rc = hq_control_check(hq->control, cand, &report, err, sizeof err);
    json_decref(cand);
    if (rc != 0)
        ctl_refuse(req, rc, "bad_document", err, false);
    else
        hb_http_reply_json(req, 200, report);
}

/* A list of ids as one field, separated by ';'. */
static void s_csv_list(hq_csv_t *c, const char (*ids)[HB_CAL_ITEM_ID_MAX], size_t n)
{
    char buf[HB_CAL_ITEMS_MAX * HB_CAL_ITEM_ID_MAX];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? ";" : "", ids[i]);
    hq_csv_field(c, buf, false);
}

static void s_export_csv(hb_http_req_t *req, hqd_t *hq, const campaign_t **v, size_t n)
{
    const org_t *org = hq_control_org(hq->control);
    size_t words;
    uint64_t *bits = s_bits_new(org, &words);
    hq_csv_t c = HB_TEXT_INIT(CTL_CSV_MAX);
    static const char *const head[] = {"id",      "title",    "level", "region",   "parent",
                                       "state",   "start",    "end",   "products", "business_types",
                                       "segment", "channels", "halls", "revision", "published_at"};
    size_t nh = sizeof head / sizeof head[0];
    for (size_t i = 0; i < nh; i++)
        hq_csv_field(&c, head[i], i + 1 == nh);
    for (size_t i = 0; i < n; i++) {
        const campaign_t *k = v[i];
        char d1[11], d2[11], num[32], rev[32], at[HB_RFC3339_MAX] = "", ch[64] = "";
        hb_date_format(k->doc.start, d1);
        hb_date_format(k->doc.end, d2);
        hq_csv_field(&c, k->doc.id, false);
        hq_csv_field(&c, k->doc.title, false);
        hq_csv_field(&c, hb_cal_level_name(k->doc.level), false);
        hq_csv_field(&c, k->region, false);
        hq_csv_field(&c, k->parent, false);
        hq_csv_field(&c, campaign_state_name(k->state), false);
        hq_csv_field(&c, d1, false);
        hq_csv_field(&c, d2, false);
        s_csv_list(&c, k->doc.products, k->doc.n_products);
        s_csv_list(&c, k->doc.business_types, k->doc.n_business_types);
        hq_csv_field(&c, k->doc.segment, false);
        for (int j = 0; j < HB_CAL_CHANNELS; j++)
            if (k->doc.channels & (1u << j))
                snprintf(ch + strlen(ch), sizeof ch - strlen(ch), "%s%s", ch[0] ? ";" : "",
                         hb_cal_channel_name((hb_cal_channel_t)j));
        hq_csv_field(&c, ch, false);
        json_t *reach = s_reach(org, k, bits, words);
        if (json_is_integer(reach))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(reach));
        else
            num[0] = '\0';
        json_decref(reach);
        hq_csv_field(&c, num, false);
        snprintf(rev, sizeof rev, "%llu", (unsigned long long)k->revision);
        hq_csv_field(&c, rev, false);
        if (k->published_ms > 0)
            hb_time_format(k->published_ms, at);
        hq_csv_field(&c, at, true);
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
    const hq_view_t *view = hqd_api_view(req, HB_PERM_CAMPAIGN_READ);
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
    if (ctl_path_id(req, "hall", HB_HALL_ID_LEN, "hall", id, sizeof id) != 0)
        return;
    const char *data;
    size_t len;
    int rc = hq_control_slice_bytes(hq->control, id, &data, &len, err, sizeof err);
    if (rc != 0)
        ctl_refuse(req, rc, "bad_request", err, false);
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
    if (ctl_body(req, false, &doc) != 0)
        return;
    char err[CTL_ERR_MAX] = "";
    int rc = hq_control_set_glossary(hq->control, doc, err, sizeof err);
    json_decref(doc);
    if (rc != 0)
        ctl_refuse(req, rc, "bad_document", err, true);
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
    /* "?halls" with no number asks for the default list: the value fits
     * a one-byte buffer only when it is empty. */
    char given[1];
    uint64_t max = hb_http_query(req, "halls", given, sizeof given) == 0 ? ROLLOUT_LIST_DEFAULT : 0;
    if (hb_http_query_u64(req, "halls", 0, ROLLOUT_LIST_MAX, &max) == HB_EINVAL) {
        hb_http_reply_error(req, 400, "bad_parameter", "halls must be a number from 0 to %d",
                            ROLLOUT_LIST_MAX);
        return;
    }
    const hq_view_t *v = hqd_api_view(req, HB_PERM_POLICY_READ);
    if (!v)
        return;
    hb_http_reply_json(req, 200,
                       hq_downlink_rollout_json(hq->downlink, max > 0, max,
                                                v->all ? NULL : s_sees_hall, (void *)v));
}
