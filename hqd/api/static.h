/* The dashboard's static files (index.html, *.js, *.css), read once from one
 * folder into memory at start and served at "/" and "/NAME" with their
 * content types. Requests never touch the file system, so nothing a client
 * sends can name a file outside the folder; only plain regular files of a
 * known type, within size bounds, are loaded. Not here: what the dashboard
 * shows (hqd/dashboard/) or the API it reads (the rest of api/). */
#ifndef HQD_STATIC_H
#define HQD_STATIC_H

#include "hallbus/http.h"

#include <stddef.h>

/* Bounds: a dashboard is a handful of small files. */
#define HQ_STATIC_FILES_MAX 128
#define HQ_STATIC_FILE_MAX (4u << 20)   /* bytes of one file */
#define HQ_STATIC_TOTAL_MAX (32u << 20) /* bytes of all files */
#define HQ_STATIC_NAME_MAX 64

typedef struct hq_static_file {
    char name[HQ_STATIC_NAME_MAX + 1]; /* "app.js" */
    const char *content_type;          /* static string */
    char *data;                        /* owned by the set */
    size_t len;
} hq_static_file_t;

typedef struct hq_static hq_static_t;

/* Loads the files directly in `dir` (no subfolders) whose names are 1 to 64
 * of [A-Za-z0-9._-], not starting with '.', and end in a known extension
 * (.html .js .mjs .css .svg .png .ico .json .txt .woff2). Anything else is
 * skipped with a warning: symbolic links, devices, FIFOs, folders, files
 * over HQ_STATIC_FILE_MAX, and whatever would pass HQ_STATIC_FILES_MAX or
 * HQ_STATIC_TOTAL_MAX.
 *
 * Always gives a set in `*out` (NULL only with HB_ENOMEM), so that the
 * routes answer a JSON 404 saying why when there is no dashboard. Returns 0,
 * HB_EINVAL (`dir` is NULL or ""), HB_ENOTFOUND (no such folder), HB_EIO
 * (the folder or a file could not be read), HB_ENOMEM; `err` says why. */
int hq_static_open(const char *dir, hq_static_t **out, char *err, size_t errlen);
/* Adds one file from outside the folder, read from `path` (an operator's
 * setting, so a symbolic link is followed: Debian's packaged libraries are
 * often links) and served as `name` (s_name_ok's names, a known
 * extension). It replaces a file of the folder of the same name. Used for
 * the reports view's charting library (the `chartjs` setting). Returns 0,
 * HB_EINVAL (an empty path or a name that cannot be served), HB_ENOTFOUND
 * (no such file), HB_ETOOBIG (over a bound), HB_EIO, HB_ENOMEM; `err` says
 * why. The set is unchanged on failure. */
int hq_static_add(hq_static_t *s, const char *name, const char *path, char *err, size_t errlen);
/* Frees the set and its files; idempotent, sets `*s` NULL. Only after the
 * HTTP server that serves it is gone. */
void hq_static_destroy(hq_static_t **s);

size_t hq_static_count(const hq_static_t *s);
/* The file served at request path `path` ("/" is "/index.html"), or NULL.
 * The file belongs to the set. */
const hq_static_file_t *hq_static_find(const hq_static_t *s, const char *path);
/* The file named `name` ("app.js"), or NULL; NULL `s` has none. */
const hq_static_file_t *hq_static_file(const hq_static_t *s, const char *name);

/* Answers `req` with the file `name`, or with index.html when `name` is
 * NULL (the route "/"); 404 when there is none: for "/" saying why there is
 * no dashboard, for a name the router's own words, so that a path that is no
 * file reads as it did before the dashboard was served. The route table
 * (api/table.c) takes GET and HEAD of "/" and "/:file" here. */
void hq_static_serve(const hq_static_t *s, hb_http_req_t *req, const char *name);

#endif
