/* Head office's enrolment store (see enrolments.h): certificates signed
 * with HQ's Ed25519 key into the folder the ZAP handler watches, pending
 * requests and pre-registrations as files beside it. Each change is one
 * durable file write or removal, so a crash leaves the old state or the
 * new one; the certificate is written last, since once it is there the
 * hall may connect. */
#include "enrolments.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENROL_PATH_MAX 4400
#define ENROL_LIST_MAX 100000 /* pending requests or registrations listed, at most */

struct hq_enrol {
    hq_enrol_config_t cfg;
    hb_enrol_signer_t signer;
    char keys[4096];
    uint64_t serial;
};

static int s_refuse(hq_enrol_refusal_t *why, int status, const char *code, int rc, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static int s_refuse(hq_enrol_refusal_t *why, int status, const char *code, int rc, const char *fmt,
                    ...)
{
    why->status = status;
    why->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->reason, sizeof why->reason, fmt, ap);
    va_end(ap);
    return rc;
}

/* KEYS/`sub``hall``suffix`, e.g. KEYS/halls/H0042.key */
static void s_path(const hq_enrol_t *e, char out[ENROL_PATH_MAX], const char *sub, const char *hall,
                   const char *suffix)
{
    snprintf(out, ENROL_PATH_MAX, "%s/%s%s%s", e->keys, sub, hall, suffix);
}

int hq_enrol_open(const hq_enrol_config_t *cfg, hq_enrol_t **out, char *err, size_t errlen)
{
    hq_enrol_t *e = calloc(1, sizeof *e);
    if (!e)
        return hb_err_nomem(err, errlen);
    e->cfg = *cfg;
    snprintf(e->keys, sizeof e->keys, "%s", cfg->keys);
    char path[ENROL_PATH_MAX];
    static const char *const dirs[] = {"halls", "enrol/pending", "enrol/codes", "enrol/revoked"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", e->keys, dirs[i]);
        if (hb_mkdir_p(path, 0750) != 0) {
            hb_errf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            free(e);
            return HB_EIO;
        }
    }
    snprintf(path, sizeof path, "%s/sign.key_secret", e->keys);
    int rc = hb_enrol_signer_load(path, true, &e->signer, err, errlen);
    if (rc != 0) {
        free(e);
        return rc;
    }
    snprintf(path, sizeof path, "%s/enrol/serial", e->keys);
    char *text = NULL;
    size_t len = 0;
    if (hb_file_read_small(path, 64, &text, &len) == 0) {
        e->serial = strtoull(text, NULL, 10);
        free(text);
    }
    *out = e;
    return 0;
}

static void s_fini(hq_enrol_t *e) { hb_enrol_signer_clear(&e->signer); }

void hq_enrol_close(hq_enrol_t **ep) { HB_DESTROY(ep, s_fini); }

const char *hq_enrol_signing_key(const hq_enrol_t *e) { return e->signer.public_z85; }

int hq_enrol_parse(const hq_enrol_t *e, const char *text, size_t len, hb_enrol_request_t *req,
                   hq_enrol_refusal_t *why)
{
    (void)e;
    char err[400];
    if (hb_enrol_request_parse(text, len, req, err, sizeof err) != 0)
        return s_refuse(why, 400, "malformed_request", HB_EPARSE, "malformed request: %s", err);
    if (hb_enrol_request_check_time(req, hb_now_ms(), err, sizeof err) != 0)
        return s_refuse(why, 400, "request_out_of_date", HB_ERANGE, "%s", err);
    return 0;
}

/* The hall's current certificate, when it has one. */
static int s_current(const hq_enrol_t *e, const char *hall, hb_cert_t *c)
{
    char path[ENROL_PATH_MAX], err[256];
    s_path(e, path, "halls/", hall, ".key");
    return hb_cert_load_public(path, c, err, sizeof err);
}

void hq_enrol_current_region(const hq_enrol_t *e, const char *hall, char *out, size_t outlen)
{
    hb_cert_t c;
    const char *r = s_current(e, hall, &c) == 0 ? hb_cert_meta(&c, "region") : NULL;
    snprintf(out, outlen, "%s", r ? r : "");
}

int hq_enrol_check_new(const hq_enrol_t *e, const hb_enrol_request_t *req, hq_enrol_refusal_t *why)
{
    hb_cert_t c;
    if (s_current(e, req->hall, &c) == 0 && strcmp(c.public_key, req->public_key) != 0) {
        const char *serial = hb_cert_meta(&c, "serial");
        return s_refuse(why, 409, "key_conflict", HB_ECONFLICT,
                        "hall %s is already enrolled with another key (%s, serial %s); a new key "
                        "comes by rotation, or after `hallctl halls revoke %s`",
                        req->hall, c.public_key, serial ? serial : "none", req->hall);
    }
    return 0;
}

int hq_enrol_check_rotation(const hq_enrol_t *e, const hb_enrol_request_t *req,
                            hq_enrol_refusal_t *why)
{
    hb_cert_t c;
    char err[400];
    if (s_current(e, req->hall, &c) != 0)
        return s_refuse(why, 404, "not_enrolled", HB_ENOTFOUND,
                        "hall %s is not enrolled: a rotation needs a current key (enrol it "
                        "instead)",
                        req->hall);
    if (strcmp(c.public_key, req->current_key) != 0)
        return s_refuse(why, 403, "bad_proof", HB_EAUTH,
                        "current-key %s is not hall %s's enrolled key", req->current_key,
                        req->hall);
    if (hb_enrol_request_verify(req, e->cfg.hq->secret_key, err, sizeof err) != 0)
        return s_refuse(why, 403, "bad_proof", HB_EAUTH, "%s", err);
    return 0;
}

static int s_write_json(const char *path, json_t *doc, mode_t mode)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return HB_ENOMEM;
    int rc = hb_file_write_durably(path, text, strlen(text), mode);
    free(text);
    return rc;
}

/* The answer a hall installs, from its current certificate's file. */
static int s_answer(const hq_enrol_t *e, const char *hall, json_t **answer, hq_enrol_refusal_t *why)
{
    char path[ENROL_PATH_MAX], hq_path[ENROL_PATH_MAX], err[256];
    s_path(e, path, "halls/", hall, ".key");
    snprintf(hq_path, sizeof hq_path, "%s/hq.key", e->keys);
    hb_cert_t cert;
    char *cert_text = NULL, *hq_text = NULL;
    size_t len;
    if (hb_cert_load_public(path, &cert, err, sizeof err) != 0 ||
        hb_file_read_small(path, 8192, &cert_text, &len) != 0 ||
        hb_file_read_small(hq_path, 8192, &hq_text, &len) != 0) {
        free(cert_text);
        return s_refuse(why, 500, "storage", HB_EIO, "cannot read back %s or %s", path, hq_path);
    }
    const char *region = hb_cert_meta(&cert, "region"), *serial = hb_cert_meta(&cert, "serial"),
               *nb = hb_cert_meta(&cert, "not-before"), *na = hb_cert_meta(&cert, "not-after");
    *answer = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "hall", hall, "region",
                        region ? region : "", "public_key", cert.public_key, "serial",
                        (json_int_t)(serial ? strtoull(serial, NULL, 10) : 0), "not_before",
                        nb ? nb : "", "not_after", na ? na : "", "certificate", cert_text, "hq_key",
                        hq_text, "signing_key", e->signer.public_z85);
    free(cert_text);
    free(hq_text);
    return *answer ? 0 : s_refuse(why, 500, "storage", HB_ENOMEM, "out of memory");
}

int hq_enrol_issue(hq_enrol_t *e, const char *hall, const char *key, const char *region,
                   bool rotate, json_t **answer, hq_enrol_refusal_t *why)
{
    *answer = NULL;
    char path[ENROL_PATH_MAX], old[ENROL_PATH_MAX], text[16];
    int64_t now = hb_now_ms();
    hb_cert_t cert = {0};
    snprintf(cert.public_key, sizeof cert.public_key, "%s", key);
    /* The serial goes to disk before the certificate that carries it, so a
     * crash never issues one serial twice. */
    e->serial++;
    snprintf(path, sizeof path, "%s/enrol/serial", e->keys);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", e->serial);
    if (hb_file_write_durably(path, text, (size_t)n, 0640) != 0)
        return s_refuse(why, 500, "storage", HB_EIO, "cannot write %s: %s", path, strerror(errno));
    if (hb_enrol_cert_sign(&cert, &e->signer, hall, region, e->serial, now,
                           now + e->cfg.validity_ms) != 0)
        return s_refuse(why, 400, "bad_request", HB_EINVAL,
                        "cannot make a certificate for hall %s in region '%s'", hall, region);
    s_path(e, path, "halls/", hall, ".key");
    if (rotate) {
        /* The current certificate stays valid for the overlap: the hall
         * switches within it, and ZAP retires it at the new key's first
         * handshake. Its cut-short life is a metadata line the signature
         * does not cover; it can only shorten what the signature allows. */
        hb_cert_t cur;
        if (s_current(e, hall, &cur) == 0) {
            char until[HB_RFC3339_MAX];
            hb_time_format(now + e->cfg.overlap_ms, until);
            hb_cert_set_meta(&cur, "retire-at", until);
            s_path(e, old, "halls/", hall, ".old.key");
            if (hb_cert_save(&cur, old, false) != 0)
                return s_refuse(why, 500, "storage", HB_EIO, "cannot write %s", old);
        }
    }
    if (hb_cert_save(&cert, path, false) != 0)
        return s_refuse(why, 500, "storage", HB_EIO, "cannot write %s", path);
    s_path(e, old, "enrol/revoked/", hall, ".json");
    unlink(old); /* enrolled again after a revocation */
    hb_info("enrol: hall %s %s in region %s, key %s, certificate serial %" PRIu64, hall,
            rotate ? "rotated its key" : "enrolled", region, key, e->serial);
    return s_answer(e, hall, answer, why);
}

int hq_enrol_rotate(hq_enrol_t *e, const hb_enrol_request_t *req, const char *conn_key,
                    json_t **answer, hq_enrol_refusal_t *why)
{
    *answer = NULL;
    char err[400], region[HB_ENROL_REGION_MAX];
    if (req->kind != HB_ENROL_ROTATE)
        return s_refuse(why, 400, "wrong_kind", HB_EINVAL,
                        "hall %s's request is a first enrolment, not a rotation", req->hall);
    if (conn_key && strcmp(conn_key, req->current_key) != 0)
        return s_refuse(why, 403, "bad_proof", HB_EAUTH,
                        "the request's current-key %s is not the key this connection "
                        "authenticated with (%s)",
                        req->current_key, conn_key);
    /* The same request again after HQ granted it (its answer lost on the
     * way): the certificate already issued for the new key is the answer,
     * while the old key is still in its overlap. */
    hb_cert_t cur, old;
    char path[ENROL_PATH_MAX];
    s_path(e, path, "halls/", req->hall, ".old.key");
    if (s_current(e, req->hall, &cur) == 0 && strcmp(cur.public_key, req->public_key) == 0 &&
        hb_cert_load_public(path, &old, err, sizeof err) == 0 &&
        strcmp(old.public_key, req->current_key) == 0) {
        if (hb_enrol_request_verify(req, e->cfg.hq->secret_key, err, sizeof err) != 0)
            return s_refuse(why, 403, "bad_proof", HB_EAUTH, "%s", err);
        hb_info("enrol: hall %s asked again for the certificate of its new key %s", req->hall,
                req->public_key);
        return s_answer(e, req->hall, answer, why);
    }
    int rc = hq_enrol_check_rotation(e, req, why);
    if (rc != 0)
        return rc;
    hq_enrol_current_region(e, req->hall, region, sizeof region);
    return hq_enrol_issue(e, req->hall, req->public_key, region, true, answer, why);
}

int hq_enrol_pending_put(hq_enrol_t *e, const hb_enrol_request_t *req, hq_enrol_refusal_t *why)
{
    char path[ENROL_PATH_MAX], text[HB_ENROL_REQUEST_MAX];
    hb_enrol_request_t have;
    hq_enrol_refusal_t ignored;
    if (hq_enrol_pending_get(e, req->hall, &have, &ignored) == 0 &&
        strcmp(have.public_key, req->public_key) != 0)
        return s_refuse(why, 409, "key_conflict", HB_ECONFLICT,
                        "a request for hall %s with another key (%s) is already waiting; reject it "
                        "first (hallctl enroll reject %s)",
                        req->hall, have.public_key, req->hall);
    s_path(e, path, "enrol/pending/", req->hall, ".req");
    if (hb_enrol_request_format(req, text, sizeof text) != 0 ||
        hb_file_write_durably(path, text, strlen(text), 0640) != 0)
        return s_refuse(why, 500, "storage", HB_EIO, "cannot write %s", path);
    hb_info("enrol: a request of hall %s (key %s) waits for approval", req->hall, req->public_key);
    return 0;
}

int hq_enrol_pending_get(const hq_enrol_t *e, const char *hall, hb_enrol_request_t *req,
                         hq_enrol_refusal_t *why)
{
    char path[ENROL_PATH_MAX], err[400];
    s_path(e, path, "enrol/pending/", hall, ".req");
    char *text = NULL;
    size_t len = 0;
    int rc = hb_file_read_small(path, HB_ENROL_REQUEST_MAX, &text, &len);
    if (rc != 0)
        return s_refuse(why, 404, "not_pending", HB_ENOTFOUND,
                        "no request of hall %s is waiting for approval", hall);
    rc = hb_enrol_request_parse(text, len, req, err, sizeof err);
    free(text);
    if (rc != 0)
        return s_refuse(why, 500, "storage", rc, "%s: %s", path, err);
    return 0;
}

int hq_enrol_pending_remove(hq_enrol_t *e, const char *hall)
{
    char path[ENROL_PATH_MAX];
    s_path(e, path, "enrol/pending/", hall, ".req");
    return unlink(path) == 0 ? 0 : HB_ENOTFOUND;
}

/* The files of `sub` named *`suffix`, each given to `fn` with its hall. */
static void s_each(const hq_enrol_t *e, const char *sub, const char *suffix,
                   void (*fn)(const hq_enrol_t *, const char *hall, json_t *), json_t *arr)
{
    char dir[ENROL_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", e->keys, sub);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d)) != NULL && json_array_size(arr) < ENROL_LIST_MAX) {
        size_t n = strlen(de->d_name);
        if (n <= sl || n - sl >= HB_HALL_ID_MAX || strcmp(de->d_name + n - sl, suffix) != 0)
            continue;
        char hall[HB_HALL_ID_MAX];
        snprintf(hall, sizeof hall, "%.*s", (int)(n - sl), de->d_name);
        if (hb_hall_id_valid(hall))
            fn(e, hall, arr);
    }
    closedir(d);
}

static void s_list_pending(const hq_enrol_t *e, const char *hall, json_t *arr)
{
    hb_enrol_request_t r;
    hq_enrol_refusal_t why;
    if (hq_enrol_pending_get(e, hall, &r, &why) != 0)
        return;
    char when[HB_RFC3339_MAX], fp[HB_ENROL_FINGERPRINT_MAX];
    hb_time_format(r.created_ms, when);
    hb_enrol_fingerprint(r.public_key, fp);
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "hall", r.hall, "kind",
                                         r.kind == HB_ENROL_ROTATE ? "rotate" : "enrol",
                                         "public_key", r.public_key, "fingerprint", fp, "region",
                                         r.region, "created", when));
}

static void s_list_registered(const hq_enrol_t *e, const char *hall, json_t *arr)
{
    char path[ENROL_PATH_MAX];
    s_path(e, path, "enrol/codes/", hall, ".json");
    json_t *doc = json_load_file(path, 0, NULL);
    if (!doc)
        return;
    json_object_del(doc, "code_digest"); /* not for display, even hashed */
    json_object_set_new(doc, "hall", json_string(hall));
    json_array_append_new(arr, doc);
}

static int s_by_hall(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "hall")),
                  json_string_value(json_object_get(*(json_t *const *)b, "hall")));
}

static json_t *s_sorted(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    if (!v)
        return arr;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, s_by_hall);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    json_decref(arr);
    return out;
}

static void s_list_revoked(const hq_enrol_t *e, const char *hall, json_t *arr)
{
    char path[ENROL_PATH_MAX];
    s_path(e, path, "enrol/revoked/", hall, ".json");
    json_t *doc = json_load_file(path, 0, NULL);
    const char *at = json_string_value(json_object_get(doc, "revoked_at"));
    json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "hall", hall, "state", "revoked",
                                         "revoked_at", at ? json_string(at) : json_null()));
    json_decref(doc);
}

json_t *hq_enrol_list(const hq_enrol_t *e)
{
    json_t *pending = json_array(), *registered = json_array(), *revoked = json_array();
    s_each(e, "enrol/pending", ".req", s_list_pending, pending);
    s_each(e, "enrol/codes", ".json", s_list_registered, registered);
    s_each(e, "enrol/revoked", ".json", s_list_revoked, revoked);
    return json_pack("{s:o, s:o, s:o, s:s}", "pending", s_sorted(pending), "registered",
                     s_sorted(registered), "revoked", s_sorted(revoked), "signing_key",
                     e->signer.public_z85);
}

int hq_enrol_register(hq_enrol_t *e, const char *hall, const char *region, const char *name,
                      const char *address, char code[HB_ENROL_CODE_TEXT], hq_enrol_refusal_t *why)
{
    hb_cert_t c;
    if (s_current(e, hall, &c) == 0)
        return s_refuse(why, 409, "already_enrolled", HB_ECONFLICT,
                        "hall %s is already enrolled; a registration is for a hall still to come",
                        hall);
    char digest[65], expires[HB_RFC3339_MAX], path[ENROL_PATH_MAX];
    hb_enrol_code_new(code);
    hb_enrol_code_digest(code, digest);
    hb_time_format(hb_now_ms() + e->cfg.code_validity_ms, expires);
    json_t *doc = json_pack("{s:s, s:s, s:s}", "region", region, "code_digest", digest,
                            "code_expires", expires);
    if (name && name[0])
        json_object_set_new(doc, "name", json_string(name));
    if (address && address[0])
        json_object_set_new(doc, "address", json_string(address));
    s_path(e, path, "enrol/codes/", hall, ".json");
    int rc = s_write_json(path, doc, 0640);
    json_decref(doc);
    if (rc != 0)
        return s_refuse(why, 500, "storage", HB_EIO, "cannot write %s", path);
    return 0;
}

int hq_enrol_claim(hq_enrol_t *e, const hb_enrol_request_t *req, json_t **reg,
                   hq_enrol_refusal_t *why)
{
    *reg = NULL;
    char path[ENROL_PATH_MAX], digest[65];
    s_path(e, path, "enrol/codes/", req->hall, ".json");
    json_t *doc = json_load_file(path, 0, NULL);
    if (!doc)
        return s_refuse(why, 403, "bad_code", HB_EAUTH,
                        "hall %s is not registered for enrolment by code (or its code was used)",
                        req->hall);
    const char *want = json_string_value(json_object_get(doc, "code_digest"));
    const char *exp = json_string_value(json_object_get(doc, "code_expires"));
    int64_t exp_ms = 0;
    hb_enrol_code_digest(req->code, digest);
    if (!want || strlen(want) != 64 || sodium_memcmp(want, digest, 64) != 0) {
        json_decref(doc);
        return s_refuse(why, 403, "bad_code", HB_EAUTH,
                        "the enrolment code does not match hall %s's registration", req->hall);
    }
    if (!exp || hb_time_parse(exp, &exp_ms) != 0 || hb_now_ms() >= exp_ms) {
        json_decref(doc);
        return s_refuse(why, 403, "code_expired", HB_EAUTH,
                        "hall %s's enrolment code expired at %s; register the hall again for a "
                        "new one",
                        req->hall, exp ? exp : "?");
    }
    /* Used up before the certificate is issued: a code is good once. */
    if (unlink(path) != 0) {
        json_decref(doc);
        return s_refuse(why, 500, "storage", HB_EIO, "cannot remove %s", path);
    }
    json_object_del(doc, "code_digest");
    *reg = doc;
    return 0;
}

int hq_enrol_revoke(hq_enrol_t *e, const char *hall, hq_enrol_refusal_t *why)
{
    static const char *const files[][2] = {{"halls/", ".key"},
                                           {"halls/", ".old.key"},
                                           {"enrol/pending/", ".req"},
                                           {"enrol/codes/", ".json"}};
    char path[ENROL_PATH_MAX];
    int removed = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        s_path(e, path, files[i][0], hall, files[i][1]);
        if (unlink(path) == 0)
            removed++;
    }
    if (!removed)
        return s_refuse(why, 404, "not_enrolled", HB_ENOTFOUND,
                        "hall %s has no certificate, request or registration to revoke", hall);
    /* A record that it was revoked, for the list of halls (and people):
     * the certificate itself is gone. */
    char when[HB_RFC3339_MAX];
    hb_time_format(hb_now_ms(), when);
    json_t *doc = json_pack("{s:s}", "revoked_at", when);
    s_path(e, path, "enrol/revoked/", hall, ".json");
    if (!doc || s_write_json(path, doc, 0640) != 0)
        hb_warn("enrol: cannot write %s; hall %s is revoked all the same", path, hall);
    json_decref(doc);
    snprintf(path, sizeof path, "%s/halls", e->keys);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    hb_warn("enrol: hall %s revoked: its key is refused from now on", hall);
    return 0;
}
