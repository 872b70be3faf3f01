/* Unit tests of the rollups' fold (hqd/reports/fold.c), the rules of
 * docs/REPORTS.md one by one: a ticket's figures go to the service it had
 * at each step (a transfer moves it), its wait is its first call's, its
 * service and score go to who served it; counters' open, busy and paused
 * seconds and devices' fault seconds are cut at local hours and days, and
 * at day_started; complaints are in or out of their deadlines and overdue
 * once; the day's first opening is measured against the posted hours; the
 * zone comes from the stream's day_started; saved state replays to the
 * same figures; the bounds hold. */
#include "fold.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "sim.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---------------------------------------------------- the collected cells */

typedef struct cells {
    struct entry {
        uint8_t key[RU_KEY_MAX];
        size_t klen;
        ru_cell_t cell;
    } * e;
    size_t n, cap;
} cells_t;

static ru_cell_t *s_find(cells_t *c, const uint8_t *key, size_t klen, bool make)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i].klen == klen && memcmp(c->e[i].key, key, klen) == 0)
            return &c->e[i].cell;
    if (!make)
        return NULL;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->e = realloc(c->e, c->cap * sizeof *c->e);
    }
    struct entry *e = &c->e[c->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, klen);
    e->klen = klen;
    return &e->cell;
}

static void s_emit(void *arg, const ru_key_t *keys, size_t n, const ru_contrib_t *c)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t kb[RU_KEY_MAX];
        size_t len = ru_key_encode(&keys[i], kb);
        ru_contrib_apply(c, s_find(arg, kb, len, true));
    }
}

static void s_cells_free(cells_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        ru_cell_free(&c->e[i].cell);
    free(c->e);
    memset(c, 0, sizeof *c);
}

/* The cell of (level, period, dim, hour, code, text); an empty one when
 * nothing went there. */
static const ru_cell_t *s_cell(cells_t *c, int level, int32_t period, int dim, int hour, int code,
                               const char *text)
{
    static ru_cell_t empty;
    ru_key_t k = {.hall = 1,
                  .level = (uint8_t)level,
                  .period = period,
                  .dim = (uint8_t)dim,
                  .hour = (uint8_t)hour,
                  .code = (uint8_t)code};
    snprintf(k.text, sizeof k.text, "%s", text ? text : "");
    uint8_t kb[RU_KEY_MAX];
    size_t len = ru_key_encode(&k, kb);
    const ru_cell_t *cell = s_find(c, kb, len, false);
    return cell ? cell : &empty;
}

static int32_t s_day(const char *date)
{
    int32_t d;
    assert_int_equal(hb_date_parse(date, &d), 0);
    return d;
}

/* ------------------------------------------------------------ the stream */

static const hb_policy_t *s_policy_of;
static const hb_policy_t *s_policy(void *arg, uint32_t hall)
{
    (void)arg;
    (void)hall;
    return s_policy_of;
}

/* Applies events given as JSON text, each with its "at". */
static void s_apply(ru_fold_t *f, cells_t *c, const char *const *events, size_t n)
{
    ru_fold_ctx_t ctx = {.emit = c ? s_emit : NULL, .emit_arg = c, .policy = s_policy};
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *j = json_loads(events[i], 0, &jerr);
        if (!j)
            fail_msg("bad test event %s: %s", events[i], jerr.text);
        Hallbus__Envelope *env = NULL;
        char err[256];
        if (hb_event_from_json(j, 0, INT64_MAX / 2, &env, err, sizeof err) != 0)
            fail_msg("test event %s does not decode: %s", events[i], err);
        json_decref(j);
        int32_t day;
        ru_fold_apply(f, env, &ctx, &day);
        hb_envelope_free(env);
    }
}

/* A measure of a cell and the value it must have. */
typedef struct {
    int metric;
    int64_t want;
} mv_t;

/* Checks the measures `want` lists (up to metric -1) of cell `c`, naming
 * the one that differs. */
static void s_expect_m(const ru_cell_t *c, const mv_t *want)
{
    for (size_t i = 0; want[i].metric >= 0; i++)
        if (c->m[want[i].metric] != want[i].want)
            fail_msg("measure %d (row %zu) is %lld, wanted %lld", want[i].metric, i,
                     (long long)c->m[want[i].metric], (long long)want[i].want);
}

/* A cell (level, period, dimension, hour, code, key as s_cell takes them)
 * and a measure it must have. */
typedef struct {
    int level;
    int32_t period;
    int dim, hour, code;
    const char *key;
    int metric;
    int64_t want;
} cell_want_t;

/* Checks each row of `want` (up to metric -1), naming the one that
 * differs. */
static void s_expect_cells(cells_t *c, const cell_want_t *want)
{
    for (size_t i = 0; want[i].metric >= 0; i++) {
        const cell_want_t *w = &want[i];
        const ru_cell_t *cell = s_cell(c, w->level, w->period, w->dim, w->hour, w->code, w->key);
        if (cell->m[w->metric] != w->want)
            fail_msg("row %zu: measure %d of dimension %d is %lld, wanted %lld", i, w->metric,
                     w->dim, (long long)cell->m[w->metric], (long long)w->want);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Folds the `n` events `ev` with a fold of its own: the cells. */
static cells_t s_fold(const char *const *ev, size_t n)
{
    ru_fold_t *f = ru_fold_new(1);
    assert_non_null(f);
    cells_t c = {0};
    s_apply(f, &c, ev, n);
    ru_fold_destroy(&f);
    return c;
}
#define D RU_LEVEL_DAY
#define M RU_LEVEL_MONTH

static void test_a_ticket_counts_where_it_was(void **state)
{
    (void)state;
    static const char *const ev[] = {
        "{\"type\":\"counter_opened\",\"at\":\"2026-10-05T09:00:00Z\",\"counter\":\"1\",\"staff\":"
        "\"E1\",\"services\":[\"B\"]}",
        "{\"type\":\"ticket_issued\",\"at\":\"2026-10-05T09:10:00Z\",\"ticket\":\"A001\","
        "\"service\":\"A\",\"priority\":\"vip\",\"source\":\"app\"}",
        "{\"type\":\"ticket_transferred\",\"at\":\"2026-10-05T09:11:00Z\",\"ticket\":\"A001\","
        "\"from_service\":\"A\",\"to_service\":\"B\"}",
        "{\"type\":\"ticket_called\",\"at\":\"2026-10-05T09:12:00Z\",\"ticket\":\"A001\","
        "\"counter\":\"1\",\"rule\":\"fifo\",\"wait_s\":100}",
        "{\"type\":\"ticket_recalled\",\"at\":\"2026-10-05T09:13:00Z\",\"ticket\":\"A001\","
        "\"counter\":\"1\",\"recall_count\":1}",
        /* A call again (the hall's engine calls a transferred ticket anew):
         * not its wait. */
        "{\"type\":\"ticket_called\",\"at\":\"2026-10-05T09:14:00Z\",\"ticket\":\"A001\","
        "\"counter\":\"1\",\"rule\":\"transfer\",\"wait_s\":240}",
        /* E2 serves at E1's counter: the service is E2's. */
        "{\"type\":\"service_started\",\"at\":\"2026-10-05T09:15:00Z\",\"ticket\":\"A001\","
        "\"counter\":\"1\",\"staff\":\"E2\"}",
        "{\"type\":\"service_completed\",\"at\":\"2026-10-05T09:20:00Z\",\"ticket\":\"A001\","
        "\"counter\":\"1\",\"business_type\":\"card_loss\",\"outcome\":\"referred\",\"amount\":500,"
        "\"duration_s\":300}",
        "{\"type\":\"satisfaction_scored\",\"at\":\"2026-10-05T09:21:00Z\",\"ticket\":\"A001\","
        "\"counter\":\"1\",\"score\":4}",
        /* A second score of the ticket counts too. */
        "{\"type\":\"satisfaction_scored\",\"at\":\"2026-10-05T09:22:00Z\",\"ticket\":\"A001\","
        "\"counter\":\"1\",\"score\":1}",
        "{\"type\":\"ticket_issued\",\"at\":\"2026-10-05T10:05:00Z\",\"ticket\":\"A002\","
        "\"service\":\"A\",\"priority\":\"appointment\",\"source\":\"kiosk\"}",
        "{\"type\":\"ticket_called\",\"at\":\"2026-10-05T10:06:00Z\",\"ticket\":\"A002\","
        "\"counter\":\"1\",\"rule\":\"fifo\",\"wait_s\":60}",
        "{\"type\":\"ticket_no_show\",\"at\":\"2026-10-05T10:09:00Z\",\"ticket\":\"A002\","
        "\"counter\":\"1\",\"recall_count\":2}",
        "{\"type\":\"ticket_issued\",\"at\":\"2026-10-05T10:30:00Z\",\"ticket\":\"A003\","
        "\"service\":\"A\",\"priority\":\"normal\",\"source\":\"staff\"}",
        "{\"type\":\"ticket_cancelled\",\"at\":\"2026-10-05T10:40:00Z\",\"ticket\":\"A003\","
        "\"reason\":\"left\"}",
    };
    s_policy_of = NULL;
    cells_t c = s_fold(ev, N(ev));
    int32_t d = s_day("2026-10-05"), mo = ru_month_of_day(d);
    const ru_cell_t *hall = s_cell(&c, D, d, RU_DIM_HALL, 0, 0, NULL);
    s_expect_m(hall, (const mv_t[]){{RU_M_ISSUED, 3},
                                    {RU_M_ISSUED_APP, 1},
                                    {RU_M_ISSUED_KIOSK, 1},
                                    {RU_M_ISSUED_STAFF, 1},
                                    {RU_M_ISSUED_APPOINTMENT, 1},
                                    {RU_M_CALLED, 2},
                                    {RU_M_WAIT_SUM_S, 160}, /* the first calls' waits */
                                    {-1, 0}});
    assert_int_equal(hall->wait.total, 2);
    s_expect_m(hall, (const mv_t[]){{RU_M_RECALLED, 1},
                                    {RU_M_SERVED, 1},
                                    {RU_M_SERVED_REFERRED, 1},
                                    {RU_M_AMOUNT, 500},
                                    {RU_M_SERVICE_SUM_S, 300},
                                    {RU_M_NO_SHOWS, 1},
                                    {RU_M_CANCELLED, 1},
                                    {RU_M_TRANSFERRED, 1},
                                    {RU_M_SAT_COUNT, 2},
                                    {RU_M_EVENTS, (int64_t)N(ev)},
                                    {-1, 0}});
    /* The month holds the same. */
    assert_true(ru_cell_equal(hall, s_cell(&c, M, mo, RU_DIM_HALL, 0, 0, NULL)));
    /* Issued and transferred under A (vip = 2), served and scored under B. */
    const ru_cell_t *a = s_cell(&c, D, d, RU_DIM_SLOT, 9, 2, "A");
    const ru_cell_t *b = s_cell(&c, D, d, RU_DIM_SLOT, 9, 2, "B");
    assert_int_equal(a->m[RU_M_ISSUED], 1);
    assert_int_equal(a->m[RU_M_TRANSFERRED], 1);
    s_expect_m(b, (const mv_t[]){{RU_M_CALLED, 1},
                                 {RU_M_SERVED, 1},
                                 {RU_M_SAT_SUM, 5}, /* 4 + 1 */
                                 {-1, 0}});
    assert_int_equal(s_cell(&c, M, mo, RU_DIM_SERVICE, 0, 2, "B")->m[RU_M_SERVED], 1);
    /* Served by E2; the no-show at E1's counter (E1 opened it) is E1's. */
    s_expect_cells(&c,
                   (const cell_want_t[]){{D, d, RU_DIM_STAFF, 0, 0, "E2", RU_M_SERVED, 1},
                                         {D, d, RU_DIM_STAFF, 0, 0, "E2", RU_M_SAT_COUNT, 2},
                                         {D, d, RU_DIM_STAFF, 0, 0, "E2", RU_M_NO_SHOWS, 1},
                                         {D, d, RU_DIM_BUSINESS, 0, 0, "card_loss", RU_M_SERVED, 1},
                                         {.metric = -1}});
    /* The hours. */
    s_expect_cells(&c, (const cell_want_t[]){{D, d, RU_DIM_HOUR, 9, 0, NULL, RU_M_ISSUED, 1},
                                             {D, d, RU_DIM_HOUR, 10, 0, NULL, RU_M_ISSUED, 2},
                                             {.metric = -1}});
    s_cells_free(&c);
}

static void test_counter_and_device_time_is_cut(void **state)
{
    (void)state;
    static const char *const ev[] = {
        "{\"type\":\"counter_opened\",\"at\":\"2026-10-05T22:30:00Z\",\"counter\":\"2\",\"staff\":"
        "\"E1\",\"services\":[\"A\"]}",
        "{\"type\":\"counter_paused\",\"at\":\"2026-10-05T23:15:00Z\",\"counter\":\"2\",\"reason\":"
        "\"meal\"}",
        "{\"type\":\"counter_resumed\",\"at\":\"2026-10-05T23:45:00Z\",\"counter\":\"2\"}",
        "{\"type\":\"device_status\",\"at\":\"2026-10-05T23:30:00Z\",\"device\":\"k1\",\"kind\":"
        "\"kiosk\",\"state\":\"paper_out\"}",
        "{\"type\":\"ticket_called\",\"at\":\"2026-10-05T23:50:00Z\",\"ticket\":\"X1\",\"counter\":"
        "\"2\",\"rule\":\"fifo\",\"wait_s\":5}",
        /* A new day starts: what runs is counted up to here. */
        "{\"type\":\"day_started\",\"at\":\"2026-10-06T00:10:00Z\",\"date\":\"2026-10-06\","
        "\"timezone\":\"UTC\",\"utc_offset_s\":0}",
        "{\"type\":\"service_completed\",\"at\":\"2026-10-06T00:20:00Z\",\"ticket\":\"X1\","
        "\"counter\":\"2\",\"business_type\":\"b\",\"outcome\":\"done\",\"duration_s\":1}",
        "{\"type\":\"device_status\",\"at\":\"2026-10-06T00:40:00Z\",\"device\":\"k1\",\"kind\":"
        "\"kiosk\",\"state\":\"ok\"}",
        "{\"type\":\"counter_closed\",\"at\":\"2026-10-06T01:00:00Z\",\"counter\":\"2\"}",
    };
    cells_t c = s_fold(ev, N(ev));
    int32_t d1 = s_day("2026-10-05"), d2 = d1 + 1;
    /* Day 1: open 22:30-23:15 and 23:45-24:00 (60 min), paused 30 min,
     * busy 23:50-24:00. Day 2: open 00:00-01:00, busy to 00:20. */
    const ru_cell_t *h1 = s_cell(&c, D, d1, RU_DIM_HALL, 0, 0, NULL);
    const ru_cell_t *h2 = s_cell(&c, D, d2, RU_DIM_HALL, 0, 0, NULL);
    s_expect_m(h1, (const mv_t[]){{RU_M_COUNTER_OPEN_S, 3600},
                                  {RU_M_COUNTER_PAUSED_S, 1800},
                                  {RU_M_COUNTER_BUSY_S, 600},
                                  {-1, 0}});
    assert_int_equal(h2->m[RU_M_COUNTER_OPEN_S], 3600);
    assert_int_equal(h2->m[RU_M_COUNTER_BUSY_S], 1200);
    /* By hour: 22:30-23:00 open, 23:00 hour: 15 + 15 open, 15 + 15 paused. */
    s_expect_cells(
        &c, (const cell_want_t[]){{D, d1, RU_DIM_HOUR, 22, 0, NULL, RU_M_COUNTER_OPEN_S, 1800},
                                  {D, d1, RU_DIM_HOUR, 23, 0, NULL, RU_M_COUNTER_OPEN_S, 1800},
                                  {D, d1, RU_DIM_HOUR, 23, 0, NULL, RU_M_COUNTER_PAUSED_S, 1800},
                                  {D, d1, RU_DIM_COUNTER, 0, 0, "2", RU_M_COUNTER_OPEN_S, 3600},
                                  {.metric = -1}});
    /* The kiosk: 23:30 to 00:40, cut at midnight (and at day_started). */
    assert_int_equal(h1->m[RU_M_DEVICE_FAULT_S], 1800);
    assert_int_equal(h2->m[RU_M_DEVICE_FAULT_S], 2400);
    assert_int_equal(s_cell(&c, D, d2, RU_DIM_DEVICE, 0, 1, NULL)->m[RU_M_DEVICE_FAULT_S], 2400);
    s_cells_free(&c);
}

static void test_complaints_deadlines(void **state)
{
    (void)state;
    /* K1: acknowledged in time, resolved late: overdue once. K2:
     * escalated automatically for a missed acknowledgement (overdue), then
     * acknowledged late and resolved late: still once. K3: no deadlines. */
    static const char *const ev[] = {
        "{\"type\":\"complaint_opened\",\"at\":\"2026-10-05T10:00:00Z\",\"complaint\":\"K1\","
        "\"channel\":\"phone\",\"category\":\"fees\",\"severity\":\"low\",\"text\":\"x\",\"ack_due_"
        "ms\":1791196800000,\"resolve_due_ms\":1791200400000}",
        "{\"type\":\"complaint_acknowledged\",\"at\":\"2026-10-05T10:30:00Z\",\"complaint\":\"K1\","
        "\"by\":\"M\"}",
        "{\"type\":\"complaint_acknowledged\",\"at\":\"2026-10-05T10:31:00Z\",\"complaint\":\"K1\","
        "\"by\":\"M\"}",
        "{\"type\":\"complaint_resolved\",\"at\":\"2026-10-05T13:00:00Z\",\"complaint\":\"K1\","
        "\"resolution\":\"r\",\"customer_satisfied\":true}",
        "{\"type\":\"complaint_opened\",\"at\":\"2026-10-05T10:00:00Z\",\"complaint\":\"K2\","
        "\"channel\":\"app\",\"category\":\"staff_attitude\",\"severity\":\"high\",\"text\":\"x\","
        "\"ack_due_ms\":1791196800000,\"resolve_due_ms\":1791200400000}",
        "{\"type\":\"complaint_escalated\",\"at\":\"2026-10-05T11:00:00Z\",\"complaint\":\"K2\","
        "\"level\":\"duty_manager\",\"reason\":\"late\",\"automatic\":true,\"missed\":\"ack\"}",
        "{\"type\":\"complaint_acknowledged\",\"at\":\"2026-10-05T11:30:00Z\",\"complaint\":\"K2\","
        "\"by\":\"M\"}",
        "{\"type\":\"complaint_resolved\",\"at\":\"2026-10-05T14:00:00Z\",\"complaint\":\"K2\","
        "\"resolution\":\"r\",\"customer_satisfied\":false}",
        "{\"type\":\"complaint_opened\",\"at\":\"2026-10-05T10:00:00Z\",\"complaint\":\"K3\","
        "\"channel\":\"app\",\"category\":\"fees\",\"severity\":\"low\",\"text\":\"x\"}",
        "{\"type\":\"complaint_escalated\",\"at\":\"2026-10-05T11:00:00Z\",\"complaint\":\"K3\","
        "\"level\":\"region\",\"reason\":\"asked\",\"automatic\":false}",
        "{\"type\":\"complaint_resolved\",\"at\":\"2026-10-08T10:00:00Z\",\"complaint\":\"K3\","
        "\"resolution\":\"r\",\"customer_satisfied\":true}",
    };
    cells_t c = s_fold(ev, N(ev));
    int32_t d = s_day("2026-10-05");
    const ru_cell_t *h = s_cell(&c, D, d, RU_DIM_HALL, 0, 0, NULL);
    s_expect_m(h, (const mv_t[]){{RU_M_COMPLAINTS_OPENED, 3},
                                 {RU_M_COMPLAINTS_ACKNOWLEDGED, 2}, /* K1 once, K2 */
                                 {RU_M_COMPLAINTS_ACK_IN_SLA, 1},
                                 {RU_M_COMPLAINTS_RESOLVED, 2},
                                 {RU_M_COMPLAINTS_RESOLVED_IN_SLA, 0},
                                 {RU_M_COMPLAINTS_OVERDUE, 2},
                                 {RU_M_COMPLAINTS_ESCALATED, 2},
                                 {RU_M_COMPLAINTS_SATISFIED, 1},
                                 {-1, 0}});
    /* K3's resolution counts on its own day, in time. */
    const ru_cell_t *h8 = s_cell(&c, D, d + 3, RU_DIM_HALL, 0, 0, NULL);
    assert_int_equal(h8->m[RU_M_COMPLAINTS_RESOLVED_IN_SLA], 1);
    /* By channel (phone = 2, app = 5) and category. */
    assert_int_equal(s_cell(&c, D, d, RU_DIM_COMPLAINT, 0, 2, "fees")->m[RU_M_COMPLAINTS_OPENED],
                     1);
    assert_int_equal(
        s_cell(&c, D, d, RU_DIM_COMPLAINT, 0, 5, "staff_attitude")->m[RU_M_COMPLAINTS_OVERDUE], 1);
    s_cells_free(&c);
}

static void test_opening_against_posted_hours_and_zone(void **state)
{
    (void)state;
    json_t *doc =
        json_loads("{\"timezone\":\"Asia/Shanghai\",\"opening_hours\":{\"mon\":[\"09:00-17:00\"],"
                   "\"tue\":[\"09:00-17:00\"],\"sat\":[]}}",
                   0, NULL);
    hb_policy_t *p = NULL;
    char err[256];
    assert_int_equal(hb_policy_new(doc, &p, err, sizeof err), 0);
    json_decref(doc);
    s_policy_of = p;
    static const char *const ev[] = {
        /* Monday 5 October, Shanghai (UTC+8): the policy's zone counts
         * before the stream names one. 09:20 local is 20 minutes late. */
        "{\"type\":\"counter_opened\",\"at\":\"2026-10-05T01:20:00Z\",\"counter\":\"1\",\"staff\":"
        "\"E1\",\"services\":[\"A\"]}",
        "{\"type\":\"counter_opened\",\"at\":\"2026-10-05T02:00:00Z\",\"counter\":\"2\",\"staff\":"
        "\"E2\",\"services\":[\"A\"]}",
        /* Tuesday: 08:55 local, early. */
        "{\"type\":\"counter_opened\",\"at\":\"2026-10-06T00:55:00Z\",\"counter\":\"1\",\"staff\":"
        "\"E1\",\"services\":[\"A\"]}",
        /* Saturday: no posted hours, no measure. */
        "{\"type\":\"counter_opened\",\"at\":\"2026-10-10T02:00:00Z\",\"counter\":\"1\",\"staff\":"
        "\"E1\",\"services\":[\"A\"]}",
        /* The stream's zone: Berlin from here; 23:30 UTC is the next day
         * in Shanghai but the same day in Berlin. */
        "{\"type\":\"day_started\",\"at\":\"2026-10-12T06:00:00Z\",\"date\":\"2026-10-12\","
        "\"timezone\":\"Europe/Berlin\",\"utc_offset_s\":7200}",
        "{\"type\":\"ticket_issued\",\"at\":\"2026-10-12T21:30:00Z\",\"ticket\":\"Z1\",\"service\":"
        "\"A\",\"priority\":\"normal\",\"source\":\"kiosk\"}",
    };
    ru_fold_t *f = ru_fold_new(1);
    cells_t c = {0};
    s_apply(f, &c, ev, N(ev));
    int32_t mon = s_day("2026-10-05");
    const ru_cell_t *h = s_cell(&c, D, mon, RU_DIM_HALL, 0, 0, NULL);
    s_expect_m(h, (const mv_t[]){{RU_M_OPENING_DAYS, 1},
                                 {RU_M_OPENING_LATE_DAYS, 1},
                                 {RU_M_OPENING_LATE_S, 20 * 60},
                                 {-1, 0}});
    h = s_cell(&c, D, mon + 1, RU_DIM_HALL, 0, 0, NULL);
    assert_int_equal(h->m[RU_M_OPENING_DAYS], 1);
    assert_int_equal(h->m[RU_M_OPENING_LATE_DAYS], 0);
    assert_int_equal(s_cell(&c, D, mon + 5, RU_DIM_HALL, 0, 0, NULL)->m[RU_M_OPENING_DAYS], 0);
    assert_string_equal(ru_fold_timezone(f), "Europe/Berlin");
    int32_t d12 = s_day("2026-10-12");
    s_expect_cells(&c, (const cell_want_t[]){{D, d12, RU_DIM_HALL, 0, 0, NULL, RU_M_ISSUED, 1},
                                             {D, d12, RU_DIM_HOUR, 23, 0, NULL, RU_M_ISSUED, 1},
                                             {.metric = -1}});
    ru_fold_destroy(&f);
    s_cells_free(&c);
    hb_policy_free(&p);
    s_policy_of = NULL;
}

/* A simulated day's events as JSON texts. */
static char **s_sim_day(size_t *n)
{
    hb_sim_hall_t *h = hb_sim_hall_new(99, 0, 1791190800000LL); /* 2026-10-05T09:00Z */
    char **out = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        int64_t t;
        json_t *ev = NULL;
        if (hb_sim_next(h, &t, &ev) != 0)
            break;
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            out = realloc(out, cap * sizeof *out);
        }
        out[(*n)++] = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
    }
    hb_sim_hall_destroy(&h);
    return out;
}

static void test_saved_state_replays_the_same(void **state)
{
    (void)state;
    size_t n;
    char **ev = s_sim_day(&n);
    assert_true(n > 200);
    cells_t whole = {0}, parts = {0};
    ru_fold_t *f = ru_fold_new(1);
    s_apply(f, &whole, (const char *const *)ev, n);
    ru_fold_destroy(&f);
    /* Saved at every third of the day, restored, replayed on. */
    f = ru_fold_new(1);
    size_t cut[] = {0, n / 3, 2 * n / 3, n};
    for (int k = 0; k < 3; k++) {
        s_apply(f, &parts, (const char *const *)ev + cut[k], cut[k + 1] - cut[k]);
        uint8_t *blob;
        size_t len;
        assert_int_equal(ru_fold_encode(f, &blob, &len), 0);
        ru_fold_destroy(&f);
        assert_int_equal(ru_fold_decode(1, blob, len, &f), 0);
        /* A damaged state is refused, not half read. */
        ru_fold_t *bad = NULL;
        if (len > 2)
            assert_int_equal(ru_fold_decode(1, blob, len - 1, &bad), HB_EPARSE);
        blob[0] = 9;
        assert_int_equal(ru_fold_decode(1, blob, len, &bad), HB_EPARSE);
        free(blob);
    }
    ru_fold_destroy(&f);
    assert_int_equal(whole.n, parts.n);
    for (size_t i = 0; i < whole.n; i++) {
        const ru_cell_t *p = s_find(&parts, whole.e[i].key, whole.e[i].klen, false);
        assert_non_null(p);
        assert_true(ru_cell_equal(&whole.e[i].cell, p));
    }
    /* Replaying without counting (a restart) changes the state only. */
    cells_t none = {0};
    f = ru_fold_new(1);
    s_apply(f, NULL, (const char *const *)ev, n);
    assert_int_equal(none.n, 0);
    ru_fold_destroy(&f);
    for (size_t i = 0; i < n; i++)
        free(ev[i]);
    free(ev);
    s_cells_free(&whole);
    s_cells_free(&parts);
}

static void test_bounds_and_times_out_of_range(void **state)
{
    (void)state;
    ru_fold_t *f = ru_fold_new(1);
    cells_t c = {0};
    char text[256];
    ru_fold_ctx_t ctx = {.emit = s_emit, .emit_arg = &c};
    /* More live tickets than it remembers: the oldest go, all count. */
    for (int i = 0; i < RU_FOLD_TICKETS_MAX + 100; i++) {
        snprintf(text, sizeof text,
                 "{\"type\":\"ticket_issued\",\"at\":\"2026-10-05T10:00:00Z\",\"ticket\":\"T%d\","
                 "\"service\":\"A\",\"priority\":\"normal\",\"source\":\"kiosk\"}",
                 i);
        const char *one[] = {text};
        s_apply(f, &c, one, 1);
    }
    assert_int_equal(ru_fold_tickets(f), RU_FOLD_TICKETS_MAX);
    assert_int_equal(ru_fold_dropped(f), 100);
    assert_int_equal(s_cell(&c, D, s_day("2026-10-05"), RU_DIM_HALL, 0, 0, NULL)->m[RU_M_ISSUED],
                     RU_FOLD_TICKETS_MAX + 100);
    /* An event stamped before 2000 counts for nothing. */
    Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT;
    Hallbus__TicketIssued ti = HALLBUS__TICKET_ISSUED__INIT;
    ti.ticket = "OLD";
    ti.service = "A";
    env.at_ms = 1000;
    env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_ISSUED;
    env.ticket_issued = &ti;
    size_t before = c.n;
    int32_t day;
    ru_fold_apply(f, &env, &ctx, &day);
    assert_int_equal(day, INT32_MIN);
    assert_int_equal(c.n, before);
    /* Nor does a score of 9 (HQ stores it with a flag). */
    Hallbus__SatisfactionScored sc = HALLBUS__SATISFACTION_SCORED__INIT;
    sc.ticket = "T1";
    sc.score = 9;
    env.at_ms = 1791190800000LL;
    env.body_case = HALLBUS__ENVELOPE__BODY_SATISFACTION_SCORED;
    env.satisfaction_scored = &sc;
    ru_fold_apply(f, &env, &ctx, &day);
    assert_int_equal(s_cell(&c, D, s_day("2026-10-05"), RU_DIM_HALL, 0, 0, NULL)->m[RU_M_SAT_COUNT],
                     0);
    /* Bytes that do not decode count for nothing either. */
    ru_fold_apply_bytes(f, (const uint8_t *)"\xff\xff\xff", 3, &ctx, &day);
    assert_int_equal(day, INT32_MIN);
    ru_fold_destroy(&f);
    s_cells_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_ticket_counts_where_it_was),
        cmocka_unit_test(test_counter_and_device_time_is_cut),
        cmocka_unit_test(test_complaints_deadlines),
        cmocka_unit_test(test_opening_against_posted_hours_and_zone),
        cmocka_unit_test(test_saved_state_replays_the_same),
        cmocka_unit_test(test_bounds_and_times_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
