/* What clients may hold on the HTTP server (see http.h, hb_http_limits_t):
 * connections in all and per address group, counted as each is accepted
 * and closed, and the connections h2o closes for not sending a request in
 * time, counted; the limits and these counts, as figures. Not for serving
 * requests (http.c) nor for the request timeout itself, which is h2o's. */
#include "hallbus/error.h"
#include "hallbus/http.h"
#include "hallbus/log.h"
#include "hallbus/metrics.h"

#include "internal.h"

#include <h2o/socket/uv-binding.h>

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* ---------------------------------------------------- address groups */

static const void *s_addr_key_of(const void *t, uint32_t i)
{
    return &((const http_addr_table_t *)t)->groups.v[i].key;
}

static uint32_t s_addr_conns(const http_addr_table_t *t, const http_addr_key_t *k)
{
    int32_t i = hb_idmap_find(&t->map, t, k);
    return i < 0 ? 0 : t->groups.v[i].conns;
}

/* Counts one more connection for `k`. HB_ETOOBIG when a new group would be
 * one more than the table is sized for, which max_conns rules out; refusing
 * the connection is then the safe answer. */
static int s_addr_add(http_addr_table_t *t, const http_addr_key_t *k)
{
    int32_t i = hb_idmap_find(&t->map, t, k);
    if (i >= 0) {
        t->groups.v[i].conns++;
        return 0;
    }
    http_addr_group_t *g = hb_vec_push(&t->groups);
    if (!g)
        return HB_ETOOBIG;
    g->key = *k;
    g->conns = 1;
    int rc = hb_idmap_add(&t->map, t, (uint32_t)(t->groups.n - 1));
    if (rc != 0)
        t->groups.n--;
    return rc;
}

/* Counts one connection less for `k`, which must hold one. */
static void s_addr_remove(http_addr_table_t *t, const http_addr_key_t *k)
{
    int32_t i = hb_idmap_find(&t->map, t, k);
    assert(i >= 0 && t->groups.v[i].conns > 0);
    if (--t->groups.v[i].conns > 0)
        return;
    hb_idmap_remove(&t->map, t, k);
    size_t last = t->groups.n - 1;
    if ((size_t)i != last) {
        t->groups.v[i] = t->groups.v[last];
        hb_idmap_renumber(&t->map, t, &t->groups.v[i].key, (uint32_t)i);
    }
    t->groups.n--;
}

/* Sizes the table for `max_keys` groups, and for the groups it holds (when
 * max_conns is lowered below the connections open, they stay counted). */
static int s_addr_reserve(http_addr_table_t *t, size_t max_keys)
{
    size_t need = max_keys > t->groups.n ? max_keys : t->groups.n;
    size_t old_max = t->groups.max;
    t->groups.max = need;
    t->map.max = need;
    int rc = hb_idmap_reserve(&t->map, t, need);
    if (rc == 0)
        rc = hb_vec_reserve(&t->groups, need);
    if (rc != 0) {
        t->groups.max = old_max;
        t->map.max = old_max;
    }
    return rc;
}

static uint64_t s_random_seed(const void *salt)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        /* Early in boot the pool may not be ready: a seed that differs per
         * run and per server is still better than a fixed one. */
        seed = uv_hrtime() ^ (uint64_t)(uintptr_t)salt ^ ((uint64_t)getpid() << 32);
    }
    return seed;
}

int hb_http__addrs_init(hb_http_t *http)
{
    http->addrs.groups.max = http->limits.max_conns;
    hb_idmap_init_bytes(&http->addrs.map, http->limits.max_conns, sizeof(http_addr_key_t),
                        s_random_seed(http), s_addr_key_of);
    return s_addr_reserve(&http->addrs, http->limits.max_conns);
}

void hb_http__addrs_free(hb_http_t *http)
{
    hb_vec_free(&http->addrs.groups);
    hb_idmap_free(&http->addrs.map);
}

static int s_addr_key(const struct sockaddr *sa, http_addr_key_t *k)
{
    memset(k, 0, sizeof *k);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        k->b[10] = 0xff;
        k->b[11] = 0xff;
        memcpy(k->b + 12, &in->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        /* A mapped address already has the IPv4 key's form. */
        bool mapped = IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
        memcpy(k->b, in6->sin6_addr.s6_addr, mapped ? 16 : 8);
        return 0;
    }
    return HB_EINVAL;
}

static int s_addr_key_text(const http_addr_key_t *k, char *out, size_t outlen)
{
    static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char text[INET6_ADDRSTRLEN];
    bool v4 = memcmp(k->b, v4_prefix, sizeof v4_prefix) == 0;
    if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? k->b + 12 : k->b, text, sizeof text))
        return HB_EINVAL;
    int n = snprintf(out, outlen, "%s%s", text, v4 ? "" : "/64");
    if (n < 0 || (size_t)n >= outlen)
        return HB_ETOOBIG;
    return 0;
}

int hb_http_address_group(const struct sockaddr *sa, char *out, size_t outlen)
{
    http_addr_key_t k;
    if (!sa || !out || outlen == 0 || s_addr_key(sa, &k) != 0)
        return HB_EINVAL;
    return s_addr_key_text(&k, out, outlen);
}

static void s_on_conn_closed(uv_handle_t *h)
{
    http_conn_t *c = (http_conn_t *)h;
    hb_http_t *http = c->http;
    HTTP_LIST_REMOVE(http->conns, http->nconns, c);
    s_addr_remove(&http->addrs, &c->addr);
    free(c);
    hb_http__maybe_finish(http);
}

/* Runs when h2o closes a connection's socket, before libuv's close callback,
 * to count the connections closed by the request timeout: h2o 2.2.5 closes
 * those in lib/http1.c (reqread_on_timeout) without a word to us. Read in
 * h2o 2.2.5 and libuv 1.44:
 * - h2o's HTTP/1 code reads from a socket only while it waits for a request
 *   head or body (it stops reading while it answers, streams included), and
 *   while it waits, that connection's entry is linked to the context's
 *   req_timeout, whose libuv timer is armed: it is started when an entry is
 *   linked to an empty list, and restarted after it fires if entries remain;
 * - libuv stops a one-shot timer before it runs the timer's callback.
 * So a socket closed while reading, with that timer not armed, is closed from
 * inside the timer's callback, which closes nothing but timed-out
 * connections. A client's end-of-stream or reset, which h2o also handles
 * while reading, arrives with the timer armed and is not counted. Only the
 * counter rests on this; the timeout itself is h2o's. */
static void s_on_sock_closing(void *data)
{
    http_conn_t *c = data;
    hb_http_t *http = c->http;
    const uv_handle_t *timer = (const uv_handle_t *)&http->ctx.http1.req_timeout._backend.timer;
    if (!http->destroying && h2o_socket_is_reading(c->sock) && !uv_is_active(timer))
        http->closed_by_timeout++;
    c->sock = NULL;
}

static void s_on_refused_closed(uv_handle_t *h) { free(h); }

/* Closes a connection just accepted, before h2o has seen it. */
static void s_refuse(http_conn_t *c) { uv_close((uv_handle_t *)&c->tcp, s_on_refused_closed); }

void hb_http__on_connection(uv_stream_t *server, int status)
{
    hb_http_t *http = server->data;
    if (status < 0) {
        hb_log_once("http.accept", HB_LOG_WARN, "http: accept failed: %s", uv_strerror(status));
        return;
    }
    if (http->destroying)
        return;
    http_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        hb_log_once("http.accept_nomem", HB_LOG_ERROR, "http: no memory for a connection");
        return;
    }
    c->http = http;
    uv_tcp_init(http->loop, &c->tcp);
    int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    struct sockaddr_storage peer;
    int peerlen = sizeof peer;
    if (rc == 0)
        rc = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &peerlen);
    if (rc == 0 && s_addr_key((const struct sockaddr *)&peer, &c->addr) != 0)
        rc = UV_EAFNOSUPPORT;
    if (rc != 0) {
        /* Includes a client that reset before we could ask who it was. */
        hb_log_once("http.accept", HB_LOG_WARN, "http: accept failed: %s", uv_strerror(rc));
        s_refuse(c);
        return;
    }
    /* The address group's cap first, so that one client past its own cap is
     * counted as such even when the total is reached too. */
    if (s_addr_conns(&http->addrs, &c->addr) >= http->limits.max_per_address) {
        http->refused_per_address++;
        char group[HTTP_ADDR_TEXT_MAX];
        if (s_addr_key_text(&c->addr, group, sizeof group) != 0)
            snprintf(group, sizeof group, "?");
        hb_log_once("http.per_address", HB_LOG_WARN,
                    "http: %s holds %zu connections, closing its new ones (logged for the "
                    "first such address only; the counters have them all)",
                    group, http->limits.max_per_address);
        s_refuse(c);
        return;
    }
    if (http->nconns >= http->limits.max_conns || s_addr_add(&http->addrs, &c->addr) != 0) {
        http->refused_max_conns++;
        hb_log_once("http.conns_max", HB_LOG_WARN, "http: %zu connections open, closing new ones",
                    http->nconns);
        s_refuse(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    HTTP_LIST_PUSH(http->conns, http->nconns, c);
    c->sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, s_on_conn_closed);
    c->sock->on_close.cb = s_on_sock_closing;
    c->sock->on_close.data = c;
    h2o_accept(&http->accept_ctx, c->sock);
}

hb_http_limits_t hb_http_limits_default(void)
{
    return (hb_http_limits_t){
        .max_conns = HB_HTTP_MAX_CONNS_DEFAULT,
        .max_per_address = HB_HTTP_MAX_PER_ADDRESS_DEFAULT,
        .header_timeout_ms = HB_HTTP_HEADER_TIMEOUT_MS_DEFAULT,
    };
}

int hb_http_open(uv_loop_t *loop, const char *host_port, size_t max_body,
                 const hb_http_limits_t *limits, hb_http_t **out)
{
    *out = hb_http_new(loop, host_port, max_body);
    if (!*out)
        return HB_EIO; /* hb_http_new said why */
    if (hb_http_set_limits(*out, limits) != 0) {
        hb_error("http_max_per_address (%lld) may not exceed http_max_conns (%lld)",
                 (long long)limits->max_per_address, (long long)limits->max_conns);
        return HB_EINVAL;
    }
    return 0;
}

int hb_http_set_limits(hb_http_t *http, const hb_http_limits_t *limits)
{
    if (!http || !limits)
        return HB_EINVAL;
    if (limits->max_conns < 1 || limits->max_conns > HB_HTTP_MAX_CONNS_CEILING ||
        limits->max_per_address < 1 || limits->max_per_address > limits->max_conns ||
        limits->header_timeout_ms < HB_HTTP_HEADER_TIMEOUT_MS_MIN ||
        limits->header_timeout_ms > HB_HTTP_HEADER_TIMEOUT_MS_MAX)
        return HB_EINVAL;
    int rc = s_addr_reserve(&http->addrs, limits->max_conns);
    if (rc != 0)
        return rc;
    http->limits = *limits;
    /* The context copied the timeout when it was made. Its waiting entries
     * are judged by this value whenever its timer fires, and the timer is
     * next due at the old deadline of the oldest wait: a wait already running
     * ends at its new deadline when the timeout grows, and no later than its
     * old one when it shrinks. */
    http->config.http1.req_timeout = (uint64_t)limits->header_timeout_ms;
    if (http->ctx_inited)
        http->ctx.http1.req_timeout.timeout = (uint64_t)limits->header_timeout_ms;
    hb_info("http: up to %zu connections, %zu per address, %lld ms to receive a request",
            limits->max_conns, limits->max_per_address, (long long)limits->header_timeout_ms);
    return 0;
}

void hb_http_get_limits(const hb_http_t *http, hb_http_limits_t *out)
{
    assert(http && out);
    *out = http->limits;
}

void hb_http_get_stats(const hb_http_t *http, hb_http_stats_t *out)
{
    assert(out);
    memset(out, 0, sizeof *out);
    if (!http)
        return;
    out->conns_open = http->nconns;
    out->streams_open = http->nstreams;
    out->addresses_open = http->addrs.groups.n;
    out->refused_per_address = http->refused_per_address;
    out->refused_max_conns = http->refused_max_conns;
    out->closed_by_timeout = http->closed_by_timeout;
}

json_t *hb_http_stats_json(const hb_http_t *http)
{
    hb_http_stats_t st;
    hb_http_get_stats(http, &st);
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I}", "conns_open", (json_int_t)st.conns_open, "streams_open",
        (json_int_t)st.streams_open, "addresses_open", (json_int_t)st.addresses_open,
        "refused_per_address", (json_int_t)st.refused_per_address, "refused_max_conns",
        (json_int_t)st.refused_max_conns, "closed_by_timeout", (json_int_t)st.closed_by_timeout);
}

void hb_http_stats_metrics(const hb_http_t *http, const char *prefix, struct hb_metrics *m)
{
    hb_http_stats_t st;
    hb_http_get_stats(http, &st);
    char name[96];
    snprintf(name, sizeof name, "%shttp_connections", prefix);
    hb_metrics_add(m, name, "gauge", "HTTP connections open now, streams included", NULL,
                   (double)st.conns_open);
    snprintf(name, sizeof name, "%shttp_refused_total", prefix);
    hb_metrics_add(m, name, "counter", "HTTP connections closed at accept, by the cap that refused",
                   "cap=\"per_address\"", (double)st.refused_per_address);
    hb_metrics_add(m, name, "counter", "HTTP connections closed at accept, by the cap that refused",
                   "cap=\"total\"", (double)st.refused_max_conns);
    snprintf(name, sizeof name, "%shttp_timeouts_total", prefix);
    hb_metrics_add(m, name, "counter",
                   "HTTP connections closed for not sending a request within the header timeout",
                   NULL, (double)st.closed_by_timeout);
    if (http) {
        snprintf(name, sizeof name, "%shttp_request_duration_seconds", prefix);
        hb_http__reqstats_metrics(&http->reqstats, name, m);
    }
}
