/* The sweeps of the coordination check (see calcheck.c for the whole):
 * rule 2 walks the days a campaign starts or ends and groups the halls over
 * their limit by the exact set of campaigns they run; rules 3 and 4 walk the
 * campaigns in order of start, comparing only pairs that overlap in time.
 * Not for the run's setup or the report (calcheck.c). */
#include "calcheck_int.h"

#include "hallbus/error.h"
#include "hallbus/idmap.h"
#include "hallbus/json.h"
#include "hallbus/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ rule 2: days ---- */

/* The campaigns one hall ran over its limit on some day, with the halls
 * and days it happened on. */
typedef struct group {
    uint64_t key;
    uint32_t *items;
    size_t n_items;
    uint64_t *halls; /* bitset; NULL for a group past the findings cap */
    int32_t first, last;
    int lim_min, lim_max;
} group_t;

/* The state of the day sweep. A hall over its limit has an open run: the
 * group of the set it runs (cur) since some day. Only an event that
 * reaches the hall can change its set, so the sweep does work for the
 * halls each event reaches, never for every hall on every day: the run is
 * closed when an event reaches the hall, and a new one opened after the
 * day's events if the hall is still over. */
typedef struct sweep {
    uint32_t *count;      /* per hall: campaigns it runs now */
    uint64_t *hash;       /* per hall: XOR of their random numbers */
    calcheck_list_t *act; /* per hall: the campaigns it runs now */
    int32_t *cur;         /* per hall: the group of its open run, -1 when none */
    uint32_t *dirty;      /* halls reached by today's events */
    uint32_t *dirty_day;  /* per hall: 1 + the batch that last listed it */
    size_t n_dirty;
    group_t *groups;
    size_t n_groups, cap_groups;
    uint32_t *slots; /* group index + 1, keyed by set hash */
    size_t slot_cap;
} sweep_t;

typedef struct event {
    int32_t day;
    uint8_t start; /* 0 = the day after an end, 1 = a start: ends go first */
    uint32_t item;
} event_t;

static int s_by_event(const void *a, const void *b)
{
    const event_t *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* Whether group `g` is exactly the set hall `h` runs now. */
static bool s_group_is(const run_t *r, const sweep_t *s, const group_t *g, uint32_t h, int32_t day)
{
    const calcheck_list_t *now = &s->act[h];
    if (g->n_items != now->n)
        return false;
    if (now->n <= 16) {
        /* Small sets (the usual case: a few campaigns over a limit of a
         * few) compare as lists, without touching the hall sets. */
        for (size_t i = 0; i < g->n_items; i++) {
            bool in = false;
            for (size_t k = 0; k < now->n && !in; k++)
                in = now->v[k] == g->items[i];
            if (!in)
                return false;
        }
        return true;
    }
    for (size_t i = 0; i < g->n_items; i++) {
        const item_t *it = &r->items[g->items[i]];
        if (it->c->doc.start > day || it->c->doc.end < day || !calcheck__has(it, h))
            return false;
    }
    return true;
}

static uint64_t s_group_key_at(const void *arg, size_t i)
{
    return ((const sweep_t *)arg)->groups[i].key;
}

static int s_group_grow_table(sweep_t *s)
{
    return hb_slots_grow(&s->slots, &s->slot_cap, 256, s->n_groups, s_group_key_at, s);
}

/* The group of the set hall `h` runs on `day`, made when new. */
static int s_group_of(run_t *r, sweep_t *s, uint32_t h, int32_t day, int32_t *out)
{
    uint64_t key = s->hash[h];
    size_t mask = s->slot_cap - 1, j = (size_t)key & mask;
    while (s->slots[j]) {
        const group_t *g = &s->groups[s->slots[j] - 1];
        if (g->key == key && s_group_is(r, s, g, h, day)) {
            *out = (int32_t)(s->slots[j] - 1);
            return 0;
        }
        j = (j + 1) & mask;
    }
    if (s->n_groups == s->cap_groups) {
        size_t cap = s->cap_groups ? s->cap_groups * 2 : 64;
        group_t *v = realloc(s->groups, cap * sizeof *v);
        if (!v)
            return HB_ENOMEM;
        s->groups = v;
        s->cap_groups = cap;
    }
    group_t *g = &s->groups[s->n_groups];
    memset(g, 0, sizeof *g);
    g->key = key;
    g->first = day;
    g->last = day;
    g->lim_min = calcheck__lim(r, h).max_concurrent;
    g->lim_max = g->lim_min;
    g->items = malloc(s->act[h].n * sizeof *g->items);
    if (!g->items)
        return HB_ENOMEM;
    memcpy(g->items, s->act[h].v, s->act[h].n * sizeof *g->items);
    g->n_items = s->act[h].n;
    /* Halls are recorded for as many groups as become findings; the rest
     * are only counted. */
    if (s->n_groups < CALCHECK_PER_RULE_MAX) {
        g->halls = calloc(r->words, sizeof *g->halls);
        if (!g->halls) {
            free(g->items);
            return HB_ENOMEM;
        }
    }
    *out = (int32_t)s->n_groups++;
    if (s->n_groups * 2 > s->slot_cap)
        return s_group_grow_table(s);
    s->slots[j] = (uint32_t)s->n_groups;
    return 0;
}

static void s_act_remove(calcheck_list_t *l, uint32_t v)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i] == v) {
            l->v[i] = l->v[--l->n];
            return;
        }
    }
}

/* A campaign starts or ends, on `day`, at every hall it reaches: an open
 * run there ends the day before. */
static int s_touch(run_t *r, sweep_t *s, uint32_t index, bool start, int32_t day, uint32_t batch)
{
    const item_t *it = &r->items[index];
    uint64_t z = it->zob;
    int rc = 0;
    FOR_EACH_HALL(it, h, {
        if (s->cur[h] >= 0) {
            group_t *g = &s->groups[s->cur[h]];
            if (day - 1 > g->last)
                g->last = day - 1;
            s->cur[h] = -1;
        }
        if (s->dirty_day[h] != batch) {
            s->dirty_day[h] = batch;
            s->dirty[s->n_dirty++] = h;
        }
        s->hash[h] ^= z;
        if (start) {
            if (hb_vec_append(&s->act[h], &index) != 0)
                rc = HB_ENOMEM;
            s->count[h]++;
        } else {
            s_act_remove(&s->act[h], index);
            s->count[h]--;
        }
    });
    return rc;
}

static int s_group_finding(run_t *r, const group_t *g)
{
    calcheck_finding_t *f = NULL;
    int rc = calcheck__finding(r, CALCHECK_CONCURRENCY, CALCHECK_ERROR, &f);
    if (rc != 0 || !f)
        return rc;
    rc = calcheck__set_campaigns(r, f, g->items, g->n_items);
    uint32_t first[CALCHECK_SAMPLE_MAX];
    size_t k = 0;
    for (size_t w = 0; w < r->words && k < CALCHECK_SAMPLE_MAX; w++) {
        uint64_t word = g->halls[w];
        while (word && k < CALCHECK_SAMPLE_MAX) {
            first[k++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(word));
            word &= word - 1;
        }
    }
    size_t n = org_bitset_count(g->halls, r->words);
    calcheck__set_halls(r, f, n, first, k);
    f->first_day = g->first;
    f->last_day = g->last;
    char a[11], b[11], allows[32];
    hb_date_format(g->first, a);
    hb_date_format(g->last, b);
    if (g->lim_min == g->lim_max)
        hb_json_pathf(allows, sizeof allows, "%d", g->lim_min);
    else
        hb_json_pathf(allows, sizeof allows, "%d to %d", g->lim_min, g->lim_max);
    hb_json_pathf(
        f->message, sizeof f->message,
        "%zu halls would run these %zu campaigns at once on days from %s to %s; their policy "
        "allows %s at a time",
        n, g->n_items, a, b, allows);
    return rc;
}

int calcheck__rule_concurrency(run_t *r)
{
    sweep_t s = {0};
    event_t *ev = malloc((2 * r->n + 1) * sizeof *ev);
    size_t n_ev = 0;
    int rc = 0;
    s.count = calloc(r->n_halls + 1, sizeof *s.count);
    s.hash = calloc(r->n_halls + 1, sizeof *s.hash);
    s.act = calloc(r->n_halls + 1, sizeof *s.act);
    s.cur = malloc((r->n_halls + 1) * sizeof *s.cur);
    s.dirty = malloc((r->n_halls + 1) * sizeof *s.dirty);
    s.dirty_day = calloc(r->n_halls + 1, sizeof *s.dirty_day);
    if (!ev || !s.count || !s.hash || !s.act || !s.cur || !s.dirty || !s.dirty_day ||
        s_group_grow_table(&s) != 0) {
        rc = hb_err_nomem(r->err, r->errlen);
        goto out;
    }
    for (size_t h = 0; h < r->n_halls; h++)
        s.cur[h] = -1;
    for (size_t h = 0; h <= r->n_halls; h++)
        s.act[h].max = r->n ? r->n : 1; /* each campaign runs once at a hall */
    for (size_t i = 0; i < r->n; i++) {
        if (!r->items[i].ok)
            continue;
        ev[n_ev++] = (event_t){r->items[i].c->doc.start, 1, (uint32_t)i};
        ev[n_ev++] = (event_t){r->items[i].c->doc.end + 1, 0, (uint32_t)i};
    }
    if (n_ev > 1)
        qsort(ev, n_ev, sizeof *ev, s_by_event);
    uint32_t batch = 0;
    for (size_t e = 0; e < n_ev;) {
        int32_t day = ev[e].day;
        batch++;
        s.n_dirty = 0;
        for (; e < n_ev && ev[e].day == day; e++) {
            if (s_touch(r, &s, ev[e].item, ev[e].start != 0, day, batch) != 0) {
                rc = hb_err_nomem(r->err, r->errlen);
                goto out;
            }
        }
        /* The halls today's events reached and left over their limit open
         * a run. Every campaign ends, so every run is closed by a touch. */
        for (size_t k = 0; k < s.n_dirty; k++) {
            uint32_t h = s.dirty[k];
            int lim = calcheck__lim(r, h).max_concurrent;
            if (s.count[h] <= (uint32_t)lim)
                continue;
            int32_t gi = -1;
            if (s_group_of(r, &s, h, day, &gi) != 0) {
                rc = hb_err_nomem(r->err, r->errlen);
                goto out;
            }
            group_t *g = &s.groups[gi];
            s.cur[h] = gi;
            if (g->halls)
                org_bit_set(g->halls, h);
            if (day > g->last)
                g->last = day;
            if (lim < g->lim_min)
                g->lim_min = lim;
            if (lim > g->lim_max)
                g->lim_max = lim;
        }
    }
    for (size_t i = 0; i < s.n_groups && rc == 0; i++) {
        if (s.groups[i].halls) {
            rc = s_group_finding(r, &s.groups[i]);
        } else {
            calcheck_finding_t *none = NULL;
            rc = calcheck__finding(r, CALCHECK_CONCURRENCY, CALCHECK_ERROR, &none);
        }
    }
out:
    for (size_t i = 0; i < s.n_groups; i++) {
        free(s.groups[i].items);
        free(s.groups[i].halls);
    }
    for (size_t h = 0; s.act && h < r->n_halls; h++)
        hb_vec_free(&s.act[h]);
    free(s.groups);
    free(s.slots);
    free(ev);
    free(s.count);
    free(s.hash);
    free(s.act);
    free(s.cur);
    free(s.dirty);
    free(s.dirty_day);
    return rc;
}

/* ------------------------------------------------- rules 3 and 4: pairs ---- */

static bool s_descends(const item_t *c, uint32_t ancestor)
{
    for (size_t i = 0; i < c->n_anc; i++)
        if ((uint32_t)c->anc[i] == ancestor)
            return true;
    return false;
}

/* How many halls both reach, and the first of them by index. */
static size_t s_intersect(const item_t *a, const item_t *b, uint32_t *first, size_t *n_first)
{
    size_t n = 0;
    *n_first = 0;
    if (a->bits && b->bits) {
        size_t lo = a->lo > b->lo ? a->lo : b->lo, hi = a->hi < b->hi ? a->hi : b->hi;
        for (size_t w = lo; w < hi; w++) {
            uint64_t x = a->bits[w] & b->bits[w];
            n += (size_t)__builtin_popcountll(x);
            while (x && *n_first < CALCHECK_SAMPLE_MAX) {
                first[(*n_first)++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
                x &= x - 1;
            }
        }
        return n;
    }
    if (!a->bits && !b->bits) {
        size_t i = 0, j = 0;
        while (i < a->n_halls && j < b->n_halls) {
            if (a->list[i] < b->list[j]) {
                i++;
            } else if (a->list[i] > b->list[j]) {
                j++;
            } else {
                if (*n_first < CALCHECK_SAMPLE_MAX)
                    first[(*n_first)++] = a->list[i];
                n++;
                i++;
                j++;
            }
        }
        return n;
    }
    const item_t *sparse = a->bits ? b : a, *dense = a->bits ? a : b;
    for (size_t i = 0; i < sparse->n_halls; i++) {
        if (org_bit_test(dense->bits, sparse->list[i])) {
            if (*n_first < CALCHECK_SAMPLE_MAX)
                first[(*n_first)++] = sparse->list[i];
            n++;
        }
    }
    return n;
}

/* How many numbers two sorted lists share; the first `max` go to `out`. */
static size_t s_shared(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out,
                       size_t max)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) {
            i++;
        } else if (a[i] > b[j]) {
            j++;
        } else {
            if (k < max)
                out[k] = a[i];
            k++;
            i++;
            j++;
        }
    }
    return k;
}

/* Two campaigns running together, as a finding names them. */
typedef struct overlap {
    uint32_t a, b;               /* in the finding's order */
    int32_t first_day, last_day; /* the days both run */
    char d1[11], d2[11];         /* those days as text, once a finding is made */
} overlap_t;

/* A new finding of `rule` about overlap `o` in `n` halls (`first` the
 * sample, `n_first` of them), or *out NULL with the code when there is none
 * to fill: no hall (0), the rule at its cap, or memory ran out. With *out
 * set, a non-zero code is the campaigns' naming failing; the finding is
 * filled all the same. */
static int s_overlap_finding(run_t *r, calcheck_rule_t rule, calcheck_severity_t sev, overlap_t *o,
                             size_t n, const uint32_t *first, size_t n_first,
                             calcheck_finding_t **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    int rc = calcheck__finding(r, rule, sev, out);
    if (rc != 0 || !*out)
        return rc;
    uint32_t pair[2] = {o->a, o->b};
    rc = calcheck__set_campaigns(r, *out, pair, 2);
    calcheck__set_halls(r, *out, n, first, n_first);
    (*out)->first_day = o->first_day;
    (*out)->last_day = o->last_day;
    hb_date_format(o->first_day, o->d1);
    hb_date_format(o->last_day, o->d2);
    return rc;
}

static int s_rule_product(run_t *r, uint32_t ai, uint32_t bi, int32_t first_day, int32_t last_day)
{
    const item_t *a = &r->items[ai], *b = &r->items[bi];
    uint32_t sp[HB_CAL_ITEMS_MAX], sb[HB_CAL_ITEMS_MAX];
    size_t np = s_shared(a->prod, a->n_prod, b->prod, b->n_prod, sp, HB_CAL_ITEMS_MAX);
    size_t nb = s_shared(a->btype, a->n_btype, b->btype, b->n_btype, sb, HB_CAL_ITEMS_MAX);
    if (np + nb == 0 || s_descends(a, bi) || s_descends(b, ai))
        return 0;
    uint32_t first[CALCHECK_SAMPLE_MAX];
    size_t n_first = 0;
    size_t n = s_intersect(a, b, first, &n_first);
    calcheck_finding_t *f = NULL;
    overlap_t o = {.a = ai, .b = bi, .first_day = first_day, .last_day = last_day};
    int rc = s_overlap_finding(r, CALCHECK_PRODUCT, CALCHECK_ERROR, &o, n, first, n_first, &f);
    if (!f)
        return rc;
    char what[256] = "";
    size_t used = 0;
    for (size_t k = 0; k < np + nb && rc == 0; k++) {
        bool prod = k < np;
        const char *id = prod ? r->prods.keys[sp[k]] : r->btypes.keys[sb[k - np]];
        rc = calcheck__add_subject(r, f, prod ? "product:" : "business_type:", id);
        if (used < sizeof what) {
            hb_json_pathf(what + used, sizeof what - used, "%s%s %s", k ? ", " : "",
                          prod ? "product" : "business type", id);
            used = strlen(what);
        }
    }
    hb_json_pathf(
        f->message, sizeof f->message,
        "%s and %s both promote %s in %zu halls from %s to %s, and neither descends from the "
        "other: merge them or make one the other's parent",
        a->c->doc.id, b->c->doc.id, what, n, o.d1, o.d2);
    return rc;
}

static int s_rule_city(run_t *r, uint32_t ai, uint32_t bi, int32_t first_day, int32_t last_day)
{
    const item_t *a = &r->items[ai], *b = &r->items[bi];
    uint32_t ci, wi;
    if (a->c->doc.level == HB_CAL_CITY && b->c->doc.level != HB_CAL_CITY) {
        ci = ai;
        wi = bi;
    } else if (b->c->doc.level == HB_CAL_CITY && a->c->doc.level != HB_CAL_CITY) {
        ci = bi;
        wi = ai;
    } else {
        return 0;
    }
    const item_t *c = &r->items[ci], *w = &r->items[wi];
    if (!c->city || !w->owner || !org_region_contains(r->org, w->owner, c->city) ||
        s_descends(c, wi))
        return 0; /* a wider campaign reaches only halls under its owner */
    const uint32_t *halls = NULL;
    size_t n_city = org_city_halls(r->org, c->city, &halls);
    uint32_t first[CALCHECK_SAMPLE_MAX];
    size_t n = 0;
    bool error = false;
    for (size_t k = 0; k < n_city; k++) {
        if (!calcheck__has(w, halls[k]))
            continue;
        if (n < CALCHECK_SAMPLE_MAX)
            first[n] = halls[k];
        n++;
        error = error || calcheck__lim(r, halls[k]).city_overlap_error;
    }
    calcheck_finding_t *f = NULL;
    overlap_t o = {.a = ci, .b = wi, .first_day = first_day, .last_day = last_day};
    int rc = s_overlap_finding(r, CALCHECK_CITY_OVERLAP, error ? CALCHECK_ERROR : CALCHECK_WARNING,
                               &o, n, first, n, &f);
    if (!f)
        return rc;
    hb_json_pathf(
        f->message, sizeof f->message,
        "city campaign %s runs in %s from %s to %s while %s campaign %s covers %zu of its halls, "
        "and %s does not name %s as its parent%s",
        c->c->doc.id, c->city->id, o.d1, o.d2, hb_cal_level_name(w->c->doc.level), w->c->doc.id, n,
        c->c->doc.id, w->c->doc.id, error ? " (an error: the policy of these halls says so)" : "");
    return rc;
}

int calcheck__rule_pairs(run_t *r)
{
    uint32_t *active = malloc((r->n + 1) * sizeof *active);
    size_t n_active = 0;
    int rc = 0;
    if (!active)
        return hb_err_nomem(r->err, r->errlen);
    for (size_t bi = 0; bi < r->n && rc == 0; bi++) {
        const item_t *b = &r->items[bi];
        if (!b->ok)
            continue;
        int32_t start = b->c->doc.start;
        /* Items come in order of start: whatever ended before this one
         * starts overlaps nothing from here on. */
        size_t keep = 0;
        for (size_t k = 0; k < n_active; k++)
            if (r->items[active[k]].c->doc.end >= start)
                active[keep++] = active[k];
        n_active = keep;
        for (size_t k = 0; k < n_active && rc == 0; k++) {
            uint32_t ai = active[k];
            int32_t last =
                r->items[ai].c->doc.end < b->c->doc.end ? r->items[ai].c->doc.end : b->c->doc.end;
            rc = s_rule_product(r, ai, (uint32_t)bi, start, last);
            if (rc == 0)
                rc = s_rule_city(r, ai, (uint32_t)bi, start, last);
        }
        active[n_active++] = (uint32_t)bi;
    }
    free(active);
    return rc;
}
