/* The hall's side of the downlink: applies the policy and the campaign
 * calendar slice HQ pushes, each as one versioned document. A document is
 * read strictly first (a bad one is refused, counted, and changes nothing);
 * a good one is stored as a record of the outbox in the same transaction as
 * its PolicyApplied / CalendarApplied event, so after any crash the hall
 * runs the old version whole or the new one whole, and HQ learns which from
 * the event stream. Versions only move forward.
 *
 * At start the stored documents are read back: HQ's policy, once received,
 * replaces the local policy file's. A policy's revoked_devices are carried
 * out here too: the devices it names are deleted from the access store
 * right after the policy is in force (the guard refuses them from that very
 * moment, store or not), and again at every start, so a crash between the
 * two leaves nothing behind. Not here: deciding what a hall gets (hqd), or
 * acting on the policy (the engine). */
#ifndef BRANCHD_APPLIER_H
#define BRANCHD_APPLIER_H

#include "access.h"
#include "engine.h"
#include "outbox.h"
#include "hallbus/calendar.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct applier applier_t;

typedef struct applier_stats {
    uint64_t policies_applied, calendars_applied;
    uint64_t refused;         /* documents that did not read as a policy or a slice */
    uint64_t stale;           /* versions not newer than the one in force */
    uint64_t devices_revoked; /* devices removed for the policy's revoked_devices */
    char last_refusal[256];
} applier_stats_t;

/* Reads the stored documents of hall `hall`, hands a stored policy to the
 * engine, and removes the devices the policy in force revokes from
 * `access` (may be NULL). A stored document that no longer reads is logged
 * and left aside (the hall keeps running on what it has). */
int applier_open(engine_t *engine, outbox_t *outbox, access_t *access, const char *hall,
                 applier_t **out);
void applier_close(applier_t **a);

/* A document from HQ. Returns 0 when applied or when not newer (stale,
 * nothing done), HB_EINVAL when refused (with `err`), or a storage error.
 * A refused document, and one older than the version in force (HQ's view
 * is behind the hall's: a restored HQ), is kept as the kind's refusal
 * (applier_refusal); a resend of the version in force is not. */
int applier_on_document(applier_t *a, bool calendar, uint64_t version, const uint8_t *doc,
                        size_t len, char *err, size_t errlen);

/* The last document of each kind the hall refused, for HQ (the uplink
 * says it in each Hello and heartbeat): its version and why. Kept from the
 * refusal until a newer version of that kind is applied, in memory only (a
 * restarted hall refuses the resent document again and says so again). */
#define APPLIER_REASON_MAX 201 /* 200 bytes of UTF-8 and the NUL */
#define APPLIER_CODE_MAX 32    /* a refusal code and its NUL */
typedef struct applier_refusal {
    uint64_t version; /* 0: none */
    /* Why, as a stable code that HQ's dashboard words in each language
     * (DocumentRefusal.code; docs/API.md, GET /v1/rollout): "not_json", "invalid",
     * "unknown_timezone", "wrong_hall", "wrong_version", "older_version";
     * a static string, "" when none. `reason` is the applier's own words,
     * the detail (names the member, the zone, the versions). */
    const char *code;
    char reason[APPLIER_REASON_MAX];
} applier_refusal_t;
void applier_refusal(const applier_t *a, bool calendar, applier_refusal_t *out);

uint64_t applier_policy_version(const applier_t *a);
uint64_t applier_calendar_version(const applier_t *a);
/* The slice in force, or NULL before the first. Valid until the next
 * applier_on_document. */
const hb_cal_slice_t *applier_calendar(const applier_t *a);
void applier_get_stats(const applier_t *a, applier_stats_t *out);

#endif
