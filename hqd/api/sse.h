/* HQ's stream of changes as Server-Sent Events (GET /v1/stream): every
 * hall tile that changed and every alert raised or cleared, numbered by one
 * sequence. Recent events are kept in a bounded ring, so a client that
 * reconnects with Last-Event-ID (or ?since=N) gets what it missed; one that
 * was away longer than the ring reaches is told to "reset" (reload its
 * snapshot) rather than silently missing changes.
 *
 * Every client has an owner (the caller, as access control knows them):
 * an event goes to a client only when its owner sees it, and the owner's
 * access ending closes the client (hq_sse_close_owned).
 *
 * Runs on the loop thread. A client that does not keep up is dropped (it
 * reconnects and resumes); nobody waits for it. Not here: what the events
 * say (board.c, the alerts), or who sees what (hqd/auth/). */
#ifndef HQD_SSE_H
#define HQD_SSE_H

#include "hallbus/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct hq_sse hq_sse_t;

typedef struct hq_sse_config {
    size_t ring_events;   /* events kept for resuming */
    size_t ring_bytes;    /* ... and their bytes at most */
    size_t client_queue;  /* bytes queued per client before it is dropped */
    int64_t heartbeat_ms; /* a comment line this often keeps proxies and clients sure */
    size_t max_clients;
} hq_sse_config_t;

typedef struct hq_sse_stats {
    uint64_t published, last_id, oldest_id;
    size_t ring_events, ring_bytes, clients;
    uint64_t clients_dropped, resets, resumed;
} hq_sse_stats_t;

int hq_sse_new(uv_loop_t *loop, const hq_sse_config_t *cfg, hq_sse_t **out);
/* Ends every client's stream; frees `*s` once its timer is closed. */
void hq_sse_destroy(hq_sse_t **s);

/* Publishes one event (`data` is serialised here; the reference is the
 * caller's). `hall` and `region` (the hall's city, province and root
 * joined by '/', e.g. "CN/P01/C001") are what clients filter on; either may
 * be NULL. Returns the event's id. */
uint64_t hq_sse_publish(hq_sse_t *s, const char *type, const char *hall, const char *region,
                        const json_t *data);
/* The same with the data already as JSON text (`len` bytes, one line). */
uint64_t hq_sse_publish_text(hq_sse_t *s, const char *type, const char *hall, const char *region,
                             const char *json, size_t len);
/* The id of the newest event (0 before any): a snapshot taken now is
 * followed by events after this id. */
uint64_t hq_sse_last_id(const hq_sse_t *s);

/* Who a client's stream is for: `who` (the owner's, kept until the client
 * ends, then handed to `release`) and whether they see an event of `type`
 * about `hall` (may be NULL or "") in `region` (may be NULL). */
typedef struct hq_sse_owner {
    void *who;
    bool (*sees)(void *who, const char *type, const char *hall, const char *region);
    void (*release)(void *who);
} hq_sse_owner_t;

/* Answers GET /v1/stream[?since=N][&hall=ID][&region=ID][&types=tile,alert]
 * for `owner` (copied; its `who` is released when the stream ends, or at
 * once when none starts). */
void hq_sse_serve(hq_sse_t *s, hb_http_req_t *req, const hq_sse_owner_t *owner);
/* Closes every client whose owner `stale` says true for (within this call;
 * the streams end after what is queued). Returns how many. */
size_t hq_sse_close_owned(hq_sse_t *s, bool (*stale)(void *who, void *arg), void *arg);

void hq_sse_get_stats(const hq_sse_t *s, hq_sse_stats_t *out);

#endif
