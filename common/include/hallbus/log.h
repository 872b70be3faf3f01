/* Logging for the daemons and tools: one line per record on stderr, with a
 * UTC timestamp, level and component, so journald and test logs read alike.
 *
 * hb_log_once() logs a given key only once per process run (bad input must be
 * "counted, logged once", never flood the log). It is not for debugging
 * output: use hb_log(HB_LOG_DEBUG, ...) with the level raised. */
#ifndef HALLBUS_LOG_H
#define HALLBUS_LOG_H

#include <stdarg.h>

enum hb_log_level { HB_LOG_ERROR = 0, HB_LOG_WARN, HB_LOG_INFO, HB_LOG_DEBUG };

/* Sets the least severe level that is written, and the component name put on
 * every line (copied, at most 31 bytes). Thread-safe to call at start only. */
void hb_log_init(const char *component, enum hb_log_level level);
/* Parses "error", "warn", "info", "debug"; returns 0 or HB_EINVAL. */
int hb_log_level_parse(const char *text, enum hb_log_level *out);

void hb_log(enum hb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs at most once per distinct `key` (up to 256 keys are remembered; later
 * keys fall back to logging at most once per second). Thread-safe. */
void hb_log_once(const char *key, enum hb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define hb_error(...) hb_log(HB_LOG_ERROR, __VA_ARGS__)
#define hb_warn(...) hb_log(HB_LOG_WARN, __VA_ARGS__)
#define hb_info(...) hb_log(HB_LOG_INFO, __VA_ARGS__)
#define hb_debug(...) hb_log(HB_LOG_DEBUG, __VA_ARGS__)

#endif
