/* The peers a hallbus benchmark is compared with, in the same invocation:
 * the harness in ../shared/peers (Redis Streams with appendfsync always,
 * and a bare ZeroMQ->LMDB pipe), driven with the benchmark's own workload
 * (connections, messages in flight, fixed rate, seconds), and the
 * hallbus/peer ratios printed. bench_ingest's --compare-peers; not a
 * benchmark of its own, and it asserts nothing. */
#include "peers.h"

#include "kids.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEERS_WARM_S 2 /* the peers drop their first 2 s: they run that much longer */

/* A "key=value" number of the line of `text` that starts with `line`
 * (e.g. "RESULT", "LAT"); -1 when absent. */
static double s_field(const char *text, const char *line, const char *key)
{
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, line, strlen(line)) != 0)
            continue;
        const char *end = strchr(l, '\n');
        size_t klen = strlen(key);
        for (const char *k = l; k && (!end || k < end); k = strchr(k + 1, ' ')) {
            const char *w = *k == ' ' ? k + 1 : k;
            if (strncmp(w, key, klen) == 0 && w[klen] == '=')
                return strtod(w + klen + 1, NULL);
        }
    }
    return -1;
}

/* What one peer did: closed-loop rate (msgs/s) and the fixed rate's
 * latency (ms); -1 for what did not run. */
typedef struct peer_result {
    const char *name;
    double sat, p50, p99;
} peer_result_t;

/* A peer client run with `mode`'s four words after argv[..base) (which
 * has room for them and the NULL); its output into `out`, its exit code. */
static int s_peer_run(const char **argv, int base, const char *const mode[4], char *out,
                      size_t outlen)
{
    for (int i = 0; i < 4; i++)
        argv[base + i] = mode[i];
    argv[base + 4] = NULL;
    return kids_run((char *const *)argv, out, outlen);
}

/* One peer client's two runs, `pre` the arguments before the mode. */
static void s_peer_runs(const peers_workload_t *w, const char *bin, const char *const *pre,
                        int npre, peer_result_t *res)
{
    char secs[16], conns[16], win[16], rate[24];
    snprintf(secs, sizeof secs, "%d", w->seconds + PEERS_WARM_S);
    snprintf(conns, sizeof conns, "%d", w->halls);
    snprintf(win, sizeof win, "%d", w->window);
    snprintf(rate, sizeof rate, "%d", w->rate);
    static char out[65536];
    const char *argv[16];
    int n = 0;
    argv[n++] = bin;
    for (int i = 0; i < npre; i++)
        argv[n++] = pre[i];
    int base = n;
    res->sat = res->p50 = res->p99 = -1;
    if (strcmp(w->phases, "steady") != 0) {
        const char *sat[] = {"sat", secs, conns, win};
        int rc = s_peer_run(argv, base, sat, out, sizeof out);
        res->sat = s_field(out, "RESULT", "rate");
        printf("peers: %s closed loop (%s connections, %s in flight each, %s s with %d s "
               "warm-up): %.0f msgs/s%s\n",
               res->name, conns, win, secs, PEERS_WARM_S, res->sat,
               rc == 0 ? "" : " (the client failed: see below)");
        if (rc != 0 || res->sat < 0)
            printf("%s", out);
    }
    if (strcmp(w->phases, "throughput") != 0) {
        const char *fixed[] = {"rate", rate, secs, conns};
        int rc = s_peer_run(argv, base, fixed, out, sizeof out);
        double p50 = s_field(out, "LAT", "p50"), p99 = s_field(out, "LAT", "p99");
        res->p50 = p50 >= 0 ? p50 / 1000.0 : -1;
        res->p99 = p99 >= 0 ? p99 / 1000.0 : -1;
        printf("peers: %s at %s msgs/s: ack p50 %.2f ms, p99 %.2f ms (from the scheduled send "
               "time)%s\n",
               res->name, rate, res->p50, res->p99,
               rc == 0 ? "" : " (the client failed: see below)");
        if (rc != 0 || res->p99 < 0)
            printf("%s", out);
    }
    fflush(stdout);
}

/* Whether something listens on 127.0.0.1:port (waits up to 10 s). */
static bool s_wait_port(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 100; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (up)
            return true;
        usleep(100000);
    }
    return false;
}

/* Redis Streams with appendfsync always, as the harness's run_all.sh
 * starts it (a fresh server and an empty AOF for each run). */
static void s_redis_runs(const peers_workload_t *w, const char *bin, const char *scratch,
                         peer_result_t *res)
{
    char have[256];
    char *const which[] = {"sh", "-c", "command -v redis-server", NULL};
    if (kids_run(which, have, sizeof have) != 0) {
        printf("peers: redis-server is not installed: Redis not compared (Debian's "
               "redis-server package; the harness's run_all.sh installs it when run as root)\n");
        return;
    }
    int port = 16399 + getpid() % 1000;
    peer_result_t one[2] = {{res->name, -1, -1, -1}, {res->name, -1, -1, -1}};
    for (int run = 0; run < 2; run++) {
        /* Saturation and fixed rate each on a fresh server, as the harness. */
        if ((run == 0 && strcmp(w->phases, "steady") == 0) ||
            (run == 1 && strcmp(w->phases, "throughput") == 0))
            continue;
        char dir[400], portarg[16], maxc[16], log[480], spid[16];
        snprintf(dir, sizeof dir, "%s/redis%d", scratch, run);
        snprintf(log, sizeof log, "%s/redis.log", dir);
        snprintf(portarg, sizeof portarg, "%d", port);
        snprintf(maxc, sizeof maxc, "%d", w->halls + 64);
        mkdir(dir, 0700);
        const char *argv[] = {"redis-server",
                              "--port",
                              portarg,
                              "--bind",
                              "127.0.0.1",
                              "--dir",
                              dir,
                              "--appendonly",
                              "yes",
                              "--appendfsync",
                              "always",
                              "--save",
                              "",
                              "--auto-aof-rewrite-percentage",
                              "0",
                              "--daemonize",
                              "no",
                              "--logfile",
                              log,
                              "--maxclients",
                              maxc,
                              NULL};
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            kids_in_child(SIGTERM);
            execvp(argv[0], (char *const *)argv);
            _exit(127);
        }
        if (pid < 0)
            return;
        kids_add(pid, SIGTERM);
        if (!s_wait_port(port)) {
            printf("peers: redis-server did not listen on port %d (see %s)\n", port, log);
            kids_stop(pid, 5000);
            return;
        }
        snprintf(spid, sizeof spid, "%d", (int)pid);
        const char *pre[] = {portarg, spid};
        peers_workload_t one_phase = *w;
        one_phase.phases = run == 0 ? "throughput" : "steady";
        s_peer_runs(&one_phase, bin, pre, 2, &one[run]);
        kids_stop(pid, 10000);
    }
    res->sat = one[0].sat;
    res->p50 = one[1].p50;
    res->p99 = one[1].p99;
}

/* "0.68x" of hallbus over the peer, or "-" when either is missing. */
static const char *s_ratio(double ours, double theirs, char *buf, size_t len)
{
    if (ours <= 0 || theirs <= 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2fx", ours / theirs);
    return buf;
}

/* Builds the harness's clients in a scratch folder (it may be read-only),
 * runs Redis and the ZeroMQ->LMDB pipe with this run's workload, and
 * prints hallbus/peer ratios of throughput and p99. */
int peers_compare(const peers_workload_t *w, const peers_ours_t *tput, const peers_ours_t *steady)
{
    const char *peers = w->dir ? w->dir : PEERS_DEFAULT;
    char scratch[256] = "/tmp/hb-bench-peers-XXXXXX", src[600], cmd[2400], out[16384];
    snprintf(src, sizeof src, "%s/src/Makefile", peers);
    if (access(src, R_OK) != 0) {
        fprintf(stderr, "%s: no peers harness at %s (give --peers DIR)\n", w->tool, peers);
        return 1;
    }
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "%s: cannot make a scratch folder for the peers\n", w->tool);
        return 1;
    }
    kids_add_dir(scratch);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/bin' && cp '%s'/src/*.c '%s'/src/*.h '%s'/src/Makefile '%s/bin/' && "
             "make -s -C '%s/bin' redis_bench zl_pipe",
             scratch, peers, peers, peers, scratch, scratch);
    char *const build[] = {"sh", "-c", cmd, NULL};
    if (kids_run(build, out, sizeof out) != 0) {
        fprintf(stderr, "%s: the peers' clients did not build:\n%s", w->tool, out);
        return 1;
    }
    printf("peers: the harness at %s, the same workload: %d connections, %d in flight each, "
           "%d msgs/s fixed rate, %d s measured\n",
           peers, w->halls, w->window, w->rate, w->seconds);
    if (w->batch != 1)
        printf("peers: note: the peers send one event per message; hallbus sent batches of %d "
               "(--batch 1 compares like with like)\n",
               w->batch);
    peer_result_t redis = {"Redis Streams, appendfsync always", -1, -1, -1};
    peer_result_t zl = {"ZeroMQ->LMDB pipe", -1, -1, -1};
    char bin[400];
    snprintf(bin, sizeof bin, "%s/bin/redis_bench", scratch);
    s_redis_runs(w, bin, scratch, &redis);
    if (w->halls > 4096) {
        printf("peers: the ZeroMQ->LMDB pipe takes at most 4,096 connections: not run\n");
    } else {
        char dir[400];
        snprintf(bin, sizeof bin, "%s/bin/zl_pipe", scratch);
        snprintf(dir, sizeof dir, "%s/zl", scratch);
        const char *pre[] = {dir};
        s_peer_runs(w, bin, pre, 1, &zl);
    }
    const peer_result_t *all[] = {&redis, &zl};
    for (size_t i = 0; i < 2; i++) {
        char a[32], b[32], c[32];
        if (all[i]->sat >= 0 || tput->ran)
            printf("compare: throughput, hallbus/%s: stored+acked %s, end-to-end %s (%.0f and "
                   "%.0f against %.0f msgs/s)\n",
                   all[i]->name, s_ratio(tput->acked_eps, all[i]->sat, a, sizeof a),
                   s_ratio(tput->board_eps, all[i]->sat, b, sizeof b), tput->acked_eps,
                   tput->board_eps, all[i]->sat);
        if (all[i]->p99 >= 0 || steady->ran)
            printf("compare: ack p99 at %d/s, hallbus/%s: %s (%.2f against %.2f ms; lower is "
                   "better)\n",
                   w->rate, all[i]->name, s_ratio(steady->p99, all[i]->p99, c, sizeof c),
                   steady->p99, all[i]->p99);
    }
    fflush(stdout);
    return 0;
}
