/* Alerts with real processes: a hall whose customers wait past a tiny SLA,
 * above the diversion threshold, with no counter open, raises those alerts
 * at HQ (on the stream and in GET /v1/alerts, and on the hall's tile); hqd
 * killed with SIGKILL comes back with the same live state and the same open
 * alerts; serving the customers clears them, and the history keeps both
 * ends. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "world.h"

/* The open alerts as "kind/subject#id" lines, sorted by the store. */
static char *s_open_alerts(hbt_world_t *w, size_t *count)
{
    json_t *a = hbt_get(w->hq.http, "/v1/alerts?state=open&limit=100");
    assert_non_null(a);
    json_t *arr = json_object_get(a, "alerts");
    char *out = calloc(1, 8192);
    size_t used = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *x = json_array_get(arr, i);
        const char *subject = json_string_value(json_object_get(x, "subject"));
        used += (size_t)snprintf(out + used, 8192 - used, "%s/%s#%lld\n",
                                 json_string_value(json_object_get(x, "kind")),
                                 subject ? subject : "-", (long long)hbt_int(x, "id"));
    }
    *count = json_array_size(arr);
    json_decref(a);
    return out;
}

static bool s_has(const char *list, const char *prefix) { return strstr(list, prefix) != NULL; }

static char *s_wait_open(hbt_world_t *w, const char *const *want, size_t n_want, int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms;
    char *list = NULL;
    while (hbt_now_ms() < deadline) {
        free(list);
        size_t count;
        list = s_open_alerts(w, &count);
        size_t hits = 0;
        for (size_t i = 0; i < n_want; i++)
            hits += s_has(list, want[i]);
        if (hits == n_want)
            return list;
        hbt_sleep_ms(200);
    }
    fail_msg("alerts open now:\n%s", list ? list : "");
    return NULL;
}

static const hbt_world_spec_t s_world = {.tag = "alerting",
                                         .halls = {"AL1"},
                                         .hq_args = {"--alert_no_counter_grace", "1s"},
                                         .engine = true,
                                         .start = true};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

HBT_TEST(test_raise_survive_restart_clear)
{
    hbt_world_t *w = *state;
    /* HQ's policy for the hall: open round the clock, an A ticket may wait
     * 2 s, more than 2 waiting asks for diversion. */
    hbt_publish(w->hq.http, NULL, HBT_POLICY_QUICK_ALERTS);
    for (int i = 0; i < 3; i++)
        hbt_req_ok(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    const char *want[] = {"wait_sla/A:normal#", "diversion/A#", "no_counter_open/-#"};
    char *before = s_wait_open(w, want, 3, 15000);
    fprintf(stderr, "open at HQ:\n%s", before);
    json_t *tile = hbt_get(w->hq.http, "/v1/live/halls/AL1");
    assert_non_null(tile);
    assert_true(hbt_int(tile, "alerts") >= 3);
    assert_string_equal(json_string_value(json_object_get(tile, "worst")), "alert");
    json_decref(tile);
    json_t *snap_before = hbt_get(w->hq.http, "/v1/halls/AL1/snapshot");
    assert_non_null(snap_before);

    /* kill -9: the same live state and the same open alerts afterwards. */
    hbt_hq_stop(&w->hq, SIGKILL);
    hbt_hq_start(&w->hq);
    size_t count;
    char *after = s_open_alerts(w, &count);
    assert_string_equal(after, before);
    json_t *snap_after = NULL;
    int64_t deadline = hbt_now_ms() + 10000;
    while (hbt_now_ms() < deadline) {
        json_decref(snap_after);
        snap_after = hbt_get(w->hq.http, "/v1/halls/AL1/snapshot");
        if (snap_after && hbt_int(snap_after, "seq") == hbt_int(snap_before, "seq"))
            break;
        hbt_sleep_ms(100);
    }
    assert_non_null(snap_after);
    assert_true(json_equal(snap_before, snap_after));
    /* A few evaluations later still the same alerts (the hall is back). */
    hbt_sleep_ms(2500);
    free(after);
    after = s_open_alerts(w, &count);
    assert_string_equal(after, before);
    free(after);
    after = NULL;
    json_decref(snap_before);
    json_decref(snap_after);

    /* Served: every one of them clears. */
    hbt_req_ok(w->hall[0].http, "POST", "/v1/counters/1/open",
               "{\"staff\":\"E1\",\"services\":[\"A\"]}", 200);
    for (int i = 0; i < 3; i++) {
        hbt_req_ok(w->hall[0].http, "POST", "/v1/counters/1/call", "{}", 200);
        hbt_req_ok(w->hall[0].http, "POST", "/v1/counters/1/start", "{}", 200);
        hbt_req_ok(w->hall[0].http, "POST", "/v1/counters/1/complete",
                   "{\"business_type\":\"bill_payment\"}", 200);
    }
    deadline = hbt_now_ms() + 10000;
    while (hbt_now_ms() < deadline) {
        free(after);
        after = s_open_alerts(w, &count);
        if (count == 0)
            break;
        hbt_sleep_ms(200);
    }
    assert_int_equal(count, 0);
    free(after);
    json_t *hist = hbt_get(w->hq.http, "/v1/alerts?state=history&hall=AL1&limit=50");
    assert_non_null(hist);
    json_t *arr = json_object_get(hist, "alerts");
    assert_true(json_array_size(arr) >= 3);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *x = json_array_get(arr, i);
        assert_true(json_is_string(json_object_get(x, "raised")));
        assert_true(json_is_string(json_object_get(x, "cleared")));
    }
    json_decref(hist);
    free(before);
}
