/* The worker processes that play a benchmark's simulated halls on the
 * wire: the halls split evenly over forked workers (a ZeroMQ socket takes
 * descriptors, so 10,000 halls do not fit one process under a common
 * limit), each joined to the parent by a command pipe and a report pipe. A
 * report is the benchmark's own fixed-size head followed by the worker's
 * latency samples. Shared by bench_ingest and bench_fleet; what a command
 * or a report holds is theirs. kids.h registers the workers and stops them
 * on every way out. */
#ifndef TOOLS_BENCH_WORKERS_H
#define TOOLS_BENCH_WORKERS_H

#include "kids.h"
#include "samples.h"

#include "hallbus/cert.h"
#include "hallbus/config.h"

#include <stddef.h>
#include <sys/types.h>

/* The settings row both benchmarks take, for their settings struct
 * `type_s` with `int64_t halls`: how many halls the workers play. */
#define WORKERS_ROWS(type_s)                                                                       \
    HB_CONF_OPT(type_s, "halls", HB_CONF_INT, halls, "1000", 1, 100000, "N",                       \
                "simulated halls, each its own CURVE connection (4,000 per worker process)")

typedef struct worker {
    int lo, hi; /* halls lo..hi-1 */
    pid_t pid;
    int cmd, rep;        /* the parent's ends of the two pipes */
    const hb_cert_t *hq; /* what the worker's halls connect to */
    const char *endpoint;
} worker_t;

/* Forks `nw` workers for halls 0..halls-1 (worker k gets its share of them,
 * in order), each running `run` with its own worker_t as `arg`; `ws` (the
 * caller's, at least `nw` long) must outlive them. 0, or -1 after saying
 * on stderr, as `tool`, that a worker could not be started (the ones
 * started stay registered with kids.h). */
int workers_start(worker_t *ws, int nw, int halls, const hb_cert_t *hq, const char *endpoint,
                  kids_worker_fn run, const char *tool);

/* In a worker: its halls' ZeroMQ context (simlink_worker_ctx) and a zeroed
 * array of its hi - lo halls, `size` bytes each, which the caller frees.
 * Without memory the worker ends (_exit(1)). */
void *workers_halls(const worker_t *wk, size_t size, void **ctx);

/* In a worker, at its end: closes each hall's socket (at `sock_at` bytes
 * into each of the `n` halls of `size` bytes), ends the ZeroMQ context,
 * frees the halls and ends the worker (_exit(0)). */
void workers_end(void *ctx, void *halls, size_t size, size_t sock_at, int n);

/* In a worker: sends a report, `len` bytes of `head` then the samples of
 * `lat` (none when NULL), and frees the samples. A parent that is gone
 * ends the worker (_exit(1)). */
void workers_report(int out, const void *head, size_t len, samples_t *lat);

/* In the parent: reads worker `wk`'s report into `head` (`len` bytes) and
 * appends its samples to `lat` (read and dropped when NULL). 0, or -1
 * after saying on stderr, as `tool`, that the worker gave no figures. */
int workers_collect(const worker_t *wk, void *head, size_t len, samples_t *lat, const char *tool);

#endif
