/* hqd's handlers for the halls' links and HQ's own counters: the halls, one
 * hall, its mirrored state, its stored events decoded and /v1/status
 * (api/table.c routes to them; /metrics is metrics.c's). Answers come from the loop's
 * memory, except events, which are read from LMDB in a short read
 * transaction. docs/API.md has every route with an example. */
#include "api.h"

#include "hallbus/codec.h"
#include "hallbus/digest.h"
#include "hallbus/error.h"
#include "hallbus/eventrules.h"
#include "hallbus/json.h"
#include "hallbus/querynum.h"
#include "hallbus/version.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX 1000
#define HALLS_LIMIT_DEFAULT 1000
#define HALLS_LIMIT_MAX 100000

/* The link as HQ sees it: "ok", "blocked" (HQ refuses what the hall sends),
 * "revoked" (its key was removed), "expired" (its certificate's validity
 * ended: "certificate" says when), with the refusal and conflict behind
 * the alerts of the same names, and the clock skew seen. The state is the
 * ingest's (hq_ingest_hall_state), with online and offline both "ok" here:
 * "online" says which. */
static json_t *s_link_json(const hq_ingest_t *ing, const hq_hall_t *h)
{
    hq_link_state_t ls = hq_ingest_hall_state(ing, h);
    const char *state = ls == HQ_LINK_EXPIRED   ? "expired"
                        : ls == HQ_LINK_REVOKED ? "revoked"
                        : ls == HQ_LINK_BLOCKED ? "blocked"
                                                : "ok";
    json_t *o = json_pack("{s:s}", "state", state);
    if (h->blocked_code)
        json_object_set_new(
            o, "blocked",
            json_pack("{s:s, s:I, s:o, s:o}", "code", hq_reject_code_name(h->blocked_code), "seq",
                      (json_int_t)h->blocked_seq, "reason", hb_utf8_json_str(h->blocked_reason),
                      "since", hb_json_time(h->blocked_since_ms)));
    if (h->conflict_seq)
        json_object_set_new(o, "conflict",
                            json_pack("{s:I, s:o}", "seq", (json_int_t)h->conflict_seq, "since",
                                      hb_json_time(h->conflict_since_ms)));
    json_object_set_new(o, "clock_skew_ms",
                        h->skew_known ? json_integer((json_int_t)h->clock_skew_ms) : json_null());
    if (h->anomalies)
        json_object_set_new(o, "last_anomaly",
                            json_pack("{s:I, s:o}", "seq", (json_int_t)h->last_anomaly_seq,
                                      "stored", hb_json_time(h->last_anomaly_ms)));
    return o;
}

json_t *hqd_cert_json(hqd_t *hq, const char *hall)
{
    hq_zap_cert_t c;
    if (!hq->zap || !hq_zap_hall_cert(hq->zap, hall, &c))
        return json_null();
    bool dated = c.not_after_ms != INT64_MAX;
    return json_pack("{s:I, s:o, s:o, s:s}", "serial", (json_int_t)c.serial, "not_before",
                     dated ? hb_json_time(c.not_before_ms) : json_null(), "not_after",
                     dated ? hb_json_time(c.not_after_ms) : json_null(), "state",
                     hq_zap_cert_state(&c, hb_now_ms(), hq->cfg.cert_expiry_warn_ms));
}

static json_t *s_hall_json(hqd_t *hq, const hq_hall_t *h)
{
    char digest[HB_DIGEST_HEX], seen[HB_RFC3339_MAX];
    hb_digest_hex(&h->digest, digest);
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:b, s:s, s:I, s:I, s:I}", "hall", h->id, "last_seq",
                  (json_int_t)h->committed_seq, "events", (json_int_t)h->events, "online",
                  hq_ingest_hall_online(hq->ingest, h), "stream_digest", digest, "refused",
                  (json_int_t)h->refused, "policy_version",
                  (json_int_t)hq_downlink_applied(hq->downlink, h->id, false), "calendar_version",
                  (json_int_t)hq_downlink_applied(hq->downlink, h->id, true));
    if (h->last_seen_ms) {
        hb_time_format(h->last_seen_ms, seen);
        json_object_set_new(o, "last_seen", json_string(seen));
    } else {
        json_object_set_new(o, "last_seen", json_null());
    }
    json_object_set_new(o, "link", s_link_json(hq->ingest, h));
    json_object_set_new(o, "certificate", hqd_cert_json(hq, h->id));
    json_object_set_new(o, "anomalies", json_integer((json_int_t)h->anomalies));
    return o;
}

void hqd_api_get_halls(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    uint64_t offset = 0, limit = HALLS_LIMIT_DEFAULT;
    if (hb_http_query_number(req, "offset", 0, UINT32_MAX, &offset) != 0 ||
        hb_http_query_number(req, "limit", 0, HALLS_LIMIT_MAX, &limit) != 0)
        return;
    const hq_view_t *v = hqd_api_view(req, HB_PERM_LIVE_READ);
    if (!v)
        return;
    /* The halls in the caller's scope, counted and paged among themselves. */
    size_t count = hq_halls_count(hq->halls), total = 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        hq_hall_t *h = hq_halls_sorted(hq->halls, i);
        if (!v->all && !hq_view_hall_at(
                           v, hq_control_org_index(hq->control, h->id, &h->org_gen, &h->org_index)))
            continue;
        if (total >= offset && total < offset + limit)
            json_array_append_new(arr, s_hall_json(hq, h));
        total++;
    }
    hb_http_reply_json(req, 200,
                       json_pack("{s:I, s:I, s:o}", "total", (json_int_t)total, "offset",
                                 (json_int_t)offset, "halls", arr));
}

typedef struct events_ctx {
    json_t *arr;
    uint64_t next;
    int bad;
} events_ctx_t;

static int s_event_cb(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    events_ctx_t *c = arg;
    Hallbus__Envelope *env = hb_envelope_unpack(data, len);
    json_t *o = env ? hb_event_to_json(env) : NULL;
    if (!o) {
        o = json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "type", "undecodable");
        c->bad++;
    }
    json_array_append_new(c->arr, o);
    c->next = seq + 1;
    hb_envelope_free(env);
    return 0;
}

typedef struct flags_ctx {
    json_t *arr;
    uint64_t first;
} flags_ctx_t;

static int s_flag_cb(const hq_flag_t *flag, int64_t stored_ms, void *arg)
{
    flags_ctx_t *c = arg;
    json_t *ev = json_array_get(c->arr, (size_t)(flag->seq - c->first));
    if (ev)
        json_object_set_new(ev, "flag",
                            json_pack("{s:s, s:o, s:o}", "anomaly", hb_anomaly_name(flag->anomaly),
                                      "reason", hb_utf8_json_str(flag->reason), "stored",
                                      hb_json_time(stored_ms)));
    return 0;
}

hq_hall_t *hqd_api_path_hall(hqd_t *hq, hb_http_req_t *req)
{
    const char *id = hb_http_param(req, "hall");
    assert(id); /* the table's pattern names it */
    size_t idlen = strlen(id);
    if (idlen > HB_HALL_ID_MAX) {
        hb_http_reply_error(req, 404, "not_found", "no hall '%.64s'", id);
        return NULL;
    }
    hq_hall_t *h = hq_halls_find(hq->halls, id);
    if (!h)
        hb_http_reply_error(req, 404, "not_found", "no hall '%s' has sent anything to this HQ", id);
    return h;
}

void hqd_api_get_hall(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_hall_t *h = hqd_api_path_hall(hq, req);
    if (!h)
        return;
    json_t *o = s_hall_json(hq, h);
    json_object_set_new(o, "accepted_seq", json_integer((json_int_t)h->accepted_seq));
    json_object_set_new(o, "hall_last_seq", json_integer((json_int_t)h->hall_last_seq));
    hb_http_reply_json(req, 200, o);
}

/* The hall as the shared reducer mirrors it: the live `view`, or the
 * complete state (equal to the hall's own once its stream is here). */
static void s_reply_mirror(hb_http_req_t *req, hqd_t *hq, bool view)
{
    hq_hall_t *h = hqd_api_path_hall(hq, req);
    if (!h)
        return;
    hq_live_read_lock(hq->live);
    const hb_hall_state_t *st = hq_live_state(hq->live, h->num);
    json_t *o = !st ? NULL : view ? hb_hall_state_view(st, hb_now_ms()) : hb_hall_state_to_json(st);
    hq_live_read_unlock(hq->live);
    if (!st) {
        hb_http_reply_error(req, 404, "not_found", "hall '%s' has no event mirrored yet", h->id);
        return;
    }
    if (o)
        json_object_set_new(o, "hall", json_string(h->id));
    hb_http_reply_json(req, o ? 200 : 503, o);
}

void hqd_api_get_hall_state(hb_http_req_t *req, void *arg) { s_reply_mirror(req, arg, true); }

void hqd_api_get_hall_snapshot(hb_http_req_t *req, void *arg) { s_reply_mirror(req, arg, false); }

void hqd_api_get_hall_events(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_hall_t *h = hqd_api_path_hall(hq, req);
    if (!h)
        return;
    uint64_t from = 1, limit = EVENTS_LIMIT_DEFAULT;
    if (hb_http_query_number(req, "from", 0, UINT64_MAX >> 1, &from) != 0 ||
        hb_http_query_number(req, "limit", 0, EVENTS_LIMIT_MAX, &limit) != 0)
        return;
    events_ctx_t c = {.arr = json_array(), .next = from};
    int rc =
        hq_store_read_events(&hq->store, h->num, from ? from : 1, (size_t)limit, s_event_cb, &c);
    if (rc != 0) {
        json_decref(c.arr);
        hb_http_reply_error(req, 500, "storage", "cannot read the events: %s", hb_strerror(rc));
        return;
    }
    /* Events stored with a flag say so, and why. */
    size_t n_read = json_array_size(c.arr);
    if (h->anomalies && n_read > 0) {
        flags_ctx_t fc = {.arr = c.arr, .first = from ? from : 1};
        rc = hq_store_read_flags(&hq->store, h->num, fc.first, fc.first + n_read - 1, s_flag_cb,
                                 &fc);
        if (rc != 0) {
            json_decref(c.arr);
            hb_http_reply_error(req, 500, "storage", "cannot read the events' flags: %s",
                                hb_strerror(rc));
            return;
        }
    }
    json_t *body = json_pack("{s:s, s:I, s:o}", "hall", h->id, "last_seq",
                             (json_int_t)h->committed_seq, "events", c.arr);
    if (c.next <= h->committed_seq && json_array_size(c.arr) == limit)
        json_object_set_new(body, "next", json_integer((json_int_t)c.next));
    hb_http_reply_json(req, 200, body);
}

void hqd_api_get_status(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_ingest_stats_t st;
    hq_writer_stats_t ws;
    hq_ingest_get_stats(hq->ingest, &st);
    hq_writer_get_stats(hq->writer, &ws);
    json_t *refused = json_object();
    for (int i = 1; i < HQ_REJECT_CODES; i++)
        json_object_set_new(refused, hq_reject_code_name(i),
                            json_integer((json_int_t)st.refused_by_code[i]));
    char started[HB_RFC3339_MAX];
    hb_time_format(hq->started_ms, started);
    hq_live_stats_t ls;
    hq_live_get_stats(hq->live, &ls);
    json_t *body = json_pack(
        "{s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}, "
        "s:{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}, s:{s:I, s:I, s:I}, s:{s:I, s:I}, "
        "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}}",
        "listen", hq_ingest_endpoint(hq->ingest), "started", started, "halls",
        (json_int_t)hq_halls_count(hq->halls), "online",
        (json_int_t)hq_ingest_online_count(hq->ingest), "ingest", "frames", (json_int_t)st.frames,
        "batches", (json_int_t)st.batches, "events_received", (json_int_t)st.events_received,
        "events_duplicate", (json_int_t)st.events_duplicate, "events_unknown_kind",
        (json_int_t)st.events_unknown_kind, "acks_sent", (json_int_t)st.acks_sent, "send_dropped",
        (json_int_t)st.send_dropped, "unauthenticated", (json_int_t)st.unauthenticated, "refused",
        (json_int_t)st.refused, "refused_by_reason", refused, "writer", "commits",
        (json_int_t)ws.commits, "events", (json_int_t)ws.events, "failures",
        (json_int_t)ws.failures, "queued_events", (json_int_t)ws.queued_events, "queued_bytes",
        (json_int_t)ws.queued_bytes, "last_commit_ms", ws.last_commit_ms, "max_commit_ms",
        ws.max_commit_ms, "avg_commit_ms",
        ws.commits ? ws.total_commit_ms / (double)ws.commits : 0.0, "store", "bytes",
        (json_int_t)hb_store_size(&hq->store.store), "map_size",
        (json_int_t)hq->store.store.map_size, "map_grows", (json_int_t)hq->store.store.grow_count,
        "auth", "allowed", (json_int_t)hq_zap_allowed(hq->zap), "denied",
        (json_int_t)hq_zap_denied(hq->zap), "log", "unfolded_events", (json_int_t)ws.log_events,
        "unfolded_bytes", (json_int_t)ws.log_bytes, "unfolded_commits", (json_int_t)ws.log_entries,
        "max_bytes", (json_int_t)ws.log_max_bytes, "folds", (json_int_t)ws.folds, "fold_failures",
        (json_int_t)ws.fold_failures, "full_waits", (json_int_t)ws.log_full_waits, "last_fold_ms",
        ws.last_fold_ms, "max_fold_ms", ws.max_fold_ms);
    hq_board_stats_t bs;
    hq_board_get_stats(hq->board, &bs);
    json_t *ingest = json_object_get(body, "ingest");
    json_object_set_new(ingest, "events_flagged", json_integer((json_int_t)st.events_flagged));
    json_object_set_new(ingest, "revoked_messages", json_integer((json_int_t)st.revoked_messages));
    json_object_set_new(ingest, "conflicts", json_integer((json_int_t)st.conflicts));
    json_object_set_new(body, "http", hb_http_stats_json(hq->http));
    if (hq->auth)
        json_object_set_new(body, "access", hq_auth_stats_json(hq->auth));
    hb_version_json(body); /* which build answers */
    json_object_set_new(body, "board",
                        json_pack("{s:I, s:I, s:f, s:f}", "rounds", (json_int_t)bs.rounds,
                                  "tiles_published", (json_int_t)bs.tiles_published,
                                  "last_round_ms", bs.last_round_ms, "max_round_ms",
                                  hq->board_round_max_ms));
    alertstore_stats_t als;
    alertstore_get_stats(hq_alerting_store(hq->alerting), &als);
    json_object_set_new(body, "alerts",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "open",
                                  (json_int_t)als.open, "halls_alerting",
                                  (json_int_t)als.halls_alerting, "raised", (json_int_t)als.raised,
                                  "cleared", (json_int_t)als.cleared, "commits",
                                  (json_int_t)als.commits, "last_commit_ms", als.last_commit_ms,
                                  "max_commit_ms", als.max_commit_ms, "last_round_ms",
                                  hq->alert_round_ms, "max_round_ms", hq->alert_round_max_ms));
    json_object_set_new(
        body, "live",
        json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I}", "rebuilding", ls.rebuilding,
                  "events", (json_int_t)ls.events, "skipped", (json_int_t)ls.skipped, "anomalies",
                  (json_int_t)ls.anomalies, "queued_bytes", (json_int_t)ls.queued_bytes,
                  "rebuilt_events", (json_int_t)ls.rebuilt_events, "rebuilt_from_snapshots",
                  (json_int_t)ls.rebuilt_from_snapshots, "rebuild_ms", ls.rebuild_ms,
                  "snapshots_written", (json_int_t)ls.snapshots_written));
    /* A mirror that fell behind: batches its queue had no room for, read
     * back from the store (lag_events not yet). */
    json_t *live = json_object_get(body, "live");
    json_object_set_new(live, "dropped_batches", json_integer((json_int_t)ls.dropped_items));
    json_object_set_new(live, "caught_up_events", json_integer((json_int_t)ls.caught_up_events));
    json_object_set_new(live, "behind_halls", json_integer((json_int_t)ls.behind_halls));
    json_object_set_new(live, "lag_events", json_integer((json_int_t)ls.lag_events));
    hqd_api_reports_status(hq, body); /* rollups, retention, storage */
    hb_http_reply_json(req, 200, body);
}
