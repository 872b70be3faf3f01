/* kill -9 of a busy hall (issue 3, item 3), with real processes: a real
 * hqd and a real branchd open round the clock, and this process playing a
 * busy day against the hall's API (tickets, calls, recalls, starts,
 * completes, transfers, cancels, counters pausing and closing, complaints
 * opened, acknowledged and resolved) while a second thread kills branchd
 * with SIGKILL at seeded random moments, often in the middle of a request.
 *
 * The test keeps its own account of the hall from the answers only: an
 * answered action happened. The one request in flight at a kill is
 * unknown; after the restart the hall's state must show it either done or
 * not done, and nothing else may differ. After every restart: every ticket
 * answered 201 and not answered as finished is there in its state
 * (GET /v1/tickets/{t}), every complaint answered 201 and not resolved is
 * there (GET /v1/complaints?state=all), counters are as left, the waiting
 * counts of GET /v1/hall are the test's, and the next ticket of each
 * service takes the next number (none is ever given twice). At the end HQ
 * holds the hall's stream whole: last_seq and stream_digest equal, events
 * numbered 1..last without a hole, and as many tickets and complaints as
 * the hall answered for. */
#include "world.h"

#include "sim.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"

#define ACTIONS 2400
#define KILLS 8
#define KILL_DELAY_MAX_US 1500 /* after the request starts; one takes about 1 ms */
#define TICKETS_MAX 4096
#define COMPLAINTS_MAX 512
#define COUNTERS 4
#define ID_MAX 40
#define SERVICES "ABC"

/* ------------------------------------------------------------ the killer ---- */

/* A thread that sends SIGKILL a given time after it is armed, so that the
 * kill can land inside a request the main thread is making. */
typedef struct killer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pid_t pid;
    long delay_us;
    bool armed, quit;
} killer_t;

static void *s_killer_main(void *arg)
{
    killer_t *k = arg;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (!k->armed && !k->quit)
            pthread_cond_wait(&k->cond, &k->lock);
        if (k->quit)
            break;
        pid_t pid = k->pid;
        long us = k->delay_us;
        pthread_mutex_unlock(&k->lock);
        struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        pthread_mutex_lock(&k->lock);
        k->armed = false;
        pthread_cond_broadcast(&k->cond);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

static void s_killer_arm(killer_t *k, pid_t pid, long delay_us)
{
    pthread_mutex_lock(&k->lock);
    k->pid = pid;
    k->delay_us = delay_us;
    k->armed = true;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
}

/* Waits until the kill was sent (the pid is reaped only after this). */
static void s_killer_wait(killer_t *k)
{
    pthread_mutex_lock(&k->lock);
    while (k->armed)
        pthread_cond_wait(&k->cond, &k->lock);
    pthread_mutex_unlock(&k->lock);
}

/* ----------------------------------------------------------- the account ---- */

enum { T_WAITING = 1, T_CALLED, T_SERVING, T_SERVED, T_NO_SHOW, T_CANCELLED };
enum { C_CLOSED, C_IDLE, C_CALLING, C_SERVING, C_PAUSED };
enum { K_OPEN = 1, K_ACKED, K_RESOLVED };

static const char *const s_tstate[] = {"",       "waiting", "called",   "serving",
                                       "served", "no_show", "cancelled"};
static const char *const s_cstate[] = {"closed", "idle", "calling", "serving", "paused"};

typedef struct bticket {
    char id[ID_MAX];
    char service;
    int state;
    int counter; /* while called or serving, else -1 */
    int recalls;
} bticket_t;

typedef struct bcounter {
    char id[4];
    const char *services;
    int state;
    int ticket; /* index while calling or serving, else -1 */
} bcounter_t;

typedef struct bcomplaint {
    char id[ID_MAX];
    int state;
} bcomplaint_t;

typedef struct world {
    char root[256];
    hbt_hq_t hq;
    hbt_hall_t hall;
    killer_t killer;
    hb_sim_rng_t rng;
    bticket_t t[TICKETS_MAX];
    int nt;
    bcounter_t c[COUNTERS];
    bcomplaint_t k[COMPLAINTS_MAX];
    int nk;
    unsigned max_number[3]; /* highest number given today per service */
    bool fresh_day[3];      /* the hall's date changed: numbering starts again */
    char date[16];
    /* Figures. */
    int done[16], kills, in_flight, in_flight_done, restarts, checks;
    int64_t restart_ms;
} world_t;

enum action_kind {
    A_ISSUE,
    A_CALL,
    A_START,
    A_COMPLETE,
    A_RECALL,
    A_TRANSFER,
    A_CANCEL,
    A_OPEN,
    A_PAUSE,
    A_RESUME,
    A_CLOSE,
    A_COMPLAINT,
    A_ACK,
    A_RESOLVE,
    A_KINDS
};

static const char *const s_action_names[A_KINDS] = {
    "issue", "call",  "start",  "complete", "recall",    "transfer", "cancel",
    "open",  "pause", "resume", "close",    "complaint", "ack",      "resolve"};

typedef struct action {
    int kind;
    int ti, ci, ki;
    char service; /* issue: the service; transfer: where to */
} action_t;

static int s_service_index(char s) { return (int)(strchr(SERVICES, s) - SERVICES); }

static bool s_live(const bticket_t *t) { return t->state >= T_WAITING && t->state <= T_SERVING; }

static unsigned s_number(const char *id) { return (unsigned)strtoul(id + 1, NULL, 10); }

static int s_find_ticket(const world_t *w, const char *id)
{
    for (int i = w->nt - 1; i >= 0; i--) {
        if (strcmp(w->t[i].id, id) == 0)
            return i;
    }
    return -1;
}

static int s_find_complaint(const world_t *w, const char *id)
{
    for (int i = 0; i < w->nk; i++) {
        if (strcmp(w->k[i].id, id) == 0)
            return i;
    }
    return -1;
}

static bool s_serves(const bcounter_t *c, char service) { return strchr(c->services, service); }

static int s_waiting(const world_t *w, char service)
{
    int n = 0;
    for (int i = 0; i < w->nt; i++)
        n += w->t[i].state == T_WAITING && (!service || w->t[i].service == service);
    return n;
}

static char *s_dump(const json_t *j)
{
    static char buf[2048];
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    snprintf(buf, sizeof buf, "%s", text ? text : "(no JSON)");
    free(text);
    return buf;
}

static json_t *s_hall_view(world_t *w)
{
    json_t *v = hbt_get(w->hall.http, "/v1/hall");
    assert_non_null(v);
    return v;
}

/* A ticket issued today took the next number of its service. */
static void s_check_number(world_t *w, const char *id, char service)
{
    int s = s_service_index(service);
    unsigned n = s_number(id);
    assert_true(id[0] == service);
    if (n != w->max_number[s] + 1 && !w->fresh_day[s]) {
        /* A new day in the hall (midnight UTC passed) starts again at 1. */
        json_t *v = s_hall_view(w);
        const char *date = json_string_value(json_object_get(v, "date"));
        bool new_day = date && strcmp(date, w->date) != 0;
        if (new_day) {
            snprintf(w->date, sizeof w->date, "%s", date);
            for (int i = 0; i < 3; i++)
                w->fresh_day[i] = true;
        }
        json_decref(v);
        if (!new_day)
            fail_msg("ticket %s: the next number of %c was %u (a number given twice, or one "
                     "skipped)",
                     id, service, w->max_number[s] + 1);
    }
    /* Never a number a ticket still has. */
    for (int i = 0; i < w->nt; i++) {
        if (s_live(&w->t[i]) && strcmp(w->t[i].id, id) == 0)
            fail_msg("ticket %s is given while the earlier %s still waits", id, id);
    }
    w->max_number[s] = n;
    w->fresh_day[s] = false;
}

/* ------------------------------------------------ applying what happened ---- */

static void s_free_counter(world_t *w, bticket_t *t)
{
    if (t->counter >= 0) {
        w->c[t->counter].state = C_IDLE;
        w->c[t->counter].ticket = -1;
    }
    t->counter = -1;
}

static void s_apply_issue(world_t *w, char service, const char *id)
{
    assert_true(w->nt < TICKETS_MAX);
    s_check_number(w, id, service);
    bticket_t *t = &w->t[w->nt++];
    snprintf(t->id, sizeof t->id, "%s", id);
    t->service = service;
    t->state = T_WAITING;
    t->counter = -1;
}

static void s_apply_call(world_t *w, int ci, const char *id)
{
    int ti = s_find_ticket(w, id);
    if (ti < 0 || w->t[ti].state != T_WAITING || !s_serves(&w->c[ci], w->t[ti].service))
        fail_msg("counter %s called %s, which the test did not have waiting for it", w->c[ci].id,
                 id);
    w->t[ti].state = T_CALLED;
    w->t[ti].counter = ci;
    w->t[ti].recalls = 0;
    w->c[ci].state = C_CALLING;
    w->c[ci].ticket = ti;
}

static void s_apply(world_t *w, const action_t *a, const char *id, bool no_show)
{
    bticket_t *t = a->ti >= 0 ? &w->t[a->ti] : NULL;
    bcounter_t *c = a->ci >= 0 ? &w->c[a->ci] : NULL;
    switch (a->kind) {
    case A_ISSUE: s_apply_issue(w, a->service, id); break;
    case A_CALL: s_apply_call(w, a->ci, id); break;
    case A_START:
        c->state = C_SERVING;
        w->t[c->ticket].state = T_SERVING;
        break;
    case A_COMPLETE:
        w->t[c->ticket].state = T_SERVED;
        s_free_counter(w, &w->t[c->ticket]);
        break;
    case A_RECALL:
        if (no_show) {
            t->state = T_NO_SHOW;
            s_free_counter(w, t);
        } else {
            t->recalls++;
        }
        break;
    case A_TRANSFER:
        s_free_counter(w, t);
        t->service = a->service;
        t->state = T_WAITING;
        break;
    case A_CANCEL:
        s_free_counter(w, t);
        t->state = T_CANCELLED;
        break;
    case A_OPEN:
    case A_RESUME: c->state = C_IDLE; break;
    case A_PAUSE: c->state = C_PAUSED; break;
    case A_CLOSE: c->state = C_CLOSED; break;
    case A_COMPLAINT:
        assert_true(w->nk < COMPLAINTS_MAX);
        snprintf(w->k[w->nk].id, ID_MAX, "%s", id);
        w->k[w->nk++].state = K_OPEN;
        break;
    case A_ACK: w->k[a->ki].state = K_ACKED; break;
    case A_RESOLVE: w->k[a->ki].state = K_RESOLVED; break;
    default: break;
    }
    w->done[a->kind]++;
}

/* ------------------------------------------------------ choosing actions ---- */

static int s_pick_index(world_t *w, int n) { return (int)hb_sim_between(&w->rng, 0, n); }

/* A random ticket in one of the states of `mask` (bit per state), or -1. */
static int s_pick_ticket(world_t *w, unsigned mask)
{
    int idx[TICKETS_MAX], n = 0;
    for (int i = 0; i < w->nt; i++) {
        if (mask & (1u << w->t[i].state))
            idx[n++] = i;
    }
    return n ? idx[s_pick_index(w, n)] : -1;
}

static int s_pick_counter(world_t *w, int state, bool need_waiting)
{
    int idx[COUNTERS], n = 0;
    for (int i = 0; i < COUNTERS; i++) {
        bool waiting = false;
        for (const char *s = w->c[i].services; need_waiting && *s; s++)
            waiting = waiting || s_waiting(w, *s) > 0;
        if (w->c[i].state == state && (!need_waiting || waiting))
            idx[n++] = i;
    }
    return n ? idx[s_pick_index(w, n)] : -1;
}

static int s_pick_complaint(world_t *w, int state)
{
    int idx[COMPLAINTS_MAX], n = 0;
    for (int i = 0; i < w->nk; i++) {
        if (w->k[i].state == state || (state == 0 && w->k[i].state != K_RESOLVED))
            idx[n++] = i;
    }
    return n ? idx[s_pick_index(w, n)] : -1;
}

/* A busy day's mix: mostly tickets and the counters' cycle, the rest now
 * and then. Only actions the account says are allowed are chosen, so every
 * answer must be a success. */
static void s_choose(world_t *w, action_t *a)
{
    static const int weight[A_KINDS] = {24, 24, 18, 18, 4, 3, 3, 2, 1, 2, 1, 3, 2, 2};
    int open = 0;
    for (int i = 0; i < COUNTERS; i++)
        open += w->c[i].state != C_CLOSED;
    for (;;) {
        memset(a, 0, sizeof *a);
        a->ti = a->ci = a->ki = -1;
        int total = 0;
        for (int k = 0; k < A_KINDS; k++)
            total += weight[k];
        int x = s_pick_index(w, total);
        while (x >= weight[a->kind])
            x -= weight[a->kind++];
        switch (a->kind) {
        case A_ISSUE:
            if (s_waiting(w, 0) > 80)
                continue; /* a busy hall, not a runaway queue */
            a->service = SERVICES[s_pick_index(w, 3)];
            return;
        case A_CALL: a->ci = s_pick_counter(w, C_IDLE, true); break;
        case A_START: a->ci = s_pick_counter(w, C_CALLING, false); break;
        case A_COMPLETE: a->ci = s_pick_counter(w, C_SERVING, false); break;
        case A_RECALL: a->ti = s_pick_ticket(w, 1u << T_CALLED); break;
        case A_TRANSFER:
            a->ti = s_pick_ticket(w, (1u << T_WAITING) | (1u << T_CALLED) | (1u << T_SERVING));
            if (a->ti >= 0) {
                char from = w->t[a->ti].service;
                do
                    a->service = SERVICES[s_pick_index(w, 3)];
                while (a->service == from);
            }
            break;
        case A_CANCEL: a->ti = s_pick_ticket(w, (1u << T_WAITING) | (1u << T_CALLED)); break;
        case A_OPEN: a->ci = s_pick_counter(w, C_CLOSED, false); break;
        case A_PAUSE: a->ci = open > 2 ? s_pick_counter(w, C_IDLE, false) : -1; break;
        case A_RESUME: a->ci = s_pick_counter(w, C_PAUSED, false); break;
        case A_CLOSE: a->ci = open > 2 ? s_pick_counter(w, C_IDLE, false) : -1; break;
        case A_COMPLAINT: return;
        case A_ACK: a->ki = s_pick_complaint(w, K_OPEN); break;
        case A_RESOLVE: a->ki = s_pick_complaint(w, 0); break;
        default: break;
        }
        if (a->ti >= 0 || a->ci >= 0 || a->ki >= 0)
            return;
    }
}

/* The request for an action: method POST, path and body. */
static void s_request(const world_t *w, const action_t *a, char *path, size_t plen, char *body,
                      size_t blen)
{
    const char *tid = a->ti >= 0 ? w->t[a->ti].id : "";
    const char *cid = a->ci >= 0 ? w->c[a->ci].id : "";
    const char *kid = a->ki >= 0 ? w->k[a->ki].id : "";
    static const char *const prio[] = {"normal", "normal",  "normal",
                                       "vip",    "elderly", "appointment"};
    snprintf(body, blen, "{}");
    switch (a->kind) {
    case A_ISSUE:
        snprintf(path, plen, "/v1/tickets");
        snprintf(body, blen, "{\"service\":\"%c\",\"priority\":\"%s\"}", a->service,
                 prio[(w->nt * 7 + 3) % 6]);
        break;
    case A_CALL:
    case A_START:
    case A_OPEN:
    case A_PAUSE:
    case A_RESUME:
    case A_CLOSE:
        snprintf(path, plen, "/v1/counters/%s/%s", cid, s_action_names[a->kind]);
        if (a->kind == A_OPEN) {
            char list[32] = "";
            size_t used = 0;
            for (const char *s = w->c[a->ci].services; *s; s++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%c\"",
                                         used ? "," : "", *s);
            snprintf(body, blen, "{\"staff\":\"E%s\",\"services\":[%s]}", cid, list);
        }
        if (a->kind == A_PAUSE)
            snprintf(body, blen, "{\"reason\":\"lunch rotation\"}");
        break;
    case A_COMPLETE:
        snprintf(path, plen, "/v1/counters/%s/complete", cid);
        snprintf(body, blen,
                 "{\"business_type\":\"bill_payment\",\"outcome\":\"done\",\"amount\":%d}",
                 1000 + w->nt);
        break;
    case A_RECALL:
    case A_CANCEL: snprintf(path, plen, "/v1/tickets/%s/%s", tid, s_action_names[a->kind]); break;
    case A_TRANSFER:
        snprintf(path, plen, "/v1/tickets/%s/transfer", tid);
        snprintf(body, blen, "{\"service\":\"%c\"}", a->service);
        break;
    case A_COMPLAINT:
        snprintf(path, plen, "/v1/complaints");
        snprintf(body, blen,
                 "{\"channel\":\"phone\",\"category\":\"waiting_time\",\"severity\":\"high\","
                 "\"text\":\"waited too long\"}");
        break;
    case A_ACK:
        snprintf(path, plen, "/v1/complaints/%s/ack", kid);
        snprintf(body, blen, "{\"by\":\"M01\"}");
        break;
    case A_RESOLVE:
        snprintf(path, plen, "/v1/complaints/%s/resolve", kid);
        snprintf(body, blen, "{\"resolution\":\"apologised\",\"customer_satisfied\":true}");
        break;
    default: break;
    }
}

/* Sends the action; returns the HTTP status, or -1 when no answer came. */
static int s_send(world_t *w, const action_t *a, json_t **out)
{
    char path[128], body[256];
    s_request(w, a, path, sizeof path, body, sizeof body);
    return hbt_http(w->hall.http, "POST", path, body, out);
}

/* Applies an answered action; any refusal means the account and the hall
 * disagree. */
static void s_answered(world_t *w, const action_t *a, int status, json_t *resp)
{
    char path[128], body[256];
    int want = a->kind == A_ISSUE || a->kind == A_COMPLAINT ? 201 : 200;
    if (status != want) {
        s_request(w, a, path, sizeof path, body, sizeof body);
        fail_msg("%s %s %s: answered %d %s", s_action_names[a->kind], path, body, status,
                 s_dump(resp));
    }
    const char *id =
        json_string_value(json_object_get(resp, a->kind == A_COMPLAINT ? "id" : "ticket"));
    const char *state = json_string_value(json_object_get(resp, "state"));
    if ((a->kind == A_ISSUE || a->kind == A_CALL || a->kind == A_COMPLAINT) && !id)
        fail_msg("%s: no id in %s", s_action_names[a->kind], s_dump(resp));
    s_apply(w, a, id, a->kind == A_RECALL && state && strcmp(state, "no_show") == 0);
}

/* ------------------------------------------------ the in-flight request ---- */

static json_t *s_get_ticket(world_t *w, const char *id)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%s", id);
    json_t *t = hbt_get(w->hall.http, path);
    if (!t)
        fail_msg("GET %s: the hall no longer knows a ticket it answered for", path);
    return t;
}

static const json_t *s_view_counter(const json_t *view, const char *id)
{
    return hbt_find(json_object_get(view, "counters"), "counter", id);
}

static json_t *s_complaints(world_t *w)
{
    json_t *all = hbt_get(w->hall.http, "/v1/complaints?state=all");
    assert_non_null(all);
    return all;
}

/* The request in flight when branchd was killed either happened or did
 * not; the restarted hall says which, and it must be one of the two. */
static bool s_settle(world_t *w, const action_t *a)
{
    json_t *view = s_hall_view(w);
    const json_t *hc = a->ci >= 0 ? s_view_counter(view, w->c[a->ci].id) : NULL;
    const char *cstate = hc ? json_string_value(json_object_get(hc, "state")) : "closed";
    const char *cticket = hc ? json_string_value(json_object_get(hc, "ticket")) : NULL;
    bool done = false;
    const char *id = NULL;
    bool no_show = false;
    json_t *t = NULL, *all = NULL;
    switch (a->kind) {
    case A_ISSUE: {
        size_t i;
        json_t *v;
        json_array_foreach (json_object_get(view, "tickets"), i, v) {
            const char *tid = json_string_value(json_object_get(v, "ticket"));
            if (s_find_ticket(w, tid) >= 0)
                continue;
            if (done)
                fail_msg("two tickets the test never saw: %s and %s", id, tid);
            id = tid;
            done = true;
        }
        break;
    }
    case A_CALL:
        done = strcmp(cstate, "calling") == 0;
        id = cticket;
        if (!done)
            assert_string_equal(cstate, "idle");
        break;
    case A_START:
        done = strcmp(cstate, "serving") == 0;
        if (!done)
            assert_string_equal(cstate, "calling");
        break;
    case A_COMPLETE:
        done = strcmp(cstate, "idle") == 0;
        if (!done)
            assert_string_equal(cstate, "serving");
        break;
    case A_RECALL: {
        t = s_get_ticket(w, w->t[a->ti].id);
        const char *st = json_string_value(json_object_get(t, "state"));
        no_show = strcmp(st, "no_show") == 0;
        done = no_show || hbt_int(t, "recalls") == w->t[a->ti].recalls + 1;
        if (!done)
            assert_int_equal(hbt_int(t, "recalls"), w->t[a->ti].recalls);
        break;
    }
    case A_TRANSFER:
        t = s_get_ticket(w, w->t[a->ti].id);
        done = json_string_value(json_object_get(t, "service"))[0] == a->service;
        break;
    case A_CANCEL:
        t = s_get_ticket(w, w->t[a->ti].id);
        done = strcmp(json_string_value(json_object_get(t, "state")), "cancelled") == 0;
        break;
    case A_OPEN:
    case A_RESUME: done = strcmp(cstate, "idle") == 0; break;
    case A_PAUSE: done = strcmp(cstate, "paused") == 0; break;
    case A_CLOSE: done = strcmp(cstate, "closed") == 0; break;
    case A_COMPLAINT:
    case A_ACK:
    case A_RESOLVE: {
        all = s_complaints(w);
        size_t i;
        json_t *v;
        bool present = false;
        json_array_foreach (json_object_get(all, "complaints"), i, v) {
            const char *kid = json_string_value(json_object_get(v, "complaint"));
            const char *st = json_string_value(json_object_get(v, "state"));
            int k = s_find_complaint(w, kid);
            if (a->kind == A_COMPLAINT && k < 0) {
                assert_false(done);
                done = true;
                id = kid;
            }
            if (a->ki >= 0 && k == a->ki) {
                present = true;
                if (a->kind == A_ACK)
                    done = strcmp(st, "acknowledged") == 0;
            }
        }
        if (a->kind == A_RESOLVE)
            done = !present;
        break;
    }
    default: break;
    }
    if (done)
        s_apply(w, a, id, no_show);
    json_decref(t);
    json_decref(all);
    json_decref(view);
    return done;
}

/* ------------------------------------------------------- the checks ---- */

/* Everything the hall answered for is there as the test left it. */
static void s_check(world_t *w)
{
    w->checks++;
    json_t *view = s_hall_view(w);
    const char *date = json_string_value(json_object_get(view, "date"));
    if (date && strcmp(date, w->date) != 0 && w->date[0]) {
        for (int i = 0; i < 3; i++)
            w->fresh_day[i] = true;
    }
    if (date)
        snprintf(w->date, sizeof w->date, "%s", date);
    /* Live tickets: the hall's and the test's are the same ones. */
    int live = 0;
    for (int i = 0; i < w->nt; i++) {
        bticket_t *bt = &w->t[i];
        if (!s_live(bt))
            continue;
        live++;
        json_t *t = s_get_ticket(w, bt->id);
        const char *st = json_string_value(json_object_get(t, "state"));
        const char *svc = json_string_value(json_object_get(t, "service"));
        const char *ctr = json_string_value(json_object_get(t, "counter"));
        if (strcmp(st, s_tstate[bt->state]) != 0 || svc[0] != bt->service ||
            (bt->counter >= 0 && (!ctr || strcmp(ctr, w->c[bt->counter].id) != 0)))
            fail_msg("ticket %s: the hall says %s, the test %s %s %c at counter %s", bt->id,
                     s_dump(t), s_tstate[bt->state], "in", bt->service,
                     bt->counter >= 0 ? w->c[bt->counter].id : "-");
        json_decref(t);
    }
    size_t n_live = json_array_size(json_object_get(view, "tickets"));
    if ((int)n_live != live)
        fail_msg("the hall has %zu live tickets, the test %d", n_live, live);
    /* Waiting counts. */
    assert_int_equal(hbt_int(view, "waiting"), s_waiting(w, 0));
    size_t i;
    json_t *sv;
    json_array_foreach (json_object_get(view, "services"), i, sv) {
        const char *code = json_string_value(json_object_get(sv, "service"));
        if (hbt_int(sv, "waiting") != s_waiting(w, code[0]))
            fail_msg("service %s: the hall has %lld waiting, the test %d", code,
                     (long long)hbt_int(sv, "waiting"), s_waiting(w, code[0]));
    }
    /* Counters. */
    for (int c = 0; c < COUNTERS; c++) {
        const json_t *hc = s_view_counter(view, w->c[c].id);
        const char *st = hc ? json_string_value(json_object_get(hc, "state")) : "closed";
        const char *tk = hc ? json_string_value(json_object_get(hc, "ticket")) : NULL;
        const char *want = w->c[c].ticket >= 0 ? w->t[w->c[c].ticket].id : NULL;
        if (strcmp(st, s_cstate[w->c[c].state]) != 0 || (want && (!tk || strcmp(tk, want) != 0)))
            fail_msg("counter %s: the hall says %s %s, the test %s %s", w->c[c].id, st,
                     tk ? tk : "-", s_cstate[w->c[c].state], want ? want : "-");
    }
    json_decref(view);
    /* Complaints not resolved are all there, in their state. */
    json_t *all = s_complaints(w);
    int open = 0;
    for (int k = 0; k < w->nk; k++)
        open += w->k[k].state != K_RESOLVED;
    if ((int)hbt_int(all, "count") != open)
        fail_msg("the hall has %lld complaints, the test %d: %s", (long long)hbt_int(all, "count"),
                 open, s_dump(all));
    json_t *v;
    json_array_foreach (json_object_get(all, "complaints"), i, v) {
        const char *kid = json_string_value(json_object_get(v, "complaint"));
        const char *st = json_string_value(json_object_get(v, "state"));
        int k = s_find_complaint(w, kid);
        if (k < 0 || w->k[k].state == K_RESOLVED ||
            strcmp(st, w->k[k].state == K_OPEN ? "open" : "acknowledged") != 0)
            fail_msg("complaint %s is %s in the hall, not as the test left it", kid, st);
    }
    json_decref(all);
}

/* Numbering goes on: the next ticket of each service takes the next
 * number (s_check_number), after a restart as before it. */
static void s_check_numbering(world_t *w)
{
    for (int s = 0; s < 3; s++) {
        action_t a = {.kind = A_ISSUE, .ti = -1, .ci = -1, .ki = -1, .service = SERVICES[s]};
        json_t *resp = NULL;
        int status = s_send(w, &a, &resp);
        s_answered(w, &a, status, resp);
        json_decref(resp);
    }
}

/* HQ's copy of the hall's stream is numbered 1..last without a hole. */
static int64_t s_check_hq_stream(world_t *w)
{
    int64_t expect = 1, from = 1;
    for (;;) {
        char path[160];
        snprintf(path, sizeof path, "/v1/halls/%s/events?from=%lld&limit=1000", w->hall.id,
                 (long long)from);
        json_t *page = hbt_get(w->hq.http, path);
        assert_non_null(page);
        size_t i;
        json_t *ev;
        json_array_foreach (json_object_get(page, "events"), i, ev) {
            if (hbt_int(ev, "seq") != expect)
                fail_msg("HQ's events of %s: %lld where %lld was due", w->hall.id,
                         (long long)hbt_int(ev, "seq"), (long long)expect);
            expect++;
        }
        int64_t last = hbt_int(page, "last_seq"), next = hbt_int(page, "next");
        json_decref(page);
        if (next <= from) {
            assert_int_equal(expect - 1, last);
            return last;
        }
        from = next;
    }
}

/* ------------------------------------------------------------ the test ---- */

static int s_setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    assert_non_null(w);
    hbt_mkdtemp(w->root, sizeof w->root, "crash");
    hbt_hq_init(&w->hq, w->root);
    hbt_hq_start(&w->hq);
    hbt_hall_enroll(&w->hq, &w->hall, "HALL-K");
    hbt_hall_set_engine(&w->hall, HBT_POLICY_ALWAYS_OPEN, NULL);
    /* Frequent snapshots, so restarts restore one and replay after it. */
    hbt_hall_arg(&w->hall, "--snapshot_every", "1s");
    pthread_mutex_init(&w->killer.lock, NULL);
    pthread_cond_init(&w->killer.cond, NULL);
    assert_int_equal(pthread_create(&w->killer.thread, NULL, s_killer_main, &w->killer), 0);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    pthread_mutex_lock(&w->killer.lock);
    w->killer.quit = true;
    pthread_cond_broadcast(&w->killer.cond);
    pthread_mutex_unlock(&w->killer.lock);
    pthread_join(w->killer.thread, NULL);
    pthread_mutex_destroy(&w->killer.lock);
    pthread_cond_destroy(&w->killer.cond);
    hbt_hall_stop(&w->hall, SIGTERM);
    hbt_hq_stop(&w->hq, SIGTERM);
    hbt_rmdir(w->root);
    free(w);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_kill9_in_a_busy_day_loses_nothing)
{
    world_t *w = *state;
    uint64_t seed = 20261202;
    const char *env = getenv("HB_TEST_SEED");
    if (env)
        seed = strtoull(env, NULL, 10);
    hb_sim_rng_seed(&w->rng, seed);
    int64_t started = hbt_now_ms();
    hbt_hall_start(&w->hall);

    static const char *const services[COUNTERS] = {"ABC", "A", "BC", "AB"};
    for (int c = 0; c < COUNTERS; c++) {
        snprintf(w->c[c].id, sizeof w->c[c].id, "%d", c + 1);
        w->c[c].services = services[c];
        w->c[c].state = C_CLOSED;
        w->c[c].ticket = -1;
    }
    json_t *view = s_hall_view(w);
    const char *date = json_string_value(json_object_get(view, "date"));
    snprintf(w->date, sizeof w->date, "%s", date ? date : "");
    json_decref(view);
    for (int i = 0; i < 3; i++)
        w->fresh_day[i] = true; /* the first ticket of the day is number 1 */
    for (int c = 0; c < COUNTERS; c++) {
        action_t a = {.kind = A_OPEN, .ti = -1, .ci = c, .ki = -1};
        json_t *resp = NULL;
        int status = s_send(w, &a, &resp);
        s_answered(w, &a, status, resp);
        json_decref(resp);
    }

    /* The kills: at seeded actions, each a seeded time into its request. */
    int kill_at[KILLS];
    for (int i = 0; i < KILLS; i++)
        kill_at[i] = (int)(200 + (ACTIONS - 300) * (i + hb_sim_u01(&w->rng) * 0.8) / KILLS);
    int next_kill = 0;

    for (int n = 0; n < ACTIONS; n++) {
        action_t a;
        s_choose(w, &a);
        bool killing = next_kill < KILLS && n == kill_at[next_kill];
        if (killing) {
            long delay = (long)hb_sim_between(&w->rng, 0, KILL_DELAY_MAX_US);
            s_killer_arm(&w->killer, w->hall.proc.pid, delay);
        }
        json_t *resp = NULL;
        int status = s_send(w, &a, &resp);
        if (!killing) {
            s_answered(w, &a, status, resp);
            json_decref(resp);
            continue;
        }
        next_kill++;
        s_killer_wait(&w->killer);
        hbt_hall_stop(&w->hall, SIGKILL);
        w->kills++;
        bool in_flight = status < 0;
        if (!in_flight)
            s_answered(w, &a, status, resp); /* answered before the kill: it happened */
        json_decref(resp);
        int64_t t0 = hbt_now_ms();
        hbt_hall_start(&w->hall);
        w->restart_ms += hbt_now_ms() - t0;
        w->restarts++;
        if (in_flight) {
            w->in_flight++;
            bool done = s_settle(w, &a);
            w->in_flight_done += done;
            fprintf(stderr, "crash: kill %d at action %d: %s in flight, %s after the restart\n",
                    w->kills, n, s_action_names[a.kind], done ? "done" : "not done");
        } else {
            fprintf(stderr, "crash: kill %d at action %d: after the answer to %s\n", w->kills, n,
                    s_action_names[a.kind]);
        }
        s_check(w);
        s_check_numbering(w);
    }
    s_check(w);
    assert_int_equal(w->kills, KILLS);

    /* HQ holds the hall's whole stream, numbered without a hole, with one
     * ticket_issued per ticket and one complaint_opened per complaint the
     * hall answered for. */
    assert_true(hbt_wait_synced(&w->hq, &w->hall, 30000));
    hbt_assert_synced(&w->hq, &w->hall);
    int64_t last = s_check_hq_stream(w);
    assert_int_equal(hbt_hq_count_type(&w->hq, w->hall.id, "ticket_issued"), w->nt);
    assert_int_equal(hbt_hq_count_type(&w->hq, w->hall.id, "complaint_opened"), w->nk);

    int served = 0, no_shows = 0, cancelled = 0, waiting = s_waiting(w, 0);
    for (int i = 0; i < w->nt; i++) {
        served += w->t[i].state == T_SERVED;
        no_shows += w->t[i].state == T_NO_SHOW;
        cancelled += w->t[i].state == T_CANCELLED;
    }
    fprintf(stderr,
            "crash: seed %llu, %d actions in %.1f s: %d tickets (%d served, %d no-shows, %d "
            "cancelled, %d transfers, %d still waiting), %d calls, %d recalls, %d complaints "
            "(%d acknowledged, %d resolved)\n",
            (unsigned long long)seed, ACTIONS, (double)(hbt_now_ms() - started) / 1000.0, w->nt,
            served, no_shows, cancelled, w->done[A_TRANSFER], waiting, w->done[A_CALL],
            w->done[A_RECALL], w->nk, w->done[A_ACK], w->done[A_RESOLVE]);
    fprintf(stderr,
            "crash: %d kills (%d in the middle of a request: %d of those done, %d not), %d "
            "restarts averaging %lld ms, %d full checks; HQ holds events 1..%lld, digest equal\n",
            w->kills, w->in_flight, w->in_flight_done, w->in_flight - w->in_flight_done,
            w->restarts, (long long)(w->restarts ? w->restart_ms / w->restarts : 0), w->checks,
            (long long)last);
}
