/* The live trends in a real browser (hqd/dashboard/trends.js), against hqd
 * and two real branchd halls on loopback that served tickets minutes ago
 * and on the same weekday a week ago: the network view's chart of today
 * per 15 minutes (served, typical, waiting) with its legend, the chart of
 * a region picked in the list, and a hall's chart in its detail, first in
 * Chinese, then in English; the worst halls now are still there. The
 * figures the page shows are checked against GET /v1/trends. Screenshots
 * go to the build's tests/ folder (trends-*.png). Skipped, saying why,
 * without /usr/bin/chromium or /usr/bin/chromedriver. */
#include "browser_fx.h"
#include "harness.h"

#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "webdriver.h"
#include "world.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

/* hqd and the two halls (world.h), each open round the clock in UTC, the
 * rollups committed every 100 ms; the browser is the test's. */
static const hbt_world_spec_t s_world = {"btrends", .halls = {"B01", "B02"},
                                         .hq_args = {"--rollup_commit_every", "100ms"},
                                         .engine = true, .start = true};

typedef struct {
    hbt_world_t *world; /* first: hbt_world_state_new */
    hbt_hq_t *hq;       /* the world's */
    hbt_hall_t *b01, *b02;
    hbt_wd_t b;
} world_t;

static int s_setup(void **state)
{
    world_t *w = hbt_world_state_new(&s_world, sizeof *w);
    w->hq = &w->world->hq;
    w->b01 = &w->world->hall[0];
    w->b02 = &w->world->hall[1];
    hbt_publish(w->hq->http,
                HBT_REGIONS_ZH "\"halls\":[{\"id\":\"B01\",\"city\":\"C001\",\"name\":\"中山路\"},"
                               "{\"id\":\"B02\",\"city\":\"C002\",\"name\":\"集市\"}]}",
                HBT_POLICY_ALWAYS_OPEN);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hbt_wd_stop(&w->b);
    return hbt_world_state_teardown(state);
}

#define HBT_FIXTURE s_setup, s_teardown

/* Posts `n` tickets served to hall `h`, the first issued at `at`, each
 * taking a minute at counter 1 (opened first), ids PREFIX1.., and one more
 * left waiting when `leave_one`. */
static void s_serve(hbt_hall_t *h, int64_t at, int n, const char *prefix, bool leave_one)
{
    json_t *arr = json_array();
    char ts[HB_RFC3339_MAX], t[32];
    hb_time_format(at, ts);
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "at", ts, "type",
                                         "counter_opened", "counter", "1", "staff", "E1",
                                         "services", "A"));
    for (int i = 0; i < n + leave_one; i++) {
        snprintf(t, sizeof t, "%s%d", prefix, i + 1);
        int64_t t0 = at + (int64_t)i * 60000 + 1000;
        hb_time_format(t0, ts);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "at", ts, "type",
                                             "ticket_issued", "ticket", t, "service", "A",
                                             "priority", "normal", "source", "kiosk"));
        if (i == n)
            break; /* the one left waiting */
        hb_time_format(t0 + 10000, ts);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "at", ts, "type",
                                             "ticket_called", "ticket", t, "counter", "1", "rule",
                                             "fifo"));
        hb_time_format(t0 + 20000, ts);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "at", ts, "type",
                                             "service_started", "ticket", t, "counter", "1",
                                             "staff", "E1"));
        hb_time_format(t0 + 50000, ts);
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "at", ts, "type",
                                        "service_completed", "ticket", t, "counter", "1",
                                        "business_type", "x", "outcome", "done", "duration_s", 30));
    }
    hbt_hall_post_json(h, arr);
}

static void s_wait(world_t *w, const char *script, int ms, const char *what)
{
    hbt_wd_wait_in(&w->b, "trends", script, ms, what);
}

/* The legend's texts of the chart drawn in canvas `id`, joined by '|'. */
static void s_legend(world_t *w, const char *id, char *out, size_t len)
{
    char script[512];
    snprintf(script, sizeof script,
             "const c = window.Chart && Chart.getChart(document.getElementById('%s'));"
             " return c ? c.legend.legendItems.map((i) => i.text).join('|') : '';",
             id);
    hbt_wd_exec_str(&w->b, script, out, len);
}

/* The chart in `section` drew the answer for `scope` (its summary's
 * served sum equals the API's), with the legend `legend`. */
static void s_check_chart(world_t *w, const char *section, const char *scope, const char *legend)
{
    char script[512], got[1024], path[128];
    snprintf(script, sizeof script,
             "const s = document.getElementById('%s'); return !!s && s.dataset.scope === '%s' &&"
             " s.dataset.loaded === 'true' && !!window.Chart &&"
             " !!Chart.getChart(document.getElementById('%s-chart'));",
             section, scope, section);
    s_wait(w, script, 15000, scope);
    snprintf(script, sizeof script, "return document.getElementById('%s').dataset.served;",
             section);
    hbt_wd_exec_str(&w->b, script, got, sizeof got);
    snprintf(path, sizeof path, "/v1/trends?scope=%s", scope);
    json_t *o = hbt_get(w->hq->http, path);
    assert_non_null(o);
    int64_t sum = 0, now = hbt_int(o, "now_slot");
    for (int64_t i = 0; i <= now; i++)
        sum += json_integer_value(
            json_object_get(json_array_get(json_object_get(o, "slots"), (size_t)i), "served"));
    json_decref(o);
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)sum);
    assert_string_equal(got, want);
    snprintf(path, sizeof path, "%s-chart", section);
    s_legend(w, path, got, sizeof got);
    assert_string_equal(got, legend);
    /* The note says waiting has no typical line, in the page's language
     * (no key shown as itself). */
    snprintf(script, sizeof script,
             "const t = document.getElementById('%s').innerText; return !t.includes('⟦') &&"
             " !t.includes('trend.');",
             section);
    assert_true(hbt_wd_exec_true(&w->b, script));
}

static const char s_legend_zh[] =
    "今日已服务|典型已服务（每小时均值均分到4个15分钟）|今日等候人数（15分钟内平均）";
static const char s_legend_en[] = "Served today|Typical served (hour's mean spread over its 4 "
                                  "quarters)|Waiting today (mean over the quarter)";

static void s_views(world_t *w, const char *lang, const char *legend)
{
    char url[160], shot[64];
    snprintf(url, sizeof url, "%s/?lang=%s", w->hq->http, lang);
    hbt_wd_go(&w->b, url);
    s_wait(w, "return document.body.dataset.auth === 'in' || document.body.dataset.auth === 'out';",
           10000, "the page knowing who is signed in");
    if (hbt_wd_exec_true(&w->b, "return document.body.dataset.auth === 'out';"))
        hbt_wd_sign_in(&w->b, "ada", "ada-pass-1");
    s_wait(
        w,
        "return document.body.dataset.auth === 'in' && !document.getElementById('trends').hidden;",
        10000, "the trends after signing in");
    /* The network: its chart, the typical line from last week, and the
     * worst halls now (B01 leaves a customer waiting). */
    s_check_chart(w, "trend-network", "network", legend);
    s_wait(w, "return !!document.querySelector('#worst-halls li[data-hall=\"B01\"]');", 10000,
           "B01 among the worst halls now");
    assert_true(hbt_wd_exec_true(
        &w->b, "const c = Chart.getChart(document.getElementById('trend-network-chart'));"
               " return c.data.datasets[1].data.some((v) => v > 0) &&"
               " c.data.labels.length === 96;"));
    snprintf(shot, sizeof shot, "trends-network-%s", lang);
    hbt_wd_screenshot(&w->b, shot);
    /* A region picked in the list. */
    hbt_wd_run(&w->b, "const e = document.getElementById('trend-scope'); e.value = 'C001';"
                      " e.dispatchEvent(new Event('change', {bubbles: true}));");
    s_check_chart(w, "trend-network", "region:C001", legend);
    snprintf(shot, sizeof shot, "trends-region-%s", lang);
    hbt_wd_screenshot(&w->b, shot);
    hbt_wd_run(&w->b, "const e = document.getElementById('trend-scope'); e.value = 'network';"
                      " e.dispatchEvent(new Event('change', {bubbles: true}));");
    /* A hall's detail: its own chart. */
    hbt_wd_press(&w->b, ".tile[data-hall=\"B01\"]");
    s_check_chart(w, "trend-hall", "hall:B01", legend);
    assert_true(
        hbt_wd_exec_true(&w->b, "return !!document.querySelector('#hall-detail #trend-hall');"));
    hbt_wd_run(&w->b, "document.getElementById('trend-hall').scrollIntoView();");
    snprintf(shot, sizeof shot, "trends-hall-%s", lang);
    hbt_wd_screenshot(&w->b, shot);
    hbt_wd_click_css(&w->b, "#hall-detail-close");
    hbt_wd_console_clean(&w->b, true, NULL);
}

HBT_TEST(test_trends_views)
{
    world_t *w = *state;
    hbt_wd_need();
    /* Today, minutes ago (after midnight UTC, the halls' zone), and the
     * same hour a week ago: B01 served two and leaves one waiting, B02
     * served one; a week ago B01 served four. */
    int64_t now = hb_now_ms(), midnight = now - now % 86400000;
    int64_t at = now - 12 * 60000 > midnight ? now - 12 * 60000 : midnight + 1000;
    s_serve(w->b01, at - 7 * 86400000LL, 4, "W", false);
    s_serve(w->b01, at, 2, "A", true);
    s_serve(w->b02, at, 1, "B", false);
    assert_true(hbt_wait_synced(w->hq, w->b01, 30000));
    assert_true(hbt_wait_synced(w->hq, w->b02, 30000));
    char tok[64];
    hbt_hq_user(w->hq, "ada", tok, "--role", "admin", NULL);
    hbt_hq_password(w->hq, "ada", "ada-pass-1");
    /* The rollups hold last week before anything asks for the typical
     * (hqd keeps a hall's typical day for five minutes). */
    char date[11];
    hb_date_format((int32_t)((at - 7 * 86400000LL) / 86400000), date);
    hbt_wait_rolled_up(w->hq, "CN", date, 30000);
    json_t *o = hbt_get(w->hq->http, "/v1/trends?scope=hall:B01");
    assert_int_equal(hbt_int(o, "halls_with_typical"), 1);
    json_decref(o);
    hbt_wd_start(&w->b, w->world->root);
    hbt_wd_viewport(&w->b, 1280, 900);
    s_views(w, "zh-CN", s_legend_zh);
    s_views(w, "en", s_legend_en);
    hbt_wd_stop(&w->b);
}
