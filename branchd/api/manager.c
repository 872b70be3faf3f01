/* The duty manager's routes (docs/API.md, "The duty manager's day"): the
 * meetings, today's checklist and its completion, the opening, patrols and
 * their scores, the work log, the cash handover, and the day's records and
 * report. Each handler reads the body, asks the engine (manager.c there,
 * which holds the rules) and answers the event it wrote; the records and
 * the report are read from the outbox through day.h. */
#include "api.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* Who records: the manager's device name, "" for a local-trust caller. */
static const char *s_by(const hb_http_req_t *req)
{
    const access_caller_t *c = branchd_caller(req);
    return c && c->via == ACCESS_VIA_DEVICE ? c->device.name : "";
}

/* The devices paired in the access store (their names point into `devs`). */
static size_t s_paired(branchd_t *d, access_device_t *devs, const char **names, size_t max)
{
    size_t n = 0;
    if (!d->access || access_device_list(d->access, devs, max, &n) != 0)
        return 0;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        names[i] = devs[i].name;
    return n;
}

/* A list of strings of a body into `out`; answers the refusal itself. */
static int s_strings(branchd_t *d, hb_http_req_t *req, const json_t *b, const char *name,
                     const char **out, size_t max, size_t *n)
{
    const json_t *arr = json_object_get(b, name);
    *n = json_array_size(arr);
    if (*n > max) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request", "%s may hold at most %zu", name, max);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < *n; i++) {
        out[i] = json_string_value(json_array_get(arr, i));
        if (!out[i]) {
            d->api_refused++;
            hb_http_reply_error(req, 400, "bad_request", "%s[%zu] must be a string", name, i);
            return HB_EINVAL;
        }
    }
    return 0;
}

/* 201 with the event just written (as the stream shows it) and `extra`'s
 * members. */
typedef struct last_event {
    json_t *j;
} last_event_t;

static int s_last_event(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    (void)seq;
    last_event_t *le = arg;
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    if (env) {
        le->j = hb_event_to_json(env);
        hb_envelope_free(env);
    }
    return 1;
}

static void s_created(branchd_t *d, hb_http_req_t *req, json_t *extra)
{
    last_event_t le = {NULL};
    uint64_t seq = engine_last_seq(d->engine);
    if (outbox_read(d->outbox, seq, 1, 1u << 20, s_last_event, &le) != 0 || !le.j) {
        json_decref(extra);
        hb_http_reply_error(req, 503, "storage", "the event was stored but could not be read back");
        return;
    }
    if (extra)
        json_object_update(le.j, extra);
    json_decref(extra);
    hb_http_reply_json(req, 201, le.j);
}

/* The end of a record's handler: the engine's refusal, or 201 with the
 * event it wrote. */
static void s_answer(branchd_t *d, hb_http_req_t *req, int rc, const char *err)
{
    if (rc != 0)
        branchd_api_refuse(d, req, rc, err);
    else
        s_created(d, req, NULL);
}

static json_t *s_names(char (*names)[HB_HS_ID], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

/* --------------------------------------------------------- checklist ---- */

void branchd_api_get_checklist(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    access_device_t devs[ENGINE_LIST_MAX];
    const char *names[ENGINE_LIST_MAX];
    size_t n = s_paired(d, devs, names, ENGINE_LIST_MAX);
    engine_checklist_t *cl = malloc(sizeof *cl);
    if (!cl) {
        hb_http_reply_error(req, 503, "storage", "out of memory");
        return;
    }
    engine_checklist_today(d->engine, names, n, hb_now_ms(), cl);
    static const char *const wd[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    json_t *items = json_array();
    for (size_t i = 0; i < cl->n; i++) {
        json_t *it = json_pack("{s:s}", "item", cl->items[i].item);
        if (cl->items[i].device[0])
            json_object_set_new(it, "device", json_string(cl->items[i].device));
        json_array_append_new(items, it);
    }
    hb_day_t *day = NULL;
    json_t *done = json_null();
    if (engine_day_read(d->engine, cl->date, &day) == 0 && hb_day_checklist(day))
        done = json_deep_copy(hb_day_checklist(day));
    hb_day_destroy(&day);
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:s, s:o, s:o}", "date", cl->date, "weekday",
                                 wd[cl->weekday], "items", items, "done", done));
    free(cl);
}

void branchd_api_post_checklist(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"items", JSON_ARRAY, true}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    if (!b)
        return;
    const json_t *items = json_object_get(b, "items");
    size_t n = json_array_size(items);
    engine_check_t checks[ENGINE_LIST_MAX];
    char err[1536];
    int rc = 0;
    if (n < 1 || n > ENGINE_LIST_MAX) {
        hb_errf(err, sizeof err, "items must hold 1 to %d items", ENGINE_LIST_MAX);
        rc = HB_EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const json_t *it = json_array_get(items, i);
        const json_t *ok = json_object_get(it, "ok"), *note = json_object_get(it, "note");
        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)it, key, v)
            if (strcmp(key, "item") != 0 && strcmp(key, "ok") != 0 && strcmp(key, "note") != 0)
                rc = HB_EINVAL;
        if (rc != 0 || !json_is_object(it) || !json_is_string(json_object_get(it, "item")) ||
            !json_is_boolean(ok) || (note && !json_is_null(note) && !json_is_string(note))) {
            hb_errf(err, sizeof err,
                    "items[%zu] must be {\"item\": ID, \"ok\": true or false, \"note\": text}", i);
            rc = HB_EINVAL;
            break;
        }
        checks[i] = (engine_check_t){json_string_value(json_object_get(it, "item")),
                                     json_is_true(ok), json_string_value(note)};
    }
    if (rc != 0) {
        json_decref(b);
        branchd_api_bad_request(d, req, err);
        return;
    }
    access_device_t devs[ENGINE_LIST_MAX];
    const char *names[ENGINE_LIST_MAX];
    size_t np = s_paired(d, devs, names, ENGINE_LIST_MAX);
    rc = engine_checklist(d->engine, checks, n, names, np, s_by(req), err, sizeof err);
    json_decref(b);
    s_answer(d, req, rc, err);
}

/* ---------------------------------------------------------- meetings ---- */

void branchd_api_post_meeting(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"kind", JSON_STRING, true},
                                      {"duration_s", JSON_INTEGER, true},
                                      {"attendees", JSON_ARRAY, false},
                                      {"topics", JSON_ARRAY, false},
                                      {"note", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    int kind = 0;
    const char *att[ENGINE_LIST_MAX], *top[ENGINE_TOPICS_MAX];
    size_t na = 0, nt = 0;
    if (!b || branchd_api_enum(d, req, b, "kind", &hallbus__meeting_kind__descriptor, &kind) != 0 ||
        s_strings(d, req, b, "attendees", att, ENGINE_LIST_MAX, &na) != 0 ||
        s_strings(d, req, b, "topics", top, ENGINE_TOPICS_MAX, &nt) != 0) {
        json_decref(b);
        return;
    }
    json_int_t dur = json_integer_value(json_object_get(b, "duration_s"));
    char err[512];
    int rc;
    if (dur < 1 || dur > ENGINE_MEETING_MAX_S) {
        hb_errf(err, sizeof err, "duration_s must be from 1 to %d, not %lld", ENGINE_MEETING_MAX_S,
                (long long)dur);
        json_decref(b);
        branchd_api_bad_request(d, req, err);
        return;
    } else {
        rc = engine_meeting(d->engine, kind, (uint32_t)dur, att, na, top, nt,
                            branchd_api_str(b, "note"), s_by(req), err, sizeof err);
    }
    json_decref(b);
    s_answer(d, req, rc, err);
}

/* ----------------------------------------------------------- opening ---- */

void branchd_api_post_open(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"note", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    if (!b)
        return;
    access_device_t devs[ENGINE_LIST_MAX];
    const char *names[ENGINE_LIST_MAX];
    size_t np = s_paired(d, devs, names, ENGINE_LIST_MAX);
    engine_opening_t *o = malloc(sizeof *o);
    char err[512] = "out of memory";
    int rc = o ? engine_hall_open(d->engine, branchd_api_str(b, "note"), s_by(req), names, np, o,
                                  err, sizeof err)
               : HB_ENOMEM;
    json_decref(b);
    if (rc != 0) {
        free(o);
        branchd_api_refuse(d, req, rc, err);
        return;
    }
    json_t *extra = json_pack("{s:o, s:o, s:i, s:b}", "failed", s_names(o->failed, o->n_failed),
                              "unchecked", s_names(o->unchecked, o->n_unchecked), "late_s",
                              (int)o->late_s, "alert", o->n_failed + o->n_unchecked > 0);
    free(o);
    s_created(d, req, extra);
}

/* ----------------------------------------------------------- patrols ---- */

void branchd_api_post_patrol(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"on_duty", JSON_ARRAY, false}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    const char *on[ENGINE_LIST_MAX];
    size_t n = 0;
    if (!b || s_strings(d, req, b, "on_duty", on, ENGINE_LIST_MAX, &n) != 0) {
        json_decref(b);
        return;
    }
    engine_patrol_t *p = malloc(sizeof *p);
    char err[512] = "out of memory";
    int rc = p ? engine_patrol_draw(d->engine, on, n, s_by(req), p, err, sizeof err) : HB_ENOMEM;
    json_decref(b);
    if (rc != 0) {
        free(p);
        branchd_api_refuse(d, req, rc, err);
        return;
    }
    free(p);
    s_created(d, req, NULL);
}

void branchd_api_post_patrol_score(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {
        {"staff", JSON_STRING, true},       {"smile", JSON_INTEGER, true},
        {"initiative", JSON_INTEGER, true}, {"compliance", JSON_INTEGER, true},
        {"speed", JSON_INTEGER, true},      {"accuracy", JSON_INTEGER, true},
        {"note", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    if (!b)
        return;
    uint32_t scores[5];
    char err[512];
    int rc = 0;
    for (size_t i = 0; i < 5; i++) {
        json_int_t v = json_integer_value(json_object_get(b, m[i + 1].name));
        if (v < 1 || v > 5) {
            hb_errf(err, sizeof err, "%s must be from 1 to 5, not %lld", m[i + 1].name,
                    (long long)v);
            json_decref(b);
            branchd_api_bad_request(d, req, err);
            return;
        }
        scores[i] = (uint32_t)v;
    }
    if (rc == 0)
        rc = engine_patrol_score(d->engine, hb_http_param(req, "patrol"),
                                 branchd_api_str(b, "staff"), scores, branchd_api_str(b, "note"),
                                 s_by(req), err, sizeof err);
    json_decref(b);
    s_answer(d, req, rc, err);
}

/* ------------------------------------------------------ log and cash ---- */

void branchd_api_post_work_log(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"text", JSON_STRING, true}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    if (!b)
        return;
    char err[512];
    int rc = engine_work_log(d->engine, branchd_api_str(b, "text"), s_by(req), err, sizeof err);
    json_decref(b);
    s_answer(d, req, rc, err);
}

void branchd_api_post_cash(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {
        {"amount", JSON_INTEGER, true}, {"currency", JSON_STRING, false},
        {"by", JSON_STRING, true},      {"to", JSON_STRING, true},
        {"checked", JSON_TRUE, true},   {"note", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    if (!b)
        return;
    char err[512];
    int rc =
        engine_cash_handover(d->engine, json_integer_value(json_object_get(b, "amount")),
                             branchd_api_str(b, "currency"), branchd_api_str(b, "by"),
                             branchd_api_str(b, "to"), json_is_true(json_object_get(b, "checked")),
                             branchd_api_str(b, "note"), s_by(req), err, sizeof err);
    json_decref(b);
    s_answer(d, req, rc, err);
}

/* ------------------------------------------------- records and report ---- */

/* The day a request asks for (?date=, default the hall's today), read. */
static hb_day_t *s_day(branchd_t *d, hb_http_req_t *req)
{
    char date[16];
    int32_t days;
    int q = hb_http_query(req, "date", date, sizeof date);
    if (q == HB_ENOTFOUND) {
        hb_date_format(hb_tz_local_day(engine_policy(d->engine)->tz, hb_now_ms()), date);
    } else if (q != 0 || hb_date_parse(date, &days) != 0) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_parameter", "date must be YYYY-MM-DD");
        return NULL;
    }
    hb_day_t *day = NULL;
    int rc = engine_day_read(d->engine, date, &day);
    if (rc == HB_ENOTFOUND) {
        d->api_refused++;
        hb_http_reply_error(req, 404, "not_found",
                            "the hall holds no events of %s (the outbox keeps %s and after)", date,
                            "its retention");
        return NULL;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 503, "storage", "the day could not be read (%s)", hb_strerror(rc));
        return NULL;
    }
    return day;
}

void branchd_api_get_manager_day(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    hb_day_t *day = s_day(d, req);
    if (!day)
        return;
    hb_http_reply_json(req, 200, hb_day_records(day));
    hb_day_destroy(&day);
}

void branchd_api_get_manager_report(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    hb_day_t *day = s_day(d, req);
    if (!day)
        return;
    hb_http_reply_json(req, 200, hb_day_report(day, d->cfg.id, hb_now_ms()));
    hb_day_destroy(&day);
}
