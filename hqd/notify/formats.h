/* The messages an alert goes out as, one builder per channel: a webhook in
 * Prometheus Alertmanager's JSON (version 4, so an existing alerting stack
 * takes it as if Alertmanager sent it), a WeCom group robot's and a
 * DingTalk custom robot's markdown message, and an e-mail (RFC 5322, UTF-8,
 * subject as RFC 2047 encoded words, body in base64). Chinese first, then
 * English, in every text a person reads.
 *
 * Pure: what an alert says and where it goes in, bytes out. Not here:
 * sending (notify.c), who gets what (subscriptions). */
#ifndef HQD_NOTIFY_FORMATS_H
#define HQD_NOTIFY_FORMATS_H

#include "alertstore.h"
#include "org.h"

#include "hallbus/text.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_MAIL_MAX ((size_t)64 << 10) /* one e-mail, headers and body */

/* An alert as the notifier sends it: the stored record and what the
 * notifier knows besides. */
typedef struct notify_alert {
    alert_record_t rec;
    int severity;                 /* alert_severity_t: the kind's, or a critical complaint's */
    int level;                    /* how far it escalated: 0 hall, 1 city, 2 province, 3 network */
    char hall_name[ORG_NAME_MAX]; /* "" when the organisation has none */
    char city[ORG_REGION_ID_MAX]; /* "" when not placed */
    char province[ORG_REGION_ID_MAX];
    bool resolved; /* the alert cleared: the message says it is over */
} notify_alert_t;

/* "hall", "city", "province", "network". */
const char *notify_level_name(int level);

/* {"version": "4", "groupKey", "status": "firing" | "resolved", "receiver",
 *  "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
 *  "truncatedAlerts": 0, "alerts": [{"status", "labels": {"alertname": kind,
 *  "hall", "severity", "level", "city", "province", and the parameters'
 *  strings: "service", ...}, "annotations": {"summary" (zh), "summary_en",
 *  "description" (the detail), "value", "threshold", and each parameter as
 *  text}, "startsAt", "endsAt", "generatorURL", "fingerprint"}]}. New
 * reference; NULL without memory. */
json_t *notify_alertmanager_json(const notify_alert_t *a, const char *receiver,
                                 const char *external_url);
/* {"msgtype": "markdown", "markdown": {"content": ...}} (WeCom). */
json_t *notify_wecom_json(const notify_alert_t *a, const char *external_url);
/* {"msgtype": "markdown", "markdown": {"title", "text"}, "at": {...}} (DingTalk). */
json_t *notify_dingtalk_json(const notify_alert_t *a, const char *external_url);

/* The subject line, "[严重] 等候超时 · 人民广场营业厅 (H1) / [critical]
 * Waiting over the limit · H1", unencoded UTF-8. */
void notify_subject(const notify_alert_t *a, char *out, size_t outlen);

/* A whole message into `out` (RFC 5322 with CRLF line ends): From, To (the
 * comma-separated `to`), Subject in encoded words, Date at `now_ms`,
 * Message-ID from `message_id` (an id without brackets), MIME-Version,
 * text/plain UTF-8 in base64. HB_ETOOBIG past NOTIFY_MAIL_MAX, HB_EINVAL
 * for a header value with CR or LF. */
int notify_email(const notify_alert_t *a, const char *from, const char *to, const char *message_id,
                 int64_t now_ms, const char *external_url, hb_text_t *out);

/* `text` as RFC 2047 "B" encoded words of UTF-8, each at most 60 octets,
 * never splitting a character, separated by CRLF SP (a folded header). */
void notify_encoded_words(hb_text_t *out, const char *text);

#endif
