/* Who may use HQ, on disk: people (their roles, each over a scope, and a
 * password hash), their API tokens and browser sessions (each stored as a
 * hash of its secret, never the secret), a generation counter that moves
 * with every change of people or tokens, and the audit log. One LMDB
 * environment of its own (DATA/auth), opened by hqd and by `hqd users`
 * alike, also at the same time: LMDB serialises the writers, and hqd sees
 * the other process's changes through the generation (read per request
 * through a reused read transaction, hq_authdb_generation).
 *
 * Records are JSON text, small and rare. Secrets: 32 random bytes, shown as
 * a prefix ("hqt_" for tokens, "hqs_" for sessions) and base64url. They are
 * stored as BLAKE2b-256 (libsodium's crypto_generichash, keyed with a fixed
 * domain string): a secret of 256 random bits cannot be guessed from its
 * hash, so a slow password hash would only cost time on every request.
 * Passwords are the opposite case and get Argon2id (crypto_pwhash_str).
 *
 * Not here: what a role may do (roles.h), the organisation (scopes are kept
 * as text and judged by ident.c), HTTP. Single-threaded: one handle is
 * used by one thread (hqd's loop, or the CLI). */
#ifndef HQD_AUTHDB_H
#define HQD_AUTHDB_H

#include "roles.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_AUTH_NAME_MAX 65       /* a person: [A-Za-z0-9_.@-]{1,64} (campaign.h's user rule) */
#define HQ_AUTH_TOKEN_NAME_MAX 65 /* a token's name: [A-Za-z0-9_.-]{1,64} */
#define HQ_AUTH_SCOPE_ID_MAX 65   /* a region or hall id: [A-Za-z0-9_-]{1,64} */
#define HQ_AUTH_SCOPE_TEXT_MAX 72 /* "network", "region/ID", "hall/ID" */
#define HQ_AUTH_GRANTS_MAX 16     /* roles one person holds */
#define HQ_AUTH_HASH 32           /* BLAKE2b-256 of a secret */
#define HQ_AUTH_SECRET_MAX 48     /* "hqt_" + 43 base64url characters + NUL */
#define HQ_AUTH_CSRF_MAX 44       /* 43 base64url characters + NUL */
#define HQ_AUTH_PASSWORD_MIN 8    /* bytes */
#define HQ_AUTH_PASSWORD_MAX 1024
#define HQ_AUTH_TOKENS_MAX 64 /* live tokens per person */

typedef enum hq_scope_kind {
    HQ_SCOPE_NETWORK = 0, /* the whole network */
    HQ_SCOPE_REGION,      /* a region and every region and hall under it */
    HQ_SCOPE_HALL,        /* one hall */
} hq_scope_kind_t;

/* One role held over one scope. */
typedef struct hq_grant {
    uint8_t role;                  /* hq_role_t */
    uint8_t kind;                  /* hq_scope_kind_t */
    char id[HQ_AUTH_SCOPE_ID_MAX]; /* the region or hall; "" for the network */
} hq_grant_t;

typedef struct hq_person {
    char name[HQ_AUTH_NAME_MAX];
    size_t n_grants;
    hq_grant_t grants[HQ_AUTH_GRANTS_MAX];
    char pwhash[crypto_pwhash_STRBYTES]; /* "" until a password is set */
    int64_t created_ms;
} hq_person_t;

typedef struct hq_token {
    uint8_t hash[HQ_AUTH_HASH];
    char person[HQ_AUTH_NAME_MAX];
    char name[HQ_AUTH_TOKEN_NAME_MAX];
    int64_t created_ms;
    int64_t expires_ms;   /* 0: never */
    int64_t last_used_ms; /* 0: never used (written lazily by hqd) */
} hq_token_t;

typedef struct hq_session {
    uint8_t hash[HQ_AUTH_HASH];
    char person[HQ_AUTH_NAME_MAX];
    char csrf[HQ_AUTH_CSRF_MAX]; /* the X-CSRF-Token its writes must carry */
    char from[64];               /* the address it signed in from */
    int64_t created_ms;
    int64_t last_ms; /* last request seen (written lazily by hqd) */
} hq_session_t;

typedef struct hq_authdb hq_authdb_t;

/* Opens (creating) the environment in `dir`. 0, or HB_EIO / HB_EDB with
 * `err`. */
int hq_authdb_open(const char *dir, hq_authdb_t **out, char *err, size_t errlen);
void hq_authdb_close(hq_authdb_t **db);

/* ---- names and scopes */

bool hq_auth_name_ok(const char *name);       /* a person's name */
bool hq_auth_token_name_ok(const char *name); /* a token's name */
/* "network" (also "all"), "region/ID" or "hall/ID" into a grant's kind and
 * id; 0 or HB_EINVAL. */
int hq_scope_parse(const char *text, hq_grant_t *g);
/* The grant's scope as parse reads it ("region/P01"). */
void hq_scope_format(const hq_grant_t *g, char *out, size_t outlen);

/* ---- secrets */

/* BLAKE2b-256 of a secret's text, as stored. */
void hq_auth_hash(const char *secret, uint8_t out[HQ_AUTH_HASH]);
/* 32 random bytes as `prefix` + base64url (no padding). */
void hq_auth_secret_new(const char *prefix, char out[HQ_AUTH_SECRET_MAX]);

/* ---- the generation: moves with every change of people or tokens */

/* The current generation (0 before the first change). Reads through one
 * read transaction kept by the handle and renewed per call, so that a
 * call costs about a microsecond. 0 or HB_EDB. */
int hq_authdb_generation(hq_authdb_t *db, uint64_t *out);

/* ---- people. Every change moves the generation. */

/* HB_EEXIST when the name is taken, HB_EINVAL for a bad record. */
int hq_authdb_person_add(hq_authdb_t *db, const hq_person_t *p, char *err, size_t errlen);
int hq_authdb_person_get(hq_authdb_t *db, const char *name, hq_person_t *out);
/* Replaces the password hash ("" removes it) and ends the person's
 * sessions. HB_ENOTFOUND. */
int hq_authdb_person_set_password(hq_authdb_t *db, const char *name, const char *pwhash);
/* Removes the person, their tokens and their sessions. HB_ENOTFOUND. */
int hq_authdb_person_remove(hq_authdb_t *db, const char *name);
/* Every person, in name order; a non-zero return of `fn` stops the walk.
 * `fn` must not call the store (the walk holds its read transaction). */
int hq_authdb_people(hq_authdb_t *db, int (*fn)(const hq_person_t *p, void *arg), void *arg);

/* ---- tokens */

/* Makes a token for person `person` named `name`, valid until `expires_ms`
 * (0: never), and writes its secret into `secret` (shown once, never
 * stored). HB_ENOTFOUND (no such person), HB_EEXIST (a token of that name
 * is live), HB_ETOOBIG (HQ_AUTH_TOKENS_MAX live ones). */
int hq_authdb_token_add(hq_authdb_t *db, const char *person, const char *name, int64_t expires_ms,
                        char secret[HQ_AUTH_SECRET_MAX], char *err, size_t errlen);
/* Revokes person's token `name`. HB_ENOTFOUND. */
int hq_authdb_token_revoke(hq_authdb_t *db, const char *person, const char *name);
/* The token whose secret hashes to `hash`, and its person. HB_ENOTFOUND. */
int hq_authdb_token_get(hq_authdb_t *db, const uint8_t hash[HQ_AUTH_HASH], hq_token_t *tok,
                        hq_person_t *person);
/* Every token of `person` (NULL: of everyone); `fn` as for people. */
int hq_authdb_tokens(hq_authdb_t *db, const char *person, int (*fn)(const hq_token_t *t, void *arg),
                     void *arg);

/* ---- sessions (hqd's; they do not move the generation) */

/* A new session for `person`, its secret into `secret`, its CSRF token
 * into rec->csrf. */
int hq_authdb_session_add(hq_authdb_t *db, const char *person, const char *from, int64_t now_ms,
                          char secret[HQ_AUTH_SECRET_MAX], hq_session_t *rec);
int hq_authdb_session_get(hq_authdb_t *db, const uint8_t hash[HQ_AUTH_HASH], hq_session_t *s,
                          hq_person_t *person);
int hq_authdb_session_remove(hq_authdb_t *db, const uint8_t hash[HQ_AUTH_HASH]);
/* Deletes sessions idle past `idle_ms` or older than `max_ms`; `*removed`
 * says how many (may be NULL). */
int hq_authdb_sessions_prune(hq_authdb_t *db, int64_t now_ms, int64_t idle_ms, int64_t max_ms,
                             size_t *removed);
size_t hq_authdb_sessions_count(hq_authdb_t *db, const char *person);

/* ---- last use, written lazily: one transaction for many */

typedef struct hq_touch {
    uint8_t hash[HQ_AUTH_HASH];
    bool session; /* else a token */
    int64_t at_ms;
} hq_touch_t;
/* Records when each token or session was last used (those gone since are
 * skipped). */
int hq_authdb_touch(hq_authdb_t *db, const hq_touch_t *t, size_t n);

/* ---- the audit log: records in time order, keyed (time, sequence) */

#define HQ_AUDIT_CURSOR_MAX 33 /* a record's key as 32 hex digits */

/* Appends records (JSON objects; "at_ms" is read for the key, and "id"
 * set to the record's cursor) in one synced transaction. */
int hq_authdb_audit_append(hq_authdb_t *db, json_t *const *recs, size_t n);
/* Walks records newest first, from just before `before` (a cursor; NULL or
 * "": the newest), reading at most `scan_max` records; `fn` sees each
 * (a new reference it must release) and returns 1 to stop (the page is
 * full), 0 to go on. `next` (HQ_AUDIT_CURSOR_MAX) gets the cursor of the
 * last record seen when the walk stopped before the oldest, else "".
 * Records older than `from_ms` end the walk; HB_EINVAL for a bad cursor. */
int hq_authdb_audit_walk(hq_authdb_t *db, const char *before, int64_t from_ms, size_t scan_max,
                         int (*fn)(json_t *rec, void *arg), void *arg, char *next);
/* Deletes records older than `before_ms` and the oldest beyond `keep_max`,
 * at most `max_deletes` in one transaction; `*deleted` says how many. */
int hq_authdb_audit_prune(hq_authdb_t *db, int64_t before_ms, uint64_t keep_max, size_t max_deletes,
                          size_t *deleted);
uint64_t hq_authdb_audit_count(hq_authdb_t *db);

#endif
