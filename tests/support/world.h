/* The system an integration test runs against, set up and torn down once
 * for all of them: a fresh folder, a real hqd (with the test's extra
 * arguments), and halls enrolled, given the always-open engine and started
 * as the test asks. A test file names its world in one table and uses the
 * fixture:
 *
 *   static const hbt_world_spec_t s_world = {"link", .halls = {"HALL-A", "HALL-B"}};
 *   #define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world
 *
 * and finds it in *state (halls in the order named). Not for what a test
 * does with its world: the harness (harness.h) has the requests and waits. */
#ifndef HB_TEST_WORLD_H
#define HB_TEST_WORLD_H

#include "harness.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define HBT_WORLD_HALLS 32
#define HBT_WORLD_ARGS 8

typedef struct hbt_world_spec {
    const char *tag;                    /* the folder's name under /tmp */
    const char *halls[HBT_WORLD_HALLS]; /* ids to enrol, in order; NULL ends */
    const char *numbered;               /* or: ids of this prefix and two digits, 1..n */
    int n_numbered;
    const char *hq_args[HBT_WORLD_ARGS];   /* extra hqd arguments; NULL ends */
    const char *hall_args[HBT_WORLD_ARGS]; /* extra branchd arguments, every hall */
    bool engine;                           /* each hall runs HBT_POLICY_ALWAYS_OPEN */
    bool start;                            /* each hall is started */
    bool hq_stopped;                       /* hqd is left for the test to start */
} hbt_world_spec_t;

typedef struct hbt_world {
    char root[256];
    hbt_hq_t hq;
    hbt_hall_t hall[HBT_WORLD_HALLS]; /* enrolled, as the spec named them */
    size_t n_halls;
    void *test; /* the test's own state, if it keeps one */
} hbt_world_t;

/* A smaller organisation's start, CN -> P1 North -> C1 Harbour: it goes on
 * with more regions (",{...}") or "]" and its own ",\"halls\":[...]}". */
#define HBT_REGIONS_HARBOUR                                                                        \
    "{\"regions\":[{\"id\":\"CN\",\"name\":\"HQ\",\"level\":\"national\"},"                        \
    "{\"id\":\"P1\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"                 \
    "{\"id\":\"C1\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P1\"}"

/* The regions the integration tests of HQ's control plane share, CN ->
 * P01 (C001 Harbour City, C002 Hill Town), P02 (C003 Bay): the start of an
 * organisation document, which goes on with its own " \"halls\": [...]}". */
#define HBT_WORLD_REGIONS                                                                          \
    "{\"regions\": ["                                                                              \
    " {\"id\": \"CN\", \"name\": \"Head office\", \"level\": \"national\"},"                       \
    " {\"id\": \"P01\", \"name\": \"North\", \"level\": \"province\", \"parent\": \"CN\"},"        \
    " {\"id\": \"P02\", \"name\": \"South\", \"level\": \"province\", \"parent\": \"CN\"},"        \
    " {\"id\": \"C001\", \"name\": \"Harbour City\", \"level\": \"city\", \"parent\": \"P01\"},"   \
    " {\"id\": \"C002\", \"name\": \"Hill Town\", \"level\": \"city\", \"parent\": \"P01\"},"      \
    " {\"id\": \"C003\", \"name\": \"Bay\", \"level\": \"city\", \"parent\": \"P02\"}],"

/* cmocka fixtures: *state holds the spec on the way in, the world after;
 * the teardown stops every hall and hqd and removes the folder. */
int hbt_world_setup(void **state);
int hbt_world_teardown(void **state);

/* A test's own state, `size` bytes zeroed, whose first member is its
 * world (an hbt_world_t *) set up from `spec` by hbt_world_setup; the
 * world's `test` points back at the state. For the tests that keep more
 * than the world (test_access_hall, test_access_hq, test_trends_api,
 * browser/test_trends). */
void *hbt_world_state_new(const hbt_world_spec_t *spec, size_t size);
/* The teardown that goes with it (a cmocka fixture): the world torn down
 * (hbt_world_teardown) and the state freed. */
int hbt_world_state_teardown(void **state);

/* One request to `base` that must answer `want`; its JSON body (owned).
 * Fails the test with the answer otherwise. */
json_t *hbt_req(const char *base, const char *method, const char *path, const char *body, int want);
/* The same, the body (JSON or none) dropped. */
void hbt_req_ok(const char *base, const char *method, const char *path, const char *body, int want);
/* One request as the holder of `token` that must answer `want`; its JSON
 * body (owned), or NULL when it had none. */
json_t *hbt_req_as(const char *base, const char *token, const char *method, const char *path,
                   const char *body, int want);
/* A refusal: `status`, the error `code` and a reason that contains `want`. */
void hbt_refused(const char *base, const char *method, const char *path, const char *body,
                 int status, const char *code, const char *want);
/* One expected refusal, hbt_refused's arguments after `base`: the rows of
 * a table of refusals that one call checks in order. */
typedef struct hbt_refusal {
    const char *method, *path, *body;
    int status;
    const char *code, *want;
} hbt_refusal_t;
void hbt_refused_rows(const char *base, const hbt_refusal_t *rows, size_t n);
/* hbt_refused_rows over a whole array. */
#define HBT_REFUSED_ALL(base, rows) hbt_refused_rows(base, rows, sizeof rows / sizeof rows[0])
/* A member string of `o`, or "" when it has none. */
const char *hbt_str(const json_t *o, const char *name);

/* The first element of the array member `member` of the JSON that a GET
 * of `path` answers (owned), or NULL when there is none. */
json_t *hbt_get_first(const char *base, const char *path, const char *member);

/* The first open alert of `kind` for hall `hall` at HQ `base` (owned),
 * asked for every 100 ms for up to `timeout_ms` (once when 0); NULL when
 * none is open by then. */
json_t *hbt_wait_alert(const char *base, const char *hall, const char *kind, int timeout_ms);
/* Whether no alert of `kind` for `hall` is open any longer, asked for every
 * 100 ms for up to `timeout_ms`. */
bool hbt_wait_alert_cleared(const char *base, const char *hall, const char *kind, int timeout_ms);

/* The first object of the array `arr` whose member `name` is the string
 * `value` (borrowed), or NULL. */
json_t *hbt_find(const json_t *arr, const char *name, const char *value);

/* Fails the test unless each member of `o` named in the pairs that follow
 * (name, value, ..., NULL) is that string; the message names the member. */
void hbt_assert_strs(const json_t *o, ...);

/* Starts `hall` of `w` with a time-zone folder that holds no zone (UTC is
 * built in): a hall whose tzdata is older than HQ's, whose applier refuses
 * a policy naming any zone. The environment is read when branchd starts,
 * so TZDIR is set around this start only. */
void hbt_hall_start_zoneless(hbt_world_t *w, hbt_hall_t *hall);

/* PUTs the organisation `org` (when not NULL) and the national policy
 * `national` at the hqd of `base`, and publishes them (each must answer
 * 200). */
void hbt_publish(const char *base, const char *org, const char *national);

/* Every hall of `w` runs `policy` (JSON text; the default services) and
 * starts, side by side (hbt_halls_start): for a world whose halls wait,
 * unstarted, for the policy the test publishes first (test_hall_figures,
 * test_backup, test_trends_api). */
void hbt_world_start_halls(hbt_world_t *w, const char *policy);

/* The alert tests' national policy: open round the clock, an A ticket may
 * wait 2 s, more than 2 waiting asks for diversion. */
#define HBT_POLICY_QUICK_ALERTS                                                                    \
    HBT_POLICY_OPEN_AND "\"sla\":{\"max_wait_s\":{\"A:*\":2}},\"diversion\":{\"threshold\":2}}"

#endif
