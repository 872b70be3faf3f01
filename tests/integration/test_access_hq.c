/* Who may do what at HQ, with a real hqd (and real halls where the lists
 * need them) on loopback, people enrolled by `hqd users`, and requests
 * written byte for byte (so that the Host, the cookie and the method are
 * what the test says):
 *
 * - every route of hqd_routes(), walked from the table itself: without
 *   credentials 401 (the public ones answer), with a role that lacks the
 *   route's permission 403 naming it, with the role over another city (or
 *   not over the whole network) 403 naming the scope, and with the role
 *   over the object not 401 or 403;
 * - scope keeps lists too: a city's people see their city's halls, tiles,
 *   regions, alerts, stream events, campaigns, policies and rollout only;
 * - four eyes, a city marketer and another city's campaign, a province's
 *   policy editor and a national draft;
 * - sessions: sign-in, CSRF on cookie writes (a text/plain cross-site POST
 *   included), sign-out; a wrong Host (421); a revoked token and a removed
 *   person (their stream closes within a second); the sixth wrong password
 *   in a minute (429, Retry-After);
 * - the audit log and its CSV; TLS with a certificate made here, and plain
 *   HTTP off loopback refused. */
#include "world.h"

#include "hallbus/calendar.h"
#include "hallbus/httpc.h"
#include "hallbus/perm.h"
#include "hallbus/time.h"

#include "hqd.h"
#include "roles.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "runner.h"

#define HQD HB_BIN_DIR "/hqd/hqd"
#define ANSWER_MAX (1 << 20)

static const char s_org[] = HBT_WORLD_REGIONS
    " \"halls\": ["
    " {\"id\": \"H001\", \"city\": \"C001\"}, {\"id\": \"H002\", \"city\": \"C001\"},"
    " {\"id\": \"H003\", \"city\": \"C002\"}, {\"id\": \"H004\", \"city\": \"C003\"}]}";

/* Every role over the network, over city C001 and over city C002. */
static const char *const s_roles[] = {"admin",         "operator", "marketer", "reviewer",
                                      "policy_editor", "analyst",  "viewer",   "booking"};
#define ROLES (sizeof s_roles / sizeof s_roles[0])
enum { NET = 0, C1, C2, WHERE };
static const char *const s_where[WHERE] = {NULL, "C001", "C002"};

/* The world of world.h (hqd, and halls when a test enrols them) and the
 * tokens of its people. */
typedef struct {
    hbt_world_t *world; /* first: hbt_world_state_new */
    hbt_hq_t *hq;
    char tok[ROLES][WHERE][64];
} world_t;

static char *s_answer; /* ANSWER_MAX bytes, for raw answers */

/* ------------------------------------------------------------ helpers */

/* One request written out, as `token` (NULL: none) with `headers` ("Name:
 * value\r\n" lines, may be NULL) and a JSON `body` (may be NULL); the
 * status, the whole answer in s_answer. */
static int s_send(world_t *w, const char *method, const char *path, const char *token,
                  const char *headers, const char *body)
{
    char req[8192];
    char auth[128] = "";
    if (token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    char len[64] = "";
    if (body)
        snprintf(len, sizeof len, "Content-Length: %zu\r\n", strlen(body));
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%sConnection: close\r\n\r\n%s",
             method, path, w->hq->http_addr, auth, headers ? headers : "",
             body && !(headers && strstr(headers, "Content-Type"))
                 ? "Content-Type: application/json\r\n"
                 : "",
             len, body ? body : "");
    return hbt_http_send_raw(w->hq->http, req, s_answer, ANSWER_MAX);
}

static json_t *s_body_json(void) { return json_loads(hbt_http_answer_body(s_answer), 0, NULL); }

/* A request that must answer `want`, as `token`; the JSON body (owned). */
static json_t *s_must(world_t *w, const char *token, const char *method, const char *path,
                      const char *body, int want)
{
    int status = s_send(w, method, path, token, NULL, body);
    if (status != want)
        fail_msg("%s %s: %d, wanted %d: %.600s", method, path, status, want,
                 hbt_http_answer_body(s_answer));
    return s_body_json();
}

static void s_ok(world_t *w, const char *token, const char *method, const char *path,
                 const char *body, int want)
{
    json_decref(s_must(w, token, method, path, body, want));
}

/* A refusal with `code` whose reason names `want`. */
static void s_refused(world_t *w, const char *token, const char *method, const char *path,
                      const char *body, int status, const char *code, const char *want)
{
    json_t *a = s_must(w, token, method, path, body, status);
    if (strcmp(hbt_str(a, "error"), code) != 0 || !strstr(hbt_str(a, "reason"), want))
        fail_msg("%s %s: %s \"%s\", wanted %s naming \"%s\"", method, path, hbt_str(a, "error"),
                 hbt_str(a, "reason"), code, want);
    json_decref(a);
}

static const char *s_tok(world_t *w, const char *role, int where)
{
    for (size_t r = 0; r < ROLES; r++)
        if (strcmp(s_roles[r], role) == 0)
            return w->tok[r][where];
    fail_msg("no role %s", role);
    return NULL;
}

/* A city campaign owned by `city`, valid and clean for the check (its
 * product is its own, so that two never compete). */
static char *s_campaign(const char *id, const char *city)
{
    char d1[11], d2[11];
    int32_t today = hb_cal_day_of_ms(hb_now_ms());
    hb_date_format(today + 30, d1);
    hb_date_format(today + 40, d2);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:s, s:s, s:[s], s:[], s:s, s:[s], s:{s:s}, "
                          "s:[{s:s, s:s}]}",
                          "id", id, "title", id, "level", "city", "region", city, "scope", "start",
                          d1, "end", d2, "products", id, "business_types", "segment", "retail",
                          "channels", "kiosk", "texts", "kiosk", "Save with us", "faq", "question",
                          "Who?", "answer", "Anyone.");
    char *text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return text;
}

/* hqd users with its arguments (NULL-terminated); the exit code, the
 * output in `out`. */
static int s_users(world_t *w, char *out, size_t len, ...)
{
    char *argv[24] = {HQD};
    va_list ap;
    va_start(ap, len);
    /* "users" and the arguments from argv[1]; room left for --data DIR. */
    int n = 1 + hbt_vargv(argv + 1, 21, "users", ap);
    va_end(ap);
    argv[n++] = "--data";
    argv[n++] = w->hq->data;
    argv[n] = NULL;
    return hbt_run(argv, out, len);
}

/* ---------------------------------------------------------------- setup */

static world_t *s_world(const char *tag, bool people)
{
    if (!s_answer)
        s_answer = malloc(ANSWER_MAX);
    const hbt_world_spec_t spec = {tag, .hq_args = {"--alert_no_counter_grace", "1s"}};
    world_t *w = hbt_world_state_new(&spec, sizeof *w);
    w->hq = &w->world->hq;
    assert_int_equal(hbt_http(w->hq->http, "PUT", "/v1/org", s_org, NULL), 200);
    if (!people)
        return w;
    /* Enrolled while hqd runs; a bare city id is looked up in the
     * organisation hqd stores. */
    for (size_t r = 0; r < ROLES; r++) {
        for (int where = 0; where < WHERE; where++) {
            char name[64];
            snprintf(name, sizeof name, "%s-%s", s_roles[r], where ? s_where[where] : "net");
            if (where)
                hbt_hq_user(w->hq, name, w->tok[r][where], "--role", s_roles[r], "--scope",
                            s_where[where], NULL);
            else
                hbt_hq_user(w->hq, name, w->tok[r][where], "--role", s_roles[r], NULL);
        }
    }
    /* One submitted campaign in each city (a draft could be deleted by the
     * walk; a submitted one refuses DELETE with 409). */
    const char *admin = w->hq->token;
    const char *cities[] = {"C001", "C002"}, *ids[] = {"c1-camp", "c2-camp"};
    for (int i = 0; i < 2; i++) {
        char *doc = s_campaign(ids[i], cities[i]);
        s_ok(w, admin, "POST", "/v1/campaigns", doc, 201);
        free(doc);
        char path[64];
        snprintf(path, sizeof path, "/v1/campaigns/%s/submit", ids[i]);
        s_ok(w, admin, "POST", path, "{}", 200);
    }
    return w;
}

static int s_setup(void **state)
{
    *state = s_world("access", true);
    return 0;
}

/* ------------------------------------------------------ every route */

/* The role the walk uses for a permission: one that grants it, an admin
 * only for what only admins have. */
static const char *s_role_for(hb_perm_t perm)
{
    static const struct {
        hb_perm_t perm;
        const char *role;
    } pick[] = {
        {HB_PERM_STATUS_READ, "operator"},
        {HB_PERM_LIVE_READ, "viewer"},
        {HB_PERM_ALERTS_READ, "operator"},
        {HB_PERM_ARCHIVE_READ, "analyst"},
        {HB_PERM_ORG_READ, "operator"},
        {HB_PERM_POLICY_READ, "policy_editor"},
        {HB_PERM_POLICY_EDIT, "policy_editor"},
        {HB_PERM_CAMPAIGN_READ, "marketer"},
        {HB_PERM_CAMPAIGN_DRAFT, "marketer"},
        {HB_PERM_CAMPAIGN_APPROVE, "reviewer"},
        {HB_PERM_ADMIN, "admin"},
        {HB_PERM_SELF, "viewer"},
        {HB_PERM_REPORTS_READ, "analyst"},
        {HB_PERM_HALLS_ENROL, "admin"},
        {HB_PERM_ALERTS_HANDLE, "operator"},
        {HB_PERM_ALERTS_SUBSCRIBE, "admin"},
        {HB_PERM_APPOINTMENT_BOOK, "booking"},
    };
    for (size_t i = 0; i < sizeof pick / sizeof pick[0]; i++)
        if (pick[i].perm == perm)
            return pick[i].role;
    return NULL;
}

/* A role that lacks `perm` (NULL when every role has it). */
static const char *s_role_without(hb_perm_t perm)
{
    for (size_t r = 0; r < ROLES; r++) {
        hq_role_t role;
        assert_int_equal(hq_role_parse(s_roles[r], &role), 0);
        if (!((hq_role_perms(role) >> perm) & 1))
            return s_roles[r];
    }
    return NULL;
}

/* The route's pattern with its parameters filled with objects in C001. */
static void s_path(const char *pattern, char *out, size_t len)
{
    static const struct {
        const char *param, *value;
    } values[] = {{":hall", "H001"},
                  {":region", "C001"},
                  {":campaign", "c1-camp"},
                  {":file", "favicon.svg"},
                  {":step", "frob"},
                  /* alerts that reach people: objects that need not exist */
                  {":alert", "1"},
                  {":subscription", "s1"},
                  {":silence", "1"}};
    size_t o = 0;
    for (const char *p = pattern; *p && o + 1 < len;) {
        bool done = false;
        for (size_t i = 0; i < sizeof values / sizeof values[0] && !done; i++) {
            size_t n = strlen(values[i].param);
            if (strncmp(p, values[i].param, n) == 0 && (p[n] == '/' || p[n] == '\0')) {
                o += (size_t)snprintf(out + o, len - o, "%s", values[i].value);
                p += n;
                done = true;
            }
        }
        if (!done)
            out[o++] = *p++;
    }
    out[o < len ? o : len - 1] = '\0';
}

typedef struct walk {
    size_t routes, checks, problems;
} walk_t;

static void s_expect(walk_t *wk, const hb_route_t *rt, const char *who, int status, bool ok,
                     const char *want)
{
    wk->checks++;
    if (ok)
        return;
    wk->problems++;
    print_error("%s %s as %s: %d, wanted %s: %.300s\n", rt->method, rt->pattern, who, status, want,
                hbt_http_answer_body(s_answer));
}

#define HBT_FIXTURE s_setup, hbt_world_state_teardown

/* The raw answers' buffer lives as long as the tests. */
static int s_group_end(void **state)
{
    (void)state;
    free(s_answer);
    s_answer = NULL;
    return 0;
}
HBT_GROUP(NULL, s_group_end);

HBT_TEST(test_every_route)
{
    world_t *w = *state;
    size_t n = 0;
    const hb_http_route_t *table = hqd_routes(&n);
    walk_t wk = {0};
    for (size_t i = 0; i < n; i++) {
        const hb_http_route_t *row = &table[i];
        hb_route_t rt = {.method = row->method,
                         .pattern = row->pattern,
                         .perm = row->perm,
                         .scope = row->scope,
                         .scope_param = row->scope_param};
        wk.routes++;
        /* A route must declare what it needs (test_route_tables.c says so
         * too): here it would pass unchecked. */
        if (!hb_perm_valid(row->perm)) {
            s_expect(&wk, &rt, "-", 0, false, "a declared permission");
            continue;
        }
        char path[256];
        s_path(row->pattern, path, sizeof path);
        /* A body that is not JSON: a write the guard lets through is then
         * refused by its handler, and nothing changes for the next route. */
        const char *body = strcmp(row->method, "GET") == 0 || strcmp(row->method, "HEAD") == 0 ||
                                   strcmp(row->method, "DELETE") == 0
                               ? NULL
                               : "{";
        int st = s_send(w, row->method, path, NULL, NULL, body);
        if (row->perm == HB_PERM_PUBLIC) {
            s_expect(&wk, &rt, "nobody", st, st > 0 && st != 401 && st != 403, "an answer");
            if (strcmp(row->pattern, "/v1/health") == 0)
                s_expect(&wk, &rt, "nobody", st, st == 200, "200");
            continue;
        }
        s_expect(&wk, &rt, "nobody", st,
                 st == 401 && strstr(s_answer, "\"unauthenticated\"") &&
                     strstr(s_answer, "WWW-Authenticate: Bearer"),
                 "401 unauthenticated");
        /* A role without the permission, over the whole network. */
        const char *lacking = s_role_without(row->perm);
        if (lacking) {
            st = s_send(w, row->method, path, s_tok(w, lacking, NET), NULL, body);
            s_expect(&wk, &rt, lacking, st,
                     st == 403 && strstr(s_answer, "\"forbidden\"") &&
                         strstr(s_answer, hb_perm_name(row->perm)),
                     "403 naming the permission");
        }
        /* The right role over the object (over the network where the route
         * needs it all). */
        const char *role = s_role_for(row->perm);
        assert_non_null(role);
        int right = row->scope == HB_SCOPE_ALL ? NET : C1;
        st = s_send(w, row->method, path, s_tok(w, role, right), NULL, body);
        char who[64];
        snprintf(who, sizeof who, "%s over %s", role, right == NET ? "the network" : "C001");
        s_expect(&wk, &rt, who, st, st > 0 && st != 401 && st != 403, "neither 401 nor 403");
        /* The right role over somewhere else: another city for an object in
         * C001, a city where the whole network is needed. */
        if (row->scope == HB_SCOPE_ANY)
            continue; /* lists: the next test checks what they show */
        int wrong = row->scope == HB_SCOPE_ALL ? C1 : C2;
        st = s_send(w, row->method, path, s_tok(w, role, wrong), NULL, body);
        snprintf(who, sizeof who, "%s over %s", role, s_where[wrong]);
        s_expect(&wk, &rt, who, st,
                 st == 403 && strstr(s_answer, "\"forbidden\"") &&
                     (strstr(s_answer, "scope") || strstr(s_answer, "whole network")),
                 "403 naming the scope");
    }
    fprintf(stderr, "walked %zu routes, %zu checks, %zu problem(s)\n", wk.routes, wk.checks,
            wk.problems);
    assert_true(wk.routes >= 55);
    assert_int_equal(wk.problems, 0);
}

/* ------------------------------------------------- lists keep to scope */

/* Whether a JSON array of objects has one whose `key` is `value`. */
static bool s_has(const json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach (arr, i, o)
        if (strcmp(hbt_str(o, key), value) == 0)
            return true;
    return false;
}

/* A stream as `token`: a socket that has sent its request. */
static int s_stream_open(world_t *w, const char *token)
{
    int fd = hbt_http_connect(w->hq->http);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_usec = 50000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /v1/stream HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "Connection: close\r\n\r\n",
                     w->hq->http_addr, token);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    return fd;
}

/* Reads what the stream sends for `ms` into `buf` (appended); true when
 * the server ended the stream (its last chunk, or the connection closed). */
static bool s_stream_read(int fd, char *buf, size_t cap, size_t *used, int ms)
{
    int64_t end = hbt_now_ms() + ms;
    while (hbt_now_ms() < end) {
        ssize_t n = recv(fd, buf + *used, cap - *used - 1, 0);
        if (n == 0)
            return true;
        if (n > 0) {
            *used += (size_t)n;
            buf[*used] = '\0';
            if (strstr(buf, "\r\n0\r\n\r\n"))
                return true;
            assert_true(*used + 1 < cap);
        }
    }
    return false;
}

HBT_TEST(test_lists_keep_to_scope)
{
    world_t *w = *state;
    const char *admin = w->hq->token;
    /* Two halls, one in each city, open round the clock at HQ too, with an
     * SLA that a waiting ticket breaks at once: alerts at both. */
    const char *ids[] = {"H001", "H003"};
    for (int i = 0; i < 2; i++)
        hbt_hall_enroll(w->hq, &w->world->hall[i], ids[i]);
    w->world->n_halls = 2;
    hbt_world_start_halls(w->world, HBT_POLICY_ALWAYS_OPEN);
    s_ok(w, admin, "PUT", "/v1/policies/national",
         HBT_POLICY_OPEN_AND "\"sla\":{\"max_wait_s\":{\"A:*\":1}}}", 200);
    s_ok(w, admin, "POST", "/v1/policies/publish", "{}", 200);
    s_ok(w, admin, "PUT", "/v1/policies/regions/C002", "{\"diversion\":{\"threshold\":9}}", 200);
    /* Streams of both cities' operators and the network's, open before
     * anything happens at the halls. */
    const char *op1 = s_tok(w, "operator", C1), *op2 = s_tok(w, "operator", C2);
    int s1 = s_stream_open(w, op1), s2 = s_stream_open(w, op2),
        sn = s_stream_open(w, s_tok(w, "operator", NET));
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            hbt_http(w->world->hall[i].http, "POST", "/v1/tickets", "{\"service\":\"A\"}", NULL),
            201);
    /* Both halls' alerts are open for the network's operator. */
    int64_t deadline = hbt_now_ms() + 15000;
    json_t *a = NULL;
    for (;;) {
        json_decref(a);
        a = s_must(w, s_tok(w, "operator", NET), "GET", "/v1/alerts", NULL, 200);
        json_t *al = json_object_get(a, "alerts");
        if (s_has(al, "hall", "H001") && s_has(al, "hall", "H003"))
            break;
        if (hbt_now_ms() > deadline)
            fail_msg("no alerts at both halls: %s", hbt_http_answer_body(s_answer));
        hbt_sleep_ms(200);
    }
    json_decref(a);

    /* C002's operator: H003 only, everywhere. */
    a = s_must(w, op2, "GET", "/v1/live/halls", NULL, 200);
    json_t *halls = json_object_get(a, "halls");
    assert_true(s_has(halls, "hall", "H003"));
    assert_false(s_has(halls, "hall", "H001") || s_has(halls, "hall", "H002") ||
                 s_has(halls, "hall", "H004"));
    assert_int_equal(hbt_int(a, "total"), 1);
    json_decref(a);
    a = s_must(w, op2, "GET", "/v1/halls", NULL, 200);
    assert_int_equal(hbt_int(a, "total"), 1);
    assert_true(s_has(json_object_get(a, "halls"), "hall", "H003"));
    json_decref(a);
    a = s_must(w, op2, "GET", "/v1/regions", NULL, 200);
    json_t *regions = json_object_get(a, "regions");
    assert_int_equal(json_array_size(regions), 1);
    assert_true(s_has(regions, "region", "C002"));
    assert_null(json_object_get(a, "total")); /* the network's total is not theirs */
    json_decref(a);
    a = s_must(w, op2, "GET", "/v1/alerts", NULL, 200);
    assert_true(s_has(json_object_get(a, "alerts"), "hall", "H003"));
    assert_false(s_has(json_object_get(a, "alerts"), "hall", "H001"));
    json_decref(a);
    a = s_must(w, op2, "GET", "/v1/alerts?state=history", NULL, 200);
    assert_true(s_has(json_object_get(a, "alerts"), "hall", "H003"));
    assert_false(s_has(json_object_get(a, "alerts"), "hall", "H001"));
    json_decref(a);
    a = s_must(w, op2, "GET", "/v1/org", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(a, "halls")), 1);
    assert_true(s_has(json_object_get(a, "regions"), "id", "P01")); /* the path down to C002 */
    assert_false(s_has(json_object_get(a, "regions"), "id", "C001"));
    assert_false(s_has(json_object_get(a, "regions"), "id", "P02"));
    json_decref(a);
    s_refused(w, op2, "GET", "/v1/alerts?hall=H001", NULL, 403, "forbidden", "C002");
    s_refused(w, op2, "GET", "/v1/live/halls?region=C001", NULL, 403, "forbidden", "C001");
    s_refused(w, op2, "GET", "/v1/live/halls/H001", NULL, 403, "forbidden", "H001");
    /* C001's sees H001, H002 and not H003. */
    a = s_must(w, op1, "GET", "/v1/live/halls", NULL, 200);
    assert_int_equal(hbt_int(a, "total"), 2);
    assert_false(s_has(json_object_get(a, "halls"), "hall", "H003"));
    json_decref(a);
    /* Campaigns, the export, policies and the rollout, likewise. */
    const char *mk2 = s_tok(w, "marketer", C2);
    a = s_must(w, mk2, "GET", "/v1/campaigns", NULL, 200);
    assert_int_equal(hbt_int(a, "total"), 1);
    assert_true(s_has(json_object_get(a, "campaigns"), "id", "c2-camp"));
    json_decref(a);
    a = s_must(w, mk2, "GET", "/v1/calendar/export", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(a, "campaigns")), 1);
    json_decref(a);
    const char *pe2 = s_tok(w, "policy_editor", C2);
    a = s_must(w, pe2, "GET", "/v1/policies", NULL, 200);
    assert_non_null(json_object_get(json_object_get(a, "drafts"), "region/C002"));
    assert_non_null(json_object_get(json_object_get(a, "published"), "national"));
    json_decref(a);
    a = s_must(w, s_tok(w, "policy_editor", C1), "GET", "/v1/policies", NULL, 200);
    assert_null(json_object_get(json_object_get(a, "drafts"), "region/C002"));
    json_decref(a);
    a = s_must(w, pe2, "GET", "/v1/rollout?halls=10", NULL, 200);
    assert_int_equal(hbt_int(json_object_get(a, "policy"), "halls"), 1);
    json_decref(a);

    /* The streams: C001's got H001's tiles and none of H003's; C002's the
     * other way round; the network's both, and the regions' aggregates. */
    char b1[65536] = "", b2[65536] = "", bn[65536] = "";
    size_t u1 = 0, u2 = 0, un = 0;
    deadline = hbt_now_ms() + 5000;
    while (hbt_now_ms() < deadline &&
           !(strstr(b1, "\"H001\"") && strstr(b2, "\"H003\"") && strstr(bn, "event: regions"))) {
        s_stream_read(s1, b1, sizeof b1, &u1, 100);
        s_stream_read(s2, b2, sizeof b2, &u2, 100);
        s_stream_read(sn, bn, sizeof bn, &un, 100);
    }
    assert_non_null(strstr(b1, "event: tile"));
    assert_non_null(strstr(b1, "\"H001\""));
    assert_null(strstr(b1, "\"H003\""));
    assert_non_null(strstr(b2, "\"H003\""));
    assert_null(strstr(b2, "\"H001\""));
    assert_null(strstr(b2, "event: regions"));
    assert_non_null(strstr(bn, "\"H001\""));
    assert_non_null(strstr(bn, "\"H003\""));
    assert_non_null(strstr(bn, "event: regions"));
    close(s1);
    close(s2);
    close(sn);
}

/* ---------------------------------- four eyes, cities and provinces */

HBT_TEST(test_four_eyes_and_scopes)
{
    world_t *w = *state;
    char out[4096], both[64], other[64], prov[64];
    /* One person who drafts and reviews: they may not approve their own. */
    hbt_hq_user(w->hq, "mara", both, "--role", "marketer", "--role", "reviewer", NULL);
    hbt_hq_user(w->hq, "rex", other, "--role", "reviewer", NULL);
    char *doc = s_campaign("own", "C001");
    s_ok(w, both, "POST", "/v1/campaigns", doc, 201);
    free(doc);
    s_ok(w, both, "POST", "/v1/campaigns/own/submit", "{}", 200);
    s_refused(w, both, "POST", "/v1/campaigns/own/approve", "{}", 403, "forbidden", "four eyes");
    json_t *a = s_must(w, other, "POST", "/v1/campaigns/own/approve", "{}", 200);
    assert_string_equal(hbt_str(json_object_get(a, "campaign"), "state"), "approved");
    json_decref(a);
    s_refused(w, both, "POST", "/v1/campaigns/own/publish", "{}", 403, "forbidden", "mara");
    s_ok(w, other, "POST", "/v1/campaigns/own/publish", "{}", 200);
    /* Who did it is the token's person, and nobody else may say otherwise. */
    a = s_must(w, other, "GET", "/v1/campaigns/own", NULL, 200);
    json_t *hist = json_object_get(a, "history");
    assert_string_equal(hbt_str(json_array_get(hist, 0), "by"), "mara");
    assert_string_equal(hbt_str(json_array_get(hist, 2), "by"), "rex");
    json_decref(a);
    s_refused(w, other, "POST", "/v1/campaigns/c1-camp/return", "{\"by\":\"mara\"}", 400,
              "bad_request", "by");
    s_refused(w, other, "POST", "/v1/campaigns/c1-camp/return?by=mara", "{}", 400, "bad_parameter",
              "by");

    /* A marketer of C001: not C002's campaign, not a campaign owned by
     * C002, not C002's halls on the board. */
    const char *mk1 = s_tok(w, "marketer", C1);
    doc = s_campaign("c2-camp", "C002");
    s_refused(w, mk1, "PUT", "/v1/campaigns/c2-camp", doc, 403, "forbidden", "C001");
    free(doc);
    doc = s_campaign("moved", "C002");
    s_refused(w, mk1, "POST", "/v1/campaigns", doc, 403, "forbidden", "C002");
    free(doc);
    s_refused(w, mk1, "POST", "/v1/campaigns/c2-camp/withdraw", "{}", 403, "forbidden", "c2-camp");
    /* ... and with the board's role too, only C001's halls. */
    char mv[64];
    hbt_hq_user(w->hq, "mike", mv, "--role", "marketer", "--role", "viewer", "--scope", "C001",
                NULL);
    a = s_must(w, mv, "GET", "/v1/live/halls", NULL, 200);
    assert_int_equal(hbt_int(a, "total"), 2);
    assert_false(s_has(json_object_get(a, "halls"), "hall", "H003"));
    json_decref(a);

    /* A policy editor of province P01: their region's drafts, never a
     * national one (even one someone else left). */
    assert_int_equal(s_users(w, out, sizeof out, "add", "pia", "--role", "policy_editor", "--scope",
                             "region/P01", NULL),
                     0);
    char *last = strrchr(out, '\n');
    *last = '\0';
    snprintf(prov, sizeof prov, "%s", strrchr(out, '\n') + 1);
    s_ok(w, prov, "PUT", "/v1/policies/regions/P01", "{\"diversion\":{\"threshold\":12}}", 200);
    s_ok(w, prov, "PUT", "/v1/policies/regions/C002", "{\"diversion\":{\"threshold\":11}}", 200);
    s_refused(w, prov, "PUT", "/v1/policies/national", "{\"timezone\":\"UTC\"}", 403, "forbidden",
              "whole network");
    s_refused(w, prov, "PUT", "/v1/policies/regions/P02", "{}", 403, "forbidden", "P02");
    s_ok(w, w->hq->token, "PUT", "/v1/policies/national", "{\"timezone\":\"UTC\"}", 200);
    s_refused(w, prov, "POST", "/v1/policies/publish", "{}", 403, "forbidden", "national");
    s_ok(w, w->hq->token, "DELETE", "/v1/policies/national", NULL, 200);
    a = s_must(w, prov, "POST", "/v1/policies/publish", "{}", 200);
    assert_string_equal(hbt_str(a, "published_by"), "pia");
    json_decref(a);
}

/* ------------------------------------------------ sessions and CSRF */

HBT_TEST(test_sessions_csrf_host)
{
    world_t *w = *state;
    char cookie[64], csrf[64], hdr[512];
    hbt_hq_password(w->hq, "operator-C001", "correct horse");
    assert_int_equal(hbt_hq_login(w->hq, "operator-C001", "correct horse", cookie, csrf), 200);
    /* The cookie: HttpOnly, SameSite=Strict, the whole site; no Secure
     * over plain HTTP. */
    char login[256];
    snprintf(login, sizeof login, "{\"name\":\"operator-C001\",\"password\":\"correct horse\"}");
    assert_int_equal(s_send(w, "POST", "/v1/login", NULL, NULL, login), 200);
    assert_true(hbt_http_answer_header(s_answer, "Set-Cookie", hdr, sizeof hdr));
    hbt_assert_contains_all(hdr, "HttpOnly", "SameSite=Strict", "Path=/", NULL);
    assert_null(strstr(hdr, "Secure"));
    /* Signing in needs JSON: a form cannot sign anyone in. */
    assert_int_equal(s_send(w, "POST", "/v1/login", NULL, "Content-Type: text/plain\r\n", login),
                     415);

    char with_cookie[256], with_both[384];
    snprintf(with_cookie, sizeof with_cookie, "Cookie: theme=dark; hallbus_session=%s\r\n", cookie);
    snprintf(with_both, sizeof with_both, "%sX-CSRF-Token: %s\r\n", with_cookie, csrf);
    /* Reads with the cookie alone; /v1/me says who and the CSRF token. */
    assert_int_equal(s_send(w, "GET", "/v1/me", NULL, with_cookie, NULL), 200);
    json_t *me = s_body_json();
    assert_string_equal(hbt_str(me, "name"), "operator-C001");
    assert_string_equal(hbt_str(me, "csrf_token"), csrf);
    assert_string_equal(hbt_str(json_array_get(json_object_get(me, "roles"), 0), "scope"),
                        "region/C001");
    json_decref(me);
    assert_int_equal(s_send(w, "GET", "/v1/live/halls", NULL, with_cookie, NULL), 200);
    /* A write with the cookie and no CSRF header: refused, naming it; a
     * text/plain POST as a cross-site form would send it: refused too; a
     * wrong token: refused. */
    char admin_cookie[64], admin_csrf[64];
    hbt_hq_password(w->hq, "admin-net", "another pass");
    assert_int_equal(hbt_hq_login(w->hq, "admin-net", "another pass", admin_cookie, admin_csrf),
                     200);
    char a_cookie[256], a_form[384], a_bad[384], a_good[384];
    snprintf(a_cookie, sizeof a_cookie, "Cookie: hallbus_session=%s\r\n", admin_cookie);
    snprintf(a_form, sizeof a_form, "%sContent-Type: text/plain\r\nOrigin: http://evil.example\r\n",
             a_cookie);
    snprintf(a_bad, sizeof a_bad, "%sX-CSRF-Token: %.20s\r\n", a_cookie, csrf);
    snprintf(a_good, sizeof a_good, "%sX-CSRF-Token: %s\r\n", a_cookie, admin_csrf);
    const char *gl = "{\"terms\":[{\"term\":\"APR\"}]}";
    assert_int_equal(s_send(w, "PUT", "/v1/glossary", NULL, a_cookie, gl), 403);
    hbt_assert_contains(hbt_http_answer_body(s_answer), "X-CSRF-Token");
    assert_int_equal(s_send(w, "PUT", "/v1/glossary", NULL, a_form, gl), 403);
    assert_int_equal(s_send(w, "PUT", "/v1/glossary", NULL, a_bad, gl), 403);
    assert_int_equal(s_send(w, "PUT", "/v1/glossary", NULL, a_good, gl), 200);
    /* A bearer token needs no CSRF token. */
    assert_int_equal(s_send(w, "PUT", "/v1/glossary", w->hq->token, NULL, gl), 200);
    /* A new password ends the sessions signed in with the old one. */
    hbt_hq_password(w->hq, "admin-net", "a newer pass");
    assert_int_equal(s_send(w, "GET", "/v1/me", NULL, a_cookie, NULL), 401);
    /* Someone else's session cookie for a write they may not make: 403 for
     * the role, with the right CSRF token. */
    assert_int_equal(s_send(w, "PUT", "/v1/glossary", NULL, with_both, gl), 403);
    hbt_assert_contains(hbt_http_answer_body(s_answer), "admin");
    /* Signing out ends the session at once; the cookie is cleared. */
    assert_int_equal(s_send(w, "POST", "/v1/logout", NULL, with_both, NULL), 200);
    assert_true(hbt_http_answer_header(s_answer, "Set-Cookie", hdr, sizeof hdr));
    hbt_assert_contains(hdr, "Max-Age=0");
    assert_int_equal(s_send(w, "GET", "/v1/me", NULL, with_cookie, NULL), 401);
    hbt_assert_contains(hbt_http_answer_body(s_answer), "signed out");
    /* A forged or foreign cookie is nobody. */
    assert_int_equal(
        s_send(w, "GET", "/v1/me", NULL,
               "Cookie: hallbus_session=hqs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n", NULL),
        401);
    assert_int_equal(s_send(w, "POST", "/v1/logout", w->hq->token, NULL, NULL), 400);

    /* Host: HQ's own names only (DNS rebinding); the health check answers
     * any. */
    char req[512];
    snprintf(req, sizeof req,
             "GET /v1/me HTTP/1.1\r\nHost: evil.example:%d\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n",
             atoi(strrchr(w->hq->http, ':') + 1), w->hq->token);
    assert_int_equal(hbt_http_send_raw(w->hq->http, req, s_answer, ANSWER_MAX), 421);
    hbt_assert_contains(hbt_http_answer_body(s_answer), "evil.example");
    snprintf(req, sizeof req,
             "GET /v1/me HTTP/1.1\r\nHost: localhost:%d\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n",
             atoi(strrchr(w->hq->http, ':') + 1), w->hq->token);
    assert_int_equal(hbt_http_send_raw(w->hq->http, req, s_answer, ANSWER_MAX), 200);
    snprintf(req, sizeof req, "GET /v1/me HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n",
             w->hq->token);
    assert_int_equal(hbt_http_send_raw(w->hq->http, req, s_answer, ANSWER_MAX), 421);
    assert_int_equal(hbt_http_send_raw(w->hq->http,
                                       "GET /v1/health HTTP/1.1\r\nHost: lb.internal\r\n"
                                       "Connection: close\r\n\r\n",
                                       s_answer, ANSWER_MAX),
                     200);
    hbt_assert_contains(hbt_http_answer_body(s_answer), "\"status\":\"ok\"");
    /* No CORS: nothing invites another origin's script. */
    assert_int_equal(
        s_send(w, "GET", "/v1/me", w->hq->token, "Origin: http://evil.example\r\n", NULL), 200);
    assert_null(strcasestr(s_answer, "Access-Control-Allow"));
}

/* ------------------------------------------- revocation and removal */

HBT_TEST(test_revoke_and_remove)
{
    world_t *w = *state;
    char out[8192], tok[64]; /* `users list` names every role's people of the world */
    hbt_hq_user(w->hq, "tess", tok, "--role", "operator", NULL);
    s_ok(w, tok, "GET", "/v1/me", NULL, 200);
    /* A second token, then the first revoked: the next request fails. */
    assert_int_equal(s_users(w, out, sizeof out, "token", "tess", "--name", "laptop", NULL), 0);
    char second[64];
    char *nl = strrchr(out, '\n');
    *nl = '\0';
    snprintf(second, sizeof second, "%s", strrchr(out, '\n') + 1);
    assert_int_equal(s_users(w, out, sizeof out, "token", "tess", "--revoke", "first", NULL), 0);
    s_refused(w, tok, "GET", "/v1/me", NULL, 401, "unauthenticated", "revoked");
    s_ok(w, second, "GET", "/v1/me", NULL, 200);
    /* Misuse of the command line: exit 2, naming what is wrong. */
    assert_int_equal(s_users(w, out, sizeof out, "token", "tess", NULL), 2);
    hbt_assert_contains(out, "--name");
    assert_int_equal(s_users(w, out, sizeof out, "add", "x", "--role", "boss", NULL), 2);
    hbt_assert_contains(out, "boss");
    assert_int_equal(
        s_users(w, out, sizeof out, "add", "x", "--role", "viewer", "--scope", "C999", NULL), 2);
    hbt_assert_contains(out, "C999");
    assert_int_equal(s_users(w, out, sizeof out, "add", "tess", "--role", "viewer", NULL), 1);
    assert_int_equal(s_users(w, out, sizeof out, "remove", "nobody", NULL), 1);
    assert_int_equal(s_users(w, out, sizeof out, "frobnicate", NULL), 2);
    assert_int_equal(s_users(w, out, sizeof out, "list", NULL), 0);
    hbt_assert_contains(out, "tess");
    hbt_assert_contains(out, "laptop");

    /* Removed while their stream is open: it closes within a second. */
    int fd = s_stream_open(w, second);
    char buf[16384] = "";
    size_t used = 0;
    s_stream_read(fd, buf, sizeof buf, &used, 300);
    hbt_assert_contains(buf, "event: hello");
    assert_int_equal(s_users(w, out, sizeof out, "remove", "tess", NULL), 0);
    int64_t t0 = hbt_now_ms();
    bool closed = s_stream_read(fd, buf, sizeof buf, &used, 1000);
    int64_t took = hbt_now_ms() - t0;
    close(fd);
    fprintf(stderr, "a removed person's stream closed %lld ms after hqd users remove returned\n",
            (long long)took);
    assert_true(closed);
    s_refused(w, second, "GET", "/v1/me", NULL, 401, "unauthenticated", "revoked");
}

/* ----------------------------------------------------- the audit log */

HBT_TEST(test_audit)
{
    world_t *w = *state;
    char tok[64];
    /* A name a spreadsheet would read as a formula. */
    hbt_hq_user(w->hq, "@evil", tok, "--role", "reviewer", NULL);
    s_refused(w, tok, "PUT", "/v1/glossary", "{\"terms\":[]}", 403, "forbidden", "admin");
    s_ok(w, tok, "POST", "/v1/campaigns/c1-camp/return", "{\"note\":\"=HYPERLINK(1)\"}", 200);
    assert_int_equal(hbt_hq_login(w->hq, "@evil", "no password", (char[64]){0}, (char[64]){0}),
                     401);
    const char *admin = w->hq->token;
    json_t *a = s_must(w, admin, "GET", "/v1/audit?who=%40evil", NULL, 200);
    json_t *recs = json_object_get(a, "records");
    /* Newest first: the failed sign-in, the step, the refusal. */
    assert_true(json_array_size(recs) >= 3);
    json_t *fail = json_array_get(recs, 0), *step = json_array_get(recs, 1),
           *refusal = json_array_get(recs, 2);
    assert_string_equal(hbt_str(fail, "action"), "login_failed");
    hbt_assert_strs(step, "route", "/v1/campaigns/:campaign/return", "object", "c1-camp", "outcome",
                    "ok", "via", "token:first", "from", "127.0.0.1", NULL);
    assert_int_equal(hbt_int(step, "before"), 2);
    assert_int_equal(hbt_int(step, "after"), 3);
    assert_int_equal(hbt_int(refusal, "status"), 403);
    hbt_assert_contains(hbt_str(refusal, "reason"), "admin");
    json_decref(a);
    /* Paging: one record a page, the cursor leads on. */
    a = s_must(w, admin, "GET", "/v1/audit?who=%40evil&limit=1", NULL, 200);
    char next[64];
    snprintf(next, sizeof next, "%s", hbt_str(a, "next"));
    assert_true(strlen(next) == 32);
    json_decref(a);
    char path[160];
    snprintf(path, sizeof path, "/v1/audit?who=%%40evil&limit=1&before=%s", next);
    a = s_must(w, admin, "GET", path, NULL, 200);
    assert_string_equal(hbt_str(json_array_get(json_object_get(a, "records"), 0), "route"),
                        "/v1/campaigns/:campaign/return");
    json_decref(a);
    /* By object and time; enrolment by the command line is there too. */
    a = s_must(w, admin, "GET", "/v1/audit?object=c1-camp", NULL, 200);
    assert_true(json_array_size(json_object_get(a, "records")) >=
                2); /* created, submitted, returned */
    json_decref(a);
    a = s_must(w, admin, "GET", "/v1/audit?object=%40evil", NULL, 200);
    assert_string_equal(hbt_str(json_array_get(json_object_get(a, "records"), 0), "action"),
                        "users add");
    json_decref(a);
    a = s_must(w, admin, "GET", "/v1/audit?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z", NULL,
               200);
    assert_int_equal(json_array_size(json_object_get(a, "records")), 0);
    json_decref(a);
    s_refused(w, admin, "GET", "/v1/audit?before=zz", NULL, 400, "bad_parameter", "cursor");
    s_refused(w, s_tok(w, "operator", NET), "GET", "/v1/audit", NULL, 403, "forbidden", "admin");
    /* The CSV: UTF-8 with a BOM, a header, formula-safe fields. */
    assert_int_equal(s_send(w, "GET", "/v1/audit?who=%40evil&format=csv", admin, NULL, NULL), 200);
    const char *csv = hbt_http_answer_body(s_answer);
    assert_true(strncmp(csv, "\xEF\xBB\xBFid,at,who,via,from,action,object,status,outcome,", 50) ==
                0);
    hbt_assert_contains(csv,
                        ",\"'@evil\",token:first,127.0.0.1,POST /v1/campaigns/:campaign/return,"
                        "c1-camp,200,ok,,2,3\r\n");
    assert_null(strstr(csv, ",@evil"));
}

/* --------------------------------------------------- brute force */

/* A sign-in on a raw socket, its request sent; the answer read later. */
static int s_login_send(world_t *w, const char *name, const char *password)
{
    char body[256], req[768];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
    int n = snprintf(req, sizeof req,
                     "POST /v1/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     w->hq->http_addr, strlen(body), body);
    int fd = hbt_http_connect(w->hq->http);
    assert_true(fd >= 0);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    return fd;
}

static int s_login_status(int fd)
{
    char buf[4096];
    size_t used = 0;
    for (ssize_t n;
         used + 1 < sizeof buf && (n = recv(fd, buf + used, sizeof buf - used - 1, 0)) > 0;)
        used += (size_t)n;
    buf[used] = '\0';
    close(fd);
    int status = -1;
    sscanf(buf, "HTTP/1.1 %d", &status);
    return status;
}

HBT_TEST_IN(test_brute_force, NULL, NULL)
{
    (void)state;
    world_t *w = s_world("brute", false);
    char tok[64], cookie[64], csrf[64];
    hbt_hq_user(w->hq, "bea", tok, "--role", "viewer", NULL);
    hbt_hq_password(w->hq, "bea", "right password");
    /* A password check (Argon2id, tens of ms) does not hold HQ: a request
     * sent after it is answered before it. */
    int fd = s_login_send(w, "bea", "wrong password");
    hbt_sleep_ms(5);
    int64_t t0 = hbt_now_us();
    assert_int_equal(s_send(w, "GET", "/v1/me", tok, NULL, NULL), 200);
    int64_t me_us = hbt_now_us() - t0;
    assert_int_equal(s_login_status(fd), 401);
    int64_t login_us = hbt_now_us() - t0;
    fprintf(stderr, "while a password was checked: GET /v1/me in %lld us, the sign-in in %lld us\n",
            (long long)me_us, (long long)login_us);
    assert_true(me_us < login_us);
    for (int i = 0; i < 4; i++)
        assert_int_equal(hbt_hq_login(w->hq, "bea", "wrong password", cookie, csrf), 401);
    /* The sixth within the minute: 429 and when to come back, whatever the
     * password (it is not even checked). */
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"bea\",\"password\":\"right password\"}");
    assert_int_equal(s_send(w, "POST", "/v1/login", NULL, NULL, body), 429);
    char retry[32];
    assert_true(hbt_http_answer_header(s_answer, "Retry-After", retry, sizeof retry));
    assert_true(atoi(retry) >= 1 && atoi(retry) <= 60);
    /* The address is held too: another name from it waits as well. */
    assert_int_equal(hbt_hq_login(w->hq, "someone", "whatever", cookie, csrf), 429);
    /* Every attempt is in the audit log. */
    json_t *a = s_must(w, w->hq->token, "GET", "/v1/audit?who=bea", NULL, 200);
    size_t failed = 0, throttled = 0, i;
    json_t *r;
    json_array_foreach (json_object_get(a, "records"), i, r) {
        failed += strcmp(hbt_str(r, "action"), "login_failed") == 0;
        throttled += strcmp(hbt_str(r, "action"), "login_throttled") == 0;
    }
    assert_int_equal(failed, 5);
    assert_int_equal(throttled, 1);
    json_decref(a);
    hbt_world_state_teardown((void **)&w);
}

/* Guesses sent all at once are held as if one after the other: the checks
 * under way count, so no more than five are ever made for one name. */
HBT_TEST_IN(test_parallel_guesses, NULL, NULL)
{
    (void)state;
    world_t *w = s_world("burst", false);
    char tok[64];
    hbt_hq_user(w->hq, "ben", tok, "--role", "viewer", NULL);
    hbt_hq_password(w->hq, "ben", "right password");
    enum { N = 8 };
    int fds[N], unauth = 0, limited = 0;
    for (int i = 0; i < N; i++)
        fds[i] = s_login_send(w, "ben", "a guess");
    for (int i = 0; i < N; i++) {
        int st = s_login_status(fds[i]);
        unauth += st == 401;
        limited += st == 429;
    }
    fprintf(stderr, "%d guesses at once: %d checked (401), %d held (429)\n", N, unauth, limited);
    assert_int_equal(unauth + limited, N);
    assert_true(unauth <= 5);
    assert_true(limited >= N - 5);
    hbt_world_state_teardown((void **)&w);
}

/* ----------------------------------------------------------- TLS */

HBT_TEST_IN(test_tls_and_plain_http, NULL, NULL)
{
    (void)state;
    char root[256], out[8192], cert[320], key[320], data[320], keys[320], http[64], base[96];
    hbt_mkdtemp(root, sizeof root, "tls");
    snprintf(cert, sizeof cert, "%s/cert.pem", root);
    snprintf(key, sizeof key, "%s/key.pem", root);
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(keys, sizeof keys, "%s/keys", root);
    /* A self-signed certificate for 127.0.0.1, made here. */
    char san[] = "subjectAltName=IP:127.0.0.1,DNS:localhost";
    assert_int_equal(hbt_run_args(out, sizeof out, "openssl", "req", "-x509", "-newkey", "ec",
                                  "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                                  "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                                  san, NULL),
                     0);
    int port = hbt_free_port();
    snprintf(http, sizeof http, "127.0.0.1:%d", port);
    snprintf(base, sizeof base, "https://127.0.0.1:%d", port);
    char token[64];
    assert_int_equal(hbt_run_args(out, sizeof out, HQD, "users", "add", "tina", "--role", "admin",
                                  "--data", data, NULL),
                     0);
    char *nl = strrchr(out, '\n');
    *nl = '\0';
    snprintf(token, sizeof token, "%s", strrchr(out, '\n') + 1);
    char endpoint[64], log[400];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", hbt_free_port());
    snprintf(log, sizeof log, "%s/hqd.log", root);
    hbt_proc_t proc;
    char *argv[] = {HQD,      "--data", data,         "--keys", keys,        "--listen", endpoint,
                    "--http", http,     "--tls_cert", cert,     "--tls_key", key,        NULL};
    hbt_spawn(&proc, log, argv);
    hb_httpc_opts_t opts = {.timeout_ms = 3000, .cacert = cert, .token = token};
    hb_httpc_resp_t resp;
    char err[256];
    int rc = -1;
    for (int64_t end = hbt_now_ms() + 15000; hbt_now_ms() < end && rc != 0; hbt_sleep_ms(50))
        rc = hb_httpc_call(base, "GET", "/v1/health", NULL, &opts, &resp, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(resp.status, 200);
    hb_httpc_resp_free(&resp);
    assert_int_equal(hb_httpc_call(base, "GET", "/v1/me", NULL, &opts, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 200);
    hbt_assert_contains(resp.body, "\"tina\"");
    hb_httpc_resp_free(&resp);
    /* Not trusted without its certificate; plain HTTP gets no answer. */
    hb_httpc_opts_t untrusted = {.timeout_ms = 3000, .token = token};
    assert_int_not_equal(
        hb_httpc_call(base, "GET", "/v1/me", NULL, &untrusted, &resp, err, sizeof err), 0);
    hb_httpc_resp_free(&resp);
    char plain[96];
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d", port);
    rc = hb_httpc_call(plain, "GET", "/v1/health", NULL, &untrusted, &resp, err, sizeof err);
    assert_true(rc != 0 || resp.status >= 400);
    hb_httpc_resp_free(&resp);
    /* Signing in over TLS: the cookie is Secure. */
    char pw[600];
    snprintf(pw, sizeof pw, "printf 'tls password\\n' | %s users passwd tina --data %s", HQD, data);
    assert_int_equal(hbt_run_args(out, sizeof out, "/bin/sh", "-c", pw, NULL), 0);
    char url[128];
    snprintf(url, sizeof url, "%s/v1/login", base);
    assert_int_equal(hbt_run_args(out, sizeof out, "curl", "-s", "-i", "--cacert", cert, "-H",
                                  "Content-Type: application/json", "-d",
                                  "{\"name\":\"tina\",\"password\":\"tls password\"}", url, NULL),
                     0);
    hbt_assert_contains(out, "200");
    hbt_assert_contains(out, "; Secure");
    hbt_kill(&proc, SIGTERM);

    /* Plain HTTP off loopback: refused, unless asked for by name (and then
     * said at every start). */
    snprintf(http, sizeof http, "0.0.0.0:%d", hbt_free_port());
    assert_int_equal(hbt_run_args(out, sizeof out, HQD, "--data", data, "--keys", keys, "--listen",
                                  endpoint, "--http", http, NULL),
                     2);
    hbt_assert_contains(out, "insecure_http");
    assert_int_equal(hbt_run_args(out, sizeof out, HQD, "--data", data, "--keys", keys, "--listen",
                                  endpoint, "--http", "127.0.0.1:1", "--tls_cert", cert, NULL),
                     2);
    hbt_assert_contains(out, "tls_key");
    assert_int_equal(hbt_run_args(out, sizeof out, HQD, "--data", data, "--keys", keys, "--listen",
                                  endpoint, "--http", http, "--tls_cert", cert, "--tls_key", cert,
                                  NULL),
                     1);
    hbt_assert_contains(out, "cert.pem");
    snprintf(log, sizeof log, "%s/hqd2.log", root);
    char *insecure[] = {HQD,      "--data", data, "--keys",          keys, "--listen",
                        endpoint, "--http", http, "--insecure_http", NULL};
    hbt_spawn(&proc, log, insecure);
    char hp[64];
    snprintf(hp, sizeof hp, "http://127.0.0.1:%s", strrchr(http, ':') + 1);
    opts = (hb_httpc_opts_t){.timeout_ms = 3000};
    rc = -1;
    for (int64_t end = hbt_now_ms() + 15000; hbt_now_ms() < end && rc != 0; hbt_sleep_ms(50))
        rc = hb_httpc_call(hp, "GET", "/v1/health", NULL, &opts, &resp, err, sizeof err);
    assert_int_equal(rc, 0);
    hb_httpc_resp_free(&resp);
    hbt_kill(&proc, SIGTERM);
    assert_int_equal(
        hbt_run_args(out, sizeof out, "grep", "-c", "plain HTTP off loopback", log, NULL), 0);
    hbt_rmdir(root);
}
