/* The HTTP client of the tools (hallctl, hallsim, the benchmarks) and the
 * tests: one blocking request at a time, made by libcurl, with the limits
 * and the error codes of the rest of hallbus. It speaks http:// and https://
 * (verified against the system's CA certificates or a given file), sends a
 * bearer token and extra headers when asked, never follows redirects and
 * never goes through a proxy (an http_proxy variable in the environment
 * must not send a hall's traffic elsewhere). Not for use on a daemon's loop.
 *
 * It lives in its own library (hb_httpc), so the daemons, which serve HTTP
 * but never ask for it, do not link libcurl. */
#ifndef HALLBUS_HTTPC_H
#define HALLBUS_HTTPC_H

#include <stddef.h>

#define HB_HTTPC_BODY_MAX ((size_t)64 << 20) /* an answer's body, at most */
#define HB_HTTPC_HEADERS_MAX 32              /* extra request headers, at most */
#define HB_HTTPC_HEADER_MAX 8192             /* one "Name: value" line, at most */

typedef struct hb_httpc_resp {
    int status;
    char *body; /* NUL-terminated, malloc'd; free with hb_httpc_resp_free */
    size_t body_len;
} hb_httpc_resp_t;

/* What a request carries beside its method, path and body. All may be zero:
 * no token, no extra headers, the system's CA certificates, 30 s. The
 * strings are read during the call only. */
typedef struct hb_httpc_opts {
    int timeout_ms;             /* the whole request, connect to last byte; <= 0: 30 s */
    const char *token;          /* sent as "Authorization: Bearer TOKEN"; NULL or "": none */
    const char *cacert;         /* https: trust the CA certificates in this PEM file */
    const char *const *headers; /* "Name: value" lines, sent as given after ours */
    size_t n_headers;
} hb_httpc_opts_t;

/* `base` is "http://HOST[:PORT]", "https://HOST[:PORT]" or "HOST[:PORT]"
 * (http), "[V6]" for an IPv6 address; no path, user or query. `path` starts
 * with '/' and may carry a query. `body` may be NULL (then none is sent); it
 * is sent as JSON. Returns 0 once any HTTP answer is read (check
 * resp->status), or HB_EINVAL (bad base, method, path, header or token: no
 * request was sent), HB_EIO (resolve, connect, TLS, send, receive, timeout),
 * HB_EPARSE (the peer does not speak HTTP, or broke its framing),
 * HB_ETOOBIG (a body over HB_HTTPC_BODY_MAX), HB_ENOMEM; `err` says what
 * happened. On error resp->body is NULL; hb_httpc_resp_free() is safe
 * either way. Thread-safe: each call has its own connection. */
int hb_httpc_call(const char *base, const char *method, const char *path, const char *body,
                  const hb_httpc_opts_t *opts, hb_httpc_resp_t *resp, char *err, size_t errlen);

/* hb_httpc_call with nothing but a timeout (`timeout_ms`, as in opts). */
int hb_httpc_request(const char *base, const char *method, const char *path, const char *body,
                     int timeout_ms, hb_httpc_resp_t *resp, char *err, size_t errlen);

void hb_httpc_resp_free(hb_httpc_resp_t *resp);

/* Whether `line` is a header a caller may add: "Name: value" with a token
 * for a name, no control characters, at most HB_HTTPC_HEADER_MAX bytes, and
 * not one the client sets itself (Host, Content-Length, Transfer-Encoding,
 * Connection). 0, or HB_EINVAL with `err` saying why. For a tool to refuse
 * a bad --header before it sends anything. */
int hb_httpc_header_check(const char *line, char *err, size_t errlen);
/* Whether `token` can go in "Authorization: Bearer TOKEN": 1 to 4096
 * printable bytes, no spaces. 0, or HB_EINVAL with `err` saying why. */
int hb_httpc_token_check(const char *token, char *err, size_t errlen);

#endif
