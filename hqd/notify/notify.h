/* Alerts that reach people: subscriptions say who is told of which alerts
 * (a role over a scope: the network, a region, a hall; alert kinds, a
 * minimum severity and age; channels with their addresses), escalation
 * takes an alert nobody acknowledged up a level (hall, city, province,
 * network) every `escalate_after`, acknowledgements and silences stop it,
 * and a sender thread of its own delivers, retrying with exponential
 * backoff and recording every attempt, so that a dead webhook slows nothing
 * on the loop and nothing on the ingest path.
 *
 * Threads: every call here is the loop thread's (the alert rounds, the HTTP
 * API, the housekeeping tick), except that the sender thread runs inside.
 * The loop only decides and queues (a bounded queue; a full one is tried
 * again next tick); the sender threads (a few, so that one webhook that
 * hangs holds one of them for an attempt's timeout, not every delivery)
 * format (formats.h), sends (libcurl: HTTP
 * for webhooks and robots, SMTP for e-mail) and writes the attempts.
 *
 * Storage: an LMDB environment of its own (data/notify):
 *   subs:       subscription id -> its document (JSON)
 *   silences:   id (BE u64) -> document
 *   acks:       alert id (BE u64) -> {"by", "note", "at"}
 *   done:       alert id (BE u64) + subscription number (BE u32) + channel (u8)
 *               -> the final outcome: a delivery made or given up, never repeated
 *   deliveries: sequence (BE u64) -> an attempt (JSON), the newest `deliveries_max` kept
 *   meta:       "next_sub", "next_silence", "next_delivery" -> BE u64
 * Roles name no person here: a channel's address is on the subscription;
 * access control (roles and people) connects to it by role and scope. */
#ifndef HQD_NOTIFY_H
#define HQD_NOTIFY_H

#include "alertstore.h"
#include "control.h"
#include "formats.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_SUBS_MAX 1000
#define NOTIFY_CHANNELS_MAX 8
#define NOTIFY_SILENCES_MAX 10000
#define NOTIFY_ID_MAX 65 /* [A-Za-z0-9_-]{1,64} and its NUL */
#define NOTIFY_URL_MAX 1024
#define NOTIFY_TO_MAX 1024    /* e-mail addresses, comma-separated */
#define NOTIFY_TEXT_MAX 512   /* a reason, a note */
#define NOTIFY_PAGE_MAX 1000  /* delivery attempts in one answer */
#define NOTIFY_SENDERS_MAX 16 /* sender threads */

typedef struct hq_notify hq_notify_t;

typedef struct hq_notify_config {
    const char *dir;           /* the LMDB folder */
    int64_t escalate_after_ms; /* unacknowledged this long: a level up; 0 never */
    size_t queue_max;          /* deliveries waiting or retrying in the sender, at most */
    int senders;               /* sender threads (1..NOTIFY_SENDERS_MAX): attempts at once */
    int attempts_max;          /* tries of one delivery before it is given up */
    int64_t retry_first_ms;    /* the wait after the first failure; doubles each time */
    int64_t retry_max_ms;      /* ... up to this */
    int64_t timeout_ms;        /* one attempt, connect to last byte */
    uint64_t deliveries_max;   /* attempts kept */
    const char *smtp_url;      /* "smtp://host:port"; NULL or "": e-mail channels refused */
    const char *smtp_from;     /* the envelope and From address */
    const char *external_url;  /* the dashboard's address for links; may be "" */
} hq_notify_config_t;

/* Opens the store in cfg->dir, loads subscriptions, silences and what was
 * done, takes the open alerts of `alerts` as the alerts it follows, and
 * starts the sender thread. HB_EDB, HB_EIO, HB_ENOMEM with `err`. */
int hq_notify_new(const hq_notify_config_t *cfg, hq_control_t *ctl, alertstore_t *alerts,
                  hq_notify_t **out, char *err, size_t errlen);
/* Stops the sender (an attempt under way is aborted), closes; idempotent. */
void hq_notify_destroy(hq_notify_t **n);

/* A committed raise or clear (alerting.c's feed), with the alert's severity
 * as alerting knows it. Cheap: it only updates what the next tick reads. */
void hq_notify_on_change(hq_notify_t *n, const alert_change_t *change, int severity);
/* The decisions: which alert goes to which subscription's channels now
 * (age, escalation level, silences, acknowledgements), queued for the
 * sender. Every second from hqd's housekeeping. */
void hq_notify_tick(hq_notify_t *n, int64_t now_ms);

/* ---- subscriptions (the API; the loop thread)
 *
 * {"id": "gz-ops", "role": "operator", "scope": "network" | "region/GZ" |
 *  "hall/H001", "kinds": ["*"] | ["hall_offline", ...], "min_severity":
 *  "info" | "warning" | "critical", "min_age_s": 0, "escalated": false,
 *  "channels": [{"type": "alertmanager" | "wecom" | "dingtalk", "url":
 *  "http(s)://..."}, {"type": "email", "to": ["a@example.com"]},
 *  {"type": "hall_page"}], "note": "..."}
 * Refusals are HB_EINVAL with `err` naming the member; a scope the
 * organisation does not hold is HB_ENOTFOUND. */
int hq_notify_sub_put(hq_notify_t *n, const char *id, const json_t *doc, bool create, json_t **out,
                      char *err, size_t errlen);
int hq_notify_sub_delete(hq_notify_t *n, const char *id);
int hq_notify_sub_get(hq_notify_t *n, const char *id, json_t **out);
json_t *hq_notify_subs_json(hq_notify_t *n);

/* ---- acknowledgement and silences */

/* Someone has the alert: it escalates no further (subscriptions that get
 * only what escalated above the level it reached are not told; the others
 * still are).
 * HB_ENOTFOUND for an unknown alert, HB_ECONFLICT for one cleared or
 * acknowledged already. */
int hq_notify_ack(hq_notify_t *n, uint64_t alert_id, const char *by, const char *note, json_t **out,
                  char *err, size_t errlen);
/* {"scope", "kinds", "alert" (0: any), "until" (RFC 3339, in the future),
 *  "reason" (required), "by"}: matching alerts go to nobody until then. */
int hq_notify_silence_add(hq_notify_t *n, const json_t *doc, const char *by, json_t **out,
                          char *err, size_t errlen);
/* A silence of one alert (its hall, its kind, its id). */
int hq_notify_silence_alert(hq_notify_t *n, uint64_t alert_id, const json_t *doc, const char *by,
                            json_t **out, char *err, size_t errlen);
int hq_notify_silence_delete(hq_notify_t *n, uint64_t id);
/* The scope of silence `id` ("network", "region/ID", "hall/ID") into
 * `out`: 0 or HB_ENOTFOUND. */
int hq_notify_silence_scope(hq_notify_t *n, uint64_t id, char *out, size_t outlen);
/* The silences not yet ended. */
json_t *hq_notify_silences_json(hq_notify_t *n);
/* The alert's acknowledgement, or NULL. */
json_t *hq_notify_ack_json(hq_notify_t *n, uint64_t alert_id);

/* ---- what was sent */

/* {"deliveries": [newest first, at most `limit`], "next_before": seq|null},
 * of one alert (`alert_id` != 0) or all, before `before` (0: the newest). */
int hq_notify_deliveries_json(hq_notify_t *n, uint64_t alert_id, uint64_t before, size_t limit,
                              json_t **out);

typedef struct hq_notify_stats {
    uint64_t queued, sent, failed_attempts, given_up, queue_full, silenced;
    size_t queue, subs, silences, followed;
} hq_notify_stats_t;
void hq_notify_get_stats(hq_notify_t *n, hq_notify_stats_t *out);

/* Where a hall's notices go when they change (hqd sends them down the
 * hall's link as a HallNotices frame): `fn` gets the hall and
 * hq_notify_hall_notices' answer, on the loop thread, from the tick. */
typedef void (*hq_notify_notices_fn)(const char *hall, const json_t *notices, void *arg);
void hq_notify_set_notices_sink(hq_notify_t *n, hq_notify_notices_fn fn, void *arg);
/* The hall said Hello: its notices go down again at the next tick (an
 * empty set too, so that what cleared while it was away goes). */
void hq_notify_hall_hello(hq_notify_t *n, const char *hall);

/* The notices the hall's manager page shows (the hall_page channel):
 * {"notices": [{"alert", "kind", "params", "severity", "level", "text_zh",
 * "text_en", "raised"}]}, the hall's open alerts delivered to it. */
json_t *hq_notify_hall_notices(hq_notify_t *n, const char *hall);

#endif
