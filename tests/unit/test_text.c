/* Unit tests of common/base/text.c, the fast text writer: what it writes is
 * read back by jansson (JSON strings) or compared with snprintf's, and the
 * maximum marks the text full instead of growing. Not for the board's tiles,
 * which test_live and the board's own tests read. */
#include "hallbus/text.h"
#include "hallbus/time.h"

#include <jansson.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_put_and_printf)
{
    (void)state;
    hb_text_t t = HB_TEXT_INIT(1u << 20);
    hb_text_puts(&t, "a");
    hb_text_put(&t, "bcdef", 2);
    /* Long enough to outgrow the first room and retry. */
    char want[12000] = "abc";
    for (int i = 0; i < 1000; i++) {
        hb_text_putf(&t, "%d,", i);
        size_t n = strlen(want);
        snprintf(want + n, sizeof want - n, "%d,", i);
    }
    hb_text_putf(&t, "%s", "");
    assert_false(t.full);
    assert_string_equal(t.p, want);
    assert_int_equal(t.len, strlen(want));
    hb_text_reset(&t);
    assert_int_equal(t.len, 0);
    assert_string_equal(t.p, "");
    hb_text_free(&t);
    assert_null(t.p);
}

HBT_TEST(test_maximum)
{
    (void)state;
    hb_text_t t;
    hb_text_init(&t, 10);
    hb_text_puts(&t, "0123456789"); /* exactly the maximum */
    assert_false(t.full);
    hb_text_puts(&t, "x");
    assert_true(t.full);
    assert_string_equal(t.p, "0123456789");
    hb_text_puts(&t, ""); /* dropped too: full stays full */
    assert_true(t.full);
    size_t len = 99;
    assert_null(hb_text_take(&t, &len)); /* a full text is not handed over */
    assert_int_equal(len, 0);
    hb_text_putf(&t, "%s", "01234567890"); /* one over, by printf */
    assert_true(t.full);
    hb_text_reset(&t);
    hb_text_putf(&t, "%05d", 42);
    char *p = hb_text_take(&t, &len);
    assert_string_equal(p, "00042");
    assert_int_equal(len, 5);
    assert_null(t.p);
    free(p);
}

HBT_TEST(test_json_strings)
{
    (void)state;
    static const char *const cases[] = {
        "plain",
        "",
        "quote \" and backslash \\",
        "tab\tnew\nline\x01\x1f",
        "caf\xC3\xA9 \xE2\x82\xAC",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hb_text_t t = HB_TEXT_INIT(4096);
        hb_text_puts(&t, "[");
        hb_text_json_str(&t, cases[i]);
        hb_text_puts(&t, ",");
        hb_text_json_str(&t, NULL);
        hb_text_puts(&t, "]");
        json_error_t jerr;
        json_t *j = json_loadb(t.p, t.len, 0, &jerr);
        if (!j)
            fail_msg("case %zu: %s: %s", i, t.p, jerr.text);
        assert_string_equal(json_string_value(json_array_get(j, 0)), cases[i]);
        assert_true(json_is_null(json_array_get(j, 1)));
        json_decref(j);
        hb_text_free(&t);
    }
}

/* Numbers without printf read as printf writes them, at the edges too. */
HBT_TEST(test_numbers)
{
    (void)state;
    hb_text_t t = HB_TEXT_INIT(256);
    const uint64_t values[] = {0, 1, 9, 10, 99, 100, 1234567890123ULL, UINT32_MAX, UINT64_MAX};
    char want[256] = "";
    size_t w = 0;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        hb_text_u64(&t, values[i]);
        hb_text_put(&t, " ", 1);
        w += (size_t)snprintf(want + w, sizeof want - w, "%" PRIu64 " ", values[i]);
    }
    assert_string_equal(t.p, want);
    hb_text_free(&t);
    /* Past the maximum the number is dropped whole, as any write. */
    hb_text_t small = HB_TEXT_INIT(4);
    hb_text_u64(&small, 1234);
    hb_text_u64(&small, 5);
    assert_true(small.full);
    size_t len = 1;
    assert_null(hb_text_take(&small, &len));
    assert_int_equal(len, 0);
}

HBT_TEST(test_json_time)
{
    (void)state;
    hb_text_t t = HB_TEXT_INIT(64);
    hb_text_json_time(&t, 1795426200123);
    hb_text_puts(&t, " ");
    hb_text_json_time(&t, 0);
    char want[HB_RFC3339_MAX];
    hb_time_format(1795426200123, want);
    char expect[64];
    snprintf(expect, sizeof expect, "\"%s\" null", want);
    assert_string_equal(t.p, expect);
    hb_text_free(&t);
}
