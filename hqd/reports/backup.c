/* HQ's hot backup (see backup.h). */
#include "backup.h"

#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_MAX_HQ 4096

typedef struct env_list {
    char name[HQ_BACKUP_ENVS_MAX][256];
    size_t n;
} env_list_t;

static int s_name_cmp(const void *a, const void *b) { return strcmp(a, b); }

/* The environments of `dir`, root first, then sub-folders by name. */
static void s_list(const char *dir, env_list_t *l)
{
    char path[PATH_MAX_HQ + 280];
    struct stat st;
    l->n = 0;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &st) == 0)
        l->name[l->n++][0] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t first = l->n;
    struct dirent *e;
    while ((e = readdir(d)) && l->n < HQ_BACKUP_ENVS_MAX) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof l->name[0])
            continue;
        snprintf(path, sizeof path, "%s/%s/data.mdb", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            snprintf(l->name[l->n++], sizeof l->name[0], "%s", e->d_name);
    }
    closedir(d);
    qsort(l->name[first], l->n - first, sizeof l->name[0], s_name_cmp);
}

size_t hq_data_envs(const char *dir, hq_env_fn fn, void *arg)
{
    env_list_t l;
    s_list(dir, &l);
    for (size_t i = 0; i < l.n; i++) {
        char path[PATH_MAX_HQ + 260], file[PATH_MAX_HQ + 280];
        snprintf(path, sizeof path, "%s%s%s", dir, l.name[i][0] ? "/" : "", l.name[i]);
        snprintf(file, sizeof file, "%s/data.mdb", path);
        struct stat st;
        fn(path, l.name[i], stat(file, &st) == 0 ? (uint64_t)st.st_size : 0, arg);
    }
    return l.n;
}

static int s_fsync_path(const char *path, bool dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* One environment into `dst` (made here), in one read transaction. */
static int s_copy_env(const char *src, const char *dst, bool compact, char *err, size_t errlen)
{
    if (hb_mkdir_p(dst, 0750) != 0) {
        hb_errf(err, errlen, "cannot create %s: %s", dst, strerror(errno));
        return HB_EIO;
    }
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 64);
    /* Read-only: the copy takes a reader slot like any reader of hqd's,
     * and the map size is the environment's own. */
    if (rc == 0)
        rc = mdb_env_open(env, src, MDB_RDONLY | MDB_NOTLS, 0640);
    if (rc == 0)
        rc = mdb_env_copy2(env, dst, compact ? MDB_CP_COMPACT : 0);
    if (rc != 0)
        hb_errf(err, errlen, "cannot copy the environment %s: %s", src, mdb_strerror(rc));
    mdb_env_close(env);
    if (rc != 0)
        return HB_EDB;
    char file[PATH_MAX_HQ + 512];
    snprintf(file, sizeof file, "%s/data.mdb", dst);
    if (s_fsync_path(file, false) != 0 || s_fsync_path(dst, true) != 0) {
        hb_errf(err, errlen, "cannot sync %s: %s", file, strerror(errno));
        return HB_EIO;
    }
    return 0;
}

static int s_copy_file(const char *src, const char *dst, mode_t mode, char *err, size_t errlen)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        hb_errf(err, errlen, "cannot read %s: %s", src, strerror(errno));
        return HB_EIO;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
    if (out < 0) {
        hb_errf(err, errlen, "cannot create %s: %s", dst, strerror(errno));
        close(in);
        return HB_EIO;
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0 || write(out, buf, (size_t)n) != n) {
            hb_errf(err, errlen, "cannot copy %s: %s", src, strerror(errno));
            rc = HB_EIO;
            break;
        }
    }
    if (rc == 0 && fsync(out) != 0)
        rc = HB_EIO;
    close(in);
    close(out);
    return rc;
}

/* The key folder's files (hq.key, hq.key_secret, halls/...), modes kept. */
static int s_copy_tree(const char *src, const char *dst, int depth, size_t *files, char *err,
                       size_t errlen)
{
    struct stat st;
    if (stat(src, &st) != 0) {
        hb_errf(err, errlen, "cannot read %s: %s", src, strerror(errno));
        return HB_EIO;
    }
    if (mkdir(dst, st.st_mode & 0777) != 0 && errno != EEXIST) {
        hb_errf(err, errlen, "cannot create %s: %s", dst, strerror(errno));
        return HB_EIO;
    }
    DIR *d = opendir(src);
    if (!d) {
        hb_errf(err, errlen, "cannot read %s: %s", src, strerror(errno));
        return HB_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char a[PATH_MAX_HQ + 260], b[PATH_MAX_HQ + 260];
        snprintf(a, sizeof a, "%s/%s", src, e->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
        if (lstat(a, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 4) {
            rc = s_copy_tree(a, b, depth + 1, files, err, errlen);
        } else if (S_ISREG(st.st_mode)) {
            rc = s_copy_file(a, b, st.st_mode, err, errlen);
            (*files)++;
        }
    }
    closedir(d);
    if (rc == 0)
        s_fsync_path(dst, true);
    return rc;
}

/* Copy order: what describes the event store first, the store last. */
static int s_rank(const char *name)
{
    if (strcmp(name, "rollups") == 0 || strcmp(name, "live") == 0)
        return 0;
    return name[0] ? 1 : 2;
}

int hq_backup(const char *data, const char *keys, const char *out, bool compact,
              hq_backup_result_t *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    int64_t t0 = hb_mono_ms();
    struct stat st;
    if (stat(out, &st) == 0) {
        hb_errf(err, errlen, "%s exists already: a backup goes to a new folder", out);
        return HB_EEXIST;
    }
    env_list_t l;
    s_list(data, &l);
    if (l.n == 0 || l.name[0][0] != '\0') {
        hb_errf(err, errlen, "%s holds no event store (data.mdb): not hqd's data folder", data);
        return HB_ENOTFOUND;
    }
    char tmp[PATH_MAX_HQ];
    snprintf(tmp, sizeof tmp, "%s.partial", out);
    if (stat(tmp, &st) == 0) {
        hb_errf(err, errlen, "%s is left from a backup that did not finish: remove it first", tmp);
        return HB_EEXIST;
    }
    if (hb_mkdir_p(tmp, 0750) != 0) {
        hb_errf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return HB_EIO;
    }
    int rc = 0;
    for (int rank = 0; rank <= 2 && rc == 0; rank++) {
        for (size_t i = 0; i < l.n && rc == 0; i++) {
            if (s_rank(l.name[i]) != rank)
                continue;
            char src[PATH_MAX_HQ], dst[PATH_MAX_HQ + 300], file[PATH_MAX_HQ + 320];
            snprintf(src, sizeof src, "%s%s%s", data, l.name[i][0] ? "/" : "", l.name[i]);
            snprintf(dst, sizeof dst, "%s%s%s", tmp, l.name[i][0] ? "/" : "", l.name[i]);
            rc = s_copy_env(src, dst, compact, err, errlen);
            snprintf(file, sizeof file, "%s/data.mdb", dst);
            if (rc == 0 && stat(file, &st) == 0) {
                res->envs++;
                res->bytes += (uint64_t)st.st_size;
            }
        }
    }
    if (rc == 0 && keys) {
        char kdst[PATH_MAX_HQ + 32];
        snprintf(kdst, sizeof kdst, "%s/keys", tmp);
        rc = s_copy_tree(keys, kdst, 0, &res->key_files, err, errlen);
    }
    if (rc == 0) {
        char note[PATH_MAX_HQ + 32], when[HB_RFC3339_MAX];
        snprintf(note, sizeof note, "%s/BACKUP", tmp);
        hb_time_format(hb_now_ms(), when);
        FILE *f = fopen(note, "w");
        if (f) {
            fprintf(f,
                    "hqd backup of %s taken %s: %zu environment(s), %llu bytes, %zu key "
                    "file(s).\nRestore: hqd --data %s --keys %s/keys\n",
                    data, when, res->envs, (unsigned long long)res->bytes, res->key_files, out,
                    out);
            fflush(f);
            fsync(fileno(f));
            fclose(f);
        }
        s_fsync_path(tmp, true);
        if (rename(tmp, out) != 0) {
            hb_errf(err, errlen, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
            rc = HB_EIO;
        }
    }
    if (rc == 0) {
        /* The rename is durable once the parent folder is synced. */
        char parent[PATH_MAX_HQ];
        snprintf(parent, sizeof parent, "%s", out);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent)
            *slash = '\0';
        else
            snprintf(parent, sizeof parent, "%s", slash ? "/" : ".");
        s_fsync_path(parent, true);
    }
    res->ms = (double)(hb_mono_ms() - t0);
    return rc;
}
