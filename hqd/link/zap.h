/* HQ's ZAP handler (ZeroMQ RFC 27): decides which CURVE keys may connect, and
 * tells libzmq the hall id of each connection (the User-Id every message from
 * it then carries). Only keys enrolled in HQ's halls/ folder get in; a key
 * enrolled while hqd runs is admitted without a restart, and a removed
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
/* Changes whenever the table of enrolled keys changed (a scan found a
 * certificate added, changed or removed). The folder is looked at every
 * 250 ms, so a removed certificate shows here within that. */
uint64_t hq_zap_generation(const hq_zap_t *zap);

#endif
