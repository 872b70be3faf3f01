/* The peers harness (../shared/peers) run with a benchmark's workload,
 * and hallbus's figures compared with theirs (peers.c). */
#ifndef TOOLS_BENCH_PEERS_H
#define TOOLS_BENCH_PEERS_H

#include <stdbool.h>

/* Where the harness is when neither --peers nor $HALLBUS_PEERS says. */
#define PEERS_DEFAULT "/work/shared/peers"

/* The workload the peers are driven with: the benchmark's own. */
typedef struct peers_workload {
    const char *tool;   /* the benchmark's name, for its messages */
    const char *dir;    /* the harness; NULL: the default */
    const char *phases; /* "both", "throughput" or "steady" */
    int halls, window, rate, seconds, batch;
} peers_workload_t;

/* What hallbus measured in one phase, for the comparison. */
typedef struct peers_ours {
    double acked_eps, mirrored_eps, board_eps;
    double p50, p99, max; /* ms; the fixed-rate phase only */
    bool ran;
} peers_ours_t;

/* Builds the harness's clients in a scratch folder (it may be read-only),
 * runs Redis and the ZeroMQ->LMDB pipe with `w`, prints their figures and
 * hallbus/peer ratios of throughput (`tput`) and of the fixed rate's ack
 * p99 (`steady`). 0, or 1 when the harness cannot be used (said why). */
int peers_compare(const peers_workload_t *w, const peers_ours_t *tput, const peers_ours_t *steady);

#endif
