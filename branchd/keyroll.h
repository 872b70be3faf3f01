/* The hall rotates its own key before its certificate expires, with nobody
 * touching it (docs/OPERATIONS.md, "Automatic rotation"): when the
 * certificate is within rotate_before of its not-after, branchd makes the
 * next pair (hall.next.key), sends a rotation request proved by the current
 * and the new secret to HQ over the link the current key authenticated,
 * installs the certificate HQ answers with, and reconnects with the new
 * key; HQ keeps both keys valid during the overlap, so events keep flowing
 * (the outbox resends what was not acknowledged; HQ keeps each once).
 * A request HQ refuses or does not answer is asked again after a jittered
 * wait that doubles up to an hour; either is logged and shown in
 * GET /v1/status ("rotation"). Not here: the files of the key folder
 * (hallbus/keyfolder.h), the link (uplink.h), HQ's decision
 * (hqd/api/enrol.c). Runs on branchd's loop thread. */
#ifndef BRANCHD_KEYROLL_H
#define BRANCHD_KEYROLL_H

#include "uplink.h"

#include "hallbus/cert.h"

#include <jansson.h>
#include <stdint.h>

typedef struct keyroll keyroll_t;

typedef struct keyroll_config {
    const char *keys;          /* the key folder (hall.key, hq.key) */
    int64_t rotate_before_ms;  /* rotate this long before not-after; 0: never by itself */
    int64_t retry_ms;          /* first wait after a refusal or no answer (doubles) */
    int64_t answer_timeout_ms; /* no answer this long after sending: ask again later */
    /* The new pair and its certificate are in `keys`: take them up (main.c
     * reloads the keys and the uplink reconnects with them). */
    void (*installed)(void *arg);
    void *arg;
} keyroll_config_t;

int keyroll_new(const keyroll_config_t *cfg, keyroll_t **out);
void keyroll_destroy(keyroll_t **k);
/* Every second: `cert` is the hall's pair in use. Sends a request when
 * one is due and none is waiting for its answer. */
void keyroll_tick(keyroll_t *k, const hb_cert_t *cert, uplink_t *up);
/* HQ's answer (uplink's on_rotate_answer). */
void keyroll_on_answer(keyroll_t *k, const Hallbus__RotateAnswer *answer);
/* {"automatic", "rotate_before_s", "state", "reason", "since", "due_at",
 * "next_try_in_ms", "requests", "refusals", "unanswered", "rotations",
 * "last_rotated", "certificate": {"serial", "not_before", "not_after",
 * "expires_in_s"} or null}: states "off", "unsigned" (an older certificate
 * with no expiry), "scheduled", "waiting" (due; the link is down or HQ
 * does not offer rotation), "requested", "refused", "unanswered",
 * "expired". New reference. */
json_t *keyroll_status_json(const keyroll_t *k, const hb_cert_t *cert);

#endif
