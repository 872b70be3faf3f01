/* Appointments in the hall engine (engine.h): a service's slots from the
 * policy, booking one (its capacity decided here, in the one place that
 * keeps the book), cancelling, the checks of a check-in (whose ticket is
 * tickets.c's), and the no-show of a booking not checked in by its start
 * plus the policy's no_show_after_s, which the tick marks. Calling an
 * appointment ticket at its time is the queue's rule (queue.c). Not the
 * HTTP side (api/appointments.c). */
#include "engine_private.h"

#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include "hallbus/log.h"

#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define NO_SHOWS_PER_TICK 64

typedef struct appt_args {
    const char *service, *staff, *reason, *request;
    int64_t start_ms;
    int channel;
    char *code; /* book: the code given */
    const hb_appt_rule_t *rule;
    engine_slot_t slot;
} appt_args_t;

/* --------------------------------------------------------------- slots ---- */

static int64_t s_local_minute(const hb_policy_t *p, int32_t day, int minute)
{
    /* 24:00 is the next day's midnight. */
    if (minute >= 1440)
        return hb_tz_local_to_utc(p->tz, day + 1, 0, 0);
    return hb_tz_local_to_utc(p->tz, day, minute / 60, minute % 60);
}

static uint32_t s_booked(const hb_hall_state_t *s, const char *service, int64_t start_ms)
{
    uint32_t n = 0;
    for (size_t i = 0; i < s->n_appointments; i++) {
        const hb_hs_appointment_t *a = &s->appointments[i];
        n += a->start_ms == start_ms && a->state != HB_APPT_CANCELLED &&
             strcmp(a->service, service) == 0;
    }
    return n;
}

static int s_rule(const engine_t *e, const char *service, const hb_appt_rule_t **rule, char *err,
                  size_t errlen)
{
    if (!service || !engine_service(e, service)) {
        hb_errf(err, errlen, "unknown service '%.64s'", service ? service : "");
        return HB_EINVAL;
    }
    *rule = hb_policy_appt(e->policy, service);
    if (!*rule) {
        hb_errf(err, errlen, "service %s takes no appointments", service);
        return HB_EINVAL;
    }
    return 0;
}

static void s_slots(const engine_t *e, const hb_appt_rule_t *rule, int32_t day, engine_slots_t *out)
{
    out->slot_s = rule->slot_s;
    out->capacity = rule->capacity;
    out->no_show_after_s = rule->no_show_after_s;
    out->n = 0;
    hb_hours_t h;
    hb_policy_appt_hours(e->policy, rule, day, &h);
    int64_t len = rule->slot_s * 1000;
    for (size_t i = 0; i < h.n; i++) {
        int64_t from = s_local_minute(e->policy, day, h.iv[i].from);
        int64_t to = s_local_minute(e->policy, day, h.iv[i].to);
        for (int64_t t = from; t + len <= to && out->n < ENGINE_SLOTS_MAX; t += len) {
            engine_slot_t *sl = &out->slots[out->n++];
            sl->start_ms = t;
            sl->end_ms = t + len;
            sl->booked = s_booked(e->state, rule->service, t);
        }
    }
}

int engine_appt_slots(const engine_t *e, const char *service, int32_t day, engine_slots_t *out,
                      char *err, size_t errlen)
{
    const hb_appt_rule_t *rule;
    memset(out, 0, sizeof *out);
    int rc = s_rule(e, service, &rule, err, errlen);
    if (rc == 0)
        s_slots(e, rule, day, out);
    return rc;
}

/* ----------------------------------------------------------------- book ---- */

static int s_book_check(engine_request_t *r)
{
    appt_args_t *a = r->args;
    int rc = s_rule(r->e, a->service, &a->rule, r->err, r->errlen);
    if (rc != 0)
        return rc;
    if (a->staff && a->staff[0] && !engine__id_ok(a->staff))
        return engine__refuse(r, HB_EINVAL, "staff must be a staff id");
    if (a->request && strlen(a->request) >= HB_HS_ID)
        return engine__refuse(r, HB_EINVAL, "request must be under %d bytes", HB_HS_ID);
    if (!engine__enum_ok(r, "channel", &hallbus__booking_channel__descriptor, a->channel))
        return HB_EINVAL;
    engine_slots_t *sl = malloc(sizeof *sl);
    if (!sl)
        return engine__refuse(r, HB_ENOMEM, "out of memory");
    s_slots(r->e, a->rule, hb_tz_local_day(r->e->policy->tz, a->start_ms), sl);
    size_t k = 0;
    while (k < sl->n && sl->slots[k].start_ms != a->start_ms)
        k++;
    if (k == sl->n) {
        char when[HB_RFC3339_MAX], first[8] = "-";
        hb_time_format(a->start_ms, when);
        if (sl->n > 0) {
            hb_civil_t c;
            hb_tz_civil(r->e->policy->tz, sl->slots[0].start_ms, &c);
            snprintf(first, sizeof first, "%02d:%02d", c.hour % 100, c.min % 100);
        }
        free(sl);
        if (first[0] == '-')
            return engine__refuse_as(r, HB_ENOTFOUND, "unknown_slot",
                                     "no slot of %s starts at %s; %s takes no appointments that "
                                     "day",
                                     a->service, when, a->service);
        return engine__refuse_as(r, HB_ENOTFOUND, "unknown_slot",
                                 "no slot of %s starts at %s; slots start every %lld min from "
                                 "%s (local time)",
                                 a->service, when, (long long)(a->rule->slot_s / 60), first);
    }
    a->slot = sl->slots[k];
    free(sl);
    hb_civil_t c;
    hb_tz_civil(r->e->policy->tz, a->slot.start_ms, &c);
    if (r->now >= a->slot.start_ms)
        return engine__refuse_as(r, HB_ECONFLICT, "slot_past", "slot %02d:%02d of %s began already",
                                 c.hour % 100, c.min % 100, a->service);
    if (a->slot.booked >= (uint64_t)a->rule->capacity)
        return engine__refuse_as(
            r, HB_ECONFLICT, "slot_full", "slot %02d:%02d of %s is full (%u of %lld)", c.hour % 100,
            c.min % 100, a->service, a->slot.booked, (long long)a->rule->capacity);
    size_t open = 0;
    for (size_t i = 0; i < r->e->state->n_appointments; i++)
        open += r->e->state->appointments[i].state == HB_APPT_BOOKED;
    if (r->e->state->n_appointments >= HB_HS_APPOINTMENTS_MAX)
        return engine__refuse(r, HB_ETOOBIG,
                              "the book is full (%zu open bookings, %d kept at most)", open,
                              HB_HS_APPOINTMENTS_MAX);
    return 0;
}

static int s_book_build(engine_request_t *r)
{
    appt_args_t *a = r->args;
    /* 8 random digits, none the hall holds now (a clash is drawn again). */
    for (int tries = 0;; tries++) {
        snprintf(a->code, HB_HS_ID, "%08u", (unsigned)randombytes_uniform(100000000u));
        if (!hb_hall_state_appointment(r->e->state, a->code))
            break;
        if (tries > 64)
            return engine__refuse(r, HB_ETOOBIG, "no free booking code");
    }
    Hallbus__AppointmentBooked *b = &r->body.appointment_booked;
    b->code = a->code;
    b->service = (char *)a->service;
    b->start_ms = a->slot.start_ms;
    b->slot_s = (uint32_t)a->rule->slot_s;
    b->staff = engine__text(a->staff);
    b->channel = a->channel;
    b->request = engine__text(a->request);
    return 0;
}

const engine_steps_t engine__appt_book_steps = {s_book_check, s_book_build, NULL};

/* The booking an earlier request with the same key made, if the book still
 * holds it: the same request again gets it back, a different one under the
 * same key is refused (HB_ECONFLICT "idempotency_key_reused"). */
static int s_replay(engine_t *e, const char *service, int64_t start_ms, const char *staff,
                    const char *request, char *code, bool *replayed, char *err, size_t errlen)
{
    const hb_hall_state_t *s = e->state;
    for (size_t i = 0; i < s->n_appointments; i++) {
        const hb_hs_appointment_t *b = &s->appointments[i];
        if (strcmp(b->request, request) != 0)
            continue;
        if (strcmp(b->service, service ? service : "") != 0 || b->start_ms != start_ms ||
            strcmp(b->staff, staff ? staff : "") != 0) {
            e->refusal = "idempotency_key_reused";
            hb_errf(err, errlen,
                    "this idempotency key booked %s at another slot, service or staff (booking "
                    "%s); use a new key for a new booking",
                    b->service, b->code);
            return HB_ECONFLICT;
        }
        snprintf(code, HB_HS_ID, "%s", b->code);
        *replayed = true;
        return 0;
    }
    return HB_ENOTFOUND;
}

int engine_appt_book(engine_t *e, const char *service, int64_t start_ms, const char *staff,
                     int channel, const char *request, char *code, bool *replayed, char *err,
                     size_t errlen)
{
    code[0] = '\0';
    *replayed = false;
    if (request && request[0]) {
        e->refusal = NULL;
        int rc = s_replay(e, service, start_ms, staff, request, code, replayed, err, errlen);
        if (rc != HB_ENOTFOUND)
            return rc;
    }
    appt_args_t a = {.service = service,
                     .request = request,
                     .start_ms = start_ms,
                     .staff = staff,
                     .channel = channel ? channel : HALLBUS__BOOKING_CHANNEL__BOOKING_CHANNEL_HALL,
                     .code = code};
    return engine__run(e, ENGINE_APPT_BOOK, NULL, &a, err, errlen);
}

/* ------------------------------------------------- check-in, cancel ---- */

static int64_t s_no_show_after_ms(const engine_t *e, const hb_hs_appointment_t *b)
{
    const hb_appt_rule_t *rule = hb_policy_appt(e->policy, b->service);
    return (rule ? rule->no_show_after_s : HB_POLICY_NO_SHOW_DEFAULT_S) * 1000;
}

/* A booking still open, else the refusal its state deserves. */
static int s_open_booking(engine_request_t *r, const char *code, const hb_hs_appointment_t **out)
{
    const hb_hs_appointment_t *b = code ? hb_hall_state_appointment(r->e->state, code) : NULL;
    if (!b)
        return engine__refuse_as(r, HB_ENOTFOUND, "bad_code", "no booking with code %.16s",
                                 code ? code : "");
    switch (b->state) {
    case HB_APPT_CHECKED_IN:
        return engine__refuse_as(r, HB_ECONFLICT, "checked_in_already",
                                 "booking %s was checked in already (ticket %s)", b->code,
                                 b->ticket);
    case HB_APPT_CANCELLED:
        return engine__refuse_as(r, HB_ECONFLICT, "cancelled", "booking %s was cancelled", b->code);
    case HB_APPT_NO_SHOW:
        return engine__refuse_as(r, HB_ECONFLICT, "no_show",
                                 "booking %s is a no-show: it was not checked in in time", b->code);
    default: break;
    }
    *out = b;
    return 0;
}

int engine__appt_checkin_check(engine_request_t *r, const char *code,
                               const hb_hs_appointment_t **out)
{
    const hb_hs_appointment_t *b = NULL;
    int rc = s_open_booking(r, code, &b);
    if (rc != 0)
        return rc;
    int64_t late = s_no_show_after_ms(r->e, b);
    if (r->now > b->start_ms + late)
        return engine__refuse_as(r, HB_ECONFLICT, "no_show",
                                 "booking %s is a no-show: check-in closed %lld min after its "
                                 "start",
                                 b->code, (long long)(late / 60000));
    if (r->now < b->start_ms - ENGINE_CHECKIN_EARLY_S * 1000LL)
        return engine__refuse_as(r, HB_ECONFLICT, "too_early",
                                 "booking %s may be checked in from %d min before its slot",
                                 b->code, ENGINE_CHECKIN_EARLY_S / 60);
    *out = b;
    return 0;
}

static int s_cancel_check(engine_request_t *r)
{
    const appt_args_t *a = r->args;
    int rc = engine__text_ok(r, "reason", a->reason);
    const hb_hs_appointment_t *b = NULL;
    return rc ? rc : s_open_booking(r, r->key, &b);
}

static int s_cancel_build(engine_request_t *r)
{
    const appt_args_t *a = r->args;
    const hb_hs_appointment_t *b = NULL;
    int rc = s_open_booking(r, r->key, &b);
    if (rc != 0)
        return rc;
    r->body.appointment_cancelled.code = (char *)r->key;
    r->body.appointment_cancelled.reason = engine__text(a->reason);
    return 0;
}

const engine_steps_t engine__appt_cancel_steps = {s_cancel_check, s_cancel_build, NULL};

int engine_appt_cancel(engine_t *e, const char *code, const char *reason, char *err, size_t errlen)
{
    appt_args_t a = {.reason = reason};
    return engine__run(e, ENGINE_APPT_CANCEL, code, &a, err, errlen);
}

/* -------------------------------------------------------------- no-show ---- */

static int s_no_show_build(engine_request_t *r)
{
    r->body.appointment_no_show.code = (char *)r->key;
    return 0;
}

const engine_steps_t engine__appt_no_show_steps = {NULL, s_no_show_build, NULL};

void engine__check_appointments(engine_t *e, int64_t now)
{
    char due[NO_SHOWS_PER_TICK][HB_HS_ID];
    size_t n = 0;
    for (size_t i = 0; i < e->state->n_appointments && n < NO_SHOWS_PER_TICK; i++) {
        const hb_hs_appointment_t *b = &e->state->appointments[i];
        if (b->state == HB_APPT_BOOKED && now > b->start_ms + s_no_show_after_ms(e, b))
            snprintf(due[n++], HB_HS_ID, "%s", b->code);
    }
    /* Codes copied first: each event changes the array being read. */
    for (size_t i = 0; i < n; i++) {
        char err[256];
        if (engine__run_at(e, ENGINE_APPT_NO_SHOW, now, due[i], NULL, err, sizeof err) != 0)
            hb_log_once("engine-no-show", HB_LOG_ERROR,
                        "engine: booking %s could not be marked a no-show: %s", due[i], err);
    }
}
