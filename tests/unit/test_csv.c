/* Unit tests of hqd/api/csv.c, the one CSV writer of hqd's exports (the
 * reports, the archive, the audit log and the campaign calendar): fields
 * quoted as RFC 4180 asks, formula-like fields led by an apostrophe, CRLF
 * line ends, the byte order mark, and an export past its bound marked full
 * rather than cut. */
#include "csv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runner.h"

#define HBT_FIXTURE NULL, NULL
#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

/* One field and the bytes it must become. */
typedef struct {
    const char *in;
    bool last;
    const char *want;
} field_row_t;

HBT_TEST(test_fields)
{
    static const field_row_t rows[] = {
        {"plain", false, "plain,"},
        {"plain", true, "plain\r\n"},
        {"", false, ","},
        {"a,b", false, "\"a,b\","},
        {"say \"hi\"", false, "\"say \"\"hi\"\"\","},
        {"two\nlines", true, "\"two\nlines\"\r\n"},
        {"cr\rin", false, "\"cr\rin\","},
        /* What a spreadsheet would run: quoted, led by an apostrophe. */
        {"=1+1", false, "\"'=1+1\","},
        {"+86 10", false, "\"'+86 10\","},
        {"-3", false, "\"'-3\","},
        {"@SUM(A1)", false, "\"'@SUM(A1)\","},
        {"\t=cmd", false, "\"'\t=cmd\","},
        {"\r=cmd", false, "\"'\r=cmd\","},
        {"=\"x\"", true, "\"'=\"\"x\"\"\"\r\n"},
        /* Only the first byte makes a formula. */
        {"a=b", false, "a=b,"},
        {"春季理财", false, "春季理财,"},
    };
    for (size_t i = 0; i < N_ROWS(rows); i++) {
        hq_csv_t c;
        hq_csv_init(&c, 256);
        hq_csv_field(&c, rows[i].in, rows[i].last);
        if (c.full || !c.p || strcmp(c.p, rows[i].want) != 0)
            fail_msg("row %zu (\"%s\"): wrote \"%s\", wanted \"%s\"", i, rows[i].in,
                     c.p ? c.p : "(nothing)", rows[i].want);
        hq_csv_free(&c);
    }
}

HBT_TEST(test_lines)
{
    hq_csv_t c;
    hq_csv_init(&c, 256);
    hq_csv_bom(&c);
    hq_csv_field(&c, "id", false);
    hq_csv_field(&c, "halls", true);
    hq_csv_field(&c, "x", false);
    hq_csv_number(&c, "-3", true); /* a number the export wrote is left a number */
    assert_false(c.full);
    assert_string_equal(c.p, "\xEF\xBB\xBFid,halls\r\nx,-3\r\n");
    assert_int_equal(c.len, strlen(c.p));
    hq_csv_free(&c);
}

/* Past its bound an export is marked full, and nothing after is written:
 * the caller refuses it rather than send a cut one. */
HBT_TEST(test_bound)
{
    hq_csv_t c;
    hq_csv_init(&c, 8);
    hq_csv_field(&c, "1234567", false); /* 8 bytes: fits */
    assert_false(c.full);
    assert_int_equal(c.len, 8);
    hq_csv_field(&c, "", true); /* 2 more */
    assert_true(c.full);
    hq_csv_field(&c, "", false); /* 1 more, which alone would fit: still refused */
    assert_true(c.full);
    assert_int_equal(c.len, 8);
    hq_csv_free(&c);
}
