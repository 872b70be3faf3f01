/* Access control of hqd's HTTP API (issue 12): the guard every request
 * passes (hb_http_set_guard) and the audit written after it
 * (hb_http_set_after), sign-in with a password into a browser session, and
 * what handlers ask about the caller.
 *
 * The guard, in order: the Host must be one of the configured names (421;
 * GET /v1/health is exempt, for load balancers); a public route passes;
 * otherwise the caller is a bearer token ("Authorization: Bearer hqt_...")
 * or a session cookie (401 without either, or when it is unknown, revoked
 * or expired); a write made with a cookie carries the session's CSRF token
 * in X-CSRF-Token (403); the caller holds the route's permission (403
 * naming it and the roles that grant it) where the route needs it: over the
 * whole network, or over the hall, region or campaign the route's parameter
 * names (403 naming the object and the caller's scope). Routes of scope
 * "any" pass with the permission held anywhere; their handlers keep what
 * they show to the caller's view (hq_auth_view).
 *
 * A token or session is looked up once and then kept in a cache of
 * identities; every request reads the auth store's generation (one LMDB
 * read through a reused transaction) and empties the cache when it moved,
 * so that `hqd users remove` or a revoked token, done by another process,
 * counts from the next request on. The housekeeping tick does the same and
 * closes the streams whose owner is gone. Runs on the loop thread. */
#ifndef HQD_AUTH_H
#define HQD_AUTH_H

#include "ident.h"

#include "control.h"
#include "sse.h"
#include "hallbus/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_AUTH_COOKIE "hallbus_session"
#define HQ_AUTH_CSRF_HEADER "x-csrf-token"
/* How long a token asked for with a password (POST /v1/tokens) lasts, as
 * hqd users token's default. */
#define HQ_AUTH_LOGIN_TOKEN_MS (90LL * 86400 * 1000)
#define HQ_AUTH_HOSTS_MAX 32
#define HQ_AUTH_LOGIN_FAILS 5         /* failed sign-ins per name, and per address, ... */
#define HQ_AUTH_LOGIN_WINDOW_MS 60000 /* ... in this long; the next gets 429 */
#define HQ_AUTH_TOUCH_EVERY_MS 60000  /* last use is written at most this often */

typedef struct hq_auth hq_auth_t;

typedef struct hq_auth_config {
    uv_loop_t *loop;    /* hqd's: password checks go to its thread pool */
    const char *dir;    /* the auth store (DATA/auth) */
    const char *listen; /* the HTTP listen setting, HOST:PORT, for the default Host names */
    int port;           /* the port bound */
    /* Host names the API answers to, "name" (any port) or "name:port"; none:
     * the listen address, localhost, 127.0.0.1 and [::1], with the port. */
    char *const *hosts;
    size_t n_hosts;
    bool tls;                 /* cookies get Secure */
    int64_t session_idle_ms;  /* a session unused this long ends */
    int64_t session_max_ms;   /* and any session ends this long after sign-in */
    int64_t login_per_second; /* password checks (Argon2id) per second, at most */
    int64_t audit_retention_ms;
    uint64_t audit_max; /* records kept at most */
} hq_auth_config_t;

int hq_auth_new(const hq_auth_config_t *cfg, hq_control_t *ctl, hq_auth_t **out, char *err,
                size_t errlen);
/* Writes what is pending (last uses, queued audit records) and frees. */
void hq_auth_destroy(hq_auth_t **a);

/* The hb_http guard and after-hook; `arg` is the hq_auth_t. */
bool hq_auth_guard(hb_http_req_t *req, const hb_route_t *route, void *arg);
void hq_auth_after(hb_http_req_t *req, const hb_route_t *route, int status, void *arg);

/* Housekeeping, every tick: a moved generation empties the cache and
 * closes the streams whose owner is no longer who they were (removed,
 * revoked, signed out, roles changed); queued audit records and due last
 * uses are written. */
void hq_auth_tick(hq_auth_t *a, hq_sse_t *sse);
/* Every minute: ends expired sessions (and their streams), prunes the
 * audit log. */
void hq_auth_prune(hq_auth_t *a, hq_sse_t *sse);

/* ---- what handlers ask. `req` passed the guard. */

/* The caller; NULL on public routes (and before sign-in). */
hq_ident_t *hq_auth_identity(const hb_http_req_t *req);
/* The caller's name ("" when none): the `by` of every change. */
const char *hq_auth_name(const hb_http_req_t *req);
/* Where the caller holds `perm`, over the organisation as it is now. NULL
 * only when out of memory (treat as seeing nothing). */
const hq_view_t *hq_auth_view(const hb_http_req_t *req, hb_perm_t perm);
/* Answers 403 {"error": "forbidden", "reason": ...} for an object outside
 * the caller's scope for `perm`, the reason ending with where they hold
 * it; recorded by the audit. */
void hq_auth_forbid(hb_http_req_t *req, hb_perm_t perm, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* For the audit record of this request: the object it changed (when the
 * path does not name it), and the object's version before and after. */
void hq_auth_note_object(hb_http_req_t *req, const char *id);
void hq_auth_note_versions(hb_http_req_t *req, int64_t before, int64_t after);
/* The reason of a refusal a handler answered itself (four eyes). */
void hq_auth_note_reason(hb_http_req_t *req, const char *reason);

/* The value of cookie `name` in a Cookie header ("a=1; b=2") into `out`;
 * false when it is absent, empty or does not fit. */
bool hq_auth_cookie_value(const char *header, const char *name, char *out, size_t outlen);
/* The person whose live browser session the request's cookie names, for
 * a public route that shows more to a person signed in (the dashboard's
 * page, api/page.c); NULL for no cookie, an unknown, ended or expired
 * session. Answers nothing and refuses nothing. A reference: the caller
 * hq_ident_unref()s it. Counts as a use of the session (its idle time). */
hq_ident_t *hq_auth_session_of(hq_auth_t *a, const hb_http_req_t *req);

/* ---- the change stream: a stream belongs to the caller */

/* The owner of a stream `req` opens (a reference to the caller and what
 * they may see); false when out of memory. */
bool hq_auth_stream_owner(const hb_http_req_t *req, hq_sse_owner_t *out);

/* ---- sign-in (api/auth.c reads the request) */

/* Answers POST /v1/login for `name` and `password` (copied): 429 with
 * Retry-After at once when the name or the address failed
 * HQ_AUTH_LOGIN_FAILS times in the last minute (checks under way count) or
 * HQ checks login_per_second passwords this second; otherwise the answer is
 * deferred while the thread pool checks the password, then 200 with the
 * session cookie and /v1/me's object, or 401 (an unknown name, no password
 * set, a wrong password: the same answer). Every outcome is in the audit
 * log. */
void hq_auth_login(hq_auth_t *a, hb_http_req_t *req, const char *name, const char *password);
/* Answers POST /v1/tokens: the same throttle, check and refusals as
 * hq_auth_login, but a right password makes an API token for the person
 * named `token_name` (hq_auth_token_name_ok), valid until `expires_ms` (0:
 * never), and answers 201 {"name", "token_name", "token", "expires_at"}
 * (the token shown once) without a session; 409 when the person has a live
 * token of that name or HQ_AUTH_TOKENS_MAX live ones. For hallctl login. */
void hq_auth_login_token(hq_auth_t *a, hb_http_req_t *req, const char *name, const char *password,
                         const char *token_name, int64_t expires_ms);
/* Revokes the caller's own token named `token_name` (a session or a token
 * of theirs asks): HB_ENOTFOUND (none live of that name), or a storage
 * error. Takes effect at the next request; streams it opened close within
 * a second. */
int hq_auth_revoke_own(hq_auth_t *a, hb_http_req_t *req, const char *token_name);
/* Ends the caller's session. HB_EINVAL when the caller used a token. */
int hq_auth_logout(hq_auth_t *a, hb_http_req_t *req);
/* The caller as /v1/me shows it: name, credential, roles with scopes,
 * permissions, and a session's CSRF token and ends. New reference. */
json_t *hq_auth_me_json(hq_auth_t *a, const hq_ident_t *id);
/* The Set-Cookie value for a session (`secret` NULL: the one that clears
 * it). */
void hq_auth_cookie(const hq_auth_t *a, const char *secret, int64_t max_age_s, char *out,
                    size_t outlen);
bool hq_auth_tls(const hq_auth_t *a);

/* ---- the audit log (audit.c) */

typedef struct hq_audit_query {
    const char *who;        /* NULL: everyone */
    const char *object;     /* NULL: every object */
    int64_t from_ms, to_ms; /* 0: open */
    const char *before;     /* a cursor from a previous page; NULL: the newest */
    size_t limit;           /* 1..HQ_AUDIT_PAGE_MAX */
} hq_audit_query_t;

#define HQ_AUDIT_PAGE_MAX 1000
#define HQ_AUDIT_SCAN_MAX 100000 /* records read by one page at most */

/* {"records": [...], "next": cursor or null}; HB_EINVAL for a bad cursor. */
int hq_auth_audit_json(hq_auth_t *a, const hq_audit_query_t *q, json_t **out);
/* The same page as CSV (UTF-8 with a BOM; fields a spreadsheet would take
 * for a formula start with an apostrophe), malloc'd, and the next cursor. */
int hq_auth_audit_csv(hq_auth_t *a, const hq_audit_query_t *q, char **out, size_t *len,
                      char next[HQ_AUDIT_CURSOR_MAX]);

/* Records a change that came another way than an API request (a hall
 * rotating its key over the link, api/enrol.c): `who` (e.g. "hall:H0042"),
 * `via` ("link"), `action` ("key_rotated"), the object, the status it
 * stands for (2xx: done, written at once; else refused, queued like the
 * API's refusals) and the reason (NULL on success). */
void hq_auth_audit_note(hq_auth_t *a, const char *who, const char *via, const char *action,
                        const char *object, int status, const char *reason);

/* Per-request cost figures, for /v1/status. */
typedef struct hq_auth_stats {
    uint64_t allowed, unauthenticated, forbidden, wrong_host;
    uint64_t cache_hits, cache_misses, generations;
    uint64_t logins, login_failures, login_throttled;
    uint64_t streams_closed, audit_records, audit_dropped;
} hq_auth_stats_t;
void hq_auth_get_stats(const hq_auth_t *a, hq_auth_stats_t *out);
json_t *hq_auth_stats_json(const hq_auth_t *a);

#endif
