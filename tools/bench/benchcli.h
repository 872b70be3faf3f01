/* A benchmark's command line as one object: its settings table (common's
 * hb_config rows) and what --help says of the tool, so that main reads and
 * frees the settings by one name. Header only; every benchmark in
 * tools/bench declares one with BENCH_CLI. */
#ifndef TOOLS_BENCH_BENCHCLI_H
#define TOOLS_BENCH_BENCHCLI_H

#include "hallbus/config.h"

#include <stddef.h>

typedef struct bench_cli {
    const hb_config_def_t *defs;
    size_t ndefs;
    hb_config_cli_t cli;
} bench_cli_t;

/* The command line of tool `prog_` read by the array `table`:
 *   static const bench_cli_t s_cli = BENCH_CLI(s_options, "bench_x", "[--n N]", "what it does"); */
#define BENCH_CLI(table, prog_, usage_, about_)                                                    \
    {                                                                                              \
        .defs = (table), .ndefs = sizeof(table) / sizeof((table)[0]),                              \
        .cli = {.prog = (prog_), .usage = (usage_), .about = (about_)},                            \
    }

/* hb_config_args_main with the benchmark's table: -1 to go on, or the exit
 * code (--help, --version, or a refused command line). */
static inline int bench_cli_read(const bench_cli_t *c, void *settings, int argc, char **argv)
{
    return hb_config_args_main(c->defs, c->ndefs, &c->cli, settings, argc, argv, NULL);
}

/* Frees the strings the settings hold. */
static inline void bench_cli_free(const bench_cli_t *c, void *settings)
{
    hb_config_free(c->defs, c->ndefs, settings);
}

#endif
