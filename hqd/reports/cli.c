/* hqd's commands (see cli.h). */
#include "cli.h"

#include "backup.h"
#include "rebuild.h"

#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/tz.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct rebuild_args {
    char *data, *from;
} rebuild_args_t;

static const hb_config_def_t s_rebuild_defs[] = {
    HB_CONF_ROW(rebuild_args_t, "data", HB_CONF_STRING, data, NULL, 0, 0, false,
                "hqd's data folder (hqd must not be running on it)", .meta = "DIR"),
    HB_CONF_ROW(rebuild_args_t, "from", HB_CONF_STRING, from, NULL, 0, 0, false,
                "count again from this local date on (default: everything the raw events hold)",
                .optional = true, .meta = "YYYY-MM-DD"),
};

int hq_cli_rollups(int argc, char **argv)
{
    static const hb_config_cli_t cli = {
        .prog = "hqd",
        .command = "rollups",
        .usage = "rebuild --data DIR [--from YYYY-MM-DD]",
        .about = "count the rollups again from the raw events (hqd stopped)",
        .min_args = 1,
        .max_args = 1,
        .args_what = "what to do with the rollups: rebuild",
    };
    rebuild_args_t a = {0};
    hb_config_parsed_t parsed;
    size_t n = sizeof s_rebuild_defs / sizeof s_rebuild_defs[0];
    int rc = hb_config_args_main(s_rebuild_defs, n, &cli, &a, argc, argv, &parsed);
    if (rc >= 0)
        return rc;
    int code = 0;
    int32_t from = INT32_MIN;
    if (strcmp(parsed.args[0], "rebuild") != 0) {
        fprintf(stderr, "hqd rollups: '%s' is not a thing to do; the one there is: rebuild\n",
                parsed.args[0]);
        code = 2;
    } else if (a.from && hb_date_parse(a.from, &from) != 0) {
        fprintf(stderr, "hqd rollups rebuild: --from must be a date YYYY-MM-DD, not '%s'\n",
                a.from);
        code = 2;
    } else {
        char err[512] = "";
        hq_rebuild_result_t res;
        rc = hq_rollups_rebuild(a.data, from, stdout, &res, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "hqd rollups rebuild: %s\n", err[0] ? err : hb_strerror(rc));
            code = 1;
        } else {
            printf("rebuilt the rollups of %zu hall(s) from %llu event(s) in %.1f s\n", res.halls,
                   (unsigned long long)res.events, res.ms / 1000.0);
        }
    }
    hb_config_free(s_rebuild_defs, n, &a);
    return code;
}

typedef struct backup_args {
    char *data, *out, *keys;
    bool compact;
} backup_args_t;

static const hb_config_def_t s_backup_defs[] = {
    HB_CONF_ROW(backup_args_t, "data", HB_CONF_STRING, data, NULL, 0, 0, false,
                "hqd's data folder (hqd may be running)", .meta = "DIR"),
    HB_CONF_ROW(backup_args_t, "out", HB_CONF_STRING, out, NULL, 0, 0, false,
                "the new folder to copy into (must not exist)", .meta = "DIR"),
    HB_CONF_ROW(backup_args_t, "keys", HB_CONF_STRING, keys, NULL, 0, 0, false,
                "hqd's key folder, copied to DIR/keys", .optional = true, .meta = "DIR"),
    HB_CONF_ROW(backup_args_t, "compact", HB_CONF_BOOL, compact, "false", 0, 0, false,
                "leave free pages out of the copies (slower, smaller)"),
};

int hq_cli_backup(int argc, char **argv)
{
    static const hb_config_cli_t cli = {
        .prog = "hqd",
        .command = "backup",
        .usage = "--data DIR --out DIR [--keys DIR] [--compact]",
        .about = "a consistent copy of HQ's data (every LMDB environment) and keys, taken "
                 "while hqd runs; restore by pointing hqd at it",
    };
    backup_args_t a = {0};
    size_t n = sizeof s_backup_defs / sizeof s_backup_defs[0];
    int rc = hb_config_args_main(s_backup_defs, n, &cli, &a, argc, argv, NULL);
    if (rc >= 0)
        return rc;
    char err[512] = "";
    hq_backup_result_t res;
    int code = 0;
    rc = hq_backup(a.data, a.keys, a.out, a.compact, &res, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "hqd backup: %s\n", err[0] ? err : hb_strerror(rc));
        code = 1;
    } else {
        printf("backed up %zu environment(s), %llu bytes, and %zu key file(s) to %s in %.1f s\n"
               "restore: hqd --data %s%s%s\n",
               res.envs, (unsigned long long)res.bytes, res.key_files, a.out, res.ms / 1000.0,
               a.out, a.keys ? " --keys " : "", a.keys ? a.out : "");
        if (a.keys)
            printf("  (the keys are in %s/keys)\n", a.out);
    }
    hb_config_free(s_backup_defs, n, &a);
    return code;
}
