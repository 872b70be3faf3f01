/* branchd: the daemon every hall runs unattended. Reads its settings (one
 * table below: file and command line), opens the outbox, connects the
 * uplink, serves the local API, and runs one housekeeping timer for every
 * periodic chore. SIGTERM/SIGINT stop it cleanly; SIGHUP reloads what may be
 * reloaded. A crash at any point loses nothing: the outbox is the truth. */
#include "branchd.h"

#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/sdnotify.h"
#include "hallbus/time.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <zmq.h>

#define BRANCHD_VERSION "branchd 0.1.0"
#define TICK_MS 100

#define CFG(name, type, field, def, min, max, reload, help)                                    \
    {name, type, offsetof(branchd_config_t, field), def, min, max, reload, help}

static const hb_config_def_t s_defs[] = {
    CFG("config", HB_CONF_STRING, config, NULL, 0, 0, false, "config file (--config)"),
    CFG("id", HB_CONF_STRING, id, NULL, 0, 0, false, "hall id, as enrolled at HQ"),
    CFG("data", HB_CONF_STRING, data, NULL, 0, 0, false, "data folder (outbox LMDB)"),
    CFG("hq", HB_CONF_STRING, hq, NULL, 0, 0, false, "HQ endpoint, e.g. tcp://hq:7400"),
    CFG("keys", HB_CONF_STRING, keys, NULL, 0, 0, false,
        "key folder: hall.key, hall.key_secret, hq.key (from hallctl enroll)"),
    CFG("http", HB_CONF_STRING, http, "127.0.0.1:8100", 0, 0, false, "local API HOST:PORT"),
    CFG("log_level", HB_CONF_STRING, log_level, "info", 0, 0, true, "error, warn, info, debug"),
    CFG("window", HB_CONF_INT, window, "4096", 1, 1000000, false,
        "most events sent to HQ and not yet acknowledged"),
    CFG("batch_max", HB_CONF_INT, batch_max, "512", 1, 1024, false, "most events in one batch"),
    /* Below HB_FRAME_MAX with room for the per-event framing. */
    CFG("batch_bytes", HB_CONF_SIZE, batch_bytes, "256K", 4096, 768 << 10, false,
        "about this many bytes in one batch at most"),
    CFG("heartbeat", HB_CONF_DURATION, heartbeat_ms, "1s", 100, 60000, false,
        "heartbeat interval on an idle link"),
    CFG("link_timeout", HB_CONF_DURATION, link_timeout_ms, "5s", 500, 600000, false,
        "HQ silent this long: the link is down, say Hello again"),
    CFG("reconnect_min", HB_CONF_DURATION, reconnect_min_ms, "500ms", 10, 60000, false,
        "first reconnect wait (randomised per hall)"),
    CFG("reconnect_max", HB_CONF_DURATION, reconnect_max_ms, "30s", 100, 3600000, false,
        "longest reconnect wait (randomised per hall)"),
    CFG("refused_retry_max", HB_CONF_DURATION, refused_retry_max_ms, "5m", 1000, 86400000, false,
        "longest wait between tries after HQ refused this hall's key (the wait grows from 1 s)"),
    CFG("clock_skew_warn", HB_CONF_DURATION, clock_skew_warn_ms, "2m", 1000, 86400000, false,
        "HQ's clock this far from the hall's is logged as a warning"),
    CFG("retention", HB_CONF_DURATION, retention_ms, "7d", 0, 3650LL * 86400000, true,
        "keep acknowledged events locally this long"),
    CFG("map_size", HB_CONF_SIZE, map_size, "64M", 65536, 1LL << 40, false,
        "initial LMDB map size (grows when full)"),
    CFG("map_max", HB_CONF_SIZE, map_max, "64G", 65536, 1LL << 44, false,
        "the LMDB map never grows past this"),
    CFG("max_body", HB_CONF_SIZE, max_body, "1M", 1024, 64 << 20, false,
        "largest request body on the local API"),
    CFG("http_max_conns", HB_CONF_INT, http_max_conns, "1024", 16, 65536, false,
        "HTTP connections open at once, at most (past it new ones are closed)"),
    CFG("http_max_per_address", HB_CONF_INT, http_max_per_address, "256", 1, 65536, false,
        "HTTP connections from one address (IPv6: one /64) at once; behind a reverse proxy set "
        "it to http_max_conns"),
    CFG("http_header_timeout", HB_CONF_DURATION, http_header_timeout_ms, "10s", 100, 600000,
        false, "a connection must send a whole request within this, and may idle this long "
        "between requests"),
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
};
#define NDEFS (sizeof s_defs / sizeof s_defs[0])

static branchd_t s_d;
static uv_timer_t s_tick;
static uv_signal_t s_sigterm, s_sigint, s_sighup;
static int64_t s_watchdog_ms, s_last_watchdog;
static bool s_stopping;

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
 * under the local policy file, if any. */
static int s_load_policy(branchd_t *d, hb_policy_t **out)
{
    json_t *doc = json_object();
    if (d->cfg.policy_file && d->cfg.policy_file[0]) {
        json_error_t jerr;
        json_decref(doc);
        doc = json_load_file(d->cfg.policy_file, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc) {
            hb_error("policy_file %s: %s (line %d)", d->cfg.policy_file, jerr.text, jerr.line);
            return HB_EPARSE;
        }
    }
    char err[512];
    int rc = hb_policy_new(doc, out, err, sizeof err);
    json_decref(doc);
    if (rc != 0)
        hb_error("policy_file %s: %s", d->cfg.policy_file, err);
    return rc;
}

static void s_on_append(void *arg)
{
    branchd_t *d = arg;
    if (d->uplink)
        uplink_notify(d->uplink);
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
    if (applier_on_document(d->applier, calendar, version, doc, len, err, sizeof err) != 0)
        hb_log_once("downlink-refused", HB_LOG_WARN, "downlink: %s", err);
}

static void s_on_neighbours(void *arg, const Hallbus__NeighbourBoard *nb)
{
    branchd_t *d = arg;
    advice_board_take(&d->neighbours, nb, hb_mono_ms());
}

static void s_versions(void *arg, uint64_t *policy, uint64_t *calendar)
{
    branchd_t *d = arg;
    *policy = applier_policy_version(d->applier);
    *calendar = applier_calendar_version(d->applier);
}

static void s_on_tick(uv_timer_t *t)
{
    branchd_t *d = t->data;
    static unsigned ticks;
    ticks++;
    /* Folded log repeats are said when their window ends, not at the next
     * record, which may come much later. */
    hb_log_flush();
    uplink_tick(d->uplink);
    if (ticks % (1000 / TICK_MS) == 0)
        engine_tick(d->engine);
    /* Once a second: persist the ack and prune what retention lets go. */
    if (ticks % (1000 / TICK_MS) == 0) {
        size_t pruned = 0;
        outbox_flush(d->outbox, hb_now_ms() - d->cfg.retention_ms, 10000, &pruned);
        if (pruned)
            hb_debug("pruned %zu acknowledged event(s)", pruned);
    }
    if (ticks % (60000 / TICK_MS) == 0)
        outbox_reader_check(d->outbox);
    if (s_watchdog_ms && hb_mono_ms() - s_last_watchdog >= s_watchdog_ms / 2) {
        hb_sd_notify("WATCHDOG=1");
        s_last_watchdog = hb_mono_ms();
    }
}

static void s_close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void s_stop(branchd_t *d)
{
    if (s_stopping)
        return;
    s_stopping = true;
    hb_sd_notify("STOPPING=1");
    hb_info("stopping");
    outbox_flush(d->outbox, hb_now_ms() - d->cfg.retention_ms, 0, NULL);
    uv_timer_stop(&s_tick);
    uv_close((uv_handle_t *)&s_tick, NULL);
    uv_close((uv_handle_t *)&s_sigterm, NULL);
    uv_close((uv_handle_t *)&s_sigint, NULL);
    uv_close((uv_handle_t *)&s_sighup, NULL);
    uplink_destroy(&d->uplink);
    hb_http_destroy(&d->http);
}

static void s_on_signal(uv_signal_t *h, int signum)
{
    branchd_t *d = h->data;
    if (signum == SIGHUP) {
        if (!d->cfg.config) {
            hb_warn("SIGHUP: no --config file to reload");
            return;
        }
        char err[512];
        hb_sd_notify("RELOADING=1");
        if (hb_config_reload(s_defs, NDEFS, &d->cfg, d->cfg.config, err, sizeof err) != 0) {
            hb_error("reload refused, nothing changed: %s", err);
        } else {
            enum hb_log_level lvl;
            if (hb_log_level_parse(d->cfg.log_level, &lvl) == 0)
                hb_log_init("branchd", lvl);
            hb_info("configuration reloaded from %s", d->cfg.config);
        }
        hb_sd_notify("READY=1");
        return;
    }
    s_stop(d);
}

int main(int argc, char **argv)
{
    branchd_t *d = &s_d;
    char err[512];
    hb_log_init("branchd", HB_LOG_INFO);
    int rc = hb_config_load(s_defs, NDEFS, &d->cfg, argc, argv, stdout, err, sizeof err);
    if (rc == HB_ENOTFOUND)
        return 0; /* --help */
    if (rc != 0) {
        fprintf(stderr, "branchd: %s\n", err);
        fprintf(stderr, "Try 'branchd --help'.\n");
        return 2;
    }
    enum hb_log_level lvl;
    if (hb_log_level_parse(d->cfg.log_level, &lvl) != 0) {
        fprintf(stderr, "branchd: log_level '%s' is not one of error, warn, info, debug\n",
                d->cfg.log_level);
        return 2;
    }
    if (!hb_hall_id_valid(d->cfg.id)) {
        fprintf(stderr, "branchd: id '%s' is not a hall id ([A-Za-z0-9_-], 1 to 32)\n", d->cfg.id);
        return 2;
    }
    char component[48];
    snprintf(component, sizeof component, "branchd/%s", d->cfg.id);
    hb_log_init(component, lvl);
    if (s_load_keys(d) != 0)
        return 1;
    srand((unsigned)(hb_now_ms() ^ (int64_t)getpid()));

    if (outbox_open(d->cfg.data, d->cfg.map_size, d->cfg.map_max, &d->outbox) != 0)
        return 1;
    if (s_open_engine(d) != 0)
        return 1;
    if (applier_open(d->engine, d->outbox, d->cfg.id, &d->applier) != 0)
        return 1;
    d->loop = uv_default_loop();
    d->zmq_ctx = zmq_ctx_new();
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
        .software = BRANCHD_VERSION,
        .on_document = s_on_document,
        .versions = s_versions,
        .on_neighbours = s_on_neighbours,
        .doc_arg = d,
    };
    if (uplink_new(d->loop, d->zmq_ctx, d->outbox, &ucfg, &d->uplink) != 0)
        return 1;
    d->http = hb_http_new(d->loop, d->cfg.http, (size_t)d->cfg.max_body);
    hb_http_limits_t limits = {.max_conns = (size_t)d->cfg.http_max_conns,
                               .max_per_address = (size_t)d->cfg.http_max_per_address,
                               .header_timeout_ms = d->cfg.http_header_timeout_ms};
    if (d->http && hb_http_set_limits(d->http, &limits) != 0) {
        hb_error("http_max_per_address (%lld) may not exceed http_max_conns (%lld)",
                 (long long)limits.max_per_address, (long long)limits.max_conns);
        return 2;
    }
    if (!d->http || branchd_api_register(d) != 0) {
        hb_error("cannot serve the local API on %s", d->cfg.http);
        return 1;
    }
    uv_timer_init(d->loop, &s_tick);
    s_tick.data = d;
    uv_timer_start(&s_tick, s_on_tick, TICK_MS, TICK_MS);
    uv_signal_init(d->loop, &s_sigterm);
    uv_signal_init(d->loop, &s_sigint);
    uv_signal_init(d->loop, &s_sighup);
    s_sigterm.data = s_sigint.data = s_sighup.data = d;
    uv_signal_start(&s_sigterm, s_on_signal, SIGTERM);
    uv_signal_start(&s_sigint, s_on_signal, SIGINT);
    uv_signal_start(&s_sighup, s_on_signal, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    s_watchdog_ms = hb_sd_watchdog_ms();

    hb_info("hall %s: outbox at %llu, HQ %s, local API on %s", d->cfg.id,
            (unsigned long long)outbox_last_seq(d->outbox), d->cfg.hq, d->cfg.http);
    hb_sd_notify("READY=1");
    uv_run(d->loop, UV_RUN_DEFAULT);

    uv_walk(d->loop, s_close_walk, NULL);
    uv_run(d->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(d->loop);
    if (rc != 0)
        hb_warn("the loop closed with handles open");
    applier_close(&d->applier);
    engine_close(&d->engine);
    outbox_close(&d->outbox);
    zmq_ctx_term(d->zmq_ctx);
    hb_config_free(s_defs, NDEFS, &d->cfg);
    hb_info("stopped");
    return 0;
}
