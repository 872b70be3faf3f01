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

/* `base` is "http://HOST:PORT" (or "HOST:PORT", "[V6]:PORT"; PORT defaults to
 * 80); `path` starts with '/' and may carry a query. `body` may be NULL (then
 * no body is sent); content type is JSON. `timeout_ms` bounds each step
 * (connect, every write, every wait for data); <= 0 means 30 s.
 * Returns 0 once any HTTP answer is read (check resp->status), or HB_EIO
 * (resolve, connect, send, receive, timeout), HB_EPARSE (not HTTP, broken
 * framing), HB_ETOOBIG (body over 64 MiB, headers over 64 KiB), HB_EINVAL
 * (bad base, method or path), HB_ENOMEM; `err` says what happened. On error
 * resp->body is NULL; hb_httpc_resp_free() is safe either way. */
int hb_httpc_request(const char *base, const char *method, const char *path, const char *body,
                     int timeout_ms, hb_httpc_resp_t *resp, char *err, size_t errlen);
void hb_httpc_resp_free(hb_httpc_resp_t *resp);

#endif
