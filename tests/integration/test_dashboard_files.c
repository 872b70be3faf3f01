/* The dashboard's charting library, served by a real hqd from the `chartjs`
 * setting: the named file at /chart.min.js (a symbolic link followed, since
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

static char s_root[256];

static int s_setup(void **state)
{
    (void)state;
    hbt_mkdtemp(s_root, sizeof s_root, "dashfiles");
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    hbt_rmdir(s_root);
    return 0;
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

static bool s_log_has(const hbt_hq_t *hq, const char *needle)
{
    char path[400], line[2048];
    snprintf(path, sizeof path, "%s/hqd.log", hq->root);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Starts an hqd of its own in `sub` with `--chartjs value`. */
static void s_start(hbt_hq_t *hq, const char *sub, const char *value)
{
    char root[400];
    snprintf(root, sizeof root, "%s/%s", s_root, sub);
    assert_int_equal(mkdir(root, 0755), 0);
    hbt_hq_init(hq, root);
    snprintf(hq->extra[hq->n_extra++], sizeof hq->extra[0], "--chartjs");
    snprintf(hq->extra[hq->n_extra++], sizeof hq->extra[0], "%s", value);
    hbt_hq_start(hq);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The named file is served as it is, through a link too. */
static void test_served(void **state)
{
    (void)state;
    char lib[300], link[300], body[256];
    snprintf(lib, sizeof lib, "%s/chart-lib.js", s_root);
    snprintf(link, sizeof link, "%s/chart-link.js", s_root);
    s_write(lib, "window.ChartForTest = 42;\n");
    assert_int_equal(symlink(lib, link), 0);

    hbt_hq_t hq;
    s_start(&hq, "file", lib);
    assert_int_equal(s_get(&hq, "/chart.min.js", body, sizeof body), 200);
    assert_string_equal(body, "window.ChartForTest = 42;\n");
    assert_int_equal(s_get(&hq, "/", body, sizeof body), 200);
    hbt_hq_stop(&hq, SIGTERM);

    s_start(&hq, "link", link);
    assert_int_equal(s_get(&hq, "/chart.min.js", body, sizeof body), 200);
    assert_string_equal(body, "window.ChartForTest = 42;\n");
    hbt_hq_stop(&hq, SIGTERM);
}

/* Each way of having no library: hqd runs, / is the dashboard, the
 * library's name is no file, and the log says why. */
static void test_missing(void **state)
{
    (void)state;
    char missing[300], body[256];
    snprintf(missing, sizeof missing, "%s/no-such-chart.js", s_root);
    static const struct {
        const char *sub, *log;
    } cases[] = {
        {"missing", "no file"},
        {"folder", "not a regular file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hbt_hq_t hq;
        s_start(&hq, cases[i].sub, i == 0 ? missing : s_root);
        assert_int_equal(s_get(&hq, "/", body, sizeof body), 200);
        assert_int_equal(s_get(&hq, "/chart.min.js", body, sizeof body), 404);
        assert_true(s_log_has(&hq, "the reports view has no charts"));
        assert_true(s_log_has(&hq, cases[i].log));
        hbt_hq_stop(&hq, SIGTERM);
    }
    /* Empty: none served, and nothing to warn about. */
    hbt_hq_t hq;
    s_start(&hq, "empty", "");
    assert_int_equal(s_get(&hq, "/", body, sizeof body), 200);
    assert_int_equal(s_get(&hq, "/chart.min.js", body, sizeof body), 404);
    assert_false(s_log_has(&hq, "the reports view has no charts"));
    hbt_hq_stop(&hq, SIGTERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_served),
        cmocka_unit_test(test_missing),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
