/* The branchd daemon as a whole: its settings, the parts it wires together
 * (outbox, hall engine, uplink, local API) and the loop they share. main.c
 * builds it; api/table.c lists its local HTTP API's routes, which
 * api/status.c and api/hall.c answer. */
#ifndef BRANCHD_BRANCHD_H
#define BRANCHD_BRANCHD_H

#include "access.h"
#include "advice.h"
#include "applier.h"
#include "engine.h"
#include "outbox.h"
#include "keyroll.h"
#include "uplink.h"
#include "hallbus/cert.h"
#include "hallbus/http.h"
#include "hallbus/store.h" /* HB_STORE_CONF_FIELDS */
#include "hallbus/static.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct branchd_config {
    char *config;
    char *id;
    char *data;
    char *hq;
    char *http;
    char *keys;
    char *log_level;
    int64_t window;
    int64_t batch_max;
    uint64_t batch_bytes;
    int64_t heartbeat_ms;
    int64_t link_timeout_ms;
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
    int64_t refused_retry_max_ms;
    int64_t clock_skew_warn_ms;
    int64_t retention_ms;
    HB_STORE_CONF_FIELDS;
    HB_HTTP_CONF_FIELDS;
    int64_t max_events_per_post;
    int64_t max_future_ms;
    char *services;
    char *policy_file;
    int64_t priority_ratio;
    char *priority_order;
    int64_t ageing_ms;
    int64_t max_recalls;
    int64_t max_waiting;
    int64_t snapshot_every_ms;
    bool local_trust;
    char *tls_cert;
    char *tls_key;
    int64_t pin_lock_ms;
    char *pages;
    char *hall_name;
    char *public_url;
    int64_t rotate_before_ms;
    int64_t rotate_retry_ms;
} branchd_config_t;

#define BRANCHD_REF_MAX (HB_HS_ID + 10) /* a ticket's public reference: "A012-K7QX3M9W" */
typedef struct branchd_live branchd_live_t;

typedef struct branchd {
    branchd_config_t cfg;
    uv_loop_t *loop;
    void *zmq_ctx;
    outbox_t *outbox;
    engine_t *engine;
    applier_t *applier;
    uplink_t *uplink;
    hb_http_t *http;
    hb_cert_t cert;               /* the hall's own key pair */
    hb_cert_t hq_cert;            /* HQ's public key */
    advice_board_t neighbours;    /* the last neighbour board HQ sent (advice.h) */
    json_t *notices;              /* the manager page's notices HQ sent (notices.h), or NULL */
    uint64_t api_refused;         /* requests refused as bad input */
    uint64_t api_events;          /* events accepted through the API */
    uint64_t hq_bookings;         /* BookingRequests HQ sent (api/appointments.c) */
    uint64_t hq_bookings_expired; /* of them, dropped: they came after their deadline */
    access_t *access;             /* devices, staff, sign-ins (access/access.h) */
    /* The caller of the request being answered: the guard fills it and
     * points hb_http_req_t.caller at it; handlers answer before the next
     * request, so one slot serves them all. */
    access_caller_t caller_now;
    uint64_t access_unauthenticated; /* requests refused 401 */
    uint64_t access_forbidden;       /* requests refused 403 */
    uint64_t access_local;           /* requests let in by local trust */
    hb_static_t *pages;              /* the hall's pages (api/pages.c) */
    uint8_t ticket_key[32];          /* the secret of tickets' public references */
    branchd_live_t *live;            /* the pages' live stream (api/live.c) */
    keyroll_t *keyroll;              /* automatic key rotation (keyroll.h) */
} branchd_t;

/* api/screens.c: the ticket references' key (made at first start in the
 * data folder) and a ticket's public reference. */
int branchd_ticket_key_load(branchd_t *d);
void branchd_ticket_ref(const branchd_t *d, const hb_hs_ticket_t *t, char out[BRANCHD_REF_MAX]);

/* api/live.c: the stream of the hall's events for its pages. */
int branchd_live_new(branchd_t *d, branchd_live_t **out);
/* Events were committed: send them to every stream. */
void branchd_live_notify(branchd_live_t *l);
/* Housekeeping: the coalesced hall view, pings. */
void branchd_live_tick(branchd_live_t *l);
/* api/hall.c: GET /v1/hall's answer at `now_ms` (new reference, NULL when
 * out of memory). */
json_t *branchd_hall_view(branchd_t *d, int64_t now_ms);
void branchd_live_destroy(branchd_live_t **l);

/* api/appointments.c: a booking HQ asks for (the app and the web), decided
 * as POST /v1/appointments decides, answered to HQ over the uplink. */
void branchd_booking_from_hq(branchd_t *d, const Hallbus__BookingRequest *rq);

/* The local API's route table (api/table.c): every route, the permission it
 * needs and its handler; static data, `*n` rows. */
const hb_http_route_t *branchd_routes(size_t *n);
/* Registers branchd_routes() on d->http, each handler called with `d`, and
 * the guard every request passes first (access control); with d->engine
 * and d->loop, the group commit of ticket and counter requests too
 * (api/group.c). */
int branchd_api_register(branchd_t *d);
/* Loads the hall's pages from the `pages` folder into d->pages
 * (api/pages.c): 0, HB_ENOMEM, or another code with `err` saying why
 * (the paths then answer a 404 saying it). */
int branchd_pages_open(branchd_t *d, char *err, size_t errlen);
/* Whether the neighbour board is not current: none yet, older than
 * ADVICE_STALE_MS, or HQ unreachable (shown as stale, never as current;
 * neighbours.c). */
bool branchd_neighbours_stale(const branchd_t *d);

#endif
