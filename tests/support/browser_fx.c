/* The browser tests' shared set-up and screenshots (see browser_fx.h): the
 * city campaign document, the wait for a hall to run a campaign, the two
 * screen sizes of the hall's pages. Not for assertions on what a page shows. */
#include "browser_fx.h"

#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

void hbt_campaign_doc(char *doc, size_t len, const char *id, const char *title, const char *region,
                      int from_days, int days, const char *rest)
{
    char start[16], end[16];
    time_t t = time(NULL) + (time_t)from_days * 86400;
    strftime(start, sizeof start, "%Y-%m-%d", gmtime(&t));
    t += (time_t)days * 86400;
    strftime(end, sizeof end, "%Y-%m-%d", gmtime(&t));
    int n = snprintf(doc, len,
                     "{\"id\":\"%s\",\"title\":\"%s\",\"level\":\"city\",\"region\":\"%s\","
                     "\"scope\":{\"regions\":[\"%s\"]},\"start\":\"%s\",\"end\":\"%s\","
                     "\"products\":[\"savings-plus\"],\"business_types\":[],%s}",
                     id, title, region, region, start, end, rest);
    if (n < 0 || (size_t)n >= len)
        fail_msg("campaign %s does not fit in %zu bytes", id, len);
}

void hbt_campaign_running(const char *base, const char *token, size_t terms, const char *what)
{
    int64_t deadline = hbt_now_ms() + 20000;
    bool running = false;
    while (!running && hbt_now_ms() < deadline) {
        json_t *c = NULL;
        if (hbt_http_as(base, token, NULL, "GET", "/v1/campaigns/active", NULL, &c) == 200) {
            json_t *first = json_array_get(json_object_get(c, "campaigns"), 0);
            running = hbt_int(c, "count") >= 1 &&
                      (terms == 0 || json_array_size(json_object_get(first, "glossary")) == terms);
        }
        json_decref(c);
        if (!running)
            hbt_sleep_ms(100);
    }
    if (!running)
        fail_msg("%s within 20 s", what);
}

hbt_world_t *hbt_browser_world_setup(void **state, const hbt_world_spec_t *spec, size_t size)
{
    assert_true(size >= sizeof(hbt_wd_t));
    *state = (void *)spec;
    assert_int_equal(hbt_world_setup(state), 0);
    hbt_world_t *w = *state;
    w->test = calloc(1, size);
    assert_non_null(w->test);
    return w;
}

int hbt_browser_world_teardown(void **state)
{
    hbt_world_t *w = *state;
    /* The state's first member is its browser: C lets a pointer to a
     * struct stand for one to its first member. */
    hbt_wd_t *wd = w->test;
    if (wd)
        hbt_wd_stop(wd);
    free(w->test);
    w->test = NULL;
    return hbt_world_teardown(state);
}

void hbt_hq_halls_start(const char *tag, char *root, size_t rootlen, hbt_hq_t *hq,
                        hbt_hall_t *halls, const char *const *ids, size_t n)
{
    hbt_mkdtemp(root, rootlen, tag);
    hbt_hq_init(hq, root);
    hbt_hq_start(hq);
    for (size_t i = 0; i < n; i++) {
        hbt_hall_enroll(hq, &halls[i], ids[i]);
        hbt_hall_set_engine(&halls[i], HBT_POLICY_ALWAYS_OPEN, NULL);
        hbt_hall_start(&halls[i]);
    }
}

void hbt_hq_halls_stop(hbt_wd_t *wd, const char *root, hbt_hq_t *hq, hbt_hall_t *halls, size_t n)
{
    hbt_wd_stop(wd);
    for (size_t i = 0; i < n; i++)
        hbt_hall_stop(&halls[i], SIGTERM);
    hbt_hq_stop(hq, SIGTERM);
    hbt_rmdir(root);
}

const hbt_hall_dev_t hbt_hall_devs[HBT_NDEV] = {
    [HBT_KIOSK] = {"KIOSK-1", "kiosk", NULL},    [HBT_TERM1] = {"T1", "counter", "1"},
    [HBT_RATE1] = {"RATE-1", "evaluator", "1"},  [HBT_DISPLAY] = {"DISPLAY-1", "display", NULL},
    [HBT_MANAGER] = {"TABLET", "manager", NULL}, [HBT_TERM2] = {"T2", "counter", "2"},
};

void hbt_hall_pair(hbt_hall_t *hall, unsigned which, char tokens[][64])
{
    for (int d = 0; d < HBT_NDEV; d++)
        if (which & (1u << d))
            hbt_hall_add_device(hall, hbt_hall_devs[d].name, hbt_hall_devs[d].kind,
                                hbt_hall_devs[d].counter, tokens[d], 64);
}

void hbt_page_open(hbt_wd_t *wd, const char *base, const char *path, const char *token)
{
    char url[400];
    snprintf(url, sizeof url, "%s%s?token=%s", base, path, token);
    hbt_wd_go(wd, url);
}

void hbt_page_shots(hbt_wd_t *wd, const char *name)
{
    static const int sizes[][2] = {{1920, 1080}, {1280, 800}};
    char path[400];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        hbt_wd_viewport(wd, sizes[i][0], sizes[i][1]);
        snprintf(path, sizeof path, "%s/%s-%dx%d.png", HBT_SHOTS, name, sizes[i][0], sizes[i][1]);
        hbt_wd_screenshot_to(wd, path);
        /* Nothing spills out sideways at either size. */
        if (!hbt_wd_exec_true(wd, "return document.documentElement.scrollWidth <= innerWidth + 1;"))
            fail_msg("%s at %dx%d is wider than the screen", name, sizes[i][0], sizes[i][1]);
    }
    hbt_wd_viewport(wd, 1920, 1080);
}
