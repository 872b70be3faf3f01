/* Small file-system helpers shared by the daemons and tools: creating a
 * folder and its missing parents. Durable file writes live with the code that
 * owns the file (cert.c writes certificates through tmp + fsync + rename). */
#ifndef HALLBUS_FS_H
#define HALLBUS_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Creates `path` and any missing parent with `mode` (an existing folder is
 * fine). Returns 0, HB_EINVAL for an over-long path, or HB_EIO (errno set). */
int hb_mkdir_p(const char *path, mode_t mode);

/* Writes `len` bytes to `path` so that a crash leaves the old file or the
 * new one: `path`.tmp with `mode`, fsync, rename, fsync of the folder.
 * Returns 0, HB_EINVAL (path too long) or HB_EIO (errno set). For small
 * side files (enrolment requests, certificates' answers), not data. */
int hb_file_write_durably(const char *path, const void *data, size_t len, mode_t mode);
/* Reads a whole small file into a NUL-terminated malloc'd buffer of at most
 * `max` bytes: 0, HB_ENOTFOUND, HB_EIO, or HB_ETOOBIG. */
int hb_file_read_small(const char *path, size_t max, char **out, size_t *len);

#endif
