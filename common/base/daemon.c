/* The start-up, signals, systemd notifications and housekeeping timer both
 * daemons share (see daemon.h). The signal handlers are libuv's, so a signal
 * only wakes the loop and the work happens there (Mosquitto's flag_reload);
 * the housekeeping timer flushes folded log lines, runs the daemon's chores
 * on their ticks, says READY once the daemon's parts are (asking systemd for
 * more time while they are not), and pets systemd's watchdog only while
 * every watched thread makes progress (progress.h). */
#include "hallbus/daemon.h"
#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/log.h"
#include "hallbus/manpage.h"
#include "hallbus/progress.h"
#include "hallbus/sdnotify.h"
#include "hallbus/time.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DAEMON_COMPONENT_MAX 32 /* as the log keeps it */
#define DAEMON_CHORES_MAX 32

struct hb_daemon {
    const hb_daemon_spec_t *spec;
    char component[DAEMON_COMPONENT_MAX];
    int lock_fd;
    uv_loop_t *loop;
    uv_timer_t tick;
    uv_signal_t sigterm, sigint, sighup;
    bool running, stopping;
    uint64_t ticks;
    uint64_t chore_every[DAEMON_CHORES_MAX]; /* in ticks */
    int64_t watchdog_ms, last_watchdog_ms;
    bool ready;      /* READY=1 said */
    bool quiet_seen; /* a watched thread was quiet at the last look (logged once) */
    int64_t run_ms, last_extend_ms;
};

/* The field of the settings row named `name`, or NULL without such a row. */
static const hb_config_def_t *s_row(const hb_daemon_spec_t *spec, const char *name)
{
    for (size_t i = 0; i < spec->ndefs; i++)
        if (strcmp(spec->defs[i].name, name) == 0)
            return &spec->defs[i];
    return NULL;
}

static const char *s_string(const hb_daemon_spec_t *spec, const char *name)
{
    const hb_config_def_t *d = s_row(spec, name);
    if (!d || d->type != HB_CONF_STRING)
        return NULL;
    return *(char *const *)(const void *)((const char *)spec->cfg + d->offset);
}

/* The log level the settings name; HB_EINVAL when it is none. */
static int s_log_level(const hb_daemon_spec_t *spec, enum hb_log_level *lvl)
{
    const char *text = s_string(spec, "log_level");
    *lvl = HB_LOG_INFO;
    return text ? hb_log_level_parse(text, lvl) : 0;
}

/* One descriptor per hall connection: room for a national network. */
static void s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            hb_warn("cannot raise the open files limit: %s", strerror(errno));
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        hb_info("open files limit: %llu", (unsigned long long)rl.rlim_cur);
}

/* ------------------------------------------------------ the data lock ---- */

/* The pid written in the lock file, 0 when it holds none. */
static long s_pid_in_file(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    char *end = NULL;
    long pid = strtol(text, &end, 10);
    return end != text && pid > 0 ? pid : 0;
}

int hb_daemon_lock_folder(const char *dir, int *fd_out, char *err, size_t errlen)
{
    *fd_out = -1;
    if (hb_mkdir_p(dir, 0750) != 0) {
        hb_errf(err, errlen, "cannot create the data folder %s: %s", dir, strerror(errno));
        return HB_EIO;
    }
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, HB_DAEMON_LOCK_FILE) >= (int)sizeof path) {
        hb_errf(err, errlen, "the data folder's path is too long: %.200s", dir);
        return HB_EIO;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        hb_errf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return HB_EIO;
    }
    /* A whole-file write lock. The kernel drops it when the process ends,
     * however it ends: kill -9 leaves the file, never the lock. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        if (e != EACCES && e != EAGAIN) {
            hb_errf(err, errlen, "cannot lock %s: %s", path, strerror(e));
            close(fd);
            return HB_EIO;
        }
        /* Who holds it: the kernel knows (unless the holder is in another
         * pid namespace), the file says what the holder wrote. */
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        long pid = 0;
        if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0)
            pid = (long)who.l_pid;
        if (!pid)
            pid = s_pid_in_file(fd);
        close(fd);
        if (pid)
            hb_errf(err, errlen,
                    "the data folder %s is in use by another daemon, pid %ld (it holds %s); "
                    "stop it first, or give this one another data folder",
                    dir, pid, path);
        else
            hb_errf(err, errlen,
                    "the data folder %s is in use by another daemon (it holds %s); stop it "
                    "first, or give this one another data folder",
                    dir, path);
        return HB_EAGAIN;
    }
    char text[32];
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        /* The lock holds regardless; only the note for people is missing. */
        hb_warn("cannot write the pid into %s: %s", path, strerror(errno));
    }
    *fd_out = fd;
    return 0;
}

/* -------------------------------------------------------- manual page ---- */

/* What every daemon's page says the same way: the daemon's parts, then
 * what daemon.c itself does (signals, systemd, exit codes). */
static void s_write_man(const hb_daemon_spec_t *spec, FILE *out)
{
    hb_man_head(out, spec->man);
    hb_man_section(out, "OPTIONS");
    hb_man_settings(out, spec->defs, spec->ndefs, NULL);
    hb_man_parts(out, spec->man);
    hb_man_section(out, "SIGNALS");
    hb_man_text(out, "- SIGTERM, SIGINT: stop cleanly (what is acknowledged is on disk; nothing is "
                     "lost by a stop of any kind).\n"
                     "- SIGHUP: read the --config file again and apply the settings marked "
                     "reloadable; a change to any other is refused and nothing changes.");
    hb_man_section(out, "SYSTEMD");
    hb_man_text(out,
                "Run as Type=notify. READY=1 once serving (hqd: once its live mirror is "
                "rebuilt; a start longer than a second asks for more time with "
                "EXTEND_TIMEOUT_USEC every second while its threads make progress), "
                "RELOADING=1 and READY=1 around a reload, STOPPING=1 on the way out. With "
                "WatchdogSec= set, WATCHDOG=1 is sent every half interval, and only while "
                "every thread the daemon watches has made progress within half the interval "
                "(at least 3 s): a thread stuck in a system call stops the pets, the log names "
                "it, and systemd restarts the daemon. Notifications never wait for systemd.");
    hb_man_section(out, "EXIT STATUS");
    hb_man_text(out, "- 0: stopped cleanly, or --help, --help-man, --version.\n"
                     "- 1: could not start (the data folder held by another daemon, a store "
                     "or a key that cannot be read, a port in use); the log says which.\n"
                     "- 2: settings refused (named on standard error).");
    hb_man_see_also(out, spec->man);
}

/* ----------------------------------------------------------- start-up ---- */

int hb_daemon_start(const hb_daemon_spec_t *spec, int argc, char **argv, hb_daemon_t **out)
{
    *out = NULL;
    assert(spec->name && spec->defs && spec->cfg && spec->tick_ms > 0);
    assert(spec->n_chores <= DAEMON_CHORES_MAX);
    if (spec->man && hb_man_asked(argc, argv)) {
        s_write_man(spec, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    char err[512];
    hb_log_init(spec->name, HB_LOG_INFO);
    int rc =
        hb_config_load(spec->defs, spec->ndefs, spec->cfg, argc, argv, stdout, err, sizeof err);
    if (rc == HB_ENOTFOUND)
        return 0; /* --help, --version */
    if (rc != 0) {
        fprintf(stderr, "%s: %s\nTry '%s --help'.\n", spec->name, err, spec->name);
        return 2;
    }
    enum hb_log_level lvl;
    if (s_log_level(spec, &lvl) != 0) {
        fprintf(stderr, "%s: log_level '%s' is not one of error, warn, info, debug\n", spec->name,
                s_string(spec, "log_level"));
        hb_config_free(spec->defs, spec->ndefs, spec->cfg);
        return 2;
    }
    if (spec->check && spec->check(spec->cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\nTry '%s --help'.\n", spec->name, err, spec->name);
        hb_config_free(spec->defs, spec->ndefs, spec->cfg);
        return 2;
    }
    hb_daemon_t *d = calloc(1, sizeof *d);
    if (!d) {
        fprintf(stderr, "%s: out of memory\n", spec->name);
        hb_config_free(spec->defs, spec->ndefs, spec->cfg);
        return 1;
    }
    d->spec = spec;
    d->lock_fd = -1;
    snprintf(d->component, sizeof d->component, "%s", spec->name);
    hb_log_init(d->component, lvl);
    /* A peer that goes away mid-write is an error return, not a death. */
    signal(SIGPIPE, SIG_IGN);
    s_raise_nofile();
    const char *data = s_string(spec, "data");
    if (data && data[0]) {
        rc = hb_daemon_lock_folder(data, &d->lock_fd, err, sizeof err);
        if (rc != 0) {
            hb_error("%s", err);
            hb_daemon_destroy(&d);
            return 1;
        }
    }
    for (size_t i = 0; i < spec->n_chores; i++) {
        int64_t every = spec->chores[i].every_ms;
        assert(every >= spec->tick_ms && every % spec->tick_ms == 0 &&
               "a chore's period is a multiple of the tick");
        d->chore_every[i] = (uint64_t)(every / spec->tick_ms);
    }
    d->watchdog_ms = hb_sd_watchdog_ms();
    *out = d;
    return 0;
}

void hb_daemon_set_component(hb_daemon_t *d, const char *component)
{
    snprintf(d->component, sizeof d->component, "%s", component);
    enum hb_log_level lvl;
    if (s_log_level(d->spec, &lvl) == 0)
        hb_log_init(d->component, lvl);
}

/* ------------------------------------------------------------ running ---- */

/* Whether every watched thread has beaten within the quiet limit. A change
 * either way is logged once, naming the quiet threads. */
static bool s_threads_alive(hb_daemon_t *d, int64_t now)
{
    int64_t quiet = d->spec->quiet_ms;
    if (quiet <= 0)
        quiet = d->watchdog_ms / 2 > HB_DAEMON_QUIET_MIN_MS ? d->watchdog_ms / 2
                                                            : HB_DAEMON_QUIET_MIN_MS;
    hb_progress_quiet_t q[4];
    size_t n = hb_progress_quiet(now, quiet, q, sizeof q / sizeof q[0]);
    if (n && !d->quiet_seen) {
        char names[256];
        size_t used = 0;
        for (size_t i = 0; i < n && i < sizeof q / sizeof q[0]; i++) {
            int w = snprintf(names + used, sizeof names - used, "%s%s (%.1f s)", i ? ", " : "",
                             q[i].name, (double)q[i].quiet_ms / 1000.0);
            if (w < 0 || (size_t)w >= sizeof names - used)
                break;
            used += (size_t)w;
        }
        hb_error("thread%s %s%s made no progress: %s", n > 1 ? "s" : "", names,
                 n > sizeof q / sizeof q[0] ? " and more" : "",
                 d->watchdog_ms ? "systemd's watchdog is no longer petted (it restarts the "
                                  "daemon after WatchdogSec)"
                                : "systemd is no longer asked for more time to start");
    } else if (!n && d->quiet_seen) {
        hb_info("every thread makes progress again");
    }
    d->quiet_seen = n > 0;
    return n == 0;
}

/* READY=1 once the daemon's parts are ready; until then, more time from
 * systemd every second while the threads make progress. */
static void s_starting(hb_daemon_t *d, int64_t now, bool alive)
{
    const hb_daemon_spec_t *spec = d->spec;
    const char *what = spec->starting ? spec->starting(spec->arg) : NULL;
    if (!what) {
        d->ready = true;
        hb_sd_notify("READY=1");
        if (now - d->run_ms >= HB_DAEMON_EXTEND_AFTER_MS)
            hb_info("ready after %.1f s", (double)(now - d->run_ms) / 1000.0);
        return;
    }
    if (!alive || now - d->run_ms < HB_DAEMON_EXTEND_AFTER_MS || now - d->last_extend_ms < 1000)
        return;
    char text[64];
    snprintf(text, sizeof text, "EXTEND_TIMEOUT_USEC=%lld",
             (long long)HB_DAEMON_EXTEND_BY_MS * 1000LL);
    hb_sd_notify(text);
    if (!d->last_extend_ms)
        hb_info("still starting (%s): systemd is asked for more time while it goes on", what);
    d->last_extend_ms = now;
}

static void s_on_tick(uv_timer_t *t)
{
    hb_daemon_t *d = t->data;
    const hb_daemon_spec_t *spec = d->spec;
    d->ticks++;
    /* Folded log repeats are said when their window ends, not at the next
     * record, which may come much later. */
    hb_log_flush();
    for (size_t i = 0; i < spec->n_chores && !d->stopping; i++)
        if (d->ticks % d->chore_every[i] == 0)
            spec->chores[i].run(spec->arg);
    if (d->stopping)
        return;
    int64_t now = hb_mono_ms();
    /* Without a watchdog nobody needs the answer, except a start that may
     * ask for more time. */
    bool alive = d->watchdog_ms || !d->ready ? s_threads_alive(d, now) : true;
    if (!d->ready)
        s_starting(d, now, alive);
    /* Twice per interval, as sd_watchdog_enabled(3) advises, and only when
     * every watched thread made progress: a stuck writer stops the pets,
     * and systemd restarts the daemon. */
    if (d->watchdog_ms && alive && now - d->last_watchdog_ms >= d->watchdog_ms / 2) {
        hb_sd_notify("WATCHDOG=1");
        d->last_watchdog_ms = now;
    }
}

static void s_reload(hb_daemon_t *d)
{
    const hb_daemon_spec_t *spec = d->spec;
    const char *file = s_string(spec, "config");
    if (!file) {
        /* No settings to read again, but what lives beside them (a hall's
         * keys after a rotation) is still taken up. */
        hb_warn("SIGHUP: no --config file to reload; settings unchanged");
        if (spec->reloaded)
            spec->reloaded(spec->arg);
        return;
    }
    char err[512];
    /* Before READY, systemd is in the start already: no reload to frame. */
    if (d->ready)
        hb_sd_notify("RELOADING=1");
    if (hb_config_reload(spec->defs, spec->ndefs, spec->cfg, file, err, sizeof err) != 0) {
        hb_error("reload refused, nothing changed: %s", err);
    } else {
        enum hb_log_level lvl;
        if (s_log_level(spec, &lvl) == 0)
            hb_log_init(d->component, lvl); /* the component as set, hall id and all */
        if (spec->reloaded)
            spec->reloaded(spec->arg);
        hb_info("configuration reloaded from %s", s_string(spec, "config"));
    }
    if (d->ready)
        hb_sd_notify("READY=1");
}

static void s_on_signal(uv_signal_t *h, int signum)
{
    hb_daemon_t *d = h->data;
    if (signum == SIGHUP)
        s_reload(d);
    else
        hb_daemon_stop(d);
}

void hb_daemon_stop(hb_daemon_t *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    hb_sd_notify("STOPPING=1");
    hb_info("stopping");
    if (d->running) {
        uv_close((uv_handle_t *)&d->tick, NULL);
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        uv_close((uv_handle_t *)&d->sigint, NULL);
        uv_close((uv_handle_t *)&d->sighup, NULL);
    }
    if (d->spec->stop)
        d->spec->stop(d->spec->arg);
}

bool hb_daemon_stopping(const hb_daemon_t *d) { return d->stopping; }

int64_t hb_daemon_watchdog_ms(const hb_daemon_t *d) { return d->watchdog_ms; }

static void s_close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int hb_daemon_run(hb_daemon_t *d, uv_loop_t *loop)
{
    d->loop = loop;
    uv_timer_init(loop, &d->tick);
    d->tick.data = d;
    uv_signal_init(loop, &d->sigterm);
    uv_signal_init(loop, &d->sigint);
    uv_signal_init(loop, &d->sighup);
    d->sigterm.data = d->sigint.data = d->sighup.data = d;
    d->running = true;
    if (d->stopping) {
        /* Stopped before the loop ran (the daemon's parts are told so
         * already): close what was just made. */
        uv_close((uv_handle_t *)&d->tick, NULL);
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        uv_close((uv_handle_t *)&d->sigint, NULL);
        uv_close((uv_handle_t *)&d->sighup, NULL);
    } else {
        uv_timer_start(&d->tick, s_on_tick, (uint64_t)d->spec->tick_ms, (uint64_t)d->spec->tick_ms);
        uv_signal_start(&d->sigterm, s_on_signal, SIGTERM);
        uv_signal_start(&d->sigint, s_on_signal, SIGINT);
        uv_signal_start(&d->sighup, s_on_signal, SIGHUP);
        d->run_ms = d->last_watchdog_ms = hb_mono_ms();
        if (!d->spec->starting || !d->spec->starting(d->spec->arg)) {
            d->ready = true;
            hb_sd_notify("READY=1");
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);
    /* Whatever the daemon's parts left open (their close callbacks run). */
    uv_walk(loop, s_close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    d->running = false;
    if (uv_loop_close(loop) != 0) {
        hb_warn("the loop closed with handles open");
        return HB_EIO;
    }
    return 0;
}

static void s_fini(hb_daemon_t *d)
{
    hb_config_free(d->spec->defs, d->spec->ndefs, d->spec->cfg);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
}

void hb_daemon_destroy(hb_daemon_t **dp) { HB_DESTROY(dp, s_fini); }
