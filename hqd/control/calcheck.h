/* The coordination check: the whole campaign calendar read against the
 * rules head office sets before anything reaches a hall, as one list of
 * findings, each naming its rule, severity, campaigns, halls and days.
 *
 *   0 scope         a campaign's scope no longer resolves (the org changed)  error
 *   1 faq           no FAQ, or an entry without an answer (or question)       error
 *   2 concurrency   a hall on a day runs more campaigns than it may           error
 *   3 product       two campaigns share halls, days and a product or business
 *                   type, and neither descends from the other                 error
 *   4 city_overlap  a city campaign overlaps a province or head-office one in
 *                   its city without descending from it        warning (error by policy)
 *   5 glossary      a text uses a glossary term no FAQ entry of it explains   error
 *   6 lead_time     the start is fewer than the lead days after publishing    error
 *
 * "Descends from" is the parent chain, any number of steps (an ancestor),
 * not only the direct parent. The check is pure: the caller supplies the
 * organisation, the calendar, each hall's limits (from its effective
 * policy) and the glossary, and decides what to block; calcheck_report_blocks
 * answers the usual question. Not here: policies themselves, storage of
 * the glossary, HTTP. */
#ifndef HQD_CALCHECK_H
#define HQD_CALCHECK_H

#include "campaign.h"
#include "glossary.h"
#include "org.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALCHECK_SAMPLE_MAX 10 /* hall ids named in one finding */
#define CALCHECK_MESSAGE_MAX 512
#define CALCHECK_PER_RULE_MAX 2000 /* findings kept per rule; further ones are only counted */
#define CALCHECK_SUBJECTS_MAX 32   /* products or terms named in one finding */
#define CALCHECK_MEMORY_MAX (512u * 1024 * 1024) /* hall sets of one run, bytes */

typedef enum calcheck_rule {
    CALCHECK_SCOPE = 0,
    CALCHECK_FAQ = 1,
    CALCHECK_CONCURRENCY = 2,
    CALCHECK_PRODUCT = 3,
    CALCHECK_CITY_OVERLAP = 4,
    CALCHECK_GLOSSARY = 5,
    CALCHECK_LEAD_TIME = 6,
    CALCHECK_RULES = 7,
} calcheck_rule_t;

typedef enum calcheck_severity {
    CALCHECK_WARNING = 0,
    CALCHECK_ERROR = 1, /* blocks approving and publishing the campaigns it names */
} calcheck_severity_t;

/* What a hall's effective policy says about campaigns ("campaigns":
 * {"max_concurrent", "lead_days", "city_overlap"} in policy.h). */
typedef struct calcheck_limits {
    int max_concurrent;      /* campaigns at once, >= 0 */
    int lead_days;           /* days from publishing to the start, >= 0 */
    bool city_overlap_error; /* rule 4 is an error, not a warning, for this hall */
} calcheck_limits_t;

/* The policy defaults (policy.h: 3 at once, 7 days' lead, a warning). */
#define CALCHECK_LIMITS_DEFAULT ((calcheck_limits_t){3, 7, false})

/* ---- the check */

typedef struct calcheck_input {
    const org_t *org;
    const campaign_calendar_t *cal;
    /* Optional: a campaign checked as if submitted (a draft, or a document
     * not yet added); it stands in for the calendar's campaign of the same
     * id. Its parent chain is looked up in the calendar. */
    const campaign_t *candidate;
    /* Per hall, indexed by hall index; n_limits == org_hall_count. NULL
     * for CALCHECK_LIMITS_DEFAULT everywhere. */
    const calcheck_limits_t *limits;
    size_t n_limits;
    const calcheck_glossary_t *glossary; /* NULL: rule 5 finds nothing */
    int32_t today; /* days since 1970-01-01: rule 6 for what is not published yet */
} calcheck_input_t;

typedef struct calcheck_finding {
    calcheck_rule_t rule;
    calcheck_severity_t severity;
    size_t n_campaigns;
    char (*campaigns)[HB_CAL_ID_MAX]; /* sorted */
    size_t n_halls;                   /* how many halls */
    size_t n_sample;
    char sample[CALCHECK_SAMPLE_MAX][HB_HALL_ID_MAX]; /* the first halls by index, sorted by id */
    int32_t first_day, last_day;                      /* days since 1970-01-01, both included */
    size_t n_subjects; /* rule 3: "product:ID" / "business_type:ID"; rule 5: terms */
    char (*subjects)[CALCHECK_TERM_MAX + 16];
    char message[CALCHECK_MESSAGE_MAX];
} calcheck_finding_t;

/* Findings in a deterministic order: by rule, then campaign ids, then days.
 * Owned by the caller, freed with calcheck_report_destroy. */
typedef struct calcheck_report {
    size_t n;
    calcheck_finding_t *findings;
    size_t errors, warnings;        /* over all findings, kept or not */
    size_t by_rule[CALCHECK_RULES]; /* findings per rule, kept or not */
    size_t dropped;                 /* findings over CALCHECK_PER_RULE_MAX, counted only */
    size_t campaigns_checked;
} calcheck_report_t;

/* Checks the submitted, approved and published campaigns of `in->cal` (and
 * the candidate) and reports every finding at once. A published campaign
 * that ended before `today` is history and left out. Returns 0 and a new
 * report, or HB_EINVAL (limits of the wrong length, a negative limit),
 * HB_ETOOBIG (hall sets over CALCHECK_MEMORY_MAX), HB_ENOMEM, with `err`. */
int calcheck_run(const calcheck_input_t *in, calcheck_report_t **out, char *err, size_t errlen);
void calcheck_report_destroy(calcheck_report_t **r);
/* Whether an error finding names `campaign_id`: it may not be approved or
 * published. */
bool calcheck_report_blocks(const calcheck_report_t *r, const char *campaign_id);

/* {"ok": no errors, "errors", "warnings", "dropped", "checked",
 *  "by_rule": {"faq": n, ...}, "findings": [...]} (new reference). */
json_t *calcheck_report_to_json(const calcheck_report_t *r);
/* {"rule": 2, "code": "concurrency", "severity": "error", "campaigns": [...],
 *  "halls": {"count": n, "sample": [...]}, "days": {"first", "last"},
 *  "subjects": [...], "message": "..."} (new reference). */
json_t *calcheck_finding_to_json(const calcheck_finding_t *f);
/* "scope", "faq", "concurrency", "product", "city_overlap", "glossary", "lead_time". */
const char *calcheck_rule_name(calcheck_rule_t rule);

#endif
