/* What a benchmark started, stopped on every way out: the daemons it runs
 * (hqd, branchd, redis-server), its worker processes, and its scratch
 * folders. A normal end, an early return after a failure (atexit), and
 * SIGINT, SIGTERM or SIGHUP all stop every registered child (its own
 * signal, then SIGKILL after a grace period), reap it and remove the
 * folders, so a failed run leaves no daemon holding the caller's terminal
 * or pipe. Not for the daemons themselves; one registry per process. */
#ifndef TOOLS_BENCH_KIDS_H
#define TOOLS_BENCH_KIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KIDS_MAX 256 /* children registered at once */

/* Installs the signal handlers and the atexit hook; call once, early. */
void kids_init(const char *tool);
/* Registers child `pid`, stopped with `sig` (then SIGKILL); -1 when the
 * registry is full (the child is then killed at once). */
int kids_add(pid_t pid, int sig);
/* Registers a folder removed (rm -rf) when everything stops. */
void kids_add_dir(const char *dir);
/* Stops one registered child now (its signal, at most `grace_ms`, then
 * SIGKILL), reaps it and forgets it. */
void kids_stop(pid_t pid, int grace_ms);
/* Forgets a child that ended and was reaped by the caller. */
void kids_forget(pid_t pid);
/* Stops every child (the latest first) and removes the folders. */
void kids_stop_all(void);
/* Runs argv (found on PATH) to its end, its output (both streams) in `out`
 * (cut at `outlen`), registered while it runs. Its exit status, or -1. */
int kids_run(char *const argv[], char *out, size_t outlen);
/* In a freshly forked child: forgets the parent's registry and signal
 * handlers, and asks the kernel for `sig` when the parent dies, so that
 * even a SIGKILLed benchmark leaves nothing running. */
void kids_in_child(int sig);
/* What a worker process runs: its commands come on `cmd_in`, its reports
 * go to `rep_out`; it ends with _exit and never returns. */
typedef void (*kids_worker_fn)(void *arg, int cmd_in, int rep_out);
/* Forks a worker (kids_in_child with SIGKILL, registered with SIGTERM)
 * joined to this process by two pipes: the child runs `run(arg, ...)`, and
 * the parent gets the write end of its commands in `*cmd` and the read end
 * of its reports in `*rep`. 0, or -1 with nothing left open. */
int kids_fork_worker(kids_worker_fn run, void *arg, pid_t *pid, int *cmd, int *rep);
/* Writes (`out`) or reads `len` bytes whole over a pipe, again after
 * EINTR: 0, or -1 on an error or the other end closed. */
int kids_pipe_all(int fd, void *buf, size_t len, bool out);
/* A process's CPU time so far in ns: the run time of all its threads
 * (/proc/PID/task/TID/schedstat), 0 when it cannot be read. Threads that
 * ended are not counted, so take it from long-lived daemons. */
uint64_t kids_cpu_ns(pid_t pid);
/* The same by thread name (/proc/PID/task/TID/comm; threads of one name
 * summed), at most `max` names; how many were filled. */
typedef struct kids_cpu {
    char name[16];
    uint64_t ns;
} kids_cpu_t;
size_t kids_cpu_threads(pid_t pid, kids_cpu_t *out, size_t max);

#endif
