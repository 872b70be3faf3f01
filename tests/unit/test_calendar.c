/* Unit tests of common/rules/calendar.c, the hall's slice of the campaign
 * calendar: civil dates read strictly and written back; one campaign's
 * content read strictly, every refusal naming its member; a slice built at
 * HQ, read at the hall and written again unchanged; the two date queries a
 * hall asks (what runs today, what overlaps a range). */
#include "hallbus/calendar.h"
#include "hallbus/tz.h"
#include "hallbus/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "runner.h"

#define MAR_01_2027 20878

/* A valid campaign's content; tests change one member at a time. */
static json_t *s_content(const char *id, const char *start, const char *end)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:[], s:s, s:[s,s], s:{s:s, s:s},"
                          " s:[{s:s, s:s}]}",
                          "id", id, "title", "Spring savings", "level", "province", "start", start,
                          "end", end, "products", "savings-plus", "business_types", "segment",
                          "retail", "channels", "signage", "kiosk", "texts", "signage",
                          "Save more this spring", "kiosk", "Ask about Savings Plus", "faq",
                          "question", "Who can join?", "answer", "Every customer over 18.");
    assert_non_null(c);
    return c;
}

/* Parses `doc` (taking it) and expects a refusal whose reason starts with
 * `want`. */
static void s_refused(json_t *doc, const char *want)
{
    hb_cal_campaign_t c = {0};
    char err[256] = "";
    int rc = hb_cal_campaign_parse(doc, NULL, "", &c, err, sizeof err);
    if (rc != HB_EINVAL || strncmp(err, want, strlen(want)) != 0)
        fail_msg("wanted a refusal starting \"%s\", got rc %d \"%s\"", want, rc, err);
    assert_null(c.title); /* cleared on failure */
    json_decref(doc);
}

/* The fixture's content with member `key` set to `value` (NULL: deleted),
 * refused with `want`. */
static void s_member_refused(const char *key, json_t *value, const char *want)
{
    json_t *d = s_content("a", "2027-03-01", "2027-03-02");
    if (value)
        json_object_set_new(d, key, value);
    else
        json_object_del(d, key);
    s_refused(d, want);
}

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_dates)
{
    (void)state;
    int32_t d = -1;
    assert_int_equal(hb_date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(hb_date_parse("2027-03-01", &d), 0);
    assert_int_equal(d, MAR_01_2027);
    assert_int_equal(hb_date_parse("2000-02-29", &d), 0);
    assert_int_equal(d, 11016);
    assert_int_equal(hb_date_parse("9999-12-31", &d), 0);
    assert_int_equal(d, 2932896);
    const char *bad[] = {"2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-01-32",
                         "2024-04-31", "2024-1-01",  "1969-12-31", "abcd-ef-gh", "2024-01-01x",
                         "",           "2024/01/01", " 2024-01-0", "+024-01-01", "2024-01-0a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hb_date_parse(bad[i], &d) != HB_EPARSE)
            fail_msg("\"%s\" was read as a date", bad[i]);
    }
    assert_int_equal(hb_date_parse(NULL, &d), HB_EPARSE);
    /* Every day from 1970 to 2200 formats and reads back as itself. */
    char text[11];
    for (int32_t day = 0; day < 84000; day++) {
        hb_date_format(day, text);
        int32_t back = -1;
        assert_int_equal(hb_date_parse(text, &back), 0);
        assert_int_equal(back, day);
    }
    hb_date_format(MAR_01_2027, text);
    assert_string_equal(text, "2027-03-01");
    hb_date_format(2932896, text);
    assert_string_equal(text, "9999-12-31");
    assert_int_equal(hb_cal_day_of_ms(0), 0);
    assert_int_equal(hb_cal_day_of_ms(86400000LL - 1), 0);
    assert_int_equal(hb_cal_day_of_ms(86400000LL), 1);
    assert_int_equal(hb_cal_day_of_ms(-1), -1);
}

HBT_TEST(test_names)
{
    (void)state;
    hb_cal_level_t l;
    hb_cal_channel_t ch;
    assert_int_equal(hb_cal_level_parse("head_office", &l), 0);
    assert_int_equal(l, HB_CAL_HEAD_OFFICE);
    assert_int_equal(hb_cal_level_parse("national", &l), HB_EINVAL);
    assert_string_equal(hb_cal_level_name(HB_CAL_CITY), "city");
    assert_int_equal(hb_cal_channel_parse("counter_script", &ch), 0);
    assert_int_equal(ch, HB_CAL_COUNTER_SCRIPT);
    assert_int_equal(hb_cal_channel_parse("radio", &ch), HB_EINVAL);
    assert_string_equal(hb_cal_channel_name(HB_CAL_KIOSK), "kiosk");
}

HBT_TEST(test_campaign_parse)
{
    (void)state;
    json_t *doc = s_content("spring", "2027-03-01", "2027-03-31");
    hb_cal_campaign_t c = {0};
    char err[256] = "";
    assert_int_equal(hb_cal_campaign_parse(doc, NULL, "", &c, err, sizeof err), 0);
    assert_string_equal(c.id, "spring");
    assert_string_equal(c.title, "Spring savings");
    assert_int_equal(c.level, HB_CAL_PROVINCE);
    assert_int_equal(c.start, MAR_01_2027);
    assert_int_equal(c.end, MAR_01_2027 + 30);
    assert_int_equal(c.n_products, 1);
    assert_string_equal(c.products[0], "savings-plus");
    assert_int_equal(c.n_business_types, 0);
    assert_int_equal(c.channels, (1u << HB_CAL_SIGNAGE) | (1u << HB_CAL_KIOSK));
    assert_string_equal(c.texts[HB_CAL_KIOSK], "Ask about Savings Plus");
    assert_null(c.texts[HB_CAL_COUNTER_SCRIPT]);
    assert_int_equal(c.n_faq, 1);
    assert_true(hb_cal_campaign_active(&c, MAR_01_2027));
    assert_true(hb_cal_campaign_active(&c, MAR_01_2027 + 30));
    assert_false(hb_cal_campaign_active(&c, MAR_01_2027 + 31));
    assert_true(hb_cal_campaign_overlaps(&c, MAR_01_2027 - 10, MAR_01_2027));
    assert_false(hb_cal_campaign_overlaps(&c, MAR_01_2027 - 10, MAR_01_2027 - 1));

    /* Written out and read again: the same JSON. */
    json_t *out = hb_cal_campaign_to_json(&c);
    assert_true(json_equal(out, doc));
    hb_cal_campaign_t copy = {0};
    assert_int_equal(hb_cal_campaign_copy(&copy, &c), 0);
    json_t *out2 = hb_cal_campaign_to_json(&copy);
    assert_true(json_equal(out2, doc));
    hb_cal_campaign_clear(&copy);
    hb_cal_campaign_clear(&c);
    hb_cal_campaign_clear(&c); /* a cleared struct clears again */
    json_decref(out);
    json_decref(out2);

    /* A missing FAQ, an empty one, an entry without an answer: all content
     * for the coordination check, not refusals. */
    json_object_del(doc, "faq");
    assert_int_equal(hb_cal_campaign_parse(doc, NULL, "", &c, err, sizeof err), 0);
    assert_int_equal(c.n_faq, 0);
    hb_cal_campaign_clear(&c);
    json_object_set_new(
        doc, "faq",
        json_pack("[{s:s}, {s:s, s:s}]", "question", "Why?", "question", "When?", "answer", ""));
    assert_int_equal(hb_cal_campaign_parse(doc, NULL, "", &c, err, sizeof err), 0);
    assert_int_equal(c.n_faq, 2);
    assert_string_equal(c.faq[0].answer, "");
    assert_string_equal(c.faq[1].answer, "");
    hb_cal_campaign_clear(&c);

    /* Members the caller reads itself are allowed when named. */
    json_object_set_new(doc, "region", json_string("P01"));
    const char *extra[] = {"region", NULL};
    assert_int_equal(hb_cal_campaign_parse(doc, extra, "", &c, err, sizeof err), 0);
    hb_cal_campaign_clear(&c);
    assert_int_equal(hb_cal_campaign_parse(doc, NULL, "", &c, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "region: unknown member");
    json_decref(doc);
}

HBT_TEST(test_campaign_refusals)
{
    (void)state;
    json_t *d;
    char *big;

    s_refused(json_string("x"), "campaign: must be an object");
    s_member_refused("colour", json_string("red"), "colour: unknown member");
    d = s_content("a b", "2027-03-01", "2027-03-02");
    s_refused(d, "id: \"a b\" is not an id");
    s_member_refused("id", NULL, "id: missing");
    s_member_refused("id", json_integer(7), "id: must be a string");

    d = s_content("a", "2027-03-01", "2027-03-02");
    big = hbt_repeat('t', 201);
    json_object_set_new(d, "title", json_string(big));
    free(big);
    s_refused(d, "title: 201 bytes, at most 200");
    s_member_refused("title", json_string(""), "title: must not be empty");
    s_member_refused("title", json_stringn("a\0b", 3), "title: contains a NUL character");

    s_member_refused("level", json_string("national"),
                     "level: must be one of head_office, province, city");

    d = s_content("a", "2027-02-30", "2027-03-02");
    s_refused(d, "start: \"2027-02-30\" is not a date");
    s_member_refused("end", json_integer(20879), "end: must be a date \"YYYY-MM-DD\"");
    d = s_content("a", "2027-03-05", "2027-03-01");
    s_refused(d, "end: before the start (dates reversed)");
    d = s_content("a", "2027-01-01", "2028-01-02"); /* 367 days */
    s_refused(d, "end: the campaign would run 367 days, at most 366");
    d = s_content("a", "2028-01-01", "2028-12-31"); /* a leap year: 366 days is fine */
    hb_cal_campaign_t ok = {0};
    assert_int_equal(hb_cal_campaign_parse(d, NULL, "", &ok, NULL, 0), 0);
    hb_cal_campaign_clear(&ok);
    json_decref(d);

    s_member_refused("products", json_string("savings"), "products: must be an array of ids");
    s_member_refused("products", json_pack("[s,s]", "x", "x"), "products[1]: \"x\" listed twice");
    s_member_refused("business_types", json_pack("[s]", "bill payment"),
                     "business_types[0]: \"bill payment\" is not an id");
    s_member_refused("products", json_array(),
                     "products: a campaign concerns at least one product or business type");
    s_member_refused("business_types", NULL, "business_types: missing");
    d = s_content("a", "2027-03-01", "2027-03-02");
    json_t *many = json_array();
    for (int i = 0; i < 33; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        json_array_append_new(many, json_string(id));
    }
    json_object_set_new(d, "products", many);
    s_refused(d, "products: 33 entries, at most 32");

    s_member_refused("segment", NULL, "segment: missing");

    s_member_refused("channels", json_array(),
                     "channels: at least one of signage, kiosk, counter_script");
    s_member_refused("channels", json_pack("[s]", "radio"),
                     "channels[0]: must be one of signage, kiosk, counter_script");
    s_member_refused("channels", json_pack("[s,s,s]", "kiosk", "signage", "kiosk"),
                     "channels[2]: \"kiosk\" listed twice");

    s_member_refused("channels", json_pack("[s,s,s]", "kiosk", "signage", "counter_script"),
                     "texts.counter_script: missing (every listed channel needs its text)");
    s_member_refused("channels", json_pack("[s]", "kiosk"),
                     "texts.signage: a text for a channel the campaign does not list");
    d = s_content("a", "2027-03-01", "2027-03-02");
    json_object_set_new(json_object_get(d, "texts"), "radio", json_string("x"));
    s_refused(d, "texts.radio: unknown channel");
    d = s_content("a", "2027-03-01", "2027-03-02");
    big = hbt_repeat('k', 2001);
    json_object_set_new(json_object_get(d, "texts"), "kiosk", json_string(big));
    free(big);
    s_refused(d, "texts.kiosk: 2001 bytes, at most 2000");
    d = s_content("a", "2027-03-01", "2027-03-02");
    /* The bound is on bytes: 667 three-byte characters are 2001 bytes. */
    char *wide = malloc(667 * 3 + 1);
    assert_non_null(wide);
    for (int i = 0; i < 667; i++)
        memcpy(wide + 3 * i, "\xe5\x82\xa8", 3);
    wide[667 * 3] = '\0';
    json_object_set_new(json_object_get(d, "texts"), "kiosk", json_string(wide));
    free(wide);
    s_refused(d, "texts.kiosk: 2001 bytes, at most 2000");
    d = s_content("a", "2027-03-01", "2027-03-02");
    json_object_set_new(json_object_get(d, "texts"), "kiosk", json_string(""));
    s_refused(d, "texts.kiosk: must not be empty");
    s_member_refused("texts", json_array(), "texts: must be an object of channel: text");

    d = s_content("a", "2027-03-01", "2027-03-02");
    json_t *faq = json_array();
    for (int i = 0; i < 33; i++)
        json_array_append_new(faq, json_pack("{s:s, s:s}", "question", "q", "answer", "a"));
    json_object_set_new(d, "faq", faq);
    s_refused(d, "faq: 33 entries, at most 32");
    d = s_content("a", "2027-03-01", "2027-03-02");
    json_object_set_new(
        d, "faq", json_pack("[{s:s, s:s, s:s}]", "question", "q", "answer", "a", "hint", "h"));
    s_refused(d, "faq[0].hint: unknown member");
    s_member_refused("faq", json_pack("[{s:s}]", "answer", "a"), "faq[0].question: missing");
    s_member_refused("faq", json_pack("[{s:s, s:i}]", "question", "q", "answer", 3),
                     "faq[0].answer: must be a string");
    d = s_content("a", "2027-03-01", "2027-03-02");
    big = hbt_repeat('q', 1001);
    json_object_set_new(d, "faq", json_pack("[{s:s, s:s}]", "question", "q", "answer", big));
    free(big);
    s_refused(d, "faq[0].answer: 1001 bytes, at most 1000");
    s_member_refused("faq", json_pack("[s]", "q"), "faq[0]: must be an object {question, answer}");
}

/* A slice of `n` campaigns starting on successive weeks, in reverse order. */
static json_t *s_slice_doc(uint64_t version, const char *hall, int n)
{
    hb_cal_campaign_t *c = calloc((size_t)n + 1, sizeof *c);
    const hb_cal_campaign_t **list = calloc((size_t)n + 1, sizeof *list);
    assert_non_null(c);
    assert_non_null(list);
    for (int i = 0; i < n; i++) {
        char id[16], start[11], end[11];
        snprintf(id, sizeof id, "c%03d", i);
        hb_date_format(MAR_01_2027 + 7 * (n - 1 - i), start);
        hb_date_format(MAR_01_2027 + 7 * (n - 1 - i) + 9, end);
        json_t *doc = s_content(id, start, end);
        assert_int_equal(hb_cal_campaign_parse(doc, NULL, "", &c[i], NULL, 0), 0);
        json_decref(doc);
        list[i] = &c[i];
    }
    json_t *out = NULL;
    char err[256] = "";
    int rc = hb_cal_slice_build(version, hall, list, (size_t)n, &out, err, sizeof err);
    for (int i = 0; i < n; i++)
        hb_cal_campaign_clear(&c[i]);
    free(c);
    free(list);
    if (rc != 0) {
        assert_null(out);
        return NULL;
    }
    return out;
}

HBT_TEST(test_slice_round_trip)
{
    (void)state;
    json_t *doc = s_slice_doc(12, "H001", 4);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 12);
    assert_string_equal(json_string_value(json_object_get(doc, "hall")), "H001");
    /* Built in order of start, whatever order HQ handed them in. */
    json_t *list = json_object_get(doc, "campaigns");
    assert_int_equal(json_array_size(list), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), "c003");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 3), "id")), "c000");

    /* Through text, as over the wire. */
    char *text = json_dumps(doc, JSON_COMPACT);
    json_error_t jerr;
    json_t *back = json_loads(text, 0, &jerr);
    free(text);
    hb_cal_slice_t *s = NULL;
    char err[256] = "";
    assert_int_equal(hb_cal_slice_parse(back, &s, err, sizeof err), 0);
    assert_int_equal(s->version, 12);
    assert_string_equal(s->hall, "H001");
    assert_int_equal(s->n, 4);
    json_t *again = hb_cal_slice_to_json(s);
    assert_true(json_equal(again, doc));
    assert_non_null(hb_cal_slice_find(s, "c002"));
    assert_null(hb_cal_slice_find(s, "c999"));

    /* Campaigns run Mar 1-10 (c003), Mar 8-17 (c002), Mar 15-24, Mar 22-31. */
    const hb_cal_campaign_t *out[HB_CAL_SLICE_MAX];
    assert_int_equal(hb_cal_slice_active(s, MAR_01_2027 - 1, out, HB_CAL_SLICE_MAX), 0);
    assert_int_equal(hb_cal_slice_active(s, MAR_01_2027, out, HB_CAL_SLICE_MAX), 1);
    assert_string_equal(out[0]->id, "c003");
    assert_int_equal(hb_cal_slice_active(s, MAR_01_2027 + 8, out, HB_CAL_SLICE_MAX), 2);
    assert_string_equal(out[0]->id, "c003");
    assert_string_equal(out[1]->id, "c002");
    assert_int_equal(hb_cal_slice_active(s, MAR_01_2027 + 9, out, HB_CAL_SLICE_MAX), 2);
    assert_int_equal(hb_cal_slice_active(s, MAR_01_2027 + 10, out, HB_CAL_SLICE_MAX), 1);
    assert_string_equal(out[0]->id, "c002");
    assert_int_equal(hb_cal_slice_active(s, MAR_01_2027 + 30, out, HB_CAL_SLICE_MAX), 1);
    assert_int_equal(hb_cal_slice_active(s, MAR_01_2027 + 31, out, HB_CAL_SLICE_MAX), 0);
    assert_int_equal(
        hb_cal_slice_overlapping(s, MAR_01_2027 - 30, MAR_01_2027 + 60, out, HB_CAL_SLICE_MAX), 4);
    assert_int_equal(
        hb_cal_slice_overlapping(s, MAR_01_2027 + 10, MAR_01_2027 + 13, out, HB_CAL_SLICE_MAX), 1);
    assert_int_equal(
        hb_cal_slice_overlapping(s, MAR_01_2027 + 10, MAR_01_2027 + 14, out, HB_CAL_SLICE_MAX), 2);
    /* More running than room: the count says so, the array is not overrun. */
    assert_int_equal(hb_cal_slice_overlapping(s, MAR_01_2027, MAR_01_2027 + 31, out, 1), 4);
    assert_string_equal(out[0]->id, "c003");

    hb_cal_slice_destroy(&s);
    assert_null(s);
    hb_cal_slice_destroy(&s);
    json_decref(again);
    json_decref(back);
    json_decref(doc);

    /* An empty slice is a slice: a hall with nothing to run today. */
    doc = s_slice_doc(1, "H002", 0);
    assert_int_equal(hb_cal_slice_parse(doc, &s, err, sizeof err), 0);
    assert_int_equal(s->n, 0);
    assert_int_equal(hb_cal_slice_active(s, MAR_01_2027, out, HB_CAL_SLICE_MAX), 0);
    hb_cal_slice_destroy(&s);
    json_decref(doc);
}

static void s_slice_refused(json_t *doc, int want_rc, const char *want)
{
    hb_cal_slice_t *s = NULL;
    char err[256] = "";
    int rc = hb_cal_slice_parse(doc, &s, err, sizeof err);
    if (rc != want_rc || strncmp(err, want, strlen(want)) != 0)
        fail_msg("wanted %d \"%s\", got %d \"%s\"", want_rc, want, rc, err);
    assert_null(s);
    json_decref(doc);
}

HBT_TEST(test_slice_refusals)
{
    (void)state;
    json_t *d;
    s_slice_refused(json_array(), HB_EINVAL, "slice: must be an object");
    d = s_slice_doc(3, "H001", 2);
    json_object_set_new(d, "policy", json_object());
    s_slice_refused(d, HB_EINVAL, "policy: unknown member");
    d = s_slice_doc(3, "H001", 2);
    json_object_set_new(d, "version", json_integer(0));
    s_slice_refused(d, HB_EINVAL, "version: must be 1..");
    d = s_slice_doc(3, "H001", 2);
    json_object_set_new(d, "version", json_string("3"));
    s_slice_refused(d, HB_EINVAL, "version: must be an integer");
    d = s_slice_doc(3, "H001", 2);
    json_object_set_new(d, "version", json_integer(-4));
    s_slice_refused(d, HB_EINVAL, "version: must be 1..");
    d = s_slice_doc(3, "H001", 2);
    json_object_set_new(d, "hall", json_string("H 1"));
    s_slice_refused(d, HB_EINVAL, "hall: not a hall id");
    d = s_slice_doc(3, "H001", 2);
    json_object_del(d, "hall");
    s_slice_refused(d, HB_EINVAL, "hall: missing");
    d = s_slice_doc(3, "H001", 2);
    json_object_set_new(d, "campaigns", json_object());
    s_slice_refused(d, HB_EINVAL, "campaigns: must be an array");
    d = s_slice_doc(3, "H001", 2);
    json_t *list = json_object_get(d, "campaigns");
    json_array_append(list, json_array_get(list, 0));
    s_slice_refused(d, HB_EINVAL, "campaigns[2].id: \"c001\" already in campaigns[0]");
    d = s_slice_doc(3, "H001", 2);
    json_object_set_new(
        json_object_get(json_array_get(json_object_get(d, "campaigns"), 1), "texts"), "kiosk",
        json_string(""));
    s_slice_refused(d, HB_EINVAL, "campaigns[1].texts.kiosk: must not be empty");
    d = s_slice_doc(3, "H001", 2);
    json_object_set_new(json_array_get(json_object_get(d, "campaigns"), 0), "region",
                        json_string("P01"));
    s_slice_refused(d, HB_EINVAL, "campaigns[0].region: unknown member");

    /* The bound: 200 campaigns build and read; 201 are refused both ways. */
    d = s_slice_doc(3, "H001", HB_CAL_SLICE_MAX);
    assert_non_null(d);
    hb_cal_slice_t *s = NULL;
    assert_int_equal(hb_cal_slice_parse(d, &s, NULL, 0), 0);
    assert_int_equal(s->n, HB_CAL_SLICE_MAX);
    hb_cal_slice_destroy(&s);
    json_array_append(json_object_get(d, "campaigns"),
                      json_array_get(json_object_get(d, "campaigns"), 0));
    s_slice_refused(d, HB_ETOOBIG, "campaigns: 201 campaigns, a slice holds at most 200");
    assert_null(s_slice_doc(3, "H001", HB_CAL_SLICE_MAX + 1));

    /* Build refuses what parse would refuse. */
    hb_cal_campaign_t c = {0};
    json_t *one = s_content("x", "2027-03-01", "2027-03-02");
    assert_int_equal(hb_cal_campaign_parse(one, NULL, "", &c, NULL, 0), 0);
    json_decref(one);
    const hb_cal_campaign_t *twice[2] = {&c, &c};
    json_t *out = NULL;
    char err[256] = "";
    assert_int_equal(hb_cal_slice_build(1, "H001", twice, 2, &out, err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "campaigns: \"x\" given twice");
    assert_int_equal(hb_cal_slice_build(0, "H001", twice, 1, &out, err, sizeof err), HB_EINVAL);
    assert_int_equal(hb_cal_slice_build(1, "", twice, 1, &out, err, sizeof err), HB_EINVAL);
    assert_null(out);
    hb_cal_campaign_clear(&c);
}

/* ------------------------------------------------- a slice's glossary ---- */

static json_t *s_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

/* Slice s_slice_doc(3, "H001", 2) with a glossary: "APR" used by both
 * campaigns, "理财" by c001 only. */
static json_t *s_glossary_doc(void)
{
    json_t *d = s_slice_doc(3, "H001", 2);
    json_object_set_new(
        d, "glossary",
        s_json("[{\"term\": \"APR\", \"definition\": \"what a loan costs in a year\","
               " \"examples\": [\"5% APR on 1,000 yuan: about 50 yuan a year\", \"a card's APR\"],"
               " \"campaigns\": [\"c000\", \"c001\"]},"
               " {\"term\": \"\xe7\x90\x86\xe8\xb4\xa2\", \"campaigns\": [\"c001\"]}]"));
    return d;
}

HBT_TEST(test_slice_glossary)
{
    (void)state;
    json_t *doc = s_glossary_doc();
    hb_cal_slice_t *s = NULL;
    char err[256];
    assert_int_equal(hb_cal_slice_parse(doc, &s, err, sizeof err), 0);
    assert_int_equal(s->n_terms, 2);
    assert_string_equal(s->terms[0].term, "APR");
    assert_string_equal(s->terms[0].definition, "what a loan costs in a year");
    assert_int_equal(s->terms[0].n_examples, 2);
    assert_string_equal(s->terms[0].examples[1], "a card's APR");
    assert_int_equal(s->terms[0].n_campaigns, 2);
    assert_string_equal(s->terms[1].definition, ""); /* none in the glossary */
    /* Each campaign's own terms, and none for a campaign that uses none. */
    const hb_cal_term_t *out[4];
    assert_int_equal(hb_cal_slice_terms_of(s, "c000", out, 4), 1);
    assert_string_equal(out[0]->term, "APR");
    assert_int_equal(hb_cal_slice_terms_of(s, "c001", out, 4), 2);
    assert_string_equal(out[1]->term, "\xe7\x90\x86\xe8\xb4\xa2");
    assert_int_equal(hb_cal_slice_terms_of(s, "c001", out, 1), 2); /* counted past the room */
    assert_int_equal(hb_cal_slice_terms_of(s, "c404", out, 4), 0);
    /* A term for the hall's API: no campaigns, the examples as a list. */
    json_t *tj = hb_cal_term_to_json(&s->terms[0]);
    json_t *want =
        s_json("{\"term\": \"APR\", \"definition\": \"what a loan costs in a year\", "
               "\"examples\": [\"5% APR on 1,000 yuan: about 50 yuan a year\", \"a card's APR\"]}");
    assert_true(json_equal(tj, want));
    json_decref(want);
    json_decref(tj);
    /* What the hall stores reads back as HQ sent it. */
    json_t *again = hb_cal_slice_to_json(s);
    assert_true(json_equal(again, doc));
    json_decref(again);
    hb_cal_slice_destroy(&s);
    json_decref(doc);

    /* A slice without terms has no glossary member: a hall of a build
     * before it reads it. */
    doc = s_slice_doc(3, "H001", 2);
    assert_int_equal(hb_cal_slice_parse(doc, &s, err, sizeof err), 0);
    again = hb_cal_slice_to_json(s);
    assert_null(json_object_get(again, "glossary"));
    json_decref(again);
    hb_cal_slice_destroy(&s);
    json_decref(doc);
}

/* A glossary changed at one member, and the refusal it meets. */
typedef struct {
    const char *path; /* a member of glossary[0] to set, "" for the whole list */
    const char *value;
    const char *want;
} glossary_refusal_t;

HBT_TEST(test_slice_glossary_refusals)
{
    (void)state;
    static const glossary_refusal_t rows[] = {
        {"", "{}", "glossary: must be an array"},
        {"term", "\"\"", "glossary[0].term: must not be empty"},
        {"term", "7", "glossary[0].term: must be a string"},
        {"definition", "[\"x\"]", "glossary[0].definition: must be a string"},
        {"examples", "\"one\"", "glossary[0].examples: must be an array of at most 8"},
        {"examples", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]",
         "glossary[0].examples: must be an array of at most 8"},
        {"examples", "[\"\"]", "glossary[0].examples[0]: must not be empty"},
        {"campaigns", "[]", "glossary[0].campaigns: must name 1..2 campaigns"},
        {"campaigns", "[\"c404\"]",
         "glossary[0].campaigns[0]: \"c404\" is no campaign of the slice"},
        {"campaigns", "[\"c000\", \"c000\"]", "glossary[0].campaigns[1]: \"c000\" named twice"},
        {"campaigns", "[\"c 1\"]", "glossary[0].campaigns[0]: \"c 1\" is not an id"},
        {"note", "\"x\"", "glossary[0].note: unknown member"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *d = s_glossary_doc();
        json_t *v = json_loads(rows[i].value, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        if (rows[i].path[0])
            json_object_set_new(json_array_get(json_object_get(d, "glossary"), 0), rows[i].path, v);
        else
            json_object_set_new(d, "glossary", v);
        s_slice_refused(d, HB_EINVAL, rows[i].want);
    }
    /* A term twice; a term over its bound. */
    json_t *d = s_glossary_doc();
    json_object_set_new(json_array_get(json_object_get(d, "glossary"), 1), "term",
                        json_string("APR"));
    s_slice_refused(d, HB_EINVAL, "glossary[1].term: \"APR\" already in glossary[0]");
    char big[HB_CAL_TERM_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    d = s_glossary_doc();
    json_object_set_new(json_array_get(json_object_get(d, "glossary"), 0), "term",
                        json_string(big));
    s_slice_refused(d, HB_EINVAL, "glossary[0].term: 101 bytes, at most 100");
}
