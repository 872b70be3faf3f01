/* Sign-in with a password into a browser session (see auth.h): failures
 * counted per name and per address (HQ_AUTH_LOGIN_FAILS a minute, then
 * refused with the seconds to wait, before any password is checked), a cap
 * on Argon2id checks per second for the whole daemon (each takes tens of
 * milliseconds of the loop), the same answer and about the same time for
 * an unknown name as for a wrong password; sign-out; who the caller is. */
#include "auth_int.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ throttle */

static auth_fail_t *s_fail_find(hq_auth_t *a, const char *key, bool make, int64_t now)
{
    auth_fail_t *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < AUTH_THROTTLE_MAX; i++) {
        auth_fail_t *f = &a->fails[i];
        if (f->key[0] && strcmp(f->key, key) == 0)
            return f;
        if (!make)
            continue;
        int64_t newest = f->n ? f->at[(f->n - 1) % HQ_AUTH_LOGIN_FAILS] : 0;
        bool stale = f->key[0] && now - newest > HQ_AUTH_LOGIN_WINDOW_MS;
        if (!free_slot && (!f->key[0] || stale))
            free_slot = f;
        if (!oldest || newest < (oldest->n ? oldest->at[(oldest->n - 1) % HQ_AUTH_LOGIN_FAILS] : 0))
            oldest = f;
    }
    if (!make)
        return NULL;
    /* Full of recent failures: the entry idle longest goes. */
    auth_fail_t *f = free_slot ? free_slot : oldest;
    memset(f, 0, sizeof *f);
    snprintf(f->key, sizeof f->key, "%s", key);
    return f;
}

/* Seconds until `key` may try again (0: now). */
static int64_t s_fail_wait(hq_auth_t *a, const char *key, int64_t now)
{
    auth_fail_t *f = s_fail_find(a, key, false, now);
    if (!f || f->n < HQ_AUTH_LOGIN_FAILS)
        return 0;
    /* The ring's oldest failure: once it is a minute old, one more try. */
    int64_t oldest = f->at[f->n % HQ_AUTH_LOGIN_FAILS];
    int64_t wait_ms = oldest + HQ_AUTH_LOGIN_WINDOW_MS - now;
    return wait_ms > 0 ? (wait_ms + 999) / 1000 : 0;
}

static void s_fail_add(hq_auth_t *a, const char *key, int64_t now)
{
    auth_fail_t *f = s_fail_find(a, key, true, now);
    /* n counts every failure; the ring keeps the last five times. */
    f->at[f->n % HQ_AUTH_LOGIN_FAILS] = now;
    if (f->n < 250)
        f->n++;
    else
        f->n = HQ_AUTH_LOGIN_FAILS + (uint8_t)(f->n % HQ_AUTH_LOGIN_FAILS);
}

static void s_fail_clear(hq_auth_t *a, const char *key, int64_t now)
{
    auth_fail_t *f = s_fail_find(a, key, false, now);
    if (f)
        memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------- login */

int hq_auth_login(hq_auth_t *a, hb_http_req_t *req, const char *name, const char *password,
                  hq_login_t *out, int64_t *retry_after_s)
{
    memset(out, 0, sizeof *out);
    *retry_after_s = 0;
    int64_t now = hb_now_ms();
    char addr[64] = "?", group[64] = "?", kname[96], kaddr[96];
    hb_http_peer(req, addr, sizeof addr, group, sizeof group);
    snprintf(kname, sizeof kname, "name:%.80s", name);
    snprintf(kaddr, sizeof kaddr, "addr:%s", group);
    int64_t wait = s_fail_wait(a, kname, now);
    int64_t wait_addr = s_fail_wait(a, kaddr, now);
    if (wait_addr > wait)
        wait = wait_addr;
    if (wait > 0) {
        *retry_after_s = wait;
        a->stats.login_throttled++;
        auth_audit_login(a, req, "login_throttled", name,
                         wait_addr >= wait ? "too many failed sign-ins from this address"
                                           : "too many failed sign-ins for this name");
        return HB_EAGAIN;
    }
    /* Argon2id holds the loop for tens of milliseconds: a cap per second
     * keeps the rest of HQ answering whatever comes. */
    int64_t second = now / 1000;
    if (second != a->login_second) {
        a->login_second = second;
        a->login_checks = 0;
    }
    if (a->login_checks >= a->cfg.login_per_second) {
        *retry_after_s = 1;
        a->stats.login_throttled++;
        auth_audit_login(a, req, "login_throttled", name, "too many sign-ins this second");
        return HB_EAGAIN;
    }
    a->login_checks++;
    hq_person_t p;
    bool known = hq_auth_name_ok(name) && hq_authdb_person_get(a->db, name, &p) == 0 &&
                 p.pwhash[0];
    if (!known && !a->dummy_hash[0]) {
        /* Made once: an unknown name costs the same check as a known one. */
        if (crypto_pwhash_str(a->dummy_hash, "not a password", 14,
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
            a->dummy_hash[0] = '\0';
    }
    const char *hash = known ? p.pwhash : a->dummy_hash;
    bool ok = hash[0] && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 && known;
    if (!ok) {
        s_fail_add(a, kname, now);
        s_fail_add(a, kaddr, now);
        a->stats.login_failures++;
        auth_audit_login(a, req, "login_failed", name,
                         known ? "wrong password" : "unknown name or no password set");
        return HB_EAUTH;
    }
    s_fail_clear(a, kname, now);
    hq_session_t ses;
    int rc = hq_authdb_session_add(a->db, p.name, addr, now, out->secret, &ses);
    if (rc != 0)
        return rc;
    hq_ident_t *id = hq_ident_new(&p, HQ_CRED_SESSION, ses.hash);
    if (!id) {
        hq_authdb_session_remove(a->db, ses.hash);
        return HB_ENOMEM;
    }
    snprintf(id->csrf, sizeof id->csrf, "%s", ses.csrf);
    id->created_ms = now;
    id->expires_ms = now + a->cfg.session_max_ms;
    id->last_ms = id->written_ms = now;
    sodium_memzero(&ses, sizeof ses);
    auth_cache_put(a, id);
    out->ident = id;
    out->expires_ms = id->expires_ms;
    a->stats.logins++;
    auth_audit_login(a, req, "login", p.name, NULL);
    return 0;
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
