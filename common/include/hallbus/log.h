/* Logging for the daemons and tools: one line per record on stderr, with a
 * UTC timestamp, level and component, so journald and test logs read alike.
 *
 * A line looks like
 *   2026-11-23T09:30:00.123Z hqd[4242] error: writer: MDB_MAP_FULL
 * and, when stderr is the journal (see hb_log_init), like
 *   <3>hqd[4242] error: writer: MDB_MAP_FULL
 *
 * Repeats are folded so that a fault hit in a loop cannot flood the log: the
 * first record of a kind is written; identical records (same level, same
 * message text) that follow within the fold window (5 s unless set) are
 * counted, not written; when the window ends, one line at the same level says
 *   2026-11-23T09:30:05.200Z hqd[4242] error: repeated 48 times in 5 s: writer: MDB_MAP_FULL
 * A repeat after its window has closed is written again and opens a new one.
 * Up to 16 distinct messages are followed at once, so interleaved repeats
 * (A B A B from two threads) fold too; a 17th evicts the one seen least
 * recently, writing its count so far. Counts are never dropped: a summary is
 * written by the next log call after the window ends, by hb_log_flush(), or
 * at exit().
 *
 * hb_log_once() logs a given key only once per process run (bad input must be
 * "counted, logged once", never flood the log). It is not for debugging
 * output: use hb_log(HB_LOG_DEBUG, ...) with the level raised.
 *
 * Every function here is thread-safe except where its comment says not. */
#ifndef HALLBUS_LOG_H
#define HALLBUS_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum hb_log_level { HB_LOG_ERROR = 0, HB_LOG_WARN, HB_LOG_INFO, HB_LOG_DEBUG };

/* Sets the least severe level that is written, and the component name put on
 * every line (copied, at most 31 bytes). Records below the level are neither
 * written nor counted for folding.
 *
 * It also decides, once per call, whether stderr is the journal: it is when
 * JOURNAL_STREAM is set and names the device and inode of file descriptor 2,
 * which is how systemd says so (systemd.exec(5)); a JOURNAL_STREAM inherited
 * by a process whose stderr was redirected elsewhere does not count. Lines to
 * the journal start with the syslog priority ("<3>" error, "<4>" warn, "<6>"
 * info, "<7>" debug, read by journald, so `journalctl -p err` works) and carry
 * no timestamp of ours, journald adds its own. Otherwise lines start with the
 * UTC timestamp as above.
 *
 * Call it at start (the daemons call it again on SIGHUP; a record logged by
 * another thread during the call gets either the old or the new settings). */
void hb_log_init(const char *component, enum hb_log_level level);
/* Parses "error", "warn", "info", "debug"; returns 0 or HB_EINVAL. */
int hb_log_level_parse(const char *text, enum hb_log_level *out);

void hb_log(enum hb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs at most once per distinct `key` (up to 256 keys are remembered; later
 * keys fall back to logging at most once per second). What it does write is
 * folded like any other record. */
void hb_log_once(const char *key, enum hb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the "repeated N times" lines of the fold windows that have ended.
 * Without it a summary waits for the next log call, however late that is, so
 * the daemons call it from their housekeeping timer (every 100 ms to 1 s).
 * Open windows are left open; exit() writes what they have counted. */
void hb_log_flush(void);

/* Sets the fold window in milliseconds (default 5000); 0 turns folding off,
 * and then the next log call or hb_log_flush() writes whatever was counted.
 * Applies to open windows too. For tests and tuning; `ms` must be >= 0. */
void hb_log_set_fold_window_ms(int64_t ms);

#define hb_error(...) hb_log(HB_LOG_ERROR, __VA_ARGS__)
#define hb_warn(...) hb_log(HB_LOG_WARN, __VA_ARGS__)
#define hb_info(...) hb_log(HB_LOG_INFO, __VA_ARGS__)
#define hb_debug(...) hb_log(HB_LOG_DEBUG, __VA_ARGS__)

#endif
