/* hqd's handlers for the analysts: the reports (KPIs of a scope and
 * period, rankings of halls, which reports are final) and the archive (a
 * hall's events searched by date and filters, a ticket's story), in JSON
 * or CSV. api/table.c routes to them; docs/API.md has every route with an
 * example and docs/REPORTS.md every figure.
 *
 * Translation only: the figures are kpi.c's, the searches archive.c's.
 * Every refusal of a parameter is a 400 whose body names it in "field" as
 * well as in the reason. */
#include "api.h"
#include "csv.h"

#include "archive.h"
#include "backup.h"
#include "kpi.h"

#include "hallbus/metrics.h"

#include "hallbus/error.h"
#include "hallbus/querynum.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_MAX ((size_t)64 << 20) /* a CSV export is refused rather than grown past this */
#define REPORT_ERR_MAX 1024

/* ----------------------------------------------------------- requests ---- */

/* Every refusal of a parameter: 400 bad_parameter naming it in "field". */
#define BAD_PARAMETER(req, field, ...)                                                             \
    hb_http_reply_field_error((req), 400, "bad_parameter", (field), __VA_ARGS__)

/* A query parameter into `out` ("" when absent); false after answering. */
static bool s_param(hb_http_req_t *req, const char *name, char *out, size_t len)
{
    int rc = hb_http_query(req, name, out, len);
    if (rc == HB_ENOTFOUND) {
        out[0] = '\0';
        return true;
    }
    if (rc == HB_ETOOBIG) {
        BAD_PARAMETER(req, name, "%s is too long (at most %zu bytes)", name, len - 1);
        return false;
    }
    if (rc != 0) {
        BAD_PARAMETER(req, name, "%s is not a valid value", name);
        return false;
    }
    return true;
}

static bool s_required(hb_http_req_t *req, const char *name, char *out, size_t len,
                       const char *what)
{
    if (!s_param(req, name, out, len))
        return false;
    if (!out[0]) {
        BAD_PARAMETER(req, name, "%s is required: %s", name, what);
        return false;
    }
    return true;
}

static bool s_date(hb_http_req_t *req, const char *name, const char *text, int32_t *out)
{
    if (hb_date_parse(text, out) != 0) {
        BAD_PARAMETER(req, name, "%s must be a date (YYYY-MM-DD), not '%.32s'", name, text);
        return false;
    }
    return true;
}

static bool s_count(hb_http_req_t *req, const char *name, size_t lo, size_t hi, size_t *out)
{
    uint64_t v;
    int rc = hb_http_query_u64(req, name, lo, hi, &v);
    if (rc == HB_EINVAL) {
        BAD_PARAMETER(req, name, "%s must be a whole number from %zu to %zu", name, lo, hi);
        return false;
    }
    if (rc == 0)
        *out = (size_t)v;
    return true;
}

/* format=json|csv; false after answering. */
static bool s_format(hb_http_req_t *req, bool *csv)
{
    char fmt[8];
    if (!s_param(req, "format", fmt, sizeof fmt))
        return false;
    *csv = strcmp(fmt, "csv") == 0;
    if (fmt[0] && !*csv && strcmp(fmt, "json") != 0) {
        BAD_PARAMETER(req, "format", "format must be json or csv");
        return false;
    }
    return true;
}

/* The rollups answer only when they run. */
static bool s_rollups(hb_http_req_t *req, hqd_t *hq)
{
    if (hq->rollup)
        return true;
    hb_http_reply_error(req, 503, "rollups_off",
                        "this hqd runs without rollups (rollups = false): no reports");
    return false;
}

static hq_kpi_ctx_t s_ctx(hqd_t *hq)
{
    return (hq_kpi_ctx_t){.ctl = hq->control,
                          .halls = hq->halls,
                          .store = hq_rollup_store(hq->rollup),
                          .now_ms = hb_now_ms()};
}

/* scope, period and its days: date, or from and to for a range. */
static bool s_period(hb_http_req_t *req, hq_kpi_query_t *q, bool need_scope)
{
    char period[16], date[16];
    memset(q, 0, sizeof *q);
    if (need_scope && !s_required(req, "scope", q->scope, sizeof q->scope,
                                  "a region or a hall id (CN for the "
                                  "whole network)"))
        return false;
    if (!s_param(req, "period", period, sizeof period))
        return false;
    q->period = period[0] ? hq_kpi_period_parse(period) : HQ_KPI_DAY;
    if (q->period < 0) {
        BAD_PARAMETER(req, "period", "period must be day, week, month or range, not '%s'", period);
        return false;
    }
    if (q->period != HQ_KPI_RANGE) {
        if (!s_required(req, "date", date, sizeof date, "a date YYYY-MM-DD") ||
            !s_date(req, "date", date, &q->from))
            return false;
        hq_kpi_period_days(q->period, q->from, &q->from, &q->to);
        return true;
    }
    char from[16], to[16];
    if (!s_required(req, "from", from, sizeof from, "the first day of the range") ||
        !s_date(req, "from", from, &q->from) ||
        !s_required(req, "to", to, sizeof to, "the last day of the range") ||
        !s_date(req, "to", to, &q->to))
        return false;
    if (q->to < q->from) {
        BAD_PARAMETER(req, "to", "to (%s) is before from (%s)", to, from);
        return false;
    }
    if (q->to - q->from + 1 > HQ_KPI_RANGE_DAYS_MAX) {
        BAD_PARAMETER(req, "to", "the range from %s to %s is %d days; at most %d", from, to,
                      q->to - q->from + 1, HQ_KPI_RANGE_DAYS_MAX);
        return false;
    }
    return true;
}

/* Answers an error of kpi.c. */
static void s_refuse(hb_http_req_t *req, int rc, const char *err)
{
    switch (rc) {
    case HB_ENOTFOUND: hb_http_reply_error(req, 404, "not_found", "%s", err); break;
    case HB_EINVAL: hb_http_reply_error(req, 400, "bad_parameter", "%s", err); break;
    case HB_ETOOBIG: hb_http_reply_error(req, 400, "too_large", "%s", err); break;
    default: hb_http_reply_error(req, 503, "storage", "%s", err); break;
    }
}

/* ----------------------------------------------------------------- CSV ---- */

static void s_csv_value(hq_csv_t *c, const json_t *v, bool last)
{
    char buf[64];
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        hq_csv_number(c, buf, last);
    } else if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.4f", json_real_value(v));
        hq_csv_number(c, buf, last);
    } else if (json_is_string(v)) {
        hq_csv_field(c, json_string_value(v), last);
    } else if (json_is_true(v) || json_is_false(v)) {
        hq_csv_field(c, json_is_true(v) ? "true" : "false", last);
    } else if (json_is_object(v)) {
        /* A small object (by_business) as "key=value;key=value". */
        char text[4096];
        size_t o = 0;
        const char *k;
        json_t *x;
        text[0] = '\0';
        json_object_foreach ((json_t *)v, k, x) {
            if (o >= sizeof text)
                break;
            if (json_is_integer(x))
                o += (size_t)snprintf(text + o, sizeof text - o, "%s%s=%lld", o ? ";" : "", k,
                                      (long long)json_integer_value(x));
            else
                o += (size_t)snprintf(text + o, sizeof text - o, "%s%s=%.2f", o ? ";" : "", k,
                                      json_number_value(x));
        }
        hq_csv_field(c, text, last);
    } else {
        hq_csv_field(c, "", last);
    }
}

static void s_reply_csv(hb_http_req_t *req, hq_csv_t *c, const char *file)
{
    if (c->full) {
        hq_csv_free(c);
        hb_http_reply_error(req, 400, "too_large", "the export would exceed %zu bytes; narrow it",
                            EXPORT_MAX);
        return;
    }
    (void)file;
    hb_http_reply_raw(req, 200, "text/csv; charset=utf-8", c->p ? c->p : "", c->len);
    hq_csv_free(c);
}

/* The report as CSV: one header row, then the scope's row or, with by=,
 * one row per breakdown; the same columns as the JSON's fields. */
static void s_kpi_csv(hb_http_req_t *req, const json_t *rep)
{
    static const char *const head[] = {"scope", "period", "from", "to"};
    static const char *const objects[] = {"by_business", "device_fault_minutes_by_kind",
                                          "complaints_by_channel", "complaints_by_category"};
    size_t nf;
    const hq_kpi_field_t *f = hq_kpi_fields(&nf);
    const json_t *rows = json_object_get(rep, "rows");
    /* The rows' own key columns: what a row holds besides the fields. */
    const char *keys[4];
    size_t nk = 0;
    const json_t *first = json_array_get(rows, 0);
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)first, k, v) {
        bool field = false;
        for (size_t i = 0; i < nf; i++)
            field = field || strcmp(k, f[i].name) == 0;
        if (!field && nk < 4)
            keys[nk++] = k;
    }
    hq_csv_t c;
    hq_csv_init(&c, EXPORT_MAX);
    hq_csv_bom(&c);
    for (size_t i = 0; i < 4; i++)
        hq_csv_field(&c, head[i], false);
    for (size_t i = 0; i < nk; i++)
        hq_csv_field(&c, keys[i], false);
    for (size_t i = 0; i < nf; i++)
        hq_csv_field(&c, f[i].name, rows && i + 1 == nf);
    if (!rows)
        for (size_t i = 0; i < 4; i++)
            hq_csv_field(&c, objects[i], i == 3);
    size_t n = rows ? json_array_size(rows) : 1;
    for (size_t r = 0; r < n; r++) {
        const json_t *row = rows ? json_array_get(rows, r) : rep;
        for (size_t i = 0; i < 4; i++)
            s_csv_value(&c, json_object_get(rep, head[i]), false);
        for (size_t i = 0; i < nk; i++)
            s_csv_value(&c, json_object_get(row, keys[i]), false);
        for (size_t i = 0; i < nf; i++)
            s_csv_value(&c, json_object_get(row, f[i].name), rows && i + 1 == nf);
        if (!rows)
            for (size_t i = 0; i < 4; i++)
                s_csv_value(&c, json_object_get(rep, objects[i]), i == 3);
    }
    s_reply_csv(req, &c, "report.csv");
}

/* ------------------------------------------------------------- reports ---- */

/* GET /v1/reports/kpi?scope=&period=&date=|from=&to=[&by=][&previous=false][&format=csv] */
void hqd_api_get_kpi(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_kpi_query_t q;
    char by[16], prev[8];
    bool csv;
    if (!s_rollups(req, hq) || !s_period(req, &q, true) || !s_param(req, "by", by, sizeof by) ||
        !s_param(req, "previous", prev, sizeof prev) || !s_format(req, &csv))
        return;
    q.by = by[0] ? hq_kpi_by_parse(by) : HQ_KPI_BY_NONE;
    if (q.by < 0) {
        BAD_PARAMETER(req, "by", "by must be one of %s, not '%s'", hq_kpi_by_list(), by);
        return;
    }
    if (prev[0] && strcmp(prev, "true") != 0 && strcmp(prev, "false") != 0) {
        BAD_PARAMETER(req, "previous", "previous must be true or false");
        return;
    }
    q.previous = strcmp(prev, "false") != 0;
    hq_kpi_ctx_t ctx = s_ctx(hq);
    json_t *rep = NULL;
    char err[REPORT_ERR_MAX] = "";
    int rc = hq_kpi_report(&ctx, &q, &rep, err, sizeof err);
    if (rc != 0) {
        s_refuse(req, rc, err);
        return;
    }
    if (csv) {
        s_kpi_csv(req, rep);
        json_decref(rep);
        return;
    }
    hb_http_reply_json(req, 200, rep);
}

/* GET /v1/reports/rank?scope=REGION&period=&date=&metric=[&limit=10][&format=csv] */
void hqd_api_get_rank(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    hq_kpi_query_t q;
    char metric[48];
    size_t limit = 10;
    bool csv;
    if (!s_rollups(req, hq) || !s_period(req, &q, true) ||
        !s_required(req, "metric", metric, sizeof metric, "the figure to rank the halls by") ||
        !s_count(req, "limit", 1, 1000, &limit) || !s_format(req, &csv))
        return;
    hq_kpi_ctx_t ctx = s_ctx(hq);
    json_t *out = NULL;
    char err[REPORT_ERR_MAX] = "";
    int rc = hq_kpi_rank(&ctx, &q, metric, limit, &out, err, sizeof err);
    if (rc == HB_EINVAL) {
        BAD_PARAMETER(req, strncmp(err, "metric", 6) == 0 ? "metric" : "scope", "%s", err);
        return;
    }
    if (rc != 0) {
        s_refuse(req, rc, err);
        return;
    }
    if (!csv) {
        hb_http_reply_json(req, 200, out);
        return;
    }
    hq_csv_t c;
    hq_csv_init(&c, EXPORT_MAX);
    hq_csv_bom(&c);
    static const char *const cols[] = {"rank", "hall", "name", "value"};
    for (size_t i = 0; i < 4; i++)
        hq_csv_field(&c, cols[i], i == 3);
    size_t i;
    json_t *h;
    json_array_foreach (json_object_get(out, "halls"), i, h) {
        for (size_t k = 0; k < 4; k++)
            s_csv_value(&c, json_object_get(h, cols[k]), k == 3);
    }
    json_decref(out);
    s_reply_csv(req, &c, "rank.csv");
}

/* GET /v1/reports/ready?scope=[&period=day|week|month][&from=&to=] */
void hqd_api_get_ready(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char scope[HQ_KPI_SCOPE_MAX], period[16], from_s[16], to_s[16];
    if (!s_rollups(req, hq) ||
        !s_required(req, "scope", scope, sizeof scope, "a region or a hall id") ||
        !s_param(req, "period", period, sizeof period) ||
        !s_param(req, "from", from_s, sizeof from_s) || !s_param(req, "to", to_s, sizeof to_s))
        return;
    int kind = period[0] ? hq_kpi_period_parse(period) : HQ_KPI_DAY;
    if (kind < 0 || kind == HQ_KPI_RANGE) {
        BAD_PARAMETER(req, "period", "period must be day, week or month, not '%s'", period);
        return;
    }
    int64_t now = hb_now_ms();
    int32_t to = (int32_t)(now / 86400000), from;
    if (to_s[0] && !s_date(req, "to", to_s, &to))
        return;
    /* By default the last eight periods. */
    from = kind == HQ_KPI_DAY ? to - 7 : kind == HQ_KPI_WEEK ? to - 8 * 7 : to - 366;
    if (from_s[0] && !s_date(req, "from", from_s, &from))
        return;
    if (to < from) {
        BAD_PARAMETER(req, "to", "to is before from");
        return;
    }
    if (to - from + 1 > HQ_KPI_RANGE_DAYS_MAX + 31) {
        BAD_PARAMETER(req, "to", "from %s to %s is %d days; at most %d", from_s, to_s,
                      to - from + 1, HQ_KPI_RANGE_DAYS_MAX + 31);
        return;
    }
    hq_kpi_ctx_t ctx = s_ctx(hq);
    json_t *out = NULL;
    char err[REPORT_ERR_MAX] = "";
    int rc = hq_kpi_ready(&ctx, scope, kind, from, to, &out, err, sizeof err);
    if (rc != 0)
        s_refuse(req, rc, err);
    else
        hb_http_reply_json(req, 200, out);
}

/* GET /v1/reports/typical?hall=[&date=][&weeks=4]: a hall's day by hour
 * against the same weekday's typical; without date, the hall's today so
 * far (its own zone). */
void hqd_api_get_typical(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char hall[HB_HALL_ID_MAX + 8], date_s[16];
    size_t weeks = 4;
    if (!s_rollups(req, hq) || !s_required(req, "hall", hall, sizeof hall, "a hall id") ||
        !s_param(req, "date", date_s, sizeof date_s) ||
        !s_count(req, "weeks", 1, HQ_KPI_TYPICAL_WEEKS_MAX, &weeks))
        return;
    hq_kpi_ctx_t ctx = s_ctx(hq);
    hq_hall_t *h = strlen(hall) < HB_HALL_ID_MAX ? hq_halls_find(hq->halls, hall) : NULL;
    const hb_tz_t *tz = hq_kpi_hall_zone(&ctx, hall, h ? h->num : 0);
    int32_t today = hb_tz_local_day(tz, ctx.now_ms), date = today;
    if (date_s[0] && !s_date(req, "date", date_s, &date))
        return;
    int local_hour = -1;
    if (date == today) {
        hb_civil_t c;
        hb_tz_civil(tz, ctx.now_ms, &c);
        local_hour = c.hour;
    }
    json_t *out = NULL;
    char err[REPORT_ERR_MAX] = "";
    int rc = hq_kpi_typical(&ctx, hall, date, (int)weeks, local_hour, &out, err, sizeof err);
    if (rc != 0)
        s_refuse(req, rc, err);
    else
        hb_http_reply_json(req, 200, out);
}

/* ------------------------------------------------------------- archive ---- */

/* The hall a request names (`id`), known to this HQ; NULL after a 404. */
static hq_hall_t *s_hall(hb_http_req_t *req, hqd_t *hq, const char *id)
{
    hq_hall_t *h = strlen(id) < HB_HALL_ID_MAX ? hq_halls_find(hq->halls, id) : NULL;
    if (!h)
        hb_http_reply_error(req, 404, "not_found", "no hall '%.64s' has sent anything to this HQ",
                            id);
    return h;
}

static void s_archive_csv(hb_http_req_t *req, const hq_archive_page_t *page)
{
    static const char *const cols[] = {
        "seq",        "at",      "local_date", "type",          "ticket",  "service",
        "priority",   "counter", "staff",      "business_type", "outcome", "amount",
        "duration_s", "wait_s",  "score",      "complaint",     "event"};
    size_t nc = sizeof cols / sizeof cols[0];
    hq_csv_t c;
    hq_csv_init(&c, EXPORT_MAX);
    hq_csv_bom(&c);
    for (size_t i = 0; i < nc; i++)
        hq_csv_field(&c, cols[i], i + 1 == nc);
    size_t i;
    json_t *ev;
    json_array_foreach (page->events, i, ev) {
        for (size_t k = 0; k + 1 < nc; k++)
            s_csv_value(&c, json_object_get(ev, cols[k]), false);
        /* The whole event, for what the columns do not show. */
        char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
        hq_csv_field(&c, text ? text : "", true);
        free(text);
    }
    s_reply_csv(req, &c, "archive.csv");
}

/* GET /v1/archive?hall=&from=&to=[&ticket=][&business=][&staff=][&complaint=][&type=]
 *     [&cursor=][&limit=][&format=csv] */
void hqd_api_get_archive(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char hall[HB_HALL_ID_MAX + 8], from_s[16], to_s[16], type[40];
    char ticket[HB_ID_MAX + 1], business[HB_ID_MAX + 1], staff[HB_ID_MAX + 1],
        complaint[HB_ID_MAX + 1];
    size_t limit = 100;
    bool csv;
    /* A search is one hall over a bounded range, never the whole store. */
    if (!s_rollups(req, hq) ||
        !s_required(req, "hall", hall, sizeof hall, "the archive is searched one hall at a time") ||
        !s_required(req, "from", from_s, sizeof from_s, "the first local date searched") ||
        !s_required(req, "to", to_s, sizeof to_s, "the last local date searched") ||
        !s_param(req, "ticket", ticket, sizeof ticket) ||
        !s_param(req, "business", business, sizeof business) ||
        !s_param(req, "staff", staff, sizeof staff) ||
        !s_param(req, "complaint", complaint, sizeof complaint) ||
        !s_param(req, "type", type, sizeof type) ||
        !s_count(req, "limit", 1, HQ_ARCHIVE_LIMIT_MAX, &limit) || !s_format(req, &csv))
        return;
    hq_archive_query_t q = {.limit = limit,
                            .ticket = ticket[0] ? ticket : NULL,
                            .business = business[0] ? business : NULL,
                            .staff = staff[0] ? staff : NULL,
                            .complaint = complaint[0] ? complaint : NULL};
    if (!s_date(req, "from", from_s, &q.from) || !s_date(req, "to", to_s, &q.to))
        return;
    if (q.to < q.from) {
        BAD_PARAMETER(req, "to", "to (%s) is before from (%s)", to_s, from_s);
        return;
    }
    if (q.to - q.from + 1 > HQ_ARCHIVE_RANGE_DAYS) {
        BAD_PARAMETER(req, "to",
                      "from %s to %s is %d days; the archive is searched at most %d days at a "
                      "time",
                      from_s, to_s, q.to - q.from + 1, HQ_ARCHIVE_RANGE_DAYS);
        return;
    }
    if (type[0] && !(q.type = hq_archive_type_parse(type))) {
        BAD_PARAMETER(req, "type", "type '%s' is not an event type (e.g. service_completed)", type);
        return;
    }
    if (hb_http_query_u64(req, "cursor", 1, UINT64_MAX, &q.cursor) == HB_EINVAL) {
        BAD_PARAMETER(req, "cursor", "cursor must be a value a previous page gave");
        return;
    }
    hq_hall_t *h = s_hall(req, hq, hall);
    if (!h)
        return;
    hq_kpi_ctx_t ctx = s_ctx(hq);
    q.hall = h->num;
    q.tz = hq_kpi_hall_zone(&ctx, h->id, h->num);
    hq_archive_page_t page;
    char err[REPORT_ERR_MAX] = "";
    int rc = hq_archive_search(hq_rollup_store(hq->rollup), &hq->store, &q, &page, err, sizeof err);
    if (rc == HB_EINVAL) {
        BAD_PARAMETER(req, "cursor", "%s", err);
        return;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 503, "storage", "%s", err);
        return;
    }
    if (csv) {
        s_archive_csv(req, &page);
        json_decref(page.events);
        return;
    }
    char next[24];
    snprintf(next, sizeof next, "%llu", (unsigned long long)page.next);
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:I}", "hall", h->id, "from", from_s, "to", to_s,
                  "events", page.events, "next_cursor", page.next ? json_string(next) : json_null(),
                  "scanned", (json_int_t)page.scanned);
    hb_http_reply_json(req, 200, body);
}

/* GET /v1/archive/tickets/{hall}/{date}/{ticket} */
void hqd_api_get_ticket_story(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    if (!s_rollups(req, hq))
        return;
    const char *hall = hb_http_param(req, "hall"), *date = hb_http_param(req, "date"),
               *ticket = hb_http_param(req, "ticket");
    int32_t day;
    if (!s_date(req, "date", date, &day))
        return;
    if (strlen(ticket) > HB_ID_MAX) {
        BAD_PARAMETER(req, "ticket", "a ticket is at most %d bytes", HB_ID_MAX);
        return;
    }
    hq_hall_t *h = s_hall(req, hq, hall);
    if (!h)
        return;
    hq_kpi_ctx_t ctx = s_ctx(hq);
    json_t *out = NULL;
    char err[REPORT_ERR_MAX] = "";
    int rc = hq_archive_ticket(hq_rollup_store(hq->rollup), &hq->store, h->num, h->id,
                               hq_kpi_hall_zone(&ctx, h->id, h->num), day, ticket, &out, err,
                               sizeof err);
    if (rc == HB_ENOTFOUND)
        hb_http_reply_error(req, 404, "not_found", "%s", err);
    else if (rc != 0)
        hb_http_reply_error(req, 503, "storage", "%s", err);
    else
        hb_http_reply_json(req, 200, out);
}

/* ------------------------------------------------------ status, metrics ---- */

/* The LMDB environments of the data folder and their bytes. */
typedef struct env_sizes {
    json_t *o;
    uint64_t total;
} env_sizes_t;

static void s_env_size(const char *path, const char *name, uint64_t bytes, void *arg)
{
    (void)path;
    env_sizes_t *e = arg;
    json_object_set_new(e->o, name[0] ? name : "events", json_integer((json_int_t)bytes));
    e->total += bytes;
}

void hqd_api_reports_status(hqd_t *hq, json_t *body)
{
    json_t *storage = json_object(), *envs = json_object();
    env_sizes_t es = {.o = envs};
    hq_data_envs(hq->cfg.data, s_env_size, &es);
    uint64_t total = 0, avail = 0;
    bool disk = hq_disk_space(hq->cfg.data, &total, &avail) == 0;
    json_object_set_new(storage, "environments", envs);
    json_object_set_new(storage, "bytes", json_integer((json_int_t)es.total));
    json_object_set_new(storage, "disk_bytes",
                        disk ? json_integer((json_int_t)total) : json_null());
    json_object_set_new(storage, "disk_free_bytes",
                        disk ? json_integer((json_int_t)avail) : json_null());
    json_object_set_new(storage, "disk_free_percent",
                        disk && total ? json_real((double)avail * 100.0 / (double)total)
                                      : json_null());
    json_object_set_new(storage, "disk_alert_free_percent",
                        json_integer((json_int_t)hq->cfg.disk_alert_free));
    json_object_set_new(body, "storage", storage);
    if (!hq->rollup) {
        json_object_set_new(body, "rollups", json_pack("{s:b}", "enabled", false));
        return;
    }
    hq_rollup_stats_t st;
    hq_rollup_get_stats(hq->rollup, &st);
    const ru_engine_stats_t *e = &st.engine;
    json_t *r = json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, "
        "s:f, s:f}",
        "enabled", true, "events", (json_int_t)e->events, "commits", (json_int_t)e->commits,
        "commit_failures", (json_int_t)e->commit_failures, "lag_events", (json_int_t)st.lag_events,
        "halls_behind", (json_int_t)st.halls_behind, "queued_bytes", (json_int_t)st.queued_bytes,
        "offered_items", (json_int_t)st.offered_items, "dropped_items",
        (json_int_t)st.dropped_items, "catching_up", st.catching_up, "policy_version",
        (json_int_t)st.policy_version, "store_reads", (json_int_t)e->store_reads, "replayed",
        (json_int_t)e->replayed, "cells_written", (json_int_t)e->cells_written, "folds_saved",
        (json_int_t)e->folds_saved, "revisions", (json_int_t)e->revisions, "dropped",
        (json_int_t)e->dropped, "map_grows", (json_int_t)e->map_grows, "last_commit_ms",
        e->last_commit_ms, "max_commit_ms", e->max_commit_ms);
    json_object_set_new(body, "rollups", r);
    const hq_retention_stats_t *t = &st.retention;
    char a[HB_RFC3339_MAX], b[HB_RFC3339_MAX];
    hb_time_format(t->pass_started_ms, a);
    hb_time_format(t->pass_finished_ms, b);
    json_t *ret = json_pack(
        "{s:f, s:f, s:b, s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "raw_days",
        (double)hq->cfg.retention_raw_ms / 86400000.0, "rollups_days",
        (double)hq->cfg.retention_rollups_ms / 86400000.0, "running", t->running, "passes",
        (json_int_t)t->passes, "pass_started", t->pass_started_ms ? json_string(a) : json_null(),
        "pass_finished", t->pass_finished_ms ? json_string(b) : json_null(), "pass_hall",
        (json_int_t)t->pass_hall, "pass_halls", (json_int_t)t->pass_halls, "chunks_deleted",
        (json_int_t)t->chunks_deleted, "events_deleted", (json_int_t)t->events_deleted,
        "bytes_deleted", (json_int_t)t->bytes_deleted, "rollup_records_deleted",
        (json_int_t)t->cells_deleted, "held_back", (json_int_t)t->held_back, "failures",
        (json_int_t)t->failures);
    json_object_set_new(body, "retention", ret);
}

typedef struct env_metrics {
    hb_metrics_t *m;
} env_metrics_t;

static void s_env_metric(const char *path, const char *name, uint64_t bytes, void *arg)
{
    (void)path;
    env_metrics_t *e = arg;
    char labels[96];
    snprintf(labels, sizeof labels, "environment=\"%s\"", name[0] ? name : "events");
    hb_metrics_add(e->m, "hallbus_hq_data_bytes", "gauge",
                   "bytes of each LMDB environment's data file in the data folder", labels,
                   (double)bytes);
}

void hqd_api_reports_metrics(hqd_t *hq, hb_metrics_t *m)
{
#define G(name, help, v) hb_metrics_add(m, "hallbus_hq_" name, "gauge", help, NULL, (double)(v))
#define C(name, help, v) hb_metrics_add(m, "hallbus_hq_" name, "counter", help, NULL, (double)(v))
    env_metrics_t em = {m};
    hq_data_envs(hq->cfg.data, s_env_metric, &em);
    /* The disk's size and free space are metrics.c's (hb_metrics_disk). */
    if (!hq->rollup)
        return;
    hq_rollup_stats_t st;
    hq_rollup_get_stats(hq->rollup, &st);
    C("rollup_events_total", "events rolled up and committed", st.engine.events);
    C("rollup_commits_total", "commits of the rollups", st.engine.commits);
    C("rollup_commit_failures_total", "rollup commits that failed (retried)",
      st.engine.commit_failures);
    G("rollup_lag_events", "events committed at HQ and not rolled up yet", st.lag_events);
    G("rollup_halls_behind", "halls whose events are not all rolled up", st.halls_behind);
    G("rollup_queued_bytes", "copies of committed batches waiting for the rollups",
      st.queued_bytes);
    C("rollup_dropped_batches_total",
      "batches that did not fit the rollups' queue (read back "
      "from the store)",
      st.dropped_items);
    C("rollup_store_reads_total", "events the rollups read back from the event store",
      st.engine.store_reads);
    C("rollup_revisions_total", "days counted again after their report was final",
      st.engine.revisions);
    G("retention_running", "1 while a retention pass runs", st.retention.running);
    C("retention_passes_total", "retention passes finished", st.retention.passes);
    G("retention_pass_hall", "the hall number the running pass has reached",
      st.retention.pass_hall);
    C("retention_events_deleted_total", "raw events pruned past retention",
      st.retention.events_deleted);
    C("retention_deleted_bytes_total", "bytes of raw events pruned", st.retention.bytes_deleted);
    C("retention_rollup_records_deleted_total", "rollup records pruned past retention",
      st.retention.cells_deleted);
    C("retention_held_back_total", "times an old chunk was kept: not rolled up yet",
      st.retention.held_back);
#undef G
#undef C
}
