/* Unit tests of the hall engine (branchd/engine/engine.c) on a real outbox in a
 * temporary folder, with the test's own clock: ticket numbering per service
 * and day (across a restart and across midnight), opening hours, holidays
 * and closures, the diversion threshold, complaint deadlines counted in
 * opening hours with their automatic escalations, recalls ending in a
 * no-show, every refusal changing nothing, and the state rebuilt from the
 * outbox (snapshot + events, or events alone) equal to the live one. */
#include "engine.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enginefx.h"
#include "events.h"
#include "runner.h"

#define MIN 60000LL
#define HOUR (60 * MIN)

static int64_t s_now;
static int64_t s_clock(void) { return s_now; }

/* Local time in Berlin (the test policy's zone) to UTC ms. */
static int64_t s_local(const char *date, int h, int m)
{
    return hbt_local_ms("Europe/Berlin", date, h, m);
}

static const char *const s_policy =
    "{\"timezone\":\"Europe/Berlin\","
    " \"opening_hours\":{\"mon\":[\"09:00-17:00\"],\"tue\":[\"09:00-17:00\"],"
    "   \"wed\":[\"09:00-17:00\"],\"thu\":[\"09:00-17:00\"],\"fri\":[\"09:00-17:00\"],"
    "   \"sat\":[],\"sun\":[]},"
    " \"special_days\":{\"2026-12-25\":{\"hours\":[],\"note\":\"Christmas Day\"}},"
    " \"closures\":{\"works\":{\"from\":\"2026-12-28\",\"to\":\"2026-12-30\","
    "   \"notice\":\"Closed for works\",\"divert_to\":[\"H002\"]}},"
    " \"divert_to\":[\"H003\"],"
    " \"sla\":{\"complaint_ack_s\":{\"*\":14400},\"complaint_resolve_s\":{\"*\":57600}},"
    " \"diversion\":{\"threshold\":3,\"echannels\":[\"app\",\"web\"]}}";

typedef hbt_enginefx_t fixture_t;

static void s_open(fixture_t *f) { hbt_enginefx_open(f, 1 << 20, 1 << 30); }

/* kill -9 as the disk has it: the outbox's file as committed (every commit
 * is synced and none is open) copied aside, the engine closed (its final
 * snapshot lands in the original only), the copy put back and opened. */
static void s_crash_reopen(fixture_t *f)
{
    char path[HBT_FIXTURE_DIR + 16], aside[HBT_FIXTURE_DIR + 16];
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    snprintf(aside, sizeof aside, "%s/crash.mdb", f->dir);
    FILE *in = fopen(path, "rb"), *out = fopen(aside, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    for (size_t n; (n = fread(buf, 1, sizeof buf, in)) > 0;)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    assert_int_equal(ferror(in), 0);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    hbt_enginefx_close(f);
    assert_int_equal(rename(aside, path), 0);
    s_open(f);
}

static int s_setup(void **state)
{
    s_now = s_local("2026-12-04", 10, 0); /* a Friday */
    fixture_t *f = hbt_enginefx_new(sizeof *f, "test-engine",
                                    "A:A:10m:Cash and deposits; B:B:20m:Loans; C:C:5m:Cards", 50,
                                    s_clock, s_policy);
    s_open(f);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    hbt_enginefx_free(*state);
    return 0;
}

static const char *s_issue(fixture_t *f, const char *service, int priority)
{
    static char id[HB_HS_ID];
    engine_ticket_answer_t a;
    char err[512];
    int rc = engine_issue(f->e, service, priority, 0, &a, err, sizeof err);
    if (rc != 0)
        fail_msg("issue %s: %s", service, err);
    snprintf(id, sizeof id, "%s", a.ticket);
    return id;
}

/* Every event in the outbox, decoded, in order. */
typedef struct {
    Hallbus__Envelope *envs[4096];
    size_t n;
} events_t;

static int s_collect(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    events_t *ev = arg;
    if (ev->n >= sizeof ev->envs / sizeof ev->envs[0])
        fail_msg("the outbox holds more than %zu events: raise events_t's room",
                 sizeof ev->envs / sizeof ev->envs[0]);
    ev->envs[ev->n] = hb_envelope_unpack(data, len);
    if (!ev->envs[ev->n])
        fail_msg("outbox event %" PRIu64 " does not decode", seq);
    ev->n++;
    return 0;
}

static void s_events(fixture_t *f, events_t *ev)
{
    ev->n = 0;
    uint64_t from = outbox_first_seq(f->ob);
    while (from <= outbox_last_seq(f->ob)) {
        size_t before = ev->n;
        assert_int_equal(outbox_read(f->ob, from, 1000, 1 << 22, s_collect, ev), 0);
        from += ev->n - before;
        if (ev->n == before)
            break;
    }
}

static void s_events_free(events_t *ev)
{
    for (size_t i = 0; i < ev->n; i++)
        hb_envelope_free(ev->envs[i]);
    ev->n = 0;
}

static size_t s_count_kind(events_t *ev, Hallbus__Envelope__BodyCase kind)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->n; i++)
        n += ev->envs[i] && ev->envs[i]->body_case == kind;
    return n;
}

/* ------------------------------------------------------------ numbering */

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_numbering_per_service_across_restart_and_midnight)
{
    fixture_t *f = *state;
    assert_string_equal(s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL), "A001");
    assert_string_equal(s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_VIP), "A002");
    assert_string_equal(s_issue(f, "B", HALLBUS__PRIORITY__PRIORITY_NORMAL), "B001");
    /* A restart continues the day's numbers. */
    hbt_enginefx_close(f);
    s_open(f);
    assert_string_equal(s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL), "A003");
    char err[512];
    assert_int_equal(engine_cancel(f->e, "A001", "left", err, sizeof err), 0);
    assert_int_equal(engine_cancel(f->e, "A002", "left", err, sizeof err), 0);
    /* Monday: numbers start again, but A003 still waits from Friday and
     * keeps its number; the new day's A003 moves on to A004. */
    s_now = s_local("2026-12-07", 9, 5);
    assert_string_equal(s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL), "A001");
    assert_string_equal(s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL), "A002");
    assert_string_equal(s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL), "A004");
    assert_string_equal(s_issue(f, "B", HALLBUS__PRIORITY__PRIORITY_NORMAL),
                        "B002"); /* B001 waits */
    assert_string_equal(s_issue(f, "C", HALLBUS__PRIORITY__PRIORITY_NORMAL), "C001");
    assert_string_equal(engine_state(f->e)->today.date, "2026-12-07");
    events_t ev;
    s_events(f, &ev);
    assert_int_equal(s_count_kind(&ev, HALLBUS__ENVELOPE__BODY_DAY_STARTED), 2);
    assert_int_equal(ev.envs[0]->body_case, HALLBUS__ENVELOPE__BODY_DAY_STARTED);
    assert_string_equal(ev.envs[0]->day_started->date, "2026-12-04");
    assert_string_equal(ev.envs[0]->day_started->timezone, "Europe/Berlin");
    assert_int_equal(ev.envs[0]->day_started->utc_offset_s, 3600);
    s_events_free(&ev);
    /* Midnight passes with the tick alone: the new day is an event. */
    s_now = s_local("2026-12-08", 0, 0) + 1000;
    engine_tick(f->e);
    assert_string_equal(engine_state(f->e)->today.date, "2026-12-08");
}

/* -------------------------------------------------------- opening hours */

static void s_expect_closed(fixture_t *f, hb_closed_reason_t why, int64_t next_open,
                            const char *note, const char *divert)
{
    uint64_t last = outbox_last_seq(f->ob);
    engine_ticket_answer_t a;
    char err[512];
    assert_int_equal(
        engine_issue(f->e, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL, 0, &a, err, sizeof err),
        HB_ECLOSED);
    assert_int_equal(a.closed.state, why);
    assert_int_equal(a.closed.next_open_ms, next_open);
    if (note) {
        assert_non_null(a.closed.note);
        assert_string_equal(a.closed.note, note);
        assert_non_null(strstr(err, note));
    }
    assert_int_equal(a.closed.n_divert, 1);
    assert_string_equal(a.closed.divert_to[0], divert);
    assert_non_null(strstr(err, "closed"));
    assert_int_equal(outbox_last_seq(f->ob), last);
}

HBT_TEST(test_closed_hours_holiday_and_closure)
{
    fixture_t *f = *state;
    s_now = s_local("2026-12-04", 17, 0); /* Friday at closing time */
    s_expect_closed(f, HB_CLOSED_OUTSIDE_HOURS, s_local("2026-12-07", 9, 0), NULL, "H003");
    s_now = s_local("2026-12-05", 11, 0); /* Saturday */
    s_expect_closed(f, HB_CLOSED_WEEKDAY, s_local("2026-12-07", 9, 0), NULL, "H003");
    s_now = s_local("2026-12-25", 10, 0); /* Christmas Day, a Friday */
    s_expect_closed(f, HB_CLOSED_SPECIAL_DAY, s_local("2026-12-31", 9, 0), "Christmas Day", "H003");
    s_now = s_local("2026-12-29", 10, 0); /* the closure names its own hall */
    s_expect_closed(f, HB_CLOSED_CLOSURE, s_local("2026-12-31", 9, 0), "Closed for works", "H002");
    s_now = s_local("2026-12-07", 8, 59);
    s_expect_closed(f, HB_CLOSED_OUTSIDE_HOURS, s_local("2026-12-07", 9, 0), NULL, "H003");
    s_now = s_local("2026-12-07", 9, 0);
    assert_string_equal(s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL), "A001");
}

HBT_TEST(test_diversion_threshold)
{
    fixture_t *f = *state;
    engine_ticket_answer_t a;
    char err[512];
    for (int i = 1; i <= 4; i++) {
        assert_int_equal(
            engine_issue(f->e, "C", HALLBUS__PRIORITY__PRIORITY_NORMAL, 0, &a, err, sizeof err), 0);
        assert_int_equal(a.position, (uint32_t)i);
        assert_int_equal(a.advice.waiting, (uint32_t)i);
        /* The threshold is 3: above it, the answer carries the advice. */
        assert_int_equal(a.advice.divert, i > 3);
    }
    engine_advice_t adv;
    engine_advice(f->e, "C", &adv);
    assert_true(adv.divert);
    engine_advice(f->e, "A", &adv);
    assert_false(adv.divert);
    /* Served down to the threshold: no advice any more. */
    const char *svcs[] = {"C"};
    assert_int_equal(engine_counter_open(f->e, "1", "E07", svcs, 1, err, sizeof err), 0);
    engine_call_answer_t c;
    assert_int_equal(engine_call(f->e, "1", NULL, &c, err, sizeof err), 0);
    engine_advice(f->e, "C", &adv);
    assert_false(adv.divert);
}

/* ------------------------------------------------------------ complaints */

HBT_TEST(test_complaint_deadlines_in_opening_hours)
{
    fixture_t *f = *state;
    s_now = s_local("2026-12-04", 16, 30); /* Friday evening */
    char id[HB_HS_ID], id2[HB_HS_ID], err[512];
    assert_int_equal(engine_complaint_open(f->e,
                                           HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_COUNTER,
                                           "waiting_time", HALLBUS__SEVERITY__SEVERITY_MEDIUM, NULL,
                                           "Waited an hour", id, err, sizeof err),
                     0);
    assert_string_equal(id, "K20261204-001");
    assert_int_equal(
        engine_complaint_open(f->e, HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_PHONE, "fees",
                              HALLBUS__SEVERITY__SEVERITY_LOW, NULL, NULL, id2, err, sizeof err),
        0);
    assert_string_equal(id2, "K20261204-002");
    const hb_hs_complaint_t *c = hb_hall_state_complaint(engine_state(f->e), id);
    assert_non_null(c);
    /* 4 opening hours: half an hour on Friday, 3.5 on Monday. */
    assert_int_equal(c->ack_due_ms, s_local("2026-12-07", 12, 30));
    /* 16 opening hours: 0.5 Friday, 8 Monday, 7.5 Tuesday. */
    assert_int_equal(c->resolve_due_ms, s_local("2026-12-08", 16, 30));
    /* The second one is acknowledged in time and never escalated for it. */
    assert_int_equal(engine_complaint_ack(f->e, id2, "E07", err, sizeof err), 0);
    assert_int_equal(engine_complaint_ack(f->e, id2, "E07", err, sizeof err), HB_ECONFLICT);

    const int64_t steps[] = {s_local("2026-12-05", 12, 0), s_local("2026-12-06", 23, 0),
                             s_local("2026-12-07", 12, 29)};
    for (size_t i = 0; i < 3; i++) {
        s_now = steps[i];
        engine_tick(f->e);
    }
    events_t ev;
    s_events(f, &ev);
    assert_int_equal(s_count_kind(&ev, HALLBUS__ENVELOPE__BODY_COMPLAINT_ESCALATED), 0);
    s_events_free(&ev);
    /* A weekend is not overdue; Monday 12:30 is. */
    s_now = s_local("2026-12-07", 12, 30);
    engine_tick(f->e);
    engine_tick(f->e); /* once, not every tick */
    s_events(f, &ev);
    assert_int_equal(s_count_kind(&ev, HALLBUS__ENVELOPE__BODY_COMPLAINT_ESCALATED), 1);
    Hallbus__Envelope *last = ev.envs[ev.n - 1];
    assert_int_equal(last->body_case, HALLBUS__ENVELOPE__BODY_COMPLAINT_ESCALATED);
    assert_string_equal(last->complaint_escalated->complaint, id);
    assert_true(last->complaint_escalated->automatic);
    assert_int_equal(last->complaint_escalated->level,
                     HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_DUTY_MANAGER);
    assert_int_equal(last->complaint_escalated->missed, HALLBUS__DEADLINE__DEADLINE_ACK);
    s_events_free(&ev);
    c = hb_hall_state_complaint(engine_state(f->e), id);
    assert_true(c->ack_missed);
    assert_int_equal(hb_hall_state_overdue(engine_state(f->e), s_now), 1);
    /* Tuesday 16:30: both unresolved; both go to the region. */
    s_now = s_local("2026-12-08", 16, 30);
    engine_tick(f->e);
    s_events(f, &ev);
    assert_int_equal(s_count_kind(&ev, HALLBUS__ENVELOPE__BODY_COMPLAINT_ESCALATED), 3);
    for (size_t i = ev.n - 2; i < ev.n; i++) {
        assert_int_equal(ev.envs[i]->complaint_escalated->level,
                         HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_REGION);
        assert_int_equal(ev.envs[i]->complaint_escalated->missed,
                         HALLBUS__DEADLINE__DEADLINE_RESOLVE);
    }
    s_events_free(&ev);
    /* By hand: one level up, never down; then resolved. */
    assert_int_equal(engine_complaint_escalate(f->e, id, 0, "customer insists", err, sizeof err),
                     0);
    assert_int_equal(hb_hall_state_complaint(engine_state(f->e), id)->escalation,
                     HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_HEAD_OFFICE);
    assert_int_equal(engine_complaint_escalate(f->e, id, 0, NULL, err, sizeof err), HB_ECONFLICT);
    assert_int_equal(engine_complaint_resolve(f->e, id, "fee refunded", true, err, sizeof err), 0);
    assert_null(hb_hall_state_complaint(engine_state(f->e), id));
    assert_int_equal(engine_complaint_ack(f->e, id, "E07", err, sizeof err), HB_ENOTFOUND);
}

/* -------------------------------------------------- recalls, no-shows */

HBT_TEST(test_recall_until_no_show)
{
    fixture_t *f = *state;
    char err[512];
    const char *svcs[] = {"A", "B"};
    assert_int_equal(engine_counter_open(f->e, "3", "E07", svcs, 2, err, sizeof err), 0);
    s_issue(f, "B", HALLBUS__PRIORITY__PRIORITY_NORMAL);
    engine_call_answer_t c;
    assert_int_equal(engine_call(f->e, "3", NULL, &c, err, sizeof err), 0);
    assert_string_equal(c.ticket, "B001");
    bool no_show;
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(engine_recall(f->e, "B001", &no_show, err, sizeof err), 0);
        assert_false(no_show);
        assert_int_equal(hb_hall_state_ticket(engine_state(f->e), "B001")->recalls, (uint32_t)i);
    }
    assert_int_equal(engine_recall(f->e, "B001", &no_show, err, sizeof err), 0);
    assert_true(no_show);
    assert_null(hb_hall_state_ticket(engine_state(f->e), "B001"));
    const hb_hs_ticket_t *t = hb_hall_state_ticket_any(engine_state(f->e), "B001");
    assert_non_null(t);
    assert_int_equal(t->state, HB_TICKET_NO_SHOW);
    assert_int_equal(hb_hall_state_counter(engine_state(f->e), "3")->state, HB_COUNTER_IDLE);
    assert_int_equal(engine_recall(f->e, "B001", &no_show, err, sizeof err), HB_ECONFLICT);
    assert_non_null(strstr(err, "no_show"));
}

/* ------------------------------------------------ refusals change nothing */

typedef struct {
    fixture_t *f;
    uint64_t seq;
    char *text;
} snapshot_t;

static void s_before(snapshot_t *s, fixture_t *f)
{
    s->f = f;
    s->seq = outbox_last_seq(f->ob);
    s->text = hbt_state_text(engine_state(f->e));
}

static void s_unchanged(snapshot_t *s, int rc, int want, const char *err, const char *says)
{
    if (rc != want)
        fail_msg("got %d (%s), want %d", rc, err, want);
    if (!strstr(err, says))
        fail_msg("the refusal '%s' does not say '%s'", err, says);
    assert_int_equal(outbox_last_seq(s->f->ob), s->seq);
    char *now = hbt_state_text(engine_state(s->f->e));
    assert_string_equal(now, s->text);
    free(now);
    free(s->text);
    s->text = NULL;
}

HBT_TEST(test_refusals_change_nothing)
{
    fixture_t *f = *state;
    char err[512], id[HB_HS_ID];
    const char *ab[] = {"A", "B"}, *bad[] = {"A", "Z"}, *twice[] = {"A", "A"};
    s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL); /* the day has begun */
    snapshot_t s;
    engine_ticket_answer_t ta;
    engine_call_answer_t ca;
    bool ns;
#define REFUSE(call, want, says)                                                                   \
    do {                                                                                           \
        s_before(&s, f);                                                                           \
        err[0] = '\0';                                                                             \
        s_unchanged(&s, (call), (want), err, (says));                                              \
    } while (0)
    REFUSE(engine_issue(f->e, "Z", HALLBUS__PRIORITY__PRIORITY_NORMAL, 0, &ta, err, sizeof err),
           HB_EINVAL, "unknown service 'Z'; this hall serves A, B, C");
    REFUSE(engine_issue(f->e, "A", 9, 0, &ta, err, sizeof err), HB_EINVAL, "priority 9");
    REFUSE(engine_call(f->e, "1", NULL, &ca, err, sizeof err), HB_ECONFLICT,
           "counter '1' is not open");
    REFUSE(engine_counter_open(f->e, "1", "E07", bad, 2, err, sizeof err), HB_EINVAL,
           "unknown service 'Z'");
    REFUSE(engine_counter_open(f->e, "1", "E07", twice, 2, err, sizeof err), HB_EINVAL,
           "named twice");
    REFUSE(engine_counter_open(f->e, "1", "", ab, 2, err, sizeof err), HB_EINVAL, "staff");
    REFUSE(engine_counter_open(f->e, "bad id", "E07", ab, 2, err, sizeof err), HB_EINVAL,
           "counter id");
    assert_int_equal(engine_counter_open(f->e, "1", "E07", ab, 2, err, sizeof err), 0);
    REFUSE(engine_counter_open(f->e, "1", "E08", ab, 2, err, sizeof err), HB_ECONFLICT,
           "open already");
    REFUSE(engine_start(f->e, "1", err, sizeof err), HB_ECONFLICT, "counter 1 is idle");
    REFUSE(engine_complete(f->e, "1", "bill_payment", HALLBUS__OUTCOME__OUTCOME_DONE, 0, NULL, err,
                           sizeof err),
           HB_ECONFLICT, "only a counter serving");
    REFUSE(engine_counter_resume(f->e, "1", err, sizeof err), HB_ECONFLICT, "only a paused");
    REFUSE(engine_recall(f->e, "A001", &ns, err, sizeof err), HB_ECONFLICT, "waiting");
    REFUSE(engine_no_show(f->e, "A777", err, sizeof err), HB_ENOTFOUND, "no ticket 'A777'");
    REFUSE(engine_call(f->e, "1", "A777", &ca, err, sizeof err), HB_ENOTFOUND, "no ticket 'A777'");
    REFUSE(engine_transfer(f->e, "A001", "A", &ta, err, sizeof err), HB_ECONFLICT,
           "already in service A");
    REFUSE(engine_transfer(f->e, "A001", "Q", &ta, err, sizeof err), HB_EINVAL,
           "unknown service 'Q'");
    assert_int_equal(engine_call(f->e, "1", NULL, &ca, err, sizeof err), 0);
    REFUSE(engine_call(f->e, "1", NULL, &ca, err, sizeof err), HB_ECONFLICT, "finish it first");
    REFUSE(engine_counter_close(f->e, "1", err, sizeof err), HB_ECONFLICT, "finish the ticket");
    REFUSE(engine_counter_pause(f->e, "1", "lunch", err, sizeof err), HB_ECONFLICT, "finish");
    assert_int_equal(engine_start(f->e, "1", err, sizeof err), 0);
    REFUSE(engine_cancel(f->e, "A001", NULL, err, sizeof err), HB_ECONFLICT,
           "completed, not cancelled");
    REFUSE(engine_complete(f->e, "1", "", HALLBUS__OUTCOME__OUTCOME_DONE, 0, NULL, err, sizeof err),
           HB_EINVAL, "business_type");
    REFUSE(engine_complete(f->e, "1", "bill_payment", 7, 0, NULL, err, sizeof err), HB_EINVAL,
           "outcome");
    REFUSE(engine_complete(f->e, "1", "bill_payment", HALLBUS__OUTCOME__OUTCOME_DONE, -5, NULL, err,
                           sizeof err),
           HB_EINVAL, "amount");
    REFUSE(engine_complete(f->e, "1", "bill_payment", HALLBUS__OUTCOME__OUTCOME_DONE, 100, "euro",
                           err, sizeof err),
           HB_EINVAL, "currency");
    s_now += 5 * MIN;
    assert_int_equal(engine_complete(f->e, "1", "bill_payment", HALLBUS__OUTCOME__OUTCOME_DONE,
                                     12000, "EUR", err, sizeof err),
                     0);
    assert_int_equal(engine_state(f->e)->today.amount_sum, 12000);
    REFUSE(engine_feedback(f->e, "A001", "1", 6, err, sizeof err), HB_EINVAL, "score");
    REFUSE(engine_feedback(f->e, "A999", "1", 5, err, sizeof err), HB_ENOTFOUND, "A999");
    assert_int_equal(engine_feedback(f->e, "A001", "1", 5, err, sizeof err), 0);
    REFUSE(engine_complaint_open(f->e, 0, "fees", HALLBUS__SEVERITY__SEVERITY_LOW, NULL, NULL, id,
                                 err, sizeof err),
           HB_EINVAL, "channel");
    REFUSE(engine_complaint_open(f->e, HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_APP, "fees", 9,
                                 NULL, NULL, id, err, sizeof err),
           HB_EINVAL, "severity");
    REFUSE(engine_complaint_resolve(f->e, "K1", "", false, err, sizeof err), HB_EINVAL,
           "resolution");
    REFUSE(engine_complaint_resolve(f->e, "K1", "done", false, err, sizeof err), HB_ENOTFOUND,
           "K1");
    REFUSE(engine_device_status(f->e, "kiosk-1", 0, HALLBUS__DEVICE_STATE__DEVICE_STATE_OK, NULL,
                                err, sizeof err),
           HB_EINVAL, "kind");
    REFUSE(engine_device_status(f->e, "kiosk-1", HALLBUS__DEVICE_KIND__DEVICE_KIND_KIOSK, 77, NULL,
                                err, sizeof err),
           HB_EINVAL, "state");
    assert_int_equal(engine_device_status(f->e, "kiosk-1", HALLBUS__DEVICE_KIND__DEVICE_KIND_KIOSK,
                                          HALLBUS__DEVICE_STATE__DEVICE_STATE_PAPER_OUT, "tray",
                                          err, sizeof err),
                     0);
    /* Events only branchd writes are not taken from outside. */
    Hallbus__DayStarted ds = HALLBUS__DAY_STARTED__INIT;
    ds.date = "2026-12-05";
    Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT, *envp = &env;
    env.at_ms = s_now;
    env.body_case = HALLBUS__ENVELOPE__BODY_DAY_STARTED;
    env.day_started = &ds;
    uint64_t first;
    REFUSE(engine_append_external(f->e, &envp, 1, &first, err, sizeof err), HB_EINVAL,
           "written by branchd itself");
    /* A full queue refuses, with nothing issued. */
    for (size_t i = engine_state(f->e)->n_tickets; i < f->cfg.max_waiting; i++)
        s_issue(f, "B", HALLBUS__PRIORITY__PRIORITY_NORMAL);
    REFUSE(engine_issue(f->e, "B", HALLBUS__PRIORITY__PRIORITY_NORMAL, 0, &ta, err, sizeof err),
           HB_ETOOBIG, "the queue is full");
#undef REFUSE
}

/* The refusals the local API cannot reach (it checks the same values first,
 * or maps names to enums), and the bounds of each collection: each one
 * refused with its reason, and nothing stored. */
HBT_TEST(test_refusals_behind_the_api)
{
    fixture_t *f = *state;
    char err[512], id[HB_HS_ID];
    s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL); /* the day has begun */
    snapshot_t s;
    const char *a[] = {"A"};
    const char *seventeen[HB_HS_COUNTER_SERVICES_MAX + 1];
    for (size_t i = 0; i < sizeof seventeen / sizeof seventeen[0]; i++)
        seventeen[i] = "A";

    s_before(&s, f);
    s_unchanged(&s, engine_counter_open(f->e, "1", "E07", a, 0, err, sizeof err), HB_EINVAL, err,
                "services must name 1 to 16 services");
    s_before(&s, f);
    s_unchanged(&s, engine_counter_open(f->e, "1", "E07", seventeen, 17, err, sizeof err),
                HB_EINVAL, err, "services must name 1 to 16 services");
    assert_int_equal(engine_complaint_open(f->e, HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_APP,
                                           "fees", HALLBUS__SEVERITY__SEVERITY_LOW, NULL, NULL, id,
                                           err, sizeof err),
                     0);
    const int levels[] = {-1, HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_HEAD_OFFICE + 1};
    for (size_t i = 0; i < 2; i++) {
        s_before(&s, f);
        s_unchanged(&s, engine_complaint_escalate(f->e, id, levels[i], NULL, err, sizeof err),
                    HB_EINVAL, err, "level must be one of duty_manager, region, head_office");
    }
    /* What HQ would refuse never enters the outbox: a text that is not
     * UTF-8 (the API only ever passes JSON strings). */
    s_before(&s, f);
    s_unchanged(&s, engine_cancel(f->e, "A001", "caf\xe9", err, sizeof err), HB_EINVAL, err,
                "nothing was stored");

    /* Each collection full: one more is refused, one already known is not. */
    char name[32];
    for (int i = 1; engine_state(f->e)->n_counters < HB_HS_COUNTERS_MAX; i++) {
        snprintf(name, sizeof name, "c%d", i);
        assert_int_equal(engine_counter_open(f->e, name, "E07", a, 1, err, sizeof err), 0);
    }
    s_before(&s, f);
    s_unchanged(&s, engine_counter_open(f->e, "one-more", "E07", a, 1, err, sizeof err), HB_ETOOBIG,
                err, "the hall has 128 counters already");
    assert_int_equal(engine_counter_close(f->e, "c1", err, sizeof err), 0);
    assert_int_equal(engine_counter_open(f->e, "c1", "E08", a, 1, err, sizeof err), 0);

    const int kiosk = HALLBUS__DEVICE_KIND__DEVICE_KIND_KIOSK;
    const int ok = HALLBUS__DEVICE_STATE__DEVICE_STATE_OK;
    for (int i = 1; engine_state(f->e)->n_devices < HB_HS_DEVICES_MAX; i++) {
        snprintf(name, sizeof name, "kiosk-%d", i);
        assert_int_equal(engine_device_status(f->e, name, kiosk, ok, NULL, err, sizeof err), 0);
    }
    s_before(&s, f);
    s_unchanged(&s, engine_device_status(f->e, "kiosk-new", kiosk, ok, NULL, err, sizeof err),
                HB_ETOOBIG, err, "the hall has 128 devices already");
    assert_int_equal(engine_device_status(f->e, "kiosk-1", kiosk,
                                          HALLBUS__DEVICE_STATE__DEVICE_STATE_FAULT, "jam", err,
                                          sizeof err),
                     0);

    while (engine_state(f->e)->n_complaints < HB_HS_COMPLAINTS_MAX)
        assert_int_equal(
            engine_complaint_open(f->e, HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_APP, "fees",
                                  HALLBUS__SEVERITY__SEVERITY_LOW, NULL, NULL, id, err, sizeof err),
            0);
    char refused[HB_HS_ID];
    s_before(&s, f);
    s_unchanged(&s,
                engine_complaint_open(f->e, HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_APP,
                                      "fees", HALLBUS__SEVERITY__SEVERITY_LOW, NULL, NULL, refused,
                                      err, sizeof err),
                HB_ETOOBIG, err, "the hall has 1024 complaints open already");
    assert_string_equal(refused, "");
    /* A resolved complaint leaves the live state and makes room. */
    assert_int_equal(engine_complaint_resolve(f->e, id, "refunded", true, err, sizeof err), 0);
    assert_int_equal(engine_complaint_open(f->e, HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_APP,
                                           "fees", HALLBUS__SEVERITY__SEVERITY_LOW, NULL, NULL, id,
                                           err, sizeof err),
                     0);
}

HBT_TEST_IN(test_parse_services_refusals, NULL, NULL)
{
    (void)state;
    engine_config_t cfg;
    char err[256];
    const struct {
        const char *text, *says;
    } cases[] = {
        {"", "at least one service"},
        {"A:A:10m", "must be CODE:PREFIX:SLA:Name"},
        {"A:A:10m:Cash; A:B:10m:Loans", "code A is given twice"},
        {"A:A:10m:Cash; B:A:10m:Loans", "prefix A is used by service A"},
        {"A:A:ten minutes:Cash", "SLA 'ten minutes'"},
        {"A:A:10s:Cash", "from 1m to 24h"},
        {"A b:A:10m:Cash", "code 'A b'"},
        {"A:A-1:10m:Cash", "prefix 'A-1'"},
        {"A:A:10m: ", "the name must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&cfg, 0, sizeof cfg);
        assert_int_equal(engine_parse_services(cases[i].text, &cfg, err, sizeof err), HB_EINVAL);
        if (!strstr(err, cases[i].says))
            fail_msg("'%s': '%s' does not say '%s'", cases[i].text, err, cases[i].says);
    }
    assert_int_equal(
        engine_parse_services(" A:A:10m:Cash and deposits ;B:L:1h:Loans;", &cfg, err, sizeof err),
        0);
    assert_int_equal(cfg.n_services, 2);
    assert_string_equal(cfg.services[0].name, "Cash and deposits");
    assert_string_equal(cfg.services[1].prefix, "L");
    assert_int_equal(cfg.services[1].sla_s, 3600);
}

/* ---------------------------------------------- replay gives the state */

static uint64_t s_rng = 88172645463325252ULL;
static uint32_t s_rand(uint32_t n) { return hbt_rand(&s_rng, n); }

/* A busy stretch of random actions, most refused or not, as a hall's
 * devices would send them. */
static void s_random_actions(fixture_t *f, int n)
{
    static const char *const counters[] = {"1", "2", "3", "4"};
    static const char *const services[] = {"A", "B", "C"};
    char err[512], id[HB_HS_ID];
    engine_ticket_answer_t ta;
    engine_call_answer_t ca;
    bool ns;
    for (int i = 0; i < n; i++) {
        s_now += s_rand(40000);
        const char *c = counters[s_rand(4)];
        const hb_hall_state_t *st = engine_state(f->e);
        const char *some = st->n_tickets ? st->tickets[s_rand((uint32_t)st->n_tickets)].id : "A001";
        char ticket[HB_HS_ID];
        snprintf(ticket, sizeof ticket, "%s", some);
        switch (s_rand(16)) {
        case 0:
        case 1:
        case 2:
        case 3:
            engine_issue(f->e, services[s_rand(3)], 1 + (int)s_rand(4), 0, &ta, err, sizeof err);
            break;
        case 4: {
            const char *svcs[] = {services[s_rand(3)], services[s_rand(3)]};
            engine_counter_open(f->e, c, "E1", svcs, svcs[0] == svcs[1] ? 1 : 2, err, sizeof err);
            break;
        }
        case 5:
        case 6: engine_call(f->e, c, NULL, &ca, err, sizeof err); break;
        case 7: engine_start(f->e, c, err, sizeof err); break;
        case 8:
            engine_complete(f->e, c, "bill_payment", 1 + (int)s_rand(3), s_rand(50000), NULL, err,
                            sizeof err);
            break;
        case 9: engine_recall(f->e, ticket, &ns, err, sizeof err); break;
        case 10: engine_transfer(f->e, ticket, services[s_rand(3)], &ta, err, sizeof err); break;
        case 11: engine_cancel(f->e, ticket, "left", err, sizeof err); break;
        case 12:
            if (s_rand(4) == 0)
                engine_counter_pause(f->e, c, "lunch", err, sizeof err);
            else
                engine_counter_resume(f->e, c, err, sizeof err);
            break;
        case 13:
            engine_complaint_open(f->e, 1 + (int)s_rand(5), "waiting_time", 1 + (int)s_rand(4),
                                  ticket, "text", id, err, sizeof err);
            break;
        case 14:
            if (st->n_complaints) {
                const hb_hs_complaint_t *k = &st->complaints[s_rand((uint32_t)st->n_complaints)];
                snprintf(id, sizeof id, "%s", k->id);
                if (s_rand(2))
                    engine_complaint_ack(f->e, id, "E1", err, sizeof err);
                else
                    engine_complaint_resolve(f->e, id, "sorted", s_rand(2), err, sizeof err);
            }
            break;
        default: engine_tick(f->e); break;
        }
    }
}

HBT_TEST(test_replay_from_outbox_equals_live_state)
{
    fixture_t *f = *state;
    s_now = s_local("2026-12-07", 9, 0);
    s_random_actions(f, 1500);
    assert_true(engine_state(f->e)->today.issued > 100);
    /* Every event replayed into an empty state. */
    events_t ev;
    s_events(f, &ev);
    hb_hall_state_t *replayed = hb_hall_state_new();
    for (size_t i = 0; i < ev.n; i++) {
        assert_non_null(ev.envs[i]);
        hb_hall_state_apply(replayed, ev.envs[i]);
    }
    s_events_free(&ev);
    char *live = hbt_state_text(engine_state(f->e)), *again = hbt_state_text(replayed);
    assert_string_equal(live, again);
    /* The engine's own events always fit the state. */
    assert_int_equal(engine_state(f->e)->anomalies, 0);
    free(again);
    hb_hall_state_destroy(&replayed);
    /* Snapshot now (a clean stop), more actions, then a kill -9: the
     * snapshot + the events after it give the same state. */
    hbt_enginefx_close(f);
    s_open(f);
    again = hbt_state_text(engine_state(f->e));
    assert_string_equal(live, again);
    free(again);
    free(live);
    s_random_actions(f, 500);
    live = hbt_state_text(engine_state(f->e));
    s_crash_reopen(f);
    again = hbt_state_text(engine_state(f->e));
    assert_string_equal(live, again);
    free(again);
    free(live);
}

/* A hall killed, restarted long after (its events old enough to prune,
 * and acknowledged), and killed again before its next snapshot: the
 * events replayed after the stored snapshot at the first restart must not
 * be pruned until a snapshot covers them (the restart writes one). */
HBT_TEST(test_replayed_events_survive_pruning_and_a_second_kill)
{
    fixture_t *f = *state;
    for (int i = 0; i < 3; i++)
        s_issue(f, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL);
    hbt_enginefx_close(f); /* the stored snapshot covers these three */
    s_open(f);
    for (int i = 0; i < 3; i++)
        s_issue(f, "B", HALLBUS__PRIORITY__PRIORITY_NORMAL);
    char *live = hbt_state_text(engine_state(f->e));
    uint64_t last = outbox_last_seq(f->ob);
    s_crash_reopen(f);
    char *again = hbt_state_text(engine_state(f->e));
    assert_string_equal(live, again);
    free(again);
    /* Forty days on, everything acknowledged: the outbox prunes all it
     * may. */
    s_now += 40 * 24 * HOUR;
    assert_int_equal(outbox_ack(f->ob, last), 0);
    size_t pruned = 0;
    assert_int_equal(outbox_flush(f->ob, s_now, 100000, &pruned), 0);
    assert_true(pruned > 0);
    s_crash_reopen(f);
    again = hbt_state_text(engine_state(f->e));
    assert_string_equal(live, again);
    free(again);
    free(live);
}
