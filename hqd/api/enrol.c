/* hqd's enrolment routes (api/table.c routes to them; docs/API.md has each
 * with an example): head office approving a hall's request (at once, or
 * later from the list of pending ones, as a dashboard page does), rejecting
 * one, pre-registering halls with one-time codes, revoking a hall; and the
 * one route a hall calls itself, with a request that proves itself (a
 * one-time code, or a rotation proved by its current key).
 *
 * The rules of certificates and files are link/enrolments.c's; here: the
 * region (a city of the organisation, where an approved hall is placed)
 * and the answers. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/json.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <stdlib.h>
#include <string.h>

#define ENROL_REGISTER_MAX 10000    /* halls in one pre-registration */
#define ENROL_REJECT_REASON_MAX 500 /* bytes of a rejection's reason */

static void s_refused(hb_http_req_t *req, const hq_enrol_refusal_t *why)
{
    hb_http_reply_error(req, why->status, why->code, "%s", why->reason);
}

/* The body as a JSON object, or an answer saying why not. */
static json_t *s_body(hb_http_req_t *req)
{
    json_error_t jerr;
    json_t *j =
        req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        hb_http_reply_error(req, 400, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* The request file the body carries as "request", parsed into `r`: 0, or
 * the refusal answered (400 with `expected` when there is none, else the
 * parser's reason). Both ways in (head office's and the hall's own) read
 * it so. */
static int s_parse_request(hb_http_req_t *req, hqd_t *hq, const json_t *body, const char *expected,
                           hb_enrol_request_t *r)
{
    const char *text = json_string_value(json_object_get(body, "request"));
    hq_enrol_refusal_t why = {0};
    if (!text) {
        hb_http_reply_error(req, 400, "bad_request", "%s", expected);
        return HB_EINVAL;
    }
    if (hq_enrol_parse(hq->enrol, text, strlen(text), r, &why) != 0) {
        s_refused(req, &why);
        return HB_EINVAL;
    }
    return 0;
}

/* The hall's id from the path. */
static int s_hall_param(hb_http_req_t *req, char out[HB_HALL_ID_MAX])
{
    const char *p = hb_http_param(req, "hall");
    if (!p || !hb_hall_id_valid(p)) {
        hb_http_reply_error(req, 400, "bad_request", "'%.64s' is not a hall id", p ? p : "");
        return -1;
    }
    snprintf(out, HB_HALL_ID_MAX, "%s", p);
    return 0;
}

/* A step on one hall's waiting request (approve, reject): `step` answers,
 * given the {hall} of the path and the request's optional JSON body (an
 * empty object when there is none); either refused is answered here. */
typedef void (*hall_step_fn)(hb_http_req_t *req, hqd_t *hq, const char *hall, json_t *body);

static void s_hall_step(hb_http_req_t *req, hqd_t *hq, hall_step_fn step)
{
    char hall[HB_HALL_ID_MAX];
    if (s_hall_param(req, hall) != 0)
        return;
    json_t *body = req->body_len ? s_body(req) : json_object();
    if (!body)
        return;
    step(req, hq, hall, body);
    json_decref(body);
}

/* The city the hall goes to: the one asked for (head office's choice over
 * the hall's), or where the organisation already has it. It must be a city
 * of the organisation. */
static int s_region(hqd_t *hq, const char *hall, const char *asked, const char *requested,
                    char out[HB_ENROL_REGION_MAX], hq_enrol_refusal_t *why)
{
    const org_t *org = hq_control_org(hq->control);
    const char *r = asked && asked[0] ? asked : requested && requested[0] ? requested : NULL;
    if (!r) {
        const org_region_t *chain[3];
        if (org_hall_find(org, hall) && org_hall_chain(org, hall, chain) == 0)
            r = chain[0]->id;
    }
    why->status = 400;
    if (!r) {
        why->code = "region_required";
        snprintf(why->reason, sizeof why->reason,
                 "hall %s has no place in the organisation and neither the request nor the "
                 "approval names its region (--region CITY)",
                 hall);
        return HB_EINVAL;
    }
    const org_region_t *reg = org_region_find(org, r);
    if (!reg || reg->level != ORG_CITY) {
        why->code = "unknown_region";
        snprintf(why->reason, sizeof why->reason,
                 reg ? "region '%.64s' is a %s; a hall belongs to a city of the organisation"
                     : "unknown region '%.64s': no such city in the organisation (add it with PUT "
                       "/v1/org/regions/ID first)",
                 r, reg ? org_level_name(reg->level) : "");
        return HB_ENOTFOUND;
    }
    snprintf(out, HB_ENROL_REGION_MAX, "%s", r);
    return 0;
}

/* Places the hall in its city (keeping its name, tags and neighbours when
 * the organisation has it already; `extra` adds a name and address from a
 * registration). */
static int s_place(hqd_t *hq, const char *hall, const char *city, const json_t *extra,
                   hq_enrol_refusal_t *why)
{
    const org_t *org = hq_control_org(hq->control);
    const org_hall_t *h = org_hall_find(org, hall);
    json_t *doc = h ? org_hall_to_json(org, h) : json_pack("{s:s}", "id", hall);
    if (!doc)
        return HB_ENOMEM;
    const char *have = json_string_value(json_object_get(doc, "city"));
    bool same = have && strcmp(have, city) == 0;
    json_object_set_new(doc, "city", json_string(city));
    static const char *const keep[] = {"name", "address"};
    for (size_t i = 0; extra && i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(extra, keep[i]);
        if (json_is_string(v) && !json_object_get(doc, keep[i])) {
            json_object_set(doc, keep[i], v);
            same = false;
        }
    }
    int rc = 0;
    if (!same) {
        char err[512] = "";
        rc = hq_control_put_hall(hq->control, doc, err, sizeof err);
        if (rc != 0) {
            why->status = 400;
            why->code = "bad_document";
            snprintf(why->reason, sizeof why->reason, "cannot place hall %s in %s: %s", hall, city,
                     err);
        }
    }
    json_decref(doc);
    return rc;
}

/* Checks, places and issues: the approval of a new-enrolment request. */
static void s_grant(hb_http_req_t *req, hqd_t *hq, const hb_enrol_request_t *r, const char *asked,
                    const json_t *extra)
{
    hq_enrol_refusal_t why = {0};
    char region[HB_ENROL_REGION_MAX];
    json_t *answer = NULL;
    if (hq_enrol_check_new(hq->enrol, r, &why) != 0 ||
        s_region(hq, r->hall, asked, r->region, region, &why) != 0 ||
        s_place(hq, r->hall, region, extra, &why) != 0 ||
        hq_enrol_issue(hq->enrol, r->hall, r->public_key, region, false, &answer, &why) != 0) {
        s_refused(req, &why);
        return;
    }
    hq_enrol_pending_remove(hq->enrol, r->hall);
    hb_http_reply_json(req, 201, answer);
}

/* The enrolled halls (a certificate in halls/, as the ZAP handler reads
 * the folder), each with its city in the organisation and its
 * certificate's state. */
static void s_enrolled(hqd_t *hq, json_t *doc)
{
    json_t *enrolled = json_array();
    hq_zap_cert_row_t *rows = NULL;
    size_t n = 0;
    const org_t *org = hq_control_org(hq->control);
    if (hq->zap)
        hq_zap_refresh(hq->zap); /* an approval or revocation just made is listed */
    if (hq->zap && hq_zap_certs(hq->zap, &rows, &n) == 0) {
        int64_t now = hb_now_ms();
        for (size_t i = 0; i < n; i++) {
            const org_region_t *chain[3];
            const char *city =
                org_hall_find(org, rows[i].hall) && org_hall_chain(org, rows[i].hall, chain) == 0
                    ? chain[0]->id
                    : NULL;
            bool dated = rows[i].cert.not_after_ms != INT64_MAX;
            json_array_append_new(
                enrolled,
                json_pack("{s:s, s:o, s:I, s:o, s:s}", "hall", rows[i].hall, "region",
                          city ? json_string(city) : json_null(), "serial",
                          (json_int_t)rows[i].cert.serial, "not_after",
                          dated ? hb_json_time(rows[i].cert.not_after_ms) : json_null(), "state",
                          hq_zap_cert_state(&rows[i].cert, now, hq->cfg.cert_expiry_warn_ms)));
        }
    }
    free(rows);
    json_object_set_new(doc, "enrolled", enrolled);
    json_object_set_new(doc, "expiry_warn_s",
                        json_integer((json_int_t)(hq->cfg.cert_expiry_warn_ms / 1000)));
}

/* GET /v1/enrolments: what waits (requests, pre-registered halls), what is
 * enrolled and what was revoked. */
void hqd_api_get_enrolments(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *doc = hq_enrol_list(hq->enrol);
    if (doc)
        s_enrolled(hq, doc);
    hb_http_reply_json(req, doc ? 200 : 503, doc);
}

/* POST /v1/enrolments {"request": TEXT, "region"?: CITY, "approve"?: bool}:
 * head office approves a request file at once (201, the certificate), or,
 * with "approve": false, keeps it for approval later (202). */
void hqd_api_post_enrolment(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *body = s_body(req);
    if (!body)
        return;
    static const char expected[] = "expected {\"request\": the request file's text, \"region\": "
                                   "a city (optional), \"approve\": true or false (optional)}";
    json_t *region = json_object_get(body, "region"), *approve = json_object_get(body, "approve");
    hq_enrol_refusal_t why = {0};
    hb_enrol_request_t r;
    if ((region && !json_is_string(region)) || (approve && !json_is_boolean(approve))) {
        hb_http_reply_error(req, 400, "bad_request", "%s", expected);
    } else if (s_parse_request(req, hq, body, expected, &r) != 0) {
        /* answered */
    } else if (r.kind == HB_ENROL_ROTATE) {
        hb_http_reply_error(req, 400, "wrong_kind",
                            "a rotation request is sent by the hall itself (POST "
                            "/v1/enrolments/requests), where its proofs are checked");
    } else if (approve && !json_is_true(approve)) {
        if (hq_enrol_check_new(hq->enrol, &r, &why) != 0 ||
            hq_enrol_pending_put(hq->enrol, &r, &why) != 0)
            s_refused(req, &why);
        else
            hb_http_reply_json(req, 202,
                               json_pack("{s:s, s:s}", "hall", r.hall, "state", "pending"));
    } else {
        s_grant(req, hq, &r, json_string_value(region), NULL);
    }
    json_decref(body);
}

/* POST /v1/enrolments/{hall}/approve {"region"?: CITY} */
static void s_approve(hb_http_req_t *req, hqd_t *hq, const char *hall, json_t *body)
{
    json_t *region = json_object_get(body, "region");
    hq_enrol_refusal_t why = {0};
    hb_enrol_request_t r;
    char err[400];
    if (region && !json_is_string(region))
        hb_http_reply_error(req, 400, "bad_request", "\"region\" must be a city's id");
    else if (hq_enrol_pending_get(hq->enrol, hall, &r, &why) != 0)
        s_refused(req, &why);
    else if (hb_enrol_request_check_time(&r, hb_now_ms(), err, sizeof err) != 0)
        hb_http_reply_error(req, 400, "request_out_of_date", "%s", err);
    else
        s_grant(req, hq, &r, json_string_value(region), NULL);
}

void hqd_api_approve_enrolment(hb_http_req_t *req, void *arg) { s_hall_step(req, arg, s_approve); }

/* POST /v1/enrolments/{hall}/reject {"reason"?: TEXT}: the reason (for the
 * hall's installer, who asks why) goes into the audit log with the
 * rejection and into the answer. */
static void s_reject(hb_http_req_t *req, hqd_t *hq, const char *hall, json_t *body)
{
    json_t *reason = json_object_get(body, "reason");
    const char *why = json_string_value(reason);
    if (reason && (!why || !hb_utf8_valid_str(why) || strlen(why) > ENROL_REJECT_REASON_MAX)) {
        hb_http_reply_error(req, 400, "bad_request", "\"reason\" must be text of at most %d bytes",
                            ENROL_REJECT_REASON_MAX);
    } else if (hq_enrol_pending_remove(hq->enrol, hall) != 0) {
        hb_http_reply_error(req, 404, "not_pending", "no request of hall %s is waiting", hall);
    } else {
        if (why && why[0])
            hq_auth_note_reason(req, why);
        hb_info("enrol: the request of hall %s was rejected by %s%s%s", hall,
                hq_auth_name(req)[0] ? hq_auth_name(req) : "?", why && why[0] ? ": " : "",
                why && why[0] ? why : "");
        hb_http_reply_json(req, 200,
                           json_pack("{s:s, s:s, s:o}", "hall", hall, "state", "rejected", "reason",
                                     why && why[0] ? json_string(why) : json_null()));
    }
}

void hqd_api_reject_enrolment(hb_http_req_t *req, void *arg) { s_hall_step(req, arg, s_reject); }

/* POST /v1/enrolments/register {"halls": [{hall, region, name?, address?}]}:
 * every row checked first (all or nothing), then each hall gets a one-time
 * code, answered once and kept only as a digest. */
void hqd_api_register_halls(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *body = s_body(req);
    if (!body)
        return;
    json_t *halls = json_object_get(body, "halls");
    size_t n = json_array_size(halls);
    hq_enrol_refusal_t why = {0};
    if (!json_is_array(halls) || n == 0 || n > ENROL_REGISTER_MAX) {
        hb_http_reply_error(req, 400, "bad_request",
                            "expected {\"halls\": [{\"hall\", \"region\", \"name\", "
                            "\"address\"}, ...]} with 1 to %d rows",
                            ENROL_REGISTER_MAX);
        json_decref(body);
        return;
    }
    char region[HB_ENROL_REGION_MAX];
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(halls, i);
        const char *hall = json_string_value(json_object_get(row, "hall"));
        const char *reg = json_string_value(json_object_get(row, "region"));
        json_t *name = json_object_get(row, "name"), *addr = json_object_get(row, "address");
        if (!hall || !hb_hall_id_valid(hall) || !reg || (name && !json_is_string(name)) ||
            (addr && !json_is_string(addr))) {
            hb_http_reply_error(req, 400, "bad_request",
                                "halls[%zu]: needs \"hall\" (a hall id) and \"region\"; \"name\" "
                                "and \"address\" are text; nothing was registered",
                                i);
            json_decref(body);
            return;
        }
        if (s_region(hq, hall, reg, NULL, region, &why) != 0) {
            hb_http_reply_error(req, why.status, why.code,
                                "halls[%zu] (%s): %s; nothing was "
                                "registered",
                                i, hall, why.reason);
            json_decref(body);
            return;
        }
    }
    json_t *codes = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(halls, i);
        const char *hall = json_string_value(json_object_get(row, "hall"));
        char code[HB_ENROL_CODE_TEXT];
        if (hq_enrol_register(hq->enrol, hall, json_string_value(json_object_get(row, "region")),
                              json_string_value(json_object_get(row, "name")),
                              json_string_value(json_object_get(row, "address")), code,
                              &why) != 0) {
            json_decref(codes);
            hb_http_reply_error(req, why.status, why.code,
                                "halls[%zu]: %s (the rows before it "
                                "were registered)",
                                i, why.reason);
            json_decref(body);
            return;
        }
        json_array_append_new(codes, json_pack("{s:s, s:s}", "hall", hall, "code", code));
    }
    json_decref(body);
    hb_http_reply_json(req, 201, json_pack("{s:o}", "codes", codes));
}

/* A rotation proved by the hall's current key is granted by policy
 * (docs/OPERATIONS.md, "Automatic rotation"): the same hall, in the same
 * region, its new key proved by both secrets. hqd's rotate_auto = false
 * turns the policy off: rotations then go through a person (hallctl
 * enroll submit with a rotation request still works, since a person runs
 * it). Either way the outcome is in the audit log, as the hall's. */
static int s_rotate(hqd_t *hq, const hb_enrol_request_t *r, const char *conn_key, const char *via,
                    json_t **answer, hq_enrol_refusal_t *why)
{
    int rc;
    if (conn_key && !hq->cfg.rotate_auto) {
        why->status = 403;
        why->code = "rotation_manual";
        snprintf(why->reason, sizeof why->reason,
                 "head office does not grant rotations over the link (rotate_auto = false): "
                 "rotate hall %s by hand (branchd rotate, hallctl enroll submit)",
                 r->hall);
        rc = HB_EAUTH;
    } else {
        rc = hq_enrol_rotate(hq->enrol, r, conn_key, answer, why);
    }
    char who[HB_HALL_ID_MAX + 8], reason[640];
    snprintf(who, sizeof who, "hall:%s", r->hall);
    if (rc == 0)
        snprintf(reason, sizeof reason, "new key %s", r->public_key);
    else
        snprintf(reason, sizeof reason, "%s: %s", why->code, why->reason);
    if (hq->auth)
        hq_auth_audit_note(hq->auth, who, via, rc == 0 ? "key_rotated" : "key_rotation_refused",
                           r->hall, rc == 0 ? 201 : why->status, reason);
    return rc;
}

void hqd_enrol_link_rotation(void *arg, hq_hall_t *hall, const char *key, const char *text,
                             hq_rotate_answer_t *out)
{
    hqd_t *hq = arg;
    hq_enrol_refusal_t why = {0};
    hb_enrol_request_t r;
    json_t *answer = NULL;
    size_t len = strnlen(text, HB_ENROL_REQUEST_MAX + 1);
    int rc;
    if (len > HB_ENROL_REQUEST_MAX) {
        why.code = "malformed_request";
        snprintf(why.reason, sizeof why.reason, "a rotation request is at most %d bytes",
                 HB_ENROL_REQUEST_MAX);
        rc = HB_ETOOBIG;
    } else if ((rc = hq_enrol_parse(hq->enrol, text, len, &r, &why)) != 0) {
        /* refused as it stands */
    } else if (strcmp(r.hall, hall->id) != 0) {
        /* The hall is who its key says, never what a payload claims. */
        why.code = "wrong_hall";
        snprintf(why.reason, sizeof why.reason,
                 "a request for hall %s came over hall %s's connection", r.hall, hall->id);
        rc = HB_EAUTH;
        if (hq->auth)
            hq_auth_audit_note(hq->auth, "link", "link", "key_rotation_refused", hall->id, 403,
                               why.reason);
    } else {
        rc = s_rotate(hq, &r, key, "link", &answer, &why);
    }
    if (rc != 0) {
        snprintf(out->code, sizeof out->code, "%s", why.code ? why.code : "refused");
        snprintf(out->reason, sizeof out->reason, "%s", why.reason);
        hb_warn("enrol: hall %s's rotation over the link refused (%s): %s", hall->id, out->code,
                out->reason);
        return;
    }
    out->granted = true;
    snprintf(out->public_key, sizeof out->public_key, "%s",
             json_string_value(json_object_get(answer, "public_key")));
    out->certificate = strdup(json_string_value(json_object_get(answer, "certificate")));
    out->hq_key = strdup(json_string_value(json_object_get(answer, "hq_key")));
    if (!out->certificate || !out->hq_key) {
        free(out->certificate);
        free(out->hq_key);
        out->certificate = out->hq_key = NULL;
        out->granted = false;
        snprintf(out->code, sizeof out->code, "storage");
        snprintf(out->reason, sizeof out->reason, "HQ is out of memory; ask again");
    }
    json_decref(answer);
}

/* POST /v1/enrolments/requests {"request": TEXT}: sent by a hall itself. A
 * request is taken here only when it proves itself: a rotation (proved by
 * the hall's current key and the new one) or a first enrolment carrying a
 * pre-registered hall's one-time code. Anything else goes to head office
 * as a file, for a person to approve. */
void hqd_api_hall_request(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *body = s_body(req);
    if (!body)
        return;
    hq_enrol_refusal_t why = {0};
    hb_enrol_request_t r;
    json_t *answer = NULL, *reg = NULL;
    if (s_parse_request(req, hq, body, "expected {\"request\": the request file's text}", &r) !=
        0) {
        /* answered */
    } else if (r.kind == HB_ENROL_ROTATE) {
        if (s_rotate(hq, &r, NULL, "http", &answer, &why) != 0)
            s_refused(req, &why);
        else
            hb_http_reply_json(req, 201, answer);
    } else if (!r.code[0]) {
        hb_http_reply_error(req, 403, "approval_required",
                            "a request without a one-time code is approved by head office: give "
                            "the request file to it (hallctl enroll approve FILE)");
    } else if (hq_enrol_check_new(hq->enrol, &r, &why) != 0 ||
               hq_enrol_claim(hq->enrol, &r, &reg, &why) != 0) {
        s_refused(req, &why);
    } else {
        /* The registration's region is head office's choice, not the
         * request's. */
        s_grant(req, hq, &r, json_string_value(json_object_get(reg, "region")), reg);
    }
    json_decref(reg);
    json_decref(body);
}

/* POST /v1/halls/{hall}/revoke: its certificates go, and its connection is
 * told at once. */
void hqd_api_revoke_hall(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char hall[HB_HALL_ID_MAX];
    if (s_hall_param(req, hall) != 0)
        return;
    hq_enrol_refusal_t why = {0};
    if (hq_enrol_revoke(hq->enrol, hall, &why) != 0) {
        s_refused(req, &why);
        return;
    }
    hq_ingest_revoke(hq->ingest, hall);
    hb_http_reply_json(req, 200, json_pack("{s:s, s:s}", "hall", hall, "state", "revoked"));
}
