/* Unit tests of common/link/cert.c: certificates round-trip with their metadata,
 * the secret file is private and must match, every malformed file is refused
 * with the line named, and czmq's own zcert reads what we write and the other
 * way round (loaded at run time, so the build needs no czmq). */
#include "hallbus/cert.h"
#include "hallbus/error.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "runner.h"

/* A fresh folder for each test (hbt_tmpdir_setup makes s_tmp.path). */
static hbt_tmpdir_t s_tmp = {.tag = "test-cert"};

static void s_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", s_tmp.path, name);
}

static void s_write(const char *name, const char *text)
{
    char path[512];
    s_path(path, sizeof path, name);
    hbt_write_file(path, text);
}

#define HBT_FIXTURE hbt_tmpdir_setup, hbt_tmpdir_teardown, &s_tmp

HBT_TEST(test_round_trip_with_metadata)
{
    (void)state;
    hb_cert_t c, back;
    assert_int_equal(hb_cert_generate(&c), 0);
    assert_int_equal(strlen(c.public_key), 40);
    assert_int_equal(hb_cert_set_meta(&c, "hall", "H0042"), 0);
    assert_int_equal(hb_cert_set_meta(&c, "region", "north coast"), 0);
    assert_int_equal(hb_cert_set_meta(&c, "region", "north"), 0); /* replaced */
    char path[512], err[256];
    s_path(path, sizeof path, "hall.key");
    assert_int_equal(hb_cert_save(&c, path, true), 0);
    assert_int_equal(hb_cert_load(path, &back, err, sizeof err), 0);
    assert_string_equal(back.public_key, c.public_key);
    assert_string_equal(back.secret_key, c.secret_key);
    assert_string_equal(hb_cert_meta(&back, "hall"), "H0042");
    assert_string_equal(hb_cert_meta(&back, "region"), "north");
    assert_null(hb_cert_meta(&back, "colour"));
    /* The secret file is private; the public part never carries the secret. */
    char spath[600];
    snprintf(spath, sizeof spath, "%s_secret", path);
    struct stat st;
    assert_int_equal(stat(spath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(hb_cert_load_public(path, &back, err, sizeof err), 0);
    assert_string_equal(back.secret_key, "");
    FILE *f = fopen(path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_null(strstr(text, c.secret_key));
}

HBT_TEST(test_refusals)
{
    (void)state;
    char path[512], err[256];
    hb_cert_t c;
    s_path(path, sizeof path, "missing.key");
    assert_int_equal(hb_cert_load(path, &c, err, sizeof err), HB_ENOTFOUND);

    static const struct {
        const char *text;
        const char *needle;
    } bad[] = {
        {"curve\n    public-key = \"tooshort\"\n", "Z85"},
        {"curve\n    public-key = \"0123456789,123456789012345678901234567890\"\n", "Z85"},
        {"metadata\n    hall = \"H1\n", "quote"},
        {"metadata\n    hall = \"H1\"\n", "public-key"},
        {"public-key = \"x\"\n", "outside"},
        {"curve\n  public-key = \"x\"\n", "indentation"},
        {"metadata\n    bad name! = \"x\"\ncurve\n", "metadata"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write("bad.key", bad[i].text);
        s_path(path, sizeof path, "bad.key");
        err[0] = '\0';
        assert_int_equal(hb_cert_load_public(path, &c, err, sizeof err), HB_EPARSE);
        if (!strstr(err, bad[i].needle))
            fail_msg("refusal of case %zu says '%s', not naming '%s'", i, err, bad[i].needle);
    }
    /* Oversized metadata value and too many entries. */
    char big[300];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(hb_cert_generate(&c), 0);
    assert_int_equal(hb_cert_set_meta(&c, "note", big), HB_EINVAL);
    assert_int_equal(hb_cert_set_meta(&c, "note", "has \"quotes\""), HB_EINVAL);
    for (int i = 0; i < HB_CERT_META_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "k%d", i);
        assert_int_equal(hb_cert_set_meta(&c, name, "v"), 0);
    }
    assert_int_equal(hb_cert_set_meta(&c, "onemore", "v"), HB_ETOOBIG);

    /* A secret file that belongs to another key pair. */
    hb_cert_t a, b;
    assert_int_equal(hb_cert_generate(&a), 0);
    assert_int_equal(hb_cert_generate(&b), 0);
    char pa[512], pb[512], cmd[1200];
    s_path(pa, sizeof pa, "a.key");
    s_path(pb, sizeof pb, "b.key");
    assert_int_equal(hb_cert_save(&a, pa, true), 0);
    assert_int_equal(hb_cert_save(&b, pb, true), 0);
    snprintf(cmd, sizeof cmd, "cp %s_secret %s_secret", pb, pa);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(hb_cert_load(pa, &c, err, sizeof err), HB_EPARSE);
    assert_non_null(strstr(err, "does not belong"));
}

HBT_TEST_IN(test_hall_ids, NULL, NULL)
{
    (void)state;
    assert_true(hb_hall_id_valid("H0042"));
    assert_true(hb_hall_id_valid("north_hall-7"));
    assert_false(hb_hall_id_valid(""));
    assert_false(hb_hall_id_valid("has space"));
    assert_false(hb_hall_id_valid("../etc"));
    assert_false(hb_hall_id_valid("x23456789012345678901234567890123")); /* 33 */
    assert_true(hb_hall_id_valid("x2345678901234567890123456789012"));   /* 32 */
}

/* czmq's zcert, found at run time. */
typedef void *(*zcert_load_fn)(const char *);
typedef void *(*zcert_new_fn)(void);
typedef const char *(*zcert_txt_fn)(void *);
typedef char *(*zcert_meta_fn)(void *, const char *);
typedef void (*zcert_set_meta_fn)(void *, const char *, const char *, ...);
typedef int (*zcert_save_fn)(void *, const char *);
typedef void (*zcert_destroy_fn)(void **);

HBT_TEST(test_czmq_interop)
{
    (void)state;
    void *lib = dlopen("libczmq.so.4", RTLD_NOW);
    if (!lib)
        fail_msg("libczmq.so.4 is needed for this test (deploy/install-deps.sh installs it): %s",
                 dlerror());
    zcert_load_fn zload = (zcert_load_fn)dlsym(lib, "zcert_load");
    zcert_new_fn znew = (zcert_new_fn)dlsym(lib, "zcert_new");
    zcert_txt_fn zpub = (zcert_txt_fn)dlsym(lib, "zcert_public_txt");
    zcert_txt_fn zsec = (zcert_txt_fn)dlsym(lib, "zcert_secret_txt");
    zcert_meta_fn zmeta = (zcert_meta_fn)dlsym(lib, "zcert_meta");
    zcert_set_meta_fn zset = (zcert_set_meta_fn)dlsym(lib, "zcert_set_meta");
    zcert_save_fn zsave = (zcert_save_fn)dlsym(lib, "zcert_save");
    zcert_destroy_fn zdestroy = (zcert_destroy_fn)dlsym(lib, "zcert_destroy");
    assert_true(zload && znew && zpub && zsec && zmeta && zset && zsave && zdestroy);

    /* Ours, read by czmq. */
    hb_cert_t c;
    assert_int_equal(hb_cert_generate(&c), 0);
    assert_int_equal(hb_cert_set_meta(&c, "hall", "H7"), 0);
    assert_int_equal(hb_cert_set_meta(&c, "region", "east"), 0);
    char path[512], err[256];
    s_path(path, sizeof path, "ours.key");
    assert_int_equal(hb_cert_save(&c, path, true), 0);
    void *z = zload(path);
    assert_non_null(z);
    assert_string_equal(zpub(z), c.public_key);
    assert_string_equal(zsec(z), c.secret_key);
    assert_string_equal(zmeta(z, "hall"), "H7");
    assert_string_equal(zmeta(z, "region"), "east");
    zdestroy(&z);

    /* czmq's, read by us. */
    z = znew();
    zset(z, "hall", "%s", "H8");
    s_path(path, sizeof path, "theirs.key");
    assert_int_equal(zsave(z, path), 0);
    hb_cert_t back;
    assert_int_equal(hb_cert_load(path, &back, err, sizeof err), 0);
    assert_string_equal(back.public_key, zpub(z));
    assert_string_equal(back.secret_key, zsec(z));
    assert_string_equal(hb_cert_meta(&back, "hall"), "H8");
    zdestroy(&z);
    dlclose(lib);
}
