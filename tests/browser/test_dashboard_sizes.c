/* The head-office dashboard at the screen sizes people use, and the page as
 * hqd writes it for them, against hqd and three real branchd halls on
 * loopback.
 *
 * Sizes: the network view, a hall's detail and the workspace at 1920x1080
 * (a desktop), 1280x800 (a tablet, landscape) and 820x1180 (a tablet,
 * portrait), in Chinese and in English. Read from the DOM at each: the body
 * scrolls nowhere sideways, every button of the tab row and of the header
 * lies inside the viewport and none covers another, the hall detail lies
 * inside the viewport with its close button, the workspace's tabs too.
 * Screenshots go to the build's tests/ folder (dash-*.png), for a person to
 * look at.
 *
 * The page as written (hqd/api/page.c): GET / with a session cookie carries
 * the person's GET /v1/me answer in its data element, without one (or with
 * an unknown one) it carries none; the answer is no-store and carries the
 * Content-Security-Policy; a page signed in loads neither GET /v1/me nor a
 * catalogue file before its first paint; a catalogue text holding
 * "</script><script>alert(1)</script>" is shown as that text, adds no
 * script element and runs nothing. (A person's name cannot hold it: hqd
 * users refuses such names; tests/unit/test_page.c writes one in.) Skipped,
 * saying why, without /usr/bin/chromium or /usr/bin/chromedriver. */
#include "browser_fx.h"
#include "harness.h"
#include "httpd.h"

#include "webdriver.h"
#include "world.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runner.h"

#define EVIL "</script><script>alert(1)</script>"

/* The dashboard hqd serves: a copy of the source tree's, with one text of
 * each catalogue (a paragraph shown only to a person with nothing to see,
 * so the screenshots stay as people see them) made hostile. */
static char s_dash[300];

static const hbt_world_spec_t s_world = {"bsizes", .halls = {"B01", "B02", "B03"},
                                         .hq_args = {"--dashboard", s_dash}, .engine = true,
                                         .start = true};

typedef struct {
    hbt_wd_t b; /* first: hbt_browser_world_teardown stops it */
    hbt_world_t *world;
    hbt_hq_t *hq;
} world_t;

static int s_setup(void **state)
{
    char tmp[256], cmd[1200];
    hbt_mkdtemp(tmp, sizeof tmp, "bsizes-page");
    snprintf(s_dash, sizeof s_dash, "%s/dashboard", tmp);
    snprintf(cmd, sizeof cmd,
             "cp -r '%s/hqd/dashboard' '%s' && sed -i "
             "'s|^  \"app.nothingToShow\": .*|  \"app.nothingToShow\": \"%s\",|' "
             "'%s/i18n/en.js' '%s/i18n/zh-CN.js'",
             HB_SOURCE_DIR, s_dash, EVIL, s_dash, s_dash);
    assert_int_equal(system(cmd), 0);
    hbt_world_t *wd = hbt_browser_world_setup(state, &s_world, sizeof(world_t));
    world_t *w = wd->test;
    w->world = wd;
    w->hq = &wd->hq;
    hbt_publish(w->hq->http,
                HBT_REGIONS_ZH "\"halls\":[{\"id\":\"B01\",\"city\":\"C001\",\"name\":\"中山路\"},"
                               "{\"id\":\"B02\",\"city\":\"C001\",\"name\":\"码头\"},"
                               "{\"id\":\"B03\",\"city\":\"C002\",\"name\":\"集市\"}]}",
                HBT_POLICY_ALWAYS_OPEN);
    char tok[64];
    hbt_hq_user(w->hq, "ada", tok, "--role", "admin", NULL);
    hbt_hq_password(w->hq, "ada", "ada-pass-1");
    hbt_hq_user(w->hq, "nob", tok, "--role", "viewer", NULL);
    hbt_hq_password(w->hq, "nob", "nob-pass-1");
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hbt_world_t *wd = w->world;
    void *world = wd;
    char dir[300];
    snprintf(dir, sizeof dir, "%s", s_dash);
    *strrchr(dir, '/') = '\0';
    int rc = hbt_browser_world_teardown(&world);
    hbt_rmdir(dir);
    return rc;
}

#define HBT_FIXTURE s_setup, s_teardown

/* ------------------------------------------------ the page as written */

typedef struct {
    int status;
    char head[4096]; /* lower-cased */
    char body[256 << 10];
} page_t;

/* GET or HEAD / with the Cookie header `cookie` (NULL: none), on a raw
 * connection so that the headers are read as sent. */
static void s_page(world_t *w, const char *method, const char *cookie, page_t *p)
{
    memset(p, 0, sizeof *p);
    char req[1024];
    snprintf(req, sizeof req, "%s / HTTP/1.1\r\nHost: %s\r\n%s%s%sConnection: close\r\n\r\n",
             method, strstr(w->hq->http, "//") + 2, cookie ? "Cookie: " : "", cookie ? cookie : "",
             cookie ? "\r\n" : "");
    static char buf[sizeof p->body + sizeof p->head];
    p->status = hbt_http_send_raw(w->hq->http, req, buf, sizeof buf);
    assert_true(strlen(buf) < sizeof buf - 1); /* the whole answer */
    snprintf(p->body, sizeof p->body, "%s", hbt_http_answer_head(buf, p->head, sizeof p->head));
}

/* The page's data element, parsed. */
static json_t *s_served(const page_t *p)
{
    const char *open = "<script type=\"application/json\" id=\"hb-served\">";
    const char *s = strstr(p->body, open);
    assert_non_null(s);
    s += strlen(open);
    const char *e = strstr(s, "</script>");
    assert_non_null(e);
    json_t *j = json_loadb(s, (size_t)(e - s), 0, NULL);
    assert_non_null(j);
    return j;
}

HBT_TEST(test_page_as_written)
{
    world_t *w = *state;
    page_t *p = malloc(sizeof *p);
    /* Nobody: texts, no person. */
    s_page(w, "GET", NULL, p);
    assert_int_equal(p->status, 200);
    hbt_assert_contains(p->head, "cache-control: no-store");
    hbt_assert_contains(p->head, "content-security-policy: default-src 'self'; script-src 'self';");
    hbt_assert_contains(p->head, "frame-ancestors 'none'");
    json_t *j = s_served(p);
    assert_null(json_object_get(j, "me"));
    assert_string_equal(json_string_value(json_object_get(j, "lang")), "zh-CN");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "texts"), "app.nothingToShow")), EVIL);
    json_decref(j);
    /* Only one element ends there: the hostile text is escaped. */
    assert_null(strstr(p->body, "<script>alert(1)"));
    /* Signed in: the person's own answer, as GET /v1/me gives it. */
    char cookie[64], csrf[64], header[200];
    assert_int_equal(hbt_hq_login(w->hq, "ada", "ada-pass-1", cookie, csrf), 200);
    snprintf(header, sizeof header, "other=1; hallbus_session=%s; hb_lang=en", cookie);
    s_page(w, "GET", header, p);
    assert_int_equal(p->status, 200);
    hbt_assert_contains(p->head, "cache-control: no-store");
    j = s_served(p);
    json_t *me = json_object_get(j, "me");
    assert_string_equal(json_string_value(json_object_get(me, "name")), "ada");
    assert_string_equal(json_string_value(json_object_get(me, "csrf_token")), csrf);
    assert_non_null(json_object_get(me, "server_started"));
    assert_string_equal(json_string_value(json_object_get(j, "lang")), "en");
    json_decref(j);
    /* HEAD: the same headers, no body. */
    s_page(w, "HEAD", header, p);
    assert_int_equal(p->status, 200);
    assert_string_equal(p->body, "");
    /* A cookie of no session, or another's signed out: nobody. */
    s_page(w, "GET", "hallbus_session=hqs_notasession", p);
    j = s_served(p);
    assert_null(json_object_get(j, "me"));
    json_decref(j);
    char nob[64], nob_csrf[64];
    assert_int_equal(hbt_hq_login(w->hq, "nob", "nob-pass-1", nob, nob_csrf), 200);
    snprintf(header, sizeof header, "hallbus_session=%s", nob);
    s_page(w, "GET", header, p);
    j = s_served(p);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "me"), "name")),
                        "nob");
    json_decref(j);
    char tok_hdr[128];
    snprintf(tok_hdr, sizeof tok_hdr, "hallbus_session=%s", nob);
    /* Signed out through the API: the same cookie now names nobody. */
    int fd = hbt_http_connect(w->hq->http);
    assert_true(fd >= 0);
    char req[600];
    int n = snprintf(req, sizeof req,
                     "POST /v1/logout HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nX-CSRF-Token: %s\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     strstr(w->hq->http, "//") + 2, tok_hdr, nob_csrf);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    char ans[256] = "";
    assert_true(recv(fd, ans, sizeof ans - 1, 0) > 12);
    close(fd);
    hbt_assert_contains(ans, " 200 ");
    s_page(w, "GET", header, p);
    j = s_served(p);
    assert_null(json_object_get(j, "me"));
    json_decref(j);
    free(p);
}

/* ------------------------------------------------------ in the browser */

/* Checks, in the page, that each shown element `css` matches lies inside
 * the viewport, is what shows at its middle (not covered by another part,
 * not clipped away by a box that scrolls), and (unless `overlap_ok`)
 * overlaps none of the others; what is wrong, or "". */
static const char s_inside_js[] =
    "const css = arguments[0], overlapOk = arguments[1];"
    "const vw = document.documentElement.clientWidth, vh = window.innerHeight;"
    "const els = [...document.querySelectorAll(css)].filter((e) => e.offsetParent !== null &&"
    "  getComputedStyle(e).visibility !== 'hidden');"
    "const bad = [];"
    "const rs = els.map((e) => [e, e.getBoundingClientRect()]);"
    "for (const [e, r] of rs) {"
    "  const name = e.id || e.className || e.tagName;"
    "  if (r.width < 1 || r.height < 1) bad.push(name + ' has no size');"
    "  if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5)"
    "    bad.push(name + ' outside the viewport ' + vw + 'x' + vh + ': ' +"
    "      [r.left, r.top, r.right, r.bottom].map(Math.round).join(' '));"
    "  const h = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);"
    "  if (!h || !(h === e || e.contains(h)))"
    "    bad.push(name + ' is covered or cut off: its middle shows ' +"
    "      (h ? h.id || h.className || h.tagName : 'nothing'));"
    "  if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'hidden')"
    "    bad.push(name + ' cuts its text: ' + e.scrollWidth + ' > ' + e.clientWidth);"
    "}"
    "if (!overlapOk) for (let i = 0; i < rs.length; i++) for (let k = i + 1; k < rs.length; k++) {"
    "  const a = rs[i][1], b = rs[k][1];"
    "  if (rs[i][0].contains(rs[k][0]) || rs[k][0].contains(rs[i][0])) continue;"
    "  const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);"
    "  const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);"
    "  if (x > 1 && y > 1) bad.push((rs[i][0].id || rs[i][0].textContent.trim()) + ' overlaps ' +"
    "    (rs[k][0].id || rs[k][0].textContent.trim()));"
    "}"
    "if (!els.length) bad.push('nothing shown matches ' + css);"
    "return bad.join('; ');";

static void s_inside(world_t *w, const char *css, bool overlap_ok, const char *where)
{
    json_t *v =
        hbt_wd_ok(&w->b, "POST", "/execute/sync",
                  json_pack("{s:s, s:[s, b]}", "script", s_inside_js, "args", css, overlap_ok));
    const char *bad = json_string_value(v);
    if (!bad || bad[0])
        fail_msg("%s, %s: %s", where, css, bad ? bad : "(no answer)");
    json_decref(v);
}

/* Nothing scrolls sideways: the document is no wider than the window. */
static void s_no_sideways(world_t *w, const char *where)
{
    json_t *v = hbt_wd_exec(&w->b, "const d = document.documentElement;"
                                   " return d.scrollWidth > d.clientWidth ||"
                                   " document.body.scrollWidth > d.clientWidth ?"
                                   " 'the page is ' + Math.max(d.scrollWidth,"
                                   " document.body.scrollWidth) + ' px wide in ' + d.clientWidth :"
                                   " '';");
    const char *bad = json_string_value(v);
    if (!bad || bad[0])
        fail_msg("%s: %s", where, bad ? bad : "(no answer)");
    json_decref(v);
}

static void s_shot(world_t *w, const char *view, const char *lang, int width, int height)
{
    char name[96];
    snprintf(name, sizeof name, "dash-%s-%s-%dx%d", view, lang, width, height);
    hbt_wd_screenshot(&w->b, name);
}

/* The header's and the tab row's buttons and figures. */
#define TOP_PARTS                                                                                  \
    ".top h1, #summary .fig, #legend .chip, #conn-state, #lang-switch button, "                    \
    ".tabs [role=tab], #search input, #search button[type=submit], .tools button, #me-name, "      \
    "#signout"

static void s_at(world_t *w, const char *lang, int width, int height)
{
    char where[96];
    snprintf(where, sizeof where, "%s at %dx%d", lang, width, height);
    hbt_wd_viewport(&w->b, width, height);
    char url[200];
    snprintf(url, sizeof url, "%s/?lang=%s", w->hq->http, lang);
    hbt_wd_go(&w->b, url);
    hbt_wd_wait_ok(&w->b,
                   "return document.body.dataset.auth === 'in' &&"
                   " !!(window.hbDashboard && window.hbDashboard.ready) &&"
                   " document.querySelectorAll('.tile').length === 3 &&"
                   " !document.getElementById('tab-workspace').hidden;",
                   15000, "the network view with the three halls");
    /* The network view. */
    s_no_sideways(w, where);
    s_inside(w, TOP_PARTS, false, where);
    s_inside(w, ".tile", false, where);
    s_shot(w, "network", lang, width, height);
    /* A hall's detail. */
    hbt_wd_press(&w->b, ".tile[data-hall=\"B01\"]");
    hbt_wd_wait_ok(&w->b,
                   "const d = document.getElementById('hall-detail');"
                   " return !d.hidden && d.textContent.includes('B01') &&"
                   " d.querySelectorAll('section, h3').length > 0;",
                   10000, "the hall detail of B01");
    s_no_sideways(w, where);
    s_inside(w, "#hall-detail, #hall-detail-close", true, where);
    s_inside(w, TOP_PARTS, false, where);
    s_shot(w, "detail", lang, width, height);
    hbt_wd_click_css(&w->b, "#hall-detail-close");
    hbt_wd_wait_ok(&w->b, "return document.getElementById('hall-detail').hidden;", 5000,
                   "the detail closed");
    /* The workspace. */
    hbt_wd_press(&w->b, "#tab-workspace");
    hbt_wd_wait_ok(&w->b,
                   "return !document.getElementById('view-workspace').hidden &&"
                   " !!document.querySelector('.ws-nav [role=tab]');",
                   10000, "the workspace");
    s_no_sideways(w, where);
    s_inside(w, ".tabs [role=tab], #signout, .ws-nav [role=tab]", false, where);
    s_shot(w, "workspace", lang, width, height);
    hbt_wd_console_clean(&w->b, true, NULL);
}

static const int s_sizes[][2] = {{1920, 1080}, {1280, 800}, {820, 1180}};

HBT_TEST(test_sizes_and_the_written_page_in_the_browser)
{
    world_t *w = *state;
    hbt_wd_need();
    hbt_wd_start(&w->b, w->world->root);
    /* Signed in once; every load after carries the session's cookie, so
     * the page comes with the person written in. */
    hbt_wd_sign_in_at(&w->b, w->hq->http, "zh-CN", "ada", "ada-pass-1");
    hbt_wd_go(&w->b, w->hq->http);
    hbt_wd_wait_ok(&w->b, "return !!(window.hbDashboard && window.hbDashboard.ready);", 15000,
                   "the first paint");
    /* What the first paint did not ask for, and the hostile text shown
     * as text: one data element, the two module scripts, nothing run. */
    hbt_wd_wait_ok(&w->b,
                   "const asked = performance.getEntriesByType('resource').map((r) => r.name);"
                   " return !asked.some((n) => n.endsWith('/v1/me') || n.includes('/i18n/'));",
                   1000, "no GET /v1/me and no catalogue file on a page signed in");
    hbt_wd_wait_ok(&w->b,
                   "const p = document.getElementById('nothing-to-show');"
                   " const inline = [...document.querySelectorAll('script:not([src])')];"
                   " return p.textContent === '" EVIL "' && inline.length === 1 &&"
                   " inline[0].id === 'hb-served' && inline[0].type === 'application/json';",
                   1000, "the hostile text shown as text, no script added");
    int st = 0;
    json_t *alert = hbt_wd(&w->b, "GET", "/alert/text", NULL, &st);
    json_decref(alert);
    assert_true(st != 200); /* no alert open */
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < sizeof s_sizes / sizeof s_sizes[0]; i++)
            s_at(w, l ? "en" : "zh-CN", s_sizes[i][0], s_sizes[i][1]);
    /* Signed out: the page that follows carries nobody. */
    hbt_wd_viewport(&w->b, 1280, 800);
    hbt_wd_press(&w->b, "#signout");
    hbt_wd_wait_ok(&w->b, "return document.body.dataset.auth === 'out';", 10000, "signing out");
    hbt_wd_wait_ok(&w->b,
                   "const e = document.getElementById('hb-served');"
                   " return !!e && !('me' in JSON.parse(e.textContent));",
                   5000, "a page without the person after signing out");
    /* A request the old page had under way as the session ended is
     * answered 401 (the rollout's, say): that is signing out, not a fault. */
    hbt_wd_console_clean(&w->b, true, "401 (Unauthorized)");
    hbt_wd_stop(&w->b);
}
