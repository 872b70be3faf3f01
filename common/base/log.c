/* Line-oriented logging to stderr, with repeats folded. Each line is
 * formatted into one buffer and written with a single write(2), under the
 * one lock, so that lines from threads and processes sharing a log file never
 * interleave and a summary is never overtaken by the lines that follow it.
 *
 * Folding keeps a small fixed table of the distinct messages seen recently
 * (level, hash and a copy of the text); it is not a rate limiter for distinct
 * messages, which are all written. */
#include "hallbus/log.h"
#include "hallbus/error.h"
#include "hallbus/idmap.h"
#include "hallbus/time.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048
#define LOG_TEXT_MAX LOG_LINE_MAX /* a message longer than a line is cut anyway */
#define LOG_ONCE_KEYS 256
#define LOG_ONCE_KEY_MAX 64
#define LOG_FOLD_SLOTS 16
#define LOG_FOLD_WINDOW_MS 5000

/* One distinct message being followed: its window opened at `first_ms`
 * (monotonic) with the written occurrence; `repeats` were counted since. */
typedef struct {
    bool used;
    enum hb_log_level level;
    uint64_t hash;
    int64_t first_ms;
    int64_t last_ms; /* last seen, to evict the least recent when full */
    uint64_t repeats;
    char text[LOG_TEXT_MAX];
} log_fold_t;

/* s_level is read before the lock so that filtered records cost nothing;
 * everything else below is guarded by s_lock. */
static atomic_int s_level = HB_LOG_INFO;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_component[32] = "hallbus";
static bool s_journal;
static int64_t s_window_ms = LOG_FOLD_WINDOW_MS;
static log_fold_t s_fold[LOG_FOLD_SLOTS];
static pid_t s_fold_pid; /* the process whose counts s_fold holds */
static pthread_once_t s_atexit_once = PTHREAD_ONCE_INIT;

static pthread_mutex_t s_once_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_once_keys[LOG_ONCE_KEYS][LOG_ONCE_KEY_MAX];
static int s_once_count;
static time_t s_once_overflow_last;

static const char *const s_level_names[] = {"error", "warn", "info", "debug"};
/* sd-daemon(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const char *const s_level_prefixes[] = {"<3>", "<4>", "<6>", "<7>"};

/* True when JOURNAL_STREAM ("<device>:<inode>") names our fd 2. systemd sets
 * it for a service whose stderr is the journal; a child that inherits the
 * variable with stderr sent to a file must keep its timestamps. */
static bool s_stderr_is_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    if (!env || !*env)
        return false;
    char *end = NULL;
    unsigned long long dev = strtoull(env, &end, 10);
    if (end == env || *end != ':')
        return false;
    const char *ino_text = end + 1;
    unsigned long long ino = strtoull(ino_text, &end, 10);
    if (end == ino_text || *end != '\0')
        return false;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void s_write_pending_at_exit(void);

static void s_register_atexit(void) { atexit(s_write_pending_at_exit); }

void hb_log_init(const char *component, enum hb_log_level level)
{
    bool journal = s_stderr_is_journal();
    pthread_mutex_lock(&s_lock);
    snprintf(s_component, sizeof s_component, "%s", component ? component : "hallbus");
    s_journal = journal;
    pthread_mutex_unlock(&s_lock);
    atomic_store_explicit(&s_level, (int)level, memory_order_relaxed);
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

void hb_log_set_fold_window_ms(int64_t ms)
{
    assert(ms >= 0);
    pthread_mutex_lock(&s_lock);
    s_window_ms = ms < 0 ? 0 : ms;
    pthread_mutex_unlock(&s_lock);
}

/* Writes one line: the prefix (priority for the journal, else the UTC
 * timestamp), component, pid, level, then `head` and `text`. Caller holds
 * s_lock. */
static void s_write_locked(enum hb_log_level level, const char *head, const char *text)
{
    char line[LOG_LINE_MAX];
    int n;
    if (s_journal) {
        n = snprintf(line, sizeof line, "%s%s[%d] %s: %s", s_level_prefixes[level], s_component,
                     (int)getpid(), s_level_names[level], head);
    } else {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s[%d] %s: %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), s_component, (int)getpid(), s_level_names[level],
                     head);
    }
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 1;
    int m = snprintf(line + len, sizeof line - len, "%s", text);
    len += m < 0 ? 0 : (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* Truncated: keep the line whole. */
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* Nothing useful to do when stderr is gone. */
}

/* Writes the summary of `f` if it counted anything, and frees the slot. The
 * span said is the window's length, or less when the window is cut short
 * (eviction, exit, folding turned off). Caller holds s_lock. */
static void s_fold_close_locked(log_fold_t *f, int64_t now)
{
    if (f->repeats > 0) {
        int64_t span = now - f->first_ms;
        if (span > s_window_ms && s_window_ms > 0)
            span = s_window_ms;
        if (span < 0)
            span = 0;
        /* Seconds with the fraction only as long as it needs: "5", "0.2". */
        char secs[32];
        int64_t frac = span % 1000;
        if (frac == 0)
            snprintf(secs, sizeof secs, "%" PRId64, span / 1000);
        else if (frac % 100 == 0)
            snprintf(secs, sizeof secs, "%" PRId64 ".%" PRId64, span / 1000, frac / 100);
        else if (frac % 10 == 0)
            snprintf(secs, sizeof secs, "%" PRId64 ".%02" PRId64, span / 1000, frac / 10);
        else
            snprintf(secs, sizeof secs, "%" PRId64 ".%03" PRId64, span / 1000, frac);
        char head[96];
        snprintf(head, sizeof head, "repeated %" PRIu64 " times in %s s: ", f->repeats, secs);
        s_write_locked(f->level, head, f->text);
    }
    f->used = false;
}

/* Closes the windows that have ended by `now`, or all of them (`all`), oldest
 * first so that summaries come out in the order their messages did. */
static void s_fold_reap_locked(int64_t now, bool all)
{
    for (;;) {
        log_fold_t *oldest = NULL;
        for (int i = 0; i < LOG_FOLD_SLOTS; i++) {
            log_fold_t *f = &s_fold[i];
            if (!f->used || (!all && now - f->first_ms < s_window_ms))
                continue;
            if (!oldest || f->first_ms < oldest->first_ms)
                oldest = f;
        }
        if (!oldest)
            return;
        s_fold_close_locked(oldest, now);
    }
}

/* A forked child inherits the parent's counts; they are the parent's to
 * write, so the child starts with an empty table. */
static void s_fold_own_locked(void)
{
    pid_t pid = getpid();
    if (pid == s_fold_pid)
        return;
    memset(s_fold, 0, sizeof s_fold);
    s_fold_pid = pid;
}

/* Counts `text` against its open window and returns true, or takes a slot
 * for it and returns false (the caller then writes it). */
static bool s_fold_count_locked(enum hb_log_level level, const char *text, int64_t now)
{
    /* Cheap, and only a first filter before the texts are compared. */
    uint64_t h = hb_hash_str(text, (uint64_t)level);
    log_fold_t *victim = NULL;
    for (int i = 0; i < LOG_FOLD_SLOTS; i++) {
        log_fold_t *f = &s_fold[i];
        if (!f->used) {
            if (!victim || victim->used)
                victim = f;
            continue;
        }
        if (f->hash == h && f->level == level && strcmp(f->text, text) == 0) {
            f->repeats++;
            f->last_ms = now;
            return true;
        }
        if (!victim || (victim->used && f->last_ms < victim->last_ms))
            victim = f;
    }
    if (victim->used)
        s_fold_close_locked(victim, now);
    victim->used = true;
    victim->level = level;
    victim->hash = h;
    victim->first_ms = now;
    victim->last_ms = now;
    victim->repeats = 0;
    snprintf(victim->text, sizeof victim->text, "%s", text);
    return false;
}

static void s_vlog(enum hb_log_level level, const char *fmt, va_list ap)
{
    /* Formatted before the lock: callers' arguments can be slow to print. */
    char text[LOG_TEXT_MAX];
    if (vsnprintf(text, sizeof text, fmt, ap) < 0)
        text[0] = '\0';
    pthread_once(&s_atexit_once, s_register_atexit);
    pthread_mutex_lock(&s_lock);
    s_fold_own_locked();
    int64_t now = hb_mono_ms();
    s_fold_reap_locked(now, false);
    bool counted = s_window_ms > 0 && s_fold_count_locked(level, text, now);
    if (!counted)
        s_write_locked(level, "", text);
    pthread_mutex_unlock(&s_lock);
}

void hb_log(enum hb_log_level level, const char *fmt, ...)
{
    if ((int)level > atomic_load_explicit(&s_level, memory_order_relaxed))
        return;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, fmt, ap);
    va_end(ap);
}

void hb_log_flush(void)
{
    pthread_mutex_lock(&s_lock);
    s_fold_own_locked();
    s_fold_reap_locked(hb_mono_ms(), false);
    pthread_mutex_unlock(&s_lock);
}

/* Registered by the first record: a process that ends inside a window still
 * says how often its last messages repeated. exit() must not hang on a thread
 * stuck writing to a stderr nobody reads, so the lock is only tried for a
 * while; the counts are lost if it never comes free. */
static void s_write_pending_at_exit(void)
{
    int tries = 0;
    while (pthread_mutex_trylock(&s_lock) != 0) {
        if (++tries > 50)
            return;
        usleep(2000);
    }
    s_fold_own_locked();
    s_fold_reap_locked(hb_mono_ms(), true);
    pthread_mutex_unlock(&s_lock);
}

void hb_log_once(const char *key, enum hb_log_level level, const char *fmt, ...)
{
    if ((int)level > atomic_load_explicit(&s_level, memory_order_relaxed))
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
