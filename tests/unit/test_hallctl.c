/* Tests of the hallctl binary: enrolment writes what branchd and hqd read,
 * and every misuse is refused with a message and the right exit code (2 for
 * bad usage, 1 for a failed operation), changing nothing. */
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

#include <cmocka.h>

#define HALLCTL HB_BIN_DIR "/tools/hallctl"

static char s_dir[256];

static int s_setup(void **state)
{
    (void)state;
    hbt_mkdtemp(s_dir, sizeof s_dir, "hallctl");
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    hbt_rmdir(s_dir);
    return 0;
}

static int s_hallctl(char *out, size_t len, const char *a1, const char *a2, const char *a3,
                     const char *a4, const char *a5, const char *a6, const char *a7,
                     const char *a8)
{
    char *argv[] = {HALLCTL, (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5,
                    (char *)a6, (char *)a7, (char *)a8, NULL};
    return hbt_run(argv, out, len);
}

static void test_enroll_writes_both_sides(void **state)
{
    (void)state;
    char hq[300], out[300], text[4096], path[600];
    snprintf(hq, sizeof hq, "%s/hq", s_dir);
    snprintf(out, sizeof out, "%s/H1", s_dir);
    /* No HQ key pair yet: refused, with what to do. */
    assert_int_equal(s_hallctl(text, sizeof text, "enroll", "H1", "--region", "north",
                               "--hq-keys", hq, "--out", out), 1);
    assert_non_null(strstr(text, "init-hq"));
    assert_int_equal(s_hallctl(text, sizeof text, "init-hq", "--hq-keys", hq, NULL, NULL, NULL,
                               NULL, NULL), 0);
    assert_int_equal(s_hallctl(text, sizeof text, "enroll", "H1", "--region", "north",
                               "--hq-keys", hq, "--out", out), 0);
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
    assert_int_equal(s_hallctl(text, sizeof text, "enroll", "H1", "--region", "north",
                               "--hq-keys", hq, "--out", out), 1);
    assert_non_null(strstr(text, "already enrolled"));
    assert_int_equal(s_hallctl(text, sizeof text, "enroll", "H1", "--region", "north",
                               "--hq-keys", hq, "--out", out), 1);
    char *argv[] = {HALLCTL, "enroll", "H1", "--region", "north", "--hq-keys", hq, "--out", out,
                    "--force", NULL};
    assert_int_equal(hbt_run(argv, text, sizeof text), 0);
    snprintf(path, sizeof path, "%s/halls/H1.key", hq);
    assert_int_equal(hb_cert_load(path, &enrolled, err, sizeof err), 0);
    assert_string_not_equal(enrolled.public_key, c.public_key);
}

static void test_bad_usage(void **state)
{
    (void)state;
    char text[4096];
    assert_int_equal(s_hallctl(text, sizeof text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_int_equal(s_hallctl(text, sizeof text, "frobnicate", NULL, NULL, NULL, NULL, NULL, NULL,
                               NULL), 2);
    assert_non_null(strstr(text, "unknown command"));
    assert_int_equal(s_hallctl(text, sizeof text, "enroll", "bad id!", "--region", "n",
                               "--hq-keys", s_dir, "--out", s_dir), 2);
    assert_non_null(strstr(text, "not a hall id"));
    assert_int_equal(s_hallctl(text, sizeof text, "enroll", "H2", "--hq-keys", s_dir, "--out",
                               s_dir, NULL, NULL), 2);
    assert_non_null(strstr(text, "--region"));
    assert_int_equal(s_hallctl(text, sizeof text, "halls", "--hq", NULL, NULL, NULL, NULL, NULL,
                               NULL), 2);
    assert_non_null(strstr(text, "needs a value"));
    assert_int_equal(s_hallctl(text, sizeof text, "halls", "--colour", "red", NULL, NULL, NULL,
                               NULL, NULL), 2);
    assert_non_null(strstr(text, "unknown option"));
    /* Nothing listening: a failure, named. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", hbt_free_port());
    assert_int_equal(s_hallctl(text, sizeof text, "halls", "--hq", url, NULL, NULL, NULL, NULL,
                               NULL), 1);
    assert_non_null(strstr(text, "connect"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enroll_writes_both_sides, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_usage, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
