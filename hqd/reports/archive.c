/* The archive (see archive.h). Events are matched by their fields' names
 * through protobuf-c's descriptors, so a filter applies to every kind that
 * has the field ("ticket" is on tickets, calls, services, scores and
 * complaints), and a kind added to the .proto is searchable as it is. */
#include "archive.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <string.h>

int hq_archive_type_parse(const char *name)
{
    const ProtobufCMessageDescriptor *d = &hallbus__envelope__descriptor;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE && strcmp(d->fields[i].name, name) == 0)
            return (int)d->fields[i].id;
    return 0;
}

/* The string field `name` of the event's body, or NULL when it has none. */
static const char *s_field(const Hallbus__Envelope *env, const char *name)
{
    const ProtobufCFieldDescriptor *bf = protobuf_c_message_descriptor_get_field(
        &hallbus__envelope__descriptor, (unsigned)env->body_case);
    if (!bf || bf->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    const ProtobufCMessage *body = *(ProtobufCMessage *const *)((const char *)env + bf->offset);
    if (!body)
        return NULL;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(body->descriptor, name);
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return *(const char *const *)((const char *)body + f->offset);
}

static bool s_is(const Hallbus__Envelope *env, const char *name, const char *want)
{
    const char *v = s_field(env, name);
    return v && strcmp(v, want) == 0;
}

static bool s_match(const Hallbus__Envelope *env, const hq_archive_query_t *q)
{
    if (q->type && (int)env->body_case != q->type)
        return false;
    if (q->ticket && !s_is(env, "ticket", q->ticket))
        return false;
    if (q->business && !s_is(env, "business_type", q->business))
        return false;
    /* Staff appear as "staff" (opening a counter, starting a service) and
     * "by" (acknowledging a complaint). */
    if (q->staff && !s_is(env, "staff", q->staff) && !s_is(env, "by", q->staff))
        return false;
    if (q->complaint && !s_is(env, "complaint", q->complaint))
        return false;
    return true;
}

static json_t *s_event_json(const Hallbus__Envelope *env, int32_t day)
{
    json_t *o = hb_event_to_json(env);
    if (o)
        json_object_set_new(o, "local_date", hb_json_date(day));
    return o;
}

/* The stream range of days [from, to] by the day index. */
static int s_range(ru_store_t *rs, uint32_t hall, int32_t from, int32_t to, uint64_t *lo,
                   uint64_t *hi)
{
    *lo = UINT64_MAX;
    *hi = 0;
    MDB_txn *txn;
    if (ru_store_read_begin(rs, &txn) != 0)
        return HB_EDB;
    MDB_cursor *cur;
    int rc = 0;
    if (mdb_cursor_open(txn, rs->days, &cur) == 0) {
        uint8_t k0[8];
        ru_dayidx_key(hall, from, k0);
        MDB_val k = {8, k0}, v;
        int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (g == 0 && k.mv_size == 8 && hb_get_be32(k.mv_data) == hall) {
            int32_t day = (int32_t)(hb_get_be32((const uint8_t *)k.mv_data + 4) ^ 0x80000000u);
            if (day > to)
                break;
            ru_dayidx_t d;
            if (ru_dayidx_decode(v.mv_data, v.mv_size, &d) == 0) {
                if (d.first < *lo)
                    *lo = d.first;
                if (d.last > *hi)
                    *hi = d.last;
            }
            g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (g != 0 && g != MDB_NOTFOUND)
            rc = HB_EDB;
        mdb_cursor_close(cur);
    } else {
        rc = HB_EDB;
    }
    ru_store_read_end(rs, txn);
    if (*hi == 0)
        *lo = 0;
    return rc;
}

typedef struct scan {
    const hq_archive_query_t *q;
    json_t *events;
    uint64_t hi, next, scanned, max_scan;
    size_t found;
    bool full;
} scan_t;

static int s_scan_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    scan_t *s = arg;
    if (seq > s->hi)
        return 1;
    if (s->scanned >= s->max_scan || s->found >= s->q->limit) {
        s->next = seq;
        s->full = true;
        return 1;
    }
    s->scanned++;
    s->next = seq + 1;
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    if (!env)
        return 0;
    int32_t day = hb_tz_local_day(s->q->tz, env->at_ms);
    if (day >= s->q->from && day <= s->q->to && s_match(env, s->q)) {
        json_array_append_new(s->events, s_event_json(env, day));
        s->found++;
    }
    hb_envelope_free(env);
    return 0;
}

int hq_archive_search(ru_store_t *rs, hq_store_t *events, const hq_archive_query_t *q,
                      hq_archive_page_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    uint64_t lo, hi;
    int rc = s_range(rs, q->hall, q->from, q->to, &lo, &hi);
    if (rc != 0) {
        hb_errf(err, errlen, "the day index cannot be read");
        return rc;
    }
    out->first = lo;
    out->last = hi;
    out->events = json_array();
    uint64_t start = lo;
    if (q->cursor) {
        if (!hi || q->cursor < lo || q->cursor > hi) {
            json_decref(out->events);
            out->events = NULL;
            hb_errf(err, errlen, "cursor %llu is not in this search's range %llu..%llu",
                    (unsigned long long)q->cursor, (unsigned long long)lo, (unsigned long long)hi);
            return HB_EINVAL;
        }
        start = q->cursor;
    }
    if (!hi)
        return 0;
    scan_t s = {
        .q = q, .events = out->events, .hi = hi, .next = start, .max_scan = HQ_ARCHIVE_SCAN_MAX};
    /* In pages, so one read transaction stays short. */
    while (!s.full && s.next <= hi) {
        uint64_t at = s.next;
        rc = hq_store_read_events(events, q->hall, at, 4096, s_scan_cb, &s);
        if (rc != 0) {
            json_decref(out->events);
            out->events = NULL;
            hb_errf(err, errlen, "the events cannot be read: %s", hb_strerror(rc));
            return rc;
        }
        if (s.next == at)
            break; /* nothing there (past retention) */
    }
    out->scanned = s.scanned;
    out->next = s.full && s.next <= hi ? s.next : 0;
    return 0;
}

/* ------------------------------------------------------------ stories ---- */

#define STORY_COMPLAINTS_MAX 16

typedef struct story {
    const char *ticket;
    const hb_tz_t *tz;
    int32_t day;
    uint64_t hi;
    json_t *events;
    char complaints[STORY_COMPLAINTS_MAX][HB_ID_MAX + 1];
    size_t n_complaints;
    uint64_t scanned;
    bool issued_seen, follow; /* the second pass: after the day */
} story_t;

static bool s_story_complaint(const story_t *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_complaints; i++)
        if (strcmp(s->complaints[i], id) == 0)
            return true;
    return false;
}

static int s_story_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    story_t *s = arg;
    if (seq > s->hi || s->scanned >= HQ_ARCHIVE_SCAN_MAX)
        return 1;
    s->scanned++;
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    if (!env)
        return 0;
    int32_t day = hb_tz_local_day(s->tz, env->at_ms);
    bool mine = s_is(env, "ticket", s->ticket);
    /* The same number issued again (the next day) starts another story. */
    if (mine && env->body_case == HALLBUS__ENVELOPE__BODY_TICKET_ISSUED && day != s->day)
        mine = false;
    if (mine && !s->follow && day != s->day)
        mine = false;
    bool about = s_story_complaint(s, s_field(env, "complaint"));
    if (mine || about) {
        if (mine && env->body_case == HALLBUS__ENVELOPE__BODY_COMPLAINT_OPENED &&
            s->n_complaints < STORY_COMPLAINTS_MAX) {
            const char *id = s_field(env, "complaint");
            if (id && id[0] && !s_story_complaint(s, id))
                snprintf(s->complaints[s->n_complaints++], HB_ID_MAX + 1, "%s", id);
        }
        json_t *o = s_event_json(env, day);
        json_object_set_new(o, "seq", json_integer((json_int_t)seq));
        json_array_append_new(s->events, o);
    }
    hb_envelope_free(env);
    return 0;
}

static int s_story_scan(hq_store_t *events, uint32_t hall, uint64_t lo, uint64_t hi, story_t *s)
{
    s->hi = hi;
    uint64_t next = lo;
    while (next <= hi && s->scanned < HQ_ARCHIVE_SCAN_MAX) {
        uint64_t before = s->scanned;
        int rc = hq_store_read_events(events, hall, next, 4096, s_story_cb, s);
        if (rc != 0)
            return rc;
        if (s->scanned == before)
            break;
        next += s->scanned - before;
    }
    return 0;
}

/* A summary of the story from its events' JSON: what happened to the
 * ticket, field by field, as the last event of each kind said it. */
static json_t *s_summary(json_t *events)
{
    static const struct {
        const char *type, *at_name;
        const char *const fields[6];
    } rows[] = {
        {"ticket_issued", "issued_at", {"service", "priority", "source"}},
        {"ticket_called", "called_at", {"counter", "wait_s", "rule"}},
        {"service_started", "started_at", {"staff"}},
        {"service_completed",
         "completed_at",
         {"business_type", "outcome", "amount", "currency", "duration_s"}},
        {"ticket_no_show", "no_show_at", {"recall_count"}},
        {"ticket_cancelled", "cancelled_at", {"reason"}},
        {"satisfaction_scored", "scored_at", {"score"}},
    };
    json_t *sum = json_object(), *transfers = json_array();
    size_t i;
    json_t *ev;
    int recalls = 0;
    json_array_foreach (events, i, ev) {
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (!type)
            continue;
        if (strcmp(type, "ticket_recalled") == 0)
            recalls++;
        if (strcmp(type, "ticket_transferred") == 0)
            json_array_append_new(transfers,
                                  json_pack("{s:O, s:O, s:O}", "at", json_object_get(ev, "at"),
                                            "from_service", json_object_get(ev, "from_service"),
                                            "to_service", json_object_get(ev, "to_service")));
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            if (strcmp(type, rows[r].type) != 0)
                continue;
            /* The first call is the wait; later calls do not replace it. */
            if (strcmp(type, "ticket_called") == 0 && json_object_get(sum, "called_at"))
                break;
            json_object_set(sum, rows[r].at_name, json_object_get(ev, "at"));
            for (size_t f = 0; f < 6 && rows[r].fields[f]; f++) {
                json_t *v = json_object_get(ev, rows[r].fields[f]);
                if (v)
                    json_object_set(sum, rows[r].fields[f], v);
            }
        }
    }
    json_object_set_new(sum, "recalls", json_integer(recalls));
    json_object_set_new(sum, "transfers", transfers);
    return sum;
}

int hq_archive_ticket(ru_store_t *rs, hq_store_t *events, uint32_t hall, const char *hall_id,
                      const hb_tz_t *tz, int32_t day, const char *ticket, json_t **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    uint64_t lo, hi, flo, fhi;
    int rc = s_range(rs, hall, day, day, &lo, &hi);
    if (rc == 0 && hi)
        rc = s_range(rs, hall, day + 1, day + HQ_ARCHIVE_FOLLOW_DAYS, &flo, &fhi);
    if (rc != 0) {
        hb_errf(err, errlen, "the day index cannot be read");
        return rc;
    }
    char date[11];
    hb_date_format(day, date);
    if (!hi) {
        hb_errf(err, errlen, "hall %s has no event on %s", hall_id, date);
        return HB_ENOTFOUND;
    }
    story_t s = {.ticket = ticket, .tz = tz, .day = day, .events = json_array()};
    rc = s_story_scan(events, hall, lo, hi, &s);
    if (rc == 0 && json_array_size(s.events) == 0) {
        json_decref(s.events);
        hb_errf(err, errlen, "hall %s has no event of ticket %s on %s", hall_id, ticket, date);
        return HB_ENOTFOUND;
    }
    /* Then what came later of it: a score after midnight, its complaints. */
    if (rc == 0 && fhi > hi) {
        s.follow = true;
        rc = s_story_scan(events, hall, hi + 1, fhi, &s);
    }
    if (rc != 0) {
        json_decref(s.events);
        hb_errf(err, errlen, "the events cannot be read: %s", hb_strerror(rc));
        return rc;
    }
    json_t *complaints = json_array();
    for (size_t i = 0; i < s.n_complaints; i++)
        json_array_append_new(complaints, json_string(s.complaints[i]));
    *out = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "hall", hall_id, "date", date, "ticket",
                     ticket, "summary", s_summary(s.events), "complaints", complaints, "events",
                     s.events, "complete", s.scanned < HQ_ARCHIVE_SCAN_MAX);
    return 0;
}
