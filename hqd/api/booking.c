/* HQ's POST /v1/appointments (docs/API.md, "Appointments", "At HQ"): a
 * booking for the app and the web hall, checked here (the body's members,
 * the hall in the caller's scope, the hall connected and able to book) and
 * sent to the hall over the link (link/bookings.h), whose engine decides
 * by the same rules as a booking made at the hall. The HTTP request is
 * deferred meanwhile and answered with the hall's own answer, or 504 when
 * none came within the timeout; the loop never waits.
 *
 * An Idempotency-Key header (or `request_id` in the body) makes a retry
 * safe: the hall is given a digest of the caller and the key, and answers
 * the same key with the same booking. Not here: the rules of a booking
 * (the hall's engine), nor the bookings HQ reads back (hallday.c). */
#include "api.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/names.h"
#include "hallbus/time.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define BOOKING_KEY_MAX 64    /* an idempotency key: printable ASCII, 1..64 */
#define BOOKING_DIGEST 16     /* bytes of the digest the hall keeps, as 32 hex digits */
#define BOOKING_BODY_MAX 8192 /* the hall's answer body passed on */

typedef struct booking_ctx {
    hb_http_deferred_t *d;
    char hall[HB_HALL_ID_MAX];
    int64_t timeout_ms;
} booking_ctx_t;

static bool s_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > BOOKING_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return false;
    return true;
}

/* The members a body may have, and the rule of each. */
typedef enum member_rule { RULE_HALL, RULE_ID, RULE_TIME, RULE_CHANNEL, RULE_KEY } member_rule_t;
typedef struct member {
    const char *name;
    bool required;
    member_rule_t rule;
    const char *words; /* what the refusal says it must be */
} member_t;

static const member_t s_members[] = {
    {"hall", true, RULE_HALL, "must be a hall id ([A-Za-z0-9_-], 1 to 32)"},
    {"service", true, RULE_ID, "must be a service code ([A-Za-z0-9_.-], 1 to 64)"},
    {"start", true, RULE_TIME,
     "must be the slot's start as an RFC 3339 time (2026-12-02T09:30:00Z)"},
    {"staff", false, RULE_ID, "must be a staff id ([A-Za-z0-9_.-], 1 to 64), or null for any"},
    {"channel", false, RULE_CHANNEL, "must be \"app\", \"web\" or \"phone\""},
    {"request_id", false, RULE_KEY, "must be 1 to 64 printable ASCII characters"},
};
#define MEMBERS (sizeof s_members / sizeof s_members[0])

/* A channel by its .proto name (codec.h); "hall" is not one a booking
 * through HQ may name. 0 for any other name. */
static int s_channel(const char *name)
{
    int value;
    if (hb_enum_parse(&hallbus__booking_channel__descriptor, name, &value, NULL, 0) != 0 ||
        value == HALLBUS__BOOKING_CHANNEL__BOOKING_CHANNEL_HALL)
        return 0;
    return value;
}

/* Whether member `m`'s value `v` keeps its rule. */
static bool s_member_ok(const member_t *m, const json_t *v)
{
    if (json_is_null(v) && !m->required)
        return true;
    const char *s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v))
        return false;
    int64_t t;
    switch (m->rule) {
    case RULE_HALL: return hb_hall_id_valid(s);
    case RULE_ID: return hb_id_chars_ok(s, HB_ID_MAX, ".");
    case RULE_TIME: return hb_time_parse(s, &t) == 0;
    case RULE_CHANNEL: return s_channel(s) != 0;
    case RULE_KEY: return s_key_ok(s);
    }
    return false;
}

/* The body, every member checked; NULL after answering 400. */
static json_t *s_body(hb_http_req_t *req)
{
    json_error_t jerr;
    json_t *b = req->body_len ? json_loadb(req->body, req->body_len, 0, &jerr) : NULL;
    if (!b || !json_is_object(b)) {
        const char *why = b ? "" : req->body_len ? jerr.text : "it is empty";
        hb_http_reply_error(req, 400, "bad_json",
                            "the body must be a JSON object {\"hall\", \"service\", \"start\", "
                            "...}%s%s",
                            why[0] ? ": " : "", why);
        json_decref(b);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach (b, key, v) {
        if (HB_ROW_FIND(s_members, MEMBERS, key) == MEMBERS) {
            hb_http_reply_field_error(req, 400, "bad_field", key,
                                      "%s: is not a member of a booking (hall, service, start, "
                                      "staff, channel, request_id)",
                                      key);
            json_decref(b);
            return NULL;
        }
    }
    for (size_t i = 0; i < MEMBERS; i++) {
        const member_t *m = &s_members[i];
        v = json_object_get(b, m->name);
        if (!v && m->required) {
            hb_http_reply_field_error(req, 400, "bad_field", m->name, "%s: is missing; it %s",
                                      m->name, m->words);
            json_decref(b);
            return NULL;
        }
        if (v && !s_member_ok(m, v)) {
            hb_http_reply_field_error(req, 400, "bad_field", m->name, "%s: %s", m->name, m->words);
            json_decref(b);
            return NULL;
        }
    }
    return b;
}

/* The idempotency key (the header, or request_id), or "" for none; false
 * after answering 400. */
static bool s_key(hb_http_req_t *req, const json_t *b, char key[BOOKING_KEY_MAX + 1])
{
    char h[BOOKING_KEY_MAX + 2];
    int rc = hb_http_header(req, "idempotency-key", h, sizeof h);
    const char *body_key = json_string_value(json_object_get(b, "request_id"));
    if (rc == HB_ETOOBIG || (rc == 0 && !s_key_ok(h))) {
        hb_http_reply_field_error(req, 400, "bad_field", "Idempotency-Key",
                                  "Idempotency-Key: must be 1 to 64 printable ASCII characters");
        return false;
    }
    if (rc == 0 && body_key && strcmp(h, body_key) != 0) {
        hb_http_reply_field_error(req, 400, "bad_field", "request_id",
                                  "request_id: differs from the Idempotency-Key header; give one "
                                  "of them");
        return false;
    }
    snprintf(key, BOOKING_KEY_MAX + 1, "%s", rc == 0 ? h : body_key ? body_key : "");
    return true;
}

/* The digest the hall keeps for `caller`'s `key`: one caller's key never
 * finds another's booking. */
static void s_digest(const char *caller, const char *key, char out[2 * BOOKING_DIGEST + 1])
{
    uint8_t d[BOOKING_DIGEST];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof d);
    crypto_generichash_update(&st, (const uint8_t *)caller, strlen(caller) + 1);
    crypto_generichash_update(&st, (const uint8_t *)key, strlen(key));
    crypto_generichash_final(&st, d, sizeof d);
    sodium_bin2hex(out, 2 * BOOKING_DIGEST + 1, d, sizeof d);
}

static void s_done(void *arg, const hq_booking_result_t *res)
{
    booking_ctx_t *c = arg;
    hb_http_req_t *req = hb_http_deferred_req(c->d);
    if (req && res->status == 0) {
        hb_http_reply_error(req, 504, "hall_timeout",
                            "hall %s did not answer within %lld ms; ask again with the same "
                            "Idempotency-Key to learn whether it booked",
                            c->hall, (long long)c->timeout_ms);
    } else if (req) {
        json_t *body =
            strlen(res->body) <= BOOKING_BODY_MAX ? json_loads(res->body, 0, NULL) : NULL;
        if (!json_is_object(body) || res->status < 200 || res->status > 599) {
            json_decref(body);
            hb_http_reply_error(req, 502, "bad_hall_answer",
                                "hall %s answered with something that is not a booking's answer",
                                c->hall);
        } else {
            json_object_set_new(body, "hall", json_string(c->hall));
            if (res->replayed)
                hb_http_add_header(req, "Idempotent-Replayed", "true");
            hb_http_reply_json(req, res->status, body);
        }
    }
    hb_http_deferred_free(&c->d);
    free(c);
}

void hqd_api_post_appointment(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    json_t *b = s_body(req);
    char key[BOOKING_KEY_MAX + 1];
    if (!b || !s_key(req, b, key)) {
        json_decref(b);
        return;
    }
    /* A copy: the body is dropped on every refusal below, before the
     * refusal names the hall. s_body checked it is a hall id. */
    char id[HB_HALL_ID_MAX];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(b, "hall")));
    hq_auth_note_object(req, id);
    /* Scope first: a caller who may not book there learns nothing of the
     * hall, not even whether it exists. */
    const hq_view_t *v = hqd_api_view(req, HB_PERM_APPOINTMENT_BOOK);
    if (!v) {
        json_decref(b);
        return;
    }
    const org_t *org = hq_control_org(hq->control);
    if (!hq_view_hall(v, org, id)) {
        hq_auth_forbid(req, HB_PERM_APPOINTMENT_BOOK, "hall %s", id);
        json_decref(b);
        return;
    }
    hq_hall_t *h = hq_halls_find(hq->halls, id);
    if (!h && !org_hall_find(org, id)) {
        hb_http_reply_error(req, 404, "not_found",
                            "no hall '%s' is known to head office (not in the organisation, never "
                            "connected)",
                            id);
        json_decref(b);
        return;
    }
    if (!h || !hq_ingest_hall_online(hq->ingest, h)) {
        json_decref(b);
        hb_http_add_header(req, "Retry-After", "60");
        hb_http_reply_error(req, 503, "hall_offline",
                            "hall %s is not connected to head office now; offer another hall or "
                            "time, or ask again later",
                            id);
        return;
    }
    if (!h->takes_bookings) {
        json_decref(b);
        hb_http_reply_error(req, 501, "hall_unsupported",
                            "hall %s runs a branchd that takes no bookings through head office "
                            "(older than this HQ); book at the hall until it is upgraded",
                            id);
        return;
    }
    char digest[2 * BOOKING_DIGEST + 1] = "";
    if (key[0])
        s_digest(hq_auth_name(req), key, digest);
    int64_t start = 0;
    hb_time_parse(json_string_value(json_object_get(b, "start")), &start);
    const char *channel = json_string_value(json_object_get(b, "channel"));
    const char *staff = json_string_value(json_object_get(b, "staff"));
    Hallbus__BookingRequest rq = HALLBUS__BOOKING_REQUEST__INIT;
    rq.service = (char *)json_string_value(json_object_get(b, "service"));
    rq.start_ms = start;
    rq.staff = (char *)(staff ? staff : "");
    rq.channel = channel ? s_channel(channel) : HALLBUS__BOOKING_CHANNEL__BOOKING_CHANNEL_APP;
    rq.idempotency = digest;
    booking_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(b);
        hb_http_reply_error(req, 503, "no_memory", "cannot book now");
        return;
    }
    snprintf(c->hall, sizeof c->hall, "%s", id);
    c->timeout_ms = hq_bookings_timeout_ms(hq->bookings);
    c->d = hb_http_defer(req);
    if (!c->d) {
        json_decref(b);
        free(c); /* a 503 was sent */
        return;
    }
    int rc = hq_bookings_send(hq->bookings, h, &rq, s_done, c);
    if (rc == 0) {
        json_decref(b);
        return; /* `c` is s_done's now, which may have run already */
    }
    hb_http_req_t *r = hb_http_deferred_req(c->d);
    if (r) {
        hb_http_add_header(r, "Retry-After", "5");
        if (rc == HB_ETOOBIG)
            hb_http_reply_error(r, 503, "busy",
                                "%d bookings are waiting for their halls' answers; ask again "
                                "shortly",
                                HQ_BOOKINGS_MAX);
        else
            hb_http_reply_error(r, 503, "hall_offline",
                                "the link to hall %s cannot take the request now (%s)", id,
                                hb_strerror(rc));
    }
    json_decref(b);
    hb_http_deferred_free(&c->d);
    free(c);
}
