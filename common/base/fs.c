/* File-system helpers (see fs.h). */
#include "hallbus/fs.h"
#include "hallbus/error.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int hb_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return HB_EINVAL;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return HB_EIO;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return HB_EIO;
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return HB_EIO;
    }
    return 0;
}

int hb_file_write_durably(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX + 8];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return HB_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return HB_EIO;
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return HB_EIO;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return HB_EIO;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return HB_EIO;
    }
    /* The rename itself must survive a power cut: sync the folder. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int hb_file_read_small(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? HB_ENOTFOUND : HB_EIO;
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return HB_ENOMEM;
    }
    size_t n = fread(buf, 1, max + 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        return bad ? HB_EIO : HB_ETOOBIG;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}
