/* Unit tests of common/base/json.c and ids.c: every refusal of the strict
 * member check, the text rule and the member reader, word for word, since
 * the documents' authors read them; the builders' handling of failures;
 * the id rules. Not for any one document's meaning: the modules that read
 * documents test those. */
#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/json.h"
#include "hallbus/names.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static json_t *s_load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);
    if (!j)
        fail_msg("%s: %s", text, jerr.text);
    return j;
}

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_known_members)
{
    (void)state;
    static const char *const ours[] = {"id", "name", NULL};
    static const char *const extra[] = {"region", NULL};
    json_t *j = s_load("{\"id\": 1, \"name\": 2, \"region\": 3}");
    char err[128] = "";
    assert_int_equal(hb_json_known(j, ours, extra, "halls[2]", err, sizeof err), 0);
    assert_int_equal(hb_json_known(j, ours, NULL, "halls[2]", err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "halls[2].region: unknown member");
    assert_int_equal(hb_json_known(j, ours, NULL, "", err, sizeof err), HB_EINVAL);
    assert_string_equal(err, "region: unknown member");
    assert_int_equal(hb_json_known(j, NULL, NULL, NULL, NULL, 0), HB_EINVAL);
    json_decref(j);

    char p[12];
    hb_json_path(p, sizeof p, "a", "b");
    assert_string_equal(p, "a.b");
    hb_json_path(p, sizeof p, "campaigns[10]", "region"); /* cut, not overrun */
    assert_string_equal(p, "campaigns[1");
}

HBT_TEST(test_text_refusals)
{
    (void)state;
    json_t *j = s_load("[\"ok\", 7, \"a\\u0000b\", \"\", \"toolong\"]");
    static const struct {
        size_t i;
        const char *err;
    } cases[] = {
        {1, "p: must be a string"},
        {2, "p: contains a NUL character"},
        {3, "p: must not be empty"},
        {4, "p: 7 bytes, at most 5"},
    };
    const char *s = NULL;
    char err[96];
    assert_int_equal(hb_json_text(json_array_get(j, 0), 1, 5, "p", &s, err, sizeof err), 0);
    assert_string_equal(s, "ok");
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        assert_int_equal(
            hb_json_text(json_array_get(j, cases[k].i), 1, 5, "p", &s, err, sizeof err), HB_EINVAL);
        assert_string_equal(err, cases[k].err);
    }
    json_decref(j);
}

static const hb_jr_style_t s_snap = {"snapshot member ", " ", "is missing", "is not a member"};
static const hb_jr_style_t s_doc = {"", ": ", "missing", "unknown member"};

typedef struct {
    int64_t n;
    uint64_t big;
    bool flag;
    char name[8];
    int state;
    uint32_t four[4];
} read_t;

static const char *const s_states[] = {"new", "open", "closed"};

/* Reads the test document with `style`; returns rc, refusal in `err`. */
static int s_read(const char *text, const hb_jr_style_t *style, read_t *out, char *err,
                  size_t errlen)
{
    json_t *j = s_load(text);
    int rc = 0;
    hb_jr_t r = hb_jr_open(j, "", style, &rc, err, errlen);
    out->n = hb_jr_int(&r, "n", -5, 5);
    out->big = hb_jr_u64(&r, "big");
    out->flag = hb_jr_bool(&r, "flag");
    hb_jr_str(&r, "name", out->name, sizeof out->name);
    out->state = hb_jr_name(&r, "state", s_states, 3, 1, 2, "must be open or closed");
    hb_jr_u32s(&r, "four", out->four, 4);
    hb_jr_opt(&r, "maybe");
    const json_t *list = hb_jr_array(&r, "list", 2);
    for (size_t i = 0; list && i < json_array_size(list); i++) {
        hb_jr_t e;
        if (!hb_jr_entry(&r, "list", list, i, &e))
            break;
        hb_jr_int(&e, "x", 0, 9);
        hb_jr_end(&e);
    }
    hb_jr_object(&r, "obj");
    hb_jr_end(&r);
    json_decref(j);
    return rc;
}

#define DOC_OK                                                                                     \
    "\"n\": -5, \"big\": \"18446744073709551615\", \"flag\": true, \"name\": \"seven77\", "        \
    "\"state\": \"closed\", \"four\": [1, 2, 3, 4294967295], \"list\": [{\"x\": 1}], \"obj\": {}"

HBT_TEST(test_reader)
{
    (void)state;
    read_t out;
    char err[200] = "";
    assert_int_equal(s_read("{" DOC_OK "}", &s_snap, &out, err, sizeof err), 0);
    assert_int_equal(out.n, -5);
    assert_true(out.big == UINT64_MAX);
    assert_true(out.flag);
    assert_string_equal(out.name, "seven77");
    assert_int_equal(out.state, 2);
    assert_int_equal(out.four[3], UINT32_MAX);

    /* Each refusal, in the snapshot's words and in the documents'. */
    static const struct {
        const char *doc;
        const char *snap, *plain;
    } cases[] = {
        {"{" DOC_OK ", \"extra\": 1}", "snapshot member extra is not a member",
         "extra: unknown member"},
        {"{\"big\": 1}", "snapshot member n is missing", "n: missing"},
        {"{" DOC_OK ", \"n\": 6}", "snapshot member n must be an integer from -5 to 5",
         "n: must be an integer from -5 to 5"},
        {"{" DOC_OK ", \"big\": \"18446744073709551616\"}",
         "snapshot member big must be an integer from 0 to 18446744073709551615 (or one in a "
         "string)",
         NULL},
        {"{" DOC_OK ", \"flag\": 1}", "snapshot member flag must be true or false", NULL},
        {"{" DOC_OK ", \"name\": \"eight888\"}",
         "snapshot member name must be a string of at most 7 bytes without NUL", NULL},
        {"{" DOC_OK ", \"state\": \"new\"}", "snapshot member state must be open or closed",
         "state: must be open or closed"},
        {"{" DOC_OK ", \"four\": [1, 2, 3]}", "snapshot member four must have exactly 4 entries",
         NULL},
        {"{" DOC_OK ", \"four\": [1, 2, -3, 4]}",
         "snapshot member four [2] must be an integer from 0 to 4294967295", NULL},
        {"{" DOC_OK ", \"list\": [{}, {}, {}]}",
         "snapshot member list has 3 entries, over the bound of 2", NULL},
        {"{" DOC_OK ", \"list\": [{\"x\": 1}, 5]}", "snapshot member list[1] must be an object",
         "list[1]: must be an object"},
        {"{" DOC_OK ", \"list\": [{\"x\": 1, \"y\": 2}]}",
         "snapshot member list[0].y is not a member", "list[0].y: unknown member"},
        {"{" DOC_OK ", \"obj\": []}", "snapshot member obj must be an object", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(s_read(cases[i].doc, &s_snap, &out, err, sizeof err), HB_EINVAL);
        if (strcmp(err, cases[i].snap) != 0)
            fail_msg("case %zu: \"%s\", wanted \"%s\"", i, err, cases[i].snap);
        if (!cases[i].plain)
            continue;
        assert_int_equal(s_read(cases[i].doc, &s_doc, &out, err, sizeof err), HB_EINVAL);
        if (strcmp(err, cases[i].plain) != 0)
            fail_msg("case %zu: \"%s\", wanted \"%s\"", i, err, cases[i].plain);
    }
}

HBT_TEST(test_builders)
{
    (void)state;
    bool bad = false;
    json_t *o = json_object();
    hb_json_set(o, "a", json_integer(1), &bad);
    assert_false(bad);
    hb_json_set(o, "b", NULL, &bad); /* a value that could not be built */
    assert_true(bad);
    bad = false;
    hb_json_set(NULL, "c", json_string("taken"), &bad); /* no object: the value is freed */
    assert_true(bad);
    json_t *a = json_array();
    bad = false;
    hb_json_append(a, hb_json_u64(UINT64_MAX), &bad);
    hb_json_append(a, hb_json_u64(42), &bad);
    assert_false(bad);
    assert_string_equal(json_string_value(json_array_get(a, 0)), "18446744073709551615");
    assert_int_equal(json_integer_value(json_array_get(a, 1)), 42);
    hb_json_append(NULL, json_true(), &bad);
    assert_true(bad);
    bad = false;
    hb_json_set_int(o, "i", -7, &bad);
    hb_json_set_u64(o, "u", UINT64_MAX, &bad);
    hb_json_set_str(o, "s", "text", &bad);
    hb_json_set_bool(o, "t", true, &bad);
    assert_false(bad);
    char *dump = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(dump, "{\"a\":1,\"i\":-7,\"s\":\"text\",\"t\":true,"
                              "\"u\":\"18446744073709551615\"}");
    free(dump);
    hb_json_set_str(o, "bad", "\xff", &bad); /* jansson refuses what is not UTF-8 */
    assert_true(bad);
    json_decref(a);
    json_decref(o);

    char ids[3][5] = {"a", "bb", "ccc"};
    json_t *s = hb_json_strings(ids[0], 3, sizeof ids[0]);
    char *text = json_dumps(s, JSON_COMPACT);
    assert_string_equal(text, "[\"a\",\"bb\",\"ccc\"]");
    free(text);
    json_decref(s);
}

HBT_TEST(test_ids)
{
    (void)state;
    static const struct {
        const char *id;
        bool hall;
    } halls[] = {
        {"H0042", true},
        {"north_hall-7", true},
        {"", false},
        {"a.b", false},
        {"sp ace", false},
        {"12345678901234567890123456789012", true},
        {"123456789012345678901234567890123", false},
        {"caf\xC3\xA9", false},
    };
    for (size_t i = 0; i < sizeof halls / sizeof halls[0]; i++) {
        if (hb_hall_id_valid(halls[i].id) != halls[i].hall)
            fail_msg("\"%s\": wanted %s", halls[i].id, halls[i].hall ? "valid" : "invalid");
    }
    assert_int_equal(HB_HALL_ID_MAX, 33);
    assert_true(hb_id_chars_ok("a.b@c", 5, ".@"));
    assert_false(hb_id_chars_ok("a.b@c", 4, ".@"));
    assert_false(hb_id_chars_ok("a.b", 5, NULL));

    /* Names of enumerated values: gaps and the end say "unknown"; a NULL
     * entry ends a list of choices. */
    static const char *const names[4] = {NULL, "open", "closed"};
    assert_string_equal(hb_name_of(names, 4, 1), "open");
    assert_string_equal(hb_name_of(names, 4, 0), "unknown");
    assert_string_equal(hb_name_of(names, 4, 3), "unknown");
    assert_string_equal(hb_name_of(names, 4, -1), "unknown");
    static const char *const choices[] = {"app", "web", NULL, "never"};
    assert_int_equal(hb_name_find(choices, 4, "web"), 1);
    assert_int_equal(hb_name_find(choices, 4, "never"), -1);
    assert_int_equal(hb_name_find(choices, 4, NULL), -1);

    /* A row of a table of structs by its name member, wherever the member
     * stands in the row; not found (or no name) is the row count. */
    static const struct {
        int value;
        const char *name;
    } rows[] = {{7, "kind"}, {8, "hall"}, {9, NULL}, {10, "code"}};
    assert_int_equal(HB_ROW_FIND(rows, 4, "hall"), 1);
    assert_int_equal(HB_ROW_FIND(rows, 4, "code"), 3);
    assert_int_equal(HB_ROW_FIND(rows, 3, "code"), 3);
    assert_int_equal(HB_ROW_FIND(rows, 4, "region"), 4);
    assert_int_equal(HB_ROW_FIND(rows, 4, NULL), 4);

    char err[32];
    assert_int_equal(hb_err_nomem(err, sizeof err), HB_ENOMEM);
    assert_string_equal(err, "out of memory");
}
