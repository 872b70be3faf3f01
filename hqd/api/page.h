/* The dashboard's index.html as hqd serves it: with who is signed in (the
 * session's GET /v1/me answer) and the language's catalogue of texts
 * written into it as one JSON data element, so that the page's first paint
 * asks nothing before its tiles (docs/DASHBOARD.md, "The first paint").
 * Not here: the other files (hallbus/static.h serves them as they are),
 * who may see what (the guard, hqd/auth/), what the page does with it
 * (hqd/dashboard/api.js, i18n.js). */
#ifndef HQD_API_PAGE_H
#define HQD_API_PAGE_H

#include "hallbus/static.h"

#include <jansson.h>
#include <stddef.h>

/* The line of index.html that the data element replaces; a page without
 * it (an older one) is served as it is. */
#define HQD_PAGE_MARKER "<!-- hb:served -->"
/* The data element's id, as api.js reads it. */
#define HQD_PAGE_ELEMENT "hb-served"
/* The language cookie the page writes when a person picks one (i18n.js). */
#define HQD_PAGE_LANG_COOKIE "hb_lang"
/* Every file of the dashboard is served with this policy: scripts from
 * hqd only (none inline: the data element is not a script a browser runs),
 * no plug-ins, no <base>, not framed by another page. Styles may be set by
 * scripts (the views set sizes and colours on elements). */
#define HQD_PAGE_CSP                                                                               \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                    \
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "     \
    "form-action 'self'"

typedef struct hqd_page hqd_page_t;

/* Prepares the page from the dashboard's files `files` (which must outlive
 * it): the part of index.html before and after the marker, and for each
 * language the page knows (zh-CN, en) its catalogues (i18n/LANG.js and
 * i18n/editors.LANG.js, "key": "text" lines as tests/unit/check_catalogues.py
 * checks them) as one JSON object. A language whose page catalogue is
 * missing or has a line that is not such a pair is not written into the
 * page (the page then loads its files, as before; a warning says why).
 * 0 with `*out` (NULL when index.html has no marker: served as it is),
 * or HB_ENOMEM. */
int hqd_page_new(const hb_static_t *files, hqd_page_t **out);
void hqd_page_destroy(hqd_page_t **p);

/* Whether the page has the catalogue of `lang` written in. */
int hqd_page_has_lang(const hqd_page_t *p, const char *lang);

/* index.html with the data element {"lang": LANG, "texts": {...}, "me":
 * ME} in the marker's place (no "texts" for a language without its
 * catalogue; no "me" for NULL `me`): malloc'd, its length in *len; NULL
 * when out of memory. `lang` is one the page knows (else the first). */
char *hqd_page_render(const hqd_page_t *p, const char *lang, const json_t *me, size_t *len);

/* `j` as JSON text that is safe inside an HTML <script> element: every
 * '<', '>' and '&' written as \u003c, \u003e, \u0026, so no text in it
 * ("</script>", "<!--") can end or change the element. malloc'd; NULL
 * when out of memory. */
char *hqd_page_json(const json_t *j, size_t *len);

#endif
