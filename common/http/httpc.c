/* A small blocking HTTP/1.1 client (see httpc.h) for the tools and the tests:
 * one request per connection ("Connection: close"), a timeout on every step
 * (connect, each write, each read), the answer bounded to 64 MiB.
 *
 * It reads Content-Length, chunked and read-to-close bodies. It is not for a
 * daemon's event loop, and it speaks neither TLS nor proxies nor redirects. */
#include "hallbus/httpc.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTPC_BODY_MAX ((size_t)64 << 20) /* the answer's body */
#define HTTPC_HEADERS_MAX (64 << 10)      /* status line and headers together */
#define HTTPC_INBUF (16 << 10)            /* read window; a header line must fit */
#define HTTPC_HOST_MAX 256
#define HTTPC_REQHEAD_MAX 8192
#define HTTPC_TIMEOUT_DEFAULT_MS 30000
#define HTTPC_INTERIM_MAX 8 /* 1xx answers skipped before the real one */

void hb_httpc_resp_free(hb_httpc_resp_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

/* ------------------------------------------------------------- the base */

typedef struct httpc_target {
    char host[HTTPC_HOST_MAX];          /* without brackets, for getaddrinfo */
    char authority[HTTPC_HOST_MAX + 8]; /* as written, for Host: */
    char port[8];
} httpc_target_t;

/* Accepts "http://HOST:PORT", "HOST:PORT", "[V6]:PORT", each with an optional
 * trailing '/'; PORT defaults to 80 when absent. */
static int s_parse_base(const char *base, httpc_target_t *t, char *err, size_t errlen)
{
    const char *p = base;
    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strstr(p, "://")) {
        hb_errf(err, errlen, "bad base URL '%.100s': only http:// is spoken here", base);
        return HB_EINVAL;
    }
    size_t alen = strcspn(p, "/");
    if (p[alen] == '/' && p[alen + 1] != '\0') {
        hb_errf(err, errlen, "bad base URL '%.100s': it must not carry a path", base);
        return HB_EINVAL;
    }
    if (alen == 0 || alen >= sizeof t->authority) {
        hb_errf(err, errlen, "bad base URL '%.100s': expected http://HOST:PORT", base);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < alen; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c >= 0x7f || c == '@' || c == '?' || c == '#') {
            hb_errf(err, errlen, "bad base URL '%.100s': unexpected character", base);
            return HB_EINVAL;
        }
    }
    const char *host = p, *portp = NULL;
    size_t hlen;
    if (p[0] == '[') {
        const char *rb = memchr(p, ']', alen);
        if (!rb || (rb + 1 < p + alen && rb[1] != ':')) {
            hb_errf(err, errlen, "bad base URL '%.100s': expected [V6]:PORT", base);
            return HB_EINVAL;
        }
        host = p + 1;
        hlen = (size_t)(rb - host);
        if (rb + 1 < p + alen)
            portp = rb + 2;
    } else {
        const char *colon = memchr(p, ':', alen);
        hlen = colon ? (size_t)(colon - p) : alen;
        if (colon)
            portp = colon + 1;
    }
    size_t plen = portp ? (size_t)(p + alen - portp) : 0;
    if (hlen == 0 || hlen >= sizeof t->host || (portp && (plen == 0 || plen > 5))) {
        hb_errf(err, errlen, "bad base URL '%.100s': expected http://HOST:PORT", base);
        return HB_EINVAL;
    }
    unsigned long port = 80;
    if (portp) {
        port = 0;
        for (size_t i = 0; i < plen; i++) {
            if (portp[i] < '0' || portp[i] > '9') {
                hb_errf(err, errlen, "bad base URL '%.100s': the port is not a number", base);
                return HB_EINVAL;
            }
            port = port * 10 + (unsigned long)(portp[i] - '0');
        }
    }
    if (port == 0 || port > 65535) {
        hb_errf(err, errlen, "bad base URL '%.100s': the port must be 1 to 65535", base);
        return HB_EINVAL;
    }
    memcpy(t->host, host, hlen);
    t->host[hlen] = '\0';
    memcpy(t->authority, p, alen);
    t->authority[alen] = '\0';
    snprintf(t->port, sizeof t->port, "%lu", port);
    return 0;
}

/* A method is an HTTP token; a path starts with '/' and has no spaces or
 * control characters (they would split or smuggle a request). */
static bool s_valid_method(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((m[i] >= 'A' && m[i] <= 'Z') || m[i] == '-' || m[i] == '_'))
            return false;
    return true;
}

static bool s_valid_path(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        if (*c <= ' ' || *c == 0x7f)
            return false;
    return true;
}

/* ------------------------------------------------------------ the socket */

typedef struct httpc_conn {
    int fd;
    int timeout_ms;
    const char *who; /* the authority, for messages */
    char *err;
    size_t errlen;
    char in[HTTPC_INBUF];
    size_t start, end; /* unread bytes are in[start..end) */
    bool eof;
    bool in_headers; /* lines count against HTTPC_HEADERS_MAX */
    size_t header_bytes;
    char *body;
    size_t body_len, body_cap;
} httpc_conn_t;

/* Waits for `events` at most timeout_ms. Returns 0, or HB_EIO on timeout. */
static int s_wait(httpc_conn_t *c, short events, const char *what)
{
    int64_t deadline = hb_mono_ms() + c->timeout_ms;
    for (;;) {
        int64_t left = deadline - hb_mono_ms();
        if (left <= 0) {
            hb_errf(c->err, c->errlen, "%s %s: timed out after %d ms", what, c->who, c->timeout_ms);
            return HB_EIO;
        }
        struct pollfd p = {.fd = c->fd, .events = events};
        int rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR) {
            hb_errf(c->err, c->errlen, "%s %s: poll: %s", what, c->who, strerror(errno));
            return HB_EIO;
        }
    }
}

static int s_connect(httpc_conn_t *c, const httpc_target_t *t)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int grc = getaddrinfo(t->host, t->port, &hints, &res);
    if (grc != 0) {
        hb_errf(c->err, c->errlen, "cannot resolve '%s': %s", t->host, gai_strerror(grc));
        return HB_EIO;
    }
    int last = 0;
    c->fd = -1;
    for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                last = errno;
                close(fd);
                continue;
            }
            c->fd = fd;
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (s_wait(c, POLLOUT, "connecting to") != 0) {
                last = ETIMEDOUT;
            } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
                last = errno;
            } else if (soerr != 0) {
                last = soerr;
            } else {
                break;
            }
            c->fd = -1;
            close(fd);
            continue;
        }
        c->fd = fd;
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        hb_errf(c->err, c->errlen, "cannot connect to %s: %s", c->who,
              last == ETIMEDOUT ? "timed out" : strerror(last));
        return HB_EIO;
    }
    return 0;
}

/* Sends all of data. On a peer reset it returns HB_ECLOSED so that the caller
 * can still read an answer the server sent before closing (an early 413). */
static int s_send_all(httpc_conn_t *c, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            hb_errf(c->err, c->errlen, "sending to %s: %s", c->who, strerror(errno));
            return HB_ECLOSED;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            hb_errf(c->err, c->errlen, "sending to %s: %s", c->who, strerror(errno));
            return HB_EIO;
        }
        int rc = s_wait(c, POLLOUT, "sending to");
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Reads more into the window. Returns 0 (data or EOF: see c->eof) or HB_EIO. */
static int s_fill(httpc_conn_t *c)
{
    if (c->start > 0 && c->start == c->end) {
        c->start = c->end = 0;
    } else if (c->start > 0 && c->end == sizeof c->in) {
        memmove(c->in, c->in + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == sizeof c->in)
        return HB_ETOOBIG; /* callers check the window before asking for more */
    for (;;) {
        ssize_t r = recv(c->fd, c->in + c->end, sizeof c->in - c->end, 0);
        if (r > 0) {
            c->end += (size_t)r;
            return 0;
        }
        if (r == 0) {
            c->eof = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = s_wait(c, POLLIN, "waiting for the answer from");
            if (rc != 0)
                return rc;
            continue;
        }
        hb_errf(c->err, c->errlen, "reading from %s: %s", c->who, strerror(errno));
        return HB_EIO;
    }
}

/* Returns the next line (without CRLF/LF, NUL-terminated in place). While
 * in_headers, lines count against the header budget. */
static int s_read_line(httpc_conn_t *c, char **line, const char *where)
{
    for (;;) {
        char *nl = memchr(c->in + c->start, '\n', c->end - c->start);
        if (nl) {
            size_t n = (size_t)(nl - (c->in + c->start)) + 1;
            if (c->in_headers)
                c->header_bytes += n;
            if (c->header_bytes > HTTPC_HEADERS_MAX) {
                hb_errf(c->err, c->errlen, "%s sent more than %d bytes of headers", c->who,
                      HTTPC_HEADERS_MAX);
                return HB_ETOOBIG;
            }
            *line = c->in + c->start;
            *nl = '\0';
            if (nl > *line && nl[-1] == '\r')
                nl[-1] = '\0';
            c->start += n;
            return 0;
        }
        if (c->eof) {
            hb_errf(c->err, c->errlen, "%s closed the connection %s", c->who, where);
            return HB_EPARSE;
        }
        if (c->start == 0 && c->end == sizeof c->in) {
            hb_errf(c->err, c->errlen, "%s sent a line longer than %d bytes %s", c->who, HTTPC_INBUF,
                  where);
            return HB_ETOOBIG;
        }
        int rc = s_fill(c);
        if (rc != 0)
            return rc;
    }
}

static int s_body_append(httpc_conn_t *c, const char *data, size_t n)
{
    if (n > HTTPC_BODY_MAX - c->body_len) {
        hb_errf(c->err, c->errlen, "the answer from %s is larger than %zu bytes", c->who,
              HTTPC_BODY_MAX);
        return HB_ETOOBIG;
    }
    if (c->body_len + n + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_len + n + 1)
            cap *= 2;
        if (cap > HTTPC_BODY_MAX + 1)
            cap = HTTPC_BODY_MAX + 1;
        char *p = realloc(c->body, cap);
        if (!p) {
            hb_errf(c->err, c->errlen, "out of memory reading the answer from %s", c->who);
            return HB_ENOMEM;
        }
        c->body = p;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, data, n);
    c->body_len += n;
    return 0;
}

/* Moves up to `want` body bytes from the window (reading as needed) into the
 * body. `want` SIZE_MAX reads to end of stream. */
static int s_read_body(httpc_conn_t *c, size_t want, const char *what)
{
    while (want > 0) {
        if (c->start == c->end) {
            if (c->eof) {
                if (want == SIZE_MAX)
                    return 0;
                hb_errf(c->err, c->errlen, "%s closed the connection inside the %s", c->who, what);
                return HB_EPARSE;
            }
            int rc = s_fill(c);
            if (rc != 0)
                return rc;
            continue;
        }
        size_t n = c->end - c->start;
        if (n > want)
            n = want;
        int rc = s_body_append(c, c->in + c->start, n);
        if (rc != 0)
            return rc;
        c->start += n;
        if (want != SIZE_MAX)
            want -= n;
    }
    return 0;
}

/* Reads a chunked body and its trailers. Chunk-size lines are bounded by the
 * read window; the data by HTTPC_BODY_MAX. */
static int s_read_chunked(httpc_conn_t *c)
{
    for (;;) {
        char *line;
        int rc = s_read_line(c, &line, "inside a chunk header");
        if (rc != 0)
            return rc;
        char *end;
        errno = 0;
        unsigned long long n = strtoull(line, &end, 16);
        if (end == line || errno != 0 ||
            (*end != '\0' && *end != ';' && *end != ' ' && *end != '\t')) {
            hb_errf(c->err, c->errlen, "%s sent a bad chunk size", c->who);
            return HB_EPARSE;
        }
        if (n > HTTPC_BODY_MAX) {
            hb_errf(c->err, c->errlen, "the answer from %s is larger than %zu bytes", c->who,
                  HTTPC_BODY_MAX);
            return HB_ETOOBIG;
        }
        if (n == 0)
            break;
        rc = s_read_body(c, (size_t)n, "chunked body");
        if (rc != 0)
            return rc;
        rc = s_read_line(c, &line, "after a chunk");
        if (rc != 0)
            return rc;
        if (line[0] != '\0') {
            hb_errf(c->err, c->errlen, "%s sent a chunk longer than announced", c->who);
            return HB_EPARSE;
        }
    }
    /* Trailers, up to the blank line, count as headers. */
    c->in_headers = true;
    for (;;) {
        char *line;
        int rc = s_read_line(c, &line, "inside the trailers");
        if (rc != 0)
            return rc;
        if (line[0] == '\0')
            return 0;
    }
}

/* Parses "HTTP/1.x SSS reason". */
static int s_parse_status(httpc_conn_t *c, const char *line, int *status)
{
    if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] < '0' || line[7] > '9' || line[8] != ' ' ||
        line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' ||
        line[11] > '9' || (line[12] != '\0' && line[12] != ' ')) {
        char shown[64];
        size_t i = 0;
        for (; line[i] && i < sizeof shown - 1; i++)
            shown[i] = (line[i] >= ' ' && line[i] < 0x7f) ? line[i] : '?';
        shown[i] = '\0';
        hb_errf(c->err, c->errlen, "%s did not answer with HTTP/1.x: '%s'", c->who, shown);
        return HB_EPARSE;
    }
    *status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    return 0;
}

static bool s_header_is(const char *line, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    const char *v = line + n + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    *value = v;
    return true;
}

/* Reads one answer: status, headers and body. */
static int s_read_response(httpc_conn_t *c, bool head_request, int *status_out)
{
    int status = 0;
    char *line;
    int rc;
    c->in_headers = true;
    for (int interim = 0;; interim++) {
        rc = s_read_line(c, &line, "before the status line");
        if (rc != 0)
            return rc;
        rc = s_parse_status(c, line, &status);
        if (rc != 0)
            return rc;
        if (status >= 200)
            break;
        /* A 1xx interim answer (100 Continue): skip its headers. */
        if (interim >= HTTPC_INTERIM_MAX) {
            hb_errf(c->err, c->errlen, "%s sent too many interim answers", c->who);
            return HB_EPARSE;
        }
        do {
            rc = s_read_line(c, &line, "inside the headers");
            if (rc != 0)
                return rc;
        } while (line[0] != '\0');
    }
    bool chunked = false, have_length = false;
    unsigned long long length = 0;
    for (;;) {
        rc = s_read_line(c, &line, "inside the headers");
        if (rc != 0)
            return rc;
        if (line[0] == '\0')
            break;
        const char *v;
        if (s_header_is(line, "Content-Length", &v)) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(v, &end, 10);
            while (*end == ' ' || *end == '\t')
                end++;
            if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
                (have_length && n != length)) {
                hb_errf(c->err, c->errlen, "%s sent a bad Content-Length", c->who);
                return HB_EPARSE;
            }
            have_length = true;
            length = n;
        } else if (s_header_is(line, "Transfer-Encoding", &v)) {
            /* chunked must be the last coding; anything else we cannot read. */
            size_t vl = strlen(v);
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0)
                chunked = true;
            else {
                hb_errf(c->err, c->errlen, "%s sent a Transfer-Encoding we cannot read", c->who);
                return HB_EPARSE;
            }
        }
    }
    *status_out = status;
    c->in_headers = false;
    if (head_request || status == 204 || status == 304)
        return 0;
    if (chunked)
        return s_read_chunked(c);
    if (have_length) {
        if (length > HTTPC_BODY_MAX) {
            hb_errf(c->err, c->errlen, "the answer from %s is larger than %zu bytes (%llu)", c->who,
                  HTTPC_BODY_MAX, length);
            return HB_ETOOBIG;
        }
        return s_read_body(c, (size_t)length, "body");
    }
    return s_read_body(c, SIZE_MAX, "body");
}

int hb_httpc_request(const char *base, const char *method, const char *path, const char *body,
                     int timeout_ms, hb_httpc_resp_t *resp, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!resp) {
        hb_errf(err, errlen, "no place for the answer");
        return HB_EINVAL;
    }
    memset(resp, 0, sizeof *resp);
    if (!base || !method || !path) {
        hb_errf(err, errlen, "base, method and path are required");
        return HB_EINVAL;
    }
    httpc_target_t t;
    int rc = s_parse_base(base, &t, err, errlen);
    if (rc != 0)
        return rc;
    if (!s_valid_method(method)) {
        hb_errf(err, errlen, "bad method '%.20s'", method);
        return HB_EINVAL;
    }
    if (!s_valid_path(path)) {
        hb_errf(err, errlen,
              "bad path '%.100s': it must start with '/' and hold no spaces or "
              "control characters",
              path);
        return HB_EINVAL;
    }

    size_t blen = body ? strlen(body) : 0;
    char head[HTTPC_REQHEAD_MAX];
    char length_line[96] = "";
    if (body)
        snprintf(length_line, sizeof length_line,
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
             strcmp(method, "PATCH") == 0)
        snprintf(length_line, sizeof length_line, "Content-Length: 0\r\n");
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: hallbus-httpc\r\n"
                      "Accept: application/json\r\nConnection: close\r\n%s\r\n",
                      method, path, t.authority, length_line);
    if (hl < 0 || (size_t)hl >= sizeof head) {
        hb_errf(err, errlen, "the request head is longer than %d bytes", HTTPC_REQHEAD_MAX);
        return HB_EINVAL;
    }

    httpc_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    c->fd = -1;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : HTTPC_TIMEOUT_DEFAULT_MS;
    c->who = t.authority;
    c->err = err;
    c->errlen = errlen;

    rc = s_connect(c, &t);
    if (rc != 0)
        goto out;
    rc = s_send_all(c, head, (size_t)hl);
    if (rc == 0 && blen > 0)
        rc = s_send_all(c, body, blen);
    if (rc == HB_ECLOSED) {
        /* The server may have answered before reading everything (413, for
         * one); read what it said, and report the send failure otherwise. */
        char send_err[256];
        snprintf(send_err, sizeof send_err, "%s", err && errlen ? err : "");
        int status = 0;
        rc = s_read_response(c, false, &status);
        if (rc != 0 || status == 0) {
            hb_errf(err, errlen, "%s", send_err[0] ? send_err : "the server closed the connection");
            rc = HB_EIO;
            goto out;
        }
        resp->status = status;
        goto done;
    }
    if (rc != 0)
        goto out;
    {
        int status = 0;
        rc = s_read_response(c, strcmp(method, "HEAD") == 0, &status);
        if (rc != 0)
            goto out;
        resp->status = status;
    }
done:
    rc = s_body_append(c, "", 0); /* makes sure there is room for the NUL */
    if (rc != 0)
        goto out;
    c->body[c->body_len] = '\0';
    resp->body = c->body;
    resp->body_len = c->body_len;
    c->body = NULL;
    rc = 0;
out:
    if (rc != 0)
        resp->status = 0;
    if (c->fd >= 0)
        close(c->fd);
    free(c->body);
    free(c);
    return rc;
}
