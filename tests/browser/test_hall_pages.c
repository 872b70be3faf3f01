/* The hall's own pages in a real browser (headless Chromium through
 * ChromeDriver), against real processes: hqd and five halls on loopback.
 * B01 is the hall under test, with device tokens only (no local trust) and
 * its devices paired by `branchd devices add`; B02, B03 and B04 are its
 * neighbours for the advice: B02 open with the service and a shorter wait,
 * B03 open without it, B04 closed (by HQ's policy for it).
 *
 * - The story: a customer touches the service's button at the kiosk (in
 *   Chinese, then switched to English), the counter page (staff signed in)
 *   calls the ticket and shows the rule, the display shows it and speaks it
 *   (speechSynthesis.speak recorded in the page: Chinese then English, each
 *   with its lang) after a chime, and again on a recall; the customer rates
 *   the service on the evaluator; HQ's mirror holds the whole story. The
 *   time from the counter's call to the display showing it is printed.
 * - Advice: past the threshold the kiosk proposes B02, never B03 or B04.
 * - The manager: the checklist with one device failed, the opening, and
 *   HQ's alert; patrols of 7 and 25 staff on duty draw 4 and 8.
 * - Appointments, at B05 (a hall of their own, so that the minute or two
 *   the slot's clock takes runs under the other tests instead of after
 *   them): booked and checked in at the kiosk first of all, a booking is
 *   called first at its time by the staff it names, last of all; a missed
 *   one becomes a no-show.
 * Screenshots of every page at 1920x1080 and 1280x800 go to the build
 * folder (hall-pages-screenshots/), for a person to look at. What the pages
 * refuse (files, paths, tokens of the wrong kind) is test_hall_refusals.c's. */
#include "browser_fx.h"
#include "harness.h"
#include "webdriver.h"
#include "world.h"

#include "hallbus/time.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#define BRANCHD HB_BIN_DIR "/branchd/branchd"
#define CALL_SHOWN_BOUND_MS 3000 /* generous: the figure printed is what counts */

/* Open round the clock, the advice past 2 waiting, campaigns published the
 * day they start. A's SLA is 2 s, so that a hall that has not served A yet
 * estimates 1 s for it (half the SLA): B02 and the closed B04 are then
 * shorter than B01. Both HQ (national) and the halls run it. */
#define POLICY                                                                                     \
    "{\"timezone\":\"UTC\","                                                                       \
    "\"opening_hours\":{\"mon\":[\"00:00-24:00\"],\"tue\":[\"00:00-24:00\"],"                      \
    "\"wed\":[\"00:00-24:00\"],\"thu\":[\"00:00-24:00\"],\"fri\":[\"00:00-24:00\"],"               \
    "\"sat\":[\"00:00-24:00\"],\"sun\":[\"00:00-24:00\"]},"                                        \
    "\"diversion\":{\"threshold\":2,\"echannels\":[\"app\",\"web\"]},"                             \
    "\"sla\":{\"max_wait_s\":{\"A:*\":2}},\"campaigns\":{\"lead_days\":0}}"
/* B05's own, merged over the national one: appointments for A in slots of
 * 5 minutes (the policy's shortest) from HH:MM each day, a no-show 60 s
 * after the slot (its shortest). The setup publishes it with the first
 * whole minute at least APPT_LEAD_S ahead, so that a slot begins while the
 * other tests run. */
#define POLICY_APPOINTMENTS_FMT                                                                    \
    "{\"appointments\":{\"A\":{\"slot_s\":300,\"capacity\":4,\"no_show_after_s\":60,"              \
    "\"hours\":{\"mon\":[\"%1$s\"],\"tue\":[\"%1$s\"],\"wed\":[\"%1$s\"],\"thu\":[\"%1$s\"],"      \
    "\"fri\":[\"%1$s\"],\"sat\":[\"%1$s\"],\"sun\":[\"%1$s\"]}}}}"
/* Room for the setup and the bookings before the slot begins. */
#define APPT_LEAD_S 15
#define H_APPT 4 /* B05 in the world */
/* B04's own: closed every day. */
#define POLICY_CLOSED                                                                              \
    "{\"opening_hours\":{\"mon\":[],\"tue\":[],\"wed\":[],\"thu\":[],\"fri\":[],\"sat\":[],"       \
    "\"sun\":[]},\"divert_to\":[\"B01\"]}"
#define SERVICES "A:A:10m:现金存取款; B:B:20m:贷款业务; C:C:5m:银行卡"

typedef struct pages {
    hbt_wd_t wd; /* first: hbt_browser_world_teardown stops it */
    char token[HBT_NDEV][64];
    char closed_kiosk[64]; /* a kiosk of B04, closed */
    bool browser;
    char win_kiosk[80], win_counter[80], win_display[80], win_rate[80], win_manager[80];
    char ticket[16]; /* the story's ticket */
    /* B05's devices (kiosk, counter 1's terminal, the tablet), its slots'
     * hours ("" too near midnight), and the bookings made there first. */
    char appt_token[HBT_NDEV][64];
    char appt_hours[16];
    char win_appt[80];
    char appt_start[40], appt_code[32], appt_missed[32], appt_ticket[16];
} pages_t;

static const hbt_world_spec_t s_world = {
    .tag = "hallpages",
    .halls = {"B01", "B02", "B03", "B04", "B05"},
    .hq_args = {"--neighbour_board_every", "500ms"},
};

/* ---------------------------------------------------------------- setup */

static void s_staff(hbt_hall_t *hall, const char *id, const char *pin)
{
    char cmd[1200], out[1024];
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '%s' | %s staff add %s --data %s", pin, BRANCHD, id,
             hall->data);
    if (hbt_run_args(out, sizeof out, "/bin/sh", "-c", cmd, NULL) != 0)
        fail_msg("branchd staff add %s: %s", id, out);
}

static int s_setup(void **state)
{
    hbt_world_t *w = hbt_browser_world_setup(state, &s_world, sizeof(pages_t));
    pages_t *p = w->test;
    hbt_req_ok(
        w->hq.http, "PUT", "/v1/org",
        "{\"regions\":[{\"id\":\"CN\",\"name\":\"总行\",\"level\":\"national\"},"
        "{\"id\":\"P1\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"
        "{\"id\":\"C1\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P1\"}],"
        "\"halls\":[{\"id\":\"B01\",\"city\":\"C1\",\"name\":\"港湾东路营业厅\","
        "\"address\":\"港湾东路 1 号\",\"neighbours\":[\"B02\",\"B03\",\"B04\"]},"
        "{\"id\":\"B02\",\"city\":\"C1\",\"name\":\"港湾西路营业厅\",\"address\":\"码头路 12 号\"},"
        "{\"id\":\"B03\",\"city\":\"C1\",\"name\":\"山城营业厅\",\"address\":\"山路 3 号\"},"
        "{\"id\":\"B04\",\"city\":\"C1\",\"name\":\"市场营业厅\",\"address\":\"市场街 8 号\","
        "\"neighbours\":[\"B01\"]},"
        "{\"id\":\"B05\",\"city\":\"C1\",\"name\":\"预约营业厅\",\"address\":\"码头路 30 号\"}]}",
        200);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/national", POLICY, 200);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/halls/B04", POLICY_CLOSED, 200);
    /* B05's slots from the first whole minute APPT_LEAD_S ahead to the end
     * of the day (UTC); too near midnight there is no room for one. */
    time_t from = time(NULL) + APPT_LEAD_S;
    from += 60 - from % 60;
    struct tm tm;
    gmtime_r(&from, &tm);
    if (tm.tm_hour < 23 || tm.tm_min <= 50) {
        char policy[1024];
        snprintf(p->appt_hours, sizeof p->appt_hours, "%02d:%02d-24:00", tm.tm_hour, tm.tm_min);
        snprintf(policy, sizeof policy, POLICY_APPOINTMENTS_FMT, p->appt_hours);
        hbt_req_ok(w->hq.http, "PUT", "/v1/policies/halls/B05", policy, 200);
    }
    hbt_req_ok(w->hq.http, "POST", "/v1/policies/publish", "{}", 200);
    for (size_t i = 0; i < w->n_halls; i++)
        hbt_hall_set_engine(&w->hall[i], POLICY, SERVICES);
    w->hall[0].tokens_only = true;
    hbt_hall_t *b01 = &w->hall[0];
    hbt_hall_arg(b01, "--hall_name", "港湾东路营业厅");
    hbt_hall_pair(b01, HBT_ALL_DEVS, p->token);
    hbt_hall_add_device(&w->hall[3], "KIOSK-4", "kiosk", NULL, p->closed_kiosk,
                        sizeof p->closed_kiosk);
    hbt_hall_t *b05 = &w->hall[H_APPT];
    b05->tokens_only = true;
    hbt_hall_pair(b05, 1u << HBT_KIOSK | 1u << HBT_TERM1 | 1u << HBT_MANAGER, p->appt_token);
    snprintf(b05->token, sizeof b05->token, "%s", p->appt_token[HBT_MANAGER]);
    for (size_t h = 0; h <= H_APPT; h += H_APPT) {
        s_staff(&w->hall[h], "E07", "4711");
        s_staff(&w->hall[h], "E08", "4712");
    }
    snprintf(w->hall[0].token, sizeof w->hall[0].token, "%s", p->token[HBT_MANAGER]);
    for (size_t i = 0; i < w->n_halls; i++)
        hbt_hall_start(&w->hall[i]);
    /* Today's campaign for the city, with its FAQ, on the kiosk and the
     * display. */
    char doc[2048];
    hbt_campaign_doc(
        doc, sizeof doc, "harbour-savings", "港湾储蓄月", "C1", 0, 20,
        "\"segment\":\"retail\",\"channels\":[\"kiosk\",\"signage\"],"
        "\"texts\":{\"kiosk\":\"本月开立储蓄账户，享受更高利率。\","
        "\"signage\":\"港湾储蓄月：任一柜台均可办理。\"},"
        "\"faq\":[{\"question\":\"谁可以开户？\",\"answer\":\"年满 16 周岁、持身份证的客户。\"},"
        "{\"question\":\"利率是多少？\",\"answer\":\"年利率以柜台公布为准。\"}]");
    /* Four eyes: the city's marketer drafts and submits, the harness's
     * admin approves and publishes (who acts is each one's token). */
    char mkt[64];
    hbt_hq_user(&w->hq, "mkt", mkt, "--role", "marketer", "--scope", "C1", NULL);
    static const struct {
        const char *path;
        bool marketer;
        int want;
    } steps[] = {
        {"/v1/campaigns", true, 201},
        {"/v1/campaigns/harbour-savings/submit", true, 200},
        {"/v1/campaigns/harbour-savings/approve", false, 200},
        {"/v1/campaigns/harbour-savings/publish", false, 200},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        json_t *resp = NULL;
        int st = hbt_http_as(w->hq.http, steps[i].marketer ? mkt : w->hq.token, NULL, "POST",
                             steps[i].path, i == 0 ? doc : "{}", &resp);
        if (st != steps[i].want) {
            char *dump = resp ? json_dumps(resp, 0) : NULL;
            fail_msg("POST %s: %d, wanted %d: %s", steps[i].path, st, steps[i].want,
                     dump ? dump : "");
        }
        json_decref(resp);
    }
    /* B01 runs it before the pages look. */
    hbt_campaign_running(w->hall[0].http, p->token[HBT_MANAGER], 0,
                         "B01 does not run today's campaign");
    mkdir(HBT_SHOTS, 0755);
    return 0;
}

#define HBT_FIXTURE NULL, NULL

/* -------------------------------------------------------------- helpers */

/* Types into the first element matching `css` once it is there (a tab
 * draws itself when its data arrives). */
static void s_type(hbt_wd_t *wd, const char *css, const char *text)
{
    hbt_wd_press(wd, css);
    hbt_wd_type_css(wd, css, text);
}

static hbt_hall_t *s_hall(hbt_world_t *w) { return &w->hall[0]; }

/* Device `d`'s token at hall `h` (0: B01, H_APPT: B05). */
static const char *s_token(hbt_world_t *w, size_t h, int d)
{
    pages_t *p = w->test;
    return h == H_APPT ? p->appt_token[d] : p->token[d];
}

/* A request to hall `h` as device `d`; its status, the body in *out. */
static int s_as_at(hbt_world_t *w, size_t h, int d, const char *method, const char *path,
                   const char *body, json_t **out)
{
    return hbt_http_as(w->hall[h].http, s_token(w, h, d), NULL, method, path, body, out);
}

static int s_as(hbt_world_t *w, int d, const char *method, const char *path, const char *body,
                json_t **out)
{
    return s_as_at(w, 0, d, method, path, body, out);
}

static json_t *s_ok_at(hbt_world_t *w, size_t h, int d, const char *method, const char *path,
                       const char *body, int want)
{
    json_t *o = NULL;
    int st = s_as_at(w, h, d, method, path, body, &o);
    if (st != want) {
        char *dump = o ? json_dumps(o, JSON_COMPACT) : NULL;
        fail_msg("%s %s as %s at %s: %d %s, wanted %d", method, path, hbt_hall_devs[d].name,
                 w->hall[h].id, st, dump ? dump : "", want);
    }
    return o;
}

static json_t *s_ok_as(hbt_world_t *w, int d, const char *method, const char *path,
                       const char *body, int want)
{
    return s_ok_at(w, 0, d, method, path, body, want);
}

/* Opens page `path` of hall `h` paired with device `d`'s token in the
 * current window. */
static void s_open_at(hbt_world_t *w, size_t h, int d, const char *path)
{
    pages_t *p = w->test;
    hbt_page_open(&p->wd, w->hall[h].http, path, d >= 0 ? s_token(w, h, d) : "");
}

static void s_open_page(hbt_world_t *w, int d, const char *path) { s_open_at(w, 0, d, path); }

/* s_open_page, then waits until `script` holds (hbt_wd_wait_ok). */
static void s_open_until(hbt_world_t *w, int d, const char *path, const char *script,
                         int timeout_ms, const char *what)
{
    pages_t *p = w->test;
    s_open_page(w, d, path);
    hbt_wd_wait_ok(&p->wd, script, timeout_ms, what);
}

/* The tests' one browser (the test is skipped without one), started the
 * first time it is asked for. */
static hbt_wd_t *s_browser(hbt_world_t *w)
{
    pages_t *p = w->test;
    hbt_wd_need();
    if (!p->browser) {
        hbt_wd_start(&p->wd, w->root);
        p->browser = true;
    }
    return &p->wd;
}

/* -------------------------------------------------- appointments, first */

/* The start of the first slot of A at B05 that begins after now +
 * `margin_ms` and has room, into `out` (RFC 3339). */
static void s_next_slot(hbt_world_t *w, int64_t margin_ms, char *out, size_t outlen)
{
    json_t *sl =
        s_ok_at(w, H_APPT, HBT_MANAGER, "GET", "/v1/appointments/slots?service=A", NULL, 200);
    char after[HB_RFC3339_MAX];
    hb_time_format(hb_now_ms() + margin_ms, after);
    size_t i;
    json_t *slot;
    out[0] = '\0';
    json_array_foreach (json_object_get(sl, "slots"), i, slot) {
        const char *start = hbt_str(slot, "start");
        if (strcmp(start, after) > 0 && hbt_int(slot, "free") > 0) {
            snprintf(out, outlen, "%s", start);
            break;
        }
    }
    json_decref(sl);
    if (!out[0])
        fail_msg("no free slot of A after %s", after);
}

static bool s_served(hbt_world_t *w, const char *path);

/* First of all, so that the slot's clock runs while the other tests do:
 * B05 applies its policy with appointments, two bookings of its next slot
 * are made (one names E08, the other is never checked in) and the first is
 * checked in on the kiosk's keypad, in a window of its own. The rest is
 * test_appointments_called, last of all. */
HBT_TEST(test_appointments_booked)
{
    hbt_world_t *w = *state;
    pages_t *p = w->test;
    hbt_wd_need();
    if (!s_served(w, "/v1/appointments/slots?service=A"))
        skip();
    if (!p->appt_hours[0]) {
        fprintf(stderr, "SKIPPED: too near midnight UTC for a slot of 5 minutes today\n");
        skip();
    }
    /* B05 runs the policy with appointments: it has slots of A. */
    int64_t deadline = hbt_now_ms() + 20000;
    int st = 0;
    while (st != 200 && hbt_now_ms() < deadline) {
        json_t *o = NULL;
        st = s_as_at(w, H_APPT, HBT_MANAGER, "GET", "/v1/appointments/slots?service=A", NULL, &o);
        json_decref(o);
        if (st != 200)
            hbt_sleep_ms(100);
    }
    if (st != 200)
        fail_msg("B05 did not apply the policy with appointments (%s) within 20 s", p->appt_hours);
    hbt_wd_t *wd = s_browser(w);
    char body[300];
    s_next_slot(w, 3000, p->appt_start, sizeof p->appt_start);
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\",\"staff\":\"E08\"}",
             p->appt_start);
    json_t *b1 = s_ok_at(w, H_APPT, HBT_MANAGER, "POST", "/v1/appointments", body, 201);
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\",\"channel\":\"phone\"}",
             p->appt_start);
    json_t *b2 = s_ok_at(w, H_APPT, HBT_MANAGER, "POST", "/v1/appointments", body, 201);
    char code[32];
    snprintf(code, sizeof code, "%s", hbt_str(b1, "code"));
    snprintf(p->appt_missed, sizeof p->appt_missed, "%s", hbt_str(b2, "code"));
    json_decref(b1);
    json_decref(b2);
    fprintf(stderr, "appointments: %s (E08) and %s booked for %s\n", code, p->appt_missed,
            p->appt_start);

    /* Checked in at the kiosk, on its keypad. */
    char first[80];
    hbt_wd_window(wd, first, sizeof first);
    hbt_wd_new_window(wd, p->win_appt, sizeof p->win_appt);
    s_open_at(w, H_APPT, HBT_KIOSK, "/kiosk");
    hbt_wd_wait_ok(wd, "return !!window.hbPage && window.hbPage.ready;", 10000, "kiosk not ready");
    hbt_wd_run(wd, "window.print = () => {}; return 1;");
    hbt_wd_press(wd, "#checkin-start");
    for (const char *c = code; *c; c++) {
        char css[64];
        snprintf(css, sizeof css, "#checkin .keypad button[data-key=\"%c\"]", *c);
        hbt_wd_press(wd, css);
    }
    hbt_page_shots(&p->wd, "kiosk-checkin");
    hbt_wd_press(wd, "#checkin .keypad button[data-key=\"ok\"]");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('ticket-number');", 5000,
                   "the check-in gave no ticket");
    hbt_wd_exec_str(wd, "return document.getElementById('ticket-number').textContent;",
                    p->appt_ticket, sizeof p->appt_ticket);
    hbt_wd_press(wd, "#done");
    /* A code that is no booking's is refused in words. */
    hbt_wd_press(wd, "#checkin-start");
    hbt_wd_press(wd, "#checkin .keypad button[data-key=\"9\"]");
    hbt_wd_press(wd, "#checkin .keypad button[data-key=\"ok\"]");
    hbt_wd_wait_ok(wd,
                   "return !document.getElementById('notice').hidden &&"
                   " document.getElementById('notice').textContent.includes('预约码');",
                   5000, "a wrong code was not refused in words");
    hbt_wd_press(wd, "#checkin button.back");
    snprintf(p->appt_code, sizeof p->appt_code, "%s", code);
    /* What B05's pages logged is not the other tests' to judge. */
    json_decref(hbt_wd_ok(wd, "POST", "/se/log", json_pack("{s:s}", "type", "browser")));
    hbt_wd_switch(wd, first);
}

/* ----------------------------------------------------------- the story */

HBT_TEST(test_story)
{
    hbt_world_t *w = *state;
    pages_t *p = w->test;
    hbt_wd_t *wd = s_browser(w);
    hbt_wd_window(wd, p->win_kiosk, sizeof p->win_kiosk);

    /* The kiosk, paired: the token leaves the address bar for storage. */
    s_open_until(w, HBT_KIOSK, "/kiosk",
                 "return !!window.hbPage && window.hbPage.ready &&"
                 " !!document.querySelector('#services .service[data-service=\"A\"]');",
                 10000, "the kiosk does not show service A");
    assert_true(hbt_wd_exec_true(wd,
                                 "return !location.search.includes('token') &&"
                                 " (localStorage.getItem('hb.token.kiosk') || '').length > 40;"));
    assert_true(hbt_wd_exec_true(wd,
                                 "return document.documentElement.lang === 'zh-CN' &&"
                                 " document.getElementById('page-title').textContent === '取号';"));
    char text[4096];
    hbt_wd_exec_str(
        wd, "return document.querySelector('#services .service[data-service=\"A\"]').innerText;",
        text, sizeof text);
    fprintf(stderr, "kiosk (zh): service A's button reads '%s'\n", text);
    hbt_assert_contains(text, "现金存取款");
    hbt_assert_contains(text, "人等候");
    /* Today's campaign with its FAQ. */
    hbt_wd_exec_str(
        wd,
        "return document.querySelector('#campaigns .campaign[data-campaign=\"harbour-savings\"]')"
        "?.textContent || '';",
        text, sizeof text);
    hbt_assert_contains(text, "港湾储蓄月");
    hbt_assert_contains(text, "谁可以开户");
    /* Catalogues: the same keys in both languages, none empty; a text that
     * counts has a form for each plural category of its language, and
     * English words one and several apart. */
    json_t *keys = hbt_wd_exec(
        wd, "return (async () => {"
            "const m = await import('/pages/hall.js');"
            "const zh = m.CATALOGUES['zh-CN'], en = m.CATALOGUES.en;"
            "const no = (l, v) => (typeof v === 'string' ? !v : !new Intl.PluralRules(l)"
            " .resolvedOptions().pluralCategories.every((c) => typeof v[c] === 'string' && v[c]));"
            "if (m.t('kiosk.advice_wait', {n: 1, w: '5 min'}, 'en') !== '1 is waiting for this"
            " service: expected wait 5 min.' || m.t('mgr.r.sat_line', {avg: '4.0', n: 2}, 'en')"
            " !== '4.0 of 5 (2 scores)' || m.t('mgr.r.sat_line', {avg: '4.0', n: 1}, 'zh-CN')"
            " !== '4.0 分（共 1 次评价）') return 'plural texts read wrong|';"
            "return Object.keys(zh).filter((k) => !(k in en) || no('zh-CN', zh[k])).concat("
            " Object.keys(en).filter((k) => !(k in zh) || no('en', en[k]))).join(' ') + '|' +"
            " Object.keys(zh).length;})();");
    const char *kv = json_string_value(keys);
    assert_non_null(kv);
    if (kv[0] != '|')
        fail_msg("the catalogues differ in these keys: %s", kv);
    fprintf(stderr, "catalogues: %s keys in each language\n", kv + 1);
    json_decref(keys);
    hbt_page_shots(&p->wd, "kiosk-home-zh");

    /* One touch on the service, one confirm: a ticket, printed. */
    hbt_wd_run(wd, "window.hbPrinted = 0; window.print = () => { window.hbPrinted++; }; return 1;");
    int64_t t0 = hbt_now_ms();
    hbt_wd_press(wd, "#services .service[data-service=\"A\"]");
    hbt_wd_press(wd, "#take-normal");
    hbt_wd_wait_ok(
        wd, "return !!document.querySelector('#ticket #ticket-number') && window.hbPrinted === 1;",
        5000, "the kiosk did not show and print the ticket");
    fprintf(stderr, "kiosk: touch to ticket on screen and printed in %lld ms\n",
            (long long)(hbt_now_ms() - t0));
    hbt_wd_exec_str(wd, "return document.getElementById('ticket-number').textContent;", p->ticket,
                    sizeof p->ticket);
    assert_true(p->ticket[0] == 'A');
    char status_path[128];
    hbt_wd_exec_str(wd, "return window.hbPage.lastTicket.status_path || '';", status_path,
                    sizeof status_path);
    assert_true(strncmp(status_path, "/t/", 3) == 0);
    hbt_wd_wait_ok(wd, "return !!document.getElementById('ticket-qr');", 5000,
                   "the ticket shows no QR code");
    hbt_wd_exec_str(wd, "return document.getElementById('ticket').innerText;", text, sizeof text);
    fprintf(stderr, "kiosk (zh): ticket reads '%s'\n", text);
    hbt_assert_contains(text, "港湾东路营业厅");
    hbt_assert_contains(text, "前面人数");
    hbt_assert_contains(text, "预计等候");
    hbt_page_shots(&p->wd, "kiosk-ticket-zh");
    hbt_wd_press(wd, "#done");

    /* Switched to English, remembered across a reload. */
    hbt_wd_press(wd, "#lang-switch button[data-lang=\"en\"]");
    hbt_wd_wait_ok(wd,
                   "return document.getElementById('page-title').textContent === 'Take a ticket' &&"
                   " document.documentElement.lang === 'en';",
                   3000, "the kiosk did not switch to English");
    hbt_wd_go(wd, "about:blank"); /* away and back: the language stays */
    char url[300];
    snprintf(url, sizeof url, "%s/kiosk", s_hall(w)->http);
    hbt_wd_go(wd, url);
    hbt_wd_wait_ok(wd,
                   "return !!window.hbPage && window.hbPage.ready &&"
                   " document.getElementById('page-title').textContent === 'Take a ticket';",
                   10000, "the kiosk forgot its token or its language");
    hbt_wd_exec_str(
        wd, "return document.querySelector('#services .service[data-service=\"A\"]').innerText;",
        text, sizeof text);
    hbt_assert_contains(text, "waiting");
    hbt_page_shots(&p->wd, "kiosk-home-en");
    hbt_wd_press(wd, "#lang-switch button[data-lang=\"zh-CN\"]");

    /* The display, listening; its speech recorded. */
    hbt_wd_new_window(wd, p->win_display, sizeof p->win_display);
    s_open_until(w, HBT_DISPLAY, "/display",
                 "return !!window.hbPage && window.hbPage.ready &&"
                 " document.getElementById('conn-state').dataset.state === 'live';",
                 10000, "the display did not follow the hall");
    hbt_wd_run(wd, "window.hbSaid = []; speechSynthesis.speak = (u) => {"
                   " window.hbSaid.push({text: u.text, lang: u.lang}); }; return 1;");
    assert_true(hbt_wd_exec_true(wd, "return document.getElementById('slides').dataset.campaign ==="
                                     " 'harbour-savings';"));
    hbt_page_shots(&p->wd, "display-idle");

    /* The counter: sign in, open with A, call. */
    hbt_wd_new_window(wd, p->win_counter, sizeof p->win_counter);
    s_open_until(
        w, HBT_TERM1, "/counter/1",
        "return !!window.hbPage && window.hbPage.ready || !!document.getElementById('signin');",
        10000, "the counter page did not load");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('signin');", 5000,
                   "the counter page does not ask to sign in");
    hbt_page_shots(&p->wd, "counter-signin");
    s_type(wd, "#signin-staff", "E07");
    s_type(wd, "#signin-pin", "4711");
    hbt_wd_press(wd, "#signin-go");
    hbt_wd_wait_ok(wd,
                   "return document.querySelector('main').dataset.signedIn === 'yes' &&"
                   " !!document.getElementById('open');",
                   8000, "signing in did not open the counter's page");
    hbt_wd_press(wd, "#open-services button[data-service=\"A\"]");
    hbt_wd_press(wd, "#open");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('call');", 5000,
                   "the counter did not open");
    hbt_page_shots(&p->wd, "counter-open");
    hbt_wd_run(wd, "window.hbCallClickedAt = Date.now(); return 1;");
    hbt_wd_press(wd, "#call");
    char want[200];
    snprintf(want, sizeof want,
             "return document.getElementById('call-ticket')?.textContent === '%s' &&"
             " !!document.querySelector('#current-call[data-rule]');",
             p->ticket);
    hbt_wd_wait_ok(wd, want, 5000, "the counter does not show the called ticket");
    char rule[64], rule_text[256];
    hbt_wd_exec_str(wd, "return document.getElementById('current-call').dataset.rule;", rule,
                    sizeof rule);
    hbt_wd_exec_str(wd, "return document.getElementById('call-rule').textContent;", rule_text,
                    sizeof rule_text);
    fprintf(stderr, "counter: called %s, rule %s shown as '%s'\n", p->ticket, rule, rule_text);
    assert_string_equal(rule, "fifo");
    hbt_assert_contains(rule_text, "先到先办");
    json_t *clicked = hbt_wd_exec(wd, "return window.hbPage.callSentAt || window.hbCallClickedAt;");
    int64_t sent_at = (int64_t)json_number_value(clicked);
    json_decref(clicked);
    hbt_page_shots(&p->wd, "counter-calling");

    /* The display shows it and speaks it: Chinese, then English. */
    hbt_wd_switch(wd, p->win_display);
    snprintf(want, sizeof want,
             "return document.getElementById('now-ticket')?.textContent === '%s' &&"
             " window.hbSaid.length >= 2;",
             p->ticket);
    hbt_wd_wait_ok(wd, want, 5000, "the display did not show and speak the call");
    json_t *shown =
        hbt_wd_exec(wd, "return window.hbPage.calls[window.hbPage.calls.length - 1].shownAt;");
    int64_t shown_at = (int64_t)json_number_value(shown);
    json_decref(shown);
    fprintf(stderr, "display: the call was shown %lld ms after the counter's call (bound %d ms)\n",
            (long long)(shown_at - sent_at), CALL_SHOWN_BOUND_MS);
    assert_true(shown_at - sent_at < CALL_SHOWN_BOUND_MS);
    json_t *said = hbt_wd_exec(wd, "return window.hbSaid;");
    assert_int_equal(json_array_size(said), 2);
    char zh[128], en[128];
    snprintf(zh, sizeof zh, "请 %s 号到 1 号窗口", p->ticket);
    snprintf(en, sizeof en, "Number %s, please go to counter 1", p->ticket);
    json_t *u0 = json_array_get(said, 0), *u1 = json_array_get(said, 1);
    fprintf(stderr, "display: spoke '%s' (%s), then '%s' (%s)\n", hbt_str(u0, "text"),
            hbt_str(u0, "lang"), hbt_str(u1, "text"), hbt_str(u1, "lang"));
    assert_string_equal(hbt_str(u0, "text"), zh);
    assert_string_equal(hbt_str(u0, "lang"), "zh-CN");
    assert_string_equal(hbt_str(u1, "text"), en);
    assert_string_equal(hbt_str(u1, "lang"), "en-US");
    json_decref(said);
    assert_true(hbt_wd_exec_true(
        wd, "return (window.hbPage.chimes || 0) >= 1 || !!window.hbPage.chimeError;"));
    hbt_page_shots(&p->wd, "display-calling");

    /* A recall is spoken again. */
    hbt_wd_switch(wd, p->win_counter);
    hbt_wd_press(wd, "#recall");
    hbt_wd_switch(wd, p->win_display);
    hbt_wd_wait_ok(wd,
                   "return window.hbSaid.length === 4 && window.hbSaid[2].lang === 'zh-CN' &&"
                   " window.hbSaid[3].lang === 'en-US';",
                   5000, "the display did not speak the recall");

    /* Served and completed; the evaluator asks, the customer rates. */
    hbt_wd_switch(wd, p->win_counter);
    hbt_wd_press(wd, "#start");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('complete-form');", 5000,
                   "the counter did not start the service");
    s_type(wd, "#complete-amount", "120.50");
    hbt_wd_press(wd, "#complete-outcome button[data-outcome=\"done\"]");
    hbt_page_shots(&p->wd, "counter-serving");
    hbt_wd_press(wd, "#complete");
    hbt_wd_wait_ok(wd, "return document.querySelector('main').dataset.state === 'idle';", 5000,
                   "the counter did not complete the service");

    hbt_wd_new_window(wd, p->win_rate, sizeof p->win_rate);
    s_open_page(w, HBT_RATE1, "/rate/1");
    snprintf(want, sizeof want,
             "return document.getElementById('rate-ask')?.dataset.ticket === '%s';", p->ticket);
    hbt_wd_wait_ok(wd, want, 8000, "the evaluator does not ask for the completed ticket");
    hbt_wd_press(wd, "#scores button[data-score=\"5\"]");
    hbt_wd_press(wd, "#reasons button[data-reason=\"fast\"]");
    hbt_page_shots(&p->wd, "rate-ask");
    hbt_wd_press(wd, "#rate-send");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('thanks');", 5000,
                   "the evaluator did not take the score");
    hbt_page_shots(&p->wd, "rate-thanks");

    /* The customer's phone: the ticket's status page, no token. */
    char url2[400];
    snprintf(url2, sizeof url2, "%s%s", s_hall(w)->http, status_path);
    hbt_wd_go(wd, url2);
    snprintf(want, sizeof want,
             "return document.getElementById('ticket-status')?.dataset.state === 'served' &&"
             " document.getElementById('ticket-status').textContent.includes('%s');",
             p->ticket);
    hbt_wd_wait_ok(wd, want, 8000, "the ticket's status page does not show it served");
    hbt_page_shots(&p->wd, "ticket-status");

    /* HQ's mirror holds the whole story. */
    assert_true(hbt_wait_synced(&w->hq, s_hall(w), 30000));
    hbt_assert_synced(&w->hq, s_hall(w));
    static const char *const story[] = {
        "ticket_issued",     "ticket_called",       "ticket_recalled", "service_started",
        "service_completed", "satisfaction_scored", "counter_opened"};
    for (size_t i = 0; i < sizeof story / sizeof story[0]; i++) {
        int64_t n = hbt_hq_count_type(&w->hq, "B01", story[i]);
        fprintf(stderr, "HQ holds %lld %s event(s) of B01\n", (long long)n, story[i]);
        assert_true(n >= 1);
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/B01/events?from=1&limit=1000");
    json_t *evs = hbt_get(w->hq.http, path);
    assert_non_null(evs);
    bool called = false, scored = false;
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(evs, "events"), i, e) {
        const char *type = hbt_str(e, "type");
        if (strcmp(type, "ticket_called") == 0 && strcmp(hbt_str(e, "ticket"), p->ticket) == 0)
            called =
                strcmp(hbt_str(e, "rule"), "fifo") == 0 && strcmp(hbt_str(e, "counter"), "1") == 0;
        if (strcmp(type, "satisfaction_scored") == 0 &&
            strcmp(hbt_str(e, "ticket"), p->ticket) == 0)
            scored = hbt_int(e, "score") == 5;
    }
    json_decref(evs);
    assert_true(called);
    assert_true(scored);
    hbt_wd_console_clean(wd, false, NULL);
}

/* ------------------------------------------------- the display resumes */

/* branchd restarts: the display notices, follows the hall again from the
 * last event it saw, and shows and speaks the next call. */
HBT_TEST(test_display_resumes)
{
    hbt_world_t *w = *state;
    pages_t *p = w->test;
    hbt_wd_t *wd = s_browser(w);
    hbt_wd_switch(wd, p->win_display);
    hbt_wd_wait_ok(wd, "return document.getElementById('conn-state').dataset.state === 'live';",
                   5000, "the display is not live");
    hbt_hall_stop(s_hall(w), SIGTERM);
    hbt_wd_wait_ok(wd, "return document.getElementById('conn-state').dataset.state === 'down';",
                   10000, "the display did not notice branchd stopped");
    int64_t t0 = hbt_now_ms();
    hbt_hall_start(s_hall(w));
    hbt_wd_wait_ok(wd, "return document.getElementById('conn-state').dataset.state === 'live';",
                   15000, "the display did not follow the hall again after its restart");
    fprintf(stderr, "display: live again %lld ms after branchd started\n",
            (long long)(hbt_now_ms() - t0));
    json_t *k = s_ok_as(w, HBT_KIOSK, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    char ticket[16];
    snprintf(ticket, sizeof ticket, "%s", hbt_str(k, "ticket"));
    json_decref(k);
    hbt_wd_run(wd, "window.hbSaid = []; return 1;");
    json_t *c = s_ok_as(w, HBT_TERM1, "POST", "/v1/counters/1/call", "{\"ticket\":\"X\"}", 404);
    json_decref(c);
    c = NULL;
    char body[64];
    snprintf(body, sizeof body, "{\"ticket\":\"%s\"}", ticket);
    c = s_ok_as(w, HBT_TERM1, "POST", "/v1/counters/1/call", body, 200);
    json_decref(c);
    char want[256];
    snprintf(want, sizeof want,
             "return document.getElementById('now-ticket')?.textContent === '%s' &&"
             " window.hbSaid.length === 2;",
             ticket);
    hbt_wd_wait_ok(wd, want, 5000, "the display did not show the call made after the restart");
    /* Served, so that the counter is free for what follows. */
    json_decref(s_ok_as(w, HBT_TERM1, "POST", "/v1/counters/1/start", "{}", 200));
    json_decref(s_ok_as(w, HBT_TERM1, "POST", "/v1/counters/1/complete",
                        "{\"business_type\":\"deposit\"}", 200));
}

/* -------------------------------------------------------------- advice */

HBT_TEST(test_advice)
{
    hbt_world_t *w = *state;
    pages_t *p = w->test;
    hbt_wd_t *wd = s_browser(w);
    /* B02 offers A with nobody waiting; B03 offers only B; B04 offers A but
     * is closed by HQ's policy for it. */
    hbt_req_ok(w->hall[1].http, "POST", "/v1/counters/1/open",
               "{\"staff\":\"X1\",\"services\":[\"A\"]}", 200);
    hbt_req_ok(w->hall[2].http, "POST", "/v1/counters/1/open",
               "{\"staff\":\"X2\",\"services\":[\"B\"]}", 200);
    hbt_req_ok(w->hall[3].http, "POST", "/v1/counters/1/open",
               "{\"staff\":\"X3\",\"services\":[\"A\"]}", 200);
    /* B01 has served A slowly (3 s), and three wait for it now: past the
     * threshold of 2, and a wait of seconds. */
    json_t *k0 = s_ok_as(w, HBT_KIOSK, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    char body[64];
    snprintf(body, sizeof body, "{\"ticket\":\"%s\"}", hbt_str(k0, "ticket"));
    json_decref(k0);
    json_decref(s_ok_as(w, HBT_TERM1, "POST", "/v1/counters/1/call", body, 200));
    json_decref(s_ok_as(w, HBT_TERM1, "POST", "/v1/counters/1/start", "{}", 200));
    hbt_sleep_ms(3000);
    json_decref(s_ok_as(w, HBT_TERM1, "POST", "/v1/counters/1/complete",
                        "{\"business_type\":\"deposit\"}", 200));
    for (int k = 0; k < 3; k++)
        json_decref(s_ok_as(w, HBT_KIOSK, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201));
    /* HQ's board reaches B01 with B02 shorter for A. */
    int64_t deadline = hbt_now_ms() + 20000;
    bool ready = false;
    char last[4096] = "";
    while (!ready && hbt_now_ms() < deadline) {
        json_t *h = s_ok_as(w, HBT_MANAGER, "GET", "/v1/hall", NULL, 200);
        size_t k;
        json_t *a;
        json_array_foreach (json_object_get(h, "advice"), k, a) {
            if (strcmp(hbt_str(a, "service"), "A") == 0 &&
                strcmp(hbt_str(a, "nearby_from"), "hq") == 0)
                ready = json_array_size(json_object_get(a, "nearby")) >= 1;
        }
        char *dump = json_dumps(json_object_get(h, "advice"), JSON_COMPACT);
        snprintf(last, sizeof last, "%s", dump ? dump : "");
        free(dump);
        json_decref(h);
        if (!ready)
            hbt_sleep_ms(200);
    }
    if (!ready)
        fail_msg("B01's advice for A names no nearby hall from HQ's board within 20 s: %s", last);
    fprintf(stderr, "advice at B01: %s\n", last);
    /* B04 offers A with a shorter wait too: only its being closed keeps it
     * out (and B03 does not offer A at all). */
    hbt_assert_contains(last, "\"hall\":\"B04\"");
    hbt_assert_contains(last, "\"open\":false");

    hbt_wd_switch(wd, p->win_kiosk);
    char url[300];
    snprintf(url, sizeof url, "%s/kiosk", s_hall(w)->http);
    hbt_wd_go(wd, url);
    hbt_wd_wait_ok(wd, "return !!window.hbPage && window.hbPage.ready;", 10000, "kiosk not ready");
    hbt_wd_press(wd, "#services .service[data-service=\"A\"]");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('advice');", 5000,
                   "the kiosk did not advise past the threshold");
    char text[4096];
    hbt_wd_exec_str(wd, "return document.getElementById('advice').innerText;", text, sizeof text);
    fprintf(stderr, "kiosk advice: '%s'\n", text);
    assert_true(
        hbt_wd_exec_true(wd, "return !!document.querySelector('#nearby li[data-hall=\"B02\"]');"));
    assert_false(
        hbt_wd_exec_true(wd, "return !!document.querySelector('#nearby li[data-hall=\"B03\"]');"));
    assert_false(
        hbt_wd_exec_true(wd, "return !!document.querySelector('#nearby li[data-hall=\"B04\"]');"));
    hbt_assert_contains(text, "港湾西路营业厅");
    hbt_assert_contains(text, "码头路 12 号");
    hbt_assert_contains(text, "手机银行 App");
    hbt_page_shots(&p->wd, "kiosk-advice");
    /* Take a ticket anyway. */
    hbt_wd_run(wd, "window.print = () => {}; return 1;");
    hbt_wd_press(wd, "#take-anyway");
    hbt_wd_press(wd, "#take-normal");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('ticket-number');", 5000,
                   "no ticket after 'take a ticket anyway'");
    hbt_wd_press(wd, "#done");

    /* B04's kiosk: the hall is closed; its hours, next opening and where to
     * go instead. */
    char url4[400];
    snprintf(url4, sizeof url4, "%s/kiosk?token=%s", w->hall[3].http, p->closed_kiosk);
    hbt_wd_go(wd, url4);
    hbt_wd_wait_ok(wd,
                   "return !!document.getElementById('closed') &&"
                   " !!document.getElementById('posted-hours');",
                   20000, "B04's kiosk does not say the hall is closed");
    hbt_wd_exec_str(wd, "return document.getElementById('closed').innerText;", text, sizeof text);
    fprintf(stderr, "closed kiosk: '%s'\n", text);
    hbt_assert_contains(text, "大厅已关闭");
    /* Where to go: B01, by its name and address from HQ's board. */
    hbt_wd_wait_ok(
        wd,
        "return (document.querySelector('#divert li[data-hall=\"B01\"]')?.textContent || '')"
        ".includes('港湾东路 1 号');",
        10000, "B04's kiosk does not send customers to B01");
    hbt_page_shots(&p->wd, "kiosk-closed");
}

/* ------------------------------------------------------------- manager */

/* Whether this branchd serves `path` (GET as the manager): a route of the
 * contract that is not served yet answers 404 "no route" (docs/API.md says
 * which), and the part of the test that needs it is skipped, saying so. */
static bool s_served(hbt_world_t *w, const char *path)
{
    json_t *o = NULL;
    int st = s_as(w, HBT_MANAGER, "GET", path, NULL, &o);
    bool served = !(st == 404 && strstr(hbt_str(o, "reason"), "no route"));
    json_decref(o);
    if (!served)
        fprintf(stderr,
                "SKIPPED: this branchd does not serve GET %s yet (contract only in "
                "docs/API.md); what needs it is not checked\n",
                path);
    return served;
}

/* The hall live on the manager's tablet: a complaint recorded at the
 * counter, acknowledged and resolved; the kiosk's own paper-out puts it out
 * of service, and the manager marks it repaired. */
HBT_TEST(test_manager_live)
{
    hbt_world_t *w = *state;
    pages_t *p = w->test;
    hbt_wd_t *wd = s_browser(w);
    json_decref(s_ok_as(w, HBT_KIOSK, "POST", "/v1/devices/KIOSK-1/status",
                        "{\"kind\":\"kiosk\",\"state\":\"ok\"}", 200));

    /* A complaint for the customer, from counter 1's terminal. */
    hbt_wd_switch(wd, p->win_counter);
    s_open_until(w, HBT_TERM1, "/counter/1",
                 "return !!window.hbPage && window.hbPage.ready && "
                 "!!document.getElementById('complaint-open');",
                 10000, "counter 1's page is not ready");
    hbt_wd_press(wd, "#complaint-open");
    s_type(wd, "#complaint-text", "等候时间太长");
    hbt_page_shots(&p->wd, "counter-complaint");
    hbt_wd_press(wd, "#complaint-send");
    hbt_wd_wait_ok(wd,
                   "return document.getElementById('notice').dataset.kind === 'info' &&"
                   " document.getElementById('notice').textContent.includes('已登记');",
                   5000, "the complaint was not recorded");

    hbt_wd_new_window(wd, p->win_manager, sizeof p->win_manager);
    s_open_until(
        w, HBT_MANAGER, "/manager",
        "return !!window.hbPage && window.hbPage.ready && !!document.getElementById('mgr-queues') "
        "&&"
        " !!document.querySelector('#mgr-complaints tr[data-state=\"open\"] .countdown');",
        10000, "the manager page does not show the hall with the open complaint");
    char text[1024];
    hbt_wd_exec_str(
        wd, "return document.querySelector('#mgr-complaints tr[data-complaint]').innerText;", text,
        sizeof text);
    fprintf(stderr, "manager: complaint row '%s'\n", text);
    hbt_assert_contains(text, "剩余");
    hbt_page_shots(&p->wd, "manager-live");
    hbt_wd_press(wd, "#mgr-complaints tr[data-complaint] button[data-act=\"ack\"]");
    hbt_wd_wait_ok(
        wd, "return !!document.querySelector('#mgr-complaints tr[data-state=\"acknowledged\"]');",
        5000, "the complaint was not acknowledged");
    hbt_wd_press(wd, "#mgr-complaints tr[data-complaint] button[data-act=\"resolve-yes\"]");
    hbt_wd_wait_ok(wd, "return !document.querySelector('#mgr-complaints tr[data-complaint]');",
                   5000, "the complaint was not resolved");

    /* The kiosk reports paper out: out of service, in both languages. */
    hbt_wd_switch(wd, p->win_kiosk);
    s_open_until(w, HBT_KIOSK, "/kiosk", "return !!window.hbPage && window.hbPage.ready;", 10000,
                 "kiosk not ready");
    hbt_wd_press(wd, "#maintenance");
    hbt_wd_press(wd, "#maintenance-panel button[data-state=\"paper_out\"]");
    hbt_wd_wait_ok(wd,
                   "return !!document.getElementById('out-of-service') &&"
                   " document.getElementById('out-of-service').textContent.includes('暂停服务');",
                   5000, "the kiosk is not out of service after paper out");
    hbt_page_shots(&p->wd, "kiosk-out-of-service");
    json_t *o = NULL;
    assert_int_equal(s_as(w, HBT_KIOSK, "POST", "/v1/tickets", "{\"service\":\"A\"}", &o), 409);
    assert_string_equal(hbt_str(o, "error"), "out_of_service");
    json_decref(o);
    /* The manager sees it and marks it repaired; the kiosk is back. */
    hbt_wd_switch(wd, p->win_manager);
    hbt_wd_wait_ok(wd,
                   "return !!document.querySelector('#mgr-devices "
                   "tr[data-device=\"KIOSK-1\"][data-state=\"paper_out\"]');",
                   5000, "the manager does not see the kiosk's paper out");
    hbt_wd_press(wd, "#mgr-devices tr[data-device=\"KIOSK-1\"] button[data-act=\"repaired\"]");
    hbt_wd_wait_ok(wd,
                   "return !!document.querySelector('#mgr-devices "
                   "tr[data-device=\"KIOSK-1\"][data-state=\"ok\"]');",
                   5000, "the kiosk was not marked repaired");
    hbt_wd_switch(wd, p->win_kiosk);
    hbt_wd_wait_ok(wd, "return !!document.querySelector('#services .service');", 10000,
                   "the kiosk did not come back after its repair");
}

/* The manager's day: the meeting, the checklist with one device failed and
 * HQ's alert, patrols of 7 and 25, the log, the cash and the report. */
HBT_TEST(test_manager_day)
{
    hbt_world_t *w = *state;
    pages_t *p = w->test;
    if (!s_served(w, "/v1/manager/checklist"))
        skip();
    hbt_wd_t *wd = s_browser(w);
    hbt_wd_switch(wd, p->win_manager);

    /* The morning meeting, then the checklist with the kiosk failed. */
    hbt_wd_press(wd, "#tabs button[data-tab=\"opening\"]");
    hbt_wd_wait_ok(
        wd, "return !!document.querySelector('#checklist-items tr[data-item=\"device:KIOSK-1\"]');",
        5000, "the checklist does not list the kiosk");
    s_type(wd, "#meeting-morning-attendees", "E07, E08");
    s_type(wd, "#meeting-morning-topics", "今日活动\n服务规范");
    hbt_wd_press(wd, "#meeting-morning-save");
    hbt_wd_wait_ok(wd, "return !!document.querySelector('#meeting-morning .ok-line');", 5000,
                   "the morning meeting was not recorded");
    json_t *items =
        hbt_wd_exec(wd, "return [...document.querySelectorAll('#checklist-items tr[data-item]')]"
                        ".map((r) => r.dataset.item);");
    size_t k;
    json_t *it;
    json_array_foreach (items, k, it) {
        const char *item = json_string_value(it);
        char css[200];
        snprintf(css, sizeof css, "#checklist-items tr[data-item=\"%s\"] button[data-ok=\"%s\"]",
                 item, strcmp(item, "device:KIOSK-1") == 0 ? "false" : "true");
        hbt_wd_press(wd, css);
    }
    json_decref(items);
    s_type(wd, "#checklist-items input[data-note=\"device:KIOSK-1\"]", "打印机卡纸");
    hbt_page_shots(&p->wd, "manager-checklist");
    hbt_wd_press(wd, "#checklist-save");
    hbt_wd_wait_ok(wd, "return !!document.querySelector('#checklist .ok-line');", 5000,
                   "the checklist was not recorded");
    hbt_wd_press(wd, "#hall-open");
    hbt_wd_wait_ok(wd,
                   "return !!document.getElementById('open-result') && "
                   "window.hbPage.openAnswer.alert === true;",
                   5000, "opening with a failed device did not say HQ is alerted");
    /* HQ raises the alert, when this hqd knows the kind (its alerts
     * answer 400 for a kind they do not have). */
    json_t *probe = NULL;
    int known = hbt_http(w->hq.http, "GET", "/v1/alerts?state=open&kind=opening_device_check", NULL,
                         &probe);
    json_decref(probe);
    if (known == 400) {
        fprintf(stderr, "SKIPPED: this hqd has no opening_device_check alert yet; the hall's "
                        "answer said HQ is alerted (alert: true)\n");
    } else {
        int64_t deadline = hbt_now_ms() + 30000;
        bool alerted = false;
        while (!alerted && hbt_now_ms() < deadline) {
            json_t *a = hbt_get(w->hq.http, "/v1/alerts?state=open&hall=B01");
            size_t n;
            json_t *x;
            json_array_foreach (json_object_get(a, "alerts"), n, x)
                alerted |= strcmp(hbt_str(x, "kind"), "opening_device_check") == 0;
            json_decref(a);
            if (!alerted)
                hbt_sleep_ms(200);
        }
        if (!alerted)
            fail_msg("HQ raised no opening_device_check alert for B01 within 30 s");
        fprintf(stderr, "manager: opened with KIOSK-1 failed; HQ raised opening_device_check\n");
    }

    /* Patrols: 7 on duty draw 4; 25 draw 8. The staff on duty are those of
     * the counters open (counter 1 is E07's, from the story). */
    static const struct {
        int on_duty, drawn;
    } rounds[] = {{7, 4}, {25, 8}};
    int opened = 1;
    for (size_t r = 0; r < 2; r++) {
        for (; opened < rounds[r].on_duty; opened++) {
            char path[64], body[96];
            snprintf(path, sizeof path, "/v1/counters/%d/open", 10 + opened);
            snprintf(body, sizeof body, "{\"staff\":\"P%02d\",\"services\":[\"C\"]}", opened);
            json_decref(s_ok_as(w, HBT_MANAGER, "POST", path, body, 200));
        }
        hbt_wd_press(wd, "#tabs button[data-tab=\"patrols\"]");
        hbt_wd_press(wd, "#patrol-draw");
        char script[300];
        snprintf(script, sizeof script,
                 "const d = document.getElementById('patrol-drawn');"
                 "return !!d && d.dataset.onDuty === '%d' && d.dataset.drawn === '%d' &&"
                 " document.querySelectorAll('.score-card').length === %d;",
                 rounds[r].on_duty, rounds[r].drawn, rounds[r].drawn);
        hbt_wd_wait_ok(wd, script, 5000, "the patrol did not draw by the manuals' rule");
        fprintf(stderr, "patrol: %d on duty, %d drawn\n", rounds[r].on_duty, rounds[r].drawn);
        if (r == 0) {
            /* Score the first one drawn on every criterion. */
            static const char *const crit[] = {"smile", "initiative", "compliance", "speed",
                                               "accuracy"};
            for (size_t c = 0; c < 5; c++) {
                char css[160];
                snprintf(css, sizeof css,
                         ".score-card .criterion[data-criterion=\"%s\"] button[data-n=\"%d\"]",
                         crit[c], 4 + (int)(c % 2));
                hbt_wd_press(wd, css);
            }
            hbt_wd_press(wd, ".score-card button[data-act=\"score\"]");
            hbt_wd_wait_ok(wd,
                           "return document.querySelector('.score-card').dataset.scored === 'yes';",
                           5000, "the patrol score was not recorded");
            hbt_page_shots(&p->wd, "manager-patrol");
        }
    }

    /* Work log, cash, and the day report. */
    hbt_wd_press(wd, "#tabs button[data-tab=\"log\"]");
    s_type(wd, "#log-text", "10:05 打印机卡纸，已联系维修");
    hbt_wd_press(wd, "#log-add");
    hbt_wd_wait_ok(wd, "return document.querySelectorAll('#log-entries li').length >= 1;", 5000,
                   "the work log entry did not appear");
    hbt_wd_press(wd, "#tabs button[data-tab=\"cash\"]");
    s_type(wd, "#cash-amount", "50000");
    s_type(wd, "#cash-by", "E07");
    s_type(wd, "#cash-to", "E08");
    hbt_wd_press(wd, "#cash-checked");
    hbt_wd_press(wd, "#cash-save");
    hbt_wd_wait_ok(wd, "return document.querySelectorAll('#cash ul.log li').length >= 1;", 5000,
                   "the cash handover did not appear");
    hbt_wd_press(wd, "#tabs button[data-tab=\"report\"]");
    hbt_wd_wait_ok(wd,
                   "return !!document.querySelector('#report-services tr[data-service=\"A\"]');",
                   5000, "the day report does not show service A");
    hbt_page_shots(&p->wd, "manager-report");
    hbt_wd_press(wd, "#tabs button[data-tab=\"live\"]");
}

/* --------------------------------------------------- appointments, last */

/* The bookings test_appointments_booked made at B05: E08 opens counter 2
 * for A; at the slot's start the checked-in one goes first there, and
 * never at E07's counter 1 (a walk-in waits there, taken after the booking
 * was checked in); the other becomes a no-show once its grace has passed. */
HBT_TEST(test_appointments_called)
{
    hbt_world_t *w = *state;
    pages_t *p = w->test;
    hbt_wd_need();
    if (!p->appt_code[0]) {
        fprintf(stderr, "SKIPPED: test_appointments_booked booked nothing\n");
        skip();
    }
    hbt_wd_t *wd = &p->wd;
    json_decref(s_ok_at(w, H_APPT, HBT_KIOSK, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201));
    json_decref(s_ok_at(w, H_APPT, HBT_MANAGER, "POST", "/v1/counters/1/open",
                        "{\"staff\":\"E07\",\"services\":[\"A\"]}", 200));
    json_decref(s_ok_at(w, H_APPT, HBT_TERM1, "POST", "/v1/counters/1/signin",
                        "{\"staff\":\"E07\",\"pin\":\"4711\"}", 200));
    json_decref(s_ok_at(w, H_APPT, HBT_MANAGER, "POST", "/v1/counters/2/open",
                        "{\"staff\":\"E08\",\"services\":[\"A\"]}", 200));
    int64_t start_ms = 0;
    assert_int_equal(hb_time_parse(p->appt_start, &start_ms), 0);
    fprintf(stderr, "appointments: %.1f s to the slot's start\n",
            (double)(start_ms - hb_now_ms()) / 1000.0);
    while (hb_now_ms() < start_ms + 500)
        hbt_sleep_ms(100);
    json_t *c1 = s_ok_at(w, H_APPT, HBT_TERM1, "POST", "/v1/counters/1/call", "{}", 200);
    fprintf(stderr, "appointments: counter 1 (E07) called %s by %s\n", hbt_str(c1, "ticket"),
            hbt_str(c1, "rule"));
    assert_string_not_equal(hbt_str(c1, "ticket"), p->appt_ticket);
    json_decref(c1);
    hbt_wd_switch(wd, p->win_appt);
    s_open_at(w, H_APPT, HBT_MANAGER, "/counter/2");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('call');", 10000,
                   "counter 2 is not open on the manager's counter page");
    hbt_wd_press(wd, "#call");
    char want[256];
    snprintf(want, sizeof want,
             "return document.getElementById('call-ticket')?.textContent === '%s' &&"
             " document.getElementById('current-call').dataset.rule === 'appointment';",
             p->appt_ticket);
    hbt_wd_wait_ok(wd, want, 5000, "counter 2 did not call the appointment first by its rule");
    char rule_text[256];
    hbt_wd_exec_str(wd, "return document.getElementById('call-rule').textContent;", rule_text,
                    sizeof rule_text);
    fprintf(stderr, "appointments: counter 2 (E08) called %s, shown as '%s'\n", p->appt_ticket,
            rule_text);
    hbt_assert_contains(rule_text, "预约时间已到");
    hbt_page_shots(&p->wd, "counter-appointment");

    /* The other one: a no-show once its grace has passed. */
    char path[96];
    snprintf(path, sizeof path, "/v1/appointments/%s", p->appt_missed);
    int64_t deadline = start_ms + 60000 + 15000;
    bool no_show = false;
    while (!no_show && hb_now_ms() < deadline) {
        json_t *b = s_ok_at(w, H_APPT, HBT_MANAGER, "GET", path, NULL, 200);
        no_show = strcmp(hbt_str(b, "state"), "no_show") == 0;
        json_decref(b);
        if (!no_show)
            hbt_sleep_ms(500);
    }
    if (!no_show)
        fail_msg("booking %s is not a no-show 15 s after its 60 s of grace", p->appt_missed);
    fprintf(stderr, "appointments: %s became a no-show\n", p->appt_missed);
}

HBT_GROUP(s_setup, hbt_browser_world_teardown);
