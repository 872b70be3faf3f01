/* Rollup cells and their keys (see cell.h): the metric table, the key
 * layout and the value encoding. */
#include "cell.h"

#include "hallbus/error.h"
#include "hallbus/store.h"
#include "hallbus/tz.h"

#include <string.h>

static const char *const s_names[RU_M_SLOTS] = {
#define RU_METRIC_NAME(id, num, name) [num] = name,
    RU_METRICS(RU_METRIC_NAME)
#undef RU_METRIC_NAME
};

const char *ru_metric_name(int metric)
{
    return metric > 0 && metric < RU_M_SLOTS ? s_names[metric] : NULL;
}

/* ---------------------------------------------------------------- keys ---- */

#define PERIOD_BIAS 0x80000000u /* signed periods sort as unsigned bytes */

void ru_key_prefix(uint32_t hall, int level, int32_t period, uint8_t out[RU_KEY_PREFIX])
{
    hb_put_be32(out, hall);
    out[4] = (uint8_t)level;
    hb_put_be32(out + 5, (uint32_t)period ^ PERIOD_BIAS);
}

size_t ru_key_encode(const ru_key_t *k, uint8_t *out)
{
    ru_key_prefix(k->hall, k->level, k->period, out);
    size_t o = RU_KEY_PREFIX;
    out[o++] = k->dim;
    switch (k->dim) {
    case RU_DIM_SLOT:
        out[o++] = k->hour;
        out[o++] = k->code;
        break;
    case RU_DIM_HOUR: out[o++] = k->hour; break;
    case RU_DIM_SERVICE:
    case RU_DIM_COMPLAINT:
    case RU_DIM_DEVICE: out[o++] = k->code; break;
    default: break;
    }
    bool text = k->dim == RU_DIM_SLOT || k->dim == RU_DIM_SERVICE || k->dim == RU_DIM_COMPLAINT ||
                k->dim == RU_DIM_BUSINESS || k->dim == RU_DIM_STAFF || k->dim == RU_DIM_COUNTER;
    if (text) {
        size_t n = strnlen(k->text, HB_ID_MAX);
        memcpy(out + o, k->text, n);
        o += n;
    }
    return o;
}

int ru_key_decode(const uint8_t *p, size_t len, ru_key_t *out)
{
    if (len < RU_KEY_PREFIX + 1 || len > RU_KEY_MAX)
        return HB_EPARSE;
    memset(out, 0, sizeof *out);
    out->hall = hb_get_be32(p);
    out->level = p[4];
    out->period = (int32_t)(hb_get_be32(p + 5) ^ PERIOD_BIAS);
    out->dim = p[9];
    size_t o = RU_KEY_PREFIX + 1, fixed = 0;
    switch (out->dim) {
    case RU_DIM_SLOT: fixed = 2; break;
    case RU_DIM_HOUR:
    case RU_DIM_SERVICE:
    case RU_DIM_COMPLAINT:
    case RU_DIM_DEVICE: fixed = 1; break;
    case RU_DIM_HALL:
    case RU_DIM_BUSINESS:
    case RU_DIM_STAFF:
    case RU_DIM_COUNTER: break;
    default: return HB_EPARSE;
    }
    if (len < o + fixed)
        return HB_EPARSE;
    if (out->dim == RU_DIM_SLOT) {
        out->hour = p[o];
        out->code = p[o + 1];
    } else if (out->dim == RU_DIM_HOUR) {
        out->hour = p[o];
    } else if (fixed) {
        out->code = p[o];
    }
    o += fixed;
    size_t n = len - o;
    bool text = out->dim != RU_DIM_HALL && out->dim != RU_DIM_HOUR && out->dim != RU_DIM_DEVICE;
    if ((!text && n) || n > HB_ID_MAX)
        return HB_EPARSE;
    memcpy(out->text, p + o, n);
    out->text[n] = '\0';
    return 0;
}

int32_t ru_month_of_day(int32_t day)
{
    int y, m, d;
    hb_civil_from_days(day, &y, &m, &d);
    return y * 12 + m - 1;
}

int32_t ru_month_first_day(int32_t month)
{
    return hb_days_from_civil(month / 12, month % 12 + 1, 1);
}

int32_t ru_month_days(int32_t month)
{
    return ru_month_first_day(month + 1) - ru_month_first_day(month);
}

/* --------------------------------------------------------------- cells ---- */

void ru_cell_free(ru_cell_t *c)
{
    ru_hist_free(&c->wait);
    ru_hist_free(&c->service);
    memset(c->m, 0, sizeof c->m);
}

void ru_cell_clear(ru_cell_t *c)
{
    memset(c->m, 0, sizeof c->m);
    ru_hist_clear(&c->wait);
    ru_hist_clear(&c->service);
}

bool ru_cell_empty(const ru_cell_t *c)
{
    for (int i = 0; i < RU_M_SLOTS; i++)
        if (c->m[i])
            return false;
    return c->wait.n == 0 && c->service.n == 0;
}

int ru_cell_add(ru_cell_t *dst, const ru_cell_t *src)
{
    for (int i = 0; i < RU_M_SLOTS; i++)
        dst->m[i] += src->m[i];
    if (ru_hist_merge(&dst->wait, &src->wait) != 0 ||
        ru_hist_merge(&dst->service, &src->service) != 0)
        return HB_ENOMEM;
    return 0;
}

bool ru_cell_equal(const ru_cell_t *a, const ru_cell_t *b)
{
    return memcmp(a->m, b->m, sizeof a->m) == 0 && ru_hist_equal(&a->wait, &b->wait) &&
           ru_hist_equal(&a->service, &b->service);
}

#define CELL_VERSION 1

size_t ru_cell_encode(const ru_cell_t *c, uint8_t *out)
{
    size_t o = 0, n = 0;
    out[o++] = CELL_VERSION;
    for (int i = 1; i < RU_M_SLOTS; i++)
        n += c->m[i] != 0;
    o += ru_varint_put(out + o, n);
    for (int i = 1; i < RU_M_SLOTS; i++) {
        if (!c->m[i])
            continue;
        o += ru_varint_put(out + o, (uint64_t)i);
        o += ru_varint_put(out + o, ru_zigzag(c->m[i]));
    }
    o += ru_hist_encode(&c->wait, out + o);
    o += ru_hist_encode(&c->service, out + o);
    return o;
}

/* Walks an encoded cell's metrics, in the increasing order they are
 * written in, handing each (number, value) to `fn` until it returns true;
 * `*p` ends past what was read. 0, or HB_EPARSE (another version, an
 * impossible count, bytes that end early). */
typedef bool (*metric_fn)(uint64_t id, int64_t v, void *arg);

static int s_metrics_walk(const uint8_t **p, const uint8_t *end, metric_fn fn, void *arg)
{
    if (*p >= end || *(*p)++ != CELL_VERSION)
        return HB_EPARSE;
    uint64_t n;
    if (!ru_varint_get(p, end, &n) || n > 1024)
        return HB_EPARSE;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t id, z;
        if (!ru_varint_get(p, end, &id) || !ru_varint_get(p, end, &z))
            return HB_EPARSE;
        if (fn(id, ru_unzigzag(z), arg))
            return 0;
    }
    return 0;
}

static bool s_metric_add(uint64_t id, int64_t v, void *arg)
{
    ru_cell_t *dst = arg;
    /* A metric of a newer build is kept by that build, not this one. */
    if (id > 0 && id < RU_M_SLOTS)
        dst->m[id] += v;
    return false;
}

int ru_cell_add_encoded(ru_cell_t *dst, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    int rc = s_metrics_walk(&p, end, s_metric_add, dst);
    if (rc == 0)
        rc = ru_hist_add_encoded(&dst->wait, &p, end);
    if (rc == 0)
        rc = ru_hist_add_encoded(&dst->service, &p, end);
    if (rc == 0 && p != end)
        rc = HB_EPARSE;
    return rc;
}

typedef struct metric_find {
    uint64_t want;
    int64_t *out;
} metric_find_t;

static bool s_metric_find(uint64_t id, int64_t v, void *arg)
{
    metric_find_t *f = arg;
    if (id == f->want)
        *f->out = v;
    return id >= f->want; /* numbers are written in increasing order */
}

int ru_cell_metric(const uint8_t *p, size_t len, int metric, int64_t *out)
{
    *out = 0;
    metric_find_t f = {.want = (uint64_t)metric, .out = out};
    return s_metrics_walk(&p, p + len, s_metric_find, &f);
}
