/* The live board (see board.h). Tiles are kept by hall number (the link's
 * registry); the organisation says where each hall sits, reached by number
 * through the index each hall caches (halls.h), never by a lookup of its id
 * in a round. A round takes the halls the mirror says changed, plus, once a
 * second, every hall (time moves a hall in and out of its opening hours and
 * past thresholds, and a connection goes silent without any event); then
 * the aggregates of the regions whose tiles changed, which go out on the
 * stream too. Every figure of a hall's state is figures.h's. */
#include "board.h"

#include "alerts.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/log.h"
#include "hallbus/names.h"
#include "hallbus/text.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOARD_CHANGED_PER_ROUND 20000
#define BOARD_ROUNDS_PER_SECOND 4 /* hqd ticks the board every 250 ms */
#define BOARD_LIST_MAX 100000
/* A first load of ORG_HALLS_MAX tiles at about 500 bytes each. */
#define BOARD_TEXT_MAX (128u << 20)

typedef struct agg {
    uint32_t halls, online, open, waiting, alerts, counters_open, complaints_overdue,
        devices_not_ok, served_today;
    int64_t oldest_issued_ms;
    uint8_t worst;
    uint32_t by_worst[HQ_WORST_OFFLINE + 1];
} agg_t; /* one region's figures */

struct hq_board {
    hq_control_t *ctl;
    hq_halls_t *halls;
    hq_ingest_t *ing;
    hq_live_t *live;
    hq_sse_t *sse;
    hq_trend_t *trend; /* sampled on every round (NULL: none) */
    /* By hall number, grown together: the tile, its open alerts (from the
     * alert store) and whether it needs computing again. */
    HB_VEC(hq_tile_t) tiles;
    HB_VEC(uint32_t) alerts;
    HB_VEC(bool) dirty;
    uint32_t *changed;
    hb_text_t scratch;      /* one tile's text, for the stream */
    hb_hall_figures_t *fig; /* one hall's figures, reused for every tile */
    size_t cursor;          /* where the next slice of every hall starts */
    /* A round in steps (hq_board_step): the changed halls taken and not
     * yet computed, where the dirty pass is, and the halls of the sweep
     * still to do. */
    bool in_round;
    size_t pend_n, pend_at, dirty_at, sweep_left, changed_round;
    int64_t round_work_ns; /* the steps' time so far */
    hq_board_stats_t stats;
    /* The region aggregates, kept as of the last round: a round recomputes
     * the cities whose tiles changed, their provinces and the root, and
     * streams those that changed; every request between two rounds is
     * answered from them. All of it is rebuilt (with the map from
     * organisation index to hall number, and the halls it does not place)
     * when the organisation or the set of halls changes. */
    HB_VEC(uint32_t) org_nums;      /* organisation hall index -> hall number, 0: never connected */
    HB_VEC(uint32_t) unplaced_nums; /* halls connected that the organisation does not place */
    HB_VEC(agg_t) aggs, sent;       /* by region index: now, and as last streamed */
    HB_VEC(uint8_t) region_dirty;   /* by region index */
    HB_VEC(uint32_t) dirty_list;
    agg_t unplaced, total, sent_unplaced, sent_total;
    bool unplaced_dirty;
    size_t aggs_halls;
    uint64_t aggs_org_gen, sent_org_gen, aggs_stream_id;
    bool aggs_valid;
    hb_text_t regions_text; /* the stream's "regions" event, reused */
};

static const char *const s_worst_names[] = {"ok", "closed", "warning", "alert", "offline"};

/* The figures of a hall with no event mirrored yet. */
static const hb_hall_state_t s_empty_state;

const char *hq_worst_name(int worst)
{
    return hb_name_of(s_worst_names, HB_NAMES_COUNT(s_worst_names), worst);
}

int hq_worst_parse(const char *name)
{
    return hb_name_find(s_worst_names, HB_NAMES_COUNT(s_worst_names), name);
}

/* Makes hall `num` exist in the three tables by number. */
static int s_grow(hq_board_t *b, size_t num)
{
    if (num < b->tiles.n)
        return 0;
    if (!hb_vec_at(&b->alerts, num) || !hb_vec_at(&b->dirty, num) || !hb_vec_at(&b->tiles, num))
        return HB_ENOMEM;
    return 0;
}

int hq_board_new(hq_control_t *ctl, hq_halls_t *halls, hq_ingest_t *ing, hq_live_t *live,
                 hq_sse_t *sse, hq_board_t **out)
{
    hq_board_t *b = calloc(1, sizeof *b);
    if (!b)
        return HB_ENOMEM;
    b->changed = malloc(BOARD_CHANGED_PER_ROUND * sizeof *b->changed);
    b->fig = malloc(sizeof *b->fig);
    if (!b->changed || !b->fig) {
        free(b->changed);
        free(b->fig);
        free(b);
        return HB_ENOMEM;
    }
    b->ctl = ctl;
    b->halls = halls;
    b->ing = ing;
    b->live = live;
    b->sse = sse;
    b->tiles.max = b->alerts.max = b->dirty.max = HQ_HALLS_MAX + 1;
    b->org_nums.max = ORG_HALLS_MAX;
    b->unplaced_nums.max = HQ_HALLS_MAX;
    b->aggs.max = b->sent.max = b->region_dirty.max = b->dirty_list.max = ORG_REGIONS_MAX;
    hb_text_init(&b->scratch, BOARD_TEXT_MAX);
    hb_text_init(&b->regions_text, BOARD_TEXT_MAX);
    *out = b;
    return 0;
}

static void s_fini(hq_board_t *b)
{
    hb_vec_free(&b->tiles);
    hb_vec_free(&b->alerts);
    hb_vec_free(&b->dirty);
    free(b->changed);
    free(b->fig);
    hb_text_free(&b->scratch);
    hb_text_free(&b->regions_text);
    hb_vec_free(&b->org_nums);
    hb_vec_free(&b->unplaced_nums);
    hb_vec_free(&b->aggs);
    hb_vec_free(&b->sent);
    hb_vec_free(&b->region_dirty);
    hb_vec_free(&b->dirty_list);
}

void hq_board_destroy(hq_board_t **bp) { HB_DESTROY(bp, s_fini); }

/* ------------------------------------------------------------ places ---- */

/* The hall's index in the organisation, -1 when it does not place it: a
 * comparison of generations, the lookup by id only after the organisation
 * changed (control.h). */
static int32_t s_org_index(hq_board_t *b, hq_hall_t *h)
{
    return hq_control_org_index(b->ctl, h->id, &h->org_gen, &h->org_index);
}

/* Where the hall of organisation index `idx` sits: its record and region
 * chain (city, province, root), and the path "CN/P01/C001" when `path` is
 * not NULL. NULL for -1. */
static const org_hall_t *s_place(hq_board_t *b, int32_t idx, const org_region_t *chain[3],
                                 char *path, size_t pathlen)
{
    const org_t *org = hq_control_org(b->ctl);
    if (path)
        path[0] = '\0';
    if (idx < 0 || (size_t)idx >= org_hall_count(org))
        return NULL;
    const org_hall_t *oh = org_hall_at(org, (uint32_t)idx);
    org_hall_chain_at(org, oh, chain);
    if (path)
        snprintf(path, pathlen, "%s/%s/%s", chain[2]->id, chain[1]->id, chain[0]->id);
    return oh;
}

/* ------------------------------------------------------------ a tile ---- */

/* The tile of hall `h` at `now`, and its figures in b->fig (those of an
 * empty hall before any event); the mirror lock is the caller's. */
static void s_compute(hq_board_t *b, hq_hall_t *h, int64_t now, hq_tile_t *t)
{
    memset(t, 0, sizeof *t);
    t->known = true;
    t->online = hq_ingest_hall_online(b->ing, h);
    t->backlog = h->hall_last_seq > h->committed_seq ? h->hall_last_seq - h->committed_seq : 0;
    t->policy_version = h->policy_version;
    t->calendar_version = h->calendar_version;
    t->alerts = h->num < b->alerts.n ? b->alerts.v[h->num] : 0;
    hb_open_info_t oi;
    int64_t opening_start;
    const hb_policy_t *p = hq_control_opening_at(b->ctl, s_org_index(b, h), now,
                                                 ALERTS_OPENING_BACK_DAYS, &oi, &opening_start);
    if (p)
        t->open = oi.state == HB_OPEN_NOW;
    bool near = false;
    const hb_hall_state_t *s = hq_live_state(b->live, h->num);
    hb_hall_figures_t *f = b->fig;
    hb_hall_figures(s ? s : &s_empty_state, p, now, f);
    if (s) {
        t->seq = s->seq;
        if (s->policy_version > t->policy_version)
            t->policy_version = s->policy_version;
        if (s->calendar_version > t->calendar_version)
            t->calendar_version = s->calendar_version;
        t->waiting = f->waiting;
        t->oldest_issued_ms = f->oldest_issued_ms;
        t->counters_open = f->counters_open;
        t->counters_busy = f->counters_busy;
        t->est_wait_s = f->estimated_wait_s;
        /* Warning: a ticket near its SLA, or a queue three quarters of the
         * way to the diversion threshold. */
        near = f->near_sla > 0;
        for (size_t i = 0; p && i < f->n_services && !near; i++)
            near = (uint64_t)f->services[i].waiting * 4 > (uint64_t)p->diversion_threshold * 3;
        t->complaints_open = (uint32_t)s->n_complaints;
        t->complaints_overdue = hb_hall_state_overdue(s, now);
        for (size_t i = 0; i < s->n_devices; i++)
            t->devices_not_ok += s->devices[i].state != HALLBUS__DEVICE_STATE__DEVICE_STATE_OK;
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

/* Number members, each key with its comma, quotes and colon
 * (",\"waiting\":"), written without printf: a tile has fifteen, a first
 * load 10,000 tiles, and every GET /v1/regions ten per region. */
typedef struct {
    const char *key;
    uint64_t v;
} num_member_t;

static void s_put_nums(hb_text_t *sb, const num_member_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hb_text_puts(sb, m[i].key);
        hb_text_u64(sb, m[i].v);
    }
}

/* Hall `hall`'s tile; `oh` and `chain` its place (NULL when not placed).
 * Written straight as text (hallbus/text.h): tiles are what the board sends
 * most (every change, and 10,000 of them in one first load), and building a
 * jansson object per tile to dump it at once cost the loop more than
 * everything else the board does. Names come from the organisation, which
 * holds valid UTF-8, as the text writer's JSON strings want. */
static void s_tile_write(hq_board_t *b, hb_text_t *sb, const char *hall, const org_hall_t *oh,
                         const org_region_t *const chain[3], const hq_tile_t *t, int64_t now)
{
    int64_t longest = t->oldest_issued_ms ? hb_fig_wait_s(t->oldest_issued_ms, now) : 0;
    hb_text_put(sb, "{\"hall\":", 8);
    hb_text_json_str(sb, hall);
    hb_text_puts(sb, t->online ? ",\"online\":true" : ",\"online\":false");
    hb_text_puts(sb, t->open ? ",\"open\":true" : ",\"open\":false");
    hb_text_put(sb, ",\"worst\":", 9);
    hb_text_json_str(sb, hq_worst_name(t->worst));
    const num_member_t nums[] = {{",\"waiting\":", t->waiting},
                                 {",\"longest_wait_s\":", (uint64_t)longest},
                                 {",\"counters_open\":", t->counters_open},
                                 {",\"counters_busy\":", t->counters_busy},
                                 {",\"complaints_open\":", t->complaints_open},
                                 {",\"complaints_overdue\":", t->complaints_overdue},
                                 {",\"devices_not_ok\":", t->devices_not_ok},
                                 {",\"alerts\":", t->alerts},
                                 {",\"issued_today\":", t->issued_today},
                                 {",\"served_today\":", t->served_today},
                                 {",\"backlog\":", t->backlog},
                                 {",\"seq\":", t->seq},
                                 {",\"policy_version\":", t->policy_version},
                                 {",\"calendar_version\":", t->calendar_version},
                                 {",\"estimated_wait_s\":", t->est_wait_s}};
    s_put_nums(sb, nums, sizeof nums / sizeof nums[0]);
    hb_text_put(sb, ",\"oldest_issued\":", 17);
    hb_text_json_time(sb, t->oldest_issued_ms);
    hb_text_put(sb, ",\"name\":", 8);
    hb_text_json_str(sb, oh ? oh->name : NULL);
    hb_text_put(sb, ",\"city\":", 8);
    hb_text_json_str(sb, oh ? chain[0]->id : NULL);
    hb_text_put(sb, ",\"province\":", 12);
    hb_text_json_str(sb, oh ? chain[1]->id : NULL);
    hb_text_put(sb, ",\"tags\":[", 9);
    for (uint8_t i = 0; oh && i < oh->n_tags; i++) {
        if (i)
            hb_text_put(sb, ",", 1);
        hb_text_json_str(sb, org_tag_name(hq_control_org(b->ctl), oh->tags[i]));
    }
    hb_text_put(sb, "]}", 2);
}

/* ------------------------------------------------------- aggregates ---- */

static void s_agg_sum(agg_t *a, const agg_t *b)
{
    a->halls += b->halls;
    a->online += b->online;
    a->open += b->open;
    a->waiting += b->waiting;
    a->alerts += b->alerts;
    a->counters_open += b->counters_open;
    a->complaints_overdue += b->complaints_overdue;
    a->devices_not_ok += b->devices_not_ok;
    a->served_today += b->served_today;
    if (b->oldest_issued_ms && (!a->oldest_issued_ms || b->oldest_issued_ms < a->oldest_issued_ms))
        a->oldest_issued_ms = b->oldest_issued_ms;
    if (b->halls && b->worst > a->worst)
        a->worst = b->worst;
    for (int w = 0; w <= HQ_WORST_OFFLINE; w++)
        a->by_worst[w] += b->by_worst[w];
}

/* A hall counts as a region of one. */
static void s_agg_add(agg_t *a, const hq_tile_t *t)
{
    agg_t one = {
        .halls = 1,
        .online = t->online,
        .open = t->open,
        .waiting = t->waiting,
        .alerts = t->alerts,
        .counters_open = t->counters_open,
        .complaints_overdue = t->complaints_overdue,
        .devices_not_ok = t->devices_not_ok,
        .served_today = t->served_today,
        .oldest_issued_ms = t->oldest_issued_ms,
        .worst = t->worst,
    };
    one.by_worst[t->worst] = 1;
    s_agg_sum(a, &one);
}

/* One region's aggregate, or (with `r` NULL) the halls the organisation
 * does not place or the whole network: the same members without the
 * region's. */
static void s_agg_write(hb_text_t *sb, const org_t *org, const org_region_t *r, const agg_t *a,
                        int64_t now)
{
    int64_t longest = a->oldest_issued_ms ? hb_fig_wait_s(a->oldest_issued_ms, now) : 0;
    hb_text_put(sb, "{", 1);
    if (r) {
        const org_region_t *parent =
            r->parent >= 0 ? org_region_at(org, (uint32_t)r->parent) : NULL;
        hb_text_put(sb, "\"region\":", 9);
        hb_text_json_str(sb, r->id);
        hb_text_put(sb, ",\"name\":", 8);
        hb_text_json_str(sb, r->name ? r->name : "");
        hb_text_putf(sb, ",\"level\":\"%s\",\"parent\":", org_level_name(r->level));
        hb_text_json_str(sb, parent ? parent->id : NULL);
        hb_text_put(sb, ",", 1);
    }
    const num_member_t nums[] = {{"\"halls\":", a->halls},
                                 {",\"online\":", a->online},
                                 {",\"open\":", a->open},
                                 {",\"waiting\":", a->waiting},
                                 {",\"longest_wait_s\":", (uint64_t)longest},
                                 {",\"alerts\":", a->alerts},
                                 {",\"counters_open\":", a->counters_open},
                                 {",\"complaints_overdue\":", a->complaints_overdue},
                                 {",\"devices_not_ok\":", a->devices_not_ok},
                                 {",\"served_today\":", a->served_today}};
    s_put_nums(sb, nums, sizeof nums / sizeof nums[0]);
    hb_text_put(sb, ",\"worst\":", 9);
    hb_text_json_str(sb, hq_worst_name(a->halls ? a->worst : HQ_WORST_OK));
    hb_text_put(sb, ",\"oldest_issued\":", 17);
    hb_text_json_time(sb, a->oldest_issued_ms);
    hb_text_put(sb, ",\"by_worst\":{", 13);
    for (int w = 0; w <= HQ_WORST_OFFLINE; w++) {
        if (w)
            hb_text_put(sb, ",", 1);
        hb_text_json_str(sb, hq_worst_name(w));
        hb_text_put(sb, ":", 1);
        hb_text_u64(sb, a->by_worst[w]);
    }
    hb_text_put(sb, "}}", 2);
}

static const hq_tile_t s_never = {.worst = HQ_WORST_OFFLINE}; /* a hall never connected */

static const hq_tile_t *s_tile_num(const hq_board_t *b, uint32_t num)
{
    return num && num < b->tiles.n && b->tiles.v[num].known ? &b->tiles.v[num] : NULL;
}

static const hq_tile_t *s_tile_or_never(const hq_board_t *b, uint32_t num)
{
    const hq_tile_t *t = s_tile_num(b, num);
    return t ? t : &s_never;
}

static bool s_aggs_current(const hq_board_t *b)
{
    return b->aggs_valid && b->aggs_org_gen == hq_control_org_generation(b->ctl) &&
           b->aggs_halls == hq_halls_count(b->halls);
}

static void s_total(hq_board_t *b, const org_t *org)
{
    memset(&b->total, 0, sizeof b->total);
    const org_region_t *root = org_root(org);
    if (root)
        s_agg_sum(&b->total, &b->aggs.v[root->index]);
    s_agg_sum(&b->total, &b->unplaced);
}

static void s_unplaced(hq_board_t *b)
{
    memset(&b->unplaced, 0, sizeof b->unplaced);
    for (size_t i = 0; i < b->unplaced_nums.n; i++)
        s_agg_add(&b->unplaced, s_tile_or_never(b, b->unplaced_nums.v[i]));
}

/* Everything from scratch: the maps between organisation and registry, and
 * every region marked for s_aggs_update. Each hall counts in its city, its
 * province and the root; a hall of the organisation that never connected
 * counts offline. */
static int s_aggs_rebuild(hq_board_t *b)
{
    const org_t *org = hq_control_org(b->ctl);
    size_t nr = org_region_count(org), nh = org_hall_count(org), known = hq_halls_count(b->halls);
    b->aggs_valid = false;
    if (hb_vec_reserve(&b->org_nums, nh) != 0 || hb_vec_reserve(&b->unplaced_nums, known) != 0 ||
        hb_vec_reserve(&b->aggs, nr) != 0 || hb_vec_reserve(&b->sent, nr) != 0 ||
        hb_vec_reserve(&b->region_dirty, nr) != 0 || hb_vec_reserve(&b->dirty_list, nr) != 0)
        return HB_ENOMEM;
    /* Regions streamed before this organisation were other regions. */
    if (b->sent_org_gen != hq_control_org_generation(b->ctl) || b->aggs.n != nr) {
        if (nr)
            memset(b->sent.v, 0xff, nr * sizeof *b->sent.v);
        b->sent_org_gen = hq_control_org_generation(b->ctl);
    }
    b->aggs.n = b->sent.n = b->region_dirty.n = nr;
    b->org_nums.n = nh;
    b->unplaced_nums.n = 0;
    if (nh)
        memset(b->org_nums.v, 0, nh * sizeof *b->org_nums.v);
    for (size_t i = 0; i < known; i++) {
        hq_hall_t *h = hq_halls_sorted(b->halls, i);
        if (!h)
            continue;
        int32_t idx = s_org_index(b, h);
        if (idx >= 0 && (size_t)idx < nh)
            b->org_nums.v[idx] = h->num;
        else
            b->unplaced_nums.v[b->unplaced_nums.n++] = h->num;
    }
    if (nr)
        memset(b->aggs.v, 0, nr * sizeof *b->aggs.v);
    /* Every region is computed again (s_aggs_update) and compared with
     * what was streamed. */
    b->dirty_list.n = 0;
    for (size_t i = 0; i < nr; i++) {
        b->region_dirty.v[i] = 1;
        b->dirty_list.v[b->dirty_list.n++] = (uint32_t)i;
    }
    b->unplaced_dirty = true;
    b->aggs_org_gen = hq_control_org_generation(b->ctl);
    b->aggs_halls = known;
    b->aggs_valid = true;
    return 0;
}

static void s_mark_region(hq_board_t *b, uint32_t r)
{
    if (r < b->aggs.n && !b->region_dirty.v[r]) {
        b->region_dirty.v[r] = 1;
        b->dirty_list.v[b->dirty_list.n++] = r;
    }
}

/* A tile changed: its city needs its aggregate again (or the unplaced). */
static void s_mark_hall(hq_board_t *b, const hq_hall_t *h)
{
    if (!b->aggs_valid)
        return;
    const org_t *org = hq_control_org(b->ctl);
    if (h->org_gen == b->aggs_org_gen && h->org_index >= 0 &&
        (size_t)h->org_index < org_hall_count(org))
        s_mark_region(b, org_hall_at(org, (uint32_t)h->org_index)->city);
    else
        b->unplaced_dirty = true;
}

/* The cities marked, then their provinces, then the root: each from its
 * own halls or children, never the whole network. */
static void s_aggs_update(hq_board_t *b)
{
    const org_t *org = hq_control_org(b->ctl);
    /* Marking a parent appends it to the list being read: it is of a lower
     * level, taken by a later pass. */
    for (int level = ORG_CITY; level >= ORG_NATIONAL; level--) {
        for (size_t k = 0; k < b->dirty_list.n; k++) {
            const org_region_t *r = org_region_at(org, b->dirty_list.v[k]);
            if ((int)r->level != level)
                continue;
            agg_t *a = &b->aggs.v[r->index];
            memset(a, 0, sizeof *a);
            const uint32_t *v;
            if (level == ORG_CITY) {
                size_t nh = org_city_halls(org, r, &v);
                for (size_t i = 0; i < nh; i++)
                    s_agg_add(a,
                              s_tile_or_never(b, v[i] < b->org_nums.n ? b->org_nums.v[v[i]] : 0));
            } else {
                size_t nc = org_region_children(org, r, &v);
                for (size_t i = 0; i < nc; i++)
                    s_agg_sum(a, &b->aggs.v[v[i]]);
            }
            if (r->parent >= 0)
                s_mark_region(b, (uint32_t)r->parent);
        }
    }
    if (b->unplaced_dirty)
        s_unplaced(b);
    s_total(b, org);
}

/* The aggregates that changed since they were last streamed, as one
 * "regions" event: {"regions": [...], "unplaced": {...}, "total": {...}}. */
static void s_aggs_publish(hq_board_t *b, int64_t now)
{
    const org_t *org = hq_control_org(b->ctl);
    hb_text_t *sb = &b->regions_text;
    hb_text_reset(sb);
    size_t changed = 0;
    hb_text_put(sb, "{\"regions\":[", 12);
    for (size_t k = 0; k < b->dirty_list.n; k++) {
        uint32_t i = b->dirty_list.v[k];
        b->region_dirty.v[i] = 0;
        if (memcmp(&b->aggs.v[i], &b->sent.v[i], sizeof b->aggs.v[i]) == 0)
            continue;
        if (changed++)
            hb_text_put(sb, ",", 1);
        s_agg_write(sb, org, org_region_at(org, i), &b->aggs.v[i], now);
        b->sent.v[i] = b->aggs.v[i];
    }
    b->dirty_list.n = 0;
    b->unplaced_dirty = false;
    bool totals = memcmp(&b->unplaced, &b->sent_unplaced, sizeof b->unplaced) != 0 ||
                  memcmp(&b->total, &b->sent_total, sizeof b->total) != 0;
    if (!changed && !totals)
        return;
    hb_text_put(sb, "],\"unplaced\":", 13);
    s_agg_write(sb, org, NULL, &b->unplaced, now);
    hb_text_put(sb, ",\"total\":", 9);
    s_agg_write(sb, org, NULL, &b->total, now);
    hb_text_put(sb, "}", 1);
    b->sent_unplaced = b->unplaced;
    b->sent_total = b->total;
    if (!sb->full)
        hq_sse_publish_text(b->sse, "regions", NULL, NULL, sb->p, sb->len);
}

/* Brings the aggregates up to the tiles and streams what changed; false
 * when out of memory. Every tile change up to the stream's last id is then
 * in them: a client that follows the stream from there misses none and
 * counts none twice. */
static bool s_aggs_sync(hq_board_t *b, int64_t now)
{
    if (!s_aggs_current(b) && s_aggs_rebuild(b) != 0)
        return false;
    if (b->dirty_list.n || b->unplaced_dirty) {
        s_aggs_update(b);
        s_aggs_publish(b, now);
    }
    b->aggs_stream_id = hq_sse_last_id(b->sse);
    return true;
}

/* ------------------------------------------------------------ rounds ---- */

static void s_update(hq_board_t *b, hq_hall_t *h, int64_t now)
{
    if (s_grow(b, h->num) != 0)
        return;
    hq_tile_t t;
    s_compute(b, h, now, &t);
    /* Every hall is looked at once a second and again at each change of
     * its state: the trend's samples of the number waiting. */
    const hb_hall_state_t *st = b->trend ? hq_live_state(b->live, h->num) : NULL;
    if (st)
        hq_trend_sample(b->trend, h->num, st->timezone, now, t.waiting);
    if (memcmp(&t, &b->tiles.v[h->num], sizeof t) == 0)
        return;
    b->tiles.v[h->num] = t;
    s_mark_hall(b, h);
    const org_region_t *chain[3];
    char path[3 * ORG_REGION_ID_MAX + 4];
    const org_hall_t *oh = s_place(b, h->org_index, chain, path, sizeof path);
    hb_text_reset(&b->scratch);
    s_tile_write(b, &b->scratch, h->id, oh, chain, &t, now);
    if (!b->scratch.full)
        hq_sse_publish_text(b->sse, "tile", h->id, path[0] ? path : NULL, b->scratch.p,
                            b->scratch.len);
    b->stats.tiles_published++;
}

/* Changed halls are taken from the mirror this many at a time, so that a
 * step that runs out of time leaves the rest in the mirror's list. */
#define BOARD_CHANGED_CHUNK 256

bool hq_board_step(hq_board_t *b, double budget_ms)
{
    int64_t t0 = hb_mono_ns(), now = hb_now_ms();
    if (!b->in_round) {
        size_t total = hq_halls_count(b->halls);
        b->in_round = true;
        b->round_work_ns = 0;
        b->dirty_at = 0;
        b->sweep_left = (total + BOARD_ROUNDS_PER_SECOND - 1) / BOARD_ROUNDS_PER_SECOND;
    }
    size_t done = 0;
    bool more = true;
    hq_live_read_lock(b->live);
    /* Halls whose state changed, until the mirror has none left this round
     * (a round takes at most BOARD_CHANGED_PER_ROUND of them). */
    for (;;) {
        if (b->pend_at == b->pend_n) {
            b->pend_at = b->pend_n = 0;
            if (b->changed_round >= BOARD_CHANGED_PER_ROUND)
                break;
            b->pend_n = hq_live_take_changed(b->live, b->changed, BOARD_CHANGED_CHUNK);
            b->changed_round += b->pend_n;
            if (b->pend_n == 0)
                break;
        }
        hq_hall_t *h = hq_halls_by_num(b->halls, b->changed[b->pend_at++]);
        if (h)
            s_update(b, h, now);
        if ((++done & 15) == 0 && hb_mono_spent(t0, budget_ms))
            goto out;
    }
    for (; b->dirty_at < b->dirty.n; b->dirty_at++) {
        if (!b->dirty.v[b->dirty_at])
            continue;
        b->dirty.v[b->dirty_at] = false;
        hq_hall_t *h = hq_halls_by_num(b->halls, (uint32_t)b->dirty_at);
        if (h)
            s_update(b, h, now);
        if ((++done & 15) == 0 && hb_mono_spent(t0, budget_ms)) {
            b->dirty_at++;
            goto out;
        }
    }
    /* And a slice of every hall, so that each is looked at once a second
     * (time moves halls in and out of their hours and past thresholds, and
     * a connection goes silent without an event) without one round of all
     * 10,000 holding the loop. */
    size_t total = hq_halls_count(b->halls);
    while (b->sweep_left > 0 && total) {
        hq_hall_t *h = hq_halls_sorted(b->halls, b->cursor % total);
        b->cursor = (b->cursor + 1) % total;
        b->sweep_left--;
        if (h)
            s_update(b, h, now);
        if ((++done & 15) == 0 && hb_mono_spent(t0, budget_ms))
            goto out;
    }
    more = false;
out:
    hq_live_read_unlock(b->live);
    if (!more)
        s_aggs_sync(b, now);
    b->round_work_ns += hb_mono_ns() - t0;
    if (more)
        return true;
    b->in_round = false;
    b->changed_round = 0;
    b->stats.rounds++;
    b->stats.last_round_ms = (double)b->round_work_ns / 1e6;
    return false;
}

void hq_board_tick(hq_board_t *b)
{
    while (hq_board_step(b, 1e9))
        ;
}

void hq_board_set_alerts(hq_board_t *b, uint32_t num, uint32_t open_alerts)
{
    if (!num || s_grow(b, num) != 0)
        return;
    if (b->alerts.v[num] != open_alerts) {
        b->alerts.v[num] = open_alerts;
        b->dirty.v[num] = true;
    }
}

void hq_board_get_stats(const hq_board_t *b, hq_board_stats_t *out) { *out = b->stats; }

void hq_board_set_trend(hq_board_t *b, hq_trend_t *trend) { b->trend = trend; }

/* ------------------------------------------------------------ views ---- */

static const hq_tile_t *s_tile(const hq_board_t *b, const hq_hall_t *h)
{
    return h ? s_tile_num(b, h->num) : NULL;
}

static bool s_has_tag(const org_t *org, const org_hall_t *oh, const char *tag)
{
    for (uint8_t i = 0; oh && i < oh->n_tags; i++)
        if (strcmp(org_tag_name(org, oh->tags[i]), tag) == 0)
            return true;
    return false;
}

const hq_tile_t *hq_board_tile_at(hq_board_t *b, uint32_t num) { return s_tile_num(b, num); }

json_t *hq_board_tile_json(hq_board_t *b, const char *hall, int64_t now_ms)
{
    hq_hall_t *h = hq_halls_find(b->halls, hall);
    if (!s_tile(b, h))
        return NULL;
    /* Taken afresh at `now_ms`, with the hall's figures per service: the
     * same functions as the rounds, at the moment the caller names. */
    hq_tile_t t;
    hq_live_read_lock(b->live);
    s_compute(b, h, now_ms, &t);
    json_t *fig = hb_hall_figures_json(b->fig);
    hq_live_read_unlock(b->live);
    const org_region_t *chain[3];
    const org_hall_t *oh = s_place(b, h->org_index, chain, NULL, 0);
    hb_text_t sb = HB_TEXT_INIT(BOARD_TEXT_MAX);
    s_tile_write(b, &sb, h->id, oh, chain, &t, now_ms);
    json_t *o = sb.full || !fig ? NULL : json_loadb(sb.p, sb.len, 0, NULL);
    hb_text_free(&sb);
    if (o && json_object_update(o, fig) != 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(fig);
    return o;
}

size_t hq_board_offered(hq_board_t *b, uint32_t num, int64_t now_ms, hq_offer_t *out, size_t max)
{
    hq_hall_t *h = hq_halls_by_num(b->halls, num);
    if (!h)
        return 0;
    size_t n = 0;
    hq_live_read_lock(b->live);
    const hb_hall_state_t *s = hq_live_state(b->live, num);
    if (s) {
        hb_hall_figures(s, hq_control_policy_at(b->ctl, s_org_index(b, h)), now_ms, b->fig);
        for (size_t i = 0; i < b->fig->n_services && n < max; i++) {
            const hb_fig_service_t *v = &b->fig->services[i];
            if (!v->offered)
                continue;
            snprintf(out[n].service, sizeof out[n].service, "%s", v->code);
            out[n].estimated_wait_s = v->estimated_wait_s;
            out[n].waiting = v->waiting;
            out[n].counters_open = v->counters_open;
            n++;
        }
    }
    hq_live_read_unlock(b->live);
    return n;
}

char *hq_board_halls_text(hq_board_t *b, org_hall_pred_fn sees, void *sees_arg, const char *region,
                          const char *tag, bool alerting, const char *worst, size_t offset,
                          size_t limit, size_t *len)
{
    const org_t *org = hq_control_org(b->ctl);
    const org_region_t *want = region ? org_region_find(org, region) : NULL;
    if (region && !want)
        return NULL;
    int64_t now = hb_now_ms();
    hb_text_t sb = HB_TEXT_INIT(BOARD_TEXT_MAX);
    size_t matched = 0, listed = 0;
    hb_text_putf(&sb, "{\"stream_id\":%llu,\"offset\":%zu,\"halls\":[",
                 (unsigned long long)hq_sse_last_id(b->sse), offset);
    /* The organisation's halls first (a hall that never connected is
     * offline, not missing), then halls that connected without a place. */
    s_aggs_sync(b, now);
    size_t n_org = b->aggs_valid ? b->org_nums.n : 0;
    size_t n_unplaced = b->aggs_valid ? b->unplaced_nums.n : 0;
    for (size_t i = 0; i < n_org + n_unplaced; i++) {
        const char *id;
        const org_hall_t *oh = NULL;
        const org_region_t *chain[3];
        uint32_t num;
        if (i < n_org) {
            oh = s_place(b, (int32_t)i, chain, NULL, 0);
            id = oh->id;
            num = b->org_nums.v[i];
        } else {
            num = b->unplaced_nums.v[i - n_org];
            hq_hall_t *h = hq_halls_by_num(b->halls, num);
            if (!h)
                continue;
            id = h->id;
        }
        if (sees && !sees(oh ? (int32_t)oh->index : -1, sees_arg))
            continue;
        if (want && (!oh || !org_region_contains(org, want, chain[0])))
            continue;
        if (tag && !s_has_tag(org, oh, tag))
            continue;
        const hq_tile_t *t = s_tile_or_never(b, num);
        if (alerting && t->alerts == 0)
            continue;
        if (worst && strcmp(worst, hq_worst_name(t->worst)) != 0)
            continue;
        if (matched >= offset && listed < limit) {
            if (listed++)
                hb_text_put(&sb, ",", 1);
            s_tile_write(b, &sb, id, oh, chain, t, now);
        }
        matched++;
    }
    hb_text_putf(&sb, "],\"total\":%zu}", matched);
    return hb_text_take(&sb, len);
}

char *hq_board_regions_text(hq_board_t *b, org_region_pred_fn sees, void *sees_arg,
                            const char *region, size_t *len)
{
    *len = 0;
    const org_t *org = hq_control_org(b->ctl);
    const org_region_t *want = region ? org_region_find(org, region) : NULL;
    if (region && !want)
        return NULL;
    int64_t now = hb_now_ms();
    /* The organisation may have changed since the last round: the answer
     * follows it at once. */
    if (!s_aggs_sync(b, now))
        return NULL;
    hb_text_t sb = HB_TEXT_INIT(BOARD_TEXT_MAX);
    hb_text_putf(&sb, "{\"stream_id\":%llu,\"regions\":[", (unsigned long long)b->aggs_stream_id);
    bool first = true;
    for (size_t i = 0; i < org_region_count(org); i++) {
        const org_region_t *r = org_region_at(org, (uint32_t)i);
        bool keep = !want || r == want || (r->parent >= 0 && (uint32_t)r->parent == want->index);
        if (!keep || (sees && !sees(r->index, sees_arg)))
            continue;
        if (!first)
            hb_text_put(&sb, ",", 1);
        first = false;
        s_agg_write(&sb, org, r, &b->aggs.v[i], now);
    }
    hb_text_put(&sb, "]", 1);
    if (!want && !sees) {
        hb_text_put(&sb, ",\"unplaced\":", 12);
        s_agg_write(&sb, org, NULL, &b->unplaced, now);
        hb_text_put(&sb, ",\"total\":", 9);
        s_agg_write(&sb, org, NULL, &b->total, now);
    }
    hb_text_put(&sb, "}", 1);
    return hb_text_take(&sb, len);
}
