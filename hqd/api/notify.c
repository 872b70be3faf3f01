/* hqd's HTTP API of alerts that reach people (hqd/notify/): subscriptions,
 * acknowledgements, silences, the record of deliveries and a hall's
 * notices. Each handler reads the request, asks the notifier, and answers;
 * what is allowed and what a subscription means are notify.c's. Who acted
 * ("by") is the caller (hq_auth_name), never the body; the routes of
 * scope "any" keep what they show and change to the caller's view: an
 * alert of a hall in it, a silence or subscription whose scope lies in it
 * (or, to read a silence, above it), deliveries of its halls. */
#include "api.h"

#include "auth.h"

#include "hallbus/error.h"
#include "hallbus/querynum.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The request's JSON object body (NULL when empty and `optional`); false
 * after answering 400. */
static bool s_body(hb_http_req_t *req, bool optional, json_t **out)
{
    *out = NULL;
    size_t i = 0;
    while (i < req->body_len && strchr(" \t\r\n", req->body[i]))
        i++;
    if (i == req->body_len) {
        if (optional)
            return true;
        hb_http_reply_error(req, 400, "bad_request", "the body must be a JSON object; it is empty");
        return false;
    }
    json_error_t jerr;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        hb_http_reply_error(req, 400, "bad_json", "the body must be a JSON object%s%s",
                            j ? "" : ": ", j ? "" : jerr.text);
        return false;
    }
    /* Who acts is the caller, as everywhere at HQ (api/ctlreq.c). */
    if (json_object_get(j, "by")) {
        json_decref(j);
        hb_http_reply_error(req, 400, "bad_request",
                            "by: who acts is the signed-in caller; the body may not name them "
                            "(remove \"by\")");
        return false;
    }
    *out = j;
    return true;
}

/* A refusal from the notifier as an answer. */
static void s_refuse(hb_http_req_t *req, int rc, const char *err)
{
    static const struct {
        int rc, status;
        const char *code;
    } map[] = {
        {HB_EINVAL, 400, "bad_request"}, {HB_ENOTFOUND, 404, "not_found"},
        {HB_EEXIST, 409, "exists"},      {HB_ECONFLICT, 409, "conflict"},
        {HB_ETOOBIG, 409, "too_many"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].rc == rc) {
            hb_http_reply_error(req, map[i].status, map[i].code, "%s",
                                err && err[0] ? err : hb_strerror(rc));
            return;
        }
    hb_http_reply_error(req, 500, "internal", "%s", err && err[0] ? err : hb_strerror(rc));
}

/* The outcome of a request: `out` with `status`, or the refusal of `rc`
 * saying `err`. */
static void s_answer(hb_http_req_t *req, int rc, const char *err, int status, json_t *out)
{
    if (rc != 0)
        s_refuse(req, rc, err);
    else
        hb_http_reply_json(req, status, out);
}

/* s_answer (200) about subscription `id`, whose refusal names it. */
static void s_answer_sub(hb_http_req_t *req, int rc, const char *id, json_t *out)
{
    char err[128];
    snprintf(err, sizeof err, "no subscription %.64s", id);
    s_answer(req, rc, err, 200, out);
}

/* A positive decimal id from the path; false after answering 400. */
static bool s_id(hb_http_req_t *req, const char *name, uint64_t *out)
{
    const char *s = hb_http_param(req, name);
    char *end;
    unsigned long long v = s && s[0] >= '1' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    if (!v || *end) {
        hb_http_reply_error(req, 400, "bad_parameter", "%s must be a positive number", name);
        return false;
    }
    *out = v;
    return true;
}

static const char *s_by(hb_http_req_t *req)
{
    const char *by = hq_auth_name(req);
    return by && by[0] ? by : "unknown";
}

/* A notify scope ("network", "region/ID", "hall/ID") in the caller's view
 * for `perm`: to change it, within the view; to read it, also above. */
static bool s_scope_seen(hb_http_req_t *req, hqd_t *hq, hb_perm_t perm, const char *scope,
                         bool read)
{
    const hq_view_t *v = hq_auth_view(req, perm);
    if (!v || !scope)
        return false;
    return hq_view_policy_scope(v, hq_control_org(hq->control),
                                strcmp(scope, "network") == 0 ? "national" : scope, read);
}

/* The alert's hall in the caller's view for `perm`; false after answering
 * 403. An alert HQ does not hold passes: the notifier answers 404. */
static bool s_alert_seen(hb_http_req_t *req, hqd_t *hq, hb_perm_t perm, uint64_t id)
{
    alert_record_t rec;
    if (alertstore_get(hq_alerting_store(hq->alerting), id, &rec) != 0)
        return true;
    const hq_view_t *v = hq_auth_view(req, perm);
    if (v && hq_view_hall(v, hq_control_org(hq->control), rec.hall))
        return true;
    hq_auth_forbid(req, perm, "alert %llu is of hall %s", (unsigned long long)id, rec.hall);
    return false;
}

/* Keeps the members of `o`'s array `name` whose "scope" the caller sees. */
static void s_keep_seen(hb_http_req_t *req, hqd_t *hq, json_t *o, const char *name, bool read)
{
    json_t *arr = json_object_get(o, name);
    for (size_t i = json_array_size(arr); i-- > 0;)
        if (!s_scope_seen(req, hq, HB_PERM_ALERTS_READ,
                          json_string_value(json_object_get(json_array_get(arr, i), "scope")),
                          read))
            json_array_remove(arr, i);
}

void hqd_api_list_subscriptions(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *o = hq_notify_subs_json(hq->notify);
    /* Subscriptions carry addresses and robots' keys: only those whose
     * scope lies within the caller's. */
    s_keep_seen(req, hq, o, "subscriptions", false);
    hb_http_reply_json(req, 200, o);
}

static void s_put_sub(hb_http_req_t *req, hqd_t *hq, const char *id, bool create)
{
    json_t *body;
    if (!s_body(req, false, &body))
        return;
    json_t *out = NULL;
    char err[512] = "";
    int rc = hq_notify_sub_put(hq->notify, id, body, create, &out, err, sizeof err);
    json_decref(body);
    s_answer(req, rc, err, create ? 201 : 200, out);
}

void hqd_api_create_subscription(hb_http_req_t *req, void *arg) { s_put_sub(req, arg, NULL, true); }

void hqd_api_put_subscription(hb_http_req_t *req, void *arg)
{
    s_put_sub(req, arg, hb_http_param(req, "subscription"), false);
}

void hqd_api_get_subscription(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const char *id = hb_http_param(req, "subscription");
    json_t *out = NULL;
    int rc = hq_notify_sub_get(hq->notify, id, &out);
    if (rc == 0 && !s_scope_seen(req, hq, HB_PERM_ALERTS_READ,
                                 json_string_value(json_object_get(out, "scope")), false)) {
        json_decref(out);
        out = NULL;
        rc = HB_ENOTFOUND; /* as if it were not there: it is not the caller's */
    }
    s_answer_sub(req, rc, id, out);
}

void hqd_api_delete_subscription(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const char *id = hb_http_param(req, "subscription");
    int rc = hq_notify_sub_delete(hq->notify, id);
    s_answer_sub(req, rc, id, rc == 0 ? json_pack("{s:s, s:b}", "id", id, "deleted", 1) : NULL);
}

/* POST /v1/alerts/{alert}/ack {"note"?: TEXT} (200) and
 * POST /v1/alerts/{alert}/silence {a silence} (201): the alert, in the
 * caller's scope, and the body read the same way for both. */
static void s_alert_step(hb_http_req_t *req, hqd_t *hq, bool ack)
{
    uint64_t id;
    json_t *body;
    if (!s_id(req, "alert", &id) || !s_alert_seen(req, hq, HB_PERM_ALERTS_HANDLE, id) ||
        !s_body(req, ack, &body))
        return;
    json_t *out = NULL;
    char err[256] = "";
    int rc =
        ack ? hq_notify_ack(hq->notify, id, s_by(req),
                            json_string_value(json_object_get(body, "note")), &out, err, sizeof err)
            : hq_notify_silence_alert(hq->notify, id, body, s_by(req), &out, err, sizeof err);
    json_decref(body);
    s_answer(req, rc, err, ack ? 200 : 201, out);
}

void hqd_api_ack_alert(hb_http_req_t *req, void *arg) { s_alert_step(req, arg, true); }

void hqd_api_silence_alert(hb_http_req_t *req, void *arg) { s_alert_step(req, arg, false); }

void hqd_api_list_silences(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *o = hq_notify_silences_json(hq->notify);
    s_keep_seen(req, hq, o, "silences", true); /* those above apply to its halls too */
    hb_http_reply_json(req, 200, o);
}

void hqd_api_create_silence(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *body;
    if (!s_body(req, false, &body))
        return;
    const char *scope = json_string_value(json_object_get(body, "scope"));
    if (scope && !s_scope_seen(req, hq, HB_PERM_ALERTS_HANDLE, scope, false)) {
        hq_auth_forbid(req, HB_PERM_ALERTS_HANDLE, "a silence over %.80s", scope);
        json_decref(body);
        return;
    }
    json_t *out = NULL;
    char err[256] = "";
    int rc = hq_notify_silence_add(hq->notify, body, s_by(req), &out, err, sizeof err);
    json_decref(body);
    s_answer(req, rc, err, 201, out);
}

void hqd_api_delete_silence(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    uint64_t id;
    if (!s_id(req, "silence", &id))
        return;
    char scope[NOTIFY_ID_MAX + 8];
    if (hq_notify_silence_scope(hq->notify, id, scope, sizeof scope) == 0 &&
        !s_scope_seen(req, hq, HB_PERM_ALERTS_HANDLE, scope, false)) {
        hq_auth_forbid(req, HB_PERM_ALERTS_HANDLE, "silence %llu is over %s",
                       (unsigned long long)id, scope);
        return;
    }
    int rc = hq_notify_silence_delete(hq->notify, id);
    char err[64];
    snprintf(err, sizeof err, "no silence %" PRIu64, id);
    s_answer(req, rc, err, 200,
             rc == 0 ? json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1) : NULL);
}

/* An optional number from the query; false after answering 400. */
static bool s_query_u64(hb_http_req_t *req, const char *name, uint64_t min, uint64_t max,
                        uint64_t *out)
{
    if (hb_http_query_u64(req, name, min, max, out) == HB_EINVAL) {
        hb_http_reply_error(req, 400, "bad_request", "%s must be %" PRIu64 " to %" PRIu64, name,
                            min, max);
        return false;
    }
    return true;
}

void hqd_api_list_deliveries(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    uint64_t alert = 0, before = 0, limit = 100;
    if (!s_query_u64(req, "alert", 1, UINT64_MAX >> 1, &alert) ||
        !s_query_u64(req, "before", 1, UINT64_MAX >> 1, &before) ||
        !s_query_u64(req, "limit", 1, NOTIFY_PAGE_MAX, &limit))
        return;
    json_t *out;
    int rc = hq_notify_deliveries_json(hq->notify, alert, before, (size_t)limit, &out);
    if (rc != 0) {
        s_refuse(req, rc, NULL);
        return;
    }
    /* Only the deliveries of halls in the caller's view. */
    const hq_view_t *v = hq_auth_view(req, HB_PERM_ALERTS_READ);
    json_t *arr = json_object_get(out, "deliveries");
    for (size_t i = json_array_size(arr); i-- > 0;)
        if (!v || !hq_view_hall(v, hq_control_org(hq->control),
                                json_string_value(json_object_get(json_array_get(arr, i), "hall"))))
            json_array_remove(arr, i);
    hb_http_reply_json(req, 200, out);
}

void hqd_api_get_hall_notices(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const char *hall = hb_http_param(req, "hall");
    if (!hb_hall_id_valid(hall)) {
        hb_http_reply_error(req, 400, "bad_parameter", "not a hall id");
        return;
    }
    hb_http_reply_json(req, 200, hq_notify_hall_notices(hq->notify, hall));
}
