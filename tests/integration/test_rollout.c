/* The downlink with real processes: a policy and a campaign calendar are
 * published to 30 halls while 5 of them are stopped; the 25 running apply
 * the new versions (each hall exactly its slice), the 5 catch up when they
 * start, and HQ's rollout view says so at each step. A hall killed with
 * SIGKILL while applying ends with the old version or the new one whole,
 * never a mix. Nearby halls' live state reaches a hall on the neighbour
 * board. */
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
#include "world.h"

#define HALLS 30
#define STOPPED 5

/* Waits until the rollout of `kind` ("policy"/"calendar") has `version`
 * applied by `applied` halls and `offline` offline; prints the view. */
static void s_wait_rollout(hbt_world_t *w, const char *kind, int64_t version, int64_t applied,
                           int64_t offline)
{
    int64_t deadline = hbt_now_ms() + 30000;
    json_t *k = NULL, *r = NULL;
    while (hbt_now_ms() < deadline) {
        json_decref(r);
        r = hbt_get(w->hq.http, "/v1/rollout");
        k = r ? json_object_get(r, kind) : NULL;
        if (k && hbt_int(k, "version") == version && hbt_int(k, "applied") == applied &&
            hbt_int(k, "offline") == offline && hbt_int(k, "pending") == 0)
            break;
        hbt_sleep_ms(100);
    }
    assert_non_null(k);
    if (hbt_int(k, "applied") != applied || hbt_int(k, "pending") != 0) {
        json_t *full = hbt_get(w->hq.http, "/v1/rollout?halls=50");
        char *dump = full ? json_dumps(json_object_get(full, kind), 0) : NULL;
        fprintf(stderr, "rollout not as expected: %s\n", dump ? dump : "?");
        json_t *pend = json_object_get(json_object_get(full, kind), "pending_halls");
        for (size_t i = 0; i < json_array_size(pend); i++) {
            int num = atoi(json_string_value(json_array_get(pend, i)) + 1) - 1;
            json_t *st = hbt_get(w->hall[num].http, "/v1/status");
            char *sd = st ? json_dumps(st, 0) : NULL;
            char path[64];
            snprintf(path, sizeof path, "/v1/halls/H%02d", num + 1);
            json_t *hh = hbt_get(w->hq.http, path);
            char *hd = hh ? json_dumps(hh, 0) : NULL;
            fprintf(stderr, "  H%02d downlink %s hq %s\n", num + 1, sd ? sd : "?", hd ? hd : "?");
            free(sd);
            free(hd);
            json_decref(st);
            json_decref(hh);
        }
        free(dump);
        json_decref(full);
        fprintf(stderr, "HB_KEEP: logs under %s\n", w->root);
    }
    fprintf(stderr, "rollout %s v%lld: %lld applied, %lld pending, %lld offline of %lld\n", kind,
            (long long)hbt_int(k, "version"), (long long)hbt_int(k, "applied"),
            (long long)hbt_int(k, "pending"), (long long)hbt_int(k, "offline"),
            (long long)hbt_int(k, "halls"));
    assert_int_equal(hbt_int(k, "version"), version);
    assert_int_equal(hbt_int(k, "applied"), applied);
    assert_int_equal(hbt_int(k, "offline"), offline);
    assert_int_equal(hbt_int(k, "pending"), 0);
    json_decref(r);
}

/* A national policy open round the clock whose diversion threshold tells
 * the versions apart. */
static void s_set_policy(hbt_world_t *w, int threshold)
{
    char body[1024];
    snprintf(body, sizeof body,
             HBT_POLICY_OPEN_AND
             "\"diversion\":{\"threshold\":%d},\"campaigns\":{\"lead_days\":0}}",
             threshold);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/national", body, 200);
}

static int64_t s_publish_policy(hbt_world_t *w)
{
    json_t *resp = NULL;
    assert_int_equal(hbt_http(w->hq.http, "POST", "/v1/policies/publish", "{}", &resp), 200);
    int64_t v = hbt_int(resp, "version");
    json_decref(resp);
    return v;
}

/* The version and threshold a hall runs. */
static void s_hall_policy(hbt_hall_t *h, int64_t *version, int64_t *threshold)
{
    json_t *p = hbt_get(h->http, "/v1/policy");
    assert_non_null(p);
    *version = hbt_int(p, "version");
    *threshold = hbt_int(json_object_get(json_object_get(p, "policy"), "diversion"), "threshold");
    json_decref(p);
}

static void s_today(int offset_days, char out[11])
{
    time_t t = time(NULL) + (time_t)offset_days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The five stopped halls count as offline once silent for offline_after:
 * 3 s (halls beat every 500 ms here) rather than the default 10 s. */
static const hbt_world_spec_t s_world = {.tag = "rollout",
                                         .numbered = "H",
                                         .n_numbered = HALLS,
                                         .hq_args = {"--rollout_resend", "1s",
                                                     "--neighbour_board_every", "500ms",
                                                     "--offline_after", "3s"},
                                         .engine = true};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

HBT_TEST(test_rollout_to_thirty_halls)
{
    hbt_world_t *w = *state;
    /* Every hall in the tree; H01 has two neighbours. */
    char org[8192];
    size_t used = (size_t)snprintf(
        org, sizeof org,
        "{\"regions\":[{\"id\":\"CN\",\"name\":\"HQ\",\"level\":\"national\"},"
        "{\"id\":\"P01\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"
        "{\"id\":\"C001\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P01\"},"
        "{\"id\":\"C002\",\"name\":\"Hill\",\"level\":\"city\",\"parent\":\"P01\"}],"
        "\"halls\":[");
    for (int i = 0; i < HALLS; i++)
        used += (size_t)snprintf(
            org + used, sizeof org - used, "%s{\"id\":\"H%02d\",\"city\":\"%s\"%s}", i ? "," : "",
            i + 1, i < 15 ? "C001" : "C002", i == 0 ? ",\"neighbours\":[\"H02\",\"H03\"]" : "");
    snprintf(org + used, sizeof org - used, "]}");
    hbt_req_ok(w->hq.http, "PUT", "/v1/org", org, 200);
    hbt_halls_start(w->hall, HALLS);
    for (int i = 0; i < HALLS; i++)
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 20000));
    /* Five halls are down at publish time. */
    for (int i = HALLS - STOPPED; i < HALLS; i++)
        hbt_hall_stop(&w->hall[i], SIGTERM);

    s_set_policy(w, 11);
    int64_t v1 = s_publish_policy(w);
    assert_int_equal(v1, 1);
    s_wait_rollout(w, "policy", v1, HALLS - STOPPED, STOPPED);
    for (int i = 0; i < HALLS - STOPPED; i++) {
        int64_t v, th;
        s_hall_policy(&w->hall[i], &v, &th);
        assert_int_equal(v, v1);
        assert_int_equal(th, 11);
    }

    /* A city campaign for C001, with its FAQ, running from today. */
    char start[11], end[11], doc[2048];
    s_today(0, start);
    s_today(30, end);
    snprintf(
        doc, sizeof doc,
        "{\"id\":\"harbour-savings\",\"title\":\"Harbour savings week\",\"level\":\"city\","
        "\"region\":\"C001\",\"scope\":{\"regions\":[\"C001\"]},\"start\":\"%s\",\"end\":\"%s\","
        "\"products\":[\"savings-plus\"],\"business_types\":[],\"segment\":\"retail\","
        "\"channels\":[\"kiosk\"],\"texts\":{\"kiosk\":\"Open a savings account this week.\"},"
        "\"faq\":[{\"question\":\"Who can open one?\",\"answer\":\"Anyone over 16 with an ID "
        "card.\"}]}",
        start, end);
    /* Drafted by marketing, approved and published by a reviewer (four
     * eyes), each with their own token. */
    char mkt[64], ops[64];
    hbt_hq_user(&w->hq, "mkt", mkt, "--role", "marketer", NULL);
    hbt_hq_user(&w->hq, "ops", ops, "--role", "reviewer", NULL);
    json_decref(hbt_req_as(w->hq.http, mkt, "POST", "/v1/campaigns", doc, 201));
    json_decref(
        hbt_req_as(w->hq.http, mkt, "POST", "/v1/campaigns/harbour-savings/submit", "{}", 200));
    json_decref(
        hbt_req_as(w->hq.http, ops, "POST", "/v1/campaigns/harbour-savings/approve", "{}", 200));
    json_decref(
        hbt_req_as(w->hq.http, ops, "POST", "/v1/campaigns/harbour-savings/publish", "{}", 200));
    s_wait_rollout(w, "calendar", 1, HALLS - STOPPED, STOPPED);
    /* Each hall got exactly its slice. */
    json_t *a = hbt_get(w->hall[0].http, "/v1/campaigns/active");
    assert_non_null(a);
    assert_int_equal(hbt_int(a, "version"), 1);
    assert_int_equal(hbt_int(a, "count"), 1);
    json_t *c = json_array_get(json_object_get(a, "campaigns"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "id")), "harbour-savings");
    assert_int_equal(json_array_size(json_object_get(c, "faq")), 1);
    json_decref(a);
    a = hbt_get(w->hall[20].http, "/v1/campaigns/active");
    assert_non_null(a);
    assert_int_equal(hbt_int(a, "version"), 1);
    assert_int_equal(hbt_int(a, "count"), 0);
    json_decref(a);

    /* The five come back and catch up with both. */
    hbt_halls_start(&w->hall[HALLS - STOPPED], STOPPED);
    s_wait_rollout(w, "policy", v1, HALLS, 0);
    s_wait_rollout(w, "calendar", 1, HALLS, 0);
    int64_t v, th;
    s_hall_policy(&w->hall[HALLS - 1], &v, &th);
    assert_int_equal(v, v1);
    assert_int_equal(th, 11);

    /* H01 sees its neighbours, current. */
    int64_t deadline = hbt_now_ms() + 10000;
    json_t *hall = NULL, *nb = NULL;
    while (hbt_now_ms() < deadline) {
        json_decref(hall);
        hall = hbt_get(w->hall[0].http, "/v1/hall");
        nb = hall ? json_object_get(hall, "neighbours") : NULL;
        if (json_is_object(nb) && json_array_size(json_object_get(nb, "halls")) == 2)
            break;
        hbt_sleep_ms(100);
    }
    assert_true(json_is_object(nb));
    assert_false(json_is_true(json_object_get(nb, "stale")));
    json_t *n0 = json_array_get(json_object_get(nb, "halls"), 0);
    assert_string_equal(json_string_value(json_object_get(n0, "hall")), "H02");
    assert_true(json_is_true(json_object_get(n0, "online")));
    json_decref(hall);

    /* Killed while applying: the old version whole or the new one whole. */
    srand(getenv("HB_TEST_SEED") ? (unsigned)atoi(getenv("HB_TEST_SEED")) : 20261202u);
    int64_t threshold_of[16] = {0};
    threshold_of[v1] = 11;
    hbt_hall_t *victim = &w->hall[1];
    for (int round = 0; round < 6; round++) {
        s_set_policy(w, 40 + round);
        int64_t vn = s_publish_policy(w);
        assert_true(vn < 16);
        threshold_of[vn] = 40 + round;
        /* HQ sends on its next round (within a second): the kill lands
         * before, during or after the hall applies it. */
        hbt_sleep_ms(rand() % 1500);
        hbt_hall_stop(victim, SIGKILL);
        hbt_hall_start(victim);
        s_hall_policy(victim, &v, &th);
        fprintf(stderr, "kill -9 during rollout of v%lld: the hall runs v%lld (threshold %lld)\n",
                (long long)vn, (long long)v, (long long)th);
        assert_true(v == vn || v == vn - 1);
        assert_int_equal(th, threshold_of[v]);
        s_wait_rollout(w, "policy", vn, HALLS, 0);
        s_hall_policy(victim, &v, &th);
        assert_int_equal(v, vn);
        assert_int_equal(th, threshold_of[vn]);
    }
}
