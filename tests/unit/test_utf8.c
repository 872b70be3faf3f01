/* Unit tests of common/base/utf8.c. The check is compared, for every
 * string of up to three bytes, with the set of encodings an independent
 * encoder makes of every code point; four-byte forms with every lead and
 * second byte. Then the cut at a character boundary, the '?' repairs and the
 * JSON string, each against answers worked out by hand. Not for the callers'
 * rules (lengths of ids, NUL inside a field): their own tests hold those. */
#include "hallbus/utf8.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

/* RFC 3629's table, written from the code point's side. */
static size_t s_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool s_surrogate(uint32_t cp) { return cp >= 0xD800 && cp <= 0xDFFF; }

#define HBT_FIXTURE NULL, NULL

/* Every three-byte string: hb_utf8_seq says 3 exactly for the encodings of
 * U+0800..U+FFFF without surrogates, 2 for a two-byte encoding followed by
 * anything, 1 for ASCII, 0 otherwise. */
HBT_TEST(test_seq_every_short_string)
{
    (void)state;
    uint8_t *three = calloc(1u << 24, 1); /* the seq length each string should get */
    assert_non_null(three);
    unsigned char e[4];
    for (uint32_t cp = 0x800; cp < 0x10000; cp++) {
        if (s_surrogate(cp))
            continue;
        assert_int_equal(s_encode(cp, e), 3);
        three[(uint32_t)e[0] << 16 | (uint32_t)e[1] << 8 | e[2]] = 3;
    }
    uint8_t two[1u << 16] = {0};
    for (uint32_t cp = 0x80; cp < 0x800; cp++) {
        assert_int_equal(s_encode(cp, e), 2);
        two[e[0] << 8 | e[1]] = 1;
    }
    size_t valid3 = 0;
    for (uint32_t b = 0; b < (1u << 24); b++) {
        char s[3] = {(char)(b >> 16), (char)(b >> 8), (char)b};
        size_t want = (unsigned char)s[0] < 0x80 ? 1 : two[b >> 8] ? 2 : three[b];
        size_t got = hb_utf8_seq(s, 3);
        if (got != want)
            fail_msg("%02x %02x %02x: %zu, wanted %zu", (unsigned char)s[0], (unsigned char)s[1],
                     (unsigned char)s[2], got, want);
        valid3 += want == 3;
    }
    assert_int_equal(valid3, 0x10000 - 0x800 - 0x800);
    /* With fewer bytes left than the character needs, nothing starts. */
    assert_int_equal(hb_utf8_seq("\xC3", 1), 0);
    assert_int_equal(hb_utf8_seq("\xE2\x82", 2), 0);
    assert_int_equal(hb_utf8_seq("\xF0\x9F\x98", 3), 0);
    free(three);
}

/* Four-byte forms: every lead and second byte, with good continuations. */
HBT_TEST(test_seq_four_bytes)
{
    (void)state;
    uint8_t ok[256][256] = {{0}};
    unsigned char e[4];
    for (uint32_t cp = 0x10000; cp <= 0x10FFFF; cp += 0x1000) {
        assert_int_equal(s_encode(cp, e), 4);
        ok[e[0]][e[1]] = 1;
    }
    for (unsigned lead = 0xF0; lead <= 0xFF; lead++) {
        for (unsigned second = 0; second <= 0xFF; second++) {
            char s[4] = {(char)lead, (char)second, (char)0x80, (char)0xBF};
            size_t want = ok[lead][second] ? 4 : 0;
            if (hb_utf8_seq(s, 4) != want)
                fail_msg("%02x %02x 80 bf: wanted %zu", lead, second, want);
        }
    }
    assert_int_equal(hb_utf8_seq("\xF0\x9F\x98\x80", 4), 4); /* U+1F600 */
    assert_int_equal(hb_utf8_seq("\xF0\x9F\x98\x7F", 4), 0); /* bad last byte */
    assert_int_equal(hb_utf8_seq("\xF4\x8F\xBF\xBF", 4), 4); /* U+10FFFF */
    assert_int_equal(hb_utf8_seq("\xF4\x90\x80\x80", 4), 0); /* past it */
}

HBT_TEST(test_valid_table)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        bool valid;
    } cases[] = {
        {"", 0, true},
        {"plain ASCII", 11, true},
        {"caf\xC3\xA9", 5, true},
        {"\xE2\x82\xAC 5", 5, true},
        {"\xF0\x9F\x98\x80", 4, true},
        {"a\0b", 3, true},              /* a NUL is a character of one byte here */
        {"\xC0\xAF", 2, false},         /* overlong '/' */
        {"\xE0\x80\xAF", 3, false},     /* overlong '/' */
        {"\xED\xA0\x80", 3, false},     /* U+D800, a surrogate */
        {"\xF5\x80\x80\x80", 4, false}, /* no such lead */
        {"caf\xC3", 4, false},          /* cut short */
        {"\x80", 1, false},             /* a lone continuation */
        {"\xFF", 1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (hb_utf8_valid(cases[i].s, cases[i].len) != cases[i].valid)
            fail_msg("case %zu: wanted %s", i, cases[i].valid ? "valid" : "invalid");
    }
    assert_true(hb_utf8_valid_str("caf\xC3\xA9"));
    assert_false(hb_utf8_valid_str("caf\xC3"));
}

HBT_TEST(test_cut_and_copy)
{
    (void)state;
    /* "aé€😀": 1 + 2 + 3 + 4 bytes; characters start at 0, 1, 3, 6, 10. */
    const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    static const size_t keep[11] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
    for (size_t max = 0; max <= 10; max++)
        assert_int_equal(hb_utf8_cut(s, 10, max), keep[max]);
    assert_int_equal(hb_utf8_cut(s, 4, 9), 4); /* fits: kept as it is */

    char dst[8];
    assert_int_equal(hb_utf8_copy(dst, sizeof dst, s), 6);
    assert_string_equal(dst, "a\xC3\xA9\xE2\x82\xAC");
    assert_int_equal(hb_utf8_copy(dst, 1, s), 0);
    assert_string_equal(dst, "");
    assert_int_equal(hb_utf8_copy(dst, sizeof dst, "short"), 5);
    assert_string_equal(dst, "short");
}

HBT_TEST(test_clean_and_sanitize)
{
    (void)state;
    char out[16];
    assert_int_equal(hb_utf8_clean(out, sizeof out,
                                   "a\xFF"
                                   "b\xC0\xAF"
                                   "c"),
                     6);
    assert_string_equal(out, "a?b??c");
    /* A character that does not fit whole is left out, not cut. */
    assert_int_equal(hb_utf8_clean(out, 4, "ab\xC3\xA9"), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(hb_utf8_clean(out, sizeof out, "\xE2\x82\xAC"), 3);
    assert_string_equal(out, "\xE2\x82\xAC");

    char s[] = "ok \xE2\x82 then \xC3\xA9";
    hb_utf8_sanitize(s);
    assert_string_equal(s, "ok ?? then \xC3\xA9");
    assert_true(hb_utf8_valid_str(s));
}

HBT_TEST(test_json_string)
{
    (void)state;
    json_t *j = hb_utf8_json_str("caf\xC3\xA9");
    assert_string_equal(json_string_value(j), "caf\xC3\xA9");
    json_decref(j);
    j = hb_utf8_json_str("bad \xFF\xFE byte");
    assert_non_null(j);
    assert_string_equal(json_string_value(j), "bad ?? byte");
    json_decref(j);
    j = hb_utf8_json("abc\xC3", 4); /* a cut character */
    assert_string_equal(json_string_value(j), "abc?");
    json_decref(j);
    j = hb_utf8_json_str(NULL);
    assert_string_equal(json_string_value(j), "");
    json_decref(j);
}
