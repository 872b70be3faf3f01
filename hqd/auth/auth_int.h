/* What guard.c, login.c and audit.c share inside hqd/auth/: the hq_auth_t
 * itself, the per-request context the guard hands handlers through
 * hb_http_req_t.caller, and the audit queue. Private to hqd/auth/. */
#ifndef HQD_AUTH_INT_H
#define HQD_AUTH_INT_H

#include "auth.h"
#include "authdb.h"
#include "ident.h"

#include <jansson.h>

#define AUTH_CACHE_SLOTS 8192  /* a power of two; the cache holds half as many identities */
#define AUTH_THROTTLE_MAX 4096 /* names and addresses whose failures are counted */
#define AUTH_AUDIT_QUEUE_MAX 10000
#define AUTH_REASON_MAX 512
#define AUTH_OBJECT_MAX 80
#define AUTH_HOST_MAX 300

typedef struct auth_host {
    char name[AUTH_HOST_MAX]; /* lower case; "[::1]" keeps its brackets */
    int port;                 /* -1: any */
} auth_host_t;

typedef struct auth_slot {
    uint8_t hash[HQ_AUTH_HASH];
    hq_ident_t *id; /* NULL: free */
} auth_slot_t;

typedef struct auth_fail {
    char key[96];                    /* "name:alice" or "addr:192.0.2.7"; "" when free */
    uint8_t n;                       /* failures so far (capped) */
    uint8_t pending;                 /* checks under way */
    int64_t at[HQ_AUTH_LOGIN_FAILS]; /* ring of the last failures */
} auth_fail_t;

/* What the guard learned about the request being answered; one at a time,
 * since handlers answer before they return. */
typedef struct auth_req {
    hq_auth_t *a;
    hq_ident_t *id; /* a reference, released by the after-hook */
    bool cookie;    /* the credential came as a session cookie */
    char reason[AUTH_REASON_MAX];
    char object[AUTH_OBJECT_MAX];
    int64_t before, after;
    bool versions;
} auth_req_t;

struct hq_auth {
    hq_auth_config_t cfg;
    hq_control_t *ctl;
    hq_authdb_t *db;
    uint64_t gen;       /* the auth store's generation the cache reflects */
    bool gen_moved;     /* since the last tick */
    auth_slot_t *cache; /* AUTH_CACHE_SLOTS */
    size_t cached;
    auth_host_t hosts[HQ_AUTH_HOSTS_MAX + 4];
    size_t n_hosts;
    auth_req_t cur;
    bool busy; /* a request holds `cur` */
    /* sign-in */
    auth_fail_t fails[AUTH_THROTTLE_MAX];
    int64_t login_second;
    int64_t login_checks;
    size_t logins_running; /* password checks on the thread pool */
    /* the audit records waiting for the tick */
    json_t *queue[AUTH_AUDIT_QUEUE_MAX];
    size_t queued;
    hq_auth_stats_t stats;
};

/* guard.c: an identity for a credential, from the cache or the store; a
 * borrowed pointer (take a reference to keep it), or NULL: unknown. */
hq_ident_t *auth_lookup(hq_auth_t *a, hq_cred_kind_t kind, const uint8_t hash[HQ_AUTH_HASH]);
/* Puts `id` in the cache (the cache takes a reference). */
void auth_cache_put(hq_auth_t *a, hq_ident_t *id);
/* Re-reads the generation; a move writes due last uses and empties the
 * cache. */
void auth_refresh(hq_auth_t *a);
/* Whether the identity's credential has ended at `now_ms` (token expiry,
 * session idle or absolute end), with the reason. */
bool auth_expired(const hq_auth_t *a, const hq_ident_t *id, int64_t now_ms, const char **why);

/* audit.c: a record of the request (who, when, from where, what) with
 * its outcome; `sync` writes it now, else it waits for the tick. Takes no
 * reference on `extra` (members copied in). */
void auth_audit_request(hq_auth_t *a, hb_http_req_t *req, const hb_route_t *route, int status);
/* A sign-in or a failure of one, from address `from`, through `route`
 * ("/v1/login", or "/v1/tokens" for a token asked with a password):
 * `action` "login", "token_issued" (`object` the token's name),
 * "login_failed", "login_throttled". */
void auth_audit_login(hq_auth_t *a, const char *route, const char *from, const char *action,
                      const char *name, const char *object, const char *reason);
void auth_audit_add(hq_auth_t *a, json_t *rec, bool sync);
void auth_audit_flush(hq_auth_t *a);

#endif
