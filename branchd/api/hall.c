/* branchd's hall-engine handlers: tickets, counters, complaints, feedback
 * and devices (the live hall state is hallview.c's; docs/API.md has each
 * with an example; api/table.c routes to them, one row per action). This file only
 * translates: it reads and checks the request's JSON (every member known, of
 * the right type and size) and the path's ids, calls the engine, and writes
 * the answer or the refusal with its HTTP status. The rules are the
 * engine's. */
#include "api.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/log.h"
#include "hallbus/names.h"
#include "hallbus/time.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ request body ---- */

static int s_check_strings(branchd_t *d, hb_http_req_t *req, const json_t *obj);

json_t *branchd_api_body(branchd_t *d, hb_http_req_t *req, const body_member_t *members, size_t n)
{
    json_t *obj;
    if (req->body_len == 0) {
        obj = json_object();
    } else {
        json_error_t jerr;
        /* Any JSON value is read, so that a well-formed body that is not an
         * object gets the one refusal below rather than a parse error. */
        obj = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!obj) {
            d->api_refused++;
            hb_http_reply_error(req, 400, "bad_json",
                                "body is not valid JSON: %s (line %d, column %d)", jerr.text,
                                jerr.line, jerr.column);
            return NULL;
        }
    }
    if (!json_is_object(obj)) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request", "body must be a JSON object");
        json_decref(obj);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        size_t i = HB_ROW_FIND(members, n, key);
        if (i == n) {
            char list[256] = "";
            size_t used = 0;
            for (size_t k = 0; k < n; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                         members[k].name);
            d->api_refused++;
            hb_http_reply_error(req, 400, "bad_request",
                                "unknown member '%.64s'; this request takes %s", key,
                                n ? list : "no members");
            json_decref(obj);
            return NULL;
        }
        json_type want = members[i].type;
        bool ok = want == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == want;
        if (!ok && !json_is_null(v)) {
            static const char *const names[] = {"an object",      "an array", "a string",
                                                "a whole number", "a number", "true or false",
                                                "true or false",  "null"};
            d->api_refused++;
            hb_http_reply_error(req, 400, "bad_request", "%s must be %s", key, names[want]);
            json_decref(obj);
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_object_get(obj, members[i].name);
        if (members[i].required && (!m || json_is_null(m))) {
            d->api_refused++;
            hb_http_reply_error(req, 400, "bad_request", "%s is required", members[i].name);
            json_decref(obj);
            return NULL;
        }
    }
    if (s_check_strings(d, req, obj) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* Strings must not hold NUL (jansson allows it) and must fit the codec. */
static int s_check_strings(branchd_t *d, hb_http_req_t *req, const json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v)) {
            d->api_refused++;
            hb_http_reply_error(req, 400, "bad_request", "%s holds a NUL character", key);
            return HB_EINVAL;
        }
    }
    return 0;
}

const char *branchd_api_str(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An enum member by its JSON name ("vip"); `*out` keeps its default when
 * absent. Answers the refusal itself. */
static int s_enum(branchd_t *d, hb_http_req_t *req, const json_t *obj, const char *name,
                  const ProtobufCEnumDescriptor *ed, int *out)
{
    const char *text = branchd_api_str(obj, name);
    if (!text)
        return 0;
    char why[600];
    if (hb_enum_parse(ed, text, out, why, sizeof why) != 0) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request", "%s: %s", name, why);
        return HB_EINVAL;
    }
    return 0;
}

/* ---------------------------------------------------------- answers ---- */

static void s_refuse(branchd_t *d, hb_http_req_t *req, int rc, const char *err);

void branchd_api_refuse(branchd_t *d, hb_http_req_t *req, int rc, const char *err)
{
    s_refuse(d, req, rc, err);
}

void branchd_api_bad_request(branchd_t *d, hb_http_req_t *req, const char *err)
{
    d->api_refused++;
    hb_http_reply_error(req, 400, "bad_request", "%s", err);
}

int branchd_api_enum(branchd_t *d, hb_http_req_t *req, const json_t *obj, const char *name,
                     const ProtobufCEnumDescriptor *ed, int *out)
{
    return s_enum(d, req, obj, name, ed, out);
}

/* The HTTP status and short code for an engine refusal. */
static void s_refuse(branchd_t *d, hb_http_req_t *req, int rc, const char *err)
{
    const char *code;
    int status = branchd_api_refusal(d, rc, &code);
    branchd_api_answer_error(d, req, status, code, "%s", err);
}

int branchd_api_refusal(branchd_t *d, int rc, const char **code_out)
{
    int status = 500;
    const char *code = "internal";
    switch (rc) {
    case HB_EINVAL:
        status = 400, code = "bad_request";
        d->api_refused++;
        break;
    case HB_ENOTFOUND:
        status = 404, code = "not_found";
        d->api_refused++;
        break;
    case HB_ECONFLICT:
        status = 409, code = "wrong_state";
        d->api_refused++;
        break;
    case HB_ETOOBIG: status = 503, code = "full"; break;
    case HB_ENOSPC:
    case HB_EMAPFULL:
        /* The kiosk shows the reason; the hall's status and HQ's
         * hall_disk_full alert say the same. */
        status = 507, code = "disk_full";
        break;
    case HB_EDB:
    case HB_ENOMEM:
    case HB_EIO: status = 503, code = "storage"; break;
    default: break;
    }
    /* A refusal the engine named (issue 13: last_counter, already_rated, ...). */
    const char *named = d->engine ? engine_refusal(d->engine) : NULL;
    if (named && status < 500)
        code = named;
    *code_out = code;
    return status;
}

static json_t *s_enum_json(const ProtobufCEnumDescriptor *ed, int value)
{
    char buf[64];
    const char *name = hb_enum_name(ed, value, buf, sizeof buf);
    return name ? json_string(name) : json_integer(value);
}

static json_t *s_ticket_json(const branchd_t *d, const hb_hs_ticket_t *t)
{
    json_t *o =
        json_pack("{s:s, s:s, s:o, s:s, s:o, s:I, s:b}", "ticket", t->id, "service", t->service,
                  "priority", s_enum_json(&hallbus__priority__descriptor, t->priority), "state",
                  hb_ticket_state_name(t->state), "issued", branchd_api_time_or_null(t->issued_ms),
                  "recalls", (json_int_t)t->recalls, "transferred", t->transferred);
    if (t->counter[0])
        json_object_set_new(o, "counter", json_string(t->counter));
    if (t->called_ms)
        json_object_set_new(o, "called", branchd_api_time_or_null(t->called_ms));
    if (t->state != HB_TICKET_WAITING)
        json_object_set_new(o, "wait_s", json_integer(t->wait_s));
    uint32_t pos;
    int64_t est;
    /* Asked once: the queue's order is walked for it (queue.h). */
    bool waiting = engine_ticket_estimate(d->engine, t->id, &pos, &est) == 0;
    if (waiting) {
        json_object_set_new(o, "position", json_integer(pos));
        json_object_set_new(o, "estimated_wait_s", json_integer(est));
    }
    if (t->state == HB_TICKET_SERVED)
        json_object_set_new(o, "outcome", s_enum_json(&hallbus__outcome__descriptor, t->outcome));
    /* Its public reference and status page (issue 13). */
    char ref[BRANCHD_REF_MAX], path[BRANCHD_REF_MAX + 4];
    branchd_ticket_ref(d, t, ref);
    snprintf(path, sizeof path, "/t/%s", ref);
    json_object_set_new(o, "ref", json_string(ref));
    json_object_set_new(o, "status_path", json_string(path));
    if (waiting)
        json_object_set_new(o, "ahead", json_integer(pos > 0 ? pos - 1 : 0));
    if (t->appointment[0])
        json_object_set_new(o, "appointment", json_string(t->appointment));
    return o;
}

static json_t *s_ticket_answer_json(const branchd_t *d, const engine_ticket_answer_t *a)
{
    const hb_hs_ticket_t *t = hb_hall_state_ticket(engine_state(d->engine), a->ticket);
    json_t *o = t ? s_ticket_json(d, t) : json_pack("{s:s}", "ticket", a->ticket);
    hb_hall_figures_t *f = branchd_api_figures(d, hb_now_ms());
    json_t *adv = f ? branchd_api_advice_json(d, f, t ? t->service : "") : NULL;
    free(f);
    if (adv)
        json_object_set_new(o, "advice", adv);
    return o;
}

/* The 409 of a closed hall: why, when it opens, where to go meanwhile. */
static void s_reply_closed(branchd_t *d, hb_http_req_t *req, const hb_open_info_t *info,
                           const char *err)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "error", "closed", "reason", err, "closed",
                          hb_closed_reason_name(info->state), "next_open",
                          branchd_api_time_or_null(info->next_open_ms), "divert_to",
                          branchd_api_divert_json(info->n_divert, info->divert_to));
    if (info->note)
        json_object_set_new(o, "notice", json_string(info->note));
    branchd_api_answer(d, req, 409, o);
}

/* ------------------------------------------------------ path helpers ---- */

/* Copies the route's parameter `name` (a ticket, counter, complaint or
 * device id) into `id`. An id over HB_ID_MAX bytes names nothing here: 404,
 * answered here. */
static int s_path_id(hb_http_req_t *req, const char *name, char id[HB_HS_ID])
{
    const char *v = hb_http_param(req, name);
    assert(v); /* the table's pattern names it */
    size_t len = strlen(v);
    if (len > HB_ID_MAX) {
        hb_http_reply_error(req, 404, "not_found", "no such id: '%.32s...' is longer than %d bytes",
                            v, HB_ID_MAX);
        return HB_ENOTFOUND;
    }
    memcpy(id, v, len + 1);
    return 0;
}

/* The 404 of an action the route's table has no row for. */
static void s_no_action(hb_http_req_t *req, const char *name, const char *valid)
{
    char id[HB_HS_ID];
    if (s_path_id(req, name, id) != 0)
        return;
    hb_http_reply_error(req, 404, "not_found", "no action '%.64s' for %s; actions are %s",
                        hb_http_param(req, "action"), id, valid);
}

/* ----------------------------------------------------------- tickets ---- */

void branchd_api_post_ticket(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"service", JSON_STRING, true},
                                      {"priority", JSON_STRING, false},
                                      {"source", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, 3);
    if (!b)
        return;
    if (branchd_kiosk_out_of_service(d, req)) {
        json_decref(b);
        return;
    }
    int priority = HALLBUS__PRIORITY__PRIORITY_NORMAL,
        source = HALLBUS__ISSUE_SOURCE__ISSUE_SOURCE_KIOSK;
    if (s_check_strings(d, req, b) != 0 ||
        s_enum(d, req, b, "priority", &hallbus__priority__descriptor, &priority) != 0 ||
        s_enum(d, req, b, "source", &hallbus__issue_source__descriptor, &source) != 0) {
        json_decref(b);
        return;
    }
    engine_ticket_answer_t a;
    char err[512];
    int rc = engine_issue(d->engine, branchd_api_str(b, "service"), priority, source, &a, err,
                          sizeof err);
    json_decref(b);
    if (rc == HB_ECLOSED) {
        s_reply_closed(d, req, &a.closed, err);
        return;
    }
    if (rc != 0) {
        s_refuse(d, req, rc, err);
        return;
    }
    branchd_api_answer(d, req, 201, s_ticket_answer_json(d, &a));
}

void branchd_api_issued(branchd_t *d, hb_http_req_t *req, int rc, const engine_ticket_answer_t *a,
                        const char *err)
{
    if (rc == HB_ECLOSED)
        s_reply_closed(d, req, &a->closed, err);
    else if (rc != 0)
        s_refuse(d, req, rc, err);
    else
        branchd_api_answer(d, req, 201, s_ticket_answer_json(d, a));
}

void branchd_api_get_ticket(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID];
    if (s_path_id(req, "ticket", id) != 0)
        return;
    const hb_hs_ticket_t *t = hb_hall_state_ticket_any(engine_state(d->engine), id);
    if (!t) {
        d->api_refused++;
        hb_http_reply_error(req, 404, "not_found", "no ticket '%s' in the hall today", id);
        return;
    }
    hb_http_reply_json(req, 200, s_ticket_json(d, t));
}

/* The path's id (`param`) and the request's body read by `m` (its strings
 * checked): the body, or NULL when a refusal was answered. */
static json_t *s_id_body(branchd_t *d, hb_http_req_t *req, const char *param, char id[HB_HS_ID],
                         const body_member_t *m, size_t n)
{
    if (s_path_id(req, param, id) != 0)
        return NULL;
    json_t *b = branchd_api_body(d, req, m, n);
    if (b && s_check_strings(d, req, b) != 0) {
        json_decref(b);
        return NULL;
    }
    return b;
}

/* A GET of an action reads nothing and does nothing: it names the GET. */
void branchd_api_ticket_get_action(hb_http_req_t *req, void *arg)
{
    char id[HB_HS_ID];
    if (s_path_id(req, "ticket", id) == 0)
        hb_http_reply_error(req, 404, "not_found", "GET takes /v1/tickets/{ticket}");
}

/* Answers an action on ticket `id` that the engine did (rc 0: the ticket as
 * it is now) or refused. */
static void s_ticket_done(branchd_t *d, hb_http_req_t *req, const char *id, int rc, const char *err)
{
    if (rc != 0) {
        s_refuse(d, req, rc, err);
        return;
    }
    const hb_hs_ticket_t *t = hb_hall_state_ticket_any(engine_state(d->engine), id);
    branchd_api_answer(d, req, 200, t ? s_ticket_json(d, t) : json_pack("{s:s}", "ticket", id));
}

/* The ticket id and an empty body, for the actions that take none. */
static int s_ticket_bare(branchd_t *d, hb_http_req_t *req, char id[HB_HS_ID])
{
    json_t *b = s_id_body(d, req, "ticket", id, NULL, 0);
    json_decref(b);
    return b ? 0 : HB_EINVAL;
}

void branchd_api_ticket_recall(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    if (s_ticket_bare(d, req, id) != 0)
        return;
    bool no_show = true;
    int rc = engine_recall(d->engine, id, &no_show, err, sizeof err);
    s_ticket_done(d, req, id, rc, err);
}

void branchd_api_ticket_no_show(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    if (s_ticket_bare(d, req, id) != 0)
        return;
    int rc = engine_no_show(d->engine, id, err, sizeof err);
    s_ticket_done(d, req, id, rc, err);
}

void branchd_api_ticket_transfer(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    static const body_member_t m[] = {{"service", JSON_STRING, true}};
    json_t *b = s_id_body(d, req, "ticket", id, m, 1);
    if (!b)
        return;
    engine_ticket_answer_t a;
    int rc = engine_transfer(d->engine, id, branchd_api_str(b, "service"), &a, err, sizeof err);
    json_decref(b);
    if (rc != 0) {
        s_refuse(d, req, rc, err);
        return;
    }
    branchd_api_answer(d, req, 200, s_ticket_answer_json(d, &a));
}

void branchd_api_ticket_cancel(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    static const body_member_t m[] = {{"reason", JSON_STRING, false}};
    json_t *b = s_id_body(d, req, "ticket", id, m, 1);
    if (!b)
        return;
    int rc = engine_cancel(d->engine, id, branchd_api_str(b, "reason"), err, sizeof err);
    json_decref(b);
    s_ticket_done(d, req, id, rc, err);
}

void branchd_api_ticket_unknown(hb_http_req_t *req, void *arg)
{
    s_no_action(req, "ticket", "recall, no-show, transfer, cancel");
}

/* ---------------------------------------------------------- counters ---- */

static json_t *s_counter_json(const hb_hs_counter_t *c)
{
    json_t *svcs = json_array();
    for (size_t i = 0; i < c->n_services; i++)
        json_array_append_new(svcs, json_string(c->services[i]));
    int64_t open_ms, busy_ms;
    hb_hall_state_counter_times(c, hb_now_ms(), &open_ms, &busy_ms);
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I}", "counter", c->id, "state",
                          hb_counter_state_name(c->state), "staff", c->staff, "services", svcs,
                          "since", branchd_api_time_or_null(c->state_since_ms), "open_s",
                          (json_int_t)(open_ms / 1000), "busy_s", (json_int_t)(busy_ms / 1000),
                          "served", (json_int_t)c->served);
    if (c->ticket[0])
        json_object_set_new(o, "ticket", json_string(c->ticket));
    json_object_set_new(o, "elderly", json_boolean(c->elderly));
    return o;
}

/* Answers an action on counter `id` that the engine did (rc 0: the counter
 * as it is now) or refused. */
static void s_counter_done(branchd_t *d, hb_http_req_t *req, const char *id, int rc,
                           const char *err)
{
    if (rc != 0) {
        s_refuse(d, req, rc, err);
        return;
    }
    const hb_hs_counter_t *c = hb_hall_state_counter(engine_state(d->engine), id);
    branchd_api_answer(d, req, 200, c ? s_counter_json(c) : json_pack("{s:s}", "counter", id));
}

/* Whether the caller may act at counter `id` now, and the staff id the
 * action records (access.h's access_counter_staff: a counter terminal's
 * signed-in staff, or the duty manager's `body_staff`). Answers the refusal
 * itself. */
static int s_counter_staff(branchd_t *d, hb_http_req_t *req, const char *id, const char *body_staff,
                           bool open_or_close, const char **staff)
{
    const hb_hs_counter_t *c = hb_hall_state_counter(engine_state(d->engine), id);
    const char *open_staff = c && c->state != HB_COUNTER_CLOSED ? c->staff : NULL;
    char why[512];
    int rc = access_counter_staff(branchd_caller(req), id, body_staff, open_staff, open_or_close,
                                  staff, why, sizeof why);
    if (rc == HB_EAUTH)
        branchd_api_forbidden(d, req, HB_PERM_COUNTER_ACT, false, "%s", why);
    else if (rc != 0)
        s_refuse(d, req, rc, why);
    return rc;
}

void branchd_api_counter_open(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    /* The staff comes from the terminal's sign-in; only the duty manager
     * (the tablet, or hallctl trusted on loopback) names it in the body. */
    static const body_member_t m[] = {{"staff", JSON_STRING, false},
                                      {"services", JSON_ARRAY, true},
                                      {"elderly", JSON_TRUE, false}};
    json_t *b = s_id_body(d, req, "counter", id, m, 3);
    const char *staff = NULL;
    if (!b || s_counter_staff(d, req, id, branchd_api_str(b, "staff"), true, &staff) != 0)
        goto out;
    if (!staff) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request",
                            "staff is required: the duty manager names who serves (a counter "
                            "terminal takes the staff signed in at it)");
        goto out;
    }
    json_t *arr = json_object_get(b, "services");
    size_t n = json_array_size(arr);
    const char *svcs[HB_HS_COUNTER_SERVICES_MAX];
    if (n == 0 || n > HB_HS_COUNTER_SERVICES_MAX) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request", "services must name 1 to %d services",
                            HB_HS_COUNTER_SERVICES_MAX);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *sv = json_array_get(arr, i);
        if (!json_is_string(sv)) {
            d->api_refused++;
            hb_http_reply_error(req, 400, "bad_request", "services[%zu] must be a service code", i);
            goto out;
        }
        svcs[i] = json_string_value(sv);
    }
    int rc = engine_counter_open_ex(d->engine, id, staff, svcs, n,
                                    json_is_true(json_object_get(b, "elderly")), err, sizeof err);
    s_counter_done(d, req, id, rc, err);
out:
    json_decref(b);
}

void branchd_api_counter_pause(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    if (s_path_id(req, "counter", id) != 0)
        return;
    static const body_member_t m[] = {{"reason", JSON_STRING, false},
                                      {"override", JSON_TRUE, false}};
    json_t *b = branchd_api_body(d, req, m, 2);
    const char *staff;
    bool override = b && json_is_true(json_object_get(b, "override"));
    /* Overriding the last-counter rule is the duty manager's call. */
    const access_caller_t *who = branchd_caller(req);
    bool manager = who && (who->via == ACCESS_VIA_LOCAL || who->device.kind == ACCESS_KIND_MANAGER);
    if (b && override && !manager) {
        branchd_api_forbidden(d, req, HB_PERM_COUNTER_ACT, false,
                              "only the duty manager may override the last-counter rule");
    } else if (b && s_check_strings(d, req, b) == 0 &&
               s_counter_staff(d, req, id, NULL, false, &staff) == 0) {
        int rc = engine_counter_pause_ex(d->engine, id, branchd_api_str(b, "reason"), override, err,
                                         sizeof err);
        if (rc != 0 && engine_refusal(d->engine) &&
            strcmp(engine_refusal(d->engine), "last_counter") == 0) {
            /* The services that keep this counter open, for the page. */
            json_t *o = json_pack("{s:s, s:s}", "error", "last_counter", "reason", err);
            const hb_hs_counter_t *c = hb_hall_state_counter(engine_state(d->engine), id);
            json_t *svcs = json_array();
            for (size_t i = 0; c && i < c->n_services; i++)
                json_array_append_new(svcs, json_string(c->services[i]));
            json_object_set_new(o, "services", svcs);
            d->api_refused++;
            branchd_api_answer(d, req, 409, o);
        } else {
            s_counter_done(d, req, id, rc, err);
        }
    }
    json_decref(b);
}

/* The counter actions that take no body: resume, close, start. */
typedef int (*counter_step_fn)(engine_t *e, const char *counter, char *err, size_t errlen);

/* `closing`: the step ends the counter's session, whoever opened it. */
static void s_counter_step(hb_http_req_t *req, branchd_t *d, counter_step_fn step, bool closing)
{
    char id[HB_HS_ID], err[512] = "";
    json_t *b = s_id_body(d, req, "counter", id, NULL, 0);
    if (!b)
        return;
    json_decref(b);
    const char *staff;
    if (s_counter_staff(d, req, id, NULL, closing, &staff) != 0)
        return;
    s_counter_done(d, req, id, step(d->engine, id, err, sizeof err), err);
}

void branchd_api_counter_resume(hb_http_req_t *req, void *arg)
{
    s_counter_step(req, arg, engine_counter_resume, false);
}

void branchd_api_counter_close(hb_http_req_t *req, void *arg)
{
    s_counter_step(req, arg, engine_counter_close, true);
}

void branchd_api_counter_start(hb_http_req_t *req, void *arg)
{
    s_counter_step(req, arg, engine_start, false);
}

/* Answers the call, not the counter. */
void branchd_api_counter_call(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    static const body_member_t m[] = {{"ticket", JSON_STRING, false}};
    json_t *b = s_id_body(d, req, "counter", id, m, 1);
    const char *staff;
    if (!b || s_counter_staff(d, req, id, NULL, false, &staff) != 0)
        goto out;
    engine_call_answer_t a;
    int rc = engine_call(d->engine, id, branchd_api_str(b, "ticket"), &a, err, sizeof err);
    if (rc == HB_ENOTFOUND && !branchd_api_str(b, "ticket"))
        branchd_api_answer_error(d, req, 404, "nobody_waiting", "%s", err);
    else if (rc != 0)
        s_refuse(d, req, rc, err);
    else {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:o, s:I}", "ticket", a.ticket, "service", a.service,
                      "counter", id, "rule", s_enum_json(&hallbus__call_rule__descriptor, a.rule),
                      "wait_s", (json_int_t)a.wait_s);
        const hb_hall_state_t *st = engine_state(d->engine);
        const hb_hs_ticket_t *t = hb_hall_state_ticket(st, a.ticket);
        const hb_hs_counter_t *c = hb_hall_state_counter(st, id);
        if (t) {
            json_object_set_new(o, "number", json_integer(t->number));
            json_object_set_new(o, "priority",
                                s_enum_json(&hallbus__priority__descriptor, t->priority));
            json_object_set_new(o, "appointment",
                                t->appointment[0] ? json_string(t->appointment) : json_null());
        }
        json_object_set_new(o, "staff", c ? json_string(c->staff) : json_null());
        branchd_api_answer(d, req, 200, o);
    }
out:
    json_decref(b);
}

void branchd_api_counter_complete(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    static const body_member_t m[] = {{"business_type", JSON_STRING, true},
                                      {"outcome", JSON_STRING, false},
                                      {"amount", JSON_INTEGER, false},
                                      {"currency", JSON_STRING, false}};
    json_t *b = s_id_body(d, req, "counter", id, m, 4);
    int outcome = HALLBUS__OUTCOME__OUTCOME_DONE;
    const char *staff;
    if (!b || s_enum(d, req, b, "outcome", &hallbus__outcome__descriptor, &outcome) != 0 ||
        s_counter_staff(d, req, id, NULL, false, &staff) != 0)
        goto out;
    json_t *amount = json_object_get(b, "amount");
    int rc = engine_complete(d->engine, id, branchd_api_str(b, "business_type"), outcome,
                             json_is_integer(amount) ? json_integer_value(amount) : 0,
                             branchd_api_str(b, "currency"), err, sizeof err);
    s_counter_done(d, req, id, rc, err);
out:
    json_decref(b);
}

void branchd_api_counter_unknown(hb_http_req_t *req, void *arg)
{
    s_no_action(req, "counter", "open, pause, resume, close, call, start, complete");
}

/* -------------------------------------------------------- complaints ---- */

static json_t *s_complaint_json(const hb_hs_complaint_t *c, int64_t now)
{
    bool overdue = c->ack_missed || c->resolve_missed ||
                   (c->state == HB_COMPLAINT_OPEN && c->ack_due_ms && now >= c->ack_due_ms) ||
                   (c->resolve_due_ms && now >= c->resolve_due_ms);
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:b}", "complaint", c->id, "state",
        hb_complaint_state_name(c->state), "channel",
        s_enum_json(&hallbus__complaint_channel__descriptor, c->channel), "category", c->category,
        "severity", s_enum_json(&hallbus__severity__descriptor, c->severity), "opened",
        branchd_api_time_or_null(c->opened_ms), "ack_due", branchd_api_time_or_null(c->ack_due_ms),
        "resolve_due", branchd_api_time_or_null(c->resolve_due_ms), "overdue", overdue);
    json_object_set_new(o, "escalation",
                        c->escalation
                            ? s_enum_json(&hallbus__escalation_level__descriptor, c->escalation)
                            : json_null());
    if (c->ticket[0])
        json_object_set_new(o, "ticket", json_string(c->ticket));
    if (c->acked_by[0])
        json_object_set_new(o, "acknowledged_by", json_string(c->acked_by));
    return o;
}

void branchd_api_post_complaint(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"channel", JSON_STRING, true},
                                      {"category", JSON_STRING, true},
                                      {"severity", JSON_STRING, true},
                                      {"ticket", JSON_STRING, false},
                                      {"text", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, 5);
    int channel = 0, severity = 0;
    if (!b || s_check_strings(d, req, b) != 0 ||
        s_enum(d, req, b, "channel", &hallbus__complaint_channel__descriptor, &channel) != 0 ||
        s_enum(d, req, b, "severity", &hallbus__severity__descriptor, &severity) != 0) {
        json_decref(b);
        return;
    }
    char id[HB_HS_ID], err[512];
    int rc = engine_complaint_open(d->engine, channel, branchd_api_str(b, "category"), severity,
                                   branchd_api_str(b, "ticket"), branchd_api_str(b, "text"), id,
                                   err, sizeof err);
    json_decref(b);
    if (rc != 0) {
        s_refuse(d, req, rc, err);
        return;
    }
    const hb_hs_complaint_t *c = hb_hall_state_complaint(engine_state(d->engine), id);
    json_t *o = c ? s_complaint_json(c, hb_now_ms()) : json_object();
    json_object_set_new(o, "id", json_string(id));
    hb_http_reply_json(req, 201, o);
}

void branchd_api_get_complaints(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char want[32] = "open";
    int qrc = hb_http_query(req, "state", want, sizeof want);
    if (qrc != 0 && qrc != HB_ENOTFOUND) {
        hb_http_reply_error(req, 400, "bad_parameter",
                            "state must be open, acknowledged, overdue or all");
        return;
    }
    bool all = strcmp(want, "all") == 0, open = strcmp(want, "open") == 0;
    bool acked = strcmp(want, "acknowledged") == 0, overdue = strcmp(want, "overdue") == 0;
    if (!all && !open && !acked && !overdue) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_parameter",
                            "state '%.32s' is not one of open, acknowledged, overdue, all "
                            "(resolved complaints leave the hall's live state)",
                            want);
        return;
    }
    const hb_hall_state_t *s = engine_state(d->engine);
    int64_t now = hb_now_ms();
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n_complaints; i++) {
        const hb_hs_complaint_t *c = &s->complaints[i];
        json_t *o = s_complaint_json(c, now);
        bool keep = all || (open && c->state == HB_COMPLAINT_OPEN) ||
                    (acked && c->state == HB_COMPLAINT_ACKNOWLEDGED) ||
                    (overdue && json_is_true(json_object_get(o, "overdue")));
        if (keep)
            json_array_append_new(arr, o);
        else
            json_decref(o);
    }
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:I, s:o}", "state", want, "count",
                                 (json_int_t)json_array_size(arr), "complaints", arr));
}

void branchd_api_get_complaint(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID];
    if (s_path_id(req, "complaint", id) != 0)
        return;
    const hb_hs_complaint_t *c = hb_hall_state_complaint(engine_state(d->engine), id);
    if (!c) {
        d->api_refused++;
        hb_http_reply_error(req, 404, "not_found", "no open complaint '%s'", id);
        return;
    }
    hb_http_reply_json(req, 200, s_complaint_json(c, hb_now_ms()));
}

/* A GET reads; it never acknowledges, escalates or resolves. */
void branchd_api_complaint_get_action(hb_http_req_t *req, void *arg)
{
    char id[HB_HS_ID];
    if (s_path_id(req, "complaint", id) == 0)
        hb_http_reply_error(req, 404, "not_found", "GET takes /v1/complaints/{id}; %.64s is a POST",
                            hb_http_param(req, "action"));
}

/* Answers an action on complaint `id` that the engine did (rc 0: the
 * complaint as it is now) or refused. */
static void s_complaint_done(branchd_t *d, hb_http_req_t *req, const char *id, int rc,
                             const char *err)
{
    if (rc != 0) {
        s_refuse(d, req, rc, err);
        return;
    }
    const hb_hs_complaint_t *c = hb_hall_state_complaint(engine_state(d->engine), id);
    hb_http_reply_json(req, 200, c ? s_complaint_json(c, hb_now_ms()) : json_object());
}

void branchd_api_complaint_ack(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    static const body_member_t m[] = {{"by", JSON_STRING, true}};
    json_t *b = s_id_body(d, req, "complaint", id, m, 1);
    if (b) {
        int rc = engine_complaint_ack(d->engine, id, branchd_api_str(b, "by"), err, sizeof err);
        s_complaint_done(d, req, id, rc, err);
    }
    json_decref(b);
}

void branchd_api_complaint_escalate(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    static const body_member_t m[] = {{"level", JSON_STRING, false},
                                      {"reason", JSON_STRING, false}};
    json_t *b = s_id_body(d, req, "complaint", id, m, 2);
    int level = 0;
    if (b && s_enum(d, req, b, "level", &hallbus__escalation_level__descriptor, &level) == 0) {
        int rc = engine_complaint_escalate(d->engine, id, level, branchd_api_str(b, "reason"), err,
                                           sizeof err);
        s_complaint_done(d, req, id, rc, err);
    }
    json_decref(b);
}

/* A resolved complaint leaves the live state: the answer says so. */
void branchd_api_complaint_resolve(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID], err[512] = "";
    static const body_member_t m[] = {{"resolution", JSON_STRING, true},
                                      {"customer_satisfied", JSON_TRUE, true}};
    json_t *b = s_id_body(d, req, "complaint", id, m, 2);
    if (b) {
        int rc = engine_complaint_resolve(d->engine, id, branchd_api_str(b, "resolution"),
                                          json_is_true(json_object_get(b, "customer_satisfied")),
                                          err, sizeof err);
        if (rc == 0)
            hb_http_reply_json(req, 200,
                               json_pack("{s:s, s:s}", "complaint", id, "state", "resolved"));
        else
            s_refuse(d, req, rc, err);
    }
    json_decref(b);
}

void branchd_api_complaint_unknown(hb_http_req_t *req, void *arg)
{
    s_no_action(req, "complaint", "ack, escalate, resolve");
}

/* ------------------------------------------------- feedback, devices ---- */

void branchd_api_post_feedback(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"score", JSON_INTEGER, true},
                                      {"ticket", JSON_STRING, false},
                                      {"counter", JSON_STRING, false},
                                      {"reasons", JSON_ARRAY, false}};
    json_t *b = branchd_api_body(d, req, m, 4);
    if (!b || s_check_strings(d, req, b) != 0) {
        json_decref(b);
        return;
    }
    /* A counter's evaluator scores that counter only. */
    const char *counter;
    char err[512];
    if (access_feedback_counter(branchd_caller(req), branchd_api_str(b, "counter"), &counter, err,
                                sizeof err) != 0) {
        json_decref(b);
        branchd_api_forbidden(d, req, HB_PERM_FEEDBACK_GIVE, true, "%s", err);
        return;
    }
    json_int_t score = json_integer_value(json_object_get(b, "score"));
    int rc;
    json_t *rs = json_object_get(b, "reasons");
    const char *reasons[ENGINE_REASONS_MAX];
    size_t nr = json_array_size(rs);
    char rated[HB_HS_ID] = "";
    /* An evaluator scores the visit just completed at its counter. */
    const access_caller_t *who = branchd_caller(req);
    bool evaluator =
        who && who->via != ACCESS_VIA_LOCAL && who->device.kind == ACCESS_KIND_EVALUATOR;
    if (score < 1 || score > 5) {
        hb_errf(err, sizeof err, "score must be from 1 to 5, not %lld", (long long)score);
        rc = HB_EINVAL;
    } else if (nr > ENGINE_REASONS_MAX) {
        hb_errf(err, sizeof err, "reasons may name at most %d reasons", ENGINE_REASONS_MAX);
        rc = HB_EINVAL;
    } else {
        rc = 0;
        for (size_t i = 0; i < nr && rc == 0; i++) {
            reasons[i] = json_string_value(json_array_get(rs, i));
            if (!reasons[i]) {
                hb_errf(err, sizeof err, "reasons[%zu] must be a string", i);
                rc = HB_EINVAL;
            }
        }
        if (rc == 0)
            rc =
                engine_feedback_ex(d->engine, branchd_api_str(b, "ticket"), counter,
                                   (uint32_t)score, reasons, nr, evaluator, rated, err, sizeof err);
    }
    if (rc != 0) {
        json_decref(b);
        s_refuse(d, req, rc, err);
        return;
    }
    json_t *o = json_pack("{s:I}", "score", (json_int_t)score);
    if (rated[0])
        json_object_set_new(o, "ticket", json_string(rated));
    if (counter && counter[0])
        json_object_set_new(o, "counter", json_string(counter));
    json_object_set_new(o, "reasons", rs ? json_deep_copy(rs) : json_array());
    json_decref(b);
    hb_http_reply_json(req, 201, o);
}

void branchd_api_device_status(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char id[HB_HS_ID];
    static const body_member_t m[] = {
        {"kind", JSON_STRING, true}, {"state", JSON_STRING, true}, {"detail", JSON_STRING, false}};
    json_t *b = s_id_body(d, req, "device", id, m, 3);
    int kind = 0, state = 0;
    if (!b || s_enum(d, req, b, "kind", &hallbus__device_kind__descriptor, &kind) != 0 ||
        s_enum(d, req, b, "state", &hallbus__device_state__descriptor, &state) != 0) {
        json_decref(b);
        return;
    }
    char err[512];
    int rc = engine_device_status(d->engine, id, kind, state, branchd_api_str(b, "detail"), err,
                                  sizeof err);
    json_decref(b);
    if (rc != 0) {
        s_refuse(d, req, rc, err);
        return;
    }
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:o, s:o}", "device", id, "kind",
                                 s_enum_json(&hallbus__device_kind__descriptor, kind), "state",
                                 s_enum_json(&hallbus__device_state__descriptor, state)));
}

void branchd_api_device_unknown(hb_http_req_t *req, void *arg)
{
    s_no_action(req, "device", "status");
}
