/* The dashboard's files as hqd serves them, without a browser: content
 * types, HEAD, what is refused (traversal, other methods, links, FIFOs,
 * oversized files, hidden and odd names, a file outside the folder), that
 * paths which are not files still answer the API's own 404, and that hqd
 * runs without a dashboard folder and says so at /. Spoken in raw HTTP, to
 * read the headers. Not the page itself: test_dashboard.c drives that in
 * Chromium. */
#include "harness.h"
#include "httpd.h"
#include "world.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

/* One hqd, shared by the tests (a group fixture: hqd starts once). */
static const hbt_world_spec_t s_world = {.tag = "dashstatic"};

static int s_setup(void **state)
{
    *state = (void *)&s_world;
    return hbt_world_setup(state);
}

/* ------------------------------------------------- raw HTTP with headers */

typedef struct raw_resp {
    int status;
    char head[4096]; /* status line and headers, lower-cased */
    char *body;
    size_t body_len;
} raw_resp_t;

/* One request on a fresh connection; the harness's client keeps no
 * headers, and the content type is what is checked here. */
static void s_raw(const char *http_base, const char *method, const char *path, raw_resp_t *r)
{
    memset(r, 0, sizeof *r);
    char req[1024];
    /* HQ answers its own Host names only, and its API whoever shows a
     * token. */
    const char *token = hbt_http_token(http_base);
    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n%s\r\n",
             method, path, strstr(http_base, "//") + 2, token ? token : "-",
             strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    assert_non_null(buf);
    r->status = hbt_http_send_raw(http_base, req, buf, cap);
    assert_true(strlen(buf) < cap - 1); /* the whole answer */
    const char *body = hbt_http_answer_head(buf, r->head, sizeof r->head);
    r->body_len = strlen(body);
    r->body = strdup(body);
    assert_non_null(r->body);
    free(buf);
}

static void s_raw_free(raw_resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

static void s_expect_file(const char *base, const char *path, const char *type, const char *needle)
{
    raw_resp_t r;
    s_raw(base, "GET", path, &r);
    if (r.status != 200 || !strstr(r.head, type) || !strstr(r.body, needle))
        fail_msg("GET %s: status %d, headers %s", path, r.status, r.head);
    assert_non_null(strstr(r.head, "cache-control: no-store"));
    s_raw_free(&r);
}

static void s_expect_error(const char *base, const char *method, const char *path, int status,
                           const char *code)
{
    raw_resp_t r;
    s_raw(base, method, path, &r);
    if (r.status != status || !strstr(r.head, "application/json") || !strstr(r.body, code))
        fail_msg("%s %s: status %d (wanted %d), body %s", method, path, r.status, status, r.body);
    s_raw_free(&r);
}

/* ------------------------------------------------ the files, no browser */

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_static_files)
{
    hbt_world_t *w = *state;
    const char *b = w->hq.http;
    s_expect_file(b, "/", "content-type: text/html; charset=utf-8", "id=\"alert-feed\"");
    s_expect_file(b, "/index.html", "content-type: text/html", "id=\"hall-detail\"");
    s_expect_file(b, "/app.js", "content-type: text/javascript; charset=utf-8", "hbDashboard");
    s_expect_file(b, "/style.css", "content-type: text/css; charset=utf-8", ".tile");
    s_expect_file(b, "/favicon.svg", "content-type: image/svg+xml", "<svg");
    raw_resp_t r;
    s_raw(b, "HEAD", "/app.js", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    s_raw_free(&r);
    s_expect_error(b, "GET", "/missing.js", 404, "\"not_found\"");
    s_expect_error(b, "GET", "/dashboard/index.html", 404, "\"not_found\"");
    s_expect_error(b, "GET", "/%2e%2e/CMakeLists.txt", 400, "\"bad_path\"");
    s_expect_error(b, "GET", "/..%2f..%2fCMakeLists.txt", 400, "\"bad_path\"");
    s_expect_error(b, "GET", "/%2fetc%2fpasswd", 404, "\"not_found\"");
    s_expect_error(b, "POST", "/app.js", 405, "\"method_not_allowed\"");
    /* Paths that are no file read as before the dashboard was served. */
    s_expect_error(b, "GET", "/v1/nothing", 404, "no route for GET /v1/nothing");
    s_expect_error(b, "POST", "/v1/nothing", 404, "no route for POST /v1/nothing");
    s_expect_error(b, "POST", "/v1/halls", 405, "\"method_not_allowed\"");
}

/* A folder of every kind of thing that must not be served. */
static void s_write_file(const char *dir, const char *name, const char *text, size_t size)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (text)
        assert_true(fputs(text, f) >= 0);
    for (size_t i = 0; i < size; i++)
        fputc('x', f);
    assert_int_equal(fclose(f), 0);
}

HBT_TEST(test_static_refusals)
{
    hbt_world_t *w = *state;
    char dir[400], path[600], target[600];
    snprintf(dir, sizeof dir, "%s/dash", w->root);
    assert_int_equal(mkdir(dir, 0755), 0);
    s_write_file(dir, "index.html", "<!doctype html><p>small</p>", 0);
    s_write_file(dir, "ok.js", "export const ok = 1;", 0);
    s_write_file(dir, "big.js", NULL, (4u << 20) + 1); /* over the per-file bound */
    s_write_file(dir, "notes.md", "# not a served type", 0);
    s_write_file(dir, ".hidden.js", "hidden", 0);
    s_write_file(dir, "we ird.js", "a space", 0);
    snprintf(target, sizeof target, "%s/secret.txt", w->root);
    s_write_file(w->root, "secret.txt", "outside the folder", 0);
    snprintf(path, sizeof path, "%s/link.txt", dir);
    assert_int_equal(symlink(target, path), 0);
    snprintf(path, sizeof path, "%s/pipe.js", dir);
    assert_int_equal(mkfifo(path, 0644), 0);
    snprintf(path, sizeof path, "%s/sub.css", dir);
    assert_int_equal(mkdir(path, 0755), 0);

    hbt_hq_t hq2;
    char root2[300];
    snprintf(root2, sizeof root2, "%s/hq2", w->root);
    assert_int_equal(mkdir(root2, 0755), 0);
    hbt_hq_init(&hq2, root2);
    snprintf(hq2.extra[0], sizeof hq2.extra[0], "--dashboard");
    snprintf(hq2.extra[1], sizeof hq2.extra[1], "%s", dir);
    hq2.n_extra = 2;
    hbt_hq_start(&hq2); /* a FIFO in the folder must not stall the start */
    s_expect_file(hq2.http, "/", "text/html", "small");
    s_expect_file(hq2.http, "/ok.js", "text/javascript", "export const ok");
    const char *refused[] = {"/big.js",   "/notes.md", "/.hidden.js", "/we%20ird.js",
                             "/link.txt", "/pipe.js",  "/sub.css",    "/secret.txt"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        s_expect_error(hq2.http, "GET", refused[i], 404, "\"not_found\"");
    hbt_hq_stop(&hq2, SIGTERM);

    /* No folder: hqd runs, and / says why there is no dashboard. */
    snprintf(hq2.extra[1], sizeof hq2.extra[1], "%s/none", w->root);
    hbt_hq_start(&hq2);
    s_expect_error(hq2.http, "GET", "/", 404, "not installed");
    s_expect_error(hq2.http, "GET", "/app.js", 404, "\"not_found\"");
    json_t *st = hbt_get(hq2.http, "/v1/status");
    assert_non_null(st);
    json_decref(st);
    hbt_hq_stop(&hq2, SIGTERM);
}

HBT_GROUP(s_setup, hbt_world_teardown);
