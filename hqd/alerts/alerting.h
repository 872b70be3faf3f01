/* HQ's alerting: evaluates every hall about once a second with the alert
 * rules (alerts.h) against its mirrored state, its effective policy and its
 * link, applies the sets to the alert store (raise once, clear once, in one
 * synced commit per step, and only when something changed), and passes
 * every raise and clear on to the change stream and the board. Runs on the
 * loop thread, a slice of the halls per round, in steps of about a
 * millisecond. */
#ifndef HQD_ALERTING_H
#define HQD_ALERTING_H

#include "alerts.h"
#include "alertstore.h"
#include "board.h"
#include "control.h"
#include "downlink.h"
#include "halls.h"
#include "ingest.h"
#include "live.h"
#include "sse.h"

typedef struct hq_alerting hq_alerting_t;

typedef struct hq_alerting_config {
    const char *dir; /* the alert store's folder */
    alerts_params_t params;
    int64_t retention_ms;
    int rounds_per_second;   /* the caller's tick rate: each hall once per second */
    hq_store_t *store;       /* read for the reason of a hall's last flagged event */
    hq_downlink_t *downlink; /* what halls refused (document_refused); may be NULL */
    hq_zap_t *zap;           /* the halls' certificates, for cert_expiring (NULL: none) */
} hq_alerting_config_t;

int hq_alerting_new(const hq_alerting_config_t *cfg, hq_control_t *ctl, hq_halls_t *halls,
                    hq_ingest_t *ing, hq_live_t *live, hq_board_t *board, hq_sse_t *sse,
                    hq_alerting_t **out, char *err, size_t errlen);
void hq_alerting_destroy(hq_alerting_t **a);
/* A round is the next slice of the halls (each hall once a second at
 * `rounds_per_second` rounds), taken in steps of about `budget_ms` each, so
 * that the loop polls (frames, acks, HTTP) between them; each step commits
 * what changed. Starts a round when none is in progress; true while the
 * round has halls left (call again, after a poll). */
bool hq_alerting_step(hq_alerting_t *a, double budget_ms);
/* HQ's own conditions (alerts_eval_room) are kept as the alerts of a hall
 * of their own, with a number and an id no hall has ("(hq)" is not a hall
 * id), so that they are stored, listed, streamed and cleared as any. */
#define HQ_ALERTS_SELF_NUM ALERTSTORE_HALLS_MAX_DEFAULT
#define HQ_ALERTS_SELF_ID "(hq)"
/* Applies `set` as HQ's own alerts (on the loop thread, between rounds). */
void hq_alerting_self(hq_alerting_t *a, const alert_set_t *set);
/* Housekeeping: the history's retention. */
void hq_alerting_prune(hq_alerting_t *a);
alertstore_t *hq_alerting_store(hq_alerting_t *a);
/* Every committed raise and clear also goes to `fn` (hqd's notifier), with
 * the alert's severity: its kind's, or critical for a complaint alert whose
 * complaint the hall marked critical. On the loop thread, after the
 * commit; `fn` must not block. */
typedef void (*hq_alerting_change_fn)(const alert_change_t *change, int severity, void *arg);
void hq_alerting_set_listener(hq_alerting_t *a, hq_alerting_change_fn fn, void *arg);

#endif
