/* The downlink (see downlink.h). For each hall, by hall number, what was
 * last sent and when; what the hall runs comes from its Hello (hq_hall_t)
 * and from the live mirror's state (the hall's own *_applied events), the
 * larger of the two. The halls the rollout is about are the organisation's
 * and those that ever connected. */
#include "downlink.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"
#include "hallbus/vec.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct dl_hall {
    uint64_t sent[2];            /* [policy, calendar] version last sent */
    int64_t sent_mono[2];        /* when */
    char refused[2][160];        /* why it could not be built or sent, "" when fine */
    const char *refused_code[2]; /* and its code (static), for the dashboard */
    /* What the hall says it refused (its Hello and heartbeats): a version
     * (0: none) and why, allocated only while there is one, since a
     * refusal is rare and HQ keeps a record per hall. */
    uint64_t hall_refused[2];
    char *hall_reason[2];
    char hall_code[2][DL_CODE_MAX]; /* the hall's code for it, "" when none */
} dl_hall_t;

struct hq_downlink {
    hq_downlink_config_t cfg;
    hq_control_t *ctl;
    hq_ingest_t *ing;
    hq_halls_t *halls;
    hq_live_t *live;
    HB_VEC(dl_hall_t) per; /* by hall number */
    size_t cursor;         /* the next hall (sorted order) the rollout looks at */
    bool in_round;         /* a rollout round is under way (hq_downlink_step) */
    size_t seen;           /* halls the round has looked at */
    uint32_t sends_left;   /* documents the round may still send */
    uint64_t sent_total[2];
};

static dl_hall_t *s_per(hq_downlink_t *dl, uint32_t num) { return hb_vec_at(&dl->per, num); }

int hq_downlink_new(hq_control_t *ctl, hq_ingest_t *ing, hq_halls_t *halls, hq_live_t *live,
                    const hq_downlink_config_t *cfg, hq_downlink_t **out)
{
    hq_downlink_t *dl = calloc(1, sizeof *dl);
    if (!dl)
        return HB_ENOMEM;
    dl->cfg = *cfg;
    dl->ctl = ctl;
    dl->ing = ing;
    dl->halls = halls;
    dl->live = live;
    dl->per.max = HQ_HALLS_MAX + 1;
    *out = dl;
    return 0;
}

static void s_fini(hq_downlink_t *dl)
{
    for (size_t i = 0; i < dl->per.n; i++)
        for (int k = 0; k < 2; k++)
            free(dl->per.v[i].hall_reason[k]);
    hb_vec_free(&dl->per);
}

void hq_downlink_destroy(hq_downlink_t **dlp) { HB_DESTROY(dlp, s_fini); }

static uint64_t s_current(hq_downlink_t *dl, int kind)
{
    return kind ? hq_control_calendar_version(dl->ctl) : hq_control_policy_version(dl->ctl);
}

/* What hall `h` runs of `kind`; the mirror lock is the caller's. */
static uint64_t s_applied_locked(hq_downlink_t *dl, const hq_hall_t *h, int kind)
{
    uint64_t v = kind ? h->calendar_version : h->policy_version;
    const hb_hall_state_t *st = hq_live_state(dl->live, h->num);
    if (st) {
        uint64_t m = kind ? st->calendar_version : st->policy_version;
        if (m > v)
            v = m;
    }
    return v;
}

uint64_t hq_downlink_applied(hq_downlink_t *dl, const char *hall, bool calendar)
{
    hq_hall_t *h = hq_halls_find(dl->halls, hall);
    if (!h)
        return 0;
    hq_live_read_lock(dl->live);
    uint64_t v = s_applied_locked(dl, h, calendar);
    hq_live_read_unlock(dl->live);
    return v;
}

/* Whether `code` is a refusal code as the wire allows: [a-z_]{1,31}. */
static bool s_code_ok(const char *code)
{
    size_t n = strnlen(code, DL_CODE_MAX);
    if (n == 0 || n == DL_CODE_MAX)
        return false;
    return strspn(code, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* Keeps (or forgets) hall `p`'s word on a refused document of `kind`. */
static void s_take_refusal(dl_hall_t *p, int kind, const Hallbus__DocumentRefusal *r)
{
    if (!r || r->version == 0) {
        p->hall_refused[kind] = 0;
        free(p->hall_reason[kind]);
        p->hall_reason[kind] = NULL;
        p->hall_code[kind][0] = '\0';
        return;
    }
    /* A code HQ cannot show safely is as good as none: the reason speaks. */
    const char *code = r->code && s_code_ok(r->code) ? r->code : "";
    snprintf(p->hall_code[kind], sizeof p->hall_code[kind], "%s", code);
    char reason[DL_REASON_MAX];
    hb_utf8_clean(reason, sizeof reason, r->reason ? r->reason : "");
    if (!reason[0])
        snprintf(reason, sizeof reason, "(the hall gave no reason)");
    if (p->hall_refused[kind] == r->version && p->hall_reason[kind] &&
        strcmp(p->hall_reason[kind], reason) == 0)
        return; /* said again: every heartbeat repeats it */
    char *copy = strdup(reason);
    if (!copy)
        return; /* out of memory: the next heartbeat says it again */
    if (p->hall_refused[kind] != r->version)
        hb_info("downlink: hall says it refused %s %" PRIu64 ": %s", kind ? "calendar" : "policy",
                r->version, reason);
    free(p->hall_reason[kind]);
    p->hall_reason[kind] = copy;
    p->hall_refused[kind] = r->version;
}

void hq_downlink_on_refusal(void *arg, hq_hall_t *h, const Hallbus__DocumentRefusal *policy,
                            const Hallbus__DocumentRefusal *calendar)
{
    hq_downlink_t *dl = arg;
    if (!policy && !calendar && h->num >= dl->per.n)
        return; /* nothing refused, nothing kept: no record made for it */
    dl_hall_t *p = s_per(dl, h->num);
    if (!p)
        return;
    s_take_refusal(p, 0, policy);
    s_take_refusal(p, 1, calendar);
}

bool hq_downlink_refusal_locked(hq_downlink_t *dl, const hq_hall_t *h, int kind, uint64_t *version,
                                const char **reason, const char **code)
{
    const dl_hall_t *p = h->num < dl->per.n ? &dl->per.v[h->num] : NULL;
    if (!p || !p->hall_refused[kind] || !p->hall_reason[kind] ||
        s_applied_locked(dl, h, kind) >= p->hall_refused[kind])
        return false;
    *version = p->hall_refused[kind];
    *reason = p->hall_reason[kind];
    *code = p->hall_code[kind];
    return true;
}

/* Sends the current document of `kind` to `h`. Returns 0 when sent. */
static int s_send(hq_downlink_t *dl, hq_hall_t *h, int kind)
{
    dl_hall_t *p = s_per(dl, h->num);
    if (!p)
        return HB_ENOMEM;
    uint64_t version = s_current(dl, kind);
    const char *doc;
    size_t len;
    char err[256];
    char *plain = NULL;
    int rc = kind ? hq_control_slice_bytes(dl->ctl, h->id, &doc, &len, err, sizeof err)
                  : hq_control_policy_bytes(dl->ctl, h->id, &doc, &len, err, sizeof err);
    /* A hall of an older build refuses a slice with glossary terms: it gets
     * the same version without them (its kiosk explains none). */
    if (rc == 0 && kind && !h->reads_glossary)
        rc = hq_control_slice_without_glossary(doc, len, &plain, &len, err, sizeof err);
    if (rc == 0)
        rc = hq_ingest_send_document(dl->ing, h, kind, version, plain ? plain : doc, len);
    free(plain);
    hb_debug("downlink: %s %" PRIu64 " to hall %s: %s", kind ? "calendar" : "policy", version,
             h->id, rc ? hb_strerror(rc) : "sent");
    if (rc == HB_ETOOBIG)
        snprintf(err, sizeof err, "the document is larger than a frame may be");
    if (rc != 0 && rc != HB_EAGAIN && rc != HB_ENOTFOUND) {
        snprintf(p->refused[kind], sizeof p->refused[kind], "%.150s", err);
        p->refused_code[kind] = rc == HB_ETOOBIG ? "too_large" : "not_built";
        hb_log_once(kind ? "downlink-slice" : "downlink-policy", HB_LOG_WARN,
                    "downlink: cannot send %s %" PRIu64 " to hall %s: %s",
                    kind ? "calendar" : "policy", version, h->id, err);
    }
    /* Marked as sent even when refused: tried again after resend_ms, not
     * on every round. */
    p->sent[kind] = version;
    p->sent_mono[kind] = hb_mono_ms();
    if (rc == 0) {
        p->refused[kind][0] = '\0';
        dl->sent_total[kind]++;
    }
    return rc;
}

/* Whether `h` should get `kind` now. */
static bool s_due(hq_downlink_t *dl, const hq_hall_t *h, int kind, uint64_t applied, int64_t now)
{
    uint64_t v = s_current(dl, kind);
    if (v == 0 || applied >= v)
        return false;
    const dl_hall_t *p = h->num < dl->per.n ? &dl->per.v[h->num] : NULL;
    return !p || p->sent[kind] != v || now - p->sent_mono[kind] >= dl->cfg.resend_ms;
}

void hq_downlink_on_hello(void *arg, hq_hall_t *h)
{
    hq_downlink_t *dl = arg;
    /* The hall says what it runs: whatever is newer goes now (a hall back
     * from an outage catches up at once). */
    for (int kind = 0; kind < 2; kind++) {
        uint64_t v = s_current(dl, kind);
        uint64_t applied = kind ? h->calendar_version : h->policy_version;
        if (v > 0 && applied < v)
            s_send(dl, h, kind);
    }
}

/* Halls looked at, and documents collected, per pass under the mirror's
 * lock: a pass is short, and the time budget is checked after each. */
#define DL_PASS_HALLS 256
#define DL_PASS_SENDS 32

bool hq_downlink_step(hq_downlink_t *dl, double budget_ms)
{
    int64_t t0 = hb_mono_ns();
    size_t total = hq_halls_count(dl->halls);
    if (total == 0 ||
        (hq_control_policy_version(dl->ctl) == 0 && hq_control_calendar_version(dl->ctl) == 0)) {
        dl->in_round = false;
        return false;
    }
    if (!dl->in_round) {
        dl->in_round = true;
        dl->seen = 0;
        dl->sends_left = dl->cfg.per_tick;
    }
    int64_t now = hb_mono_ms();
    uint32_t todo[DL_PASS_SENDS * 2];
    for (;;) {
        size_t n = 0;
        /* Collect under the mirror lock, send after it: sending never
         * waits on the mirror thread. */
        hq_live_read_lock(dl->live);
        for (size_t k = 0;
             k < DL_PASS_HALLS && dl->seen < total && n < DL_PASS_SENDS && n < dl->sends_left;
             k++) {
            hq_hall_t *h = hq_halls_sorted(dl->halls, dl->cursor % total);
            dl->cursor = (dl->cursor + 1) % total;
            dl->seen++;
            if (!h || !hq_ingest_hall_online(dl->ing, h))
                continue;
            for (int kind = 0; kind < 2; kind++)
                if (s_due(dl, h, kind, s_applied_locked(dl, h, kind), now))
                    todo[n++] = h->num << 1 | (uint32_t)kind;
        }
        hq_live_read_unlock(dl->live);
        for (size_t k = 0; k < n; k++) {
            hq_hall_t *h = hq_halls_by_num(dl->halls, todo[k] >> 1);
            if (h)
                s_send(dl, h, (int)(todo[k] & 1));
        }
        if (n)
            hq_ingest_flush(dl->ing);
        dl->sends_left = n < dl->sends_left ? dl->sends_left - (uint32_t)n : 0;
        /* A round ends when every hall was looked at or the budget of
         * documents is spent; the next starts where it stopped. */
        if (dl->seen >= total || dl->sends_left == 0) {
            dl->in_round = false;
            return false;
        }
        if (hb_mono_spent(t0, budget_ms))
            return true;
    }
}

/* ---------------------------------------------------------- the view ---- */

typedef struct group {
    json_t *ids;
    size_t count;
} group_t;

/* One refused hall in the list: who refused which version, and why (a
 * code, "" when the hall gave none, and the words). */
static void s_refusal_add(json_t *list, size_t max, const char *id, uint64_t version, bool by_hall,
                          const char *code, const char *reason)
{
    if (json_array_size(list) >= max)
        return;
    json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:s, s:s}", "hall", id, "version",
                                          (json_int_t)version, "by", by_hall ? "hall" : "hq",
                                          "code", code ? code : "", "reason", reason));
}

static void s_group_add(group_t *g, const char *id, bool list, size_t max)
{
    if (list && g->count < max)
        json_array_append_new(g->ids, json_string(id));
    g->count++;
}

static json_t *s_kind_json(hq_downlink_t *dl, int kind, bool list, size_t max,
                           org_hall_pred_fn sees, void *sees_arg)
{
    uint64_t v = s_current(dl, kind);
    group_t applied = {json_array(), 0}, pending = {json_array(), 0}, offline = {json_array(), 0},
            refused = {json_array(), 0};
    json_t *refusals = json_array();
    const org_t *org = hq_control_org(dl->ctl);
    size_t n_org = org_hall_count(org), total = hq_halls_count(dl->halls);
    hq_live_read_lock(dl->live);
    /* The organisation's halls, then halls that connected without a place
     * in it (they run the national policy). */
    for (size_t i = 0; i < n_org + total; i++) {
        const char *id;
        hq_hall_t *h;
        if (i < n_org) {
            if (sees && !sees((int32_t)i, sees_arg))
                continue;
            id = org_hall_at(org, (uint32_t)i)->id;
            h = hq_halls_find(dl->halls, id);
        } else {
            h = hq_halls_sorted(dl->halls, i - n_org);
            if (!h || org_hall_find(org, h->id) || (sees && !sees(-1, sees_arg)))
                continue;
            id = h->id;
        }
        uint64_t a = h ? s_applied_locked(dl, h, kind) : 0;
        const dl_hall_t *p = h && h->num < dl->per.n ? &dl->per.v[h->num] : NULL;
        if (v > 0 && a >= v) {
            s_group_add(&applied, id, list, max);
        } else if (p && v > 0 && p->hall_refused[kind] == v && p->hall_reason[kind]) {
            /* The hall has the current version and says no: it will not
             * run it however often it is sent, so it is not pending. */
            if (list)
                s_refusal_add(refusals, max, id, v, true, p->hall_code[kind], p->hall_reason[kind]);
            s_group_add(&refused, id, list, max);
        } else if (p && p->refused[kind][0]) {
            if (list)
                s_refusal_add(refusals, max, id, v, false, p->refused_code[kind], p->refused[kind]);
            s_group_add(&refused, id, list, max);
        } else if (h && hq_ingest_hall_online(dl->ing, h)) {
            s_group_add(&pending, id, list, max);
        } else {
            s_group_add(&offline, id, list, max);
        }
    }
    hq_live_read_unlock(dl->live);
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "version", (json_int_t)v, "halls",
                  (json_int_t)(applied.count + pending.count + offline.count + refused.count),
                  "applied", (json_int_t)applied.count, "pending", (json_int_t)pending.count,
                  "offline", (json_int_t)offline.count, "refused", (json_int_t)refused.count);
    json_object_set_new(o, "sent", json_integer((json_int_t)dl->sent_total[kind]));
    if (list) {
        json_object_set_new(o, "applied_halls", applied.ids);
        json_object_set_new(o, "pending_halls", pending.ids);
        json_object_set_new(o, "offline_halls", offline.ids);
        json_object_set_new(o, "refused_halls", refused.ids);
        json_object_set_new(o, "refusals", refusals);
    } else {
        json_decref(refusals);
        json_decref(applied.ids);
        json_decref(pending.ids);
        json_decref(offline.ids);
        json_decref(refused.ids);
    }
    return o;
}

json_t *hq_downlink_rollout_json(hq_downlink_t *dl, bool halls, size_t max, org_hall_pred_fn sees,
                                 void *sees_arg)
{
    return json_pack("{s:o, s:o}", "policy", s_kind_json(dl, 0, halls, max, sees, sees_arg),
                     "calendar", s_kind_json(dl, 1, halls, max, sees, sees_arg));
}
