/* The control plane's request reading and refusals (ctlreq.h): the body
 * read strictly, who acts taken from the sign-in and never from the
 * request, and every HB_E* code answered as one HTTP status, for
 * policies.c and campaigns.c alike. */
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

/* ----------------------------------------------------------- replies ---- */

/* Answers a refusal of the control plane. `bad_code` names what an
 * HB_EINVAL refuses ("bad_document" for a document, "bad_request" for the
 * request around it); `changed_nothing` adds that to the reason of a write
 * refused, since operators ask it first. */
void ctl_refuse(hb_http_req_t *req, int rc, const char *bad_code, const char *err,
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
void ctl_refuse_with(hb_http_req_t *req, int status, const char *code, const char *reason,
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

bool ctl_user_ok(const char *s) { return s && hb_id_chars_ok(s, CTL_USER_MAX, ".@"); }

const char *ctl_type_name(const json_t *j)
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
int ctl_body(hb_http_req_t *req, bool optional, json_t **out)
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
                            ctl_type_name(j));
        json_decref(j);
        return -1;
    }
    *out = j;
    return 0;
}

/* Who acts: the signed-in caller, whose name the guard checked. A `by` in
 * the query is refused (it used to name the actor, and a caller who sends
 * one expects it to count). Returns NULL after answering. */
const char *ctl_actor_name(hb_http_req_t *req)
{
    char buf[8];
    if (hb_http_query(req, "by", buf, sizeof buf) != HB_ENOTFOUND) {
        hb_http_reply_error(req, 400, "bad_parameter",
                            "by: who acts is the signed-in caller, never a query parameter; "
                            "remove ?by");
        return NULL;
    }
    const char *by = hq_auth_name(req);
    if (!ctl_user_ok(by)) {
        hb_http_reply_error(req, 500, "internal", "the caller has no name to act by");
        return NULL;
    }
    return by;
}

/* The body {"note": TEXT} of a step (or none, or {}); `note` stays NULL
 * when absent or not allowed. `*by` is the caller. The strings point into
 * `*body` (may be NULL), which the caller releases. Returns -1 after
 * answering. */
int ctl_actor(hb_http_req_t *req, bool allow_note, json_t **body, const char **by,
              const char **note)
{
    *note = NULL;
    *by = ctl_actor_name(req);
    if (!*by || ctl_body(req, true, body) != 0)
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach (*body, key, v) {
        if (allow_note && strcmp(key, "note") == 0 && json_is_string(v)) {
            *note = json_string_value(v);
        } else if (strcmp(key, "by") == 0) {
            hb_http_reply_error(req, 400, "bad_request",
                                "by: who acts is the signed-in caller; the body may not name "
                                "them (remove \"by\")");
            goto fail;
        } else if (allow_note && strcmp(key, "note") == 0) {
            hb_http_reply_error(req, 400, "bad_request", "%s must be a string, not %s", key,
                                ctl_type_name(v));
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
int ctl_no_by_member(hb_http_req_t *req, const json_t *doc)
{
    if (!json_object_get(doc, "by"))
        return 0;
    hb_http_reply_error(req, 400, "bad_document",
                        "by: who acts is the signed-in caller; the document may not name them "
                        "(remove \"by\"); nothing was changed");
    return -1;
}

/* ?NAME, ?NAME=1|true|0|false: `*out` keeps its default when absent. */
int ctl_query_flag(hb_http_req_t *req, const char *name, bool *out)
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
int ctl_path_id(hb_http_req_t *req, const char *name, size_t max, const char *what, char *out,
                size_t outlen)
{
    const char *p = hb_http_param(req, name);
    assert(p); /* the table's pattern names it */
    size_t n = strlen(p);
    if (n > max || n >= outlen || !hb_id_chars_ok(p, max, NULL)) {
        hb_http_reply_error(req, 400, "bad_request",
                            "'%.64s' is not a %s id (1 to %zu of A-Z a-z "
                            "0-9 _ -)",
                            p, what, max);
        return -1;
    }
    memcpy(out, p, n + 1);
    return 0;
}

/* A body's "id" must be the path's, or is filled in from it. */
int ctl_match_id(hb_http_req_t *req, json_t *body, const char *id)
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
                            id, ctl_type_name(v));
    return -1;
}

/* ------------------------------------------------------ organisation ---- */

/* GET /v1/org: the organisation as far as the caller sees it: the regions
 * in their scope and the path down to them, and the halls in it. */
