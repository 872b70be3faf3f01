/* hallctl login and logout against a real hqd: the token HQ makes for a
 * person's password (POST /v1/tokens) kept in ~/.config/hallbus/token
 * (0600, folder 0700, with the HQ it is for), sent by later commands to
 * that HQ only and never over --token or $HALLBUS_TOKEN, refused when
 * others can read it; logout revokes it at HQ (POST /v1/tokens/revoke) and
 * deletes the file. Also every refusal of the two routes, and the audit
 * record of a token asked with a password. HOME is a fresh folder per test
 * run, so the runner's own token file is never touched. */
#include "harness.h"

#include "hallbus/httpc.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner.h"

#define HALLCTL HB_BIN_DIR "/tools/hallctl"
#define PASSWORD "lena-pass 1"

typedef struct world {
    char root[256];
    char home[300];
    char file[400];
    hbt_hq_t hq;
} world_t;

static int s_setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    hbt_mkdtemp(w->root, sizeof w->root, "hallctl-login");
    snprintf(w->home, sizeof w->home, "%s/home", w->root);
    assert_int_equal(mkdir(w->home, 0700), 0);
    snprintf(w->file, sizeof w->file, "%s/.config/hallbus/token", w->home);
    hbt_hq_init(&w->hq, w->root);
    hbt_hq_start(&w->hq);
    char tok[64];
    hbt_hq_user(&w->hq, "lena", tok, "--role", "operator", NULL);
    hbt_hq_password(&w->hq, "lena", PASSWORD);
    unsetenv("HALLBUS_TOKEN");
    unsetenv("HALLBUS_HQ");
    unsetenv("XDG_CONFIG_HOME");
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hbt_hq_stop(&w->hq, SIGTERM);
    hbt_rmdir(w->root);
    free(w);
    return 0;
}

/* hallctl with HOME set to the test's, `input` on standard input (NULL:
 * nothing), and `args` after it (one shell-quoted string each). */
static int s_hallctl(world_t *w, const char *input, char *out, size_t outlen, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "printf '%%s' '%s' | HOME='%s' '%s' %s", input ? input : "", w->home,
             HALLCTL, args);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hbt_run(argv, out, outlen);
}

/* The stored token (line 1) and HQ (line 2). */
static void s_read_file(world_t *w, char *token, size_t tlen, char *hq, size_t hlen)
{
    FILE *f = fopen(w->file, "r");
    assert_non_null(f);
    assert_non_null(fgets(token, (int)tlen, f));
    assert_non_null(fgets(hq, (int)hlen, f));
    fclose(f);
    token[strcspn(token, "\n")] = '\0';
    hq[strcspn(hq, "\n")] = '\0';
}

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_login_use_logout)
{
    world_t *w = *state;
    char out[8192], args[1024];

    /* Without a stored token nothing names the caller: 401. */
    snprintf(args, sizeof args, "halls --hq '%s'", w->hq.http);
    assert_int_equal(s_hallctl(w, NULL, out, sizeof out, args), 1);
    hbt_assert_contains(out, "401");

    /* A wrong password: refused, nothing stored. */
    snprintf(args, sizeof args, "login lena --hq '%s'", w->hq.http);
    assert_int_equal(s_hallctl(w, "wrong\n", out, sizeof out, args), 1);
    hbt_assert_contains(out, "wrong name or password");
    assert_int_not_equal(access(w->file, F_OK), 0);
    /* No password at all: bad usage, nothing asked. */
    assert_int_equal(s_hallctl(w, "", out, sizeof out, args), 2);
    hbt_assert_contains(out, "no password on standard input");

    /* The right one: a token in the file, 0600 in a folder of 0700. */
    int rc = s_hallctl(w, PASSWORD "\n", out, sizeof out, args);
    if (rc != 0)
        fail_msg("hallctl login: exit %d: %s", rc, out);
    hbt_assert_contains(out, "logged in to");
    hbt_assert_contains(out, "as lena");
    struct stat st;
    assert_int_equal(stat(w->file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/.config/hallbus", w->home);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char token[256], hq[256];
    s_read_file(w, token, sizeof token, hq, sizeof hq);
    assert_string_equal(hq, w->hq.http);
    assert_int_equal(strncmp(token, "hqt_", 4), 0);
    assert_null(strstr(out, token)); /* never printed */
    json_t *me = NULL;
    assert_int_equal(hbt_http_as(w->hq.http, token, NULL, "GET", "/v1/me", NULL, &me), 200);
    assert_string_equal(json_string_value(json_object_get(me, "name")), "lena");
    const char *tname = json_string_value(json_object_get(me, "token"));
    assert_non_null(tname);
    hbt_assert_contains(tname, "hallctl-");
    char token_name[80];
    snprintf(token_name, sizeof token_name, "%s", tname);
    json_decref(me);

    /* Later commands to that HQ carry it. */
    snprintf(args, sizeof args, "halls --hq '%s' --json", w->hq.http);
    rc = s_hallctl(w, NULL, out, sizeof out, args);
    if (rc != 0)
        fail_msg("hallctl halls with the stored token: exit %d: %s", rc, out);
    /* --token and $HALLBUS_TOKEN win over it. */
    snprintf(args, sizeof args, "halls --hq '%s' --token not-a-token", w->hq.http);
    assert_int_equal(s_hallctl(w, NULL, out, sizeof out, args), 1);
    hbt_assert_contains(out, "401");
    snprintf(args, sizeof args, "halls --hq '%s'", w->hq.http);
    setenv("HALLBUS_TOKEN", "not-a-token", 1);
    rc = s_hallctl(w, NULL, out, sizeof out, args);
    unsetenv("HALLBUS_TOKEN");
    assert_int_equal(rc, 1);
    hbt_assert_contains(out, "401");
    /* Another HQ (the same one by another name) never sees it. */
    char other[128];
    snprintf(other, sizeof other, "http://localhost:%s", strrchr(w->hq.http, ':') + 1);
    snprintf(args, sizeof args, "halls --hq '%s'", other);
    assert_int_equal(s_hallctl(w, NULL, out, sizeof out, args), 1);
    hbt_assert_contains(out, "401");
    /* A file others can read is not used, and says so. */
    assert_int_equal(chmod(w->file, 0644), 0);
    snprintf(args, sizeof args, "halls --hq '%s'", w->hq.http);
    assert_int_equal(s_hallctl(w, NULL, out, sizeof out, args), 1);
    hbt_assert_contains(out, "can be read by others (mode 0644)");
    assert_int_equal(chmod(w->file, 0600), 0);

    /* The token's issue is in the audit log, from the password. */
    json_t *audit = NULL;
    snprintf(args, sizeof args, "/v1/audit?who=lena&object=%s", token_name);
    assert_int_equal(hbt_http(w->hq.http, "GET", args, NULL, &audit), 200);
    json_t *rec = json_array_get(json_object_get(audit, "records"), 0);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "action")), "token_issued");
    assert_string_equal(json_string_value(json_object_get(rec, "route")), "/v1/tokens");
    assert_string_equal(json_string_value(json_object_get(rec, "via")), "password");
    json_decref(audit);

    /* logout: revoked at HQ, the file gone. */
    rc = s_hallctl(w, NULL, out, sizeof out, "logout");
    if (rc != 0)
        fail_msg("hallctl logout: exit %d: %s", rc, out);
    hbt_assert_contains(out, "revoked");
    assert_int_not_equal(access(w->file, F_OK), 0);
    assert_int_equal(hbt_http_as(w->hq.http, token, NULL, "GET", "/v1/me", NULL, NULL), 401);
    assert_int_equal(s_hallctl(w, NULL, out, sizeof out, "logout"), 1);
    hbt_assert_contains(out, "not logged in");

    /* A stored token HQ no longer takes (revoked on the HQ host): logout
     * just deletes the file. */
    snprintf(args, sizeof args, "login lena --hq '%s'", w->hq.http);
    assert_int_equal(s_hallctl(w, PASSWORD "\n", out, sizeof out, args), 0);
    s_read_file(w, token, sizeof token, hq, sizeof hq);
    assert_int_equal(hbt_http_as(w->hq.http, token, NULL, "GET", "/v1/me", NULL, &me), 200);
    snprintf(token_name, sizeof token_name, "%s", json_string_value(json_object_get(me, "token")));
    json_decref(me);
    assert_int_equal(hbt_run_args(out, sizeof out, HB_BIN_DIR "/hqd/hqd", "users", "token", "lena",
                                  "--revoke", token_name, "--data", w->hq.data, NULL),
                     0);
    rc = s_hallctl(w, NULL, out, sizeof out, "logout");
    if (rc != 0)
        fail_msg("hallctl logout of a revoked token: exit %d: %s", rc, out);
    hbt_assert_contains(out, "no longer worked");
    assert_int_not_equal(access(w->file, F_OK), 0);
}

/* Every refusal of POST /v1/tokens and POST /v1/tokens/revoke. */
HBT_TEST(test_token_routes_refuse)
{
    world_t *w = *state;
    char req[2048], ans[16384];
    /* Not JSON by its type: as a cross-site form would send it. */
    const char *body = "{\"name\":\"lena\",\"password\":\"" PASSWORD "\",\"token_name\":\"t1\"}";
    snprintf(req, sizeof req,
             "POST /v1/tokens HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             w->hq.http_addr, strlen(body), body);
    assert_int_equal(hbt_http_send_raw(w->hq.http, req, ans, sizeof ans), 415);
    static const struct {
        const char *body;
        int status;
        const char *says;
    } bad[] = {
        {"{\"name\":\"lena\",\"password\":\"" PASSWORD "\"}", 400, "token_name"},
        {"{\"name\":\"lena\",\"password\":\"" PASSWORD "\",\"token_name\":\"a b\"}", 400,
         "token_name"},
        {"{\"name\":\"lena\",\"password\":\"" PASSWORD "\",\"token_name\":\"t1\",\"by\":\"x\"}",
         400, "nothing else"},
        {"{\"name\":\"lena\",\"password\":\"nope\",\"token_name\":\"t1\"}", 401,
         "wrong name or password"},
        {"{\"name\":\"lena\",\"password\":\"" PASSWORD "\",\"token_name\":\"t1\"}", 201, "hqt_"},
        {"{\"name\":\"lena\",\"password\":\"" PASSWORD "\",\"token_name\":\"t1\"}", 409, "exists"},
    };
    char token[128] = "";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = NULL;
        int st = hbt_http_as(w->hq.http, NULL, NULL, "POST", "/v1/tokens", bad[i].body, &o);
        char *text = o ? json_dumps(o, 0) : NULL;
        if (st != bad[i].status || !text || !strstr(text, bad[i].says))
            fail_msg("POST /v1/tokens %s: %d %s, wanted %d and \"%s\"", bad[i].body, st,
                     text ? text : "", bad[i].status, bad[i].says);
        if (st == 201)
            snprintf(token, sizeof token, "%s", json_string_value(json_object_get(o, "token")));
        free(text);
        json_decref(o);
    }
    /* Revoking: only one's own live tokens, by name. */
    static const struct {
        const char *body;
        int status;
        const char *says;
    } rv[] = {
        {"{\"token_name\":\"nosuch\"}", 404, "no live token named 'nosuch'"},
        {"{\"token_name\":\"t1\",\"x\":1}", 400, "token_name"},
        {"{", 400, "token_name"},
        {"{\"token_name\":\"t1\"}", 200, "\"revoked\":\"t1\""},
    };
    for (size_t i = 0; i < sizeof rv / sizeof rv[0]; i++) {
        json_t *o = NULL;
        int st = hbt_http_as(w->hq.http, token, NULL, "POST", "/v1/tokens/revoke", rv[i].body, &o);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (st != rv[i].status || !text || !strstr(text, rv[i].says))
            fail_msg("POST /v1/tokens/revoke %s: %d %s, wanted %d and \"%s\"", rv[i].body, st,
                     text ? text : "", rv[i].status, rv[i].says);
        free(text);
        json_decref(o);
    }
    /* It revoked itself: the next request is nobody's. */
    assert_int_equal(hbt_http_as(w->hq.http, token, NULL, "GET", "/v1/me", NULL, NULL), 401);
    /* The admin's token revokes only the admin's own: lena's are not theirs. */
    json_t *o = NULL;
    int st = hbt_http(w->hq.http, "POST", "/v1/tokens/revoke", "{\"token_name\":\"t1\"}", &o);
    assert_int_equal(st, 404);
    json_decref(o);
}
