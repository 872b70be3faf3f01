/* HQ's ZAP handler (ZeroMQ RFC 27): decides which CURVE keys may connect, and
 * tells libzmq the hall id of each connection (the User-Id every message from
 * it then carries). Only keys enrolled in HQ's halls/ folder get in; a key
 * enrolled while hqd runs is admitted without a restart, and a removed
 * certificate revokes the hall for new connections.
 *
 * It runs on its own thread, bound to inproc://zeromq.zap.01 in the daemon's
 * ZeroMQ context before the ROUTER listens. It fails closed: a request it
 * cannot understand is refused. */
#ifndef HQD_ZAP_H
#define HQD_ZAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hq_zap hq_zap_t;

/* Binds the handler in `zmq_ctx` and starts its thread; returns once bound.
 * `halls_dir` holds enrolled halls' public certificates (HALL.key, metadata
 * "hall" = hall id). */
int hq_zap_start(void *zmq_ctx, const char *halls_dir, hq_zap_t **out);
/* Stops the thread and frees `*zap` (idempotent; sets it NULL). */
void hq_zap_stop(hq_zap_t **zap);
uint64_t hq_zap_allowed(const hq_zap_t *zap);
uint64_t hq_zap_denied(const hq_zap_t *zap);
/* How many keys were enrolled at the last scan. */
size_t hq_zap_enrolled(const hq_zap_t *zap);

#endif
