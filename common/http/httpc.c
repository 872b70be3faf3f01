/* The tools' HTTP client (see httpc.h): each call is one libcurl easy
 * transfer on a connection of its own, closed when the call returns. This
 * file only checks what it is given, sets the transfer up the same way every
 * time (no proxy, no redirects, http and https only, the path sent as is),
 * bounds the answer, and turns libcurl's outcome into hallbus's error codes
 * with a sentence that names the server. HTTP itself, TLS and the parsing
 * of answers are libcurl's. */
#include "hallbus/httpc.h"
#include "hallbus/error.h"
#include "hallbus/version.h"

#include <curl/curl.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTPC_HOST_MAX 256
#define HTTPC_URL_MAX 8192
#define HTTPC_TIMEOUT_DEFAULT_MS 30000
#define HTTPC_TOKEN_MAX 4096

void hb_httpc_resp_free(hb_httpc_resp_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

/* libcurl's global set-up is done once, before the first transfer, whatever
 * thread makes it (the tests make requests from several). */
static pthread_once_t s_init_once = PTHREAD_ONCE_INIT;
static CURLcode s_init_rc = CURLE_FAILED_INIT;

static void s_init(void) { s_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ------------------------------------------------------------- the base */

typedef struct httpc_target {
    bool tls;
    char authority[HTTPC_HOST_MAX + 8]; /* HOST[:PORT] or [V6][:PORT], as written */
} httpc_target_t;

/* Accepts "http://A", "https://A" and "A", where A is HOST[:PORT] or
 * [V6][:PORT], each with an optional trailing '/'. Anything that could
 * carry a user, a path or a query is refused, so that the URL libcurl gets
 * is the base and the caller's path and nothing else. */
static int s_parse_base(const char *base, httpc_target_t *t, char *err, size_t errlen)
{
    const char *p = base;
    t->tls = false;
    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strncasecmp(p, "https://", 8) == 0) {
        p += 8;
        t->tls = true;
    } else if (strstr(p, "://")) {
        hb_errf(err, errlen, "bad base URL '%.100s': only http:// and https:// are spoken here",
                base);
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
        if (c <= ' ' || c >= 0x7f || c == '@' || c == '?' || c == '#' || c == '\\') {
            hb_errf(err, errlen, "bad base URL '%.100s': unexpected character", base);
            return HB_EINVAL;
        }
    }
    const char *portp = NULL;
    size_t hlen;
    if (p[0] == '[') {
        const char *rb = memchr(p, ']', alen);
        if (!rb || (rb + 1 < p + alen && rb[1] != ':')) {
            hb_errf(err, errlen, "bad base URL '%.100s': expected [V6]:PORT", base);
            return HB_EINVAL;
        }
        hlen = (size_t)(rb - p - 1);
        if (rb + 1 < p + alen)
            portp = rb + 2;
    } else {
        const char *colon = memchr(p, ':', alen);
        hlen = colon ? (size_t)(colon - p) : alen;
        if (colon)
            portp = colon + 1;
    }
    size_t plen = portp ? (size_t)(p + alen - portp) : 0;
    if (hlen == 0 || (portp && (plen == 0 || plen > 5))) {
        hb_errf(err, errlen, "bad base URL '%.100s': expected http://HOST:PORT", base);
        return HB_EINVAL;
    }
    if (portp) {
        unsigned long port = 0;
        for (size_t i = 0; i < plen; i++) {
            if (portp[i] < '0' || portp[i] > '9') {
                hb_errf(err, errlen, "bad base URL '%.100s': the port is not a number", base);
                return HB_EINVAL;
            }
            port = port * 10 + (unsigned long)(portp[i] - '0');
        }
        if (port == 0 || port > 65535) {
            hb_errf(err, errlen, "bad base URL '%.100s': the port must be 1 to 65535", base);
            return HB_EINVAL;
        }
    }
    memcpy(t->authority, p, alen);
    t->authority[alen] = '\0';
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

/* ---------------------------------------------------------- headers ---- */

static bool s_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Headers the client writes itself from the request: one given again would
 * contradict it, and curl would send the caller's in its place. */
static const char *const s_own_headers[] = {"Host", "Content-Length", "Transfer-Encoding",
                                            "Connection", "Expect"};

int hb_httpc_header_check(const char *line, char *err, size_t errlen)
{
    size_t len = strnlen(line, HB_HTTPC_HEADER_MAX + 1);
    if (len > HB_HTTPC_HEADER_MAX) {
        hb_errf(err, errlen, "a header is at most %d bytes", HB_HTTPC_HEADER_MAX);
        return HB_EINVAL;
    }
    size_t n = 0;
    while (s_tchar((unsigned char)line[n]))
        n++;
    if (n == 0 || line[n] != ':') {
        hb_errf(err, errlen,
                "'%.64s' is not 'Name: value' (a name is letters, digits and "
                "!#$%%&'*+-.^_`|~, then a colon)",
                line);
        return HB_EINVAL;
    }
    for (const unsigned char *c = (const unsigned char *)line + n + 1; *c; c++) {
        if ((*c < ' ' && *c != '\t') || *c == 0x7f) {
            hb_errf(err, errlen,
                    "the header '%.*s' holds a control character (a line break "
                    "would start another header)",
                    (int)(n < 64 ? n : 64), line);
            return HB_EINVAL;
        }
    }
    for (size_t i = 0; i < sizeof s_own_headers / sizeof s_own_headers[0]; i++) {
        if (strlen(s_own_headers[i]) == n && strncasecmp(line, s_own_headers[i], n) == 0) {
            hb_errf(err, errlen, "%s is set by the client itself and cannot be given",
                    s_own_headers[i]);
            return HB_EINVAL;
        }
    }
    return 0;
}

int hb_httpc_token_check(const char *token, char *err, size_t errlen)
{
    size_t len = strnlen(token, HTTPC_TOKEN_MAX + 1);
    bool clean = len > 0 && len <= HTTPC_TOKEN_MAX;
    for (size_t i = 0; i < len && clean; i++)
        clean = (unsigned char)token[i] > ' ' && (unsigned char)token[i] != 0x7f;
    if (!clean) {
        hb_errf(err, errlen, "a token is 1 to %d printable bytes without spaces", HTTPC_TOKEN_MAX);
        return HB_EINVAL;
    }
    return 0;
}

static bool s_header_named(const char *line, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* Appends one line to the list; false when out of memory. */
static bool s_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return false;
    *list = l;
    return true;
}

/* The request's headers: ours, the token, then the caller's. */
static int s_headers(const hb_httpc_opts_t *o, bool body, struct curl_slist **out, char *err,
                     size_t errlen)
{
    struct curl_slist *list = NULL;
    char line[HB_HTTPC_HEADER_MAX + 32];
    bool ok = s_add(&list, "Accept: application/json") &&
              /* One request per connection: the server need not keep it. */
              s_add(&list, "Connection: close") &&
              /* No "Expect: 100-continue" before a body: wait for nobody. */
              s_add(&list, "Expect:");
    if (ok && body)
        ok = s_add(&list, "Content-Type: application/json");
    if (ok && o->token && o->token[0]) {
        if (hb_httpc_token_check(o->token, err, errlen) != 0) {
            curl_slist_free_all(list);
            return HB_EINVAL;
        }
        snprintf(line, sizeof line, "Authorization: Bearer %s", o->token);
        ok = s_add(&list, line);
    }
    if (o->n_headers > HB_HTTPC_HEADERS_MAX) {
        hb_errf(err, errlen, "at most %d extra headers", HB_HTTPC_HEADERS_MAX);
        curl_slist_free_all(list);
        return HB_EINVAL;
    }
    for (size_t i = 0; ok && i < o->n_headers; i++) {
        const char *h = o->headers[i];
        int rc = hb_httpc_header_check(h, err, errlen);
        if (rc == 0 && o->token && o->token[0] && s_header_named(h, "Authorization")) {
            hb_errf(err, errlen, "give a token or an Authorization header, not both");
            rc = HB_EINVAL;
        }
        if (rc != 0) {
            curl_slist_free_all(list);
            return rc;
        }
        /* curl reads "Name:" with nothing after it as "do not send Name";
         * "Name;" is its way to send the header empty. */
        const char *colon = strchr(h, ':');
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v == '\0') {
            snprintf(line, sizeof line, "%.*s;", (int)(colon - h), h);
            ok = s_add(&list, line);
        } else {
            ok = s_add(&list, h);
        }
    }
    if (!ok) {
        curl_slist_free_all(list);
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    *out = list;
    return 0;
}

/* ------------------------------------------------------------ the body */

typedef struct httpc_sink {
    char *body;
    size_t len, cap;
    bool too_big, no_memory;
} httpc_sink_t;

static size_t s_write(char *data, size_t size, size_t nmemb, void *arg)
{
    httpc_sink_t *s = arg;
    size_t n = size * nmemb;
    if (n > HB_HTTPC_BODY_MAX - s->len) {
        s->too_big = true;
        return 0; /* libcurl stops the transfer: CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        if (cap > HB_HTTPC_BODY_MAX + 1)
            cap = HB_HTTPC_BODY_MAX + 1;
        char *p = realloc(s->body, cap);
        if (!p) {
            s->no_memory = true;
            return 0;
        }
        s->body = p;
        s->cap = cap;
    }
    memcpy(s->body + s->len, data, n);
    s->len += n;
    return n;
}

/* ------------------------------------------------------ the outcome ---- */

/* What a failed transfer means, in hallbus's codes. A peer that does not
 * speak HTTP or breaks its framing is HB_EPARSE; everything the network
 * can do is HB_EIO. */
static int s_failure(CURL *c, CURLcode cc, const httpc_sink_t *sink, const httpc_target_t *t,
                     int timeout_ms, const char *curl_err, char *err, size_t errlen)
{
    const char *why = curl_err[0] ? curl_err : curl_easy_strerror(cc);
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    switch (cc) {
    case CURLE_WRITE_ERROR:
        if (sink->no_memory) {
            hb_errf(err, errlen, "out of memory reading the answer from %s", t->authority);
            return HB_ENOMEM;
        }
        /* The sink refused the body for its size. */
        __attribute__((fallthrough));
    case CURLE_FILESIZE_EXCEEDED:
        hb_errf(err, errlen, "the answer from %s is larger than %zu bytes", t->authority,
                HB_HTTPC_BODY_MAX);
        return HB_ETOOBIG;
    case CURLE_OUT_OF_MEMORY: hb_errf(err, errlen, "out of memory"); return HB_ENOMEM;
    case CURLE_OPERATION_TIMEDOUT:
        hb_errf(err, errlen, "%s: timed out after %d ms (%s)", t->authority, timeout_ms, why);
        return HB_EIO;
    case CURLE_COULDNT_RESOLVE_HOST:
        hb_errf(err, errlen, "cannot resolve %s: %s", t->authority, why);
        return HB_EIO;
    case CURLE_COULDNT_CONNECT:
        hb_errf(err, errlen, "cannot connect to %s: %s", t->authority,
                os_errno ? strerror((int)os_errno) : why);
        return HB_EIO;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: /* an answer without a status line: HTTP/0.9 */
    case CURLE_PARTIAL_FILE:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
        hb_errf(err, errlen, "%s did not answer in HTTP: %s", t->authority, why);
        return HB_EPARSE;
    case CURLE_RECV_ERROR:
        /* libcurl reports a broken chunked body as a receive error; it says
         * so in its message, while a reset says what the system said. */
        if (strcasestr(why, "chunk")) {
            hb_errf(err, errlen, "%s did not answer in HTTP: %s", t->authority, why);
            return HB_EPARSE;
        }
        hb_errf(err, errlen, "reading from %s: %s", t->authority, why);
        return HB_EIO;
    default: hb_errf(err, errlen, "%s: %s", t->authority, why); return HB_EIO;
    }
}

int hb_httpc_call(const char *base, const char *method, const char *path, const char *body,
                  const hb_httpc_opts_t *opts, hb_httpc_resp_t *resp, char *err, size_t errlen)
{
    static const hb_httpc_opts_t none = {0};
    if (err && errlen)
        err[0] = '\0';
    if (!resp) {
        hb_errf(err, errlen, "no place for the answer");
        return HB_EINVAL;
    }
    memset(resp, 0, sizeof *resp);
    const hb_httpc_opts_t *o = opts ? opts : &none;
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
    char url[HTTPC_URL_MAX];
    int ul = snprintf(url, sizeof url, "%s://%s%s", t.tls ? "https" : "http", t.authority, path);
    if (ul < 0 || (size_t)ul >= sizeof url) {
        hb_errf(err, errlen, "the URL is longer than %d bytes", HTTPC_URL_MAX - 1);
        return HB_EINVAL;
    }
    pthread_once(&s_init_once, s_init);
    if (s_init_rc != CURLE_OK) {
        hb_errf(err, errlen, "libcurl cannot start: %s", curl_easy_strerror(s_init_rc));
        return HB_EIO;
    }
    struct curl_slist *headers = NULL;
    rc = s_headers(o, body != NULL, &headers, err, errlen);
    if (rc != 0)
        return rc;
    CURL *c = curl_easy_init();
    if (!c) {
        curl_slist_free_all(headers);
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    int timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : HTTPC_TIMEOUT_DEFAULT_MS;
    char curl_err[CURL_ERROR_SIZE] = "";
    char agent[64];
    snprintf(agent, sizeof agent, "hallbus/%s", hb_version());
    httpc_sink_t sink = {0};
    bool head = strcmp(method, "HEAD") == 0;
    bool setup =
        curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        /* "" turns proxies off, http_proxy and all_proxy included. */
        curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK &&
        /* The path goes out as given: "/a/../b" is the server's to refuse. */
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HB_HTTPC_BODY_MAX) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_USERAGENT, agent) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) == CURLE_OK;
    if (setup && o->cacert && o->cacert[0])
        setup = curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert) == CURLE_OK;
    if (setup && body) {
        setup = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) ==
                    CURLE_OK &&
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) == CURLE_OK;
    } else if (setup && (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                         strcmp(method, "PATCH") == 0)) {
        /* No body, but a method that has one: an empty one, said so. */
        setup = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0) == CURLE_OK &&
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, "") == CURLE_OK;
        body = "";
    }
    if (setup && head)
        setup = curl_easy_setopt(c, CURLOPT_NOBODY, 1L) == CURLE_OK;
    /* POSTFIELDS makes a POST and NOBODY a HEAD; any other method is named. */
    bool named = body ? strcmp(method, "POST") != 0 : !head && strcmp(method, "GET") != 0;
    if (setup && named)
        setup = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    if (!setup) {
        hb_errf(err, errlen, "libcurl refused the request's settings");
        rc = HB_EINVAL;
        goto out;
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rc = s_failure(c, cc, &sink, &t, timeout_ms, curl_err, err, errlen);
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 100 || status > 599) {
        hb_errf(err, errlen, "%s answered with status %ld", t.authority, status);
        rc = HB_EPARSE;
        goto out;
    }
    if (sink.len + 1 > sink.cap) {
        /* Room for the NUL, the body empty or filling its buffer exactly. */
        char *p = realloc(sink.body, sink.len + 1);
        if (!p) {
            hb_errf(err, errlen, "out of memory");
            rc = HB_ENOMEM;
            goto out;
        }
        sink.body = p;
        sink.cap = sink.len + 1;
    }
    sink.body[sink.len] = '\0';
    resp->status = (int)status;
    resp->body = sink.body;
    resp->body_len = sink.len;
    sink.body = NULL;
    rc = 0;
out:
    free(sink.body);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return rc;
}

int hb_httpc_request(const char *base, const char *method, const char *path, const char *body,
                     int timeout_ms, hb_httpc_resp_t *resp, char *err, size_t errlen)
{
    hb_httpc_opts_t o = {.timeout_ms = timeout_ms};
    return hb_httpc_call(base, method, path, body, &o, resp, err, errlen);
}
