/* Table-driven configuration (see config.h): one parser for values, shared by
 * the defaults, the config file, the command line and SIGHUP reloads, so a
 * setting behaves the same wherever it is given. This file knows no setting
 * by name except "config" (the file itself); each daemon owns its table.
 *
 * A reload computes what a fresh start would give (defaults, then the file,
 * then the command line of the last hb_config_load, kept here for that
 * purpose) and applies only the reloadable part of it. Load and reload are
 * meant for one thread (the daemon's main loop). */
#include "hallbus/config.h"
#include "hallbus/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_LINE_MAX 4096      /* one line of the file, without its newline */
#define CONFIG_FILE_MAX (1 << 20) /* the whole file */
#define CONFIG_DEFS_MAX 128       /* rows in one table */
#define CONFIG_NAME_MAX 64        /* a setting's name */

/* The command line of the last successful-so-far hb_config_load, so that a
 * reload keeps honouring it ("the command line overrides the file"). */
static struct {
    const hb_config_def_t *defs;
    const void *target;
    char *value[CONFIG_DEFS_MAX];
} s_cmdline;

static void s_cmdline_clear(void)
{
    for (size_t i = 0; i < CONFIG_DEFS_MAX; i++) {
        free(s_cmdline.value[i]);
        s_cmdline.value[i] = NULL;
    }
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

static bool s_is_config_row(const hb_config_def_t *d)
{
    return strcmp(d->name, "config") == 0;
}

static size_t s_field_size(const hb_config_def_t *d)
{
    switch (d->type) {
    case HB_CONF_STRING:
        return sizeof(char *);
    case HB_CONF_BOOL:
        return sizeof(bool);
    case HB_CONF_SIZE:
        return sizeof(uint64_t);
    default:
        return sizeof(int64_t);
    }
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
            bool same = any_case ? strcasecmp(p, units[i].name) == 0 : strcmp(p, units[i].name) == 0;
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
                          sizeof s_duration_units / sizeof s_duration_units[0], false, false, out_ms);
}

/* A value in the unit a person would write: 65536 -> "64K", 300000 -> "5m". */
static void s_format_value(const hb_config_def_t *d, int64_t v, char *out, size_t outlen)
{
    const unit_t *units = NULL;
    size_t n = 0;
    if (d->type == HB_CONF_SIZE) {
        static const unit_t pick[] = {{"T", 1LL << 40}, {"G", 1LL << 30}, {"M", 1LL << 20},
                                      {"K", 1LL << 10}};
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

/* Sets one setting from its text form; `where` names the source ("file:3",
 * "--window", "default"). Returns 0 or HB_EINVAL with `err` filled. */
static int s_apply(const hb_config_def_t *d, void *target, const char *value, const char *where,
                   char *err, size_t errlen)
{
    char *field = (char *)target + d->offset;
    int64_t v = 0;
    int rc = 0;
    switch (d->type) {
    case HB_CONF_STRING: {
        size_t len = strnlen(value, CONFIG_LINE_MAX);
        if (len >= CONFIG_LINE_MAX) {
            hb_errf(err, errlen, "%s: %s: the value is longer than %d bytes", where, d->name,
                  CONFIG_LINE_MAX - 1);
            return HB_EINVAL;
        }
        char *copy = malloc(len + 1);
        if (!copy) {
            hb_errf(err, errlen, "%s: %s: out of memory", where, d->name);
            return HB_EINVAL;
        }
        memcpy(copy, value, len + 1);
        free(*(char **)field);
        *(char **)field = copy;
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
        hb_errf(err, errlen, "%s: %s: '%.64s' is not one of true/false/yes/no/on/off/1/0", where,
              d->name, value);
        return HB_EINVAL;
    }
    case HB_CONF_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(value, &end, 10);
        bool digits = isdigit((unsigned char)value[0]) ||
                      (value[0] == '-' && isdigit((unsigned char)value[1]));
        if (!digits || *end != '\0') {
            hb_errf(err, errlen, "%s: %s: '%.64s' is not a whole number", where, d->name, value);
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
        rc = s_parse_scaled(value, s_size_units, sizeof s_size_units / sizeof s_size_units[0],
                            true, false, &v);
        if (rc == HB_EPARSE) {
            hb_errf(err, errlen, "%s: %s: '%.64s' is not a size (e.g. 4096, 64K, 16M, 1G, 2T)",
                  where, d->name, value);
            return HB_EINVAL;
        }
        break;
    case HB_CONF_DURATION:
        rc = s_parse_scaled(value, s_duration_units,
                            sizeof s_duration_units / sizeof s_duration_units[0], false, true, &v);
        if (rc == HB_EPARSE) {
            hb_errf(err, errlen,
                  "%s: %s: '%.64s' is not a duration with a unit (e.g. 500ms, 30s, 5m, 2h, 7d)",
                  where, d->name, value);
            return HB_EINVAL;
        }
        break;
    }
    if (rc == HB_ERANGE || v < d->min || v > d->max) {
        char lo[32], hi[32];
        s_format_value(d, d->min, lo, sizeof lo);
        s_format_value(d, d->max, hi, sizeof hi);
        hb_errf(err, errlen, "%s: %s: %.64s is out of bounds (%s to %s)", where, d->name, value, lo,
              hi);
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

/* ------------------------------------------------------ load, usage ---- */

void hb_config_usage(const hb_config_def_t *defs, size_t ndefs, const char *prog, FILE *out)
{
    static const char *const types[] = {"TEXT", "N", "BOOL", "SIZE", "DURATION"};
    fprintf(out, "usage: %s [--config FILE] [--NAME VALUE | --NAME=VALUE ...]\n\n", prog);
    fprintf(out, "Settings (a config file takes the same names as 'name = value' lines;\n"
                 "the command line overrides the file):\n");
    for (size_t i = 0; i < ndefs; i++) {
        const hb_config_def_t *d = &defs[i];
        if (s_is_config_row(d))
            continue;
        fprintf(out, "  --%-22s %-8s %s", d->name, types[d->type], d->help ? d->help : "");
        if (d->defval)
            fprintf(out, " [default: %s]", d->defval);
        else
            fprintf(out, " [required]");
        if (d->type == HB_CONF_INT || d->type == HB_CONF_SIZE || d->type == HB_CONF_DURATION) {
            char lo[32], hi[32];
            s_format_value(d, d->min, lo, sizeof lo);
            s_format_value(d, d->max, hi, sizeof hi);
            fprintf(out, " [%s..%s]", lo, hi);
        }
        if (d->reloadable)
            fprintf(out, " [reloadable]");
        fputc('\n', out);
    }
    fprintf(out, "  --%-22s %-8s %s\n", "config", "FILE", "read settings from FILE first");
    fprintf(out, "  --%-22s %-8s %s\n", "help", "", "print this and exit");
    fprintf(out, "\nSizes take K, M, G, T (powers of 1024); durations ms, s, m, h, d.\n");
}

/* Names every required setting not given, into `err`; HB_EINVAL if any. */
static int s_check_required(const hb_config_def_t *defs, size_t ndefs, const bool *given,
                            char *err, size_t errlen)
{
    char names[512];
    size_t used = 0, missing = 0;
    names[0] = '\0';
    for (size_t i = 0; i < ndefs; i++) {
        if (defs[i].defval || s_is_config_row(&defs[i]) || given[i])
            continue;
        missing++;
        int w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                         defs[i].name);
        if (w > 0 && (size_t)w < sizeof names - used)
            used += (size_t)w;
    }
    if (missing == 0)
        return 0;
    hb_errf(err, errlen, "missing required setting%s: %s (give --name VALUE, or 'name = value' in "
                       "the --config file)",
          missing > 1 ? "s" : "", names);
    return HB_EINVAL;
}

int hb_config_load(const hb_config_def_t *defs, size_t ndefs, void *target, int argc,
                   char **argv, FILE *out, char *err, size_t errlen)
{
    if (ndefs > CONFIG_DEFS_MAX) {
        hb_errf(err, errlen, "the settings table has %zu rows; at most %d are supported", ndefs,
              CONFIG_DEFS_MAX);
        return HB_EINVAL;
    }
    const char *prog = argc > 0 && argv[0] ? argv[0] : "hallbus";
    const char *slash = strrchr(prog, '/');
    if (slash)
        prog = slash + 1;
    const hb_config_def_t *config_def = s_find(defs, ndefs, "config");
    s_cmdline_clear();
    s_cmdline.defs = defs;
    s_cmdline.target = target;

    /* Parse the command line into one value per setting (the last wins)
     * before applying anything, so that --config is read first and --help
     * works whatever else is on the line. */
    const char *cli[CONFIG_DEFS_MAX] = {NULL};
    const char *file = NULL;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            hb_config_usage(defs, ndefs, prog, out ? out : stdout);
            s_cmdline_clear();
            return HB_ENOTFOUND;
        }
    }
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            hb_errf(err, errlen, "unexpected argument '%.64s' (settings are --name value)", arg);
            rc = HB_EINVAL;
            break;
        }
        char name[CONFIG_NAME_MAX + 1];
        const char *value;
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (nlen > CONFIG_NAME_MAX) {
            hb_errf(err, errlen, "unknown option --%.64s...", arg + 2);
            rc = HB_EINVAL;
            break;
        }
        memcpy(name, arg + 2, nlen);
        name[nlen] = '\0';
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            hb_errf(err, errlen, "--%s needs a value", name);
            rc = HB_EINVAL;
            break;
        }
        if (strcmp(name, "config") == 0) {
            if (value[0] == '\0') {
                hb_errf(err, errlen, "--config needs a file name");
                rc = HB_EINVAL;
            }
            file = value;
            continue;
        }
        const hb_config_def_t *d = s_find(defs, ndefs, name);
        if (!d) {
            hb_errf(err, errlen, "unknown option --%s", name);
            rc = HB_EINVAL;
            break;
        }
        cli[d - defs] = value;
    }

    /* Defaults, then the file, then the command line. */
    bool given[CONFIG_DEFS_MAX] = {false};
    for (size_t i = 0; i < ndefs && rc == 0; i++) {
        if (defs[i].defval)
            rc = s_apply(&defs[i], target, defs[i].defval, "default", err, errlen);
    }
    if (rc == 0 && file) {
        if (config_def)
            rc = s_apply(config_def, target, file, "--config", err, errlen);
        if (rc == 0)
            rc = s_load_file(defs, ndefs, target, file, given, err, errlen);
    }
    for (size_t i = 0; i < ndefs && rc == 0; i++) {
        if (!cli[i])
            continue;
        char where[CONFIG_NAME_MAX + 8];
        snprintf(where, sizeof where, "--%s", defs[i].name);
        rc = s_apply(&defs[i], target, cli[i], where, err, errlen);
        given[i] = true;
        if (rc == 0) {
            s_cmdline.value[i] = strdup(cli[i]);
            if (!s_cmdline.value[i]) {
                hb_errf(err, errlen, "out of memory");
                rc = HB_EINVAL;
            }
        }
    }
    if (rc == 0)
        rc = s_check_required(defs, ndefs, given, err, errlen);
    if (rc != 0) {
        /* Nothing half-loaded is left behind for the caller to free. */
        hb_config_free(defs, ndefs, target);
        s_cmdline_clear();
        return HB_EINVAL;
    }
    return 0;
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
    case HB_CONF_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    default:
        return memcmp(fa, fb, s_field_size(d)) == 0;
    }
}

int hb_config_reload(const hb_config_def_t *defs, size_t ndefs, void *target, const char *file,
                     char *err, size_t errlen)
{
    if (ndefs > CONFIG_DEFS_MAX) {
        hb_errf(err, errlen, "the settings table has %zu rows; at most %d are supported", ndefs,
              CONFIG_DEFS_MAX);
        return HB_EINVAL;
    }
    /* Build what a restart would give into a scratch struct, compare, and
     * only then touch `target`: a refused reload changes nothing. */
    size_t size = 1;
    for (size_t i = 0; i < ndefs; i++) {
        size_t end = defs[i].offset + s_field_size(&defs[i]);
        if (end > size)
            size = end;
    }
    char *scratch = calloc(1, size);
    if (!scratch) {
        hb_errf(err, errlen, "out of memory");
        return HB_EINVAL;
    }
    bool given[CONFIG_DEFS_MAX] = {false};
    bool same_owner = s_cmdline.defs == defs && s_cmdline.target == target;
    int rc = 0;
    for (size_t i = 0; i < ndefs && rc == 0; i++)
        if (defs[i].defval)
            rc = s_apply(&defs[i], scratch, defs[i].defval, "default", err, errlen);
    if (rc == 0)
        rc = s_load_file(defs, ndefs, scratch, file, given, err, errlen);
    for (size_t i = 0; i < ndefs && rc == 0; i++) {
        if (!same_owner || !s_cmdline.value[i])
            continue;
        char where[CONFIG_NAME_MAX + 8];
        snprintf(where, sizeof where, "--%s", defs[i].name);
        rc = s_apply(&defs[i], scratch, s_cmdline.value[i], where, err, errlen);
        given[i] = true;
    }
    if (rc == 0)
        rc = s_check_required(defs, ndefs, given, err, errlen);
    if (rc == 0) {
        char names[512];
        size_t used = 0, changed = 0;
        names[0] = '\0';
        for (size_t i = 0; i < ndefs; i++) {
            if (defs[i].reloadable || s_is_config_row(&defs[i]) ||
                s_same(&defs[i], scratch, target))
                continue;
            changed++;
            int w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                             defs[i].name);
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
        if (defs[i].type != HB_CONF_STRING)
            continue;
        char **p = (char **)((char *)target + defs[i].offset);
        free(*p);
        *p = NULL;
    }
    if (s_cmdline.defs == defs && s_cmdline.target == target)
        s_cmdline_clear();
}
