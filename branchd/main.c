/* branchd: the daemon every hall runs unattended. Reads its settings (one
 * table below: file and command line), opens the outbox and the access
 * store, connects the uplink, serves the local API behind its guard, and
 * runs one housekeeping timer for every periodic chore (the chores' table
 * follows the settings; the timer, the signals and systemd are
 * common/base/daemon.c's). `branchd devices` and `branchd staff` are
 * commands of access/cli.c instead of the daemon. SIGTERM/SIGINT stop it
 * cleanly; SIGHUP reloads what may be reloaded. A crash at any point loses
 * nothing: the outbox is the truth. */
#include "branchd.h"
#include "enrol.h"
#include "notices.h"

#include "hallbus/config.h"
#include "hallbus/daemon.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/manpage.h"
#include "hallbus/store.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"
#include "hallbus/version.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/* The housekeeping timer's tick: the uplink's pace; the other chores run
 * every N ticks. */
#define TICK_MS 100

#define CFG(...) HB_CONF_ROW(branchd_config_t, __VA_ARGS__)

static const hb_config_def_t s_defs[] = {
    HB_DAEMON_CONFIG_ROW(branchd_config_t),
    CFG("id", HB_CONF_STRING, id, NULL, 0, 0, false, "hall id, as enrolled at HQ"),
    CFG("data", HB_CONF_STRING, data, NULL, 0, 0, false, "data folder (outbox LMDB)"),
    CFG("hq", HB_CONF_STRING, hq, NULL, 0, 0, false, "HQ endpoint, e.g. tcp://hq:7400"),
    CFG("keys", HB_CONF_STRING, keys, NULL, 0, 0, false,
        "key folder: hall.key (the hall's certificate), hall.key_secret, hq.key (from branchd "
        "enroll and hallctl enroll install)"),
    CFG("http", HB_CONF_STRING, http, "127.0.0.1:8100", 0, 0, false, "local API HOST:PORT"),
    HB_DAEMON_LOG_LEVEL_ROW(branchd_config_t),
    CFG("window", HB_CONF_INT, window, "4096", 1, 1000000, false,
        "most events sent to HQ and not yet acknowledged"),
    CFG("batch_max", HB_CONF_INT, batch_max, "512", 1, 1024, false, "most events in one batch"),
    /* Below HB_FRAME_MAX with room for the per-event framing. */
    CFG("batch_bytes", HB_CONF_SIZE, batch_bytes, "256K", 4096, 768 << 10, false,
        "about this many bytes in one batch at most"),
    /* Sized for a head office of 100,000 halls (docs/OPERATIONS.md, issue
     * 17): HQ answers each heartbeat, so HQ is silent for link_timeout
     * only when about three heartbeats went unanswered. */
    CFG("heartbeat", HB_CONF_DURATION, heartbeat_ms, "15s", 100, 600000, false,
        "heartbeat interval on an idle link", .at_most = "link_timeout"),
    CFG("link_timeout", HB_CONF_DURATION, link_timeout_ms, "45s", 500, 600000, false,
        "HQ silent this long: the link is down, say Hello again"),
    CFG("reconnect_min", HB_CONF_DURATION, reconnect_min_ms, "500ms", 10, 60000, false,
        "first reconnect wait (randomised per hall)", .at_most = "reconnect_max"),
    CFG("reconnect_max", HB_CONF_DURATION, reconnect_max_ms, "30s", 100, 3600000, false,
        "longest reconnect wait (randomised per hall)"),
    CFG("refused_retry_max", HB_CONF_DURATION, refused_retry_max_ms, "5m", 1000, 86400000, false,
        "longest wait between tries after HQ refused this hall's key (the wait grows from 1 s)"),
    CFG("clock_skew_warn", HB_CONF_DURATION, clock_skew_warn_ms, "2m", 1000, 86400000, false,
        "HQ's clock this far from the hall's is logged as a warning"),
    CFG("retention", HB_CONF_DURATION, retention_ms, "7d", 0, 3650LL * 86400000, true,
        "keep acknowledged events locally this long"),
    HB_STORE_CONF_ROWS(branchd_config_t, "64M", 1LL << 40, "64G", 1LL << 44),
    HB_HTTP_CONF_ROWS(branchd_config_t, "local API", "1024"),
    CFG("max_events_per_post", HB_CONF_INT, max_events_per_post, "1000", 1, 100000, false,
        "most events in one POST /v1/events"),
    CFG("max_future", HB_CONF_DURATION, max_future_ms, "5m", 0, 86400000, false,
        "an event's 'at' may be at most this far ahead of the hall's clock"),
    CFG("services", HB_CONF_STRING, services, "A:A:15m:General services", 0, 0, false,
        "the hall's services: CODE:PREFIX:SLA:Name entries separated by ';'"),
    CFG("policy_file", HB_CONF_STRING, policy_file, "", 0, 0, false,
        "JSON policy the hall runs on until HQ sends one (docs/POLICY.md); empty: built-in"),
    CFG("priority_ratio", HB_CONF_INT, priority_ratio, "2", 1, 100, false,
        "priority tickets called in a row before a waiting normal ticket's turn"),
    CFG("priority_order", HB_CONF_STRING, priority_order, "elderly,appointment,vip", 0, 0, false,
        "priority tickets by rank, highest first"),
    CFG("ageing", HB_CONF_DURATION, ageing_ms, "20m", 60000, 86400000, false,
        "a ticket waiting this long is called first, whatever its priority"),
    CFG("max_recalls", HB_CONF_INT, max_recalls, "2", 0, 20, false,
        "recalls of a called ticket before it becomes a no-show"),
    CFG("max_waiting", HB_CONF_INT, max_waiting, "2000", 1, HB_HS_TICKETS_MAX, false,
        "live tickets at most; new tickets are refused past it"),
    CFG("snapshot_every", HB_CONF_DURATION, snapshot_every_ms, "30s", 1000, 3600000, false,
        "how often the hall's state is snapshotted (restart replays events after it)"),
    CFG("local_trust", HB_CONF_BOOL, local_trust, "false", 0, 0, false,
        "a loopback caller without a token acts as the duty manager (hallctl on the hall "
        "machine); needs a loopback http address"),
    CFG("hall_name", HB_CONF_STRING, hall_name, "", 0, 0, false,
        "the hall's name for people (printed tickets, the status page); empty: the hall id"),
    CFG("public_url", HB_CONF_STRING, public_url, "", 0, 0, false,
        "the address customers' phones reach this API at, for ticket QR codes (e.g. "
        "http://hall.local:8100); empty: taken from each request's Host"),
    CFG("tls_cert", HB_CONF_STRING, tls_cert, "", 0, 0, false,
        "PEM certificate chain: the local API speaks HTTPS (with tls_key)"),
    CFG("tls_key", HB_CONF_STRING, tls_key, "", 0, 0, false, "the certificate's PEM private key"),
    CFG("pin_lock", HB_CONF_DURATION, pin_lock_ms, "5m", 1000, 86400000, false,
        "how long a staff id (or a counter terminal) stays locked after too many wrong PINs"),
    /* A year's certificate rotates a month ahead: time for a hall that is
     * offline for weeks to come back and still rotate by itself. */
    CFG("rotate_before", HB_CONF_DURATION, rotate_before_ms, "30d", 0, 365LL * 86400000, false,
        "the hall asks HQ for a new key's certificate over the link this long before its "
        "certificate expires (0: never by itself; as long as the certificate's life: at half "
        "its life)"),
    CFG("rotate_retry", HB_CONF_DURATION, rotate_retry_ms, "1m", 1000, 86400000, false,
        "first wait before asking again after HQ refused or did not answer a rotation request "
        "(doubles, up to an hour or this setting)"),
    CFG("pages", HB_CONF_STRING, pages, BRANCHD_PAGES_DIR, 0, 0, false,
        "folder of the hall's pages (kiosk, counter, display, manager), served at /kiosk, "
        "/counter/N, /rate/N, /display, /manager, /t/TICKET (read at start; \"\" serves none)"),
};
#define NDEFS (sizeof s_defs / sizeof s_defs[0])

static branchd_t s_d;
static hb_daemon_t *s_daemon;

static int s_load_keys(branchd_t *d)
{
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/hall.key", d->cfg.keys);
    if (hb_cert_load(path, &d->cert, err, sizeof err) != 0) {
        hb_error("cannot read the hall's key pair %s: %s", path, err);
        return HB_EAUTH;
    }
    if (!d->cert.secret_key[0]) {
        hb_error("%s_secret is missing: the hall needs its secret key", path);
        return HB_EAUTH;
    }
    const char *id = hb_cert_meta(&d->cert, "hall");
    if (id && strcmp(id, d->cfg.id) != 0) {
        hb_error("the key in %s belongs to hall %s, not %s", path, id, d->cfg.id);
        return HB_EAUTH;
    }
    snprintf(path, sizeof path, "%s/hq.key", d->cfg.keys);
    if (hb_cert_load_public(path, &d->hq_cert, err, sizeof err) != 0) {
        hb_error("cannot read HQ's public key %s: %s", path, err);
        return HB_EAUTH;
    }
    return 0;
}

/* The policy the hall runs on before HQ sends one: the built-in defaults
 * under the local policy file, if any. A file that cannot be used is named
 * with the reason: unreadable, not JSON (where), or a rule refused. */
static int s_load_policy(branchd_t *d, hb_policy_t **out)
{
    const char *file = d->cfg.policy_file;
    json_t *doc = json_object();
    if (file && file[0]) {
        json_error_t jerr;
        json_decref(doc);
        doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc) {
            /* jansson gives no line for a file it could not read. */
            if (jerr.line < 1)
                hb_error("policy_file %s: cannot read it: %s", file, jerr.text);
            else
                hb_error("policy_file %s: not a JSON document: %s (line %d, column %d)", file,
                         jerr.text, jerr.line, jerr.column);
            return HB_EPARSE;
        }
    }
    char err[512];
    int rc = hb_policy_new(doc, out, err, sizeof err);
    json_decref(doc);
    if (rc != 0)
        hb_error("policy_file %s: refused: %s", file && file[0] ? file : "(built-in)", err);
    return rc;
}

static void s_on_append(void *arg)
{
    branchd_t *d = arg;
    if (d->uplink)
        uplink_notify(d->uplink);
    if (d->live)
        branchd_live_notify(d->live);
}

static int s_open_engine(branchd_t *d)
{
    engine_config_t ecfg;
    memset(&ecfg, 0, sizeof ecfg);
    char err[512];
    if (engine_parse_services(d->cfg.services, &ecfg, err, sizeof err) != 0) {
        hb_error("%s", err);
        return HB_EINVAL;
    }
    queue_rules_default(&ecfg.rules);
    if (queue_parse_order(d->cfg.priority_order, &ecfg.rules, err, sizeof err) != 0) {
        hb_error("%s", err);
        return HB_EINVAL;
    }
    ecfg.rules.ratio = (uint32_t)d->cfg.priority_ratio;
    ecfg.rules.ageing_ms = d->cfg.ageing_ms;
    ecfg.rules.max_recalls = (uint32_t)d->cfg.max_recalls;
    ecfg.max_waiting = (uint32_t)d->cfg.max_waiting;
    ecfg.snapshot_every_ms = d->cfg.snapshot_every_ms;
    hb_policy_t *policy = NULL;
    if (s_load_policy(d, &policy) != 0)
        return HB_EINVAL;
    if (engine_open(d->outbox, &ecfg, policy, s_on_append, d, &d->engine, err, sizeof err) != 0) {
        hb_error("the hall engine cannot start: %s", err);
        return HB_EDB;
    }
    return 0;
}

static void s_on_document(void *arg, bool calendar, uint64_t version, const uint8_t *doc,
                          size_t len)
{
    branchd_t *d = arg;
    char err[512];
    applier_refusal_t before, after;
    applier_refusal(d->applier, calendar, &before);
    if (applier_on_document(d->applier, calendar, version, doc, len, err, sizeof err) != 0)
        hb_log_once("downlink-refused", HB_LOG_WARN, "downlink: %s", err);
    /* HQ hears of a new refusal (or its end) now, not at the next idle
     * heartbeat, which a busy hall may not send for long. */
    applier_refusal(d->applier, calendar, &after);
    if (before.version != after.version || strcmp(before.reason, after.reason) != 0)
        uplink_heartbeat_soon(d->uplink);
}

static void s_refusal(void *arg, bool calendar, uint64_t *version, char *code, size_t code_len,
                      char *reason, size_t len)
{
    branchd_t *d = arg;
    applier_refusal_t r;
    applier_refusal(d->applier, calendar, &r);
    *version = r.version;
    hb_utf8_copy(code, code_len, r.code);
    hb_utf8_copy(reason, len, r.reason);
}

static void s_on_neighbours(void *arg, const Hallbus__NeighbourBoard *nb)
{
    branchd_t *d = arg;
    advice_board_take(&d->neighbours, nb, hb_mono_ms());
}

static void s_on_notices(void *arg, const Hallbus__HallNotices *hn)
{
    branchd_t *d = arg;
    json_t *n = notices_from_frame(hn);
    if (!n)
        return; /* out of memory: the last set stays until the next frame */
    json_decref(d->notices);
    d->notices = n;
}

static void s_on_booking(void *arg, const Hallbus__BookingRequest *rq)
{
    branchd_booking_from_hq(arg, rq);
}

static void s_versions(void *arg, uint64_t *policy, uint64_t *calendar)
{
    branchd_t *d = arg;
    *policy = applier_policy_version(d->applier);
    *calendar = applier_calendar_version(d->applier);
}

/* Chore, every tick: the uplink sends what is due and notices silence. */
static void s_uplink_round(void *arg)
{
    branchd_t *d = arg;
    uplink_tick(d->uplink);
}

/* Chore, every second: the engine's timers (SLA, recalls, the day), then
 * the ack persisted and what retention lets go pruned. */
static void s_second_round(void *arg)
{
    branchd_t *d = arg;
    engine_tick(d->engine);
    size_t pruned = 0;
    outbox_flush(d->outbox, hb_now_ms() - d->cfg.retention_ms, 10000, &pruned);
    if (pruned)
        hb_debug("pruned %zu acknowledged event(s)", pruned);
}

/* Chore, every minute: readers left by killed processes. */
static void s_reader_round(void *arg)
{
    branchd_t *d = arg;
    outbox_reader_check(d->outbox);
}

/* Chore, every second: the key rotates before its certificate expires. */
static void s_key_round(void *arg)
{
    branchd_t *d = arg;
    keyroll_tick(d->keyroll, &d->cert, d->uplink);
}

static void s_on_rotate_answer(void *arg, const Hallbus__RotateAnswer *a)
{
    branchd_t *d = arg;
    keyroll_on_answer(d->keyroll, a);
}

static void s_live_round(void *arg)
{
    branchd_t *d = arg;
    if (d->live)
        branchd_live_tick(d->live);
}

static const hb_chore_t s_chores[] = {
    {"uplink", TICK_MS, s_uplink_round}, {"engine", 1000, s_second_round},
    {"readers", 60000, s_reader_round},  {"live", 250, s_live_round},
    {"keys", 1000, s_key_round},
};

/* SIGTERM/SIGINT: the ack persisted, then the parts that keep the loop
 * running end. */
static void s_stop(void *arg)
{
    branchd_t *d = arg;
    outbox_flush(d->outbox, hb_now_ms() - d->cfg.retention_ms, 0, NULL);
    uplink_destroy(&d->uplink);
    hb_http_destroy(&d->http);
}

/* What the table cannot say about the settings. */
static int s_check(const void *cfg, char *err, size_t errlen)
{
    const branchd_config_t *c = cfg;
    if (!hb_hall_id_valid(c->id)) {
        hb_errf(err, errlen, "id '%s' is not a hall id ([A-Za-z0-9_-], 1 to 32)", c->id);
        return HB_EINVAL;
    }
    /* Trusting the caller's address means something on loopback only:
     * anywhere else a kiosk or a visitor's laptop could claim it. */
    if (c->local_trust && !hb_http_listen_is_loopback(c->http)) {
        hb_errf(err, errlen,
                "local_trust needs a loopback http address, and http = %s is not one: on the "
                "hall's network every device sends its token (`branchd devices add`)",
                c->http);
        return HB_EINVAL;
    }
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        hb_errf(err, errlen, "tls_cert and tls_key go together: give both, or neither");
        return HB_EINVAL;
    }
    return 0;
}

/* The local API's listener: its limits, TLS when configured, the routes
 * and the guard. Exit code 0, 1 or 2 as main's. */
static int s_serve(branchd_t *d)
{
    if (HB_HTTP_OPEN(d->loop, d->cfg.http, &d->cfg, &d->http) == HB_EINVAL)
        return 2;
    char err[512];
    if (d->http && d->cfg.tls_cert[0] &&
        hb_http_set_tls(d->http, d->cfg.tls_cert, d->cfg.tls_key, err, sizeof err) != 0) {
        hb_error("the local API cannot serve TLS: %s", err);
        return 1;
    }
    if (!d->http || branchd_api_register(d) != 0) {
        hb_error("cannot serve the local API on %s", d->cfg.http);
        return 1;
    }
    /* Without its pages the hall still runs: devices with their own
     * software use the API, and a page's path answers why there is none. */
    int rc = branchd_pages_open(d, err, sizeof err);
    if (rc == HB_ENOMEM)
        return 1;
    if (rc != 0)
        hb_warn("the hall's pages are not served: %s", err);
    else
        hb_info("hall pages: %zu file(s) from %s", hb_static_count(d->pages), d->cfg.pages);
    bool loopback = hb_http_listen_is_loopback(d->cfg.http);
    if (!loopback && !hb_http_tls(d->http))
        hb_warn("the local API listens on %s without TLS: device tokens cross the hall's "
                "network in clear (set tls_cert and tls_key)",
                d->cfg.http);
    hb_info("local API on %s: %s, %s", d->cfg.http, hb_http_tls(d->http) ? "HTTPS" : "HTTP",
            d->cfg.local_trust ? "device tokens, or none from this machine (local_trust)"
                               : "device tokens on every request");
    return 0;
}

/* The manual page (branchd --help-man, branchd.8): its settings come from
 * s_defs, its commands from access/cli.c's table. */
static const hb_man_part_t s_man_parts[] = {
    {"COMMANDS", NULL, access_cli_man},
    {"FILES",
     "As the Debian package installs them:\n"
     "- /etc/hallbus/branchd.conf: the settings (hallctl enroll writes a hall's own); "
     "branchd.service starts only once it exists. The package ships "
     "/etc/hallbus/branchd.conf.example (a conffile).\n"
     "- /var/lib/hallbus/hall-keys: hall.key, hall.key_secret and hq.key, from the "
     "enrolment (kept with the data: a purge of the package keeps them); hall.next.key and "
     "hall.next.key_secret while a rotation waits for HQ's certificate (branchd rotates by "
     "itself over its link rotate_before ahead of the certificate's expiry).\n"
     "- /var/lib/hallbus/outbox: the data folder (LMDB: the outbox, the hall's state, "
     "policies, paired devices and staff in access/), locked by hallbus.lock while branchd "
     "runs.\n"
     "- /lib/systemd/system/branchd.service: the unit; it runs branchd as the user hallbus.",
     NULL},
};

static const hb_man_t s_man = {
    .name = "branchd",
    .section = "8",
    .summary = "the hallbus hall daemon",
    .synopsis = "branchd [--config FILE] [--NAME VALUE ...]\n"
                "branchd devices|staff COMMAND [options]\nbranchd --help | --version",
    .description =
        "branchd runs unattended in every hall. It is the hall's queue and service system: "
        "kiosks, counter terminals, displays and the duty manager's tablet use its local HTTP "
        "API (each with a device token), and an existing queue system can feed it events. Every "
        "event is committed to the hall's outbox (LMDB, synced) before it is answered, and "
        "stays there until head office (hqd) has acknowledged its own commit of it; the link "
        "is ZeroMQ with CURVE, and it reconnects by itself with backoff and jitter.\n"
        "\n"
        "It applies the policies and the campaign calendar head office sends down, and keeps "
        "serving while head office is unreachable.",
    .parts = s_man_parts,
    .n_parts = sizeof s_man_parts / sizeof s_man_parts[0],
    .see_also = "hqd(8), hallctl(1), systemd.exec(5)",
};

/* A key installed by a rotation (hallctl enroll install, or keyroll.c by
 * itself) is taken up, and the link reconnects with it; the outbox resends
 * what HQ had not acknowledged, and HQ keeps each event once. */
static void s_take_keys(void *arg)
{
    branchd_t *d = arg;
    hb_cert_t was = d->cert, hq_was = d->hq_cert;
    if (s_load_keys(d) != 0) {
        d->cert = was; /* keep running on the keys in use */
        d->hq_cert = hq_was;
        return;
    }
    if (strcmp(was.public_key, d->cert.public_key) != 0 && d->uplink) {
        hb_info("the hall's key changed (%s, was %s): reconnecting to HQ with it",
                d->cert.public_key, was.public_key);
        uplink_reconnect(d->uplink);
    }
}

/* SIGHUP: what may be reloaded, and a key a person installed. */
static void s_reloaded(void *arg) { s_take_keys(arg); }

static const hb_daemon_spec_t s_spec = {
    .name = "branchd",
    .reloaded = s_reloaded,
    .defs = s_defs,
    .ndefs = NDEFS,
    .cfg = &s_d.cfg,
    .check = s_check,
    .tick_ms = TICK_MS,
    .chores = s_chores,
    .n_chores = sizeof s_chores / sizeof s_chores[0],
    .stop = s_stop,
    .man = &s_man,
    .arg = &s_d,
};

int main(int argc, char **argv)
{
    branchd_t *d = &s_d;
    /* `branchd devices ...`, `branchd staff ...`: a command, not the daemon. */
    int rc = access_cli_main(argc, argv);
    if (rc >= 0)
        return rc;
    /* `branchd enroll ...`, `branchd rotate ...`: the hall's own keys. */
    rc = branchd_enrol_cli_main(argc, argv);
    if (rc >= 0)
        return rc;
    rc = hb_daemon_start(&s_spec, argc, argv, &s_daemon);
    if (!s_daemon) {
        if (rc == 0 && argc == 2 && strcmp(argv[1], "--help") == 0)
            access_cli_usage(stdout);
        return rc; /* --help, --version, bad settings, the data folder in use */
    }
    /* The hall's id on every line, through reloads too. */
    char component[48];
    snprintf(component, sizeof component, "branchd/%s", d->cfg.id);
    hb_daemon_set_component(s_daemon, component);
    if (s_load_keys(d) != 0)
        return 1;
    srand((unsigned)(hb_now_ms() ^ (int64_t)getpid()));

    if (outbox_open(d->cfg.data, d->cfg.map_size, d->cfg.map_max, &d->outbox) != 0)
        return 1;
    char err[512];
    if (access_open(d->cfg.data, &d->access, err, sizeof err) != 0) {
        hb_error("%s", err);
        return 1;
    }
    access_set_pin_lock(d->access, d->cfg.pin_lock_ms);
    if (s_open_engine(d) != 0)
        return 1;
    if (applier_open(d->engine, d->outbox, d->access, d->cfg.id, &d->applier) != 0)
        return 1;
    d->loop = uv_default_loop();
    d->zmq_ctx = zmq_ctx_new();
    char software[64];
    snprintf(software, sizeof software, "branchd %s", hb_version());
    uplink_config_t ucfg = {
        .endpoint = d->cfg.hq,
        .hall = &d->cert,
        .hq_public = d->hq_cert.public_key,
        .window = (uint32_t)d->cfg.window,
        .batch_max = (uint32_t)d->cfg.batch_max,
        .batch_bytes = (uint32_t)d->cfg.batch_bytes,
        .heartbeat_ms = d->cfg.heartbeat_ms,
        .timeout_ms = d->cfg.link_timeout_ms,
        .reconnect_min_ms = d->cfg.reconnect_min_ms,
        .reconnect_max_ms = d->cfg.reconnect_max_ms,
        .refused_retry_max_ms = d->cfg.refused_retry_max_ms,
        .clock_skew_warn_ms = d->cfg.clock_skew_warn_ms,
        .max_frame = 1 << 20,
        .software = software,
        .on_document = s_on_document,
        .versions = s_versions,
        .refusal = s_refusal,
        .on_neighbours = s_on_neighbours,
        .on_notices = s_on_notices,
        .on_booking = s_on_booking,
        .on_rotate_answer = s_on_rotate_answer,
        .doc_arg = d,
    };
    keyroll_config_t kcfg = {
        .keys = d->cfg.keys,
        .rotate_before_ms = d->cfg.rotate_before_ms,
        .retry_ms = d->cfg.rotate_retry_ms,
        /* HQ answers at once; twice the link's timeout covers a slow disk. */
        .answer_timeout_ms = 2 * d->cfg.link_timeout_ms,
        .installed = s_take_keys,
        .arg = d,
    };
    if (keyroll_new(&kcfg, &d->keyroll) != 0)
        return 1;
    if (uplink_new(d->loop, d->zmq_ctx, d->outbox, &ucfg, &d->uplink) != 0)
        return 1;
    if (branchd_ticket_key_load(d) != 0) {
        hb_error("cannot make the ticket key in %s", d->cfg.data);
        return 1;
    }
    if (branchd_live_new(d, &d->live) != 0)
        return 1;
    rc = s_serve(d);
    if (rc != 0)
        return rc;
    hb_info("hall %s: outbox at %llu, HQ %s, local API on %s", d->cfg.id,
            (unsigned long long)outbox_last_seq(d->outbox), d->cfg.hq, d->cfg.http);
    hb_daemon_run(s_daemon, d->loop);
    applier_close(&d->applier);
    keyroll_destroy(&d->keyroll);
    /* After the loop: every stream has ended, its slot released. */
    branchd_live_destroy(&d->live);
    engine_close(&d->engine);
    access_close(&d->access);
    hb_static_destroy(&d->pages); /* the server that served them is gone */
    outbox_close(&d->outbox);
    json_decref(d->notices);
    d->notices = NULL;
    zmq_ctx_term(d->zmq_ctx);
    hb_daemon_destroy(&s_daemon);
    hb_info("stopped");
    return 0;
}
