/* Unit tests of branchd's outbox on real LMDB files: numbering, durability
 * across reopen, the stream digest, acknowledgement and pruning, map growth
 * from a tiny map, and readers left behind by a killed process. */
#include "outbox.h"

#include "hallbus/digest.h"
#include "hallbus/error.h"
#include "hallbus/store.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

typedef struct {
    char dir[HBT_FIXTURE_DIR];
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = hbt_fixture_new(sizeof *f, "test-outbox");
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    hbt_fixture_free(f);
    return 0;
}

/* Makes `n` ticket events whose ticket numbers start at `base`. */
static void s_make(Hallbus__Envelope *envs, Hallbus__TicketIssued *bodies, char (*names)[16],
                   Hallbus__Envelope **ptrs, size_t n, int base, int64_t at)
{
    for (size_t i = 0; i < n; i++) {
        hallbus__envelope__init(&envs[i]);
        hallbus__ticket_issued__init(&bodies[i]);
        snprintf(names[i], 16, "A%03d", base + (int)i);
        bodies[i].ticket = names[i];
        bodies[i].service = "A";
        bodies[i].priority = HALLBUS__PRIORITY__PRIORITY_NORMAL;
        envs[i].at_ms = at;
        envs[i].body_case = HALLBUS__ENVELOPE__BODY_TICKET_ISSUED;
        envs[i].ticket_issued = &bodies[i];
        ptrs[i] = &envs[i];
    }
}

static int s_append_n(outbox_t *ob, size_t n, int base, int64_t at, uint64_t *first)
{
    Hallbus__Envelope envs[64];
    Hallbus__TicketIssued bodies[64];
    char names[64][16];
    Hallbus__Envelope *ptrs[64];
    assert_true(n <= 64);
    s_make(envs, bodies, names, ptrs, n, base, at);
    return outbox_append(ob, ptrs, n, first);
}

typedef struct {
    uint64_t seqs[256];
    size_t count;
    hb_digest_t digest;
} collected_t;

static int s_collect(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    collected_t *c = arg;
    c->seqs[c->count++] = seq;
    hb_digest_step(&c->digest, data, len);
    Hallbus__Envelope *env = hallbus__envelope__unpack(NULL, len, data);
    assert_non_null(env);
    assert_int_equal(env->seq, seq);
    hallbus__envelope__free_unpacked(env, NULL);
    return 0;
}

/* Reads up to `max` events (or `bytes`) from `from` into `c`, counted
 * and digested afresh. */
static int s_read(outbox_t *ob, uint64_t from, size_t max, size_t bytes, collected_t *c)
{
    c->count = 0;
    hb_digest_init(&c->digest);
    return outbox_read(ob, from, max, bytes, s_collect, c);
}

/* Opens the fixture's outbox with a map of `map` bytes growing to `max`. */
static outbox_t *s_open(fixture_t *f, size_t map, size_t max)
{
    outbox_t *ob = NULL;
    assert_int_equal(outbox_open(f->dir, map, max, &ob), 0);
    assert_non_null(ob);
    return ob;
}

/* Opens the outbox at the usual sizes and appends `n` events at 1000 ms,
 * numbered from 1. */
static outbox_t *s_open_with(fixture_t *f, size_t n)
{
    outbox_t *ob = s_open(f, 1 << 20, 1 << 26);
    uint64_t first;
    assert_int_equal(s_append_n(ob, n, 1, 1000, &first), 0);
    assert_int_equal(first, 1);
    return ob;
}

/* Appends batches of 50 until the map is full: the code of the refusal,
 * and how many events went in before it. */
static int s_fill(outbox_t *ob, int *appended)
{
    uint64_t first;
    int rc = 0;
    *appended = 0;
    for (int i = 0; i < 1000 && rc == 0; i++) {
        rc = s_append_n(ob, 50, i * 50, 1000, &first);
        if (rc == 0)
            *appended += 50;
    }
    return rc;
}

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_numbering_and_digest_survive_reopen)
{
    fixture_t *f = *state;
    outbox_t *ob = s_open(f, 1 << 20, 1 << 26);
    assert_int_equal(outbox_last_seq(ob), 0);
    uint64_t first = 0;
    assert_int_equal(s_append_n(ob, 10, 1, 1000, &first), 0);
    assert_int_equal(first, 1);
    assert_int_equal(s_append_n(ob, 5, 11, 1000, &first), 0);
    assert_int_equal(first, 11);
    assert_int_equal(outbox_last_seq(ob), 15);

    collected_t c;
    assert_int_equal(s_read(ob, 1, 100, 1 << 20, &c), 0);
    assert_int_equal(c.count, 15);
    for (size_t i = 0; i < c.count; i++)
        assert_int_equal(c.seqs[i], i + 1);
    /* The digest kept incrementally equals the one recomputed from storage. */
    assert_memory_equal(c.digest.bytes, outbox_digest(ob)->bytes, HB_DIGEST_LEN);
    hb_digest_t before = *outbox_digest(ob);
    outbox_close(&ob);
    assert_null(ob);

    ob = s_open(f, 1 << 20, 1 << 26);
    assert_int_equal(outbox_last_seq(ob), 15);
    assert_memory_equal(before.bytes, outbox_digest(ob)->bytes, HB_DIGEST_LEN);
    assert_int_equal(s_append_n(ob, 1, 16, 1000, &first), 0);
    assert_int_equal(first, 16);
    outbox_close(&ob);
}

HBT_TEST(test_read_bounds)
{
    fixture_t *f = *state;
    outbox_t *ob = s_open_with(f, 20);
    collected_t c;
    assert_int_equal(s_read(ob, 5, 3, 1 << 20, &c), 0);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.seqs[0], 5);
    /* A byte budget smaller than one event still yields one event. */
    assert_int_equal(s_read(ob, 7, 10, 1, &c), 0);
    assert_int_equal(c.count, 1);
    /* Past the end: nothing, no error. */
    assert_int_equal(s_read(ob, 21, 10, 1 << 20, &c), 0);
    assert_int_equal(c.count, 0);
    outbox_close(&ob);
}

HBT_TEST(test_ack_and_prune)
{
    fixture_t *f = *state;
    outbox_t *ob = s_open_with(f, 10); /* old */
    uint64_t first;
    assert_int_equal(s_append_n(ob, 10, 11, 5000, &first), 0); /* young */
    assert_int_equal(outbox_ack(ob, 25), HB_ERANGE);           /* never written */
    assert_int_equal(outbox_ack(ob, 15), 0);
    assert_int_equal(outbox_ack(ob, 12), 0); /* lower: ignored */
    assert_int_equal(outbox_acked_seq(ob), 15);

    size_t pruned = 0;
    /* Cutoff 3000: only the old, acknowledged events go. */
    assert_int_equal(outbox_flush(ob, 3000, 1000, &pruned), 0);
    assert_int_equal(pruned, 10);
    assert_int_equal(outbox_first_seq(ob), 11);
    collected_t c;
    assert_int_equal(s_read(ob, 5, 10, 1 << 20, &c), HB_ENOTFOUND);
    /* Unacknowledged events are never pruned, however old. */
    assert_int_equal(outbox_flush(ob, 99999, 1000, &pruned), 0);
    assert_int_equal(pruned, 5);
    assert_int_equal(outbox_first_seq(ob), 16);
    outbox_close(&ob);

    ob = s_open(f, 1 << 20, 1 << 26);
    assert_int_equal(outbox_acked_seq(ob), 15);
    assert_int_equal(outbox_first_seq(ob), 16);
    assert_int_equal(outbox_last_seq(ob), 20);
    outbox_close(&ob);
}

HBT_TEST(test_tiny_map_grows_without_loss)
{
    fixture_t *f = *state;
    /* 64 KiB: full after a few hundred events. */
    outbox_t *ob = s_open(f, 64 << 10, 1 << 30);
    uint64_t first;
    for (int i = 0; i < 200; i++)
        assert_int_equal(s_append_n(ob, 50, i * 50, 1000, &first), 0);
    assert_int_equal(outbox_last_seq(ob), 10000);
    assert_true(outbox_map_grows(ob) > 0);
    hb_digest_t d = *outbox_digest(ob);
    outbox_close(&ob);
    ob = s_open(f, 64 << 10, 1 << 30);
    assert_int_equal(outbox_last_seq(ob), 10000);
    assert_memory_equal(d.bytes, outbox_digest(ob)->bytes, HB_DIGEST_LEN);
    /* Every event is there, in order. */
    collected_t c;
    uint64_t seq = 1;
    while (seq <= 10000) {
        assert_int_equal(s_read(ob, seq, 256, 1 << 20, &c), 0);
        assert_int_equal(c.seqs[0], seq);
        seq += c.count;
    }
    outbox_close(&ob);
}

HBT_TEST(test_map_at_maximum_refuses_cleanly)
{
    fixture_t *f = *state;
    outbox_t *ob = s_open(f, 64 << 10, 128 << 10);
    int appended;
    assert_int_equal(s_fill(ob, &appended), HB_EMAPFULL);
    /* Nothing half-written: the count is exactly what succeeded. */
    assert_int_equal(outbox_last_seq(ob), (uint64_t)appended);
    outbox_close(&ob);
    ob = s_open(f, 64 << 10, 128 << 10);
    assert_int_equal(outbox_last_seq(ob), (uint64_t)appended);
    outbox_close(&ob);
}

HBT_TEST(test_stale_reader_cleared)
{
    fixture_t *f = *state;
    outbox_t *ob = s_open_with(f, 3);
    outbox_close(&ob);

    /* Two children open the environment themselves (never across fork):
     * one just holds it open, as a long-running process would; the other
     * takes a reader slot and is killed with SIGKILL while holding it. When
     * the daemon then starts, it must find and clear that slot. (Were nobody
     * holding the environment, LMDB would reset the whole table itself.) */
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            hb_store_t st;
            if (hb_store_open(&st, f->dir, 1 << 20, 1 << 26, 4) != 0)
                _exit(1);
            MDB_txn *txn;
            if (i == 1 && mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn) != 0)
                _exit(1);
            if (write(ready[1], "r", 1) != 1)
                _exit(1);
            pause();
            _exit(0);
        }
        char c;
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        close(ready[1]);
    }
    kill(pids[1], SIGKILL);
    waitpid(pids[1], NULL, 0);

    hb_store_t st;
    assert_int_equal(hb_store_open(&st, f->dir, 1 << 20, 1 << 26, 4), 0);
    /* hb_store_open cleared the dead child's slot; none is left after. */
    assert_int_equal(st.stale_readers_at_open, 1);
    assert_int_equal(hb_store_reader_check(&st), 0);
    hb_store_close(&st);
    kill(pids[0], SIGKILL);
    waitpid(pids[0], NULL, 0);
}

/* The room the appends found: a refusal at the map's maximum is counted
 * with its time, and the outbox takes events once there is room. */
HBT_TEST(test_space_counted_and_resumes)
{
    fixture_t *f = *state;
    outbox_t *ob = s_open(f, 64 << 10, 128 << 10);
    outbox_space_t sp;
    outbox_space(ob, &sp);
    assert_int_equal(sp.full_since_ms, 0);
    assert_int_equal(sp.refused_events, 0);
    uint64_t first;
    int appended, rc = s_fill(ob, &appended);
    assert_int_equal(rc, HB_EMAPFULL);
    /* Smaller appends may fit a while longer (pages freed by earlier
     * commits): until one does not. */
    for (int i = 0; i < 10000 && (rc = s_append_n(ob, 3, 0, 1000, &first)) == 0; i++)
        ;
    assert_int_equal(rc, HB_EMAPFULL);
    outbox_space(ob, &sp);
    assert_true(sp.full_since_ms > 0);
    assert_int_equal(sp.refused_events, 53);
    assert_true(sp.last_refused_ms >= sp.full_since_ms);
    /* Room again (a larger maximum, as a freed disk): events are taken. */
    outbox_close(&ob);
    ob = s_open(f, 64 << 10, 1 << 20);
    assert_int_equal(s_append_n(ob, 3, 0, 1000, &first), 0);
    outbox_space(ob, &sp);
    assert_int_equal(sp.full_since_ms, 0);
    outbox_close(&ob);
}

/* One plain append may carry more events than a group can stage
 * (OUTBOX_STAGE_EVENTS): a hall's POST /v1/events of 1,000 does. All are
 * numbered, stored and digested in order, and the staging bookkeeping is
 * not read for them (an ASan build fails here when it is). */
HBT_TEST(test_append_larger_than_a_stage)
{
    fixture_t *f = *state;
    outbox_t *ob = s_open(f, 1 << 20, 1 << 26);
    enum { N = OUTBOX_STAGE_EVENTS + 44 };
    Hallbus__Envelope *envs = calloc(N, sizeof *envs);
    Hallbus__TicketIssued *bodies = calloc(N, sizeof *bodies);
    char(*names)[16] = calloc(N, sizeof *names);
    Hallbus__Envelope **ptrs = calloc(N, sizeof *ptrs);
    assert_true(envs && bodies && names && ptrs);
    s_make(envs, bodies, names, ptrs, N, 1, 1000);
    uint64_t first = 0;
    assert_int_equal(outbox_append(ob, ptrs, N, &first), 0);
    assert_int_equal(first, 1);
    assert_int_equal(outbox_last_seq(ob), N);
    collected_t c;
    assert_int_equal(s_read(ob, N - 200, 256, 1 << 22, &c), 0);
    assert_int_equal(c.count, 201);
    assert_int_equal(c.seqs[200], N);
    free(envs);
    free(bodies);
    free(names);
    free(ptrs);
    outbox_close(&ob);
}
