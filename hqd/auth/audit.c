/* The audit log of hqd (see auth.h): one record for every change made
 * through the API (a write that succeeded or was refused for permission),
 * every sign-in, failed sign-in and sign-out, and every `hqd users`
 * command (users.c writes those). A change is written at once, in its own
 * synced transaction, since the change itself was; a refusal waits for the
 * next tick with the others (a caller who scripts thousands of refused
 * writes must not cost a disk sync each), in a bounded queue.
 *
 * A record: {"id", "at", "at_ms", "who", "via", "from", "action",
 * "method", "route", "object", "status", "outcome", "reason", "before",
 * "after"}; members that do not apply are null. */
#include "auth_int.h"
#include "csv.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/store.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_CSV_MAX ((size_t)64 << 20)

static json_t *s_str_or_null(const char *s) { return s && s[0] ? json_string(s) : json_null(); }

/* A record's common part: when and from where. */
static json_t *s_record(const char *from, const char *action, int64_t now)
{
    char at[HB_RFC3339_MAX];
    hb_time_format(now, at);
    return json_pack("{s:I, s:s, s:s, s:o}", "at_ms", (json_int_t)now, "at", at, "action", action,
                     "from", s_str_or_null(from));
}

void auth_audit_add(hq_auth_t *a, json_t *rec, bool sync)
{
    if (!rec) {
        a->stats.audit_dropped++;
        return;
    }
    if (sync) {
        /* The refusals still queued happened before this change: they go
         * into the same transaction ahead of it, so the log's order (time,
         * then sequence) is the order things happened in, even within one
         * millisecond. */
        if (a->queued >= AUTH_AUDIT_QUEUE_MAX)
            auth_audit_flush(a);
        a->queue[a->queued++] = rec;
        auth_audit_flush(a);
        return;
    }
    if (a->queued >= AUTH_AUDIT_QUEUE_MAX) {
        json_decref(rec);
        a->stats.audit_dropped++;
        hb_log_once("audit.queue", HB_LOG_WARN,
                    "auth: the audit queue is full (%d refusals in one tick); further ones are "
                    "counted, not recorded",
                    AUTH_AUDIT_QUEUE_MAX);
        return;
    }
    a->queue[a->queued++] = rec;
}

void auth_audit_flush(hq_auth_t *a)
{
    if (!a->queued)
        return;
    int rc = hq_authdb_audit_append(a->db, a->queue, a->queued);
    if (rc == 0)
        a->stats.audit_records += a->queued;
    else {
        a->stats.audit_dropped += a->queued;
        hb_log_once("audit.write", HB_LOG_ERROR, "auth: cannot write the audit log: %s",
                    hb_strerror(rc));
    }
    for (size_t i = 0; i < a->queued; i++)
        json_decref(a->queue[i]);
    a->queued = 0;
}

/* The object a route's path names: its scope's parameter, else its first. */
static const char *s_path_object(const hb_http_req_t *req, const hb_route_t *route)
{
    if (route->scope_param)
        return hb_http_param(req, route->scope_param);
    const char *colon = strchr(route->pattern, ':');
    if (!colon)
        return NULL;
    char name[HB_ROUTER_NAME_MAX + 1];
    size_t n = strcspn(colon + 1, "/");
    if (n == 0 || n >= sizeof name)
        return NULL;
    memcpy(name, colon + 1, n);
    name[n] = '\0';
    return hb_http_param(req, name);
}

/* A record's members past its common part (s_record): a NULL or empty
 * text is null, and so is a version below 0. */
typedef struct audit_fields {
    const char *who, *via, *method, *route, *object, *reason;
    int status;
    int64_t before, after;
} audit_fields_t;

static json_t *s_version_or_null(int64_t v)
{
    return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

/* Writes one record; its outcome is "ok" for a 2xx status. The three
 * kinds of record (a request, a sign-in, a note) are written with it. */
static void s_write(hq_auth_t *a, const char *from, const char *action, const audit_fields_t *f)
{
    json_t *rec = s_record(from, action, hb_now_ms());
    if (!rec) {
        a->stats.audit_dropped++;
        return;
    }
    bool ok = f->status >= 200 && f->status < 300;
    json_object_set_new(rec, "who", s_str_or_null(f->who));
    json_object_set_new(rec, "via", s_str_or_null(f->via));
    json_object_set_new(rec, "method", s_str_or_null(f->method));
    json_object_set_new(rec, "route", s_str_or_null(f->route));
    json_object_set_new(rec, "object", s_str_or_null(f->object));
    json_object_set_new(rec, "status", json_integer(f->status));
    json_object_set_new(rec, "outcome", json_string(ok ? "ok" : "refused"));
    json_object_set_new(rec, "reason", s_str_or_null(f->reason));
    json_object_set_new(rec, "before", s_version_or_null(f->before));
    json_object_set_new(rec, "after", s_version_or_null(f->after));
    auth_audit_add(a, rec, ok);
}

void auth_audit_request(hq_auth_t *a, hb_http_req_t *req, const hb_route_t *route, int status)
{
    bool write = strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
    bool ok = status >= 200 && status < 300;
    /* Sign-in records itself (with the name tried); reads are not changes. */
    if (!write || route->perm == HB_PERM_PUBLIC || (!ok && status != 403))
        return;
    auth_req_t *r = &a->cur;
    char action[HB_ROUTER_PATTERN_MAX + 16], addr[64] = "";
    snprintf(action, sizeof action, "%s %s", req->method, route->pattern);
    hb_http_peer_text(req, addr, sizeof addr, NULL, 0);
    char via[HQ_AUTH_TOKEN_NAME_MAX + 8] = "";
    if (r->id && r->id->kind == HQ_CRED_TOKEN)
        snprintf(via, sizeof via, "token:%s", r->id->token_name);
    else if (r->id)
        snprintf(via, sizeof via, "session");
    /* A success has no reason, except the note a change was made with
     * (publishing the policies: hq_auth_note_reason). */
    audit_fields_t f = {.who = r->id ? r->id->name : NULL,
                        .via = via,
                        .method = req->method,
                        .route = route->pattern,
                        .object = r->object[0] ? r->object : s_path_object(req, route),
                        .reason = r->reason,
                        .status = status,
                        .before = r->versions ? r->before : -1,
                        .after = r->versions ? r->after : -1};
    s_write(a, addr, action, &f);
}

void auth_audit_login(hq_auth_t *a, const char *route, const char *from, const char *action,
                      const char *name, const char *object, const char *reason)
{
    bool issued = strcmp(action, "token_issued") == 0;
    bool ok = issued || strcmp(action, "login") == 0;
    /* A name that is not a name is not repeated into the log as typed. */
    audit_fields_t f = {.who = hq_auth_name_ok(name) ? name : NULL,
                        .via = "password",
                        .method = "POST",
                        .route = route,
                        .object = object,
                        .reason = reason,
                        .status = issued                                ? 201
                                  : ok                                  ? 200
                                  : strcmp(action, "login_failed") == 0 ? 401
                                                                        : 429,
                        .before = -1,
                        .after = -1};
    s_write(a, from, action, &f);
}

void hq_auth_audit_note(hq_auth_t *a, const char *who, const char *via, const char *action,
                        const char *object, int status, const char *reason)
{
    audit_fields_t f = {.who = who,
                        .via = via,
                        .object = object,
                        .reason = reason,
                        .status = status,
                        .before = -1,
                        .after = -1};
    s_write(a, NULL, action, &f);
}

/* ------------------------------------------------------------- query */

typedef struct audit_page {
    const hq_audit_query_t *q;
    json_t *records;
} audit_page_t;

static int s_page_add(json_t *rec, void *arg)
{
    audit_page_t *p = arg;
    const hq_audit_query_t *q = p->q;
    const char *who = json_string_value(json_object_get(rec, "who"));
    const char *object = json_string_value(json_object_get(rec, "object"));
    bool keep = (!q->who || (who && strcmp(who, q->who) == 0)) &&
                (!q->object || (object && strcmp(object, q->object) == 0));
    json_object_del(rec, "at_ms");
    if (keep)
        json_array_append_new(p->records, rec);
    else
        json_decref(rec);
    return json_array_size(p->records) >= q->limit;
}

/* The page of `q` into `records`, and the next page's cursor. */
static int s_page(hq_auth_t *a, const hq_audit_query_t *q, json_t *records,
                  char next[HQ_AUDIT_CURSOR_MAX])
{
    if (q->limit < 1 || q->limit > HQ_AUDIT_PAGE_MAX)
        return HB_EINVAL;
    /* Flush what waits, so that a page read right after a refusal has it. */
    auth_audit_flush(a);
    char start[HQ_AUDIT_CURSOR_MAX] = "";
    const char *before = q->before;
    if ((!before || !before[0]) && q->to_ms > 0) {
        uint8_t key[16] = {0};
        hb_put_be64(key, (uint64_t)q->to_ms);
        sodium_bin2hex(start, sizeof start, key, sizeof key);
        before = start;
    }
    audit_page_t p = {.q = q, .records = records};
    return hq_authdb_audit_walk(a->db, before, q->from_ms, HQ_AUDIT_SCAN_MAX, s_page_add, &p, next);
}

int hq_auth_audit_json(hq_auth_t *a, const hq_audit_query_t *q, json_t **out)
{
    *out = NULL;
    json_t *records = json_array();
    char next[HQ_AUDIT_CURSOR_MAX];
    int rc = records ? s_page(a, q, records, next) : HB_ENOMEM;
    if (rc != 0) {
        json_decref(records);
        return rc;
    }
    *out = json_pack("{s:o, s:o}", "records", records, "next", s_str_or_null(next));
    return *out ? 0 : HB_ENOMEM;
}

/* ---------------------------------------------------------------- CSV */

int hq_auth_audit_csv(hq_auth_t *a, const hq_audit_query_t *q, char **out, size_t *len,
                      char next[HQ_AUDIT_CURSOR_MAX])
{
    *out = NULL;
    *len = 0;
    json_t *records = json_array();
    int rc = records ? s_page(a, q, records, next) : HB_ENOMEM;
    if (rc != 0) {
        json_decref(records);
        return rc;
    }
    static const char *const cols[] = {"id",     "at",     "who",     "via",    "from",   "action",
                                       "object", "status", "outcome", "reason", "before", "after"};
    const size_t ncols = sizeof cols / sizeof cols[0];
    hq_csv_t c;
    hq_csv_init(&c, AUDIT_CSV_MAX);
    hq_csv_bom(&c); /* a spreadsheet then reads the names as UTF-8 */
    for (size_t i = 0; i < ncols; i++)
        hq_csv_field(&c, cols[i], i + 1 == ncols);
    size_t i;
    json_t *rec;
    json_array_foreach (records, i, rec) {
        for (size_t k = 0; k < ncols; k++) {
            const json_t *v = json_object_get(rec, cols[k]);
            char num[32];
            const char *text = "";
            if (json_is_string(v))
                text = json_string_value(v);
            else if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                text = num;
            }
            hq_csv_field(&c, text, k + 1 == ncols);
        }
    }
    json_decref(records);
    if (c.full) {
        hq_csv_free(&c);
        return HB_ETOOBIG;
    }
    *out = c.p;
    *len = c.len;
    return 0;
}
