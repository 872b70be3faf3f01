/* Configuration as one table of settings (name, type, default, bounds,
 * reloadable, help), in the manner of Redis's config.c: parsing the config
 * file, the command line, validation and --help all come from the table, so
 * a setting cannot be added without its default and its limits.
 *
 * Two readers share the table's parser. A daemon's settings
 * (hb_config_load): "name = value" lines in a file ('#' starts a comment;
 * values may be quoted with "..."), then the command line as "--name value"
 * or "--name=value" (a BOOL alone, last or before another option, is true),
 * which overrides the file, and SIGHUP reloads. A tool's
 * command line (hb_config_args: hallctl's commands, hallsim, the
 * benchmarks): the same options, plus flags (a BOOL given alone), positional
 * arguments and environment variables, and no file. Both answer --help and
 * --version. Each program declares its own table. */
#ifndef HALLBUS_CONFIG_H
#define HALLBUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HB_CONFIG_DEFS_MAX 128 /* rows in one table */
#define HB_CONFIG_ARGS_MAX 8   /* positional arguments of a tool */

enum hb_config_type {
    HB_CONF_STRING,   /* char * (owned by the config; freed by hb_config_free) */
    HB_CONF_INT,      /* int64_t, with min/max */
    HB_CONF_BOOL,     /* bool: true/false/yes/no/on/off/1/0; a tool's flag when alone */
    HB_CONF_SIZE,     /* uint64_t bytes: "64M", "1G", "4096", with min/max */
    HB_CONF_DURATION, /* int64_t milliseconds: "500ms", "30s", "5m", "2h", "7d" */
    HB_CONF_LIST,     /* hb_config_list_t: each occurrence adds a value, at most `max` */
    HB_CONF_CUSTOM,   /* the row's parse() reads the text into its field (not reloadable) */
};

/* The values of a LIST setting, in the order given. The strings are owned
 * by the config (freed by hb_config_free). The command line's values replace
 * the file's, as for any other setting. */
typedef struct hb_config_list {
    char **items;
    size_t n;
} hb_config_list_t;

/* Reads `text` into `field` (a CUSTOM row's own type, which must not own
 * memory). Returns 0, or HB_EINVAL with `why` saying what a good value is. */
typedef int (*hb_config_parse_fn)(const char *text, void *field, char *why, size_t whylen);

typedef struct hb_config_def {
    const char *name; /* e.g. "data" for --data / "data = ..." */
    enum hb_config_type type;
    size_t offset;      /* offsetof() of the field in the program's struct */
    const char *defval; /* default in text form, parsed like a user value; NULL = required */
    int64_t min, max;   /* bounds for INT/SIZE/DURATION; LIST: most values */
    bool reloadable;    /* may change on SIGHUP */
    const char *help;   /* one line for --help */
    /* Needed by some rows only; zero is "not used". */
    const char *at_most;      /* the name of a row of the same type this one may not exceed */
    bool optional;            /* with defval NULL: may be left out, the field stays zero */
    const char *env;          /* tools: read from this variable when not on the command line */
    const char *meta;         /* what the value is in usage ("URL"); default: from the type */
    hb_config_parse_fn parse; /* CUSTOM rows */
} hb_config_def_t;

/* A row for `field` of the struct `type_s`, the rest of the row's members
 * (at_most, optional, env, meta, parse) given after, by name:
 *   #define CFG(...) HB_CONF_ROW(hqd_config_t, __VA_ARGS__)
 *   CFG("heartbeat", HB_CONF_DURATION, heartbeat_ms, "1s", 100, 60000, false, "…"),
 *   CFG("reconnect_min", …, "…", .at_most = "reconnect_max"), */
#define HB_CONF_ROW(type_s, name_, type_, field, def, lo, hi, reload, help_, ...)                  \
    {                                                                                              \
        .name = (name_), .type = (type_), .offset = offsetof(type_s, field), .defval = (def),      \
        .min = (lo), .max = (hi), .reloadable = (reload), .help = (help_), __VA_ARGS__             \
    }

/* A tool's option: as HB_CONF_ROW, never reloadable (a tool does not
 * reload), and with the name --help gives its value (`meta_`: "N", "PATH"):
 *   #define ROW(...) HB_CONF_OPT(settings_t, __VA_ARGS__)
 *   ROW("seconds", HB_CONF_INT, seconds, "30", 1, 86400, "S", "how long it runs"), */
#define HB_CONF_OPT(type_s, name_, type_, field, def, lo, hi, meta_, help_, ...)                   \
    HB_CONF_ROW(type_s, name_, type_, field, def, lo, hi, false, help_, .meta = (meta_),           \
                __VA_ARGS__)

/* A sub-command's text option that may be left out (no default; NULL when
 * not given), as HB_CONF_OPT:
 *   #define ROW(...) HB_CONF_TEXT_OPT(cli_opts_t, __VA_ARGS__)
 *   ROW("data", data, "DIR", "the data folder"), */
#define HB_CONF_TEXT_OPT(type_s, name_, field, meta_, help_)                                       \
    HB_CONF_OPT(type_s, name_, HB_CONF_STRING, field, NULL, 0, 0, meta_, help_, .optional = true)

/* Fills `target` from the defaults, then the file named by "--config FILE"
 * (if given), then the rest of the command line. On error returns HB_EINVAL
 * with `err` naming the source (file:line or the option), the setting and
 * what is wrong: unknown setting, bad value, out of bounds, missing required
 * setting, one setting above the one it may not exceed (at_most). "--help"
 * and "--version" make it return HB_ENOTFOUND after printing the help or
 * "PROG VERSION (revision R)" to `out`.
 * `target` must start zeroed; after an error or --help it holds no strings.
 * A table row named "config" (HB_CONF_STRING, defval NULL) receives the
 * --config file name, for hb_config_reload; the file itself may not set it.
 * The command line is remembered (until hb_config_free of this target) so
 * that a reload keeps it overriding the file. */
int hb_config_load(const hb_config_def_t *defs, size_t ndefs, void *target, int argc, char **argv,
                   FILE *out, char *err, size_t errlen);
/* Re-reads `file` and applies only the reloadable settings; a change to a
 * non-reloadable one is reported in `err` and nothing is applied. The new
 * values are what a restart would give: defaults, the file, then the command
 * line given to hb_config_load (a setting removed from the file returns to
 * its default). A table with CUSTOM rows cannot be reloaded (HB_EINVAL). */
int hb_config_reload(const hb_config_def_t *defs, size_t ndefs, void *target, const char *file,
                     char *err, size_t errlen);
/* Sets one setting from text (as the file or command line would; a LIST
 * setting gets one more value). */
int hb_config_set(const hb_config_def_t *defs, size_t ndefs, void *target, const char *name,
                  const char *value, char *err, size_t errlen);
/* Prints a daemon's usage from the table. */
void hb_config_usage(const hb_config_def_t *defs, size_t ndefs, const char *prog, FILE *out);
/* For other writers of the same usage (the manual pages, manpage.h): what
 * --help says after a row's help, one line ("[default: 1s] [100ms..1m]
 * [reloadable]\n"; `cli` NULL for a daemon's setting), and what its value
 * is called ("DURATION"). */
struct hb_config_cli;
void hb_config_row_notes(const hb_config_def_t *d, const struct hb_config_cli *cli, FILE *out);
const char *hb_config_meta(const hb_config_def_t *d);
/* Parses a duration as the table does ("500ms", "30s", "5m", "2h", "7d";
 * a bare number is milliseconds) into milliseconds. 0, HB_EPARSE or
 * HB_ERANGE. For settings whose value holds durations inside a list. */
int hb_duration_parse(const char *text, int64_t *out_ms);

/* Frees the strings and lists the config owns. */
void hb_config_free(const hb_config_def_t *defs, size_t ndefs, void *target);

/* ------------------------------------------------- a tool's command line */

/* What a tool (or one of its commands) takes besides its table. */
typedef struct hb_config_cli {
    const char *prog;            /* "hallctl": --version says it, usage starts with it */
    const char *command;         /* "ticket", or NULL for a tool without commands */
    const char *usage;           /* the rest of the usage line; NULL: "[options]" */
    const char *about;           /* what it does, for --help; may be NULL */
    const char *takes;           /* NULL: every row; else the names it takes, space-separated;
                              another row of the table "does not apply" */
    const char *needs;           /* names it cannot do without (beside rows with no default
                              that are not optional), space-separated; may be NULL */
    unsigned min_args, max_args; /* positional arguments (max <= HB_CONFIG_ARGS_MAX) */
    const char *args_what;       /* what they are, for "needs a hall id" */
} hb_config_cli_t;

/* Where each setting came from, and the positional arguments. */
enum hb_config_source { HB_CONF_FROM_DEFAULT = 0, HB_CONF_FROM_ENV, HB_CONF_FROM_ARGS };
typedef struct hb_config_parsed {
    const char *args[HB_CONFIG_ARGS_MAX]; /* point into argv */
    unsigned n_args;
    unsigned char source[HB_CONFIG_DEFS_MAX]; /* enum hb_config_source, by row */
} hb_config_parsed_t;

/* Reads a tool's command line, argv[1..argc-1] (argv[0] is the program or
 * the command), into `target` (zeroed): defaults, then the environment
 * (rows with `env`), then "--name value", "--name=value" and, for BOOL
 * rows, "--name" alone for true. An argument that does not start with '-'
 * is positional. Returns 0; HB_ENOTFOUND after printing --help or --version
 * to `out` (the caller exits 0); or HB_EINVAL with `err` saying what is
 * wrong, naming the option: unknown, not taken by this command, without its
 * value, a bad value, a missing one ("--hall is required"), too few or too
 * many arguments. After an error or --help `target` holds no strings. */
int hb_config_args(const hb_config_def_t *defs, size_t ndefs, const hb_config_cli_t *cli,
                   void *target, int argc, char **argv, hb_config_parsed_t *parsed, FILE *out,
                   char *err, size_t errlen);
/* hb_config_args for a tool's main: returns -1 to go on, or the exit code
 * after saying why on stderr with a pointer to --help (2), or after --help
 * or --version (0). */
int hb_config_args_main(const hb_config_def_t *defs, size_t ndefs, const hb_config_cli_t *cli,
                        void *target, int argc, char **argv, hb_config_parsed_t *parsed);
/* Whether a tool's command takes the row: every row when `cli` is NULL or
 * its `takes` is NULL (as --help and the manual page list them). */
bool hb_config_takes(const hb_config_cli_t *cli, const hb_config_def_t *d);
/* Whether `name` is one of the space-separated words of `list` (a `takes`
 * or `needs` list). */
bool hb_config_listed(const char *list, const char *name);
/* Prints a tool's usage: its usage line, what it does, and the rows it takes. */
void hb_config_args_usage(const hb_config_def_t *defs, size_t ndefs, const hb_config_cli_t *cli,
                          FILE *out);

#endif
