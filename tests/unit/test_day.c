/* day.h: the manuals' patrol rule (a table of staff on duty and how many
 * are drawn, computed independently), and a day read from events: only
 * the events of its own date count, the next day_started ends it, the
 * waits' 90th percentile by nearest rank, the counters' staff, business
 * types, patrol scores averaged per staff member, and the patrol checks
 * (unknown patrol, not drawn, scored twice). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "harness.h"
#include "world.h"
#include "hallbus/codec.h"
#include "hallbus/day.h"
#include "hallbus/error.h"
#include "runner.h"

#define SEC 1000LL
#define T0 1795086400000LL /* 2026-11-19T11:06:40Z: the day the stream names */

HBT_TEST_IN(test_draw_count, NULL, NULL)
{
    static const struct {
        size_t on_duty, drawn;
    } rows[] = {{0, 0},  {1, 1},   {3, 3},   {4, 4},  {5, 3},  {6, 3},  {7, 4},
                {10, 5}, {19, 10}, {20, 10}, {21, 7}, {25, 8}, {30, 9}, {64, 20}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (hb_patrol_draw_count(rows[i].on_duty) != rows[i].drawn)
            fail_msg("%zu on duty: %zu drawn, not %zu", rows[i].on_duty,
                     hb_patrol_draw_count(rows[i].on_duty), rows[i].drawn);
    /* Against the rule said another way: ceil(n/2) and ceil(3n/10). */
    for (size_t n = 5; n <= 64; n++) {
        double want = n <= 20 ? n / 2.0 : n * 0.3;
        size_t ceil_want = (size_t)want + ((double)(size_t)want < want - 1e-9);
        assert_int_equal(hb_patrol_draw_count(n), ceil_want);
    }
}

static void s_add(hb_day_t *d, uint64_t seq, int64_t at, const char *text)
{
    Hallbus__Envelope *env = hbt_event(at, text);
    assert_non_null(env);
    env->seq = seq;
    assert_int_equal(hb_day_add(d, env), 0);
    hb_envelope_free(env);
}

HBT_TEST_IN(test_day_read, NULL, NULL)
{
    assert_null(hb_day_new("2026-02-30"));
    hb_day_t *d = hb_day_new("2026-11-19");
    assert_non_null(d);
    uint64_t q = 1;
    /* The day before: a counter opened, a ticket issued; neither counts
     * in the day's volume, but the counter is still open. */
    s_add(d, q++, T0 - 86400 * SEC, "{'type':'day_started','date':'2026-11-18','timezone':'UTC'}");
    s_add(d, q++, T0 - 3600 * SEC,
          "{'type':'counter_opened','counter':'1','staff':'E1','services':['A']}");
    s_add(d, q++, T0 - 600 * SEC, "{'type':'work_logged','text':'yesterday'}");
    assert_false(hb_day_seen(d));
    s_add(d, q++, T0, "{'type':'day_started','date':'2026-11-19','timezone':'UTC'}");
    assert_true(hb_day_seen(d));
    s_add(d, q++, T0 + SEC,
          "{'type':'counter_opened','counter':'2','staff':'E2','services':['A']}");
    /* Ten tickets waiting 10, 20, ... 100 s: p90 by nearest rank is 90. */
    for (int i = 1; i <= 10; i++) {
        char ev[160];
        snprintf(ev, sizeof ev,
                 "{'type':'ticket_issued','ticket':'A%03d','service':'A','number':%d}", i, i);
        s_add(d, q++, T0 + 10 * SEC, ev);
    }
    for (int i = 1; i <= 10; i++) {
        char ev[160];
        snprintf(ev, sizeof ev, "{'type':'ticket_called','ticket':'A%03d','counter':'%d'}", i,
                 i % 2 + 1);
        s_add(d, q++, T0 + (10 + 10 * i) * SEC, ev);
        snprintf(ev, sizeof ev, "{'type':'service_started','ticket':'A%03d','counter':'%d'}", i,
                 i % 2 + 1);
        s_add(d, q++, T0 + (10 + 10 * i) * SEC, ev);
        snprintf(ev, sizeof ev,
                 "{'type':'service_completed','ticket':'A%03d','counter':'%d','business_type':'%s',"
                 "'outcome':'%s','amount':100}",
                 i, i % 2 + 1, i <= 7 ? "bill_payment" : "card_loss", i == 3 ? "referred" : "done");
        s_add(d, q++, T0 + (15 + 10 * i) * SEC, ev);
    }
    /* The rest of the day's records, 10 s apart. */
    static const struct {
        int64_t at_s;
        const char *event;
    } later[] = {
        {200,
         "{'type':'patrol_drawn','patrol':'P20261119-1','on_duty':['E1','E2','E3'],'drawn':['E1','"
         "E2','E3']}"},
        {210,
         "{'type':'patrol_scored','patrol':'P20261119-1','staff':'E1','smile':5,'initiative':4,"
         "'compliance':5,'speed':4,'accuracy':4}"},
        {220, "{'type':'patrol_drawn','patrol':'P20261119-2','on_duty':['E1','E2','E3','E4','E5'],"
              "'drawn':['E1','E2','E4']}"},
        {230,
         "{'type':'patrol_scored','patrol':'P20261119-2','staff':'E1','smile':4,'initiative':4,"
         "'compliance':5,'speed':3,'accuracy':4}"},
        {240, "{'type':'work_logged','text':'today'}"},
        {250,
         "{'type':'checklist_done','items':[{'item':'cleanliness','ok':true},{'item':'device:K1',"
         "'ok':false},{'item':'materials','ok':false}]}"},
        {260, "{'type':'hall_opened','failed':['K1'],'late_s':60}"},
        {270,
         "{'type':'appointment_booked','code':'12345678','service':'A','start_ms':1795090000000}"},
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        s_add(d, q++, T0 + later[i].at_s * SEC, later[i].event);
    assert_false(hb_day_over(d));
    s_add(d, q++, T0 + 86400 * SEC, "{'type':'day_started','date':'2026-11-20','timezone':'UTC'}");
    assert_true(hb_day_over(d));
    /* After the day: ignored. */
    s_add(d, q++, T0 + 86401 * SEC, "{'type':'work_logged','text':'tomorrow'}");

    assert_int_equal(hb_day_patrols(d), 2);
    assert_int_equal(hb_day_patrol_check(d, "P20261119-1", "E2"), 0);
    assert_int_equal(hb_day_patrol_check(d, "P20261119-1", "E1"), HB_ECONFLICT);
    assert_int_equal(hb_day_patrol_check(d, "P20261119-2", "E3"), HB_EINVAL);
    assert_int_equal(hb_day_patrol_check(d, "P20261119-3", "E1"), HB_ENOTFOUND);

    json_t *rec = hb_day_records(d);
    assert_int_equal(json_array_size(json_object_get(rec, "log")), 1);
    assert_string_equal(hbt_str(json_array_get(json_object_get(rec, "log"), 0), "text"), "today");
    json_decref(rec);

    json_t *r = hb_day_report(d, "H1", T0 + 90000 * SEC);
    json_t *svc = json_array_get(json_object_get(r, "services"), 0);
    assert_int_equal(hbt_int(svc, "issued"), 10);
    assert_int_equal(hbt_int(svc, "served"), 10);
    assert_int_equal(hbt_int(svc, "wait_max_s"), 100);
    assert_int_equal(hbt_int(svc, "wait_avg_s"), 55);
    assert_int_equal(hbt_int(svc, "wait_p90_s"), 90);
    assert_int_equal(hbt_int(svc, "service_avg_s"), 5);
    json_t *bts = json_object_get(r, "business_types");
    assert_int_equal(json_array_size(bts), 2);
    json_t *bill = json_array_get(bts, 0);
    if (strcmp(hbt_str(bill, "business_type"), "bill_payment") != 0)
        bill = json_array_get(bts, 1);
    assert_int_equal(hbt_int(bill, "count"), 7);
    assert_int_equal(hbt_int(bill, "amount"), 700);
    assert_int_equal(hbt_int(json_object_get(bill, "outcomes"), "referred"), 1);
    assert_int_equal(hbt_int(json_object_get(bill, "outcomes"), "done"), 6);
    /* Both counters served; counter 1, opened the day before, counted from
     * the day's start; both up to the next day's start (not `now`). */
    json_t *cs = json_object_get(r, "counters");
    assert_int_equal(json_array_size(cs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *c = json_array_get(cs, i);
        assert_int_equal(hbt_int(c, "served"), 5);
        assert_true(hbt_int(c, "open_s") <= 86400);
        assert_true(hbt_int(c, "open_s") >= 86399);
    }
    json_t *p = json_array_get(json_object_get(r, "patrols"), 0);
    assert_string_equal(hbt_str(p, "staff"), "E1");
    assert_int_equal(hbt_int(p, "scored"), 2);
    assert_true(json_real_value(json_object_get(p, "smile")) == 4.5);
    assert_true(json_real_value(json_object_get(p, "speed")) == 3.5);
    assert_true(json_real_value(json_object_get(p, "avg")) == 4.2);
    assert_int_equal(hbt_int(r, "checklist_failures"), 2);
    assert_int_equal(hbt_int(r, "late_s"), 60);
    assert_int_equal(hbt_int(json_object_get(r, "appointments"), "booked"), 1);
    json_decref(r);
    hb_day_destroy(&d);
    hb_day_destroy(&d);
}
