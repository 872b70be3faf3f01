/* A web page's files in memory (see static.h). Loading opens each entry
 * relative to the folder's own descriptor with O_NOFOLLOW and checks the
 * opened descriptor, so a link or a file swapped in between the listing and
 * the read is never served. Serving is a lookup in a small table. */
#include "hallbus/destroy.h"
#include "hallbus/static.h"

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

struct hb_static {
    char what[32];                   /* "dashboard", "hall pages": for logs and the 404 */
    char csp[HB_STATIC_CSP_MAX + 1]; /* Content-Security-Policy of every answer; "" sends none */
    hb_static_file_t files[HB_STATIC_FILES_MAX];
    size_t n;
    size_t total;
    char why[320]; /* why / has nothing to serve, for the 404 */
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
    if (n == 0 || n > HB_STATIC_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int s_load_fd(const char *what, int fd, const char *dir, const char *name, size_t room,
                     hb_static_file_t *f);

/* Reads one entry of the folder into `f`. HB_EINVAL: not servable (skip
 * it); HB_ETOOBIG: over a bound (skip it); HB_EIO, HB_ENOMEM. */
static int s_load_one(const char *what, int dfd, const char *dir, const char *name, size_t room,
                      hb_static_file_t *f)
{
    /* O_NONBLOCK so that a FIFO put in the folder cannot stall the start. */
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    return s_load_fd(what, fd, dir, name, room, f);
}

/* Reads the opened `fd` (closed here; -1: the open failed, errno says why)
 * into `f`, named `name`; s_load_one's answers. */
static int s_load_fd(const char *what, int fd, const char *dir, const char *name, size_t room,
                     hb_static_file_t *f)
{
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            hb_warn("%s: no file %s/%s; not served", what, dir, name);
            return HB_ENOTFOUND;
        }
        if (errno == ELOOP) {
            hb_warn("%s: %s/%s is a symbolic link; not served", what, dir, name);
            return HB_EINVAL;
        }
        hb_warn("%s: cannot open %s/%s: %s; not served", what, dir, name, strerror(errno));
        return HB_EIO;
    }
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        hb_warn("%s: cannot stat %s/%s: %s; not served", what, dir, name, strerror(errno));
        rc = HB_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        hb_warn("%s: %s/%s is not a regular file; not served", what, dir, name);
        rc = HB_EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > HB_STATIC_FILE_MAX || (size_t)st.st_size > room) {
        hb_warn("%s: %s/%s has %lld bytes, over the %s limit (%u per file, %u in all); "
                "not served",
                what, dir, name, (long long)st.st_size,
                (uint64_t)st.st_size > HB_STATIC_FILE_MAX ? "per-file" : "total",
                HB_STATIC_FILE_MAX, HB_STATIC_TOTAL_MAX);
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
        hb_warn("%s: %s/%s changed while it was read (%zu of %zu bytes); not served", what, dir,
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

/* The subfolders loaded too, one level down: the message catalogues
 * (i18n.js loads i18n/zh-CN.js and the like). Each is served as
 * "/NAME/FILE"; any other folder is skipped as before. */
static const char *const s_subdirs[] = {"i18n"};

static bool s_subdir(const char *name)
{
    for (size_t i = 0; i < sizeof s_subdirs / sizeof s_subdirs[0]; i++)
        if (strcmp(s_subdirs[i], name) == 0)
            return true;
    return false;
}

/* Loads the servable files directly in the listed folder `d` (`dir` for
 * the log), each named `prefix` + its name: "" for the set's own
 * folder, "i18n/" for a subfolder of s_subdirs. 0, HB_ENOMEM or HB_EIO. */
static int s_load_dir(hb_static_t *s, DIR *d, const char *dir, const char *prefix, char *err,
                      size_t errlen)
{
    int dfd = dirfd(d);
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and hidden files alike */
        if (!prefix[0] && s_subdir(e->d_name))
            continue; /* loaded on its own, below */
        if (!s_name_ok(e->d_name) || !s_type_of(e->d_name)) {
            hb_warn("%s: %s/%.80s is not a servable name or type; not served", s->what, dir,
                    e->d_name);
            continue;
        }
        if (s->n == HB_STATIC_FILES_MAX) {
            hb_warn("%s: %s has more than %d files; %s and later ones not served", s->what, dir,
                    HB_STATIC_FILES_MAX, e->d_name);
            break;
        }
        int r = s_load_one(s->what, dfd, dir, e->d_name, HB_STATIC_TOTAL_MAX - s->total,
                           &s->files[s->n]);
        if (r == HB_ENOMEM) {
            rc = r;
            hb_errf(err, errlen, "out of memory reading the %s", s->what);
            break;
        }
        if (r == 0) {
            hb_static_file_t *f = &s->files[s->n];
            snprintf(f->name, sizeof f->name, "%.15s%.64s", prefix, e->d_name);
            s->total += f->len;
            s->n++;
        }
        errno = 0;
    }
    if (rc == 0 && errno != 0) {
        rc = HB_EIO;
        hb_errf(err, errlen, "cannot list the %s folder %s: %s", s->what, dir, strerror(errno));
    }
    return rc;
}

int hb_static_open(const char *dir, const char *what, hb_static_t **out, char *err, size_t errlen)
{
    hb_static_t *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) {
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    snprintf(s->what, sizeof s->what, "%s", what && what[0] ? what : "web page");
    if (!dir || !dir[0]) {
        snprintf(s->why, sizeof s->why, "the %s is not served (its folder setting is empty)",
                 s->what);
        hb_errf(err, errlen, "%s", s->why);
        return HB_EINVAL;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        snprintf(s->why, sizeof s->why, "the %s is not installed: cannot open its folder %.180s",
                 s->what, dir);
        hb_errf(err, errlen, "cannot open the %s folder %s: %s", s->what, dir, strerror(e));
        return e == ENOENT || e == ENOTDIR ? HB_ENOTFOUND : HB_EIO;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        snprintf(s->why, sizeof s->why, "the %s folder cannot be read", s->what);
        hb_errf(err, errlen, "cannot list the %s folder %s: %s", s->what, dir, strerror(errno));
        return HB_EIO;
    }
    int rc = s_load_dir(s, d, dir, "", err, errlen);
    for (size_t i = 0; rc == 0 && i < sizeof s_subdirs / sizeof s_subdirs[0]; i++) {
        char sub[300], prefix[32];
        snprintf(sub, sizeof sub, "%.200s/%s", dir, s_subdirs[i]);
        snprintf(prefix, sizeof prefix, "%s/", s_subdirs[i]);
        /* O_NOFOLLOW: a link in the folder's place is not followed out of it. */
        int sfd = openat(dirfd(d), s_subdirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0) {
            if (errno != ENOENT)
                /* Named by the daemon that reads it ("not a folder hqd may
                 * read"): program_invocation_short_name is glibc's. */
                hb_warn("%s: %s is not a folder %s may read (%s); its files not served", s->what,
                        sub, program_invocation_short_name,
                        errno == ELOOP || errno == ENOTDIR ? "a symbolic link or a file"
                                                           : strerror(errno));
            continue;
        }
        DIR *sd = fdopendir(sfd);
        if (!sd) {
            close(sfd);
            hb_warn("%s: cannot list %s: %s; its files not served", s->what, sub, strerror(errno));
            continue;
        }
        rc = s_load_dir(s, sd, sub, prefix, err, errlen);
        closedir(sd);
    }
    closedir(d); /* closes dfd */
    if (rc == 0 && !hb_static_find(s, "/"))
        snprintf(s->why, sizeof s->why, "the %s folder %.180s has no index.html", s->what, dir);
    return rc;
}

/* The file of the set named `name`, or NULL. */
static hb_static_file_t *s_named(hb_static_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->files[i].name, name) == 0)
            return &s->files[i];
    return NULL;
}

/* Room for a file named `name` (a servable one): 0 with the bytes it may
 * have in *room (a file it replaces gives its own back), or HB_EINVAL /
 * HB_ETOOBIG with `err`. */
static int s_room(hb_static_t *s, const char *name, size_t *room, char *err, size_t errlen)
{
    if (!name || !s_name_ok(name) || !s_type_of(name)) {
        hb_errf(err, errlen, "%.80s is not a name the %s can serve", name ? name : "", s->what);
        return HB_EINVAL;
    }
    const hb_static_file_t *old = s_named(s, name);
    if (!old && s->n == HB_STATIC_FILES_MAX) {
        hb_errf(err, errlen, "the %s has %d files already", s->what, HB_STATIC_FILES_MAX);
        return HB_ETOOBIG;
    }
    *room = HB_STATIC_TOTAL_MAX - s->total + (old ? old->len : 0);
    return 0;
}

/* Puts `f` (its data now the set's) into the set as `name`, in the place
 * of a file of that name; s_room said there is room. */
static void s_put(hb_static_t *s, const char *name, hb_static_file_t *f)
{
    snprintf(f->name, sizeof f->name, "%s", name);
    f->content_type = s_type_of(name);
    hb_static_file_t *old = s_named(s, name);
    if (old) {
        s->total -= old->len;
        free(old->data);
        *old = *f;
    } else {
        s->files[s->n++] = *f;
    }
    s->total += f->len;
}

/* The value of the placeholder `key` (`klen` bytes): 0 with *value (NULL:
 * the line is left out), or HB_EINVAL for a key no variable names. */
static int s_var(const hb_static_var_t *vars, size_t nvars, const char *key, size_t klen,
                 const char **value)
{
    for (size_t i = 0; i < nvars; i++) {
        if (strlen(vars[i].key) == klen && memcmp(vars[i].key, key, klen) == 0) {
            *value = vars[i].value;
            return 0;
        }
    }
    return HB_EINVAL;
}

/* The next placeholder in [p, end): its "{{" (NULL: none), its key's
 * bytes from there in *klen. */
static const char *s_placeholder(const char *p, const char *end, size_t *klen)
{
    const char *lb = memmem(p, (size_t)(end - p), "{{", 2);
    const char *rb = lb ? memmem(lb + 2, (size_t)(end - lb - 2), "}}", 2) : NULL;
    if (!rb)
        return NULL;
    *klen = (size_t)(rb - lb - 2);
    return lb;
}

/* Renders the template `t` line by line into `out` (NULL: only counts),
 * its length in *len: one pass for the size, one to write. */
static int s_render(const char *what, const hb_static_file_t *t, const hb_static_var_t *vars,
                    size_t nvars, char *out, size_t *len, char *err, size_t errlen)
{
    size_t n = 0, klen = 0;
    const char *value = NULL;
    const char *line = t->data, *end = t->data + t->len;
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        /* Is every placeholder of the line known, and does one of them
         * leave the line out? */
        bool keep = true;
        for (const char *p = line, *ph; (ph = s_placeholder(p, next, &klen)) != NULL;
             p = ph + klen + 4) {
            if (s_var(vars, nvars, ph + 2, klen, &value) != 0) {
                hb_errf(err, errlen, "%s: {{%.*s}} is no placeholder of the %s", t->name,
                        (int)(klen > 40 ? 40 : klen), ph + 2, what);
                return HB_EINVAL;
            }
            keep = keep && value;
        }
        for (const char *p = line; keep;) {
            const char *ph = s_placeholder(p, next, &klen);
            const char *upto = ph ? ph : next;
            if (out)
                memcpy(out + n, p, (size_t)(upto - p));
            n += (size_t)(upto - p);
            if (!ph)
                break;
            s_var(vars, nvars, ph + 2, klen, &value);
            if (out)
                memcpy(out + n, value, strlen(value));
            n += strlen(value);
            p = ph + klen + 4;
        }
        line = next;
    }
    *len = n;
    return 0;
}

int hb_static_render(hb_static_t *s, const char *tmpl, const char *name,
                     const hb_static_var_t *vars, size_t nvars, char *err, size_t errlen)
{
    const hb_static_file_t *t = tmpl ? s_named(s, tmpl) : NULL;
    if (!t) {
        hb_errf(err, errlen, "the %s has no template %.80s", s->what, tmpl ? tmpl : "(none)");
        return HB_ENOTFOUND;
    }
    size_t room, len;
    int rc = s_room(s, name, &room, err, errlen);
    if (rc == 0)
        rc = s_render(s->what, t, vars, nvars, NULL, &len, err, errlen);
    if (rc != 0)
        return rc;
    if (len > HB_STATIC_FILE_MAX || len > room) {
        hb_errf(err, errlen, "%s made from %s is over the %s's size limits", name, tmpl, s->what);
        return HB_ETOOBIG;
    }
    hb_static_file_t f;
    memset(&f, 0, sizeof f);
    f.data = malloc(len + 1);
    if (!f.data) {
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    /* The template is read before s_put may replace it (a file rendered
     * onto its own template's name). */
    s_render(s->what, t, vars, nvars, f.data, &f.len, err, errlen);
    f.data[f.len] = '\0';
    s_put(s, name, &f);
    return 0;
}

int hb_static_add(hb_static_t *s, const char *name, const char *path, char *err, size_t errlen)
{
    if (!path || !path[0]) {
        hb_errf(err, errlen, "no file named for %s", name ? name : "(none)");
        return HB_EINVAL;
    }
    size_t room;
    int rc = s_room(s, name, &room, err, errlen);
    if (rc != 0)
        return rc;
    hb_static_file_t f;
    memset(&f, 0, sizeof f);
    /* The log's words name the folder and the file, as for the folder's. */
    char dir[256];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    int e = errno;
    rc = s_load_fd(s->what, fd, dir, base, room, &f);
    if (rc != 0) {
        if (rc == HB_ENOTFOUND)
            hb_errf(err, errlen, "no file %s", path);
        else if (rc == HB_ETOOBIG)
            hb_errf(err, errlen, "%s is over the %s's size limits", path, s->what);
        else if (rc == HB_EINVAL)
            hb_errf(err, errlen, "%s is not a regular file", path);
        else
            hb_errf(err, errlen, "cannot read %s: %s", path, fd < 0 ? strerror(e) : "see the log");
        return rc == HB_EINVAL || rc == HB_ENOTFOUND || rc == HB_ETOOBIG || rc == HB_ENOMEM
                   ? rc
                   : HB_EIO;
    }
    s_put(s, name, &f);
    return 0;
}

static void s_fini(hb_static_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->files[i].data);
}

void hb_static_destroy(hb_static_t **sp) { HB_DESTROY(sp, s_fini); }

size_t hb_static_count(const hb_static_t *s) { return s ? s->n : 0; }

int hb_static_set_csp(hb_static_t *s, const char *csp)
{
    if (!s || !csp || strlen(csp) > HB_STATIC_CSP_MAX || strpbrk(csp, "\r\n"))
        return HB_EINVAL;
    snprintf(s->csp, sizeof s->csp, "%s", csp);
    return 0;
}

const hb_static_file_t *hb_static_file(const hb_static_t *s, const char *name)
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

const hb_static_file_t *hb_static_find(const hb_static_t *s, const char *path)
{
    if (!path || path[0] != '/')
        return NULL;
    return hb_static_file(s, path[1] ? path + 1 : "index.html");
}

void hb_static_serve(const hb_static_t *s, hb_http_req_t *req, const char *name)
{
    const hb_static_file_t *f = name ? hb_static_file(s, name) : hb_static_find(s, "/");
    if (!f) {
        /* With nothing loaded, every path says why (no folder, say). */
        if (!name || !s || s->n == 0)
            hb_http_reply_error(req, 404, "not_found", "%s", s ? s->why : "the page is not loaded");
        else
            hb_http_reply_error(req, 404, "not_found", "no route for %s %.200s", req->method,
                                req->path);
        return;
    }
    /* Cache-Control: no-store comes with every answer (http.h): a page
     * reloaded after an upgrade must not mix old and new files. */
    if (s->csp[0])
        hb_http_add_header(req, "content-security-policy", s->csp);
    hb_http_reply_raw(req, 200, f->content_type, f->data, f->len);
}

void hb_static_serve_i18n(const hb_static_t *s, hb_http_req_t *req, const char *file)
{
    /* A name longer than any loaded one matches nothing, rather than the
     * file its first bytes name. */
    char name[HB_STATIC_PATH_MAX + 1] = "";
    if (file && strlen(file) <= HB_STATIC_NAME_MAX)
        snprintf(name, sizeof name, "i18n/%s", file);
    hb_static_serve(s, req, name);
}
