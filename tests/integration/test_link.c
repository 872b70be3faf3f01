/* The link's promises with real processes on loopback: events arrive whole
 * and in order; bad input on the local API and on the wire is refused with a
 * reason while other halls carry on; events of a kind HQ does not know are
 * stored as they came; only enrolled keys get in and a hall can only write
 * its own stream; an interrupted ack causes a resend that is not stored
 * twice; a hall restarted behind a half-open connection is served at once. */
#include "harness.h"

#include "hallbus/codec.h"
#include "hallbus/cert.h"
#include "hallbus/digest.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "runner.h"
#include "world.h"

static int64_t s_hq_last(hbt_world_t *w, const char *hall)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/%s", hall);
    json_t *h = hbt_get(w->hq.http, path);
    int64_t v = h ? hbt_int(h, "last_seq") : -1;
    json_decref(h);
    return v;
}

static const hbt_world_spec_t s_world = {.tag = "link", .halls = {"HALL-A", "HALL-B"}};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

HBT_TEST(test_events_arrive_whole_and_decoded)
{
    hbt_world_t *w = *state;
    hbt_hall_start(&w->hall[0]);
    const char *one = "{\"type\":\"complaint_opened\",\"complaint\":\"C1\",\"channel\":\"phone\","
                      "\"category\":\"waiting_time\",\"severity\":\"high\",\"text\":\"too long\"}";
    json_t *resp = NULL;
    assert_int_equal(hbt_http(w->hall[0].http, "POST", "/v1/events", one, &resp), 200);
    /* The hall's day began first, with an event of its own. */
    int64_t seq = hbt_int(resp, "seq");
    assert_true(seq >= 2);
    json_decref(resp);
    uint64_t last = hbt_hall_post(&w->hall[0], 1200, 1);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 20000));
    assert_int_equal(last, 1200 + 1 + hbt_hq_count_type(&w->hq, "HALL-A", "day_started"));

    char path[128];
    snprintf(path, sizeof path, "/v1/halls/HALL-A/events?from=%lld&limit=2", (long long)seq - 1);
    json_t *ev = hbt_get(w->hq.http, path);
    assert_non_null(ev);
    json_t *arr = json_object_get(ev, "events");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "type")),
                        "day_started");
    json_t *first = json_array_get(arr, 1);
    assert_string_equal(json_string_value(json_object_get(first, "type")), "complaint_opened");
    assert_string_equal(json_string_value(json_object_get(first, "channel")), "phone");
    assert_string_equal(json_string_value(json_object_get(first, "severity")), "high");
    assert_int_equal(hbt_int(first, "seq"), seq);
    assert_int_equal(hbt_int(ev, "next"), seq + 1);
    json_decref(ev);
    /* A page from the middle of a stored chunk: one POST's events are
     * numbered together, so tickets follow sequences one for one there. */
    ev = hbt_get(w->hq.http, "/v1/halls/HALL-A/events?from=777&limit=3");
    assert_non_null(ev);
    arr = json_object_get(ev, "events");
    assert_int_equal(json_array_size(arr), 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(hbt_int(json_array_get(arr, i), "seq"), 777 + (int64_t)i);
    const char *t0 = json_string_value(json_object_get(json_array_get(arr, 0), "ticket"));
    const char *t2 = json_string_value(json_object_get(json_array_get(arr, 2), "ticket"));
    assert_non_null(t0);
    assert_non_null(t2);
    assert_int_equal(atoi(t2 + 3), atoi(t0 + 3) + 2);
    json_decref(ev);

    json_t *halls = hbt_get(w->hq.http, "/v1/halls");
    assert_non_null(halls);
    assert_int_equal(hbt_int(halls, "total"), 1);
    json_t *h0 = json_array_get(json_object_get(halls, "halls"), 0);
    assert_string_equal(json_string_value(json_object_get(h0, "hall")), "HALL-A");
    assert_true(json_is_true(json_object_get(h0, "online")));
    assert_true(json_is_string(json_object_get(h0, "last_seen")));
    json_decref(halls);
}

HBT_TEST(test_small_posts_while_acks_flow_never_refused)
{
    hbt_world_t *w = *state;
    hbt_hall_start(&w->hall[0]);
    /* Thousands of one-event posts: acks arrive while batches are being
     * sent, the case that once advanced the send point past a gap. */
    for (int i = 0; i < 3000; i++) {
        char body[160];
        snprintf(body, sizeof body,
                 "{\"type\":\"ticket_issued\",\"ticket\":\"S%d\",\"service\":\"A\"}", i);
        assert_int_equal(hbt_http(w->hall[0].http, "POST", "/v1/events", body, NULL), 200);
    }
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 20000));
    json_t *st = hbt_get(w->hq.http, "/v1/status");
    assert_int_equal(hbt_int(json_object_get(st, "ingest"), "refused"), 0);
    json_decref(st);
}

HBT_TEST(test_local_api_refuses_bad_events)
{
    hbt_world_t *w = *state;
    hbt_hall_start(&w->hall[0]);
    uint64_t stored = hbt_hall_post(&w->hall[0], 10, 2);
    assert_true(stored >= 10);
    static const struct {
        const char *body;
        const char *needle;
    } bad[] = {
        {"{\"type\":", "not valid JSON"},
        {"[]", "1 to"},
        {"42", "event object or an array"},
        {"{\"type\":\"ticket_exploded\",\"ticket\":\"A1\"}", "ticket_exploded"},
        {"{\"ticket\":\"A1\"}", "type"},
        {"{\"type\":\"ticket_issued\",\"ticket\":\"A1\",\"colour\":\"red\"}", "colour"},
        {"{\"type\":\"ticket_issued\",\"priority\":\"urgent\"}", "urgent"},
        {"{\"type\":\"ticket_issued\",\"seq\":5}", "seq"},
        {"{\"type\":\"satisfaction_scored\",\"score\":-1}", "score"},
        {"{\"type\":\"ticket_issued\",\"at\":\"yesterday\"}", "at"},
        {"[{\"type\":\"ticket_issued\",\"ticket\":\"A1\",\"service\":\"A\"},{\"type\":\"nope\"}]",
         "event 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *resp = NULL;
        int status = hbt_http(w->hall[0].http, "POST", "/v1/events", bad[i].body, &resp);
        assert_int_equal(status, 400);
        const char *reason = json_string_value(json_object_get(resp, "reason"));
        assert_non_null(reason);
        if (!strstr(reason, bad[i].needle))
            fail_msg("refusal of %s says '%s', which does not name '%s'", bad[i].body, reason,
                     bad[i].needle);
        json_decref(resp);
    }
    /* Nothing of any refused request was stored. */
    json_t *st = hbt_get(w->hall[0].http, "/v1/status");
    /* (A new day could have started meanwhile: that is the hall's own.) */
    int64_t after = hbt_int(st, "last_seq");
    json_decref(st);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 10000));
    assert_int_equal(after, 10 + hbt_hq_count_type(&w->hq, "HALL-A", "day_started"));
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 10000));
}

/* Bytes of an envelope with seq `seq` whose body is an event kind this build
 * does not know (field 99), plus a known event with an unknown extra field. */
static size_t s_future_event(uint64_t seq, bool unknown_kind, uint8_t *out)
{
    uint8_t *inner;
    size_t ilen;
    if (unknown_kind) {
        /* Only seq and time are known fields: the body is a kind from the future. */
        Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT;
        env.seq = seq;
        env.at_ms = (int64_t)time(NULL) * 1000;
        assert_int_equal(hb_envelope_pack(&env, &inner, &ilen), 0);
    } else {
        ilen = hbt_envelope_bytes(seq, (int64_t)time(NULL) * 1000, &inner);
    }
    memcpy(out, inner, ilen);
    free(inner);
    size_t n = ilen;
    if (unknown_kind) {
        /* Replace nothing: append field 99 (length-delimited) with a small
         * message inside; a newer hall's kind that this HQ has never seen. */
        out[n++] = (uint8_t)((99 << 3) | 2) | 0x80;
        out[n++] = (uint8_t)(99 >> 4);
        out[n++] = 4;
        out[n++] = 0x0a; /* field 1, string */
        out[n++] = 2;
        out[n++] = 'h';
        out[n++] = 'i';
    } else {
        out[n++] = (uint8_t)(77 << 3) | 0x80; /* field 77, varint */
        out[n++] = (uint8_t)(77 >> 4);
        out[n++] = 42;
    }
    return n;
}

HBT_TEST(test_wire_refusals_and_unknown_kinds)
{
    hbt_world_t *w = *state;
    /* Hall B runs normally throughout: its traffic must be unaffected. */
    hbt_hall_start(&w->hall[1]);
    hbt_raw_t *raw = hbt_raw_fresh(w->hq.endpoint, w->hall[0].dir);

    uint8_t junk[512];
    srand(7);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)rand();
    struct {
        const char *what;
        int code;
    } expect[8];
    int n = 0;

    assert_int_equal(hbt_raw_send_bytes(raw, junk, sizeof junk), 0);
    expect[n++] = (typeof(expect[0])){"random bytes", HALLBUS__REJECT_CODE__REJECT_CODE_MALFORMED};
    /* A valid batch frame cut in half. */
    uint8_t *ev;
    size_t evlen = hbt_envelope_bytes(1, (int64_t)time(NULL) * 1000, &ev);
    ProtobufCBinaryData item = {evlen, ev};
    uint8_t *fb;
    size_t flen;
    assert_int_equal(hb_batch_pack(&item, 1, &fb, &flen), 0);
    assert_int_equal(hbt_raw_send_bytes(raw, fb, flen / 2), 0);
    expect[n++] = (typeof(expect[0])){"truncated", HALLBUS__REJECT_CODE__REJECT_CODE_MALFORMED};
    free(fb);
    free(ev);
    /* Oversized: over max_frame (1 MiB) but under the hard cap. */
    size_t big = (1 << 20) + 1000;
    uint8_t *huge = calloc(1, big);
    assert_int_equal(hbt_raw_send_bytes(raw, huge, big), 0);
    free(huge);
    expect[n++] = (typeof(expect[0])){"oversized", HALLBUS__REJECT_CODE__REJECT_CODE_TOO_LARGE};
    /* Far ahead of what HQ holds. */
    assert_int_equal(hbt_raw_send_batch(raw, 1000000, 3), 0);
    expect[n++] = (typeof(expect[0])){"far ahead", HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE};
    /* Zero. */
    assert_int_equal(hbt_raw_send_batch(raw, 0, 1), 0);
    expect[n++] = (typeof(expect[0])){"zero", HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE};

    /* Well-formed protobuf, but a ticket id no conforming hall can send. */
    {
        char longid[201];
        memset(longid, 'X', 200);
        longid[200] = '\0';
        Hallbus__TicketIssued t = HALLBUS__TICKET_ISSUED__INIT;
        t.ticket = longid;
        Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT;
        env.seq = 1;
        env.at_ms = (int64_t)time(NULL) * 1000;
        env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_ISSUED;
        env.ticket_issued = &t;
        uint8_t *eb;
        size_t elen;
        assert_int_equal(hb_envelope_pack(&env, &eb, &elen), 0);
        ProtobufCBinaryData one = {elen, eb};
        assert_int_equal(hbt_raw_send_events(raw, &one, 1), 0);
        free(eb);
        expect[n++] =
            (typeof(expect[0])){"200-byte ticket id", HALLBUS__REJECT_CODE__REJECT_CODE_BAD_FIELD};
    }

    for (int i = 0; i < n; i++) {
        Hallbus__Frame *r = hbt_raw_expect(raw, HALLBUS__FRAME__KIND_REJECT, 5000);
        if (!r)
            fail_msg("no refusal for %s", expect[i].what);
        if ((int)r->reject->code != expect[i].code)
            fail_msg("%s refused with code %d (%s), expected %d", expect[i].what,
                     (int)r->reject->code, r->reject->reason, expect[i].code);
        assert_true(r->reject->reason && strlen(r->reject->reason) > 10);
        hb_frame_free(r);
    }
    /* Nothing of that was stored. */
    assert_true(s_hq_last(w, "HALL-A") == 0);

    /* A newer hall's events: an unknown kind and an unknown field. They are
     * stored as they came and acknowledged, never refused. */
    uint8_t e1[256], e2[256], e3[256];
    size_t l1 = s_future_event(1, true, e1), l2 = s_future_event(2, false, e2);
    uint8_t *plain;
    size_t l3 = hbt_envelope_bytes(3, (int64_t)time(NULL) * 1000, &plain);
    memcpy(e3, plain, l3);
    free(plain);
    ProtobufCBinaryData items[3] = {{l1, e1}, {l2, e2}, {l3, e3}};
    assert_int_equal(hbt_raw_send_events(raw, items, 3), 0);
    Hallbus__Frame *ack = hbt_raw_expect(raw, HALLBUS__FRAME__KIND_ACK, 5000);
    assert_non_null(ack);
    assert_int_equal(ack->ack->committed_seq, 3);
    hb_frame_free(ack);
    hb_digest_t d;
    hb_digest_init(&d);
    hb_digest_step(&d, e1, l1);
    hb_digest_step(&d, e2, l2);
    hb_digest_step(&d, e3, l3);
    char hex[HB_DIGEST_HEX];
    hb_digest_hex(&d, hex);
    json_t *h = hbt_get(w->hq.http, "/v1/halls/HALL-A");
    assert_string_equal(json_string_value(json_object_get(h, "stream_digest")), hex);
    assert_int_equal(hbt_int(h, "events"), 3);
    json_decref(h);
    json_t *evs = hbt_get(w->hq.http, "/v1/halls/HALL-A/events");
    json_t *arr = json_object_get(evs, "events");
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "type")),
                        "unknown");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "type")),
                        "ticket_issued");
    json_decref(evs);

    json_t *st = hbt_get(w->hq.http, "/v1/status");
    json_t *ing = json_object_get(st, "ingest");
    assert_true(hbt_int(ing, "refused") >= n);
    assert_int_equal(hbt_int(ing, "events_unknown_kind"), 1);
    json_decref(st);
    hbt_raw_close(&raw);

    /* Hall B's traffic went on regardless. */
    hbt_hall_post(&w->hall[1], 500, 3);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[1], 15000));
    assert_true(hbt_alive(&w->hq.proc));
}

/* A key pair HQ has never seen, with HQ's real public key, in the folder
 * `name` under the world's (written to `dir`); it claims to be hall
 * `claims` when that is not NULL. */
static void s_stranger(hbt_world_t *w, const char *name, const char *claims, char *dir, size_t len)
{
    snprintf(dir, len, "%s/%s", w->root, name);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/hq.key %s/", dir, w->hall[0].dir, dir);
    assert_int_equal(system(cmd), 0);
    hb_cert_t c;
    assert_int_equal(hb_cert_generate(&c), 0);
    if (claims)
        assert_int_equal(hb_cert_set_meta(&c, "hall", claims), 0);
    char path[500];
    snprintf(path, sizeof path, "%s/hall.key", dir);
    assert_int_equal(hb_cert_save(&c, path, true), 0);
}

HBT_TEST(test_unenrolled_key_gets_nothing_in)
{
    hbt_world_t *w = *state;
    /* A key pair HQ has never seen, with HQ's real public key. */
    char dir[400];
    s_stranger(w, "stranger", "HALL-A", dir, sizeof dir); /* claims to be A */

    hbt_raw_t *raw = hbt_raw_connect(w->hq.endpoint, dir);
    assert_int_equal(hbt_raw_hello(raw), -1); /* never welcomed */
    hbt_raw_send_batch(raw, 1, 5);            /* may not even be taken: no connection */
    assert_null(hbt_raw_recv(raw, 1000));
    hbt_raw_close(&raw);
    assert_true(s_hq_last(w, "HALL-A") <= 0);
    json_t *st = hbt_get(w->hq.http, "/v1/status");
    assert_true(hbt_int(json_object_get(st, "auth"), "denied") > 0);
    assert_int_equal(hbt_int(st, "halls"), 0);
    json_decref(st);
}

HBT_TEST(test_zap_guards_the_socket_from_the_start)
{
    hbt_world_t *w = *state;
    /* A stranger keeps knocking before hqd even starts, and while it starts:
     * there is no moment at which the CURVE socket takes an unknown key. */
    hbt_hq_stop(&w->hq, SIGTERM);
    char dir[400];
    s_stranger(w, "stranger2", NULL, dir, sizeof dir);
    hbt_raw_t *raw = hbt_raw_connect(w->hq.endpoint, dir);
    hbt_hq_start(&w->hq);
    assert_int_equal(hbt_raw_hello(raw), -1);
    hbt_raw_close(&raw);
    json_t *st = hbt_get(w->hq.http, "/v1/status");
    assert_true(hbt_int(json_object_get(st, "auth"), "denied") > 0);
    assert_int_equal(hbt_int(json_object_get(st, "auth"), "allowed"), 0);
    assert_int_equal(hbt_int(st, "halls"), 0);
    json_decref(st);
}

HBT_TEST(test_hall_cannot_write_another_halls_stream)
{
    hbt_world_t *w = *state;
    /* B's key, and a payload that (if anything in it counted) would be A's:
     * events go to B, because identity is the key. */
    hbt_raw_t *raw = hbt_raw_fresh(w->hq.endpoint, w->hall[1].dir);
    hbt_raw_send_acked(raw, 1, 10, 0);
    hbt_raw_close(&raw);
    assert_int_equal(s_hq_last(w, "HALL-B"), 10);
    assert_true(s_hq_last(w, "HALL-A") <= 0);
}

HBT_TEST(test_sighup_reloads_what_may_change)
{
    hbt_world_t *w = *state;
    /* The config file hallctl wrote, plus a reloadable setting. */
    char conf[400], cmd[1400];
    snprintf(conf, sizeof conf, "%s/branchd.conf", w->hall[0].dir);
    snprintf(cmd, sizeof cmd, "echo 'retention = 7d' >> %s", conf);
    assert_int_equal(system(cmd), 0);
    hbt_hall_arg(&w->hall[0], "--config", "%s", conf);
    hbt_hall_start(&w->hall[0]);
    snprintf(cmd, sizeof cmd, "sed -i 's/retention = 7d/retention = 2d/' %s", conf);
    assert_int_equal(system(cmd), 0);
    kill(w->hall[0].proc.pid, SIGHUP);
    assert_true(hbt_wait_log(w->hall[0].proc.log, "configuration reloaded", 5000));
    /* A setting that needs a restart: refused whole, the hall runs on. */
    snprintf(cmd, sizeof cmd, "echo 'window = 8' >> %s", conf);
    assert_int_equal(system(cmd), 0);
    kill(w->hall[0].proc.pid, SIGHUP);
    assert_true(hbt_wait_log(w->hall[0].proc.log, "reload refused", 5000));
    assert_true(hbt_log_has(w->hall[0].proc.log, "window"));
    hbt_hall_post(&w->hall[0], 10, 7);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 10000));
}

HBT_TEST(test_keys_enrolled_while_running_are_admitted)
{
    hbt_world_t *w = *state;
    hbt_hall_t late;
    hbt_hall_enroll(&w->hq, &late, "HALL-LATE");
    hbt_hall_start(&late);
    hbt_hall_post(&late, 50, 4);
    assert_true(hbt_wait_synced(&w->hq, &late, 15000));
    hbt_hall_stop(&late, SIGTERM);
}

HBT_TEST(test_interrupted_ack_resend_not_stored_twice)
{
    hbt_world_t *w = *state;
    hbt_raw_t *raw = hbt_raw_fresh(w->hq.endpoint, w->hall[0].dir);
    /* One timestamp for both sends: a resend must be the same bytes (HQ
     * refuses a resend that differs as a conflict), and stamping each send
     * with the current second made the two differ whenever a second ended
     * between them. */
    int64_t at_ms = (int64_t)time(NULL) * 1000;
    assert_int_equal(hbt_raw_send_batch_at(raw, 1, 100, at_ms), 0);
    /* HQ commits; the connection is gone before the hall reads the ack. */
    int64_t deadline = hbt_now_ms() + 5000;
    while (s_hq_last(w, "HALL-A") != 100 && hbt_now_ms() < deadline)
        hbt_sleep_ms(20);
    assert_int_equal(s_hq_last(w, "HALL-A"), 100);
    hbt_raw_close(&raw);
    /* The hall never saw the ack, so it resends the same events (and more)
     * on a new connection, without even asking where HQ stands. */
    raw = hbt_raw_connect(w->hq.endpoint, w->hall[0].dir);
    assert_int_equal(hbt_raw_send_batch_at(raw, 1, 150, at_ms), 0);
    Hallbus__Frame *ack = NULL;
    deadline = hbt_now_ms() + 8000;
    while (hbt_now_ms() < deadline) {
        ack = hbt_raw_expect(raw, HALLBUS__FRAME__KIND_ACK, 500);
        if (ack && ack->ack->committed_seq == 150)
            break;
        hb_frame_free(ack);
        ack = NULL;
        hbt_raw_send_batch_at(raw, 1, 150, at_ms); /* the first may have raced the handshake */
    }
    assert_non_null(ack);
    hb_frame_free(ack);
    hbt_raw_close(&raw);
    json_t *h = hbt_get(w->hq.http, "/v1/halls/HALL-A");
    assert_int_equal(hbt_int(h, "last_seq"), 150);
    assert_int_equal(hbt_int(h, "events"), 150);
    json_decref(h);
    json_t *st = hbt_get(w->hq.http, "/v1/status");
    assert_true(hbt_int(json_object_get(st, "ingest"), "events_duplicate") >= 100);
    json_decref(st);
    json_t *evs = hbt_get(w->hq.http, "/v1/halls/HALL-A/events?from=95&limit=10");
    json_t *arr = json_object_get(evs, "events");
    assert_int_equal(json_array_size(arr), 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(hbt_int(json_array_get(arr, i), "seq"), 95 + (int64_t)i);
    json_decref(evs);
}

HBT_TEST(test_restart_behind_half_open_connection)
{
    hbt_world_t *w = *state;
    int hq_port = atoi(strrchr(w->hq.endpoint, ':') + 1);
    hbt_proxy_t *proxy = hbt_proxy_start(hq_port);
    snprintf(w->hall[0].hq_endpoint, sizeof w->hall[0].hq_endpoint, "tcp://127.0.0.1:%d",
             hbt_proxy_port(proxy));
    hbt_hall_start(&w->hall[0]);
    hbt_hall_post(&w->hall[0], 100, 5);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 10000));
    /* Freeze the connection: both ends keep their sockets, nothing flows.
     * To HQ the old connection looks alive (its heartbeat timeout is 10 s). */
    hbt_proxy_freeze(proxy, true);
    hbt_hall_stop(&w->hall[0], SIGKILL);
    /* The hall comes back at once on a new connection straight to HQ. */
    snprintf(w->hall[0].hq_endpoint, sizeof w->hall[0].hq_endpoint, "%s", w->hq.endpoint);
    int64_t t0 = hbt_now_ms();
    hbt_hall_start(&w->hall[0]);
    hbt_hall_post(&w->hall[0], 100, 6);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 5000));
    int64_t took = hbt_now_ms() - t0;
    fprintf(stderr, "restarted hall served again after %lld ms\n", (long long)took);
    hbt_proxy_stop(&proxy);
}
