/* Tests for the pattern router (router.c) and the permission vocabulary
 * (perm.c), without a socket: matching, precedence, decoding and bounds of
 * parameters, 404/405, trailing slashes, and every refusal of a route at
 * registration, the missing permission first. The server's use of them
 * (status codes, the Allow header, the guard) is in test_http.c; the
 * daemons' tables are walked in test_route_tables.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include "hallbus/error.h"
#include "hallbus/perm.h"
#include "hallbus/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A route needing `perm` everywhere. */
static hb_route_t s_route(const char *method, const char *pattern)
{
    return (hb_route_t){.method = method, .pattern = pattern, .perm = HB_PERM_HALL_READ};
}

static void s_add(hb_router_t *r, const char *method, const char *pattern)
{
    hb_route_t rt = s_route(method, pattern);
    char why[256];
    int rc = hb_router_add(r, &rt, why, sizeof why);
    if (rc != 0)
        fail_msg("%s %s refused: %s (%s)", method ? method : "*", pattern, hb_strerror(rc), why);
}

/* A new router with the routes `lines` lists, each "METHOD /pattern" ("*"
 * for every method), up to a NULL. */
static hb_router_t *s_router(const char *const *lines)
{
    hb_router_t *r = hb_router_new();
    assert_non_null(r);
    for (size_t i = 0; lines[i]; i++) {
        const char *sp = strchr(lines[i], ' ');
        assert_non_null(sp);
        char method[16];
        assert_true((size_t)(sp - lines[i]) < sizeof method);
        snprintf(method, sizeof method, "%.*s", (int)(sp - lines[i]), lines[i]);
        s_add(r, strcmp(method, "*") == 0 ? NULL : method, sp + 1);
    }
    return r;
}

/* Matches and returns the matched route's pattern, or NULL. */
static const char *s_match(const hb_router_t *r, const char *method, const char *path,
                           hb_router_match_t *m)
{
    if (hb_router_match(r, method, path, strlen(path), m) != HB_ROUTE_FOUND)
        return NULL;
    return hb_router_route(r, m->route)->pattern;
}

static hb_router_match_t *s_m(void)
{
    /* Big (a path's worth of decoded bytes): one static record serves each
     * test in turn. */
    static hb_router_match_t m;
    memset(&m, 0, sizeof m);
    return &m;
}

/* ------------------------------------------------------------ matching */

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_literal_beats_parameter)
{
    (void)state;
    /* Added in both orders: precedence must not depend on it. */
    for (int order = 0; order < 2; order++) {
        hb_router_t *r = hb_router_new();
        assert_non_null(r);
        const char *pats[] = {"/v1/counters/:counter/:action",
                              "/v1/counters/:counter/open",
                              "/a/:x/c",
                              "/a/b/:y",
                              "/a/:x/:z",
                              "/v1/campaigns/active",
                              "/v1/campaigns/:campaign"};
        size_t n = sizeof pats / sizeof pats[0];
        for (size_t i = 0; i < n; i++)
            s_add(r, "POST", pats[order ? n - 1 - i : i]);
        hb_router_match_t *m = s_m();
        assert_string_equal(s_match(r, "POST", "/v1/counters/7/open", m),
                            "/v1/counters/:counter/open");
        assert_string_equal(hb_router_param(m, "counter"), "7");
        assert_null(hb_router_param(m, "action"));
        assert_string_equal(s_match(r, "POST", "/v1/counters/7/frob", m),
                            "/v1/counters/:counter/:action");
        assert_string_equal(hb_router_param(m, "action"), "frob");
        assert_int_equal(m->nparams, 2);
        /* The first segment where they differ decides: "b" is a literal in
         * the second pattern before "c" is in the first. */
        assert_string_equal(s_match(r, "POST", "/a/b/c", m), "/a/b/:y");
        assert_string_equal(hb_router_param(m, "y"), "c");
        assert_string_equal(s_match(r, "POST", "/a/q/c", m), "/a/:x/c");
        assert_string_equal(s_match(r, "POST", "/a/q/r", m), "/a/:x/:z");
        assert_string_equal(s_match(r, "POST", "/v1/campaigns/active", m), "/v1/campaigns/active");
        assert_string_equal(s_match(r, "POST", "/v1/campaigns/activeX", m),
                            "/v1/campaigns/:campaign");
        hb_router_destroy(&r);
        assert_null(r);
    }
}

HBT_TEST(test_segments_are_exact)
{
    (void)state;
    hb_router_t *r = s_router((const char *const[]){"GET /v1/halls", "GET /v1/halls/:hall",
                                                    "GET /v1/halls/:hall/events", "GET /", NULL});
    hb_router_match_t *m = s_m();
    assert_string_equal(s_match(r, "GET", "/v1/halls", m), "/v1/halls");
    assert_string_equal(s_match(r, "GET", "/", m), "/");
    assert_int_equal(m->nparams, 0);
    /* No prefix matching: more, fewer or longer segments match nothing. */
    const char *none[] = {"/v1/hallsX",           "/v1/hall",  "/v1", "/v1/halls/H1/events/x",
                          "/v1/halls/H1/eventsX", "/v2/halls", "/x",  "/v1//halls"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        if (hb_router_match(r, "GET", none[i], strlen(none[i]), m) != HB_ROUTE_NOT_FOUND)
            fail_msg("%s matched", none[i]);
    }
    /* More segments than any pattern can have. */
    char deep[128] = "";
    for (int i = 0; i < HB_ROUTER_SEGMENTS_MAX + 1; i++)
        strcat(deep, "/s");
    assert_int_equal(hb_router_match(r, "GET", deep, strlen(deep), m), HB_ROUTE_NOT_FOUND);
    /* A path that is not one. */
    assert_int_equal(hb_router_match(r, "GET", "v1/halls", 8, m), HB_ROUTE_NOT_FOUND);
    assert_int_equal(hb_router_match(r, "GET", "", 0, m), HB_ROUTE_NOT_FOUND);
    assert_int_equal(hb_router_match(r, "GET", "/v1/halls/%G1", 13, m), HB_ROUTE_NOT_FOUND);
    assert_int_equal(hb_router_match(r, "GET", "/v1/halls/a%00", 14, m), HB_ROUTE_NOT_FOUND);
    /* Only `len` bytes are the path (the query is not). */
    assert_int_equal(hb_router_match(r, "GET", "/v1/halls?x=1", 9, m), HB_ROUTE_FOUND);
    hb_router_destroy(&r);
}

/* The rule the daemons' docs state: a trailing slash is a segment of its
 * own, empty, and no route takes it. */
HBT_TEST(test_trailing_slash)
{
    (void)state;
    hb_router_t *r = s_router((const char *const[]){"GET /v1/halls", "GET /v1/halls/:hall", NULL});
    hb_router_match_t *m = s_m();
    assert_int_equal(hb_router_match(r, "GET", "/v1/halls/", 10, m), HB_ROUTE_NOT_FOUND);
    /* The 404 can say which route the caller probably meant. */
    assert_string_equal(m->hint, "/v1/halls");
    assert_int_equal(hb_router_match(r, "GET", "/v1/halls/H1/", 13, m), HB_ROUTE_NOT_FOUND);
    /* Only a route ending in a literal is named ("/v1/halls/:hall takes no
     * id" would say nothing). */
    assert_null(m->hint);
    assert_int_equal(hb_router_match(r, "GET", "/v1/halls/H1/x", 14, m), HB_ROUTE_NOT_FOUND);
    assert_null(m->hint);
    assert_int_equal(hb_router_match(r, "GET", "/v1/halls/x/y/z", 15, m), HB_ROUTE_NOT_FOUND);
    assert_null(m->hint);
    hb_router_destroy(&r);
}

HBT_TEST(test_method_not_allowed)
{
    (void)state;
    hb_router_t *r = s_router((const char *const[]){
        "GET /v1/org", "PUT /v1/org", "GET /v1/items/:id", "DELETE /v1/items/:id",
        "GET /v1/items/special", "POST /v1/items/:id/:action", "GET /v1/items/:id/:action",
        "POST /v1/items/:id/ack", "* /v1/any", NULL});
    hb_router_match_t *m = s_m();
    assert_int_equal(hb_router_match(r, "DELETE", "/v1/org", 7, m), HB_ROUTE_NO_METHOD);
    assert_string_equal(m->allow, "GET, PUT");
    /* HEAD is not GET. */
    assert_int_equal(hb_router_match(r, "HEAD", "/v1/org", 7, m), HB_ROUTE_NO_METHOD);
    /* Every pattern the path matches adds its method, each once. */
    assert_int_equal(hb_router_match(r, "PUT", "/v1/items/special", 17, m), HB_ROUTE_NO_METHOD);
    assert_string_equal(m->allow, "GET, DELETE");
    /* A method the literal does not take falls to the parameter that does:
     * a GET of an action reaches the GET row, which answers for itself. */
    assert_string_equal(s_match(r, "GET", "/v1/items/K1/ack", m), "/v1/items/:id/:action");
    assert_string_equal(hb_router_param(m, "action"), "ack");
    assert_string_equal(s_match(r, "POST", "/v1/items/K1/ack", m), "/v1/items/:id/ack");
    assert_string_equal(s_match(r, "DELETE", "/v1/items/special", m), "/v1/items/:id");
    /* A route for every method. */
    assert_string_equal(s_match(r, "BREW", "/v1/any", m), "/v1/any");
    /* Methods are compared as they are. */
    assert_int_equal(hb_router_match(r, "get", "/v1/org", 7, m), HB_ROUTE_NO_METHOD);
    hb_router_destroy(&r);
}

/* --------------------------------------------------------- parameters */

HBT_TEST(test_parameters_decoded)
{
    (void)state;
    hb_router_t *r =
        s_router((const char *const[]){"GET /v1/halls/:hall", "GET /v1/halls/:hall/events",
                                       "GET /v1/regions/:region/halls/:hall", NULL});
    hb_router_match_t *m = s_m();
    assert_non_null(s_match(r, "GET", "/v1/halls/H%201", m));
    assert_string_equal(hb_router_param(m, "hall"), "H 1");
    /* '+' is not a space in a path. */
    assert_non_null(s_match(r, "GET", "/v1/halls/H+1", m));
    assert_string_equal(hb_router_param(m, "hall"), "H+1");
    /* An encoded '/' stays in its segment: the path is split first. */
    assert_string_equal(s_match(r, "GET", "/v1/halls/a%2Fevents", m), "/v1/halls/:hall");
    assert_string_equal(hb_router_param(m, "hall"), "a/events");
    /* Literals are matched decoded. */
    assert_string_equal(s_match(r, "GET", "/v1/%68alls/H1/%65vents", m), "/v1/halls/:hall/events");
    assert_non_null(s_match(r, "GET", "/v1/halls/Z%C3%BCrich", m));
    assert_string_equal(hb_router_param(m, "hall"), "Z\xc3\xbcrich");
    assert_non_null(s_match(r, "GET", "/v1/regions/C001/halls/H7", m));
    assert_string_equal(hb_router_param(m, "region"), "C001");
    assert_string_equal(hb_router_param(m, "hall"), "H7");
    assert_null(hb_router_param(m, "HALL"));
    assert_null(hb_router_param(m, NULL));
    assert_null(hb_router_param(NULL, "hall"));
    hb_router_destroy(&r);
}

/* Repeats `unit` until `bytes` decoded bytes, after "/v1/halls/". */
static void s_long_path(char *out, size_t cap, const char *unit, size_t unit_bytes, size_t bytes)
{
    snprintf(out, cap, "/v1/halls/");
    for (size_t got = 0; got < bytes; got += unit_bytes)
        strncat(out, unit, cap - strlen(out) - 1);
}

HBT_TEST(test_parameter_bounds)
{
    (void)state;
    hb_router_t *r = s_router((const char *const[]){"GET /v1/halls/:hall", NULL});
    hb_router_match_t *m = s_m();
    char path[4096];
    /* Exactly the bound: taken. */
    s_long_path(path, sizeof path, "x", 1, HB_HTTP_PARAM_MAX);
    assert_non_null(s_match(r, "GET", path, m));
    assert_int_equal(strlen(hb_router_param(m, "hall")), HB_HTTP_PARAM_MAX);
    /* One byte more: refused, naming the parameter. */
    s_long_path(path, sizeof path, "x", 1, HB_HTTP_PARAM_MAX + 1);
    assert_int_equal(hb_router_match(r, "GET", path, strlen(path), m), HB_ROUTE_BAD_PARAM);
    assert_string_equal(m->bad_param, "hall");
    assert_string_equal(m->bad_why, "is longer than 256 bytes");
    assert_null(hb_router_param(m, "hall")); /* nothing is handed on */
    /* The bound counts decoded bytes: 86 euro signs are 258. */
    s_long_path(path, sizeof path, "%E2%82%AC", 3, 258);
    assert_int_equal(hb_router_match(r, "GET", path, strlen(path), m), HB_ROUTE_BAD_PARAM);
    assert_string_equal(m->bad_why, "is longer than 256 bytes");
    s_long_path(path, sizeof path, "%E2%82%AC", 3, 255);
    assert_int_equal(hb_router_match(r, "GET", path, strlen(path), m), HB_ROUTE_FOUND);
    /* Not UTF-8 once decoded. */
    const char *bad[] = {"/v1/halls/%FF",       "/v1/halls/a%C3",         "/v1/halls/%C0%AF",
                         "/v1/halls/%ED%A0%80", "/v1/halls/%F4%90%80%80", "/v1/halls/\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hb_router_match(r, "GET", bad[i], strlen(bad[i]), m) != HB_ROUTE_BAD_PARAM)
            fail_msg("%s was not refused", bad[i]);
        assert_string_equal(m->bad_param, "hall");
        assert_string_equal(m->bad_why, "is not valid UTF-8");
    }
    /* A literal never matches such a segment, so the path is a 404. */
    s_add(r, "GET", "/v1/x");
    assert_int_equal(hb_router_match(r, "GET", "/v1/%FF", 7, m), HB_ROUTE_NOT_FOUND);
    hb_router_destroy(&r);
}

/* ------------------------------------------------------- registration */

HBT_TEST(test_permission_required)
{
    (void)state;
    hb_router_t *r = hb_router_new();
    char why[256];
    /* Routes as {method, pattern, perm, scope, scope_param}. */
    struct {
        hb_route_t route;
        const char *why;
    } refused[] = {
        /* No permission: a designated initialiser that forgets it. */
        {{.method = "GET", .pattern = "/v1/a"}, "declares no permission"},
        {{.method = "GET", .pattern = "/v1/a", .perm = HB_PERM_COUNT}, "declares no permission"},
        {{.method = "GET", .pattern = "/v1/a", .perm = (hb_perm_t)-1}, "declares no permission"},
        /* A scope outside the table. */
        {{"GET", "/v1/a", HB_PERM_LIVE_READ, HB_SCOPE_COUNT, NULL}, "scope outside"},
        /* A scope that names an object without the parameter holding it. */
        {{"GET", "/v1/halls/:hall", HB_PERM_LIVE_READ, HB_SCOPE_HALL, NULL}, "needs scope_param"},
        {{"GET", "/v1/halls/:hall", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "id"}, "needs scope_param"},
        {{"GET", "/v1/halls/hall", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall"}, "needs scope_param"},
        /* A parameter given to a scope that takes none. */
        {{"GET", "/v1/halls/:hall", HB_PERM_LIVE_READ, HB_SCOPE_ANY, "hall"}, "takes no parameter"},
        /* Public is public everywhere. */
        {{"GET", "/v1/halls/:hall", HB_PERM_PUBLIC, HB_SCOPE_HALL, "hall"}, "is public"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int rc = hb_router_add(r, &refused[i].route, why, sizeof why);
        if (rc != HB_EINVAL || !strstr(why, refused[i].why))
            fail_msg("case %zu: %s (%s), wanted EINVAL naming '%s'", i, hb_strerror(rc), why,
                     refused[i].why);
    }
    assert_int_equal(hb_router_count(r), 0);
    /* What is declared is kept, its strings the router's own. */
    char pattern[] = "/v1/halls/:hall/state";
    char param[] = "hall";
    hb_route_t ok = {.method = "GET",
                     .pattern = pattern,
                     .perm = HB_PERM_LIVE_READ,
                     .scope = HB_SCOPE_HALL,
                     .scope_param = param};
    assert_int_equal(hb_router_add(r, &ok, why, sizeof why), 0);
    memset(pattern, 'x', sizeof pattern - 1);
    memset(param, 'x', sizeof param - 1);
    const hb_route_t *got = hb_router_route(r, 0);
    assert_non_null(got);
    assert_string_equal(got->method, "GET");
    assert_string_equal(got->pattern, "/v1/halls/:hall/state");
    assert_int_equal(got->perm, HB_PERM_LIVE_READ);
    assert_int_equal(got->scope, HB_SCOPE_HALL);
    assert_string_equal(got->scope_param, "hall");
    assert_null(hb_router_route(r, 1));
    hb_route_t any = {.pattern = "/v1/x", .perm = HB_PERM_PUBLIC};
    assert_int_equal(hb_router_add(r, &any, NULL, 0), 0);
    assert_null(hb_router_route(r, 1)->method);
    assert_null(hb_router_route(r, 1)->scope_param);
    hb_router_destroy(&r);
}

HBT_TEST(test_bad_patterns)
{
    (void)state;
    hb_router_t *r = hb_router_new();
    char long_pattern[300];
    memset(long_pattern, 'a', sizeof long_pattern - 1);
    long_pattern[0] = '/';
    long_pattern[sizeof long_pattern - 1] = '\0';
    char deep[128] = "";
    for (int i = 0; i < HB_ROUTER_SEGMENTS_MAX + 1; i++)
        strcat(deep, "/s");
    const char *bad[] = {"v1/halls",   "",
                         "/v1/halls/", "/v1//halls",
                         "//",         "/v1/:",
                         "/v1/:Hall",  "/v1/:hall-id",
                         "/v1/:a/:a",  "/v1/ha%20lls",
                         "/v1/ha lls", "/v1/..",
                         "/v1/.",      "/v1/:abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
                         long_pattern, deep};
    char why[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hb_route_t rt = s_route("GET", bad[i]);
        if (hb_router_add(r, &rt, why, sizeof why) != HB_EINVAL)
            fail_msg("pattern '%s' was taken", bad[i]);
        assert_true(why[0] != '\0');
    }
    const char *bad_methods[] = {"", "get", "GET ", "VERYLONGMETHODXX"};
    for (size_t i = 0; i < sizeof bad_methods / sizeof bad_methods[0]; i++) {
        hb_route_t rt = s_route(bad_methods[i], "/v1/x");
        if (hb_router_add(r, &rt, why, sizeof why) != HB_EINVAL)
            fail_msg("method '%s' was taken", bad_methods[i]);
    }
    hb_route_t nopat = s_route("GET", NULL);
    assert_int_equal(hb_router_add(r, &nopat, why, sizeof why), HB_EINVAL);
    assert_int_equal(hb_router_add(r, NULL, why, sizeof why), HB_EINVAL);
    assert_int_equal(hb_router_add(NULL, &nopat, NULL, 0), HB_EINVAL);
    assert_int_equal(hb_router_count(r), 0);
    /* What the rules do take. */
    s_add(r, "GET", "/v1/tickets/:ticket/no-show");
    s_add(r, "GET", "/v1/a.b_c~d/:p_1");
    char sixteen[128] = "";
    for (int i = 0; i < HB_ROUTER_SEGMENTS_MAX; i++)
        strcat(sixteen, "/s");
    s_add(r, "GET", sixteen);
    hb_router_destroy(&r);
}

HBT_TEST(test_duplicates_refused)
{
    (void)state;
    hb_router_t *r = s_router((const char *const[]){
        "GET /v1/halls/:hall", "PUT /v1/halls/:id", /* another method: fine, whatever its names */
        "GET /v1/halls/:hall/events",
        "GET /v1/halls/x/events", /* a literal where the other has a parameter */
        "* /v1/any", NULL});
    char why[256];
    struct {
        const char *method, *pattern;
    } dup[] = {{"GET", "/v1/halls/:hall"}, {"GET", "/v1/halls/:other"},
               {NULL, "/v1/halls/:hall"},  {"GET", "/v1/halls/:h/events"},
               {"GET", "/v1/any"},         {NULL, "/v1/any"}};
    for (size_t i = 0; i < sizeof dup / sizeof dup[0]; i++) {
        hb_route_t rt = s_route(dup[i].method, dup[i].pattern);
        if (hb_router_add(r, &rt, why, sizeof why) != HB_EEXIST)
            fail_msg("%s %s was taken twice", dup[i].method, dup[i].pattern);
        assert_non_null(strstr(why, "is there already"));
    }
    assert_int_equal(hb_router_count(r), 5);
    hb_router_destroy(&r);
}

HBT_TEST(test_capacity_and_truncate)
{
    (void)state;
    hb_router_t *r = hb_router_new();
    char p[32];
    for (int i = 0; i < HB_ROUTER_ROUTES_MAX; i++) {
        snprintf(p, sizeof p, "/r%d", i);
        s_add(r, "GET", p);
    }
    hb_route_t more = s_route("GET", "/more");
    assert_int_equal(hb_router_add(r, &more, NULL, 0), HB_ETOOBIG);
    /* The last route is found as quickly as the first. */
    hb_router_match_t *m = s_m();
    snprintf(p, sizeof p, "/r%d", HB_ROUTER_ROUTES_MAX - 1);
    assert_string_equal(s_match(r, "GET", p, m), p);
    hb_router_truncate(r, 10);
    assert_int_equal(hb_router_count(r), 10);
    assert_int_equal(hb_router_match(r, "GET", p, strlen(p), m), HB_ROUTE_NOT_FOUND);
    assert_int_equal(hb_router_add(r, &more, NULL, 0), 0);
    hb_router_truncate(r, 99); /* past the end: nothing */
    assert_int_equal(hb_router_count(r), 11);
    hb_router_destroy(&r);
    hb_router_destroy(&r); /* idempotent */
    hb_router_destroy(NULL);
}

/* ------------------------------------------------------- vocabulary */

HBT_TEST(test_perm_vocabulary)
{
    (void)state;
    assert_null(hb_perm_name(HB_PERM_UNSET));
    assert_null(hb_perm_name(HB_PERM_COUNT));
    assert_false(hb_perm_valid(HB_PERM_UNSET));
    assert_false(hb_perm_valid(HB_PERM_COUNT));
    assert_string_equal(hb_perm_name(HB_PERM_PUBLIC), "public");
    assert_string_equal(hb_perm_name(HB_PERM_LIVE_READ), "live.read");
    assert_string_equal(hb_perm_name(HB_PERM_CAMPAIGN_APPROVE), "campaign.approve");
    for (int p = 1; p < HB_PERM_COUNT; p++) {
        const char *name = hb_perm_name((hb_perm_t)p);
        assert_non_null(name);
        assert_non_null(hb_perm_help((hb_perm_t)p));
        const char *where = hb_perm_daemon((hb_perm_t)p);
        assert_true(strcmp(where, "hq") == 0 || strcmp(where, "hall") == 0 ||
                    strcmp(where, "both") == 0);
        /* Names are lower case, dotted, and each names one permission. */
        assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz._"), strlen(name));
        hb_perm_t back = HB_PERM_UNSET;
        assert_int_equal(hb_perm_parse(name, &back), 0);
        assert_int_equal(back, p);
    }
    hb_perm_t x = HB_PERM_UNSET;
    assert_int_equal(hb_perm_parse("live.write", &x), HB_ENOTFOUND);
    assert_int_equal(hb_perm_parse(NULL, &x), HB_ENOTFOUND);
    assert_int_equal(hb_perm_parse("", &x), HB_ENOTFOUND);
    assert_int_equal(x, HB_PERM_UNSET);
    assert_string_equal(hb_scope_name(HB_SCOPE_ALL), "all");
    assert_string_equal(hb_scope_name(HB_SCOPE_CAMPAIGN), "campaign");
    assert_null(hb_scope_name(HB_SCOPE_COUNT));
    assert_false(hb_scope_needs_param(HB_SCOPE_ALL));
    assert_false(hb_scope_needs_param(HB_SCOPE_ANY));
    assert_true(hb_scope_needs_param(HB_SCOPE_HALL));
    assert_true(hb_scope_needs_param(HB_SCOPE_COUNTER));
    assert_false(hb_scope_needs_param(HB_SCOPE_COUNT));
}
