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

HBT_TEST(test_priority_goes_first)
{
    hall_t *h = *state;
    queue_rules_t r;
    queue_rules_default(&r);
    s_open_counter(h, T0, "1", "[\"A\"]");
    hbt_issue(h->s, T0 + 1 * MIN, "A001", "A", "normal");
    hbt_issue(h->s, T0 + 2 * MIN, "A002", "A", "vip");
    int rule = 0;
    assert_string_equal(s_call(h, &r, T0 + 3 * MIN, "1", &rule), "A002");
    assert_int_equal(rule, HALLBUS__CALL_RULE__CALL_RULE_PRIORITY);
    assert_string_equal(s_call(h, &r, T0 + 4 * MIN, "1", &rule), "A001");
    assert_int_equal(rule, HALLBUS__CALL_RULE__CALL_RULE_FIFO);
    assert_null(s_call(h, &r, T0 + 5 * MIN, "1", &rule));
}

HBT_TEST(test_ratio_interleaves_normal_tickets)
{
    hall_t *h = *state;
    queue_rules_t r;
    queue_rules_default(&r);
    r.ratio = 2;
    s_open_counter(h, T0, "1", "[\"A\"]");
    hbt_issue(h->s, T0 + 1 * MIN, "A001", "A", "normal");
    hbt_issue(h->s, T0 + 2 * MIN, "A002", "A", "normal");
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "A10%d", i);
        hbt_issue(h->s, T0 + 3 * MIN, id, "A", "elderly");
    }
    const char *want[] = {"A100", "A101", "A001", "A102", "A103", "A002", "A104"};
    const int rules[] = {
        HALLBUS__CALL_RULE__CALL_RULE_PRIORITY, HALLBUS__CALL_RULE__CALL_RULE_PRIORITY,
        HALLBUS__CALL_RULE__CALL_RULE_RATIO,    HALLBUS__CALL_RULE__CALL_RULE_PRIORITY,
        HALLBUS__CALL_RULE__CALL_RULE_PRIORITY, HALLBUS__CALL_RULE__CALL_RULE_RATIO,
        HALLBUS__CALL_RULE__CALL_RULE_FIFO};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int rule = 0;
        const char *got = s_call(h, &r, T0 + 5 * MIN + (int64_t)i * 1000, "1", &rule);
        assert_non_null(got);
        if (strcmp(got, want[i]) != 0 || rule != rules[i])
            fail_msg("call %zu: got %s by rule %d, want %s by rule %d", i, got, rule, want[i],
                     rules[i]);
    }
}

HBT_TEST(test_ageing_protects_a_normal_ticket)
{
    hall_t *h = *state;
    queue_rules_t r;
    queue_rules_default(&r);
    r.ratio = 100; /* priority would win for a long time */
    r.ageing_ms = 20 * MIN;
    s_open_counter(h, T0, "1", "[\"A\"]");
    hbt_issue(h->s, T0, "A001", "A", "normal");
    hbt_issue(h->s, T0 + 1 * MIN, "A002", "A", "vip");
    hbt_issue(h->s, T0 + 2 * MIN, "A003", "A", "vip");
    int rule = 0;
    /* Before the bound: priority. */
    assert_string_equal(s_call(h, &r, T0 + 19 * MIN, "1", &rule), "A002");
    assert_int_equal(rule, HALLBUS__CALL_RULE__CALL_RULE_PRIORITY);
    /* At the bound the normal ticket goes first, and the call says why. */
    assert_string_equal(s_call(h, &r, T0 + 20 * MIN, "1", &rule), "A001");
    assert_int_equal(rule, HALLBUS__CALL_RULE__CALL_RULE_AGEING);
    assert_string_equal(s_call(h, &r, T0 + 21 * MIN, "1", &rule), "A003");
}

HBT_TEST(test_ageing_that_changes_nothing_is_not_named)
{
    hall_t *h = *state;
    queue_rules_t r;
    queue_rules_default(&r);
    s_open_counter(h, T0, "1", "[\"A\"]");
    hbt_issue(h->s, T0, "A001", "A", "normal");
    hbt_issue(h->s, T0 + MIN, "A002", "A", "normal");
    int rule = 0;
    /* Both aged: the oldest goes, which first come first served says too. */
    assert_string_equal(s_call(h, &r, T0 + 60 * MIN, "1", &rule), "A001");
    assert_int_equal(rule, HALLBUS__CALL_RULE__CALL_RULE_FIFO);
}

HBT_TEST(test_counter_serves_only_its_services)
{
    hall_t *h = *state;
    queue_rules_t r;
    queue_rules_default(&r);
    s_open_counter(h, T0, "1", "[\"B\"]");
    s_open_counter(h, T0, "2", "[\"A\",\"B\"]");
    hbt_issue(h->s, T0 + MIN, "A001", "A", "elderly");
    hbt_issue(h->s, T0 + 2 * MIN, "B001", "B", "normal");
    int rule = 0;
    assert_string_equal(s_call(h, &r, T0 + 3 * MIN, "1", &rule), "B001");
    assert_null(s_call(h, &r, T0 + 3 * MIN, "1", &rule)); /* A001 waits, but not for B */
    assert_string_equal(s_call(h, &r, T0 + 4 * MIN, "2", &rule), "A001");
}

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

HBT_TEST(test_ranks_and_priority_order)
{
    hall_t *h = *state;
    queue_rules_t r;
    queue_rules_default(&r);
    r.ratio = 10;
    s_open_counter(h, T0, "1", "[\"A\"]");
    hbt_issue(h->s, T0, "A001", "A", "vip");
    hbt_issue(h->s, T0 + MIN, "A002", "A", "appointment");
    hbt_issue(h->s, T0 + 2 * MIN, "A003", "A", "elderly");
    int rule;
    /* Default ranks: elderly, appointment, vip. */
    assert_string_equal(s_call(h, &r, T0 + 3 * MIN, "1", &rule), "A003");
    char err[256];
    assert_int_equal(queue_parse_order("vip, elderly,appointment", &r, err, sizeof err), 0);
    assert_string_equal(s_call(h, &r, T0 + 4 * MIN, "1", &rule), "A001");
    assert_string_equal(s_call(h, &r, T0 + 5 * MIN, "1", &rule), "A002");
    /* The oldest waiting ticket chosen by rank is first come, first served. */
    assert_int_equal(rule, HALLBUS__CALL_RULE__CALL_RULE_FIFO);
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
