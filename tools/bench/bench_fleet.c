/* bench_fleet: a national network on one scratch hqd (issue 17's 100,000
 * halls): how long N halls take to be welcomed, what hqd costs with them
 * connected and heartbeating but idle (RSS, CPU as % of a core), what a
 * national peak (--rate events/s over all halls) delivers and how fast it
 * is acknowledged, and how the network comes back after a `kill -9` of hqd
 * with every hall holding a backlog: the time until every hall is welcomed
 * again and every backlog acknowledged, and a per-second histogram of the
 * reconnects (a synchronized storm, or spread by jitter). The halls behave
 * as branchd's uplink does (reconnect waits, Hellos, heartbeats, resends:
 * branchd/uplink.c's policy and settings, hb_jitter_ms) but without
 * branchd: each is a DEALER with its own enrolled CURVE key (simlink.h),
 * 4,000 per worker process (kids.h stops them, and hqd, on every way out).
 * Prints figures; asserts nothing. Not a throughput benchmark: that is
 * bench_ingest. */
#include "benchcli.h"
#include "days.h"
#include "kids.h"
#include "samples.h"
#include "simlink.h"
#include "workers.h"

#include "hallbus/cert.h"
#include "hallbus/codec.h"
#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/httpc.h"
#include "hallbus/time.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define HALLS_PER_WORKER 4000 /* about 8,000 descriptors: well inside 20,000 */
#define MAX_WORKERS 25        /* 100,000 halls */
#define DAYS_POOL 16          /* distinct hall days the halls play in turn */
#define DAYS_SEED 20261202
#define RING 16                         /* batches in flight per hall whose send time is kept */
#define HIST_S 120                      /* reconnect histogram: one bucket per second */
#define TICK_MS 20                      /* how often a worker looks at every hall's timers */
#define UPLINK_TICK_MS 100              /* branchd runs uplink_tick that often (branchd/main.c) */
#define UPLINK_MIN_MS 500               /* branchd's reconnect_min default (branchd/main.c) */
#define UPLINK_MAX_MS 30000             /* branchd's reconnect_max default */
#define UPLINK_RESEND_AFTER_MAX_MS 3000 /* branchd/uplink.c: the longest wait for an ack */

typedef struct hall {
    void *sock;
    /* An event's bytes follow from its sequence alone (the day's cursor
     * and at_ms = base_ms + seq), so that a resend carries the bytes HQ
     * may already hold, as a real outbox's would: `day` is the cursor of
     * next_send, `acked_day` that of acked + 1. */
    days_cursor_t day, acked_day;
    int64_t base_ms;
    uint64_t last_seq; /* events the hall holds (its outbox) */
    uint64_t next_send, acked;
    bool welcomed;
    int64_t last_rx_ms, last_tx_ms, last_progress_ms;
    int64_t next_hello_ms, hello_wait_ms;
    /* Of the current phase (0: not yet): the first frame from HQ (the link
     * works again), the first Welcome, every event held acknowledged. */
    int64_t back_at_ms, welcomed_at_ms, drained_at_ms, from_ms;
    int64_t sent_at[RING];
    uint64_t last_of[RING];
    unsigned head, tail;
    double credit;
} hall_t;

static struct {
    int halls, connect_s, idle_s, peak_s, rate, backlog, batch, heartbeat_ms, timeout_ms, down_ms,
        drain_s;
    const char *hqd;
    char root[256];
    hb_httpc_opts_t http;
} s_opt;

static days_t *s_days;

typedef struct settings {
    int64_t halls, connect, idle, peak, rate, backlog, batch, heartbeat, link_timeout, down, drain;
    char *hqd, *token;
} settings_t;

#define ROW(...) HB_CONF_OPT(settings_t, __VA_ARGS__)
static const hb_config_def_t s_options[] = {
    WORKERS_ROWS(settings_t),
    ROW("connect", HB_CONF_INT, connect, "300", 1, 3600, "S",
        "longest wait for every hall's first welcome"),
    ROW("idle", HB_CONF_INT, idle, "10", 1, 3600, "S",
        "idle phase: seconds of halls connected and heartbeating, no events"),
    ROW("peak", HB_CONF_INT, peak, "10", 0, 3600, "S", "peak phase: seconds at --rate"),
    ROW("rate", HB_CONF_INT, rate, "20000", 1, 10000000, "R", "peak: events/s over all halls"),
    ROW("backlog", HB_CONF_INT, backlog, "20", 0, 100000, "B",
        "events every hall holds, unsent, when hqd is killed"),
    ROW("batch", HB_CONF_INT, batch, "100", 1, 1024, "E", "most events in one batch"),
    ROW("heartbeat", HB_CONF_INT, heartbeat, "15000", 100, 600000, "MS",
        "the halls' heartbeat on an idle link (branchd's heartbeat)", .at_most = "link_timeout"),
    ROW("link_timeout", HB_CONF_INT, link_timeout, "45000", 500, 600000, "MS",
        "HQ silent this long: a hall says Hello again (branchd's link_timeout)"),
    ROW("down", HB_CONF_INT, down, "1000", 0, 600000, "MS",
        "how long hqd stays dead before its restart"),
    ROW("drain", HB_CONF_INT, drain, "120", 1, 3600, "S",
        "longest wait for the welcomes and backlogs after the restart"),
    SIMLINK_ROWS(settings_t),
};
#undef ROW

static const bench_cli_t s_cli = BENCH_CLI(
    s_options, "bench_fleet",
    "[--halls N] [--connect S] [--idle S] [--peak S] [--rate R] [--backlog B] [--batch E]\n"
    "                   [--heartbeat MS] [--link_timeout MS] [--down MS] [--drain S] [--hqd "
    "PATH]",
    "a national network of halls on one scratch hqd: connect, idle, peak, and a "
    "kill -9 of hqd with every hall holding a backlog");

/* ------------------------------------------------------------ the halls */

/* Sends what the hall holds past next_send, in batches, within a window of
 * RING batches; records each batch's send time. */
static void s_pump(hall_t *h, int64_t now_us, uint64_t *sent)
{
    while (h->welcomed && h->next_send <= h->last_seq && h->head - h->tail < RING) {
        uint64_t n = h->last_seq - h->next_send + 1;
        if (n > (uint64_t)s_opt.batch)
            n = (uint64_t)s_opt.batch;
        ProtobufCBinaryData items[1024];
        days_cursor_t keep = h->day;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t seq = h->next_send + i;
            if (days_next(s_days, &h->day, seq, h->base_ms + (int64_t)seq, &items[i]) != 0) {
                for (uint64_t k = 0; k < i; k++)
                    free(items[k].data);
                h->day = keep;
                return;
            }
        }
        if (simlink_send_batch(h->sock, items, (size_t)n) != 0) {
            h->day = keep;
            return;
        }
        h->next_send += n;
        h->sent_at[h->head % RING] = now_us;
        h->last_of[h->head % RING] = h->next_send - 1;
        h->head++;
        h->last_tx_ms = now_us / 1000;
        *sent += n;
    }
}

/* HQ holds everything up to `c`: the acknowledged cursor follows. */
static void s_acked_to(hall_t *h, uint64_t c)
{
    for (; h->acked < c; h->acked++) {
        ProtobufCBinaryData skip;
        if (days_next(s_days, &h->acked_day, h->acked + 1, 0, &skip) == 0)
            free(skip.data);
    }
}

/* Sends again from the first event HQ has not acknowledged. */
static void s_resend(hall_t *h)
{
    h->next_send = h->acked + 1;
    h->day = h->acked_day;
    h->head = h->tail = 0;
}

/* Every frame waiting on the hall's socket: Welcome, Ack, Heartbeat or
 * Reject, as branchd's uplink reads them. Ack latencies (ms) into `lat`. */
static void s_drain(hall_t *h, samples_t *lat)
{
    for (;;) {
        Hallbus__Frame *f = simlink_recv_frame(h->sock);
        if (!f)
            return;
        int64_t now_us = hb_mono_ns() / 1000, now = now_us / 1000;
        h->last_rx_ms = now;
        if (!h->back_at_ms && now >= h->from_ms)
            h->back_at_ms = now;
        if (f->kind_case == HALLBUS__FRAME__KIND_WELCOME) {
            uint64_t c = f->welcome->committed_seq;
            h->welcomed = true;
            h->hello_wait_ms = UPLINK_MIN_MS;
            s_acked_to(h, c);
            s_resend(h);
            h->last_progress_ms = now;
            if (!h->welcomed_at_ms)
                h->welcomed_at_ms = now;
        } else if (f->kind_case == HALLBUS__FRAME__KIND_ACK) {
            uint64_t c = f->ack->committed_seq;
            if (c > h->acked) {
                s_acked_to(h, c);
                h->last_progress_ms = now;
            }
            while (h->tail != h->head && h->last_of[h->tail % RING] <= c) {
                if (lat)
                    samples_add(lat, (double)(now_us - h->sent_at[h->tail % RING]) / 1000.0);
                h->tail++;
            }
        } else if (f->kind_case == HALLBUS__FRAME__KIND_REJECT) {
            h->welcomed = false; /* HQ does not know this session: say Hello */
            h->next_hello_ms = now;
        }
        hb_frame_free(f);
        if (h->welcomed && h->acked >= h->last_seq && !h->drained_at_ms)
            h->drained_at_ms = now;
    }
}

/* One hall's timers, as uplink_tick runs them: a Hello after a jittered,
 * doubling wait while not welcomed; the link given up after timeout of
 * silence; a resend from the last ack when acks stopped; a heartbeat when
 * nothing was sent for a heartbeat interval. */
static bool s_tick(hall_t *h, int64_t now, uint64_t *sent)
{
    if (h->welcomed && now - h->last_rx_ms > s_opt.timeout_ms) {
        h->welcomed = false; /* HQ silent */
        s_resend(h);
        h->next_hello_ms = now;
    }
    if (!h->welcomed) {
        if (now < h->next_hello_ms)
            return false;
        Hallbus__Hello hello = HALLBUS__HELLO__INIT;
        hello.protocol = 1;
        Hallbus__Frame f = HALLBUS__FRAME__INIT;
        f.kind_case = HALLBUS__FRAME__KIND_HELLO;
        f.hello = &hello;
        if (simlink_send_frame(h->sock, &f) != 0) {
            /* Not connected yet (ZMQ_IMMEDIATE): branchd tries again at
             * its next uplink tick. */
            h->next_hello_ms = now + UPLINK_TICK_MS;
            return false;
        }
        h->last_tx_ms = now;
        h->next_hello_ms = now + hb_jitter_ms(h->hello_wait_ms);
        h->hello_wait_ms = hb_backoff_double(h->hello_wait_ms, UPLINK_MAX_MS);
        return true;
    }
    int64_t tx = h->last_tx_ms;
    int64_t resend_after = 2 * s_opt.heartbeat_ms + 1000;
    if (resend_after > UPLINK_RESEND_AFTER_MAX_MS)
        resend_after = UPLINK_RESEND_AFTER_MAX_MS;
    if (h->next_send > h->acked + 1 && now - h->last_progress_ms > resend_after) {
        s_resend(h);
        h->last_progress_ms = now;
    }
    if (now - h->last_tx_ms >= s_opt.heartbeat_ms) {
        Hallbus__Heartbeat hb = HALLBUS__HEARTBEAT__INIT;
        hb.sent_at_ms = hb_now_ms();
        hb.last_seq = h->last_seq;
        hb.backlog = h->last_seq - h->acked;
        Hallbus__Frame f = HALLBUS__FRAME__INIT;
        f.kind_case = HALLBUS__FRAME__KIND_HEARTBEAT;
        f.heartbeat = &hb;
        if (simlink_send_frame(h->sock, &f) == 0)
            h->last_tx_ms = now;
    }
    s_pump(h, now * 1000, sent);
    return h->last_tx_ms != tx;
}

/* ----------------------------------------------------------- workers */

enum { OP_QUIT, OP_RUN };

/* parent -> worker: run for `seconds` (or, with `drain`, until every hall
 * is welcomed and acknowledged, at most `seconds`); each hall first takes
 * `backlog` new events; `rate` is this worker's share of the peak. */
typedef struct wk_cmd {
    int op, seconds, drain, backlog;
    double rate;
    int64_t t0_ms;   /* the phase's start (monotonic, shared by the processes) */
    int64_t from_ms; /* frames from HQ count from then (the restart) */
} wk_cmd_t;

/* worker -> parent after a phase, its latencies in ms after it. */
typedef struct wk_report {
    uint64_t back, welcomed, drained, sent, acked;
    int64_t last_back_ms, last_welcome_ms, last_drain_ms; /* since t0 */
    uint32_t hist[HIST_S + 1]; /* halls back per second since t0 (last: later) */
    uint64_t rss_kb, cpu_ns;
} wk_report_t;

/* A process's resident set in KiB (/proc/PID/status VmRSS), 0 if unknown. */
static uint64_t s_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    uint64_t kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtoull(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* One phase of a worker's halls (see wk_cmd_t); reports to `out`. */
static void s_phase(hall_t *halls, int n, int ep, const wk_cmd_t *c, int out)
{
    samples_t lat = {0};
    samples_t *rec = c->rate > 0 ? &lat : NULL;
    wk_report_t r = {0};
    uint64_t acked0 = 0;
    for (int i = 0; i < n; i++) {
        halls[i].last_seq += (uint64_t)c->backlog;
        halls[i].back_at_ms = halls[i].welcomed_at_ms = halls[i].drained_at_ms = 0;
        halls[i].from_ms = c->from_ms;
        halls[i].credit = (double)rand() / ((double)RAND_MAX + 1.0);
        acked0 += halls[i].acked;
    }
    int64_t end = c->t0_ms + c->seconds * 1000LL, last = hb_mono_ms(), next_tick = 0;
    struct epoll_event evs[256];
    for (;;) {
        int64_t now = hb_mono_ms();
        if (now >= end)
            break;
        if (now >= next_tick) {
            double dt = (double)(now - last) / 1000.0;
            last = now;
            bool all = true;
            for (int i = 0; i < n; i++) {
                hall_t *h = &halls[i];
                if (c->rate > 0 && h->welcomed) {
                    h->credit += dt * c->rate / n;
                    if (h->credit >= 1) {
                        h->last_seq += (uint64_t)h->credit;
                        h->credit -= (double)(uint64_t)h->credit;
                    }
                }
                /* A send can swallow the socket's wake-up (ZMQ_FD signals
                 * edges): look at once. */
                if (s_tick(h, now, &r.sent))
                    s_drain(h, rec);
                all = all && h->drained_at_ms && h->back_at_ms;
            }
            next_tick = now + TICK_MS;
            if (c->drain && all)
                break;
        }
        int k = epoll_wait(ep, evs, 256, (int)(next_tick - hb_mono_ms() > 0 ? next_tick - now : 0));
        for (int e = 0; e < k; e++) {
            hall_t *h = &halls[evs[e].data.u32];
            s_drain(h, rec);
            uint64_t before = r.sent;
            s_pump(h, hb_mono_ns() / 1000, &r.sent);
            if (r.sent != before)
                s_drain(h, rec);
        }
    }
    for (int i = 0; i < n; i++) {
        const hall_t *h = &halls[i];
        r.acked += h->acked;
        if (h->back_at_ms) {
            int64_t at = h->back_at_ms - c->from_ms;
            r.back++;
            r.hist[at / 1000 < HIST_S ? at / 1000 : HIST_S]++;
            if (at > r.last_back_ms)
                r.last_back_ms = at;
        }
        if (h->welcomed_at_ms) {
            r.welcomed++;
            if (h->welcomed_at_ms - c->from_ms > r.last_welcome_ms)
                r.last_welcome_ms = h->welcomed_at_ms - c->from_ms;
        }
        if (h->drained_at_ms) {
            r.drained++;
            if (h->drained_at_ms - c->from_ms > r.last_drain_ms)
                r.last_drain_ms = h->drained_at_ms - c->from_ms;
        }
    }
    r.acked -= acked0;
    r.rss_kb = s_rss_kb(getpid());
    r.cpu_ns = kids_cpu_ns(getpid());
    workers_report(out, &r, sizeof r, &lat);
}

/* A worker's life: enrol and connect its halls, then run the phases the
 * parent sends (its halls keep heartbeating between them), until told to
 * quit or the parent goes away. Never returns. */
static void s_worker_run(void *arg, int cmd_in, int out)
{
    simlink_uplink_t up = {UPLINK_MIN_MS, UPLINK_MAX_MS, s_opt.heartbeat_ms, s_opt.timeout_ms};
    const worker_t *wk = arg;
    void *ctx;
    hall_t *halls = workers_halls(wk, sizeof *halls, &ctx);
    int n = wk->hi - wk->lo;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    /* Every hall enrolled first, then connected on the parent's word: a
     * network is enrolled over months, and hqd's key check reads a folder
     * that changes at most every 250 ms (hqd/link/zap.c). */
    hb_cert_t *certs = calloc((size_t)n, sizeof *certs);
    if (!certs)
        _exit(1);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "B%06d", wk->lo + i);
        if (simlink_enrol(s_opt.root, id, &certs[i]) != 0) {
            fprintf(stderr, "bench_fleet: cannot enrol hall %s\n", id);
            _exit(1);
        }
    }
    wk_report_t enrolled = {.welcomed = (uint64_t)n};
    workers_report(out, &enrolled, sizeof enrolled, NULL);
    wk_cmd_t go;
    if (kids_pipe_all(cmd_in, &go, sizeof go, false) != 0 || go.op == OP_QUIT)
        _exit(0);
    for (int i = 0; i < n; i++) {
        hall_t *h = &halls[i];
        h->sock = simlink_connect_cert(ctx, wk->hq, wk->endpoint, &certs[i], &up);
        if (!h->sock || simlink_watch(ep, h->sock, (uint32_t)i) != 0) {
            fprintf(stderr, "bench_fleet: cannot set up hall B%06d (%s)\n", wk->lo + i,
                    zmq_strerror(zmq_errno()));
            _exit(1);
        }
        h->next_send = 1;
        h->hello_wait_ms = UPLINK_MIN_MS;
        h->day = h->acked_day = days_start(s_days, wk->lo + i);
        h->base_ms = hb_now_ms();
    }
    free(certs);
    s_phase(halls, n, ep, &go, out);
    for (;;) {
        wk_cmd_t c;
        if (kids_pipe_all(cmd_in, &c, sizeof c, false) != 0 || c.op == OP_QUIT)
            break;
        s_phase(halls, n, ep, &c, out);
    }
    close(ep);
    workers_end(ctx, halls, sizeof *halls, offsetof(hall_t, sock), n);
}

/* ------------------------------------------------------------ phases */

typedef struct phase_sum {
    wk_report_t r; /* summed; last_* the latest; rss and cpu summed */
    samples_t lat;
} phase_sum_t;

/* Sends `c` to every worker (the rate split by halls) and sums the
 * reports. 0, or -1 when a worker gave none. */
static int s_phase_send(worker_t *ws, int nw, wk_cmd_t c)
{
    for (int k = 0; k < nw; k++) {
        wk_cmd_t w = c;
        w.rate = c.rate * (ws[k].hi - ws[k].lo) / s_opt.halls;
        if (kids_pipe_all(ws[k].cmd, &w, sizeof w, true) != 0)
            return -1;
    }
    return 0;
}

static int s_phase_collect(worker_t *ws, int nw, phase_sum_t *s)
{
    memset(&s->r, 0, sizeof s->r);
    for (int k = 0; k < nw; k++) {
        wk_report_t r;
        if (workers_collect(&ws[k], &r, sizeof r, &s->lat, "bench_fleet") != 0)
            return -1;
        s->r.back += r.back;
        s->r.welcomed += r.welcomed;
        s->r.drained += r.drained;
        s->r.sent += r.sent;
        s->r.acked += r.acked;
        s->r.rss_kb += r.rss_kb;
        s->r.cpu_ns += r.cpu_ns;
        for (int i = 0; i <= HIST_S; i++)
            s->r.hist[i] += r.hist[i];
        if (r.last_back_ms > s->r.last_back_ms)
            s->r.last_back_ms = r.last_back_ms;
        if (r.last_welcome_ms > s->r.last_welcome_ms)
            s->r.last_welcome_ms = r.last_welcome_ms;
        if (r.last_drain_ms > s->r.last_drain_ms)
            s->r.last_drain_ms = r.last_drain_ms;
    }
    samples_sort(&s->lat);
    return 0;
}

static void s_load(const char *when)
{
    char buf[128] = "";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    printf("%s: load average %s\n", when, buf);
}

static void s_hist(const uint32_t *hist)
{
    int top = HIST_S;
    while (top > 0 && hist[top] == 0)
        top--;
    for (int i = 0; i <= top; i++)
        printf("  %3d s%s %6u %.*s\n", i, i == HIST_S ? "+" : " ", hist[i],
               (int)(hist[i] * 60 / (uint32_t)s_opt.halls + (hist[i] ? 1 : 0)),
               "############################################################++");
}

/* hqd's RSS and CPU over a window of `seconds` in which the workers run a
 * phase `c`; prints them under `name`. */
static int s_window(worker_t *ws, int nw, pid_t hqd, const char *name, wk_cmd_t c, phase_sum_t *sum)
{
    uint64_t cpu0 = kids_cpu_ns(hqd);
    int64_t t0 = hb_mono_ms();
    if (s_phase_send(ws, nw, c) != 0 || s_phase_collect(ws, nw, sum) != 0)
        return -1;
    double secs = (double)(hb_mono_ms() - t0) / 1000.0;
    uint64_t cpu = kids_cpu_ns(hqd) - cpu0;
    printf("%s: hqd RSS %.1f MiB (%.1f KiB per hall), CPU %.1f%% of a core over %.1f s; the "
           "simulator's workers RSS %.1f MiB\n",
           name, (double)s_rss_kb(hqd) / 1024.0, (double)s_rss_kb(hqd) / s_opt.halls,
           100.0 * (double)cpu / 1e9 / secs, secs, (double)sum->r.rss_kb / 1024.0);
    return 0;
}

static int s_run(void)
{
    static worker_t ws[MAX_WORKERS];
    char http[80], endpoint[64];
    int zport = 27000 + (int)(getpid() % 2000), hport = zport + 1;
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", zport);
    snprintf(s_opt.root, sizeof s_opt.root, "/tmp/bench_fleet.XXXXXX");
    static const char *const extra[] = {"--rollups", "false", NULL};
    hb_cert_t hq;
    s_load("start");
    pid_t pid = simlink_hqd_up("bench_fleet", s_opt.hqd, s_opt.root, zport, hport, extra,
                               &s_opt.http, http, sizeof http, &hq);
    if (pid < 0)
        return 1;
    kids_add(pid, SIGTERM);
    kids_add_dir(s_opt.root);
    printf("hqd %s (pid %d), data in %s\n", s_opt.hqd, (int)pid, s_opt.root);
    int nw = (s_opt.halls + HALLS_PER_WORKER - 1) / HALLS_PER_WORKER;
    int64_t t0 = hb_mono_ms();
    if (workers_start(ws, nw, s_opt.halls, &hq, endpoint, s_worker_run, "bench_fleet") != 0)
        return 1;
    phase_sum_t sum = {0};
    /* Enrol every hall, let hqd's key check read the folder, then connect
     * and welcome them all. */
    if (s_phase_collect(ws, nw, &sum) != 0)
        return 1;
    printf("enrol: %llu halls' keys made and saved in %.1f s\n", (unsigned long long)sum.r.welcomed,
           (double)(hb_mono_ms() - t0) / 1000.0);
    sleep(2);
    t0 = hb_mono_ms();
    wk_cmd_t c = {.op = OP_RUN, .seconds = s_opt.connect_s, .drain = 1, .t0_ms = t0, .from_ms = t0};
    if (s_phase_send(ws, nw, c) != 0 || s_phase_collect(ws, nw, &sum) != 0)
        return 1;
    printf("connect: %llu of %d halls welcomed (%d worker processes) in %.1f s (sockets made, "
           "CURVE handshakes, Hellos)\n",
           (unsigned long long)sum.r.welcomed, s_opt.halls, nw,
           (double)sum.r.last_welcome_ms / 1000.0);
    printf("connect: halls welcomed per second:\n");
    s_hist(sum.r.hist);
    s_load("connect");
    /* Idle. */
    c = (wk_cmd_t){.op = OP_RUN, .seconds = s_opt.idle_s, .t0_ms = hb_mono_ms()};
    if (s_window(ws, nw, pid, "idle", c, &sum) != 0)
        return 1;
    s_load("idle");
    /* Peak. */
    if (s_opt.peak_s > 0) {
        samples_free(&sum.lat);
        c = (wk_cmd_t){
            .op = OP_RUN, .seconds = s_opt.peak_s, .rate = s_opt.rate, .t0_ms = hb_mono_ms()};
        if (s_window(ws, nw, pid, "peak", c, &sum) != 0)
            return 1;
        printf("peak: asked %d events/s over %d halls; sent %.0f/s, acknowledged %.0f/s; ack "
               "p50 %.1f ms p99 %.1f ms max %.1f ms (%zu batches)\n",
               s_opt.rate, s_opt.halls, (double)sum.r.sent / s_opt.peak_s,
               (double)sum.r.acked / s_opt.peak_s, samples_pct(&sum.lat, 0.5),
               samples_pct(&sum.lat, 0.99), samples_pct(&sum.lat, 1.0), sum.lat.n);
        s_load("peak");
    }
    /* kill -9, a backlog in every hall, a restart on the same data. */
    int64_t tk = hb_mono_ms();
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    kids_forget(pid);
    printf("restart: hqd killed with SIGKILL; every hall now holds %d unsent events\n",
           s_opt.backlog);
    c = (wk_cmd_t){.op = OP_RUN,
                   .seconds = s_opt.drain_s + s_opt.down_ms / 1000 + 1,
                   .drain = 1,
                   .backlog = s_opt.backlog,
                   .t0_ms = tk,
                   .from_ms = tk + s_opt.down_ms};
    if (s_phase_send(ws, nw, c) != 0)
        return 1;
    int64_t tr = c.from_ms;
    while (hb_mono_ms() < tr)
        usleep(1000);
    pid = simlink_start_hqd(s_opt.hqd, s_opt.root, zport, hport, extra, &s_opt.http, http,
                            sizeof http);
    if (pid < 0) {
        fprintf(stderr, "bench_fleet: hqd did not restart (see %s/hqd.log)\n", s_opt.root);
        return 1;
    }
    kids_add(pid, SIGTERM);
    printf("restart: hqd (pid %d) started %.1f s after the kill, its API answered %.1f s later\n",
           (int)pid, (double)(tr - tk) / 1000.0, (double)(hb_mono_ms() - tr) / 1000.0);
    if (s_phase_collect(ws, nw, &sum) != 0)
        return 1;
    printf("restart: %llu of %d halls heard from HQ again, the last %.1f s after the restart; "
           "%llu said Hello and were welcomed (a hall whose session HQ took on without one "
           "does not), the last %.1f s after the restart; %llu backlogs acknowledged, the last "
           "%.1f s after the restart (%llu events)\n",
           (unsigned long long)sum.r.back, s_opt.halls, (double)sum.r.last_back_ms / 1000.0,
           (unsigned long long)sum.r.welcomed, (double)sum.r.last_welcome_ms / 1000.0,
           (unsigned long long)sum.r.drained, (double)sum.r.last_drain_ms / 1000.0,
           (unsigned long long)sum.r.acked);
    printf("restart: halls back (their first frame from the new hqd) per second after the "
           "restart:\n");
    s_hist(sum.r.hist);
    printf("restart: hqd RSS %.1f MiB after the drain\n", (double)s_rss_kb(pid) / 1024.0);
    s_load("restart");
    samples_free(&sum.lat);
    for (int k = 0; k < nw; k++) {
        wk_cmd_t q = {.op = OP_QUIT};
        if (kids_pipe_all(ws[k].cmd, &q, sizeof q, true) == 0) {
            waitpid(ws[k].pid, NULL, 0);
            kids_forget(ws[k].pid);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static settings_t set;
    char err[256] = "";
    int rc = bench_cli_read(&s_cli, &set, argc, argv);
    if (rc >= 0)
        return rc; /* --help, --version, or refused */
    s_opt.halls = (int)set.halls;
    s_opt.connect_s = (int)set.connect;
    s_opt.idle_s = (int)set.idle;
    s_opt.peak_s = (int)set.peak;
    s_opt.rate = (int)set.rate;
    s_opt.backlog = (int)set.backlog;
    s_opt.batch = (int)set.batch;
    s_opt.heartbeat_ms = (int)set.heartbeat;
    s_opt.timeout_ms = (int)set.link_timeout;
    s_opt.down_ms = (int)set.down;
    s_opt.drain_s = (int)set.drain;
    s_opt.hqd = set.hqd ? set.hqd : simlink_default_hqd();
    s_opt.http.token = set.token;
    kids_init("bench_fleet");
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (days_build(DAYS_POOL, DAYS_SEED, &s_days, err, sizeof err) != 0) {
        fprintf(stderr, "bench_fleet: cannot build the simulator's hall days: %s\n", err);
        bench_cli_free(&s_cli, &set);
        return 1;
    }
    printf("bench_fleet: %d halls, %d per worker process; heartbeat %d ms, link timeout %d ms, "
           "reconnect %d ms..%d ms jittered; events from %d simulated hall days, %.1f bytes "
           "of body on average\n",
           s_opt.halls, HALLS_PER_WORKER, s_opt.heartbeat_ms, s_opt.timeout_ms, UPLINK_MIN_MS,
           UPLINK_MAX_MS, DAYS_POOL, days_mean_body(s_days));
    rc = s_run();
    kids_stop_all();
    days_free(&s_days);
    bench_cli_free(&s_cli, &set);
    return rc;
}
