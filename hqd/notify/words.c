/* Alerts worded for people (see words.h). A template is text with
 * placeholders: {v} and {t} the value and threshold as durations, {n} and
 * {m} the same as plain numbers, {0} and {1} the subject's parts, {p} the
 * second part worded as a ticket's priority, {d} and {r} a refused
 * document and why (the hall's refusal code in words, its own text as the
 * detail); one row per kind with both languages, so a kind without a row
 * shows at once in review and a new language is a column. */
#include "words.h"

#include "hallbus/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct kind_words {
    int kind;
    const char *title[2];
    /* The line in Chinese, in English, and in English when the value
     * ({n}) is 1, for a line that counts something ("1 event", not "1
     * events"; NULL: the English line serves every count). Chinese counts
     * with measure words and has one form. */
    const char *line[3];
} kind_words_t;
#define LINE_EN_ONE 2

static const kind_words_t s_words[] = {
    {ALERT_HALL_OFFLINE,
     {"营业厅离线", "Hall offline"},
     {"营业时间内离线 {v}（宽限 {t}）", "offline for {v} in opening hours (grace {t})"}},
    {ALERT_HALL_BLOCKED,
     {"数据被拒收", "Hall's data refused"},
     {"总部拒收该厅数据已 {v}", "head office has refused the hall's data for {v}"}},
    {ALERT_STREAM_CONFLICT,
     {"数据冲突", "Stream conflict"},
     {"事件 {n} 重发内容不一致", "event {n} was resent with other bytes"}},
    {ALERT_CLOCK_SKEW,
     {"时钟偏差", "Clock skew"},
     {"营业厅时钟偏差 {v}（上限 {t}）", "the hall's clock is off by {v} (limit {t})"}},
    {ALERT_EVENT_ANOMALY,
     {"异常事件", "Flagged events"},
     {"{n} 个事件被标记异常", "{n} events stored with a flag", "1 event stored with a flag"}},
    {ALERT_HALL_NOT_OPEN,
     {"未按时开门", "Hall not open"},
     {"开门后 {v} 仍无窗口开放（宽限 {t}）", "no counter open {v} after opening (grace {t})"}},
    {ALERT_NO_COUNTER_OPEN,
     {"无窗口开放", "No counter open"},
     {"有客户等候但无窗口开放 {v}", "customers waiting with no counter open for {v}"}},
    {ALERT_WAIT_SLA,
     {"等候超时", "Waiting over the limit"},
     {"等候超过 {t}（{0} 业务，{p}）", "waiting over {t} (service {0}, {p})"}},
    {ALERT_DIVERSION,
     {"排队过长", "Long queue"},
     {"{0} 业务 {n} 人等候（超过 {m} 人建议分流）",
      "{n} waiting for service {0} (diversion above {m})"}},
    {ALERT_DEVICE_FAULT,
     {"设备故障", "Device fault"},
     {"设备 {0} 故障 {v}", "device {0} not working for {v}"}},
    {ALERT_COMPLAINT_ACK_OVERDUE,
     {"投诉未受理", "Complaint not acknowledged"},
     {"投诉 {0} 超时未受理 {v}", "complaint {0} not acknowledged, {v} overdue"}},
    {ALERT_COMPLAINT_RESOLVE_OVERDUE,
     {"投诉未解决", "Complaint not resolved"},
     {"投诉 {0} 超时未解决 {v}", "complaint {0} not resolved, {v} overdue"}},
    {ALERT_HALL_DISK_FULL,
     {"营业厅存储已满", "Hall's disk full"},
     {"营业厅存储已满，已拒收 {n} 个事件", "the hall's disk is full: {n} events refused",
      "the hall's disk is full: 1 event refused"}},
    {ALERT_DOCUMENT_REFUSED,
     {"营业厅拒收下发文件", "Hall refused a document"},
     {"营业厅拒收{d}（版本 {n}）：{r}", "the hall refused {d} version {n}: {r}"}},
    {ALERT_CERT_EXPIRING,
     {"证书即将过期", "Certificate expiring"},
     {"营业厅证书 {v} 后过期，尚未轮换密钥", "the hall's certificate expires in {v} and it has not "
                                             "rotated its key"}},
    {ALERT_DISK_NEARLY_FULL,
     {"存储将满", "Storage nearly full"},
     {"{0} 仅剩 {n}% 空间（低于 {m}% 告警）", "{0}: {n}% free (alert below {m}%)"}},
};

static const kind_words_t s_unknown = {
    0, {"告警", "Alert"}, {"告警（数值 {n}，阈值 {m}）", "alert (value {n}, threshold {m})"}};

static const kind_words_t *s_row(int kind)
{
    for (size_t i = 0; i < sizeof s_words / sizeof s_words[0]; i++)
        if (s_words[i].kind == kind)
            return &s_words[i];
    return &s_unknown;
}

/* The template of alert `a`'s line in `lang`. */
static const char *s_line(const alert_t *a, notify_lang_t lang)
{
    const kind_words_t *row = s_row(a->kind);
    if (lang == NOTIFY_EN && a->value == 1 && row->line[LINE_EN_ONE])
        return row->line[LINE_EN_ONE];
    return row->line[lang == NOTIFY_EN];
}

const char *notify_kind_title(int kind, notify_lang_t lang)
{
    return s_row(kind)->title[lang == NOTIFY_EN];
}

const char *notify_severity_word(int severity, notify_lang_t lang)
{
    static const char *const words[][2] = {
        {"未知", "unknown"}, {"提示", "info"}, {"警告", "warning"}, {"严重", "critical"}};
    if (severity < ALERT_SEV_INFO || severity > ALERT_SEV_CRITICAL)
        severity = 0;
    return words[severity][lang == NOTIFY_EN];
}

void notify_duration(int64_t seconds, notify_lang_t lang, char *out, size_t outlen)
{
    static const struct {
        int64_t s;
        const char *name[2];
    } units[] = {{86400, {" 天", " d"}},
                 {3600, {" 小时", " h"}},
                 {60, {" 分钟", " min"}},
                 {1, {" 秒", " s"}}};
    uint64_t left = seconds < 0 ? (uint64_t)(-(seconds + 1)) + 1 : (uint64_t)seconds;
    int l = lang == NOTIFY_EN;
    size_t i = 0;
    while (i + 1 < sizeof units / sizeof units[0] && left < (uint64_t)units[i].s)
        i++;
    uint64_t big = left / (uint64_t)units[i].s;
    uint64_t rest = left % (uint64_t)units[i].s;
    if (i + 1 < sizeof units / sizeof units[0] && rest / (uint64_t)units[i + 1].s > 0)
        snprintf(out, outlen, "%" PRIu64 "%s %" PRIu64 "%s", big, units[i].name[l],
                 rest / (uint64_t)units[i + 1].s, units[i + 1].name[l]);
    else
        snprintf(out, outlen, "%" PRIu64 "%s", big, units[i].name[l]);
}

/* The subject's part `i` (split at ':', the last part takes the rest). */
static void s_part(const alert_t *a, int i, char *out, size_t outlen)
{
    const char *p = a->subject;
    const alert_kind_info_t *k = alert_kind_info(a->kind);
    for (int j = 0; j < i && *p; j++) {
        p += strcspn(p, ":");
        if (*p == ':')
            p++;
    }
    bool last = i + 1 >= ALERT_SUBJECT_PARTS || !k->subject[i + 1];
    size_t n = last ? strlen(p) : strcspn(p, ":");
    if (n >= outlen)
        n = hb_utf8_cut(p, n, outlen - 1);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* A code and its words in each language (notify_lang_t's order). */
typedef struct code_words {
    const char *code;
    const char *words[2];
} code_words_t;
#define CODES(t) (t), sizeof(t) / sizeof((t)[0])

/* A ticket priority's code (the hall's, as in a wait alert's subject), as
 * the hall's screens and the dashboard say it. */
static const code_words_t s_priorities[] = {
    {"normal", {"普通", "normal"}},
    {"vip", {"贵宾", "VIP"}},
    {"elderly", {"优先（老年人 / 残障人士）", "priority (elderly / disabled)"}},
    {"appointment", {"预约", "appointment"}},
};

/* A refused document's kind (document_refused's subject). */
static const code_words_t s_documents[] = {
    {"policy", {"政策", "the policy"}},
    {"calendar", {"活动日历", "the campaign calendar"}},
};

/* The words of the hall's refusal codes (applier.h), the same as the
 * dashboard's (editors.ro.why.* in hqd/dashboard/i18n/editors.*.js; the
 * unit test holds the two to each other). */
static const code_words_t s_refusals[] = {
    {"not_json", {"文件不是有效的 JSON 格式", "the document is not valid JSON"}},
    {"invalid", {"文件内容未通过网点的校验", "the document does not pass the hall's checks"}},
    {"unknown_timezone",
     {"网点系统缺少文件指定的时区（需更新网点的时区数据）",
      "the hall's system lacks the time zone the document names (its time-zone data needs "
      "updating)"}},
    {"wrong_hall", {"文件是发给其他网点的", "the document is addressed to another hall"}},
    {"wrong_version",
     {"文件内的版本号与下发时的版本不符",
      "the document's version differs from the version it was sent as"}},
    {"older_version",
     {"该版本比网点正在执行的版本旧", "the version is older than the one the hall runs"}},
    {"too_large", {"文件超过单条消息的大小上限", "the document is larger than one message may be"}},
    {"not_built", {"总部无法为该网点生成文件", "head office could not build the hall's document"}},
};

/* `code`'s words in `table`, NULL when it has none. */
static const char *s_words_of(const code_words_t *table, size_t n, const char *code,
                              notify_lang_t lang)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, table[i].code) == 0)
            return table[i].words[lang == NOTIFY_EN];
    return NULL;
}

/* The subject's part `i` in words from `table` ({p}); a code this build
 * does not know is shown as it is. */
static void s_part_words(const alert_t *a, int i, const code_words_t *table, size_t n,
                         notify_lang_t lang, char *out, size_t outlen)
{
    s_part(a, i, out, outlen);
    const char *w = s_words_of(table, n, out, lang);
    if (w)
        snprintf(out, outlen, "%s", w);
}

const char *notify_refusal_why(const char *code, notify_lang_t lang)
{
    return s_words_of(CODES(s_refusals), code, lang);
}

const char *notify_refusal_code(size_t i)
{
    return i < sizeof s_refusals / sizeof s_refusals[0] ? s_refusals[i].code : NULL;
}

/* The refused document in words ({d}): document_refused's parts are
 * alerts.c's to read (alert_refusal_parts); a document this build does not
 * know is shown as it is. */
static void s_document(const alert_t *a, notify_lang_t lang, char *out, size_t outlen)
{
    char doc[ALERT_SUBJECT_MAX], code[ALERT_SUBJECT_MAX];
    const char *reason;
    alert_refusal_parts(a, doc, code, &reason);
    const char *w = s_words_of(CODES(s_documents), doc, lang);
    snprintf(out, outlen, "%s", w ? w : doc);
}

/* Why a document was refused ({r}): the hall's refusal code in words, then
 * its own text as the detail; without a code, or with one this build has
 * no words for (an older or a newer hall), the hall's text alone. */
static void s_refusal(const alert_t *a, notify_lang_t lang, char *out, size_t outlen)
{
    char doc[ALERT_SUBJECT_MAX], code[ALERT_SUBJECT_MAX];
    const char *reason;
    alert_refusal_parts(a, doc, code, &reason);
    const char *why = code[0] ? notify_refusal_why(code, lang) : NULL;
    if (!why)
        snprintf(out, outlen, "%s", reason);
    else if (!reason[0])
        snprintf(out, outlen, "%s", why);
    else
        snprintf(out, outlen, lang == NOTIFY_EN ? "%s (detail: %s)" : "%s（详情：%s）", why,
                 reason);
    if (strlen(out) + 1 >= outlen)
        out[hb_utf8_cut(out, strlen(out), outlen - 1)] = '\0';
}

void notify_words(const alert_t *a, notify_lang_t lang, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    const char *t = s_line(a, lang);
    size_t used = 0;
    out[0] = '\0';
    while (*t && used + 1 < outlen) {
        char piece[2 * ALERT_SUBJECT_MAX + 256];
        const char *add = piece;
        size_t n;
        if (t[0] == '{' && t[1] && t[2] == '}') {
            switch (t[1]) {
            case 'v': notify_duration(a->value, lang, piece, sizeof piece); break;
            case 't': notify_duration(a->threshold, lang, piece, sizeof piece); break;
            case 'n': snprintf(piece, sizeof piece, "%" PRId64, a->value); break;
            case 'm': snprintf(piece, sizeof piece, "%" PRId64, a->threshold); break;
            case '0': s_part(a, 0, piece, sizeof piece); break;
            case '1': s_part(a, 1, piece, sizeof piece); break;
            case 'p': s_part_words(a, 1, CODES(s_priorities), lang, piece, sizeof piece); break;
            case 'd': s_document(a, lang, piece, sizeof piece); break;
            case 'r': s_refusal(a, lang, piece, sizeof piece); break;
            default: piece[0] = '\0';
            }
            n = strlen(piece);
            t += 3;
        } else {
            /* A whole character of the template, or nothing. */
            add = t;
            n = hb_utf8_seq(t, strlen(t));
            if (n == 0)
                n = 1;
            if (used + n >= outlen)
                break;
            t += n;
        }
        if (used + n >= outlen)
            n = hb_utf8_cut(add, n, outlen - 1 - used);
        memcpy(out + used, add, n);
        used += n;
        out[used] = '\0';
    }
}
