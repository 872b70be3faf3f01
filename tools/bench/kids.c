/* What a benchmark started, stopped on every way out (see kids.h). The
 * signal handler does the same as kids_stop_all with async-signal-safe
 * calls only (kill, waitpid, nanosleep, fork, execv, _exit): the registry
 * is fixed arrays written before a child can matter, so the handler reads
 * it without a lock. */
#include "kids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIDS_DIRS_MAX 8
#define KIDS_DIR_LEN 256
#define KIDS_GRACE_MS 10000 /* a daemon's orderly stop, at most */

static struct {
    pid_t pid[KIDS_MAX];
    int sig[KIDS_MAX];
    volatile sig_atomic_t n;
    char dir[KIDS_DIRS_MAX][KIDS_DIR_LEN];
    volatile sig_atomic_t ndirs;
    const char *tool;
    pid_t owner; /* the process that registered them (not a forked child) */
} s_k;

static void s_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Sends `sig`, waits up to `grace_ms` for the end, then SIGKILL; reaps. */
static void s_stop_pid(pid_t pid, int sig, int grace_ms)
{
    if (pid <= 0)
        return;
    if (kill(pid, sig) != 0 && errno == ESRCH) {
        waitpid(pid, NULL, WNOHANG);
        return;
    }
    for (int waited = 0; waited < grace_ms; waited += 20) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return;
        s_nap_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void s_remove_dirs(void)
{
    for (int i = 0; i < s_k.ndirs; i++) {
        if (!s_k.dir[i][0])
            continue;
        pid_t p = fork();
        if (p == 0) {
            char *const argv[] = {"rm", "-rf", s_k.dir[i], NULL};
            execv("/bin/rm", argv);
            _exit(127);
        }
        if (p > 0)
            waitpid(p, NULL, 0);
        s_k.dir[i][0] = '\0';
    }
    s_k.ndirs = 0;
}

void kids_stop_all(void)
{
    if (s_k.owner != getpid())
        return; /* a forked child leaving: not its business */
    /* Latest first: workers before the daemon they talk to. */
    while (s_k.n > 0) {
        int i = s_k.n - 1;
        pid_t pid = s_k.pid[i];
        s_k.pid[i] = 0;
        s_k.n = i;
        s_stop_pid(pid, s_k.sig[i], KIDS_GRACE_MS);
    }
    s_remove_dirs();
}

static void s_on_signal(int sig)
{
    static const char msg[] = ": interrupted; stopping what it started\n";
    if (s_k.tool) {
        ssize_t w = write(2, s_k.tool, strlen(s_k.tool));
        w = write(2, msg, sizeof msg - 1);
        (void)w;
    }
    kids_stop_all();
    _exit(128 + sig);
}

static void s_at_exit(void) { kids_stop_all(); }

void kids_init(const char *tool)
{
    s_k.tool = tool;
    s_k.owner = getpid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigfillset(&sa.sa_mask); /* one handler at a time */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A reader of our output that went away must not kill us before we
     * stopped what we started: writes then fail with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    atexit(s_at_exit);
}

int kids_add(pid_t pid, int sig)
{
    if (pid <= 0)
        return -1;
    if (s_k.n >= KIDS_MAX) {
        s_stop_pid(pid, SIGKILL, 0);
        return -1;
    }
    s_k.sig[s_k.n] = sig;
    s_k.pid[s_k.n] = pid; /* set last: the handler reads up to n */
    s_k.n = s_k.n + 1;
    return 0;
}

void kids_add_dir(const char *dir)
{
    if (s_k.ndirs >= KIDS_DIRS_MAX)
        return;
    snprintf(s_k.dir[s_k.ndirs], KIDS_DIR_LEN, "%s", dir);
    s_k.ndirs = s_k.ndirs + 1;
}

void kids_forget(pid_t pid)
{
    for (int i = 0; i < s_k.n; i++) {
        if (s_k.pid[i] != pid)
            continue;
        for (int j = i; j + 1 < s_k.n; j++) {
            s_k.pid[j] = s_k.pid[j + 1];
            s_k.sig[j] = s_k.sig[j + 1];
        }
        s_k.n = s_k.n - 1;
        return;
    }
}

void kids_stop(pid_t pid, int grace_ms)
{
    for (int i = 0; i < s_k.n; i++) {
        if (s_k.pid[i] == pid) {
            int sig = s_k.sig[i];
            kids_forget(pid);
            s_stop_pid(pid, sig, grace_ms);
            return;
        }
    }
}

void kids_in_child(int sig)
{
    s_k.n = 0;
    s_k.ndirs = 0;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, sig);
    if (getppid() != s_k.owner)
        raise(sig); /* the parent died before the request took */
}

int kids_fork_worker(kids_worker_fn run, void *arg, pid_t *pid, int *cmd, int *rep)
{
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(from, O_CLOEXEC) != 0) {
        close(to[0]);
        close(to[1]);
        return -1;
    }
    fflush(NULL);
    *pid = fork();
    if (*pid == 0) {
        kids_in_child(SIGKILL);
        close(to[1]);
        close(from[0]);
        run(arg, to[0], from[1]);
        _exit(0);
    }
    close(to[0]);
    close(from[1]);
    if (*pid < 0) {
        close(to[1]);
        close(from[0]);
        return -1;
    }
    *cmd = to[1];
    *rep = from[0];
    kids_add(*pid, SIGTERM);
    return 0;
}

int kids_pipe_all(int fd, void *buf, size_t len, bool out)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = out ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int kids_run(char *const argv[], char *out, size_t outlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        kids_in_child(SIGTERM);
        dup2(p[1], 1);
        dup2(p[1], 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    kids_add(pid, SIGTERM);
    size_t used = 0;
    for (;;) {
        char buf[4096];
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = used + (size_t)r < outlen ? (size_t)r : outlen - 1 - used;
        memcpy(out + used, buf, take);
        used += take;
    }
    out[used] = '\0';
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    kids_forget(pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

size_t kids_cpu_threads(pid_t pid, kids_cpu_t *out, size_t max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char f[320], name[16] = "";
        snprintf(f, sizeof f, "/proc/%d/task/%.32s/comm", (int)pid, e->d_name);
        FILE *fp = fopen(f, "r");
        if (fp) {
            if (!fgets(name, sizeof name, fp))
                name[0] = '\0';
            fclose(fp);
        }
        name[strcspn(name, "\n")] = '\0';
        snprintf(f, sizeof f, "/proc/%d/task/%.32s/schedstat", (int)pid, e->d_name);
        fp = fopen(f, "r");
        unsigned long long run = 0;
        if (fp) {
            if (fscanf(fp, "%llu", &run) != 1)
                run = 0;
            fclose(fp);
        }
        size_t i = 0;
        while (i < n && strcmp(out[i].name, name) != 0)
            i++;
        if (i == n) {
            if (n == max)
                continue;
            snprintf(out[n].name, sizeof out[n].name, "%s", name);
            out[n++].ns = 0;
        }
        out[i].ns += run;
    }
    closedir(d);
    return n;
}

uint64_t kids_cpu_ns(pid_t pid)
{
    kids_cpu_t t[64];
    size_t n = kids_cpu_threads(pid, t, 64);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += t[i].ns;
    return sum;
}
