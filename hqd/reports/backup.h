/* One consistent copy of everything HQ keeps, taken while hqd runs: every
 * LMDB environment of the data folder (the event store at its root, and
 * each folder holding one: control, live, alerts, rollups, and whatever a
 * later part adds) copied with mdb_env_copy2 in a read transaction of its
 * own, and the key folder. Restoring is pointing hqd at the copy:
 * `hqd --data OUT --keys OUT/keys`.
 *
 * Environments that describe the event store (the rollups, the live
 * mirror's snapshots) are copied before it, so the copy's event store is
 * never behind them: on restore they catch up from it, as after a crash.
 * The copy is made in OUT.partial and renamed to OUT when whole. */
#ifndef HQD_BACKUP_H
#define HQD_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_BACKUP_ENVS_MAX 32

/* Calls `fn` for each LMDB environment of `dir` (its own data.mdb first,
 * named "", then each sub-folder's, by name) with its path and the bytes
 * of its data file. Returns how many. */
typedef void (*hq_env_fn)(const char *path, const char *name, uint64_t bytes, void *arg);
size_t hq_data_envs(const char *dir, hq_env_fn fn, void *arg);

typedef struct hq_backup_result {
    size_t envs;
    uint64_t bytes;
    size_t key_files;
    double ms;
} hq_backup_result_t;

/* Copies `data` and `keys` (may be NULL) into `out`, which must not exist.
 * `compact` leaves free pages out (slower, smaller). 0, or HB_EEXIST (out
 * exists), HB_ENOTFOUND (no event store in `data`), HB_EDB, HB_EIO with
 * `err` saying which file. */
int hq_backup(const char *data, const char *keys, const char *out, bool compact,
              hq_backup_result_t *res, char *err, size_t errlen);

#endif
