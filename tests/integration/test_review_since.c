/* "Changes since the last review" come from HQ, not from one browser: a
 * reviewer returns a campaign, the marketer changes it and submits again,
 * and a second reviewer (another person, another machine) reads with the
 * campaign the document the first one judged, who judged it and when
 * (`last_reviewed` of GET /v1/campaigns/{id}); an approval replaces it, and
 * a restarted hqd still has it. Real hqd, real HTTP. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"
#include "world.h"

static const hbt_world_spec_t s_world = {.tag = "review-since"};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

static void s_doc(char *out, size_t len, const char *title)
{
    char start[11], end[11];
    time_t now = time(NULL) + 10 * 86400, later = now + 20 * 86400;
    strftime(start, sizeof start, "%Y-%m-%d", gmtime(&now));
    strftime(end, sizeof end, "%Y-%m-%d", gmtime(&later));
    snprintf(
        out, len,
        "{\"id\":\"harbour-savings\",\"title\":\"%s\",\"level\":\"city\","
        "\"region\":\"C1\",\"scope\":{\"regions\":[\"C1\"]},\"start\":\"%s\",\"end\":\"%s\","
        "\"products\":[\"savings-plus\"],\"business_types\":[],\"segment\":\"retail\","
        "\"channels\":[\"kiosk\"],\"texts\":{\"kiosk\":\"Open a savings account this month.\"},"
        "\"faq\":[{\"question\":\"Who can open one?\",\"answer\":\"Anyone over 16.\"}]}",
        title, start, end);
}

HBT_TEST(test_last_review_comes_with_the_campaign)
{
    hbt_world_t *w = *state;
    hbt_req_ok(w->hq.http, "PUT", "/v1/org",
               HBT_REGIONS_HARBOUR "],"
                                   "\"halls\":[{\"id\":\"B01\",\"city\":\"C1\"}]}",
               200);
    char mkt[64], rita[64], remi[64], doc[2048];
    hbt_hq_user(&w->hq, "mkt", mkt, "--role", "marketer", "--scope", "C1", NULL);
    hbt_hq_user(&w->hq, "rita", rita, "--role", "reviewer", NULL);
    hbt_hq_user(&w->hq, "remi", remi, "--role", "reviewer", NULL);
    s_doc(doc, sizeof doc, "Harbour savings");
    json_decref(hbt_req_as(w->hq.http, mkt, "POST", "/v1/campaigns", doc, 201));
    json_decref(
        hbt_req_as(w->hq.http, mkt, "POST", "/v1/campaigns/harbour-savings/submit", "{}", 200));
    /* Submitted, never reviewed: nothing to compare with. */
    json_t *c = hbt_req_as(w->hq.http, remi, "GET", "/v1/campaigns/harbour-savings", NULL, 200);
    assert_null(json_object_get(c, "last_reviewed"));
    json_decref(c);

    json_decref(hbt_req_as(w->hq.http, rita, "POST", "/v1/campaigns/harbour-savings/return",
                           "{\"note\":\"say what the rate is\"}", 200));
    s_doc(doc, sizeof doc, "Harbour savings at 2.1%");
    json_decref(hbt_req_as(w->hq.http, mkt, "PUT", "/v1/campaigns/harbour-savings", doc, 200));
    json_decref(
        hbt_req_as(w->hq.http, mkt, "POST", "/v1/campaigns/harbour-savings/submit", "{}", 200));

    /* Remi, who never saw it, reads what Rita judged. */
    c = hbt_req_as(w->hq.http, remi, "GET", "/v1/campaigns/harbour-savings", NULL, 200);
    json_t *lr = json_object_get(c, "last_reviewed");
    assert_non_null(lr);
    assert_string_equal(hbt_str(lr, "action"), "return");
    assert_string_equal(hbt_str(lr, "by"), "rita");
    assert_true(hbt_int(lr, "at_ms") > 0);
    assert_string_equal(hbt_str(json_object_get(lr, "document"), "title"), "Harbour savings");
    assert_string_equal(hbt_str(c, "title"), "Harbour savings at 2.1%");
    int64_t rev = hbt_int(lr, "revision");
    assert_true(rev >= 1 && rev < hbt_int(c, "revision"));
    json_decref(c);

    /* Approved by Remi: the judged document is now the approved one. */
    json_decref(
        hbt_req_as(w->hq.http, remi, "POST", "/v1/campaigns/harbour-savings/approve", "{}", 200));
    c = hbt_req_as(w->hq.http, rita, "GET", "/v1/campaigns/harbour-savings", NULL, 200);
    lr = json_object_get(c, "last_reviewed");
    assert_string_equal(hbt_str(lr, "action"), "approve");
    assert_string_equal(hbt_str(lr, "by"), "remi");
    assert_string_equal(hbt_str(json_object_get(lr, "document"), "title"),
                        "Harbour savings at 2.1%");
    json_decref(c);

    /* Kept across a restart. */
    hbt_hq_stop(&w->hq, SIGTERM);
    hbt_hq_start(&w->hq);
    c = hbt_req_as(w->hq.http, rita, "GET", "/v1/campaigns/harbour-savings", NULL, 200);
    lr = json_object_get(c, "last_reviewed");
    assert_string_equal(hbt_str(lr, "by"), "remi");
    assert_string_equal(hbt_str(json_object_get(lr, "document"), "title"),
                        "Harbour savings at 2.1%");
    json_decref(c);
}
