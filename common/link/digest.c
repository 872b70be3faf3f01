/* The chained stream digest (see digest.h), on libsodium's BLAKE2b, which
 * libzmq's CURVE already brings along. */
#include "hallbus/digest.h"

#include <sodium.h>
#include <string.h>

void hb_digest_init(hb_digest_t *d) { memset(d->bytes, 0, sizeof d->bytes); }

void hb_digest_step(hb_digest_t *d, const uint8_t *event, size_t len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, HB_DIGEST_LEN);
    crypto_generichash_update(&st, d->bytes, HB_DIGEST_LEN);
    crypto_generichash_update(&st, event, len);
    crypto_generichash_final(&st, d->bytes, HB_DIGEST_LEN);
}

void hb_digest_hex(const hb_digest_t *d, char out[HB_DIGEST_HEX])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < HB_DIGEST_LEN; i++) {
        out[2 * i] = hex[d->bytes[i] >> 4];
        out[2 * i + 1] = hex[d->bytes[i] & 15];
    }
    out[HB_DIGEST_HEX - 1] = '\0';
}
