/* JSON helpers over jansson that every strict document reader and every
 * builder of answers here repeats: member paths for refusals, the refusal
 * of members a document does not have, a reader that reads members by
 * name and keeps the first refusal, and builders that never lose a
 * reference.
 *
 * Documents written by people (the organisation, campaigns, the calendar,
 * policies) and by machines (snapshots) are read strictly: a member this
 * format does not have is refused, naming it by its path
 * ("halls[1].colour: unknown member"), so a typo never passes for a
 * default. Not for the wire format (codec.h walks the .proto) nor for text
 * built without jansson (hallbus/text.h). */
#ifndef HALLBUS_JSON_H
#define HALLBUS_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_JSON_PATH_MAX 160 /* a member's path in a refusal; longer ones are cut */
#define HB_JR_SEEN_MAX 40    /* members one hb_jr_t reader may read */

/* ------------------------------------------------------------- paths ---- */

/* snprintf for member paths and messages: a path cut short only shortens
 * a message, so truncation is accepted here on purpose. */
void hb_json_pathf(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "path.member", or "member" when `path` is NULL or "". */
void hb_json_path(char *out, size_t len, const char *path, const char *member);

/* ------------------------------------------------- strict documents ---- */

/* Refuses the first member of `obj` listed in neither `ours` nor `extra`
 * (NULL-terminated lists; either may be NULL) with HB_EINVAL and
 * "<path>.<member>: unknown member" (no "<path>." at the top). */
int hb_json_known(const json_t *obj, const char *const *ours, const char *const *extra,
                  const char *path, char *err, size_t errlen);

/* `obj` must be an object, refused otherwise with HB_EINVAL and
 * "<path>: must be an object <shape>" (`top` for the path when `path` is
 * NULL or ""; no shape when `shape` is NULL), and then holds only the
 * members hb_json_known accepts: the two checks every strict reader makes
 * first. */
int hb_json_object_known(const json_t *obj, const char *const *ours, const char *const *extra,
                         const char *path, const char *top, const char *shape, char *err,
                         size_t errlen);

/* A string of `min`..`max` bytes without a NUL inside; refusals name `path`:
 * "must be a string", "contains a NUL character", "must not be empty",
 * "N bytes, at most M". jansson has refused what is not UTF-8 already. */
int hb_json_text(const json_t *v, size_t min, size_t max, const char *path, const char **out,
                 char *err, size_t errlen);

/* The words of one reader's refusals: "<lead><path>.<member><sep><what>". */
typedef struct hb_jr_style {
    const char *lead;    /* "snapshot member ", or "" */
    const char *sep;     /* " ", or ": " */
    const char *missing; /* "is missing" */
    const char *unknown; /* "is not a member of snapshot format 1" */
} hb_jr_style_t;

/* A reader of one object's members. Each read names its member; the first
 * refusal is kept in `*rc` and the caller's `err`, and every later read
 * returns at once, so a caller reads all members and checks once. The
 * members read are remembered, and hb_jr_end refuses any other. Readers of
 * the entries below share the parent's rc and err. */
typedef struct hb_jr {
    const json_t *obj;
    char where[HB_JSON_PATH_MAX]; /* "tickets[3]", "" at the top */
    const char *seen[HB_JR_SEEN_MAX];
    size_t n_seen;
    const hb_jr_style_t *style;
    int *rc;
    char *err;
    size_t errlen;
} hb_jr_t;

hb_jr_t hb_jr_open(const json_t *obj, const char *where, const hb_jr_style_t *style, int *rc,
                   char *err, size_t errlen);
/* Entry `i` of array `a` (read as member `array`), which must be an object:
 * false (and a refusal "<array>[i] must be an object") when it is not. */
bool hb_jr_entry(hb_jr_t *parent, const char *array, const json_t *a, size_t i, hb_jr_t *out);
/* Refuses `key` with "<what>" (printf), unless a refusal is kept already. */
void hb_jr_fail(hb_jr_t *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The member, refused as missing when absent; NULL after a refusal. */
const json_t *hb_jr_get(hb_jr_t *r, const char *key);
/* The member or NULL, without a refusal when absent. */
const json_t *hb_jr_opt(hb_jr_t *r, const char *key);
int64_t hb_jr_int(hb_jr_t *r, const char *key, int64_t min, int64_t max);
/* An integer, or a decimal string for values above INT64_MAX (hb_json_u64). */
uint64_t hb_jr_u64(hb_jr_t *r, const char *key);
bool hb_jr_bool(hb_jr_t *r, const char *key);
/* A string of fewer than `cap` bytes without NUL, copied into `dst`. */
void hb_jr_str(hb_jr_t *r, const char *key, char *dst, size_t cap);
/* The index i in [first, last] of names[i] equal to the member, a string;
 * refused with `what` ("must name a state allowed here") otherwise. */
int hb_jr_name(hb_jr_t *r, const char *key, const char *const *names, size_t n, int first, int last,
               const char *what);
/* An array of at most `max` entries. */
const json_t *hb_jr_array(hb_jr_t *r, const char *key, size_t max);
const json_t *hb_jr_object(hb_jr_t *r, const char *key);
/* An array of exactly `n` integers 0..UINT32_MAX. */
void hb_jr_u32s(hb_jr_t *r, const char *key, uint32_t *out, size_t n);
/* Refuses a member that was not read. */
void hb_jr_end(hb_jr_t *r);

/* ---------------------------------------------------------- builders ---- */

/* Sets `key` of `o` to `v`, whose reference it takes even on failure; a
 * failure (a NULL `o` or `v` included) sets *bad. Build, then check once. */
void hb_json_set(json_t *o, const char *key, json_t *v, bool *bad);
/* hb_json_set of an integer, a uint64 (hb_json_u64), a string, a boolean. */
void hb_json_set_int(json_t *o, const char *key, int64_t v, bool *bad);
void hb_json_set_u64(json_t *o, const char *key, uint64_t v, bool *bad);
void hb_json_set_str(json_t *o, const char *key, const char *v, bool *bad);
void hb_json_set_bool(json_t *o, const char *key, bool v, bool *bad);
/* The end of a build: `o`, or NULL with its reference dropped when a step
 * set `bad`. */
json_t *hb_json_built(json_t *o, bool bad);
/* Appends `v` (taken) to the array `a`; a failure sets *bad. */
void hb_json_append(json_t *a, json_t *v, bool *bad);
/* A uint64 as jansson can hold it: an integer up to INT64_MAX, else its
 * exact decimal text. */
json_t *hb_json_u64(uint64_t v);
/* An instant as an RFC 3339 string, or null when `ms` <= 0 (never set). */
json_t *hb_json_time(int64_t ms);
/* An array of `n` strings laid out `stride` bytes apart (char ids[n][stride]). */
json_t *hb_json_strings(const char *first, size_t n, size_t stride);

#endif
