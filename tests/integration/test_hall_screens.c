/* The routes behind the hall's pages (issue 13), against a real branchd
 * and hqd: the live stream and its resumption across a reconnect and a
 * branchd restart, a ticket's public status by its reference (a wrong
 * check part is a 404, and too many of those a 429) and its QR code, the
 * last open counter kept open unless the duty manager overrides, the
 * counters marked for elderly customers, and the evaluator's score with
 * its reasons, given once. */
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
#include <unistd.h>

#include "runner.h"
#include "world.h"

static const hbt_world_spec_t s_world = {
    .tag = "screens", .halls = {"S1"}, .engine = true, .start = true};
#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

static int s_port(const hbt_hall_t *h)
{
    const char *colon = strrchr(h->http, ':');
    assert_non_null(colon);
    return atoi(colon + 1);
}

/* Opens the stream (resuming after `last_id` when not 0) and reads until
 * `needle`; the socket stays open for more. */
static int s_stream(const hbt_hall_t *h, uint64_t last_id, char *buf, size_t cap, size_t *n,
                    const char *needle)
{
    int fd = hbt_sock_connect(s_port(h));
    char req[256];
    int len = last_id
                  ? snprintf(req, sizeof req,
                             "GET /v1/hall/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: "
                             "%llu\r\n\r\n",
                             (unsigned long long)last_id)
                  : snprintf(req, sizeof req, "GET /v1/hall/events HTTP/1.1\r\nHost: x\r\n\r\n");
    hbt_sock_send(fd, req, (size_t)len);
    *n = 0;
    if (!hbt_sock_read_until(fd, buf, cap, n, needle))
        fail_msg("the stream did not say '%s': %.*s", needle, (int)*n, buf);
    return fd;
}

HBT_TEST(test_stream_resumes)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = &w->hall[0];
    static char buf[1 << 16];
    size_t n;
    int fd = s_stream(h, 0, buf, sizeof buf, &n, "event: hall");
    json_t *t = hbt_req(h->http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    char want[128];
    snprintf(want, sizeof want, "\"ticket\":\"%s\"", hbt_str(t, "ticket"));
    json_decref(t);
    assert_true(hbt_sock_read_until(fd, buf, sizeof buf, &n, want));
    hbt_assert_contains(buf, "event: ticket_issued");
    close(fd);
    json_t *st = hbt_req(h->http, "GET", "/v1/status", NULL, 200);
    uint64_t last = (uint64_t)json_integer_value(json_object_get(st, "last_seq"));
    json_decref(st);

    /* Resumed from the event before: that one comes again, with its id. */
    char id[64];
    snprintf(id, sizeof id, "id: %llu\nevent: ticket_issued", (unsigned long long)last);
    fd = s_stream(h, last - 1, buf, sizeof buf, &n, id);
    close(fd);

    /* And after a restart of branchd: the ids are the hall's sequence. */
    hbt_hall_stop(h, SIGTERM);
    hbt_hall_start(h);
    fd = s_stream(h, last - 1, buf, sizeof buf, &n, id);
    close(fd);

    /* A resume from beyond the hall's last event says what will not come. */
    fd = s_stream(h, last + 1000, buf, sizeof buf, &n, "event: gap");
    close(fd);
    hbt_refused(h->http, "GET", "/v1/hall/events?since=x", NULL, 400, "bad_parameter",
                "event sequence");
}

HBT_TEST(test_public_status_and_qr)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = &w->hall[0];
    json_t *t = hbt_req(h->http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    const char *ref = hbt_str(t, "ref");
    char path[160];
    assert_true(strlen(ref) == strlen(hbt_str(t, "ticket")) + 9);
    snprintf(path, sizeof path, "/t/%s", ref);
    assert_string_equal(hbt_str(t, "status_path"), path);
    snprintf(path, sizeof path, "/v1/public/tickets/%s", ref);
    json_t *p = hbt_req(h->http, "GET", path, NULL, 200);
    assert_string_equal(hbt_str(p, "ticket"), hbt_str(t, "ticket"));
    assert_string_equal(hbt_str(p, "state"), "waiting");
    assert_true(json_is_integer(json_object_get(p, "position")));
    assert_null(json_object_get(p, "priority")); /* nothing personal */
    json_decref(p);

    /* The QR code: SVG of the status address. */
    char req[256];
    snprintf(req, sizeof req, "GET /v1/tickets/%s/qr HTTP/1.1\r\nHost: hall.local:1\r\n\r\n",
             hbt_str(t, "ticket"));
    hbt_sock_resp_t r;
    hbt_sock_once(s_port(h), req, &r);
    assert_int_equal(r.status, 200);
    hbt_assert_contains(r.head, "image/svg+xml");
    hbt_assert_contains(r.body, "<svg");
    snprintf(path, sizeof path, "/v1/tickets/%s/qr?format=png", hbt_str(t, "ticket"));
    hbt_refused(h->http, "GET", path, NULL, 400, "bad_parameter", "format must be svg");
    hbt_refused(h->http, "GET", "/v1/tickets/Z999/qr", NULL, 404, "not_found", "Z999");

    /* A wrong check part is no ticket; ten of those a minute, and the
     * address waits. */
    char bad[160];
    snprintf(bad, sizeof bad, "/v1/public/tickets/%s-00000000", hbt_str(t, "ticket"));
    for (int i = 0; i < 10; i++)
        hbt_refused(h->http, "GET", bad, NULL, 404, "not_found", "no such ticket");
    hbt_refused(h->http, "GET", bad, NULL, 429, "rate_limited", "wait");
    json_decref(t);
}

HBT_TEST(test_counters_and_ratings)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = &w->hall[0];
    /* Counter 1 plain, counter 2 marked for elderly customers. */
    json_t *c = hbt_req(h->http, "POST", "/v1/counters/1/open",
                        "{\"staff\":\"E1\",\"services\":[\"A\"]}", 200);
    assert_false(json_is_true(json_object_get(c, "elderly")));
    json_decref(c);
    /* Whatever waits from the other tests is served first. */
    for (;;) {
        json_t *o = NULL;
        int status = hbt_http(h->http, "POST", "/v1/counters/1/call", NULL, &o);
        json_decref(o);
        if (status != 200)
            break;
        hbt_req_ok(h->http, "POST", "/v1/counters/1/start", NULL, 200);
        hbt_req_ok(h->http, "POST", "/v1/counters/1/complete", "{\"business_type\":\"x\"}", 200);
    }
    c = hbt_req(h->http, "POST", "/v1/counters/2/open",
                "{\"staff\":\"E2\",\"services\":[\"A\"],\"elderly\":true}", 200);
    assert_true(json_is_true(json_object_get(c, "elderly")));
    json_decref(c);
    json_t *e = hbt_req(h->http, "POST", "/v1/tickets",
                        "{\"service\":\"A\",\"priority\":\"elderly\"}", 201);
    json_t *nrm = hbt_req(h->http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    /* Counter 1 passes over the elderly ticket: counter 2 is for it. */
    json_t *call = hbt_req(h->http, "POST", "/v1/counters/1/call", NULL, 200);
    assert_string_equal(hbt_str(call, "ticket"), hbt_str(nrm, "ticket"));
    assert_string_equal(hbt_str(call, "rule"), "fifo");
    assert_string_equal(hbt_str(call, "staff"), "E1");
    assert_true(json_is_null(json_object_get(call, "appointment")));
    json_decref(call);
    call = hbt_req(h->http, "POST", "/v1/counters/2/call", NULL, 200);
    assert_string_equal(hbt_str(call, "ticket"), hbt_str(e, "ticket"));
    json_decref(call);

    /* Serve at counter 1, then rate it: the evaluator's ticket. */
    hbt_req_ok(h->http, "POST", "/v1/counters/1/start", NULL, 200);
    hbt_req_ok(h->http, "POST", "/v1/counters/1/complete",
               "{\"business_type\":\"bill_payment\",\"outcome\":\"rejected_documents\"}", 200);
    json_t *due = hbt_req(h->http, "GET", "/v1/counters/1/rating", NULL, 200);
    assert_string_equal(hbt_str(due, "ticket"), hbt_str(nrm, "ticket"));
    assert_false(json_is_true(json_object_get(due, "rated")));
    json_decref(due);
    char body[256];
    snprintf(body, sizeof body, "{\"score\":4,\"ticket\":\"%s\",\"reasons\":[\"fast\",\"clear\"]}",
             hbt_str(nrm, "ticket"));
    json_t *s = hbt_req(h->http, "POST", "/v1/feedback", body, 201);
    assert_int_equal(json_array_size(json_object_get(s, "reasons")), 2);
    json_decref(s);
    hbt_refused(h->http, "POST", "/v1/feedback", body, 409, "already_rated", "rated once");
    hbt_refused(h->http, "POST", "/v1/feedback", "{\"score\":4,\"reasons\":[\"rude\"]}", 400,
                "bad_request", "reason 'rude' is not one of");
    due = hbt_req(h->http, "GET", "/v1/counters/1/rating", NULL, 200);
    assert_true(json_is_true(json_object_get(due, "rated")));
    json_decref(due);

    /* Meal rotation: counter 2 serves, counter 1 is the last open for A
     * while someone waits; pausing it is refused, the manager overrides. */
    hbt_req_ok(h->http, "POST", "/v1/counters/2/start", NULL, 200);
    json_t *w2 = hbt_req(h->http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    hbt_req_ok(h->http, "POST", "/v1/counters/2/complete", "{\"business_type\":\"x\"}", 200);
    hbt_req_ok(h->http, "POST", "/v1/counters/2/pause", "{\"reason\":\"lunch\",\"override\":true}",
               200);
    hbt_refused(h->http, "POST", "/v1/counters/1/pause", "{\"reason\":\"lunch\"}", 409,
                "last_counter", "last open counter for A (1 waiting)");
    json_t *p = hbt_req(h->http, "POST", "/v1/counters/1/pause",
                        "{\"reason\":\"lunch\",\"override\":true}", 200);
    assert_string_equal(hbt_str(p, "state"), "paused");
    json_decref(p);
    json_decref(w2);
    json_decref(e);
    json_decref(nrm);
}
