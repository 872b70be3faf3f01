/* Unit tests of common/hall/hallstate.c, the hall-state reducer: what each
 * event kind does and each anomaly it can be, counter open and busy time to
 * the millisecond, the day's reset and the bounds. Whole streams and the
 * snapshot are test_hallstate_stream.c's, the view test_hallstate_view.c's. */
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

/* Every test but two (which make and destroy their own) starts from an
 * empty state and ends with the reducer's invariants checked. */
static int s_setup(void **state)
{
    *state = hb_hall_state_new();
    return *state ? 0 : -1;
}

static int s_teardown(void **state)
{
    hb_hall_state_t *s = *state;
    hbt_state_invariants(s);
    hb_hall_state_destroy(&s);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

/* --------------------------------------------------------- ticket life ---- */

HBT_TEST_IN(test_ticket_life, NULL, NULL)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    assert_non_null(s);
    HBT_OK(s, T0,
           "{'type':'day_started','date':'2026-11-23','timezone':'Europe/Berlin',"
           "'utc_offset_s':3600}");
    assert_string_equal(s->timezone, "Europe/Berlin");
    assert_int_equal(s->utc_offset_s, 3600);
    HBT_OK(s, T0, "{'type':'counter_opened','counter':'1','staff':'S01','services':['A','B']}");
    HBT_OK(s, T0 + 1 * SEC,
           "{'type':'ticket_issued','ticket':'A001','service':'A',"
           "'priority':'normal','source':'kiosk','number':1}");
    HBT_OK(
        s, T0 + 2 * SEC,
        "{'type':'ticket_issued','ticket':'A002','service':'A','priority':'elderly','number':2}");
    /* A ticket without a priority is a normal one. */
    HBT_OK(s, T0 + 3 * SEC, "{'type':'ticket_issued','ticket':'A007','service':'A','number':7}");

    const hb_hs_service_t *a = hbt_service(s, "A");
    assert_int_equal(a->waiting, 3);
    assert_int_equal(a->issued, 3);
    assert_int_equal(a->next_number, 8);
    assert_int_equal(s->today.issued, 3);
    assert_int_equal(s->n_tickets, 3);
    assert_string_equal(s->tickets[0].id, "A001");
    assert_string_equal(s->tickets[1].id, "A002");
    assert_int_equal(hbt_ticket(s, "A002")->priority, HALLBUS__PRIORITY__PRIORITY_ELDERLY);
    assert_int_equal(hbt_ticket(s, "A007")->priority, HALLBUS__PRIORITY__PRIORITY_NORMAL);
    assert_int_equal(hbt_ticket(s, "A002")->state, HB_TICKET_WAITING);
    assert_int_equal(hbt_ticket(s, "A002")->issued_ms, T0 + 2 * SEC);
    assert_int_equal(hbt_ticket(s, "A002")->number, 2);

    /* A call without wait_s: the wait is the time since issue. */
    HBT_OK(s, T0 + 62 * SEC,
           "{'type':'ticket_called','ticket':'A002','counter':'1','rule':'priority'}");
    const hb_hs_ticket_t *t = hbt_ticket(s, "A002");
    assert_int_equal(t->state, HB_TICKET_CALLED);
    assert_string_equal(t->counter, "1");
    assert_int_equal(t->wait_s, 60);
    assert_int_equal(t->called_ms, T0 + 62 * SEC);
    const hb_hs_counter_t *c = hbt_counter(s, "1");
    assert_int_equal(c->state, HB_COUNTER_CALLING);
    assert_string_equal(c->ticket, "A002");
    assert_int_equal(c->state_since_ms, T0 + 62 * SEC);
    assert_int_equal(c->priority_streak, 1);
    a = hbt_service(s, "A");
    assert_int_equal(a->waiting, 2);
    assert_int_equal(a->called, 1);
    assert_int_equal(a->wait_s_sum, 60);
    assert_int_equal(a->wait_n, 1);
    assert_int_equal(a->wait_max_s, 60);
    assert_int_equal(s->today.called, 1);
    assert_int_equal(s->today.wait_s_sum, 60);
    assert_int_equal(s->today.wait_max_s, 60);

    HBT_OK(s, T0 + 92 * SEC,
           "{'type':'ticket_recalled','ticket':'A002','counter':'1','recall_count':1}");
    assert_int_equal(hbt_ticket(s, "A002")->recalls, 1);
    assert_int_equal(hbt_ticket(s, "A002")->called_ms, T0 + 92 * SEC);

    HBT_OK(s, T0 + 100 * SEC,
           "{'type':'service_started','ticket':'A002','counter':'1','staff':'S01'}");
    assert_int_equal(hbt_ticket(s, "A002")->state, HB_TICKET_SERVING);
    assert_int_equal(hbt_ticket(s, "A002")->started_ms, T0 + 100 * SEC);
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_SERVING);
    assert_string_equal(hbt_counter(s, "1")->ticket, "A002");

    /* Without duration_s, the service time runs from its start. */
    HBT_OK(
        s, T0 + 400 * SEC,
        "{'type':'service_completed','ticket':'A002','counter':'1','business_type':'bill_payment',"
        "'outcome':'done','amount':8000}");
    assert_null(hb_hall_state_ticket(s, "A002"));
    assert_int_equal(s->n_tickets, 2);
    assert_string_equal(s->tickets[0].id, "A001");
    assert_string_equal(s->tickets[1].id, "A007");
    assert_int_equal(s->n_recent, 1);
    const hb_hs_ticket_t *done = hb_hall_state_ticket_any(s, "A002");
    assert_non_null(done);
    assert_ptr_equal(done, &s->recent[0]);
    assert_int_equal(done->state, HB_TICKET_SERVED);
    assert_int_equal(done->outcome, HALLBUS__OUTCOME__OUTCOME_DONE);
    assert_int_equal(done->ended_ms, T0 + 400 * SEC);
    assert_string_equal(done->counter, "");
    a = hbt_service(s, "A");
    assert_int_equal(a->served, 1);
    assert_int_equal(a->service_s_sum, 300);
    assert_int_equal(a->service_n, 1);
    assert_int_equal(hb_hall_state_mean_service_s(a), 300);
    assert_int_equal(s->today.served, 1);
    assert_int_equal(s->today.outcomes[HALLBUS__OUTCOME__OUTCOME_DONE], 1);
    assert_int_equal(s->today.amount_sum, 8000);
    assert_int_equal(s->today.service_s_sum, 300);
    c = hbt_counter(s, "1");
    assert_int_equal(c->state, HB_COUNTER_IDLE);
    assert_string_equal(c->ticket, "");
    assert_int_equal(c->served, 1);

    /* The event's wait_s wins over the clock; a normal ticket restarts the
     * priority streak. */
    HBT_OK(s, T0 + 500 * SEC,
           "{'type':'ticket_called','ticket':'A001','counter':'1','rule':'fifo','wait_s':450}");
    assert_int_equal(hbt_ticket(s, "A001")->wait_s, 450);
    assert_int_equal(hbt_counter(s, "1")->priority_streak, 0);
    assert_int_equal(hbt_service(s, "A")->wait_max_s, 450);
    /* duration_s is taken as given, even without a start. */
    HBT_OK(s, T0 + 600 * SEC,
           "{'type':'service_completed','ticket':'A001','counter':'1','business_type':'x',"
           "'outcome':'referred','duration_s':120}");
    assert_int_equal(hbt_service(s, "A")->service_s_sum, 420);
    assert_int_equal(hb_hall_state_mean_service_s(hbt_service(s, "A")), 210);
    assert_int_equal(s->today.outcomes[HALLBUS__OUTCOME__OUTCOME_REFERRED], 1);

    /* A service started without a call (an adapter skipped it): the call
     * is counted first. */
    HBT_OK(s, T0 + 700 * SEC,
           "{'type':'service_started','ticket':'A007','counter':'1','staff':'S01'}");
    t = hbt_ticket(s, "A007");
    assert_int_equal(t->state, HB_TICKET_SERVING);
    assert_int_equal(t->wait_s, 697);
    assert_int_equal(hbt_service(s, "A")->waiting, 0);
    assert_int_equal(s->today.called, 3);
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_SERVING);
    /* Completion without a duration or counter in the event: the ticket's
     * counter is the one that served. */
    HBT_OK(s, T0 + 760 * SEC,
           "{'type':'service_completed','ticket':'A007','business_type':'x',"
           "'outcome':'rejected_documents'}");
    assert_int_equal(hbt_counter(s, "1")->served, 3);
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_IDLE);
    assert_int_equal(hbt_service(s, "A")->recent_service_s[2], 60);
    assert_int_equal(s->anomalies, 0);
    hbt_state_invariants(s);
    hb_hall_state_destroy(&s);
    assert_null(s);
    hb_hall_state_destroy(&s); /* idempotent */
}

/* The recent lists: finished tickets drop the oldest past the bound, and a
 * service keeps only its last HB_HS_DURATIONS durations. */
HBT_TEST(test_recent_bounds)
{
    hb_hall_state_t *s = *state;
    HBT_OK(s, T0, "{'type':'counter_opened','counter':'1','services':['A']}");
    char text[256];
    for (int i = 1; i <= 30; i++) {
        snprintf(text, sizeof text, "{'type':'ticket_issued','ticket':'A%03d','service':'A'}", i);
        HBT_OK(s, T0 + i * MIN, text);
        snprintf(text, sizeof text, "{'type':'ticket_called','ticket':'A%03d','counter':'1'}", i);
        HBT_OK(s, T0 + i * MIN, text);
        snprintf(text, sizeof text,
                 "{'type':'service_completed','ticket':'A%03d','counter':'1','business_type':'x',"
                 "'outcome':'done','duration_s':%d}",
                 i, i);
        HBT_OK(s, T0 + i * MIN + 30 * SEC, text);
    }
    assert_int_equal(s->n_recent, HB_HS_RECENT_MAX);
    assert_string_equal(s->recent[0].id, "A015");
    assert_string_equal(s->recent[HB_HS_RECENT_MAX - 1].id, "A030");
    assert_null(hb_hall_state_ticket_any(s, "A001"));
    const hb_hs_service_t *a = hbt_service(s, "A");
    assert_int_equal(a->n_recent, HB_HS_DURATIONS);
    /* The last 20 durations are 11..30 s: mean 20.5, rounded. */
    assert_int_equal(hb_hall_state_mean_service_s(a), 21);
    assert_int_equal(a->service_n, 30);
}

/* An event as JSON and when it is applied. */
typedef struct {
    int64_t at;
    const char *text;
} timed_t;

/* Applies each event of `evs` (up to the one with no text) in turn: each
 * must be taken, naming the event otherwise. */
static void s_ok(hb_hall_state_t *s, const timed_t *evs)
{
    for (size_t i = 0; evs[i].text; i++) {
        int rc = hbt_apply(s, evs[i].at, evs[i].text);
        if (rc != 0)
            fail_msg("%s: refused with %d", evs[i].text, rc);
    }
}

/* s_ok of the events given as {at, text} pairs. */
#define S_OK(s, ...) s_ok((s), (const timed_t[]){__VA_ARGS__, {0, NULL}})

/* ----------------------------------------------------------- anomalies ---- */

/* Applies each of the NULL-terminated `texts` at `at`: every one must be
 * refused as an anomaly, counted once, naming the event otherwise. */
static void s_anomalies(hb_hall_state_t *s, int64_t at, const char *const *texts)
{
    for (size_t i = 0; texts[i]; i++) {
        uint64_t before = s->anomalies;
        int rc = hbt_apply(s, at, texts[i]);
        if (rc != HB_EINVAL || s->anomalies != before + 1)
            fail_msg("%s: rc %d, anomalies %llu -> %llu, wanted one anomaly", texts[i], rc,
                     (unsigned long long)before, (unsigned long long)s->anomalies);
    }
}

HBT_TEST(test_ticket_anomalies)
{
    hb_hall_state_t *s = *state;
    S_OK(s, {T0, "{'type':'counter_opened','counter':'1','services':['A']}"},
         {T0, "{'type':'ticket_issued','ticket':'A001','service':'A'}"});
    /* A live ticket's id again: ignored. */
    HBT_ANOMALY(s, T0 + SEC, "{'type':'ticket_issued','ticket':'A001','service':'B'}");
    assert_int_equal(s->n_tickets, 1);
    assert_null(hb_hall_state_service(s, "B"));
    s_anomalies(s, T0,
                (const char *const[]){"{'type':'ticket_issued','ticket':'','service':'A'}",
                                      "{'type':'ticket_issued','ticket':'A002','service':''}",
                                      NULL});
    assert_int_equal(s->n_tickets, 1);
    assert_int_equal(s->today.issued, 1);

    HBT_ANOMALY(s, T0, "{'type':'ticket_called','ticket':'Z999','counter':'1'}");
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_IDLE);
    HBT_ANOMALY(s, T0, "{'type':'ticket_recalled','ticket':'A001','counter':'1','recall_count':1}");
    assert_int_equal(hbt_ticket(s, "A001")->recalls, 0);
    /* An unknown counter: the ticket is called all the same. */
    HBT_ANOMALY(s, T0 + 10 * SEC, "{'type':'ticket_called','ticket':'A001','counter':'9'}");
    assert_int_equal(hbt_ticket(s, "A001")->state, HB_TICKET_CALLED);
    assert_string_equal(hbt_ticket(s, "A001")->counter, "9");
    assert_int_equal(hbt_service(s, "A")->waiting, 0);
    assert_int_equal(s->today.called, 1);
    /* ... and starts all the same; started twice is not a start. */
    HBT_OK(s, T0 + 20 * SEC, "{'type':'service_started','ticket':'A001','counter':'1'}");
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_SERVING);
    HBT_ANOMALY(s, T0 + 30 * SEC, "{'type':'service_started','ticket':'A001','counter':'1'}");
    assert_int_equal(hbt_ticket(s, "A001")->started_ms, T0 + 20 * SEC);
    s_anomalies(
        s, T0,
        (const char *const[]){
            "{'type':'service_started','ticket':'Z999','counter':'1'}",
            "{'type':'service_completed','ticket':'Z999','business_type':'x','outcome':'done'}",
            "{'type':'ticket_no_show','ticket':'Z999','counter':'1'}",
            "{'type':'ticket_cancelled','ticket':'Z999'}",
            "{'type':'ticket_transferred','ticket':'Z999','from_service':'A','to_service':'B'}",
            NULL});
    HBT_ANOMALY(s, T0,
                "{'type':'ticket_transferred','ticket':'A001','from_service':'A','to_service':''}");
    assert_int_equal(hbt_ticket(s, "A001")->state, HB_TICKET_SERVING);

    /* An outcome this build does not know: everything else still counts. */
    Hallbus__Envelope *env =
        hbt_event(T0 + 60 * SEC, "{'type':'service_completed','ticket':'A001',"
                                 "'counter':'1','business_type':'x','outcome':'done'}");
    env->service_completed->outcome = (Hallbus__Outcome)9;
    uint64_t before = s->anomalies;
    assert_int_equal(hbt_apply_env(s, env, T0 + 60 * SEC), HB_EINVAL);
    hb_envelope_free(env);
    assert_int_equal(s->anomalies, before + 1);
    assert_int_equal(s->today.served, 1);
    assert_int_equal(s->recent[0].outcome, 9);
    for (int k = 0; k < 4; k++)
        assert_int_equal(s->today.outcomes[k], 0);
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_IDLE);

    /* What JSON cannot carry: an id over the bound, a body that is not
     * there, a service id that is not UTF-8. */
    char long_id[HB_HS_ID + 8];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    env = hbt_event(T0, "{'type':'ticket_issued','ticket':'A003','service':'A'}");
    free(env->ticket_issued->ticket);
    env->ticket_issued->ticket = strdup(long_id);
    before = s->anomalies;
    assert_int_equal(hbt_apply_env(s, env, T0), HB_EINVAL);
    free(env->ticket_issued->service);
    env->ticket_issued->service = strdup("\xc3\x28");
    free(env->ticket_issued->ticket);
    env->ticket_issued->ticket = strdup("A003");
    assert_int_equal(hbt_apply_env(s, env, T0), HB_EINVAL);
    hb_envelope_free(env);
    Hallbus__Envelope bare = HALLBUS__ENVELOPE__INIT;
    bare.body_case = HALLBUS__ENVELOPE__BODY_TICKET_CALLED;
    assert_int_equal(hbt_apply_env(s, &bare, T0), HB_EINVAL);
    assert_int_equal(s->anomalies, before + 3);
    assert_int_equal(s->n_tickets, 0);
    assert_int_equal(s->n_services, 1);
}

HBT_TEST(test_other_anomalies)
{
    hb_hall_state_t *s = *state;
    s_anomalies(s, T0,
                (const char *const[]){"{'type':'counter_paused','counter':'1'}",
                                      "{'type':'counter_resumed','counter':'1'}",
                                      "{'type':'counter_closed','counter':'1'}",
                                      "{'type':'counter_opened','counter':''}", NULL});
    assert_int_equal(s->n_counters, 0);
    HBT_OK(s, T0, "{'type':'counter_opened','counter':'1'}");
    HBT_ANOMALY(s, T0, "{'type':'counter_resumed','counter':'1'}"); /* not paused */
    HBT_OK(s, T0, "{'type':'counter_closed','counter':'1'}");
    HBT_ANOMALY(s, T0, "{'type':'counter_paused','counter':'1'}"); /* closed */
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_CLOSED);

    /* Seventeen services: the first sixteen are kept. */
    char text[1024] = "{'type':'counter_opened','counter':'2','services':[";
    for (int i = 0; i < HB_HS_COUNTER_SERVICES_MAX + 1; i++) {
        char one[16];
        snprintf(one, sizeof one, "%s'S%d'", i ? "," : "", i);
        strncat(text, one, sizeof text - strlen(text) - 1);
    }
    strncat(text, "]}", sizeof text - strlen(text) - 1);
    HBT_ANOMALY(s, T0, text);
    assert_int_equal(hbt_counter(s, "2")->n_services, HB_HS_COUNTER_SERVICES_MAX);
    assert_string_equal(hbt_counter(s, "2")->services[15], "S15");
    assert_int_equal(hbt_counter(s, "2")->state, HB_COUNTER_IDLE);

    s_anomalies(s, T0,
                (const char *const[]){
                    "{'type':'complaint_acknowledged','complaint':'K1','by':'M01'}",
                    "{'type':'complaint_escalated','complaint':'K1','level':'region'}",
                    "{'type':'complaint_resolved','complaint':'K1'}",
                    "{'type':'complaint_opened','complaint':'','category':'fees'}", NULL});
    HBT_OK(s, T0, "{'type':'complaint_opened','complaint':'K1','category':'fees'}");
    HBT_ANOMALY(s, T0, "{'type':'complaint_opened','complaint':'K1','category':'staff'}");
    assert_int_equal(s->n_complaints, 1);
    assert_string_equal(s->complaints[0].category, "fees");
    assert_int_equal(s->today.complaints_opened, 1);

    s_anomalies(s, T0,
                (const char *const[]){
                    "{'type':'satisfaction_scored','ticket':'A1','score':0}",
                    "{'type':'satisfaction_scored','ticket':'A1','score':6}",
                    "{'type':'device_status','device':'','kind':'kiosk','state':'ok'}", NULL});
    assert_int_equal(s->n_devices, 0);
    for (int k = 0; k < 5; k++)
        assert_int_equal(s->today.feedback[k], 0);

    /* The day still starts with a date that is not one. */
    HBT_OK(s, T0, "{'type':'ticket_issued','ticket':'A1','service':'A'}");
    HBT_ANOMALY(s, T0, "{'type':'day_started','date':'2026-13-01','timezone':'UTC'}");
    assert_string_equal(s->today.date, "");
    assert_int_equal(s->today.issued, 0);
    s_anomalies(s, T0,
                (const char *const[]){"{'type':'day_started','date':'2026-02-29','timezone':'UTC'}",
                                      "{'type':'day_started','date':'23.11.2026','timezone':'UTC'}",
                                      NULL});
    HBT_OK(s, T0, "{'type':'day_started','date':'2028-02-29','timezone':'UTC'}");
    assert_string_equal(s->today.date, "2028-02-29");
}

/* ------------------------------------------------- transfers and ends ---- */

HBT_TEST(test_transfer_no_show_cancel)
{
    hb_hall_state_t *s = *state;
    S_OK(s, {T0, "{'type':'counter_opened','counter':'1','services':['A','B']}"},
         {T0, "{'type':'ticket_issued','ticket':'A001','service':'A'}"},
         {T0 + SEC, "{'type':'ticket_issued','ticket':'B001','service':'B'}"});
    /* A waiting ticket moves to a service not seen before. */
    HBT_OK(s, T0 + 2 * SEC,
           "{'type':'ticket_transferred','ticket':'A001','from_service':'A','to_service':'C'}");
    const hb_hs_ticket_t *t = hbt_ticket(s, "A001");
    assert_string_equal(t->service, "C");
    assert_true(t->transferred);
    assert_int_equal(t->issued_ms, T0);
    assert_int_equal(t->state, HB_TICKET_WAITING);
    assert_int_equal(hbt_service(s, "A")->waiting, 0);
    assert_int_equal(hbt_service(s, "A")->transferred_out, 1);
    assert_int_equal(hbt_service(s, "C")->waiting, 1);
    assert_int_equal(hbt_service(s, "C")->transferred_in, 1);
    assert_int_equal(hbt_service(s, "C")->next_number, 1);
    assert_int_equal(s->today.transferred, 1);
    assert_string_equal(s->services[2].code, "C");

    /* A called ticket moves: its counter is free, recalls start again. */
    HBT_OK(s, T0 + 60 * SEC, "{'type':'ticket_called','ticket':'B001','counter':'1'}");
    HBT_OK(s, T0 + 90 * SEC,
           "{'type':'ticket_recalled','ticket':'B001','counter':'1','recall_count':1}");
    HBT_OK(s, T0 + 100 * SEC,
           "{'type':'ticket_transferred','ticket':'B001','from_service':'B',"
           "'to_service':'A','counter':'1'}");
    t = hbt_ticket(s, "B001");
    assert_int_equal(t->state, HB_TICKET_WAITING);
    assert_string_equal(t->counter, "");
    assert_int_equal(t->recalls, 0);
    assert_int_equal(t->wait_s, 59);
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_IDLE);
    assert_string_equal(hbt_counter(s, "1")->ticket, "");
    assert_int_equal(hbt_service(s, "A")->waiting, 1);
    assert_int_equal(hbt_service(s, "B")->waiting, 0);
    /* Called again in its new service: its wait was counted once. */
    HBT_OK(s, T0 + 200 * SEC, "{'type':'ticket_called','ticket':'B001','counter':'1'}");
    assert_int_equal(s->today.called, 1);
    assert_int_equal(s->today.wait_n, 1);
    assert_int_equal(hbt_ticket(s, "B001")->wait_s, 59);

    HBT_OK(s, T0 + 300 * SEC,
           "{'type':'ticket_no_show','ticket':'B001','counter':'1','recall_count':2}");
    assert_null(hb_hall_state_ticket(s, "B001"));
    assert_int_equal(s->recent[0].state, HB_TICKET_NO_SHOW);
    assert_int_equal(s->recent[0].recalls, 2);
    assert_int_equal(hbt_service(s, "A")->no_shows, 1);
    assert_int_equal(s->today.no_shows, 1);
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_IDLE);

    /* A waiting ticket leaves; then a called one. */
    HBT_OK(s, T0 + 400 * SEC, "{'type':'ticket_cancelled','ticket':'A001','reason':'left'}");
    assert_int_equal(hbt_service(s, "C")->waiting, 0);
    assert_int_equal(hbt_service(s, "C")->cancelled, 1);
    assert_int_equal(s->today.cancelled, 1);
    assert_int_equal(s->recent[1].state, HB_TICKET_CANCELLED);
    S_OK(s, {T0 + 410 * SEC, "{'type':'ticket_issued','ticket':'A002','service':'A'}"},
         {T0 + 420 * SEC, "{'type':'ticket_called','ticket':'A002','counter':'1'}"},
         {T0 + 430 * SEC, "{'type':'ticket_cancelled','ticket':'A002'}"});
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_IDLE);
    assert_int_equal(s->today.cancelled, 2);
    /* A waiting ticket that does not show. */
    S_OK(s, {T0 + 440 * SEC, "{'type':'ticket_issued','ticket':'A003','service':'A'}"},
         {T0 + 450 * SEC, "{'type':'ticket_no_show','ticket':'A003'}"});
    assert_int_equal(hbt_service(s, "A")->waiting, 0);
    assert_int_equal(s->anomalies, 0);
}

/* ------------------------------------------------------------ counters ---- */

HBT_TEST(test_counter_states)
{
    hb_hall_state_t *s = *state;
    S_OK(s, {T0, "{'type':'counter_opened','counter':'1','staff':'S01','services':['A']}"},
         {T0, "{'type':'counter_opened','counter':'2','staff':'S02','services':['A']}"},
         {T0, "{'type':'ticket_issued','ticket':'A001','service':'A','priority':'vip'}"},
         {T0, "{'type':'ticket_issued','ticket':'A002','service':'A'}"},
         {T0 + SEC, "{'type':'ticket_called','ticket':'A001','counter':'1'}"});

    /* Paused with its ticket; resumed, it is calling it again. */
    HBT_OK(s, T0 + 2 * SEC, "{'type':'counter_paused','counter':'1','reason':'lunch'}");
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_PAUSED);
    assert_string_equal(hbt_counter(s, "1")->ticket, "A001");
    HBT_OK(s, T0 + 3 * SEC, "{'type':'counter_paused','counter':'1'}"); /* already: nothing */
    assert_int_equal(hbt_counter(s, "1")->state_since_ms, T0 + 2 * SEC);
    HBT_OK(s, T0 + 4 * SEC, "{'type':'counter_resumed','counter':'1'}");
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_CALLING);

    /* Opened again while calling: staff and services change, state stays. */
    HBT_OK(s, T0 + 5 * SEC,
           "{'type':'counter_opened','counter':'1','staff':'S09','services':['A','B']}");
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_CALLING);
    assert_string_equal(hbt_counter(s, "1")->staff, "S09");
    assert_int_equal(hbt_counter(s, "1")->n_services, 2);

    /* The ticket called at another counter frees the first one. */
    HBT_OK(s, T0 + 6 * SEC, "{'type':'ticket_called','ticket':'A001','counter':'2'}");
    assert_int_equal(hbt_counter(s, "1")->state, HB_COUNTER_IDLE);
    assert_string_equal(hbt_counter(s, "1")->ticket, "");
    assert_int_equal(hbt_counter(s, "2")->state, HB_COUNTER_CALLING);
    assert_int_equal(hbt_counter(s, "2")->priority_streak, 1);
    assert_int_equal(s->today.called, 1);

    /* A counter calling the next customer while the last one is still
     * attached to it leaves that one alone; its end later does not disturb
     * the counter's new customer. */
    HBT_OK(s, T0 + 7 * SEC, "{'type':'ticket_called','ticket':'A002','counter':'2'}");
    assert_string_equal(hbt_counter(s, "2")->ticket, "A002");
    assert_int_equal(hbt_counter(s, "2")->priority_streak, 0);
    assert_int_equal(hbt_ticket(s, "A001")->state, HB_TICKET_CALLED);
    HBT_OK(s, T0 + 8 * SEC, "{'type':'ticket_no_show','ticket':'A001','counter':'2'}");
    assert_int_equal(hbt_counter(s, "2")->state, HB_COUNTER_CALLING);
    assert_string_equal(hbt_counter(s, "2")->ticket, "A002");

    /* Closed while serving: the customer waits again. */
    S_OK(s, {T0 + 9 * SEC, "{'type':'service_started','ticket':'A002','counter':'2'}"},
         {T0 + 10 * SEC, "{'type':'counter_closed','counter':'2'}"});
    assert_int_equal(hbt_counter(s, "2")->state, HB_COUNTER_CLOSED);
    assert_string_equal(hbt_counter(s, "2")->ticket, "");
    assert_int_equal(hbt_ticket(s, "A002")->state, HB_TICKET_WAITING);
    assert_string_equal(hbt_ticket(s, "A002")->counter, "");
    assert_int_equal(hbt_service(s, "A")->waiting, 1);
    S_OK(s, {T0 + 11 * SEC, "{'type':'counter_closed','counter':'2'}"}, /* already: nothing */
         {T0 + 12 * SEC, "{'type':'counter_opened','counter':'2'}"});
    assert_int_equal(hbt_counter(s, "2")->state, HB_COUNTER_IDLE);

    /* A paused counter whose ticket ends meanwhile resumes idle. */
    S_OK(s, {T0 + 13 * SEC, "{'type':'ticket_called','ticket':'A002','counter':'2'}"},
         {T0 + 14 * SEC, "{'type':'counter_paused','counter':'2'}"},
         {T0 + 15 * SEC, "{'type':'ticket_cancelled','ticket':'A002'}"});
    assert_int_equal(hbt_counter(s, "2")->state, HB_COUNTER_PAUSED);
    assert_string_equal(hbt_counter(s, "2")->ticket, "");
    HBT_OK(s, T0 + 16 * SEC, "{'type':'counter_resumed','counter':'2'}");
    assert_int_equal(hbt_counter(s, "2")->state, HB_COUNTER_IDLE);
    assert_int_equal(s->anomalies, 0);
}

static void s_times(const hb_hall_state_t *s, const char *id, int64_t now, int64_t open_ms,
                    int64_t busy_ms)
{
    int64_t o = -1, b = -1;
    hb_hall_state_counter_times(hbt_counter(s, id), now, &o, &b);
    assert_int_equal(o, open_ms);
    assert_int_equal(b, busy_ms);
}

HBT_TEST(test_counter_time)
{
    hb_hall_state_t *s = *state;
    S_OK(s, {T0, "{'type':'counter_opened','counter':'2','services':['A']}"},
         {T0, "{'type':'ticket_issued','ticket':'A001','service':'A'}"});
    s_times(s, "2", T0 + 5 * SEC, 5000, 0);
    HBT_OK(s, T0 + 10 * SEC, "{'type':'ticket_called','ticket':'A001','counter':'2'}");
    s_times(s, "2", T0 + 25 * SEC, 25000, 15000);
    HBT_OK(s, T0 + 30 * SEC, "{'type':'service_started','ticket':'A001','counter':'2'}");
    HBT_OK(s, T0 + 130 * SEC,
           "{'type':'service_completed','ticket':'A001','counter':'2',"
           "'business_type':'x','outcome':'done'}");
    assert_int_equal(hbt_counter(s, "2")->open_ms, 130000);
    assert_int_equal(hbt_counter(s, "2")->busy_ms, 120000);
    s_times(s, "2", T0 + 150 * SEC, 150000, 120000);
    HBT_OK(s, T0 + 200 * SEC, "{'type':'counter_paused','counter':'2'}");
    /* Paused time is neither open nor busy. */
    s_times(s, "2", T0 + 300 * SEC, 200000, 120000);
    S_OK(s, {T0 + 500 * SEC, "{'type':'counter_resumed','counter':'2'}"},
         {T0 + 600 * SEC, "{'type':'counter_closed','counter':'2'}"});
    assert_int_equal(hbt_counter(s, "2")->open_ms, 300000);
    assert_int_equal(hbt_counter(s, "2")->busy_ms, 120000);
    s_times(s, "2", T0 + 1000 * SEC, 300000, 120000);
    HBT_OK(s, T0 + 700 * SEC, "{'type':'counter_opened','counter':'2'}");
    s_times(s, "2", T0 + 760 * SEC, 360000, 120000);
    /* A moment before the running segment began adds nothing, never less. */
    s_times(s, "2", T0 + 650 * SEC, 300000, 120000);
    /* Clocks moved back: a state change before state_since adds nothing. */
    HBT_OK(s, T0 + 690 * SEC, "{'type':'counter_paused','counter':'2'}");
    assert_int_equal(hbt_counter(s, "2")->open_ms, 300000);
    assert_int_equal(hbt_counter(s, "2")->state_since_ms, T0 + 690 * SEC);
    HBT_OK(s, T0 + 720 * SEC, "{'type':'counter_resumed','counter':'2'}");
    s_times(s, "2", T0 + 730 * SEC, 310000, 120000);
}

/* ------------------------------------------------------- day_started ---- */

HBT_TEST(test_day_started_resets)
{
    hb_hall_state_t *s = *state;
    HBT_OK(s, T0,
           "{'type':'day_started','date':'2026-11-23','timezone':'Europe/"
           "Berlin','utc_offset_s':3600}");
    S_OK(s, {T0, "{'type':'counter_opened','counter':'1','services':['A']}"},
         {T0, "{'type':'ticket_issued','ticket':'A001','service':'A','number':1}"},
         {T0, "{'type':'ticket_issued','ticket':'A002','service':'A','number':2}"},
         {T0 + MIN, "{'type':'ticket_called','ticket':'A001','counter':'1'}"});
    HBT_OK(s, T0 + 2 * MIN,
           "{'type':'service_completed','ticket':'A001','counter':'1',"
           "'business_type':'x','outcome':'done','amount':5,'duration_s':60}");
    S_OK(s, {T0 + 3 * MIN, "{'type':'satisfaction_scored','ticket':'A001','score':4}"},
         {T0 + 3 * MIN, "{'type':'complaint_opened','complaint':'K1','category':'fees'}"},
         {T0 + 4 * MIN, "{'type':'ticket_called','ticket':'A002','counter':'1'}"},
         {T0 + 5 * MIN, "{'type':'policy_applied','version':7}"});
    assert_int_equal(s->today.served, 1);
    assert_int_equal(s->today.feedback[3], 1);

    int64_t midnight = T0 + 15 * 3600 * SEC;
    HBT_OK(
        s, midnight,
        "{'type':'day_started','date':'2026-11-24','timezone':'Europe/Lisbon','utc_offset_s':0}");
    hb_hs_today_t zero;
    memset(&zero, 0, sizeof zero);
    memcpy(zero.date, "2026-11-24", 11);
    zero.start_ms = midnight; /* Lisbon's midnight, at +00:00 in November */
    assert_memory_equal(&s->today, &zero, sizeof zero);
    assert_string_equal(s->timezone, "Europe/Lisbon");
    assert_int_equal(s->utc_offset_s, 0);
    const hb_hs_service_t *a = hbt_service(s, "A");
    assert_int_equal(a->next_number, 1);
    assert_int_equal(a->issued, 0);
    assert_int_equal(a->called, 0);
    assert_int_equal(a->served, 0);
    assert_int_equal(a->wait_n, 0);
    assert_int_equal(a->service_n, 0);
    assert_int_equal(a->service_s_sum, 0);
    assert_int_equal(a->waiting, 0);
    assert_int_equal(a->n_recent, 1); /* recent durations stay */
    assert_int_equal(hb_hall_state_mean_service_s(a), 60);
    const hb_hs_counter_t *c = hbt_counter(s, "1");
    assert_int_equal(c->open_ms, 0);
    assert_int_equal(c->busy_ms, 0);
    assert_int_equal(c->served, 0);
    assert_int_equal(c->state_since_ms, midnight);
    assert_int_equal(c->state, HB_COUNTER_CALLING);
    s_times(s, "1", midnight + 10 * SEC, 10000, 10000);
    /* Live tickets, complaints, versions stay. */
    assert_int_equal(hbt_ticket(s, "A002")->state, HB_TICKET_CALLED);
    assert_int_equal(s->n_complaints, 1);
    assert_int_equal(s->policy_version, 7);
    assert_int_equal(s->n_recent, 1);
}

/* ---------------------------------------------- complaints and devices ---- */

HBT_TEST(test_complaints)
{
    hb_hall_state_t *s = *state;
    char text[512];
    snprintf(text, sizeof text,
             "{'type':'complaint_opened','complaint':'K1','channel':'phone','category':'fees',"
             "'severity':'high','ticket':'A001','text':'too dear','ack_due_ms':%lld,"
             "'resolve_due_ms':%lld}",
             (long long)(T0 + 10 * MIN), (long long)(T0 + 60 * MIN));
    HBT_OK(s, T0, text);
    snprintf(text, sizeof text,
             "{'type':'complaint_opened','complaint':'K2','channel':'email','category':'staff',"
             "'severity':'low','ack_due_ms':%lld}",
             (long long)(T0 + 10 * MIN));
    HBT_OK(s, T0 + SEC, text);
    HBT_OK(s, T0 + 2 * SEC, "{'type':'complaint_opened','complaint':'K3','category':'other'}");
    const hb_hs_complaint_t *k1 = hb_hall_state_complaint(s, "K1");
    assert_non_null(k1);
    assert_int_equal(k1->state, HB_COMPLAINT_OPEN);
    assert_int_equal(k1->channel, HALLBUS__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_PHONE);
    assert_int_equal(k1->severity, HALLBUS__SEVERITY__SEVERITY_HIGH);
    assert_string_equal(k1->ticket, "A001");
    assert_string_equal(k1->category, "fees");
    assert_int_equal(k1->opened_ms, T0);
    assert_int_equal(k1->ack_due_ms, T0 + 10 * MIN);
    assert_int_equal(k1->resolve_due_ms, T0 + 60 * MIN);
    assert_int_equal(s->today.complaints_opened, 3);

    assert_int_equal(hb_hall_state_overdue(s, T0 + 10 * MIN), 0);
    assert_int_equal(hb_hall_state_overdue(s, T0 + 11 * MIN), 2);
    HBT_OK(s, T0 + 5 * MIN, "{'type':'complaint_acknowledged','complaint':'K2','by':'M01'}");
    const hb_hs_complaint_t *k2 = hb_hall_state_complaint(s, "K2");
    assert_int_equal(k2->state, HB_COMPLAINT_ACKNOWLEDGED);
    assert_int_equal(k2->acked_ms, T0 + 5 * MIN);
    assert_string_equal(k2->acked_by, "M01");
    HBT_ANOMALY(s, T0 + 6 * MIN, "{'type':'complaint_acknowledged','complaint':'K2','by':'M02'}");
    assert_string_equal(k2->acked_by, "M01");
    assert_int_equal(k2->acked_ms, T0 + 5 * MIN);
    /* K1 acknowledged late is still overdue: it missed its deadline. */
    HBT_OK(s, T0 + 12 * MIN, "{'type':'complaint_acknowledged','complaint':'K1','by':'M01'}");
    assert_int_equal(hb_hall_state_overdue(s, T0 + 13 * MIN), 1);
    assert_int_equal(hb_hall_state_overdue(s, T0 + 61 * MIN), 1);

    HBT_OK(s, T0 + 20 * MIN,
           "{'type':'complaint_escalated','complaint':'K2','level':'region','reason':'x'}");
    assert_int_equal(k2->escalation, HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_REGION);
    assert_false(k2->resolve_missed);
    HBT_OK(s, T0 + 21 * MIN,
           "{'type':'complaint_escalated','complaint':'K2','level':'duty_manager',"
           "'automatic':true,'missed':'resolve'}");
    assert_int_equal(k2->escalation, HALLBUS__ESCALATION_LEVEL__ESCALATION_LEVEL_REGION);
    assert_true(k2->resolve_missed);
    assert_false(k2->ack_missed);
    HBT_OK(s, T0 + 22 * MIN,
           "{'type':'complaint_escalated','complaint':'K3','level':'duty_manager',"
           "'automatic':true,'missed':'ack'}");
    assert_true(hb_hall_state_complaint(s, "K3")->ack_missed);
    assert_int_equal(s->today.escalations, 3);
    assert_int_equal(hb_hall_state_overdue(s, T0 + 23 * MIN), 3);

    HBT_OK(s, T0 + 30 * MIN,
           "{'type':'complaint_resolved','complaint':'K1','resolution':'refund',"
           "'customer_satisfied':true}");
    HBT_OK(s, T0 + 31 * MIN, "{'type':'complaint_resolved','complaint':'K3'}");
    assert_null(hb_hall_state_complaint(s, "K1"));
    assert_int_equal(s->n_complaints, 1);
    assert_string_equal(s->complaints[0].id, "K2");
    assert_int_equal(s->today.complaints_resolved, 2);
    assert_int_equal(s->today.complaints_satisfied, 1);
    HBT_ANOMALY(s, T0 + 32 * MIN, "{'type':'complaint_resolved','complaint':'K1'}");

    for (int score = 1; score <= 5; score++) {
        snprintf(text, sizeof text, "{'type':'satisfaction_scored','ticket':'A1','score':%d}",
                 score);
        HBT_OK(s, T0 + 40 * MIN, text);
    }
    HBT_OK(s, T0 + 40 * MIN, "{'type':'satisfaction_scored','ticket':'A1','score':5}");
    assert_int_equal(s->today.feedback[0], 1);
    assert_int_equal(s->today.feedback[4], 2);
}

HBT_TEST(test_devices_and_versions)
{
    hb_hall_state_t *s = *state;
    s_ok(s,
         (const timed_t[]){
             {T0, "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}"},
             {T0, "{'type':'device_status','device':'atm-1','kind':'self_service','state':'ok'}"},
             {0, NULL}});
    const hb_hs_device_t *d = hb_hall_state_device(s, "kiosk-1");
    assert_non_null(d);
    assert_int_equal(d->kind, HALLBUS__DEVICE_KIND__DEVICE_KIND_KIOSK);
    assert_int_equal(d->state, HALLBUS__DEVICE_STATE__DEVICE_STATE_OK);
    assert_int_equal(d->since_ms, T0);
    HBT_OK(s, T0 + MIN, "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}");
    assert_int_equal(d->since_ms, T0);
    HBT_OK(s, T0 + 2 * MIN,
           "{'type':'device_status','device':'kiosk-1','kind':'kiosk',"
           "'state':'paper_out','detail':'roll empty'}");
    assert_int_equal(d->since_ms, T0 + 2 * MIN);
    assert_int_equal(d->state, HALLBUS__DEVICE_STATE__DEVICE_STATE_PAPER_OUT);
    assert_string_equal(d->detail, "roll empty");
    assert_int_equal(s->n_devices, 2);
    assert_string_equal(s->devices[0].id, "kiosk-1");

    /* 126 ASCII bytes and a two-byte character: cut before the character. */
    static const char fault[] = "{'type':'device_status','device':'kiosk-1','kind':'kiosk',"
                                "'state':'fault','detail':'%s'}";
    char detail[256];
    memset(detail, 'd', 126);
    memcpy(detail + 126, "\xc3\xa9xyz", 6);
    hbt_okf(s, T0 + 3 * MIN, fault, detail);
    assert_int_equal(strlen(d->detail), 126);
    /* 125 ASCII bytes and the character: it fits whole. */
    memmove(detail + 125, detail + 126, 6);
    hbt_okf(s, T0 + 4 * MIN, fault, detail);
    assert_int_equal(strlen(d->detail), 127);
    assert_memory_equal(d->detail + 125, "\xc3\xa9", 2);
    assert_int_equal(d->since_ms, T0 + 3 * MIN);

    /* Bytes that are not UTF-8 are dropped; the state still changes. */
    Hallbus__Envelope *env = hbt_event(T0 + 5 * MIN, "{'type':'device_status','device':'kiosk-1',"
                                                     "'kind':'kiosk','state':'ok','detail':'x'}");
    free(env->device_status->detail);
    env->device_status->detail = strdup("bad \xff byte");
    assert_int_equal(hbt_apply_env(s, env, T0 + 5 * MIN), HB_EINVAL);
    hb_envelope_free(env);
    assert_string_equal(d->detail, "");
    assert_int_equal(d->state, HALLBUS__DEVICE_STATE__DEVICE_STATE_OK);
    assert_int_equal(s->anomalies, 1);

    S_OK(s, {T0, "{'type':'policy_applied','version':12}"},
         {T0, "{'type':'calendar_applied','version':34}"});
    assert_int_equal(s->policy_version, 12);
    assert_int_equal(s->calendar_version, 34);
}

/* -------------------------------------------------------------- bounds ---- */

HBT_TEST_IN(test_bounds, NULL, NULL)
{
    (void)state;
    hb_hall_state_t *s = hb_hall_state_new();
    char text[256];
    for (int i = 0; i < HB_HS_TICKETS_MAX; i++) {
        snprintf(text, sizeof text, "{'type':'ticket_issued','ticket':'T%05d','service':'A'}", i);
        HBT_OK(s, T0 + i, text);
    }
    HBT_ANOMALY(s, T0 + SEC * 10, "{'type':'ticket_issued','ticket':'X','service':'A'}");
    assert_int_equal(s->n_tickets, HB_HS_TICKETS_MAX);
    assert_int_equal(s->cap_tickets, HB_HS_TICKETS_MAX);
    assert_int_equal(hbt_service(s, "A")->waiting, HB_HS_TICKETS_MAX);
    assert_null(hb_hall_state_ticket(s, "X"));
    /* One leaves, one more fits. */
    s_ok(s,
         (const timed_t[]){{T0 + SEC * 11, "{'type':'ticket_cancelled','ticket':'T00000'}"},
                           {T0 + SEC * 12, "{'type':'ticket_issued','ticket':'X','service':'A'}"},
                           {0, NULL}});
    assert_string_equal(s->tickets[HB_HS_TICKETS_MAX - 1].id, "X");
    hbt_state_invariants(s);

    /* A full state's snapshot round-trips. */
    char *a = hbt_state_text(s);
    json_t *j = hb_hall_state_to_json(s);
    hb_hall_state_t *r = NULL;
    char err[256] = "";
    assert_int_equal(hb_hall_state_from_json(j, &r, err, sizeof err), 0);
    char *b = hbt_state_text(r);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(j);
    hb_hall_state_destroy(&r);
    hb_hall_state_destroy(&s);

    s = hb_hall_state_new();
    for (int i = 0; i < HB_HS_SERVICES_MAX; i++) {
        snprintf(text, sizeof text, "{'type':'ticket_issued','ticket':'T%d','service':'S%d'}", i,
                 i);
        HBT_OK(s, T0, text);
    }
    HBT_ANOMALY(s, T0, "{'type':'ticket_issued','ticket':'X','service':'S-new'}");
    HBT_ANOMALY(
        s, T0,
        "{'type':'ticket_transferred','ticket':'T0','from_service':'S0','to_service':'S-new'}");
    assert_string_equal(hbt_ticket(s, "T0")->service, "S0");
    for (int i = 0; i < HB_HS_COUNTERS_MAX; i++) {
        snprintf(text, sizeof text, "{'type':'counter_opened','counter':'C%d'}", i);
        HBT_OK(s, T0, text);
    }
    HBT_ANOMALY(s, T0, "{'type':'counter_opened','counter':'C-new'}");
    for (int i = 0; i < HB_HS_COMPLAINTS_MAX; i++) {
        snprintf(text, sizeof text, "{'type':'complaint_opened','complaint':'K%d','category':'x'}",
                 i);
        HBT_OK(s, T0, text);
    }
    HBT_ANOMALY(s, T0, "{'type':'complaint_opened','complaint':'K-new','category':'x'}");
    for (int i = 0; i < HB_HS_DEVICES_MAX; i++) {
        snprintf(text, sizeof text,
                 "{'type':'device_status','device':'D%d','kind':'kiosk','state':'ok'}", i);
        HBT_OK(s, T0, text);
    }
    HBT_ANOMALY(s, T0, "{'type':'device_status','device':'D-new','kind':'kiosk','state':'ok'}");
    assert_int_equal(s->n_services, HB_HS_SERVICES_MAX);
    assert_int_equal(s->n_counters, HB_HS_COUNTERS_MAX);
    assert_int_equal(s->n_complaints, HB_HS_COMPLAINTS_MAX);
    assert_int_equal(s->n_devices, HB_HS_DEVICES_MAX);
    assert_int_equal(s->anomalies, 5);
    hbt_state_invariants(s);
    hb_hall_state_destroy(&s);
}

/* ---------------------------------------------- events of an earlier day ---- */

/* A hall in Shanghai (UTC+8, no clock changes): its day of 2026-11-24 began
 * at 2026-11-23T16:00:00Z, worked out by hand. */
#define SH_MIDNIGHT 1795449600000LL /* 2026-11-24T00:00:00+08:00 */

/* The rows of the rule: an event of yesterday posted after the rollover
 * counts in none of today's figures but still changes the live state, one
 * exactly at midnight is today's, one later in the day is today's. */
HBT_TEST(test_late_event_of_yesterday)
{
    hb_hall_state_t *s = *state;
    HBT_OK(s, SH_MIDNIGHT - 8 * 3600 * SEC,
           "{'type':'day_started','date':'2026-11-23','timezone':'Asia/Shanghai',"
           "'utc_offset_s':28800}");
    assert_int_equal(s->today.start_ms, SH_MIDNIGHT - DAY_MS);
    s_ok(s,
         (const timed_t[]){
             {SH_MIDNIGHT - 8 * 3600 * SEC,
              "{'type':'counter_opened','counter':'1','services':['A']}"},
             {SH_MIDNIGHT - 20 * MIN, "{'type':'ticket_issued','ticket':'A001','service':'A'}"},
             {SH_MIDNIGHT - 15 * MIN, "{'type':'ticket_called','ticket':'A001','counter':'1'}"},
             {SH_MIDNIGHT - 14 * MIN, "{'type':'service_started','ticket':'A001','counter':'1'}"},
             {0, NULL}});
    assert_int_equal(s->today.issued, 1);
    assert_int_equal(s->today.called, 1);

    /* The hall was quiet overnight: its new day starts with the first
     * action at 08:00, and then yesterday's late events are posted. */
    int64_t rollover = SH_MIDNIGHT + 8 * 3600 * SEC;
    HBT_OK(s, rollover,
           "{'type':'day_started','date':'2026-11-24','timezone':'Asia/Shanghai',"
           "'utc_offset_s':28800}");
    assert_int_equal(s->today.start_ms, SH_MIDNIGHT);
    S_OK(s, {SH_MIDNIGHT - 10 * MIN, "{'type':'ticket_issued','ticket':'A002','service':'A'}"},
         {SH_MIDNIGHT - 1, "{'type':'service_completed','ticket':'A001','counter':'1',"
                           "'business_type':'x','outcome':'done','amount':500,'duration_s':600}"},
         {SH_MIDNIGHT - 1, "{'type':'satisfaction_scored','ticket':'A001','score':5}"},
         {SH_MIDNIGHT - 1, "{'type':'complaint_opened','complaint':'K1','category':'x'}"},
         {SH_MIDNIGHT - 1, "{'type':'patrol_drawn'}"});
    /* Not today's: every figure of today is still zero. */
    assert_int_equal(s->today.issued, 0);
    assert_int_equal(s->today.served, 0);
    assert_int_equal(s->today.service_n, 0);
    assert_int_equal(s->today.outcomes[HALLBUS__OUTCOME__OUTCOME_DONE], 0);
    assert_int_equal(s->today.amount_sum, 0);
    assert_int_equal(s->today.feedback[4], 0);
    assert_int_equal(s->today.complaints_opened, 0);
    assert_int_equal(s->today.patrols, 0);
    assert_int_equal(s->today.past_day_events, 5);
    const hb_hs_service_t *a = hbt_service(s, "A");
    assert_int_equal(a->issued, 0);
    assert_int_equal(a->served, 0);
    assert_int_equal(a->service_n, 0);
    const hb_hs_counter_t *c = hbt_counter(s, "1");
    assert_int_equal(c->served, 0);
    /* The counter freed by yesterday's completion has been idle since the
     * rollover as far as today's times go: no time of yesterday counts. */
    assert_int_equal(c->state, HB_COUNTER_IDLE);
    assert_int_equal(c->state_since_ms, rollover);
    s_times(s, "1", rollover + MIN, MIN, 0);
    /* But the live state took it: A001 is finished and rated, its service
     * time is among the recent ones, A002 waits, K1 is open. */
    assert_null(hb_hall_state_ticket(s, "A001"));
    assert_int_equal(s->recent[s->n_recent - 1].state, HB_TICKET_SERVED);
    assert_true(s->recent[s->n_recent - 1].rated);
    assert_int_equal(hb_hall_state_mean_service_s(a), 600);
    assert_int_equal(a->waiting, 1);
    assert_int_equal(s->n_complaints, 1);

    /* Exactly at midnight is the new day. */
    HBT_OK(s, SH_MIDNIGHT, "{'type':'ticket_issued','ticket':'A003','service':'A'}");
    assert_int_equal(s->today.issued, 1);
    assert_int_equal(a->issued, 1);
    assert_int_equal(s->today.past_day_events, 5);
    /* An event of today counts as always. */
    S_OK(s, {rollover + 2 * MIN, "{'type':'ticket_called','ticket':'A003','counter':'1'}"},
         {rollover + 4 * MIN, "{'type':'service_completed','ticket':'A003','counter':'1',"
                              "'business_type':'x','outcome':'done','amount':700}"});
    assert_int_equal(s->today.called, 1);
    assert_int_equal(s->today.served, 1);
    assert_int_equal(s->today.amount_sum, 700);
    assert_int_equal(a->served, 1);
    assert_int_equal(hbt_counter(s, "1")->served, 1);
    assert_int_equal(s->anomalies, 0);

    /* The day's start survives a snapshot, and a snapshot of an older
     * build (without it) gets it back from the date and zone. */
    json_t *snap = hb_hall_state_to_json(s);
    assert_non_null(snap);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(snap, "today"), "start_ms")),
        SH_MIDNIGHT);
    json_object_del(json_object_get(snap, "today"), "start_ms");
    hb_hall_state_t *back = NULL;
    char err[256];
    assert_int_equal(hb_hall_state_from_json(snap, &back, err, sizeof err), 0);
    assert_int_equal(back->today.start_ms, SH_MIDNIGHT);
    assert_int_equal(back->today.past_day_events, 5);
    HBT_OK(back, SH_MIDNIGHT - 1, "{'type':'ticket_issued','ticket':'A009','service':'A'}");
    assert_int_equal(back->today.issued, 1);
    hb_hall_state_destroy(&back);
    json_decref(snap);
}

/* Where the zone cannot be loaded, the day's start comes from the offset
 * day_started carries; with the zone, from its rules (a spring-forward
 * night's midnight in Europe/Berlin is still +01:00). */
HBT_TEST(test_day_start_rule)
{
    (void)state;
    assert_int_equal(hb_hs_day_start("2026-11-24", "Nowhere/Atlantis", 28800), SH_MIDNIGHT);
    assert_int_equal(hb_hs_day_start("2026-11-24", "", 28800), SH_MIDNIGHT);
    assert_int_equal(hb_hs_day_start("2026-11-24", "Asia/Shanghai", 0), SH_MIDNIGHT);
    /* 2027-03-28 00:00 +01:00 = 2027-03-27T23:00:00Z; its day_started at
     * 09:00 carries +02:00, which the zone's rules correct. */
    assert_int_equal(hb_hs_day_start("2027-03-28", "Europe/Berlin", 7200), 1806188400000LL);
    assert_int_equal(hb_hs_day_start("", "UTC", 0), 0);
    assert_int_equal(hb_hs_day_start("24.11.2026", "UTC", 0), 0);
}
