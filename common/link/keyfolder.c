/* The hall's key folder (see keyfolder.h): a rotation's request and the
 * installation of HQ's answer. Every file is written to a temporary name,
 * synced and renamed (hb_cert_save, hb_file_write_durably), and the new
 * pair's secret moves only from hall.next.key_secret to hall.key_secret:
 * it never leaves the folder. */
#include "hallbus/keyfolder.h"

#include "hallbus/cert.h"
#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KEYS_PATH_MAX (PATH_MAX + 64)

int hb_keys_rotation_request(const char *dir, char *text, size_t textlen, char *new_key, char *err,
                             size_t errlen)
{
    char path[KEYS_PATH_MAX], next[KEYS_PATH_MAX];
    hb_cert_t cur, hq, fresh;
    snprintf(path, sizeof path, "%s/hall.key", dir);
    if (hb_cert_load(path, &cur, err, errlen) != 0 || !cur.secret_key[0]) {
        if (!cur.secret_key[0])
            hb_errf(err, errlen, "the hall's current pair %s has no secret key", path);
        return HB_EAUTH;
    }
    const char *hall = hb_cert_meta(&cur, "hall");
    if (!hall) {
        hb_errf(err, errlen, "%s names no hall", path);
        return HB_EAUTH;
    }
    snprintf(path, sizeof path, "%s/hq.key", dir);
    if (hb_cert_load_public(path, &hq, err, errlen) != 0)
        return HB_EAUTH;
    snprintf(next, sizeof next, "%s/hall.next.key", dir);
    /* A rotation begun and not finished keeps its pair: sending the
     * request again must not make a third key. */
    char ignored[256];
    if (hb_cert_load(next, &fresh, ignored, sizeof ignored) != 0 || !fresh.secret_key[0]) {
        if (hb_cert_generate(&fresh) != 0 || hb_cert_set_meta(&fresh, "hall", hall) != 0 ||
            hb_cert_save(&fresh, next, true) != 0) {
            hb_errf(err, errlen, "cannot write %s: %s", next, strerror(errno));
            return HB_EIO;
        }
    }
    hb_enrol_request_t req;
    int rc = hb_enrol_request_init(&req, HB_ENROL_ROTATE, hall, fresh.public_key, NULL, NULL, err,
                                   errlen);
    if (rc != 0)
        return rc;
    snprintf(req.current_key, sizeof req.current_key, "%s", cur.public_key);
    rc = hb_enrol_request_prove(&req, cur.secret_key, fresh.secret_key, hq.public_key, err, errlen);
    hb_cert_t wipe = {0};
    cur = wipe; /* the secrets go no further than here */
    if (rc != 0)
        return rc;
    if (hb_enrol_request_format(&req, text, textlen) != 0) {
        hb_errf(err, errlen, "the request does not fit in %zu bytes", textlen);
        fresh = wipe;
        return HB_ETOOBIG;
    }
    snprintf(new_key, HB_CERT_KEY_Z85, "%s", fresh.public_key);
    fresh = wipe;
    return 0;
}

/* Reads a certificate's text by way of a file in `dir` (the certificate
 * reader takes files), removed again. */
static int s_cert_from_text(const char *dir, const char *name, const char *text, hb_cert_t *c,
                            char *err, size_t errlen)
{
    char tmp[KEYS_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/%s", dir, name);
    int rc = hb_file_write_durably(tmp, text, strlen(text), 0600);
    if (rc == 0)
        rc = hb_cert_load_public(tmp, c, err, errlen);
    else
        hb_errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    unlink(tmp);
    return rc;
}

int hb_keys_install(const char *dir, const char *cert_text, const char *hq_text,
                    hb_enrol_cert_info_t *info, bool *rotated, char *err, size_t errlen)
{
    char path[KEYS_PATH_MAX], next[KEYS_PATH_MAX], why[256];
    hb_cert_t cert, hq, pair;
    *rotated = false;
    memset(info, 0, sizeof *info);
    if (!cert_text || !cert_text[0] || !hq_text || !hq_text[0]) {
        hb_errf(err, errlen, "the answer holds no certificate or no hq.key");
        return HB_EPARSE;
    }
    if (s_cert_from_text(dir, ".answer.key", cert_text, &cert, why, sizeof why) != 0) {
        hb_errf(err, errlen, "the answer holds no usable certificate: %s", why);
        return HB_EPARSE;
    }
    if (s_cert_from_text(dir, ".answer-hq.key", hq_text, &hq, why, sizeof why) != 0) {
        hb_errf(err, errlen, "the answer's hq.key is not usable: %s", why);
        return HB_EPARSE;
    }
    const char *signer = hb_cert_meta(&hq, "signing-key");
    if (!signer) {
        hb_errf(err, errlen, "the answer's hq.key names no signing key");
        return HB_EPARSE;
    }
    int rc = hb_enrol_cert_check(&cert, signer, hb_now_ms(), info, why, sizeof why);
    if (rc != 0 || !info->signed_) {
        hb_errf(err, errlen, "refusing the certificate: %s", rc ? why : "it is not signed");
        return rc ? rc : HB_EAUTH;
    }
    snprintf(path, sizeof path, "%s/hall.key", dir);
    snprintf(next, sizeof next, "%s/hall.next.key", dir);
    if (hb_cert_load(next, &pair, why, sizeof why) == 0 && pair.secret_key[0] &&
        strcmp(pair.public_key, cert.public_key) == 0) {
        *rotated = true;
    } else if (hb_cert_load(path, &pair, why, sizeof why) != 0 || !pair.secret_key[0] ||
               strcmp(pair.public_key, cert.public_key) != 0) {
        hb_errf(err, errlen,
                "the certificate is for key %s, which is neither %s nor %s with its secret in "
                "this folder",
                cert.public_key, path, next);
        return HB_EAUTH;
    }
    /* The certificate's metadata with the pair's secret, into hall.key. */
    memcpy(cert.secret_key, pair.secret_key, sizeof cert.secret_key);
    hb_cert_t wipe = {0};
    pair = wipe;
    char hq_path[KEYS_PATH_MAX];
    snprintf(hq_path, sizeof hq_path, "%s/hq.key", dir);
    rc = hb_cert_save(&hq, hq_path, false) != 0 || hb_cert_save(&cert, path, true) != 0;
    cert = wipe;
    if (rc) {
        hb_errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return HB_EIO;
    }
    if (*rotated) {
        unlink(next);
        snprintf(next, sizeof next, "%s/hall.next.key_secret", dir);
        unlink(next);
    }
    return 0;
}
