/* Enrolment: the hall's request to head office and the certificate head
 * office gives back (docs/OPERATIONS.md, "Enrolment and keys", has both
 * formats). The hall makes its own CURVE key pair and sends only its public
 * key in a request; HQ signs a certificate (hall, region, public key,
 * serial, validity) with its Ed25519 signing key. A rotation request also
 * proves that its sender holds the hall's current secret key and the new
 * one. This module reads, writes, signs and checks; where the files live
 * and who may approve what belong to hqd (hqd/link/enrolments.c) and the
 * commands (branchd enroll, hallctl enroll). */
#ifndef HALLBUS_ENROL_H
#define HALLBUS_ENROL_H

#include "hallbus/cert.h"
#include "hallbus/ids.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_ENROL_REQUEST_MAX 4096 /* a request file, bytes */
#define HB_ENROL_NONCE_HEX 33     /* 16 random bytes in hex and the NUL */
#define HB_ENROL_CODE_MAX 64      /* a one-time enrolment code and its NUL */
#define HB_ENROL_REGION_MAX 65    /* [A-Za-z0-9_-]{1,64} and its NUL */
#define HB_ENROL_PROOF_Z85 61     /* a 48-byte proof (crypto_box MAC + digest) in Z85 */
#define HB_ENROL_SIG_Z85 81       /* an Ed25519 signature in Z85 */
/* A new-enrolment request older than this is refused: make a new one. */
#define HB_ENROL_REQUEST_MAX_AGE_MS (30LL * 86400000)
/* A rotation request must be this fresh (it is sent, not carried). */
#define HB_ENROL_ROTATE_MAX_AGE_MS (10LL * 60000)
/* Clocks disagree: a request stamped this far ahead is still taken. */
#define HB_ENROL_FUTURE_MS (5LL * 60000)

typedef enum hb_enrol_kind {
    HB_ENROL_NEW = 0,    /* a hall's first key, or a new one after revocation */
    HB_ENROL_ROTATE = 1, /* a new key, proved by the current one */
} hb_enrol_kind_t;

typedef struct hb_enrol_request {
    hb_enrol_kind_t kind;
    char hall[HB_HALL_ID_MAX];
    char public_key[HB_CERT_KEY_Z85];
    char region[HB_ENROL_REGION_MAX]; /* "" when the hall asks for none */
    char nonce[HB_ENROL_NONCE_HEX];
    int64_t created_ms;
    char code[HB_ENROL_CODE_MAX];           /* one-time code; "" when none */
    char current_key[HB_CERT_KEY_Z85];      /* rotate: the key in use */
    char proof_current[HB_ENROL_PROOF_Z85]; /* rotate: made with the current secret */
    char proof_new[HB_ENROL_PROOF_Z85];     /* rotate: made with the new secret */
} hb_enrol_request_t;

/* A new request for `hall` with `public_key`: a fresh nonce, created now.
 * HB_EINVAL (with `err`) for a bad hall id, key, region or code. */
int hb_enrol_request_init(hb_enrol_request_t *req, hb_enrol_kind_t kind, const char *hall,
                          const char *public_key, const char *region, const char *code, char *err,
                          size_t errlen);
/* The request file's text (proofs included when set). HB_ETOOBIG when
 * `outlen` is short. */
int hb_enrol_request_format(const hb_enrol_request_t *req, char *out, size_t outlen);
/* Parses a request file's text. Every refusal is HB_EPARSE with `err`
 * naming the line and the field: an unknown or repeated field, a missing
 * one, a bad hall id, key, nonce, time, region or code, a rotation without
 * its proofs. Does not check the time against the clock (see
 * hb_enrol_request_check_time). */
int hb_enrol_request_parse(const char *text, size_t len, hb_enrol_request_t *req, char *err,
                           size_t errlen);
/* Whether the request's time is acceptable at `now_ms`: HB_ERANGE with
 * `err` for a request from the future or older than its kind allows. */
int hb_enrol_request_check_time(const hb_enrol_request_t *req, int64_t now_ms, char *err,
                                size_t errlen);

/* Rotation: fills req->proof_current and req->proof_new. Each proof is a
 * crypto_box (X25519 + XSalsa20-Poly1305, the curve CURVE's keys are on)
 * from the hall's key to HQ's public key over the digest of the request
 * without its proofs: only a holder of that secret (or HQ's) can make a box
 * that opens with the hall's public key. */
int hb_enrol_request_prove(hb_enrol_request_t *req, const char *current_secret,
                           const char *new_secret, const char *hq_public, char *err, size_t errlen);
/* HQ's side: HB_EAUTH with `err` when a proof does not open with its key
 * and HQ's secret, or does not match the request. */
int hb_enrol_request_verify(const hb_enrol_request_t *req, const char *hq_secret, char *err,
                            size_t errlen);

/* HQ's Ed25519 signing key. */
typedef struct hb_enrol_signer {
    unsigned char sk[64];
    unsigned char pk[32];
    char public_z85[HB_CERT_KEY_Z85];
} hb_enrol_signer_t;

/* Reads the signing key's seed from `path` (one Z85 line, mode 0600), or
 * makes one there when `create` and the file does not exist. HB_ENOTFOUND,
 * HB_EIO, HB_EPARSE with `err`. */
int hb_enrol_signer_load(const char *path, bool create, hb_enrol_signer_t *s, char *err,
                         size_t errlen);
/* Wipes the secret. */
void hb_enrol_signer_clear(hb_enrol_signer_t *s);

/* Makes `cert` (the hall's public key, its metadata replaced) a certificate:
 * hall, region, serial, not-before, not-after, issuer and signature. */
int hb_enrol_cert_sign(hb_cert_t *cert, const hb_enrol_signer_t *s, const char *hall,
                       const char *region, uint64_t serial, int64_t not_before_ms,
                       int64_t not_after_ms);

/* What a certificate says, once checked. */
typedef struct hb_enrol_cert_info {
    bool signed_; /* false: a certificate of the older offline enrolment */
    char hall[HB_HALL_ID_MAX];
    char region[HB_ENROL_REGION_MAX];
    uint64_t serial;
    int64_t not_before_ms, not_after_ms;
} hb_enrol_cert_info_t;

/* Checks a certificate at `now_ms`. `issuer` is the signing key (Z85) it
 * must be signed by; NULL takes any signer (reading only). A certificate
 * with no signature at all is the older kind: 0 with info->signed_ false.
 * HB_EAUTH (a bad signature or another issuer), HB_EPARSE (a missing or bad
 * field), HB_ERANGE (expired or not yet valid; `info` is filled), each
 * with `err` naming what. */
int hb_enrol_cert_check(const hb_cert_t *cert, const char *issuer, int64_t now_ms,
                        hb_enrol_cert_info_t *info, char *err, size_t errlen);

/* A public key's fingerprint, for people to compare by voice or by eye
 * (branchd enroll prints it; HQ's list of pending requests and its
 * dashboard show it): 64 bits of BLAKE2b over the key's Z85 text, as
 * "1a2b:3c4d:5e6f:7081". */
#define HB_ENROL_FINGERPRINT_MAX 20
void hb_enrol_fingerprint(const char *key, char out[HB_ENROL_FINGERPRINT_MAX]);

/* A one-time enrolment code: 100 random bits as "xxxxx-xxxxx-xxxxx-xxxxx"
 * (Crockford base32, no letters that read as digits). */
#define HB_ENROL_CODE_TEXT 24
void hb_enrol_code_new(char out[HB_ENROL_CODE_TEXT]);
/* The code's digest (hex, 64 characters and NUL), what HQ keeps. */
void hb_enrol_code_digest(const char *code, char out[65]);

#endif
