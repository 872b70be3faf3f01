/* Line-oriented logging to stderr. Each record is formatted into one buffer
 * and written with a single write(2) so that lines from threads and processes
 * sharing a log file never interleave. */
#include "hallbus/log.h"
#include "hallbus/error.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048
#define LOG_ONCE_KEYS 256
#define LOG_ONCE_KEY_MAX 64

static char s_component[32] = "hallbus";
static enum hb_log_level s_level = HB_LOG_INFO;
static pthread_mutex_t s_once_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_once_keys[LOG_ONCE_KEYS][LOG_ONCE_KEY_MAX];
static int s_once_count;
static time_t s_once_overflow_last;

static const char *const s_level_names[] = {"error", "warn", "info", "debug"};

void hb_log_init(const char *component, enum hb_log_level level)
{
    snprintf(s_component, sizeof s_component, "%s", component ? component : "hallbus");
    s_level = level;
}

int hb_log_level_parse(const char *text, enum hb_log_level *out)
{
    for (int i = 0; i <= HB_LOG_DEBUG; i++) {
        if (strcmp(text, s_level_names[i]) == 0) {
            *out = (enum hb_log_level)i;
            return 0;
        }
    }
    return HB_EINVAL;
}

static void s_vlog(enum hb_log_level level, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s[%d] %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(tv.tv_usec / 1000), s_component, (int)getpid(),
                     s_level_names[level]);
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* Truncated: keep the line whole. */
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* Nothing useful to do when stderr is gone. */
}

void hb_log(enum hb_log_level level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, fmt, ap);
    va_end(ap);
}

void hb_log_once(const char *key, enum hb_log_level level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    int first = 1;
    pthread_mutex_lock(&s_once_lock);
    for (int i = 0; i < s_once_count; i++) {
        if (strncmp(s_once_keys[i], key, LOG_ONCE_KEY_MAX - 1) == 0) {
            first = 0;
            break;
        }
    }
    if (first) {
        if (s_once_count < LOG_ONCE_KEYS) {
            snprintf(s_once_keys[s_once_count++], LOG_ONCE_KEY_MAX, "%s", key);
        } else {
            time_t now = time(NULL);
            first = now != s_once_overflow_last;
            s_once_overflow_last = now;
        }
    }
    pthread_mutex_unlock(&s_once_lock);
    if (!first)
        return;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, fmt, ap);
    va_end(ap);
}
