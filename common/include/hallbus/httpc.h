/* A small blocking HTTP/1.1 client for the tools (hallctl, hallsim, the
 * benchmark) and the integration tests: one request per connection, bounded
 * response size, a timeout on every step. Not for use on a daemon's loop. */
#ifndef HALLBUS_HTTPC_H
#define HALLBUS_HTTPC_H

#include <stddef.h>

typedef struct hb_httpc_resp {
    int status;
    char *body; /* NUL-terminated, malloc'd; free with hb_httpc_resp_free */
    size_t body_len;
} hb_httpc_resp_t;

/* `base` is "http://HOST:PORT" (or "HOST:PORT"); `path` starts with '/'.
 * `body` may be NULL (then no body is sent); content type is JSON.
 * Returns 0 once any HTTP answer is read (check resp->status), or HB_EIO /
 * HB_EPARSE / HB_ETOOBIG / HB_EINVAL; `err` says what happened. */
int hb_httpc_request(const char *base, const char *method, const char *path, const char *body,
                     int timeout_ms, hb_httpc_resp_t *resp, char *err, size_t errlen);
void hb_httpc_resp_free(hb_httpc_resp_t *resp);

#endif
