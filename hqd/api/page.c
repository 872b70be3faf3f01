/* The dashboard's index.html written for the person who asks for it (see
 * page.h): the catalogues are read into JSON once, at start, and each
 * request only adds who is signed in. GET / and GET /index.html come here
 * (api/table.c); the page's other files are served as they are. */
#include "page.h"

#include "api.h"

#include "hallbus/error.h"
#include "hallbus/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The languages the page knows (hqd/dashboard/i18n.js's LANGS), the
 * default first; each one's catalogue files, in i18n.js's order: the
 * page's own, then the editors' part, whose keys start with "editors.". */
static const char *const s_langs[] = {"zh-CN", "en"};
#define NLANGS (sizeof s_langs / sizeof s_langs[0])
static const char *const s_parts[] = {"", "editors."};
#define NPARTS (sizeof s_parts / sizeof s_parts[0])

struct hqd_page {
    const char *head; /* index.html up to the marker */
    size_t head_len;
    const char *tail; /* after it */
    size_t tail_len;
    char *texts[NLANGS]; /* HTML-safe JSON of each language's catalogue, or NULL */
    size_t texts_len[NLANGS];
};

char *hqd_page_json(const json_t *j, size_t *len)
{
    char *raw = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!raw)
        return NULL;
    size_t n = 0, extra = 0;
    for (; raw[n]; n++)
        if (raw[n] == '<' || raw[n] == '>' || raw[n] == '&')
            extra += 5; /* one byte becomes six: \u003c */
    char *out = malloc(n + extra + 1);
    if (!out) {
        free(raw);
        return NULL;
    }
    /* Outside strings JSON has none of the three, so each is a string's
     * character and its \u escape reads back as the same text. */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = raw[i];
        if (c == '<' || c == '>' || c == '&')
            o += (size_t)snprintf(out + o, 7, "\\u%04x", (unsigned)c);
        else
            out[o++] = c;
    }
    out[o] = '\0';
    free(raw);
    *len = o;
    return out;
}

/* One line of a catalogue, trimmed, into [*s, *e). */
static void s_trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

static bool s_is(const char *s, const char *e, const char *text)
{
    return (size_t)(e - s) == strlen(text) && memcmp(s, text, (size_t)(e - s)) == 0;
}

/* Whether `v` is a plural text: an object of texts by plural category
 * ({"one": "{n} hall", "other": "{n} halls"}), holding "other", which
 * i18n.js reads for any count. */
static bool s_is_plural(const json_t *v)
{
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "other")))
        return false;
    const char *form;
    json_t *text;
    json_object_foreach ((json_t *)v, form, text) {
        if (!json_is_string(text))
            return false;
    }
    return true;
}

/* The catalogue file `name` as an object of texts, or NULL with `why`: its
 * lines between "export default {" and "};" (comments and blank lines
 * aside) are "key": "text" pairs (or "key": {plural forms}), so joined
 * with commas they are one JSON object, which jansson then checks. */
static json_t *s_catalogue(const hb_static_t *files, const char *name, char *why, size_t whylen)
{
    const hb_static_file_t *f = hb_static_file(files, name);
    if (!f) {
        snprintf(why, whylen, "no file i18n/%s", name + 5);
        return NULL;
    }
    char *buf = malloc(f->len + 3);
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    size_t n = 0;
    buf[n++] = '{';
    bool inside = false, ended = false;
    for (const char *line = f->data, *end = f->data + f->len; line < end && !ended;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        const char *s = line, *e = eol ? eol : end;
        line = next;
        s_trim(&s, &e);
        if (!inside) {
            inside = s_is(s, e, "export default {");
            continue;
        }
        ended = s_is(s, e, "};");
        if (ended || s == e || (e - s >= 2 && s[0] == '/' && s[1] == '/'))
            continue;
        if (e[-1] == ',')
            e--;
        if (n > 1)
            buf[n++] = ',';
        memcpy(buf + n, s, (size_t)(e - s));
        n += (size_t)(e - s);
    }
    buf[n++] = '}';
    json_error_t jerr;
    json_t *o = ended ? json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    free(buf);
    if (!ended) {
        snprintf(why, whylen, "%s has no `export default {` ... `};` object", name);
        return NULL;
    }
    if (!o) {
        snprintf(why, whylen, "%.80s: a line is not a \"key\": \"text\" pair (%.100s)", name,
                 jerr.text);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach (o, k, v) {
        if (!json_is_string(v) && !s_is_plural(v)) {
            snprintf(why, whylen, "%s: the key %.64s has no text", name, k);
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Every part of language `lang` merged as i18n.js merges them, as
 * HTML-safe JSON into p->texts[i]; a missing page catalogue or a bad line
 * leaves it NULL (the page then loads the files). HB_ENOMEM or 0. */
static int s_language(hqd_page_t *p, const hb_static_t *files, size_t i)
{
    json_t *all = json_object();
    if (!all)
        return HB_ENOMEM;
    char name[HB_STATIC_PATH_MAX + 1], why[320];
    for (size_t k = 0; k < NPARTS; k++) {
        snprintf(name, sizeof name, "i18n/%s%s.js", s_parts[k], s_langs[i]);
        if (k > 0 && !hb_static_file(files, name))
            continue; /* a part that is not served is skipped, as i18n.js does */
        json_t *c = s_catalogue(files, name, why, sizeof why);
        if (!c) {
            hb_warn("dashboard: the %s texts are not written into the page (the page loads "
                    "them): %s",
                    s_langs[i], why);
            json_decref(all);
            return 0;
        }
        const char *key;
        json_t *v;
        json_object_foreach (c, key, v) {
            if (k > 0 && strncmp(key, s_parts[k], strlen(s_parts[k])) != 0)
                continue; /* i18n.js refuses it too */
            json_object_set(all, key, v);
        }
        json_decref(c);
    }
    p->texts[i] = hqd_page_json(all, &p->texts_len[i]);
    json_decref(all);
    return p->texts[i] ? 0 : HB_ENOMEM;
}

int hqd_page_new(const hb_static_t *files, hqd_page_t **out)
{
    *out = NULL;
    const hb_static_file_t *index = hb_static_file(files, "index.html");
    const char *mark = index ? strstr(index->data, HQD_PAGE_MARKER) : NULL;
    if (!mark)
        return 0;
    hqd_page_t *p = calloc(1, sizeof *p);
    if (!p)
        return HB_ENOMEM;
    p->head = index->data;
    p->head_len = (size_t)(mark - index->data);
    p->tail = mark + strlen(HQD_PAGE_MARKER);
    p->tail_len = index->len - p->head_len - strlen(HQD_PAGE_MARKER);
    for (size_t i = 0; i < NLANGS; i++) {
        if (s_language(p, files, i) != 0) {
            hqd_page_destroy(&p);
            return HB_ENOMEM;
        }
    }
    *out = p;
    return 0;
}

void hqd_page_destroy(hqd_page_t **pp)
{
    if (!pp || !*pp)
        return;
    for (size_t i = 0; i < NLANGS; i++)
        free((*pp)->texts[i]);
    free(*pp);
    *pp = NULL;
}

/* The index of `lang` in s_langs, or the default's (0). */
static size_t s_lang_index(const char *lang)
{
    for (size_t i = 0; lang && i < NLANGS; i++)
        if (strcmp(s_langs[i], lang) == 0)
            return i;
    return 0;
}

int hqd_page_has_lang(const hqd_page_t *p, const char *lang)
{
    return p && lang && strcmp(s_langs[s_lang_index(lang)], lang) == 0 &&
           p->texts[s_lang_index(lang)] != NULL;
}

/* Appends `len` bytes of `s` at *n. */
static void s_put(char *out, size_t *n, const char *s, size_t len)
{
    memcpy(out + *n, s, len);
    *n += len;
}

char *hqd_page_render(const hqd_page_t *p, const char *lang, const json_t *me, size_t *len)
{
    static const char open[] = "<script type=\"application/json\" id=\"" HQD_PAGE_ELEMENT "\">",
                      close[] = "}</script>";
    size_t li = s_lang_index(lang);
    size_t me_len = 0;
    char *me_text = me ? hqd_page_json(me, &me_len) : NULL;
    if (me && !me_text)
        return NULL;
    char lang_part[48];
    int lang_len = snprintf(lang_part, sizeof lang_part, "{\"lang\":\"%s\"", s_langs[li]);
    size_t total = p->head_len + sizeof open - 1 + (size_t)lang_len +
                   (p->texts[li] ? strlen(",\"texts\":") + p->texts_len[li] : 0) +
                   (me_text ? strlen(",\"me\":") + me_len : 0) + sizeof close - 1 + p->tail_len;
    char *out = malloc(total + 1);
    if (!out) {
        free(me_text);
        return NULL;
    }
    size_t n = 0;
    s_put(out, &n, p->head, p->head_len);
    s_put(out, &n, open, sizeof open - 1);
    s_put(out, &n, lang_part, (size_t)lang_len);
    if (p->texts[li]) {
        s_put(out, &n, ",\"texts\":", strlen(",\"texts\":"));
        s_put(out, &n, p->texts[li], p->texts_len[li]);
    }
    if (me_text) {
        s_put(out, &n, ",\"me\":", strlen(",\"me\":"));
        s_put(out, &n, me_text, me_len);
    }
    s_put(out, &n, close, sizeof close - 1);
    s_put(out, &n, p->tail, p->tail_len);
    out[n] = '\0';
    free(me_text);
    *len = n;
    return out;
}

/* The language to write in: ?lang= when it names one, then the cookie the
 * page sets when a person picks one, then the default. The page itself
 * decides which it shows (i18n.js); when it is another, it loads that
 * one's files as before. */
static const char *s_request_lang(const hb_http_req_t *req)
{
    char v[16], cookie[1024];
    if (hb_http_query(req, "lang", v, sizeof v) == 0)
        return s_langs[s_lang_index(v)];
    if (hb_http_header(req, "cookie", cookie, sizeof cookie) == 0 &&
        hq_auth_cookie_value(cookie, HQD_PAGE_LANG_COOKIE, v, sizeof v))
        return s_langs[s_lang_index(v)];
    return s_langs[0];
}

void hqd_api_get_index(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    const hb_static_file_t *f = hb_static_file(hq->dashboard, "index.html");
    if (!f || !hq->page) {
        hb_static_serve(hq->dashboard, req, NULL);
        return;
    }
    /* Only the person's own cookie says who they are; a visitor without a
     * live session gets the page without "me" and asks GET /v1/me (a
     * SameSite=Strict cookie is not sent on a navigation from another
     * site, so "no cookie" is not "signed out"). */
    hq_ident_t *id = hq_auth_session_of(hq->auth, req);
    json_t *me = id ? hqd_api_me_json(hq, id) : NULL;
    hq_ident_unref(&id);
    size_t len = 0;
    char *html = hqd_page_render(hq->page, s_request_lang(req), me, &len);
    json_decref(me);
    if (!html) {
        hb_http_reply_error(req, 503, "no_memory", "cannot write the page now");
        return;
    }
    /* The page now holds the person's session (its CSRF token): no cache
     * may keep it (every answer is no-store, http.h), and no other page may
     * frame it (the policy's frame-ancestors). */
    hb_http_add_header(req, "content-security-policy", HQD_PAGE_CSP);
    hb_http_reply_raw(req, 200, f->content_type, html, len);
    free(html);
}
