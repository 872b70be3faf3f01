/* What the two parts of the dashboard's browser test share
 * (tests/browser/test_dashboard.c, the page's tour; languages.c, its words
 * in Chinese and English): the test's world, its halls and organisation,
 * and opening the page. */
#ifndef HBT_DASHBOARD_H
#define HBT_DASHBOARD_H

#include "harness.h"
#include "webdriver.h"

#include <stdbool.h>

#define HALLS 3

typedef struct {
    char root[256];
    hbt_hq_t hq;
    hbt_hall_t halls[HALLS];
    bool placed; /* PUT /v1/org placed the halls in regions */
    hbt_wd_t b;  /* the browser */
} world_t;

/* The halls B01, B02, B03. */
extern const char *const dash_ids[HALLS];
/* The organisation: the three halls in two cities of one province. */
extern const char dash_org[];

/* Opens the dashboard of the test's HQ at `query` ("" or "?lang=en") and
 * waits until `script` holds, failing the test with `what` otherwise. */
void dash_open(world_t *w, const char *query, const char *script, int timeout_ms, const char *what);

/* languages.c: fails, listing them, when the page shows texts of no
 * catalogue of its language. */
void dash_lang_clean(world_t *w, const char *what);
/* Every view in Chinese, then in English through the header's switch, and
 * the language remembered and set by the address. */
void dash_languages(world_t *w);
/* English counts worded for one and for several, Chinese unchanged. */
void dash_plurals(world_t *w);

#endif
