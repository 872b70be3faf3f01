/* The dashboard in a real browser: hqd and three halls run on loopback, and
 * headless Chromium, driven through ChromeDriver's WebDriver protocol (JSON
 * over HTTP, spoken here with the project's blocking client), loads the
 * page. It shows every hall; a new ticket at a hall changes that hall's tile
 * within a second (the time is measured and printed); an alert appears in
 * the feed when this hqd serves alerts; a click on a tile opens the hall's
 * detail with its services and counters, which then follows the hall live;
 * and after hqd restarts the page reloads by itself and is right again.
 * Nobody sees anything before signing in: the browser signs in through the
 * page's own form, as a person does (a wrong password first), and at the
 * end signs out with the page's button and in again as a city operator and
 * as a marketer, whose pages show only what their roles may read. The
 * sign-in page is saved as PNG screenshots next to the test (the build's
 * tests/ folder) for people to look at.
 *
 * The page's words in Chinese and English, every view checked against its
 * catalogue and counts worded for one and for several, are the test's
 * second part, test_dashboard/languages.c (the world they share is in
 * test_dashboard/dashboard.h).
 *
 * The files themselves, without a browser, are test_dashboard_static.c's.
 * The browser test is skipped, saying why, only when /usr/bin/chromium or
 * /usr/bin/chromedriver is not installed (deploy/run-tests.sh installs
 * both). */
#include "browser_fx.h"
#include "harness.h"

#include "hallbus/httpc.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"
#include "test_dashboard/dashboard.h"
#include "webdriver.h"

#define CHROMIUM HBT_CHROMIUM
#define CHROMEDRIVER HBT_CHROMEDRIVER
#define TILE_LATENCY_MAX_MS 1000
#define LATENCY_ROUNDS 5

const char *const dash_ids[HALLS] = {"B01", "B02", "B03"};

/* The organisation: the three halls in two cities of one province. */
const char dash_org[] =
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"Head office\",\"level\":\"national\"},"
    "{\"id\":\"P01\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"
    "{\"id\":\"C001\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P01\"},"
    "{\"id\":\"C002\",\"name\":\"Hill Town\",\"level\":\"city\",\"parent\":\"P01\"}],"
    "\"halls\":[{\"id\":\"B01\",\"city\":\"C001\",\"name\":\"Main "
    "St\",\"tags\":[\"flagship\"]},"
    "{\"id\":\"B02\",\"city\":\"C001\",\"name\":\"Quay\"},"
    "{\"id\":\"B03\",\"city\":\"C002\",\"name\":\"Market\"}]}";

/* ---------------------------------------------------------------- setup */

static int s_setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    hbt_hq_halls_start("dashboard", w->root, sizeof w->root, &w->hq, w->halls, dash_ids, HALLS);
    /* Regions when this hqd has the organisation route; the board shows
     * unplaced halls too, so the rest of the test does not depend on it. */
    int st = hbt_http(w->hq.http, "PUT", "/v1/org", dash_org, NULL);
    w->placed = st == 200 || st == 201;
    if (!w->placed)
        fail_msg("PUT /v1/org answered %d: the halls cannot be placed", st);
    *state = w;
    return 0;
}

static void s_driver_stop(world_t *w) { hbt_wd_stop(&w->b); }

static int s_teardown(void **state)
{
    world_t *w = *state;
    hbt_hq_halls_stop(&w->b, w->root, &w->hq, w->halls, HALLS);
    free(w);
    return 0;
}

/* ------------------------------------------------------------- WebDriver */

/* The WebDriver steps are tests/support/webdriver.c's; these keep the
 * world's browser implied. */
static json_t *s_wd_ok(world_t *w, const char *method, const char *path, json_t *body)
{
    return hbt_wd_ok(&w->b, method, path, body);
}
static json_t *s_exec(world_t *w, const char *script) { return hbt_wd_exec(&w->b, script); }
static bool s_exec_true(world_t *w, const char *script) { return hbt_wd_exec_true(&w->b, script); }
static bool s_wait_true(world_t *w, const char *script, int timeout_ms)
{
    return hbt_wd_wait_true(&w->b, script, timeout_ms);
}
/* The same, failing the test with `what` and what the page shows. */
static void s_wait_ok(world_t *w, const char *script, int timeout_ms, const char *what)
{
    hbt_wd_wait_ok(&w->b, script, timeout_ms, what);
}
static bool s_find(world_t *w, const char *css, char *out, size_t outlen)
{
    return hbt_wd_find(&w->b, css, out, outlen);
}
static void s_find_ok(world_t *w, const char *css, char *out, size_t outlen)
{
    hbt_wd_find_ok(&w->b, css, out, outlen);
}
static bool s_attr(world_t *w, const char *elem, const char *name, char *out, size_t outlen)
{
    return hbt_wd_attr(&w->b, elem, name, out, outlen);
}
static void s_text(world_t *w, const char *elem, char *out, size_t outlen)
{
    hbt_wd_text(&w->b, elem, out, outlen);
}
static void s_click(world_t *w, const char *elem) { hbt_wd_click(&w->b, elem); }
/* The text of the element matching `css`, found as a WebDriver element and
 * read as WebDriver reads it (what is rendered). */
static void s_css_text(world_t *w, const char *css, char *out, size_t outlen)
{
    char el[128];
    s_find_ok(w, css, el, sizeof el);
    s_text(w, el, out, outlen);
}
static void s_screenshot(world_t *w, const char *name) { hbt_wd_screenshot(&w->b, name); }
static void s_console_clean(world_t *w, bool auth_401, const char *also)
{
    hbt_wd_console_clean(&w->b, auth_401, also);
}
/* Signs in through the form as `name` and waits until `script` holds, as
 * s_wait_ok. */
static void s_sign_in(world_t *w, const char *name, const char *password, const char *script,
                      int timeout_ms, const char *what)
{
    hbt_wd_sign_in(&w->b, name, password);
    s_wait_ok(w, script, timeout_ms, what);
}

/* Opens the dashboard of the test's HQ at `query` ("" or "?lang=en") and
 * waits until `script` holds, as s_wait_ok. */
void dash_open(world_t *w, const char *query, const char *script, int timeout_ms, const char *what)
{
    char url[160];
    snprintf(url, sizeof url, "%s/%s", w->hq.http, query);
    hbt_wd_go(&w->b, url);
    s_wait_ok(w, script, timeout_ms, what);
}

/* What a person with no session sees, a wrong password, and then the
 * admin's sign-in through the form. */
static void s_sign_in_page(world_t *w)
{
    char text[512];
    dash_open(w, "",
              "return document.body.dataset.auth === 'out' &&"
              " !document.getElementById('signin').hidden;",
              10000, "without a session the page did not show its sign-in form");
    /* Nothing of the network is on the page, nor shown. */
    assert_true(s_exec_true(w, "return document.querySelectorAll('#network .tile').length === 0 &&"
                               " getComputedStyle(document.querySelector('header.top')).display"
                               " === 'none' && !window.hbDashboard.ready &&"
                               " document.getElementById('alert-feed').children.length === 0;"));
    s_css_text(w, "#signin-title", text, sizeof text);
    assert_non_null(strstr(text, "总部"));
    s_css_text(w, "label[for=\"signin-name\"]", text, sizeof text);
    assert_string_equal(text, "用户名");
    dash_lang_clean(w, "the sign-in form");
    s_screenshot(w, "dashboard-signin");

    /* A wrong password: the form says so, in both languages, and stays. */
    hbt_hq_password(&w->hq, "admin", "browser-test-pass");
    s_sign_in(w, "admin", "not-the-password",
              "return document.getElementById('signin-error').textContent"
              ".includes('用户名或密码错误');",
              5000, "a wrong password did not show the form's error");
    s_css_text(w, "#signin-error", text, sizeof text);
    assert_non_null(strstr(text, "用户名或密码错误"));
    dash_lang_clean(w, "the sign-in form after a wrong password");
    assert_true(s_exec_true(w, "return document.body.dataset.auth === 'out' &&"
                               " document.getElementById('signin-password').value === '';"));
    s_screenshot(w, "dashboard-signin-wrong");

    s_sign_in(w, "admin", "browser-test-pass",
              "return document.body.dataset.auth === 'in' &&"
              " document.getElementById('signin').hidden;",
              10000, "signing in as admin through the form did not show the dashboard");
    /* Who is signed in, with their roles; the cookie is the browser's
     * alone (HttpOnly: no script reads it). */
    s_css_text(w, "#me-name", text, sizeof text);
    assert_string_equal(text, "admin");
    s_css_text(w, "#me-roles li[data-role=\"admin\"]", text, sizeof text);
    assert_non_null(strstr(text, "管理员"));
    assert_non_null(strstr(text, "全网"));
    assert_true(s_exec_true(w, "return !document.cookie.includes('hallbus_session') &&"
                               " !document.getElementById('signout').hidden &&"
                               " !document.getElementById('tab-calendar').hidden;"));
    /* A write with the cookie but without the session's CSRF token, as a
     * script that is not the page's would send it, is refused. */
    json_t *v = s_wd_ok(w, "POST", "/execute/async",
                        json_pack("{s:s, s:[]}", "script",
                                  "const done = arguments[arguments.length - 1];"
                                  "fetch('/v1/policies/publish', {method: 'POST', body: '{}',"
                                  " headers: {'Content-Type': 'text/plain'}})"
                                  ".then((r) => done(r.status), () => done(-1));",
                                  "args"));
    assert_int_equal(json_integer_value(v), 403);
    json_decref(v);
    s_console_clean(w, true,
                    "/v1/policies/publish - Failed to load resource: the server "
                    "responded with a status of 403");
}

/* The page's sign-out button (a POST that carries the CSRF token through
 * the page's fetch wrapper: without it HQ refuses with 403), then a city
 * operator and a marketer through the form: each page shows what their
 * roles read and hides the rest. */
static void s_other_people(world_t *w)
{
    char el[128], text[512];
    s_find_ok(w, "#signout", el, sizeof el);
    s_click(w, el);
    if (!s_wait_true(w,
                     "return document.body.dataset.auth === 'out' &&"
                     " document.getElementById('signin-note').textContent"
                     ".includes('已退出');",
                     10000)) {
        json_t *why = s_exec(w, "return [document.body.dataset.auth,"
                                " document.getElementById('signin-note').textContent,"
                                " document.getElementById('me-error').textContent].join(' | ');");
        fail_msg("the sign-out button did not bring back the sign-in form within 10 s: %s",
                 json_string_value(why));
    }
    s_console_clean(w, true, NULL); /* the sign-in page asked who is in */
    /* The sign-in form in English, by the address. */
    dash_open(w, "?lang=en",
              "return document.body.dataset.auth === 'out' &&"
              " document.querySelector('label[for=\"signin-name\"]').textContent === 'User name';",
              10000, "the sign-in form did not show in English");
    dash_lang_clean(w, "the sign-in form in English");
    s_screenshot(w, "dashboard-signin-en");
    dash_open(w, "?lang=zh-CN",
              "return document.body.dataset.auth === 'out' &&"
              " document.documentElement.lang === 'zh-CN';",
              10000, "the sign-in form did not show in Chinese again");
    s_console_clean(w, true, NULL);

    char tok[64];
    hbt_hq_user(&w->hq, "olga", tok, "--role", "operator", "--scope", "C001", NULL);
    hbt_hq_password(&w->hq, "olga", "olga-pass-1");
    s_sign_in(w, "olga", "olga-pass-1",
              "return document.body.dataset.auth === 'in' && window.hbDashboard.ready &&"
              " document.querySelectorAll('#network .tile[data-hall]').length === 2;",
              15000, "the city operator's page did not show C001's 2 halls");
    assert_true(s_exec_true(w, "return !!document.querySelector('.tile[data-hall=\"B01\"]') &&"
                               " !!document.querySelector('.tile[data-hall=\"B02\"]') &&"
                               " !document.querySelector('.tile[data-hall=\"B03\"]');"));
    /* No network total for a city: the header adds up hqd's aggregates of
     * the regions the operator sees (C001's 2 halls), not the network's. */
    s_wait_ok(w,
              "return document.getElementById('sum-halls').textContent === '2' &&"
              " document.getElementById('sum-online').textContent === '2';",
              5000, "the city operator's header does not count C001's 2 halls");
    /* An operator reads neither campaigns nor policies: no such tab. */
    assert_true(s_exec_true(w, "return document.getElementById('tab-calendar').hidden &&"
                               " !document.getElementById('tab-network').hidden &&"
                               " !document.getElementById('alerts-side').hidden;"));
    s_css_text(w, "#me-roles li[data-role=\"operator\"]", text, sizeof text);
    assert_non_null(strstr(text, "区域 C001"));
    s_wait_ok(w, "return document.getElementById('conn-state').dataset.state === 'live';", 5000,
              "the city operator's stream did not go live");
    s_screenshot(w, "dashboard-operator");
    s_console_clean(w, true, NULL); /* the sign-in page asked who is in */

    s_find_ok(w, "#signout", el, sizeof el);
    s_click(w, el);
    char mkt_tok[64];
    hbt_hq_user(&w->hq, "mona", mkt_tok, "--role", "marketer", "--scope", "C001", NULL);
    hbt_hq_password(&w->hq, "mona", "mona-pass-1");
    /* Nothing live for a marketer: the campaigns view is the page, with
     * the city's campaign; the network and the feed are not there. */
    s_sign_in(w, "mona", "mona-pass-1",
              "return document.body.dataset.auth === 'in' &&"
              " !document.getElementById('view-calendar').hidden &&"
              " !!document.querySelector('#calendar li[data-campaign=\"harbour-week\"]');",
              10000, "the marketer's page did not show the campaign calendar");
    assert_true(s_exec_true(w, "return document.getElementById('tab-network').hidden &&"
                               " document.getElementById('view-network').hidden &&"
                               " document.getElementById('alerts-side').hidden &&"
                               " document.getElementById('rollout-part').hidden &&"
                               " document.querySelectorAll('#network .tile').length === 0;"));
    s_screenshot(w, "dashboard-marketer");
    s_console_clean(w, true, NULL); /* the sign-in page asked who is in */
}

static void s_driver_start(world_t *w) { hbt_wd_start(&w->b, w->root); }

/* -------------------------------------------------------- the dashboard */

static int s_ticket(hbt_hall_t *h, const char *service)
{
    char body[64];
    snprintf(body, sizeof body, "{\"service\":\"%s\"}", service);
    return hbt_http(h->http, "POST", "/v1/tickets", body, NULL);
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* A ticket at B01 and the time until its tile shows the new waiting count,
 * read from the tile's data-waiting attribute as fast as WebDriver answers. */
static void s_tile_latency(world_t *w)
{
    char tile[128], val[32];
    int64_t took[LATENCY_ROUNDS];
    s_find_ok(w, ".tile[data-hall=\"B01\"]", tile, sizeof tile);
    assert_true(s_attr(w, tile, "data-waiting", val, sizeof val));
    long waiting = strtol(val, NULL, 10);
    for (int round = 0; round < LATENCY_ROUNDS; round++) {
        char want[32];
        snprintf(want, sizeof want, "%ld", waiting + 1);
        int64_t t0 = hbt_now_ms();
        assert_int_equal(s_ticket(&w->halls[0], "A"), 201);
        int64_t deadline = t0 + 5000, seen = -1;
        while (hbt_now_ms() < deadline) {
            if (!s_attr(w, tile, "data-waiting", val, sizeof val)) {
                /* The tile was drawn anew (its city's grid changed). */
                s_find_ok(w, ".tile[data-hall=\"B01\"]", tile, sizeof tile);
                continue;
            }
            if (strcmp(val, want) == 0) {
                seen = hbt_now_ms();
                break;
            }
            hbt_sleep_ms(5);
        }
        if (seen < 0)
            fail_msg("B01's tile did not show %s waiting within 5 s (it shows '%s')", want, val);
        took[round] = seen - t0;
        waiting++;
        hbt_sleep_ms(300); /* apart, so that each lands in its own board round */
    }
    int64_t sorted[LATENCY_ROUNDS];
    memcpy(sorted, took, sizeof took);
    qsort(sorted, LATENCY_ROUNDS, sizeof sorted[0], s_cmp_i64);
    fprintf(stderr,
            "tile latency (POST /v1/tickets at B01 to its tile in the page), %d rounds: "
            "min %lld ms, median %lld ms, max %lld ms [",
            LATENCY_ROUNDS, (long long)sorted[0], (long long)sorted[LATENCY_ROUNDS / 2],
            (long long)sorted[LATENCY_ROUNDS - 1]);
    for (int i = 0; i < LATENCY_ROUNDS; i++)
        fprintf(stderr, "%s%lld", i ? ", " : "", (long long)took[i]);
    fprintf(stderr, "]\n");
    assert_true(sorted[LATENCY_ROUNDS - 1] < TILE_LATENCY_MAX_MS);
}

/* An alert in the feed: a one-second SLA in a published policy open round
 * the clock makes B02's ticket raise one. */
static void s_alert(world_t *w)
{
    char feed[128];
    s_find_ok(w, "#alert-feed", feed, sizeof feed);
    json_t *body = NULL;
    int st = hbt_http(w->hq.http, "GET", "/v1/alerts?state=open", NULL, &body);
    json_decref(body);
    if (st != 200)
        fail_msg("GET /v1/alerts answered %d: the feed has nothing to show", st);
    st = hbt_http(w->hq.http, "PUT", "/v1/policies/national",
                  "{\"timezone\":\"UTC\",\"opening_hours\":{\"mon\":[\"00:00-24:00\"],"
                  "\"tue\":[\"00:00-24:00\"],\"wed\":[\"00:00-24:00\"],\"thu\":[\"00:00-24:00\"],"
                  "\"fri\":[\"00:00-24:00\"],\"sat\":[\"00:00-24:00\"],\"sun\":[\"00:00-24:00\"]},"
                  "\"sla\":{\"max_wait_s\":{\"*:*\":1}}}",
                  NULL);
    int pub = hbt_http(w->hq.http, "POST", "/v1/policies/publish", "{}", NULL);
    if ((st != 200 && st != 201) || pub != 200)
        fail_msg(
            "alerts are served, but the policy with a 1 s SLA was refused (PUT %d, publish %d)", st,
            pub);
    int64_t t0 = hbt_now_ms();
    assert_int_equal(s_ticket(&w->halls[1], "B"), 201);
    s_wait_ok(w,
              "return !!document.querySelector('#alert-feed li.alert[data-hall=\"B02\"]"
              "[data-state=\"raised\"]');",
              30000, "no alert of B02 appeared in the feed");
    fprintf(stderr, "alert: B02's ticket past a 1 s SLA reached the feed in %lld ms\n",
            (long long)(hbt_now_ms() - t0));
    char text[1024];
    hbt_wd_text_css(&w->b, "#alert-feed li.alert[data-hall=\"B02\"]", text, sizeof text);
    assert_non_null(strstr(text, "B02"));
}

/* A city campaign for C001 through its whole lifecycle, then the Campaigns
 * & rollout tab: the rollout of the published policy and calendar as HQ
 * reports them, and the campaign on the calendar. */
static void s_campaigns_tab(world_t *w)
{
    char start[11], end[11], doc[1024];
    /* Starting past the policy's default notice (7 days): halls prepare. */
    time_t t = time(NULL) + 8 * 86400;
    strftime(start, sizeof start, "%Y-%m-%d", gmtime(&t));
    t += 20 * 86400;
    strftime(end, sizeof end, "%Y-%m-%d", gmtime(&t));
    snprintf(doc, sizeof doc,
             "{\"id\":\"harbour-week\",\"title\":\"Harbour savings week\",\"level\":\"city\","
             "\"region\":\"C001\",\"scope\":{\"regions\":[\"C001\"]},\"start\":\"%s\","
             "\"end\":\"%s\",\"products\":[\"savings-plus\"],\"business_types\":[],"
             "\"segment\":\"retail\",\"channels\":[\"kiosk\"],"
             "\"texts\":{\"kiosk\":\"Open a savings account this week.\"},"
             "\"faq\":[{\"question\":\"Who can open one?\",\"answer\":\"Anyone over 16.\"}]}",
             start, end);
    /* Four eyes: a city marketer drafts and submits, the harness's admin
     * approves and publishes; who acts comes from each one's token. */
    char mkt[64];
    hbt_hq_user(&w->hq, "mkt", mkt, "--role", "marketer", "--scope", "C001", NULL);
    static const struct {
        const char *method, *path, *body;
        bool marketer;
        int want;
    } steps[] = {
        {"POST", "/v1/campaigns", NULL, true, 201},
        {"POST", "/v1/campaigns/harbour-week/submit", "{}", true, 200},
        {"POST", "/v1/campaigns/harbour-week/approve", "{}", false, 200},
        {"POST", "/v1/campaigns/harbour-week/publish", "{}", false, 200},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        json_t *resp = NULL;
        int st =
            hbt_http_as(w->hq.http, steps[i].marketer ? mkt : w->hq.token, NULL, steps[i].method,
                        steps[i].path, steps[i].body ? steps[i].body : doc, &resp);
        if (st != steps[i].want) {
            char *dump = resp ? json_dumps(resp, 0) : NULL;
            fail_msg("%s %s: %d, wanted %d: %s", steps[i].method, steps[i].path, st, steps[i].want,
                     dump ? dump : "");
        }
        json_decref(resp);
    }
    /* Every hall applied both, as HQ reports it. */
    int64_t deadline = hbt_now_ms() + 20000, pv = -1, cv = -1;
    bool applied = false;
    while (!applied && hbt_now_ms() < deadline) {
        json_t *r = hbt_get(w->hq.http, "/v1/rollout");
        json_t *p = json_object_get(r, "policy"), *c = json_object_get(r, "calendar");
        pv = hbt_int(p, "version");
        cv = hbt_int(c, "version");
        applied =
            pv > 0 && cv > 0 && hbt_int(p, "applied") == HALLS && hbt_int(c, "applied") == HALLS;
        json_decref(r);
        if (!applied)
            hbt_sleep_ms(100);
    }
    if (!applied)
        fail_msg("the policy and the calendar did not reach the %d halls within 20 s", HALLS);
    char tab[128];
    s_find_ok(w, "#tab-calendar", tab, sizeof tab);
    s_click(w, tab);
    char script[1024];
    snprintf(script, sizeof script,
             "if (document.getElementById('view-calendar').hidden) return false;"
             "const p = document.querySelector('#rollout .rollout-row[data-kind=\"policy\"]"
             "[data-version=\"%lld\"] [data-part=\"applied\"] b');"
             "const c = document.querySelector('#rollout .rollout-row[data-kind=\"calendar\"]"
             "[data-version=\"%lld\"] [data-part=\"applied\"] b');"
             "return !!p && !!c && p.textContent === '%d' && c.textContent === '%d';",
             (long long)pv, (long long)cv, HALLS, HALLS);
    if (!s_wait_true(w, script, 10000))
        fail_msg(
            "the rollout view does not show policy v%lld and calendar v%lld applied at %d halls",
            (long long)pv, (long long)cv, HALLS);
    s_wait_ok(
        w,
        "const r = document.querySelector('#calendar li.row[data-campaign=\"harbour-week\"]');"
        "return !!r && r.dataset.state === 'published' &&"
        " r.textContent.includes('Harbour savings week');",
        10000, "the calendar does not show the published campaign");
    fprintf(stderr,
            "campaigns: policy v%lld and calendar v%lld applied at %d halls, shown on the tab\n",
            (long long)pv, (long long)cv, HALLS);
    s_find_ok(w, "#tab-network", tab, sizeof tab);
    s_click(w, tab);
    assert_true(s_wait_true(w, "return !document.getElementById('view-network').hidden;", 3000));
}

/* Click B01's tile: the detail panel shows its services and counters, and
 * follows the hall when it changes. */
static void s_drill_down(world_t *w)
{
    char tile[128], panel[128], text[4096], val[64];
    assert_int_equal(hbt_http(w->halls[0].http, "POST", "/v1/complaints",
                              "{\"channel\":\"counter\",\"category\":\"waiting_time\","
                              "\"severity\":\"high\",\"text\":\"too slow\"}",
                              NULL),
                     201);
    assert_int_equal(hbt_http(w->halls[0].http, "POST", "/v1/devices/kiosk-1/status",
                              "{\"kind\":\"kiosk\",\"state\":\"paper_out\"}", NULL),
                     200);
    s_find_ok(w, ".tile[data-hall=\"B01\"]", tile, sizeof tile);
    s_click(w, tile);
    s_wait_ok(w,
              "const p = document.getElementById('hall-detail');"
              "return !p.hidden && p.dataset.hall === 'B01' &&"
              " !!p.querySelector('#detail-services tr[data-service=\"A\"]') &&"
              " !!p.querySelector('#detail-counters tr[data-counter=\"1\"]');",
              5000, "the hall detail did not show B01's services and counters");
    s_find_ok(w, "#hall-detail", panel, sizeof panel);
    assert_true(s_attr(w, panel, "data-hall", val, sizeof val));
    assert_string_equal(val, "B01");
    hbt_wd_text_css(&w->b, "#hall-detail-title", text, sizeof text);
    assert_non_null(strstr(text, "B01"));
    hbt_wd_text_css(&w->b, "#detail-services tr[data-service=\"A\"]", text, sizeof text);
    fprintf(stderr, "detail: service row '%s'\n", text);
    assert_true(text[0] == 'A');
    hbt_wd_text_css(&w->b, "#detail-counters tr[data-counter=\"1\"]", text, sizeof text);
    fprintf(stderr, "detail: counter row '%s'\n", text);
    assert_non_null(strstr(text, "E7"));
    /* Each section shows what the hall holds, not only its heading. */
    s_wait_ok(w,
              "const t = document.querySelector('#detail-complaints')?.textContent || '';"
              "return t.includes('（1 件未结') && t.includes('waiting_time') &&"
              " t.includes('高');",
              5000, "the detail's complaints do not show B01's open complaint");
    s_wait_ok(w,
              "const t = document.querySelector('#detail-devices')?.textContent || '';"
              "return t.includes('kiosk-1') && t.includes('缺纸');",
              5000, "the detail's devices do not show B01's kiosk out of paper");
    json_t *hall = hbt_get(w->hq.http, "/v1/halls/B01");
    assert_non_null(hall);
    char script[512];
    snprintf(script, sizeof script,
             "const d = document.querySelector('#detail-versions [data-kind=\"policy\"] dd');"
             "return !!d && d.textContent.startsWith('v%lld');",
             (long long)hbt_int(hall, "policy_version"));
    json_decref(hall);
    s_wait_ok(w, script, 5000, "the detail's policy version is not the one HQ reports for B01");
    s_wait_ok(w,
              "return !!document.querySelector('#detail-campaigns "
              "li[data-campaign=\"harbour-week\"]');",
              5000, "the detail's campaigns do not list the campaign B01 runs");

    /* Live: one more ticket for B, and the panel shows service B. */
    assert_int_equal(s_ticket(&w->halls[0], "B"), 201);
    s_wait_ok(w, "return !!document.querySelector('#detail-services tr[data-service=\"B\"]');",
              3000, "the open detail did not follow B01's new ticket");

    /* Closed with its button; another hall through the search box. */
    char close[128], input[128];
    s_find_ok(w, "#hall-detail-close", close, sizeof close);
    s_click(w, close);
    assert_true(s_wait_true(w, "return document.getElementById('hall-detail').hidden;", 2000));
    s_find_ok(w, "#hall-search", input, sizeof input);
    char path[256];
    snprintf(path, sizeof path, "/element/%s/value", input);
    json_decref(s_wd_ok(w, "POST", path, json_pack("{s:s}", "text", "b03\n")));
    s_wait_ok(w,
              "const p = document.getElementById('hall-detail');"
              "return !p.hidden && p.dataset.hall === 'B03';",
              3000, "searching for b03 did not open B03's detail");
}

/* Posts `n` events (JSON members after "at") to a hall's /v1/events. */
static void s_post_events(hbt_hall_t *h, const char *date, const char *const evs[][2], size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char text[768];
        snprintf(text, sizeof text, "{\"at\":\"%sT%s:00Z\",%s}", date, evs[i][0], evs[i][1]);
        json_t *o = json_loads(text, 0, NULL);
        if (!o)
            fail_msg("bad test event %s", text);
        json_array_append_new(arr, o);
    }
    char *body = json_dumps(arr, JSON_COMPACT);
    int st = hbt_http(h->http, "POST", "/v1/events", body, NULL);
    if (st != 200)
        fail_msg("POST /v1/events at %s answered %d", h->id, st);
    free(body);
    json_decref(arr);
}

/* One served ticket: issued at `at`, called after `wait` s, served for
 * `dur` s, scored `score` (0: none). */
#define SERVED(at, called, started, done, t, wait, dur, score)                                     \
    {at, "\"type\":\"ticket_issued\",\"ticket\":\"" t "\",\"service\":\"A\",\"priority\":"         \
         "\"normal\",\"source\":\"kiosk\""},                                                       \
        {called, "\"type\":\"ticket_called\",\"ticket\":\"" t "\",\"counter\":\"1\",\"rule\":"     \
                 "\"fifo\",\"wait_s\":" wait},                                                     \
        {started, "\"type\":\"service_started\",\"ticket\":\"" t "\",\"counter\":\"1\",\"staff\":" \
                  "\"E7\""},                                                                       \
        {done, "\"type\":\"service_completed\",\"ticket\":\"" t "\",\"counter\":\"1\","            \
               "\"business_type\":\"bill_payment\",\"outcome\":\"done\",\"duration_s\":" dur},     \
    {                                                                                              \
        done, "\"type\":\"satisfaction_scored\",\"ticket\":\"" t "\",\"counter\":\"1\","           \
              "\"score\":" score                                                                   \
    }

/* The reports view: a day of B01 (and of B02 beside it, and a day before
 * with less) posted as a hall's own queue system would, then picked in the
 * view by hall search and date; its cards, its hourly chart and the
 * ranking show the numbers GET /v1/reports/kpi gives. Then B01's live
 * view shows its day against the same weekday's typical. */
static void s_reports(world_t *w)
{
    /* Two and three days ago (UTC, the halls' zone): never in the future. */
    int32_t d = (int32_t)(hb_now_ms() / 86400000) - 2;
    char day[11], before[11], lastweek[11];
    hb_date_format(d, day);
    hb_date_format(d - 1, before);
    /* Today a week ago: the same weekday as today, for the live view's
     * typical. */
    hb_date_format((int32_t)(hb_now_ms() / 86400000) - 7, lastweek);
    static const char *const b01[][2] = {
        {"08:55",
         "\"type\":\"counter_opened\",\"counter\":\"1\",\"staff\":\"E7\",\"services\":[\"A\"]"},
        SERVED("09:05", "09:06", "09:06", "09:10", "A101", "60", "240", "5"),
        SERVED("10:00", "10:02", "10:02", "10:08", "A102", "120", "360", "4"),
        SERVED("10:20", "10:25", "10:25", "10:31", "A103", "300", "360", "3"),
        SERVED("11:00", "11:10", "11:10", "11:20", "A104", "600", "600", "4"),
        SERVED("14:30", "14:31", "14:31", "14:35", "A105", "90", "240", "5"),
        {"15:00", "\"type\":\"ticket_issued\",\"ticket\":\"A106\",\"service\":\"A\",\"priority\":"
                  "\"normal\",\"source\":\"app\""},
        {"15:20", "\"type\":\"ticket_no_show\",\"ticket\":\"A106\",\"counter\":\"1\""},
        {"17:00", "\"type\":\"counter_closed\",\"counter\":\"1\""},
    };
    static const char *const b01_before[][2] = {
        SERVED("09:30", "09:31", "09:31", "09:35", "A001", "60", "240", "5"),
        SERVED("10:30", "10:45", "10:45", "10:55", "A002", "900", "600", "2"),
    };
    static const char *const b02[][2] = {
        SERVED("09:00", "09:20", "09:20", "09:30", "A201", "1200", "600", "2"),
        SERVED("09:10", "09:40", "09:40", "09:50", "A202", "1800", "600", "3"),
    };
    s_post_events(&w->halls[0], lastweek, b01_before, sizeof b01_before / sizeof b01_before[0]);
    s_post_events(&w->halls[0], before, b01_before, sizeof b01_before / sizeof b01_before[0]);
    s_post_events(&w->halls[0], day, b01, sizeof b01 / sizeof b01[0]);
    s_post_events(&w->halls[1], day, b02, sizeof b02 / sizeof b02[0]);

    /* What the API says, once rolled up. */
    char path[256];
    snprintf(path, sizeof path, "/v1/reports/kpi?scope=B01&period=day&date=%s", day);
    json_t *kpi = NULL;
    int64_t deadline = hbt_now_ms() + 20000;
    for (;;) {
        kpi = hbt_get(w->hq.http, path);
        if (kpi && hbt_int(kpi, "issued") == 6 &&
            hbt_int(json_object_get(kpi, "previous"), "issued") == 2 &&
            json_is_true(json_object_get(json_object_get(kpi, "rolled_up"), "complete")))
            break;
        json_decref(kpi);
        kpi = NULL;
        if (hbt_now_ms() > deadline)
            fail_msg("the reports did not count B01's day %s within 20 s", day);
        hbt_sleep_ms(100);
    }
    snprintf(path, sizeof path, "/v1/reports/kpi?scope=B01&period=day&date=%s&by=hour", day);
    json_t *hours = hbt_get(w->hq.http, path);
    assert_non_null(hours);

    /* The view: the tab, the hall by search, the day (the detail the
     * test opened before closed first: it lies over the view). */
    char tab[128], input[128], close[128];
    s_find_ok(w, "#hall-detail-close", close, sizeof close);
    s_click(w, close);
    s_find_ok(w, "#tab-reports", tab, sizeof tab);
    s_click(w, tab);
    s_wait_ok(w,
              "const r = document.getElementById('reports');"
              "return !document.getElementById('view-reports').hidden &&"
              " r.dataset.loaded === 'true';",
              10000, "the reports view did not load the network's report");
    char script[2048];
    snprintf(script, sizeof script,
             "const d = document.getElementById('rep-date'); d.value = '%s';"
             "const h = document.getElementById('rep-hall'); h.value = 'main st';"
             "document.getElementById('rep-hall-use').click(); return true;",
             day);
    assert_true(s_exec_true(w, script));
    snprintf(script, sizeof script,
             "const r = document.getElementById('reports');"
             "const k = window.hbDashboard.reports.last && window.hbDashboard.reports.last.kpi;"
             "return r.dataset.loaded === 'true' && r.dataset.scope === 'B01' && !!k &&"
             " k.from === '%s' && !!window.hbDashboard.reports.last.rank;",
             day);
    if (!s_wait_true(w, script, 10000))
        fail_msg("picking hall 'main st' and %s did not show B01's day within 10 s", day);

    /* Each card is the API's figure. */
    static const char *const fields[] = {
        "issued",     "served",        "no_shows",         "wait_p50_s",         "wait_p90_s",
        "wait_avg_s", "service_avg_s", "satisfaction_avg", "counter_utilisation"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(kpi, fields[i]);
        char want[64];
        if (json_is_integer(v))
            snprintf(want, sizeof want, "%lld", (long long)json_integer_value(v));
        else
            snprintf(want, sizeof want, "%.17g", json_number_value(v));
        snprintf(script, sizeof script,
                 "const c = document.querySelector('#rep-cards [data-field=\"%s\"]');"
                 "return !!c && Math.abs(Number(c.dataset.value) - %s) < 1e-9;",
                 fields[i], want);
        if (!s_exec_true(w, script))
            fail_msg("the card %s does not show the API's %s", fields[i], want);
    }
    char el[128], text[512];
    s_css_text(w, "#rep-cards [data-field=\"issued\"] .value", text, sizeof text);
    assert_string_equal(text, "6");
    /* The change against the day before (2 issued): up 200%. */
    s_css_text(w, "#rep-cards [data-field=\"issued\"] .change", text, sizeof text);
    hbt_assert_contains(text, "200.0%");
    fprintf(stderr, "reports: B01 %s: %s\n", day, text);

    /* The hourly chart: Chart.js drew the API's rows, hour by hour. */
    json_t *issued = s_exec(w, "const c = Chart.getChart('rep-chart-volume');"
                               "return c ? c.data.datasets[0].data : null;");
    json_t *served = s_exec(w, "const c = Chart.getChart('rep-chart-volume');"
                               "return c ? c.data.datasets[1].data : null;");
    assert_int_equal(json_array_size(issued), 24);
    int64_t sum = 0;
    for (int h = 0; h < 24; h++) {
        int64_t want_i = 0, want_s = 0;
        size_t i;
        json_t *r;
        json_array_foreach (json_object_get(hours, "rows"), i, r) {
            if (hbt_int(r, "hour") == h) {
                want_i = hbt_int(r, "issued");
                want_s = hbt_int(r, "served");
            }
        }
        if (json_integer_value(json_array_get(issued, (size_t)h)) != want_i ||
            json_integer_value(json_array_get(served, (size_t)h)) != want_s)
            fail_msg("the chart's hour %d is %lld issued / %lld served, the API's %lld / %lld", h,
                     (long long)json_integer_value(json_array_get(issued, (size_t)h)),
                     (long long)json_integer_value(json_array_get(served, (size_t)h)),
                     (long long)want_i, (long long)want_s);
        sum += want_i;
    }
    assert_int_equal(sum, 6);
    assert_int_equal(json_integer_value(json_array_get(issued, 10)), 2);
    json_decref(issued);
    json_decref(served);
    /* The wait chart's p90 at 11:00 is the API's. */
    json_t *p90 = s_exec(w, "return Chart.getChart('rep-chart-wait').data.datasets[1].data[11];");
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(hours, "rows"), i, r) {
        if (hbt_int(r, "hour") == 11)
            assert_true(json_number_value(p90) ==
                        json_number_value(json_object_get(r, "wait_p90_s")));
    }
    json_decref(p90);
    /* The ranking of B01's city: B01 and B02 by wait p90, B01 first. */
    assert_true(s_wait_true(w,
                            "const c = Chart.getChart('rep-chart-rank');"
                            "return !!c && c.data.labels.length === 2 &&"
                            " c.data.labels[0].includes('Main St');",
                            15000));
    /* The CSV link asks for the same report. */
    s_find_ok(w, "#rep-csv-summary", el, sizeof el);
    char href[512];
    assert_true(s_attr(w, el, "href", href, sizeof href));
    hbt_assert_contains(href, "format=csv");
    hbt_assert_contains(href, "scope=B01");
    s_screenshot(w, "reports-day");

    /* A month of the city, by day. */
    assert_true(s_exec_true(w, "const s = document.getElementById('rep-scope'); s.value = 'C001';"
                               "s.dispatchEvent(new Event('change')); const p ="
                               " document.getElementById('rep-period'); p.value = 'month';"
                               "p.dispatchEvent(new Event('change')); return true;"));
    s_wait_ok(
        w,
        "const r = document.getElementById('reports');"
        "const k = window.hbDashboard.reports.last.kpi;"
        "return r.dataset.loaded === 'true' && k.scope === 'C001' &&"
        " k.period === 'month' && Chart.getChart('rep-chart-volume').data.labels.length >= 28;",
        10000, "the month of C001 did not show");
    snprintf(path, sizeof path, "/v1/reports/kpi?scope=C001&period=month&date=%s", day);
    json_t *month = hbt_get(w->hq.http, path);
    snprintf(script, sizeof script,
             "return document.querySelector('#rep-cards [data-field=\"issued\"]').dataset.value "
             "=== '%lld';",
             (long long)hbt_int(month, "issued"));
    assert_true(s_exec_true(w, script));
    json_decref(month);
    s_screenshot(w, "reports-month");
    json_decref(hours);
    json_decref(kpi);

    /* B01's live view: its today against the same weekday's typical (the
     * day a week ago, when B01 had two tickets, may or may not be the
     * same weekday as today: the answer's own figures are checked). */
    json_t *typ = hbt_get(w->hq.http, "/v1/reports/typical?hall=B01");
    assert_non_null(typ);
    s_find_ok(w, "#tab-network", tab, sizeof tab);
    s_click(w, tab);
    s_find_ok(w, "#hall-search", input, sizeof input);
    snprintf(path, sizeof path, "/element/%s/clear", input);
    json_decref(s_wd_ok(w, "POST", path, json_object()));
    snprintf(path, sizeof path, "/element/%s/value", input);
    json_decref(s_wd_ok(w, "POST", path, json_pack("{s:s}", "text", "B01\n")));
    snprintf(script, sizeof script,
             "const s = document.querySelector('#hall-detail #detail-typical');"
             "return !!s && s.dataset.hall === 'B01' && s.dataset.loaded === 'true' &&"
             " !!Chart.getChart('typical-chart') &&"
             " Chart.getChart('typical-chart').data.datasets[0].data.length === 24 &&"
             " s.dataset.date === '%s' &&"
             " Chart.getChart('typical-chart').data.datasets[2].data[9] === %g &&"
             " Chart.getChart('typical-chart').data.datasets[2].data[10] === %g;",
             json_string_value(json_object_get(typ, "date")),
             json_number_value(json_object_get(json_array_get(json_object_get(typ, "hours"), 9),
                                               "typical_issued")),
             json_number_value(json_object_get(json_array_get(json_object_get(typ, "hours"), 10),
                                               "typical_issued")));
    s_wait_ok(w, script, 10000, "B01's live view did not show its day against the typical");
    /* A week ago B01 issued one ticket at 09:00 and one at 10:00. */
    assert_true(json_number_value(json_object_get(json_array_get(json_object_get(typ, "hours"), 9),
                                                  "typical_issued")) == 1.0);
    assert_int_equal(json_array_size(json_object_get(typ, "compared")), 1);
    json_decref(typ);
    s_screenshot(w, "hall-typical");
}

/* hqd restarts (its stream's ids start again at 1): the page notices, loads
 * the snapshot again, and shows a ticket taken while HQ was down. */
static void s_hq_restart(world_t *w)
{
    char tile[128], val[32];
    s_find_ok(w, ".tile[data-hall=\"B03\"]", tile, sizeof tile);
    assert_true(s_attr(w, tile, "data-waiting", val, sizeof val));
    long before = strtol(val, NULL, 10);
    hbt_hq_stop(&w->hq, SIGTERM);
    assert_true(s_wait_true(
        w, "return document.getElementById('conn-state').dataset.state !== 'live';", 5000));
    assert_int_equal(s_ticket(&w->halls[2], "C"), 201); /* the hall works on alone */
    int64_t t0 = hbt_now_ms();
    hbt_hq_start(&w->hq);
    char script[512];
    snprintf(script, sizeof script,
             "const t = document.querySelector('.tile[data-hall=\"B03\"]');"
             "return !!t && t.dataset.waiting === '%ld' && window.hbDashboard.stats.reloads >= 1 &&"
             " document.getElementById('conn-state').dataset.state === 'live';",
             before + 1);
    s_wait_ok(w, script, 20000,
              "after hqd restarted, the page did not reload and show B03's ticket");
    fprintf(stderr,
            "restart: the page was live again with B03's ticket %lld ms after hqd started\n",
            (long long)(hbt_now_ms() - t0));
    /* What the browser logged so far: only the requests hqd's outage
     * refused (the page asking who is signed in while it was down) may be
     * there; the final check, after this, wants nothing at all. */
    s_console_clean(w, false, "net::ERR_");
}

/* The page computes no aggregate: after the tickets above, the header's
 * waiting count and halls are hqd's whole-network aggregate
 * (GET /v1/regions "total"), reached through the stream's "regions" events. */
static void s_totals_are_hqs(world_t *w)
{
    int64_t deadline = hbt_now_ms() + 5000;
    char script[256];
    bool same = false;
    int64_t waiting = -1, halls = -1;
    while (!same && hbt_now_ms() < deadline) {
        json_t *r = hbt_get(w->hq.http, "/v1/regions");
        json_t *total = json_object_get(r, "total");
        waiting = hbt_int(total, "waiting");
        halls = hbt_int(total, "halls");
        json_decref(r);
        snprintf(script, sizeof script,
                 "return document.getElementById('sum-waiting').textContent === '%lld' &&"
                 " document.getElementById('sum-halls').textContent === '%lld' &&"
                 " window.hbDashboard.stats.regionEvents > 0;",
                 (long long)waiting, (long long)halls);
        same = waiting > 0 && s_exec_true(w, script);
        if (!same)
            hbt_sleep_ms(100);
    }
    if (!same)
        fail_msg("the page's totals are not hqd's (%lld waiting in %lld halls) within 5 s",
                 (long long)waiting, (long long)halls);
    fprintf(stderr, "totals: the page shows hqd's aggregate, %lld waiting in %lld halls\n",
            (long long)waiting, (long long)halls);
}

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_dashboard)
{
    world_t *w = *state;
    if (access(CHROMIUM, X_OK) != 0 || access(CHROMEDRIVER, X_OK) != 0) {
        fprintf(stderr,
                "SKIPPED: %s or %s is not installed (deploy/install-deps.sh --browser "
                "installs Debian's chromium and chromium-driver)\n",
                CHROMIUM, CHROMEDRIVER);
        skip();
    }
    /* Every hall connected and seen by the board first, and something to
     * show in the detail: a counter open at B01. */
    int64_t deadline = hbt_now_ms() + 15000;
    bool all = false;
    while (!all && hbt_now_ms() < deadline) {
        json_t *board = hbt_get(w->hq.http, "/v1/live/halls");
        json_t *arr = json_object_get(board, "halls");
        size_t online = 0;
        for (size_t i = 0; i < json_array_size(arr); i++)
            online += json_is_true(json_object_get(json_array_get(arr, i), "online"));
        all = online == HALLS;
        json_decref(board);
        if (!all)
            hbt_sleep_ms(100);
    }
    assert_true(all);
    /* A counter open at every hall, or HQ's default hours (weekdays from
     * 09:00) would rightly raise "not open at its opening time" during the
     * working day, and the tiles' colours would depend on the hour the test
     * runs. B01's counter is also what the detail shows. */
    static const char *const staff[HALLS] = {"E7", "E8", "E9"};
    for (int i = 0; i < HALLS; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"staff\":\"%s\",\"services\":[\"A\",\"B\"]}", staff[i]);
        assert_int_equal(hbt_http(w->halls[i].http, "POST", "/v1/counters/1/open", body, NULL),
                         200);
    }
    /* An alert raised before a counter opened clears within a round or two. */
    deadline = hbt_now_ms() + 10000;
    bool calm = false;
    while (!calm && hbt_now_ms() < deadline) {
        json_t *board = hbt_get(w->hq.http, "/v1/live/halls");
        json_t *arr = json_object_get(board, "halls");
        calm = json_array_size(arr) == HALLS;
        for (size_t i = 0; calm && i < json_array_size(arr); i++) {
            json_t *t = json_array_get(arr, i);
            calm = hbt_int(t, "alerts") == 0 && hbt_int(t, "counters_open") == 1;
        }
        json_decref(board);
        if (!calm)
            hbt_sleep_ms(100);
    }
    assert_true(calm);

    s_driver_start(w);
    /* The API answers only someone signed in: the page asks for a name and
     * a password first. */
    s_sign_in_page(w);

    /* The page shows every hall, with the legend's counts adding up. */
    s_wait_ok(w,
              "return !!window.hbDashboard && window.hbDashboard.ready &&"
              " document.querySelectorAll('#network .tile[data-hall]').length === 3;",
              15000, "the dashboard did not show the 3 halls");
    json_t *timing = s_exec(w, "return window.hbDashboard.timing;");
    fprintf(stderr,
            "first load: data loaded at %lld ms, first render done at %lld ms (%lld halls)\n",
            (long long)hbt_int(timing, "dataLoadedMs"), (long long)hbt_int(timing, "firstRenderMs"),
            (long long)hbt_int(timing, "halls"));
    assert_true(hbt_int(timing, "firstRenderMs") > 0);
    json_decref(timing);
    assert_true(s_exec_true(w, "return performance.getEntriesByName('hb:first-render').length === 1"
                               " && performance.getEntriesByName('hb:data-loaded').length === 1;"));
    char el[128], text[256];
    for (int i = 0; i < HALLS; i++) {
        char css[64];
        snprintf(css, sizeof css, ".tile[data-hall=\"%s\"]", dash_ids[i]);
        s_find_ok(w, css, el, sizeof el);
        char worst[32];
        assert_true(s_attr(w, el, "data-worst", worst, sizeof worst));
        assert_true(strcmp(worst, "ok") == 0 || strcmp(worst, "closed") == 0 ||
                    strcmp(worst, "warning") == 0);
    }
    s_css_text(w, "#sum-halls", text, sizeof text);
    assert_string_equal(text, "3");
    assert_true(s_exec_true(
        w, "let n = 0; for (const b of document.querySelectorAll('#legend [data-count]'))"
           " n += Number(b.textContent); return n === 3;"));
    if (w->placed) {
        assert_true(s_find(w,
                           ".province[data-region=\"P01\"] .city[data-region=\"C001\"] "
                           ".tile[data-hall=\"B01\"]",
                           el, sizeof el));
        assert_true(
            s_find(w, ".city[data-region=\"C002\"] .tile[data-hall=\"B03\"]", el, sizeof el));
    } else {
        assert_true(s_find(w, ".province[data-region=\"~unplaced\"] .tile[data-hall=\"B01\"]", el,
                           sizeof el));
    }
    s_find_ok(w, "#conn-state", el, sizeof el);
    assert_true(s_wait_true(
        w, "return document.getElementById('conn-state').dataset.state === 'live';", 5000));

    s_tile_latency(w);
    s_totals_are_hqs(w);
    s_alert(w);
    s_campaigns_tab(w);
    s_drill_down(w);
    s_reports(w);
    s_hq_restart(w);
    s_screenshot(w, "dashboard-admin");
    dash_languages(w);
    dash_plurals(w);

    json_t *stats = s_exec(w, "return window.hbDashboard.stats;");
    fprintf(stderr, "page: %lld tile events, %lld frames, longest frame %.2f ms, %lld reconnects\n",
            (long long)hbt_int(stats, "tileEvents"), (long long)hbt_int(stats, "frames"),
            json_number_value(json_object_get(stats, "maxFlushMs")),
            (long long)hbt_int(stats, "reconnects"));
    json_decref(stats);
    /* Nothing the page ran threw. */
    s_console_clean(w, false, NULL);
    s_other_people(w);
    s_driver_stop(w);
}

HBT_GROUP(s_setup, s_teardown);
