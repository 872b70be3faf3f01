/* Unit tests of how HQ's writer lays batches out on a real LMDB store: the
 * consecutive batches of one hall that one commit takes become one chunk
 * (at most 1,024 events), and every event still reads back once, in order,
 * with the same bytes and the same digest as stored batch by batch. Not
 * here: the ingest's checks before the writer (integration/test_link.c). */
#include "hqstore.h"
#include "writer.h"

#include "hallbus/digest.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storefx.h"
#include "runner.h"

#define HALLS 2
#define BATCHES 1200 /* one-event batches per hall after the first: two chunks */

typedef struct {
    hbt_storefx_t fx; /* first: see storefx.h */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int sinks;    /* commits the sink saw */
    bool release; /* the test lets the writer go on */
} fixture_t;

static void s_on_commit(const hq_commit_t *c, size_t n, void *arg)
{
    fixture_t *f = arg;
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i].ok);
        assert_true(c[i].hall_num < HALLS);
    }
    hbt_storefx_on_commit(c, n, &f->fx);
}

/* Runs on the writer thread after each commit: holds it after the first,
 * so that everything submitted meanwhile goes into the next commit. */
static void s_sink(hq_write_item_t *items, void *arg)
{
    fixture_t *f = arg;
    while (items) {
        hq_write_item_t *next = items->next;
        free(items);
        items = next;
    }
    pthread_mutex_lock(&f->lock);
    f->sinks++;
    pthread_cond_broadcast(&f->cond);
    while (!f->release)
        pthread_cond_wait(&f->cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
}

static hq_write_item_t *s_item(uint32_t hall, uint64_t seq, hb_digest_t *chain)
{
    return hbt_store_events_item(hall, hall ? "L00002" : "L00001", seq, 1, chain);
}

static const hbt_storefx_spec_t s_spec = {"test-writerchunks", sizeof(fixture_t)};
#define HBT_FIXTURE hbt_storefx_setup, hbt_storefx_teardown, &s_spec

HBT_TEST(test_one_commit_one_chunk_per_hall)
{
    fixture_t *f = *state;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    hq_writer_t *w = hbt_storefx_open(&f->fx, 64 << 20, s_on_commit, f);
    hq_writer_set_sink(w, s_sink, f);
    hb_digest_t chain[HALLS];
    memset(chain, 0, sizeof chain);
    /* The first batch of each hall, committed; the writer then waits in
     * the sink while the rest queue up, interleaved by hall. */
    for (uint32_t h = 0; h < HALLS; h++) {
        hq_write_item_t *it = s_item(h, 1, &chain[h]);
        assert_int_equal(hq_writer_submit(w, &it), 0);
    }
    pthread_mutex_lock(&f->lock);
    while (f->sinks == 0)
        pthread_cond_wait(&f->cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
    /* The first commit may have taken one hall's first batch or both. */
    for (uint64_t s = 2; s <= BATCHES + 1; s++)
        for (uint32_t h = 0; h < HALLS; h++) {
            hq_write_item_t *it = s_item(h, s, &chain[h]);
            assert_int_equal(hq_writer_submit(w, &it), 0);
        }
    pthread_mutex_lock(&f->lock);
    f->release = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    hq_writer_stop(&w);
    uv_run(&f->fx.loop, UV_RUN_DEFAULT);

    for (uint32_t h = 0; h < HALLS; h++) {
        hbt_store_read_t r = {.hall = h, .next = 1};
        assert_int_equal(hq_store_read_events(&f->fx.st, h, 1, 100000, hbt_store_read_check, &r),
                         0);
        assert_int_equal(r.next, BATCHES + 2);
        /* From the middle of a merged chunk, too. */
        r.next = 700;
        assert_int_equal(hq_store_read_events(&f->fx.st, h, 700, 5, hbt_store_read_check, &r), 0);
        assert_int_equal(r.next, 705);
        assert_int_equal(f->fx.last[h].last_seq, BATCHES + 1);
        assert_int_equal(f->fx.last[h].events, BATCHES + 1);
        assert_memory_equal(&f->fx.last[h].digest, &chain[h], sizeof chain[h]);
        /* Hall 0: its first batch, then 1,200 batches in one commit: 1,024
         * events and 176. Hall 1 the same, or its first batch waited for
         * the second commit too (1,024 and 177). Batch by batch: 1,201. */
        size_t n = hbt_storefx_chunks(&f->fx.st, h);
        assert_true(n >= 2 && n <= 3);
    }
    hq_store_close(&f->fx.st);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
}
