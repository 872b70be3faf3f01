/* The policy model of policy.h: one schema table that checks scope
 * documents strictly, the merge of scope documents, the effective policy
 * built from them, and the opening-hours arithmetic halls run on.
 *
 * Every member of the document format is one row of the tables below (its
 * name, its kind, its bounds), so the checker, the error texts and
 * docs/POLICY.md describe the same thing. This file does not store, publish
 * or version policies: that is hqd's and branchd's business. */
#include "hallbus/policy.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_PATH_MAX 256
#define POLICY_MERGE_DEPTH 16 /* documents are 4 levels deep; deeper objects replace */

/* ---- names shared by the checker, the builder and the JSON writer */

static const char *const s_weekdays[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
/* Index = the proto's Priority and Severity values; 0 is "*" (any). */
static const char *const s_priorities[HB_POLICY_PRIORITIES] = {"*", "normal", "vip", "elderly",
                                                               "appointment"};
static const char *const s_severities[HB_POLICY_SEVERITIES] = {"*", "low", "medium", "high",
                                                               "critical"};
static const char *const s_echannels[] = {"app",    "web",   "sms", "phone",
                                          "email", "wechat", "kiosk", NULL};
static const char *const s_overlaps[] = {"warning", "error", NULL};

static const char s_defaults_text[] =
    "{\"timezone\": \"UTC\","
    " \"opening_hours\": {\"mon\": [\"09:00-17:00\"], \"tue\": [\"09:00-17:00\"],"
    "   \"wed\": [\"09:00-17:00\"], \"thu\": [\"09:00-17:00\"], \"fri\": [\"09:00-17:00\"],"
    "   \"sat\": [], \"sun\": []},"
    " \"special_days\": {},"
    " \"closures\": {},"
    " \"divert_to\": [],"
    " \"sla\": {\"max_wait_s\": {\"*:*\": 1200}, \"complaint_ack_s\": {\"*\": 14400},"
    "   \"complaint_resolve_s\": {\"*\": 57600}},"
    " \"diversion\": {\"threshold\": 30, \"echannels\": [\"app\", \"web\", \"sms\", \"phone\"]},"
    " \"campaigns\": {\"max_concurrent\": 3, \"lead_days\": 7, \"city_overlap\": \"warning\"},"
    " \"alerts\": {\"device_fault_s\": 1800, \"not_open_grace_s\": 300}}";

json_t *hb_policy_defaults(void) { return json_loads(s_defaults_text, 0, NULL); }

/* ---- small readers used by both the checker and the builder */

static bool s_id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* [A-Za-z0-9_-]{1,max} */
static bool s_is_id(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!s_id_char(s[i]))
            return false;
    return true;
}

/* The index of `s` among the first `n` choices (a NULL ends them early). */
static int s_choice(const char *const *choices, size_t n, const char *s)
{
    for (size_t i = 0; i < n && choices[i]; i++)
        if (strcmp(choices[i], s) == 0)
            return (int)i;
    return -1;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool s_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t more;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += more + 1;
    }
    return true;
}

/* A JSON string without an embedded NUL, or NULL. */
static const char *s_string(const json_t *v)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

/* "HH:MM" as minutes, 00:00..24:00. */
static int s_clock(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    if (s[2] != ':')
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

/* "HH:MM-HH:MM" that ends after it starts; only an end may be 24:00. */
static bool s_interval(const char *s, uint16_t *from, uint16_t *to)
{
    if (strlen(s) != 11 || s[5] != '-')
        return false;
    int a = s_clock(s), b = s_clock(s + 6);
    if (a < 0 || b < 0 || a >= 1440 || b <= a)
        return false;
    *from = (uint16_t)a;
    *to = (uint16_t)b;
    return true;
}

/* "SERVICE:PRIORITY" into its parts; SERVICE is "*" or a service code. */
static bool s_wait_key(const char *key, char service[HB_POLICY_SERVICE_MAX], int *priority)
{
    const char *colon = strchr(key, ':');
    if (!colon || strchr(colon + 1, ':'))
        return false;
    size_t n = (size_t)(colon - key);
    if (n == 0 || n >= HB_POLICY_SERVICE_MAX)
        return false;
    memcpy(service, key, n);
    service[n] = '\0';
    if (strcmp(service, "*") != 0 && !s_is_id(service, HB_POLICY_SERVICE_MAX - 1))
        return false;
    int pr = s_choice(s_priorities, HB_POLICY_PRIORITIES, colon + 1);
    if (pr < 0)
        return false;
    *priority = pr;
    return true;
}

/* ---- the schema */

typedef enum s_kind {
    K_OBJECT,    /* fixed members, each with its own row */
    K_MAP,       /* members named by the caller, all of one kind */
    K_INT,       /* an integer in [lo, hi] */
    K_CHOICE,    /* one of `choices` */
    K_ZONE,      /* a zone hb_tz_get can load */
    K_HOURS,     /* an array of sorted, disjoint intervals */
    K_HALLS,     /* an array of hall ids */
    K_ECHANNELS, /* an array of distinct e-channel names */
    K_DATE,      /* "YYYY-MM-DD", a real date */
    K_NOTE,      /* text for customers, bounded, UTF-8 */
    K_REVOKED,   /* an array of device revocations */
} s_kind_t;

typedef struct s_node s_node_t;
typedef bool (*s_key_fn)(const char *key);
/* Checks of one object that involve several members (closures.X.to >= from). */
typedef int (*s_extra_fn)(const json_t *obj, const char *path, bool complete, char *err,
                          size_t errlen);

struct s_node {
    const char *name;
    s_kind_t kind;
    int64_t lo, hi;          /* K_INT: bounds; K_MAP: hi is the most members */
    const char *unit;        /* K_INT: for error texts */
    const s_node_t *members; /* K_OBJECT: rows ending with a NULL name */
    const s_node_t *value;   /* K_MAP: every member's row */
    s_key_fn key_ok;         /* K_MAP */
    const char *key_rule;    /* K_MAP: the keys allowed, in words */
    const char *free_key;    /* K_MAP: a key the defaults always supply, which the
                              * complete document does not count against hi */
    const char *const *choices;
    s_extra_fn extra;
};

static bool s_key_date(const char *key)
{
    int32_t d;
    return hb_date_parse(key, &d) == 0;
}
static bool s_key_closure(const char *key) { return s_is_id(key, HB_POLICY_SERVICE_MAX - 1); }
static bool s_key_wait(const char *key)
{
    char service[HB_POLICY_SERVICE_MAX];
    int pr;
    return s_wait_key(key, service, &pr);
}
static bool s_key_severity(const char *key)
{
    return s_choice(s_severities, HB_POLICY_SEVERITIES, key) >= 0;
}

static int s_closure_extra(const json_t *obj, const char *path, bool complete, char *err,
                           size_t errlen);

static const s_node_t s_week_rows[] = {
    {.name = "mon", .kind = K_HOURS}, {.name = "tue", .kind = K_HOURS},
    {.name = "wed", .kind = K_HOURS}, {.name = "thu", .kind = K_HOURS},
    {.name = "fri", .kind = K_HOURS}, {.name = "sat", .kind = K_HOURS},
    {.name = "sun", .kind = K_HOURS}, {.name = NULL},
};
static const s_node_t s_special_rows[] = {
    {.name = "hours", .kind = K_HOURS},
    {.name = "note", .kind = K_NOTE},
    {.name = NULL},
};
static const s_node_t s_special_day = {.name = "", .kind = K_OBJECT, .members = s_special_rows};
static const s_node_t s_closure_rows[] = {
    {.name = "from", .kind = K_DATE},
    {.name = "to", .kind = K_DATE},
    {.name = "notice", .kind = K_NOTE},
    {.name = "divert_to", .kind = K_HALLS},
    {.name = NULL},
};
static const s_node_t s_closure = {
    .name = "", .kind = K_OBJECT, .members = s_closure_rows, .extra = s_closure_extra};
static const s_node_t s_wait_value = {
    .name = "", .kind = K_INT, .lo = 1, .hi = 86400 * 7, .unit = "seconds of waiting"};
static const s_node_t s_deadline_value = {
    .name = "", .kind = K_INT, .lo = 60, .hi = 86400 * 90, .unit = "seconds of opening time"};
static const s_node_t s_sla_rows[] = {
    {.name = "max_wait_s",
     .kind = K_MAP,
     .hi = HB_POLICY_WAIT_RULES_MAX,
     .value = &s_wait_value,
     .key_ok = s_key_wait,
     .free_key = "*:*",
     .key_rule = "SERVICE:PRIORITY, SERVICE being * or a service code ([A-Za-z0-9_-]{1,64}) "
                 "and PRIORITY * or normal, vip, elderly, appointment"},
    {.name = "complaint_ack_s",
     .kind = K_MAP,
     .hi = HB_POLICY_SEVERITIES,
     .value = &s_deadline_value,
     .key_ok = s_key_severity,
     .key_rule = "*, low, medium, high or critical"},
    {.name = "complaint_resolve_s",
     .kind = K_MAP,
     .hi = HB_POLICY_SEVERITIES,
     .value = &s_deadline_value,
     .key_ok = s_key_severity,
     .key_rule = "*, low, medium, high or critical"},
    {.name = NULL},
};
static const s_node_t s_diversion_rows[] = {
    {.name = "threshold", .kind = K_INT, .lo = 1, .hi = 100000, .unit = "customers waiting"},
    {.name = "echannels", .kind = K_ECHANNELS, .choices = s_echannels},
    {.name = NULL},
};
static const s_node_t s_campaign_rows[] = {
    {.name = "max_concurrent", .kind = K_INT, .lo = 1, .hi = 100, .unit = "campaigns"},
    {.name = "lead_days", .kind = K_INT, .lo = 0, .hi = 365, .unit = "days"},
    {.name = "city_overlap", .kind = K_CHOICE, .choices = s_overlaps},
    {.name = NULL},
};
static const s_node_t s_alert_rows[] = {
    {.name = "device_fault_s", .kind = K_INT, .lo = 60, .hi = 604800, .unit = "seconds"},
    {.name = "not_open_grace_s", .kind = K_INT, .lo = 0, .hi = 7200, .unit = "seconds"},
    {.name = NULL},
};
static const s_node_t s_top_rows[] = {
    {.name = "timezone", .kind = K_ZONE},
    {.name = "opening_hours", .kind = K_OBJECT, .members = s_week_rows},
    {.name = "special_days",
     .kind = K_MAP,
     .hi = HB_POLICY_SPECIAL_MAX,
     .value = &s_special_day,
     .key_ok = s_key_date,
     .key_rule = "a real date YYYY-MM-DD"},
    {.name = "closures",
     .kind = K_MAP,
     .hi = HB_POLICY_CLOSURES_MAX,
     .value = &s_closure,
     .key_ok = s_key_closure,
     .key_rule = "a closure id ([A-Za-z0-9_-]{1,64})"},
    {.name = "divert_to", .kind = K_HALLS},
    {.name = "sla", .kind = K_OBJECT, .members = s_sla_rows},
    {.name = "diversion", .kind = K_OBJECT, .members = s_diversion_rows},
    {.name = "campaigns", .kind = K_OBJECT, .members = s_campaign_rows},
    {.name = "alerts", .kind = K_OBJECT, .members = s_alert_rows},
    {.name = "revoked_devices", .kind = K_REVOKED, .hi = HB_POLICY_REVOKED_MAX},
    {.name = NULL},
};
static const s_node_t s_root = {.name = "", .kind = K_OBJECT, .members = s_top_rows};

/* ---- the checker */

static void s_join(char *out, size_t outlen, const char *path, const char *key)
{
    if (!path[0])
        snprintf(out, outlen, "%.64s", key);
    else
        snprintf(out, outlen, "%s.%.64s", path, key);
}

static const char *s_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

static void s_list(char *out, size_t outlen, const char *const *names, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && names[i]; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= outlen - used)
            return;
        used += (size_t)w;
    }
}

static int s_check_hours(const json_t *v, const char *path, char *err, size_t errlen)
{
    if (!json_is_array(v)) {
        hb_errf(err, errlen, "%s must be an array of intervals \"HH:MM-HH:MM\", not %s", path,
                s_type_name(v));
        return HB_EINVAL;
    }
    if (json_array_size(v) > HB_POLICY_INTERVALS) {
        hb_errf(err, errlen, "%s has %zu intervals; a day has at most %d", path,
                json_array_size(v), HB_POLICY_INTERVALS);
        return HB_EINVAL;
    }
    uint16_t prev_to = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = s_string(json_array_get(v, i));
        uint16_t from, to;
        if (!s || !s_interval(s, &from, &to)) {
            hb_errf(err, errlen,
                    "%s[%zu] must be an interval \"HH:MM-HH:MM\" from 00:00 to 24:00 that ends "
                    "after it starts",
                    path, i);
            return HB_EINVAL;
        }
        if (i > 0 && from < prev_to) {
            hb_errf(err, errlen,
                    "%s[%zu] (\"%s\") starts before the interval before it ends; intervals must "
                    "be sorted and must not overlap",
                    path, i, s);
            return HB_EINVAL;
        }
        prev_to = to;
    }
    return 0;
}

/* Arrays of ids (hall ids) or of names from a list (e-channels). */
static int s_check_names(const s_node_t *node, const json_t *v, const char *path, char *err,
                         size_t errlen)
{
    bool halls = node->kind == K_HALLS;
    size_t max = halls ? HB_POLICY_DIVERT_MAX : HB_POLICY_ECHANNELS_MAX;
    char allowed[160];
    if (halls)
        snprintf(allowed, sizeof allowed, "hall ids ([A-Za-z0-9_-]{1,32})");
    else
        s_list(allowed, sizeof allowed, node->choices, 16);
    if (!json_is_array(v)) {
        hb_errf(err, errlen, "%s must be an array of %s, not %s", path, allowed, s_type_name(v));
        return HB_EINVAL;
    }
    if (json_array_size(v) > max) {
        hb_errf(err, errlen, "%s has %zu entries; at most %zu are allowed", path,
                json_array_size(v), max);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = s_string(json_array_get(v, i));
        bool ok = s && (halls ? s_is_id(s, HB_POLICY_HALL_ID_MAX - 1)
                              : s_choice(node->choices, 16, s) >= 0);
        if (!ok) {
            hb_errf(err, errlen, "%s[%zu] must be one of %s", path, i, allowed);
            return HB_EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(s, json_string_value(json_array_get(v, k))) == 0) {
                hb_errf(err, errlen, "%s[%zu] (\"%s\") appears twice; each may be named once",
                        path, i, s);
                return HB_EINVAL;
            }
        }
    }
    return 0;
}

static int s_check_node(const s_node_t *node, const json_t *v, const char *path, bool complete,
                        char *err, size_t errlen);

/* A device name: the codec's ids, [A-Za-z0-9_.-]{1,64}. */
static bool s_is_device(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HB_POLICY_DEVICE_MAX - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!s_id_char(s[i]) && s[i] != '.')
            return false;
    return true;
}

static bool s_is_token_id(const char *s)
{
    if (strlen(s) != HB_POLICY_TOKEN_ID_LEN)
        return false;
    for (size_t i = 0; i < HB_POLICY_TOKEN_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* revoked_devices: [{"device": NAME[, "paired_before": TIME]} | {"token": ID}, ...],
 * each device or token once. */
static int s_check_revoked(const s_node_t *node, const json_t *v, const char *path, char *err,
                           size_t errlen)
{
    static const char shape[] =
        "{\"device\": NAME} (optionally with \"paired_before\": an RFC 3339 time) or "
        "{\"token\": TOKEN_ID}";
    if (!json_is_array(v)) {
        hb_errf(err, errlen, "%s must be an array of %s, not %s", path, shape, s_type_name(v));
        return HB_EINVAL;
    }
    if (json_array_size(v) > (size_t)node->hi) {
        hb_errf(err, errlen, "%s has %zu entries; at most %lld are allowed", path,
                json_array_size(v), (long long)node->hi);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        const char *key;
        json_t *m;
        if (!json_is_object(e)) {
            hb_errf(err, errlen, "%s[%zu] must be %s", path, i, shape);
            return HB_EINVAL;
        }
        json_object_foreach((json_t *)e, key, m)
        {
            if (strcmp(key, "device") != 0 && strcmp(key, "token") != 0 &&
                strcmp(key, "paired_before") != 0) {
                hb_errf(err, errlen, "%s[%zu].%.64s is not a member; an entry is %s", path, i,
                        key, shape);
                return HB_EINVAL;
            }
        }
        const char *device = s_string(json_object_get(e, "device"));
        const char *token = s_string(json_object_get(e, "token"));
        const json_t *before = json_object_get(e, "paired_before");
        if ((json_object_get(e, "device") && !device) || (json_object_get(e, "token") && !token) ||
            !device == !token) {
            hb_errf(err, errlen, "%s[%zu] must name a device or a token, one of the two: %s", path,
                    i, shape);
            return HB_EINVAL;
        }
        if (device && !s_is_device(device)) {
            hb_errf(err, errlen,
                    "%s[%zu].device must be a device name (1 to %d of letters, digits, '-', "
                    "'_', '.')",
                    path, i, HB_POLICY_DEVICE_MAX - 1);
            return HB_EINVAL;
        }
        if (token && !s_is_token_id(token)) {
            hb_errf(err, errlen,
                    "%s[%zu].token must be a token id: %d lower-case hex digits, as `branchd "
                    "devices list` shows",
                    path, i, HB_POLICY_TOKEN_ID_LEN);
            return HB_EINVAL;
        }
        int64_t at;
        if (before && (token || !json_is_string(before) ||
                       hb_time_parse(json_string_value(before), &at) != 0 || at <= 0)) {
            hb_errf(err, errlen, "%s[%zu].paired_before must be an RFC 3339 time after 1970%s", path, i,
                    token ? ", and goes with a device, not a token" : "");
            return HB_EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            const json_t *o = json_array_get(v, k);
            const char *od = s_string(json_object_get(o, "device"));
            const char *ot = s_string(json_object_get(o, "token"));
            if ((device && od && strcmp(device, od) == 0) ||
                (token && ot && strcmp(token, ot) == 0)) {
                hb_errf(err, errlen, "%s[%zu] (%s) appears twice; each may be named once", path,
                        i, device ? device : token);
                return HB_EINVAL;
            }
        }
    }
    return 0;
}

static int s_check_object(const s_node_t *node, const json_t *v, const char *path, bool complete,
                          char *err, size_t errlen)
{
    if (!json_is_object(v)) {
        hb_errf(err, errlen, "%s must be an object, not %s", path[0] ? path : "the policy",
                s_type_name(v));
        return HB_EINVAL;
    }
    const char *key;
    json_t *member;
    json_object_foreach((json_t *)v, key, member)
    {
        char sub[POLICY_PATH_MAX];
        s_join(sub, sizeof sub, path, key);
        const s_node_t *row = NULL;
        for (const s_node_t *r = node->members; r->name; r++) {
            if (strcmp(r->name, key) == 0) {
                row = r;
                break;
            }
        }
        if (!row) {
            const char *names[16];
            size_t n = 0;
            for (const s_node_t *r = node->members; r->name && n < 16; r++)
                names[n++] = r->name;
            char allowed[200];
            s_list(allowed, sizeof allowed, names, n);
            hb_errf(err, errlen, "%s is not a policy member; the members %s%s are %s", sub,
                    path[0] ? "of " : "here", path, allowed);
            return HB_EINVAL;
        }
        int rc = s_check_node(row, member, sub, complete, err, errlen);
        if (rc)
            return rc;
    }
    return node->extra ? node->extra(v, path, complete, err, errlen) : 0;
}

static int s_check_map(const s_node_t *node, const json_t *v, const char *path, bool complete,
                       char *err, size_t errlen)
{
    if (!json_is_object(v)) {
        hb_errf(err, errlen, "%s must be an object keyed by %s, not %s", path, node->key_rule,
                s_type_name(v));
        return HB_EINVAL;
    }
    /* A document may use the whole limit for its own rules; the default
     * "*:*" that hb_policy_new adds then comes on top. */
    size_t n = json_object_size(v);
    if (complete && node->free_key && json_object_get(v, node->free_key))
        n--;
    if (n > (size_t)node->hi) {
        hb_errf(err, errlen, "%s has %zu members; at most %lld are allowed", path, n,
                (long long)node->hi);
        return HB_EINVAL;
    }
    const char *key;
    json_t *member;
    json_object_foreach((json_t *)v, key, member)
    {
        char sub[POLICY_PATH_MAX];
        s_join(sub, sizeof sub, path, key);
        if (!node->key_ok(key)) {
            hb_errf(err, errlen, "%s: not a valid key; the keys of %s are %s", sub, path,
                    node->key_rule);
            return HB_EINVAL;
        }
        int rc = s_check_node(node->value, member, sub, complete, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_check_node(const s_node_t *node, const json_t *v, const char *path, bool complete,
                        char *err, size_t errlen)
{
    /* In a scope document null removes what a wider scope set; the merge
     * drops it, so the complete document never holds one. */
    if (json_is_null(v) && path[0])
        return 0;
    switch (node->kind) {
    case K_OBJECT:
        return s_check_object(node, v, path, complete, err, errlen);
    case K_MAP:
        return s_check_map(node, v, path, complete, err, errlen);
    case K_INT:
        if (!json_is_integer(v) || json_integer_value(v) < node->lo ||
            json_integer_value(v) > node->hi) {
            char got[48];
            if (json_is_integer(v))
                snprintf(got, sizeof got, "%lld", (long long)json_integer_value(v));
            else
                snprintf(got, sizeof got, "%s", s_type_name(v));
            hb_errf(err, errlen, "%s must be an integer from %lld to %lld (%s), not %s", path,
                    (long long)node->lo, (long long)node->hi, node->unit, got);
            return HB_EINVAL;
        }
        return 0;
    case K_CHOICE: {
        const char *s = s_string(v);
        if (!s || s_choice(node->choices, 16, s) < 0) {
            char allowed[100];
            s_list(allowed, sizeof allowed, node->choices, 16);
            hb_errf(err, errlen, "%s must be one of %s", path, allowed);
            return HB_EINVAL;
        }
        return 0;
    }
    case K_ZONE: {
        const char *s = s_string(v);
        const hb_tz_t *tz;
        char why[400];
        if (!s) {
            hb_errf(err, errlen, "%s must be a zone name such as \"Europe/Berlin\", not %s",
                    path, s_type_name(v));
            return HB_EINVAL;
        }
        if (hb_tz_get(s, &tz, why, sizeof why) != 0) {
            hb_errf(err, errlen, "%s must name a time zone this system has: %s", path, why);
            return HB_EINVAL;
        }
        return 0;
    }
    case K_HOURS:
        return s_check_hours(v, path, err, errlen);
    case K_REVOKED:
        return s_check_revoked(node, v, path, err, errlen);
    case K_HALLS:
    case K_ECHANNELS:
        return s_check_names(node, v, path, err, errlen);
    case K_DATE: {
        const char *s = s_string(v);
        int32_t d;
        if (!s || hb_date_parse(s, &d) != 0) {
            hb_errf(err, errlen, "%s must be a real date \"YYYY-MM-DD\" (1970 to 9999)", path);
            return HB_EINVAL;
        }
        return 0;
    }
    case K_NOTE: {
        const char *s = s_string(v);
        if (!s || json_string_length(v) > HB_POLICY_NOTE_MAX - 1 ||
            !s_utf8_valid((const unsigned char *)s, json_string_length(v))) {
            hb_errf(err, errlen, "%s must be UTF-8 text of at most %d bytes", path,
                    HB_POLICY_NOTE_MAX - 1);
            return HB_EINVAL;
        }
        return 0;
    }
    }
    return 0;
}

static int s_closure_extra(const json_t *obj, const char *path, bool complete, char *err,
                           size_t errlen)
{
    const json_t *from = json_object_get(obj, "from"), *to = json_object_get(obj, "to");
    /* A scope document may adjust one member of a wider scope's closure;
     * the effective policy needs both dates. */
    if (complete && (!json_is_string(from) || !json_is_string(to))) {
        hb_errf(err, errlen, "%s.%s is required: a closure needs both from and to dates", path,
                json_is_string(from) ? "to" : "from");
        return HB_EINVAL;
    }
    int32_t a, b;
    if (json_is_string(from) && json_is_string(to) &&
        hb_date_parse(json_string_value(from), &a) == 0 &&
        hb_date_parse(json_string_value(to), &b) == 0 && b < a) {
        hb_errf(err, errlen, "%s.to (%s) is before %s.from (%s); a closure ends on or after its "
                "first day", path, json_string_value(to), path, json_string_value(from));
        return HB_EINVAL;
    }
    return 0;
}

int hb_policy_check(const json_t *doc, char *err, size_t errlen)
{
    if (!doc) {
        hb_errf(err, errlen, "the policy must be a JSON object, and none was given");
        return HB_EINVAL;
    }
    return s_check_node(&s_root, doc, "", false, err, errlen);
}

/* ---- merging scope documents */

static json_t *s_merge(const json_t *wider, const json_t *narrower, int depth)
{
    if (!json_is_object(narrower) || depth >= POLICY_MERGE_DEPTH)
        return json_deep_copy(narrower);
    json_t *out = json_is_object(wider) ? json_deep_copy(wider) : json_object();
    if (!out)
        return NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)narrower, key, value)
    {
        if (json_is_null(value)) {
            json_object_del(out, key);
            continue;
        }
        /* An object merges even over nothing, so that the nulls inside it
         * are dropped rather than carried into the result. */
        json_t *merged = json_is_object(value)
                             ? s_merge(json_object_get(out, key), value, depth + 1)
                             : json_deep_copy(value);
        if (!merged || json_object_set_new(out, key, merged) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *hb_policy_merge(const json_t *wider, const json_t *narrower)
{
    if (!narrower)
        return wider ? json_deep_copy(wider) : json_object();
    return s_merge(wider, narrower, 0);
}

/* ---- building the effective policy from a checked, complete document */

static void s_hours_from(const json_t *v, hb_hours_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < json_array_size(v) && i < HB_POLICY_INTERVALS; i++) {
        uint16_t from, to;
        if (s_interval(json_string_value(json_array_get(v, i)), &from, &to)) {
            out->iv[out->n].from = from;
            out->iv[out->n].to = to;
            out->n++;
        }
    }
}

static size_t s_ids_from(const json_t *v, char (*out)[HB_POLICY_HALL_ID_MAX], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(v) && n < max; i++)
        snprintf(out[n++], HB_POLICY_HALL_ID_MAX, "%s", json_string_value(json_array_get(v, i)));
    return n;
}

static void s_text_from(const json_t *v, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static int64_t s_int_at(const json_t *doc, const char *object, const char *member)
{
    return json_integer_value(json_object_get(json_object_get(doc, object), member));
}

static int s_cmp_special(const void *a, const void *b)
{
    const hb_special_day_t *x = a, *y = b;
    return (x->day > y->day) - (x->day < y->day);
}

static int s_cmp_closure(const void *a, const void *b)
{
    const hb_closure_t *x = a, *y = b;
    if (x->from_day != y->from_day)
        return (x->from_day > y->from_day) - (x->from_day < y->from_day);
    return strcmp(x->id, y->id);
}

static int s_cmp_wait(const void *a, const void *b)
{
    const hb_wait_rule_t *x = a, *y = b;
    int c = strcmp(x->service, y->service);
    return c ? c : (x->priority > y->priority) - (x->priority < y->priority);
}

static void s_deadlines_from(const json_t *v, int64_t out[HB_POLICY_SEVERITIES])
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)v, key, value)
    {
        int sev = s_choice(s_severities, HB_POLICY_SEVERITIES, key);
        if (sev >= 0)
            out[sev] = json_integer_value(value);
    }
}

static int s_build(const json_t *doc, hb_policy_t *p, char *err, size_t errlen)
{
    s_text_from(json_object_get(doc, "timezone"), p->timezone, sizeof p->timezone);
    int rc = hb_tz_get(p->timezone, &p->tz, err, errlen);
    if (rc)
        return HB_EINVAL;

    const json_t *week = json_object_get(doc, "opening_hours");
    for (int i = 0; i < 7; i++)
        s_hours_from(json_object_get(week, s_weekdays[i]), &p->week[i]);

    const char *key;
    json_t *value;
    const json_t *special = json_object_get(doc, "special_days");
    p->special = calloc(json_object_size(special) + 1, sizeof *p->special);
    if (!p->special)
        goto oom;
    json_object_foreach((json_t *)special, key, value)
    {
        hb_special_day_t *s = &p->special[p->n_special++];
        hb_date_parse(key, &s->day);
        /* A special day that names no hours is a holiday: closed. */
        s_hours_from(json_object_get(value, "hours"), &s->hours);
        s_text_from(json_object_get(value, "note"), s->note, sizeof s->note);
    }
    qsort(p->special, p->n_special, sizeof *p->special, s_cmp_special);

    const json_t *closures = json_object_get(doc, "closures");
    p->closures = calloc(json_object_size(closures) + 1, sizeof *p->closures);
    if (!p->closures)
        goto oom;
    json_object_foreach((json_t *)closures, key, value)
    {
        hb_closure_t *c = &p->closures[p->n_closures++];
        snprintf(c->id, sizeof c->id, "%s", key);
        hb_date_parse(json_string_value(json_object_get(value, "from")), &c->from_day);
        hb_date_parse(json_string_value(json_object_get(value, "to")), &c->to_day);
        s_text_from(json_object_get(value, "notice"), c->notice, sizeof c->notice);
        c->n_divert =
            s_ids_from(json_object_get(value, "divert_to"), c->divert_to, HB_POLICY_DIVERT_MAX);
    }
    qsort(p->closures, p->n_closures, sizeof *p->closures, s_cmp_closure);

    p->n_divert = s_ids_from(json_object_get(doc, "divert_to"), p->divert_to,
                             HB_POLICY_DIVERT_MAX);

    const json_t *sla = json_object_get(doc, "sla");
    const json_t *waits = json_object_get(sla, "max_wait_s");
    p->wait = calloc(json_object_size(waits) + 1, sizeof *p->wait);
    if (!p->wait)
        goto oom;
    json_object_foreach((json_t *)waits, key, value)
    {
        hb_wait_rule_t *w = &p->wait[p->n_wait];
        if (s_wait_key(key, w->service, &w->priority)) {
            w->max_wait_s = json_integer_value(value);
            p->n_wait++;
        }
    }
    qsort(p->wait, p->n_wait, sizeof *p->wait, s_cmp_wait);
    s_deadlines_from(json_object_get(sla, "complaint_ack_s"), p->complaint_ack_s);
    s_deadlines_from(json_object_get(sla, "complaint_resolve_s"), p->complaint_resolve_s);

    p->diversion_threshold = s_int_at(doc, "diversion", "threshold");
    const json_t *ech = json_object_get(json_object_get(doc, "diversion"), "echannels");
    for (size_t i = 0; i < json_array_size(ech) && i < HB_POLICY_ECHANNELS_MAX; i++)
        snprintf(p->echannels[p->n_echannels++], HB_POLICY_ECHANNEL_MAX, "%s",
                 json_string_value(json_array_get(ech, i)));
    p->max_concurrent_campaigns = (int)s_int_at(doc, "campaigns", "max_concurrent");
    p->lead_days = (int)s_int_at(doc, "campaigns", "lead_days");
    const char *overlap =
        json_string_value(json_object_get(json_object_get(doc, "campaigns"), "city_overlap"));
    p->city_overlap_error = overlap && strcmp(overlap, "error") == 0;
    p->device_fault_s = s_int_at(doc, "alerts", "device_fault_s");
    p->not_open_grace_s = s_int_at(doc, "alerts", "not_open_grace_s");

    const json_t *revoked = json_object_get(doc, "revoked_devices");
    p->revoked = calloc(json_array_size(revoked) + 1, sizeof *p->revoked);
    if (!p->revoked)
        goto oom;
    for (size_t i = 0; i < json_array_size(revoked); i++) {
        const json_t *e = json_array_get(revoked, i);
        hb_revocation_t *r = &p->revoked[p->n_revoked++];
        s_text_from(json_object_get(e, "device"), r->device, sizeof r->device);
        s_text_from(json_object_get(e, "token"), r->token, sizeof r->token);
        const json_t *before = json_object_get(e, "paired_before");
        if (json_is_string(before))
            hb_time_parse(json_string_value(before), &r->paired_before_ms);
    }
    return 0;
oom:
    hb_errf(err, errlen, "out of memory while building the policy");
    return HB_ENOMEM;
}

int hb_policy_new(const json_t *doc, hb_policy_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (doc) {
        int rc = hb_policy_check(doc, err, errlen);
        if (rc)
            return rc;
    }
    int rc = 0;
    hb_policy_t *p = NULL;
    json_t *defaults = hb_policy_defaults();
    json_t *merged = defaults ? hb_policy_merge(defaults, doc) : NULL;
    /* A null in `doc` removed a member the defaults had; a member that is
     * missing takes its default, so merge the defaults in once more. */
    json_t *complete = merged ? hb_policy_merge(defaults, merged) : NULL;
    if (!complete) {
        hb_errf(err, errlen, "out of memory while merging the policy over its defaults");
        rc = HB_ENOMEM;
        goto out;
    }
    rc = s_check_node(&s_root, complete, "", true, err, errlen);
    if (rc)
        goto out;
    p = calloc(1, sizeof *p);
    if (!p) {
        hb_errf(err, errlen, "out of memory while building the policy");
        rc = HB_ENOMEM;
        goto out;
    }
    rc = s_build(complete, p, err, errlen);
    if (rc) {
        hb_policy_free(&p);
        goto out;
    }
    *out = p;
out:
    json_decref(complete);
    json_decref(merged);
    json_decref(defaults);
    return rc;
}

void hb_policy_free(hb_policy_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->special);
    free((*p)->closures);
    free((*p)->wait);
    free((*p)->revoked);
    free(*p);
    *p = NULL;
}

/* ---- the effective policy as a document */

static json_t *s_hours_json(const hb_hours_t *h)
{
    json_t *a = json_array();
    for (uint8_t i = 0; a && i < h->n; i++) {
        char text[12];
        snprintf(text, sizeof text, "%02u:%02u-%02u:%02u", (unsigned)(h->iv[i].from / 60 % 100),
                 (unsigned)(h->iv[i].from % 60), (unsigned)(h->iv[i].to / 60 % 100),
                 (unsigned)(h->iv[i].to % 60));
        json_array_append_new(a, json_string(text));
    }
    return a;
}

static json_t *s_ids_json(const char (*ids)[HB_POLICY_HALL_ID_MAX], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(ids[i]));
    return a;
}

static json_t *s_deadlines_json(const int64_t v[HB_POLICY_SEVERITIES])
{
    json_t *o = json_object();
    for (int i = 0; o && i < HB_POLICY_SEVERITIES; i++)
        if (v[i] > 0)
            json_object_set_new(o, s_severities[i], json_integer(v[i]));
    return o;
}

json_t *hb_policy_to_json(const hb_policy_t *p)
{
    json_t *doc = json_object();
    if (!doc)
        return NULL;
    json_object_set_new(doc, "timezone", json_string(p->timezone));
    json_t *week = json_object();
    for (int i = 0; week && i < 7; i++)
        json_object_set_new(week, s_weekdays[i], s_hours_json(&p->week[i]));
    json_object_set_new(doc, "opening_hours", week);

    json_t *special = json_object();
    for (size_t i = 0; special && i < p->n_special; i++) {
        char date[11];
        hb_date_format(p->special[i].day, date);
        json_t *day = json_object();
        json_object_set_new(day, "hours", s_hours_json(&p->special[i].hours));
        if (p->special[i].note[0])
            json_object_set_new(day, "note", json_string(p->special[i].note));
        json_object_set_new(special, date, day);
    }
    json_object_set_new(doc, "special_days", special);

    json_t *closures = json_object();
    for (size_t i = 0; closures && i < p->n_closures; i++) {
        const hb_closure_t *c = &p->closures[i];
        char from[11], to[11];
        hb_date_format(c->from_day, from);
        hb_date_format(c->to_day, to);
        json_t *o = json_object();
        json_object_set_new(o, "from", json_string(from));
        json_object_set_new(o, "to", json_string(to));
        if (c->notice[0])
            json_object_set_new(o, "notice", json_string(c->notice));
        json_object_set_new(o, "divert_to", s_ids_json(c->divert_to, c->n_divert));
        json_object_set_new(closures, c->id, o);
    }
    json_object_set_new(doc, "closures", closures);
    json_object_set_new(doc, "divert_to", s_ids_json(p->divert_to, p->n_divert));

    json_t *sla = json_object(), *waits = json_object();
    for (size_t i = 0; waits && i < p->n_wait; i++) {
        char key[HB_POLICY_SERVICE_MAX + 16];
        snprintf(key, sizeof key, "%s:%s", p->wait[i].service, s_priorities[p->wait[i].priority]);
        json_object_set_new(waits, key, json_integer(p->wait[i].max_wait_s));
    }
    json_object_set_new(sla, "max_wait_s", waits);
    json_object_set_new(sla, "complaint_ack_s", s_deadlines_json(p->complaint_ack_s));
    json_object_set_new(sla, "complaint_resolve_s", s_deadlines_json(p->complaint_resolve_s));
    json_object_set_new(doc, "sla", sla);

    json_t *ech = json_array();
    for (size_t i = 0; ech && i < p->n_echannels; i++)
        json_array_append_new(ech, json_string(p->echannels[i]));
    json_object_set_new(doc, "diversion",
                        json_pack("{s:I, s:o}", "threshold", (json_int_t)p->diversion_threshold,
                                  "echannels", ech));
    json_object_set_new(doc, "campaigns",
                        json_pack("{s:i, s:i, s:s}", "max_concurrent",
                                  p->max_concurrent_campaigns, "lead_days", p->lead_days,
                                  "city_overlap", p->city_overlap_error ? "error" : "warning"));
    json_object_set_new(doc, "alerts",
                        json_pack("{s:I, s:I}", "device_fault_s", (json_int_t)p->device_fault_s,
                                  "not_open_grace_s", (json_int_t)p->not_open_grace_s));
    if (p->n_revoked > 0) {
        json_t *rev = json_array();
        for (size_t i = 0; rev && i < p->n_revoked; i++) {
            const hb_revocation_t *r = &p->revoked[i];
            json_t *e = r->device[0] ? json_pack("{s:s}", "device", r->device)
                                     : json_pack("{s:s}", "token", r->token);
            if (e && r->device[0] && r->paired_before_ms) {
                char at[HB_RFC3339_MAX];
                hb_time_format(r->paired_before_ms, at);
                json_object_set_new(e, "paired_before", json_string(at));
            }
            json_array_append_new(rev, e);
        }
        json_object_set_new(doc, "revoked_devices", rev);
    }
    /* Any allocation that failed above left a member out; say so. */
    if (json_object_size(doc) != 9 + (p->n_revoked > 0)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- opening hours */

static const hb_closure_t *s_closure_on(const hb_policy_t *p, int32_t day)
{
    /* At most HB_POLICY_CLOSURES_MAX, sorted by first day: the earliest
     * that covers the day wins when two overlap. */
    for (size_t i = 0; i < p->n_closures && p->closures[i].from_day <= day; i++)
        if (day <= p->closures[i].to_day)
            return &p->closures[i];
    return NULL;
}

static const hb_special_day_t *s_special_on(const hb_policy_t *p, int32_t day)
{
    size_t lo = 0, hi = p->n_special;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->special[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n_special && p->special[lo].day == day ? &p->special[lo] : NULL;
}

/* The hours of `day` and why it is closed all day (HB_OPEN_NOW when it has
 * hours), with the note and closure that apply. */
static hb_closed_reason_t s_day(const hb_policy_t *p, int32_t day, hb_hours_t *hours,
                                const char **note, const hb_closure_t **closure)
{
    *note = NULL;
    *closure = s_closure_on(p, day);
    if (*closure) {
        memset(hours, 0, sizeof *hours);
        *note = (*closure)->notice[0] ? (*closure)->notice : NULL;
        return HB_CLOSED_CLOSURE;
    }
    const hb_special_day_t *s = s_special_on(p, day);
    if (s) {
        *hours = s->hours;
        *note = s->note[0] ? s->note : NULL;
        return s->hours.n ? HB_OPEN_NOW : HB_CLOSED_SPECIAL_DAY;
    }
    *hours = p->week[hb_weekday(day)];
    return hours->n ? HB_OPEN_NOW : HB_CLOSED_WEEKDAY;
}

void hb_policy_hours_on(const hb_policy_t *p, int32_t day, hb_hours_t *out)
{
    const char *note;
    const hb_closure_t *closure;
    s_day(p, day, out, &note, &closure);
}

/* A walk over the opening intervals as UTC instants, day after day. Each
 * boundary goes through hb_tz_local_to_utc, so DST days have 23 or 25
 * hours; an interval a clock change swallows is skipped, and intervals are
 * kept from running backwards across a gap. */
typedef struct s_walk {
    const hb_policy_t *p;
    int32_t day, last_day;
    hb_hours_t hours;
    uint8_t i;
    int64_t last_end;
} s_walk_t;

static void s_walk_init(s_walk_t *w, const hb_policy_t *p, int32_t first_day, int32_t last_day)
{
    memset(w, 0, sizeof *w);
    w->p = p;
    w->day = first_day - 1;
    w->last_day = last_day;
    w->last_end = INT64_MIN;
}

static int64_t s_boundary(const hb_policy_t *p, int32_t day, uint16_t minute)
{
    if (minute >= 1440)
        return hb_tz_local_to_utc(p->tz, day + 1, 0, 0);
    return hb_tz_local_to_utc(p->tz, day, minute / 60, minute % 60);
}

static bool s_walk_next(s_walk_t *w, int64_t *a, int64_t *b)
{
    for (;;) {
        if (w->i >= w->hours.n) {
            if (w->day >= w->last_day)
                return false;
            w->day++;
            hb_policy_hours_on(w->p, w->day, &w->hours);
            w->i = 0;
            continue;
        }
        int64_t from = s_boundary(w->p, w->day, w->hours.iv[w->i].from);
        int64_t to = s_boundary(w->p, w->day, w->hours.iv[w->i].to);
        w->i++;
        if (from < w->last_end)
            from = w->last_end;
        if (to <= from)
            continue;
        w->last_end = to;
        *a = from;
        *b = to;
        return true;
    }
}

const char *hb_closed_reason_name(hb_closed_reason_t r)
{
    switch (r) {
    case HB_OPEN_NOW:
        return "open";
    case HB_CLOSED_OUTSIDE_HOURS:
        return "outside_hours";
    case HB_CLOSED_WEEKDAY:
        return "closed_weekday";
    case HB_CLOSED_SPECIAL_DAY:
        return "holiday";
    case HB_CLOSED_CLOSURE:
        return "closure";
    }
    return "unknown";
}

void hb_policy_open_at(const hb_policy_t *p, int64_t at_ms, hb_open_info_t *out)
{
    memset(out, 0, sizeof *out);
    int32_t day = hb_tz_local_day(p->tz, at_ms);
    hb_hours_t hours;
    const hb_closure_t *closure;
    hb_closed_reason_t reason = s_day(p, day, &hours, &out->note, &closure);
    if (closure && closure->n_divert) {
        out->n_divert = closure->n_divert;
        out->divert_to = closure->divert_to;
    } else {
        out->n_divert = p->n_divert;
        out->divert_to = p->divert_to;
    }
    /* From the day before, in case a clock change put part of yesterday's
     * hours after local midnight. */
    s_walk_t w;
    s_walk_init(&w, p, day - 1, day + HB_POLICY_SEARCH_DAYS);
    int64_t a, b;
    while (s_walk_next(&w, &a, &b)) {
        if (b <= at_ms)
            continue;
        if (a > at_ms) {
            out->state = reason == HB_OPEN_NOW ? HB_CLOSED_OUTSIDE_HOURS : reason;
            out->next_open_ms = a;
            return;
        }
        /* Open: the hall closes where the opening time stops, which may be
         * days later for a hall open round the clock (24:00 then 00:00). */
        out->state = HB_OPEN_NOW;
        out->closes_ms = b;
        int64_t na, nb;
        while (s_walk_next(&w, &na, &nb)) {
            if (na != out->closes_ms)
                return;
            out->closes_ms = nb;
        }
        out->closes_ms = INT64_MAX; /* open past the search horizon */
        return;
    }
    out->state = reason == HB_OPEN_NOW ? HB_CLOSED_OUTSIDE_HOURS : reason;
    out->next_open_ms = 0;
}

int64_t hb_policy_add_open_time(const hb_policy_t *p, int64_t from_ms, int64_t open_s)
{
    if (open_s <= 0)
        return from_ms;
    /* More opening time than the horizon has wall-clock time never fits;
     * refusing it here also keeps open_s * 1000 from overflowing. */
    if (open_s > (int64_t)(HB_POLICY_SEARCH_DAYS + 2) * 86400)
        return INT64_MAX;
    int64_t left = open_s * 1000;
    int32_t day = hb_tz_local_day(p->tz, from_ms);
    s_walk_t w;
    s_walk_init(&w, p, day - 1, day + HB_POLICY_SEARCH_DAYS);
    int64_t a, b;
    while (s_walk_next(&w, &a, &b)) {
        if (b <= from_ms)
            continue;
        int64_t start = a > from_ms ? a : from_ms;
        if (b - start >= left)
            return start + left;
        left -= b - start;
    }
    return INT64_MAX;
}

int64_t hb_policy_open_seconds(const hb_policy_t *p, int64_t from_ms, int64_t to_ms)
{
    if (to_ms <= from_ms)
        return 0;
    /* The walk is one step per local day of the span; hb_tz clamps instants
     * to years 1..9999, which bounds it. */
    s_walk_t w;
    s_walk_init(&w, p, hb_tz_local_day(p->tz, from_ms) - 1, hb_tz_local_day(p->tz, to_ms));
    int64_t a, b, sum = 0;
    while (s_walk_next(&w, &a, &b)) {
        if (b <= from_ms)
            continue;
        if (a >= to_ms)
            break;
        int64_t s = a > from_ms ? a : from_ms, e = b < to_ms ? b : to_ms;
        sum += e - s;
    }
    return sum / 1000;
}

/* ---- thresholds */

int64_t hb_policy_max_wait_s(const hb_policy_t *p, const char *service, int priority)
{
    /* Rank 3: service and priority; 2: the service; 1: the priority; 0: *:*. */
    int best_rank = -1;
    int64_t best = 0;
    for (size_t i = 0; i < p->n_wait; i++) {
        const hb_wait_rule_t *w = &p->wait[i];
        bool any_service = strcmp(w->service, "*") == 0;
        bool service_match = !any_service && service && strcmp(w->service, service) == 0;
        bool priority_match = w->priority != 0 && w->priority == priority;
        int rank;
        if (service_match && priority_match)
            rank = 3;
        else if (service_match && w->priority == 0)
            rank = 2;
        else if (any_service && priority_match)
            rank = 1;
        else if (any_service && w->priority == 0)
            rank = 0;
        else
            continue;
        if (rank > best_rank) {
            best_rank = rank;
            best = w->max_wait_s;
        }
    }
    /* hb_policy_new always leaves a "*:*" rule; this is for a policy built
     * by hand without one. */
    return best_rank >= 0 ? best : 1200;
}

static int64_t s_deadline(const int64_t v[HB_POLICY_SEVERITIES], int severity)
{
    if (severity > 0 && severity < HB_POLICY_SEVERITIES && v[severity] > 0)
        return v[severity];
    return v[0];
}

int64_t hb_policy_ack_s(const hb_policy_t *p, int severity)
{
    return s_deadline(p->complaint_ack_s, severity);
}

int64_t hb_policy_resolve_s(const hb_policy_t *p, int severity)
{
    return s_deadline(p->complaint_resolve_s, severity);
}

/* ------------------------------------------------ the current opening ---- */

typedef struct open_span {
    int64_t a, b; /* [a, b) on the UTC clock */
} open_span_t;

static int64_t s_open_boundary(const hb_policy_t *p, int32_t day, uint16_t minute)
{
    if (minute >= 1440)
        return hb_tz_local_to_utc(p->tz, day + 1, 0, 0);
    return hb_tz_local_to_utc(p->tz, day, minute / 60, minute % 60);
}

/* The opening intervals of local day `day` as UTC instants, the way
 * hb_policy_open_at places them (an interval a clock change swallows is
 * empty and left out). */
static size_t s_open_day_spans(const hb_policy_t *p, int32_t day, open_span_t out[HB_POLICY_INTERVALS])
{
    hb_hours_t h;
    hb_policy_hours_on(p, day, &h);
    size_t n = 0;
    for (uint8_t i = 0; i < h.n && i < HB_POLICY_INTERVALS; i++) {
        int64_t a = s_open_boundary(p, day, h.iv[i].from), b = s_open_boundary(p, day, h.iv[i].to);
        if (b > a)
            out[n++] = (open_span_t){a, b};
    }
    return n;
}

/* Whether the hall is open at `t`, and if so when the current opening
 * began: intervals that touch (one ends where the next starts, as a day
 * ending at 24:00 and the next starting at 00:00) are one opening, as in
 * hb_policy_open_at. hb_policy_open_at is not used because it looks ahead for
 * the closing time, up to HB_POLICY_SEARCH_DAYS for a hall open round the
 * clock; looking back for the start stops after `back_days`. */
bool hb_policy_opening_start(const hb_policy_t *p, int64_t t, int32_t back_days, int64_t *start)
{
    int32_t today = hb_tz_local_day(p->tz, t);
    open_span_t sp[HB_POLICY_INTERVALS];
    size_t n = 0, at = 0;
    int32_t day;
    bool found = false;
    /* Yesterday too: a clock change can put part of its hours after local
     * midnight. */
    for (day = today; day >= today - 1 && !found; day--) {
        n = s_open_day_spans(p, day, sp);
        for (at = 0; at < n; at++) {
            if (sp[at].a <= t && t < sp[at].b) {
                found = true;
                break;
            }
        }
        if (found)
            break;
    }
    if (!found)
        return false;
    *start = sp[at].a;
    for (;;) {
        open_span_t prev;
        if (at > 0) {
            prev = sp[--at];
        } else {
            n = 0;
            while (n == 0 && day > today - back_days)
                n = s_open_day_spans(p, --day, sp);
            if (n == 0)
                return true;
            at = n - 1;
            prev = sp[at];
        }
        if (prev.b < *start || prev.a >= *start)
            return true;
        *start = prev.a;
    }
}

