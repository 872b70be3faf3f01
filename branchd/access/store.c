/* The access store (access.h) on its own small LMDB environment,
 * DATA/access/, which branchd and the `branchd devices|staff` commands open
 * at the same time (LMDB's lock file orders their writers). Databases:
 *   meta:    "token_key" -> 32 random bytes, the key of the tokens' hashes
 *   devices: name -> [1][kind][paired_ms BE64][token hash 32][counter, NUL]
 *   tokens:  token hash (keyed BLAKE2b-256 of the token's text) -> name
 *   staff:   id -> [1][added_ms BE64][Argon2id string, NUL]
 *   signins: counter terminal's name -> [1][at_ms BE64][staff id, NUL]
 * A device's record and its token's row change in one transaction, and so
 * do a device or a staff id and the sign-ins that name them.
 *
 * The map is a fixed 32 MiB in every process (far above what the limits of
 * access.h can fill), so no process ever grows it under another. Wrong PINs
 * are counted in this process's memory, not in the environment. */
#include "access.h"

#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/log.h"
#include "hallbus/store.h"
#include "hallbus/time.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCESS_MAP_SIZE ((size_t)32 << 20)
#define ACCESS_HASH_BYTES 32
#define ACCESS_REC_VERSION 1
#define ACCESS_LOCKS_MAX 256      /* staff ids and terminals with wrong PINs counted */
#define ACCESS_TOKEN_TEXT_MAX 512 /* a token as sent; anything longer is no token of ours */

/* Wrong PINs of one staff id ("s:ID") or one terminal ("t:NAME"). */
typedef struct pin_count {
    char key[ACCESS_ID_MAX + 2];
    uint32_t fails;
    int64_t until_ms; /* locked until (monotonic); 0 when not locked */
    int64_t last_ms;  /* the last wrong PIN, to pick the entry to forget */
} pin_count_t;

struct access {
    hb_store_t store;
    MDB_dbi meta, devices, tokens, staff, signins;
    MDB_txn *rtxn; /* the read transaction, reset between uses and renewed */
    uint8_t key[crypto_generichash_KEYBYTES];
    int64_t lock_ms;
    pin_count_t counts[ACCESS_LOCKS_MAX];
    char dummy_hash[crypto_pwhash_STRBYTES]; /* for unknown staff ids; "" until needed */
};

bool access_id_ok(const char *id)
{
    /* hallbus's id rule, with '.' as device names may have it. */
    return id && hb_id_chars_ok(id, ACCESS_ID_MAX - 1, ".");
}

bool access_pin_ok(const char *pin)
{
    size_t n = pin ? strlen(pin) : 0;
    if (n < ACCESS_PIN_MIN || n > ACCESS_PIN_MAX)
        return false;
    return strspn(pin, "0123456789") == n;
}

/* ------------------------------------------------------- transactions ---- */

/* LMDB says MDB_MAP_RESIZED when another process used a larger map: adopt
 * it and try once more. With the fixed map this happens only across a
 * version that changed ACCESS_MAP_SIZE. */
static int s_begin(access_t *a, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin(a->store.env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(a->store.env, 0) == 0)
        rc = mdb_txn_begin(a->store.env, NULL, flags, txn);
    return rc == 0 ? 0 : HB_EDB;
}

static int s_read_begin(access_t *a, MDB_txn **txn)
{
    if (a->rtxn) {
        if (mdb_txn_renew(a->rtxn) == 0) {
            *txn = a->rtxn;
            return 0;
        }
        mdb_txn_abort(a->rtxn);
        a->rtxn = NULL;
    }
    int rc = s_begin(a, MDB_RDONLY, &a->rtxn);
    *txn = a->rtxn;
    return rc;
}

static void s_read_end(access_t *a) { mdb_txn_reset(a->rtxn); }

static int s_commit(MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);
    if (rc == MDB_MAP_FULL)
        return HB_EMAPFULL;
    return rc == 0 ? 0 : HB_EDB;
}

/* Ends a write transaction: committed when `rc` is 0 (then the commit's
 * result), else aborted and `rc` returned. */
static int s_end_write(MDB_txn *txn, int rc)
{
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return s_commit(txn);
}

static int s_put_rc(int rc)
{
    if (rc == MDB_MAP_FULL)
        return HB_EMAPFULL;
    return rc == 0 ? 0 : HB_EDB;
}

static MDB_val s_val(const void *data, size_t len) { return (MDB_val){len, (void *)data}; }
static MDB_val s_str_val(const char *s) { return (MDB_val){strlen(s), (void *)s}; }

/* ------------------------------------------------------------ records ---- */

static void s_hash(const access_t *a, const char *token, uint8_t out[ACCESS_HASH_BYTES])
{
    crypto_generichash(out, ACCESS_HASH_BYTES, (const unsigned char *)token, strlen(token), a->key,
                       sizeof a->key);
}

static void s_token_id(const uint8_t hash[ACCESS_HASH_BYTES], char out[ACCESS_TOKEN_ID_TEXT])
{
    sodium_bin2hex(out, ACCESS_TOKEN_ID_TEXT, hash, (ACCESS_TOKEN_ID_TEXT - 1) / 2);
}

#define DEV_HEAD (1 + 1 + 8 + ACCESS_HASH_BYTES)

/* A device's record from its row; HB_EPARSE for one that is not ours. */
static int s_device_decode(const MDB_val *k, const MDB_val *v, access_device_t *out,
                           uint8_t hash[ACCESS_HASH_BYTES])
{
    const uint8_t *p = v->mv_data;
    if (k->mv_size == 0 || k->mv_size >= ACCESS_ID_MAX || v->mv_size <= DEV_HEAD ||
        v->mv_size > DEV_HEAD + ACCESS_ID_MAX || p[0] != ACCESS_REC_VERSION ||
        p[1] >= ACCESS_KIND_COUNT || p[v->mv_size - 1] != '\0')
        return HB_EPARSE;
    memset(out, 0, sizeof *out);
    memcpy(out->name, k->mv_data, k->mv_size);
    out->kind = (access_kind_t)p[1];
    out->paired_ms = (int64_t)hb_get_be64(p + 2);
    if (hash)
        memcpy(hash, p + 10, ACCESS_HASH_BYTES);
    s_token_id(p + 10, out->token_id);
    memcpy(out->counter, p + DEV_HEAD, v->mv_size - DEV_HEAD);
    return 0;
}

static int s_get_device(access_t *a, MDB_txn *txn, const char *name, access_device_t *out,
                        uint8_t hash[ACCESS_HASH_BYTES])
{
    MDB_val k = s_str_val(name), v;
    int rc = mdb_get(txn, a->devices, &k, &v);
    if (rc == MDB_NOTFOUND)
        return HB_ENOTFOUND;
    if (rc != 0)
        return HB_EDB;
    return s_device_decode(&k, &v, out, hash) == 0 ? 0 : HB_EDB;
}

/* The staff id of a sign-in row, copied into `staff`. */
static int s_signin_decode(const MDB_val *v, char staff[ACCESS_ID_MAX])
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 11 || v->mv_size > 9 + ACCESS_ID_MAX || p[0] != ACCESS_REC_VERSION ||
        p[v->mv_size - 1] != '\0')
        return HB_EPARSE;
    memcpy(staff, p + 9, v->mv_size - 9);
    return 0;
}

/* Deletes device `name` (whose token hash is `hash`) and its sign-in. */
static int s_delete_device(access_t *a, MDB_txn *txn, const char *name,
                           const uint8_t hash[ACCESS_HASH_BYTES])
{
    MDB_val k = s_str_val(name), hk = s_val(hash, ACCESS_HASH_BYTES);
    int rc = mdb_del(txn, a->tokens, &hk, NULL);
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = mdb_del(txn, a->signins, &k, NULL);
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = mdb_del(txn, a->devices, &k, NULL);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : HB_EDB;
}

static size_t s_entries(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_stat st;
    return mdb_stat(txn, dbi, &st) == 0 ? st.ms_entries : SIZE_MAX;
}

/* ---------------------------------------------------------- open, close -- */

/* The databases, and the hashing key made by the first process to open the
 * environment (read or made inside one write transaction, so two first
 * openers agree). */
static int s_setup(access_t *a)
{
    const hb_store_db_t dbs[] = {{"meta", &a->meta},
                                 {"devices", &a->devices},
                                 {"tokens", &a->tokens},
                                 {"staff", &a->staff},
                                 {"signins", &a->signins}};
    MDB_txn *txn;
    if (hb_store_dbis(&a->store, dbs, sizeof dbs / sizeof dbs[0]) != 0 || s_begin(a, 0, &txn) != 0)
        return HB_EDB;
    MDB_val k = s_str_val("token_key"), v;
    int rc = mdb_get(txn, a->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        randombytes_buf(a->key, sizeof a->key);
        v = s_val(a->key, sizeof a->key);
        rc = mdb_put(txn, a->meta, &k, &v, 0);
    } else if (rc == 0 && v.mv_size == sizeof a->key) {
        memcpy(a->key, v.mv_data, sizeof a->key);
    } else if (rc == 0) {
        rc = MDB_CORRUPTED;
    }
    return s_end_write(txn, rc != 0 ? HB_EDB : 0);
}

int access_open(const char *data_dir, access_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0) {
        hb_errf(err, errlen, "libsodium cannot start");
        return HB_EIO;
    }
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", data_dir, ACCESS_DIR) >= (int)sizeof dir) {
        hb_errf(err, errlen, "the data folder's path is too long: %.200s", data_dir);
        return HB_EINVAL;
    }
    access_t *a = calloc(1, sizeof *a);
    if (!a) {
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    a->lock_ms = ACCESS_PIN_LOCK_MS;
    int rc = hb_store_open(&a->store, dir, ACCESS_MAP_SIZE, ACCESS_MAP_SIZE, 8);
    if (rc == 0) {
        rc = s_setup(a);
        if (rc != 0)
            hb_store_close(&a->store);
    }
    if (rc != 0) {
        hb_errf(err, errlen, "cannot open the device and staff store %s: %s", dir, hb_strerror(rc));
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void access_close(access_t **ap)
{
    access_t *a = ap ? *ap : NULL;
    if (!a)
        return;
    if (a->rtxn)
        mdb_txn_abort(a->rtxn);
    hb_store_close(&a->store);
    sodium_memzero(a->key, sizeof a->key);
    free(a);
    *ap = NULL;
}

/* -------------------------------------------------------------- devices -- */

int access_device_add(access_t *a, const char *name, access_kind_t kind, const char *counter,
                      char token[ACCESS_TOKEN_TEXT], access_device_t *out, char *err, size_t errlen)
{
    if (!access_id_ok(name)) {
        hb_errf(err, errlen,
                "'%.80s' is not a device name: 1 to %d of letters, digits, '-', '_', '.'",
                name ? name : "", ACCESS_ID_MAX - 1);
        return HB_EINVAL;
    }
    if (!access_kind_name(kind)) {
        hb_errf(err, errlen, "the kind must be one of %s", access_kind_list());
        return HB_EINVAL;
    }
    bool terminal = access_kind_has_counter(kind);
    if (terminal && !access_id_ok(counter)) {
        hb_errf(err, errlen,
                "a counter terminal needs its counter (--counter N): 1 to %d of letters, "
                "digits, '-', '_', '.'",
                ACCESS_ID_MAX - 1);
        return HB_EINVAL;
    }
    if (!terminal && counter && counter[0]) {
        hb_errf(err, errlen,
                "only a counter terminal has a counter (and an evaluator, its counter's); a %s has "
                "none",
                access_kind_name(kind));
        return HB_EINVAL;
    }
    uint8_t raw[ACCESS_TOKEN_BYTES], hash[ACCESS_HASH_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, ACCESS_TOKEN_TEXT, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    s_hash(a, token, hash);

    const char *ctr = terminal ? counter : "";
    size_t clen = strlen(ctr) + 1;
    uint8_t rec[DEV_HEAD + ACCESS_ID_MAX];
    int64_t now = hb_now_ms();
    rec[0] = ACCESS_REC_VERSION;
    rec[1] = (uint8_t)kind;
    hb_put_be64(rec + 2, (uint64_t)now);
    memcpy(rec + 10, hash, ACCESS_HASH_BYTES);
    memcpy(rec + DEV_HEAD, ctr, clen);

    MDB_txn *txn;
    if (s_begin(a, 0, &txn) != 0) {
        hb_errf(err, errlen, "the device store cannot be written");
        return HB_EDB;
    }
    MDB_val k = s_str_val(name), v = s_val(rec, DEV_HEAD + clen), hk = s_val(hash, sizeof hash);
    MDB_val nv = s_str_val(name);
    int rc = 0;
    size_t have = s_entries(txn, a->devices);
    if (have != SIZE_MAX && have >= ACCESS_DEVICES_MAX) {
        hb_errf(err, errlen, "%d devices are paired already; remove one first", ACCESS_DEVICES_MAX);
        rc = HB_ETOOBIG;
    } else {
        int mrc = mdb_put(txn, a->devices, &k, &v, MDB_NOOVERWRITE);
        if (mrc == MDB_KEYEXIST) {
            hb_errf(err, errlen, "device %s is paired already; remove it first to pair it again",
                    name);
            rc = HB_EEXIST;
        } else {
            if (mrc == 0)
                mrc = mdb_put(txn, a->tokens, &hk, &nv, MDB_NOOVERWRITE);
            rc = s_put_rc(mrc);
            if (rc != 0)
                hb_errf(err, errlen, "the device store cannot be written: %s", hb_strerror(rc));
        }
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        sodium_memzero(token, ACCESS_TOKEN_TEXT);
        return rc;
    }
    rc = s_commit(txn);
    if (rc != 0) {
        hb_errf(err, errlen, "the device store cannot be written: %s", hb_strerror(rc));
        sodium_memzero(token, ACCESS_TOKEN_TEXT);
        return rc;
    }
    if (out) {
        memset(out, 0, sizeof *out);
        snprintf(out->name, sizeof out->name, "%s", name);
        out->kind = kind;
        snprintf(out->counter, sizeof out->counter, "%s", ctr);
        out->paired_ms = now;
        s_token_id(hash, out->token_id);
    }
    return 0;
}

int access_device_remove(access_t *a, const char *name)
{
    if (!access_id_ok(name))
        return HB_ENOTFOUND;
    MDB_txn *txn;
    if (s_begin(a, 0, &txn) != 0)
        return HB_EDB;
    access_device_t dev;
    uint8_t hash[ACCESS_HASH_BYTES];
    int rc = s_get_device(a, txn, name, &dev, hash);
    if (rc == 0)
        rc = s_delete_device(a, txn, name, hash);
    return s_end_write(txn, rc);
}

int access_device_get(access_t *a, const char *name, access_device_t *out)
{
    if (!access_id_ok(name))
        return HB_ENOTFOUND;
    MDB_txn *txn;
    if (s_read_begin(a, &txn) != 0)
        return HB_EDB;
    int rc = s_get_device(a, txn, name, out, NULL);
    s_read_end(a);
    return rc;
}

int access_device_list(access_t *a, access_device_t *out, size_t max, size_t *n)
{
    *n = 0;
    MDB_txn *txn;
    if (s_read_begin(a, &txn) != 0)
        return HB_EDB;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, a->devices, &cur) == 0 ? 0 : HB_EDB;
    MDB_val k, v;
    for (int op = MDB_FIRST; rc == 0 && mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op) == 0;
         op = MDB_NEXT) {
        access_device_t dev;
        if (s_device_decode(&k, &v, &dev, NULL) != 0)
            continue;
        if (*n < max)
            out[*n] = dev;
        (*n)++;
    }
    if (rc == 0)
        mdb_cursor_close(cur);
    s_read_end(a);
    return rc;
}

int access_revoke(access_t *a, const hb_revocation_t *revoked, size_t n, size_t *removed)
{
    if (removed)
        *removed = 0;
    if (n == 0)
        return 0;
    MDB_txn *txn;
    if (s_begin(a, 0, &txn) != 0)
        return HB_EDB;
    /* The names first, then the deletions: a cursor is not walked while
     * the database under it changes. Bounded by ACCESS_DEVICES_MAX. */
    char(*names)[ACCESS_ID_MAX] = calloc(ACCESS_DEVICES_MAX, sizeof *names);
    uint8_t(*hashes)[ACCESS_HASH_BYTES] = calloc(ACCESS_DEVICES_MAX, sizeof *hashes);
    size_t count = 0;
    int rc = names && hashes ? 0 : HB_ENOMEM;
    MDB_cursor *cur = NULL;
    if (rc == 0 && mdb_cursor_open(txn, a->devices, &cur) != 0)
        rc = HB_EDB;
    MDB_val k, v;
    for (int op = MDB_FIRST; rc == 0 && count < ACCESS_DEVICES_MAX &&
                             mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op) == 0;
         op = MDB_NEXT) {
        access_device_t dev;
        if (s_device_decode(&k, &v, &dev, hashes[count]) == 0 && access_revoked(&dev, revoked, n)) {
            memcpy(names[count], dev.name, sizeof names[count]);
            count++;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = s_delete_device(a, txn, names[i], hashes[i]);
        if (rc == 0)
            hb_warn("access: device %s revoked by HQ's policy: its token no longer works",
                    names[i]);
    }
    free(names);
    free(hashes);
    if (rc != 0 || count == 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = s_commit(txn);
    if (rc == 0 && removed)
        *removed = count;
    return rc;
}

int access_authenticate(access_t *a, const char *token, access_device_t *dev,
                        char staff[ACCESS_ID_MAX])
{
    if (staff)
        staff[0] = '\0';
    size_t len = token ? strlen(token) : 0;
    if (len == 0 || len > ACCESS_TOKEN_TEXT_MAX)
        return HB_ENOTFOUND;
    uint8_t hash[ACCESS_HASH_BYTES], stored[ACCESS_HASH_BYTES];
    s_hash(a, token, hash);
    MDB_txn *txn;
    if (s_read_begin(a, &txn) != 0)
        return HB_EDB;
    MDB_val hk = s_val(hash, sizeof hash), nv;
    int rc = mdb_get(txn, a->tokens, &hk, &nv);
    char name[ACCESS_ID_MAX];
    if (rc == 0 && nv.mv_size > 0 && nv.mv_size < ACCESS_ID_MAX) {
        memcpy(name, nv.mv_data, nv.mv_size);
        name[nv.mv_size] = '\0';
        rc = s_get_device(a, txn, name, dev, stored);
        /* The token row and the device's record agree, or neither counts. */
        if (rc == 0 && sodium_memcmp(stored, hash, sizeof hash) != 0)
            rc = HB_ENOTFOUND;
    } else {
        rc = rc == 0 || rc == MDB_NOTFOUND ? HB_ENOTFOUND : HB_EDB;
    }
    if (rc == 0 && staff && dev->kind == ACCESS_KIND_COUNTER) {
        MDB_val k = s_str_val(dev->name), v;
        if (mdb_get(txn, a->signins, &k, &v) == 0 && s_signin_decode(&v, staff) != 0)
            staff[0] = '\0';
    }
    s_read_end(a);
    return rc;
}

/* ---------------------------------------------------------------- staff -- */

int access_staff_add(access_t *a, const char *id, const char *pin, char *err, size_t errlen)
{
    if (!access_id_ok(id)) {
        hb_errf(err, errlen, "'%.80s' is not a staff id: 1 to %d of letters, digits, '-', '_', '.'",
                id ? id : "", ACCESS_ID_MAX - 1);
        return HB_EINVAL;
    }
    if (!access_pin_ok(pin)) {
        hb_errf(err, errlen, "a PIN is %d to %d digits", ACCESS_PIN_MIN, ACCESS_PIN_MAX);
        return HB_EINVAL;
    }
    uint8_t rec[9 + crypto_pwhash_STRBYTES];
    rec[0] = ACCESS_REC_VERSION;
    hb_put_be64(rec + 1, (uint64_t)hb_now_ms());
    /* Short PINs need the slow hash: Argon2id with the interactive limits
     * (about 0.1 s and 64 MiB here), before any transaction is open. */
    if (crypto_pwhash_str((char *)rec + 9, pin, strlen(pin), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        hb_errf(err, errlen, "out of memory while hashing the PIN");
        return HB_ENOMEM;
    }
    size_t len = 9 + strlen((char *)rec + 9) + 1;
    MDB_txn *txn;
    if (s_begin(a, 0, &txn) != 0) {
        hb_errf(err, errlen, "the staff store cannot be written");
        return HB_EDB;
    }
    int rc;
    size_t have = s_entries(txn, a->staff);
    MDB_val k = s_str_val(id), v = s_val(rec, len);
    if (have != SIZE_MAX && have >= ACCESS_STAFF_MAX) {
        hb_errf(err, errlen, "the hall has %d staff ids already; remove one first",
                ACCESS_STAFF_MAX);
        rc = HB_ETOOBIG;
    } else {
        int mrc = mdb_put(txn, a->staff, &k, &v, MDB_NOOVERWRITE);
        if (mrc == MDB_KEYEXIST) {
            hb_errf(err, errlen, "staff %s exists already; remove it first to set a new PIN", id);
            rc = HB_EEXIST;
        } else {
            rc = s_put_rc(mrc);
            if (rc != 0)
                hb_errf(err, errlen, "the staff store cannot be written: %s", hb_strerror(rc));
        }
    }
    sodium_memzero(rec, sizeof rec);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = s_commit(txn);
    if (rc != 0)
        hb_errf(err, errlen, "the staff store cannot be written: %s", hb_strerror(rc));
    return rc;
}

int access_staff_remove(access_t *a, const char *id)
{
    if (!access_id_ok(id))
        return HB_ENOTFOUND;
    MDB_txn *txn;
    if (s_begin(a, 0, &txn) != 0)
        return HB_EDB;
    MDB_val k = s_str_val(id);
    int rc = mdb_del(txn, a->staff, &k, NULL);
    rc = rc == MDB_NOTFOUND ? HB_ENOTFOUND : rc ? HB_EDB : 0;
    /* Signed out wherever they are signed in: each terminal has one row. */
    MDB_cursor *cur = NULL;
    if (rc == 0 && mdb_cursor_open(txn, a->signins, &cur) != 0)
        rc = HB_EDB;
    MDB_val sk, sv;
    for (int op = MDB_FIRST; rc == 0 && mdb_cursor_get(cur, &sk, &sv, (MDB_cursor_op)op) == 0;
         op = MDB_NEXT) {
        char who[ACCESS_ID_MAX];
        if (s_signin_decode(&sv, who) == 0 && strcmp(who, id) == 0 && mdb_cursor_del(cur, 0) != 0)
            rc = HB_EDB;
    }
    if (cur)
        mdb_cursor_close(cur);
    return s_end_write(txn, rc);
}

int access_staff_list(access_t *a, access_staff_fn fn, void *arg)
{
    MDB_txn *txn;
    if (s_read_begin(a, &txn) != 0)
        return HB_EDB;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, a->staff, &cur) != 0) {
        s_read_end(a);
        return HB_EDB;
    }
    MDB_val k, v;
    for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op) == 0; op = MDB_NEXT) {
        char id[ACCESS_ID_MAX];
        if (k.mv_size == 0 || k.mv_size >= ACCESS_ID_MAX || v.mv_size < 9)
            continue;
        memcpy(id, k.mv_data, k.mv_size);
        id[k.mv_size] = '\0';
        fn(id, (int64_t)hb_get_be64((const uint8_t *)v.mv_data + 1), arg);
    }
    mdb_cursor_close(cur);
    s_read_end(a);
    return 0;
}

/* ------------------------------------------------------------ PIN locks -- */

void access_set_pin_lock(access_t *a, int64_t lock_ms) { a->lock_ms = lock_ms; }

/* The count of `key`, made when missing: the slot of a count that is not
 * locked and was last used longest ago is taken over when all are used. */
static pin_count_t *s_count(access_t *a, const char *prefix, const char *name, int64_t now)
{
    char key[sizeof a->counts[0].key];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    pin_count_t *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < ACCESS_LOCKS_MAX; i++) {
        pin_count_t *c = &a->counts[i];
        if (c->key[0] && strcmp(c->key, key) == 0)
            return c;
        if (!c->key[0] && !free_slot)
            free_slot = c;
        if (c->key[0] && c->until_ms <= now && (!oldest || c->last_ms < oldest->last_ms))
            oldest = c;
    }
    pin_count_t *c = free_slot ? free_slot : oldest ? oldest : &a->counts[0];
    memset(c, 0, sizeof *c);
    snprintf(c->key, sizeof c->key, "%s", key);
    return c;
}

/* Whether `c` is locked now; an expired lock is forgotten. */
static bool s_locked(pin_count_t *c, int64_t now, int64_t *retry_ms)
{
    if (c->until_ms && c->until_ms > now) {
        *retry_ms = c->until_ms - now;
        return true;
    }
    if (c->until_ms) {
        c->until_ms = 0;
        c->fails = 0;
    }
    return false;
}

static void s_wrong(access_t *a, pin_count_t *c, uint32_t tries, int64_t now, const char *what)
{
    c->last_ms = now;
    if (++c->fails < tries)
        return;
    c->fails = 0;
    c->until_ms = now + a->lock_ms;
    hb_warn("access: %s locked for %.1f s after %u wrong PINs", what, (double)a->lock_ms / 1e3,
            tries);
}

/* Checks `pin` against staff `staff`'s hash; an unknown id is checked
 * against a hash of nothing, so that it takes as long as a known one. */
static bool s_verify(access_t *a, const char *staff, const char *pin)
{
    char hash[crypto_pwhash_STRBYTES] = "";
    bool known = false;
    MDB_txn *txn;
    if (access_id_ok(staff) && s_read_begin(a, &txn) == 0) {
        MDB_val k = s_str_val(staff), v;
        if (mdb_get(txn, a->staff, &k, &v) == 0 && v.mv_size > 9 && v.mv_size - 9 <= sizeof hash &&
            ((const char *)v.mv_data)[v.mv_size - 1] == '\0') {
            memcpy(hash, (const char *)v.mv_data + 9, v.mv_size - 9);
            known = true;
        }
        s_read_end(a);
    }
    if (!known) {
        if (!a->dummy_hash[0] &&
            crypto_pwhash_str(a->dummy_hash, "-", 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
            a->dummy_hash[0] = '\0';
        /* The answer is no whatever this says; only its time counts. */
        int same =
            a->dummy_hash[0] ? crypto_pwhash_str_verify(a->dummy_hash, pin, strlen(pin)) : -1;
        (void)same;
        return false;
    }
    bool ok = crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0;
    sodium_memzero(hash, sizeof hash);
    return ok;
}

int access_pin_check(access_t *a, const char *device, const char *staff, const char *pin,
                     int64_t *retry_ms, bool *terminal)
{
    int64_t now = hb_mono_ms();
    *retry_ms = 0;
    *terminal = false;
    pin_count_t *t = s_count(a, "t:", device, now);
    if (s_locked(t, now, retry_ms)) {
        *terminal = true;
        return HB_EAGAIN;
    }
    pin_count_t *s = s_count(a, "s:", staff, now);
    if (s_locked(s, now, retry_ms))
        return HB_EAGAIN;
    if (access_pin_ok(pin) && s_verify(a, staff, pin)) {
        s->fails = 0;
        t->fails = 0;
        return 0;
    }
    char what[ACCESS_ID_MAX + 32];
    snprintf(what, sizeof what, "staff %s", staff);
    s_wrong(a, s, ACCESS_PIN_TRIES, now, what);
    snprintf(what, sizeof what, "terminal %s", device);
    s_wrong(a, t, ACCESS_TERMINAL_TRIES, now, what);
    return HB_EAUTH;
}

/* ------------------------------------------------------------- sign-ins -- */

int access_signin(access_t *a, const char *device, const char *staff)
{
    if (!access_id_ok(device) || !access_id_ok(staff))
        return HB_EINVAL;
    uint8_t rec[9 + ACCESS_ID_MAX];
    rec[0] = ACCESS_REC_VERSION;
    hb_put_be64(rec + 1, (uint64_t)hb_now_ms());
    size_t slen = strlen(staff) + 1;
    memcpy(rec + 9, staff, slen);
    MDB_txn *txn;
    if (s_begin(a, 0, &txn) != 0)
        return HB_EDB;
    /* The staff id and the terminal must still be there: either may have
     * been removed since the PIN was checked. */
    MDB_val sk = s_str_val(staff), dk = s_str_val(device), v;
    int rc = mdb_get(txn, a->staff, &sk, &v);
    if (rc == 0)
        rc = mdb_get(txn, a->devices, &dk, &v);
    if (rc == 0) {
        v = s_val(rec, 9 + slen);
        rc = s_put_rc(mdb_put(txn, a->signins, &dk, &v, 0));
    } else {
        rc = rc == MDB_NOTFOUND ? HB_ENOTFOUND : HB_EDB;
    }
    return s_end_write(txn, rc);
}

int access_signout(access_t *a, const char *device, char staff[ACCESS_ID_MAX])
{
    if (staff)
        staff[0] = '\0';
    if (!access_id_ok(device))
        return 0;
    MDB_txn *txn;
    if (s_begin(a, 0, &txn) != 0)
        return HB_EDB;
    MDB_val k = s_str_val(device), v;
    int rc = mdb_get(txn, a->signins, &k, &v);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return 0;
    }
    if (rc == 0 && staff && s_signin_decode(&v, staff) != 0)
        staff[0] = '\0';
    if (rc == 0)
        rc = mdb_del(txn, a->signins, &k, NULL);
    return s_end_write(txn, rc != 0 ? HB_EDB : 0);
}
