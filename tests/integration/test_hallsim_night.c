/* hallsim's night against a real branchd: a simulated day is played in
 * drive mode at a high speed factor, and once its hall has closed (every
 * counter closed: the hall's own counters_open falls to 0) the next day's
 * staff open counters again within seconds of real time, not after the
 * night's simulated hours (16 at the quick start's 60x are 16 minutes).
 * hallsim says how much of the evening and night it skipped. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallbus/httpc.h"
#include "runner.h"
#include "world.h"

#define HALLSIM HB_BIN_DIR "/tools/hallsim"
/* A simulated 8-hour day in 12 s: what is measured is the night, in real
 * time, so a faster day only shortens the wait for it (CI runs this twice). */
#define SPEED "2400"
#define NIGHT_MAX_MS 8000

static const hbt_world_spec_t s_world = {.tag = "simnight",
                                         .halls = {"SIM1", "SIM2", "SIM3", "SIM4", "SIM5", "SIM6"},
                                         .engine = true,
                                         .start = true};
#define HALLS 6
#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

static double s_metric(const hbt_hall_t *h, const char *name)
{
    hb_httpc_resp_t resp;
    if (hbt_http_raw(h->http, "GET", "/metrics", NULL, &resp) != 0)
        return -1;
    double v = resp.status == 200 ? hbt_sample(resp.body, name) : -1;
    hb_httpc_resp_free(&resp);
    return v;
}

/* Counters open in every hall together; -1 when one does not answer. */
static double s_open(const hbt_world_t *w)
{
    double sum = 0;
    for (int i = 0; i < HALLS; i++) {
        double v = s_metric(&w->hall[i], "hallbus_hall_counters_open");
        if (v < 0)
            return -1;
        sum += v;
    }
    return sum;
}

static double s_seq(const hbt_world_t *w)
{
    double sum = 0;
    for (int i = 0; i < HALLS; i++)
        sum += s_metric(&w->hall[i], "hallbus_hall_outbox_last_seq");
    return sum;
}

/* hallsim's account of the first night, "...; the night took 1.2 s (...)":
 * its seconds, or -1 while it has not said it. */
static double s_night_s(const char *path)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    const char *p = strstr(buf, "the night took ");
    return p ? strtod(p + strlen("the night took "), NULL) : -1;
}

HBT_TEST(test_night_takes_seconds)
{
    hbt_world_t *w = *state;
    char log[400];
    snprintf(log, sizeof log, "%s/hallsim.log", w->root);
    /* The quick start's six halls, its drive mode and seed, forty times as fast. */
    char *argv[2 * HALLS + 16] = {HALLSIM};
    int n = 1;
    for (int i = 0; i < HALLS; i++) {
        argv[n++] = "--hall";
        argv[n++] = w->hall[i].http;
    }
    static char *const rest[] = {"--mode", "drive", "--speed", SPEED, "--days", "2", "--seed", "1"};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
        argv[n++] = rest[i];
    argv[n] = NULL;
    hbt_proc_t sim;
    hbt_spawn(&sim, log, argv);
    /* Day 1: counters open, and the time no counter is open anywhere is
     * measured until day 2's first counter opens. */
    int64_t start = hbt_now_ms(), opened = 0, closed = 0, longest = 0;
    double night = -1;
    while (hbt_now_ms() - start < 240000 && night < 0) {
        double open = s_open(w);
        int64_t now = hbt_now_ms();
        if (!opened && open > 0)
            opened = now;
        if (opened && open == 0 && !closed)
            closed = now;
        if (closed && open > 0) {
            longest = now - closed > longest ? now - closed : longest;
            closed = 0;
        }
        night = s_night_s(log);
        hbt_sleep_ms(50);
    }
    print_message("hallsim: the night took %.1f s; no counter open anywhere for %.1f s at most "
                  "before it\n",
                  night, (double)longest / 1e3);
    assert_true(opened > 0);
    assert_true(night >= 0);
    assert_true(night * 1000 < NIGHT_MAX_MS);
    /* Busy again within seconds: day 2's counters open in every hall and
     * customers take tickets. */
    double seq = s_seq(w);
    int64_t t0 = hbt_now_ms();
    bool all_open = false;
    while (hbt_now_ms() - t0 < NIGHT_MAX_MS && !(all_open && s_seq(w) >= seq + 6 * HALLS)) {
        all_open = true;
        for (int i = 0; i < HALLS; i++)
            all_open = all_open && s_metric(&w->hall[i], "hallbus_hall_counters_open") > 0;
        hbt_sleep_ms(50);
    }
    print_message("every hall busy again %.1f s after the night's end\n",
                  (double)(hbt_now_ms() - t0) / 1e3);
    assert_true(all_open);
    assert_true(s_seq(w) >= seq + 6 * HALLS);
    hbt_kill(&sim, SIGTERM);
}
