/* The uplink session (see uplink.h). Everything runs on branchd's loop
 * thread; the only state that must survive a crash (what HQ acknowledged)
 * lives in the outbox, so a restarted hall just says Hello again. */
#include "uplink.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/zuv.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define UPLINK_PROTOCOL 1

struct uplink {
    uplink_config_t cfg;
    outbox_t *outbox;
    void *sock;
    hb_zuv_t zuv;
    bool welcomed;
    uint64_t next_send;        /* next sequence to send */
    int64_t last_rx_ms;        /* monotonic: last frame from HQ */
    int64_t last_tx_ms;        /* monotonic: last frame to HQ */
    int64_t next_hello_ms;     /* monotonic: when to say Hello again */
    int64_t hello_wait_ms;     /* current doubling wait between Hellos */
    int64_t paused_until_ms;   /* monotonic: sending paused after a refusal */
    int64_t last_progress_ms;  /* monotonic: last ack that moved forward */
    bool pumping;              /* s_pump is running: a reply read meanwhile must not re-enter it */
    uplink_stats_t stats;
    /* Scratch for building a batch: copies of the events being sent. */
    uint8_t *scratch;
    size_t scratch_len, scratch_cap;
    size_t offsets[1024], lengths[1024];
    size_t count;
};

static int64_t s_jitter(int64_t base)
{
    /* Uniform in [base, 2*base): spreads 100,000 halls' reconnects out. */
    return base + (int64_t)((double)base * ((double)rand() / ((double)RAND_MAX + 1.0)));
}

static int s_send_frame(uplink_t *up, const Hallbus__Frame *frame)
{
    uint8_t stackbuf[4096];
    size_t len = hallbus__frame__get_packed_size(frame);
    uint8_t *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!buf)
        return HB_ENOMEM;
    hallbus__frame__pack(frame, buf);
    int rc = zmq_send(up->sock, buf, len, ZMQ_DONTWAIT);
    if (buf != stackbuf)
        free(buf);
    /* Sending can consume the edge on ZMQ_FD, so every caller drains the
     * socket afterwards; not here, where a reply handled in the middle of
     * building batches would change the state the caller is using. */
    if (rc < 0)
        return zmq_errno() == EAGAIN ? HB_EAGAIN : HB_EZMQ;
    up->last_tx_ms = hb_mono_ms();
    return 0;
}

static void s_send_hello(uplink_t *up)
{
    Hallbus__Hello hello = HALLBUS__HELLO__INIT;
    hello.protocol = UPLINK_PROTOCOL;
    hello.software = (char *)up->cfg.software;
    hello.last_seq = outbox_last_seq(up->outbox);
    if (up->cfg.versions)
        up->cfg.versions(up->cfg.doc_arg, &hello.policy_version, &hello.calendar_version);
    Hallbus__Frame frame = HALLBUS__FRAME__INIT;
    frame.kind_case = HALLBUS__FRAME__KIND_HELLO;
    frame.hello = &hello;
    int64_t now = hb_mono_ms();
    int rc = s_send_frame(up, &frame);
    if (rc == HB_EAGAIN) {
        /* No completed connection yet (ZMQ_IMMEDIATE): try on the next tick. */
        up->next_hello_ms = now;
        return;
    }
    hb_zuv_drain(&up->zuv);
    up->next_hello_ms = now + s_jitter(up->hello_wait_ms);
    up->hello_wait_ms *= 2;
    if (up->hello_wait_ms > up->cfg.reconnect_max_ms)
        up->hello_wait_ms = up->cfg.reconnect_max_ms;
}

static void s_link_down(uplink_t *up, const char *why)
{
    if (up->welcomed) {
        hb_warn("uplink: link to HQ down (%s); %llu event(s) not yet acknowledged", why,
                (unsigned long long)(outbox_last_seq(up->outbox) - outbox_acked_seq(up->outbox)));
        up->stats.link_losses++;
    }
    up->welcomed = false;
    up->stats.connected = false;
    up->stats.connected_since_ms = 0;
    up->next_send = outbox_acked_seq(up->outbox) + 1;
    up->next_hello_ms = hb_mono_ms();
}

static int s_collect(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    uplink_t *up = arg;
    (void)seq;
    if (up->count >= sizeof up->offsets / sizeof up->offsets[0])
        return 1;
    if (up->scratch_len + len > up->scratch_cap) {
        size_t cap = up->scratch_cap ? up->scratch_cap * 2 : 65536;
        while (cap < up->scratch_len + len)
            cap *= 2;
        uint8_t *p = realloc(up->scratch, cap);
        if (!p)
            return 1;
        up->scratch = p;
        up->scratch_cap = cap;
    }
    memcpy(up->scratch + up->scratch_len, data, len);
    up->offsets[up->count] = up->scratch_len;
    up->lengths[up->count] = len;
    up->scratch_len += len;
    up->count++;
    return 0;
}

/* Sends batches while there are events and the window allows, then reads
 * what HQ sent meanwhile (which may call s_pump again, not nested). */
static void s_pump_batches(uplink_t *up);

/* For callers already inside the socket's drain loop (s_on_readable). */
static void s_pump_in_drain(uplink_t *up)
{
    if (up->pumping)
        return;
    up->pumping = true;
    s_pump_batches(up);
    up->pumping = false;
}

static void s_pump(uplink_t *up)
{
    s_pump_in_drain(up);
    hb_zuv_drain(&up->zuv);
}

static void s_pump_batches(uplink_t *up)
{
    if (!up->welcomed || up->stats.sequence_conflict)
        return;
    if (hb_mono_ms() < up->paused_until_ms)
        return;
    uint64_t last = outbox_last_seq(up->outbox);
    while (up->next_send <= last) {
        uint64_t in_flight = up->next_send - 1 - outbox_acked_seq(up->outbox);
        if (in_flight >= up->cfg.window)
            return;
        size_t room = (size_t)(up->cfg.window - in_flight);
        size_t max = up->cfg.batch_max < room ? up->cfg.batch_max : room;
        if (max > sizeof up->offsets / sizeof up->offsets[0])
            max = sizeof up->offsets / sizeof up->offsets[0];
        up->count = 0;
        up->scratch_len = 0;
        int rc = outbox_read(up->outbox, up->next_send, max, up->cfg.batch_bytes, s_collect, up);
        if (rc == HB_ENOTFOUND) {
            /* HQ asks for events this hall already pruned: it can only have
             * lost them after acknowledging them. Nothing left to resend. */
            hb_log_once("uplink-pruned", HB_LOG_ERROR,
                        "uplink: HQ asks for seq %llu, which was acknowledged and pruned",
                        (unsigned long long)up->next_send);
            up->next_send = outbox_first_seq(up->outbox);
            continue;
        }
        if (rc != 0 || up->count == 0) {
            hb_log_once("uplink-read", HB_LOG_ERROR, "uplink: cannot read the outbox at %llu: %s",
                        (unsigned long long)up->next_send, hb_strerror(rc));
            return;
        }
        ProtobufCBinaryData items[sizeof up->offsets / sizeof up->offsets[0]];
        for (size_t i = 0; i < up->count; i++) {
            items[i].data = up->scratch + up->offsets[i];
            items[i].len = up->lengths[i];
        }
        Hallbus__EventBatch batch = HALLBUS__EVENT_BATCH__INIT;
        batch.n_events = up->count;
        batch.events = items;
        Hallbus__Frame frame = HALLBUS__FRAME__INIT;
        frame.kind_case = HALLBUS__FRAME__KIND_BATCH;
        frame.batch = &batch;
        rc = s_send_frame(up, &frame);
        if (rc != 0)
            return; /* HWM or no connection: the tick tries again. */
        up->next_send += up->count;
        up->stats.batches_sent++;
        up->stats.events_sent += up->count;
    }
}

static void s_on_welcome(uplink_t *up, const Hallbus__Welcome *w)
{
    uint64_t last = outbox_last_seq(up->outbox);
    up->stats.welcomes++;
    up->stats.hq_committed = w->committed_seq;
    if (w->committed_seq > last) {
        if (!up->stats.sequence_conflict)
            hb_error("uplink: HQ holds %llu event(s) of this hall but the outbox has only %llu; "
                     "not sending until an operator resolves it (was the data folder replaced?)",
                     (unsigned long long)w->committed_seq, (unsigned long long)last);
        up->stats.sequence_conflict = true;
        return;
    }
    up->stats.sequence_conflict = false;
    outbox_ack(up->outbox, w->committed_seq);
    if (!up->welcomed) {
        hb_info("uplink: connected to HQ; HQ holds up to %llu, outbox at %llu",
                (unsigned long long)w->committed_seq, (unsigned long long)last);
        up->stats.connected_since_ms = hb_now_ms();
    }
    up->welcomed = true;
    up->stats.connected = true;
    up->next_send = w->committed_seq + 1;
    up->hello_wait_ms = up->cfg.reconnect_min_ms;
    up->paused_until_ms = 0;
    up->last_progress_ms = hb_mono_ms();
}

static void s_on_ack(uplink_t *up, const Hallbus__Ack *ack)
{
    up->stats.acks++;
    up->stats.hq_committed = ack->committed_seq;
    if (outbox_ack(up->outbox, ack->committed_seq) != 0) {
        hb_log_once("uplink-ack-range", HB_LOG_ERROR,
                    "uplink: HQ acknowledged %llu but the outbox ends at %llu",
                    (unsigned long long)ack->committed_seq,
                    (unsigned long long)outbox_last_seq(up->outbox));
        return;
    }
    if (ack->committed_seq >= up->next_send)
        up->next_send = ack->committed_seq + 1;
    up->last_progress_ms = hb_mono_ms();
}

static void s_on_reject(uplink_t *up, const Hallbus__Reject *rej)
{
    up->stats.rejects++;
    char key[48];
    snprintf(key, sizeof key, "uplink-reject-%d", (int)rej->code);
    hb_log_once(key, HB_LOG_ERROR, "uplink: HQ refused a frame (code %d, seq %llu): %s",
                (int)rej->code, (unsigned long long)rej->seq, rej->reason ? rej->reason : "");
    if (rej->code == HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE) {
        /* HQ and hall disagree on where the stream stands: ask again. */
        s_link_down(up, "sequence refused");
        return;
    }
    /* Anything else: wait, then resend everything not acknowledged. */
    up->paused_until_ms = hb_mono_ms() + s_jitter(up->cfg.reconnect_min_ms);
    up->next_send = outbox_acked_seq(up->outbox) + 1;
}

static bool s_on_readable(void *arg)
{
    uplink_t *up = arg;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int n = zmq_msg_recv(&msg, up->sock, ZMQ_DONTWAIT);
    if (n < 0) {
        zmq_msg_close(&msg);
        return false; /* EAGAIN: nothing left */
    }
    bool more = zmq_msg_more(&msg);
    Hallbus__Frame *frame = more ? NULL : hb_frame_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    while (more) { /* HQ sends single-part messages; drop anything else whole. */
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, up->sock, ZMQ_DONTWAIT) < 0)
            more = false;
        else
            more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
    }
    if (!frame) {
        up->stats.bad_frames++;
        hb_log_once("uplink-bad-frame", HB_LOG_WARN, "uplink: a frame from HQ did not decode");
        return true;
    }
    up->last_rx_ms = hb_mono_ms();
    switch (frame->kind_case) {
    case HALLBUS__FRAME__KIND_WELCOME:
        s_on_welcome(up, frame->welcome);
        break;
    case HALLBUS__FRAME__KIND_ACK:
        if (up->welcomed)
            s_on_ack(up, frame->ack);
        break;
    case HALLBUS__FRAME__KIND_REJECT:
        s_on_reject(up, frame->reject);
        break;
    case HALLBUS__FRAME__KIND_HEARTBEAT:
        if (frame->heartbeat->last_seq > up->stats.hq_committed)
            up->stats.hq_committed = frame->heartbeat->last_seq;
        break;
    case HALLBUS__FRAME__KIND_POLICY:
    case HALLBUS__FRAME__KIND_CALENDAR: {
        bool cal = frame->kind_case == HALLBUS__FRAME__KIND_CALENDAR;
        uint64_t version = cal ? frame->calendar->version : frame->policy->version;
        ProtobufCBinaryData doc = cal ? frame->calendar->document : frame->policy->document;
        up->stats.documents++;
        if (up->cfg.on_document)
            up->cfg.on_document(up->cfg.doc_arg, cal, version, doc.data, doc.len);
        break;
    }
    case HALLBUS__FRAME__KIND_NEIGHBOURS:
        if (up->cfg.on_neighbours)
            up->cfg.on_neighbours(up->cfg.doc_arg, frame->neighbours);
        break;
    default:
        /* Frame kinds of a newer HQ: not handled by this build; ignored
         * rather than refused. */
        hb_log_once("uplink-unknown-frame", HB_LOG_INFO,
                    "uplink: ignoring a frame of kind %d from HQ", (int)frame->kind_case);
        break;
    }
    hb_frame_free(frame);
    s_pump_in_drain(up);
    return true;
}

static int s_setopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

int uplink_new(uv_loop_t *loop, void *zmq_ctx, outbox_t *outbox, const uplink_config_t *cfg,
               uplink_t **out)
{
    uplink_t *up = calloc(1, sizeof *up);
    if (!up)
        return HB_ENOMEM;
    up->cfg = *cfg;
    up->outbox = outbox;
    up->sock = zmq_socket(zmq_ctx, ZMQ_DEALER);
    if (!up->sock) {
        free(up);
        return HB_EZMQ;
    }
    int64_t maxmsg = cfg->max_frame;
    int rc = 0;
    rc |= zmq_setsockopt(up->sock, ZMQ_CURVE_SERVERKEY, cfg->hq_public, 40);
    rc |= zmq_setsockopt(up->sock, ZMQ_CURVE_PUBLICKEY, cfg->hall->public_key, 40);
    rc |= zmq_setsockopt(up->sock, ZMQ_CURVE_SECRETKEY, cfg->hall->secret_key, 40);
    rc |= zmq_setsockopt(up->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    rc |= s_setopt_int(up->sock, ZMQ_LINGER, 0);
    rc |= s_setopt_int(up->sock, ZMQ_IMMEDIATE, 1);
    rc |= s_setopt_int(up->sock, ZMQ_SNDHWM, 1000);
    rc |= s_setopt_int(up->sock, ZMQ_RCVHWM, 1000);
    /* libzmq adds no jitter of its own: every hall picks its own intervals. */
    rc |= s_setopt_int(up->sock, ZMQ_RECONNECT_IVL, (int)s_jitter(cfg->reconnect_min_ms / 2 + 1));
    rc |= s_setopt_int(up->sock, ZMQ_RECONNECT_IVL_MAX, (int)s_jitter(cfg->reconnect_max_ms / 2 + 1));
    /* Transport heartbeats find a dead TCP peer and free its descriptor. */
    rc |= s_setopt_int(up->sock, ZMQ_HEARTBEAT_IVL, (int)cfg->heartbeat_ms);
    rc |= s_setopt_int(up->sock, ZMQ_HEARTBEAT_TIMEOUT, (int)cfg->timeout_ms);
    rc |= s_setopt_int(up->sock, ZMQ_HEARTBEAT_TTL, (int)cfg->timeout_ms);
    if (rc != 0 || zmq_connect(up->sock, cfg->endpoint) != 0) {
        hb_error("uplink: cannot set up the connection to %s: %s", cfg->endpoint,
                 zmq_strerror(zmq_errno()));
        zmq_close(up->sock);
        free(up);
        return HB_EZMQ;
    }
    if (hb_zuv_init(loop, &up->zuv, up->sock, 256, s_on_readable, up) != 0) {
        zmq_close(up->sock);
        free(up);
        return HB_ESYS;
    }
    up->hello_wait_ms = cfg->reconnect_min_ms;
    up->next_send = outbox_acked_seq(outbox) + 1;
    up->last_rx_ms = hb_mono_ms();
    up->next_hello_ms = 0;
    *out = up;
    return 0;
}

void uplink_notify(uplink_t *up) { s_pump(up); }

void uplink_tick(uplink_t *up)
{
    int64_t now = hb_mono_ms();
    if (up->welcomed && now - up->last_rx_ms > up->cfg.timeout_ms)
        s_link_down(up, "HQ silent");
    if (!up->welcomed) {
        if (now >= up->next_hello_ms)
            s_send_hello(up);
        return;
    }
    /* Sent events and no ack for a while, yet HQ is alive: the batch was
     * lost (e.g. HQ restarted and the connection came back by itself).
     * Resend from the last acknowledgement; HQ drops what it already has. */
    if (up->next_send - 1 > outbox_acked_seq(up->outbox) &&
        now - up->last_progress_ms > 2 * up->cfg.heartbeat_ms + 1000) {
        up->next_send = outbox_acked_seq(up->outbox) + 1;
        up->last_progress_ms = now;
    }
    if (now - up->last_tx_ms >= up->cfg.heartbeat_ms) {
        Hallbus__Heartbeat hb = HALLBUS__HEARTBEAT__INIT;
        hb.sent_at_ms = hb_now_ms();
        hb.last_seq = outbox_last_seq(up->outbox);
        hb.backlog = hb.last_seq - outbox_acked_seq(up->outbox);
        Hallbus__Frame frame = HALLBUS__FRAME__INIT;
        frame.kind_case = HALLBUS__FRAME__KIND_HEARTBEAT;
        frame.heartbeat = &hb;
        s_send_frame(up, &frame);
    }
    s_pump(up); /* drains the socket afterwards */
}

void uplink_get_stats(const uplink_t *up, uplink_stats_t *out) { *out = up->stats; }

static void s_zuv_closed(hb_zuv_t *zuv)
{
    uplink_t *up = (uplink_t *)((char *)zuv - offsetof(uplink_t, zuv));
    /* Only now: the poll handle watched this socket's descriptor. */
    zmq_close(up->sock);
    free(up->scratch);
    free(up);
}

void uplink_destroy(uplink_t **upp)
{
    uplink_t *up = *upp;
    if (!up)
        return;
    *upp = NULL;
    hb_zuv_close(&up->zuv, s_zuv_closed);
}
