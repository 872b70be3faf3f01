/* CURVE certificates in the text format of czmq's zcert (ZPL), so standard
 * ZeroMQ tooling reads what hallbus writes and the other way round:
 *
 *   NAME.key         public part: "metadata" section + "curve/public-key"
 *   NAME.key_secret  the same plus "curve/secret-key" (mode 0600)
 *
 * Keys are 40-character Z85 text. Metadata is a small list of name/value
 * pairs (hall id, region, ...). This module reads and writes files; who is
 * allowed in is decided by hqd's ZAP handler, not here. */
#ifndef HALLBUS_CERT_H
#define HALLBUS_CERT_H

#include "hallbus/ids.h" /* hb_hall_id_valid, the rule of a certificate's hall id */

#include <stdbool.h>
#include <stddef.h>

#define HB_CERT_KEY_Z85 41 /* 40 characters and the terminator */
#define HB_CERT_META_MAX 16
#define HB_CERT_META_NAME_MAX 32
#define HB_CERT_META_VALUE_MAX 128

typedef struct hb_cert {
    char public_key[HB_CERT_KEY_Z85];
    char secret_key[HB_CERT_KEY_Z85]; /* empty when only the public part is loaded */
    int meta_count;
    struct {
        char name[HB_CERT_META_NAME_MAX];
        char value[HB_CERT_META_VALUE_MAX];
    } meta[HB_CERT_META_MAX];
} hb_cert_t;

/* Makes a fresh key pair (zmq_curve_keypair). Clears any metadata. */
int hb_cert_generate(hb_cert_t *cert);
/* Sets or replaces a metadata value. HB_EINVAL for names outside
 * [A-Za-z0-9_-]{1,31}, values with control characters or quotes, or over the
 * size limits; HB_ETOOBIG when the table is full. */
int hb_cert_set_meta(hb_cert_t *cert, const char *name, const char *value);
/* The value of a metadata name, or NULL. Owned by `cert`. */
const char *hb_cert_meta(const hb_cert_t *cert, const char *name);

/* Writes `path` (the public part) and, when the certificate has a secret key
 * and `with_secret`, `path` + "_secret" with mode 0600. Each file is written
 * to a temporary name, fsynced and renamed, so a crash leaves the old file or
 * the new one, never a torn one. */
int hb_cert_save(const hb_cert_t *cert, const char *path, bool with_secret);
/* Reads `path`; when `path` + "_secret" exists it is read too and its keys
 * must match. Returns HB_ENOTFOUND, HB_EIO, or HB_EPARSE with `err` (may be
 * NULL) naming the line and what is wrong. */
int hb_cert_load(const char *path, hb_cert_t *cert, char *err, size_t errlen);
/* Reads only the public part of `path`, ignoring any secret file. */
int hb_cert_load_public(const char *path, hb_cert_t *cert, char *err, size_t errlen);

#endif
