/* The reports: KPIs of a scope (a hall, a city, a province, the whole
 * network) over a period (a local day, an ISO week, a calendar month, or
 * a range of days), as sums of the halls' rollup cells (cell.h), with a
 * breakdown on request, the previous period beside it, rankings of halls,
 * and which periods' reports are final. Every figure and its definition is
 * in docs/REPORTS.md; the field names are the API's.
 *
 * A day is each hall's own local day: a region's day D is the sum of its
 * halls' days D, whatever their zones. A period whose whole calendar months
 * lie inside it reads the halls' month cells, the rest their day cells.
 *
 * Runs on the loop thread (the organisation and the hall registry are the
 * loop's), reading the rollups in one read transaction per answer. Not
 * here: HTTP (api/reports.c), rolling up (rollup.h). */
#ifndef HQD_KPI_H
#define HQD_KPI_H

#include "rustore.h"

#include "hallbus/tz.h"

#include "control.h"
#include "halls.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_KPI_RANGE_DAYS_MAX 366 /* a longer range is refused */
#define HQ_KPI_ROWS_MAX 20000     /* rows of one answer; more is refused */
#define HQ_KPI_SCOPE_MAX 80

typedef enum hq_kpi_period_kind {
    HQ_KPI_DAY = 0,
    HQ_KPI_WEEK,
    HQ_KPI_MONTH,
    HQ_KPI_RANGE,
} hq_kpi_period_kind_t;

/* Breakdowns of `by=`. */
typedef enum hq_kpi_by {
    HQ_KPI_BY_NONE = 0,
    HQ_KPI_BY_SERVICE,
    HQ_KPI_BY_PRIORITY,
    HQ_KPI_BY_BUSINESS,
    HQ_KPI_BY_STAFF,
    HQ_KPI_BY_COUNTER,
    HQ_KPI_BY_HOUR,
    HQ_KPI_BY_HALL,
    HQ_KPI_BY_DAY,
    HQ_KPI_BY_CHANNEL,
    HQ_KPI_BY_CATEGORY,
    HQ_KPI_BY_DEVICE,
    HQ_KPI_BY_COUNT
} hq_kpi_by_t;

typedef struct hq_kpi_ctx {
    hq_control_t *ctl;
    hq_halls_t *halls;
    ru_store_t *store;
    int64_t now_ms;
} hq_kpi_ctx_t;

typedef struct hq_kpi_query {
    char scope[HQ_KPI_SCOPE_MAX];
    int period;       /* hq_kpi_period_kind_t */
    int32_t from, to; /* local days, both included */
    int by;           /* hq_kpi_by_t */
    bool previous;    /* with the previous period beside it */
} hq_kpi_query_t;

/* ---- the words of the API, one table each */
const char *hq_kpi_period_name(int kind);  /* "day", ...; NULL outside */
int hq_kpi_period_parse(const char *name); /* -1 when unknown */
const char *hq_kpi_by_name(int by);        /* "service", ...; "" for none */
int hq_kpi_by_parse(const char *name);     /* -1 when unknown */
/* "service, priority, ..." for refusals. */
const char *hq_kpi_by_list(void);

/* The days of the period of `kind` holding `date`: the day itself, its ISO
 * week (Monday to Sunday), its calendar month. */
void hq_kpi_period_days(int kind, int32_t date, int32_t *from, int32_t *to);
/* The period before [from, to]: the same kind (a range: as many days). */
void hq_kpi_previous(int kind, int32_t from, int32_t to, int32_t *pfrom, int32_t *pto);

/* The KPIs of the query (new reference in `*out`). HB_ENOTFOUND (unknown
 * scope), HB_ETOOBIG (more than HQ_KPI_ROWS_MAX rows), HB_EDB/HB_ENOMEM,
 * with `err` saying what. */
int hq_kpi_report(const hq_kpi_ctx_t *ctx, const hq_kpi_query_t *q, json_t **out, char *err,
                  size_t errlen);

/* The KPI fields an answer (and each row) holds, in order, for CSV and
 * for rankings: name, whether higher is better, and whether it may be
 * ranked. */
typedef struct hq_kpi_field {
    const char *name;
    bool higher_better;
    bool rankable;
} hq_kpi_field_t;
const hq_kpi_field_t *hq_kpi_fields(size_t *n);

/* Halls of a region ordered by `metric` (a rankable field), best first,
 * for the query's period: {"halls": [{"rank", "hall", "name", "value"}],
 * "best", "worst" (`limit` each), "no_data": [ids]}. HB_ENOTFOUND (scope),
 * HB_EINVAL (a scope that is not a region; a metric that is not
 * rankable), as hq_kpi_report otherwise. */
int hq_kpi_rank(const hq_kpi_ctx_t *ctx, const hq_kpi_query_t *q, const char *metric, size_t limit,
                json_t **out, char *err, size_t errlen);

/* The reports of `scope` for the periods of `kind` that end within [from,
 * to]: each with "final" (every hall's local midnight after it has
 * passed), "final_at", and "revised_at" / "revisions" when events were
 * counted after that. */
int hq_kpi_ready(const hq_kpi_ctx_t *ctx, const char *scope, int kind, int32_t from, int32_t to,
                 json_t **out, char *err, size_t errlen);

/* "Today so far against the same weekday's typical", per local hour, for
 * a hall's live view: the hall's figures of `date` (issued, served) and,
 * beside them, the mean of the same weekday over the `weeks` weeks before
 * it, counting only those days on which the hall issued any ticket (a
 * closed day, a holiday, is no typical day): {"hall", "date", "weekday",
 * "weeks", "compared": [dates], "hours": [24 x {"hour", "issued", "served",
 * "typical_issued", "typical_served"}], "issued", "served",
 * "typical_issued", "typical_served"} (the typical ones null when no day
 * compared had data). With `local_hour` >= 0 (date is the hall's today),
 * the totals count the hours before it and that hour ("so far"), and it is
 * in the answer as "local_hour". HB_ENOTFOUND (not a hall), as
 * hq_kpi_report otherwise. */
#define HQ_KPI_TYPICAL_WEEKS_MAX 12
int hq_kpi_typical(const hq_kpi_ctx_t *ctx, const char *hall, int32_t date, int weeks,
                   int local_hour, json_t **out, char *err, size_t errlen);

/* A hall's zone: the one its stream named last (day_started), else its
 * effective policy's, else UTC. `num` 0: a hall with no events. */
const hb_tz_t *hq_kpi_hall_zone(const hq_kpi_ctx_t *ctx, const char *hall, uint32_t num);

#endif
