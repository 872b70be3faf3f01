/* Campaigns at head office: the campaign document marketing writes (what
 * hb_cal_campaign_t holds, plus the owning region, an optional parent
 * campaign and the scope), its lifecycle (draft -> submitted -> approved ->
 * published -> withdrawn, each step recorded with who and when), and the
 * calendar: the set of all campaigns with a version that moves whenever
 * what halls see changes, and the per-hall slices cut from it.
 *
 * Pure and in memory. Storage persists campaign_to_json of each campaign
 * changed (and the calendar version) after every successful call, and
 * restores with campaign_calendar_from_json; the HTTP API maps HB_EINVAL to
 * a refused document, HB_ECONFLICT to a step not allowed now, HB_ENOTFOUND
 * and HB_EEXIST to ids. Not here: the coordination check (calcheck.h),
 * which callers run before approving and before publishing; delivery of
 * slices to halls (the downlink). Not thread-safe. A campaign document:
 *
 *   {"id": "spring-savings", "title": "Spring savings", "level": "province",
 *    "region": "P01", "parent": "national-savings-2027",
 *    "scope": {"regions": ["C001", "C002"], "tags": ["flagship"]},
 *    "start": "2027-03-01", "end": "2027-03-31",
 *    "products": ["savings-plus"], "business_types": ["account_opening"],
 *    "segment": "retail", "channels": ["signage", "kiosk"],
 *    "texts": {"signage": "...", "kiosk": "..."},
 *    "faq": [{"question": "...", "answer": "..."}]}
 */
#ifndef HQD_CAMPAIGN_H
#define HQD_CAMPAIGN_H

#include "org.h"

#include "hallbus/calendar.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAMPAIGN_USER_MAX 65        /* who acted: [A-Za-z0-9_.@-]{1,64} and its NUL */
#define CAMPAIGN_NOTE_MAX 500       /* a note on a step ("returned: fix the FAQ"), bytes */
#define CAMPAIGN_HISTORY_MAX 256    /* recorded steps per campaign */
#define CAMPAIGN_PARENT_DEPTH_MAX 8 /* campaigns above one, parent of parent ... */
#define CAMPAIGN_CALENDAR_MAX 20000 /* campaigns in one calendar, all states */

typedef enum campaign_state {
    CAMPAIGN_DRAFT = 0,
    CAMPAIGN_SUBMITTED,
    CAMPAIGN_APPROVED,
    CAMPAIGN_PUBLISHED,
    CAMPAIGN_WITHDRAWN,
} campaign_state_t;

/* A recorded step. CREATE and EDIT keep the state (draft); the others are
 * the lifecycle's transitions:
 *   submit   draft -> submitted       return   submitted -> draft
 *   approve  submitted -> approved    publish  approved -> published
 *   withdraw approved or published -> withdrawn */
typedef enum campaign_action {
    CAMPAIGN_CREATE = 0,
    CAMPAIGN_EDIT,
    CAMPAIGN_SUBMIT,
    CAMPAIGN_RETURN,
    CAMPAIGN_APPROVE,
    CAMPAIGN_PUBLISH,
    CAMPAIGN_WITHDRAW,
} campaign_action_t;

typedef struct campaign_event {
    campaign_action_t action;
    campaign_state_t from, to;
    char by[CAMPAIGN_USER_MAX];
    int64_t at_ms; /* wall clock, ms since the epoch, >= 0 */
    char *note;    /* NULL when none */
} campaign_event_t;

/* One campaign. Read-only outside campaign.c; owned by its calendar (or by
 * whoever parsed it), freed with campaign_destroy. */
typedef struct campaign {
    hb_cal_campaign_t doc;          /* id, title, level, dates, products, texts, FAQ */
    char region[ORG_REGION_ID_MAX]; /* owner */
    char parent[HB_CAL_ID_MAX];     /* "" when none */
    org_scope_t *scope;
    campaign_state_t state;
    uint64_t revision;    /* 1 when created, +1 with every edit or step */
    int64_t published_ms; /* the last publish step, -1 when never published */
    size_t n_history;
    campaign_event_t *history; /* oldest first */
    /* What a reviewer last acted on: the document (the author's form,
     * campaign_document_to_json) as it stood at the last "return" or
     * "approve" step, with that step, so that the next review shows what
     * changed since, to any reviewer on any machine. NULL before the first
     * review; owned. */
    json_t *reviewed;
    campaign_action_t reviewed_action;
    char reviewed_by[CAMPAIGN_USER_MAX];
    int64_t reviewed_ms;
    uint64_t reviewed_revision; /* the campaign's revision after that step */
} campaign_t;

/* The set of all campaigns (below). */
typedef struct campaign_calendar campaign_calendar_t;

const char *campaign_state_name(campaign_state_t s); /* "draft", "submitted", ... */
int campaign_state_parse(const char *name, campaign_state_t *out);
const char *campaign_action_name(campaign_action_t a); /* "create", "edit", "submit", ... */
int campaign_action_parse(const char *name, campaign_action_t *out);

/* ---- one campaign */

/* An author's document as a new draft (revision 1, no history yet): every
 * content member as hb_cal_campaign_parse reads it, plus "region" (an id),
 * "scope" (org_scope_parse) and an optional "parent" (an id); nothing else.
 * Only the syntax is checked here (see campaign_validate). Returns 0, or
 * HB_EINVAL with `err` naming the member ("texts.kiosk: 2043 bytes, at most
 * 2000"), or HB_ENOMEM. */
int campaign_parse(const json_t *doc, campaign_t **out, char *err, size_t errlen);
/* Checks a campaign against the organisation and the calendar (either may
 * be NULL to skip its part): the owner region exists and fits the level
 * (head_office: the national root; province: a province; city: a city), the
 * scope reaches at least one hall and none outside the owner, the parent
 * is a known campaign other than this one, and the chain of parents has no
 * cycle and at most CAMPAIGN_PARENT_DEPTH_MAX campaigns. HB_EINVAL with the
 * member path in `err`. */
int campaign_validate(const campaign_t *c, const org_t *org, const campaign_calendar_t *cal,
                      char *err, size_t errlen);
/* The halls the campaign reaches now (org_scope_resolve with its owner). */
int campaign_resolve(const campaign_t *c, const org_t *org, uint64_t *bits, size_t words,
                     size_t *count, char *err, size_t errlen);
/* Takes one lifecycle step (SUBMIT .. WITHDRAW), recording `who`, `at_ms`
 * and an optional note; a RETURN or APPROVE keeps the document as it stands
 * as the one last reviewed (campaign_t.reviewed). A step the current state does not allow is refused
 * with HB_ECONFLICT and `err` ("campaign X is draft: approve needs
 * submitted"); an approve or publish by its author or last editor with
 * HB_EAUTH (campaign_four_eyes); a bad user id, a negative time or an
 * oversized note with HB_EINVAL; a full history with HB_ETOOBIG. Nothing
 * changes on failure. */
int campaign_transition(campaign_t *c, campaign_action_t action, const char *who, int64_t at_ms,
                        const char *note, char *err, size_t errlen);
/* Four eyes: whether `who` may take `action` on `c`. Approve and publish
 * are refused (HB_EAUTH, `err` saying who did what) to whoever created the
 * campaign or made its last edit; every other step is allowed. Part of
 * campaign_transition; apart so that the API can ask before it asks the
 * coordination check. */
int campaign_four_eyes(const campaign_t *c, campaign_action_t action, const char *who, char *err,
                       size_t errlen);
/* The day (UTC calendar) of the last publish step, if there was one. */
bool campaign_published_day(const campaign_t *c, int32_t *day);

/* The stored form: the document members plus "state", "revision",
 * "history" ([{"action", "from", "to", "by", "at_ms", "note"?}]) and, once
 * reviewed, "last_reviewed" ({"action": "return" or "approve", "by",
 * "at_ms", "revision", "document": the author's form then}); new
 * reference, NULL on ENOMEM. campaign_from_json of it gives an equal
 * campaign (and the same JSON again). */
json_t *campaign_to_json(const campaign_t *c);
/* The author's form: the document members only (for export and editing). */
json_t *campaign_document_to_json(const campaign_t *c);
/* Reads the stored form strictly: as campaign_parse, plus a history that
 * starts with "create", takes only legal steps in time order, and ends in
 * "state"; a "last_reviewed" whose document reads as campaign_parse reads
 * one, with the same id. Does not check against an org or calendar. */
int campaign_from_json(const json_t *rec, campaign_t **out, char *err, size_t errlen);
void campaign_destroy(campaign_t **c);

/* ---- the calendar */

campaign_calendar_t *campaign_calendar_new(void);
void campaign_calendar_destroy(campaign_calendar_t **cal);

/* Adds a new draft from an author's document, validated against `org` and
 * the calendar, recording a "create" step by `who` at `at_ms`. HB_EEXIST
 * when the id is taken, HB_ETOOBIG when the calendar is full, else as
 * campaign_parse / campaign_validate. `*out` (may be NULL) points to the
 * stored campaign, valid until the calendar changes. */
int campaign_calendar_add(campaign_calendar_t *cal, const org_t *org, const json_t *doc,
                          const char *who, int64_t at_ms, const campaign_t **out, char *err,
                          size_t errlen);
/* Replaces a draft's document (the document's id names the campaign),
 * validated as in add; recorded as an "edit" step (consecutive edits by one
 * user are one step). HB_ENOTFOUND for an unknown id; HB_ECONFLICT unless
 * the campaign is a draft (return a submitted one first). */
int campaign_calendar_edit(campaign_calendar_t *cal, const org_t *org, const json_t *doc,
                           const char *who, int64_t at_ms, char *err, size_t errlen);
/* Removes a draft that no other campaign names as its parent. HB_ENOTFOUND,
 * HB_ECONFLICT (not a draft, or a parent). */
int campaign_calendar_remove(campaign_calendar_t *cal, const char *id, char *err, size_t errlen);
/* One lifecycle step of campaign `id`, as campaign_transition (HB_ENOTFOUND
 * for an unknown id). A publish, and a withdraw of a published campaign,
 * changes what halls see: the calendar version moves by one. */
int campaign_calendar_transition(campaign_calendar_t *cal, const char *id, campaign_action_t action,
                                 const char *who, int64_t at_ms, const char *note, char *err,
                                 size_t errlen);
/* Publishes every approved campaign as one new version (the version moves
 * once, and only if there was one); `*n_published` (may be NULL) says how
 * many. */
int campaign_calendar_publish_approved(campaign_calendar_t *cal, const char *who, int64_t at_ms,
                                       size_t *n_published, char *err, size_t errlen);

const campaign_t *campaign_calendar_find(const campaign_calendar_t *cal, const char *id);
size_t campaign_calendar_count(const campaign_calendar_t *cal);
/* The i-th campaign (0 <= i < count), in the order added; a removal moves
 * the last campaign into the hole. */
const campaign_t *campaign_calendar_at(const campaign_calendar_t *cal, size_t i);
/* 0 until the first publish, then +1 with every change of what is published. */
uint64_t campaign_calendar_version(const campaign_calendar_t *cal);
/* A new version with the same campaigns, once something was published: for
 * a change outside the calendar that changes what halls get (a hall moved
 * to another city now falls in other scopes). */
void campaign_calendar_bump(campaign_calendar_t *cal);
/* Whether `ancestor` is the parent of `c`, or the parent's parent, and so
 * on (at most CAMPAIGN_PARENT_DEPTH_MAX steps). */
bool campaign_calendar_is_ancestor(const campaign_calendar_t *cal, const campaign_t *ancestor,
                                   const campaign_t *c);

/* {"version": N, "campaigns": [stored forms, sorted by id]} (new reference). */
json_t *campaign_calendar_to_json(const campaign_calendar_t *cal);
/* Restores a calendar from that document: every campaign as
 * campaign_from_json, ids unique, every parent present, no parent cycle,
 * the bounds. The org is not consulted (it may be loaded separately). */
int campaign_calendar_from_json(const json_t *doc, campaign_calendar_t **out, char *err,
                                size_t errlen);

/* ---- slices for halls */

/* The slice document of one hall (hb_cal_slice_build) at the current
 * version: the published campaigns whose scope includes the hall and which
 * end on or after `from_day`. HB_ENOTFOUND for an unknown hall or before
 * anything was published; HB_ETOOBIG when the hall would get more than
 * HB_CAL_SLICE_MAX campaigns. Resolves every published scope: for the
 * whole network use campaign_calendar_slices. */
int campaign_calendar_slice(const campaign_calendar_t *cal, const org_t *org, const char *hall,
                            int32_t from_day, json_t **out, char *err, size_t errlen);

/* Called once per hall in index order with its slice (a new reference the
 * callee owns), or with slice NULL and `problem` saying why that hall's
 * slice could not be built. Returning non-zero stops the walk. The campaign
 * objects inside are shared between the halls' slices: read or dump a
 * slice, do not change it. */
typedef int (*campaign_slice_fn)(const org_hall_t *hall, json_t *slice, const char *problem,
                                 void *ud);
/* Every hall's slice, resolving each published scope once. Returns 0, the
 * callback's non-zero value, or HB_ENOTFOUND / HB_ENOMEM. A published scope
 * that no longer resolves (the org changed) is left out of every slice, and
 * reported to no hall: the coordination check names it. */
int campaign_calendar_slices(const campaign_calendar_t *cal, const org_t *org, int32_t from_day,
                             campaign_slice_fn fn, void *ud, char *err, size_t errlen);

#endif
