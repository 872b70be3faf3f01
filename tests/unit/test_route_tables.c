/* Walks both daemons' route tables (branchd_routes(), hqd_routes()) as data:
 * every route declares a permission of its own daemon's vocabulary (perm.h)
 * with a scope that fits its pattern, no two routes collide, the only public
 * routes are the dashboard's files, signing in and the health check, and
 * each table registers on a real server through the daemon's own register
 * function. Access control
 * enforces what these tables declare (tests/integration/test_access_hq.c
 * walks hqd's through a running hqd); this test makes sure there is always
 * something declared to enforce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include "branchd.h"
#include "hqd.h"

#include "hallbus/error.h"
#include "hallbus/http.h"
#include "hallbus/perm.h"
#include "hallbus/router.h"

#include <stdio.h>
#include <string.h>

/* A route of a daemon ("hq" or "hall"): its method and pattern. */
typedef struct {
    const char *daemon, *method, *pattern;
} daemon_route_t;

/* The only routes that may be public. */
static const daemon_route_t s_public[] = {
    {"hq", "GET", "/"},
    {"hq", "HEAD", "/"},
    {"hq", "GET", "/:file"},
    {"hq", "HEAD", "/:file"},
    {"hq", "GET", "/i18n/:file"},
    {"hq", "HEAD", "/i18n/:file"},
    {"hq", "GET", "/v1/health"},
    {"hq", "POST", "/v1/login"},
    /* a token for a password (hallctl login): who asks proves it there */
    {"hq", "POST", "/v1/tokens"},
    /* a hall's own enrolment request: its proof is in the body (a one-time
     * code, or a rotation proved by the hall's current key) */
    {"hq", "POST", "/v1/enrolments/requests"},
    /* the hall's pages: only files, which load before a device's token is
     * sent (every call they make carries it) */
    {"hall", "GET", "/kiosk"},
    {"hall", "GET", "/counter/:counter"},
    {"hall", "GET", "/rate/:counter"},
    {"hall", "GET", "/display"},
    {"hall", "GET", "/manager"},
    {"hall", "GET", "/t/:ticket"},
    {"hall", "GET", "/pages/:file"},
    {"hall", "GET", "/pages/i18n/:file"},
    /* a ticket's status for its customer's phone (issue 13): read-only,
     * named by an unguessable reference and rate limited by its handler */
    {"hall", "GET", "/v1/public/tickets/:ref"},
    /* what the app and the website publish: the halls' opening hours */
    {"hq", "GET", "/v1/public/hours"},
};

/* The problems of `table` (the rows of daemon `daemon`: "hq" or "hall"),
 * each printed; 0 when there are none. */
static int s_walk(const char *daemon, const hb_http_route_t *table, size_t n)
{
    int problems = 0;
    hb_router_t *r = hb_router_new();
    assert_non_null(r);
    for (size_t i = 0; i < n; i++) {
        const hb_http_route_t *row = &table[i];
        const char *what = row->pattern ? row->pattern : "(no pattern)";
        const char *method = row->method ? row->method : "(any)";
        if (!hb_perm_valid(row->perm)) {
            print_error("%s route %zu, %s %s: declares no permission\n", daemon, i, method, what);
            problems++;
            continue;
        }
        const char *owner = hb_perm_daemon(row->perm);
        if (strcmp(owner, "both") != 0 && strcmp(owner, daemon) != 0) {
            print_error("%s route %s %s: permission %s belongs to %s\n", daemon, method, what,
                        hb_perm_name(row->perm), owner);
            problems++;
        }
        if (!row->fn) {
            print_error("%s route %s %s: no handler\n", daemon, method, what);
            problems++;
        }
        if (row->perm == HB_PERM_PUBLIC) {
            /* Public is for what must answer before anyone signs in: the
             * dashboard's page and files, signing in, the health check;
             * never for another API route. */
            bool allowed = false;
            for (size_t k = 0; k < sizeof s_public / sizeof s_public[0] && !allowed; k++)
                allowed = strcmp(daemon, s_public[k].daemon) == 0 && row->method &&
                          strcmp(row->method, s_public[k].method) == 0 &&
                          strcmp(what, s_public[k].pattern) == 0;
            if (!allowed) {
                print_error("%s route %s %s: public\n", daemon, method, what);
                problems++;
            }
        }
        /* The router's rules: a valid pattern, a scope that fits it, no
         * collision with an earlier row. */
        hb_route_t rt = {.method = row->method,
                         .pattern = row->pattern,
                         .perm = row->perm,
                         .scope = row->scope,
                         .scope_param = row->scope_param};
        char why[256] = "";
        int rc = hb_router_add(r, &rt, why, sizeof why);
        if (rc != 0) {
            print_error("%s route %s %s: %s (%s)\n", daemon, method, what, hb_strerror(rc), why);
            problems++;
        }
    }
    hb_router_destroy(&r);
    return problems;
}

static void s_nothing(hb_http_req_t *req, void *arg)
{
    (void)arg;
    hb_http_reply_json(req, 204, json_object());
}

#define HBT_FIXTURE NULL, NULL

/* The walk itself can fail: each kind of mistake in a table is found. */
HBT_TEST(test_walk_finds_mistakes)
{
    (void)state;
    /* Tables of one or two routes and the mistakes the walk must find
     * in them as hq's and as the hall's (-1: not walked as that daemon's).
     * Routes as {method, pattern, perm, scope, scope_param, fn}. */
    static const struct {
        const char *name;
        int as_hq, as_hall;
        hb_http_route_t routes[2]; /* the second unused when it has no pattern */
    } cases[] = {
        {"fine",
         0,
         -1,
         {{"GET", "/v1/x/:hall", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall", s_nothing}}},
        {"undeclared", 1, -1, {{.method = "GET", .pattern = "/v1/y", .fn = s_nothing}}},
        {"the other daemon's permission",
         1,
         -1,
         {{"GET", "/v1/y", HB_PERM_TICKET_ISSUE, HB_SCOPE_ALL, NULL, s_nothing}}},
        {"a public API", 1, 1, {{"GET", "/v1/y", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_nothing}}},
        /* A hall page is public at the hall only, and only to read. */
        {"a hall page", 1, 0, {{"GET", "/kiosk", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_nothing}}},
        {"a page written to",
         -1,
         1,
         {{"POST", "/kiosk", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_nothing}}},
        {"public metrics",
         -1,
         1,
         {{"GET", "/metrics", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_nothing}}},
        {"a public write",
         1,
         -1,
         {{"POST", "/v1/public/hours", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_nothing}}},
        {"the published hours",
         0,
         1,
         {{"GET", "/v1/public/hours", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_nothing}}},
        {"a pattern twice",
         1,
         -1,
         {{"GET", "/v1/y/:a", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, s_nothing},
          {"GET", "/v1/y/:b", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, s_nothing}}},
        {"a hall scope without its parameter",
         1,
         -1,
         {{"GET", "/v1/y/:a", HB_PERM_LIVE_READ, HB_SCOPE_HALL, NULL, s_nothing}}},
        {"no handler", 1, -1, {{"GET", "/v1/y", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, NULL}}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int want[2] = {cases[i].as_hq, cases[i].as_hall};
        static const char *const daemons[2] = {"hq", "hall"};
        for (int d = 0; d < 2; d++) {
            if (want[d] < 0)
                continue;
            int got = s_walk(daemons[d], cases[i].routes, cases[i].routes[1].pattern ? 2 : 1);
            if (got != want[d])
                fail_msg("%s as %s's: %d mistakes found, wanted %d", cases[i].name, daemons[d], got,
                         want[d]);
        }
    }
}

HBT_TEST(test_branchd_table)
{
    (void)state;
    size_t n = 0;
    const hb_http_route_t *t = branchd_routes(&n);
    assert_non_null(t);
    assert_true(n >= 36); /* every route of docs/API.md's branchd part */
    assert_int_equal(s_walk("hall", t, n), 0);
}

HBT_TEST(test_hqd_table)
{
    (void)state;
    size_t n = 0;
    const hb_http_route_t *t = hqd_routes(&n);
    assert_non_null(t);
    assert_true(n >= 50);
    assert_int_equal(s_walk("hq", t, n), 0);
}

/* The route of `method` `pattern` in `table`, or NULL. */
static const hb_http_route_t *s_find(const hb_http_route_t *t, size_t n, const char *method,
                                     const char *pattern)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].method && strcmp(t[i].method, method) == 0 && strcmp(t[i].pattern, pattern) == 0)
            return &t[i];
    return NULL;
}

/* What access control will be asked for, on the routes where a mistake
 * would matter most: the four eyes of campaigns, the national policy, a
 * counter terminal's own counter, the devices. */
HBT_TEST(test_declared_needs)
{
    (void)state;
    static const struct {
        bool hq;
        const char *method, *pattern;
        hb_perm_t perm;
        hb_scope_t scope;
        const char *param;
    } want[] = {
        {true, "POST", "/v1/campaigns/:campaign/approve", HB_PERM_CAMPAIGN_APPROVE,
         HB_SCOPE_CAMPAIGN, "campaign"},
        {true, "POST", "/v1/campaigns/:campaign/publish", HB_PERM_CAMPAIGN_APPROVE,
         HB_SCOPE_CAMPAIGN, "campaign"},
        {true, "POST", "/v1/campaigns/:campaign/submit", HB_PERM_CAMPAIGN_DRAFT, HB_SCOPE_CAMPAIGN,
         "campaign"},
        {true, "PUT", "/v1/policies/national", HB_PERM_POLICY_EDIT, HB_SCOPE_ALL, NULL},
        {true, "PUT", "/v1/policies/regions/:region", HB_PERM_POLICY_EDIT, HB_SCOPE_REGION,
         "region"},
        {true, "GET", "/v1/live/halls/:hall", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall"},
        {true, "GET", "/v1/stream", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL},
        {true, "PUT", "/v1/org", HB_PERM_ADMIN, HB_SCOPE_ALL, NULL},
        {true, "GET", "/v1/halls/:hall/events", HB_PERM_ARCHIVE_READ, HB_SCOPE_HALL, "hall"},
        {false, "POST", "/v1/counters/:counter/call", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER,
         "counter"},
        {false, "POST", "/v1/counters/:counter/:action", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER,
         "counter"},
        {false, "POST", "/v1/devices/:device/status", HB_PERM_DEVICE_REPORT, HB_SCOPE_DEVICE,
         "device"},
        {false, "POST", "/v1/tickets", HB_PERM_TICKET_ISSUE, HB_SCOPE_ALL, NULL},
        {false, "POST", "/v1/events", HB_PERM_EVENTS_POST, HB_SCOPE_ALL, NULL},
        {false, "GET", "/v1/hall", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL},
    };
    size_t nb, nh;
    const hb_http_route_t *b = branchd_routes(&nb), *h = hqd_routes(&nh);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const hb_http_route_t *r = want[i].hq ? s_find(h, nh, want[i].method, want[i].pattern)
                                              : s_find(b, nb, want[i].method, want[i].pattern);
        if (!r)
            fail_msg("no route %s %s", want[i].method, want[i].pattern);
        if (r->perm != want[i].perm || r->scope != want[i].scope ||
            (want[i].param ? !r->scope_param || strcmp(r->scope_param, want[i].param) != 0
                           : r->scope_param != NULL))
            fail_msg("%s %s needs %s over %s, not %s over %s", want[i].method, want[i].pattern,
                     hb_perm_name(want[i].perm), hb_scope_name(want[i].scope),
                     hb_perm_name(r->perm), hb_scope_name(r->scope));
    }
}

/* Each daemon registers its whole table on a real server with its own
 * function, as main.c does. */
HBT_TEST(test_tables_register)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    branchd_t bd;
    memset(&bd, 0, sizeof bd);
    bd.http = hb_http_new(&loop, "127.0.0.1:0", 1024);
    assert_non_null(bd.http);
    assert_int_equal(branchd_api_register(&bd), 0);
    /* Twice is a collision on every row, refused whole. */
    assert_int_equal(branchd_api_register(&bd), HB_EEXIST);
    hqd_t hq;
    memset(&hq, 0, sizeof hq);
    hq.http = hb_http_new(&loop, "127.0.0.1:0", 1024);
    assert_non_null(hq.http);
    assert_int_equal(hqd_api_register(&hq), 0);
    hb_http_destroy(&bd.http);
    hb_http_destroy(&hq.http);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}
