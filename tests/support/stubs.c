/* The tests' stand-ins (see stubs.h): each a thread or a process of its
 * own, so that the code under test meets a real socket and a real peer. */
#include "stubs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#define STUB_HEAD_MAX 8192

/* ------------------------------------------------- a reading thread */

/* What both stand-ins run: a thread that waits on one descriptor and
 * calls `ready` whenever it has something to read, until stopped. It
 * waits 20 ms at a time, so that it sees `stop` soon. */
typedef struct s_reader {
    int fd;
    void (*ready)(void *owner);
    void *owner;
    pthread_t thread;
    volatile int stop;
} s_reader_t;

static void *s_reader_run(void *arg)
{
    s_reader_t *r = arg;
    while (!r->stop) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, 20) == 1)
            r->ready(r->owner);
    }
    return NULL;
}

static void s_reader_start(s_reader_t *r, int fd, void (*ready)(void *owner), void *owner)
{
    r->fd = fd;
    r->ready = ready;
    r->owner = owner;
    r->stop = 0;
    assert_int_equal(pthread_create(&r->thread, NULL, s_reader_run, r), 0);
}

/* Stops the thread once its `ready` call, if any, returns; the descriptor
 * stays open. */
static void s_reader_stop(s_reader_t *r)
{
    r->stop = 1;
    pthread_join(r->thread, NULL);
}

/* ------------------------------------------------- recording HTTP server */

struct hbt_stub {
    int lfd, port;
    char url[64];
    const char *reply;
    size_t reply_len, repeat;
    int hold_ms;
    s_reader_t reader; /* on lfd: one connection answered at a time */
    pthread_mutex_t lock;
    char head[STUB_HEAD_MAX];
    int requests;
};

/* Reads a request's head (up to the blank line, or what came in 5 s). */
static size_t s_read_head(int fd, char *head, size_t len)
{
    size_t n = 0;
    head[0] = '\0';
    while (n < len - 1 && !strstr(head, "\r\n\r\n")) {
        struct pollfd q = {.fd = fd, .events = POLLIN};
        if (poll(&q, 1, 5000) != 1)
            break;
        ssize_t got = recv(fd, head + n, len - 1 - n, 0);
        if (got <= 0)
            break;
        n += (size_t)got;
        head[n] = '\0';
    }
    return n;
}

/* A connection is waiting: record its request, answer, close. */
static void s_stub_answer(void *arg)
{
    hbt_stub_t *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return;
    char head[STUB_HEAD_MAX];
    size_t n = s_read_head(fd, head, sizeof head);
    pthread_mutex_lock(&s->lock);
    memcpy(s->head, head, n + 1);
    s->requests++;
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; s->reply && i < (s->repeat ? s->repeat : 1); i++)
        if (send(fd, s->reply, s->reply_len, MSG_NOSIGNAL) < 0)
            break;
    if (s->hold_ms)
        hbt_sleep_ms(s->hold_ms);
    close(fd);
}

hbt_stub_t *hbt_stub_start(const char *reply, size_t len, size_t repeat, int hold_ms)
{
    hbt_stub_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    s->reply = reply;
    s->reply_len = len;
    s->repeat = repeat;
    s->hold_ms = hold_ms;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    s_reader_start(&s->reader, s->lfd, s_stub_answer, s);
    return s;
}

int hbt_stub_port(const hbt_stub_t *s) { return s->port; }

const char *hbt_stub_url(const hbt_stub_t *s) { return s->url; }

int hbt_stub_requests(hbt_stub_t *s, char *head, size_t len)
{
    pthread_mutex_lock(&s->lock);
    if (head && len)
        snprintf(head, len, "%s", s->head);
    int n = s->requests;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void hbt_stub_stop(hbt_stub_t **sp)
{
    hbt_stub_t *s = *sp;
    if (!s)
        return;
    s_reader_stop(&s->reader);
    close(s->lfd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *sp = NULL;
}

/* ------------------------------------------------------ notify socket */

struct hbt_notify {
    int fd;
    s_reader_t reader; /* on fd */
    pthread_mutex_t lock;
    char heard[2048];
    size_t used;
    int watchdogs;
};

/* A datagram is waiting: a watchdog's pet is counted, anything else kept. */
static void s_notify_read(void *arg)
{
    hbt_notify_t *l = arg;
    char msg[256];
    ssize_t n = recv(l->fd, msg, sizeof msg - 1, 0);
    if (n <= 0)
        return;
    msg[n] = '\0';
    pthread_mutex_lock(&l->lock);
    if (strcmp(msg, "WATCHDOG=1") == 0)
        l->watchdogs++;
    else if (l->used < sizeof l->heard)
        l->used += (size_t)snprintf(l->heard + l->used, sizeof l->heard - l->used, "%s ", msg);
    pthread_mutex_unlock(&l->lock);
}

hbt_notify_t *hbt_notify_start(const char *path)
{
    hbt_notify_t *l = calloc(1, sizeof *l);
    assert_non_null(l);
    pthread_mutex_init(&l->lock, NULL);
    l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof a), 0);
    s_reader_start(&l->reader, l->fd, s_notify_read, l);
    return l;
}

int hbt_notify_peek(hbt_notify_t *l, char *heard, size_t len)
{
    pthread_mutex_lock(&l->lock);
    if (heard && len)
        snprintf(heard, len, "%.*s", (int)l->used, l->heard);
    int watchdogs = l->watchdogs;
    pthread_mutex_unlock(&l->lock);
    return watchdogs;
}

void hbt_assert_stall_pets(int before, int during, int after, const char *before_what,
                           const char *during_what, const char *after_what)
{
    if (before < 3)
        fail_msg("only %d pets %s", before, before_what);
    if (during != 0)
        fail_msg("%d pets %s", during, during_what);
    if (after < 3)
        fail_msg("only %d pets %s", after, after_what);
}

int hbt_notify_stop(hbt_notify_t **lp, char *heard, size_t len)
{
    hbt_notify_t *l = *lp;
    /* What is in the socket's queue still counts. */
    hbt_sleep_ms(100);
    s_reader_stop(&l->reader);
    close(l->fd);
    snprintf(heard, len, "%s", l->heard);
    int watchdogs = l->watchdogs;
    pthread_mutex_destroy(&l->lock);
    free(l);
    *lp = NULL;
    return watchdogs;
}

/* --------------------------------------------------------- TLS server */

#define OPENSSL "/usr/bin/openssl"

bool hbt_tls_start(hbt_tls_t *t, const char *dir)
{
    memset(t, 0, sizeof *t);
    if (access(OPENSSL, X_OK) != 0)
        return false;
    char key[320], log[320], out[4096];
    snprintf(t->cert, sizeof t->cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(log, sizeof log, "%s/s_server.log", dir);
    char *req[] = {OPENSSL,
                   "req",
                   "-x509",
                   "-newkey",
                   "ec",
                   "-pkeyopt",
                   "ec_paramgen_curve:prime256v1",
                   "-nodes",
                   "-keyout",
                   key,
                   "-out",
                   t->cert,
                   "-days",
                   "2",
                   "-subj",
                   "/CN=127.0.0.1",
                   "-addext",
                   "subjectAltName=IP:127.0.0.1",
                   NULL};
    if (hbt_run(req, out, sizeof out) != 0)
        fail_msg("openssl req: %s", out);
    int port = hbt_free_port();
    char accept_on[32];
    snprintf(accept_on, sizeof accept_on, "127.0.0.1:%d", port);
    snprintf(t->url, sizeof t->url, "https://127.0.0.1:%d", port);
    char *srv[] = {OPENSSL, "s_server", "-accept", accept_on, "-cert", t->cert,
                   "-key",  key,        "-www",    "-quiet",  NULL};
    hbt_spawn(&t->proc, log, srv);
    /* Ready once it accepts a connection (this one it sees as a failed
     * handshake, and serves the next). */
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return true;
        hbt_sleep_ms(25);
    }
    fail_msg("openssl s_server did not start; see %s", log);
    return false;
}

void hbt_tls_start_or_skip(hbt_tls_t *t, const char *dir)
{
    if (!hbt_tls_start(t, dir)) {
        hbt_rmdir(dir);
        skip();
    }
}

void hbt_tls_stop(hbt_tls_t *t) { hbt_kill(&t->proc, SIGKILL); }
