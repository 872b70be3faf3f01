/* What every hallbus daemon does around its own work, once: the settings
 * (--help, --version, refusals with exit code 2), the log, SIGPIPE ignored,
 * the open-files limit raised, the data folder locked against a second
 * daemon, SIGTERM/SIGINT to stop and SIGHUP to reload on the loop, systemd's
 * READY/RELOADING/STOPPING/WATCHDOG/EXTEND_TIMEOUT_USEC (the watchdog
 * petted only while every watched thread makes progress), and one
 * housekeeping timer that runs
 * each periodic chore every N ticks (Redis's serverCron) instead of a timer
 * per chore. hqd and branchd each describe themselves in an
 * hb_daemon_spec_t; what they build between start and run is theirs.
 *
 * Not for the tools, which have no loop, no data folder and no systemd. */
#ifndef HALLBUS_DAEMON_H
#define HALLBUS_DAEMON_H

#include "hallbus/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The data folder's lock file: held (fcntl write lock) while the daemon
 * runs, and holding its pid as text for people. The lock decides, not the
 * file: a file left by a killed daemon does not keep the next one out. */
#define HB_DAEMON_LOCK_FILE "hallbus.lock"

/* The watchdog rule. systemd is told the daemon is alive (WATCHDOG=1, every
 * half WatchdogSec) only when the loop runs (the tick that tells it runs
 * there) and every thread watched by hallbus/progress.h has beaten within
 * the quiet limit: half WatchdogSec, at least HB_DAEMON_QUIET_MIN_MS (three
 * of a thread's idle beats, so an idle thread is never taken for a stuck
 * one). A start longer than HB_DAEMON_EXTEND_AFTER_MS is extended by
 * HB_DAEMON_EXTEND_BY_MS each second while the threads make progress. */
#define HB_DAEMON_QUIET_MIN_MS 3000
#define HB_DAEMON_EXTEND_AFTER_MS 1000
#define HB_DAEMON_EXTEND_BY_MS 10000

/* The rows hb_daemon_start gives a meaning to, as both daemons' tables
 * have them (config.h's HB_CONF_ROW, for the string fields `config` and
 * `log_level` of the settings struct `type_s`): the config file, and the
 * log's level, reloadable, in the words hb_log_level_parse takes. */
#define HB_DAEMON_CONFIG_ROW(type_s)                                                               \
    HB_CONF_ROW(type_s, "config", HB_CONF_STRING, config, NULL, 0, 0, false,                       \
                "config file (--config)")
#define HB_DAEMON_LOG_LEVEL_ROW(type_s)                                                            \
    HB_CONF_ROW(type_s, "log_level", HB_CONF_STRING, log_level, "info", 0, 0, true,                \
                "error, warn, info, debug")

typedef struct hb_daemon hb_daemon_t;
struct hb_man;
typedef void (*hb_daemon_fn)(void *arg);

/* One periodic chore: run every `every_ms`, a multiple of the tick (a chore
 * runs on the ticks whose count it divides, so chores of one period run
 * together, in table order). */
typedef struct hb_chore {
    const char *name;
    int64_t every_ms;
    hb_daemon_fn run;
} hb_chore_t;

typedef struct hb_daemon_spec {
    const char *name; /* "hqd": the log's component, messages, --version */
    /* The settings. The rows named "config", "log_level" and "data" are
     * the daemon's config file (for SIGHUP), its log level (reloadable or
     * not, as the table says) and the folder it locks; each is optional. */
    const hb_config_def_t *defs;
    size_t ndefs;
    void *cfg; /* the settings' struct, zeroed; freed by hb_daemon_destroy */
    /* Checks the table cannot say (a hall id's form); 0, or HB_EINVAL with
     * `err`: then start-up ends with exit code 2. May be NULL. */
    int (*check)(const void *cfg, char *err, size_t errlen);
    int64_t tick_ms; /* the housekeeping timer's period */
    const hb_chore_t *chores;
    size_t n_chores;
    /* SIGTERM/SIGINT (or hb_daemon_stop): close what keeps the loop running;
     * the timer and the signal handlers are closed already. */
    hb_daemon_fn stop;
    /* After a SIGHUP reload was applied (the log level is set already), or
     * on SIGHUP without a --config file (settings unchanged); may be NULL. */
    hb_daemon_fn reloaded;
    /* What the daemon's parts still do before they serve fully, once
     * hb_daemon_run began ("rebuilding the live mirror"), or NULL when
     * they are ready. READY=1 waits for NULL (asked on every tick); a start
     * that takes more than HB_DAEMON_EXTEND_AFTER_MS asks systemd for more
     * time (EXTEND_TIMEOUT_USEC) every second for as long as every watched
     * thread makes progress, so a long start is not killed by
     * TimeoutStartSec= and a stuck one still is. May be NULL: ready at once. */
    const char *(*starting)(void *arg);
    /* The manual page's own parts (`--help-man`, manpage.h); its settings,
     * signals, systemd and exit status come from the rest of the spec. May
     * be NULL: then --help-man is an unknown setting. */
    const struct hb_man *man;
    /* How long a thread watched by hallbus/progress.h may go without a beat
     * before the watchdog is no longer petted; 0: half of WatchdogSec, and
     * at least HB_DAEMON_QUIET_MIN_MS. */
    int64_t quiet_ms;
    void *arg; /* for the chores, stop and reloaded */
} hb_daemon_spec_t;

/* Start-up up to the daemon's own parts: `--help-man` alone writes the
 * manual page (spec->man) to stdout; otherwise the log, the settings from the
 * command line and the config file, the log level, spec->check, SIGPIPE
 * ignored, RLIMIT_NOFILE raised to its hard limit, the data folder made and
 * locked. On success returns 0 with *out set. Otherwise *out is NULL and
 * the return value is main's exit code: 0 after --help, --help-man or
 * --version, 2 for settings that are refused (said on stderr with a pointer
 * to --help), 1 when the data folder cannot be had (said in the log: which
 * folder, and which pid holds it). `spec` must outlive the daemon. */
int hb_daemon_start(const hb_daemon_spec_t *spec, int argc, char **argv, hb_daemon_t **out);
/* The log lines' component from now on, through reloads too ("branchd/H1";
 * at most 31 bytes are kept). */
void hb_daemon_set_component(hb_daemon_t *d, const char *component);
/* Starts the housekeeping timer and the signal handlers on `loop`, says
 * READY=1 to systemd (at once, or once spec->starting says the parts are
 * ready), and runs the loop until it has nothing left to run (after a
 * stop). Then closes every handle still open, runs the loop until
 * they are closed, and closes it. Returns 0, or HB_EIO when the loop did not
 * close (a handle the daemon kept open; logged). */
int hb_daemon_run(hb_daemon_t *d, uv_loop_t *loop);
/* Asks for a stop, as SIGTERM does; the second call does nothing. */
void hb_daemon_stop(hb_daemon_t *d);
bool hb_daemon_stopping(const hb_daemon_t *d);
/* The watchdog interval systemd asked this process for, in ms (0: none). */
int64_t hb_daemon_watchdog_ms(const hb_daemon_t *d);
/* Frees the settings and releases the data folder. Idempotent. */
void hb_daemon_destroy(hb_daemon_t **d);

/* Takes the lock of `dir` (made with its parents if missing): 0 with *fd
 * holding it (close it to let go), HB_EAGAIN when another process holds it,
 * with `err` naming the folder and that process's pid, or HB_EIO with
 * `err`. For hb_daemon_start, and for tests. */
int hb_daemon_lock_folder(const char *dir, int *fd, char *err, size_t errlen);

#endif
