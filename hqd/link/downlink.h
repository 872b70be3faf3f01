/* HQ's downlink: gets every hall onto the newest policy and calendar
 * versions, over the hall's own uplink connection. A hall says in each
 * Hello which versions it runs and answers a document with an event
 * (PolicyApplied / CalendarApplied) in its stream, which the live mirror
 * sees; whatever a hall does not run yet is sent on its Hello and by the
 * periodic rollout, paced and resent until the hall has it. A hall offline
 * at publish time gets the newest version when it comes back.
 *
 * Runs on the loop thread. Not here: what a hall's documents say (the
 * control plane builds them) or applying them (branchd's applier). */
#ifndef HQD_DOWNLINK_H
#define HQD_DOWNLINK_H

#include "control.h"
#include "halls.h"
#include "ingest.h"
#include "live.h"

#include <jansson.h>
#include <stdint.h>

typedef struct hq_downlink hq_downlink_t;

typedef struct hq_downlink_config {
    uint32_t per_tick; /* documents sent per rollout round at most */
    int64_t resend_ms; /* a hall that has not applied a sent version gets it again after this */
} hq_downlink_config_t;

int hq_downlink_new(hq_control_t *ctl, hq_ingest_t *ing, hq_halls_t *halls, hq_live_t *live,
                    const hq_downlink_config_t *cfg, hq_downlink_t **out);
void hq_downlink_destroy(hq_downlink_t **dl);
/* The ingest's Hello hook (hq_ingest_set_hello_hook). */
void hq_downlink_on_hello(void *dl, hq_hall_t *hall);
/* The rollout: a round (every second, from hqd's housekeeping) looks at
 * each hall once and sends what it lacks, `per_tick` documents at most,
 * in steps of about `budget_ms` each so that the loop polls between them.
 * Starts a round when none is in progress; true while it has halls left
 * (call again, after a poll). */
bool hq_downlink_step(hq_downlink_t *dl, double budget_ms);

/* The ingest's refusal hook (hq_ingest_set_refusal_hook): what the hall
 * says it refused. A reason is cut to DL_REASON_MAX - 1 bytes of whole
 * characters, bytes that are no UTF-8 shown as '?'; a code that is not 1 to
 * DL_CODE_MAX - 1 characters of [a-z_] is kept as none (the reason alone
 * speaks, as from an older hall). */
#define DL_REASON_MAX 201
#define DL_CODE_MAX 32
void hq_downlink_on_refusal(void *dl, hq_hall_t *hall, const Hallbus__DocumentRefusal *policy,
                            const Hallbus__DocumentRefusal *calendar);
/* Whether hall `h` refuses a document of `kind` (0 policy, 1 calendar) it
 * has not since got past: the version it refused is newer than what it
 * runs. Then `*version`, `*reason` and `*code` ("" when none; the
 * downlink's, valid until the hall's next Hello or heartbeat). The mirror's
 * read lock is the caller's (hq_live_read_lock), as for every read of what
 * a hall runs. */
bool hq_downlink_refusal_locked(hq_downlink_t *dl, const hq_hall_t *h, int kind, uint64_t *version,
                                const char **reason, const char **code);

/* The version a hall runs, as far as HQ knows (its Hello or its events). */
uint64_t hq_downlink_applied(hq_downlink_t *dl, const char *hall, bool calendar);

/* The rollout of the current versions: {"policy": {"version", "applied",
 * "pending", "offline", "refused"...}, "calendar": {...}} with, when
 * `halls`, the ids in each group (at most `max` per group) and, for the
 * refused ones, "refusals": [{"hall", "version", "by": "hall" or "hq",
 * "code", "reason"}]; over the halls `sees` keeps (the caller's scope;
 * NULL: every hall). A hall is refused when it said it refused the current
 * version (by "hall"), or when HQ could not build or send it (by "hq").
 * "code" is the refusal's stable code ("unknown_timezone", "too_large";
 * docs/API.md), "" from an older hall, and "reason" its detail in words. */
json_t *hq_downlink_rollout_json(hq_downlink_t *dl, bool halls, size_t max, org_hall_pred_fn sees,
                                 void *sees_arg);

#endif
