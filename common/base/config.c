/* Table-driven configuration (see config.h): one parser for values, shared by
 * the defaults, the config file, the command line, the environment and
 * SIGHUP reloads, so a setting behaves the same wherever it is given. This
 * file knows no setting by name except "config" (the file itself); each
 * program owns its table.
 *
 * A command line is read in two steps: a scan that sorts the arguments
 * (options with their values, positional arguments, --config, --help and
 * --version) without applying anything, then the application of defaults,
 * file or environment, and the scanned values, in that order. The daemons'
 * and the tools' readers differ only in the scan's rules and in how they
 * word a few refusals.
 *
 * A reload computes what a fresh start would give (defaults, then the file,
 * then the command line of the last hb_config_load, kept here for that
 * purpose) and applies only the reloadable part of it. Load and reload are
 * meant for one thread (the daemon's main loop). */
#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/version.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_LINE_MAX 4096      /* one line of the file, without its newline */
#define CONFIG_FILE_MAX (1 << 20) /* the whole file */
#define CONFIG_DEFS_MAX HB_CONFIG_DEFS_MAX
#define CONFIG_NAME_MAX 64   /* a setting's name */
#define CONFIG_LIST_MAX 1024 /* values of one LIST setting, whatever its row says */

/* One "--name value" of a command line: the row it sets and its text. */
typedef struct cli_value {
    size_t row;
    char *value; /* into argv while scanning; a copy in s_cmdline */
} cli_value_t;

/* The command line of the last successful-so-far hb_config_load, so that a
 * reload keeps honouring it ("the command line overrides the file"). */
static struct {
    const hb_config_def_t *defs;
    const void *target;
    cli_value_t *values;
    size_t n;
} s_cmdline;

static void s_cmdline_clear(void)
{
    for (size_t i = 0; i < s_cmdline.n; i++)
        free(s_cmdline.values[i].value);
    free(s_cmdline.values);
    s_cmdline.values = NULL;
    s_cmdline.n = 0;
    s_cmdline.defs = NULL;
    s_cmdline.target = NULL;
}

static const hb_config_def_t *s_find(const hb_config_def_t *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}

static bool s_is_config_row(const hb_config_def_t *d) { return strcmp(d->name, "config") == 0; }

static bool s_is_numeric(const hb_config_def_t *d)
{
    return d->type == HB_CONF_INT || d->type == HB_CONF_SIZE || d->type == HB_CONF_DURATION;
}

/* The size of a row's field; 0 for a CUSTOM row, whose type only its
 * parse function knows. */
static size_t s_field_size(const hb_config_def_t *d)
{
    switch (d->type) {
    case HB_CONF_STRING: return sizeof(char *);
    case HB_CONF_BOOL: return sizeof(bool);
    case HB_CONF_SIZE: return sizeof(uint64_t);
    case HB_CONF_LIST: return sizeof(hb_config_list_t);
    case HB_CONF_CUSTOM: return 0;
    default: return sizeof(int64_t);
    }
}

bool hb_config_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list ? list : ""; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
    }
    return false;
}

static void s_list_clear(hb_config_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* A numeric row's value as int64 (SIZE fields are uint64 within int64's
 * range: the parser caps them there). */
static int64_t s_number(const hb_config_def_t *d, const void *target)
{
    const char *field = (const char *)target + d->offset;
    if (d->type == HB_CONF_SIZE)
        return (int64_t) * (const uint64_t *)field;
    return *(const int64_t *)field;
}

/* ---------------------------------------------------------- values ---- */

typedef struct unit {
    const char *name;
    int64_t scale;
} unit_t;

static const unit_t s_size_units[] = {
    {"B", 1},           {"K", 1LL << 10},   {"KB", 1LL << 10},  {"KiB", 1LL << 10},
    {"M", 1LL << 20},   {"MB", 1LL << 20},  {"MiB", 1LL << 20}, {"G", 1LL << 30},
    {"GB", 1LL << 30},  {"GiB", 1LL << 30}, {"T", 1LL << 40},   {"TB", 1LL << 40},
    {"TiB", 1LL << 40},
};

static const unit_t s_duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

/* "<digits>[ ]<unit>" -> value * scale. Sizes take their unit in any case
 * (1g = 1G); durations only as written ("m" is minutes, "ms" milliseconds).
 * HB_EPARSE for bad text, HB_ERANGE for a number too big for int64. */
static int s_parse_scaled(const char *text, const unit_t *units, size_t nunits, bool any_case,
                          bool need_unit, int64_t *out)
{
    const char *p = text;
    if (!isdigit((unsigned char)*p))
        return HB_EPARSE;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (v > ((uint64_t)INT64_MAX - digit) / 10)
            return HB_ERANGE;
        v = v * 10 + digit;
    }
    while (*p == ' ')
        p++;
    int64_t scale = 1;
    if (*p) {
        size_t i = 0;
        for (; i < nunits; i++) {
            bool same =
                any_case ? strcasecmp(p, units[i].name) == 0 : strcmp(p, units[i].name) == 0;
            if (same)
                break;
        }
        if (i == nunits)
            return HB_EPARSE;
        scale = units[i].scale;
    } else if (need_unit && v != 0) {
        return HB_EPARSE;
    }
    if (v > (uint64_t)INT64_MAX / (uint64_t)scale)
        return HB_ERANGE;
    *out = (int64_t)v * scale;
    return 0;
}

int hb_duration_parse(const char *text, int64_t *out_ms)
{
    return s_parse_scaled(text, s_duration_units,
                          sizeof s_duration_units / sizeof s_duration_units[0], false, false,
                          out_ms);
}

/* A value in the unit a person would write: 65536 -> "64K", 300000 -> "5m". */
static void s_format_value(const hb_config_def_t *d, int64_t v, char *out, size_t outlen)
{
    const unit_t *units = NULL;
    size_t n = 0;
    if (d->type == HB_CONF_SIZE) {
        static const unit_t pick[] = {
            {"T", 1LL << 40}, {"G", 1LL << 30}, {"M", 1LL << 20}, {"K", 1LL << 10}};
        units = pick;
        n = 4;
    } else if (d->type == HB_CONF_DURATION) {
        static const unit_t pick[] = {
            {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
        units = pick;
        n = 5;
    }
    for (size_t i = 0; i < n; i++) {
        if (v != 0 && v % units[i].scale == 0) {
            snprintf(out, outlen, "%lld%s", (long long)(v / units[i].scale), units[i].name);
            return;
        }
    }
    snprintf(out, outlen, "%lld%s", (long long)v, d->type == HB_CONF_DURATION ? "ms" : "");
}

/* Names a setting in a refusal: "where: name" for a daemon's setting
 * ("--window: window", "app.conf:3: window"), "--name" for a tool's option
 * (where == NULL). */
static void s_subject(const hb_config_def_t *d, const char *where, char *out, size_t outlen)
{
    if (where)
        snprintf(out, outlen, "%s: %s", where, d->name);
    else
        snprintf(out, outlen, "--%s", d->name);
}

static int s_list_add(const hb_config_def_t *d, hb_config_list_t *l, const char *value,
                      const char *subject, char *err, size_t errlen)
{
    size_t most = d->max > 0 && d->max < CONFIG_LIST_MAX ? (size_t)d->max : CONFIG_LIST_MAX;
    if (l->n >= most) {
        hb_errf(err, errlen, "%s: at most %zu value%s", subject, most, most == 1 ? "" : "s");
        return HB_EINVAL;
    }
    char *copy = strdup(value);
    char **items = copy ? realloc(l->items, (l->n + 1) * sizeof *items) : NULL;
    if (!items) {
        free(copy);
        hb_errf(err, errlen, "%s: out of memory", subject);
        return HB_EINVAL;
    }
    items[l->n++] = copy;
    l->items = items;
    return 0;
}

/* Sets one setting from its text form; `where` names the source ("file:3",
 * "--window", "default"), NULL for a tool's option. A LIST setting gets one
 * more value. Returns 0 or HB_EINVAL with `err` filled. */
static int s_apply(const hb_config_def_t *d, void *target, const char *value, const char *where,
                   char *err, size_t errlen)
{
    char *field = (char *)target + d->offset;
    char subject[CONFIG_NAME_MAX * 2 + 360];
    s_subject(d, where, subject, sizeof subject);
    int64_t v = 0;
    int rc = 0;
    if (d->type != HB_CONF_CUSTOM && strnlen(value, CONFIG_LINE_MAX) >= CONFIG_LINE_MAX) {
        hb_errf(err, errlen, "%s: the value is longer than %d bytes", subject, CONFIG_LINE_MAX - 1);
        return HB_EINVAL;
    }
    switch (d->type) {
    case HB_CONF_STRING: {
        char *copy = strdup(value);
        if (!copy) {
            hb_errf(err, errlen, "%s: out of memory", subject);
            return HB_EINVAL;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case HB_CONF_LIST:
        return s_list_add(d, (hb_config_list_t *)(void *)field, value, subject, err, errlen);
    case HB_CONF_CUSTOM: {
        char why[256] = "not a valid value";
        assert(d->parse && "a CUSTOM row needs its parse function");
        if (d->parse(value, field, why, sizeof why) != 0) {
            hb_errf(err, errlen, "%s: '%.64s': %s", subject, value, why);
            return HB_EINVAL;
        }
        return 0;
    }
    case HB_CONF_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0) {
                *(bool *)field = true;
                return 0;
            }
            if (strcasecmp(value, no[i]) == 0) {
                *(bool *)field = false;
                return 0;
            }
        }
        hb_errf(err, errlen, "%s: '%.64s' is not one of true/false/yes/no/on/off/1/0", subject,
                value);
        return HB_EINVAL;
    }
    case HB_CONF_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(value, &end, 10);
        bool digits = isdigit((unsigned char)value[0]) ||
                      (value[0] == '-' && isdigit((unsigned char)value[1]));
        if (!digits || *end != '\0') {
            hb_errf(err, errlen, "%s: '%.64s' is not a whole number", subject, value);
            return HB_EINVAL;
        }
        if (errno == ERANGE) {
            rc = HB_ERANGE;
            break;
        }
        v = x;
        break;
    }
    case HB_CONF_SIZE:
        rc = s_parse_scaled(value, s_size_units, sizeof s_size_units / sizeof s_size_units[0], true,
                            false, &v);
        if (rc == HB_EPARSE) {
            hb_errf(err, errlen, "%s: '%.64s' is not a size (e.g. 4096, 64K, 16M, 1G, 2T)", subject,
                    value);
            return HB_EINVAL;
        }
        break;
    case HB_CONF_DURATION:
        rc = s_parse_scaled(value, s_duration_units,
                            sizeof s_duration_units / sizeof s_duration_units[0], false, true, &v);
        if (rc == HB_EPARSE) {
            hb_errf(err, errlen,
                    "%s: '%.64s' is not a duration with a unit (e.g. 500ms, 30s, 5m, 2h, 7d)",
                    subject, value);
            return HB_EINVAL;
        }
        break;
    }
    if (rc == HB_ERANGE || v < d->min || v > d->max) {
        char lo[32], hi[32];
        s_format_value(d, d->min, lo, sizeof lo);
        s_format_value(d, d->max, hi, sizeof hi);
        hb_errf(err, errlen, "%s: %.64s is out of bounds (%s to %s)", subject, value, lo, hi);
        return HB_EINVAL;
    }
    if (d->type == HB_CONF_SIZE)
        *(uint64_t *)field = (uint64_t)v;
    else
        *(int64_t *)field = v;
    return 0;
}

int hb_config_set(const hb_config_def_t *defs, size_t ndefs, void *target, const char *name,
                  const char *value, char *err, size_t errlen)
{
    const hb_config_def_t *d = s_find(defs, ndefs, name);
    if (!d) {
        hb_errf(err, errlen, "unknown setting '%.64s'", name);
        return HB_EINVAL;
    }
    return s_apply(d, target, value, "set", err, errlen);
}

/* ------------------------------------------------------------ file ---- */

/* Splits "name = value" in place. The value is the rest of the line up to a
 * '#', trimmed, or a "quoted value" in which \" and \\ stand for " and \.
 * Returns 1 for a blank or comment line, 0 for a setting, HB_EPARSE with
 * `why` for a bad line. */
static int s_split_line(char *line, char **name, char **value, char *why, size_t whylen)
{
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 1;
    *name = p;
    while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
        p++;
    char *name_end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '=' || name_end == *name) {
        hb_errf(why, whylen, "expected 'name = value'");
        return HB_EPARSE;
    }
    *name_end = '\0';
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '"') {
        char *w = p, *r = p + 1;
        for (;;) {
            if (*r == '\0') {
                hb_errf(why, whylen, "unterminated quote");
                return HB_EPARSE;
            }
            if (*r == '\\' && (r[1] == '"' || r[1] == '\\')) {
                *w++ = r[1];
                r += 2;
                continue;
            }
            if (*r == '"')
                break;
            *w++ = *r++;
        }
        *w = '\0';
        char *rest = r + 1;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        if (*rest && *rest != '#') {
            hb_errf(why, whylen, "text after the quoted value");
            return HB_EPARSE;
        }
        *value = p;
        return 0;
    }
    *value = p;
    char *hash = strchr(p, '#');
    if (hash)
        *hash = '\0';
    char *end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return 0;
}

/* Reads `file` whole (at most CONFIG_FILE_MAX bytes) into a malloc'd,
 * NUL-terminated buffer. */
static int s_read_file(const char *file, char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        hb_errf(err, errlen, "cannot read config file %s: %s", file, strerror(errno));
        return HB_EINVAL;
    }
    char *buf = malloc((size_t)CONFIG_FILE_MAX + 2);
    if (!buf) {
        fclose(f);
        hb_errf(err, errlen, "%s: out of memory", file);
        return HB_EINVAL;
    }
    size_t n = fread(buf, 1, (size_t)CONFIG_FILE_MAX + 1, f);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        hb_errf(err, errlen, "cannot read config file %s: %s", file, strerror(saved));
        free(buf);
        return HB_EINVAL;
    }
    if (n > CONFIG_FILE_MAX) {
        hb_errf(err, errlen, "%s: larger than %d bytes; a config file is never that big", file,
                CONFIG_FILE_MAX);
        free(buf);
        return HB_EINVAL;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Applies every line of `file` to `target`, marking the settings given. */
static int s_load_file(const hb_config_def_t *defs, size_t ndefs, void *target, const char *file,
                       bool *given, char *err, size_t errlen)
{
    char *buf;
    size_t size;
    int rc = s_read_file(file, &buf, &size, err, errlen);
    if (rc != 0)
        return rc;
    char line[CONFIG_LINE_MAX + 1];
    const char *p = buf, *end = buf + size;
    int lineno = 0;
    while (p < end && rc == 0) {
        lineno++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t len = (size_t)(eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > CONFIG_LINE_MAX) {
            hb_errf(err, errlen, "%s:%d: line longer than %d bytes", file, lineno, CONFIG_LINE_MAX);
            rc = HB_EINVAL;
            break;
        }
        if (memchr(p, '\0', len)) {
            hb_errf(err, errlen, "%s:%d: the line contains a NUL byte", file, lineno);
            rc = HB_EINVAL;
            break;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p = nl ? nl + 1 : end;
        char *name, *value, why[64];
        int s = s_split_line(line, &name, &value, why, sizeof why);
        if (s == 1)
            continue;
        if (s < 0) {
            hb_errf(err, errlen, "%s:%d: %s", file, lineno, why);
            rc = HB_EINVAL;
            break;
        }
        const hb_config_def_t *d = s_find(defs, ndefs, name);
        if (!d || s_is_config_row(d)) {
            hb_errf(err, errlen, "%s:%d: unknown setting '%.64s'", file, lineno, name);
            rc = HB_EINVAL;
            break;
        }
        char where[320];
        snprintf(where, sizeof where, "%.300s:%d", file, lineno);
        rc = s_apply(d, target, value, where, err, errlen);
        if (rc == 0)
            given[d - defs] = true; /* a later line for the same name wins */
    }
    free(buf);
    return rc;
}

/* ---------------------------------------------------- command lines ---- */

/* What a command line holds, sorted, nothing applied yet. */
typedef struct scan {
    const hb_config_cli_t *cli; /* NULL: a daemon's command line */
    cli_value_t *values;        /* options and their values, in order; into argv */
    size_t n;
    const char *file; /* --config FILE (daemons) */
    bool help, version;
    const char *args[HB_CONFIG_ARGS_MAX];
    unsigned n_args;
} scan_t;

/* Whether a tool's command takes the row. */
static bool s_takes(const hb_config_cli_t *cli, const hb_config_def_t *d)
{
    return !cli || !cli->takes || hb_config_listed(cli->takes, d->name);
}

static int s_scan(const hb_config_def_t *defs, size_t ndefs, int argc, char **argv, scan_t *sc,
                  char *err, size_t errlen)
{
    const hb_config_cli_t *cli = sc->cli;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sc->help = true;
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0)
            sc->version = true;
    }
    if (sc->version)
        return 0;
    sc->values = calloc((size_t)(argc > 0 ? argc : 1), sizeof *sc->values);
    if (!sc->values) {
        hb_errf(err, errlen, "out of memory");
        return HB_EINVAL;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool option =
            cli ? arg[0] == '-' && arg[1] != '\0' : strncmp(arg, "--", 2) == 0 && arg[2] != '\0';
        if (!option && cli) {
            if (sc->n_args >= cli->max_args) {
                hb_errf(err, errlen, "unexpected argument '%.64s'", arg);
                return HB_EINVAL;
            }
            sc->args[sc->n_args++] = arg;
            continue;
        }
        if (!option) {
            hb_errf(err, errlen, "unexpected argument '%.64s' (settings are --name value)", arg);
            return HB_EINVAL;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            hb_errf(err, errlen, "unknown option '%.64s'", arg);
            return HB_EINVAL;
        }
        char name[CONFIG_NAME_MAX + 1];
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (nlen > CONFIG_NAME_MAX) {
            hb_errf(err, errlen, cli ? "unknown option '--%.64s...'" : "unknown option --%.64s...",
                    arg + 2);
            return HB_EINVAL;
        }
        memcpy(name, arg + 2, nlen);
        name[nlen] = '\0';
        const hb_config_def_t *d = s_find(defs, ndefs, name);
        bool is_config = !cli && strcmp(name, "config") == 0;
        if (!d && !is_config) {
            hb_errf(err, errlen, cli ? "unknown option '--%s'" : "unknown option --%s", name);
            return HB_EINVAL;
        }
        if (d && !s_takes(cli, d)) {
            hb_errf(err, errlen, "option '--%s' does not apply to %s", name,
                    cli->command ? cli->command : cli->prog);
            return HB_EINVAL;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (cli && d->type == HB_CONF_BOOL) {
            value = "true"; /* a flag */
        } else if (d && d->type == HB_CONF_BOOL &&
                   (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
            value = "true"; /* a daemon's switch given alone ("--insecure_http") */
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            hb_errf(err, errlen, "--%s needs a value", name);
            return HB_EINVAL;
        }
        if (is_config) {
            if (value[0] == '\0') {
                hb_errf(err, errlen, "--config needs a file name");
                return HB_EINVAL;
            }
            sc->file = value;
            continue;
        }
        sc->values[sc->n].row = (size_t)(d - defs);
        sc->values[sc->n].value = (char *)value;
        sc->n++;
    }
    if (cli && sc->n_args < cli->min_args) {
        hb_errf(err, errlen, "needs %s", cli->args_what ? cli->args_what : "an argument");
        return HB_EINVAL;
    }
    return 0;
}

/* Applies scanned command-line values over what `target` holds, marking the
 * rows given. A LIST row's values replace what it had; of a plain row's
 * values the last wins, and only it is read. */
static int s_apply_values(const hb_config_def_t *defs, size_t ndefs, void *target,
                          const cli_value_t *values, size_t n, bool tool, bool *given, char *err,
                          size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const hb_config_def_t *d = &defs[values[i].row];
        if (d->type != HB_CONF_LIST) {
            bool later = false;
            for (size_t k = i + 1; k < n && !later; k++)
                later = values[k].row == values[i].row;
            if (later)
                continue;
        } else if (!given[values[i].row]) {
            s_list_clear((hb_config_list_t *)(void *)((char *)target + d->offset));
        }
        char where[CONFIG_NAME_MAX + 8];
        snprintf(where, sizeof where, "--%s", d->name);
        int rc = s_apply(d, target, values[i].value, tool ? NULL : where, err, errlen);
        if (rc != 0)
            return rc;
        given[values[i].row] = true;
    }
    (void)ndefs;
    return 0;
}

static int s_apply_defaults(const hb_config_def_t *defs, size_t ndefs, void *target, char *err,
                            size_t errlen)
{
    for (size_t i = 0; i < ndefs; i++) {
        if (!defs[i].defval)
            continue;
        int rc = s_apply(&defs[i], target, defs[i].defval, "default", err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Whether a row must be given: it has no default and is not optional, or
 * the tool's command needs it. */
static bool s_required(const hb_config_def_t *d, const hb_config_cli_t *cli)
{
    if (s_is_config_row(d) && !cli)
        return false;
    if (cli && !s_takes(cli, d))
        return false;
    return (!d->defval && !d->optional) || (cli && hb_config_listed(cli->needs, d->name));
}

/* Names every required setting not given, into `err`; HB_EINVAL if any. */
static int s_check_required(const hb_config_def_t *defs, size_t ndefs, const hb_config_cli_t *cli,
                            const bool *given, char *err, size_t errlen)
{
    char names[512];
    size_t used = 0, missing = 0;
    names[0] = '\0';
    for (size_t i = 0; i < ndefs; i++) {
        if (!s_required(&defs[i], cli) || given[i])
            continue;
        missing++;
        int w = snprintf(names + used, sizeof names - used, "%s%s%s", used ? ", " : "",
                         cli ? "--" : "", defs[i].name);
        if (w > 0 && (size_t)w < sizeof names - used)
            used += (size_t)w;
    }
    if (missing == 0)
        return 0;
    if (cli)
        hb_errf(err, errlen, "%s %s required", names, missing > 1 ? "are" : "is");
    else
        hb_errf(err, errlen,
                "missing required setting%s: %s (give --name VALUE, or 'name = value' in "
                "the --config file)",
                missing > 1 ? "s" : "", names);
    return HB_EINVAL;
}

/* Every row with `at_most` holds at most the value of the row it names. */
static int s_check_at_most(const hb_config_def_t *defs, size_t ndefs, const void *target, bool tool,
                           char *err, size_t errlen)
{
    for (size_t i = 0; i < ndefs; i++) {
        const hb_config_def_t *d = &defs[i];
        if (!d->at_most)
            continue;
        const hb_config_def_t *cap = s_find(defs, ndefs, d->at_most);
        assert(cap && cap->type == d->type && s_is_numeric(d) &&
               "at_most names a numeric row of the same type");
        int64_t v = s_number(d, target), limit = s_number(cap, target);
        if (v <= limit)
            continue;
        char a[32], b[32];
        s_format_value(d, v, a, sizeof a);
        s_format_value(cap, limit, b, sizeof b);
        hb_errf(err, errlen, "%s%s (%s) may not be greater than %s%s (%s)", tool ? "--" : "",
                d->name, a, tool ? "--" : "", cap->name, b);
        return HB_EINVAL;
    }
    return 0;
}

/* The checks once every source is applied: what is required was given
 * (`cli`: a tool's command, NULL: a daemon), and every at_most holds. */
static int s_check_given(const hb_config_def_t *defs, size_t ndefs, const hb_config_cli_t *cli,
                         const void *target, const bool *given, char *err, size_t errlen)
{
    int rc = s_check_required(defs, ndefs, cli, given, err, errlen);
    return rc != 0 ? rc : s_check_at_most(defs, ndefs, target, cli != NULL, err, errlen);
}

/* ------------------------------------------------------------ usage ---- */

static const char *s_meta(const hb_config_def_t *d)
{
    static const char *const types[] = {"TEXT", "N", "BOOL", "SIZE", "DURATION", "TEXT", "VALUE"};
    return d->meta ? d->meta : types[d->type];
}

/* What --help says after a row's help: default, requirement, bounds. */
static void s_print_row_notes(const hb_config_def_t *d, const hb_config_cli_t *cli, FILE *out)
{
    if (d->defval && !(cli && d->type == HB_CONF_BOOL && strcmp(d->defval, "false") == 0))
        fprintf(out, " [default: %s]", d->defval); /* a tool's flag is off unless given */
    else if (s_required(d, cli) || (!cli && !d->optional))
        fprintf(out, " [required]");
    if (cli && d->env)
        fprintf(out, " [or $%s]", d->env);
    if (s_is_numeric(d)) {
        char lo[32], hi[32];
        s_format_value(d, d->min, lo, sizeof lo);
        s_format_value(d, d->max, hi, sizeof hi);
        fprintf(out, " [%s..%s]", lo, hi);
    }
    if (d->type == HB_CONF_LIST)
        fprintf(out, " [repeatable, up to %lld]",
                (long long)(d->max > 0 && d->max < CONFIG_LIST_MAX ? d->max : CONFIG_LIST_MAX));
    if (d->at_most)
        fprintf(out, " [at most %s%s]", cli ? "--" : "", d->at_most);
    if (d->reloadable)
        fprintf(out, " [reloadable]");
    fputc('\n', out);
}

void hb_config_row_notes(const hb_config_def_t *d, const hb_config_cli_t *cli, FILE *out)
{
    s_print_row_notes(d, cli, out);
}

const char *hb_config_meta(const hb_config_def_t *d) { return s_meta(d); }

bool hb_config_takes(const hb_config_cli_t *cli, const hb_config_def_t *d)
{
    return s_takes(cli, d);
}

void hb_config_usage(const hb_config_def_t *defs, size_t ndefs, const char *prog, FILE *out)
{
    fprintf(out, "usage: %s [--config FILE] [--NAME VALUE | --NAME=VALUE ...]\n\n", prog);
    fprintf(out, "Settings (a config file takes the same names as 'name = value' lines;\n"
                 "the command line overrides the file):\n");
    for (size_t i = 0; i < ndefs; i++) {
        const hb_config_def_t *d = &defs[i];
        if (s_is_config_row(d))
            continue;
        fprintf(out, "  --%-22s %-8s %s", d->name, s_meta(d), d->help ? d->help : "");
        s_print_row_notes(d, NULL, out);
    }
    fprintf(out, "  --%-22s %-8s %s\n", "config", "FILE", "read settings from FILE first");
    fprintf(out, "  --%-22s %-8s %s\n", "help", "", "print this and exit");
    fprintf(out, "  --%-22s %-8s %s\n", "version", "", "print the version and git revision, exit");
    fprintf(out, "\nSizes take K, M, G, T (powers of 1024); durations ms, s, m, h, d.\n");
}

void hb_config_args_usage(const hb_config_def_t *defs, size_t ndefs, const hb_config_cli_t *cli,
                          FILE *out)
{
    fprintf(out, "usage: %s%s%s %s\n", cli->prog, cli->command ? " " : "",
            cli->command ? cli->command : "", cli->usage ? cli->usage : "[options]");
    if (cli->about)
        fprintf(out, "  %s\n", cli->about);
    fprintf(out, "\nOptions:\n");
    bool units = false;
    for (size_t i = 0; i < ndefs; i++) {
        const hb_config_def_t *d = &defs[i];
        if (!s_takes(cli, d))
            continue;
        char left[CONFIG_NAME_MAX + 40];
        snprintf(left, sizeof left, "--%s%s%s", d->name, d->type == HB_CONF_BOOL ? "" : " ",
                 d->type == HB_CONF_BOOL ? "" : s_meta(d));
        fprintf(out, "  %-26s %s", left, d->help ? d->help : "");
        s_print_row_notes(d, cli, out);
        units = units || d->type == HB_CONF_SIZE || d->type == HB_CONF_DURATION;
    }
    fprintf(out, "  %-26s %s\n", "--help", "print this and exit");
    fprintf(out, "  %-26s %s\n", "--version", "print the version and git revision, exit");
    if (units)
        fprintf(out, "\nSizes take K, M, G, T (powers of 1024); durations ms, s, m, h, d.\n");
}

/* ------------------------------------------------------------- load ---- */

static int s_check_table(const hb_config_def_t *defs, size_t ndefs, char *err, size_t errlen)
{
    if (ndefs > CONFIG_DEFS_MAX) {
        hb_errf(err, errlen, "the settings table has %zu rows; at most %d are supported", ndefs,
                CONFIG_DEFS_MAX);
        return HB_EINVAL;
    }
    return 0;
}

static const char *s_prog(int argc, char **argv)
{
    const char *prog = argc > 0 && argv[0] ? argv[0] : "hallbus";
    const char *slash = strrchr(prog, '/');
    return slash ? slash + 1 : prog;
}

int hb_config_load(const hb_config_def_t *defs, size_t ndefs, void *target, int argc, char **argv,
                   FILE *out, char *err, size_t errlen)
{
    int rc = s_check_table(defs, ndefs, err, errlen);
    if (rc != 0)
        return rc;
    const char *prog = s_prog(argc, argv);
    const hb_config_def_t *config_def = s_find(defs, ndefs, "config");
    s_cmdline_clear();
    s_cmdline.defs = defs;
    s_cmdline.target = target;

    /* Sort the command line before applying anything, so that --config is
     * read first and --help works whatever else is on the line. */
    scan_t sc = {0};
    rc = s_scan(defs, ndefs, argc, argv, &sc, err, errlen);
    if (rc == 0 && (sc.help || sc.version)) {
        if (sc.help)
            hb_config_usage(defs, ndefs, prog, out ? out : stdout);
        else
            hb_version_print(prog, out ? out : stdout);
        free(sc.values);
        s_cmdline_clear();
        return HB_ENOTFOUND;
    }

    /* Defaults, then the file, then the command line. */
    bool given[CONFIG_DEFS_MAX] = {false};
    if (rc == 0)
        rc = s_apply_defaults(defs, ndefs, target, err, errlen);
    if (rc == 0 && sc.file) {
        if (config_def)
            rc = s_apply(config_def, target, sc.file, "--config", err, errlen);
        if (rc == 0)
            rc = s_load_file(defs, ndefs, target, sc.file, given, err, errlen);
    }
    bool on_line[CONFIG_DEFS_MAX] = {false};
    if (rc == 0)
        rc = s_apply_values(defs, ndefs, target, sc.values, sc.n, false, on_line, err, errlen);
    for (size_t i = 0; i < ndefs; i++)
        given[i] = given[i] || on_line[i];
    /* Remember the command line for reloads. */
    if (rc == 0 && sc.n) {
        s_cmdline.values = calloc(sc.n, sizeof *s_cmdline.values);
        for (size_t i = 0; s_cmdline.values && i < sc.n; i++) {
            s_cmdline.values[i].row = sc.values[i].row;
            s_cmdline.values[i].value = strdup(sc.values[i].value);
            if (!s_cmdline.values[i].value)
                break;
            s_cmdline.n++;
        }
        if (s_cmdline.n != sc.n) {
            hb_errf(err, errlen, "out of memory");
            rc = HB_EINVAL;
        }
    }
    free(sc.values);
    if (rc == 0)
        rc = s_check_given(defs, ndefs, NULL, target, given, err, errlen);
    if (rc != 0) {
        /* Nothing half-loaded is left behind for the caller to free. */
        hb_config_free(defs, ndefs, target);
        s_cmdline_clear();
        return HB_EINVAL;
    }
    return 0;
}

int hb_config_args(const hb_config_def_t *defs, size_t ndefs, const hb_config_cli_t *cli,
                   void *target, int argc, char **argv, hb_config_parsed_t *parsed, FILE *out,
                   char *err, size_t errlen)
{
    assert(cli && cli->prog && cli->max_args <= HB_CONFIG_ARGS_MAX);
    int rc = s_check_table(defs, ndefs, err, errlen);
    if (rc != 0)
        return rc;
    hb_config_parsed_t scratch;
    if (!parsed)
        parsed = &scratch;
    memset(parsed, 0, sizeof *parsed);
    scan_t sc = {.cli = cli};
    rc = s_scan(defs, ndefs, argc, argv, &sc, err, errlen);
    if (rc == 0 && (sc.help || sc.version)) {
        if (sc.help)
            hb_config_args_usage(defs, ndefs, cli, out ? out : stdout);
        else
            hb_version_print(cli->prog, out ? out : stdout);
        free(sc.values);
        return HB_ENOTFOUND;
    }
    bool given[CONFIG_DEFS_MAX] = {false};
    if (rc == 0)
        rc = s_apply_defaults(defs, ndefs, target, err, errlen);
    /* The environment, for the rows the command line leaves out. */
    for (size_t i = 0; i < ndefs && rc == 0; i++) {
        const hb_config_def_t *d = &defs[i];
        bool on_line = false;
        for (size_t k = 0; k < sc.n && !on_line; k++)
            on_line = sc.values[k].row == i;
        const char *v = d->env && s_takes(cli, d) && !on_line ? getenv(d->env) : NULL;
        if (!v || !v[0])
            continue;
        char where[CONFIG_NAME_MAX + 16];
        snprintf(where, sizeof where, "$%s", d->env);
        rc = s_apply(d, target, v, where, err, errlen);
        given[i] = true;
        parsed->source[i] = HB_CONF_FROM_ENV;
    }
    bool on_line[CONFIG_DEFS_MAX] = {false};
    if (rc == 0)
        rc = s_apply_values(defs, ndefs, target, sc.values, sc.n, true, on_line, err, errlen);
    for (size_t i = 0; i < ndefs; i++) {
        if (on_line[i])
            parsed->source[i] = HB_CONF_FROM_ARGS;
        given[i] = given[i] || on_line[i];
    }
    free(sc.values);
    if (rc == 0)
        rc = s_check_given(defs, ndefs, cli, target, given, err, errlen);
    if (rc != 0) {
        hb_config_free(defs, ndefs, target);
        memset(parsed, 0, sizeof *parsed);
        return HB_EINVAL;
    }
    memcpy(parsed->args, sc.args, sizeof sc.args);
    parsed->n_args = sc.n_args;
    return 0;
}

int hb_config_args_main(const hb_config_def_t *defs, size_t ndefs, const hb_config_cli_t *cli,
                        void *target, int argc, char **argv, hb_config_parsed_t *parsed)
{
    char err[512];
    int rc = hb_config_args(defs, ndefs, cli, target, argc, argv, parsed, stdout, err, sizeof err);
    if (rc == HB_ENOTFOUND)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "%s%s%s: %s\n(%s%s%s --help lists the options)\n", cli->prog,
                cli->command ? " " : "", cli->command ? cli->command : "", err, cli->prog,
                cli->command ? " " : "", cli->command ? cli->command : "");
        return 2;
    }
    return -1;
}

/* ---------------------------------------------------------- reload ---- */

/* The values of one setting in two structs are equal. */
static bool s_same(const hb_config_def_t *d, const void *a, const void *b)
{
    const char *fa = (const char *)a + d->offset, *fb = (const char *)b + d->offset;
    switch (d->type) {
    case HB_CONF_STRING: {
        const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
        return (sa == NULL && sb == NULL) || (sa && sb && strcmp(sa, sb) == 0);
    }
    case HB_CONF_BOOL: return *(const bool *)fa == *(const bool *)fb;
    case HB_CONF_LIST: {
        const hb_config_list_t *la = (const void *)fa, *lb = (const void *)fb;
        if (la->n != lb->n)
            return false;
        for (size_t i = 0; i < la->n; i++)
            if (strcmp(la->items[i], lb->items[i]) != 0)
                return false;
        return true;
    }
    default: return memcmp(fa, fb, s_field_size(d)) == 0;
    }
}

int hb_config_reload(const hb_config_def_t *defs, size_t ndefs, void *target, const char *file,
                     char *err, size_t errlen)
{
    int rc = s_check_table(defs, ndefs, err, errlen);
    if (rc != 0)
        return rc;
    /* Build what a restart would give into a scratch struct, compare, and
     * only then touch `target`: a refused reload changes nothing. */
    size_t size = 1;
    for (size_t i = 0; i < ndefs; i++) {
        if (defs[i].type == HB_CONF_CUSTOM) {
            hb_errf(err, errlen, "%s: a CUSTOM setting cannot be reloaded", defs[i].name);
            return HB_EINVAL;
        }
        size_t end = defs[i].offset + s_field_size(&defs[i]);
        if (end > size)
            size = end;
    }
    char *scratch = calloc(1, size);
    if (!scratch) {
        hb_errf(err, errlen, "out of memory");
        return HB_EINVAL;
    }
    bool given[CONFIG_DEFS_MAX] = {false}, on_line[CONFIG_DEFS_MAX] = {false};
    bool same_owner = s_cmdline.defs == defs && s_cmdline.target == target;
    rc = s_apply_defaults(defs, ndefs, scratch, err, errlen);
    if (rc == 0)
        rc = s_load_file(defs, ndefs, scratch, file, given, err, errlen);
    if (rc == 0 && same_owner)
        rc = s_apply_values(defs, ndefs, scratch, s_cmdline.values, s_cmdline.n, false, on_line,
                            err, errlen);
    for (size_t i = 0; i < ndefs; i++)
        given[i] = given[i] || on_line[i];
    if (rc == 0)
        rc = s_check_required(defs, ndefs, NULL, given, err, errlen);
    if (rc == 0)
        rc = s_check_at_most(defs, ndefs, scratch, false, err, errlen);
    if (rc == 0) {
        char names[512];
        size_t used = 0, changed = 0;
        names[0] = '\0';
        for (size_t i = 0; i < ndefs; i++) {
            if (defs[i].reloadable || s_is_config_row(&defs[i]) ||
                s_same(&defs[i], scratch, target))
                continue;
            changed++;
            int w =
                snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", defs[i].name);
            if (w > 0 && (size_t)w < sizeof names - used)
                used += (size_t)w;
        }
        if (changed) {
            hb_errf(err, errlen, "%s: %s cannot change while running (restart to apply %s)", file,
                    names, changed > 1 ? "them" : "it");
            rc = HB_EINVAL;
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < ndefs; i++) {
            if (!defs[i].reloadable || s_is_config_row(&defs[i]))
                continue;
            char *t = (char *)target + defs[i].offset, *s = scratch + defs[i].offset;
            if (defs[i].type == HB_CONF_STRING) {
                free(*(char **)t);
                *(char **)t = *(char **)s;
                *(char **)s = NULL;
            } else if (defs[i].type == HB_CONF_LIST) {
                s_list_clear((hb_config_list_t *)(void *)t);
                memcpy(t, s, sizeof(hb_config_list_t));
                memset(s, 0, sizeof(hb_config_list_t));
            } else {
                memcpy(t, s, s_field_size(&defs[i]));
            }
        }
    }
    hb_config_free(defs, ndefs, scratch);
    free(scratch);
    return rc == 0 ? 0 : HB_EINVAL;
}

void hb_config_free(const hb_config_def_t *defs, size_t ndefs, void *target)
{
    for (size_t i = 0; i < ndefs; i++) {
        char *field = (char *)target + defs[i].offset;
        if (defs[i].type == HB_CONF_STRING) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (defs[i].type == HB_CONF_LIST) {
            s_list_clear((hb_config_list_t *)(void *)field);
        }
    }
    if (s_cmdline.defs == defs && s_cmdline.target == target)
        s_cmdline_clear();
}
