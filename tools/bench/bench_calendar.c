/* bench_calendar: how long the coordination check takes on a realistic
 * national calendar. It generates an organisation (1 national region, 30
 * provinces, 300 cities, 10,000 tagged halls), a glossary, and 2,000
 * campaigns over a year at all three levels with realistic scopes,
 * products, parents, texts and FAQs, then prints the time to resolve every
 * scope, to run the full check and to cut every hall's slice (medians of
 * several runs), and the findings by rule.
 *
 * It prints figures only; there is no pass or fail. Everything is seeded,
 * so a run is repeatable. Usage:
 *   bench_calendar [--halls N] [--campaigns N] [--runs N] [--seed N] [--json] */
#include "benchcli.h"
#include "calcheck.h"
#include "campaign.h"
#include "org.h"

#include "hallbus/calendar.h"
#include "hallbus/config.h"
#include "hallbus/tz.h"
#include "hallbus/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROVINCES 30
#define CITIES_PER_PROVINCE 10
#define PRODUCTS 60
#define BUSINESS_TYPES 30
#define RUNS_MAX 50
#define YEAR_START 20819 /* 2027-01-01 */
#define DAY_MS 86400000LL

/* ------------------------------------------------------------- random ---- */

static uint64_t s_rng = 1;

static uint64_t s_next(void)
{
    /* splitmix64: small, and the same on every platform. */
    s_rng += 0x9e3779b97f4a7c15ULL;
    uint64_t z = s_rng;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int s_int(int lo, int hi) { return lo + (int)(s_next() % (uint64_t)(hi - lo + 1)); }
static bool s_chance(double p) { return (double)(s_next() >> 11) / 9007199254740992.0 < p; }

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void s_die(const char *what, const char *err)
{
    fprintf(stderr, "bench_calendar: %s: %s\n", what, err);
    exit(1);
}

/* ------------------------------------------------------------ content ---- */

static const char *const s_tags[] = {"flagship",         "rural",    "urban",
                                     "24h-self-service", "sme-desk", "wealth-centre",
                                     "seniors-friendly", "airport"};
static const double s_tag_share[] = {0.05, 0.30, 0.50, 0.20, 0.15, 0.08, 0.25, 0.01};
#define TAGS (sizeof s_tags / sizeof s_tags[0])

static const char *const s_jargon[] = {"APR",
                                       "overdraft",
                                       "direct debit",
                                       "standing order",
                                       "ISA",
                                       "annuity",
                                       "escrow",
                                       "amortisation",
                                       "collateral",
                                       "credit score",
                                       "KYC",
                                       "IBAN",
                                       "SWIFT code",
                                       "chargeback",
                                       "contactless",
                                       "e-banking",
                                       "mobile wallet",
                                       "two-factor authentication",
                                       "fixed rate",
                                       "variable rate",
                                       "early repayment charge",
                                       "loan-to-value",
                                       "premium bond",
                                       "dividend",
                                       "unit trust",
                                       "bancassurance",
                                       "top-up",
                                       "cashback",
                                       "interest cap",
                                       "grace period"};
#define JARGON (sizeof s_jargon / sizeof s_jargon[0])

static const char *const s_words[] = {
    "save",  "more",   "this",     "season",   "with",    "our",     "new",  "plan",
    "ask",   "at",     "the",      "counter",  "today",   "for",     "a",    "better",
    "rate",  "open",   "your",     "account",  "in",      "minutes", "no",   "fees",
    "first", "year",   "families", "students", "seniors", "welcome", "gift", "when",
    "you",   "switch", "pay",      "bills",    "online",  "safely",  "and",  "quickly"};
#define WORDS (sizeof s_words / sizeof s_words[0])

/* Appends plain words, and now and then a term of jargon, up to `len`. */
static void s_sentence(char *out, size_t cap, size_t len, double jargon, int *term_used)
{
    size_t n = strlen(out);
    while (n + 24 < cap && n < len) {
        const char *w = s_words[s_next() % WORDS];
        if (s_chance(jargon)) {
            int t = (int)(s_next() % JARGON);
            w = s_jargon[t];
            if (term_used)
                *term_used = t;
        }
        int k = snprintf(out + n, cap - n, "%s%s", n ? " " : "", w);
        if (k < 0)
            break;
        n += (size_t)k;
    }
}

/* ----------------------------------------------------------------- org ---- */

static org_t *s_build_org(int halls, double *seconds)
{
    json_t *regions = json_array(), *hall_list = json_array();
    json_array_append_new(regions, json_pack("{s:s, s:s, s:s}", "id", "CN", "name", "Head office",
                                             "level", "national"));
    char id[40], parent[40], name[64];
    for (int p = 0; p < PROVINCES; p++) {
        snprintf(id, sizeof id, "P%02d", p + 1);
        snprintf(name, sizeof name, "Province %d", p + 1);
        json_array_append_new(regions, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", name,
                                                 "level", "province", "parent", "CN"));
        for (int c = 0; c < CITIES_PER_PROVINCE; c++) {
            snprintf(parent, sizeof parent, "P%02d", p + 1);
            snprintf(id, sizeof id, "C%03d", p * CITIES_PER_PROVINCE + c + 1);
            snprintf(name, sizeof name, "City %d", p * CITIES_PER_PROVINCE + c + 1);
            json_array_append_new(regions, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", name,
                                                     "level", "city", "parent", parent));
        }
    }
    /* Halls spread over cities unevenly, as big cities have more. */
    int cities = PROVINCES * CITIES_PER_PROVINCE;
    for (int h = 0; h < halls; h++) {
        int city = (int)((s_next() % 1000 < 300) ? s_next() % 30 : s_next() % (uint64_t)cities);
        snprintf(id, sizeof id, "H%05d", h + 1);
        snprintf(parent, sizeof parent, "C%03d", city + 1);
        json_t *tags = json_array();
        for (size_t t = 0; t < TAGS; t++)
            if (s_chance(s_tag_share[t]))
                json_array_append_new(tags, json_string(s_tags[t]));
        json_array_append_new(hall_list,
                              json_pack("{s:s, s:s, s:o}", "id", id, "city", parent, "tags", tags));
    }
    json_t *doc = json_pack("{s:o, s:o}", "regions", regions, "halls", hall_list);
    org_t *org = NULL;
    char err[256];
    double t0 = s_now();
    if (org_from_json(doc, &org, err, sizeof err) != 0)
        s_die("org", err);
    *seconds = s_now() - t0;
    json_decref(doc);
    return org;
}

static calcheck_glossary_t *s_build_glossary(void)
{
    calcheck_glossary_t *g = calcheck_glossary_new();
    char err[256];
    for (size_t i = 0; i < JARGON; i++)
        if (calcheck_glossary_add(g, s_jargon[i], "explained in the glossary", err, sizeof err))
            s_die("glossary", err);
    /* Bank-specific product names count as jargon too. */
    for (int i = 0; i < 50; i++) {
        char t[32];
        snprintf(t, sizeof t, "Plan %c%d", 'A' + i % 26, i);
        if (calcheck_glossary_add(g, t, NULL, err, sizeof err))
            s_die("glossary", err);
    }
    return g;
}

/* ----------------------------------------------------------- campaigns ---- */

typedef struct made {
    char id[32];
    int level, region; /* region: province or city number */
    int32_t start, end;
} made_t;

static json_t *s_campaign(const made_t *m, const char *parent, json_t *scope)
{
    static const char *const levels[] = {"head_office", "province", "city"};
    static const char *const segments[] = {"retail", "students", "seniors",
                                           "sme",    "families", "premium"};
    char region[16], start[11], end[11], title[96];
    if (m->level == 0)
        snprintf(region, sizeof region, "CN");
    else if (m->level == 1)
        snprintf(region, sizeof region, "P%02d", m->region + 1);
    else
        snprintf(region, sizeof region, "C%03d", m->region + 1);
    hb_date_format(m->start, start);
    hb_date_format(m->end, end);
    snprintf(title, sizeof title, "Campaign %s", m->id);

    json_t *products = json_array(), *btypes = json_array();
    int np = s_int(1, 2);
    int first = s_int(0, PRODUCTS - 1);
    for (int i = 0; i < np; i++) {
        char p[24];
        snprintf(p, sizeof p, "product-%02d", (first + i * 7) % PRODUCTS);
        json_array_append_new(products, json_string(p));
    }
    if (s_chance(0.4)) {
        char b[24];
        snprintf(b, sizeof b, "business-%02d", s_int(0, BUSINESS_TYPES - 1));
        json_array_append_new(btypes, json_string(b));
    }
    /* Channels and texts: signage short, kiosk and counter script longer. */
    static const char *const channels[] = {"signage", "kiosk", "counter_script"};
    static const size_t lengths[] = {120, 300, 600};
    json_t *ch = json_array(), *texts = json_object();
    int term = -1;
    for (int c = 0; c < 3; c++) {
        if (c > 0 && !s_chance(0.6) && json_array_size(ch) > 0)
            continue;
        char text[HB_CAL_TEXT_MAX];
        text[0] = '\0';
        s_sentence(text, sizeof text, lengths[c], 0.01, &term);
        json_array_append_new(ch, json_string(channels[c]));
        json_object_set_new(texts, channels[c], json_string(text));
    }
    /* The FAQ: mostly fine; now and then missing, blank, or silent about
     * the jargon the texts use. */
    json_t *faq = json_array();
    if (!s_chance(0.03)) {
        int n = s_int(2, 5);
        for (int i = 0; i < n; i++) {
            char q[HB_CAL_FAQ_TEXT_MAX], a[HB_CAL_FAQ_TEXT_MAX];
            q[0] = a[0] = '\0';
            if (i == 0 && term >= 0 && s_chance(0.8))
                snprintf(q, sizeof q, "What does %s mean?", s_jargon[term]);
            else
                s_sentence(q, sizeof q, 60, 0, NULL);
            if (!s_chance(0.01))
                s_sentence(a, sizeof a, 200, 0, NULL);
            json_array_append_new(faq, json_pack("{s:s, s:s}", "question", q, "answer", a));
        }
    }
    json_t *d =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o}", "id", m->id,
                  "title", title, "level", levels[m->level], "region", region, "scope", scope,
                  "start", start, "end", end, "products", products, "business_types", btypes,
                  "segment", segments[s_next() % 6], "channels", ch, "texts", texts, "faq", faq);
    if (parent)
        json_object_set_new(d, "parent", json_string(parent));
    return d;
}

static json_t *s_tag_scope(void)
{
    /* The tags marketing targets: flagships, wealth centres, self-service. */
    static const char *const targeted[] = {"flagship", "wealth-centre", "24h-self-service",
                                           "sme-desk", "seniors-friendly"};
    json_t *tags = json_array();
    json_array_append_new(tags, json_string(targeted[s_next() % 5]));
    return json_pack("{s:o}", "tags", tags);
}

/* A campaign of `within` (-1: any) at a wider level that overlaps
 * [start, end], to name as parent; NULL when there is none. */
static const char *s_pick_parent(const made_t *made, size_t n, int level, int within, int32_t start,
                                 int32_t end)
{
    for (int tries = 0; tries < 40 && n > 0; tries++) {
        const made_t *m = &made[s_next() % n];
        if (m->level == level && (within < 0 || m->region == within) && m->start <= end &&
            start <= m->end)
            return m->id;
    }
    return NULL;
}

static void s_add(campaign_calendar_t *cal, const org_t *org, json_t *doc, int32_t start,
                  int64_t *published)
{
    char err[256];
    const campaign_t *c = NULL;
    int rc = campaign_calendar_add(cal, org, doc, "marketing", (int64_t)(start - 60) * DAY_MS, &c,
                                   err, sizeof err);
    if (rc == HB_EINVAL && strncmp(err, "scope", 5) == 0) {
        /* A tag no hall of that city carries: target the whole city. */
        json_object_set_new(doc, "scope", json_object());
        rc = campaign_calendar_add(cal, org, doc, "marketing", (int64_t)(start - 60) * DAY_MS, &c,
                                   err, sizeof err);
    }
    if (rc != 0)
        s_die("campaign", err);
    char id[HB_CAL_ID_MAX];
    snprintf(id, sizeof id, "%s", c->doc.id);
    json_decref(doc);
    /* Half published a week or more ahead (some too late), the rest on the
     * way. */
    double r = (double)(s_next() % 1000) / 1000.0;
    int64_t at = (int64_t)(start - 50) * DAY_MS;
    const campaign_action_t steps[] = {CAMPAIGN_SUBMIT, CAMPAIGN_APPROVE, CAMPAIGN_PUBLISH};
    int upto = r < 0.5 ? 3 : r < 0.8 ? 2 : 1;
    for (int i = 0; i < upto; i++) {
        if (steps[i] == CAMPAIGN_PUBLISH)
            at = (int64_t)(start - s_int(3, 30)) * DAY_MS + 9 * 3600 * 1000LL;
        if (campaign_calendar_transition(cal, id, steps[i], "reviewer", at, NULL, err, sizeof err))
            s_die("transition", err);
    }
    if (upto == 3)
        (*published)++;
}

static campaign_calendar_t *s_build_calendar(const org_t *org, int total, int64_t *published)
{
    campaign_calendar_t *cal = campaign_calendar_new();
    made_t *made = calloc((size_t)total, sizeof *made);
    int n_ho = total * 3 / 100, n_prov = total * 22 / 100;
    int cities = PROVINCES * CITIES_PER_PROVINCE;
    for (int i = 0; i < total; i++) {
        made_t *m = &made[i];
        m->level = i < n_ho ? 0 : i < n_ho + n_prov ? 1 : 2;
        int len = m->level == 0 ? s_int(14, 45) : m->level == 1 ? s_int(10, 35) : s_int(5, 21);
        m->start = YEAR_START + s_int(0, 364 - len);
        m->end = m->start + len - 1;
        m->region = m->level == 1   ? (i - n_ho) % PROVINCES
                    : m->level == 2 ? s_int(0, cities - 1)
                                    : 0;
        snprintf(m->id, sizeof m->id, "%s-%04d",
                 m->level == 0   ? "ho"
                 : m->level == 1 ? "prov"
                                 : "city",
                 i);
        json_t *scope;
        const char *parent = NULL;
        if (m->level == 0) {
            scope = s_chance(0.4) ? json_object() : s_tag_scope();
        } else if (m->level == 1) {
            double r = (double)(s_next() % 100) / 100.0;
            if (r < 0.5) {
                scope = json_object();
            } else if (r < 0.8) {
                json_t *regions = json_array();
                int k = s_int(2, 4), base = s_int(0, CITIES_PER_PROVINCE - 1);
                for (int c = 0; c < k; c++) {
                    char cid[16];
                    snprintf(cid, sizeof cid, "C%03d",
                             m->region * CITIES_PER_PROVINCE + (base + c) % CITIES_PER_PROVINCE +
                                 1);
                    json_array_append_new(regions, json_string(cid));
                }
                scope = json_pack("{s:o}", "regions", regions);
            } else {
                scope = s_tag_scope();
            }
            if (s_chance(0.5))
                parent = s_pick_parent(made, (size_t)i, 0, -1, m->start, m->end);
        } else {
            double r = (double)(s_next() % 100) / 100.0;
            const uint32_t *in_city = NULL;
            char cid[16];
            snprintf(cid, sizeof cid, "C%03d", m->region + 1);
            size_t n_in = org_city_halls(org, org_region_find(org, cid), &in_city);
            if (n_in == 0) {
                m->level = 1; /* an empty city: make it its province's campaign */
                m->region /= CITIES_PER_PROVINCE;
                snprintf(m->id, sizeof m->id, "prov-%04d", i);
                scope = json_object();
            } else if (r < 0.6 || n_in < 4) {
                scope = json_object();
            } else if (r < 0.8) {
                scope = json_pack("{s:o}", "tags", json_pack("[s, s]", "urban", "rural"));
            } else {
                json_t *halls = json_array();
                int k = s_int(2, (int)(n_in < 8 ? n_in : 8));
                size_t base = s_next() % n_in;
                for (int h = 0; h < k; h++)
                    json_array_append_new(
                        halls,
                        json_string(org_hall_at(org, in_city[(base + (size_t)h) % n_in])->id));
                scope = json_pack("{s:o}", "halls", halls);
            }
            if (m->level == 2 && s_chance(0.6))
                parent = s_pick_parent(made, (size_t)i, 1, m->region / CITIES_PER_PROVINCE,
                                       m->start, m->end);
        }
        s_add(cal, org, s_campaign(m, parent, scope), m->start, published);
    }
    free(made);
    return cal;
}

/* ----------------------------------------------------------------- main ---- */

static int s_count_slice(const org_hall_t *hall, json_t *slice, const char *problem, void *ud)
{
    (void)hall;
    size_t *n = ud;
    if (slice)
        n[0] += json_array_size(json_object_get(slice, "campaigns"));
    else
        n[1]++;
    (void)problem;
    json_decref(slice);
    return 0;
}

/* The command line, read by the settings table. */
typedef struct settings {
    int64_t halls, campaigns, runs, seed;
    bool json;
} settings_t;

#define ROW(...) HB_CONF_OPT(settings_t, __VA_ARGS__)

static const hb_config_def_t s_options[] = {
    ROW("halls", HB_CONF_INT, halls, "10000", 1, ORG_HALLS_MAX, "N", "halls in the organisation"),
    ROW("campaigns", HB_CONF_INT, campaigns, "2000", 1, CAMPAIGN_CALENDAR_MAX, "N",
        "campaigns in the calendar"),
    ROW("runs", HB_CONF_INT, runs, "7", 1, RUNS_MAX, "N", "runs to take the median of"),
    ROW("seed", HB_CONF_INT, seed, "20270101", 0, 1LL << 40, "N",
        "random seed: same seed, same calendar"),
    ROW("json", HB_CONF_BOOL, json, "false", 0, 0, NULL, "print the figures as JSON"),
};
#undef ROW

static const bench_cli_t s_cli = BENCH_CLI(
    s_options, "bench_calendar", "[--halls N] [--campaigns N] [--runs N] [--seed N] [--json]",
    "the campaign coordination check over a national calendar, timed");

int main(int argc, char **argv)
{
    settings_t set = {0};
    int rc = bench_cli_read(&s_cli, &set, argc, argv);
    if (rc >= 0)
        return rc; /* --help, --version, or refused */
    long halls = (long)set.halls, campaigns = (long)set.campaigns, runs = (long)set.runs;
    bool as_json = set.json;
    s_rng = (uint64_t)set.seed;

    double t_org = 0;
    org_t *org = s_build_org((int)halls, &t_org);
    calcheck_glossary_t *glossary = s_build_glossary();
    int64_t published = 0;
    double t0 = s_now();
    campaign_calendar_t *cal = s_build_calendar(org, (int)campaigns, &published);
    double t_add = s_now() - t0;

    /* Per-hall limits, as effective policies would give them: most halls
     * take three campaigns at once, some four, a few two; five provinces
     * make city overlaps an error. */
    size_t n_halls = org_hall_count(org);
    calcheck_limits_t *limits = calloc(n_halls, sizeof *limits);
    for (size_t h = 0; h < n_halls; h++) {
        const org_region_t *chain[3];
        org_hall_chain(org, org_hall_at(org, (uint32_t)h)->id, chain);
        int r = (int)(s_next() % 100);
        limits[h].max_concurrent = r < 5 ? 2 : r < 80 ? 3 : 4;
        limits[h].lead_days = 7;
        limits[h].city_overlap_error = strcmp(chain[1]->id, "P05") <= 0;
    }

    size_t words = org_bitset_words(org);
    uint64_t *bits = calloc(words, sizeof *bits);
    double t_resolve[RUNS_MAX] = {0}, t_check[RUNS_MAX] = {0}, t_slices[RUNS_MAX] = {0};
    size_t reached = 0;
    calcheck_report_t *rep = NULL;
    char err[256];
    calcheck_input_t in = {.org = org,
                           .cal = cal,
                           .limits = limits,
                           .n_limits = n_halls,
                           .glossary = glossary,
                           .today = YEAR_START - 20};
    size_t slice_counts[2] = {0, 0};
    for (long run = 0; run < runs; run++) {
        reached = 0;
        t0 = s_now();
        for (size_t i = 0; i < campaign_calendar_count(cal); i++) {
            size_t n = 0;
            if (campaign_resolve(campaign_calendar_at(cal, i), org, bits, words, &n, err,
                                 sizeof err))
                s_die("resolve", err);
            reached += n;
        }
        t_resolve[run] = s_now() - t0;

        calcheck_report_destroy(&rep);
        t0 = s_now();
        if (calcheck_run(&in, &rep, err, sizeof err) != 0)
            s_die("check", err);
        t_check[run] = s_now() - t0;

        slice_counts[0] = slice_counts[1] = 0;
        t0 = s_now();
        if (campaign_calendar_slices(cal, org, YEAR_START, s_count_slice, slice_counts, err,
                                     sizeof err) != 0)
            s_die("slices", err);
        t_slices[run] = s_now() - t0;
    }
    double m_resolve = s_median(t_resolve, (int)runs), m_check = s_median(t_check, (int)runs);
    double m_slices = s_median(t_slices, (int)runs);

    size_t levels[3] = {0, 0, 0};
    for (size_t i = 0; i < campaign_calendar_count(cal); i++)
        levels[campaign_calendar_at(cal, i)->doc.level]++;

    if (as_json) {
        json_t *j = calcheck_report_to_json(rep);
        json_t *by = json_object_get(j, "by_rule");
        json_t *out =
            json_pack("{s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:O, s:i, s:i}", "halls",
                      (json_int_t)n_halls, "campaigns", (json_int_t)campaign_calendar_count(cal),
                      "runs", (json_int_t)runs, "org_load_s", t_org, "resolve_s", m_resolve,
                      "check_s", m_check, "slices_s", m_slices, "findings_by_rule", by, "errors",
                      (json_int_t)rep->errors, "warnings", (json_int_t)rep->warnings);
        char *text = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
        json_decref(out);
        json_decref(j);
    } else {
        printf("organisation: 1 national, %d provinces, %d cities, %zu halls (loaded in %.1f ms)\n",
               PROVINCES, PROVINCES * CITIES_PER_PROVINCE, n_halls, t_org * 1e3);
        printf("calendar:     %zu campaigns (%zu head office, %zu province, %zu city), %lld "
               "published, %zu glossary terms (added and validated in %.1f ms)\n",
               campaign_calendar_count(cal), levels[0], levels[1], levels[2], (long long)published,
               calcheck_glossary_count(glossary), t_add * 1e3);
        printf("scopes:       %zu hall-campaign pairs, %.1f halls per campaign\n", reached,
               (double)reached / (double)campaign_calendar_count(cal));
        printf("\nmedian of %ld runs on this machine:\n", runs);
        printf("  resolve every scope     %8.2f ms\n", m_resolve * 1e3);
        printf("  full coordination check %8.2f ms  (%zu campaigns checked)\n", m_check * 1e3,
               rep->campaigns_checked);
        printf("  every hall's slice      %8.2f ms  (%zu entries, %zu halls refused)\n",
               m_slices * 1e3, slice_counts[0], slice_counts[1]);
        printf("\nfindings: %zu errors, %zu warnings, %zu kept, %zu over the cap\n", rep->errors,
               rep->warnings, rep->n, rep->dropped);
        for (int rule = 0; rule < CALCHECK_RULES; rule++)
            printf("  rule %d %-13s %6zu\n", rule, calcheck_rule_name((calcheck_rule_t)rule),
                   rep->by_rule[rule]);
        if (rep->n) {
            printf("\nfor example:\n");
            for (int rule = 1; rule < CALCHECK_RULES; rule++) {
                for (size_t i = 0; i < rep->n; i++) {
                    if ((int)rep->findings[i].rule == rule) {
                        printf("  [%d] %s\n", rule, rep->findings[i].message);
                        break;
                    }
                }
            }
        }
    }
    calcheck_report_destroy(&rep);
    free(bits);
    free(limits);
    calcheck_glossary_destroy(&glossary);
    campaign_calendar_destroy(&cal);
    org_destroy(&org);
    return 0;
}
