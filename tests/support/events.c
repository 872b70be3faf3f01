/* Test fixtures of events, states and policies (see events.h). Every
 * helper fails the calling test through cmocka rather than returning an
 * error: a test's own input that does not parse is a broken test. */
#include "events.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define EVENTS_TEXT_MAX 4096
#define EVENTS_SEC 1000LL

json_t *hbt_json(const char *text)
{
    char buf[EVENTS_TEXT_MAX];
    size_t n = strlen(text);
    assert_true(n < sizeof buf);
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr);
    if (!j)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, buf);
    return j;
}

json_t *hbt_json_exact(const char *text, size_t flags)
{
    json_error_t jerr;
    json_t *j = json_loads(text, flags, &jerr);
    if (!j)
        fail_msg("test JSON does not parse: %s (column %d): %s", jerr.text, jerr.column, text);
    return j;
}

char *hbt_json_text(const json_t *j)
{
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(text);
    return text;
}

void hbt_assert_json_same(json_t *a, json_t *b)
{
    assert_non_null(a);
    assert_non_null(b);
    if (!json_equal(a, b)) {
        char *ta = hbt_json_text(a), *tb = hbt_json_text(b);
        fprintf(stderr, "JSON differs:\n  %s\n  %s\n", ta, tb);
        free(ta);
        free(tb);
        fail_msg("the two JSON values differ (both above)");
    }
    json_decref(a);
    json_decref(b);
}

int64_t hbt_local_ms(const char *tz, const char *date, int h, int m)
{
    int32_t day;
    assert_int_equal(hb_date_parse(date, &day), 0);
    const hb_tz_t *zone = NULL;
    assert_int_equal(hb_tz_get(tz, &zone, NULL, 0), 0);
    return hb_tz_local_to_utc(zone, day, h, m);
}

/* A test's text from its format, which must fit. */
static void s_format(char text[EVENTS_TEXT_MAX], const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void s_format(char text[EVENTS_TEXT_MAX], const char *fmt, va_list ap)
{
    int n = vsnprintf(text, EVENTS_TEXT_MAX, fmt, ap);
    assert_true(n >= 0 && n < EVENTS_TEXT_MAX);
}

json_t *hbt_jsonf(const char *fmt, ...)
{
    char text[EVENTS_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    s_format(text, fmt, ap);
    va_end(ap);
    return hbt_json(text);
}

Hallbus__Envelope *hbt_event(int64_t at, const char *text)
{
    json_t *j = hbt_json(text);
    if (!json_object_get(j, "at")) {
        char ts[HB_RFC3339_MAX];
        hb_time_format(at, ts);
        assert_int_equal(json_object_set_new(j, "at", json_string(ts)), 0);
    }
    Hallbus__Envelope *env = NULL;
    char err[256] = "";
    if (hb_event_from_json(j, at, 0, &env, err, sizeof err) != 0)
        fail_msg("the codec refuses %s: %s", text, err);
    json_decref(j);
    return env;
}

int hbt_apply_env(hb_hall_state_t *s, Hallbus__Envelope *env, int64_t at)
{
    env->seq = s->seq + 1;
    env->at_ms = at;
    return hb_hall_state_apply(s, env);
}

int hbt_apply(hb_hall_state_t *s, int64_t at, const char *text)
{
    Hallbus__Envelope *env = hbt_event(at, text);
    int rc = hbt_apply_env(s, env, at);
    assert_int_equal(s->seq, env->seq);
    assert_int_equal(s->at_ms, at);
    hb_envelope_free(env);
    return rc;
}

int hbt_vapplyf(hb_hall_state_t *s, int64_t at, const char *fmt, va_list ap)
{
    char text[EVENTS_TEXT_MAX];
    s_format(text, fmt, ap);
    return hbt_apply(s, at, text);
}

int hbt_applyf(hb_hall_state_t *s, int64_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = hbt_vapplyf(s, at, fmt, ap);
    va_end(ap);
    return rc;
}

void hbt_okf(hb_hall_state_t *s, int64_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = hbt_vapplyf(s, at, fmt, ap);
    va_end(ap);
    if (rc != 0)
        fail_msg("event did not fit the state (%d): %s", rc, fmt);
}

void hbt_issue(hb_hall_state_t *s, int64_t at, const char *ticket, const char *service,
               const char *priority)
{
    hbt_okf(
        s, at,
        "{'type':'ticket_issued','ticket':'%s','service':'%s','priority':'%s','source':'kiosk'}",
        ticket, service, priority);
}

char *hbt_state_text(const hb_hall_state_t *s)
{
    json_t *j = hb_hall_state_to_json(s);
    assert_non_null(j);
    char *text = hbt_json_text(j);
    json_decref(j);
    return text;
}

/* `p`, which the state must have: else the test fails saying what. */
static const void *s_must(const void *p, const char *what, const char *id)
{
    if (!p)
        fail_msg("%s %s is not in the state", what, id);
    return p;
}

const hb_hs_ticket_t *hbt_ticket(const hb_hall_state_t *s, const char *id)
{
    return s_must(hb_hall_state_ticket(s, id), "live ticket", id);
}

const hb_hs_counter_t *hbt_counter(const hb_hall_state_t *s, const char *id)
{
    return s_must(hb_hall_state_counter(s, id), "counter", id);
}

const hb_hs_service_t *hbt_service(const hb_hall_state_t *s, const char *code)
{
    return s_must(hb_hall_state_service(s, code), "service", code);
}

void hbt_state_invariants(const hb_hall_state_t *s)
{
    assert_true(s->n_tickets <= HB_HS_TICKETS_MAX && s->n_services <= HB_HS_SERVICES_MAX);
    assert_true(s->n_recent <= HB_HS_RECENT_MAX);
    for (size_t k = 0; k < s->n_services; k++) {
        uint32_t waiting = 0;
        for (size_t i = 0; i < s->n_tickets; i++)
            waiting += s->tickets[i].state == HB_TICKET_WAITING &&
                       strcmp(s->tickets[i].service, s->services[k].code) == 0;
        if (waiting != s->services[k].waiting)
            fail_msg("service %s counts %u waiting, %u tickets wait at seq %llu",
                     s->services[k].code, s->services[k].waiting, waiting,
                     (unsigned long long)s->seq);
    }
    for (size_t i = 0; i < s->n_tickets; i++) {
        const hb_hs_ticket_t *t = &s->tickets[i];
        assert_in_range(t->state, HB_TICKET_WAITING, HB_TICKET_SERVING);
        assert_non_null(hb_hall_state_service(s, t->service));
        if (t->state == HB_TICKET_WAITING)
            assert_string_equal(t->counter, "");
    }
    for (size_t i = 0; i < s->n_recent; i++)
        assert_in_range(s->recent[i].state, HB_TICKET_SERVED, HB_TICKET_CANCELLED);
    for (size_t k = 0; k < s->n_counters; k++) {
        const hb_hs_counter_t *c = &s->counters[k];
        if (c->state != HB_COUNTER_CALLING && c->state != HB_COUNTER_SERVING)
            continue;
        const hb_hs_ticket_t *t = hb_hall_state_ticket(s, c->ticket);
        if (!t || strcmp(t->counter, c->id) != 0)
            fail_msg("counter %s is %s without its ticket at seq %llu", c->id,
                     hb_counter_state_name(c->state), (unsigned long long)s->seq);
        assert_int_equal(t->state,
                         c->state == HB_COUNTER_CALLING ? HB_TICKET_CALLED : HB_TICKET_SERVING);
    }
}

/* A state with a bit of everything, for the snapshot's refusals and the
 * view. */
hb_hall_state_t *hbt_state_sample(int64_t t0)
{
    hb_hall_state_t *s = hb_hall_state_new();
    HBT_OK(s, t0,
           "{'type':'day_started','date':'2026-11-23','timezone':'Europe/"
           "Berlin','utc_offset_s':3600}");
    HBT_OK(s, t0, "{'type':'counter_opened','counter':'1','staff':'S01','services':['A']}");
    HBT_OK(s, t0, "{'type':'counter_opened','counter':'2','staff':'S02','services':['A','B']}");
    HBT_OK(s, t0, "{'type':'device_status','device':'kiosk-1','kind':'kiosk','state':'ok'}");
    HBT_OK(s, t0, "{'type':'ticket_issued','ticket':'A001','service':'A','number':1}");
    HBT_OK(s, t0 + 30 * EVENTS_SEC,
           "{'type':'ticket_issued','ticket':'A002','service':'A','priority':'vip','number':2}");
    HBT_OK(s, t0 + 60 * EVENTS_SEC, "{'type':'ticket_called','ticket':'A001','counter':'1'}");
    HBT_OK(s, t0 + 60 * EVENTS_SEC, "{'type':'counter_paused','counter':'2'}");
    char text[512];
    snprintf(text, sizeof text,
             "{'type':'complaint_opened','complaint':'K1','channel':'counter','category':'fees',"
             "'severity':'medium','ticket':'A001','ack_due_ms':%lld}",
             (long long)(t0 + 5 * (60 * EVENTS_SEC)));
    HBT_OK(s, t0 + 60 * EVENTS_SEC, text);
    HBT_OK(s, t0 + 70 * EVENTS_SEC,
           "{'type':'device_status','device':'kiosk-1','kind':'kiosk',"
           "'state':'paper_out','detail':'empty'}");
    HBT_OK(s, t0 + 80 * EVENTS_SEC, "{'type':'satisfaction_scored','ticket':'Z','score':5}");
    HBT_OK(s, t0 + 80 * EVENTS_SEC, "{'type':'satisfaction_scored','ticket':'Z','score':4}");
    HBT_OK(s, t0 + 80 * EVENTS_SEC, "{'type':'policy_applied','version':3}");
    return s;
}

/* docs/POLICY.md's worked example. */
static const char s_national[] =
    "{\"timezone\": \"Europe/Berlin\","
    " \"opening_hours\": {\"mon\": [\"09:00-17:00\"], \"tue\": [\"09:00-17:00\"],"
    "   \"wed\": [\"09:00-17:00\"], \"thu\": [\"09:00-17:00\"], \"fri\": [\"09:00-17:00\"],"
    "   \"sat\": [], \"sun\": []},"
    " \"special_days\": {\"2026-12-24\": {\"hours\": [\"09:00-12:00\"], \"note\": \"Christmas "
    "Eve\"},"
    "   \"2026-12-25\": {\"hours\": [], \"note\": \"Christmas Day\"}},"
    " \"sla\": {\"max_wait_s\": {\"*:*\": 1200, \"*:vip\": 300},"
    "   \"complaint_ack_s\": {\"*\": 14400, \"critical\": 3600}},"
    " \"diversion\": {\"threshold\": 25, \"echannels\": [\"app\", \"web\", \"sms\", \"phone\"]},"
    " \"campaigns\": {\"max_concurrent\": 3, \"lead_days\": 7, \"city_overlap\": \"warning\"}}";
static const char s_province[] =
    "{\"opening_hours\": {\"sat\": [\"09:00-12:00\"]},"
    " \"special_days\": {\"2026-10-03\": {\"hours\": [], \"note\": \"German Unity Day\"}},"
    " \"sla\": {\"max_wait_s\": {\"A:*\": 600}},"
    " \"campaigns\": {\"max_concurrent\": 2, \"city_overlap\": \"error\"},"
    " \"diversion\": {\"echannels\": [\"app\", \"phone\"]}}";
static const char s_city[] = "{\"special_days\": {\"2026-12-24\": {\"hours\": [\"09:00-13:00\"]}},"
                             " \"sla\": {\"max_wait_s\": {\"*:vip\": null}},"
                             " \"alerts\": {\"not_open_grace_s\": 600},"
                             " \"divert_to\": [\"H002\", \"H003\"]}";
static const char s_hall[] =
    "{\"opening_hours\": {\"mon\": [\"10:00-18:00\"], \"sat\": null},"
    " \"closures\": {\"renovation\": {\"from\": \"2027-01-11\", \"to\": \"2027-01-15\","
    "   \"notice\": \"Closed for works\", \"divert_to\": [\"H007\"]}},"
    " \"sla\": {\"max_wait_s\": {\"A:vip\": 240}},"
    " \"divert_to\": [\"H004\"]}";

const char *const hbt_policy_example[4] = {s_national, s_province, s_city, s_hall};

hb_policy_t *hbt_policy(const char *text) { return text ? hbt_policy_json(hbt_json(text)) : NULL; }

hb_policy_t *hbt_policy_json(json_t *doc)
{
    hb_policy_t *p = NULL;
    char err[512];
    if (hb_policy_new(doc, &p, err, sizeof err) != 0)
        fail_msg("policy refused: %s", err);
    json_decref(doc);
    return p;
}

org_t *hbt_org(const char *text)
{
    json_t *doc = hbt_json(text);
    org_t *org = NULL;
    char err[256] = "";
    if (org_from_json(doc, &org, err, sizeof err) != 0)
        fail_msg("the organisation fixture is refused: %s", err);
    json_decref(doc);
    return org;
}

Hallbus__Envelope *hbt_sim_next(hb_sim_hall_t *h, int64_t *t)
{
    json_t *ev = NULL;
    int rc = hb_sim_next(h, t, &ev);
    if (rc == HB_ECLOSED)
        return NULL;
    assert_int_equal(rc, 0);
    char err[256] = "";
    Hallbus__Envelope *env = NULL;
    if (hb_event_from_json(ev, *t, 0, &env, err, sizeof err) != 0)
        fail_msg("sim event refused: %s", err);
    json_decref(ev);
    return env;
}

bool hbt_simdrive_next(hb_simdrive_t *d, hb_sd_request_t *req)
{
    for (int i = 0; i < 100000; i++) {
        int rc = hb_simdrive_next(d, hb_simdrive_due(d), req);
        if (rc == HB_ECLOSED)
            return false;
        if (rc != HB_EAGAIN) {
            assert_int_equal(rc, 0);
            return true;
        }
    }
    fail_msg("the driver had nothing due 100,000 times running");
    return false;
}

hbt_day_t hbt_sim_day(uint64_t seed, int hall, int64_t open_ms)
{
    hbt_day_t d = {0};
    size_t cap = 1024;
    d.envs = malloc(cap * sizeof *d.envs);
    assert_non_null(d.envs);
    char date[HB_RFC3339_MAX];
    hb_time_format(open_ms, date);
    date[10] = '\0';
    char text[256];
    snprintf(text, sizeof text,
             "{'type':'day_started','date':'%s','timezone':'UTC','utc_offset_s':0}", date);
    d.envs[d.n++] = hbt_event(open_ms - 9 * 3600 * 1000LL, text);
    hb_sim_hall_t *h = hb_sim_hall_new(seed, hall, open_ms);
    assert_non_null(h);
    int64_t t = 0;
    for (Hallbus__Envelope *env; (env = hbt_sim_next(h, &t));) {
        if (d.n == cap) {
            cap *= 2;
            d.envs = realloc(d.envs, cap * sizeof *d.envs);
            assert_non_null(d.envs);
        }
        d.envs[d.n++] = env;
    }
    hb_sim_hall_stats(h, &d.stats);
    hb_sim_hall_destroy(&h);
    for (size_t i = 0; i < d.n; i++)
        d.envs[i]->seq = i + 1;
    return d;
}

void hbt_day_free(hbt_day_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        hb_envelope_free(d->envs[i]);
    free(d->envs);
    d->envs = NULL;
    d->n = 0;
}
