/* A web page's static files (*.html, *.js, *.css), read once from one
 * folder into memory at start and served from memory with their content
 * types: hqd's dashboard at "/" and "/NAME", branchd's hall pages at their
 * fixed paths. Requests never touch the file system, so nothing a client
 * sends can name a file outside the folder; only plain regular files of a
 * known type, within size bounds, are loaded. Not here: what the pages show
 * (hqd/dashboard/, branchd/pages/) or which path serves which file (each
 * daemon's route table). */
#ifndef HALLBUS_STATIC_H
#define HALLBUS_STATIC_H

#include "hallbus/http.h"

#include <stddef.h>

/* Bounds: a page is a handful of small files. */
#define HB_STATIC_FILES_MAX 128
#define HB_STATIC_FILE_MAX (4u << 20)   /* bytes of one file */
#define HB_STATIC_TOTAL_MAX (32u << 20) /* bytes of all files */
#define HB_STATIC_NAME_MAX 64
/* A served name: a file's name, after its subfolder's ("i18n/zh-CN.js"). */
#define HB_STATIC_PATH_MAX (HB_STATIC_NAME_MAX + 16)
#define HB_STATIC_CSP_MAX 511 /* bytes of a Content-Security-Policy */

typedef struct hb_static_file {
    char name[HB_STATIC_PATH_MAX + 1]; /* "app.js", "i18n/en.js" */
    const char *content_type;          /* static string */
    char *data;                        /* owned by the set */
    size_t len;
} hb_static_file_t;

typedef struct hb_static hb_static_t;

/* Loads the files directly in `dir`, and in its subfolder i18n/ (the
 * message catalogues, served as "i18n/NAME"; no other subfolder), whose
 * names are 1 to 64
 * of [A-Za-z0-9._-], not starting with '.', and end in a known extension
 * (.html .js .mjs .css .svg .png .ico .json .txt .woff2). Anything else is
 * skipped with a warning: symbolic links, devices, FIFOs, folders, files
 * over HB_STATIC_FILE_MAX, and whatever would pass HB_STATIC_FILES_MAX or
 * HB_STATIC_TOTAL_MAX.
 *
 * `what` names the page in logs and refusals ("dashboard", "hall pages").
 * Always gives a set in `*out` (NULL only with HB_ENOMEM), so that the
 * routes answer a JSON 404 saying why when there is no page. Returns 0,
 * HB_EINVAL (`dir` is NULL or ""), HB_ENOTFOUND (no such folder), HB_EIO
 * (the folder or a file could not be read), HB_ENOMEM; `err` says why. */
int hb_static_open(const char *dir, const char *what, hb_static_t **out, char *err, size_t errlen);
/* Adds one file from outside the folder, read from `path` (an operator's
 * setting, so a symbolic link is followed: Debian's packaged libraries are
 * often links) and served as `name` (the folder's names, a known
 * extension). It replaces a file of the folder of the same name. hqd uses
 * it for the reports view's charting library (the `chartjs` setting).
 * Returns 0, HB_EINVAL (an empty path or a name that cannot be served),
 * HB_ENOTFOUND (no such file), HB_ETOOBIG (over a bound), HB_EIO,
 * HB_ENOMEM; `err` says why. The set is unchanged on failure. */
int hb_static_add(hb_static_t *s, const char *name, const char *path, char *err, size_t errlen);
/* One placeholder of a template: "{{key}}" stands for `value`; a NULL
 * value leaves out every line that names the key. */
typedef struct hb_static_var {
    const char *key;
    const char *value;
} hb_static_var_t;
/* Makes the file `name` from the set's file `tmpl`: each "{{key}}" in it
 * replaced by its variable's value, a line naming a key whose value is NULL
 * left out. branchd's pages are one HTML shell (pages/page.html) made into
 * each page's file at start, instead of six copies of the same head. It
 * replaces a file of the same name. Returns 0, HB_ENOTFOUND (no `tmpl`),
 * HB_EINVAL (a name that cannot be served, or a placeholder `vars` does not
 * name), HB_ETOOBIG (over a bound), HB_ENOMEM; `err` says why. The set is
 * unchanged on failure. */
int hb_static_render(hb_static_t *s, const char *tmpl, const char *name,
                     const hb_static_var_t *vars, size_t nvars, char *err, size_t errlen);
/* Frees the set and its files; idempotent, sets `*s` NULL. Only after the
 * HTTP server that serves it is gone. */
void hb_static_destroy(hb_static_t **s);

size_t hb_static_count(const hb_static_t *s);
/* Every answer of hb_static_serve from now on carries this
 * Content-Security-Policy (branchd's pages: scripts from the hall only, no
 * inline ones). 0, or HB_EINVAL for NULL, over HB_STATIC_CSP_MAX bytes or
 * a line break. */
int hb_static_set_csp(hb_static_t *s, const char *csp);
/* The file served at request path `path` ("/" is "/index.html"), or NULL.
 * The file belongs to the set. */
const hb_static_file_t *hb_static_find(const hb_static_t *s, const char *path);
/* The file named `name` ("app.js", "i18n/en.js"), or NULL; NULL `s` has
 * none. */
const hb_static_file_t *hb_static_file(const hb_static_t *s, const char *name);

/* Answers `req` with the file `name`, or with index.html when `name` is
 * NULL (the route "/"); 404 when there is none: for "/" (and for any name
 * while the set holds no file) saying why there is no page, for a name the
 * router's own words, so that a path that is no
 * file reads as it did before the page was served. hqd's route table
 * (hqd/api/table.c) takes GET and HEAD of "/", "/:file" and "/i18n/:file"
 * here; branchd's (branchd/api/table.c) its pages' paths. */
void hb_static_serve(const hb_static_t *s, hb_http_req_t *req, const char *name);
/* hb_static_serve of the message catalogue i18n/`file` (the route's
 * parameter, as both daemons' "…/i18n/:file" routes take it); a `file`
 * that is NULL or longer than HB_STATIC_NAME_MAX is no file (404). */
void hb_static_serve_i18n(const hb_static_t *s, hb_http_req_t *req, const char *file);

#endif
