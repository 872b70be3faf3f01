/* bench_ingest: how many events per second hqd stores durably, and how fast
 * it acknowledges them; with --rollups both, the same run against an hqd
 * without rollups and one with them, one after the other, and how long the
 * rollups take to catch up after the burst. Starts its own hqd in a scratch folder, enrols N
 * simulated halls (real key pairs in HQ's halls/ folder), connects each over
 * real CURVE to the ROUTER, and sends batches within a window per hall. An
 * event counts only once HQ's cumulative ack (sent after the synced commit)
 * covers it. Two phases: as fast as possible (throughput), then a steady
 * rate (ack latency percentiles). Prints figures; asserts nothing. */
#include "simlink.h"

#include "hallbus/cert.h"
#include "hallbus/codec.h"
#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/httpc.h"
#include "hallbus/time.h"

#include <jansson.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_INFLIGHT_BATCHES 64

typedef struct sim_hall {
    void *sock;
    char id[16];
    uint64_t next_seq;  /* next to send */
    uint64_t acked;
    bool welcomed;
    int64_t sent_at[MAX_INFLIGHT_BATCHES]; /* ring: send time of in-flight batches */
    uint64_t last_of[MAX_INFLIGHT_BATCHES];
    unsigned head, tail;
    double credit; /* steady phase: events this hall may send now */
} sim_hall_t;

static struct {
    int halls;
    int seconds;
    int batch;
    int window;
    int rate;
    const char *phases; /* "both", "throughput" or "steady" */
    const char *rollups; /* "on", "off" or "both" */
    const char *hqd;
    char root[256];
    hb_httpc_opts_t http; /* to the scratch hqd's API: the token, if any */
} s_opt;

/* The command line, as the settings table reads it (s_opt is set from it). */
typedef struct settings {
    int64_t halls, seconds, batch, window, rate;
    const char *phases, *rollups;
    char *hqd, *token;
} settings_t;

static int s_parse_phase(const char *text, void *field, char *why, size_t whylen)
{
    static const char *const phases[] = {"both", "throughput", "steady"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(text, phases[i]) == 0) {
            *(const char **)field = phases[i];
            return 0;
        }
    }
    snprintf(why, whylen, "give both, throughput or steady");
    return HB_EINVAL;
}

static int s_parse_rollups(const char *text, void *field, char *why, size_t whylen)
{
    static const char *const modes[] = {"on", "off", "both"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(text, modes[i]) == 0) {
            *(const char **)field = modes[i];
            return 0;
        }
    }
    snprintf(why, whylen, "give on, off or both");
    return HB_EINVAL;
}

#define ROW(name_, type_, field, def, lo, hi, meta_, help_, ...)                                 \
    HB_CONF_ROW(settings_t, name_, type_, field, def, lo, hi, false, help_, .meta = meta_,       \
                __VA_ARGS__)

static const hb_config_def_t s_options[] = {
    ROW("halls", HB_CONF_INT, halls, "1000", 1, 20000, "N",
        "simulated halls, each its own CURVE connection"),
    ROW("seconds", HB_CONF_INT, seconds, "15", 1, 3600, "S", "length of each phase"),
    ROW("batch", HB_CONF_INT, batch, "100", 1, 1024, "B", "events per batch"),
    ROW("window", HB_CONF_INT, window, "1000", 1, 1000000, "W",
        "most unacknowledged events per hall"),
    ROW("rate", HB_CONF_INT, rate, "20000", 1, 10000000, "R",
        "steady phase: events/s over all halls"),
    ROW("phase", HB_CONF_CUSTOM, phases, "both", 0, 0, "P", "both, throughput or steady",
        .parse = s_parse_phase),
    ROW("rollups", HB_CONF_CUSTOM, rollups, "on", 0, 0, "M",
        "hqd with rollups (on), without (off), or both one after the other, to compare",
        .parse = s_parse_rollups),
    SIMLINK_ROWS(settings_t),
};
#undef ROW
#define NOPTIONS (sizeof s_options / sizeof s_options[0])

static const hb_config_cli_t s_cli = {
    .prog = "bench_ingest",
    .usage = "[--halls N] [--seconds S] [--batch B] [--window W] [--rate R]\n"
             "                    [--phase both|throughput|steady] [--rollups on|off|both] "
             "[--hqd PATH]",
    .about = "how many events per second a scratch hqd stores durably, and how fast it "
             "acknowledges them",
};

/* Microseconds, for latencies shorter than a millisecond. */
static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double *s_lat;
static size_t s_nlat, s_caplat;

static void s_record(double ms)
{
    if (s_nlat == s_caplat) {
        s_caplat = s_caplat ? s_caplat * 2 : 1 << 16;
        s_lat = realloc(s_lat, s_caplat * sizeof *s_lat);
    }
    s_lat[s_nlat++] = ms;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(double p)
{
    if (s_nlat == 0)
        return 0;
    size_t i = (size_t)(p * (double)(s_nlat - 1));
    return s_lat[i];
}

static char s_hq_http[80];

/* Prints HQ's own view: what its writer committed and how long commits took. */
static void s_print_hq(const char *name)
{
    hb_httpc_resp_t r;
    char err[128];
    hb_httpc_opts_t http = s_opt.http;
    http.timeout_ms = 5000;
    if (hb_httpc_call(s_hq_http, "GET", "/v1/status", NULL, &http, &r, err, sizeof err) != 0)
        return;
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    json_t *w = json_object_get(j, "writer");
    printf("%s: HQ writer: %lld events in %lld commits (%.0f events/commit), commit avg %.2f ms, "
           "max %.2f ms\n",
           name, (long long)json_integer_value(json_object_get(w, "events")),
           (long long)json_integer_value(json_object_get(w, "commits")),
           (double)json_integer_value(json_object_get(w, "events")) /
               (double)(json_integer_value(json_object_get(w, "commits")) + 1),
           json_real_value(json_object_get(w, "avg_commit_ms")),
           json_real_value(json_object_get(w, "max_commit_ms")));
    json_decref(j);
    hb_httpc_resp_free(&r);
}

static int s_send_batch(sim_hall_t *h, int n, int64_t now_wall)
{
    ProtobufCBinaryData items[1024];
    char ticket[32];
    for (int i = 0; i < n; i++) {
        Hallbus__TicketIssued t = HALLBUS__TICKET_ISSUED__INIT;
        snprintf(ticket, sizeof ticket, "A%llu", (unsigned long long)((h->next_seq + i) % 1000));
        t.ticket = ticket;
        t.service = "A";
        t.priority = HALLBUS__PRIORITY__PRIORITY_NORMAL;
        Hallbus__Envelope env = HALLBUS__ENVELOPE__INIT;
        env.seq = h->next_seq + (uint64_t)i;
        env.at_ms = now_wall;
        env.body_case = HALLBUS__ENVELOPE__BODY_TICKET_ISSUED;
        env.ticket_issued = &t;
        if (hb_envelope_pack(&env, &items[i].data, &items[i].len) != 0)
            return -1;
    }
    int rc = simlink_send_batch(h->sock, items, (size_t)n);
    if (rc == 0) {
        h->next_seq += (uint64_t)n;
        h->sent_at[h->head % MAX_INFLIGHT_BATCHES] = s_now_us();
        h->last_of[h->head % MAX_INFLIGHT_BATCHES] = h->next_seq - 1;
        h->head++;
    }
    return rc;
}

/* Reads every waiting frame of a hall; returns events newly acknowledged. */
static uint64_t s_drain(sim_hall_t *h, bool measure)
{
    uint64_t newly = 0;
    for (;;) {
        Hallbus__Frame *f = simlink_recv_frame(h->sock);
        if (!f)
            break;
        if (f->kind_case == HALLBUS__FRAME__KIND_WELCOME) {
            h->welcomed = true;
            h->acked = h->next_seq - 1 < f->welcome->committed_seq ? f->welcome->committed_seq
                                                                   : h->acked;
            h->next_seq = f->welcome->committed_seq + 1;
            h->head = h->tail = 0;
        } else if (f->kind_case == HALLBUS__FRAME__KIND_ACK) {
            uint64_t c = f->ack->committed_seq;
            if (c > h->acked) {
                newly += c - h->acked;
                h->acked = c;
            }
            int64_t now = s_now_us();
            while (h->tail != h->head && h->last_of[h->tail % MAX_INFLIGHT_BATCHES] <= c) {
                if (measure)
                    s_record((double)(now - h->sent_at[h->tail % MAX_INFLIGHT_BATCHES]) / 1000.0);
                h->tail++;
            }
        } else if (f->kind_case == HALLBUS__FRAME__KIND_REJECT) {
            /* Busy or a sequence hiccup: start over from HQ's point. */
            h->welcomed = false;
        }
        hb_frame_free(f);
    }
    return newly;
}

/* Runs the halls for `seconds`; steady when rate > 0. Sockets are watched
 * with epoll on their ZMQ_FD (edge-style: after a wake-up or a send, the
 * socket is drained until it has nothing), so the simulator's cost follows
 * its traffic rather than the number of halls. */
static double s_phase(sim_hall_t *halls, int n, int seconds, int rate, const char *name)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < n; i++) {
        int fd;
        size_t len = sizeof fd;
        zmq_getsockopt(halls[i].sock, ZMQ_FD, &fd, &len);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    s_nlat = 0;
    /* Real halls are not in step: each starts at a random point of its own
     * sending interval, or they would all fire in the same millisecond. */
    for (int i = 0; i < n; i++)
        halls[i].credit = (double)rand() / ((double)RAND_MAX + 1.0);
    int64_t t0 = hb_mono_ms(), last_tick = t0, end = t0 + seconds * 1000LL, last_hello = 0;
    uint64_t acked = 0, iterations = 0;
    struct epoll_event evs[256];
    while (hb_mono_ms() < end) {
        iterations++;
        int64_t now = hb_mono_ms();
        int64_t wall = hb_now_ms();
        double dt = (double)(now - last_tick) / 1000.0;
        last_tick = now;
        for (int i = 0; i < n; i++) {
            sim_hall_t *h = &halls[i];
            if (!h->welcomed)
                continue;
            if (rate > 0) {
                h->credit += dt * rate / n;
                if (h->credit > s_opt.batch)
                    h->credit = s_opt.batch;
            }
            bool sent = false;
            for (;;) {
                uint64_t inflight = h->next_seq - 1 - h->acked;
                int want = s_opt.batch;
                if (rate > 0)
                    want = (int)h->credit;
                if (want <= 0 || inflight + (uint64_t)want > (uint64_t)s_opt.window ||
                    h->head - h->tail >= MAX_INFLIGHT_BATCHES)
                    break;
                if (s_send_batch(h, want, wall) != 0)
                    break;
                sent = true;
                if (rate > 0) {
                    h->credit -= want;
                    break;
                }
            }
            if (sent) /* a send can swallow the socket's wake-up: look now */
                acked += s_drain(h, rate > 0);
        }
        int k = epoll_wait(ep, evs, 256, 1);
        for (int e = 0; e < k; e++)
            acked += s_drain(&halls[evs[e].data.u32], rate > 0);
        if (now - last_hello >= 500) {
            last_hello = now;
            for (int i = 0; i < n; i++) {
                if (halls[i].welcomed)
                    continue;
                simlink_send_hello(halls[i].sock);
                acked += s_drain(&halls[i], rate > 0);
            }
        }
    }
    close(ep);
    double secs = (double)(hb_mono_ms() - t0) / 1000.0;
    qsort(s_lat, s_nlat, sizeof *s_lat, s_cmp_double);
    printf("%s: %d halls, %.1f s: %llu events durably stored and acknowledged = %.0f events/s\n",
           name, n, secs, (unsigned long long)acked, (double)acked / secs);
    printf("%s: the simulator's own loop: %.2f ms per turn over %d sockets\n", name,
           secs * 1000.0 / (double)(iterations ? iterations : 1), n);
    if (rate > 0)
        printf("%s: ack latency over %zu batches: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", name,
               s_nlat, s_pct(0.50), s_pct(0.99), s_nlat ? s_lat[s_nlat - 1] : 0.0);
    s_print_hq(name);
    fflush(stdout);
    return (double)acked / secs;
}

/* How far behind the rollups are (the status's lag), -1 when unknown. */
static int64_t s_rollup_lag(void)
{
    hb_httpc_resp_t r;
    char err[128];
    hb_httpc_opts_t http = s_opt.http;
    http.timeout_ms = 5000;
    if (hb_httpc_call(s_hq_http, "GET", "/v1/status", NULL, &http, &r, err, sizeof err) != 0)
        return -1;
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    json_t *ru = json_object_get(j, "rollups");
    int64_t lag = json_is_true(json_object_get(ru, "enabled"))
                      ? (int64_t)json_integer_value(json_object_get(ru, "lag_events"))
                      : -1;
    json_decref(j);
    hb_httpc_resp_free(&r);
    return lag;
}

/* One run against a scratch hqd started with `extra`; the throughput
 * phase's figure in `*eps` (0 when it did not run). */
static int s_run(const char *label, const char *const *extra, double *eps)
{
    *eps = 0;
    snprintf(s_opt.root, sizeof s_opt.root, "/tmp/hb-bench-XXXXXX");
    int zport = 17400 + getpid() % 1000, hport = zport + 1000;
    hb_cert_t hq;
    pid_t hqd = simlink_hqd_up("bench_ingest", s_opt.hqd, s_opt.root, zport, hport, extra,
                               &s_opt.http, s_hq_http, sizeof s_hq_http, &hq);
    if (hqd < 0)
        return 1;
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, 1);
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 30000);
    sim_hall_t *halls = calloc((size_t)s_opt.halls, sizeof *halls);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", zport);
    for (int i = 0; i < s_opt.halls; i++) {
        sim_hall_t *h = &halls[i];
        snprintf(h->id, sizeof h->id, "B%05d", i);
        h->sock = simlink_connect(ctx, s_opt.root, &hq, endpoint, h->id);
        if (!h->sock) {
            fprintf(stderr, "bench_ingest: cannot set up hall %s\n", h->id);
            return 1;
        }
        h->next_seq = 1;
    }
    printf("bench_ingest (%s): hqd %s, %d halls connected over CURVE, batch %d, window %d\n",
           label, s_opt.hqd, s_opt.halls, s_opt.batch, s_opt.window);
    /* Let every hall get its Welcome. */
    int64_t deadline = hb_mono_ms() + 60000;
    int welcomed = 0;
    while (welcomed < s_opt.halls && hb_mono_ms() < deadline) {
        welcomed = 0;
        for (int i = 0; i < s_opt.halls; i++) {
            s_drain(&halls[i], false);
            if (halls[i].welcomed) {
                welcomed++;
                continue;
            }
            simlink_send_hello(halls[i].sock);
        }
        usleep(100000);
    }
    printf("bench_ingest: %d of %d halls welcomed\n", welcomed, s_opt.halls);
    char name[64];
    if (strcmp(s_opt.phases, "steady") != 0) {
        snprintf(name, sizeof name, "throughput, rollups %s", label);
        *eps = s_phase(halls, s_opt.halls, s_opt.seconds, 0, name);
        /* The rollups yield to ingest during the burst; how long they
         * take to catch up after it. */
        int64_t lag = s_rollup_lag(), t0 = hb_mono_ms();
        int64_t s_rollup_lag_first = lag;
        if (lag >= 0) {
            while (lag > 0 && hb_mono_ms() - t0 < 300000) {
                for (int i = 0; i < s_opt.halls; i++)
                    s_drain(&halls[i], false);
                usleep(100000);
                lag = s_rollup_lag();
            }
            printf("%s: the rollups were %lld event(s) behind at the end; caught up %.1f s "
                   "later\n",
                   name, (long long)s_rollup_lag_first, (double)(hb_mono_ms() - t0) / 1000.0);
        }
    }
    /* Let the backlog settle before measuring latency. */
    for (int k = 0; k < 20; k++) {
        for (int i = 0; i < s_opt.halls; i++)
            s_drain(&halls[i], false);
        usleep(100000);
    }
    if (strcmp(s_opt.phases, "throughput") != 0) {
        snprintf(name, sizeof name, "steady, rollups %s", label);
        s_phase(halls, s_opt.halls, s_opt.seconds, s_opt.rate, name);
    }
    for (int i = 0; i < s_opt.halls; i++)
        zmq_close(halls[i].sock);
    zmq_ctx_term(ctx);
    simlink_hqd_down("bench_ingest", hqd, s_opt.root);
    free(halls);
    return 0;
}

int main(int argc, char **argv)
{
    static settings_t set;
    int rc = hb_config_args_main(s_options, NOPTIONS, &s_cli, &set, argc, argv, NULL);
    if (rc >= 0)
        return rc; /* --help, --version, or refused */
    s_opt.halls = (int)set.halls;
    s_opt.seconds = (int)set.seconds;
    s_opt.batch = (int)set.batch;
    s_opt.window = (int)set.window;
    s_opt.rate = (int)set.rate;
    s_opt.phases = set.phases;
    s_opt.rollups = set.rollups;
    s_opt.hqd = set.hqd;
    s_opt.http.token = set.token;
    if (!s_opt.hqd)
        s_opt.hqd = simlink_default_hqd();
    simlink_raise_nofile();
    rc = 0;
    static const char *const off[] = {"--rollups", "false", NULL};
    /* Compared in the order off, on, on, off, so that a machine that gets
     * busier or quieter during the run weighs on both alike. */
    static const bool abba[] = {false, true, true, false};
    double sum_off = 0, sum_on = 0;
    int n_off = 0, n_on = 0;
    bool both = strcmp(s_opt.rollups, "both") == 0;
    for (size_t k = 0; k < (both ? 4u : 1u) && rc == 0; k++) {
        bool on = both ? abba[k] : strcmp(s_opt.rollups, "on") == 0;
        double eps;
        rc = s_run(on ? "on" : "off", on ? NULL : off, &eps);
        if (on) {
            sum_on += eps;
            n_on++;
        } else {
            sum_off += eps;
            n_off++;
        }
    }
    if (rc == 0 && both && sum_off > 0 && sum_on > 0)
        printf("throughput with rollups: %.0f events/s against %.0f without (means of two "
               "runs each): %+.1f%%\n",
               sum_on / n_on, sum_off / n_off,
               (sum_on / n_on - sum_off / n_off) * 100.0 / (sum_off / n_off));
    free(s_lat);
    hb_config_free(s_options, NOPTIONS, &set);
    return rc;
}
