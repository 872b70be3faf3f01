/* Which hallbus this is: the version of the source (CMake's project
 * version) and the git revision it was built from (`git describe --always
 * --dirty` at build time; "unknown" for a tree without git). Said by
 * --version on every program, by /v1/status and by /metrics on both
 * daemons, and sent to HQ as a hall's software. */
#ifndef HALLBUS_VERSION_H
#define HALLBUS_VERSION_H

#include <stdio.h>

struct hb_metrics;
struct json_t;

/* "0.1.0"; static. */
const char *hb_version(void);
/* "c4a1599", "v0.1.0-3-gc4a1599-dirty" or "unknown"; static. */
const char *hb_revision(void);
/* Prints "PROG VERSION (revision REVISION)" and a newline: --version. */
void hb_version_print(const char *prog, FILE *out);
/* Sets "version" and "revision" on a JSON object (a /v1/status answer). */
void hb_version_json(struct json_t *obj);
/* Adds hallbus_build_info{version="…",revision="…"} 1 to a /metrics answer. */
void hb_version_metrics(struct hb_metrics *m);

#endif
