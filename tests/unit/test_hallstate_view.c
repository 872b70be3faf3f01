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

/* Checks that `o` has each member of the JSON object `want` with the same
 * value and type (a whole number is no real). */
static void s_expect(const json_t *o, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    const char *key;
    json_t *value;
    json_object_foreach (w, key, value) {
        if (!json_equal(s_get(o, key), value)) {
            char *got = json_dumps(s_get(o, key), JSON_ENCODE_ANY);
            fail_msg("member %s is %s, wanted %s", key, got, want);
        }
    }
    json_decref(w);
}

/* The array `key` of `o`, which must hold two elements: those. */
static void s_two(const json_t *o, const char *key, const json_t **first, const json_t **second)
{
    const json_t *a = s_get(o, key);
    assert_int_equal(json_array_size(a), 2);
    *first = json_array_get(a, 0);
    *second = json_array_get(a, 1);
}

/* Checks that `o` has exactly the members `names` lists (separated by
 * spaces). */
static void s_members(const json_t *o, const char *names)
{
    size_t n = 0;
    for (const char *p = names; *p;) {
        size_t len = strcspn(p, " ");
        char name[64];
        assert_true(len > 0 && len < sizeof name);
        memcpy(name, p, len);
        name[len] = '\0';
        s_get(o, name);
        n++;
        p += len;
        p += strspn(p, " ");
    }
    assert_int_equal(json_object_size(o), n);
}

HBT_TEST(test_view)
{
    (void)state;
    hb_hall_state_t *s = hbt_state_sample(T0);
    int64_t now = T0 + 120 * SEC;
    json_t *v = hb_hall_state_view(s, now);
    assert_non_null(v);
    s_members(
        v,
        "seq at date waiting longest_wait_s services counters counters_open counters_busy tickets "
        "complaints devices devices_not_ok today policy_version calendar_version anomalies");
    assert_int_equal(s_int(v, "seq"), s->seq);
    s_expect(v, "{\"at\":\"2026-11-23T09:01:20.000Z\",\"date\":\"2026-11-23\",\"waiting\":1,"
                "\"longest_wait_s\":90,\"policy_version\":3,\"anomalies\":0}");

    const json_t *svc = json_array_get(s_get(v, "services"), 0);
    s_members(svc, "service waiting oldest_wait_s next_number issued served no_shows cancelled "
                   "avg_wait_s max_wait_s avg_service_s");
    s_expect(svc, "{\"service\":\"A\",\"oldest_wait_s\":90,\"next_number\":3,\"issued\":2,\"avg_"
                  "wait_s\":60,\"max_wait_s\":60}");

    const json_t *c1, *c2;
    s_two(v, "counters", &c1, &c2);
    s_members(c1, "counter state staff services ticket since open_s busy_s utilisation served");
    s_expect(c1, "{\"state\":\"calling\",\"ticket\":\"A001\",\"since\":\"2026-11-23T09:01:00."
                 "000Z\",\"open_s\":120,\"busy_s\":60,\"utilisation\":0.5}");
    assert_int_equal(json_array_size(s_get(c1, "services")), 1);
    s_expect(c2, "{\"state\":\"paused\",\"ticket\":null,\"open_s\":60,\"utilisation\":0.0}");
    s_expect(v, "{\"counters_open\":1,\"counters_busy\":1}");

    const json_t *t1, *t2;
    s_two(v, "tickets", &t1, &t2);
    s_members(t1, "ticket service priority state counter issued wait_s recalls transferred");
    s_expect(t1, "{\"state\":\"called\",\"priority\":\"normal\",\"counter\":\"1\",\"issued\":"
                 "\"2026-11-23T09:00:00.000Z\",\"wait_s\":60}");
    s_expect(t2, "{\"priority\":\"vip\",\"counter\":null,\"wait_s\":90}");

    const json_t *complaints = s_get(v, "complaints");
    s_members(complaints, "open overdue list");
    s_expect(complaints, "{\"open\":1,\"overdue\":0}");
    const json_t *k1 = json_array_get(s_get(complaints, "list"), 0);
    s_members(k1, "complaint state severity category channel ticket opened ack_due resolve_due "
                  "escalation overdue");
    s_expect(k1, "{\"severity\":\"medium\",\"channel\":\"counter\",\"ack_due\":\"2026-11-23T09:05:"
                 "00.000Z\",\"resolve_due\":null,\"escalation\":null,\"overdue\":false}");

    const json_t *dev = json_array_get(s_get(v, "devices"), 0);
    s_members(dev, "device kind state detail since");
    s_expect(dev,
             "{\"kind\":\"kiosk\",\"state\":\"paper_out\",\"since\":\"2026-11-23T09:01:10.000Z\"}");
    s_expect(v, "{\"devices_not_ok\":1}");

    const json_t *today = s_get(v, "today");
    s_members(today,
              "issued served no_shows cancelled transferred avg_wait_s max_wait_s avg_service_s "
              "complaints_opened complaints_resolved escalations satisfaction_avg feedback_count "
              "amount_sum outcomes opened late_s opening_devices patrols past_day_events");
    s_expect(today, "{\"issued\":2,\"satisfaction_avg\":4.5,\"feedback_count\":2}");
    s_members(s_get(today, "outcomes"), "done referred rejected_documents");
    /* No manager's opening in the sample. */
    s_expect(today, "{\"opened\":null}");
    assert_int_equal(json_array_size(s_get(today, "opening_devices")), 0);
    s_expect(today, "{\"patrols\":0}");
    json_decref(v);

    /* Later, the complaint is overdue. */
    v = hb_hall_state_view(s, T0 + 6 * MIN);
    complaints = s_get(v, "complaints");
    s_expect(complaints, "{\"overdue\":1}");
    assert_true(json_is_true(s_get(json_array_get(s_get(complaints, "list"), 0), "overdue")));
    json_decref(v);

    /* An empty state's view. */
    hb_hall_state_t *e = hb_hall_state_new();
    v = hb_hall_state_view(e, now);
    s_expect(v, "{\"at\":null,\"date\":null}");
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
