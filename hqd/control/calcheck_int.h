/* What the coordination check's files share (calcheck.c: the run, the
 * items, the rules on one campaign and the report; calcheck_sweep.c: the
 * sweeps of rules 2, 3 and 4) and nobody else needs: the run and its items,
 * the walk over an item's halls, and the makers of findings. Private to
 * hqd/control/. */
#ifndef HQD_CALCHECK_INT_H
#define HQD_CALCHECK_INT_H

#include "calcheck.h"

#include "hallbus/idmap.h"
#include "hallbus/vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A table of strings the caller keeps alive, to number them: products,
 * business types and campaign ids of one run. Sized once, never grown. */
typedef struct strtab {
    const char **keys;
    size_t n;
    hb_idmap_t map; /* key -> its number */
} strtab_t;

/* One checked campaign and what the run derived from it. */
typedef struct item {
    const campaign_t *c;
    bool ok; /* its scope resolved */
    size_t n_halls;
    uint32_t *list;            /* sparse form: hall indexes, increasing */
    uint64_t *bits;            /* dense form (list == NULL) */
    size_t lo, hi;             /* dense: the words [lo, hi) that may be non-zero */
    const org_region_t *owner; /* its owner region */
    const org_region_t *city;  /* owner, for a city campaign */
    uint32_t *prod, *btype;    /* numbered and sorted */
    size_t n_prod, n_btype;
    int32_t anc[CAMPAIGN_PARENT_DEPTH_MAX]; /* items above it in the parent chain */
    size_t n_anc;
    uint64_t zob; /* its random number for the set hash */
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

typedef HB_VEC(uint32_t) calcheck_list_t; /* hall or item indexes */

/* Runs `body` with `h` set to each hall of `it`, in increasing index. A
 * macro rather than a callback because rule 2 runs it for every hall of
 * every campaign twice; `body` must not contain a comma outside
 * parentheses. */
#define FOR_EACH_HALL(it, h, body)                                                                 \
    do {                                                                                           \
        if ((it)->bits) {                                                                          \
            for (size_t w_ = (it)->lo; w_ < (it)->hi; w_++) {                                      \
                uint64_t word_ = (it)->bits[w_];                                                   \
                while (word_) {                                                                    \
                    uint32_t h = (uint32_t)(w_ * 64 + (size_t)__builtin_ctzll(word_));             \
                    word_ &= word_ - 1;                                                            \
                    body;                                                                          \
                }                                                                                  \
            }                                                                                      \
        } else {                                                                                   \
            for (size_t k_ = 0; k_ < (it)->n_halls; k_++) {                                        \
                uint32_t h = (it)->list[k_];                                                       \
                body;                                                                              \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* The limits of hall `h`, and whether item `it` reaches it. */
calcheck_limits_t calcheck__lim(const run_t *r, uint32_t h);
bool calcheck__has(const item_t *it, uint32_t h);
/* A new finding of `rule`, or *out NULL when the rule's findings are at
 * their cap (the finding is counted either way). */
int calcheck__finding(run_t *r, calcheck_rule_t rule, calcheck_severity_t sev,
                      calcheck_finding_t **out);
int calcheck__set_campaigns(run_t *r, calcheck_finding_t *f, const uint32_t *items, size_t n);
/* The hall count and the sample from the first hall indexes. */
void calcheck__set_halls(run_t *r, calcheck_finding_t *f, size_t n_halls, const uint32_t *first,
                         size_t n_first);
int calcheck__add_subject(run_t *r, calcheck_finding_t *f, const char *prefix, const char *s);

/* Rule 2 (the days) and rules 3 and 4 (the pairs), calcheck_sweep.c. */
int calcheck__rule_concurrency(run_t *r);
int calcheck__rule_pairs(run_t *r);

#endif
