/* hqd's GET /metrics: every figure an operator's Prometheus scrapes, in the
 * text format (common/base/metrics.c writes it). Counters end in _total,
 * durations are histograms in seconds, sizes are in bytes; the halls by
 * link state and the open alerts by kind are gauges with one series per
 * state or kind, so a dashboard sums them. Figures are read when asked:
 * module counters under their own locks, histograms without one. Not
 * here: /v1/status (halls.c), which shows much of the same as JSON. */
#include "api.h"

#include "hallbus/metrics.h"
#include "hallbus/time.h"
#include "hallbus/version.h"

#include <stdio.h>

/* hqd's metrics, each named hallbus_hq_*, written into the hb_metrics_t
 * `m` (a pointer) of the function at hand: a gauge, a counter, a histogram. */
#define G(name, help, v) hb_metrics_add(m, "hallbus_hq_" name, "gauge", help, NULL, (double)(v))
#define C(name, help, v) hb_metrics_add(m, "hallbus_hq_" name, "counter", help, NULL, (double)(v))
#define H(name, help, h) hb_metrics_histogram(m, "hallbus_hq_" name, help, NULL, h)

/* A counter by one label: its rows' label texts and values. */
typedef struct labelled {
    const char *labels;
    uint64_t v;
} labelled_t;

static void s_labelled(hb_metrics_t *m, const char *name, const char *help, const labelled_t *rows,
                       size_t n)
{
    for (size_t i = 0; i < n; i++)
        hb_metrics_add(m, name, "counter", help, rows[i].labels, (double)rows[i].v);
}

void hqd_histograms_init(hqd_histograms_t *h)
{
    hb_histogram_init(&h->alert_round, &hb_buckets_latency);
    hb_histogram_init(&h->board_round, &hb_buckets_latency);
    hb_histogram_init(&h->rollup_lag, &hb_buckets_lag);
}

/* What access control said (hqd/auth/): requests by outcome, sign-ins by
 * outcome, the audit log, streams it closed. */
static void s_access(hb_metrics_t *m, hqd_t *hq)
{
    if (!hq->auth)
        return;
    hq_auth_stats_t as;
    hq_auth_get_stats(hq->auth, &as);
    const labelled_t access[] = {{"outcome=\"allowed\"", as.allowed},
                                 {"outcome=\"unauthenticated\"", as.unauthenticated},
                                 {"outcome=\"forbidden\"", as.forbidden},
                                 {"outcome=\"wrong_host\"", as.wrong_host}},
                     logins[] = {{"outcome=\"ok\"", as.logins},
                                 {"outcome=\"failed\"", as.login_failures},
                                 {"outcome=\"throttled\"", as.login_throttled}};
    s_labelled(m, "hallbus_hq_access_total", "API requests by what access control said", access,
               sizeof access / sizeof access[0]);
    s_labelled(m, "hallbus_hq_logins_total",
               "password checks (sign-ins and tokens asked with a password) by outcome", logins,
               sizeof logins / sizeof logins[0]);
    C("audit_records_total", "audit records written", as.audit_records);
    C("audit_dropped_total", "audit records that could not be written", as.audit_dropped);
    C("streams_closed_by_access_total", "streams closed because their owner's access ended",
      as.streams_closed);
}

static const char *s_link_state_name(int s) { return hq_link_state_name((hq_link_state_t)s); }

/* Halls by link state: one pass, one definition (hq_ingest_hall_state). */
static void s_halls_by_state(hqd_t *hq, hb_metrics_t *m)
{
    uint64_t by_state[HQ_LINK_STATES] = {0};
    size_t total = hq_halls_count(hq->halls);
    for (size_t i = 0; i < total; i++) {
        const hq_hall_t *h = hq_halls_sorted(hq->halls, i);
        if (h)
            by_state[hq_ingest_hall_state(hq->ingest, h)]++;
    }
    hb_metrics_by_name(
        m, "hallbus_hq_halls_by_state", "gauge",
        "halls by link state (online, offline, blocked, revoked, expired; each hall in one)",
        "state", s_link_state_name, 0, HQ_LINK_STATES - 1, by_state);
}

static void s_alerts(hqd_t *hq, hb_metrics_t *m)
{
    alertstore_stats_t as;
    alertstore_get_stats(hq_alerting_store(hq->alerting), &as);
    hb_metrics_by_name(m, "hallbus_hq_alerts_open", "gauge", "open alerts, by kind", "kind",
                       alert_kind_name, ALERT_KIND_FIRST, ALERT_KIND_LAST, as.open_by_kind);
    G("halls_alerting", "halls with at least one open alert", as.halls_alerting);
    C("alerts_raised_total", "alerts raised", as.raised);
    C("alerts_cleared_total", "alerts cleared", as.cleared);
    /* docs/ALERTS.md: a hall holds at most ALERTS_MAX conditions. */
    C("alerts_dropped_total", "conditions past ALERTS_MAX in a hall's evaluated set, left out",
      as.dropped);
    C("alerts_unraised_total", "conditions not raised because their hall had ALERTS_MAX open",
      as.unraised);
    C("alerts_commit_failures_total",
      "alert store commits that failed (the open alerts went back to the last commit)",
      as.commit_failures);
    /* Alerts that reach people (docs/ALERTS.md): a webhook that fails shows
     * as failed attempts and a queue that does not empty. */
    hq_notify_stats_t ns;
    hq_notify_get_stats(hq->notify, &ns);
    C("notify_queued_total", "alert deliveries queued for the sender threads", ns.queued);
    C("notify_sent_total", "alert deliveries made", ns.sent);
    C("notify_failed_attempts_total",
      "alert delivery attempts that failed (each retried until given up)", ns.failed_attempts);
    C("notify_given_up_total", "alert deliveries given up after notify_attempts tries",
      ns.given_up);
    C("notify_queue_full_total", "alert deliveries put off a second because the queue was full",
      ns.queue_full);
    G("notify_queue", "alert deliveries waiting, retrying or under way", ns.queue);
    G("notify_subscriptions", "alert subscriptions", ns.subs);
    /* Bookings for the app and the web (POST /v1/appointments): a hall
     * that does not answer shows as timeouts. */
    if (hq->bookings) {
        hq_bookings_stats_t bs;
        hq_bookings_get_stats(hq->bookings, &bs);
        const labelled_t outcomes[] = {{"outcome=\"answered\"", bs.answered},
                                       {"outcome=\"timed_out\"", bs.timed_out},
                                       {"outcome=\"busy\"", bs.busy}};
        s_labelled(m, "hallbus_hq_bookings_total", "bookings sent to halls, by what became of them",
                   outcomes, sizeof outcomes / sizeof outcomes[0]);
        C("bookings_stray_total", "halls' booking answers that matched no request waiting (late)",
          bs.stray);
        G("bookings_waiting", "bookings waiting for their hall's answer", bs.waiting);
    }
}

void hqd_api_get_metrics(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_ingest_stats_t st;
    hq_writer_stats_t ws;
    hq_live_stats_t ls;
    hq_sse_stats_t ss;
    hq_ingest_get_stats(hq->ingest, &st);
    hq_writer_get_stats(hq->writer, &ws);
    hq_live_get_stats(hq->live, &ls);
    hq_sse_get_stats(hq->sse, &ss);
    uint64_t backlog = 0;
    size_t total = hq_halls_count(hq->halls);
    for (size_t i = 0; i < total; i++) {
        const hq_hall_t *h = hq_halls_sorted(hq->halls, i);
        if (h && h->hall_last_seq > h->committed_seq)
            backlog += h->hall_last_seq - h->committed_seq;
    }
    hb_metrics_t metrics;
    hb_metrics_t *m = &metrics;
    hb_metrics_init(m);
    hb_version_metrics(m);
    hb_metrics_process(m);
    G("halls", "halls known to this HQ", total);
    G("halls_connected", "halls heard from within offline_after",
      hq_ingest_online_count(hq->ingest));
    s_halls_by_state(hq, m);
    C("frames_total", "link frames received", st.frames);
    C("batches_total", "event batches received", st.batches);
    C("events_received_total", "events received, resends included", st.events_received);
    C("events_duplicate_total", "resent events recognised and not stored again",
      st.events_duplicate);
    C("events_unknown_kind_total", "events of kinds this build does not know, stored as they came",
      st.events_unknown_kind);
    C("acks_sent_total", "cumulative acknowledgements sent", st.acks_sent);
    H("ack_latency_seconds",
      "seconds from a stored batch's arrival to the ack covering it, sent after its commit",
      hq_ingest_ack_histogram(hq->ingest));
    C("send_dropped_total", "replies the socket could not take", st.send_dropped);
    hb_metrics_by_name(m, "hallbus_hq_refused_total", "counter", "frames refused, by reason",
                       "reason", hq_reject_code_name, 1, HQ_REJECT_CODES - 1, st.refused_by_code);
    C("unauthenticated_total", "messages without a ZAP User-Id, dropped", st.unauthenticated);
    C("events_flagged_total", "events stored with an anomaly flag", st.events_flagged);
    C("revoked_messages_total", "messages of connections whose key was revoked",
      st.revoked_messages);
    C("conflicts_total", "resends that differed from the stored bytes", st.conflicts);
    C("auth_allowed_total", "CURVE handshakes the ZAP handler allowed", hq_zap_allowed(hq->zap));
    C("auth_denied_total", "CURVE handshakes the ZAP handler denied", hq_zap_denied(hq->zap));
    G("backlog_events", "events halls hold that HQ has not committed yet (as halls last said)",
      backlog);
    C("writer_commits_total", "synced LMDB commits of events", ws.commits);
    C("writer_events_total", "events committed", ws.events);
    C("writer_failures_total", "commits that failed (the halls resend)", ws.failures);
    G("writer_queued_events", "events waiting for the writer", ws.queued_events);
    G("writer_queued_bytes", "bytes waiting for the writer", ws.queued_bytes);
    H("commit_duration_seconds", "durations of the writer's commits, sync included",
      hq_writer_commit_histogram(hq->writer));
    G("log_unfolded_events", "acknowledged events in the commit log not folded yet", ws.log_events);
    G("log_unfolded_bytes", "bytes of the commit log not folded yet", ws.log_bytes);
    G("log_limit_bytes", "the commit log's bound (log_max_bytes)", ws.log_max_bytes);
    C("log_folds_total", "folds of the commit log into the per-hall store", ws.folds);
    C("log_fold_failures_total", "folds that failed (the log keeps their events)",
      ws.fold_failures);
    C("log_full_waits_total", "times the writer waited for the fold at the log's bound",
      ws.log_full_waits);
    G("store_bytes", "bytes used by the event store's data file", hb_store_size(&hq->store.store));
    G("store_map_bytes", "the event store's LMDB map size", hq->store.store.map_size);
    G("store_map_limit_bytes", "the most the event store's map may grow to (map_max)",
      hq->store.store.map_max);
    C("store_map_grows_total", "times the event store's map grew", hq->store.store.grow_count);
    hb_metrics_disk(m, "hallbus_hq_", hq->cfg.data);
    C("mirror_events_total", "events applied to the live mirror", ls.events);
    C("mirror_anomalies_total", "mirrored events that did not fit a hall's state", ls.anomalies);
    G("mirror_queued_bytes", "committed batches waiting for the mirror", ls.queued_bytes);
    G("mirror_rebuilding", "1 while the mirror rebuilds the halls' states at start", ls.rebuilding);
    C("mirror_snapshots_total", "hall state snapshots written", ls.snapshots_written);
    H("mirror_lag_seconds", "seconds from a batch's commit to its events being in the live mirror",
      hq_live_lag_histogram(hq->live));
    H("board_round_duration_seconds", "durations of the board round's steps (about 1 ms each)",
      &hq->hist.board_round);
    H("alert_round_duration_seconds", "durations of the alert round's steps (about 1 ms each)",
      &hq->hist.alert_round);
    s_alerts(hq, m);
    H("rollup_lag_seconds", "seconds from a batch's commit to its place in the rollups",
      &hq->hist.rollup_lag);
    G("stream_clients", "clients of /v1/stream", ss.clients);
    C("stream_events_total", "changes published on /v1/stream", ss.published);
    C("stream_clients_dropped_total", "stream clients dropped for not keeping up",
      ss.clients_dropped);
    G("policy_version", "the published policy version", hq_control_policy_version(hq->control));
    G("calendar_version", "the published calendar version",
      hq_control_calendar_version(hq->control));
    G("uptime_seconds", "seconds since hqd started", (hb_now_ms() - hq->started_ms) / 1000);
    hb_http_stats_metrics(hq->http, "hallbus_hq_", m);
    hqd_api_reports_metrics(hq, m); /* rollups, retention, the data's environments */
    s_access(m, hq);
    hb_http_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                      m->text.p ? m->text.p : "", m->text.len);
    hb_metrics_free(m);
}
