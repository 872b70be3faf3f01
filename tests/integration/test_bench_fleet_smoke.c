/* bench_fleet still runs, without timing anything: with 5 halls and a
 * second a phase it welcomes every hall, prints its idle, peak and restart
 * lines (the restart after its own kill -9 of hqd, every hall back and its
 * backlog acknowledged), exits 0, and leaves neither of its two hqd
 * processes behind. What the figures are is the benchmark's business,
 * never a test's. */
#include "harness.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"

#define BENCH_FLEET HB_BIN_DIR "/tools/bench_fleet"

static char s_out[65536];

/* The number after `key` in `text`, or -1. */
static long s_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Fails unless process `pid` is gone. */
static void s_assert_gone(long pid, const char *what)
{
    assert_true(pid > 1);
    for (int i = 0; i < 50 && kill((pid_t)pid, 0) == 0; i++)
        hbt_sleep_ms(100);
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
        fail_msg("%s (pid %ld) is still running after the benchmark ended", what, pid);
}

HBT_TEST_IN(test_fleet_runs_restarts_and_stops_its_hqd, NULL, NULL)
{
    (void)state;
    int rc =
        hbt_run_args(s_out, sizeof s_out, BENCH_FLEET, "--halls", "5", "--idle", "1", "--peak", "1",
                     "--rate", "50", "--down", "200", "--drain", "30", "--connect", "30", NULL);
    if (rc != 0)
        fail_msg("bench_fleet exited %d: %s", rc, s_out);
    hbt_assert_contains_all(s_out, "connect: 5 of 5 halls welcomed", "idle: hqd RSS ",
                            "peak: asked 50 events/s over 5 halls", "ack p50 ",
                            "restart: 5 of 5 halls heard from HQ again", "5 backlogs acknowledged",
                            "per second after the restart:", NULL);
    s_assert_gone(s_after(s_out, "(pid "), "the first hqd");
    s_assert_gone(s_after(s_out, "restart: hqd (pid "), "the restarted hqd");
}
