/* Unit tests of the call-next rules (branchd/engine/queue.c) on hall states built
 * by the real reducer from events: priority, the interleaving ratio, ageing,
 * the counter's services, a transfer keeping its place, ranks, positions and
 * wait estimates, and the refusals of a bad priority order. */
#include "queue.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/policy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"

#define T0 1796000000000LL /* 2026-11-30T... UTC: any fixed instant */
#define MIN 60000LL

typedef struct {
    hb_hall_state_t *s;
} hall_t;

static void s_open_counter(hall_t *h, int64_t at, const char *counter, const char *services_json)
{
    hbt_okf(h->s, at,
            "{\"type\":\"counter_opened\",\"counter\":\"%s\",\"staff\":\"E1\","
            "\"services\":%s}",
            counter, services_json);
}

/* Calls next at `counter` as the engine would, applying the call and then
 * completing the service, so the counter is idle again. Returns the ticket
 * id picked (static buffer) and its rule, or NULL. */
static const char *s_call(hall_t *h, const queue_rules_t *r, int64_t now, const char *counter,
                          int *rule)
{
    static char picked[HB_HS_ID];
    const hb_hs_counter_t *c = hb_hall_state_counter(h->s, counter);
    assert_non_null(c);
    long i = queue_pick(h->s, c, r, now, rule);
    if (i < 0)
        return NULL;
    snprintf(picked, sizeof picked, "%s", h->s->tickets[i].id);
    hbt_okf(h->s, now, "{\"type\":\"ticket_called\",\"ticket\":\"%s\",\"counter\":\"%s\"}", picked,
            counter);
    hbt_okf(h->s, now, "{\"type\":\"service_started\",\"ticket\":\"%s\",\"counter\":\"%s\"}",
            picked, counter);
    hbt_okf(h->s, now + 1000,
            "{\"type\":\"service_completed\",\"ticket\":\"%s\",\"counter\":\"%s\","
            "\"business_type\":\"x\",\"outcome\":\"done\",\"duration_s\":240}",
            picked, counter);
    return picked;
}

static int s_setup(void **state)
{
    hall_t *h = calloc(1, sizeof *h);
    h->s = hb_hall_state_new();
    assert_non_null(h->s);
    hbt_okf(h->s, T0 - 60 * MIN,
            "{\"type\":\"day_started\",\"date\":\"2026-11-30\",\"timezone\":\"UTC\"}");
    *state = h;
    return 0;
}

static int s_teardown(void **state)
{
    hall_t *h = *state;
    hb_hall_state_destroy(&h->s);
    free(h);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_transfer_keeps_its_place)
{
    hall_t *h = *state;
    queue_rules_t r;
    queue_rules_default(&r);
    s_open_counter(h, T0, "1", "[\"A\"]");
    hbt_issue(h->s, T0, "B001", "B", "normal");
    hbt_issue(h->s, T0 + 5 * MIN, "A001", "A", "normal");
    hbt_okf(h->s, T0 + 6 * MIN,
            "{\"type\":\"ticket_transferred\",\"ticket\":\"B001\","
            "\"from_service\":\"B\",\"to_service\":\"A\"}");
    const hb_hs_ticket_t *t = hb_hall_state_ticket(h->s, "B001");
    assert_non_null(t);
    assert_int_equal(queue_position(h->s, t, &r), 1);
    int rule = 0;
    /* B001 was issued before A001: it keeps that place in A's queue. */
    assert_string_equal(s_call(h, &r, T0 + 7 * MIN, "1", &rule), "B001");
    assert_int_equal(rule, HALLBUS__CALL_RULE__CALL_RULE_TRANSFER);
    assert_string_equal(s_call(h, &r, T0 + 8 * MIN, "1", &rule), "A001");
    assert_int_equal(rule, HALLBUS__CALL_RULE__CALL_RULE_FIFO);
}

/* ------------------------------------------------------- call orders */

#define PRIO HALLBUS__CALL_RULE__CALL_RULE_PRIORITY
#define FIFO HALLBUS__CALL_RULE__CALL_RULE_FIFO
#define RATIO HALLBUS__CALL_RULE__CALL_RULE_RATIO
#define AGEING HALLBUS__CALL_RULE__CALL_RULE_AGEING

/* A hall's counters and tickets, then calls one after another with the
 * ticket each must pick (NULL: none) and by which rule (0: not checked).
 * Times are minutes after T0 (and milliseconds on top). */
typedef struct {
    const char *name;
    int ratio;          /* 0: the default */
    int64_t ageing_min; /* 0: the default */
    struct {
        const char *id, *services;
    } counters[2];
    struct {
        int64_t at_min;
        const char *id, *service, *priority;
    } tickets[8];
    struct {
        int64_t at_min, at_ms;
        const char *counter, *want;
        int rule;
        const char *order; /* applied before the call, when not NULL */
    } calls[8];
} calls_case_t;

static const calls_case_t s_calls[] = {
    {.name = "priority goes first",
     .counters = {{"1", "[\"A\"]"}},
     .tickets = {{1, "A001", "A", "normal"}, {2, "A002", "A", "vip"}},
     .calls = {{3, 0, "1", "A002", PRIO}, {4, 0, "1", "A001", FIFO}, {5, 0, "1", NULL, 0}}},
    {.name = "the ratio interleaves normal tickets",
     .ratio = 2,
     .counters = {{"1", "[\"A\"]"}},
     .tickets = {{1, "A001", "A", "normal"},
                 {2, "A002", "A", "normal"},
                 {3, "A100", "A", "elderly"},
                 {3, "A101", "A", "elderly"},
                 {3, "A102", "A", "elderly"},
                 {3, "A103", "A", "elderly"},
                 {3, "A104", "A", "elderly"}},
     .calls = {{5, 0, "1", "A100", PRIO},
               {5, 1000, "1", "A101", PRIO},
               {5, 2000, "1", "A001", RATIO},
               {5, 3000, "1", "A102", PRIO},
               {5, 4000, "1", "A103", PRIO},
               {5, 5000, "1", "A002", RATIO},
               {5, 6000, "1", "A104", FIFO}}},
    /* Priority would win for a long time; before the bound it does, at
     * the bound the normal ticket goes first, and the call says why. */
    {.name = "ageing protects a normal ticket",
     .ratio = 100,
     .ageing_min = 20,
     .counters = {{"1", "[\"A\"]"}},
     .tickets = {{0, "A001", "A", "normal"}, {1, "A002", "A", "vip"}, {2, "A003", "A", "vip"}},
     .calls = {{19, 0, "1", "A002", PRIO}, {20, 0, "1", "A001", AGEING}, {21, 0, "1", "A003", 0}}},
    /* Both aged: the oldest goes, which first come first served says too. */
    {.name = "ageing that changes nothing is not named",
     .counters = {{"1", "[\"A\"]"}},
     .tickets = {{0, "A001", "A", "normal"}, {1, "A002", "A", "normal"}},
     .calls = {{60, 0, "1", "A001", FIFO}}},
    /* A001 waits, but not for counter 1 (B only). */
    {.name = "a counter serves only its services",
     .counters = {{"1", "[\"B\"]"}, {"2", "[\"A\",\"B\"]"}},
     .tickets = {{1, "A001", "A", "elderly"}, {2, "B001", "B", "normal"}},
     .calls = {{3, 0, "1", "B001", 0}, {3, 0, "1", NULL, 0}, {4, 0, "2", "A001", 0}}},
    /* Default ranks: elderly, appointment, vip; then vip first. The oldest
     * waiting ticket chosen by rank is first come, first served. */
    {.name = "ranks and the priority order",
     .ratio = 10,
     .counters = {{"1", "[\"A\"]"}},
     .tickets = {{0, "A001", "A", "vip"},
                 {1, "A002", "A", "appointment"},
                 {2, "A003", "A", "elderly"}},
     .calls = {{3, 0, "1", "A003", 0},
               {4, 0, "1", "A001", 0, "vip, elderly,appointment"},
               {5, 0, "1", "A002", FIFO}}},
};

HBT_TEST(test_call_orders)
{
    (void)state;
    for (size_t k = 0; k < sizeof s_calls / sizeof s_calls[0]; k++) {
        const calls_case_t *cc = &s_calls[k];
        hall_t *h;
        assert_int_equal(s_setup((void **)&h), 0);
        queue_rules_t r;
        queue_rules_default(&r);
        if (cc->ratio)
            r.ratio = cc->ratio;
        if (cc->ageing_min)
            r.ageing_ms = cc->ageing_min * MIN;
        for (size_t i = 0; i < 2 && cc->counters[i].id; i++)
            s_open_counter(h, T0, cc->counters[i].id, cc->counters[i].services);
        for (size_t i = 0; i < 8 && cc->tickets[i].id; i++)
            hbt_issue(h->s, T0 + cc->tickets[i].at_min * MIN, cc->tickets[i].id,
                      cc->tickets[i].service, cc->tickets[i].priority);
        for (size_t i = 0; i < 8 && cc->calls[i].counter; i++) {
            char err[256];
            if (cc->calls[i].order)
                assert_int_equal(queue_parse_order(cc->calls[i].order, &r, err, sizeof err), 0);
            int rule = 0;
            const char *got = s_call(h, &r, T0 + cc->calls[i].at_min * MIN + cc->calls[i].at_ms,
                                     cc->calls[i].counter, &rule);
            const char *want = cc->calls[i].want;
            if ((got && !want) || (!got && want) || (got && strcmp(got, want) != 0) ||
                (cc->calls[i].rule && rule != cc->calls[i].rule))
                fail_msg("%s, call %zu: got %s by rule %d, want %s by rule %d", cc->name, i,
                         got ? got : "none", rule, want ? want : "none", cc->calls[i].rule);
        }
        s_teardown((void **)&h);
    }
}

HBT_TEST_IN(test_priority_order_refusals, NULL, NULL)
{
    (void)state;
    queue_rules_t r;
    queue_rules_default(&r);
    char err[256];
    assert_int_equal(queue_parse_order("vip,elderly", &r, err, sizeof err), HB_EINVAL);
    assert_non_null(strstr(err, "once each"));
    assert_int_equal(queue_parse_order("vip,vip,elderly", &r, err, sizeof err), HB_EINVAL);
    assert_non_null(strstr(err, "'vip' is named twice"));
    assert_int_equal(queue_parse_order("vip,elderly,normal", &r, err, sizeof err), HB_EINVAL);
    assert_non_null(strstr(err, "'normal' is not one of"));
    /* Refused whole: the ranks are as before. */
    assert_int_equal(r.rank[HALLBUS__PRIORITY__PRIORITY_ELDERLY], 3);
}

HBT_TEST(test_position_and_estimate)
{
    hall_t *h = *state;
    queue_rules_t r;
    queue_rules_default(&r);
    s_open_counter(h, T0, "1", "[\"A\"]");
    s_open_counter(h, T0, "2", "[\"A\"]");
    /* Two services of 240 s each teach the hall its service time. */
    hbt_issue(h->s, T0, "A001", "A", "normal");
    hbt_issue(h->s, T0, "A002", "A", "normal");
    int rule;
    s_call(h, &r, T0 + MIN, "1", &rule);
    s_call(h, &r, T0 + MIN, "2", &rule);
    hbt_issue(h->s, T0 + 2 * MIN, "A003", "A", "normal");
    hbt_issue(h->s, T0 + 3 * MIN, "A004", "A", "normal");
    hbt_issue(h->s, T0 + 4 * MIN, "A005", "A", "vip");
    const hb_hs_ticket_t *t3 = hb_hall_state_ticket(h->s, "A003");
    const hb_hs_ticket_t *t4 = hb_hall_state_ticket(h->s, "A004");
    const hb_hs_ticket_t *t5 = hb_hall_state_ticket(h->s, "A005");
    assert_int_equal(queue_position(h->s, t5, &r), 1);
    assert_int_equal(queue_position(h->s, t3, &r), 2);
    assert_int_equal(queue_position(h->s, t4, &r), 3);
    /* The wait a position means is figures.h's, with the hall's policy:
     * here Z's SLA is 600 s. */
    json_t *doc = json_loads("{\"sla\":{\"max_wait_s\":{\"Z:*\":600}}}", 0, NULL);
    hb_policy_t *p = NULL;
    char err[256];
    assert_int_equal(hb_policy_new(doc, &p, err, sizeof err), 0);
    json_decref(doc);
    /* Position 3 x 240 s shared by 2 counters. */
    assert_int_equal(hb_fig_ticket_estimate_s(h->s, p, "A", 3), 360);
    /* A service never served yet: the fallback (half its SLA), one counter
     * assumed. */
    assert_int_equal(hb_fig_ticket_estimate_s(h->s, p, "Z", 2), 600);
    hb_policy_free(&p);
}
