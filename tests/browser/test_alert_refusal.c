/* A hall's refusal of a policy, read in the dashboard's alerts sidebar in
 * the reader's language, in a real browser (headless Chromium through
 * ChromeDriver) against real hqd and branchd: hall A01 runs with a
 * time-zone folder that lacks every zone, so its applier refuses the
 * national policy naming Asia/Shanghai with the code unknown_timezone, and
 * HQ raises document_refused; A02 applies it. The sidebar words the alert
 * by its code with the rollout's words (refusals.js), the hall's English
 * text only as the detail: in Chinese on the zh-CN page, in English on the
 * en page. An alert with no code (an older hall, or stored by an older
 * build) or a code the page has no words for shows the hall's text as
 * before. Screenshots go to the build's tests/ folder (alert-refusal-*.png)
 * for a person to look at. Skipped, saying why, without /usr/bin/chromium
 * or /usr/bin/chromedriver. */
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

/* The words of the code "unknown_timezone" (hqd/dashboard/i18n/editors.*.js)
 * and the alert's sentence around them (i18n/zh-CN.js, en.js). */
#define WHY_ZH "网点系统缺少文件指定的时区"
#define WHY_EN "the hall's system lacks the time zone the document names"
#define SAY_ZH "营业厅拒收政策"
#define SAY_EN "the hall refused the policy version"

/* A01's alert in the sidebar. */
#define ITEM "#alert-feed li.alert[data-kind=\"document_refused\"][data-hall=\"A01\"]"

static const hbt_world_spec_t s_world = {.tag = "alert-refusal",
                                         .halls = {"A01", "A02"},
                                         .hq_args = {"--rollout_resend", "1s"},
                                         .engine = true};

typedef struct alert_refusal_test {
    hbt_wd_t wd; /* first: hbt_browser_world_teardown stops it */
} alert_refusal_test_t;

static int s_setup(void **state)
{
    *state = (void *)&s_world;
    hbt_world_setup(state);
    hbt_world_t *w = *state;
    w->test = calloc(1, sizeof(alert_refusal_test_t));
    assert_non_null(w->test);
    hbt_req_ok(w->hq.http, "PUT", "/v1/org",
               HBT_REGIONS_ZH "\"halls\":[{\"id\":\"A01\",\"city\":\"C001\",\"name\":\"港湾东路\"},"
                              "{\"id\":\"A02\",\"city\":\"C001\",\"name\":\"港湾西路\"}]}",
               200);
    /* A01's zone folder holds no zones: the hall with an old tzdata. */
    hbt_hall_start_zoneless(w, &w->hall[0]);
    hbt_hall_start(&w->hall[1]);
    for (int i = 0; i < 2; i++)
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 20000));
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/national",
               "{\"timezone\":\"Asia/Shanghai\"," HBT_HOURS_ALWAYS_OPEN "}", 200);
    hbt_req_ok(w->hq.http, "POST", "/v1/policies/publish", "{}", 200);
    return 0;
}

#define HBT_FIXTURE s_setup, hbt_browser_world_teardown

/* Signs in in `lang` and waits until A01's alert in the sidebar reads
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
    hbt_wd_wait_ok(wd, script, 20000, "A01's document_refused alert worded in the sidebar");
    hbt_wd_exec_str(wd, "return document.querySelector('" ITEM "').innerText;", out, outlen);
    /* In the viewport, and no line of it cut off by its box. */
    assert_true(hbt_wd_exec_true(
        wd, "const li = document.querySelector('" ITEM "'); li.scrollIntoView({block: 'center'});"
            " const r = li.getBoundingClientRect(), d = li.querySelector('.a-detail');"
            " return r.width > 0 && r.top >= 0 && r.bottom <= innerHeight &&"
            " d.scrollWidth <= d.clientWidth && d.scrollHeight <= d.clientHeight + 1;"));
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
    alert_refusal_test_t *t = w->test;
    hbt_wd_need();
    /* What the page will show is there: the alert with the hall's code. */
    json_t *al = hbt_wait_alert(w->hq.http, "A01", "document_refused", 30000);
    assert_non_null(al);
    json_t *params = json_object_get(al, "params");
    fprintf(stderr, "A01's alert: %s / %s\n", hbt_str(params, "code"), hbt_str(params, "reason"));
    assert_string_equal(hbt_str(params, "code"), "unknown_timezone");
    json_decref(al);
    hbt_hq_password(&w->hq, "admin", "admin-pass-1");
    hbt_wd_start(&t->wd, w->root);
    hbt_wd_t *wd = &t->wd;

    /* Chinese: the code's words, the hall's English only as the detail. */
    char text[2048];
    s_sidebar(w, wd, "zh-CN", WHY_ZH, text, sizeof text);
    fprintf(stderr, "zh-CN sidebar: %s\n", text);
    hbt_assert_contains_all(text, "A01", "营业厅拒收下发文件", SAY_ZH, WHY_ZH, "详情：",
                            "Asia/Shanghai", NULL);
    /* Before the detail, nothing is the hall's English. */
    const char *detail = strstr(text, "详情：");
    assert_non_null(detail);
    assert_true(strstr(text, "time zone") > detail);
    assert_true(hbt_wd_exec_true(wd, "return document.documentElement.lang === 'zh-CN' &&"
                                     " window.hbDashboard.i18n.missing().length === 0;"));
    hbt_wd_screenshot(wd, "alert-refusal-zh");

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
    hbt_assert_contains_all(text, "A01", "Hall refused a document", SAY_EN, WHY_EN,
                            "(detail: ", "Asia/Shanghai", NULL);
    assert_null(strstr(text, WHY_ZH));
    hbt_wd_screenshot(wd, "alert-refusal-en");
    hbt_wd_console_clean(wd, true, NULL);
}
