/* Glossary definitions travel to the halls with their calendar slice: real
 * hqd and branchd over ZeroMQ. A published campaign uses two glossary terms
 * (one in its kiosk text, one in its FAQ); the hall it reaches holds their
 * explanations and examples and gives them with the campaign on its API
 * (what the kiosk shows), a term no campaign uses does not travel, the hall
 * the campaign does not reach gets none, and a new explanation at HQ is a
 * new calendar version that reaches the hall. A hall of an older build
 * (its Hello does not say it reads glossaries; its strict reader would
 * refuse the member) gets the same version without them. */
#include "browser_fx.h"
#include "harness.h"

#include "hallbus/codec.h"

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

static const hbt_world_spec_t s_world = {.tag = "slice-glossary",
                                         .halls = {"B01", "B02", "B03"},
                                         .hq_args = {"--rollout_resend", "1s"},
                                         .engine = true};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

/* Today's campaigns at `hall` once it runs calendar `version` (owned). */
static json_t *s_active_at(hbt_hall_t *hall, int64_t version)
{
    int64_t deadline = hbt_now_ms() + 20000;
    json_t *c = NULL;
    while (hbt_now_ms() < deadline) {
        json_decref(c);
        c = hbt_get(hall->http, "/v1/campaigns/active");
        if (c && hbt_int(c, "version") == version)
            return c;
        hbt_sleep_ms(100);
    }
    char *dump = c ? json_dumps(c, 0) : NULL;
    fail_msg("the hall does not run calendar %lld within 20 s: %s", (long long)version,
             dump ? dump : "?");
    return NULL;
}

HBT_TEST(test_glossary_reaches_the_hall_with_its_slice)
{
    hbt_world_t *w = *state;
    hbt_publish(w->hq.http,
                HBT_REGIONS_HARBOUR
                ",{\"id\":\"C2\",\"name\":\"Hill\",\"level\":\"city\",\"parent\":\"P1\"}],"
                "\"halls\":[{\"id\":\"B01\",\"city\":\"C1\"},{\"id\":\"B02\",\"city\":\"C2\"},"
                "{\"id\":\"B03\",\"city\":\"C1\"}]}",
                HBT_POLICY_OPEN_AND "\"campaigns\":{\"lead_days\":0}}");
    hbt_req_ok(
        w->hq.http, "PUT", "/v1/glossary",
        "{\"terms\":[{\"term\":\"年化收益率\",\"definition\":"
        "\"存一年大约能得到的收益占本金的比例。\","
        "\"examples\":[\"存 10000 元，年化收益率 2%，一年约得 200 元。\",\"半年约得一半。\"]},"
        "{\"term\":\"活期\",\"definition\":\"随时可以取出的存款。\"},"
        "{\"term\":\"APR\",\"definition\":\"annual percentage rate\"}]}",
        200);
    /* B03 runs no branchd: a raw link client of an older build stands in. */
    for (size_t i = 0; i < 2; i++)
        hbt_hall_start(&w->hall[i]);
    for (size_t i = 0; i < 2; i++)
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 20000));

    char doc[2048];
    hbt_campaign_doc(doc, sizeof doc, "harbour-savings", "港湾储蓄月", "C1", 0, 20,
                     "\"segment\":\"retail\",\"channels\":[\"kiosk\"],"
                     "\"texts\":{\"kiosk\":\"本月开立储蓄账户，年化收益率更高。\"},"
                     "\"faq\":[{\"question\":\"年化收益率是什么？\",\"answer\":"
                     "\"一年的收益比例，可转为活期。\"}]");
    hbt_campaign_publish(&w->hq, doc, "harbour-savings");

    /* HQ's slice for B01 carries the two terms used, not APR. */
    json_t *slice = hbt_get(w->hq.http, "/v1/calendar/slice/B01");
    json_t *gl = json_object_get(slice, "glossary");
    assert_int_equal(json_array_size(gl), 2);
    assert_string_equal(hbt_str(json_array_get(gl, 0), "term"), "年化收益率");
    assert_string_equal(hbt_str(json_array_get(gl, 1), "term"), "活期");
    int64_t v = hbt_int(slice, "version");
    json_decref(slice);
    slice = hbt_get(w->hq.http, "/v1/calendar/slice/B02");
    assert_null(json_object_get(slice, "glossary"));
    json_decref(slice);

    /* B03, of an older build, says Hello without the glossary flag: it
     * gets version v with the campaign and without the member. */
    hbt_raw_t *old = hbt_raw_connect(w->hq.endpoint, w->hall[2].dir);
    assert_non_null(old);
    assert_true(hbt_raw_hello(old) >= 0);
    Hallbus__Frame *f = NULL;
    int64_t deadline = hbt_now_ms() + 10000;
    while (!f && hbt_now_ms() < deadline)
        f = hbt_raw_expect(old, HALLBUS__FRAME__KIND_CALENDAR, 500);
    assert_non_null(f);
    assert_int_equal((int64_t)f->calendar->version, v);
    json_t *plain =
        json_loadb((const char *)f->calendar->document.data, f->calendar->document.len, 0, NULL);
    hb_frame_free(f);
    hbt_raw_close(&old);
    assert_non_null(plain);
    assert_null(json_object_get(plain, "glossary"));
    assert_int_equal(hbt_int(plain, "version"), v);
    char *text = json_dumps(plain, JSON_COMPACT);
    hbt_assert_contains(text, "harbour-savings");
    free(text);
    json_decref(plain);

    /* The hall holds them with its slice and gives them with the campaign. */
    json_t *a = s_active_at(&w->hall[0], v);
    json_t *c = json_array_get(json_object_get(a, "campaigns"), 0);
    assert_string_equal(hbt_str(c, "id"), "harbour-savings");
    json_t *terms = json_object_get(c, "glossary");
    assert_int_equal(json_array_size(terms), 2);
    json_t *t0 = json_array_get(terms, 0);
    assert_string_equal(hbt_str(t0, "term"), "年化收益率");
    assert_string_equal(hbt_str(t0, "definition"), "存一年大约能得到的收益占本金的比例。");
    json_t *ex = json_object_get(t0, "examples");
    assert_int_equal(json_array_size(ex), 2);
    assert_string_equal(json_string_value(json_array_get(ex, 1)), "半年约得一半。");
    assert_null(json_object_get(t0, "campaigns"));
    assert_string_equal(hbt_str(json_array_get(terms, 1), "definition"), "随时可以取出的存款。");
    json_decref(a);
    /* The other hall runs the same version with no campaign and no term. */
    a = s_active_at(&w->hall[1], v);
    assert_int_equal(hbt_int(a, "count"), 0);
    json_decref(a);

    /* A new explanation is a new version, and it reaches the hall, also
     * after the hall restarts (kept with the slice). */
    hbt_req_ok(w->hq.http, "PUT", "/v1/glossary",
               "{\"terms\":[{\"term\":\"年化收益率\",\"definition\":\"按一年计算的收益比例。\"}]}",
               200);
    a = s_active_at(&w->hall[0], v + 1);
    terms = json_object_get(json_array_get(json_object_get(a, "campaigns"), 0), "glossary");
    assert_int_equal(json_array_size(terms), 1);
    assert_string_equal(hbt_str(json_array_get(terms, 0), "definition"), "按一年计算的收益比例。");
    assert_int_equal(json_array_size(json_object_get(json_array_get(terms, 0), "examples")), 0);
    json_decref(a);
    hbt_hall_stop(&w->hall[0], SIGTERM);
    hbt_hall_start(&w->hall[0]);
    a = s_active_at(&w->hall[0], v + 1);
    terms = json_object_get(json_array_get(json_object_get(a, "campaigns"), 0), "glossary");
    assert_string_equal(hbt_str(json_array_get(terms, 0), "term"), "年化收益率");
    json_decref(a);
}
