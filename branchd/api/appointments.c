/* The appointment routes of the hall (docs/API.md, "Appointments"): a
 * service's slots of a day, booking, the day's book, one booking,
 * check-in (which issues the appointment ticket, answered as POST
 * /v1/tickets) and cancelling; and the same booking asked by HQ over the
 * link for the app and the web (BookingRequest), answered with what this
 * API answers. The rules are the engine's (engine/appointments.c); here
 * are bodies, dates and answers. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

static json_t *s_time(int64_t ms)
{
    char t[HB_RFC3339_MAX];
    hb_time_format(ms, t);
    return json_string(t);
}

/* The day asked for (?date=, default the hall's today) as days since the
 * epoch; answers the refusal itself. */
static int s_date(branchd_t *d, hb_http_req_t *req, int32_t *day, char date[11])
{
    char text[16];
    int q = hb_http_query(req, "date", text, sizeof text);
    if (q == HB_ENOTFOUND) {
        *day = hb_tz_local_day(engine_policy(d->engine)->tz, hb_now_ms());
    } else if (q != 0 || hb_date_parse(text, day) != 0) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_parameter", "date must be YYYY-MM-DD");
        return HB_EINVAL;
    }
    hb_date_format(*day, date);
    return 0;
}

void branchd_api_get_slots(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char service[HB_HS_ID + 1], date[11];
    int32_t day;
    if (hb_http_query(req, "service", service, sizeof service) != 0) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_parameter", "service=CODE is required");
        return;
    }
    if (s_date(d, req, &day, date) != 0)
        return;
    engine_slots_t *sl = malloc(sizeof *sl);
    char err[256] = "out of memory";
    int rc = sl ? engine_appt_slots(d->engine, service, day, sl, err, sizeof err) : HB_ENOMEM;
    if (rc != 0) {
        free(sl);
        /* Not an action: the engine's last refusal name is not this one's. */
        if (rc == HB_EINVAL)
            branchd_api_bad_request(d, req, err);
        else
            hb_http_reply_error(req, 503, "storage", "%s", err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < sl->n; i++) {
        const engine_slot_t *s = &sl->slots[i];
        int64_t free_n = sl->capacity - (int64_t)s->booked;
        json_array_append_new(arr, json_pack("{s:o, s:o, s:i, s:I}", "start", s_time(s->start_ms),
                                             "end", s_time(s->end_ms), "booked", (int)s->booked,
                                             "free", (json_int_t)(free_n > 0 ? free_n : 0)));
    }
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "service", service, "date", date,
                                 "slot_s", (json_int_t)sl->slot_s, "capacity",
                                 (json_int_t)sl->capacity, "no_show_after_s",
                                 (json_int_t)sl->no_show_after_s, "slots", arr));
    free(sl);
}

typedef struct staff_find {
    const char *id;
    bool found;
} staff_find_t;

static void s_staff_cb(const char *id, int64_t added_ms, void *arg)
{
    (void)added_ms;
    staff_find_t *f = arg;
    if (strcmp(id, f->id) == 0)
        f->found = true;
}

/* Books through the engine after the one check the engine cannot make
 * (the staff named is enrolled here). HB_EINVAL for that, with the
 * engine's last refusal name cleared so that it is answered bad_request. */
static int s_book(branchd_t *d, const char *service, int64_t start, const char *staff, int channel,
                  const char *request, char code[HB_HS_ID], bool *replayed, char *err,
                  size_t errlen)
{
    if (staff && staff[0]) {
        staff_find_t f = {.id = staff};
        if (d->access)
            access_staff_list(d->access, s_staff_cb, &f);
        if (!f.found) {
            engine_refusal_clear(d->engine);
            hb_errf(err, errlen, "no staff '%.64s' is enrolled at this hall", staff);
            return HB_EINVAL;
        }
    }
    return engine_appt_book(d->engine, service, start, staff, channel, request, code, replayed, err,
                            errlen);
}

void branchd_api_post_appointment(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"service", JSON_STRING, true},
                                      {"start", JSON_STRING, true},
                                      {"staff", JSON_STRING, false},
                                      {"channel", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    int channel = HALLBUS__BOOKING_CHANNEL__BOOKING_CHANNEL_HALL;
    if (!b || branchd_api_enum(d, req, b, "channel", &hallbus__booking_channel__descriptor,
                               &channel) != 0) {
        json_decref(b);
        return;
    }
    char err[512];
    int64_t start = 0;
    if (hb_time_parse(branchd_api_str(b, "start"), &start) != 0) {
        json_decref(b);
        branchd_api_bad_request(d, req, "start must be an RFC 3339 time (2026-12-02T09:30:00Z)");
        return;
    }
    char code[HB_HS_ID];
    bool replayed;
    int rc = s_book(d, branchd_api_str(b, "service"), start, branchd_api_str(b, "staff"), channel,
                    NULL, code, &replayed, err, sizeof err);
    json_decref(b);
    if (rc != 0) {
        branchd_api_refuse(d, req, rc, err);
        return;
    }
    const hb_hs_appointment_t *bk = hb_hall_state_appointment(engine_state(d->engine), code);
    hb_http_reply_json(req, 201, hb_appointment_json(bk));
}

/* The answer of a booking asked by HQ, as POST /v1/appointments gives it. */
static void s_answer_hq(branchd_t *d, uint64_t request, int status, const char *error, json_t *body,
                        bool replayed)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    Hallbus__BookingAnswer a = HALLBUS__BOOKING_ANSWER__INIT;
    a.request = request;
    a.status = text ? (uint32_t)status : 503;
    a.error = (char *)(text ? error : "storage");
    a.body = text ? text : "{\"error\":\"storage\",\"reason\":\"out of memory\"}";
    a.replayed = replayed;
    int rc = uplink_send_booking_answer(d->uplink, &a);
    if (rc != 0)
        /* HQ answers its caller 504 when no answer comes; a retry with the
         * same key finds the booking made here. */
        hb_log_once("booking-answer", HB_LOG_WARN,
                    "bookings: the answer to HQ's request %llu could not be sent: %s",
                    (unsigned long long)request, hb_strerror(rc));
    free(text);
}

void branchd_booking_from_hq(branchd_t *d, const Hallbus__BookingRequest *rq)
{
    d->hq_bookings++;
    int64_t now = hb_now_ms();
    if (rq->expires_ms > 0 && now > rq->expires_ms) {
        /* HQ has told its caller the hall did not answer in time; booking
         * now would make a booking nobody was told of. */
        d->hq_bookings_expired++;
        hb_log_once("booking-expired", HB_LOG_WARN,
                    "bookings: HQ's request %llu came %lld ms after its deadline; dropped "
                    "unanswered",
                    (unsigned long long)rq->request, (long long)(now - rq->expires_ms));
        return;
    }
    char err[512], code[HB_HS_ID];
    bool replayed = false;
    int channel = rq->channel ? (int)rq->channel : HALLBUS__BOOKING_CHANNEL__BOOKING_CHANNEL_APP;
    int rc = s_book(d, rq->service, rq->start_ms, rq->staff, channel, rq->idempotency, code,
                    &replayed, err, sizeof err);
    if (rc != 0) {
        const char *error;
        int status = branchd_api_refusal(d, rc, &error);
        s_answer_hq(d, rq->request, status, error,
                    json_pack("{s:s, s:s}", "error", error, "reason", err), false);
        return;
    }
    const hb_hs_appointment_t *bk = hb_hall_state_appointment(engine_state(d->engine), code);
    s_answer_hq(d, rq->request, 201, "", bk ? hb_appointment_json(bk) : NULL, replayed);
}

void branchd_api_get_appointments(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    char date[11];
    int32_t day;
    if (s_date(d, req, &day, date) != 0)
        return;
    const hb_hall_state_t *s = engine_state(d->engine);
    const hb_tz_t *tz = engine_policy(d->engine)->tz;
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n_appointments; i++)
        if (hb_tz_local_day(tz, s->appointments[i].start_ms) == day)
            json_array_append_new(arr, hb_appointment_json(&s->appointments[i]));
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:I, s:o}", "date", date, "count",
                                 (json_int_t)json_array_size(arr), "appointments", arr));
}

static const hb_hs_appointment_t *s_path_booking(branchd_t *d, hb_http_req_t *req)
{
    const char *code = hb_http_param(req, "code");
    const hb_hs_appointment_t *b =
        strlen(code) < HB_HS_ID ? hb_hall_state_appointment(engine_state(d->engine), code) : NULL;
    if (!b) {
        d->api_refused++;
        hb_http_reply_error(req, 404, "bad_code", "no booking with code %.16s", code);
    }
    return b;
}

void branchd_api_get_appointment(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const hb_hs_appointment_t *b = s_path_booking(d, req);
    if (b)
        hb_http_reply_json(req, 200, hb_appointment_json(b));
}

void branchd_api_appointment_checkin(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"source", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    int source = HALLBUS__ISSUE_SOURCE__ISSUE_SOURCE_KIOSK;
    if (!b || branchd_kiosk_out_of_service(d, req) ||
        branchd_api_enum(d, req, b, "source", &hallbus__issue_source__descriptor, &source) != 0) {
        json_decref(b);
        return;
    }
    json_decref(b);
    engine_ticket_answer_t a;
    char err[512];
    int rc =
        engine_appt_checkin(d->engine, hb_http_param(req, "code"), source, &a, err, sizeof err);
    branchd_api_issued(d, req, rc, &a, err);
}

void branchd_api_appointment_cancel(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"reason", JSON_STRING, false}};
    json_t *b = branchd_api_body(d, req, m, ROWS(m));
    if (!b)
        return;
    char err[512];
    const char *code = hb_http_param(req, "code");
    int rc = engine_appt_cancel(d->engine, code, branchd_api_str(b, "reason"), err, sizeof err);
    json_decref(b);
    if (rc != 0) {
        branchd_api_refuse(d, req, rc, err);
        return;
    }
    hb_http_reply_json(
        req, 200, hb_appointment_json(hb_hall_state_appointment(engine_state(d->engine), code)));
}
