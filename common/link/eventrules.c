/* The rules of an event's fields (eventrules.h): the codec's structural
 * check, then one table of domain rules, row per (event kind, field), that
 * the code walks through protobuf-c's descriptors. Adding a rule is adding
 * a row; nothing here switches on an event kind.
 *
 * Not here: whether the event fits the hall's state (the reducer and the
 * engine judge that), sequence numbers (the link's business). */
#include "hallbus/eventrules.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef enum rule_kind {
    RULE_REQUIRED,     /* a string that must not be empty */
    RULE_RANGE,        /* an integer within [min, max] */
    RULE_TIME_OR_ZERO, /* ms since the epoch within the event bounds, or 0 */
    RULE_CURRENCY,     /* empty (the hall's currency) or three capital letters */
    RULE_DATE,         /* "YYYY-MM-DD", a real date */
} rule_kind_t;

typedef struct field_rule {
    const char *kind;  /* the Envelope.body field, "service_completed" */
    const char *field; /* the member of that message */
    rule_kind_t rule;
    int64_t min, max;
} field_rule_t;

/* A row stating its rule by name and only the bounds a range has. */
/* clang-format off */
#define RULE_ROW(kind, field, rule, min, max) {kind, field, RULE_##rule, min, max}
/* clang-format on */
#define REQUIRED(kind, field) RULE_ROW(kind, field, REQUIRED, 0, 0)
#define RANGE(kind, field, min, max) RULE_ROW(kind, field, RANGE, min, max)
#define TIME_OR_ZERO(kind, field) RULE_ROW(kind, field, TIME_OR_ZERO, 0, 0)
#define CURRENCY(kind, field) RULE_ROW(kind, field, CURRENCY, 0, 0)
#define DATE(kind, field) RULE_ROW(kind, field, DATE, 0, 0)

/* Every rule the hall engine's own actions obey, stated once. */
static const field_rule_t s_rules[] = {
    REQUIRED("ticket_issued", "ticket"),
    REQUIRED("ticket_issued", "service"),
    REQUIRED("ticket_called", "ticket"),
    REQUIRED("ticket_recalled", "ticket"),
    REQUIRED("service_started", "ticket"),
    REQUIRED("service_completed", "ticket"),
    RANGE("service_completed", "amount", 0, HB_EVENT_AMOUNT_MAX),
    CURRENCY("service_completed", "currency"),
    REQUIRED("ticket_no_show", "ticket"),
    REQUIRED("ticket_transferred", "ticket"),
    REQUIRED("ticket_transferred", "to_service"),
    REQUIRED("ticket_cancelled", "ticket"),
    REQUIRED("counter_opened", "counter"),
    REQUIRED("counter_paused", "counter"),
    REQUIRED("counter_resumed", "counter"),
    REQUIRED("counter_closed", "counter"),
    REQUIRED("complaint_opened", "complaint"),
    TIME_OR_ZERO("complaint_opened", "ack_due_ms"),
    TIME_OR_ZERO("complaint_opened", "resolve_due_ms"),
    REQUIRED("complaint_acknowledged", "complaint"),
    REQUIRED("complaint_escalated", "complaint"),
    REQUIRED("complaint_resolved", "complaint"),
    RANGE("satisfaction_scored", "score", 1, 5),
    REQUIRED("device_status", "device"),
    DATE("day_started", "date"),
    /* Issue 13: the manager's day and appointments. */
    RANGE("meeting_held", "duration_s", 1, 86400),
    REQUIRED("patrol_drawn", "patrol"),
    REQUIRED("patrol_scored", "patrol"),
    REQUIRED("patrol_scored", "staff"),
    RANGE("patrol_scored", "smile", 1, 5),
    RANGE("patrol_scored", "initiative", 1, 5),
    RANGE("patrol_scored", "compliance", 1, 5),
    RANGE("patrol_scored", "speed", 1, 5),
    RANGE("patrol_scored", "accuracy", 1, 5),
    REQUIRED("work_logged", "text"),
    RANGE("cash_handed_over", "amount", 0, HB_EVENT_AMOUNT_MAX),
    CURRENCY("cash_handed_over", "currency"),
    REQUIRED("appointment_booked", "code"),
    REQUIRED("appointment_booked", "service"),
    TIME_OR_ZERO("appointment_booked", "start_ms"),
    REQUIRED("appointment_checked_in", "code"),
    REQUIRED("appointment_checked_in", "ticket"),
    REQUIRED("appointment_no_show", "code"),
    REQUIRED("appointment_cancelled", "code"),
};

#undef RULE_ROW
#undef REQUIRED
#undef RANGE
#undef TIME_OR_ZERO
#undef CURRENCY
#undef DATE

#define RULES_N (sizeof s_rules / sizeof s_rules[0])

/* The table above resolved once through the descriptors: the rows of each
 * body kind by the kind's field number, each with its member's descriptor.
 * Classifying an event is then an index by number instead of a strcmp per
 * row and a search by name per field (both were in HQ's per-message
 * profile). A kind numbered past the index (none today) is judged by the
 * names as before. */
#define RULES_CASE_MAX 256

typedef struct compiled_rule {
    const field_rule_t *rule;
    const ProtobufCFieldDescriptor *fd; /* the member in the kind's message */
} compiled_rule_t;

static compiled_rule_t s_compiled[RULES_N];
static uint16_t s_case_first[RULES_CASE_MAX], s_case_count[RULES_CASE_MAX];
static pthread_once_t s_compile_once = PTHREAD_ONCE_INIT;

static void s_compile(void)
{
    uint32_t cases[RULES_N];
    for (size_t i = 0; i < RULES_N; i++) {
        const ProtobufCFieldDescriptor *bfd = protobuf_c_message_descriptor_get_field_by_name(
            &hallbus__envelope__descriptor, s_rules[i].kind);
        cases[i] = bfd && bfd->id < RULES_CASE_MAX ? bfd->id : 0;
        if (cases[i])
            s_case_count[cases[i]]++;
    }
    uint16_t at = 0;
    for (size_t c = 0; c < RULES_CASE_MAX; c++) {
        s_case_first[c] = at;
        at = (uint16_t)(at + s_case_count[c]);
    }
    uint16_t filled[RULES_CASE_MAX] = {0};
    for (size_t i = 0; i < RULES_N; i++) {
        if (!cases[i])
            continue; /* a kind this build lacks: nothing to judge */
        const ProtobufCFieldDescriptor *bfd =
            protobuf_c_message_descriptor_get_field(&hallbus__envelope__descriptor, cases[i]);
        const ProtobufCMessageDescriptor *md = bfd ? bfd->descriptor : NULL;
        compiled_rule_t *c = &s_compiled[s_case_first[cases[i]] + filled[cases[i]]++];
        c->rule = &s_rules[i];
        c->fd = md ? protobuf_c_message_descriptor_get_field_by_name(md, s_rules[i].field) : NULL;
    }
}

static const char *const s_anomaly_names[] = {
    [HB_ANOMALY_NONE] = "none",
    [HB_ANOMALY_TIME_BEFORE_2000] = "time_before_2000",
    [HB_ANOMALY_TIME_AHEAD] = "time_ahead",
    [HB_ANOMALY_OUT_OF_RANGE] = "out_of_range",
    [HB_ANOMALY_MISSING] = "missing",
    [HB_ANOMALY_FORMAT] = "format",
};

const char *hb_anomaly_name(int anomaly)
{
    if (anomaly < 0 || (size_t)anomaly >= sizeof s_anomaly_names / sizeof s_anomaly_names[0])
        return "unknown";
    return s_anomaly_names[anomaly];
}

/* The integer in a field of any integer type, widened; false for other types. */
static bool s_integer(const ProtobufCFieldDescriptor *fd, const void *p, int64_t *out, bool *huge)
{
    *huge = false;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: *out = *(const int32_t *)p; return true;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: *out = *(const uint32_t *)p; return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: *out = *(const int64_t *)p; return true;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t u = *(const uint64_t *)p;
        *huge = u > (uint64_t)INT64_MAX;
        *out = *huge ? INT64_MAX : (int64_t)u;
        return true;
    }
    default: return false;
    }
}

static bool s_date_ok(const char *s)
{
    int32_t day;
    return strlen(s) == 10 && hb_date_parse(s, &day) == 0;
}

static bool s_currency_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return true;
    if (n != 3)
        return false;
    for (size_t i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    return true;
}

/* One rule against one message, `fd` its member's descriptor; 0 when it
 * holds. */
static hb_anomaly_t s_apply(const field_rule_t *r, const ProtobufCFieldDescriptor *fd,
                            const ProtobufCMessage *msg, char *why, size_t whylen)
{
    if (!fd)
        return HB_ANOMALY_NONE; /* a table row for a field this build lacks: nothing to judge */
    const void *p = (const char *)msg + fd->offset;
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(const char *const *)p;
        s = s ? s : "";
        switch (r->rule) {
        case RULE_REQUIRED:
            if (s[0])
                return HB_ANOMALY_NONE;
            hb_errf(why, whylen, "%s of %s is empty; the event means nothing without it", r->field,
                    r->kind);
            return HB_ANOMALY_MISSING;
        case RULE_CURRENCY:
            if (s_currency_ok(s))
                return HB_ANOMALY_NONE;
            hb_errf(why, whylen,
                    "%s of %s is '%.16s'; it must be an ISO 4217 code such as \"CNY\" or empty",
                    r->field, r->kind, s);
            return HB_ANOMALY_FORMAT;
        case RULE_DATE:
            if (s_date_ok(s))
                return HB_ANOMALY_NONE;
            hb_errf(why, whylen, "%s of %s is '%.16s'; it must be a date YYYY-MM-DD", r->field,
                    r->kind, s);
            return HB_ANOMALY_FORMAT;
        default: return HB_ANOMALY_NONE;
        }
    }
    int64_t v;
    bool huge;
    if (!s_integer(fd, p, &v, &huge))
        return HB_ANOMALY_NONE;
    if (r->rule == RULE_RANGE && (huge || v < r->min || v > r->max)) {
        hb_errf(why, whylen, "%s of %s is %s%" PRId64 "; it must be %" PRId64 " to %" PRId64,
                r->field, r->kind, huge ? "over " : "", v, r->min, r->max);
        return HB_ANOMALY_OUT_OF_RANGE;
    }
    if (r->rule == RULE_TIME_OR_ZERO && v != 0 &&
        (huge || v < HB_EVENT_AT_MIN_MS || v > HB_EVENT_AT_MAX_MS)) {
        hb_errf(why, whylen,
                "%s of %s is %" PRId64 " ms; a time must lie between 2000 and 2200, or be 0",
                r->field, r->kind, v);
        return HB_ANOMALY_OUT_OF_RANGE;
    }
    return HB_ANOMALY_NONE;
}

static hb_anomaly_t s_check_time(int64_t at, const hb_event_clock_t *clock, char *why,
                                 size_t whylen)
{
    char when[HB_RFC3339_MAX];
    if (at < HB_EVENT_AT_MIN_MS) {
        if (at > -62135596800000LL) /* year 1 and later format; earlier is nonsense anyway */
            hb_time_format(at, when);
        else
            snprintf(when, sizeof when, "%" PRId64 " ms", at);
        hb_errf(why, whylen, "at is %s, before 2000-01-01: the clock that stamped it is wrong",
                when);
        return HB_ANOMALY_TIME_BEFORE_2000;
    }
    if (at > HB_EVENT_AT_MAX_MS) {
        hb_errf(why, whylen, "at is %" PRId64 " ms, after 2200-01-01", at);
        return HB_ANOMALY_TIME_AHEAD;
    }
    if (clock && clock->max_future_ms >= 0 && clock->now_ms > 0 &&
        at - clock->now_ms > clock->max_future_ms) {
        hb_time_format(at, when);
        hb_errf(why, whylen,
                "at is %s, %" PRId64 " s ahead of the receiver's clock; at most %" PRId64
                " s are allowed",
                when, (at - clock->now_ms) / 1000, clock->max_future_ms / 1000);
        return HB_ANOMALY_TIME_AHEAD;
    }
    return HB_ANOMALY_NONE;
}

hb_event_class_t hb_event_classify(const Hallbus__Envelope *env, const hb_event_clock_t *clock,
                                   hb_anomaly_t *anomaly, char *why, size_t whylen)
{
    hb_anomaly_t a = HB_ANOMALY_NONE;
    if (anomaly)
        *anomaly = HB_ANOMALY_NONE;
    if (hb_event_check(env, why, whylen) != 0)
        return HB_EVENT_MALFORMED;
    if (!clock || clock->max_future_ms >= 0)
        a = s_check_time(env->at_ms, clock, why, whylen);
    if (a == HB_ANOMALY_NONE && env->body_case != HALLBUS__ENVELOPE__BODY__NOT_SET) {
        const ProtobufCFieldDescriptor *bfd =
            protobuf_c_message_descriptor_get_field(&hallbus__envelope__descriptor, env->body_case);
        const ProtobufCMessage *body =
            bfd ? *(ProtobufCMessage *const *)((const char *)env + bfd->offset) : NULL;
        if (body && (uint32_t)env->body_case < RULES_CASE_MAX) {
            pthread_once(&s_compile_once, s_compile);
            const compiled_rule_t *c = &s_compiled[s_case_first[env->body_case]];
            for (uint16_t i = 0; i < s_case_count[env->body_case] && a == HB_ANOMALY_NONE; i++)
                a = s_apply(c[i].rule, c[i].fd, body, why, whylen);
        } else {
            for (size_t i = 0; body && i < RULES_N && a == HB_ANOMALY_NONE; i++)
                if (strcmp(s_rules[i].kind, bfd->name) == 0)
                    a = s_apply(&s_rules[i],
                                protobuf_c_message_descriptor_get_field_by_name(body->descriptor,
                                                                                s_rules[i].field),
                                body, why, whylen);
        }
    }
    if (anomaly)
        *anomaly = a;
    return a == HB_ANOMALY_NONE ? HB_EVENT_VALID : HB_EVENT_ANOMALY;
}
