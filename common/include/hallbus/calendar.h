/* A hall's slice of the campaign calendar: the document head office sends a
 * hall, listing the campaigns whose scope includes it, with what the hall
 * shows (texts per channel, FAQ) and when (local dates, both included).
 *
 * HQ builds the slice from campaigns it has already chosen for the hall
 * (hb_cal_slice_build); the hall parses it strictly (hb_cal_slice_parse) and
 * asks which campaigns run on a date or overlap a range. The content of one
 * campaign (hb_cal_campaign_t) and its bounds are shared with HQ's campaign
 * documents, so that what HQ accepts always fits in a slice. Not here: who
 * owns a campaign, its scope, parent or lifecycle (hqd/control/campaign.h), how a
 * slice travels or is persisted (the downlink and branchd). The slice
 * document:
 *
 *   {"version": 12, "hall": "H001",
 *    "campaigns": [{"id": "spring-savings", "title": "Spring savings",
 *                   "level": "province", "start": "2027-03-01", "end": "2027-03-31",
 *                   "products": ["savings-plus"], "business_types": [],
 *                   "segment": "retail", "channels": ["signage", "kiosk"],
 *                   "texts": {"signage": "...", "kiosk": "..."},
 *                   "faq": [{"question": "...", "answer": "..."}]}],
 *    "glossary": [{"term": "APR", "definition": "annual percentage rate",
 *                  "examples": ["..."], "campaigns": ["spring-savings"]}]}
 *
 * "glossary" (optional; absent when no campaign of the slice uses a term,
 * so that such a slice reads in a hall of a build before it) holds the
 * glossary terms the slice's campaigns use, each with its plain
 * explanation and examples and the ids of the campaigns that use it: what
 * the kiosk shows when a customer touches the term.
 */
#ifndef HALLBUS_CALENDAR_H
#define HALLBUS_CALENDAR_H

#include "hallbus/ids.h" /* HB_HALL_ID_MAX */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds, in bytes of UTF-8 unless said otherwise; a *_MAX naming a buffer
 * counts its NUL. */
#define HB_CAL_ID_MAX 65         /* campaign id: [A-Za-z0-9_-]{1,64} */
#define HB_CAL_ITEM_ID_MAX 65    /* product / business type id: [A-Za-z0-9_.-]{1,64} */
#define HB_CAL_TITLE_MAX 200     /* title, 1..200 bytes */
#define HB_CAL_SEGMENT_MAX 200   /* customer segment, 1..200 bytes */
#define HB_CAL_TEXT_MAX 2000     /* one channel's text, 1..2000 bytes */
#define HB_CAL_FAQ_MAX 32        /* FAQ entries */
#define HB_CAL_FAQ_TEXT_MAX 1000 /* one question or answer */
#define HB_CAL_ITEMS_MAX 32      /* products, and business types, each */
#define HB_CAL_DAYS_MAX 366      /* a campaign's length in days */
#define HB_CAL_SLICE_MAX 200     /* campaigns in one hall's slice */
#define HB_CAL_VERSION_MAX 9007199254740991ULL /* 2^53 - 1: exact in every JSON reader */
#define HB_CAL_TERMS_MAX 2048      /* glossary terms in one slice (and in HQ's glossary) */
#define HB_CAL_TERM_MAX 100        /* one term, 1..100 bytes */
#define HB_CAL_DEFINITION_MAX 1000 /* one term's plain explanation */
#define HB_CAL_EXAMPLES_MAX 8      /* examples of one term */
#define HB_CAL_EXAMPLE_MAX 300     /* one example */

typedef enum hb_cal_level {
    HB_CAL_HEAD_OFFICE = 0,
    HB_CAL_PROVINCE = 1,
    HB_CAL_CITY = 2,
} hb_cal_level_t;

/* The channels of a hall a campaign may use; a campaign's `channels` is a
 * bit set of (1u << channel). */
typedef enum hb_cal_channel {
    HB_CAL_SIGNAGE = 0,
    HB_CAL_KIOSK = 1,
    HB_CAL_COUNTER_SCRIPT = 2,
    HB_CAL_CHANNELS = 3,
} hb_cal_channel_t;

typedef struct hb_cal_faq {
    char *question;
    char *answer; /* may be empty: the coordination check reports that, a parser does not */
} hb_cal_faq_t;

/* What a hall needs of one campaign. Every pointer is owned by the struct
 * and freed by hb_cal_campaign_clear. */
typedef struct hb_cal_campaign {
    char id[HB_CAL_ID_MAX];
    char *title;
    hb_cal_level_t level;
    int32_t start, end; /* days since 1970-01-01, both included, end - start < HB_CAL_DAYS_MAX */
    size_t n_products;
    char (*products)[HB_CAL_ITEM_ID_MAX];
    size_t n_business_types;
    char (*business_types)[HB_CAL_ITEM_ID_MAX];
    char *segment;
    unsigned channels;            /* bit set of 1u << hb_cal_channel_t, never 0 */
    char *texts[HB_CAL_CHANNELS]; /* set exactly for the listed channels */
    size_t n_faq;
    hb_cal_faq_t *faq;
} hb_cal_campaign_t;

/* ---- dates: days since 1970-01-01, read and written with tz.h's
 * hb_date_parse / hb_date_format */

/* The day of the instant `ms` (milliseconds since the epoch) on UTC's calendar. */
int32_t hb_cal_day_of_ms(int64_t ms);

/* ---- names */
const char *hb_cal_level_name(hb_cal_level_t level); /* "head_office", "province", "city" */
int hb_cal_level_parse(const char *name, hb_cal_level_t *out); /* 0 or HB_EINVAL */
const char *hb_cal_channel_name(hb_cal_channel_t ch); /* "signage", "kiosk", "counter_script" */
int hb_cal_channel_parse(const char *name, hb_cal_channel_t *out);

/* ---- one campaign's content */

/* Reads the content members of a campaign object strictly into `out` (which
 * the caller zeroes or clears first): id, title, level, start, end,
 * products, business_types (at least one of the two non-empty), segment,
 * channels, texts (exactly the listed channels, each non-empty), faq
 * (optional, may be empty). `extra` is a NULL-terminated list of further
 * members the caller reads itself (may be NULL); any other member is
 * refused. `path` prefixes the member paths in `err` ("campaigns[3]"; ""
 * for none). Returns 0, or HB_EINVAL with `err` like "campaigns[3].texts.kiosk:
 * 2043 bytes, at most 2000"; on failure `out` is cleared. */
int hb_cal_campaign_parse(const json_t *obj, const char *const *extra, const char *path,
                          hb_cal_campaign_t *out, char *err, size_t errlen);
/* The content members as a new JSON object, in the slice's member order;
 * NULL when out of memory. Parsing it back gives an equal campaign. */
json_t *hb_cal_campaign_to_json(const hb_cal_campaign_t *c);
/* A deep copy into `dst` (cleared first by the caller); 0 or HB_ENOMEM. */
int hb_cal_campaign_copy(hb_cal_campaign_t *dst, const hb_cal_campaign_t *src);
/* Frees what `c` owns and zeroes it; safe on a zeroed struct. */
void hb_cal_campaign_clear(hb_cal_campaign_t *c);
/* Whether the campaign runs on `day`, and whether it runs on any day of
 * [from, to]. */
bool hb_cal_campaign_active(const hb_cal_campaign_t *c, int32_t day);
bool hb_cal_campaign_overlaps(const hb_cal_campaign_t *c, int32_t from, int32_t to);

/* ---- a hall's slice */

/* One glossary term of a slice, owned by the slice. */
typedef struct hb_cal_term {
    char *term;
    char *definition; /* "" when the glossary has none */
    size_t n_examples;
    char **examples;
    size_t n_campaigns;               /* >= 1 */
    char (*campaigns)[HB_CAL_ID_MAX]; /* ids of the slice's campaigns that use it */
} hb_cal_term_t;

/* A parsed slice, campaigns sorted by (start, id), terms in the document's
 * order. Read-only; owned by whoever parsed it, freed with
 * hb_cal_slice_destroy. */
typedef struct hb_cal_slice {
    uint64_t version; /* 1 .. HB_CAL_VERSION_MAX */
    char hall[HB_HALL_ID_MAX];
    size_t n;
    hb_cal_campaign_t *campaigns;
    size_t n_terms;
    hb_cal_term_t *terms;
} hb_cal_slice_t;

/* The slice document for `hall` at `version` (new reference in `*out`) from
 * the `n` campaigns HQ chose for it, sorted by (start, id). Refuses a bad
 * hall id or version, more than HB_CAL_SLICE_MAX campaigns, or two with
 * the same id (HB_EINVAL / HB_ETOOBIG, with `err`); HB_ENOMEM. */
int hb_cal_slice_build(uint64_t version, const char *hall,
                       const hb_cal_campaign_t *const *campaigns, size_t n, json_t **out, char *err,
                       size_t errlen);
/* Reads a slice document strictly: the three members (and "glossary")
 * and no other, a version in range, a hall id, at most HB_CAL_SLICE_MAX
 * campaigns each read as by hb_cal_campaign_parse, no id twice; at most
 * HB_CAL_TERMS_MAX terms within the bounds above, no term twice, each
 * naming only campaigns of the slice. Returns 0 and a new slice in
 * `*out`, or HB_EINVAL / HB_ETOOBIG / HB_ENOMEM with `err` naming the member. */
int hb_cal_slice_parse(const json_t *doc, hb_cal_slice_t **out, char *err, size_t errlen);
/* The slice as a document again (new reference, NULL on ENOMEM): equal to
 * what hb_cal_slice_build made. */
json_t *hb_cal_slice_to_json(const hb_cal_slice_t *s);
void hb_cal_slice_destroy(hb_cal_slice_t **s);

/* The campaigns running on `day` (in slice order), at most `max` of them
 * written to `out`; returns how many run (which may exceed `max`). */
size_t hb_cal_slice_active(const hb_cal_slice_t *s, int32_t day, const hb_cal_campaign_t **out,
                           size_t max);
/* The campaigns running on at least one day of [from, to] (from <= to), as
 * hb_cal_slice_active. */
size_t hb_cal_slice_overlapping(const hb_cal_slice_t *s, int32_t from, int32_t to,
                                const hb_cal_campaign_t **out, size_t max);
/* The terms campaign `id` uses (in the slice's order), at most `max`
 * written to `out`; returns how many it uses. */
size_t hb_cal_slice_terms_of(const hb_cal_slice_t *s, const char *id, const hb_cal_term_t **out,
                             size_t max);
/* A term as JSON {"term", "definition", "examples"} (without its
 * campaigns), for a hall's API; NULL on ENOMEM. */
json_t *hb_cal_term_to_json(const hb_cal_term_t *t);

/* The campaign with `id`, or NULL. */
const hb_cal_campaign_t *hb_cal_slice_find(const hb_cal_slice_t *s, const char *id);

#endif
