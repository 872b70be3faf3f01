/* The glossary of jargon that campaign texts are read against (rule 5 of
 * the coordination check, calcheck.h): its terms and definitions, and the
 * search of a text for them. Not for what a term found means to a campaign
 * (calcheck.c), nor for where the glossary is stored (control.c).
 *
 *   {"terms": [{"term": "APR", "definition": "annual percentage rate",
 *               "examples": ["an APR of 5% on 1,000 yuan costs about 50 a year"]},
 *              {"term": "direct debit"}]}
 *
 * A term's definition (the plain explanation) and its examples go to the
 * halls with their calendar slice, for the terms the hall's campaigns use
 * (calcheck_glossary_slice_json); the bounds are the slice's (calendar.h),
 * so that whatever the glossary accepts fits in a slice.
 *
 * A term is found in a text case-insensitively (ASCII letters) as a whole
 * word or phrase: where the term begins or ends with a letter or digit, the
 * text must not continue with one there (so "APR" is not found in
 * "APRIL"); a space in a term matches any run of white space. Terms in
 * scripts without spaces (CJK) are found anywhere. */
#ifndef HQD_GLOSSARY_H
#define HQD_GLOSSARY_H

#include "hallbus/calendar.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALCHECK_GLOSSARY_MAX HB_CAL_TERMS_MAX        /* terms */
#define CALCHECK_TERM_MAX HB_CAL_TERM_MAX             /* bytes of one term */
#define CALCHECK_DEFINITION_MAX HB_CAL_DEFINITION_MAX /* bytes of one definition */
#define CALCHECK_EXAMPLES_MAX HB_CAL_EXAMPLES_MAX     /* examples of one term */
#define CALCHECK_EXAMPLE_MAX HB_CAL_EXAMPLE_MAX       /* bytes of one example */

typedef struct calcheck_glossary calcheck_glossary_t;

calcheck_glossary_t *calcheck_glossary_new(void);
void calcheck_glossary_destroy(calcheck_glossary_t **g);
/* Adds a term (1..CALCHECK_TERM_MAX bytes, not blank, no control
 * characters) with an optional definition. HB_EEXIST when the same term,
 * ignoring case and spacing, is there; HB_EINVAL, HB_ETOOBIG, HB_ENOMEM. */
int calcheck_glossary_add(calcheck_glossary_t *g, const char *term, const char *definition,
                          char *err, size_t errlen);
/* Sets the examples of term i (0..CALCHECK_EXAMPLES_MAX of them, each
 * 1..CALCHECK_EXAMPLE_MAX bytes, not blank). HB_EINVAL with `err` naming
 * the example ("examples[1]: ..."), HB_ENOMEM; nothing changes then. */
int calcheck_glossary_set_examples(calcheck_glossary_t *g, size_t i, const char *const *examples,
                                   size_t n, char *err, size_t errlen);
int calcheck_glossary_from_json(const json_t *doc, calcheck_glossary_t **out, char *err,
                                size_t errlen);
json_t *calcheck_glossary_to_json(const calcheck_glossary_t *g);
size_t calcheck_glossary_count(const calcheck_glossary_t *g);
/* Term i as given (0 <= i < count), or NULL. */
const char *calcheck_glossary_term(const calcheck_glossary_t *g, size_t i);
/* The distinct terms found in `text`, as term indexes in increasing order,
 * at most `max` written; returns how many were found. */
/* Sets mark[t] = `stamp` for each term t found in `text` (`mark` holds one
 * entry per term); true when any was. The check marks the terms of all the
 * texts of one campaign with one stamp, so it reads each text once. */
bool calcheck_glossary_mark(const calcheck_glossary_t *g, const char *text, uint32_t *mark,
                            uint32_t stamp);
size_t calcheck_glossary_find(const calcheck_glossary_t *g, const char *text, size_t *out,
                              size_t max);

/* The terms campaign `c` uses: found in its title, a channel's text, or
 * an FAQ question or answer (what a hall shows of it), as term indexes in
 * increasing order, at most `max` written; returns how many. */
size_t calcheck_glossary_campaign_terms(const calcheck_glossary_t *g, const hb_cal_campaign_t *c,
                                        uint32_t *out, size_t max);

/* A slice's "glossary" member (calendar.h) for `n` campaigns: ids[k] uses
 * the n_terms[k] terms terms[k] (from calcheck_glossary_campaign_terms).
 * Each term used once, in glossary order: {"term", "definition" (when it
 * has one), "examples" (when any), "campaigns": [the ids that use it]}.
 * A new array (empty when no term is used), NULL on ENOMEM. */
json_t *calcheck_glossary_slice_json(const calcheck_glossary_t *g, const char *const *ids,
                                     const uint32_t *const *terms, const size_t *n_terms, size_t n);

#endif
