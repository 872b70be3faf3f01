/* The worker processes of a benchmark's simulated halls (see workers.h). A
 * report on the pipe is its head, the number of samples (uint64_t), then
 * the samples themselves, read back in blocks so that a phase of a million
 * batches costs few system calls. */
#include "workers.h"

#include "simlink.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

#define WORKERS_SOCKETS_SPARE 64 /* sockets a worker may open beside its halls' */
#define WORKERS_READ_BLOCK 512   /* samples read back at a time */

int workers_start(worker_t *ws, int nw, int halls, const hb_cert_t *hq, const char *endpoint,
                  kids_worker_fn run, const char *tool)
{
    for (int k = 0; k < nw; k++) {
        ws[k].lo = k * halls / nw;
        ws[k].hi = (k + 1) * halls / nw;
        ws[k].hq = hq;
        ws[k].endpoint = endpoint;
        if (kids_fork_worker(run, &ws[k], &ws[k].pid, &ws[k].cmd, &ws[k].rep) != 0) {
            fprintf(stderr, "%s: cannot start a worker process\n", tool);
            return -1;
        }
    }
    return 0;
}

void *workers_halls(const worker_t *wk, size_t size, void **ctx)
{
    size_t n = (size_t)(wk->hi - wk->lo);
    *ctx = simlink_worker_ctx((int)n + WORKERS_SOCKETS_SPARE);
    void *halls = calloc(n, size);
    if (!halls)
        _exit(1);
    return halls;
}

void workers_end(void *ctx, void *halls, size_t size, size_t sock_at, int n)
{
    for (int i = 0; i < n; i++)
        zmq_close(*(void **)((char *)halls + (size_t)i * size + sock_at));
    zmq_ctx_term(ctx);
    free(halls);
    _exit(0);
}

void workers_report(int out, const void *head, size_t len, samples_t *lat)
{
    uint64_t n = lat ? lat->n : 0;
    if (kids_pipe_all(out, (void *)head, len, true) != 0 ||
        kids_pipe_all(out, &n, sizeof n, true) != 0 ||
        (n && kids_pipe_all(out, lat->v, n * sizeof *lat->v, true) != 0))
        _exit(1);
    if (lat)
        samples_free(lat);
}

int workers_collect(const worker_t *wk, void *head, size_t len, samples_t *lat, const char *tool)
{
    uint64_t n;
    if (kids_pipe_all(wk->rep, head, len, false) != 0 ||
        kids_pipe_all(wk->rep, &n, sizeof n, false) != 0) {
        fprintf(stderr, "%s: the worker of halls %d..%d gave no figures\n", tool, wk->lo,
                wk->hi - 1);
        return -1;
    }
    double block[WORKERS_READ_BLOCK];
    while (n > 0) {
        size_t k = n < WORKERS_READ_BLOCK ? (size_t)n : WORKERS_READ_BLOCK;
        if (kids_pipe_all(wk->rep, block, k * sizeof *block, false) != 0)
            return -1;
        for (size_t i = 0; lat && i < k; i++)
            samples_add(lat, block[i]);
        n -= k;
    }
    return 0;
}
