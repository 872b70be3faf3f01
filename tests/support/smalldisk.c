/* A hall whose disk fills (smalldisk.h): the tmpfs or the map's maximum
 * standing in for it, and the events that fill it. */
#include "smalldisk.h"
#include "world.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cmocka.h>

#define FILL_PER_MAX 100
#define FILL_ROUNDS 20000

static bool s_mounted;

bool hbt_small_disk(hbt_hall_t *h, int mb, const char *tag)
{
    if (!getenv("HB_TEST_NO_MOUNT")) {
        mkdir(h->data, 0700);
        char opts[64];
        snprintf(opts, sizeof opts, "size=%dm,mode=0700", mb);
        if (mount("tmpfs", h->data, "tmpfs", MS_NOSUID | MS_NODEV, opts) == 0) {
            s_mounted = true;
            return true;
        }
    }
    fprintf(stderr,
            "\n*** %s: this machine lets no test mount a filesystem: the LMDB map's maximum "
            "(map_max 1M) stands in for a full disk ***\n\n",
            tag);
    hbt_hall_arg(h, "--map_size", "256K");
    hbt_hall_arg(h, "--map_max", "1M");
    return false;
}

void hbt_small_disk_grow(hbt_hall_t *h, bool real_disk)
{
    if (real_disk) {
        assert_int_equal(mount("tmpfs", h->data, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV,
                               "size=16m,mode=0700"),
                         0);
        return;
    }
    /* The map's maximum is a restart-only setting: raised, restarted. */
    hbt_hall_stop(h, SIGTERM);
    snprintf(h->extra[h->n_extra - 1], sizeof h->extra[0], "8M");
    hbt_hall_start(h);
}

void hbt_small_disk_release(hbt_hall_t *h)
{
    if (s_mounted && umount2(h->data, MNT_DETACH) != 0)
        fprintf(stderr, "smalldisk: cannot unmount %s\n", h->data);
    s_mounted = false;
}

int64_t hbt_fill_disk(hbt_hall_t *h, int per, json_t **refusal)
{
    assert_true(per >= 1 && per <= FILL_PER_MAX);
    int64_t taken = 0;
    for (int round = 0; round < FILL_ROUNDS; round++) {
        char body[64 * FILL_PER_MAX + 8];
        size_t used = 0;
        body[used++] = '[';
        for (int k = 0; k < per; k++)
            used += (size_t)snprintf(body + used, sizeof body - used,
                                     "%s{\"type\":\"satisfaction_scored\",\"score\":%d}",
                                     k ? "," : "", 1 + (round + k) % 5);
        body[used++] = ']';
        body[used] = '\0';
        json_t *resp = NULL;
        int status = hbt_http(h->http, "POST", "/v1/events", body, &resp);
        if (status == 200) {
            taken += per;
            json_decref(resp);
            continue;
        }
        if (status != 507)
            fail_msg("POST /v1/events while filling the disk: %d %s", status,
                     resp ? hbt_str(resp, "reason") : "(no body)");
        if (refusal)
            *refusal = resp;
        else
            json_decref(resp);
        return taken;
    }
    fail_msg("the disk never filled in %d requests", FILL_ROUNDS);
    return taken;
}

int hbt_small_disk_world_teardown(void **state)
{
    hbt_world_t *w = *state;
    for (size_t i = 0; i < w->n_halls; i++)
        hbt_hall_stop(&w->hall[i], SIGTERM);
    hbt_small_disk_release(&w->hall[0]);
    return hbt_world_teardown(state);
}
