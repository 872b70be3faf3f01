/* The hall's uplink to HQ: one DEALER socket, CURVE client, on branchd's
 * loop. It sends the outbox's events in batches within a bounded window of
 * unacknowledged events, records HQ's cumulative acks in the outbox, and
 * after any reconnect or silence resends from the point HQ's Welcome names.
 *
 * Session rules: Hello until Welcome; then batches; a heartbeat when idle;
 * HQ silent for timeout_ms means the link is down and the hall says Hello
 * again (with a jittered, doubling wait). Nothing is ever dropped here: an
 * event leaves the outbox only when HQ's ack for it arrives.
 *
 * The link never wedges silently. Every refusal is seen, logged once when
 * it begins, shown in the stats (uplink_state) and retried by itself with a
 * jittered, growing wait: HQ refusing the hall's key at the handshake (a
 * socket monitor sees it; libzmq does not reconnect after an authentication
 * failure, so the socket is made anew), the key revoked while connected, a
 * batch HQ refuses (the link is "blocked" at that sequence), a resend that
 * differs from HQ's copy. Re-enrolling the key lets the hall in again with
 * nobody touching it. Each side's clock is compared with the other's. */
#ifndef BRANCHD_UPLINK_H
#define BRANCHD_UPLINK_H

#include "outbox.h"
#include "hallbus/cert.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct uplink uplink_t;

typedef struct uplink_config {
    const char *endpoint;         /* "tcp://hq.example:7400" */
    const hb_cert_t *hall;        /* the hall's own pair */
    const char *hq_public;        /* HQ's public key, Z85 */
    uint32_t window;              /* most events sent and not yet acknowledged */
    uint32_t batch_max;           /* most events in one batch */
    uint32_t batch_bytes;         /* about this many bytes in one batch at most */
    int64_t heartbeat_ms;         /* idle interval between heartbeats */
    int64_t timeout_ms;           /* HQ silent this long: link down */
    int64_t reconnect_min_ms;     /* first reconnect wait (jittered per hall) */
    int64_t reconnect_max_ms;     /* longest reconnect wait (jittered per hall) */
    int64_t refused_retry_max_ms; /* longest wait between tries after HQ refused the key */
    int64_t clock_skew_warn_ms;   /* HQ's clock this far from the hall's is logged */
    int64_t max_frame;            /* largest frame accepted from HQ */
    const char *software;         /* "branchd 0.1.0" */
    /* The downlink: a document HQ pushed (policy, or calendar when
     * `calendar`), and the versions in force, told to HQ in every Hello so
     * that it sends what is newer. Either may be NULL. */
    void (*on_document)(void *arg, bool calendar, uint64_t version, const uint8_t *doc, size_t len);
    void (*versions)(void *arg, uint64_t *policy, uint64_t *calendar);
    /* The last document of a kind the hall refused (version 0: none) and
     * why, told to HQ in every Hello and heartbeat: a stable code (`code`
     * holds `code_len` bytes; "" for none) and the detail in words
     * (`reason` holds `reason_len` bytes). May be NULL. */
    void (*refusal)(void *arg, bool calendar, uint64_t *version, char *code, size_t code_len,
                    char *reason, size_t reason_len);
    /* HQ's board of the hall's nearby halls (may be NULL). */
    void (*on_neighbours)(void *arg, const Hallbus__NeighbourBoard *board);
    /* The notices of the manager page HQ sent (may be NULL). */
    void (*on_notices)(void *arg, const Hallbus__HallNotices *notices);
    /* A booking HQ asks for (may be NULL: then Hello tells HQ this hall
     * takes none); answered with uplink_send_booking_answer. */
    void (*on_booking)(void *arg, const Hallbus__BookingRequest *request);
    /* HQ's answer to a rotation request (uplink_send_rotation; may be NULL). */
    void (*on_rotate_answer)(void *arg, const Hallbus__RotateAnswer *answer);
    void *doc_arg;
} uplink_config_t;

#define UPLINK_REASON_MAX 256

typedef struct uplink_stats {
    bool connected;         /* a Welcome came and HQ has not been silent since */
    bool sequence_conflict; /* HQ holds more of this hall than its outbox */
    /* Why events are not flowing, when they are not (see uplink_state). */
    bool refused;                   /* HQ's ZAP handler refused the key at the handshake */
    bool revoked;                   /* HQ said the key was revoked */
    bool expired;                   /* refused, and the hall's certificate has expired */
    int blocked_code;               /* the RejectCode of a refused batch or frame; 0: none */
    uint64_t blocked_seq;           /* the sequence it named (0: none) */
    char reason[UPLINK_REASON_MAX]; /* HQ's words, or what the hall saw */
    int64_t trouble_since_ms;       /* wall clock: since when (0: no trouble) */
    int64_t retry_in_ms;            /* the next try, from now (0: not waiting) */
    uint64_t conflict_seq;          /* the last resend HQ found different from its copy */
    int64_t conflict_ms;
    bool skew_known;
    int64_t clock_skew_ms;   /* the hall's clock minus HQ's */
    uint64_t auth_failures;  /* handshakes HQ refused */
    uint64_t socket_reopens; /* sockets made anew after a refusal */
    uint64_t hq_committed;   /* the last committed sequence HQ reported */
    uint64_t batches_sent;
    uint64_t events_sent; /* resends included */
    uint64_t acks;
    uint64_t welcomes;
    uint64_t rejects;
    uint64_t link_losses;
    uint64_t bad_frames;        /* frames from HQ that did not decode */
    uint64_t documents;         /* policy and calendar frames received */
    int64_t connected_since_ms; /* wall clock, 0 when not connected */
    bool hq_rotation;           /* HQ's Welcome offers rotation over the link */
} uplink_stats_t;

/* Creates the socket (not yet connected; the first tick connects). */
int uplink_new(uv_loop_t *loop, void *zmq_ctx, outbox_t *outbox, const uplink_config_t *cfg,
               uplink_t **out);
/* New events were appended: send what the window allows. */
void uplink_notify(uplink_t *up);
/* Called by branchd's housekeeping timer (about every 100 ms): heartbeats,
 * silence detection, Hello retries. */
void uplink_tick(uplink_t *up);
/* The hall has news for HQ that rides on heartbeats (a document refused):
 * the next tick sends one even when the link is busy with events. */
void uplink_heartbeat_soon(uplink_t *up);
void uplink_get_stats(const uplink_t *up, uplink_stats_t *out);
/* Sends the answer to a BookingRequest: 0, HB_EAGAIN (no connection now,
 * or its queue is full), HB_ENOMEM. Not queued: HQ's caller has a deadline,
 * and asks again with the same key. */
int uplink_send_booking_answer(uplink_t *up, const Hallbus__BookingAnswer *answer);
/* Sends a rotation request (its text, enrol.h) to HQ; the answer comes to
 * cfg->on_rotate_answer. HB_EAGAIN when the session is not up (no Welcome
 * yet) or the socket cannot take it now, HB_ECONFLICT when HQ's Welcome did
 * not offer rotation (an older HQ). */
int uplink_send_rotation(uplink_t *up, const char *request);
/* The hall's key pair (cfg->hall) changed: the socket is made anew with it
 * at the next tick, and the session starts over from HQ's Welcome. */
void uplink_reconnect(uplink_t *up);
/* The link in one word: "connected", "connecting", "refused" (the key was
 * refused at the handshake), "revoked", "blocked" (HQ refuses a batch or
 * frame), "conflict" (HQ holds more than the outbox), "expired" (refused, and
 * the hall's certificate is past its not-after). */
const char *uplink_state(const uplink_stats_t *st);
/* Closes the socket (linger 0: the outbox is durable) and frees `*up` once
 * the libuv handles are closed. */
void uplink_destroy(uplink_t **up);

#endif
