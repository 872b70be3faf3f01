/* A hall rotates its key by itself before its certificate expires, over
 * the link its current key authenticated, with the real programs: branchd
 * with a short-lived certificate asks HQ while events flow, installs the
 * answer and reconnects with the new key (nothing lost or doubled; the old
 * key refused afterwards; HQ's audit log has it). Every refusal of a
 * rotation request over the link is answered and named: another key's
 * request, another hall's, a bad proof, garbage, a revoked key, HQ's policy
 * off (the hall shows it and asks again by itself), an HQ that does not
 * answer (asked again after the backoff). A hall that does not rotate gets
 * a cert_expiring alert, then shows expired on both sides. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hallbus/cert.h"
#include "hallbus/codec.h"
#include "hallbus/enrol.h"
#include "hallbus/fs.h"

#include "runner.h"
#include "world.h"

/* Certificates of 20 s: a hall with rotate_before 12s rotates 8 s after its
 * approval; cert_expiring is raised 15 s before the end. */
static const hbt_world_spec_t s_spec = {
    .tag = "rotation",
    .halls = {NULL},
    .hq_args = {"--cert_validity", "20s", "--rotate_overlap", "1m", "--cert_expiry_warn", "15s",
                NULL},
};
#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_spec

/* The hall that does not rotate waits for its certificate's end: one of
 * 12 s (10 s is hqd's shortest), cert_expiring raised 9 s before it. */
#define SHORT_WARN_S 9
static const hbt_world_spec_t s_spec_short = {
    .tag = "rotation",
    .halls = {NULL},
    .hq_args = {"--cert_validity", "12s", "--rotate_overlap", "1m", "--cert_expiry_warn", "9s",
                NULL},
};

#define ORG                                                                                        \
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"HO\",\"level\":\"national\"},"                        \
    "{\"id\":\"P1\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"                 \
    "{\"id\":\"C1\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P1\"}],\"halls\":[]}"

static void s_org(hbt_world_t *w) { hbt_req_ok(w->hq.http, "PUT", "/v1/org", ORG, 200); }

/* The organisation, and hall `id` enrolled in C1 (not started). */
static hbt_hall_t *s_one_hall(hbt_world_t *w, const char *id)
{
    s_org(w);
    hbt_hall_t *h = &w->hall[0];
    hbt_hall_enroll_signed(&w->hq, h, id, "C1");
    w->n_halls = 1;
    return h;
}

/* The public key of the pair a hall keeps in `dir` (its hall.key). */
static void s_hall_key(const char *dir, char out[HB_CERT_KEY_Z85])
{
    char path[600], err[256];
    hb_cert_t c;
    snprintf(path, sizeof path, "%s/hall.key", dir);
    if (hb_cert_load_public(path, &c, err, sizeof err) != 0)
        fail_msg("%s: %s", path, err);
    snprintf(out, HB_CERT_KEY_Z85, "%s", c.public_key);
}

static void s_hall_args(hbt_hall_t *h, const char *rotate_before)
{
    hbt_hall_arg(h, "--rotate_before", "%s", rotate_before);
    hbt_hall_arg(h, "--rotate_retry", "1s");
}

/* The hall's GET /v1/status member `name` (owned by the caller). */
static json_t *s_status(hbt_hall_t *h, const char *name)
{
    json_t *st = hbt_get(h->http, "/v1/status");
    json_t *x = json_incref(json_object_get(st, name));
    json_decref(st);
    return x;
}

static const char *s_rotation_state(hbt_hall_t *h, char *out, size_t outlen)
{
    json_t *r = s_status(h, "rotation");
    snprintf(out, outlen, "%s", r ? hbt_str(r, "state") : "(no answer)");
    json_decref(r);
    return out;
}

static void s_copy(const char *from_dir, const char *to_dir, const char *name)
{
    char from[600], to[600], *text = NULL;
    size_t len = 0;
    snprintf(from, sizeof from, "%s/%s", from_dir, name);
    snprintf(to, sizeof to, "%s/%s", to_dir, name);
    assert_int_equal(hb_file_read_small(from, 65536, &text, &len), 0);
    assert_int_equal(hb_file_write_durably(to, text, len, 0600), 0);
    free(text);
}

/* The hall's key folder as it is now, into `dir`: its pair and hq.key. */
static void s_keep_keys(const hbt_hall_t *h, const char *dir)
{
    assert_int_equal(hb_mkdir_p(dir, 0700), 0);
    s_copy(h->dir, dir, "hall.key");
    s_copy(h->dir, dir, "hall.key_secret");
    s_copy(h->dir, dir, "hq.key");
}

/* Whether a record of `action` about `hall` is in HQ's audit log, its
 * reason containing `reason` (NULL: any). */
static bool s_audited(hbt_world_t *w, const char *hall, const char *action, const char *reason)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/audit?object=%s&limit=100", hall);
    json_t *a = hbt_get(w->hq.http, path), *r;
    size_t i;
    bool found = false;
    json_array_foreach (json_object_get(a, "records"), i, r) {
        if (strcmp(hbt_str(r, "action"), action) == 0 &&
            (!reason || strstr(hbt_str(r, "reason"), reason)))
            found = true;
    }
    json_decref(a);
    return found;
}

HBT_TEST(test_hall_rotates_by_itself_while_events_flow)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = s_one_hall(w, "AUTO1");
    char old_keys[400], old_cert[400], state_now[32];
    snprintf(old_keys, sizeof old_keys, "%s/old-keys", w->hq.root);
    snprintf(old_cert, sizeof old_cert, "%s/halls/AUTO1.old.key", w->hq.keys);
    s_keep_keys(h, old_keys);
    char before[HB_CERT_KEY_Z85], after[HB_CERT_KEY_Z85], path[600];
    s_hall_key(h->dir, before);
    s_hall_args(h, "12s");
    hbt_hall_start(h);
    json_t *r = s_status(h, "rotation");
    assert_true(json_is_true(json_object_get(r, "automatic")));
    assert_int_equal(hbt_int(r, "rotate_before_s"), 12);
    assert_string_equal(hbt_str(r, "state"), "scheduled");
    assert_true(json_is_string(json_object_get(json_object_get(r, "certificate"), "not_after")));
    json_decref(r);
    /* Events flow all along: 20 every 100 ms until the hall has rotated,
     * and a second more. */
    int64_t deadline = hbt_now_ms() + 25000, rotated_at = 0;
    int tag = 1;
    while (hbt_now_ms() < deadline) {
        hbt_hall_post(h, 20, tag++);
        hbt_sleep_ms(100);
        if (!rotated_at) {
            r = s_status(h, "rotation");
            if (hbt_int(r, "rotations") == 1)
                rotated_at = hbt_now_ms();
            json_decref(r);
        } else if (hbt_now_ms() - rotated_at > 1000) {
            break;
        }
    }
    if (!rotated_at)
        fail_msg("the hall did not rotate by itself (rotation state %s)",
                 s_rotation_state(h, state_now, sizeof state_now));
    printf("  rotated by itself, %d batches of 20 events posted meanwhile\n", tag - 1);
    assert_true(hbt_wait_synced(&w->hq, h, 15000));
    hbt_assert_synced(&w->hq, h); /* same count, same digest: nothing lost or doubled */
    /* The new key is the hall's, and HQ has its certificate. */
    s_hall_key(h->dir, after);
    assert_string_not_equal(after, before);
    snprintf(path, sizeof path, "%s/hall.next.key", h->dir);
    assert_int_not_equal(access(path, F_OK), 0); /* the next pair became the pair */
    json_t *hall = hbt_req(w->hq.http, "GET", "/v1/halls/AUTO1", NULL, 200);
    json_t *cert = json_object_get(hall, "certificate");
    assert_true(hbt_int(cert, "serial") >= 2);
    assert_string_equal(hbt_str(json_object_get(hall, "link"), "state"), "ok");
    json_decref(hall);
    assert_true(s_audited(w, "AUTO1", "key_rotated", after));
    /* The old key was retired at the new one's first handshake: it gets in
     * no more. */
    int64_t until = hbt_now_ms() + 3000;
    while (access(old_cert, F_OK) == 0 && hbt_now_ms() < until)
        hbt_sleep_ms(20);
    assert_int_not_equal(access(old_cert, F_OK), 0);
    hbt_raw_t *raw = hbt_raw_connect(w->hq.endpoint, old_keys);
    assert_non_null(raw);
    assert_int_equal(hbt_raw_hello(raw), -1);
    hbt_raw_close(&raw);
    /* And the hall keeps going on the new key. */
    hbt_hall_post(h, 50, 999);
    assert_true(hbt_wait_synced(&w->hq, h, 10000));
    hbt_assert_synced(&w->hq, h);
}

/* A connection the old key opened before the rotation and that speaks
 * after the hall came back with its new key (in CI, a frame of the hall's
 * own old session still queued at HQ): that message is refused, and the
 * hall's new session goes on. It used to mark the whole hall revoked, and
 * every message of the new key was then refused until HQ's key table
 * changed again: the hall stood still, silently. */
HBT_TEST(test_old_session_speaking_after_rotation_does_not_cut_the_new_one)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = s_one_hall(w, "STALE1");
    char old_keys[400], old_cert[400];
    snprintf(old_keys, sizeof old_keys, "%s/stale-keys", w->hq.root);
    snprintf(old_cert, sizeof old_cert, "%s/halls/STALE1.old.key", w->hq.keys);
    s_keep_keys(h, old_keys);
    s_hall_args(h, "12s");
    hbt_hall_start(h);
    hbt_raw_t *raw = hbt_raw_connect(w->hq.endpoint, old_keys);
    assert_non_null(raw);
    assert_true(hbt_raw_hello(raw) >= 0); /* in, with the key of the day */
    hbt_hall_post(h, 20, 1);
    int64_t until = hbt_now_ms() + 25000;
    int rotations = 0;
    while (rotations == 0 && hbt_now_ms() < until) {
        json_t *r = s_status(h, "rotation");
        rotations = (int)hbt_int(r, "rotations");
        json_decref(r);
        hbt_sleep_ms(100);
    }
    assert_int_equal(rotations, 1);
    /* The new key's first handshake retires the old one. */
    until = hbt_now_ms() + 5000;
    while (access(old_cert, F_OK) == 0 && hbt_now_ms() < until)
        hbt_sleep_ms(20);
    assert_int_not_equal(access(old_cert, F_OK), 0);
    hbt_hall_post(h, 20, 2);
    assert_true(hbt_wait_synced(&w->hq, h, 10000));
    /* The old session speaks until HQ's key table, read again within a
     * second of the retirement, refuses it by name. */
    Hallbus__Frame *rej = NULL;
    until = hbt_now_ms() + 5000;
    while (!rej && hbt_now_ms() < until) {
        Hallbus__Heartbeat hb = HALLBUS__HEARTBEAT__INIT;
        hb.sent_at_ms = hbt_now_ms();
        Hallbus__Frame f = HALLBUS__FRAME__INIT;
        f.kind_case = HALLBUS__FRAME__KIND_HEARTBEAT;
        f.heartbeat = &hb;
        assert_int_equal(hbt_raw_send_frame(raw, &f), 0);
        Hallbus__Frame *got = hbt_raw_recv(raw, 300);
        if (got && got->kind_case == HALLBUS__FRAME__KIND_REJECT)
            rej = got;
        else if (got)
            hallbus__frame__free_unpacked(got, NULL);
    }
    assert_non_null(rej);
    assert_int_equal(rej->reject->code, HALLBUS__REJECT_CODE__REJECT_CODE_REVOKED);
    hallbus__frame__free_unpacked(rej, NULL);
    hbt_raw_close(&raw);
    /* The hall's own session was not touched: its events keep flowing,
     * and neither side calls it revoked. */
    hbt_hall_post(h, 50, 3);
    assert_true(hbt_wait_synced(&w->hq, h, 10000));
    hbt_assert_synced(&w->hq, h);
    json_t *link = s_status(h, "link");
    assert_string_equal(hbt_str(link, "state"), "connected");
    json_decref(link);
    json_t *hall = hbt_req(w->hq.http, "GET", "/v1/halls/STALE1", NULL, 200);
    assert_string_equal(hbt_str(json_object_get(hall, "link"), "state"), "ok");
    json_decref(hall);
}

/* A request made with `cur_dir`'s pair (current) and a fresh pair for
 * `hall`, proved for HQ's key in `cur_dir`/hq.key; `current_key`, when not
 * NULL, is put in as the current key after the proofs (a lie). */
static void s_request(const char *cur_dir, const char *hall, const char *current_key, char *text,
                      size_t len)
{
    char path[600], err[256];
    hb_cert_t cur, hq, fresh;
    snprintf(path, sizeof path, "%s/hall.key", cur_dir);
    assert_int_equal(hb_cert_load(path, &cur, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/hq.key", cur_dir);
    assert_int_equal(hb_cert_load_public(path, &hq, err, sizeof err), 0);
    assert_int_equal(hb_cert_generate(&fresh), 0);
    hb_enrol_request_t req;
    assert_int_equal(hb_enrol_request_init(&req, HB_ENROL_ROTATE, hall, fresh.public_key, NULL,
                                           NULL, err, sizeof err),
                     0);
    snprintf(req.current_key, sizeof req.current_key, "%s", cur.public_key);
    assert_int_equal(hb_enrol_request_prove(&req, cur.secret_key, fresh.secret_key, hq.public_key,
                                            err, sizeof err),
                     0);
    if (current_key)
        snprintf(req.current_key, sizeof req.current_key, "%s", current_key);
    assert_int_equal(hb_enrol_request_format(&req, text, len), 0);
}

/* Sends a RotateRequest over `raw` and returns HQ's answer (NULL on none). */
static Hallbus__Frame *s_ask(hbt_raw_t *raw, const char *text)
{
    Hallbus__RotateRequest rr = HALLBUS__ROTATE_REQUEST__INIT;
    rr.request = (char *)text;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_ROTATE_REQUEST;
    f.rotate_request = &rr;
    assert_int_equal(hbt_raw_send_frame(raw, &f), 0);
    return hbt_raw_expect(raw, HALLBUS__FRAME__KIND_ROTATE_ANSWER, 3000);
}

static void s_expect_refusal(hbt_raw_t *raw, const char *text, const char *code, const char *reason)
{
    Hallbus__Frame *a = s_ask(raw, text);
    if (!a)
        fail_msg("no answer to a request that should be refused as %s", code);
    assert_false(a->rotate_answer->granted);
    assert_string_equal(a->rotate_answer->code, code);
    if (!strstr(a->rotate_answer->reason, reason))
        fail_msg("refusal \"%s\" lacks \"%s\"", a->rotate_answer->reason, reason);
    assert_string_equal(a->rotate_answer->certificate, "");
    hb_frame_free(a);
}

HBT_TEST(test_rotation_requests_over_the_link_that_are_refused)
{
    hbt_world_t *w = *state;
    s_org(w);
    hbt_hall_t *a = &w->hall[0], *b = &w->hall[1];
    hbt_hall_enroll_signed(&w->hq, a, "RA", "C1");
    hbt_hall_enroll_signed(&w->hq, b, "RB", "C1");
    w->n_halls = 2;
    hbt_raw_t *raw = hbt_raw_connect(w->hq.endpoint, a->dir);
    assert_non_null(raw);
    assert_true(hbt_raw_hello(raw) >= 0);
    char text[HB_ENROL_REQUEST_MAX], b_key[HB_CERT_KEY_Z85], err[256];
    s_hall_key(b->dir, b_key);

    /* Hall RB's own, well-proved request, sent over RA's connection. */
    s_request(b->dir, "RB", NULL, text, sizeof text);
    s_expect_refusal(raw, text, "wrong_hall", "over hall RA's connection");
    /* RA's request made with RB's key: its current key is not the key
     * this connection authenticated with. */
    s_request(b->dir, "RA", NULL, text, sizeof text);
    s_expect_refusal(raw, text, "bad_proof", "not the key this connection authenticated with");
    /* RA's key named as the current one, the proofs made with RB's: */
    char ra_key[HB_CERT_KEY_Z85];
    s_hall_key(a->dir, ra_key);
    s_request(b->dir, "RA", ra_key, text, sizeof text);
    s_expect_refusal(raw, text, "bad_proof", "proof");
    /* Not a request at all; a first enrolment instead of a rotation. */
    s_expect_refusal(raw, "hello\n", "malformed_request", "malformed request");
    hb_enrol_request_t first;
    assert_int_equal(
        hb_enrol_request_init(&first, HB_ENROL_NEW, "RA", b_key, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(hb_enrol_request_format(&first, text, sizeof text), 0);
    s_expect_refusal(raw, text, "wrong_kind", "not a rotation");
    /* Refusals change nothing: RA's certificate is the one it had. */
    json_t *hall = hbt_req(w->hq.http, "GET", "/v1/halls/RA", NULL, 200);
    assert_int_equal(hbt_int(json_object_get(hall, "certificate"), "serial"), 1);
    json_decref(hall);
    assert_true(s_audited(w, "RA", "key_rotation_refused", "bad_proof"));
    assert_true(s_audited(w, "RA", "key_rotation_refused", "over hall RA's connection"));
    /* A good request is granted on the same connection, and asked again
     * (its answer lost) gets the same certificate, not a third key. */
    s_request(a->dir, "RA", NULL, text, sizeof text);
    Hallbus__Frame *ok = s_ask(raw, text);
    assert_non_null(ok);
    assert_true(ok->rotate_answer->granted);
    assert_non_null(strstr(ok->rotate_answer->certificate, "serial = \"3\""));
    hb_frame_free(ok);
    ok = s_ask(raw, text);
    assert_non_null(ok);
    assert_true(ok->rotate_answer->granted);
    assert_non_null(strstr(ok->rotate_answer->certificate, "serial = \"3\""));
    hb_frame_free(ok);
    hbt_raw_close(&raw);

    /* A revoked hall's key: its connection is told it is revoked, and no
     * rotation is even looked at. */
    raw = hbt_raw_connect(w->hq.endpoint, b->dir);
    assert_non_null(raw);
    assert_true(hbt_raw_hello(raw) >= 0);
    hbt_req_ok(w->hq.http, "POST", "/v1/halls/RB/revoke", "{}", 200);
    s_request(b->dir, "RB", NULL, text, sizeof text);
    Hallbus__RotateRequest rr = HALLBUS__ROTATE_REQUEST__INIT;
    rr.request = text;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_ROTATE_REQUEST;
    f.rotate_request = &rr;
    assert_int_equal(hbt_raw_send_frame(raw, &f), 0);
    Hallbus__Frame *rej = hbt_raw_expect(raw, HALLBUS__FRAME__KIND_REJECT, 3000);
    assert_non_null(rej);
    assert_int_equal(rej->reject->code, HALLBUS__REJECT_CODE__REJECT_CODE_REVOKED);
    hb_frame_free(rej);
    hbt_raw_close(&raw);
    /* Its certificate is gone from the list once the ZAP table is read
     * again (within its watch interval). */
    bool gone = false;
    for (int64_t until = hbt_now_ms() + 3000; !gone && hbt_now_ms() < until; hbt_sleep_ms(50)) {
        hall = hbt_req(w->hq.http, "GET", "/v1/halls/RB", NULL, 200);
        gone = json_is_null(json_object_get(hall, "certificate"));
        assert_string_equal(hbt_str(json_object_get(hall, "link"), "state"), "revoked");
        json_decref(hall);
    }
    assert_true(gone);
}

/* HQ's policy off (rotate_auto = false): the hall's request is refused, the
 * hall shows it and asks again; with the policy back on it rotates with
 * nobody touching it. */
HBT_TEST(test_refused_rotation_shows_and_is_asked_again)
{
    hbt_world_t *w = *state;
    s_org(w);
    hbt_hq_stop(&w->hq, SIGTERM);
    int n_extra = w->hq.n_extra;
    hbt_hq_arg(&w->hq, "--rotate_auto", "false");
    hbt_hq_start(&w->hq);
    hbt_hall_t *h = &w->hall[0];
    hbt_hall_enroll_signed(&w->hq, h, "MAN1", "C1");
    w->n_halls = 1;
    s_hall_args(h, "19s");
    hbt_hall_start(h);
    char st[32];
    /* The answer follows a synced audit record at HQ: on a busy disk that
     * can take seconds. */
    int64_t until = hbt_now_ms() + 25000;
    while (strcmp(s_rotation_state(h, st, sizeof st), "refused") != 0 && hbt_now_ms() < until)
        hbt_sleep_ms(100);
    if (strcmp(st, "refused") != 0) {
        hbt_print_log_tail(h->proc.log, 30);
        hbt_print_log_tail(w->hq.proc.log, 30);
        fail_msg("the rotation was not refused within 25 s: the hall's state is %s", st);
    }
    json_t *r = s_status(h, "rotation");
    hbt_assert_contains(hbt_str(r, "reason"), "rotation_manual");
    assert_true(hbt_int(r, "refusals") >= 1);
    json_decref(r);
    assert_true(s_audited(w, "MAN1", "key_rotation_refused", "rotate_auto = false"));
    /* HQ with the policy on again: the hall's next try goes through. */
    hbt_hq_stop(&w->hq, SIGTERM);
    w->hq.n_extra = n_extra;
    hbt_hq_start(&w->hq);
    until = hbt_now_ms() + 15000;
    int64_t rotations = 0;
    while (rotations < 1 && hbt_now_ms() < until) {
        hbt_sleep_ms(200);
        r = s_status(h, "rotation");
        rotations = hbt_int(r, "rotations");
        json_decref(r);
    }
    if (rotations < 1)
        fail_msg("no rotation after the policy came back (state %s)",
                 s_rotation_state(h, st, sizeof st));
    hbt_hall_post(h, 30, 1);
    assert_true(hbt_wait_synced(&w->hq, h, 10000));
}

/* A hall that does not rotate (rotate_before 0): cert_expiring 9 s ahead,
 * then "expired" with the time on HQ's side and on the hall's. */
HBT_TEST_STATE(test_hall_that_does_not_rotate_is_warned_then_expired, hbt_world_setup,
               hbt_world_teardown, &s_spec_short)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = s_one_hall(w, "EXP1");
    s_hall_args(h, "0");
    hbt_hall_start(h);
    hbt_hall_post(h, 10, 1);
    assert_true(hbt_wait_synced(&w->hq, h, 10000));
    json_t *r = s_status(h, "rotation");
    assert_false(json_is_true(json_object_get(r, "automatic")));
    assert_string_equal(hbt_str(r, "state"), "off");
    json_decref(r);
    /* The alert comes while the hall is still connected. */
    json_t *al = NULL;
    int64_t until = hbt_now_ms() + 15000;
    while (hbt_now_ms() < until) {
        json_t *list = hbt_get(w->hq.http, "/v1/alerts?state=open&hall=EXP1&kind=cert_expiring");
        al = json_incref(json_array_get(json_object_get(list, "alerts"), 0));
        json_decref(list);
        if (al)
            break;
        hbt_sleep_ms(200);
    }
    if (!al)
        fail_msg("no cert_expiring alert for hall EXP1");
    json_t *params = json_object_get(al, "params");
    assert_int_equal(hbt_int(params, "warn_s"), SHORT_WARN_S);
    assert_true(hbt_int(params, "expires_in_s") <= SHORT_WARN_S);
    hbt_assert_contains(hbt_str(al, "detail"), "has not rotated");
    json_decref(al);
    json_t *hall = hbt_req(w->hq.http, "GET", "/v1/halls/EXP1", NULL, 200);
    assert_string_equal(hbt_str(json_object_get(hall, "certificate"), "state"), "expiring");
    char not_after[64];
    snprintf(not_after, sizeof not_after, "%s",
             hbt_str(json_object_get(hall, "certificate"), "not_after"));
    json_decref(hall);
    /* Past its not-after: expired, with its time, on both sides (never
     * "revoked"). */
    const char *state_now = "";
    until = hbt_now_ms() + 25000;
    while (hbt_now_ms() < until) {
        hall = hbt_req(w->hq.http, "GET", "/v1/halls/EXP1", NULL, 200);
        static char s[32];
        snprintf(s, sizeof s, "%s", hbt_str(json_object_get(hall, "link"), "state"));
        state_now = s;
        json_decref(hall);
        if (strcmp(state_now, "expired") == 0)
            break;
        hbt_sleep_ms(200);
    }
    assert_string_equal(state_now, "expired");
    hall = hbt_req(w->hq.http, "GET", "/v1/halls?limit=10", NULL, 200);
    json_t *row = json_array_get(json_object_get(hall, "halls"), 0);
    assert_string_equal(hbt_str(row, "hall"), "EXP1");
    assert_string_equal(hbt_str(json_object_get(row, "link"), "state"), "expired");
    assert_string_equal(hbt_str(json_object_get(row, "certificate"), "state"), "expired");
    assert_string_equal(hbt_str(json_object_get(row, "certificate"), "not_after"), not_after);
    json_decref(hall);
    json_t *link = NULL;
    until = hbt_now_ms() + 10000;
    while (hbt_now_ms() < until) {
        link = s_status(h, "link");
        if (strcmp(hbt_str(link, "state"), "expired") == 0)
            break;
        json_decref(link);
        link = NULL;
        hbt_sleep_ms(100);
    }
    if (!link)
        fail_msg("the hall does not show its link expired");
    json_decref(link);
}

/* A stand-in for HQ (harness.h; no ZAP handler: it takes any key) that
 * welcomes the hall, offering rotation or not as an older hqd does,
 * answers its heartbeats and never answers a rotation request. Runs for
 * `ms` or until `stop_after` requests came; returns how many came, and
 * whether the hall showed `state_seen` meanwhile. */
static int s_fake_serve(hbt_standin_t *f, hbt_hall_t *h, bool offer, int stop_after, int ms,
                        const char *state_seen, bool *seen)
{
    int requests = 0;
    *seen = false;
    int64_t until = hbt_now_ms() + ms;
    while (hbt_now_ms() < until && requests < stop_after) {
        Hallbus__Frame *fr = hbt_standin_recv(f, 100);
        if (fr) {
            Hallbus__Frame out = HALLBUS__FRAME__INIT;
            Hallbus__Welcome wel = HALLBUS__WELCOME__INIT;
            Hallbus__Heartbeat hb = HALLBUS__HEARTBEAT__INIT;
            if (fr->kind_case == HALLBUS__FRAME__KIND_HELLO) {
                wel.committed_seq = fr->hello->last_seq; /* keeps the hall from resending */
                wel.heartbeat_ms = 300;
                wel.rotation = offer;
                out.kind_case = HALLBUS__FRAME__KIND_WELCOME;
                out.welcome = &wel;
            } else if (fr->kind_case == HALLBUS__FRAME__KIND_HEARTBEAT) {
                hb.last_seq = fr->heartbeat->last_seq;
                out.kind_case = HALLBUS__FRAME__KIND_HEARTBEAT;
                out.heartbeat = &hb;
            } else if (fr->kind_case == HALLBUS__FRAME__KIND_ROTATE_REQUEST) {
                requests++;
                hbt_assert_contains(fr->rotate_request->request, "kind = rotate");
                hbt_assert_contains(fr->rotate_request->request, "hall = ");
            }
            if (out.kind_case != HALLBUS__FRAME__KIND__NOT_SET)
                hbt_standin_reply(f, &out);
            hb_frame_free(fr);
        }
        if (!*seen) {
            char st[32];
            *seen = strcmp(s_rotation_state(h, st, sizeof st), state_seen) == 0;
        }
    }
    return requests;
}

/* A hall due to rotate at once (rotate_before 19s of a 20 s certificate),
 * enrolled at the real HQ and then started against the stand-in, served
 * as s_fake_serve says: it must have sent `want` requests and shown
 * `state_seen`. Its rotation status then (owned); the hall is stopped
 * before its stand-in. */
static json_t *s_fake_rotation(hbt_world_t *w, const char *id, bool offer, int stop_after, int ms,
                               const char *state_seen, int want)
{
    hbt_hall_t *h = s_one_hall(w, id);
    hbt_standin_t *f =
        hbt_standin_start(&w->hq, "tcp://127.0.0.1:*", h->hq_endpoint, sizeof h->hq_endpoint);
    s_hall_args(h, "19s");
    hbt_hall_start(h);
    bool seen = false;
    assert_int_equal(s_fake_serve(f, h, offer, stop_after, ms, state_seen, &seen), want);
    if (!seen)
        fail_msg("hall %s never showed its rotation %s", id, state_seen);
    json_t *r = s_status(h, "rotation");
    hbt_hall_stop(h, SIGTERM);
    hbt_standin_stop(&f);
    return r;
}

/* An HQ that offers rotation and never answers it: the hall shows the
 * request unanswered and asks again after its backoff. */
HBT_TEST(test_unanswered_rotation_is_asked_again)
{
    json_t *r = s_fake_rotation(*state, "SIL1", true, 2, 15000, "unanswered", 2);
    assert_true(hbt_int(r, "unanswered") >= 1);
    assert_int_equal(hbt_int(r, "rotations"), 0);
    json_decref(r);
}

/* An older HQ (its Welcome offers no rotation): the hall sends nothing it
 * would not understand and says it waits for a rotation by hand. */
HBT_TEST(test_older_hq_gets_no_rotation_request)
{
    json_t *r = s_fake_rotation(*state, "OLD1", false, 1, 4000, "waiting", 0);
    hbt_assert_contains(hbt_str(r, "reason"), "does not take rotations over the link");
    assert_int_equal(hbt_int(r, "requests"), 0);
    json_decref(r);
}
