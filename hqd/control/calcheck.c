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
 * so a badly broken calendar cannot make the report unbounded. */
#include "calcheck.h"

#include "hallbus/error.h"
#include "hallbus/idmap.h"
#include "hallbus/json.h"
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

static bool s_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static unsigned char s_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* A table of strings the caller keeps alive, to number them: products,
 * business types and campaign ids of one run. Sized once, never grown. */
typedef struct strtab {
    const char **keys;
    size_t n;
    hb_idmap_t map; /* key -> its number */
} strtab_t;

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

/* ---------------------------------------------------------- glossary ---- */

typedef struct term {
    char *term;       /* as given */
    char *norm;       /* lower case, spacing collapsed to one ' ' */
    size_t norm_len;
    char *definition; /* NULL when none */
    bool word_start, word_end;
} term_t;

typedef HB_VEC(uint32_t) idlist_t;

struct calcheck_glossary {
    HB_VEC(term_t) terms;
    /* Terms by the first byte of their normal form: those that begin with
     * a letter or digit apart, since inside a word they cannot start. */
    idlist_t by_first[256];
    idlist_t mid_word[256];
};

calcheck_glossary_t *calcheck_glossary_new(void)
{
    calcheck_glossary_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->terms.max = CALCHECK_GLOSSARY_MAX;
    for (int b = 0; b < 256; b++)
        g->by_first[b].max = g->mid_word[b].max = CALCHECK_GLOSSARY_MAX;
    return g;
}

void calcheck_glossary_destroy(calcheck_glossary_t **g_p)
{
    calcheck_glossary_t *g = *g_p;
    if (!g)
        return;
    for (size_t i = 0; i < g->terms.n; i++) {
        free(g->terms.v[i].term);
        free(g->terms.v[i].norm);
        free(g->terms.v[i].definition);
    }
    for (int b = 0; b < 256; b++) {
        hb_vec_free(&g->by_first[b]);
        hb_vec_free(&g->mid_word[b]);
    }
    hb_vec_free(&g->terms);
    free(g);
    *g_p = NULL;
}

size_t calcheck_glossary_count(const calcheck_glossary_t *g) { return g->terms.n; }

const char *calcheck_glossary_term(const calcheck_glossary_t *g, size_t i)
{
    return i < g->terms.n ? g->terms.v[i].term : NULL;
}

int calcheck_glossary_add(calcheck_glossary_t *g, const char *term, const char *definition,
                          char *err, size_t errlen)
{
    size_t len = term ? strlen(term) : 0;
    if (len == 0 || len > CALCHECK_TERM_MAX) {
        hb_errf(err, errlen, "term: must be 1..%d bytes", CALCHECK_TERM_MAX);
        return HB_EINVAL;
    }
    if (definition && strlen(definition) > CALCHECK_DEFINITION_MAX) {
        hb_errf(err, errlen, "definition: %zu bytes, at most %d", strlen(definition),
                CALCHECK_DEFINITION_MAX);
        return HB_EINVAL;
    }
    if (g->terms.n >= CALCHECK_GLOSSARY_MAX) {
        hb_errf(err, errlen, "glossary: full (%d terms)", CALCHECK_GLOSSARY_MAX);
        return HB_ETOOBIG;
    }
    char norm[CALCHECK_TERM_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)term[i];
        if (s_space(c)) {
            if (n > 0 && norm[n - 1] != ' ')
                norm[n++] = ' ';
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            hb_errf(err, errlen, "term: \"%s\" contains a control character", term);
            return HB_EINVAL;
        }
        norm[n++] = (char)s_lower(c);
    }
    if (n > 0 && norm[n - 1] == ' ')
        n--;
    norm[n] = '\0';
    if (n == 0) {
        hb_errf(err, errlen, "term: blank");
        return HB_EINVAL;
    }
    bool word_start = s_word((unsigned char)norm[0]);
    idlist_t *bucket = word_start ? &g->by_first[(unsigned char)norm[0]]
                                  : &g->mid_word[(unsigned char)norm[0]];
    const idlist_t *same = bucket;
    for (size_t i = 0; i < same->n; i++) {
        if (strcmp(g->terms.v[same->v[i]].norm, norm) == 0) {
            hb_errf(err, errlen, "term: \"%s\" is in the glossary already (as \"%s\")", term,
                    g->terms.v[same->v[i]].term);
            return HB_EEXIST;
        }
    }
    if (hb_vec_reserve(&g->terms, g->terms.n + 1) != 0 ||
        hb_vec_reserve(bucket, bucket->n + 1) != 0)
        return hb_err_nomem(err, errlen);
    term_t t = {0};
    t.term = strdup(term);
    t.norm = strdup(norm);
    t.definition = definition ? strdup(definition) : NULL;
    if (!t.term || !t.norm || (definition && !t.definition)) {
        free(t.term);
        free(t.norm);
        free(t.definition);
        return hb_err_nomem(err, errlen);
    }
    t.norm_len = n;
    t.word_start = word_start;
    t.word_end = s_word((unsigned char)norm[n - 1]);
    bucket->v[bucket->n++] = (uint32_t)g->terms.n;
    g->terms.v[g->terms.n++] = t;
    return 0;
}

int calcheck_glossary_from_json(const json_t *doc, calcheck_glossary_t **out, char *err,
                                size_t errlen)
{
    *out = NULL;
    const json_t *terms = json_object_get(doc, "terms");
    if (!json_is_object(doc) || json_object_size(doc) != 1 || !json_is_array(terms)) {
        hb_errf(err, errlen, "glossary: must be {\"terms\": [{\"term\", \"definition\"}]}");
        return HB_EINVAL;
    }
    if (json_array_size(terms) > CALCHECK_GLOSSARY_MAX) {
        hb_errf(err, errlen, "terms: %zu terms, at most %d", json_array_size(terms),
                CALCHECK_GLOSSARY_MAX);
        return HB_ETOOBIG;
    }
    calcheck_glossary_t *g = calcheck_glossary_new();
    if (!g)
        return hb_err_nomem(err, errlen);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(terms); i++) {
        const json_t *e = json_array_get(terms, i);
        const json_t *t = json_object_get(e, "term"), *d = json_object_get(e, "definition");
        size_t members = json_object_size(e);
        if (!json_is_object(e) || !json_is_string(t) || (d && !json_is_string(d)) ||
            members != (d ? 2u : 1u) || strlen(json_string_value(t)) != json_string_length(t) ||
            (d && strlen(json_string_value(d)) != json_string_length(d))) {
            hb_errf(err, errlen, "terms[%zu]: must be {\"term\": text, \"definition\": text}", i);
            rc = HB_EINVAL;
            break;
        }
        char inner[256];
        rc = calcheck_glossary_add(g, json_string_value(t), d ? json_string_value(d) : NULL, inner,
                                   sizeof inner);
        if (rc == HB_EEXIST)
            rc = HB_EINVAL; /* a document that lists a term twice is a bad document */
        if (rc != 0)
            hb_errf(err, errlen, "terms[%zu].%s", i, inner);
    }
    if (rc != 0) {
        calcheck_glossary_destroy(&g);
        return rc;
    }
    *out = g;
    return 0;
}

json_t *calcheck_glossary_to_json(const calcheck_glossary_t *g)
{
    json_t *terms = json_array();
    int bad = 0;
    for (size_t i = 0; terms && i < g->terms.n && !bad; i++) {
        json_t *e = json_object();
        bad += !e || json_object_set_new(e, "term", json_string(g->terms.v[i].term)) != 0;
        if (e && g->terms.v[i].definition)
            bad += json_object_set_new(e, "definition", json_string(g->terms.v[i].definition)) != 0;
        bad += !e || json_array_append_new(terms, e) != 0;
    }
    json_t *doc = terms ? json_object() : NULL;
    if (!doc || bad || json_object_set_new(doc, "terms", terms) != 0) {
        json_decref(doc);
        json_decref(terms);
        return NULL;
    }
    return doc;
}

/* The end of term `t` matched at text[i], or 0 when it does not match there. */
static size_t s_term_at(const char *text, size_t i, const term_t *t)
{
    size_t j = i;
    for (size_t k = 0; k < t->norm_len; k++) {
        if (t->norm[k] == ' ') {
            if (!s_space((unsigned char)text[j]))
                return 0;
            while (s_space((unsigned char)text[j]))
                j++;
            continue;
        }
        if (s_lower((unsigned char)text[j]) != (unsigned char)t->norm[k])
            return 0; /* also at the text's NUL, since no term holds one */
        j++;
    }
    if (t->word_end && s_word((unsigned char)text[j]))
        return 0;
    return j;
}

static bool s_scan_bucket(const calcheck_glossary_t *g, const idlist_t *b, const char *text,
                          size_t i, uint32_t *mark, uint32_t stamp)
{
    bool found = false;
    for (size_t k = 0; k < b->n; k++) {
        uint32_t t = b->v[k];
        if (mark[t] != stamp && s_term_at(text, i, &g->terms.v[t])) {
            mark[t] = stamp;
            found = true;
        }
    }
    return found;
}

/* Marks mark[t] = stamp for every term found in `text`; returns whether
 * any was. */
static bool s_scan(const calcheck_glossary_t *g, const char *text, uint32_t *mark, uint32_t stamp)
{
    bool prev_word = false, any = false;
    for (size_t i = 0; text[i]; i++) {
        unsigned char c = s_lower((unsigned char)text[i]);
        if (!prev_word && g->by_first[c].n && s_scan_bucket(g, &g->by_first[c], text, i, mark, stamp))
            any = true;
        if (g->mid_word[c].n && s_scan_bucket(g, &g->mid_word[c], text, i, mark, stamp))
            any = true;
        prev_word = s_word(c);
    }
    return any;
}

size_t calcheck_glossary_find(const calcheck_glossary_t *g, const char *text, size_t *out,
                              size_t max)
{
    if (g->terms.n == 0)
        return 0;
    uint32_t *mark = calloc(g->terms.n, sizeof *mark);
    if (!mark)
        return 0;
    s_scan(g, text, mark, 1);
    size_t k = 0;
    for (size_t i = 0; i < g->terms.n; i++) {
        if (!mark[i])
            continue;
        if (k < max)
            out[k] = i;
        k++;
    }
    free(mark);
    return k;
}

/* --------------------------------------------------------------- run ---- */

/* One checked campaign and what the run derived from it. */
typedef struct item {
    const campaign_t *c;
    bool ok;           /* its scope resolved */
    size_t n_halls;
    uint32_t *list;    /* sparse form: hall indexes, increasing */
    uint64_t *bits;    /* dense form (list == NULL) */
    size_t lo, hi;     /* dense: the words [lo, hi) that may be non-zero */
    const org_region_t *owner; /* its owner region */
    const org_region_t *city;  /* owner, for a city campaign */
    uint32_t *prod, *btype;   /* numbered and sorted */
    size_t n_prod, n_btype;
    int32_t anc[CAMPAIGN_PARENT_DEPTH_MAX]; /* items above it in the parent chain */
    size_t n_anc;
    uint64_t zob;      /* its random number for the set hash */
} item_t;

typedef struct run {
    const calcheck_input_t *in;
    const org_t *org;
    size_t n_halls, words;
    item_t *items;
    size_t n;
    strtab_t ids, prods, btypes;
    calcheck_report_t *rep;
    size_t kept[CALCHECK_RULES];
    size_t cap_findings;
    size_t mem;
    char *err;
    size_t errlen;
} run_t;

static calcheck_limits_t s_lim(const run_t *r, uint32_t h)
{
    return r->in->limits ? r->in->limits[h] : CALCHECK_LIMITS_DEFAULT;
}

static bool s_has(const item_t *it, uint32_t h)
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

/* Runs `body` with `h` set to each hall of `it`, in increasing index. A
 * macro rather than a callback because rule 2 runs it for every hall of
 * every campaign twice; `body` must not contain a comma outside
 * parentheses. */
#define FOR_EACH_HALL(it, h, body)                                                            \
    do {                                                                                      \
        if ((it)->bits) {                                                                     \
            for (size_t w_ = (it)->lo; w_ < (it)->hi; w_++) {                                 \
                uint64_t word_ = (it)->bits[w_];                                              \
                while (word_) {                                                               \
                    uint32_t h = (uint32_t)(w_ * 64 + (size_t)__builtin_ctzll(word_));        \
                    word_ &= word_ - 1;                                                       \
                    body;                                                                     \
                }                                                                             \
            }                                                                                 \
        } else {                                                                              \
            for (size_t k_ = 0; k_ < (it)->n_halls; k_++) {                                   \
                uint32_t h = (it)->list[k_];                                                  \
                body;                                                                         \
            }                                                                                 \
        }                                                                                     \
    } while (0)

/* A new finding of `rule`, or *out NULL when the rule's findings are at
 * their cap (the finding is counted either way). */
static int s_finding(run_t *r, calcheck_rule_t rule, calcheck_severity_t sev,
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

static int s_set_campaigns(run_t *r, calcheck_finding_t *f, const uint32_t *items, size_t n)
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

/* The hall count and the sample from the first hall indexes. */
static void s_set_halls(run_t *r, calcheck_finding_t *f, size_t n_halls, const uint32_t *first,
                        size_t n_first)
{
    f->n_halls = n_halls;
    f->n_sample = n_first < CALCHECK_SAMPLE_MAX ? n_first : CALCHECK_SAMPLE_MAX;
    for (size_t i = 0; i < f->n_sample; i++)
        memcpy(f->sample[i], org_hall_at(r->org, first[i])->id, HB_HALL_ID_MAX);
    qsort(f->sample, f->n_sample, sizeof f->sample[0], s_cmp_str);
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
    s_set_halls(r, f, it->ok ? it->n_halls : 0, first, k);
}

static int s_add_subject(run_t *r, calcheck_finding_t *f, const char *prefix, const char *s)
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
        rc = s_finding(r, CALCHECK_SCOPE, CALCHECK_ERROR, &f);
        if (rc != 0 || !f)
            return rc;
        uint32_t self = (uint32_t)index;
        rc = s_set_campaigns(r, f, &self, 1);
        f->first_day = it->c->doc.start;
        f->last_day = it->c->doc.end;
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
        hb_errf(r->err, r->errlen, "calendar: the hall sets of %zu campaigns need more than %u bytes",
                r->n, CALCHECK_MEMORY_MAX);
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
    int rc = s_finding(r, CALCHECK_FAQ, CALCHECK_ERROR, &f);
    if (rc != 0 || !f)
        return rc;
    uint32_t self = (uint32_t)index;
    rc = s_set_campaigns(r, f, &self, 1);
    s_item_halls(r, f, it);
    f->first_day = d->start;
    f->last_day = d->end;
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
        if (d->texts[ch] && s_scan(g, d->texts[ch], in_text, stamp))
            uses_jargon = true;
    if (!uses_jargon)
        return 0; /* most texts use no jargon: no need to read the FAQ */
    for (size_t i = 0; i < d->n_faq; i++) {
        s_scan(g, d->faq[i].question, in_faq, stamp);
        s_scan(g, d->faq[i].answer, in_faq, stamp);
    }
    calcheck_finding_t *f = NULL;
    char list[256] = "";
    size_t n = 0, used = 0;
    int rc = 0;
    for (size_t t = 0; t < g->terms.n && rc == 0; t++) {
        if (in_text[t] != stamp || in_faq[t] == stamp)
            continue;
        if (n == 0) {
            rc = s_finding(r, CALCHECK_GLOSSARY, CALCHECK_ERROR, &f);
            if (rc != 0 || !f)
                return rc;
        }
        rc = s_add_subject(r, f, "", g->terms.v[t].term);
        if (used < sizeof list) {
            hb_json_pathf(list + used, sizeof list - used, "%s\"%s\"", n ? ", " : "",
                          g->terms.v[t].term);
            used = strlen(list);
        }
        n++;
    }
    if (!f || rc != 0)
        return rc;
    uint32_t self = (uint32_t)index;
    rc = s_set_campaigns(r, f, &self, 1);
    s_item_halls(r, f, it);
    f->first_day = d->start;
    f->last_day = d->end;
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
        int lead = s_lim(r, h).lead_days;
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
    int rc = s_finding(r, CALCHECK_LEAD_TIME, CALCHECK_ERROR, &f);
    if (rc != 0 || !f)
        return rc;
    uint32_t self = (uint32_t)index;
    rc = s_set_campaigns(r, f, &self, 1);
    s_set_halls(r, f, n, first, n);
    f->first_day = d->start;
    f->last_day = d->end;
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
    uint32_t *count;   /* per hall: campaigns it runs now */
    uint64_t *hash;    /* per hall: XOR of their random numbers */
    idlist_t *act;     /* per hall: the campaigns it runs now */
    int32_t *cur;      /* per hall: the group of its open run, -1 when none */
    uint32_t *dirty;   /* halls reached by today's events */
    uint32_t *dirty_day; /* per hall: 1 + the batch that last listed it */
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
    const idlist_t *now = &s->act[h];
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
        if (it->c->doc.start > day || it->c->doc.end < day || !s_has(it, h))
            return false;
    }
    return true;
}

static int s_group_grow_table(sweep_t *s)
{
    size_t cap = s->slot_cap ? s->slot_cap * 2 : 256;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return HB_ENOMEM;
    for (size_t i = 0; i < s->n_groups; i++) {
        size_t j = (size_t)s->groups[i].key & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(s->slots);
    s->slots = slots;
    s->slot_cap = cap;
    return 0;
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
    g->lim_min = s_lim(r, h).max_concurrent;
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

static int s_act_push(idlist_t *l, uint32_t v)
{
    uint32_t *slot = hb_vec_push(l);
    if (!slot)
        return HB_ENOMEM;
    *slot = v;
    return 0;
}

static void s_act_remove(idlist_t *l, uint32_t v)
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
            if (s_act_push(&s->act[h], index) != 0)
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
    int rc = s_finding(r, CALCHECK_CONCURRENCY, CALCHECK_ERROR, &f);
    if (rc != 0 || !f)
        return rc;
    rc = s_set_campaigns(r, f, g->items, g->n_items);
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
    s_set_halls(r, f, n, first, k);
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

static int s_rule_concurrency(run_t *r)
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
            int lim = s_lim(r, h).max_concurrent;
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
            rc = s_finding(r, CALCHECK_CONCURRENCY, CALCHECK_ERROR, &none);
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
    if (n == 0)
        return 0;
    calcheck_finding_t *f = NULL;
    int rc = s_finding(r, CALCHECK_PRODUCT, CALCHECK_ERROR, &f);
    if (rc != 0 || !f)
        return rc;
    uint32_t pair[2] = {ai, bi};
    rc = s_set_campaigns(r, f, pair, 2);
    s_set_halls(r, f, n, first, n_first);
    f->first_day = first_day;
    f->last_day = last_day;
    char what[256] = "";
    size_t used = 0;
    for (size_t k = 0; k < np + nb && rc == 0; k++) {
        bool prod = k < np;
        const char *id = prod ? r->prods.keys[sp[k]] : r->btypes.keys[sb[k - np]];
        rc = s_add_subject(r, f, prod ? "product:" : "business_type:", id);
        if (used < sizeof what) {
            hb_json_pathf(what + used, sizeof what - used, "%s%s %s", k ? ", " : "",
                          prod ? "product" : "business type", id);
            used = strlen(what);
        }
    }
    char d1[11], d2[11];
    hb_date_format(first_day, d1);
    hb_date_format(last_day, d2);
    hb_json_pathf(
        f->message, sizeof f->message,
        "%s and %s both promote %s in %zu halls from %s to %s, and neither descends from the "
        "other: merge them or make one the other's parent",
        a->c->doc.id, b->c->doc.id, what, n, d1, d2);
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
        if (!s_has(w, halls[k]))
            continue;
        if (n < CALCHECK_SAMPLE_MAX)
            first[n] = halls[k];
        n++;
        error = error || s_lim(r, halls[k]).city_overlap_error;
    }
    if (n == 0)
        return 0;
    calcheck_finding_t *f = NULL;
    int rc = s_finding(r, CALCHECK_CITY_OVERLAP, error ? CALCHECK_ERROR : CALCHECK_WARNING, &f);
    if (rc != 0 || !f)
        return rc;
    uint32_t pair[2] = {ci, wi};
    rc = s_set_campaigns(r, f, pair, 2);
    s_set_halls(r, f, n, first, n);
    f->first_day = first_day;
    f->last_day = last_day;
    char d1[11], d2[11];
    hb_date_format(first_day, d1);
    hb_date_format(last_day, d2);
    hb_json_pathf(
        f->message, sizeof f->message,
        "city campaign %s runs in %s from %s to %s while %s campaign %s covers %zu of its halls, "
        "and %s does not name %s as its parent%s",
        c->c->doc.id, c->city->id, d1, d2, hb_cal_level_name(w->c->doc.level), w->c->doc.id, n,
        c->c->doc.id, w->c->doc.id, error ? " (an error: the policy of these halls says so)" : "");
    return rc;
}

static int s_rule_pairs(run_t *r)
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
            int32_t last = r->items[ai].c->doc.end < b->c->doc.end ? r->items[ai].c->doc.end
                                                                   : b->c->doc.end;
            rc = s_rule_product(r, ai, (uint32_t)bi, start, last);
            if (rc == 0)
                rc = s_rule_city(r, ai, (uint32_t)bi, start, last);
        }
        active[n_active++] = (uint32_t)bi;
    }
    free(active);
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

void calcheck_report_destroy(calcheck_report_t **r_p)
{
    calcheck_report_t *r = *r_p;
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->findings[i].campaigns);
        free(r->findings[i].subjects);
    }
    free(r->findings);
    free(r);
    *r_p = NULL;
}

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
    size_t n_terms = in->glossary ? in->glossary->terms.n : 0;
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
        rc = s_rule_concurrency(&r);
    if (rc == 0)
        rc = s_rule_pairs(&r);
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
    return (unsigned)rule < CALCHECK_RULES ? s_rule_names[rule] : "unknown";
}

json_t *calcheck_finding_to_json(const calcheck_finding_t *f)
{
    json_t *o = json_object(), *halls = json_object(), *days = json_object();
    bool bad = false;
    if (!o || !halls || !days) {
        json_decref(o);
        json_decref(halls);
        json_decref(days);
        return NULL;
    }
    char d[11];
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
    hb_date_format(f->first_day, d);
    hb_json_set(days, "first", json_string(d), &bad);
    hb_date_format(f->last_day, d);
    hb_json_set(days, "last", json_string(d), &bad);
    hb_json_set(o, "days", days, &bad);
    hb_json_set(o, "subjects",
                hb_json_strings((const char *)f->subjects, f->n_subjects, sizeof f->subjects[0]),
                &bad);
    hb_json_set(o, "message", json_string(f->message), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *calcheck_report_to_json(const calcheck_report_t *r)
{
    json_t *o = json_object(), *by = json_object(), *list = json_array();
    bool bad = false;
    if (!o || !by || !list) {
        json_decref(o);
        json_decref(by);
        json_decref(list);
        return NULL;
    }
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
        if (!f || json_array_append_new(list, f) != 0)
            bad = true;
    }
    hb_json_set(o, "findings", list, &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
