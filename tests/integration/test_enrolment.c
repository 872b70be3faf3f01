/* Enrolment done right, with the real programs: a hall makes its own key
 * pair and request (branchd enroll), head office approves it over its API
 * (hallctl enroll approve), the hall installs the answer and connects;
 * every refusal names what is wrong; pre-registered halls come in with a
 * one-time code, once; a hall rotates its key while events flow, with
 * nothing lost or doubled and the old key retired; a revoked hall's link
 * is closed within a second and it cannot come back. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hallbus/fs.h"

#include "runner.h"
#include "world.h"

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_spec
#define HALLCTL HB_BIN_DIR "/tools/hallctl"
#define BRANCHD HB_BIN_DIR "/branchd/branchd"

static const hbt_world_spec_t s_spec = {.tag = "enrol", .halls = {NULL}};

#define ORG                                                                                        \
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"HO\",\"level\":\"national\"},"                        \
    "{\"id\":\"P1\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"                 \
    "{\"id\":\"C1\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P1\"},"                   \
    "{\"id\":\"C2\",\"name\":\"Hill\",\"level\":\"city\",\"parent\":\"P1\"}],\"halls\":[]}"

/* The world has started hqd: its organisation, two cities. */
static void s_start_hq(hbt_world_t *w) { hbt_req_ok(w->hq.http, "PUT", "/v1/org", ORG, 200); }

/* Runs a program; its exit status, its output in `out`. */
#define RUN(out, ...) hbt_run_args(out, sizeof out, __VA_ARGS__, (char *)NULL)

static const char *s_link_state(hbt_hall_t *h)
{
    static char state[32];
    json_t *st = hbt_get(h->http, "/v1/status");
    snprintf(state, sizeof state, "%s",
             st ? hbt_str(json_object_get(st, "link"), "state") : "(no answer)");
    json_decref(st);
    return state;
}

static bool s_wait_state(hbt_hall_t *h, const char *want, int timeout_ms)
{
    int64_t until = hbt_now_ms() + timeout_ms;
    while (hbt_now_ms() < until) {
        if (strcmp(s_link_state(h), want) == 0)
            return true;
        hbt_sleep_ms(20);
    }
    return false;
}

/* The world's first hall, enrolled as `id` in city C1 after hqd has its
 * organisation, started and connected. */
static hbt_hall_t *s_connected_hall(hbt_world_t *w, const char *id)
{
    s_start_hq(w);
    hbt_hall_t *h = &w->hall[0];
    hbt_hall_enroll_signed(&w->hq, h, id, "C1");
    w->n_halls = 1;
    hbt_hall_start(h);
    assert_true(s_wait_state(h, "connected", 10000));
    return h;
}

/* The enrolment request `req` of hall `h` submitted again: refused, with
 * `why` in hallctl's output. */
static void s_submit_refused(hbt_world_t *w, hbt_hall_t *h, const char *req, const char *why)
{
    char out[4096];
    assert_int_equal(
        RUN(out, HALLCTL, "enroll", "submit", req, "--keys", h->dir, "--hq", w->hq.http), 1);
    hbt_assert_contains(out, why);
}

HBT_TEST(test_hall_makes_its_key_and_hq_approves)
{
    hbt_world_t *w = *state;
    s_start_hq(w);
    hbt_hall_t *h = &w->hall[0];
    hbt_hall_enroll_signed(&w->hq, h, "H1", "C1");
    w->n_halls = 1;
    /* The secret stayed with the hall: HQ's folder holds the public part. */
    char path[512], out[4096];
    snprintf(path, sizeof path, "%s/halls/H1.key_secret", w->hq.keys);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/hall.key_secret", h->dir);
    assert_int_equal(access(path, F_OK), 0);
    hbt_hall_start(h);
    assert_true(s_wait_state(h, "connected", 10000));
    hbt_hall_post(h, 20, 1);
    assert_true(hbt_wait_synced(&w->hq, h, 10000));
    /* Placed in its city. */
    json_t *org = hbt_req(w->hq.http, "GET", "/v1/org/halls/H1", NULL, 200);
    assert_string_equal(hbt_str(json_object_get(org, "hall"), "city"), "C1");
    json_decref(org);

    /* Refusals, each naming what is wrong. Another key for H1: */
    char other[400], req[500];
    snprintf(other, sizeof other, "%s/other-H1", w->hq.root);
    assert_int_equal(RUN(out, BRANCHD, "enroll", "--hall", "H1", "--hq-endpoint", w->hq.endpoint,
                         "--out", other),
                     0);
    snprintf(req, sizeof req, "%s/enrolment-request.txt", other);
    assert_int_equal(
        RUN(out, HALLCTL, "enroll", "approve", req, "--hq", w->hq.http, "--token", w->hq.token), 1);
    hbt_assert_contains(out, "key_conflict");
    hbt_assert_contains(out, "already enrolled with another key");
    /* A region that is not a city of the organisation: */
    hbt_hall_t h2;
    hbt_hall_init(&w->hq, &h2, "H2");
    assert_int_equal(RUN(out, BRANCHD, "enroll", "--hall", "H2", "--hq-endpoint", w->hq.endpoint,
                         "--out", h2.dir),
                     0);
    snprintf(req, sizeof req, "%s/enrolment-request.txt", h2.dir);
    assert_int_equal(RUN(out, HALLCTL, "enroll", "approve", req, "--region", "ZZ", "--hq",
                         w->hq.http, "--token", w->hq.token),
                     1);
    hbt_assert_contains(out, "unknown region 'ZZ'");
    assert_int_equal(RUN(out, HALLCTL, "enroll", "approve", req, "--region", "P1", "--hq",
                         w->hq.http, "--token", w->hq.token),
                     1);
    hbt_assert_contains(out, "is a province");
    assert_int_equal(
        RUN(out, HALLCTL, "enroll", "approve", req, "--hq", w->hq.http, "--token", w->hq.token), 1);
    hbt_assert_contains(out, "region_required");
    /* A malformed request, a tampered one, one from the future: */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"hello\n", "expected 'name = value'"},
        {"kind = enrol\n", "no 'hallbus-enrolment-request = 1' line"},
        {"hallbus-enrolment-request = 1\nkind = enrol\nhall = bad id!\n", "bad hall"},
        {"hallbus-enrolment-request = 1\nkind = enrol\nhall = H3\ncolour = red\n",
         "unknown field 'colour'"},
        {"hallbus-enrolment-request = 1\nkind = enrol\nhall = H3\nhall = H4\n", "given twice"},
        {"hallbus-enrolment-request = 1\nkind = enrol\nhall = H3\npublic-key = short\n",
         "bad public-key"},
        {"hallbus-enrolment-request = 1\nkind = enrol\nhall = H3\n"
         "public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
         "nonce = 00112233445566778899aabbccddeeff\ncreated = 2999-01-01T00:00:00Z\n",
         "in the future"},
        {"hallbus-enrolment-request = 1\nkind = rotate\nhall = H3\n"
         "public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
         "nonce = 00112233445566778899aabbccddeeff\ncreated = 2020-01-01T00:00:00Z\n",
         "needs current-key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = json_pack("{s:s, s:s}", "request", bad[i].text, "region", "C1");
        char *b = json_dumps(body, 0);
        hbt_refused(w->hq.http, "POST", "/v1/enrolments", b, 400,
                    i == 6 ? "request_out_of_date" : "malformed_request", bad[i].want);
        free(b);
        json_decref(body);
    }
    /* Pending, then approved from the list (what a dashboard page does). */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(hb_file_read_small(req, 8192, &text, &len), 0);
    json_t *body = json_pack("{s:s, s:b}", "request", text, "approve", 0);
    char *b = json_dumps(body, 0);
    hbt_req_ok(w->hq.http, "POST", "/v1/enrolments", b, 202);
    /* Without a code, the hall cannot approve itself. */
    hbt_refused(w->hq.http, "POST", "/v1/enrolments/requests", b, 403, "approval_required",
                "approved by head office");
    free(b);
    json_decref(body);
    free(text);
    json_t *list = hbt_req(w->hq.http, "GET", "/v1/enrolments", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "pending")), 1);
    json_decref(list);
    hbt_refused(w->hq.http, "POST", "/v1/enrolments/H2/approve", "{\"region\":\"ZZ\"}", 400,
                "unknown_region", "ZZ");
    json_t *cert =
        hbt_req(w->hq.http, "POST", "/v1/enrolments/H2/approve", "{\"region\":\"C2\"}", 201);
    assert_string_equal(hbt_str(cert, "region"), "C2");
    json_decref(cert);
    hbt_refused(w->hq.http, "POST", "/v1/enrolments/H2/reject", "{}", 404, "not_pending", "H2");

    /* Rejected with a reason: the list shows the fingerprint the hall
     * printed, a reason that is not short text is refused, and the reason
     * is in the answer and the audit log. */
    hbt_hall_t h4;
    hbt_hall_init(&w->hq, &h4, "H4");
    assert_int_equal(RUN(out, BRANCHD, "enroll", "--hall", "H4", "--hq-endpoint", w->hq.endpoint,
                         "--out", h4.dir),
                     0);
    char fp[32] = "";
    const char *at = strstr(out, "key fingerprint: ");
    assert_non_null(at);
    assert_int_equal(sscanf(at + strlen("key fingerprint: "), "%31s", fp), 1);
    snprintf(req, sizeof req, "%s/enrolment-request.txt", h4.dir);
    assert_int_equal(hb_file_read_small(req, 8192, &text, &len), 0);
    body = json_pack("{s:s, s:b}", "request", text, "approve", 0);
    b = json_dumps(body, 0);
    hbt_req_ok(w->hq.http, "POST", "/v1/enrolments", b, 202);
    free(b);
    json_decref(body);
    free(text);
    list = hbt_req(w->hq.http, "GET", "/v1/enrolments", NULL, 200);
    json_t *p = json_array_get(json_object_get(list, "pending"), 0);
    assert_string_equal(hbt_str(p, "hall"), "H4");
    assert_string_equal(hbt_str(p, "fingerprint"), fp);
    json_decref(list);
    char *longer = hbt_repeat('x', 501);
    body = json_pack("{s:s}", "reason", longer);
    b = json_dumps(body, 0);
    hbt_refused(w->hq.http, "POST", "/v1/enrolments/H4/reject", b, 400, "bad_request",
                "at most 500 bytes");
    free(b);
    json_decref(body);
    free(longer);
    hbt_refused(w->hq.http, "POST", "/v1/enrolments/H4/reject", "{\"reason\": 7}", 400,
                "bad_request", "must be text");
    /* hallctl enroll reject carries --reason; HQ's refusal of a long one
     * is printed, and the request stays pending. */
    char *too_long = hbt_repeat('y', 501);
    assert_int_not_equal(RUN(out, HALLCTL, "enroll", "reject", "H4", "--reason", too_long, "--hq",
                             w->hq.http, "--token", w->hq.token),
                         0);
    hbt_assert_contains(out, "at most 500 bytes");
    free(too_long);
    if (RUN(out, HALLCTL, "enroll", "reject", "H4", "--reason", "not one of our halls", "--hq",
            w->hq.http, "--token", w->hq.token) != 0)
        fail_msg("hallctl enroll reject failed: %s", out);
    hbt_assert_contains(out, "hall H4: rejected");
    list = hbt_req(w->hq.http, "GET", "/v1/enrolments", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "pending")), 0);
    json_decref(list);
    json_t *audit = hbt_req(w->hq.http, "GET", "/v1/audit?object=H4&limit=5", NULL, 200);
    json_t *rec = json_array_get(json_object_get(audit, "records"), 0);
    assert_string_equal(hbt_str(rec, "route"), "/v1/enrolments/:hall/reject");
    assert_string_equal(hbt_str(rec, "reason"), "not one of our halls");
    json_decref(audit);
}

HBT_TEST(test_registered_halls_come_in_with_a_one_time_code)
{
    hbt_world_t *w = *state;
    s_start_hq(w);
    char csv[400], codes[400], out[4096];
    snprintf(csv, sizeof csv, "%s/halls.csv", w->hq.root);
    snprintf(codes, sizeof codes, "%s/codes.csv", w->hq.root);
    hbt_write_file(csv,
                   "hall,region,name,address\nR1,C1,Harbour One,\"1 Quay St, Harbour\"\nR2,C2,Hill "
                   "Two,\n");
    if (RUN(out, HALLCTL, "enroll", "register", csv, "--out", codes, "--hq", w->hq.http, "--token",
            w->hq.token) != 0)
        fail_msg("register: %s", out);
    char *text = NULL;
    size_t len;
    assert_int_equal(hb_file_read_small(codes, 4096, &text, &len), 0);
    char code1[64] = "", code2[64] = "";
    assert_int_equal(sscanf(strstr(text, "R1,") + 3, "%63[^\n]", code1), 1);
    assert_int_equal(sscanf(strstr(text, "R2,") + 3, "%63[^\n]", code2), 1);
    free(text);
    /* An unknown region anywhere in the CSV registers nothing. */
    hbt_write_file(csv, "R3,C1\nR4,NOWHERE\n");
    assert_int_equal(RUN(out, HALLCTL, "enroll", "register", csv, "--out", codes, "--hq",
                         w->hq.http, "--token", w->hq.token),
                     1);
    hbt_assert_contains(out, "unknown region 'NOWHERE'");
    hbt_assert_contains(out, "nothing was registered");

    hbt_hall_t *h = &w->hall[0];
    hbt_hall_init(&w->hq, h, "R1");
    w->n_halls = 1;
    char req[400];
    snprintf(req, sizeof req, "%s/enrolment-request.txt", h->dir);
    /* A wrong code: */
    assert_int_equal(RUN(out, BRANCHD, "enroll", "--hall", "R1", "--hq-endpoint", w->hq.endpoint,
                         "--out", h->dir, "--code", code2),
                     0);
    assert_int_equal(
        RUN(out, HALLCTL, "enroll", "submit", req, "--keys", h->dir, "--hq", w->hq.http), 1);
    hbt_assert_contains(out, "does not match hall R1's registration");
    /* The right one (a request made again with it). */
    unlink(req);
    char p[500];
    snprintf(p, sizeof p, "%s/hall.key", h->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/hall.key_secret", h->dir);
    unlink(p);
    assert_int_equal(RUN(out, BRANCHD, "enroll", "--hall", "R1", "--hq-endpoint", w->hq.endpoint,
                         "--out", h->dir, "--code", code1),
                     0);
    if (RUN(out, HALLCTL, "enroll", "submit", req, "--keys", h->dir, "--hq", w->hq.http) != 0)
        fail_msg("submit: %s", out);
    hbt_assert_contains(out, "region C1");
    json_t *org = hbt_req(w->hq.http, "GET", "/v1/org/halls/R1", NULL, 200);
    assert_string_equal(hbt_str(json_object_get(org, "hall"), "name"), "Harbour One");
    assert_string_equal(hbt_str(json_object_get(org, "hall"), "address"), "1 Quay St, Harbour");
    json_decref(org);
    hbt_hall_start(h);
    assert_true(s_wait_state(h, "connected", 10000));
    /* The code is used up. */
    s_submit_refused(w, h, req, "not registered for enrolment by code (or its code was used)");
}

/* Posts events while the hall rotates its key. */
HBT_TEST(test_rotation_under_traffic_loses_and_doubles_nothing)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = s_connected_hall(w, "ROT1");
    char out[4096], req[400], old[400];
    snprintf(req, sizeof req, "%s/rotation-request.txt", h->dir);
    snprintf(old, sizeof old, "%s/halls/ROT1.old.key", w->hq.keys);
    hbt_hall_post(h, 200, 1);
    assert_int_equal(RUN(out, BRANCHD, "rotate", "--keys", h->dir), 0);
    hbt_hall_post(h, 200, 2);
    if (RUN(out, HALLCTL, "enroll", "submit", req, "--keys", h->dir, "--hq", w->hq.http) != 0)
        fail_msg("submit: %s", out);
    /* Both keys are good now: the hall still runs on the old one. */
    assert_int_equal(access(old, F_OK), 0);
    hbt_hall_post(h, 200, 3);
    kill(h->proc.pid, SIGHUP); /* a reload, not a stop */
    for (int i = 0; i < 10; i++) {
        hbt_hall_post(h, 50, 4 + i);
        hbt_sleep_ms(50);
    }
    assert_true(hbt_wait_synced(&w->hq, h, 15000));
    hbt_assert_synced(&w->hq, h); /* same count, same digest: nothing lost or doubled */
    assert_string_equal(s_link_state(h), "connected");
    /* The old key was retired at the new one's first handshake. */
    int64_t until = hbt_now_ms() + 3000;
    while (access(old, F_OK) == 0 && hbt_now_ms() < until)
        hbt_sleep_ms(20);
    assert_int_not_equal(access(old, F_OK), 0);
    /* Replayed, the rotation is refused: its current key is no longer. */
    s_submit_refused(w, h, req, "bad_proof");
}

HBT_TEST(test_revoked_hall_is_cut_off_within_a_second)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = s_connected_hall(w, "REV1");
    char out[1024];
    int64_t t0 = hbt_now_ms();
    assert_int_equal(
        RUN(out, HALLCTL, "halls", "revoke", "REV1", "--hq", w->hq.http, "--token", w->hq.token),
        0);
    assert_true(s_wait_state(h, "revoked", 2000));
    int64_t took = hbt_now_ms() - t0;
    printf("  revoked hall's link closed %lld ms after the command was run\n", (long long)took);
    assert_true(took <= 1000);
    /* It cannot come back: its next handshakes are refused. */
    hbt_sleep_ms(1500);
    assert_string_not_equal(s_link_state(h), "connected");
    json_t *hq_view = hbt_req(w->hq.http, "GET", "/v1/halls/REV1", NULL, 200);
    assert_false(json_is_true(json_object_get(hq_view, "online")));
    json_decref(hq_view);
    hbt_refused(w->hq.http, "POST", "/v1/halls/NOPE/revoke", "{}", 404, "not_enrolled", "NOPE");
}
