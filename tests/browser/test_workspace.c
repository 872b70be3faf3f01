/* The head office's workspace in a real browser (hqd/dashboard/workspace.js
 * and its editors), against hqd and three real branchd halls on loopback:
 * a city marketer drafts a campaign that breaks two coordination rules
 * (no FAQ, too little lead time) and sees each finding next to its field
 * while typing, fixes both and submits; trying to approve it herself (she
 * is a reviewer too) the page refuses, and HQ's refusal is shown when the
 * button is forced; another reviewer approves and publishes; a policy
 * editor sees the calendar applied at the halls, has a closure with a
 * wrong date refused next to its field, sets it right with a diversion and
 * publishes with a note; the hall then holds the closure's notice ahead of
 * the day (branchd's GET /v1/policy). All of it in Chinese, then the same
 * pages in English. Screenshots go to the build's tests/ folder. Skipped,
 * saying why, without /usr/bin/chromium or /usr/bin/chromedriver. */
#include "browser_fx.h"
#include "harness.h"

#include "hallbus/httpc.h"
#include "webdriver.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#define HALLS 3

typedef struct {
    char root[256];
    hbt_hq_t hq;
    hbt_hall_t halls[HALLS];
    hbt_wd_t b;
} world_t;

static const char *const s_ids[HALLS] = {"B01", "B02", "B03"};

static int s_setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    hbt_hq_halls_start("workspace", w->root, sizeof w->root, &w->hq, w->halls, s_ids, HALLS);
    assert_int_equal(hbt_http(w->hq.http, "PUT", "/v1/org",
                              HBT_REGIONS_ZH
                              "\"halls\":[{\"id\":\"B01\",\"city\":\"C001\",\"name\":\"中山路\"},"
                              "{\"id\":\"B02\",\"city\":\"C001\",\"name\":\"码头\"},"
                              "{\"id\":\"B03\",\"city\":\"C002\",\"name\":\"集市\"}]}",
                              NULL),
                     200);
    /* Halls open round the clock (so that no "not open" alert depends on
     * the hour), published by the admin: policy version 1. */
    assert_int_equal(
        hbt_http(w->hq.http, "PUT", "/v1/policies/national", HBT_POLICY_ALWAYS_OPEN, NULL), 200);
    assert_int_equal(hbt_http(w->hq.http, "POST", "/v1/policies/publish", "{}", NULL), 200);
    assert_int_equal(hbt_http(w->hq.http, "PUT", "/v1/glossary",
                              "{\"terms\":[{\"term\":\"APR\",\"definition\":\"年化利率 annual "
                              "percentage rate\"}]}",
                              NULL),
                     200);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hbt_hq_halls_stop(&w->b, w->root, &w->hq, w->halls, HALLS);
    free(w);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

/* ---------------------------------------------------------------- steps */

static void s_date(char *out, size_t len, int days)
{
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d", &tm);
}

/* Sets an input's value as a date picker or a select does, with the
 * events the page listens to (typing into a date field depends on the
 * browser's locale). */
static void s_set(world_t *w, const char *css, const char *value)
{
    char script[1024];
    snprintf(script, sizeof script,
             "const e = document.querySelector('%s'); if (!e) return false;"
             "e.value = '%s'; e.dispatchEvent(new Event('input', {bubbles: true}));"
             "e.dispatchEvent(new Event('change', {bubbles: true})); return true;",
             css, value);
    if (!hbt_wd_exec_true(&w->b, script))
        fail_msg("no element %s to set", css);
}

static void s_wait(world_t *w, const char *script, int ms, const char *what)
{
    hbt_wd_wait_in(&w->b, "workspace", script, ms, what);
}

/* Presses `css` and waits as s_wait. */
static void s_press(world_t *w, const char *css, const char *script, int ms, const char *what)
{
    hbt_wd_press_wait(&w->b, css, "workspace", script, ms, what);
}

static void s_sign_in_as(world_t *w, const char *lang, const char *name, const char *password)
{
    hbt_wd_sign_in_at(&w->b, w->hq.http, lang, name, password);
    s_wait(w,
           "return document.body.dataset.auth === 'in' &&"
           " !document.getElementById('tab-workspace').hidden;",
           10000, "the workspace tab after signing in");
    s_press(w, "#tab-workspace",
            "return !document.getElementById('view-workspace').hidden &&"
            " !!document.querySelector('.ws-nav [role=tab]');",
            10000, "the workspace");
}

static void s_open_part(world_t *w, const char *part)
{
    char css[80], script[256];
    snprintf(css, sizeof css, "#ws-tab-%s", part);
    hbt_wd_click_css(&w->b, css);
    snprintf(script, sizeof script, "return !document.getElementById('ws-%s').hidden;", part);
    s_wait(w, script, 5000, part);
}

/* No key shown as itself: every text of the workspace is in the catalogue. */
static void s_all_worded(world_t *w)
{
    if (!hbt_wd_exec_true(
            &w->b, "return !document.getElementById('workspace').innerText.includes('⟦');")) {
        json_t *t = hbt_wd_exec(&w->b, "return document.getElementById('workspace').innerText;");
        fail_msg("a text of the workspace is missing from its catalogue: %.1500s",
                 json_string_value(t));
    }
}

/* A screenshot named `shot`, then the console checked (hbt_wd_console_clean:
 * nothing failed but a 404, the sign-in's 401 and what `also` names). */
static void s_shot_clean(world_t *w, const char *shot, const char *also)
{
    hbt_wd_screenshot(&w->b, shot);
    hbt_wd_console_clean(&w->b, true, also);
}

static int s_findings(world_t *w)
{
    json_t *v = hbt_wd_exec(&w->b, "return document.querySelectorAll('#ce-form .finding').length;");
    int n = (int)json_integer_value(v);
    json_decref(v);
    return n;
}

/* The marketer's draft, both findings at their fields, fixed, submitted. */
static void s_marketer(world_t *w)
{
    char start[16], end[16];
    s_sign_in_as(w, "zh-CN", "mara", "mara-pass-1");
    s_open_part(w, "campaigns");
    s_wait(w, "return !!document.getElementById('cl-new');", 5000, "the new campaign button");
    s_press(w, "#cl-new", "return !!document.getElementById('ce-form');", 5000, "the editor");
    hbt_wd_type_css(&w->b, "#ce-id", "harbour-spring");
    hbt_wd_type_css(&w->b, "#ce-title", "港湾春季储蓄");
    s_set(w, "#ce-region", "C001");
    hbt_wd_click_css(&w->b, ".sc-region[value=\"C001\"]");
    s_date(start, sizeof start, 2); /* the policy wants 7 days' notice */
    s_date(end, sizeof end, 20);
    s_set(w, "#ce-start", start);
    s_set(w, "#ce-end", end);
    hbt_wd_type_css(&w->b, "#ce-products", "savings-plus");
    hbt_wd_type_css(&w->b, "#ce-segment", "零售客户");
    hbt_wd_type_css(&w->b, "#ce-text-kiosk", "本月开立储蓄账户,礼品相送。");
    /* No FAQ and too soon: two findings, each at its field, as typed. */
    s_wait(w,
           "return document.getElementById('ce-status').dataset.state === 'errors' &&"
           " !!document.querySelector('.field[data-field=\"faq\"] .finding[data-rule=\"faq\"]') &&"
           " !!document.querySelector('.field[data-field=\"dates\"] "
           ".finding[data-rule=\"lead_time\"]');",
           10000, "the two findings next to the FAQ and the dates");
    assert_int_equal(s_findings(w), 2);
    s_all_worded(w);
    hbt_wd_screenshot(&w->b, "workspace-zh-findings");

    /* Fixed: an FAQ entry, a start a fortnight out. */
    hbt_wd_click_css(&w->b, "#ce-faq-add");
    hbt_wd_type_css(&w->b, "#ce-faq li:last-child .faq-q", "谁可以参加?");
    hbt_wd_type_css(&w->b, "#ce-faq li:last-child .faq-a", "年满十八岁的客户都可以。");
    s_date(start, sizeof start, 14);
    s_set(w, "#ce-start", start);
    s_wait(w,
           "return document.getElementById('ce-status').dataset.state === 'ok' &&"
           " document.querySelectorAll('#ce-form .finding').length === 0;",
           10000, "the check passing once both are fixed");
    /* While the draft was incomplete the check answered 400 (shown next to
     * the field it names); nothing else may have failed. */
    s_shot_clean(w, "workspace-zh-fixed", "/v1/calendar/check");
    s_press(w, "#ce-submit",
            "const s = document.getElementById('ce-state');"
            " return !!s && s.dataset.state === 'submitted';",
            10000, "the campaign submitted");
    assert_true(hbt_wd_exec_true(&w->b, "return !!document.querySelector('#ce-history "
                                        "li[data-action=\"submit\"][data-by=\"mara\"]');"));

    /* Four eyes: her own campaign's approve button is disabled; forced, HQ
     * refuses and the page says so. */
    s_open_part(w, "review");
    s_wait(w,
           "const b = document.querySelector('.rv-card[data-campaign=\"harbour-spring\"] "
           ".rv-approve');"
           " return !!b && b.disabled;",
           10000, "the author's approve button disabled");
    assert_true(hbt_wd_exec_true(&w->b, "return !!document.querySelector('.rv-card .four-eyes');"));
    hbt_wd_exec_true(&w->b,
                     "const b = document.querySelector('.rv-card[data-campaign=\"harbour-spring\"] "
                     ".rv-approve');"
                     " b.disabled = false; b.click(); return true;");
    s_wait(w,
           "const r = document.getElementById('rv-refusal');"
           " return r.dataset.status === '403' && r.textContent.includes('four eyes');",
           10000, "HQ's four-eyes refusal shown");
    s_shot_clean(w, "workspace-zh-four-eyes", "approve");
    json_t *c = hbt_get(w->hq.http, "/v1/campaigns/harbour-spring");
    assert_string_equal(json_string_value(json_object_get(c, "state")), "submitted");
    json_decref(c);
}

static void s_reviewer(world_t *w)
{
    s_sign_in_as(w, "zh-CN", "rita", "rita-pass-1");
    s_open_part(w, "review");
    s_wait(w,
           "const b = document.querySelector('.rv-card[data-campaign=\"harbour-spring\"] "
           ".rv-approve');"
           " return !!b && !b.disabled;",
           10000, "the reviewer's approve button");
    assert_true(hbt_wd_exec_true(
        &w->b, "return document.querySelectorAll('.rv-card table.diff tr.changed').length > 0;"));
    hbt_wd_screenshot(&w->b, "workspace-zh-review");
    s_press(w, ".rv-card[data-campaign=\"harbour-spring\"] .rv-approve",
            "const b = "
            "document.querySelector('.rv-card[data-campaign=\"harbour-spring\"][data-state="
            "\"approved\"] .rv-publish');"
            " return !!b && !b.disabled;",
            10000, "the approved campaign's publish button");
    s_press(w, ".rv-card[data-campaign=\"harbour-spring\"] .rv-publish",
            "return document.getElementById('rv-status').textContent.includes('harbour-spring') &&"
            " !document.querySelector('.rv-card[data-campaign=\"harbour-spring\"]');",
            10000, "the campaign published");
    json_t *c = hbt_get(w->hq.http, "/v1/campaigns/harbour-spring");
    assert_string_equal(json_string_value(json_object_get(c, "state")), "published");
    json_decref(c);
    /* The Gantt chart: the campaign at both halls of the city, not in C002. */
    s_open_part(w, "calendar");
    s_wait(w,
           "return !!document.querySelector('.g-hall[data-hall=\"B01\"] "
           ".g-bar[data-campaign=\"harbour-spring\"]') &&"
           " !!document.querySelector('.g-hall[data-hall=\"B02\"] "
           ".g-bar[data-campaign=\"harbour-spring\"]') &&"
           " !document.querySelector('.g-hall[data-hall=\"B03\"]');",
           10000, "the campaign on the Gantt chart");
    s_all_worded(w);
    hbt_wd_screenshot(&w->b, "workspace-zh-gantt");
}

/* The policy editor: the calendar's rollout, a closure refused then set. */
static void s_policy_editor(world_t *w, int64_t calendar_version)
{
    char from[16], to[16], bad[16], script[1024];
    s_sign_in_as(w, "zh-CN", "pia", "pia-pass-1");
    s_open_part(w, "calendar");
    snprintf(
        script, sizeof script,
        "const b = document.querySelector('#ws-rollout .ro-row[data-kind=\"calendar\"]"
        "[data-version=\"%lld\"] [data-part=\"applied\"] b'); return !!b && b.textContent === '2';",
        (long long)calendar_version);
    /* A city's editor sees the rollout of the city's two halls. The view
     * is read when opened: open it again until the halls caught up. */
    int64_t deadline = hbt_now_ms() + 20000;
    while (!hbt_wd_exec_true(&w->b, script) && hbt_now_ms() < deadline) {
        hbt_sleep_ms(500);
        s_open_part(w, "policies");
        s_open_part(w, "calendar");
    }
    s_wait(w, script, 1000, "the calendar version applied at both halls of C001 in the rollout");
    hbt_wd_screenshot(&w->b, "workspace-zh-rollout");

    s_open_part(w, "policies");
    s_wait(w, "return !!document.getElementById('pe-scope');", 5000, "the policy editor");
    s_set(w, "#pe-scope", "hall/B01");
    s_wait(w,
           "return !!document.getElementById('pe-closure-add') &&"
           " document.querySelector('#pe-effective h3').textContent.includes('B01');",
           5000, "hall B01's policy");
    hbt_wd_click_css(&w->b, "#pe-closure-add");
    s_date(from, sizeof from, 3);
    s_date(to, sizeof to, 5);
    s_date(bad, sizeof bad, 1);
    hbt_wd_type_css(&w->b, "#pe-closures li:last-child .cl-id", "works");
    s_set(w, "#pe-closures li:last-child .cl-from", from);
    s_set(w, "#pe-closures li:last-child .cl-to", bad);
    s_set(w, "#pe-closures li:last-child .cl-divert", "B02");
    hbt_wd_type_css(&w->b, "#pe-closures li:last-child .cl-notice",
                    "本网点装修停业,请到码头网点办理。");
    s_press(w, "#pe-save",
            "const f = document.querySelector('.field[data-path=\"closures\"] .finding');"
            " return !!f && f.dataset.path === 'closures.works.to';",
            10000, "the closure's wrong end date refused next to the closures");
    s_shot_clean(w, "workspace-zh-policy-refused", "/v1/policies/halls/B01");
    s_set(w, "#pe-closures li:last-child .cl-to", to);
    s_press(w, "#pe-save",
            "return !!document.querySelector('#pe-effective "
            "tr[data-path=\"closures.works\"][data-from=\"hall/B01\"]');",
            10000, "the closure in B01's effective policy, set by the hall");
    hbt_wd_type_css(&w->b, "#pe-note", "中山路网点装修");
    s_press(w, "#pe-publish",
            "return document.getElementById('pe-status').dataset.version === '2';", 10000,
            "policy version 2 published");
    s_all_worded(w);
    hbt_wd_screenshot(&w->b, "workspace-zh-policy");
    /* The note is in the audit record of the publish; an oversized one is
     * refused and publishes nothing. */
    json_t *audit = hbt_get(w->hq.http, "/v1/audit?who=pia&limit=20");
    bool noted = false;
    json_t *rec;
    size_t k;
    json_array_foreach (json_object_get(audit, "records"), k, rec) {
        const char *route = json_string_value(json_object_get(rec, "route"));
        const char *reason = json_string_value(json_object_get(rec, "reason"));
        noted |= route && strcmp(route, "/v1/policies/publish") == 0 && reason &&
                 strcmp(reason, "中山路网点装修") == 0 && hbt_int(rec, "after") == 2;
    }
    json_decref(audit);
    assert_true(noted);
    char big[700];
    memset(big, 'x', sizeof big);
    memcpy(big, "{\"note\":\"", 9);
    memcpy(big + sizeof big - 3, "\"}", 3);
    json_t *out = NULL;
    assert_int_equal(hbt_http(w->hq.http, "POST", "/v1/policies/publish", big, &out), 400);
    assert_non_null(strstr(json_string_value(json_object_get(out, "reason")), "at most 500"));
    json_decref(out);

    /* The hall holds the notice ahead of the day. */
    deadline = hbt_now_ms() + 20000;
    bool ahead = false;
    while (!ahead && hbt_now_ms() < deadline) {
        json_t *p = hbt_get(w->halls[0].http, "/v1/policy");
        json_t *pol = json_object_get(p, "policy") ? json_object_get(p, "policy") : p;
        json_t *cl = json_object_get(json_object_get(pol, "closures"), "works");
        const char *notice = json_string_value(json_object_get(cl, "notice"));
        const char *f = json_string_value(json_object_get(cl, "from"));
        json_t *dv = json_object_get(cl, "divert_to");
        ahead = notice && strstr(notice, "码头") && f && strcmp(f, from) == 0 &&
                json_array_size(dv) == 1 &&
                strcmp(json_string_value(json_array_get(dv, 0)), "B02") == 0;
        json_decref(p);
        if (!ahead)
            hbt_sleep_ms(200);
    }
    if (!ahead)
        fail_msg("hall B01 does not hold the closure's notice and diversion within 20 s");
    char today[16];
    s_date(today, sizeof today, 0);
    fprintf(stderr,
            "policy: B01 holds closure 'works' from %s with its notice and diversion on %s\n", from,
            today);
}

/* The same pages in English. */
static void s_english(world_t *w)
{
    s_sign_in_as(w, "en", "mara", "mara-pass-1");
    s_wait(w, "return document.getElementById('ws-tab-campaigns').textContent === 'Campaigns';",
           5000, "the workspace in English");
    s_open_part(w, "campaigns");
    s_wait(w,
           "return !!document.querySelector('table[data-state=\"published\"] "
           "tr[data-campaign=\"harbour-spring\"]');",
           5000, "the published campaign in the list");
    s_all_worded(w);
    hbt_wd_screenshot(&w->b, "workspace-en-list");
    s_press(w, "tr[data-campaign=\"harbour-spring\"] button.link",
            "return !!document.querySelector('#ce-history "
            "li[data-action=\"publish\"][data-by=\"rita\"]') &&"
            " document.getElementById('ce-state').textContent === 'Published';",
            5000, "the campaign's history in English");
    s_all_worded(w);
    hbt_wd_screenshot(&w->b, "workspace-en-campaign");
    s_open_part(w, "calendar");
    s_wait(w,
           "return !!document.querySelector('.g-bar[data-campaign=\"harbour-spring\"]') &&"
           " document.querySelector('#ws-gantt h2').textContent.startsWith('Campaign calendar');",
           5000, "the Gantt chart in English");
    hbt_wd_screenshot(&w->b, "workspace-en-gantt");
    s_sign_in_as(w, "en", "pia", "pia-pass-1");
    s_open_part(w, "policies");
    /* The editor draws once its data is read: wait for it, as the Chinese
     * pass does (setting the scope before it was there failed now and then). */
    s_wait(w, "return !!document.getElementById('pe-scope');", 5000, "the policy editor");
    s_set(w, "#pe-scope", "hall/B01");
    s_wait(
        w,
        "return !!document.querySelector('#pe-effective tr[data-path=\"closures.works\"]') &&"
        " document.querySelector('#pe-effective h3').textContent.startsWith('Effective policy');",
        5000, "the policy editor in English");
    s_all_worded(w);
    s_shot_clean(w, "workspace-en-policy", NULL);
}

HBT_TEST(test_catalogues_served)
{
    world_t *w = *state;
    json_t *out = NULL;
    /* The catalogues come from the dashboard's i18n/ folder; nothing else
     * below the folder is reachable. */
    hb_httpc_resp_t r;
    assert_int_equal(hbt_http_raw(w->hq.http, "GET", "/i18n/editors.en.js", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "export default"));
    hb_httpc_resp_free(&r);
    assert_int_equal(hbt_http(w->hq.http, "GET", "/i18n/nothing.js", NULL, &out), 404);
    json_decref(out);
    assert_int_equal(hbt_http(w->hq.http, "GET", "/i18n/..%2fapp.js", NULL, &out), 400);
    json_decref(out);
    assert_int_equal(hbt_http(w->hq.http, "POST", "/i18n/editors.en.js", "{}", &out), 405);
    json_decref(out);
}

HBT_TEST(test_workspace)
{
    world_t *w = *state;
    hbt_wd_need();
    char tok[64];
    hbt_hq_user(&w->hq, "mara", tok, "--role", "marketer", "--role", "reviewer", "--scope", "C001",
                NULL);
    hbt_hq_password(&w->hq, "mara", "mara-pass-1");
    hbt_hq_user(&w->hq, "rita", tok, "--role", "reviewer", "--scope", "C001", NULL);
    hbt_hq_password(&w->hq, "rita", "rita-pass-1");
    hbt_hq_user(&w->hq, "pia", tok, "--role", "policy_editor", "--scope", "C001", NULL);
    hbt_hq_password(&w->hq, "pia", "pia-pass-1");
    hbt_wd_start(&w->b, w->root);
    s_marketer(w);
    s_reviewer(w);
    json_t *roll = hbt_get(w->hq.http, "/v1/rollout");
    int64_t cv = hbt_int(json_object_get(roll, "calendar"), "version");
    json_decref(roll);
    assert_true(cv >= 1);
    s_policy_editor(w, cv);
    s_english(w);
    hbt_wd_stop(&w->b);
}

/* A reviewer on another machine sees what changed since the last review:
 * Rita returns the campaign through the API (no browser of hers at all),
 * the marketer changes its title and submits again, and Remi, signing in
 * to a browser that never saw the campaign, finds the title marked as
 * changed, Rita's title beside the new one, and who returned it. Then an
 * administrator edits the glossary's examples: a blank example is shown as
 * a problem next to that example, and nothing is saved until it is fixed. */
HBT_TEST(test_review_changes_from_server)
{
    world_t *w = *state;
    hbt_wd_need();
    char mara[64], rita[64], remi[64], start[16], end[16], doc[2048];
    hbt_hq_user(&w->hq, "mara", mara, "--role", "marketer", "--scope", "C001", NULL);
    hbt_hq_user(&w->hq, "rita", rita, "--role", "reviewer", "--scope", "C001", NULL);
    hbt_hq_user(&w->hq, "remi", remi, "--role", "reviewer", "--scope", "C001", NULL);
    hbt_hq_password(&w->hq, "remi", "remi-pass-1");
    hbt_hq_password(&w->hq, "admin", "admin-pass-1");
    s_date(start, sizeof start, 14);
    s_date(end, sizeof end, 30);
    static const char *const titles[2] = {"港湾春季储蓄", "港湾春季储蓄 年利率 2.1%"};
    for (int round = 0; round < 2; round++) {
        snprintf(
            doc, sizeof doc,
            "{\"id\":\"harbour-spring\",\"title\":\"%s\",\"level\":\"city\",\"region\":\"C001\","
            "\"scope\":{\"regions\":[\"C001\"]},\"start\":\"%s\",\"end\":\"%s\","
            "\"products\":[\"savings-plus\"],\"business_types\":[],\"segment\":\"零售客户\","
            "\"channels\":[\"kiosk\"],\"texts\":{\"kiosk\":\"本月开立储蓄账户,礼品相送。\"},"
            "\"faq\":[{\"question\":\"谁可以参加?\",\"answer\":\"年满十八岁的客户。\"}]}",
            titles[round], start, end);
        json_t *resp = NULL;
        assert_int_equal(hbt_http_as(w->hq.http, mara, NULL, round ? "PUT" : "POST",
                                     round ? "/v1/campaigns/harbour-spring" : "/v1/campaigns", doc,
                                     &resp),
                         round ? 200 : 201);
        json_decref(resp);
        assert_int_equal(hbt_http_as(w->hq.http, mara, NULL, "POST",
                                     "/v1/campaigns/harbour-spring/submit", "{}", &resp),
                         200);
        json_decref(resp);
        if (round == 0) {
            assert_int_equal(hbt_http_as(w->hq.http, rita, NULL, "POST",
                                         "/v1/campaigns/harbour-spring/return",
                                         "{\"note\":\"请写明利率\"}", &resp),
                             200);
            json_decref(resp);
        }
    }

    hbt_wd_start(&w->b, w->root);
    s_sign_in_as(w, "zh-CN", "remi", "remi-pass-1");
    /* This browser holds nothing of the campaign: the comparison is HQ's. */
    assert_true(hbt_wd_exec_true(
        &w->b, "return !Object.keys(localStorage).some((k) => k.includes('harbour-spring'));"));
    s_open_part(w, "review");
    s_wait(w,
           "return !!document.querySelector('.rv-card[data-campaign=\"harbour-spring\"] "
           ".rv-diff[data-since]"
           " tr.changed[data-member=\"title\"]');",
           10000, "the title marked as changed since the last review");
    json_t *cells = hbt_wd_exec(
        &w->b,
        "const r = document.querySelector('.rv-card[data-campaign=\"harbour-spring\"]"
        " tr[data-member=\"title\"]'); return [r.cells[1].textContent, r.cells[2].textContent,"
        " document.querySelector('.rv-card[data-campaign=\"harbour-spring\"] "
        ".rv-diff').textContent,"
        " document.querySelectorAll('.rv-card[data-campaign=\"harbour-spring\"] "
        "tr.changed').length];");
    assert_string_equal(json_string_value(json_array_get(cells, 0)), titles[0]);
    assert_string_equal(json_string_value(json_array_get(cells, 1)), titles[1]);
    hbt_assert_contains(json_string_value(json_array_get(cells, 2)), "rita");
    hbt_assert_contains(json_string_value(json_array_get(cells, 2)), "退回");
    /* Only the title changed: the dates stay unmarked. */
    assert_int_equal(json_integer_value(json_array_get(cells, 3)), 1);
    json_decref(cells);
    s_all_worded(w);
    s_shot_clean(w, "workspace-zh-review-since", NULL);

    /* The glossary's examples, with problems next to their field. */
    s_sign_in_as(w, "zh-CN", "admin", "admin-pass-1");
    s_open_part(w, "glossary");
    s_wait(w, "return !!document.querySelector('#gl-rows tr.gl-row .gl-example-add');", 10000,
           "the glossary editor with its examples");
    hbt_wd_click_css(&w->b, "#gl-rows tr.gl-row:first-child .gl-example-add");
    hbt_wd_click_css(&w->b, "#gl-rows tr.gl-row:first-child .gl-example-add");
    hbt_wd_type_css(&w->b, "#gl-rows tr.gl-row:first-child .gl-example-row:first-child .gl-example",
                    "贷款 10000 元一年,APR 5% 约付 500 元利息。");
    s_press(
        w, "#gl-save",
        "const li = document.querySelectorAll('#gl-rows tr.gl-row:first-child .gl-example-row')[1];"
        " return !!li && !!li.querySelector('.finding[data-field=\"example\"]') &&"
        " !document.querySelector('#gl-rows .gl-example-row:first-child .finding');",
        5000, "the blank example's problem next to it, and none at the other");
    hbt_wd_screenshot(&w->b, "workspace-zh-glossary-error");
    json_t *g = hbt_get(w->hq.http, "/v1/glossary");
    assert_null(json_object_get(json_array_get(json_object_get(g, "terms"), 0), "examples"));
    json_decref(g);
    hbt_wd_type_css(&w->b,
                    "#gl-rows tr.gl-row:first-child .gl-example-row:nth-child(2) .gl-example",
                    "信用卡分期的 APR 常高于名义利率。");
    s_press(w, "#gl-save",
            "return document.getElementById('gl-status').textContent.length > 0 &&"
            " document.querySelectorAll('#gl-rows .gl-example').length === 2;",
            5000, "the glossary saved with two examples");
    g = hbt_get(w->hq.http, "/v1/glossary");
    json_t *ex = json_object_get(json_array_get(json_object_get(g, "terms"), 0), "examples");
    assert_int_equal(json_array_size(ex), 2);
    assert_string_equal(json_string_value(json_array_get(ex, 1)),
                        "信用卡分期的 APR 常高于名义利率。");
    json_decref(g);
    s_all_worded(w);
    s_shot_clean(w, "workspace-zh-glossary", NULL);
    hbt_wd_stop(&w->b);
}

/* A hall that refuses a document shows as refused, with its reason, in the
 * workspace's rollout view, and its alert is worded in the page: B03 runs
 * with a zone folder that lacks Asia/Shanghai (an old tzdata), and a policy
 * in that zone is published. In Chinese, then in English. */
HBT_TEST(test_rollout_shows_refusal)
{
    world_t *w = *state;
    hbt_wd_need();
    char tzdir[400];
    snprintf(tzdir, sizeof tzdir, "%s/no-zones", w->root);
    hbt_hall_stop(&w->halls[2], SIGTERM);
    setenv("TZDIR", tzdir, 1); /* read by branchd when it starts */
    hbt_hall_start(&w->halls[2]);
    unsetenv("TZDIR");
    assert_int_equal(hbt_http(w->hq.http, "PUT", "/v1/policies/national",
                              "{\"timezone\":\"Asia/Shanghai\",\"opening_hours\":{"
                              "\"mon\":[\"00:00-24:00\"],\"tue\":[\"00:00-24:00\"],"
                              "\"wed\":[\"00:00-24:00\"],\"thu\":[\"00:00-24:00\"],"
                              "\"fri\":[\"00:00-24:00\"],\"sat\":[\"00:00-24:00\"],"
                              "\"sun\":[\"00:00-24:00\"]}}",
                              NULL),
                     200);
    json_t *pub = NULL;
    assert_int_equal(hbt_http(w->hq.http, "POST", "/v1/policies/publish", "{}", &pub), 200);
    int64_t v = hbt_int(pub, "version");
    json_decref(pub);
    int64_t deadline = hbt_now_ms() + 20000;
    bool refused = false;
    while (!refused && hbt_now_ms() < deadline) {
        json_t *r = hbt_get(w->hq.http, "/v1/rollout");
        json_t *p = json_object_get(r, "policy");
        refused =
            hbt_int(p, "version") == v && hbt_int(p, "refused") == 1 && hbt_int(p, "applied") == 2;
        json_decref(r);
        if (!refused)
            hbt_sleep_ms(200);
    }
    assert_true(refused);

    hbt_hq_password(&w->hq, "admin", "admin-pass-1");
    hbt_wd_start(&w->b, w->root);
    static const struct {
        const char *lang, *by_hall, *alert;
    } langs[] = {{"zh-CN", "网点拒收第", "营业厅拒收政策"},
                 {"en", "the hall refused version", "the hall refused the policy version"}};
    for (size_t i = 0; i < 2; i++) {
        s_sign_in_as(w, langs[i].lang, "admin", "admin-pass-1");
        s_open_part(w, "calendar");
        s_wait(w,
               "return !!document.querySelector('#ws-rollout .ro-row[data-kind=\"policy\"]"
               " .ro-refusals li[data-hall=\"B03\"][data-by=\"hall\"]');",
               10000, "B03's refusal listed under the policy's rollout");
        json_t *txt = hbt_wd_exec(&w->b, "return document.querySelector('#ws-rollout .ro-refusals"
                                         " li[data-hall=\"B03\"]').textContent;");
        const char *s = json_string_value(txt);
        assert_non_null(s);
        fprintf(stderr, "rollout (%s): %s\n", langs[i].lang, s);
        hbt_assert_contains(s, langs[i].by_hall);
        hbt_assert_contains(s, "Asia/Shanghai");
        json_decref(txt);
        char script[400];
        snprintf(script, sizeof script, "return document.body.innerText.includes('%s');",
                 langs[i].alert);
        s_wait(w, script, 15000, "the document_refused alert worded in the page");
        s_all_worded(w);
        s_shot_clean(w, i ? "workspace-en-rollout-refused" : "workspace-zh-rollout-refused", NULL);
    }
    hbt_wd_stop(&w->b);
}
