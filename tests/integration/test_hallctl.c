/* Tests of the hallctl binary (an integration test: it spawns the real
 * program): enrolment writes what branchd and hqd read,
 * and every misuse is refused with a message and the right exit code (2 for
 * bad usage, 1 for a failed operation), changing nothing. The hall commands
 * are checked here without a server (usage only); the integration test
 * test_hall_api drives them against a real branchd. */
#include "harness.h"

#include "hallbus/cert.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

#define HALLCTL HB_BIN_DIR "/tools/hallctl"

static hbt_tmpdir_t s_tmp = {.tag = "hallctl"};

static int s_hallctl(char *out, size_t len, const char *a1, const char *a2, const char *a3,
                     const char *a4, const char *a5, const char *a6, const char *a7, const char *a8)
{
    char *argv[] = {HALLCTL,    (char *)a1, (char *)a2, (char *)a3, (char *)a4,
                    (char *)a5, (char *)a6, (char *)a7, (char *)a8, NULL};
    return hbt_run(argv, out, len);
}

/* hallctl enroll of hall H1 in region north into HQ's keys at `hq` and the
 * hall's folder `out`, reaching HQ at `endpoint` (none given when NULL). */
static int s_enroll_h1(char *text, size_t len, const char *hq, const char *out,
                       const char *endpoint)
{
    return hbt_run_args(text, len, HALLCTL, "enroll", "H1", "--region", "north", "--hq-keys", hq,
                        "--out", out, endpoint ? "--hq-endpoint" : NULL, endpoint, NULL);
}

#define HBT_FIXTURE hbt_tmpdir_setup, hbt_tmpdir_teardown, &s_tmp

HBT_TEST(test_enroll_writes_both_sides)
{
    (void)state;
    char hq[300], out[300], text[4096], path[600];
    snprintf(hq, sizeof hq, "%s/hq", s_tmp.path);
    snprintf(out, sizeof out, "%s/H1", s_tmp.path);
    /* Where the hall reaches HQ is never guessed: no --hq-endpoint is bad
     * usage, and nothing is written. */
    assert_int_equal(s_enroll_h1(text, sizeof text, hq, out, NULL), 2);
    assert_non_null(strstr(text, "--hq-endpoint is required"));
    assert_int_not_equal(access(out, F_OK), 0);
    assert_int_equal(s_enroll_h1(text, sizeof text, hq, out, "hq:7400"), 2);
    assert_non_null(strstr(text, "--hq-endpoint must be tcp://HOST:PORT"));
    /* No HQ key pair yet: refused, with what to do. */
    assert_int_equal(s_enroll_h1(text, sizeof text, hq, out, "tcp://127.0.0.1:7400"), 1);
    assert_non_null(strstr(text, "init-hq"));
    assert_int_equal(
        s_hallctl(text, sizeof text, "init-hq", "--hq-keys", hq, NULL, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(s_enroll_h1(text, sizeof text, hq, out, "tcp://127.0.0.1:7400"), 0);
    hb_cert_t c;
    char err[256];
    snprintf(path, sizeof path, "%s/hall.key", out);
    assert_int_equal(hb_cert_load(path, &c, err, sizeof err), 0);
    assert_true(c.secret_key[0] != '\0');
    assert_string_equal(hb_cert_meta(&c, "hall"), "H1");
    assert_string_equal(hb_cert_meta(&c, "region"), "north");
    hb_cert_t enrolled;
    snprintf(path, sizeof path, "%s/halls/H1.key", hq);
    assert_int_equal(hb_cert_load(path, &enrolled, err, sizeof err), 0);
    assert_string_equal(enrolled.public_key, c.public_key);
    assert_string_equal(enrolled.secret_key, ""); /* HQ never holds a hall's secret */
    snprintf(path, sizeof path, "%s/halls/H1.key_secret", hq);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/hq.key_secret", out);
    assert_int_not_equal(access(path, F_OK), 0); /* nor a hall HQ's */
    snprintf(path, sizeof path, "%s/branchd.conf", out);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "id = H1"));
    assert_non_null(strstr(text, "hq = tcp://127.0.0.1:7400"));

    /* Enrolling again is refused unless forced, which gives a new key. */
    assert_int_equal(s_enroll_h1(text, sizeof text, hq, out, "tcp://127.0.0.1:7400"), 1);
    assert_non_null(strstr(text, "already enrolled"));
    assert_int_equal(s_enroll_h1(text, sizeof text, hq, out, "tcp://127.0.0.1:7400"), 1);
    char *argv[] = {HALLCTL, "enroll", "H1", "--region", "north",         "--hq-keys",
                    hq,      "--out",  out,  "--force",  "--hq-endpoint", "tcp://127.0.0.1:7400",
                    NULL};
    assert_int_equal(hbt_run(argv, text, sizeof text), 0);
    snprintf(path, sizeof path, "%s/halls/H1.key", hq);
    assert_int_equal(hb_cert_load(path, &enrolled, err, sizeof err), 0);
    assert_string_not_equal(enrolled.public_key, c.public_key);
}

HBT_TEST(test_bad_usage)
{
    (void)state;
    char text[4096];
    assert_int_equal(s_hallctl(text, sizeof text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                     2);
    assert_int_equal(
        s_hallctl(text, sizeof text, "frobnicate", NULL, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(text, "unknown command"));
    assert_int_equal(hbt_run_args(text, sizeof text, HALLCTL, "enroll", "bad id!", "--region", "n",
                                  "--hq-keys", s_tmp.path, "--out", s_tmp.path, "--hq-endpoint",
                                  "tcp://127.0.0.1:7400", NULL),
                     2);
    assert_non_null(strstr(text, "not a hall id"));
    assert_int_equal(s_hallctl(text, sizeof text, "enroll", "H2", "--hq-keys", s_tmp.path, "--out",
                               s_tmp.path, NULL, NULL),
                     2);
    assert_non_null(strstr(text, "--region"));
    assert_int_equal(
        s_hallctl(text, sizeof text, "halls", "--hq", NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(text, "needs a value"));
    assert_int_equal(
        s_hallctl(text, sizeof text, "halls", "--colour", "red", NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(text, "unknown option"));
    /* Nothing listening: a failure, named. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", hbt_free_port());
    assert_int_equal(
        s_hallctl(text, sizeof text, "halls", "--hq", url, NULL, NULL, NULL, NULL, NULL), 1);
    assert_non_null(strstr(text, "connect"));
}

/* The hall commands refuse bad usage before any request: exit 2 and the
 * option or argument named. Nothing listens at the URL, so a request that
 * went out anyway would fail with exit 1 instead. */
HBT_TEST(test_hall_commands_usage)
{
    (void)state;
    char text[8192], url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", hbt_free_port());
    static const struct {
        const char *args[12];
        const char *says;
    } cases[] = {
        {{"ticket", "A"}, "--hall is required"},
        {{"hall"}, "--hall or --hq is required"},
        {{"ticket", "--hall", "URL"}, "ticket: needs a service code"},
        {{"ticket", "A", "B", "--hall", "URL"}, "unexpected argument 'B'"},
        {{"ticket", "A", "--hall", "URL", "--colour", "red"}, "unknown option '--colour'"},
        {{"ticket", "A", "--hall", "URL", "--staff", "E1"}, "'--staff' does not apply to ticket"},
        {{"ticket", "A", "--hall"}, "--hall needs a value"},
        {{"transfer", "A001", "--hall", "URL"}, "needs a ticket and a service code"},
        {{"complete", "3", "--hall", "URL"}, "--business-type is required"},
        {{"complete", "3", "--hall", "URL", "--business-type", "x", "--amount", "12.50"},
         "--amount must be a whole number"},
        {{"complete", "3", "--hall", "URL", "--business-type", "x", "--amount", "-5"},
         "--amount must be a whole number of 0 or more"},
        {{"complete", "3", "--hall", "URL", "--business-type", "x", "--amount", ""},
         "--amount must be a whole number"},
        {{"complete", "3", "--hall", "URL", "--business-type", "x", "--amount",
          "99999999999999999999"},
         "--amount must be a whole number"},
        {{"feedback", "--hall", "URL", "--score", "five"}, "--score must be a whole number"},
        {{"feedback", "--hall", "URL"}, "--score is required"},
        {{"counter-open", "3", "--hall", "URL", "--staff", "E1"}, "--services is required"},
        {{"counter-open", "3", "--hall", "URL", "--staff", "E1", "--services", "A,,B"},
         "--services must be codes separated by commas"},
        {{"counter-open", "3", "--hall", "URL", "--staff", "E1", "--services", "A,"},
         "--services must be codes separated by commas"},
        {{"complaint-resolve", "K1", "--hall", "URL", "--resolution", "ok", "--satisfied", "maybe"},
         "--satisfied must be yes or no"},
        {{"complaint", "--hall", "URL", "--channel", "app", "--category", "x"},
         "--severity is required"},
        {{"device", "D1", "--hall", "URL", "--kind", "kiosk"}, "--state is required"},
        {{"ticket", "A", "--hall", "URL", "--source", "\xff"}, "--source is not valid UTF-8"},
        {{"recall", "", "--hall", "URL"}, "cannot be an id"},
        {{"hall", "H1", "--hall", "URL"}, "unexpected argument 'H1'"},
        {{"hall", "--hall", "URL", "--hq", "URL"}, "not both"},
        {{"hall", "--hq", "URL"}, "a hall id is required"},
        {{"hall", "bad id!", "--hq", "URL"}, "not a hall id"},
        {{"ticket", "A", "--hall", "ftp://x"}, "--hall 'ftp://x' is not http://HOST:PORT"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[16] = {HALLCTL};
        size_t n = 1;
        for (size_t k = 0; k < 12 && cases[i].args[k]; k++) {
            const char *a = cases[i].args[k];
            if (strcmp(a, "URL") == 0)
                a = url;
            argv[n++] = (char *)a;
        }
        argv[n] = NULL;
        int rc = hbt_run(argv, text, sizeof text);
        if (rc != 2 || !strstr(text, cases[i].says))
            fail_msg("case %zu (%s %s): exit %d, wanted 2 and \"%s\"; got: %s", i, cases[i].args[0],
                     cases[i].args[1] ? cases[i].args[1] : "", rc, cases[i].says, text);
    }
    /* --json and --help apply to every command; --help exits 0 at once. */
    assert_int_equal(hbt_run_args(text, sizeof text, HALLCTL, "ticket", "--help", NULL), 0);
    assert_non_null(strstr(text, "ticket SERVICE --hall URL"));
    assert_int_equal(hbt_run_args(text, sizeof text, HALLCTL, "help", NULL), 0);
    assert_non_null(strstr(text, "complaint-resolve COMPLAINT"));
    assert_non_null(strstr(text, "hall --hall http://HOST:PORT"));
    /* Well-formed: the request goes out, and with nothing listening it
     * fails (1), saying so, with or without --json. */
    assert_int_equal(
        hbt_run_args(text, sizeof text, HALLCTL, "ticket", "A", "--hall", url, "--json", NULL), 1);
    assert_non_null(strstr(text, "connect"));
    assert_int_equal(hbt_run_args(text, sizeof text, HALLCTL, "complete", "3", "--hall", url,
                                  "--business-type", "bill_payment", "--amount", "12000",
                                  "--currency", "EUR", NULL),
                     1);
    assert_non_null(strstr(text, "connect"));
    assert_int_equal(hbt_run_args(text, sizeof text, HALLCTL, "hall", "--hall", url, NULL), 1);
    assert_non_null(strstr(text, "connect"));
}
