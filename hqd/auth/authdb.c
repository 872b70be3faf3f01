/* The auth store (see authdb.h): five named databases in one LMDB
 * environment,
 *   people    name -> {"name", "grants": [{"role", "scope"}], "password", "created_ms"}
 *   tokens    hash -> {"person", "name", "created_ms", "expires_ms", "last_used_ms"}
 *   sessions  hash -> {"person", "csrf", "from", "created_ms", "last_ms"}
 *   meta      "generation", "audit_seq", "audit_count" -> big-endian u64
 *   audit     be64(at_ms) be64(seq) -> the record's JSON
 * Every write is one synced transaction; a full map grows (hb_store) and a
 * map grown by the other process is adopted (MDB_MAP_RESIZED). */
#include "authdb.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/store.h"
#include "hallbus/time.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHDB_MAP_START ((size_t)64 << 20)
#define AUTHDB_MAP_MAX ((size_t)64 << 30)
#define AUTHDB_RECORD_MAX 16384 /* bytes of one record's JSON */
#define AUTHDB_WRITE_TRIES 8

static const char s_hash_key[] = "hallbus auth v1"; /* domain separation, not a secret */

struct hq_authdb {
    hb_store_t store;
    MDB_dbi people, tokens, sessions, meta, audit;
    MDB_txn *rtxn; /* the reused read transaction; reset between uses */
};

/* ------------------------------------------------------------ names */

static bool s_chars(const char *s, size_t max, const char *extra)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (extra && strchr(extra, c));
        if (!ok)
            return false;
    }
    return true;
}

bool hq_auth_name_ok(const char *name) { return s_chars(name, HQ_AUTH_NAME_MAX - 1, ".@"); }

bool hq_auth_token_name_ok(const char *name)
{
    return s_chars(name, HQ_AUTH_TOKEN_NAME_MAX - 1, ".");
}

int hq_scope_parse(const char *text, hq_grant_t *g)
{
    if (!text)
        return HB_EINVAL;
    g->id[0] = '\0';
    if (strcmp(text, "network") == 0 || strcmp(text, "all") == 0) {
        g->kind = HQ_SCOPE_NETWORK;
        return 0;
    }
    const char *id = NULL;
    if (strncmp(text, "region/", 7) == 0) {
        g->kind = HQ_SCOPE_REGION;
        id = text + 7;
    } else if (strncmp(text, "hall/", 5) == 0) {
        g->kind = HQ_SCOPE_HALL;
        id = text + 5;
    }
    if (!id || !s_chars(id, HQ_AUTH_SCOPE_ID_MAX - 1, NULL))
        return HB_EINVAL;
    snprintf(g->id, sizeof g->id, "%s", id);
    return 0;
}

void hq_scope_format(const hq_grant_t *g, char *out, size_t outlen)
{
    if (g->kind == HQ_SCOPE_REGION)
        snprintf(out, outlen, "region/%s", g->id);
    else if (g->kind == HQ_SCOPE_HALL)
        snprintf(out, outlen, "hall/%s", g->id);
    else
        snprintf(out, outlen, "network");
}

/* ---------------------------------------------------------- secrets */

void hq_auth_hash(const char *secret, uint8_t out[HQ_AUTH_HASH])
{
    crypto_generichash(out, HQ_AUTH_HASH, (const unsigned char *)secret, strlen(secret),
                       (const unsigned char *)s_hash_key, sizeof s_hash_key - 1);
}

void hq_auth_secret_new(const char *prefix, char out[HQ_AUTH_SECRET_MAX])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    size_t p = strlen(prefix);
    memcpy(out, prefix, p);
    sodium_bin2base64(out + p, HQ_AUTH_SECRET_MAX - p, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

/* ------------------------------------------------------ transactions */

static int s_code(int mdb_rc)
{
    switch (mdb_rc) {
    case 0: return 0;
    case MDB_NOTFOUND: return HB_ENOTFOUND;
    case MDB_MAP_FULL: return HB_EMAPFULL;
    default: return HB_EDB;
    }
}

/* The reused read transaction, renewed; NULL on failure. A map grown by
 * the other process is adopted first. */
static MDB_txn *s_read(hq_authdb_t *db)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = db->rtxn ? mdb_txn_renew(db->rtxn)
                          : mdb_txn_begin(db->store.env, NULL, MDB_RDONLY, &db->rtxn);
        if (rc == 0)
            return db->rtxn;
        if (db->rtxn) {
            mdb_txn_abort(db->rtxn);
            db->rtxn = NULL;
        }
        if (rc != MDB_MAP_RESIZED || mdb_env_set_mapsize(db->store.env, 0) != 0) {
            hb_log_once("authdb.read", HB_LOG_ERROR, "auth: cannot read: %s", mdb_strerror(rc));
            return NULL;
        }
    }
    return NULL;
}

static void s_read_end(hq_authdb_t *db)
{
    if (db->rtxn)
        mdb_txn_reset(db->rtxn);
}

typedef int (*s_write_fn)(hq_authdb_t *db, MDB_txn *txn, void *arg);

/* Runs `fn` in a write transaction and commits; a full map grows and the
 * whole transaction runs again. `fn` returns 0 or an HB_E* code
 * (HB_EMAPFULL for a put that found the map full). */
static int s_write(hq_authdb_t *db, s_write_fn fn, void *arg)
{
    /* Growing the map needs no transaction of ours open, the reused one
     * included. */
    if (db->rtxn) {
        mdb_txn_abort(db->rtxn);
        db->rtxn = NULL;
    }
    for (int attempt = 0; attempt < AUTHDB_WRITE_TRIES; attempt++) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(db->store.env, NULL, 0, &txn);
        if (rc == MDB_MAP_RESIZED) {
            mdb_env_set_mapsize(db->store.env, 0);
            continue;
        }
        if (rc != 0) {
            hb_error("auth: cannot write: %s", mdb_strerror(rc));
            return HB_EDB;
        }
        int hrc = fn(db, txn, arg);
        if (hrc == 0) {
            rc = mdb_txn_commit(txn);
            hrc = s_code(rc);
        } else {
            mdb_txn_abort(txn);
        }
        if (hrc != HB_EMAPFULL)
            return hrc;
        if (hb_store_grow(&db->store) != 0)
            return HB_EMAPFULL;
    }
    return HB_EMAPFULL;
}

static int s_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v, size_t vlen)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    return s_code(mdb_put(txn, dbi, &key, &val, 0));
}

static int s_put_json(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return HB_ENOMEM;
    size_t n = strlen(text);
    int rc = n > AUTHDB_RECORD_MAX ? HB_ETOOBIG : s_put(txn, dbi, k, klen, text, n);
    free(text);
    return rc;
}

static json_t *s_get_json(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen)
{
    MDB_val key = {klen, (void *)k}, val;
    if (mdb_get(txn, dbi, &key, &val) != 0)
        return NULL;
    return json_loadb(val.mv_data, val.mv_size, 0, NULL);
}

static uint64_t s_meta_get(hq_authdb_t *db, MDB_txn *txn, const char *name)
{
    MDB_val key = {strlen(name), (void *)name}, val;
    if (mdb_get(txn, db->meta, &key, &val) != 0 || val.mv_size != 8)
        return 0;
    return hb_get_be64(val.mv_data);
}

static int s_meta_put(hq_authdb_t *db, MDB_txn *txn, const char *name, uint64_t v)
{
    uint8_t b[8];
    hb_put_be64(b, v);
    return s_put(txn, db->meta, name, strlen(name), b, sizeof b);
}

static int s_bump(hq_authdb_t *db, MDB_txn *txn)
{
    return s_meta_put(db, txn, "generation", s_meta_get(db, txn, "generation") + 1);
}

/* A walk over every record of one table in key order, each value parsed
 * as JSON (`o` NULL when it does not parse; owned by the walk until the
 * next step): the people's and tokens' listings, the searches by person
 * and the sessions' pruning walk with it. The walker may delete the record
 * under `cur`; a failed deletion goes in `rc` for s_walk_end to report.
 *
 *     record_walk_t w;
 *     if (s_walk_begin(&w, txn, dbi) != 0) return HB_EDB;
 *     while (s_walk_next(&w)) ...;
 *     return s_walk_end(&w);
 */
typedef struct record_walk {
    MDB_cursor *cur;
    MDB_val k, v;
    json_t *o;
    MDB_cursor_op op;
    int rc;
} record_walk_t;

static int s_walk_begin(record_walk_t *w, MDB_txn *txn, MDB_dbi dbi)
{
    *w = (record_walk_t){.op = MDB_FIRST};
    return mdb_cursor_open(txn, dbi, &w->cur);
}

static bool s_walk_next(record_walk_t *w)
{
    json_decref(w->o);
    w->o = NULL;
    w->rc = mdb_cursor_get(w->cur, &w->k, &w->v, w->op);
    w->op = MDB_NEXT;
    if (w->rc != 0)
        return false;
    w->o = json_loadb(w->v.mv_data, w->v.mv_size, 0, NULL);
    return true;
}

/* Ends the walk: 0 when it ended at the last record or was left early,
 * otherwise the cursor's or the deletion's failure as an HB_E* code. */
static int s_walk_end(record_walk_t *w)
{
    json_decref(w->o);
    w->o = NULL;
    mdb_cursor_close(w->cur);
    return w->rc == MDB_NOTFOUND ? 0 : s_code(w->rc);
}

/* A walk in the reused read transaction (s_read): HB_EDB, with nothing
 * to end, when either cannot start; s_read_walk_end ends both. */
static int s_read_walk_begin(hq_authdb_t *db, MDB_dbi dbi, record_walk_t *w)
{
    MDB_txn *txn = s_read(db);
    if (!txn)
        return HB_EDB;
    if (s_walk_begin(w, txn, dbi) != 0) {
        s_read_end(db);
        return HB_EDB;
    }
    return 0;
}

static void s_read_walk_end(hq_authdb_t *db, record_walk_t *w)
{
    s_walk_end(w);
    s_read_end(db);
}

/* Whether record `o` (a token or a session) is `person`'s. */
static bool s_of_person(const json_t *o, const char *person)
{
    const char *p = json_string_value(json_object_get(o, "person"));
    return p && strcmp(p, person) == 0;
}

int hq_authdb_open(const char *dir, hq_authdb_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0) {
        hb_errf(err, errlen, "libsodium cannot start");
        return HB_EIO;
    }
    hq_authdb_t *db = calloc(1, sizeof *db);
    if (!db)
        return HB_ENOMEM;
    if (hb_store_open(&db->store, dir, AUTHDB_MAP_START, AUTHDB_MAP_MAX, 8) != 0) {
        hb_errf(err, errlen, "cannot open the auth store in %s", dir);
        free(db);
        return HB_EDB;
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(db->store.env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "people", MDB_CREATE, &db->people);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "tokens", MDB_CREATE, &db->tokens);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "sessions", MDB_CREATE, &db->sessions);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &db->meta);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "audit", MDB_CREATE, &db->audit);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc != 0) {
        hb_errf(err, errlen, "cannot open the auth store in %s: %s", dir, mdb_strerror(rc));
        hb_store_close(&db->store);
        free(db);
        return HB_EDB;
    }
    *out = db;
    return 0;
}

static void s_fini(hq_authdb_t *db)
{
    if (db->rtxn)
        mdb_txn_abort(db->rtxn);
    hb_store_close(&db->store);
}

void hq_authdb_close(hq_authdb_t **dbp) { HB_DESTROY(dbp, s_fini); }

int hq_authdb_generation(hq_authdb_t *db, uint64_t *out)
{
    MDB_txn *txn = s_read(db);
    if (!txn)
        return HB_EDB;
    *out = s_meta_get(db, txn, "generation");
    s_read_end(db);
    return 0;
}

/* ------------------------------------------------------------ people */

static json_t *s_person_json(const hq_person_t *p)
{
    json_t *grants = json_array();
    for (size_t i = 0; i < p->n_grants; i++) {
        char scope[HQ_AUTH_SCOPE_TEXT_MAX];
        hq_scope_format(&p->grants[i], scope, sizeof scope);
        json_array_append_new(grants, json_pack("{s:s, s:s}", "role",
                                                hq_role_name(p->grants[i].role), "scope", scope));
    }
    return json_pack("{s:s, s:o, s:s, s:I}", "name", p->name, "grants", grants, "password",
                     p->pwhash, "created_ms", (json_int_t)p->created_ms);
}

static int s_person_read(const json_t *o, hq_person_t *p)
{
    memset(p, 0, sizeof *p);
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *pw = json_string_value(json_object_get(o, "password"));
    const json_t *grants = json_object_get(o, "grants");
    if (!hq_auth_name_ok(name) || !json_is_array(grants) ||
        json_array_size(grants) > HQ_AUTH_GRANTS_MAX || (pw && strlen(pw) >= sizeof p->pwhash))
        return HB_EPARSE;
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->pwhash, sizeof p->pwhash, "%s", pw ? pw : "");
    p->created_ms = (int64_t)json_integer_value(json_object_get(o, "created_ms"));
    size_t i;
    const json_t *g;
    json_array_foreach (grants, i, g) {
        hq_role_t role;
        hq_grant_t *out = &p->grants[p->n_grants];
        if (hq_role_parse(json_string_value(json_object_get(g, "role")), &role) != 0 ||
            hq_scope_parse(json_string_value(json_object_get(g, "scope")), out) != 0)
            return HB_EPARSE;
        out->role = (uint8_t)role;
        p->n_grants++;
    }
    return 0;
}

static int s_person_load(hq_authdb_t *db, MDB_txn *txn, const char *name, hq_person_t *out)
{
    json_t *o = s_get_json(txn, db->people, name, strlen(name));
    if (!o)
        return HB_ENOTFOUND;
    int rc = s_person_read(o, out);
    json_decref(o);
    if (rc != 0)
        hb_log_once("authdb.person", HB_LOG_ERROR, "auth: the record of %s cannot be read", name);
    return rc;
}

static int s_delete_of(MDB_txn *txn, MDB_dbi dbi, const char *name);

typedef struct person_op {
    const hq_person_t *p;
    const char *name;
    const char *pwhash;
    char *err;
    size_t errlen;
} person_op_t;

static int s_person_add(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    person_op_t *op = arg;
    MDB_val key = {strlen(op->p->name), (void *)op->p->name}, val;
    if (mdb_get(txn, db->people, &key, &val) == 0) {
        hb_errf(op->err, op->errlen, "a person named %s exists already", op->p->name);
        return HB_EEXIST;
    }
    json_t *o = s_person_json(op->p);
    if (!o)
        return HB_ENOMEM;
    int rc = s_put_json(txn, db->people, op->p->name, strlen(op->p->name), o);
    json_decref(o);
    return rc != 0 ? rc : s_bump(db, txn);
}

int hq_authdb_person_add(hq_authdb_t *db, const hq_person_t *p, char *err, size_t errlen)
{
    if (!hq_auth_name_ok(p->name) || p->n_grants == 0 || p->n_grants > HQ_AUTH_GRANTS_MAX) {
        hb_errf(err, errlen, "a person needs a name and 1 to %d roles", HQ_AUTH_GRANTS_MAX);
        return HB_EINVAL;
    }
    person_op_t op = {.p = p, .err = err, .errlen = errlen};
    return s_write(db, s_person_add, &op);
}

int hq_authdb_person_get(hq_authdb_t *db, const char *name, hq_person_t *out)
{
    if (!hq_auth_name_ok(name))
        return HB_ENOTFOUND;
    MDB_txn *txn = s_read(db);
    if (!txn)
        return HB_EDB;
    int rc = s_person_load(db, txn, name, out);
    s_read_end(db);
    return rc;
}

static int s_person_password(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    person_op_t *op = arg;
    hq_person_t p;
    int rc = s_person_load(db, txn, op->name, &p);
    if (rc != 0)
        return rc;
    snprintf(p.pwhash, sizeof p.pwhash, "%s", op->pwhash);
    json_t *o = s_person_json(&p);
    rc = o ? s_put_json(txn, db->people, p.name, strlen(p.name), o) : HB_ENOMEM;
    json_decref(o);
    /* A new password ends the sessions signed in with the old one. */
    if (rc == 0)
        rc = s_delete_of(txn, db->sessions, p.name);
    return rc != 0 ? rc : s_bump(db, txn);
}

int hq_authdb_person_set_password(hq_authdb_t *db, const char *name, const char *pwhash)
{
    if (!hq_auth_name_ok(name) || strlen(pwhash) >= crypto_pwhash_STRBYTES)
        return HB_EINVAL;
    person_op_t op = {.name = name, .pwhash = pwhash};
    return s_write(db, s_person_password, &op);
}

/* Deletes every record of `dbi` whose "person" is `name`. */
static int s_delete_of(MDB_txn *txn, MDB_dbi dbi, const char *name)
{
    record_walk_t w;
    int rc = s_walk_begin(&w, txn, dbi);
    if (rc != 0)
        return s_code(rc);
    while (s_walk_next(&w))
        if (s_of_person(w.o, name) && (w.rc = mdb_cursor_del(w.cur, 0)) != 0)
            break;
    return s_walk_end(&w);
}

static int s_person_remove(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    person_op_t *op = arg;
    MDB_val key = {strlen(op->name), (void *)op->name};
    int rc = s_code(mdb_del(txn, db->people, &key, NULL));
    if (rc == 0)
        rc = s_delete_of(txn, db->tokens, op->name);
    if (rc == 0)
        rc = s_delete_of(txn, db->sessions, op->name);
    return rc != 0 ? rc : s_bump(db, txn);
}

int hq_authdb_person_remove(hq_authdb_t *db, const char *name)
{
    if (!hq_auth_name_ok(name))
        return HB_ENOTFOUND;
    person_op_t op = {.name = name};
    return s_write(db, s_person_remove, &op);
}

int hq_authdb_people(hq_authdb_t *db, int (*fn)(const hq_person_t *p, void *arg), void *arg)
{
    record_walk_t w;
    if (s_read_walk_begin(db, db->people, &w) != 0)
        return HB_EDB;
    int out = 0;
    while (out == 0 && s_walk_next(&w)) {
        hq_person_t p;
        if (w.o && s_person_read(w.o, &p) == 0)
            out = fn(&p, arg);
    }
    s_read_walk_end(db, &w);
    return out;
}

/* ------------------------------------------------------------ tokens */

/* Reads one record keyed by its hash (a token or a session) into `rec`
 * and, when `person` is wanted, the person it belongs to: `rec_person` is
 * the record's own person field, filled by `read` before it is looked up. */
typedef int (*s_rec_read_fn)(const json_t *o, const uint8_t *hash, void *rec);

static int s_hash_get(hq_authdb_t *db, MDB_dbi dbi, const uint8_t *hash, s_rec_read_fn read,
                      void *rec, const char *rec_person, hq_person_t *person)
{
    MDB_txn *txn = s_read(db);
    if (!txn)
        return HB_EDB;
    json_t *o = s_get_json(txn, dbi, hash, HQ_AUTH_HASH);
    int rc = o ? read(o, hash, rec) : HB_ENOTFOUND;
    json_decref(o);
    if (rc == 0 && person)
        rc = s_person_load(db, txn, rec_person, person);
    s_read_end(db);
    return rc;
}

/* What every record keyed by a hash (a token, a session) holds: the key
 * `hash` into `hash_out` and its person into `person_out`; HB_EPARSE,
 * with nothing written, when the person is no name. */
static int s_rec_owner(const json_t *o, const uint8_t *hash, uint8_t hash_out[HQ_AUTH_HASH],
                       char person_out[HQ_AUTH_NAME_MAX])
{
    const char *person = json_string_value(json_object_get(o, "person"));
    if (!hq_auth_name_ok(person))
        return HB_EPARSE;
    memcpy(hash_out, hash, HQ_AUTH_HASH);
    snprintf(person_out, HQ_AUTH_NAME_MAX, "%s", person);
    return 0;
}

static int s_token_read(const json_t *o, const uint8_t *hash, void *rec)
{
    hq_token_t *t = rec;
    memset(t, 0, sizeof *t);
    const char *name = json_string_value(json_object_get(o, "name"));
    if (!hq_auth_token_name_ok(name) || s_rec_owner(o, hash, t->hash, t->person) != 0)
        return HB_EPARSE;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->created_ms = (int64_t)json_integer_value(json_object_get(o, "created_ms"));
    t->expires_ms = (int64_t)json_integer_value(json_object_get(o, "expires_ms"));
    t->last_used_ms = (int64_t)json_integer_value(json_object_get(o, "last_used_ms"));
    return 0;
}

static json_t *s_token_json(const hq_token_t *t)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I}", "person", t->person, "name", t->name,
                     "created_ms", (json_int_t)t->created_ms, "expires_ms",
                     (json_int_t)t->expires_ms, "last_used_ms", (json_int_t)t->last_used_ms);
}

typedef struct token_op {
    const char *person, *name;
    int64_t expires_ms;
    char *secret;
    char *err;
    size_t errlen;
} token_op_t;

/* The key (hash) of `person`'s token `name`, if it has one. */
static int s_token_find(hq_authdb_t *db, MDB_txn *txn, const char *person, const char *name,
                        uint8_t hash[HQ_AUTH_HASH], size_t *count)
{
    record_walk_t w;
    if (s_walk_begin(&w, txn, db->tokens) != 0)
        return HB_EDB;
    int found = HB_ENOTFOUND;
    if (count)
        *count = 0;
    while (s_walk_next(&w)) {
        if (!s_of_person(w.o, person))
            continue;
        if (count)
            (*count)++;
        const char *n = json_string_value(json_object_get(w.o, "name"));
        if (n && name && strcmp(n, name) == 0 && w.k.mv_size == HQ_AUTH_HASH) {
            memcpy(hash, w.k.mv_data, HQ_AUTH_HASH);
            found = 0;
        }
    }
    s_walk_end(&w);
    return found;
}

static int s_token_add(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    token_op_t *op = arg;
    hq_person_t p;
    int rc = s_person_load(db, txn, op->person, &p);
    if (rc != 0) {
        hb_errf(op->err, op->errlen, "no person named %s", op->person);
        return rc == HB_ENOTFOUND ? HB_ENOTFOUND : rc;
    }
    uint8_t hash[HQ_AUTH_HASH];
    size_t count = 0;
    if (s_token_find(db, txn, op->person, op->name, hash, &count) == 0) {
        hb_errf(op->err, op->errlen, "%s has a token named %s already (revoke it first)",
                op->person, op->name);
        return HB_EEXIST;
    }
    if (count >= HQ_AUTH_TOKENS_MAX) {
        hb_errf(op->err, op->errlen, "%s holds %zu tokens, the most one person may", op->person,
                count);
        return HB_ETOOBIG;
    }
    /* The secret is made inside the transaction so that a retry after a
     * map growth stores the one that is shown. */
    hq_auth_secret_new("hqt_", op->secret);
    hq_token_t t = {.created_ms = hb_now_ms(), .expires_ms = op->expires_ms};
    snprintf(t.person, sizeof t.person, "%s", op->person);
    snprintf(t.name, sizeof t.name, "%s", op->name);
    hq_auth_hash(op->secret, t.hash);
    json_t *o = s_token_json(&t);
    rc = o ? s_put_json(txn, db->tokens, t.hash, HQ_AUTH_HASH, o) : HB_ENOMEM;
    json_decref(o);
    return rc != 0 ? rc : s_bump(db, txn);
}

int hq_authdb_token_add(hq_authdb_t *db, const char *person, const char *name, int64_t expires_ms,
                        char secret[HQ_AUTH_SECRET_MAX], char *err, size_t errlen)
{
    if (!hq_auth_name_ok(person) || !hq_auth_token_name_ok(name) || expires_ms < 0) {
        hb_errf(err, errlen, "a token needs a person, a name and an expiry");
        return HB_EINVAL;
    }
    token_op_t op = {.person = person,
                     .name = name,
                     .expires_ms = expires_ms,
                     .secret = secret,
                     .err = err,
                     .errlen = errlen};
    int rc = s_write(db, s_token_add, &op);
    if (rc != 0)
        sodium_memzero(secret, HQ_AUTH_SECRET_MAX);
    return rc;
}

static int s_token_revoke(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    token_op_t *op = arg;
    uint8_t hash[HQ_AUTH_HASH];
    int rc = s_token_find(db, txn, op->person, op->name, hash, NULL);
    if (rc != 0)
        return rc;
    MDB_val key = {HQ_AUTH_HASH, hash};
    rc = s_code(mdb_del(txn, db->tokens, &key, NULL));
    return rc != 0 ? rc : s_bump(db, txn);
}

int hq_authdb_token_revoke(hq_authdb_t *db, const char *person, const char *name)
{
    if (!hq_auth_name_ok(person) || !hq_auth_token_name_ok(name))
        return HB_ENOTFOUND;
    token_op_t op = {.person = person, .name = name};
    return s_write(db, s_token_revoke, &op);
}

int hq_authdb_token_get(hq_authdb_t *db, const uint8_t hash[HQ_AUTH_HASH], hq_token_t *tok,
                        hq_person_t *person)
{
    return s_hash_get(db, db->tokens, hash, s_token_read, tok, tok->person, person);
}

int hq_authdb_tokens(hq_authdb_t *db, const char *person, int (*fn)(const hq_token_t *t, void *arg),
                     void *arg)
{
    record_walk_t w;
    if (s_read_walk_begin(db, db->tokens, &w) != 0)
        return HB_EDB;
    int out = 0;
    while (out == 0 && s_walk_next(&w)) {
        hq_token_t t;
        if (w.o && w.k.mv_size == HQ_AUTH_HASH && s_token_read(w.o, w.k.mv_data, &t) == 0 &&
            (!person || strcmp(t.person, person) == 0))
            out = fn(&t, arg);
    }
    s_read_walk_end(db, &w);
    return out;
}

/* ---------------------------------------------------------- sessions */

static int s_session_read(const json_t *o, const uint8_t *hash, void *rec)
{
    hq_session_t *s = rec;
    memset(s, 0, sizeof *s);
    const char *csrf = json_string_value(json_object_get(o, "csrf"));
    const char *from = json_string_value(json_object_get(o, "from"));
    if (!csrf || strlen(csrf) >= sizeof s->csrf || s_rec_owner(o, hash, s->hash, s->person) != 0)
        return HB_EPARSE;
    snprintf(s->csrf, sizeof s->csrf, "%s", csrf);
    snprintf(s->from, sizeof s->from, "%s", from ? from : "");
    s->created_ms = (int64_t)json_integer_value(json_object_get(o, "created_ms"));
    s->last_ms = (int64_t)json_integer_value(json_object_get(o, "last_ms"));
    return 0;
}

static json_t *s_session_json(const hq_session_t *s)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I}", "person", s->person, "csrf", s->csrf, "from",
                     s->from, "created_ms", (json_int_t)s->created_ms, "last_ms",
                     (json_int_t)s->last_ms);
}

typedef struct session_op {
    hq_session_t *rec;
    char *secret;
    const uint8_t *hash;
} session_op_t;

static int s_session_add(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    session_op_t *op = arg;
    hq_auth_secret_new("hqs_", op->secret);
    hq_auth_hash(op->secret, op->rec->hash);
    char csrf[HQ_AUTH_SECRET_MAX];
    hq_auth_secret_new("", csrf); /* 43 characters: it fits HQ_AUTH_CSRF_MAX */
    memcpy(op->rec->csrf, csrf, HQ_AUTH_CSRF_MAX - 1);
    op->rec->csrf[HQ_AUTH_CSRF_MAX - 1] = '\0';
    json_t *o = s_session_json(op->rec);
    int rc = o ? s_put_json(txn, db->sessions, op->rec->hash, HQ_AUTH_HASH, o) : HB_ENOMEM;
    json_decref(o);
    return rc;
}

int hq_authdb_session_add(hq_authdb_t *db, const char *person, const char *from, int64_t now_ms,
                          char secret[HQ_AUTH_SECRET_MAX], hq_session_t *rec)
{
    memset(rec, 0, sizeof *rec);
    snprintf(rec->person, sizeof rec->person, "%s", person);
    snprintf(rec->from, sizeof rec->from, "%s", from ? from : "");
    rec->created_ms = rec->last_ms = now_ms;
    session_op_t op = {.rec = rec, .secret = secret};
    return s_write(db, s_session_add, &op);
}

int hq_authdb_session_get(hq_authdb_t *db, const uint8_t hash[HQ_AUTH_HASH], hq_session_t *s,
                          hq_person_t *person)
{
    return s_hash_get(db, db->sessions, hash, s_session_read, s, s->person, person);
}

static int s_session_remove(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    session_op_t *op = arg;
    MDB_val key = {HQ_AUTH_HASH, (void *)op->hash};
    return s_code(mdb_del(txn, db->sessions, &key, NULL));
}

int hq_authdb_session_remove(hq_authdb_t *db, const uint8_t hash[HQ_AUTH_HASH])
{
    session_op_t op = {.hash = hash};
    return s_write(db, s_session_remove, &op);
}

typedef struct prune_op {
    int64_t now_ms, idle_ms, max_ms;
    size_t removed;
} prune_op_t;

static int s_sessions_prune(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    prune_op_t *op = arg;
    op->removed = 0;
    record_walk_t w;
    if (s_walk_begin(&w, txn, db->sessions) != 0)
        return HB_EDB;
    while (s_walk_next(&w)) {
        int64_t created = (int64_t)json_integer_value(json_object_get(w.o, "created_ms"));
        int64_t last = (int64_t)json_integer_value(json_object_get(w.o, "last_ms"));
        if (w.o && op->now_ms - created <= op->max_ms && op->now_ms - last <= op->idle_ms)
            continue;
        if ((w.rc = mdb_cursor_del(w.cur, 0)) != 0)
            break;
        op->removed++;
    }
    return s_walk_end(&w);
}

int hq_authdb_sessions_prune(hq_authdb_t *db, int64_t now_ms, int64_t idle_ms, int64_t max_ms,
                             size_t *removed)
{
    prune_op_t op = {.now_ms = now_ms, .idle_ms = idle_ms, .max_ms = max_ms};
    int rc = s_write(db, s_sessions_prune, &op);
    if (removed)
        *removed = rc == 0 ? op.removed : 0;
    return rc;
}

size_t hq_authdb_sessions_count(hq_authdb_t *db, const char *person)
{
    record_walk_t w;
    size_t n = 0;
    if (s_read_walk_begin(db, db->sessions, &w) != 0)
        return 0;
    while (s_walk_next(&w))
        n += s_of_person(w.o, person);
    s_read_walk_end(db, &w);
    return n;
}

/* ------------------------------------------------------------ touch */

typedef struct touch_op {
    const hq_touch_t *t;
    size_t n;
} touch_op_t;

static int s_touch(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    touch_op_t *op = arg;
    for (size_t i = 0; i < op->n; i++) {
        const hq_touch_t *t = &op->t[i];
        MDB_dbi dbi = t->session ? db->sessions : db->tokens;
        json_t *o = s_get_json(txn, dbi, t->hash, HQ_AUTH_HASH);
        if (!o)
            continue; /* revoked or ended since */
        json_object_set_new(o, t->session ? "last_ms" : "last_used_ms",
                            json_integer((json_int_t)t->at_ms));
        int rc = s_put_json(txn, dbi, t->hash, HQ_AUTH_HASH, o);
        json_decref(o);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int hq_authdb_touch(hq_authdb_t *db, const hq_touch_t *t, size_t n)
{
    if (n == 0)
        return 0;
    touch_op_t op = {.t = t, .n = n};
    return s_write(db, s_touch, &op);
}

/* ------------------------------------------------------------- audit */

static void s_cursor_text(const uint8_t key[16], char out[HQ_AUDIT_CURSOR_MAX])
{
    sodium_bin2hex(out, HQ_AUDIT_CURSOR_MAX, key, 16);
}

typedef struct audit_op {
    json_t *const *recs;
    size_t n;
} audit_op_t;

static int s_audit_append(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    audit_op_t *op = arg;
    uint64_t seq = s_meta_get(db, txn, "audit_seq");
    uint64_t count = s_meta_get(db, txn, "audit_count");
    for (size_t i = 0; i < op->n; i++) {
        json_t *r = op->recs[i];
        int64_t at = (int64_t)json_integer_value(json_object_get(r, "at_ms"));
        uint8_t key[16];
        hb_put_be64(key, (uint64_t)(at > 0 ? at : 0));
        hb_put_be64(key + 8, ++seq);
        char cursor[HQ_AUDIT_CURSOR_MAX];
        s_cursor_text(key, cursor);
        json_object_set_new(r, "id", json_string(cursor));
        int rc = s_put_json(txn, db->audit, key, sizeof key, r);
        if (rc != 0)
            return rc;
        count++;
    }
    int rc = s_meta_put(db, txn, "audit_seq", seq);
    return rc != 0 ? rc : s_meta_put(db, txn, "audit_count", count);
}

int hq_authdb_audit_append(hq_authdb_t *db, json_t *const *recs, size_t n)
{
    if (n == 0)
        return 0;
    audit_op_t op = {.recs = recs, .n = n};
    return s_write(db, s_audit_append, &op);
}

uint64_t hq_authdb_audit_count(hq_authdb_t *db)
{
    MDB_txn *txn = s_read(db);
    if (!txn)
        return 0;
    uint64_t n = s_meta_get(db, txn, "audit_count");
    s_read_end(db);
    return n;
}

int hq_authdb_audit_walk(hq_authdb_t *db, const char *before, int64_t from_ms, size_t scan_max,
                         int (*fn)(json_t *rec, void *arg), void *arg, char *next)
{
    uint8_t start[16];
    bool have_start = before && before[0];
    if (have_start) {
        size_t bin_len = 0;
        if (strlen(before) != 32 ||
            sodium_hex2bin(start, sizeof start, before, 32, NULL, &bin_len, NULL) != 0 ||
            bin_len != 16)
            return HB_EINVAL;
    }
    next[0] = '\0'; /* after `before` is read: the two may be one buffer */
    MDB_txn *txn = s_read(db);
    if (!txn)
        return HB_EDB;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, db->audit, &cur) != 0) {
        s_read_end(db);
        return HB_EDB;
    }
    MDB_val k, v;
    int rc;
    if (have_start) {
        /* The record just before the cursor's key: the first at or after
         * it, then one back (or the last record when none is at or after). */
        k = (MDB_val){sizeof start, start};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        rc =
            rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
    } else {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    size_t scanned = 0;
    bool stopped = false;
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (k.mv_size != 16)
            continue;
        if (from_ms > 0 && (int64_t)hb_get_be64(k.mv_data) < from_ms)
            break;
        if (scanned++ >= scan_max) {
            stopped = true;
            break;
        }
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (o && fn(o, arg) != 0) {
            s_cursor_text(k.mv_data, next);
            /* A full page: say where the next one starts only if there
             * is one. */
            MDB_val k2, v2;
            int more = mdb_cursor_get(cur, &k2, &v2, MDB_PREV);
            if (more != 0 || (from_ms > 0 && (int64_t)hb_get_be64(k2.mv_data) < from_ms))
                next[0] = '\0';
            break;
        }
    }
    if (stopped) {
        /* The scan budget ran out: the next page starts where it stopped. */
        MDB_val k2, v2;
        if (mdb_cursor_get(cur, &k2, &v2, MDB_NEXT) == 0 && k2.mv_size == 16)
            s_cursor_text(k2.mv_data, next);
    }
    mdb_cursor_close(cur);
    s_read_end(db);
    return 0;
}

typedef struct audit_prune_op {
    int64_t before_ms;
    uint64_t keep_max;
    size_t max_deletes, deleted;
} audit_prune_op_t;

static int s_audit_prune(hq_authdb_t *db, MDB_txn *txn, void *arg)
{
    audit_prune_op_t *op = arg;
    op->deleted = 0;
    uint64_t count = s_meta_get(db, txn, "audit_count");
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, db->audit, &cur) != 0)
        return HB_EDB;
    MDB_val k, v;
    int rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && op->deleted < op->max_deletes;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        bool old = k.mv_size == 16 && (int64_t)hb_get_be64(k.mv_data) < op->before_ms;
        if (!old && count <= op->keep_max)
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        op->deleted++;
        if (count > 0)
            count--;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return s_code(rc);
    return op->deleted ? s_meta_put(db, txn, "audit_count", count) : 0;
}

int hq_authdb_audit_prune(hq_authdb_t *db, int64_t before_ms, uint64_t keep_max, size_t max_deletes,
                          size_t *deleted)
{
    audit_prune_op_t op = {
        .before_ms = before_ms, .keep_max = keep_max, .max_deletes = max_deletes};
    int rc = s_write(db, s_audit_prune, &op);
    if (deleted)
        *deleted = rc == 0 ? op.deleted : 0;
    return rc;
}
