/* The fixture of the unit tests of HQ's store and what feeds on its writer:
 * a fresh folder for the store, the libuv loop the writer's commits are
 * reported on, and batches of events framed as the writer takes them.
 * Not for what a test checks: the tests assert what they mean themselves. */
#ifndef HB_TEST_STOREFX_H
#define HB_TEST_STOREFX_H

#include "harness.h"
#include "hqstore.h"
#include "writer.h"

#include "hallbus/digest.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct hbt_storefx {
    char dir[HBT_FIXTURE_DIR]; /* first: the folder of hbt_fixture_new */
    hq_store_t st;
    uv_loop_t loop;
    int commits; /* counted by the test's commit callback */
} hbt_storefx_t;

/* cmocka fixtures for a test file's fixture struct, whose first member is
 * an hbt_storefx_t:
 *   static const hbt_storefx_spec_t s_spec = {"tag", sizeof(fixture_t)};
 *   #define HBT_FIXTURE hbt_storefx_setup, hbt_storefx_teardown, &s_spec
 * The setup makes the folder fresh and initialises the loop; the teardown
 * closes the loop (which must have nothing left), removes the folder and
 * frees the fixture. */
typedef struct hbt_storefx_spec {
    const char *tag;
    size_t size;
} hbt_storefx_spec_t;
int hbt_storefx_setup(void **state);
int hbt_storefx_teardown(void **state);

/* Opens the store in the fixture's folder with a map of `map` bytes (no
 * hall yet) and starts its writer (64 MiB of queue), whose commits
 * `on_commit` gets with `arg` on the fixture's loop. */
hq_writer_t *hbt_storefx_open(hbt_storefx_t *fx, size_t map, hq_commit_fn on_commit, void *arg);

/* The records hall `hall` has in the per-hall events table (chunks). */
size_t hbt_storefx_chunks(hq_store_t *st, uint32_t hall);

/* Waits (at most 10 s, then fails the test) until the writer's commit log
 * holds nothing unfolded: what was acknowledged is in the per-hall layout. */
void hbt_storefx_wait_folded(hq_writer_t *w);

/* A writer item of hall `hall` (`id`) carrying the `n` events `evs` (of
 * `lens` bytes) as seqs first.. ; each event's bytes are stepped into
 * `chain` when it is not NULL. */
hq_write_item_t *hbt_write_item(uint32_t hall, const char *id, uint64_t first, uint32_t n,
                                uint8_t *const evs[], const size_t lens[], hb_digest_t *chain);

#endif
