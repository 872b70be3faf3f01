/* Sign-in with a password into a browser session, or into a new API token
 * for a script or hallctl (see auth.h). The
 * password is checked (Argon2id, about 80 ms of a core) on libuv's thread
 * pool, never on the loop: the request's answer is deferred
 * (hb_http_defer) and given when the check is done. Before any check:
 * failures are counted per name and per address (HQ_AUTH_LOGIN_FAILS a
 * minute, checks under way counted too, so that a burst in parallel is held
 * like one in a row), then refused with the seconds to wait; and a cap on
 * checks started per second for the whole daemon. An unknown name costs
 * the same hashing as a wrong password and gets the same answer. Also:
 * sign-out, who the caller is, the cookie. */
#include "auth_int.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ throttle */

static int64_t s_newest(const auth_fail_t *f)
{
    return f->n ? f->at[(f->n - 1) % HQ_AUTH_LOGIN_FAILS] : 0;
}

static auth_fail_t *s_fail_find(hq_auth_t *a, const char *key, bool make, int64_t now)
{
    auth_fail_t *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < AUTH_THROTTLE_MAX; i++) {
        auth_fail_t *f = &a->fails[i];
        if (f->key[0] && strcmp(f->key, key) == 0)
            return f;
        if (!make || f->pending)
            continue; /* an entry with checks under way stays */
        bool stale = f->key[0] && now - s_newest(f) > HQ_AUTH_LOGIN_WINDOW_MS;
        if (!free_slot && (!f->key[0] || stale))
            free_slot = f;
        if (!oldest || s_newest(f) < s_newest(oldest))
            oldest = f;
    }
    if (!make)
        return NULL;
    /* Full of recent failures: the entry idle longest goes. */
    auth_fail_t *f = free_slot ? free_slot : oldest;
    if (!f)
        return NULL;
    memset(f, 0, sizeof *f);
    snprintf(f->key, sizeof f->key, "%s", key);
    return f;
}

/* Seconds until `key` may try again (0: now): after HQ_AUTH_LOGIN_FAILS
 * failures in the window, until the oldest of them leaves it; when checks
 * under way would make that many, a second. */
static int64_t s_fail_wait(hq_auth_t *a, const char *key, int64_t now)
{
    auth_fail_t *f = s_fail_find(a, key, false, now);
    if (!f)
        return 0;
    int recent = 0;
    int64_t oldest = 0;
    for (unsigned i = 0; i < f->n && i < HQ_AUTH_LOGIN_FAILS; i++) {
        if (now - f->at[i] < HQ_AUTH_LOGIN_WINDOW_MS) {
            if (!recent || f->at[i] < oldest)
                oldest = f->at[i];
            recent++;
        }
    }
    if (recent >= HQ_AUTH_LOGIN_FAILS)
        return (oldest + HQ_AUTH_LOGIN_WINDOW_MS - now + 999) / 1000;
    return recent + f->pending >= HQ_AUTH_LOGIN_FAILS ? 1 : 0;
}

static void s_fail_begin(hq_auth_t *a, const char *key, int64_t now)
{
    auth_fail_t *f = s_fail_find(a, key, true, now);
    if (f && f->pending < 250)
        f->pending++;
}

/* A check of `key` ended: a failure is counted; a success clears the
 * name's failures (never the address's: one right password among many
 * guesses from there does not forgive them). */
static void s_fail_end(hq_auth_t *a, const char *key, bool failed, bool clear, int64_t now)
{
    auth_fail_t *f = s_fail_find(a, key, failed, now);
    if (!f)
        return;
    if (f->pending)
        f->pending--;
    if (failed) {
        /* n counts every failure; the ring keeps the last five times. */
        f->at[f->n % HQ_AUTH_LOGIN_FAILS] = now;
        f->n = f->n < 250 ? (uint8_t)(f->n + 1)
                          : (uint8_t)(HQ_AUTH_LOGIN_FAILS + f->n % HQ_AUTH_LOGIN_FAILS);
    } else if (clear) {
        uint8_t pending = f->pending;
        memset(f, 0, sizeof *f);
        if (pending) {
            snprintf(f->key, sizeof f->key, "%s", key);
            f->pending = pending;
        }
    }
}

/* ------------------------------------------------------------- login */

typedef struct login_work {
    uv_work_t work;
    hq_auth_t *a;
    hb_http_deferred_t *d;
    hq_person_t person; /* when `known` */
    bool known, ok;
    const char *route; /* "/v1/login" or "/v1/tokens", for the audit log */
    /* A token to make instead of a session (""), and when it ends (0: never). */
    char token_name[HQ_AUTH_TOKEN_NAME_MAX];
    int64_t expires_ms;
    char name[HQ_AUTH_NAME_MAX];
    char password[HQ_AUTH_PASSWORD_MAX + 1];
    char from[64], kname[96], kaddr[96];
} login_work_t;

/* On the thread pool: the password against the stored hash, or, for a
 * name without one, the same work for nothing. */
static void s_check(uv_work_t *w)
{
    login_work_t *lw = w->data;
    size_t len = strlen(lw->password);
    if (lw->known) {
        lw->ok = crypto_pwhash_str_verify(lw->person.pwhash, lw->password, len) == 0;
    } else {
        char waste[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str(waste, lw->password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
            waste[0] = '\0';
        lw->ok = false;
    }
    sodium_memzero(lw->password, sizeof lw->password);
}

static void s_free_work(login_work_t *lw)
{
    sodium_memzero(lw, sizeof *lw);
    free(lw);
}

/* The password was right and a token was asked for: made, shown once in
 * the answer (never stored: only its hash is), and recorded. */
static void s_issue_token(login_work_t *lw, hb_http_req_t *req)
{
    hq_auth_t *a = lw->a;
    char secret[HQ_AUTH_SECRET_MAX], err[256] = "";
    int rc = hq_authdb_token_add(a->db, lw->person.name, lw->token_name, lw->expires_ms, secret,
                                 err, sizeof err);
    if (rc == HB_EEXIST || rc == HB_ETOOBIG) {
        hb_http_reply_error(req, 409, rc == HB_EEXIST ? "exists" : "too_many_tokens", "%s",
                            err[0] ? err : hb_strerror(rc));
        return;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 503, "storage", "cannot make a token now: %s",
                            err[0] ? err : hb_strerror(rc));
        return;
    }
    a->stats.logins++;
    auth_audit_login(a, lw->route, lw->from, "token_issued", lw->person.name, lw->token_name, NULL);
    json_t *expires = json_null();
    if (lw->expires_ms > 0) {
        char at[HB_RFC3339_MAX];
        hb_time_format(lw->expires_ms, at);
        expires = json_string(at);
    }
    hb_http_reply_json(req, 201,
                       json_pack("{s:s, s:s, s:s, s:o}", "name", lw->person.name, "token_name",
                                 lw->token_name, "token", secret, "expires_at", expires));
    sodium_memzero(secret, sizeof secret);
}

/* Back on the loop: the session (or the token), the audit record, the
 * answer. */
static void s_checked(uv_work_t *w, int status)
{
    login_work_t *lw = w->data;
    hq_auth_t *a = lw->a;
    int64_t now = hb_now_ms();
    bool ok = status == 0 && lw->ok;
    a->logins_running--;
    s_fail_end(a, lw->kname, !ok, true, now);
    s_fail_end(a, lw->kaddr, !ok, false, now);
    hb_http_req_t *req = hb_http_deferred_req(lw->d);
    if (!ok) {
        a->stats.login_failures++;
        auth_audit_login(a, lw->route, lw->from, "login_failed", lw->name, NULL,
                         lw->known ? "wrong password" : "unknown name or no password set");
        if (req)
            hb_http_reply_error(req, 401, "unauthenticated", "wrong name or password");
        hb_http_deferred_free(&lw->d);
        s_free_work(lw);
        return;
    }
    if (!req) { /* the client went away: no session for nobody to hold */
        hb_http_deferred_free(&lw->d);
        s_free_work(lw);
        return;
    }
    if (lw->token_name[0]) {
        s_issue_token(lw, req);
        hb_http_deferred_free(&lw->d);
        s_free_work(lw);
        return;
    }
    hq_session_t ses;
    char secret[HQ_AUTH_SECRET_MAX];
    int rc = hq_authdb_session_add(a->db, lw->person.name, lw->from, now, secret, &ses);
    hq_ident_t *id = rc == 0 ? hq_ident_new(&lw->person, HQ_CRED_SESSION, ses.hash) : NULL;
    if (!id) {
        if (rc == 0)
            hq_authdb_session_remove(a->db, ses.hash);
        hb_http_reply_error(req, 503, "storage", "cannot sign in now: %s",
                            hb_strerror(rc ? rc : HB_ENOMEM));
        hb_http_deferred_free(&lw->d);
        s_free_work(lw);
        return;
    }
    snprintf(id->csrf, sizeof id->csrf, "%s", ses.csrf);
    id->created_ms = now;
    id->expires_ms = now + a->cfg.session_max_ms;
    id->last_ms = id->written_ms = now;
    sodium_memzero(&ses, sizeof ses);
    auth_cache_put(a, id);
    a->stats.logins++;
    auth_audit_login(a, lw->route, lw->from, "login", lw->person.name, NULL, NULL);
    char cookie[256];
    hq_auth_cookie(a, secret, a->cfg.session_max_ms / 1000, cookie, sizeof cookie);
    sodium_memzero(secret, sizeof secret);
    hb_http_add_header(req, "Set-Cookie", cookie);
    sodium_memzero(cookie, sizeof cookie);
    hb_http_reply_json(req, 200, hq_auth_me_json(a, id));
    hq_ident_unref(&id);
    hb_http_deferred_free(&lw->d);
    s_free_work(lw);
}

static void s_login(hq_auth_t *a, hb_http_req_t *req, const char *route, const char *name,
                    const char *password, const char *token_name, int64_t expires_ms);

void hq_auth_login(hq_auth_t *a, hb_http_req_t *req, const char *name, const char *password)
{
    s_login(a, req, "/v1/login", name, password, NULL, 0);
}

void hq_auth_login_token(hq_auth_t *a, hb_http_req_t *req, const char *name, const char *password,
                         const char *token_name, int64_t expires_ms)
{
    s_login(a, req, "/v1/tokens", name, password, token_name, expires_ms);
}

static void s_login(hq_auth_t *a, hb_http_req_t *req, const char *route, const char *name,
                    const char *password, const char *token_name, int64_t expires_ms)
{
    int64_t now = hb_now_ms();
    char addr[64] = "?", group[64] = "?", kname[96], kaddr[96];
    hb_http_peer_text(req, addr, sizeof addr, group, sizeof group);
    snprintf(kname, sizeof kname, "name:%.80s", name);
    snprintf(kaddr, sizeof kaddr, "addr:%s", group);
    int64_t wait = s_fail_wait(a, kname, now), wait_addr = s_fail_wait(a, kaddr, now);
    const char *why = wait_addr >= wait ? "too many failed sign-ins from this address"
                                        : "too many failed sign-ins for this name";
    if (wait_addr > wait)
        wait = wait_addr;
    /* The cap per second keeps a flood of guesses from taking every core
     * the thread pool has. */
    int64_t second = now / 1000;
    if (second != a->login_second) {
        a->login_second = second;
        a->login_checks = 0;
    }
    if (!wait && a->login_checks >= a->cfg.login_per_second) {
        wait = 1;
        why = "too many sign-ins this second";
    }
    if (wait > 0) {
        a->stats.login_throttled++;
        auth_audit_login(a, route, addr, "login_throttled", name, NULL, why);
        char secs[24];
        snprintf(secs, sizeof secs, "%lld", (long long)wait);
        hb_http_add_header(req, "Retry-After", secs);
        hb_http_reply_error(req, 429, "too_many_requests", "%s; try again in %lld s", why,
                            (long long)wait);
        return;
    }
    login_work_t *lw = calloc(1, sizeof *lw);
    if (!lw) {
        hb_http_reply_error(req, 503, "no_memory", "cannot sign in now");
        return;
    }
    lw->a = a;
    lw->work.data = lw;
    lw->route = route;
    if (token_name)
        snprintf(lw->token_name, sizeof lw->token_name, "%s", token_name);
    lw->expires_ms = expires_ms;
    snprintf(lw->name, sizeof lw->name, "%.64s", name);
    snprintf(lw->password, sizeof lw->password, "%s", password);
    snprintf(lw->from, sizeof lw->from, "%s", addr);
    snprintf(lw->kname, sizeof lw->kname, "%s", kname);
    snprintf(lw->kaddr, sizeof lw->kaddr, "%s", kaddr);
    lw->known = hq_auth_name_ok(name) && hq_authdb_person_get(a->db, name, &lw->person) == 0 &&
                lw->person.pwhash[0];
    lw->d = hb_http_defer(req);
    if (!lw->d) {
        s_free_work(lw);
        return;
    }
    if (uv_queue_work(a->cfg.loop, &lw->work, s_check, s_checked) != 0) {
        hb_http_reply_error(hb_http_deferred_req(lw->d), 503, "unavailable",
                            "cannot check the password now");
        hb_http_deferred_free(&lw->d);
        s_free_work(lw);
        return;
    }
    a->login_checks++;
    a->logins_running++;
    s_fail_begin(a, kname, now);
    s_fail_begin(a, kaddr, now);
}

int hq_auth_logout(hq_auth_t *a, hb_http_req_t *req)
{
    hq_ident_t *id = hq_auth_identity(req);
    if (!id || id->kind != HQ_CRED_SESSION)
        return HB_EINVAL;
    int rc = hq_authdb_session_remove(a->db, id->cred);
    if (rc != 0 && rc != HB_ENOTFOUND)
        return rc;
    /* Every holder of the identity (the cache, this session's streams)
     * sees it ended at once; the next tick closes the streams. */
    id->ended = true;
    a->gen_moved = true;
    return 0;
}

int hq_auth_revoke_own(hq_auth_t *a, hb_http_req_t *req, const char *token_name)
{
    hq_ident_t *id = hq_auth_identity(req);
    if (!id)
        return HB_EINVAL;
    int rc = hq_authdb_token_revoke(a->db, id->name, token_name);
    if (rc != 0)
        return rc;
    /* The store's generation moved: the next request drops every cached
     * identity; the tick closes the token's streams. */
    a->gen_moved = true;
    return 0;
}

/* ------------------------------------------------------------ who am I */

json_t *hq_auth_me_json(hq_auth_t *a, const hq_ident_t *id)
{
    json_t *roles = json_array(), *perms = json_array();
    for (size_t i = 0; i < id->n_grants; i++) {
        char scope[HQ_AUTH_SCOPE_TEXT_MAX];
        hq_scope_format(&id->grants[i], scope, sizeof scope);
        json_array_append_new(roles, json_pack("{s:s, s:s}", "role",
                                               hq_role_name(id->grants[i].role), "scope", scope));
    }
    for (int p = HB_PERM_UNSET + 1; p < HB_PERM_COUNT; p++) {
        if (!hq_ident_has(id, (hb_perm_t)p))
            continue;
        char where[512];
        hq_ident_where(id, (hb_perm_t)p, where, sizeof where);
        json_array_append_new(perms, json_pack("{s:s, s:s}", "permission",
                                               hb_perm_name((hb_perm_t)p), "where", where));
    }
    json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "name", id->name, "via",
                          id->kind == HQ_CRED_TOKEN ? "token" : "session", "roles", roles,
                          "permissions", perms);
    if (!o)
        return NULL;
    char at[HB_RFC3339_MAX];
    if (id->kind == HQ_CRED_TOKEN) {
        json_object_set_new(o, "token", json_string(id->token_name));
        if (id->expires_ms > 0) {
            hb_time_format(id->expires_ms, at);
            json_object_set_new(o, "expires_at", json_string(at));
        } else {
            json_object_set_new(o, "expires_at", json_null());
        }
    } else {
        json_object_set_new(o, "csrf_token", json_string(id->csrf));
        hb_time_format(id->expires_ms, at);
        json_object_set_new(o, "expires_at", json_string(at));
        json_object_set_new(o, "idle_timeout_s",
                            json_integer((json_int_t)(a->cfg.session_idle_ms / 1000)));
    }
    return o;
}

void hq_auth_cookie(const hq_auth_t *a, const char *secret, int64_t max_age_s, char *out,
                    size_t outlen)
{
    /* HttpOnly: scripts never read it (the CSRF token is what they send);
     * SameSite=Strict: no other site's page sends it; Secure with TLS. */
    snprintf(out, outlen, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             HQ_AUTH_COOKIE, secret ? secret : "", (long long)(secret ? max_age_s : 0),
             a->cfg.tls ? "; Secure" : "");
}
