/* Simulated halls on the wire (see simlink.h). */
#include "simlink.h"

#include "hallbus/codec.h"
#include "hallbus/httpc.h"
#include "hallbus/time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

int simlink_prepare_root(const char *root)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/keys", root);
    if (mkdir(dir, 0750) != 0)
        return -1;
    snprintf(dir, sizeof dir, "%s/keys/halls", root);
    return mkdir(dir, 0755);
}

/* The admin's token of a scratch hqd: `hqd users add bench` before it
 * starts, its last line. 0 or -1. */
static int s_enrol_admin(const char *hqd, const char *data, char *token, size_t len)
{
    char cmd[1600], line[256] = "";
    snprintf(cmd, sizeof cmd, "'%s' users add bench --role admin --data '%s' 2>&1", hqd, data);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char buf[256];
    while (fgets(buf, sizeof buf, p))
        snprintf(line, sizeof line, "%s", buf);
    if (pclose(p) != 0 || strncmp(line, "hqt_", 4) != 0) {
        fprintf(stderr, "bench: cannot enrol an admin in %s: %s", data, line);
        return -1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    snprintf(token, len, "%s", line);
    return 0;
}

pid_t simlink_start_hqd(const char *hqd, const char *root, int zport, int hport,
                        const char *const *extra, hb_httpc_opts_t *opts, char *http, size_t httplen)
{
    static char token[128];
    char data[600], keys[600], listen[64], hp[64], log[600];
    snprintf(data, sizeof data, "%s/data", root);
    if (!opts->token || !opts->token[0]) {
        if (s_enrol_admin(hqd, data, token, sizeof token) != 0)
            return -1;
        opts->token = token;
    }
    snprintf(keys, sizeof keys, "%s/keys", root);
    snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", zport);
    snprintf(hp, sizeof hp, "127.0.0.1:%d", hport);
    snprintf(log, sizeof log, "%s/hqd.log", root);
    const char *argv[48] = {hqd,    "--data", data, "--keys",      keys,  "--listen",
                            listen, "--http", hp,   "--log_level", "warn"};
    int n = 11;
    for (int i = 0; extra && extra[i] && n < 46; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    fflush(NULL); /* or the child's freopen writes our buffered output again */
    pid_t pid = fork();
    if (pid == 0) {
        /* Its output to its log, not the benchmark's: a caller reading our
         * output through a pipe must not wait on hqd's copy of it. And it
         * ends when the benchmark does, even one killed with SIGKILL. */
        FILE *f = freopen(log, "a", stderr);
        f = freopen(log, "a", stdout);
        (void)f;
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(hqd, (char *const *)argv);
        _exit(127);
    }
    snprintf(http, httplen, "http://%s", hp);
    for (int i = 0; i < 100; i++) {
        hb_httpc_resp_t r;
        char err[128];
        hb_httpc_opts_t o = *opts;
        o.timeout_ms = 1000;
        if (hb_httpc_call(http, "GET", "/v1/status", NULL, &o, &r, err, sizeof err) == 0) {
            hb_httpc_resp_free(&r);
            return pid;
        }
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

void *simlink_worker_ctx(int max_sockets)
{
    srand((unsigned)getpid());
    void *ctx = zmq_ctx_new();
    if (ctx) {
        zmq_ctx_set(ctx, ZMQ_IO_THREADS, 1);
        zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, max_sockets);
    }
    return ctx;
}

void *simlink_connect(void *zmq_ctx, const char *root, const hb_cert_t *hq, const char *endpoint,
                      const char *id)
{
    return simlink_connect_as(zmq_ctx, root, hq, endpoint, id, NULL);
}

/* The uplink's socket options (branchd/uplink.c, s_conn_open), set before
 * the connect: libzmq copies them into the connection then. */
static void s_uplink_opts(void *sock, const simlink_uplink_t *up)
{
    int one = 1;
    int ivl = (int)hb_jitter_ms(up->reconnect_min_ms / 2 + 1);
    int ivl_max = (int)hb_jitter_ms(up->reconnect_max_ms / 2 + 1);
    int to = (int)up->timeout_ms;
    zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &to, sizeof to); /* as branchd: once a link_timeout */
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &to, sizeof to);
    /* No TTL asked of HQ, as branchd asks none (branchd/uplink.c). */
    int ttl = 0;
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl);
}

int simlink_enrol(const char *root, const char *id, hb_cert_t *c)
{
    char path[600];
    if (hb_cert_generate(c) != 0 || hb_cert_set_meta(c, "hall", id) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/keys/halls/%s.key", root, id);
    return hb_cert_save(c, path, false) == 0 ? 0 : -1;
}

void *simlink_connect_as(void *zmq_ctx, const char *root, const hb_cert_t *hq, const char *endpoint,
                         const char *id, const simlink_uplink_t *up)
{
    hb_cert_t c;
    if (simlink_enrol(root, id, &c) != 0)
        return NULL;
    return simlink_connect_cert(zmq_ctx, hq, endpoint, &c, up);
}

void *simlink_connect_cert(void *zmq_ctx, const hb_cert_t *hq, const char *endpoint,
                           const hb_cert_t *cert, const simlink_uplink_t *up)
{
    const hb_cert_t c = *cert;
    void *sock = zmq_socket(zmq_ctx, ZMQ_DEALER);
    if (!sock)
        return NULL;
    int zero = 0, hwm = 100000;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, hq->public_key, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c.public_key, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c.secret_key, 40);
    if (up)
        s_uplink_opts(sock, up);
    if (zmq_connect(sock, endpoint) != 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

pid_t simlink_hqd_up(const char *tool, const char *hqd, char *root, int zport, int hport,
                     const char *const *extra, hb_httpc_opts_t *opts, char *http, size_t httplen,
                     hb_cert_t *hq)
{
    simlink_raise_nofile();
    if (!mkdtemp(root) || simlink_prepare_root(root) != 0) {
        fprintf(stderr, "%s: cannot make its scratch folder %s\n", tool, root);
        return -1;
    }
    pid_t pid = simlink_start_hqd(hqd, root, zport, hport, extra, opts, http, httplen);
    if (pid < 0) {
        fprintf(stderr, "%s: hqd did not start (see %s/hqd.log)\n", tool, root);
        return -1;
    }
    if (simlink_hq_cert(root, hq) != 0) {
        fprintf(stderr, "%s: cannot read HQ's key under %s\n", tool, root);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

void simlink_hqd_down(const char *tool, pid_t hqd, const char *root)
{
    kill(hqd, SIGTERM);
    waitpid(hqd, NULL, 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not remove %s\n", tool, root);
}

int simlink_send_frame(void *sock, const Hallbus__Frame *f)
{
    uint8_t *buf;
    size_t len;
    if (hb_frame_pack(f, &buf, &len) != 0)
        return -1;
    int rc = zmq_send(sock, buf, len, ZMQ_DONTWAIT);
    free(buf);
    return rc < 0 ? -1 : 0;
}

int simlink_send_batch(void *sock, ProtobufCBinaryData *items, size_t n)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = hb_batch_pack(items, n, &buf, &len) == 0 && zmq_send(sock, buf, len, ZMQ_DONTWAIT) >= 0
                 ? 0
                 : -1;
    free(buf);
    for (size_t i = 0; i < n; i++)
        free(items[i].data);
    return rc;
}

Hallbus__Frame *simlink_recv_frame(void *sock)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return NULL;
        }
        Hallbus__Frame *f = hb_frame_unpack(zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
        if (f)
            return f;
    }
}

int simlink_watch(int ep, void *sock, uint32_t index)
{
    int fd;
    size_t len = sizeof fd;
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = index};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

void simlink_send_hello(void *sock)
{
    Hallbus__Hello hello = HALLBUS__HELLO__INIT;
    hello.protocol = 1;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_HELLO;
    f.hello = &hello;
    simlink_send_frame(sock, &f);
}

const char *simlink_default_hqd(void)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0)
        return "hqd";
    path[n] = '\0';
    snprintf(strrchr(path, '/'), 32, "/../hqd/hqd");
    return path;
}

void simlink_raise_nofile(void)
{
    /* A ZeroMQ socket takes a few descriptors: 10,000 halls need more than
     * a common hard limit. Run as root, raise the hard limit too (hqd,
     * started from here, inherits it); else go as far as it allows. */
    struct rlimit want = {1 << 20, 1 << 20}, rl;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0)
        return;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int simlink_hq_cert(const char *root, hb_cert_t *out)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/keys/hq.key", root);
    if (hb_cert_load_public(path, out, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        return -1;
    }
    return 0;
}
