/* The hall engine's test fixture (see enginefx.h). */
#include "enginefx.h"

#include "hallbus/policy.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include "events.h"
#include "runner.h"

static void s_on_append(void *arg) { ((hbt_enginefx_t *)arg)->appended++; }

void *hbt_enginefx_new(size_t size, const char *tag, const char *services, uint32_t max_waiting,
                       int64_t (*clock)(void), const char *policy)
{
    assert_true(size >= sizeof(hbt_enginefx_t));
    hbt_enginefx_t *fx = hbt_fixture_new(size, tag);
    char err[256];
    if (engine_parse_services(services, &fx->cfg, err, sizeof err) != 0)
        fail_msg("services refused: %s", err);
    queue_rules_default(&fx->cfg.rules);
    fx->cfg.max_waiting = max_waiting;
    fx->cfg.snapshot_every_ms = 3600000;
    fx->policy = policy;
    hb_clock_set(clock);
    return fx;
}

void hbt_enginefx_open(hbt_enginefx_t *fx, size_t map, size_t map_max)
{
    assert_int_equal(outbox_open(fx->dir, map, map_max, &fx->ob), 0);
    hb_policy_t *p = hbt_policy(fx->policy);
    char err[512];
    if (engine_open(fx->ob, &fx->cfg, p, s_on_append, fx, &fx->e, err, sizeof err) != 0)
        fail_msg("engine_open: %s", err);
}

void hbt_enginefx_close(hbt_enginefx_t *fx)
{
    engine_close(&fx->e);
    outbox_close(&fx->ob);
}

void hbt_enginefx_free(hbt_enginefx_t *fx)
{
    hbt_enginefx_close(fx);
    hb_clock_set(NULL);
    hbt_fixture_free(fx);
}
