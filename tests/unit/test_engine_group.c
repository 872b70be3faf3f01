/* Unit tests of the engine's group commit (engine.h, "group commit") and the
 * outbox's stage under it (outbox.h), on a real outbox in a temporary
 * folder: actions of one group are decided against each other's staged
 * events (consecutive ticket numbers, a ticket called once), nothing is
 * stored or announced before the commit, the commit stores them in order
 * in one transaction, an action outside the group commits the group first,
 * and a commit refused for want of room (the map at its maximum, LMDB's
 * own refusal) leaves the state exactly as before the group, the next
 * ticket taking the next number once there is room. */
#include "engine.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

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

static int64_t s_now;
static int64_t s_clock(void) { return s_now; }

static const char *const s_policy =
    "{\"timezone\":\"UTC\",\"opening_hours\":{\"mon\":[\"00:00-24:00\"],\"tue\":"
    "[\"00:00-24:00\"],\"wed\":[\"00:00-24:00\"],\"thu\":[\"00:00-24:00\"],\"fri\":"
    "[\"00:00-24:00\"],\"sat\":[\"00:00-24:00\"],\"sun\":[\"00:00-24:00\"]}}";

typedef struct {
    hbt_enginefx_t fx;  /* first: see enginefx.h */
    int done;           /* group commits heard */
    int done_rc;        /* the last one's outcome */
    char done_err[512]; /* and its refusal */
} fixture_t;

static void s_on_done(void *arg, int rc, const char *err)
{
    fixture_t *f = arg;
    f->done++;
    f->done_rc = rc;
    snprintf(f->done_err, sizeof f->done_err, "%s", err);
}

static void s_open(fixture_t *f, size_t map_max)
{
    hbt_enginefx_open(&f->fx, 64 << 10, map_max);
    engine_set_group_done(f->fx.e, s_on_done, f);
}

static int s_setup(void **state)
{
    s_now = 1796472000000LL; /* 2026-12-04 12:00 UTC */
    fixture_t *f = hbt_enginefx_new(sizeof *f, "test-engine-group", "A:A:10m:Cash; B:B:20m:Loans",
                                    500, s_clock, s_policy);
    s_open(f, 1 << 30);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    hbt_enginefx_free(*state);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

/* Issues a ticket of `service`; its id, or the refusal's code. */
static int s_issue(fixture_t *f, const char *service, char id[HB_HS_ID])
{
    engine_ticket_answer_t a;
    char err[512];
    int rc =
        engine_issue(f->fx.e, service, HALLBUS__PRIORITY__PRIORITY_NORMAL, 0, &a, err, sizeof err);
    if (rc == 0)
        snprintf(id, HB_HS_ID, "%s", a.ticket);
    return rc;
}

/* Issues a ticket of `service` that must be taken, as number `want`
 * when that is not NULL. */
static void s_issue_as(fixture_t *f, const char *service, const char *want)
{
    char id[HB_HS_ID];
    assert_int_equal(s_issue(f, service, id), 0);
    if (want)
        assert_string_equal(id, want);
}

/* Opens counter 1 (staff s1) for service A; it must be taken. */
static void s_open_counter(fixture_t *f)
{
    const char *svcs[] = {"A"};
    char err[512];
    if (engine_counter_open(f->fx.e, "1", "s1", svcs, 1, err, sizeof err) != 0)
        fail_msg("counter_open: %s", err);
}

/* The kind of the stored event `seq`. */
static int s_kind_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    (void)seq;
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    *(int *)arg = env ? (int)env->body_case : -1;
    hb_envelope_free(env);
    return 1;
}

static int s_kind(fixture_t *f, uint64_t seq)
{
    int kind = -1;
    assert_int_equal(outbox_read(f->fx.ob, seq, 1, 1 << 20, s_kind_cb, &kind), 0);
    return kind;
}

HBT_TEST(test_group_decides_against_staged_events_and_commits_once)
{
    fixture_t *f = *state;
    /* A committed ticket first: the day's start is behind us. */
    s_issue_as(f, "A", "A001");
    uint64_t last = outbox_last_seq(f->fx.ob);
    int appended = f->fx.appended;

    engine_group_begin(f->fx.e);
    s_issue_as(f, "A", "A002");
    s_issue_as(f, "A", "A003"); /* the staged A002 counted */
    /* A counter opens and calls A001, then the same ticket again: the
     * second call is decided against the first and refused. */
    s_open_counter(f);
    char err[512];
    engine_call_answer_t ca;
    assert_int_equal(engine_call(f->fx.e, "1", "A001", &ca, err, sizeof err), 0);
    assert_int_equal(engine_call(f->fx.e, "1", "A001", &ca, err, sizeof err), HB_ECONFLICT);
    engine_group_end(f->fx.e);

    /* Nothing stored, nobody told, the state shows all of it. */
    assert_int_equal(outbox_last_seq(f->fx.ob), last);
    assert_int_equal(f->fx.appended, appended);
    assert_int_equal(engine_group_staged(f->fx.e, NULL), 4);
    assert_int_equal(engine_state(f->fx.e)->seq, last + 4);
    assert_int_equal(f->done, 0);

    assert_int_equal(engine_group_commit(f->fx.e), 0);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->done_rc, 0);
    assert_int_equal(f->fx.appended, appended + 1); /* once for the group */
    assert_int_equal(outbox_last_seq(f->fx.ob), last + 4);
    assert_int_equal(engine_group_staged(f->fx.e, NULL), 0);
    assert_int_equal(s_kind(f, last + 1), HALLBUS__ENVELOPE__BODY_TICKET_ISSUED);
    assert_int_equal(s_kind(f, last + 2), HALLBUS__ENVELOPE__BODY_TICKET_ISSUED);
    assert_int_equal(s_kind(f, last + 3), HALLBUS__ENVELOPE__BODY_COUNTER_OPENED);
    assert_int_equal(s_kind(f, last + 4), HALLBUS__ENVELOPE__BODY_TICKET_CALLED);
    /* Nothing staged: a commit is nothing, and nobody hears of it. */
    assert_int_equal(engine_group_commit(f->fx.e), 0);
    assert_int_equal(f->done, 1);

    /* The state the outbox holds is the live one. */
    char *live = hbt_state_text(engine_state(f->fx.e));
    hbt_enginefx_close(&f->fx);
    s_open(f, 1 << 30);
    char *rebuilt = hbt_state_text(engine_state(f->fx.e));
    assert_string_equal(live, rebuilt);
    free(live);
    free(rebuilt);
}

HBT_TEST(test_action_outside_the_group_commits_it_first)
{
    fixture_t *f = *state;
    engine_group_begin(f->fx.e);
    s_issue_as(f, "B", "B001");
    engine_group_end(f->fx.e);
    uint64_t staged_last = engine_state(f->fx.e)->seq;
    assert_int_equal(outbox_last_seq(f->fx.ob), 0);
    /* The next action is not in a group: the group is committed (and
     * heard) before it is decided, and it follows in the journal. */
    s_issue_as(f, "B", "B002");
    assert_int_equal(f->done, 1);
    assert_int_equal(f->done_rc, 0);
    assert_int_equal(outbox_last_seq(f->fx.ob), staged_last + 1);
    assert_int_equal(s_kind(f, staged_last), HALLBUS__ENVELOPE__BODY_TICKET_ISSUED);
    assert_int_equal(s_kind(f, staged_last + 1), HALLBUS__ENVELOPE__BODY_TICKET_ISSUED);
    /* The tick does the same. */
    engine_group_begin(f->fx.e);
    s_issue_as(f, "B", NULL);
    engine_group_end(f->fx.e);
    engine_tick(f->fx.e);
    assert_int_equal(f->done, 2);
    assert_int_equal(outbox_last_seq(f->fx.ob), engine_state(f->fx.e)->seq);
}

/* Fills the map with records (large, then smaller) until none fits. */
static void s_fill(fixture_t *f)
{
    static char blob[64 << 10];
    memset(blob, 'x', sizeof blob);
    int k = 0;
    for (size_t size = sizeof blob; size >= 64; size /= 4) {
        for (;;) {
            char key[32];
            snprintf(key, sizeof key, "fill-%d", k++);
            outbox_record_t rec = {key, blob, size};
            int rc = outbox_append_with(f->fx.ob, NULL, 0, &rec, 1, NULL);
            if (rc == HB_EMAPFULL || rc == HB_ENOSPC)
                break;
            assert_int_equal(rc, 0);
        }
    }
}

HBT_TEST(test_refused_group_leaves_no_trace)
{
    fixture_t *f = *state;
    hbt_enginefx_close(&f->fx);
    s_open(f, 1 << 20); /* a map of at most 1 MiB stands in for a small disk */
    char id[HB_HS_ID];
    s_issue_as(f, "A", NULL);
    s_issue_as(f, "A", "A002");
    s_fill(f);
    char *before = hbt_state_text(engine_state(f->fx.e));
    uint64_t last = outbox_last_seq(f->fx.ob);
    int appended = f->fx.appended;

    engine_group_begin(f->fx.e);
    s_issue_as(f, "A", "A003");
    s_issue_as(f, "B", NULL);
    s_open_counter(f);
    engine_group_end(f->fx.e);
    char *during = hbt_state_text(engine_state(f->fx.e));
    assert_string_not_equal(during, before);
    free(during);

    /* The commit is refused: every request of the group hears the full
     * disk, as a lone one would, and the state is as before the group. */
    assert_int_equal(engine_group_commit(f->fx.e), HB_ENOSPC);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->done_rc, HB_ENOSPC);
    hbt_assert_contains(f->done_err, "disk is full");
    hbt_assert_contains(f->done_err, "nothing was stored");
    assert_int_equal(f->fx.appended, appended);
    assert_int_equal(outbox_last_seq(f->fx.ob), last);
    assert_int_equal(engine_group_staged(f->fx.e, NULL), 0);
    char *after = hbt_state_text(engine_state(f->fx.e));
    assert_string_equal(after, before);
    free(after);
    outbox_space_t sp;
    outbox_space(f->fx.ob, &sp);
    assert_true(sp.full_since_ms != 0);
    assert_true(sp.refused_events >= 3);

    /* A lone ticket now is refused the same way, and changes nothing. */
    assert_int_equal(s_issue(f, "A", id), HB_ENOSPC);
    after = hbt_state_text(engine_state(f->fx.e));
    assert_string_equal(after, before);
    free(after);
    free(before);

    /* Room again (the map may grow further): the next ticket takes the
     * next number, A003, as if the refused group had never been. */
    hbt_enginefx_close(&f->fx);
    s_open(f, 1 << 30);
    s_issue_as(f, "A", "A003");
    s_issue_as(f, "B", "B001");
}

static int s_digest_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    (void)seq;
    hb_digest_step(arg, data, len);
    return 0;
}

HBT_TEST(test_outbox_stage_bounds_and_numbering)
{
    fixture_t *f = *state;
    uint64_t last = outbox_last_seq(f->fx.ob);
    Hallbus__Envelope env;
    Hallbus__SatisfactionScored body;
    hallbus__envelope__init(&env);
    hallbus__satisfaction_scored__init(&body);
    body.score = 4;
    env.at_ms = s_now;
    env.body_case = HALLBUS__ENVELOPE__BODY_SATISFACTION_SCORED;
    env.satisfaction_scored = &body;
    Hallbus__Envelope *envp = &env;
    uint64_t first = 0;
    assert_int_equal(outbox_stage(f->fx.ob, &envp, 1, &first), 0);
    assert_int_equal(first, last + 1);
    assert_int_equal(env.seq, last + 1);
    assert_int_equal(outbox_stage(f->fx.ob, &envp, 1, &first), 0);
    assert_int_equal(first, last + 2);
    /* Another commit would take the staged numbers: refused. */
    assert_int_equal(outbox_append(f->fx.ob, &envp, 1, NULL), HB_ECONFLICT);
    outbox_record_t rec = {"k", "v", 1};
    assert_int_equal(outbox_append_with(f->fx.ob, NULL, 0, &rec, 1, NULL), HB_ECONFLICT);
    assert_int_equal(outbox_last_seq(f->fx.ob), last);
    /* Past the bound of events nothing more is staged. */
    size_t n = outbox_staged(f->fx.ob, NULL);
    while (n < OUTBOX_STAGE_EVENTS) {
        assert_int_equal(outbox_stage(f->fx.ob, &envp, 1, NULL), 0);
        n++;
    }
    assert_int_equal(outbox_stage(f->fx.ob, &envp, 1, NULL), HB_ETOOBIG);
    size_t bytes = 0;
    assert_int_equal(outbox_staged(f->fx.ob, &bytes), OUTBOX_STAGE_EVENTS);
    assert_true(bytes > 0);
    /* Dropped: nothing stored, the numbers free again. */
    outbox_drop_staged(f->fx.ob);
    assert_int_equal(outbox_staged(f->fx.ob, &bytes), 0);
    assert_int_equal(bytes, 0);
    assert_int_equal(outbox_commit_staged(f->fx.ob, NULL), HB_EINVAL);
    assert_int_equal(outbox_stage(f->fx.ob, &envp, 1, &first), 0);
    assert_int_equal(first, last + 1);
    assert_int_equal(outbox_commit_staged(f->fx.ob, &first), 0);
    assert_int_equal(first, last + 1);
    assert_int_equal(outbox_last_seq(f->fx.ob), last + 1);
    assert_int_equal(s_kind(f, last + 1), HALLBUS__ENVELOPE__BODY_SATISFACTION_SCORED);
    /* The stream digest covers the staged event as it covers one
     * appended: computed here over the stored bytes, it is the outbox's. */
    assert_int_equal(outbox_append(f->fx.ob, &envp, 1, NULL), 0);
    assert_int_equal(outbox_last_seq(f->fx.ob), last + 2);
    hb_digest_t dg;
    hb_digest_init(&dg);
    assert_int_equal(outbox_read(f->fx.ob, 1, 100, 1 << 20, s_digest_cb, &dg), 0);
    assert_memory_equal(dg.bytes, outbox_digest(f->fx.ob)->bytes, HB_DIGEST_LEN);
}
