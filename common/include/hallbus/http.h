/* The HTTP/JSON server both daemons use, on h2o (libuv flavour) running on
 * the daemon's own libuv loop. Handlers are registered by method and path
 * prefix; bodies are read whole up to a limit and refused past it (413).
 *
 * Handlers run on the loop thread and must answer before returning (the
 * daemons' handlers read memory or short LMDB read transactions only). This
 * module knows nothing of hallbus routes: each daemon registers its own. */
#ifndef HALLBUS_HTTP_H
#define HALLBUS_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

typedef struct hb_http hb_http_t;

typedef struct hb_http_req {
    const char *method; /* "GET", "POST", ... NUL-terminated */
    const char *path;   /* path without the query, percent-decoded, NUL-terminated */
    const char *query;  /* raw query string without '?', or "" */
    const char *body;   /* request body, NUL-terminated for convenience */
    size_t body_len;
    void *impl; /* the underlying h2o request; private to http.c */
} hb_http_req_t;

/* A handler answers with hb_http_reply_*() exactly once. */
typedef void (*hb_http_handler_fn)(hb_http_req_t *req, void *arg);

/* Listens on "HOST:PORT" (PORT 0 picks a free one, see hb_http_port()).
 * Returns NULL and logs why on failure. `max_body` bounds request bodies. */
hb_http_t *hb_http_new(uv_loop_t *loop, const char *host_port, size_t max_body);
/* Routes requests whose method is `method` (NULL for any) and whose path
 * starts with `prefix`; the longest matching prefix wins. */
int hb_http_route(hb_http_t *http, const char *method, const char *prefix,
                  hb_http_handler_fn fn, void *arg);
/* The port actually bound. */
int hb_http_port(const hb_http_t *http);
/* Stops listening and closes connections; frees `*http` once its libuv
 * handles are closed, and sets it NULL. */
void hb_http_destroy(hb_http_t **http);

/* Answers with `body` serialised (takes ownership of `body`). */
void hb_http_reply_json(hb_http_req_t *req, int status, json_t *body);
/* Answers {"error": <short code>, "reason": <formatted text>}. */
void hb_http_reply_error(hb_http_req_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answers with a raw body and content type (copied). */
void hb_http_reply_raw(hb_http_req_t *req, int status, const char *content_type,
                       const char *body, size_t len);

/* Looks up a query parameter, percent-decoded into `out`. Returns 0,
 * HB_ENOTFOUND, or HB_ETOOBIG when the value does not fit. */
int hb_http_query(const hb_http_req_t *req, const char *name, char *out, size_t outlen);

#endif
