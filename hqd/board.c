/* The live board (see board.h). Tiles are kept by hall number (the link's
 * registry); the organisation says where each hall sits. A round takes the
 * halls the mirror says changed, plus, once a second, every hall (time
 * moves a hall in and out of its opening hours and past thresholds, and a
 * connection goes silent without any event). */
#include "board.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOARD_CHANGED_PER_ROUND 20000
#define BOARD_FULL_ROUND_MS 1000
#define BOARD_LIST_MAX 100000

struct hq_board {
    hq_control_t *ctl;
    hq_halls_t *halls;
    hq_ingest_t *ing;
    hq_live_t *live;
    hq_sse_t *sse;
    hq_tile_t *tiles; /* by hall number */
    uint32_t *alerts; /* open alerts by hall number, from the alert store */
    bool *dirty;
    size_t cap;
    uint32_t *changed;
    int64_t last_full_mono;
    hq_board_stats_t stats;
};

static const char *const s_worst_names[] = {"ok", "closed", "warning", "alert", "offline"};

const char *hq_worst_name(int worst)
{
    return worst >= 0 && worst <= HQ_WORST_OFFLINE ? s_worst_names[worst] : "unknown";
}

static int s_grow(hq_board_t *b, size_t num)
{
    if (num < b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap <= num)
        cap *= 2;
    hq_tile_t *t = realloc(b->tiles, cap * sizeof *t);
    if (!t)
        return HB_ENOMEM;
    b->tiles = t;
    uint32_t *a = realloc(b->alerts, cap * sizeof *a);
    if (!a)
        return HB_ENOMEM;
    b->alerts = a;
    bool *d = realloc(b->dirty, cap * sizeof *d);
    if (!d)
        return HB_ENOMEM;
    b->dirty = d;
    memset(b->tiles + b->cap, 0, (cap - b->cap) * sizeof *b->tiles);
    memset(b->alerts + b->cap, 0, (cap - b->cap) * sizeof *b->alerts);
    memset(b->dirty + b->cap, 0, (cap - b->cap) * sizeof *b->dirty);
    b->cap = cap;
    return 0;
}

int hq_board_new(hq_control_t *ctl, hq_halls_t *halls, hq_ingest_t *ing, hq_live_t *live,
                 hq_sse_t *sse, hq_board_t **out)
{
    hq_board_t *b = calloc(1, sizeof *b);
    if (!b)
        return HB_ENOMEM;
    b->changed = malloc(BOARD_CHANGED_PER_ROUND * sizeof *b->changed);
    if (!b->changed) {
        free(b);
        return HB_ENOMEM;
    }
    b->ctl = ctl;
    b->halls = halls;
    b->ing = ing;
    b->live = live;
    b->sse = sse;
    *out = b;
    return 0;
}

void hq_board_destroy(hq_board_t **bp)
{
    hq_board_t *b = *bp;
    if (!b)
        return;
    free(b->tiles);
    free(b->alerts);
    free(b->dirty);
    free(b->changed);
    free(b);
    *bp = NULL;
}

/* ------------------------------------------------------------ a tile ---- */

/* The tile of hall `h` now; the mirror lock is the caller's. */
static void s_compute(hq_board_t *b, const hq_hall_t *h, int64_t now, hq_tile_t *t)
{
    memset(t, 0, sizeof *t);
    t->known = true;
    t->online = hq_ingest_hall_online(b->ing, h);
    t->backlog = h->hall_last_seq > h->committed_seq ? h->hall_last_seq - h->committed_seq : 0;
    t->policy_version = h->policy_version;
    t->calendar_version = h->calendar_version;
    t->alerts = h->num < b->cap ? b->alerts[h->num] : 0;
    const hb_policy_t *p = hq_control_policy(b->ctl, h->id);
    hb_open_info_t oi;
    if (p) {
        hb_policy_open_at(p, now, &oi);
        t->open = oi.state == HB_OPEN_NOW;
    }
    bool near = false;
    const hb_hall_state_t *s = hq_live_state(b->live, h->num);
    if (s) {
        t->seq = s->seq;
        if (s->policy_version > t->policy_version)
            t->policy_version = s->policy_version;
        if (s->calendar_version > t->calendar_version)
            t->calendar_version = s->calendar_version;
        for (size_t i = 0; i < s->n_tickets; i++) {
            const hb_hs_ticket_t *k = &s->tickets[i];
            if (k->state != HB_TICKET_WAITING)
                continue;
            t->waiting++;
            if (!t->oldest_issued_ms || k->issued_ms < t->oldest_issued_ms)
                t->oldest_issued_ms = k->issued_ms;
            /* Three quarters of the way to the SLA is worth a look. */
            if (p && now - k->issued_ms >= hb_policy_max_wait_s(p, k->service, k->priority) * 750)
                near = true;
        }
        for (size_t i = 0; i < s->n_counters; i++) {
            int st = s->counters[i].state;
            if (st == HB_COUNTER_IDLE || st == HB_COUNTER_CALLING || st == HB_COUNTER_SERVING)
                t->counters_open++;
            if (st == HB_COUNTER_CALLING || st == HB_COUNTER_SERVING)
                t->counters_busy++;
        }
        t->complaints_open = (uint32_t)s->n_complaints;
        t->complaints_overdue = hb_hall_state_overdue(s, now);
        for (size_t i = 0; i < s->n_devices; i++)
            t->devices_not_ok += s->devices[i].state != HALLBUS__DEVICE_STATE__DEVICE_STATE_OK;
        uint64_t work_s = 0;
        for (size_t i = 0; i < s->n_services; i++) {
            const hb_hs_service_t *svc = &s->services[i];
            uint32_t mean = hb_hall_state_mean_service_s(svc);
            work_s += (uint64_t)svc->waiting * (mean ? mean : 300);
            if (p && svc->waiting * 4 > (uint64_t)p->diversion_threshold * 3)
                near = true;
        }
        uint64_t est = work_s / (t->counters_open ? t->counters_open : 1);
        t->est_wait_s = est > UINT32_MAX ? UINT32_MAX : (uint32_t)est;
        t->issued_today = s->today.issued;
        t->served_today = s->today.served;
    }
    if (!t->online)
        t->worst = HQ_WORST_OFFLINE;
    else if (t->alerts > 0)
        t->worst = HQ_WORST_ALERT;
    else if (!t->open)
        t->worst = HQ_WORST_CLOSED;
    else if (near || t->complaints_overdue > 0)
        t->worst = HQ_WORST_WARNING;
    else
        t->worst = HQ_WORST_OK;
}

/* Where a hall sits: its org record and region path ("CN/P01/C001"). */
static const org_hall_t *s_place(hq_board_t *b, const char *hall, const org_region_t *chain[3],
                                 char *path, size_t pathlen)
{
    const org_t *org = hq_control_org(b->ctl);
    const org_hall_t *oh = org_hall_find(org, hall);
    path[0] = '\0';
    if (!oh || org_hall_chain(org, hall, chain) != 0)
        return NULL;
    snprintf(path, pathlen, "%s/%s/%s", chain[2]->id, chain[1]->id, chain[0]->id);
    return oh;
}

static json_t *s_tile_json(hq_board_t *b, const char *hall, const hq_tile_t *t, int64_t now)
{
    const org_region_t *chain[3];
    char path[3 * ORG_REGION_ID_MAX + 4];
    const org_hall_t *oh = s_place(b, hall, chain, path, sizeof path);
    char oldest[HB_RFC3339_MAX] = "";
    if (t->oldest_issued_ms)
        hb_time_format(t->oldest_issued_ms, oldest);
    int64_t longest = t->oldest_issued_ms && now > t->oldest_issued_ms
                          ? (now - t->oldest_issued_ms) / 1000
                          : 0;
    json_t *o = json_pack(
        "{s:s, s:b, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I}",
        "hall", hall, "online", t->online, "open", t->open, "worst", hq_worst_name(t->worst),
        "waiting", (json_int_t)t->waiting, "longest_wait_s", (json_int_t)longest,
        "counters_open", (json_int_t)t->counters_open, "counters_busy",
        (json_int_t)t->counters_busy, "complaints_open", (json_int_t)t->complaints_open,
        "complaints_overdue", (json_int_t)t->complaints_overdue, "devices_not_ok",
        (json_int_t)t->devices_not_ok, "alerts", (json_int_t)t->alerts, "issued_today",
        (json_int_t)t->issued_today, "served_today", (json_int_t)t->served_today, "backlog",
        (json_int_t)t->backlog, "seq", (json_int_t)t->seq, "policy_version",
        (json_int_t)t->policy_version, "calendar_version", (json_int_t)t->calendar_version);
    json_object_set_new(o, "oldest_issued", oldest[0] ? json_string(oldest) : json_null());
    json_object_set_new(o, "estimated_wait_s", json_integer(t->est_wait_s));
    if (oh) {
        json_object_set_new(o, "name", oh->name ? json_string(oh->name) : json_null());
        json_object_set_new(o, "city", json_string(chain[0]->id));
        json_object_set_new(o, "province", json_string(chain[1]->id));
        json_t *tags = json_array();
        for (uint8_t i = 0; i < oh->n_tags; i++)
            json_array_append_new(tags, json_string(org_tag_name(hq_control_org(b->ctl), oh->tags[i])));
        json_object_set_new(o, "tags", tags);
    } else {
        json_object_set_new(o, "name", json_null());
        json_object_set_new(o, "city", json_null());
        json_object_set_new(o, "province", json_null());
        json_object_set_new(o, "tags", json_array());
    }
    return o;
}

/* ------------------------------------------------------------ rounds ---- */

static void s_update(hq_board_t *b, hq_hall_t *h, int64_t now)
{
    if (s_grow(b, h->num) != 0)
        return;
    hq_tile_t t;
    s_compute(b, h, now, &t);
    if (memcmp(&t, &b->tiles[h->num], sizeof t) == 0)
        return;
    b->tiles[h->num] = t;
    json_t *o = s_tile_json(b, h->id, &t, now);
    const org_region_t *chain[3];
    char path[3 * ORG_REGION_ID_MAX + 4];
    s_place(b, h->id, chain, path, sizeof path);
    if (o)
        hq_sse_publish(b->sse, "tile", h->id, path[0] ? path : NULL, o);
    json_decref(o);
    b->stats.tiles_published++;
}

void hq_board_tick(hq_board_t *b)
{
    int64_t t0 = hb_mono_ms(), now = hb_now_ms();
    size_t n = hq_live_take_changed(b->live, b->changed, BOARD_CHANGED_PER_ROUND);
    bool full = t0 - b->last_full_mono >= BOARD_FULL_ROUND_MS;
    if (full)
        b->last_full_mono = t0;
    hq_live_read_lock(b->live);
    if (full) {
        size_t total = hq_halls_count(b->halls);
        for (size_t i = 0; i < total; i++) {
            hq_hall_t *h = hq_halls_sorted(b->halls, i);
            if (h)
                s_update(b, h, now);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            hq_hall_t *h = hq_halls_by_num(b->halls, b->changed[i]);
            if (h)
                s_update(b, h, now);
        }
        for (size_t num = 0; num < b->cap; num++) {
            if (!b->dirty[num])
                continue;
            b->dirty[num] = false;
            hq_hall_t *h = hq_halls_by_num(b->halls, (uint32_t)num);
            if (h)
                s_update(b, h, now);
        }
    }
    hq_live_read_unlock(b->live);
    b->stats.rounds++;
    b->stats.last_round_ms = (double)(hb_mono_ms() - t0);
}

void hq_board_set_alerts(hq_board_t *b, const char *hall, uint32_t open_alerts)
{
    hq_hall_t *h = hq_halls_find(b->halls, hall);
    if (!h || s_grow(b, h->num) != 0)
        return;
    if (b->alerts[h->num] != open_alerts) {
        b->alerts[h->num] = open_alerts;
        b->dirty[h->num] = true;
    }
}

void hq_board_get_stats(const hq_board_t *b, hq_board_stats_t *out) { *out = b->stats; }

/* ------------------------------------------------------------ views ---- */

static const hq_tile_t *s_tile(const hq_board_t *b, const hq_hall_t *h)
{
    return h && h->num < b->cap && b->tiles[h->num].known ? &b->tiles[h->num] : NULL;
}

static bool s_has_tag(const org_t *org, const org_hall_t *oh, const char *tag)
{
    for (uint8_t i = 0; oh && i < oh->n_tags; i++)
        if (strcmp(org_tag_name(org, oh->tags[i]), tag) == 0)
            return true;
    return false;
}

const hq_tile_t *hq_board_tile(hq_board_t *b, const char *hall)
{
    return s_tile(b, hq_halls_find(b->halls, hall));
}

json_t *hq_board_tile_json(hq_board_t *b, const char *hall)
{
    hq_hall_t *h = hq_halls_find(b->halls, hall);
    const hq_tile_t *t = s_tile(b, h);
    if (!t)
        return NULL;
    return s_tile_json(b, h->id, t, hb_now_ms());
}

json_t *hq_board_halls_json(hq_board_t *b, const char *region, const char *tag, bool alerting,
                            const char *worst, size_t offset, size_t limit)
{
    const org_t *org = hq_control_org(b->ctl);
    const org_region_t *want = region ? org_region_find(org, region) : NULL;
    if (region && !want)
        return NULL;
    int64_t now = hb_now_ms();
    json_t *arr = json_array();
    size_t matched = 0;
    /* The organisation's halls first (a hall that never connected is
     * offline, not missing), then halls that connected without a place. */
    size_t n_org = org_hall_count(org), total = hq_halls_count(b->halls);
    hq_tile_t never = {.worst = HQ_WORST_OFFLINE};
    for (size_t i = 0; i < n_org + total; i++) {
        const char *id;
        const org_hall_t *oh = NULL;
        hq_hall_t *h;
        if (i < n_org) {
            oh = org_hall_at(org, (uint32_t)i);
            id = oh->id;
            h = hq_halls_find(b->halls, id);
        } else {
            h = hq_halls_sorted(b->halls, i - n_org);
            if (!h || org_hall_find(org, h->id))
                continue;
            id = h->id;
        }
        if (want && (!oh || !org_region_contains(org, want, org_region_at(org, oh->city))))
            continue;
        if (tag && !s_has_tag(org, oh, tag))
            continue;
        const hq_tile_t *t = s_tile(b, h);
        if (!t)
            t = &never;
        if (alerting && t->alerts == 0)
            continue;
        if (worst && strcmp(worst, hq_worst_name(t->worst)) != 0)
            continue;
        if (matched >= offset && json_array_size(arr) < limit)
            json_array_append_new(arr, s_tile_json(b, id, t, now));
        matched++;
    }
    return json_pack("{s:I, s:I, s:I, s:o}", "stream_id", (json_int_t)hq_sse_last_id(b->sse),
                     "total", (json_int_t)matched, "offset", (json_int_t)offset, "halls", arr);
}

typedef struct agg {
    uint32_t halls, online, open, waiting, alerts, counters_open, complaints_overdue,
        devices_not_ok, served_today;
    int64_t oldest_issued_ms;
    uint8_t worst;
    uint32_t by_worst[HQ_WORST_OFFLINE + 1];
} agg_t;

static void s_agg_add(agg_t *a, const hq_tile_t *t)
{
    a->halls++;
    a->online += t->online;
    a->open += t->open;
    a->waiting += t->waiting;
    a->alerts += t->alerts;
    a->counters_open += t->counters_open;
    a->complaints_overdue += t->complaints_overdue;
    a->devices_not_ok += t->devices_not_ok;
    a->served_today += t->served_today;
    if (t->oldest_issued_ms && (!a->oldest_issued_ms || t->oldest_issued_ms < a->oldest_issued_ms))
        a->oldest_issued_ms = t->oldest_issued_ms;
    if (t->worst > a->worst)
        a->worst = t->worst;
    a->by_worst[t->worst]++;
}

static json_t *s_agg_json(const org_t *org, const org_region_t *r, const agg_t *a, int64_t now)
{
    json_t *by = json_object();
    for (int w = 0; w <= HQ_WORST_OFFLINE; w++)
        json_object_set_new(by, hq_worst_name(w), json_integer(a->by_worst[w]));
    const org_region_t *parent = r->parent >= 0 ? org_region_at(org, (uint32_t)r->parent) : NULL;
    int64_t longest = a->oldest_issued_ms && now > a->oldest_issued_ms
                          ? (now - a->oldest_issued_ms) / 1000
                          : 0;
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, "
                     "s:o}",
                     "region", r->id, "name", r->name ? r->name : "", "level",
                     org_level_name(r->level), "parent",
                     parent ? json_string(parent->id) : json_null(), "halls",
                     (json_int_t)a->halls, "online", (json_int_t)a->online, "open",
                     (json_int_t)a->open, "waiting", (json_int_t)a->waiting, "longest_wait_s",
                     (json_int_t)longest, "alerts", (json_int_t)a->alerts, "counters_open",
                     (json_int_t)a->counters_open, "complaints_overdue",
                     (json_int_t)a->complaints_overdue, "devices_not_ok",
                     (json_int_t)a->devices_not_ok, "served_today", (json_int_t)a->served_today,
                     "worst", hq_worst_name(a->halls ? a->worst : HQ_WORST_OK), "by_worst", by);
}

json_t *hq_board_regions_json(hq_board_t *b, const char *region)
{
    const org_t *org = hq_control_org(b->ctl);
    const org_region_t *want = region ? org_region_find(org, region) : NULL;
    if (region && !want)
        return NULL;
    size_t nr = org_region_count(org), nh = org_hall_count(org);
    agg_t *aggs = calloc(nr ? nr : 1, sizeof *aggs);
    if (!aggs)
        return NULL;
    hq_tile_t never = {.worst = HQ_WORST_OFFLINE};
    /* Each hall counts in its city, its province and the root. */
    for (size_t i = 0; i < nh; i++) {
        const org_hall_t *oh = org_hall_at(org, (uint32_t)i);
        const hq_tile_t *t = s_tile(b, hq_halls_find(b->halls, oh->id));
        if (!t)
            t = &never;
        for (int32_t r = (int32_t)oh->city; r >= 0; r = org_region_at(org, (uint32_t)r)->parent)
            s_agg_add(&aggs[r], t);
    }
    int64_t now = hb_now_ms();
    json_t *arr = json_array();
    for (size_t i = 0; i < nr; i++) {
        const org_region_t *r = org_region_at(org, (uint32_t)i);
        bool keep = !want || r == want || (r->parent >= 0 && (uint32_t)r->parent == want->index);
        if (keep)
            json_array_append_new(arr, s_agg_json(org, r, &aggs[i], now));
    }
    free(aggs);
    return json_pack("{s:I, s:o}", "stream_id", (json_int_t)hq_sse_last_id(b->sse), "regions",
                     arr);
}
