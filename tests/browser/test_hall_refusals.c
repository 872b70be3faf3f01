/* What the hall's pages refuse, against a real branchd (and, for the
 * tokens, headless Chromium through ChromeDriver): each page's path answers
 * its HTML with a Content-Security-Policy that allows no inline script; the
 * scripts, styles and catalogues under /pages/, nothing else; every page
 * refuses a token of the wrong kind, and the API refuses what that kind may
 * not do (a kiosk cannot call a ticket). What the pages do with the right
 * tokens is test_hall_pages.c's. */
#include "browser_fx.h"
#include "harness.h"
#include "webdriver.h"
#include "world.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner.h"

typedef struct refusals {
    hbt_wd_t wd; /* first: hbt_browser_world_teardown stops it */
    char token[HBT_NDEV][64];
} refusals_t;

static const hbt_world_spec_t s_world = {.tag = "hallrefusals", .halls = {"B01"}, .engine = true};

static int s_setup(void **state)
{
    hbt_world_t *w = hbt_browser_world_setup(state, &s_world, sizeof(refusals_t));
    refusals_t *p = w->test;
    hbt_hall_t *b01 = &w->hall[0];
    b01->tokens_only = true;
    hbt_hall_pair(b01, HBT_ALL_DEVS, p->token);
    snprintf(b01->token, sizeof b01->token, "%s", p->token[HBT_MANAGER]);
    hbt_hall_start(b01);
    mkdir(HBT_SHOTS, 0755);
    return 0;
}

#define HBT_FIXTURE NULL, NULL

/* ----------------------------------------------------------- the files */

/* The headers and the first bytes of GET `path` (curl, which the build
 * machine has: the harness's client keeps no headers). */
static void s_head(hbt_world_t *w, const char *path, char *out, size_t outlen)
{
    char url[300];
    snprintf(url, sizeof url, "%s%s", w->hall[0].http, path);
    assert_int_equal(
        hbt_run_args(out, outlen, "/usr/bin/curl", "-s", "-D", "-", "--max-time", "5", url, NULL),
        0);
    for (char *c = out; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
}

HBT_TEST(test_page_files)
{
    hbt_world_t *w = *state;
    static const struct {
        const char *path, *type, *needle;
    } pages[] = {
        {"/kiosk", "text/html", "/pages/kiosk.js"},
        {"/counter/1", "text/html", "/pages/counter.js"},
        {"/rate/1", "text/html", "/pages/rate.js"},
        {"/display", "text/html", "/pages/display.js"},
        {"/manager", "text/html", "/pages/manager.js"},
        {"/t/A001-ABCDEFGH", "text/html", "/pages/ticket.js"},
        {"/pages/hall.js", "text/javascript", "export function follow"},
        {"/pages/hall.css", "text/css", "@media print"},
        {"/pages/i18n/zh-CN.js", "text/javascript", "请 {ticket} 号到 {counter} 号窗口"},
        {"/pages/i18n/en.js", "text/javascript", "Number {ticket}, please go to counter {counter}"},
    };
    char out[1 << 16];
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        s_head(w, pages[i].path, out, sizeof out);
        char type[64];
        snprintf(type, sizeof type, "content-type: %s", pages[i].type);
        if (!strstr(out, "http/1.1 200") || !strstr(out, type))
            fail_msg("GET %s: %.600s", pages[i].path, out);
        char needle[200];
        snprintf(needle, sizeof needle, "%s", pages[i].needle);
        for (char *c = needle; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
        if (!strstr(out, needle))
            fail_msg("GET %s lacks '%s'", pages[i].path, pages[i].needle);
        /* No script but the hall's own files: no inline script at all. */
        hbt_assert_contains(out, "content-security-policy: default-src 'none'; script-src 'self';");
        assert_null(strstr(out, "unsafe-inline"));
        hbt_assert_contains(out, "cache-control: no-store");
    }
    /* Pages need no token; everything else is refused as before. */
    hbt_refused(w->hall[0].http, "GET", "/pages/missing.js", NULL, 404, "not_found", "no route");
    hbt_refused(w->hall[0].http, "GET", "/pages/..%2fmain.c", NULL, 400, "bad_path", "");
    hbt_refused(w->hall[0].http, "GET", "/pages/%2e%2e", NULL, 400, "bad_path", "");
    hbt_refused(w->hall[0].http, "GET", "/pages/kiosk.html%2f", NULL, 404, "not_found", "");
    hbt_refused(w->hall[0].http, "POST", "/kiosk", "{}", 405, "method_not_allowed", "");
    hbt_refused(w->hall[0].http, "GET", "/kiosk/extra", NULL, 404, "not_found", "");
    hbt_refused(w->hall[0].http, "GET", "/v1/hall", NULL, 401, "unauthenticated", "");
    /* No inline script in any page: the HTML loads one module, nothing else. */
    s_head(w, "/kiosk", out, sizeof out);
    assert_null(strstr(out, "<script>"));
    assert_null(strstr(out, " onclick="));
    /* The pages are made from one shell (pages.c): the kiosk's alone keeps
     * the line of its print sheet, and no placeholder is left in any. */
    hbt_assert_contains(
        out, "<link rel=\"stylesheet\" href=\"/pages/kiosk-print.css\" media=\"print\">");
    hbt_assert_contains(out, "<body class=\"page-kiosk\">");
    assert_null(strstr(out, "{{"));
    s_head(w, "/counter/1", out, sizeof out);
    assert_null(strstr(out, "print"));
    assert_null(strstr(out, "{{"));
    hbt_assert_contains(out, "<body class=\"page-counter\">");
}

/* ---------------------------------------------------------- wrong kinds */

HBT_TEST(test_wrong_kind)
{
    hbt_world_t *w = *state;
    refusals_t *p = w->test;
    /* The API first: a kiosk cannot call, a display cannot issue, an
     * evaluator cannot act at the counter, a counter terminal cannot run
     * the manager's day. */
    static const struct {
        int dev;
        const char *method, *path, *body;
    } refusals[] = {
        {HBT_KIOSK, "POST", "/v1/counters/1/call", "{}"},
        {HBT_DISPLAY, "POST", "/v1/tickets", "{\"service\":\"A\"}"},
        {HBT_RATE1, "POST", "/v1/counters/1/call", "{}"},
        {HBT_TERM1, "GET", "/v1/staff", NULL},
        {HBT_KIOSK, "POST", "/v1/complaints/K1/ack", "{\"by\":\"x\"}"},
        {HBT_DISPLAY, "POST", "/v1/feedback", "{\"score\":5}"},
        {HBT_RATE1, "POST", "/v1/counters/1/open", "{\"services\":[\"A\"]}"},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        json_t *o = NULL;
        int st = hbt_http_as(w->hall[0].http, p->token[refusals[i].dev], NULL, refusals[i].method,
                             refusals[i].path, refusals[i].body, &o);
        if (st != 403 || strcmp(hbt_str(o, "error"), "forbidden") != 0)
            fail_msg("%s %s as %s: %d, wanted 403 forbidden", refusals[i].method, refusals[i].path,
                     hbt_hall_devs[refusals[i].dev].name, st);
        json_decref(o);
    }
    hbt_wd_need();
    hbt_wd_start(&p->wd, w->root);
    hbt_wd_t *wd = &p->wd;
    /* Each page with a token of a kind it does not take. */
    static const struct {
        const char *path;
        int dev;
    } pages[] = {
        {"/kiosk", HBT_DISPLAY}, {"/counter/1", HBT_KIOSK}, {"/rate/1", HBT_KIOSK},
        {"/display", HBT_KIOSK}, {"/manager", HBT_DISPLAY}, {"/counter/2", HBT_TERM1},
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        hbt_page_open(wd, w->hall[0].http, pages[i].path, p->token[pages[i].dev]);
        char what[200];
        snprintf(what, sizeof what, "%s did not refuse %s's token", pages[i].path,
                 hbt_hall_devs[pages[i].dev].name);
        hbt_wd_wait_ok(wd,
                       "return !!document.body.dataset.refused &&"
                       " !document.getElementById('notice').hidden;",
                       8000, what);
        char text[512];
        hbt_wd_exec_str(wd, "return document.getElementById('notice').textContent;", text,
                        sizeof text);
        fprintf(stderr, "%s with %s's token: '%s'\n", pages[i].path,
                hbt_hall_devs[pages[i].dev].name, text);
    }
    hbt_page_shots(&p->wd, "counter-wrong-token");
    /* Pairing the right token again brings each page back. */
    hbt_page_open(wd, w->hall[0].http, "/kiosk", p->token[HBT_KIOSK]);
    hbt_wd_wait_ok(wd, "return !!window.hbPage && window.hbPage.ready;", 10000,
                   "the kiosk did not come back with its own token");
}

HBT_GROUP(s_setup, hbt_browser_world_teardown);
