/* HQ's control plane: what head office decides for the halls. The
 * organisation (region tree and hall registry), the policy documents per
 * scope and their published versions, the campaign calendar with its
 * lifecycle gated by the coordination check, and the glossary of jargon.
 * Everything is kept in memory for the loop thread and written through to
 * an LMDB environment of its own (data/control), so an operator's change
 * never waits behind the event writer's commits.
 *
 * Versions: publishing the policies makes policy version N (every hall's
 * effective policy at N is the published documents merged along its chain:
 * national, province, city, hall); publishing or withdrawing campaigns
 * moves the calendar version. Drafts change nothing a hall sees. Not here:
 * sending documents to halls (downlink.h) or HTTP (api/control.c). */
#ifndef HQD_CONTROL_H
#define HQD_CONTROL_H

#include "calcheck.h"
#include "campaign.h"
#include "org.h"
#include "hallbus/policy.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_SCOPE_MAX 80 /* "region/<id>" or "hall/<id>" */

typedef struct hq_control hq_control_t;

/* Opens (creating) the control store in `dir` and loads it. */
int hq_control_open(const char *dir, hq_control_t **out, char *err, size_t errlen);
void hq_control_close(hq_control_t **c);

/* ---- organisation */
const org_t *hq_control_org(const hq_control_t *c);
/* Moves with every change of the organisation (a new org_t, a hall or a
 * region put); never 0, so a zeroed cache below is stale. */
uint64_t hq_control_org_generation(const hq_control_t *c);
/* The organisation's index of hall `hall` (-1 when it does not place it),
 * through a cache the caller keeps per hall (`*gen`, `*index`; zeroed at
 * first): the lookup by id happens once per change of the organisation,
 * not on every use. HQ's hall registry keeps one per hall number (halls.h),
 * so the rounds over every hall reach its place by number. */
int32_t hq_control_org_index(const hq_control_t *c, const char *hall, uint64_t *gen,
                             int32_t *index);
/* Replaces the whole organisation (a document as org_from_json reads). The
 * campaigns must still validate against it; policies of scopes that no
 * longer exist are refused too. */
int hq_control_set_org(hq_control_t *c, const json_t *doc, char *err, size_t errlen);
/* Adds or updates one region / one hall (org_put_region / org_put_hall). */
int hq_control_put_region(hq_control_t *c, const json_t *region, char *err, size_t errlen);
int hq_control_put_hall(hq_control_t *c, const json_t *hall, char *err, size_t errlen);

/* ---- policies. A scope is "national", "region/<id>" or "hall/<id>". */
/* Sets (or with `doc` NULL removes) the draft document of a scope, checked
 * with hb_policy_check; the scope must exist in the organisation. */
int hq_control_put_policy(hq_control_t *c, const char *scope, const json_t *doc, char *err,
                          size_t errlen);
/* {"version", "published_at", "published_by", "drafts": {scope: doc},
 *  "published": {scope: doc}} (new reference). */
json_t *hq_control_policies_json(const hq_control_t *c);
/* Publishes the drafts as version N + 1, after building every hall's
 * effective policy from them (a refusal names the hall and the reason and
 * publishes nothing). */
int hq_control_publish_policies(hq_control_t *c, const char *who, uint64_t *version, char *err,
                                size_t errlen);
uint64_t hq_control_policy_version(const hq_control_t *c);
/* The scopes a publish now would change: those whose draft differs from
 * what is published (new, changed or removed), as a new array of strings;
 * NULL when out of memory. Publishing is allowed to whoever may edit each
 * of them. */
json_t *hq_control_policy_changes(const hq_control_t *c);
/* A hall's effective policy document (complete; new reference in `*out`)
 * from the published documents, or the drafts with `drafts`. A hall the
 * organisation does not place gets the national one. */
int hq_control_effective_policy(hq_control_t *c, const char *hall, bool drafts, json_t **out,
                                char *err, size_t errlen);
/* The same, encoded as sent to the hall; owned by the control plane, valid
 * until the next publish or organisation change. */
int hq_control_policy_bytes(hq_control_t *c, const char *hall, const char **data, size_t *len,
                            char *err, size_t errlen);

/* The parsed effective policy of a hall at the published version (the
 * national one for a hall the organisation does not place; the built-in
 * defaults before anything is published). Owned by the control plane,
 * valid until the next publish or organisation change; NULL only when out
 * of memory. */
const hb_policy_t *hq_control_policy(hq_control_t *c, const char *hall);
/* Whether hall `hall` is open at `now_ms` by its published policy (`info`,
 * as hb_policy_open_at) and when its current opening began (`*start`, as
 * hb_policy_opening_start over `back_days`). Cached per effective policy
 * until the next opening or closing, since the board and the alerts ask
 * for every hall every second. Returns the policy, or NULL (memory). */
const hb_policy_t *hq_control_opening(hq_control_t *c, const char *hall, int64_t now_ms,
                                      int32_t back_days, hb_open_info_t *info, int64_t *start);
/* The same two for a hall given by organisation index (-1: a hall the
 * organisation does not place): no lookup by id, for the rounds. */
const hb_policy_t *hq_control_policy_at(hq_control_t *c, int32_t org_index);
const hb_policy_t *hq_control_opening_at(hq_control_t *c, int32_t org_index, int64_t now_ms,
                                         int32_t back_days, hb_open_info_t *info, int64_t *start);
/* Bumped whenever effective policies may have changed (publish, org). */
uint64_t hq_control_policy_generation(const hq_control_t *c);

/* ---- campaigns */
const campaign_calendar_t *hq_control_calendar(const hq_control_t *c);
uint64_t hq_control_calendar_version(const hq_control_t *c);
int hq_control_campaign_add(hq_control_t *c, const json_t *doc, const char *who, char *err,
                            size_t errlen);
int hq_control_campaign_edit(hq_control_t *c, const json_t *doc, const char *who, char *err,
                             size_t errlen);
int hq_control_campaign_remove(hq_control_t *c, const char *id, char *err, size_t errlen);
/* A lifecycle step. Approve and publish run the coordination check over the
 * whole calendar first; a finding of severity error that names this
 * campaign refuses the step (HB_ECONFLICT) and `*report` (may be NULL;
 * new reference) holds the check's findings either way. */
int hq_control_campaign_step(hq_control_t *c, const char *id, campaign_action_t action,
                             const char *who, const char *note, json_t **report, char *err,
                             size_t errlen);
/* The coordination check over the calendar now, with `candidate` (a
 * document, may be NULL) checked as if submitted. New reference. */
int hq_control_check(hq_control_t *c, const json_t *candidate, json_t **report, char *err,
                     size_t errlen);
/* A hall's slice at the current calendar version, encoded as sent;
 * HB_ENOTFOUND before the first publish. Valid until the calendar or the
 * organisation changes. */
int hq_control_slice_bytes(hq_control_t *c, const char *hall, const char **data, size_t *len,
                           char *err, size_t errlen);
/* `slice` (as hq_control_slice_bytes gives it) without its glossary, for a
 * hall of an older build whose strict reader refuses the member: a new
 * buffer into `*out` (free()) with its length, or NULL when the slice has
 * no glossary (send it as it is). */
int hq_control_slice_without_glossary(const char *slice, size_t len, char **out, size_t *outlen,
                                      char *err, size_t errlen);

/* ---- glossary */
const calcheck_glossary_t *hq_control_glossary(const hq_control_t *c);
int hq_control_set_glossary(hq_control_t *c, const json_t *doc, char *err, size_t errlen);

#endif
