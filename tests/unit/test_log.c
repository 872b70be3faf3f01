/* Unit tests of common/base/log.c: what really reaches file descriptor 2. Each
 * test puts a temporary file on fd 2, logs, puts the old stderr back and only
 * then checks the lines, so a failing assertion is never written into the
 * capture. Expected lines are built here from the records logged, not read
 * back from the logger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include "hallbus/log.h"
#include "hallbus/time.h"

#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LINES 64

/* ---- capturing fd 2 */

typedef struct {
    int saved; /* the real stderr */
    int fd;    /* the capture file, unlinked at once */
} capture_t;

static void s_capture_begin(capture_t *c)
{
    char path[] = "/tmp/test_log.XXXXXX";
    c->fd = mkstemp(path);
    assert_true(c->fd >= 0);
    unlink(path);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_true(dup2(c->fd, STDERR_FILENO) == STDERR_FILENO);
}

/* Restores stderr and returns what was written (caller frees). */
static char *s_capture_end(capture_t *c)
{
    assert_true(dup2(c->saved, STDERR_FILENO) == STDERR_FILENO);
    close(c->saved);
    off_t size = lseek(c->fd, 0, SEEK_END);
    assert_true(size >= 0);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_true(pread(c->fd, text, (size_t)size, 0) == size);
    text[size] = '\0';
    close(c->fd);
    return text;
}

/* Splits `text` in place into at most MAX_LINES lines; every line must end
 * with '\n' (a record is never written in pieces). */
static size_t s_lines(char *text, char *lines[MAX_LINES])
{
    size_t n = 0;
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(n < MAX_LINES);
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

static bool s_ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* "<timestamp> test_log[<pid>] <level>: <rest>", the format before journald
 * support and without it: the timestamp must also be now, give or take. */
static void s_assert_plain_line(const char *line, const char *level, const char *rest)
{
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z) "
                             "test_log\\[([0-9]+)\\] ([a-z]+): (.*)$",
                             REG_EXTENDED),
                     0);
    regmatch_t m[5];
    int rc = regexec(&re, line, 5, m, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("not a log line: '%s'", line);
    char ts[40];
    snprintf(ts, sizeof ts, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
    int64_t at = 0;
    assert_int_equal(hb_time_parse(ts, &at), 0);
    int64_t now = hb_now_ms();
    assert_true(at <= now && at > now - 60000);
    assert_int_equal(strtol(line + m[2].rm_so, NULL, 10), (long)getpid());
    assert_int_equal(m[3].rm_eo - m[3].rm_so, (regoff_t)strlen(level));
    assert_memory_equal(line + m[3].rm_so, level, strlen(level));
    assert_string_equal(line + m[4].rm_so, rest);
}

static bool s_has_iso_timestamp(const char *line)
{
    regex_t re;
    assert_int_equal(regcomp(&re, "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}", REG_EXTENDED), 0);
    int rc = regexec(&re, line, 0, NULL, 0);
    regfree(&re);
    return rc == 0;
}

/* One line expected in plain format: its level and what follows it. */
typedef struct {
    const char *level, *rest;
} plain_t;

/* Checks that `out` holds exactly the `n` plain lines of `want`, in that
 * order, then frees it. */
static void s_expect_plain(char *out, size_t n, const plain_t *want)
{
    char *lines[MAX_LINES];
    assert_int_equal(s_lines(out, lines), n);
    for (size_t i = 0; i < n; i++)
        s_assert_plain_line(lines[i], want[i].level, want[i].rest);
    free(out);
}

/* Waits `wait_ms` (0: not at all), flushes what is due and returns the
 * capture, as s_capture_end. */
static char *s_end(capture_t *c, int wait_ms)
{
    if (wait_ms)
        usleep((useconds_t)wait_ms * 1000);
    hb_log_flush();
    return s_capture_end(c);
}

/* Checks `n` plain lines at `level` that say before + i + after, for i
 * from 0, as a loop of records numbered so logs them. */
static void s_assert_numbered(char **lines, int n, const char *level, const char *before,
                              const char *after)
{
    for (int i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "%s%d%s", before, i, after);
        s_assert_plain_line(lines[i], level, want);
    }
}

/* Sets the fold window and starts capturing fd 2. */
static capture_t s_begin(int64_t window_ms)
{
    hb_log_set_fold_window_ms(window_ms);
    capture_t c;
    s_capture_begin(&c);
    return c;
}

/* Every test starts from an empty fold table: folding off closes whatever a
 * previous test left open (written to the real stderr, not captured). */
static int setup(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    hb_log_init("test_log", HB_LOG_DEBUG);
    hb_log_set_fold_window_ms(0);
    hb_log_flush();
    return 0;
}

/* Closes what the test left open into a capture thrown away, so that the
 * test's output stays readable. */
static int teardown(void **state)
{
    (void)state;
    capture_t c;
    s_capture_begin(&c);
    hb_log_set_fold_window_ms(0);
    hb_log_flush();
    free(s_capture_end(&c));
    hb_log_set_fold_window_ms(5000);
    return 0;
}

/* ---- folding */

#define HBT_FIXTURE setup, teardown

HBT_TEST(test_flood_folds_to_one_line_then_a_summary)
{
    (void)state;
    capture_t c = s_begin(300);
    for (int i = 0; i < 49; i++)
        hb_error("writer: %s", "MDB_MAP_FULL");
    char *during = s_capture_end(&c);

    s_capture_begin(&c);
    usleep(350 * 1000);
    hb_log_flush();
    hb_log_flush(); /* a second flush has nothing left to say */
    char *after = s_capture_end(&c);

    s_expect_plain(during, 1, (const plain_t[]){{"error", "writer: MDB_MAP_FULL"}});
    s_expect_plain(
        after, 1, (const plain_t[]){{"error", "repeated 48 times in 0.3 s: writer: MDB_MAP_FULL"}});
}

/* Records logged one way, the lines expected: one row each, run by
 * test_fold_table from a fresh fold table. */
static void s_log_late_repeat(void)
{
    hb_warn("disk full");
    hb_warn("disk full");
    hb_warn("disk full");
    usleep(250 * 1000);
    /* No flush: the next record closes the window before it is written. */
    hb_warn("disk full");
    hb_warn("disk full");
    usleep(250 * 1000);
    hb_info("once only");
    /* "once only" is not repeated: no summary for it when flushed. */
}

static void s_log_interleaved(void)
{
    for (int i = 0; i < 10; i++) {
        hb_error("hall %s refused: disk full", "h-001");
        hb_error("hall %s refused: disk full", "h-002");
    }
}

static void s_log_levels_below(void)
{
    hb_log_init("test_log", HB_LOG_WARN);
    for (int i = 0; i < 5; i++) {
        hb_info("chatty");
        hb_debug("chattier");
    }
    hb_log_once("quiet-key", HB_LOG_INFO, "chatty");
    hb_warn("loud");
    hb_warn("loud");
    /* Raised: "chatty" is new, the five above were never counted. */
    hb_log_init("test_log", HB_LOG_INFO);
    hb_info("chatty");
}

static void s_log_once_thrice(void)
{
    for (int i = 0; i < 3; i++) {
        hb_log_once("test-once-key", HB_LOG_WARN, "bad frame from %s", "h-9");
        usleep(150 * 1000); /* past the fold window: only once-ness holds it back */
    }
}

static void s_log_five_same(void)
{
    for (int i = 0; i < 5; i++)
        hb_error("each one");
}

static const struct {
    const char *name;
    int64_t window_ms;
    void (*log)(void);
    int wait_ms; /* before the flush */
    size_t n;
    plain_t want[5];
} s_folds[] = {
    {"a summary precedes the next line and a late repeat is written",
     200,
     s_log_late_repeat,
     250,
     5,
     {{"warn", "disk full"},
      {"warn", "repeated 2 times in 0.2 s: disk full"},
      {"warn", "disk full"},
      {"warn", "repeated 1 times in 0.2 s: disk full"},
      {"info", "once only"}}},
    /* Summaries in the order their messages first came. */
    {"interleaved repeats fold both",
     250,
     s_log_interleaved,
     300,
     4,
     {{"error", "hall h-001 refused: disk full"},
      {"error", "hall h-002 refused: disk full"},
      {"error", "repeated 9 times in 0.25 s: hall h-001 refused: disk full"},
      {"error", "repeated 9 times in 0.25 s: hall h-002 refused: disk full"}}},
    {"levels below are neither written nor counted",
     200,
     s_log_levels_below,
     250,
     3,
     {{"warn", "loud"}, {"info", "chatty"}, {"warn", "repeated 1 times in 0.2 s: loud"}}},
    {"hb_log_once logs a key once", 100, s_log_once_thrice, 0, 1, {{"warn", "bad frame from h-9"}}},
    {"folding off writes every record",
     0,
     s_log_five_same,
     0,
     5,
     {{"error", "each one"},
      {"error", "each one"},
      {"error", "each one"},
      {"error", "each one"},
      {"error", "each one"}}},
};

HBT_TEST(test_fold_table)
{
    for (size_t i = 0; i < sizeof s_folds / sizeof s_folds[0]; i++) {
        print_message("%s\n", s_folds[i].name);
        setup(state);
        capture_t c = s_begin(s_folds[i].window_ms);
        s_folds[i].log();
        s_expect_plain(s_end(&c, s_folds[i].wait_ms), s_folds[i].n, s_folds[i].want);
        teardown(state);
    }
}

HBT_TEST(test_different_messages_are_all_written)
{
    (void)state;
    capture_t c = s_begin(5000);
    /* More distinct messages than the table has slots. */
    for (int i = 0; i < 40; i++)
        hb_info("request %d refused", i);
    /* The same text at another level is another record. */
    hb_error("same text");
    hb_warn("same text");
    /* The timestamp aside, identical records fold however far apart in the
     * format string their arguments come from. */
    hb_info("a%s", "bc");
    hb_info("ab%s", "c");
    char *out = s_capture_end(&c);

    char *lines[MAX_LINES];
    assert_int_equal(s_lines(out, lines), 43);
    s_assert_numbered(lines, 40, "info", "request ", " refused");
    s_assert_plain_line(lines[40], "error", "same text");
    s_assert_plain_line(lines[41], "warn", "same text");
    s_assert_plain_line(lines[42], "info", "abc");
    free(out);
}

HBT_TEST(test_a_full_table_evicts_with_its_count)
{
    (void)state;
    capture_t c = s_begin(60000);
    for (int i = 0; i < 5; i++)
        hb_error("flood");
    /* Sixteen others fill the table; the next one evicts "flood", the least
     * recently seen, which says its count instead of losing it. */
    for (int i = 0; i < 16; i++)
        hb_info("other %d", i);
    char *out = s_capture_end(&c);

    char *lines[MAX_LINES];
    size_t n = s_lines(out, lines);
    assert_int_equal(n, 1 + 15 + 1 + 1);
    s_assert_plain_line(lines[0], "error", "flood");
    s_assert_numbered(lines + 1, 15, "info", "other ", "");
    assert_true(strstr(lines[16], " error: repeated 4 times in ") != NULL);
    assert_true(s_ends_with(lines[16], " s: flood"));
    s_assert_plain_line(lines[17], "info", "other 15");
    free(out);
}

HBT_TEST(test_long_lines_stay_whole)
{
    (void)state;
    hb_log_set_fold_window_ms(5000);
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    capture_t c;
    s_capture_begin(&c);
    hb_error("%s", big);
    hb_error("%s", big);
    hb_log_set_fold_window_ms(0);
    char *out = s_end(&c, 0);
    free(big);

    /* Cut to the line limit (2047 bytes with the newline, as before), newline
     * kept, and the summary as well. */
    char *lines[MAX_LINES];
    assert_int_equal(s_lines(out, lines), 2);
    assert_int_equal(strlen(lines[0]), 2046);
    assert_int_equal(strlen(lines[1]), 2046);
    assert_non_null(strstr(lines[1], " error: repeated 1 times in "));
    free(out);
}

HBT_TEST(test_exit_writes_open_windows_and_a_child_not_its_parents)
{
    (void)state;
    capture_t c = s_begin(60000);
    hb_error("parent's flood");
    hb_error("parent's flood");
    pid_t pid = fork();
    if (pid == 0) {
        /* The child's table starts empty: the parent's repeat is not its to
         * say. Its own open window is written by exit(). */
        hb_error("child's flood");
        hb_error("child's flood");
        hb_error("child's flood");
        exit(0);
    }
    int status = 0;
    pid_t waited = waitpid(pid, &status, 0);
    char *out = s_capture_end(&c);

    assert_int_equal(waited, pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *lines[MAX_LINES];
    assert_int_equal(s_lines(out, lines), 3);
    s_assert_plain_line(lines[0], "error", "parent's flood");
    char want[64];
    snprintf(want, sizeof want, "test_log[%d] error: child's flood", (int)pid);
    assert_true(s_ends_with(lines[1], want));
    snprintf(want, sizeof want, "test_log[%d] error: repeated 2 times in ", (int)pid);
    assert_non_null(strstr(lines[2], want));
    assert_true(s_ends_with(lines[2], " s: child's flood"));
    free(out);
}

/* ---- the journal */

HBT_TEST(test_journal_prefix_and_no_timestamp)
{
    (void)state;
    capture_t c = s_begin(200);
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char env[64];
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", env, 1);
    hb_log_init("test_log", HB_LOG_DEBUG);
    hb_error("map full");
    hb_error("map full");
    hb_warn("slow disk");
    hb_info("hall up");
    hb_debug("detail");
    usleep(250 * 1000);
    hb_log_flush();
    /* Back to a terminal or a file: the old format, decided at init. */
    unsetenv("JOURNAL_STREAM");
    hb_log_init("test_log", HB_LOG_DEBUG);
    hb_info("plain again");
    /* A JOURNAL_STREAM that names another file (inherited by a child whose
     * stderr was redirected), or that is not "dev:ino", is not the journal. */
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", env, 1);
    hb_log_init("test_log", HB_LOG_DEBUG);
    hb_info("not the journal");
    setenv("JOURNAL_STREAM", "garbage", 1);
    hb_log_init("test_log", HB_LOG_DEBUG);
    hb_info("still not");
    unsetenv("JOURNAL_STREAM");
    hb_log_init("test_log", HB_LOG_DEBUG);
    char *out = s_capture_end(&c);

    char *lines[MAX_LINES];
    assert_int_equal(s_lines(out, lines), 8);
    char want[128];
    const char *const journal[][2] = {
        {"<3>", "error: map full"},
        {"<4>", "warn: slow disk"},
        {"<6>", "info: hall up"},
        {"<7>", "debug: detail"},
        {"<3>", "error: repeated 1 times in 0.2 s: map full"},
    };
    for (size_t i = 0; i < 5; i++) {
        snprintf(want, sizeof want, "%stest_log[%d] %s", journal[i][0], (int)getpid(),
                 journal[i][1]);
        assert_string_equal(lines[i], want);
        assert_false(s_has_iso_timestamp(lines[i]));
    }
    s_assert_plain_line(lines[5], "info", "plain again");
    s_assert_plain_line(lines[6], "info", "not the journal");
    s_assert_plain_line(lines[7], "info", "still not");
    free(out);
}

/* ---- threads */

#define THREADS 8
#define PER_THREAD 10000

typedef struct {
    const char *text;
    int n;
} writer_arg_t;

static void *s_writer(void *p)
{
    const writer_arg_t *a = p;
    for (int i = 0; i < a->n; i++)
        hb_error("%s", a->text);
    return NULL;
}

/* Counts, in `out`, the records of `text` at level error: lines written as
 * such plus the repeats their summaries say. Every line must be whole. */
static uint64_t s_count_records(char *out, const char *text, uint64_t *written, uint64_t *folded)
{
    char plain[128], marker[] = " error: repeated ";
    snprintf(plain, sizeof plain, " error: %s", text);
    char tail[128];
    snprintf(tail, sizeof tail, " s: %s", text);
    *written = *folded = 0;
    char *p = out;
    while (*p) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        assert_true(p[0] >= '0' && p[0] <= '9'); /* a timestamp, not a torn line */
        char *rep = strstr(p, marker);
        if (rep && s_ends_with(p, tail)) {
            char *end = NULL;
            unsigned long long k = strtoull(rep + strlen(marker), &end, 10);
            assert_true(k > 0);
            assert_true(strncmp(end, " times in ", 10) == 0);
            *folded += k;
        } else if (s_ends_with(p, plain)) {
            (*written)++;
        }
        p = nl + 1;
    }
    return *written + *folded;
}

HBT_TEST(test_threads_lose_and_double_nothing)
{
    (void)state;
    /* A short window, so that windows close and reopen while the threads
     * run: the counts must hold across every boundary. */
    capture_t c = s_begin(1);
    pthread_t t[THREADS];
    writer_arg_t same = {.text = "concurrent line", .n = PER_THREAD};
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, s_writer, &same), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *out = s_end(&c, 20);
    uint64_t written, folded;
    uint64_t total = s_count_records(out, "concurrent line", &written, &folded);
    print_message("%d records: %" PRIu64 " lines written, %" PRIu64 " folded\n",
                  THREADS * PER_THREAD, written, folded);
    assert_int_equal(total, (uint64_t)THREADS * PER_THREAD);
    assert_true(written >= 1);
    free(out);
}

HBT_TEST(test_two_threads_interleaving_fold_both)
{
    (void)state;
    capture_t c = s_begin(60000);
    pthread_t ta, tb;
    writer_arg_t a = {.text = "from thread a", .n = 1000};
    writer_arg_t b = {.text = "from thread b", .n = 1000};
    assert_int_equal(pthread_create(&ta, NULL, s_writer, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, s_writer, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    hb_log_flush(); /* the windows are still open: nothing yet */
    char *open = s_capture_end(&c);
    s_capture_begin(&c);
    hb_log_set_fold_window_ms(0); /* closes them */
    hb_log_flush();
    char *closed = s_capture_end(&c);

    char *lines[MAX_LINES];
    char *both = NULL;
    assert_true(asprintf(&both, "%s%s", open, closed) > 0);
    assert_int_equal(s_lines(open, lines), 2);
    assert_int_equal(s_lines(closed, lines), 2);
    uint64_t written, folded;
    char *copy = strdup(both);
    assert_int_equal(s_count_records(copy, "from thread a", &written, &folded), 1000);
    assert_int_equal(written, 1);
    assert_int_equal(folded, 999);
    free(copy);
    assert_int_equal(s_count_records(both, "from thread b", &written, &folded), 1000);
    assert_int_equal(written, 1);
    assert_int_equal(folded, 999);
    free(both);
    free(open);
    free(closed);
}
