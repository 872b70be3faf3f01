/* bench_ingest: how many events per second hqd stores durably, mirrors and
 * shows on its board, and how fast it acknowledges them; with --rollups
 * both, the same run against an hqd without rollups and one with them; with
 * --compare-peers, the peers harness (Redis Streams with appendfsync
 * always, a bare ZeroMQ->LMDB pipe) with the same workload in the same
 * invocation, and the ratios. Starts its own hqd in a scratch folder,
 * enrols N simulated halls (real key pairs in HQ's halls/ folder) spread
 * over worker processes (a ZeroMQ socket takes descriptors: 10,000 halls do
 * not fit one process under a common limit), connects each over real CURVE,
 * and sends the simulator's hall days (days.h: every event kind, real ticket
 * names) in batches within a window per hall. An event counts only once
 * HQ's cumulative ack (sent after the synced commit) covers it. Two phases:
 * as fast as possible (throughput), then a steady rate (ack latency
 * percentiles). Each phase prints three rates (stored and acknowledged,
 * mirrored, visible on the board by the tiles' last sequence) and says so
 * when the mirror or the board fell behind. Everything it started stops on
 * every way out (kids.h). Prints figures; asserts nothing. */
#include "benchcli.h"
#include "days.h"
#include "kids.h"
#include "peers.h"
#include "samples.h"
#include "simlink.h"
#include "workers.h"

#include "hallbus/cert.h"
#include "hallbus/codec.h"
#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/httpc.h"
#include "hallbus/time.h"

#include <jansson.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_INFLIGHT_BATCHES 64
#define HALLS_PER_WORKER 4000 /* about 8,000 descriptors: well inside 20,000 */
#define DAYS_POOL 64          /* distinct hall days the halls play in turn */
#define DAYS_SEED 20261202
#define CATCH_UP_MAX_MS 300000

typedef struct sim_hall {
    void *sock;
    char id[16];
    days_cursor_t day; /* the next event of its day */
    uint64_t next_seq; /* next to send */
    uint64_t acked;
    bool welcomed;
    int64_t hello_ms;
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
    const char *phases;  /* "both", "throughput" or "steady" */
    const char *rollups; /* "on", "off" or "both" */
    const char *hqd;
    bool compare;
    const char *peers;
    char root[256];
    hb_httpc_opts_t http; /* to the scratch hqd's API: the token, if any */
} s_opt;

static days_t *s_days;

/* The command line, as the settings table reads it (s_opt is set from it). */
typedef struct settings {
    int64_t halls, seconds, batch, window, rate;
    const char *phases, *rollups;
    bool compare;
    char *hqd, *token, *peers;
} settings_t;

/* A word of a fixed list into `field` (as the list's own string). */
static int s_parse_word(const char *const *words, size_t n, const char *text, void *field,
                        char *why, size_t whylen, const char *list)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(text, words[i]) == 0) {
            *(const char **)field = words[i];
            return 0;
        }
    }
    snprintf(why, whylen, "give %s", list);
    return HB_EINVAL;
}

static int s_parse_phase(const char *text, void *field, char *why, size_t whylen)
{
    static const char *const phases[] = {"both", "throughput", "steady"};
    return s_parse_word(phases, 3, text, field, why, whylen, "both, throughput or steady");
}

static int s_parse_rollups(const char *text, void *field, char *why, size_t whylen)
{
    static const char *const modes[] = {"on", "off", "both"};
    return s_parse_word(modes, 3, text, field, why, whylen, "on, off or both");
}

#define ROW(...) HB_CONF_OPT(settings_t, __VA_ARGS__)

static const hb_config_def_t s_options[] = {
    WORKERS_ROWS(settings_t),
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
    ROW("compare-peers", HB_CONF_BOOL, compare, "false", 0, 0, NULL,
        "then run the peers harness (Redis appendfsync always, ZeroMQ->LMDB) with the same "
        "halls, window, rate and seconds, and print the ratios hallbus/peer"),
    ROW("peers", HB_CONF_STRING, peers, NULL, 0, 0, "DIR",
        "the peers harness (default " PEERS_DEFAULT ")", .optional = true, .env = "HALLBUS_PEERS"),
    SIMLINK_ROWS(settings_t),
};
#undef ROW

static const bench_cli_t s_cli =
    BENCH_CLI(s_options, "bench_ingest",
              "[--halls N] [--seconds S] [--batch B] [--window W] [--rate R]\n"
              "                    [--phase both|throughput|steady] [--rollups on|off|both] "
              "[--hqd PATH]\n"
              "                    [--compare-peers] [--peers DIR]",
              "how many events per second a scratch hqd stores durably, mirrors and shows, and "
              "how fast it acknowledges them");

/* Microseconds, for latencies shorter than a millisecond. */
static int64_t s_now_us(void) { return hb_mono_ns() / 1000; }

/* ------------------------------------------------------------ the halls */

static int s_send_batch(sim_hall_t *h, int n, int64_t now_wall, uint64_t *bytes)
{
    ProtobufCBinaryData items[1024];
    for (int i = 0; i < n; i++) {
        if (days_next(s_days, &h->day, h->next_seq + (uint64_t)i, now_wall, &items[i]) != 0) {
            for (int k = 0; k < i; k++)
                free(items[k].data);
            return -1;
        }
        *bytes += items[i].len;
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

/* Reads every waiting frame of a hall; returns events newly acknowledged,
 * and with `lat` records each batch's ack latency in ms. */
static uint64_t s_drain(sim_hall_t *h, samples_t *lat)
{
    uint64_t newly = 0;
    for (;;) {
        Hallbus__Frame *f = simlink_recv_frame(h->sock);
        if (!f)
            break;
        if (f->kind_case == HALLBUS__FRAME__KIND_WELCOME) {
            h->welcomed = true;
            h->acked =
                h->next_seq - 1 < f->welcome->committed_seq ? f->welcome->committed_seq : h->acked;
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
                if (lat)
                    samples_add(lat, (double)(now - h->sent_at[h->tail % MAX_INFLIGHT_BATCHES]) /
                                         1000.0);
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

/* Hellos to the halls not welcomed yet, every 500 ms at most per hall (a
 * Hello queued behind a slow handshake is answered all the same). */
static uint64_t s_hellos(sim_hall_t *halls, int n, samples_t *lat)
{
    uint64_t acked = 0;
    int64_t now = hb_mono_ms();
    for (int i = 0; i < n; i++) {
        if (halls[i].welcomed || now - halls[i].hello_ms < 500)
            continue;
        simlink_send_hello(halls[i].sock);
        halls[i].hello_ms = now;
        acked += s_drain(&halls[i], lat);
    }
    return acked;
}

/* ----------------------------------------------------------- workers */

/* parent -> worker */
typedef struct wk_cmd {
    int quit;
    int seconds;
    double rate; /* this worker's share; 0: as fast as the window allows */
} wk_cmd_t;

/* worker -> parent: after connecting (a = halls welcomed), after a phase
 * (a = events acknowledged), its latencies in ms after it. */
typedef struct wk_report {
    uint64_t a, sent, bytes, turns;
} wk_report_t;

/* All `len` bytes through a pipe, written (`out`) or read, across
 * interrupted and short transfers; -1 when the other end is gone. */
static int s_write_all(int fd, void *buf, size_t len) { return kids_pipe_all(fd, buf, len, true); }
static int s_read_all(int fd, void *buf, size_t len) { return kids_pipe_all(fd, buf, len, false); }

/* One phase of a worker's halls for `seconds`; steady when rate > 0.
 * Sockets are watched with epoll on their ZMQ_FD (edge-style: after a
 * wake-up or a send, the socket is drained until it has nothing), so the
 * simulator's cost follows its traffic rather than the number of halls. */
static void s_worker_phase(sim_hall_t *halls, int n, int ep, const wk_cmd_t *cmd, int out)
{
    samples_t lat = {0};
    samples_t *rec = cmd->rate > 0 ? &lat : NULL;
    /* Real halls are not in step: each starts at a random point of its own
     * sending interval, or they would all fire in the same millisecond. */
    for (int i = 0; i < n; i++)
        halls[i].credit = (double)rand() / ((double)RAND_MAX + 1.0);
    int64_t t0 = hb_mono_ms(), last_tick = t0, end = t0 + cmd->seconds * 1000LL;
    wk_report_t r = {0};
    struct epoll_event evs[256];
    while (hb_mono_ms() < end) {
        r.turns++;
        int64_t now = hb_mono_ms(), wall = hb_now_ms();
        double dt = (double)(now - last_tick) / 1000.0;
        last_tick = now;
        for (int i = 0; i < n; i++) {
            sim_hall_t *h = &halls[i];
            if (!h->welcomed)
                continue;
            if (cmd->rate > 0) {
                h->credit += dt * cmd->rate / n;
                if (h->credit > s_opt.batch)
                    h->credit = s_opt.batch;
            }
            bool sent = false;
            for (;;) {
                uint64_t inflight = h->next_seq - 1 - h->acked;
                int want = cmd->rate > 0 ? (int)h->credit : s_opt.batch;
                if (want <= 0 || inflight + (uint64_t)want > (uint64_t)s_opt.window ||
                    h->head - h->tail >= MAX_INFLIGHT_BATCHES)
                    break;
                if (s_send_batch(h, want, wall, &r.bytes) != 0)
                    break;
                r.sent += (uint64_t)want;
                sent = true;
                if (cmd->rate > 0) {
                    h->credit -= want;
                    break;
                }
            }
            if (sent) /* a send can swallow the socket's wake-up: look now */
                r.a += s_drain(h, rec);
        }
        int k = epoll_wait(ep, evs, 256, 1);
        for (int e = 0; e < k; e++)
            r.a += s_drain(&halls[evs[e].data.u32], rec);
        r.a += s_hellos(halls, n, rec);
    }
    workers_report(out, &r, sizeof r, &lat);
}

/* A worker's life: connect its halls, report how many were welcomed, then
 * run the phases the parent sends, draining acks between them, until told
 * to quit or the parent goes away. Never returns. */
static void s_worker_run(void *arg, int cmd_in, int out)
{
    const worker_t *wk = arg;
    void *ctx;
    sim_hall_t *halls = workers_halls(wk, sizeof *halls, &ctx);
    int n = wk->hi - wk->lo;
    for (int i = 0; i < n; i++) {
        sim_hall_t *h = &halls[i];
        snprintf(h->id, sizeof h->id, "B%05d", wk->lo + i);
        h->sock = simlink_connect(ctx, s_opt.root, wk->hq, wk->endpoint, h->id);
        if (!h->sock) {
            fprintf(stderr, "bench_ingest: cannot set up hall %s (%s)\n", h->id,
                    zmq_strerror(zmq_errno()));
            _exit(1);
        }
        h->next_seq = 1;
        h->day = days_start(s_days, wk->lo + i);
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < n; i++)
        simlink_watch(ep, halls[i].sock, (uint32_t)i);
    int64_t deadline = hb_mono_ms() + 60000;
    wk_report_t w = {0};
    while ((int)w.a < n && hb_mono_ms() < deadline) {
        s_hellos(halls, n, NULL);
        usleep(50000);
        w.a = 0;
        for (int i = 0; i < n; i++) {
            s_drain(&halls[i], NULL);
            w.a += halls[i].welcomed;
        }
    }
    workers_report(out, &w, sizeof w, NULL);
    for (;;) {
        struct pollfd p[2] = {{.fd = cmd_in, .events = POLLIN}, {.fd = ep, .events = POLLIN}};
        if (poll(p, 2, 100) < 0 && errno != EINTR)
            _exit(1);
        if (p[0].revents) {
            wk_cmd_t c;
            if (s_read_all(cmd_in, &c, sizeof c) != 0 || c.quit)
                break;
            s_worker_phase(halls, n, ep, &c, out);
            continue;
        }
        /* Between phases: take the acks as they come, so that no
         * socket's queue fills while the parent waits for the mirror. */
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, 0);
        for (int e = 0; e < k; e++)
            s_drain(&halls[evs[e].data.u32], NULL);
        s_hellos(halls, n, NULL);
    }
    close(ep);
    workers_end(ctx, halls, sizeof *halls, offsetof(sim_hall_t, sock), n);
}

/* -------------------------------------------------------- HQ's figures */

static char s_hq_http[80];
static pid_t s_hqd_pid; /* the scratch hqd of the current run */

static json_t *s_hq_get(const char *path)
{
    hb_httpc_resp_t r;
    char err[128];
    hb_httpc_opts_t http = s_opt.http;
    http.timeout_ms = 10000;
    if (hb_httpc_call(s_hq_http, "GET", path, NULL, &http, &r, err, sizeof err) != 0)
        return NULL;
    json_t *j = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    if (r.status != 200)
        fprintf(stderr, "bench_ingest: GET %s: %d %.200s\n", path, r.status, r.body);
    hb_httpc_resp_free(&r);
    return j;
}

/* Prints HQ's own view: what its writer committed and how long commits took. */
static void s_print_hq(const char *name)
{
    json_t *j = s_hq_get("/v1/status");
    json_t *w = json_object_get(j, "writer");
    if (!w) {
        printf("%s: HQ writer: /v1/status did not answer\n", name);
        json_decref(j);
        return;
    }
    printf("%s: HQ writer: %lld events in %lld commits (%.0f events/commit), commit avg %.2f ms, "
           "max %.2f ms\n",
           name, (long long)json_integer_value(json_object_get(w, "events")),
           (long long)json_integer_value(json_object_get(w, "commits")),
           (double)json_integer_value(json_object_get(w, "events")) /
               (double)(json_integer_value(json_object_get(w, "commits")) + 1),
           json_real_value(json_object_get(w, "avg_commit_ms")),
           json_real_value(json_object_get(w, "max_commit_ms")));
    /* Since hqd started (the warm-up included): acks per commit tell how
     * many halls one commit covers, and acks per frame how much of the
     * receiving side's sending one ack costs. */
    json_t *in = json_object_get(j, "ingest");
    double frames = (double)json_integer_value(json_object_get(in, "frames"));
    double acks = (double)json_integer_value(json_object_get(in, "acks_sent"));
    double commits = (double)json_integer_value(json_object_get(w, "commits"));
    printf("%s: HQ ingest since start: %.0f frames, %.0f acks (%.2f per frame, %.1f per commit)\n",
           name, frames, acks, frames > 0 ? acks / frames : 0.0,
           commits > 0 ? acks / commits : 0.0);
    json_decref(j);
}

/* The bytes HQ's writer thread has handed to write(2) so far (`wchar` of
 * /proc/PID/task/TID/io for the thread named hq-writer): LMDB writes whole
 * 4 KiB pages, so per commit this tells how many pages a commit dirtied.
 * -1 when not found. */
static double s_writer_wchar(pid_t pid)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    double out = -1;
    struct dirent *e;
    while (out < 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char p2[128], comm[32] = "";
        snprintf(p2, sizeof p2, "/proc/%d/task/%.16s/comm", (int)pid, e->d_name);
        FILE *f = fopen(p2, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof comm, f))
            comm[0] = '\0';
        fclose(f);
        if (strncmp(comm, "hq-writer", 9) != 0)
            continue;
        snprintf(p2, sizeof p2, "/proc/%d/task/%.16s/io", (int)pid, e->d_name);
        f = fopen(p2, "r");
        char line[128];
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "wchar:", 6) == 0)
                out = strtod(line + 6, NULL);
        if (f)
            fclose(f);
    }
    closedir(d);
    return out;
}

/* The writer's committed events and commits so far (/v1/status); false
 * when HQ does not answer. */
static bool s_writer_counts(double *events, double *commits)
{
    json_t *j = s_hq_get("/v1/status");
    json_t *w = json_object_get(j, "writer");
    bool ok = json_is_integer(json_object_get(w, "commits"));
    *events = (double)json_integer_value(json_object_get(w, "events"));
    *commits = (double)json_integer_value(json_object_get(w, "commits"));
    json_decref(j);
    return ok;
}

/* HQ's own ack latency histogram (frame read to ack sent, after the
 * commit: `hallbus_hq_ack_latency_seconds` of /metrics), cumulative counts
 * by bucket bound; the number of bounds, 0 when it did not answer. */
#define ACK_BUCKETS_MAX 24
typedef struct ack_hist {
    size_t n;
    double le[ACK_BUCKETS_MAX];
    double count[ACK_BUCKETS_MAX];
} ack_hist_t;

static void s_hq_ack_hist(ack_hist_t *out)
{
    static const char prefix[] = "hallbus_hq_ack_latency_seconds_bucket{le=\"";
    out->n = 0;
    hb_httpc_resp_t r;
    char err[128];
    hb_httpc_opts_t http = s_opt.http;
    http.timeout_ms = 10000;
    if (hb_httpc_call(s_hq_http, "GET", "/metrics", NULL, &http, &r, err, sizeof err) != 0)
        return;
    const char *p = r.body, *end = r.body + r.body_len;
    while (r.status == 200 && p && p < end && out->n < ACK_BUCKETS_MAX) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[160];
        if (len < sizeof line && len > sizeof prefix - 1 &&
            memcmp(p, prefix, sizeof prefix - 1) == 0) {
            memcpy(line, p, len);
            line[len] = '\0';
            char *q = line + sizeof prefix - 1, *close = strchr(q, '"');
            if (close && strncmp(q, "+Inf", 4) != 0) {
                out->le[out->n] = strtod(q, NULL);
                out->count[out->n] = strtod(close + 2, NULL);
                out->n++;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    hb_httpc_resp_free(&r);
}

/* The latency below which a share `q` of the window's acks were sent, by
 * linear interpolation inside its bucket of the two histograms' difference
 * (ms); -1 when not known. */
static double s_ack_hist_pct(const ack_hist_t *a, const ack_hist_t *b, double q)
{
    if (a->n == 0 || a->n != b->n)
        return -1;
    double total = b->count[b->n - 1] - a->count[a->n - 1];
    if (total <= 0)
        return -1;
    double prev_le = 0, prev_c = 0;
    for (size_t i = 0; i < b->n; i++) {
        double c = b->count[i] - a->count[i];
        if (c >= q * total) {
            double f = c > prev_c ? (q * total - prev_c) / (c - prev_c) : 1.0;
            return (prev_le + f * (b->le[i] - prev_le)) * 1000.0;
        }
        prev_le = b->le[i];
        prev_c = c;
    }
    return -1;
}

/* What HQ's writer has committed, its mirror has applied (with the
 * anomalies it saw) and its board shows (the sum of the tiles' last
 * sequence: every hall's events number 1, 2, 3 ... so the sum is the events
 * visible); false when HQ does not answer. */
typedef struct hq_counts {
    uint64_t stored, mirrored, anomalies, queued_bytes, board;
} hq_counts_t;

static bool s_hq_counts(hq_counts_t *out)
{
    /* The board first, then the status: each later answer is of a stage
     * upstream of the one before, so board <= mirrored <= stored holds
     * even when hqd is slow to answer (10,000 tiles take a while). */
    json_t *j = s_hq_get("/v1/live/halls?limit=100000");
    json_t *tiles = json_object_get(j, "halls");
    bool ok = json_is_array(tiles);
    out->board = 0;
    size_t i;
    json_t *t;
    json_array_foreach (tiles, i, t)
        out->board += (uint64_t)json_integer_value(json_object_get(t, "seq"));
    json_decref(j);
    j = s_hq_get("/v1/status");
    json_t *w = json_object_get(j, "writer"), *l = json_object_get(j, "live");
    ok = ok && json_is_integer(json_object_get(w, "events")) &&
         json_is_integer(json_object_get(l, "events"));
    out->stored = (uint64_t)json_integer_value(json_object_get(w, "events"));
    out->mirrored = (uint64_t)json_integer_value(json_object_get(l, "events"));
    out->anomalies = (uint64_t)json_integer_value(json_object_get(l, "anomalies"));
    out->queued_bytes = (uint64_t)json_integer_value(json_object_get(l, "queued_bytes"));
    json_decref(j);
    return ok;
}

/* How far behind the rollups are (the status's lag), -1 when unknown. */
static int64_t s_rollup_lag(void)
{
    json_t *j = s_hq_get("/v1/status");
    json_t *ru = json_object_get(j, "rollups");
    int64_t lag = json_is_true(json_object_get(ru, "enabled"))
                      ? (int64_t)json_integer_value(json_object_get(ru, "lag_events"))
                      : -1;
    json_decref(j);
    return lag;
}

/* ------------------------------------------------------------ a phase */

static peers_ours_t s_tput, s_steady; /* of the last run */

/* Waits (at most CATCH_UP_MAX_MS) until the mirror and the board hold
 * everything stored; the seconds each took into *mirror_s and *board_s
 * (-1: not within the time). */
static void s_catch_up(hq_counts_t *c, double *mirror_s, double *board_s)
{
    int64_t t0 = hb_mono_ms();
    *mirror_s = *board_s = -1;
    for (;;) {
        double t = (double)(hb_mono_ms() - t0) / 1000.0;
        if (*mirror_s < 0 && c->mirrored >= c->stored)
            *mirror_s = t;
        if (*board_s < 0 && c->board >= c->stored)
            *board_s = t;
        if ((*mirror_s >= 0 && *board_s >= 0) || hb_mono_ms() - t0 >= CATCH_UP_MAX_MS)
            return;
        usleep(200000);
        if (!s_hq_counts(c))
            return;
    }
}

static void s_phase(worker_t *ws, int nw, int rate, const char *name, peers_ours_t *res)
{
    memset(res, 0, sizeof *res);
    samples_t lat = {0};
    hq_counts_t c0 = {0}, c1 = {0};
    bool counted = s_hq_counts(&c0);
    ack_hist_t ah0, ah1;
    s_hq_ack_hist(&ah0);
    double wb0 = s_writer_wchar(s_hqd_pid), we0 = 0, wc0 = 0, we1 = 0, wc1 = 0;
    bool wcounted = s_writer_counts(&we0, &wc0);
    kids_cpu_t th0[32], th1[32];
    size_t nth0 = kids_cpu_threads(s_hqd_pid, th0, 32);
    uint64_t cpu0 = 0;
    for (size_t i = 0; i < nth0; i++)
        cpu0 += th0[i].ns;
    int64_t t0 = hb_mono_ms();
    for (int k = 0; k < nw; k++) {
        wk_cmd_t c = {.seconds = s_opt.seconds,
                      .rate = (double)rate * (ws[k].hi - ws[k].lo) / s_opt.halls};
        if (s_write_all(ws[k].cmd, &c, sizeof c) != 0)
            fprintf(stderr, "bench_ingest: cannot start the worker of halls %d..\n", ws[k].lo);
    }
    uint64_t acked = 0, sent = 0, bytes = 0, turns = 0;
    for (int k = 0; k < nw; k++) {
        wk_report_t r;
        if (workers_collect(&ws[k], &r, sizeof r, &lat, "bench_ingest") == 0) {
            acked += r.a;
            sent += r.sent;
            bytes += r.bytes;
            turns += r.turns;
        }
    }
    double secs = (double)(hb_mono_ms() - t0) / 1000.0;
    size_t nth1 = kids_cpu_threads(s_hqd_pid, th1, 32);
    uint64_t cpu1 = 0;
    for (size_t i = 0; i < nth1; i++)
        cpu1 += th1[i].ns;
    counted = counted && s_hq_counts(&c1);
    s_hq_ack_hist(&ah1);
    double wb1 = s_writer_wchar(s_hqd_pid);
    wcounted = wcounted && s_writer_counts(&we1, &wc1);
    samples_sort(&lat);
    res->ran = true;
    res->acked_eps = (double)acked / secs;
    printf("%s: %d halls, %.1f s: %llu events durably stored and acknowledged = %.0f events/s\n",
           name, s_opt.halls, secs, (unsigned long long)acked, res->acked_eps);
    printf("%s: the simulator's hall days: %.1f bytes per event on average (seq and time "
           "included), %llu events sent\n",
           name, sent ? (double)bytes / (double)sent : 0.0, (unsigned long long)sent);
    printf("%s: the simulator's own loop: %.2f ms per turn over %d sockets (%d worker "
           "process%s)\n",
           name, secs * 1000.0 * nw / (double)(turns ? turns : 1), s_opt.halls, nw,
           nw == 1 ? "" : "es");
    if (rate > 0) {
        res->p50 = samples_pct(&lat, 0.50);
        res->p99 = samples_pct(&lat, 0.99);
        res->max = lat.n ? lat.v[lat.n - 1] : 0.0;
        printf("%s: ack latency over %zu batches: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", name,
               lat.n, res->p50, res->p99, res->max);
        /* What of it HQ itself took, from reading the frame to sending its
         * ack (the commit included); the rest is the two ends' ZeroMQ I/O
         * threads, TCP and the simulator's loop. */
        double h50 = s_ack_hist_pct(&ah0, &ah1, 0.50), h99 = s_ack_hist_pct(&ah0, &ah1, 0.99);
        if (h50 >= 0)
            printf("%s: of it in HQ (frame read to ack sent, from its histogram's buckets): "
                   "p50 %.1f ms, p99 %.1f ms\n",
                   name, h50, h99);
    }
    samples_free(&lat);
    /* A hall's credit is capped at one batch, so a simulator starved of
     * CPU sends less than asked rather than bursts: say so, as the
     * latency then is not that of the rate asked for. */
    if (rate > 0 && res->acked_eps < 0.95 * rate)
        printf("%s: ONLY %.0f OF %d EVENTS/S WERE DELIVERED: the machine did not carry the rate "
               "(see the simulator's loop above); the latency is not that of %d/s\n",
               name, res->acked_eps, rate, rate);
    s_print_hq(name);
    /* What a commit costs the disk: LMDB copies every page it changes, and
     * events are keyed by hall, so a commit dirties about one leaf per hall
     * it touches however few events each brought. */
    if (wcounted && wb0 >= 0 && wb1 >= wb0 && wc1 > wc0 && we1 > we0)
        printf("%s: HQ writer in the window: %.0f commits, %.0f events/commit, %.0f KiB written "
               "per commit (%.0f pages of 4 KiB), %.0f bytes per event\n",
               name, wc1 - wc0, (we1 - we0) / (wc1 - wc0), (wb1 - wb0) / 1024.0 / (wc1 - wc0),
               (wb1 - wb0) / 4096.0 / (wc1 - wc0), (wb1 - wb0) / (we1 - we0));
    if (counted) {
        /* Stored is not seen: the rates of what the live mirror (board,
         * alerts, API) applied and what the board shows come beside it. */
        uint64_t mirrored = c1.mirrored - c0.mirrored, board = c1.board - c0.board;
        res->mirrored_eps = (double)mirrored / secs;
        res->board_eps = (double)board / secs;
        printf("%s: HQ stored %llu and mirrored %llu event(s) in the window = %.0f stored, "
               "%.0f mirrored events/s\n",
               name, (unsigned long long)(c1.stored - c0.stored), (unsigned long long)mirrored,
               (double)(c1.stored - c0.stored) / secs, res->mirrored_eps);
        printf("%s: end to end, %llu event(s) became visible on the board (its tiles' last "
               "sequence) in the window = %.0f events/s; the mirror saw %llu anomal%s\n",
               name, (unsigned long long)board, res->board_eps,
               (unsigned long long)(c1.anomalies - c0.anomalies),
               c1.anomalies - c0.anomalies == 1 ? "y" : "ies");
        /* hqd's CPU over the window (all its threads), per event it
         * stored: a figure the machine's load moves less than the rates. */
        double cpu_s = (double)(cpu1 - cpu0) / 1e9;
        uint64_t stored = c1.stored - c0.stored;
        printf("%s: HQ's CPU: %.2f s in the window (%.0f%% of a core) = %.2f us per event "
               "stored\n",
               name, cpu_s, 100.0 * cpu_s / secs, stored ? cpu_s * 1e6 / (double)stored : 0.0);
        /* By thread: the loop (hqd's own name: frames in, acks out, the
         * board), the writer, the mirror, libzmq's I/O (CURVE, TCP). */
        printf("%s: HQ's CPU by thread, us per event stored:", name);
        for (size_t i = 0; i < nth1 && stored; i++) {
            uint64_t before = 0;
            for (size_t k = 0; k < nth0; k++)
                if (strcmp(th0[k].name, th1[i].name) == 0)
                    before = th0[k].ns;
            double us =
                th1[i].ns > before ? (double)(th1[i].ns - before) / 1e3 / (double)stored : 0.0;
            if (us >= 0.01)
                printf(" %s %.2f", th1[i].name, us);
        }
        printf("\n");
        printf("%s: three rates: stored+acked %.0f, mirrored %.0f, end-to-end %.0f events/s\n",
               name, res->acked_eps, res->mirrored_eps, res->board_eps);
        uint64_t behind = c1.stored > c1.mirrored ? c1.stored - c1.mirrored : 0;
        uint64_t unseen = c1.stored > c1.board ? c1.stored - c1.board : 0;
        hq_counts_t c = c1;
        double mirror_s, board_s;
        s_catch_up(&c, &mirror_s, &board_s);
        /* The last commit's events are on their way at any instant, and
         * the board's round comes four times a second; a mirror that
         * needs more than a second after the end fell behind. */
        if (behind > 0 && (mirror_s < 0 || mirror_s > 1.0))
            printf("%s: THE MIRROR FELL BEHIND: %llu event(s) (%llu bytes queued) not yet "
                   "mirrored at the end; %s %.1f s later\n",
                   name, (unsigned long long)behind, (unsigned long long)c1.queued_bytes,
                   mirror_s >= 0 ? "caught up" : "still behind",
                   mirror_s >= 0 ? mirror_s : CATCH_UP_MAX_MS / 1000.0);
        else
            printf("%s: the mirror kept up (%llu event(s) in flight at the end, applied %.1f s "
                   "later)\n",
                   name, (unsigned long long)behind, mirror_s);
        if (unseen > 0 && (board_s < 0 || board_s > 1.5))
            printf("%s: THE BOARD FELL BEHIND: %llu event(s) not yet on the board at the end; "
                   "%s %.1f s later\n",
                   name, (unsigned long long)unseen, board_s >= 0 ? "caught up" : "still behind",
                   board_s >= 0 ? board_s : CATCH_UP_MAX_MS / 1000.0);
        else
            printf("%s: the board kept up (%llu event(s) not shown at the end, shown %.1f s "
                   "later)\n",
                   name, (unsigned long long)unseen, board_s);
    } else {
        printf("%s: HQ's /v1/status or /v1/live/halls did not answer: no mirrored or end-to-end "
               "rate\n",
               name);
    }
    fflush(stdout);
}

/* The end of the scratch hqd's log, to stderr, when it did not start. */
static void s_log_tail(void)
{
    char path[320], buf[2048];
    snprintf(path, sizeof path, "%s/hqd.log", s_opt.root);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > (long)sizeof buf - 1)
        fseek(f, -(long)(sizeof buf - 1), SEEK_END);
    else
        rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    fprintf(stderr, "bench_ingest: the end of hqd's log:\n%s\n", buf);
}

/* One run against a scratch hqd started with `extra`; the throughput
 * phase's figure in `*eps` (0 when it did not run). 0, or 1 on failure. */
static int s_run(const char *label, const char *const *extra, double *eps)
{
    *eps = 0;
    memset(&s_tput, 0, sizeof s_tput);
    memset(&s_steady, 0, sizeof s_steady);
    snprintf(s_opt.root, sizeof s_opt.root, "/tmp/hb-bench-XXXXXX");
    int zport = 17400 + getpid() % 1000, hport = zport + 1000;
    hb_cert_t hq;
    pid_t hqd = simlink_hqd_up("bench_ingest", s_opt.hqd, s_opt.root, zport, hport, extra,
                               &s_opt.http, s_hq_http, sizeof s_hq_http, &hq);
    if (hqd < 0) {
        s_log_tail();
        if (strcmp(s_opt.root + strlen(s_opt.root) - 6, "XXXXXX") != 0)
            kids_add_dir(s_opt.root); /* made (mkdtemp filled it in); its log is above */
        return 1;
    }
    kids_add(hqd, SIGTERM);
    kids_add_dir(s_opt.root);
    s_hqd_pid = hqd;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", zport);
    int nw = (s_opt.halls + HALLS_PER_WORKER - 1) / HALLS_PER_WORKER;
    worker_t *ws = calloc((size_t)nw, sizeof *ws);
    int rc = ws ? 0 : 1;
    if (rc == 0 &&
        workers_start(ws, nw, s_opt.halls, &hq, endpoint, s_worker_run, "bench_ingest") != 0)
        rc = 1;
    int welcomed = 0;
    for (int k = 0; k < nw && rc == 0; k++) {
        wk_report_t r;
        if (workers_collect(&ws[k], &r, sizeof r, NULL, "bench_ingest") != 0)
            rc = 1;
        else
            welcomed += (int)r.a;
    }
    if (rc == 0) {
        printf("bench_ingest (%s): hqd %s (pid %d), %d halls connected over CURVE by %d worker "
               "process%s, batch %d, window %d\n",
               label, s_opt.hqd, (int)hqd, s_opt.halls, nw, nw == 1 ? "" : "es", s_opt.batch,
               s_opt.window);
        printf("bench_ingest: %d of %d halls welcomed\n", welcomed, s_opt.halls);
        fflush(stdout);
    }
    char name[64];
    if (rc == 0 && strcmp(s_opt.phases, "steady") != 0) {
        snprintf(name, sizeof name, "throughput, rollups %s", label);
        s_phase(ws, nw, 0, name, &s_tput);
        *eps = s_tput.acked_eps;
        /* The rollups yield to ingest during the burst; how long they
         * take to catch up after it. */
        int64_t lag = s_rollup_lag(), t0 = hb_mono_ms();
        int64_t first = lag;
        if (lag >= 0) {
            while (lag > 0 && hb_mono_ms() - t0 < CATCH_UP_MAX_MS) {
                usleep(100000);
                lag = s_rollup_lag();
            }
            printf("%s: the rollups were %lld event(s) behind at the end; caught up %.1f s "
                   "later\n",
                   name, (long long)first, (double)(hb_mono_ms() - t0) / 1000.0);
        }
    }
    if (rc == 0 && strcmp(s_opt.phases, "throughput") != 0) {
        sleep(2); /* let the backlog settle before measuring latency */
        snprintf(name, sizeof name, "steady, rollups %s", label);
        s_phase(ws, nw, s_opt.rate, name, &s_steady);
    }
    for (int k = 0; k < nw && ws; k++) {
        if (ws[k].pid <= 0)
            continue;
        /* Told to quit, it closes its sockets; the SIGTERM that follows
         * only cuts that short. */
        wk_cmd_t quit = {.quit = 1};
        if (s_write_all(ws[k].cmd, &quit, sizeof quit) == 0)
            usleep(1000);
        kids_stop(ws[k].pid, 5000);
        close(ws[k].cmd);
        close(ws[k].rep);
    }
    free(ws);
    kids_stop_all(); /* hqd, and its folder */
    return rc;
}

/* ------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    static settings_t set;
    int rc = bench_cli_read(&s_cli, &set, argc, argv);
    if (rc >= 0)
        return rc; /* --help, --version, or refused */
    kids_init("bench_ingest");
    s_opt.halls = (int)set.halls;
    s_opt.seconds = (int)set.seconds;
    s_opt.batch = (int)set.batch;
    s_opt.window = (int)set.window;
    s_opt.rate = (int)set.rate;
    s_opt.phases = set.phases;
    s_opt.rollups = set.rollups;
    s_opt.hqd = set.hqd;
    s_opt.http.token = set.token;
    s_opt.compare = set.compare;
    s_opt.peers = set.peers;
    if (!s_opt.hqd)
        s_opt.hqd = simlink_default_hqd();
    simlink_raise_nofile();
    char err[256] = "";
    if (days_build(DAYS_POOL, DAYS_SEED, &s_days, err, sizeof err) != 0) {
        fprintf(stderr, "bench_ingest: cannot build the simulator's hall days: %s\n", err);
        bench_cli_free(&s_cli, &set);
        return 1;
    }
    printf("bench_ingest: events are the simulator's hall days (%d days played in turn, %zu "
           "events of %d kinds, bodies of %.1f bytes on average)\n",
           DAYS_POOL, days_events(s_days), days_kinds(s_days), days_mean_body(s_days));
    static const char *const off[] = {"--rollups", "false", NULL};
    /* Compared in the order off, on, on, off, so that a machine that gets
     * busier or quieter during the run weighs on both alike. */
    static const bool abba[] = {false, true, true, false};
    double sum_off = 0, sum_on = 0;
    int n_off = 0, n_on = 0;
    bool both = strcmp(s_opt.rollups, "both") == 0;
    rc = 0;
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
    if (rc == 0 && s_opt.compare) {
        peers_workload_t w = {"bench_ingest", s_opt.peers, s_opt.phases,  s_opt.halls,
                              s_opt.window,   s_opt.rate,  s_opt.seconds, s_opt.batch};
        rc = peers_compare(&w, &s_tput, &s_steady);
    }
    kids_stop_all();
    days_free(&s_days);
    bench_cli_free(&s_cli, &set);
    return rc;
}
