/* A hall whose disk fills, for the tests of the outbox's refusal path
 * (test_disk_full, test_group_commit): the hall's data folder on a real
 * tmpfs of a few MB mounted by the test, or where no test may mount (or
 * HB_TEST_NO_MOUNT is set) the LMDB map's maximum standing in for the
 * disk, said on stderr; and the hall filled with events until it refuses.
 * Not for what a test asserts of the refusal. */
#ifndef HB_TEST_SMALLDISK_H
#define HB_TEST_SMALLDISK_H

#include "harness.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Before hbt_hall_start: the hall's data folder on a tmpfs of `mb` MB
 * (true), or the stand-in's settings in the hall's extra arguments
 * (false). `tag` names the test in the note about the stand-in. */
bool hbt_small_disk(hbt_hall_t *h, int mb, const char *tag);
/* Room again: the tmpfs remounted at 16 MB, or (the stand-in) the hall
 * restarted with a map maximum of 8 MB. */
void hbt_small_disk_grow(hbt_hall_t *h, bool real_disk);
/* Unmounts what hbt_small_disk mounted (teardown); idempotent. */
void hbt_small_disk_release(hbt_hall_t *h);
/* A world's teardown (world.h) for a test whose first hall has a small
 * disk: every hall stopped, the disk released, then the world's own. */
int hbt_small_disk_world_teardown(void **state);
/* POSTs /v1/events of `per` events (1 to 100) until the hall answers 507;
 * any other answer but 200 fails the test. Returns the events taken; the
 * refusal's body in `*refusal` (the caller frees it; may be NULL). */
int64_t hbt_fill_disk(hbt_hall_t *h, int per, json_t **refusal);

#endif
