/* The coordination check (see calcheck.h). One run resolves every checked
 * campaign's scope once into a hall set (a sorted index list when that is
 * smaller than a bitset over all halls, else a bitset with the range of
 * words in use), then applies the rules:
 *
 * - rules 0, 1, 5 and 6 look at one campaign at a time;
 * - rule 2 sweeps the days: at each day where a campaign starts or ends,
 *   per-hall counters and a per-hall hash of the running set (the XOR of a
 *   random number per campaign) are updated for the halls it touches, and
 *   the halls over their limit are grouped by the exact set they run, so
 *   that a finding names one set of campaigns with all its halls and days;
 * - rules 3 and 4 sweep the campaigns in order of start, keeping those
 *   still running, so only pairs that overlap in time are ever compared.
 *
 * Everything a run allocates is freed before it returns, except the report.
 * Findings per rule are capped (CALCHECK_PER_RULE_MAX) and the rest counted,
 * so a badly broken calendar cannot make the report unbounded.
 *
 * This file holds the run, the rules on one campaign and the report; the
 * sweeps of rules 2, 3 and 4 are calcheck_sweep.c's, the glossary's search
 * glossary.c's. */
#include "calcheck_int.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/idmap.h"
#include "hallbus/json.h"
#include "hallbus/names.h"
#include "hallbus/vec.h"
#include "hallbus/tz.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- helpers ---- */

/* splitmix64: a well-spread 64-bit number per campaign for the set hash. */
static uint64_t s_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static bool s_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static const void *s_tab_key(const void *t, uint32_t i) { return ((const strtab_t *)t)->keys[i]; }

static int s_tab_init(strtab_t *t, size_t max_keys)
{
    t->keys = calloc(max_keys ? max_keys : 1, sizeof *t->keys);
    t->n = 0;
    hb_idmap_init(&t->map, max_keys ? max_keys : 1, s_tab_key);
    if (!t->keys || hb_idmap_reserve(&t->map, t, max_keys) != 0)
        return HB_ENOMEM;
    return 0;
}

static void s_tab_free(strtab_t *t)
{
    hb_idmap_free(&t->map);
    free(t->keys);
}

static int32_t s_tab_find(const strtab_t *t, const char *key)
{
    return hb_idmap_find_with(&t->map, t, key, s_tab_key);
}

/* The key's number, adding it when new; the table was sized for every key,
 * so the addition cannot fail. */
static uint32_t s_tab_intern(strtab_t *t, const char *key)
{
    int32_t i = s_tab_find(t, key);
    if (i >= 0)
        return (uint32_t)i;
    t->keys[t->n] = key;
    int rc = hb_idmap_add(&t->map, t, (uint32_t)t->n);
    assert(rc == 0);
    (void)rc;
    return (uint32_t)t->n++;
}

/* --------------------------------------------------------------- run ---- */

calcheck_limits_t calcheck__lim(const run_t *r, uint32_t h)
{
    return r->in->limits ? r->in->limits[h] : CALCHECK_LIMITS_DEFAULT;
}

bool calcheck__has(const item_t *it, uint32_t h)
{
    if (it->bits)
        return org_bit_test(it->bits, h);
    size_t lo = 0, hi = it->n_halls;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (it->list[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < it->n_halls && it->list[lo] == h;
}

int calcheck__finding(run_t *r, calcheck_rule_t rule, calcheck_severity_t sev,
                      calcheck_finding_t **out)
{
    calcheck_report_t *rep = r->rep;
    *out = NULL;
    rep->by_rule[rule]++;
    if (sev == CALCHECK_ERROR)
        rep->errors++;
    else
        rep->warnings++;
    if (r->kept[rule] >= CALCHECK_PER_RULE_MAX) {
        rep->dropped++;
        return 0;
    }
    if (rep->n == r->cap_findings) {
        size_t cap = r->cap_findings ? r->cap_findings * 2 : 64;
        calcheck_finding_t *f = realloc(rep->findings, cap * sizeof *f);
        if (!f)
            return hb_err_nomem(r->err, r->errlen);
        rep->findings = f;
        r->cap_findings = cap;
    }
    calcheck_finding_t *f = &rep->findings[rep->n++];
    memset(f, 0, sizeof *f);
    f->rule = rule;
    f->severity = sev;
    r->kept[rule]++;
    *out = f;
    return 0;
}

static int s_cmp_str(const void *a, const void *b) { return strcmp(a, b); }

int calcheck__set_campaigns(run_t *r, calcheck_finding_t *f, const uint32_t *items, size_t n)
{
    f->campaigns = calloc(n ? n : 1, sizeof *f->campaigns);
    if (!f->campaigns)
        return hb_err_nomem(r->err, r->errlen);
    for (size_t i = 0; i < n; i++)
        memcpy(f->campaigns[i], r->items[items[i]].c->doc.id, HB_CAL_ID_MAX);
    f->n_campaigns = n;
    qsort(f->campaigns, n, sizeof *f->campaigns, s_cmp_str);
    return 0;
}

void calcheck__set_halls(run_t *r, calcheck_finding_t *f, size_t n_halls, const uint32_t *first,
                         size_t n_first)
{
    f->n_halls = n_halls;
    f->n_sample = n_first < CALCHECK_SAMPLE_MAX ? n_first : CALCHECK_SAMPLE_MAX;
    for (size_t i = 0; i < f->n_sample; i++)
        memcpy(f->sample[i], org_hall_at(r->org, first[i])->id, HB_HALL_ID_MAX);
    qsort(f->sample, f->n_sample, sizeof f->sample[0], s_cmp_str);
}

/* A finding about campaign `index` alone: it names that campaign, and its
 * days are the campaign's. */
static int s_own(run_t *r, calcheck_finding_t *f, size_t index)
{
    const hb_cal_campaign_t *d = &r->items[index].c->doc;
    uint32_t self = (uint32_t)index;
    f->first_day = d->start;
    f->last_day = d->end;
    return calcheck__set_campaigns(r, f, &self, 1);
}

/* A new error finding of `rule` about campaign `index` alone, or *out NULL
 * (with the code) when there is none to fill: the rule's findings are at
 * their cap, or memory ran out. With *out set, a non-zero code is the
 * campaign's naming failing; the finding is then filled all the same. */
static int s_own_finding(run_t *r, calcheck_rule_t rule, size_t index, calcheck_finding_t **out)
{
    int rc = calcheck__finding(r, rule, CALCHECK_ERROR, out);
    return rc != 0 || !*out ? rc : s_own(r, *out, index);
}

static void s_item_halls(run_t *r, calcheck_finding_t *f, const item_t *it)
{
    uint32_t first[CALCHECK_SAMPLE_MAX];
    size_t k = 0;
    if (it->ok) {
        FOR_EACH_HALL(it, h, {
            if (k < CALCHECK_SAMPLE_MAX)
                first[k++] = h;
        });
    }
    calcheck__set_halls(r, f, it->ok ? it->n_halls : 0, first, k);
}

int calcheck__add_subject(run_t *r, calcheck_finding_t *f, const char *prefix, const char *s)
{
    if (f->n_subjects >= CALCHECK_SUBJECTS_MAX)
        return 0;
    if (!f->subjects) {
        f->subjects = calloc(CALCHECK_SUBJECTS_MAX, sizeof *f->subjects);
        if (!f->subjects)
            return hb_err_nomem(r->err, r->errlen);
    }
    hb_json_pathf(f->subjects[f->n_subjects++], sizeof f->subjects[0], "%s%s", prefix, s);
    return 0;
}

/* ------------------------------------------------- building the items ---- */

static int s_by_start(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    if (x->c->doc.start != y->c->doc.start)
        return x->c->doc.start < y->c->doc.start ? -1 : 1;
    return strcmp(x->c->doc.id, y->c->doc.id);
}

static bool s_checked(const campaign_t *c, int32_t today)
{
    if (c->state == CAMPAIGN_SUBMITTED || c->state == CAMPAIGN_APPROVED)
        return true;
    /* A published campaign that is over cannot change any more: its old
     * conflicts are history, not something to block on. */
    return c->state == CAMPAIGN_PUBLISHED && c->doc.end >= today;
}

/* The campaign named `id` as this run sees it: the candidate stands in for
 * the calendar's campaign of its id. */
static const campaign_t *s_lookup(const run_t *r, const char *id)
{
    if (r->in->candidate && strcmp(r->in->candidate->doc.id, id) == 0)
        return r->in->candidate;
    return r->in->cal ? campaign_calendar_find(r->in->cal, id) : NULL;
}

static int s_collect(run_t *r)
{
    const campaign_calendar_t *cal = r->in->cal;
    const campaign_t *cand = r->in->candidate;
    size_t total = (cal ? campaign_calendar_count(cal) : 0) + (cand ? 1 : 0);
    r->items = calloc(total ? total : 1, sizeof *r->items);
    if (!r->items)
        return hb_err_nomem(r->err, r->errlen);
    for (size_t i = 0; cal && i < campaign_calendar_count(cal); i++) {
        const campaign_t *c = campaign_calendar_at(cal, i);
        if (cand && strcmp(c->doc.id, cand->doc.id) == 0)
            continue;
        if (s_checked(c, r->in->today))
            r->items[r->n++].c = c;
    }
    if (cand)
        r->items[r->n++].c = cand;
    if (r->n > 1)
        qsort(r->items, r->n, sizeof *r->items, s_by_start);
    size_t n_prod = 0, n_btype = 0;
    for (size_t i = 0; i < r->n; i++) {
        n_prod += r->items[i].c->doc.n_products;
        n_btype += r->items[i].c->doc.n_business_types;
    }
    if (s_tab_init(&r->ids, r->n) || s_tab_init(&r->prods, n_prod) ||
        s_tab_init(&r->btypes, n_btype))
        return hb_err_nomem(r->err, r->errlen);
    for (size_t i = 0; i < r->n; i++)
        s_tab_intern(&r->ids, r->items[i].c->doc.id);
    return 0;
}

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int s_number_items(run_t *r, item_t *it)
{
    const hb_cal_campaign_t *d = &it->c->doc;
    it->prod = malloc((d->n_products ? d->n_products : 1) * sizeof *it->prod);
    it->btype = malloc((d->n_business_types ? d->n_business_types : 1) * sizeof *it->btype);
    if (!it->prod || !it->btype)
        return hb_err_nomem(r->err, r->errlen);
    for (size_t k = 0; k < d->n_products; k++)
        it->prod[k] = s_tab_intern(&r->prods, d->products[k]);
    for (size_t k = 0; k < d->n_business_types; k++)
        it->btype[k] = s_tab_intern(&r->btypes, d->business_types[k]);
    it->n_prod = d->n_products;
    it->n_btype = d->n_business_types;
    qsort(it->prod, it->n_prod, sizeof *it->prod, s_cmp_u32);
    qsort(it->btype, it->n_btype, sizeof *it->btype, s_cmp_u32);
    return 0;
}

static void s_ancestors(run_t *r, item_t *it)
{
    const campaign_t *p = it->c;
    for (int depth = 0; depth < CAMPAIGN_PARENT_DEPTH_MAX && p && p->parent[0]; depth++) {
        int32_t k = s_tab_find(&r->ids, p->parent);
        if (k >= 0 && (size_t)k < r->n)
            it->anc[it->n_anc++] = k;
        p = s_lookup(r, p->parent);
    }
}

static int s_resolve(run_t *r, item_t *it, uint64_t *scratch, size_t index)
{
    char why[256];
    size_t count = 0;
    int rc = r->words ? campaign_resolve(it->c, r->org, scratch, r->words, &count, why, sizeof why)
                      : HB_EINVAL;
    if (rc == HB_ENOMEM)
        return hb_err_nomem(r->err, r->errlen);
    if (rc != 0) {
        if (!r->words)
            hb_json_pathf(why, sizeof why, "scope: the organisation has no hall");
        calcheck_finding_t *f = NULL;
        rc = s_own_finding(r, CALCHECK_SCOPE, index, &f);
        if (!f)
            return rc;
        hb_json_pathf(f->message, sizeof f->message,
                      "the scope of %s no longer reaches its halls: %s", it->c->doc.id, why);
        return rc;
    }
    it->ok = true;
    it->n_halls = count;
    it->owner = org_region_find(r->org, it->c->region);
    it->city = it->owner && it->owner->level == ORG_CITY ? it->owner : NULL;
    /* Whichever of a list and a bitset is smaller: a city campaign over 30
     * halls of 100,000 takes 120 bytes, not 12,500. */
    size_t list_bytes = count * sizeof(uint32_t), bits_bytes = r->words * sizeof(uint64_t);
    r->mem += list_bytes < bits_bytes ? list_bytes : bits_bytes;
    if (r->mem > CALCHECK_MEMORY_MAX) {
        hb_errf(r->err, r->errlen,
                "calendar: the hall sets of %zu campaigns need more than %u bytes", r->n,
                CALCHECK_MEMORY_MAX);
        return HB_ETOOBIG;
    }
    if (list_bytes < bits_bytes) {
        it->list = malloc(list_bytes ? list_bytes : 1);
        if (!it->list)
            return hb_err_nomem(r->err, r->errlen);
        size_t k = 0;
        for (size_t w = 0; w < r->words; w++) {
            uint64_t word = scratch[w];
            while (word) {
                it->list[k++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(word));
                word &= word - 1;
            }
        }
        return 0;
    }
    size_t lo = 0, hi = r->words;
    while (lo < hi && !scratch[lo])
        lo++;
    while (hi > lo && !scratch[hi - 1])
        hi--;
    it->bits = malloc(bits_bytes);
    if (!it->bits)
        return hb_err_nomem(r->err, r->errlen);
    memcpy(it->bits, scratch, bits_bytes);
    it->lo = lo;
    it->hi = hi;
    return 0;
}

/* --------------------------------------------- rules on one campaign ---- */

static bool s_blank(const char *s)
{
    /* White space includes the no-break and ideographic spaces, which
     * editors of Chinese and European texts produce. */
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (s_space(*p))
            p++;
        else if (p[0] == 0xc2 && p[1] == 0xa0)
            p += 2;
        else if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
            p += 3;
        else
            return false;
    }
    return true;
}

static int s_rule_faq(run_t *r, size_t index)
{
    const item_t *it = &r->items[index];
    const hb_cal_campaign_t *d = &it->c->doc;
    char which[256] = "";
    size_t bad = 0, used = 0;
    for (size_t i = 0; i < d->n_faq; i++) {
        bool q = s_blank(d->faq[i].question), a = s_blank(d->faq[i].answer);
        if (!q && !a)
            continue;
        if (used < sizeof which) {
            hb_json_pathf(which + used, sizeof which - used, "%sfaq[%zu] has no %s",
                          bad ? ", " : "", i,
                          q && a ? "question or answer"
                          : q    ? "question"
                                 : "answer");
            used = strlen(which);
        }
        bad++;
    }
    if (d->n_faq > 0 && bad == 0)
        return 0;
    calcheck_finding_t *f = NULL;
    int rc = s_own_finding(r, CALCHECK_FAQ, index, &f);
    if (!f)
        return rc;
    s_item_halls(r, f, it);
    if (d->n_faq == 0)
        hb_json_pathf(
            f->message, sizeof f->message,
            "%s has no FAQ: every campaign answers its customers' questions in plain language",
            d->id);
    else
        hb_json_pathf(f->message, sizeof f->message, "%s: %s", d->id, which);
    return rc;
}

static int s_rule_glossary(run_t *r, size_t index, uint32_t *in_text, uint32_t *in_faq)
{
    const calcheck_glossary_t *g = r->in->glossary;
    const item_t *it = &r->items[index];
    const hb_cal_campaign_t *d = &it->c->doc;
    uint32_t stamp = (uint32_t)index + 1;
    bool uses_jargon = false;
    for (int ch = 0; ch < HB_CAL_CHANNELS; ch++)
        if (d->texts[ch] && calcheck_glossary_mark(g, d->texts[ch], in_text, stamp))
            uses_jargon = true;
    if (!uses_jargon)
        return 0; /* most texts use no jargon: no need to read the FAQ */
    for (size_t i = 0; i < d->n_faq; i++) {
        calcheck_glossary_mark(g, d->faq[i].question, in_faq, stamp);
        calcheck_glossary_mark(g, d->faq[i].answer, in_faq, stamp);
    }
    calcheck_finding_t *f = NULL;
    char list[256] = "";
    size_t n = 0, used = 0;
    int rc = 0;
    for (size_t t = 0; t < calcheck_glossary_count(g) && rc == 0; t++) {
        if (in_text[t] != stamp || in_faq[t] == stamp)
            continue;
        if (n == 0) {
            rc = calcheck__finding(r, CALCHECK_GLOSSARY, CALCHECK_ERROR, &f);
            if (rc != 0 || !f)
                return rc;
        }
        rc = calcheck__add_subject(r, f, "", calcheck_glossary_term(g, t));
        if (used < sizeof list) {
            hb_json_pathf(list + used, sizeof list - used, "%s\"%s\"", n ? ", " : "",
                          calcheck_glossary_term(g, t));
            used = strlen(list);
        }
        n++;
    }
    if (!f || rc != 0)
        return rc;
    rc = s_own(r, f, index);
    s_item_halls(r, f, it);
    hb_json_pathf(
        f->message, sizeof f->message,
        "the texts of %s use %s, which no FAQ entry of it explains (add a question or answer "
        "that uses the term)",
        d->id, list);
    return rc;
}

static int s_rule_lead(run_t *r, size_t index)
{
    const item_t *it = &r->items[index];
    const hb_cal_campaign_t *d = &it->c->doc;
    int32_t pday = r->in->today;
    bool published = campaign_published_day(it->c, &pday);
    int32_t slack = d->start - pday;
    uint32_t first[CALCHECK_SAMPLE_MAX];
    size_t n = 0;
    int need = 0;
    FOR_EACH_HALL(it, h, {
        int lead = calcheck__lim(r, h).lead_days;
        if (lead > slack) {
            if (n < CALCHECK_SAMPLE_MAX)
                first[n] = h;
            n++;
            if (lead > need)
                need = lead;
        }
    });
    if (n == 0)
        return 0;
    calcheck_finding_t *f = NULL;
    int rc = s_own_finding(r, CALCHECK_LEAD_TIME, index, &f);
    if (!f)
        return rc;
    calcheck__set_halls(r, f, n, first, n);
    char sd[11], pd[11];
    hb_date_format(d->start, sd);
    hb_date_format(pday, pd);
    const char *when = published ? "its publish date" : "today (not published yet)";
    if (slack < 0)
        hb_json_pathf(f->message, sizeof f->message,
                      "%s starts on %s, before %s %s; %zu halls need %d days' notice", d->id, sd,
                      when, pd, n, need);
    else
        hb_json_pathf(f->message, sizeof f->message,
                      "%s starts on %s, %d days after %s %s; %zu halls need %d days' notice", d->id,
                      sd, (int)slack, when, pd, n, need);
    return rc;
}

/* ------------------------------------------------------------ report ---- */

static int s_by_finding(const void *x, const void *y)
{
    const calcheck_finding_t *a = x, *b = y;
    if (a->rule != b->rule)
        return a->rule < b->rule ? -1 : 1;
    size_t n = a->n_campaigns < b->n_campaigns ? a->n_campaigns : b->n_campaigns;
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a->campaigns[i], b->campaigns[i]);
        if (c != 0)
            return c;
    }
    if (a->n_campaigns != b->n_campaigns)
        return a->n_campaigns < b->n_campaigns ? -1 : 1;
    if (a->first_day != b->first_day)
        return a->first_day < b->first_day ? -1 : 1;
    if (a->last_day != b->last_day)
        return a->last_day < b->last_day ? -1 : 1;
    return strcmp(a->message, b->message);
}

static void s_report_fini(calcheck_report_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->findings[i].campaigns);
        free(r->findings[i].subjects);
    }
    free(r->findings);
}

void calcheck_report_destroy(calcheck_report_t **r_p) { HB_DESTROY(r_p, s_report_fini); }

static int s_check_input(const calcheck_input_t *in, char *err, size_t errlen)
{
    if (!in->org) {
        hb_errf(err, errlen, "org: required");
        return HB_EINVAL;
    }
    if (!in->limits)
        return 0;
    if (in->n_limits != org_hall_count(in->org)) {
        hb_errf(err, errlen, "limits: %zu entries for %zu halls", in->n_limits,
                org_hall_count(in->org));
        return HB_EINVAL;
    }
    for (size_t i = 0; i < in->n_limits; i++) {
        if (in->limits[i].max_concurrent < 0 || in->limits[i].lead_days < 0 ||
            in->limits[i].max_concurrent > CAMPAIGN_CALENDAR_MAX ||
            in->limits[i].lead_days > 10 * HB_CAL_DAYS_MAX) {
            hb_errf(err, errlen, "limits[%zu]: max_concurrent 0..%d and lead_days 0..%d", i,
                    CAMPAIGN_CALENDAR_MAX, 10 * HB_CAL_DAYS_MAX);
            return HB_EINVAL;
        }
    }
    return 0;
}

int calcheck_run(const calcheck_input_t *in, calcheck_report_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = s_check_input(in, err, errlen);
    if (rc != 0)
        return rc;
    run_t r = {0};
    r.in = in;
    r.org = in->org;
    r.n_halls = org_hall_count(in->org);
    r.words = org_bitset_words(in->org);
    r.err = err;
    r.errlen = errlen;
    r.rep = calloc(1, sizeof *r.rep);
    uint64_t *scratch = calloc(r.words ? r.words : 1, sizeof *scratch);
    size_t n_terms = in->glossary ? calcheck_glossary_count(in->glossary) : 0;
    uint32_t *in_text = calloc(n_terms ? n_terms : 1, sizeof *in_text);
    uint32_t *in_faq = calloc(n_terms ? n_terms : 1, sizeof *in_faq);
    if (!r.rep || !scratch || !in_text || !in_faq) {
        rc = hb_err_nomem(err, errlen);
        goto out;
    }
    rc = s_collect(&r);
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        item_t *it = &r.items[i];
        it->zob = s_mix((uint64_t)i * 2654435761ULL + 1);
        rc = s_number_items(&r, it);
        if (rc == 0)
            rc = s_resolve(&r, it, scratch, i);
        if (rc != 0)
            break;
        s_ancestors(&r, it);
        rc = s_rule_faq(&r, i);
        if (rc == 0 && n_terms)
            rc = s_rule_glossary(&r, i, in_text, in_faq);
        if (rc == 0 && it->ok)
            rc = s_rule_lead(&r, i);
    }
    if (rc == 0)
        rc = calcheck__rule_concurrency(&r);
    if (rc == 0)
        rc = calcheck__rule_pairs(&r);
    if (rc == 0) {
        if (r.rep->n > 1)
            qsort(r.rep->findings, r.rep->n, sizeof *r.rep->findings, s_by_finding);
        r.rep->campaigns_checked = r.n;
        *out = r.rep;
        r.rep = NULL;
    }
out:
    for (size_t i = 0; r.items && i < r.n; i++) {
        free(r.items[i].list);
        free(r.items[i].bits);
        free(r.items[i].prod);
        free(r.items[i].btype);
    }
    free(r.items);
    s_tab_free(&r.ids);
    s_tab_free(&r.prods);
    s_tab_free(&r.btypes);
    free(scratch);
    free(in_text);
    free(in_faq);
    calcheck_report_destroy(&r.rep);
    return rc;
}

bool calcheck_report_blocks(const calcheck_report_t *r, const char *campaign_id)
{
    for (size_t i = 0; i < r->n; i++) {
        const calcheck_finding_t *f = &r->findings[i];
        if (f->severity != CALCHECK_ERROR)
            continue;
        for (size_t k = 0; k < f->n_campaigns; k++)
            if (strcmp(f->campaigns[k], campaign_id) == 0)
                return true;
    }
    return false;
}

static const char *const s_rule_names[CALCHECK_RULES] = {
    "scope", "faq", "concurrency", "product", "city_overlap", "glossary", "lead_time"};

const char *calcheck_rule_name(calcheck_rule_t rule)
{
    return hb_name_of(s_rule_names, CALCHECK_RULES, (int)rule);
}

json_t *calcheck_finding_to_json(const calcheck_finding_t *f)
{
    json_t *o = json_object(), *halls = json_object(), *days = json_object();
    /* A failed allocation shows as `bad`: hb_json_set takes NULL on either side. */
    bool bad = false;
    hb_json_set(o, "rule", json_integer(f->rule), &bad);
    hb_json_set(o, "code", json_string(calcheck_rule_name(f->rule)), &bad);
    hb_json_set(o, "severity", json_string(f->severity == CALCHECK_ERROR ? "error" : "warning"),
                &bad);
    hb_json_set(o, "campaigns",
                hb_json_strings((const char *)f->campaigns, f->n_campaigns, HB_CAL_ID_MAX), &bad);
    hb_json_set(halls, "count", json_integer((json_int_t)f->n_halls), &bad);
    hb_json_set(halls, "sample",
                hb_json_strings((const char *)f->sample, f->n_sample, HB_HALL_ID_MAX), &bad);
    hb_json_set(o, "halls", halls, &bad);
    hb_json_set(days, "first", hb_json_date(f->first_day), &bad);
    hb_json_set(days, "last", hb_json_date(f->last_day), &bad);
    hb_json_set(o, "days", days, &bad);
    hb_json_set(o, "subjects",
                hb_json_strings((const char *)f->subjects, f->n_subjects, sizeof f->subjects[0]),
                &bad);
    hb_json_set(o, "message", json_string(f->message), &bad);
    return hb_json_built(o, bad);
}

json_t *calcheck_report_to_json(const calcheck_report_t *r)
{
    json_t *o = json_object(), *by = json_object(), *list = json_array();
    /* A failed allocation shows as `bad`: hb_json_set takes NULL on either side. */
    bool bad = false;
    hb_json_set(o, "ok", json_boolean(r->errors == 0), &bad);
    hb_json_set(o, "errors", json_integer((json_int_t)r->errors), &bad);
    hb_json_set(o, "warnings", json_integer((json_int_t)r->warnings), &bad);
    hb_json_set(o, "dropped", json_integer((json_int_t)r->dropped), &bad);
    hb_json_set(o, "checked", json_integer((json_int_t)r->campaigns_checked), &bad);
    for (int i = 0; i < CALCHECK_RULES; i++)
        hb_json_set(by, s_rule_names[i], json_integer((json_int_t)r->by_rule[i]), &bad);
    hb_json_set(o, "by_rule", by, &bad);
    for (size_t i = 0; i < r->n && !bad; i++) {
        json_t *f = calcheck_finding_to_json(&r->findings[i]);
        hb_json_append(list, f, &bad);
    }
    hb_json_set(o, "findings", list, &bad);
    return hb_json_built(o, bad);
}
