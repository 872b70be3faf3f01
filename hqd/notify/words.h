/* Alerts worded for people, in Chinese and in English, from the alert's
 * kind and parameters (alertstore.h's alert_params_json: the subject's
 * parts, value and threshold) rather than from its English detail: one
 * template per kind and language in a table, durations as "2 h 15 min" /
 * "2 小时 15 分钟", never raw seconds. For the messages the notifier sends
 * (chat robots, e-mail, the hall's page); the dashboard words alerts in the
 * page from the same parameters.
 *
 * Pure: no clock, no allocation. */
#ifndef HQD_NOTIFY_WORDS_H
#define HQD_NOTIFY_WORDS_H

#include "alerts.h"

#include <stddef.h>
#include <stdint.h>

typedef enum notify_lang {
    NOTIFY_ZH = 0, /* zh-CN, first everywhere */
    NOTIFY_EN = 1,
} notify_lang_t;

/* `seconds` as "2 h 15 min", "45 s", "3 d 4 h" (en) or "2 小时 15 分钟",
 * "45 秒", "3 天 4 小时" (zh): the two largest units, the second left out
 * when it is 0. Negative values read as their magnitude. */
void notify_duration(int64_t seconds, notify_lang_t lang, char *out, size_t outlen);

/* The alert as one line ("等候超过 20 分钟 (A 业务, vip)" / "waiting over
 * 20 min (service A, vip)"), cut at a UTF-8 boundary to fit. */
void notify_words(const alert_t *a, notify_lang_t lang, char *out, size_t outlen);

/* A document refusal code's words ("unknown_timezone": "网点系统缺少文件指定
 * 的时区…" / "the hall's system lacks the time zone…"), NULL for a code
 * this build has none for; notify_refusal_code(i) the i-th code known,
 * NULL past the last. */
const char *notify_refusal_why(const char *code, notify_lang_t lang);
const char *notify_refusal_code(size_t i);

/* The kind's short title ("等候超时" / "Waiting over the limit"). */
const char *notify_kind_title(int kind, notify_lang_t lang);

/* The severity's word ("严重" / "critical"). */
const char *notify_severity_word(int severity, notify_lang_t lang);

#endif
