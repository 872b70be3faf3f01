/* What several browser tests set up or look at the same way: a world with
 * a browser in its test state, a city's campaign document dated from today,
 * waiting until a hall runs a campaign, and screenshots of a hall's pages at
 * the two screen sizes. The slice's integration test shares the campaign
 * document. Not for what a test checks on a page: each test asserts what it
 * means itself. */
#ifndef HBT_BROWSER_FX_H
#define HBT_BROWSER_FX_H

#include "harness.h"
#include "webdriver.h"
#include "world.h"

#include <stdbool.h>
#include <stddef.h>

/* The regions of the dashboard's browser tests, named in Chinese: CN 总行
 * -> P01 北方省 -> C001 港湾市, C002 山城. The start of an organisation
 * document, which goes on with its own "\"halls\":[...]}". */
#define HBT_REGIONS_ZH                                                                             \
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"总行\",\"level\":\"national\"},"                    \
    "{\"id\":\"P01\",\"name\":\"北方省\",\"level\":\"province\",\"parent\":\"CN\"},"            \
    "{\"id\":\"C001\",\"name\":\"港湾市\",\"level\":\"city\",\"parent\":\"P01\"},"              \
    "{\"id\":\"C002\",\"name\":\"山城\",\"level\":\"city\",\"parent\":\"P01\"}],"

/* Where hall-page screenshots go, for a person to look at. */
#define HBT_SHOTS HB_BIN_DIR "/hall-pages-screenshots"

/* A city campaign `id` for `region` into `doc`: `title`, from today plus
 * `from_days` for `days` days (UTC dates), product savings-plus, no business
 * types, then `rest` (the members from "segment" on, without the closing
 * brace). Fails the test when `doc` is too small. */
void hbt_campaign_doc(char *doc, size_t len, const char *id, const char *title, const char *region,
                      int from_days, int days, const char *rest);
/* Waits up to 20 s until GET /v1/campaigns/active at `base` as `token`
 * lists a campaign, and with `terms` > 0 its first campaign carries that
 * many glossary terms; fails the test with `what` otherwise. */
void hbt_campaign_running(const char *base, const char *token, size_t terms, const char *what);
/* The setup that goes with hbt_browser_world_teardown: the world of
 * `spec` set up (hbt_world_setup, *state the world after) and the test's
 * state, `size` bytes zeroed whose first member is its browser (hbt_wd_t),
 * as w->test. Returns the world. */
hbt_world_t *hbt_browser_world_setup(void **state, const hbt_world_spec_t *spec, size_t size);
/* The teardown of a world (world.h) whose test state, w->test, was
 * allocated with its browser (hbt_wd_t) as its first member: the browser
 * stopped (if it ever started), the state freed, the world torn down. */
int hbt_browser_world_teardown(void **state);

/* HQ's dashboard tests' system: a fresh folder named after `tag` (into
 * `root`, `rootlen` bytes), hqd started, and the `n` halls `ids` enrolled,
 * running the always-open engine, started. */
void hbt_hq_halls_start(const char *tag, char *root, size_t rootlen, hbt_hq_t *hq,
                        hbt_hall_t *halls, const char *const *ids, size_t n);
/* Its end: the browser, the halls and hqd stopped, the folder removed. */
void hbt_hq_halls_stop(hbt_wd_t *wd, const char *root, hbt_hq_t *hq, hbt_hall_t *halls, size_t n);

/* The devices a hall's pages are tested with. */
enum { HBT_KIOSK, HBT_TERM1, HBT_RATE1, HBT_DISPLAY, HBT_MANAGER, HBT_TERM2, HBT_NDEV };
typedef struct hbt_hall_dev {
    const char *name, *kind, *counter; /* counter: NULL for none */
} hbt_hall_dev_t;
extern const hbt_hall_dev_t hbt_hall_devs[HBT_NDEV];
#define HBT_ALL_DEVS ((1u << HBT_NDEV) - 1)
/* Pairs the devices whose bits `which` sets (1u << HBT_KIOSK, ...) at
 * `hall` by `branchd devices add`, each one's token into tokens[d]. */
void hbt_hall_pair(hbt_hall_t *hall, unsigned which, char tokens[][64]);
/* Opens `path` of the hall at `base`, paired with `token`, in the current
 * window. */
void hbt_page_open(hbt_wd_t *wd, const char *base, const char *path, const char *token);

/* Screenshots of the current page as HBT_SHOTS/NAME-WxH.png at 1920x1080
 * and 1280x800, failing when the page is wider than either; the viewport
 * is 1920x1080 afterwards. */
void hbt_page_shots(hbt_wd_t *wd, const char *name);

#endif
