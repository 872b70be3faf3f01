/* HQ's alerting (see alerting.h). A hall's link state for the rules: when
 * it was last seen to change (up or down), tracked here from the ingest's
 * online test; at start every hall counts as having gone down then, so a
 * hall that does not come back raises hall_offline only after the grace,
 * not the moment hqd starts. */
#include "alerting.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <stdlib.h>
#include <string.h>

typedef struct link_state {
    bool known, online;
    int64_t since_ms;
} link_state_t;

struct hq_alerting {
    hq_alerting_config_t cfg;
    hq_control_t *ctl;
    hq_halls_t *halls;
    hq_ingest_t *ing;
    hq_live_t *live;
    hq_board_t *board;
    hq_sse_t *sse;
    alertstore_t *store;
    HB_VEC(link_state_t) links; /* by hall number */
    size_t cursor;              /* the next hall (sorted order) to look at */
    size_t left;                /* halls the round in progress has yet to look at */
    int64_t started_ms;
    bool counted;             /* the board got the restored open counts */
    HB_VEC(uint32_t) touched; /* halls whose alerts changed in the round */
    hq_alerting_change_fn listener;
    void *listener_arg;
};

void hq_alerting_set_listener(hq_alerting_t *a, hq_alerting_change_fn fn, void *arg)
{
    a->listener = fn;
    a->listener_arg = arg;
}

/* An alert's severity: its kind's, raised to critical for a complaint the
 * hall marked critical (read from the mirrored state while it is open). */
static int s_severity(hq_alerting_t *a, const alert_record_t *rec)
{
    int sev = alert_kind_info(rec->alert.kind)->severity;
    if (rec->alert.kind != ALERT_COMPLAINT_ACK_OVERDUE &&
        rec->alert.kind != ALERT_COMPLAINT_RESOLVE_OVERDUE)
        return sev;
    hq_live_read_lock(a->live);
    const hb_hall_state_t *st = hq_live_state(a->live, rec->hall_num);
    for (size_t i = 0; st && i < st->n_complaints; i++)
        if (strcmp(st->complaints[i].id, rec->alert.subject) == 0 &&
            st->complaints[i].severity == HALLBUS__SEVERITY__SEVERITY_CRITICAL)
            sev = ALERT_SEV_CRITICAL;
    hq_live_read_unlock(a->live);
    return sev;
}

int hq_alerting_new(const hq_alerting_config_t *cfg, hq_control_t *ctl, hq_halls_t *halls,
                    hq_ingest_t *ing, hq_live_t *live, hq_board_t *board, hq_sse_t *sse,
                    hq_alerting_t **out, char *err, size_t errlen)
{
    hq_alerting_t *a = calloc(1, sizeof *a);
    if (!a)
        return HB_ENOMEM;
    a->cfg = *cfg;
    if (a->cfg.rounds_per_second < 1)
        a->cfg.rounds_per_second = 1;
    a->ctl = ctl;
    a->halls = halls;
    a->ing = ing;
    a->live = live;
    a->board = board;
    a->sse = sse;
    a->links.max = HQ_HALLS_MAX + 1;
    a->touched.max = HQ_HALLS_MAX;
    a->started_ms = hb_now_ms();
    alertstore_config_t scfg;
    alertstore_config_default(&scfg);
    if (cfg->retention_ms > 0)
        scfg.retention_ms = cfg->retention_ms;
    int rc = alertstore_open(cfg->dir, &scfg, &a->store, err, errlen);
    if (rc != 0) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static void s_fini(hq_alerting_t *a)
{
    alertstore_close(&a->store);
    hb_vec_free(&a->links);
    hb_vec_free(&a->touched);
}

void hq_alerting_destroy(hq_alerting_t **ap) { HB_DESTROY(ap, s_fini); }

alertstore_t *hq_alerting_store(hq_alerting_t *a) { return a->store; }

static link_state_t *s_link(hq_alerting_t *a, uint32_t num) { return hb_vec_at(&a->links, num); }

static void s_touch(hq_alerting_t *a, uint32_t num)
{
    for (size_t i = 0; i < a->touched.n; i++)
        if (a->touched.v[i] == num)
            return;
    uint32_t *t = hb_vec_push(&a->touched);
    if (t)
        *t = num;
}

/* A committed raise or clear: onto the stream, and its hall's count onto
 * the board after the round. */
static void s_on_change(const alert_change_t *ch, void *arg)
{
    hq_alerting_t *a = arg;
    json_t *o = alert_record_json(&ch->rec);
    if (o) {
        json_object_set_new(o, "state",
                            json_string(ch->type == ALERT_CHANGE_RAISED ? "raised" : "cleared"));
        hq_sse_publish(a->sse, "alert", ch->rec.hall, NULL, o);
        json_decref(o);
    }
    if (a->listener)
        a->listener(ch, ch->type == ALERT_CHANGE_RAISED ? s_severity(a, &ch->rec) : 0,
                    a->listener_arg);
    s_touch(a, ch->rec.hall_num);
}

static void s_count_to_board(hq_alerting_t *a, uint32_t num)
{
    if (!hq_halls_by_num(a->halls, num))
        return;
    alertstore_filter_t f = {.hall_num = num};
    hq_board_set_alerts(a->board, num, (uint32_t)alertstore_open_count(a->store, &f));
}

static int s_count_cb(const alert_record_t *rec, void *arg)
{
    s_touch(arg, rec->hall_num);
    return 0;
}

/* After a restart the reason of a hall's last flagged event is read from
 * the store once, for the alert's detail. */
static void s_link_facts(hq_alerting_t *a, hq_hall_t *h)
{
    if (h->anomalies == 0 || h->last_anomaly_reason[0] || !a->cfg.store)
        return;
    hq_flag_t flag;
    if (hq_store_get_flag(a->cfg.store, h->num, h->last_anomaly_seq, &flag, NULL) == 0)
        snprintf(h->last_anomaly_reason, sizeof h->last_anomaly_reason, "%.*s",
                 (int)sizeof h->last_anomaly_reason - 1, flag.reason);
    else
        snprintf(h->last_anomaly_reason, sizeof h->last_anomaly_reason, "(reason not stored)");
}

/* Hall `h`'s alerts now, into the open batch; under the mirror's read
 * lock (released and taken again when the batch is full and commits). */
static void s_assess(hq_alerting_t *a, hq_hall_t *h, int64_t now)
{
    link_state_t *ls_h = s_link(a, h->num);
    if (!ls_h)
        return;
    bool online = hq_ingest_hall_online(a->ing, h);
    if (!ls_h->known) {
        ls_h->known = true;
        ls_h->online = online;
        ls_h->since_ms = online ? now : a->started_ms;
    } else if (ls_h->online != online) {
        ls_h->online = online;
        /* Down since it was last heard from; up since now. */
        ls_h->since_ms = online ? now : (h->last_seen_ms ? h->last_seen_ms : now);
    }
    hb_open_info_t oi;
    int64_t opening_start;
    /* The hall's place by the index it caches, not by its id. */
    int32_t idx = hq_control_org_index(a->ctl, h->id, &h->org_gen, &h->org_index);
    const hb_policy_t *p =
        hq_control_opening_at(a->ctl, idx, now, ALERTS_OPENING_BACK_DAYS, &oi, &opening_start);
    alert_set_t set;
    set.n = set.dropped = 0;
    if (p)
        alerts_eval_opening(hq_live_state(a->live, h->num), p, &a->cfg.params, online,
                            ls_h->since_ms, now, oi.state == HB_OPEN_NOW, opening_start, &set);
    s_link_facts(a, h);
    alerts_link_t link = {.blocked_code = h->blocked_code,
                          .blocked_seq = h->blocked_seq,
                          .blocked_since_ms = h->blocked_since_ms,
                          .blocked_reason = h->blocked_reason,
                          .conflict_seq = h->conflict_seq,
                          .conflict_since_ms = h->conflict_since_ms,
                          .skew_known = h->skew_known && online,
                          .clock_skew_ms = h->clock_skew_ms,
                          .anomalies = h->anomalies,
                          .last_anomaly_seq = h->last_anomaly_seq,
                          .last_anomaly_ms = h->last_anomaly_ms,
                          .last_anomaly_reason = h->last_anomaly_reason,
                          .disk_full_since_ms = h->disk_full_since_ms,
                          .disk_refused = h->disk_refused,
                          .disk_refused_seen_ms = h->disk_refused_seen_ms};
    for (int kind = 0; a->cfg.downlink && kind < 2; kind++)
        if (!hq_downlink_refusal_locked(a->cfg.downlink, h, kind, &link.refused_version[kind],
                                        &link.refused_reason[kind], &link.refused_code[kind]))
            link.refused_version[kind] = 0;
    hq_zap_cert_t cert;
    if (a->cfg.zap && hq_zap_hall_cert(a->cfg.zap, h->id, &cert) && cert.serial &&
        cert.not_after_ms != INT64_MAX) {
        link.cert_serial = cert.serial;
        link.cert_not_after_ms = cert.not_after_ms;
    }
    alerts_eval_link(&link, &a->cfg.params, now, &set);
    int rc = alertstore_apply(a->store, h->num, h->id, &set, now, NULL);
    if (rc == HB_ETOOBIG) {
        /* The batch is full: commit what it holds and take this hall
         * in a new one. */
        hq_live_read_unlock(a->live);
        alertstore_batch_commit(a->store, s_on_change, a);
        alertstore_batch_begin(a->store);
        hq_live_read_lock(a->live);
        rc = alertstore_apply(a->store, h->num, h->id, &set, now, NULL);
    }
    if (rc != 0)
        hb_log_once("alerting-apply", HB_LOG_WARN, "alerting: hall %s: %s", h->id, hb_strerror(rc));
}

bool hq_alerting_step(hq_alerting_t *a, double budget_ms)
{
    int64_t t0 = hb_mono_ns();
    if (!a->counted) {
        /* Alerts open before a restart show on the board at once. */
        alertstore_open_each(a->store, NULL, s_count_cb, a);
        for (size_t i = 0; i < a->touched.n; i++)
            s_count_to_board(a, a->touched.v[i]);
        a->touched.n = 0;
        a->counted = true;
    }
    hq_live_stats_t ls;
    hq_live_get_stats(a->live, &ls);
    size_t total = hq_halls_count(a->halls);
    if (ls.rebuilding || total == 0) {
        /* Half-built states would raise and clear at random. */
        a->left = 0;
        return false;
    }
    if (a->left == 0) /* a new round: its slice of the halls */
        a->left = (total + (size_t)a->cfg.rounds_per_second - 1) / (size_t)a->cfg.rounds_per_second;
    int64_t now = hb_now_ms();
    if (alertstore_batch_begin(a->store) != 0) {
        a->left = 0;
        return false;
    }
    hq_live_read_lock(a->live);
    for (size_t done = 1; a->left > 0; done++) {
        hq_hall_t *h = hq_halls_sorted(a->halls, a->cursor % total);
        a->cursor = (a->cursor + 1) % total;
        a->left--;
        if (h)
            s_assess(a, h, now);
        if ((done & 15) == 0 && hb_mono_spent(t0, budget_ms))
            break;
    }
    hq_live_read_unlock(a->live);
    /* An empty batch commits nothing (no sync). */
    int rc = alertstore_batch_commit(a->store, s_on_change, a);
    if (rc != 0)
        hb_log_once("alerting-commit", HB_LOG_ERROR, "alerting: cannot store alerts: %s",
                    hb_strerror(rc));
    for (size_t i = 0; i < a->touched.n; i++)
        s_count_to_board(a, a->touched.v[i]);
    a->touched.n = 0;
    return a->left > 0;
}

void hq_alerting_self(hq_alerting_t *a, const alert_set_t *set)
{
    if (alertstore_batch_begin(a->store) != 0)
        return;
    int rc =
        alertstore_apply(a->store, HQ_ALERTS_SELF_NUM, HQ_ALERTS_SELF_ID, set, hb_now_ms(), NULL);
    if (rc == 0)
        rc = alertstore_batch_commit(a->store, s_on_change, a);
    else
        alertstore_batch_abort(a->store);
    if (rc != 0)
        hb_log_once("alerting-self", HB_LOG_WARN, "alerting: cannot store HQ's own alerts: %s",
                    hb_strerror(rc));
    a->touched.n = 0; /* HQ is no hall of the board */
}

void hq_alerting_prune(hq_alerting_t *a)
{
    size_t deleted = 0;
    alertstore_prune(a->store, hb_now_ms(), 10000, &deleted);
    if (deleted)
        hb_debug("alerting: pruned %zu old alert(s)", deleted);
}
