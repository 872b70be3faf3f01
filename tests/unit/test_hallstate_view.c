/* Unit tests of the live view of a hall's state (common/hall/view.c): its
 * members and their values over a small state, and the names of the
 * reducer's states. Not for what events do (test_hallstate.c). */
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/hallstate.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "runner.h"

#define T0 1795424400000LL /* 2026-11-23T09:00:00Z */
#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY_MS (24LL * 3600 * 1000)

#define HBT_FIXTURE NULL, NULL

/* ---------------------------------------------------------------- view ---- */

static const json_t *s_get(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("the view has no member %s", key);
    return v;
}

static int64_t s_int(const json_t *o, const char *key)
{
    const json_t *v = s_get(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *s_string(const json_t *o, const char *key)
{
    const json_t *v = s_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void s_members(const json_t *o, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s_get(o, names[i]);
    assert_int_equal(json_object_size(o), n);
}

HBT_TEST(test_view)
{
    (void)state;
    hb_hall_state_t *s = hbt_state_sample(T0);
    int64_t now = T0 + 120 * SEC;
    json_t *v = hb_hall_state_view(s, now);
    assert_non_null(v);
    static const char *const top[] = {"seq",
                                      "at",
                                      "date",
                                      "waiting",
                                      "longest_wait_s",
                                      "services",
                                      "counters",
                                      "counters_open",
                                      "counters_busy",
                                      "tickets",
                                      "complaints",
                                      "devices",
                                      "devices_not_ok",
                                      "today",
                                      "policy_version",
                                      "calendar_version",
                                      "anomalies"};
    s_members(v, top, sizeof top / sizeof top[0]);
    assert_int_equal(s_int(v, "seq"), s->seq);
    assert_string_equal(s_string(v, "at"), "2026-11-23T09:01:20.000Z");
    assert_string_equal(s_string(v, "date"), "2026-11-23");
    assert_int_equal(s_int(v, "waiting"), 1);
    assert_int_equal(s_int(v, "longest_wait_s"), 90);
    assert_int_equal(s_int(v, "policy_version"), 3);
    assert_int_equal(s_int(v, "anomalies"), 0);

    const json_t *svc = json_array_get(s_get(v, "services"), 0);
    static const char *const svc_members[] = {
        "service",  "waiting",   "oldest_wait_s", "next_number", "issued",       "served",
        "no_shows", "cancelled", "avg_wait_s",    "max_wait_s",  "avg_service_s"};
    s_members(svc, svc_members, sizeof svc_members / sizeof svc_members[0]);
    assert_string_equal(s_string(svc, "service"), "A");
    assert_int_equal(s_int(svc, "oldest_wait_s"), 90);
    assert_int_equal(s_int(svc, "next_number"), 3);
    assert_int_equal(s_int(svc, "issued"), 2);
    assert_int_equal(s_int(svc, "avg_wait_s"), 60);
    assert_int_equal(s_int(svc, "max_wait_s"), 60);

    const json_t *counters = s_get(v, "counters");
    assert_int_equal(json_array_size(counters), 2);
    const json_t *c1 = json_array_get(counters, 0), *c2 = json_array_get(counters, 1);
    static const char *const counter_members[] = {"counter",     "state", "staff",  "services",
                                                  "ticket",      "since", "open_s", "busy_s",
                                                  "utilisation", "served"};
    s_members(c1, counter_members, sizeof counter_members / sizeof counter_members[0]);
    assert_string_equal(s_string(c1, "state"), "calling");
    assert_string_equal(s_string(c1, "ticket"), "A001");
    assert_string_equal(s_string(c1, "since"), "2026-11-23T09:01:00.000Z");
    assert_int_equal(s_int(c1, "open_s"), 120);
    assert_int_equal(s_int(c1, "busy_s"), 60);
    assert_true(json_real_value(s_get(c1, "utilisation")) == 0.5);
    assert_int_equal(json_array_size(s_get(c1, "services")), 1);
    assert_string_equal(s_string(c2, "state"), "paused");
    assert_true(json_is_null(s_get(c2, "ticket")));
    assert_int_equal(s_int(c2, "open_s"), 60);
    assert_true(json_real_value(s_get(c2, "utilisation")) == 0.0);
    assert_int_equal(s_int(v, "counters_open"), 1);
    assert_int_equal(s_int(v, "counters_busy"), 1);

    const json_t *tickets = s_get(v, "tickets");
    assert_int_equal(json_array_size(tickets), 2);
    const json_t *t1 = json_array_get(tickets, 0), *t2 = json_array_get(tickets, 1);
    static const char *const ticket_members[] = {"ticket", "service", "priority",
                                                 "state",  "counter", "issued",
                                                 "wait_s", "recalls", "transferred"};
    s_members(t1, ticket_members, sizeof ticket_members / sizeof ticket_members[0]);
    assert_string_equal(s_string(t1, "state"), "called");
    assert_string_equal(s_string(t1, "priority"), "normal");
    assert_string_equal(s_string(t1, "counter"), "1");
    assert_string_equal(s_string(t1, "issued"), "2026-11-23T09:00:00.000Z");
    assert_int_equal(s_int(t1, "wait_s"), 60);
    assert_string_equal(s_string(t2, "priority"), "vip");
    assert_true(json_is_null(s_get(t2, "counter")));
    assert_int_equal(s_int(t2, "wait_s"), 90);

    const json_t *complaints = s_get(v, "complaints");
    static const char *const complaints_members[] = {"open", "overdue", "list"};
    s_members(complaints, complaints_members, 3);
    assert_int_equal(s_int(complaints, "open"), 1);
    assert_int_equal(s_int(complaints, "overdue"), 0);
    const json_t *k1 = json_array_get(s_get(complaints, "list"), 0);
    static const char *const complaint_members[] = {
        "complaint", "state",   "severity",    "category",   "channel", "ticket",
        "opened",    "ack_due", "resolve_due", "escalation", "overdue"};
    s_members(k1, complaint_members, sizeof complaint_members / sizeof complaint_members[0]);
    assert_string_equal(s_string(k1, "severity"), "medium");
    assert_string_equal(s_string(k1, "channel"), "counter");
    assert_string_equal(s_string(k1, "ack_due"), "2026-11-23T09:05:00.000Z");
    assert_true(json_is_null(s_get(k1, "resolve_due")));
    assert_true(json_is_null(s_get(k1, "escalation")));
    assert_true(json_is_false(s_get(k1, "overdue")));

    const json_t *dev = json_array_get(s_get(v, "devices"), 0);
    static const char *const device_members[] = {"device", "kind", "state", "detail", "since"};
    s_members(dev, device_members, 5);
    assert_string_equal(s_string(dev, "kind"), "kiosk");
    assert_string_equal(s_string(dev, "state"), "paper_out");
    assert_string_equal(s_string(dev, "since"), "2026-11-23T09:01:10.000Z");
    assert_int_equal(s_int(v, "devices_not_ok"), 1);

    const json_t *today = s_get(v, "today");
    static const char *const today_members[] = {"issued",
                                                "served",
                                                "no_shows",
                                                "cancelled",
                                                "transferred",
                                                "avg_wait_s",
                                                "max_wait_s",
                                                "avg_service_s",
                                                "complaints_opened",
                                                "complaints_resolved",
                                                "escalations",
                                                "satisfaction_avg",
                                                "feedback_count",
                                                "amount_sum",
                                                "outcomes",
                                                "opened",
                                                "late_s",
                                                "opening_devices",
                                                "patrols"};
    s_members(today, today_members, sizeof today_members / sizeof today_members[0]);
    assert_int_equal(s_int(today, "issued"), 2);
    assert_true(json_real_value(s_get(today, "satisfaction_avg")) == 4.5);
    assert_int_equal(s_int(today, "feedback_count"), 2);
    static const char *const outcome_members[] = {"done", "referred", "rejected_documents"};
    s_members(s_get(today, "outcomes"), outcome_members, 3);
    /* No manager's opening in the sample. */
    assert_true(json_is_null(s_get(today, "opened")));
    assert_int_equal(json_array_size(s_get(today, "opening_devices")), 0);
    assert_int_equal(s_int(today, "patrols"), 0);
    json_decref(v);

    /* Later, the complaint is overdue. */
    v = hb_hall_state_view(s, T0 + 6 * MIN);
    complaints = s_get(v, "complaints");
    assert_int_equal(s_int(complaints, "overdue"), 1);
    assert_true(json_is_true(s_get(json_array_get(s_get(complaints, "list"), 0), "overdue")));
    json_decref(v);

    /* An empty state's view. */
    hb_hall_state_t *e = hb_hall_state_new();
    v = hb_hall_state_view(e, now);
    assert_true(json_is_null(s_get(v, "at")));
    assert_true(json_is_null(s_get(v, "date")));
    assert_true(json_is_null(s_get(s_get(v, "today"), "satisfaction_avg")));
    json_decref(v);
    hb_hall_state_destroy(&e);
    hb_hall_state_destroy(&s);
}

HBT_TEST(test_names)
{
    (void)state;
    assert_string_equal(hb_ticket_state_name(HB_TICKET_WAITING), "waiting");
    assert_string_equal(hb_ticket_state_name(HB_TICKET_NO_SHOW), "no_show");
    assert_string_equal(hb_ticket_state_name(0), "unknown");
    assert_string_equal(hb_ticket_state_name(99), "unknown");
    assert_string_equal(hb_counter_state_name(HB_COUNTER_CLOSED), "closed");
    assert_string_equal(hb_counter_state_name(HB_COUNTER_PAUSED), "paused");
    assert_string_equal(hb_counter_state_name(-1), "unknown");
    assert_string_equal(hb_complaint_state_name(HB_COMPLAINT_ACKNOWLEDGED), "acknowledged");
    assert_string_equal(hb_complaint_state_name(0), "unknown");
}
