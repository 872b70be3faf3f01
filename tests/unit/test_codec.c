/* Unit tests of common/link/codec.c: the JSON mapping of every event kind, every
 * refusal of hb_event_from_json, and decoding of hostile bytes (random,
 * truncated, oversized, allocation bombs, unknown fields and kinds). The
 * schema itself is checked too, so a new kind without a round-trip case here
 * fails this test. */
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "harness.h"
#include "runner.h"

#define NOW_MS 1795426200000LL /* 2026-11-23T09:30:00Z */
#define FUTURE_MS (5 * 60 * 1000)

static json_t *s_json(const char *text) { return hbt_json_exact(text, 0); }

/* from_json of `text`; returns the code, `*env` is the envelope or NULL. */
static int s_from(const char *text, Hallbus__Envelope **env, char *err, size_t errlen)
{
    json_t *j = s_json(text);
    err[0] = '\0';
    int rc = hb_event_from_json(j, NOW_MS, FUTURE_MS, env, err, errlen);
    json_decref(j);
    return rc;
}

static void s_refuse_obj(json_t *j, int want_rc, const char *want_err)
{
    Hallbus__Envelope *env = (Hallbus__Envelope *)1;
    char err[512] = "";
    int rc = hb_event_from_json(j, NOW_MS, FUTURE_MS, &env, err, sizeof err);
    if (rc != want_rc)
        fail_msg("expected %d, got %d (%s) for %s", want_rc, rc, err, want_err);
    assert_null(env);
    hbt_assert_contains(err, want_err);
}

static void s_refuse(const char *text, int want_rc, const char *want_err)
{
    json_t *j = s_json(text);
    s_refuse_obj(j, want_rc, want_err);
    json_decref(j);
}

/* ----------------------------------------------------------- round trip */

/* One case per event kind, every field away from its default. */
static const char *const s_every_kind[] = {
    "{\"type\":\"ticket_issued\",\"ticket\":\"A001\",\"service\":\"A\",\"priority\":\"elderly\","
    "\"source\":\"kiosk\",\"number\":1,\"appointment\":\"48213907\",\"due_ms\":1795426200000,"
    "\"staff\":\"E07\"}",
    "{\"type\":\"ticket_called\",\"ticket\":\"A001\",\"counter\":\"3\",\"rule\":\"ageing\","
    "\"wait_s\":4294967295}",
    "{\"type\":\"ticket_recalled\",\"ticket\":\"A001\",\"counter\":\"3\",\"recall_count\":2}",
    "{\"type\":\"service_started\",\"ticket\":\"A001\",\"counter\":\"3\",\"staff\":\"s-17\"}",
    "{\"type\":\"service_completed\",\"ticket\":\"A001\",\"counter\":\"3\",\"business_type\":"
    "\"account_opening\",\"outcome\":\"rejected_documents\",\"amount\":-9007199254740993,"
    "\"currency\":\"EUR\",\"duration_s\":420}",
    "{\"type\":\"ticket_no_show\",\"ticket\":\"B002\",\"counter\":\"4\",\"recall_count\":3}",
    "{\"type\":\"ticket_transferred\",\"ticket\":\"B002\",\"from_service\":\"B\",\"to_service\":"
    "\"C\",\"counter\":\"4\"}",
    "{\"type\":\"ticket_cancelled\",\"ticket\":\"C003\",\"reason\":\"customer left \\u2014 "
    "\xe7\xad\x89\xe5\xbe\x85\xe5\xa4\xaa\xe4\xb9\x85 \xf0\x9f\x98\x9e\"}",
    "{\"type\":\"counter_opened\",\"counter\":\"5\",\"staff\":\"s-2\",\"services\":[\"A\",\"B\","
    "\"C\"],\"elderly\":true}",
    "{\"type\":\"counter_paused\",\"counter\":\"5\",\"reason\":\"meal rotation\","
    "\"overridden\":true}",
    "{\"type\":\"counter_resumed\",\"counter\":\"5\"}",
    "{\"type\":\"counter_closed\",\"counter\":\"5\"}",
    "{\"type\":\"complaint_opened\",\"complaint\":\"K-1\",\"channel\":\"suggestion_box\","
    "\"category\":\"waiting_time\",\"severity\":\"critical\",\"ticket\":\"A001\",\"text\":"
    "\"Waited 2 hours.\\nNobody came. \\\"Unacceptable\\\"\",\"ack_due_ms\":1795000000000,"
    "\"resolve_due_ms\":1795100000000}",
    "{\"type\":\"complaint_acknowledged\",\"complaint\":\"K-1\",\"by\":\"s-9\"}",
    "{\"type\":\"complaint_escalated\",\"complaint\":\"K-1\",\"level\":\"head_office\","
    "\"reason\":\"deadline passed\",\"automatic\":true,\"missed\":\"resolve\"}",
    "{\"type\":\"complaint_resolved\",\"complaint\":\"K-1\",\"resolution\":\"fee refunded\","
    "\"customer_satisfied\":true}",
    "{\"type\":\"satisfaction_scored\",\"ticket\":\"A001\",\"counter\":\"3\",\"score\":5,"
    "\"reasons\":[\"fast\",\"friendly\"]}",
    "{\"type\":\"device_status\",\"device\":\"kiosk-1\",\"kind\":\"self_service\",\"state\":"
    "\"paper_out\",\"detail\":\"printer tray empty\"}",
    "{\"type\":\"day_started\",\"date\":\"2026-12-02\",\"timezone\":\"Europe/Berlin\","
    "\"utc_offset_s\":-3600}",
    "{\"type\":\"policy_applied\",\"version\":9223372036854775807}",
    "{\"type\":\"calendar_applied\",\"version\":42}",
    "{\"type\":\"meeting_held\",\"kind\":\"after_shift\",\"duration_s\":900,\"attendees\":"
    "[\"E07\",\"E08\"],\"topics\":[\"queue at noon\"],\"note\":\"ok\",\"by\":\"M1\"}",
    "{\"type\":\"checklist_done\",\"items\":[{\"item\":\"device:K1\",\"ok\":true,\"note\":"
    "\"paper low\"}],\"by\":\"M1\"}",
    "{\"type\":\"hall_opened\",\"failed\":[\"K1\"],\"unchecked\":[\"D1\"],\"late_s\":-5,"
    "\"note\":\"n\",\"by\":\"M1\"}",
    "{\"type\":\"patrol_drawn\",\"patrol\":\"P20261123-1\",\"on_duty\":[\"E1\",\"E2\"],"
    "\"drawn\":[\"E2\"],\"by\":\"M1\"}",
    "{\"type\":\"patrol_scored\",\"patrol\":\"P20261123-1\",\"staff\":\"E2\",\"smile\":5,"
    "\"initiative\":4,\"compliance\":3,\"speed\":2,\"accuracy\":1,\"note\":\"n\",\"by\":\"M1\"}",
    "{\"type\":\"work_logged\",\"text\":\"printer jam cleared\",\"by\":\"M1\"}",
    "{\"type\":\"cash_handed_over\",\"amount\":1250000,\"currency\":\"CNY\",\"from_staff\":"
    "\"E07\",\"to_staff\":\"E08\",\"checked\":true,\"note\":\"n\",\"by\":\"M1\"}",
    "{\"type\":\"appointment_booked\",\"code\":\"48213907\",\"service\":\"A\",\"start_ms\":"
    "1795426200000,\"slot_s\":1800,\"staff\":\"E07\",\"channel\":\"app\",\"request\":"
    "\"0123456789abcdef0123456789abcdef\"}",
    "{\"type\":\"appointment_checked_in\",\"code\":\"48213907\",\"ticket\":\"A013\"}",
    "{\"type\":\"appointment_no_show\",\"code\":\"48213907\"}",
    "{\"type\":\"appointment_cancelled\",\"code\":\"48213907\",\"reason\":\"r\"}",
};
#define N_KINDS (sizeof s_every_kind / sizeof s_every_kind[0])

#define HBT_FIXTURE NULL, NULL

/* The envelope's event kinds (its oneof members) one by one: the next
 * from *at on, or NULL after the last. */
static const ProtobufCFieldDescriptor *s_next_kind(unsigned *at)
{
    const ProtobufCMessageDescriptor *md = &hallbus__envelope__descriptor;
    while (*at < md->n_fields) {
        const ProtobufCFieldDescriptor *fd = &md->fields[(*at)++];
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            return fd;
    }
    return NULL;
}

/* The length of the prefix every value name of `ed` shares with its
 * UNSPECIFIED value (which must be there, at 0). */
static size_t s_enum_prefix(const ProtobufCEnumDescriptor *ed)
{
    const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(ed, 0);
    assert_non_null(zero);
    const char *u = strstr(zero->name, "UNSPECIFIED");
    assert_non_null(u);
    return (size_t)(u - zero->name);
}

HBT_TEST(test_round_trip_every_kind)
{
    (void)state;
    for (size_t i = 0; i < N_KINDS; i++) {
        json_t *in = s_json(s_every_kind[i]);
        json_object_set_new(in, "at", json_string("2026-11-23T09:29:59.123Z"));
        Hallbus__Envelope *env = NULL;
        char err[256] = "";
        int rc = hb_event_from_json(in, NOW_MS, FUTURE_MS, &env, err, sizeof err);
        if (rc != 0)
            fail_msg("%s refused: %s", s_every_kind[i], err);
        assert_int_equal(env->seq, 0);
        assert_int_equal(env->at_ms, NOW_MS - 877);
        assert_string_equal(hb_event_type_name(env),
                            json_string_value(json_object_get(in, "type")));
        env->seq = 1000 + i; /* what the hall's outbox does */
        uint8_t *buf;
        size_t len;
        assert_int_equal(hb_envelope_pack(env, &buf, &len), 0);
        hb_envelope_free(env);

        Hallbus__Envelope *back = hb_envelope_unpack(buf, len);
        assert_non_null(back);
        free(buf);
        assert_int_equal(hb_event_check(back, err, sizeof err), 0);
        json_t *out = hb_event_to_json(back);
        assert_non_null(out);
        hb_envelope_free(back);

        json_object_set_new(in, "seq", json_integer((json_int_t)(1000 + i)));
        if (!json_equal(in, out)) {
            char *a = json_dumps(in, JSON_SORT_KEYS), *b = json_dumps(out, JSON_SORT_KEYS);
            fail_msg("round trip differs:\n in: %s\nout: %s", a, b);
        }
        /* The documented member order: seq, at, type, then the fields. */
        void *it = json_object_iter(out);
        assert_string_equal(json_object_iter_key(it), "seq");
        it = json_object_iter_next(out, it);
        assert_string_equal(json_object_iter_key(it), "at");
        it = json_object_iter_next(out, it);
        assert_string_equal(json_object_iter_key(it), "type");
        json_decref(in);
        json_decref(out);
    }
}

/* The table above covers every kind the .proto has: a new kind without a
 * case here fails. */
HBT_TEST(test_every_kind_is_covered)
{
    (void)state;
    size_t kinds = 0;
    const ProtobufCFieldDescriptor *fd;
    for (unsigned f = 0; (fd = s_next_kind(&f));) {
        kinds++;
        char needle[128];
        snprintf(needle, sizeof needle, "\"type\":\"%s\"", fd->name);
        bool found = false;
        for (size_t i = 0; i < N_KINDS && !found; i++)
            found = strstr(s_every_kind[i], needle) != NULL;
        if (!found)
            fail_msg("event kind %s has no round-trip case", fd->name);
    }
    assert_int_equal(kinds, N_KINDS);
}

/* What the JSON mapping relies on in the schema: no event field is named
 * like an envelope member of the JSON form, and every enum value carries the
 * prefix of its UNSPECIFIED value, so every value has a JSON name. */
HBT_TEST(test_schema_fits_the_json_form)
{
    (void)state;
    const ProtobufCFieldDescriptor *fd;
    for (unsigned f = 0; (fd = s_next_kind(&f));) {
        assert_int_equal(fd->type, PROTOBUF_C_TYPE_MESSAGE);
        const ProtobufCMessageDescriptor *body = fd->descriptor;
        for (unsigned k = 0; k < body->n_fields; k++) {
            const ProtobufCFieldDescriptor *bf = &body->fields[k];
            static const char *const reserved[] = {"seq", "at", "type", "unknown_fields"};
            for (size_t r = 0; r < 4; r++)
                if (strcmp(bf->name, reserved[r]) == 0)
                    fail_msg("%s.%s clashes with the JSON envelope", fd->name, bf->name);
            if (bf->type != PROTOBUF_C_TYPE_ENUM)
                continue;
            const ProtobufCEnumDescriptor *ed = bf->descriptor;
            size_t plen = s_enum_prefix(ed);
            const char *zero = protobuf_c_enum_descriptor_get_value(ed, 0)->name;
            for (unsigned v = 0; v < ed->n_values; v++)
                assert_int_equal(strncmp(ed->values[v].name, zero, plen), 0);
        }
    }
}

/* ---------------------------------------------------------------- enums */

/* Every value of every enum of every event, by its JSON name, both ways. */
HBT_TEST(test_enum_names)
{
    (void)state;
    size_t checked = 0;
    const ProtobufCFieldDescriptor *fd;
    for (unsigned f = 0; (fd = s_next_kind(&f));) {
        const ProtobufCMessageDescriptor *body = fd->descriptor;
        for (unsigned k = 0; k < body->n_fields; k++) {
            const ProtobufCFieldDescriptor *bf = &body->fields[k];
            if (bf->type != PROTOBUF_C_TYPE_ENUM)
                continue;
            const ProtobufCEnumDescriptor *ed = bf->descriptor;
            size_t plen = s_enum_prefix(ed);
            for (unsigned v = 0; v < ed->n_values; v++) {
                if (ed->values[v].value == 0)
                    continue;
                char jname[64];
                size_t n = 0;
                for (const char *p = ed->values[v].name + plen; *p && n + 1 < sizeof jname; p++)
                    jname[n++] = (char)tolower((unsigned char)*p);
                jname[n] = '\0';
                json_t *in = json_pack("{s:s, s:s}", "type", fd->name, bf->name, jname);
                Hallbus__Envelope *env = NULL;
                char err[256] = "";
                assert_int_equal(hb_event_from_json(in, NOW_MS, FUTURE_MS, &env, err, sizeof err),
                                 0);
                const ProtobufCMessage *msg =
                    *(ProtobufCMessage *const *)((const char *)env + fd->offset);
                assert_int_equal(*(const int *)((const char *)msg + bf->offset),
                                 ed->values[v].value);
                json_t *out = hb_event_to_json(env);
                assert_string_equal(json_string_value(json_object_get(out, bf->name)), jname);
                json_decref(out);
                json_decref(in);
                hb_envelope_free(env);
                checked++;
            }
        }
    }
    assert_true(checked >= 30);

    Hallbus__Envelope *env = NULL;
    char err[256];
    assert_int_equal(
        s_from("{\"type\":\"ticket_issued\",\"priority\":\"elderly\"}", &env, err, sizeof err), 0);
    assert_int_equal(env->ticket_issued->priority, HALLBUS__PRIORITY__PRIORITY_ELDERLY);
    hb_envelope_free(env);
    assert_int_equal(
        s_from("{\"type\":\"device_status\",\"state\":\"paper_out\"}", &env, err, sizeof err), 0);
    assert_int_equal(env->device_status->state, HALLBUS__DEVICE_STATE__DEVICE_STATE_PAPER_OUT);
    hb_envelope_free(env);
}

HBT_TEST(test_enum_refusals)
{
    (void)state;
    s_refuse("{\"type\":\"ticket_issued\",\"priority\":\"urgent\"}", HB_EINVAL,
             "priority: 'urgent' is not one of normal, vip, elderly, appointment");
    s_refuse("{\"type\":\"ticket_issued\",\"priority\":\"unspecified\"}", HB_EINVAL,
             "priority: 'unspecified' is not one of normal, vip, elderly, appointment");
    s_refuse("{\"type\":\"device_status\",\"state\":\"DEVICE_STATE_OK\"}", HB_EINVAL,
             "state: 'DEVICE_STATE_OK' is not one of ok, fault, paper_out, offline");
    s_refuse("{\"type\":\"ticket_issued\",\"priority\":\"VIP\"}", HB_EINVAL, "'VIP' is not one of");
    s_refuse("{\"type\":\"ticket_issued\",\"priority\":2}", HB_EINVAL,
             "priority of ticket_issued must be a string naming a value");
}

/* ------------------------------------------------------------- defaults */

HBT_TEST(test_defaults_and_at)
{
    (void)state;
    Hallbus__Envelope *env = NULL;
    char err[256];
    assert_int_equal(s_from("{\"type\":\"ticket_issued\"}", &env, err, sizeof err), 0);
    assert_int_equal(env->at_ms, NOW_MS); /* "at" absent: now */
    assert_int_equal(env->body_case, HALLBUS__ENVELOPE__BODY_TICKET_ISSUED);
    json_t *out = hb_event_to_json(env);
    json_t *want = s_json("{\"seq\":0,\"at\":\"2026-11-23T09:30:00.000Z\",\"type\":"
                          "\"ticket_issued\",\"ticket\":\"\",\"service\":\"\",\"priority\":"
                          "\"unspecified\",\"source\":\"unspecified\",\"number\":0,"
                          "\"appointment\":\"\",\"due_ms\":0,\"staff\":\"\"}");
    assert_true(json_equal(out, want));
    json_decref(out);
    json_decref(want);
    hb_envelope_free(env);

    /* null is the same as absent; "at" with an offset; exactly max_future. */
    assert_int_equal(s_from("{\"type\":\"counter_opened\",\"counter\":null,\"services\":[],"
                            "\"at\":\"2026-11-23T10:35:00+01:00\"}",
                            &env, err, sizeof err),
                     0);
    assert_int_equal(env->at_ms, NOW_MS + FUTURE_MS);
    assert_int_equal(env->counter_opened->n_services, 0);
    hb_envelope_free(env);
    /* The past is fine: a hall catching up after an outage. */
    assert_int_equal(s_from("{\"type\":\"counter_closed\",\"at\":\"2020-01-01T00:00:00Z\"}", &env,
                            err, sizeof err),
                     0);
    hb_envelope_free(env);
    /* Limits are inclusive. */
    char text[2048];
    snprintf(text, sizeof text,
             "{\"type\":\"ticket_cancelled\",\"ticket\":\"%064d\",\"reason\":\"%s\"}", 0, "");
    assert_int_equal(s_from(text, &env, err, sizeof err), 0);
    assert_int_equal(strlen(env->ticket_cancelled->ticket), HB_ID_MAX);
    hb_envelope_free(env);
    json_t *big = json_pack("{s:s}", "type", "ticket_cancelled");
    char reason[HB_TEXT_MAX + 2];
    memset(reason, 'r', sizeof reason);
    reason[HB_TEXT_MAX] = '\0';
    json_object_set_new(big, "reason", json_string(reason));
    assert_int_equal(hb_event_from_json(big, NOW_MS, FUTURE_MS, &env, err, sizeof err), 0);
    hb_envelope_free(env);
    json_t *services = json_array();
    for (int i = 0; i < 64; i++)
        json_array_append_new(services, json_string("S"));
    json_t *opened = json_pack("{s:s, s:o}", "type", "counter_opened", "services", services);
    assert_int_equal(hb_event_from_json(opened, NOW_MS, FUTURE_MS, &env, err, sizeof err), 0);
    assert_int_equal(env->counter_opened->n_services, 64);
    /* The largest event JSON can make still packs. */
    uint8_t *buf;
    size_t len;
    assert_int_equal(hb_envelope_pack(env, &buf, &len), 0);
    free(buf);
    hb_envelope_free(env);
    json_decref(opened);
    json_decref(big);
}

/* ------------------------------------------------------------- refusals */

/* Event JSON and a part of the message the codec refuses it with. */
typedef struct {
    const char *json, *err;
} refusal_t;

/* Refused as invalid (HB_EINVAL); one loop asserts each row. */
static const refusal_t s_invalid[] = {
    /* Not an event at all. */
    {"[1,2]", "an event must be a JSON object"},
    /* The type. */
    {"{\"ticket\":\"A1\"}", "the event has no \"type\""},
    {"{\"type\":5}", "\"type\" must be a string"},
    {"{\"type\":\"ticket_eaten\"}", "unknown type 'ticket_eaten'"},
    {"{\"type\":\"seq\"}", "unknown type 'seq'"},
    {"{\"type\":\"at_ms\"}", "unknown type 'at_ms'"},
    {"{\"type\":\"\"}", "unknown type ''"},
    /* Members. */
    {"{\"type\":\"ticket_issued\",\"foo\":1}", "unknown field 'foo' for ticket_issued"},
    {"{\"type\":\"ticket_issued\",\"at_ms\":1}", "unknown field 'at_ms' for ticket_issued"},
    {"{\"type\":\"ticket_issued\",\"unknown_fields\":0}", "unknown field 'unknown_fields'"},
    {"{\"type\":\"ticket_issued\",\"seq\":5}", "\"seq\" may not be given"},
    {"{\"type\":\"ticket_issued\",\"seq\":null}", "\"seq\" may not be given"},
    /* Wrong JSON types. */
    {"{\"type\":\"ticket_called\",\"wait_s\":\"5\"}",
     "wait_s of ticket_called must be a whole number"},
    {"{\"type\":\"ticket_called\",\"wait_s\":5.5}",
     "wait_s of ticket_called must be a whole number"},
    {"{\"type\":\"ticket_called\",\"wait_s\":5.0}",
     "wait_s of ticket_called must be a whole number"},
    {"{\"type\":\"ticket_called\",\"wait_s\":true}", "must be a whole number"},
    {"{\"type\":\"ticket_called\",\"ticket\":7}", "ticket of ticket_called must be a string"},
    {"{\"type\":\"ticket_called\",\"ticket\":[\"A\"]}", "ticket of ticket_called must be a string"},
    {"{\"type\":\"ticket_called\",\"ticket\":{}}", "must be a string"},
    {"{\"type\":\"complaint_escalated\",\"automatic\":\"yes\"}",
     "automatic of complaint_escalated must be true or false"},
    {"{\"type\":\"complaint_escalated\",\"automatic\":1}", "must be true or false"},
    {"{\"type\":\"counter_opened\",\"services\":\"A\"}",
     "services of counter_opened must be an array"},
    {"{\"type\":\"counter_opened\",\"services\":[\"A\",5]}",
     "services of counter_opened must be a string"},
    {"{\"type\":\"counter_opened\",\"services\":[\"A\",null]}",
     "services of counter_opened must be a string"},
    /* Ranges. */
    {"{\"type\":\"ticket_called\",\"wait_s\":4294967296}",
     "wait_s of ticket_called is out of range (0 to 4294967295): 4294967296"},
    {"{\"type\":\"ticket_called\",\"wait_s\":-1}", "wait_s of ticket_called must not be negative"},
    {"{\"type\":\"policy_applied\",\"version\":-1}",
     "version of policy_applied must not be negative"},
    {"{\"type\":\"satisfaction_scored\",\"score\":-9223372036854775808}",
     "score of satisfaction_scored must not be negative"},
    {"{\"type\":\"counter_closed\",\"at\":\"2026-11-23T09:35:00.001Z\"}",
     "\"at\" is 300 s ahead of the hall's clock; at most 300 s are allowed"},
    {"{\"type\":\"counter_closed\",\"at\":\"9999-12-31T23:59:59Z\"}", "ahead of the hall's clock"},
    /* A refusal half-way through a body frees what was built (ASan). */
    {"{\"type\":\"complaint_opened\",\"complaint\":\"K\",\"category\":\"c\",\"text\":"
     "\"t\",\"ticket\":\"A\",\"severity\":\"huge\"}",
     "severity: 'huge' is not one of low, medium, high, critical"},
};

/* Refused as unreadable (HB_EPARSE). */
static const refusal_t s_unreadable[] = {
    /* "at". */
    {"{\"type\":\"counter_closed\",\"at\":\"yesterday\"}", "\"at\" must be an RFC 3339 time"},
    {"{\"type\":\"counter_closed\",\"at\":1795426200000}", "\"at\" must be an RFC 3339 time"},
    {"{\"type\":\"counter_closed\",\"at\":\"2026-11-23 09:30:00\"}",
     "\"at\" must be an RFC 3339 time"},
};

HBT_TEST(test_refusals)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_invalid / sizeof s_invalid[0]; i++)
        s_refuse(s_invalid[i].json, HB_EINVAL, s_invalid[i].err);
    for (size_t i = 0; i < sizeof s_unreadable / sizeof s_unreadable[0]; i++)
        s_refuse(s_unreadable[i].json, HB_EPARSE, s_unreadable[i].err);
    /* Not an event at all. */
    json_t *str = json_string("ticket_issued");
    s_refuse_obj(str, HB_EINVAL, "an event must be a JSON object");
    json_decref(str);
    s_refuse_obj(NULL, HB_EINVAL, "an event must be a JSON object");
    /* A NUL inside the type. */
    json_t *nul = json_object();
    json_object_set_new(nul, "type", json_stringn("ticket_issued\0x", 15));
    s_refuse_obj(nul, HB_EINVAL, "unknown type");
    json_decref(nul);
    /* String limits, UTF-8, NUL. */
    char text[4096];
    snprintf(text, sizeof text, "{\"type\":\"ticket_called\",\"ticket\":\"%065d\"}", 0);
    s_refuse(text, HB_EINVAL, "ticket of ticket_called is 65 bytes long; at most 64 are allowed");
    snprintf(text, sizeof text, "{\"type\":\"service_completed\",\"business_type\":\"%065d\"}", 0);
    s_refuse(text, HB_EINVAL, "business_type of service_completed is 65 bytes long");
    snprintf(text, sizeof text, "{\"type\":\"complaint_opened\",\"text\":\"%01025d\"}", 0);
    s_refuse(text, HB_EINVAL, "text of complaint_opened is 1025 bytes long; at most 1024");
    snprintf(text, sizeof text, "{\"type\":\"counter_opened\",\"services\":[\"A\",\"%065d\"]}", 0);
    s_refuse(text, HB_EINVAL, "services of counter_opened is 65 bytes long");
    nul = json_pack("{s:s}", "type", "ticket_called");
    json_object_set_new(nul, "ticket", json_stringn("A\0B", 3));
    s_refuse_obj(nul, HB_EINVAL, "ticket of ticket_called contains a NUL character");
    json_decref(nul);
    static const char *const bad_utf8[] = {"\xff",     "A\xc0\xaf",        "\xed\xa0\x80",
                                           "\xe2\x82", "\xf4\x90\x80\x80", "ok\x80"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        /* jansson validates what it parses; a caller building JSON by hand
         * (json_string_nocheck) must meet the same wall in the codec. */
        json_t *j = json_pack("{s:s}", "type", "ticket_cancelled");
        json_object_set_new(j, "reason", json_string_nocheck(bad_utf8[i]));
        s_refuse_obj(j, HB_EINVAL, "reason of ticket_cancelled is not valid UTF-8");
        json_decref(j);
    }
    /* Repeated limit. */
    json_t *services = json_array();
    for (int i = 0; i < 65; i++)
        json_array_append_new(services, json_string("S"));
    json_t *j = json_pack("{s:s, s:o}", "type", "counter_opened", "services", services);
    s_refuse_obj(j, HB_EINVAL, "services of counter_opened has 65 elements; at most 64");
    json_decref(j);

    /* No output argument: refused, not a crash. */
    json_t *ok = s_json("{\"type\":\"counter_closed\"}");
    assert_int_equal(hb_event_from_json(ok, NOW_MS, FUTURE_MS, NULL, NULL, 0), HB_EINVAL);
    /* A NULL err buffer is allowed. */
    Hallbus__Envelope *env = NULL;
    json_object_set_new(ok, "bogus", json_true());
    assert_int_equal(hb_event_from_json(ok, NOW_MS, FUTURE_MS, &env, NULL, 0), HB_EINVAL);
    assert_null(env);
    json_decref(ok);
}

/* ---------------------------------------------------------- hand-made bytes */

typedef struct bytes {
    uint8_t b[HB_EVENT_MAX * 2];
    size_t n;
} bytes_t;

static void s_varint(bytes_t *o, uint64_t v)
{
    while (v >= 0x80) {
        o->b[o->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o->b[o->n++] = (uint8_t)v;
}

static void s_tag(bytes_t *o, uint32_t field, unsigned wire)
{
    s_varint(o, ((uint64_t)field << 3) | wire);
}

static void s_ld(bytes_t *o, uint32_t field, const void *data, size_t len)
{
    s_tag(o, field, 2);
    s_varint(o, len);
    memcpy(o->b + o->n, data, len);
    o->n += len;
}

static void s_pack_json(const char *text, uint64_t seq, bytes_t *o)
{
    Hallbus__Envelope *env = NULL;
    char err[256];
    assert_int_equal(s_from(text, &env, err, sizeof err), 0);
    env->seq = seq;
    uint8_t *buf;
    size_t len;
    assert_int_equal(hb_envelope_pack(env, &buf, &len), 0);
    memcpy(o->b, buf, len);
    o->n = len;
    free(buf);
    hb_envelope_free(env);
}

/* A newer hall's envelope: a field this build does not know inside a known
 * kind, and a kind this build does not know. */
HBT_TEST(test_unknown_fields_and_kinds)
{
    (void)state;
    bytes_t o = {.n = 0};
    s_pack_json("{\"type\":\"ticket_issued\",\"ticket\":\"A7\",\"priority\":\"vip\"}", 7, &o);
    s_tag(&o, 99, 0); /* varint field 99 on the envelope */
    s_varint(&o, 1234567);
    s_ld(&o, 98, "later", 5); /* and a length-delimited one */
    Hallbus__Envelope *env = hb_envelope_unpack(o.b, o.n);
    assert_non_null(env);
    assert_int_equal(env->seq, 7);
    assert_int_equal(env->body_case, HALLBUS__ENVELOPE__BODY_TICKET_ISSUED);
    assert_string_equal(env->ticket_issued->ticket, "A7");
    assert_int_equal(env->base.n_unknown_fields, 2);
    json_t *j = hb_event_to_json(env);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "ticket_issued");
    assert_null(json_object_get(j, "unknown_fields"));
    json_decref(j);
    hb_envelope_free(env);

    /* Kind 97, unknown here: seq and at survive, the body is kept unknown. */
    bytes_t u = {.n = 0};
    s_tag(&u, 1, 0);
    s_varint(&u, 9);
    s_tag(&u, 2, 0);
    s_varint(&u, (uint64_t)NOW_MS);
    uint8_t inner[] = {0x0a, 0x03, 'a', 'b', 'c', 0x10, 0x05};
    s_ld(&u, 97, inner, sizeof inner);
    env = hb_envelope_unpack(u.b, u.n);
    assert_non_null(env);
    assert_int_equal(env->seq, 9);
    assert_int_equal(env->at_ms, NOW_MS);
    assert_int_equal(env->body_case, HALLBUS__ENVELOPE__BODY__NOT_SET);
    assert_string_equal(hb_event_type_name(env), "unknown");
    char err[256];
    assert_int_equal(hb_event_check(env, err, sizeof err), 0);
    j = hb_event_to_json(env);
    json_t *want = s_json("{\"seq\":9,\"at\":\"2026-11-23T09:30:00.000Z\",\"type\":\"unknown\","
                          "\"unknown_fields\":1}");
    assert_true(json_equal(j, want));
    json_decref(want);
    json_decref(j);
    /* Packing it again gives the same bytes: nothing of the newer kind is lost. */
    uint8_t *again;
    size_t again_len;
    assert_int_equal(hb_envelope_pack(env, &again, &again_len), 0);
    assert_int_equal(again_len, u.n);
    assert_memory_equal(again, u.b, u.n);
    free(again);
    hb_envelope_free(env);

    /* An enum number this build does not know stays a number. */
    bytes_t body = {.n = 0}, e = {.n = 0};
    s_ld(&body, 1, "A1", 2);
    s_tag(&body, 3, 0);
    s_varint(&body, 9); /* priority 9 */
    s_tag(&e, 1, 0);
    s_varint(&e, 3);
    s_ld(&e, 10, body.b, body.n);
    env = hb_envelope_unpack(e.b, e.n);
    assert_non_null(env);
    j = hb_event_to_json(env);
    assert_int_equal(json_integer_value(json_object_get(j, "priority")), 9);
    assert_string_equal(json_string_value(json_object_get(j, "source")), "unspecified");
    json_decref(j);
    hb_envelope_free(env);
}

/* Strings from the wire are not trusted to be UTF-8 or short. */
HBT_TEST(test_decoded_strings)
{
    (void)state;
    bytes_t body = {.n = 0}, e = {.n = 0};
    s_ld(&body, 1,
         "A\xff\xfe"
         "1",
         4);
    s_tag(&e, 1, 0);
    s_varint(&e, 1);
    s_ld(&e, 10, body.b, body.n);
    Hallbus__Envelope *env = hb_envelope_unpack(e.b, e.n);
    assert_non_null(env); /* protobuf-c does not check UTF-8: we do */
    char err[256] = "";
    assert_int_equal(hb_event_check(env, err, sizeof err), HB_EINVAL);
    hbt_assert_contains(err, "ticket of ticket_issued is not valid UTF-8");
    json_t *j = hb_event_to_json(env);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "ticket")), "A??1");
    json_decref(j);
    hb_envelope_free(env);

    char long_id[HB_ID_MAX + 1];
    memset(long_id, 'x', sizeof long_id);
    body.n = e.n = 0;
    s_ld(&body, 1, long_id, sizeof long_id); /* counter */
    s_ld(&e, 21, body.b, body.n);            /* counter_paused */
    env = hb_envelope_unpack(e.b, e.n);
    assert_non_null(env);
    assert_int_equal(hb_event_check(env, err, sizeof err), HB_EINVAL);
    hbt_assert_contains(err, "counter of counter_paused is 65 bytes long");
    hb_envelope_free(env);

    /* 65 services: decodes (the wire has no such limit) but fails the check. */
    body.n = e.n = 0;
    for (int i = 0; i < 65; i++)
        s_ld(&body, 3, "S", 1);
    s_ld(&e, 20, body.b, body.n);
    env = hb_envelope_unpack(e.b, e.n);
    assert_non_null(env);
    assert_int_equal(env->counter_opened->n_services, 65);
    assert_int_equal(hb_event_check(env, err, sizeof err), HB_EINVAL);
    hbt_assert_contains(err, "services of counter_opened has 65 elements");
    hb_envelope_free(env);
}

HBT_TEST(test_uint64_beyond_json_integers)
{
    (void)state;
    Hallbus__PolicyApplied pa = HALLBUS__POLICY_APPLIED__INIT;
    pa.version = UINT64_MAX;
    Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT;
    env.seq = (uint64_t)INT64_MAX + 1;
    env.at_ms = NOW_MS;
    env.body_case = HALLBUS__ENVELOPE__BODY_POLICY_APPLIED;
    env.policy_applied = &pa;
    json_t *j = hb_event_to_json(&env);
    assert_string_equal(json_string_value(json_object_get(j, "version")), "18446744073709551615");
    assert_string_equal(json_string_value(json_object_get(j, "seq")), "9223372036854775808");
    json_decref(j);
    pa.version = (uint64_t)INT64_MAX;
    env.seq = 1;
    j = hb_event_to_json(&env);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), INT64_MAX);
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 1);
    json_decref(j);
}

/* ---------------------------------------------------------- hostile bytes */

static uint64_t s_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static void s_try_both(const uint8_t *buf, size_t len)
{
    Hallbus__Envelope *env = hb_envelope_unpack(buf, len);
    if (env) {
        json_t *j = hb_event_to_json(env);
        assert_non_null(j);
        json_decref(j);
        char err[128];
        (void)hb_event_check(env, err, sizeof err);
        hb_envelope_free(env);
    }
    Hallbus__Frame *f = hb_frame_unpack(buf, len);
    hb_frame_free(f);
}

HBT_TEST(test_random_bytes)
{
    (void)state;
    static uint8_t buf[1024];
    for (int i = 0; i < 10000; i++) {
        size_t len = (size_t)(s_rand() % sizeof buf);
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)s_rand();
        s_try_both(buf, len);
    }
    /* Random changes to valid envelopes reach much deeper than noise. */
    for (int i = 0; i < 10000; i++) {
        bytes_t o = {.n = 0};
        json_t *in = s_json(s_every_kind[i % N_KINDS]);
        Hallbus__Envelope *env = NULL;
        char err[256];
        assert_int_equal(hb_event_from_json(in, NOW_MS, FUTURE_MS, &env, err, sizeof err), 0);
        env->seq = (uint64_t)i + 1;
        uint8_t *packed;
        size_t len;
        assert_int_equal(hb_envelope_pack(env, &packed, &len), 0);
        memcpy(o.b, packed, len);
        o.n = len;
        free(packed);
        hb_envelope_free(env);
        json_decref(in);
        int changes = 1 + (int)(s_rand() % 4);
        for (int c = 0; c < changes && o.n; c++) {
            size_t at = (size_t)(s_rand() % o.n);
            switch (s_rand() % 3) {
            case 0: o.b[at] ^= (uint8_t)(1u << (s_rand() % 8)); break;
            case 1: o.b[at] = (uint8_t)s_rand(); break;
            default:
                o.n = at; /* truncate */
                break;
            }
        }
        s_try_both(o.b, o.n);
    }
    /* Empty and NULL input. */
    Hallbus__Envelope *empty = hb_envelope_unpack(NULL, 0);
    assert_non_null(empty); /* zero bytes are a valid, empty envelope */
    assert_int_equal(empty->seq, 0);
    hb_envelope_free(empty);
    assert_null(hb_envelope_unpack(NULL, 5));
    assert_null(hb_frame_unpack(NULL, 5));
    hb_envelope_free(NULL);
    hb_frame_free(NULL);
}

/* Packs `f`, unpacks the bytes again and checks the kind came back; the
 * caller frees the frame returned and *buf. */
static Hallbus__Frame *s_frame_again(const Hallbus__Frame *f, uint8_t **buf, size_t *len)
{
    assert_int_equal(hb_frame_pack(f, buf, len), 0);
    Hallbus__Frame *back = hb_frame_unpack(*buf, *len);
    assert_non_null(back);
    assert_int_equal(back->kind_case, f->kind_case);
    return back;
}

/* Makes `f` a hello frame from software `software`. */
static void s_hello_frame(Hallbus__Frame *f, Hallbus__Hello *hello, char *software)
{
    *hello = (Hallbus__Hello)HALLBUS__HELLO__INIT;
    hello->software = software;
    *f = (Hallbus__Frame)HALLBUS__FRAME__INIT;
    f->kind_case = HALLBUS__FRAME__KIND_HELLO;
    f->hello = hello;
}

/* Makes `f` a batch frame of `n` events, each the same `len` bytes. */
static void s_batch_frame(Hallbus__Frame *f, Hallbus__EventBatch *batch,
                          ProtobufCBinaryData *events, size_t n, uint8_t *data, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        events[i].data = data;
        events[i].len = len;
    }
    *batch = (Hallbus__EventBatch)HALLBUS__EVENT_BATCH__INIT;
    batch->n_events = n;
    batch->events = events;
    *f = (Hallbus__Frame)HALLBUS__FRAME__INIT;
    f->kind_case = HALLBUS__FRAME__KIND_BATCH;
    f->batch = batch;
}

HBT_TEST(test_truncated_frames)
{
    (void)state;
    char software[51];
    memset(software, 's', 50);
    software[50] = '\0';
    Hallbus__Hello hello;
    Hallbus__Frame f;
    s_hello_frame(&f, &hello, software);
    uint8_t *buf;
    size_t len;
    Hallbus__Frame *whole = s_frame_again(&f, &buf, &len);
    assert_string_equal(whole->hello->software, software);
    hb_frame_free(whole);
    /* The frame is one length-delimited field: every proper prefix cuts it. */
    for (size_t cut = 1; cut < len; cut++)
        assert_null(hb_frame_unpack(buf, cut));
    free(buf);

    /* A batch of envelopes: cut anywhere, never a crash; cut inside the
     * batch, never a frame. */
    bytes_t ev = {.n = 0};
    s_pack_json(s_every_kind[0], 1, &ev);
    ProtobufCBinaryData events[3];
    Hallbus__EventBatch batch;
    s_batch_frame(&f, &batch, events, 3, ev.b, ev.n);
    Hallbus__Frame *back = s_frame_again(&f, &buf, &len);
    assert_int_equal(back->batch->n_events, 3);
    Hallbus__Envelope *env =
        hb_envelope_unpack(back->batch->events[2].data, back->batch->events[2].len);
    assert_non_null(env);
    assert_int_equal(env->seq, 1);
    hb_envelope_free(env);
    hb_frame_free(back);
    for (size_t cut = 1; cut < len; cut++)
        assert_null(hb_frame_unpack(buf, cut));
    free(buf);

    /* Envelopes: a cut inside a field is refused. */
    bytes_t o = {.n = 0};
    s_pack_json(s_every_kind[12], 3, &o); /* complaint_opened: the body is last */
    for (size_t cut = o.n - 1; cut > o.n - 20; cut--)
        assert_null(hb_envelope_unpack(o.b, cut));
}

HBT_TEST(test_oversized)
{
    (void)state;
    /* A well-formed envelope one byte over the limit is refused unread. */
    static bytes_t o;
    o.n = 0;
    s_tag(&o, 1, 0);
    s_varint(&o, 1);
    static uint8_t filler[HB_EVENT_MAX];
    memset(filler, 'f', sizeof filler);
    size_t head = o.n + 3; /* tag (2 bytes for field 98) + length (2 bytes) - 1 */
    s_ld(&o, 98, filler, HB_EVENT_MAX - head - 1);
    assert_int_equal(o.n, HB_EVENT_MAX);
    Hallbus__Envelope *env = hb_envelope_unpack(o.b, o.n);
    assert_non_null(env);
    assert_int_equal(env->seq, 1);
    hb_envelope_free(env);
    o.n = 0;
    s_tag(&o, 1, 0);
    s_varint(&o, 1);
    s_ld(&o, 98, filler, HB_EVENT_MAX - head);
    assert_int_equal(o.n, HB_EVENT_MAX + 1);
    assert_null(hb_envelope_unpack(o.b, o.n));

    /* Frames over HB_FRAME_MAX: refused before decoding. */
    size_t big = HB_FRAME_MAX + 1;
    uint8_t *junk = calloc(1, big);
    assert_non_null(junk);
    assert_null(hb_frame_unpack(junk, big));

    /* Packing refuses what the receiver would refuse. */
    char *reason = malloc(HB_EVENT_MAX + 1);
    memset(reason, 'r', HB_EVENT_MAX);
    reason[HB_EVENT_MAX] = '\0';
    Hallbus__TicketCancelled tc = HALLBUS__TICKET_CANCELLED__INIT;
    tc.reason = reason;
    Hallbus__Envelope e = HALLBUS__ENVELOPE__INIT;
    e.body_case = HALLBUS__ENVELOPE__BODY_TICKET_CANCELLED;
    e.ticket_cancelled = &tc;
    uint8_t *out = (uint8_t *)1;
    size_t len = 1;
    assert_int_equal(hb_envelope_pack(&e, &out, &len), HB_ETOOBIG);
    assert_null(out);
    free(reason);
    ProtobufCBinaryData one;
    Hallbus__EventBatch batch;
    Hallbus__Frame f;
    s_batch_frame(&f, &batch, &one, 1, junk, HB_FRAME_MAX);
    assert_int_equal(hb_frame_pack(&f, &out, &len), HB_ETOOBIG);
    free(junk);
}

/* Small input that would make protobuf-c allocate many times its size: the
 * budget (len * 8 + 64 KiB) stops it. */
HBT_TEST(test_allocation_budget)
{
    (void)state;
    /* 300,000 empty events in one batch: 600 KB of input, ~16 bytes of
     * ProtobufCBinaryData plus scan bookkeeping per event. */
    size_t n = 300000;
    size_t inner = n * 2;
    uint8_t *buf = malloc(inner + 16);
    size_t k = 0;
    buf[k++] = 0x1a; /* Frame.batch, length-delimited */
    size_t v = inner;
    while (v >= 0x80) {
        buf[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[k++] = (uint8_t)v;
    for (size_t i = 0; i < n; i++) {
        buf[k++] = 0x0a; /* EventBatch.events, empty */
        buf[k++] = 0x00;
    }
    assert_true(k <= HB_FRAME_MAX);
    assert_null(hb_frame_unpack(buf, k));
    free(buf);

    /* A realistic batch (1,024 events of 200 bytes) is well within budget. */
    static uint8_t payload[200];
    memset(payload, 'p', sizeof payload);
    ProtobufCBinaryData *events = calloc(1024, sizeof *events);
    assert_non_null(events);
    Hallbus__EventBatch batch;
    Hallbus__Frame f;
    s_batch_frame(&f, &batch, events, 1024, payload, sizeof payload);
    uint8_t *packed;
    size_t len;
    Hallbus__Frame *back = s_frame_again(&f, &packed, &len);
    assert_int_equal(back->batch->n_events, 1024);
    hb_frame_free(back);
    free(packed);
    free(events);
}

HBT_TEST(test_frame_round_trip)
{
    (void)state;
    Hallbus__Reject rj = HALLBUS__REJECT__INIT;
    rj.code = HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE;
    rj.reason = "sequence 5 follows 3";
    rj.seq = 5;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_REJECT;
    f.reject = &rj;
    uint8_t *buf;
    size_t len;
    Hallbus__Frame *back = s_frame_again(&f, &buf, &len);
    assert_int_equal(back->reject->code, HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE);
    assert_string_equal(back->reject->reason, rj.reason);
    assert_int_equal(back->reject->seq, 5);
    hb_frame_free(back);
    free(buf);
    /* An empty frame packs to nothing and decodes with no kind. */
    Hallbus__Frame empty = HALLBUS__FRAME__INIT;
    back = s_frame_again(&empty, &buf, &len);
    assert_int_equal(len, 0);
    assert_int_equal(back->kind_case, HALLBUS__FRAME__KIND__NOT_SET);
    hb_frame_free(back);
    free(buf);
}

/* The decoding arena: the same message as hb_envelope_unpack's, whether it
 * fits the buffer, spills to malloc (a buffer too small, with ASan's leak
 * check: every spilled piece must be freed by the release) or nests in a
 * frame decoded in the same arena; a failed decode leaves the arena as it
 * was. */
HBT_TEST(test_unpack_arena)
{
    (void)state;
    static uint8_t big[65536], small[48];
    size_t kinds = sizeof s_every_kind / sizeof s_every_kind[0];
    for (int round = 0; round < 3; round++) {
        hb_unpack_arena_t a = {.buf = round == 0   ? big
                                      : round == 1 ? small
                                                   : NULL,
                               .cap = round == 0   ? sizeof big
                                      : round == 1 ? sizeof small
                                                   : 0};
        for (size_t k = 0; k < kinds; k++) {
            bytes_t *o = calloc(1, sizeof *o);
            s_pack_json(s_every_kind[k], k + 1, o);
            Hallbus__Envelope *ref = hb_envelope_unpack(o->b, o->n);
            assert_non_null(ref);
            hb_arena_mark_t m = hb_arena_mark(&a);
            Hallbus__Envelope *env = hb_envelope_unpack_in(&a, o->b, o->n);
            assert_non_null(env);
            if (round == 0)
                assert_int_equal(a.spills, 0);
            if (round == 2)
                assert_true(a.spills > 0);
            uint8_t *p1, *p2;
            size_t l1, l2;
            assert_int_equal(hb_envelope_pack(ref, &p1, &l1), 0);
            assert_int_equal(hb_envelope_pack(env, &p2, &l2), 0);
            assert_int_equal(l1, l2);
            assert_memory_equal(p1, p2, l1);
            free(p1);
            free(p2);
            hb_arena_release(&a, &env->base, m);
            assert_int_equal(a.used, m.used);
            assert_int_equal(a.spills, m.spills);
            hb_envelope_free(ref);
            free(o);
        }
        /* A frame of three envelopes, each decoded after it in the arena. */
        bytes_t *ev = calloc(1, sizeof *ev);
        s_pack_json(s_every_kind[0], 7, ev);
        ProtobufCBinaryData events[3];
        for (int i = 0; i < 3; i++)
            events[i] = (ProtobufCBinaryData){ev->n, ev->b};
        uint8_t *buf;
        size_t len;
        assert_int_equal(hb_batch_pack(events, 3, &buf, &len), 0);
        hb_arena_mark_t m0 = hb_arena_mark(&a);
        Hallbus__Frame *back = hb_frame_unpack_in(&a, buf, len);
        assert_non_null(back);
        assert_int_equal(back->batch->n_events, 3);
        for (int i = 0; i < 3; i++) {
            hb_arena_mark_t m1 = hb_arena_mark(&a);
            Hallbus__Envelope *env =
                hb_envelope_unpack_in(&a, back->batch->events[i].data, back->batch->events[i].len);
            assert_non_null(env);
            assert_int_equal(env->seq, 7);
            hb_arena_release(&a, &env->base, m1);
        }
        /* Cut frames fail and leave nothing behind. */
        for (size_t cut = 1; cut < len; cut++) {
            hb_arena_mark_t m2 = hb_arena_mark(&a);
            assert_null(hb_frame_unpack_in(&a, buf, cut));
            hb_arena_release(&a, NULL, m2);
            assert_int_equal(a.used, m2.used);
        }
        hb_arena_release(&a, &back->base, m0);
        assert_int_equal(a.used, 0);
        free(buf);
        free(ev);
    }
}
