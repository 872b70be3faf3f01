/* Configuration as one table of settings (name, type, default, bounds,
 * reloadable, help), in the manner of Redis's config.c: parsing the config
 * file, the command line, validation and --help all come from the table, so
 * a setting cannot be added without its default and its limits.
 *
 * The file format is "name = value" lines; '#' starts a comment; values may
 * be quoted with "...". The command line is "--name value" or "--name=value"
 * and overrides the file. Each daemon declares its own table. */
#ifndef HALLBUS_CONFIG_H
#define HALLBUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum hb_config_type {
    HB_CONF_STRING, /* char * (owned by the config; freed by hb_config_free) */
    HB_CONF_INT,    /* int64_t, with min/max */
    HB_CONF_BOOL,   /* bool: true/false/yes/no/on/off/1/0 */
    HB_CONF_SIZE,   /* uint64_t bytes: "64M", "1G", "4096", with min/max */
    HB_CONF_DURATION, /* int64_t milliseconds: "500ms", "30s", "5m", "2h", "7d" */
};

typedef struct hb_config_def {
    const char *name;     /* e.g. "data" for --data / "data = ..." */
    enum hb_config_type type;
    size_t offset;        /* offsetof() of the field in the daemon's struct */
    const char *defval;   /* default in text form, parsed like a user value; NULL = required */
    int64_t min, max;     /* bounds for INT/SIZE/DURATION (ignored otherwise) */
    bool reloadable;      /* may change on SIGHUP */
    const char *help;     /* one line for --help */
} hb_config_def_t;

/* Fills `target` from the defaults, then the file named by "--config FILE"
 * (if given), then the rest of the command line. On error returns HB_EINVAL
 * with `err` naming the source (file:line or the option), the setting and
 * what is wrong: unknown setting, bad value, out of bounds, missing required
 * setting. "--help" makes it return HB_ENOTFOUND after printing help to `out`.
 * `target` must start zeroed; after an error or --help it holds no strings.
 * A table row named "config" (HB_CONF_STRING, defval NULL) receives the
 * --config file name, for hb_config_reload; the file itself may not set it.
 * The command line is remembered (until hb_config_free of this target) so
 * that a reload keeps it overriding the file. */
int hb_config_load(const hb_config_def_t *defs, size_t ndefs, void *target, int argc,
                   char **argv, FILE *out, char *err, size_t errlen);
/* Re-reads `file` and applies only the reloadable settings; a change to a
 * non-reloadable one is reported in `err` and nothing is applied. The new
 * values are what a restart would give: defaults, the file, then the command
 * line given to hb_config_load (a setting removed from the file returns to
 * its default). */
int hb_config_reload(const hb_config_def_t *defs, size_t ndefs, void *target, const char *file,
                     char *err, size_t errlen);
/* Sets one setting from text (as the file or command line would). */
int hb_config_set(const hb_config_def_t *defs, size_t ndefs, void *target, const char *name,
                  const char *value, char *err, size_t errlen);
/* Prints usage from the table. */
void hb_config_usage(const hb_config_def_t *defs, size_t ndefs, const char *prog, FILE *out);
/* Parses a duration as the table does ("500ms", "30s", "5m", "2h", "7d";
 * a bare number is milliseconds) into milliseconds. 0, HB_EPARSE or
 * HB_ERANGE. For settings whose value holds durations inside a list. */
int hb_duration_parse(const char *text, int64_t *out_ms);

/* Frees the strings the config owns. */
void hb_config_free(const hb_config_def_t *defs, size_t ndefs, void *target);

#endif
