/* Small file-system helpers shared by the daemons and tools: creating a
 * folder and its missing parents. Durable file writes live with the code that
 * owns the file (cert.c writes certificates through tmp + fsync + rename). */
#ifndef HALLBUS_FS_H
#define HALLBUS_FS_H

#include <sys/types.h>

/* Creates `path` and any missing parent with `mode` (an existing folder is
 * fine). Returns 0, HB_EINVAL for an over-long path, or HB_EIO (errno set). */
int hb_mkdir_p(const char *path, mode_t mode);

#endif
