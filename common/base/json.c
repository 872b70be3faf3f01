/* JSON helpers (see json.h): member paths, the refusal of unknown members,
 * the member reader that keeps the first refusal, and reference-safe
 * builders. What a document means stays with its module; this file only
 * knows JSON's shapes. */
#include "hallbus/json.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- paths ---- */

void hb_json_pathf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

void hb_json_path(char *out, size_t len, const char *path, const char *member)
{
    if (path && path[0])
        hb_json_pathf(out, len, "%s.%s", path, member);
    else
        hb_json_pathf(out, len, "%s", member);
}

/* ------------------------------------------------- strict documents ---- */

static bool s_listed(const char *key, const char *const *names)
{
    for (size_t i = 0; names && names[i]; i++) {
        if (strcmp(key, names[i]) == 0)
            return true;
    }
    return false;
}

int hb_json_known(const json_t *obj, const char *const *ours, const char *const *extra,
                  const char *path, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        (void)v;
        if (!s_listed(key, ours) && !s_listed(key, extra)) {
            char p[HB_JSON_PATH_MAX];
            hb_json_path(p, sizeof p, path, key);
            hb_errf(err, errlen, "%s: unknown member", p);
            return HB_EINVAL;
        }
    }
    return 0;
}

int hb_json_object_known(const json_t *obj, const char *const *ours, const char *const *extra,
                         const char *path, const char *top, const char *shape, char *err,
                         size_t errlen)
{
    if (!json_is_object(obj)) {
        hb_errf(err, errlen, "%s: must be an object%s%s", path && path[0] ? path : top,
                shape ? " " : "", shape ? shape : "");
        return HB_EINVAL;
    }
    return hb_json_known(obj, ours, extra, path, err, errlen);
}

int hb_json_text(const json_t *v, size_t min, size_t max, const char *path, const char **out,
                 char *err, size_t errlen)
{
    if (!json_is_string(v)) {
        hb_errf(err, errlen, "%s: must be a string", path);
        return HB_EINVAL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n) {
        hb_errf(err, errlen, "%s: contains a NUL character", path);
        return HB_EINVAL;
    }
    if (n < min) {
        hb_errf(err, errlen, "%s: must not be empty", path);
        return HB_EINVAL;
    }
    if (n > max) {
        hb_errf(err, errlen, "%s: %zu bytes, at most %zu", path, n, max);
        return HB_EINVAL;
    }
    *out = s;
    return 0;
}

/* ------------------------------------------------------------ reader ---- */

hb_jr_t hb_jr_open(const json_t *obj, const char *where, const hb_jr_style_t *style, int *rc,
                   char *err, size_t errlen)
{
    hb_jr_t r = {.obj = obj, .style = style, .rc = rc, .err = err, .errlen = errlen};
    hb_json_pathf(r.where, sizeof r.where, "%s", where);
    return r;
}

void hb_jr_fail(hb_jr_t *r, const char *key, const char *fmt, ...)
{
    if (*r->rc != 0)
        return;
    *r->rc = HB_EINVAL;
    char what[HB_JSON_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    hb_errf(r->err, r->errlen, "%s%s%s%s%s%s", r->style->lead, r->where, r->where[0] ? "." : "",
            key, r->style->sep, what);
}

bool hb_jr_entry(hb_jr_t *parent, const char *array, const json_t *a, size_t i, hb_jr_t *out)
{
    const json_t *v = json_array_get(a, i);
    char where[HB_JSON_PATH_MAX];
    hb_json_pathf(where, sizeof where, "%s[%zu]", array, i);
    *out = hb_jr_open(v, where, parent->style, parent->rc, parent->err, parent->errlen);
    if (json_is_object(v))
        return true;
    if (*parent->rc == 0) {
        *parent->rc = HB_EINVAL;
        hb_errf(parent->err, parent->errlen, "%s%s%smust be an object", parent->style->lead, where,
                parent->style->sep);
    }
    return false;
}

const json_t *hb_jr_opt(hb_jr_t *r, const char *key)
{
    if (*r->rc != 0)
        return NULL;
    assert(r->n_seen < HB_JR_SEEN_MAX && "raise HB_JR_SEEN_MAX");
    r->seen[r->n_seen++] = key;
    return json_object_get(r->obj, key);
}

const json_t *hb_jr_get(hb_jr_t *r, const char *key)
{
    const json_t *v = hb_jr_opt(r, key);
    if (!v)
        hb_jr_fail(r, key, "%s", r->style->missing);
    return v;
}

int64_t hb_jr_int(hb_jr_t *r, const char *key, int64_t min, int64_t max)
{
    const json_t *v = hb_jr_get(r, key);
    if (!v)
        return 0;
    json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!json_is_integer(v) || x < min || x > max) {
        hb_jr_fail(r, key, "must be an integer from %" PRId64 " to %" PRId64, min, max);
        return 0;
    }
    return (int64_t)x;
}

uint64_t hb_jr_u64(hb_jr_t *r, const char *key)
{
    const json_t *v = hb_jr_get(r, key);
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        return (uint64_t)json_integer_value(v);
    const char *text = json_string_value(v);
    uint64_t x = 0;
    bool ok = text && text[0] && strlen(text) <= 20;
    for (const char *p = text; ok && *p; p++) {
        unsigned d = (unsigned)(*p - '0');
        ok = d <= 9 && x <= (UINT64_MAX - d) / 10;
        x = x * 10 + d;
    }
    if (!ok) {
        hb_jr_fail(r, key, "must be an integer from 0 to %" PRIu64 " (or one in a string)",
                   UINT64_MAX);
        return 0;
    }
    return x;
}

bool hb_jr_bool(hb_jr_t *r, const char *key)
{
    const json_t *v = hb_jr_get(r, key);
    if (v && !json_is_boolean(v))
        hb_jr_fail(r, key, "must be true or false");
    return v && json_is_true(v);
}

void hb_jr_str(hb_jr_t *r, const char *key, char *dst, size_t cap)
{
    const json_t *v = hb_jr_get(r, key);
    if (!v)
        return;
    const char *text = json_string_value(v);
    if (!text || strlen(text) != json_string_length(v) || json_string_length(v) >= cap) {
        hb_jr_fail(r, key, "must be a string of at most %zu bytes without NUL", cap - 1);
        return;
    }
    memcpy(dst, text, json_string_length(v) + 1);
}

int hb_jr_name(hb_jr_t *r, const char *key, const char *const *names, size_t n, int first, int last,
               const char *what)
{
    const json_t *v = hb_jr_get(r, key);
    if (!v)
        return first;
    const char *text = json_string_value(v);
    for (int i = first; text && i <= last && (size_t)i < n; i++) {
        if (names[i] && strcmp(names[i], text) == 0)
            return i;
    }
    hb_jr_fail(r, key, "%s", what);
    return first;
}

const json_t *hb_jr_array(hb_jr_t *r, const char *key, size_t max)
{
    const json_t *v = hb_jr_get(r, key);
    if (!v)
        return NULL;
    if (!json_is_array(v)) {
        hb_jr_fail(r, key, "must be an array");
        return NULL;
    }
    if (json_array_size(v) > max) {
        hb_jr_fail(r, key, "has %zu entries, over the bound of %zu", json_array_size(v), max);
        return NULL;
    }
    return v;
}

const json_t *hb_jr_object(hb_jr_t *r, const char *key)
{
    const json_t *v = hb_jr_get(r, key);
    if (v && !json_is_object(v)) {
        hb_jr_fail(r, key, "must be an object");
        return NULL;
    }
    return v;
}

void hb_jr_u32s(hb_jr_t *r, const char *key, uint32_t *out, size_t n)
{
    const json_t *a = hb_jr_array(r, key, n);
    if (!a)
        return;
    if (json_array_size(a) != n) {
        hb_jr_fail(r, key, "must have exactly %zu entries", n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > (json_int_t)UINT32_MAX) {
            hb_jr_fail(r, key, "[%zu] must be an integer from 0 to %" PRIu32, i, UINT32_MAX);
            return;
        }
        out[i] = (uint32_t)json_integer_value(v);
    }
}

void hb_jr_end(hb_jr_t *r)
{
    if (*r->rc != 0)
        return;
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)r->obj, key, v) {
        (void)v;
        bool known = false;
        for (size_t i = 0; i < r->n_seen && !known; i++)
            known = strcmp(r->seen[i], key) == 0;
        if (!known) {
            hb_jr_fail(r, key, "%s", r->style->unknown);
            return;
        }
    }
}

/* ---------------------------------------------------------- builders ---- */

void hb_json_set(json_t *o, const char *key, json_t *v, bool *bad)
{
    if (!o || !v || json_object_set_new(o, key, v) != 0) {
        if (!o)
            json_decref(v);
        *bad = true;
    }
}

void hb_json_set_int(json_t *o, const char *key, int64_t v, bool *bad)
{
    hb_json_set(o, key, json_integer((json_int_t)v), bad);
}

void hb_json_set_u64(json_t *o, const char *key, uint64_t v, bool *bad)
{
    hb_json_set(o, key, hb_json_u64(v), bad);
}

void hb_json_set_str(json_t *o, const char *key, const char *v, bool *bad)
{
    hb_json_set(o, key, json_string(v), bad);
}

void hb_json_set_bool(json_t *o, const char *key, bool v, bool *bad)
{
    hb_json_set(o, key, json_boolean(v), bad);
}

json_t *hb_json_built(json_t *o, bool bad)
{
    if (!bad)
        return o;
    json_decref(o);
    return NULL;
}

void hb_json_append(json_t *a, json_t *v, bool *bad)
{
    if (!a || !v || json_array_append_new(a, v) != 0) {
        if (!a)
            json_decref(v);
        *bad = true;
    }
}

json_t *hb_json_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    /* jansson's integers are signed 64-bit: say it exactly, as text. */
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, v);
    return json_string(text);
}

json_t *hb_json_time(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char text[HB_RFC3339_MAX];
    hb_time_format(ms, text);
    return json_string(text);
}

json_t *hb_json_strings(const char *first, size_t n, size_t stride)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(first + i * stride)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}
