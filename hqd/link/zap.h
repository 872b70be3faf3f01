/* HQ's ZAP handler (ZeroMQ RFC 27): decides which CURVE keys may connect, and
 * tells libzmq the hall id of each connection (the User-Id every message from
 * it then carries). Only keys enrolled in HQ's halls/ folder get in; a key
 * enrolled while hqd runs is admitted without a restart (the folder is
 * followed with inotify, so at the handshake that follows), and a removed
 * certificate revokes the hall: new connections are refused here, and the
 * ingest refuses every message of a connection whose key is no longer
 * enrolled (hq_zap_key_enrolled).
 *
 * It runs on its own thread, bound to inproc://zeromq.zap.01 in the daemon's
 * ZeroMQ context before the ROUTER listens. It fails closed: a request it
 * cannot understand is refused. */
#ifndef HQD_ZAP_H
#define HQD_ZAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hq_zap hq_zap_t;

/* Binds the handler in `zmq_ctx` and starts its thread; returns once bound.
 * `halls_dir` holds enrolled halls' public certificates (HALL.key, metadata
 * "hall" = hall id; HALL.old.key during a rotation's overlap). A signed
 * certificate (enrol.h) must check with `issuer`, HQ's signing key (NULL:
 * any signer), and is admitted only within its validity (and before its
 * "retire-at", when it has one); an unsigned one, of the older offline
 * enrolment, never expires. A key's validity ending while it is connected
 * changes the generation, so the ingest refuses its next message. */
int hq_zap_start(void *zmq_ctx, const char *halls_dir, const char *issuer, hq_zap_t **out);
/* Stops the thread and frees `*zap` (idempotent; sets it NULL). */
void hq_zap_stop(hq_zap_t **zap);
uint64_t hq_zap_allowed(const hq_zap_t *zap);
uint64_t hq_zap_denied(const hq_zap_t *zap);
/* How many keys were enrolled at the last scan. */
size_t hq_zap_enrolled(const hq_zap_t *zap);

/* Every message of an admitted connection carries the Z85 public key it
 * authenticated with as this metadata property (zmq_msg_gets). */
#define HQ_ZAP_KEY_PROPERTY "Hall-Key"
/* Whether `key` (Z85) is enrolled now, as hall `hall`. Any thread; takes a
 * lock for a lookup, so callers cache the answer per generation. */
bool hq_zap_key_enrolled(hq_zap_t *zap, const char *hall, const char *key);
/* Why a key is or is not enrolled now, as hall `hall`. */
typedef enum hq_zap_key_state {
    HQ_ZAP_KEY_OK,
    HQ_ZAP_KEY_EXPIRED, /* its certificate's validity (or overlap) has ended */
    HQ_ZAP_KEY_UNKNOWN, /* no certificate of this hall holds it: revoked, or never */
} hq_zap_key_state_t;
hq_zap_key_state_t hq_zap_key_check(hq_zap_t *zap, const char *hall, const char *key);

/* A hall's current certificate (HALL.key) as the last scan read it. */
typedef struct hq_zap_cert {
    uint64_t serial;
    int64_t not_before_ms, not_after_ms; /* 0 .. INT64_MAX for an unsigned one */
} hq_zap_cert_t;
/* false when the hall has no certificate. Any thread; a locked lookup. */
bool hq_zap_hall_cert(hq_zap_t *zap, const char *hall, hq_zap_cert_t *out);
/* Applies what changed in the folder now (the changes inotify queued;
 * without inotify, the folder read again if its mtime changed): a caller
 * that just changed it (the API after an approval or a revocation) then
 * lists what it did. Any thread; waits for a handshake being decided. */
void hq_zap_refresh(hq_zap_t *zap);
/* Every hall's current certificate, by hall id: a copy (free() `*out`).
 * HB_ENOMEM. For the list of enrolled halls (GET /v1/enrolments). */
typedef struct hq_zap_cert_row {
    char hall[64];
    hq_zap_cert_t cert;
} hq_zap_cert_row_t;
int hq_zap_certs(hq_zap_t *zap, hq_zap_cert_row_t **out, size_t *n);
/* The certificate's state at `now_ms`, one definition for the API, the
 * dashboard and the cert_expiring alert: "expired" past its not-after,
 * "expiring" within `warn_ms` of it (0: never), else "active". */
const char *hq_zap_cert_state(const hq_zap_cert_t *c, int64_t now_ms, int64_t warn_ms);

/* Changes whenever the table of enrolled keys changed (a certificate
 * added, changed or removed). The folder is followed with inotify, so a
 * removed certificate shows here as soon as the handler's thread reads the
 * kernel's note of it; without inotify (its limits reached) the folder is
 * looked at every 250 ms. */
uint64_t hq_zap_generation(const hq_zap_t *zap);
/* How often the table was built by reading the whole folder (at start,
 * after an inotify overflow, or on every change without inotify) and how
 * often from only the files inotify named. */
void hq_zap_folder_reads(const hq_zap_t *zap, uint64_t *full, uint64_t *by_name);

#endif
