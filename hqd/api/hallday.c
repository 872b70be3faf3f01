/* A hall's day at HQ (docs/API.md, "At HQ"): the duty manager's records
 * and the day report, read from the hall's stored events with the same
 * reader the hall uses (day.h), so HQ's answer is the hall's. Not the live
 * view (live.c) nor the reports' rollups (reports.c). */
#include "api.h"

#include "hallbus/codec.h"
#include "hallbus/day.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <string.h>

#define DAY_BATCH 1000
/* Events are read from this long before the day's midnight (UTC, moved by
 * the hall's offset), so that what was open when the day began is known. */
#define DAY_LEAD_MS (36LL * 3600 * 1000)

typedef struct first_event {
    uint64_t seq;
    int64_t at_ms;
    bool found;
} first_event_t;

static int s_first_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    first_event_t *f = arg;
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    f->seq = seq;
    f->at_ms = env ? env->at_ms : 0;
    f->found = true;
    hb_envelope_free(env);
    return 1;
}

/* The last sequence whose event is before `t` (1 when none): a binary
 * search over the stored stream, whose times grow with the sequence. */
static uint64_t s_seq_before(hqd_t *hq, const hq_hall_t *h, int64_t t)
{
    uint64_t lo = 1, hi = h->committed_seq;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        first_event_t f = {0};
        if (hq_store_read_events(&hq->store, h->num, mid, 1, s_first_cb, &f) != 0 || !f.found)
            break;
        if (f.at_ms < t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

void hqd_api_get_hall_day(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_hall_t *h = hqd_api_path_hall(hq, req);
    if (!h)
        return;
    /* The hall's offset and today, from its mirror. */
    int32_t offset_s = 0;
    char today[11] = "";
    hq_live_read_lock(hq->live);
    const hb_hall_state_t *st = hq_live_state(hq->live, h->num);
    if (st) {
        offset_s = st->utc_offset_s;
        memcpy(today, st->today.date, sizeof today);
    }
    hq_live_read_unlock(hq->live);
    char date[16];
    int32_t days;
    int q = hb_http_query(req, "date", date, sizeof date);
    if (q == HB_ENOTFOUND && today[0]) {
        memcpy(date, today, sizeof today);
    } else if (q == HB_ENOTFOUND) {
        /* Nothing mirrored yet: the UTC day (nothing will be found). */
        int64_t local = hb_now_ms() + (int64_t)offset_s * 1000;
        hb_date_format((int32_t)(local / 86400000LL), date);
    } else if (q != 0 || hb_date_parse(date, &days) != 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "date must be YYYY-MM-DD");
        return;
    }
    hb_date_parse(date, &days);
    int64_t midnight = (int64_t)days * 86400000LL - (int64_t)offset_s * 1000;
    hb_day_reader_t c = {.day = hb_day_new(date),
                         .next = s_seq_before(hq, h, midnight - DAY_LEAD_MS)};
    if (!c.day) {
        hb_http_reply_error(req, 503, "storage", "out of memory");
        return;
    }
    while (c.rc == 0 && c.next <= h->committed_seq && !hb_day_over(c.day)) {
        uint64_t from = c.next;
        int rc = hq_store_read_events(&hq->store, h->num, from, DAY_BATCH, hb_day_read_event, &c);
        if (rc != 0 || c.next == from) {
            c.rc = rc;
            break;
        }
    }
    if (c.rc != 0) {
        hb_day_destroy(&c.day);
        hb_http_reply_error(req, 500, "storage", "cannot read the events: %s", hb_strerror(c.rc));
        return;
    }
    if (!hb_day_seen(c.day)) {
        hb_day_destroy(&c.day);
        hb_http_reply_error(req, 404, "not_found", "HQ holds no events of hall %s on %s", h->id,
                            date);
        return;
    }
    json_t *o =
        json_pack("{s:s, s:s, s:o, s:o}", "hall", h->id, "date", date, "day", hb_day_records(c.day),
                  "report", hb_day_report(c.day, h->id, hb_now_ms()));
    hb_day_destroy(&c.day);
    hb_http_reply_json(req, 200, o);
}

/* A hall's bookings of a day, from its mirrored state: the open ones and
 * the day's finished ones (the reducer keeps those until the next day). */
void hqd_api_get_hall_appointments(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_hall_t *h = hqd_api_path_hall(hq, req);
    if (!h)
        return;
    char date[16];
    int32_t day = -1;
    int q = hb_http_query(req, "date", date, sizeof date);
    if (q != HB_ENOTFOUND && (q != 0 || hb_date_parse(date, &day) != 0)) {
        hb_http_reply_error(req, 400, "bad_parameter", "date must be YYYY-MM-DD");
        return;
    }
    hq_live_read_lock(hq->live);
    const hb_hall_state_t *st = hq_live_state(hq->live, h->num);
    json_t *arr = json_array();
    char today[11] = "";
    if (st) {
        memcpy(today, st->today.date, sizeof today);
        if (day < 0 && hb_date_parse(today, &day) != 0)
            day = -1;
        /* The hall's local day of a booking, by its offset as mirrored. */
        int64_t off = (int64_t)st->utc_offset_s * 1000;
        for (size_t i = 0; i < st->n_appointments; i++) {
            int64_t local = st->appointments[i].start_ms + off;
            int32_t d = (int32_t)((local >= 0 ? local : local - 86399999) / 86400000LL);
            if (d == day)
                json_array_append_new(arr, hb_appointment_json(&st->appointments[i]));
        }
    }
    hq_live_read_unlock(hq->live);
    if (day < 0) {
        json_decref(arr);
        hb_http_reply_error(req, 404, "not_found", "hall '%s' has no day mirrored yet", h->id);
        return;
    }
    hb_date_format(day, date);
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:s, s:I, s:o}", "hall", h->id, "date", date, "count",
                                 (json_int_t)json_array_size(arr), "appointments", arr));
}
