/* The glossary of jargon (see glossary.h): its terms, kept with their
 * normal form (lower case, spacing collapsed) in buckets by first byte, and
 * the search of a text for them. Not for what the coordination check makes
 * of a term found (calcheck.c, rule 5), nor for storing the glossary. */
#include "glossary.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/json.h"
#include "hallbus/vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static bool s_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static unsigned char s_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

typedef struct term {
    char *term; /* as given */
    char *norm; /* lower case, spacing collapsed to one ' ' */
    size_t norm_len;
    char *definition; /* NULL when none */
    char **examples;  /* n_examples texts, owned */
    size_t n_examples;
    bool word_start, word_end;
} term_t;

static void s_free_examples(char **ex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ex[i]);
    free(ex);
}

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

static void s_fini(calcheck_glossary_t *g)
{
    for (size_t i = 0; i < g->terms.n; i++) {
        free(g->terms.v[i].term);
        free(g->terms.v[i].norm);
        free(g->terms.v[i].definition);
        s_free_examples(g->terms.v[i].examples, g->terms.v[i].n_examples);
    }
    for (int b = 0; b < 256; b++) {
        hb_vec_free(&g->by_first[b]);
        hb_vec_free(&g->mid_word[b]);
    }
    hb_vec_free(&g->terms);
}

void calcheck_glossary_destroy(calcheck_glossary_t **g_p) { HB_DESTROY(g_p, s_fini); }

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
    idlist_t *bucket =
        word_start ? &g->by_first[(unsigned char)norm[0]] : &g->mid_word[(unsigned char)norm[0]];
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

int calcheck_glossary_set_examples(calcheck_glossary_t *g, size_t i, const char *const *examples,
                                   size_t n, char *err, size_t errlen)
{
    if (i >= g->terms.n)
        return HB_EINVAL;
    if (n > CALCHECK_EXAMPLES_MAX) {
        hb_errf(err, errlen, "examples: %zu examples, at most %d", n, CALCHECK_EXAMPLES_MAX);
        return HB_EINVAL;
    }
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(examples[k]), blank = 0;
        while (blank < len && s_space((unsigned char)examples[k][blank]))
            blank++;
        if (len == 0 || blank == len || len > CALCHECK_EXAMPLE_MAX) {
            hb_errf(err, errlen, "examples[%zu]: must be 1..%d bytes, not blank", k,
                    CALCHECK_EXAMPLE_MAX);
            return HB_EINVAL;
        }
    }
    char **copy = n ? calloc(n, sizeof *copy) : NULL;
    if (n && !copy)
        return hb_err_nomem(err, errlen);
    for (size_t k = 0; k < n; k++) {
        copy[k] = strdup(examples[k]);
        if (!copy[k]) {
            s_free_examples(copy, k);
            return hb_err_nomem(err, errlen);
        }
    }
    term_t *t = &g->terms.v[i];
    s_free_examples(t->examples, t->n_examples);
    t->examples = copy;
    t->n_examples = n;
    return 0;
}

/* The examples of a glossary document's entry: an array of strings (each
 * without a NUL inside), or absent. */
static int s_examples_json(calcheck_glossary_t *g, const json_t *ex, size_t i, char *err,
                           size_t errlen)
{
    const char *list[CALCHECK_EXAMPLES_MAX];
    size_t n = json_array_size(ex);
    if (!json_is_array(ex) || n > CALCHECK_EXAMPLES_MAX) {
        hb_errf(err, errlen, "terms[%zu].examples: must be a list of at most %d texts", i,
                CALCHECK_EXAMPLES_MAX);
        return HB_EINVAL;
    }
    for (size_t k = 0; k < n; k++) {
        const json_t *e = json_array_get(ex, k);
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) {
            hb_errf(err, errlen, "terms[%zu].examples[%zu]: must be a text", i, k);
            return HB_EINVAL;
        }
        list[k] = json_string_value(e);
    }
    char inner[200];
    int rc = calcheck_glossary_set_examples(g, g->terms.n - 1, list, n, inner, sizeof inner);
    if (rc != 0)
        hb_errf(err, errlen, "terms[%zu].%s", i, inner);
    return rc;
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
        const json_t *ex = json_object_get(e, "examples");
        size_t members = json_object_size(e);
        if (!json_is_object(e) || !json_is_string(t) || (d && !json_is_string(d)) ||
            members != 1u + (d ? 1u : 0u) + (ex ? 1u : 0u) ||
            strlen(json_string_value(t)) != json_string_length(t) ||
            (d && strlen(json_string_value(d)) != json_string_length(d))) {
            /* Worded as before examples came (the API's refusal text);
             * "examples" is optional, and its own refusals name it. */
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
        if (rc == 0 && ex)
            rc = s_examples_json(g, ex, i, err, errlen);
    }
    if (rc != 0) {
        calcheck_glossary_destroy(&g);
        return rc;
    }
    *out = g;
    return 0;
}

static json_t *s_examples_to_json(const term_t *t)
{
    json_t *a = json_array();
    for (size_t k = 0; a && k < t->n_examples; k++) {
        if (json_array_append_new(a, json_string(t->examples[k])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
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
        if (e && g->terms.v[i].n_examples)
            bad += json_object_set_new(e, "examples", s_examples_to_json(&g->terms.v[i])) != 0;
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
bool calcheck_glossary_mark(const calcheck_glossary_t *g, const char *text, uint32_t *mark,
                            uint32_t stamp)
{
    bool prev_word = false, any = false;
    for (size_t i = 0; text[i]; i++) {
        unsigned char c = s_lower((unsigned char)text[i]);
        if (!prev_word && g->by_first[c].n &&
            s_scan_bucket(g, &g->by_first[c], text, i, mark, stamp))
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
    calcheck_glossary_mark(g, text, mark, 1);
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

/* ------------------------------------------------- terms for a slice ---- */

size_t calcheck_glossary_campaign_terms(const calcheck_glossary_t *g, const hb_cal_campaign_t *c,
                                        uint32_t *out, size_t max)
{
    if (g->terms.n == 0)
        return 0;
    uint32_t *mark = calloc(g->terms.n, sizeof *mark);
    if (!mark)
        return 0;
    if (c->title)
        calcheck_glossary_mark(g, c->title, mark, 1);
    for (int ch = 0; ch < HB_CAL_CHANNELS; ch++)
        if (c->texts[ch])
            calcheck_glossary_mark(g, c->texts[ch], mark, 1);
    for (size_t i = 0; i < c->n_faq; i++) {
        calcheck_glossary_mark(g, c->faq[i].question, mark, 1);
        if (c->faq[i].answer)
            calcheck_glossary_mark(g, c->faq[i].answer, mark, 1);
    }
    size_t k = 0;
    for (size_t i = 0; i < g->terms.n; i++) {
        if (!mark[i])
            continue;
        if (k < max)
            out[k] = (uint32_t)i;
        k++;
    }
    free(mark);
    return k;
}

json_t *calcheck_glossary_slice_json(const calcheck_glossary_t *g, const char *const *ids,
                                     const uint32_t *const *terms, const size_t *n_terms, size_t n)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    /* Each term's entry is made when first used and keyed by its index, so
     * the result lists terms in glossary order whatever the campaigns'. */
    json_t **entry = g->terms.n ? calloc(g->terms.n, sizeof *entry) : NULL;
    bool bad = g->terms.n && !entry;
    for (size_t k = 0; k < n && !bad; k++) {
        for (size_t j = 0; j < n_terms[k] && !bad; j++) {
            uint32_t t = terms[k][j];
            if (t >= g->terms.n)
                continue;
            if (!entry[t]) {
                const term_t *tt = &g->terms.v[t];
                entry[t] = json_pack("{s:s, s:[]}", "term", tt->term, "campaigns");
                if (!entry[t]) {
                    bad = true;
                    break;
                }
                if (tt->definition)
                    bad |= json_object_set_new(entry[t], "definition",
                                               json_string(tt->definition)) != 0;
                if (tt->n_examples)
                    bad |= json_object_set_new(entry[t], "examples", s_examples_to_json(tt)) != 0;
            }
            bad |= json_array_append_new(json_object_get(entry[t], "campaigns"),
                                         json_string(ids[k])) != 0;
        }
    }
    for (size_t t = 0; t < g->terms.n; t++) {
        if (entry && entry[t] && !bad)
            bad |= json_array_append(out, entry[t]) != 0;
        if (entry)
            json_decref(entry[t]);
    }
    free(entry);
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}
