/* Tests for the dashboard's page as hqd writes it (hqd/api/page.c): the
 * data element that carries who is signed in and the language's texts is
 * read back from the rendered HTML and parsed, and must give back exactly
 * what went in, whatever the texts hold ("</script>", "<!--<script>", a
 * quote, a backslash), with no '<' between its tags. Also: the catalogues
 * read from their "key": "text" lines, a language with a bad line or no
 * file left out (the page then loads its files), an index.html without
 * the marker served as it is. Over HTTP with a real session:
 * tests/browser/test_dashboard_sizes.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "runner.h"

#include "page.h"

#include "hallbus/fs.h"
#include "hallbus/static.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EVIL "</script><script>alert(1)</script>"
#define EVIL2 "<!--<script>&\"\\'\u2028"

static void s_write(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(hb_file_write_durably(path, text, strlen(text), 0600), 0);
}

static const char s_index[] = "<!doctype html>\n<head>\n" HQD_PAGE_MARKER "\n"
                              "<script type=\"module\" src=\"app.js\"></script>\n</head>\n"
                              "<body></body>\n";

/* A dashboard folder: index.html with the marker, catalogues of both
 * languages (en's editors part has a key outside its part, dropped as the
 * page drops it). */
static void s_folder(char *dir, size_t len, const char *zh_line)
{
    char sub[300];
    hbt_mkdtemp(dir, len, "page");
    snprintf(sub, sizeof sub, "%s/i18n", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    s_write(dir, "index.html", s_index);
    s_write(sub, "en.js",
            "// texts\nexport default {\n  \"a.b\": \"Sign in\",\n\n  // a comment\n"
            "  \"evil\": \"" EVIL "\",\n  \"q\": \"a \\\"quote\\\" {n}\",\n"
            "  \"p\": {\"one\": \"{n} hall\", \"other\": \"{n} halls\"},\n};\n");
    s_write(sub, "editors.en.js",
            "export default {\n  \"editors.x\": \"Edit & <b>\",\n  \"stray\": \"no\",\n};\n");
    char zh[400];
    snprintf(zh, sizeof zh, "export default {\n  \"a.b\": \"登录\",\n%s};\n", zh_line);
    s_write(sub, "zh-CN.js", zh);
}

/* The data element of `html`: its text between the tags, parsed, checked
 * to hold no '<' (nothing in it can end or change the element). */
static json_t *s_element(const char *html)
{
    const char *open = "<script type=\"application/json\" id=\"" HQD_PAGE_ELEMENT "\">";
    const char *s = strstr(html, open);
    assert_non_null(s);
    s += strlen(open);
    const char *e = strstr(s, "</script>");
    assert_non_null(e);
    for (const char *p = s; p < e; p++)
        assert_true(*p != '<' && *p != '>' && *p != '&');
    json_error_t err;
    json_t *j = json_loadb(s, (size_t)(e - s), 0, &err);
    assert_non_null(j);
    /* One element only: the page's text after it is the file's own. */
    assert_null(strstr(e + 9, HQD_PAGE_ELEMENT));
    hbt_assert_contains(e, "</script>\n<script type=\"module\" src=\"app.js\">");
    return j;
}

HBT_TEST_IN(test_written_in_and_read_back, NULL, NULL)
{
    char dir[256], err[256];
    s_folder(dir, sizeof dir, "  \"c\": \"三\",\n");
    hb_static_t *files = NULL;
    assert_int_equal(hb_static_open(dir, "dashboard", &files, err, sizeof err), 0);
    hqd_page_t *p = NULL;
    assert_int_equal(hqd_page_new(files, &p), 0);
    assert_non_null(p);
    assert_true(hqd_page_has_lang(p, "en"));
    assert_true(hqd_page_has_lang(p, "zh-CN"));
    assert_false(hqd_page_has_lang(p, "fr"));

    /* A person whose every field holds what would end the element. */
    json_t *me = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "name", EVIL, "csrf_token", EVIL2, "roles",
                           "role", "admin", "scope", "region/" EVIL);
    size_t len = 0;
    char *html = hqd_page_render(p, "en", me, &len);
    assert_non_null(html);
    assert_int_equal(len, strlen(html));
    /* The file's own text before and after, untouched. */
    assert_memory_equal(html, "<!doctype html>\n<head>\n<script", 30);
    assert_null(strstr(html, HQD_PAGE_MARKER));
    json_t *got = s_element(html);
    assert_string_equal(json_string_value(json_object_get(got, "lang")), "en");
    assert_true(json_equal(json_object_get(got, "me"), me));
    json_t *texts = json_object_get(got, "texts");
    assert_string_equal(json_string_value(json_object_get(texts, "evil")), EVIL);
    assert_string_equal(json_string_value(json_object_get(texts, "q")), "a \"quote\" {n}");
    assert_string_equal(json_string_value(json_object_get(texts, "editors.x")), "Edit & <b>");
    /* A plural text is written in with its forms. */
    assert_string_equal(json_string_value(json_object_get(json_object_get(texts, "p"), "one")),
                        "{n} hall");
    assert_null(json_object_get(texts, "stray"));
    assert_int_equal(json_object_size(texts), 5);
    json_decref(got);
    free(html);

    /* No session: no "me" at all (the page asks GET /v1/me); an unknown
     * language is the default. */
    html = hqd_page_render(p, "fr", NULL, &len);
    got = s_element(html);
    assert_null(json_object_get(got, "me"));
    assert_string_equal(json_string_value(json_object_get(got, "lang")), "zh-CN");
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "texts"), "a.b")),
                        "登录");
    json_decref(got);
    free(html);
    json_decref(me);
    hqd_page_destroy(&p);
    assert_null(p);
    hqd_page_destroy(&p); /* idempotent */
    hb_static_destroy(&files);
    hbt_rmdir(dir);
}

/* The escaping alone, on every character that matters and on text that
 * is not ASCII. */
HBT_TEST_IN(test_json_for_a_script_element, NULL, NULL)
{
    json_t *j = json_pack("{s:s, s:s, s:[s]}", "a", EVIL, "b", EVIL2, "c", "前</SCRIPT >");
    size_t len = 0;
    char *text = hqd_page_json(j, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_null(strpbrk(text, "<>&"));
    hbt_assert_contains(text, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)");
    hbt_assert_contains(text, "\\u0026");
    json_t *back = json_loads(text, 0, NULL);
    assert_true(json_equal(back, j));
    json_decref(back);
    free(text);
    json_decref(j);
}

/* A catalogue line that is not a "key": "text" pair (a JS expression, a
 * number, plural forms without "other" or with a form that is no text)
 * leaves that language out; the other is still written in. A page
 * without the marker is not written at all (an older index.html). */
HBT_TEST_IN(test_refusals, NULL, NULL)
{
    static const char *const bad[] = {"  \"c\": 'single',\n",
                                      "  \"c\": 3,\n",
                                      "  \"a.b\": \"twice\",\n",
                                      "  c: \"bare\",\n",
                                      "  \"c\": {\"one\": \"{n} hall\"},\n",
                                      "  \"c\": {\"one\": 1, \"other\": \"{n} halls\"},\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char dir[256], err[256];
        s_folder(dir, sizeof dir, bad[i]);
        hb_static_t *files = NULL;
        assert_int_equal(hb_static_open(dir, "dashboard", &files, err, sizeof err), 0);
        hqd_page_t *p = NULL;
        assert_int_equal(hqd_page_new(files, &p), 0);
        assert_false(hqd_page_has_lang(p, "zh-CN"));
        assert_true(hqd_page_has_lang(p, "en"));
        size_t len;
        char *html = hqd_page_render(p, "zh-CN", NULL, &len);
        json_t *got = s_element(html);
        assert_string_equal(json_string_value(json_object_get(got, "lang")), "zh-CN");
        assert_null(json_object_get(got, "texts"));
        json_decref(got);
        free(html);
        hqd_page_destroy(&p);
        hb_static_destroy(&files);
        hbt_rmdir(dir);
    }
    /* No marker: nothing to write into. No catalogue folder: no texts. */
    char dir[256], err[256];
    hbt_mkdtemp(dir, sizeof dir, "page");
    s_write(dir, "index.html", "<!doctype html><p>old page</p>\n");
    hb_static_t *files = NULL;
    assert_int_equal(hb_static_open(dir, "dashboard", &files, err, sizeof err), 0);
    hqd_page_t *p = (hqd_page_t *)1;
    assert_int_equal(hqd_page_new(files, &p), 0);
    assert_null(p);
    s_write(dir, "index.html", s_index);
    hb_static_destroy(&files);
    assert_int_equal(hb_static_open(dir, "dashboard", &files, err, sizeof err), 0);
    assert_int_equal(hqd_page_new(files, &p), 0);
    assert_non_null(p);
    assert_false(hqd_page_has_lang(p, "en"));
    assert_false(hqd_page_has_lang(p, "zh-CN"));
    hqd_page_destroy(&p);
    hb_static_destroy(&files);
    hbt_rmdir(dir);
}
