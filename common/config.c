/* Table-driven configuration (see config.h): one parser for values, shared by
 * the defaults, the config file, the command line and SIGHUP reloads, so a
 * setting behaves the same wherever it is given. */
#include "hallbus/config.h"
#include "hallbus/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1 << 20)
#define CONFIG_DEFS_MAX 128

static void s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const hb_config_def_t *s_find(const hb_config_def_t *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}

/* Parses a number with an optional unit suffix from `units`. */
static int s_parse_scaled(const char *text, const char *const *names, const int64_t *scale,
                          size_t nunits, bool need_unit, int64_t *out)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p))
        return HB_EPARSE;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno != 0)
        return HB_ERANGE;
    while (isspace((unsigned char)*end))
        end++;
    int64_t mult = 1;
    if (*end) {
        size_t i = 0;
        for (; i < nunits; i++)
            if (strcmp(end, names[i]) == 0)
                break;
        if (i == nunits)
            return HB_EPARSE;
        mult = scale[i];
    } else if (need_unit && v != 0) {
        return HB_EPARSE;
    }
    if (v > (unsigned long long)INT64_MAX / (unsigned long long)mult)
        return HB_ERANGE;
    *out = (int64_t)v * mult;
    return 0;
}

/* Sets one setting from its text form; `where` names the source. */
static int s_apply(const hb_config_def_t *d, void *target, const char *value, const char *where,
                   char *err, size_t errlen)
{
    char *field = (char *)target + d->offset;
    int64_t v = 0;
    int rc = 0;
    switch (d->type) {
    case HB_CONF_STRING: {
        if (strlen(value) >= CONFIG_LINE_MAX) {
            s_err(err, errlen, "%s: %s: value is too long", where, d->name);
            return HB_EINVAL;
        }
        char *copy = strdup(value);
        if (!copy)
            return HB_ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case HB_CONF_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < 4; i++) {
            if (strcmp(value, yes[i]) == 0) {
                *(bool *)field = true;
                return 0;
            }
            if (strcmp(value, no[i]) == 0) {
                *(bool *)field = false;
                return 0;
            }
        }
        s_err(err, errlen, "%s: %s: '%s' is not true/false/yes/no/on/off/1/0", where, d->name,
              value);
        return HB_EINVAL;
    }
    case HB_CONF_INT: {
        const char *p = value;
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (p[0] == '\0' || *end != '\0' || errno != 0) {
            s_err(err, errlen, "%s: %s: '%s' is not a whole number", where, d->name, value);
            return HB_EINVAL;
        }
        v = x;
        break;
    }
    case HB_CONF_SIZE: {
        static const char *const names[] = {"B", "K", "KB", "KiB", "M", "MB", "MiB",
                                            "G", "GB", "GiB", "T", "TB", "TiB"};
        static const int64_t scale[] = {1, 1LL << 10, 1LL << 10, 1LL << 10, 1LL << 20,
                                        1LL << 20, 1LL << 20, 1LL << 30, 1LL << 30, 1LL << 30,
                                        1LL << 40, 1LL << 40, 1LL << 40};
        rc = s_parse_scaled(value, names, scale, sizeof scale / sizeof scale[0], false, &v);
        if (rc != 0) {
            s_err(err, errlen, "%s: %s: '%s' is not a size (e.g. 4096, 64K, 16M, 1G)", where,
                  d->name, value);
            return HB_EINVAL;
        }
        break;
    }
    case HB_CONF_DURATION: {
        static const char *const names[] = {"ms", "s", "m", "h", "d"};
        static const int64_t scale[] = {1, 1000, 60000, 3600000, 86400000};
        rc = s_parse_scaled(value, names, scale, 5, true, &v);
        if (rc != 0) {
            s_err(err, errlen, "%s: %s: '%s' is not a duration (e.g. 500ms, 30s, 5m, 2h, 7d)",
                  where, d->name, value);
            return HB_EINVAL;
        }
        break;
    }
    }
    if (v < d->min || v > d->max) {
        s_err(err, errlen, "%s: %s: %s is out of bounds (%lld to %lld%s)", where, d->name, value,
              (long long)d->min, (long long)d->max,
              d->type == HB_CONF_DURATION ? " ms" : d->type == HB_CONF_SIZE ? " bytes" : "");
        return HB_ERANGE;
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
        s_err(err, errlen, "unknown setting '%s'", name);
        return HB_EINVAL;
    }
    return s_apply(d, target, value, "value", err, errlen) == 0 ? 0 : HB_EINVAL;
}

/* Splits "name = value" (value optionally quoted); returns 1 for a blank or
 * comment line, 0 for a setting, negative with `err` for a bad line. */
static int s_split_line(char *line, char **name, char **value, char *err, size_t errlen)
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
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '=' || name_end == *name) {
        s_err(err, errlen, "expected 'name = value'");
        return HB_EPARSE;
    }
    *name_end = '\0';
    p++;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '"') {
        char *q = strchr(p + 1, '"');
        if (!q) {
            s_err(err, errlen, "unterminated quote");
            return HB_EPARSE;
        }
        *q = '\0';
        char *rest = q + 1;
        while (isspace((unsigned char)*rest))
            rest++;
        if (*rest && *rest != '#') {
            s_err(err, errlen, "text after the quoted value");
            return HB_EPARSE;
        }
        *value = p + 1;
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

/* Reads `file`; applies every setting for which `filter` allows it. */
static int s_load_file(const hb_config_def_t *defs, size_t ndefs, void *target, const char *file,
                       bool (*filter)(const hb_config_def_t *d, void *arg), void *arg, char *err,
                       size_t errlen)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        s_err(err, errlen, "cannot read config file %s: %s", file, strerror(errno));
        return HB_EINVAL;
    }
    char line[CONFIG_LINE_MAX + 2];
    int lineno = 0, rc = 0;
    size_t total = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        total += len;
        if (total > CONFIG_FILE_MAX) {
            s_err(err, errlen, "%s: larger than %d bytes", file, CONFIG_FILE_MAX);
            rc = HB_EINVAL;
            break;
        }
        if (len > CONFIG_LINE_MAX && line[len - 1] != '\n') {
            s_err(err, errlen, "%s:%d: line longer than %d bytes", file, lineno, CONFIG_LINE_MAX);
            rc = HB_EINVAL;
            break;
        }
        char *name, *value, why[128];
        int s = s_split_line(line, &name, &value, why, sizeof why);
        if (s == 1)
            continue;
        if (s < 0) {
            s_err(err, errlen, "%s:%d: %s", file, lineno, why);
            rc = HB_EINVAL;
            break;
        }
        const hb_config_def_t *d = s_find(defs, ndefs, name);
        if (!d || strcmp(name, "config") == 0) {
            s_err(err, errlen, "%s:%d: unknown setting '%s'", file, lineno, name);
            rc = HB_EINVAL;
            break;
        }
        if (filter && !filter(d, arg))
            continue;
        char where[600];
        snprintf(where, sizeof where, "%s:%d", file, lineno);
        if (s_apply(d, target, value, where, err, errlen) != 0) {
            rc = HB_EINVAL;
            break;
        }
    }
    fclose(f);
    return rc;
}

void hb_config_usage(const hb_config_def_t *defs, size_t ndefs, const char *prog, FILE *out)
{
    fprintf(out, "usage: %s [--config FILE] [--NAME VALUE ...]\n\n", prog);
    fprintf(out, "Settings (a config file takes the same names as 'name = value'):\n");
    for (size_t i = 0; i < ndefs; i++) {
        const hb_config_def_t *d = &defs[i];
        static const char *const types[] = {"TEXT", "N", "BOOL", "SIZE", "DURATION"};
        fprintf(out, "  --%-22s %-8s %s", d->name, types[d->type], d->help);
        if (d->defval)
            fprintf(out, " [default: %s]", d->defval);
        else
            fprintf(out, " [required]");
        if (d->type == HB_CONF_INT)
            fprintf(out, " [%lld..%lld]", (long long)d->min, (long long)d->max);
        if (d->reloadable)
            fprintf(out, " [reloadable]");
        fputc('\n', out);
    }
    fprintf(out, "  --%-22s %-8s %s\n", "config", "FILE", "read settings from FILE first");
    fprintf(out, "  --%-22s %-8s %s\n", "help", "", "print this and exit");
}

int hb_config_load(const hb_config_def_t *defs, size_t ndefs, void *target, int argc,
                   char **argv, FILE *out, char *err, size_t errlen)
{
    const char *prog = argc > 0 ? argv[0] : "hallbus";
    const char *slash = strrchr(prog, '/');
    if (slash)
        prog = slash + 1;
    const hb_config_def_t *config_def = s_find(defs, ndefs, "config");
    for (size_t i = 0; i < ndefs; i++) {
        if (defs[i].defval && s_apply(&defs[i], target, defs[i].defval, "default", err, errlen) != 0)
            return HB_EINVAL; /* a bad table: a programming error, reported all the same */
    }
    /* First pass: --help and --config. */
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            hb_config_usage(defs, ndefs, prog, out ? out : stdout);
            return HB_ENOTFOUND;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                s_err(err, errlen, "--config needs a file name");
                return HB_EINVAL;
            }
            file = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            file = argv[i] + 9;
        }
    }
    if (file) {
        if (config_def && s_apply(config_def, target, file, "--config", err, errlen) != 0)
            return HB_EINVAL;
        if (s_load_file(defs, ndefs, target, file, NULL, NULL, err, errlen) != 0)
            return HB_EINVAL;
    }
    bool given[CONFIG_DEFS_MAX] = {false};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            s_err(err, errlen, "unexpected argument '%s' (settings are --name value)", arg);
            return HB_EINVAL;
        }
        char name[128];
        const char *value;
        const char *eq = strchr(arg, '=');
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg - 2), arg + 2);
            value = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg + 2);
            if (i + 1 >= argc) {
                s_err(err, errlen, "--%s needs a value", name);
                return HB_EINVAL;
            }
            value = argv[++i];
        }
        if (strcmp(name, "config") == 0)
            continue;
        const hb_config_def_t *d = s_find(defs, ndefs, name);
        if (!d) {
            s_err(err, errlen, "unknown option --%s", name);
            return HB_EINVAL;
        }
        char where[160];
        snprintf(where, sizeof where, "--%s", name);
        if (s_apply(d, target, value, where, err, errlen) != 0)
            return HB_EINVAL;
        if ((size_t)(d - defs) < CONFIG_DEFS_MAX)
            given[d - defs] = true;
    }
    for (size_t i = 0; i < ndefs; i++) {
        const hb_config_def_t *d = &defs[i];
        if (d->defval || d == config_def)
            continue;
        bool set = d->type == HB_CONF_STRING ? *(char **)((char *)target + d->offset) != NULL
                                             : given[i];
        if (!set) {
            s_err(err, errlen, "the setting '%s' is required (--%s or '%s = ...' in --config)",
                  d->name, d->name, d->name);
            return HB_EINVAL;
        }
    }
    return 0;
}

typedef struct reload_ctx {
    const hb_config_def_t *defs;
    size_t ndefs;
    const void *current;
    char *err;
    size_t errlen;
    bool refused;
} reload_ctx_t;

/* Values of one setting in two structs are equal. */
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
        return *(const int64_t *)fa == *(const int64_t *)fb;
    }
}

int hb_config_reload(const hb_config_def_t *defs, size_t ndefs, void *target, const char *file,
                     char *err, size_t errlen)
{
    /* Read the file into a scratch copy that starts from the defaults, then
     * compare: a change to a non-reloadable setting refuses the reload whole. */
    size_t size = 0;
    for (size_t i = 0; i < ndefs; i++) {
        size_t end = defs[i].offset + (defs[i].type == HB_CONF_STRING ? sizeof(char *) : 8);
        if (end > size)
            size = end;
    }
    char *scratch = calloc(1, size);
    if (!scratch)
        return HB_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < ndefs && rc == 0; i++)
        if (defs[i].defval)
            rc = s_apply(&defs[i], scratch, defs[i].defval, "default", err, errlen);
    /* Settings absent from the file keep their current value. */
    for (size_t i = 0; i < ndefs && rc == 0; i++) {
        if (defs[i].type == HB_CONF_STRING) {
            const char *cur = *(char *const *)((const char *)target + defs[i].offset);
            if (cur)
                rc = s_apply(&defs[i], scratch, cur, "current", err, errlen);
        } else {
            memcpy(scratch + defs[i].offset, (const char *)target + defs[i].offset,
                   defs[i].type == HB_CONF_BOOL ? sizeof(bool) : 8);
        }
    }
    if (rc == 0)
        rc = s_load_file(defs, ndefs, scratch, file, NULL, NULL, err, errlen);
    for (size_t i = 0; i < ndefs && rc == 0; i++) {
        if (!defs[i].reloadable && strcmp(defs[i].name, "config") != 0 &&
            !s_same(&defs[i], scratch, target)) {
            s_err(err, errlen, "%s: '%s' cannot change while running (restart to apply it)", file,
                  defs[i].name);
            rc = HB_EINVAL;
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < ndefs; i++) {
            if (!defs[i].reloadable)
                continue;
            char *t = (char *)target + defs[i].offset, *s = scratch + defs[i].offset;
            if (defs[i].type == HB_CONF_STRING) {
                free(*(char **)t);
                *(char **)t = *(char **)s;
                *(char **)s = NULL;
            } else {
                memcpy(t, s, defs[i].type == HB_CONF_BOOL ? sizeof(bool) : 8);
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
}
