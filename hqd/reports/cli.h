/* hqd's commands besides running: `hqd rollups rebuild` and `hqd backup`,
 * each reading its own command line with the settings table's parser
 * (config.h), run by main.c when argv[1] names one. Each returns main's
 * exit code: 0 done, 1 failed (said why on stderr), 2 a bad command line. */
#ifndef HQD_CLI_H
#define HQD_CLI_H

/* `hqd rollups rebuild --data DIR [--from YYYY-MM-DD]` (argv[0] is
 * "rollups"). */
int hq_cli_rollups(int argc, char **argv);
/* `hqd backup --data DIR --out DIR [--keys DIR] [--compact]` (argv[0] is
 * "backup"). */
int hq_cli_backup(int argc, char **argv);

#endif
