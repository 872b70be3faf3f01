/* Unit tests of hqd/notify/words.c and formats.c: durations and alert
 * lines in Chinese and English written out by hand, cut at a character
 * when the room is short; the Alertmanager payload's shape and strings;
 * the robots' markdown; an e-mail whose encoded subject and base64 body
 * decode (with libsodium, independently of the writer) to the texts, with
 * every header line ASCII and at most 78 octets; a header injection
 * refused. */
#include "formats.h"
#include "words.h"

#include "hallbus/error.h"
#include "hallbus/text.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "runner.h"
#include "world.h"

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_durations)
{
    static const struct {
        int64_t s;
        const char *zh, *en;
    } rows[] = {
        {0, "0 秒", "0 s"},
        {45, "45 秒", "45 s"},
        {60, "1 分钟", "1 min"},
        {1200, "20 分钟", "20 min"},
        {8100, "2 小时 15 分钟", "2 h 15 min"},
        {7200, "2 小时", "2 h"},
        {7245, "2 小时", "2 h"},
        {273600, "3 天 4 小时", "3 d 4 h"},
        {-90, "1 分钟 30 秒", "1 min 30 s"},
        {INT64_MIN, "106751991167300 天 15 小时", "106751991167300 d 15 h"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[64];
        notify_duration(rows[i].s, NOTIFY_ZH, out, sizeof out);
        assert_string_equal(out, rows[i].zh);
        notify_duration(rows[i].s, NOTIFY_EN, out, sizeof out);
        assert_string_equal(out, rows[i].en);
    }
}

static alert_t s_alert(int kind, const char *subject, int64_t value, int64_t threshold)
{
    alert_t a;
    memset(&a, 0, sizeof a);
    a.kind = kind;
    snprintf(a.subject, sizeof a.subject, "%s", subject);
    snprintf(a.detail, sizeof a.detail, "detail of %s", subject);
    a.value = value;
    a.threshold = threshold;
    return a;
}

HBT_TEST(test_words)
{
    static const struct {
        int kind;
        const char *subject;
        int64_t v, t;
        const char *zh, *en;
    } rows[] = {
        {ALERT_WAIT_SLA, "A:vip", 1500, 1200, "等候超过 20 分钟（A 业务，贵宾）",
         "waiting over 20 min (service A, VIP)"},
        {ALERT_WAIT_SLA, "B:elderly", 900, 600,
         "等候超过 10 分钟（B 业务，优先（老年人 / 残障人士））",
         "waiting over 10 min (service B, priority (elderly / disabled))"},
        /* A priority of a newer hall: shown as its code. */
        {ALERT_WAIT_SLA, "C:gold", 61, 60, "等候超过 1 分钟（C 业务，gold）",
         "waiting over 1 min (service C, gold)"},
        {ALERT_HALL_OFFLINE, "", 8100, 120, "营业时间内离线 2 小时 15 分钟（宽限 2 分钟）",
         "offline for 2 h 15 min in opening hours (grace 2 min)"},
        {ALERT_DIVERSION, "B", 31, 30, "B 业务 31 人等候（超过 30 人建议分流）",
         "31 waiting for service B (diversion above 30)"},
        {ALERT_DEVICE_FAULT, "kiosk-1", 3600, 1800, "设备 kiosk-1 故障 1 小时",
         "device kiosk-1 not working for 1 h"},
        {ALERT_COMPLAINT_ACK_OVERDUE, "K7", 600, 3600, "投诉 K7 超时未受理 10 分钟",
         "complaint K7 not acknowledged, 10 min overdue"},
        {ALERT_STREAM_CONFLICT, "", 42, 0, "事件 42 重发内容不一致",
         "event 42 was resent with other bytes"},
        /* Counts: English says one event, and several; Chinese has one form. */
        {ALERT_EVENT_ANOMALY, "", 1, 0, "1 个事件被标记异常", "1 event stored with a flag"},
        {ALERT_EVENT_ANOMALY, "", 3, 0, "3 个事件被标记异常", "3 events stored with a flag"},
        {ALERT_HALL_DISK_FULL, "", 1, 0, "营业厅存储已满，已拒收 1 个事件",
         "the hall's disk is full: 1 event refused"},
        {ALERT_HALL_DISK_FULL, "", 0, 0, "营业厅存储已满，已拒收 0 个事件",
         "the hall's disk is full: 0 events refused"},
        {ALERT_DISK_NEARLY_FULL, "disk", 7, 10, "disk 仅剩 7% 空间（低于 10% 告警）",
         "disk: 7% free (alert below 10%)"},
        /* The document in words; the hall's refusal code in words, its
         * own text as the detail. */
        {ALERT_DOCUMENT_REFUSED, "policy/unknown_timezone:zone A/B", 3, 0,
         "营业厅拒收政策（版本 3）：网点系统缺少文件指定的时区（需更新网点的时区数据）"
         "（详情：zone A/B）",
         "the hall refused the policy version 3: the hall's system lacks the time zone the "
         "document names (its time-zone data needs updating) (detail: zone A/B)"},
        {ALERT_DOCUMENT_REFUSED, "calendar/older_version:", 9, 0,
         "营业厅拒收活动日历（版本 9）：该版本比网点正在执行的版本旧",
         "the hall refused the campaign calendar version 9: the version is older than the one "
         "the hall runs"},
        /* An older hall (no code), a newer one (a code without words, a
         * document this build does not know): the hall's text as it is. */
        {ALERT_DOCUMENT_REFUSED, "calendar:x: y", 4, 0, "营业厅拒收活动日历（版本 4）：x: y",
         "the hall refused the campaign calendar version 4: x: y"},
        {ALERT_DOCUMENT_REFUSED, "policy/gold_plated:too shiny", 5, 0,
         "营业厅拒收政策（版本 5）：too shiny", "the hall refused the policy version 5: too shiny"},
        {ALERT_DOCUMENT_REFUSED, "rules:r", 6, 0, "营业厅拒收rules（版本 6）：r",
         "the hall refused rules version 6: r"},
        {99, "", 5, 6, "告警（数值 5，阈值 6）", "alert (value 5, threshold 6)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        alert_t a = s_alert(rows[i].kind, rows[i].subject, rows[i].v, rows[i].t);
        char out[256];
        notify_words(&a, NOTIFY_ZH, out, sizeof out);
        assert_string_equal(out, rows[i].zh);
        notify_words(&a, NOTIFY_EN, out, sizeof out);
        assert_string_equal(out, rows[i].en);
    }
    /* A refusal whose reason the subject cut short: the rule's detail
     * holds all of it, and the message says all of it, as the dashboard
     * does (alert_refusal_parts). */
    alert_t r = s_alert(ALERT_DOCUMENT_REFUSED, "policy/unknown_timezone:zone A", 3, 0);
    snprintf(r.detail, sizeof r.detail, "the hall refused policy version 3: zone A/B is unknown");
    char why[512];
    notify_words(&r, NOTIFY_EN, why, sizeof why);
    hbt_assert_contains(why, "(detail: zone A/B is unknown)");
    notify_words(&r, NOTIFY_ZH, why, sizeof why);
    hbt_assert_contains(why, "（详情：zone A/B is unknown）");
    /* Short room: cut before a character, never inside one. */
    alert_t a = s_alert(ALERT_WAIT_SLA, "A:vip", 1500, 1200);
    for (size_t room = 1; room < 40; room++) {
        char out[64];
        memset(out, 'x', sizeof out);
        notify_words(&a, NOTIFY_ZH, out, room);
        assert_true(strlen(out) < room);
        assert_true(hb_utf8_valid_str(out));
    }
    assert_string_equal(notify_kind_title(ALERT_WAIT_SLA, NOTIFY_ZH), "等候超时");
    assert_string_equal(notify_severity_word(ALERT_SEV_CRITICAL, NOTIFY_ZH), "严重");
    assert_string_equal(notify_severity_word(7, NOTIFY_EN), "unknown");
}

/* The text of `"editors.ro.why.CODE": "…"` in one of the dashboard's
 * catalogues (`file`, under hqd/dashboard/i18n/), NULL when it has none;
 * every such key of the file in `keys` (comma-separated) when not NULL. */
static char *s_catalogue_why(const char *file, const char *code, char *keys, size_t keyslen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/hqd/dashboard/i18n/%s", HB_SOURCE_DIR, file);
    static char text[1 << 17];
    hbt_read_file(path, text, sizeof text);
    static const char prefix[] = "\"editors.ro.why.";
    char *found = NULL;
    if (keys)
        keys[0] = '\0';
    for (char *p = strstr(text, prefix); p; p = strstr(p + 1, prefix)) {
        const char *k = p + sizeof prefix - 1;
        size_t kn = strcspn(k, "\"");
        if (keys)
            snprintf(keys + strlen(keys), keyslen - strlen(keys), "%.*s,", (int)kn, k);
        if (!code || strlen(code) != kn || strncmp(k, code, kn) != 0)
            continue;
        const char *v = strchr(k + kn + 1, '"');
        assert_non_null(v);
        size_t vn = strcspn(v + 1, "\"");
        found = strndup(v + 1, vn);
    }
    return found;
}

/* A refusal's words in a message are the dashboard's, code for code, and
 * every code the dashboard words has words here. */
HBT_TEST(test_refusal_words_match_the_dashboard)
{
    static const char *const files[2] = {"editors.zh-CN.js", "editors.en.js"};
    char known[1024] = "";
    size_t n = 0;
    for (const char *code; (code = notify_refusal_code(n)); n++) {
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s,", code);
        for (int l = 0; l < 2; l++) {
            char *want = s_catalogue_why(files[l], code, NULL, 0);
            if (!want)
                fail_msg("%s has no words for the refusal code %s", files[l], code);
            assert_string_equal(notify_refusal_why(code, l ? NOTIFY_EN : NOTIFY_ZH), want);
            free(want);
        }
    }
    assert_true(n >= 8);
    for (int l = 0; l < 2; l++) {
        char keys[1024];
        s_catalogue_why(files[l], NULL, keys, sizeof keys);
        assert_string_equal(keys, known);
    }
    assert_null(notify_refusal_why("gold_plated", NOTIFY_ZH));
}

static notify_alert_t s_notify_alert(void)
{
    notify_alert_t na;
    memset(&na, 0, sizeof na);
    na.rec.id = 42;
    snprintf(na.rec.hall, sizeof na.rec.hall, "H1");
    na.rec.alert = s_alert(ALERT_WAIT_SLA, "A:vip", 1500, 1200);
    assert_int_equal(hb_time_parse("2026-12-06T08:30:00Z", &na.rec.raised_ms), 0);
    na.severity = ALERT_SEV_WARNING;
    na.level = 1;
    snprintf(na.hall_name, sizeof na.hall_name, "人民广场营业厅");
    snprintf(na.city, sizeof na.city, "SH");
    snprintf(na.province, sizeof na.province, "P1");
    return na;
}

HBT_TEST(test_alertmanager)
{
    notify_alert_t na = s_notify_alert();
    json_t *o = notify_alertmanager_json(&na, "city-ops", "https://hq.example");
    assert_non_null(o);
    assert_string_equal(hbt_str(o, "version"), "4");
    assert_string_equal(hbt_str(o, "status"), "firing");
    assert_string_equal(hbt_str(o, "receiver"), "city-ops");
    assert_string_equal(hbt_str(o, "externalURL"), "https://hq.example");
    assert_int_equal(json_array_size(json_object_get(o, "alerts")), 1);
    json_t *a = json_array_get(json_object_get(o, "alerts"), 0);
    json_t *labels = json_object_get(a, "labels"), *ann = json_object_get(a, "annotations");
    static const char *const want_labels[][2] = {
        {"alertname", "wait_sla"}, {"hall", "H1"},     {"severity", "warning"},
        {"level", "city"},         {"city", "SH"},     {"province", "P1"},
        {"service", "A"},          {"priority", "vip"}};
    for (size_t i = 0; i < sizeof want_labels / sizeof want_labels[0]; i++)
        assert_string_equal(hbt_str(labels, want_labels[i][0]), want_labels[i][1]);
    /* Every label and annotation is a string (Alertmanager's model). */
    const char *k;
    json_t *v;
    json_object_foreach (labels, k, v)
        assert_true(json_is_string(v));
    json_object_foreach (ann, k, v)
        assert_true(json_is_string(v));
    hbt_assert_strs(ann, "summary", "等候超过 20 分钟（A 业务，贵宾）", "summary_en",
                    "waiting over 20 min (service A, VIP)", "wait_s", "1500", "limit_s", "1200",
                    "alert_id", "42", NULL);
    hbt_assert_strs(a, "startsAt", "2026-12-06T08:30:00.000Z", "endsAt", "0001-01-01T00:00:00Z",
                    "fingerprint", "000000000000002a", "generatorURL",
                    "https://hq.example/?hall=H1#alerts", NULL);
    json_decref(o);
    /* Resolved: the status and the end. */
    na.resolved = true;
    na.rec.cleared_ms = na.rec.raised_ms + 60000;
    o = notify_alertmanager_json(&na, NULL, NULL);
    assert_string_equal(hbt_str(o, "status"), "resolved");
    a = json_array_get(json_object_get(o, "alerts"), 0);
    assert_string_equal(hbt_str(a, "endsAt"), "2026-12-06T08:31:00.000Z");
    json_decref(o);
}

HBT_TEST(test_robots)
{
    notify_alert_t na = s_notify_alert();
    json_t *w = notify_wecom_json(&na, "");
    assert_string_equal(hbt_str(w, "msgtype"), "markdown");
    const char *c = hbt_str(json_object_get(w, "markdown"), "content");
    hbt_assert_contains_all(
        c, "<font color=\"comment\">[警告]</font> 等候超时 / Waiting over the limit",
        "> 营业厅 Hall: **人民广场营业厅** (H1)\n", "> 等候超过 20 分钟（A 业务，贵宾）\n",
        "> 级别 Level: 市级 city / warning · wait_sla\n", NULL);
    assert_true(strstr(c, "[查看 View]") == NULL); /* no external URL, no link */
    assert_true(strlen(c) <= 4096);
    json_decref(w);
    json_t *d = notify_dingtalk_json(&na, "https://hq.example");
    assert_string_equal(hbt_str(d, "msgtype"), "markdown");
    json_t *md = json_object_get(d, "markdown");
    assert_string_equal(hbt_str(md, "title"), "等候超时 人民广场营业厅");
    hbt_assert_contains(hbt_str(md, "text"), "> waiting over 20 min (service A, VIP)\n\n");
    hbt_assert_contains(hbt_str(md, "text"), "[查看 View](https://hq.example/?hall=H1#alerts)");
    assert_true(json_is_false(json_object_get(json_object_get(d, "at"), "isAtAll")));
    json_decref(d);
}

/* Decodes "=?UTF-8?B?...?=" words, folded or not, into `out`. */
static void s_decode_words(const char *hdr, char *out, size_t outlen)
{
    size_t used = 0;
    const char *p = hdr;
    while ((p = strstr(p, "=?UTF-8?B?"))) {
        p += 10;
        const char *e = strstr(p, "?=");
        assert_non_null(e);
        size_t bin_len;
        assert_int_equal(sodium_base642bin((unsigned char *)out + used, outlen - used - 1, p,
                                           (size_t)(e - p), NULL, &bin_len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        used += bin_len;
        p = e + 2;
    }
    out[used] = '\0';
}

HBT_TEST(test_email)
{
    notify_alert_t na = s_notify_alert();
    hb_text_t t = HB_TEXT_INIT(NOTIFY_MAIL_MAX);
    int64_t now;
    assert_int_equal(hb_time_parse("2026-12-06T08:31:02Z", &now), 0);
    assert_int_equal(notify_email(&na, "alerts@hq.example", "a@x.cn,b@y.cn", "alert-42.s.0@hallbus",
                                  now, "", &t),
                     0);
    const char *msg = t.p;
    const char *sep = strstr(msg, "\r\n\r\n");
    assert_non_null(sep);
    /* Headers: ASCII only, lines of at most 78 octets, CRLF. */
    for (const char *p = msg; p < sep;) {
        const char *eol = strstr(p, "\r\n");
        assert_true(eol - p <= 78);
        for (const char *q = p; q < eol; q++)
            assert_true((unsigned char)*q < 0x80);
        p = eol + 2;
    }
    hbt_assert_contains_all(msg, "From: hallbus <alerts@hq.example>\r\n", "To: a@x.cn,b@y.cn\r\n",
                            "Date: Sun, 06 Dec 2026 08:31:02 +0000\r\n",
                            "Message-ID: <alert-42.s.0@hallbus>\r\n",
                            "Content-Type: text/plain; charset=UTF-8\r\n",
                            "Content-Transfer-Encoding: base64\r\n", NULL);
    /* The subject decodes to the text. */
    const char *subj = strstr(msg, "Subject: ");
    const char *subj_end = strstr(subj, "\r\nDate:");
    char hdr[1024], subject[1024];
    snprintf(hdr, sizeof hdr, "%.*s", (int)(subj_end - subj), subj);
    s_decode_words(hdr, subject, sizeof subject);
    assert_string_equal(
        subject, "[警告] 等候超时 · 人民广场营业厅 (H1) / [warning] Waiting over the limit · H1");
    /* The body decodes to both languages. */
    char b64[8192] = "", body[8192];
    size_t used = 0;
    for (const char *p = sep + 4; *p;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        assert_true(eol - p <= 76);
        memcpy(b64 + used, p, (size_t)(eol - p));
        used += (size_t)(eol - p);
        p = eol + 2;
    }
    size_t blen;
    assert_int_equal(sodium_base642bin((unsigned char *)body, sizeof body - 1, b64, used, NULL,
                                       &blen, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    body[blen] = '\0';
    hbt_assert_contains_all(
        body, "等候超过 20 分钟（A 业务，贵宾）\n",
        "营业厅：人民广场营业厅（H1）\n级别：市级，警告\n告警编号：42\n",
        "-- English --\nwaiting over 20 min (service A, VIP)\n",
        "Hall: 人民广场营业厅 (H1)\nLevel: city, warning\nAlert: 42 (wait_sla)\n", NULL);
    hb_text_free(&t);

    /* A header with a line break is refused. */
    hb_text_t bad = HB_TEXT_INIT(NOTIFY_MAIL_MAX);
    assert_int_equal(notify_email(&na, "a@x\r\nBcc: evil@x", "b@y", "m@h", now, "", &bad),
                     HB_EINVAL);
    assert_int_equal(notify_email(&na, "a@x", "b@y\nBcc: evil@x", "m@h", now, "", &bad), HB_EINVAL);
    hb_text_free(&bad);

    /* Encoded words never split a character, and every word is at most 75
     * octets. */
    hb_text_t w = HB_TEXT_INIT(4096);
    notify_encoded_words(&w, "营营营营营营营营营营营营营营营营营营营营营营营营营营营营营营a");
    for (const char *p = w.p; *p;) {
        size_t n = strcspn(p, "\r");
        const char *word = p[0] == ' ' ? p + 1 : p;
        size_t wl = n - (size_t)(word - p);
        assert_true(wl <= 75);
        char dec[128];
        char one[128];
        snprintf(one, sizeof one, "%.*s", (int)wl, word);
        s_decode_words(one, dec, sizeof dec);
        assert_true(hb_utf8_valid_str(dec));
        p += n;
        if (*p == '\r')
            p += 2;
    }
    char all[512];
    s_decode_words(w.p, all, sizeof all);
    assert_string_equal(all, "营营营营营营营营营营营营营营营营营营营营营营营营营营营营营营a");
    hb_text_free(&w);
}
