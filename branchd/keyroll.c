/* Automatic key rotation (see keyroll.h). The request is made by the same
 * code as `branchd rotate` (hb_keys_rotation_request), so a rotation begun
 * by hand and finished here, or the other way round, uses one next pair;
 * the answer is installed by the same code as `hallctl enroll install`. */
#include "keyroll.h"

#include "hallbus/enrol.h"
#include "hallbus/error.h"
#include "hallbus/json.h"
#include "hallbus/keyfolder.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYROLL_RETRY_CAP_MS 3600000 /* the doubling wait stops growing here */
#define KEYROLL_REASON_MAX 512

struct keyroll {
    keyroll_config_t cfg;
    char keys[4096];
    const char *state;
    char reason[KEYROLL_REASON_MAX];
    int64_t since_ms; /* wall clock: since when in this state */
    bool waiting_answer;
    char asked_key[HB_CERT_KEY_Z85]; /* the new key of the request in flight */
    int64_t answer_by_ms;            /* monotonic: no answer by then is "unanswered" */
    int64_t next_try_ms;             /* monotonic: do not ask before */
    int64_t wait_ms;                 /* the current doubling wait */
    bool short_life_logged;
    uint64_t requests, refusals, unanswered, rotations;
    int64_t last_rotated_ms;
};

/* Enters `state`; the reason is logged when the state or reason changed. */
static void s_set(keyroll_t *k, const char *state, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_set(keyroll_t *k, const char *state, int level, const char *fmt, ...)
{
    char reason[KEYROLL_REASON_MAX] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
    }
    bool same = k->state && strcmp(k->state, state) == 0 && strcmp(k->reason, reason) == 0;
    if (same)
        return;
    if (!k->state || strcmp(k->state, state) != 0)
        k->since_ms = hb_now_ms();
    k->state = state;
    snprintf(k->reason, sizeof k->reason, "%s", reason);
    if (reason[0] && level >= 0)
        hb_log((enum hb_log_level)level, "keyroll: %s: %s", state, reason);
}

int keyroll_new(const keyroll_config_t *cfg, keyroll_t **out)
{
    keyroll_t *k = calloc(1, sizeof *k);
    if (!k)
        return HB_ENOMEM;
    k->cfg = *cfg;
    snprintf(k->keys, sizeof k->keys, "%s", cfg->keys);
    k->cfg.keys = k->keys;
    k->wait_ms = cfg->retry_ms;
    k->state = cfg->rotate_before_ms > 0 ? "scheduled" : "off";
    k->since_ms = hb_now_ms();
    *out = k;
    return 0;
}

void keyroll_destroy(keyroll_t **kp)
{
    free(*kp);
    *kp = NULL;
}

/* The certificate's validity (false: an older certificate with none). */
static bool s_validity(const hb_cert_t *cert, int64_t *nb, int64_t *na)
{
    const char *b = hb_cert_meta(cert, "not-before"), *a = hb_cert_meta(cert, "not-after");
    return a && b && hb_time_parse(b, nb) == 0 && hb_time_parse(a, na) == 0 && *na > *nb;
}

/* When the rotation is due. A rotate_before as long as the certificate's
 * whole life would ask again the moment a rotation is done: the hall then
 * rotates at half its life instead (keyroll_tick says so once). */
static int64_t s_due_at(int64_t before, int64_t nb, int64_t na)
{
    int64_t life = na - nb;
    return before >= life ? na - life / 2 : na - before;
}

static void s_backoff(keyroll_t *k)
{
    k->next_try_ms = hb_mono_ms() + hb_jitter_ms(k->wait_ms);
    int64_t cap = k->cfg.retry_ms > KEYROLL_RETRY_CAP_MS ? k->cfg.retry_ms : KEYROLL_RETRY_CAP_MS;
    k->wait_ms = k->wait_ms > cap / 2 ? cap : k->wait_ms * 2;
}

void keyroll_tick(keyroll_t *k, const hb_cert_t *cert, uplink_t *up)
{
    if (k->cfg.rotate_before_ms <= 0)
        return;
    int64_t nb, na, now = hb_now_ms(), mono = hb_mono_ms();
    if (!s_validity(cert, &nb, &na)) {
        s_set(k, "unsigned", -1,
              "the hall's certificate carries no expiry (an older offline "
              "enrolment): nothing to rotate before");
        return;
    }
    if (now >= na) {
        char when[HB_RFC3339_MAX];
        hb_time_format(na, when);
        s_set(k, "expired", HB_LOG_ERROR,
              "the hall's certificate expired at %s before it could rotate: head office must "
              "enrol the hall again (branchd enroll)",
              when);
        return;
    }
    if (k->waiting_answer) {
        if (mono < k->answer_by_ms)
            return;
        k->waiting_answer = false;
        k->unanswered++;
        s_backoff(k);
        s_set(k, "unanswered", HB_LOG_WARN,
              "HQ did not answer the rotation request within %" PRId64 " s; asking again in "
              "about %" PRId64 " s",
              k->cfg.answer_timeout_ms / 1000, (k->next_try_ms - mono) / 1000);
        return;
    }
    if (k->cfg.rotate_before_ms >= na - nb && !k->short_life_logged) {
        hb_warn("keyroll: rotate_before (%" PRId64 " s) is not shorter than the certificate's "
                "life (%" PRId64 " s): rotating at half its life instead",
                k->cfg.rotate_before_ms / 1000, (na - nb) / 1000);
        k->short_life_logged = true;
    }
    if (now < s_due_at(k->cfg.rotate_before_ms, nb, na)) {
        if (strcmp(k->state, "refused") != 0 && strcmp(k->state, "unanswered") != 0)
            s_set(k, "scheduled", -1, NULL);
        return;
    }
    if (mono < k->next_try_ms)
        return;
    uplink_stats_t st;
    uplink_get_stats(up, &st);
    if (!st.connected) {
        s_set(k, "waiting", HB_LOG_INFO, "the rotation is due; waiting for the link to HQ");
        return;
    }
    if (!st.hq_rotation) {
        s_set(k, "waiting", HB_LOG_WARN,
              "the rotation is due but HQ does not take rotations over the link (an older hqd): "
              "rotate by hand (branchd rotate, hallctl enroll submit) or upgrade HQ");
        return;
    }
    char text[HB_ENROL_REQUEST_MAX], err[512];
    int rc = hb_keys_rotation_request(k->keys, text, sizeof text, k->asked_key, err, sizeof err);
    if (rc != 0) {
        s_backoff(k);
        s_set(k, "failed", HB_LOG_ERROR, "cannot make the rotation request: %s", err);
        return;
    }
    rc = uplink_send_rotation(up, text);
    if (rc != 0) {
        s_backoff(k);
        s_set(k, "unanswered", HB_LOG_WARN, "cannot send the rotation request now (%s)",
              hb_strerror(rc));
        return;
    }
    k->requests++;
    k->waiting_answer = true;
    k->answer_by_ms = mono + k->cfg.answer_timeout_ms;
    s_set(k, "requested", HB_LOG_INFO, "asked HQ for a certificate for the next key %s",
          k->asked_key);
}

void keyroll_on_answer(keyroll_t *k, const Hallbus__RotateAnswer *a)
{
    k->waiting_answer = false;
    if (!a->granted) {
        k->refusals++;
        s_backoff(k);
        s_set(k, "refused", HB_LOG_ERROR,
              "HQ refused the rotation (%s): %s; asking again in about %" PRId64 " s",
              a->code && a->code[0] ? a->code : "refused", a->reason ? a->reason : "",
              (k->next_try_ms - hb_mono_ms()) / 1000);
        return;
    }
    char err[512];
    hb_enrol_cert_info_t info;
    bool rotated = false;
    int rc = hb_keys_install(k->keys, a->certificate, a->hq_key, &info, &rotated, err, sizeof err);
    if (rc == 0 && !rotated) {
        /* HQ's certificate for the pair in use: nothing changes. */
        s_set(k, "scheduled", -1, NULL);
        return;
    }
    if (rc != 0) {
        s_backoff(k);
        s_set(k, "failed", HB_LOG_ERROR, "cannot install HQ's certificate for the new key: %s",
              err);
        return;
    }
    char until[HB_RFC3339_MAX];
    hb_time_format(info.not_after_ms, until);
    hb_info("keyroll: rotated: the new key %s has certificate serial %" PRIu64
            ", valid until %s; reconnecting with it",
            a->public_key ? a->public_key : "", info.serial, until);
    k->rotations++;
    k->last_rotated_ms = hb_now_ms();
    k->wait_ms = k->cfg.retry_ms;
    k->next_try_ms = 0;
    s_set(k, "scheduled", -1, NULL);
    if (k->cfg.installed)
        k->cfg.installed(k->cfg.arg);
}

json_t *keyroll_status_json(const keyroll_t *k, const hb_cert_t *cert)
{
    int64_t nb, na, now = hb_now_ms(), mono = hb_mono_ms();
    bool valid = s_validity(cert, &nb, &na);
    json_t *certj = json_null();
    if (valid) {
        const char *serial = hb_cert_meta(cert, "serial");
        certj = json_pack("{s:I, s:o, s:o, s:I}", "serial",
                          (json_int_t)(serial ? strtoull(serial, NULL, 10) : 0), "not_before",
                          hb_json_time(nb), "not_after", hb_json_time(na), "expires_in_s",
                          (json_int_t)((na - now) / 1000));
    }
    int64_t before = k->cfg.rotate_before_ms, due = 0;
    if (valid && before > 0)
        due = s_due_at(before, nb, na);
    return json_pack("{s:b, s:I, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
                     "automatic", before > 0, "rotate_before_s", (json_int_t)(before / 1000),
                     "state", k->state, "reason",
                     k->reason[0] ? hb_utf8_json_str(k->reason) : json_null(), "since",
                     hb_json_time(k->since_ms), "due_at", hb_json_time(due), "next_try_in_ms",
                     (json_int_t)(k->next_try_ms > mono ? k->next_try_ms - mono : 0), "requests",
                     (json_int_t)k->requests, "refusals", (json_int_t)k->refusals, "unanswered",
                     (json_int_t)k->unanswered, "rotations", (json_int_t)k->rotations,
                     "last_rotated", hb_json_time(k->last_rotated_ms), "certificate", certj);
}
