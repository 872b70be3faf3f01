/* The glossary of jargon that campaign texts are read against (rule 5 of
 * the coordination check, calcheck.h): its terms and definitions, and the
 * search of a text for them. Not for what a term found means to a campaign
 * (calcheck.c), nor for where the glossary is stored (control.c).
 *
 *   {"terms": [{"term": "APR", "definition": "annual percentage rate"},
 *              {"term": "direct debit"}]}
 *
 * A term is found in a text case-insensitively (ASCII letters) as a whole
 * word or phrase: where the term begins or ends with a letter or digit, the
 * text must not continue with one there (so "APR" is not found in
 * "APRIL"); a space in a term matches any run of white space. Terms in
 * scripts without spaces (CJK) are found anywhere. */
#ifndef HQD_GLOSSARY_H
#define HQD_GLOSSARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALCHECK_GLOSSARY_MAX 2048   /* terms */
#define CALCHECK_TERM_MAX 100        /* bytes of one term */
#define CALCHECK_DEFINITION_MAX 1000 /* bytes of one definition */

typedef struct calcheck_glossary calcheck_glossary_t;

calcheck_glossary_t *calcheck_glossary_new(void);
void calcheck_glossary_destroy(calcheck_glossary_t **g);
/* Adds a term (1..CALCHECK_TERM_MAX bytes, not blank, no control
 * characters) with an optional definition. HB_EEXIST when the same term,
 * ignoring case and spacing, is there; HB_EINVAL, HB_ETOOBIG, HB_ENOMEM. */
int calcheck_glossary_add(calcheck_glossary_t *g, const char *term, const char *definition,
                          char *err, size_t errlen);
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

#endif
