/* Tests for the hall's access module (branchd/access/): the store on a real
 * LMDB environment in a temporary folder (pairing, tokens, removal, HQ's
 * revocations, staff and their sign-ins), the PIN counts and locks with a
 * short lock time, and the decisions made from the kinds' table, each
 * expected answer written out here rather than read back from the table.
 * Two processes on one store are test_access_hall's (the real commands
 * beside a running branchd). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include "access.h"
#include "harness.h"

#include "hallbus/error.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[HBT_FIXTURE_DIR];
    access_t *a;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = hbt_fixture_new(sizeof *fx, "access");
    char err[256];
    assert_int_equal(access_open(fx->dir, &fx->a, err, sizeof err), 0);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    access_close(&fx->a);
    assert_null(fx->a);
    access_close(&fx->a); /* idempotent */
    hbt_fixture_free(fx);
    return 0;
}

/* ------------------------------------------------------------- devices */

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_pair_and_authenticate)
{
    fixture_t *fx = *state;
    char token[ACCESS_TOKEN_TEXT], err[256], staff[ACCESS_ID_MAX];
    access_device_t dev, got;
    assert_int_equal(
        access_device_add(fx->a, "K1", ACCESS_KIND_KIOSK, NULL, token, &dev, err, sizeof err), 0);
    /* 32 random bytes, base64url without padding. */
    assert_int_equal(strlen(token), 43);
    assert_int_equal(
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_string_equal(dev.name, "K1");
    assert_int_equal(strlen(dev.token_id), 16);
    assert_int_equal(strspn(dev.token_id, "0123456789abcdef"), 16);
    int64_t now = hb_now_ms();
    assert_true(dev.paired_ms <= now && dev.paired_ms > now - 10000);

    assert_int_equal(access_authenticate(fx->a, token, &got, staff), 0);
    assert_string_equal(got.name, "K1");
    assert_int_equal(got.kind, ACCESS_KIND_KIOSK);
    assert_string_equal(got.token_id, dev.token_id);
    assert_int_equal(got.paired_ms, dev.paired_ms);
    assert_string_equal(staff, "");

    /* A token one character off, a prefix, nothing, too long: nobody's. */
    char wrong[ACCESS_TOKEN_TEXT];
    memcpy(wrong, token, sizeof wrong);
    wrong[5] = wrong[5] == 'A' ? 'B' : 'A';
    assert_int_equal(access_authenticate(fx->a, wrong, &got, staff), HB_ENOTFOUND);
    wrong[0] = '\0';
    assert_int_equal(access_authenticate(fx->a, wrong, &got, staff), HB_ENOTFOUND);
    char prefix[20];
    memcpy(prefix, token, 19);
    prefix[19] = '\0';
    assert_int_equal(access_authenticate(fx->a, prefix, &got, staff), HB_ENOTFOUND);
    char huge[1000];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(access_authenticate(fx->a, huge, &got, staff), HB_ENOTFOUND);
    assert_int_equal(access_authenticate(fx->a, NULL, &got, staff), HB_ENOTFOUND);

    /* Two pairings never share a token. */
    char token2[ACCESS_TOKEN_TEXT];
    assert_int_equal(
        access_device_add(fx->a, "T3", ACCESS_KIND_COUNTER, "3", token2, &dev, err, sizeof err), 0);
    assert_string_not_equal(token, token2);
    assert_int_equal(access_authenticate(fx->a, token2, &got, staff), 0);
    assert_string_equal(got.name, "T3");
    assert_string_equal(got.counter, "3");

    access_device_t list[4];
    size_t n;
    assert_int_equal(access_device_list(fx->a, list, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "K1"); /* name order */
    assert_string_equal(list[1].name, "T3");
    assert_int_equal(access_device_list(fx->a, list, 1, &n), 0);
    assert_int_equal(n, 2); /* how many there are, even past `max` */

    /* Removed: the token is nobody's at once; the name can be paired again,
     * with a new token. */
    assert_int_equal(access_device_remove(fx->a, "K1"), 0);
    assert_int_equal(access_authenticate(fx->a, token, &got, staff), HB_ENOTFOUND);
    assert_int_equal(access_device_get(fx->a, "K1", &got), HB_ENOTFOUND);
    assert_int_equal(access_device_remove(fx->a, "K1"), HB_ENOTFOUND);
    char token3[ACCESS_TOKEN_TEXT];
    assert_int_equal(
        access_device_add(fx->a, "K1", ACCESS_KIND_KIOSK, NULL, token3, NULL, err, sizeof err), 0);
    assert_int_equal(access_authenticate(fx->a, token, &got, staff), HB_ENOTFOUND);
    assert_int_equal(access_authenticate(fx->a, token3, &got, staff), 0);
}

HBT_TEST(test_pairing_refusals)
{
    fixture_t *fx = *state;
    char token[ACCESS_TOKEN_TEXT], err[256];
    const struct {
        const char *name;
        access_kind_t kind;
        const char *counter;
        int rc;
        const char *says;
    } cases[] = {
        {"", ACCESS_KIND_KIOSK, NULL, HB_EINVAL, "is not a device name"},
        {"a b", ACCESS_KIND_KIOSK, NULL, HB_EINVAL, "is not a device name"},
        {"x/y", ACCESS_KIND_KIOSK, NULL, HB_EINVAL, "is not a device name"},
        {"T", ACCESS_KIND_COUNTER, NULL, HB_EINVAL, "needs its counter"},
        {"T", ACCESS_KIND_COUNTER, "", HB_EINVAL, "needs its counter"},
        {"T", ACCESS_KIND_COUNTER, "3 4", HB_EINVAL, "needs its counter"},
        {"K", ACCESS_KIND_KIOSK, "3", HB_EINVAL, "only a counter terminal has a counter"},
        {"M", ACCESS_KIND_MANAGER, "1", HB_EINVAL, "only a counter terminal has a counter"},
        {"Z", ACCESS_KIND_COUNT, NULL, HB_EINVAL, "the kind must be one of"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rc = access_device_add(fx->a, cases[i].name, cases[i].kind, cases[i].counter, token,
                                   NULL, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].says))
            fail_msg("case %zu: %d '%s'", i, rc, err);
    }
    char name[80];
    memset(name, 'n', 64);
    name[64] = '\0';
    assert_int_equal(
        access_device_add(fx->a, name, ACCESS_KIND_DISPLAY, NULL, token, NULL, err, sizeof err),
        0); /* 64 bytes: the longest */
    name[64] = 'n';
    name[65] = '\0';
    assert_int_equal(
        access_device_add(fx->a, name, ACCESS_KIND_DISPLAY, NULL, token, NULL, err, sizeof err),
        HB_EINVAL);
    assert_int_equal(
        access_device_add(fx->a, "D1", ACCESS_KIND_DISPLAY, NULL, token, NULL, err, sizeof err), 0);
    assert_int_equal(
        access_device_add(fx->a, "D1", ACCESS_KIND_KIOSK, NULL, token, NULL, err, sizeof err),
        HB_EEXIST);
    assert_non_null(strstr(err, "paired already"));
}

/* ACCESS_DEVICES_MAX devices, then the next is refused. */
HBT_TEST(test_device_limit)
{
    fixture_t *fx = *state;
    char token[ACCESS_TOKEN_TEXT], err[256], name[16];
    for (int i = 0; i < ACCESS_DEVICES_MAX; i++) {
        snprintf(name, sizeof name, "D%04d", i);
        assert_int_equal(
            access_device_add(fx->a, name, ACCESS_KIND_DISPLAY, NULL, token, NULL, err, sizeof err),
            0);
    }
    assert_int_equal(access_device_add(fx->a, "one-more", ACCESS_KIND_DISPLAY, NULL, token, NULL,
                                       err, sizeof err),
                     HB_ETOOBIG);
    assert_non_null(strstr(err, "1024 devices are paired already"));
    assert_int_equal(access_device_remove(fx->a, "D0000"), 0);
    assert_int_equal(access_device_add(fx->a, "one-more", ACCESS_KIND_DISPLAY, NULL, token, NULL,
                                       err, sizeof err),
                     0);
}

HBT_TEST(test_revocations)
{
    fixture_t *fx = *state;
    char t1[ACCESS_TOKEN_TEXT], t2[ACCESS_TOKEN_TEXT], t3[ACCESS_TOKEN_TEXT], t4[ACCESS_TOKEN_TEXT],
        err[256], staff[ACCESS_ID_MAX];
    access_device_t d1, d2, d3, d4, got;
    assert_int_equal(
        access_device_add(fx->a, "K1", ACCESS_KIND_KIOSK, NULL, t1, &d1, err, sizeof err), 0);
    assert_int_equal(
        access_device_add(fx->a, "K2", ACCESS_KIND_KIOSK, NULL, t2, &d2, err, sizeof err), 0);
    assert_int_equal(
        access_device_add(fx->a, "T1", ACCESS_KIND_COUNTER, "1", t3, &d3, err, sizeof err), 0);
    assert_int_equal(
        access_device_add(fx->a, "M1", ACCESS_KIND_MANAGER, NULL, t4, &d4, err, sizeof err), 0);
    assert_int_equal(access_staff_add(fx->a, "S1", "1234", err, sizeof err), 0);
    assert_int_equal(access_signin(fx->a, "T1", "S1"), 0);

    hb_revocation_t r[3];
    memset(r, 0, sizeof r);
    /* K1 by name whenever paired; T1 by its token id; K2 by name, but only
     * pairings before it was paired: not this one. */
    snprintf(r[0].device, sizeof r[0].device, "K1");
    snprintf(r[1].token, sizeof r[1].token, "%s", d3.token_id);
    snprintf(r[2].device, sizeof r[2].device, "K2");
    r[2].paired_before_ms = d2.paired_ms;
    assert_true(access_revoked(&d1, r, 3));
    assert_false(access_revoked(&d2, r, 3));
    assert_true(access_revoked(&d3, r, 3));
    assert_false(access_revoked(&d4, r, 3));
    /* One millisecond later, K2 would be revoked. */
    r[2].paired_before_ms = d2.paired_ms + 1;
    assert_true(access_revoked(&d2, r, 3));
    r[2].paired_before_ms = d2.paired_ms;
    assert_false(access_revoked(&d1, r, 0));

    size_t removed = 99;
    assert_int_equal(access_revoke(fx->a, r, 3, &removed), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(access_authenticate(fx->a, t1, &got, staff), HB_ENOTFOUND);
    assert_int_equal(access_authenticate(fx->a, t3, &got, staff), HB_ENOTFOUND);
    assert_int_equal(access_authenticate(fx->a, t2, &got, staff), 0);
    assert_int_equal(access_authenticate(fx->a, t4, &got, staff), 0);
    /* Again: nothing left to do. */
    assert_int_equal(access_revoke(fx->a, r, 3, &removed), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(access_revoke(fx->a, r, 0, &removed), 0);
    /* T1's sign-in went with it: paired again, nobody is signed in. */
    assert_int_equal(
        access_device_add(fx->a, "T1", ACCESS_KIND_COUNTER, "1", t3, &d3, err, sizeof err), 0);
    assert_int_equal(access_authenticate(fx->a, t3, &got, staff), 0);
    assert_string_equal(staff, "");
}

/* --------------------------------------------------------------- staff */

typedef struct {
    char ids[8][ACCESS_ID_MAX];
    size_t n;
} staff_seen_t;

static void s_seen(const char *id, int64_t added_ms, void *arg)
{
    staff_seen_t *s = arg;
    assert_true(added_ms > 0);
    if (s->n < 8)
        snprintf(s->ids[s->n++], ACCESS_ID_MAX, "%s", id);
}

/* A staff id and PIN refused, and a part of the reason. */
typedef struct {
    const char *id, *pin, *says;
} staff_refusal_t;

HBT_TEST(test_staff_and_signins)
{
    fixture_t *fx = *state;
    char err[256], token[ACCESS_TOKEN_TEXT], staff[ACCESS_ID_MAX];
    access_device_t got;
    assert_int_equal(access_staff_add(fx->a, "S2", "5678", err, sizeof err), 0);
    assert_int_equal(access_staff_add(fx->a, "S1", "1234", err, sizeof err), 0);
    assert_int_equal(access_staff_add(fx->a, "S1", "9999", err, sizeof err), HB_EEXIST);
    const staff_refusal_t bad[] = {
        {"S 3", "1234", "is not a staff id"},
        {"", "1234", "is not a staff id"},
        {"S3", "123", "a PIN is 4 to 12 digits"},
        {"S3", "1234567890123", "a PIN is 4 to 12 digits"},
        {"S3", "12a4", "a PIN is 4 to 12 digits"},
        {"S3", "", "a PIN is 4 to 12 digits"},
        {"S3", "12 34", "a PIN is 4 to 12 digits"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(access_staff_add(fx->a, bad[i].id, bad[i].pin, err, sizeof err),
                         HB_EINVAL);
        hbt_assert_contains(err, bad[i].says);
    }
    staff_seen_t seen = {.n = 0};
    assert_int_equal(access_staff_list(fx->a, s_seen, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.ids[0], "S1");
    assert_string_equal(seen.ids[1], "S2");

    assert_int_equal(
        access_device_add(fx->a, "T1", ACCESS_KIND_COUNTER, "1", token, NULL, err, sizeof err), 0);
    /* Signing in needs the staff and the terminal to exist. */
    assert_int_equal(access_signin(fx->a, "T1", "S9"), HB_ENOTFOUND);
    assert_int_equal(access_signin(fx->a, "T9", "S1"), HB_ENOTFOUND);
    assert_int_equal(access_signin(fx->a, "T1", "S1"), 0);
    assert_int_equal(access_authenticate(fx->a, token, &got, staff), 0);
    assert_string_equal(staff, "S1");
    /* Another staff replaces the first. */
    assert_int_equal(access_signin(fx->a, "T1", "S2"), 0);
    assert_int_equal(access_authenticate(fx->a, token, &got, staff), 0);
    assert_string_equal(staff, "S2");
    assert_int_equal(access_signout(fx->a, "T1", staff), 0);
    assert_string_equal(staff, "S2");
    assert_int_equal(access_authenticate(fx->a, token, &got, staff), 0);
    assert_string_equal(staff, "");
    assert_int_equal(access_signout(fx->a, "T1", staff), 0); /* nobody: nothing to do */
    assert_string_equal(staff, "");
    /* Removing a staff id signs them out. */
    assert_int_equal(access_signin(fx->a, "T1", "S1"), 0);
    assert_int_equal(access_staff_remove(fx->a, "S1"), 0);
    assert_int_equal(access_authenticate(fx->a, token, &got, staff), 0);
    assert_string_equal(staff, "");
    assert_int_equal(access_staff_remove(fx->a, "S1"), HB_ENOTFOUND);
    assert_int_equal(access_staff_remove(fx->a, "no such one"), HB_ENOTFOUND);
}

HBT_TEST(test_pin_locks)
{
    fixture_t *fx = *state;
    char err[256];
    assert_int_equal(access_staff_add(fx->a, "S1", "1234", err, sizeof err), 0);
    assert_int_equal(access_staff_add(fx->a, "S2", "5678", err, sizeof err), 0);
    /* Long enough that the checks after a lock (each an Argon2id hash, slow
     * on a loaded machine) still find it; the test then waits out what the
     * lock says is left, not a fixed time. */
    access_set_pin_lock(fx->a, 3000);
    int64_t retry;
    bool terminal;
    assert_int_equal(access_pin_check(fx->a, "T1", "S1", "1234", &retry, &terminal), 0);
    /* Four wrong, the right one: the count starts again. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(access_pin_check(fx->a, "T1", "S1", "0000", &retry, &terminal), HB_EAUTH);
    assert_int_equal(access_pin_check(fx->a, "T1", "S1", "1234", &retry, &terminal), 0);
    /* Five wrong in a row: S1 is locked, the right PIN too is refused
     * unchecked, at any terminal; S2 is not. */
    for (int i = 0; i < ACCESS_PIN_TRIES; i++)
        assert_int_equal(access_pin_check(fx->a, "T1", "S1", "0000", &retry, &terminal), HB_EAUTH);
    assert_int_equal(access_pin_check(fx->a, "T1", "S1", "1234", &retry, &terminal), HB_EAGAIN);
    assert_false(terminal);
    assert_true(retry > 0 && retry <= 3000);
    int64_t left = retry;
    assert_int_equal(access_pin_check(fx->a, "T2", "S1", "1234", &retry, &terminal), HB_EAGAIN);
    assert_int_equal(access_pin_check(fx->a, "T1", "S2", "5678", &retry, &terminal), 0);
    hbt_sleep_ms((int)left + 100);
    assert_int_equal(access_pin_check(fx->a, "T1", "S1", "1234", &retry, &terminal), 0);

    /* A terminal that tries ten wrong PINs, whatever the ids (unknown ones
     * too), is locked for everyone. */
    for (int i = 0; i < ACCESS_TERMINAL_TRIES; i++) {
        char id[16];
        snprintf(id, sizeof id, "X%d", i);
        assert_int_equal(access_pin_check(fx->a, "T3", id, "0000", &retry, &terminal), HB_EAUTH);
    }
    assert_int_equal(access_pin_check(fx->a, "T3", "S2", "5678", &retry, &terminal), HB_EAGAIN);
    assert_true(terminal);
    left = retry;
    assert_int_equal(access_pin_check(fx->a, "T1", "S2", "5678", &retry, &terminal), 0);
    hbt_sleep_ms((int)left + 100);
    assert_int_equal(access_pin_check(fx->a, "T3", "S2", "5678", &retry, &terminal), 0);
    /* An unknown id answers as a wrong PIN does, and locks the same way. */
    for (int i = 0; i < ACCESS_PIN_TRIES; i++)
        assert_int_equal(access_pin_check(fx->a, "T4", "ghost", "1234", &retry, &terminal),
                         HB_EAUTH);
    assert_int_equal(access_pin_check(fx->a, "T5", "ghost", "1234", &retry, &terminal), HB_EAGAIN);
    /* Not a PIN at all: wrong, counted. */
    assert_int_equal(access_pin_check(fx->a, "T6", "S2", "56", &retry, &terminal), HB_EAUTH);
}

/* ----------------------------------------------------------- decisions */

static access_caller_t s_device(access_kind_t kind, const char *name, const char *counter,
                                const char *staff)
{
    access_caller_t c;
    memset(&c, 0, sizeof c);
    c.via = ACCESS_VIA_DEVICE;
    c.device.kind = kind;
    snprintf(c.device.name, sizeof c.device.name, "%s", name);
    snprintf(c.device.counter, sizeof c.device.counter, "%s", counter ? counter : "");
    snprintf(c.staff, sizeof c.staff, "%s", staff ? staff : "");
    c.perms = access_kind_perms(kind);
    return c;
}

/* The kinds' permissions, written out: what docs/SECURITY.md promises. */
HBT_TEST_IN(test_kind_table, NULL, NULL)
{
    (void)state;
    static const struct {
        access_kind_t kind;
        const char *holds;
    } want[] = {
        {ACCESS_KIND_KIOSK, "hall.read ticket.issue device.report"},
        {ACCESS_KIND_DISPLAY, "hall.read"},
        {ACCESS_KIND_COUNTER,
         "hall.read counter.act ticket.handle complaint.open feedback.give staff.signin "
         "appointment.book"},
        {ACCESS_KIND_EVALUATOR, "hall.read feedback.give"},
        {ACCESS_KIND_ADAPTER, "hall.read events.post"},
        {ACCESS_KIND_MANAGER,
         "status.read hall.read ticket.issue ticket.handle counter.act complaint.open "
         "complaint.handle feedback.give device.report events.post staff.manage manager.day "
         "appointment.book"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint64_t perms = access_kind_perms(want[i].kind);
        for (int p = HB_PERM_UNSET + 1; p < HB_PERM_COUNT; p++) {
            char word[40];
            snprintf(word, sizeof word, " %s ", hb_perm_name((hb_perm_t)p));
            char holds[300];
            snprintf(holds, sizeof holds, " %s ", want[i].holds);
            bool should = strstr(holds, word) != NULL;
            if (should != !!(perms & ACCESS_PERM(p)))
                fail_msg("%s: %s %s", access_kind_name(want[i].kind), hb_perm_name((hb_perm_t)p),
                         should ? "missing" : "held, and should not be");
        }
    }
    assert_int_equal(access_kind_needs_staff(ACCESS_KIND_COUNTER),
                     ACCESS_PERM(HB_PERM_COUNTER_ACT) | ACCESS_PERM(HB_PERM_TICKET_HANDLE) |
                         ACCESS_PERM(HB_PERM_COMPLAINT_OPEN) | ACCESS_PERM(HB_PERM_FEEDBACK_GIVE) |
                         ACCESS_PERM(HB_PERM_APPOINTMENT_BOOK));
    /* The evaluator faces the customer: nobody signs in at it. */
    assert_int_equal(access_kind_needs_staff(ACCESS_KIND_EVALUATOR), 0);
    assert_int_equal(access_kind_needs_staff(ACCESS_KIND_MANAGER), 0);
    access_kind_t k;
    assert_int_equal(access_kind_parse("adapter", &k), 0);
    assert_int_equal(k, ACCESS_KIND_ADAPTER);
    assert_int_equal(access_kind_parse("Kiosk", &k), HB_ENOTFOUND);
    assert_int_equal(access_kind_parse(NULL, &k), HB_ENOTFOUND);
    assert_null(access_kind_name(ACCESS_KIND_COUNT));
}

HBT_TEST_IN(test_decide, NULL, NULL)
{
    (void)state;
    const hb_route_t open = {"POST", "/v1/counters/:counter/open", HB_PERM_COUNTER_ACT,
                             HB_SCOPE_COUNTER, "counter"};
    const hb_route_t report = {"POST", "/v1/devices/:device/status", HB_PERM_DEVICE_REPORT,
                               HB_SCOPE_DEVICE, "device"};
    const hb_route_t issue = {"POST", "/v1/tickets", HB_PERM_TICKET_ISSUE, HB_SCOPE_ALL, NULL};
    const hb_route_t region = {"GET", "/v1/x/:r", HB_PERM_HALL_READ, HB_SCOPE_REGION, "r"};
    access_caller_t t1 = s_device(ACCESS_KIND_COUNTER, "T1", "1", "S1");
    access_caller_t k1 = s_device(ACCESS_KIND_KIOSK, "K1", NULL, NULL);
    access_caller_t d1 = s_device(ACCESS_KIND_DISPLAY, "D1", NULL, NULL);
    access_caller_t m1 = s_device(ACCESS_KIND_MANAGER, "M1", NULL, NULL);
    access_caller_t local = {.via = ACCESS_VIA_LOCAL,
                             .perms = access_kind_perms(ACCESS_KIND_MANAGER)};
    const struct {
        const access_caller_t *who;
        const hb_route_t *route;
        const char *value;
        int rc;
        bool scope;
        const char *says;
    } cases[] = {
        {&t1, &open, "1", 0, false, ""},
        {&t1, &open, "2", HB_EAUTH, true,
         "scope counter: counter 1's terminal T1 acts at counter 1 only, not at counter 2"},
        {&m1, &open, "2", 0, false, ""},
        {&local, &open, "7", 0, false, ""},
        {&k1, &open, "1", HB_EAUTH, false, "kiosk K1 does not hold counter.act"},
        {&k1, &report, "K1", 0, false, ""},
        {&k1, &report, "K2", HB_EAUTH, true,
         "scope device: kiosk K1 reports for itself only, not for device K2"},
        {&m1, &report, "K2", 0, false, ""},
        {&d1, &report, "D1", HB_EAUTH, false, "display D1 does not hold device.report"},
        {&d1, &issue, NULL, HB_EAUTH, false, "display D1 does not hold ticket.issue"},
        {&k1, &issue, NULL, 0, false, ""},
        {&t1, &issue, NULL, HB_EAUTH, false, "does not hold ticket.issue"},
        /* A scope the hall does not judge is refused, even to the manager. */
        {&m1, &region, "C001", HB_EAUTH, true, "scope region: the hall does not judge it"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[256] = "";
        bool scope = !cases[i].scope;
        int rc =
            access_decide(cases[i].who, cases[i].route, cases[i].value, &scope, why, sizeof why);
        if (rc != cases[i].rc || scope != cases[i].scope || !strstr(why, cases[i].says))
            fail_msg("case %zu: %d %d '%s'", i, rc, scope, why);
    }
    /* The public route is anyone's, even a caller holding nothing. */
    const hb_route_t page = {"GET", "/", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL};
    access_caller_t none;
    memset(&none, 0, sizeof none);
    char why[256];
    bool scope;
    assert_int_equal(access_decide(&none, &page, NULL, &scope, why, sizeof why), 0);
}

HBT_TEST_IN(test_counter_staff_rules, NULL, NULL)
{
    (void)state;
    access_caller_t t1 = s_device(ACCESS_KIND_COUNTER, "T1", "1", "S1");
    access_caller_t t1_nobody = s_device(ACCESS_KIND_COUNTER, "T1", "1", NULL);
    access_caller_t m1 = s_device(ACCESS_KIND_MANAGER, "M1", NULL, NULL);
    const struct {
        const access_caller_t *who;
        const char *body, *open_staff;
        bool open_or_close;
        int rc;
        const char *staff, *says;
    } cases[] = {
        {&t1, NULL, NULL, true, 0, "S1", ""},
        {&t1, "S1", NULL, true, 0, "S1", ""},
        {&t1, "S2", NULL, true, HB_EINVAL, NULL, "staff S2 is not the one signed in"},
        {&t1_nobody, NULL, NULL, true, HB_EAUTH, NULL, "sign in first"},
        {&t1, NULL, "S1", false, 0, "S1", ""},
        {&t1, NULL, "S2", false, HB_ECONFLICT, NULL,
         "counter 1 is open under staff S2, and S1 is signed in"},
        {&t1, NULL, "S2", true, 0, "S1", ""}, /* close: ends S2's session */
        {&m1, "E7", NULL, true, 0, "E7", ""},
        {&m1, NULL, "S2", false, 0, NULL, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *staff = "unset";
        char why[256] = "";
        int rc = access_counter_staff(cases[i].who, "1", cases[i].body, cases[i].open_staff,
                                      cases[i].open_or_close, &staff, why, sizeof why);
        if (rc != cases[i].rc || !strstr(why, cases[i].says) ||
            (rc == 0 && !(staff == cases[i].staff ||
                          (staff && cases[i].staff && strcmp(staff, cases[i].staff) == 0))))
            fail_msg("case %zu: %d '%s' staff %s", i, rc, why, staff ? staff : "(null)");
    }
    const char *counter;
    char why[256];
    assert_int_equal(access_feedback_counter(&t1, NULL, &counter, why, sizeof why), 0);
    assert_string_equal(counter, "1");
    assert_int_equal(access_feedback_counter(&t1, "1", &counter, why, sizeof why), 0);
    assert_int_equal(access_feedback_counter(&t1, "2", &counter, why, sizeof why), HB_EAUTH);
    hbt_assert_contains(why, "counter 1's terminal gives scores for counter 1 only");
    assert_int_equal(access_feedback_counter(&m1, "2", &counter, why, sizeof why), 0);
    assert_string_equal(counter, "2");
    assert_int_equal(access_feedback_counter(&m1, NULL, &counter, why, sizeof why), 0);
    assert_null(counter);
}

/* What the guard costs a request with a warm token: the token's keyed
 * hash, one LMDB read transaction (renewed, not begun), the device's record
 * and its sign-in, and the decision. The issue's budget is 5 us; the bound
 * here leaves room for a sanitizer build and a busy machine, and the figure
 * is printed for docs/OPERATIONS.md. */
HBT_TEST(test_guard_cost)
{
    fixture_t *fx = *state;
    char token[ACCESS_TOKEN_TEXT], err[256];
    assert_int_equal(
        access_device_add(fx->a, "T1", ACCESS_KIND_COUNTER, "1", token, NULL, err, sizeof err), 0);
    assert_int_equal(access_staff_add(fx->a, "S1", "1234", err, sizeof err), 0);
    assert_int_equal(access_signin(fx->a, "T1", "S1"), 0);
    const hb_route_t open = {"POST", "/v1/counters/:counter/open", HB_PERM_COUNTER_ACT,
                             HB_SCOPE_COUNTER, "counter"};
    enum { ROUNDS = 200000 };
    access_caller_t c;
    memset(&c, 0, sizeof c);
    int64_t t0 = hbt_now_us();
    for (int i = 0; i < ROUNDS; i++) {
        bool scope;
        char why[256];
        assert_true(access_authenticate(fx->a, token, &c.device, c.staff) == 0);
        c.perms = access_kind_perms(c.device.kind);
        assert_true(access_decide(&c, &open, "1", &scope, why, sizeof why) == 0);
    }
    double us = (double)(hbt_now_us() - t0) / ROUNDS;
    print_message("[  INFO    ] the guard's work for a warm token: %.2f us a request\n", us);
    assert_string_equal(c.staff, "S1");
    assert_true(us < 25.0);
}
