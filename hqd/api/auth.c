/* hqd's handlers for signing in and out, tokens asked with a password, who the caller is,
 * the audit log and the health check (docs/API.md, "Access"; api/table.c routes to them).
 * Translation only: the rules are hqd/auth/'s. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/querynum.h"
#include "hallbus/time.h"
#include "hallbus/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_QUERY_MAX 128

void hqd_api_get_health(hb_http_req_t *req, void *arg)
{
    (void)arg;
    hb_http_reply_json(req, 200, json_pack("{s:s, s:s}", "status", "ok", "version", hb_version()));
}

/* Whether the request says its body is JSON; answers 415 when not. Only a
 * script of the page itself (or a program) can send JSON: a cross-site
 * form cannot, so nobody is signed in as someone else unawares. */
static bool s_json_body(hb_http_req_t *req, const char *how)
{
    char ctype[128];
    if (hb_http_header(req, "content-type", ctype, sizeof ctype) != 0 ||
        strncasecmp(ctype, "application/json", 16) != 0) {
        hb_http_reply_error(req, 415, "unsupported_media_type", "%s", how);
        return false;
    }
    return true;
}

/* A sign-in's body: one JSON object of a "name" and a "password" (not
 * longer than HQ_AUTH_PASSWORD_MAX) and, when `tname` is asked for, a valid
 * "token_name", and nothing else, read out (valid while the body lives). A
 * new reference, or NULL after answering: 415 saying `how` when the request
 * does not say it is JSON, 400 saying `shape` when the body is not so. */
static json_t *s_credentials(hb_http_req_t *req, const char *how, const char *shape,
                             const char **name, const char **password, const char **tname)
{
    if (!s_json_body(req, how))
        return NULL;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    *name = json_string_value(json_object_get(body, "name"));
    *password = json_string_value(json_object_get(body, "password"));
    const char *t = tname ? json_string_value(json_object_get(body, "token_name")) : NULL;
    if (json_is_object(body) && json_object_size(body) == (tname ? 3u : 2u) && *name && *password &&
        strlen(*password) <= HQ_AUTH_PASSWORD_MAX && (!tname || (t && hq_auth_token_name_ok(t)))) {
        if (tname)
            *tname = t;
        return body;
    }
    json_decref(body);
    hb_http_reply_error(req, 400, "bad_request", "%s", shape);
    return NULL;
}

/* POST /v1/tokens {"name", "password", "token_name"}: an API token for
 * hallctl login or a script, shown once; no session. */
void hqd_api_token_by_password(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const char *name, *password, *tname;
    json_t *body = s_credentials(req,
                                 "ask for a token with Content-Type: application/json and a body "
                                 "{\"name\": ..., \"password\": ..., \"token_name\": ...}",
                                 "the body is {\"name\": NAME, \"password\": PASSWORD, "
                                 "\"token_name\": 1 to 64 of A-Z a-z 0-9 _ . -} and nothing else",
                                 &name, &password, &tname);
    if (!body)
        return;
    hq_auth_login_token(hq->auth, req, name, password, tname, hb_now_ms() + HQ_AUTH_LOGIN_TOKEN_MS);
    json_decref(body);
}

/* POST /v1/tokens/revoke {"token_name"}: one of the caller's own tokens
 * (hallctl logout revokes the one it holds). */
void hqd_api_token_revoke(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    const char *tname = json_string_value(json_object_get(body, "token_name"));
    if (!json_is_object(body) || json_object_size(body) != 1 || !tname ||
        !hq_auth_token_name_ok(tname)) {
        json_decref(body);
        hb_http_reply_error(req, 400, "bad_request",
                            "the body is {\"token_name\": NAME}, one of your tokens");
        return;
    }
    int rc = hq_auth_revoke_own(hq->auth, req, tname);
    if (rc == HB_ENOTFOUND) {
        hb_http_reply_error(req, 404, "not_found", "%s has no live token named '%s'",
                            hq_auth_name(req), tname);
    } else if (rc != 0) {
        hb_http_reply_error(req, 503, "storage", "cannot revoke now: %s", hb_strerror(rc));
    } else {
        hb_http_reply_json(req, 200,
                           json_pack("{s:s, s:s}", "name", hq_auth_name(req), "revoked", tname));
    }
    json_decref(body);
}

/* POST /v1/login {"name", "password"}: a session cookie and its CSRF token. */
void hqd_api_login(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const char *name, *password;
    json_t *body = s_credentials(req,
                                 "sign in with Content-Type: application/json and a body "
                                 "{\"name\": ..., \"password\": ...}",
                                 "the body is {\"name\": NAME, \"password\": PASSWORD} and "
                                 "nothing else",
                                 &name, &password, NULL);
    if (!body)
        return;
    hq_auth_login(hq->auth, req, name, password);
    json_decref(body);
}

void hqd_api_logout(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    int rc = hq_auth_logout(hq->auth, req);
    if (rc == HB_EINVAL) {
        hb_http_reply_error(req, 400, "bad_request",
                            "signing out ends a browser session; a token is revoked with hqd "
                            "users token NAME --revoke TOKEN");
        return;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 503, "storage", "cannot sign out now: %s", hb_strerror(rc));
        return;
    }
    char cookie[256];
    hq_auth_cookie(hq->auth, NULL, 0, cookie, sizeof cookie);
    hb_http_add_header(req, "Set-Cookie", cookie);
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:b}", "name", hq_auth_name(req), "signed_out", 1));
}

json_t *hqd_api_me_json(hqd_t *hq, const hq_ident_t *id)
{
    json_t *me = hq_auth_me_json(hq->auth, id);
    /* When this hqd started, for whoever is signed in: the dashboard tells
     * a restart by it (event ids start again), and /v1/status, which has
     * it too, needs status.read over the whole network. */
    char started[HB_RFC3339_MAX];
    hb_time_format(hq->started_ms, started);
    if (me)
        json_object_set_new(me, "server_started", json_string(started));
    return me;
}

void hqd_api_get_me(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hb_http_reply_json(req, 200, hqd_api_me_json(hq, hq_auth_identity(req)));
}

const hq_view_t *hqd_api_view(hb_http_req_t *req, hb_perm_t perm)
{
    const hq_view_t *v = hq_auth_view(req, perm);
    if (!v)
        hb_http_reply_error(req, 503, "no_memory", "cannot work out your scope now");
    return v;
}

/* GET /v1/audit[?who=][&object=][&from=&to=][&before=CURSOR][&limit=N][&format=csv] */
void hqd_api_get_audit(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char who[AUTH_QUERY_MAX], object[AUTH_QUERY_MAX], before[AUTH_QUERY_MAX], format[8];
    hq_audit_query_t q = {0};
    uint64_t limit = 100;
    if (hb_http_query_opt(req, "who", who, sizeof who) != 0 ||
        hb_http_query_opt(req, "object", object, sizeof object) != 0 ||
        hb_http_query_opt(req, "before", before, sizeof before) != 0 ||
        hb_http_query_opt(req, "format", format, sizeof format) != 0 ||
        hb_http_query_time(req, "from", &q.from_ms) != 0 ||
        hb_http_query_time(req, "to", &q.to_ms) != 0)
        return;
    if (hb_http_query_u64(req, "limit", 1, HQ_AUDIT_PAGE_MAX, &limit) == HB_EINVAL) {
        hb_http_reply_error(req, 400, "bad_parameter", "limit must be from 1 to %d",
                            HQ_AUDIT_PAGE_MAX);
        return;
    }
    q.limit = limit;
    if (format[0] && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "format must be json or csv");
        return;
    }
    q.who = who[0] ? who : NULL;
    q.object = object[0] ? object : NULL;
    q.before = before[0] ? before : NULL;
    if (strcmp(format, "csv") == 0) {
        char *text = NULL, next[HQ_AUDIT_CURSOR_MAX];
        size_t len = 0;
        int rc = hq_auth_audit_csv(hq->auth, &q, &text, &len, next);
        if (rc != 0) {
            hb_http_reply_error(
                req, rc == HB_EINVAL ? 400 : 503, rc == HB_EINVAL ? "bad_parameter" : "storage",
                "%s", rc == HB_EINVAL ? "before is not a cursor of this log" : hb_strerror(rc));
            return;
        }
        /* The next page's cursor rides in a header: the body is the table. */
        if (next[0])
            hb_http_add_header(req, "X-Next-Cursor", next);
        hb_http_reply_raw(req, 200, "text/csv; charset=utf-8", text, len);
        free(text);
        return;
    }
    json_t *out = NULL;
    int rc = hq_auth_audit_json(hq->auth, &q, &out);
    if (rc != 0) {
        hb_http_reply_error(
            req, rc == HB_EINVAL ? 400 : 503, rc == HB_EINVAL ? "bad_parameter" : "storage", "%s",
            rc == HB_EINVAL ? "before is not a cursor of this log" : hb_strerror(rc));
        return;
    }
    hb_http_reply_json(req, 200, out);
}
