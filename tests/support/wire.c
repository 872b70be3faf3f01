/* The tests' wire-level tools (see harness.h): a raw link client that
 * speaks hallbus's protocol over CURVE as a hall of any build would (to
 * send what branchd never sends: an older Hello, a bad batch, frames out of
 * order), a stand-in HQ that plays HQ's side of the link to a real branchd,
 * and a TCP proxy that can freeze or cut a connection. Not for
 * starting processes or HTTP calls: harness.c has those. */
#include "harness.h"

#include "hallbus/time.h"

#include "hallbus/cert.h"
#include "hallbus/codec.h"
#include "hallbus/httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

/* ---- raw link client */

struct hbt_raw {
    void *ctx;
    void *sock;
};

/* A context of its own and one socket of `type` in it, that drops what is
 * unsent when closed: the raw client's, and the stand-in HQ's (whose first
 * member is such an end). */
static void s_end_open(struct hbt_raw *end, int type)
{
    int linger = 0;
    end->ctx = zmq_ctx_new();
    end->sock = zmq_socket(end->ctx, type);
    zmq_setsockopt(end->sock, ZMQ_LINGER, &linger, sizeof linger);
}

/* Closes the end's socket and context and frees it: the object it is the
 * first member of. NULL does nothing. */
static void s_end_free(struct hbt_raw *end)
{
    if (!end)
        return;
    zmq_close(end->sock);
    zmq_ctx_term(end->ctx);
    free(end);
}

hbt_raw_t *hbt_raw_connect(const char *endpoint, const char *key_dir)
{
    char path[512], err[256];
    hb_cert_t me, hq;
    snprintf(path, sizeof path, "%s/hall.key", key_dir);
    if (hb_cert_load(path, &me, err, sizeof err) != 0)
        fail_msg("raw client: %s: %s", path, err);
    snprintf(path, sizeof path, "%s/hq.key", key_dir);
    if (hb_cert_load_public(path, &hq, err, sizeof err) != 0)
        fail_msg("raw client: %s: %s", path, err);
    hbt_raw_t *raw = calloc(1, sizeof *raw);
    s_end_open(raw, ZMQ_DEALER);
    int sndtimeo = 1000;
    /* Without a connection a DEALER blocks on send: never hang a test. */
    zmq_setsockopt(raw->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    zmq_setsockopt(raw->sock, ZMQ_CURVE_SERVERKEY, hq.public_key, 40);
    zmq_setsockopt(raw->sock, ZMQ_CURVE_PUBLICKEY, me.public_key, 40);
    zmq_setsockopt(raw->sock, ZMQ_CURVE_SECRETKEY, me.secret_key, 40);
    assert_int_equal(zmq_connect(raw->sock, endpoint), 0);
    return raw;
}

void hbt_raw_close(hbt_raw_t **rawp)
{
    s_end_free(*rawp);
    *rawp = NULL;
}

/* ---------------------------------------------------- stand-in HQ */

struct hbt_standin {
    struct hbt_raw end; /* first: s_end_free frees the stand-in */
    uint8_t rid[256];   /* the routing id of the last sender */
    size_t rid_len;
};

hbt_standin_t *hbt_standin_start(const hbt_hq_t *hq, const char *endpoint, char *bound,
                                 size_t bound_len)
{
    char path[512], err[256];
    hb_cert_t cert;
    snprintf(path, sizeof path, "%s/hq.key", hq->keys);
    if (hb_cert_load(path, &cert, err, sizeof err) != 0)
        fail_msg("stand-in HQ: %s: %s", path, err);
    hbt_standin_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s_end_open(&s->end, ZMQ_ROUTER);
    int one = 1;
    zmq_setsockopt(s->end.sock, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(s->end.sock, ZMQ_CURVE_SECRETKEY, cert.secret_key, 40);
    if (zmq_bind(s->end.sock, endpoint) != 0)
        fail_msg("stand-in HQ: bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
    if (bound) {
        size_t len = bound_len;
        assert_int_equal(zmq_getsockopt(s->end.sock, ZMQ_LAST_ENDPOINT, bound, &len), 0);
    }
    return s;
}

void hbt_standin_stop(hbt_standin_t **sp)
{
    s_end_free(*sp ? &(*sp)->end : NULL);
    *sp = NULL;
}

Hallbus__Frame *hbt_standin_recv(hbt_standin_t *s, int timeout_ms)
{
    zmq_pollitem_t it = {s->end.sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t rid, m;
    zmq_msg_init(&rid);
    zmq_msg_init(&m);
    zmq_msg_recv(&rid, s->end.sock, 0);
    zmq_msg_recv(&m, s->end.sock, 0);
    s->rid_len = zmq_msg_size(&rid) < sizeof s->rid ? zmq_msg_size(&rid) : sizeof s->rid;
    memcpy(s->rid, zmq_msg_data(&rid), s->rid_len);
    Hallbus__Frame *f = hb_frame_unpack(zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&rid);
    zmq_msg_close(&m);
    return f;
}

void hbt_standin_reply(hbt_standin_t *s, const Hallbus__Frame *f)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(hb_frame_pack(f, &buf, &len), 0);
    zmq_send(s->end.sock, s->rid, s->rid_len, ZMQ_SNDMORE);
    zmq_send(s->end.sock, buf, len, 0);
    free(buf);
}

int hbt_raw_send_bytes(hbt_raw_t *raw, const void *data, size_t len)
{
    return zmq_send(raw->sock, data, len, 0) < 0 ? -1 : 0;
}

int hbt_raw_send_frame(hbt_raw_t *raw, const Hallbus__Frame *frame)
{
    uint8_t *buf;
    size_t len;
    if (hb_frame_pack(frame, &buf, &len) != 0)
        return -1;
    int rc = hbt_raw_send_bytes(raw, buf, len);
    free(buf);
    return rc;
}

int hbt_raw_send_events(hbt_raw_t *raw, ProtobufCBinaryData *items, size_t n)
{
    uint8_t *buf;
    size_t len;
    if (hb_batch_pack(items, n, &buf, &len) != 0)
        return -1;
    int rc = hbt_raw_send_bytes(raw, buf, len);
    free(buf);
    return rc;
}

Hallbus__Frame *hbt_raw_recv(hbt_raw_t *raw, int timeout_ms)
{
    zmq_pollitem_t item = {raw->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, raw->sock, 0) < 0) {
        zmq_msg_close(&msg);
        return NULL;
    }
    Hallbus__Frame *f = hb_frame_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    return f;
}

Hallbus__Frame *hbt_raw_expect(hbt_raw_t *raw, Hallbus__Frame__KindCase kind, int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - hbt_now_ms();
        if (left <= 0)
            return NULL;
        Hallbus__Frame *f = hbt_raw_recv(raw, (int)left);
        if (!f)
            return NULL;
        if (f->kind_case == kind)
            return f;
        hb_frame_free(f);
    }
}

int hbt_raw_send_hello(hbt_raw_t *raw, uint32_t protocol, const char *software)
{
    Hallbus__Hello hello = HALLBUS__HELLO__INIT;
    hello.protocol = protocol;
    hello.software = (char *)software;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_HELLO;
    f.hello = &hello;
    return hbt_raw_send_frame(raw, &f);
}

int64_t hbt_raw_hello(hbt_raw_t *raw)
{
    /* The handshake may still be running: say Hello until Welcome comes. */
    for (int i = 0; i < 20; i++) {
        if (hbt_raw_send_hello(raw, 1, "test raw client") != 0)
            return -1;
        Hallbus__Frame *w = hbt_raw_expect(raw, HALLBUS__FRAME__KIND_WELCOME, 500);
        if (w) {
            int64_t c = (int64_t)w->welcome->committed_seq;
            hb_frame_free(w);
            return c;
        }
    }
    return -1;
}

hbt_raw_t *hbt_raw_fresh(const char *endpoint, const char *key_dir)
{
    hbt_raw_t *raw = hbt_raw_connect(endpoint, key_dir);
    assert_non_null(raw);
    assert_int_equal(hbt_raw_hello(raw), 0);
    return raw;
}

size_t hbt_envelope_bytes(uint64_t seq, int64_t at_ms, uint8_t **out)
{
    char ticket[32];
    snprintf(ticket, sizeof ticket, "R%llu", (unsigned long long)seq);
    Hallbus__TicketIssued t = HALLBUS__TICKET_ISSUED__INIT;
    t.ticket = ticket;
    t.service = "A";
    t.priority = HALLBUS__PRIORITY__PRIORITY_NORMAL;
    Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT;
    env.seq = seq;
    env.at_ms = at_ms;
    env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_ISSUED;
    env.ticket_issued = &t;
    size_t len;
    assert_int_equal(hb_envelope_pack(&env, out, &len), 0);
    return len;
}

int hbt_raw_send_batch(hbt_raw_t *raw, uint64_t first, size_t n)
{
    return hbt_raw_send_batch_at(raw, first, n, (int64_t)time(NULL) * 1000);
}

int hbt_raw_send_batch_at(hbt_raw_t *raw, uint64_t first, size_t n, int64_t at_ms)
{
    ProtobufCBinaryData *items = calloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i].len = hbt_envelope_bytes(first + i, at_ms, &items[i].data);
    int rc = hbt_raw_send_events(raw, items, n);
    for (size_t i = 0; i < n; i++)
        free(items[i].data);
    free(items);
    return rc;
}

int64_t hbt_raw_send_acked(hbt_raw_t *raw, uint64_t first, size_t n, int64_t at_ms)
{
    if (at_ms)
        assert_int_equal(hbt_raw_send_batch_at(raw, first, n, at_ms), 0);
    else
        assert_int_equal(hbt_raw_send_batch(raw, first, n), 0);
    Hallbus__Frame *ack = hbt_raw_expect(raw, HALLBUS__FRAME__KIND_ACK, 5000);
    if (!ack)
        fail_msg("no Ack within 5 s for the batch %llu..%llu", (unsigned long long)first,
                 (unsigned long long)(first + n - 1));
    int64_t committed = (int64_t)ack->ack->committed_seq;
    hb_frame_free(ack);
    return committed;
}

/* ---- TCP proxy */

#define PROXY_MAX_CONN 16

struct hbt_proxy {
    int listen_fd;
    int port;
    int target_port;
    pthread_t thread;
    pthread_mutex_t lock;
    bool frozen, cut, stop;
    int pairs[PROXY_MAX_CONN][2]; /* client fd, upstream fd; -1 when unused */
};

static void s_proxy_close_all(hbt_proxy_t *p)
{
    for (int i = 0; i < PROXY_MAX_CONN; i++) {
        for (int j = 0; j < 2; j++) {
            if (p->pairs[i][j] >= 0)
                close(p->pairs[i][j]);
            p->pairs[i][j] = -1;
        }
    }
}

static void *s_proxy_thread(void *arg)
{
    hbt_proxy_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        bool stop = p->stop, frozen = p->frozen, cut = p->cut;
        p->cut = false;
        pthread_mutex_unlock(&p->lock);
        if (stop)
            break;
        if (cut)
            s_proxy_close_all(p);
        struct pollfd fds[1 + 2 * PROXY_MAX_CONN];
        int map[1 + 2 * PROXY_MAX_CONN][2];
        int n = 0;
        fds[n++] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
        for (int i = 0; i < PROXY_MAX_CONN && !frozen; i++) {
            for (int j = 0; j < 2; j++) {
                if (p->pairs[i][j] >= 0) {
                    map[n][0] = i;
                    map[n][1] = j;
                    fds[n++] = (struct pollfd){.fd = p->pairs[i][j], .events = POLLIN};
                }
            }
        }
        if (poll(fds, (nfds_t)n, 50) <= 0)
            continue;
        if (fds[0].revents & POLLIN) {
            int c = accept(p->listen_fd, NULL, NULL);
            if (c >= 0) {
                int u = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a = {.sin_family = AF_INET,
                                        .sin_port = htons((uint16_t)p->target_port),
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                int slot = -1;
                for (int i = 0; i < PROXY_MAX_CONN && slot < 0; i++)
                    if (p->pairs[i][0] < 0)
                        slot = i;
                if (slot < 0 || connect(u, (struct sockaddr *)&a, sizeof a) != 0) {
                    close(c);
                    close(u);
                } else {
                    p->pairs[slot][0] = c;
                    p->pairs[slot][1] = u;
                }
            }
        }
        for (int k = 1; k < n; k++) {
            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = map[k][0], j = map[k][1];
            if (p->pairs[i][j] < 0)
                continue;
            char buf[65536];
            ssize_t r = read(p->pairs[i][j], buf, sizeof buf);
            if (r <= 0 || write(p->pairs[i][1 - j], buf, (size_t)r) != r) {
                close(p->pairs[i][0]);
                close(p->pairs[i][1]);
                p->pairs[i][0] = p->pairs[i][1] = -1;
            }
        }
    }
    s_proxy_close_all(p);
    return NULL;
}

hbt_proxy_t *hbt_proxy_start(int target_port)
{
    hbt_proxy_t *p = calloc(1, sizeof *p);
    p->target_port = target_port;
    for (int i = 0; i < PROXY_MAX_CONN; i++)
        p->pairs[i][0] = p->pairs[i][1] = -1;
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(p->listen_fd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    assert_int_equal(listen(p->listen_fd, 16), 0);
    pthread_mutex_init(&p->lock, NULL);
    assert_int_equal(pthread_create(&p->thread, NULL, s_proxy_thread, p), 0);
    return p;
}

int hbt_proxy_port(const hbt_proxy_t *p) { return p->port; }

void hbt_proxy_freeze(hbt_proxy_t *p, bool frozen)
{
    pthread_mutex_lock(&p->lock);
    p->frozen = frozen;
    pthread_mutex_unlock(&p->lock);
}

void hbt_proxy_cut(hbt_proxy_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->cut = true;
    pthread_mutex_unlock(&p->lock);
    hbt_sleep_ms(120);
}

void hbt_proxy_stop(hbt_proxy_t **pp)
{
    hbt_proxy_t *p = *pp;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    close(p->listen_fd);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}
