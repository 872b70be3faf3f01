/* The change stream (see sse.h). The ring holds each event as its complete
 * SSE frame ("id: N\nevent: T\ndata: {...}\n\n"), so a replay is a copy.
 * Clients filter by hall, by a region anywhere in the hall's region path,
 * and by event type. */
#include "sse.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_FILTER_MAX 128
#define SSE_TYPES_MAX 8

typedef struct sse_event {
    uint64_t id;
    char type[16];
    char hall[40];
    char *region; /* "CN/P01/C001" or NULL */
    char *frame;
    size_t len;
} sse_event_t;

typedef struct sse_client {
    hq_sse_t *sse;
    hb_http_stream_t *stream;
    struct sse_client *prev, *next;
    char hall[SSE_FILTER_MAX];
    char region[SSE_FILTER_MAX];
    size_t n_types;
    char types[SSE_TYPES_MAX][16];
    bool dropping;
    hq_sse_owner_t owner;
} sse_client_t;

struct hq_sse {
    hq_sse_config_t cfg;
    uv_timer_t heartbeat;
    sse_event_t *ring; /* circular, cfg.ring_events slots */
    size_t head, count, bytes;
    uint64_t next_id;
    sse_client_t *clients;
    hq_sse_stats_t stats;
    bool destroying;
};

static void s_event_clear(sse_event_t *e)
{
    free(e->region);
    free(e->frame);
    memset(e, 0, sizeof *e);
}

static sse_event_t *s_at(hq_sse_t *s, size_t i) /* i-th oldest */
{
    return &s->ring[(s->head + i) % s->cfg.ring_events];
}

static void s_drop_oldest(hq_sse_t *s)
{
    sse_event_t *e = s_at(s, 0);
    s->bytes -= e->len;
    s_event_clear(e);
    s->head = (s->head + 1) % s->cfg.ring_events;
    s->count--;
}

static bool s_region_matches(const char *path, const char *want)
{
    /* A whole path element: "P01" matches "CN/P01/C001", not "CN/P011". */
    size_t n = strlen(want);
    for (const char *p = path; p && *p;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == n && memcmp(p, want, n) == 0)
            return true;
        p = slash ? slash + 1 : NULL;
    }
    return false;
}

static bool s_wants(const sse_client_t *c, const sse_event_t *e)
{
    if (!c->owner.sees(c->owner.who, e->type, e->hall, e->region))
        return false;
    if (c->hall[0] && strcmp(c->hall, e->hall) != 0)
        return false;
    if (c->region[0] && (!e->region || !s_region_matches(e->region, c->region)))
        return false;
    if (c->n_types) {
        bool any = false;
        for (size_t i = 0; i < c->n_types && !any; i++)
            any = strcmp(c->types[i], e->type) == 0;
        if (!any)
            return false;
    }
    return true;
}

/* Marks a client to drop; the stream is closed by s_reap, after the walk
 * that found it (a close may free the client at once). */
static void s_client_drop(sse_client_t *c, const char *why)
{
    if (c->dropping)
        return;
    c->dropping = true;
    c->sse->stats.clients_dropped++;
    hb_log_once("sse-drop", HB_LOG_INFO, "stream: dropping a client (%s); it may resume", why);
}

static void s_reap(hq_sse_t *s)
{
    for (sse_client_t *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (c->dropping && c->stream) {
            hb_http_stream_t *st = c->stream;
            c->stream = NULL;
            hb_http_stream_close(st);
        }
    }
}

static void s_write(sse_client_t *c, const char *data, size_t len)
{
    if (c->dropping || !c->stream)
        return;
    int rc = hb_http_stream_write(c->stream, data, len);
    if (rc != 0)
        s_client_drop(c, rc == HB_ETOOBIG ? "it does not keep up" : hb_strerror(rc));
}

uint64_t hq_sse_publish(hq_sse_t *s, const char *type, const char *hall, const char *region,
                        const json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT);
    if (!text)
        return 0;
    uint64_t id = hq_sse_publish_text(s, type, hall, region, text, strlen(text));
    free(text);
    return id;
}

uint64_t hq_sse_publish_text(hq_sse_t *s, const char *type, const char *hall, const char *region,
                             const char *text, size_t tlen)
{
    uint64_t id = ++s->next_id;
    size_t cap = tlen + strlen(type) + 64;
    char *frame = malloc(cap);
    if (!frame)
        return id;
    int n = snprintf(frame, cap, "id: %" PRIu64 "\nevent: %s\ndata: %.*s\n\n", id, type, (int)tlen,
                     text);
    size_t len = n > 0 ? (size_t)n : 0;
    while (s->count > 0 && (s->count >= s->cfg.ring_events || s->bytes + len > s->cfg.ring_bytes))
        s_drop_oldest(s);
    sse_event_t *e = &s->ring[(s->head + s->count) % s->cfg.ring_events];
    e->id = id;
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->hall, sizeof e->hall, "%s", hall ? hall : "");
    e->region = region ? strdup(region) : NULL;
    e->frame = frame;
    e->len = len;
    s->count++;
    s->bytes += len;
    s->stats.published++;
    for (sse_client_t *c = s->clients, *next; c; c = next) {
        next = c->next; /* a write may drop (and free) the client */
        if (s_wants(c, e))
            s_write(c, e->frame, e->len);
    }
    s_reap(s);
    return id;
}

uint64_t hq_sse_last_id(const hq_sse_t *s) { return s->next_id; }

static void s_client_free(sse_client_t *c)
{
    if (c->owner.release)
        c->owner.release(c->owner.who);
    free(c);
}

static void s_on_closed(hb_http_stream_t *st, void *arg)
{
    (void)st;
    sse_client_t *c = arg;
    hq_sse_t *s = c->sse;
    if (!s) { /* detached by hq_sse_destroy */
        s_client_free(c);
        return;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->stats.clients--;
    s_client_free(c);
}

size_t hq_sse_close_owned(hq_sse_t *s, bool (*stale)(void *who, void *arg), void *arg)
{
    size_t n = 0;
    for (sse_client_t *c = s->clients; c; c = c->next) {
        if (!c->dropping && stale(c->owner.who, arg)) {
            c->dropping = true;
            n++;
        }
    }
    s_reap(s);
    return n;
}

static void s_on_heartbeat(uv_timer_t *t)
{
    hq_sse_t *s = t->data;
    for (sse_client_t *c = s->clients, *next; c; c = next) {
        next = c->next;
        s_write(c, ": ping\n\n", 8);
    }
    s_reap(s);
}

int hq_sse_new(uv_loop_t *loop, const hq_sse_config_t *cfg, hq_sse_t **out)
{
    hq_sse_t *s = calloc(1, sizeof *s);
    if (!s)
        return HB_ENOMEM;
    s->cfg = *cfg;
    if (s->cfg.ring_events < 16)
        s->cfg.ring_events = 16;
    s->ring = calloc(s->cfg.ring_events, sizeof *s->ring);
    if (!s->ring) {
        free(s);
        return HB_ENOMEM;
    }
    /* Ids go on rising across restarts: this run's start in ms times 1024
     * is past anything an earlier run could have numbered (unless it
     * published a million events a second), so a client resuming with an
     * id of an earlier run is told to reset instead of waiting for ids that
     * will not come. It stays below 2^53, exact in JavaScript. */
    s->next_id = (uint64_t)hb_now_ms() * 1024;
    uv_timer_init(loop, &s->heartbeat);
    s->heartbeat.data = s;
    uv_timer_start(&s->heartbeat, s_on_heartbeat, (uint64_t)cfg->heartbeat_ms,
                   (uint64_t)cfg->heartbeat_ms);
    *out = s;
    return 0;
}

static void s_on_timer_closed(uv_handle_t *h)
{
    hq_sse_t *s = h->data;
    for (size_t i = 0; i < s->count; i++)
        s_event_clear(s_at(s, i));
    free(s->ring);
    free(s);
}

void hq_sse_destroy(hq_sse_t **sp)
{
    hq_sse_t *s = *sp;
    if (!s)
        return;
    *sp = NULL;
    s->destroying = true;
    for (sse_client_t *c = s->clients, *next; c; c = next) {
        next = c->next;
        /* Its close callback frees it; detached from us first, since the
         * stream may end later than we do. */
        c->sse = NULL;
        c->dropping = true;
        if (c->stream)
            hb_http_stream_close(c->stream);
    }
    s->clients = NULL;
    uv_timer_stop(&s->heartbeat);
    uv_close((uv_handle_t *)&s->heartbeat, s_on_timer_closed);
}

/* The Last-Event-ID header a browser sends on reconnect, else ?since=N:
 * the header first, since a reconnecting EventSource keeps its first URL
 * (and its since) but knows better where it stopped. */
static int s_since(hb_http_req_t *req, uint64_t *since, bool *given)
{
    char buf[32];
    int rc = hb_http_header(req, "last-event-id", buf, sizeof buf);
    if (rc == HB_ENOTFOUND)
        rc = hb_http_query(req, "since", buf, sizeof buf);
    if (rc == HB_ENOTFOUND) {
        *given = false;
        return 0;
    }
    char *end;
    unsigned long long v = rc == 0 ? strtoull(buf, &end, 10) : 0;
    if (rc != 0 || buf[0] < '0' || buf[0] > '9' || *end) {
        hb_http_reply_error(req, 400, "bad_parameter",
                            "since (or Last-Event-ID) must be an event id, a whole number");
        return HB_EINVAL;
    }
    *since = v;
    *given = true;
    return 0;
}

void hq_sse_serve(hq_sse_t *s, hb_http_req_t *req, const hq_sse_owner_t *owner)
{
    if (s->destroying) {
        owner->release(owner->who);
        hb_http_reply_error(req, 503, "unavailable", "HQ is stopping");
        return;
    }
    if (s->stats.clients >= s->cfg.max_clients) {
        owner->release(owner->who);
        hb_http_reply_error(req, 503, "too_many_streams", "%zu streams are open already",
                            s->stats.clients);
        return;
    }
    uint64_t since = 0;
    bool given = false;
    if (s_since(req, &since, &given) != 0) {
        owner->release(owner->who);
        return;
    }
    sse_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        owner->release(owner->who);
        hb_http_reply_error(req, 503, "unavailable", "out of memory");
        return;
    }
    c->sse = s;
    c->owner = *owner;
    char types[128];
    if ((hb_http_query(req, "hall", c->hall, sizeof c->hall) != 0 && c->hall[0]) ||
        (hb_http_query(req, "region", c->region, sizeof c->region) != 0 && c->region[0])) {
        s_client_free(c);
        hb_http_reply_error(req, 400, "bad_parameter", "hall and region must be ids");
        return;
    }
    if (hb_http_query(req, "types", types, sizeof types) == 0) {
        for (char *tok = strtok(types, ","); tok && c->n_types < SSE_TYPES_MAX;
             tok = strtok(NULL, ","))
            snprintf(c->types[c->n_types++], sizeof c->types[0], "%s", tok);
    }
    c->stream =
        hb_http_stream_start(req, 200, "text/event-stream", s->cfg.client_queue, s_on_closed, c);
    if (!c->stream) {
        s_client_free(c);
        return;
    }
    c->next = s->clients;
    if (c->next)
        c->next->prev = c;
    s->clients = c;
    s->stats.clients++;
    char hello[128];
    int n = snprintf(hello, sizeof hello,
                     "retry: 1000\nevent: hello\ndata: {\"last_id\":%" PRIu64 "}\n\n", s->next_id);
    s_write(c, hello, (size_t)n);
    if (!given) {
        s_reap(s);
        return;
    }
    uint64_t oldest = s->count ? s_at(s, 0)->id : s->next_id + 1;
    if (since + 1 < oldest && since < s->next_id) {
        /* Some events the client did not see are gone: it must reload. */
        s->stats.resets++;
        n = snprintf(hello, sizeof hello,
                     "event: reset\ndata: {\"since\":%" PRIu64 ",\"oldest\":%" PRIu64 "}\n\n",
                     since, oldest);
        s_write(c, hello, (size_t)n);
        s_reap(s);
        return;
    }
    s->stats.resumed++;
    for (size_t i = 0; i < s->count && !c->dropping; i++) {
        const sse_event_t *e = s_at(s, i);
        if (e->id > since && s_wants(c, e))
            s_write(c, e->frame, e->len);
    }
    s_reap(s);
}

void hq_sse_get_stats(const hq_sse_t *s, hq_sse_stats_t *out)
{
    *out = s->stats;
    out->last_id = s->next_id;
    out->oldest_id = s->count ? s->ring[s->head].id : 0;
    out->ring_events = s->count;
    out->ring_bytes = s->bytes;
}
