/* branchd's handlers for a queue system the hall already has (events) and
 * for operations: status, metrics, the complete state, the policy and the
 * campaigns in force (docs/API.md has every route with examples; api/table.c
 * routes to them). Every request is checked whole before anything is
 * stored: a bad event in an array refuses the array, with the index and the
 * reason. */
#include "api.h"

#include "hallbus/codec.h"
#include "hallbus/digest.h"
#include "hallbus/error.h"
#include "hallbus/eventrules.h"
#include "hallbus/json.h"
#include "hallbus/figures.h"
#include "hallbus/metrics.h"
#include "hallbus/version.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"
#include "hallbus/tz.h"

#include <stdlib.h>
#include <string.h>

void branchd_api_post_events(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    json_error_t jerr;
    json_t *root =
        json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_json", "body is not valid JSON: %s (line %d, column %d)",
                            jerr.text, jerr.line, jerr.column);
        return;
    }
    bool single = json_is_object(root);
    size_t n = single ? 1 : json_is_array(root) ? json_array_size(root) : 0;
    if (!single && !json_is_array(root)) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request",
                            "body must be an event object or an array of events");
        json_decref(root);
        return;
    }
    if (n == 0 || n > (size_t)d->cfg.max_events_per_post) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request", "an array must hold 1 to %lld events, not %zu",
                            (long long)d->cfg.max_events_per_post, n);
        json_decref(root);
        return;
    }
    Hallbus__Envelope **envs = calloc(n, sizeof *envs);
    if (!envs) {
        json_decref(root);
        hb_http_reply_error(req, 503, "no_memory", "cannot take the request now");
        return;
    }
    int64_t now = hb_now_ms();
    size_t built = 0;
    for (; built < n; built++) {
        const json_t *obj = single ? root : json_array_get(root, built);
        char err[256];
        int rc = hb_event_from_json(obj, now, d->cfg.max_future_ms, &envs[built], err, sizeof err);
        if (rc == 0) {
            /* The rules HQ judges by: what it would refuse or flag is refused
             * here. A time the caller gave is judged; one the hall stamped
             * with its own clock is not (HQ flags a wrong clock). */
            bool gave_at = json_is_string(json_object_get(obj, "at"));
            hb_event_clock_t clock = {.now_ms = now,
                                      .max_future_ms = gave_at ? d->cfg.max_future_ms : -1};
            if (hb_event_classify(envs[built], &clock, NULL, err, sizeof err) != HB_EVENT_VALID) {
                hb_envelope_free(envs[built]);
                envs[built] = NULL;
                rc = HB_EINVAL;
            }
        }
        if (rc != 0) {
            d->api_refused++;
            if (single)
                hb_http_reply_error(req, 400, "bad_event", "%s; nothing was stored", err);
            else
                hb_http_reply_error(req, 400, "bad_event", "event %zu: %s; nothing was stored",
                                    built, err);
            goto out;
        }
    }
    uint64_t first = 0;
    char err[512];
    int rc = engine_append_external(d->engine, envs, n, &first, err, sizeof err);
    if (rc == HB_EINVAL) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_event", "%s; nothing was stored", err);
        goto out;
    }
    if (rc == HB_ENOSPC) {
        hb_http_reply_error(req, 507, "disk_full", "%s", err);
        goto out;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 503, "storage", "%s", err);
        goto out;
    }
    d->api_events += n;
    json_t *seqs = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(seqs, json_integer((json_int_t)(first + i)));
    json_t *body = json_pack("{s:o, s:I, s:I}", "seqs", seqs, "first_seq", (json_int_t)first,
                             "last_seq", (json_int_t)(first + n - 1));
    if (single)
        json_object_set_new(body, "seq", json_integer((json_int_t)first));
    hb_http_reply_json(req, 200, body);
out:
    for (size_t i = 0; i < built; i++)
        hb_envelope_free(envs[i]);
    free(envs);
    json_decref(root);
}

void branchd_api_get_status(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    uplink_stats_t st;
    uplink_get_stats(d->uplink, &st);
    char digest[HB_DIGEST_HEX];
    hb_digest_hex(outbox_digest(d->outbox), digest);
    uint64_t last = outbox_last_seq(d->outbox), acked = outbox_acked_seq(d->outbox);
    char since[HB_RFC3339_MAX] = "";
    if (st.connected_since_ms)
        hb_time_format(st.connected_since_ms, since);
    json_t *body = json_pack(
        "{s:s, s:I, s:I, s:b, s:I, s:s, s:I, s:I, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
        "s:{s:I, s:I}}",
        "hall", d->cfg.id, "last_seq", (json_int_t)last, "acked_seq", (json_int_t)acked,
        "connected", st.connected, "backlog", (json_int_t)(last - acked), "stream_digest", digest,
        "outbox_first_seq", (json_int_t)outbox_first_seq(d->outbox), "hq_committed",
        (json_int_t)st.hq_committed, "sequence_conflict", st.sequence_conflict, "link",
        "batches_sent", (json_int_t)st.batches_sent, "events_sent", (json_int_t)st.events_sent,
        "acks", (json_int_t)st.acks, "welcomes", (json_int_t)st.welcomes, "rejects",
        (json_int_t)st.rejects, "link_losses", (json_int_t)st.link_losses, "bad_frames",
        (json_int_t)st.bad_frames, "api", "events_accepted", (json_int_t)d->api_events,
        "requests_refused", (json_int_t)d->api_refused);
    if (since[0])
        json_object_set_new(body, "connected_since", json_string(since));
    /* Why events are not flowing, when they are not: the link never wedges
     * silently (uplink.h). */
    json_t *link = json_object_get(body, "link");
    json_object_set_new(link, "state", json_string(uplink_state(&st)));
    json_object_set_new(link, "reason", st.reason[0] ? hb_utf8_json_str(st.reason) : json_null());
    json_object_set_new(link, "since", hb_json_time(st.trouble_since_ms));
    json_object_set_new(link, "seq",
                        st.blocked_code ? json_integer((json_int_t)st.blocked_seq) : json_null());
    json_object_set_new(link, "retry_in_ms", json_integer((json_int_t)st.retry_in_ms));
    json_object_set_new(link, "clock_skew_ms",
                        st.skew_known ? json_integer((json_int_t)st.clock_skew_ms) : json_null());
    json_object_set_new(link, "auth_failures", json_integer((json_int_t)st.auth_failures));
    json_object_set_new(link, "socket_reopens", json_integer((json_int_t)st.socket_reopens));
    if (st.conflict_seq)
        json_object_set_new(link, "last_conflict",
                            json_pack("{s:I, s:o}", "seq", (json_int_t)st.conflict_seq, "at",
                                      hb_json_time(st.conflict_ms)));
    /* Room for events: a full disk refuses them (507 disk_full) until
     * space returns; HQ hears it in the heartbeats (hall_disk_full). */
    outbox_space_t sp;
    outbox_space(d->outbox, &sp);
    json_object_set_new(body, "storage",
                        json_pack("{s:b, s:o, s:I, s:o}", "full", sp.full_since_ms != 0,
                                  "full_since", hb_json_time(sp.full_since_ms), "refused_events",
                                  (json_int_t)sp.refused_events, "last_refused",
                                  hb_json_time(sp.last_refused_ms)));
    json_object_set_new(body, "http", hb_http_stats_json(d->http));
    /* Group commit (issue 17): how many ticket and counter requests shared
     * one synced commit. */
    branchd_group_stats_t gs;
    branchd_group_stats(&gs);
    json_object_set_new(body, "group_commit",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "commits", (json_int_t)gs.commits,
                                  "requests", (json_int_t)gs.requests, "largest",
                                  (json_int_t)gs.largest, "refused_commits",
                                  (json_int_t)gs.refused_commits, "refused_requests",
                                  (json_int_t)gs.refused_requests));
    hb_version_json(body); /* which build answers */
    applier_stats_t as;
    applier_get_stats(d->applier, &as);
    json_object_set_new(
        body, "downlink",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "policy_version",
                  (json_int_t)applier_policy_version(d->applier), "calendar_version",
                  (json_int_t)applier_calendar_version(d->applier), "documents_received",
                  (json_int_t)st.documents, "policies_applied", (json_int_t)as.policies_applied,
                  "calendars_applied", (json_int_t)as.calendars_applied, "refused",
                  (json_int_t)as.refused, "last_refusal", as.last_refusal));
    json_object_set_new(
        body, "access",
        json_pack("{s:b, s:b, s:I, s:I, s:I, s:I}", "local_trust", d->cfg.local_trust, "tls",
                  hb_http_tls(d->http), "unauthenticated", (json_int_t)d->access_unauthenticated,
                  "forbidden", (json_int_t)d->access_forbidden, "local",
                  (json_int_t)d->access_local, "devices_revoked", (json_int_t)as.devices_revoked));
    /* The certificate's expiry and the automatic rotation (keyroll.h): a
     * refused or unanswered rotation shows here. */
    json_object_set_new(body, "rotation", keyroll_status_json(d->keyroll, &d->cert));
    hb_http_reply_json(req, 200, body);
}

/* The hall's complete state in the reducer's snapshot form: what HQ's
 * mirror of this hall equals once the stream is delivered. */
void branchd_api_get_snapshot(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    json_t *o = hb_hall_state_to_json(engine_state(d->engine));
    if (o)
        json_object_set_new(o, "hall", json_string(d->cfg.id));
    hb_http_reply_json(req, o ? 200 : 503, o);
}

/* The policy the hall runs on: HQ's version, or 0 with "source": "local"
 * before HQ sent one (the policy file or the built-in defaults). */
void branchd_api_get_policy(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    uint64_t v = applier_policy_version(d->applier);
    json_t *p = hb_policy_to_json(engine_policy(d->engine));
    hb_http_reply_json(req, p ? 200 : 503,
                       p ? json_pack("{s:s, s:I, s:s, s:o}", "hall", d->cfg.id, "version",
                                     (json_int_t)v, "source", v ? "hq" : "local", "policy", p)
                         : NULL);
}

static void s_reply_campaigns(branchd_t *d, hb_http_req_t *req, int32_t from, int32_t to)
{
    const hb_cal_slice_t *slice = applier_calendar(d->applier);
    const hb_cal_campaign_t *found[HB_CAL_SLICE_MAX];
    size_t n = 0;
    if (slice)
        n = from == to ? hb_cal_slice_active(slice, from, found, HB_CAL_SLICE_MAX)
                       : hb_cal_slice_overlapping(slice, from, to, found, HB_CAL_SLICE_MAX);
    if (n > HB_CAL_SLICE_MAX)
        n = HB_CAL_SLICE_MAX;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *c = hb_cal_campaign_to_json(found[i]);
        /* The glossary terms it uses, with their plain explanation and
         * examples, as HQ sent them in the slice: what the kiosk shows
         * when a customer touches a term. */
        const hb_cal_term_t *terms[64];
        size_t k = hb_cal_slice_terms_of(slice, found[i]->id, terms, 64);
        json_t *gl = json_array();
        for (size_t j = 0; j < k && j < 64; j++)
            json_array_append_new(gl, hb_cal_term_to_json(terms[j]));
        json_object_set_new(c, "glossary", gl);
        json_array_append_new(arr, c);
    }
    char a[11], b[11];
    hb_date_format(from, a);
    hb_date_format(to, b);
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:I, s:s, s:s, s:I, s:o}", "hall", d->cfg.id, "version",
                                 (json_int_t)applier_calendar_version(d->applier), "from", a, "to",
                                 b, "count", (json_int_t)n, "campaigns", arr));
}

/* What runs today in the hall (its local date), with the FAQ, for the
 * kiosk and the signage. */
void branchd_api_get_campaigns_active(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    int32_t today = hb_tz_local_day(engine_policy(d->engine)->tz, hb_now_ms());
    s_reply_campaigns(d, req, today, today);
}

static int s_query_date(hb_http_req_t *req, const char *name, int32_t *out)
{
    char buf[16];
    int rc = hb_http_query(req, name, buf, sizeof buf);
    if (rc == HB_ENOTFOUND)
        return 0;
    if (rc != 0 || hb_date_parse(buf, out) != 0) {
        hb_http_reply_error(req, 400, "bad_parameter", "%s must be a date YYYY-MM-DD", name);
        return HB_EINVAL;
    }
    return 0;
}

void branchd_api_get_campaigns(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    int32_t today = hb_tz_local_day(engine_policy(d->engine)->tz, hb_now_ms());
    int32_t from = today, to = -1;
    if (s_query_date(req, "from", &from) != 0 || s_query_date(req, "to", &to) != 0) {
        d->api_refused++;
        return;
    }
    if (to < 0)
        to = from + 30;
    if (to < from || to - from > 366) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_parameter",
                            "to must not be before from, and at most 366 days after it");
        return;
    }
    s_reply_campaigns(d, req, from, to == from ? from : to);
}

/* Prometheus text: the process, the outbox (its commits as a histogram),
 * the data folder's disk, the link, the local API, the hall. */
void branchd_api_get_metrics(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    uplink_stats_t st;
    uplink_get_stats(d->uplink, &st);
    applier_stats_t as;
    applier_get_stats(d->applier, &as);
    const hb_hall_state_t *s = engine_state(d->engine);
    uint64_t last = outbox_last_seq(d->outbox), acked = outbox_acked_seq(d->outbox);
    uint32_t open = 0;
    for (size_t i = 0; i < s->n_counters; i++)
        open += hb_fig_counter_open(s->counters[i].state);
    hb_metrics_t m;
    hb_metrics_init(&m);
    hb_version_metrics(&m);
    hb_metrics_process(&m);
#define G(name, help, v) hb_metrics_add(&m, "hallbus_hall_" name, "gauge", help, NULL, (double)(v))
#define C(name, help, v)                                                                           \
    hb_metrics_add(&m, "hallbus_hall_" name, "counter", help, NULL, (double)(v))
    G("outbox_last_seq", "the newest event's sequence", last);
    G("outbox_acked_seq", "the newest sequence HQ acknowledged", acked);
    G("backlog_events", "events not yet acknowledged by HQ", last - acked);
    G("outbox_bytes", "bytes used by the outbox's data file", outbox_disk_bytes(d->outbox));
    C("outbox_map_grows_total", "times the outbox's map grew", outbox_map_grows(d->outbox));
    hb_metrics_histogram(&m, "hallbus_hall_outbox_commit_duration_seconds",
                         "durations of the outbox's synced commits of new events", NULL,
                         outbox_commit_histogram(d->outbox));
    hb_metrics_disk(&m, "hallbus_hall_", d->cfg.data);
    G("connected", "1 when HQ welcomed this hall and has not gone silent", st.connected);
    C("batches_sent_total", "event batches sent", st.batches_sent);
    C("events_sent_total", "events sent, resends included", st.events_sent);
    C("acks_total", "acknowledgements from HQ", st.acks);
    C("welcomes_total", "Welcome frames from HQ", st.welcomes);
    C("rejects_total", "frames HQ refused", st.rejects);
    C("link_losses_total", "times the link to HQ went down", st.link_losses);
    C("auth_failures_total", "handshakes HQ refused (the key not enrolled or revoked)",
      st.auth_failures);
    G("link_blocked", "1 while HQ refuses this hall's batches (see /v1/status link.reason)",
      st.blocked_code != 0);
    G("link_refused", "1 while HQ refuses or has revoked this hall's key",
      st.refused || st.revoked);
    G("clock_skew_seconds", "this hall's clock minus HQ's, as last measured",
      st.skew_known ? (double)st.clock_skew_ms / 1e3 : 0.0);
    C("api_events_total", "events accepted through the local API", d->api_events);
    branchd_group_stats_t gs;
    branchd_group_stats(&gs);
    C("group_commits_total", "synced commits of grouped ticket and counter requests", gs.commits);
    C("group_requests_total", "ticket and counter requests answered after a group's commit",
      gs.requests);
    C("group_refused_requests_total", "grouped requests refused because their group's commit was",
      gs.refused_requests);
    C("api_refused_total", "local API requests refused as bad input", d->api_refused);
    C("hq_bookings_total", "bookings HQ asked this hall for (the app and the web)", d->hq_bookings);
    C("hq_bookings_expired_total",
      "bookings HQ asked for that came after their deadline and were dropped",
      d->hq_bookings_expired);
    hb_metrics_add(&m, "hallbus_hall_access_refused_total", "counter",
                   "local API requests refused by access control, by answer",
                   "why=\"unauthenticated\"", (double)d->access_unauthenticated);
    hb_metrics_add(&m, "hallbus_hall_access_refused_total", "counter",
                   "local API requests refused by access control, by answer", "why=\"forbidden\"",
                   (double)d->access_forbidden);
    C("access_devices_revoked_total", "devices removed for HQ's revocations", as.devices_revoked);
    G("waiting", "tickets waiting now", hb_fig_waiting(s));
    G("counters_open", "counters open now", open);
    G("complaints_open", "complaints not yet resolved", s->n_complaints);
    C("state_anomalies_total", "events that did not fit the hall's state", s->anomalies);
    G("policy_version", "HQ's policy version in force (0: the local one)",
      applier_policy_version(d->applier));
    G("calendar_version", "the campaign calendar version in force",
      applier_calendar_version(d->applier));
    C("downlink_refused_total", "documents from HQ refused", as.refused);
    hb_http_stats_metrics(d->http, "hallbus_hall_", &m);
#undef G
#undef C
    hb_http_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                      m.text.p ? m.text.p : "", m.text.len);
    hb_metrics_free(&m);
}
