/* bench_kiosk's outbox phase (bench_kiosk_commit.c): the synced commit's
 * cost per ticket at a doubling number of tickets per transaction. */
#ifndef BENCH_KIOSK_COMMIT_H
#define BENCH_KIOSK_COMMIT_H

/* Opens a scratch outbox in `dir` (created) and runs rounds of `seconds`
 * each at 1, 2, 4, ... up to `max_batch` tickets per commit, printing a
 * line per round. 0, or -1 when the outbox failed. */
int kiosk_commit_phase(const char *dir, unsigned max_batch, int seconds);

#endif
