/* bench_kiosk's outbox phase: what the hall's synced commit costs per event
 * when one LMDB transaction carries a doubling number of tickets (one, two,
 * four and on), on a scratch outbox (real LMDB file, branchd's own outbox code, the kiosk's
 * TicketIssued events). It measures the ceiling of a group commit (the
 * requests of one loop wake-up committed together) before anyone builds it;
 * it starts no daemon and asserts nothing. */
#include "bench_kiosk_commit.h"

#include "outbox.h"

#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define COMMIT_BATCH_MAX 256

/* This process's CPU time so far (user and system), in ns. */
static int64_t s_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* Commits `batch` tickets per transaction for `seconds`; prints one line. */
static int s_round(outbox_t *ob, unsigned batch, int seconds)
{
    static const char *const services[] = {"A", "B", "C"};
    Hallbus__TicketIssued ti[COMMIT_BATCH_MAX];
    Hallbus__Envelope env[COMMIT_BATCH_MAX], *envs[COMMIT_BATCH_MAX];
    char names[COMMIT_BATCH_MAX][16];
    uint64_t commits = 0, events = 0;
    int64_t t0 = hb_mono_ns(), c0 = s_cpu_ns(), end = t0 + (int64_t)seconds * 1000000000LL;
    while (hb_mono_ns() < end) {
        for (unsigned i = 0; i < batch; i++) {
            uint64_t n = events + i;
            hallbus__ticket_issued__init(&ti[i]);
            snprintf(names[i], sizeof names[i], "%s%03u", services[n % 3],
                     (unsigned)(n / 3 % 1000 + 1));
            ti[i].ticket = names[i];
            ti[i].service = (char *)services[n % 3];
            ti[i].priority = HALLBUS__PRIORITY__PRIORITY_NORMAL;
            ti[i].source = HALLBUS__ISSUE_SOURCE__ISSUE_SOURCE_KIOSK;
            ti[i].number = (uint32_t)(n / 3 % 1000 + 1);
            hallbus__envelope__init(&env[i]);
            env[i].at_ms = hb_now_ms();
            env[i].body_case = HALLBUS__ENVELOPE__BODY_TICKET_ISSUED;
            env[i].ticket_issued = &ti[i];
            envs[i] = &env[i];
        }
        int rc = outbox_append(ob, envs, batch, NULL);
        if (rc != 0) {
            fprintf(stderr, "bench_kiosk: outbox_append: %d\n", rc);
            return -1;
        }
        commits++;
        events += batch;
    }
    double wall = (double)(hb_mono_ns() - t0) / 1e3, cpu = (double)(s_cpu_ns() - c0) / 1e3;
    printf("outbox: %3u ticket(s) per commit: %llu commits in %.1f s, %.0f us a commit; CPU %.1f "
           "us a commit, %.1f us a ticket\n",
           batch, (unsigned long long)commits, wall / 1e6, wall / (double)commits,
           cpu / (double)commits, cpu / (double)events);
    fflush(stdout);
    return 0;
}

int kiosk_commit_phase(const char *dir, unsigned max_batch, int seconds)
{
    if (max_batch > COMMIT_BATCH_MAX)
        max_batch = COMMIT_BATCH_MAX;
    outbox_t *ob = NULL;
    if (outbox_open(dir, 64u << 20, 1u << 30, &ob) != 0) {
        fprintf(stderr, "bench_kiosk: cannot open an outbox in %s\n", dir);
        return -1;
    }
    int rc = 0;
    for (unsigned b = 1; b <= max_batch && rc == 0; b *= 2)
        rc = s_round(ob, b, seconds);
    outbox_close(&ob);
    return rc;
}
