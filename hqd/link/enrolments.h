/* Head office's side of enrolment: the signing key, the certificates in
 * the halls/ folder that the ZAP handler reads, requests waiting for a
 * person to approve them, halls registered ahead with a one-time code, and
 * revocation. Everything is a file under the key folder, written to a
 * temporary name, synced and renamed:
 *
 *   sign.key_secret        HQ's Ed25519 signing seed (0600)
 *   halls/HALL.key         the hall's signed certificate (ZAP admits it)
 *   halls/HALL.old.key     its previous one during a rotation's overlap
 *   enrol/pending/HALL.req a request waiting for approval
 *   enrol/codes/HALL.json  a pre-registered hall: region, name, address,
 *                          the digest of its one-time code, its expiry
 *   enrol/revoked/HALL.json when the hall was revoked (gone once enrolled
 *                          again)
 *   enrol/serial           the last serial issued
 *
 * Not here: where a hall sits in the organisation (control/, the API
 * handler places it), who may call what (the route table's permissions).
 * Runs on the loop thread; not thread-safe. */
#ifndef HQD_ENROLMENTS_H
#define HQD_ENROLMENTS_H

#include "hallbus/cert.h"
#include "hallbus/enrol.h"

#include <jansson.h>
#include <stdint.h>

typedef struct hq_enrol hq_enrol_t;

typedef struct hq_enrol_config {
    const char *keys;         /* HQ's key folder */
    const hb_cert_t *hq;      /* HQ's CURVE pair (the secret opens rotation proofs) */
    int64_t validity_ms;      /* a certificate's life */
    int64_t overlap_ms;       /* both keys valid this long after a rotation, at most */
    int64_t code_validity_ms; /* a one-time code's life */
} hq_enrol_config_t;

/* Why a call refused, for the API's answer: a short code and a sentence. */
typedef struct hq_enrol_refusal {
    int status;       /* the HTTP status that fits */
    const char *code; /* "malformed_request", "key_conflict", ... */
    char reason[512];
} hq_enrol_refusal_t;

/* Opens the store, making sign.key_secret and the folders when missing.
 * HB_EIO / HB_EPARSE with `err`. */
int hq_enrol_open(const hq_enrol_config_t *cfg, hq_enrol_t **out, char *err, size_t errlen);
void hq_enrol_close(hq_enrol_t **e);
/* HQ's public signing key (Z85), which halls verify their certificate by. */
const char *hq_enrol_signing_key(const hq_enrol_t *e);

/* Parses a request's text and checks its time. */
int hq_enrol_parse(const hq_enrol_t *e, const char *text, size_t len, hb_enrol_request_t *req,
                   hq_enrol_refusal_t *why);
/* Whether a new-enrolment request may be granted: refused (409) when the
 * hall is enrolled with another key. */
int hq_enrol_check_new(const hq_enrol_t *e, const hb_enrol_request_t *req, hq_enrol_refusal_t *why);
/* Signs and writes halls/HALL.key for `key` in `region`; the answer the
 * hall installs: {"hall","region","serial","not_before","not_after",
 * "certificate" (the file's text),"hq_key" (HQ's public certificate's
 * text),"signing_key"}. A rotation (`rotate`) keeps the current
 * certificate as HALL.old.key, its life cut to the overlap. */
int hq_enrol_issue(hq_enrol_t *e, const char *hall, const char *key, const char *region,
                   bool rotate, json_t **answer, hq_enrol_refusal_t *why);
/* A rotation request: its current key must be the hall's enrolled one and
 * both proofs must check. 403 otherwise. */
int hq_enrol_check_rotation(const hq_enrol_t *e, const hb_enrol_request_t *req,
                            hq_enrol_refusal_t *why);
/* A rotation request, checked and granted: the hall's current certificate
 * (its region kept) becomes HALL.old.key for the overlap and the new key
 * gets HALL.key. `conn_key` (NULL over HTTP) is the key the link
 * connection that carried the request authenticated with: it must be the
 * request's current key. The same request again while the old key is in
 * its overlap is answered with the certificate already issued (the first
 * answer may have been lost). Refusals: 400 wrong_kind, 403 bad_proof, 404
 * not_enrolled, 500 storage. */
int hq_enrol_rotate(hq_enrol_t *e, const hb_enrol_request_t *req, const char *conn_key,
                    json_t **answer, hq_enrol_refusal_t *why);
/* The region of the hall's current certificate ("" if none or unsigned). */
void hq_enrol_current_region(const hq_enrol_t *e, const char *hall, char *out, size_t outlen);

/* Pending requests. Storing refuses (409) a second request for a hall with
 * another key; the same request again is kept once. */
int hq_enrol_pending_put(hq_enrol_t *e, const hb_enrol_request_t *req, hq_enrol_refusal_t *why);
int hq_enrol_pending_get(const hq_enrol_t *e, const char *hall, hb_enrol_request_t *req,
                         hq_enrol_refusal_t *why);
int hq_enrol_pending_remove(hq_enrol_t *e, const char *hall);
/* {"pending":[{hall,kind,public_key,fingerprint,region,created}...],
 *  "revoked":[{hall,state,revoked_at}...],
 *  "registered":[{hall,region,name,address,code_expires}...]} */
json_t *hq_enrol_list(const hq_enrol_t *e);

/* Pre-registration: stores the row with a new one-time code and returns the
 * code (only its digest is kept). `row` is {hall, region, name?, address?}. */
int hq_enrol_register(hq_enrol_t *e, const char *hall, const char *region, const char *name,
                      const char *address, char code[HB_ENROL_CODE_TEXT], hq_enrol_refusal_t *why);
/* A request carrying a code: the code must match the hall's registration
 * and be unexpired; it is then used up. `reg` gets the registration
 * ({region, name, address}; the caller frees it). 403 otherwise. */
int hq_enrol_claim(hq_enrol_t *e, const hb_enrol_request_t *req, json_t **reg,
                   hq_enrol_refusal_t *why);

/* Removes the hall's certificates, pending request and registration: its
 * key is refused from the next handshake and message on. 404 when there
 * was nothing to remove. */
int hq_enrol_revoke(hq_enrol_t *e, const char *hall, hq_enrol_refusal_t *why);

#endif
