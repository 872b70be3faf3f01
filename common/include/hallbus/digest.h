/* stream_digest: a hash chained over a hall's events in sequence order, the
 * same on both sides, so that HQ's copy of a stream equals the hall's exactly
 * when the two digests are equal.
 *
 *   d0 = 32 zero bytes;  dn = BLAKE2b-256(d(n-1) || bytes of event n)
 *
 * where "bytes of event n" are the encoded Envelope as stored. The digest is
 * kept incrementally (one step per stored event), never recomputed. */
#ifndef HALLBUS_DIGEST_H
#define HALLBUS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define HB_DIGEST_LEN 32
#define HB_DIGEST_HEX (HB_DIGEST_LEN * 2 + 1)

typedef struct hb_digest {
    uint8_t bytes[HB_DIGEST_LEN];
} hb_digest_t;

/* The digest of the empty stream. */
void hb_digest_init(hb_digest_t *d);
/* Chains one event's stored bytes into `d`. */
void hb_digest_step(hb_digest_t *d, const uint8_t *event, size_t len);
/* Lower-case hex, 64 characters. */
void hb_digest_hex(const hb_digest_t *d, char out[HB_DIGEST_HEX]);

#endif
