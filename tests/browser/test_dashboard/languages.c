/* The dashboard's words, part of browser.test_dashboard (its world and
 * its tour are test_dashboard.c's): every view in Chinese and in English,
 * each text checked against the language's catalogue, the language kept
 * across loads and set by the address; and English counts worded for one
 * and for several while the Chinese keeps its measure words. Screenshots
 * of each view in each language go next to the test. */
#include "dashboard.h"

#include "harness.h"
#include "webdriver.h"
#include "world.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The page's texts are its catalogue's (any form of a plural text, which
 * must hold every plural category of the language): a script walks every
 * text node and every attribute people read (title, aria-label, placeholder, alt) of
 * what is shown, and the document's title, and answers what is neither a
 * text of the language's catalogue (its placeholders filled with
 * anything), a literal part of one, nor data: figures, ids, times and
 * dates as Intl writes them in the language, and the names this test gave
 * halls, regions, people and campaigns. Pieces are split at the page's
 * separators (" · ", a new line, a list's comma). */
static const char s_lang_check[] =
    "const data = new Set(['hallbus', 'hqd users', 'Main St', 'Quay', 'Market', 'Head office',"
    " 'North', 'Harbour', 'Hill Town', 'South', 'Bay', 'Harbour savings week', 'admin', 'olga', "
    "'mona', 'A', 'B',"
    " 'C', 'vip', 'normal', 'flagship', 'CN', '×', '…', 'savings-plus', 'retail', 'waiting_time']);"
    "const L = window.hbDashboard.i18n.lang; const all = window.hbDashboard.i18n.texts();"
    "const cat = Object.values(all).flatMap((v) => (typeof v === 'string' ? [v] : "
    "Object.values(v)));"
    "const esc = (x) => x.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&');"
    "const whole = []; const frags = new Set();"
    "for (const v of cat) { const parts = v.split(/\\{\\w+\\}/);"
    "  for (const p of parts) for (const q of p.split(/ · |\\n|、|, |:|:/)) if (q.trim()) "
    "frags.add(q.trim());"
    "  const letters = parts.join('').replace(/[^\\p{L}]/gu, '');"
    "  const any = letters.length >= 2 || /[^A-Za-z]/.test(letters);"
    "  if (letters.length) whole.push(new RegExp('^' + parts.map((p) => esc(p.trim()))"
    "    .join(any ? '[\\\\s\\\\S]*?' : '[\\\\d.,\\\\s]+') + '$')); }"
    "const words = new Set();"
    "const fmts = [{month: 'short', day: 'numeric', year: 'numeric'}, {weekday: 'short', month: "
    "'short', day: 'numeric'},"
    " {month: 'short', year: 'numeric'}, {hour: '2-digit', minute: '2-digit', second: '2-digit', "
    "hour12: false},"
    " {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', "
    "hour12: false}];"
    "for (let m = 0; m < 12; m++) for (const f of fmts) for (const d of [1, 12, 28])"
    "  for (const p of new Intl.DateTimeFormat(L, f).formatToParts(new Date(2025, m, d, 14, 5, 9)))"
    "    if (!/^\\d+$/.test(p.value) && p.value.trim()) words.add(p.value.trim());"
    "const wl = [...words].sort((a, b) => b.length - a.length);"
    "const dl = [...data].sort((a, b) => b.length - a.length);"
    "const isData = (x) => { if (data.has(x)) return true;"
    "  let y = x; for (const w of dl) if (w.length > 1) y = y.split(w).join(' ');"
    "  y = y.replace(/[A-Za-z][\\w.\\-]*\\d[\\w:.\\-]*|\\b\\d[\\w:.\\-]*/g, ' ');"
    "  for (const w of wl) y = y.split(w).join(' ');"
    "  return /^[\\d\\s.,:;%+\\-–—−\\/()()×·▲▼=→?#|'\"“”…]*$/.test(y); };"
    "const ok = (x) => { x = x.trim(); if (!x || isData(x) || frags.has(x)) return true;"
    "  return whole.some((r) => r.test(x)); };"
    "const bad = [];"
    "const check = (x, where) => { if (ok(x)) return;"
    "  for (const p of x.split(/ · |\\n|、|, |; /)) if (!ok(p)) { bad.push(`${where}: "
    "${p.trim()}`); return; } };"
    "const shown = (e) => !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility "
    "!== 'hidden';"
    "const tw = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);"
    "for (let n = tw.nextNode(); n; n = tw.nextNode()) { const e = n.parentElement;"
    "  if (!e || e.closest('script,style,code') || !n.textContent.trim()) continue;"
    "  const sel = e.closest('select,datalist'); if (sel ? !shown(sel) && sel.tagName !== "
    "'DATALIST' : !shown(e)) continue;"
    "  check(n.textContent, e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')); }"
    "for (const e of document.querySelectorAll('[title],[aria-label],[placeholder],[alt]')) {"
    "  if (!shown(e) && !shown(e.parentElement)) continue;"
    "  for (const a of ['title', 'aria-label', 'placeholder', 'alt']) if (e.hasAttribute(a))"
    "    check(e.getAttribute(a), `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}[${a}]`); }"
    "check(document.title, 'title');"
    "for (const k of window.hbDashboard.i18n.missing()) bad.push(`no text for key ${k}`);"
    "const forms = new Intl.PluralRules(L).resolvedOptions().pluralCategories;"
    "for (const [k, v] of Object.entries(all)) if (typeof v !== 'string')"
    "  for (const f of forms) if (typeof v[f] !== 'string') bad.push(`no ${f} form for key ${k}`);"
    "return bad.slice(0, 40).join('\\n');";

/* Fails, listing them, when the page shows texts of no catalogue. */
void dash_lang_clean(world_t *w, const char *what)
{
    json_t *v = hbt_wd_exec(&w->b, s_lang_check);
    const char *bad = json_string_value(v);
    if (!bad)
        fail_msg("the language check of %s did not run", what);
    if (bad[0])
        fail_msg("%s shows texts that are in no catalogue of its language:\n%s", what, bad);
    json_decref(v);
}

/* Every view of the page in the language in use (`lang`): the network with
 * B01's detail open, the campaigns and rollout, the reports; each checked
 * and saved as a screenshot (dashboard-<lang>-<view>.png). */
static void s_views_in(world_t *w, const char *lang)
{
    char el[128], name[64];
    snprintf(name, sizeof name, "<html lang=%s>", lang);
    char script[256];
    snprintf(script, sizeof script,
             "return document.documentElement.lang === '%s' && !!window.hbDashboard && "
             "window.hbDashboard.ready &&"
             " document.getElementById('conn-state').dataset.state === 'live';",
             lang);
    if (!hbt_wd_wait_true(&w->b, script, 15000))
        fail_msg("the page in %s did not load within 15 s", lang);
    /* Each view: the tab (and the tile) clicked, what shows it, the check
     * of its words, its screenshot, and what closes it. */
    static const struct {
        const char *tab, *tile, *shown, *what, *view, *close;
    } views[] = {
        {"#tab-network", ".tile[data-hall=\"B01\"]",
         "const d = document.getElementById('hall-detail');"
         "return !d.hidden && d.dataset.hall === 'B01' && Number(d.dataset.renders) > 0 &&"
         " document.querySelector('#detail-typical')?.dataset.loaded === 'true';",
         "the network view and B01's detail", "network", "#hall-detail-close"},
        {"#tab-calendar", NULL,
         "return !!document.querySelector('#calendar li[data-campaign]') &&"
         " !!document.querySelector('#rollout .rollout-row');",
         "the campaigns and rollout view", "calendar", NULL},
        {"#tab-reports", NULL,
         "return document.getElementById('reports').dataset.loaded === 'true';", "the reports view",
         "reports", "#tab-network"},
    };
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        hbt_wd_find_ok(&w->b, views[i].tab, el, sizeof el);
        hbt_wd_click(&w->b, el);
        if (views[i].tile) {
            hbt_wd_find_ok(&w->b, views[i].tile, el, sizeof el);
            hbt_wd_click(&w->b, el);
        }
        if (!hbt_wd_wait_true(&w->b, views[i].shown, 10000))
            fail_msg("%s did not show in %s within 10 s", views[i].what, lang);
        dash_lang_clean(w, views[i].what);
        snprintf(name, sizeof name, "dashboard-%s-%s", lang, views[i].view);
        hbt_wd_screenshot(&w->b, name);
        if (views[i].close) {
            hbt_wd_find_ok(&w->b, views[i].close, el, sizeof el);
            hbt_wd_click(&w->b, el);
        }
    }
}

/* Chinese first, the whole page; then English through the header's
 * switch, remembered by the browser across loads; then ?lang=zh-CN in the
 * address, which wins over what was remembered. The sign-in form is
 * checked in both (s_sign_in_page, s_other_people). */
void dash_languages(world_t *w)
{
    char el[128];
    assert_true(
        hbt_wd_exec_true(&w->b, "return document.documentElement.lang === 'zh-CN' &&"
                                " document.getElementById('tab-network').textContent === '全网';"));
    s_views_in(w, "zh-CN");

    hbt_wd_find_ok(&w->b, "#lang-switch button[data-lang=\"en\"]", el, sizeof el);
    hbt_wd_click(&w->b, el);
    s_views_in(w, "en");
    assert_true(hbt_wd_exec_true(
        &w->b, "return document.getElementById('tab-network').textContent === 'Network' &&"
               " location.search.includes('lang=en');"));
    /* Remembered: the plain address opens in English. */
    dash_open(w, "",
              "return document.documentElement.lang === 'en' && !!window.hbDashboard && "
              "window.hbDashboard.ready;",
              15000, "the plain address did not open in the remembered English");
    /* The address wins, and is remembered in turn. */
    dash_open(w, "?lang=zh-CN",
              "return document.documentElement.lang === 'zh-CN' && !!window.hbDashboard && "
              "window.hbDashboard.ready &&"
              " localStorage.getItem('hallbus.lang') === 'zh-CN';",
              15000, "?lang=zh-CN did not open the page in Chinese");
}

/* The organisation with B03 alone in a second province's only city, so
 * that the network view has a province of one hall in one city. */
static const char s_org_split[] =
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"Head office\",\"level\":\"national\"},"
    "{\"id\":\"P01\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"
    "{\"id\":\"C001\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P01\"},"
    "{\"id\":\"P02\",\"name\":\"South\",\"level\":\"province\",\"parent\":\"CN\"},"
    "{\"id\":\"C003\",\"name\":\"Bay\",\"level\":\"city\",\"parent\":\"P02\"}],"
    "\"halls\":[{\"id\":\"B01\",\"city\":\"C001\",\"name\":\"Main St\",\"tags\":[\"flagship\"]},"
    "{\"id\":\"B02\",\"city\":\"C001\",\"name\":\"Quay\"},"
    "{\"id\":\"B03\",\"city\":\"C003\",\"name\":\"Market\"}]}";

/* The browser's window sized so that the page sees `width` x `height`
 * (what a screenshot holds): the window's frame added. */
static void s_viewport(world_t *w, int width, int height)
{
    json_decref(hbt_wd_ok(&w->b, "POST", "/window/rect",
                          json_pack("{s:i,s:i}", "width", width, "height", height)));
    json_t *v = hbt_wd_exec(&w->b, "return [window.outerWidth - window.innerWidth,"
                                   " window.outerHeight - window.innerHeight];");
    json_decref(
        hbt_wd_ok(&w->b, "POST", "/window/rect",
                  json_pack("{s:I,s:I}", "width",
                            (json_int_t)width + json_integer_value(json_array_get(v, 0)), "height",
                            (json_int_t)height + json_integer_value(json_array_get(v, 1)))));
    json_decref(v);
}

/* hqd's open alerts of each hall (s_ids' order). */
static void s_hall_alerts(world_t *w, int64_t alerts[HALLS])
{
    json_t *board = hbt_get(w->hq.http, "/v1/live/halls");
    json_t *arr = json_object_get(board, "halls");
    for (int i = 0; i < HALLS; i++) {
        alerts[i] = -1;
        for (size_t k = 0; k < json_array_size(arr); k++) {
            json_t *t = json_array_get(arr, k);
            if (strcmp(hbt_str(t, "hall"), dash_ids[i]) == 0)
                alerts[i] = hbt_int(t, "alerts");
        }
    }
    json_decref(board);
}

/* Waits until the figures of the region `css` (a province's or a city's
 * head) hold a piece matching each of the patterns `want` (regular
 * expressions without backslashes, each matching a whole piece; the page
 * joins the pieces with " · "). */
static void s_figs_hold(world_t *w, const char *css, const char *const *want, size_t n)
{
    char script[2048], list[1024] = "";
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s'%s'", i ? ", " : "", want[i]);
    snprintf(script, sizeof script,
             "const e = document.querySelector('%s .figs'); if (!e) return false;"
             "const p = e.textContent.split(' · '); const want = [%s];"
             "return want.every((x) => p.some((q) => new RegExp('^(' + x + ')$').test(q)));",
             css, list);
    if (!hbt_wd_wait_true(&w->b, script, 10000)) {
        snprintf(script, sizeof script,
                 "const e = document.querySelector('%s .figs'); return e ? e.textContent : '';",
                 css);
        json_t *v = hbt_wd_exec(&w->b, script);
        fail_msg("%s's figures read \"%s\", not with \"%s\"", css, json_string_value(v), list);
    }
}

/* English counts are worded for one and for several (i18n.js's plural
 * texts, chosen by Intl.PluralRules): "3 halls in 2 cities" and "1 hall in
 * 1 city", "2 open alerts" and "1 open alert", a tile's "1 alert"; the
 * Chinese of the same figures reads as before, with its measure words
 * ("1 家营业厅，1 个城市", "1 条未处理告警"). B03 is moved to a province of
 * its own for the one hall in one city, and back at the end. Screenshots
 * in English at 1920x1080 (dashboard-en-counts-*.png). */
void dash_plurals(world_t *w)
{
    /* The halls' open alerts as hqd counts them: B03 one (the ticket it
     * took alone at hqd's restart, past the 1 s SLA), B01 and B02
     * together several. Their tickets wait on, so hqd may raise more
     * there while the test reads the page: "several" is any count from 2
     * (a pattern), "one" is exactly 1. */
    int64_t a[HALLS] = {0};
    int64_t deadline = hbt_now_ms() + 20000;
    do {
        s_hall_alerts(w, a);
        if (a[2] == 1 && a[0] + a[1] >= 2)
            break;
        hbt_sleep_ms(200);
    } while (hbt_now_ms() < deadline);
    if (a[2] != 1 || a[0] + a[1] < 2)
        fail_msg("hqd counts %lld, %lld and %lld open alerts at B01, B02, B03, not several in "
                 "C001 and one at B03",
                 (long long)a[0], (long long)a[1], (long long)a[2]);
    fprintf(stderr, "counts: open alerts B01 %lld, B02 %lld, B03 %lld\n", (long long)a[0],
            (long long)a[1], (long long)a[2]);
    s_viewport(w, 1920, 1080);
    const char *en = "return document.documentElement.lang === 'en' && !!window.hbDashboard &&"
                     " window.hbDashboard.ready &&"
                     " document.getElementById('conn-state').dataset.state === 'live';";
    const char *zh = "return document.documentElement.lang === 'zh-CN' && !!window.hbDashboard &&"
                     " window.hbDashboard.ready &&"
                     " document.getElementById('conn-state').dataset.state === 'live';";
    const char *several = "([2-9]|[1-9][0-9]+) open alerts", *one = "1 open alert";
    dash_open(w, "?lang=en", en, 15000, "the page did not open in English");
    const char *p01[] = {"3 halls in 2 cities"}, *c001[] = {several}, *c002[] = {one};
    s_figs_hold(w, ".province[data-region=\"P01\"]", p01, 1);
    s_figs_hold(w, ".city[data-region=\"C001\"]", c001, 1);
    s_figs_hold(w, ".city[data-region=\"C002\"]", c002, 1);
    assert_true(hbt_wd_exec_true(&w->b,
                                 "return / 1 alert$/.test(document.querySelector("
                                 "'.tile[data-hall=\"B03\"]').getAttribute('aria-label'));"));
    /* The header's words beside its figures: 3 halls, several alerts. */
    assert_true(hbt_wd_exec_true(&w->b,
                                 "return document.getElementById('sum-halls-words').textContent"
                                 " === 'halls' && document.getElementById('sum-alerts-words')"
                                 ".textContent === 'open alerts';"));
    dash_lang_clean(w, "the network's counts in English");
    hbt_wd_screenshot(&w->b, "dashboard-en-counts-several");

    int st = hbt_http(w->hq.http, "PUT", "/v1/org", s_org_split, NULL);
    if (st != 200 && st != 201)
        fail_msg("PUT /v1/org (B03 alone in P02) answered %d", st);
    dash_open(w, "?lang=en", en, 15000, "the page did not open in English");
    const char *p01b[] = {"2 halls in 1 city", several}, *p02[] = {"1 hall in 1 city", one};
    s_figs_hold(w, ".province[data-region=\"P02\"]", p02, 2);
    s_figs_hold(w, ".province[data-region=\"P01\"]", p01b, 2);
    dash_lang_clean(w, "the network's counts of one in English");
    hbt_wd_screenshot(&w->b, "dashboard-en-counts-one");

    /* The same figures in Chinese: the words as before plurals. */
    dash_open(w, "?lang=zh-CN", zh, 15000, "the page did not open in Chinese");
    const char *zh_several = "([2-9]|[1-9][0-9]+) 条未处理告警";
    const char *zp02[] = {"1 家营业厅，1 个城市", "1 条未处理告警"},
               *zp01[] = {"2 家营业厅，1 个城市", zh_several};
    s_figs_hold(w, ".province[data-region=\"P02\"]", zp02, 2);
    s_figs_hold(w, ".province[data-region=\"P01\"]", zp01, 2);
    assert_true(hbt_wd_exec_true(&w->b,
                                 "return /，1 条告警$/.test(document.querySelector("
                                 "'.tile[data-hall=\"B03\"]').getAttribute('aria-label'));"));
    hbt_wd_screenshot(&w->b, "dashboard-zh-CN-counts-one");

    st = hbt_http(w->hq.http, "PUT", "/v1/org", dash_org, NULL);
    if (st != 200 && st != 201)
        fail_msg("PUT /v1/org (the halls back in P01) answered %d", st);
    json_decref(hbt_wd_ok(&w->b, "POST", "/window/rect",
                          json_pack("{s:i,s:i}", "width", 1400, "height", 1000)));
    dash_open(w, "?lang=zh-CN", zh, 15000, "the page did not open in Chinese again");
    const char *back[] = {"3 家营业厅，2 个城市"};
    s_figs_hold(w, ".province[data-region=\"P01\"]", back, 1);
}
