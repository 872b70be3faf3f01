/* The duty manager's day in the hall engine (engine.h): the morning and
 * after-shift meetings, the pre-opening checklist and what it may list,
 * the opening with the devices it leaves unchecked or failed, patrols drawn
 * by the manuals' rule and scored, the work log and the cash handover.
 * Each is one event; the steps here are the action table's (actions.c).
 * What a past record says is read back from the outbox through day.h, the
 * one reader of a day, so the engine keeps no second copy of it. Not the
 * HTTP side (api/manager.c) nor the day report's figures (day.c). */
#include "engine_private.h"

#include "hallbus/error.h"
#include "hallbus/tz.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

typedef struct manager_args {
    const char *by, *note;
    /* meeting */
    int kind;
    uint32_t duration_s;
    const char *const *list; /* attendees, on duty */
    size_t n_list;
    const char *const *topics;
    size_t n_topics;
    /* checklist, opening */
    const engine_check_t *checks;
    size_t n_checks;
    const char *const *paired;
    size_t n_paired;
    engine_opening_t *opening;
    /* patrols */
    engine_patrol_t *patrol;
    const char *staff;
    const uint32_t *scores;
    /* log, cash */
    const char *text, *currency, *from, *to;
    int64_t amount;
    bool checked;
    /* Room for the event's lists: the args live on the caller's stack for
     * the whole run, as the event does. */
    Hallbus__ChecklistItem items[ENGINE_LIST_MAX];
    Hallbus__ChecklistItem *item_ptrs[ENGINE_LIST_MAX];
    char *names[2][ENGINE_LIST_MAX];
} manager_args_t;

static const char *const s_dims[5] = {"smile", "initiative", "compliance", "speed", "accuracy"};

/* ------------------------------------------------------------ checks ---- */

static int s_ids_ok(engine_request_t *r, const char *name, const char *const *ids, size_t n,
                    size_t max)
{
    if (n > max)
        return engine__refuse(r, HB_EINVAL, "%s may name at most %zu", name, max);
    for (size_t i = 0; i < n; i++)
        if (!engine__id_ok(ids[i]))
            return engine__refuse(r, HB_EINVAL, "%s[%zu] '%.64s' is not a staff id", name, i,
                                  ids[i] ? ids[i] : "");
    return 0;
}

static int s_by_note_ok(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    if (a->by && a->by[0] && !engine__id_ok(a->by))
        return engine__refuse(r, HB_EINVAL, "by must be an id");
    return engine__text_ok(r, "note", a->note);
}

/* --------------------------------------------------------- the list ---- */

static void s_add_item(engine_checklist_t *out, const char *item, const char *device)
{
    if (out->n >= ENGINE_LIST_MAX)
        return;
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->items[i].item, item) == 0)
            return;
    snprintf(out->items[out->n].item, ENGINE_ITEM_MAX, "%s", item);
    snprintf(out->items[out->n].device, HB_HS_ID, "%s", device ? device : "");
    out->n++;
}

void engine_checklist_today(const engine_t *e, const char *const *paired, size_t n_paired,
                            int64_t now_ms, engine_checklist_t *out)
{
    memset(out, 0, sizeof *out);
    int32_t day = hb_tz_local_day(e->policy->tz, now_ms);
    hb_date_format(day, out->date);
    out->weekday = hb_weekday(day);
    s_add_item(out, "cleanliness", NULL);
    s_add_item(out, "materials", NULL);
    /* Fire equipment is checked on Mondays: its place is kept ahead of the
     * devices so that a hall with many devices never loses it. */
    bool monday = out->weekday == 0;
    char item[ENGINE_ITEM_MAX];
    for (size_t i = 0; i < n_paired + e->state->n_devices; i++) {
        const char *dev = i < n_paired ? paired[i] : e->state->devices[i - n_paired].id;
        if (!dev || !engine__id_ok(dev) || out->n >= ENGINE_LIST_MAX - (monday ? 1 : 0))
            continue;
        snprintf(item, sizeof item, "device:%s", dev);
        s_add_item(out, item, dev);
    }
    if (monday)
        s_add_item(out, "fire_equipment", NULL);
}

/* --------------------------------------------------------- meetings ---- */

static int s_meeting_check(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    if (!engine__enum_ok(r, "kind", &hallbus__meeting_kind__descriptor, a->kind))
        return HB_EINVAL;
    if (a->duration_s < 1 || a->duration_s > ENGINE_MEETING_MAX_S)
        return engine__refuse(r, HB_EINVAL, "duration_s must be from 1 to %d, not %u",
                              ENGINE_MEETING_MAX_S, a->duration_s);
    if (a->n_list < 1)
        return engine__refuse(r, HB_EINVAL, "attendees must name at least one staff id");
    int rc = s_ids_ok(r, "attendees", a->list, a->n_list, ENGINE_LIST_MAX);
    if (rc == 0 && a->n_topics > ENGINE_TOPICS_MAX)
        rc = engine__refuse(r, HB_EINVAL, "topics may hold at most %d", ENGINE_TOPICS_MAX);
    for (size_t i = 0; rc == 0 && i < a->n_topics; i++)
        if (!a->topics[i])
            rc = engine__refuse(r, HB_EINVAL, "topics[%zu] must be a text", i);
        else
            rc = engine__text_ok(r, "a topic", a->topics[i]);
    return rc ? rc : s_by_note_ok(r);
}

static int s_meeting_build(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    Hallbus__MeetingHeld *m = &r->body.meeting_held;
    m->kind = a->kind;
    m->duration_s = a->duration_s;
    m->n_attendees = a->n_list;
    m->attendees = (char **)a->list;
    m->n_topics = a->n_topics;
    m->topics = (char **)a->topics;
    m->note = engine__text(a->note);
    m->by = engine__text(a->by);
    return 0;
}

const engine_steps_t engine__meeting_steps = {s_meeting_check, s_meeting_build, NULL};

/* -------------------------------------------------------- checklist ---- */

static int s_checklist_check(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    if (a->n_checks < 1 || a->n_checks > ENGINE_LIST_MAX)
        return engine__refuse(r, HB_EINVAL, "items must hold 1 to %d items", ENGINE_LIST_MAX);
    engine_checklist_t today;
    engine_checklist_today(r->e, a->paired, a->n_paired, r->now, &today);
    for (size_t i = 0; i < a->n_checks; i++) {
        const char *item = a->checks[i].item ? a->checks[i].item : "";
        size_t k = 0;
        while (k < today.n && strcmp(today.items[k].item, item) != 0)
            k++;
        if (k == today.n) {
            char list[1024] = "";
            size_t used = 0;
            for (size_t j = 0; j < today.n && used < sizeof list; j++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "",
                                         today.items[j].item);
            return engine__refuse(r, HB_EINVAL, "unknown checklist item '%.72s'; today's are %s",
                                  item, list);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->checks[j].item, item) == 0)
                return engine__refuse(r, HB_EINVAL, "item '%s' is listed twice", item);
        int rc = engine__text_ok(r, "an item's note", a->checks[i].note);
        if (rc)
            return rc;
    }
    return s_by_note_ok(r);
}

static int s_checklist_build(engine_request_t *r)
{
    manager_args_t *a = r->args;
    Hallbus__ChecklistItem *items = a->items, **ptrs = a->item_ptrs;
    for (size_t i = 0; i < a->n_checks; i++) {
        hallbus__checklist_item__init(&items[i]);
        items[i].item = (char *)a->checks[i].item;
        items[i].ok = a->checks[i].ok;
        items[i].note = engine__text(a->checks[i].note);
        ptrs[i] = &items[i];
    }
    Hallbus__ChecklistDone *c = &r->body.checklist_done;
    c->n_items = a->n_checks;
    c->items = ptrs;
    c->by = engine__text(a->by);
    return 0;
}

const engine_steps_t engine__checklist_steps = {s_checklist_check, s_checklist_build, NULL};

/* ---------------------------------------------------------- opening ---- */

/* Whether it opened already is the build's to say: a new day may start
 * between the check and the build. */
static int s_open_check(engine_request_t *r) { return s_by_note_ok(r); }

static int s_open_build(engine_request_t *r)
{
    manager_args_t *a = r->args;
    engine_t *e = r->e;
    if (e->state->today.opened_ms != 0)
        return engine__refuse_as(r, HB_ECONFLICT, "opened_already",
                                 "the hall was opened already today (%s)", e->state->today.date);
    engine_opening_t *o = a->opening;
    memset(o, 0, sizeof *o);
    engine_checklist_t today;
    engine_checklist_today(e, a->paired, a->n_paired, r->now, &today);
    hb_day_t *day = NULL;
    int rc = engine_day_read(e, today.date, &day);
    if (rc != 0 && rc != HB_ENOTFOUND)
        return engine__refuse(r, rc, "today's checklist could not be read (%s)", hb_strerror(rc));
    const json_t *list = day ? json_object_get(hb_day_checklist(day), "items") : NULL;
    for (size_t i = 0; i < today.n; i++) {
        if (!today.items[i].device[0])
            continue;
        const json_t *found = NULL, *v;
        size_t k;
        json_array_foreach (list, k, v) {
            const char *item = json_string_value(json_object_get(v, "item"));
            if (item && strcmp(item, today.items[i].item) == 0)
                found = v;
        }
        if (!found)
            snprintf(o->unchecked[o->n_unchecked++], HB_HS_ID, "%s", today.items[i].device);
        else if (!json_is_true(json_object_get(found, "ok")))
            snprintf(o->failed[o->n_failed++], HB_HS_ID, "%s", today.items[i].device);
    }
    hb_day_destroy(&day);
    /* Late against the first interval of today's posted hours; hours from
     * midnight go on from the day before (a hall open round the clock is
     * never late). */
    int32_t d = hb_tz_local_day(e->policy->tz, r->now);
    hb_hours_t h;
    hb_policy_hours_on(e->policy, d, &h);
    if (h.n > 0 && h.iv[0].from > 0) {
        int64_t opens = hb_tz_local_to_utc(e->policy->tz, d, h.iv[0].from / 60, h.iv[0].from % 60);
        if (r->now > opens)
            o->late_s = (int32_t)((r->now - opens) / 1000);
    }
    char **failed = a->names[0], **unchecked = a->names[1];
    for (size_t i = 0; i < o->n_failed; i++)
        failed[i] = o->failed[i];
    for (size_t i = 0; i < o->n_unchecked; i++)
        unchecked[i] = o->unchecked[i];
    Hallbus__HallOpened *ho = &r->body.hall_opened;
    ho->n_failed = o->n_failed;
    ho->failed = failed;
    ho->n_unchecked = o->n_unchecked;
    ho->unchecked = unchecked;
    ho->late_s = o->late_s;
    ho->note = engine__text(a->note);
    ho->by = engine__text(a->by);
    return 0;
}

const engine_steps_t engine__hall_open_steps = {s_open_check, s_open_build, NULL};

/* ---------------------------------------------------------- patrols ---- */

static int s_draw_check(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    int rc = s_ids_ok(r, "on_duty", a->list, a->n_list, ENGINE_LIST_MAX);
    return rc ? rc : s_by_note_ok(r);
}

static void s_add_staff(engine_patrol_t *p, const char *id)
{
    if (!id || !id[0] || p->n_on_duty >= ENGINE_LIST_MAX)
        return;
    for (size_t i = 0; i < p->n_on_duty; i++)
        if (strcmp(p->on_duty[i], id) == 0)
            return;
    snprintf(p->on_duty[p->n_on_duty++], HB_HS_ID, "%s", id);
}

static int s_draw_build(engine_request_t *r)
{
    manager_args_t *a = r->args;
    engine_patrol_t *p = a->patrol;
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < a->n_list; i++)
        s_add_staff(p, a->list[i]);
    if (a->n_list == 0)
        for (size_t i = 0; i < r->e->state->n_counters; i++) {
            const hb_hs_counter_t *c = &r->e->state->counters[i];
            if (c->state != HB_COUNTER_CLOSED)
                s_add_staff(p, c->staff);
        }
    if (p->n_on_duty == 0)
        return engine__refuse_as(r, HB_ECONFLICT, "nobody_on_duty",
                                 "nobody is on duty: no counter is staffed and on_duty is empty");
    /* A partial Fisher-Yates shuffle of the indexes: the first k are the
     * draw, each subset of k equally likely. */
    size_t idx[ENGINE_LIST_MAX];
    for (size_t i = 0; i < p->n_on_duty; i++)
        idx[i] = i;
    size_t k = hb_patrol_draw_count(p->n_on_duty);
    for (size_t i = 0; i < k; i++) {
        size_t j = i + randombytes_uniform((uint32_t)(p->n_on_duty - i));
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        snprintf(p->drawn[i], HB_HS_ID, "%s", p->on_duty[idx[i]]);
    }
    p->n_drawn = k;
    char compact[9];
    const char *date = r->e->state->today.date;
    snprintf(compact, sizeof compact, "%.4s%.2s%.2s", date, date + 5, date + 8);
    snprintf(p->patrol, HB_HS_ID, "P%s-%u", compact, r->e->state->today.patrols + 1);
    char **on = a->names[0], **dr = a->names[1];
    for (size_t i = 0; i < p->n_on_duty; i++)
        on[i] = p->on_duty[i];
    for (size_t i = 0; i < p->n_drawn; i++)
        dr[i] = p->drawn[i];
    Hallbus__PatrolDrawn *pd = &r->body.patrol_drawn;
    pd->patrol = p->patrol;
    pd->n_on_duty = p->n_on_duty;
    pd->on_duty = on;
    pd->n_drawn = p->n_drawn;
    pd->drawn = dr;
    pd->by = engine__text(a->by);
    return 0;
}

const engine_steps_t engine__patrol_draw_steps = {s_draw_check, s_draw_build, NULL};

static int s_score_check(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    if (!engine__id_ok(a->staff))
        return engine__refuse(r, HB_EINVAL, "staff must be a staff id");
    for (int i = 0; i < 5; i++)
        if (a->scores[i] < 1 || a->scores[i] > 5)
            return engine__refuse(r, HB_EINVAL, "%s must be from 1 to 5, not %u", s_dims[i],
                                  a->scores[i]);
    return s_by_note_ok(r);
}

static int s_score_build(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    hb_day_t *day = NULL;
    int rc = engine_day_read(r->e, r->e->state->today.date, &day);
    if (rc != 0 && rc != HB_ENOTFOUND)
        return engine__refuse(r, rc, "today's patrols could not be read (%s)", hb_strerror(rc));
    rc = day ? hb_day_patrol_check(day, r->key, a->staff) : HB_ENOTFOUND;
    hb_day_destroy(&day);
    if (rc == HB_ENOTFOUND)
        return engine__refuse(r, HB_ENOTFOUND, "no patrol %s today", r->key);
    if (rc == HB_EINVAL)
        return engine__refuse_as(r, HB_EINVAL, "not_drawn", "staff %s was not drawn in patrol %s",
                                 a->staff, r->key);
    if (rc == HB_ECONFLICT)
        return engine__refuse_as(r, HB_ECONFLICT, "scored_already",
                                 "staff %s was scored in patrol %s already", a->staff, r->key);
    Hallbus__PatrolScored *ps = &r->body.patrol_scored;
    ps->patrol = (char *)r->key;
    ps->staff = (char *)a->staff;
    ps->smile = a->scores[0];
    ps->initiative = a->scores[1];
    ps->compliance = a->scores[2];
    ps->speed = a->scores[3];
    ps->accuracy = a->scores[4];
    ps->note = engine__text(a->note);
    ps->by = engine__text(a->by);
    return 0;
}

const engine_steps_t engine__patrol_score_steps = {s_score_check, s_score_build, NULL};

/* ----------------------------------------------------- log and cash ---- */

static int s_log_check(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    if (!a->text || !a->text[0])
        return engine__refuse(r, HB_EINVAL, "text is required");
    int rc = engine__text_ok(r, "text", a->text);
    return rc ? rc : s_by_note_ok(r);
}

static int s_log_build(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    r->body.work_logged.text = (char *)a->text;
    r->body.work_logged.by = engine__text(a->by);
    return 0;
}

const engine_steps_t engine__work_log_steps = {s_log_check, s_log_build, NULL};

static int s_cash_check(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    if (a->amount < 0 || a->amount > ENGINE_CASH_MAX)
        return engine__refuse(r, HB_EINVAL, "amount must be from 0 to 10^15 minor units");
    if (!engine__id_ok(a->from) || !engine__id_ok(a->to))
        return engine__refuse(r, HB_EINVAL, "by and to must be staff ids");
    if (strcmp(a->from, a->to) == 0)
        return engine__refuse(r, HB_EINVAL,
                              "cash is handed over to someone else (by and to are %s)", a->from);
    if (a->currency && a->currency[0] &&
        (strlen(a->currency) != 3 || strspn(a->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3))
        return engine__refuse(r, HB_EINVAL, "currency must be 3 capital letters (ISO 4217)");
    return s_by_note_ok(r);
}

static int s_cash_build(engine_request_t *r)
{
    const manager_args_t *a = r->args;
    Hallbus__CashHandedOver *c = &r->body.cash_handed_over;
    c->amount = a->amount;
    c->currency = engine__text(a->currency);
    c->from_staff = (char *)a->from;
    c->to_staff = (char *)a->to;
    c->checked = a->checked;
    c->note = engine__text(a->note);
    c->by = engine__text(a->by);
    return 0;
}

const engine_steps_t engine__cash_steps = {s_cash_check, s_cash_build, NULL};

/* -------------------------------------------------------------- API ---- */

int engine_meeting(engine_t *e, int kind, uint32_t duration_s, const char *const *attendees,
                   size_t n_attendees, const char *const *topics, size_t n_topics, const char *note,
                   const char *by, char *err, size_t errlen)
{
    manager_args_t a = {.kind = kind,
                        .duration_s = duration_s,
                        .list = attendees,
                        .n_list = n_attendees,
                        .topics = topics,
                        .n_topics = n_topics,
                        .note = note,
                        .by = by};
    return engine__run(e, ENGINE_MEETING, NULL, &a, err, errlen);
}

int engine_checklist(engine_t *e, const engine_check_t *items, size_t n, const char *const *paired,
                     size_t n_paired, const char *by, char *err, size_t errlen)
{
    manager_args_t a = {
        .checks = items, .n_checks = n, .paired = paired, .n_paired = n_paired, .by = by};
    return engine__run(e, ENGINE_CHECKLIST, NULL, &a, err, errlen);
}

int engine_hall_open(engine_t *e, const char *note, const char *by, const char *const *paired,
                     size_t n_paired, engine_opening_t *out, char *err, size_t errlen)
{
    manager_args_t a = {
        .note = note, .by = by, .paired = paired, .n_paired = n_paired, .opening = out};
    return engine__run(e, ENGINE_HALL_OPEN, NULL, &a, err, errlen);
}

int engine_patrol_draw(engine_t *e, const char *const *on_duty, size_t n, const char *by,
                       engine_patrol_t *out, char *err, size_t errlen)
{
    manager_args_t a = {.list = on_duty, .n_list = n, .by = by, .patrol = out};
    return engine__run(e, ENGINE_PATROL_DRAW, NULL, &a, err, errlen);
}

int engine_patrol_score(engine_t *e, const char *patrol, const char *staff,
                        const uint32_t scores[5], const char *note, const char *by, char *err,
                        size_t errlen)
{
    manager_args_t a = {.staff = staff, .scores = scores, .note = note, .by = by};
    return engine__run(e, ENGINE_PATROL_SCORE, patrol, &a, err, errlen);
}

int engine_work_log(engine_t *e, const char *text, const char *by, char *err, size_t errlen)
{
    manager_args_t a = {.text = text, .by = by};
    return engine__run(e, ENGINE_WORK_LOG, NULL, &a, err, errlen);
}

int engine_cash_handover(engine_t *e, int64_t amount, const char *currency, const char *from,
                         const char *to, bool checked, const char *note, const char *by, char *err,
                         size_t errlen)
{
    manager_args_t a = {.amount = amount,
                        .currency = currency,
                        .from = from,
                        .to = to,
                        .checked = checked,
                        .note = note,
                        .by = by};
    return engine__run(e, ENGINE_CASH, NULL, &a, err, errlen);
}

/* ------------------------------------------------------ reading a day ---- */

#define DAY_READ_EVENTS 512
#define DAY_READ_BYTES (1u << 20)

int engine_day_read(engine_t *e, const char *date, hb_day_t **out)
{
    *out = NULL;
    hb_day_reader_t dr = {.day = hb_day_new(date), .next = outbox_first_seq(e->outbox)};
    if (!dr.day)
        return HB_ENOMEM;
    uint64_t last = outbox_last_seq(e->outbox);
    while (dr.next <= last && dr.rc == 0 && !hb_day_over(dr.day)) {
        uint64_t from = dr.next;
        int rc =
            outbox_read(e->outbox, from, DAY_READ_EVENTS, DAY_READ_BYTES, hb_day_read_event, &dr);
        if (rc == HB_ENOTFOUND) {
            /* Pruned meanwhile: go on from the oldest still held. */
            dr.next = outbox_first_seq(e->outbox);
            if (dr.next <= from)
                break;
            continue;
        }
        if (rc != 0) {
            hb_day_destroy(&dr.day);
            return rc;
        }
        if (dr.next == from)
            break;
    }
    if (dr.rc != 0 || !hb_day_seen(dr.day)) {
        hb_day_destroy(&dr.day);
        return dr.rc ? dr.rc : HB_ENOTFOUND;
    }
    *out = dr.day;
    return 0;
}

uint64_t engine_last_seq(const engine_t *e) { return outbox_last_seq(e->outbox); }
