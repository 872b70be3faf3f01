/* Appointments through the hall's API against a real branchd and hqd: the
 * day's slots, booking and each refusal (unknown slot, full slot, past
 * slot, a service without appointments, an unknown staff id, a bad time),
 * the book of a day, check-in issuing the appointment ticket (twice is
 * refused, a bad code is 404), cancel, a kiosk that may check in but not
 * book, and HQ's bookings of the hall for that day. Calling order and
 * no-show timing run with the engine's clock in tests/unit/test_appointments.c. */
#include "harness.h"
#include "httpd.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallbus/time.h"
#include "runner.h"
#include "world.h"

#define BRANCHD HB_BIN_DIR "/branchd/branchd"

static const hbt_world_spec_t s_world = {.tag = "appts", .halls = {"AP1"}};
#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

#define POLICY                                                                                     \
    HBT_POLICY_OPEN_AND                                                                            \
    "\"appointments\":{\"A\":{\"slot_s\":600,\"capacity\":1,\"no_show_after_s\":60}}}"

static void s_cmd(const char *cmd, char *out, size_t len)
{
    int rc = hbt_run_args(out, len, "/bin/sh", "-c", cmd, NULL);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", cmd, rc, out);
}

HBT_TEST(test_appointments)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = &w->hall[0];
    hbt_hall_set_engine(h, POLICY, NULL);
    char out[2048], cmd[1200];
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '482913' | %s staff add E07 --data %s", BRANCHD,
             h->data);
    s_cmd(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd, "%s devices add K1 --kind kiosk --data %s", BRANCHD, h->data);
    s_cmd(cmd, out, sizeof out);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    char kiosk[128];
    snprintf(kiosk, sizeof kiosk, "%s", strrchr(out, '\n') ? strrchr(out, '\n') + 1 : out);
    hbt_hall_start(h);

    /* The next slot (10 minutes, from midnight UTC), and the one after. */
    int64_t now = hb_now_ms();
    int64_t next = (now / 600000 + 1) * 600000, cur = (now / 600000) * 600000;
    char t_next[HB_RFC3339_MAX], t_after[HB_RFC3339_MAX], t_cur[HB_RFC3339_MAX], date[11];
    hb_time_format(next, t_next);
    hb_time_format(next + 600000, t_after);
    hb_time_format(cur, t_cur);
    snprintf(date, sizeof date, "%.10s", t_next);
    char path[256], body[512];
    snprintf(path, sizeof path, "/v1/appointments/slots?service=A&date=%s", date);
    json_t *sl = hbt_req(h->http, "GET", path, NULL, 200);
    assert_int_equal(hbt_int(sl, "slot_s"), 600);
    assert_int_equal(hbt_int(sl, "capacity"), 1);
    assert_int_equal(json_array_size(json_object_get(sl, "slots")), 144);
    json_decref(sl);
    static const hbt_refusal_t bad_slots[] = {
        {"GET", "/v1/appointments/slots?service=C", NULL, 400, "bad_request",
         "service C takes no appointments"},
        {"GET", "/v1/appointments/slots", NULL, 400, "bad_parameter", "service=CODE is required"},
    };
    HBT_REFUSED_ALL(h->http, bad_slots);

    /* Book, and the refusals. */
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\",\"staff\":\"E07\"}", t_next);
    json_t *bk = hbt_req(h->http, "POST", "/v1/appointments", body, 201);
    char code[16];
    snprintf(code, sizeof code, "%s", hbt_str(bk, "code"));
    assert_int_equal(strlen(code), 8);
    hbt_assert_strs(bk, "state", "booked", "staff", "E07", "channel", "hall", NULL);
    assert_true(json_is_null(json_object_get(bk, "ticket")));
    json_decref(bk);
    hbt_refused(h->http, "POST", "/v1/appointments", body, 409, "slot_full", "is full (1 of 1)");
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\"}", t_cur);
    hbt_refused(h->http, "POST", "/v1/appointments", body, 409, "slot_past", "began already");
    char odd[HB_RFC3339_MAX];
    hb_time_format(next + 60000, odd);
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\"}", odd);
    hbt_refused(h->http, "POST", "/v1/appointments", body, 404, "unknown_slot",
                "slots start every 10 min from 00:00");
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\",\"staff\":\"E99\"}", t_after);
    hbt_refused(h->http, "POST", "/v1/appointments", body, 400, "bad_request",
                "no staff 'E99' is enrolled");
    snprintf(body, sizeof body, "{\"service\":\"C\",\"start\":\"%s\"}", t_after);
    hbt_refused(h->http, "POST", "/v1/appointments", body, 400, "bad_request",
                "takes no appointments");
    hbt_refused(h->http, "POST", "/v1/appointments", "{\"service\":\"A\",\"start\":\"soon\"}", 400,
                "bad_request", "RFC 3339");
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\",\"channel\":\"fax\"}",
             t_after);
    hbt_refused(h->http, "POST", "/v1/appointments", body, 400, "bad_request", "channel");
    /* A kiosk checks in but does not book. */
    json_t *o = NULL;
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\"}", t_after);
    assert_int_equal(hbt_http_as(h->http, kiosk, NULL, "POST", "/v1/appointments", body, &o), 403);
    json_decref(o);
    snprintf(body, sizeof body, "{\"service\":\"A\",\"start\":\"%s\",\"channel\":\"phone\"}",
             t_after);
    json_t *bk2 = hbt_req(h->http, "POST", "/v1/appointments", body, 201);
    char code2[16];
    snprintf(code2, sizeof code2, "%s", hbt_str(bk2, "code"));
    json_decref(bk2);

    /* The book of the day; one booking; a bad code. */
    snprintf(path, sizeof path, "/v1/appointments?date=%s", date);
    json_t *book = hbt_req(h->http, "GET", path, NULL, 200);
    assert_true(hbt_int(book, "count") >= 1);
    json_decref(book);
    snprintf(path, sizeof path, "/v1/appointments/%s", code);
    json_t *one = hbt_req(h->http, "GET", path, NULL, 200);
    assert_string_equal(hbt_str(one, "start"), t_next);
    json_decref(one);
    static const hbt_refusal_t bad_codes[] = {
        {"GET", "/v1/appointments/00000000", NULL, 404, "bad_code",
         "no booking with code 00000000"},
        {"POST", "/v1/appointments/00000000/checkin", NULL, 404, "bad_code",
         "no booking with code 00000000"},
    };
    HBT_REFUSED_ALL(h->http, bad_codes);

    /* Check-in at the kiosk: the appointment ticket; twice is refused. */
    snprintf(path, sizeof path, "/v1/appointments/%s/checkin", code);
    o = NULL;
    assert_int_equal(hbt_http_as(h->http, kiosk, NULL, "POST", path, NULL, &o), 201);
    assert_string_equal(hbt_str(o, "priority"), "appointment");
    assert_string_equal(hbt_str(o, "appointment"), code);
    assert_true(strlen(hbt_str(o, "ref")) > 8);
    char ticket[16];
    snprintf(ticket, sizeof ticket, "%s", hbt_str(o, "ticket"));
    json_decref(o);
    hbt_refused(h->http, "POST", path, NULL, 409, "checked_in_already", "checked in already");
    snprintf(path, sizeof path, "/v1/appointments/%s", code);
    one = hbt_req(h->http, "GET", path, NULL, 200);
    assert_string_equal(hbt_str(one, "state"), "checked_in");
    assert_string_equal(hbt_str(one, "ticket"), ticket);
    json_decref(one);

    /* Cancel the other; cancelled twice and checked in after are refused. */
    snprintf(path, sizeof path, "/v1/appointments/%s/cancel", code2);
    json_t *c = hbt_req(h->http, "POST", path, "{\"reason\":\"customer called\"}", 200);
    assert_string_equal(hbt_str(c, "state"), "cancelled");
    json_decref(c);
    hbt_refused(h->http, "POST", path, NULL, 409, "cancelled", "was cancelled");
    snprintf(path, sizeof path, "/v1/appointments/%s/checkin", code2);
    hbt_refused(h->http, "POST", path, NULL, 409, "cancelled", "was cancelled");

    /* HQ sees the hall's bookings of that day. */
    assert_true(hbt_wait_synced(&w->hq, h, 15000));
    snprintf(path, sizeof path, "/v1/halls/AP1/appointments?date=%s", date);
    json_t *hq = hbt_req(w->hq.http, "GET", path, NULL, 200);
    char *text = json_dumps(hq, JSON_COMPACT);
    hbt_assert_contains(text, code);
    hbt_assert_contains(text, "\"state\":\"checked_in\"");
    free(text);
    json_decref(hq);
    static const hbt_refusal_t bad_hq_books[] = {
        {"GET", "/v1/halls/AP1/appointments?date=12-2026", NULL, 400, "bad_parameter",
         "YYYY-MM-DD"},
        {"GET", "/v1/halls/ZZ9/appointments", NULL, 404, "not_found", "ZZ9"},
    };
    HBT_REFUSED_ALL(w->hq.http, bad_hq_books);
}
