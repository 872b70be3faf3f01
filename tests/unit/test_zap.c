/* Unit tests of hqd's ZAP handler with real sockets on loopback: a CURVE
 * ROUTER behind it admits enrolled keys only, labels each message with the
 * hall id of the key (whatever the payload claims), admits a key enrolled
 * after start, and refuses one whose certificate was removed (followed
 * with inotify, by file name). */
#include "zap.h"

#include "hallbus/cert.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "harness.h"
#include "runner.h"

typedef struct {
    char dir[HBT_FIXTURE_DIR];
    char halls[300];
    void *ctx;
    hq_zap_t *zap;
    void *router;
    char endpoint[128];
    hb_cert_t server;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = hbt_fixture_new(sizeof *f, "test-zap");
    snprintf(f->halls, sizeof f->halls, "%s/halls", f->dir);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", f->halls);
    assert_int_equal(system(cmd), 0);
    f->ctx = zmq_ctx_new();
    assert_int_equal(hq_zap_start(f->ctx, f->halls, NULL, &f->zap), 0);
    assert_int_equal(hb_cert_generate(&f->server), 0);
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt(f->router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(f->router, ZMQ_CURVE_SECRETKEY, f->server.secret_key, 40);
    zmq_setsockopt(f->router, ZMQ_ZAP_DOMAIN, "hallbus", 7);
    zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(f->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof f->endpoint;
    zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    zmq_close(f->router);
    hq_zap_stop(&f->zap);
    assert_null(f->zap);
    zmq_ctx_term(f->ctx);
    hbt_fixture_free(f);
    return 0;
}

/* Saves the public half of `c` as `file` in the halls folder, with the
 * metadata `key` set to `value` first (NULL: as it is). */
static void s_save_public(fixture_t *f, const hb_cert_t *c, const char *file, const char *key,
                          const char *value)
{
    hb_cert_t pub = *c;
    pub.secret_key[0] = '\0';
    if (key)
        assert_int_equal(hb_cert_set_meta(&pub, key, value), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", f->halls, file);
    assert_int_equal(hb_cert_save(&pub, path, false), 0);
}

/* A new key pair for `hall`, not enrolled. */
static hb_cert_t s_new_key(const char *hall)
{
    hb_cert_t c;
    assert_int_equal(hb_cert_generate(&c), 0);
    assert_int_equal(hb_cert_set_meta(&c, "hall", hall), 0);
    return c;
}

/* Enrols a new key for `hall` and returns it. */
static hb_cert_t s_enrol(fixture_t *f, const char *hall)
{
    hb_cert_t c = s_new_key(hall);
    char file[128];
    snprintf(file, sizeof file, "%s.key", hall);
    s_save_public(f, &c, file, NULL, NULL);
    return c;
}

static void *s_client(fixture_t *f, const hb_cert_t *c)
{
    void *s = zmq_socket(f->ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, f->server.public_key, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->public_key, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->secret_key, 40);
    assert_int_equal(zmq_connect(s, f->endpoint), 0);
    return s;
}

/* Sends `text` from the client and returns the User-Id the ROUTER saw, or
 * "" when nothing arrived within the timeout. */
static void s_roundtrip(fixture_t *f, void *client, const char *text, char *user, size_t len)
{
    zmq_send(client, text, strlen(text), ZMQ_DONTWAIT);
    user[0] = '\0';
    zmq_pollitem_t item = {f->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 1500) <= 0)
        return;
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    zmq_msg_init(&body);
    zmq_msg_recv(&rid, f->router, 0);
    zmq_msg_recv(&body, f->router, 0);
    const char *u = zmq_msg_gets(&body, "User-Id");
    snprintf(user, len, "%s", u ? u : "(none)");
    zmq_msg_close(&rid);
    zmq_msg_close(&body);
}

/* Connects a client with `c`, sends `text` and checks the User-Id the
 * ROUTER saw: `want`, or "" for nothing admitted. */
static void s_expect_user(fixture_t *f, const hb_cert_t *c, const char *text, const char *want)
{
    void *client = s_client(f, c);
    char user[64];
    s_roundtrip(f, client, text, user, sizeof user);
    assert_string_equal(user, want);
    zmq_close(client);
}

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_enrolled_in_with_its_id_stranger_out)
{
    fixture_t *f = *state;
    hb_cert_t a = s_enrol(f, "HALL-A");
    s_expect_user(f, &a, "I am HALL-B", "HALL-A"); /* the payload lies */

    hb_cert_t stranger;
    assert_int_equal(hb_cert_generate(&stranger), 0);
    s_expect_user(f, &stranger, "let me in", "");
    assert_true(hq_zap_denied(f->zap) >= 1);
    assert_int_equal(hq_zap_allowed(f->zap), 1);
}

HBT_TEST(test_enrolled_later_then_revoked)
{
    fixture_t *f = *state;
    assert_int_equal(hq_zap_enrolled(f->zap), 0);
    hb_cert_t late = s_enrol(f, "LATE");
    s_expect_user(f, &late, "hello", "LATE");
    assert_int_equal(hq_zap_enrolled(f->zap), 1);

    char path[512];
    snprintf(path, sizeof path, "%s/LATE.key", f->halls);
    assert_int_equal(unlink(path), 0);
    sleep(1); /* the folder's mtime changes at a one-second grain on some file systems */
    s_expect_user(f, &late, "hello again", "");
}

/* The folder was read whole once (the start) and the table updated from
 * inotify's file names at least `updates` times. */
static void s_expect_read_by_name(fixture_t *f, uint64_t updates)
{
    uint64_t full = 0, by_name = 0;
    hq_zap_folder_reads(f->zap, &full, &by_name);
    assert_int_equal(full, 1);
    assert_true(by_name >= updates);
}

/* The folder is followed with inotify: halls enrolled while the handler
 * runs are let in at their first handshake, and a removed certificate is
 * refused at the next one, with no pause between the change and the
 * handshake, and without the whole folder being read again (only at
 * start): a network of 100,000 certificates must not be re-read per
 * enrolment. */
HBT_TEST(test_folder_followed_by_name)
{
    fixture_t *f = *state;
    uint64_t full = 0, by_name = 0;
    hq_zap_folder_reads(f->zap, &full, &by_name);
    assert_int_equal(full, 1); /* the start */
    assert_int_equal(by_name, 0);
    hb_cert_t c[3];
    const char *ids[3] = {"NEW-1", "NEW-2", "NEW-3"};
    for (int i = 0; i < 3; i++) {
        c[i] = s_enrol(f, ids[i]);
        s_expect_user(f, &c[i], "just enrolled", ids[i]);
    }
    assert_int_equal(hq_zap_enrolled(f->zap), 3);
    char path[512];
    snprintf(path, sizeof path, "%s/NEW-2.key", f->halls);
    assert_int_equal(unlink(path), 0);
    s_expect_user(f, &c[1], "revoked a moment ago", "");
    assert_int_equal(hq_zap_key_check(f->zap, "NEW-2", c[1].public_key), HQ_ZAP_KEY_UNKNOWN);
    s_expect_user(f, &c[0], "still enrolled", "NEW-1");
    assert_int_equal(hq_zap_enrolled(f->zap), 2);
    /* A file that is not a certificate changes nothing. */
    snprintf(path, sizeof path, "%s/notes.txt", f->halls);
    hbt_write_file(path, "");
    s_expect_user(f, &c[2], "still here", "NEW-3");
    s_expect_read_by_name(f, 2);
}

/* A rotation as HQ writes it, one file at a time, each applied by its
 * name: HALL.old.key (the old key, with its retire-at) first, so that for
 * a moment both files hold the old key and the table keeps it once; then
 * HALL.key with the new key. The old key must still be in: the change to
 * HALL.key brings back the entry of HALL.old.key that was kept once. */
HBT_TEST(test_rotation_written_file_by_file)
{
    fixture_t *f = *state;
    hb_cert_t old = s_enrol(f, "ROLL");
    hq_zap_refresh(f->zap); /* each change applied before the next is written */
    assert_int_equal(hq_zap_key_check(f->zap, "ROLL", old.public_key), HQ_ZAP_KEY_OK);
    s_save_public(f, &old, "ROLL.old.key", "retire-at", "2999-01-01T00:00:00Z");
    hq_zap_refresh(f->zap);
    assert_int_equal(hq_zap_enrolled(f->zap), 1);
    hb_cert_t fresh = s_new_key("ROLL");
    s_save_public(f, &fresh, "ROLL.key", NULL, NULL);
    hq_zap_refresh(f->zap);
    assert_int_equal(hq_zap_key_check(f->zap, "ROLL", old.public_key), HQ_ZAP_KEY_OK);
    assert_int_equal(hq_zap_key_check(f->zap, "ROLL", fresh.public_key), HQ_ZAP_KEY_OK);
    assert_int_equal(hq_zap_enrolled(f->zap), 2);
    s_expect_user(f, &old, "the old key, in its overlap", "ROLL");
    s_expect_read_by_name(f, 3);
}

HBT_TEST(test_duplicate_keys_refused)
{
    fixture_t *f = *state;
    hb_cert_t a = s_enrol(f, "TWIN-1");
    /* The same key enrolled again under another hall: ambiguous. */
    s_save_public(f, &a, "TWIN-2.key", "hall", "TWIN-2");
    s_expect_user(f, &a, "which one?", "");
}

/* The same hall's key in HALL.key and HALL.old.key is a rotation being
 * written (the old certificate is saved first): admitted, once, with the
 * later validity. And the lookups the API and the alerts use: the hall's
 * current certificate, by hall; a key of another hall is unknown. */
HBT_TEST(test_same_hall_key_twice_is_a_rotation_being_written)
{
    fixture_t *f = *state;
    hb_cert_t a = s_enrol(f, "ROT");
    s_save_public(f, &a, "ROT.old.key", "retire-at", "2999-01-01T00:00:00Z");
    s_expect_user(f, &a, "still me", "ROT");
    assert_int_equal(hq_zap_enrolled(f->zap), 1);
    assert_int_equal(hq_zap_key_check(f->zap, "ROT", a.public_key), HQ_ZAP_KEY_OK);
    assert_int_equal(hq_zap_key_check(f->zap, "OTHER", a.public_key), HQ_ZAP_KEY_UNKNOWN);
    assert_int_equal(hq_zap_key_check(f->zap, "ROT", "short"), HQ_ZAP_KEY_UNKNOWN);
    hq_zap_cert_t cert;
    assert_true(hq_zap_hall_cert(f->zap, "ROT", &cert));
    assert_true(cert.not_after_ms == INT64_MAX); /* unsigned: no expiry */
    assert_string_equal(hq_zap_cert_state(&cert, 0, 86400000), "active");
    assert_false(hq_zap_hall_cert(f->zap, "NONE", &cert));
    hq_zap_cert_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(hq_zap_certs(f->zap, &rows, &n), 0);
    assert_int_equal(n, 1); /* HALL.old.key is not the hall's certificate */
    assert_string_equal(rows[0].hall, "ROT");
    free(rows);
}

/* A certificate's state by its dates: one definition. */
HBT_TEST(test_cert_state)
{
    (void)state;
    const int64_t now = 1800000000000LL;
    const struct {
        int64_t not_after, warn;
        const char *want;
    } rows[] = {
        {now + 20000, 10000, "active"}, {now + 10000, 10000, "expiring"},
        {now + 1, 10000, "expiring"},   {now, 10000, "expired"},
        {now - 1, 0, "expired"},        {now + 1, 0, "active"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hq_zap_cert_t c = {.serial = 1, .not_before_ms = 0, .not_after_ms = rows[i].not_after};
        assert_string_equal(hq_zap_cert_state(&c, now, rows[i].warn), rows[i].want);
    }
}
