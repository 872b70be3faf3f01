/* Unit tests of the alert rules (hqd/alerts/alerts.c) on hall states built by the
 * real reducer from events and on policies read by hb_policy_new, with the
 * clock passed by hand: each kind raised exactly when its threshold is
 * reached (not a second before) and gone when its condition ends; nothing
 * for a closed hall outside its hours but complaint deadlines; offline only
 * during opening hours after the grace; the state of an offline hall taken
 * as of the moment the link went down; the opening's start as
 * hb_policy_open_at sees it, across clock changes; the bound and the order
 * of a set; the diff raising once and clearing once, also at the bound;
 * and, printed, how many halls a second one thread evaluates. */
#include "alerts.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

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

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* Monday 2026-11-30 00:00 UTC; the test policy's zone is UTC. */
#define MON 1795996800000LL

/* Day `d` after Monday 2026-11-30 (0 = Monday), at h:m:s UTC. */
static int64_t s_at(int d, int h, int m, int s)
{
    return MON + (int64_t)d * DAY + (int64_t)h * HOUR + (int64_t)m * MIN + (int64_t)s * SEC;
}

/* Monday to Friday with a lunch break, Saturday mornings, closed Sunday;
 * Christmas Eve short, Christmas Day (a Friday) a holiday, a closure over
 * 28-29 December. */
static const char *const s_policy_text =
    "{'timezone':'UTC',"
    " 'opening_hours':{'mon':['09:00-12:30','13:30-17:00'],'tue':['09:00-12:30','13:30-17:00'],"
    "   'wed':['09:00-12:30','13:30-17:00'],'thu':['09:00-12:30','13:30-17:00'],"
    "   'fri':['09:00-12:30','13:30-17:00'],'sat':['10:00-14:00'],'sun':[]},"
    " 'special_days':{'2026-12-24':{'hours':['09:00-12:00']},'2026-12-25':{'hours':[]}},"
    " 'closures':{'works':{'from':'2026-12-28','to':'2026-12-29'}},"
    " 'sla':{'max_wait_s':{'*:*':1200,'A:*':600,'A:vip':300},"
    "        'complaint_ack_s':{'*':14400},'complaint_resolve_s':{'*':57600}},"
    " 'diversion':{'threshold':3},"
    " 'alerts':{'device_fault_s':1800,'not_open_grace_s':300}}";

typedef struct {
    hb_hall_state_t *s;
    hb_policy_t *p;
    alerts_params_t params;
    alert_set_t set;
} hall_t;

static void s_day(hall_t *h, int d)
{
    char date[11];
    hb_date_format(hb_tz_local_day(h->p->tz, s_at(d, 0, 0, 0)), date);
    hbt_okf(h->s, s_at(d, 0, 0, 0), "{'type':'day_started','date':'%s','timezone':'UTC'}", date);
}

static void s_counter(hall_t *h, int64_t at, const char *what, const char *counter)
{
    if (strcmp(what, "opened") == 0)
        hbt_okf(h->s, at,
                "{'type':'counter_opened','counter':'%s','staff':'E1','services':['A','B']}",
                counter);
    else
        hbt_okf(h->s, at, "{'type':'counter_%s','counter':'%s'}", what, counter);
}

static void s_call(hall_t *h, int64_t at, const char *ticket, const char *counter)
{
    hbt_okf(h->s, at, "{'type':'ticket_called','ticket':'%s','counter':'%s'}", ticket, counter);
}

static int s_setup(void **state)
{
    hall_t *h = calloc(1, sizeof *h);
    h->s = hb_hall_state_new();
    assert_non_null(h->s);
    h->p = hbt_policy(s_policy_text);
    alerts_params_default(&h->params);
    *state = h;
    return 0;
}

static int s_teardown(void **state)
{
    hall_t *h = *state;
    hb_hall_state_destroy(&h->s);
    hb_policy_free(&h->p);
    free(h);
    return 0;
}

/* Evaluates the hall online at `now`. */
static const alert_set_t *s_eval(hall_t *h, int64_t now)
{
    alerts_eval(h->s, h->p, &h->params, true, 0, now, &h->set);
    return &h->set;
}

static const alert_set_t *s_eval_offline(hall_t *h, int64_t since, int64_t now)
{
    alerts_eval(h->s, h->p, &h->params, false, since, now, &h->set);
    return &h->set;
}

static const alert_t *s_find(const alert_set_t *set, int kind, const char *subject)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->alerts[i].kind == kind && strcmp(set->alerts[i].subject, subject) == 0)
            return &set->alerts[i];
    return NULL;
}

static size_t s_count_kind(const alert_set_t *set, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++)
        n += set->alerts[i].kind == kind;
    return n;
}

static void s_dump(const alert_set_t *set)
{
    for (size_t i = 0; i < set->n; i++)
        print_message("  %s %s: %s\n", alert_kind_name(set->alerts[i].kind), set->alerts[i].subject,
                      set->alerts[i].detail);
}

/* Asserts the condition is absent at `before` and present from `at`. */
static const alert_t *s_edge(hall_t *h, int64_t before, int64_t at, int kind, const char *subject)
{
    if (s_find(s_eval(h, before), kind, subject)) {
        s_dump(&h->set);
        fail_msg("%s %s already at %lld", alert_kind_name(kind), subject, (long long)before);
    }
    const alert_t *a = s_find(s_eval(h, at), kind, subject);
    if (!a) {
        s_dump(&h->set);
        fail_msg("%s %s missing at %lld", alert_kind_name(kind), subject, (long long)at);
    }
    return a;
}

/* A staffed hall on Monday: a counter open from 08:55. */
static void s_staffed_monday(hall_t *h)
{
    s_day(h, 0);
    s_counter(h, s_at(0, 8, 55, 0), "opened", "1");
}

/* --------------------------------------------------------- wait_sla ---- */

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_wait_sla)
{
    hall_t *h = *state;
    s_staffed_monday(h);
    hbt_issue(h->s, s_at(0, 10, 0, 0), "A001", "A", "normal");
    hbt_issue(h->s, s_at(0, 10, 1, 0), "A002", "A", "vip");
    hbt_issue(h->s, s_at(0, 10, 2, 0), "B001", "B", "normal");
    hbt_issue(h->s, s_at(0, 10, 3, 0), "A003", "A", "normal");
    /* A normal: A:* is 600 s. */
    const alert_t *a =
        s_edge(h, s_at(0, 10, 9, 59), s_at(0, 10, 10, 0), ALERT_WAIT_SLA, "A:normal");
    assert_int_equal(a->value, 600);
    assert_int_equal(a->threshold, 600);
    assert_int_equal(a->since_ms, s_at(0, 10, 10, 0));
    assert_non_null(strstr(a->detail, "ticket A001"));
    /* A vip: A:vip is 300 s. */
    a = s_edge(h, s_at(0, 10, 5, 59), s_at(0, 10, 6, 0), ALERT_WAIT_SLA, "A:vip");
    assert_int_equal(a->threshold, 300);
    /* B normal: no B rule, *:* is 1200 s. */
    a = s_edge(h, s_at(0, 10, 21, 59), s_at(0, 10, 22, 0), ALERT_WAIT_SLA, "B:normal");
    assert_int_equal(a->threshold, 1200);
    /* The value is the longest wait of the pair. */
    a = s_find(s_eval(h, s_at(0, 10, 20, 50)), ALERT_WAIT_SLA, "A:normal");
    assert_non_null(a);
    assert_int_equal(a->value, 1250);
    assert_int_equal(s_count_kind(&h->set, ALERT_WAIT_SLA), 2);
    /* A001 is called: A003 still breaches (720 s at 10:15), with its wait. */
    s_call(h, s_at(0, 10, 15, 0), "A001", "1");
    a = s_find(s_eval(h, s_at(0, 10, 15, 0)), ALERT_WAIT_SLA, "A:normal");
    assert_non_null(a);
    assert_int_equal(a->value, 720);
    assert_non_null(strstr(a->detail, "ticket A003"));
    /* A003 transferred to B keeps its issue time: now it is B's longest. */
    hbt_okf(h->s, s_at(0, 10, 16, 0),
            "{'type':'ticket_transferred','ticket':'A003','from_service':'A','to_service':'B'}");
    s_eval(h, s_at(0, 10, 16, 0));
    assert_null(s_find(&h->set, ALERT_WAIT_SLA, "A:normal"));
    assert_null(s_find(&h->set, ALERT_WAIT_SLA, "B:normal")); /* 780 s < 1200 s */
    assert_non_null(s_find(&h->set, ALERT_WAIT_SLA, "A:vip"));
    /* Closing time ends them; a second before it they hold. */
    assert_non_null(s_find(s_eval(h, s_at(0, 12, 29, 59)), ALERT_WAIT_SLA, "A:vip"));
    assert_null(s_find(s_eval(h, s_at(0, 12, 30, 0)), ALERT_WAIT_SLA, "A:vip"));
    assert_non_null(s_find(s_eval(h, s_at(0, 13, 30, 0)), ALERT_WAIT_SLA, "A:vip"));
    assert_null(s_find(s_eval(h, s_at(0, 17, 0, 0)), ALERT_WAIT_SLA, "A:vip"));
}

/* -------------------------------------------------------- diversion ---- */

HBT_TEST(test_diversion)
{
    hall_t *h = *state;
    s_staffed_monday(h);
    int64_t t = s_at(0, 10, 0, 0);
    for (int i = 1; i <= 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "A%03d", i);
        hbt_issue(h->s, t, id, "A", "normal");
    }
    /* Three waiting is the threshold, not above it. */
    assert_null(s_find(s_eval(h, t), ALERT_DIVERSION, "A"));
    hbt_issue(h->s, t + SEC, "A004", "A", "normal");
    const alert_t *a = s_find(s_eval(h, t + SEC), ALERT_DIVERSION, "A");
    assert_non_null(a);
    assert_int_equal(a->value, 4);
    assert_int_equal(a->threshold, 3);
    assert_null(s_find(&h->set, ALERT_DIVERSION, "B"));
    s_call(h, t + 2 * SEC, "A001", "1");
    assert_null(s_find(s_eval(h, t + 2 * SEC), ALERT_DIVERSION, "A"));
    /* Outside hours, none however many wait. */
    hbt_issue(h->s, t + 3 * SEC, "A005", "A", "normal");
    assert_non_null(s_find(s_eval(h, t + 3 * SEC), ALERT_DIVERSION, "A"));
    assert_null(s_find(s_eval(h, s_at(0, 18, 0, 0)), ALERT_DIVERSION, "A"));
}

/* ------------------------------------------------------- complaints ---- */

HBT_TEST(test_complaint_deadlines)
{
    hall_t *h = *state;
    s_staffed_monday(h);
    int64_t ack_due = s_at(0, 14, 0, 0), resolve_due = s_at(1, 11, 0, 0);
    hbt_okf(h->s, s_at(0, 10, 0, 0),
            "{'type':'complaint_opened','complaint':'C1','channel':'counter','category':'fees',"
            "'severity':'high','ack_due_ms':%lld,'resolve_due_ms':%lld}",
            (long long)ack_due, (long long)resolve_due);
    const alert_t *a = s_edge(h, ack_due - SEC, ack_due, ALERT_COMPLAINT_ACK_OVERDUE, "C1");
    assert_int_equal(a->value, 0);
    assert_int_equal(a->threshold, 14400);
    assert_int_equal(a->since_ms, ack_due);
    assert_int_equal(
        s_find(s_eval(h, ack_due + 90 * SEC), ALERT_COMPLAINT_ACK_OVERDUE, "C1")->value, 90);
    /* Acknowledged late: the acknowledgement alert ends; resolving is still due. */
    hbt_okf(h->s, s_at(0, 15, 0, 0),
            "{'type':'complaint_acknowledged','complaint':'C1','by':'E1'}");
    assert_null(s_find(s_eval(h, s_at(0, 15, 0, 0)), ALERT_COMPLAINT_ACK_OVERDUE, "C1"));
    a = s_edge(h, resolve_due - SEC, resolve_due, ALERT_COMPLAINT_RESOLVE_OVERDUE, "C1");
    assert_int_equal(a->threshold, 57600);
    hbt_okf(h->s, s_at(1, 12, 0, 0),
            "{'type':'complaint_resolved','complaint':'C1','resolution':'refund',"
            "'customer_satisfied':true}");
    assert_int_equal(s_eval(h, s_at(1, 12, 0, 0))->n, 0);
}

HBT_TEST(test_complaint_deadlines_ignore_hours)
{
    hall_t *h = *state;
    s_day(h, 4);
    /* Due Friday at 17:00, the closing time: overdue over the weekend too,
     * since the hall counted opening hours when it set the deadline. */
    int64_t due = s_at(4, 17, 0, 0);
    hbt_okf(h->s, s_at(4, 13, 0, 0),
            "{'type':'complaint_opened','complaint':'C2','channel':'phone','category':'fees',"
            "'severity':'low','ack_due_ms':%lld,'resolve_due_ms':0}",
            (long long)due);
    assert_null(s_find(s_eval(h, due - SEC), ALERT_COMPLAINT_ACK_OVERDUE, "C2"));
    assert_non_null(s_find(s_eval(h, due), ALERT_COMPLAINT_ACK_OVERDUE, "C2"));
    assert_non_null(s_find(s_eval(h, s_at(6, 12, 0, 0)), ALERT_COMPLAINT_ACK_OVERDUE, "C2"));
    /* No resolve deadline: never resolve-overdue. */
    assert_null(s_find(&h->set, ALERT_COMPLAINT_RESOLVE_OVERDUE, "C2"));
    /* The hall's own automatic escalation counts before HQ's clock agrees. */
    hbt_okf(h->s, s_at(4, 13, 5, 0),
            "{'type':'complaint_opened','complaint':'C3','channel':'app','category':'staff',"
            "'severity':'critical','ack_due_ms':%lld}",
            (long long)s_at(4, 14, 0, 0));
    hbt_okf(h->s, s_at(4, 13, 59, 59),
            "{'type':'complaint_escalated','complaint':'C3','level':'duty_manager',"
            "'reason':'late','automatic':true,'missed':'ack'}");
    assert_non_null(s_find(s_eval(h, s_at(4, 13, 59, 59)), ALERT_COMPLAINT_ACK_OVERDUE, "C3"));
}

/* ----------------------------------------------------- hall_offline ---- */

HBT_TEST(test_hall_offline)
{
    hall_t *h = *state;
    s_staffed_monday(h);
    h->params.offline_grace_s = 120;
    /* Online: never. */
    assert_null(s_find(s_eval(h, s_at(0, 11, 0, 0)), ALERT_HALL_OFFLINE, ""));
    /* Down at 10:00: after the grace. */
    int64_t down = s_at(0, 10, 0, 0);
    assert_null(s_find(s_eval_offline(h, down, s_at(0, 10, 1, 59)), ALERT_HALL_OFFLINE, ""));
    const alert_t *a = s_find(s_eval_offline(h, down, s_at(0, 10, 2, 0)), ALERT_HALL_OFFLINE, "");
    assert_non_null(a);
    assert_int_equal(a->value, 120);
    assert_int_equal(a->threshold, 120);
    /* Through the lunch break: gone while closed, and the grace runs again
     * from the reopening. */
    assert_non_null(s_find(s_eval_offline(h, down, s_at(0, 12, 29, 59)), ALERT_HALL_OFFLINE, ""));
    assert_null(s_find(s_eval_offline(h, down, s_at(0, 12, 30, 0)), ALERT_HALL_OFFLINE, ""));
    assert_null(s_find(s_eval_offline(h, down, s_at(0, 13, 31, 59)), ALERT_HALL_OFFLINE, ""));
    a = s_find(s_eval_offline(h, down, s_at(0, 13, 32, 0)), ALERT_HALL_OFFLINE, "");
    assert_non_null(a);
    assert_int_equal(a->value, 120);
    /* Evening and night: nothing; the next morning after the grace. */
    assert_null(s_find(s_eval_offline(h, down, s_at(0, 17, 0, 0)), ALERT_HALL_OFFLINE, ""));
    assert_null(s_find(s_eval_offline(h, down, s_at(1, 3, 0, 0)), ALERT_HALL_OFFLINE, ""));
    assert_null(s_find(s_eval_offline(h, down, s_at(1, 9, 1, 59)), ALERT_HALL_OFFLINE, ""));
    assert_non_null(s_find(s_eval_offline(h, down, s_at(1, 9, 2, 0)), ALERT_HALL_OFFLINE, ""));
    /* Down since Saturday afternoon: nothing on Sunday. */
    int64_t sat = s_at(5, 15, 0, 0);
    assert_null(s_find(s_eval_offline(h, sat, s_at(6, 12, 0, 0)), ALERT_HALL_OFFLINE, ""));
    assert_non_null(s_find(s_eval_offline(h, sat, s_at(7, 9, 2, 0)), ALERT_HALL_OFFLINE, ""));
    /* Christmas Day is a holiday; the closure days are closed all day. */
    int64_t xmas = s_at(25, 12, 0, 0);
    assert_null(s_find(s_eval_offline(h, s_at(24, 13, 0, 0), xmas), ALERT_HALL_OFFLINE, ""));
    assert_null(
        s_find(s_eval_offline(h, s_at(24, 13, 0, 0), s_at(28, 10, 0, 0)), ALERT_HALL_OFFLINE, ""));
    /* Christmas Eve is open 09:00-12:00 only. */
    assert_non_null(
        s_find(s_eval_offline(h, s_at(24, 8, 0, 0), s_at(24, 11, 59, 0)), ALERT_HALL_OFFLINE, ""));
    assert_null(
        s_find(s_eval_offline(h, s_at(24, 8, 0, 0), s_at(24, 12, 0, 0)), ALERT_HALL_OFFLINE, ""));
    /* Unknown since when (never seen since HQ started), nothing mirrored. */
    alerts_eval(NULL, h->p, &h->params, false, 0, s_at(0, 9, 2, 0), &h->set);
    assert_int_equal(h->set.n, 1);
    assert_int_equal(h->set.alerts[0].kind, ALERT_HALL_OFFLINE);
    alerts_eval(NULL, h->p, &h->params, false, 0, s_at(0, 9, 1, 59), &h->set);
    assert_int_equal(h->set.n, 0);
}

/* ---------------------------------------------------- hall_not_open ---- */

HBT_TEST(test_hall_not_open)
{
    hall_t *h = *state;
    s_day(h, 0);
    /* Nobody opens: an alert after the policy's 300 s of grace. */
    const alert_t *a = s_edge(h, s_at(0, 9, 4, 59), s_at(0, 9, 5, 0), ALERT_HALL_NOT_OPEN, "");
    assert_int_equal(a->value, 300);
    assert_int_equal(a->threshold, 300);
    assert_int_equal(a->since_ms, s_at(0, 9, 5, 0));
    s_counter(h, s_at(0, 9, 6, 0), "opened", "1");
    assert_null(s_find(s_eval(h, s_at(0, 9, 6, 0)), ALERT_HALL_NOT_OPEN, ""));
    /* A pause is not a closing: still opened since the opening. */
    s_counter(h, s_at(0, 12, 0, 0), "paused", "1");
    assert_null(s_find(s_eval(h, s_at(0, 12, 10, 0)), ALERT_HALL_NOT_OPEN, ""));
    s_counter(h, s_at(0, 12, 1, 0), "resumed", "1");
    /* Closed for lunch: the afternoon opening needs a counter again. */
    s_counter(h, s_at(0, 12, 30, 0), "closed", "1");
    s_edge(h, s_at(0, 13, 34, 59), s_at(0, 13, 35, 0), ALERT_HALL_NOT_OPEN, "");
    s_counter(h, s_at(0, 13, 40, 0), "opened", "1");
    assert_null(s_find(s_eval(h, s_at(0, 13, 40, 0)), ALERT_HALL_NOT_OPEN, ""));
    /* Open for a moment after the opening, then closed: it did open. */
    s_counter(h, s_at(0, 13, 41, 0), "closed", "1");
    assert_null(s_find(s_eval(h, s_at(0, 16, 0, 0)), ALERT_HALL_NOT_OPEN, ""));
    /* Evening: nothing. */
    assert_null(s_find(s_eval(h, s_at(0, 18, 0, 0)), ALERT_HALL_NOT_OPEN, ""));
}

HBT_TEST(test_hall_not_open_day_started_late)
{
    hall_t *h = *state;
    s_day(h, 0);
    s_counter(h, s_at(0, 9, 0, 0), "opened", "1");
    s_counter(h, s_at(0, 16, 0, 0), "closed", "1");
    /* Tuesday's first event comes at 09:02 and starts the day then: the
     * closed counter's time of change moves to 09:02, but it was not open
     * today, so it did not open. */
    hbt_okf(h->s, s_at(1, 9, 2, 0), "{'type':'day_started','date':'2026-12-01','timezone':'UTC'}");
    hbt_issue(h->s, s_at(1, 9, 2, 0), "A001", "A", "normal");
    s_edge(h, s_at(1, 9, 4, 59), s_at(1, 9, 5, 0), ALERT_HALL_NOT_OPEN, "");
    /* A counter opened before the opening and still open is fine. */
    s_counter(h, s_at(1, 9, 6, 0), "opened", "1");
    hbt_okf(h->s, s_at(2, 0, 0, 0), "{'type':'day_started','date':'2026-12-02','timezone':'UTC'}");
    assert_null(s_find(s_eval(h, s_at(2, 9, 30, 0)), ALERT_HALL_NOT_OPEN, ""));
    /* Closed before the opening: not opened since. */
    s_counter(h, s_at(2, 8, 30, 0), "closed", "1");
    s_edge(h, s_at(2, 9, 4, 59), s_at(2, 9, 5, 0), ALERT_HALL_NOT_OPEN, "");
    /* Sunday, the holiday, a closure: nothing. */
    assert_null(s_find(s_eval(h, s_at(6, 11, 0, 0)), ALERT_HALL_NOT_OPEN, ""));
    assert_null(s_find(s_eval(h, s_at(25, 11, 0, 0)), ALERT_HALL_NOT_OPEN, ""));
    assert_null(s_find(s_eval(h, s_at(29, 11, 0, 0)), ALERT_HALL_NOT_OPEN, ""));
    /* Nothing mirrored: nothing said about the hall's counters. */
    alerts_eval(NULL, h->p, &h->params, true, 0, s_at(2, 11, 0, 0), &h->set);
    assert_int_equal(h->set.n, 0);
}

/* -------------------------------------------------- no_counter_open ---- */

HBT_TEST(test_no_counter_open)
{
    hall_t *h = *state;
    h->params.no_counter_grace_s = 60;
    s_staffed_monday(h);
    hbt_issue(h->s, s_at(0, 10, 0, 0), "A001", "A", "normal");
    assert_null(s_find(s_eval(h, s_at(0, 10, 4, 0)), ALERT_NO_COUNTER_OPEN, ""));
    s_counter(h, s_at(0, 10, 5, 0), "paused", "1");
    const alert_t *a = s_edge(h, s_at(0, 10, 5, 59), s_at(0, 10, 6, 0), ALERT_NO_COUNTER_OPEN, "");
    assert_int_equal(a->value, 60);
    assert_int_equal(a->threshold, 60);
    assert_non_null(strstr(a->detail, "1 customer waiting"));
    s_counter(h, s_at(0, 10, 10, 0), "resumed", "1");
    assert_null(s_find(s_eval(h, s_at(0, 10, 10, 0)), ALERT_NO_COUNTER_OPEN, ""));
    /* Closed counter, nobody waiting: nothing; a customer comes: the grace
     * runs from the ticket. */
    s_call(h, s_at(0, 10, 11, 0), "A001", "1");
    hbt_okf(h->s, s_at(0, 10, 12, 0), "{'type':'service_started','ticket':'A001','counter':'1'}");
    hbt_okf(h->s, s_at(0, 10, 15, 0),
            "{'type':'service_completed','ticket':'A001','counter':'1','business_type':'x',"
            "'outcome':'done','duration_s':180}");
    s_counter(h, s_at(0, 10, 20, 0), "closed", "1");
    assert_null(s_find(s_eval(h, s_at(0, 10, 30, 0)), ALERT_NO_COUNTER_OPEN, ""));
    hbt_issue(h->s, s_at(0, 10, 40, 0), "A002", "A", "normal");
    s_edge(h, s_at(0, 10, 40, 59), s_at(0, 10, 41, 0), ALERT_NO_COUNTER_OPEN, "");
    /* Outside hours: nothing. */
    assert_null(s_find(s_eval(h, s_at(0, 12, 30, 0)), ALERT_NO_COUNTER_OPEN, ""));
    /* After lunch the grace runs from the reopening. */
    s_edge(h, s_at(0, 13, 30, 59), s_at(0, 13, 31, 0), ALERT_NO_COUNTER_OPEN, "");
}

/* ----------------------------------------------------- device_fault ---- */

HBT_TEST(test_device_fault)
{
    hall_t *h = *state;
    s_staffed_monday(h);
    hbt_okf(h->s, s_at(0, 8, 0, 0),
            "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}");
    hbt_okf(h->s, s_at(0, 10, 0, 0),
            "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'paper_out',"
            "'detail':'tray empty'}");
    const alert_t *a =
        s_edge(h, s_at(0, 10, 29, 59), s_at(0, 10, 30, 0), ALERT_DEVICE_FAULT, "kiosk-1");
    assert_int_equal(a->value, 1800);
    assert_int_equal(a->threshold, 1800);
    assert_non_null(strstr(a->detail, "paper_out"));
    assert_non_null(strstr(a->detail, "tray empty"));
    /* The same state reported again does not restart the clock. */
    hbt_okf(h->s, s_at(0, 10, 40, 0),
            "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'paper_out'}");
    assert_non_null(s_find(s_eval(h, s_at(0, 10, 40, 0)), ALERT_DEVICE_FAULT, "kiosk-1"));
    /* Another fault restarts it. */
    hbt_okf(h->s, s_at(0, 10, 45, 0),
            "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'fault'}");
    assert_null(s_find(s_eval(h, s_at(0, 10, 45, 0)), ALERT_DEVICE_FAULT, "kiosk-1"));
    s_edge(h, s_at(0, 11, 14, 59), s_at(0, 11, 15, 0), ALERT_DEVICE_FAULT, "kiosk-1");
    hbt_okf(h->s, s_at(0, 11, 20, 0),
            "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}");
    assert_null(s_find(s_eval(h, s_at(0, 11, 20, 0)), ALERT_DEVICE_FAULT, "kiosk-1"));
    /* In fault since Sunday: at the next Monday's opening at once (it has been
     * long enough), not a second before. */
    hbt_okf(h->s, s_at(6, 10, 0, 0),
            "{'type':'device_status','device':'display-1','kind':'display','state':'offline'}");
    s_edge(h, s_at(7, 8, 59, 59), s_at(7, 9, 0, 0), ALERT_DEVICE_FAULT, "display-1");
}

/* ---------------------------------------------- opening_device_check ---- */

HBT_TEST(test_opening_device_check)
{
    hall_t *h = *state;
    s_staffed_monday(h);
    assert_int_equal(s_count_kind(s_eval(h, s_at(0, 8, 57, 0)), ALERT_OPENING_DEVICE_CHECK), 0);
    /* Opened at 08:58 with kiosk-1 failed and display-1 not checked. */
    hbt_okf(h->s, s_at(0, 8, 58, 0),
            "{'type':'hall_opened','failed':['kiosk-1'],'unchecked':['display-1']}");
    const alert_t *a = s_find(s_eval(h, s_at(0, 9, 8, 0)), ALERT_OPENING_DEVICE_CHECK, "kiosk-1");
    assert_non_null(a);
    assert_int_equal(a->value, 600);
    assert_int_equal(a->since_ms, s_at(0, 8, 58, 0));
    assert_non_null(strstr(a->detail, "kiosk-1 failed"));
    a = s_find(&h->set, ALERT_OPENING_DEVICE_CHECK, "display-1");
    assert_non_null(a);
    assert_non_null(strstr(a->detail, "display-1 not checked"));
    assert_string_equal(alert_kind_name(ALERT_OPENING_DEVICE_CHECK), "opening_device_check");
    /* Ranked right after device_fault. */
    assert_true(alert_key_cmp(&(alert_t){.kind = ALERT_DEVICE_FAULT},
                              &(alert_t){.kind = ALERT_OPENING_DEVICE_CHECK}) < 0);
    assert_true(alert_key_cmp(&(alert_t){.kind = ALERT_OPENING_DEVICE_CHECK},
                              &(alert_t){.kind = ALERT_COMPLAINT_ACK_OVERDUE}) < 0);
    /* The kiosk reports ok after the opening: its alert clears; the other
     * stays until its own report, or the next day. */
    hbt_okf(h->s, s_at(0, 9, 20, 0),
            "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}");
    assert_null(s_find(s_eval(h, s_at(0, 9, 21, 0)), ALERT_OPENING_DEVICE_CHECK, "kiosk-1"));
    assert_non_null(s_find(&h->set, ALERT_OPENING_DEVICE_CHECK, "display-1"));
    s_day(h, 1);
    assert_int_equal(s_count_kind(s_eval(h, s_at(1, 9, 0, 0)), ALERT_OPENING_DEVICE_CHECK), 0);
}

/* ----------------------------------------------- closed hall, quiet ---- */

/* A hall where everything is wrong. */
static void s_everything_wrong(hall_t *h, int d)
{
    s_day(h, d);
    for (int i = 1; i <= 6; i++) {
        char id[8];
        snprintf(id, sizeof id, "A%03d", i);
        hbt_issue(h->s, s_at(d, 9, 10, 0), id, "A", i % 2 ? "normal" : "vip");
    }
    hbt_okf(h->s, s_at(d, 9, 0, 0),
            "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'fault'}");
    hbt_okf(h->s, s_at(d, 9, 0, 0),
            "{'type':'complaint_opened','complaint':'C1','channel':'counter','category':'fees',"
            "'severity':'high','ack_due_ms':%lld,'resolve_due_ms':%lld}",
            (long long)s_at(d, 10, 0, 0), (long long)s_at(d, 11, 0, 0));
}

HBT_TEST(test_closed_hall_raises_nothing)
{
    hall_t *h = *state;
    s_everything_wrong(h, 0);
    /* Monday 11:30, open: every kind but hall_offline (online). */
    s_eval(h, s_at(0, 11, 30, 0));
    assert_non_null(s_find(&h->set, ALERT_HALL_NOT_OPEN, ""));
    assert_non_null(s_find(&h->set, ALERT_NO_COUNTER_OPEN, ""));
    assert_non_null(s_find(&h->set, ALERT_WAIT_SLA, "A:normal"));
    assert_non_null(s_find(&h->set, ALERT_WAIT_SLA, "A:vip"));
    assert_non_null(s_find(&h->set, ALERT_DIVERSION, "A"));
    assert_non_null(s_find(&h->set, ALERT_DEVICE_FAULT, "kiosk-1"));
    assert_non_null(s_find(&h->set, ALERT_COMPLAINT_ACK_OVERDUE, "C1"));
    assert_non_null(s_find(&h->set, ALERT_COMPLAINT_RESOLVE_OVERDUE, "C1"));
    assert_int_equal(h->set.n, 8);
    /* Offline too, since 09:00, seen from 11:30. */
    s_eval_offline(h, s_at(0, 9, 0, 0), s_at(0, 11, 30, 0));
    assert_non_null(s_find(&h->set, ALERT_HALL_OFFLINE, ""));
    /* Evening, lunch, night, Sunday, the holiday, a closure: only the
     * complaints, online or not. */
    const int64_t quiet[] = {s_at(0, 12, 45, 0), s_at(0, 19, 0, 0),  s_at(1, 3, 0, 0),
                             s_at(6, 11, 0, 0),  s_at(25, 11, 0, 0), s_at(28, 11, 0, 0),
                             s_at(5, 14, 0, 0)};
    /* Offline since 11:30, when both deadlines had passed as HQ saw it. */
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        for (int online = 0; online < 2; online++) {
            alerts_eval(h->s, h->p, &h->params, online, online ? 0 : s_at(0, 11, 30, 0), quiet[i],
                        &h->set);
            if (h->set.n != 2 || !s_find(&h->set, ALERT_COMPLAINT_ACK_OVERDUE, "C1") ||
                !s_find(&h->set, ALERT_COMPLAINT_RESOLVE_OVERDUE, "C1")) {
                s_dump(&h->set);
                fail_msg("at quiet time %zu (online %d): %zu alerts", i, online, h->set.n);
            }
        }
    }
}

/* ------------------------------------------------ offline and stale ---- */

HBT_TEST(test_offline_state_as_of_link_loss)
{
    hall_t *h = *state;
    s_staffed_monday(h);
    hbt_issue(h->s, s_at(0, 10, 0, 0), "A001", "A", "normal");
    hbt_issue(h->s, s_at(0, 10, 2, 0), "B001", "B", "normal");
    int64_t down = s_at(0, 10, 20, 0);
    /* Online at 10:20: A's wait breached at 10:10. */
    assert_non_null(s_find(s_eval(h, down), ALERT_WAIT_SLA, "A:normal"));
    /* Offline at 10:40: A's alert stays with its wait as of 10:20; B's
     * would breach at 10:22 but HQ cannot know that B001 was not called. */
    s_eval_offline(h, down, s_at(0, 10, 40, 0));
    const alert_t *a = s_find(&h->set, ALERT_WAIT_SLA, "A:normal");
    assert_non_null(a);
    assert_int_equal(a->value, 1200);
    assert_null(s_find(&h->set, ALERT_WAIT_SLA, "B:normal"));
    assert_non_null(s_find(&h->set, ALERT_HALL_OFFLINE, ""));
    /* Closed for lunch: nothing; the afternoon is another opening, which
     * HQ has not seen: only hall_offline. */
    assert_int_equal(s_eval_offline(h, down, s_at(0, 12, 40, 0))->n, 0);
    s_eval_offline(h, down, s_at(0, 14, 0, 0));
    assert_int_equal(h->set.n, 1);
    assert_int_equal(h->set.alerts[0].kind, ALERT_HALL_OFFLINE);
    /* Back online, the state caught up: judged at now again. */
    s_call(h, s_at(0, 10, 21, 0), "A001", "1");
    s_eval(h, s_at(0, 14, 0, 0));
    assert_null(s_find(&h->set, ALERT_WAIT_SLA, "A:normal"));
    assert_non_null(s_find(&h->set, ALERT_WAIT_SLA, "B:normal"));
}

/* --------------------------------------------------- opening's start ---- */

/* hall_offline with no grace and an unknown link time holds exactly while
 * the hall is open, and its since_ms is the opening's start: checked
 * against hb_policy_open_at over clock changes. */
static void s_check_opening(const char *policy_text, int64_t from, int64_t to, int64_t step)
{
    hb_policy_t *p = hbt_policy(policy_text);
    alerts_params_t params;
    alerts_params_default(&params);
    params.offline_grace_s = 0;
    alert_set_t set;
    int64_t start = 0;
    bool was_open = false;
    for (int64_t t = from; t < to; t += step) {
        hb_open_info_t oi;
        hb_policy_open_at(p, t, &oi);
        alerts_eval(NULL, p, &params, false, 0, t, &set);
        bool open = set.n == 1;
        if (open != (oi.state == HB_OPEN_NOW)) {
            char when[HB_RFC3339_MAX];
            hb_time_format(t, when);
            fail_msg("%s: alerts says %s, the policy %s", when, open ? "open" : "closed",
                     hb_closed_reason_name(oi.state));
        }
        if (!open) {
            was_open = false;
            continue;
        }
        /* One opening has one start; it is not after now, and an opening
         * seen from its beginning starts where it was first seen. */
        if (was_open)
            assert_int_equal(set.alerts[0].since_ms, start);
        else if (t - step >= from)
            assert_true(set.alerts[0].since_ms > t - step && set.alerts[0].since_ms <= t);
        start = set.alerts[0].since_ms;
        assert_true(start <= t);
        assert_int_equal(set.alerts[0].value, (t - start) / 1000);
        was_open = true;
    }
    hb_policy_free(&p);
}

HBT_TEST_IN(test_opening_start_matches_policy, NULL, NULL)
{
    (void)state;
    /* The test policy, over two weeks with the holidays. */
    s_check_opening(s_policy_text, s_at(20, 0, 0, 0), s_at(34, 0, 0, 0), 7 * MIN);
    /* Berlin, split hours and a night opening, over both clock changes of
     * 2026 (29 March, 25 October). */
    const char *berlin =
        "{'timezone':'Europe/Berlin',"
        " 'opening_hours':{'mon':['00:00-02:30','09:00-12:00','12:00-17:00'],"
        "   'tue':['09:00-17:00'],'wed':['09:00-17:00'],'thu':['09:00-17:00'],"
        "   'fri':['09:00-17:00'],'sat':['22:00-24:00'],'sun':['00:00-03:00','20:00-24:00']}}";
    const hb_tz_t *tz;
    assert_int_equal(hb_tz_get("Europe/Berlin", &tz, NULL, 0), 0);
    int32_t d;
    assert_int_equal(hb_date_parse("2026-03-26", &d), 0);
    s_check_opening(berlin, hb_tz_local_to_utc(tz, d, 0, 0), hb_tz_local_to_utc(tz, d + 6, 0, 0),
                    5 * MIN);
    assert_int_equal(hb_date_parse("2026-10-22", &d), 0);
    s_check_opening(berlin, hb_tz_local_to_utc(tz, d, 0, 0), hb_tz_local_to_utc(tz, d + 6, 0, 0),
                    5 * MIN);
    /* Round the clock: one opening that never ends; its start is found at
     * most ALERTS_OPENING_BACK_DAYS back, and holds still. */
    const char *always = "{'timezone':'Asia/Shanghai','opening_hours':{'mon':['00:00-24:00'],"
                         "'tue':['00:00-24:00'],'wed':['00:00-24:00'],'thu':['00:00-24:00'],"
                         "'fri':['00:00-24:00'],'sat':['00:00-24:00'],'sun':['00:00-24:00']}}";
    hb_policy_t *p = hbt_policy(always);
    alert_set_t set;
    alerts_params_t params = {.offline_grace_s = 0, .no_counter_grace_s = 0};
    alerts_eval(NULL, p, &params, false, 0, s_at(0, 12, 0, 0), &set);
    assert_int_equal(set.n, 1);
    int64_t start = set.alerts[0].since_ms;
    assert_true(start <= s_at(0, 12, 0, 0) - (ALERTS_OPENING_BACK_DAYS - 1) * DAY);
    alerts_eval(NULL, p, &params, false, 0, s_at(0, 12, 0, 1), &set);
    assert_int_equal(set.n, 1);
    hb_policy_free(&p);
}

/* --------------------------------------------------- bound and order ---- */

HBT_TEST(test_set_bound_and_order)
{
    hall_t *h = *state;
    s_day(h, 0);
    for (int i = 0; i < 100; i++) {
        hbt_okf(h->s, s_at(0, 9, 0, 0),
                "{'type':'complaint_opened','complaint':'K%03d','channel':'counter',"
                "'category':'fees','severity':'low','ack_due_ms':%lld}",
                99 - i, (long long)s_at(0, 9, 30, 0));
    }
    hbt_issue(h->s, s_at(0, 9, 0, 0), "A001", "A", "normal");
    const alert_set_t *set = s_eval(h, s_at(0, 11, 0, 0));
    assert_int_equal(set->n, ALERTS_MAX);
    /* hall_not_open, no_counter_open, wait_sla A:normal, then 61 of the
     * 100 complaints: the smallest ids. */
    assert_int_equal(set->dropped, 100 - (ALERTS_MAX - 3));
    assert_int_equal(set->alerts[0].kind, ALERT_HALL_NOT_OPEN);
    assert_int_equal(set->alerts[1].kind, ALERT_NO_COUNTER_OPEN);
    assert_int_equal(set->alerts[2].kind, ALERT_WAIT_SLA);
    assert_string_equal(set->alerts[3].subject, "K000");
    char last[8];
    snprintf(last, sizeof last, "K%03d", ALERTS_MAX - 4);
    assert_string_equal(set->alerts[ALERTS_MAX - 1].subject, last);
    for (size_t i = 1; i < set->n; i++)
        assert_true(alert_key_cmp(&set->alerts[i - 1], &set->alerts[i]) < 0);
    /* The same input gives the same set, byte for byte. */
    alert_set_t again;
    alerts_eval(h->s, h->p, &h->params, true, 0, s_at(0, 11, 0, 0), &again);
    assert_int_equal(again.n, set->n);
    assert_int_equal(again.dropped, set->dropped);
    assert_memory_equal(again.alerts, set->alerts, set->n * sizeof set->alerts[0]);
    /* Names and units. */
    for (int k = ALERT_KIND_FIRST; k <= ALERT_KIND_LAST; k++)
        assert_int_equal(alert_kind_parse(alert_kind_name(k)), k);
    assert_string_equal(alert_kind_name(99), "unknown");
    assert_int_equal(alert_kind_parse("nope"), 0);
    assert_string_equal(alert_kind_unit(ALERT_DIVERSION), "customers");
}

/* ------------------------------------------------------------- diff ---- */

typedef struct {
    int raised[ALERT_KIND_LAST + 1], cleared[ALERT_KIND_LAST + 1];
    int64_t raised_at[ALERT_KIND_LAST + 1], cleared_at[ALERT_KIND_LAST + 1];
    int held;
} tally_t;

static int s_tally_raise(const alert_t *cur, int64_t now_ms, void *arg)
{
    tally_t *t = arg;
    t->raised[cur->kind]++;
    t->raised_at[cur->kind] = now_ms;
    return 0;
}

static int s_tally_clear(size_t i, const alert_t *prev, int64_t now_ms, void *arg)
{
    (void)i;
    tally_t *t = arg;
    t->cleared[prev->kind]++;
    t->cleared_at[prev->kind] = now_ms;
    return 0;
}

static int s_tally_hold(size_t i, const alert_t *prev, void *arg)
{
    (void)i;
    (void)prev;
    ((tally_t *)arg)->held++;
    return 0;
}

static const alerts_diff_ops_t s_tally_ops = {
    .raise = s_tally_raise, .clear = s_tally_clear, .hold = s_tally_hold};

/* A morning evaluated every second: each alert is raised once, when its
 * condition starts, and cleared once, when it ends. */
HBT_TEST(test_diff_raises_once_clears_once)
{
    hall_t *h = *state;
    s_day(h, 0);
    hbt_issue(h->s, s_at(0, 8, 50, 0), "A001", "A", "normal");
    alert_set_t prev = {0};
    tally_t t = {0};
    struct {
        int64_t at;
        const char *event;
    } script[] = {
        {s_at(0, 9, 7, 0), "{'type':'counter_opened','counter':'1','staff':'E1','services':['A']}"},
        {s_at(0, 9, 20, 0), "{'type':'ticket_called','ticket':'A001','counter':'1'}"},
        {s_at(0, 9, 30, 0),
         "{'type':'device_status','device':'k1','kind':'kiosk','state':'fault'}"},
        {s_at(0, 10, 10, 0), "{'type':'device_status','device':'k1','kind':'kiosk','state':'ok'}"},
    };
    size_t next = 0;
    for (int64_t now = s_at(0, 8, 0, 0); now <= s_at(0, 11, 0, 0); now += SEC) {
        while (next < sizeof script / sizeof script[0] && script[next].at <= now) {
            hbt_okf(h->s, script[next].at, "%s", script[next].event);
            next++;
        }
        alert_set_t cur;
        alerts_eval(h->s, h->p, &h->params, true, 0, now, &cur);
        assert_int_equal(alerts_diff(prev.alerts, prev.n, &cur, now, &s_tally_ops, &t, NULL), 0);
        prev = cur;
    }
    /* hall_not_open 09:05 to 09:07; wait_sla of A001 (600 s from 08:50)
     * 09:00, when the hall opened, to 09:20; no_counter_open 09:01 (the
     * grace from the opening) to 09:07; device_fault 10:00 to 10:10. */
    const struct {
        int kind;
        int64_t raised, cleared;
    } want[] = {
        {ALERT_HALL_NOT_OPEN, s_at(0, 9, 5, 0), s_at(0, 9, 7, 0)},
        {ALERT_WAIT_SLA, s_at(0, 9, 0, 0), s_at(0, 9, 20, 0)},
        {ALERT_NO_COUNTER_OPEN, s_at(0, 9, 1, 0), s_at(0, 9, 7, 0)},
        {ALERT_DEVICE_FAULT, s_at(0, 10, 0, 0), s_at(0, 10, 10, 0)},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int k = want[i].kind;
        if (t.raised[k] != 1 || t.cleared[k] != 1 || t.raised_at[k] != want[i].raised ||
            t.cleared_at[k] != want[i].cleared)
            fail_msg("%s: raised %d times (last at %lld), cleared %d times (last at %lld)",
                     alert_kind_name(k), t.raised[k], (long long)t.raised_at[k], t.cleared[k],
                     (long long)t.cleared_at[k]);
    }
    assert_int_equal(t.raised[ALERT_DIVERSION] + t.raised[ALERT_HALL_OFFLINE], 0);
    assert_int_equal(prev.n, 0);
}

static void s_fake(alert_t *a, int kind, const char *subject)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    snprintf(a->subject, sizeof a->subject, "%s", subject);
}

/* At the bound: keys past a truncated set's last entry are held, not
 * cleared, and new keys wait for room. */
HBT_TEST_IN(test_diff_at_the_bound, NULL, NULL)
{
    (void)state;
    alert_set_t prev = {0}, cur = {0};
    /* Open before: K100..K163 (64). */
    for (int i = 0; i < ALERTS_MAX; i++) {
        char id[8];
        snprintf(id, sizeof id, "K%03d", 100 + i);
        s_fake(&prev.alerts[prev.n++], ALERT_COMPLAINT_ACK_OVERDUE, id);
    }
    /* Now: K000..K063, and more dropped: nothing known past K063. */
    for (int i = 0; i < ALERTS_MAX; i++) {
        char id[8];
        snprintf(id, sizeof id, "K%03d", i);
        s_fake(&cur.alerts[cur.n++], ALERT_COMPLAINT_ACK_OVERDUE, id);
    }
    cur.dropped = 100;
    tally_t t = {0};
    alerts_diff_result_t r;
    assert_int_equal(alerts_diff(prev.alerts, prev.n, &cur, 1, &s_tally_ops, &t, &r), 0);
    assert_int_equal(r.held, ALERTS_MAX);
    assert_int_equal(r.cleared, 0);
    assert_int_equal(r.raised, 0);
    assert_int_equal(r.unraised, ALERTS_MAX);
    /* Not truncated: what is gone is cleared and the room goes to the new. */
    cur.dropped = 0;
    memset(&t, 0, sizeof t);
    assert_int_equal(alerts_diff(prev.alerts, prev.n, &cur, 2, &s_tally_ops, &t, &r), 0);
    assert_int_equal(r.cleared, ALERTS_MAX);
    assert_int_equal(r.raised, ALERTS_MAX);
    assert_int_equal(r.held + r.unraised, 0);
    /* Half known: prev K100..K163, cur K000..K031 + K100..K131, truncated:
     * K132..K163 held, K100..K131 kept, no room for K000..K031. */
    cur.n = 0;
    for (int i = 0; i < 32; i++) {
        char id[8];
        snprintf(id, sizeof id, "K%03d", i);
        s_fake(&cur.alerts[cur.n++], ALERT_COMPLAINT_ACK_OVERDUE, id);
    }
    for (int i = 0; i < 32; i++)
        cur.alerts[cur.n++] = prev.alerts[i];
    cur.dropped = 5;
    assert_int_equal(alerts_diff(prev.alerts, prev.n, &cur, 3, &s_tally_ops, &t, &r), 0);
    assert_int_equal(r.kept, 32);
    assert_int_equal(r.held, 32);
    assert_int_equal(r.raised, 0);
    assert_int_equal(r.unraised, 32);
    assert_int_equal(r.cleared, 0);
}

/* A callback's error stops the diff. */
static int s_fail_raise(const alert_t *cur, int64_t now_ms, void *arg)
{
    (void)cur;
    (void)now_ms;
    (*(int *)arg)++;
    return HB_ENOMEM;
}

HBT_TEST_IN(test_diff_stops_on_error, NULL, NULL)
{
    (void)state;
    alert_set_t cur = {0};
    s_fake(&cur.alerts[cur.n++], ALERT_WAIT_SLA, "A:normal");
    s_fake(&cur.alerts[cur.n++], ALERT_WAIT_SLA, "B:normal");
    int calls = 0;
    const alerts_diff_ops_t ops = {.raise = s_fail_raise};
    assert_int_equal(alerts_diff(NULL, 0, &cur, 1, &ops, &calls, NULL), HB_ENOMEM);
    assert_int_equal(calls, 1);
}

/* ------------------------------------------------------------- rate ---- */

/* Halls of a realistic morning: a few services and counters, a queue of
 * 5 to 40, a complaint or two, devices, some of them alerting. */
static hb_hall_state_t *s_realistic(hall_t *h, unsigned seed)
{
    hb_hall_state_destroy(&h->s);
    h->s = hb_hall_state_new();
    srand(seed);
    s_day(h, 0);
    const char *services[] = {"A", "B", "C", "D"};
    const char *prios[] = {"normal", "normal", "normal", "vip", "elderly", "appointment"};
    for (int c = 1; c <= 6; c++) {
        char id[8];
        snprintf(id, sizeof id, "%d", c);
        hbt_okf(
            h->s, s_at(0, 8, 50, 0),
            "{'type':'counter_opened','counter':'%s','staff':'E%d','services':['A','B','C','D']}",
            id, c);
    }
    int n = 5 + rand() % 36;
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "T%03d", i);
        hbt_issue(h->s, s_at(0, 10, 40, 0) + (int64_t)(rand() % 1200) * SEC, id,
                  services[rand() % 4], prios[rand() % 6]);
    }
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "T%03d", i);
        char counter[8];
        snprintf(counter, sizeof counter, "%d", i + 1);
        s_call(h, s_at(0, 10, 30, 0), id, counter);
    }
    if (rand() % 4 == 0)
        s_counter(h, s_at(0, 10, 0, 0), "paused", "5");
    int complaints = rand() % 3;
    for (int i = 0; i < complaints; i++)
        hbt_okf(h->s, s_at(0, 9, 30, 0),
                "{'type':'complaint_opened','complaint':'K%d','channel':'counter',"
                "'category':'fees','severity':'medium','ack_due_ms':%lld,'resolve_due_ms':%lld}",
                i, (long long)s_at(0, 10, 30 + 30 * i, 0), (long long)s_at(1, 12, 0, 0));
    for (int i = 0; i < 4; i++)
        hbt_okf(h->s, s_at(0, 8, 0, 0),
                "{'type':'device_status','device':'dev-%d','kind':'kiosk','state':'%s'}", i,
                rand() % 10 == 0 ? "fault" : "ok");
    return hb_hall_state_clone(h->s);
}

HBT_TEST(test_evaluation_rate)
{
    hall_t *h = *state;
    enum { HALLS = 10000, TEMPLATES = 200, ROUNDS = 5 };
    hb_hall_state_t **halls = calloc(HALLS, sizeof *halls);
    assert_non_null(halls);
    /* Distinct states in memory (clones), built from 200 event streams. */
    hb_hall_state_t *templates[TEMPLATES];
    for (int i = 0; i < TEMPLATES; i++) {
        templates[i] = s_realistic(h, (unsigned)i + 1);
        assert_non_null(templates[i]);
    }
    for (int i = 0; i < HALLS; i++) {
        halls[i] = hb_hall_state_clone(templates[i % TEMPLATES]);
        assert_non_null(halls[i]);
    }
    /* National policies as they would be: the defaults' thresholds, a
     * split day, holidays. */
    hb_policy_t *berlin = hbt_policy(
        "{'timezone':'Europe/Berlin','special_days':{'2026-12-24':{'hours':['09:00-12:00']},"
        "'2026-12-25':{'hours':[]},'2026-12-26':{'hours':[]}},"
        "'sla':{'max_wait_s':{'*:*':1200,'A:*':900,'*:vip':600}},'diversion':{'threshold':25}}");
    hb_policy_t *utc =
        hbt_policy("{'timezone':'UTC','opening_hours':{'mon':['08:30-12:30','13:30-18:00']},"
                   "'special_days':{'2026-12-25':{'hours':[]}},"
                   "'sla':{'max_wait_s':{'*:*':1500,'B:vip':600}},'diversion':{'threshold':30}}");
    const hb_policy_t *policies[2] = {utc, berlin};
    struct timespec t0, t1;
    size_t alerts = 0;
    alert_set_t set;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < ROUNDS; r++) {
        int64_t now = s_at(0, 11, 0, r);
        for (int i = 0; i < HALLS; i++) {
            /* One in fifty offline. */
            bool online = i % 50 != 0;
            alerts_eval(halls[i], policies[i % 2], &h->params, online,
                        online ? s_at(0, 8, 0, 0) : s_at(0, 10, 45, 0), now, &set);
            alerts += set.n;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("alerts_eval: %d halls x %d rounds in %.1f ms: %.0f halls/s on one thread, "
                  "%.1f alerts per hall (hqd needs 10000 halls/s)\n",
                  HALLS, ROUNDS, secs * 1e3, HALLS * ROUNDS / secs,
                  (double)alerts / (HALLS * ROUNDS));
    assert_true(alerts > 0);
    for (int i = 0; i < HALLS; i++)
        hb_hall_state_destroy(&halls[i]);
    for (int i = 0; i < TEMPLATES; i++)
        hb_hall_state_destroy(&templates[i]);
    free(halls);
    hb_policy_free(&berlin);
    hb_policy_free(&utc);
}

/* ------------------------------------------------- hall_disk_full ---- */

/* Open while the hall says its disk is full; after room returns, held for
 * disk_full_hold_s from when HQ last heard the refusals rise; never for a
 * hall that refused nothing. */
HBT_TEST_IN(test_hall_disk_full_rule, NULL, NULL)
{
    (void)state;
    alerts_params_t pr;
    alerts_params_default(&pr);
    assert_int_equal(pr.disk_full_hold_s, ALERTS_DISK_FULL_HOLD_S_DEFAULT);
    pr.disk_full_hold_s = 600;
    const int64_t now = 1800000000000LL;
    const struct {
        int64_t full_since, seen;
        uint64_t refused;
        bool open;
        const char *detail;
    } rows[] = {
        {0, 0, 0, false, NULL},                                /* never full */
        {now - 5000, 0, 0, true, "is full"},                   /* full, nothing refused yet */
        {now - 5000, now - 1000, 7, true, "7 refused so far"}, /* full, refusing */
        {0, now - 599000, 7, true, "refused 7 event(s)"},      /* room again, within the hold */
        {0, now - 601000, 7, false, NULL},                     /* room again, hold over */
        {0, 0, 7, false, NULL},                                /* a count HQ never saw rise */
        {now - 5000, now - 9000000, 7, true, "is full"},       /* full outlasts the hold */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        alerts_link_t l = {.disk_full_since_ms = rows[i].full_since,
                           .disk_refused = rows[i].refused,
                           .disk_refused_seen_ms = rows[i].seen};
        alert_set_t set = {0};
        alerts_eval_link(&l, &pr, now, &set);
        if (!rows[i].open) {
            assert_int_equal(set.n, 0);
            continue;
        }
        assert_int_equal(set.n, 1);
        assert_int_equal(set.alerts[0].kind, ALERT_HALL_DISK_FULL);
        assert_int_equal(set.alerts[0].value, (int64_t)rows[i].refused);
        if (!strstr(set.alerts[0].detail, rows[i].detail))
            fail_msg("row %zu: \"%s\" lacks \"%s\"", i, set.alerts[0].detail, rows[i].detail);
    }
    assert_string_equal(alert_kind_name(ALERT_HALL_DISK_FULL), "hall_disk_full");
    assert_string_equal(alert_kind_unit(ALERT_HALL_DISK_FULL), "events");
}

/* ----------------------------------------------- document_refused ---- */

/* One alert per kind of document the hall refuses, keyed by the kind and
 * the hall's reason (which the page shows), the version as its value; none
 * when it refuses nothing. */
HBT_TEST_IN(test_document_refused_rule, NULL, NULL)
{
    (void)state;
    alerts_link_t l = {0};
    alert_set_t set = {0};
    alerts_eval_link(&l, NULL, 1800000000000LL, &set);
    assert_int_equal(set.n, 0);
    l.refused_version[0] = 7;
    l.refused_reason[0] = "timezone: no such zone file";
    l.refused_version[1] = 12;
    l.refused_reason[1] = "campaigns[0].glossary: unknown member";
    alerts_eval_link(&l, NULL, 1800000000000LL, &set);
    assert_int_equal(set.n, 2);
    /* Subjects in key order: the calendar's before the policy's. */
    assert_int_equal(set.alerts[0].kind, ALERT_DOCUMENT_REFUSED);
    assert_string_equal(set.alerts[0].subject, "calendar:campaigns[0].glossary: unknown member");
    assert_int_equal(set.alerts[0].value, 12);
    assert_string_equal(set.alerts[1].subject, "policy:timezone: no such zone file");
    assert_int_equal(set.alerts[1].value, 7);
    assert_non_null(strstr(set.alerts[1].detail, "refused policy version 7: timezone"));
    /* The hall's refusal code, when it gives one, rides after the document
     * (docs/ALERTS.md), for the page to word; an empty one is none. */
    l.refused_code[0] = "unknown_timezone";
    l.refused_code[1] = "";
    set.n = 0;
    alerts_eval_link(&l, NULL, 1800000000000LL, &set);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.alerts[0].subject, "calendar:campaigns[0].glossary: unknown member");
    assert_string_equal(set.alerts[1].subject,
                        "policy/unknown_timezone:timezone: no such zone file");
    assert_non_null(strstr(set.alerts[1].detail, "refused policy version 7: timezone"));
    l.refused_code[0] = NULL;
    /* A reason longer than a subject holds is cut at a character. */
    char long_reason[300];
    memset(long_reason, 'x', sizeof long_reason - 4);
    memcpy(long_reason + sizeof long_reason - 4, "\xe5\x8c\xba", 4); /* "区" and the NUL */
    l.refused_version[1] = 0;
    l.refused_reason[0] = long_reason;
    set.n = 0;
    alerts_eval_link(&l, NULL, 1800000000000LL, &set);
    assert_int_equal(set.n, 1);
    assert_true(strlen(set.alerts[0].subject) < ALERT_SUBJECT_MAX);
    /* Read back as parameters: the code, and the reason from the detail,
     * which keeps more of it than a subject the code shortens. */
    l.refused_code[0] = "unknown_timezone";
    set.n = 0;
    alerts_eval_link(&l, NULL, 1800000000000LL, &set);
    char doc[ALERT_SUBJECT_MAX], code[ALERT_SUBJECT_MAX];
    const char *reason = NULL;
    alert_refusal_parts(&set.alerts[0], doc, code, &reason);
    assert_string_equal(doc, "policy");
    assert_string_equal(code, "unknown_timezone");
    assert_true(strlen(reason) > ALERT_SUBJECT_MAX);
    assert_int_equal(strspn(reason, "x"), strlen(reason));
    /* As an older build stored it: no code, the reason after the ':'. */
    alert_t old = {.kind = ALERT_DOCUMENT_REFUSED, .value = 3};
    snprintf(old.subject, sizeof old.subject, "calendar:zone Asia/Shanghai: none");
    alert_refusal_parts(&old, doc, code, &reason);
    assert_string_equal(doc, "calendar");
    assert_string_equal(code, "");
    assert_string_equal(reason, "zone Asia/Shanghai: none");
    assert_string_equal(alert_kind_name(ALERT_DOCUMENT_REFUSED), "document_refused");
    assert_int_equal(alert_kind_parse("document_refused"), ALERT_DOCUMENT_REFUSED);
    assert_string_equal(alert_kind_info(ALERT_DOCUMENT_REFUSED)->subject[1], "reason");
}

/* -------------------------------------------------- cert_expiring ---- */

/* Open within cert_expiry_warn_s of a dated certificate's end (and after
 * it, with 0 left); never for a hall with no certificate or an undated
 * one, nor with the warning off. */
HBT_TEST_IN(test_cert_expiring_rule, NULL, NULL)
{
    (void)state;
    alerts_params_t pr;
    alerts_params_default(&pr);
    assert_int_equal(pr.cert_expiry_warn_s, ALERTS_CERT_EXPIRY_WARN_S_DEFAULT);
    const int64_t now = 1800000000000LL, day = 86400000;
    const struct {
        uint64_t serial;
        int64_t not_after, warn_s;
        bool open;
        int64_t left_s;
        const char *detail;
    } rows[] = {
        {7, now + 30 * day, 14 * 86400, false, 0, NULL},        /* a month left */
        {7, now + 14 * day + 1000, 14 * 86400, false, 0, NULL}, /* just outside the warning */
        {7, now + 14 * day, 14 * 86400, true, 14 * 86400, "has not rotated"}, /* its first moment */
        {7, now + 5000, 14 * 86400, true, 5, "expires at"},                   /* seconds left */
        {7, now, 14 * 86400, true, 0, "expired at"},                          /* its end */
        {7, now - day, 14 * 86400, true, 0, "cut off"},                       /* long expired */
        {0, now + 5000, 14 * 86400, false, 0, NULL},                          /* no certificate */
        {7, 0, 14 * 86400, false, 0, NULL}, /* undated (offline enrolment) */
        {7, now + 5000, 0, false, 0, NULL}, /* the warning off */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        alerts_link_t l = {.cert_serial = rows[i].serial, .cert_not_after_ms = rows[i].not_after};
        pr.cert_expiry_warn_s = rows[i].warn_s;
        alert_set_t set = {0};
        alerts_eval_link(&l, &pr, now, &set);
        if (!rows[i].open) {
            if (set.n != 0)
                fail_msg("row %zu: raised \"%s\"", i, set.alerts[0].detail);
            continue;
        }
        assert_int_equal(set.n, 1);
        assert_int_equal(set.alerts[0].kind, ALERT_CERT_EXPIRING);
        assert_int_equal(set.alerts[0].value, rows[i].left_s);
        assert_int_equal(set.alerts[0].threshold, rows[i].warn_s);
        if (!strstr(set.alerts[0].detail, rows[i].detail))
            fail_msg("row %zu: \"%s\" lacks \"%s\"", i, set.alerts[0].detail, rows[i].detail);
    }
    assert_string_equal(alert_kind_name(ALERT_CERT_EXPIRING), "cert_expiring");
    assert_string_equal(alert_kind_unit(ALERT_CERT_EXPIRING), "s");
    assert_string_equal(alert_kind_info(ALERT_CERT_EXPIRING)->value, "expires_in_s");
}
