/* The hall's slice of the campaign calendar (see calendar.h): strict reading
 * and writing of campaign content and slice documents, civil-date helpers
 * and the two date queries a hall asks.
 *
 * Everything a document may carry is bounded before it is copied, and every
 * refusal names the member by its path so that whoever wrote the document
 * can find it. This file knows nothing of HQ's scopes, owners or lifecycle. */
#include "hallbus/calendar.h"
#include "hallbus/destroy.h"
#include "hallbus/tz.h"

#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/json.h"
#include "hallbus/names.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_level_names[] = {"head_office", "province", "city"};
static const char *const s_channel_names[] = {"signage", "kiosk", "counter_script"};

/* ------------------------------------------------------------- dates ---- */

int32_t hb_cal_day_of_ms(int64_t ms)
{
    const int64_t day_ms = 86400000LL;
    int64_t d = ms / day_ms;
    if (ms % day_ms < 0)
        d--; /* floor, not truncation, for instants before the epoch */
    return (int32_t)d;
}

/* ------------------------------------------------------------- names ---- */

HB_NAMES_NAMER(hb_cal_level_name, hb_cal_level_t, s_level_names)
HB_NAMES_PARSER(hb_cal_level_parse, hb_cal_level_t, s_level_names)

HB_NAMES_NAMER(hb_cal_channel_name, hb_cal_channel_t, s_channel_names)
HB_NAMES_PARSER(hb_cal_channel_parse, hb_cal_channel_t, s_channel_names)

/* ------------------------------------------------- reading helpers ---- */

static int s_id(const json_t *v, size_t max, bool allow_dot, const char *p, const char **out,
                char *err, size_t errlen)
{
    const char *s = NULL;
    int rc = hb_json_text(v, 1, max, p, &s, err, errlen);
    if (rc != 0)
        return rc;
    if (!hb_id_chars_ok(s, max, allow_dot ? "." : NULL)) {
        hb_errf(err, errlen, "%s: \"%s\" is not an id ([A-Za-z0-9_%s-]{1,%zu})", p, s,
                allow_dot ? "." : "", max);
        return HB_EINVAL;
    }
    *out = s;
    return 0;
}

/* Member `name` of `obj`, with its path in `p`; NULL and "<p>: missing"
 * when it is absent. */
static const json_t *s_need(const json_t *obj, const char *path, const char *name,
                            char p[HB_JSON_PATH_MAX], char *err, size_t errlen)
{
    hb_json_path(p, HB_JSON_PATH_MAX, path, name);
    const json_t *v = json_object_get(obj, name);
    if (!v)
        hb_errf(err, errlen, "%s: missing", p);
    return v;
}

/* As s_need, and of JSON type `type`: NULL and "<p>: must be <must>"
 * when it is of another. */
static const json_t *s_need_type(const json_t *obj, const char *path, const char *name,
                                 json_type type, const char *must, char p[HB_JSON_PATH_MAX],
                                 char *err, size_t errlen)
{
    const json_t *v = s_need(obj, path, name, p, err, errlen);
    if (v && json_typeof(v) != type) {
        hb_errf(err, errlen, "%s: must be %s", p, must);
        return NULL;
    }
    return v;
}

/* The array `a` (at `p`), of at most `max` entries (refused as "<p>: must
 * be an array of <what>" or too long): its size in *n and a zeroed array
 * of as many `size`-byte entries, NULL when it is empty. *rc is 0, or the
 * refusal's code with `err` set (NULL then too). */
static void *s_array_new(const json_t *a, const char *p, const char *what, size_t max, size_t size,
                         size_t *n, int *rc, char *err, size_t errlen)
{
    *n = 0;
    *rc = HB_EINVAL;
    if (!json_is_array(a)) {
        hb_errf(err, errlen, "%s: must be an array of %s", p, what);
        return NULL;
    }
    size_t len = json_array_size(a);
    if (len > max) {
        hb_errf(err, errlen, "%s: %zu entries, at most %zu", p, len, max);
        return NULL;
    }
    *rc = 0;
    if (len == 0)
        return NULL;
    void *v = calloc(len, size);
    if (!v) {
        *rc = hb_err_nomem(err, errlen);
        return NULL;
    }
    *n = len;
    return v;
}

/* An array of distinct item ids (products or business types). */
static int s_items(const json_t *obj, const char *name, const char *path, size_t *n_out,
                   char (**out)[HB_CAL_ITEM_ID_MAX], char *err, size_t errlen)
{
    char p[HB_JSON_PATH_MAX];
    hb_json_path(p, sizeof p, path, name);
    const json_t *a = json_object_get(obj, name);
    if (!a) {
        hb_errf(err, errlen, "%s: missing (give [] for none)", p);
        return HB_EINVAL;
    }
    *n_out = 0;
    size_t n;
    int rc;
    *out = s_array_new(a, p, "ids", HB_CAL_ITEMS_MAX, sizeof **out, &n, &rc, err, errlen);
    for (size_t i = 0; i < n; i++) {
        char ip[HB_JSON_PATH_MAX];
        hb_json_pathf(ip, sizeof ip, "%s[%zu]", p, i);
        const char *s = NULL;
        rc = s_id(json_array_get(a, i), HB_CAL_ITEM_ID_MAX - 1, true, ip, &s, err, errlen);
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp((*out)[j], s) == 0) {
                hb_errf(err, errlen, "%s: \"%s\" listed twice", ip, s);
                return HB_EINVAL;
            }
        }
        snprintf((*out)[i], HB_CAL_ITEM_ID_MAX, "%s", s);
        *n_out = i + 1;
    }
    return rc;
}

static int s_date(const json_t *obj, const char *name, const char *path, int32_t *out, char *err,
                  size_t errlen)
{
    char p[HB_JSON_PATH_MAX];
    const json_t *v = s_need(obj, path, name, p, err, errlen);
    if (!v)
        return HB_EINVAL;
    if (!json_is_string(v)) {
        hb_errf(err, errlen, "%s: must be a date \"YYYY-MM-DD\"", p);
        return HB_EINVAL;
    }
    if (hb_date_parse(json_string_value(v), out) != 0) {
        hb_errf(err, errlen, "%s: \"%s\" is not a date (YYYY-MM-DD, a real day, year 1970..9999)",
                p, json_string_value(v));
        return HB_EINVAL;
    }
    return 0;
}

static int s_required_text(const json_t *obj, const char *name, size_t max, const char *path,
                           char **out, char *err, size_t errlen)
{
    char p[HB_JSON_PATH_MAX];
    const json_t *v = s_need(obj, path, name, p, err, errlen);
    if (!v)
        return HB_EINVAL;
    const char *s = NULL;
    int rc = hb_json_text(v, 1, max, p, &s, err, errlen);
    if (rc != 0)
        return rc;
    *out = strdup(s);
    return *out ? 0 : hb_err_nomem(err, errlen);
}

static int s_channels(const json_t *obj, const char *path, hb_cal_campaign_t *c, char *err,
                      size_t errlen)
{
    char p[HB_JSON_PATH_MAX];
    const json_t *a =
        s_need_type(obj, path, "channels", JSON_ARRAY, "an array of channel names", p, err, errlen);
    if (!a)
        return HB_EINVAL;
    if (json_array_size(a) == 0) {
        hb_errf(err, errlen, "%s: at least one of signage, kiosk, counter_script", p);
        return HB_EINVAL;
    }
    size_t i;
    const json_t *v;
    json_array_foreach (a, i, v) {
        char ip[HB_JSON_PATH_MAX];
        hb_json_pathf(ip, sizeof ip, "%s[%zu]", p, i);
        hb_cal_channel_t ch;
        if (!json_is_string(v) || hb_cal_channel_parse(json_string_value(v), &ch) != 0) {
            hb_errf(err, errlen, "%s: must be one of signage, kiosk, counter_script", ip);
            return HB_EINVAL;
        }
        if (c->channels & (1u << ch)) {
            hb_errf(err, errlen, "%s: \"%s\" listed twice", ip, json_string_value(v));
            return HB_EINVAL;
        }
        c->channels |= 1u << ch;
    }
    return 0;
}

static int s_texts(const json_t *obj, const char *path, hb_cal_campaign_t *c, char *err,
                   size_t errlen)
{
    char p[HB_JSON_PATH_MAX];
    const json_t *t =
        s_need_type(obj, path, "texts", JSON_OBJECT, "an object of channel: text", p, err, errlen);
    if (!t)
        return HB_EINVAL;
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)t, key, v) {
        char kp[HB_JSON_PATH_MAX];
        hb_json_path(kp, sizeof kp, p, key);
        hb_cal_channel_t ch;
        if (hb_cal_channel_parse(key, &ch) != 0) {
            hb_errf(err, errlen, "%s: unknown channel (signage, kiosk, counter_script)", kp);
            return HB_EINVAL;
        }
        if (!(c->channels & (1u << ch))) {
            hb_errf(err, errlen, "%s: a text for a channel the campaign does not list", kp);
            return HB_EINVAL;
        }
        const char *s = NULL;
        int rc = hb_json_text(v, 1, HB_CAL_TEXT_MAX, kp, &s, err, errlen);
        if (rc != 0)
            return rc;
        c->texts[ch] = strdup(s);
        if (!c->texts[ch])
            return hb_err_nomem(err, errlen);
    }
    for (int ch = 0; ch < HB_CAL_CHANNELS; ch++) {
        if ((c->channels & (1u << ch)) && !c->texts[ch]) {
            hb_errf(err, errlen, "%s.%s: missing (every listed channel needs its text)", p,
                    s_channel_names[ch]);
            return HB_EINVAL;
        }
    }
    return 0;
}

static int s_faq(const json_t *obj, const char *path, hb_cal_campaign_t *c, char *err,
                 size_t errlen)
{
    static const char *const members[] = {"question", "answer", NULL};
    char p[HB_JSON_PATH_MAX];
    hb_json_path(p, sizeof p, path, "faq");
    const json_t *a = json_object_get(obj, "faq");
    if (!a)
        return 0; /* no FAQ: the coordination check's rule 1 reports it */
    size_t n;
    int rc;
    c->faq = s_array_new(a, p, "{question, answer}", HB_CAL_FAQ_MAX, sizeof *c->faq, &n, &rc, err,
                         errlen);
    for (size_t i = 0; i < n; i++) {
        char ep[HB_JSON_PATH_MAX], mp[HB_JSON_PATH_MAX];
        hb_json_pathf(ep, sizeof ep, "%s[%zu]", p, i);
        const json_t *e = json_array_get(a, i);
        rc = hb_json_object_known(e, members, NULL, ep, NULL, "{question, answer}", err, errlen);
        if (rc != 0)
            return rc;
        c->n_faq = i + 1; /* so that a failure below frees this entry too */
        const json_t *q = s_need(e, ep, "question", mp, err, errlen);
        if (!q)
            return HB_EINVAL;
        const char *qs = NULL, *as = "";
        rc = hb_json_text(q, 0, HB_CAL_FAQ_TEXT_MAX, mp, &qs, err, errlen);
        if (rc != 0)
            return rc;
        /* A missing or empty answer is content, not syntax: rule 1 of the
         * coordination check names it, so the author sees it with the
         * other findings rather than as a refused document. */
        const json_t *ans = json_object_get(e, "answer");
        hb_json_path(mp, sizeof mp, ep, "answer");
        if (ans) {
            rc = hb_json_text(ans, 0, HB_CAL_FAQ_TEXT_MAX, mp, &as, err, errlen);
            if (rc != 0)
                return rc;
        }
        c->faq[i].question = strdup(qs);
        c->faq[i].answer = strdup(as);
        if (!c->faq[i].question || !c->faq[i].answer)
            return hb_err_nomem(err, errlen);
    }
    return rc;
}

static int s_campaign_parse(const json_t *obj, const char *const *extra, const char *path,
                            hb_cal_campaign_t *c, char *err, size_t errlen)
{
    static const char *const members[] = {
        "id",      "title",    "level", "start", "end", "products", "business_types",
        "segment", "channels", "texts", "faq",   NULL};
    char p[HB_JSON_PATH_MAX];
    int rc = hb_json_object_known(obj, members, extra, path, "campaign", NULL, err, errlen);
    if (rc != 0)
        return rc;

    const json_t *v = s_need(obj, path, "id", p, err, errlen);
    const char *s = NULL;
    if (!v)
        return HB_EINVAL;
    rc = s_id(v, HB_CAL_ID_MAX - 1, false, p, &s, err, errlen);
    if (rc != 0)
        return rc;
    snprintf(c->id, sizeof c->id, "%s", s);

    rc = s_required_text(obj, "title", HB_CAL_TITLE_MAX, path, &c->title, err, errlen);
    if (rc != 0)
        return rc;

    v = s_need(obj, path, "level", p, err, errlen);
    if (!v)
        return HB_EINVAL;
    if (!json_is_string(v) || hb_cal_level_parse(json_string_value(v), &c->level) != 0) {
        hb_errf(err, errlen, "%s: must be one of head_office, province, city", p);
        return HB_EINVAL;
    }

    rc = s_date(obj, "start", path, &c->start, err, errlen);
    if (rc == 0)
        rc = s_date(obj, "end", path, &c->end, err, errlen);
    if (rc != 0)
        return rc;
    hb_json_path(p, sizeof p, path, "end");
    if (c->end < c->start) {
        hb_errf(err, errlen, "%s: before the start (dates reversed)", p);
        return HB_EINVAL;
    }
    if (c->end - c->start + 1 > HB_CAL_DAYS_MAX) {
        hb_errf(err, errlen, "%s: the campaign would run %d days, at most %d", p,
                (int)(c->end - c->start + 1), HB_CAL_DAYS_MAX);
        return HB_EINVAL;
    }

    rc = s_items(obj, "products", path, &c->n_products, &c->products, err, errlen);
    if (rc == 0)
        rc = s_items(obj, "business_types", path, &c->n_business_types, &c->business_types, err,
                     errlen);
    if (rc != 0)
        return rc;
    if (c->n_products == 0 && c->n_business_types == 0) {
        hb_json_path(p, sizeof p, path, "products");
        hb_errf(err, errlen, "%s: a campaign concerns at least one product or business type", p);
        return HB_EINVAL;
    }

    rc = s_required_text(obj, "segment", HB_CAL_SEGMENT_MAX, path, &c->segment, err, errlen);
    if (rc == 0)
        rc = s_channels(obj, path, c, err, errlen);
    if (rc == 0)
        rc = s_texts(obj, path, c, err, errlen);
    if (rc == 0)
        rc = s_faq(obj, path, c, err, errlen);
    return rc;
}

int hb_cal_campaign_parse(const json_t *obj, const char *const *extra, const char *path,
                          hb_cal_campaign_t *out, char *err, size_t errlen)
{
    int rc = s_campaign_parse(obj, extra, path ? path : "", out, err, errlen);
    if (rc != 0)
        hb_cal_campaign_clear(out);
    return rc;
}

/* ------------------------------------------------------------ writing ---- */

static json_t *s_items_json(size_t n, const char (*items)[HB_CAL_ITEM_ID_MAX])
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *hb_cal_campaign_to_json(const hb_cal_campaign_t *c)
{
    bool bad = false;
    json_t *o = json_object();
    if (!o)
        return NULL;
    hb_json_set(o, "id", json_string(c->id), &bad);
    hb_json_set(o, "title", json_string(c->title), &bad);
    hb_json_set(o, "level", json_string(hb_cal_level_name(c->level)), &bad);
    hb_json_set(o, "start", hb_json_date(c->start), &bad);
    hb_json_set(o, "end", hb_json_date(c->end), &bad);
    hb_json_set(o, "products",
                s_items_json(c->n_products, (const char(*)[HB_CAL_ITEM_ID_MAX])c->products), &bad);
    hb_json_set(
        o, "business_types",
        s_items_json(c->n_business_types, (const char(*)[HB_CAL_ITEM_ID_MAX])c->business_types),
        &bad);
    hb_json_set(o, "segment", json_string(c->segment), &bad);
    json_t *ch = json_array(), *texts = json_object(), *faq = json_array();
    for (int i = 0; i < HB_CAL_CHANNELS; i++) {
        if (!(c->channels & (1u << i)))
            continue;
        if (ch && json_array_append_new(ch, json_string(s_channel_names[i])) != 0)
            bad = true;
        if (texts)
            hb_json_set(texts, s_channel_names[i], json_string(c->texts[i]), &bad);
    }
    for (size_t i = 0; faq && i < c->n_faq; i++) {
        json_t *e = json_object();
        if (!e) {
            bad = true;
            break;
        }
        hb_json_set(e, "question", json_string(c->faq[i].question), &bad);
        hb_json_set(e, "answer", json_string(c->faq[i].answer), &bad);
        if (json_array_append_new(faq, e) != 0)
            bad = true;
    }
    hb_json_set(o, "channels", ch, &bad);
    hb_json_set(o, "texts", texts, &bad);
    hb_json_set(o, "faq", faq, &bad);
    return hb_json_built(o, bad);
}

int hb_cal_campaign_copy(hb_cal_campaign_t *dst, const hb_cal_campaign_t *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->id, src->id, sizeof dst->id);
    dst->level = src->level;
    dst->start = src->start;
    dst->end = src->end;
    dst->channels = src->channels;
    dst->title = strdup(src->title);
    dst->segment = strdup(src->segment);
    bool ok = dst->title && dst->segment;
    if (ok && src->n_products) {
        dst->products = malloc(src->n_products * sizeof *dst->products);
        ok = dst->products != NULL;
        if (ok) {
            memcpy(dst->products, src->products, src->n_products * sizeof *dst->products);
            dst->n_products = src->n_products;
        }
    }
    if (ok && src->n_business_types) {
        dst->business_types = malloc(src->n_business_types * sizeof *dst->business_types);
        ok = dst->business_types != NULL;
        if (ok) {
            memcpy(dst->business_types, src->business_types,
                   src->n_business_types * sizeof *dst->business_types);
            dst->n_business_types = src->n_business_types;
        }
    }
    for (int i = 0; ok && i < HB_CAL_CHANNELS; i++) {
        if (src->texts[i]) {
            dst->texts[i] = strdup(src->texts[i]);
            ok = dst->texts[i] != NULL;
        }
    }
    if (ok && src->n_faq) {
        dst->faq = calloc(src->n_faq, sizeof *dst->faq);
        ok = dst->faq != NULL;
        for (size_t i = 0; ok && i < src->n_faq; i++) {
            dst->n_faq = i + 1;
            dst->faq[i].question = strdup(src->faq[i].question);
            dst->faq[i].answer = strdup(src->faq[i].answer);
            ok = dst->faq[i].question && dst->faq[i].answer;
        }
    }
    if (!ok) {
        hb_cal_campaign_clear(dst);
        return HB_ENOMEM;
    }
    return 0;
}

void hb_cal_campaign_clear(hb_cal_campaign_t *c)
{
    free(c->title);
    free(c->products);
    free(c->business_types);
    free(c->segment);
    for (int i = 0; i < HB_CAL_CHANNELS; i++)
        free(c->texts[i]);
    for (size_t i = 0; i < c->n_faq; i++) {
        free(c->faq[i].question);
        free(c->faq[i].answer);
    }
    free(c->faq);
    memset(c, 0, sizeof *c);
}

bool hb_cal_campaign_active(const hb_cal_campaign_t *c, int32_t day)
{
    return c->start <= day && day <= c->end;
}

bool hb_cal_campaign_overlaps(const hb_cal_campaign_t *c, int32_t from, int32_t to)
{
    return c->start <= to && from <= c->end;
}

/* -------------------------------------------------------------- slices ---- */

static int s_by_start(const void *a, const void *b)
{
    const hb_cal_campaign_t *x = *(const hb_cal_campaign_t *const *)a;
    const hb_cal_campaign_t *y = *(const hb_cal_campaign_t *const *)b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int s_by_start_value(const void *a, const void *b)
{
    const hb_cal_campaign_t *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int s_slice_header(uint64_t version, const char *hall, char *err, size_t errlen)
{
    if (version < 1 || version > HB_CAL_VERSION_MAX) {
        hb_errf(err, errlen, "version: must be 1..%llu", (unsigned long long)HB_CAL_VERSION_MAX);
        return HB_EINVAL;
    }
    if (!hall || !hb_hall_id_valid(hall)) {
        hb_errf(err, errlen, "hall: not a hall id ([A-Za-z0-9_-]{1,%d})", HB_HALL_ID_LEN);
        return HB_EINVAL;
    }
    return 0;
}

int hb_cal_slice_build(uint64_t version, const char *hall,
                       const hb_cal_campaign_t *const *campaigns, size_t n, json_t **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    int rc = s_slice_header(version, hall, err, errlen);
    if (rc != 0)
        return rc;
    if (n > HB_CAL_SLICE_MAX) {
        hb_errf(err, errlen, "campaigns: %zu campaigns for hall %s, a slice holds at most %d", n,
                hall, HB_CAL_SLICE_MAX);
        return HB_ETOOBIG;
    }
    const hb_cal_campaign_t *sorted[HB_CAL_SLICE_MAX] = {0};
    for (size_t i = 0; i < n; i++)
        sorted[i] = campaigns[i];
    qsort(sorted, n, sizeof sorted[0], s_by_start);
    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(sorted[i]->id, sorted[j]->id) == 0) {
                hb_errf(err, errlen, "campaigns: \"%s\" given twice", sorted[i]->id);
                return HB_EINVAL;
            }
        }
    }
    json_t *doc = json_object(), *list = json_array();
    bool bad = false;
    if (!doc || !list) {
        json_decref(doc);
        json_decref(list);
        return hb_err_nomem(err, errlen);
    }
    hb_json_set(doc, "version", json_integer((json_int_t)version), &bad);
    hb_json_set(doc, "hall", json_string(hall), &bad);
    for (size_t i = 0; i < n && !bad; i++) {
        json_t *c = hb_cal_campaign_to_json(sorted[i]);
        if (!c || json_array_append_new(list, c) != 0)
            bad = true;
    }
    hb_json_set(doc, "campaigns", list, &bad);
    if (bad) {
        json_decref(doc);
        return hb_err_nomem(err, errlen);
    }
    *out = doc;
    return 0;
}

/* ------------------------------------------------- a slice's glossary ---- */

static void s_term_clear(hb_cal_term_t *t)
{
    free(t->term);
    free(t->definition);
    for (size_t i = 0; i < t->n_examples; i++)
        free(t->examples[i]);
    free(t->examples);
    free(t->campaigns);
    memset(t, 0, sizeof *t);
}

/* One entry of "glossary" at `p` into `t` (zeroed), its campaigns among
 * the slice's `n` campaigns. */
static int s_term_parse(const json_t *e, const char *p, const hb_cal_slice_t *s, hb_cal_term_t *t,
                        char *err, size_t errlen)
{
    static const char *const members[] = {"term", "definition", "examples", "campaigns", NULL};
    int rc = hb_json_object_known(e, members, NULL, p, NULL,
                                  "{term, definition, examples, campaigns}", err, errlen);
    if (rc != 0)
        return rc;
    char mp[HB_JSON_PATH_MAX];
    const json_t *v = s_need(e, p, "term", mp, err, errlen);
    const char *text = NULL;
    if (!v)
        return HB_EINVAL;
    if ((rc = hb_json_text(v, 1, HB_CAL_TERM_MAX, mp, &text, err, errlen)) != 0)
        return rc;
    t->term = strdup(text);
    text = "";
    hb_json_path(mp, sizeof mp, p, "definition");
    v = json_object_get(e, "definition");
    if (v && (rc = hb_json_text(v, 0, HB_CAL_DEFINITION_MAX, mp, &text, err, errlen)) != 0)
        return rc;
    t->definition = strdup(text);
    if (!t->term || !t->definition)
        return hb_err_nomem(err, errlen);
    hb_json_path(mp, sizeof mp, p, "examples");
    v = json_object_get(e, "examples");
    if (v && (!json_is_array(v) || json_array_size(v) > HB_CAL_EXAMPLES_MAX)) {
        hb_errf(err, errlen, "%s: must be an array of at most %d texts", mp, HB_CAL_EXAMPLES_MAX);
        return HB_EINVAL;
    }
    size_t n = json_array_size(v);
    if (n && !(t->examples = calloc(n, sizeof *t->examples)))
        return hb_err_nomem(err, errlen);
    for (size_t i = 0; i < n; i++) {
        char ep[HB_JSON_PATH_MAX];
        hb_json_pathf(ep, sizeof ep, "%s[%zu]", mp, i);
        if ((rc = hb_json_text(json_array_get(v, i), 1, HB_CAL_EXAMPLE_MAX, ep, &text, err,
                               errlen)) != 0)
            return rc;
        t->n_examples = i + 1;
        if (!(t->examples[i] = strdup(text)))
            return hb_err_nomem(err, errlen);
    }
    v = s_need(e, p, "campaigns", mp, err, errlen);
    if (!v)
        return HB_EINVAL;
    n = json_array_size(v);
    if (!json_is_array(v) || n == 0 || n > s->n) {
        hb_errf(err, errlen, "%s: must name 1..%zu campaigns of the slice", mp, s->n);
        return HB_EINVAL;
    }
    if (!(t->campaigns = calloc(n, sizeof *t->campaigns)))
        return hb_err_nomem(err, errlen);
    for (size_t i = 0; i < n; i++) {
        char ep[HB_JSON_PATH_MAX];
        hb_json_pathf(ep, sizeof ep, "%s[%zu]", mp, i);
        if ((rc = s_id(json_array_get(v, i), HB_CAL_ID_MAX - 1, false, ep, &text, err, errlen)) !=
            0)
            return rc;
        if (!hb_cal_slice_find(s, text)) {
            hb_errf(err, errlen, "%s: \"%s\" is no campaign of the slice", ep, text);
            return HB_EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(t->campaigns[j], text) == 0) {
                hb_errf(err, errlen, "%s: \"%s\" named twice", ep, text);
                return HB_EINVAL;
            }
        }
        snprintf(t->campaigns[i], sizeof t->campaigns[i], "%s", text);
        t->n_campaigns = i + 1;
    }
    return 0;
}

static int s_terms_parse(const json_t *list, hb_cal_slice_t *s, char *err, size_t errlen)
{
    if (!list)
        return 0;
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n > HB_CAL_TERMS_MAX) {
        hb_errf(err, errlen, "glossary: must be an array of at most %d terms", HB_CAL_TERMS_MAX);
        return HB_EINVAL;
    }
    if (n && !(s->terms = calloc(n, sizeof *s->terms)))
        return hb_err_nomem(err, errlen);
    for (size_t i = 0; i < n; i++) {
        char p[HB_JSON_PATH_MAX];
        hb_json_pathf(p, sizeof p, "glossary[%zu]", i);
        s->n_terms = i + 1; /* so that a failure frees this entry too */
        int rc = s_term_parse(json_array_get(list, i), p, s, &s->terms[i], err, errlen);
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s->terms[j].term, s->terms[i].term) == 0) {
                hb_errf(err, errlen, "%s.term: \"%s\" already in glossary[%zu]", p,
                        s->terms[i].term, j);
                return HB_EINVAL;
            }
        }
    }
    return 0;
}

json_t *hb_cal_term_to_json(const hb_cal_term_t *t)
{
    json_t *o =
        json_pack("{s:s, s:s, s:[]}", "term", t->term, "definition", t->definition, "examples");
    json_t *ex = o ? json_object_get(o, "examples") : NULL;
    for (size_t i = 0; ex && i < t->n_examples; i++) {
        if (json_array_append_new(ex, json_string(t->examples[i])) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* The slice's "glossary" member as a slice document holds it. */
static json_t *s_terms_json(const hb_cal_slice_t *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_terms; i++) {
        const hb_cal_term_t *t = &s->terms[i];
        json_t *o = json_pack("{s:s, s:[]}", "term", t->term, "campaigns");
        json_t *ids = o ? json_object_get(o, "campaigns") : NULL;
        bool bad = !ids;
        if (o && t->definition[0])
            bad |= json_object_set_new(o, "definition", json_string(t->definition)) != 0;
        if (o && t->n_examples) {
            json_t *full = hb_cal_term_to_json(t);
            bad |= !full || json_object_set(o, "examples", json_object_get(full, "examples")) != 0;
            json_decref(full);
        }
        for (size_t j = 0; ids && j < t->n_campaigns; j++)
            bad |= json_array_append_new(ids, json_string(t->campaigns[j])) != 0;
        if (bad || json_array_append_new(a, o) != 0) {
            json_decref(o);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

size_t hb_cal_slice_terms_of(const hb_cal_slice_t *s, const char *id, const hb_cal_term_t **out,
                             size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_terms; i++) {
        for (size_t j = 0; j < s->terms[i].n_campaigns; j++) {
            if (strcmp(s->terms[i].campaigns[j], id) != 0)
                continue;
            if (k < max)
                out[k] = &s->terms[i];
            k++;
            break;
        }
    }
    return k;
}

int hb_cal_slice_parse(const json_t *doc, hb_cal_slice_t **out, char *err, size_t errlen)
{
    static const char *const members[] = {"version", "hall", "campaigns", "glossary", NULL};
    *out = NULL;
    int rc = hb_json_object_known(doc, members, NULL, "", "slice", "{version, hall, campaigns}",
                                  err, errlen);
    if (rc != 0)
        return rc;
    char mp[HB_JSON_PATH_MAX]; /* a top-level member's path */
    const json_t *v = s_need_type(doc, "", "version", JSON_INTEGER, "an integer", mp, err, errlen);
    const json_t *h =
        v ? s_need_type(doc, "", "hall", JSON_STRING, "a string", mp, err, errlen) : NULL;
    if (!h)
        return HB_EINVAL;
    json_int_t version = json_integer_value(v);
    rc = s_slice_header(version < 0 ? 0 : (uint64_t)version, json_string_value(h), err, errlen);
    if (rc != 0)
        return rc;
    const json_t *list = s_need_type(doc, "", "campaigns", JSON_ARRAY, "an array", mp, err, errlen);
    if (!list)
        return HB_EINVAL;
    size_t n = json_array_size(list);
    if (n > HB_CAL_SLICE_MAX) {
        hb_errf(err, errlen, "campaigns: %zu campaigns, a slice holds at most %d", n,
                HB_CAL_SLICE_MAX);
        return HB_ETOOBIG;
    }
    hb_cal_slice_t *s = calloc(1, sizeof *s);
    if (s && n)
        s->campaigns = calloc(n, sizeof *s->campaigns);
    if (!s || (n && !s->campaigns)) {
        free(s);
        return hb_err_nomem(err, errlen);
    }
    s->version = (uint64_t)version;
    snprintf(s->hall, sizeof s->hall, "%s", json_string_value(h));
    for (size_t i = 0; i < n; i++) {
        char p[HB_JSON_PATH_MAX];
        hb_json_pathf(p, sizeof p, "campaigns[%zu]", i);
        rc = hb_cal_campaign_parse(json_array_get(list, i), NULL, p, &s->campaigns[i], err, errlen);
        if (rc != 0)
            goto fail;
        s->n = i + 1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s->campaigns[j].id, s->campaigns[i].id) == 0) {
                hb_errf(err, errlen, "%s.id: \"%s\" already in campaigns[%zu]", p,
                        s->campaigns[i].id, j);
                rc = HB_EINVAL;
                goto fail;
            }
        }
    }
    if (s->n > 1)
        qsort(s->campaigns, s->n, sizeof *s->campaigns, s_by_start_value);
    rc = s_terms_parse(json_object_get(doc, "glossary"), s, err, errlen);
    if (rc != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    hb_cal_slice_destroy(&s);
    return rc;
}

json_t *hb_cal_slice_to_json(const hb_cal_slice_t *s)
{
    const hb_cal_campaign_t *list[HB_CAL_SLICE_MAX];
    for (size_t i = 0; i < s->n; i++)
        list[i] = &s->campaigns[i];
    json_t *doc = NULL;
    if (hb_cal_slice_build(s->version, s->hall, list, s->n, &doc, NULL, 0) != 0)
        return NULL;
    if (s->n_terms && json_object_set_new(doc, "glossary", s_terms_json(s)) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static void s_slice_fini(hb_cal_slice_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        hb_cal_campaign_clear(&s->campaigns[i]);
    free(s->campaigns);
    for (size_t i = 0; i < s->n_terms; i++)
        s_term_clear(&s->terms[i]);
    free(s->terms);
}

void hb_cal_slice_destroy(hb_cal_slice_t **sp) { HB_DESTROY(sp, s_slice_fini); }

size_t hb_cal_slice_overlapping(const hb_cal_slice_t *s, int32_t from, int32_t to,
                                const hb_cal_campaign_t **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!hb_cal_campaign_overlaps(&s->campaigns[i], from, to))
            continue;
        if (k < max)
            out[k] = &s->campaigns[i];
        k++;
    }
    return k;
}

size_t hb_cal_slice_active(const hb_cal_slice_t *s, int32_t day, const hb_cal_campaign_t **out,
                           size_t max)
{
    return hb_cal_slice_overlapping(s, day, day, out, max);
}

const hb_cal_campaign_t *hb_cal_slice_find(const hb_cal_slice_t *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->campaigns[i].id, id) == 0)
            return &s->campaigns[i];
    return NULL;
}
