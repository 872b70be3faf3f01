/* The messages an alert goes out as (see formats.h). Every text people read
 * comes from words.c (Chinese, then English); the Alertmanager payload
 * carries the alert's parameters as labels and annotations so that routing
 * rules of an existing stack can match on them. */
#include "formats.h"

#include "words.h"

#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_TEXT 512

const char *notify_level_name(int level)
{
    static const char *const names[] = {"hall", "city", "province", "network"};
    return level >= 0 && level <= 3 ? names[level] : "hall";
}

static const char *s_level_word_zh(int level)
{
    static const char *const names[] = {"营业厅", "市级", "省级", "全国"};
    return level >= 0 && level <= 3 ? names[level] : names[0];
}

static json_t *s_time(int64_t ms)
{
    char t[HB_RFC3339_MAX];
    hb_time_format(ms, t);
    return json_string(t);
}

/* A parameter's value as label text. */
static json_t *s_as_string(json_t *v)
{
    if (json_is_string(v))
        return json_string(json_string_value(v));
    char n[32];
    snprintf(n, sizeof n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return json_string(n);
}

static void s_alert_link(const notify_alert_t *a, const char *external_url, char *out, size_t n)
{
    if (external_url && external_url[0])
        snprintf(out, n, "%s/?hall=%s#alerts", external_url, a->rec.hall);
    else
        out[0] = '\0';
}

json_t *notify_alertmanager_json(const notify_alert_t *a, const char *receiver,
                                 const char *external_url)
{
    const alert_t *al = &a->rec.alert;
    char zh[LINE_MAX_TEXT], en[LINE_MAX_TEXT], link[1200], fp[20], gk[256];
    notify_words(al, NOTIFY_ZH, zh, sizeof zh);
    notify_words(al, NOTIFY_EN, en, sizeof en);
    s_alert_link(a, external_url, link, sizeof link);
    snprintf(fp, sizeof fp, "%016" PRIx64, a->rec.id);
    json_t *labels = json_pack("{s:s, s:s, s:s, s:s}", "alertname", alert_kind_name(al->kind),
                               "hall", a->rec.hall, "severity", alert_severity_name(a->severity),
                               "level", notify_level_name(a->level));
    json_t *ann = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "summary", zh, "summary_en", en,
                            "description", al->detail, "value", (json_int_t)al->value, "threshold",
                            (json_int_t)al->threshold, "alert_id", fp);
    json_t *params = alert_params_json(al);
    if (!labels || !ann || !params)
        goto nomem;
    /* Labels and annotations are strings in Alertmanager's model. */
    json_object_set_new(ann, "value", s_as_string(json_object_get(ann, "value")));
    json_object_set_new(ann, "threshold", s_as_string(json_object_get(ann, "threshold")));
    snprintf(fp, sizeof fp, "%" PRIu64, a->rec.id);
    json_object_set_new(ann, "alert_id", json_string(fp));
    if (a->hall_name[0])
        json_object_set_new(ann, "hall_name", json_string(a->hall_name));
    if (a->city[0])
        json_object_set_new(labels, "city", json_string(a->city));
    if (a->province[0])
        json_object_set_new(labels, "province", json_string(a->province));
    const char *key;
    json_t *v;
    json_object_foreach (params, key, v) {
        if (json_is_string(v))
            json_object_set_new(labels, key, json_string(json_string_value(v)));
        else
            json_object_set_new(ann, key, s_as_string(v));
    }
    json_decref(params);
    params = NULL;
    snprintf(fp, sizeof fp, "%016" PRIx64, a->rec.id);
    snprintf(gk, sizeof gk, "{}:{alertname=\"%s\", hall=\"%s\"}", alert_kind_name(al->kind),
             a->rec.hall);
    const char *status = a->resolved ? "resolved" : "firing";
    json_t *one =
        json_pack("{s:s, s:O, s:O, s:o, s:o, s:s, s:s}", "status", status, "labels", labels,
                  "annotations", ann, "startsAt", s_time(a->rec.raised_ms), "endsAt",
                  a->resolved && a->rec.cleared_ms ? s_time(a->rec.cleared_ms)
                                                   : json_string("0001-01-01T00:00:00Z"),
                  "generatorURL", link, "fingerprint", fp);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:O, s:{}, s:s, s:i, s:[o]}", "version", "4",
                  "groupKey", gk, "status", status, "receiver", receiver ? receiver : "hallbus",
                  "groupLabels", "alertname", alert_kind_name(al->kind), "hall", a->rec.hall,
                  "commonLabels", labels, "commonAnnotations", "externalURL",
                  external_url ? external_url : "", "truncatedAlerts", 0, "alerts", one);
    json_decref(labels);
    json_decref(ann);
    return o;
nomem:
    json_decref(labels);
    json_decref(ann);
    json_decref(params);
    return NULL;
}

/* The lines a chat message shows, in markdown both robots read: a title,
 * then the hall, the alert in Chinese and in English, the level it reached
 * and when it began. */
static void s_markdown(const notify_alert_t *a, const char *external_url, bool wecom, hb_text_t *t)
{
    const alert_t *al = &a->rec.alert;
    char zh[LINE_MAX_TEXT], en[LINE_MAX_TEXT], when[HB_RFC3339_MAX], link[1200];
    notify_words(al, NOTIFY_ZH, zh, sizeof zh);
    notify_words(al, NOTIFY_EN, en, sizeof en);
    hb_time_format(a->rec.raised_ms, when);
    s_alert_link(a, external_url, link, sizeof link);
    const char *sev_zh = notify_severity_word(a->severity, NOTIFY_ZH);
    const char *sev_en = notify_severity_word(a->severity, NOTIFY_EN);
    if (wecom)
        /* WeCom colours three ways: warning (orange-red), info (green), comment (grey). */
        hb_text_putf(t, "### %s<font color=\"%s\">[%s]</font> %s / %s\n",
                     a->resolved ? "已恢复 Resolved: " : "",
                     a->severity >= ALERT_SEV_CRITICAL ? "warning" : "comment", sev_zh,
                     notify_kind_title(al->kind, NOTIFY_ZH),
                     notify_kind_title(al->kind, NOTIFY_EN));
    else
        hb_text_putf(t, "### %s[%s] %s / %s\n\n", a->resolved ? "已恢复 Resolved: " : "", sev_zh,
                     notify_kind_title(al->kind, NOTIFY_ZH),
                     notify_kind_title(al->kind, NOTIFY_EN));
    const char *sep = wecom ? "\n" : "\n\n";
    hb_text_putf(t, "> 营业厅 Hall: **%s**%s%s%s%s", a->hall_name[0] ? a->hall_name : a->rec.hall,
                 a->hall_name[0] ? " (" : "", a->hall_name[0] ? a->rec.hall : "",
                 a->hall_name[0] ? ")" : "", sep);
    hb_text_putf(t, "> %s%s", zh, sep);
    hb_text_putf(t, "> %s%s", en, sep);
    hb_text_putf(t, "> 级别 Level: %s %s / %s · %s%s", s_level_word_zh(a->level),
                 notify_level_name(a->level), sev_en, alert_kind_name(al->kind), sep);
    hb_text_putf(t, "> 开始 Since: %s%s", when, sep);
    if (link[0])
        hb_text_putf(t, "[查看 View](%s)%s", link, sep);
}

json_t *notify_wecom_json(const notify_alert_t *a, const char *external_url)
{
    hb_text_t t = HB_TEXT_INIT(4000); /* WeCom takes 4,096 bytes of markdown */
    s_markdown(a, external_url, true, &t);
    json_t *o =
        t.p ? json_pack("{s:s, s:{s:s}}", "msgtype", "markdown", "markdown", "content", t.p) : NULL;
    hb_text_free(&t);
    return o;
}

json_t *notify_dingtalk_json(const notify_alert_t *a, const char *external_url)
{
    hb_text_t t = HB_TEXT_INIT(8000);
    s_markdown(a, external_url, false, &t);
    char title[256];
    snprintf(title, sizeof title, "%s%s %s", a->resolved ? "已恢复 " : "",
             notify_kind_title(a->rec.alert.kind, NOTIFY_ZH),
             a->hall_name[0] ? a->hall_name : a->rec.hall);
    title[hb_utf8_cut(title, strlen(title), sizeof title - 1)] = '\0';
    json_t *o =
        t.p ? json_pack("{s:s, s:{s:s, s:s}, s:{s:[], s:b}}", "msgtype", "markdown", "markdown",
                        "title", title, "text", t.p, "at", "atMobiles", "isAtAll", 0)
            : NULL;
    hb_text_free(&t);
    return o;
}

void notify_subject(const notify_alert_t *a, char *out, size_t outlen)
{
    const alert_t *al = &a->rec.alert;
    char zh_hall[ORG_NAME_MAX + HB_HALL_ID_MAX + 4];
    if (a->hall_name[0])
        snprintf(zh_hall, sizeof zh_hall, "%s (%s)", a->hall_name, a->rec.hall);
    else
        snprintf(zh_hall, sizeof zh_hall, "%s", a->rec.hall);
    snprintf(out, outlen, "%s[%s] %s · %s / %s[%s] %s · %s", a->resolved ? "已恢复 " : "",
             notify_severity_word(a->severity, NOTIFY_ZH), notify_kind_title(al->kind, NOTIFY_ZH),
             zh_hall, a->resolved ? "Resolved " : "", notify_severity_word(a->severity, NOTIFY_EN),
             notify_kind_title(al->kind, NOTIFY_EN), a->rec.hall);
    out[hb_utf8_cut(out, strlen(out), outlen - 1)] = '\0';
}

void notify_encoded_words(hb_text_t *out, const char *text)
{
    /* A word holds 36 bytes of text (48 of base64, 60 octets with
     * "=?UTF-8?B?" and "?="), cut before a character: under RFC 2047's 75,
     * and "Subject: " and the first word stay within RFC 5322's 78. */
    size_t len = strlen(text);
    bool first = true;
    while (len > 0 || first) {
        size_t take = len > 36 ? hb_utf8_cut(text, len, 36) : len;
        if (take == 0 && len > 0)
            take = len > 36 ? 36 : len;
        char b64[80];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)text, take,
                          sodium_base64_VARIANT_ORIGINAL);
        hb_text_putf(out, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", b64);
        text += take;
        len -= take;
        first = false;
    }
}

static bool s_header_safe(const char *s) { return !strpbrk(s, "\r\n"); }

int notify_email(const notify_alert_t *a, const char *from, const char *to, const char *message_id,
                 int64_t now_ms, const char *external_url, hb_text_t *out)
{
    if (!s_header_safe(from) || !s_header_safe(to) || !s_header_safe(message_id))
        return HB_EINVAL;
    const alert_t *al = &a->rec.alert;
    char subject[600], zh[LINE_MAX_TEXT], en[LINE_MAX_TEXT], when[HB_RFC3339_MAX], link[1200];
    notify_subject(a, subject, sizeof subject);
    notify_words(al, NOTIFY_ZH, zh, sizeof zh);
    notify_words(al, NOTIFY_EN, en, sizeof en);
    hb_time_format(a->rec.raised_ms, when);
    s_alert_link(a, external_url, link, sizeof link);

    hb_text_t body = HB_TEXT_INIT(NOTIFY_MAIL_MAX / 2);
    const char *name = a->hall_name[0] ? a->hall_name : a->rec.hall;
    hb_text_putf(&body, "%s%s\n\n", a->resolved ? "告警已恢复。\n" : "", zh);
    hb_text_putf(&body, "营业厅：%s（%s）\n级别：%s，%s\n告警编号：%" PRIu64 "\n开始：%s\n\n", name,
                 a->rec.hall, s_level_word_zh(a->level),
                 notify_severity_word(a->severity, NOTIFY_ZH), a->rec.id, when);
    hb_text_putf(&body, "-- English --\n%s%s\n\n", a->resolved ? "The alert is over.\n" : "", en);
    hb_text_putf(&body, "Hall: %s (%s)\nLevel: %s, %s\nAlert: %" PRIu64 " (%s)\nSince: %s\n", name,
                 a->rec.hall, notify_level_name(a->level),
                 notify_severity_word(a->severity, NOTIFY_EN), a->rec.id, alert_kind_name(al->kind),
                 when);
    hb_text_putf(&body, "Detail: %s\n", al->detail);
    if (link[0])
        hb_text_putf(&body, "\n%s\n", link);
    if (body.full || !body.p) {
        hb_text_free(&body);
        return HB_ETOOBIG;
    }

    /* RFC 5322's date, in UTC. */
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    hb_text_putf(out, "From: hallbus <%s>\r\nTo: %s\r\nSubject: ", from, to);
    notify_encoded_words(out, subject);
    hb_text_putf(out,
                 "\r\nDate: %s, %02d %s %04d %02d:%02d:%02d +0000\r\nMessage-ID: <%s>\r\n"
                 "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                 "Content-Transfer-Encoding: base64\r\nX-Hallbus-Alert: %" PRIu64 "\r\n\r\n",
                 wd[tm.tm_wday % 7], tm.tm_mday % 100, mo[tm.tm_mon % 12],
                 (tm.tm_year + 1900) % 10000, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100,
                 message_id, a->rec.id);
    /* Base64 in lines of 76 (RFC 2045): 57 bytes each. */
    for (size_t off = 0; off < body.len; off += 57) {
        size_t n = body.len - off < 57 ? body.len - off : 57;
        char b64[80];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)body.p + off, n,
                          sodium_base64_VARIANT_ORIGINAL);
        hb_text_putf(out, "%s\r\n", b64);
    }
    hb_text_free(&body);
    return out->full ? HB_ETOOBIG : 0;
}
