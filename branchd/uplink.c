/* The uplink session (see uplink.h). Everything runs on branchd's loop
 * thread; the only state that must survive a crash (what HQ acknowledged)
 * lives in the outbox, so a restarted hall just says Hello again.
 *
 * The socket lives in a connection record of its own (with its monitor),
 * so that after HQ refused the key at the handshake, when libzmq gives the
 * connection up for good, the record is closed and a new one made after a
 * wait, without touching the session's numbers. */
#include "uplink.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/store.h"
#include "hallbus/time.h"
#include "hallbus/zuv.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define UPLINK_PROTOCOL 1
#define UPLINK_REFUSED_WAIT_MIN_MS 1000 /* first wait after HQ refused the key */
#define UPLINK_RESEND_AFTER_MAX_MS 3000 /* sent, unacknowledged this long: resend (s_tick) */
#define UPLINK_MONITOR_EVENTS                                                                      \
    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                       \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)

typedef struct uplink_conn {
    struct uplink *up;
    void *sock; /* DEALER, CURVE client */
    void *mon;  /* PAIR receiving the socket's monitor events */
    hb_zuv_t zuv, mon_zuv;
    bool has_mon;
    int open_handles; /* zuv watchers not yet closed */
} uplink_conn_t;

struct uplink {
    uplink_config_t cfg;
    uv_loop_t *loop;
    void *zmq_ctx;
    outbox_t *outbox;
    uplink_conn_t *conn;  /* NULL between a refusal and the next socket */
    int64_t reopen_at_ms; /* monotonic: when to make the next socket */
    unsigned serial;      /* names each connection's monitor endpoint */
    bool welcomed;
    uint64_t next_send;       /* next sequence to send */
    int64_t last_rx_ms;       /* monotonic: last frame from HQ */
    int64_t last_tx_ms;       /* monotonic: last frame to HQ */
    int64_t next_hello_ms;    /* monotonic: when to say Hello again */
    int64_t hello_wait_ms;    /* current doubling wait between Hellos */
    int64_t hello_sent_ms;    /* monotonic: the last Hello, for the clock's round trip */
    int64_t paused_until_ms;  /* monotonic: sending paused after a refusal */
    int64_t blocked_wait_ms;  /* current doubling wait after refused batches */
    int64_t refused_wait_ms;  /* current doubling wait after a refused key */
    int64_t last_progress_ms; /* monotonic: last ack that moved forward */
    uint32_t hq_max_batch;    /* HQ's limits from its Welcome (0: not said) */
    uint32_t hq_max_frame;
    bool skew_logged;   /* a skew beyond the warning level was logged */
    bool pumping;       /* s_pump is running: a reply read meanwhile must not re-enter it */
    bool heartbeat_due; /* news for HQ: a heartbeat at the next tick, idle or not */
    uplink_stats_t stats;
    /* Scratch for building a batch: copies of the events being sent. */
    uint8_t *scratch;
    size_t scratch_len, scratch_cap;
    size_t offsets[1024], lengths[1024];
    size_t count;
};

/* ------------------------------------------------------------ trouble ---- */

static bool s_in_trouble(const uplink_t *up)
{
    const uplink_stats_t *st = &up->stats;
    return st->refused || st->revoked || st->expired || st->blocked_code || st->sequence_conflict;
}

/* Records why events are not flowing; logs when the trouble begins or
 * changes, never on every retry. */
static void s_trouble(uplink_t *up, const char *what, const char *reason)
{
    uplink_stats_t *st = &up->stats;
    bool same = st->trouble_since_ms && strncmp(st->reason, reason, sizeof st->reason - 1) == 0;
    snprintf(st->reason, sizeof st->reason, "%s", reason);
    if (same)
        return;
    st->trouble_since_ms = hb_now_ms();
    hb_error("uplink: %s: %s (the hall keeps its events and tries again by itself)", what, reason);
}

static void s_trouble_over(uplink_t *up)
{
    if (s_in_trouble(up) || !up->stats.trouble_since_ms)
        return;
    hb_info("uplink: the link to HQ carries events again (%s no longer holds)", up->stats.reason);
    up->stats.trouble_since_ms = 0;
    up->stats.reason[0] = '\0';
}

/* ---------------------------------------------------------- the socket ---- */

static bool s_on_readable(void *arg);
static bool s_on_monitor(void *arg);

static int s_setopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

static void s_conn_handle_closed(hb_zuv_t *zuv)
{
    uplink_conn_t *c = zuv->arg;
    if (--c->open_handles > 0)
        return;
    /* Only now: the poll handles watched these sockets' descriptors. */
    zmq_close(c->sock);
    if (c->mon)
        zmq_close(c->mon);
    free(c);
}

static void s_conn_close(uplink_conn_t *c)
{
    if (!c)
        return;
    if (c->open_handles == 0) {
        zmq_close(c->sock);
        if (c->mon)
            zmq_close(c->mon);
        free(c);
        return;
    }
    hb_zuv_close(&c->zuv, s_conn_handle_closed);
    if (c->has_mon)
        hb_zuv_close(&c->mon_zuv, s_conn_handle_closed);
}

/* A new DEALER connected to HQ, with a monitor for its handshakes. */
static int s_conn_open(uplink_t *up)
{
    const uplink_config_t *cfg = &up->cfg;
    uplink_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return HB_ENOMEM;
    c->up = up;
    c->sock = zmq_socket(up->zmq_ctx, ZMQ_DEALER);
    if (!c->sock) {
        free(c);
        return HB_EZMQ;
    }
    int64_t maxmsg = cfg->max_frame;
    int rc = 0;
    rc |= zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, cfg->hq_public, 40);
    rc |= zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, cfg->hall->public_key, 40);
    rc |= zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, cfg->hall->secret_key, 40);
    rc |= zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    rc |= s_setopt_int(c->sock, ZMQ_LINGER, 0);
    rc |= s_setopt_int(c->sock, ZMQ_IMMEDIATE, 1);
    rc |= s_setopt_int(c->sock, ZMQ_SNDHWM, 1000);
    rc |= s_setopt_int(c->sock, ZMQ_RCVHWM, 1000);
    /* libzmq adds no jitter of its own: every hall picks its own intervals. */
    rc |=
        s_setopt_int(c->sock, ZMQ_RECONNECT_IVL, (int)hb_jitter_ms(cfg->reconnect_min_ms / 2 + 1));
    rc |= s_setopt_int(c->sock, ZMQ_RECONNECT_IVL_MAX,
                       (int)hb_jitter_ms(cfg->reconnect_max_ms / 2 + 1));
    /* Transport heartbeats find a dead TCP peer and free its descriptor.
     * They only back up the application's heartbeat (which HQ answers, and
     * whose silence for link_timeout says the link is down), so they come
     * once a link_timeout: each PING costs HQ a decryption and a PONG.
     * No TTL is asked of HQ: for every PING that carries one, HQ's libzmq
     * 4.3 arms a timer and cancels it at the connection's next message by
     * walking all its I/O thread's timers, O(halls) per message (bench_fleet
     * at 3,000 idle halls: hqd 12.2% of a core with the TTL, 9.4% without).
     * HQ finds a dead hall by offline_after and TCP keepalive instead. */
    rc |= s_setopt_int(c->sock, ZMQ_HEARTBEAT_IVL, (int)cfg->timeout_ms);
    rc |= s_setopt_int(c->sock, ZMQ_HEARTBEAT_TIMEOUT, (int)cfg->timeout_ms);
    rc |= s_setopt_int(c->sock, ZMQ_HEARTBEAT_TTL, 0);
    char mon_ep[96];
    snprintf(mon_ep, sizeof mon_ep, "inproc://hallbus-uplink-monitor-%p-%u", (void *)up,
             ++up->serial);
    /* The monitor is bound before the connect so no handshake is missed. */
    if (rc == 0 && zmq_socket_monitor(c->sock, mon_ep, UPLINK_MONITOR_EVENTS) == 0) {
        c->mon = zmq_socket(up->zmq_ctx, ZMQ_PAIR);
        if (c->mon &&
            (s_setopt_int(c->mon, ZMQ_LINGER, 0) != 0 || zmq_connect(c->mon, mon_ep) != 0)) {
            zmq_close(c->mon);
            c->mon = NULL;
        }
    }
    if (!c->mon)
        hb_log_once("uplink-monitor", HB_LOG_WARN,
                    "uplink: cannot watch the handshakes (%s); a refused key is noticed only "
                    "by HQ's silence",
                    zmq_strerror(zmq_errno()));
    if (rc != 0 || zmq_connect(c->sock, cfg->endpoint) != 0) {
        hb_error("uplink: cannot set up the connection to %s: %s", cfg->endpoint,
                 zmq_strerror(zmq_errno()));
        s_conn_close(c);
        return HB_EZMQ;
    }
    if (hb_zuv_init(up->loop, &c->zuv, c->sock, 256, s_on_readable, c) != 0) {
        s_conn_close(c);
        return HB_ESYS;
    }
    c->open_handles = 1;
    if (c->mon && hb_zuv_init(up->loop, &c->mon_zuv, c->mon, 16, s_on_monitor, c) == 0) {
        c->has_mon = true;
        c->open_handles++;
    }
    up->conn = c;
    return 0;
}

/* Gives the socket up and makes a new one after `wait_ms` (jittered). */
static void s_reopen_later(uplink_t *up, int64_t wait_ms)
{
    s_conn_close(up->conn);
    up->conn = NULL;
    up->welcomed = false;
    up->stats.connected = false;
    up->stats.connected_since_ms = 0;
    up->next_send = outbox_acked_seq(up->outbox) + 1;
    up->reopen_at_ms = hb_mono_ms() + hb_jitter_ms(wait_ms);
}

static int s_send_frame(uplink_t *up, const Hallbus__Frame *frame)
{
    if (!up->conn)
        return HB_EAGAIN;
    uint8_t stackbuf[4096];
    size_t len = hallbus__frame__get_packed_size(frame);
    uint8_t *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!buf)
        return HB_ENOMEM;
    hallbus__frame__pack(frame, buf);
    int rc = zmq_send(up->conn->sock, buf, len, ZMQ_DONTWAIT);
    if (buf != stackbuf)
        free(buf);
    /* Sending can consume the edge on ZMQ_FD, failed or not. Not drained
     * here, where a reply handled in the middle of building batches would
     * change the state the caller is using: the session's callers drain
     * afterwards, and the kick reads on the next loop turn for any caller
     * that does not (a booking answer from the hall's API). */
    hb_zuv_kick(&up->conn->zuv);
    if (rc < 0)
        return zmq_errno() == EAGAIN ? HB_EAGAIN : HB_EZMQ;
    up->last_tx_ms = hb_mono_ms();
    return 0;
}

static void s_drain(uplink_t *up)
{
    if (up->conn)
        hb_zuv_drain(&up->conn->zuv);
}

/* A handshake refused by HQ's ZAP handler: the key is not (or no longer)
 * enrolled. libzmq will not try this connection again, so the socket is
 * made anew after a wait that grows to refused_retry_max. */
/* Whether the hall's certificate is past its not-after (false for an older
 * certificate that has none). */
static bool s_cert_expired(const uplink_t *up)
{
    const char *na = hb_cert_meta(up->cfg.hall, "not-after");
    int64_t na_ms = 0;
    return na && hb_time_parse(na, &na_ms) == 0 && hb_now_ms() >= na_ms;
}

static void s_on_auth_failed(uplink_t *up, unsigned status, bool auth)
{
    up->stats.auth_failures++;
    char reason[UPLINK_REASON_MAX];
    const char *na = hb_cert_meta(up->cfg.hall, "not-after");
    up->stats.expired = auth && s_cert_expired(up);
    if (up->stats.expired)
        snprintf(
            reason, sizeof reason,
            "HQ refused this hall's key at the handshake: its certificate expired at %s "
            "(a hall rotates by itself before expiry while it reaches HQ: rotate_before; now it "
            "must be enrolled again)",
            na);
    else if (auth)
        snprintf(reason, sizeof reason,
                 "HQ refused this hall's key at the handshake (ZAP status %u): it is not "
                 "enrolled at head office, or was revoked",
                 status);
    else
        snprintf(reason, sizeof reason,
                 "the encrypted handshake with HQ failed: is hq.key head office's current key?");
    if (!up->stats.revoked) {
        up->stats.refused = true;
        s_trouble(up, "refused", reason);
    }
    up->stats.socket_reopens++;
    s_reopen_later(up, up->refused_wait_ms);
    up->refused_wait_ms = hb_backoff_double(up->refused_wait_ms, up->cfg.refused_retry_max_ms);
}

static bool s_on_monitor(void *arg)
{
    uplink_conn_t *c = arg;
    uplink_t *up = c->up;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, c->mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return false;
    }
    uint16_t event = 0;
    uint32_t value = 0;
    bool ok = zmq_msg_size(&m) >= 6;
    if (ok) {
        const uint8_t *d = zmq_msg_data(&m);
        memcpy(&event, d, 2);
        memcpy(&value, d + 2, 4);
    }
    bool more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    while (more) { /* the endpoint's address: not needed */
        zmq_msg_init(&m);
        more = zmq_msg_recv(&m, c->mon, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    if (!ok || up->conn != c)
        return true; /* an old connection's news */
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        /* HQ took the key; a refusal or revocation before is over. */
        if (up->stats.refused || up->stats.revoked || up->stats.expired)
            hb_info("uplink: HQ accepted this hall's key again");
        up->stats.refused = up->stats.revoked = up->stats.expired = false;
        up->refused_wait_ms = UPLINK_REFUSED_WAIT_MIN_MS;
        s_trouble_over(up);
        return true;
    }
    s_on_auth_failed(up, value, event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    return false; /* the connection is closing: read nothing more of it */
}

/* -------------------------------------------------------- the session ---- */

/* The hall's refused documents, for a Hello or a heartbeat: set in `out`
 * (whose strings point into `reasons`) only when there is one. */
typedef struct refusals {
    Hallbus__DocumentRefusal doc[2];
    char codes[2][32];
    char reasons[2][256];
} refusals_t;

static void s_refusals(const uplink_t *up, refusals_t *r, Hallbus__DocumentRefusal **policy,
                       Hallbus__DocumentRefusal **calendar)
{
    *policy = *calendar = NULL;
    if (!up->cfg.refusal)
        return;
    for (int k = 0; k < 2; k++) {
        hallbus__document_refusal__init(&r->doc[k]);
        r->codes[k][0] = r->reasons[k][0] = '\0';
        up->cfg.refusal(up->cfg.doc_arg, k == 1, &r->doc[k].version, r->codes[k],
                        sizeof r->codes[k], r->reasons[k], sizeof r->reasons[k]);
        r->doc[k].reason = r->reasons[k];
        r->doc[k].code = r->codes[k];
    }
    if (r->doc[0].version)
        *policy = &r->doc[0];
    if (r->doc[1].version)
        *calendar = &r->doc[1];
}

static void s_send_hello(uplink_t *up)
{
    Hallbus__Hello hello = HALLBUS__HELLO__INIT;
    hello.protocol = UPLINK_PROTOCOL;
    hello.software = (char *)up->cfg.software;
    hello.last_seq = outbox_last_seq(up->outbox);
    hello.sent_at_ms = hb_now_ms();
    outbox_space_t sp;
    outbox_space(up->outbox, &sp);
    hello.disk_full_since_ms = sp.full_since_ms;
    hello.disk_refused = sp.refused_events;
    hello.bookings = up->cfg.on_booking != NULL;
    hello.glossary = true; /* applier.c reads a slice's "glossary" */
    if (up->cfg.versions)
        up->cfg.versions(up->cfg.doc_arg, &hello.policy_version, &hello.calendar_version);
    refusals_t rf;
    s_refusals(up, &rf, &hello.policy_refused, &hello.calendar_refused);
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
    up->hello_sent_ms = now;
    s_drain(up);
    up->next_hello_ms = now + hb_jitter_ms(up->hello_wait_ms);
    up->hello_wait_ms = hb_backoff_double(up->hello_wait_ms, up->cfg.reconnect_max_ms);
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

/* HQ's clock seen at `hq_ms`, `rtt_ms` after the request it answers was
 * sent (0 when unknown): the hall's clock minus HQ's. */
static void s_note_clock(uplink_t *up, int64_t hq_ms, int64_t rtt_ms)
{
    if (hq_ms <= 0)
        return;
    int64_t skew = hb_now_ms() - rtt_ms / 2 - hq_ms;
    up->stats.clock_skew_ms = skew;
    up->stats.skew_known = true;
    int64_t mag = skew < 0 ? -skew : skew;
    if (mag > up->cfg.clock_skew_warn_ms && !up->skew_logged) {
        hb_warn("uplink: this hall's clock is %" PRId64 " s %s head office's; events carry this "
                "clock's times (set the time, or check the time service)",
                mag / 1000, skew < 0 ? "behind" : "ahead of");
        up->skew_logged = true;
    } else if (mag <= up->cfg.clock_skew_warn_ms / 2 && up->skew_logged) {
        hb_info("uplink: this hall's clock agrees with head office's again (%" PRId64 " ms)", skew);
        up->skew_logged = false;
    }
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
    s_drain(up);
}

/* Where a resend starts: after what HQ says it holds (its Welcome, acks
 * and heartbeats on this connection), or after the outbox's acknowledged
 * sequence when that is lower. HQ's word is lower after HQ was restored
 * from a backup (a rollback, docs/UPGRADING.md): the events it lost are
 * still in the outbox for the retention, and they go again. */
static uint64_t s_resend_from(const uplink_t *up)
{
    uint64_t acked = outbox_acked_seq(up->outbox), hq = up->stats.hq_committed;
    return (hq < acked ? hq : acked) + 1;
}

static void s_pump_batches(uplink_t *up)
{
    if (!up->welcomed || up->stats.sequence_conflict)
        return;
    if (hb_mono_ms() < up->paused_until_ms)
        return;
    uint64_t last = outbox_last_seq(up->outbox);
    while (up->next_send <= last) {
        uint64_t from = s_resend_from(up);
        uint64_t in_flight = up->next_send > from ? up->next_send - from : 0;
        if (in_flight >= up->cfg.window)
            return;
        size_t room = (size_t)(up->cfg.window - in_flight);
        size_t max = up->cfg.batch_max < room ? up->cfg.batch_max : room;
        /* Never more than HQ takes: a batch it refuses as too large would
         * stop the stream. */
        if (up->hq_max_batch && max > up->hq_max_batch)
            max = up->hq_max_batch;
        size_t max_bytes = up->cfg.batch_bytes;
        if (up->hq_max_frame && max_bytes > up->hq_max_frame / 2)
            max_bytes = up->hq_max_frame / 2; /* room for the framing of each event */
        if (max > sizeof up->offsets / sizeof up->offsets[0])
            max = sizeof up->offsets / sizeof up->offsets[0];
        up->count = 0;
        up->scratch_len = 0;
        int rc = outbox_read(up->outbox, up->next_send, max, max_bytes, s_collect, up);
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
    up->hq_max_batch = w->max_batch;
    up->hq_max_frame = w->max_frame;
    up->stats.hq_rotation = w->rotation;
    s_note_clock(up, w->hq_time_ms, up->hello_sent_ms ? hb_mono_ms() - up->hello_sent_ms : 0);
    up->stats.refused = up->stats.revoked = up->stats.expired = false;
    up->refused_wait_ms = UPLINK_REFUSED_WAIT_MIN_MS;
    if (w->committed_seq > last) {
        if (!up->stats.sequence_conflict) {
            char reason[UPLINK_REASON_MAX];
            snprintf(reason, sizeof reason,
                     "HQ holds %llu event(s) of this hall but the outbox has only %llu; not "
                     "sending until an operator resolves it (was the data folder replaced?)",
                     (unsigned long long)w->committed_seq, (unsigned long long)last);
            up->stats.sequence_conflict = true;
            s_trouble(up, "conflict", reason);
        }
        return;
    }
    up->stats.sequence_conflict = false;
    /* A refusal of a Hello (say, its protocol) is over once welcomed. */
    if (up->stats.blocked_code && up->stats.blocked_seq == 0)
        up->stats.blocked_code = 0;
    s_trouble_over(up);
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
    /* HQ took the event it refused before: the stream moves again. */
    if (up->stats.blocked_code && ack->committed_seq >= up->stats.blocked_seq) {
        up->stats.blocked_code = 0;
        up->stats.blocked_seq = 0;
        up->blocked_wait_ms = up->cfg.reconnect_min_ms;
        s_trouble_over(up);
    }
}

static void s_on_reject(uplink_t *up, const Hallbus__Reject *rej)
{
    up->stats.rejects++;
    const char *why = rej->reason ? rej->reason : "";
    char reason[UPLINK_REASON_MAX];
    switch (rej->code) {
    case HALLBUS__REJECT_CODE__REJECT_CODE_BAD_SEQUENCE:
        /* HQ and hall disagree on where the stream stands: ask again. */
        hb_log_once("uplink-reject-seq", HB_LOG_WARN,
                    "uplink: HQ refused a sequence (%s); "
                    "asking where to resume",
                    why);
        s_link_down(up, "sequence refused");
        return;
    case HALLBUS__REJECT_CODE__REJECT_CODE_REVOKED:
        /* HQ cuts off a hall whose certificate ran out as it does a
         * revoked one; the hall knows which from its own certificate. */
        if (s_cert_expired(up)) {
            if (!up->stats.expired) {
                up->stats.expired = true;
                s_trouble(up, "expired", why);
            }
        } else if (!up->stats.revoked) {
            up->stats.revoked = true;
            s_trouble(up, "revoked", why);
        }
        up->stats.socket_reopens++;
        s_reopen_later(up, up->refused_wait_ms);
        up->refused_wait_ms = hb_backoff_double(up->refused_wait_ms, up->cfg.refused_retry_max_ms);
        return;
    case HALLBUS__REJECT_CODE__REJECT_CODE_CONFLICT:
        /* What HQ holds at that sequence is not what this outbox holds:
         * never acknowledged, so ask HQ where it stands and go on from
         * there; the conflict stays on record, and HQ raises an alert. */
        if (up->stats.conflict_seq != rej->seq)
            hb_error("uplink: HQ holds other bytes at sequence %llu than this hall's outbox: %s",
                     (unsigned long long)rej->seq, why);
        up->stats.conflict_seq = rej->seq;
        up->stats.conflict_ms = hb_now_ms();
        s_link_down(up, "resend differs from HQ's copy");
        return;
    case HALLBUS__REJECT_CODE__REJECT_CODE_MALFORMED:
    case HALLBUS__REJECT_CODE__REJECT_CODE_TOO_LARGE:
    case HALLBUS__REJECT_CODE__REJECT_CODE_BAD_FIELD:
    case HALLBUS__REJECT_CODE__REJECT_CODE_UNSUPPORTED:
        /* The stream stands at `seq` until HQ takes it (a newer HQ, or a
         * mended hall): shown, and tried again with a growing wait. */
        snprintf(reason, sizeof reason, "HQ refuses %s%llu: %s",
                 rej->seq ? "event " : "the hall's frames; sequence ", (unsigned long long)rej->seq,
                 why);
        up->stats.blocked_code = (int)rej->code;
        up->stats.blocked_seq = rej->seq;
        s_trouble(up, "blocked", reason);
        up->paused_until_ms = hb_mono_ms() + hb_jitter_ms(up->blocked_wait_ms);
        up->blocked_wait_ms = hb_backoff_double(up->blocked_wait_ms, up->cfg.reconnect_max_ms);
        up->next_send = s_resend_from(up);
        return;
    default: {
        /* Busy, storage, or a code of a newer HQ: wait, then resend
         * everything not acknowledged. */
        char key[48];
        snprintf(key, sizeof key, "uplink-reject-%d", (int)rej->code);
        hb_log_once(key, HB_LOG_WARN, "uplink: HQ refused a frame (code %d, seq %llu): %s",
                    (int)rej->code, (unsigned long long)rej->seq, why);
        up->paused_until_ms = hb_mono_ms() + hb_jitter_ms(up->cfg.reconnect_min_ms);
        up->next_send = s_resend_from(up);
        return;
    }
    }
}

/* A frame's message to the daemon's callback for its kind, where it gave
 * one. Each callback takes its own message type, so one function cannot
 * call them all. */
#define HAND_ON(cb, member)                                                                        \
    do {                                                                                           \
        if (up->cfg.cb)                                                                            \
            up->cfg.cb(up->cfg.doc_arg, frame->member);                                            \
    } while (0)

static bool s_on_readable(void *arg)
{
    uplink_conn_t *c = arg;
    uplink_t *up = c->up;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int n = zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT);
    if (n < 0) {
        zmq_msg_close(&msg);
        return false; /* EAGAIN: nothing left */
    }
    bool more = zmq_msg_more(&msg);
    Hallbus__Frame *frame = more ? NULL : hb_frame_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    while (more) { /* HQ sends single-part messages; drop anything else whole. */
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) < 0)
            more = false;
        else
            more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
    }
    if (up->conn != c) {
        hb_frame_free(frame);
        return true;
    }
    if (!frame) {
        up->stats.bad_frames++;
        hb_log_once("uplink-bad-frame", HB_LOG_WARN, "uplink: a frame from HQ did not decode");
        return true;
    }
    up->last_rx_ms = hb_mono_ms();
    switch (frame->kind_case) {
    case HALLBUS__FRAME__KIND_WELCOME: s_on_welcome(up, frame->welcome); break;
    case HALLBUS__FRAME__KIND_ACK:
        if (up->welcomed)
            s_on_ack(up, frame->ack);
        break;
    case HALLBUS__FRAME__KIND_REJECT: s_on_reject(up, frame->reject); break;
    case HALLBUS__FRAME__KIND_HEARTBEAT:
        if (frame->heartbeat->last_seq > up->stats.hq_committed)
            up->stats.hq_committed = frame->heartbeat->last_seq;
        s_note_clock(up, frame->heartbeat->sent_at_ms, 0);
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
    case HALLBUS__FRAME__KIND_NEIGHBOURS: HAND_ON(on_neighbours, neighbours); break;
    case HALLBUS__FRAME__KIND_NOTICES: HAND_ON(on_notices, notices); break;
    case HALLBUS__FRAME__KIND_BOOKING_REQUEST:
        /* Taken even while the hall thinks the link is down (a hall that
         * was frozen wakes up thinking so): its deadline says whether HQ
         * still waits for the answer. */
        HAND_ON(on_booking, booking_request);
        break;
    case HALLBUS__FRAME__KIND_ROTATE_ANSWER: HAND_ON(on_rotate_answer, rotate_answer); break;
    default:
        /* Frame kinds of a newer HQ: not handled by this build; ignored
         * rather than refused. */
        hb_log_once("uplink-unknown-frame", HB_LOG_INFO,
                    "uplink: ignoring a frame of kind %d from HQ", (int)frame->kind_case);
        break;
    }
    hb_frame_free(frame);
    if (up->conn != c)
        return false; /* the socket was given up (revoked): read no more of it */
    s_pump_in_drain(up);
    return true;
}
#undef HAND_ON

int uplink_new(uv_loop_t *loop, void *zmq_ctx, outbox_t *outbox, const uplink_config_t *cfg,
               uplink_t **out)
{
    uplink_t *up = calloc(1, sizeof *up);
    if (!up)
        return HB_ENOMEM;
    up->cfg = *cfg;
    if (up->cfg.refused_retry_max_ms < UPLINK_REFUSED_WAIT_MIN_MS)
        up->cfg.refused_retry_max_ms = UPLINK_REFUSED_WAIT_MIN_MS;
    if (up->cfg.clock_skew_warn_ms <= 0)
        up->cfg.clock_skew_warn_ms = 120000;
    up->loop = loop;
    up->zmq_ctx = zmq_ctx;
    up->outbox = outbox;
    up->hello_wait_ms = cfg->reconnect_min_ms;
    up->blocked_wait_ms = cfg->reconnect_min_ms;
    up->refused_wait_ms = UPLINK_REFUSED_WAIT_MIN_MS;
    up->next_send = outbox_acked_seq(outbox) + 1;
    up->last_rx_ms = hb_mono_ms();
    up->next_hello_ms = 0;
    int rc = s_conn_open(up);
    if (rc != 0) {
        free(up);
        return rc;
    }
    *out = up;
    return 0;
}

void uplink_notify(uplink_t *up) { s_pump(up); }

void uplink_tick(uplink_t *up)
{
    int64_t now = hb_mono_ms();
    if (!up->conn) {
        if (now < up->reopen_at_ms)
            return;
        if (s_conn_open(up) != 0) {
            up->reopen_at_ms = now + hb_jitter_ms(up->refused_wait_ms);
            return;
        }
        up->next_hello_ms = now;
        up->last_rx_ms = now;
    }
    if (up->welcomed && now - up->last_rx_ms > up->cfg.timeout_ms)
        s_link_down(up, "HQ silent");
    if (!up->welcomed) {
        if (now >= up->next_hello_ms)
            s_send_hello(up);
        return;
    }
    /* Sent events and no ack for a while, yet HQ is alive: the batch was
     * lost (e.g. HQ restarted and the connection came back by itself).
     * Resend from the last acknowledgement; HQ drops what it already has.
     * "A while" is two heartbeats and a second, but no more than
     * UPLINK_RESEND_AFTER_MAX_MS: HQ acknowledges within milliseconds of
     * its commit, and a long heartbeat must not hold a backlog back after
     * an HQ restart. */
    int64_t resend_after = 2 * up->cfg.heartbeat_ms + 1000;
    if (resend_after > UPLINK_RESEND_AFTER_MAX_MS)
        resend_after = UPLINK_RESEND_AFTER_MAX_MS;
    if (up->next_send > s_resend_from(up) && now - up->last_progress_ms > resend_after) {
        up->next_send = s_resend_from(up);
        up->last_progress_ms = now;
    }
    if (now - up->last_tx_ms >= up->cfg.heartbeat_ms || up->heartbeat_due) {
        up->heartbeat_due = false;
        Hallbus__Heartbeat hb = HALLBUS__HEARTBEAT__INIT;
        hb.sent_at_ms = hb_now_ms();
        hb.last_seq = outbox_last_seq(up->outbox);
        hb.backlog = hb.last_seq - outbox_acked_seq(up->outbox);
        outbox_space_t sp;
        outbox_space(up->outbox, &sp);
        hb.disk_full_since_ms = sp.full_since_ms;
        hb.disk_refused = sp.refused_events;
        refusals_t rf;
        s_refusals(up, &rf, &hb.policy_refused, &hb.calendar_refused);
        Hallbus__Frame frame = HALLBUS__FRAME__INIT;
        frame.kind_case = HALLBUS__FRAME__KIND_HEARTBEAT;
        frame.heartbeat = &hb;
        s_send_frame(up, &frame);
    }
    s_pump(up); /* drains the socket afterwards */
}

int uplink_send_booking_answer(uplink_t *up, const Hallbus__BookingAnswer *answer)
{
    Hallbus__Frame frame = HALLBUS__FRAME__INIT;
    frame.kind_case = HALLBUS__FRAME__KIND_BOOKING_ANSWER;
    frame.booking_answer = (Hallbus__BookingAnswer *)answer;
    return s_send_frame(up, &frame);
}
void uplink_heartbeat_soon(uplink_t *up) { up->heartbeat_due = true; }

void uplink_get_stats(const uplink_t *up, uplink_stats_t *out)
{
    *out = up->stats;
    int64_t now = hb_mono_ms(), at = 0;
    if (!up->conn)
        at = up->reopen_at_ms;
    else if (!up->welcomed)
        at = up->next_hello_ms;
    else if (up->paused_until_ms > now)
        at = up->paused_until_ms;
    out->retry_in_ms = at > now ? at - now : 0;
}

const char *uplink_state(const uplink_stats_t *st)
{
    if (st->revoked)
        return "revoked";
    if (st->expired)
        return "expired";
    if (st->refused)
        return "refused";
    if (st->sequence_conflict)
        return "conflict";
    if (st->blocked_code)
        return "blocked";
    return st->connected ? "connected" : "connecting";
}

void uplink_destroy(uplink_t **upp)
{
    uplink_t *up = *upp;
    if (!up)
        return;
    *upp = NULL;
    s_conn_close(up->conn);
    free(up->scratch);
    free(up);
}

int uplink_send_rotation(uplink_t *up, const char *request)
{
    if (!up->welcomed)
        return HB_EAGAIN;
    if (!up->stats.hq_rotation)
        return HB_ECONFLICT;
    Hallbus__RotateRequest rr = HALLBUS__ROTATE_REQUEST__INIT;
    rr.request = (char *)request;
    Hallbus__Frame frame = HALLBUS__FRAME__INIT;
    frame.kind_case = HALLBUS__FRAME__KIND_ROTATE_REQUEST;
    frame.rotate_request = &rr;
    int rc = s_send_frame(up, &frame);
    s_drain(up);
    return rc;
}

void uplink_reconnect(uplink_t *up)
{
    s_reopen_later(up, 0);
    up->reopen_at_ms = hb_mono_ms(); /* no wait: the old key may be retired soon */
    up->refused_wait_ms = UPLINK_REFUSED_WAIT_MIN_MS;
}
