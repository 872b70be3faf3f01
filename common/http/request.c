/* What a handler reads of its request beyond method, path and body: a
 * header, a query parameter (percent-decoded; optional ones, text or time,
 * with the one 400 for a bad value), a path parameter of its route, the
 * route itself, the Host, and the client's address (as text, as its
 * address group, and whether it is a loopback one). Other answers are
 * reply.c's, and routing is http.c's. */
#include "hallbus/http.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

#include "internal.h"

#include <h2o.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define HTTP_QUERY_KEY_MAX 128 /* a query parameter's name, decoded */

int hb_http_header(const hb_http_req_t *hreq, const char *name, char *out, size_t outlen)
{
    if (!hreq || !hreq->impl || !name || !out || outlen == 0)
        return HB_EINVAL;
    h2o_req_t *req = ((http_exchange_t *)hreq->impl)->req;
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0)
        return HB_ENOTFOUND;
    const h2o_iovec_t *v = &req->headers.entries[i].value;
    if (v->len >= outlen)
        return HB_ETOOBIG;
    memcpy(out, v->base, v->len);
    out[v->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ query */

int hb_http_query(const hb_http_req_t *req, const char *name, char *out, size_t outlen)
{
    if (!req || !name || !out || outlen == 0 || strlen(name) >= HTTP_QUERY_KEY_MAX)
        return HB_EINVAL;
    const char *q = req->query ? req->query : "";
    while (*q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        size_t klen = eq ? (size_t)(eq - q) : n;
        char key[HTTP_QUERY_KEY_MAX];
        /* A key that does not decode or does not fit cannot be `name`. */
        if (klen > 0 && hb_http__decode(q, klen, true, key, sizeof key, NULL) == 0 &&
            strcmp(key, name) == 0) {
            if (!eq) {
                out[0] = '\0';
                return 0;
            }
            int rc = hb_http__decode(eq + 1, n - klen - 1, true, out, outlen, NULL);
            if (rc != 0)
                out[0] = '\0';
            return rc;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return HB_ENOTFOUND;
}

const char *hb_http_param(const hb_http_req_t *req, const char *name)
{
    const http_exchange_t *ex = req ? req->impl : NULL;
    return ex && ex->match ? hb_router_param(ex->match, name) : NULL;
}

const hb_route_t *hb_http_req_route(const hb_http_req_t *req)
{
    const http_exchange_t *ex = req ? req->impl : NULL;
    return ex ? ex->route : NULL;
}

int hb_http_host(const hb_http_req_t *hreq, char *out, size_t outlen)
{
    if (!hreq || !hreq->impl || !out || outlen == 0)
        return HB_EINVAL;
    const h2o_req_t *req = ((const http_exchange_t *)hreq->impl)->req;
    /* h2o keeps the Host header apart from the others, as the request's
     * authority; it fills in the host's own name when none was sent
     * ("default", registered in hb_http_new with port 65535), which reads
     * as no Host at all: a client that sends that name is refused too. */
    const h2o_iovec_t *a = &req->input.authority;
    if (a->len == 0 || h2o_memis(a->base, a->len, H2O_STRLIT("default")) ||
        h2o_memis(a->base, a->len, H2O_STRLIT("default:65535")))
        return HB_ENOTFOUND;
    if (a->len >= outlen)
        return HB_ETOOBIG;
    memcpy(out, a->base, a->len);
    out[a->len] = '\0';
    return 0;
}

int hb_http_peer_text(const hb_http_req_t *hreq, char *addr, size_t addrlen, char *group,
                      size_t grouplen)
{
    struct sockaddr_storage ss;
    if (!hreq || !hreq->impl || hb_http_peer(hreq, &ss) != 0)
        return HB_EINVAL;
    if (addr && addrlen) {
        char text[INET6_ADDRSTRLEN];
        const void *bits = ss.ss_family == AF_INET
                               ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                               : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
            !inet_ntop(ss.ss_family, bits, text, sizeof text))
            return HB_EINVAL;
        snprintf(addr, addrlen, "%s", text);
    }
    if (group && grouplen)
        return hb_http_address_group((const struct sockaddr *)&ss, group, grouplen);
    return 0;
}

int hb_http_query_opt(hb_http_req_t *req, const char *name, char *out, size_t outlen)
{
    int rc = hb_http_query(req, name, out, outlen);
    if (rc == HB_ENOTFOUND) {
        out[0] = '\0';
        return 0;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "%s is not a valid value", name);
        return HB_EINVAL;
    }
    return 0;
}

int hb_http_query_time(hb_http_req_t *req, const char *name, int64_t *out)
{
    char buf[48];
    if (hb_http_query_opt(req, name, buf, sizeof buf) != 0)
        return HB_EINVAL;
    if (buf[0] && hb_time_parse(buf, out) != 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "%s must be an RFC 3339 time", name);
        return HB_EINVAL;
    }
    return 0;
}

/* ---------------------------------------------------------------- callers */

int hb_http_peer(const hb_http_req_t *req, struct sockaddr_storage *out)
{
    const http_exchange_t *ex = req ? req->impl : NULL;
    memset(out, 0, sizeof *out);
    if (!ex || !ex->req->conn || !ex->req->conn->callbacks->get_peername)
        return HB_ENOTFOUND;
    socklen_t len = ex->req->conn->callbacks->get_peername(ex->req->conn, (struct sockaddr *)out);
    return len > 0 ? 0 : HB_ENOTFOUND;
}

bool hb_http_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        /* ::ffff:127.x.y.z, as a dual-stack socket reports an IPv4 client. */
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool hb_http_peer_is_loopback(const hb_http_req_t *req)
{
    struct sockaddr_storage ss;
    return hb_http_peer(req, &ss) == 0 && hb_http_addr_is_loopback((const struct sockaddr *)&ss);
}
