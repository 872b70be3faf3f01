/* The ingest (see ingest.h). Frame kinds are handled by a table; a batch is
 * checked whole (every envelope decodes, sequences consecutive and in range)
 * before anything of it is queued, so a refused batch stores nothing. The
 * events' fields are judged by the rules the hall's API uses
 * (eventrules.h); an anomaly goes to the writer as a flag with its event. */
#include "ingest.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/eventrules.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"
#include "hallbus/zuv.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define HQ_SEQ_MAX (UINT64_C(1) << 62)
#define HQ_PROTOCOL 1 /* the link protocol this HQ speaks */
/* Batches with the writer whose ack is being timed, at most: past it (the
 * writer's byte limit lets through that many small batches at once only
 * when it has fallen far behind) new batches are not timed. 1 MiB. */
#define HQ_PENDING_ACKS_MAX 65536
/* The decoding arena (codec.h): a frame of a few hundred events and each of
 * its envelopes fit; a larger frame decodes with malloc for the rest. */
#define HQ_ARENA_BYTES (256u << 10)
/* Frames read per drain before the loop goes round (libzmq's socket is
 * drained over several turns). A turn may drain three times (the idle
 * handle, the socket's wake-up, after a commit's acks), so this bounds a
 * turn's reading to ~1 ms at one event per frame, and a commit's results
 * (the acks) wait at most that long for the loop. 512 let a turn read
 * 1,536 frames, 6-9 ms of CPU at 1,000 halls (docs/OPERATIONS.md). */
#define HQ_READ_BURST 64

/* A batch handed to the writer, waiting for the ack that covers it. */
typedef struct pending_ack {
    uint32_t hall_num;
    uint64_t last_seq;
    int64_t rx_ns; /* hb_mono_ns() when its frame was read */
} pending_ack_t;

struct hq_ingest {
    hq_ingest_config_t cfg;
    hq_halls_t *halls;
    hq_writer_t *writer;
    void *sock;
    hb_zuv_t zuv;
    char endpoint[256];
    hq_ingest_stats_t stats;
    hq_hello_fn on_hello;
    void *hello_arg;
    hq_booking_answer_fn on_booking_answer;
    void *booking_arg;
    hq_refusal_fn on_refusal;
    void *refusal_arg;
    hq_rotate_fn on_rotate;
    void *rotate_arg;
    /* The batches the writer holds, in the order submitted, which is the
     * order they are committed in (the writer takes its whole queue per
     * transaction): a ring, for the ack latency. */
    pending_ack_t *pending;
    size_t pending_cap, pending_head, pending_len;
    hb_histogram_t ack_seconds;
    /* Where frames and envelopes are decoded: one allocation for the
     * ingest's life instead of several per event. */
    hb_unpack_arena_t arena;
};

/* What the current frame came with. */
typedef struct frame_ctx {
    hq_ingest_t *ing;
    hq_hall_t *hall;
    const uint8_t *rid;
    size_t rid_len;
    int64_t rx_ns;   /* hb_mono_ns() when it was read */
    const char *key; /* the key the connection authenticated with (Z85) */
} frame_ctx_t;

static const char *const s_code_names[HQ_REJECT_CODES] = {
    "unspecified", "malformed", "too_large", "bad_sequence", "bad_field", "not_enrolled",
    "unsupported", "busy",      "storage",   "revoked",      "conflict",
};

/* Refusals that stop the hall's stream until something changes at either
 * end: they make the hall's link "blocked" and raise hall_blocked. */
static bool s_blocks(Hallbus__RejectCode code)
{
    return code == HALLBUS__REJECT_CODE__REJECT_CODE_MALFORMED ||
           code == HALLBUS__REJECT_CODE__REJECT_CODE_TOO_LARGE ||
           code == HALLBUS__REJECT_CODE__REJECT_CODE_BAD_FIELD ||
           code == HALLBUS__REJECT_CODE__REJECT_CODE_UNSUPPORTED;
}

const char *hq_reject_code_name(int code)
{
    return code >= 0 && code < HQ_REJECT_CODES ? s_code_names[code] : "unknown";
}

static int s_send(hq_ingest_t *ing, const uint8_t *rid, size_t rid_len, const Hallbus__Frame *f)
{
    uint8_t stackbuf[1024];
    size_t len = hallbus__frame__get_packed_size(f);
    if ((int64_t)len > ing->cfg.max_frame) {
        ing->stats.send_dropped++;
        return HB_ETOOBIG;
    }
    /* Replies are small; only downlink documents take the heap. */
    uint8_t *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!buf) {
        ing->stats.send_dropped++;
        return HB_ENOMEM;
    }
    hallbus__frame__pack(f, buf);
    int rc = 0;
    if (zmq_send(ing->sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(ing->sock, buf, len, ZMQ_DONTWAIT) < 0) {
        /* EHOSTUNREACH: that connection is gone; EAGAIN: its queue is full.
         * Either way the hall resends after its silence timeout. */
        rc = zmq_errno() == EAGAIN ? HB_EAGAIN : HB_ENOTFOUND;
        ing->stats.send_dropped++;
    }
    if (buf != stackbuf)
        free(buf);
    /* The send may have taken the socket's wake-up for a hall's message
     * that arrived meanwhile; sends from timers and the API (notices,
     * documents, revocations) are outside the drain, and nothing else
     * would read that message, nor any after it. */
    hb_zuv_kick(&ing->zuv);
    return rc;
}

static void s_reject(frame_ctx_t *fc, Hallbus__RejectCode code, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_reject(frame_ctx_t *fc, Hallbus__RejectCode code, uint64_t seq, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    hq_ingest_t *ing = fc->ing;
    ing->stats.refused++;
    if ((int)code >= 0 && (int)code < HQ_REJECT_CODES)
        ing->stats.refused_by_code[code]++;
    const char *hall = fc->hall ? fc->hall->id : "?";
    if (fc->hall)
        fc->hall->refused++;
    if (fc->hall && s_blocks(code)) {
        hq_hall_t *h = fc->hall;
        if (h->blocked_code != (int)code || h->blocked_seq != seq)
            h->blocked_since_ms = hb_now_ms();
        h->blocked_code = (int)code;
        h->blocked_seq = seq;
        hb_utf8_copy(h->blocked_reason, sizeof h->blocked_reason, reason);
    }
    char key[96];
    snprintf(key, sizeof key, "reject-%s-%d", hall, (int)code);
    hb_log_once(key, HB_LOG_WARN, "ingest: refused a frame from hall %s (%s): %s", hall,
                hq_reject_code_name(code), reason);
    Hallbus__Reject rej = HALLBUS__REJECT__INIT;
    rej.code = code;
    rej.reason = reason;
    rej.seq = seq;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_REJECT;
    f.reject = &rej;
    s_send(ing, fc->rid, fc->rid_len, &f);
}

static void s_send_welcome(frame_ctx_t *fc)
{
    Hallbus__Welcome w = HALLBUS__WELCOME__INIT;
    w.committed_seq = fc->hall->committed_seq;
    w.hq_time_ms = hb_now_ms();
    w.max_batch = fc->ing->cfg.max_batch;
    w.heartbeat_ms = (uint32_t)fc->ing->cfg.heartbeat_ms;
    w.max_frame = (uint32_t)fc->ing->cfg.max_frame;
    w.rotation = fc->ing->on_rotate != NULL;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_WELCOME;
    f.welcome = &w;
    s_send(fc->ing, fc->rid, fc->rid_len, &f);
}

static void s_send_ack(hq_ingest_t *ing, hq_hall_t *h)
{
    if (h->revoked || h->rid_len == 0)
        return;
    Hallbus__Ack a = HALLBUS__ACK__INIT;
    a.committed_seq = h->committed_seq;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_ACK;
    f.ack = &a;
    s_send(ing, h->rid, h->rid_len, &f);
    ing->stats.acks_sent++;
}

/* The hall's clock against HQ's, from a time the hall just stamped. */
static void s_note_clock(hq_hall_t *h, int64_t hall_ms)
{
    if (hall_ms <= 0)
        return; /* an older hall: no time in its Hello */
    h->clock_skew_ms = hall_ms - hb_now_ms();
    h->skew_known = true;
}

/* The hall's room for events, as it reports it in each Hello and
 * heartbeat. A count that rises (or a restarted hall's new count) is a
 * refusal HQ has just heard of. */
static void s_note_disk(hq_hall_t *h, int64_t full_since_ms, uint64_t refused)
{
    if (refused && refused != h->disk_refused)
        h->disk_refused_seen_ms = hb_now_ms();
    h->disk_full_since_ms = full_since_ms > 0 ? full_since_ms : 0;
    h->disk_refused = refused;
}

static void s_on_hello(frame_ctx_t *fc, const Hallbus__Frame *f)
{
    const Hallbus__Hello *hello = f->hello;
    if (hello->protocol != HQ_PROTOCOL) {
        s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_UNSUPPORTED, 0,
                 "link protocol version %u is not supported: this HQ speaks version %d",
                 hello->protocol, HQ_PROTOCOL);
        return;
    }
    s_note_clock(fc->hall, hello->sent_at_ms);
    s_note_disk(fc->hall, hello->disk_full_since_ms, hello->disk_refused);
    fc->hall->hall_last_seq = hello->last_seq;
    fc->hall->policy_version = hello->policy_version;
    fc->hall->calendar_version = hello->calendar_version;
    fc->hall->takes_bookings = hello->bookings;
    fc->hall->reads_glossary = hello->glossary;
    if (fc->ing->on_refusal)
        fc->ing->on_refusal(fc->ing->refusal_arg, fc->hall, hello->policy_refused,
                            hello->calendar_refused);
    s_send_welcome(fc);
    if (fc->ing->on_hello)
        fc->ing->on_hello(fc->ing->hello_arg, fc->hall);
}

static void s_on_heartbeat(frame_ctx_t *fc, const Hallbus__Frame *f)
{
    fc->hall->hall_last_seq = f->heartbeat->last_seq;
    s_note_clock(fc->hall, f->heartbeat->sent_at_ms);
    s_note_disk(fc->hall, f->heartbeat->disk_full_since_ms, f->heartbeat->disk_refused);
    if (fc->ing->on_refusal)
        fc->ing->on_refusal(fc->ing->refusal_arg, fc->hall, f->heartbeat->policy_refused,
                            f->heartbeat->calendar_refused);
    Hallbus__Heartbeat hb = HALLBUS__HEARTBEAT__INIT;
    hb.sent_at_ms = hb_now_ms();
    hb.last_seq = fc->hall->committed_seq;
    Hallbus__Frame out = HALLBUS__FRAME__INIT;
    out.kind_case = HALLBUS__FRAME__KIND_HEARTBEAT;
    out.heartbeat = &hb;
    s_send(fc->ing, fc->rid, fc->rid_len, &out);
}

/* Compares the resent events first..first+n-1 (all at or below what HQ
 * committed) with the stored bytes. Returns the first sequence whose bytes
 * differ, or 0 when they are the same (or cannot be read: then nothing is
 * claimed). */
typedef struct compare_ctx {
    const Hallbus__EventBatch *b;
    uint64_t first;
    uint64_t differs;
    size_t stored_len, sent_len;
} compare_ctx_t;

static int s_compare_one(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    compare_ctx_t *c = arg;
    const ProtobufCBinaryData *e = &c->b->events[seq - c->first];
    if (e->len != len || memcmp(e->data, data, len) != 0) {
        c->differs = seq;
        c->stored_len = len;
        c->sent_len = e->len;
        return 1;
    }
    return 0;
}

static uint64_t s_resend_differs(hq_ingest_t *ing, const hq_hall_t *h, const Hallbus__EventBatch *b,
                                 uint64_t first, uint64_t n, size_t *stored_len, size_t *sent_len)
{
    if (!ing->cfg.store || n == 0)
        return 0;
    compare_ctx_t c = {.b = b, .first = first};
    if (hq_store_read_events(ing->cfg.store, h->num, first, (size_t)n, s_compare_one, &c) != 0)
        return 0;
    *stored_len = c.stored_len;
    *sent_len = c.sent_len;
    return c.differs;
}

/* Times the ack of a batch just handed to the writer. */
static void s_pending_push(hq_ingest_t *ing, uint32_t hall_num, uint64_t last_seq, int64_t rx_ns)
{
    if (ing->pending_len == ing->pending_cap) {
        if (ing->pending_cap >= HQ_PENDING_ACKS_MAX)
            return;
        size_t cap = ing->pending_cap ? ing->pending_cap * 2 : 256;
        pending_ack_t *p = malloc(cap * sizeof *p);
        if (!p)
            return;
        /* Unrolled from the ring's head, so the new ring starts at 0. */
        for (size_t i = 0; i < ing->pending_len; i++)
            p[i] = ing->pending[(ing->pending_head + i) % ing->pending_cap];
        free(ing->pending);
        ing->pending = p;
        ing->pending_cap = cap;
        ing->pending_head = 0;
    }
    size_t at = (ing->pending_head + ing->pending_len) % ing->pending_cap;
    ing->pending[at] = (pending_ack_t){.hall_num = hall_num, .last_seq = last_seq, .rx_ns = rx_ns};
    ing->pending_len++;
}

/* After commit results were applied (and acks sent): the batches now
 * covered by an ack are timed, from their frame's arrival to now. A batch
 * whose commit failed is dropped untimed (its resend is a batch of its
 * own). The first batch still with the writer ends the walk: every batch
 * after it was submitted later, so it is not committed yet either. */
static void s_pending_settle(hq_ingest_t *ing)
{
    int64_t now = hb_mono_ns();
    while (ing->pending_len > 0) {
        const pending_ack_t *p = &ing->pending[ing->pending_head];
        const hq_hall_t *h = hq_halls_by_num(ing->halls, p->hall_num);
        if (h && h->committed_seq >= p->last_seq) {
            if (!h->revoked && h->rid_len != 0) /* as s_send_ack: an ack went */
                hb_histogram_observe(&ing->ack_seconds, (double)(now - p->rx_ns) / 1e9);
        } else if (h && h->accepted_seq >= p->last_seq) {
            break;
        }
        ing->pending_head = (ing->pending_head + 1) % ing->pending_cap;
        ing->pending_len--;
    }
}

static void s_on_batch(frame_ctx_t *fc, const Hallbus__Frame *f)
{
    hq_ingest_t *ing = fc->ing;
    hq_hall_t *h = fc->hall;
    const Hallbus__EventBatch *b = f->batch;
    ing->stats.batches++;
    if (b->n_events == 0) {
        s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_MALFORMED, 0, "empty batch");
        return;
    }
    if (b->n_events > ing->cfg.max_batch) {
        s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_TOO_LARGE, 0,
                 "batch of %zu events; at most %u are accepted", b->n_events, ing->cfg.max_batch);
        return;
    }
    /* Check the whole batch before storing any of it. Anomalies are kept
     * by index until the batch is known to be taken. */
    uint64_t first = 0;
    size_t unknown = 0, bytes = 4, n_flags = 0;
    hb_event_clock_t clock = {.now_ms = hb_now_ms(), .max_future_ms = ing->cfg.max_future_ms};
    uint32_t *flag_idx = NULL;
    uint8_t *flag_kind = NULL;
    char(*flag_why)[HQ_FLAG_REASON_MAX] = NULL;
    for (size_t i = 0; i < b->n_events; i++) {
        const ProtobufCBinaryData *e = &b->events[i];
        if (e->len > HB_EVENT_MAX) {
            s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_TOO_LARGE, first ? first + i : 0,
                     "event %zu of the batch is %zu bytes; at most %d are accepted", i, e->len,
                     HB_EVENT_MAX);
            goto out;
        }
        hb_arena_mark_t at = hb_arena_mark(&ing->arena);
        Hallbus__Envelope *env = hb_envelope_unpack_in(&ing->arena, e->data, e->len);
        if (!env) {
            hb_arena_release(&ing->arena, NULL, at);
            s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_MALFORMED, first ? first + i : 0,
                     "event %zu of the batch does not decode as hallbus.Envelope", i);
            goto out;
        }
        uint64_t seq = env->seq;
        bool known = env->body_case != HALLBUS__ENVELOPE__BODY__NOT_SET;
        char why[HQ_FLAG_REASON_MAX];
        hb_anomaly_t anomaly;
        hb_event_class_t cls = hb_event_classify(env, &clock, &anomaly, why, sizeof why);
        hb_arena_release(&ing->arena, &env->base, at);
        if (cls == HB_EVENT_MALFORMED) {
            /* Breaks the codec's limits: no conforming hall writes it. */
            s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_BAD_FIELD, seq, "event %llu: %s",
                     (unsigned long long)seq, why);
            goto out;
        }
        if (i == 0)
            first = seq;
        if (seq == 0 || seq >= HQ_SEQ_MAX) {
            s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE, seq,
                     "sequence %llu is out of range", (unsigned long long)seq);
            goto out;
        }
        if (seq != first + i) {
            s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE, seq,
                     "sequence %llu follows %llu in one batch; batches must be consecutive",
                     (unsigned long long)seq, (unsigned long long)(first + i - 1));
            goto out;
        }
        if (cls == HB_EVENT_ANOMALY) {
            if (!flag_idx) {
                flag_idx = malloc(b->n_events * sizeof *flag_idx);
                flag_kind = malloc(b->n_events);
                flag_why = malloc(b->n_events * sizeof *flag_why);
                if (!flag_idx || !flag_kind || !flag_why) {
                    s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_BUSY, first,
                             "HQ is out of memory");
                    goto out;
                }
            }
            flag_idx[n_flags] = (uint32_t)i;
            flag_kind[n_flags] = (uint8_t)anomaly;
            memcpy(flag_why[n_flags], why, sizeof why);
            n_flags++;
        }
        if (!known)
            unknown++;
        bytes += 4 + e->len;
    }
    uint64_t last = first + b->n_events - 1;
    ing->stats.events_received += b->n_events;
    uint64_t skip64 = 0;
    hq_batch_verdict_t verdict = hq_batch_plan(h->accepted_seq, first, b->n_events, &skip64);
    if (verdict != HQ_BATCH_GAP && first <= h->committed_seq) {
        /* A resend of what HQ holds: it must be the same bytes, or the
         * hall's outbox and HQ's copy disagree, and saying "stored" would
         * hide it. (Events accepted but not yet committed are compared by
         * nobody: they are in the writer's hands.) */
        uint64_t upto = last < h->committed_seq ? last : h->committed_seq;
        size_t stored_len = 0, sent_len = 0;
        uint64_t differs =
            s_resend_differs(ing, h, b, first, upto - first + 1, &stored_len, &sent_len);
        if (differs) {
            ing->stats.conflicts++;
            if (h->conflict_seq != differs)
                h->conflict_since_ms = hb_now_ms();
            h->conflict_seq = differs;
            s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_CONFLICT, differs,
                     "event %llu as resent (%zu bytes) differs from what HQ stored at that "
                     "sequence (%zu bytes); not acknowledged",
                     (unsigned long long)differs, sent_len, stored_len);
            goto out;
        }
    }
    switch (verdict) {
    case HQ_BATCH_DUPLICATE:
        /* All of it is stored or on its way: a resend. Ack what is durable. */
        ing->stats.events_duplicate += b->n_events;
        if (h->accepted_seq == h->committed_seq)
            s_send_ack(ing, h);
        goto out;
    case HQ_BATCH_GAP:
        s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE, first,
                 "batch starts at %llu but HQ holds this hall up to %llu; resend from %llu",
                 (unsigned long long)first, (unsigned long long)h->committed_seq,
                 (unsigned long long)(h->committed_seq + 1));
        goto out;
    case HQ_BATCH_STORE: break;
    }
    size_t skip = (size_t)skip64;
    ing->stats.events_duplicate += skip;
    for (size_t i = 0; i < skip; i++)
        bytes -= 4 + b->events[i].len;
    size_t kept_flags = 0;
    for (size_t k = 0; k < n_flags; k++)
        kept_flags += flag_idx[k] >= skip;
    hq_write_item_t *item = hq_write_item_new(bytes, (uint32_t)kept_flags);
    if (!item) {
        s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_BUSY, first, "HQ is out of memory");
        goto out;
    }
    item->hall_num = h->num;
    memcpy(item->hall_id, h->id, HB_HALL_ID_MAX);
    item->first_seq = h->accepted_seq + 1;
    item->count = (uint32_t)(b->n_events - skip);
    uint8_t *p = item->data;
    hb_put_be32(p, item->count);
    p += 4;
    for (size_t i = skip; i < b->n_events; i++) {
        hb_put_be32(p, (uint32_t)b->events[i].len);
        memcpy(p + 4, b->events[i].data, b->events[i].len);
        p += 4 + b->events[i].len;
    }
    for (size_t k = 0, j = 0; k < n_flags; k++) {
        if (flag_idx[k] < skip)
            continue;
        hq_flag_t *fl = &item->flags[j++];
        fl->seq = first + flag_idx[k];
        fl->anomaly = flag_kind[k];
        memcpy(fl->reason, flag_why[k], sizeof fl->reason);
    }
    if (hq_writer_submit(ing->writer, &item) != 0) {
        free(item);
        s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_BUSY, first,
                 "HQ's write queue is full; retry shortly");
        goto out;
    }
    s_pending_push(ing, h->num, last, fc->rx_ns);
    ing->stats.events_unknown_kind += unknown;
    ing->stats.events_flagged += kept_flags;
    if (kept_flags) {
        char key[96];
        snprintf(key, sizeof key, "flagged-%s", h->id);
        hb_log_once(key, HB_LOG_WARN,
                    "ingest: hall %s: event %llu stored with a flag (%s); later ones are counted",
                    h->id, (unsigned long long)(first + flag_idx[n_flags - 1]),
                    flag_why[n_flags - 1]);
        hb_utf8_copy(h->last_anomaly_reason, sizeof h->last_anomaly_reason, flag_why[n_flags - 1]);
    }
    h->accepted_seq = last;
    /* Taken: whatever blocked this hall's stream is behind it now. */
    if (h->blocked_code && (h->blocked_seq == 0 || h->blocked_seq <= last))
        h->blocked_code = 0;
out:
    free(flag_idx);
    free(flag_kind);
    free(flag_why);
}

hq_batch_verdict_t hq_batch_plan(uint64_t accepted, uint64_t first, uint64_t n, uint64_t *skip)
{
    *skip = 0;
    if (n == 0 || first + n - 1 <= accepted)
        return HQ_BATCH_DUPLICATE;
    if (first > accepted + 1)
        return HQ_BATCH_GAP;
    *skip = accepted + 1 - first;
    return HQ_BATCH_STORE;
}

/* A hall's answer to a booking HQ asked of it: the hall is the one its key
 * says, which the bookings check against the request's. */
static void s_on_booking_answer(frame_ctx_t *fc, const Hallbus__Frame *f)
{
    if (fc->ing->on_booking_answer)
        fc->ing->on_booking_answer(fc->ing->booking_arg, fc->hall, f->booking_answer);
}

/* A hall asks for a certificate for its next key: the hook decides, and
 * the answer goes back on the same connection. A refusal is an answer, not
 * a Reject: the hall's stream of events is not blocked by it. */
static void s_on_rotate_request(frame_ctx_t *fc, const Hallbus__Frame *f)
{
    hq_ingest_t *ing = fc->ing;
    hq_rotate_answer_t a = {0};
    const char *text = f->rotate_request->request ? f->rotate_request->request : "";
    if (!ing->on_rotate) {
        snprintf(a.code, sizeof a.code, "unsupported");
        snprintf(a.reason, sizeof a.reason, "this HQ does not take rotations over the link");
    } else {
        ing->on_rotate(ing->rotate_arg, fc->hall, fc->key ? fc->key : "", text, &a);
    }
    if (a.granted)
        ing->stats.rotations_granted++;
    else
        ing->stats.rotations_refused++;
    Hallbus__RotateAnswer ra = HALLBUS__ROTATE_ANSWER__INIT;
    ra.granted = a.granted;
    ra.public_key = a.public_key;
    ra.certificate = a.certificate ? a.certificate : "";
    ra.hq_key = a.hq_key ? a.hq_key : "";
    ra.code = a.code;
    ra.reason = a.reason;
    Hallbus__Frame out = HALLBUS__FRAME__INIT;
    out.kind_case = HALLBUS__FRAME__KIND_ROTATE_ANSWER;
    out.rotate_answer = &ra;
    s_send(ing, fc->rid, fc->rid_len, &out);
    free(a.certificate);
    free(a.hq_key);
}

static void s_on_downlink_kind(frame_ctx_t *fc, const Hallbus__Frame *f)
{
    s_reject(fc, HALLBUS__REJECT_CODE__REJECT_CODE_UNSUPPORTED, 0,
             "a hall may not send frames of kind %d", (int)f->kind_case);
}

typedef void (*frame_handler_fn)(frame_ctx_t *fc, const Hallbus__Frame *f);

/* One row per frame kind a hall may send, in .proto field order. */
static const frame_handler_fn s_handlers[] = {
    [HALLBUS__FRAME__KIND_HELLO] = s_on_hello,
    [HALLBUS__FRAME__KIND_WELCOME] = s_on_downlink_kind,
    [HALLBUS__FRAME__KIND_BATCH] = s_on_batch,
    [HALLBUS__FRAME__KIND_ACK] = s_on_downlink_kind,
    [HALLBUS__FRAME__KIND_HEARTBEAT] = s_on_heartbeat,
    [HALLBUS__FRAME__KIND_REJECT] = s_on_downlink_kind,
    [HALLBUS__FRAME__KIND_POLICY] = s_on_downlink_kind,
    [HALLBUS__FRAME__KIND_CALENDAR] = s_on_downlink_kind,
    [HALLBUS__FRAME__KIND_NEIGHBOURS] = s_on_downlink_kind,
    [HALLBUS__FRAME__KIND_NOTICES] = s_on_downlink_kind,
    [HALLBUS__FRAME__KIND_BOOKING_REQUEST] = s_on_downlink_kind,
    [HALLBUS__FRAME__KIND_BOOKING_ANSWER] = s_on_booking_answer,
    [HALLBUS__FRAME__KIND_ROTATE_REQUEST] = s_on_rotate_request,
    [HALLBUS__FRAME__KIND_ROTATE_ANSWER] = s_on_downlink_kind,
};

static void s_discard_rest(void *sock)
{
    int more = 1;
    size_t len = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
        zmq_msg_close(&m);
        if (rc < 0)
            break;
        len = sizeof more;
    }
}

/* Whether the key a message came with is still enrolled as its hall. The
 * answer is cached per hall until the ZAP table changes, so the common
 * case is one comparison; a change costs one locked lookup per hall. */
static hq_zap_key_state_t s_key_still_enrolled(hq_ingest_t *ing, hq_hall_t *h, const char *key)
{
    if (!ing->cfg.zap)
        return HQ_ZAP_KEY_OK; /* tests of the ingest alone */
    if (!key)
        return HQ_ZAP_KEY_UNKNOWN;
    uint64_t gen = hq_zap_generation(ing->cfg.zap);
    /* Revoked, and the ZAP table not read since: the table may still hold
     * the key (hq_ingest_revoke runs before the handler's next scan). A
     * hall revoked whole (`key` empty) is refused on any key; one whose key
     * was refused, on that key only: its new key, after a rotation, is
     * asked of the table. */
    if (h->revoked && h->key_generation == gen && (!h->key[0] || strcmp(h->key, key) == 0))
        return h->expired ? HQ_ZAP_KEY_EXPIRED : HQ_ZAP_KEY_UNKNOWN;
    if (h->key_generation == gen && h->key[0] && strcmp(h->key, key) == 0)
        return HQ_ZAP_KEY_OK;
    hq_zap_key_state_t st = hq_zap_key_check(ing->cfg.zap, h->id, key);
    if (st != HQ_ZAP_KEY_OK)
        return st;
    snprintf(h->key, sizeof h->key, "%s", key);
    h->key_generation = gen;
    return HQ_ZAP_KEY_OK;
}

/* Whether a message refused for its `key` came from another connection
 * than the hall's session: the hall speaks on another key, which the ZAP
 * table still holds. */
static bool s_other_key_in_use(hq_ingest_t *ing, const hq_hall_t *h, const char *key)
{
    if (h->revoked || !h->key[0] || (key && strcmp(h->key, key) == 0) || !ing->cfg.zap)
        return false;
    return hq_zap_key_check(ing->cfg.zap, h->id, h->key) == HQ_ZAP_KEY_OK;
}

static bool s_on_readable(void *arg)
{
    hq_ingest_t *ing = arg;
    zmq_msg_t rid, payload;
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, ing->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        return false; /* EAGAIN: nothing left */
    }
    if (!zmq_msg_more(&rid)) {
        zmq_msg_close(&rid);
        return true;
    }
    zmq_msg_init(&payload);
    if (zmq_msg_recv(&payload, ing->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        zmq_msg_close(&payload);
        return true;
    }
    ing->stats.frames++;
    frame_ctx_t fc = {.ing = ing,
                      .rid = zmq_msg_data(&rid),
                      .rid_len = zmq_msg_size(&rid),
                      .rx_ns = hb_mono_ns()};
    bool multipart = zmq_msg_more(&payload);
    if (multipart)
        s_discard_rest(ing->sock);
    /* Who is speaking comes from the key the connection authenticated with. */
    const char *user = zmq_msg_gets(&payload, "User-Id");
    if (!user || !hb_hall_id_valid(user)) {
        ing->stats.unauthenticated++;
        hb_log_once("ingest-no-user", HB_LOG_ERROR,
                    "ingest: a message came without a valid ZAP User-Id; dropped");
        goto out;
    }
    fc.hall = hq_halls_get(ing->halls, user);
    if (!fc.hall) {
        hb_log_once("ingest-nomem", HB_LOG_ERROR, "ingest: cannot register hall %s", user);
        goto out;
    }
    hq_hall_t *h = fc.hall;
    fc.key = zmq_msg_gets(&payload, HQ_ZAP_KEY_PROPERTY);
    hq_zap_key_state_t kst = s_key_still_enrolled(ing, h, fc.key);
    if (kst != HQ_ZAP_KEY_OK && s_other_key_in_use(ing, h, fc.key)) {
        /* A connection of a key this hall no longer uses (its old key,
         * still connected after a rotation): that message is refused, and
         * the hall's session on its enrolled key goes on. */
        ing->stats.revoked_messages++;
        hb_log_once("ingest-stale-key", HB_LOG_WARN,
                    "ingest: hall %s: a connection with its retired key %s spoke; refused (the "
                    "hall's session on its current key goes on)",
                    h->id, fc.key ? fc.key : "(none)");
        s_reject(&fc, HALLBUS__REJECT_CODE__REJECT_CODE_REVOKED, 0,
                 "this connection's key is no longer enrolled for this hall at head office; "
                 "nothing is taken from it");
        goto out;
    }
    if (kst != HQ_ZAP_KEY_OK) {
        /* Revoked (or its certificate expired) while connected: nothing of
         * it is stored or acknowledged, its session is forgotten, and it
         * is told why. The refused key is kept, so that only it is refused
         * until the ZAP table is read again. */
        bool expired = kst == HQ_ZAP_KEY_EXPIRED;
        ing->stats.revoked_messages++;
        if (!h->revoked)
            hb_warn("ingest: hall %s: %s; its connection is refused from now on", h->id,
                    expired ? "its certificate expired" : "its key is no longer enrolled");
        h->revoked = true;
        h->expired = expired;
        h->rid_len = 0;
        snprintf(h->key, sizeof h->key, "%s", fc.key ? fc.key : "");
        h->key_generation = hq_zap_generation(ing->cfg.zap);
        s_reject(&fc, HALLBUS__REJECT_CODE__REJECT_CODE_REVOKED, 0,
                 expired ? "this hall's certificate expired at head office; nothing more is "
                           "taken from it until it is enrolled again"
                         : "this hall's key was revoked at head office; nothing more is taken "
                           "from it");
        goto out;
    }
    h->revoked = false;
    h->expired = false;
    h->last_seen_ms = hb_now_ms();
    h->last_rx_mono = hb_mono_ms();
    if (fc.rid_len <= HQ_ROUTING_ID_MAX) {
        /* The newest connection of a hall is the one replies go to (a hall
         * restarted behind a half-open old connection is served at once). */
        memcpy(h->rid, fc.rid, fc.rid_len);
        h->rid_len = fc.rid_len;
    }
    size_t size = zmq_msg_size(&payload);
    if (multipart) {
        s_reject(&fc, HALLBUS__REJECT_CODE__REJECT_CODE_MALFORMED, 0,
                 "a frame must be a single message part");
        goto out;
    }
    if ((int64_t)size > ing->cfg.max_frame) {
        s_reject(&fc, HALLBUS__REJECT_CODE__REJECT_CODE_TOO_LARGE, 0,
                 "frame of %zu bytes; at most %lld are accepted", size,
                 (long long)ing->cfg.max_frame);
        goto out;
    }
    hb_arena_mark_t at = hb_arena_mark(&ing->arena);
    Hallbus__Frame *f = hb_frame_unpack_in(&ing->arena, zmq_msg_data(&payload), size);
    if (!f) {
        hb_arena_release(&ing->arena, NULL, at);
        s_reject(&fc, HALLBUS__REJECT_CODE__REJECT_CODE_MALFORMED, 0,
                 "%zu bytes that do not decode as a hallbus.Frame", size);
        goto out;
    }
    size_t kind = (size_t)f->kind_case;
    if (kind < sizeof s_handlers / sizeof s_handlers[0] && s_handlers[kind])
        s_handlers[kind](&fc, f);
    else
        s_reject(&fc, HALLBUS__REJECT_CODE__REJECT_CODE_UNSUPPORTED, 0,
                 "frame kind %zu is unknown to this HQ", kind);
    hb_arena_release(&ing->arena, &f->base, at);
out:
    zmq_msg_close(&rid);
    zmq_msg_close(&payload);
    return true;
}

void hq_ingest_on_commit(hq_ingest_t *ing, const hq_commit_t *commits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const hq_commit_t *c = &commits[i];
        hq_hall_t *h = hq_halls_by_num(ing->halls, c->hall_num);
        if (!h)
            continue;
        hq_hall_take_tally(h, &c->tally);
        if (!c->ok) {
            /* Not stored: forget it was accepted so the resend is taken. */
            h->accepted_seq = h->committed_seq;
            frame_ctx_t fc = {.ing = ing, .hall = h, .rid = h->rid, .rid_len = h->rid_len};
            s_reject(&fc, HALLBUS__REJECT_CODE__REJECT_CODE_STORAGE, h->committed_seq + 1,
                     "HQ could not store the batch; resend from %llu",
                     (unsigned long long)(h->committed_seq + 1));
            continue;
        }
        s_send_ack(ing, h);
    }
    s_pending_settle(ing);
    hb_zuv_drain(&ing->zuv);
}

static int s_setopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

int hq_ingest_new(uv_loop_t *loop, void *zmq_ctx, hq_halls_t *halls, hq_writer_t *writer,
                  const hq_ingest_config_t *cfg, hq_ingest_t **out)
{
    hq_ingest_t *ing = calloc(1, sizeof *ing);
    if (!ing)
        return HB_ENOMEM;
    ing->cfg = *cfg;
    ing->halls = halls;
    ing->writer = writer;
    hb_histogram_init(&ing->ack_seconds, &hb_buckets_latency);
    ing->arena.buf = malloc(HQ_ARENA_BYTES);
    ing->arena.cap = ing->arena.buf ? HQ_ARENA_BYTES : 0; /* none: every piece from malloc */
    ing->sock = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (!ing->sock) {
        free(ing->arena.buf);
        free(ing);
        return HB_EZMQ;
    }
    /* A hard cap well above the refused-with-a-reason limit: past it libzmq
     * drops the connection without reading the frame into memory. */
    int64_t hard_max = cfg->max_frame * 4;
    int rc = 0;
    rc |= s_setopt_int(ing->sock, ZMQ_CURVE_SERVER, 1);
    rc |= zmq_setsockopt(ing->sock, ZMQ_CURVE_SECRETKEY, cfg->hq->secret_key, 40);
    rc |= zmq_setsockopt(ing->sock, ZMQ_ZAP_DOMAIN, "hallbus", 7);
    rc |= zmq_setsockopt(ing->sock, ZMQ_MAXMSGSIZE, &hard_max, sizeof hard_max);
    rc |= s_setopt_int(ing->sock, ZMQ_ROUTER_MANDATORY, 1);
    rc |= s_setopt_int(ing->sock, ZMQ_LINGER, 0);
    rc |= s_setopt_int(ing->sock, ZMQ_SNDHWM, 10000);
    rc |= s_setopt_int(ing->sock, ZMQ_RCVHWM, 100000);
    rc |= s_setopt_int(ing->sock, ZMQ_BACKLOG, 4096);
    /* No ZMQ heartbeats on HQ's side: libzmq 4.3 cancels a connection's
     * heartbeat timer on every message it receives by walking all the IO
     * thread's timers, O(connections) per message, which with 10,000 halls
     * took most of a core (bench_live). Halls send application heartbeats
     * (offline_after of silence makes a hall offline), and TCP keepalive
     * finds a dead peer and frees its descriptor without libzmq timers. */
    rc |= s_setopt_int(ing->sock, ZMQ_TCP_KEEPALIVE, 1);
    rc |=
        s_setopt_int(ing->sock, ZMQ_TCP_KEEPALIVE_IDLE,
                     (int)(cfg->offline_after_ms / 1000 > 10 ? cfg->offline_after_ms / 1000 : 10));
    rc |= s_setopt_int(ing->sock, ZMQ_TCP_KEEPALIVE_INTVL, 5);
    rc |= s_setopt_int(ing->sock, ZMQ_TCP_KEEPALIVE_CNT, 3);
    if (rc != 0 || zmq_bind(ing->sock, cfg->listen) != 0) {
        hb_error("ingest: cannot listen on %s: %s", cfg->listen, zmq_strerror(zmq_errno()));
        zmq_close(ing->sock);
        free(ing->arena.buf);
        free(ing);
        return HB_EZMQ;
    }
    size_t len = sizeof ing->endpoint;
    zmq_getsockopt(ing->sock, ZMQ_LAST_ENDPOINT, ing->endpoint, &len);
    if (hb_zuv_init(loop, &ing->zuv, ing->sock, HQ_READ_BURST, s_on_readable, ing) != 0) {
        zmq_close(ing->sock);
        free(ing->arena.buf);
        free(ing);
        return HB_ESYS;
    }
    hb_info("ingest: listening on %s", ing->endpoint);
    *out = ing;
    return 0;
}

void hq_ingest_get_stats(const hq_ingest_t *ing, hq_ingest_stats_t *out) { *out = ing->stats; }

bool hq_ingest_hall_online(const hq_ingest_t *ing, const hq_hall_t *h)
{
    return !h->revoked && h->last_rx_mono != 0 &&
           hb_mono_ms() - h->last_rx_mono < ing->cfg.offline_after_ms;
}

static const char *const s_link_state_names[HQ_LINK_STATES] = {"online", "offline", "blocked",
                                                               "revoked", "expired"};

hq_link_state_t hq_ingest_hall_state(const hq_ingest_t *ing, const hq_hall_t *h)
{
    if (h->revoked)
        return h->expired ? HQ_LINK_EXPIRED : HQ_LINK_REVOKED;
    /* A hall whose certificate ran out while it was away never speaks
     * again to say so: its certificate tells. */
    hq_zap_cert_t c;
    if (ing->cfg.zap && hq_zap_hall_cert(ing->cfg.zap, h->id, &c) && hb_now_ms() >= c.not_after_ms)
        return HQ_LINK_EXPIRED;
    if (h->blocked_code)
        return HQ_LINK_BLOCKED;
    return hq_ingest_hall_online(ing, h) ? HQ_LINK_ONLINE : HQ_LINK_OFFLINE;
}

const char *hq_link_state_name(hq_link_state_t state)
{
    return state < HQ_LINK_STATES ? s_link_state_names[state] : "unknown";
}

const hb_histogram_t *hq_ingest_ack_histogram(const hq_ingest_t *ing) { return &ing->ack_seconds; }

size_t hq_ingest_online_count(const hq_ingest_t *ing)
{
    size_t n = 0, total = hq_halls_count(ing->halls);
    for (size_t i = 0; i < total; i++) {
        hq_hall_t *h = hq_halls_sorted(ing->halls, i);
        if (h && hq_ingest_hall_online(ing, h))
            n++;
    }
    return n;
}

const char *hq_ingest_endpoint(const hq_ingest_t *ing) { return ing->endpoint; }

void hq_ingest_set_hello_hook(hq_ingest_t *ing, hq_hello_fn fn, void *arg)
{
    ing->on_hello = fn;
    ing->hello_arg = arg;
}

void hq_ingest_set_refusal_hook(hq_ingest_t *ing, hq_refusal_fn fn, void *arg)
{
    ing->on_refusal = fn;
    ing->refusal_arg = arg;
}

void hq_ingest_set_rotate_hook(hq_ingest_t *ing, hq_rotate_fn fn, void *arg)
{
    ing->on_rotate = fn;
    ing->rotate_arg = arg;
}

/* Sends `f` to hall `h`'s connection: HB_ENOTFOUND while the hall has
 * none (it never connected since HQ started), else as s_send. The
 * hq_ingest_send_* functions only build their frame and end here. */
static int s_send_hall(hq_ingest_t *ing, const hq_hall_t *h, const Hallbus__Frame *f)
{
    if (h->rid_len == 0)
        return HB_ENOTFOUND;
    return s_send(ing, h->rid, h->rid_len, f);
}

int hq_ingest_send_document(hq_ingest_t *ing, hq_hall_t *h, bool calendar, uint64_t version,
                            const char *doc, size_t len)
{
    Hallbus__PolicyUpdate pu = HALLBUS__POLICY_UPDATE__INIT;
    Hallbus__CalendarUpdate cu = HALLBUS__CALENDAR_UPDATE__INIT;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    ProtobufCBinaryData bytes = {len, (uint8_t *)doc};
    if (calendar) {
        cu.version = version;
        cu.document = bytes;
        f.kind_case = HALLBUS__FRAME__KIND_CALENDAR;
        f.calendar = &cu;
    } else {
        pu.version = version;
        pu.document = bytes;
        f.kind_case = HALLBUS__FRAME__KIND_POLICY;
        f.policy = &pu;
    }
    return s_send_hall(ing, h, &f);
}

void hq_ingest_flush(hq_ingest_t *ing) { hb_zuv_drain(&ing->zuv); }

void hq_ingest_set_booking_hook(hq_ingest_t *ing, hq_booking_answer_fn fn, void *arg)
{
    ing->on_booking_answer = fn;
    ing->booking_arg = arg;
}

int hq_ingest_send_booking(hq_ingest_t *ing, hq_hall_t *h, const Hallbus__BookingRequest *rq)
{
    if (h->revoked)
        return HB_ENOTFOUND;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_BOOKING_REQUEST;
    f.booking_request = (Hallbus__BookingRequest *)rq;
    return s_send_hall(ing, h, &f);
}

int hq_ingest_send_neighbours(hq_ingest_t *ing, hq_hall_t *h, const Hallbus__NeighbourBoard *nb)
{
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_NEIGHBOURS;
    f.neighbours = (Hallbus__NeighbourBoard *)nb;
    return s_send_hall(ing, h, &f);
}

int hq_ingest_send_notices(hq_ingest_t *ing, hq_hall_t *h, const Hallbus__HallNotices *hn)
{
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_NOTICES;
    f.notices = (Hallbus__HallNotices *)hn;
    return s_send_hall(ing, h, &f);
}

static void s_zuv_closed(hb_zuv_t *zuv)
{
    hq_ingest_t *ing = (hq_ingest_t *)((char *)zuv - offsetof(hq_ingest_t, zuv));
    zmq_close(ing->sock);
    free(ing->pending);
    free(ing->arena.buf);
    free(ing);
}

void hq_ingest_destroy(hq_ingest_t **ingp)
{
    hq_ingest_t *ing = *ingp;
    if (!ing)
        return;
    *ingp = NULL;
    hb_zuv_close(&ing->zuv, s_zuv_closed);
}

void hq_ingest_revoke(hq_ingest_t *ing, const char *hall)
{
    hq_hall_t *h = hq_halls_find(ing->halls, hall);
    if (!h)
        return;
    frame_ctx_t fc = {.ing = ing, .hall = h, .rid = h->rid, .rid_len = h->rid_len};
    if (h->rid_len)
        s_reject(&fc, HALLBUS__REJECT_CODE__REJECT_CODE_REVOKED, 0,
                 "this hall was revoked at head office; nothing more is taken from it");
    /* Until the ZAP table is read again (within its watch interval), the
     * cached answer must not let a message of this hall through. */
    h->revoked = true;
    h->expired = false;
    h->rid_len = 0;
    h->key[0] = '\0';
    h->key_generation = ing->cfg.zap ? hq_zap_generation(ing->cfg.zap) : 0;
}
