/* The fixture of the hall engine's unit tests (test_engine,
 * test_engine_group, test_appointments): a real outbox in a fresh folder,
 * the engine on it with the test's services and a policy given as JSON
 * text, and the test's own clock. Not for what a test checks: the tests
 * assert what they mean themselves. */
#ifndef HB_TEST_ENGINEFX_H
#define HB_TEST_ENGINEFX_H

#include "engine.h"

#include "harness.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hbt_enginefx {
    char dir[HBT_FIXTURE_DIR]; /* first: the folder of hbt_fixture_new */
    outbox_t *ob;
    engine_t *e;
    engine_config_t cfg;
    const char *policy; /* the JSON text every open reads */
    int appended;       /* the engine's on_append calls */
} hbt_enginefx_t;

/* A test file's fixture of `size` bytes whose first member is an
 * hbt_enginefx_t, in a fresh folder (`tag`): the services `services`
 * (engine_parse_services), the default queue rules, at most `max_waiting`
 * waiting, a snapshot every hour, the engine's clock `clock` (hb_clock_set)
 * and `policy` kept for every open. Nothing is open yet. */
void *hbt_enginefx_new(size_t size, const char *tag, const char *services, uint32_t max_waiting,
                       int64_t (*clock)(void), const char *policy);
/* Opens the outbox (a map of `map` bytes growing to `map_max`) and the
 * engine on it; either refusing fails the test. */
void hbt_enginefx_open(hbt_enginefx_t *fx, size_t map, size_t map_max);
/* Closes the engine (its final snapshot) and the outbox. */
void hbt_enginefx_close(hbt_enginefx_t *fx);
/* The teardown: closed, the clock the system's again, the folder removed
 * and the fixture freed. */
void hbt_enginefx_free(hbt_enginefx_t *fx);

#endif
