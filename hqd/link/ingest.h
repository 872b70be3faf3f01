/* HQ's side of the link: the ROUTER socket (CURVE server, ZAP in front of
 * it), the checks every frame passes, deduplication by sequence, hand-off
 * to the writer, and cumulative acks once the writer's commit returned.
 *
 * The hall's identity is the ZAP User-Id of the connection (its enrolled
 * key), never anything in the payload, and every message is checked against
 * the enrolled keys, so a revoked hall is cut off within a ZAP scan.
 *
 * A committed event is never refused in a way that blocks a hall's stream:
 * an event that decodes and belongs to the hall is stored, and an anomaly
 * (eventrules.h: a clock far off, a field out of its domain) is stored with
 * a flag. Only what cannot be decoded or does not follow on is refused; the
 * hall then shows its link blocked and HQ raises hall_blocked. Every
 * refusal is answered with a Reject naming what is wrong, counted, and
 * logged once per hall and reason. */
#ifndef HQD_INGEST_H
#define HQD_INGEST_H

#include "halls.h"
#include "hqstore.h"
#include "writer.h"
#include "zap.h"
#include "hallbus.pb-c.h"
#include "hallbus/cert.h"

#include <stdint.h>
#include <uv.h>

typedef struct hq_ingest hq_ingest_t;

typedef struct hq_ingest_config {
    const char *listen;       /* "tcp://0.0.0.0:7400" */
    const hb_cert_t *hq;      /* HQ's own key pair */
    int64_t max_frame;        /* larger frames are refused with a reason */
    uint32_t max_batch;       /* most events in one batch */
    int64_t heartbeat_ms;     /* told to halls in Welcome */
    int64_t offline_after_ms; /* silent this long: offline */
    int64_t max_future_ms;    /* an event this far ahead of HQ's clock is flagged */
    hq_store_t *store;        /* read to compare a resend with what is stored */
    hq_zap_t *zap;            /* the enrolled keys, checked on every message */
} hq_ingest_config_t;

#define HQ_REJECT_CODES 11 /* RejectCode values 0..10 */

typedef struct hq_ingest_stats {
    uint64_t frames;
    uint64_t batches;
    uint64_t events_received;
    uint64_t events_duplicate;    /* resent events recognised and not stored again */
    uint64_t events_unknown_kind; /* stored as they came, kind unknown to this build */
    uint64_t acks_sent;
    uint64_t send_dropped; /* replies the socket could not take */
    uint64_t refused;      /* total of refused_by_code */
    uint64_t refused_by_code[HQ_REJECT_CODES];
    uint64_t unauthenticated;   /* messages without a ZAP User-Id */
    uint64_t events_flagged;    /* stored with an anomaly flag (eventrules.h) */
    uint64_t revoked_messages;  /* messages of a connection whose key was removed */
    uint64_t conflicts;         /* resends that differed from the stored bytes */
    uint64_t rotations_granted; /* RotateRequests answered with a certificate */
    uint64_t rotations_refused;
} hq_ingest_stats_t;

int hq_ingest_new(uv_loop_t *loop, void *zmq_ctx, hq_halls_t *halls, hq_writer_t *writer,
                  const hq_ingest_config_t *cfg, hq_ingest_t **out);
/* The writer's commit results, passed on by hqd's loop. */
void hq_ingest_on_commit(hq_ingest_t *ing, const hq_commit_t *commits, size_t n);
void hq_ingest_get_stats(const hq_ingest_t *ing, hq_ingest_stats_t *out);
bool hq_ingest_hall_online(const hq_ingest_t *ing, const hq_hall_t *hall);
/* A hall's link as HQ sees it, one state per hall: expired (its current
 * certificate's validity has ended, connected or not), revoked (its key
 * was removed while it spoke), else blocked (HQ refuses what it sends), else
 * online (heard from within offline_after) or offline (never heard from
 * included). /v1/halls' link.state and /metrics' halls by state read it. */
typedef enum hq_link_state {
    HQ_LINK_ONLINE,
    HQ_LINK_OFFLINE,
    HQ_LINK_BLOCKED,
    HQ_LINK_REVOKED,
    HQ_LINK_EXPIRED,
    HQ_LINK_STATES
} hq_link_state_t;
hq_link_state_t hq_ingest_hall_state(const hq_ingest_t *ing, const hq_hall_t *hall);
/* "online", "offline", "blocked", "revoked", "expired". */
const char *hq_link_state_name(hq_link_state_t state);
/* Ack latency: for each stored batch, the seconds from its frame's arrival
 * to the ack that covers it, sent after its commit (a batch whose commit
 * failed is not timed; the resend is). For /metrics; read on any thread. */
const hb_histogram_t *hq_ingest_ack_histogram(const hq_ingest_t *ing);
size_t hq_ingest_online_count(const hq_ingest_t *ing);
/* The endpoint actually bound (a port of 0 or * resolved). */
const char *hq_ingest_endpoint(const hq_ingest_t *ing);
void hq_ingest_destroy(hq_ingest_t **ing);
/* Called on the loop thread after each Hello is answered (the hall's
 * versions are in `hall`): the downlink sends what is newer. */
typedef void (*hq_hello_fn)(void *arg, hq_hall_t *hall);
void hq_ingest_set_hello_hook(hq_ingest_t *ing, hq_hello_fn fn, void *arg);
/* Called on the loop thread with what each Hello and heartbeat says of the
 * documents the hall refused (either NULL: none of that kind; the frame's,
 * valid during the call only, fields not yet checked): the downlink keeps
 * them for the rollout view. */
typedef void (*hq_refusal_fn)(void *arg, hq_hall_t *hall, const Hallbus__DocumentRefusal *policy,
                              const Hallbus__DocumentRefusal *calendar);
void hq_ingest_set_refusal_hook(hq_ingest_t *ing, hq_refusal_fn fn, void *arg);

/* A hall's RotateRequest: `key` is the key (Z85) its connection
 * authenticated with, `request` the request's text. The hook decides (it
 * is enrolment's business, hqd/api/enrol.c) and fills `out`; the ingest
 * answers the hall with a RotateAnswer and frees `out`'s texts. While no
 * hook is set, Welcome does not offer rotation and a request is refused. */
typedef struct hq_rotate_answer {
    bool granted;
    char public_key[HB_CERT_KEY_Z85];
    char *certificate; /* malloc'd: the new certificate's text */
    char *hq_key;      /* malloc'd: HQ's public certificate's text */
    char code[32];
    char reason[512];
} hq_rotate_answer_t;
typedef void (*hq_rotate_fn)(void *arg, hq_hall_t *hall, const char *key, const char *request,
                             hq_rotate_answer_t *out);
void hq_ingest_set_rotate_hook(hq_ingest_t *ing, hq_rotate_fn fn, void *arg);
/* Sends a policy (or, with `calendar`, a calendar slice) document to the
 * hall's current connection. HB_ETOOBIG over the frame limit, HB_ENOTFOUND
 * when the hall has no connection, HB_EAGAIN when its queue is full. */
int hq_ingest_send_document(hq_ingest_t *ing, hq_hall_t *hall, bool calendar, uint64_t version,
                            const char *doc, size_t len);
/* Sends a neighbour board to the hall's current connection (as above). */
int hq_ingest_send_neighbours(hq_ingest_t *ing, hq_hall_t *hall, const Hallbus__NeighbourBoard *nb);
/* Sends the notices of the hall's manager page (as above). */
int hq_ingest_send_notices(hq_ingest_t *ing, hq_hall_t *hall, const Hallbus__HallNotices *hn);
/* A hall's BookingAnswer, on the loop thread: `hall` is the hall its key
 * names (hqd/link/bookings.h matches it with the request). */
typedef void (*hq_booking_answer_fn)(void *arg, hq_hall_t *hall,
                                     const Hallbus__BookingAnswer *answer);
void hq_ingest_set_booking_hook(hq_ingest_t *ing, hq_booking_answer_fn fn, void *arg);
/* Sends a BookingRequest to the hall's current connection (as
 * hq_ingest_send_document; HB_ENOTFOUND also for a revoked hall). */
int hq_ingest_send_booking(hq_ingest_t *ing, hq_hall_t *hall, const Hallbus__BookingRequest *rq);
/* Reads what arrived meanwhile: call after a run of sends (sending may use
 * the socket's edge; see zuv.h). Not from inside a hello hook. */
void hq_ingest_flush(hq_ingest_t *ing);
/* The hall was revoked (its certificates removed): tells its connection so
 * now, rather than at its next message, and takes nothing more from it. */
void hq_ingest_revoke(hq_ingest_t *ing, const char *hall);

/* What to do with a batch first..first+n-1 from a hall whose accepted
 * (stored or queued) stream ends at `accepted`: the dedup rule, pure. */
typedef enum hq_batch_verdict {
    HQ_BATCH_STORE,     /* store events from index *skip on (earlier ones are resends) */
    HQ_BATCH_DUPLICATE, /* every event is already accepted: a resend */
    HQ_BATCH_GAP,       /* starts past accepted + 1: refuse, the hall resyncs */
} hq_batch_verdict_t;
hq_batch_verdict_t hq_batch_plan(uint64_t accepted, uint64_t first, uint64_t n, uint64_t *skip);

/* A text name for a RejectCode ("bad_sequence"). */
const char *hq_reject_code_name(int code);

#endif
