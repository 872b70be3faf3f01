/* The kiosk explains a campaign's jargon, in a real browser (headless
 * Chromium through ChromeDriver) against real hqd and branchd: HQ's glossary
 * holds 年化收益率 with a plain explanation and two examples, a published
 * campaign of the hall's city uses it in its kiosk text, the hall gets the
 * explanation with its slice, and a customer who touches the term on the
 * kiosk reads the explanation and the examples (in Chinese, then English
 * after the switch: the words are HQ's, the frame the page's). A term no
 * campaign uses is not on the kiosk. Screenshots go to the build folder
 * (kiosk-glossary-*.png) for a person to look at. */
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
#include <sys/stat.h>

#include "runner.h"

#define POLICY                                                                                     \
    "{\"timezone\":\"UTC\",\"opening_hours\":{\"mon\":[\"00:00-24:00\"],"                          \
    "\"tue\":[\"00:00-24:00\"],\"wed\":[\"00:00-24:00\"],\"thu\":[\"00:00-24:00\"],"               \
    "\"fri\":[\"00:00-24:00\"],\"sat\":[\"00:00-24:00\"],\"sun\":[\"00:00-24:00\"]},"              \
    "\"campaigns\":{\"lead_days\":0}}"
#define SERVICES "A:A:10m:现金存取款; B:B:20m:贷款业务"
#define EXPLANATION "存一年大约能得到的收益占本金的比例。"

static const hbt_world_spec_t s_world = {.tag = "kiosk-glossary", .halls = {"B01"}};

typedef struct kiosk {
    hbt_wd_t wd; /* first: hbt_browser_world_teardown stops it */
    char token[64];
} kiosk_t;

static int s_setup(void **state)
{
    hbt_world_t *w = hbt_browser_world_setup(state, &s_world, sizeof(kiosk_t));
    kiosk_t *k = w->test;
    hbt_publish(w->hq.http,
                "{\"regions\":[{\"id\":\"CN\",\"name\":\"总行\",\"level\":\"national\"},"
                "{\"id\":\"P1\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"
                "{\"id\":\"C1\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P1\"}],"
                "\"halls\":[{\"id\":\"B01\",\"city\":\"C1\",\"name\":\"港湾东路营业厅\"}]}",
                POLICY);
    hbt_req_ok(w->hq.http, "PUT", "/v1/glossary",
               "{\"terms\":[{\"term\":\"年化收益率\",\"definition\":\"" EXPLANATION "\","
               "\"examples\":[\"存 10000 元，年化收益率 2%，一年约得 200 元。\","
               "\"存半年，约得一年收益的一半。\"]},"
               "{\"term\":\"大额存单\",\"definition\":\"起存金额较高的定期存款。\"}]}",
               200);
    hbt_hall_t *b01 = &w->hall[0];
    hbt_hall_set_engine(b01, POLICY, SERVICES);
    b01->tokens_only = true;
    /* The kiosk, and a manager's tablet whose token the harness uses to
     * see the hall come up (a kiosk may not read the hall's status). */
    hbt_hall_add_device(b01, "KIOSK-1", "kiosk", NULL, k->token, sizeof k->token);
    hbt_hall_add_device(b01, "TABLET", "manager", NULL, b01->token, sizeof b01->token);
    hbt_hall_start(b01);

    char doc[2048];
    hbt_campaign_doc(
        doc, sizeof doc, "harbour-savings", "港湾储蓄月", "C1", 0, 20,
        "\"segment\":\"retail\",\"channels\":[\"kiosk\"],"
        "\"texts\":{\"kiosk\":\"本月开立储蓄账户，年化收益率更高。\"},"
        "\"faq\":[{\"question\":\"年化收益率是多少？\",\"answer\":\"以柜台公布为准。\"}]");
    hbt_campaign_publish(&w->hq, doc, "harbour-savings");
    /* The hall runs it, with the term, before the kiosk looks. */
    hbt_campaign_running(b01->http, k->token, 1, "B01 does not run the campaign with its term");
    mkdir(HBT_SHOTS, 0755);
    return 0;
}

#define HBT_FIXTURE s_setup, hbt_browser_world_teardown

static void s_shot(kiosk_t *k, const char *name)
{
    char path[400];
    hbt_wd_viewport(&k->wd, 1280, 800);
    snprintf(path, sizeof path, "%s/%s-1280x800.png", HBT_SHOTS, name);
    hbt_wd_screenshot_to(&k->wd, path);
    fprintf(stderr, "screenshot: %s\n", path);
}

HBT_TEST(test_kiosk_explains_a_touched_term)
{
    hbt_world_t *w = *state;
    kiosk_t *k = w->test;
    hbt_wd_need();
    hbt_wd_start(&k->wd, w->root);
    hbt_wd_t *wd = &k->wd;
    char url[400];
    snprintf(url, sizeof url, "%s/kiosk?token=%s", w->hall[0].http, k->token);
    hbt_wd_go(wd, url);
    hbt_wd_viewport(wd, 1280, 800);
    hbt_wd_wait_ok(
        wd,
        "return !!window.hbPage && window.hbPage.ready &&"
        " !!document.querySelector('#campaigns .campaign[data-campaign=\"harbour-savings\"]"
        " p .term-link[data-term=\"年化收益率\"]');",
        10000, "the kiosk does not show the campaign's term as a button in its text");
    assert_true(hbt_wd_exec_true(wd, "return document.documentElement.lang === 'zh-CN';"));
    /* The unused term is nowhere; nothing explained before a touch. */
    assert_true(hbt_wd_exec_true(wd, "return !document.querySelector('[data-term=\"大额存单\"]') &&"
                                     " !document.getElementById('term-explain');"));
    char text[4096];
    hbt_wd_exec_str(
        wd,
        "return document.querySelector('.campaign[data-campaign=\"harbour-savings\"] p')"
        ".textContent;",
        text, sizeof text);
    hbt_assert_contains(text, "本月开立储蓄账户，年化收益率更高。"); /* the text reads as written */
    s_shot(k, "kiosk-glossary-home-zh");

    /* A customer touches the term in the text. */
    hbt_wd_press(
        wd, ".campaign[data-campaign=\"harbour-savings\"] p .term-link[data-term=\"年化收益率\"]");
    hbt_wd_wait_ok(wd,
                   "return !!document.querySelector('#term-explain[data-term=\"年化收益率\"]');",
                   5000, "touching the term shows no explanation");
    hbt_wd_exec_str(wd, "return document.getElementById('term-explain').innerText;", text,
                    sizeof text);
    fprintf(stderr, "kiosk (zh): the explanation reads '%s'\n", text);
    hbt_assert_contains(text, "“年化收益率”是什么意思");
    hbt_assert_contains(text, EXPLANATION);
    hbt_assert_contains(text, "举例");
    hbt_assert_contains(text, "一年约得 200 元");
    hbt_assert_contains(text, "约得一年收益的一半");
    /* On screen, not hidden or off it. */
    assert_true(hbt_wd_exec_true(wd,
                                 "const r = document.getElementById('term-explain')"
                                 ".getBoundingClientRect(); return r.width > 300 && r.top >= 0 &&"
                                 " r.bottom <= innerHeight;"));
    s_shot(k, "kiosk-glossary-zh");
    hbt_wd_press(wd, "#term-close");
    hbt_wd_wait_ok(wd, "return !document.getElementById('term-explain');", 5000,
                   "the explanation does not close");

    /* In English: the page's words change, HQ's explanation stays; the
     * row of terms under the text is touchable too. */
    hbt_wd_press(wd, "#lang-switch button[data-lang=\"en\"]");
    hbt_wd_wait_ok(
        wd,
        "return document.documentElement.lang === 'en' &&"
        " !!document.querySelector('.campaign .terms .term-link[data-term=\"年化收益率\"]');",
        10000, "the kiosk does not switch to English");
    hbt_wd_press(wd, ".campaign .terms .term-link[data-term=\"年化收益率\"]");
    hbt_wd_wait_ok(wd, "return !!document.getElementById('term-explain');", 5000,
                   "touching the term in the row shows no explanation");
    hbt_wd_exec_str(wd, "return document.getElementById('term-explain').innerText;", text,
                    sizeof text);
    fprintf(stderr, "kiosk (en): the explanation reads '%s'\n", text);
    hbt_assert_contains(text, "What \"年化收益率\" means");
    hbt_assert_contains(text, "For example");
    hbt_assert_contains(text, EXPLANATION);
    s_shot(k, "kiosk-glossary-en");
    hbt_wd_console_clean(wd, false, NULL);
    hbt_wd_press(wd, "#lang-switch button[data-lang=\"zh-CN\"]");
}
