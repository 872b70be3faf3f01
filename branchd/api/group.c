/* Group commit of the local API (issue 17): the requests that change
 * tickets and counters in one wake-up of the loop are decided one after the
 * other against the live state, their events committed in one synced
 * outbox transaction when the loop has read what it had, and each is
 * answered only after that commit returned. Two handles commit: a check
 * handle right after the loop's poll (the requests read in that wake-up),
 * and a prepare handle right before the next poll, for a request h2o
 * handled outside the poll (a write's completion, a timer), which would
 * otherwise wait, unanswered, for the next wake-up while its client waits
 * for the answer. For the same reason each commits until nothing is
 * staged (s_commit_now).
 * The engine does the staging and the rollback (engine.h, "group commit");
 * this file says which requests join a group, holds their answers and
 * gives them. Not for the answers' contents (hall.c) nor for access
 * control (guard.c, which calls in here first).
 *
 * A group is bounded (GROUP_REQUESTS_MAX requests, GROUP_BYTES_MAX bytes of
 * events): the request that would pass a bound commits the group before
 * it. Every other request (reads, complaints, the manager's day, events
 * posted) commits a pending group before it runs, so that nobody sees an
 * event that is not stored; reads are not delayed, they end the group. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GROUP_REQUESTS_MAX 32
#define GROUP_BYTES_MAX (64u << 10)
#define GROUP_CODE_MAX 40
#define GROUP_REASON_MAX 512

/* One answer held until its group's commit: a body, or an error's code and
 * reason (said as hb_http_reply_error says them). */
typedef struct group_answer {
    hb_http_deferred_t *deferred;
    int status;
    json_t *body;
    char code[GROUP_CODE_MAX];
    char reason[GROUP_REASON_MAX];
} group_answer_t;

/* branchd runs one local API, so one group; static so that it outlives
 * the loop's handles for the engine's last commit at close. */
static struct {
    branchd_t *d;
    uv_check_t check;
    uv_prepare_t prepare;
    bool started;
    bool in_request; /* a grouped request's handler is running */
    size_t n;
    group_answer_t answers[GROUP_REQUESTS_MAX];
    branchd_group_stats_t stats;
} s_g;

/* The permissions of the routes that change tickets and counters: a
 * kiosk's ticket, a counter's actions, the ticket actions. */
static const hb_perm_t s_grouped[] = {HB_PERM_TICKET_ISSUE, HB_PERM_TICKET_HANDLE,
                                      HB_PERM_COUNTER_ACT};

static bool s_is_grouped(const hb_route_t *route)
{
    if (!route->method || strcmp(route->method, "POST") != 0)
        return false;
    for (size_t i = 0; i < sizeof s_grouped / sizeof s_grouped[0]; i++)
        if (route->perm == s_grouped[i])
            return true;
    return false;
}

/* The engine committed the staged events (rc 0) or refused them: every
 * answer held is given, or replaced by the refusal. */
static void s_done(void *arg, int rc, const char *err)
{
    (void)arg;
    branchd_t *d = s_g.d;
    size_t n = s_g.n;
    /* Taken off the list before any is sent: an answer given may not
     * bring another request in, but the list is the next group's now. */
    group_answer_t held[GROUP_REQUESTS_MAX];
    memcpy(held, s_g.answers, n * sizeof held[0]);
    s_g.n = 0;
    if (rc == 0) {
        s_g.stats.commits++;
        s_g.stats.requests += n;
        if (n > s_g.stats.largest)
            s_g.stats.largest = n;
    } else {
        s_g.stats.refused_commits++;
        s_g.stats.refused_requests += n;
    }
    const char *code = "internal";
    int status = rc ? branchd_api_refusal(d, rc, &code) : 0;
    for (size_t i = 0; i < n; i++) {
        group_answer_t *a = &held[i];
        hb_http_req_t *req = hb_http_deferred_req(a->deferred);
        if (req && rc != 0)
            hb_http_reply_error(req, status, code, "%s", err);
        else if (req && a->body)
            hb_http_reply_json(req, a->status, json_incref(a->body));
        else if (req)
            hb_http_reply_error(req, a->status, a->code, "%s", a->reason);
        json_decref(a->body);
        hb_http_deferred_free(&a->deferred);
    }
}

static void s_commit_now(uv_handle_t *h)
{
    branchd_t *d = h->data;
    /* An answer given may let h2o take the connection's next request at
     * once, inside the commit: its events are staged when the commit
     * returns, and are committed here too, before the loop sleeps. Each
     * round answers what it committed, so the rounds end with the
     * requests the clients had sent. */
    while (d->engine && engine_group_staged(d->engine, NULL) > 0)
        engine_group_commit(d->engine);
}

static void s_on_check(uv_check_t *h) { s_commit_now((uv_handle_t *)h); }
static void s_on_prepare(uv_prepare_t *h) { s_commit_now((uv_handle_t *)h); }

static void s_after(hb_http_req_t *req, const hb_route_t *route, int status, void *arg)
{
    (void)req, (void)route, (void)status;
    branchd_t *d = arg;
    if (s_g.in_request && d->engine)
        engine_group_end(d->engine);
    s_g.in_request = false;
}

int branchd_group_init(branchd_t *d)
{
    s_g.d = d;
    if (!s_g.started) {
        if (uv_check_init(d->loop, &s_g.check) != 0 || uv_prepare_init(d->loop, &s_g.prepare) != 0)
            return HB_EIO;
        s_g.check.data = s_g.prepare.data = d;
        uv_check_start(&s_g.check, s_on_check);
        uv_prepare_start(&s_g.prepare, s_on_prepare);
        /* They run every turn but keep no loop alive by themselves. */
        uv_unref((uv_handle_t *)&s_g.check);
        uv_unref((uv_handle_t *)&s_g.prepare);
        s_g.started = true;
    }
    engine_set_group_done(d->engine, s_done, NULL);
    hb_http_set_after(d->http, s_after, d);
    return 0;
}

void branchd_group_admit(branchd_t *d, const hb_route_t *route)
{
    if (!d->engine)
        return;
    bool grouped = s_is_grouped(route);
    size_t bytes = 0;
    engine_group_staged(d->engine, &bytes);
    if (!grouped || s_g.n >= GROUP_REQUESTS_MAX || bytes >= GROUP_BYTES_MAX)
        engine_group_commit(d->engine);
}

void branchd_group_enter(branchd_t *d, const hb_route_t *route)
{
    if (!d->engine || !s_is_grouped(route))
        return;
    s_g.in_request = true;
    engine_group_begin(d->engine);
}

/* Whether the answer to the request now running must wait for the commit:
 * it is a grouped request and the state it was decided on holds staged
 * events (its own or the group's). */
static bool s_must_wait(branchd_t *d)
{
    return s_g.in_request && d->engine && engine_group_staged(d->engine, NULL) > 0;
}

/* Holds the request's answer; NULL when it cannot be held (then a 503 was
 * sent, or the list is full and the caller answers at once). */
static group_answer_t *s_hold(branchd_t *d, hb_http_req_t *req)
{
    if (s_g.n == GROUP_REQUESTS_MAX) {
        /* Cannot happen (the guard commits a full group before the next
         * request), but if it did, the group is committed first and the
         * answer given at once. */
        engine_group_commit(d->engine);
        return NULL;
    }
    hb_http_deferred_t *dr = hb_http_defer(req);
    if (!dr)
        return NULL;
    group_answer_t *a = &s_g.answers[s_g.n++];
    memset(a, 0, sizeof *a);
    a->deferred = dr;
    return a;
}

void branchd_api_answer(branchd_t *d, hb_http_req_t *req, int status, json_t *body)
{
    if (!s_must_wait(d) || !body) {
        hb_http_reply_json(req, status, body);
        return;
    }
    bool full = s_g.n == GROUP_REQUESTS_MAX;
    group_answer_t *a = s_hold(d, req);
    if (!a) {
        if (full)
            hb_http_reply_json(req, status, body);
        else
            json_decref(body);
        return;
    }
    a->status = status;
    a->body = body;
}

void branchd_api_answer_error(branchd_t *d, hb_http_req_t *req, int status, const char *code,
                              const char *fmt, ...)
{
    char reason[GROUP_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    bool full = s_g.n == GROUP_REQUESTS_MAX;
    group_answer_t *a = s_must_wait(d) ? s_hold(d, req) : NULL;
    if (!a) {
        if (!s_must_wait(d) || full)
            hb_http_reply_error(req, status, code, "%s", reason);
        return;
    }
    a->status = status;
    snprintf(a->code, sizeof a->code, "%s", code);
    memcpy(a->reason, reason, sizeof a->reason);
}

void branchd_group_stats(branchd_group_stats_t *out) { *out = s_g.stats; }
