/* Unit tests of tools/hallsim/simdrive.c, hallsim's drive mode, against a small
 * fake hall in this file that answers the requests as branchd's routes do
 * (first come first served; the real rules are the engine's own tests).
 * A day ends with every ticket finished, every counter closed and every
 * complaint resolved; the same seed and answers give the same requests;
 * closed and full halls are counted, not fatal; a hall that does not answer
 * is read again (GET /v1/hall) before anything else, customers meanwhile
 * are missed; what the hall says on a read replaces the driver's
 * bookkeeping (tickets adopted, vanished, counters taken over); repeated
 * refusals leave an entity alone instead of looping; every request is
 * well-formed (the fake hall refuses anything else with 400). */
#include "hallbus/error.h"
#include "sim.h"
#include "simdrive.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"

#define OPEN_MS 1795424400000LL /* 2026-11-23T09:00:00Z */
#define DAY_MS (24LL * 3600 * 1000)
#define STEPS_MAX 200000

/* ------------------------------------------------------- a fake hall ---- */

#define FT_MAX 2048
#define FC_MAX 16
#define FK_MAX 256
#define FR_MAX 64 /* finished tickets remembered, for feedback */

typedef struct ftick {
    char id[16];
    char service[4];
    char state[12]; /* waiting, called, serving; "" = free */
    char counter[16];
    int recalls;
    uint64_t order; /* issue order: a transfer keeps it */
} ftick_t;

typedef struct fctr {
    char id[16];
    char state[12]; /* closed, idle, calling, serving, paused */
    char services[8];
    char ticket[16];
} fctr_t;

typedef struct fcomp {
    char id[24];
    char state[16]; /* open, acknowledged; "" = free */
    char severity[12];
} fcomp_t;

typedef struct fake {
    ftick_t tickets[FT_MAX];
    fctr_t counters[FC_MAX];
    fcomp_t complaints[FK_MAX];
    char finished[FR_MAX][16];
    int n_finished;
    unsigned next_number[3];
    uint64_t order;
    unsigned complaint_no;
    int max_recalls;
    bool closed;            /* tickets: 409 closed */
    int max_live;           /* tickets: 503 full past this many */
    bool down;              /* no answer at all */
    bool lose_answer_once;  /* do the next POST, then give no answer */
    const char *refuse_all; /* a path part whose requests are refused with 409 */
    bool last_counter;      /* pauses: 409 last_counter, as the engine keeps a service open */
    /* What came. */
    int requests, bad_requests, reads, served, no_shows, cancelled, transfers, issued;
    int complaints_opened, complaints_resolved, feedback, pauses, pauses_refused;
} fake_t;

static int s_fail(json_t **out, int status, const char *code)
{
    *out = json_pack("{s:s, s:s}", "error", code, "reason", code);
    return status;
}

/* The row of `rows` (`n` of `size` bytes) in use (a non-empty string at
 * `used`) whose id (a string at `id_at`) is `id`, or NULL: one search for
 * the fake's tickets, counters and complaints. */
static void *s_find(void *rows, size_t n, size_t size, size_t id_at, size_t used, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        char *row = (char *)rows + i * size;
        if (row[used] && strcmp(row + id_at, id) == 0)
            return row;
    }
    return NULL;
}

static ftick_t *s_ft(fake_t *f, const char *id)
{
    return s_find(f->tickets, FT_MAX, sizeof(ftick_t), offsetof(ftick_t, id),
                  offsetof(ftick_t, state), id);
}

static fctr_t *s_fc(fake_t *f, const char *id, bool create)
{
    fctr_t *c =
        s_find(f->counters, FC_MAX, sizeof(fctr_t), offsetof(fctr_t, id), offsetof(fctr_t, id), id);
    if (c)
        return c;
    for (int i = 0; create && i < FC_MAX; i++) {
        if (!f->counters[i].id[0]) {
            /* Counter ids in these tests are short; the bound says so. */
            snprintf(f->counters[i].id, sizeof f->counters[i].id, "%.*s",
                     (int)sizeof f->counters[i].id - 1, id);
            snprintf(f->counters[i].state, sizeof f->counters[i].state, "closed");
            return &f->counters[i];
        }
    }
    return NULL;
}

static fcomp_t *s_fk(fake_t *f, const char *id)
{
    return s_find(f->complaints, FK_MAX, sizeof(fcomp_t), offsetof(fcomp_t, id),
                  offsetof(fcomp_t, state), id);
}

static int s_live(const fake_t *f)
{
    int n = 0;
    for (int i = 0; i < FT_MAX; i++)
        n += f->tickets[i].state[0] != '\0';
    return n;
}

static void s_finish(fake_t *f, ftick_t *t)
{
    snprintf(f->finished[f->n_finished % FR_MAX], 16, "%s", t->id);
    f->n_finished++;
    fctr_t *c = t->counter[0] ? s_fc(f, t->counter, false) : NULL;
    if (c && strcmp(c->ticket, t->id) == 0) {
        c->ticket[0] = '\0';
        snprintf(c->state, sizeof c->state, "idle");
    }
    memset(t, 0, sizeof *t);
}

static ftick_t *s_new_ticket(fake_t *f, const char *service)
{
    for (int i = 0; i < FT_MAX; i++) {
        ftick_t *t = &f->tickets[i];
        if (t->state[0])
            continue;
        int s = service[0] - 'A';
        snprintf(t->id, sizeof t->id, "%s%03u", service, ++f->next_number[s]);
        snprintf(t->service, sizeof t->service, "%s", service);
        snprintf(t->state, sizeof t->state, "waiting");
        t->order = f->order++;
        f->issued++;
        return t;
    }
    return NULL;
}

static json_t *s_view(fake_t *f)
{
    json_t *tickets = json_array(), *counters = json_array(), *list = json_array();
    /* In issue order, as the hall lists them. */
    for (uint64_t o = 0; o < f->order; o++) {
        for (int i = 0; i < FT_MAX; i++) {
            ftick_t *t = &f->tickets[i];
            if (!t->state[0] || t->order != o)
                continue;
            json_t *e =
                json_pack("{s:s, s:s, s:s, s:s, s:i}", "ticket", t->id, "service", t->service,
                          "priority", "normal", "state", t->state, "recalls", t->recalls);
            json_object_set_new(e, "counter",
                                t->counter[0] ? json_string(t->counter) : json_null());
            json_array_append_new(tickets, e);
        }
    }
    for (int i = 0; i < FC_MAX; i++) {
        fctr_t *c = &f->counters[i];
        if (!c->id[0])
            continue;
        json_t *svcs = json_array();
        for (const char *p = c->services; *p; p++) {
            char code[2] = {*p, '\0'};
            json_array_append_new(svcs, json_string(code));
        }
        json_t *e =
            json_pack("{s:s, s:s, s:o}", "counter", c->id, "state", c->state, "services", svcs);
        json_object_set_new(e, "ticket", c->ticket[0] ? json_string(c->ticket) : json_null());
        json_array_append_new(counters, e);
    }
    for (int i = 0; i < FK_MAX; i++) {
        fcomp_t *k = &f->complaints[i];
        if (k->state[0])
            json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "complaint", k->id, "state",
                                                  k->state, "severity", k->severity));
    }
    return json_pack("{s:o, s:o, s:{s:o}}", "tickets", tickets, "counters", counters, "complaints",
                     "list", list);
}

/* Splits "/v1/<what>/<id>/<action>". */
static bool s_path(const char *path, const char *what, char *id, size_t idlen, const char **action)
{
    size_t n = strlen(what);
    if (strncmp(path, what, n) != 0)
        return false;
    const char *rest = path + n;
    const char *slash = strchr(rest, '/');
    if (!slash || (size_t)(slash - rest) >= idlen)
        return false;
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = '\0';
    *action = slash + 1;
    return true;
}

static bool s_only(const json_t *b, const char *const *names)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)b, key, v) {
        bool known = false;
        for (const char *const *n = names; *n && !known; n++)
            known = strcmp(*n, key) == 0;
        if (!known)
            return false;
    }
    return true;
}

static const char *s_s(const json_t *b, const char *name)
{
    return json_string_value(json_object_get(b, name));
}

static int s_counter_action(fake_t *f, fctr_t *c, const char *action, const json_t *b, json_t **out)
{
    if (strcmp(action, "open") == 0) {
        static const char *const names[] = {"staff", "services", NULL};
        json_t *svcs = json_object_get(b, "services");
        if (!s_only(b, names) || !s_s(b, "staff") || !json_is_array(svcs) ||
            json_array_size(svcs) == 0)
            return s_fail(out, 400, "bad_request");
        if (strcmp(c->state, "closed") != 0)
            return s_fail(out, 409, "wrong_state");
        size_t i;
        json_t *v;
        c->services[0] = '\0';
        json_array_foreach (svcs, i, v) {
            const char *code = json_string_value(v);
            if (!code || strlen(code) != 1 || code[0] < 'A' || code[0] > 'C')
                return s_fail(out, 400, "bad_request");
            strncat(c->services, code, 1);
        }
        snprintf(c->state, sizeof c->state, "idle");
    } else if (strcmp(action, "pause") == 0) {
        if (strcmp(c->state, "idle") != 0)
            return s_fail(out, 409, "wrong_state");
        if (f->last_counter) {
            f->pauses_refused++;
            return s_fail(out, 409, "last_counter");
        }
        snprintf(c->state, sizeof c->state, "paused");
        f->pauses++;
    } else if (strcmp(action, "resume") == 0) {
        if (strcmp(c->state, "paused") != 0)
            return s_fail(out, 409, "wrong_state");
        snprintf(c->state, sizeof c->state, "idle");
    } else if (strcmp(action, "close") == 0) {
        if (strcmp(c->state, "idle") != 0 && strcmp(c->state, "paused") != 0)
            return s_fail(out, 409, "wrong_state");
        snprintf(c->state, sizeof c->state, "closed");
    } else if (strcmp(action, "call") == 0) {
        if (strcmp(c->state, "idle") != 0)
            return s_fail(out, 409, "wrong_state");
        ftick_t *best = NULL;
        for (int i = 0; i < FT_MAX; i++) {
            ftick_t *t = &f->tickets[i];
            if (strcmp(t->state, "waiting") == 0 && strchr(c->services, t->service[0]) &&
                (!best || t->order < best->order))
                best = t;
        }
        if (!best)
            return s_fail(out, 404, "nobody_waiting");
        snprintf(best->state, sizeof best->state, "called");
        snprintf(best->counter, sizeof best->counter, "%s", c->id);
        best->recalls = 0;
        snprintf(c->state, sizeof c->state, "calling");
        snprintf(c->ticket, sizeof c->ticket, "%s", best->id);
        *out = json_pack("{s:s, s:s, s:s, s:s}", "ticket", best->id, "service", best->service,
                         "counter", c->id, "rule", "fifo");
        return 200;
    } else if (strcmp(action, "start") == 0) {
        if (strcmp(c->state, "calling") != 0)
            return s_fail(out, 409, "wrong_state");
        snprintf(c->state, sizeof c->state, "serving");
        snprintf(s_ft(f, c->ticket)->state, 12, "serving");
    } else if (strcmp(action, "complete") == 0) {
        static const char *const names[] = {"business_type", "outcome", "amount", NULL};
        const char *outcome = s_s(b, "outcome");
        json_t *amount = json_object_get(b, "amount");
        if (!s_only(b, names) || !s_s(b, "business_type") ||
            (outcome && strcmp(outcome, "done") != 0 && strcmp(outcome, "referred") != 0 &&
             strcmp(outcome, "rejected_documents") != 0) ||
            (amount && (!json_is_integer(amount) || json_integer_value(amount) < 0)))
            return s_fail(out, 400, "bad_request");
        if (strcmp(c->state, "serving") != 0)
            return s_fail(out, 409, "wrong_state");
        f->served++;
        s_finish(f, s_ft(f, c->ticket));
    } else {
        return s_fail(out, 404, "not_found");
    }
    *out = json_pack("{s:s, s:s}", "counter", c->id, "state", c->state);
    return 200;
}

static int s_ticket_action(fake_t *f, ftick_t *t, const char *action, const json_t *b, json_t **out)
{
    const char *state = "called";
    if (strcmp(action, "cancel") == 0) {
        if (strcmp(t->state, "serving") == 0)
            return s_fail(out, 409, "wrong_state");
        f->cancelled++;
        state = "cancelled";
        s_finish(f, t);
    } else if (strcmp(action, "recall") == 0 || strcmp(action, "no-show") == 0) {
        if (strcmp(t->state, "called") != 0)
            return s_fail(out, 409, "wrong_state");
        if (action[0] == 'n' || t->recalls + 1 > f->max_recalls) {
            f->no_shows++;
            state = "no_show";
            char id[16];
            snprintf(id, sizeof id, "%s", t->id);
            s_finish(f, t);
            *out = json_pack("{s:s, s:s}", "ticket", id, "state", state);
            return 200;
        }
        t->recalls++;
    } else if (strcmp(action, "transfer") == 0) {
        const char *to = s_s(b, "service");
        if (!to || strlen(to) != 1 || to[0] < 'A' || to[0] > 'C')
            return s_fail(out, 400, "bad_request");
        if (strcmp(t->service, to) == 0)
            return s_fail(out, 409, "wrong_state");
        fctr_t *c = t->counter[0] ? s_fc(f, t->counter, false) : NULL;
        if (c) {
            c->ticket[0] = '\0';
            snprintf(c->state, sizeof c->state, "idle");
        }
        snprintf(t->service, sizeof t->service, "%s", to);
        snprintf(t->state, sizeof t->state, "waiting");
        t->counter[0] = '\0';
        f->transfers++;
        state = "waiting";
    } else {
        return s_fail(out, 404, "not_found");
    }
    *out = json_pack("{s:s, s:s}", "ticket", t->id[0] ? t->id : "gone", "state", state);
    return 200;
}

/* The hall's answer: its status and body (*out, may be NULL). */
static int s_handle(fake_t *f, const hb_sd_request_t *req, json_t **out)
{
    *out = NULL;
    f->requests++;
    json_t *b = NULL;
    if (strcmp(req->method, "POST") == 0) {
        b = json_loads(req->body, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(b)) {
            json_decref(b);
            f->bad_requests++;
            return s_fail(out, 400, "bad_json");
        }
    }
    if (f->refuse_all && strstr(req->path, f->refuse_all)) {
        json_decref(b);
        return s_fail(out, 409, "wrong_state");
    }
    int status;
    char id[32];
    const char *action;
    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/v1/hall") == 0) {
        f->reads++;
        *out = s_view(f);
        status = 200;
    } else if (strcmp(req->path, "/v1/tickets") == 0) {
        static const char *const names[] = {"service", "priority", "source", NULL};
        const char *svc = s_s(b, "service"), *prio = s_s(b, "priority");
        ftick_t *t = NULL;
        if (!s_only(b, names) || !svc || strlen(svc) != 1 || svc[0] < 'A' || svc[0] > 'C' ||
            !prio || !s_s(b, "source"))
            status = s_fail(out, 400, "bad_request");
        else if (f->closed)
            status = s_fail(out, 409, "closed");
        else if (f->max_live && s_live(f) >= f->max_live)
            status = s_fail(out, 503, "full");
        else if (!(t = s_new_ticket(f, svc)))
            status = s_fail(out, 503, "full");
        else {
            *out = json_pack("{s:s, s:s, s:i}", "ticket", t->id, "state", "waiting", "position", 1);
            status = 201;
        }
    } else if (s_path(req->path, "/v1/tickets/", id, sizeof id, &action)) {
        ftick_t *t = s_ft(f, id);
        status = t ? s_ticket_action(f, t, action, b, out) : s_fail(out, 404, "not_found");
    } else if (s_path(req->path, "/v1/counters/", id, sizeof id, &action)) {
        fctr_t *c = s_fc(f, id, strcmp(action, "open") == 0);
        status = c ? s_counter_action(f, c, action, b, out) : s_fail(out, 409, "wrong_state");
    } else if (strcmp(req->path, "/v1/feedback") == 0) {
        json_t *score = json_object_get(b, "score");
        const char *ticket = s_s(b, "ticket");
        bool known = false;
        for (int i = 0; ticket && i < FR_MAX && i < f->n_finished; i++)
            known = known || strcmp(f->finished[i], ticket) == 0;
        if (!json_is_integer(score) || json_integer_value(score) < 1 ||
            json_integer_value(score) > 5)
            status = s_fail(out, 400, "bad_request");
        else if (!known)
            status = s_fail(out, 404, "not_found");
        else {
            f->feedback++;
            *out = json_pack("{s:O}", "score", score);
            status = 201;
        }
    } else if (strcmp(req->path, "/v1/complaints") == 0) {
        static const char *const names[] = {"channel", "category", "severity",
                                            "ticket",  "text",     NULL};
        if (!s_only(b, names) || !s_s(b, "channel") || !s_s(b, "category") || !s_s(b, "severity"))
            return s_fail(out, 400, "bad_request");
        fcomp_t *k = NULL;
        for (int i = 0; i < FK_MAX && !k; i++)
            k = f->complaints[i].state[0] ? NULL : &f->complaints[i];
        assert_non_null(k);
        snprintf(k->id, sizeof k->id, "K20261123-%03u", ++f->complaint_no);
        snprintf(k->state, sizeof k->state, "open");
        snprintf(k->severity, sizeof k->severity, "%s", s_s(b, "severity"));
        f->complaints_opened++;
        *out = json_pack("{s:s, s:s}", "id", k->id, "state", "open");
        status = 201;
    } else if (s_path(req->path, "/v1/complaints/", id, sizeof id, &action)) {
        fcomp_t *k = s_fk(f, id);
        if (!k) {
            status = s_fail(out, 404, "not_found");
        } else if (strcmp(action, "ack") == 0) {
            if (!s_s(b, "by"))
                status = s_fail(out, 400, "bad_request");
            else if (strcmp(k->state, "open") != 0)
                status = s_fail(out, 409, "wrong_state");
            else {
                snprintf(k->state, sizeof k->state, "acknowledged");
                status = 200;
            }
        } else if (strcmp(action, "escalate") == 0) {
            status = 200;
        } else if (strcmp(action, "resolve") == 0) {
            if (!s_s(b, "resolution") || !json_is_boolean(json_object_get(b, "customer_satisfied")))
                status = s_fail(out, 400, "bad_request");
            else {
                memset(k, 0, sizeof *k);
                f->complaints_resolved++;
                status = 200;
            }
        } else {
            status = s_fail(out, 404, "not_found");
        }
    } else if (s_path(req->path, "/v1/devices/", id, sizeof id, &action)) {
        status = s_s(b, "kind") && s_s(b, "state") ? 200 : s_fail(out, 400, "bad_request");
    } else {
        status = s_fail(out, 404, "no_route");
    }
    if (status == 400)
        f->bad_requests++;
    json_decref(b);
    return status;
}

static fake_t *s_fake(void)
{
    fake_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->max_recalls = 2;
    return f;
}

/* --------------------------------------------------------- the driver ---- */

/* Every request of a day, for comparing runs. */
typedef struct trace {
    char *text;
    size_t len, cap;
} trace_t;

static void s_trace(trace_t *t, const hb_sd_request_t *req)
{
    char line[HB_SD_PATH_MAX + HB_SD_BODY_MAX + 64];
    int n = snprintf(line, sizeof line, "%lld %s %s %s\n", (long long)req->at_ms, req->method,
                     req->path, req->body);
    assert_true(n > 0 && (size_t)n < sizeof line);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->cap + (size_t)n + 1) * 2;
        t->text = realloc(t->text, t->cap);
        assert_non_null(t->text);
    }
    memcpy(t->text + t->len, line, (size_t)n + 1);
    t->len += (size_t)n;
}

/* Called before each request is answered, with the number of requests
 * so far. */
typedef void (*hook_fn)(fake_t *f, hb_simdrive_t *d, const hb_sd_request_t *req, int n);

/* Runs a day unpaced: each step at the driver's next due time, except that
 * after a request without answer the clock moves on a simulated minute,
 * as hallsim's backoff lets real time pass. Returns the number of
 * requests. */
static int s_day(fake_t *f, hb_simdrive_t *d, trace_t *trace, hook_fn hook)
{
    int n = 0;
    int64_t clock = 0;
    bool closed = false;
    for (int step = 0; step < STEPS_MAX; step++) {
        /* Closed for the night (hallsim skips the evening's empty time from
         * then on) only once the hall is empty, and for good that day. */
        if (hb_simdrive_closed(d) && !f->down) {
            assert_int_equal(s_live(f), 0);
            closed = true;
        } else if (closed && !f->down) {
            fail_msg("closed for the night, then open again");
        }
        int64_t due = hb_simdrive_due(d);
        assert_true(due != INT64_MAX);
        int64_t now = due > clock ? due : clock;
        hb_sd_request_t req;
        int rc = hb_simdrive_next(d, now, &req);
        if (rc == HB_ECLOSED) {
            /* Over stays over. */
            assert_int_equal(hb_simdrive_next(d, now + DAY_MS, &req), HB_ECLOSED);
            assert_true(hb_simdrive_due(d) == INT64_MAX);
            return n;
        }
        if (rc == HB_EAGAIN)
            continue; /* the step due needed no request (a lunch slot, a quiet arrival) */
        assert_int_equal(rc, 0);
        assert_true(req.at_ms <= now);
        assert_true(hb_simdrive_due(d) == INT64_MAX); /* one request out at a time */
        if (trace)
            s_trace(trace, &req);
        if (hook)
            hook(f, d, &req, n);
        n++;
        if (f->down) {
            hb_simdrive_no_answer(d);
            clock = now + 60 * 1000;
            continue;
        }
        json_t *body = NULL;
        int status = s_handle(f, &req, &body);
        if (f->lose_answer_once && req.method[0] == 'P') {
            f->lose_answer_once = false;
            json_decref(body);
            hb_simdrive_no_answer(d);
            clock = now + 1000;
            continue;
        }
        hb_simdrive_answer(d, status, body);
        json_decref(body);
    }
    fail_msg("the day did not end in %d steps", STEPS_MAX);
    return -1;
}

/* The hall is empty at the end of a day, as the driver left it. */
static void s_assert_hall_empty(const fake_t *f)
{
    assert_int_equal(s_live(f), 0);
    for (int i = 0; i < FC_MAX; i++) {
        if (f->counters[i].id[0] && strcmp(f->counters[i].state, "closed") != 0)
            fail_msg("counter %s is %s at the end of the day", f->counters[i].id,
                     f->counters[i].state);
    }
    for (int i = 0; i < FK_MAX; i++)
        assert_false(f->complaints[i].state[0]);
    assert_int_equal(f->bad_requests, 0);
}

/* One simulated day of a driver against a fake hall, and what it did. */
typedef struct {
    fake_t *f;
    hb_simdrive_t *d;
    hb_sd_stats_t st;
    int n; /* requests */
} run_t;

/* Runs a day of the driver for (`seed`, `hall`) from OPEN_MS against `f`
 * (owned by the run from now on), with `hook` before each answer. */
static run_t s_run(fake_t *f, uint64_t seed, int hall, hook_fn hook)
{
    run_t r = {.f = f};
    r.d = hb_simdrive_new(seed, hall, OPEN_MS);
    assert_non_null(r.d);
    r.n = s_day(f, r.d, NULL, hook);
    hb_simdrive_stats(r.d, &r.st);
    return r;
}

static void s_run_free(run_t *r)
{
    hb_simdrive_destroy(&r->d);
    free(r->f);
}

/* ---------------------------------------------------------------- tests ---- */

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_a_day_against_the_hall)
{
    (void)state;
    hb_sd_stats_t sum;
    memset(&sum, 0, sizeof sum);
    int halls = 12, served = 0, lunches = 0, counters = 0;
    for (int hall = 0; hall < halls; hall++) {
        fake_t *f = s_fake();
        hb_simdrive_t *d = hb_simdrive_new(4, hall, OPEN_MS);
        assert_non_null(d);
        int n = s_day(f, d, NULL, NULL);
        assert_true(n > 100);
        s_assert_hall_empty(f);
        hb_sd_stats_t st;
        hb_simdrive_stats(d, &st);
        /* The driver's account and the hall's agree. */
        assert_int_equal(st.issued, f->issued);
        assert_int_equal(st.served, f->served);
        assert_int_equal(st.no_shows, f->no_shows);
        assert_int_equal(st.cancelled, f->cancelled);
        assert_int_equal(st.transferred, f->transfers);
        assert_int_equal(st.feedback, f->feedback);
        assert_int_equal(st.complaints_opened, f->complaints_opened);
        assert_int_equal(st.complaints_resolved, f->complaints_opened);
        assert_int_equal(st.lunch_breaks, f->pauses);
        assert_int_equal(st.issued, st.served + st.no_shows + st.cancelled);
        assert_int_equal(st.arrivals, st.issued);
        assert_int_equal(st.requests, st.answered);
        assert_int_equal(st.resyncs, 1); /* the day starts by reading the hall */
        assert_int_equal(st.surprises + st.adopted + st.vanished + st.given_up, 0);
        assert_true(st.device_reports >= 2);
        hb_sim_character_t ch;
        hb_sim_character(4, hall, &ch);
        counters += ch.n_counters;
        lunches += (int)st.lunch_breaks;
        served += (int)st.served;
#define ADD(x) sum.x += st.x
        ADD(arrivals);
        ADD(no_shows);
        ADD(cancelled);
        ADD(transferred);
        ADD(feedback);
        ADD(complaints_opened);
        ADD(complaints_escalated);
        ADD(recalled);
#undef ADD
        hb_simdrive_destroy(&d);
        assert_null(d);
        hb_simdrive_destroy(&d); /* idempotent */
        free(f);
    }
    print_message("%d halls: %u customers, %d served, %u no-shows, %u left, %u transferred, "
                  "%u scores, %u complaints (%u escalated), %u recalls\n",
                  halls, sum.arrivals, served, sum.no_shows, sum.cancelled, sum.transferred,
                  sum.feedback, sum.complaints_opened, sum.complaints_escalated, sum.recalled);
    /* Every counter takes its lunch; the model's proportions show. */
    assert_int_equal(lunches, counters);
    double n = sum.arrivals;
    assert_true(n > 1000);
    assert_in_range(sum.no_shows * 1000 / sum.arrivals, 10, 60);    /* about 3% */
    assert_in_range(sum.transferred * 1000 / sum.arrivals, 5, 60);  /* about 2.5% */
    assert_in_range(sum.feedback * 100 / (unsigned)served, 30, 50); /* about 40% */
    assert_true(sum.recalled > sum.no_shows);
    assert_true(sum.cancelled > 0);
    assert_true(sum.complaints_opened > 0);
}

HBT_TEST(test_same_seed_same_requests)
{
    (void)state;
    trace_t t[3];
    memset(t, 0, sizeof t);
    const uint64_t seeds[3] = {9, 9, 10};
    for (int i = 0; i < 3; i++) {
        fake_t *f = s_fake();
        hb_simdrive_t *d = hb_simdrive_new(seeds[i], 2, OPEN_MS);
        s_day(f, d, &t[i], NULL);
        hb_simdrive_destroy(&d);
        free(f);
    }
    assert_true(t[0].len > 1000);
    assert_int_equal(t[0].len, t[1].len);
    assert_memory_equal(t[0].text, t[1].text, t[0].len);
    assert_false(t[0].len == t[2].len && memcmp(t[0].text, t[2].text, t[0].len) == 0);
    /* Another day of the same hall is another day. */
    fake_t *f = s_fake();
    hb_simdrive_t *d = hb_simdrive_new(9, 2, OPEN_MS + DAY_MS);
    trace_t other = {0};
    s_day(f, d, &other, NULL);
    hb_simdrive_destroy(&d);
    free(f);
    assert_false(other.len == t[0].len);
    for (int i = 0; i < 3; i++)
        free(t[i].text);
    free(other.text);
}

/* The first request reads the hall; counters open with their staff and
 * services; the last ones close them. */
HBT_TEST(test_opens_and_closes)
{
    (void)state;
    fake_t *f = s_fake();
    hb_simdrive_t *d = hb_simdrive_new(1, 0, OPEN_MS);
    trace_t t = {0};
    s_day(f, d, &t, NULL);
    assert_true(strncmp(t.text, "1795424400000 GET /v1/hall \n", 28) == 0);
    hb_sim_character_t ch;
    hb_sim_character(1, 0, &ch);
    for (int i = 0; i < ch.n_counters; i++) {
        char want[128];
        snprintf(want, sizeof want, "POST /v1/counters/%s/open {\"staff\":\"%s\",\"services\":[",
                 ch.counters[i].id, ch.counters[i].staff);
        assert_non_null(strstr(t.text, want));
        snprintf(want, sizeof want, "POST /v1/counters/%s/close {}", ch.counters[i].id);
        const char *close = strstr(t.text, want);
        assert_non_null(close);
        /* At closing time or after: the line starts with its time. */
        const char *line = close;
        while (line > t.text && line[-1] != '\n')
            line--;
        long long at = strtoll(line, NULL, 10);
        assert_true(at >= OPEN_MS + (HB_SIM_CLOSE_S - HB_SIM_OPEN_S) * 1000LL);
    }
    assert_non_null(strstr(t.text, "/v1/devices/kiosk-1/status"));
    assert_non_null(strstr(t.text, "\"reason\":\"lunch rotation\""));
    free(t.text);
    hb_simdrive_destroy(&d);
    free(f);
}

/* The engine refuses every lunch pause (the last open counter of a service
 * while people wait): the clerks skip lunch after a few tries and serve on,
 * the day ends as usual, and the refusals are no surprise (no state read,
 * nothing left to the hall). Before, each refusal read the hall, the read
 * made the counter idle again, and the pause was asked again at once, for
 * ever (tens of thousands of requests until the overtime bound). */
HBT_TEST(test_lunch_refused_is_skipped)
{
    (void)state;
    fake_t *f = s_fake();
    f->last_counter = true;
    run_t r = s_run(f, 4, 0, NULL);
    int n = r.n;
    const hb_sd_stats_t st = r.st;
    hb_sim_character_t ch;
    hb_sim_character(4, 0, &ch);
    print_message("%d requests, %u served, %d pauses refused\n", n, st.served, f->pauses_refused);
    assert_int_equal(st.lunch_breaks, 0);
    /* Each clerk asked LUNCH_TRIES times (4) at most, then went without. */
    assert_in_range(f->pauses_refused, 1, 4 * ch.n_counters);
    assert_int_equal(st.surprises + st.given_up, 0);
    assert_int_equal(st.resyncs, 1);
    assert_true(n < 20 * (int)st.arrivals); /* no loop */
    assert_int_equal(st.issued, st.served + st.no_shows + st.cancelled);
    s_assert_hall_empty(f);
    s_run_free(&r);
}

HBT_TEST(test_closed_hall_is_counted)
{
    (void)state;
    fake_t *f = s_fake();
    f->closed = true;
    run_t r = s_run(f, 3, 1, NULL);
    const hb_sd_stats_t st = r.st;
    assert_true(st.arrivals > 50);
    assert_int_equal(st.refused_closed, st.arrivals);
    assert_int_equal(st.issued, 0);
    assert_int_equal(st.surprises, 0); /* a closed hall is no surprise */
    s_assert_hall_empty(f);
    s_run_free(&r);
}

HBT_TEST(test_full_hall_is_counted)
{
    (void)state;
    fake_t *f = s_fake();
    f->max_live = 3;
    run_t r = s_run(f, 3, 5, NULL);
    const hb_sd_stats_t st = r.st;
    assert_true(st.refused_full > 0);
    assert_int_equal(st.arrivals, st.issued + st.refused_full);
    assert_int_equal(st.surprises, 0);
    s_assert_hall_empty(f);
    s_run_free(&r);
}

/* The hall stops answering at the 300th request and comes back 60 tries
 * (a simulated hour) later. */
static void s_outage(fake_t *f, hb_simdrive_t *d, const hb_sd_request_t *req, int n)
{
    (void)d;
    static bool was_down;
    if (n == 300)
        f->down = true;
    if (n == 300 + 60)
        f->down = false;
    /* While down, and at the first request it answers again, the driver
     * asks only for the hall's state. */
    if (was_down)
        assert_int_equal(req->kind, HB_SD_READ_HALL);
    was_down = f->down;
}

HBT_TEST(test_no_answer_reads_the_hall_again)
{
    (void)state;
    fake_t *f = s_fake();
    run_t r = s_run(f, 5, 0, s_outage);
    const hb_sd_stats_t st = r.st;
    assert_int_equal(st.unanswered, 60);
    assert_int_equal(st.resyncs, 2);
    assert_true(st.missed > 0); /* the outage lasted long in simulated time */
    assert_int_equal(st.arrivals, st.issued + st.missed);
    s_assert_hall_empty(f);
    s_run_free(&r);
}

/* Every 25th request, when a POST, is done by the hall but its answer is lost: the driver
 * reads the hall and carries on from what it says. */
static void s_lose(fake_t *f, hb_simdrive_t *d, const hb_sd_request_t *req, int n)
{
    (void)d;
    if (n % 25 == 24 && req->method[0] == 'P')
        f->lose_answer_once = true;
}

HBT_TEST(test_lost_answers_are_recovered_from_the_hall)
{
    (void)state;
    fake_t *f = s_fake();
    run_t r = s_run(f, 6, 3, s_lose);
    const hb_sd_stats_t st = r.st;
    print_message("unanswered %u, reads %u, adopted %u, vanished %u, given up %u\n", st.unanswered,
                  st.resyncs, st.adopted, st.vanished, st.given_up);
    assert_true(st.unanswered > 8);
    assert_int_equal(st.resyncs, 1 + st.unanswered);
    /* Tickets issued with the answer lost are found in the hall and
     * played; everything still ends. */
    assert_true(st.adopted > 0);
    s_assert_hall_empty(f);
    assert_int_equal(st.given_up, 0);
    s_run_free(&r);
}

/* Behind the driver's back, once past the 300th request with at least two
 * tickets waiting: two of them disappear (a clerk cancelled them), a ticket
 * it does not know appears (taken at another kiosk), and counter 1 is
 * paused if idle. */
static bool s_tampered;

static void s_tamper(fake_t *f, hb_simdrive_t *d, const hb_sd_request_t *req, int n)
{
    (void)d;
    (void)req;
    int waiting = 0;
    for (int i = 0; i < FT_MAX; i++)
        waiting += strcmp(f->tickets[i].state, "waiting") == 0;
    if (n < 300 || waiting < 2 || s_tampered)
        return;
    s_tampered = true;
    int gone = 0;
    for (int i = 0; i < FT_MAX && gone < 2; i++) {
        if (strcmp(f->tickets[i].state, "waiting") == 0) {
            memset(&f->tickets[i], 0, sizeof f->tickets[i]);
            gone++;
        }
    }
    assert_int_equal(gone, 2);
    s_new_ticket(f, "B");
    fctr_t *c = s_fc(f, "1", false);
    if (strcmp(c->state, "idle") == 0)
        snprintf(c->state, sizeof c->state, "paused");
}

HBT_TEST(test_takes_the_hall_state_over)
{
    (void)state;
    fake_t *f = s_fake();
    run_t r = s_run(f, 7, 4, s_tamper);
    assert_true(s_tampered);
    const hb_sd_stats_t st = r.st;
    print_message("surprises %u, reads %u, adopted %u, vanished %u\n", st.surprises, st.resyncs,
                  st.adopted, st.vanished);
    /* It noticed (a call that found the queue not as believed, or a
     * cancel of a ticket no longer there), read the hall and went on. */
    assert_true(st.surprises >= 1);
    assert_true(st.resyncs >= 2);
    assert_int_equal(st.adopted, 1);
    assert_int_equal(st.vanished, 2);
    s_assert_hall_empty(f);
    s_run_free(&r);
}

/* A hall that refuses every counter action: each counter is tried a few
 * times and then left alone; customers give up; the day still ends. */
HBT_TEST(test_repeated_refusals_are_not_a_loop)
{
    (void)state;
    fake_t *f = s_fake();
    f->refuse_all = "/v1/counters/";
    run_t r = s_run(f, 8, 0, NULL);
    int n = r.n;
    const hb_sd_stats_t st = r.st;
    hb_sim_character_t ch;
    hb_sim_character(8, 0, &ch);
    assert_int_equal(st.given_up, ch.n_counters);
    assert_int_equal(st.served, 0);
    /* Nobody was called: all left, the last ones when the doors closed. */
    assert_int_equal(st.cancelled, st.issued);
    assert_true(n < 5000);
    assert_int_equal(s_live(f), 0);
    s_run_free(&r);
}

/* Answers that are not what a hall sends (no body, wrong types, odd ids)
 * are survived: the driver reads the hall and goes on. */
HBT_TEST(test_odd_answers)
{
    (void)state;
    hb_simdrive_t *d = hb_simdrive_new(2, 0, OPEN_MS);
    hb_sd_request_t req;
    assert_int_equal(hb_simdrive_next(d, OPEN_MS - 1, &req), HB_EAGAIN);
    assert_int_equal(hb_simdrive_next(d, OPEN_MS, &req), 0);
    assert_int_equal(req.kind, HB_SD_READ_HALL);
    assert_string_equal(req.method, "GET");
    /* A read that is no hall state is tried again later. */
    hb_simdrive_answer(d, 200, NULL);
    assert_true(hb_simdrive_due(d) > OPEN_MS);
    assert_int_equal(hb_simdrive_next(d, hb_simdrive_due(d), &req), 0);
    assert_int_equal(req.kind, HB_SD_READ_HALL);
    json_t *weird = json_pack("{s:[{s:s, s:s}, {s:i}], s:[{s:s, s:s, s:s}], s:{s:[{s:s}]}}",
                              "tickets", "ticket", "A001/../x", "state", "waiting", "ticket", 5,
                              "counters", "counter", "1", "state", "serving", "ticket", "Z999",
                              "complaints", "list", "complaint", "K1");
    hb_simdrive_answer(d, 200, weird);
    json_decref(weird);
    hb_sd_stats_t st;
    hb_simdrive_stats(d, &st);
    assert_int_equal(st.adopted, 0); /* ids that are no ids, a complaint without state */
    /* From here on the fake hall answers, with bodies now and then lost. */
    fake_t *f = s_fake();
    for (int step = 0; step < STEPS_MAX && hbt_simdrive_next(d, &req); step++) {
        json_t *body = NULL;
        int status = s_handle(f, &req, &body);
        hb_simdrive_answer(d, status, step % 97 == 50 ? NULL : body);
        json_decref(body);
    }
    s_assert_hall_empty(f);
    hb_simdrive_stats(d, &st);
    assert_true(st.given_up <= 1); /* counter 1, said to serve a ticket nobody has */
    hb_simdrive_destroy(&d);
    free(f);
}

HBT_TEST(test_kind_names)
{
    (void)state;
    for (int k = 0; k < HB_SD_KINDS; k++)
        assert_string_not_equal(hb_simdrive_kind_name((hb_sd_kind_t)k), "unknown");
    assert_string_equal(hb_simdrive_kind_name(HB_SD_KINDS), "unknown");
    assert_string_equal(hb_simdrive_kind_name(HB_SD_TICKET), "ticket");
}
