/* Unit tests of the stream digest: the chain is defined exactly (so another
 * implementation can reproduce it), and it changes when an event is missing,
 * altered, doubled or out of order. */
#include "hallbus/digest.h"

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runner.h"

static void s_chain(hb_digest_t *d, const char *const *events, size_t n)
{
    hb_digest_init(d);
    for (size_t i = 0; i < n; i++)
        hb_digest_step(d, (const uint8_t *)events[i], strlen(events[i]));
}

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_empty_stream_is_zero)
{
    (void)state;
    hb_digest_t d;
    hb_digest_init(&d);
    char hex[HB_DIGEST_HEX];
    hb_digest_hex(&d, hex);
    assert_int_equal(strlen(hex), 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(hex[i], '0');
}

HBT_TEST(test_definition)
{
    (void)state;
    /* d1 = BLAKE2b-256(32 zero bytes || "a"), computed independently. */
    uint8_t in[33] = {0};
    in[32] = 'a';
    uint8_t want[32];
    crypto_generichash(want, sizeof want, in, sizeof in, NULL, 0);
    hb_digest_t d;
    hb_digest_init(&d);
    hb_digest_step(&d, (const uint8_t *)"a", 1);
    assert_memory_equal(d.bytes, want, 32);
}

HBT_TEST(test_detects_loss_change_double_and_reorder)
{
    (void)state;
    const char *const ok[] = {"e1", "e2", "e3"};
    const char *const lost[] = {"e1", "e3"};
    const char *const changed[] = {"e1", "e2!", "e3"};
    const char *const doubled[] = {"e1", "e2", "e2", "e3"};
    const char *const swapped[] = {"e2", "e1", "e3"};
    /* Event boundaries count: "e1e2" as one event is another stream. */
    const char *const merged[] = {"e1e2", "e3"};
    hb_digest_t a, b;
    s_chain(&a, ok, 3);
    s_chain(&b, ok, 3);
    assert_memory_equal(a.bytes, b.bytes, HB_DIGEST_LEN);
    const char *const *variants[] = {lost, changed, doubled, swapped, merged};
    size_t lens[] = {2, 3, 4, 3, 2};
    for (size_t v = 0; v < 5; v++) {
        s_chain(&b, variants[v], lens[v]);
        assert_memory_not_equal(a.bytes, b.bytes, HB_DIGEST_LEN);
    }
}

HBT_TEST(test_hex)
{
    (void)state;
    hb_digest_t d;
    for (int i = 0; i < HB_DIGEST_LEN; i++)
        d.bytes[i] = (uint8_t)(i * 17);
    char hex[HB_DIGEST_HEX];
    hb_digest_hex(&d, hex);
    /* i * 17 wraps past 255 at i = 16. */
    assert_string_equal(hex, "00112233445566778899aabbccddeeff"
                             "102132435465768798a9bacbdcedfe0f");
}
