/* The hall engine's local API with real processes on loopback: a customer's
 * whole visit over HTTP and through hallctl, with the live hall view
 * showing its figures; every refusal the API can give is a 4xx whose
 * reason names the problem and that changes nothing (neither the outbox
 * nor the live state); a closed hall refuses tickets with when it opens
 * and where to go meanwhile, and stores nothing. */
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

#define HALLCTL HB_BIN_DIR "/tools/hallctl"

/* Open round the clock (so the tests run at any hour), with advice due from
 * the second customer waiting for one service. */
#define POLICY_OPEN                                                                                \
    "{\"timezone\":\"UTC\",\"opening_hours\":{\"mon\":[\"00:00-24:00\"],"                          \
    "\"tue\":[\"00:00-24:00\"],\"wed\":[\"00:00-24:00\"],\"thu\":[\"00:00-24:00\"],"               \
    "\"fri\":[\"00:00-24:00\"],\"sat\":[\"00:00-24:00\"],\"sun\":[\"00:00-24:00\"]},"              \
    "\"divert_to\":[\"HALL-N\"],\"diversion\":{\"threshold\":1,\"echannels\":[\"app\",\"web\"]}}"

/* ---------------------------------------------------------- helpers ---- */

static const json_t *s_service(const json_t *hall, const char *code)
{
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(hall, "services"), i, v) {
        if (strcmp(hbt_str(v, "service"), code) == 0)
            return v;
    }
    fail_msg("no service %s in the hall view", code);
    return NULL;
}

/* Removes, at any depth, the members whose value depends on the moment
 * the view is read (waits so far, counters' open and busy time). */
static void s_strip_moment(json_t *j)
{
    static const char *const moment[] = {"longest_wait_s", "oldest_wait_s", "wait_s",
                                         "open_s",         "busy_s",        "utilisation"};
    if (json_is_object(j)) {
        for (size_t i = 0; i < sizeof moment / sizeof moment[0]; i++)
            json_object_del(j, moment[i]);
        const char *key;
        json_t *v;
        json_object_foreach (j, key, v) {
            s_strip_moment(v);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach (j, i, v) {
            s_strip_moment(v);
        }
    }
}

/* What a refusal must not change: the outbox's last sequence and the live
 * view (its moment-dependent figures aside). */
typedef struct snapshot {
    int64_t last_seq;
    json_t *view;
} snapshot_t;

static void s_snap(hbt_world_t *w, snapshot_t *s)
{
    json_t *st = hbt_get(w->hall[0].http, "/v1/status");
    assert_non_null(st);
    s->last_seq = hbt_int(st, "last_seq");
    json_decref(st);
    s->view = hbt_get(w->hall[0].http, "/v1/hall");
    assert_non_null(s->view);
    s_strip_moment(s->view);
}

/* The engine starts each local day with an event of its own, at its first
 * tick after start: wait for it, so that it is not taken for a change. */
static void s_wait_day_started(hbt_world_t *w)
{
    int64_t deadline = hbt_now_ms() + 10000;
    while (hbt_now_ms() < deadline) {
        json_t *st = hbt_get(w->hall[0].http, "/v1/status");
        int64_t last = st ? hbt_int(st, "last_seq") : -1;
        json_decref(st);
        if (last >= 1)
            return;
        hbt_sleep_ms(50);
    }
    fail_msg("the hall wrote no day_started within 10 s");
}

static void s_assert_same(const snapshot_t *before, const snapshot_t *after, const char *what)
{
    if (before->last_seq != after->last_seq)
        fail_msg("%s stored something: last_seq %lld -> %lld", what, (long long)before->last_seq,
                 (long long)after->last_seq);
    if (!json_equal(before->view, after->view)) {
        char *a = json_dumps(before->view, JSON_SORT_KEYS | JSON_COMPACT);
        char *b = json_dumps(after->view, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("%s changed the hall view:\nbefore %s\nafter  %s", what, a, b);
    }
}

/* ------------------------------------------- (a) a customer's visit ---- */

static const hbt_world_spec_t s_world = {.tag = "hallapi", .halls = {"HALL-E"}};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

HBT_TEST(test_customer_visit)
{
    hbt_world_t *w = *state;
    hbt_hall_set_engine(&w->hall[0], POLICY_OPEN, NULL);
    hbt_hall_start(&w->hall[0]);

    /* Two customers for A (the second elderly), one for B. The first
     * waits alone: no advice; from the second, the threshold is passed. */
    json_t *t = hbt_req(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    assert_string_equal(hbt_str(t, "ticket"), "A001");
    assert_string_equal(hbt_str(t, "state"), "waiting");
    assert_int_equal(hbt_int(t, "position"), 1);
    assert_true(hbt_int(t, "estimated_wait_s") > 0);
    assert_null(json_object_get(t, "advice"));
    json_decref(t);
    t = hbt_req(w->hall[0].http, "POST", "/v1/tickets",
                "{\"service\":\"A\",\"priority\":\"elderly\"}", 201);
    assert_string_equal(hbt_str(t, "ticket"), "A002");
    assert_string_equal(hbt_str(t, "priority"), "elderly");
    assert_int_equal(hbt_int(t, "position"), 1); /* a priority ticket goes first */
    json_t *adv = json_object_get(t, "advice");
    assert_true(json_is_true(json_object_get(adv, "divert")));
    assert_int_equal(hbt_int(adv, "waiting"), 2);
    assert_int_equal(hbt_int(adv, "threshold"), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(adv, "nearby"), 0)),
                        "HALL-N");
    assert_string_equal(json_string_value(json_array_get(json_object_get(adv, "echannels"), 1)),
                        "web");
    json_decref(t);
    t = hbt_req(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"B\",\"source\":\"staff\"}",
                201);
    assert_string_equal(hbt_str(t, "ticket"), "B001");
    json_decref(t);
    t = hbt_req(w->hall[0].http, "GET", "/v1/tickets/A001", NULL, 200);
    assert_int_equal(hbt_int(t, "position"), 2);
    json_decref(t);

    /* A counter opens and calls: the rule that chose is in the answer. */
    json_t *c = hbt_req(w->hall[0].http, "POST", "/v1/counters/1/open",
                        "{\"staff\":\"E07\",\"services\":[\"A\",\"B\"]}", 200);
    assert_string_equal(hbt_str(c, "state"), "idle");
    assert_string_equal(hbt_str(c, "staff"), "E07");
    json_decref(c);
    c = hbt_req(w->hall[0].http, "POST", "/v1/counters/1/call", NULL, 200);
    assert_string_equal(hbt_str(c, "ticket"), "A002");
    assert_string_equal(hbt_str(c, "rule"), "priority");
    assert_string_equal(hbt_str(c, "counter"), "1");
    json_decref(c);
    c = hbt_req(w->hall[0].http, "POST", "/v1/counters/1/start", NULL, 200);
    assert_string_equal(hbt_str(c, "state"), "serving");
    assert_string_equal(hbt_str(c, "ticket"), "A002");
    json_decref(c);
    c = hbt_req(w->hall[0].http, "POST", "/v1/counters/1/complete",
                "{\"business_type\":\"bill_payment\",\"outcome\":\"done\",\"amount\":12000,"
                "\"currency\":\"EUR\"}",
                200);
    assert_string_equal(hbt_str(c, "state"), "idle");
    assert_int_equal(hbt_int(c, "served"), 1);
    json_decref(c);
    json_t *f = hbt_req(w->hall[0].http, "POST", "/v1/feedback",
                        "{\"score\":5,\"ticket\":\"A002\",\"counter\":\"1\"}", 201);
    assert_int_equal(hbt_int(f, "score"), 5);
    json_decref(f);
    t = hbt_req(w->hall[0].http, "GET", "/v1/tickets/A002", NULL, 200);
    assert_string_equal(hbt_str(t, "state"), "served");
    assert_string_equal(hbt_str(t, "outcome"), "done");
    json_decref(t);

    /* The live view shows the figures of the day so far. */
    json_t *h = hbt_req(w->hall[0].http, "GET", "/v1/hall", NULL, 200);
    assert_string_equal(hbt_str(h, "hall"), "HALL-E");
    assert_true(json_is_true(json_object_get(h, "open")));
    assert_int_equal(hbt_int(h, "waiting"), 2);
    assert_int_equal(hbt_int(h, "counters_open"), 1);
    const json_t *today = json_object_get(h, "today");
    assert_int_equal(hbt_int(today, "issued"), 3);
    assert_int_equal(hbt_int(today, "served"), 1);
    assert_int_equal(hbt_int(today, "amount_sum"), 12000);
    assert_int_equal(hbt_int(today, "feedback_count"), 1);
    assert_true(json_number_value(json_object_get(today, "satisfaction_avg")) == 5.0);
    assert_int_equal(hbt_int(json_object_get(today, "outcomes"), "done"), 1);
    assert_int_equal(hbt_int(s_service(h, "A"), "waiting"), 1);
    assert_int_equal(hbt_int(s_service(h, "A"), "served"), 1);
    assert_int_equal(hbt_int(s_service(h, "B"), "waiting"), 1);
    const json_t *c0 = json_array_get(json_object_get(h, "counters"), 0);
    assert_string_equal(hbt_str(c0, "counter"), "1");
    assert_int_equal(hbt_int(c0, "served"), 1);
    /* A still has one waiting: at the threshold, not past it. */
    assert_int_equal(json_array_size(json_object_get(h, "advice")), 0);
    json_decref(h);

    /* A transfer keeps the ticket's number (and its place). */
    t = hbt_req(w->hall[0].http, "POST", "/v1/tickets/B001/transfer", "{\"service\":\"C\"}", 200);
    assert_string_equal(hbt_str(t, "ticket"), "B001");
    assert_string_equal(hbt_str(t, "service"), "C");
    assert_string_equal(hbt_str(t, "state"), "waiting");
    assert_true(json_is_true(json_object_get(t, "transferred")));
    json_decref(t);
    h = hbt_req(w->hall[0].http, "GET", "/v1/hall", NULL, 200);
    assert_int_equal(hbt_int(s_service(h, "B"), "waiting"), 0);
    assert_int_equal(hbt_int(s_service(h, "C"), "waiting"), 1);
    assert_int_equal(hbt_int(json_object_get(h, "today"), "transferred"), 1);
    json_decref(h);

    /* Recall until the customer is a no-show: two recalls (the default),
     * and the third makes it a no-show. */
    c = hbt_req(w->hall[0].http, "POST", "/v1/counters/1/call", NULL, 200);
    assert_string_equal(hbt_str(c, "ticket"), "A001");
    assert_string_equal(hbt_str(c, "rule"), "fifo");
    json_decref(c);
    for (int i = 1; i <= 2; i++) {
        t = hbt_req(w->hall[0].http, "POST", "/v1/tickets/A001/recall", NULL, 200);
        assert_string_equal(hbt_str(t, "state"), "called");
        assert_int_equal(hbt_int(t, "recalls"), i);
        json_decref(t);
    }
    t = hbt_req(w->hall[0].http, "POST", "/v1/tickets/A001/recall", NULL, 200);
    assert_string_equal(hbt_str(t, "state"), "no_show");
    json_decref(t);
    t = hbt_req(w->hall[0].http, "GET", "/v1/tickets/A001", NULL, 200);
    assert_string_equal(hbt_str(t, "state"), "no_show");
    json_decref(t);
    h = hbt_req(w->hall[0].http, "GET", "/v1/hall", NULL, 200);
    assert_int_equal(hbt_int(json_object_get(h, "today"), "no_shows"), 1);
    assert_string_equal(hbt_str(json_array_get(json_object_get(h, "counters"), 0), "state"),
                        "idle");
    json_decref(h);

    /* The same visit through hallctl's binary. */
    char out[8192];
    assert_int_equal(
        hbt_run_args(out, sizeof out, HALLCTL, "ticket", "C", "--hall", w->hall[0].http, NULL), 0);
    assert_non_null(strstr(out, "C001  position 2 in C")); /* B001 kept its earlier place */
    assert_int_equal(hbt_run_args(out, sizeof out, HALLCTL, "counter-open", "2", "--hall",
                                  w->hall[0].http, "--staff", "E08", "--services", "C", NULL),
                     0);
    assert_non_null(strstr(out, "counter 2  idle, staff E08, services C"));
    assert_int_equal(
        hbt_run_args(out, sizeof out, HALLCTL, "call", "2", "--hall", w->hall[0].http, NULL), 0);
    assert_non_null(strstr(out, "B001  to counter 2 (service C, rule transfer"));
    assert_int_equal(
        hbt_run_args(out, sizeof out, HALLCTL, "start", "2", "--hall", w->hall[0].http, NULL), 0);
    assert_int_equal(hbt_run_args(out, sizeof out, HALLCTL, "complete", "2", "--hall",
                                  w->hall[0].http, "--business-type", "card_loss", "--outcome",
                                  "referred", "--amount", "0", NULL),
                     0);
    assert_non_null(strstr(out, "served 1 today"));
    assert_int_equal(hbt_run_args(out, sizeof out, HALLCTL, "ticket-show", "B001", "--hall",
                                  w->hall[0].http, "--json", NULL),
                     0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(hbt_str(j, "state"), "served");
    assert_string_equal(hbt_str(j, "outcome"), "referred");
    json_decref(j);
    assert_int_equal(hbt_run_args(out, sizeof out, HALLCTL, "complaint", "--hall", w->hall[0].http,
                                  "--channel", "counter", "--category", "waiting_time",
                                  "--severity", "high", "--ticket", "A001", "--text", "waited long",
                                  NULL),
                     0);
    assert_non_null(strstr(out, "-001  open, high, waiting_time"));
    assert_int_equal(hbt_run_args(out, sizeof out, HALLCTL, "feedback", "--hall", w->hall[0].http,
                                  "--score", "4", "--ticket", "B001", NULL),
                     0);
    /* A refusal: exit 1 and the hall's reason. */
    assert_int_equal(
        hbt_run_args(out, sizeof out, HALLCTL, "ticket", "Z", "--hall", w->hall[0].http, NULL), 1);
    assert_non_null(strstr(out, "refused (400 bad_request): unknown service 'Z'"));
    assert_int_equal(
        hbt_run_args(out, sizeof out, HALLCTL, "hall", "--hall", w->hall[0].http, NULL), 0);
    assert_non_null(strstr(out, "hall HALL-E  open round the clock"));
    assert_non_null(strstr(out, "complaints: 1 open"));
    assert_non_null(strstr(out, "today "));
    assert_non_null(strstr(out, "served 2"));
    assert_non_null(strstr(out, "satisfaction 4.50 from 2"));

    /* Everything the hall did reached HQ, in order. */
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 20000));
}

/* POST /v1/events feeds the same state as the engine's own routes, and the
 * kinds only branchd writes are refused. */
HBT_TEST(test_events_share_the_state)
{
    hbt_world_t *w = *state;
    hbt_hall_set_engine(&w->hall[0], POLICY_OPEN, NULL);
    hbt_hall_start(&w->hall[0]);
    json_t *r = hbt_req(w->hall[0].http, "POST", "/v1/events",
                        "{\"type\":\"ticket_issued\",\"ticket\":\"Q042\",\"service\":\"A\","
                        "\"priority\":\"vip\",\"number\":42}",
                        200);
    json_decref(r);
    json_t *t = hbt_req(w->hall[0].http, "GET", "/v1/tickets/Q042", NULL, 200);
    assert_string_equal(hbt_str(t, "state"), "waiting");
    assert_string_equal(hbt_str(t, "priority"), "vip");
    json_decref(t);
    /* The engine numbers on from what the adapter's event said. */
    t = hbt_req(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    assert_string_equal(hbt_str(t, "ticket"), "A043");
    json_decref(t);
    json_t *c = hbt_req(w->hall[0].http, "POST", "/v1/counters/1/open",
                        "{\"staff\":\"E1\",\"services\":[\"A\"]}", 200);
    json_decref(c);
    c = hbt_req(w->hall[0].http, "POST", "/v1/counters/1/call", NULL, 200);
    assert_string_equal(hbt_str(c, "ticket"), "Q042");
    json_decref(c);

    static const char *const own[] = {
        "{\"type\":\"day_started\",\"date\":\"2026-12-02\",\"timezone\":\"UTC\"}",
        "{\"type\":\"policy_applied\",\"version\":7}",
        "[{\"type\":\"ticket_issued\",\"ticket\":\"Q043\",\"service\":\"A\"},"
        "{\"type\":\"calendar_applied\",\"version\":3}]",
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        snapshot_t before, after;
        s_snap(w, &before);
        r = hbt_req(w->hall[0].http, "POST", "/v1/events", own[i], 400);
        assert_string_equal(hbt_str(r, "error"), "bad_event");
        assert_non_null(strstr(hbt_str(r, "reason"), "is written by branchd itself"));
        assert_non_null(strstr(hbt_str(r, "reason"), "nothing was stored"));
        json_decref(r);
        s_snap(w, &after);
        s_assert_same(&before, &after, own[i]);
        json_decref(before.view);
        json_decref(after.view);
    }
    r = hbt_req(w->hall[0].http, "GET", "/v1/tickets/Q043", NULL, 404);
    json_decref(r);
}

/* ------------------------------------------------ (b) every refusal ---- */

typedef struct refusal {
    const char *method, *path, *body;
    int status;
    const char *error;
    const char *says[2]; /* substrings of the reason */
} refusal_t;

static char s_long_id[80], s_long_text[1200];
static char s_long_path[120], s_long_service[120], s_long_staff[140], s_long_complaint[1300];
static char s_long_reason[1300], s_long_detail[1300], s_long_category[140];
static char s_long_resolution[1300];

static void s_make_long_strings(void)
{
    memset(s_long_id, 'x', 70);
    s_long_id[70] = '\0';
    memset(s_long_text, 'y', 1100);
    s_long_text[1100] = '\0';
    snprintf(s_long_path, sizeof s_long_path, "/v1/tickets/%s/cancel", s_long_id);
    snprintf(s_long_service, sizeof s_long_service, "{\"service\":\"%s\"}", s_long_id);
    snprintf(s_long_staff, sizeof s_long_staff, "{\"staff\":\"%s\",\"services\":[\"A\"]}",
             s_long_id);
    snprintf(s_long_complaint, sizeof s_long_complaint,
             "{\"channel\":\"app\",\"category\":\"x\",\"severity\":\"low\",\"text\":\"%s\"}",
             s_long_text);
    snprintf(s_long_reason, sizeof s_long_reason, "{\"reason\":\"%s\"}", s_long_text);
    snprintf(s_long_resolution, sizeof s_long_resolution,
             "{\"resolution\":\"%s\",\"customer_satisfied\":true}", s_long_text);
    snprintf(s_long_detail, sizeof s_long_detail,
             "{\"kind\":\"kiosk\",\"state\":\"ok\",\"detail\":\"%s\"}", s_long_text);
    snprintf(s_long_category, sizeof s_long_category,
             "{\"channel\":\"app\",\"category\":\"%s\",\"severity\":\"low\"}", s_long_id);
}

HBT_TEST(test_refusals_change_nothing)
{
    hbt_world_t *w = *state;
    hbt_hall_set_engine(&w->hall[0], POLICY_OPEN, NULL);
    hbt_hall_start(&w->hall[0]);
    s_make_long_strings();

    /* A hall with something in every collection: A001 served at counter 1
     * (idle now), A002 waiting, counter 2 open for B (nobody waits), a
     * complaint open, a device known. */
    json_t *j;
    const char *setup[][2] = {
        {"/v1/tickets", "{\"service\":\"A\"}"},
        {"/v1/tickets", "{\"service\":\"A\"}"},
        {"/v1/counters/1/open", "{\"staff\":\"E07\",\"services\":[\"A\"]}"},
        {"/v1/counters/2/open", "{\"staff\":\"E08\",\"services\":[\"B\"]}"},
        {"/v1/counters/1/call", NULL},
        {"/v1/counters/1/start", NULL},
        {"/v1/counters/1/complete", "{\"business_type\":\"bill_payment\"}"},
        {"/v1/complaints", "{\"channel\":\"phone\",\"category\":\"fees\",\"severity\":\"low\"}"},
        {"/v1/devices/KIOSK-1/status", "{\"kind\":\"kiosk\",\"state\":\"ok\"}"},
    };
    char complaint[80] = "";
    for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) {
        int want =
            strcmp(setup[i][0], "/v1/tickets") == 0 || strcmp(setup[i][0], "/v1/complaints") == 0
                ? 201
                : 200;
        j = hbt_req(w->hall[0].http, "POST", setup[i][0], setup[i][1], want);
        if (json_is_string(json_object_get(j, "id")))
            snprintf(complaint, sizeof complaint, "%s", hbt_str(j, "id"));
        json_decref(j);
    }
    assert_true(complaint[0] != '\0');
    char c_frob[128], c_ack[128], c_resolve[128], c_escalate[128];
    snprintf(c_frob, sizeof c_frob, "/v1/complaints/%s/frob", complaint);
    snprintf(c_ack, sizeof c_ack, "/v1/complaints/%s/ack", complaint);
    snprintf(c_resolve, sizeof c_resolve, "/v1/complaints/%s/resolve", complaint);
    snprintf(c_escalate, sizeof c_escalate, "/v1/complaints/%s/escalate", complaint);

    const refusal_t cases[] = {
        /* unknown service */
        {"POST",
         "/v1/tickets",
         "{\"service\":\"Z\"}",
         400,
         "bad_request",
         {"unknown service 'Z'", "this hall serves A, B, C"}},
        {"POST",
         "/v1/tickets/A002/transfer",
         "{\"service\":\"Q\"}",
         400,
         "bad_request",
         {"unknown service 'Q'"}},
        {"POST",
         "/v1/counters/3/open",
         "{\"staff\":\"E1\",\"services\":[\"A\",\"Q\"]}",
         400,
         "bad_request",
         {"unknown service 'Q'"}},
        /* counter not open */
        {"POST", "/v1/counters/9/call", NULL, 409, "wrong_state", {"counter '9' is not open"}},
        {"POST", "/v1/counters/9/start", NULL, 409, "wrong_state", {"counter '9' is not open"}},
        {"POST", "/v1/counters/9/pause", NULL, 409, "wrong_state", {"counter '9' is not open"}},
        {"POST", "/v1/counters/9/close", NULL, 409, "wrong_state", {"counter '9' is not open"}},
        /* not found */
        {"GET", "/v1/tickets/A999", NULL, 404, "not_found", {"no ticket 'A999'"}},
        {"POST", "/v1/tickets/A999/recall", NULL, 404, "not_found", {"no ticket 'A999'"}},
        {"POST", "/v1/tickets/A999/cancel", NULL, 404, "not_found", {"no ticket 'A999'"}},
        {"POST",
         "/v1/counters/1/call",
         "{\"ticket\":\"A999\"}",
         404,
         "not_found",
         {"no ticket 'A999'"}},
        {"POST",
         "/v1/feedback",
         "{\"score\":4,\"ticket\":\"A999\"}",
         404,
         "not_found",
         {"no ticket 'A999'"}},
        {"GET", "/v1/complaints/K1", NULL, 404, "not_found", {"no open complaint 'K1'"}},
        {"POST",
         "/v1/complaints/K1/ack",
         "{\"by\":\"M1\"}",
         404,
         "not_found",
         {"no open complaint 'K1'"}},
        {"POST", "/v1/counters/2/call", NULL, 404, "nobody_waiting", {"nobody waits for B"}},
        /* wrong state */
        {"POST",
         "/v1/counters/1/start",
         NULL,
         409,
         "wrong_state",
         {"counter 1 is idle", "after a ticket was called"}},
        {"POST",
         "/v1/counters/1/resume",
         NULL,
         409,
         "wrong_state",
         {"counter 1 is idle", "only a paused counter resumes"}},
        {"POST",
         "/v1/counters/1/complete",
         "{\"business_type\":\"x\"}",
         409,
         "wrong_state",
         {"counter 1 is idle"}},
        {"POST",
         "/v1/counters/1/open",
         "{\"staff\":\"E1\",\"services\":[\"A\"]}",
         409,
         "wrong_state",
         {"counter 1 is open already"}},
        {"POST",
         "/v1/tickets/A001/cancel",
         NULL,
         409,
         "wrong_state",
         {"ticket A001 is served already"}},
        {"POST",
         "/v1/tickets/A001/transfer",
         "{\"service\":\"B\"}",
         409,
         "wrong_state",
         {"ticket A001 is served already"}},
        {"POST",
         "/v1/tickets/A002/recall",
         NULL,
         409,
         "wrong_state",
         {"ticket A002 is waiting", "only a called ticket"}},
        {"POST", "/v1/tickets/A002/no-show", NULL, 409, "wrong_state", {"ticket A002 is waiting"}},
        {"POST",
         "/v1/tickets/A002/transfer",
         "{\"service\":\"A\"}",
         409,
         "wrong_state",
         {"already in service A"}},
        {"POST",
         "/v1/counters/2/call",
         "{\"ticket\":\"A002\"}",
         409,
         "wrong_state",
         {"counter 2 does not serve service A"}},
        {"POST", c_escalate, "{\"level\":\"duty_manager\",\"reason\":\"x\"}", 0, NULL, {NULL}},
        {"POST",
         c_escalate,
         "{\"level\":\"duty_manager\"}",
         409,
         "wrong_state",
         {"can only go higher"}},
        /* each action's own refusals not met above; the steps (status 0)
         * put a counter or ticket in the state the next case needs */
        {"POST", "/v1/counters/9/resume", NULL, 409, "wrong_state", {"counter '9' is not open"}},
        {"POST",
         "/v1/counters/9/complete",
         "{\"business_type\":\"x\"}",
         409,
         "wrong_state",
         {"counter '9' is not open"}},
        {"POST",
         "/v1/tickets/A999/transfer",
         "{\"service\":\"B\"}",
         404,
         "not_found",
         {"no ticket 'A999'"}},
        {"POST",
         "/v1/tickets/A001/no-show",
         NULL,
         409,
         "wrong_state",
         {"ticket A001 is served already"}},
        {"POST",
         "/v1/counters/1/call",
         "{\"ticket\":\"A001\"}",
         409,
         "wrong_state",
         {"ticket A001 is served already"}},
        {"POST",
         "/v1/counters/a!b/open",
         "{\"staff\":\"E1\",\"services\":[\"A\"]}",
         400,
         "bad_request",
         {"counter id 'a!b' must be 1 to 64 letters"}},
        {"POST",
         "/v1/counters/3/open",
         "{\"staff\":\"E1\",\"services\":[\"A\",\"A\"]}",
         400,
         "bad_request",
         {"service A is named twice"}},
        {"POST",
         "/v1/counters/2/pause",
         s_long_reason,
         400,
         "bad_request",
         {"reason is longer than 1024 bytes"}},
        {"POST",
         "/v1/counters/1/complete",
         "{\"business_type\":\"a b\"}",
         400,
         "bad_request",
         {"business_type must be a business type id"}},
        {"POST",
         "/v1/complaints",
         "{\"channel\":\"app\",\"category\":\"x\",\"severity\":\"low\",\"ticket\":\"a b\"}",
         400,
         "bad_request",
         {"ticket 'a b' is not a ticket id"}},
        {"POST", c_ack, "{\"by\":\"a b\"}", 400, "bad_request", {"by must be the staff id"}},
        {"POST",
         c_escalate,
         s_long_reason,
         400,
         "bad_request",
         {"reason is longer than 1024 bytes"}},
        {"POST", "/v1/complaints/K1/escalate", NULL, 404, "not_found", {"no open complaint 'K1'"}},
        {"POST",
         c_resolve,
         "{\"resolution\":\"\",\"customer_satisfied\":true}",
         400,
         "bad_request",
         {"resolution must say how the complaint was resolved"}},
        {"POST",
         c_resolve,
         s_long_resolution,
         400,
         "bad_request",
         {"resolution must say how the complaint was resolved (1 to 1024 bytes)"}},
        {"POST",
         "/v1/complaints/K1/resolve",
         "{\"resolution\":\"x\",\"customer_satisfied\":true}",
         404,
         "not_found",
         {"no open complaint 'K1'"}},
        {"POST",
         "/v1/feedback",
         "{\"score\":4,\"counter\":\"a b\"}",
         400,
         "bad_request",
         {"ticket and counter must be ids when given"}},
        {"POST",
         "/v1/devices/a!b/status",
         "{\"kind\":\"kiosk\",\"state\":\"ok\"}",
         400,
         "bad_request",
         {"device id 'a!b' must be 1 to 64 letters"}},
        {"POST", c_ack, "{\"by\":\"M1\"}", 0, NULL, {NULL}},
        {"POST",
         c_ack,
         "{\"by\":\"M2\"}",
         409,
         "wrong_state",
         {"was acknowledged already (by M1)"}},
        {"POST", "/v1/counters/2/pause", NULL, 0, NULL, {NULL}},
        {"POST",
         "/v1/counters/2/call",
         NULL,
         409,
         "wrong_state",
         {"counter 2 is paused; resume it first"}},
        {"POST", "/v1/counters/2/resume", NULL, 0, NULL, {NULL}},
        {"POST", "/v1/counters/1/call", NULL, 0, NULL, {NULL}}, /* A002 */
        {"POST",
         "/v1/counters/1/call",
         NULL,
         409,
         "wrong_state",
         {"counter 1 is calling ticket A002; finish it first"}},
        {"POST",
         "/v1/counters/2/call",
         "{\"ticket\":\"A002\"}",
         409,
         "wrong_state",
         {"ticket A002 is called, not waiting"}},
        {"POST", "/v1/counters/1/start", NULL, 0, NULL, {NULL}},
        {"POST",
         "/v1/tickets/A002/cancel",
         NULL,
         409,
         "wrong_state",
         {"ticket A002 is serving", "completed, not cancelled"}},
        /* bad JSON, not an object */
        {"POST", "/v1/tickets", "{\"service\":", 400, "bad_json", {"not valid JSON", "line 1"}},
        {"POST",
         "/v1/tickets",
         "{\"service\":\"A\"} trailing",
         400,
         "bad_json",
         {"not valid JSON"}},
        {"POST",
         "/v1/tickets",
         "{\"service\":\"A\",\"service\":\"B\"}",
         400,
         "bad_json",
         {"duplicate"}},
        {"POST", "/v1/tickets", "[\"A\"]", 400, "bad_request", {"must be a JSON object"}},
        {"POST", "/v1/tickets", "\"A\"", 400, "bad_request", {"must be a JSON object"}},
        {"POST", "/v1/feedback", "5", 400, "bad_request", {"must be a JSON object"}},
        /* unknown member, missing member, wrong type */
        {"POST",
         "/v1/tickets",
         "{\"service\":\"A\",\"colour\":\"red\"}",
         400,
         "bad_request",
         {"unknown member 'colour'", "takes service, priority, source"}},
        {"POST",
         "/v1/tickets/A002/recall",
         "{\"loud\":true}",
         400,
         "bad_request",
         {"unknown member 'loud'", "no members"}},
        {"POST", "/v1/tickets", "{}", 400, "bad_request", {"service is required"}},
        {"POST",
         "/v1/tickets",
         "{\"service\":7}",
         400,
         "bad_request",
         {"service must be a string"}},
        {"POST",
         "/v1/feedback",
         "{\"score\":\"5\"}",
         400,
         "bad_request",
         {"score must be a whole number"}},
        {"POST",
         "/v1/feedback",
         "{\"score\":4.5}",
         400,
         "bad_request",
         {"score must be a whole number"}},
        {"POST",
         "/v1/counters/3/open",
         "{\"staff\":\"E1\",\"services\":\"A\"}",
         400,
         "bad_request",
         {"services must be an array"}},
        {"POST",
         "/v1/counters/3/open",
         "{\"staff\":\"E1\",\"services\":[7]}",
         400,
         "bad_request",
         {"services[0] must be a service code"}},
        {"POST",
         "/v1/counters/3/open",
         "{\"staff\":\"E1\",\"services\":[]}",
         400,
         "bad_request",
         {"services must name 1 to 16"}},
        {"POST",
         c_resolve,
         "{\"resolution\":\"x\",\"customer_satisfied\":\"yes\"}",
         400,
         "bad_request",
         {"customer_satisfied must be true or false"}},
        {"POST",
         "/v1/counters/1/complete",
         "{\"business_type\":\"x\",\"amount\":1.5}",
         400,
         "bad_request",
         {"amount must be a whole number"}},
        /* out of range */
        {"POST",
         "/v1/feedback",
         "{\"score\":0}",
         400,
         "bad_request",
         {"score must be from 1 to 5, not 0"}},
        {"POST",
         "/v1/feedback",
         "{\"score\":6}",
         400,
         "bad_request",
         {"score must be from 1 to 5, not 6"}},
        {"POST",
         "/v1/counters/1/complete",
         "{\"business_type\":\"x\",\"amount\":-5}",
         400,
         "bad_request",
         {"amount must be from 0", "not -5"}},
        {"POST",
         "/v1/counters/1/complete",
         "{\"business_type\":\"x\",\"amount\":99999999999999999999}",
         400,
         "bad_json",
         {"too big integer"}},
        {"POST",
         "/v1/counters/1/complete",
         "{\"business_type\":\"x\",\"currency\":\"eur\"}",
         400,
         "bad_request",
         {"currency must be an ISO 4217 code"}},
        /* unknown enum names */
        {"POST",
         "/v1/tickets",
         "{\"service\":\"A\",\"priority\":\"urgent\"}",
         400,
         "bad_request",
         {"priority: 'urgent' is not one of normal, vip, elderly, appointment"}},
        {"POST",
         "/v1/tickets",
         "{\"service\":\"A\",\"priority\":\"unspecified\"}",
         400,
         "bad_request",
         {"priority: 'unspecified' is not one of"}},
        {"POST",
         "/v1/tickets",
         "{\"service\":\"A\",\"source\":\"pigeon\"}",
         400,
         "bad_request",
         {"source: 'pigeon' is not one of kiosk, app, staff"}},
        {"POST",
         "/v1/counters/1/complete",
         "{\"business_type\":\"x\",\"outcome\":\"maybe\"}",
         400,
         "bad_request",
         {"outcome: 'maybe' is not one of done, referred, rejected_documents"}},
        {"POST",
         "/v1/complaints",
         "{\"channel\":\"fax\",\"category\":\"x\",\"severity\":\"low\"}",
         400,
         "bad_request",
         {"channel: 'fax' is not one of"}},
        {"POST",
         "/v1/complaints",
         "{\"channel\":\"app\",\"category\":\"x\",\"severity\":\"dire\"}",
         400,
         "bad_request",
         {"severity: 'dire' is not one of low, medium, high, critical"}},
        {"POST",
         c_escalate,
         "{\"level\":\"king\"}",
         400,
         "bad_request",
         {"level: 'king' is not one of duty_manager, region, head_office"}},
        {"POST",
         "/v1/devices/KIOSK-1/status",
         "{\"kind\":\"toaster\",\"state\":\"ok\"}",
         400,
         "bad_request",
         {"kind: 'toaster' is not one of"}},
        {"POST",
         "/v1/devices/KIOSK-1/status",
         "{\"kind\":\"kiosk\",\"state\":\"smoking\"}",
         400,
         "bad_request",
         {"state: 'smoking' is not one of ok, fault, paper_out, offline"}},
        {"GET",
         "/v1/complaints?state=resolved",
         NULL,
         400,
         "bad_parameter",
         {"state 'resolved' is not one of open, acknowledged, overdue, all"}},
        /* over-long strings */
        {"POST", "/v1/tickets", s_long_service, 400, "bad_request", {"unknown service 'xxxx"}},
        {"POST",
         "/v1/counters/3/open",
         s_long_staff,
         400,
         "bad_request",
         {"staff must be a staff id (1 to 64"}},
        {"POST",
         "/v1/complaints",
         s_long_complaint,
         400,
         "bad_request",
         {"text is longer than 1024 bytes"}},
        {"POST",
         "/v1/complaints",
         s_long_category,
         400,
         "bad_request",
         {"category must be a category id"}},
        {"POST",
         "/v1/tickets/A002/cancel",
         s_long_reason,
         400,
         "bad_request",
         {"reason is longer than 1024 bytes"}},
        {"POST",
         "/v1/devices/KIOSK-1/status",
         s_long_detail,
         400,
         "bad_request",
         {"detail is longer than 1024 bytes"}},
        {"POST", s_long_path, NULL, 404, "not_found", {"is longer than 64 bytes"}},
        /* NUL in a string */
        {"POST",
         "/v1/tickets",
         "{\"service\":\"A\\u0000B\"}",
         400,
         "bad_json",
         {"\\u0000 is not allowed"}},
        {"POST",
         "/v1/counters/3/open",
         "{\"staff\":\"E1\",\"services\":[\"A\\u0000\"]}",
         400,
         "bad_json",
         {"\\u0000 is not allowed"}},
        /* unknown action */
        {"POST",
         "/v1/tickets/A002/frob",
         NULL,
         404,
         "not_found",
         {"no action 'frob' for A002", "recall, no-show, transfer, cancel"}},
        {"POST",
         "/v1/counters/1/frob",
         NULL,
         404,
         "not_found",
         {"no action 'frob' for 1", "open, pause, resume, close, call, start, complete"}},
        {"POST", c_frob, NULL, 404, "not_found", {"no action 'frob'", "ack, escalate, resolve"}},
        {"POST",
         "/v1/devices/KIOSK-1/reboot",
         NULL,
         404,
         "not_found",
         {"no action 'reboot' for KIOSK-1", "actions are status"}},
        {"GET", c_ack, NULL, 404, "not_found", {"GET takes /v1/complaints/{id}"}},
        {"GET",
         "/v1/tickets/A002/recall",
         NULL,
         404,
         "not_found",
         {"GET takes /v1/tickets/{ticket}"}},
        /* too many segments */
        {"POST",
         "/v1/tickets/A002/recall/again",
         NULL,
         404,
         "not_found",
         {"no route for POST /v1/tickets/A002/recall/again"}},
        {"POST", "/v1/counters/1/call/now", NULL, 404, "not_found", {"no route"}},
        {"POST",
         "/v1/feedback/extra",
         "{\"score\":4}",
         404,
         "not_found",
         {"no route", "/v1/feedback takes no id"}},
        {"GET", "/v1/hall/extra", NULL, 404, "not_found", {"/v1/hall takes no id"}},
        {"GET", "/v1/services/extra", NULL, 404, "not_found", {"/v1/services takes no id"}},
        {"POST", "/v1/tickets/", "{\"service\":\"A\"}", 404, "not_found", {"no route"}},
        {"GET", "/v1/tickets", NULL, 405, "method_not_allowed", {"allowed: POST"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const refusal_t *c = &cases[i];
        if (!c->status) {
            /* Not a refusal: a step the next case needs. */
            j = hbt_req(w->hall[0].http, c->method, c->path, c->body, 200);
            json_decref(j);
            continue;
        }
        snapshot_t before, after;
        s_snap(w, &before);
        json_t *r = NULL;
        int status = hbt_http(w->hall[0].http, c->method, c->path, c->body, &r);
        const char *reason = hbt_str(r, "reason");
        if (status != c->status || strcmp(hbt_str(r, "error"), c->error) != 0)
            fail_msg("case %zu %s %s %.80s: %d %s (%s), wanted %d %s", i, c->method, c->path,
                     c->body ? c->body : "", status, hbt_str(r, "error"), reason, c->status,
                     c->error);
        for (size_t k = 0; k < 2 && c->says[k]; k++)
            if (!strstr(reason, c->says[k]))
                fail_msg("case %zu %s %s %.80s: reason '%s' does not say '%s'", i, c->method,
                         c->path, c->body ? c->body : "", reason, c->says[k]);
        json_decref(r);
        s_snap(w, &after);
        char what[160];
        snprintf(what, sizeof what, "case %zu (%s %.100s)", i, c->method, c->path);
        s_assert_same(&before, &after, what);
        json_decref(before.view);
        json_decref(after.view);
    }
    /* The hall counted the refusals of bad input, and still works. */
    json_t *st = hbt_get(w->hall[0].http, "/v1/status");
    assert_true(hbt_int(json_object_get(st, "api"), "requests_refused") >= 50);
    json_decref(st);
    j = hbt_req(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    assert_string_equal(hbt_str(j, "ticket"), "A003");
    json_decref(j);
}

/* ------------------------------------------------- (c) a closed hall ---- */

static void s_utc_date(time_t t, char out[11])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

HBT_TEST(test_closed_hall_refuses_tickets)
{
    hbt_world_t *w = *state;
    /* Closed from yesterday to tomorrow (UTC), so that a midnight passing
     * during the test changes nothing; open round the clock otherwise, so
     * the next opening is the day after tomorrow at 00:00. */
    time_t now = time(NULL);
    char from[11], to[11], reopen[11];
    s_utc_date(now - 86400, from);
    s_utc_date(now + 86400, to);
    s_utc_date(now + 2 * 86400, reopen);
    char policy[1024];
    snprintf(policy, sizeof policy,
             HBT_POLICY_OPEN_AND
             "\"divert_to\":[\"HALL-Z\"],"
             "\"closures\":{\"works\":{\"from\":\"%s\",\"to\":\"%s\","
             "\"notice\":\"Closed for works\",\"divert_to\":[\"HALL-N\",\"HALL-S\"]}}}",
             from, to);
    hbt_hall_set_engine(&w->hall[0], policy, NULL);
    hbt_hall_start(&w->hall[0]);
    char next_open[40];
    snprintf(next_open, sizeof next_open, "%sT00:00:00.000Z", reopen);
    s_wait_day_started(w);

    snapshot_t before, after;
    s_snap(w, &before);
    const char *bodies[] = {"{\"service\":\"A\"}", "{\"service\":\"B\",\"priority\":\"vip\"}"};
    for (size_t i = 0; i < 2; i++) {
        json_t *r = hbt_req(w->hall[0].http, "POST", "/v1/tickets", bodies[i], 409);
        assert_string_equal(hbt_str(r, "error"), "closed");
        assert_string_equal(hbt_str(r, "closed"), "closure");
        assert_string_equal(hbt_str(r, "next_open"), next_open);
        assert_string_equal(hbt_str(r, "notice"), "Closed for works");
        assert_non_null(strstr(hbt_str(r, "reason"), "the hall is closed (closure)"));
        assert_non_null(strstr(hbt_str(r, "reason"), next_open));
        /* The closure's halls, not the policy's general divert_to. */
        json_t *div = json_object_get(r, "divert_to");
        assert_int_equal(json_array_size(div), 2);
        assert_string_equal(json_string_value(json_array_get(div, 0)), "HALL-N");
        assert_string_equal(json_string_value(json_array_get(div, 1)), "HALL-S");
        json_decref(r);
    }
    char out[4096];
    assert_int_equal(
        hbt_run_args(out, sizeof out, HALLCTL, "ticket", "A", "--hall", w->hall[0].http, NULL), 1);
    assert_non_null(strstr(out, "refused (409 closed)"));
    assert_non_null(strstr(out, "go to HALL-N, HALL-S"));
    s_snap(w, &after);
    s_assert_same(&before, &after, "a ticket asked of a closed hall");
    json_decref(before.view);
    json_decref(after.view);

    /* The hall view says the same, and nothing was issued. */
    json_t *h = hbt_req(w->hall[0].http, "GET", "/v1/hall", NULL, 200);
    assert_true(json_is_false(json_object_get(h, "open")));
    assert_string_equal(hbt_str(h, "open_state"), "closure");
    assert_string_equal(hbt_str(h, "next_open"), next_open);
    assert_string_equal(hbt_str(h, "notice"), "Closed for works");
    assert_int_equal(json_array_size(json_object_get(h, "divert_to")), 2);
    assert_int_equal(hbt_int(json_object_get(h, "today"), "issued"), 0);
    assert_int_equal(hbt_int(h, "waiting"), 0);
    json_decref(h);
}
