/* The dashboard's files in memory (see static.h). Loading opens each entry
 * relative to the folder's own descriptor with O_NOFOLLOW and checks the
 * opened descriptor, so a link or a file swapped in between the listing and
 * the read is never served. Serving is a lookup in a small table. */
#include "static.h"

#include "hallbus/error.h"
#include "hallbus/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hq_static {
    hq_static_file_t files[HQ_STATIC_FILES_MAX];
    size_t n;
    size_t total;
    char why[256]; /* why / has nothing to serve, for the 404 */
};

static const struct {
    const char *ext;
    const char *type;
} s_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

static const char *s_type_of(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++) {
        size_t e = strlen(s_types[i].ext);
        if (n > e && strcmp(name + n - e, s_types[i].ext) == 0)
            return s_types[i].type;
    }
    return NULL;
}

/* Names a URL can carry as they are and a shell shows as they are. */
static bool s_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > HQ_STATIC_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int s_load_fd(int fd, const char *dir, const char *name, size_t room, hq_static_file_t *f);

/* Reads one entry of the folder into `f`. HB_EINVAL: not servable (skip
 * it); HB_ETOOBIG: over a bound (skip it); HB_EIO, HB_ENOMEM. */
static int s_load_one(int dfd, const char *dir, const char *name, size_t room,
                      hq_static_file_t *f)
{
    /* O_NONBLOCK so that a FIFO put in the folder cannot stall the start. */
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    return s_load_fd(fd, dir, name, room, f);
}

/* Reads the opened `fd` (closed here; -1: the open failed, errno says why)
 * into `f`, named `name`; s_load_one's answers. */
static int s_load_fd(int fd, const char *dir, const char *name, size_t room, hq_static_file_t *f)
{
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            hb_warn("dashboard: no file %s/%s; not served", dir, name);
            return HB_ENOTFOUND;
        }
        if (errno == ELOOP) {
            hb_warn("dashboard: %s/%s is a symbolic link; not served", dir, name);
            return HB_EINVAL;
        }
        hb_warn("dashboard: cannot open %s/%s: %s; not served", dir, name, strerror(errno));
        return HB_EIO;
    }
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        hb_warn("dashboard: cannot stat %s/%s: %s; not served", dir, name, strerror(errno));
        rc = HB_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        hb_warn("dashboard: %s/%s is not a regular file; not served", dir, name);
        rc = HB_EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > HQ_STATIC_FILE_MAX || (size_t)st.st_size > room) {
        hb_warn("dashboard: %s/%s has %lld bytes, over the %s limit (%u per file, %u in all); "
                "not served",
                dir, name, (long long)st.st_size,
                (uint64_t)st.st_size > HQ_STATIC_FILE_MAX ? "per-file" : "total",
                HQ_STATIC_FILE_MAX, HQ_STATIC_TOTAL_MAX);
        rc = HB_ETOOBIG;
        goto out;
    }
    size_t len = (size_t)st.st_size;
    char *data = malloc(len + 1);
    if (!data) {
        rc = HB_ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got <= len) {
        /* One byte more than its size: a file that grows while it is read
         * is refused rather than cut. */
        ssize_t r = read(fd, data + got, len + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got != len) {
        hb_warn("dashboard: %s/%s changed while it was read (%zu of %zu bytes); not served", dir,
                name, got, len);
        free(data);
        rc = HB_EIO;
        goto out;
    }
    data[len] = '\0';
    snprintf(f->name, sizeof f->name, "%s", name);
    f->content_type = s_type_of(name);
    f->data = data;
    f->len = len;
out:
    close(fd);
    return rc;
}

int hq_static_open(const char *dir, hq_static_t **out, char *err, size_t errlen)
{
    hq_static_t *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) {
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    if (!dir || !dir[0]) {
        snprintf(s->why, sizeof s->why,
                 "the dashboard is not served (its folder setting is empty)");
        hb_errf(err, errlen, "%s", s->why);
        return HB_EINVAL;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        snprintf(s->why, sizeof s->why,
                 "the dashboard is not installed: cannot open its folder %.180s", dir);
        hb_errf(err, errlen, "cannot open the dashboard folder %s: %s", dir, strerror(e));
        return e == ENOENT || e == ENOTDIR ? HB_ENOTFOUND : HB_EIO;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        snprintf(s->why, sizeof s->why, "the dashboard folder cannot be read");
        hb_errf(err, errlen, "cannot list the dashboard folder %s: %s", dir, strerror(errno));
        return HB_EIO;
    }
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and hidden files alike */
        if (!s_name_ok(e->d_name) || !s_type_of(e->d_name)) {
            hb_warn("dashboard: %s/%.80s is not a servable name or type; not served", dir,
                    e->d_name);
            continue;
        }
        if (s->n == HQ_STATIC_FILES_MAX) {
            hb_warn("dashboard: %s has more than %d files; %s and later ones not served", dir,
                    HQ_STATIC_FILES_MAX, e->d_name);
            break;
        }
        int r = s_load_one(dfd, dir, e->d_name, HQ_STATIC_TOTAL_MAX - s->total, &s->files[s->n]);
        if (r == HB_ENOMEM) {
            rc = r;
            hb_errf(err, errlen, "out of memory reading the dashboard");
            break;
        }
        if (r == 0) {
            s->total += s->files[s->n].len;
            s->n++;
        }
        errno = 0;
    }
    if (rc == 0 && errno != 0) {
        rc = HB_EIO;
        hb_errf(err, errlen, "cannot list the dashboard folder %s: %s", dir, strerror(errno));
    }
    closedir(d); /* closes dfd */
    if (rc == 0 && !hq_static_find(s, "/"))
        snprintf(s->why, sizeof s->why, "the dashboard folder %.180s has no index.html", dir);
    return rc;
}

int hq_static_add(hq_static_t *s, const char *name, const char *path, char *err, size_t errlen)
{
    if (!path || !path[0]) {
        hb_errf(err, errlen, "no file named for %s", name ? name : "(none)");
        return HB_EINVAL;
    }
    if (!name || !s_name_ok(name) || !s_type_of(name)) {
        hb_errf(err, errlen, "%.80s is not a name the dashboard can serve", name ? name : "");
        return HB_EINVAL;
    }
    hq_static_file_t *old = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->files[i].name, name) == 0)
            old = &s->files[i];
    if (!old && s->n == HQ_STATIC_FILES_MAX) {
        hb_errf(err, errlen, "the dashboard has %d files already", HQ_STATIC_FILES_MAX);
        return HB_ETOOBIG;
    }
    size_t room = HQ_STATIC_TOTAL_MAX - s->total + (old ? old->len : 0);
    hq_static_file_t f;
    memset(&f, 0, sizeof f);
    /* The log's words name the folder and the file, as for the folder's. */
    char dir[256];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    int e = errno;
    int rc = s_load_fd(fd, dir, base, room, &f);
    if (rc != 0) {
        if (rc == HB_ENOTFOUND)
            hb_errf(err, errlen, "no file %s", path);
        else if (rc == HB_ETOOBIG)
            hb_errf(err, errlen, "%s is over the dashboard's size limits", path);
        else if (rc == HB_EINVAL)
            hb_errf(err, errlen, "%s is not a regular file", path);
        else
            hb_errf(err, errlen, "cannot read %s: %s", path, fd < 0 ? strerror(e) : "see the log");
        return rc == HB_EINVAL || rc == HB_ENOTFOUND || rc == HB_ETOOBIG || rc == HB_ENOMEM
                   ? rc
                   : HB_EIO;
    }
    snprintf(f.name, sizeof f.name, "%s", name);
    f.content_type = s_type_of(name);
    if (old) {
        s->total -= old->len;
        free(old->data);
        *old = f;
    } else {
        s->files[s->n++] = f;
    }
    s->total += f.len;
    return 0;
}

void hq_static_destroy(hq_static_t **sp)
{
    hq_static_t *s = *sp;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->files[i].data);
    free(s);
    *sp = NULL;
}

size_t hq_static_count(const hq_static_t *s) { return s ? s->n : 0; }

const hq_static_file_t *hq_static_file(const hq_static_t *s, const char *name)
{
    if (!s || !name)
        return NULL;
    /* Every loaded name passed s_name_ok, so a name with a '/' (or anything
     * else outside the names) simply matches nothing. */
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->files[i].name, name) == 0)
            return &s->files[i];
    return NULL;
}

const hq_static_file_t *hq_static_find(const hq_static_t *s, const char *path)
{
    if (!path || path[0] != '/')
        return NULL;
    return hq_static_file(s, path[1] ? path + 1 : "index.html");
}

void hq_static_serve(const hq_static_t *s, hb_http_req_t *req, const char *name)
{
    const hq_static_file_t *f = name ? hq_static_file(s, name) : hq_static_find(s, "/");
    if (!f) {
        if (!name)
            hb_http_reply_error(req, 404, "not_found", "%s",
                                s ? s->why : "the dashboard is not loaded");
        else
            hb_http_reply_error(req, 404, "not_found", "no route for %s %.200s", req->method,
                                req->path);
        return;
    }
    /* Cache-Control: no-store comes with every answer (http.h): a dashboard
     * reloaded after an upgrade must not mix old and new files. */
    hb_http_reply_raw(req, 200, f->content_type, f->data, f->len);
}
