/* Unit tests of common/base/config.c: one table with every setting type, the
 * file format, the command line over the file, every refusal, SIGHUP
 * reloads (reloadable settings only, all or nothing) and --help; a row that
 * may not exceed another (at_most), lists, and a tool's command line (flags,
 * positional arguments, a command's options, the environment, custom
 * values, --help and --version) with every refusal; the rows the shared
 * macros write (a tool's option, the daemons' config, log level and LMDB
 * map). */
#include "hallbus/config.h"
#include "hallbus/daemon.h"
#include "hallbus/error.h"
#include "hallbus/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define assert_loaded(f, rc)                                                                       \
    do {                                                                                           \
        if ((rc) != 0)                                                                             \
            fail_msg("refused: %s", (f)->err);                                                     \
    } while (0)

typedef struct cfg {
    char *config;
    char *name;
    char *label;
    int64_t window;
    int64_t offset;
    bool verbose;
    uint64_t map;
    int64_t timeout_ms;
    int64_t port;
} cfg_t;

#define ROW(...) HB_CONF_ROW(cfg_t, __VA_ARGS__)

static const hb_config_def_t s_defs[] = {
    ROW("config", HB_CONF_STRING, config, NULL, 0, 0, false, "config file"),
    ROW("name", HB_CONF_STRING, name, NULL, 0, 0, false, "the hall's name"),
    ROW("label", HB_CONF_STRING, label, "hall", 0, 0, true, "a label"),
    ROW("window", HB_CONF_INT, window, "4096", 1, 1000000, false, "events in flight"),
    ROW("offset", HB_CONF_INT, offset, "-5", -100, 100, true, "a signed number"),
    ROW("verbose", HB_CONF_BOOL, verbose, "false", 0, 0, true, "say more"),
    ROW("map", HB_CONF_SIZE, map, "64M", 64 << 10, 1LL << 40, false, "map size"),
    ROW("timeout", HB_CONF_DURATION, timeout_ms, "5s", 100, 3600000, true, "a timeout"),
    ROW("port", HB_CONF_INT, port, NULL, 1, 65535, false, "a port"),
};
#define NDEFS (sizeof s_defs / sizeof s_defs[0])

typedef struct fixture {
    char dir[64];
    char path[128];
    cfg_t cfg;
    char err[512];
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/hb_test_config.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/test.conf", f->dir);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    hb_config_free(s_defs, NDEFS, &f->cfg);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void s_write(fixture_t *f, const char *text)
{
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* hb_config_load with a NULL-terminated argument list after the program name. */
static int s_load(fixture_t *f, FILE *out, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "/usr/sbin/testd";
    va_list ap;
    va_start(ap, out);
    for (char *a = va_arg(ap, char *); a; a = va_arg(ap, char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    f->err[0] = '\0';
    hb_config_free(s_defs, NDEFS, &f->cfg);
    return hb_config_load(s_defs, NDEFS, &f->cfg, argc, argv, out, f->err, sizeof f->err);
}

static void s_expect_file_error(fixture_t *f, const char *text, const char *want)
{
    s_write(f, text);
    int rc = s_load(f, NULL, "--config", f->path, "--name", "n", "--port", "1", NULL);
    if (rc != HB_EINVAL)
        fail_msg("expected a refusal with \"%s\" for:\n%s", want, text);
    hbt_assert_contains(f->err, want);
    /* Nothing half-loaded stays behind. */
    assert_null(f->cfg.name);
    assert_null(f->cfg.label);
    assert_null(f->cfg.config);
}

/* Writes `text` as the config file and reloads it: the code. */
static int s_reload(fixture_t *f, const char *text)
{
    s_write(f, text);
    return hb_config_reload(s_defs, NDEFS, &f->cfg, f->path, f->err, sizeof f->err);
}

/* What --help or --version printed, caught in memory. */
typedef struct {
    char *text;
    size_t size;
    FILE *out;
} memout_t;

/* Starts catching: the stream to print into. */
static FILE *s_mem(memout_t *m)
{
    m->text = NULL;
    m->size = 0;
    m->out = open_memstream(&m->text, &m->size);
    assert_non_null(m->out);
    return m->out;
}

/* Ends catching and returns the text (the caller frees it). */
static char *s_mem_text(memout_t *m)
{
    fclose(m->out);
    assert_non_null(m->text);
    return m->text;
}

/* Ends catching and checks that the text has each of the NULL-terminated
 * `wants`. */
static void s_mem_expect(memout_t *m, const char *const *wants)
{
    char *text = s_mem_text(m);
    for (size_t i = 0; wants[i]; i++)
        hbt_assert_contains(text, wants[i]);
    free(text);
}

/* Checks every setting of `got` against `want` (a NULL string: unset). */
static void s_expect_cfg(const cfg_t *got, const cfg_t *want)
{
    const char *const strs[][3] = {{"config", got->config, want->config},
                                   {"name", got->name, want->name},
                                   {"label", got->label, want->label}};
    for (size_t i = 0; i < 3; i++)
        if (strs[i][2] ? !strs[i][1] || strcmp(strs[i][1], strs[i][2]) != 0 : strs[i][1] != NULL)
            fail_msg("%s is \"%s\", wanted \"%s\"", strs[i][0], strs[i][1] ? strs[i][1] : "(unset)",
                     strs[i][2] ? strs[i][2] : "(unset)");
    const int64_t nums[][2] = {
        {got->window, want->window},         {got->offset, want->offset},
        {got->verbose, want->verbose},       {(int64_t)got->map, (int64_t)want->map},
        {got->timeout_ms, want->timeout_ms}, {got->port, want->port}};
    static const char *const names[] = {"window", "offset", "verbose", "map", "timeout", "port"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (nums[i][0] != nums[i][1])
            fail_msg("%s is %lld, wanted %lld", names[i], (long long)nums[i][0],
                     (long long)nums[i][1]);
}

/* ------------------------------------------------------------- loading */

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_defaults)
{
    fixture_t *f = *state;
    assert_int_equal(s_load(f, NULL, "--name", "Hall 7", "--port=7400", NULL), 0);
    /* config, name, label, window, offset, verbose, map, timeout, port */
    const cfg_t want = {NULL, "Hall 7", "hall", 4096, -5, false, 64ULL << 20, 5000, 7400};
    s_expect_cfg(&f->cfg, &want);
}

HBT_TEST(test_file_format)
{
    fixture_t *f = *state;
    s_write(f, "# hallbus test config\n"
               "\n"
               "   # indented comment\n"
               "name = plain words here   # trailing comment\n"
               "label=\"quoted # not a comment \\\"and\\\" \\\\ kept  \"  # comment\r\n"
               "window\t=\t12\n"
               "offset = -100\n"
               "verbose = Yes\n"
               "map = 1g\n"
               "timeout = 1h\n"
               "port = 80\n"
               "port = 8080\n" /* duplicated: the last line wins */
               "window = 13"); /* no newline at the end */
    assert_loaded(f, s_load(f, NULL, "--config", f->path, NULL));
    const cfg_t want = {f->path,
                        "plain words here",
                        "quoted # not a comment \"and\" \\ kept  ",
                        13,
                        -100,
                        true,
                        1ULL << 30,
                        3600000,
                        8080};
    s_expect_cfg(&f->cfg, &want);
}

HBT_TEST(test_units)
{
    fixture_t *f = *state;
    static const struct {
        const char *text;
        uint64_t bytes;
    } sizes[] = {{"65536", 65536},   {"64K", 64 << 10},  {"64KiB", 64 << 10}, {"16M", 16 << 20},
                 {"16mb", 16 << 20}, {"2G", 2ULL << 30}, {"1T", 1ULL << 40},  {"100 K", 100 << 10}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(
            hb_config_set(s_defs, NDEFS, &f->cfg, "map", sizes[i].text, f->err, sizeof f->err), 0);
        assert_int_equal(f->cfg.map, sizes[i].bytes);
    }
    static const struct {
        const char *text;
        int64_t ms;
    } durations[] = {
        {"100ms", 100}, {"30s", 30000}, {"5m", 300000}, {"1h", 3600000}, {"1500ms", 1500}};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        assert_int_equal(hb_config_set(s_defs, NDEFS, &f->cfg, "timeout", durations[i].text, f->err,
                                       sizeof f->err),
                         0);
        assert_int_equal(f->cfg.timeout_ms, durations[i].ms);
    }
    static const char *const yes[] = {"true", "yes", "on", "1", "TRUE", "On"};
    static const char *const no[] = {"false", "no", "off", "0", "False", "NO"};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(
            hb_config_set(s_defs, NDEFS, &f->cfg, "verbose", yes[i], f->err, sizeof f->err), 0);
        assert_true(f->cfg.verbose);
        assert_int_equal(
            hb_config_set(s_defs, NDEFS, &f->cfg, "verbose", no[i], f->err, sizeof f->err), 0);
        assert_false(f->cfg.verbose);
    }
    assert_int_equal(hb_config_set(s_defs, NDEFS, &f->cfg, "label", "x", f->err, sizeof f->err), 0);
    assert_string_equal(f->cfg.label, "x");
    assert_int_equal(hb_config_set(s_defs, NDEFS, &f->cfg, "colour", "red", f->err, sizeof f->err),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "unknown setting 'colour'");
}

HBT_TEST(test_command_line_overrides_file)
{
    fixture_t *f = *state;
    s_write(f, "name = from-file\nwindow = 10\nlabel = file\nport = 1\n");
    char config_arg[160];
    snprintf(config_arg, sizeof config_arg, "--config=%s", f->path);
    /* --config may come after the options it is overridden by. */
    assert_int_equal(
        s_load(f, NULL, "--window", "20", "--label=cli", config_arg, "--window=30", NULL), 0);
    assert_int_equal(f->cfg.window, 30); /* the last on the command line */
    assert_string_equal(f->cfg.label, "cli");
    assert_string_equal(f->cfg.name, "from-file");
    assert_string_equal(f->cfg.config, f->path);
    /* A value may itself start with "--"-less text containing '='. */
    assert_int_equal(s_load(f, NULL, config_arg, "--label", "a=b", NULL), 0);
    assert_string_equal(f->cfg.label, "a=b");
    /* A switch alone is true, last or before another option; with a value
     * it takes the value. */
    assert_int_equal(s_load(f, NULL, config_arg, "--verbose", NULL), 0);
    assert_true(f->cfg.verbose);
    assert_int_equal(s_load(f, NULL, config_arg, "--verbose", "--label", "x", NULL), 0);
    assert_true(f->cfg.verbose);
    assert_string_equal(f->cfg.label, "x");
    assert_int_equal(s_load(f, NULL, config_arg, "--verbose", "no", NULL), 0);
    assert_false(f->cfg.verbose);
}

HBT_TEST(test_required)
{
    fixture_t *f = *state;
    assert_int_equal(s_load(f, NULL, NULL), HB_EINVAL);
    hbt_assert_contains(f->err, "missing required settings: name, port");
    assert_int_equal(s_load(f, NULL, "--name", "x", NULL), HB_EINVAL);
    hbt_assert_contains(f->err, "missing required setting: port");
    assert_null(f->cfg.name);
    /* Given in the file is as good as on the command line, for every type. */
    s_write(f, "port = 9\nname = n\n");
    assert_loaded(f, s_load(f, NULL, "--config", f->path, NULL));
    assert_int_equal(f->cfg.port, 9);
}

/* ------------------------------------------------------------ refusals */

/* A config file's text and a part of the refusal it must meet. */
typedef struct {
    const char *text, *want;
} file_refusal_t;

HBT_TEST(test_file_refusals)
{
    fixture_t *f = *state;
    /* The file, and a part of the refusal's message; one starting with ':'
     * (":LINE: ...") follows the file's name in the message. */
    static const file_refusal_t rows[] = {
        {"# x\nlabel = a\ncolour = red\n", ":3: unknown setting 'colour'"},
        {"config = /etc/other.conf\n", ":1: unknown setting 'config'"},
        {"window = 12abc\n", ":1: window: '12abc' is not a whole number"},
        {"window =\n", "window: '' is not a whole number"},
        {"window = 1.5\n", "window: '1.5' is not a whole number"},
        {"offset = -\n", "offset: '-' is not a whole number"},
        {"window = 99999999999999999999\n",
         "window: 99999999999999999999 is out of bounds (1 to 1000000)"},
        {"window = 0\n", "window: 0 is out of bounds (1 to 1000000)"},
        {"offset = -101\n", "offset: -101 is out of bounds (-100 to 100)"},
        {"map = 64X\n", "map: '64X' is not a size"},
        {"map = -1M\n", "map: '-1M' is not a size"},
        {"map = 2T\n", "map: 2T is out of bounds (64K to 1T)"},
        {"map = 1K\n", "map: 1K is out of bounds (64K to 1T)"},
        {"map = 99999999999T\n", "map: 99999999999T is out of bounds"},
        {"timeout = 30\n", "timeout: '30' is not a duration with a unit"},
        {"timeout = 1.5s\n", "timeout: '1.5s' is not a duration"},
        {"timeout = 5 minutes\n", "timeout: '5 minutes' is not a duration"},
        {"timeout = 5M\n", "timeout: '5M' is not a duration"},
        {"timeout = 2d\n", "timeout: 2d is out of bounds (100ms to 1h)"},
        {"timeout = 50ms\n", "timeout: 50ms is out of bounds (100ms to 1h)"},
        {"verbose = maybe\n", "verbose: 'maybe' is not one of true/false/yes/no/on/off/1/0"},
        {"label = ok\nlabel = \"half open\n", ":2: unterminated quote"},
        {"label = \"a\" b\n", "text after the quoted value"},
        {"just words\n", "expected 'name = value'"},
        {"= value\n", "expected 'name = value'"},
    };
    char where[320];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *want = rows[i].want;
        snprintf(where, sizeof where, "%s%s", want[0] == ':' ? f->path : "", want);
        s_expect_file_error(f, rows[i].text, where);
    }

    /* Lines up to 4096 bytes; no more. */
    char *line = malloc(4200);
    memset(line, 'x', 4200);
    memcpy(line, "label = ", 8);
    line[4096] = '\n';
    line[4097] = '\0';
    s_write(f, line);
    assert_int_equal(s_load(f, NULL, "--config", f->path, "--name", "n", "--port", "1", NULL), 0);
    assert_int_equal(strlen(f->cfg.label), 4096 - 8);
    line[4096] = 'x';
    line[4097] = '\n';
    line[4098] = '\0';
    snprintf(where, sizeof where, "%s:1: line longer than 4096 bytes", f->path);
    s_expect_file_error(f, line, where);
    free(line);

    /* At most 1 MiB of file. */
    FILE *fp = fopen(f->path, "wb");
    for (int i = 0; i < (1 << 20) / 16 + 1; i++)
        fputs("# padding line \n", fp);
    fclose(fp);
    assert_int_equal(s_load(f, NULL, "--config", f->path, "--name", "n", "--port", "1", NULL),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "larger than 1048576 bytes");

    /* A NUL byte is not text. */
    fp = fopen(f->path, "wb");
    fwrite("label = a\0b\n", 1, 12, fp);
    fclose(fp);
    assert_int_equal(s_load(f, NULL, "--config", f->path, "--name", "n", "--port", "1", NULL),
                     HB_EINVAL);
    hbt_assert_contains(f->err, ":1: the line contains a NUL byte");

    /* No such file. */
    assert_int_equal(s_load(f, NULL, "--config", "/nonexistent/x.conf", NULL), HB_EINVAL);
    hbt_assert_contains(f->err, "cannot read config file /nonexistent/x.conf");
    assert_int_equal(s_load(f, NULL, "--config", f->dir, "--name", "n", "--port", "1", NULL),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "cannot read config file");
}

HBT_TEST(test_command_line_refusals)
{
    fixture_t *f = *state;
    static const struct {
        const char *args[4];
        const char *want;
    } cases[] = {
        {{"--colour", "red"}, "unknown option --colour"},
        {{"--colour=red"}, "unknown option --colour"},
        {{"--window", "abc"}, "--window: window: 'abc' is not a whole number"},
        {{"--window=0"}, "--window: window: 0 is out of bounds (1 to 1000000)"},
        {{"--port", "65536"}, "--port: port: 65536 is out of bounds (1 to 65535)"},
        {{"--map", "12Q"}, "--map: map: '12Q' is not a size"},
        {{"--timeout", "soon"}, "--timeout: timeout: 'soon' is not a duration"},
        {{"--verbose", "2"}, "--verbose: verbose: '2' is not one of"},
        {{"--window"}, "--window needs a value"},
        {{"--config"}, "--config needs a value"},
        {{"--config="}, "--config needs a file name"},
        {{"stray"}, "unexpected argument 'stray'"},
        {{"-w", "5"}, "unexpected argument '-w'"},
        {{"--"}, "unexpected argument '--'"},
        {{"--aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
         "unknown option --aaaa"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc =
            s_load(f, NULL, "--name", "n", "--port", "1", cases[i].args[0], cases[i].args[1], NULL);
        if (rc != HB_EINVAL)
            fail_msg("case %zu (%s) was accepted", i, cases[i].want);
        hbt_assert_contains(f->err, cases[i].want);
        assert_null(f->cfg.name);
    }
}

/* ---------------------------------------------------------------- reload */

HBT_TEST(test_reload)
{
    fixture_t *f = *state;
    s_write(f, "name = hall-7\nlabel = first\ntimeout = 30s\n");
    assert_int_equal(
        s_load(f, NULL, "--config", f->path, "--port", "7400", "--timeout", "1s", NULL), 0);
    assert_string_equal(f->cfg.label, "first");
    assert_int_equal(f->cfg.timeout_ms, 1000);

    /* Reloadable settings change; the command line still overrides. */
    assert_int_equal(
        s_reload(f, "name = hall-7\nlabel = second\nverbose = on\noffset = 7\ntimeout = 30s\n"), 0);
    assert_string_equal(f->cfg.label, "second");
    assert_true(f->cfg.verbose);
    assert_int_equal(f->cfg.offset, 7);
    assert_int_equal(f->cfg.timeout_ms, 1000);
    assert_int_equal(f->cfg.port, 7400);
    assert_string_equal(f->cfg.name, "hall-7");

    /* A non-reloadable change refuses the whole reload. */
    assert_int_equal(s_reload(f, "name = hall-8\nwindow = 10\nlabel = third\nverbose = off\n"),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "name, window cannot change while running (restart to apply them)");
    assert_string_equal(f->cfg.label, "second");
    assert_true(f->cfg.verbose);
    assert_int_equal(f->cfg.window, 4096);

    /* A setting removed from the file returns to its default. */
    assert_int_equal(s_reload(f, "name = hall-7\n"), 0);
    assert_string_equal(f->cfg.label, "hall");
    assert_false(f->cfg.verbose);
    assert_int_equal(f->cfg.offset, -5);

    /* Bad files change nothing. */
    assert_int_equal(s_reload(f, "name = hall-7\nlabel = fourth\ncolour = red\n"), HB_EINVAL);
    hbt_assert_contains(f->err, ":3: unknown setting 'colour'");
    assert_string_equal(f->cfg.label, "hall");
    assert_int_equal(s_reload(f, "label = fifth\n"), HB_EINVAL);
    hbt_assert_contains(f->err, "missing required setting: name");
    assert_string_equal(f->cfg.label, "hall");
    assert_int_equal(
        hb_config_reload(s_defs, NDEFS, &f->cfg, "/nonexistent.conf", f->err, sizeof f->err),
        HB_EINVAL);
    hbt_assert_contains(f->err, "cannot read config file /nonexistent.conf");
    assert_int_equal(s_reload(f, "name = hall-7\nmap = 1G\n"), HB_EINVAL);
    hbt_assert_contains(f->err, "map cannot change while running (restart to apply it)");
}

/* ------------------------------------------------------------------ help */

HBT_TEST(test_help)
{
    fixture_t *f = *state;
    memout_t m;
    /* --help wins over anything else on the line, even errors. */
    assert_int_equal(s_load(f, s_mem(&m), "--colour", "red", "--help", NULL), HB_ENOTFOUND);
    char *text = s_mem_text(&m);
    assert_null(f->cfg.label);
    hbt_assert_contains(text, "usage: testd [--config FILE]");
    hbt_assert_contains(text, "--window");
    hbt_assert_contains(text, "events in flight [default: 4096] [1..1000000]");
    hbt_assert_contains(text, "the hall's name [required]");
    hbt_assert_contains(text, "a label [default: hall] [reloadable]");
    hbt_assert_contains(text, "map size [default: 64M] [64K..1T]");
    hbt_assert_contains(text, "a timeout [default: 5s] [100ms..1h] [reloadable]");
    hbt_assert_contains(text, "--config");
    hbt_assert_contains(text, "--help");
    /* The table's own "config" row is not listed twice. */
    const char *first = strstr(text, "\n  --config ");
    assert_non_null(first);
    assert_null(strstr(first + 1, "\n  --config "));
    free(text);

    assert_int_equal(s_load(f, s_mem(&m), "-h", NULL), HB_ENOTFOUND);
    s_mem_expect(&m, (const char *const[]){"usage: testd", NULL});
}

/* ------------------------------------------------ at_most, lists, reload */

typedef struct pair_cfg {
    char *config;
    int64_t low_ms, high_ms;
    hb_config_list_t names;
} pair_cfg_t;

#define PROW(...) HB_CONF_ROW(pair_cfg_t, __VA_ARGS__)

static const hb_config_def_t s_pair_defs[] = {
    PROW("config", HB_CONF_STRING, config, NULL, 0, 0, false, "config file", .optional = true),
    PROW("low", HB_CONF_DURATION, low_ms, "500ms", 10, 60000, false, "first wait",
         .at_most = "high"),
    PROW("high", HB_CONF_DURATION, high_ms, "30s", 100, 3600000, true, "longest wait"),
    PROW("name", HB_CONF_LIST, names, NULL, 0, 3, true, "a name", .optional = true),
};
#define NPAIR (sizeof s_pair_defs / sizeof s_pair_defs[0])

static int s_pair_load(pair_cfg_t *c, char *err, size_t errlen, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, errlen);
    int argc = hbt_vargv(argv, 16, "pairs", ap);
    va_end(ap);
    hb_config_free(s_pair_defs, NPAIR, c);
    memset(c, 0, sizeof *c);
    return hb_config_load(s_pair_defs, NPAIR, c, argc, argv, NULL, err, errlen);
}

HBT_TEST(test_at_most)
{
    fixture_t *f = *state;
    pair_cfg_t c = {0};
    assert_int_equal(s_pair_load(&c, f->err, sizeof f->err, "--low", "30s", NULL), 0);
    assert_int_equal(s_pair_load(&c, f->err, sizeof f->err, "--low", "40s", NULL), HB_EINVAL);
    hbt_assert_contains(f->err, "low (40s) may not be greater than high (30s)");
    assert_int_equal(s_pair_load(&c, f->err, sizeof f->err, "--high", "200ms", NULL), HB_EINVAL);
    hbt_assert_contains(f->err, "low (500ms) may not be greater than high (200ms)");
    /* From a file too, and the reload that would break the rule changes
     * nothing. */
    s_write(f, "low = 1s\nhigh = 2s\n");
    assert_int_equal(s_pair_load(&c, f->err, sizeof f->err, "--config", f->path, NULL), 0);
    s_write(f, "low = 1s\nhigh = 900ms\n");
    assert_int_equal(hb_config_reload(s_pair_defs, NPAIR, &c, f->path, f->err, sizeof f->err),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "low (1s) may not be greater than high (900ms)");
    assert_int_equal(c.high_ms, 2000);
    /* --help says the rule. */
    memout_t m;
    char *argv[] = {"pairs", "--help", NULL};
    pair_cfg_t h = {0};
    assert_int_equal(
        hb_config_load(s_pair_defs, NPAIR, &h, 2, argv, s_mem(&m), f->err, sizeof f->err),
        HB_ENOTFOUND);
    s_mem_expect(&m, (const char *const[]){"first wait [default: 500ms] [10ms..1m] [at most high]",
                                           "a name [repeatable, up to 3]", NULL});
    hb_config_free(s_pair_defs, NPAIR, &c);
}

HBT_TEST(test_lists)
{
    fixture_t *f = *state;
    pair_cfg_t c = {0};
    /* Each line adds a value; the command line's values replace the file's. */
    s_write(f, "name = a\nname = b\n");
    assert_int_equal(s_pair_load(&c, f->err, sizeof f->err, "--config", f->path, NULL), 0);
    assert_int_equal(c.names.n, 2);
    assert_string_equal(c.names.items[0], "a");
    assert_string_equal(c.names.items[1], "b");
    assert_int_equal(s_pair_load(&c, f->err, sizeof f->err, "--config", f->path, "--name", "x",
                                 "--name=y", NULL),
                     0);
    assert_int_equal(c.names.n, 2);
    assert_string_equal(c.names.items[0], "x");
    assert_string_equal(c.names.items[1], "y");
    assert_int_equal(s_pair_load(&c, f->err, sizeof f->err, "--name", "1", "--name", "2", "--name",
                                 "3", "--name", "4", NULL),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "--name: name: at most 3 values");
    assert_int_equal(c.names.n, 0); /* nothing half-loaded */
    /* A reload takes the file's new list (no command line for it). */
    s_write(f, "name = a\n");
    assert_int_equal(s_pair_load(&c, f->err, sizeof f->err, "--config", f->path, NULL), 0);
    s_write(f, "name = c\nname = d\nname = e\n");
    assert_int_equal(hb_config_reload(s_pair_defs, NPAIR, &c, f->path, f->err, sizeof f->err), 0);
    assert_int_equal(c.names.n, 3);
    assert_string_equal(c.names.items[2], "e");
    hb_config_free(s_pair_defs, NPAIR, &c);
    assert_int_equal(c.names.n, 0);
    assert_null(c.names.items);
}

/* ------------------------------------------------------ a tool's command line */

typedef struct tool {
    char *hall, *hq, *staff, *region;
    bool force, json;
    int64_t days;
    double speed;
    hb_config_list_t headers;
} tool_t;

static int s_parse_speed(const char *text, void *field, char *why, size_t whylen)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (strcmp(text, "max") == 0) {
        *(double *)field = 0;
        return 0;
    }
    if (end == text || *end || v <= 0) {
        snprintf(why, whylen, "give a number above 0, or 'max'");
        return HB_EINVAL;
    }
    *(double *)field = v;
    return 0;
}

#define TROW(n, t, f, d, lo, hi, h, ...)                                                           \
    HB_CONF_ROW(tool_t, n, t, f, d, lo, hi, false, h, __VA_ARGS__)

static const hb_config_def_t s_tool_defs[] = {
    TROW("hall", HB_CONF_STRING, hall, NULL, 0, 0, "a hall's API", .optional = true, .meta = "URL"),
    TROW("hq", HB_CONF_STRING, hq, NULL, 0, 0, "HQ's API", .optional = true, .meta = "URL",
         .env = "HB_TEST_HQ"),
    TROW("staff", HB_CONF_STRING, staff, NULL, 0, 0, "who", .optional = true),
    TROW("region", HB_CONF_STRING, region, NULL, 0, 0, "where", .optional = true),
    TROW("force", HB_CONF_BOOL, force, "false", 0, 0, "do it anyway"),
    TROW("json", HB_CONF_BOOL, json, "false", 0, 0, "print JSON"),
    TROW("days", HB_CONF_INT, days, "1", 1, 100000, "days to run"),
    TROW("speed", HB_CONF_CUSTOM, speed, "60", 0, 0, "how fast", .parse = s_parse_speed,
         .meta = "X"),
    TROW("header", HB_CONF_LIST, headers, NULL, 0, 2, "a header", .optional = true,
         .meta = "'NAME: VALUE'"),
};
#define NTOOL (sizeof s_tool_defs / sizeof s_tool_defs[0])

static const hb_config_cli_t s_ticket_cli = {
    .prog = "hallctl",
    .command = "ticket",
    .usage = "SERVICE --hall URL [--force]",
    .about = "take a ticket",
    .takes = "hall force json header",
    .needs = "hall",
    .min_args = 1,
    .max_args = 1,
    .args_what = "a service code",
};

static int s_tool(const hb_config_cli_t *cli, tool_t *t, hb_config_parsed_t *p, FILE *out,
                  char *err, size_t errlen, ...)
{
    char *argv[24] = {"ticket"};
    int argc = 1;
    va_list ap;
    va_start(ap, errlen);
    for (char *a = va_arg(ap, char *); a; a = va_arg(ap, char *))
        argv[argc++] = a;
    va_end(ap);
    hb_config_free(s_tool_defs, NTOOL, t);
    memset(t, 0, sizeof *t);
    err[0] = '\0';
    return hb_config_args(s_tool_defs, NTOOL, cli, t, argc, argv, p, out, err, errlen);
}

HBT_TEST(test_tool_command_line)
{
    fixture_t *f = *state;
    tool_t t = {0};
    hb_config_parsed_t p;
    const hb_config_cli_t *cli = &s_ticket_cli;
    assert_loaded(f, s_tool(cli, &t, &p, NULL, f->err, sizeof f->err, "A", "--hall", "http://h:1",
                            "--force", "--header", "X-A: 1", "--header=X-B: 2", NULL));
    assert_int_equal(p.n_args, 1);
    assert_string_equal(p.args[0], "A");
    assert_string_equal(t.hall, "http://h:1");
    assert_true(t.force);
    assert_false(t.json);
    assert_int_equal(t.headers.n, 2);
    assert_string_equal(t.headers.items[1], "X-B: 2");
    assert_int_equal(p.source[0], HB_CONF_FROM_ARGS);
    assert_int_equal(p.source[5], HB_CONF_FROM_DEFAULT);
    /* Options and arguments in any order; a flag may say no. */
    assert_loaded(f, s_tool(cli, &t, &p, NULL, f->err, sizeof f->err, "--json", "--force=no",
                            "--hall", "u", "B", NULL));
    assert_true(t.json);
    assert_false(t.force);
    assert_string_equal(p.args[0], "B");

    static const struct {
        const char *args[8];
        const char *says;
    } bad[] = {
        {{"A"}, "--hall is required"},
        {{"--hall", "u"}, "needs a service code"},
        {{"A", "B", "--hall", "u"}, "unexpected argument 'B'"},
        {{"A", "--hall", "u", "--colour", "red"}, "unknown option '--colour'"},
        {{"A", "--hall", "u", "-x"}, "unknown option '-x'"},
        {{"A", "--hall", "u", "--staff", "E1"}, "option '--staff' does not apply to ticket"},
        {{"A", "--hall"}, "--hall needs a value"},
        {{"A", "--hall", "u", "--force=maybe"}, "--force: 'maybe' is not one of"},
        {{"A", "--hall", "u", "--header=1", "--header=2", "--header=3"},
         "--header: at most 2 values"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = s_tool(cli, &t, &p, NULL, f->err, sizeof f->err, bad[i].args[0], bad[i].args[1],
                        bad[i].args[2], bad[i].args[3], bad[i].args[4], bad[i].args[5],
                        bad[i].args[6], bad[i].args[7], NULL);
        if (rc != HB_EINVAL || !strstr(f->err, bad[i].says))
            fail_msg("case %zu: rc %d, \"%s\", wanted \"%s\"", i, rc, f->err, bad[i].says);
        assert_null(t.hall); /* nothing half-loaded */
        assert_int_equal(t.headers.n, 0);
        assert_int_equal(p.n_args, 0);
    }

    /* Every row (no takes list), with its types and the environment. */
    hb_config_cli_t sim = {.prog = "hallsim", .usage = "[--days N] [--speed X]"};
    setenv("HB_TEST_HQ", "http://from-env:7", 1);
    assert_loaded(f, s_tool(&sim, &t, &p, NULL, f->err, sizeof f->err, "--days", "3", "--speed",
                            "max", NULL));
    assert_int_equal(t.days, 3);
    assert_true(t.speed == 0);
    assert_string_equal(t.hq, "http://from-env:7");
    assert_int_equal(p.source[1], HB_CONF_FROM_ENV);
    assert_loaded(f,
                  s_tool(&sim, &t, &p, NULL, f->err, sizeof f->err, "--hq", "http://cli:8", NULL));
    assert_string_equal(t.hq, "http://cli:8"); /* the command line wins */
    assert_int_equal(p.source[1], HB_CONF_FROM_ARGS);
    assert_true(t.speed == 60);  /* the default, through the parse function */
    setenv("HB_TEST_HQ", "", 1); /* empty: as if unset */
    assert_loaded(f, s_tool(&sim, &t, &p, NULL, f->err, sizeof f->err, NULL));
    assert_null(t.hq);
    unsetenv("HB_TEST_HQ");
    assert_int_equal(s_tool(&sim, &t, &p, NULL, f->err, sizeof f->err, "--days", "0", NULL),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "--days: 0 is out of bounds (1 to 100000)");
    assert_int_equal(s_tool(&sim, &t, &p, NULL, f->err, sizeof f->err, "--speed", "fast", NULL),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "--speed: 'fast': give a number above 0, or 'max'");
    assert_int_equal(s_tool(&sim, &t, &p, NULL, f->err, sizeof f->err, "stray", NULL), HB_EINVAL);
    hbt_assert_contains(f->err, "unexpected argument 'stray'");
    /* Two missing, both named. */
    hb_config_cli_t two = {.prog = "hallctl", .command = "enroll", .needs = "region hq"};
    assert_int_equal(s_tool(&two, &t, &p, NULL, f->err, sizeof f->err, NULL), HB_EINVAL);
    hbt_assert_contains(f->err, "--hq, --region are required");
    hb_config_free(s_tool_defs, NTOOL, &t);
}

HBT_TEST(test_tool_help_and_version)
{
    fixture_t *f = *state;
    tool_t t = {0};
    memout_t m;
    setenv("HB_TEST_HQ", "http://from-env:7", 1);
    /* --help wins over errors on the same line. */
    assert_int_equal(s_tool(&s_ticket_cli, &t, NULL, s_mem(&m), f->err, sizeof f->err, "--colour",
                            "--help", NULL),
                     HB_ENOTFOUND);
    unsetenv("HB_TEST_HQ");
    char *text = s_mem_text(&m);
    assert_null(t.hall);
    hbt_assert_contains(text,
                        "usage: hallctl ticket SERVICE --hall URL [--force]\n  take a ticket\n");
    hbt_assert_contains(text, "--hall URL");
    hbt_assert_contains(text, "a hall's API [required]");
    hbt_assert_contains(text, "--force ");
    hbt_assert_contains(text, "a header [repeatable, up to 2]");
    hbt_assert_contains(text, "--version");
    assert_null(strstr(text, "--staff")); /* not taken by this command */
    free(text);

    hb_config_cli_t sim = {.prog = "hallsim"};
    assert_int_equal(s_tool(&sim, &t, NULL, s_mem(&m), f->err, sizeof f->err, "-h", NULL),
                     HB_ENOTFOUND);
    s_mem_expect(&m, (const char *const[]){"usage: hallsim [options]", "HQ's API [or $HB_TEST_HQ]",
                                           "days to run [default: 1] [1..100000]", NULL});

    assert_int_equal(
        s_tool(&s_ticket_cli, &t, NULL, s_mem(&m), f->err, sizeof f->err, "--version", NULL),
        HB_ENOTFOUND);
    s_mem_expect(&m, (const char *const[]){"hallctl 0.", " (revision ", NULL});

    /* A daemon's --version, from the same tables. */
    assert_int_equal(s_load(f, s_mem(&m), "--version", NULL), HB_ENOTFOUND);
    s_mem_expect(&m, (const char *const[]){"testd 0.", NULL});
}

/* CUSTOM rows hold values only their parse function knows: no reload. */
HBT_TEST(test_custom_not_reloadable)
{
    fixture_t *f = *state;
    tool_t t = {0};
    s_write(f, "days = 2\n");
    assert_int_equal(hb_config_reload(s_tool_defs, NTOOL, &t, f->path, f->err, sizeof f->err),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "speed: a CUSTOM setting cannot be reloaded");
}

/* The rows the shared macros write, as a table of their own: a tool's
 * option (HB_CONF_OPT: never reloadable, its value named, other members by
 * name), the daemons' config and log_level (daemon.h) and the LMDB map
 * (store.h, each daemon's defaults and ceilings). */
typedef struct shared_rows {
    char *config, *log_level;
    uint64_t map_size, map_max;
    int64_t seconds;
    char *hq;
} shared_rows_t;

static const hb_config_def_t s_shared_defs[] = {
    HB_DAEMON_CONFIG_ROW(shared_rows_t),
    HB_DAEMON_LOG_LEVEL_ROW(shared_rows_t),
    HB_STORE_CONF_ROWS(shared_rows_t, "64M", 1LL << 40, "64G", 1LL << 44),
    HB_CONF_OPT(shared_rows_t, "seconds", HB_CONF_INT, seconds, "30", 1, 86400, "S", "how long"),
    HB_CONF_OPT(shared_rows_t, "hq", HB_CONF_STRING, hq, NULL, 0, 0, "URL", "HQ's API",
                .optional = true),
};
#define NSHARED (sizeof s_shared_defs / sizeof s_shared_defs[0])

HBT_TEST(test_shared_rows)
{
    fixture_t *f = *state;
    static const struct {
        const char *name;
        enum hb_config_type type;
        const char *defval, *meta;
        int64_t min, max;
        bool reloadable, optional;
    } want[] = {
        {"config", HB_CONF_STRING, NULL, NULL, 0, 0, false, false},
        {"log_level", HB_CONF_STRING, "info", NULL, 0, 0, true, false},
        {"map_size", HB_CONF_SIZE, "64M", NULL, 65536, 1LL << 40, false, false},
        {"map_max", HB_CONF_SIZE, "64G", NULL, 65536, 1LL << 44, false, false},
        {"seconds", HB_CONF_INT, "30", "S", 1, 86400, false, false},
        {"hq", HB_CONF_STRING, NULL, "URL", 0, 0, false, true},
    };
    assert_int_equal(NSHARED, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < NSHARED; i++) {
        const hb_config_def_t *d = &s_shared_defs[i];
        if (strcmp(d->name, want[i].name) != 0 || d->type != want[i].type ||
            (d->defval == NULL) != (want[i].defval == NULL) ||
            (d->defval && strcmp(d->defval, want[i].defval) != 0) ||
            (d->meta == NULL) != (want[i].meta == NULL) ||
            (d->meta && strcmp(d->meta, want[i].meta) != 0) || d->min != want[i].min ||
            d->max != want[i].max || d->reloadable != want[i].reloadable ||
            d->optional != want[i].optional)
            fail_msg("row %zu (%s) is not the row wanted (%s)", i, d->name, want[i].name);
    }
    assert_string_equal(s_shared_defs[1].help, "error, warn, info, debug");
    /* The rows parse as any other: defaults, values, bounds. */
    static const hb_config_cli_t cli = {.prog = "t"};
    shared_rows_t r = {0};
    /* config has no default: what it names is required, a tool's as a daemon's. */
    char *ok[] = {"t", "--config", "t.conf", "--seconds", "5", "--map_size", "1M", NULL};
    assert_loaded(f, hb_config_args(s_shared_defs, NSHARED, &cli, &r, 7, ok, NULL, NULL, f->err,
                                    sizeof f->err));
    assert_string_equal(r.config, "t.conf");
    assert_int_equal(r.seconds, 5);
    assert_int_equal(r.map_size, 1 << 20);
    assert_int_equal(r.map_max, 64ULL << 30);
    assert_string_equal(r.log_level, "info");
    assert_null(r.hq);
    hb_config_free(s_shared_defs, NSHARED, &r);
    char *too_small[] = {"t", "--config", "t.conf", "--map_size", "1K", NULL};
    assert_int_equal(hb_config_args(s_shared_defs, NSHARED, &cli, &r, 5, too_small, NULL, NULL,
                                    f->err, sizeof f->err),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "map_size");
    char *too_short[] = {"t", "--config", "t.conf", "--seconds", "0", NULL};
    assert_int_equal(hb_config_args(s_shared_defs, NSHARED, &cli, &r, 5, too_short, NULL, NULL,
                                    f->err, sizeof f->err),
                     HB_EINVAL);
    hbt_assert_contains(f->err, "seconds");
}
