/* The hqd daemon as a whole: settings and the parts main.c wires together
 * (ZAP handler, store, writer, live mirror, rollups, ingest, HTTP API with
 * its access control, the dashboard's files). api/table.c lists the HTTP API's routes (the dashboard's files
 * among them), which api/halls.c, live.c, control.c and static.c answer. */
#ifndef HQD_HQD_H
#define HQD_HQD_H

#include "alerting.h"
#include "auth.h"
#include "board.h"
#include "bookings.h"
#include "control.h"
#include "downlink.h"
#include "enrolments.h"
#include "halls.h"
#include "hqstore.h"
#include "ingest.h"
#include "live.h"
#include "neighbours.h"
#include "rollup.h"
#include "notify.h"
#include "sse.h"
#include "hallbus/http.h" /* HB_HTTP_CONF_FIELDS */
#include "hallbus/static.h"
#include "hallbus/store.h" /* HB_STORE_CONF_FIELDS */
#include "writer.h"
#include "zap.h"
#include "hallbus/cert.h"
#include "hallbus/config.h"
#include "hallbus/http.h"

#include <stdint.h>
#include <uv.h>

typedef struct hqd_config {
    char *config;
    char *data;
    char *listen;
    char *http;
    char *keys;
    char *log_level;
    char *dashboard;
    char *chartjs; /* the charting library's file, served as /chart.min.js */
    int64_t heartbeat_ms;
    int64_t offline_after_ms;
    int64_t io_threads;
    uint64_t max_frame;
    int64_t max_batch;
    uint64_t queue_bytes;
    int64_t fold_ms;
    uint64_t log_max_bytes;
    HB_STORE_CONF_FIELDS;
    HB_HTTP_CONF_FIELDS;
    int64_t rollout_per_tick;
    int64_t rollout_resend_ms;
    int64_t booking_timeout_ms;
    int64_t neighbours_ms;
    int64_t alert_offline_grace_ms;
    int64_t alert_no_counter_grace_ms;
    int64_t alert_retention_ms;
    int64_t max_future_ms;
    int64_t alert_clock_skew_ms;
    int64_t alert_anomaly_hold_ms;
    int64_t alert_disk_full_hold_ms;
    int64_t stream_ring;
    int64_t stream_clients;
    int64_t mirror_snapshot_events;
    int64_t mirror_snapshot_ms;
    int64_t cert_validity_ms;
    int64_t rotate_overlap_ms;
    int64_t enrol_code_validity_ms;
    bool rotate_auto;
    int64_t cert_expiry_warn_ms;
    bool rollups;
    uint64_t rollup_queue_bytes;
    int64_t rollup_commit_ms;
    int64_t rollup_save_ms;
    int64_t retention_raw_ms;
    int64_t retention_rollups_ms;
    int64_t retention_every_ms;
    int64_t disk_alert_free;
    /* access control (hqd/auth/) */
    hb_config_list_t http_hosts;
    char *tls_cert;
    char *tls_key;
    bool insecure_http;
    int64_t session_idle_ms;
    int64_t session_max_ms;
    int64_t login_per_second;
    int64_t audit_retention_ms;
    int64_t audit_max;
    /* alerts that reach people (hqd/notify/) */
    int64_t notify_escalate_after_ms;
    int64_t notify_queue;
    int64_t notify_senders;
    int64_t notify_attempts;
    int64_t notify_retry_first_ms;
    int64_t notify_retry_max_ms;
    int64_t notify_timeout_ms;
    int64_t notify_deliveries_kept;
    char *smtp_url;
    char *smtp_from;
    char *external_url;
} hqd_config_t;

/* The histograms of hqd's own rounds and threads that belong to no module,
 * for /metrics (api/metrics.c writes them). Any thread may record into
 * them with hb_histogram_observe (metrics.h): no lock, no allocation.
 *
 * rollup_lag is recorded by the rollups thread (hq_rollup_config_t.lag):
 * for each committed batch it folds from the writer, once the transaction
 * holding the fold has committed, the seconds since the writer committed
 * it (the writer stamps committed_ns on every batch it hands its sink).
 * Batches it reads back from the store (a full queue, a catch-up) are not
 * recorded: lag_events in /v1/status and /metrics counts them. */
typedef struct hqd_histograms {
    hb_histogram_t alert_round; /* hallbus_hq_alert_round_seconds */
    hb_histogram_t board_round; /* hallbus_hq_board_round_seconds */
    hb_histogram_t rollup_lag;  /* hallbus_hq_rollup_lag_seconds */
} hqd_histograms_t;

/* Sets each histogram's buckets: once, before any thread records. */
void hqd_histograms_init(hqd_histograms_t *h);

typedef struct hqd {
    hqd_config_t cfg;
    uv_loop_t *loop;
    void *zmq_ctx;
    hb_cert_t cert;
    hq_zap_t *zap;
    hq_enrol_t *enrol; /* certificates, requests, registrations (link/enrolments.h) */
    hq_store_t store;
    hq_halls_t *halls;
    hq_writer_t *writer;
    hq_live_t *live;
    hq_trend_t *trend;   /* today per 15 minutes of every hall (mirror/trend.h) */
    hq_rollup_t *rollup; /* NULL with rollups = false */
    hq_control_t *control;
    hq_downlink_t *downlink;
    hq_bookings_t *bookings; /* bookings sent to halls, waiting for answers */
    hq_sse_t *sse;
    hq_board_t *board;
    hq_neighbours_t *neighbours;
    hq_alerting_t *alerting;
    hq_notify_t *notify;
    hq_ingest_t *ingest;
    hb_http_t *http;
    hb_static_t *dashboard; /* the files served at / */
    struct hqd_page *page;  /* index.html as each person is served it (api/page.h) */
    hq_auth_t *auth;        /* who may do what (hqd/auth/) */
    int64_t started_ms;
    /* The housekeeping rounds on the loop, for /v1/status and /metrics. */
    double alert_round_ms, alert_round_max_ms, board_round_max_ms;
    /* What the rollups' policy table was built from (main.c). */
    uint64_t rollup_policy_gen, rollup_org_gen;
    hqd_histograms_t hist;
} hqd_t;

/* The HTTP API's route table (api/table.c): every route, the permission it
 * needs and its handler; static data, `*n` rows. */
const hb_http_route_t *hqd_routes(size_t *n);
/* Registers hqd_routes() on hq->http, each handler called with `hq`. */
int hqd_api_register(hqd_t *hq);
/* The ingest's rotation hook (hq_rotate_fn; `arg` is the hqd_t), in
 * api/enrol.c: a hall's rotation request over the link, granted by policy
 * and audited. */
void hqd_enrol_link_rotation(void *arg, hq_hall_t *hall, const char *key, const char *text,
                             hq_rotate_answer_t *out);

#endif
