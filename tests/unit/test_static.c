/* Tests for the static files a page is served from (static.c) and the
 * extra header an answer may carry (hb_http_add_header): a real server in
 * its own thread (tests/support/httpd.c) serves a folder's files with a
 * Content-Security-Policy, read back over a raw socket so the headers are
 * seen. Every refusal of the two calls runs here. What hqd's dashboard and
 * branchd's pages serve from it is their browser tests'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "httpd.h"
#include "runner.h"

#include "hallbus/error.h"
#include "hallbus/http.h"
#include "hallbus/static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CSP "default-src 'none'; script-src 'self'"

/* The set the handlers serve (the server's thread reads it while the test
 * runs; it is made before and freed after). */
static hb_static_t *s_set;
static hb_static_t *s_empty; /* opened from a folder that is not there */
static hb_static_t *s_cat;   /* a folder with only i18n/en.js */
/* What hb_http_add_header answered inside a handler: before the answer
 * (refusals, then the header that goes), and after it. */
#define NOT_YET 12345 /* the handler has not got there yet */
static volatile int s_rc_empty = NOT_YET, s_rc_colon = NOT_YET, s_rc_crlf = NOT_YET,
                    s_rc_value_crlf = NOT_YET, s_rc_ok = NOT_YET, s_rc_after = NOT_YET;

static void h_file(hb_http_req_t *req, void *arg)
{
    (void)arg;
    hb_static_serve(s_set, req, hb_http_param(req, "file"));
}

static void h_empty(hb_http_req_t *req, void *arg)
{
    (void)arg;
    hb_static_serve(s_empty, req, hb_http_param(req, "file"));
}

static void h_i18n(hb_http_req_t *req, void *arg)
{
    (void)arg;
    hb_static_serve_i18n(s_cat, req, hb_http_param(req, "file"));
}

static void h_header(hb_http_req_t *req, void *arg)
{
    (void)arg;
    s_rc_empty = hb_http_add_header(req, "", "x");
    s_rc_colon = hb_http_add_header(req, "x-bad:", "x");
    s_rc_crlf = hb_http_add_header(req, "x-bad\r\nset-cookie", "x");
    s_rc_value_crlf = hb_http_add_header(req, "x-test", "yes\r\nset-cookie: a=b");
    s_rc_ok = hb_http_add_header(req, "x-test", "yes");
    hb_http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
    s_rc_after = hb_http_add_header(req, "x-late", "no");
}

static const hb_http_route_t s_table[] = {
    {"GET", "/f/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, h_file},
    {"GET", "/header", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, h_header},
    {"GET", "/e/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, h_empty},
    {"GET", "/i18n/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, h_i18n},
};

static void s_write(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    hbt_write_file(path, text);
}

static char s_dir[256], s_cat_dir[256];

static int s_setup(void **state)
{
    hbt_mkdtemp(s_dir, sizeof s_dir, "static");
    s_write(s_dir, "page.html", "<!doctype html><p>page</p>");
    s_write(s_dir, "app.js", "export const x = 1;");
    s_write(s_dir, "notes.md", "not served");
    char err[256];
    assert_int_equal(hb_static_open(s_dir, "test pages", &s_set, err, sizeof err), 0);
    assert_int_equal(hb_static_count(s_set), 2);
    assert_int_equal(hb_static_set_csp(s_set, CSP), 0);
    assert_int_equal(
        hb_static_open("/nonexistent-hallbus-pages", "hall pages", &s_empty, err, sizeof err),
        HB_ENOTFOUND);
    hbt_mkdtemp(s_cat_dir, sizeof s_cat_dir, "static-i18n");
    char sub[300];
    snprintf(sub, sizeof sub, "%s/i18n", s_cat_dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    s_write(sub, "en.js", "export default {};");
    assert_int_equal(hb_static_open(s_cat_dir, "catalogues", &s_cat, err, sizeof err), 0);
    assert_int_equal(hb_static_count(s_cat), 1);
    return hbt_httpd_setup_full(state, "127.0.0.1:0", NULL, s_table,
                                sizeof s_table / sizeof s_table[0]);
}

static int s_teardown(void **state)
{
    int rc = hbt_httpd_teardown(state);
    hb_static_destroy(&s_set);
    hb_static_destroy(&s_set); /* idempotent */
    hb_static_destroy(&s_empty);
    hb_static_destroy(&s_cat);
    assert_null(s_set);
    hbt_rmdir(s_dir);
    hbt_rmdir(s_cat_dir);
    return rc;
}

#define HBT_FIXTURE s_setup, s_teardown

static void s_get(hbt_httpd_t *fx, const char *path, hbt_sock_resp_t *r)
{
    char req[300];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    assert_true(hbt_sock_once(fx->port, req, r) >= 0);
    for (char *c = r->head; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
}

HBT_TEST(test_served_with_csp)
{
    hbt_httpd_t *fx = *state;
    hbt_sock_resp_t r;
    s_get(fx, "/f/page.html", &r);
    assert_int_equal(r.status, 200);
    hbt_assert_contains(r.head, "content-type: text/html; charset=utf-8");
    hbt_assert_contains(r.head, "content-security-policy: " CSP);
    hbt_assert_contains(r.head, "cache-control: no-store");
    hbt_assert_contains(r.body, "<p>page</p>");
    s_get(fx, "/f/app.js", &r);
    assert_int_equal(r.status, 200);
    hbt_assert_contains(r.head, "content-type: text/javascript");
    hbt_assert_contains(r.head, "content-security-policy: " CSP);
    /* Not loaded, not served; a 404 carries no policy of the pages. */
    s_get(fx, "/f/notes.md", &r);
    assert_int_equal(r.status, 404);
    hbt_assert_contains(r.body, "not_found");
    assert_null(strstr(r.head, "content-security-policy"));
    /* Nothing loaded: every path says why. */
    s_get(fx, "/e/kiosk.html", &r);
    assert_int_equal(r.status, 404);
    hbt_assert_contains(r.body, "the hall pages is not installed");
}

HBT_TEST(test_csp_refusals)
{
    (void)state;
    char big[HB_STATIC_CSP_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(hb_static_set_csp(NULL, CSP), HB_EINVAL);
    assert_int_equal(hb_static_set_csp(s_set, NULL), HB_EINVAL);
    assert_int_equal(hb_static_set_csp(s_set, big), HB_EINVAL);
    assert_int_equal(hb_static_set_csp(s_set, "default-src 'none'\r\nset-cookie: a=b"), HB_EINVAL);
    /* A policy of exactly the bound is taken, and "" sends none. */
    big[HB_STATIC_CSP_MAX] = '\0';
    assert_int_equal(hb_static_set_csp(s_set, big), 0);
    assert_int_equal(hb_static_set_csp(s_set, ""), 0);
    hbt_sock_resp_t r;
    s_get(*state, "/f/app.js", &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.head, "content-security-policy"));
    assert_int_equal(hb_static_set_csp(s_set, CSP), 0);
}

HBT_TEST(test_add_header)
{
    hbt_httpd_t *fx = *state;
    hbt_sock_resp_t r;
    s_get(fx, "/header", &r);
    assert_int_equal(r.status, 200);
    /* The answer can reach the client before the handler's last line ran
     * on the server's thread. */
    for (int i = 0; i < 200 && s_rc_after == NOT_YET; i++)
        hbt_sleep_ms(5);
    assert_int_equal(s_rc_empty, HB_EINVAL);
    assert_int_equal(s_rc_colon, HB_EINVAL);
    assert_int_equal(s_rc_crlf, HB_EINVAL);
    assert_int_equal(s_rc_value_crlf, HB_EINVAL);
    assert_int_equal(s_rc_ok, 0);
    assert_int_equal(s_rc_after, HB_EINVAL); /* the answer was given */
    hbt_assert_contains(r.head, "x-test: yes");
    assert_null(strstr(r.head, "set-cookie"));
    assert_null(strstr(r.head, "x-late"));
    assert_int_equal(hb_http_add_header(NULL, "x", "y"), HB_EINVAL);
}

/* A message catalogue by its route's parameter: i18n/NAME served; a name
 * that is no file, or longer than any file's may be, is 404 as any path
 * that is no file. */
HBT_TEST(test_i18n)
{
    hbt_httpd_t *fx = *state;
    hbt_sock_resp_t r;
    s_get(fx, "/i18n/en.js", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "content-type: text/javascript"));
    assert_string_equal(r.body, "export default {};");
    s_get(fx, "/i18n/fr.js", &r);
    assert_int_equal(r.status, 404);
    hbt_assert_contains(r.body, "no route for GET /i18n/fr.js");
    char path[200] = "/i18n/en.js";
    size_t n = strlen(path);
    memset(path + n, 'x', HB_STATIC_NAME_MAX); /* en.jsxxx…: too long for a name */
    path[n + HB_STATIC_NAME_MAX] = '\0';
    s_get(fx, path, &r);
    assert_int_equal(r.status, 404);
}

HBT_TEST_IN(test_open_refusals, NULL, NULL)
{
    (void)state;
    hb_static_t *s = NULL;
    char err[256];
    assert_int_equal(hb_static_open("", "hall pages", &s, err, sizeof err), HB_EINVAL);
    hb_static_destroy(&s);
    assert_int_equal(
        hb_static_open("/nonexistent-hallbus-pages", "hall pages", &s, err, sizeof err),
        HB_ENOTFOUND);
    hbt_assert_contains(err, "hall pages");
    assert_int_equal(hb_static_count(s), 0);
    assert_null(hb_static_file(s, "kiosk.html"));
    hb_static_destroy(&s);
}

/* A file made from a template (hb_static_render, branchd's one page
 * shell): placeholders replaced, a line whose key has no value left out,
 * and every refusal leaves the set as it was. */
HBT_TEST_IN(test_render, NULL, NULL)
{
    (void)state;
    char dir[256], err[256];
    hbt_mkdtemp(dir, sizeof dir, "render");
    s_write(dir, "shell.html",
            "<head>\n<link href=\"{{print}}\" media=\"print\">\n<script src=\"{{page}}.js\">"
            "</script>\n</head>\n<body class=\"page-{{page}}\"></body>");
    hb_static_t *s = NULL;
    assert_int_equal(hb_static_open(dir, "hall pages", &s, err, sizeof err), 0);
    hb_static_var_t kiosk[] = {{"page", "kiosk"}, {"print", "kiosk-print.css"}};
    hb_static_var_t rate[] = {{"page", "rate"}, {"print", NULL}};
    assert_int_equal(hb_static_render(s, "shell.html", "kiosk.html", kiosk, 2, err, sizeof err), 0);
    assert_int_equal(hb_static_render(s, "shell.html", "rate.html", rate, 2, err, sizeof err), 0);
    assert_int_equal(hb_static_count(s), 3);
    const hb_static_file_t *f = hb_static_file(s, "kiosk.html");
    assert_non_null(f);
    assert_string_equal(f->data, "<head>\n<link href=\"kiosk-print.css\" media=\"print\">\n"
                                 "<script src=\"kiosk.js\"></script>\n</head>\n"
                                 "<body class=\"page-kiosk\"></body>");
    assert_int_equal(f->len, strlen(f->data));
    hbt_assert_contains(f->content_type, "text/html");
    f = hb_static_file(s, "rate.html");
    assert_non_null(f);
    assert_string_equal(f->data, "<head>\n<script src=\"rate.js\"></script>\n</head>\n"
                                 "<body class=\"page-rate\"></body>");
    /* Made again: the file is replaced, not added twice. */
    assert_int_equal(hb_static_render(s, "shell.html", "rate.html", kiosk, 2, err, sizeof err), 0);
    assert_int_equal(hb_static_count(s), 3);
    hbt_assert_contains(hb_static_file(s, "rate.html")->data, "page-kiosk");
    /* Refusals: a key no variable names, no template, a name that cannot be
     * served; the set is unchanged. */
    assert_int_equal(hb_static_render(s, "shell.html", "x.html", kiosk, 1, err, sizeof err),
                     HB_EINVAL);
    hbt_assert_contains(err, "{{print}} is no placeholder");
    assert_int_equal(hb_static_render(s, "none.html", "x.html", kiosk, 2, err, sizeof err),
                     HB_ENOTFOUND);
    hbt_assert_contains(err, "no template none.html");
    assert_int_equal(hb_static_render(s, "shell.html", "../x.html", kiosk, 2, err, sizeof err),
                     HB_EINVAL);
    assert_int_equal(hb_static_render(s, "shell.html", "x.exe", kiosk, 2, err, sizeof err),
                     HB_EINVAL);
    assert_int_equal(hb_static_count(s), 3);
    assert_null(hb_static_file(s, "x.html"));
    hb_static_destroy(&s);
    hbt_rmdir(dir);
}
