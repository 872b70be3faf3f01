/* The hall's key folder: the files the hall's own commands and branchd's
 * automatic rotation read and write there (hall.key and hall.key_secret,
 * the pair in use; hall.next.key and hall.next.key_secret, a rotation's new
 * pair until HQ's certificate for it is installed; hq.key, head office's
 * public key). Shared by `branchd rotate`, `hallctl enroll install` and
 * branchd's rotation over the link (branchd/keyroll.c), so the three agree
 * on what a rotation leaves behind. Not the daemon's choice of when to
 * rotate, and not HQ's side (hqd/link/enrolments.c). */
#ifndef HALLBUS_KEYFOLDER_H
#define HALLBUS_KEYFOLDER_H

#include "hallbus/enrol.h"

#include <stdbool.h>
#include <stddef.h>

/* A rotation request for the hall whose pair is in `dir`: the new pair is
 * hall.next.key (made now, or kept from a rotation begun and not finished,
 * so that asking again never makes a third key), the request proved by the
 * current secret and the new one for HQ's key in hq.key. `text` gets the
 * request file's text, `new_key` (HB_CERT_KEY_Z85) the new public key.
 * HB_EAUTH (no usable pair or hq.key), HB_EIO, with `err`. */
int hb_keys_rotation_request(const char *dir, char *text, size_t textlen, char *new_key, char *err,
                             size_t errlen);

/* Installs HQ's answer into `dir`: `cert_text` (the certificate file's
 * text) must be signed by the signing key `hq_text` (HQ's public
 * certificate's text) names, valid now, and for the pair in hall.key or
 * hall.next.key. hq.key and hall.key (the certificate's metadata with the
 * pair's secret) are written durably; a rotation's hall.next.key files go.
 * `info` gets what the certificate says, `rotated` whether it was for the
 * next pair. HB_EPARSE, HB_EAUTH, HB_ERANGE, HB_EIO with `err`. */
int hb_keys_install(const char *dir, const char *cert_text, const char *hq_text,
                    hb_enrol_cert_info_t *info, bool *rotated, char *err, size_t errlen);

#endif
