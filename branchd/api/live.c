/* The hall's live stream for its pages (GET /v1/hall/events): every event
 * the hall commits, as Server-Sent Events whose ids are the hall's own
 * event sequence, so that a page resumes with Last-Event-ID after a
 * reconnect or a branchd restart (the outbox still holds what it missed,
 * for `retention`); plus the hall's view (`event: hall`) on connect and,
 * coalesced, after changes. docs/API.md states the contract.
 *
 * Runs on the loop thread. Events are read back from the outbox after each
 * commit (engine's on_append), so this file decides nothing and sees
 * exactly what HQ will. A client that does not read is dropped; it
 * reconnects and resumes. Not here: what the events mean (the reducer). */
#include "api.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_CLIENTS_MAX 64
#define LIVE_QUEUE_MAX (1 << 20) /* bytes queued per client before it is dropped */
#define LIVE_HALL_EVERY_MS 1000  /* the hall's view at most this often */
#define LIVE_PING_MS 15000
#define LIVE_REPLAY_MAX 10000 /* events replayed on a resume, at most */

typedef struct live_client {
    hb_http_stream_t *stream; /* NULL: the slot is free */
    bool whole;               /* sees every event whole (the manager) */
    uint64_t next;            /* the next sequence it is owed */
    int64_t last_write_ms;
    bool dropping;
} live_client_t;

struct branchd_live {
    branchd_t *d;
    live_client_t clients[LIVE_CLIENTS_MAX];
    size_t n_open;
    uint64_t sent; /* events sent up to here */
    bool hall_due;
    int64_t hall_ms;
};

int branchd_live_new(branchd_t *d, branchd_live_t **out)
{
    branchd_live_t *l = calloc(1, sizeof *l);
    if (!l)
        return HB_ENOMEM;
    l->d = d;
    l->sent = outbox_last_seq(d->outbox);
    *out = l;
    return 0;
}

void branchd_live_destroy(branchd_live_t **lp)
{
    if (!lp || !*lp)
        return;
    branchd_live_t *l = *lp;
    for (size_t i = 0; i < LIVE_CLIENTS_MAX; i++) {
        if (l->clients[i].stream)
            hb_http_stream_close(l->clients[i].stream);
    }
    free(l);
    *lp = NULL;
}

static void s_write(branchd_live_t *l, live_client_t *c, const char *text, size_t len)
{
    if (!c->stream || c->dropping)
        return;
    if (hb_http_stream_write(c->stream, text, len) != 0) {
        /* Too slow or gone: it resumes from its Last-Event-ID. */
        c->dropping = true;
        hb_log_once("live-drop", HB_LOG_INFO, "live stream: dropping a slow client; it resumes");
        hb_http_stream_close(c->stream);
        return;
    }
    c->last_write_ms = hb_now_ms();
    (void)l;
}

/* Free texts are the manager's: the other pages get events without them. */
static const char *const s_texts[] = {"text", "reason", "detail", "note", "resolution", "topics"};

/* Which kinds a page other than the manager's sees at all. */
static bool s_public_kind(const char *type)
{
    static const char *const prefixes[] = {"ticket_", "service_",      "counter_",    "device_",
                                           "day_",    "satisfaction_", "appointment_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(type, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* One event as an SSE message, for whole readers or for the others. */
static char *s_message(branchd_live_t *l, uint64_t seq, const uint8_t *data, size_t len, bool whole)
{
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    if (!env)
        return NULL;
    const char *type = hb_event_type_name(env);
    json_t *j = whole || s_public_kind(type) ? hb_event_to_json(env) : NULL;
    char *text = NULL;
    if (j) {
        if (!whole)
            for (size_t i = 0; i < sizeof s_texts / sizeof s_texts[0]; i++)
                json_object_del(j, s_texts[i]);
        /* A display speaks a call without a lookup. */
        if (env->body_case == HALLBUS__ENVELOPE__BODY_TICKET_CALLED) {
            const hb_hs_ticket_t *t =
                hb_hall_state_ticket_any(engine_state(l->d->engine), env->ticket_called->ticket);
            if (t) {
                json_object_set_new(j, "service", json_string(t->service));
                json_object_set_new(j, "number", json_integer(t->number));
            }
        }
        char *body = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (body) {
            size_t n = strlen(body) + 96;
            text = malloc(n);
            if (text)
                snprintf(text, n, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)seq,
                         type, body);
            free(body);
        }
    } else {
        /* Not this page's: only its id moves, so a resume does not replay it. */
        text = malloc(64);
        if (text)
            snprintf(text, 64, "id: %llu\n: -\n\n", (unsigned long long)seq);
    }
    hb_envelope_free(env);
    return text;
}

typedef struct read_ctx {
    branchd_live_t *l;
    live_client_t *only; /* a resume: this client alone */
    uint64_t last;
} read_ctx_t;

static int s_each(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    read_ctx_t *x = arg;
    x->last = seq;
    char *msg[2] = {NULL, NULL}; /* [whole] */
    for (size_t i = 0; i < LIVE_CLIENTS_MAX; i++) {
        live_client_t *c = &x->l->clients[i];
        if (!c->stream || c->dropping || (x->only && c != x->only) || c->next > seq)
            continue;
        if (!msg[c->whole])
            msg[c->whole] = s_message(x->l, seq, data, len, c->whole);
        if (msg[c->whole])
            s_write(x->l, c, msg[c->whole], strlen(msg[c->whole]));
        c->next = seq + 1;
    }
    free(msg[0]);
    free(msg[1]);
    return 0;
}

static void s_send_hall(branchd_live_t *l, live_client_t *only)
{
    json_t *v = branchd_hall_view(l->d, hb_now_ms());
    char *body = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!body)
        return;
    size_t n = strlen(body) + 32;
    char *text = malloc(n);
    if (text) {
        snprintf(text, n, "event: hall\ndata: %s\n\n", body);
        for (size_t i = 0; i < LIVE_CLIENTS_MAX; i++) {
            live_client_t *c = &l->clients[i];
            if (c->stream && (!only || c == only))
                s_write(l, c, text, strlen(text));
        }
    }
    free(text);
    free(body);
    l->hall_ms = hb_now_ms();
    l->hall_due = false;
}

void branchd_live_notify(branchd_live_t *l)
{
    uint64_t last = outbox_last_seq(l->d->outbox);
    if (last <= l->sent)
        return;
    if (l->n_open > 0) {
        read_ctx_t x = {.l = l};
        outbox_read(l->d->outbox, l->sent + 1, (size_t)(last - l->sent), 16u << 20, s_each, &x);
        l->hall_due = true;
    }
    l->sent = last;
}

void branchd_live_tick(branchd_live_t *l)
{
    int64_t now = hb_now_ms();
    if (l->hall_due && now - l->hall_ms >= LIVE_HALL_EVERY_MS)
        s_send_hall(l, NULL);
    for (size_t i = 0; i < LIVE_CLIENTS_MAX; i++) {
        live_client_t *c = &l->clients[i];
        if (c->stream && !c->dropping && now - c->last_write_ms >= LIVE_PING_MS)
            s_write(l, c, ": ping\n\n", 8);
    }
}

static void s_on_closed(hb_http_stream_t *st, void *arg)
{
    live_client_t *c = arg;
    (void)st;
    c->stream = NULL;
    c->dropping = false;
    /* The owner counts open slots by walking; nothing else to free. */
}

/* Where a client resumes: Last-Event-ID, else ?since=, else now. */
static int s_since(hb_http_req_t *req, uint64_t *since, bool *given)
{
    char v[32];
    *given = false;
    int rc = hb_http_header(req, "last-event-id", v, sizeof v);
    if (rc != 0)
        rc = hb_http_query(req, "since", v, sizeof v);
    if (rc == HB_ENOTFOUND)
        return 0;
    char *end = NULL;
    unsigned long long n = rc == 0 && v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
    if (rc != 0 || !end || *end)
        return HB_EINVAL;
    *since = n;
    *given = true;
    return 0;
}

void branchd_api_get_live(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    branchd_live_t *l = d->live;
    uint64_t since = 0;
    bool given;
    if (!l) {
        hb_http_reply_error(req, 503, "unavailable", "the live stream is not running");
        return;
    }
    if (s_since(req, &since, &given) != 0) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_parameter",
                            "Last-Event-ID (or since) must be an event sequence number");
        return;
    }
    live_client_t *c = NULL;
    l->n_open = 0;
    for (size_t i = 0; i < LIVE_CLIENTS_MAX; i++) {
        if (l->clients[i].stream)
            l->n_open++;
        else if (!c)
            c = &l->clients[i];
    }
    if (!c) {
        hb_http_reply_error(req, 503, "too_many_streams", "%d streams are open already",
                            LIVE_CLIENTS_MAX);
        return;
    }
    const access_caller_t *who = branchd_caller(req);
    memset(c, 0, sizeof *c);
    c->whole = who && (who->perms & ACCESS_PERM(HB_PERM_COMPLAINT_HANDLE));
    c->next = UINT64_MAX; /* owed nothing until the replay below */
    c->stream = hb_http_stream_start(req, 200, "text/event-stream", LIVE_QUEUE_MAX, s_on_closed, c);
    if (!c->stream)
        return;
    l->n_open++;
    s_write(l, c, "retry: 2000\n\n", 13);
    /* Whatever was committed before now is sent to the others first, so
     * that this client's replay and the live part meet exactly. */
    branchd_live_notify(l);
    s_send_hall(l, c);
    uint64_t last = l->sent;
    if (given && c->stream) {
        uint64_t first = outbox_first_seq(d->outbox);
        uint64_t from = since + 1;
        if (since > last || (from <= last && first > from) || last - since > LIVE_REPLAY_MAX) {
            uint64_t to =
                since > last ? since : (first > from ? first - 1 : last - LIVE_REPLAY_MAX);
            char gap[96];
            int n = snprintf(gap, sizeof gap, "event: gap\ndata: {\"from\":%llu,\"to\":%llu}\n\n",
                             (unsigned long long)from, (unsigned long long)to);
            s_write(l, c, gap, (size_t)n);
            from = to + 1;
        }
        if (from <= last) {
            c->next = from;
            read_ctx_t x = {.l = l, .only = c};
            outbox_read(d->outbox, from, (size_t)(last - from + 1), 64u << 20, s_each, &x);
        }
    }
    if (c->stream)
        c->next = last + 1;
}
