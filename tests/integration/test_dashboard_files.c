/* The dashboard's message catalogues (the folder's i18n/ subfolder, served
 * at /i18n/NAME, with the same refusals as the folder's own files: no link,
 * no other subfolder, no name too long) and its charting library, served by
 * a real hqd from the `chartjs` setting: the named file at /chart.min.js (a symbolic link followed, since
 * Debian's packaged libraries are often links), and every way it can be
 * missing (no such file, a folder, an empty setting) leaving hqd running
 * with its dashboard at / and /chart.min.js answering 404, the log saying
 * why. Not here: what the page does with it (tests/browser). */
#include "stubs.h"

#include "hallbus/httpc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

/* One fresh folder for the file's tests (a group fixture). */
static hbt_tmpdir_t s_tmp = {.tag = "dashfiles"};

static int s_setup(void **state)
{
    *state = &s_tmp;
    return hbt_tmpdir_setup(state);
}

/* GET `path`: the status, the body in `body` (cut to `len`). */
static int s_get(const hbt_hq_t *hq, const char *path, char *body, size_t len)
{
    hb_httpc_resp_t r;
    char err[256];
    body[0] = '\0';
    if (hb_httpc_request(hq->http, "GET", path, NULL, 5000, &r, err, sizeof err) != 0)
        return -1;
    snprintf(body, len, "%s", r.body ? r.body : "");
    int status = r.status;
    hb_httpc_resp_free(&r);
    return status;
}

/* What a GET of `path` must answer: `status`, and the body `body` to the
 * letter unless it is NULL. */
typedef struct served {
    const char *path;
    int status;
    const char *body;
} served_t;

/* GETs each row's path from `hq`, in order, naming the row that fails. */
static void s_serves(const hbt_hq_t *hq, const served_t *rows, size_t n)
{
    char body[256];
    for (size_t i = 0; i < n; i++) {
        int status = s_get(hq, rows[i].path, body, sizeof body);
        if (status != rows[i].status)
            fail_msg("GET %s: %d, wanted %d", rows[i].path, status, rows[i].status);
        if (rows[i].body && strcmp(body, rows[i].body) != 0)
            fail_msg("GET %s: \"%s\", wanted \"%s\"", rows[i].path, body, rows[i].body);
    }
}

#define SERVES(hq, rows) s_serves(hq, rows, sizeof rows / sizeof rows[0])

#define LIB_TEXT "window.ChartForTest = 42;\n"

/* The dashboard without a chart library: / answers, the library does not. */
static const served_t s_no_library[] = {{"/", 200, NULL}, {"/chart.min.js", 404, NULL}};

static bool s_log_has(const hbt_hq_t *hq, const char *needle)
{
    char path[400];
    snprintf(path, sizeof path, "%s/hqd.log", hq->root);
    return hbt_log_has(path, needle);
}

/* Starts an hqd of its own in `sub` with `option value` (--chartjs,
 * --dashboard). */
static void s_start(hbt_hq_t *hq, const char *sub, const char *option, const char *value)
{
    char root[400];
    snprintf(root, sizeof root, "%s/%s", s_tmp.path, sub);
    assert_int_equal(mkdir(root, 0755), 0);
    hbt_hq_init(hq, root);
    hbt_hq_arg(hq, option, "%s", value);
    hbt_hq_start(hq);
}

HBT_GROUP(s_setup, hbt_tmpdir_teardown);
#define HBT_FIXTURE NULL, NULL

/* The named file is served as it is, through a link too. */
HBT_TEST(test_served)
{
    (void)state;
    char lib[300], link[300];
    snprintf(lib, sizeof lib, "%s/chart-lib.js", s_tmp.path);
    snprintf(link, sizeof link, "%s/chart-link.js", s_tmp.path);
    hbt_write_file(lib, LIB_TEXT);
    assert_int_equal(symlink(lib, link), 0);

    static const served_t file[] = {{"/chart.min.js", 200, LIB_TEXT}, {"/", 200, NULL}};
    hbt_hq_t hq;
    s_start(&hq, "file", "--chartjs", lib);
    SERVES(&hq, file);
    hbt_hq_stop(&hq, SIGTERM);

    static const served_t linked[] = {{"/chart.min.js", 200, LIB_TEXT}};
    s_start(&hq, "link", "--chartjs", link);
    SERVES(&hq, linked);
    hbt_hq_stop(&hq, SIGTERM);
}

/* Each way of having no library: hqd runs, / is the dashboard, the
 * library's name is no file, and the log says why. */
HBT_TEST(test_missing)
{
    (void)state;
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no-such-chart.js", s_tmp.path);
    static const struct {
        const char *sub, *log;
    } cases[] = {
        {"missing", "no file"},
        {"folder", "not a regular file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hbt_hq_t hq;
        s_start(&hq, cases[i].sub, "--chartjs", i == 0 ? missing : s_tmp.path);
        SERVES(&hq, s_no_library);
        assert_true(s_log_has(&hq, "the reports view has no charts"));
        assert_true(s_log_has(&hq, cases[i].log));
        hbt_hq_stop(&hq, SIGTERM);
    }
    /* Empty: none served, and nothing to warn about. */
    hbt_hq_t hq;
    s_start(&hq, "empty", "--chartjs", "");
    SERVES(&hq, s_no_library);
    assert_false(s_log_has(&hq, "the reports view has no charts"));
    hbt_hq_stop(&hq, SIGTERM);
}

/* The catalogues in i18n/ are served under /i18n/; a link in their folder,
 * a link standing for the folder, another subfolder and a name over 64
 * bytes are not; the source tree's own catalogues are there. */
HBT_TEST(test_catalogues)
{
    (void)state;
    char dash[300], path[400], body[256];
    snprintf(dash, sizeof dash, "%s/dash", s_tmp.path);
    assert_int_equal(mkdir(dash, 0755), 0);
    snprintf(path, sizeof path, "%s/index.html", dash);
    hbt_write_file(path, "<!doctype html>\n");
    snprintf(path, sizeof path, "%s/i18n", dash);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/other", dash);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/other/x.js", dash);
    hbt_write_file(path, "other\n");
    snprintf(path, sizeof path, "%s/i18n/en.js", dash);
    hbt_write_file(path, "export default {\n};\n");
    snprintf(path, sizeof path, "%s/secret.js", s_tmp.path);
    hbt_write_file(path, "secret\n");
    char link[400];
    snprintf(link, sizeof link, "%s/i18n/linked.js", dash);
    assert_int_equal(symlink(path, link), 0);

    static const served_t cat[] = {
        {"/i18n/en.js", 200, "export default {\n};\n"},
        {"/i18n/linked.js", 404, NULL},
        {"/other/x.js", 404, NULL},
        {"/i18n/zh-CN.js", 404, NULL},
        {"/i18n", 404, NULL},
    };
    hbt_hq_t hq;
    s_start(&hq, "cat", "--dashboard", dash);
    SERVES(&hq, cat);
    assert_true(s_log_has(&hq, "linked.js is a symbolic link"));
    char lng[200] = "/i18n/";
    memset(lng + 6, 'a', 70);
    memcpy(lng + 76, ".js", 4);
    assert_int_equal(s_get(&hq, lng, body, sizeof body), 404);
    hbt_hq_stop(&hq, SIGTERM);

    /* The subfolder a link elsewhere: not followed. */
    char dash2[300], real[400];
    snprintf(dash2, sizeof dash2, "%s/dash2", s_tmp.path);
    assert_int_equal(mkdir(dash2, 0755), 0);
    snprintf(path, sizeof path, "%s/index.html", dash2);
    hbt_write_file(path, "<!doctype html>\n");
    snprintf(real, sizeof real, "%s/i18n", dash);
    snprintf(path, sizeof path, "%s/i18n", dash2);
    assert_int_equal(symlink(real, path), 0);
    static const served_t catlink[] = {{"/", 200, NULL}, {"/i18n/en.js", 404, NULL}};
    s_start(&hq, "catlink", "--dashboard", dash2);
    SERVES(&hq, catlink);
    assert_true(s_log_has(&hq, "not a folder hqd may read"));
    hbt_hq_stop(&hq, SIGTERM);

    /* The source tree's dashboard: both catalogues. */
    hbt_hq_t src;
    char root[400];
    snprintf(root, sizeof root, "%s/src", s_tmp.path);
    assert_int_equal(mkdir(root, 0755), 0);
    hbt_hq_init(&src, root);
    hbt_hq_start(&src);
    static char big[1 << 16];
    assert_int_equal(s_get(&src, "/i18n/zh-CN.js", big, sizeof big), 200);
    assert_non_null(strstr(big, "export default {"));
    assert_int_equal(s_get(&src, "/i18n/en.js", big, sizeof big), 200);
    assert_int_equal(s_get(&src, "/i18n.js", big, sizeof big), 200);
    hbt_hq_stop(&src, SIGTERM);
}
