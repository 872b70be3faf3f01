/* A document a hall refuses shows as refused, with the hall's reason, in
 * HQ's rollout view, and raises document_refused; a later version the hall
 * applies clears both. Real hqd and branchd processes over ZeroMQ: one hall
 * runs with a time-zone folder that lacks the zone a published policy names
 * (a hall whose tzdata is older than HQ's), so its applier refuses that
 * policy while the other hall applies it. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "world.h"

static const hbt_world_spec_t s_world = {.tag = "rollout-refused",
                                         .halls = {"H01", "H02"},
                                         .hq_args = {"--rollout_resend", "1s"},
                                         .engine = true};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

/* A national policy open round the clock in time zone `tz`. */
static int64_t s_publish(hbt_world_t *w, const char *tz)
{
    char body[1024];
    snprintf(body, sizeof body, "{\"timezone\":\"%s\"," HBT_HOURS_ALWAYS_OPEN "}", tz);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/national", body, 200);
    json_t *resp = hbt_req(w->hq.http, "POST", "/v1/policies/publish", "{}", 200);
    int64_t v = hbt_int(resp, "version");
    json_decref(resp);
    return v;
}

/* Waits until the policy rollout at `version` counts `applied` and
 * `refused` halls (none pending); returns the policy part (owned). */
static json_t *s_wait(hbt_world_t *w, int64_t version, int64_t applied, int64_t refused)
{
    int64_t deadline = hbt_now_ms() + 20000;
    json_t *k = NULL;
    while (hbt_now_ms() < deadline) {
        json_t *r = hbt_get(w->hq.http, "/v1/rollout?halls=10");
        json_decref(k);
        k = json_incref(json_object_get(r, "policy"));
        json_decref(r);
        if (k && hbt_int(k, "version") == version && hbt_int(k, "applied") == applied &&
            hbt_int(k, "refused") == refused && hbt_int(k, "pending") == 0)
            return k;
        hbt_sleep_ms(100);
    }
    char *dump = k ? json_dumps(k, 0) : NULL;
    fail_msg("rollout not as expected (v%lld: %lld applied, %lld refused): %s", (long long)version,
             (long long)applied, (long long)refused, dump ? dump : "?");
    return NULL;
}

/* The open document_refused alert of `hall`, or NULL (owned). */
HBT_TEST(test_refused_policy_shows_refused_until_a_good_version)
{
    hbt_world_t *w = *state;
    /* H01's zone folder has no zones at all: it is the hall with an old
     * tzdata. */
    hbt_hall_start_zoneless(w, &w->hall[0]);
    hbt_hall_start(&w->hall[1]);
    for (int i = 0; i < 2; i++)
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 20000));

    int64_t v1 = s_publish(w, "Asia/Shanghai");
    json_t *k = s_wait(w, v1, 1, 1);
    json_t *applied = json_object_get(k, "applied_halls"),
           *refused = json_object_get(k, "refused_halls");
    assert_string_equal(json_string_value(json_array_get(applied, 0)), "H02");
    assert_string_equal(json_string_value(json_array_get(refused, 0)), "H01");
    json_t *why = json_array_get(json_object_get(k, "refusals"), 0);
    assert_non_null(why);
    assert_string_equal(hbt_str(why, "hall"), "H01");
    assert_string_equal(hbt_str(why, "by"), "hall");
    assert_int_equal(hbt_int(why, "version"), v1);
    assert_non_null(strstr(hbt_str(why, "reason"), "Asia/Shanghai"));
    /* The why as a code the dashboard words in each language; the words
     * above are its detail. */
    assert_string_equal(hbt_str(why, "code"), "unknown_timezone");
    fprintf(stderr, "H01 refused policy %lld: %s\n", (long long)v1, hbt_str(why, "reason"));
    /* Without ?halls the view still counts it, listing nobody. */
    json_t *plain = hbt_get(w->hq.http, "/v1/rollout");
    assert_int_equal(hbt_int(json_object_get(plain, "policy"), "refused"), 1);
    assert_null(json_object_get(json_object_get(plain, "policy"), "refusals"));
    json_decref(plain);
    json_decref(k);

    /* The hall still runs what it had: its own policy file's. */
    json_t *hp = hbt_get(w->hall[0].http, "/v1/policy");
    assert_true(hbt_int(hp, "version") < v1);
    json_decref(hp);

    /* The operators are told. */
    json_t *al = hbt_wait_alert(w->hq.http, "H01", "document_refused", 15000);
    assert_non_null(al);
    json_t *params = json_object_get(al, "params");
    assert_string_equal(hbt_str(params, "document"), "policy");
    assert_int_equal(hbt_int(params, "version"), v1);
    assert_non_null(strstr(hbt_str(params, "reason"), "Asia/Shanghai"));
    /* The same code as the rollout's, for the page to word the alert. */
    assert_string_equal(hbt_str(params, "code"), "unknown_timezone");
    assert_string_equal(hbt_str(al, "severity"), "warning");
    int64_t id = hbt_int(al, "id");
    json_decref(al);
    al = hbt_wait_alert(w->hq.http, "H02", "document_refused", 0);
    assert_null(al);

    /* A version the hall can run: applied everywhere, the refusal gone
     * from the view, the alert cleared. */
    int64_t v2 = s_publish(w, "UTC");
    assert_true(v2 > v1);
    k = s_wait(w, v2, 2, 0);
    assert_int_equal(json_array_size(json_object_get(k, "refusals")), 0);
    json_decref(k);
    hp = hbt_get(w->hall[0].http, "/v1/policy");
    assert_int_equal(hbt_int(hp, "version"), v2);
    json_decref(hp);
    assert_true(hbt_wait_alert_cleared(w->hq.http, "H01", "document_refused", 15000));
    json_t *past = hbt_get_first(
        w->hq.http, "/v1/alerts?state=history&hall=H01&kind=document_refused", "alerts");
    assert_int_equal(hbt_int(past, "id"), id);
    assert_false(json_is_true(json_object_get(past, "open")));
    json_decref(past);

    /* H01 refuses again (still without zones), and HQ, restarted, learns it
     * from the hall's next Hello rather than counting it pending. */
    int64_t v3 = s_publish(w, "Europe/Berlin");
    json_decref(s_wait(w, v3, 1, 1));
    hbt_hq_stop(&w->hq, SIGTERM);
    hbt_hq_start(&w->hq);
    k = s_wait(w, v3, 1, 1);
    why = json_array_get(json_object_get(k, "refusals"), 0);
    assert_string_equal(hbt_str(why, "hall"), "H01");
    assert_non_null(strstr(hbt_str(why, "reason"), "Europe/Berlin"));
    assert_string_equal(hbt_str(why, "code"), "unknown_timezone");
    json_decref(k);
}

/* Says in a Hello, as hall H02 over its own key, that it refused policy
 * `version` with `code` and `reason`, and returns the rollout's word on H02
 * once HQ lists it as refused with that reason (owned). */
static json_t *s_hello_refusal(hbt_world_t *w, hbt_raw_t *raw, int64_t version, const char *code,
                               const char *reason)
{
    Hallbus__DocumentRefusal r = HALLBUS__DOCUMENT_REFUSAL__INIT;
    r.version = (uint64_t)version;
    r.code = (char *)code;
    r.reason = (char *)reason;
    Hallbus__Hello hello = HALLBUS__HELLO__INIT;
    hello.protocol = 1;
    hello.software = "test raw client";
    hello.policy_refused = &r;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_HELLO;
    f.hello = &hello;
    int64_t deadline = hbt_now_ms() + 10000;
    for (;;) {
        assert_int_equal(hbt_raw_send_frame(raw, &f), 0);
        hbt_sleep_ms(100);
        json_t *all = hbt_get(w->hq.http, "/v1/rollout?halls=10");
        json_t *why =
            json_array_get(json_object_get(json_object_get(all, "policy"), "refusals"), 0);
        if (why && strcmp(hbt_str(why, "hall"), "H02") == 0 &&
            strcmp(hbt_str(why, "reason"), reason) == 0) {
            json_incref(why);
            json_decref(all);
            return why;
        }
        json_decref(all);
        if (hbt_now_ms() > deadline)
            fail_msg("HQ did not list H02's refusal '%s'", reason);
    }
}

/* What HQ keeps of a hall's refusal code: a code of [a-z_] as it came; none
 * from a hall of an older build (its reason is then all there is, and the
 * dashboard shows it as it is); and a code HQ could not show safely (other
 * characters, too long) is refused and kept as none, the reason still
 * listed. */
HBT_TEST(test_refusal_codes_as_hq_keeps_them)
{
    hbt_world_t *w = *state;
    hbt_hall_start(&w->hall[0]);
    assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 20000));
    int64_t v = s_publish(w, "UTC");
    json_decref(s_wait(w, v, 1, 0));
    hbt_raw_t *raw = hbt_raw_connect(w->hq.endpoint, w->hall[1].dir);
    assert_non_null(raw);
    assert_true(hbt_raw_hello(raw) >= 0);
    static const struct {
        const char *code, *reason, *kept;
    } rows[] = {
        {"unknown_timezone", "zone X missing", "unknown_timezone"},
        {"", "an older hall's words", ""},
        {"Bad-Code!", "a code with capitals and signs", ""},
        {"a_code_of_thirty_two_characters_", "a code one byte too long", ""},
        {"a_code_of_thirty_one_characters", "a code of the longest length",
         "a_code_of_thirty_one_characters"},
        {"not\xc3\xa9"
         "ascii",
         "a code that is not ASCII", ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *why = s_hello_refusal(w, raw, v, rows[i].code, rows[i].reason);
        assert_string_equal(hbt_str(why, "by"), "hall");
        assert_int_equal(hbt_int(why, "version"), v);
        if (strcmp(hbt_str(why, "code"), rows[i].kept) != 0)
            fail_msg("code '%s' kept as '%s', not '%s'", rows[i].code, hbt_str(why, "code"),
                     rows[i].kept);
        json_decref(why);
    }
    hbt_raw_close(&raw);
}
