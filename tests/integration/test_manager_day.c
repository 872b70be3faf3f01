/* The duty manager's day against a real branchd and hqd (issue 13): the
 * checklist with a device failed and its refusals, the opening that names
 * the device (and HQ's opening_device_check alert), meetings, patrols drawn
 * by the manuals' rule (7 draw 4, 25 draw 8, 3 draw 3) and scored once each,
 * the work log, the cash handover, the day's records and the day report,
 * and the same day read at HQ. A kiosk's token may do none of it. */
#include "harness.h"
#include "httpd.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "world.h"

static const hbt_world_spec_t s_world = {
    .tag = "managerday", .halls = {"M1"}, .engine = true, .start = true};
#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

/* A list of `n` staff ids S01.. as a JSON body member. */
static void s_on_duty(char *out, size_t len, int n)
{
    size_t used = (size_t)snprintf(out, len, "{\"on_duty\":[");
    for (int i = 1; i <= n; i++)
        used += (size_t)snprintf(out + used, len - used, "%s\"S%02d\"", i > 1 ? "," : "", i);
    snprintf(out + used, len - used, "]}");
}

static json_t *s_draw(const hbt_hall_t *h, int n, size_t want)
{
    char body[1024];
    s_on_duty(body, sizeof body, n);
    json_t *p = hbt_req(h->http, "POST", "/v1/manager/patrols", body, 201);
    assert_string_equal(hbt_str(p, "type"), "patrol_drawn");
    assert_int_equal(json_array_size(json_object_get(p, "on_duty")), (size_t)n);
    json_t *drawn = json_object_get(p, "drawn");
    assert_int_equal(json_array_size(drawn), want);
    /* Each drawn once, each one of those on duty. */
    for (size_t i = 0; i < want; i++) {
        const char *s = json_string_value(json_array_get(drawn, i));
        assert_true(strlen(s) == 3 && s[0] == 'S' && atoi(s + 1) >= 1 && atoi(s + 1) <= n);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, json_string_value(json_array_get(drawn, j)));
    }
    return p;
}

/* POSTs `body` to `path`, which must record it (201) with the string
 * member `name` of its answer `value`. */
static void s_recorded(hbt_hall_t *h, const char *path, const char *body, const char *name,
                       const char *value)
{
    json_t *o = hbt_req(h->http, "POST", path, body, 201);
    hbt_assert_strs(o, name, value, NULL);
    json_decref(o);
}

/* The refusals the day meets, each with the stage of the day at which it
 * is asked for (the test runs a stage's rows in order, where it stands). */
static const struct {
    const char *stage;
    hbt_refusal_t r;
} s_refusals[] = {
    {"checklists",
     {"POST", "/v1/manager/checklist", "{\"items\":[{\"item\":\"device:TOASTER\",\"ok\":true}]}",
      400, "bad_request",
      "unknown checklist item 'device:TOASTER'; today's are cleanliness, materials"}},
    {"checklists",
     {"POST", "/v1/manager/checklist",
      "{\"items\":[{\"item\":\"materials\",\"ok\":true},{\"item\":\"materials\",\"ok\":"
      "true}]}",
      400, "bad_request", "listed twice"}},
    {"checklists",
     {"POST", "/v1/manager/checklist", "{\"items\":[{\"item\":\"materials\"}]}", 400, "bad_request",
      "items[0] must be"}},
    {"checklists",
     {"POST", "/v1/manager/checklist", "{\"items\":[]}", 400, "bad_request", "1 to 64 items"}},
    {"checklists",
     {"POST", "/v1/manager/open", "{\"note\":5}", 400, "bad_request", "note must be a string"}},
    {"meetings",
     {"POST", "/v1/manager/meetings",
      "{\"kind\":\"morning\",\"duration_s\":0,\"attendees\":[\"E1\"]}", 400, "bad_request",
      "duration_s must be from 1 to 14400"}},
    {"meetings",
     {"POST", "/v1/manager/meetings",
      "{\"kind\":\"lunch\",\"duration_s\":60,\"attendees\":[\"E1\"]}", 400, "bad_request", "kind"}},
    {"meetings",
     {"POST", "/v1/manager/meetings", "{\"kind\":\"morning\",\"duration_s\":60}", 400,
      "bad_request", "attendees must name at least one"}},
    {"meetings",
     {"POST", "/v1/manager/meetings",
      "{\"kind\":\"after_shift\",\"duration_s\":60,\"attendees\":[\"a b\"]}", 400, "bad_request",
      "is not a staff id"}},
    {"handovers",
     {"POST", "/v1/manager/cash", "{\"amount\":-1,\"by\":\"E1\",\"to\":\"E2\",\"checked\":true}",
      400, "bad_request", "amount must be from 0"}},
    {"handovers",
     {"POST", "/v1/manager/cash", "{\"amount\":1,\"by\":\"E1\",\"to\":\"E1\",\"checked\":true}",
      400, "bad_request", "someone else"}},
    {"handovers",
     {"POST", "/v1/manager/cash",
      "{\"amount\":1,\"currency\":\"eur\",\"by\":\"E1\",\"to\":\"E2\",\"checked\":true}", 400,
      "bad_request", "currency must be 3 capital letters"}},
    {"days",
     {"GET", "/v1/manager/report?date=2026-13-01", NULL, 400, "bad_parameter", "YYYY-MM-DD"}},
    {"days", {"GET", "/v1/manager/day?date=2001-01-01", NULL, 404, "not_found", "2001-01-01"}},
    {"hall_days",
     {"GET", "/v1/halls/M1/day?date=2001-01-01", NULL, 404, "not_found",
      "no events of hall M1 on 2001-01-01"}},
    {"hall_days", {"GET", "/v1/halls/M1/day?date=x", NULL, 400, "bad_parameter", "YYYY-MM-DD"}},
    {"hall_days", {"GET", "/v1/halls/NOPE/day", NULL, 404, "not_found", "NOPE"}},
};

/* Checks the refusals of `stage` against `base`. */
static void s_refused_at(const char *base, const char *stage)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof s_refusals / sizeof s_refusals[0]; i++) {
        if (strcmp(s_refusals[i].stage, stage) != 0)
            continue;
        hbt_refused_rows(base, &s_refusals[i].r, 1);
        n++;
    }
    assert_true(n > 0); /* a stage without rows is a typo */
}

HBT_TEST(test_manager_day)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = &w->hall[0];
    char kiosk[128];
    hbt_hall_add_device(h, "KIOSK-1", "kiosk", NULL, kiosk, sizeof kiosk);

    /* Today's checklist names the paired kiosk. */
    json_t *cl = hbt_req(h->http, "GET", "/v1/manager/checklist", NULL, 200);
    char *text = json_dumps(cl, JSON_COMPACT);
    hbt_assert_contains(text, "{\"item\":\"cleanliness\"}");
    hbt_assert_contains(text, "{\"item\":\"device:KIOSK-1\",\"device\":\"KIOSK-1\"}");
    assert_true(json_is_null(json_object_get(cl, "done")));
    bool monday = strcmp(hbt_str(cl, "weekday"), "mon") == 0;
    assert_int_equal(strstr(text, "fire_equipment") != NULL, monday);
    free(text);
    json_decref(cl);

    /* Refusals: an item not on today's list, one twice, no ok, none. */
    s_refused_at(h->http, "checklists");

    /* The checklist with the kiosk failed, then the opening names it. */
    json_t *done = hbt_req(h->http, "POST", "/v1/manager/checklist",
                           "{\"items\":[{\"item\":\"cleanliness\",\"ok\":true},{\"item\":"
                           "\"materials\",\"ok\":true},{\"item\":\"device:KIOSK-1\",\"ok\":false,"
                           "\"note\":\"paper jam\"}]}",
                           201);
    assert_string_equal(hbt_str(done, "type"), "checklist_done");
    assert_true(hbt_int(done, "seq") > 0);
    json_decref(done);
    json_t *op = hbt_req(h->http, "POST", "/v1/manager/open", "{\"note\":\"on time\"}", 201);
    assert_string_equal(hbt_str(op, "type"), "hall_opened");
    assert_int_equal(json_array_size(json_object_get(op, "failed")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(op, "failed"), 0)),
                        "KIOSK-1");
    assert_int_equal(json_array_size(json_object_get(op, "unchecked")), 0);
    assert_true(json_is_true(json_object_get(op, "alert")));
    assert_int_equal(hbt_int(op, "late_s"), 0); /* the test hall is open round the clock */
    json_decref(op);
    hbt_refused(h->http, "POST", "/v1/manager/open", NULL, 409, "opened_already",
                "opened already today");

    /* Meetings. */
    s_recorded(h, "/v1/manager/meetings",
               "{\"kind\":\"morning\",\"duration_s\":900,\"attendees\":[\"E1\",\"E2\"],"
               "\"topics\":[\"new fees\"]}",
               "type", "meeting_held");
    s_refused_at(h->http, "meetings");

    /* Patrols by the manuals' rule; nobody on duty with no counter open. */
    hbt_refused(h->http, "POST", "/v1/manager/patrols", NULL, 409, "nobody_on_duty",
                "nobody is on duty");
    json_t *p7 = s_draw(h, 7, 4);
    json_t *p25 = s_draw(h, 25, 8);
    json_t *p3 = s_draw(h, 3, 3);
    json_decref(s_draw(h, 20, 10));
    json_decref(s_draw(h, 21, 7));
    char path[128], body[512];
    const char *pid = hbt_str(p7, "patrol");
    assert_true(strncmp(pid, "P", 1) == 0 && strstr(pid, "-1") != NULL);
    const char *drawn = json_string_value(json_array_get(json_object_get(p7, "drawn"), 0));
    snprintf(path, sizeof path, "/v1/manager/patrols/%s/scores", pid);
    snprintf(body, sizeof body,
             "{\"staff\":\"%s\",\"smile\":5,\"initiative\":4,\"compliance\":5,\"speed\":4,"
             "\"accuracy\":3,\"note\":\"good\"}",
             drawn);
    s_recorded(h, path, body, "type", "patrol_scored");
    hbt_refused(h->http, "POST", path, body, 409, "scored_already", "scored in patrol");
    /* One on duty but not drawn (7 on duty, 4 drawn: 3 are not). */
    const char *not_drawn = NULL;
    static char ids[8][8];
    for (int i = 1; i <= 7 && !not_drawn; i++) {
        snprintf(ids[i], sizeof ids[i], "S%02d", i);
        bool in = false;
        for (size_t k = 0; k < 4; k++)
            in |= strcmp(json_string_value(json_array_get(json_object_get(p7, "drawn"), k)),
                         ids[i]) == 0;
        if (!in)
            not_drawn = ids[i];
    }
    snprintf(body, sizeof body,
             "{\"staff\":\"%s\",\"smile\":5,\"initiative\":4,\"compliance\":5,\"speed\":4,"
             "\"accuracy\":3}",
             not_drawn);
    hbt_refused(h->http, "POST", path, body, 400, "not_drawn", "was not drawn in patrol");
    hbt_refused(h->http, "POST", "/v1/manager/patrols/P19990101-1/scores", body, 404, "not_found",
                "no patrol P19990101-1 today");
    snprintf(body, sizeof body,
             "{\"staff\":\"%s\",\"smile\":6,\"initiative\":4,\"compliance\":5,\"speed\":4,"
             "\"accuracy\":3}",
             drawn);
    hbt_refused(h->http, "POST", path, body, 400, "bad_request", "smile must be from 1 to 5");
    hbt_refused(h->http, "POST", path, "{\"staff\":\"S01\"}", 400, "bad_request", "is required");

    /* The work log and the cash handover. */
    json_decref(
        hbt_req(h->http, "POST", "/v1/manager/log", "{\"text\":\"printer 2 jammed\"}", 201));
    hbt_refused(h->http, "POST", "/v1/manager/log", "{\"text\":\"\"}", 400, "bad_request",
                "text is required");
    s_recorded(h, "/v1/manager/cash",
               "{\"amount\":1250000,\"currency\":\"EUR\",\"by\":\"E1\",\"to\":\"E2\","
               "\"checked\":true}",
               "from_staff", "E1");
    s_refused_at(h->http, "handovers");

    /* A kiosk's token may not. */
    json_t *o = NULL;
    assert_int_equal(
        hbt_http_as(h->http, kiosk, NULL, "POST", "/v1/manager/log", "{\"text\":\"x\"}", &o), 403);
    assert_string_equal(hbt_str(o, "permission"), "manager.day");
    json_decref(o);

    /* Some service, for the report. */
    hbt_req_ok(h->http, "POST", "/v1/counters/1/open", "{\"staff\":\"E1\",\"services\":[\"A\"]}",
               200);
    json_decref(hbt_req(h->http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201));
    hbt_req_ok(h->http, "POST", "/v1/counters/1/call", NULL, 200);
    hbt_req_ok(h->http, "POST", "/v1/counters/1/start", NULL, 200);
    hbt_req_ok(h->http, "POST", "/v1/counters/1/complete",
               "{\"business_type\":\"bill_payment\",\"amount\":500}", 200);

    /* The day's records. */
    json_t *day = hbt_req(h->http, "GET", "/v1/manager/day", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(day, "meetings")), 1);
    assert_int_equal(json_array_size(json_object_get(day, "patrols")), 5);
    json_t *first = json_array_get(json_object_get(day, "patrols"), 0);
    assert_int_equal(json_array_size(json_object_get(first, "scores")), 1);
    assert_int_equal(json_array_size(json_object_get(day, "log")), 1);
    assert_int_equal(json_array_size(json_object_get(day, "cash")), 1);
    assert_string_equal(hbt_str(json_object_get(day, "checklist"), "type"), "checklist_done");
    assert_string_equal(hbt_str(json_object_get(day, "opened"), "type"), "hall_opened");
    json_decref(day);

    /* The day report. */
    json_t *r = hbt_req(h->http, "GET", "/v1/manager/report", NULL, 200);
    assert_string_equal(hbt_str(r, "hall"), "M1");
    assert_int_equal(hbt_int(r, "checklist_failures"), 1);
    json_t *svc = json_array_get(json_object_get(r, "services"), 0);
    assert_string_equal(hbt_str(svc, "service"), "A");
    assert_int_equal(hbt_int(svc, "issued"), 1);
    assert_int_equal(hbt_int(svc, "served"), 1);
    json_t *bt = json_array_get(json_object_get(r, "business_types"), 0);
    assert_string_equal(hbt_str(bt, "business_type"), "bill_payment");
    assert_int_equal(hbt_int(bt, "amount"), 500);
    json_t *ctr = json_array_get(json_object_get(r, "counters"), 0);
    assert_string_equal(hbt_str(ctr, "counter"), "1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(ctr, "staff"), 0)), "E1");
    assert_int_equal(hbt_int(ctr, "served"), 1);
    json_t *ps = json_array_get(json_object_get(r, "patrols"), 0);
    assert_string_equal(hbt_str(ps, "staff"), drawn);
    assert_true(json_real_value(json_object_get(ps, "avg")) == 4.2);
    assert_true(json_is_string(json_object_get(r, "opened")));
    json_decref(r);
    s_refused_at(h->http, "days");
    json_decref(p7);
    json_decref(p25);
    json_decref(p3);

    /* At HQ: the alert for the kiosk failed at the opening, the mirror's
     * today, and the same day read from HQ's stored events. */
    assert_true(hbt_wait_synced(&w->hq, h, 15000));
    json_t *alert = NULL;
    for (int i = 0; i < 100 && !alert; i++) {
        json_t *al = hbt_get(w->hq.http, "/v1/alerts?state=open&hall=M1&kind=opening_device_check");
        json_t *list = json_object_get(al, "alerts");
        if (json_array_size(list) > 0)
            alert = json_incref(json_array_get(list, 0));
        json_decref(al);
        if (!alert)
            hbt_sleep_ms(100);
    }
    assert_non_null(alert);
    assert_string_equal(hbt_str(alert, "subject"), "KIOSK-1");
    hbt_assert_contains(hbt_str(alert, "detail"), "KIOSK-1 failed");
    json_decref(alert);
    json_t *live = hbt_req(w->hq.http, "GET", "/v1/halls/M1/state", NULL, 200);
    char *lt = json_dumps(live, JSON_COMPACT);
    hbt_assert_contains(lt, "\"opening_devices\":[{\"device\":\"KIOSK-1\",\"failed\":true}]");
    hbt_assert_contains(lt, "\"patrols\":5");
    free(lt);
    json_decref(live);
    json_t *hd = hbt_req(w->hq.http, "GET", "/v1/halls/M1/day", NULL, 200);
    json_t *mine = hbt_req(h->http, "GET", "/v1/manager/day", NULL, 200);
    assert_true(json_equal(json_object_get(hd, "day"), mine));
    json_decref(mine);
    json_t *hr = json_object_get(hd, "report");
    assert_int_equal(hbt_int(hr, "checklist_failures"), 1);
    assert_int_equal(json_array_size(json_object_get(hr, "patrols")), 1);
    json_decref(hd);
    s_refused_at(w->hq.http, "hall_days");
}
