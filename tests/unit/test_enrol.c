/* enrol.c: a request written and read back the same; every refusal of the
 * parser in one table; a certificate that checks, and the same one tampered
 * with, signed by another key, expired or not yet valid; rotation proofs
 * that check only with the right keys; one-time codes. */
#include "hallbus/cert.h"
#include "hallbus/enrol.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_request_round_trip(void **state)
{
    (void)state;
    hb_cert_t pair;
    char err[256], text[HB_ENROL_REQUEST_MAX];
    assert_int_equal(hb_cert_generate(&pair), 0);
    hb_enrol_request_t req, back;
    assert_int_equal(hb_enrol_request_init(&req, HB_ENROL_NEW, "H0042", pair.public_key, "C001",
                                           "ABCDE-FGHJK", err, sizeof err),
                     0);
    assert_int_equal(hb_enrol_request_format(&req, text, sizeof text), 0);
    assert_null(strstr(text, pair.secret_key)); /* no secret in a request */
    assert_int_equal(hb_enrol_request_parse(text, strlen(text), &back, err, sizeof err), 0);
    assert_string_equal(back.hall, "H0042");
    assert_string_equal(back.public_key, pair.public_key);
    assert_string_equal(back.region, "C001");
    assert_string_equal(back.code, "ABCDE-FGHJK");
    assert_string_equal(back.nonce, req.nonce);
    assert_int_equal(back.created_ms, req.created_ms);
    assert_int_equal(hb_enrol_request_check_time(&back, hb_now_ms(), err, sizeof err), 0);
    assert_int_equal(
        hb_enrol_request_check_time(&back, hb_now_ms() + 31LL * 86400000, err, sizeof err),
        HB_ERANGE);
    assert_non_null(strstr(err, "make a new one"));
    assert_int_equal(hb_enrol_request_check_time(&back, hb_now_ms() - 3600000, err, sizeof err),
                     HB_ERANGE);
    assert_non_null(strstr(err, "in the future"));
    /* Bad inputs to init. */
    assert_int_equal(hb_enrol_request_init(&req, HB_ENROL_NEW, "bad id", pair.public_key, NULL,
                                           NULL, err, sizeof err),
                     HB_EINVAL);
    assert_int_equal(
        hb_enrol_request_init(&req, HB_ENROL_NEW, "H1", "short", NULL, NULL, err, sizeof err),
        HB_EINVAL);
    assert_int_equal(hb_enrol_request_init(&req, HB_ENROL_NEW, "H1", pair.public_key, "a b", NULL,
                                           err, sizeof err),
                     HB_EINVAL);
    assert_int_equal(hb_enrol_request_init(&req, HB_ENROL_NEW, "H1", pair.public_key, NULL, "x!",
                                           err, sizeof err),
                     HB_EINVAL);
}

#define HEAD "hallbus-enrolment-request = 1\nkind = enrol\nhall = H1\n"
#define KEY "public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
#define REST "nonce = 00112233445566778899aabbccddeeff\ncreated = 2026-01-01T00:00:00Z\n"

static void test_request_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "no 'hallbus-enrolment-request = 1' line"},
        {"hallbus-enrolment-request = 2\n", "bad hallbus-enrolment-request"},
        {"just words\n", "line 1: expected 'name = value'"},
        {HEAD KEY REST "colour = red\n", "line 7: unknown field 'colour'"},
        {HEAD "hall = H2\n", "line 4: 'hall' given twice"},
        {"hallbus-enrolment-request = 1\nkind = sideways\n", "bad kind"},
        {"hallbus-enrolment-request = 1\nkind = enrol\nhall = a/b\n", "bad hall"},
        {HEAD "public-key = 0123\n", "bad public-key"},
        {HEAD KEY "nonce = xyz\n", "bad nonce"},
        {HEAD KEY "nonce = 00112233445566778899aabbccddeeff\ncreated = yesterday\n", "bad created"},
        {HEAD KEY REST "region = north pole\n", "bad region"},
        {HEAD KEY REST "code = 123\n", "bad code"},
        {HEAD KEY REST "current-key = 0123\n", "bad current-key"},
        /* A proof is 60 Z85 characters: one short, and one that is not Z85. */
        {HEAD KEY REST "proof-current = 0123456789012345678901234567890123456789012345678901234567"
                       "8\n",
         "bad proof-current"},
        {HEAD KEY REST "proof-new = 0123456789012345678901234567890123456789012345678901234567"
                       "8\"\n",
         "bad proof-new"},
        {HEAD KEY, "the request has no 'nonce'"},
        {"hallbus-enrolment-request = 1\nkind = rotate\nhall = H1\n" KEY REST,
         "needs current-key, proof-current and proof-new"},
        {HEAD KEY REST "current-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n",
         "belong to rotation requests only"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hb_enrol_request_t r;
        char err[400] = "";
        int rc = hb_enrol_request_parse(bad[i].text, strlen(bad[i].text), &r, err, sizeof err);
        if (rc != HB_EPARSE || !strstr(err, bad[i].want))
            fail_msg("case %zu: rc %d, '%s', wanted '%s'", i, rc, err, bad[i].want);
    }
    char big[HB_ENROL_REQUEST_MAX + 2];
    memset(big, '#', sizeof big);
    hb_enrol_request_t r;
    char err[400];
    assert_int_equal(hb_enrol_request_parse(big, sizeof big, &r, err, sizeof err), HB_EPARSE);
    assert_non_null(strstr(err, "at most"));
    const char ok[] = HEAD KEY REST;
    assert_int_equal(hb_enrol_request_parse(ok, strlen(ok), &r, err, sizeof err), 0);
}

static void test_certificate_signature_and_validity(void **state)
{
    (void)state;
    char dir[] = "/tmp/hb-enrol-unit-XXXXXX", path[128], err[400];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sign.key_secret", dir);
    hb_enrol_signer_t s, again, other;
    assert_int_equal(hb_enrol_signer_load(path, false, &s, err, sizeof err), HB_ENOTFOUND);
    assert_int_equal(hb_enrol_signer_load(path, true, &s, err, sizeof err), 0);
    assert_int_equal(hb_enrol_signer_load(path, false, &again, err, sizeof err), 0);
    assert_string_equal(s.public_z85, again.public_z85); /* the same seed read back */
    snprintf(path, sizeof path, "%s/other.key_secret", dir);
    assert_int_equal(hb_enrol_signer_load(path, true, &other, err, sizeof err), 0);
    FILE *f = fopen(path, "w");
    fputs("not a seed\n", f);
    fclose(f);
    assert_int_equal(hb_enrol_signer_load(path, false, &again, err, sizeof err), HB_EPARSE);

    hb_cert_t c;
    assert_int_equal(hb_cert_generate(&c), 0);
    int64_t now = hb_now_ms();
    assert_int_equal(hb_enrol_cert_sign(&c, &s, "H1", "C001", 7, now, now + 86400000), 0);
    hb_enrol_cert_info_t info;
    assert_int_equal(hb_enrol_cert_check(&c, s.public_z85, now + 1000, &info, err, sizeof err), 0);
    assert_true(info.signed_);
    assert_int_equal(info.serial, 7);
    assert_string_equal(info.region, "C001");
    /* Expired, and not yet valid. */
    assert_int_equal(
        hb_enrol_cert_check(&c, s.public_z85, now + 2 * 86400000LL, &info, err, sizeof err),
        HB_ERANGE);
    assert_non_null(strstr(err, "expired at"));
    assert_int_equal(hb_enrol_cert_check(&c, s.public_z85, now - 60000, &info, err, sizeof err),
                     HB_ERANGE);
    assert_non_null(strstr(err, "not valid before"));
    /* Another issuer; a tampered field; a signature made by another key. */
    assert_int_equal(hb_enrol_cert_check(&c, other.public_z85, now, &info, err, sizeof err),
                     HB_EAUTH);
    assert_non_null(strstr(err, "not by this head office's signing key"));
    hb_cert_t t = c;
    hb_cert_set_meta(&t, "region", "C002");
    assert_int_equal(hb_enrol_cert_check(&t, s.public_z85, now, &info, err, sizeof err), HB_EAUTH);
    assert_non_null(strstr(err, "bad signature"));
    t = c;
    hb_cert_set_meta(&t, "not-after", "2999-01-01T00:00:00Z");
    assert_int_equal(hb_enrol_cert_check(&t, NULL, now, &info, err, sizeof err), HB_EAUTH);
    t = c;
    hb_enrol_cert_sign(&t, &other, "H1", "C001", 7, now, now + 86400000);
    hb_cert_set_meta(&t, "issuer", s.public_z85); /* claims ours, signed by the other */
    assert_int_equal(hb_enrol_cert_check(&t, s.public_z85, now, &info, err, sizeof err), HB_EAUTH);
    t = c;
    hb_cert_set_meta(&t, "serial", "seven");
    assert_int_equal(hb_enrol_cert_check(&t, s.public_z85, now, &info, err, sizeof err), HB_EPARSE);
    /* The older unsigned kind reads as such. */
    hb_cert_t old;
    hb_cert_generate(&old);
    hb_cert_set_meta(&old, "hall", "H2");
    assert_int_equal(hb_enrol_cert_check(&old, s.public_z85, now, &info, err, sizeof err), 0);
    assert_false(info.signed_);
    hb_enrol_signer_clear(&s);
    unlink(path);
    snprintf(path, sizeof path, "%s/sign.key_secret", dir);
    unlink(path);
    rmdir(dir);
}

static void test_rotation_proofs(void **state)
{
    (void)state;
    hb_cert_t hq, cur, fresh, stranger;
    hb_cert_generate(&hq);
    hb_cert_generate(&cur);
    hb_cert_generate(&fresh);
    hb_cert_generate(&stranger);
    hb_enrol_request_t r, back;
    char err[400], text[HB_ENROL_REQUEST_MAX];
    assert_int_equal(hb_enrol_request_init(&r, HB_ENROL_ROTATE, "H1", fresh.public_key, NULL, NULL,
                                           err, sizeof err),
                     0);
    snprintf(r.current_key, sizeof r.current_key, "%s", cur.public_key);
    assert_int_equal(hb_enrol_request_prove(&r, cur.secret_key, fresh.secret_key, hq.public_key,
                                            err, sizeof err),
                     0);
    assert_int_equal(hb_enrol_request_format(&r, text, sizeof text), 0);
    assert_int_equal(hb_enrol_request_parse(text, strlen(text), &back, err, sizeof err), 0);
    assert_int_equal(hb_enrol_request_verify(&back, hq.secret_key, err, sizeof err), 0);
    /* Another HQ cannot open it; a changed field breaks it. */
    assert_int_equal(hb_enrol_request_verify(&back, stranger.secret_key, err, sizeof err),
                     HB_EAUTH);
    hb_enrol_request_t t = back;
    snprintf(t.hall, sizeof t.hall, "H2");
    assert_int_equal(hb_enrol_request_verify(&t, hq.secret_key, err, sizeof err), HB_EAUTH);
    assert_non_null(strstr(err, "proof-current does not check"));
    /* Made with a stranger's secret in place of the current one. */
    t = r;
    assert_int_equal(hb_enrol_request_prove(&t, stranger.secret_key, fresh.secret_key,
                                            hq.public_key, err, sizeof err),
                     0);
    assert_int_equal(hb_enrol_request_verify(&t, hq.secret_key, err, sizeof err), HB_EAUTH);
    /* The new key's secret not held. */
    t = r;
    assert_int_equal(hb_enrol_request_prove(&t, cur.secret_key, stranger.secret_key, hq.public_key,
                                            err, sizeof err),
                     0);
    assert_int_equal(hb_enrol_request_verify(&t, hq.secret_key, err, sizeof err), HB_EAUTH);
    assert_non_null(strstr(err, "proof-new does not check"));
}

static void test_codes(void **state)
{
    (void)state;
    char a[HB_ENROL_CODE_TEXT], b[HB_ENROL_CODE_TEXT], da[65], db[65], da2[65];
    hb_enrol_code_new(a);
    hb_enrol_code_new(b);
    assert_int_equal(strlen(a), 23);
    assert_string_not_equal(a, b);
    hb_enrol_code_digest(a, da);
    hb_enrol_code_digest(a, da2);
    hb_enrol_code_digest(b, db);
    assert_string_equal(da, da2);
    assert_string_not_equal(da, db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_certificate_signature_and_validity),
        cmocka_unit_test(test_rotation_proofs),
        cmocka_unit_test(test_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
