/* The fixture of the unit tests of HQ's store and what feeds on its writer
 * (test_hqstore, test_commitlog, test_writer_chunks, test_live_queue): a
 * fresh folder for the store, the libuv loop the writer's commits are
 * reported on and a record of the last commit of each hall, batches of
 * events framed as the writer takes them, and a reader that checks events
 * read back against the bytes they were made of. Not for what a test
 * checks: the tests assert what they mean themselves. */
#ifndef HB_TEST_STOREFX_H
#define HB_TEST_STOREFX_H

#include "harness.h"
#include "hqstore.h"
#include "writer.h"

#include "hallbus/digest.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HBT_STOREFX_HALLS 16 /* hall numbers 0..15 */

typedef struct hbt_storefx {
    char dir[HBT_FIXTURE_DIR]; /* first: the folder of hbt_fixture_new */
    hq_store_t st;
    uv_loop_t loop;
    int commits;                         /* counted by the test's commit callback */
    hq_commit_t last[HBT_STOREFX_HALLS]; /* by hall number: hbt_storefx_on_commit */
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

/* A commit callback (`arg`: the fixture) that keeps each hall's last
 * commit in `last` and counts the commits; a hall number of 16 or more
 * fails the test. */
void hbt_storefx_on_commit(const hq_commit_t *c, size_t n, void *arg);

/* Runs the fixture's loop until `commits` commits were heard; fails the
 * test after 5 s without them. */
void hbt_storefx_run_until(hbt_storefx_t *fx, int commits);

/* Loads the store's hall records into `recs` by number (the others
 * zeroed); returns the next hall number. */
uint32_t hbt_storefx_load_halls(hq_store_t *st, hq_hall_record_t recs[HBT_STOREFX_HALLS]);

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

/* The bytes of hall `hall`'s event `seq` in these tests ("hall 3 event
 * 12"): distinct per hall, so the halls' digests differ. Returns their
 * length. */
#define HBT_STORE_EVENT_MAX 64
size_t hbt_store_event(uint32_t hall, uint64_t seq, uint8_t out[HBT_STORE_EVENT_MAX]);

/* hbt_write_item of hall `hall`'s events first..first+n-1 (n at most 64)
 * as hbt_store_event makes them. */
hq_write_item_t *hbt_store_events_item(uint32_t hall, const char *id, uint64_t first, uint32_t n,
                                       hb_digest_t *chain);

/* A reader for hq_store_read_events (`arg`: an hbt_store_read_t): each
 * event must come as the next seq from `next` on and hold hbt_store_event's
 * bytes of `hall`, or the test fails; `n` counts them. */
typedef struct hbt_store_read {
    uint32_t hall;
    uint64_t next;
    size_t n;
} hbt_store_read_t;
int hbt_store_read_check(uint64_t seq, const uint8_t *data, size_t len, void *arg);

#endif
