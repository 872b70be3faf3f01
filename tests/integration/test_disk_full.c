/* A hall's disk fills during a long outage, with real processes on a real
 * small filesystem: the hall's data folder is a tmpfs of a few MB (mounted
 * here; where this machine lets no test mount, the LMDB map's maximum
 * stands in for the disk, and the test says so). While HQ is down the hall
 * takes events until the disk is full, then refuses tickets with 507
 * disk_full and a reason the kiosk shows, and its status says since when
 * and how many; once the link is back HQ raises hall_disk_full and holds
 * every event the hall took (digests equal: nothing corrupted); when space
 * returns the hall takes tickets again and the alert clears; a kill -9 and
 * a restart on that folder find the outbox whole. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "smalldisk.h"
#include "world.h"

static json_t *s_storage(hbt_hall_t *h)
{
    json_t *st = hbt_get(h->http, "/v1/status");
    assert_non_null(st);
    json_t *s = json_incref(json_object_get(st, "storage"));
    json_decref(st);
    assert_non_null(s);
    return s;
}

static const hbt_world_spec_t s_world = {
    .tag = "diskfull",
    .halls = {"DISK-A"},
    .engine = true,
    /* The alert's hold once the hall has room again, short for the test. */
    .hq_args = {"--alert_disk_full_hold", "2s"},
    /* The outage is as long as filling the disk takes (tens of seconds on
     * a busy machine): the hall's doubling wait between tries must not
     * reach the default 30 s, or the test's wait for it runs out first. */
    .hall_args = {"--reconnect_max", "2s"}};

#define HBT_FIXTURE hbt_world_setup, hbt_small_disk_world_teardown, &s_world

HBT_TEST(test_disk_full_during_outage_refuses_alerts_resumes)
{
    hbt_world_t *w = *state;
    hbt_hall_t *h = &w->hall[0];
    /* HB_TEST_NO_MOUNT=1 runs the stand-in where mounting would work. */
    bool real_disk = hbt_small_disk(h, 3, "disk_full");
    hbt_hall_start(h);
    hbt_hall_post(h, 200, 0);
    assert_true(hbt_wait_synced(&w->hq, h, 15000));

    /* The outage: HQ down, the hall keeps taking events until no room is
     * left. Each request is all or nothing. */
    hbt_hq_stop(&w->hq, SIGTERM);
    json_t *refusal = NULL;
    /* Requests of 100 events, then of one: LMDB reuses the pages its
     * commits free, so single events still fit for a while after larger
     * requests no longer do. */
    int64_t taken = hbt_fill_disk(h, 100, NULL);
    taken += hbt_fill_disk(h, 1, &refusal);
    assert_non_null(refusal);
    assert_string_equal(hbt_str(refusal, "error"), "disk_full");
    hbt_assert_contains(hbt_str(refusal, "reason"), "disk is full");
    hbt_assert_contains(hbt_str(refusal, "reason"), "nothing was stored");
    json_decref(refusal);
    fprintf(stderr, "disk_full: %lld events taken during the outage before the %s was full\n",
            (long long)taken, real_disk ? "3 MB disk" : "1 MB map");
    assert_true(taken > 1000);
    /* The kiosk's ticket is refused with the same code and reason. */
    json_t *t = hbt_req(h->http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 507);
    assert_string_equal(hbt_str(t, "error"), "disk_full");
    hbt_assert_contains(hbt_str(t, "reason"), "disk is full");
    json_decref(t);
    json_t *sp = s_storage(h);
    assert_true(json_is_true(json_object_get(sp, "full")));
    assert_true(json_is_string(json_object_get(sp, "full_since")));
    int64_t refused = hbt_int(sp, "refused_events");
    assert_true(refused >= 2);
    json_decref(sp);

    /* The link is back: HQ gets every event the hall took, and raises the
     * alert with the refusals. The disk is still full (acknowledged events
     * are kept for the retention). */
    hbt_hq_start(&w->hq);
    assert_true(hbt_wait_synced(&w->hq, h, 30000));
    hbt_assert_synced(&w->hq, h);
    json_t *al = hbt_wait_alert(w->hq.http, h->id, "hall_disk_full", 10000);
    assert_non_null(al);
    assert_int_equal(hbt_int(al, "value"), refused);
    hbt_assert_contains(hbt_str(al, "detail"), "disk is full");
    fprintf(stderr, "disk_full: HQ: %s\n", hbt_str(al, "detail"));
    json_decref(al);

    /* Space returns: the next ticket is taken, and the alert clears after
     * its hold. */
    hbt_small_disk_grow(h, real_disk);
    hbt_req_ok(h->http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    hbt_hall_post(h, 100, 7);
    sp = s_storage(h);
    assert_true(json_is_false(json_object_get(sp, "full")));
    json_decref(sp);
    assert_true(hbt_wait_alert_cleared(w->hq.http, h->id, "hall_disk_full", 15000));

    /* Power lost on that folder: the outbox opens whole and HQ's copy is
     * the hall's. */
    hbt_hall_stop(h, SIGKILL);
    char cmd[600], out[4096];
    snprintf(cmd, sizeof cmd, "mdb_dump -a '%s' >/dev/null", h->data);
    assert_int_equal(hbt_run_args(out, sizeof out, "sh", "-c", cmd, NULL), 0);
    hbt_hall_start(h);
    hbt_hall_post(h, 10, 8);
    assert_true(hbt_wait_synced(&w->hq, h, 15000));
    hbt_assert_synced(&w->hq, h);
}
