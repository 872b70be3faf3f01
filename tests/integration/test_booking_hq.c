/* HQ's POST /v1/appointments against a real hqd and real branchds over
 * the CURVE link: a booking made through HQ lands in the hall's book (and
 * comes back up into HQ's mirror), a full slot is refused with the hall's
 * own code, the same Idempotency-Key twice gives one booking (and the key
 * reused for another slot is refused), bad JSON and each bad member get
 * 400 naming the member, a caller scoped to another region gets 403 and
 * one without the permission too, an unknown hall 404, a hall that never
 * connected 503 at once, a hall of an older build (a raw link client whose
 * Hello does not offer bookings) 501 at once; a hall that is stopped
 * (SIGSTOP) gets 504 within the timeout and, resumed, books nothing for
 * the request that came too late; a hall that is gone 503 hall_offline. */
#include "harness.h"
#include "httpd.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallbus/httpc.h"
#include "hallbus/time.h"
#include "runner.h"
#include "world.h"

#define BRANCHD HB_BIN_DIR "/branchd/branchd"
#define ANSWER_MAX (1 << 16)
/* --booking_timeout below: well above what a hall takes to decide even
 * when the machine's disk is slow to sync under a parallel build, so that
 * only the frozen hall times out. */
#define TIMEOUT_MS 8000

static const hbt_world_spec_t s_world = {
    .tag = "bookhq",
    .halls = {"BK1", "BKOLD"},
    .hq_args = {"--booking_timeout", "8s", "--offline_after", "3s"},
    /* The link outlives the hall's freeze below: its heartbeats' TTL (the
     * link timeout) would otherwise have HQ drop the connection, and the
     * request with it, before the hall wakes. */
    .hall_args = {"--link_timeout", "20s"},
};
#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

#define POLICY HBT_POLICY_OPEN_AND "\"appointments\":{\"A\":{\"slot_s\":600,\"capacity\":1}}}"

static const char s_org[] =
    "{\"regions\": ["
    " {\"id\": \"CN\", \"name\": \"Head office\", \"level\": \"national\"},"
    " {\"id\": \"P01\", \"name\": \"North\", \"level\": \"province\", \"parent\": \"CN\"},"
    " {\"id\": \"C001\", \"name\": \"Harbour City\", \"level\": \"city\", \"parent\": \"P01\"},"
    " {\"id\": \"C002\", \"name\": \"Hill Town\", \"level\": \"city\", \"parent\": \"P01\"}],"
    " \"halls\": [{\"id\": \"BK1\", \"city\": \"C001\"}, {\"id\": \"BKOLD\", \"city\": \"C001\"},"
    " {\"id\": \"BKX\", \"city\": \"C002\"}]}";

static char s_answer[ANSWER_MAX];

/* POST /v1/appointments as `token`, with an Idempotency-Key when `key`;
 * the status, and the JSON body in *out (NULL when none). */
static int s_book(const hbt_world_t *w, const char *token, const char *key, const char *body,
                  json_t **out)
{
    char header[160];
    const char *headers[1] = {header};
    snprintf(header, sizeof header, "Idempotency-Key: %s", key ? key : "");
    hb_httpc_opts_t opts = {
        .timeout_ms = 10000, .token = token, .headers = headers, .n_headers = key ? 1 : 0};
    hb_httpc_resp_t resp;
    char err[256];
    *out = NULL;
    if (hb_httpc_call(w->hq.http, "POST", "/v1/appointments", body, &opts, &resp, err,
                      sizeof err) != 0)
        fail_msg("POST /v1/appointments: %s", err);
    *out = json_loadb(resp.body, resp.body_len, 0, NULL);
    int status = resp.status;
    hb_httpc_resp_free(&resp);
    return status;
}

/* A refusal: status, code and words of the reason (and the member named,
 * for bad_field). */
static void s_refused(const hbt_world_t *w, const char *token, const char *key, const char *body,
                      int status, const char *code, const char *field, const char *words)
{
    json_t *o;
    int got = s_book(w, token, key, body, &o);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (got != status)
        fail_msg("%s: expected %d, got %d: %s", body, status, got, text ? text : "(no JSON)");
    assert_string_equal(hbt_str(o, "error"), code);
    if (field)
        assert_string_equal(hbt_str(o, "field"), field);
    hbt_assert_contains(hbt_str(o, "reason"), words);
    free(text);
    json_decref(o);
}

/* The bookings of the hall's own book at `start` (its API, as the hall). */
static int s_hall_bookings(const hbt_hall_t *h, const char *start)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/appointments?date=%.10s", start);
    json_t *book = hbt_req(h->http, "GET", path, NULL, 200);
    int n = 0;
    json_t *a = json_object_get(book, "appointments"), *b;
    size_t i;
    json_array_foreach (a, i, b)
        n += strcmp(hbt_str(b, "start"), start) == 0;
    json_decref(book);
    return n;
}

/* HQ's book of hall BK1 for the date of `start` holds `text`. */
static void s_hq_day_has(const hbt_world_t *w, const char *start, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/BK1/appointments?date=%.10s", start);
    json_t *day = hbt_req(w->hq.http, "GET", path, NULL, 200);
    char *dump = json_dumps(day, JSON_COMPACT);
    hbt_assert_contains(dump, text);
    free(dump);
    json_decref(day);
}

/* One sample of the /metrics of the daemon at `base`. */
static double s_metric(const char *base, const char *name)
{
    hb_httpc_resp_t resp;
    assert_int_equal(hbt_http_raw(base, "GET", "/metrics", NULL, &resp), 0);
    double v = hbt_sample(resp.body, name);
    hb_httpc_resp_free(&resp);
    return v;
}

/* Waits (15 s at most) until HQ counts hall `h` online or offline. */
static void s_wait_online(hbt_world_t *w, const hbt_hall_t *h, bool online)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/%s", h->id);
    bool seen = !online;
    for (int64_t end = hbt_now_ms() + 15000; seen != online && hbt_now_ms() < end;) {
        json_t *st = hbt_req(w->hq.http, "GET", path, NULL, 200);
        seen = json_is_true(json_object_get(st, "online"));
        json_decref(st);
        if (seen != online)
            hbt_sleep_ms(200);
    }
    if (seen != online)
        fail_msg("HQ still counts hall %s %s after 15 s", h->id, online ? "offline" : "online");
}

HBT_TEST(test_booking_through_hq)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = &w->hall[0];
    hbt_req_ok(w->hq.http, "PUT", "/v1/org", s_org, 200);
    hbt_hall_set_engine(h, POLICY, NULL);
    char out[2048], cmd[1200];
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '482913' | %s staff add E07 --data %s", BRANCHD,
             h->data);
    assert_int_equal(hbt_run_args(out, sizeof out, "/bin/sh", "-c", cmd, NULL), 0);
    hbt_hall_start(h);
    assert_true(hbt_wait_synced(&w->hq, h, 15000));
    char app1[64], app2[64], viewer[64];
    hbt_hq_user(&w->hq, "app-north", app1, "--role", "booking", "--scope", "C001", NULL);
    hbt_hq_user(&w->hq, "app-hill", app2, "--role", "booking", "--scope", "C002", NULL);
    hbt_hq_user(&w->hq, "watcher", viewer, "--role", "viewer", NULL);

    /* Slots of 10 minutes from midnight UTC: four from the one after next
     * (none begins while the test runs). */
    int64_t now = hb_now_ms(), next = (now / 600000 + 2) * 600000;
    char t1[HB_RFC3339_MAX], t2[HB_RFC3339_MAX], t3[HB_RFC3339_MAX], t4[HB_RFC3339_MAX];
    char body[512];
    hb_time_format(next, t1);
    hb_time_format(next + 600000, t2);
    hb_time_format(next + 1200000, t3);
    hb_time_format(next + 1800000, t4);

    /* Booked through HQ: the hall's answer, with the hall named. */
    snprintf(body, sizeof body,
             "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\","
             "\"staff\":\"E07\"}",
             t1);
    json_t *o;
    assert_int_equal(s_book(w, app1, "order-1", body, &o), 201);
    char code[16];
    snprintf(code, sizeof code, "%s", hbt_str(o, "code"));
    assert_int_equal(strlen(code), 8);
    hbt_assert_strs(o, "hall", "BK1", "channel", "app", "staff", "E07", "state", "booked", NULL);
    json_decref(o);
    assert_int_equal(s_hall_bookings(h, t1), 1);

    /* The same key again: the same booking, nothing new at the hall; the
     * answer says it is a replay. */
    int port = atoi(strrchr(w->hq.http, ':') + 1);
    char raw[1400];
    snprintf(raw, sizeof raw,
             "POST /v1/appointments HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
             "Idempotency-Key: order-1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s",
             port, app1, strlen(body), body);
    assert_int_equal(hbt_http_send_raw(w->hq.http, raw, s_answer, sizeof s_answer), 201);
    char replayed[16];
    assert_true(hbt_http_answer_header(s_answer, "Idempotent-Replayed", replayed, sizeof replayed));
    assert_string_equal(replayed, "true");
    o = json_loads(hbt_http_answer_body(s_answer), 0, NULL);
    assert_string_equal(hbt_str(o, "code"), code);
    json_decref(o);
    /* The key in the body instead of the header is the same key. */
    snprintf(body, sizeof body,
             "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\","
             "\"staff\":\"E07\",\"request_id\":\"order-1\"}",
             t1);
    assert_int_equal(s_book(w, app1, NULL, body, &o), 201);
    assert_string_equal(hbt_str(o, "code"), code);
    json_decref(o);
    assert_int_equal(s_hall_bookings(h, t1), 1);
    /* Another caller's same key is another booking: here the slot is full. */
    snprintf(body, sizeof body,
             "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\","
             "\"staff\":\"E07\"}",
             t1);
    s_refused(w, w->hq.token, "order-1", body, 409, "slot_full", NULL, "is full (1 of 1)");
    /* A full slot: the hall's code and words. */
    s_refused(w, app1, "order-2", body, 409, "slot_full", NULL, "is full (1 of 1)");
    /* The key of a booking asked for another slot. */
    snprintf(body, sizeof body, "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\"}", t2);
    s_refused(w, app1, "order-1", body, 409, "idempotency_key_reused", NULL, code);
    /* The hall's other refusals come back as the hall gives them. */
    snprintf(body, sizeof body,
             "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\","
             "\"staff\":\"E99\"}",
             t2);
    s_refused(w, app1, NULL, body, 400, "bad_request", NULL, "no staff 'E99' is enrolled");
    char odd[HB_RFC3339_MAX];
    hb_time_format(next + 60000, odd);
    snprintf(body, sizeof body, "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\"}", odd);
    s_refused(w, app1, NULL, body, 404, "unknown_slot", NULL, "slots start every 10 min");
    snprintf(body, sizeof body, "{\"hall\":\"BK1\",\"service\":\"C\",\"start\":\"%s\"}", t2);
    s_refused(w, app1, NULL, body, 400, "bad_request", NULL, "takes no appointments");
    /* The web channel, without a key. */
    snprintf(body, sizeof body,
             "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\",\"channel\":\"web\"}", t2);
    assert_int_equal(s_book(w, app1, NULL, body, &o), 201);
    assert_string_equal(hbt_str(o, "channel"), "web");
    json_decref(o);

    /* Bad JSON, and each bad member named. */
    s_refused(w, app1, NULL, "{\"hall\":", 400, "bad_json", NULL, "JSON object");
    s_refused(w, app1, NULL, "[1]", 400, "bad_json", NULL, "JSON object");
    s_refused(w, app1, NULL, NULL, 400, "bad_json", NULL, "empty");
    static const struct {
        const char *body, *field, *words;
    } bad[] = {
        {"{\"service\":\"A\",\"start\":\"2026-12-02T09:30:00Z\"}", "hall", "is missing"},
        {"{\"hall\":\"B K\",\"service\":\"A\",\"start\":\"2026-12-02T09:30:00Z\"}", "hall",
         "hall id"},
        {"{\"hall\":\"BK1\",\"start\":\"2026-12-02T09:30:00Z\"}", "service", "is missing"},
        {"{\"hall\":\"BK1\",\"service\":7,\"start\":\"2026-12-02T09:30:00Z\"}", "service",
         "service code"},
        {"{\"hall\":\"BK1\",\"service\":\"A\"}", "start", "is missing"},
        {"{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"tomorrow\"}", "start", "RFC 3339"},
        {"{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"2026-12-02T09:30:00Z\",\"staff\":\"a "
         "b\"}",
         "staff", "staff id"},
        {"{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"2026-12-02T09:30:00Z\",\"channel\":"
         "\"hall\"}",
         "channel", "\"app\", \"web\" or \"phone\""},
        {"{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"2026-12-02T09:30:00Z\",\"request_id\":"
         "\"\"}",
         "request_id", "printable"},
        {"{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"2026-12-02T09:30:00Z\",\"phone\":"
         "\"555\"}",
         "phone", "is not a member"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_refused(w, app1, NULL, bad[i].body, 400, "bad_field", bad[i].field, bad[i].words);
    char long_key[80];
    memset(long_key, 'k', 70);
    long_key[70] = '\0';
    snprintf(body, sizeof body, "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\"}", t3);
    s_refused(w, app1, long_key, body, 400, "bad_field", "Idempotency-Key", "printable");
    snprintf(body, sizeof body,
             "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\",\"request_id\":\"x\"}", t3);
    s_refused(w, app1, "y", body, 400, "bad_field", "request_id", "differs");

    /* Scope and permission; halls HQ does not know, or that are not there. */
    snprintf(body, sizeof body, "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\"}", t3);
    s_refused(w, app2, NULL, body, 403, "forbidden", NULL, "BK1");
    s_refused(w, viewer, NULL, body, 403, "forbidden", NULL, "appointment.book");
    snprintf(body, sizeof body, "{\"hall\":\"ZZ9\",\"service\":\"A\",\"start\":\"%s\"}", t3);
    s_refused(w, w->hq.token, NULL, body, 404, "not_found", NULL, "ZZ9");
    s_refused(w, app1, NULL, body, 403, "forbidden", NULL, "ZZ9");
    snprintf(body, sizeof body, "{\"hall\":\"BKX\",\"service\":\"A\",\"start\":\"%s\"}", t3);
    s_refused(w, app2, NULL, body, 503, "hall_offline", NULL, "not connected");
    assert_int_equal(s_hall_bookings(h, t3), 0);

    /* A hall of an older build: its Hello offers no bookings, and HQ says
     * so at once instead of waiting for an answer that never comes. */
    hbt_raw_t *old = hbt_raw_connect(w->hq.endpoint, w->hall[1].dir);
    assert_non_null(old);
    assert_true(hbt_raw_hello(old) >= 0);
    snprintf(body, sizeof body, "{\"hall\":\"BKOLD\",\"service\":\"A\",\"start\":\"%s\"}", t3);
    int64_t t0 = hbt_now_ms();
    s_refused(w, app1, NULL, body, 501, "hall_unsupported", NULL, "takes no bookings");
    assert_true(hbt_now_ms() - t0 < 1000);
    /* Nothing was sent to it either. */
    Hallbus__Frame *f = hbt_raw_expect(old, HALLBUS__FRAME__KIND_BOOKING_REQUEST, 500);
    assert_null(f);
    hbt_raw_close(&old);

    /* HQ's mirror holds the bookings made through it. */
    assert_true(hbt_wait_synced(&w->hq, h, 15000));
    s_hq_day_has(w, t1, code);
    s_hq_day_has(w, t1, "\"channel\":\"app\"");
    s_hq_day_has(w, t2, "\"channel\":\"web\"");

    /* The hall stopped: 504 within the timeout; resumed, it drops the late
     * request and books nothing. */
    snprintf(body, sizeof body, "{\"hall\":\"BK1\",\"service\":\"A\",\"start\":\"%s\"}", t4);
    assert_int_equal(kill(h->proc.pid, SIGSTOP), 0);
    t0 = hbt_now_ms();
    s_refused(w, app1, "late-1", body, 504, "hall_timeout", NULL, "did not answer within 8000 ms");
    int64_t took = hbt_now_ms() - t0;
    print_message("504 after %lld ms (timeout %d ms)\n", (long long)took, TIMEOUT_MS);
    assert_in_range(took, TIMEOUT_MS - 100, TIMEOUT_MS + 1500);
    assert_int_equal(kill(h->proc.pid, SIGCONT), 0);
    assert_true(s_metric(w->hq.http, "hallbus_hq_bookings_total{outcome=\"timed_out\"}") == 1);
    for (int64_t end = hbt_now_ms() + 10000;
         s_metric(h->http, "hallbus_hall_hq_bookings_expired_total") < 1 && hbt_now_ms() < end;)
        hbt_sleep_ms(100);
    double expired = s_metric(h->http, "hallbus_hall_hq_bookings_expired_total");
    if (expired != 1)
        fail_msg("the hall dropped %g late request(s), not 1 (it saw %g)", expired,
                 s_metric(h->http, "hallbus_hall_hq_bookings_total"));
    assert_int_equal(s_hall_bookings(h, t4), 0);
    /* Asked again with the same key once HQ hears the hall again (stopped
     * for longer than --offline_after, it was counted offline): it books
     * once. */
    assert_true(hbt_wait_synced(&w->hq, h, 15000));
    s_wait_online(w, h, true);
    assert_int_equal(s_book(w, app1, "late-1", body, &o), 201);
    json_decref(o);
    assert_int_equal(s_hall_bookings(h, t4), 1);

    /* The hall gone: once HQ counts it offline, 503 at once. */
    hbt_hall_stop(h, SIGTERM);
    s_wait_online(w, h, false);
    t0 = hbt_now_ms();
    s_refused(w, app1, NULL, body, 503, "hall_offline", NULL, "not connected");
    assert_true(hbt_now_ms() - t0 < 1000);
}
