/* The policy model of policy.h: one schema table that checks scope
 * documents strictly, the merge of scope documents, the effective policy
 * built from them and its thresholds. The opening-hours arithmetic halls
 * run on is hours.c's.
 *
 * Every member of the document format is one row of the tables below (its
 * name, its kind, its bounds), so the checker, the error texts and
 * docs/POLICY.md describe the same thing. This file does not store, publish
 * or version policies: that is hqd's and branchd's business. */
#include "hallbus/policy.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/ids.h"
#include "hallbus/names.h"
#include "hallbus/utf8.h"
#include "hallbus/tz.h"

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
static const char *const s_echannels[] = {"app",   "web",    "sms",   "phone",
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
    if (strcmp(service, "*") != 0 && !hb_id_chars_ok(service, HB_ID_MAX, NULL))
        return false;
    int pr = hb_name_find(s_priorities, HB_POLICY_PRIORITIES, colon + 1);
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

/* A K_MAP row: at most `most` members, each checked by `val`, whose keys
 * `ok` accepts (`rule` says which, in words). */
#define MAP_ROW(row, most, val, ok, rule)                                                          \
    .name = (row), .kind = K_MAP, .hi = (most), .value = (val), .key_ok = (ok), .key_rule = (rule)

static bool s_key_date(const char *key)
{
    int32_t d;
    return hb_date_parse(key, &d) == 0;
}
static bool s_key_closure(const char *key) { return hb_id_chars_ok(key, HB_ID_MAX, NULL); }
static bool s_key_wait(const char *key)
{
    char service[HB_POLICY_SERVICE_MAX];
    int pr;
    return s_wait_key(key, service, &pr);
}
static bool s_key_severity(const char *key)
{
    return hb_name_find(s_severities, HB_POLICY_SEVERITIES, key) >= 0;
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
#define SEVERITY_KEYS "*, low, medium, high or critical"
static const s_node_t s_sla_rows[] = {
    {MAP_ROW("max_wait_s", HB_POLICY_WAIT_RULES_MAX, &s_wait_value, s_key_wait,
             "SERVICE:PRIORITY, SERVICE being * or a service code ([A-Za-z0-9_-]{1,64}) "
             "and PRIORITY * or normal, vip, elderly, appointment"),
     .free_key = "*:*"},
    {MAP_ROW("complaint_ack_s", HB_POLICY_SEVERITIES, &s_deadline_value, s_key_severity,
             SEVERITY_KEYS)},
    {MAP_ROW("complaint_resolve_s", HB_POLICY_SEVERITIES, &s_deadline_value, s_key_severity,
             SEVERITY_KEYS)},
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
static bool s_key_service(const char *key) { return hb_id_chars_ok(key, HB_ID_MAX, NULL); }
static const s_node_t s_appt_rows[] = {
    {.name = "slot_s", .kind = K_INT, .lo = 300, .hi = 14400, .unit = "seconds"},
    {.name = "capacity", .kind = K_INT, .lo = 1, .hi = 1000, .unit = "bookings a slot"},
    {.name = "no_show_after_s", .kind = K_INT, .lo = 60, .hi = 7200, .unit = "seconds"},
    {.name = "hours", .kind = K_OBJECT, .members = s_week_rows},
    {.name = NULL},
};
static int s_appt_extra(const json_t *obj, const char *path, bool complete, char *err,
                        size_t errlen);
static const s_node_t s_appt = {
    .name = "", .kind = K_OBJECT, .members = s_appt_rows, .extra = s_appt_extra};
static const s_node_t s_top_rows[] = {
    {.name = "timezone", .kind = K_ZONE},
    {.name = "opening_hours", .kind = K_OBJECT, .members = s_week_rows},
    {MAP_ROW("special_days", HB_POLICY_SPECIAL_MAX, &s_special_day, s_key_date,
             "a real date YYYY-MM-DD")},
    {MAP_ROW("closures", HB_POLICY_CLOSURES_MAX, &s_closure, s_key_closure,
             "a closure id ([A-Za-z0-9_-]{1,64})")},
    {.name = "divert_to", .kind = K_HALLS},
    {.name = "sla", .kind = K_OBJECT, .members = s_sla_rows},
    {.name = "diversion", .kind = K_OBJECT, .members = s_diversion_rows},
    {.name = "campaigns", .kind = K_OBJECT, .members = s_campaign_rows},
    {.name = "alerts", .kind = K_OBJECT, .members = s_alert_rows},
    {.name = "revoked_devices", .kind = K_REVOKED, .hi = HB_POLICY_REVOKED_MAX},
    {MAP_ROW("appointments", HB_POLICY_APPT_SERVICES_MAX, &s_appt, s_key_service,
             "a service code ([A-Za-z0-9_-]{1,64})")},
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
    if (!v)
        return "missing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
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
        hb_errf(err, errlen, "%s has %zu intervals; a day has at most %d", path, json_array_size(v),
                HB_POLICY_INTERVALS);
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
        bool ok = s && (halls ? hb_hall_id_valid(s) : hb_name_find(node->choices, 16, s) >= 0);
        if (!ok) {
            hb_errf(err, errlen, "%s[%zu] must be one of %s", path, i, allowed);
            return HB_EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(s, json_string_value(json_array_get(v, k))) == 0) {
                hb_errf(err, errlen, "%s[%zu] (\"%s\") appears twice; each may be named once", path,
                        i, s);
                return HB_EINVAL;
            }
        }
    }
    return 0;
}

static int s_check_node(const s_node_t *node, const json_t *v, const char *path, bool complete,
                        char *err, size_t errlen);

/* A device name: the codec's ids, [A-Za-z0-9_.-]{1,64}. */
static bool s_is_device(const char *s) { return hb_id_chars_ok(s, HB_POLICY_DEVICE_MAX - 1, "."); }

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
        json_object_foreach ((json_t *)e, key, m) {
            if (strcmp(key, "device") != 0 && strcmp(key, "token") != 0 &&
                strcmp(key, "paired_before") != 0) {
                hb_errf(err, errlen, "%s[%zu].%.64s is not a member; an entry is %s", path, i, key,
                        shape);
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
            hb_errf(err, errlen, "%s[%zu].paired_before must be an RFC 3339 time after 1970%s",
                    path, i, token ? ", and goes with a device, not a token" : "");
            return HB_EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            const json_t *o = json_array_get(v, k);
            const char *od = s_string(json_object_get(o, "device"));
            const char *ot = s_string(json_object_get(o, "token"));
            if ((device && od && strcmp(device, od) == 0) ||
                (token && ot && strcmp(token, ot) == 0)) {
                hb_errf(err, errlen, "%s[%zu] (%s) appears twice; each may be named once", path, i,
                        device ? device : token);
                return HB_EINVAL;
            }
        }
    }
    return 0;
}

/* The row a member of an object (at `sub`, keyed `key`) is checked by, or
 * NULL with `err` saying why the key is refused. */
typedef const s_node_t *(*s_pick_fn)(const s_node_t *node, const char *key, const char *path,
                                     const char *sub, char *err, size_t errlen);

/* Checks each member of the object `v` by the row `pick` gives for it. */
static int s_check_members(const s_node_t *node, const json_t *v, const char *path, bool complete,
                           s_pick_fn pick, char *err, size_t errlen)
{
    const char *key;
    json_t *member;
    json_object_foreach ((json_t *)v, key, member) {
        char sub[POLICY_PATH_MAX];
        s_join(sub, sizeof sub, path, key);
        const s_node_t *row = pick(node, key, path, sub, err, errlen);
        if (!row)
            return HB_EINVAL;
        int rc = s_check_node(row, member, sub, complete, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

/* An object's member: the row of its name. */
static const s_node_t *s_pick_member(const s_node_t *node, const char *key, const char *path,
                                     const char *sub, char *err, size_t errlen)
{
    for (const s_node_t *r = node->members; r->name; r++)
        if (strcmp(r->name, key) == 0)
            return r;
    const char *names[16];
    size_t n = 0;
    for (const s_node_t *r = node->members; r->name && n < 16; r++)
        names[n++] = r->name;
    char allowed[200];
    s_list(allowed, sizeof allowed, names, n);
    hb_errf(err, errlen, "%s is not a policy member; the members %s%s are %s", sub,
            path[0] ? "of " : "here", path, allowed);
    return NULL;
}

/* A map's member: the map's one value row, for a key the map accepts. */
static const s_node_t *s_pick_value(const s_node_t *node, const char *key, const char *path,
                                    const char *sub, char *err, size_t errlen)
{
    if (node->key_ok(key))
        return node->value;
    hb_errf(err, errlen, "%s: not a valid key; the keys of %s are %s", sub, path, node->key_rule);
    return NULL;
}

static int s_check_object(const s_node_t *node, const json_t *v, const char *path, bool complete,
                          char *err, size_t errlen)
{
    if (!json_is_object(v)) {
        hb_errf(err, errlen, "%s must be an object, not %s", path[0] ? path : "the policy",
                s_type_name(v));
        return HB_EINVAL;
    }
    int rc = s_check_members(node, v, path, complete, s_pick_member, err, errlen);
    if (rc)
        return rc;
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
    return s_check_members(node, v, path, complete, s_pick_value, err, errlen);
}

static int s_check_node(const s_node_t *node, const json_t *v, const char *path, bool complete,
                        char *err, size_t errlen)
{
    /* In a scope document null removes what a wider scope set; the merge
     * drops it, so the complete document never holds one. */
    if (json_is_null(v) && path[0])
        return 0;
    switch (node->kind) {
    case K_OBJECT: return s_check_object(node, v, path, complete, err, errlen);
    case K_MAP: return s_check_map(node, v, path, complete, err, errlen);
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
        if (!s || hb_name_find(node->choices, 16, s) < 0) {
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
            hb_errf(err, errlen, "%s must be a zone name such as \"Europe/Berlin\", not %s", path,
                    s_type_name(v));
            return HB_EINVAL;
        }
        if (hb_tz_get(s, &tz, why, sizeof why) != 0) {
            hb_errf(err, errlen, "%s must name a time zone this system has: %s", path, why);
            return HB_EINVAL;
        }
        return 0;
    }
    case K_HOURS: return s_check_hours(v, path, err, errlen);
    case K_REVOKED: return s_check_revoked(node, v, path, err, errlen);
    case K_HALLS:
    case K_ECHANNELS: return s_check_names(node, v, path, err, errlen);
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
            !hb_utf8_valid(s, json_string_length(v))) {
            hb_errf(err, errlen, "%s must be UTF-8 text of at most %d bytes", path,
                    HB_POLICY_NOTE_MAX - 1);
            return HB_EINVAL;
        }
        return 0;
    }
    }
    return 0;
}

/* A service's slots need a length and a capacity once merged; hours, when
 * given, name every weekday (an absent one would mean closed silently). */
static int s_appt_extra(const json_t *obj, const char *path, bool complete, char *err,
                        size_t errlen)
{
    if (complete && (!json_object_get(obj, "slot_s") || !json_object_get(obj, "capacity"))) {
        hb_errf(err, errlen, "%s needs slot_s and capacity", path);
        return HB_EINVAL;
    }
    const json_t *hours = json_object_get(obj, "hours");
    if (complete && json_is_object(hours) && json_object_size(hours) != 7) {
        hb_errf(err, errlen, "%s.hours must name all seven days (mon to sun; [] for none)", path);
        return HB_EINVAL;
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
        hb_errf(err, errlen,
                "%s.to (%s) is before %s.from (%s); a closure ends on or after its "
                "first day",
                path, json_string_value(to), path, json_string_value(from));
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
    json_object_foreach ((json_t *)narrower, key, value) {
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

static size_t s_ids_from(const json_t *v, char (*out)[HB_HALL_ID_MAX], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(v) && n < max; i++)
        snprintf(out[n++], HB_HALL_ID_MAX, "%s", json_string_value(json_array_get(v, i)));
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

static int s_cmp_appt(const void *a, const void *b)
{
    return strcmp(((const hb_appt_rule_t *)a)->service, ((const hb_appt_rule_t *)b)->service);
}

static void s_deadlines_from(const json_t *v, int64_t out[HB_POLICY_SEVERITIES])
{
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *)v, key, value) {
        int sev = hb_name_find(s_severities, HB_POLICY_SEVERITIES, key);
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

    /* The rows of every list, allocated at once: one for each member the
     * (checked) document has, and one more so that none is empty. */
    const json_t *special = json_object_get(doc, "special_days");
    const json_t *closures = json_object_get(doc, "closures");
    const json_t *sla = json_object_get(doc, "sla");
    const json_t *waits = json_object_get(sla, "max_wait_s");
    const json_t *revoked = json_object_get(doc, "revoked_devices");
    const json_t *appts = json_object_get(doc, "appointments");
    p->special = calloc(json_object_size(special) + 1, sizeof *p->special);
    p->closures = calloc(json_object_size(closures) + 1, sizeof *p->closures);
    p->wait = calloc(json_object_size(waits) + 1, sizeof *p->wait);
    p->revoked = calloc(json_array_size(revoked) + 1, sizeof *p->revoked);
    p->appt = calloc(json_object_size(appts) + 1, sizeof *p->appt);
    if (!p->special || !p->closures || !p->wait || !p->revoked || !p->appt) {
        hb_errf(err, errlen, "out of memory while building the policy");
        return HB_ENOMEM;
    }

    const char *key;
    json_t *value;
    json_object_foreach ((json_t *)special, key, value) {
        hb_special_day_t *s = &p->special[p->n_special++];
        hb_date_parse(key, &s->day);
        /* A special day that names no hours is a holiday: closed. */
        s_hours_from(json_object_get(value, "hours"), &s->hours);
        s_text_from(json_object_get(value, "note"), s->note, sizeof s->note);
    }
    qsort(p->special, p->n_special, sizeof *p->special, s_cmp_special);

    json_object_foreach ((json_t *)closures, key, value) {
        hb_closure_t *c = &p->closures[p->n_closures++];
        snprintf(c->id, sizeof c->id, "%s", key);
        hb_date_parse(json_string_value(json_object_get(value, "from")), &c->from_day);
        hb_date_parse(json_string_value(json_object_get(value, "to")), &c->to_day);
        s_text_from(json_object_get(value, "notice"), c->notice, sizeof c->notice);
        c->n_divert =
            s_ids_from(json_object_get(value, "divert_to"), c->divert_to, HB_POLICY_DIVERT_MAX);
    }
    qsort(p->closures, p->n_closures, sizeof *p->closures, s_cmp_closure);

    p->n_divert = s_ids_from(json_object_get(doc, "divert_to"), p->divert_to, HB_POLICY_DIVERT_MAX);

    json_object_foreach ((json_t *)waits, key, value) {
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

    for (size_t i = 0; i < json_array_size(revoked); i++) {
        const json_t *e = json_array_get(revoked, i);
        hb_revocation_t *r = &p->revoked[p->n_revoked++];
        s_text_from(json_object_get(e, "device"), r->device, sizeof r->device);
        s_text_from(json_object_get(e, "token"), r->token, sizeof r->token);
        const json_t *before = json_object_get(e, "paired_before");
        if (json_is_string(before))
            hb_time_parse(json_string_value(before), &r->paired_before_ms);
    }

    json_object_foreach ((json_t *)appts, key, value) {
        hb_appt_rule_t *a = &p->appt[p->n_appt++];
        snprintf(a->service, sizeof a->service, "%s", key);
        a->slot_s = json_integer_value(json_object_get(value, "slot_s"));
        a->capacity = json_integer_value(json_object_get(value, "capacity"));
        const json_t *ns = json_object_get(value, "no_show_after_s");
        a->no_show_after_s = ns ? json_integer_value(ns) : HB_POLICY_NO_SHOW_DEFAULT_S;
        const json_t *hours = json_object_get(value, "hours");
        a->own_hours = json_is_object(hours);
        for (int i = 0; a->own_hours && i < 7; i++)
            s_hours_from(json_object_get(hours, s_weekdays[i]), &a->hours[i]);
    }
    qsort(p->appt, p->n_appt, sizeof *p->appt, s_cmp_appt);
    return 0;
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
    free((*p)->appt);
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

static json_t *s_ids_json(const char (*ids)[HB_HALL_ID_MAX], size_t n)
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
        json_t *o = json_object();
        json_object_set_new(o, "from", hb_json_date(c->from_day));
        json_object_set_new(o, "to", hb_json_date(c->to_day));
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
    json_object_set_new(
        doc, "diversion",
        json_pack("{s:I, s:o}", "threshold", (json_int_t)p->diversion_threshold, "echannels", ech));
    json_object_set_new(doc, "campaigns",
                        json_pack("{s:i, s:i, s:s}", "max_concurrent", p->max_concurrent_campaigns,
                                  "lead_days", p->lead_days, "city_overlap",
                                  p->city_overlap_error ? "error" : "warning"));
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
    /* Written only when a service takes appointments, so that a hall that
     * predates them reads every document that books nothing. */
    if (p->n_appt > 0) {
        json_t *appts = json_object();
        for (size_t i = 0; appts && i < p->n_appt; i++) {
            const hb_appt_rule_t *a = &p->appt[i];
            json_t *o = json_pack("{s:I, s:I, s:I}", "slot_s", (json_int_t)a->slot_s, "capacity",
                                  (json_int_t)a->capacity, "no_show_after_s",
                                  (json_int_t)a->no_show_after_s);
            if (o && a->own_hours) {
                json_t *days = json_object();
                for (int k = 0; days && k < 7; k++)
                    json_object_set_new(days, s_weekdays[k], s_hours_json(&a->hours[k]));
                json_object_set_new(o, "hours", days);
            }
            json_object_set_new(appts, a->service, o);
        }
        json_object_set_new(doc, "appointments", appts);
    }
    /* Any allocation that failed above left a member out; say so. */
    if (json_object_size(doc) != 9 + (size_t)(p->n_revoked > 0) + (size_t)(p->n_appt > 0)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- appointments */

const hb_appt_rule_t *hb_policy_appt(const hb_policy_t *p, const char *service)
{
    for (size_t i = 0; service && i < p->n_appt; i++)
        if (strcmp(p->appt[i].service, service) == 0)
            return &p->appt[i];
    return NULL;
}

void hb_policy_appt_hours(const hb_policy_t *p, const hb_appt_rule_t *rule, int32_t day,
                          hb_hours_t *out)
{
    hb_policy_hours_on(p, day, out);
    if (!rule->own_hours || out->n == 0)
        return; /* a closed day takes no appointments, whatever the slots say */
    *out = rule->hours[hb_weekday(day)];
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
