/* Alerts that reach people (see notify.h). The loop thread keeps the
 * subscriptions, silences and the open alerts it follows in memory; each
 * followed alert remembers which (subscription, channel) pairs were queued
 * or done, and when it next needs a look (its next age threshold or
 * escalation step), so a tick costs the alerts that are due, not all of
 * them. The sender thread (sender.c) owns the queue's jobs once queued;
 * what a subscription is, and how its document is checked, is subs.c's.
 *
 * Escalation is computed, not stored: an alert's level is the number of
 * whole `escalate_after` periods since it was raised (at most 3), frozen by
 * an acknowledgement, so a restart needs nothing but the acknowledgements
 * and what was done. */
#include "notify_int.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_mark(hq_notify_t *n, const char *hall);

/* ------------------------------------------------------------- storage */

int notify_db_put(hq_notify_t *n, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    for (int tries = 0; tries < 4; tries++) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(n->db.env, NULL, 0, &txn);
        if (rc != 0)
            return HB_EDB;
        MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
        rc = mdb_put(txn, dbi, &k, &v, 0);
        rc = hb_store_txn_end(txn, rc);
        if (rc == 0)
            return 0;
        if (rc != MDB_MAP_FULL || hb_store_grow(&n->db) != 0)
            return rc == MDB_MAP_FULL ? HB_EMAPFULL : HB_EDB;
    }
    return HB_EMAPFULL;
}

int notify_db_del(hq_notify_t *n, MDB_dbi dbi, const void *key, size_t klen)
{
    return hb_store_del(&n->db, dbi, key, klen);
}

int notify_db_put_json(hq_notify_t *n, MDB_dbi dbi, const void *key, size_t klen, const json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return HB_ENOMEM;
    pthread_mutex_lock(&n->db_mu);
    int rc = notify_db_put(n, dbi, key, klen, text, strlen(text));
    pthread_mutex_unlock(&n->db_mu);
    free(text);
    return rc;
}

uint64_t notify_next_meta(hq_notify_t *n, MDB_txn *txn, const char *name)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    uint64_t next = 1;
    if (mdb_get(txn, n->dbi_meta, &k, &v) == 0 && v.mv_size == 8)
        next = hb_get_be64(v.mv_data);
    uint8_t b[8];
    hb_put_be64(b, next + 1);
    MDB_val nv = {8, b};
    mdb_put(txn, n->dbi_meta, &k, &nv, 0);
    return next;
}

/* Everything followed gets a look at the next tick (a subscription, a
 * silence or an acknowledgement changed what is due). */
void notify_look_again(hq_notify_t *n)
{
    for (size_t i = 0; i < n->followed.n; i++)
        n->followed.v[i].next_ms = 0;
}

/* ------------------------------------------------------------ silences */

static int s_silence_parse(hq_notify_t *n, const json_t *doc, const char *by, notify_silence_t *s,
                           char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (!json_is_object(doc)) {
        hb_errf(err, errlen, "a silence is a JSON object");
        return HB_EINVAL;
    }
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    if (!reason || !reason[0] || strlen(reason) >= NOTIFY_TEXT_MAX || !hb_utf8_valid_str(reason)) {
        hb_errf(err, errlen, "reason: required, text of at most %d bytes", NOTIFY_TEXT_MAX - 1);
        return HB_EINVAL;
    }
    const char *until = json_string_value(json_object_get(doc, "until"));
    if (!until || hb_time_parse(until, &s->until_ms) != 0) {
        hb_errf(err, errlen, "until: required, an RFC 3339 time");
        return HB_EINVAL;
    }
    if (s->until_ms <= hb_now_ms()) {
        hb_errf(err, errlen, "until: the silence would be over already");
        return HB_EINVAL;
    }
    notify_sub_t scope;
    memset(&scope, 0, sizeof scope);
    const char *sc = json_string_value(json_object_get(doc, "scope"));
    int rc = notify_scope_parse(n, sc ? sc : "network", &scope, err, errlen);
    if (rc != 0)
        return rc;
    s->scope_kind = scope.scope_kind;
    snprintf(s->scope_id, sizeof s->scope_id, "%s", scope.scope_id);
    rc = notify_kinds_parse(json_object_get(doc, "kinds"), &s->kinds, err, errlen);
    if (rc != 0)
        return rc;
    json_t *al = json_object_get(doc, "alert");
    if (json_is_null(al))
        al = NULL;
    if (al && (!json_is_integer(al) || json_integer_value(al) < 1)) {
        hb_errf(err, errlen, "alert: an alert id");
        return HB_EINVAL;
    }
    s->alert_id = al ? (uint64_t)json_integer_value(al) : 0;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    snprintf(s->by, sizeof s->by, "%.63s", by && by[0] ? by : "unknown");
    return 0;
}

static json_t *s_silence_json(const notify_silence_t *s)
{
    char until[HB_RFC3339_MAX], at[HB_RFC3339_MAX], scope[NOTIFY_ID_MAX + 8];
    hb_time_format(s->until_ms, until);
    hb_time_format(s->created_ms, at);
    if (s->scope_kind == NOTIFY_SCOPE_NETWORK)
        snprintf(scope, sizeof scope, "network");
    else
        snprintf(scope, sizeof scope, "%s/%s",
                 s->scope_kind == NOTIFY_SCOPE_REGION ? "region" : "hall", s->scope_id);
    json_t *kinds = json_array();
    if (s->kinds == NOTIFY_ALL_KINDS)
        json_array_append_new(kinds, json_string("*"));
    else
        for (int k = 1; k < 64; k++)
            if (s->kinds & ((uint64_t)1 << k))
                json_array_append_new(kinds, json_string(alert_kind_name(k)));
    return json_pack("{s:I, s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "id", (json_int_t)s->id, "scope",
                     scope, "kinds", kinds, "alert",
                     s->alert_id ? json_integer((json_int_t)s->alert_id) : json_null(), "until",
                     until, "reason", s->reason, "by", s->by, "created", at);
}

static int s_silence_store(hq_notify_t *n, notify_silence_t *s, json_t **out)
{
    if (n->silences.n >= NOTIFY_SILENCES_MAX)
        return HB_ETOOBIG;
    pthread_mutex_lock(&n->db_mu);
    MDB_txn *txn;
    int rc = mdb_txn_begin(n->db.env, NULL, 0, &txn) == 0 ? 0 : HB_EDB;
    if (rc == 0) {
        s->id = notify_next_meta(n, txn, "next_silence");
        rc = mdb_txn_commit(txn) == 0 ? 0 : HB_EDB;
    }
    pthread_mutex_unlock(&n->db_mu);
    if (rc != 0)
        return rc;
    s->created_ms = hb_now_ms();
    json_t *o = s_silence_json(s);
    if (!o)
        return HB_ENOMEM;
    uint8_t key[8];
    hb_put_be64(key, s->id);
    rc = notify_db_put_json(n, n->dbi_silences, key, 8, o);
    if (rc != 0) {
        json_decref(o);
        return rc;
    }
    notify_silence_t *slot = hb_vec_push(&n->silences);
    if (slot)
        *slot = *s;
    notify_look_again(n);
    *out = o;
    return slot ? 0 : HB_ENOMEM;
}

int hq_notify_silence_add(hq_notify_t *n, const json_t *doc, const char *by, json_t **out,
                          char *err, size_t errlen)
{
    *out = NULL;
    notify_silence_t s;
    int rc = s_silence_parse(n, doc, by, &s, err, errlen);
    if (rc == 0)
        rc = s_silence_store(n, &s, out);
    return rc;
}

static const void *s_followed_key(const void *owner, uint32_t index)
{
    const hq_notify_t *n = owner;
    return &n->followed.v[index].alert.rec.id;
}

static notify_followed_t *s_followed(hq_notify_t *n, uint64_t alert_id, size_t *index)
{
    int32_t i = hb_idmap_find(&n->followed_by_id, n, &alert_id);
    if (i < 0)
        return NULL;
    if (index)
        *index = (size_t)i;
    return &n->followed.v[i];
}

int hq_notify_silence_alert(hq_notify_t *n, uint64_t alert_id, const json_t *doc, const char *by,
                            json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    notify_followed_t *f = s_followed(n, alert_id, NULL);
    if (!f) {
        hb_errf(err, errlen, "alert %" PRIu64 " is not open", alert_id);
        return HB_ENOTFOUND;
    }
    json_t *d = json_is_object(doc) ? json_deep_copy(doc) : json_object();
    if (!d)
        return HB_ENOMEM;
    char scope[HB_HALL_ID_MAX + 8];
    snprintf(scope, sizeof scope, "hall/%s", f->alert.rec.hall);
    json_object_set_new(d, "scope", json_string(scope));
    json_object_set_new(d, "kinds", json_pack("[s]", alert_kind_name(f->alert.rec.alert.kind)));
    json_object_set_new(d, "alert", json_integer((json_int_t)alert_id));
    notify_silence_t s;
    int rc = s_silence_parse(n, d, by, &s, err, errlen);
    json_decref(d);
    if (rc == HB_ENOTFOUND) {
        /* A hall the organisation does not place: the alert's id alone. */
        memset(&s, 0, sizeof s);
        rc = HB_EINVAL;
    }
    if (rc == 0)
        rc = s_silence_store(n, &s, out);
    return rc;
}

int hq_notify_silence_scope(hq_notify_t *n, uint64_t id, char *out, size_t outlen)
{
    for (size_t i = 0; i < n->silences.n; i++) {
        const notify_silence_t *s = &n->silences.v[i];
        if (s->id != id)
            continue;
        if (s->scope_kind == NOTIFY_SCOPE_NETWORK)
            snprintf(out, outlen, "network");
        else
            snprintf(out, outlen, "%s/%s", s->scope_kind == NOTIFY_SCOPE_REGION ? "region" : "hall",
                     s->scope_id);
        return 0;
    }
    return HB_ENOTFOUND;
}

int hq_notify_silence_delete(hq_notify_t *n, uint64_t id)
{
    for (size_t i = 0; i < n->silences.n; i++) {
        if (n->silences.v[i].id != id)
            continue;
        uint8_t key[8];
        hb_put_be64(key, id);
        pthread_mutex_lock(&n->db_mu);
        int rc = notify_db_del(n, n->dbi_silences, key, 8);
        pthread_mutex_unlock(&n->db_mu);
        if (rc != 0)
            return rc;
        n->silences.v[i] = n->silences.v[n->silences.n - 1];
        n->silences.n--;
        notify_look_again(n);
        return 0;
    }
    return HB_ENOTFOUND;
}

json_t *hq_notify_silences_json(hq_notify_t *n)
{
    json_t *a = json_array();
    int64_t now = hb_now_ms();
    for (size_t i = 0; a && i < n->silences.n; i++)
        if (n->silences.v[i].until_ms > now)
            json_array_append_new(a, s_silence_json(&n->silences.v[i]));
    return json_pack("{s:o}", "silences", a);
}

/* ------------------------------------------------------ acknowledgements */

int hq_notify_ack(hq_notify_t *n, uint64_t alert_id, const char *by, const char *note, json_t **out,
                  char *err, size_t errlen)
{
    *out = NULL;
    notify_followed_t *f = s_followed(n, alert_id, NULL);
    if (!f) {
        alert_record_t rec;
        if (alertstore_get(n->alerts, alert_id, &rec) == 0) {
            hb_errf(err, errlen, "alert %" PRIu64 " is cleared already", alert_id);
            return HB_ECONFLICT;
        }
        hb_errf(err, errlen, "no alert %" PRIu64, alert_id);
        return HB_ENOTFOUND;
    }
    if (f->acked) {
        hb_errf(err, errlen, "alert %" PRIu64 " is acknowledged already", alert_id);
        return HB_ECONFLICT;
    }
    if (note && (strlen(note) >= NOTIFY_TEXT_MAX || !hb_utf8_valid_str(note))) {
        hb_errf(err, errlen, "note: text of at most %d bytes", NOTIFY_TEXT_MAX - 1);
        return HB_EINVAL;
    }
    int64_t now = hb_now_ms();
    char at[HB_RFC3339_MAX];
    hb_time_format(now, at);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i}", "alert", (json_int_t)alert_id, "by",
                          by && by[0] ? by : "unknown", "note", note ? note : "", "at", at, "level",
                          notify_level_at(n, &f->alert.rec, now));
    if (!o)
        return HB_ENOMEM;
    uint8_t key[8];
    hb_put_be64(key, alert_id);
    int rc = notify_db_put_json(n, n->dbi_acks, key, 8, o);
    if (rc != 0) {
        json_decref(o);
        return rc;
    }
    f->acked = true;
    f->acked_ms = now;
    if (f->on_hall_page)
        s_mark(n, f->alert.rec.hall);
    *out = o;
    return 0;
}

json_t *hq_notify_ack_json(hq_notify_t *n, uint64_t alert_id)
{
    uint8_t key[8];
    hb_put_be64(key, alert_id);
    json_t *o = NULL;
    pthread_mutex_lock(&n->db_mu);
    MDB_txn *txn;
    if (mdb_txn_begin(n->db.env, NULL, MDB_RDONLY, &txn) == 0) {
        MDB_val k = {8, key}, v;
        if (mdb_get(txn, n->dbi_acks, &k, &v) == 0)
            o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        mdb_txn_abort(txn);
    }
    pthread_mutex_unlock(&n->db_mu);
    return o;
}

/* --------------------------------------------------------------- rounds */

int notify_level_at(const hq_notify_t *n, const alert_record_t *rec, int64_t now_ms)
{
    if (n->cfg.escalate_after_ms <= 0 || now_ms <= rec->raised_ms)
        return 0;
    int64_t steps = (now_ms - rec->raised_ms) / n->cfg.escalate_after_ms;
    return steps > 3 ? 3 : (int)steps;
}

/* Whether hall `hall` (its organisation entry, NULL when not placed) lies
 * in a scope. */
static bool s_in_scope(const org_t *org, int kind, const char *id, const char *hall,
                       const org_hall_t *oh)
{
    if (kind == NOTIFY_SCOPE_NETWORK)
        return true;
    if (kind == NOTIFY_SCOPE_HALL)
        return strcmp(id, hall) == 0;
    if (!oh)
        return false;
    const org_region_t *r = org_region_find(org, id);
    return r && org_region_contains(org, r, org_region_at(org, oh->city));
}

static bool s_done(const notify_followed_t *f, uint64_t key)
{
    for (size_t i = 0; i < f->done.n; i++)
        if (f->done.v[i] == key)
            return true;
    return false;
}

static void s_fill_place(hq_notify_t *n, notify_alert_t *a, const org_hall_t **ohp)
{
    const org_t *org = hq_control_org(n->ctl);
    const org_hall_t *oh = org_hall_find(org, a->rec.hall);
    *ohp = oh;
    a->hall_name[0] = a->city[0] = a->province[0] = '\0';
    if (!oh)
        return;
    if (oh->name)
        a->hall_name[hb_utf8_copy(a->hall_name, sizeof a->hall_name, oh->name)] = '\0';
    const org_region_t *chain[3];
    if (org_hall_chain_at(org, oh, chain) == 0) {
        if (chain[0])
            snprintf(a->city, sizeof a->city, "%s", chain[0]->id);
        if (chain[1])
            snprintf(a->province, sizeof a->province, "%s", chain[1]->id);
    }
}

/* The end of the silence that holds the alert now, or 0. */
static int64_t s_silenced_until(hq_notify_t *n, const notify_followed_t *f, const org_hall_t *oh,
                                int64_t now)
{
    const org_t *org = hq_control_org(n->ctl);
    int64_t until = 0;
    for (size_t i = 0; i < n->silences.n; i++) {
        const notify_silence_t *s = &n->silences.v[i];
        if (s->until_ms <= now || s->until_ms <= until)
            continue;
        if (s->alert_id && s->alert_id != f->alert.rec.id)
            continue;
        if (!(s->kinds & ((uint64_t)1 << (f->alert.rec.alert.kind & 63))))
            continue;
        if (!s_in_scope(org, s->scope_kind, s->scope_id, f->alert.rec.hall, oh))
            continue;
        until = s->until_ms;
    }
    return until;
}

/* The hall's notices changed: they go down at the next tick. */
static void s_mark(hq_notify_t *n, const char *hall)
{
    for (size_t i = 0; i < n->dirty.n; i++)
        if (strcmp(n->dirty.v[i].id, hall) == 0)
            return;
    if (hb_vec_push(&n->dirty))
        snprintf(n->dirty.v[n->dirty.n - 1].id, HB_HALL_ID_MAX, "%s", hall);
}

void hq_notify_set_notices_sink(hq_notify_t *n, hq_notify_notices_fn fn, void *arg)
{
    n->notices_fn = fn;
    n->notices_arg = arg;
}

void hq_notify_hall_hello(hq_notify_t *n, const char *hall) { s_mark(n, hall); }

/* One followed alert: queues what is due, and says when to look again. */
static void s_consider(hq_notify_t *n, notify_followed_t *f, int64_t now)
{
    f->next_ms = INT64_MAX;
    const org_hall_t *oh;
    s_fill_place(n, &f->alert, &oh);
    int64_t silenced = s_silenced_until(n, f, oh, now);
    if (silenced) {
        f->next_ms = silenced;
        if (!f->counted_silence) {
            f->counted_silence = true;
            pthread_mutex_lock(&n->q_mu);
            n->stats.silenced++;
            pthread_mutex_unlock(&n->q_mu);
        }
        return;
    }
    const org_t *org = hq_control_org(n->ctl);
    const alert_record_t *rec = &f->alert.rec;
    /* An acknowledged alert stays at the level it had reached: someone
     * has it, so it goes no higher. */
    f->alert.level = notify_level_at(n, rec, f->acked ? f->acked_ms : now);
    for (size_t i = 0; i < n->subs.n; i++) {
        const notify_sub_t *s = &n->subs.v[i];
        if (!(s->kinds & ((uint64_t)1 << (rec->alert.kind & 63))) ||
            f->alert.severity < s->min_severity ||
            !s_in_scope(org, s->scope_kind, s->scope_id, rec->hall, oh))
            continue;
        int64_t due = rec->raised_ms + s->min_age_s * 1000;
        if (s->escalated && s->level > 0) {
            /* It reaches this level after `level` escalation periods,
             * unless it was acknowledged below it. */
            if (n->cfg.escalate_after_ms <= 0 || (f->acked && s->level > f->alert.level))
                continue;
            int64_t at = rec->raised_ms + (int64_t)s->level * n->cfg.escalate_after_ms;
            if (at > due)
                due = at;
        }
        if (due > now) {
            if (due < f->next_ms)
                f->next_ms = due;
            continue;
        }
        for (size_t c = 0; c < s->n_channels; c++) {
            uint64_t key = NOTIFY_DONE_KEY(s->num, c);
            if (s_done(f, key))
                continue;
            int rc = notify_sender_queue(n, &f->alert, s, c);
            if (rc == 0 && s->ch[c].type == NOTIFY_CH_HALL_PAGE && !f->on_hall_page) {
                f->on_hall_page = true;
                s_mark(n, rec->hall);
            }
            if (rc == 0) {
                uint64_t *slot = hb_vec_push(&f->done);
                if (slot)
                    *slot = key;
            } else if (f->next_ms > now + 1000) {
                f->next_ms = now + 1000; /* the queue is full: again next second */
            }
        }
    }
}

void hq_notify_tick(hq_notify_t *n, int64_t now_ms)
{
    for (size_t i = 0; i < n->followed.n; i++)
        if (n->followed.v[i].next_ms <= now_ms)
            s_consider(n, &n->followed.v[i], now_ms);
    for (size_t i = 0; n->notices_fn && i < n->dirty.n; i++) {
        json_t *o = hq_notify_hall_notices(n, n->dirty.v[i].id);
        if (o)
            n->notices_fn(n->dirty.v[i].id, o, n->notices_arg);
        json_decref(o);
    }
    n->dirty.n = 0;
}

static void s_follow(hq_notify_t *n, const alert_record_t *rec, int severity)
{
    if (s_followed(n, rec->id, NULL))
        return;
    notify_followed_t *f = hb_vec_push(&n->followed);
    if (f) {
        memset(f, 0, sizeof *f);
        f->alert.rec = *rec;
        f->alert.severity = severity;
        f->done.max = NOTIFY_SUBS_MAX * NOTIFY_CHANNELS_MAX;
        if (hb_idmap_add(&n->followed_by_id, n, (uint32_t)(n->followed.n - 1)) != 0) {
            n->followed.n--;
            f = NULL;
        }
    }
    if (!f)
        hb_log_once("notify-follow", HB_LOG_WARN, "notify: cannot follow alert %" PRIu64, rec->id);
}

void hq_notify_on_change(hq_notify_t *n, const alert_change_t *ch, int severity)
{
    if (ch->type == ALERT_CHANGE_RAISED) {
        s_follow(n, &ch->rec, severity);
        return;
    }
    size_t i;
    notify_followed_t *f = s_followed(n, ch->rec.id, &i);
    if (!f)
        return;
    /* What was done for it is forgotten with it (the sender deletes the
     * stored marks). */
    notify_sender_forget(n, ch->rec.id);
    if (f->on_hall_page)
        s_mark(n, f->alert.rec.hall);
    hb_vec_free(&f->done);
    /* Swap-remove, keeping the map in step: the last record moves to i. */
    uint64_t id = ch->rec.id;
    hb_idmap_remove(&n->followed_by_id, n, &id);
    size_t last = n->followed.n - 1;
    if (i != last) {
        n->followed.v[i] = n->followed.v[last];
        hb_idmap_renumber(&n->followed_by_id, n, &n->followed.v[last].alert.rec.id, (uint32_t)i);
    }
    n->followed.n--;
}

/* ---------------------------------------------------------------- setup */

typedef struct load_ctx {
    hq_notify_t *n;
} load_ctx_t;

static int s_load_open(const alert_record_t *rec, void *arg)
{
    hq_notify_t *n = arg;
    s_follow(n, rec, alert_kind_info(rec->alert.kind)->severity);
    return 0;
}

static int s_load(hq_notify_t *n, char *err, size_t errlen)
{
    MDB_txn *txn;
    if (mdb_txn_begin(n->db.env, NULL, MDB_RDONLY, &txn) != 0) {
        hb_errf(err, errlen, "cannot read the notify store");
        return HB_EDB;
    }
    MDB_cursor *cur;
    MDB_val k, v;
    mdb_cursor_open(txn, n->dbi_subs, &cur);
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        json_t *doc = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        char id[NOTIFY_ID_MAX];
        snprintf(id, sizeof id, "%.*s", (int)(k.mv_size < 64 ? k.mv_size : 64),
                 (const char *)k.mv_data);
        uint32_t num = (uint32_t)json_integer_value(json_object_get(doc, "num"));
        json_object_del(doc, "num");
        notify_sub_t s;
        char why[256];
        /* A subscription whose scope left the organisation stays stored
         * and idle until the scope is back or it is edited. */
        int rc = doc ? notify_sub_parse(n, id, doc, &s, why, sizeof why) : HB_EPARSE;
        json_decref(doc);
        if (rc != 0) {
            hb_warn("notify: subscription %s not in force: %s", id,
                    rc == HB_EPARSE ? "does not decode" : why);
            continue;
        }
        s.num = num;
        json_object_set_new(s.doc, "num", json_integer(num));
        notify_sub_t *slot = hb_vec_push(&n->subs);
        if (slot)
            *slot = s;
        else
            json_decref(s.doc);
    }
    mdb_cursor_close(cur);
    int64_t now = hb_now_ms();
    mdb_cursor_open(txn, n->dbi_silences, &cur);
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        json_t *doc = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        notify_silence_t s;
        memset(&s, 0, sizeof s);
        int64_t until = 0, created = 0;
        hb_time_parse(json_string_value(json_object_get(doc, "until")), &until);
        hb_time_parse(json_string_value(json_object_get(doc, "created")), &created);
        if (until > now) {
            char why[256];
            /* Parsed as new, then given back its stored times and id. */
            json_t *d = json_deep_copy(doc);
            char future[HB_RFC3339_MAX];
            hb_time_format(now + 1000, future);
            json_object_set_new(d, "until", json_string(future));
            int prc = s_silence_parse(n, d, json_string_value(json_object_get(doc, "by")), &s, why,
                                      sizeof why);
            if (prc != 0)
                hb_warn("notify: a stored silence is not in force: %s", why);
            if (prc == 0) {
                s.id = k.mv_size == 8 ? hb_get_be64(k.mv_data) : 0;
                s.until_ms = until;
                s.created_ms = created;
                notify_silence_t *slot = hb_vec_push(&n->silences);
                if (slot)
                    *slot = s;
            }
            json_decref(d);
        }
        json_decref(doc);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    /* The open alerts, with their acknowledgements and what was done. */
    alertstore_open_each(n->alerts, NULL, s_load_open, n);
    if (mdb_txn_begin(n->db.env, NULL, MDB_RDONLY, &txn) != 0)
        return HB_EDB;
    for (size_t i = 0; i < n->followed.n; i++) {
        notify_followed_t *f = &n->followed.v[i];
        uint8_t key[8];
        hb_put_be64(key, f->alert.rec.id);
        MDB_val ak = {8, key};
        if (mdb_get(txn, n->dbi_acks, &ak, &v) == 0) {
            json_t *a = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            f->acked = true;
            if (hb_time_parse(json_string_value(json_object_get(a, "at")), &f->acked_ms) != 0)
                f->acked_ms = f->alert.rec.raised_ms;
            json_decref(a);
        }
        mdb_cursor_open(txn, n->dbi_done, &cur);
        MDB_val dk = {8, key};
        int rc = mdb_cursor_get(cur, &dk, &v, MDB_SET_RANGE);
        while (rc == 0 && dk.mv_size == 13 && memcmp(dk.mv_data, key, 8) == 0) {
            const uint8_t *p = dk.mv_data;
            uint64_t *slot = hb_vec_push(&f->done);
            if (slot)
                *slot = NOTIFY_DONE_KEY(hb_get_be32(p + 8), p[12]);
            /* A notice on the hall's page stays there after a restart. */
            for (size_t s = 0; s < n->subs.n; s++)
                if (n->subs.v[s].num == hb_get_be32(p + 8) && p[12] < n->subs.v[s].n_channels &&
                    n->subs.v[s].ch[p[12]].type == NOTIFY_CH_HALL_PAGE)
                    f->on_hall_page = true;
            rc = mdb_cursor_get(cur, &dk, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return 0;
}

int hq_notify_new(const hq_notify_config_t *cfg, hq_control_t *ctl, alertstore_t *alerts,
                  hq_notify_t **out, char *err, size_t errlen)
{
    *out = NULL;
    hq_notify_t *n = calloc(1, sizeof *n);
    if (!n)
        return HB_ENOMEM;
    n->cfg = *cfg;
    if (n->cfg.queue_max == 0)
        n->cfg.queue_max = 10000;
    if (n->cfg.attempts_max < 1)
        n->cfg.attempts_max = 1;
    if (n->cfg.retry_first_ms <= 0)
        n->cfg.retry_first_ms = 1000;
    if (n->cfg.retry_max_ms < n->cfg.retry_first_ms)
        n->cfg.retry_max_ms = n->cfg.retry_first_ms;
    if (n->cfg.timeout_ms <= 0)
        n->cfg.timeout_ms = 10000;
    if (n->cfg.deliveries_max == 0)
        n->cfg.deliveries_max = 100000;
    snprintf(n->smtp_url, sizeof n->smtp_url, "%s", cfg->smtp_url ? cfg->smtp_url : "");
    snprintf(n->smtp_from, sizeof n->smtp_from, "%s",
             cfg->smtp_from && cfg->smtp_from[0] ? cfg->smtp_from : "hallbus@localhost");
    snprintf(n->external_url, sizeof n->external_url, "%s",
             cfg->external_url ? cfg->external_url : "");
    n->cfg.smtp_url = n->smtp_url;
    n->cfg.smtp_from = n->smtp_from;
    n->cfg.external_url = n->external_url;
    n->ctl = ctl;
    n->alerts = alerts;
    n->subs.max = NOTIFY_SUBS_MAX;
    n->silences.max = NOTIFY_SILENCES_MAX;
    n->followed.max = 4 * 1024 * 1024;
    n->dirty.max = 1024 * 1024;
    hb_idmap_init_bytes(&n->followed_by_id, n->followed.max, sizeof(uint64_t), 0, s_followed_key);
    pthread_mutex_init(&n->db_mu, NULL);
    if (hb_store_open(&n->db, cfg->dir, (size_t)64 << 20, (size_t)4 << 30, 8) != 0) {
        hb_errf(err, errlen, "cannot open %s", cfg->dir);
        pthread_mutex_destroy(&n->db_mu);
        free(n);
        return HB_EDB;
    }
    const hb_store_db_t dbs[] = {
        {"subs", &n->dbi_subs}, {"silences", &n->dbi_silences},     {"acks", &n->dbi_acks},
        {"done", &n->dbi_done}, {"deliveries", &n->dbi_deliveries}, {"meta", &n->dbi_meta}};
    int rc = hb_store_dbis(&n->db, dbs, sizeof dbs / sizeof dbs[0]);
    if (rc == 0)
        rc = s_load(n, err, errlen);
    if (rc == 0)
        rc = notify_sender_start(n, err, errlen);
    if (rc != 0) {
        hq_notify_destroy(&n);
        return rc;
    }
    hb_info("notify: %zu subscription(s), %zu silence(s), %zu open alert(s) followed", n->subs.n,
            n->silences.n, n->followed.n);
    *out = n;
    return 0;
}

static void s_fini(hq_notify_t *n)
{
    notify_sender_stop(n);
    for (size_t i = 0; i < n->subs.n; i++)
        json_decref(n->subs.v[i].doc);
    hb_vec_free(&n->subs);
    hb_vec_free(&n->silences);
    for (size_t i = 0; i < n->followed.n; i++)
        hb_vec_free(&n->followed.v[i].done);
    hb_vec_free(&n->followed);
    hb_idmap_free(&n->followed_by_id);
    hb_vec_free(&n->dirty);
    hb_store_close(&n->db);
    pthread_mutex_destroy(&n->db_mu);
}

void hq_notify_destroy(hq_notify_t **np) { HB_DESTROY(np, s_fini); }

void hq_notify_get_stats(hq_notify_t *n, hq_notify_stats_t *out)
{
    pthread_mutex_lock(&n->q_mu);
    *out = n->stats;
    out->queue = n->q_len;
    pthread_mutex_unlock(&n->q_mu);
    out->subs = n->subs.n;
    out->silences = n->silences.n;
    out->followed = n->followed.n;
}

json_t *hq_notify_hall_notices(hq_notify_t *n, const char *hall)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n->followed.n; i++) {
        notify_followed_t *f = &n->followed.v[i];
        if (strcmp(f->alert.rec.hall, hall) != 0 || !f->on_hall_page)
            continue;
        char zh[512], en[512], at[HB_RFC3339_MAX];
        notify_words(&f->alert.rec.alert, NOTIFY_ZH, zh, sizeof zh);
        notify_words(&f->alert.rec.alert, NOTIFY_EN, en, sizeof en);
        hb_time_format(f->alert.rec.raised_ms, at);
        json_array_append_new(a, json_pack("{s:I, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:b}", "alert",
                                           (json_int_t)f->alert.rec.id, "kind",
                                           alert_kind_name(f->alert.rec.alert.kind), "params",
                                           alert_params_json(&f->alert.rec.alert), "severity",
                                           alert_severity_name(f->alert.severity), "level",
                                           notify_level_name(f->alert.level), "text_zh", zh,
                                           "text_en", en, "raised", at, "acknowledged", f->acked));
    }
    return json_pack("{s:s, s:o}", "hall", hall, "notices", a);
}
