/* The dashboard's message catalogues (hqd/dashboard/i18n/): each language of
 * a pair has the same keys with the same {placeholders}, in the one format
 * i18n.js and the check read. The check itself is check_catalogues.py next
 * to this file (python3, no browser, no node); here it runs on the source
 * tree's catalogues, and on broken copies to show that it refuses them. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PYTHON "/usr/bin/python3"
#define CHECK HB_SOURCE_DIR "/tests/unit/check_catalogues.py"
#define OUT_MAX 65536

static char s_out[OUT_MAX];

static int s_check(const char *folder)
{
    return hbt_run_args(s_out, sizeof s_out, PYTHON, CHECK, folder, (const char *)NULL);
}

static void s_write(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    hbt_write_file(path, text);
}

HBT_TEST_IN(test_source_catalogues, NULL, NULL)
{
    (void)state;
    int rc = s_check(HB_SOURCE_DIR "/hqd/dashboard/i18n");
    if (rc != 0)
        fail_msg("the dashboard's catalogues differ:\n%s", s_out);
    assert_non_null(strstr(s_out, "(page):"));
}

/* `text` written to `file` in `dir`: the check fails, naming `want`. */
static void s_refused(const char *dir, const char *file, const char *text, const char *want)
{
    s_write(dir, file, text);
    assert_int_equal(s_check(dir), 1);
    hbt_assert_contains(s_out, want);
}

HBT_TEST_IN(test_refusals, NULL, NULL)
{
    (void)state;
    char dir[256];
    hbt_mkdtemp(dir, sizeof dir, "i18n");
    s_write(dir, "zh-CN.js",
            "export default {\n  \"a.b\": \"等候 {n} 人\",\n  \"a.c\": \"好\",\n};\n");
    s_write(dir, "en.js",
            "export default {\n  \"a.b\": \"{n} waiting\",\n  \"a.c\": \"good\",\n};\n");
    assert_int_equal(s_check(dir), 0);

    /* A key only one language has. */
    s_refused(dir, "en.js", "export default {\n  \"a.b\": \"{n} waiting\",\n};\n",
              "en.js lacks a.c");
    /* Placeholders that differ. */
    s_refused(dir, "en.js",
              "export default {\n  \"a.b\": \"{count} waiting\",\n  \"a.c\": \"good\",\n};\n",
              "placeholders differ");
    /* A line that is no pair: the check would not see its keys. */
    s_refused(dir, "en.js",
              "export default {\n  \"a.b\": \"{n} waiting\", \"a.c\": \"good\",\n};\n",
              "not a \"key\": \"text\" line");
    /* An empty text, a key twice. */
    s_refused(
        dir, "en.js",
        "export default {\n  \"a.b\": \"{n} waiting\",\n  \"a.c\": \" \",\n  \"a.c\": \"x\",\n};\n",
        "empty text");
    hbt_assert_contains(s_out, "key a.c twice");
    /* A plural text: English needs its forms one and other, each with the
     * count {n}; Chinese has only other. */
    s_write(dir, "en.js",
            "export default {\n  \"a.b\": {\"one\": \"{n} hall\", \"other\": \"{n} halls\"},\n"
            "  \"a.c\": \"good\",\n};\n");
    assert_int_equal(s_check(dir), 0);
    s_refused(
        dir, "en.js",
        "export default {\n  \"a.b\": {\"other\": \"{n} halls\"},\n  \"a.c\": \"good\",\n};\n",
        "key a.b lacks its plural form one");
    s_refused(dir, "en.js",
              "export default {\n  \"a.b\": {\"one\": \"a hall\", \"other\": \"{n} halls\"},\n"
              "  \"a.c\": \"good\",\n};\n",
              "plural forms' placeholders differ");
    s_refused(dir, "zh-CN.js",
              "export default {\n  \"a.b\": {\"one\": \"{n} 个\", \"other\": \"{n} 个\"},\n"
              "  \"a.c\": \"好\",\n};\n",
              "plural form one that zh-CN has not");
    s_write(dir, "zh-CN.js",
            "export default {\n  \"a.b\": \"等候 {n} 人\",\n  \"a.c\": \"好\",\n};\n");
    s_write(dir, "en.js",
            "export default {\n  \"a.b\": \"{n} waiting\",\n  \"a.c\": \"good\",\n};\n");
    /* A part with one language only, and a part's key outside its name. */
    s_refused(dir, "editors.zh-CN.js",
              "export default {\n  \"editors.x\": \"编辑\",\n  \"y\": \"外\",\n};\n",
              "editors.en.js: missing");
    s_refused(dir, "editors.en.js",
              "export default {\n  \"editors.x\": \"edit\",\n  \"y\": \"out\",\n};\n",
              "key y does not start with editors.");
    hbt_rmdir(dir);
}
