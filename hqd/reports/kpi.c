/* The reports (see kpi.h): a scope's halls, a period's units (whole
 * months, else days), the halls' cells of each unit summed into the
 * answer, and the fields computed from the sums by one table. */
#include "kpi.h"

#include "strmap.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/json.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "hallbus/vec.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- words ---- */

static const char *const s_periods[] = {"day", "week", "month", "range"};

const char *hq_kpi_period_name(int kind)
{
    return kind >= 0 && kind < (int)(sizeof s_periods / sizeof s_periods[0]) ? s_periods[kind]
                                                                             : NULL;
}

int hq_kpi_period_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof s_periods / sizeof s_periods[0]); i++)
        if (strcmp(name, s_periods[i]) == 0)
            return i;
    return -1;
}

/* By breakdown: its name and the cells it reads (day level, month level;
 * RU_DIMS when it has none of its own). */
static const struct {
    const char *name;
    int day_dim, month_dim;
} s_by[HQ_KPI_BY_COUNT] = {
    [HQ_KPI_BY_NONE] = {"", RU_DIMS, RU_DIMS},
    [HQ_KPI_BY_SERVICE] = {"service", RU_DIM_SLOT, RU_DIM_SERVICE},
    [HQ_KPI_BY_PRIORITY] = {"priority", RU_DIM_SLOT, RU_DIM_SERVICE},
    [HQ_KPI_BY_BUSINESS] = {"business", RU_DIM_BUSINESS, RU_DIM_BUSINESS},
    [HQ_KPI_BY_STAFF] = {"staff", RU_DIM_STAFF, RU_DIM_STAFF},
    [HQ_KPI_BY_COUNTER] = {"counter", RU_DIM_COUNTER, RU_DIM_COUNTER},
    [HQ_KPI_BY_HOUR] = {"hour", RU_DIM_HOUR, RU_DIM_HOUR},
    [HQ_KPI_BY_HALL] = {"hall", RU_DIMS, RU_DIMS},
    [HQ_KPI_BY_DAY] = {"day", RU_DIMS, RU_DIMS},
    [HQ_KPI_BY_CHANNEL] = {"channel", RU_DIM_COMPLAINT, RU_DIM_COMPLAINT},
    [HQ_KPI_BY_CATEGORY] = {"category", RU_DIM_COMPLAINT, RU_DIM_COMPLAINT},
    [HQ_KPI_BY_DEVICE] = {"device", RU_DIM_DEVICE, RU_DIM_DEVICE},
};

const char *hq_kpi_by_name(int by) { return by >= 0 && by < HQ_KPI_BY_COUNT ? s_by[by].name : ""; }

int hq_kpi_by_parse(const char *name)
{
    for (int i = 1; i < HQ_KPI_BY_COUNT; i++)
        if (strcmp(name, s_by[i].name) == 0)
            return i;
    return -1;
}

const char *hq_kpi_by_list(void)
{
    static char list[256];
    if (!list[0]) {
        size_t o = 0;
        for (int i = 1; i < HQ_KPI_BY_COUNT && o < sizeof list; i++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i > 1 ? ", " : "",
                                  s_by[i].name);
    }
    return list;
}

void hq_kpi_period_days(int kind, int32_t date, int32_t *from, int32_t *to)
{
    switch (kind) {
    case HQ_KPI_WEEK:
        *from = date - hb_weekday(date);
        *to = *from + 6;
        break;
    case HQ_KPI_MONTH: {
        int32_t m = ru_month_of_day(date);
        *from = ru_month_first_day(m);
        *to = ru_month_first_day(m + 1) - 1;
        break;
    }
    default: *from = *to = date; break;
    }
}

void hq_kpi_previous(int kind, int32_t from, int32_t to, int32_t *pfrom, int32_t *pto)
{
    if (kind == HQ_KPI_MONTH) {
        hq_kpi_period_days(HQ_KPI_MONTH, from - 1, pfrom, pto);
        return;
    }
    int32_t len = to - from + 1;
    *pfrom = from - len;
    *pto = from - 1;
}

/* ------------------------------------------------------------ fields ---- */

typedef enum fkind {
    F_COUNT,
    F_PCT_WAIT,
    F_PCT_SERVICE,
    F_AVG,
    F_RATIO,
    F_MINUTES,
    F_NOSHOW
} fkind_t;

static const struct {
    hq_kpi_field_t f;
    int kind;
    int a, b; /* metrics */
    double p; /* percentile */
} s_fields[] = {
    {{"issued", true, true}, F_COUNT, RU_M_ISSUED, 0, 0},
    {{"called", true, false}, F_COUNT, RU_M_CALLED, 0, 0},
    {{"served", true, true}, F_COUNT, RU_M_SERVED, 0, 0},
    {{"no_shows", false, true}, F_COUNT, RU_M_NO_SHOWS, 0, 0},
    {{"cancelled", false, true}, F_COUNT, RU_M_CANCELLED, 0, 0},
    {{"transferred", false, false}, F_COUNT, RU_M_TRANSFERRED, 0, 0},
    {{"recalled", false, false}, F_COUNT, RU_M_RECALLED, 0, 0},
    {{"wait_p50_s", false, true}, F_PCT_WAIT, 0, 0, 0.50},
    {{"wait_p90_s", false, true}, F_PCT_WAIT, 0, 0, 0.90},
    {{"wait_p99_s", false, true}, F_PCT_WAIT, 0, 0, 0.99},
    {{"wait_avg_s", false, true}, F_AVG, RU_M_WAIT_SUM_S, RU_M_WAIT_N, 0},
    {{"service_p50_s", false, true}, F_PCT_SERVICE, 0, 0, 0.50},
    {{"service_p90_s", false, true}, F_PCT_SERVICE, 0, 0, 0.90},
    {{"service_p99_s", false, true}, F_PCT_SERVICE, 0, 0, 0.99},
    {{"service_avg_s", false, true}, F_AVG, RU_M_SERVICE_SUM_S, RU_M_SERVICE_N, 0},
    {{"counter_utilisation", true, true}, F_RATIO, RU_M_COUNTER_BUSY_S, RU_M_COUNTER_OPEN_S, 0},
    {{"counter_open_s", true, false}, F_COUNT, RU_M_COUNTER_OPEN_S, 0, 0},
    {{"counter_busy_s", true, false}, F_COUNT, RU_M_COUNTER_BUSY_S, 0, 0},
    {{"counter_paused_s", false, false}, F_COUNT, RU_M_COUNTER_PAUSED_S, 0, 0},
    {{"complaints_opened", false, true}, F_COUNT, RU_M_COMPLAINTS_OPENED, 0, 0},
    {{"complaints_acknowledged", true, false}, F_COUNT, RU_M_COMPLAINTS_ACKNOWLEDGED, 0, 0},
    {{"complaints_acknowledged_in_sla", true, true}, F_COUNT, RU_M_COMPLAINTS_ACK_IN_SLA, 0, 0},
    {{"complaints_resolved", true, false}, F_COUNT, RU_M_COMPLAINTS_RESOLVED, 0, 0},
    {{"complaints_resolved_in_sla", true, true}, F_COUNT, RU_M_COMPLAINTS_RESOLVED_IN_SLA, 0, 0},
    {{"complaints_overdue", false, true}, F_COUNT, RU_M_COMPLAINTS_OVERDUE, 0, 0},
    {{"complaints_escalated", false, true}, F_COUNT, RU_M_COMPLAINTS_ESCALATED, 0, 0},
    {{"complaints_satisfied", true, false}, F_COUNT, RU_M_COMPLAINTS_SATISFIED, 0, 0},
    {{"satisfaction_avg", true, true}, F_AVG, RU_M_SAT_SUM, RU_M_SAT_COUNT, 0},
    {{"satisfaction_count", true, true}, F_COUNT, RU_M_SAT_COUNT, 0, 0},
    {{"satisfaction_1", false, false}, F_COUNT, RU_M_SAT_1, 0, 0},
    {{"satisfaction_2", false, false}, F_COUNT, RU_M_SAT_2, 0, 0},
    {{"satisfaction_3", false, false}, F_COUNT, RU_M_SAT_3, 0, 0},
    {{"satisfaction_4", true, false}, F_COUNT, RU_M_SAT_4, 0, 0},
    {{"satisfaction_5", true, false}, F_COUNT, RU_M_SAT_5, 0, 0},
    {{"no_show_rate", false, true}, F_NOSHOW, 0, 0, 0},
    {{"issued_kiosk", true, false}, F_COUNT, RU_M_ISSUED_KIOSK, 0, 0},
    {{"issued_app", true, false}, F_COUNT, RU_M_ISSUED_APP, 0, 0},
    {{"issued_staff", true, false}, F_COUNT, RU_M_ISSUED_STAFF, 0, 0},
    {{"issued_unspecified", false, false}, F_COUNT, RU_M_ISSUED_UNSPECIFIED, 0, 0},
    {{"issued_appointment", true, false}, F_COUNT, RU_M_ISSUED_APPOINTMENT, 0, 0},
    {{"served_done", true, false}, F_COUNT, RU_M_SERVED_DONE, 0, 0},
    {{"served_referred", false, false}, F_COUNT, RU_M_SERVED_REFERRED, 0, 0},
    {{"served_rejected", false, false}, F_COUNT, RU_M_SERVED_REJECTED, 0, 0},
    {{"amount", true, false}, F_COUNT, RU_M_AMOUNT, 0, 0},
    {{"device_fault_minutes", false, true}, F_MINUTES, RU_M_DEVICE_FAULT_S, 0, 0},
    {{"opening_days", true, false}, F_COUNT, RU_M_OPENING_DAYS, 0, 0},
    {{"opening_late_days", false, true}, F_COUNT, RU_M_OPENING_LATE_DAYS, 0, 0},
    {{"opening_late_minutes", false, true}, F_MINUTES, RU_M_OPENING_LATE_S, 0, 0},
    {{"events", true, false}, F_COUNT, RU_M_EVENTS, 0, 0},
};
#define N_FIELDS (sizeof s_fields / sizeof s_fields[0])

const hq_kpi_field_t *hq_kpi_fields(size_t *n)
{
    static hq_kpi_field_t out[N_FIELDS];
    for (size_t i = 0; i < N_FIELDS; i++)
        out[i] = s_fields[i].f;
    *n = N_FIELDS;
    return out;
}

/* The value of field `i` of a cell; false when it has none (no sample). */
static bool s_field_value(size_t i, const ru_cell_t *c, double *out, bool *integer)
{
    *integer = false;
    uint32_t v;
    switch (s_fields[i].kind) {
    case F_COUNT:
        *integer = true;
        *out = (double)c->m[s_fields[i].a];
        return true;
    case F_PCT_WAIT:
    case F_PCT_SERVICE:
        *integer = true;
        if (!ru_hist_percentile(s_fields[i].kind == F_PCT_WAIT ? &c->wait : &c->service,
                                s_fields[i].p, &v))
            return false;
        *out = v;
        return true;
    case F_AVG:
    case F_RATIO:
        if (c->m[s_fields[i].b] == 0)
            return false;
        *out = (double)c->m[s_fields[i].a] / (double)c->m[s_fields[i].b];
        return true;
    case F_MINUTES: *out = (double)c->m[s_fields[i].a] / 60.0; return true;
    case F_NOSHOW: {
        int64_t ended = c->m[RU_M_SERVED] + c->m[RU_M_NO_SHOWS];
        if (ended == 0)
            return false;
        *out = (double)c->m[RU_M_NO_SHOWS] / (double)ended;
        return true;
    }
    default: return false;
    }
}

static void s_put_fields(json_t *o, const ru_cell_t *c)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        double v;
        bool integer;
        json_t *j;
        if (!s_field_value(i, c, &v, &integer))
            j = json_null();
        else if (integer)
            j = json_integer((json_int_t)v);
        else
            j = json_real(round(v * 10000.0) / 10000.0);
        json_object_set_new(o, s_fields[i].f.name, j);
    }
}

/* ------------------------------------------------------------ scopes ---- */

/* A scope holds at most every hall there may be. */
#define KPI_SCOPE_MAX ((size_t)HQ_HALLS_MAX)

typedef struct shall {
    char id[HB_HALL_ID_MAX];
    const char *name;
    uint32_t num; /* 0: never connected */
} shall_t;

typedef struct scope {
    const char *kind; /* "hall", "city", "province", "national" */
    char id[HQ_KPI_SCOPE_MAX];
    const char *name;
    shall_t *h;
    size_t n, cap;
} scope_t;

static int s_scope_add(scope_t *s, hq_halls_t *halls, const char *id, const char *name)
{
    if (hb_array_reserve((void **)&s->h, &s->cap, s->n + 1, sizeof *s->h, KPI_SCOPE_MAX) != 0)
        return HB_ENOMEM;
    shall_t *h = &s->h[s->n++];
    snprintf(h->id, sizeof h->id, "%s", id);
    h->name = name;
    hq_hall_t *hh = hq_halls_find(halls, id);
    h->num = hh ? hh->num : 0;
    return 0;
}

static int s_scope_city(scope_t *s, const hq_kpi_ctx_t *ctx, const org_t *org,
                        const org_region_t *city)
{
    const uint32_t *idx;
    size_t n = org_city_halls(org, city, &idx);
    for (size_t i = 0; i < n; i++) {
        const org_hall_t *oh = org_hall_at(org, idx[i]);
        if (oh && s_scope_add(s, ctx->halls, oh->id, oh->name) != 0)
            return HB_ENOMEM;
    }
    return 0;
}

/* The halls of a scope: a region's (the whole network's: every hall of
 * the organisation, and those HQ has events of that it does not place),
 * or the one hall. */
static int s_scope_resolve(const hq_kpi_ctx_t *ctx, const char *id, scope_t *s, char *err,
                           size_t errlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    const org_t *org = hq_control_org(ctx->ctl);
    const org_region_t *r = org ? org_region_find(org, id) : NULL;
    int rc = 0;
    if (r) {
        s->kind = org_level_name(r->level);
        s->name = r->name;
        if (r->level == ORG_CITY) {
            rc = s_scope_city(s, ctx, org, r);
        } else if (r->level == ORG_PROVINCE) {
            const uint32_t *kids;
            size_t n = org_region_children(org, r, &kids);
            for (size_t i = 0; i < n && rc == 0; i++)
                rc = s_scope_city(s, ctx, org, org_region_at(org, kids[i]));
        } else {
            for (size_t i = 0; i < org_hall_count(org) && rc == 0; i++) {
                const org_hall_t *oh = org_hall_at(org, (uint32_t)i);
                rc = s_scope_add(s, ctx->halls, oh->id, oh->name);
            }
            for (size_t i = 0; i < hq_halls_count(ctx->halls) && rc == 0; i++) {
                hq_hall_t *h = hq_halls_sorted(ctx->halls, i);
                if (h && !org_hall_find(org, h->id))
                    rc = s_scope_add(s, ctx->halls, h->id, NULL);
            }
        }
        return rc;
    }
    const org_hall_t *oh = org ? org_hall_find(org, id) : NULL;
    if (oh || hq_halls_find(ctx->halls, id)) {
        s->kind = "hall";
        s->name = oh ? oh->name : NULL;
        return s_scope_add(s, ctx->halls, id, s->name);
    }
    hb_errf(err, errlen, "no region or hall '%.64s'", id);
    return HB_ENOTFOUND;
}

/* ------------------------------------------------------------ tallies ---- */

/* Named counts for the answer's objects (by_business, ...). */
typedef struct tally {
    char (*names)[RU_TEXT_MAX];
    double *v;
    size_t n, cap;
    ru_strmap_t map;
} tally_t;

static const char *s_tally_key(const void *owner, uint32_t i)
{
    return ((const tally_t *)owner)->names[i];
}

static void s_tally_add(tally_t *t, const char *name, double v)
{
    if (!t->map.key_of)
        ru_strmap_init(&t->map, s_tally_key);
    int32_t i = ru_strmap_find(&t->map, t, name);
    if (i >= 0) {
        t->v[i] += v;
        return;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char(*n)[RU_TEXT_MAX] = realloc(t->names, cap * sizeof *n);
        if (!n)
            return;
        t->names = n;
        double *vv = realloc(t->v, cap * sizeof *vv);
        if (!vv)
            return;
        t->v = vv;
        t->cap = cap;
    }
    snprintf(t->names[t->n], RU_TEXT_MAX, "%s", name);
    t->v[t->n] = v;
    if (ru_strmap_add(&t->map, t, (uint32_t)t->n) == 0)
        t->n++;
}

static json_t *s_tally_json(const tally_t *t, bool integer)
{
    json_t *o = json_object();
    for (size_t i = 0; i < t->n; i++)
        json_object_set_new(o, t->names[i],
                            integer ? json_integer((json_int_t)t->v[i])
                                    : json_real(round(t->v[i] * 100.0) / 100.0));
    return o;
}

static void s_tally_free(tally_t *t)
{
    ru_strmap_free(&t->map);
    free(t->names);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* --------------------------------------------------------------- rows ---- */

typedef struct row {
    /* hall, key and number (an int32: 11 characters at most), with two separators */
    char mapkey[HB_HALL_ID_MAX + RU_TEXT_MAX + 2 + 11];
    char hall[HB_HALL_ID_MAX];
    char key[RU_TEXT_MAX];
    int32_t number; /* hour, day, or (by hall) the hall's place in the scope */
    ru_cell_t cell;
} row_t;

typedef struct rows {
    row_t *r;
    size_t n, cap;
    ru_strmap_t map;
    bool too_many;
} rows_t;

static const char *s_row_key(const void *owner, uint32_t i)
{
    return ((const rows_t *)owner)->r[i].mapkey;
}

static row_t *s_row(rows_t *rs, const char *hall, const char *key, int32_t number)
{
    if (!rs->map.key_of)
        ru_strmap_init(&rs->map, s_row_key);
    char mk[sizeof rs->r->mapkey];
    snprintf(mk, sizeof mk, "%s\x1f%s\x1f%ld", hall ? hall : "", key ? key : "", (long)number);
    int32_t i = ru_strmap_find(&rs->map, rs, mk);
    if (i >= 0)
        return &rs->r[i];
    if (rs->n >= HQ_KPI_ROWS_MAX) {
        rs->too_many = true;
        return NULL;
    }
    if (hb_array_reserve((void **)&rs->r, &rs->cap, rs->n + 1, sizeof *rs->r, HQ_KPI_ROWS_MAX) != 0)
        return NULL;
    row_t *r = &rs->r[rs->n];
    memset(r, 0, sizeof *r);
    snprintf(r->mapkey, sizeof r->mapkey, "%s", mk);
    snprintf(r->hall, sizeof r->hall, "%s", hall ? hall : "");
    snprintf(r->key, sizeof r->key, "%s", key ? key : "");
    r->number = number;
    if (ru_strmap_add(&rs->map, rs, (uint32_t)rs->n) != 0)
        return NULL;
    rs->n++;
    return r;
}

static void s_rows_free(rows_t *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        ru_cell_free(&rs->r[i].cell);
    ru_strmap_free(&rs->map);
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

/* --------------------------------------------------------------- walk ---- */

typedef struct walk {
    const hq_kpi_ctx_t *ctx;
    MDB_txn *txn;
    MDB_cursor *cur;
    int by;
    bool objects; /* gather by_business and the other objects */
    ru_cell_t total;
    tally_t business, devices, channels, categories;
    rows_t rows;
    const shall_t *hall; /* the hall being read */
    int32_t hall_index;  /* its place in the scope */
    int32_t unit_day;    /* the day being read (day units) */
    int rc;
} walk_t;

static const char *s_enum(const ProtobufCEnumDescriptor *ed, int v, char *buf, size_t len)
{
    const char *n = hb_enum_name(ed, v, buf, len);
    if (!n) {
        snprintf(buf, len, "%d", v);
        n = buf;
    }
    return n;
}

/* Takes one cell of a unit into the walk's answer. */
typedef void (*dim_fn)(walk_t *w, const ru_key_t *k, const uint8_t *v, size_t len);

/* Calls `by_dim[dim]` for each cell of dims `first` to `last` in the unit
 * with prefix `prefix`, in one walk: a cursor step is cheaper than a seek,
 * and the cells of a dim without a function are only stepped over. */
static void s_cells(walk_t *w, const uint8_t prefix[RU_KEY_PREFIX], int first, int last,
                    const dim_fn by_dim[RU_DIMS])
{
    uint8_t seek[RU_KEY_PREFIX + 1];
    memcpy(seek, prefix, RU_KEY_PREFIX);
    seek[RU_KEY_PREFIX] = (uint8_t)first;
    MDB_val k = {sizeof seek, seek}, v;
    int g = mdb_cursor_get(w->cur, &k, &v, MDB_SET_RANGE);
    while (g == 0 && k.mv_size > RU_KEY_PREFIX && memcmp(k.mv_data, prefix, RU_KEY_PREFIX) == 0) {
        uint8_t dim = ((const uint8_t *)k.mv_data)[RU_KEY_PREFIX];
        if (dim > last)
            break;
        dim_fn fn = dim < RU_DIMS ? by_dim[dim] : NULL;
        ru_key_t key;
        if (fn && ru_key_decode(k.mv_data, k.mv_size, &key) == 0)
            fn(w, &key, v.mv_data, v.mv_size);
        g = mdb_cursor_get(w->cur, &k, &v, MDB_NEXT);
    }
    if (g != 0 && g != MDB_NOTFOUND)
        w->rc = HB_EDB;
}

static void s_add_business(walk_t *w, const ru_key_t *k, const uint8_t *v, size_t len)
{
    int64_t served;
    if (ru_cell_metric(v, len, RU_M_SERVED, &served) == 0)
        s_tally_add(&w->business, k->text, (double)served);
}

static void s_add_device(walk_t *w, const ru_key_t *k, const uint8_t *v, size_t len)
{
    int64_t s;
    char buf[32];
    if (ru_cell_metric(v, len, RU_M_DEVICE_FAULT_S, &s) == 0)
        s_tally_add(&w->devices,
                    s_enum(&hallbus__device_kind__descriptor, k->code, buf, sizeof buf),
                    (double)s / 60.0);
}

static void s_add_complaint(walk_t *w, const ru_key_t *k, const uint8_t *v, size_t len)
{
    int64_t n;
    char buf[32];
    if (ru_cell_metric(v, len, RU_M_COMPLAINTS_OPENED, &n) != 0 || n == 0)
        return;
    s_tally_add(&w->channels,
                s_enum(&hallbus__complaint_channel__descriptor, k->code, buf, sizeof buf),
                (double)n);
    s_tally_add(&w->categories, k->text, (double)n);
}

/* The answer's objects from one unit's cells, in one walk from the
 * business cells to the last (dims BUSINESS .. DEVICE; the staff and
 * counter cells between are stepped over). */
static void s_objects(walk_t *w, const uint8_t prefix[RU_KEY_PREFIX])
{
    static const dim_fn by_dim[RU_DIMS] = {[RU_DIM_BUSINESS] = s_add_business,
                                           [RU_DIM_COMPLAINT] = s_add_complaint,
                                           [RU_DIM_DEVICE] = s_add_device};
    s_cells(w, prefix, RU_DIM_BUSINESS, RU_DIM_DEVICE, by_dim);
}

static void s_add_row_cell(walk_t *w, row_t *r, const uint8_t *v, size_t len)
{
    if (!r) {
        if (!w->rows.too_many)
            w->rc = HB_ENOMEM;
        return;
    }
    if (ru_cell_add_encoded(&r->cell, v, len) != 0 && w->rc == 0)
        w->rc = HB_EPARSE;
}

/* A breakdown's cell into its row. */
static void s_add_by(walk_t *w, const ru_key_t *k, const uint8_t *v, size_t len)
{
    char buf[32];
    const char *hall = NULL, *key = k->text;
    int32_t number = 0;
    switch (w->by) {
    case HQ_KPI_BY_PRIORITY:
        key = s_enum(&hallbus__priority__descriptor, k->code, buf, sizeof buf);
        break;
    case HQ_KPI_BY_STAFF:
    case HQ_KPI_BY_COUNTER:
        hall = w->hall->id; /* staff and counter ids are the hall's own */
        break;
    case HQ_KPI_BY_HOUR:
        key = NULL;
        number = k->hour;
        break;
    case HQ_KPI_BY_CHANNEL:
        key = s_enum(&hallbus__complaint_channel__descriptor, k->code, buf, sizeof buf);
        break;
    case HQ_KPI_BY_DEVICE:
        key = s_enum(&hallbus__device_kind__descriptor, k->code, buf, sizeof buf);
        break;
    default: break;
    }
    s_add_row_cell(w, s_row(&w->rows, hall, key, number), v, len);
}

/* One hall's unit (a day or a month). */
static void s_unit(walk_t *w, int level, int32_t period)
{
    uint8_t kb[RU_KEY_PREFIX + 1];
    ru_key_prefix(w->hall->num, level, period, kb);
    kb[RU_KEY_PREFIX] = RU_DIM_HALL;
    MDB_val k = {sizeof kb, kb}, v;
    int g = mdb_get(w->txn, w->ctx->store->cells, &k, &v);
    if (g == MDB_NOTFOUND)
        return; /* nothing at all that day or month */
    if (g != 0) {
        w->rc = HB_EDB;
        return;
    }
    if (ru_cell_add_encoded(&w->total, v.mv_data, v.mv_size) != 0)
        w->rc = HB_EPARSE;
    if (w->by == HQ_KPI_BY_HALL)
        s_add_row_cell(w, s_row(&w->rows, w->hall->id, NULL, w->hall_index), v.mv_data, v.mv_size);
    else if (w->by == HQ_KPI_BY_DAY)
        s_add_row_cell(w, s_row(&w->rows, NULL, NULL, period), v.mv_data, v.mv_size);
    if (w->objects)
        s_objects(w, kb);
    int dim = level == RU_LEVEL_DAY ? s_by[w->by].day_dim : s_by[w->by].month_dim;
    if (dim != RU_DIMS) {
        dim_fn by_dim[RU_DIMS] = {NULL};
        by_dim[dim] = s_add_by;
        w->unit_day = period;
        s_cells(w, kb, dim, dim, by_dim);
    }
}

/* Every hall of the scope over [from, to]: whole months from month cells
 * (unless the rows are days), the rest day by day. */
static void s_walk(walk_t *w, const scope_t *s, int32_t from, int32_t to)
{
    for (size_t i = 0; i < s->n && w->rc == 0 && !w->rows.too_many; i++) {
        w->hall = &s->h[i];
        w->hall_index = (int32_t)i;
        if (!w->hall->num)
            continue;
        int32_t d = from;
        while (d <= to && w->rc == 0) {
            int32_t m = ru_month_of_day(d), last = ru_month_first_day(m + 1) - 1;
            if (w->by != HQ_KPI_BY_DAY && d == ru_month_first_day(m) && last <= to) {
                s_unit(w, RU_LEVEL_MONTH, m);
                d = last + 1;
            } else {
                s_unit(w, RU_LEVEL_DAY, d);
                d++;
            }
        }
    }
}

static void s_walk_free(walk_t *w)
{
    ru_cell_free(&w->total);
    s_tally_free(&w->business);
    s_tally_free(&w->devices);
    s_tally_free(&w->channels);
    s_tally_free(&w->categories);
    s_rows_free(&w->rows);
}

/* The figures of [from, to] with the answer's objects (new reference). */
static json_t *s_figures(walk_t *w, int32_t from, int32_t to)
{
    json_t *o = json_object();
    json_object_set_new(o, "from", hb_json_date(from));
    json_object_set_new(o, "to", hb_json_date(to));
    s_put_fields(o, &w->total);
    json_object_set_new(o, "by_business", s_tally_json(&w->business, true));
    json_object_set_new(o, "device_fault_minutes_by_kind", s_tally_json(&w->devices, false));
    json_object_set_new(o, "complaints_by_channel", s_tally_json(&w->channels, true));
    json_object_set_new(o, "complaints_by_category", s_tally_json(&w->categories, true));
    return o;
}

static int s_row_cmp(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    int c = strcmp(x->hall, y->hall);
    if (c)
        return c;
    c = strcmp(x->key, y->key);
    if (c)
        return c;
    return (x->number > y->number) - (x->number < y->number);
}

static json_t *s_rows_json(walk_t *w, const scope_t *s)
{
    if (w->rows.n)
        qsort(w->rows.r, w->rows.n, sizeof *w->rows.r, s_row_cmp);
    json_t *arr = json_array();
    for (size_t i = 0; i < w->rows.n; i++) {
        const row_t *r = &w->rows.r[i];
        json_t *o = json_object();
        switch (w->by) {
        case HQ_KPI_BY_HOUR: json_object_set_new(o, "hour", json_integer(r->number)); break;
        case HQ_KPI_BY_DAY: json_object_set_new(o, "day", hb_json_date(r->number)); break;
        case HQ_KPI_BY_HALL: {
            json_object_set_new(o, "hall", json_string(r->hall));
            const char *name = (size_t)r->number < s->n ? s->h[r->number].name : NULL;
            json_object_set_new(o, "name", name ? json_string(name) : json_null());
            break;
        }
        case HQ_KPI_BY_STAFF:
        case HQ_KPI_BY_COUNTER:
            json_object_set_new(o, "hall", json_string(r->hall));
            /* fall through */
        default: json_object_set_new(o, s_by[w->by].name, json_string(r->key)); break;
        }
        s_put_fields(o, &r->cell);
        json_array_append_new(arr, o);
    }
    return arr;
}

/* ------------------------------------------------------------ finality ---- */

/* A hall's zone: the one its stream named, else its policy's, else UTC. */
static const hb_tz_t *s_hall_zone(const hq_kpi_ctx_t *ctx, MDB_txn *txn, const shall_t *h,
                                  uint64_t *rolled)
{
    ru_head_t head;
    *rolled = 0;
    if (h->num && txn && ru_store_get_head(txn, ctx->store, h->num, &head) == 0) {
        *rolled = head.rolled;
        /* Halls share few zones: the last one found is looked up once. */
        static __thread char last_name[HB_TZ_NAME_MAX];
        static __thread const hb_tz_t *last;
        if (last && head.tz[0] && strcmp(head.tz, last_name) == 0)
            return last;
        const hb_tz_t *tz;
        if (head.tz[0] && hb_tz_get(head.tz, &tz, NULL, 0) == 0) {
            snprintf(last_name, sizeof last_name, "%s", head.tz);
            last = tz;
            return tz;
        }
    }
    const hb_policy_t *p = hq_control_policy(ctx->ctl, h->id);
    if (p && p->tz)
        return p->tz;
    const hb_tz_t *utc = NULL;
    hb_tz_get("UTC", &utc, NULL, 0);
    return utc;
}

const hb_tz_t *hq_kpi_hall_zone(const hq_kpi_ctx_t *ctx, const char *hall, uint32_t num)
{
    shall_t h = {.num = num};
    snprintf(h.id, sizeof h.id, "%s", hall);
    MDB_txn *txn;
    uint64_t rolled;
    if (ru_store_read_begin(ctx->store, &txn) != 0) {
        h.num = 0;
        return s_hall_zone(ctx, NULL, &h, &rolled);
    }
    const hb_tz_t *tz = s_hall_zone(ctx, txn, &h, &rolled);
    ru_store_read_end(ctx->store, txn);
    return tz;
}

typedef struct finality {
    int64_t final_at;   /* the latest local midnight after `to` over the halls */
    int64_t revised_at; /* the latest counting after a hall's final_at, 0: none */
    uint64_t revisions; /* (hall, day)s counted after their hall's final_at */
    size_t halls_revised;
    uint64_t events_behind; /* committed at HQ, not rolled up yet */
    size_t halls_behind;
} finality_t;

static void s_finality(const hq_kpi_ctx_t *ctx, MDB_txn *txn, const scope_t *s, int32_t from,
                       int32_t to, finality_t *out)
{
    memset(out, 0, sizeof *out);
    MDB_cursor *cur = NULL;
    mdb_cursor_open(txn, ctx->store->revised, &cur);
    for (size_t i = 0; i < s->n; i++) {
        const shall_t *h = &s->h[i];
        uint64_t rolled;
        const hb_tz_t *tz = s_hall_zone(ctx, txn, h, &rolled);
        int64_t final_at = tz ? hb_tz_local_to_utc(tz, to + 1, 0, 0) : (int64_t)(to + 1) * 86400000;
        if (final_at > out->final_at)
            out->final_at = final_at;
        hq_hall_t *hh = h->num ? hq_halls_by_num(ctx->halls, h->num) : NULL;
        if (hh && hh->committed_seq > rolled) {
            out->events_behind += hh->committed_seq - rolled;
            out->halls_behind++;
        }
        if (!h->num || !cur)
            continue;
        uint8_t lo[8];
        ru_dayidx_key(h->num, from, lo);
        MDB_val k = {8, lo}, v;
        int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        bool revised = false;
        while (g == 0 && k.mv_size == 8 && hb_get_be32(k.mv_data) == h->num) {
            int32_t day = (int32_t)(hb_get_be32((const uint8_t *)k.mv_data + 4) ^ 0x80000000u);
            if (day > to)
                break;
            ru_revision_t r;
            if (ru_revision_decode(v.mv_data, v.mv_size, &r) == 0 && r.at_ms > final_at) {
                revised = true;
                out->revisions += r.times;
                if (r.at_ms > out->revised_at)
                    out->revised_at = r.at_ms;
            }
            g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        out->halls_revised += revised;
    }
    if (cur)
        mdb_cursor_close(cur);
}

static void s_put_finality(json_t *o, const finality_t *f, int64_t now_ms)
{
    bool final = f->final_at && now_ms >= f->final_at;
    json_object_set_new(o, "final", json_boolean(final));
    json_object_set_new(o, "final_at", hb_json_time(f->final_at));
    json_object_set_new(o, "revised_at", final ? hb_json_time(f->revised_at) : json_null());
    json_object_set_new(o, "revisions", json_integer(final ? (json_int_t)f->revisions : 0));
}

/* ------------------------------------------------------------ answers ---- */

static int s_walk_open(const hq_kpi_ctx_t *ctx, walk_t *w)
{
    memset(w, 0, sizeof *w);
    w->ctx = ctx;
    if (ru_store_read_begin(ctx->store, &w->txn) != 0)
        return HB_EDB;
    if (mdb_cursor_open(w->txn, ctx->store->cells, &w->cur) != 0) {
        ru_store_read_end(ctx->store, w->txn);
        return HB_EDB;
    }
    return 0;
}

static void s_walk_close(walk_t *w)
{
    if (w->cur)
        mdb_cursor_close(w->cur);
    if (w->txn)
        ru_store_read_end(w->ctx->store, w->txn);
    s_walk_free(w);
}

static void s_walk_reset(walk_t *w)
{
    s_walk_free(w);
    w->rc = 0;
}

int hq_kpi_report(const hq_kpi_ctx_t *ctx, const hq_kpi_query_t *q, json_t **out, char *err,
                  size_t errlen)
{
    scope_t s;
    int rc = s_scope_resolve(ctx, q->scope, &s, err, errlen);
    if (rc != 0) {
        free(s.h);
        return rc;
    }
    walk_t w;
    rc = s_walk_open(ctx, &w);
    if (rc != 0) {
        free(s.h);
        hb_errf(err, errlen, "the rollups cannot be read");
        return rc;
    }
    w.by = q->by;
    w.objects = true;
    s_walk(&w, &s, q->from, q->to);
    json_t *o = NULL;
    if (w.rows.too_many) {
        hb_errf(err, errlen, "by=%s gives more than %d rows for %s; narrow the scope",
                s_by[q->by].name, HQ_KPI_ROWS_MAX, s.id);
        rc = HB_ETOOBIG;
        goto out;
    }
    if (w.rc != 0) {
        hb_errf(err, errlen, "the rollups cannot be read: %s", hb_strerror(w.rc));
        rc = w.rc;
        goto out;
    }
    size_t with_data = 0;
    for (size_t i = 0; i < s.n; i++)
        with_data += s.h[i].num != 0;
    o = json_pack("{s:s, s:s, s:o, s:s, s:I, s:I}", "scope", s.id, "scope_kind", s.kind, "name",
                  s.name ? json_string(s.name) : json_null(), "period",
                  hq_kpi_period_name(q->period), "halls", (json_int_t)s.n, "halls_connected",
                  (json_int_t)with_data);
    json_t *fig = s_figures(&w, q->from, q->to);
    json_object_update(o, fig);
    json_decref(fig);
    finality_t fin;
    s_finality(ctx, w.txn, &s, q->from, q->to, &fin);
    s_put_finality(o, &fin, ctx->now_ms);
    json_object_set_new(o, "rolled_up",
                        json_pack("{s:b, s:I, s:I}", "complete", fin.events_behind == 0,
                                  "events_behind", (json_int_t)fin.events_behind, "halls_behind",
                                  (json_int_t)fin.halls_behind));
    if (q->by != HQ_KPI_BY_NONE) {
        json_object_set_new(o, "by", json_string(s_by[q->by].name));
        json_object_set_new(o, "rows", s_rows_json(&w, &s));
    }
    if (q->previous) {
        int32_t pf, pt;
        hq_kpi_previous(q->period, q->from, q->to, &pf, &pt);
        s_walk_reset(&w);
        w.by = HQ_KPI_BY_NONE;
        w.objects = true;
        s_walk(&w, &s, pf, pt);
        if (w.rc != 0) {
            hb_errf(err, errlen, "the rollups cannot be read: %s", hb_strerror(w.rc));
            rc = w.rc;
            json_decref(o);
            o = NULL;
            goto out;
        }
        json_object_set_new(o, "previous", s_figures(&w, pf, pt));
    }
out:
    s_walk_close(&w);
    free(s.h);
    *out = o;
    return rc;
}

/* ------------------------------------------------------------ typical ---- */

/* One day of a hall by hour into issued[24] and served[24]; whether the
 * hall issued any ticket that day. */
static int s_day_by_hour(const hq_kpi_ctx_t *ctx, const char *hall, int32_t day, double issued[24],
                         double served[24], bool *any, char *err, size_t errlen)
{
    hq_kpi_query_t q = {.period = HQ_KPI_DAY, .from = day, .to = day, .by = HQ_KPI_BY_HOUR};
    snprintf(q.scope, sizeof q.scope, "%s", hall);
    json_t *rep = NULL;
    int rc = hq_kpi_report(ctx, &q, &rep, err, errlen);
    if (rc != 0)
        return rc;
    const char *kind = json_string_value(json_object_get(rep, "scope_kind"));
    if (!kind || strcmp(kind, "hall") != 0) {
        hb_errf(err, errlen, "%s is not a hall", hall);
        json_decref(rep);
        return HB_ENOTFOUND;
    }
    for (int h = 0; h < 24; h++)
        issued[h] = served[h] = 0;
    *any = json_integer_value(json_object_get(rep, "issued")) > 0;
    size_t i;
    json_t *row;
    json_array_foreach (json_object_get(rep, "rows"), i, row) {
        json_int_t h = json_integer_value(json_object_get(row, "hour"));
        if (h < 0 || h > 23)
            continue;
        issued[h] += (double)json_integer_value(json_object_get(row, "issued"));
        served[h] += (double)json_integer_value(json_object_get(row, "served"));
    }
    json_decref(rep);
    return 0;
}

int hq_kpi_typical(const hq_kpi_ctx_t *ctx, const char *hall, int32_t date, int weeks,
                   int local_hour, json_t **out, char *err, size_t errlen)
{
    static const char *const wdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    double issued[24], served[24], ti[24] = {0}, ts[24] = {0}, di[24], ds[24];
    bool any;
    *out = NULL;
    if (weeks < 1 || weeks > HQ_KPI_TYPICAL_WEEKS_MAX)
        weeks = 4;
    int rc = s_day_by_hour(ctx, hall, date, issued, served, &any, err, errlen);
    if (rc != 0)
        return rc;
    json_t *compared = json_array();
    int days = 0;
    for (int k = 1; k <= weeks; k++) {
        rc = s_day_by_hour(ctx, hall, date - 7 * k, di, ds, &any, err, errlen);
        if (rc != 0) {
            json_decref(compared);
            return rc;
        }
        if (!any)
            continue;
        json_array_append_new(compared, hb_json_date(date - 7 * k));
        days++;
        for (int h = 0; h < 24; h++) {
            ti[h] += di[h];
            ts[h] += ds[h];
        }
    }
    json_t *hours = json_array();
    double sum_i = 0, sum_s = 0, sum_ti = 0, sum_ts = 0;
    for (int h = 0; h < 24; h++) {
        double mi = days ? ti[h] / days : 0, ms = days ? ts[h] / days : 0;
        json_array_append_new(
            hours,
            json_pack("{s:i, s:I, s:I, s:o, s:o}", "hour", h, "issued", (json_int_t)issued[h],
                      "served", (json_int_t)served[h], "typical_issued",
                      days ? json_real(round(mi * 10) / 10) : json_null(), "typical_served",
                      days ? json_real(round(ms * 10) / 10) : json_null()));
        if (local_hour < 0 || h <= local_hour) {
            sum_i += issued[h];
            sum_s += served[h];
            sum_ti += mi;
            sum_ts += ms;
        }
    }
    char d[11];
    hb_date_format(date, d);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:I, s:I, s:o, s:o}", "hall", hall, "date", d,
                  "weekday", wdays[hb_weekday(date)], "weeks", weeks, "compared", compared, "hours",
                  hours, "issued", (json_int_t)sum_i, "served", (json_int_t)sum_s, "typical_issued",
                  days ? json_real(round(sum_ti * 10) / 10) : json_null(), "typical_served",
                  days ? json_real(round(sum_ts * 10) / 10) : json_null());
    json_object_set_new(o, "local_hour", local_hour >= 0 ? json_integer(local_hour) : json_null());
    *out = o;
    return 0;
}

/* ------------------------------------------------------------- ranking ---- */

typedef struct ranked {
    const shall_t *h;
    double v;
    bool has;
} ranked_t;

static bool s_higher_better;

static int s_ranked_cmp(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->has != y->has)
        return x->has ? -1 : 1;
    if (x->has && x->v != y->v)
        return (x->v < y->v) == s_higher_better ? 1 : -1;
    return strcmp(x->h->id, y->h->id);
}

static json_t *s_ranked_json(const ranked_t *r, size_t rank, bool integer)
{
    return json_pack("{s:I, s:s, s:o, s:o}", "rank", (json_int_t)rank, "hall", r->h->id, "name",
                     r->h->name ? json_string(r->h->name) : json_null(), "value",
                     integer ? json_integer((json_int_t)r->v)
                             : json_real(round(r->v * 10000.0) / 10000.0));
}

int hq_kpi_rank(const hq_kpi_ctx_t *ctx, const hq_kpi_query_t *q, const char *metric, size_t limit,
                json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t fi = N_FIELDS;
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(s_fields[i].f.name, metric) == 0 && s_fields[i].f.rankable)
            fi = i;
    if (fi == N_FIELDS) {
        char list[1024];
        size_t o = 0;
        for (size_t i = 0; i < N_FIELDS && o < sizeof list; i++)
            if (s_fields[i].f.rankable)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "",
                                      s_fields[i].f.name);
        hb_errf(err, errlen, "metric must be one of %s", list);
        return HB_EINVAL;
    }
    scope_t s;
    int rc = s_scope_resolve(ctx, q->scope, &s, err, errlen);
    if (rc != 0) {
        free(s.h);
        return rc;
    }
    if (strcmp(s.kind, "hall") == 0) {
        free(s.h);
        hb_errf(err, errlen,
                "scope must be a region (a city, a province or the network), not "
                "the hall '%s'",
                q->scope);
        return HB_EINVAL;
    }
    ranked_t *r = calloc(s.n ? s.n : 1, sizeof *r);
    walk_t w;
    if (!r || s_walk_open(ctx, &w) != 0) {
        free(r);
        free(s.h);
        hb_errf(err, errlen, "the rollups cannot be read");
        return HB_EDB;
    }
    bool integer = false;
    for (size_t i = 0; i < s.n && w.rc == 0; i++) {
        scope_t one = s;
        one.h = &s.h[i];
        one.n = 1;
        s_walk_reset(&w);
        w.by = HQ_KPI_BY_NONE;
        s_walk(&w, &one, q->from, q->to);
        r[i].h = &s.h[i];
        r[i].has = s.h[i].num && s_field_value(fi, &w.total, &r[i].v, &integer);
    }
    rc = w.rc;
    if (rc == 0) {
        s_higher_better = s_fields[fi].f.higher_better;
        qsort(r, s.n, sizeof *r, s_ranked_cmp);
        json_t *all = json_array(), *best = json_array(), *worst = json_array(),
               *none = json_array();
        size_t ranked = 0;
        for (size_t i = 0; i < s.n; i++)
            ranked += r[i].has;
        for (size_t i = 0; i < s.n; i++) {
            if (!r[i].has) {
                json_array_append_new(none, json_string(r[i].h->id));
                continue;
            }
            json_array_append_new(all, s_ranked_json(&r[i], i + 1, integer));
            if (i < limit)
                json_array_append_new(best, s_ranked_json(&r[i], i + 1, integer));
        }
        for (size_t k = 0; k < limit && k < ranked; k++)
            json_array_append_new(worst, s_ranked_json(&r[ranked - 1 - k], ranked - k, integer));
        *out = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o}", "scope", s.id,
                         "scope_kind", s.kind, "period", hq_kpi_period_name(q->period), "from",
                         hb_json_date(q->from), "to", hb_json_date(q->to), "metric", metric,
                         "better", s_higher_better ? "higher" : "lower", "halls", all, "best", best,
                         "worst", worst, "no_data", none);
    } else {
        hb_errf(err, errlen, "the rollups cannot be read: %s", hb_strerror(rc));
    }
    s_walk_close(&w);
    free(r);
    free(s.h);
    return rc;
}

/* -------------------------------------------------------------- ready ---- */

int hq_kpi_ready(const hq_kpi_ctx_t *ctx, const char *scope_id, int kind, int32_t from, int32_t to,
                 json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    scope_t s;
    int rc = s_scope_resolve(ctx, scope_id, &s, err, errlen);
    if (rc != 0) {
        free(s.h);
        return rc;
    }
    MDB_txn *txn;
    if (ru_store_read_begin(ctx->store, &txn) != 0) {
        free(s.h);
        hb_errf(err, errlen, "the rollups cannot be read");
        return HB_EDB;
    }
    json_t *arr = json_array();
    /* Periods that end within [from, to], newest first. */
    int32_t pf, pt;
    hq_kpi_period_days(kind, to, &pf, &pt);
    if (pt > to)
        hq_kpi_previous(kind, pf, pt, &pf, &pt);
    for (; pt >= from; hq_kpi_previous(kind, pf, pt, &pf, &pt)) {
        finality_t fin;
        s_finality(ctx, txn, &s, pf, pt, &fin);
        json_t *o = json_pack("{s:s, s:o, s:o}", "period", hq_kpi_period_name(kind), "from",
                              hb_json_date(pf), "to", hb_json_date(pt));
        s_put_finality(o, &fin, ctx->now_ms);
        json_object_set_new(o, "halls_revised",
                            json_integer(fin.revised_at ? (json_int_t)fin.halls_revised : 0));
        json_array_append_new(arr, o);
        if (kind == HQ_KPI_RANGE)
            break;
    }
    ru_store_read_end(ctx->store, txn);
    *out = json_pack("{s:s, s:s, s:o, s:o}", "scope", s.id, "scope_kind", s.kind, "name",
                     s.name ? json_string(s.name) : json_null(), "reports", arr);
    free(s.h);
    return 0;
}
