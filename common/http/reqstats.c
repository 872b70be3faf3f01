/* HTTP request durations by route and status class (see internal.h): the
 * server records each request as it returns from its handler, on the
 * loop's thread, and /metrics writes the series that have requests. The
 * label values come from the route tables, so a client cannot make new
 * series by asking for new paths. Not here: connection counts (http.c). */
#include "internal.h"

#include "hallbus/time.h"

#include <stdio.h>

static const char *const s_class_names[HTTP_REQSTATS_CLASSES] = {"2xx", "3xx", "4xx", "5xx"};

void hb_http__reqstats_init(http_reqstats_t *rs)
{
    for (size_t i = 0; i < HTTP_REQSTATS_SLOTS; i++) {
        rs->slots[i].route = NULL;
        for (size_t c = 0; c < HTTP_REQSTATS_CLASSES; c++)
            hb_histogram_init(&rs->slots[i].by_class[c], &hb_buckets_latency);
    }
}

void hb_http__reqstats_record(http_reqstats_t *rs, size_t slot, const hb_route_t *route, int status,
                              int64_t t0_ns)
{
    if (slot >= HTTP_REQSTATS_SLOTS || (slot != HTTP_REQSTATS_UNMATCHED && !route))
        slot = HTTP_REQSTATS_UNMATCHED;
    http_reqslot_t *s = &rs->slots[slot];
    if (slot != HTTP_REQSTATS_UNMATCHED)
        s->route = route;
    /* Every answer the server sends is 200..599 (http.c's s_send); a
     * request that somehow has none counts as a server error. */
    size_t cls = status >= 200 && status <= 599 ? (size_t)(status / 100 - 2) : 3;
    hb_histogram_observe_since(&s->by_class[cls], t0_ns);
}

void hb_http__reqstats_metrics(const http_reqstats_t *rs, const char *name, hb_metrics_t *m)
{
    for (size_t i = 0; i < HTTP_REQSTATS_SLOTS; i++) {
        const http_reqslot_t *s = &rs->slots[i];
        if (i != HTTP_REQSTATS_UNMATCHED && !s->route)
            continue;
        char method[32], route[2 * HB_ROUTER_PATTERN_MAX];
        hb_metrics_escape(method, sizeof method,
                          s->route && s->route->method ? s->route->method : "any");
        hb_metrics_escape(route, sizeof route, s->route ? s->route->pattern : "unmatched");
        for (size_t c = 0; c < HTTP_REQSTATS_CLASSES; c++) {
            if (hb_histogram_count(&s->by_class[c]) == 0)
                continue;
            char labels[sizeof method + sizeof route + 64];
            snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",code=\"%s\"", method, route,
                     s_class_names[c]);
            hb_metrics_histogram(m, name,
                                 "HTTP request durations, from the request's arrival "
                                 "to its answer, by route and status class",
                                 labels, &s->by_class[c]);
        }
    }
}
