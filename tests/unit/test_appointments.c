/* Appointments in the hall engine on a real outbox with the test's own
 * clock: a day's slots from the policy, booking and its refusals (unknown
 * slot, full slot, past slot, a service without appointments), check-in
 * and its refusals (bad code, twice, too early, cancelled, too late), the
 * appointment ticket called first from its slot's start with the
 * appointment rule and only by the named staff's counter, and the no-show
 * marked by the tick one second after start + no_show_after_s, not before;
 * a booking under an idempotency key (HQ's channel) found again by the
 * same key, also after the engine is opened anew, and the key refused for
 * another slot. The engine's own refusal names are what the API answers. */
#include "engine.h"

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

#include "enginefx.h"
#include "events.h"
#include "runner.h"

#define SEC 1000LL
#define MIN (60 * SEC)

static int64_t s_now;
static int64_t s_clock(void) { return s_now; }

static int64_t s_local(int h, int m)
{
    return hbt_local_ms("Europe/Berlin", "2026-12-04", h, m); /* a Friday */
}

static const char *const s_policy =
    "{\"timezone\":\"Europe/Berlin\","
    " \"appointments\":{\"A\":{\"slot_s\":1800,\"capacity\":2},"
    "   \"B\":{\"slot_s\":3600,\"capacity\":1,\"no_show_after_s\":600,"
    "     \"hours\":{\"mon\":[],\"tue\":[],\"wed\":[],\"thu\":[],\"fri\":[\"14:00-16:00\"],"
    "       \"sat\":[],\"sun\":[]}}}}";

typedef hbt_enginefx_t fixture_t;

static int s_setup(void **state)
{
    s_now = s_local(10, 0);
    fixture_t *f = hbt_enginefx_new(
        sizeof *f, "test-appt", "A:A:10m:Cash; B:B:20m:Loans; C:C:5m:Cards", 50, s_clock, s_policy);
    hbt_enginefx_open(f, 1 << 20, 1 << 30);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    hbt_enginefx_free(*state);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

/* One booking at the hall's own API (no idempotency key); err: 512 bytes. */
static int s_try(fixture_t *f, const char *service, int64_t start, const char *staff, char *code,
                 char *err)
{
    bool replayed = true;
    int rc = engine_appt_book(f->e, service, start, staff, 0, NULL, code, &replayed, err, 512);
    assert_false(replayed);
    return rc;
}

static void s_book(fixture_t *f, const char *service, int64_t start, const char *staff, char *code)
{
    char err[512];
    if (s_try(f, service, start, staff, code, err) != 0)
        fail_msg("book %s: %s", service, err);
    assert_int_equal(strlen(code), 8);
}

/* A refusal: its code, its name for the API and words of its reason. */
static void s_refused(fixture_t *f, int rc, int want_rc, const char *name, const char *err,
                      const char *words)
{
    if (rc != want_rc)
        fail_msg("expected %s (%d), got %d: %s", name ? name : "refusal", want_rc, rc, err);
    if (name)
        assert_string_equal(engine_refusal(f->e) ? engine_refusal(f->e) : "(none)", name);
    if (!strstr(err, words))
        fail_msg("'%s' does not say '%s'", err, words);
}

HBT_TEST(test_slots_and_booking)
{
    fixture_t *f = *state;
    int32_t day;
    hb_date_parse("2026-12-04", &day);
    static engine_slots_t sl;
    char err[512], code[HB_HS_ID], code2[HB_HS_ID];
    assert_int_equal(engine_appt_slots(f->e, "A", day, &sl, err, sizeof err), 0);
    assert_int_equal(sl.n, 16); /* 09:00-17:00 by 30 min */
    assert_int_equal(sl.slots[0].start_ms, s_local(9, 0));
    assert_int_equal(sl.no_show_after_s, 900);
    assert_int_equal(engine_appt_slots(f->e, "B", day, &sl, err, sizeof err), 0);
    assert_int_equal(sl.n, 2); /* its own hours, 14:00-16:00 by the hour */
    assert_int_equal(sl.slots[1].start_ms, s_local(15, 0));
    s_refused(f, engine_appt_slots(f->e, "C", day, &sl, err, sizeof err), HB_EINVAL, NULL, err,
              "service C takes no appointments");
    /* Saturday: the hall is closed, no slots. */
    assert_int_equal(engine_appt_slots(f->e, "A", day + 1, &sl, err, sizeof err), 0);
    assert_int_equal(sl.n, 0);

    s_book(f, "A", s_local(10, 30), NULL, code);
    s_book(f, "A", s_local(10, 30), "E2", code2);
    assert_string_not_equal(code, code2);
    s_refused(f, s_try(f, "A", s_local(10, 30), NULL, code, err), HB_ECONFLICT, "slot_full", err,
              "is full (2 of 2)");
    s_refused(f, s_try(f, "A", s_local(10, 15), NULL, code, err), HB_ENOTFOUND, "unknown_slot", err,
              "slots start every 30 min from 09:00");
    s_refused(f, s_try(f, "A", s_local(9, 30), NULL, code, err), HB_ECONFLICT, "slot_past", err,
              "began already");
    s_refused(f, s_try(f, "C", s_local(11, 0), NULL, code, err), HB_EINVAL, NULL, err,
              "takes no appointments");
    s_refused(f, s_try(f, "Z", s_local(11, 0), NULL, code, err), HB_EINVAL, NULL, err,
              "unknown service 'Z'");
    s_refused(f, s_try(f, "A", s_local(11, 0), "a b", code, err), HB_EINVAL, NULL, err,
              "staff must be a staff id");
    assert_int_equal(engine_appt_slots(f->e, "A", day, &sl, err, sizeof err), 0);
    assert_int_equal(sl.slots[3].booked, 2);
    assert_int_equal(engine_state(f->e)->n_appointments, 2);
}

/* A booking through HQ with key `request`. */
static int s_keyed(fixture_t *f, const char *request, int64_t start, char *code, bool *replayed,
                   char *err)
{
    return engine_appt_book(f->e, "A", start, NULL, HALLBUS__BOOKING_CHANNEL__BOOKING_CHANNEL_APP,
                            request, code, replayed, err, 512);
}

HBT_TEST(test_same_key_same_booking)
{
    fixture_t *f = *state;
    char err[512], code[HB_HS_ID], again[HB_HS_ID], other[HB_HS_ID];
    bool replayed = true;
    const char *key = "0123456789abcdef0123456789abcdef";
    assert_int_equal(s_keyed(f, key, s_local(11, 0), code, &replayed, err), 0);
    assert_false(replayed);
    uint64_t seq = engine_last_seq(f->e);
    assert_int_equal(s_keyed(f, key, s_local(11, 0), again, &replayed, err), 0);
    assert_true(replayed);
    assert_string_equal(again, code);
    assert_int_equal(engine_last_seq(f->e), seq); /* nothing written */
    assert_int_equal(engine_state(f->e)->n_appointments, 1);
    /* The key of another slot, and a second key for the same slot. */
    s_refused(f, s_keyed(f, key, s_local(11, 30), other, &replayed, err), HB_ECONFLICT,
              "idempotency_key_reused", err, "use a new key");
    assert_int_equal(
        s_keyed(f, "fedcba9876543210fedcba9876543210", s_local(11, 0), other, &replayed, err), 0);
    assert_false(replayed);
    assert_string_not_equal(other, code);
    /* The slot is full now (2 of 2), yet the first key still gets its booking. */
    assert_int_equal(s_keyed(f, key, s_local(11, 0), again, &replayed, err), 0);
    assert_true(replayed);
    /* The key lives in the events: a restarted engine still knows it. */
    hbt_enginefx_close(f);
    hbt_enginefx_open(f, 1 << 20, 1 << 30);
    assert_int_equal(s_keyed(f, key, s_local(11, 0), again, &replayed, err), 0);
    assert_true(replayed);
    assert_string_equal(again, code);
    const hb_hs_appointment_t *b = hb_hall_state_appointment(engine_state(f->e), code);
    assert_non_null(b);
    assert_string_equal(b->request, key);
    assert_int_equal(b->channel, HALLBUS__BOOKING_CHANNEL__BOOKING_CHANNEL_APP);
}

HBT_TEST(test_checkin_refusals)
{
    fixture_t *f = *state;
    char err[512], early[HB_HS_ID], soon[HB_HS_ID], gone[HB_HS_ID];
    engine_ticket_answer_t t;
    s_book(f, "A", s_local(12, 0), NULL, early);
    s_book(f, "A", s_local(10, 30), NULL, soon);
    s_book(f, "A", s_local(11, 0), NULL, gone);
    s_refused(f, engine_appt_checkin(f->e, "12345678", 0, &t, err, sizeof err), HB_ENOTFOUND,
              "bad_code", err, "no booking with code 12345678");
    s_refused(f, engine_appt_checkin(f->e, early, 0, &t, err, sizeof err), HB_ECONFLICT,
              "too_early", err, "from 60 min before its slot");
    assert_int_equal(engine_appt_checkin(f->e, soon, 0, &t, err, sizeof err), 0);
    const hb_hs_ticket_t *tk = hb_hall_state_ticket(engine_state(f->e), t.ticket);
    assert_non_null(tk);
    assert_int_equal(tk->priority, HALLBUS__PRIORITY__PRIORITY_APPOINTMENT);
    assert_string_equal(tk->appointment, soon);
    assert_int_equal(tk->due_ms, s_local(10, 30));
    assert_int_equal(hb_hall_state_appointment(engine_state(f->e), soon)->state,
                     HB_APPT_CHECKED_IN);
    s_refused(f, engine_appt_checkin(f->e, soon, 0, &t, err, sizeof err), HB_ECONFLICT,
              "checked_in_already", err, "checked in already");
    s_refused(f, engine_appt_cancel(f->e, soon, NULL, err, sizeof err), HB_ECONFLICT,
              "checked_in_already", err, "checked in already");
    assert_int_equal(engine_appt_cancel(f->e, gone, "ill", err, sizeof err), 0);
    s_refused(f, engine_appt_checkin(f->e, gone, 0, &t, err, sizeof err), HB_ECONFLICT, "cancelled",
              err, "was cancelled");
    s_refused(f, engine_appt_cancel(f->e, "99999999", NULL, err, sizeof err), HB_ENOTFOUND,
              "bad_code", err, "no booking");
    /* Too late: 12:15:01, past 12:00 + 15 min, before the tick marks it. */
    s_now = s_local(12, 15) + SEC;
    s_refused(f, engine_appt_checkin(f->e, early, 0, &t, err, sizeof err), HB_ECONFLICT, "no_show",
              err, "check-in closed 15 min after its start");
}

static void s_call(fixture_t *f, const char *counter, const char *want, int rule)
{
    engine_call_answer_t c;
    char err[512];
    if (engine_call(f->e, counter, NULL, &c, err, sizeof err) != 0)
        fail_msg("call at %s: %s", counter, err);
    assert_string_equal(c.ticket, want);
    assert_int_equal(c.rule, rule);
}

HBT_TEST(test_called_at_its_time_by_named_staff)
{
    fixture_t *f = *state;
    char err[512], mine[HB_HS_ID], any[HB_HS_ID];
    engine_ticket_answer_t t, appt, appt2;
    const char *a[] = {"A"};
    assert_int_equal(engine_counter_open(f->e, "1", "E1", a, 1, err, sizeof err), 0);
    assert_int_equal(engine_counter_open(f->e, "2", "E2", a, 1, err, sizeof err), 0);
    s_book(f, "A", s_local(10, 30), "E2", mine);
    s_book(f, "A", s_local(10, 30), NULL, any);
    /* Two walk-ins first, then both check in early. */
    char first[HB_HS_ID], second[HB_HS_ID];
    assert_int_equal(
        engine_issue(f->e, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL, 0, &t, err, sizeof err), 0);
    snprintf(first, sizeof first, "%s", t.ticket);
    assert_int_equal(
        engine_issue(f->e, "A", HALLBUS__PRIORITY__PRIORITY_NORMAL, 0, &t, err, sizeof err), 0);
    snprintf(second, sizeof second, "%s", t.ticket);
    s_now = s_local(10, 5);
    assert_int_equal(engine_appt_checkin(f->e, mine, 0, &appt, err, sizeof err), 0);
    assert_int_equal(engine_appt_checkin(f->e, any, 0, &appt2, err, sizeof err), 0);
    /* At 10:30, the slot's start: counter 1 (E1) takes the booking that
     * names nobody, by the appointment rule; the one naming E2 waits for
     * counter 2, which takes it next by the same rule. */
    s_now = s_local(10, 30);
    s_call(f, "1", appt2.ticket, HALLBUS__CALL_RULE__CALL_RULE_APPOINTMENT);
    s_call(f, "2", appt.ticket, HALLBUS__CALL_RULE__CALL_RULE_APPOINTMENT);
    /* Then the walk-ins. */
    assert_int_equal(engine_start(f->e, "1", err, sizeof err), 0);
    assert_int_equal(
        engine_complete(f->e, "1", "x", HALLBUS__OUTCOME__OUTCOME_DONE, 0, NULL, err, sizeof err),
        0);
    s_call(f, "1", first, HALLBUS__CALL_RULE__CALL_RULE_FIFO);
}

HBT_TEST(test_not_called_first_before_its_slot)
{
    fixture_t *f = *state;
    char err[512], code[HB_HS_ID];
    engine_ticket_answer_t t, appt;
    const char *a[] = {"A"};
    assert_int_equal(engine_counter_open(f->e, "1", "E1", a, 1, err, sizeof err), 0);
    s_book(f, "A", s_local(10, 30), NULL, code);
    s_now = s_local(10, 10);
    assert_int_equal(engine_appt_checkin(f->e, code, 0, &appt, err, sizeof err), 0);
    assert_int_equal(
        engine_issue(f->e, "A", HALLBUS__PRIORITY__PRIORITY_VIP, 0, &t, err, sizeof err), 0);
    /* 10:20, before the slot: not by the appointment rule. */
    s_now = s_local(10, 20);
    engine_call_answer_t c;
    assert_int_equal(engine_call(f->e, "1", NULL, &c, err, sizeof err), 0);
    assert_int_not_equal(c.rule, HALLBUS__CALL_RULE__CALL_RULE_APPOINTMENT);
}

HBT_TEST(test_no_show_timing)
{
    fixture_t *f = *state;
    char err[512], a_code[HB_HS_ID], b_code[HB_HS_ID];
    s_book(f, "A", s_local(11, 0), NULL, a_code); /* no-show after 15 min */
    s_book(f, "B", s_local(14, 0), NULL, b_code); /* after 10 min */
    s_now = s_local(11, 15);
    engine_tick(f->e);
    assert_int_equal(hb_hall_state_appointment(engine_state(f->e), a_code)->state, HB_APPT_BOOKED);
    s_now += SEC;
    engine_tick(f->e);
    assert_int_equal(hb_hall_state_appointment(engine_state(f->e), a_code)->state, HB_APPT_NO_SHOW);
    assert_int_equal(hb_hall_state_appointment(engine_state(f->e), b_code)->state, HB_APPT_BOOKED);
    engine_ticket_answer_t t;
    s_refused(f, engine_appt_checkin(f->e, a_code, 0, &t, err, sizeof err), HB_ECONFLICT, "no_show",
              err, "is a no-show");
    s_now = s_local(14, 10) + SEC;
    engine_tick(f->e);
    assert_int_equal(hb_hall_state_appointment(engine_state(f->e), b_code)->state, HB_APPT_NO_SHOW);
    /* Marked once: the next tick writes nothing. */
    uint64_t seq = engine_state(f->e)->seq;
    s_now += 5 * SEC;
    engine_tick(f->e);
    assert_int_equal(engine_state(f->e)->seq, seq);
}
