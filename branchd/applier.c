/* The downlink applier (see applier.h). Records, in the outbox's LMDB:
 *   "policy"   [u64 BE version][the effective policy document, JSON]
 *   "calendar" [u64 BE version][the hall's slice document, JSON]
 * Each is written by engine_record_applied together with its event. */
#include "applier.h"

#include "hallbus/codec.h"
#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/store.h"
#include "hallbus/tz.h"
#include "hallbus/utf8.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_KEY "policy"
#define CALENDAR_KEY "calendar"

struct applier {
    engine_t *engine;
    outbox_t *outbox;
    access_t *access;
    char hall[HB_HALL_ID_MAX];
    uint64_t policy_version, calendar_version;
    hb_cal_slice_t *slice;
    applier_refusal_t refusal[2]; /* [policy, calendar] */
    applier_stats_t stats;
};

/* The refusal codes (applier.h): stable names HQ words in each language;
 * never renamed, since older dashboards and halls meet newer ones. */
#define CODE_NOT_JSON "not_json"
#define CODE_INVALID "invalid"
#define CODE_UNKNOWN_TIMEZONE "unknown_timezone"
#define CODE_WRONG_HALL "wrong_hall"
#define CODE_WRONG_VERSION "wrong_version"
#define CODE_OLDER_VERSION "older_version"

/* Keeps the kind's last refusal for HQ, cut to whole characters. */
static void s_note_refusal(applier_t *a, bool calendar, uint64_t version, const char *code,
                           const char *why)
{
    applier_refusal_t *r = &a->refusal[calendar];
    r->version = version;
    r->code = code;
    hb_utf8_clean(r->reason, sizeof r->reason, why);
}

/* A document from HQ as JSON, or NULL with `err` saying why (`what`:
 * "policy", "calendar"). */
static json_t *s_read_json(const uint8_t *doc, size_t len, const char *what, char *err,
                           size_t errlen)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)doc, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        hb_errf(err, errlen, "the %s is not JSON: %s", what, jerr.text);
    return j;
}

/* Whether policy document `j` names a time zone this system cannot load
 * (a hall whose tzdata is older than HQ's): its refusal's code says so
 * rather than "invalid", since the cure is the hall's system, not the
 * document. */
static bool s_zone_missing(const json_t *j)
{
    const char *zone = json_string_value(json_object_get(j, "timezone"));
    const hb_tz_t *tz = NULL;
    char why[128];
    return zone && hb_tz_get(zone, &tz, why, sizeof why) != 0;
}

/* Reads a policy document; the new policy in `*out`, or the refusal's
 * code in `*code` and its words in `err`. */
static int s_read_policy(const uint8_t *doc, size_t len, hb_policy_t **out, const char **code,
                         char *err, size_t errlen)
{
    *code = CODE_NOT_JSON;
    json_t *j = s_read_json(doc, len, "policy", err, errlen);
    if (!j)
        return HB_EINVAL;
    int rc = hb_policy_new(j, out, err, errlen);
    *code = rc != 0 && s_zone_missing(j) ? CODE_UNKNOWN_TIMEZONE : CODE_INVALID;
    json_decref(j);
    return rc == HB_ENOMEM ? rc : rc ? HB_EINVAL : 0;
}

static int s_read_slice(const applier_t *a, const uint8_t *doc, size_t len, uint64_t version,
                        hb_cal_slice_t **out, const char **code, char *err, size_t errlen)
{
    *code = CODE_NOT_JSON;
    json_t *j = s_read_json(doc, len, "calendar", err, errlen);
    if (!j)
        return HB_EINVAL;
    *code = CODE_INVALID;
    int rc = hb_cal_slice_parse(j, out, err, errlen);
    json_decref(j);
    if (rc != 0)
        return rc == HB_ENOMEM ? rc : HB_EINVAL;
    if (strcmp((*out)->hall, a->hall) != 0 || (*out)->version != version) {
        *code = strcmp((*out)->hall, a->hall) != 0 ? CODE_WRONG_HALL : CODE_WRONG_VERSION;
        hb_errf(err, errlen,
                "the calendar is hall %s's version %" PRIu64 ", not hall %s's %" PRIu64,
                (*out)->hall, (*out)->version, a->hall, version);
        hb_cal_slice_destroy(out);
        return HB_EINVAL;
    }
    return 0;
}

typedef struct load_ctx {
    applier_t *a;
    bool calendar;
} load_ctx_t;

static int s_load_cb(const void *data, size_t len, void *arg)
{
    load_ctx_t *c = arg;
    applier_t *a = c->a;
    char err[256];
    if (len < 8) {
        hb_error("applier: the stored %s is truncated; ignored",
                 c->calendar ? "calendar" : "policy");
        return HB_EPARSE;
    }
    uint64_t version = hb_get_be64(data);
    const uint8_t *doc = (const uint8_t *)data + 8;
    const char *code;
    if (c->calendar) {
        hb_cal_slice_t *slice = NULL;
        if (s_read_slice(a, doc, len - 8, version, &slice, &code, err, sizeof err) != 0) {
            hb_error("applier: the stored calendar %" PRIu64 " does not read (%s); ignored",
                     version, err);
            return HB_EPARSE;
        }
        a->slice = slice;
        a->calendar_version = version;
    } else {
        hb_policy_t *p = NULL;
        if (s_read_policy(doc, len - 8, &p, &code, err, sizeof err) != 0) {
            hb_error("applier: the stored policy %" PRIu64 " does not read (%s); ignored", version,
                     err);
            return HB_EPARSE;
        }
        engine_set_policy(a->engine, p);
        a->policy_version = version;
    }
    return 0;
}

/* Deletes the devices the policy in force revokes. A failure is logged and
 * harmless meanwhile: the guard refuses them from the policy itself, and
 * the next start tries again. */
static void s_revoke(applier_t *a)
{
    const hb_policy_t *p = engine_policy(a->engine);
    size_t removed = 0;
    if (!a->access || !p || p->n_revoked == 0)
        return;
    int rc = access_revoke(a->access, p->revoked, p->n_revoked, &removed);
    if (rc != 0)
        hb_error("applier: the revoked devices cannot be removed now (%s); they are refused "
                 "all the same",
                 hb_strerror(rc));
    a->stats.devices_revoked += removed;
}

int applier_open(engine_t *engine, outbox_t *outbox, access_t *access, const char *hall,
                 applier_t **out)
{
    applier_t *a = calloc(1, sizeof *a);
    if (!a)
        return HB_ENOMEM;
    a->engine = engine;
    a->outbox = outbox;
    a->access = access;
    snprintf(a->hall, sizeof a->hall, "%s", hall);
    load_ctx_t pc = {a, false}, cc = {a, true};
    outbox_get_record(outbox, POLICY_KEY, s_load_cb, &pc);
    outbox_get_record(outbox, CALENDAR_KEY, s_load_cb, &cc);
    if (a->policy_version || a->calendar_version)
        hb_info("applier: running HQ's policy %" PRIu64 " and calendar %" PRIu64, a->policy_version,
                a->calendar_version);
    s_revoke(a);
    *out = a;
    return 0;
}

static void s_fini(applier_t *a) { hb_cal_slice_destroy(&a->slice); }

void applier_close(applier_t **ap) { HB_DESTROY(ap, s_fini); }

static int s_refuse(applier_t *a, bool calendar, uint64_t version, const char *code,
                    const char *why, char *err, size_t errlen)
{
    const char *what = calendar ? "calendar" : "policy";
    a->stats.refused++;
    s_note_refusal(a, calendar, version, code, why);
    snprintf(a->stats.last_refusal, sizeof a->stats.last_refusal, "%s %" PRIu64 ": %.200s", what,
             version, why);
    hb_log_once(what, HB_LOG_ERROR, "applier: %s %" PRIu64 " from HQ refused: %s", what, version,
                why);
    hb_errf(err, errlen, "%s", a->stats.last_refusal);
    return HB_EINVAL;
}

int applier_on_document(applier_t *a, bool calendar, uint64_t version, const uint8_t *doc,
                        size_t len, char *err, size_t errlen)
{
    const char *what = calendar ? "calendar" : "policy";
    uint64_t current = calendar ? a->calendar_version : a->policy_version;
    if (version <= current) {
        a->stats.stale++;
        /* A resend of the version in force is no news; an older one means
         * HQ thinks the hall runs less than it does, which HQ should see. */
        if (version < current) {
            char why[96];
            snprintf(why, sizeof why,
                     "version %" PRIu64 " is older than the %s in force (%" PRIu64 ")", version,
                     what, current);
            s_note_refusal(a, calendar, version, CODE_OLDER_VERSION, why);
        }
        return 0;
    }
    char why[256];
    hb_policy_t *p = NULL;
    hb_cal_slice_t *slice = NULL;
    const char *code = "";
    int rc = calendar ? s_read_slice(a, doc, len, version, &slice, &code, why, sizeof why)
                      : s_read_policy(doc, len, &p, &code, why, sizeof why);
    if (rc == HB_EINVAL)
        return s_refuse(a, calendar, version, code, why, err, errlen);
    if (rc != 0) {
        hb_errf(err, errlen, "%s %" PRIu64 ": %s", what, version, hb_strerror(rc));
        return rc;
    }
    uint8_t *rec_data = malloc(8 + len);
    if (!rec_data) {
        hb_policy_free(&p);
        hb_cal_slice_destroy(&slice);
        return HB_ENOMEM;
    }
    hb_put_be64(rec_data, version);
    memcpy(rec_data + 8, doc, len);
    outbox_record_t rec = {calendar ? CALENDAR_KEY : POLICY_KEY, rec_data, 8 + len};
    rc = engine_record_applied(a->engine, calendar, version, &rec, err, errlen);
    free(rec_data);
    if (rc != 0) {
        hb_policy_free(&p);
        hb_cal_slice_destroy(&slice);
        return rc;
    }
    /* A newer version in force: whatever was refused before is past. */
    a->refusal[calendar].version = 0;
    a->refusal[calendar].code = "";
    a->refusal[calendar].reason[0] = '\0';
    if (calendar) {
        hb_cal_slice_destroy(&a->slice);
        a->slice = slice;
        a->calendar_version = version;
        a->stats.calendars_applied++;
    } else {
        engine_set_policy(a->engine, p);
        a->policy_version = version;
        a->stats.policies_applied++;
        s_revoke(a);
    }
    hb_info("applier: %s version %" PRIu64 " applied", what, version);
    return 0;
}

uint64_t applier_policy_version(const applier_t *a) { return a->policy_version; }
uint64_t applier_calendar_version(const applier_t *a) { return a->calendar_version; }
const hb_cal_slice_t *applier_calendar(const applier_t *a) { return a->slice; }
void applier_get_stats(const applier_t *a, applier_stats_t *out) { *out = a->stats; }
void applier_refusal(const applier_t *a, bool calendar, applier_refusal_t *out)
{
    *out = a->refusal[calendar];
    if (!out->code)
        out->code = "";
}
