/* Access control at the hall, with real processes and real HTTP: a branchd
 * that takes device tokens only (no --local_trust), its devices paired and
 * its staff enrolled by the real `branchd devices|staff` commands, and a
 * real hqd for the link and for HQ's revocations.
 *
 * - Every route of branchd_routes(), walked from the table: without a token
 *   401; by every kind of device that lacks the route's permission 403
 *   naming it; by another counter's terminal (or for another device) 403
 *   naming the scope; by every kind that holds it, in scope, neither.
 * - Staff sign in at a counter terminal with a PIN; the staff id on the
 *   counter's events (read back from HQ) is the signed-in one, never the
 *   body's; five wrong PINs lock a staff id (ten a terminal) for pin_lock.
 * - Devices and staff added or removed while branchd runs count from their
 *   next request; local trust is refused with a non-loopback address and
 *   works only on loopback; HTTPS with a certificate; a revocation HQ
 *   publishes with the policy cuts the device off. */
#include "harness.h"
#include "httpd.h"
#include "world.h"

#include "access.h"
#include "branchd.h"

#include "hallbus/httpc.h"
#include "hallbus/perm.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runner.h"

#define BRANCHD HB_BIN_DIR "/branchd/branchd"

/* The devices the hall starts with: one of each kind, two terminals. */
enum { K1, D1, T1, T2, M1, A1, NDEV };
static const struct {
    const char *name, *kind, *counter;
} s_devs[NDEV] = {
    [K1] = {"K1", "kiosk", NULL},  [D1] = {"D1", "display", NULL}, [T1] = {"T1", "counter", "1"},
    [T2] = {"T2", "counter", "2"}, [M1] = {"M1", "manager", NULL}, [A1] = {"A1", "adapter", NULL},
};

/* The world of world.h (hqd and hall H1) and the devices' tokens. */
typedef struct {
    hbt_world_t *world; /* first: hbt_world_state_new */
    hbt_hq_t *hq;
    hbt_hall_t *hall;
    char token[NDEV][ACCESS_TOKEN_TEXT];
    char token_id[NDEV][ACCESS_TOKEN_ID_TEXT];
} world_t;

/* ------------------------------------------------------------ helpers */

/* `branchd devices add` (the harness's): a device token is 43 characters. */
static void s_pair(world_t *w, const char *name, const char *kind, const char *counter,
                   char token[ACCESS_TOKEN_TEXT], char token_id[ACCESS_TOKEN_ID_TEXT])
{
    char line[128]; /* room for a token too long, which must fail */
    hbt_hall_add_device_id(w->hall, name, kind, counter, line, sizeof line, token_id,
                           ACCESS_TOKEN_ID_TEXT);
    assert_int_equal(strlen(line), 43);
    snprintf(token, ACCESS_TOKEN_TEXT, "%s", line);
}

/* `branchd staff add ID` with the PIN on standard input. */
static int s_enrol(world_t *w, const char *id, const char *pin, char *out, size_t outlen)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '%s' | %s staff add %s --data %s", pin, BRANCHD, id,
             w->hall->data);
    return hbt_run_args(out, outlen, "/bin/sh", "-c", cmd, NULL);
}

static int s_as(world_t *w, const char *token, const char *method, const char *path,
                const char *body, json_t **out)
{
    return hbt_http_as(w->hall->http, token, w->hall->cacert[0] ? w->hall->cacert : NULL, method,
                       path, body, out);
}

/* A streamed route (the live stream) never ends: its answer is judged by
 * its head and first message, on a raw connection (the world is plain
 * HTTP here). Returns the status. */
static int s_stream_status(world_t *w, const char *token, const char *path)
{
    const char *colon = strrchr(w->hall->http, ':');
    assert_non_null(colon);
    int fd = hbt_sock_connect(atoi(colon + 1));
    char req[512], buf[16384];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", path, token);
    hbt_sock_send(fd, req, (size_t)n);
    size_t got = 0;
    bool ok = hbt_sock_read_until(fd, buf, sizeof buf, &got, "event: hall");
    close(fd);
    int status = -1;
    if (ok && got > 12)
        status = atoi(buf + 9);
    return status;
}

static const char *s_str(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v ? v : "";
}

/* A request that must answer `want`, its body's error `code` (when given)
 * and a reason containing `says` (when given). Returns the body. */
static json_t *s_expect(world_t *w, const char *token, const char *method, const char *path,
                        const char *body, int want, const char *code, const char *says)
{
    json_t *o = NULL;
    int status = s_as(w, token, method, path, body, &o);
    char *dump = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (status != want || (code && strcmp(s_str(o, "error"), code) != 0) ||
        (says && !strstr(s_str(o, "reason"), says)))
        fail_msg("%s %s: %d %s, wanted %d %s '%s'", method, path, status, dump ? dump : "", want,
                 code ? code : "", says ? says : "");
    free(dump);
    return o;
}

static void s_ok(world_t *w, const char *token, const char *method, const char *path,
                 const char *body, int want)
{
    json_decref(s_expect(w, token, method, path, body, want, NULL, NULL));
}

/* A lock long enough that the checks made while it holds (a few requests)
 * end before it, on a loaded machine under ASan too: at 2 s they did not. */
#define PIN_LOCK_S 5

static void s_signin(world_t *w, int dev, const char *staff, const char *pin)
{
    char path[64], body[128];
    snprintf(path, sizeof path, "/v1/counters/%s/signin", s_devs[dev].counter);
    snprintf(body, sizeof body, "{\"staff\":\"%s\",\"pin\":\"%s\"}", staff, pin);
    json_t *o = s_expect(w, w->token[dev], "POST", path, body, 200, NULL, NULL);
    assert_string_equal(s_str(o, "staff"), staff);
    assert_string_equal(s_str(o, "counter"), s_devs[dev].counter);
    json_decref(o);
}

/* Signs `staff` in once the lock on it (or on the terminal) has run out:
 * refused as locked until then, never otherwise; within the lock and a
 * few seconds more. */
static void s_signin_after_lock(world_t *w, int dev, const char *staff, const char *pin)
{
    char path[64], body[128];
    snprintf(path, sizeof path, "/v1/counters/%s/signin", s_devs[dev].counter);
    snprintf(body, sizeof body, "{\"staff\":\"%s\",\"pin\":\"%s\"}", staff, pin);
    int64_t until = hbt_now_ms() + (PIN_LOCK_S + 5) * 1000;
    for (;;) {
        json_t *o = NULL;
        int status = s_as(w, w->token[dev], "POST", path, body, &o);
        if (status == 200) {
            assert_string_equal(s_str(o, "staff"), staff);
            json_decref(o);
            return;
        }
        if (status != 429 || strcmp(s_str(o, "error"), "locked") != 0)
            fail_msg("signing %s in after the lock: %d %s", staff, status, s_str(o, "error"));
        json_decref(o);
        if (hbt_now_ms() > until)
            fail_msg("%s still locked %d s after a lock of %d s", staff, PIN_LOCK_S + 5,
                     PIN_LOCK_S);
        hbt_sleep_ms(200);
    }
}

/* The route's pattern with its parameters filled in: the counter and the
 * device as given, fixed values for the rest. */
static void s_path(const char *pattern, const char *counter, const char *device, char *out,
                   size_t outlen)
{
    size_t used = 0;
    const char *p = pattern;
    out[0] = '\0';
    while (*p) {
        const char *seg = p + 1;
        size_t n = strcspn(seg, "/");
        const char *v = NULL;
        if (seg[0] == ':') {
            static const struct {
                const char *name, *value;
            } fixed[] = {{"ticket", "A001"}, {"complaint", "X1"},  {"action", "frob"},
                         {"staff", "S9"},    {"file", "hall.css"}, {"ref", "A001-00000000"},
                         {"patrol", "P1"},   {"code", "12345678"}};
            if (n == strlen(":counter") && strncmp(seg, ":counter", n) == 0)
                v = counter;
            else if (n == strlen(":device") && strncmp(seg, ":device", n) == 0)
                v = device;
            for (size_t i = 0; !v && i < sizeof fixed / sizeof fixed[0]; i++)
                if (n == strlen(fixed[i].name) + 1 && strncmp(seg + 1, fixed[i].name, n - 1) == 0)
                    v = fixed[i].value;
            assert_non_null(v);
            used += (size_t)snprintf(out + used, outlen - used, "/%s", v);
        } else {
            used += (size_t)snprintf(out + used, outlen - used, "/%.*s", (int)n, seg);
        }
        p = seg + n;
    }
}

static access_kind_t s_kind(int dev)
{
    access_kind_t k;
    assert_int_equal(access_kind_parse(s_devs[dev].kind, &k), 0);
    return k;
}

/* ------------------------------------------------------------- world */

/* hqd resends a rollout every second; H1 runs the always-open engine and
 * locks PINs for PIN_LOCK_S. */
static const hbt_world_spec_t s_world = {"access-hall", .halls = {"H1"},
                                         .hq_args = {"--rollout_resend", "1s"}, .engine = true};

static int s_setup(void **state)
{
    world_t *w = hbt_world_state_new(&s_world, sizeof *w);
    w->hq = &w->world->hq;
    w->hall = &w->world->hall[0];
    hbt_hall_arg(w->hall, "--pin_lock", "%ds", PIN_LOCK_S);
    w->hall->tokens_only = true;
    /* Paired and enrolled before branchd first starts: the commands make
     * the store. */
    for (int i = 0; i < NDEV; i++)
        s_pair(w, s_devs[i].name, s_devs[i].kind, s_devs[i].counter, w->token[i], w->token_id[i]);
    char out[1024];
    assert_int_equal(s_enrol(w, "S1", "1234", out, sizeof out), 0);
    assert_int_equal(s_enrol(w, "S2", "5678", out, sizeof out), 0);
    snprintf(w->hall->token, sizeof w->hall->token, "%s", w->token[M1]);
    hbt_hall_start(w->hall);
    *state = w;
    return 0;
}

/* --------------------------------------------------------- every route */

HBT_GROUP(s_setup, hbt_world_state_teardown);
#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_every_route)
{
    world_t *w = *state;
    size_t n;
    const hb_http_route_t *t = branchd_routes(&n);
    int checked = 0;
    for (size_t r = 0; r < n; r++) {
        const hb_http_route_t *rt = &t[r];
        /* A route that declares nothing fails here, as in its table's test. */
        if (!hb_perm_valid(rt->perm))
            fail_msg("route %s %s declares no permission", rt->method, rt->pattern);
        const char *perm = hb_perm_name(rt->perm);
        const char *body = strcmp(rt->method, "POST") == 0 ? "{}" : NULL;
        char path[300];
        s_path(rt->pattern, "1", "K1", path, sizeof path);

        /* Nobody: 401, and a token no device holds is nobody either. */
        if (rt->perm != HB_PERM_PUBLIC) {
            json_decref(s_expect(w, NULL, rt->method, path, body, 401, "unauthenticated",
                                 "Authorization: Bearer TOKEN"));
            json_decref(s_expect(w, "not-a-token-of-this-hall", rt->method, path, body, 401,
                                 "unauthenticated", "no paired device's"));
        } else {
            /* A page's files: anyone, with or without a token. */
            int st = s_as(w, NULL, rt->method, path, body, NULL);
            if (st == 401 || st == 403 || st < 0)
                fail_msg("public %s %s answered %d without a token", rt->method, path, st);
            checked++;
            continue;
        }
        int holders = 0;
        for (int d = 0; d < NDEV; d++) {
            access_kind_t kind = s_kind(d);
            /* A public route (a ticket's status by its reference) is
             * everyone's, token or not. */
            bool holds =
                rt->perm == HB_PERM_PUBLIC || (access_kind_perms(kind) & ACCESS_PERM(rt->perm));
            bool out_of_scope = rt->scope == HB_SCOPE_COUNTER && kind == ACCESS_KIND_COUNTER &&
                                strcmp(s_devs[d].counter, "1") != 0;
            if (!holds) {
                /* The wrong kind: 403 naming the permission. */
                json_t *o =
                    s_expect(w, w->token[d], rt->method, path, body, 403, "forbidden", perm);
                assert_string_equal(s_str(o, "permission"), perm);
                assert_null(json_object_get(o, "scope"));
                json_decref(o);
                continue;
            }
            holders++;
            if (out_of_scope) {
                /* Another counter's terminal: 403 naming the scope. */
                json_t *o = s_expect(w, w->token[d], rt->method, path, body, 403, "forbidden",
                                     "scope counter");
                assert_true(json_is_true(json_object_get(o, "scope")));
                json_decref(o);
                continue;
            }
            /* The right kind in scope: whatever the answer, not 401/403.
             * A terminal's changes wait for a signed-in staff: sign one in
             * (the sign-out route may have signed them out). */
            if (access_kind_needs_staff(kind) & ACCESS_PERM(rt->perm))
                s_signin(w, d, "S1", "1234");
            json_t *o = NULL;
            int status = strcmp(rt->pattern, "/v1/hall/events") == 0
                             ? s_stream_status(w, w->token[d], path)
                             : s_as(w, w->token[d], rt->method, path, body, &o);
            char *dump = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (status == 401 || status == 403 || status < 0)
                fail_msg("%s %s by %s %s: %d %s", rt->method, path, s_devs[d].kind, s_devs[d].name,
                         status, dump ? dump : "");
            free(dump);
            json_decref(o);
            checked++;
        }
        if (rt->perm != HB_PERM_PUBLIC && holders == 0)
            fail_msg("route %s %s: no kind of device holds %s", rt->method, rt->pattern, perm);
        /* A device reports for itself only. */
        if (rt->scope == HB_SCOPE_DEVICE) {
            s_path(rt->pattern, "1", "K9", path, sizeof path);
            json_t *o =
                s_expect(w, w->token[K1], rt->method, path, body, 403, "forbidden", "scope device");
            assert_true(json_is_true(json_object_get(o, "scope")));
            json_decref(o);
            /* A device that never reported reads as fine (GET), an
             * action of no row is 404, a status needs its body (400). */
            s_ok(w, w->token[M1], rt->method, path, body,
                 strcmp(path, "/v1/devices/K9/status") ? 404 : 400);
        }
    }
    print_message("[  INFO    ] %zu routes, %d allowed calls checked\n", n, checked);
    assert_true(n >= 41);

    /* An Authorization header of another scheme is no token. */
    hb_httpc_opts_t o = {.timeout_ms = 5000,
                         .headers = (const char *const[]){"Authorization: Basic QUJD"},
                         .n_headers = 1};
    hb_httpc_resp_t resp;
    char err[256];
    assert_int_equal(
        hb_httpc_call(w->hall->http, "GET", "/v1/hall", NULL, &o, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 401);
    hbt_assert_contains(resp.body, "must be 'Bearer TOKEN'");
    hb_httpc_resp_free(&resp);

    /* Counted, and said in the status. */
    json_t *st = s_expect(w, w->token[M1], "GET", "/v1/status", NULL, 200, NULL, NULL);
    json_t *acc = json_object_get(st, "access");
    assert_false(json_is_true(json_object_get(acc, "local_trust")));
    assert_true(hbt_int(acc, "unauthenticated") > 0);
    assert_true(hbt_int(acc, "forbidden") > 0);
    assert_int_equal(hbt_int(acc, "local"), 0);
    json_decref(st);
}

/* -------------------------------------------- staff on counter events */

/* The events of `type` HQ holds for H1 whose `member` is set, in order. */
static size_t s_hq_events(world_t *w, const char *type, const char *member, char (*out)[80],
                          size_t max)
{
    size_t n = 0;
    for (int64_t from = 1;;) {
        char path[128];
        snprintf(path, sizeof path, "/v1/halls/H1/events?from=%lld&limit=1000", (long long)from);
        json_t *page = hbt_get(w->hq->http, path);
        assert_non_null(page);
        size_t i;
        json_t *ev;
        json_array_foreach (json_object_get(page, "events"), i, ev) {
            if (strcmp(s_str(ev, "type"), type) == 0 && n < max)
                snprintf(out[n++], 80, "%s:%s", s_str(ev, "counter"), s_str(ev, member));
        }
        int64_t next = hbt_int(page, "next");
        json_decref(page);
        if (next <= from)
            return n;
        from = next;
    }
}

HBT_TEST(test_staff_on_counter_events)
{
    world_t *w = *state;
    const char *t1 = w->token[T1];
    s_ok(w, t1, "POST", "/v1/counters/1/signout", NULL, 200);
    /* Nobody signed in: the terminal changes nothing. */
    json_decref(s_expect(w, t1, "POST", "/v1/counters/1/open", "{\"services\":[\"A\"]}", 403,
                         "forbidden", "sign in first"));
    json_decref(s_expect(w, t1, "POST", "/v1/tickets/A001/cancel", NULL, 403, "forbidden",
                         "sign in first"));
    s_signin(w, T1, "S1", "1234");
    /* The body cannot name someone else. */
    json_decref(s_expect(w, t1, "POST", "/v1/counters/1/open",
                         "{\"staff\":\"S2\",\"services\":[\"A\"]}", 400, "bad_request",
                         "staff S2 is not the one signed in at this terminal (S1)"));
    json_t *c =
        s_expect(w, t1, "POST", "/v1/counters/1/open", "{\"services\":[\"A\"]}", 200, NULL, NULL);
    assert_string_equal(s_str(c, "staff"), "S1");
    json_decref(c);
    /* A customer, called, served and scored at counter 1. */
    json_t *tk =
        s_expect(w, w->token[K1], "POST", "/v1/tickets", "{\"service\":\"A\"}", 201, NULL, NULL);
    char ticket[16];
    snprintf(ticket, sizeof ticket, "%s", s_str(tk, "ticket"));
    json_decref(tk);
    s_ok(w, t1, "POST", "/v1/counters/1/call", NULL, 200);
    s_ok(w, t1, "POST", "/v1/counters/1/start", NULL, 200);
    s_ok(w, t1, "POST", "/v1/counters/1/complete", "{\"business_type\":\"bill_payment\"}", 200);
    json_decref(s_expect(w, t1, "POST", "/v1/feedback", "{\"score\":5,\"counter\":\"2\"}", 403,
                         "forbidden",
                         "scope counter: counter 1's terminal gives scores for "
                         "counter 1 only"));
    s_ok(w, t1, "POST", "/v1/feedback", "{\"score\":4}", 201);

    /* S2 takes over the terminal: S1's session is ended, never continued. */
    s_signin(w, T1, "S2", "5678");
    json_decref(s_expect(w, t1, "POST", "/v1/counters/1/call", NULL, 409, "wrong_state",
                         "counter 1 is open under staff S1, and S2 is signed in"));
    s_ok(w, t1, "POST", "/v1/counters/1/close", NULL, 200);
    c = s_expect(w, t1, "POST", "/v1/counters/1/open", "{\"services\":[\"A\",\"B\"]}", 200, NULL,
                 NULL);
    assert_string_equal(s_str(c, "staff"), "S2");
    json_decref(c);
    s_ok(w, t1, "POST", "/v1/counters/1/close", NULL, 200);
    s_ok(w, t1, "POST", "/v1/counters/1/signout", NULL, 200);
    json_decref(
        s_expect(w, t1, "POST", "/v1/counters/1/call", NULL, 403, "forbidden", "sign in first"));
    /* The duty manager's tablet acts at any counter, naming the staff. */
    json_decref(s_expect(w, w->token[M1], "POST", "/v1/counters/2/open", "{\"services\":[\"C\"]}",
                         400, "bad_request", "staff is required"));
    s_ok(w, w->token[M1], "POST", "/v1/counters/2/open", "{\"staff\":\"E9\",\"services\":[\"C\"]}",
         200);
    s_ok(w, w->token[M1], "POST", "/v1/counters/2/close", NULL, 200);

    /* What HQ stored: the signed-in staff on every counter event. */
    assert_true(hbt_wait_synced(w->hq, w->hall, 20000));
    char opened[16][80], started[16][80];
    size_t no = s_hq_events(w, "counter_opened", "staff", opened, 16);
    size_t ns = s_hq_events(w, "service_started", "staff", started, 16);
    /* The walk opened nothing (its bodies are empty); here: S1, S2, E9. */
    assert_int_equal(no, 3);
    assert_string_equal(opened[0], "1:S1");
    assert_string_equal(opened[1], "1:S2");
    assert_string_equal(opened[2], "2:E9");
    assert_int_equal(ns, 1);
    assert_string_equal(started[0], "1:S1");
}

/* ------------------------------------------------------------ PIN lock */

HBT_TEST(test_pin_lock)
{
    world_t *w = *state;
    const char *t2 = w->token[T2];
    const char *wrong = "{\"staff\":\"S2\",\"pin\":\"0000\"}";
    /* Not a PIN at all: refused, not counted. */
    json_decref(s_expect(w, t2, "POST", "/v1/counters/2/signin",
                         "{\"staff\":\"S2\",\"pin\":\"12\"}", 400, "bad_request",
                         "4 to 12 digits"));
    json_decref(s_expect(w, t2, "POST", "/v1/counters/2/signin",
                         "{\"staff\":\"S2\",\"pin\":\"12\\u00003456\"}", 400, "bad_json", NULL));
    json_decref(s_expect(w, t2, "POST", "/v1/counters/2/signin", "{\"staff\":\"S2\",\"pin\":1234}",
                         400, "bad_request", "pin must be a string"));
    for (int i = 0; i < ACCESS_PIN_TRIES; i++)
        json_decref(s_expect(w, t2, "POST", "/v1/counters/2/signin", wrong, 401, "wrong_pin",
                             "wrong staff id or PIN"));
    /* An unknown id gets the very same answer. */
    json_decref(s_expect(w, t2, "POST", "/v1/counters/2/signin",
                         "{\"staff\":\"ghost\",\"pin\":\"1234\"}", 401, "wrong_pin",
                         "wrong staff id or PIN"));
    /* Locked: the right PIN is refused too, at any terminal. */
    json_t *o =
        s_expect(w, t2, "POST", "/v1/counters/2/signin", "{\"staff\":\"S2\",\"pin\":\"5678\"}", 429,
                 "locked", "staff S2 is locked after 5 wrong PINs");
    assert_true(hbt_int(o, "retry_after_s") >= 1 && hbt_int(o, "retry_after_s") <= PIN_LOCK_S);
    json_decref(o);
    json_decref(s_expect(w, w->token[T1], "POST", "/v1/counters/1/signin",
                         "{\"staff\":\"S2\",\"pin\":\"5678\"}", 429, "locked", NULL));
    /* Per staff id: the terminal still signs others in. */
    s_signin(w, T2, "S1", "1234");
    s_signin_after_lock(w, T2, "S2", "5678");

    /* Ten wrong PINs at one terminal, whatever the ids: the terminal locks. */
    for (int i = 0; i < ACCESS_TERMINAL_TRIES; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"staff\":\"G%d\",\"pin\":\"0000\"}", i);
        json_decref(s_expect(w, t2, "POST", "/v1/counters/2/signin", body, 401, "wrong_pin", NULL));
    }
    json_decref(s_expect(w, t2, "POST", "/v1/counters/2/signin",
                         "{\"staff\":\"S1\",\"pin\":\"1234\"}", 429, "locked",
                         "this terminal is locked after 10 wrong PINs"));
    s_signin(w, T1, "S1", "1234");
    s_signin_after_lock(w, T2, "S1", "1234");
}

/* -------------------------------------------- changes while it runs */

HBT_TEST(test_devices_and_staff_while_running)
{
    world_t *w = *state;
    char token[ACCESS_TOKEN_TEXT], id[ACCESS_TOKEN_ID_TEXT], out[4096];
    s_pair(w, "K5", "kiosk", NULL, token, id);
    /* Paired a moment ago by another process: it works at once. */
    s_ok(w, token, "GET", "/v1/hall", NULL, 200);
    s_ok(w, token, "POST", "/v1/tickets", "{\"service\":\"B\"}", 201);
    assert_int_equal(
        hbt_run_args(out, sizeof out, BRANCHD, "devices", "list", "--data", w->hall->data, NULL),
        0);
    hbt_assert_contains(out, "K5 ");
    hbt_assert_contains(out, id);
    /* The name is taken; and removed, the token fails at its next request. */
    char t2[ACCESS_TOKEN_TEXT], id2[ACCESS_TOKEN_ID_TEXT];
    assert_int_equal(hbt_run_args(out, sizeof out, BRANCHD, "devices", "add", "K5", "--kind",
                                  "kiosk", "--data", w->hall->data, NULL),
                     2);
    hbt_assert_contains(out, "device K5 is paired already");
    assert_int_equal(hbt_run_args(out, sizeof out, BRANCHD, "devices", "remove", "K5", "--data",
                                  w->hall->data, NULL),
                     0);
    json_decref(s_expect(w, token, "GET", "/v1/hall", NULL, 401, "unauthenticated", NULL));
    /* Paired again: a new token; the old one stays dead. */
    s_pair(w, "K5", "kiosk", NULL, t2, id2);
    assert_string_not_equal(token, t2);
    assert_string_not_equal(id, id2);
    s_ok(w, t2, "GET", "/v1/hall", NULL, 200);
    s_ok(w, token, "GET", "/v1/hall", NULL, 401);

    /* Misuse of the commands: exit 2, naming what is wrong. */
    const struct {
        const char *args[10];
        const char *says;
    } bad[] = {
        {{"devices", "add", "X", "--kind", "toaster", "--data", w->hall->data},
         "--kind 'toaster' is not a kind: kiosk, counter, display, manager, adapter"},
        {{"devices", "add", "X", "--kind", "counter", "--data", w->hall->data},
         "a counter terminal needs its counter"},
        {{"devices", "add", "X", "--kind", "kiosk", "--counter", "3", "--data", w->hall->data},
         "only a counter terminal has a counter"},
        {{"devices", "add", "X", "--data", w->hall->data}, "--kind is required"},
        {{"devices", "add", "a b", "--kind", "kiosk", "--data", w->hall->data},
         "is not a device name"},
        {{"devices", "add", "X", "--kind", "kiosk"}, "--data is required"},
        {{"devices", "remove", "nobody", "--data", w->hall->data}, "no device 'nobody' is paired"},
        {{"devices", "frob", "--data", w->hall->data}, "unknown command 'frob'"},
        {{"staff", "remove", "nobody", "--data", w->hall->data}, "no staff 'nobody'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[12] = {BRANCHD};
        for (int k = 0; k < 10 && bad[i].args[k]; k++)
            argv[k + 1] = (char *)bad[i].args[k];
        int rc = hbt_run(argv, out, sizeof out);
        if (rc != 2 || !strstr(out, bad[i].says))
            fail_msg("case %zu: exit %d: %s", i, rc, out);
    }

    /* No PIN on standard input, or one that is no PIN. */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s staff add S6 --data %s </dev/null", BRANCHD, w->hall->data);
    assert_int_equal(hbt_run_args(out, sizeof out, "/bin/sh", "-c", cmd, NULL), 2);
    hbt_assert_contains(out, "give the PIN on standard input, 4 to 12 digits on one line");
    assert_int_equal(s_enrol(w, "S6", "12ab", out, sizeof out), 2);
    hbt_assert_contains(out, "give the PIN on standard input");

    /* Staff enrolled by the command while branchd runs sign in at once;
     * removed, they are signed out. */
    assert_int_equal(s_enrol(w, "S5", "24680", out, sizeof out), 0);
    assert_int_equal(s_enrol(w, "S5", "11111", out, sizeof out), 2);
    hbt_assert_contains(out, "staff S5 exists already");
    s_signin(w, T1, "S5", "24680");
    s_ok(w, w->token[T1], "POST", "/v1/tickets/A001/recall", NULL, 409);
    assert_int_equal(hbt_run_args(out, sizeof out, BRANCHD, "staff", "remove", "S5", "--data",
                                  w->hall->data, NULL),
                     0);
    json_decref(s_expect(w, w->token[T1], "POST", "/v1/tickets/A001/recall", NULL, 403, "forbidden",
                         "sign in first"));
    assert_int_equal(
        hbt_run_args(out, sizeof out, BRANCHD, "staff", "list", "--data", w->hall->data, NULL), 0);
    hbt_assert_contains(out, "S1 ");
    assert_null(strstr(out, "S5 "));
}

/* The duty manager keeps the staff through the API. */
HBT_TEST(test_staff_api)
{
    world_t *w = *state;
    const char *m = w->token[M1];
    json_t *o = s_expect(w, m, "GET", "/v1/staff", NULL, 200, NULL, NULL);
    assert_int_equal(hbt_int(o, "count"), 2);
    assert_string_equal(s_str(json_array_get(json_object_get(o, "staff"), 0), "staff"), "S1");
    json_decref(o);
    s_ok(w, m, "POST", "/v1/staff", "{\"staff\":\"S3\",\"pin\":\"4321\"}", 201);
    json_decref(s_expect(w, m, "POST", "/v1/staff", "{\"staff\":\"S3\",\"pin\":\"9999\"}", 409,
                         "exists", "staff S3 exists already"));
    json_decref(s_expect(w, m, "POST", "/v1/staff", "{\"staff\":\"S 4\",\"pin\":\"4321\"}", 400,
                         "bad_request", "is not a staff id"));
    json_decref(s_expect(w, m, "POST", "/v1/staff", "{\"staff\":\"S4\",\"pin\":\"43a1\"}", 400,
                         "bad_request", "a PIN is 4 to 12 digits"));
    json_decref(s_expect(w, m, "POST", "/v1/staff", "{\"staff\":\"S4\",\"pin\":\"4321\\u0000\"}",
                         400, "bad_json", NULL));
    json_decref(s_expect(w, m, "POST", "/v1/staff", "{\"staff\":\"S4\",\"pin\":\"4321\",\"x\":1}",
                         400, "bad_request", "unknown member 'x'"));
    json_decref(s_expect(w, m, "POST", "/v1/staff", "{\"staff\":\"S4\"}", 400, "bad_request",
                         "pin is required"));
    s_signin(w, T1, "S3", "4321");
    o = s_expect(w, m, "DELETE", "/v1/staff/S3", NULL, 200, NULL, NULL);
    assert_true(json_is_true(json_object_get(o, "removed")));
    json_decref(o);
    json_decref(s_expect(w, w->token[T1], "POST", "/v1/counters/1/call", NULL, 403, "forbidden",
                         "sign in first"));
    json_decref(s_expect(w, m, "DELETE", "/v1/staff/S3", NULL, 404, "not_found", "no staff 'S3'"));
    json_decref(s_expect(w, w->token[T1], "POST", "/v1/counters/1/signin",
                         "{\"staff\":\"S3\",\"pin\":\"4321\"}", 401, "wrong_pin", NULL));
}

/* --------------------------------------------------------- local trust */

HBT_TEST(test_local_trust)
{
    world_t *w = *state;
    char out[8192], http[64];
    snprintf(http, sizeof http, "0.0.0.0:%d", hbt_free_port());
    char *refused[] = {BRANCHD, "--id",          "H1",     "--data",     w->hall->data,
                       "--hq",  w->hq->endpoint, "--keys", w->hall->dir, "--http",
                       http,    "--local_trust", "true",   NULL};
    assert_int_equal(hbt_run(refused, out, sizeof out), 2);
    hbt_assert_contains(out, "local_trust needs a loopback http address, and http = 0.0.0.0:");
    snprintf(http, sizeof http, ":%d", hbt_free_port());
    assert_int_equal(hbt_run(refused, out, sizeof out), 2);
    hbt_assert_contains(out, "is not one");
    char *half_tls[] = {
        BRANCHD,         "--id",   "H1",         "--data",     w->hall->data,      "--hq",
        w->hq->endpoint, "--keys", w->hall->dir, "--tls_cert", "/nonexistent.pem", NULL};
    assert_int_equal(hbt_run(half_tls, out, sizeof out), 2);
    hbt_assert_contains(out, "tls_cert and tls_key go together");

    /* On loopback with local_trust: no token is the duty manager; a token,
     * when sent, is judged as ever. */
    hbt_hall_stop(w->hall, SIGTERM);
    w->hall->tokens_only = false;
    hbt_hall_start(w->hall);
    /* A sign-in outlives the restart (test_pin_lock left S1 at T2): the
     * engine answers, not the guard's "sign in first". */
    json_decref(s_expect(w, w->token[T2], "POST", "/v1/counters/2/call", NULL, 409, "wrong_state",
                         "counter '2' is not open"));
    s_ok(w, NULL, "GET", "/v1/status", NULL, 200);
    s_ok(w, NULL, "GET", "/v1/staff", NULL, 200);
    json_decref(s_expect(w, NULL, "POST", "/v1/counters/1/signin",
                         "{\"staff\":\"S1\",\"pin\":\"1234\"}", 403, "forbidden",
                         "does not hold staff.signin"));
    json_decref(s_expect(w, "not-a-token-of-this-hall", "GET", "/v1/hall", NULL, 401,
                         "unauthenticated", NULL));
    json_decref(s_expect(w, w->token[K1], "POST", "/v1/counters/1/open", "{}", 403, "forbidden",
                         "counter.act"));
    json_t *st = s_expect(w, NULL, "GET", "/v1/status", NULL, 200, NULL, NULL);
    assert_true(json_is_true(json_object_get(json_object_get(st, "access"), "local_trust")));
    assert_true(hbt_int(json_object_get(st, "access"), "local") >= 3);
    json_decref(st);
    hbt_hall_stop(w->hall, SIGTERM);
    w->hall->tokens_only = true;
    hbt_hall_start(w->hall);
    s_ok(w, NULL, "GET", "/v1/status", NULL, 401);
}

/* ------------------------------------------------------------------ TLS */

HBT_TEST(test_tls_on_the_hall_network)
{
    world_t *w = *state;
    char cert[300], key[300], out[4096];
    snprintf(cert, sizeof cert, "%s/hall-cert.pem", w->world->root);
    snprintf(key, sizeof key, "%s/hall-key.pem", w->world->root);
    int rc = hbt_run_args(out, sizeof out, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                          "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key,
                          "-out", cert, NULL);
    if (rc != 0)
        fail_msg("openssl: %s", out);
    hbt_hall_stop(w->hall, SIGTERM);
    /* Every address (the hall's network too), tokens only, HTTPS. */
    hbt_hall_t saved = *w->hall;
    int port = hbt_free_port();
    snprintf(w->hall->http_addr, sizeof w->hall->http_addr, "0.0.0.0:%d", port);
    snprintf(w->hall->http, sizeof w->hall->http, "https://127.0.0.1:%d", port);
    snprintf(w->hall->cacert, sizeof w->hall->cacert, "%s", cert);
    hbt_hall_arg(w->hall, "--tls_cert", "%s", cert);
    hbt_hall_arg(w->hall, "--tls_key", "%s", key);
    hbt_hall_start(w->hall);
    s_ok(w, w->token[M1], "GET", "/v1/status", NULL, 200);
    s_ok(w, NULL, "GET", "/v1/hall", NULL, 401);
    s_ok(w, w->token[D1], "GET", "/v1/hall", NULL, 200);
    json_t *st = s_expect(w, w->token[M1], "GET", "/v1/status", NULL, 200, NULL, NULL);
    assert_true(json_is_true(json_object_get(json_object_get(st, "access"), "tls")));
    json_decref(st);
    /* Plain HTTP gets no answer there. */
    char plain[64];
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d", port);
    assert_true(hbt_http_as(plain, w->token[M1], NULL, "GET", "/v1/status", NULL, NULL) < 0);
    /* And it warned that it listens beyond loopback. */
    hbt_hall_stop(w->hall, SIGTERM);
    FILE *f = fopen(w->hall->proc.log, "r");
    assert_non_null(f);
    char line[1024];
    bool said = false;
    while (fgets(line, sizeof line, f))
        said = said || strstr(line, "HTTPS, device tokens on every request");
    fclose(f);
    assert_true(said);
    *w->hall = saved;
    hbt_hall_start(w->hall);
}

/* ------------------------------------------------- HQ's revocations */

HBT_TEST(test_revocation_from_hq)
{
    world_t *w = *state;
    json_t *o = NULL;
    assert_int_equal(
        hbt_http(w->hq->http, "PUT", "/v1/org",
                 "{\"regions\":[{\"id\":\"CN\",\"name\":\"HQ\",\"level\":\"national\"},"
                 "{\"id\":\"P01\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"
                 "{\"id\":\"C001\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P01\"}],"
                 "\"halls\":[{\"id\":\"H1\",\"city\":\"C001\"}]}",
                 NULL),
        200);
    assert_int_equal(
        hbt_http(w->hq->http, "PUT", "/v1/policies/national", HBT_POLICY_ALWAYS_OPEN, NULL), 200);
    /* K3 is paired after `before`: a revocation of pairings before it
     * spares it. */
    char before[HB_RFC3339_MAX], k3[ACCESS_TOKEN_TEXT], k3_id[ACCESS_TOKEN_ID_TEXT];
    hb_time_format(hb_now_ms() - 1, before);
    hbt_sleep_ms(20);
    s_pair(w, "K3", "kiosk", NULL, k3, k3_id);
    s_ok(w, k3, "GET", "/v1/hall", NULL, 200);
    char doc[1024];
    snprintf(doc, sizeof doc,
             "{\"revoked_devices\":[{\"device\":\"K1\"},{\"token\":\"%s\"},"
             "{\"device\":\"K3\",\"paired_before\":\"%s\"}]}",
             w->token_id[D1], before);
    int status = hbt_http(w->hq->http, "PUT", "/v1/policies/halls/H1", doc, &o);
    if (status != 200)
        fail_msg("PUT the hall's policy: %d %s", status, o ? json_dumps(o, 0) : "");
    json_decref(o);
    /* As the harness's admin (its token goes with every request to HQ):
     * who publishes comes from the credentials, never from the body. */
    assert_int_equal(hbt_http(w->hq->http, "POST", "/v1/policies/publish", "{}", &o), 200);
    int64_t version = hbt_int(o, "version");
    json_decref(o);
    assert_true(version >= 1);

    int64_t deadline = hbt_now_ms() + 20000, applied = 0;
    while (hbt_now_ms() < deadline && applied != version) {
        json_t *st = s_expect(w, w->token[M1], "GET", "/v1/status", NULL, 200, NULL, NULL);
        applied = hbt_int(json_object_get(st, "downlink"), "policy_version");
        json_decref(st);
        if (applied != version)
            hbt_sleep_ms(100);
    }
    assert_int_equal(applied, version);
    /* Cut off at once: K1 by name, D1 by its token's id. The others, K3
     * (paired after the time given) among them, go on. */
    json_decref(s_expect(w, w->token[K1], "GET", "/v1/hall", NULL, 401, "unauthenticated", NULL));
    json_decref(s_expect(w, w->token[D1], "GET", "/v1/hall", NULL, 401, "unauthenticated", NULL));
    s_ok(w, k3, "GET", "/v1/hall", NULL, 200);
    s_ok(w, w->token[T1], "GET", "/v1/hall", NULL, 200);
    s_ok(w, w->token[A1], "GET", "/v1/hall", NULL, 200);
    json_t *st = s_expect(w, w->token[M1], "GET", "/v1/status", NULL, 200, NULL, NULL);
    assert_int_equal(hbt_int(json_object_get(st, "access"), "devices_revoked"), 2);
    json_decref(st);
    /* Deleted from the store, which another process reads. */
    char out[4096];
    assert_int_equal(
        hbt_run_args(out, sizeof out, BRANCHD, "devices", "list", "--data", w->hall->data, NULL),
        0);
    assert_null(strstr(out, "\nK1 "));
    assert_null(strstr(out, "\nD1 "));
    hbt_assert_contains(out, "\nK3 ");
    /* The policy says so, as the hall runs it. */
    json_t *p = s_expect(w, w->token[M1], "GET", "/v1/policy", NULL, 200, NULL, NULL);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(p, "policy"), "revoked_devices")), 3);
    json_decref(p);

    /* A restart keeps them out; K1 paired again under its name is cut off
     * too, as long as HQ's entry names K1 whenever paired. */
    hbt_hall_stop(w->hall, SIGTERM);
    hbt_hall_start(w->hall);
    json_decref(s_expect(w, w->token[K1], "GET", "/v1/hall", NULL, 401, "unauthenticated", NULL));
    char k1[ACCESS_TOKEN_TEXT], k1_id[ACCESS_TOKEN_ID_TEXT];
    s_pair(w, "K1", "kiosk", NULL, k1, k1_id);
    json_decref(s_expect(w, k1, "GET", "/v1/hall", NULL, 401, "unauthenticated", "revoked by HQ"));
    s_ok(w, k3, "GET", "/v1/hall", NULL, 200);
}
