/* One reducer, two sides, with real processes: halls run their engine over
 * HTTP (tickets, counters, services, transfers, complaints, devices, and
 * events from another queue system), and once the stream is delivered the
 * state hqd mirrors of each hall equals the hall's own, member for member;
 * again after hqd is killed with SIGKILL and rebuilds its mirror from its
 * store, and after more traffic on top. */
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

#define HALLS 2

static uint64_t s_rng = 0x9e3779b97f4a7c15ULL;
static uint32_t s_rand(uint32_t n) { return hbt_rand(&s_rng, n); }

/* What a stretch of traffic got: answers by class. */
typedef struct tally {
    int ok, refused, other;
} tally_t;

static void s_count(tally_t *t, int status)
{
    if (status >= 200 && status < 300)
        t->ok++;
    else if (status >= 400 && status < 500)
        t->refused++;
    else
        t->other++;
}

static int64_t s_last_seq(hbt_hall_t *h)
{
    json_t *st = hbt_get(h->http, "/v1/status");
    assert_non_null(st);
    int64_t v = hbt_int(st, "last_seq");
    json_decref(st);
    return v;
}

/* A stretch of a busy hall: most actions succeed, some are refused (a call
 * at a counter that is not open, a transfer of a ticket already served).
 * Every answer is counted and checked: refusals are 4xx, nothing is a 5xx
 * or lost, enough succeed that the comparison compares something, and
 * every accepted action put at least one event in the outbox. */
static void s_traffic(hbt_hall_t *h, int n)
{
    static const char *const svc[] = {"A", "B", "C"};
    static const char *const prio[] = {"normal", "normal",  "normal",
                                       "vip",    "elderly", "appointment"};
    char path[128], body[1024];
    tally_t t = {0};
    int64_t before = s_last_seq(h);
    for (int i = 0; i < n; i++) {
        int c = 1 + (int)s_rand(3);
        const char *to = path;
        switch (s_rand(12)) {
        case 0:
        case 1:
        case 2:
            to = "/v1/tickets";
            snprintf(body, sizeof body, "{\"service\":\"%s\",\"priority\":\"%s\"}", svc[s_rand(3)],
                     prio[s_rand(6)]);
            break;
        case 3:
            snprintf(path, sizeof path, "/v1/counters/%d/open", c);
            snprintf(body, sizeof body, "{\"staff\":\"E%d\",\"services\":[\"A\",\"%s\"]}", c,
                     svc[1 + s_rand(2)]);
            break;
        case 4:
        case 5:
            snprintf(path, sizeof path, "/v1/counters/%d/call", c);
            snprintf(body, sizeof body, "{}");
            break;
        case 6:
            snprintf(path, sizeof path, "/v1/counters/%d/start", c);
            snprintf(body, sizeof body, "{}");
            break;
        case 7:
            snprintf(path, sizeof path, "/v1/counters/%d/complete", c);
            snprintf(body, sizeof body, "{\"business_type\":\"bill_payment\",\"amount\":%u}",
                     s_rand(90000));
            break;
        case 8:
            snprintf(path, sizeof path, "/v1/tickets/A%03u/transfer", 1 + s_rand(20));
            snprintf(body, sizeof body, "{\"service\":\"%s\"}", svc[s_rand(3)]);
            break;
        case 9:
            to = "/v1/complaints";
            snprintf(body, sizeof body,
                     "{\"channel\":\"counter\",\"category\":\"waiting_time\","
                     "\"severity\":\"high\",\"text\":\"too slow\"}");
            break;
        case 10:
            to = "/v1/devices/kiosk-1/status";
            snprintf(body, sizeof body, "{\"kind\":\"kiosk\",\"state\":\"%s\"}",
                     s_rand(2) ? "ok" : "paper_out");
            break;
        default:
            /* Another queue system's events, through the same reducer. */
            to = "/v1/events";
            snprintf(body, sizeof body,
                     "[{\"type\":\"satisfaction_scored\",\"score\":%u},"
                     "{\"type\":\"ticket_issued\",\"ticket\":\"X%d\",\"service\":\"X\"}]",
                     1 + s_rand(5), i);
            break;
        }
        s_count(&t, hbt_http(h->http, "POST", to, body, NULL));
    }
    int64_t after = s_last_seq(h);
    fprintf(stderr, "hall %s: %d actions: %d accepted, %d refused, %d other; %lld events\n", h->id,
            n, t.ok, t.refused, t.other, (long long)(after - before));
    assert_int_equal(t.other, 0);
    assert_true(t.ok >= n / 3);
    assert_true(after - before >= t.ok);
}

static json_t *s_hq_snapshot(hbt_world_t *w, hbt_hall_t *h)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/%.32s/snapshot", h->id);
    return hbt_get(w->hq.http, path);
}

/* Waits until HQ's mirror has the hall's newest event, then compares. */
static void s_assert_mirror_equal(hbt_world_t *w, hbt_hall_t *h)
{
    assert_true(hbt_wait_synced(&w->hq, h, 30000));
    json_t *mine = hbt_get(h->http, "/v1/hall/snapshot");
    assert_non_null(mine);
    json_t *theirs = NULL;
    int64_t deadline = hbt_now_ms() + 10000;
    while (hbt_now_ms() < deadline) {
        json_decref(theirs);
        theirs = s_hq_snapshot(w, h);
        if (theirs && hbt_int(theirs, "seq") >= hbt_int(mine, "seq"))
            break;
        hbt_sleep_ms(50);
    }
    assert_non_null(theirs);
    if (!json_equal(mine, theirs)) {
        char *a = json_dumps(mine, JSON_SORT_KEYS), *b = json_dumps(theirs, JSON_SORT_KEYS);
        fail_msg("hall %s and HQ's mirror differ:\nhall: %.3000s\n  hq: %.3000s", h->id, a, b);
    }
    fprintf(stderr, "hall %s: HQ's mirror equals the hall at seq %lld (%lld waiting)\n", h->id,
            (long long)hbt_int(mine, "seq"),
            (long long)json_array_size(json_object_get(mine, "tickets")));
    json_decref(mine);
    json_decref(theirs);
}

/* Snapshots early, so a restart starts from them. */
static const hbt_world_spec_t s_world = {
    .tag = "mirror",
    .numbered = "M",
    .n_numbered = HALLS,
    .hq_args = {"--mirror_snapshot_events", "100", "--mirror_snapshot_every", "1s"},
    .engine = true,
    .start = true};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

HBT_TEST(test_hq_mirror_equals_each_hall)
{
    hbt_world_t *w = *state;
    for (int i = 0; i < HALLS; i++)
        s_traffic(&w->hall[i], 600);
    for (int i = 0; i < HALLS; i++)
        s_assert_mirror_equal(w, &w->hall[i]);
    /* A killed hqd rebuilds its mirror from its snapshots and the events
     * stored after them, and it is equal again. */
    hbt_sleep_ms(2500);          /* a snapshot round has passed */
    s_traffic(&w->hall[1], 150); /* stored, but not in a snapshot yet */
    assert_true(hbt_wait_synced(&w->hq, &w->hall[1], 30000));
    hbt_hq_stop(&w->hq, SIGKILL);
    s_traffic(&w->hall[0], 200); /* meanwhile the hall carries on */
    hbt_hq_start(&w->hq);
    for (int i = 0; i < HALLS; i++)
        s_assert_mirror_equal(w, &w->hall[i]);
    for (int i = 0; i < HALLS; i++)
        s_traffic(&w->hall[i], 300);
    for (int i = 0; i < HALLS; i++)
        s_assert_mirror_equal(w, &w->hall[i]);
    json_t *st = hbt_get(w->hq.http, "/v1/status");
    assert_non_null(st);
    json_t *live = json_object_get(st, "live");
    assert_false(json_is_true(json_object_get(live, "rebuilding")));
    /* Whether the last events were in a snapshot yet depends on when the
     * round ran; either way the state is equal. */
    assert_true(hbt_int(live, "rebuilt_from_snapshots") == HALLS);
    fprintf(stderr, "rebuilt %lld event(s) after the snapshots of %d halls\n",
            (long long)hbt_int(live, "rebuilt_events"), HALLS);
    json_decref(st);
    /* The live view at HQ is the same view the hall shows. */
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/%.32s/state", w->hall[1].id);
    json_t *view = hbt_get(w->hq.http, path);
    json_t *mine = hbt_get(w->hall[1].http, "/v1/hall");
    assert_non_null(view);
    assert_non_null(mine);
    assert_int_equal(hbt_int(view, "waiting"), hbt_int(mine, "waiting"));
    assert_true(json_equal(json_object_get(view, "today"), json_object_get(mine, "today")));
    json_decref(view);
    json_decref(mine);
}
