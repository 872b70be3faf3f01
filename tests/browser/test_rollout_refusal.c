/* A hall's refusal of a policy, read on the dashboard's Campaigns & rollout
 * tab and in its alerts sidebar in the reader's language, in a real browser
 * (headless Chromium through ChromeDriver) against real hqd and branchd:
 * hall R01 runs with a time-zone folder that lacks every zone (a hall whose
 * tzdata is older than HQ's), so its applier refuses the national policy
 * naming Asia/Shanghai and says why with a code; R02 applies it. On the
 * zh-CN page the refusal reads in Chinese, the hall's own English words
 * shown as the detail; on the en page in English. The workspace's rollout
 * says the same, and so does the document_refused alert in the sidebar,
 * which shows the hall's words as they are only for no code or a code the
 * page has no words for. Screenshots go to the build's tests/ folder
 * (rollout-refusal-*.png) for a person to look at. Skipped, saying why,
 * without /usr/bin/chromium or /usr/bin/chromedriver. */
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

#include "runner.h"

/* The Chinese and English words of the code "unknown_timezone"
 * (hqd/dashboard/i18n/editors.*.js), as the reader must see them. */
#define WHY_ZH "网点系统缺少文件指定的时区"
#define WHY_EN "the hall's system lacks the time zone the document names"

/* R01's document_refused alert in the sidebar, and the sentence around
 * the code's words there (i18n/zh-CN.js, en.js). */
#define ITEM "#alert-feed li.alert[data-kind=\"document_refused\"][data-hall=\"R01\"]"
#define SAY_ZH "营业厅拒收政策"
#define SAY_EN "the hall refused the policy version"

static const hbt_world_spec_t s_world = {.tag = "rollout-refusal",
                                         .halls = {"R01", "R02"},
                                         .hq_args = {"--rollout_resend", "1s"},
                                         .engine = true};

typedef struct refusal_test {
    hbt_wd_t wd; /* first: hbt_browser_world_teardown stops it */
} refusal_test_t;

static int s_setup(void **state)
{
    hbt_world_t *w = hbt_browser_world_setup(state, &s_world, sizeof(refusal_test_t));
    hbt_req_ok(w->hq.http, "PUT", "/v1/org",
               HBT_REGIONS_ZH "\"halls\":[{\"id\":\"R01\",\"city\":\"C001\",\"name\":\"港湾东路\"},"
                              "{\"id\":\"R02\",\"city\":\"C001\",\"name\":\"港湾西路\"}]}",
               200);
    /* R01's zone folder holds no zones: the hall with an old tzdata. */
    hbt_hall_start_zoneless(w, &w->hall[0]);
    hbt_hall_start(&w->hall[1]);
    for (int i = 0; i < 2; i++)
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 20000));
    hbt_publish(w->hq.http, NULL, "{\"timezone\":\"Asia/Shanghai\"," HBT_HOURS_ALWAYS_OPEN "}");
    return 0;
}

#define HBT_FIXTURE s_setup, hbt_browser_world_teardown

/* Waits until HQ's rollout says R01 refused the policy with the code, and
 * R02 applied it: what the page will show is there. */
static void s_wait_refused(hbt_world_t *w)
{
    int64_t deadline = hbt_now_ms() + 30000;
    for (;;) {
        json_t *r = hbt_get(w->hq.http, "/v1/rollout?halls=10");
        json_t *k = json_object_get(r, "policy");
        json_t *why = json_array_get(json_object_get(k, "refusals"), 0);
        bool done = why && hbt_int(k, "applied") == 1 && strcmp(hbt_str(why, "hall"), "R01") == 0 &&
                    strcmp(hbt_str(why, "code"), "unknown_timezone") == 0;
        if (done)
            fprintf(stderr, "R01's refusal as HQ holds it: %s / %s\n", hbt_str(why, "code"),
                    hbt_str(why, "reason"));
        json_decref(r);
        if (done)
            return;
        if (hbt_now_ms() > deadline)
            fail_msg("R01 did not refuse the policy with the code unknown_timezone in time");
        hbt_sleep_ms(200);
    }
}

/* Opens the Campaigns & rollout tab and returns (in `out`) the text of R01's
 * refusal there, once it shows the code's words. */
static void s_rollout_tab(hbt_wd_t *wd, const char *why, char *out, size_t outlen)
{
    hbt_wd_wait_ok(wd,
                   "return document.body.dataset.auth === 'in' &&"
                   " !document.getElementById('tab-calendar').hidden;",
                   10000, "the Campaigns & rollout tab after signing in");
    hbt_wd_press(wd, "#tab-calendar");
    char script[600];
    snprintf(script, sizeof script,
             "const li = document.querySelector('#rollout [data-kind=\"policy\"]"
             " ul.ro-refusals li[data-hall=\"R01\"][data-by=\"hall\"]');"
             " return !!li && !document.getElementById('view-calendar').hidden &&"
             " li.querySelector('.ro-reason[data-code=\"unknown_timezone\"]')"
             ".textContent.includes(\"%s\");",
             why);
    hbt_wd_wait_ok(wd, script, 20000,
                   "R01's refusal in the rollout, worded in the page's language");
    hbt_wd_exec_str(wd,
                    "return document.querySelector('#rollout ul.ro-refusals"
                    " li[data-hall=\"R01\"]').innerText;",
                    out, outlen);
}

/* The text of what is visible on the screen of element `css`, checked to be
 * inside the viewport (not scrolled away, not hidden). */
static void s_on_screen(hbt_wd_t *wd, const char *css)
{
    char script[400];
    snprintf(script, sizeof script,
             "const e = document.querySelector('%s'); if (!e) return false;"
             " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
             " return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= innerHeight;",
             css);
    assert_true(hbt_wd_exec_true(wd, script));
}

HBT_TEST(test_rollout_refusal_in_the_readers_language)
{
    hbt_world_t *w = *state;
    refusal_test_t *t = w->test;
    hbt_wd_need();
    s_wait_refused(w);
    hbt_hq_password(&w->hq, "admin", "admin-pass-1");
    hbt_wd_start(&t->wd, w->root);
    hbt_wd_t *wd = &t->wd;

    /* Chinese: the code's words, then the hall's own words as detail. */
    hbt_wd_sign_in_at(wd, w->hq.http, "zh-CN", "admin", "admin-pass-1");
    char text[2048];
    s_rollout_tab(wd, WHY_ZH, text, sizeof text);
    fprintf(stderr, "zh-CN rollout: %s\n", text);
    hbt_assert_contains_all(text, "R01", "网点拒收第", WHY_ZH, "详情：", "Asia/Shanghai", NULL);
    /* The English sentence is only the detail, never the reason. */
    char reason[512];
    hbt_wd_exec_str(wd,
                    "return document.querySelector('#rollout li[data-hall=\"R01\"] .ro-reason')"
                    ".textContent;",
                    reason, sizeof reason);
    assert_null(strstr(reason, "time zone"));
    assert_null(strstr(reason, "must name"));
    assert_true(hbt_wd_exec_true(wd, "return document.documentElement.lang === 'zh-CN' &&"
                                     " window.hbDashboard.i18n.missing().length === 0;"));
    s_on_screen(wd, "#rollout li[data-hall=\"R01\"]");
    hbt_wd_screenshot(wd, "rollout-refusal-zh");
    /* A hall of an older build sends no code, and a newer one may send a
     * code this page has no words for: the hall's words are then the
     * reason, as they are, with no detail beside them. */
    hbt_wd_run(wd,
               "window.roOld = null; import('./refusals.js').then((m) => {"
               " window.roOld = [...m.refusalList({refusals: ["
               "{hall: 'OLD', version: 3, by: 'hall', code: '', reason: 'old words'},"
               "{hall: 'NEW', version: 3, by: 'hall', code: 'brand_new', reason: 'new words'}]})"
               ".children].map((li) => [li.querySelector('.ro-reason').textContent,"
               " !!li.querySelector('.ro-detail')].join('|')).join(';'); });");
    hbt_wd_wait_ok(wd, "return !!window.roOld;", 5000, "the rollout's list of refusals");
    char fallback[256];
    hbt_wd_exec_str(wd, "return window.roOld;", fallback, sizeof fallback);
    assert_string_equal(fallback, "old words|false;new words|false");

    /* The workspace's rollout (Calendar & rollout) says the same. */
    hbt_wd_press(wd, "#tab-workspace");
    hbt_wd_wait_ok(wd, "return !!document.querySelector('.ws-nav [role=tab]');", 10000,
                   "the workspace");
    hbt_wd_click_css(wd, "#ws-tab-calendar");
    hbt_wd_wait_ok(wd,
                   "const r = document.querySelector('#ws-rollout li[data-hall=\"R01\"]"
                   " .ro-reason[data-code=\"unknown_timezone\"]');"
                   " return !!r && r.textContent.includes('" WHY_ZH "');",
                   20000, "R01's refusal in the workspace's rollout, in Chinese");
    s_on_screen(wd, "#ws-rollout li[data-hall=\"R01\"]");
    hbt_wd_screenshot(wd, "rollout-refusal-zh-workspace");
    hbt_wd_console_clean(wd, true, NULL);

    /* English. */
    hbt_wd_sign_in_at(wd, w->hq.http, "en", "admin", "admin-pass-1");
    s_rollout_tab(wd, WHY_EN, text, sizeof text);
    fprintf(stderr, "en rollout: %s\n", text);
    hbt_assert_contains_all(text, "R01", "the hall refused version", WHY_EN,
                            "detail:", "Asia/Shanghai", NULL);
    assert_null(strstr(text, WHY_ZH));
    s_on_screen(wd, "#rollout li[data-hall=\"R01\"]");
    hbt_wd_screenshot(wd, "rollout-refusal-en");
    hbt_wd_console_clean(wd, true, NULL);
}

/* Signs in in `lang` and waits until R01's alert in the sidebar reads
 * `why`; its text into `out`, checked to be on the screen, whole. */
static void s_sidebar(hbt_world_t *w, hbt_wd_t *wd, const char *lang, const char *why, char *out,
                      size_t outlen)
{
    hbt_wd_sign_in_at(wd, w->hq.http, lang, "admin", "admin-pass-1");
    char script[600];
    snprintf(
        script, sizeof script,
        "const d = document.querySelector('" ITEM " .a-detail');"
        " return document.body.dataset.auth === 'in' && !!d && d.textContent.includes(\"%s\");",
        why);
    hbt_wd_wait_ok(wd, script, 20000, "R01's document_refused alert worded in the sidebar");
    /* The page done with signing in (an admin's tabs all shown), so that
     * the screenshot is of the page as a reader sees it. */
    hbt_wd_wait_ok(wd, "return !document.getElementById('tab-workspace').hidden;", 10000,
                   "the admin's tabs");
    hbt_wd_exec_str(wd, "return document.querySelector('" ITEM "').innerText;", out, outlen);
    /* On the screen, and no line of the sentence cut off by its box. */
    s_on_screen(wd, ITEM);
    assert_true(hbt_wd_exec_true(wd, "const d = document.querySelector('" ITEM " .a-detail');"
                                     " return d.scrollWidth <= d.clientWidth &&"
                                     " d.scrollHeight <= d.clientHeight + 1;"));
}

/* The sentence alerts.js makes of a document_refused alert given as JSON
 * (an alert as the API or an older hqd sends it), into `out`. */
static void s_sentence(hbt_wd_t *wd, const char *alert, char *out, size_t outlen)
{
    char script[800];
    snprintf(script, sizeof script,
             "window.alertSaid = null; import('./alerts.js').then((m) => {"
             " window.alertSaid = m.alertSentence(%s); });",
             alert);
    hbt_wd_run(wd, script);
    hbt_wd_wait_ok(wd, "return window.alertSaid !== null;", 5000, "alerts.js's sentence");
    hbt_wd_exec_str(wd, "return window.alertSaid;", out, outlen);
}

HBT_TEST(test_alert_refusal_in_the_readers_language)
{
    hbt_world_t *w = *state;
    refusal_test_t *t = w->test;
    hbt_wd_need();
    /* What the page will show is there: the alert with the hall's code. */
    json_t *al = hbt_wait_alert(w->hq.http, "R01", "document_refused", 30000);
    assert_non_null(al);
    json_t *params = json_object_get(al, "params");
    fprintf(stderr, "R01's alert: %s / %s\n", hbt_str(params, "code"), hbt_str(params, "reason"));
    assert_string_equal(hbt_str(params, "code"), "unknown_timezone");
    json_decref(al);
    hbt_hq_password(&w->hq, "admin", "admin-pass-1");
    hbt_wd_start(&t->wd, w->root);
    hbt_wd_t *wd = &t->wd;

    /* Chinese: the code's words, the hall's English only as the detail. */
    char text[2048];
    s_sidebar(w, wd, "zh-CN", WHY_ZH, text, sizeof text);
    fprintf(stderr, "zh-CN sidebar: %s\n", text);
    hbt_assert_contains_all(text, "R01", "营业厅拒收下发文件", SAY_ZH, WHY_ZH, "详情：",
                            "Asia/Shanghai", NULL);
    /* Before the detail, nothing is the hall's English. */
    const char *detail = strstr(text, "详情：");
    assert_non_null(detail);
    assert_true(strstr(text, "time zone") > detail);
    assert_true(hbt_wd_exec_true(wd, "return document.documentElement.lang === 'zh-CN' &&"
                                     " window.hbDashboard.i18n.missing().length === 0;"));
    hbt_wd_screenshot(wd, "rollout-refusal-alert-zh");

    /* An alert with no code, or one the page has no words for: the hall's
     * text, as before, with no detail beside it; an older hqd's alert (no
     * params) reads from its subject. */
    char said[512];
    s_sentence(wd,
               "{kind: 'document_refused', params: {document: 'policy', code: '',"
               " reason: 'old words: a/b', version: 3}}",
               said, sizeof said);
    assert_string_equal(said, "营业厅拒收政策（版本 3）：old words: a/b");
    s_sentence(wd,
               "{kind: 'document_refused', params: {document: 'calendar', code: 'brand_new',"
               " reason: 'new words', version: 4}}",
               said, sizeof said);
    hbt_assert_contains(said, "new words");
    assert_null(strstr(said, "详情"));
    s_sentence(wd,
               "{kind: 'document_refused', subject: 'policy:old words', value: 5, threshold: 0}",
               said, sizeof said);
    assert_string_equal(said, "营业厅拒收政策（版本 5）：old words");
    hbt_wd_console_clean(wd, true, NULL);

    /* English. */
    s_sidebar(w, wd, "en", WHY_EN, text, sizeof text);
    fprintf(stderr, "en sidebar: %s\n", text);
    hbt_assert_contains_all(text, "R01", "Hall refused a document", SAY_EN, WHY_EN,
                            "(detail: ", "Asia/Shanghai", NULL);
    assert_null(strstr(text, WHY_ZH));
    hbt_wd_screenshot(wd, "rollout-refusal-alert-en");
    hbt_wd_console_clean(wd, true, NULL);
}
