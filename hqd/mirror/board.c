/* The live board (see board.h). Tiles are kept by hall number (the link's
 * registry); the organisation says where each hall sits. A round takes the
 * halls the mirror says changed, plus, once a second, every hall (time
 * moves a hall in and out of its opening hours and past thresholds, and a
 * connection goes silent without any event). */
#include "board.h"

#include "alerts.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOARD_CHANGED_PER_ROUND 20000
#define BOARD_ROUNDS_PER_SECOND 4 /* hqd ticks the board every 250 ms */
#define BOARD_LIST_MAX 100000

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf_t;

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
    hq_tile_t *tiles; /* by hall number */
    uint32_t *alerts; /* open alerts by hall number, from the alert store */
    bool *dirty;
    size_t cap;
    uint32_t *changed;
    sbuf_t scratch; /* one tile's text, for the stream */
    /* Organisation hall index -> hall number (0: never connected), kept
     * while the organisation and the registry stay as they were: the views
     * walk every hall of the organisation on every request. */
    uint32_t *org_nums;
    size_t n_org_nums, halls_at_map;
    const org_t *org_at_map;
    uint64_t org_gen_at_map;
    size_t cursor; /* where the next slice of every hall starts */
    hq_board_stats_t stats;
    /* The region aggregates, by region index, as of board round
     * `aggs_round`: tiles change only in rounds, so every request between
     * two rounds is answered from one walk of the halls. */
    agg_t *aggs;
    size_t n_aggs, aggs_halls;
    uint64_t aggs_round, aggs_org_gen, aggs_stream_id;
    const org_t *aggs_org;
    bool aggs_valid;
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
    free(b->scratch.p);
    free(b->org_nums);
    free(b->aggs);
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
    hb_open_info_t oi;
    int64_t opening_start;
    const hb_policy_t *p = hq_control_opening(b->ctl, h->id, now, ALERTS_OPENING_BACK_DAYS, &oi,
                                              &opening_start);
    if (p)
        t->open = oi.state == HB_OPEN_NOW;
    bool near = false;
    const hb_hall_state_t *s = hq_live_state(b->live, h->num);
    if (s) {
        t->seq = s->seq;
        if (s->policy_version > t->policy_version)
            t->policy_version = s->policy_version;
        if (s->calendar_version > t->calendar_version)
            t->calendar_version = s->calendar_version;
        /* The oldest waiting ticket of each service and priority decides
         * whether any is near its SLA: one policy lookup per pair, not per
         * ticket (a hall may hold thousands). */
        int64_t oldest[HB_HS_SERVICES_MAX][5];
        size_t nsvc = s->n_services < HB_HS_SERVICES_MAX ? s->n_services : HB_HS_SERVICES_MAX;
        for (size_t i = 0; i < nsvc; i++)
            for (int q = 0; q < 5; q++)
                oldest[i][q] = INT64_MAX;
        size_t last = 0;
        for (size_t i = 0; i < s->n_tickets; i++) {
            const hb_hs_ticket_t *k = &s->tickets[i];
            if (k->state != HB_TICKET_WAITING)
                continue;
            t->waiting++;
            if (!t->oldest_issued_ms || k->issued_ms < t->oldest_issued_ms)
                t->oldest_issued_ms = k->issued_ms;
            if (last >= nsvc || strcmp(s->services[last].code, k->service) != 0)
                for (last = 0; last < nsvc && strcmp(s->services[last].code, k->service) != 0;)
                    last++;
            int q = k->priority > 0 && k->priority < 5 ? k->priority : 0;
            if (last < nsvc && k->issued_ms < oldest[last][q])
                oldest[last][q] = k->issued_ms;
        }
        for (size_t i = 0; p && i < nsvc && !near; i++)
            for (int q = 0; q < 5 && !near; q++)
                /* Three quarters of the way to the SLA is worth a look. */
                near = oldest[i][q] != INT64_MAX &&
                       now - oldest[i][q] >=
                           hb_policy_max_wait_s(p, s->services[i].code, q) * 750;
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

/* A tile's JSON written straight into a buffer: tiles are what the board
 * sends most (every change, and 10,000 of them in one first load), and
 * building a jansson object per tile to dump it at once cost the loop more
 * than everything else the board does. Names come from the organisation,
 * which holds valid UTF-8; only quotes, backslashes and control characters
 * need escaping. */
static void s_put(sbuf_t *sb, const char *data, size_t len)
{
    if (sb->oom)
        return;
    if (sb->n + len + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap * 2 : 4096;
        while (cap < sb->n + len + 1)
            cap *= 2;
        char *q = realloc(sb->p, cap);
        if (!q) {
            sb->oom = true;
            return;
        }
        sb->p = q;
        sb->cap = cap;
    }
    memcpy(sb->p + sb->n, data, len);
    sb->n += len;
    sb->p[sb->n] = '\0';
}

static void s_putf(sbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_putf(sbuf_t *sb, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        s_put(sb, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string, or null. */
static void s_put_str(sbuf_t *sb, const char *v)
{
    if (!v) {
        s_put(sb, "null", 4);
        return;
    }
    s_put(sb, "\"", 1);
    const char *run = v;
    for (const char *q = v; *q; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        s_put(sb, run, (size_t)(q - run));
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            s_put(sb, esc, 2);
        } else {
            s_putf(sb, "\\u%04x", ch);
        }
        run = q + 1;
    }
    s_put(sb, run, strlen(run));
    s_put(sb, "\"", 1);
}

static void s_tile_write(hq_board_t *b, sbuf_t *sb, const char *hall, const hq_tile_t *t,
                         int64_t now)
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
    s_put(sb, "{\"hall\":", 8);
    s_put_str(sb, hall);
    s_putf(sb,
           ",\"online\":%s,\"open\":%s,\"worst\":\"%s\",\"waiting\":%u,\"longest_wait_s\":%lld,"
           "\"counters_open\":%u,\"counters_busy\":%u,\"complaints_open\":%u,"
           "\"complaints_overdue\":%u,\"devices_not_ok\":%u,\"alerts\":%u,\"issued_today\":%u,"
           "\"served_today\":%u,\"backlog\":%llu,\"seq\":%llu,\"policy_version\":%llu,"
           "\"calendar_version\":%llu,\"estimated_wait_s\":%u,\"oldest_issued\":",
           t->online ? "true" : "false", t->open ? "true" : "false", hq_worst_name(t->worst),
           t->waiting, (long long)longest, t->counters_open, t->counters_busy, t->complaints_open,
           t->complaints_overdue, t->devices_not_ok, t->alerts, t->issued_today, t->served_today,
           (unsigned long long)t->backlog, (unsigned long long)t->seq,
           (unsigned long long)t->policy_version, (unsigned long long)t->calendar_version,
           t->est_wait_s);
    s_put_str(sb, oldest[0] ? oldest : NULL);
    s_put(sb, ",\"name\":", 8);
    s_put_str(sb, oh ? oh->name : NULL);
    s_put(sb, ",\"city\":", 8);
    s_put_str(sb, oh ? chain[0]->id : NULL);
    s_put(sb, ",\"province\":", 12);
    s_put_str(sb, oh ? chain[1]->id : NULL);
    s_put(sb, ",\"tags\":[", 9);
    for (uint8_t i = 0; oh && i < oh->n_tags; i++) {
        if (i)
            s_put(sb, ",", 1);
        s_put_str(sb, org_tag_name(hq_control_org(b->ctl), oh->tags[i]));
    }
    s_put(sb, "]}", 2);
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
    const org_region_t *chain[3];
    char path[3 * ORG_REGION_ID_MAX + 4];
    s_place(b, h->id, chain, path, sizeof path);
    b->scratch.n = 0;
    s_tile_write(b, &b->scratch, h->id, &t, now);
    if (!b->scratch.oom)
        hq_sse_publish_text(b->sse, "tile", h->id, path[0] ? path : NULL, b->scratch.p,
                            b->scratch.n);
    b->scratch.oom = false;
    b->stats.tiles_published++;
}

void hq_board_tick(hq_board_t *b)
{
    int64_t t0 = hb_mono_ms(), now = hb_now_ms();
    size_t n = hq_live_take_changed(b->live, b->changed, BOARD_CHANGED_PER_ROUND);
    hq_live_read_lock(b->live);
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
    /* And a slice of every hall, so that each is looked at once a second
     * (time moves halls in and out of their hours and past thresholds, and
     * a connection goes silent without an event) without one round of all
     * 10,000 holding the loop. */
    size_t total = hq_halls_count(b->halls);
    size_t slice = (total + BOARD_ROUNDS_PER_SECOND - 1) / BOARD_ROUNDS_PER_SECOND;
    for (size_t k = 0; k < slice && total; k++) {
        hq_hall_t *h = hq_halls_sorted(b->halls, (b->cursor + k) % total);
        if (h)
            s_update(b, h, now);
    }
    if (total)
        b->cursor = (b->cursor + slice) % total;
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

static const uint32_t *s_org_nums(hq_board_t *b, const org_t *org)
{
    size_t n = org_hall_count(org), known = hq_halls_count(b->halls);
    if (b->org_nums && b->org_at_map == org && b->org_gen_at_map == org_generation(org) &&
        b->n_org_nums == n && b->halls_at_map == known)
        return b->org_nums;
    uint32_t *map = realloc(b->org_nums, (n ? n : 1) * sizeof *map);
    if (!map)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const hq_hall_t *h = hq_halls_find(b->halls, org_hall_at(org, (uint32_t)i)->id);
        map[i] = h ? h->num : 0;
    }
    b->org_nums = map;
    b->n_org_nums = n;
    b->halls_at_map = known;
    b->org_at_map = org;
    b->org_gen_at_map = org_generation(org);
    return map;
}

static const hq_tile_t *s_org_tile(hq_board_t *b, const uint32_t *nums, size_t i)
{
    if (!nums)
        return NULL;
    uint32_t num = nums[i];
    return num && num < b->cap && b->tiles[num].known ? &b->tiles[num] : NULL;
}

json_t *hq_board_tile_json(hq_board_t *b, const char *hall)
{
    hq_hall_t *h = hq_halls_find(b->halls, hall);
    const hq_tile_t *t = s_tile(b, h);
    if (!t)
        return NULL;
    sbuf_t sb = {0};
    s_tile_write(b, &sb, h->id, t, hb_now_ms());
    json_t *o = sb.oom ? NULL : json_loadb(sb.p, sb.n, 0, NULL);
    free(sb.p);
    return o;
}

char *hq_board_halls_text(hq_board_t *b, const char *region, const char *tag, bool alerting,
                          const char *worst, size_t offset, size_t limit, size_t *len)
{
    const org_t *org = hq_control_org(b->ctl);
    const org_region_t *want = region ? org_region_find(org, region) : NULL;
    if (region && !want)
        return NULL;
    int64_t now = hb_now_ms();
    sbuf_t sb = {0};
    size_t matched = 0, listed = 0;
    s_putf(&sb, "{\"stream_id\":%llu,\"offset\":%zu,\"halls\":[",
           (unsigned long long)hq_sse_last_id(b->sse), offset);
    /* The organisation's halls first (a hall that never connected is
     * offline, not missing), then halls that connected without a place. */
    size_t n_org = org_hall_count(org), total = hq_halls_count(b->halls);
    hq_tile_t never = {.worst = HQ_WORST_OFFLINE};
    const uint32_t *nums = s_org_nums(b, org);
    for (size_t i = 0; i < n_org + total; i++) {
        const char *id;
        const org_hall_t *oh = NULL;
        hq_hall_t *h;
        if (i < n_org) {
            oh = org_hall_at(org, (uint32_t)i);
            id = oh->id;
            h = nums ? hq_halls_by_num(b->halls, nums[i]) : hq_halls_find(b->halls, id);
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
        if (matched >= offset && listed < limit) {
            if (listed++)
                s_put(&sb, ",", 1);
            s_tile_write(b, &sb, id, t, now);
        }
        matched++;
    }
    s_putf(&sb, "],\"total\":%zu}", matched);
    if (sb.oom) {
        free(sb.p);
        return NULL;
    }
    *len = sb.n;
    return sb.p;
}

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

static void s_agg_write(sbuf_t *sb, const org_t *org, const org_region_t *r, const agg_t *a,
                        int64_t now)
{
    const org_region_t *parent = r->parent >= 0 ? org_region_at(org, (uint32_t)r->parent) : NULL;
    int64_t longest = a->oldest_issued_ms && now > a->oldest_issued_ms
                          ? (now - a->oldest_issued_ms) / 1000
                          : 0;
    s_put(sb, "{\"region\":", 10);
    s_put_str(sb, r->id);
    s_put(sb, ",\"name\":", 8);
    s_put_str(sb, r->name ? r->name : "");
    s_putf(sb, ",\"level\":\"%s\",\"parent\":", org_level_name(r->level));
    s_put_str(sb, parent ? parent->id : NULL);
    s_putf(sb,
           ",\"halls\":%u,\"online\":%u,\"open\":%u,\"waiting\":%u,\"longest_wait_s\":%lld,"
           "\"alerts\":%u,\"counters_open\":%u,\"complaints_overdue\":%u,\"devices_not_ok\":%u,"
           "\"served_today\":%u,\"worst\":\"%s\",\"by_worst\":{",
           a->halls, a->online, a->open, a->waiting, (long long)longest, a->alerts,
           a->counters_open, a->complaints_overdue, a->devices_not_ok, a->served_today,
           hq_worst_name(a->halls ? a->worst : HQ_WORST_OK));
    for (int w = 0; w <= HQ_WORST_OFFLINE; w++)
        s_putf(sb, "%s\"%s\":%u", w ? "," : "", hq_worst_name(w), a->by_worst[w]);
    s_put(sb, "}}", 2);
}

/* The aggregates of every region as of the last round; NULL when out of
 * memory. */
static const agg_t *s_aggs(hq_board_t *b, const org_t *org)
{
    size_t nr = org_region_count(org), nh = org_hall_count(org);
    if (b->aggs_valid && b->aggs_round == b->stats.rounds && b->aggs_org == org &&
        b->aggs_org_gen == org_generation(org) && b->n_aggs == nr &&
        b->aggs_halls == hq_halls_count(b->halls))
        return b->aggs;
    b->aggs_valid = false;
    if (nr > b->n_aggs || !b->aggs) {
        agg_t *p = realloc(b->aggs, (nr ? nr : 1) * sizeof *p);
        if (!p)
            return NULL;
        b->aggs = p;
    }
    b->n_aggs = nr;
    memset(b->aggs, 0, (nr ? nr : 1) * sizeof *b->aggs);
    hq_tile_t never = {.worst = HQ_WORST_OFFLINE};
    const uint32_t *nums = s_org_nums(b, org);
    /* Each hall counts in its city, its province and the root. */
    for (size_t i = 0; i < nh; i++) {
        const org_hall_t *oh = org_hall_at(org, (uint32_t)i);
        const hq_tile_t *t = s_org_tile(b, nums, i);
        if (!t)
            t = &never;
        for (int32_t r = (int32_t)oh->city; r >= 0; r = org_region_at(org, (uint32_t)r)->parent)
            s_agg_add(&b->aggs[r], t);
    }
    /* Every tile change up to here is in the aggregates: a client that
     * follows the stream from this id misses none and counts none twice. */
    b->aggs_stream_id = hq_sse_last_id(b->sse);
    b->aggs_round = b->stats.rounds;
    b->aggs_org = org;
    b->aggs_org_gen = org_generation(org);
    b->aggs_halls = hq_halls_count(b->halls);
    b->aggs_valid = true;
    return b->aggs;
}

char *hq_board_regions_text(hq_board_t *b, const char *region, size_t *len)
{
    *len = 0;
    const org_t *org = hq_control_org(b->ctl);
    const org_region_t *want = region ? org_region_find(org, region) : NULL;
    if (region && !want)
        return NULL;
    const agg_t *aggs = s_aggs(b, org);
    if (!aggs)
        return NULL;
    int64_t now = hb_now_ms();
    sbuf_t sb = {0};
    s_putf(&sb, "{\"stream_id\":%llu,\"regions\":[", (unsigned long long)b->aggs_stream_id);
    bool first = true;
    for (size_t i = 0; i < org_region_count(org); i++) {
        const org_region_t *r = org_region_at(org, (uint32_t)i);
        bool keep = !want || r == want || (r->parent >= 0 && (uint32_t)r->parent == want->index);
        if (!keep)
            continue;
        if (!first)
            s_put(&sb, ",", 1);
        first = false;
        s_agg_write(&sb, org, r, &aggs[i], now);
    }
    s_put(&sb, "]}", 2);
    if (sb.oom) {
        free(sb.p);
        return NULL;
    }
    *len = sb.n;
    return sb.p;
}
