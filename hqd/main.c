/* hqd: the head office daemon. Creates its key pair on first start, puts the
 * ZAP handler in front of the CURVE ROUTER before the ROUTER listens, loads
 * every hall's durable state, and runs ingest, writer and HTTP API (behind
 * its access control, over TLS when given a certificate) until
 * SIGTERM/SIGINT. Settings come from the one table below; start-up, signals,
 * systemd and the one housekeeping timer (with hqd's chores in the table
 * after the settings) are common/base/daemon.c's. `hqd users ...` is the
 * command line that enrols people (auth/users.c) and starts no daemon. */
#include "hqd.h"
#include "cli.h"
#include "users.h"
#include "page.h"

#include "hallbus/codec.h"
#include "hallbus/config.h"
#include "hallbus/daemon.h"
#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/log.h"
#include "hallbus/manpage.h"
#include "hallbus/store.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* The housekeeping timer's tick: the live board's and the alerts' rounds,
 * four a second; the other chores run every N of them. */
#define HQD_TICK_MS 250

#define CFG(...) HB_CONF_ROW(hqd_config_t, __VA_ARGS__)

static const hb_config_def_t s_defs[] = {
    HB_DAEMON_CONFIG_ROW(hqd_config_t),
    CFG("data", HB_CONF_STRING, data, NULL, 0, 0, false, "data folder (LMDB)"),
    CFG("keys", HB_CONF_STRING, keys, NULL, 0, 0, false,
        "key folder: hq.key, hq.key_secret (made on first start), halls/ (enrolled halls)"),
    CFG("listen", HB_CONF_STRING, listen, "tcp://0.0.0.0:7400", 0, 0, false,
        "ZeroMQ endpoint the halls connect to"),
    CFG("http", HB_CONF_STRING, http, "127.0.0.1:8080", 0, 0, false, "HTTP API HOST:PORT"),
    CFG("dashboard", HB_CONF_STRING, dashboard, HQD_DASHBOARD_DIR, 0, 0, false,
        "folder of the dashboard's files, served at / (read at start; \"\" serves none)"),
    CFG("cert_validity", HB_CONF_DURATION, cert_validity_ms, "365d", 10000, 3650LL * 86400000,
        false, "a hall's certificate is valid this long from its approval (halls rotate before)"),
    CFG("rotate_overlap", HB_CONF_DURATION, rotate_overlap_ms, "7d", 60000, 90LL * 86400000, false,
        "after a rotation the previous key stays valid this long at most (retired at the "
        "new key's first handshake)"),
    CFG("rotate_auto", HB_CONF_BOOL, rotate_auto, "true", 0, 0, false,
        "grant a hall's rotation request sent over its link and proved by its current key (same "
        "hall, same region; audited); false: rotations go through a person"),
    CFG("cert_expiry_warn", HB_CONF_DURATION, cert_expiry_warn_ms, "14d", 0, 365LL * 86400000,
        false,
        "alert cert_expiring this long before a hall's certificate expires, unless it "
        "rotated (0: no alert)"),
    CFG("enrol_code_validity", HB_CONF_DURATION, enrol_code_validity_ms, "30d", 60000,
        365LL * 86400000, false,
        "a one-time enrolment code of a pre-registered hall is good "
        "this long"),
    CFG("chartjs", HB_CONF_STRING, chartjs, HQD_CHARTJS_FILE, 0, 0, false,
        "Chart.js (Debian's libjs-chart.js), served as /chart.min.js for the dashboard's "
        "reports view (read at start; \"\" serves none: the view shows its tables only)"),
    HB_DAEMON_LOG_LEVEL_ROW(hqd_config_t),
    /* The halls' heartbeat and offline_after are sized for 100,000 halls
     * (docs/OPERATIONS.md, issue 17): an idle hall costs HQ one heartbeat
     * per interval, and a silent hall is offline within 40 s. */
    CFG("heartbeat", HB_CONF_DURATION, heartbeat_ms, "15s", 100, 600000, false,
        "heartbeat interval asked of halls (told in the Welcome; branchd's own heartbeat "
        "setting rules the hall)",
        .at_most = "offline_after"),
    CFG("offline_after", HB_CONF_DURATION, offline_after_ms, "40s", 1000, 3600000, false,
        "a hall silent this long is offline"),
    CFG("io_threads", HB_CONF_INT, io_threads, "2", 1, 64, false,
        "ZeroMQ I/O threads: the halls' connections, their CURVE handshakes and encryption are "
        "spread over them"),
    CFG("max_frame", HB_CONF_SIZE, max_frame, "1M", 16384, HB_FRAME_MAX, false,
        "larger frames are refused with a reason (told to halls, which size their batches to it)"),
    CFG("max_batch", HB_CONF_INT, max_batch, "1024", 1, 65536, false, "most events in one batch"),
    CFG("max_future", HB_CONF_DURATION, max_future_ms, "5m", 0, 86400000, false,
        "an event stamped this far ahead of HQ's clock is stored with a flag (as a hall's API "
        "refuses it)"),
    CFG("alert_clock_skew", HB_CONF_DURATION, alert_clock_skew_ms, "2m", 1000, 86400000, false,
        "a hall's clock this far from HQ's is an alert"),
    CFG("alert_anomaly_hold", HB_CONF_DURATION, alert_anomaly_hold_ms, "1h", 1000, 30LL * 86400000,
        false, "an event_anomaly alert stays open this long after the last flagged event"),
    CFG("alert_disk_full_hold", HB_CONF_DURATION, alert_disk_full_hold_ms, "1h", 1000,
        30LL * 86400000, false,
        "a hall_disk_full alert stays open this long after HQ last heard of a refusal, once the "
        "hall has room again"),
    CFG("queue_bytes", HB_CONF_SIZE, queue_bytes, "256M", 1 << 20, 1LL << 34, false,
        "events waiting for the writer, at most (then halls are told to retry)"),
    CFG("fold_every", HB_CONF_DURATION, fold_ms, "200ms", 1, 3600000, false,
        "acknowledged events wait in the commit log at most this long before they are folded "
        "into the per-hall store"),
    CFG("log_max_bytes", HB_CONF_SIZE, log_max_bytes, "256M", 1 << 16, 1LL << 34, false,
        "events in the commit log not folded yet, at most (then the writer waits for the fold)"),
    HB_STORE_CONF_ROWS(hqd_config_t, "1G", 1LL << 42, "4T", 1LL << 46),
    HB_HTTP_CONF_ROWS(hqd_config_t, "HTTP API", "4096"),
    CFG("alert_offline_grace", HB_CONF_DURATION, alert_offline_grace_ms, "2m", 0, 86400000, false,
        "a hall unreachable in its opening hours this long is an alert"),
    CFG("alert_no_counter_grace", HB_CONF_DURATION, alert_no_counter_grace_ms, "1m", 0, 86400000,
        false, "customers waiting with no counter open this long is an alert"),
    CFG("alert_retention", HB_CONF_DURATION, alert_retention_ms, "400d", 86400000,
        36500LL * 86400000, false, "cleared alerts are kept this long"),
    CFG("neighbour_board_every", HB_CONF_DURATION, neighbours_ms, "3s", 500, 600000, false,
        "how often a hall may get its neighbours' state (sent when it changed)"),
    CFG("stream_ring", HB_CONF_INT, stream_ring, "200000", 16, 100000000, false,
        "changes kept for clients of /v1/stream to resume from"),
    CFG("stream_clients", HB_CONF_INT, stream_clients, "256", 1, 100000, false,
        "clients of /v1/stream at once"),
    CFG("mirror_snapshot_events", HB_CONF_INT, mirror_snapshot_events, "10000", 1, 100000000, false,
        "snapshot a hall's mirrored state after this many new events"),
    CFG("mirror_snapshot_every", HB_CONF_DURATION, mirror_snapshot_ms, "1m", 1000, 86400000, false,
        "... or this long after its last snapshot (a restart replays only the rest)"),
    CFG("rollups", HB_CONF_BOOL, rollups, "true", 0, 0, false,
        "fold committed events into rollups for reports and the archive (false: neither, "
        "and no raw event is pruned)"),
    CFG("rollup_queue_bytes", HB_CONF_SIZE, rollup_queue_bytes, "64M", 1 << 20, 1LL << 34, false,
        "copies of committed batches waiting for the rollups, at most (past it they are read "
        "back from the store)"),
    CFG("rollup_commit_every", HB_CONF_DURATION, rollup_commit_ms, "1s", 10, 600000, false,
        "the rollups commit at least this often while events wait"),
    CFG("rollup_save_every", HB_CONF_DURATION, rollup_save_ms, "10m", 1000, 86400000, false,
        "a hall's rollup state is saved at least this often while it changes (a restart "
        "replays what came after; raw events after it are not pruned)"),
    CFG("retention_raw", HB_CONF_DURATION, retention_raw_ms, "400d", 86400000, 36500LL * 86400000,
        false, "raw events are kept this long (then pruned once rolled up)"),
    CFG("retention_rollups", HB_CONF_DURATION, retention_rollups_ms, "3653d", 86400000,
        36500LL * 86400000, false, "rollups are kept this long"),
    CFG("retention_every", HB_CONF_DURATION, retention_every_ms, "1h", 1000, 7LL * 86400000, false,
        "how often a retention pass starts"),
    CFG("disk_alert_free", HB_CONF_INT, disk_alert_free, "10", 0, 100, true,
        "per cent of the data's disk (or the event store's map_max) left below which the "
        "disk_nearly_full alert is raised (0: never)"),
    CFG("rollout_per_tick", HB_CONF_INT, rollout_per_tick, "2000", 1, 1000000, false,
        "policy/calendar documents sent to halls per second at most"),
    CFG("booking_timeout", HB_CONF_DURATION, booking_timeout_ms, "5s", 1000, 60000, false,
        "POST /v1/appointments answers 504 hall_timeout when the hall has not answered within "
        "this"),
    CFG("notify_escalate_after", HB_CONF_DURATION, notify_escalate_after_ms, "30m", 0,
        7LL * 86400000, false,
        "an alert nobody acknowledged goes a level up (hall, city, province, network) after "
        "this, and again after each as long; 0: never"),
    CFG("notify_queue", HB_CONF_INT, notify_queue, "10000", 16, 1000000, false,
        "alert deliveries waiting or retrying at once, at most (past it, queued next second)"),
    CFG("notify_senders", HB_CONF_INT, notify_senders, "4", 1, NOTIFY_SENDERS_MAX, false,
        "alert delivery attempts at once (threads): a webhook that hangs holds one of them"),
    CFG("notify_attempts", HB_CONF_INT, notify_attempts, "8", 1, 100, false,
        "tries of one alert delivery before it is given up"),
    CFG("notify_retry_first", HB_CONF_DURATION, notify_retry_first_ms, "5s", 10, 3600000, false,
        "the wait after a delivery's first failure; it doubles after each"),
    CFG("notify_retry_max", HB_CONF_DURATION, notify_retry_max_ms, "10m", 10, 86400000, false,
        "the longest wait between two tries of a delivery"),
    CFG("notify_timeout", HB_CONF_DURATION, notify_timeout_ms, "10s", 100, 600000, false,
        "one delivery attempt (webhook, robot, mail server), connect to last byte"),
    CFG("notify_deliveries_kept", HB_CONF_INT, notify_deliveries_kept, "100000", 100, 100000000,
        false, "delivery attempts kept for GET /v1/notify/deliveries (the oldest go first)"),
    CFG("smtp_url", HB_CONF_STRING, smtp_url, "", 0, 0, false,
        "mail server for alert e-mail, smtp://HOST:PORT or smtps://HOST:PORT (\"\": no e-mail)"),
    CFG("smtp_from", HB_CONF_STRING, smtp_from, "hallbus@localhost", 0, 0, false,
        "the sender address of alert e-mail"),
    CFG("external_url", HB_CONF_STRING, external_url, "", 0, 0, false,
        "the dashboard's address as people reach it, for links in alert messages"),
    CFG("rollout_resend", HB_CONF_DURATION, rollout_resend_ms, "30s", 1000, 3600000, false,
        "a hall that has not applied a sent version gets it again after this"),
    CFG("http_hosts", HB_CONF_LIST, http_hosts, NULL, 0, HQ_AUTH_HOSTS_MAX, false,
        "a name the HTTP API answers to in Host, NAME or NAME:PORT (once per name; others get "
        "421); none: the http address, localhost, 127.0.0.1 and [::1], with its port",
        .optional = true, .meta = "NAME"),
    CFG("tls_cert", HB_CONF_STRING, tls_cert, NULL, 0, 0, false,
        "PEM certificate chain: the HTTP API speaks HTTPS (with tls_key)", .optional = true,
        .meta = "FILE"),
    CFG("tls_key", HB_CONF_STRING, tls_key, NULL, 0, 0, false, "PEM private key of tls_cert",
        .optional = true, .meta = "FILE"),
    CFG("insecure_http", HB_CONF_BOOL, insecure_http, "false", 0, 0, false,
        "serve plain HTTP on an address other than loopback (passwords and tokens in clear; "
        "logged at every start)"),
    CFG("session_idle", HB_CONF_DURATION, session_idle_ms, "30m", 60000, 7LL * 86400000, false,
        "a browser session unused this long ends", .at_most = "session_max"),
    CFG("session_max", HB_CONF_DURATION, session_max_ms, "12h", 60000, 30LL * 86400000, false,
        "a browser session ends this long after sign-in"),
    CFG("login_per_second", HB_CONF_INT, login_per_second, "10", 1, 1000, false,
        "password checks started per second at most (each is about 80 ms of Argon2id on a core of "
        "libuv's thread pool; more get 429)"),
    CFG("audit_retention", HB_CONF_DURATION, audit_retention_ms, "400d", 86400000,
        36500LL * 86400000, false, "audit records are kept this long"),
    CFG("audit_max", HB_CONF_INT, audit_max, "10000000", 1000, 1000000000, false,
        "audit records kept at most (the oldest go first)"),
};
#define NDEFS (sizeof s_defs / sizeof s_defs[0])

static hqd_t s_hq;

/* What the table cannot say: a certificate goes with its key, and plain
 * HTTP off loopback is asked for by name. */
static int s_check(const void *cfgp, char *err, size_t errlen)
{
    const hqd_config_t *cfg = cfgp;
    if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL)) {
        hb_errf(err, errlen, "tls_cert and tls_key go together (%s is missing)",
                cfg->tls_cert ? "tls_key" : "tls_cert");
        return HB_EINVAL;
    }
    if (!cfg->tls_cert && !cfg->insecure_http && !hb_http_listen_is_loopback(cfg->http)) {
        hb_errf(err, errlen,
                "http %s is not a loopback address and there is no TLS: give tls_cert and "
                "tls_key, or --insecure_http to serve passwords and tokens in clear anyway",
                cfg->http);
        return HB_EINVAL;
    }
    return 0;
}

static int s_ensure_keys(hqd_t *hq)
{
    char path[4096], err[256];
    if (hb_mkdir_p(hq->cfg.keys, 0750) != 0) {
        hb_error("cannot create the key folder %s: %s", hq->cfg.keys, strerror(errno));
        return HB_EIO;
    }
    snprintf(path, sizeof path, "%s/halls", hq->cfg.keys);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        hb_error("cannot create %s: %s", path, strerror(errno));
        return HB_EIO;
    }
    snprintf(path, sizeof path, "%s/hq.key", hq->cfg.keys);
    int rc = hb_cert_load(path, &hq->cert, err, sizeof err);
    if (rc == HB_ENOTFOUND) {
        if (hb_cert_generate(&hq->cert) != 0 || hb_cert_set_meta(&hq->cert, "role", "hq") != 0 ||
            hb_cert_save(&hq->cert, path, true) != 0) {
            hb_error("cannot create HQ's key pair in %s", path);
            return HB_EIO;
        }
        hb_info("created HQ's key pair %s (give %s to enrolled halls)", path, path);
        return 0;
    }
    if (rc != 0) {
        hb_error("cannot read HQ's key pair %s: %s", path, err);
        return rc;
    }
    if (!hq->cert.secret_key[0]) {
        hb_error("%s_secret is missing: HQ needs its secret key", path);
        return HB_EAUTH;
    }
    return 0;
}

/* hq.key carries HQ's signing key as metadata, so that a hall holding
 * hq.key can check the certificate it was given. */
static int s_publish_signing_key(hqd_t *hq)
{
    const char *want = hq_enrol_signing_key(hq->enrol),
               *have = hb_cert_meta(&hq->cert, "signing-key");
    if (have && strcmp(have, want) == 0)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/hq.key", hq->cfg.keys);
    if (hb_cert_set_meta(&hq->cert, "signing-key", want) != 0 ||
        hb_cert_save(&hq->cert, path, true) != 0) {
        hb_error("cannot write HQ's signing key into %s", path);
        return HB_EIO;
    }
    return 0;
}

typedef struct load_ctx {
    hqd_t *hq;
    HB_VEC(hq_hall_record_t) recs;
} load_ctx_t;

static void s_load_hall(const hq_hall_record_t *rec, void *arg)
{
    load_ctx_t *c = arg;
    if (!hq_halls_load(c->hq->halls, rec)) {
        hb_error("hall %s: cannot load its record (number %u)", rec->id, rec->num);
        return;
    }
    hq_hall_record_t *slot = hb_vec_push(&c->recs);
    if (slot)
        *slot = *rec;
}

static void s_on_commit(const hq_commit_t *commits, size_t n, void *arg)
{
    hqd_t *hq = arg;
    if (hq->ingest)
        hq_ingest_on_commit(hq->ingest, commits, n);
}

/* The loop's rounds (the alerts', the board's and the rollout's) run in
 * steps of about this long, with the loop polling (frames read, acks sent,
 * requests answered) between them. A whole board round with 1,000 busy
 * halls held the loop 9-15 ms, the ack tail at 20k events/s; at 2,000
 * halls the alert round (1-5 ms) and the rollout's look at every hall
 * (1-11 ms), run whole from the housekeeping tick, held it together once a
 * second, the tail of GET /v1/regions (docs/OPERATIONS.md). */
#define HQD_STEP_MS 1.0

enum { ROUND_ALERTS, ROUND_BOARD, ROUND_ROLLOUT, ROUNDS };

/* The rounds begun and not finished, each stepped in turn, the alerts
 * first (the board shows their counts), by an idle handle: it runs once
 * per loop turn with a poll between. A zero-timeout timer restarted from
 * its own callback does not: libuv 1.44 (Debian 12) runs it again in the
 * same pass over the timers, so every step of a round ran back to back in
 * one turn (5.7-6 ms of the loop's CPU at 1,000 halls, docs/OPERATIONS.md). */
static uv_idle_t s_steps;
static bool s_steps_on;
static bool s_round_on[ROUNDS];
static double s_alert_work_ms; /* the alert round's steps so far */

static void s_step(uv_idle_t *t)
{
    hqd_t *hq = t->data;
    int r = 0;
    while (r < ROUNDS && !s_round_on[r])
        r++;
    if (r == ROUNDS) {
        uv_idle_stop(t);
        return;
    }
    int64_t t0 = hb_mono_ns();
    bool more;
    if (r == ROUND_ALERTS)
        more = hq_alerting_step(hq->alerting, HQD_STEP_MS);
    else if (r == ROUND_BOARD)
        more = hq_board_step(hq->board, HQD_STEP_MS);
    else
        more = hq->downlink && hq_downlink_step(hq->downlink, HQD_STEP_MS);
    s_round_on[r] = more;
    double ms = (double)(hb_mono_ns() - t0) / 1e6;
    if (r == ROUND_ALERTS) {
        /* As the board's: the last round's work, the longest step. */
        s_alert_work_ms += ms;
        if (!more) {
            hq->alert_round_ms = s_alert_work_ms;
            s_alert_work_ms = 0;
        }
        if (ms > hq->alert_round_max_ms)
            hq->alert_round_max_ms = ms;
        hb_histogram_observe(&hq->hist.alert_round, ms / 1e3);
    } else if (r == ROUND_BOARD) {
        if (ms > hq->board_round_max_ms)
            hq->board_round_max_ms = ms;
        hb_histogram_observe(&hq->hist.board_round, ms / 1e3);
    }
}

/* Round `r` begins (or goes on, if its last has steps left). */
static void s_round_begin(int r)
{
    s_round_on[r] = true;
    if (s_steps_on && !uv_is_active((uv_handle_t *)&s_steps))
        uv_idle_start(&s_steps, s_step);
}

/* Chore, every tick: a round of alerts and of the board (in steps: their
 * `alert_round` and `board_round` figures are the steps'), and the
 * neighbour boards. */
static void s_board_round(void *arg)
{
    hqd_t *hq = arg;
    s_round_begin(ROUND_ALERTS);
    s_round_begin(ROUND_BOARD);
    hq_neighbours_tick(hq->neighbours);
}

/* Runs on the writer thread: stored batches go on to the rollups (copies,
 * as far as their queue has room) and to the live mirror (which takes
 * them). */
static void s_on_committed(hq_write_item_t *items, void *arg)
{
    hqd_t *hq = arg;
    if (hq->rollup)
        hq_rollup_offer(hq->rollup, items);
    hq_live_submit(hq->live, items);
}

/* The rollups' table of every hall's effective policy (its zone and posted
 * hours), built on the loop thread, which owns the control plane. */
static hq_rollup_policies_t *s_rollup_policies(hqd_t *hq)
{
    hq->rollup_policy_gen = hq_control_policy_generation(hq->control);
    hq->rollup_org_gen = hq_control_org_generation(hq->control);
    return hq_rollup_policies_build(hq->control);
}

/* Chore, every tick: a new policy table when a publish or the organisation
 * changed what halls run (two numbers compared when nothing did). */
static void s_rollup_round(void *arg)
{
    hqd_t *hq = arg;
    if (!hq->rollup || (hq->rollup_policy_gen == hq_control_policy_generation(hq->control) &&
                        hq->rollup_org_gen == hq_control_org_generation(hq->control)))
        return;
    hq_rollup_policies_t *t = s_rollup_policies(hq);
    if (t)
        hq_rollup_set_policies(hq->rollup, &t);
}

/* Chore, every 5 s: HQ's own alerts, the data's disk and the event
 * store's map. */
static void s_disk_round(void *arg)
{
    hqd_t *hq = arg;
    alerts_room_t rooms[2];
    size_t n = 0;
    uint64_t total, avail;
    if (hq_disk_space(hq->cfg.data, &total, &avail) == 0)
        rooms[n++] = (alerts_room_t){"disk", total, avail};
    uint64_t used = hb_store_size(&hq->store.store);
    if (hq->store.store.map_max > used)
        rooms[n++] = (alerts_room_t){"event_store_map", hq->store.store.map_max,
                                     hq->store.store.map_max - used};
    alert_set_t set;
    set.n = set.dropped = 0;
    if (hq->cfg.disk_alert_free > 0)
        alerts_eval_room(rooms, n, hq->cfg.disk_alert_free, &set);
    hq_alerting_self(hq->alerting, &set);
}

/* Chore, every second: documents due to halls, alerts due to people. */
static void s_downlink_round(void *arg)
{
    hqd_t *hq = arg;
    if (hq->downlink)
        s_round_begin(ROUND_ROLLOUT);
    if (hq->notify)
        hq_notify_tick(hq->notify, hb_now_ms());
}

static void s_on_alert_change(const alert_change_t *ch, int severity, void *arg)
{
    hq_notify_on_change(arg, ch, severity);
}

#define HQD_NOTICES_MAX 64 /* notices sent to one hall's page, at most */

/* A hall's notices (hq_notify_hall_notices' answer) down its link as a
 * HallNotices frame; the strings point into `notices` for the send. */
static void s_send_notices(const char *hall, const json_t *notices, void *arg)
{
    hqd_t *hq = arg;
    hq_hall_t *h = hq_halls_find(hq->halls, hall);
    if (!h)
        return;
    Hallbus__HallNotice items[HQD_NOTICES_MAX], *ptrs[HQD_NOTICES_MAX];
    char *params[HQD_NOTICES_MAX];
    Hallbus__HallNotices hn = HALLBUS__HALL_NOTICES__INIT;
    hn.at_ms = hb_now_ms();
    json_t *arr = json_object_get(notices, "notices");
    size_t n = json_array_size(arr) < HQD_NOTICES_MAX ? json_array_size(arr) : HQD_NOTICES_MAX;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        Hallbus__HallNotice *x = &items[i];
        hallbus__hall_notice__init(x);
        x->alert = (uint64_t)json_integer_value(json_object_get(o, "alert"));
        x->kind = (char *)json_string_value(json_object_get(o, "kind"));
        params[i] = json_dumps(json_object_get(o, "params"), JSON_COMPACT);
        x->params_json = params[i] ? params[i] : (char *)"{}";
        x->severity = (char *)json_string_value(json_object_get(o, "severity"));
        x->level = (char *)json_string_value(json_object_get(o, "level"));
        x->text_zh = (char *)json_string_value(json_object_get(o, "text_zh"));
        x->text_en = (char *)json_string_value(json_object_get(o, "text_en"));
        hb_time_parse(json_string_value(json_object_get(o, "raised")), &x->raised_ms);
        x->acknowledged = json_is_true(json_object_get(o, "acknowledged"));
        ptrs[i] = x;
    }
    hn.n_notices = n;
    hn.notices = ptrs;
    int rc = hq_ingest_send_notices(hq->ingest, h, &hn);
    if (rc != 0 && rc != HB_ENOTFOUND)
        hb_log_once("notices-send", HB_LOG_WARN, "notify: cannot send hall %s its notices: %s",
                    hall, hb_strerror(rc));
    for (size_t i = 0; i < n; i++)
        free(params[i]);
}

/* A hall's Hello: the downlink sends what it lacks, and its notices go
 * down again. */
static void s_on_hello(void *arg, hq_hall_t *hall)
{
    hqd_t *hq = arg;
    hq_downlink_on_hello(hq->downlink, hall);
    if (hq->notify)
        hq_notify_hall_hello(hq->notify, hall->id);
}

/* Chore, every tick: bookings whose hall did not answer in time. */
static void s_bookings_round(void *arg)
{
    hqd_t *hq = arg;
    if (hq->bookings)
        hq_bookings_tick(hq->bookings);
}

/* Chore, every minute: readers left by killed processes, expired alerts. */
static void s_store_round(void *arg)
{
    hqd_t *hq = arg;
    hb_store_reader_check(&hq->store.store);
    hq_alerting_prune(hq->alerting);
}

/* Chore, every tick: access control's generation (a revoked token or a
 * removed person closes their streams), audit records and last uses due. */
static void s_auth_round(void *arg)
{
    hqd_t *hq = arg;
    if (hq->auth)
        hq_auth_tick(hq->auth, hq->sse);
}

/* Chore, every minute: sessions that ended, the audit log's retention. */
static void s_auth_prune(void *arg)
{
    hqd_t *hq = arg;
    if (hq->auth)
        hq_auth_prune(hq->auth, hq->sse);
}

static const hb_chore_t s_chores[] = {
    {"board", HQD_TICK_MS, s_board_round},
    {"auth", HQD_TICK_MS, s_auth_round},
    {"auth_prune", 60000, s_auth_prune},
    {"downlink", 1000, s_downlink_round},
    {"bookings", HQD_TICK_MS, s_bookings_round},
    {"rollups", HQD_TICK_MS, s_rollup_round},
    {"disk", 5000, s_disk_round},
    {"store", 60000, s_store_round},
};

/* SIGTERM/SIGINT: the parts that keep the loop running end. */
static void s_stop(void *arg)
{
    hqd_t *hq = arg;
    hq_ingest_destroy(&hq->ingest);
    hq_writer_stop(&hq->writer);
    if (s_steps_on) {
        s_steps_on = false;
        uv_close((uv_handle_t *)&s_steps, NULL);
    }
    hb_http_destroy(&hq->http);
    hq_sse_destroy(&hq->sse); /* after the server: its streams end first */
}

/* READY waits for the live mirror: until it is rebuilt, the board and the
 * API would show halls as they were at some point of the replay. */
static const char *s_starting(void *arg)
{
    hqd_t *hq = arg;
    hq_live_stats_t st;
    hq_live_get_stats(hq->live, &st);
    return st.rebuilding ? "rebuilding the live mirror" : NULL;
}

/* The manual page (hqd --help-man, hqd.8): its settings come from s_defs. */
static const hb_man_part_t s_man_parts[] = {
    {"FILES",
     "As the Debian package installs them:\n"
     "- /etc/hallbus/hqd.conf: the settings, written by the operator; hqd.service starts "
     "only once it exists. The package ships /etc/hallbus/hqd.conf.example (a conffile).\n"
     "- /var/lib/hallbus/hq: the data folder (LMDB: events, halls, live snapshots, alerts, "
     "the control plane), locked by hallbus.lock while hqd runs.\n"
     "- /var/lib/hallbus/hq-keys: hq.key and hq.key_secret (made on first start; give hq.key "
     "to halls) and halls/, one certificate per enrolled hall (kept with the data: a purge of "
     "the package keeps them).\n"
     "- /usr/share/hallbus/dashboard: the dashboard's files, served at /.\n"
     "- /lib/systemd/system/hqd.service: the unit; it runs hqd as the user hallbus.",
     NULL},
};

static const hb_man_t s_man = {
    .name = "hqd",
    .section = "8",
    .summary = "the hallbus head-office daemon",
    .synopsis = "hqd [--config FILE] [--NAME VALUE ...]\nhqd --help | --version",
    .description =
        "hqd is a hall network's head office. Every hall's branchd connects to it over ZeroMQ "
        "(CURVE-encrypted; only enrolled hall keys get in, and a hall's identity is its key). "
        "hqd stores each hall's event stream in LMDB, acknowledges what it committed, mirrors "
        "every hall's live state with the reducer the hall runs, raises and clears alerts, "
        "pushes policies and the campaign calendar down, and serves the dashboard, the JSON API, "
        "a stream of changes and /metrics over HTTP.\n"
        "\n"
        "It makes its key pair on first start. Halls are enrolled with hallctl enroll, which puts "
        "a hall's certificate into the key folder's halls/; hqd admits it without a restart, and "
        "removing it cuts the hall off within a second.",
    .parts = s_man_parts,
    .n_parts = sizeof s_man_parts / sizeof s_man_parts[0],
    .see_also = "branchd(8), hallctl(1), systemd.exec(5)",
};

static const hb_daemon_spec_t s_spec = {
    .name = "hqd",
    .defs = s_defs,
    .ndefs = NDEFS,
    .cfg = &s_hq.cfg,
    .check = s_check,
    .tick_ms = HQD_TICK_MS,
    .chores = s_chores,
    .n_chores = sizeof s_chores / sizeof s_chores[0],
    .stop = s_stop,
    .starting = s_starting,
    .man = &s_man,
    .arg = &s_hq,
};

static hb_daemon_t *s_daemon;

/* hqd's commands besides running the daemon: `hqd COMMAND ...`. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} s_commands[] = {
    {"users", hq_users_main},
    {"rollups", hq_cli_rollups},
    {"backup", hq_cli_backup},
};

int main(int argc, char **argv)
{
    hqd_t *hq = &s_hq;
    char err[512];
    if (argc > 1 && argv[1][0] != '-') {
        for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
            if (strcmp(argv[1], s_commands[i].name) == 0)
                return s_commands[i].run(argc - 1, argv + 1);
        fprintf(stderr,
                "hqd: no command '%s'; hqd runs the daemon; hqd users, hqd rollups "
                "rebuild and hqd backup are the others (--help says more)\n",
                argv[1]);
        return 2;
    }
    int rc = hb_daemon_start(&s_spec, argc, argv, &s_daemon);
    if (!s_daemon)
        return rc; /* --help, --version, bad settings, the data folder in use */
    hqd_histograms_init(&hq->hist);
    if (s_ensure_keys(hq) != 0)
        return 1;
    hq->started_ms = hb_now_ms();
    hq->loop = uv_default_loop();
    hq->zmq_ctx = zmq_ctx_new();
    zmq_ctx_set(hq->zmq_ctx, ZMQ_IO_THREADS, (int)hq->cfg.io_threads);
    zmq_ctx_set(hq->zmq_ctx, ZMQ_MAX_SOCKETS, 200000);

    /* The ZAP handler must answer before the CURVE socket accepts anyone:
     * without it libzmq lets any client key in. */
    hq_enrol_config_t ec = {.keys = hq->cfg.keys,
                            .hq = &hq->cert,
                            .validity_ms = hq->cfg.cert_validity_ms,
                            .overlap_ms = hq->cfg.rotate_overlap_ms,
                            .code_validity_ms = hq->cfg.enrol_code_validity_ms};
    if (hq_enrol_open(&ec, &hq->enrol, err, sizeof err) != 0) {
        hb_error("cannot open the enrolment store in %s: %s", hq->cfg.keys, err);
        return 1;
    }
    if (s_publish_signing_key(hq) != 0)
        return 1;
    char halls_dir[4096];
    snprintf(halls_dir, sizeof halls_dir, "%s/halls", hq->cfg.keys);
    if (hq_zap_start(hq->zmq_ctx, halls_dir, hq_enrol_signing_key(hq->enrol), &hq->zap) != 0) {
        hb_error("cannot start the ZAP handler; refusing to listen without it");
        return 1;
    }
    if (hq_store_open(&hq->store, hq->cfg.data, hq->cfg.map_size, hq->cfg.map_max) != 0)
        return 1;
    char ctl_dir[4096];
    snprintf(ctl_dir, sizeof ctl_dir, "%s/control", hq->cfg.data);
    if (hq_control_open(ctl_dir, &hq->control, err, sizeof err) != 0) {
        hb_error("cannot open the control plane in %s: %s", ctl_dir, err);
        return 1;
    }
    hq->halls = hq_halls_new();
    load_ctx_t lc = {.hq = hq, .recs = HB_VEC_INIT(HQ_HALLS_MAX)};
    uint32_t next_num = 1;
    if (!hq->halls || hq_store_load_halls(&hq->store, s_load_hall, &lc, &next_num) != 0) {
        hb_error("cannot load the halls' state from %s", hq->cfg.data);
        return 1;
    }
    hq_halls_set_next_num(hq->halls, next_num);
    hb_info("%zu hall(s) known", lc.recs.n);
    char live_dir[4096];
    snprintf(live_dir, sizeof live_dir, "%s/live", hq->cfg.data);
    hq->trend = hq_trend_new();
    if (!hq->trend) {
        hb_error("no memory for the halls' trends");
        return 1;
    }
    hq_live_config_t lcfg = {.snapshot_dir = live_dir,
                             .max_queue_bytes = (size_t)hq->cfg.queue_bytes,
                             .snapshot_events = (uint64_t)hq->cfg.mirror_snapshot_events,
                             .snapshot_ms = hq->cfg.mirror_snapshot_ms,
                             .trend = hq->trend};
    if (hq_live_start(&hq->store, lc.recs.v, lc.recs.n, &lcfg, &hq->live) != 0) {
        hb_error("cannot start the live mirror");
        return 1;
    }
    if (hq->cfg.rollups) {
        char ru_dir[4096];
        snprintf(ru_dir, sizeof ru_dir, "%s/rollups", hq->cfg.data);
        hq_rollup_config_t rcfg;
        hq_rollup_config_default(&rcfg);
        rcfg.dir = ru_dir;
        rcfg.lag = &hq->hist.rollup_lag;
        rcfg.max_queue_bytes = (size_t)hq->cfg.rollup_queue_bytes;
        rcfg.commit_ms = hq->cfg.rollup_commit_ms;
        rcfg.snapshot_ms = hq->cfg.rollup_save_ms;
        rcfg.retention.raw_ms = hq->cfg.retention_raw_ms;
        rcfg.retention.rollups_ms = hq->cfg.retention_rollups_ms;
        rcfg.retention.every_ms = hq->cfg.retention_every_ms;
        hq_rollup_policies_t *pol = s_rollup_policies(hq);
        rc = hq_rollup_start(&hq->store, lc.recs.v, lc.recs.n, &rcfg, &pol, &hq->rollup);
        hq_rollup_policies_destroy(&pol);
        if (rc != 0) {
            hb_error("cannot start the rollups in %s: %s", ru_dir, hb_strerror(rc));
            return 1;
        }
    }
    rc = hq_writer_start(&hq->store, hq->loop, lc.recs.v, lc.recs.n, next_num,
                         (size_t)hq->cfg.queue_bytes, s_on_commit, hq, &hq->writer);
    hb_vec_free(&lc.recs);
    if (rc != 0)
        return 1;
    hq_writer_set_fold(hq->writer, (int)hq->cfg.fold_ms, 0, hq->cfg.log_max_bytes);
    hq_writer_set_sink(hq->writer, s_on_committed, hq);
    hq_ingest_config_t icfg = {
        .listen = hq->cfg.listen,
        .hq = &hq->cert,
        .max_frame = (int64_t)hq->cfg.max_frame,
        .max_batch = (uint32_t)hq->cfg.max_batch,
        .heartbeat_ms = hq->cfg.heartbeat_ms,
        .offline_after_ms = hq->cfg.offline_after_ms,
        .max_future_ms = hq->cfg.max_future_ms,
        .store = &hq->store,
        .zap = hq->zap,
    };
    if (hq_ingest_new(hq->loop, hq->zmq_ctx, hq->halls, hq->writer, &icfg, &hq->ingest) != 0)
        return 1;
    hq_downlink_config_t dcfg = {.per_tick = (uint32_t)hq->cfg.rollout_per_tick,
                                 .resend_ms = hq->cfg.rollout_resend_ms};
    if (hq_downlink_new(hq->control, hq->ingest, hq->halls, hq->live, &dcfg, &hq->downlink) != 0)
        return 1;
    hq_ingest_set_hello_hook(hq->ingest, s_on_hello, hq);
    if (hq_bookings_new(hq->ingest, hq->cfg.booking_timeout_ms, &hq->bookings) != 0)
        return 1;
    hq_ingest_set_booking_hook(hq->ingest, hq_bookings_on_answer, hq->bookings);
    hq_ingest_set_refusal_hook(hq->ingest, hq_downlink_on_refusal, hq->downlink);
    hq_ingest_set_rotate_hook(hq->ingest, hqd_enrol_link_rotation, hq);
    hq_sse_config_t scfg = {.ring_events = (size_t)hq->cfg.stream_ring,
                            .ring_bytes = 256u << 20,
                            .client_queue = 16u << 20,
                            .heartbeat_ms = 15000,
                            .max_clients = (size_t)hq->cfg.stream_clients};
    if (hq_sse_new(hq->loop, &scfg, &hq->sse) != 0 ||
        hq_board_new(hq->control, hq->halls, hq->ingest, hq->live, hq->sse, &hq->board) != 0)
        return 1;
    hq_board_set_trend(hq->board, hq->trend);
    uv_idle_init(hq->loop, &s_steps);
    s_steps.data = hq;
    s_steps_on = true;
    hq_neighbours_config_t ncfg = {.interval_ms = hq->cfg.neighbours_ms,
                                   .refresh_ms = 5 * hq->cfg.neighbours_ms};
    if (hq_neighbours_new(hq->control, hq->halls, hq->ingest, hq->board, &ncfg, &hq->neighbours) !=
        0)
        return 1;
    char alerts_dir[4096];
    snprintf(alerts_dir, sizeof alerts_dir, "%s/alerts", hq->cfg.data);
    hq_alerting_config_t acfg = {
        .dir = alerts_dir,
        .params = {.offline_grace_s = hq->cfg.alert_offline_grace_ms / 1000,
                   .no_counter_grace_s = hq->cfg.alert_no_counter_grace_ms / 1000,
                   .clock_skew_s = hq->cfg.alert_clock_skew_ms / 1000,
                   .anomaly_hold_s = hq->cfg.alert_anomaly_hold_ms / 1000,
                   .disk_full_hold_s = hq->cfg.alert_disk_full_hold_ms / 1000,
                   .cert_expiry_warn_s = hq->cfg.cert_expiry_warn_ms / 1000},
        .retention_ms = hq->cfg.alert_retention_ms,
        .rounds_per_second = 4,
        .store = &hq->store,
        .downlink = hq->downlink,
        .zap = hq->zap,
    };
    if (hq_alerting_new(&acfg, hq->control, hq->halls, hq->ingest, hq->live, hq->board, hq->sse,
                        &hq->alerting, err, sizeof err) != 0) {
        hb_error("cannot open the alert store in %s: %s", alerts_dir, err);
        return 1;
    }
    char notify_dir[4096];
    snprintf(notify_dir, sizeof notify_dir, "%s/notify", hq->cfg.data);
    hq_notify_config_t ncfg_n = {.dir = notify_dir,
                                 .escalate_after_ms = hq->cfg.notify_escalate_after_ms,
                                 .queue_max = (size_t)hq->cfg.notify_queue,
                                 .senders = (int)hq->cfg.notify_senders,
                                 .attempts_max = (int)hq->cfg.notify_attempts,
                                 .retry_first_ms = hq->cfg.notify_retry_first_ms,
                                 .retry_max_ms = hq->cfg.notify_retry_max_ms,
                                 .timeout_ms = hq->cfg.notify_timeout_ms,
                                 .deliveries_max = (uint64_t)hq->cfg.notify_deliveries_kept,
                                 .smtp_url = hq->cfg.smtp_url,
                                 .smtp_from = hq->cfg.smtp_from,
                                 .external_url = hq->cfg.external_url};
    if (hq_notify_new(&ncfg_n, hq->control, hq_alerting_store(hq->alerting), &hq->notify, err,
                      sizeof err) != 0) {
        hb_error("cannot start the notifier in %s: %s", notify_dir, err);
        return 1;
    }
    hq_alerting_set_listener(hq->alerting, s_on_alert_change, hq->notify);
    hq_notify_set_notices_sink(hq->notify, s_send_notices, hq);
    if (HB_HTTP_OPEN(hq->loop, hq->cfg.http, &hq->cfg, &hq->http) == HB_EINVAL)
        return 2;
    if (!hq->http || hqd_api_register(hq) != 0) {
        hb_error("cannot serve the HTTP API on %s", hq->cfg.http);
        return 1;
    }
    if (hq->cfg.tls_cert &&
        hb_http_set_tls(hq->http, hq->cfg.tls_cert, hq->cfg.tls_key, err, sizeof err) != 0) {
        hb_error("cannot serve HTTPS: %s", err);
        return 1;
    }
    if (!hq->cfg.tls_cert && !hb_http_listen_is_loopback(hq->cfg.http))
        hb_warn("the HTTP API on %s is plain HTTP off loopback (insecure_http): passwords, "
                "tokens and session cookies cross the network in clear",
                hq->cfg.http);
    char auth_dir[4096];
    snprintf(auth_dir, sizeof auth_dir, "%s/auth", hq->cfg.data);
    hq_auth_config_t authcfg = {.loop = hq->loop,
                                .dir = auth_dir,
                                .listen = hq->cfg.http,
                                .port = hb_http_port(hq->http),
                                .hosts = hq->cfg.http_hosts.items,
                                .n_hosts = hq->cfg.http_hosts.n,
                                .tls = hb_http_tls(hq->http),
                                .session_idle_ms = hq->cfg.session_idle_ms,
                                .session_max_ms = hq->cfg.session_max_ms,
                                .login_per_second = hq->cfg.login_per_second,
                                .audit_retention_ms = hq->cfg.audit_retention_ms,
                                .audit_max = (uint64_t)hq->cfg.audit_max};
    if (hq_auth_new(&authcfg, hq->control, &hq->auth, err, sizeof err) != 0) {
        hb_error("cannot start access control: %s", err);
        return 1;
    }
    hb_http_set_guard(hq->http, hq_auth_guard, hq->auth);
    hb_http_set_after(hq->http, hq_auth_after, hq->auth);
    /* Without its files hqd still runs: the API is what halls and tools
     * need, and / then answers why there is no dashboard. */
    rc = hb_static_open(hq->cfg.dashboard, "dashboard", &hq->dashboard, err, sizeof err);
    if (rc == HB_ENOMEM || !hq->dashboard) {
        hb_error("cannot serve the dashboard");
        return 1;
    }
    if (rc != 0)
        hb_warn("no dashboard at /: %s", err);
    else
        hb_info("dashboard: %zu file(s) from %s", hb_static_count(hq->dashboard),
                hq->cfg.dashboard);
    /* The charts are the reports view's only; without them it still
     * shows its tables. */
    if (rc == 0 && hq->cfg.chartjs && hq->cfg.chartjs[0]) {
        rc = hb_static_add(hq->dashboard, "chart.min.js", hq->cfg.chartjs, err, sizeof err);
        if (rc == HB_ENOMEM) {
            hb_error("cannot serve the dashboard");
            return 1;
        }
        if (rc != 0)
            hb_warn("the reports view has no charts: %s (install libjs-chart.js, or set "
                    "chartjs)",
                    err);
    }
    /* index.html, written for each person (api/page.c); the files keep
     * one policy: scripts from hqd only, none inline. */
    if (hb_static_set_csp(hq->dashboard, HQD_PAGE_CSP) != 0 ||
        hqd_page_new(hq->dashboard, &hq->page) != 0) {
        hb_error("cannot serve the dashboard");
        return 1;
    }
    hb_info("ready: halls connect to %s, API on %s", hq_ingest_endpoint(hq->ingest), hq->cfg.http);
    hb_daemon_run(s_daemon, hq->loop);
    hq_zap_stop(&hq->zap);
    hq_enrol_close(&hq->enrol);
    hq_live_stop(&hq->live);     /* after the writer, whose last batches it takes */
    hq_rollup_stop(&hq->rollup); /* likewise; it reads the store, closed below */
    hq_downlink_destroy(&hq->downlink);
    hq_bookings_destroy(&hq->bookings);
    hq_neighbours_destroy(&hq->neighbours);
    hq_notify_destroy(&hq->notify); /* before the alert store it reads */
    hq_alerting_destroy(&hq->alerting);
    hq_board_destroy(&hq->board);
    hq_trend_destroy(&hq->trend); /* after the mirror and the board, which tell it */
    hq_control_close(&hq->control);
    hq_store_close(&hq->store);
    hq_halls_destroy(&hq->halls);
    hqd_page_destroy(&hq->page);
    hb_static_destroy(&hq->dashboard); /* the server that served it is gone */
    hq_auth_destroy(&hq->auth);        /* after the server and the streams */
    zmq_ctx_term(hq->zmq_ctx);
    hb_daemon_destroy(&s_daemon);
    hb_info("stopped");
    return 0;
}
