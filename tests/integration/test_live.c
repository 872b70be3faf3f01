/* Head office live, with real processes: the board shows every connected
 * hall's tile; a new ticket at a hall changes its tile on the change stream
 * within a second; a client that reconnects with Last-Event-ID gets every
 * change it missed, in order; one that was away longer than the ring keeps
 * is told to reset; and a hall that stops is shown offline. The region
 * aggregates count each hall in its city, province and root, follow the
 * organisation and time, and name the stream id to follow them from. */
#include "harness.h"

#include "hallbus/httpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runner.h"
#include "world.h"

/* ---- a small SSE client: raw socket, chunked decoding, one event at a time */

typedef struct sse {
    int fd;
    char buf[1 << 16]; /* decoded body not yet consumed */
    size_t n;
    char raw[1 << 16]; /* bytes read, not yet de-chunked */
    size_t rn;
    bool headers_done;
} sse_t;

typedef struct ev {
    int64_t id;
    char type[32];
    json_t *data;
} ev_t;

static sse_t *s_sse_open(const char *http_base, const char *path, const char *last_id)
{
    int port = atoi(strrchr(http_base, ':') + 1);
    sse_t *s = calloc(1, sizeof *s);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_usec = 100000};
    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[768];
    /* HQ answers its own Host names, and whoever shows a token. */
    const char *token = hbt_http_token(http_base);
    int len =
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                 "Accept: text/event-stream\r\n%s%s%s\r\n",
                 path, strstr(http_base, "//") + 2, token ? token : "-",
                 last_id ? "Last-Event-ID: " : "", last_id ? last_id : "", last_id ? "\r\n" : "");
    assert_int_equal(send(s->fd, req, (size_t)len, 0), len);
    return s;
}

static void s_sse_close(sse_t **sp)
{
    close((*sp)->fd);
    free(*sp);
    *sp = NULL;
}

/* Moves whole chunks from raw to buf. */
static void s_dechunk(sse_t *s)
{
    if (!s->headers_done) {
        s->raw[s->rn] = '\0';
        char *end = strstr(s->raw, "\r\n\r\n");
        if (!end)
            return;
        assert_non_null(strstr(s->raw, "200"));
        size_t hl = (size_t)(end - s->raw) + 4;
        memmove(s->raw, s->raw + hl, s->rn - hl);
        s->rn -= hl;
        s->headers_done = true;
    }
    for (;;) {
        s->raw[s->rn] = '\0';
        char *crlf = strstr(s->raw, "\r\n");
        if (!crlf)
            return;
        size_t size = strtoul(s->raw, NULL, 16);
        size_t hl = (size_t)(crlf - s->raw) + 2;
        if (s->rn < hl + size + 2)
            return;
        assert_true(s->n + size < sizeof s->buf);
        memcpy(s->buf + s->n, s->raw + hl, size);
        s->n += size;
        memmove(s->raw, s->raw + hl + size + 2, s->rn - hl - size - 2);
        s->rn -= hl + size + 2;
    }
}

/* The next event (comments skipped) within `timeout_ms`; false on timeout. */
static bool s_sse_next(sse_t *s, ev_t *ev, int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms;
    for (;;) {
        s->buf[s->n] = '\0';
        char *end = strstr(s->buf, "\n\n");
        while (end) {
            size_t flen = (size_t)(end - s->buf) + 2;
            char frame[1 << 14];
            assert_true(flen < sizeof frame);
            memcpy(frame, s->buf, flen);
            frame[flen] = '\0';
            memmove(s->buf, s->buf + flen, s->n - flen);
            s->n -= flen;
            memset(ev, 0, sizeof *ev);
            ev->id = -1;
            bool any = false;
            for (char *line = strtok(frame, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "id: ", 4) == 0)
                    ev->id = atoll(line + 4);
                else if (strncmp(line, "event: ", 7) == 0)
                    snprintf(ev->type, sizeof ev->type, "%s", line + 7), any = true;
                else if (strncmp(line, "data: ", 6) == 0)
                    ev->data = json_loads(line + 6, 0, NULL);
            }
            if (any)
                return true;
            s->buf[s->n] = '\0';
            end = strstr(s->buf, "\n\n");
        }
        if (hbt_now_ms() >= deadline)
            return false;
        ssize_t got = recv(s->fd, s->raw + s->rn, sizeof s->raw - 1 - s->rn, 0);
        if (got > 0) {
            s->rn += (size_t)got;
            s_dechunk(s);
        } else if (got == 0) {
            return false;
        }
    }
}

/* Waits for a tile event of `hall` whose member `name` equals `value`. */
static int64_t s_wait_tile(sse_t *s, const char *hall, const char *name, int64_t value,
                           int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms;
    ev_t ev;
    while (hbt_now_ms() < deadline && s_sse_next(s, &ev, (int)(deadline - hbt_now_ms()))) {
        bool hit = strcmp(ev.type, "tile") == 0 && ev.data &&
                   strcmp(json_string_value(json_object_get(ev.data, "hall")), hall) == 0 &&
                   hbt_int(ev.data, name) == value;
        int64_t id = ev.id;
        json_decref(ev.data);
        if (hit)
            return id;
    }
    return -1;
}

/* The value of one Prometheus sample line ("name{labels} value"). */
static double s_metric(const char *base, const char *sample)
{
    hb_httpc_resp_t resp;
    assert_int_equal(hbt_http_raw(base, "GET", "/metrics", NULL, &resp), 0);
    assert_int_equal(resp.status, 200);
    double v = -1;
    for (char *line = strtok(resp.body, "\n"); line; line = strtok(NULL, "\n")) {
        size_t n = strlen(sample);
        if (strncmp(line, sample, n) == 0 && line[n] == ' ')
            v = strtod(line + n + 1, NULL);
    }
    hb_httpc_resp_free(&resp);
    return v;
}

static int s_ticket(hbt_hall_t *h)
{
    return hbt_http(h->http, "POST", "/v1/tickets", "{\"service\":\"A\"}", NULL);
}

/* A small ring, so that a long absence is longer than it reaches; a hall
 * silent for 3 s is offline (halls beat every 500 ms here), so that the
 * stopped hall's wait is not the default 10 s. */
static const hbt_world_spec_t s_world = {
    .tag = "live",
    .halls = {"LA", "LB"},
    .hq_args = {"--stream_ring", "16", "--offline_after", "3s"},
    .engine = true,
    .start = true};

#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

HBT_TEST(test_board_and_stream)
{
    hbt_world_t *w = *state;
    /* Both halls appear on the board once connected. */
    int64_t deadline = hbt_now_ms() + 10000;
    json_t *board = NULL;
    while (hbt_now_ms() < deadline) {
        json_decref(board);
        board = hbt_get(w->hq.http, "/v1/live/halls");
        if (board && hbt_int(board, "total") == 2 &&
            json_is_true(
                json_object_get(json_array_get(json_object_get(board, "halls"), 1), "online")))
            break;
        hbt_sleep_ms(100);
    }
    assert_non_null(board);
    assert_int_equal(hbt_int(board, "total"), 2);
    json_decref(board);
    /* /metrics on both daemons, in Prometheus text. */
    assert_true(s_metric(w->hq.http, "hallbus_hq_halls_connected") == 2);
    assert_true(s_metric(w->hq.http, "hallbus_hq_refused_total{reason=\"malformed\"}") == 0);
    assert_true(s_metric(w->hq.http, "hallbus_hq_store_bytes") > 0);
    assert_true(s_metric(w->hall[0].http, "hallbus_hall_connected") == 1);
    assert_true(s_metric(w->hall[0].http, "hallbus_hall_waiting") == 0);

    sse_t *s = s_sse_open(w->hq.http, "/v1/stream", NULL);
    ev_t ev;
    assert_true(s_sse_next(s, &ev, 2000));
    assert_string_equal(ev.type, "hello");
    json_decref(ev.data);
    /* A new ticket: the tile changes on the stream within a second. */
    int64_t t0 = hbt_now_ms();
    assert_int_equal(s_ticket(&w->hall[0]), 201);
    int64_t id1 = s_wait_tile(s, "LA", "waiting", 1, 3000);
    int64_t took = hbt_now_ms() - t0;
    fprintf(stderr, "a ticket at LA reached the stream in %lld ms\n", (long long)took);
    assert_true(id1 > 0);
    assert_true(took < 1000);
    /* Away for a while: three more tickets happen meanwhile. */
    s_sse_close(&s);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_ticket(&w->hall[0]), 201);
    hbt_sleep_ms(1200);
    char last[32];
    snprintf(last, sizeof last, "%lld", (long long)id1);
    s = s_sse_open(w->hq.http, "/v1/stream", last);
    assert_true(s_sse_next(s, &ev, 2000));
    assert_string_equal(ev.type, "hello");
    json_decref(ev.data);
    /* Resumed: every change after id1, in order, up to waiting == 4. */
    int64_t prev = id1, waiting = 1;
    while (waiting < 4 && s_sse_next(s, &ev, 3000)) {
        assert_true(ev.id > prev);
        prev = ev.id;
        if (strcmp(ev.type, "tile") == 0 &&
            strcmp(json_string_value(json_object_get(ev.data, "hall")), "LA") == 0) {
            assert_true(hbt_int(ev.data, "waiting") >= waiting);
            waiting = hbt_int(ev.data, "waiting");
        }
        json_decref(ev.data);
    }
    assert_int_equal(waiting, 4);
    s_sse_close(&s);
    assert_true(s_metric(w->hall[0].http, "hallbus_hall_waiting") == 4);
    assert_true(s_metric(w->hq.http, "hallbus_hq_stream_events_total") >= 4);

    /* Filtered by hall: only LB's tiles. */
    s = s_sse_open(w->hq.http, "/v1/stream?hall=LB", NULL);
    assert_true(s_sse_next(s, &ev, 2000));
    json_decref(ev.data);
    assert_int_equal(s_ticket(&w->hall[0]), 201);
    assert_int_equal(s_ticket(&w->hall[1]), 201);
    assert_true(s_wait_tile(s, "LB", "waiting", 1, 3000) > 0);
    s_sse_close(&s);

    /* Away longer than the ring (16 events) reaches: told to reset. Each
     * board round sends a hall's tile once, so the tickets are spread over
     * rounds. */
    for (int i = 0; i < 12; i++) {
        assert_int_equal(s_ticket(&w->hall[0]), 201);
        assert_int_equal(s_ticket(&w->hall[1]), 201);
        hbt_sleep_ms(300);
    }
    hbt_sleep_ms(500);
    s = s_sse_open(w->hq.http, "/v1/stream", last);
    assert_true(s_sse_next(s, &ev, 2000));
    json_decref(ev.data);
    assert_true(s_sse_next(s, &ev, 2000));
    assert_string_equal(ev.type, "reset");
    json_decref(ev.data);
    s_sse_close(&s);

    /* A hall that stops is offline on the board. */
    s = s_sse_open(w->hq.http, "/v1/stream?hall=LB", NULL);
    assert_true(s_sse_next(s, &ev, 2000));
    json_decref(ev.data);
    hbt_hall_stop(&w->hall[1], SIGKILL);
    deadline = hbt_now_ms() + 20000;
    bool offline = false;
    while (!offline && hbt_now_ms() < deadline) {
        if (!s_sse_next(s, &ev, 1000))
            continue; /* HQ waits offline_after (3 s) of silence */
        offline = strcmp(ev.type, "tile") == 0 &&
                  json_is_false(json_object_get(ev.data, "online")) &&
                  strcmp(json_string_value(json_object_get(ev.data, "worst")), "offline") == 0;
        json_decref(ev.data);
    }
    assert_true(offline);
    s_sse_close(&s);
    json_t *t = hbt_get(w->hq.http, "/v1/live/halls/LB");
    assert_non_null(t);
    assert_string_equal(json_string_value(json_object_get(t, "worst")), "offline");
    json_decref(t);
    hbt_hall_start(&w->hall[1]);
}

/* One region of a /v1/regions answer, or NULL. */
static json_t *s_region(json_t *answer, const char *id)
{
    return hbt_find(json_object_get(answer, "regions"), "region", id);
}

HBT_TEST(test_regions)
{
    hbt_world_t *w = *state;
    /* Before any organisation: no regions, and an unknown one is a 404. */
    json_t *o = hbt_get(w->hq.http, "/v1/regions");
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "regions")), 0);
    json_decref(o);
    o = NULL;
    hbt_req_ok(w->hq.http, "GET", "/v1/regions/CN", NULL, 404);
    hbt_req_ok(w->hq.http, "PUT", "/v1/org",
               "{\"regions\":[{\"id\":\"CN\",\"name\":\"Head office\",\"level\":\"national\"},"
               "{\"id\":\"P01\",\"name\":\"North "
               "\\\"Coast\\\"\",\"level\":\"province\",\"parent\":\"CN\"},"
               "{\"id\":\"P02\",\"name\":\"South\",\"level\":\"province\",\"parent\":\"CN\"},"
               "{\"id\":\"C001\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P01\"},"
               "{\"id\":\"C002\",\"name\":\"Hill\",\"level\":\"city\",\"parent\":\"P02\"}],"
               "\"halls\":[{\"id\":\"LA\",\"city\":\"C001\"},{\"id\":\"LB\",\"city\":\"C002\"},"
               "{\"id\":\"LZ\",\"city\":\"C002\"}]}",
               200);
    /* Three tickets at LA: they count in C001, P01 and CN, not in P02. LZ
     * never connected: it counts as a hall, offline. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_ticket(&w->hall[0]), 201);
    int64_t deadline = hbt_now_ms() + 5000;
    json_t *cn = NULL;
    for (;;) {
        json_decref(o);
        o = hbt_get(w->hq.http, "/v1/regions");
        assert_non_null(o);
        cn = s_region(o, "CN");
        if ((cn && hbt_int(cn, "waiting") == 3 && hbt_int(cn, "online") == 2) ||
            hbt_now_ms() > deadline)
            break;
        hbt_sleep_ms(100);
    }
    assert_non_null(cn);
    assert_int_equal(json_array_size(json_object_get(o, "regions")), 5);
    assert_true(hbt_int(o, "stream_id") > 0);
    assert_int_equal(hbt_int(cn, "halls"), 3);
    assert_int_equal(hbt_int(cn, "online"), 2);
    assert_int_equal(hbt_int(cn, "waiting"), 3);
    assert_true(json_is_null(json_object_get(cn, "parent")));
    json_t *by = json_object_get(cn, "by_worst");
    assert_int_equal(hbt_int(by, "offline"), 1);
    assert_int_equal(hbt_int(by, "ok") + hbt_int(by, "closed") + hbt_int(by, "warning") +
                         hbt_int(by, "alert"),
                     2);
    json_t *p1 = s_region(o, "P01"), *p2 = s_region(o, "P02"), *c2 = s_region(o, "C002");
    /* LA waits with no counter open, so it may be alerting: its alerts
     * count up its chain and nowhere else. */
    assert_int_equal(hbt_int(p1, "alerts"), hbt_int(cn, "alerts"));
    assert_int_equal(hbt_int(s_region(o, "C001"), "alerts"), hbt_int(cn, "alerts"));
    assert_int_equal(hbt_int(p2, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(p1, "name")), "North \"Coast\"");
    assert_string_equal(json_string_value(json_object_get(p1, "parent")), "CN");
    assert_string_equal(json_string_value(json_object_get(p1, "level")), "province");
    assert_int_equal(hbt_int(p1, "halls"), 1);
    assert_int_equal(hbt_int(p1, "waiting"), 3);
    assert_true(hbt_int(p1, "longest_wait_s") >= 0);
    assert_int_equal(hbt_int(p2, "halls"), 2);
    assert_int_equal(hbt_int(p2, "waiting"), 0);
    assert_int_equal(hbt_int(c2, "online"), 1);
    assert_string_equal(json_string_value(json_object_get(c2, "worst")), "offline");
    /* Time passes between two rounds: the longest wait grows with it. */
    hbt_sleep_ms(2100);
    json_t *o2 = hbt_get(w->hq.http, "/v1/regions/P01");
    assert_non_null(o2);
    assert_int_equal(json_array_size(json_object_get(o2, "regions")), 2);
    assert_true(hbt_int(s_region(o2, "P01"), "longest_wait_s") >=
                hbt_int(p1, "longest_wait_s") + 2);
    assert_non_null(s_region(o2, "C001"));
    assert_null(s_region(o2, "CN"));
    json_decref(o2);
    /* A change after the answer's stream_id is on the stream after it. */
    char since[64];
    snprintf(since, sizeof since, "/v1/stream?since=%lld&hall=LB",
             (long long)hbt_int(o, "stream_id"));
    sse_t *s = s_sse_open(w->hq.http, since, NULL);
    assert_int_equal(s_ticket(&w->hall[1]), 201);
    int64_t id = s_wait_tile(s, "LB", "waiting", 1, 3000);
    assert_true(id > hbt_int(o, "stream_id"));
    s_sse_close(&s);
    json_decref(o);
    /* Refusals: an unknown region, a path below a region. */
    hbt_req_ok(w->hq.http, "GET", "/v1/regions/NOPE", NULL, 404);
    hbt_req_ok(w->hq.http, "GET", "/v1/regions/P01/C001", NULL, 404);
    /* The organisation changes: the next answer follows it, not the last round's. */
    hbt_req_ok(w->hq.http, "PUT", "/v1/org",
               "{\"regions\":[{\"id\":\"CN\",\"name\":\"Head office\",\"level\":\"national\"},"
               "{\"id\":\"P01\",\"name\":\"North\",\"level\":\"province\",\"parent\":\"CN\"},"
               "{\"id\":\"C001\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P01\"}],"
               "\"halls\":[{\"id\":\"LA\",\"city\":\"C001\"},{\"id\":\"LB\",\"city\":\"C001\"}]}",
               200);
    o = hbt_get(w->hq.http, "/v1/regions");
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "regions")), 3);
    assert_int_equal(hbt_int(s_region(o, "CN"), "halls"), 2);
    assert_int_equal(hbt_int(s_region(o, "C001"), "halls"), 2);
    json_decref(o);
    hbt_req_ok(w->hq.http, "GET", "/v1/regions/P02", NULL, 404);
}
